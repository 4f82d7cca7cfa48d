// tests/run/session_test.cpp — run::session: prefix reuse, context full, save/restore and refusals.
#include <doctest/doctest.h>

#include <cstdio>
#include <vector>

#include "noggin/run/session.hpp"
#include "run/run_test_util.hpp"
#include "support/compare.hpp"

using namespace noggin;

namespace {

std::vector<std::int32_t> prompt_tokens(const noggin_test::tiny_reasoner& t, const char* text) {
    text::encode_options eo;
    eo.parse_special = true;
    return t.tok.encode(text, eo).value();
}

}  // namespace

TEST_CASE("session: prefix reuse copies the persona's KV without recomputation") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    run::session_params sp;
    sp.n_ctx = 256;
    sp.kv_type = dtype::f32;
    auto persona = run::session::create(t.model, sp);
    REQUIRE(persona.ok());
    auto pre = prompt_tokens(t, "<｜begin▁of▁sentence｜>You are a blacksmith.");
    REQUIRE(persona->prefill(pre.data(), std::int64_t(pre.size())).ok());
    auto rest = prompt_tokens(t, "<｜User｜>What is 4821+937?<｜Assistant｜><think>\n");

    auto a = run::session::create_from_prefix(*persona, persona->n_past(), sp);
    REQUIRE(a.ok());
    CHECK(a->n_past() == std::int64_t(pre.size()));
    REQUIRE(a->prefill(rest.data(), std::int64_t(rest.size())).ok());

    auto b = run::session::create(t.model, sp);
    REQUIRE(b.ok());
    std::vector<std::int32_t> all = pre;
    all.insert(all.end(), rest.begin(), rest.end());
    REQUIRE(b->prefill(all.data(), std::int64_t(all.size())).ok());
    CHECK(noggin_test::nmse(a->logits(), b->logits(), a->n_vocab()) < 1e-10);
    CHECK(a->tokens() == b->tokens());
}

TEST_CASE("session: a full context is an error and changes nothing") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    run::session_params sp;
    sp.n_ctx = 8;
    auto s = run::session::create(t.model, sp);
    REQUIRE(s.ok());
    std::vector<std::int32_t> toks(6, 100);
    REQUIRE(s->prefill(toks.data(), 6).ok());
    const status e = s->prefill(toks.data(), 3);
    CHECK(e.code() == status_code::limit_exceeded);
    CHECK(s->n_past() == 6);
    CHECK(s->tokens().size() == 6);
}

TEST_CASE("session: save/restore round trip; tampered and mismatched states are refused") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    run::session_params sp;
    sp.n_ctx = 128;
    sp.seed = 7;
    auto s = run::session::create(t.model, sp);
    REQUIRE(s.ok());
    auto p = prompt_tokens(t, "<｜begin▁of▁sentence｜><｜User｜>What is 4821+937?<｜Assistant｜><think>\n");
    REQUIRE(s->prefill(p.data(), std::int64_t(p.size())).ok());
    (void)s->random().next_u64();
    auto bytes = s->save("extra!");
    REQUIRE(bytes.ok());
    std::vector<float> logits(s->logits(), s->logits() + s->n_vocab());

    // Another session restores it and continues identically.
    auto r = run::session::create(t.model, sp);
    REQUIRE(r.ok());
    std::string extra;
    REQUIRE(r->restore(bytes->data(), bytes->size(), &extra).ok());
    CHECK(extra == "extra!");
    CHECK(r->tokens() == s->tokens());
    CHECK(r->random() == s->random());
    REQUIRE(r->recompute_logits().ok());
    CHECK(noggin_test::nmse(r->logits(), logits.data(), r->n_vocab()) < 1e-12);

    // Tampering anywhere is refused and leaves the target as it was.
    auto fresh = run::session::create(t.model, sp);
    REQUIRE(fresh.ok());
    std::vector<std::int32_t> one = {42};
    REQUIRE(fresh->prefill(one.data(), 1).ok());
    const sample::rng before = fresh->random();
    for (std::size_t at : {std::size_t(3), std::size_t(20), bytes->size() / 2, bytes->size() - 1}) {
        std::vector<std::uint8_t> bad = *bytes;
        bad[at] ^= 0x40;
        const status st = fresh->restore(bad.data(), bad.size());
        CHECK_FALSE(st.ok());
        CHECK(fresh->n_past() == 1);
        CHECK(fresh->tokens() == one);
        CHECK(fresh->random() == before);
    }
    std::vector<std::uint8_t> cut(bytes->begin(), bytes->begin() + std::ptrdiff_t(bytes->size() / 3));
    CHECK_FALSE(fresh->restore(cut.data(), cut.size()).ok());
    CHECK(fresh->n_past() == 1);

    // A different KV type (another layout) is refused with invalid_argument.
    run::session_params sp32 = sp;
    sp32.kv_type = dtype::f32;
    auto other = run::session::create(t.model, sp32);
    REQUIRE(other.ok());
    CHECK(other->restore(bytes->data(), bytes->size()).code() == status_code::invalid_argument);
    CHECK(other->n_past() == 0);

    // Files: round trip, and a missing file is io_error.
    const std::string path = "noggin_session_test.nogs";
    REQUIRE(s->save_file(path).ok());
    auto f = run::session::create(t.model, sp);
    REQUIRE(f.ok());
    REQUIRE(f->restore_file(path).ok());
    CHECK(f->tokens() == s->tokens());
    std::remove(path.c_str());
    CHECK(f->restore_file("no/such/file.nogs").code() == status_code::io_error);
}

TEST_CASE("session: a state saved with another model is refused") {
    const auto& t = noggin_test::bundled();
    REQUIRE(t.ok);
    const auto dir = noggin_test::shared_dir_for_run();
    if (dir.empty()) {
        MESSAGE("skipped: /work/shared absent");
        return;
    }
    auto other = model::model::open(dir + "/models/r1q-tiny-q8_0.gguf");
    REQUIRE(other.ok());
    CHECK(run::model_fingerprint(other.value()) != run::model_fingerprint(t.model));
    auto a = run::session::create(other.value(), {});
    REQUIRE(a.ok());
    std::int32_t tk = 5;
    REQUIRE(a->prefill(&tk, 1).ok());
    auto bytes = a->save();
    REQUIRE(bytes.ok());
    auto b = run::session::create(t.model, {});
    REQUIRE(b.ok());
    CHECK(b->restore(bytes->data(), bytes->size()).code() == status_code::invalid_argument);
    CHECK(b->n_past() == 0);
}
