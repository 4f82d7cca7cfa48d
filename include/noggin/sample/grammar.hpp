// noggin/sample/grammar.hpp — grammar-constrained decoding: which tokens may come next.
//
// Three objects:
//   grammar_vocab    per tokenizer, built once, immutable, shareable between threads: every token's
//                    bytes plus precomputed summaries (first-byte buckets, ASCII-set bitmaps, UTF-8
//                    validity) so a mask step skips whole buckets and accepts most tokens in O(1).
//   grammar_matcher  a grammar (gbnf.hpp / json_schema.hpp) bound to a vocab, with a lazily built
//                    cache of parser-state transitions (a DFA over sets of parse stacks). Not
//                    thread-safe: one matcher per thread (they may share the grammar and vocab).
//   grammar_state    where the output is in the grammar: a small value (parse stacks + pending
//                    UTF-8 bytes), cheap to copy, saveable as bytes. Start one whenever the
//                    constraint should begin — for R1, right after the model emitted `</think>`.
//
//     auto g = noggin::sample::grammar::parse_gbnf(gbnf_text);                  // or grammar_from_json_schema
//     auto v = noggin::sample::grammar_vocab::from_tokenizer(tok);              // once per tokenizer
//     auto m = noggin::sample::grammar_matcher::create(std::move(*g), *v);
//     noggin::sample::grammar_state st = m->start();
//     for (;;) {
//         model_logits(logits);
//         if (!st.apply_mask(logits, n_vocab).ok()) break;    // disallowed → -inf; EOS only when complete
//         int32_t t = *sampler.sample(logits, n_vocab, rng);
//         if (!st.accept_token(t).ok() || st.is_finished()) break;
//     }
//
// Tokens may span several grammar elements and may end inside a UTF-8 character: the state keeps the
// pending bytes and the next token must complete them. End-of-sequence ids (from the vocab) are
// allowed exactly when the grammar is complete. Control tokens and empty tokens are never allowed.
// Parse state is bounded (matcher_limits): a step that would exceed a bound is refused with
// limit_exceeded in accept_*, and the token is masked out in apply_mask.
//
// Sections: matcher_limits · grammar_vocab · detail::matcher_impl (DFA cache, UTF-8 walk, mask) ·
//           grammar_state · grammar_matcher
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "../text/tokenizer.hpp"
#include "gbnf.hpp"
#include "json_schema.hpp"
#include "sampler.hpp"

namespace noggin::sample {

// ---------------------------------------------------------------------------------------------
// Bounds on the matcher's parse state and cache.
struct matcher_limits {
    size_t max_stacks = 512;            // alternative parse stacks alive at once. default 512
    size_t max_stack_depth = 512;       // positions on one stack (nesting of rules). default 512
    size_t max_expand_steps = 1 << 16;  // work per character step (stack expansions). default 64 Ki
    size_t max_cached_states = 1 << 14; // DFA states kept between calls before the cache is cleared. default 16 Ki
    size_t max_states_per_call = 1 << 18;  // DFA states one call may create (limit_exceeded beyond). default 256 Ki
};

// ---------------------------------------------------------------------------------------------
// grammar_vocab — the token side, precomputed once per tokenizer.
class grammar_vocab {
public:
    // From a tokenizer: text tokens are normal/user-defined/byte tokens with non-empty bytes; control
    // and unknown tokens are never allowed. `end_ids` are the end-of-sequence ids (allowed only when
    // the grammar is complete); empty → the tokenizer's eos_id().
    static result<grammar_vocab> from_tokenizer(const text::tokenizer& tok, std::vector<token_id> end_ids = {}) {
        std::vector<std::string> bytes(tok.vocab_size());
        for (size_t i = 0; i < bytes.size(); ++i) {
            const text::token_type t = tok.type_of(token_id(i));
            if (t == text::token_type::normal || t == text::token_type::user_defined || t == text::token_type::byte)
                bytes[i] = tok.token_bytes(token_id(i));
        }
        if (end_ids.empty() && tok.eos_id() >= 0) end_ids.push_back(tok.eos_id());
        return from_token_bytes(bytes, end_ids);
    }

