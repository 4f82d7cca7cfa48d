// noggin/text/unicode.hpp — UTF-8 decoding, general categories, whitespace and NFC for tokenizers.
//
// The pre-tokenizers classify codepoints the way Hugging Face's regex engine (Oniguruma) does:
// \p{L}, \p{N}, \p{M}, \p{P}, \p{S} by major general category and \s as Unicode White_Space.
// Bytes that are not valid UTF-8 decode to `invalid_base + byte` (category other, never
// whitespace) so that byte-level tokenizers keep every input byte.
//
//     using namespace noggin::text::unicode;
//     size_t len = 0;
//     uint32_t cp = decode_utf8(s.data() + i, s.size() - i, len);   // len >= 1 always
//     if (category_of(cp) == category::letter) ...
//     std::string n = nfc("e\xCC\x81");                               // "\xC3\xA9"
//
// Sections: UTF-8 · categories and whitespace · NFC (decompose, reorder, compose) · lossy UTF-8

#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "unicode_tables.hpp"
#include "utf8.hpp"

namespace noggin::text::unicode {

// ---------------------------------------------------------------------------------------------
// UTF-8

// Decoded value of an invalid byte b is invalid_base + b (outside the Unicode range).
inline constexpr uint32_t invalid_base = 0x110000;

// Decode one codepoint at s (n > 0 bytes available). `len` receives the bytes consumed (>= 1).
// Invalid or truncated sequences consume one byte and return invalid_base + that byte.
inline uint32_t decode_utf8(const char* s, size_t n, size_t& len) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(s);
    unsigned char c = p[0];
    len = 1;
    if (c < 0x80) return c;
    if (c >= 0xC2 && c < 0xE0) {
        if (n >= 2 && (p[1] & 0xC0) == 0x80) {
            len = 2;
            return (uint32_t(c & 0x1F) << 6) | (p[1] & 0x3F);
        }
    } else if (c >= 0xE0 && c < 0xF0) {
        if (n >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 && !(c == 0xE0 && p[1] < 0xA0) &&
            !(c == 0xED && p[1] >= 0xA0)) {
            len = 3;
            return (uint32_t(c & 0x0F) << 12) | (uint32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        }
    } else if (c >= 0xF0 && c < 0xF5) {
        if (n >= 4 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 &&
            !(c == 0xF0 && p[1] < 0x90) && !(c == 0xF4 && p[1] >= 0x90)) {
            len = 4;
            return (uint32_t(c & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) | (uint32_t(p[2] & 0x3F) << 6) |
                   (p[3] & 0x3F);
        }
    }
    return invalid_base + c;
}

// Append the UTF-8 encoding of cp; invalid_base + b appends the raw byte b back.
inline void append_utf8(std::string& out, uint32_t cp) {
    if (cp >= invalid_base) out.push_back(char(cp - invalid_base));
    else append_utf8_code_point(out, cp);
}

// Decode a whole string into codepoints (invalid bytes as invalid_base + byte).
inline void decode_utf8(std::string_view s, std::vector<uint32_t>& out) {
    out.clear();
    size_t i = 0;
    while (i < s.size()) {
        size_t len = 1;
        out.push_back(decode_utf8(s.data() + i, s.size() - i, len));
        i += len;
    }
}

// ---------------------------------------------------------------------------------------------
// Categories and whitespace

// Major general category; `other` includes controls, format, unassigned, surrogates and invalid bytes.
enum class category : uint8_t { letter = 0, mark = 1, number = 2, punctuation = 3, symbol = 4, separator = 5, other = 6 };

namespace detail {
inline category category_slow(uint32_t cp) {
    const uint32_t* b = unicode_data::category_starts;
    const uint32_t* e = b + sizeof(unicode_data::category_starts) / sizeof(uint32_t);
    // Last entry whose start <= cp.
    const uint32_t* it = std::upper_bound(b, e, (cp << 4) | 0xF);
    return static_cast<category>((it[-1]) & 0xF);
}
struct ascii_table {
    category cat[128];
    bool ws[128];
    ascii_table() {
        for (uint32_t c = 0; c < 128; ++c) {
            cat[c] = category_slow(c);
            ws[c] = (c >= 9 && c <= 13) || c == 32;
        }
    }
};
inline const ascii_table& ascii() {
    static const ascii_table t;
    return t;
}
inline bool in_ranges(const uint32_t* r, size_t n, uint32_t cp) {
    // r holds [start, end] pairs sorted; n is the number of uint32 values.
    size_t lo = 0, hi = n / 2;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r[2 * mid + 1] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n / 2 && r[2 * lo] <= cp;
}
}  // namespace detail

inline category category_of(uint32_t cp) {
    if (cp < 128) return detail::ascii().cat[cp];
    if (cp >= 0x110000) return category::other;
    return detail::category_slow(cp);
}

// \s as Oniguruma defines it for Unicode (U+0009..U+000D, U+0085, Zs, Zl, Zp).
inline bool is_whitespace(uint32_t cp) {
    if (cp < 128) return detail::ascii().ws[cp];
    if (cp >= 0x110000) return false;
    return detail::in_ranges(unicode_data::whitespace_ranges,
                             sizeof(unicode_data::whitespace_ranges) / sizeof(uint32_t), cp);
}

inline bool is_letter(uint32_t cp) { return category_of(cp) == category::letter; }
inline bool is_number(uint32_t cp) { return category_of(cp) == category::number; }

// ---------------------------------------------------------------------------------------------
// NFC

namespace detail {
constexpr uint32_t hangul_s = 0xAC00, hangul_l = 0x1100, hangul_v = 0x1161, hangul_t = 0x11A7;
constexpr uint32_t hangul_lcount = 19, hangul_vcount = 21, hangul_tcount = 28;
constexpr uint32_t hangul_ncount = hangul_vcount * hangul_tcount, hangul_scount = hangul_lcount * hangul_ncount;

inline uint8_t combining_class(uint32_t cp) {
    if (cp < 0x300 || cp >= 0x110000) return 0;
    const uint32_t* r = unicode_data::ccc_ranges;
    size_t n = sizeof(unicode_data::ccc_ranges) / sizeof(uint32_t) / 3;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r[3 * mid + 1] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && r[3 * lo] <= cp) return uint8_t(r[3 * lo + 2]);
    return 0;
}

// One-step canonical decomposition; returns false when cp has none.
inline bool decompose_once(uint32_t cp, uint32_t& a, uint32_t& b) {
    const uint32_t* d = unicode_data::decompositions;
    size_t n = sizeof(unicode_data::decompositions) / sizeof(uint32_t) / 3;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d[3 * mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && d[3 * lo] == cp) {
        a = d[3 * lo + 1];
        b = d[3 * lo + 2];
        return true;
    }
    return false;
}

inline void decompose_full(uint32_t cp, std::vector<uint32_t>& out, int depth = 0) {
    if (cp >= hangul_s && cp < hangul_s + hangul_scount) {
        uint32_t si = cp - hangul_s;
        out.push_back(hangul_l + si / hangul_ncount);
        out.push_back(hangul_v + (si % hangul_ncount) / hangul_tcount);
        if (si % hangul_tcount) out.push_back(hangul_t + si % hangul_tcount);
        return;
    }
    uint32_t a = 0, b = 0;
    if (cp < 0xC0 || cp >= 0x110000 || depth > 8 || !decompose_once(cp, a, b)) {
        out.push_back(cp);
        return;
    }
    decompose_full(a, out, depth + 1);
    if (b) decompose_full(b, out, depth + 1);
}

// Primary composite of (a, b), or 0.
inline uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= hangul_l && a < hangul_l + hangul_lcount && b >= hangul_v && b < hangul_v + hangul_vcount)
        return hangul_s + ((a - hangul_l) * hangul_vcount + (b - hangul_v)) * hangul_tcount;
    if (a >= hangul_s && a < hangul_s + hangul_scount && (a - hangul_s) % hangul_tcount == 0 && b > hangul_t &&
        b < hangul_t + hangul_tcount)
        return a + (b - hangul_t);
    const uint32_t* c = unicode_data::compositions;
    size_t n = sizeof(unicode_data::compositions) / sizeof(uint32_t) / 3;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c[3 * mid] < a || (c[3 * mid] == a && c[3 * mid + 1] < b))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && c[3 * lo] == a && c[3 * lo + 1] == b) return c[3 * lo + 2];
    return 0;
}

