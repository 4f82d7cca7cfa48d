// noggin/sample/gbnf.hpp — GBNF grammars (llama.cpp's syntax) parsed and checked into a `grammar`.
//
// A `grammar` is immutable once built: rules of alternatives of symbol sequences, where a symbol is a
// character class (code point ranges) or a reference to a rule. Repetitions and groups become helper
// rules. grammar.hpp turns it into per-token masks; json_schema.hpp builds one from a JSON schema.
//
//     noggin::result<noggin::sample::grammar> g = noggin::sample::grammar::parse_gbnf(R"(
//         root   ::= "say " word ("," ws word){0,3}
//         word   ::= [a-z]+        # comments run to the end of the line
//         ws     ::= [ \t]?
//     )");
//     if (!g.ok()) report(g.status().message());   // e.g. "gbnf:2:22: undefined rule 'wrd'"
//
// Syntax: `name ::= alternatives` (names [A-Za-z0-9_-]); `|` alternation; juxtaposition sequences;
// `( )` groups; postfix `*` `+` `?` `{m}` `{m,}` `{m,n}` `{,n}`; "literals" and [classes] with
// `^` negation, `a-z` ranges and escapes \n \r \t \\ \" \' \[ \] \- \^ \xHH \uHHHH \UHHHHHHHH; `.` any
// character; `#` comments. A rule may span lines; a new rule starts at `name ::=`. Matching is on
// Unicode code points (the matcher handles UTF-8 split across tokens).
// Refused with a status (never a hang or crash): syntax errors (named with line:column), undefined
// or duplicate rules, no `root`, empty classes, reversed ranges, left recursion (including `x*` over
// an expression that can be empty), a `root` that can never complete, and grammars beyond
// grammar_limits (text size, nesting, repetition counts, compiled size).
//
// Sections: limits · grammar (compiled form) · parser (detail) · checks (nullable, left recursion,
//           productivity) · grammar::parse_gbnf
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/status.hpp"

namespace noggin::sample {

// ---------------------------------------------------------------------------------------------
// Limits on grammar text and size; exceeding one is a limit_exceeded status.
struct grammar_limits {
    size_t max_text_bytes = size_t(1) << 20;  // GBNF source size (bytes). default 1 MiB
    size_t max_nesting = 64;                  // depth of ( ) groups. default 64
    uint32_t max_repetition = 10000;          // m and n in x{m,n}. default 10000
    size_t max_symbols = size_t(1) << 20;     // compiled symbols incl. expanded repetitions. default 1 Mi
    size_t max_rules = size_t(1) << 18;       // rules incl. helper rules. default 256 Ki
};

// ---------------------------------------------------------------------------------------------
// grammar — the compiled form.

struct char_range {
    uint32_t lo = 0, hi = 0;  // inclusive code point range
};

// A set of code points: sorted, disjoint, non-adjacent ranges (negation is resolved when parsing).
struct char_class {
    std::vector<char_range> ranges;
    uint64_t ascii[2] = {0, 0};  // bit c set: code point c < 128 is in the class
    bool all_high = false;       // every code point 0x80..0x10FFFF is in the class
    bool no_high = false;        // no code point >= 0x80 is in the class

    bool contains(uint32_t cp) const {
        if (cp < 128) return (ascii[cp >> 6] >> (cp & 63)) & 1u;
        if (all_high) return true;
        if (no_high) return false;
        size_t lo = 0, hi = ranges.size();
        while (lo < hi) {  // first range with .hi >= cp
            size_t mid = (lo + hi) / 2;
            if (ranges[mid].hi < cp) lo = mid + 1; else hi = mid;
        }
        return lo < ranges.size() && ranges[lo].lo <= cp;
    }
    // Whether any code point in [lo, hi] is in the class.
    bool intersects(uint32_t lo, uint32_t hi) const {
        size_t a = 0, b = ranges.size();
        while (a < b) {
            size_t mid = (a + b) / 2;
            if (ranges[mid].hi < lo) a = mid + 1; else b = mid;
        }
        return a < ranges.size() && ranges[a].lo <= hi;
    }
};

enum class symbol_kind : uint8_t {
    end = 0,    // end of an alternative
    chars = 1,  // one code point from classes[arg]
    rule = 2,   // rule arg
};

struct symbol {
    symbol_kind kind = symbol_kind::end;
    uint32_t arg = 0;  // class index (chars) or rule index (rule)
};

class grammar {
public:
    // Parse and check GBNF text; the start rule is `root`.
    static result<grammar> parse_gbnf(std::string_view text, const grammar_limits& limits = {});

