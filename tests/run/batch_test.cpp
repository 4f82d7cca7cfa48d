// tests/run/batch_test.cpp — many sequences in one forward pass: model::forward_batch against forward()
// of each sequence alone (bundled tiny reasoner, and ../shared's quantized models when present),
// errors that change no cache, run::decode_together over sessions sharing a workspace, and
// run::reasoner_group against each reasoner stepped alone (events, text, tokens, stats).
//
// Tolerances: decode passes (fewer than cpu::gemm_min_cols = 32 rows) are bit-equal to each sequence
// alone today (same per-column dots, same attention per row and head); they are checked with NMSE < 1e-10
// (passes bit-equal results, and would pass a kernel that only reorders a float sum across columns, but
// not a wrong row, position or cache) and equal greedy tokens. Passes with prompt chunks that make them
// 32 rows or more go through the panel GEMM instead (another summation order), so they are compared by
// NMSE < 1e-4 and an equal argmax.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "noggin/model/forward.hpp"
#include "noggin/run/group.hpp"
#include "noggin/run/reasoner.hpp"
#include "noggin/run/session.hpp"
#include "noggin/sample/json_schema.hpp"
#include "run/run_test_util.hpp"
#include "support/compare.hpp"

using namespace noggin;

namespace {

float max_abs_diff(const float* a, const float* b, std::int64_t n) {
    float m = 0;
    for (std::int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

std::int32_t argmax(const float* x, std::int64_t n) {
    return static_cast<std::int32_t>(std::max_element(x, x + n) - x);
}


model::kv_cache make_cache(const model::model& m, std::int64_t n_ctx, dtype type = dtype::f16) {
    model::kv_cache_params kp;
    kp.n_ctx = n_ctx;
    kp.type = type;
    return std::move(model::kv_cache::create(m, kp)).value();
}

model::workspace make_ws(const model::model& m, std::int64_t max_batch, std::int64_t logits_rows) {
    model::workspace_params wp;
    wp.max_batch = max_batch;
    wp.logits_rows = logits_rows;
    return std::move(model::workspace::create(m, wp)).value();
}

// Several sequences with prompts of different lengths: greedy decode `steps` tokens, each sequence
// alone (forward) and all together (forward_batch, one pass per step); tokens equal and logits
// bit-equal. `chunk` is the batched workspace's max_batch (small values split a step over chunks).
void check_decode_together(const model::model& m, std::int64_t chunk, std::int64_t logits_rows, int steps) {
    const std::int64_t V = m.hparams().n_vocab;
    const std::int64_t lens[] = {1, 7, 23, 64, 41};
    const std::size_t n = std::size(lens);
    std::vector<model::kv_cache> solo, bat;
    std::vector<std::vector<float>> solo_logits(n, std::vector<float>(static_cast<std::size_t>(V))),
        bat_logits(n, std::vector<float>(static_cast<std::size_t>(V)));
    model::workspace ws_solo = make_ws(m, 32, 0);
    model::workspace ws_bat = make_ws(m, chunk, logits_rows);
    std::vector<std::vector<std::int32_t>> solo_tokens(n), bat_tokens(n);
    for (std::size_t i = 0; i < n; ++i) {
        solo.push_back(make_cache(m, 160));
        bat.push_back(make_cache(m, 160));
        const auto p = noggin_test::pseudo_random_prompt(lens[i], V, static_cast<std::uint32_t>(i + 1));
        model::forward_params fp;
        fp.logits_out = solo_logits[i].data();
        REQUIRE(model::forward(m, solo[i], ws_solo, p.data(), lens[i], fp).ok());
        fp.logits_out = bat_logits[i].data();
        REQUIRE(model::forward(m, bat[i], ws_solo, p.data(), lens[i], fp).ok());
    }
    for (int step = 0; step < steps; ++step) {
        std::vector<std::int32_t> next(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::int32_t t = argmax(solo_logits[i].data(), V);
            solo_tokens[i].push_back(t);
            model::forward_params fp;
            fp.logits_out = solo_logits[i].data();
            REQUIRE(model::forward(m, solo[i], ws_solo, &t, 1, fp).ok());
            next[i] = argmax(bat_logits[i].data(), V);
            bat_tokens[i].push_back(next[i]);
        }
        std::vector<model::forward_segment> seg(n);
        for (std::size_t i = 0; i < n; ++i) {
            seg[i].kv = &bat[i];
            seg[i].tokens = &next[i];
            seg[i].n_tokens = 1;
            seg[i].logits_out = bat_logits[i].data();
        }
        REQUIRE(model::forward_batch(m, ws_bat, seg.data(), n, {}).ok());
        for (std::size_t i = 0; i < n; ++i) {
            CAPTURE(step);
            CAPTURE(i);
            CHECK(bat[i].n_past() == solo[i].n_past());
            CHECK(noggin_test::nmse(bat_logits[i].data(), solo_logits[i].data(), V) < 1e-10);
        }
    }
    for (std::size_t i = 0; i < n; ++i) CHECK(bat_tokens[i] == solo_tokens[i]);
}

}  // namespace

// --- model::forward_batch ------------------------------------------------------------------------------

TEST_CASE("forward_batch: decode steps of 5 sequences at different positions equal each alone (greedy tokens, NMSE < 1e-10)") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    SUBCASE("one chunk, logits gathered in one output matmul") { check_decode_together(t.model, 64, 8, 12); }
    SUBCASE("one output matmul per sequence (logits_rows 0)") { check_decode_together(t.model, 64, 0, 4); }
    SUBCASE("chunks of 2 rows, 3 logits rows") { check_decode_together(t.model, 2, 3, 4); }
}

TEST_CASE("forward_batch: quantized ../shared models decode together as alone (greedy tokens, NMSE < 1e-10)") {
    for (const char* file : {"models/qwen2-small-q4_0.gguf", "models/llama-small-q4_k_m.gguf", "models/llama-small-q8_0.gguf"}) {
        auto path = noggin_test::shared_path(file);
        if (!path) {
            NOGGIN_SKIP_WITHOUT_SHARED();
            return;
        }
        auto m = model::model::open(*path);
        REQUIRE(m.ok());
        CAPTURE(file);
        check_decode_together(m.value(), 64, 8, 6);
    }
}

TEST_CASE("forward_batch: prompt chunks and decode steps mixed in one pass equal each alone") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    const model::model& m = t.model;
    const std::int64_t V = m.hparams().n_vocab;
    struct spec {
        std::int64_t past, n;
        model::logits_mode mode;
    };
    const spec specs[] = {{10, 40, model::logits_mode::all}, {30, 1, model::logits_mode::last},
                          {0, 5, model::logits_mode::none},  {3, 33, model::logits_mode::last},
                          {50, 1, model::logits_mode::last}, {1, 3, model::logits_mode::all}};
    const std::size_t n = std::size(specs);
    for (std::int64_t chunk : {256, 16, 7}) {
        CAPTURE(chunk);
        model::workspace ws_solo = make_ws(m, 256, 0);
        model::workspace ws_bat = make_ws(m, chunk, 4);
        std::vector<model::kv_cache> solo, bat;
        solo.reserve(n), bat.reserve(n);  // seg[i].kv points into bat
        std::vector<std::vector<std::int32_t>> toks(n);
        std::vector<std::vector<float>> want(n), got(n);
        std::vector<model::forward_segment> seg(n);
        for (std::size_t i = 0; i < n; ++i) {
            solo.push_back(make_cache(m, 128, dtype::f32));
            bat.push_back(make_cache(m, 128, dtype::f32));
            const auto hist = noggin_test::pseudo_random_prompt(specs[i].past, V, 100 + static_cast<std::uint32_t>(i));
            model::forward_params none;
            none.logits = model::logits_mode::none;
            if (specs[i].past > 0) {
                REQUIRE(model::forward(m, solo[i], ws_solo, hist.data(), specs[i].past, none).ok());
                REQUIRE(model::forward(m, bat[i], ws_solo, hist.data(), specs[i].past, none).ok());
            }
            toks[i] = noggin_test::pseudo_random_prompt(specs[i].n, V, 200 + static_cast<std::uint32_t>(i));
            const std::size_t rows = specs[i].mode == model::logits_mode::all ? std::size_t(specs[i].n) : 1;
            want[i].assign(rows * std::size_t(V), 0.0f);
            got[i].assign(rows * std::size_t(V), 0.0f);
            model::forward_params fp;
            fp.logits = specs[i].mode;
            fp.logits_out = want[i].data();
            REQUIRE(model::forward(m, solo[i], ws_solo, toks[i].data(), specs[i].n, fp).ok());
            seg[i].kv = &bat[i];
            seg[i].tokens = toks[i].data();
            seg[i].n_tokens = specs[i].n;
            seg[i].logits = specs[i].mode;
            seg[i].logits_out = got[i].data();
        }
        REQUIRE(model::forward_batch(m, ws_bat, seg.data(), n, {}).ok());
        for (std::size_t i = 0; i < n; ++i) {
            CAPTURE(i);
            CHECK(bat[i].n_past() == specs[i].past + specs[i].n);
            if (specs[i].mode == model::logits_mode::none) continue;
            const std::size_t rows = want[i].size() / std::size_t(V);
            for (std::size_t r = 0; r < rows; ++r) {
                CAPTURE(r);
                CHECK(noggin_test::nmse(got[i].data() + r * V, want[i].data() + r * V, V) < 1e-4);
                CHECK(argmax(got[i].data() + r * V, V) == argmax(want[i].data() + r * V, V));
            }
        }
        // The caches agree too: one more decode step alone from each gives the same logits.
        for (std::size_t i = 0; i < n; ++i) {
            std::vector<float> a(std::size_t(V), 0.0f), b(std::size_t(V), 0.0f);
            const std::int32_t tok = 7;
            model::forward_params fp;
            fp.logits_out = a.data();
            REQUIRE(model::forward(m, solo[i], ws_solo, &tok, 1, fp).ok());
            fp.logits_out = b.data();
            REQUIRE(model::forward(m, bat[i], ws_solo, &tok, 1, fp).ok());
            CHECK(noggin_test::nmse(b.data(), a.data(), V) < 1e-4);
        }
    }
}

