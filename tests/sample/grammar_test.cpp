// tests/sample/grammar_test.cpp — GBNF parsing (valid grammars, each error case by name), matching
// byte by byte and token by token with a toy vocabulary whose tokens span grammar elements and split
// UTF-8 characters, masks against per-token acceptance, EOS only when complete, hostile grammars,
// state save/load and a cleared cache.
#include <doctest/doctest.h>

#include <noggin/sample/grammar.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace noggin::sample;
using noggin::status_code;

namespace {

const char* const json_gbnf = R"(
# JSON, in the style of llama.cpp's grammars/json.gbnf (written here from the spec)
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
)";

noggin::result<grammar> parse(const std::string& g) { return grammar::parse_gbnf(g); }

bool accepts(const grammar& g, const std::string& text, bool whole = true) {
    auto v = grammar_vocab::from_token_bytes({"x"}, {});
    auto m = grammar_matcher::create(g, *v);
    REQUIRE(m.ok());
    grammar_state s = m->start();
    if (!s.accept_bytes(text).ok()) return false;
    return !whole || s.is_complete();
}

bool accepts_bytewise(const grammar& g, const std::string& text) {
    auto v = grammar_vocab::from_token_bytes({"x"}, {});
    auto m = grammar_matcher::create(g, *v);
    grammar_state s = m->start();
    for (char c : text)
        if (!s.accept_bytes(std::string(1, c)).ok()) return false;
    return s.is_complete();
}

status_code error_of(const std::string& g, std::string* msg = nullptr, const grammar_limits& lim = {}) {
    auto r = grammar::parse_gbnf(g, lim);
    if (msg && !r.ok()) *msg = r.status().message();
    return r.ok() ? status_code::ok : r.status().code();
}

}  // namespace

TEST_CASE("gbnf: valid grammars parse and match") {
    auto j = parse(json_gbnf);
    REQUIRE_MESSAGE(j.ok(), j.status().message());
    CHECK(accepts(*j, R"({"a": [1, 2.5, -3e4, "x\ny\u00e9"], "b": {"c": null, "d": true}})"));
    CHECK(accepts_bytewise(*j, R"({"k":"héllo 世界 🙂"})"));
    CHECK_FALSE(accepts(*j, R"({"a": 01})"));
    CHECK_FALSE(accepts(*j, R"({"a" 1})"));
    CHECK_FALSE(accepts(*j, R"({"a": 1)"));  // prefix only: not complete
    CHECK(accepts(*j, R"({"a": 1)", false));

    auto a = parse("root ::= expr\nexpr ::= term ((\"+\" | \"-\") term)*\nterm ::= [0-9]+ | \"(\" expr \")\"\n");
    REQUIRE(a.ok());
    CHECK(accepts(*a, "1+(2-33)+((4))"));
    CHECK_FALSE(accepts(*a, "1+(2"));
    CHECK_FALSE(accepts(*a, "1++2"));

    // Repetition forms, classes, escapes, '.', comments, names with - and _.
    auto r = parse(R"(root ::= a-b{2} c_d{1,} e{,2} f{0,3} "\x41\u00e9\U0001F600\t\\\"" [^a-c\]] . # trailing comment
a-b ::= "ab"
c_d ::= [x-z]
e ::= "e"
f ::= "f")");
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(accepts(*r, "ababxyzeefffAé😀\t\\\"dQ"));
    CHECK(accepts(*r, "ababxAé😀\t\\\"d€"));
    CHECK_FALSE(accepts(*r, "abxAé😀\t\\\"dd"));        // a-b{2}
    CHECK_FALSE(accepts(*r, "ababAé😀\t\\\"dd"));       // c_d{1,}
    CHECK_FALSE(accepts(*r, "ababxeeeAé😀\t\\\"dd"));   // e{,2}
    CHECK_FALSE(accepts(*r, "ababxffffAé😀\t\\\"dd"));  // f{0,3}
    CHECK_FALSE(accepts(*r, "ababxAé😀\t\\\"bd"));      // [^a-c\]]
    CHECK_FALSE(accepts(*r, "ababxAé😀\t\\\"]"));       // . needs one more character

    auto opt = parse("root ::= \"a\"? \"b\"* \"c\"+ (\"d\" | \"e\")?\n");
    REQUIRE(opt.ok());
    for (const char* ok : {"c", "ac", "abbbcc", "bce", "acd"}) CHECK_MESSAGE(accepts(*opt, ok), ok);
    for (const char* bad : {"", "a", "ab", "cde", "ca"}) CHECK_MESSAGE(!accepts(*opt, bad), bad);

    auto empty_alt = parse("root ::= \"x\" | \n");
    REQUIRE(empty_alt.ok());
    CHECK(accepts(*empty_alt, ""));
    CHECK(accepts(*empty_alt, "x"));
}