    // From raw token bytes (id = index); empty strings are never allowed; ids in `end_ids` are
    // end-of-sequence tokens (their bytes are ignored). Errors: invalid_argument for an end id out of
    // range or a vocabulary above 2^24 tokens.
    static result<grammar_vocab> from_token_bytes(const std::vector<std::string>& tokens, const std::vector<token_id>& end_ids) {
        if (tokens.size() > (size_t(1) << 24))
            return status(status_code::invalid_argument, str("grammar_vocab: ", tokens.size(), " tokens is too many"));
        grammar_vocab v;
        v.n_ = tokens.size();
        v.is_end_.assign(v.n_, 0);
        for (token_id e : end_ids) {
            if (e < 0 || size_t(e) >= v.n_) return status(status_code::invalid_argument, str("grammar_vocab: end id ", e, " out of range"));
            v.is_end_[size_t(e)] = 1;
            v.end_ids_.push_back(e);
        }
        size_t total = 0;
        for (const std::string& t : tokens) total += t.size();
        if (total > (size_t(1) << 31)) return status(status_code::invalid_argument, "grammar_vocab: token bytes exceed 2 GiB");
        v.blob_.reserve(total);
        v.info_.resize(v.n_);
        size_t bucket_count[257] = {};
        for (size_t i = 0; i < v.n_; ++i) {
            token_info& ti = v.info_[i];
            ti.offset = uint32_t(v.blob_.size());
            if (v.is_end_[i] || tokens[i].empty()) continue;  // len 0: never a text token
            const std::string& t = tokens[i];
            v.blob_.append(t);
            ti.len = uint32_t(t.size());
            ti.flags = summarise(t, ti.ascii);
            ++bucket_count[static_cast<unsigned char>(t[0])];
        }
        v.bucket_begin_[0] = 0;
        for (size_t b = 0; b < 256; ++b) v.bucket_begin_[b + 1] = v.bucket_begin_[b] + uint32_t(bucket_count[b]);
        v.order_.resize(v.bucket_begin_[256]);
        uint32_t fill[256];
        for (size_t b = 0; b < 256; ++b) fill[b] = v.bucket_begin_[b];
        for (size_t i = 0; i < v.n_; ++i)
            if (v.info_[i].len > 0) v.order_[fill[static_cast<unsigned char>(v.blob_[v.info_[i].offset])]++] = token_id(i);
        return v;
    }

    size_t size() const { return n_; }
    bool is_end(token_id id) const { return id >= 0 && size_t(id) < n_ && is_end_[size_t(id)]; }
    const std::vector<token_id>& end_ids() const { return end_ids_; }
    // Bytes of a text token (empty for end/control/empty tokens and out-of-range ids).
    std::string_view bytes(token_id id) const {
        if (id < 0 || size_t(id) >= n_) return {};
        return std::string_view(blob_.data() + info_[size_t(id)].offset, info_[size_t(id)].len);
    }
    size_t memory_bytes() const {
        return blob_.capacity() + info_.capacity() * sizeof(token_info) + order_.capacity() * sizeof(token_id) + is_end_.capacity();
    }

private:
    friend class grammar_state;
    enum : uint8_t {
        flag_self_valid = 1,  // valid UTF-8 on its own (complete characters, possibly an unfinished last one)
        flag_high = 2,        // contains a byte >= 0x80
    };
    struct token_info {
        uint32_t offset = 0, len = 0;  // bytes in blob_
        uint64_t ascii[2] = {0, 0};    // ASCII bytes present
        uint8_t flags = 0;
    };

    static uint8_t summarise(const std::string& t, uint64_t ascii[2]) {
        uint8_t flags = flag_self_valid;
        size_t need = 0;
        uint32_t cp = 0, min = 0;
        for (size_t i = 0; i < t.size(); ++i) {
            const unsigned char c = static_cast<unsigned char>(t[i]);
            if (c < 0x80) {
                ascii[c >> 6] |= uint64_t(1) << (c & 63);
                if (need) flags = uint8_t(flags & ~flag_self_valid);
                need = 0;
                continue;
            }
            flags |= flag_high;
            if (need) {
                if ((c & 0xC0) != 0x80) { flags = uint8_t(flags & ~flag_self_valid); need = 0; continue; }
                cp = (cp << 6) | (c & 0x3Fu);
                if (--need == 0 && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) flags = uint8_t(flags & ~flag_self_valid);
                continue;
            }
            if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1Fu; min = 0x80; }
            else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0Fu; min = 0x800; }
            else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07u; min = 0x10000; }
            else flags = uint8_t(flags & ~flag_self_valid);
        }
        return flags;
    }

    size_t n_ = 0;
    std::string blob_;                 // all text tokens' bytes
    std::vector<token_info> info_;     // per id
    std::vector<token_id> order_;      // text token ids grouped by first byte
    uint32_t bucket_begin_[257] = {};  // order_[bucket_begin_[b] .. bucket_begin_[b+1]) start with byte b
    std::vector<uint8_t> is_end_;
    std::vector<token_id> end_ids_;
};

