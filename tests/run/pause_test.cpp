// tests/run/pause_test.cpp — pausable forward passes and the frame-sliced runner built on them, on the
// bundled tiny reasoner:
//  - model::forward_batch with a progress record, paused after EVERY operation and tile (a deadline in
//    the past: each call runs exactly one operation or one tile), and at random points by the interrupt
//    hook on a 2-thread pool, gives logits and KV rows bit-identical to one uninterrupted pass — prefill
//    in several chunks (per-column dots and the panel GEMM) and batched multi-session decode;
//  - a paused pass restarts (same results) after another pass used its workspace; should_continue
//    cancels it and leaves every cache as it was;
//  - run::reasoner::step() with 50 µs budgets gives exactly the tokens of run(); save while a pass is
//    paused, restore elsewhere, continue token for token; end_thinking_now() while a thinking token's
//    pass is paused closes the thoughts at once (that token + closing phrase + </think> in one pass);
//  - reasoner_group::step() with 20 µs budgets: each member gets the tokens of run() alone;
//  - cross-thread: cancel() during one long prefill pass stops inside it (TSan job runs this one too).
// Tolerance: none — every comparison is bit-exact (memcmp of floats and KV bytes, equal token ids).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "noggin/core/default_thread_pool.hpp"
#include "noggin/model/forward.hpp"
#include "noggin/run/group.hpp"
#include "noggin/run/reasoner.hpp"
#include "run/run_test_util.hpp"
#include "support/shared_data.hpp"

using namespace noggin;