TEST_CASE("forward_batch: a full cache, a bad token, a shared cache or a cancel change no cache") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    const model::model& m = t.model;
    const std::int64_t V = m.hparams().n_vocab;
    model::workspace ws = make_ws(m, 8, 4);
    std::vector<model::kv_cache> kv;
    const std::int64_t past[] = {5, 12, 30};
    for (std::int64_t p : past) {
        kv.push_back(make_cache(m, 32));
        const auto h = noggin_test::pseudo_random_prompt(p, V, static_cast<std::uint32_t>(p));
        model::forward_params none;
        none.logits = model::logits_mode::none;
        REQUIRE(model::forward(m, kv.back(), ws, h.data(), p, none).ok());
    }
    // What a correct pass gives (computed on copies of the caches' state: run, check, truncate back).
    std::int32_t tok[3] = {3, 4, 5};
    std::vector<std::vector<float>> ref(3, std::vector<float>(std::size_t(V))), out(3, std::vector<float>(std::size_t(V)));
    auto segments = [&](std::vector<std::vector<float>>& dst) {
        std::vector<model::forward_segment> s(3);
        for (int i = 0; i < 3; ++i) {
            s[i].kv = &kv[std::size_t(i)];
            s[i].tokens = &tok[i];
            s[i].n_tokens = 1;
            s[i].logits_out = dst[std::size_t(i)].data();
        }
        return s;
    };
    auto s = segments(ref);
    REQUIRE(model::forward_batch(m, ws, s.data(), 3, {}).ok());
    for (int i = 0; i < 3; ++i) REQUIRE(kv[std::size_t(i)].truncate(past[i]).ok());
    auto unchanged = [&] {
        for (int i = 0; i < 3; ++i) CHECK(kv[std::size_t(i)].n_past() == past[i]);
    };

    SUBCASE("a cache too full for its tokens: limit_exceeded") {
        std::vector<std::int32_t> many(3, 1);
        auto bad = segments(out);
        bad[2].tokens = many.data();
        bad[2].n_tokens = 3;  // 30 + 3 > 32
        const status st = model::forward_batch(m, ws, bad.data(), 3, {});
        CHECK(st.code() == status_code::limit_exceeded);
        CHECK(st.message().find("segment 2") != std::string::npos);
        unchanged();
    }
    SUBCASE("a token outside the vocabulary: invalid_argument") {
        std::int32_t bad_tok = std::int32_t(V);
        auto bad = segments(out);
        bad[1].tokens = &bad_tok;
        CHECK(model::forward_batch(m, ws, bad.data(), 3, {}).code() == status_code::invalid_argument);
        unchanged();
    }
    SUBCASE("two segments on one cache: invalid_argument") {
        auto bad = segments(out);
        bad[2].kv = &kv[0];
        CHECK(model::forward_batch(m, ws, bad.data(), 3, {}).code() == status_code::invalid_argument);
        unchanged();
    }
    SUBCASE("cancelled at every check of the pass (2 per layer)") {
        for (int stop_at = 0; stop_at < 2 * int(m.hparams().n_layer); ++stop_at) {
            CAPTURE(stop_at);
            struct counter {
                int calls = 0, stop_at = 0;
            } c{0, stop_at};
            model::forward_batch_params bp;
            bp.should_continue = [](void* u) {
                auto& k = *static_cast<counter*>(u);
                return k.calls++ < k.stop_at;
            };
            bp.user = &c;
            auto sg = segments(out);
            CHECK(model::forward_batch(m, ws, sg.data(), 3, bp).code() == status_code::cancelled);
            unchanged();
        }
    }
    // After every refusal, the pass gives exactly what it gave before.
    s = segments(out);
    REQUIRE(model::forward_batch(m, ws, s.data(), 3, {}).ok());
    for (int i = 0; i < 3; ++i) CHECK(max_abs_diff(out[std::size_t(i)].data(), ref[std::size_t(i)].data(), V) == 0.0f);
}