    size_t rule_count() const { return names_.size(); }
    const std::string& rule_name(size_t r) const { return names_[r]; }
    uint32_t root() const { return root_; }
    size_t symbol_count() const { return syms_.size(); }

    // --- compiled form (read by the matcher)
    // Symbols of every alternative, each followed by an `end` symbol.
    const std::vector<symbol>& symbols() const { return syms_; }
    // Start positions (into symbols()) of rule r's alternatives: alt_starts()[alt_begin(r) .. alt_begin(r+1)).
    const std::vector<uint32_t>& alt_starts() const { return alt_starts_; }
    uint32_t alt_begin(size_t r) const { return alt_index_[r]; }
    uint32_t alt_end(size_t r) const { return alt_index_[r + 1]; }
    const std::vector<char_class>& classes() const { return classes_; }
    bool nullable(size_t r) const { return nullable_[r] != 0; }

private:
    friend struct grammar_builder;
    std::vector<symbol> syms_;
    std::vector<uint32_t> alt_starts_;
    std::vector<uint32_t> alt_index_;  // rule_count()+1 entries
    std::vector<char_class> classes_;
    std::vector<std::string> names_;
    std::vector<uint8_t> nullable_;
    uint32_t root_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Builder: rules as nested vectors while parsing, then flattened and checked.
struct grammar_builder {
    using seq = std::vector<symbol>;
    struct rule_def {
        std::string name;
        std::vector<seq> alts;
        bool defined = false;
        size_t ref_line = 0, ref_col = 0;  // first reference, for "undefined rule" messages
    };

    explicit grammar_builder(const grammar_limits& l) : limits(l) {}

    grammar_limits limits;
    std::vector<rule_def> rules;
    std::vector<char_class> classes;
    size_t symbol_total = 0;
    std::unordered_map<std::string, uint32_t> by_name;

    // The rule named `name` (created on first reference). Helper rules are not in by_name.
    result<uint32_t> rule_id(std::string_view name, size_t line, size_t col) {
        auto it = by_name.find(std::string(name));
        if (it != by_name.end()) return it->second;
        result<uint32_t> id = new_rule(std::string(name), line, col);
        if (id.ok()) by_name.emplace(std::string(name), *id);
        return id;
    }
    result<uint32_t> new_rule(std::string name, size_t line, size_t col) {
        if (rules.size() >= limits.max_rules)
            return status(status_code::limit_exceeded, str("gbnf: more than ", limits.max_rules, " rules"));
        rule_def d;
        d.name = std::move(name);
        d.ref_line = line;
        d.ref_col = col;
        rules.push_back(std::move(d));
        return uint32_t(rules.size() - 1);
    }
    status count_symbols(size_t n) {
        if (n > limits.max_symbols || symbol_total > limits.max_symbols - n)
            return status(status_code::limit_exceeded, str("gbnf: grammar exceeds ", limits.max_symbols, " symbols"));
        symbol_total += n;
        return status();
    }
    // A helper rule with the given alternatives; returns a symbol referring to it.
    result<symbol> helper(const std::string& base, std::vector<seq> alts) {
        size_t n = 0;
        for (const seq& s : alts) n += s.size() + 1;
        NOGGIN_TRY(count_symbols(n));
        result<uint32_t> id = new_rule(str(base, "~", rules.size()), 0, 0);
        if (!id.ok()) return id.status();
        rules[*id].alts = std::move(alts);
        rules[*id].defined = true;
        return symbol{symbol_kind::rule, *id};
    }
    uint32_t add_class(std::vector<char_range> ranges, bool negate) {
        std::sort(ranges.begin(), ranges.end(), [](const char_range& a, const char_range& b) { return a.lo < b.lo; });
        std::vector<char_range> merged;
        for (const char_range& r : ranges) {
            if (!merged.empty() && r.lo <= merged.back().hi + 1) merged.back().hi = std::max(merged.back().hi, r.hi);
            else merged.push_back(r);
        }
        if (negate) {
            std::vector<char_range> inv;
            uint32_t next = 0;
            for (const char_range& r : merged) {
                if (r.lo > next) inv.push_back({next, r.lo - 1});
                next = r.hi + 1;
            }
            if (next <= 0x10FFFF) inv.push_back({next, 0x10FFFF});
            merged.swap(inv);
        }
        char_class c;
        c.ranges = std::move(merged);
        for (const char_range& r : c.ranges)
            for (uint32_t cp = r.lo; cp <= r.hi && cp < 128; ++cp) c.ascii[cp >> 6] |= uint64_t(1) << (cp & 63);
        for (const char_range& r : c.ranges) c.all_high = c.all_high || (r.lo <= 0x80 && r.hi == 0x10FFFF);
        c.no_high = !c.intersects(0x80, 0x10FFFF);
        classes.push_back(std::move(c));
        return uint32_t(classes.size() - 1);
    }