namespace {

using clock_type = std::chrono::steady_clock;

model::kv_cache cache_of(const model::model& m, dtype type) {
    model::kv_cache_params kp;
    kp.n_ctx = 128;
    kp.type = type;
    return std::move(model::kv_cache::create(m, kp)).value();
}

model::workspace ws_of(const model::model& m, std::int64_t max_batch, std::int64_t logits_rows = 0) {
    model::workspace_params wp;
    wp.max_batch = max_batch;
    wp.logits_rows = logits_rows;
    return std::move(model::workspace::create(m, wp)).value();
}

bool same_kv(const model::kv_cache& a, const model::kv_cache& b) {
    if (a.n_past() != b.n_past()) return false;
    const std::size_t bytes = static_cast<std::size_t>(a.row_bytes()) * static_cast<std::size_t>(a.n_past());
    for (std::int64_t l = 0; l < a.n_layer(); ++l)
        if (std::memcmp(a.k_data(l), b.k_data(l), bytes) != 0 || std::memcmp(a.v_data(l), b.v_data(l), bytes) != 0) return false;
    return true;
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Thread-safe pseudo-random interrupt: true on about one check in `period`.
struct random_interrupt {
    std::atomic<std::uint32_t> n{0};
    std::uint32_t period = 17;
    static bool fire(void* user) {
        random_interrupt& r = *static_cast<random_interrupt*>(user);
        std::uint32_t x = r.n.fetch_add(1, std::memory_order_relaxed) * 2654435761u;
        x ^= x >> 15;
        return x % r.period == 0;
    }
};

enum class pause_mode { every_item, random_interrupt };

// Runs the pass described by `segs` on `ws` through pausable calls until done; returns the calls made.
int run_paused(const model::model& m, model::workspace& ws, const std::vector<model::forward_segment>& segs, pause_mode mode,
               const thread_pool& pool) {
    random_interrupt ri;
    model::forward_progress pr;
    model::forward_batch_params bp;
    bp.pool = pool;
    bp.progress = &pr;
    if (mode == pause_mode::every_item) bp.deadline = clock_type::now() - std::chrono::seconds(1);
    else bp.interrupt = &random_interrupt::fire, bp.interrupt_user = &ri;
    int calls = 0;
    for (;;) {
        const std::int64_t before = segs[0].kv->n_past();
        const status s = model::forward_batch(m, ws, segs.data(), segs.size(), bp);
        REQUIRE(s.ok());
        ++calls;
        if (calls > 1) CHECK(pr.resumed);
        if (pr.done) break;
        CHECK(segs[0].kv->n_past() == before);  // nothing advances until the pass completes
        CHECK(ws.has_paused_pass());
        CHECK(pr.interrupted == (mode == pause_mode::random_interrupt));
        REQUIRE(calls < 200000);
    }
    CHECK_FALSE(ws.has_paused_pass());
    return calls;
}

// Prefill of `n` tokens in chunks of `chunk` rows (all logits), then `steps` decode passes of three
// sequences together (one of them feeding 5 tokens at once): uninterrupted vs paused, bit-equal.
void check_pauses(const model::model& m, std::int64_t chunk, std::int64_t n, dtype kv_type, pause_mode mode,
                  const thread_pool& pool, int min_calls) {
    const std::int64_t V = m.hparams().n_vocab;
    model::workspace ws_ref = ws_of(m, chunk), ws = ws_of(m, chunk);
    // Prefill, one sequence, every position's logits.
    {
        model::kv_cache ref = cache_of(m, kv_type), kv = cache_of(m, kv_type);
        const auto p = noggin_test::pseudo_random_prompt(n, V, 7);
        std::vector<float> lr(static_cast<std::size_t>(n * V)), lp(lr.size());
        std::fill(lp.begin(), lp.end(), -1.0f);
        std::vector<model::forward_segment> seg(1);
        seg[0].kv = &ref;
        seg[0].tokens = p.data();
        seg[0].n_tokens = n;
        seg[0].logits = model::logits_mode::all;
        seg[0].logits_out = lr.data();
        REQUIRE(model::forward_batch(m, ws_ref, seg.data(), 1, {}).ok());
        seg[0].kv = &kv;
        seg[0].logits_out = lp.data();
        const int calls = run_paused(m, ws, seg, mode, pool);
        CHECK(calls >= min_calls);
        CHECK(same_floats(lr, lp));
        CHECK(same_kv(ref, kv));
    }
    // Batched multi-session decode (with a gathered output matmul).
    {
        model::workspace wr = ws_of(m, chunk, 4), wp = ws_of(m, chunk, 4);
        std::vector<model::kv_cache> ref, kv;
        for (int i = 0; i < 3; ++i) {
            ref.push_back(cache_of(m, kv_type));
            kv.push_back(cache_of(m, kv_type));
            const auto p = noggin_test::pseudo_random_prompt(5 + 4 * i, V, 20u + std::uint32_t(i));
            model::forward_params fp;
            fp.logits = model::logits_mode::none;
            REQUIRE(model::forward(m, ref.back(), wr, p.data(), std::int64_t(p.size()), fp).ok());
            REQUIRE(model::forward(m, kv.back(), wr, p.data(), std::int64_t(p.size()), fp).ok());
        }
        std::vector<std::vector<float>> lr(3, std::vector<float>(static_cast<std::size_t>(V))), lp = lr;
        const auto more = noggin_test::pseudo_random_prompt(5, V, 99);
        for (int step = 0; step < 3; ++step) {
            CAPTURE(step);
            const std::int32_t next[3] = {std::int32_t(step + 1), std::int32_t(2 * step + 3), 0};
            std::vector<model::forward_segment> sr(3), sp(3);
            for (int i = 0; i < 3; ++i) {
                sr[std::size_t(i)].kv = &ref[std::size_t(i)];
                sr[std::size_t(i)].tokens = i == 2 ? more.data() : &next[i];
                sr[std::size_t(i)].n_tokens = i == 2 ? 5 : 1;
                sr[std::size_t(i)].logits_out = lr[std::size_t(i)].data();
                sp[std::size_t(i)] = sr[std::size_t(i)];
                sp[std::size_t(i)].kv = &kv[std::size_t(i)];
                sp[std::size_t(i)].logits_out = lp[std::size_t(i)].data();
            }
            REQUIRE(model::forward_batch(m, wr, sr.data(), 3, {}).ok());
            run_paused(m, wp, sp, mode, pool);
            for (std::size_t i = 0; i < 3; ++i) {
                CAPTURE(i);
                CHECK(same_floats(lr[i], lp[i]));
                CHECK(same_kv(ref[i], kv[i]));
            }
        }
    }
}

std::atomic<int> g_calls{0};

}  // namespace

TEST_CASE("pausable pass: paused after every operation and every tile, logits and KV are bit-identical") {
    REQUIRE(noggin_test::bundled().ok);
    const thread_pool serial{};
    SUBCASE("prefill in chunks of 8 rows (per-column dots), F16 KV") { check_pauses(noggin_test::bundled().model, 8, 21, dtype::f16, pause_mode::every_item, serial, 100); }
    SUBCASE("prefill in chunks of 40 rows (panel GEMM) and 5, F32 KV") { check_pauses(noggin_test::bundled().model, 40, 45, dtype::f32, pause_mode::every_item, serial, 100); }
}

TEST_CASE("pausable pass: random interrupts on a 2-thread pool, logits and KV are bit-identical") {
    REQUIRE(noggin_test::bundled().ok);
    default_thread_pool pool(2);
    check_pauses(noggin_test::bundled().model, 8, 21, dtype::f16, pause_mode::random_interrupt, pool.hook(), 10);
    check_pauses(noggin_test::bundled().model, 40, 45, dtype::f32, pause_mode::random_interrupt, pool.hook(), 10);
}

TEST_CASE("pausable pass: Q4_0 weights (integer GEMM for 40-row chunks, 4-row dots for decode) resume bit-identically") {
    const auto path = noggin_test::shared_path("models/qwen2-small-q4_0.gguf");
    if (!path) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    auto m = model::model::open(*path);
    REQUIRE(m.ok());
    const thread_pool serial{};
    check_pauses(m.value(), 40, 45, dtype::f16, pause_mode::every_item, serial, 100);
    default_thread_pool pool(2);
    check_pauses(m.value(), 40, 45, dtype::f32, pause_mode::random_interrupt, pool.hook(), 10);
}

TEST_CASE("pausable pass: another pass on the workspace restarts it; should_continue cancels it, caches unchanged") {
    REQUIRE(noggin_test::bundled().ok);
    const model::model& m = noggin_test::bundled().model;
    const std::int64_t V = m.hparams().n_vocab;
    model::workspace ws = ws_of(m, 16);
    model::kv_cache ref = cache_of(m, dtype::f32), kv = cache_of(m, dtype::f32), other = cache_of(m, dtype::f32);
    const auto p = noggin_test::pseudo_random_prompt(20, V, 3);
    std::vector<float> lr(static_cast<std::size_t>(V)), lp(lr.size());
    model::forward_params fp;
    fp.logits_out = lr.data();
    REQUIRE(model::forward(m, ref, ws, p.data(), 20, fp).ok());

    model::forward_progress pr;
    fp.logits_out = lp.data();
    fp.progress = &pr;
    fp.deadline = clock_type::now() - std::chrono::seconds(1);
    for (int i = 0; i < 30; ++i) REQUIRE(model::forward(m, kv, ws, p.data(), 20, fp).ok());
    REQUIRE_FALSE(pr.done);
    REQUIRE(ws.has_paused_pass());
    // Another pass on the same workspace (another cache): the paused one is dropped...
    model::forward_params plain;
    plain.logits = model::logits_mode::none;
    REQUIRE(model::forward(m, other, ws, p.data(), 7, plain).ok());
    CHECK_FALSE(ws.has_paused_pass());
    CHECK(kv.n_past() == 0);
    // ... and the next call starts it afresh, with the same results.
    fp.deadline = clock_type::time_point::max();
    REQUIRE(model::forward(m, kv, ws, p.data(), 20, fp).ok());
    CHECK(pr.done);
    CHECK_FALSE(pr.resumed);
    CHECK(same_floats(lr, lp));
    CHECK(same_kv(ref, kv));

    // Cancel a paused pass: n_past unchanged, nothing kept.
    fp.deadline = clock_type::now() - std::chrono::seconds(1);
    const auto q = noggin_test::pseudo_random_prompt(6, V, 4);
    for (int i = 0; i < 10; ++i) REQUIRE(model::forward(m, kv, ws, q.data(), 6, fp).ok());
    REQUIRE(ws.has_paused_pass());
    fp.should_continue = [](void*) { return false; };
    CHECK(model::forward(m, kv, ws, q.data(), 6, fp).code() == status_code::cancelled);
    CHECK(kv.n_past() == 20);
    CHECK_FALSE(ws.has_paused_pass());
    // Changing the cache (truncate) while paused: the pass starts afresh rather than resuming.
    fp.should_continue = nullptr;
    for (int i = 0; i < 10; ++i) REQUIRE(model::forward(m, kv, ws, q.data(), 6, fp).ok());
    REQUIRE(kv.truncate(20).ok());  // same n_past, new version
    REQUIRE(model::forward(m, kv, ws, q.data(), 6, fp).ok());
    CHECK_FALSE(pr.resumed);
}

namespace {
run::session pause_session(std::uint64_t seed, std::int64_t max_batch = 8) {
    run::session_params sp;
    sp.n_ctx = 512;
    sp.seed = seed;
    sp.max_batch = max_batch;
    return std::move(run::session::create(noggin_test::bundled().model, sp)).value();
}
struct pause_fixture {
    run::reasoner r;
    explicit pause_fixture(std::uint64_t seed, const run::reasoner_params& p) {
        const auto& t = noggin_test::bundled();
        REQUIRE(run::reasoner::create(r, pause_session(seed), t.tok, t.chat, p).ok());
    }
};
}  // namespace

TEST_CASE("reasoner: step() with 50 us budgets pauses passes and ends in exactly the tokens of run()") {
    REQUIRE(noggin_test::bundled().ok);
    run::reasoner_params p;
    p.think_budget = 12;
    p.think_close = "\nOkay.\n";
    p.answer_budget = 12;
    pause_fixture a(31, p), b(31, p);
    REQUIRE(a.r.ask("What is 4821+937?").ok());
    a.r.run();
    REQUIRE(b.r.ask("What is 4821+937?").ok());
    int steps = 0, paused = 0;
    while (b.r.step(std::chrono::microseconds(50)) != run::reasoner_state::idle) {
        ++steps;
        paused += b.r.pass_paused() ? 1 : 0;
        REQUIRE(steps < 1000000);
    }
    CHECK(paused > 0);
    CHECK(steps > int(b.r.generated_tokens().size()));
    CHECK(a.r.generated_tokens() == b.r.generated_tokens());
    CHECK(a.r.thinking_text() == b.r.thinking_text());
    CHECK(a.r.answer_text() == b.r.answer_text());
    CHECK(a.r.stats().thinking_tokens == b.r.stats().thinking_tokens);
    CHECK(a.r.stats().forced_tokens == b.r.stats().forced_tokens);
    CHECK(a.r.get_session().tokens() == b.r.get_session().tokens());
}

TEST_CASE("reasoner: save while a pass is paused, restore elsewhere, continue token for token") {
    REQUIRE(noggin_test::bundled().ok);
    run::reasoner_params p;
    p.sampling.temperature = 0.9f;
    p.answer_budget = 16;
    pause_fixture full(41, p), part(41, p), resumed(7, p);
    REQUIRE(full.r.ask("What is 5000-1234?").ok());
    full.r.run();
    REQUIRE(part.r.ask("What is 5000-1234?").ok());
    // Step until a thinking token's pass is paused.
    while (part.r.state() != run::reasoner_state::idle &&
           !(part.r.state() == run::reasoner_state::thinking && part.r.pass_paused() && part.r.generated_tokens().size() > 3))
        part.r.step(std::chrono::microseconds(20));
    REQUIRE(part.r.pass_paused());
    auto bytes = part.r.save();
    REQUIRE(bytes.ok());
    REQUIRE(resumed.r.restore(bytes->data(), bytes->size()).ok());
    CHECK(resumed.r.pass_paused());  // its input is fed again first
    while (resumed.r.step(std::chrono::microseconds(100)) != run::reasoner_state::idle) {
    }
    CHECK(resumed.r.generated_tokens() == full.r.generated_tokens());
    CHECK(resumed.r.thinking_text() == full.r.thinking_text());
    CHECK(resumed.r.answer_text() == full.r.answer_text());
    // The paused original continues too.
    part.r.run();
    CHECK(part.r.generated_tokens() == full.r.generated_tokens());
}

TEST_CASE("reasoner: end_thinking_now() while a thinking token's pass is paused closes the thoughts in one pass") {
    REQUIRE(noggin_test::bundled().ok);
    const auto& t = noggin_test::bundled();
    run::reasoner_params p;
    p.sampling.temperature = 0.0f;
    p.min_think = 100000;  // would think on and on
    p.max_waits = 100000;
    p.think_close = "\nOkay, answer.\n";
    p.answer_budget = 6;
    pause_fixture f(5, p);
    REQUIRE(f.r.ask("What is 4821+937?").ok());
    while (!(f.r.state() == run::reasoner_state::thinking && f.r.pass_paused() && f.r.generated_tokens().size() >= 5))
        REQUIRE(f.r.step(std::chrono::microseconds(30)) != run::reasoner_state::idle);
    const std::size_t generated_before = f.r.generated_tokens().size();
    const std::int64_t n_past_before = f.r.get_session().n_past();
    const std::string thoughts_before = f.r.thinking_text();
    const std::int64_t forced_before = f.r.stats().forced_tokens;
    f.r.end_thinking_now();
    f.r.step(std::chrono::microseconds(30));
    // At once: the thoughts are closed (no further model-sampled thinking), state answering.
    CHECK(f.r.state() == run::reasoner_state::answering);
    CHECK(f.r.stats().think_forced_end);
    text::encode_options eo;
    eo.parse_special = true;
    const auto close = t.tok.encode(p.think_close, eo).value();
    CHECK(f.r.stats().forced_tokens == forced_before + std::int64_t(close.size()) + 1);
    const std::vector<std::int32_t> g = f.r.generated_tokens();
    REQUIRE(g.size() == generated_before + close.size() + 1);
    CHECK(std::vector<std::int32_t>(g.end() - std::ptrdiff_t(close.size() + 1), g.end() - 1) == close);
    CHECK(g.back() == t.tok.find("</think>"));
    CHECK(f.r.thinking_text().compare(0, thoughts_before.size(), thoughts_before) == 0);
    while (f.r.step(std::chrono::microseconds(1000)) != run::reasoner_state::idle) {
    }
    // The pending thinking token, the closing phrase and </think> entered the cache right after what was
    // there when end_thinking_now() was called (they were fed together, as one input).
    const std::vector<std::int32_t>& in_cache = f.r.get_session().tokens();
    REQUIRE(std::int64_t(in_cache.size()) >= n_past_before + std::int64_t(close.size()) + 2);
    CHECK(std::vector<std::int32_t>(in_cache.begin() + n_past_before, in_cache.begin() + n_past_before + std::ptrdiff_t(close.size()) + 2) ==
          std::vector<std::int32_t>(g.end() - std::ptrdiff_t(close.size()) - 2, g.end()));
    CHECK(f.r.stats().answer_tokens > 0);
    CHECK(f.r.stats().reason == run::stop_reason::answer_budget);
    const std::string& last = f.r.messages().back().content;
    CHECK(last == f.r.thinking_text() + "</think>" + f.r.answer_text());
    CHECK(f.r.thinking_text().find("</think>") == std::string::npos);
    const run::session& s = f.r.get_session();
    CHECK(s.n_past() == std::int64_t(s.tokens().size()));
}

TEST_CASE("cross-thread: cancel() during one long prefill pass stops inside the pass; the reasoner stays usable") {
    REQUIRE(noggin_test::bundled().ok);
    struct slow_pool {
        static void parallel_for(void*, std::size_t n, parallel_task task, void* ctx) {
            g_calls.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::microseconds(50));
            task(ctx, 0, n, 0);
        }
    };
    thread_pool pool;
    pool.parallel_for = &slow_pool::parallel_for;
    pool.concurrency = 2;
    run::session_params sp;
    sp.n_ctx = 512;
    sp.max_batch = 512;  // the whole prompt in one pass
    sp.pool = pool;
    run::reasoner r;
    const auto& t = noggin_test::bundled();
    run::reasoner_params p;
    p.sampling.temperature = 0.0f;
    p.think_budget = 3;
    p.answer_budget = 3;
    REQUIRE(run::reasoner::create(r, std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, p).ok());
    std::string q = "Count:";
    for (int i = 0; i < 80; ++i) q += " coin,";
    REQUIRE(r.ask(q).ok());
    g_calls.store(0);
    std::thread worker([&] { r.run(); });
    while (g_calls.load() < 20) std::this_thread::yield();
    r.cancel();
    worker.join();
    CHECK(r.stats().reason == run::stop_reason::cancelled);
    CHECK(r.get_session().n_past() == 0);  // the one pass was stopped inside; nothing entered the cache
    CHECK(r.generated_tokens().empty());
    REQUIRE(r.ask("What is 4821+937?").ok());
    r.run();
    CHECK(r.stats().reason == run::stop_reason::answer_budget);
    CHECK(r.stats().thinking_tokens == 3);
}