class grammar_state;
class grammar_matcher;

// ---------------------------------------------------------------------------------------------
// Matcher internals.
namespace detail {

// A UTF-8 character in progress: the code point bits so far and how many continuation bytes remain.
struct utf8_pending {
    uint32_t cp = 0;
    uint8_t need = 0;   // continuation bytes still expected (0: none pending)
    uint8_t len = 0;    // bytes seen of this character
    uint32_t min = 0;   // smallest code point this length may encode (overlong check)
};

struct matcher_impl {
    static constexpr int32_t dead = -1;      // no stack survives
    static constexpr int32_t too_big = -3;   // a bound in matcher_limits was hit
    static constexpr int32_t unknown = -2;   // transition not computed yet

    struct dstate {
        std::vector<uint32_t> stacks;      // canonical stack set: [len, p0 .. p_len-1]* (bottom first), sorted
        bool complete = false;             // an empty stack is present: the grammar may end here
        std::unique_ptr<int32_t[]> ascii;  // 128 transitions (unknown until computed), allocated on first use
        int8_t high = -1;                  // -1 unknown; 1: every code point >= 0x80 goes to high_next; 0: varies
        int32_t high_next = unknown;
        bool full = false;                 // all 128 ASCII transitions computed, loop bits valid
        uint64_t loop[2] = {0, 0};         // ASCII c with step(c) == self
        bool loop_high = false;            // every code point >= 0x80 steps to self
        std::vector<uint32_t> tops;        // distinct class ids on top of the stacks
    };

    matcher_impl(grammar gr, std::shared_ptr<const grammar_vocab> v, const matcher_limits& l)
        : g(std::move(gr)), vocab(std::move(v)), lim(l) {}

    grammar g;
    std::shared_ptr<const grammar_vocab> vocab;
    matcher_limits lim;

    std::vector<dstate> states;
    std::unordered_map<std::string, int32_t> index;    // stack-set bytes → state id
    std::unordered_map<uint64_t, int32_t> high_trans;  // (state << 21 | cp) → state, for non-uniform states
    uint64_t epoch = 1;                                // bumped whenever the cache is cleared
    size_t call_start_states = 0;
    std::string limit_message;                         // why the last too_big happened

    // scratch
    std::vector<std::vector<uint32_t>> work, out;
    std::vector<uint32_t> tmp;
    std::string key;
    std::vector<uint8_t> allowed;

    // --- cache management
    void begin_call() {
        if (states.size() > lim.max_cached_states) {
            states.clear();
            index.clear();
            high_trans.clear();
            ++epoch;
        }
        call_start_states = states.size();
    }

    // Intern a canonical stack set (sorted, unique); -3 when the call created too many states.
    int32_t intern(std::vector<std::vector<uint32_t>>& set) {
        std::sort(set.begin(), set.end());
        set.erase(std::unique(set.begin(), set.end()), set.end());
        tmp.clear();
        for (const auto& s : set) {
            tmp.push_back(uint32_t(s.size()));
            tmp.insert(tmp.end(), s.begin(), s.end());
        }
        key.assign(reinterpret_cast<const char*>(tmp.data()), tmp.size() * sizeof(uint32_t));
        auto it = index.find(key);
        if (it != index.end()) return it->second;
        if (states.size() - call_start_states >= lim.max_states_per_call) {
            limit_message = str("grammar: more than ", lim.max_states_per_call, " parser states in one step");
            return too_big;
        }
        dstate d;
        d.stacks = tmp;
        for (const auto& s : set) {
            if (s.empty()) d.complete = true;
            else d.tops.push_back(g.symbols()[s.back()].arg);
        }
        std::sort(d.tops.begin(), d.tops.end());
        d.tops.erase(std::unique(d.tops.begin(), d.tops.end()), d.tops.end());
        const int32_t id = int32_t(states.size());
        states.push_back(std::move(d));
        index.emplace(key, id);
        return id;
    }