// --- run::decode_together ------------------------------------------------------------------------------

TEST_CASE("decode_together: sessions sharing one workspace decode the same greedy tokens as each alone") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    const model::model& m = t.model;
    model::workspace ws = make_ws(m, 32, 4);
    const char* prompts[] = {"What is 4821+937?", "Which is larger, 38 or 83?", "Count: apple, pear, fig.", "What is 9-4?"};
    std::vector<run::session> solo, grp;
    run::session_params sp;
    sp.n_ctx = 256;
    run::session_params shared = sp;
    shared.workspace = &ws;
    for (const char* q : prompts) {
        text::encode_options eo;
        eo.parse_special = true;
        const auto p = t.tok.encode(std::string("<｜begin▁of▁sentence｜><｜User｜>") + q + "<｜Assistant｜><think>\n", eo).value();
        solo.push_back(std::move(run::session::create(m, sp)).value());
        grp.push_back(std::move(run::session::create(m, shared)).value());
        REQUIRE(solo.back().prefill(p.data(), std::int64_t(p.size())).ok());
        REQUIRE(grp.back().prefill(p.data(), std::int64_t(p.size())).ok());
    }
    // Each extra session holds its KV cache, its logits and its token history, no workspace.
    for (const run::session& s : grp)
        CHECK(s.memory_bytes() == s.kv().byte_size() + std::size_t(s.n_vocab()) * sizeof(float) + s.tokens().capacity() * 4);
    CHECK(solo[0].memory_bytes() > grp[0].memory_bytes());
    std::vector<run::session*> ptr;
    for (auto& s : grp) ptr.push_back(&s);
    for (int step = 0; step < 24; ++step) {
        std::vector<std::int32_t> next;
        for (std::size_t i = 0; i < solo.size(); ++i) {
            const std::int32_t a = argmax(solo[i].logits(), solo[i].n_vocab());
            next.push_back(argmax(grp[i].logits(), grp[i].n_vocab()));
            CHECK(a == next.back());
            REQUIRE(solo[i].decode(a).ok());
        }
        REQUIRE(run::decode_together(ptr.data(), next.data(), ptr.size(), ws).ok());
        for (std::size_t i = 0; i < solo.size(); ++i)
            CHECK(noggin_test::nmse(grp[i].logits(), solo[i].logits(), solo[i].n_vocab()) < 1e-10);
    }
    for (std::size_t i = 0; i < solo.size(); ++i) CHECK(grp[i].tokens() == solo[i].tokens());

    // A session's own cancel hook cancels the shared pass: no session changes.
    grp[2].set_should_continue([](void*) { return false; }, nullptr);
    std::vector<std::int64_t> before;
    for (auto& s : grp) before.push_back(s.n_past());
    std::vector<std::int32_t> next(grp.size(), 5);
    CHECK(run::decode_together(ptr.data(), next.data(), ptr.size(), ws).code() == status_code::cancelled);
    for (std::size_t i = 0; i < grp.size(); ++i) {
        CHECK(grp[i].n_past() == before[i]);
        CHECK(grp[i].tokens().size() == std::size_t(before[i]));
    }
}