    status finish(grammar& g);
};

// ---------------------------------------------------------------------------------------------
// Parser
namespace detail {

class gbnf_parser {
public:
    gbnf_parser(std::string_view text, grammar_builder& b) : t_(text), b_(b) {}

    status parse() {
        for (;;) {
            skip_space();
            if (at_end()) break;
            const size_t line = line_, col = col_;
            std::string_view name = read_name();
            if (name.empty()) return fail("expected a rule name");
            skip_space();
            if (!eat("::=")) return fail("expected '::=' after rule name");
            result<uint32_t> id = b_.rule_id(name, line, col);
            if (!id.ok()) return id.status();
            if (b_.rules[*id].defined) return fail_at(line, col, str("rule '", name, "' is defined twice"));
            b_.rules[*id].defined = true;
            std::vector<grammar_builder::seq> alts;
            NOGGIN_TRY(parse_alternates(alts, std::string(name), 0));
            b_.rules[*id].alts = std::move(alts);
            skip_space();
            if (cur() == ')') return fail("unbalanced ')'");
            if (!at_end() && !looks_like_rule_start()) return fail("unexpected character");
        }
        return status();
    }

private:
    using seq = grammar_builder::seq;

    bool at_end() const { return p_ >= t_.size(); }
    char cur() const { return p_ < t_.size() ? t_[p_] : '\0'; }
    void advance() {
        if (p_ >= t_.size()) return;
        if (t_[p_] == '\n') {
            ++line_;
            col_ = 1;
        } else {
            ++col_;
        }
        ++p_;
    }
    bool eat(std::string_view s) {
        if (t_.substr(p_, s.size()) != s) return false;
        for (size_t i = 0; i < s.size(); ++i) advance();
        return true;
    }
    static bool name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }
    void skip_space() {
        while (!at_end()) {
            char c = cur();
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') advance();
            else if (c == '#') while (!at_end() && cur() != '\n') advance();
            else break;
        }
    }
    std::string_view read_name() {
        size_t s = p_;
        while (!at_end() && name_char(cur())) advance();
        return t_.substr(s, p_ - s);
    }
    // At `name ::=`: the current rule's body ended.
    bool looks_like_rule_start() const {
        size_t q = p_;
        if (q >= t_.size() || !name_char(t_[q])) return false;
        while (q < t_.size() && name_char(t_[q])) ++q;
        while (q < t_.size() && (t_[q] == ' ' || t_[q] == '\t' || t_[q] == '\n' || t_[q] == '\r')) ++q;
        return t_.substr(q, 3) == "::=";
    }
    status fail(std::string_view what) const { return fail_at(line_, col_, what); }
    static status fail_at(size_t line, size_t col, std::string_view what) {
        return status(status_code::format_error, str("gbnf:", line, ":", col, ": ", what));
    }

    status parse_alternates(std::vector<seq>& alts, const std::string& rule, size_t depth) {
        if (depth > b_.limits.max_nesting)
            return status(status_code::limit_exceeded, str("gbnf:", line_, ":", col_, ": groups nested deeper than ", b_.limits.max_nesting));
        for (;;) {
            seq s;
            NOGGIN_TRY(parse_sequence(s, rule, depth));
            NOGGIN_TRY(b_.count_symbols(s.size() + 1));
            alts.push_back(std::move(s));
            skip_space();
            if (cur() != '|') break;
            advance();
        }
        return status();
    }