    // Expand `s` (pushed onto work) until every stack has a character class on top (or is empty);
    // results appended to out. False (with limit_message) when a bound is hit.
    bool expand(std::vector<uint32_t> s) {
        const std::vector<symbol>& sy = g.symbols();
        work.clear();
        work.push_back(std::move(s));
        size_t steps = 0;
        while (!work.empty()) {
            std::vector<uint32_t> cur = std::move(work.back());
            work.pop_back();
            if (++steps > lim.max_expand_steps) {
                limit_message = str("grammar: more than ", lim.max_expand_steps, " expansion steps for one character");
                return false;
            }
            if (cur.size() > lim.max_stack_depth) {
                limit_message = str("grammar: parse stack deeper than ", lim.max_stack_depth);
                return false;
            }
            if (cur.empty() || sy[cur.back()].kind == symbol_kind::chars) {
                out.push_back(std::move(cur));
                if (out.size() > 4 * lim.max_stacks) {
                    limit_message = str("grammar: more than ", lim.max_stacks, " parse stacks");
                    return false;
                }
                continue;
            }
            const uint32_t p = cur.back();
            const uint32_t r = sy[p].arg;
            cur.pop_back();
            if (sy[p + 1].kind != symbol_kind::end) cur.push_back(p + 1);
            for (uint32_t a = g.alt_begin(r); a < g.alt_end(r); ++a) {
                const uint32_t start = g.alt_starts()[a];
                std::vector<uint32_t> next = cur;
                if (sy[start].kind != symbol_kind::end) next.push_back(start);
                work.push_back(std::move(next));
            }
        }
        return true;
    }

    int32_t start_state() {
        out.clear();
        const uint32_t r = g.root();
        for (uint32_t a = g.alt_begin(r); a < g.alt_end(r); ++a) {
            std::vector<uint32_t> s;
            const uint32_t start = g.alt_starts()[a];
            if (g.symbols()[start].kind != symbol_kind::end) s.push_back(start);
            if (!expand(std::move(s))) return too_big;
        }
        return finish_set();
    }

    int32_t finish_set() {
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        if (out.size() > lim.max_stacks) {
            limit_message = str("grammar: more than ", lim.max_stacks, " parse stacks");
            return too_big;
        }
        if (out.empty()) return dead;
        return intern(out);
    }

    // Compute the successor of state `id` on code point `cp` (no cache lookup).
    int32_t compute(int32_t id, uint32_t cp) {
        const std::vector<symbol>& sy = g.symbols();
        out.clear();
        const std::vector<uint32_t> st = states[size_t(id)].stacks;  // copy: states may reallocate
        for (size_t i = 0; i < st.size();) {
            const uint32_t len = st[i];
            const uint32_t* s = st.data() + i + 1;
            i += 1 + len;
            if (len == 0) continue;
            const uint32_t top = s[len - 1];
            if (!g.classes()[sy[top].arg].contains(cp)) continue;
            std::vector<uint32_t> next(s, s + len - 1);
            if (sy[top + 1].kind != symbol_kind::end) next.push_back(top + 1);
            if (!expand(std::move(next))) return too_big;
        }
        return finish_set();
    }

    int32_t step_ascii(int32_t id, uint32_t c) {
        dstate& d = states[size_t(id)];
        if (!d.ascii) {
            d.ascii.reset(new int32_t[128]);
            for (int k = 0; k < 128; ++k) d.ascii[k] = unknown;
        }
        int32_t t = d.ascii[c];
        if (t != unknown) return t;
        t = compute(id, c);
        states[size_t(id)].ascii[c] = t;
        return t;
    }

    bool high_uniform(int32_t id) {
        dstate& d = states[size_t(id)];
        if (d.high < 0) {
            bool uni = true;
            for (uint32_t c : d.tops) {
                const char_class& k = g.classes()[c];
                uni = uni && (k.all_high || k.no_high);
            }
            d.high = uni ? 1 : 0;
        }
        return d.high == 1;
    }