TEST_CASE("reasoner_group: step() with 20 us budgets pauses the shared pass and gives each member the tokens of run() alone") {
    REQUIRE(noggin_test::bundled().ok);
    const auto& t = noggin_test::bundled();
    run::reasoner_group g;
    run::reasoner_group_params gp;
    gp.max_rows = 16;
    gp.logits_rows = 3;
    REQUIRE(run::reasoner_group::create(g, t.model, gp).ok());
    const char* q[3] = {"What is 4821+937?", "What is 120-45?", "What is 77+5?"};
    run::reasoner alone[3], member[3];
    for (int i = 0; i < 3; ++i) {
        run::reasoner_params p;
        p.sampling.temperature = 0.0f;
        p.think_budget = 5 + i;
        p.answer_budget = 6;
        run::session_params sp;
        sp.n_ctx = 256;
        sp.max_batch = 5;  // 3 members · 5 rows < 32: per-column path, bit-equal to alone
        REQUIRE(run::reasoner::create(alone[i], std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, p).ok());
        sp.workspace = &g.scratch();
        REQUIRE(run::reasoner::create(member[i], std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, p).ok());
        REQUIRE(g.add(member[i]).ok());
        REQUIRE(alone[i].ask(q[i]).ok());
        alone[i].run();
        REQUIRE(member[i].ask(q[i]).ok());
    }
    int steps = 0, paused = 0;
    while (g.step(std::chrono::microseconds(20)) > 0) {
        ++steps;
        paused += g.scratch().has_paused_pass() ? 1 : 0;
        REQUIRE(steps < 1000000);
    }
    CHECK(paused > 0);
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(member[i].generated_tokens() == alone[i].generated_tokens());
        CHECK(member[i].thinking_text() == alone[i].thinking_text());
        CHECK(member[i].answer_text() == alone[i].answer_text());
        CHECK(member[i].stats().forced_tokens == alone[i].stats().forced_tokens);
        REQUIRE(g.remove(member[i]).ok());
    }
}