    status parse_sequence(seq& out, const std::string& rule, size_t depth) {
        for (;;) {
            skip_space();
            if (at_end() || cur() == '|' || cur() == ')' || looks_like_rule_start()) return status();
            seq item;  // the element's symbols (what a postfix operator repeats)
            const char c = cur();
            if (c == '"') {
                advance();
                for (;;) {
                    if (at_end()) return fail("unterminated string literal");
                    if (cur() == '"') {
                        advance();
                        break;
                    }
                    uint32_t cp = 0;
                    NOGGIN_TRY(read_char(cp));
                    item.push_back(symbol{symbol_kind::chars, b_.add_class({{cp, cp}}, false)});
                }
            } else if (c == '[') {
                advance();
                bool negate = false;
                if (cur() == '^') {
                    negate = true;
                    advance();
                }
                std::vector<char_range> ranges;
                for (;;) {
                    if (at_end()) return fail("unterminated character class");
                    if (cur() == ']') {
                        advance();
                        break;
                    }
                    uint32_t lo = 0, hi = 0;
                    NOGGIN_TRY(read_char(lo));
                    hi = lo;
                    if (cur() == '-' && p_ + 1 < t_.size() && t_[p_ + 1] != ']') {
                        advance();
                        NOGGIN_TRY(read_char(hi));
                        if (hi < lo) return fail("character range is reversed");
                    }
                    ranges.push_back({lo, hi});
                }
                if (ranges.empty()) return fail("empty character class");
                item.push_back(symbol{symbol_kind::chars, b_.add_class(std::move(ranges), negate)});
            } else if (c == '.') {
                advance();
                item.push_back(symbol{symbol_kind::chars, b_.add_class({{0, 0x10FFFF}}, false)});
            } else if (c == '(') {
                const size_t line = line_, col = col_;
                advance();
                std::vector<seq> alts;
                NOGGIN_TRY(parse_alternates(alts, rule, depth + 1));
                skip_space();
                if (cur() != ')') return fail_at(line, col, "unbalanced '(': missing ')'");
                advance();
                if (alts.size() == 1) {
                    item = std::move(alts[0]);  // a plain group is just its sequence
                } else {
                    result<symbol> h = b_.helper(rule, std::move(alts));
                    if (!h.ok()) return h.status();
                    item.push_back(*h);
                }
            } else if (name_char(c)) {
                const size_t line = line_, col = col_;
                std::string_view name = read_name();
                result<uint32_t> id = b_.rule_id(name, line, col);
                if (!id.ok()) return id.status();
                item.push_back(symbol{symbol_kind::rule, *id});
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                return fail(str("'", c, "' has nothing to repeat"));
            } else if (c == ')') {
                return fail("unbalanced ')'");
            } else {
                return fail(str("unexpected character '", c, "'"));
            }
            // Postfix operators (may chain: x+? is (x+)?).
            for (;;) {
                const char op = cur();
                if (op != '*' && op != '+' && op != '?' && op != '{') break;
                uint32_t lo = 0, hi = 0;
                bool unbounded = false;
                if (op == '{') {
                    NOGGIN_TRY(read_braces(lo, hi, unbounded));
                } else {
                    advance();
                    if (op == '*') unbounded = true;
                    if (op == '+') { lo = 1; unbounded = true; }
                    if (op == '?') { lo = 0; hi = 1; }
                }
                NOGGIN_TRY(repeat(item, rule, lo, hi, unbounded));
            }
            NOGGIN_TRY(b_.count_symbols(item.size()));
            out.insert(out.end(), item.begin(), item.end());
        }
    }

    status read_braces(uint32_t& lo, uint32_t& hi, bool& unbounded) {
        advance();  // {
        skip_space();
        bool have_lo = read_uint(lo);
        if (!have_lo) lo = 0;
        skip_space();
        if (cur() == '}') {
            if (!have_lo) return fail("empty repetition count {}");
            advance();
            hi = lo;
            return status();
        }
        if (cur() != ',') return fail("expected ',' or '}' in repetition count");
        advance();
        skip_space();
        if (cur() == '}') {
            advance();
            unbounded = true;
            return status();
        }
        if (!read_uint(hi)) return fail("expected a number in repetition count");
        skip_space();
        if (cur() != '}') return fail("expected '}' after repetition count");
        advance();
        if (hi < lo) return fail(str("repetition {", lo, ",", hi, "}: minimum above maximum"));
        return status();
    }
    bool read_uint(uint32_t& v) {
        if (!(cur() >= '0' && cur() <= '9')) return false;
        uint64_t x = 0;
        while (cur() >= '0' && cur() <= '9') {
            x = x * 10 + uint64_t(cur() - '0');
            if (x > uint64_t(0xFFFFFFFF)) x = uint64_t(0xFFFFFFFF);  // saturate; rejected by the limit
            advance();
        }
        v = uint32_t(x);
        return true;
    }