    int32_t step(int32_t id, uint32_t cp) {
        if (cp < 128) return step_ascii(id, cp);
        if (high_uniform(id)) {
            int32_t t = states[size_t(id)].high_next;
            if (t != unknown) return t;
            t = compute(id, 0x80);
            states[size_t(id)].high_next = t;
            return t;
        }
        const uint64_t k = (uint64_t(uint32_t(id)) << 21) | cp;
        auto it = high_trans.find(k);
        if (it != high_trans.end()) return it->second;
        const int32_t t = compute(id, cp);
        high_trans.emplace(k, t);
        return t;
    }

    // Fill all ASCII transitions and the self-loop summary of `id`.
    bool make_full(int32_t id) {
        if (states[size_t(id)].full) return true;
        uint64_t loop[2] = {0, 0};
        for (uint32_t c = 0; c < 128; ++c) {
            const int32_t t = step_ascii(id, c);
            if (t == id) loop[c >> 6] |= uint64_t(1) << (c & 63);
        }
        bool lh = false;
        if (high_uniform(id)) lh = step(id, 0x80) == id;
        dstate& d = states[size_t(id)];
        d.loop[0] = loop[0];
        d.loop[1] = loop[1];
        d.loop_high = lh;
        d.full = true;
        return true;
    }

    // Whether some character in [lo, hi] can be consumed in state `id`.
    bool feasible(int32_t id, uint32_t lo, uint32_t hi) const {
        for (uint32_t c : states[size_t(id)].tops)
            if (g.classes()[c].intersects(lo, hi)) return true;
        return false;
    }
    bool feasible_pending(int32_t id, const utf8_pending& u) const {
        const uint32_t shift = 6u * u.need;
        uint32_t lo = u.cp << shift, hi = lo | ((uint32_t(1) << shift) - 1);
        lo = std::max(lo, u.min);
        hi = std::min<uint32_t>(hi, 0x10FFFF);
        return lo <= hi && feasible(id, lo, hi);
    }

    // Walk `bytes` from state `id` with pending UTF-8 `u`; returns the final state (dead/too_big on
    // failure) and updates `u`.
    int32_t walk(int32_t id, utf8_pending& u, const unsigned char* p, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            const unsigned char c = p[i];
            if (u.need == 0) {
                if (c < 0x80) {
                    id = step_ascii(id, c);
                    if (id < 0) return id;
                    continue;
                }
                if (c >= 0xC2 && c <= 0xDF) u = {c & 0x1Fu, 1, 1, 0x80};
                else if (c >= 0xE0 && c <= 0xEF) u = {c & 0x0Fu, 2, 1, 0x800};
                else if (c >= 0xF0 && c <= 0xF4) u = {c & 0x07u, 3, 1, 0x10000};
                else return dead;
                if (!feasible_pending(id, u)) return dead;
                continue;
            }
            if ((c & 0xC0) != 0x80) return dead;
            u.cp = (u.cp << 6) | (c & 0x3Fu);
            ++u.len;
            if (--u.need > 0) {
                if (!feasible_pending(id, u)) return dead;
                continue;
            }
            const uint32_t cp = u.cp;
            if (cp < u.min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return dead;
            u = utf8_pending{};
            id = step(id, cp);
            if (id < 0) return id;
        }
        return id;
    }
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// grammar_state
class grammar_state {
public:
    grammar_state() = default;  // not started: valid() is false; every call fails with invalid_argument

    bool valid() const { return m_ != nullptr; }
    // The grammar accepts the output so far as complete (end-of-sequence would be allowed).
    bool is_complete() const {
        if (!m_ || finished_) return finished_;
        if (pending_.need) return false;
        for (size_t i = 0; i < stacks_.size(); i += 1 + stacks_[i])
            if (stacks_[i] == 0) return true;
        return false;
    }
    // An end-of-sequence token was accepted; only end tokens are allowed from here.
    bool is_finished() const { return finished_; }
    // Bytes of an unfinished UTF-8 character at the end of the output so far (0–3).
    size_t pending_bytes() const { return pending_.need ? pending_.len : 0; }