// --- run::reasoner_group -------------------------------------------------------------------------------

namespace {

struct recorded {
    std::vector<run::event> events;
};
void record(void* user, const run::event& e) { static_cast<recorded*>(user)->events.push_back(e); }

bool same_events(const std::vector<run::event>& a, const std::vector<run::event>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].type != b[i].type || a[i].text != b[i].text || a[i].reason != b[i].reason) return false;
    return true;
}

// Four NPC configurations: plain, thinking budget with a closing phrase, stop string + answer budget,
// minimum thinking with "Wait".
run::reasoner_params npc_params(int i, recorded* rec) {
    run::reasoner_params p;
    p.sampling.temperature = 0.0f;
    p.on_event = &record;
    p.user = rec;
    if (i == 1) p.think_budget = 6, p.think_close = "\nOkay.\n";
    if (i == 2) p.stop = {"5"}, p.answer_budget = 20;
    if (i == 3) p.min_think = 40, p.answer_budget = 12;
    return p;
}

const char* npc_question(int i) {
    static const char* q[] = {"What is 4821+937?", "What is 120-45?", "Which is larger, 512 or 498?", "What is 77+5?"};
    return q[i % 4];
}

void check_same(run::reasoner& g, const recorded& rg, run::reasoner& a, const recorded& ra) {
    CHECK(same_events(rg.events, ra.events));
    CHECK(g.generated_tokens() == a.generated_tokens());
    CHECK(g.thinking_text() == a.thinking_text());
    CHECK(g.answer_text() == a.answer_text());
    CHECK(g.stats().reason == a.stats().reason);
    CHECK(g.stats().thinking_tokens == a.stats().thinking_tokens);
    CHECK(g.stats().forced_tokens == a.stats().forced_tokens);
    CHECK(g.stats().answer_tokens == a.stats().answer_tokens);
    CHECK(g.stats().waits == a.stats().waits);
    CHECK(g.stats().prefilled_tokens == a.stats().prefilled_tokens);
}

}  // namespace

