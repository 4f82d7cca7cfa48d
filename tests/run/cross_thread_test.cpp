// tests/run/cross_thread_test.cpp — run::reasoner controlled from another thread: cancel() and
// end_thinking_now() during prefill and during decode, and the async mode (run() on a worker through
// async_entry, poll() on the caller). Written to be run under ThreadSanitizer too (the `tsan` preset;
// CI job "ThreadSanitizer: run-layer cross-thread tests"): no sleeps decide an outcome — the worker
// signals where it is (a thread-pool hook that marks the first forward pass, thinking events) and the
// checks hold whenever the control lands.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "noggin/run/reasoner.hpp"
#include "run/run_test_util.hpp"

using namespace noggin;

namespace {

// A thread-pool hook that runs every task inline on the calling thread (one chunk), notes that model
// work has begun and slows each call a little, so a prompt's prefill lasts long enough (hundreds of
// milliseconds) for the controlling thread to land inside it.
struct marking_pool {
    std::atomic<int> calls{0};
    static void parallel_for(void* user, std::size_t n, parallel_task task, void* ctx) {
        static_cast<marking_pool*>(user)->calls.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        task(ctx, 0, n, 0);
    }
    thread_pool hook() {
        thread_pool h;
        h.parallel_for = &marking_pool::parallel_for;
        h.concurrency = 2;  // > 1, so that noggin calls the hook
        h.user = this;
        return h;
    }
};

std::atomic<int> g_thoughts{0};
void count_thoughts(void*, const run::event& e) {
    if (e.type == run::event_type::thinking) g_thoughts.fetch_add(1);
}

std::string long_question() {
    std::string q = "Count the items:";
    for (int i = 0; i < 60; ++i) q += i % 2 ? " coin," : " sword,";
    return q + " how many?";
}

struct setup {
    marking_pool pool;
    run::reasoner r;
    explicit setup(run::reasoner_params p, std::int64_t max_batch = 4) {
        const auto& t = noggin_test::bundled();
        run::session_params sp;
        sp.n_ctx = 512;
        sp.seed = 3;
        sp.max_batch = max_batch;  // many prefill units
        sp.pool = pool.hook();
        auto s = run::session::create(t.model, sp);
        REQUIRE(s.ok());
        REQUIRE(run::reasoner::create(r, std::move(s.value()), t.tok, t.chat, p).ok());
    }
    void wait_for_model_work() {
        while (pool.calls.load() == 0) std::this_thread::yield();
    }
};

}  // namespace

TEST_CASE("cross-thread: cancel() during prefill stops within the prompt; the reasoner stays usable") {
    REQUIRE(noggin_test::bundled().ok);
    run::reasoner_params p;
    p.sampling.temperature = 0.0f;
    p.think_budget = 4;
    p.answer_budget = 4;
    setup f(p);
    REQUIRE(f.r.ask(long_question()).ok());
    const std::int64_t prompt = f.r.stats().prefilled_tokens;
    REQUIRE(prompt > 100);
    std::thread worker([&] { f.r.run(); });
    f.wait_for_model_work();
    f.r.cancel();
    worker.join();
    CHECK(f.r.stats().reason == run::stop_reason::cancelled);
    CHECK(f.r.last_status().code() == status_code::cancelled);
    CHECK(f.r.generated_tokens().empty());  // stopped inside the prompt
    const run::session& s = f.r.get_session();
    CHECK(s.n_past() < prompt);
    CHECK(s.n_past() == std::int64_t(s.tokens().size()));
    CHECK(f.r.messages().empty());  // the unanswered question was taken back
    // The next turn reuses what was prefilled and finishes normally.
    REQUIRE(f.r.ask("What is 4821+937?").ok());
    f.r.run();
    CHECK(f.r.stats().reason != run::stop_reason::cancelled);
    CHECK(f.r.stats().reason != run::stop_reason::error);
    CHECK(f.r.stats().thinking_tokens == 4);
}