TEST_CASE("gbnf: each error case is a status naming the problem") {
    struct bad_case {
        const char* name;
        std::string text;
        status_code code;
        const char* says;
    };
    const std::vector<bad_case> cases = {
        {"empty grammar", "  # nothing\n", status_code::format_error, "empty grammar"},
        {"no root", "a ::= \"x\"", status_code::format_error, "no 'root'"},
        {"undefined rule", "root ::= a b\na ::= \"x\"", status_code::format_error, "undefined rule 'b'"},
        {"duplicate rule", "root ::= \"a\"\nroot ::= \"b\"", status_code::format_error, "defined twice"},
        {"missing ::=", "root = \"a\"", status_code::format_error, "expected '::='"},
        {"no rule name", "::= \"a\"", status_code::format_error, "expected a rule name"},
        {"unterminated string", "root ::= \"abc", status_code::format_error, "unterminated string"},
        {"line break in string", "root ::= \"ab\nc\"", status_code::format_error, "line break"},
        {"unterminated class", "root ::= [a-z", status_code::format_error, "unterminated character class"},
        {"empty class", "root ::= []", status_code::format_error, "empty character class"},
        {"reversed range", "root ::= [z-a]", status_code::format_error, "reversed"},
        {"unknown escape", "root ::= \"\\q\"", status_code::format_error, "unknown escape"},
        {"short hex escape", "root ::= \"\\x4\"", status_code::format_error, "hex digits"},
        {"code point too large", "root ::= \"\\U00110000\"", status_code::format_error, "above U+10FFFF"},
        {"missing )", "root ::= (\"a\" | \"b\"", status_code::format_error, "missing ')'"},
        {"stray )", "root ::= \"a\")", status_code::format_error, "unbalanced ')'"},
        {"nothing to repeat", "root ::= *\"a\"", status_code::format_error, "nothing to repeat"},
        {"min above max", "root ::= \"a\"{3,2}", status_code::format_error, "minimum above maximum"},
        {"empty braces", "root ::= \"a\"{}", status_code::format_error, "empty repetition"},
        {"bad braces", "root ::= \"a\"{2;3}", status_code::format_error, "expected ',' or '}'"},
        {"huge repetition", "root ::= \"a\"{1000000}", status_code::limit_exceeded, "repetition count above"},
        {"huge repetition max", "root ::= \"a\"{0,99999999999}", status_code::limit_exceeded, "repetition count above"},
        {"direct left recursion", "root ::= root \"a\" | \"b\"", status_code::format_error, "left recursion"},
        {"indirect left recursion", "root ::= a | \"z\"\na ::= b \"x\"\nb ::= \"c\"? root", status_code::format_error, "left recursion"},
        {"star over empty", "root ::= (\"a\"?)* \"b\"", status_code::format_error, "left recursion"},
        {"root never completes", "root ::= \"a\" root", status_code::format_error, "never complete"},
        {"unexpected character", "root ::= \"a\" ; \"b\"", status_code::format_error, "unexpected character"},
        {"invalid UTF-8", std::string("root ::= \"\xC3(\""), status_code::format_error, "invalid UTF-8"},
        {"token reference unsupported", "root ::= <[1000]>", status_code::format_error, "unexpected character"},
    };
    for (const bad_case& c : cases) {
        std::string msg;
        CHECK_MESSAGE(error_of(c.text, &msg) == c.code, std::string(c.name), ": ", msg);
        CHECK_MESSAGE(msg.find(c.says) != std::string::npos, std::string(c.name), ": ", msg);
    }
    // Position in the message: line 3, column of the reference.
    std::string msg;
    error_of("root ::= a\na ::= \"x\"\n  | \"y\" zz\n", &msg);
    CHECK(msg == "gbnf:3:9: undefined rule 'zz'");
    // Limits
    grammar_limits small;
    small.max_text_bytes = 10;
    CHECK(error_of("root ::= \"abcdefgh\"", &msg, small) == status_code::limit_exceeded);
    small = {};
    small.max_symbols = 100;
    CHECK(error_of("root ::= (\"ab\"{100}){100}", &msg, small) == status_code::limit_exceeded);
    std::string deep = "root ::= ";
    for (int i = 0; i < 200; ++i) deep += "(";
    deep += "\"a\"";
    for (int i = 0; i < 200; ++i) deep += ")";
    CHECK(error_of(deep, &msg) == status_code::limit_exceeded);
    CHECK(msg.find("nested deeper") != std::string::npos);
}

