// noggin/text/pre_tokenizer.hpp — hand-written splitters equal to the HF pre-tokenizer regexes.
//
// Byte-level BPE tokenizers first split text into "words" with a regex (HF `Split` with behavior
// Isolated, or ByteLevel with use_regex). Each regex is implemented here as code over codepoints,
// following Oniguruma's leftmost-first alternation and backtracking exactly; no std::regex.
//
//   qwen2 (qwen2, deepseek-r1-qwen): (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
//                                    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   llama3 (llama3, llama-bpe):     the same with \p{N}{1,3}
//   gpt2:                           's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   deepseek_v3 (deepseek-v3):      three Isolated splits in sequence: \p{N}{1,3}; then
//                                   [\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+; then
//                                   [!-/:-@[-`{-~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|
//                                    ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
//     std::vector<piece> pieces;
//     pre_tokenize(pre_tokenizer::qwen2, cps.data(), flags.data(), cps.size(), pieces);
//
// Sections: pre_tokenizer enum and names · codepoint flags · matchers · pre_tokenize

#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "unicode.hpp"

namespace noggin::text {

// ---------------------------------------------------------------------------------------------
// Which splitting regex a byte-level BPE tokenizer uses.
enum class pre_tokenizer : uint8_t {
    none,         // the whole text is one word (SentencePiece-style models)
    qwen2,        // Qwen2/2.5/3, DeepSeek-R1-Distill-Qwen
    llama3,       // Llama 3 (digits in runs of up to 3)
    deepseek_v3,  // DeepSeek-V3 / R1 (digits, CJK runs, then words)
    gpt2,         // GPT-2's original pattern
};

// GGUF `tokenizer.ggml.pre` name → pre_tokenizer; false when the name is not supported.
inline bool pre_tokenizer_from_name(std::string_view name, pre_tokenizer& out) {
    if (name == "qwen2" || name == "deepseek-r1-qwen") out = pre_tokenizer::qwen2;
    else if (name == "llama3" || name == "llama-bpe") out = pre_tokenizer::llama3;
    else if (name == "deepseek-v3") out = pre_tokenizer::deepseek_v3;
    else if (name == "gpt2" || name == "gpt-2") out = pre_tokenizer::gpt2;
    else return false;
    return true;
}

inline const char* pre_tokenizer_name(pre_tokenizer p) {
    switch (p) {
        case pre_tokenizer::none: return "none";
        case pre_tokenizer::qwen2: return "qwen2";
        case pre_tokenizer::llama3: return "llama3";
        case pre_tokenizer::deepseek_v3: return "deepseek-v3";
        case pre_tokenizer::gpt2: return "gpt2";
    }
    return "unknown";
}

// A word: codepoint index range [begin, end).
struct piece {
    uint32_t begin;
    uint32_t end;
};

// ---------------------------------------------------------------------------------------------
// Per-codepoint class flags, computed once per text.
namespace pre_detail {
enum : uint8_t {
    f_letter = 1,
    f_number = 2,
    f_mark = 4,
    f_punct = 8,
    f_symbol = 16,
    f_space = 32,    // \s
    f_newline = 64,  // \r or \n
};
}  // namespace pre_detail

inline uint8_t codepoint_flags(uint32_t cp) {
    using namespace pre_detail;
    uint8_t f = 0;
    switch (unicode::category_of(cp)) {
        case unicode::category::letter: f = f_letter; break;
        case unicode::category::number: f = f_number; break;
        case unicode::category::mark: f = f_mark; break;
        case unicode::category::punctuation: f = f_punct; break;
        case unicode::category::symbol: f = f_symbol; break;
        default: break;
    }
    if (unicode::is_whitespace(cp)) f |= f_space;
    if (cp == '\r' || cp == '\n') f |= f_newline;
    return f;
}

// ---------------------------------------------------------------------------------------------
// Matchers: length of the match at position i (0 = no match), within [i, e).
namespace pre_detail {

inline uint32_t fold_ascii(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c == 0x17F) return 's';  // LATIN SMALL LETTER LONG S case-folds to 's'
    return c;
}

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive.
inline size_t match_contraction(const uint32_t* c, size_t i, size_t e, bool ci) {
    if (c[i] != '\'' || i + 1 >= e) return 0;
    uint32_t a = ci ? fold_ascii(c[i + 1]) : c[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 < e && (a == 'r' || a == 'v' || a == 'l')) {
        uint32_t b = ci ? fold_ascii(c[i + 2]) : c[i + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
    return 0;
}

inline size_t run_of(const uint8_t* f, size_t i, size_t e, uint8_t any_of) {
    size_t j = i;
    while (j < e && (f[j] & any_of)) ++j;
    return j - i;
}

// [^\s\p{L}\p{N}]+ run length from i.
inline size_t run_other(const uint8_t* f, size_t i, size_t e) {
    size_t j = i;
    while (j < e && !(f[j] & (f_space | f_letter | f_number))) ++j;
    return j - i;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+ — the three whitespace alternatives shared by all patterns.
inline size_t match_space(const uint8_t* f, size_t i, size_t e) {
    if (!(f[i] & f_space)) return 0;
    size_t k = run_of(f, i, e, f_space);
    // \s*[\r\n]+ : up to and including the last newline of the whitespace run.
    for (size_t j = i + k; j-- > i;)
        if (f[j] & f_newline) return j + 1 - i;
    // \s+(?!\S)
    if (i + k == e) return k;
    if (k >= 2) return k - 1;
    // \s+
    return k;
}

// qwen2 / llama3 (max_digits 1 or 3).
inline size_t match_qwen(const uint32_t* c, const uint8_t* f, size_t i, size_t e, size_t max_digits) {
    if (size_t m = match_contraction(c, i, e, true)) return m;
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (f[i] & f_letter) return run_of(f, i, e, f_letter);
    if (!(f[i] & (f_newline | f_letter | f_number)) && i + 1 < e && (f[i + 1] & f_letter))
        return 1 + run_of(f, i + 1, e, f_letter);
    // \p{N}{1,max}
    if (f[i] & f_number) {
        size_t k = run_of(f, i, e, f_number);
        return k < max_digits ? k : max_digits;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    {
        size_t j = i;
        if (c[j] == ' ' && j + 1 < e && run_other(f, j + 1, e) > 0) ++j;
        size_t k = run_other(f, j, e);
        if (k > 0) {
            j += k;
            while (j < e && (f[j] & f_newline)) ++j;
            return j - i;
        }
    }
    return match_space(f, i, e);
}

inline size_t match_gpt2(const uint32_t* c, const uint8_t* f, size_t i, size_t e) {
    if (size_t m = match_contraction(c, i, e, false)) return m;
    //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+ — a leading space is never itself L, N or "other",
    // so each alternative is simply "skip one space if present, then a run of the class".
    size_t j = c[i] == ' ' ? i + 1 : i;
    if (size_t k = run_of(f, j, e, f_letter)) return j + k - i;
    if (size_t k = run_of(f, j, e, f_number)) return j + k - i;
    if (size_t k = run_other(f, j, e)) return j + k - i;
    return match_space(f, i, e);
}

inline bool ascii_punct(uint32_t c) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}
inline bool ascii_alpha(uint32_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

inline size_t match_dsv3_words(const uint32_t* c, const uint8_t* f, size_t i, size_t e) {
    // [!-/:-@[-`{-~][A-Za-z]+
    if (ascii_punct(c[i]) && i + 1 < e && ascii_alpha(c[i + 1])) {
        size_t j = i + 1;
        while (j < e && ascii_alpha(c[j])) ++j;
        return j - i;
    }
    // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
    if (!(f[i] & (f_newline | f_letter | f_punct | f_symbol)) && i + 1 < e && (f[i + 1] & (f_letter | f_mark)))
        return 1 + run_of(f, i + 1, e, f_letter | f_mark);
    if (f[i] & (f_letter | f_mark)) return run_of(f, i, e, f_letter | f_mark);
    //  ?[\p{P}\p{S}]+[\r\n]*
    {
        size_t j = i;
        if (c[j] == ' ' && j + 1 < e && (f[j + 1] & (f_punct | f_symbol))) ++j;
        size_t k = run_of(f, j, e, f_punct | f_symbol);
        if (k > 0) {
            j += k;
            while (j < e && (f[j] & f_newline)) ++j;
            return j - i;
        }
    }
    return match_space(f, i, e);
}

inline bool dsv3_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF);
}

// Isolated split of [b, e) with matcher m: matches and the gaps between them become pieces.
template <class Match>
void split_isolated(uint32_t b, uint32_t e, std::vector<piece>& out, Match m) {
    uint32_t gap = b, pos = b;
    while (pos < e) {
        size_t len = m(pos, e);
        if (len == 0) {
            ++pos;
            continue;
        }
        if (gap < pos) out.push_back({gap, pos});
        out.push_back({pos, uint32_t(pos + len)});
        pos += uint32_t(len);
        gap = pos;
    }
    if (gap < e) out.push_back({gap, e});
}

}  // namespace pre_detail

// ---------------------------------------------------------------------------------------------
// Split codepoints cps[0, n) (with flags from codepoint_flags) into words, appended to `out`.
inline void pre_tokenize(pre_tokenizer kind, const uint32_t* cps, const uint8_t* flags, uint32_t n,
                         std::vector<piece>& out) {
    using namespace pre_detail;
    switch (kind) {
        case pre_tokenizer::none:
            if (n) out.push_back({0, n});
            return;
        case pre_tokenizer::qwen2:
        case pre_tokenizer::llama3: {
            size_t digits = kind == pre_tokenizer::qwen2 ? 1 : 3;
            split_isolated(0, n, out, [&](size_t i, size_t e) { return match_qwen(cps, flags, i, e, digits); });
            return;
        }
        case pre_tokenizer::gpt2:
            split_isolated(0, n, out, [&](size_t i, size_t e) { return match_gpt2(cps, flags, i, e); });
            return;
        case pre_tokenizer::deepseek_v3: {
            std::vector<piece> a, b;
            split_isolated(0, n, a, [&](size_t i, size_t e) -> size_t {
                if (!(flags[i] & f_number)) return 0;
                size_t k = run_of(flags, i, e, f_number);
                return k < 3 ? k : 3;
            });
            for (const piece& p : a)
                split_isolated(p.begin, p.end, b, [&](size_t i, size_t e) -> size_t {
                    size_t j = i;
                    while (j < e && dsv3_cjk(cps[j])) ++j;
                    return j - i;
                });
            for (const piece& p : b)
                split_isolated(p.begin, p.end, out,
                               [&](size_t i, size_t e) { return match_dsv3_words(cps, flags, i, e); });
            return;
        }
    }
}

}  // namespace noggin::text
