// noggin/core/default_thread_pool.hpp — a small worker pool for hosts without a job system.
//
//     noggin::default_thread_pool pool(2);            // starts 1 worker thread; the caller is the 2nd
//     noggin::thread_pool hook = pool.hook();         // pass this wherever noggin asks for a pool
//
// Threads start only when a default_thread_pool is constructed and stop in its destructor. The
// calling thread takes part in every parallel_for, so `threads` = 1 starts no thread at all. One
// parallel_for at a time: calls from several host threads are serialised.
//
// Waiting: a decode step issues ≈ 150 parallel_fors a few microseconds to a few milliseconds apart,
// so waking sleeping workers through the kernel each time (≈ 10–50 µs per wake-up, more on a busy
// machine) costs a measurable share of a token. Workers and the submitter therefore spin on an atomic
// generation / pending counter for up to `spin_us` (default 300 µs) before they block on a condition
// variable; an idle pool costs no CPU after that. The spin loop executes `pause`.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "hooks.hpp"

namespace noggin {

class default_thread_pool {
public:
    // `threads` = total workers including the caller (0 → std::thread::hardware_concurrency()).
    // `spin_us` = how long a waiting thread polls before it sleeps (0: sleep at once).
    explicit default_thread_pool(std::size_t threads = 0, unsigned spin_us = 300) : spin_us_(spin_us) {
        if (threads == 0) threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
        size_ = threads;
        workers_.reserve(threads - 1);
        for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
    }
    ~default_thread_pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_.store(true, std::memory_order_seq_cst);
        }
        wake_.notify_all();
        for (std::thread& t : workers_) t.join();
    }
    default_thread_pool(const default_thread_pool&) = delete;
    default_thread_pool& operator=(const default_thread_pool&) = delete;

    std::size_t size() const { return size_; }

    // The hook noggin takes; valid while this pool lives.
    thread_pool hook() {
        thread_pool h;
        h.parallel_for = [](void* user, std::size_t n, parallel_task task, void* ctx) {
            static_cast<default_thread_pool*>(user)->parallel_for(n, task, ctx);
        };
        h.concurrency = size_;
        h.user = this;
        return h;
    }

    // Split [0, n) into `size()` contiguous chunks; worker w runs chunk w. Returns when all are done.
    void parallel_for(std::size_t n, parallel_task task, void* ctx) {
        if (n == 0) return;
        std::lock_guard<std::mutex> one_job_at_a_time(submit_mutex_);
        const std::size_t parts = std::min(size_, n);
        if (parts == 1) {
            task(ctx, 0, n, 0);
            return;
        }
        // Every worker acknowledges every generation (also those with no part), so job_ is never
        // rewritten while a worker may still read it.
        job_ = job{task, ctx, n, parts};
        pending_.store(size_ - 1, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes job_ and pending_
        {
            std::lock_guard<std::mutex> lock(mutex_);  // orders the wake-up after a sleeper's check
        }
        wake_.notify_all();
        run_part(0);
        if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
        }
    }

private:
    struct job {
        parallel_task task = nullptr;
        void* ctx = nullptr;
        std::size_t n = 0;
        std::size_t parts = 0;
    };

    static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
        _mm_pause();
#else
        std::this_thread::yield();
#endif
    }

    // Poll `ready` for up to spin_us_ microseconds; true as soon as it holds.
    template <class Ready>
    bool spin_until(Ready ready) const {
        if (ready()) return true;
        if (spin_us_ == 0) return false;
        const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
        for (;;) {
            for (int i = 0; i < 64; ++i) {
                if (ready()) return true;
                cpu_relax();
            }
            if (std::chrono::steady_clock::now() >= until) return ready();
        }
    }

    void run_part(std::size_t part) {
        const job& j = job_;
        if (part >= j.parts) return;
        const std::size_t begin = j.n * part / j.parts;
        const std::size_t end = j.n * (part + 1) / j.parts;
        if (begin < end) j.task(j.ctx, begin, end, part);
    }

    void worker_loop(std::size_t index) {
        std::uint64_t seen = 0;
        for (;;) {
            auto fresh = [&] {
                return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
            };
            if (!spin_until(fresh)) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, fresh);
            }
            if (stopping_.load(std::memory_order_acquire)) return;
            seen = generation_.load(std::memory_order_acquire);
            run_part(index);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                { std::lock_guard<std::mutex> lock(mutex_); }
                done_.notify_one();
            }
        }
    }

    std::size_t size_ = 1;
    unsigned spin_us_ = 300;                    // polling before sleeping, microseconds
    std::vector<std::thread> workers_;
    std::mutex submit_mutex_;                   // one parallel_for at a time
    std::mutex mutex_;                          // pairs with the condition variables
    std::condition_variable wake_;              // sleeping workers wait for a new generation
    std::condition_variable done_;              // a sleeping submitter waits for pending_ == 0
    job job_;                                   // written by the submitter before generation_ moves
    std::atomic<std::size_t> pending_{0};       // workers that have not yet acknowledged this generation
    std::atomic<std::uint64_t> generation_{0};  // bumped per parallel_for
    std::atomic<bool> stopping_{false};
};

}  // namespace noggin