inline bool nfc_unstable(uint32_t cp) {
    if (cp < 0x300 || cp >= 0x110000) return false;
    return in_ranges(unicode_data::nfc_unstable_ranges, sizeof(unicode_data::nfc_unstable_ranges) / sizeof(uint32_t),
                     cp);
}
}  // namespace detail

// True when `s` certainly is in NFC already (no codepoint that NFC could change is present).
inline bool is_nfc_quick(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0xCC) {  // below U+0300 (lead bytes up to 0xCB encode < U+0300)
            ++i;
            continue;
        }
        size_t len = 1;
        uint32_t cp = decode_utf8(s.data() + i, s.size() - i, len);
        if (detail::nfc_unstable(cp)) return false;
        i += len;
    }
    return true;
}

// Canonical composition (NFC). Invalid UTF-8 bytes are kept as they are and act as starters.
inline std::string nfc(std::string_view s) {
    if (is_nfc_quick(s)) return std::string(s);
    std::vector<uint32_t> cps;
    cps.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        size_t len = 1;
        uint32_t cp = decode_utf8(s.data() + i, s.size() - i, len);
        detail::decompose_full(cp, cps);
        i += len;
    }
    // Canonical ordering: stable sort each run of non-starters by combining class.
    std::vector<uint8_t> ccc(cps.size());
    for (size_t k = 0; k < cps.size(); ++k) ccc[k] = detail::combining_class(cps[k]);
    for (size_t k = 0; k < cps.size();) {
        if (ccc[k] == 0) {
            ++k;
            continue;
        }
        size_t e = k;
        while (e < cps.size() && ccc[e] != 0) ++e;
        // insertion sort (runs are short), stable
        for (size_t x = k + 1; x < e; ++x) {
            uint32_t cv = cps[x];
            uint8_t cc = ccc[x];
            size_t y = x;
            while (y > k && ccc[y - 1] > cc) {
                cps[y] = cps[y - 1];
                ccc[y] = ccc[y - 1];
                --y;
            }
            cps[y] = cv;
            ccc[y] = cc;
        }
        k = e;
    }
    // Canonical composition.
    std::vector<uint32_t> out;
    out.reserve(cps.size());
    std::vector<uint8_t> out_ccc;
    out_ccc.reserve(cps.size());
    size_t starter = SIZE_MAX;  // index in out of the last starter
    for (size_t k = 0; k < cps.size(); ++k) {
        uint32_t cp = cps[k];
        uint8_t cc = ccc[k];
        if (starter != SIZE_MAX) {
            // Blocked when a character between the starter and cp has ccc 0 or >= cc.
            bool blocked = false;
            if (out.size() - 1 > starter) {
                uint8_t last = out_ccc.back();
                blocked = last == 0 || last >= cc;
            }
            if (!blocked) {
                uint32_t comp = detail::compose_pair(out[starter], cp);
                if (comp) {
                    out[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) starter = out.size();
        out.push_back(cp);
        out_ccc.push_back(cc);
    }
    std::string result;
    result.reserve(s.size());
    for (uint32_t cp : out) append_utf8(result, cp);
    return result;
}

// ---------------------------------------------------------------------------------------------
// Lossy UTF-8: replace each maximal invalid subsequence by U+FFFD (as Rust's from_utf8_lossy and
// the Unicode "substitution of maximal subparts" practice do).
inline std::string utf8_lossy(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const unsigned char* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size(), i = 0;
    while (i < n) {
        size_t len = 1;
        uint32_t cp = decode_utf8(s.data() + i, n - i, len);
        if (cp < invalid_base) {
            out.append(s.data() + i, len);
            i += len;
            continue;
        }
        // Length of the maximal prefix of a valid sequence starting at i (at least 1).
        unsigned char c = p[i];
        size_t need = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c < 0xE0) need = 1;
        else if (c >= 0xE0 && c < 0xF0) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c < 0xF5) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        }
        size_t k = 1;
        if (need) {
            if (i + 1 < n && p[i + 1] >= lo && p[i + 1] <= hi) {
                k = 2;
                while (k <= need && i + k < n && (p[i + k] & 0xC0) == 0x80) ++k;
            }
        }
        out.append("\xEF\xBF\xBD");
        i += k;
    }
    return out;
}

// Number of bytes at the end of `s` that form an incomplete (but so far valid) UTF-8 sequence:
// 0 when s ends on a boundary or with bytes that can never complete.
inline size_t utf8_incomplete_tail(std::string_view s) {
    size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        unsigned char c = static_cast<unsigned char>(s[n - back]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte, keep looking for the lead
        size_t need = 0;
        if (c >= 0xC2 && c < 0xE0) need = 2;
        else if (c >= 0xE0 && c < 0xF0) need = 3;
        else if (c >= 0xF0 && c < 0xF5) need = 4;
        if (need <= back) return 0;  // complete, or not a lead byte at all
        // The bytes present must be a valid prefix (second byte range for E0/ED/F0/F4).
        unsigned char b1 = static_cast<unsigned char>(s[n - back + (back > 1 ? 1 : 0)]);
        if (back > 1) {
            if (c == 0xE0 && b1 < 0xA0) return 0;
            if (c == 0xED && b1 > 0x9F) return 0;
            if (c == 0xF0 && b1 < 0x90) return 0;
            if (c == 0xF4 && b1 > 0x8F) return 0;
        }
        return back;
    }
    return 0;
}

}  // namespace noggin::text::unicode