    // item → item{lo,hi} (or {lo,} when unbounded), as helper rules.
    status repeat(seq& item, const std::string& rule, uint32_t lo, uint32_t hi, bool unbounded) {
        const uint32_t cap = b_.limits.max_repetition;
        if (lo > cap || (!unbounded && hi > cap))
            return status(status_code::limit_exceeded,
                          str("gbnf:", line_, ":", col_, ": repetition count above the limit ", cap));
        // One symbol standing for the operand.
        symbol x;
        if (item.size() == 1) {
            x = item[0];
        } else {
            result<symbol> h = b_.helper(rule, {item});
            if (!h.ok()) return h.status();
            x = *h;
        }
        seq out;
        NOGGIN_TRY(b_.count_symbols(size_t(lo) + 1));
        out.assign(lo, x);
        if (unbounded) {
            // S ::= x S | ε   (right recursion in tail position: the parse stack does not grow)
            result<uint32_t> s = b_.new_rule(str(rule, "~", b_.rules.size()), 0, 0);
            if (!s.ok()) return s.status();
            NOGGIN_TRY(b_.count_symbols(4));
            b_.rules[*s].alts = {seq{x, symbol{symbol_kind::rule, *s}}, seq{}};
            b_.rules[*s].defined = true;
            out.push_back(symbol{symbol_kind::rule, *s});
        } else if (hi > lo) {
            // O_1 ::= x | ε ;  O_k ::= x O_{k-1} | ε
            symbol prev{};
            for (uint32_t k = 1; k <= hi - lo; ++k) {
                seq first = k == 1 ? seq{x} : seq{x, prev};
                result<symbol> h = b_.helper(rule, {std::move(first), seq{}});
                if (!h.ok()) return h.status();
                prev = *h;
            }
            out.push_back(prev);
        }
        item.swap(out);
        return status();
    }

    // One character of a literal or class: an escape or a UTF-8 encoded code point.
    status read_char(uint32_t& cp) {
        const unsigned char c = static_cast<unsigned char>(cur());
        if (c == '\\') {
            advance();
            if (at_end()) return fail("unterminated escape");
            const char e = cur();
            advance();
            switch (e) {
                case 'n': cp = '\n'; return status();
                case 'r': cp = '\r'; return status();
                case 't': cp = '\t'; return status();
                case '0': cp = 0; return status();
                case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/':
                    cp = uint32_t(static_cast<unsigned char>(e));
                    return status();
                case 'x': return read_hex(2, cp);
                case 'u': return read_hex(4, cp);
                case 'U': return read_hex(8, cp);
                default: return fail(str("unknown escape '\\", e, "'"));
            }
        }
        if (c == '\n' || c == '\r') return fail("line break inside a literal or class");
        // UTF-8
        size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        if (n == 0 || p_ + n > t_.size()) return fail("invalid UTF-8 in grammar text");
        uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (size_t i = 1; i < n; ++i) {
            const unsigned char d = static_cast<unsigned char>(t_[p_ + i]);
            if ((d & 0xC0) != 0x80) return fail("invalid UTF-8 in grammar text");
            v = (v << 6) | (d & 0x3Fu);
        }
        const uint32_t min = n == 1 ? 0 : n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
        if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return fail("invalid UTF-8 in grammar text");
        for (size_t i = 0; i < n; ++i) advance();
        cp = v;
        return status();
    }
    status read_hex(int digits, uint32_t& cp) {
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            const char h = cur();
            int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
            if (d < 0) return fail(str("escape needs ", digits, " hex digits"));
            v = (v << 4) | uint32_t(d);
            advance();
        }
        if (v > 0x10FFFF) return fail("escaped code point above U+10FFFF");
        cp = v;
        return status();
    }

