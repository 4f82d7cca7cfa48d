// tests/run/stop_string_test.cpp — run::reasoner stop strings on the bundled tiny reasoner (greedy, so
// every turn can be compared with the same turn run without stop strings).
//
// Which text they apply to: stop strings end the ANSWER only (after </think>). Thoughts are never
// matched: a stop string that occurs in the thinking leaves the turn exactly as without it. The matched
// text is not emitted — neither in answer events nor in answer_text() — nor is anything after it.
// Matches may span token boundaries; a partial match held back while it might still complete is
// released unchanged when it does not.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "noggin/run/reasoner.hpp"
#include "run/run_test_util.hpp"

using namespace noggin;

namespace {

struct collected {
    std::string thinking, answer;
    int dones = 0;
    run::stop_reason reason = run::stop_reason::none;
    static void on_event(void* user, const run::event& e) {
        collected& c = *static_cast<collected*>(user);
        if (e.type == run::event_type::thinking) c.thinking += e.text;
        else if (e.type == run::event_type::answer) c.answer += e.text;
        else ++c.dones, c.reason = e.reason;
    }
};

struct greedy_turn {
    run::reasoner r;
    collected ev;
    explicit greedy_turn(const std::vector<std::string>& stop, const char* question = "What is 4821+937?") {
        const auto& t = noggin_test::bundled();
        run::session_params sp;
        sp.n_ctx = 512;
        sp.seed = 7;
        auto s = run::session::create(t.model, sp);
        REQUIRE(s.ok());
        run::reasoner_params p;
        p.sampling.temperature = 0.0f;
        p.answer_budget = 40;
        p.stop = stop;
        p.on_event = &collected::on_event;
        p.user = &ev;
        REQUIRE(run::reasoner::create(r, std::move(s.value()), t.tok, t.chat, p).ok());
        REQUIRE(r.ask(question).ok());
        r.run();
        CHECK(ev.dones == 1);
        CHECK(ev.thinking == r.thinking_text());
        CHECK(ev.answer == r.answer_text());
    }
};

// The answer's text token by token (the bytes of each generated token after </think>), with the
// leading blank characters the reasoner skips removed; `bounds` are the offsets in the answer text
// where one token ends and the next begins.
void answer_tokens(const run::reasoner& r, std::string& text, std::vector<std::size_t>& bounds) {
    const auto& t = noggin_test::bundled();
    const std::int32_t think_end = t.tok.find("</think>");
    const std::vector<std::int32_t> g = r.generated_tokens();
    std::size_t at = 0;
    while (at < g.size() && g[at] != think_end) ++at;
    std::string raw;
    std::vector<std::size_t> raw_bounds;
    for (std::size_t i = at + 1; i < g.size(); ++i) {
        if (t.tok.is_special(g[i])) continue;
        t.tok.append_token_bytes(g[i], raw);
        raw_bounds.push_back(raw.size());
    }
    const std::size_t lead = std::min(raw.size(), raw.find_first_not_of(" \n"));
    text = raw.substr(lead);
    bounds.clear();
    for (std::size_t b : raw_bounds)
        if (b > lead && b - lead < text.size()) bounds.push_back(b - lead);
}

}  // namespace

TEST_CASE("stop strings: a match spanning token boundaries ends the answer; the stop text is not emitted") {
    REQUIRE(noggin_test::bundled().ok);
    greedy_turn ref({});
    REQUIRE(ref.r.stats().reason == run::stop_reason::eos);
    std::string text;
    std::vector<std::size_t> bounds;
    answer_tokens(ref.r, text, bounds);
    REQUIRE(text == ref.r.answer_text());  // the reference answer is exactly its tokens' bytes
    REQUIRE(bounds.size() >= 2);

    // Stop strings of 2..4 characters whose first occurrence in the reference answer crosses a token
    // boundary (a characters before it, b after it), tried at every boundary.
    int tried = 0;
    for (std::size_t bd : bounds) {
        for (std::size_t a = 1; a <= 2; ++a)
            for (std::size_t b = 1; b <= 2; ++b) {
                if (bd < a || bd + b > text.size()) continue;
                const std::string stop = text.substr(bd - a, a + b);
                if (text.find(stop) != bd - a) continue;  // an earlier occurrence would be matched first
                ++tried;
                CAPTURE(stop);
                CAPTURE(text);
                greedy_turn f({"never-matches", stop});
                CHECK(f.r.stats().reason == run::stop_reason::stop_string);
                CHECK(f.r.answer_text() == text.substr(0, bd - a));     // everything before the match, nothing after
                CHECK(f.ev.answer.find(stop) == std::string::npos);      // the stop text never reached an event
                CHECK(f.r.thinking_text() == ref.r.thinking_text());
                REQUIRE(!f.r.messages().empty());
                CHECK(f.r.messages().back().content == f.r.thinking_text() + "</think>" + f.r.answer_text());
            }
    }
    CHECK(tried >= 2);
}

TEST_CASE("stop strings: text in the thinking does not stop the turn (answer only)") {
    REQUIRE(noggin_test::bundled().ok);
    greedy_turn ref({});
    const std::string& thought = ref.r.thinking_text();
    const std::string& answer = ref.r.answer_text();
    REQUIRE(thought.size() > 8);
    // A piece of the thoughts that the answer does not contain.
    std::string stop;
    for (std::size_t at = 0; at + 4 <= thought.size() && stop.empty(); ++at) {
        const std::string s = thought.substr(at, 4);
        if (answer.find(s) == std::string::npos) stop = s;
    }
    REQUIRE(!stop.empty());
    CAPTURE(stop);
    greedy_turn f({stop});
    CHECK(f.r.stats().reason == ref.r.stats().reason);
    CHECK(f.r.thinking_text() == thought);  // emitted in full, the stop string included
    CHECK(f.r.thinking_text().find(stop) != std::string::npos);
    CHECK(f.r.answer_text() == answer);
    CHECK(f.r.generated_tokens() == ref.r.generated_tokens());

    // A string in both the thoughts and the answer: the thoughts go on past it, the answer stops at it.
    std::string both;
    for (std::size_t n = 2; n <= 3 && both.empty(); ++n)
        for (std::size_t at = 0; at + n <= answer.size() && both.empty(); ++at)
            if (thought.find(answer.substr(at, n)) != std::string::npos) both = answer.substr(at, n);
    if (!both.empty()) {
        CAPTURE(both);
        greedy_turn g({both});
        CHECK(g.r.thinking_text() == thought);
        CHECK(g.r.stats().reason == run::stop_reason::stop_string);
        CHECK(g.r.answer_text() == answer.substr(0, answer.find(both)));
    }
}

TEST_CASE("stop strings: a partial match that never completes is released unchanged") {
    REQUIRE(noggin_test::bundled().ok);
    greedy_turn ref({});
    const std::string& answer = ref.r.answer_text();
    REQUIRE(answer.size() >= 2);
    // Every proper prefix of these occurs in the answer (so the filter holds text back), the whole never.
    const std::string tail_start = answer.substr(answer.size() - 1) + "\x01";
    const std::string mid = answer.substr(0, 2) + "\x01\x02";
    greedy_turn f({tail_start, mid});
    CHECK(f.r.stats().reason == ref.r.stats().reason);
    CHECK(f.r.answer_text() == answer);
    CHECK(f.ev.answer == answer);
    CHECK(f.r.generated_tokens() == ref.r.generated_tokens());
}