TEST_CASE("gbnf: hostile grammars end in a status, never a hang") {
    // Long chain of rules (no recursion in our parser or matcher): fine.
    std::string chain = "root ::= r0\n";
    for (int i = 0; i < 20000; ++i) chain += "r" + std::to_string(i) + " ::= r" + std::to_string(i + 1) + "\n";
    chain += "r20000 ::= \"z\"\n";
    auto g = grammar::parse_gbnf(chain);
    REQUIRE(g.ok());
    auto v = grammar_vocab::from_token_bytes({"z"}, {});
    matcher_limits lim;
    lim.max_expand_steps = 1 << 20;
    auto m = grammar_matcher::create(*g, *v, lim);
    REQUIRE(m.ok());
    grammar_state s = m->start();
    CHECK(s.accept_token(0).ok());
    CHECK(s.is_complete());
    // Same chain under a small expansion budget: a clear limit status.
    matcher_limits tight;
    tight.max_expand_steps = 1000;
    auto m2 = grammar_matcher::create(*g, *v, tight);
    CHECK(m2.status().code() == status_code::limit_exceeded);

    // Thousands of nullable alternatives alive at once → stack-count bound at creation.
    auto many = grammar::parse_gbnf("root ::= (\"a\"?){2000} \"b\"");
    REQUIRE(many.ok());
    auto mm = grammar_matcher::create(*many, *v);
    CHECK(mm.status().code() == status_code::limit_exceeded);

    // Unbounded nesting: depth bound reported by accept, mask stays usable.
    auto nest = grammar::parse_gbnf("root ::= \"(\" root \")\" | \"x\"");
    REQUIRE(nest.ok());
    auto pv = grammar_vocab::from_token_bytes({"(", ")", "x"}, {});
    auto nm = grammar_matcher::create(*nest, *pv);
    REQUIRE(nm.ok());
    grammar_state ns = nm->start();
    noggin::status st;
    int depth = 0;
    while (st.ok() && depth < 5000) {
        st = ns.accept_token(0);
        ++depth;
    }
    CHECK(st.code() == status_code::limit_exceeded);
    CHECK(depth < 1000);
    std::vector<token_id> allowed;
    REQUIRE(ns.allowed_tokens(allowed).ok());
    CHECK(allowed == std::vector<token_id>{2});  // at the bound only "x" can follow

    // Ambiguous grammar (exponentially many parses) stays within the stack bound thanks to merging.
    auto amb = grammar::parse_gbnf("root ::= (\"a\" | \"a\" | \"aa\")* \"b\"");
    REQUIRE(amb.ok());
    CHECK(accepts(*amb, std::string(200, 'a') + "b"));
}