TEST_CASE("cross-thread: end_thinking_now() during prefill answers with no model-sampled thoughts") {
    REQUIRE(noggin_test::bundled().ok);
    run::reasoner_params p;
    p.sampling.temperature = 0.0f;
    p.answer_budget = 8;
    setup f(p);
    REQUIRE(f.r.ask(long_question()).ok());
    std::thread worker([&] { f.r.run(); });
    f.wait_for_model_work();
    f.r.end_thinking_now();
    worker.join();
    CHECK(f.r.stats().think_forced_end);
    CHECK(f.r.stats().thinking_tokens == 0);
    CHECK(f.r.stats().forced_tokens == 1);  // </think> only (no closing phrase set)
    CHECK(f.r.stats().answer_tokens > 0);
    CHECK(f.r.stats().reason != run::stop_reason::cancelled);
    CHECK(f.r.get_session().n_past() == std::int64_t(f.r.get_session().tokens().size()));
}

TEST_CASE("cross-thread: cancel() and end_thinking_now() during decode") {
    REQUIRE(noggin_test::bundled().ok);
    for (const bool cancel : {true, false}) {
        CAPTURE(cancel);
        run::reasoner_params p;
        p.sampling.temperature = 0.0f;
        p.min_think = 100000;  // thinks until stopped (early </think> becomes "Wait")
        p.max_waits = 1000000;
        p.answer_budget = 6;
        p.on_event = &count_thoughts;
        setup f(p);
        g_thoughts = 0;
        REQUIRE(f.r.ask("What is 4821+937?").ok());
        std::thread worker([&] { f.r.run(); });
        while (g_thoughts.load() < 3) std::this_thread::yield();
        if (cancel) f.r.cancel();
        else f.r.end_thinking_now();
        worker.join();
        const run::turn_stats& st = f.r.stats();
        CHECK(st.thinking_tokens >= 3);
        if (cancel) {
            CHECK(st.reason == run::stop_reason::cancelled);
            CHECK(st.answer_tokens == 0);
        } else {
            CHECK(st.think_forced_end);
            CHECK((st.reason == run::stop_reason::answer_budget || st.reason == run::stop_reason::eos));
            CHECK(st.answer_tokens >= 1);
            CHECK(st.answer_tokens <= 6);
        }
        // Whatever the cancel interrupted, the cache holds exactly the tokens it claims.
        CHECK(f.r.get_session().n_past() == std::int64_t(f.r.get_session().tokens().size()));
    }
}

TEST_CASE("cross-thread: async run() through async_entry on a worker, poll() and busy() on the caller") {
    REQUIRE(noggin_test::bundled().ok);
    run::reasoner_params p;
    p.sampling.temperature = 0.0f;
    p.think_budget = 24;
    p.answer_budget = 24;
    // Reference: the same turn on this thread.
    setup ref(p);
    REQUIRE(ref.r.ask("What is 4821+937?").ok());
    ref.r.run();
    run::event e;
    while (ref.r.poll(e)) {
    }

    setup f(p);
    REQUIRE(f.r.ask("What is 4821+937?").ok());
    // The host's job system: one task, run on a thread of its own.
    std::thread worker([&] { thread_pool{}.run(1, &run::reasoner::async_entry, &f.r); });
    std::string thinking, answer;
    int dones = 0, polled = 0;
    bool saw_busy = false;
    run::stop_reason reason = run::stop_reason::none;
    while (dones == 0) {
        saw_busy = saw_busy || f.r.busy();
        if (!f.r.poll(e)) {
            std::this_thread::yield();
            continue;
        }
        ++polled;
        if (e.type == run::event_type::thinking) {
            CHECK(answer.empty());  // thinking events all come before answer events
            thinking += e.text;
        } else if (e.type == run::event_type::answer) {
            answer += e.text;
        } else {
            ++dones;
            reason = e.reason;
        }
    }
    worker.join();
    CHECK(!f.r.busy());
    CHECK(!f.r.poll(e));  // done is the last event
    CHECK(polled > 3);
    (void)saw_busy;       // may be false if the whole turn ran between two polls
    CHECK(reason == f.r.stats().reason);
    CHECK(thinking == f.r.thinking_text());
    CHECK(answer == f.r.answer_text());
    CHECK(f.r.generated_tokens() == ref.r.generated_tokens());
    CHECK(f.r.answer_text() == ref.r.answer_text());
}