    std::string_view t_;
    grammar_builder& b_;
    size_t p_ = 0, line_ = 1, col_ = 1;
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Checks and flattening.
inline status grammar_builder::finish(grammar& g) {
    const size_t nr = rules.size();
    for (const rule_def& r : rules)
        if (!r.defined) return status(status_code::format_error, str("gbnf:", r.ref_line, ":", r.ref_col, ": undefined rule '", r.name, "'"));
    uint32_t root = uint32_t(nr);
    if (by_name.count("root")) root = by_name["root"];
    if (root == nr) return status(status_code::format_error, "gbnf: no 'root' rule");

    // Flatten.
    g.syms_.clear();
    g.alt_starts_.clear();
    g.alt_index_.assign(nr + 1, 0);
    std::vector<uint32_t> alt_rule;  // rule of each alternative
    for (size_t r = 0; r < nr; ++r) {
        g.alt_index_[r] = uint32_t(g.alt_starts_.size());
        for (const seq& s : rules[r].alts) {
            g.alt_starts_.push_back(uint32_t(g.syms_.size()));
            alt_rule.push_back(uint32_t(r));
            g.syms_.insert(g.syms_.end(), s.begin(), s.end());
            g.syms_.push_back(symbol{});
        }
    }
    g.alt_index_[nr] = uint32_t(g.alt_starts_.size());
    const size_t na = g.alt_starts_.size();

    // Nullable and productive rules: worklists over "symbols of an alternative not yet satisfied".
    auto fixpoint = [&](bool chars_satisfy, std::vector<uint8_t>& done) {
        done.assign(nr, 0);
        std::vector<uint32_t> remaining(na, 0);
        std::vector<std::vector<uint32_t>> occurs(nr);  // alternatives where rule r occurs (with repeats)
        std::vector<uint32_t> queue;
        for (size_t a = 0; a < na; ++a) {
            for (uint32_t p = g.alt_starts_[a]; g.syms_[p].kind != symbol_kind::end; ++p) {
                if (g.syms_[p].kind == symbol_kind::rule) {
                    ++remaining[a];
                    occurs[g.syms_[p].arg].push_back(uint32_t(a));
                } else if (!chars_satisfy) {
                    remaining[a] = 0xFFFFFFFFu;  // a character is never empty
                    break;
                }
            }
            if (remaining[a] == 0 && !done[alt_rule[a]]) {
                done[alt_rule[a]] = 1;
                queue.push_back(alt_rule[a]);
            }
        }
        for (size_t q = 0; q < queue.size(); ++q)
            for (uint32_t a : occurs[queue[q]])
                if (remaining[a] != 0xFFFFFFFFu && remaining[a] > 0 && --remaining[a] == 0 && !done[alt_rule[a]]) {
                    done[alt_rule[a]] = 1;
                    queue.push_back(alt_rule[a]);
                }
    };
    fixpoint(false, g.nullable_);
    std::vector<uint8_t> productive;
    fixpoint(true, productive);
    if (!productive[root]) return status(status_code::format_error, "gbnf: rule 'root' can never complete (every alternative recurses forever)");

    // Left recursion: r → s when s can start r (after only nullable symbols); any cycle is refused.
    std::vector<std::vector<uint32_t>> starts(nr);
    for (size_t a = 0; a < na; ++a)
        for (uint32_t p = g.alt_starts_[a]; g.syms_[p].kind == symbol_kind::rule; ++p) {
            starts[alt_rule[a]].push_back(g.syms_[p].arg);
            if (!g.nullable_[g.syms_[p].arg]) break;
        }
    std::vector<uint8_t> color(nr, 0);  // 0 new, 1 on the DFS path, 2 done
    std::vector<std::pair<uint32_t, size_t>> dfs;
    for (size_t r0 = 0; r0 < nr; ++r0) {
        if (color[r0]) continue;
        dfs.push_back({uint32_t(r0), 0});
        color[r0] = 1;
        while (!dfs.empty()) {
            auto& [r, i] = dfs.back();
            if (i < starts[r].size()) {
                const uint32_t s = starts[r][i++];
                if (color[s] == 1) {
                    // Report a user-visible rule name (helper names carry their rule's name first).
                    return status(status_code::format_error,
                                  str("gbnf: left recursion through rule '", rules[s].name,
                                      "' (a rule that can reach itself without consuming a character, e.g. a "
                                      "repetition of something that can be empty)"));
                }
                if (color[s] == 0) {
                    color[s] = 1;
                    dfs.push_back({s, 0});
                }
            } else {
                color[r] = 2;
                dfs.pop_back();
            }
        }
    }

    g.classes_ = std::move(classes);
    g.names_.clear();
    for (rule_def& r : rules) g.names_.push_back(std::move(r.name));
    g.root_ = root;
    return status();
}

inline result<grammar> grammar::parse_gbnf(std::string_view text, const grammar_limits& limits) {
    if (text.size() > limits.max_text_bytes)
        return status(status_code::limit_exceeded, str("gbnf: grammar text of ", text.size(), " bytes exceeds ", limits.max_text_bytes));
    grammar_builder b(limits);
    detail::gbnf_parser p(text, b);
    NOGGIN_TRY(p.parse());
    if (b.rules.empty()) return status(status_code::format_error, "gbnf: empty grammar (no rules)");
    grammar g;
    NOGGIN_TRY(b.finish(g));
    return g;
}

}  // namespace noggin::sample
