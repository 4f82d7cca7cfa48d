// noggin/core/hooks.hpp — the three ways a host plugs its engine into noggin: log, memory, threads.
//
//     noggin::log_sink log{[](void*, noggin::log_level lvl, const char* msg) { my_log(lvl, msg); }, nullptr};
//     noggin::allocator mem = noggin::default_allocator();       // or the engine's own
//     noggin::thread_pool pool = noggin::serial_thread_pool();   // or the engine's job system
//
// Sections: log_sink · allocator · thread_pool (interface + serial pool)
//
// Each hook is a plain struct of function pointers plus `void* user`, so a C host or a C# binding can
// fill it. noggin never prints unless a log sink is set, allocates large buffers only through the
// allocator hook, and runs parallel work only through the thread-pool hook. The default pool with its
// own worker threads is in default_thread_pool.hpp and starts threads only when the host creates it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

namespace noggin {

// --- log ---------------------------------------------------------------------------------------------

enum class log_level : int { debug = 0, info = 1, warning = 2, error = 3 };

// Receives every message noggin would print. `message` is NUL-terminated and valid only during the call.
struct log_sink {
    void (*write)(void* user, log_level level, const char* message) = nullptr;  // null: silent (default)
    void* user = nullptr;                                                       // passed back to write
    log_level min_level = log_level::info;  // messages below this level are dropped before formatting

    bool enabled(log_level level) const { return write != nullptr && level >= min_level; }
    void operator()(log_level level, const std::string& message) const {
        if (enabled(level)) write(user, level, message.c_str());
    }
};

// --- allocator ---------------------------------------------------------------------------------------

// Big buffers (KV caches, activations, repacked weights) come from here. `alloc` returns null on
// failure; `align` is a power of two ≤ 4096. `free` receives the same size and alignment.
struct allocator {
    void* (*alloc)(void* user, std::size_t size, std::size_t align) = nullptr;
    void (*free)(void* user, void* ptr, std::size_t size, std::size_t align) = nullptr;
    void* user = nullptr;
};

namespace detail {
inline void* default_alloc(void*, std::size_t size, std::size_t align) {
    if (size == 0) size = 1;
    return ::operator new(size, std::align_val_t(align), std::nothrow);
}
inline void default_free(void*, void* ptr, std::size_t, std::size_t align) {
    ::operator delete(ptr, std::align_val_t(align));
}
}  // namespace detail

// The global aligned operator new/delete (nothrow).
inline allocator default_allocator() { return allocator{detail::default_alloc, detail::default_free, nullptr}; }

// --- thread pool -------------------------------------------------------------------------------------

// One unit of parallel work: process items [begin, end) on worker `worker` (0 ≤ worker < concurrency).
using parallel_task = void (*)(void* ctx, std::size_t begin, std::size_t end, std::size_t worker);

// The host's job system. `parallel_for` must call `task` over a partition of [0, n) — each index
// exactly once, in chunks — and return only when all chunks are done. `concurrency` is the most
// workers that may run at once (noggin sizes per-worker scratch by it). A game engine maps this onto
// its own job system; noggin never creates threads itself.
struct thread_pool {
    void (*parallel_for)(void* user, std::size_t n, parallel_task task, void* ctx) = nullptr;
    std::size_t concurrency = 1;  // workers that may run a task at the same time (≥ 1)
    void* user = nullptr;

    // Run `task` over [0, n); runs inline on the caller's thread when no pool function is set.
    void run(std::size_t n, parallel_task task, void* ctx) const {
        if (n == 0) return;
        if (parallel_for == nullptr || concurrency <= 1) {
            task(ctx, 0, n, 0);
            return;
        }
        parallel_for(user, n, task, ctx);
    }
};

// Everything on the caller's thread.
inline thread_pool serial_thread_pool() { return thread_pool{}; }

}  // namespace noggin