TEST_CASE("grammar: tokens spanning elements and split UTF-8, token by token") {
    // Grammar: a greeting, a name of letters/é/世, and a closing mark.
    auto g = grammar::parse_gbnf(R"(root ::= "hi " name ("!" | "?") "\n"?
name ::= ([a-z] | "é" | "世"){1,8})");
    REQUIRE_MESSAGE(g.ok(), g.status().message());
    // é = C3 A9, 世 = E4 B8 96
    const std::vector<std::string> toks = {
        "h", "i", " ", "hi", "hi ", "i b", "bo", "b", "!", "?", "!\n", "\n",  // 0..11
        "\xC3", "\xA9", "\xC3\xA9", "\xA9!", "\xE4", "\xB8", "\x96", "\xE4\xB8", "\x96?", "o\xC3",  // 12..21
        "<eos>", "Z", "\xA9\xA9", "\xC3\xA9\xC3",  // 22..25
    };
    auto v = grammar_vocab::from_token_bytes(toks, {22});
    REQUIRE(v.ok());
    auto m = grammar_matcher::create(*g, *v);
    REQUIRE(m.ok());

    auto allowed_of = [](const grammar_state& s) {
        std::vector<token_id> a;
        REQUIRE(s.allowed_tokens(a).ok());
        return a;
    };
    auto has = [&](const grammar_state& st, token_id t) {
        auto a = allowed_of(st);
        return std::find(a.begin(), a.end(), t) != a.end();
    };
    grammar_state s = m->start();
    CHECK(allowed_of(s) == std::vector<token_id>{0, 3, 4});
    REQUIRE(s.accept_token(0).ok());  // "h"
    CHECK(allowed_of(s) == std::vector<token_id>{1, 5});
    CHECK(s.accept_token(3).code() == status_code::invalid_argument);  // "hi" after "h": refused, state unchanged
    REQUIRE(s.accept_token(5).ok());  // "i b": ends the literal, starts the name
    CHECK(has(s, 6));
    CHECK(has(s, 8));
    CHECK(has(s, 12));   // C3: start of é
    CHECK(has(s, 14));   // é whole
    CHECK(has(s, 19));   // E4 B8: two thirds of 世
    CHECK(has(s, 25));   // é + start of another é
    CHECK_FALSE(has(s, 13));  // a lone continuation byte
    CHECK_FALSE(has(s, 22));  // EOS: not complete
    CHECK_FALSE(has(s, 23));  // 'Z' is not in the name class
    REQUIRE(s.accept_token(21).ok());  // "o" + C3
    CHECK(s.pending_bytes() == 1);
    CHECK_FALSE(s.is_complete());
    CHECK(allowed_of(s) == std::vector<token_id>{13, 15});  // A9, A9 "!" — not B8 (ø) nor 96 (Ö) nor A9 A9
    REQUIRE(s.accept_token(15).ok());  // completes é, then "!"
    CHECK(s.is_complete());
    CHECK(allowed_of(s) == std::vector<token_id>{11, 22});
    grammar_state before_end = s;
    REQUIRE(s.accept_token(22).ok());
    CHECK(s.is_finished());
    CHECK(allowed_of(s) == std::vector<token_id>{22});
    CHECK_FALSE(s.accept_token(11).ok());
    CHECK(before_end.accept_token(11).ok());  // the copy is independent

    // 世 split three ways, then "!\n"
    grammar_state t = m->start();
    for (token_id id : {4, 16, 17, 18, 10}) REQUIRE_MESSAGE(t.accept_token(id).ok(), id);
    CHECK(t.is_complete());
    CHECK_FALSE(t.token_allowed(11));
    CHECK(t.token_allowed(22));
    // 世 as E4 B8 + 96 "?"
    grammar_state u = m->start();
    for (token_id id : {4, 19, 20}) REQUIRE(u.accept_token(id).ok());
    CHECK(u.is_complete());
    // name{1,8}
    grammar_state w = m->start();
    REQUIRE(w.accept_token(4).ok());
    for (int i = 0; i < 8; ++i) REQUIRE(w.accept_token(7).ok());
    CHECK_FALSE(w.token_allowed(7));
    CHECK(w.token_allowed(8));
    // apply_mask: exactly the disallowed logits become -inf, ids beyond the vocab too
    std::vector<float> logits(toks.size() + 5, 1.0f);
    REQUIRE(w.apply_mask(logits.data(), logits.size()).ok());
    for (size_t i = 0; i < logits.size(); ++i)
        CHECK((logits[i] == 1.0f) == (i < toks.size() && w.token_allowed(token_id(i))));
}