    // Advance by one token. Errors: invalid_argument when the grammar does not allow it (the state is
    // then unchanged), limit_exceeded when it would exceed matcher_limits.
    status accept_token(token_id id) {
        if (!m_) return status(status_code::invalid_argument, "grammar_state: not started");
        const grammar_vocab& v = *m_->vocab;
        if (v.is_end(id)) {
            if (!is_complete() || finished_)
                return status(status_code::invalid_argument, str("grammar: end token ", id, " before the grammar is complete"));
            finished_ = true;
            return status();
        }
        const std::string_view b = v.bytes(id);
        if (b.empty()) return status(status_code::invalid_argument, str("grammar: token ", id, " is not a text token"));
        return advance(b, str("token ", id));
    }
    // Advance by raw bytes (text the runner forces, or byte-by-byte tests). Same errors.
    status accept_bytes(std::string_view bytes) {
        if (!m_) return status(status_code::invalid_argument, "grammar_state: not started");
        if (bytes.empty()) return status();
        return advance(bytes, "bytes");
    }

    // Whether one token is allowed next.
    bool token_allowed(token_id id) const {
        if (!m_) return false;
        const grammar_vocab& v = *m_->vocab;
        if (v.is_end(id)) return is_complete() && !finished_;
        const std::string_view b = v.bytes(id);
        if (b.empty() || finished_) return false;
        m_->begin_call();
        const int32_t s = current();
        if (s < 0) return false;
        detail::utf8_pending u = pending_;
        return m_->walk(s, u, reinterpret_cast<const unsigned char*>(b.data()), b.size()) >= 0;
    }

    // Set the logits of every token the grammar does not allow next to -inf. Ids at or above the
    // vocab size are masked too. Errors: invalid_argument (null logits, not started), limit_exceeded
    // when the current state cannot be rebuilt within matcher_limits.
    status apply_mask(float* logits, size_t n_vocab) const {
        if (!m_) return status(status_code::invalid_argument, "grammar_state: not started");
        if (logits == nullptr && n_vocab > 0) return status(status_code::invalid_argument, "grammar_state::apply_mask: null logits");
        NOGGIN_TRY(compute_allowed());
        const std::vector<uint8_t>& a = m_->allowed;
        const float ninf = -std::numeric_limits<float>::infinity();
        const size_t n = std::min(n_vocab, a.size());
        for (size_t i = 0; i < n; ++i)
            if (!a[i]) logits[i] = ninf;
        for (size_t i = n; i < n_vocab; ++i) logits[i] = ninf;
        return status();
    }
    // The allowed token ids, ascending (end ids included when complete).
    status allowed_tokens(std::vector<token_id>& out) const {
        out.clear();
        if (!m_) return status(status_code::invalid_argument, "grammar_state: not started");
        NOGGIN_TRY(compute_allowed());
        for (size_t i = 0; i < m_->allowed.size(); ++i)
            if (m_->allowed[i]) out.push_back(token_id(i));
        return status();
    }

    // Serialise (for session save): "NGS1", flags, pending UTF-8, stack words; little-endian.
    std::string save() const {
        std::string s = "NGS1";
        auto put32 = [&s](uint32_t x) { for (int b = 0; b < 4; ++b) s.push_back(char(uint8_t(x >> (8 * b)))); };
        put32(finished_ ? 1u : 0u);
        put32(pending_.cp);
        put32(pending_.need);
        put32(pending_.len);
        put32(pending_.min);
        put32(uint32_t(stacks_.size()));
        for (uint32_t w : stacks_) put32(w);
        return s;
    }

private:
    friend class grammar_matcher;

    status advance(std::string_view b, const std::string& what) {
        if (finished_) return status(status_code::invalid_argument, str("grammar: ", what, " after the end token"));
        m_->begin_call();
        const int32_t s = current();
        if (s == detail::matcher_impl::too_big) return status(status_code::limit_exceeded, m_->limit_message);
        if (s < 0) return status(status_code::internal, "grammar: state has no parse stacks");
        detail::utf8_pending u = pending_;
        const int32_t t = m_->walk(s, u, reinterpret_cast<const unsigned char*>(b.data()), b.size());
        if (t == detail::matcher_impl::too_big) return status(status_code::limit_exceeded, m_->limit_message);
        if (t < 0) return status(status_code::invalid_argument, str("grammar: ", what, " not allowed here"));
        stacks_ = m_->states[size_t(t)].stacks;
        pending_ = u;
        epoch_ = m_->epoch;
        dfa_ = t;
        return status();
    }