TEST_CASE("reasoner_group: members give the same events, text, tokens and stats as each stepped alone (greedy)") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    constexpr int n = 4;
    run::reasoner_group g;
    run::reasoner_group_params gp;
    gp.max_rows = 64;
    gp.logits_rows = n;
    REQUIRE(run::reasoner_group::create(g, t.model, gp).ok());
    recorded rec_alone[n], rec_group[n];
    std::unique_ptr<run::reasoner> alone[n], member[n];
    run::session_params sp;
    sp.n_ctx = 512;
    sp.max_batch = 7;  // several prompt chunks per turn, mixed with other members' decode steps; 4·7 < 32 rows:
                       // every pass stays on the per-column path, so the group is bit-equal to stepping alone
    run::session_params shared = sp;
    shared.workspace = &g.scratch();
    for (int i = 0; i < n; ++i) {
        alone[i] = std::make_unique<run::reasoner>();
        member[i] = std::make_unique<run::reasoner>();
        REQUIRE(run::reasoner::create(*alone[i], std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, npc_params(i, &rec_alone[i])).ok());
        REQUIRE(run::reasoner::create(*member[i], std::move(run::session::create(t.model, shared)).value(), t.tok, t.chat, npc_params(i, &rec_group[i])).ok());
        REQUIRE(g.add(*member[i]).ok());
    }
    CHECK(g.add(*member[0]).code() == status_code::invalid_argument);
    for (int turn = 0; turn < 2; ++turn) {
        CAPTURE(turn);
        for (int i = 0; i < n; ++i) {
            rec_alone[i].events.clear();
            rec_group[i].events.clear();
            REQUIRE(alone[i]->ask(npc_question(i + turn)).ok());
            alone[i]->run();
        }
        // Members start at different times: 0 and 2 now, 1 after a few steps, 3 later still.
        REQUIRE(member[0]->ask(npc_question(0 + turn)).ok());
        REQUIRE(member[2]->ask(npc_question(2 + turn)).ok());
        int steps = 0;
        while (g.active() > 0 || steps < 12) {
            if (steps == 3) REQUIRE(member[1]->ask(npc_question(1 + turn)).ok());
            if (steps == 11) REQUIRE(member[3]->ask(npc_question(3 + turn)).ok());
            g.step(std::chrono::microseconds(300));
            ++steps;
            REQUIRE(steps < 20000);
        }
        for (int i = 0; i < n; ++i) {
            CAPTURE(i);
            check_same(*member[i], rec_group[i], *alone[i], rec_alone[i]);
            CHECK(rec_group[i].events.back().type == run::event_type::done);
        }
    }
    CHECK(g.stats().max_members == n);
    CHECK(g.stats().passes < g.stats().rows);  // several members per pass
    // Members sample in the group's one scratch: each holds only its session (KV + logits + tokens); a
    // reasoner stepped alone also holds its sampler's arrays (at least a logit per vocabulary entry;
    // greedy needs no more).
    const std::size_t n_vocab = static_cast<std::size_t>(t.model.hparams().n_vocab);
    for (int i = 0; i < n; ++i) {
        CHECK(member[i]->memory_bytes() == member[i]->get_session().memory_bytes());
        CHECK(alone[i]->memory_bytes() >= alone[i]->get_session().memory_bytes() + n_vocab * sizeof(float));
    }
    for (int i = 0; i < n; ++i) REQUIRE(g.remove(*member[i]).ok());
    // A removed member samples in buffers of its own again, with the same tokens.
    rec_group[0].events.clear();
    rec_alone[0].events.clear();
    REQUIRE(member[0]->ask(npc_question(2)).ok());
    member[0]->run();
    REQUIRE(alone[0]->ask(npc_question(2)).ok());
    alone[0]->run();
    check_same(*member[0], rec_group[0], *alone[0], rec_alone[0]);
    CHECK(member[0]->memory_bytes() > member[0]->get_session().memory_bytes());
}