namespace {
// Every token's mask bit equals accepting its bytes one at a time on a copy of the state.
void check_mask_consistency(const grammar_state& s, const grammar_vocab& v) {
    std::vector<token_id> allowed;
    REQUIRE(s.allowed_tokens(allowed).ok());
    std::vector<uint8_t> bit(v.size(), 0);
    for (token_id t : allowed) bit[size_t(t)] = 1;
    for (size_t i = 0; i < v.size(); ++i) {
        bool ok;
        if (v.is_end(token_id(i))) {
            ok = s.is_complete() && !s.is_finished();
        } else {
            std::string_view b = v.bytes(token_id(i));
            grammar_state c = s;
            ok = !b.empty() && !s.is_finished();
            for (size_t k = 0; ok && k < b.size(); ++k) ok = c.accept_bytes(b.substr(k, 1)).ok();
        }
        CHECK_MESSAGE(ok == (bit[i] != 0), "token ", i);
    }
}
}  // namespace

TEST_CASE("grammar: masks agree with byte-by-byte acceptance along random walks; save/load; cache clearing") {
    auto g = grammar::parse_gbnf(json_gbnf);
    REQUIRE(g.ok());
    std::vector<std::string> toks;
    for (int c = 32; c < 127; ++c) toks.push_back(std::string(1, char(c)));
    for (const char* t : {"{\"", "\":", "\": ", "\",", "\"}", "}}", "]}", "[{", "true", "false", "null", "12", "3.", "e+", "\\u00", "\\n",
                          "\xC3", "\xA9", "\xC3\xA9", "\xE4\xB8", "\x96", "\xF0\x9F", "\x98\x80", "\n", "\n  ", "ab\"", "\xFF", "\"\xC3"})
        toks.push_back(t);
    toks.push_back("");  // an empty token is never allowed
    const token_id eos = token_id(toks.size());
    toks.push_back("");
    auto v = grammar_vocab::from_token_bytes(toks, {eos});
    REQUIRE(v.ok());
    for (size_t cache : {size_t(1) << 14, size_t(0)}) {  // 0: the cache is cleared before every call
        matcher_limits lim;
        lim.max_cached_states = cache;
        auto m = grammar_matcher::create(*g, *v, lim);
        REQUIRE(m.ok());
        rng r(cache + 5);
        for (int walk = 0; walk < 12; ++walk) {
            grammar_state s = m->start();
            for (int step = 0; step < 40; ++step) {
                check_mask_consistency(s, *v);
                std::vector<token_id> a;
                REQUIRE(s.allowed_tokens(a).ok());
                if (a.empty()) break;
                const token_id t = a[r.below(uint32_t(a.size()))];
                // save/load round trip before every step
                auto re = m->load_state(s.save());
                REQUIRE(re.ok());
                std::vector<token_id> a2;
                REQUIRE(re->allowed_tokens(a2).ok());
                CHECK(a == a2);
                REQUIRE(s.accept_token(t).ok());
                if (s.is_finished()) break;
            }
        }
    }
    auto m = grammar_matcher::create(*g, *v);
    CHECK(m->load_state("NGS1garbage").status().code() == status_code::format_error);
    std::string saved = m->start().save();
    saved[saved.size() - 2] = '\x7F';  // a position far out of range
    CHECK(m->load_state(saved).status().code() == status_code::format_error);
    grammar_state none;
    float l[3] = {0, 0, 0};
    CHECK(none.apply_mask(l, 3).code() == status_code::invalid_argument);
}