    // The DFA id of this state in the matcher's cache (re-interned after the cache was cleared).
    int32_t current() const {
        if (epoch_ == m_->epoch && dfa_ >= 0) return dfa_;
        std::vector<std::vector<uint32_t>>& set = m_->out;
        set.clear();
        for (size_t i = 0; i < stacks_.size(); i += 1 + stacks_[i])
            set.emplace_back(stacks_.begin() + std::ptrdiff_t(i + 1), stacks_.begin() + std::ptrdiff_t(i + 1 + stacks_[i]));
        const int32_t id = m_->intern(set);
        if (id >= 0) {
            epoch_ = m_->epoch;
            dfa_ = id;
        }
        return id;
    }

    status compute_allowed() const {
        detail::matcher_impl& m = *m_;
        const grammar_vocab& v = *m.vocab;
        m.allowed.assign(v.size(), 0);
        if (finished_) {
            for (token_id e : v.end_ids()) m.allowed[size_t(e)] = 1;
            return status();
        }
        m.begin_call();
        const int32_t s = current();
        if (s == detail::matcher_impl::too_big) return status(status_code::limit_exceeded, m.limit_message);
        if (s < 0) return status(status_code::internal, "grammar: state has no parse stacks");
        const auto& info = v.info_;
        auto token_ptr = [&](token_id id) { return reinterpret_cast<const unsigned char*>(v.bytes(id).data()); };
        if (pending_.need == 0) {
            m.make_full(s);
            const uint64_t loop0 = m.states[size_t(s)].loop[0], loop1 = m.states[size_t(s)].loop[1];
            const bool loop_high = m.states[size_t(s)].loop_high;
            for (uint32_t b = 0; b < 256; ++b) {
                const uint32_t lo = v.bucket_begin_[b], hi = v.bucket_begin_[b + 1];
                if (lo == hi) continue;
                int32_t first = s;
                detail::utf8_pending u0;
                if (b < 0x80) {
                    first = m.step_ascii(s, b);
                    if (first < 0) continue;  // the whole bucket is out
                } else {
                    if (b >= 0xC2 && b <= 0xDF) u0 = {b & 0x1Fu, 1, 1, 0x80};
                    else if (b >= 0xE0 && b <= 0xEF) u0 = {b & 0x0Fu, 2, 1, 0x800};
                    else if (b >= 0xF0 && b <= 0xF4) u0 = {b & 0x07u, 3, 1, 0x10000};
                    else continue;  // stray continuation or invalid byte
                    if (!m.feasible_pending(s, u0)) continue;
                }
                for (uint32_t k = lo; k < hi; ++k) {
                    const token_id id = v.order_[k];
                    const auto& ti = info[size_t(id)];
                    if ((ti.flags & grammar_vocab::flag_self_valid) && (ti.ascii[0] & ~loop0) == 0 && (ti.ascii[1] & ~loop1) == 0 &&
                        (!(ti.flags & grammar_vocab::flag_high) || loop_high)) {
                        m.allowed[size_t(id)] = 1;  // every character loops on this state
                        continue;
                    }
                    detail::utf8_pending u = u0;
                    const int32_t t = m.walk(first, u, token_ptr(id) + 1, ti.len - 1);
                    if (t >= 0) m.allowed[size_t(id)] = 1;
                }
            }
        } else {
            for (uint32_t b = 0x80; b < 0xC0; ++b)
                for (uint32_t k = v.bucket_begin_[b]; k < v.bucket_begin_[b + 1]; ++k) {
                    const token_id id = v.order_[k];
                    detail::utf8_pending u = pending_;
                    if (m.walk(s, u, token_ptr(id), info[size_t(id)].len) >= 0) m.allowed[size_t(id)] = 1;
                }
        }
        if (m.states[size_t(s)].complete && pending_.need == 0)
            for (token_id e : v.end_ids()) m.allowed[size_t(e)] = 1;
        return status();
    }

