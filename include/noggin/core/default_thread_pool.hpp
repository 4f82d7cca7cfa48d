// noggin/core/default_thread_pool.hpp — a small worker pool for hosts without a job system.
//
//     noggin::default_thread_pool pool(2);            // starts 1 worker thread; the caller is the 2nd
//     noggin::thread_pool hook = pool.hook();         // pass this wherever noggin asks for a pool
//
// Threads start only when a default_thread_pool is constructed and stop in its destructor. The
// calling thread takes part in every parallel_for, so `threads` = 1 starts no thread at all. One
// parallel_for at a time: calls from several host threads are serialised.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "hooks.hpp"

namespace noggin {

class default_thread_pool {
public:
    // `threads` = total workers including the caller (0 → std::thread::hardware_concurrency()).
    explicit default_thread_pool(std::size_t threads = 0) {
        if (threads == 0) threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
        size_ = threads;
        workers_.reserve(threads - 1);
        for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
    }
    ~default_thread_pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
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
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = job{task, ctx, n, parts};
            pending_ = parts - 1;
            ++generation_;
        }
        wake_.notify_all();
        run_part(0);
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return pending_ == 0; });
    }

private:
    struct job {
        parallel_task task = nullptr;
        void* ctx = nullptr;
        std::size_t n = 0;
        std::size_t parts = 0;
    };

    void run_part(std::size_t part) {
        const job& j = job_;
        const std::size_t begin = j.n * part / j.parts;
        const std::size_t end = j.n * (part + 1) / j.parts;
        if (begin < end) j.task(j.ctx, begin, end, part);
    }

    void worker_loop(std::size_t index) {
        std::size_t seen = 0;
        for (;;) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            const bool mine = index < job_.parts;
            lock.unlock();
            if (!mine) continue;
            run_part(index);
            lock.lock();
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::size_t size_ = 1;
    std::vector<std::thread> workers_;
    std::mutex submit_mutex_;          // one parallel_for at a time
    std::mutex mutex_;                 // guards everything below
    std::condition_variable wake_;     // workers wait for a new generation
    std::condition_variable done_;     // the submitter waits for pending_ == 0
    job job_;
    std::size_t pending_ = 0;          // worker parts still running
    std::size_t generation_ = 0;       // bumped per parallel_for
    bool stopping_ = false;
};

}  // namespace noggin
