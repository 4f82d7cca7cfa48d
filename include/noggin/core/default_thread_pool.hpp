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
// generation counter for up to `spin_us` (default 300 µs) before they block on a condition variable; an
// idle pool costs no CPU after that. The spin loop executes `pause`.
//
// Late workers: the parts of a parallel_for are CLAIMED from one atomic word (job tag, parts, next part,
// parts running) by whichever thread comes first, the caller included. The caller runs parts until none
// is left and then waits only for parts other threads are running — never for a worker that has not
// woken up yet (on a busy machine a descheduled thread would otherwise stall every parallel_for, and so
// every pause and cancel check of a forward pass, by a scheduler slice). A worker that wakes late finds
// no part and goes back to waiting. The `worker` index passed to a task is its part index.
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
        size_ = std::min<std::size_t>(threads, field_mask);
        workers_.reserve(size_ - 1);
        for (std::size_t i = 1; i < size_; ++i) workers_.emplace_back([this] { worker_loop(); });
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

    // Split [0, n) into `size()` contiguous chunks (parts), each run by whichever thread claims it first.
    // Returns when all are done.
    void parallel_for(std::size_t n, parallel_task task, void* ctx) {
        if (n == 0) return;
        std::lock_guard<std::mutex> one_job_at_a_time(submit_mutex_);
        const std::size_t parts = std::min(size_, n);
        if (parts == 1) {
            task(ctx, 0, n, 0);
            return;
        }
        // job_ is rewritten only here, when no part of the previous job is claimed or running (a
        // thread reads job_ only after claiming a part of the current tag).
        job_ = job{task, ctx, n, parts};
        ++tag_;
        claim_.store(pack(tag_, parts, 0, 0), std::memory_order_release);  // publishes job_
        generation_.fetch_add(1, std::memory_order_seq_cst);
        {
            std::lock_guard<std::mutex> lock(mutex_);  // orders the wake-up after a sleeper's check
        }
        wake_.notify_all();
        run_claimed_parts();
        auto idle = [this] { return running(claim_.load(std::memory_order_acquire)) == 0; };
        if (!spin_until(idle)) {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, idle);
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

    // claim_ packs (tag: 32 bits, parts, next part, parts running: field_bits each).
    static constexpr int field_bits = 10;
    static constexpr std::uint64_t field_mask = (std::uint64_t(1) << field_bits) - 1;
    static std::uint64_t pack(std::uint32_t tag, std::uint64_t parts, std::uint64_t next, std::uint64_t run) {
        return std::uint64_t(tag) << (3 * field_bits) | parts << (2 * field_bits) | next << field_bits | run;
    }
    static std::uint64_t parts_of(std::uint64_t c) { return (c >> (2 * field_bits)) & field_mask; }
    static std::uint64_t next_of(std::uint64_t c) { return (c >> field_bits) & field_mask; }
    static std::uint64_t running(std::uint64_t c) { return c & field_mask; }

    // Claim and run parts of the current job until none is left.
    void run_claimed_parts() {
        std::uint64_t c = claim_.load(std::memory_order_acquire);
        for (;;) {
            if (next_of(c) >= parts_of(c)) return;
            const std::uint64_t part = next_of(c);
            if (!claim_.compare_exchange_weak(c, c + (std::uint64_t(1) << field_bits) + 1, std::memory_order_acq_rel,
                                              std::memory_order_acquire))
                continue;  // c reloaded
            const job& j = job_;
            const std::size_t begin = j.n * part / j.parts;
            const std::size_t end = j.n * (part + 1) / j.parts;
            if (begin < end) j.task(j.ctx, begin, end, static_cast<std::size_t>(part));
            c = claim_.fetch_sub(1, std::memory_order_acq_rel) - 1;
            if (running(c) == 0 && next_of(c) >= parts_of(c)) {  // the last part: wake a sleeping caller
                { std::lock_guard<std::mutex> lock(mutex_); }
                done_.notify_one();
            }
        }
    }

    void worker_loop() {
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
            run_claimed_parts();
        }
    }

    std::size_t size_ = 1;
    unsigned spin_us_ = 300;                    // polling before sleeping, microseconds
    std::vector<std::thread> workers_;
    std::mutex submit_mutex_;                   // one parallel_for at a time
    std::mutex mutex_;                          // pairs with the condition variables
    std::condition_variable wake_;              // sleeping workers wait for a new generation
    std::condition_variable done_;              // a sleeping submitter waits for no part running
    job job_;                                   // written by the submitter when no part is claimed (see claim_)
    std::uint32_t tag_ = 0;                     // job number (submitter only)
    std::atomic<std::uint64_t> claim_{0};       // pack(tag, parts, next part to claim, parts running)
    std::atomic<std::uint64_t> generation_{0};  // bumped per parallel_for (wakes the workers)
    std::atomic<bool> stopping_{false};
};

}  // namespace noggin