    std::shared_ptr<detail::matcher_impl> m_;
    std::vector<uint32_t> stacks_;     // canonical stack set: [len, positions...]*
    detail::utf8_pending pending_;     // unfinished UTF-8 character at the end of the output
    bool finished_ = false;            // end token accepted
    mutable uint64_t epoch_ = 0;       // matcher cache epoch that dfa_ belongs to
    mutable int32_t dfa_ = -1;         // this state's id in the matcher cache (a hint)
};

// ---------------------------------------------------------------------------------------------
// grammar_matcher
class grammar_matcher {
public:
    // Bind a grammar to a vocabulary. Errors: limit_exceeded when the grammar's start state exceeds
    // the limits (e.g. thousands of nullable alternatives), invalid_argument for a null vocab.
    static result<grammar_matcher> create(grammar g, std::shared_ptr<const grammar_vocab> vocab, const matcher_limits& limits = {}) {
        if (!vocab) return status(status_code::invalid_argument, "grammar_matcher: null vocab");
        grammar_matcher m;
        m.m_ = std::make_shared<detail::matcher_impl>(std::move(g), std::move(vocab), limits);
        m.m_->begin_call();
        const int32_t s = m.m_->start_state();
        if (s == detail::matcher_impl::too_big) return status(status_code::limit_exceeded, m.m_->limit_message);
        if (s < 0) return status(status_code::internal, "grammar: start state is empty");
        m.start_stacks_ = m.m_->states[size_t(s)].stacks;
        return m;
    }
    static result<grammar_matcher> create(grammar g, const grammar_vocab& vocab, const matcher_limits& limits = {}) {
        return create(std::move(g), std::make_shared<const grammar_vocab>(vocab), limits);
    }

    // A fresh state at the start of the grammar (call when the constrained part begins).
    grammar_state start() const {
        grammar_state s;
        s.m_ = m_;
        s.stacks_ = start_stacks_;
        return s;
    }

    // Restore a state written by grammar_state::save() for this grammar. Errors: format_error for
    // bytes that are not a valid state of this grammar.
    result<grammar_state> load_state(std::string_view bytes) const {
        auto bad = [] { return status(status_code::format_error, "grammar_state: bad saved state"); };
        if (bytes.size() < 28 || bytes.substr(0, 4) != "NGS1") return bad();
        size_t pos = 4;
        auto get32 = [&](uint32_t& x) {
            if (pos + 4 > bytes.size()) return false;
            x = 0;
            for (int b = 0; b < 4; ++b) x |= uint32_t(static_cast<unsigned char>(bytes[pos + size_t(b)])) << (8 * b);
            pos += 4;
            return true;
        };
        uint32_t fin, cp, need, len, min, n;
        if (!get32(fin) || !get32(cp) || !get32(need) || !get32(len) || !get32(min) || !get32(n)) return bad();
        if (fin > 1 || need > 3 || len > 4 || (bytes.size() - pos) / 4 != n || (bytes.size() - pos) % 4 != 0) return bad();
        grammar_state s;
        s.m_ = m_;
        s.finished_ = fin == 1;
        s.pending_ = detail::utf8_pending{cp, uint8_t(need), uint8_t(len), min};
        s.stacks_.resize(n);
        for (uint32_t& w : s.stacks_) get32(w);
        const std::vector<symbol>& sy = m_->g.symbols();
        for (size_t i = 0; i < n;) {  // every position in range and not an end marker; tops are classes
            const uint32_t l = s.stacks_[i];
            if (l > n - i - 1 || l > m_->lim.max_stack_depth) return bad();
            for (uint32_t k = 0; k < l; ++k) {
                const uint32_t p = s.stacks_[i + 1 + k];
                if (p >= sy.size() || sy[p].kind == symbol_kind::end) return bad();
            }
            if (l > 0 && sy[s.stacks_[i + l]].kind != symbol_kind::chars) return bad();
            i += 1 + l;
        }
        if (n == 0 && !s.finished_) return bad();
        return s;
    }

    const grammar& get_grammar() const { return m_->g; }
    const grammar_vocab& vocab() const { return *m_->vocab; }
    // DFA states currently cached (diagnostics / benchmarks).
    size_t cached_states() const { return m_->states.size(); }

private:
    std::shared_ptr<detail::matcher_impl> m_;
    std::vector<uint32_t> start_stacks_;
};

}  // namespace noggin::sample
