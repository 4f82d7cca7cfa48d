// The host hooks: log sink filtering, the default allocator, and both thread pools.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "noggin/core/default_thread_pool.hpp"
#include "noggin/core/hooks.hpp"

TEST_CASE("log sink is silent by default and filters by level") {
    noggin::log_sink silent;
    CHECK_FALSE(silent.enabled(noggin::log_level::error));
    silent(noggin::log_level::error, "nobody hears this");

    std::vector<std::string> lines;
    noggin::log_sink sink;
    sink.write = [](void* user, noggin::log_level, const char* msg) { static_cast<std::vector<std::string>*>(user)->push_back(msg); };
    sink.user = &lines;
    sink.min_level = noggin::log_level::warning;
    sink(noggin::log_level::info, "dropped");
    sink(noggin::log_level::warning, "kept");
    sink(noggin::log_level::error, "kept too");
    CHECK(lines == std::vector<std::string>{"kept", "kept too"});
}

TEST_CASE("default allocator honours alignment") {
    const noggin::allocator a = noggin::default_allocator();
    for (std::size_t align : {16u, 64u, 4096u}) {
        void* p = a.alloc(a.user, 1000, align);
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(p) % align == 0);
        a.free(a.user, p, 1000, align);
    }
}

namespace {
struct coverage {
    std::vector<std::atomic<int>> hits;
    std::mutex mutex;
    std::set<std::thread::id> threads;
    std::atomic<std::size_t> max_worker{0};
    explicit coverage(std::size_t n) : hits(n) {}
};
void mark(void* ctx, std::size_t begin, std::size_t end, std::size_t worker) {
    auto* c = static_cast<coverage*>(ctx);
    for (std::size_t i = begin; i < end; ++i) c->hits[i]++;
    std::lock_guard<std::mutex> lock(c->mutex);
    c->threads.insert(std::this_thread::get_id());
    if (worker > c->max_worker) c->max_worker = worker;
}
}  // namespace

TEST_CASE("serial pool runs everything on the caller's thread") {
    coverage c(100);
    noggin::serial_thread_pool().run(100, mark, &c);
    for (auto& h : c.hits) CHECK(h == 1);
    CHECK(c.threads.size() == 1);
    CHECK((*c.threads.begin() == std::this_thread::get_id()));
}

TEST_CASE("default pool covers every index exactly once, worker ids below concurrency") {
    noggin::default_thread_pool pool(3);
    const noggin::thread_pool hook = pool.hook();
    CHECK(hook.concurrency == 3);
    for (std::size_t n : {1u, 2u, 3u, 7u, 1000u}) {
        for (int round = 0; round < 50; ++round) {
            coverage c(n);
            hook.run(n, mark, &c);
            for (auto& h : c.hits) REQUIRE(h == 1);
            CHECK(c.max_worker < 3);
        }
    }
}

TEST_CASE("a one-thread default pool starts no thread") {
    noggin::default_thread_pool pool(1);
    coverage c(10);
    pool.hook().run(10, mark, &c);
    CHECK(c.threads.size() == 1);
    CHECK((*c.threads.begin() == std::this_thread::get_id()));
}