TEST_CASE("reasoner_group: members and the group may be destroyed in either order") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    auto g = std::make_unique<run::reasoner_group>();
    REQUIRE(run::reasoner_group::create(*g, t.model).ok());
    run::session_params sp;
    sp.n_ctx = 256;
    recorded rec[2];
    std::unique_ptr<run::reasoner> member[2];
    for (int i = 0; i < 2; ++i) {
        member[i] = std::make_unique<run::reasoner>();
        REQUIRE(run::reasoner::create(*member[i], std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, npc_params(0, &rec[i])).ok());
        REQUIRE(g->add(*member[i]).ok());
    }
    run::reasoner_group other;
    REQUIRE(run::reasoner_group::create(other, t.model).ok());
    CHECK(other.add(*member[0]).code() == status_code::invalid_argument);  // one group at a time
    REQUIRE(member[0]->ask(npc_question(0)).ok());
    REQUIRE(member[1]->ask(npc_question(1)).ok());
    g->step(std::chrono::microseconds(2000));
    member[0].reset();  // a member destroyed first leaves the group
    CHECK(g->size() == 1);
    while (g->active() > 0) g->step(std::chrono::microseconds(2000));
    CHECK(rec[1].events.back().type == run::event_type::done);
    g.reset();  // the group destroyed first releases its member, which samples in buffers of its own again
    rec[1].events.clear();
    REQUIRE(member[1]->ask(npc_question(2)).ok());
    member[1]->run();
    CHECK(rec[1].events.back().type == run::event_type::done);
    CHECK(member[1]->memory_bytes() > member[1]->get_session().memory_bytes());
}

TEST_CASE("reasoner_group: a member with a JSON schema answers the same as alone; step_together works without a group") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    const char* schema = R"({"type":"object","properties":{"mood":{"enum":["happy","angry"]},"gold":{"type":"integer"}},"required":["mood","gold"]})";
    auto v = sample::grammar_vocab::from_tokenizer(t.tok);
    REQUIRE(v.ok());
    auto gm = sample::grammar_matcher::create(sample::grammar_from_json_schema(std::string_view(schema)).value(), v.value());
    REQUIRE(gm.ok());
    recorded ra[2], rg[2];
    run::reasoner alone[2], member[2];
    run::session_params sp;
    sp.max_batch = 8;  // passes below 32 rows: bit-equal to alone
    for (int i = 0; i < 2; ++i) {
        run::reasoner_params p = npc_params(i, &ra[i]);
        p.grammar = &gm.value();
        p.think_budget = 8;
        REQUIRE(run::reasoner::create(alone[i], std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, p).ok());
        p.user = &rg[i];
        REQUIRE(run::reasoner::create(member[i], std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, p).ok());
        REQUIRE(alone[i].ask(npc_question(i)).ok());
        alone[i].run();
        REQUIRE(member[i].ask(npc_question(i)).ok());
    }
    model::workspace ws = make_ws(t.model, 64, 2);
    run::reasoner* rs[2] = {&member[0], &member[1]};
    int guard = 0;
    while (run::step_together(rs, 2, std::chrono::microseconds(500), ws) > 0) REQUIRE(++guard < 20000);
    for (int i = 0; i < 2; ++i) {
        CAPTURE(i);
        check_same(member[i], rg[i], alone[i], ra[i]);
        CHECK(text::json_parse(member[i].answer_text()).ok());
    }
}

TEST_CASE("reasoner_group: a cancel landing inside a shared pass ends only that member; the others continue exactly") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    constexpr int n = 3;
    recorded ra[n], rg[n];
    run::reasoner alone[n], member[n];
    run::session_params sp;
    sp.max_batch = 8;  // passes below 32 rows: bit-equal to alone
    for (int i = 0; i < n; ++i) {
        REQUIRE(run::reasoner::create(alone[i], std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, npc_params(i, &ra[i])).ok());
        REQUIRE(run::reasoner::create(member[i], std::move(run::session::create(t.model, sp)).value(), t.tok, t.chat, npc_params(i, &rg[i])).ok());
        REQUIRE(alone[i].ask(npc_question(i)).ok());
        alone[i].run();
        REQUIRE(member[i].ask(npc_question(i)).ok());
    }
    // A thread-pool hook that runs everything inline and, at its 400th task, cancels member 0 (the longest
    // turn): the cancel arrives in the middle of a shared pass (deterministically).
    struct trap {
        int calls = 0;
        run::reasoner* victim;
    } tr{0, &member[0]};
    thread_pool pool;
    pool.concurrency = 2;
    pool.user = &tr;
    pool.parallel_for = [](void* user, std::size_t count, parallel_task task, void* ctx) {
        auto& tp = *static_cast<trap*>(user);
        if (++tp.calls == 400) tp.victim->cancel();
        task(ctx, 0, count, 0);
    };
    run::reasoner_group g;
    run::reasoner_group_params gp;
    gp.pool = pool;
    REQUIRE(run::reasoner_group::create(g, t.model, gp).ok());
    for (auto& r : member) REQUIRE(g.add(r).ok());
    int guard = 0;
    while (g.step(std::chrono::microseconds(1000)) > 0) REQUIRE(++guard < 20000);
    CHECK(tr.calls > 400);
    CHECK(member[0].stats().reason == run::stop_reason::cancelled);
    CHECK(rg[0].events.back().reason == run::stop_reason::cancelled);
    const auto cut = member[0].generated_tokens();
    const auto full = alone[0].generated_tokens();
    CHECK(cut.size() < full.size());
    CHECK(std::equal(cut.begin(), cut.end(), full.begin()));
    for (int i : {1, 2}) {
        CAPTURE(i);
        check_same(member[i], rg[i], alone[i], ra[i]);
    }
}
