// noggin/text/tokenizer.hpp — byte-level BPE (GPT-2 family) and SentencePiece-style BPE tokenizers.
//
// One `tokenizer` class holds a vocabulary, merges (or scores), added/special tokens and the
// BOS/EOS rule, independent of where they came from: fill a `vocab_spec` yourself, or use the
// loaders in tokenizer_json.hpp (tokenizer.json + tokenizer_config.json) and tokenizer_gguf.hpp
// (GGUF metadata). Encoding matches Hugging Face `tokenizers` (and llama.cpp) id for id;
// decoding gives raw bytes, HF-style text, or a stream that never splits a UTF-8 sequence.
//
//     noggin::result<noggin::text::tokenizer> tok = noggin::text::tokenizer_from_json(json, config);
//     std::vector<noggin::text::token_id> ids;
//     noggin::text::encode_options opt;
//     opt.parse_special = true;   // "<|im_start|>" in the text becomes its id
//     opt.add_special = true;     // BOS/EOS as the tokenizer's own rule says
//     if (!tok->encode("Hello world", ids, opt).ok()) ...
//     noggin::text::detokenizer stream(*tok);
//     std::string out;
//     for (auto id : ids) stream.push(id, out);
//     stream.flush(out);
//
// Sections: types (token_id, token_type, tokenizer_kind) · vocab_spec · byte↔unicode map ·
//           hash tables · tokenizer (create, encode, decode) · detokenizer (streaming)

#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "pre_tokenizer.hpp"
#include "unicode.hpp"

namespace noggin::text {

// ---------------------------------------------------------------------------------------------
// Types

using token_id = int32_t;

// Per-token kind; the numeric values are GGUF's tokenizer.ggml.token_type values.
enum class token_type : uint8_t {
    undefined = 0,
    normal = 1,        // ordinary vocabulary entry
    unknown = 2,       // the <unk> token
    control = 3,       // special token (BOS, EOS, <|im_start|>): matched in text only with parse_special
    user_defined = 4,  // added token that is not special (<think>): always matched in text
    unused = 5,        // a hole in the id space
    byte = 6,          // SentencePiece byte-fallback token <0xXX>
};

enum class tokenizer_kind : uint8_t {
    byte_level_bpe,     // GPT-2 family: bytes mapped to printable characters, merges by rank
    sentencepiece_bpe,  // Llama/Mistral: ▁ for spaces, byte fallback <0xXX>, merges or scores
};

// Everything a tokenizer is made of. Loaders fill this; tokenizer::create validates it.
struct vocab_spec {
    tokenizer_kind kind = tokenizer_kind::byte_level_bpe;
    pre_tokenizer pre = pre_tokenizer::none;  // byte-level: the splitting regex; SentencePiece: none
    bool nfc = false;                          // apply NFC to text segments before splitting
    // Token strings by id, as the vocabulary spells them (byte-level: GPT-2 mapped characters such
    // as "Ġthe"; SentencePiece: "▁the", "<0x0A>"). Added tokens use their literal content.
    std::vector<std::string> tokens;
    std::vector<token_type> types;  // same size as tokens, or empty = all normal
    std::vector<float> scores;      // SentencePiece scores (higher merges first); used when merges is empty
    // Merges in rank order (first = merged first), each as the two token strings.
    std::vector<std::pair<std::string, std::string>> merges;
    bool ignore_merges = false;   // a word that is itself a token is emitted whole (Llama 3)
    bool byte_fallback = false;   // unknown characters become <0xXX> tokens (SentencePiece)
    bool fuse_unk = false;        // consecutive unknown tokens become one
    bool add_space_prefix = true;  // SentencePiece: prepend ▁ to every non-empty text segment
    bool strip_leading_space = true;  // SentencePiece decode: drop one leading space (HF Strip decoder)
    bool clean_up_spaces = false;  // decode: transformers' clean_up_tokenization (" ." → ".", ...)
    token_id unk_id = -1;  // -1 = none
    token_id bos_id = -1;
    token_id eos_id = -1;
    token_id pad_id = -1;
    bool add_bos = false;  // default rule applied by encode_options::add_special
    bool add_eos = false;
    // Added-token matching flags by id (HF lstrip/rstrip: the token absorbs adjacent whitespace).
    std::vector<token_id> lstrip_ids;
    std::vector<token_id> rstrip_ids;
};

// Token and merge strings as views, for loaders that already hold the bytes (a GGUF file's
// metadata, a tokenizer.json text): tokenizer::create(spec, views) reads them in place instead of
// spec.tokens / spec.merges, so a 151k vocabulary needs no per-string allocation. They must stay
// valid until create returns; the tokenizer keeps its own copy.
struct vocab_views {
    const std::string_view* tokens = nullptr;  // token strings by id, spelled as vocab_spec::tokens
    size_t token_count = 0;                    // number of tokens (the vocabulary size)
    const std::pair<std::string_view, std::string_view>* merges = nullptr;  // rank order, as vocab_spec::merges
    size_t merge_count = 0;
};

struct encode_options {
    bool parse_special = false;  // match control/unknown tokens written in the text; default false
    bool add_special = false;    // apply the tokenizer's BOS/EOS rule; default false
};

struct decode_options {
    bool skip_special = false;      // drop control tokens; default false (as HF decode)
    bool clean_up_spaces = true;    // apply clean_up_tokenization when the tokenizer asks for it
};

// Caps for hostile inputs.
inline constexpr size_t max_vocab_size = size_t(1) << 22;       // 4 Mi tokens
inline constexpr size_t max_token_bytes = size_t(1) << 16;      // 64 KiB per token string
inline constexpr size_t max_encode_bytes = (size_t(1) << 31) - 1;  // one encode call

// ---------------------------------------------------------------------------------------------
// GPT-2 byte ↔ unicode map: printable Latin-1 bytes map to themselves, the others to U+0100 + n.
namespace tok_detail {

struct byte_map {
    uint32_t to_cp[256];
    int16_t from_cp[324];  // codepoint (< 324) → byte, -1 when not a mapped character
    byte_map() {
        for (int i = 0; i < 324; ++i) from_cp[i] = -1;
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
            to_cp[b] = keep ? uint32_t(b) : uint32_t(256 + n++);
            from_cp[to_cp[b]] = int16_t(b);
        }
    }
};
inline const byte_map& bytes_map() {
    static const byte_map m;
    return m;
}

// Mapped token text → raw bytes; false when a character is not a mapped byte (HF then keeps the
// token's UTF-8 as it is).
// Every mapped character is below U+0144, so only 1- and 2-byte UTF-8 sequences can match.
inline bool unmap_bytes(std::string_view mapped, std::string& out) {
    const byte_map& m = bytes_map();
    const unsigned char* p = reinterpret_cast<const unsigned char*>(mapped.data());
    const size_t n = mapped.size();
    out.resize(n);  // never longer than the input
    size_t i = 0, k = 0;
    while (i < n) {
        const uint32_t c = p[i];
        uint32_t cp;
        if (c < 0x80) {
            cp = c;
            i += 1;
        } else if (c >= 0xC2 && c < 0xE0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            cp = ((c & 0x1F) << 6) | (p[i + 1] & 0x3Fu);
            i += 2;
        } else {
            out.clear();  // longer or invalid sequence: not a mapped byte
            return false;
        }
        if (cp >= 324 || m.from_cp[cp] < 0) {
            out.clear();
            return false;
        }
        out[k++] = char(m.from_cp[cp]);
    }
    out.resize(k);
    return true;
}

inline std::string map_bytes(std::string_view raw) {
    std::string out;
    out.reserve(raw.size() * 2);
    for (unsigned char b : raw) unicode::append_utf8(out, bytes_map().to_cp[b]);
    return out;
}

inline uint64_t hash_bytes(const char* p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        h = (h ^ v) * 0xC2B2AE3D27D4EB4Full;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= uint64_t(static_cast<unsigned char>(p[k])) << (8 * k);
    h = (h ^ v) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 32;
    h *= 0x165667B19E3779F9ull;
    h ^= h >> 29;
    return h;
}

inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
}

// A hint that *p will be read soon (no-op where the compiler has no prefetch builtin).
inline void prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

// Open-addressing table size: a power of two with load factor <= 2/3 (the R1 vocabulary's 151k
// keys fit 262144 slots, 58 %), so the tables stay a few MB and cache-friendly.
inline size_t table_size_for(size_t n) {
    size_t s = 16;
    while (s < n + n / 2) s <<= 1;
    return s;
}

// Parse "<0xXX>" → byte; -1 otherwise.
inline int parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t[0] != '<' || t[1] != '0' || t[2] != 'x' || t[5] != '>') return -1;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    int hi = hex(t[3]), lo = hex(t[4]);
    if (hi < 0 || lo < 0) return -1;
    return hi * 16 + lo;
}

inline bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace tok_detail

// ---------------------------------------------------------------------------------------------
// tokenizer

class detokenizer;

class tokenizer {
public:
    tokenizer() = default;

    // Validate `spec` and build the lookup tables. Errors: format_error for inconsistent data
    // (merges naming unknown tokens, duplicate strings at different ids, byte tokens missing),
    // limit_exceeded for oversized vocabularies or tokens.
    static result<tokenizer> create(vocab_spec spec) {
        std::vector<std::string_view> tokens(spec.tokens.begin(), spec.tokens.end());
        std::vector<std::pair<std::string_view, std::string_view>> merges;
        merges.reserve(spec.merges.size());
        for (const auto& m : spec.merges) merges.emplace_back(m.first, m.second);
        vocab_views v;
        v.tokens = tokens.data();
        v.token_count = tokens.size();
        v.merges = merges.data();
        v.merge_count = merges.size();
        tokenizer t;
        status s = t.build(spec, v);
        if (!s.ok()) return s;
        return t;
    }
    // As above with the token and merge strings taken from `views`; spec.tokens and spec.merges
    // are ignored (leave them empty). Same errors.
    static result<tokenizer> create(vocab_spec spec, const vocab_views& views) {
        tokenizer t;
        status s = t.build(spec, views);
        if (!s.ok()) return s;
        return t;
    }

    // --- queries
    tokenizer_kind kind() const { return kind_; }
    pre_tokenizer pre() const { return pre_; }
    bool uses_nfc() const { return nfc_; }
    size_t vocab_size() const { return types_.size(); }
    token_id bos_id() const { return bos_; }
    token_id eos_id() const { return eos_; }
    token_id pad_id() const { return pad_; }
    token_id unk_id() const { return unk_; }
    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    token_type type_of(token_id id) const { return valid(id) ? types_[size_t(id)] : token_type::undefined; }
    bool is_special(token_id id) const {
        token_type t = type_of(id);
        return t == token_type::control || t == token_type::unknown;
    }
    bool valid(token_id id) const { return id >= 0 && size_t(id) < types_.size(); }
    // The token's stored key: raw bytes for byte-level tokens, the vocabulary spelling for
    // SentencePiece, the literal content for added tokens.
    std::string_view token_text(token_id id) const {
        if (!valid(id)) return {};
        return std::string_view(blob_.data() + offsets_[size_t(id)], offsets_[size_t(id) + 1] - offsets_[size_t(id)]);
    }
    // Id of an exact vocabulary or added-token string (as token_text spells it); -1 when absent.
    token_id find(std::string_view text) const { return lookup(text); }

    // --- encoding
    // Append the ids of `text` to `out`. Errors: limit_exceeded for text over max_encode_bytes.
    status encode(std::string_view text, std::vector<token_id>& out, const encode_options& opt = {}) const {
        if (text.size() > max_encode_bytes)
            return status(status_code::limit_exceeded, str("tokenizer: text of ", text.size(), " bytes is too long"));
        if (opt.add_special && add_bos_ && bos_ >= 0) out.push_back(bos_);
        encode_state st;
        // Split out added tokens (leftmost-longest), encode the text between them.
        size_t seg = 0, pos = 0;
        while (pos < text.size()) {
            size_t mb = 0, me = 0;
            token_id mid = -1;
            if (match_added(text, pos, opt.parse_special, mid, mb, me)) {
                size_t seg_end = mb;
                if (seg_end < seg) seg_end = seg;
                if (seg < seg_end) encode_segment(text.substr(seg, seg_end - seg), out, st);
                out.push_back(mid);
                pos = seg = me;
            } else {
                ++pos;
            }
        }
        if (seg < text.size()) encode_segment(text.substr(seg), out, st);
        if (opt.add_special && add_eos_ && eos_ >= 0) out.push_back(eos_);
        return status();
    }
    result<std::vector<token_id>> encode(std::string_view text, const encode_options& opt = {}) const {
        std::vector<token_id> ids;
        status s = encode(text, ids, opt);
        if (!s.ok()) return s;
        return ids;
    }

    // --- decoding
    // Raw bytes of one token as it contributes to output (byte-level: unmapped bytes;
    // SentencePiece: ▁ → space, <0xXX> → the byte). Empty for invalid ids.
    std::string token_bytes(token_id id) const {
        std::string out;
        append_token_bytes(id, out);
        return out;
    }
    void append_token_bytes(token_id id, std::string& out) const {
        if (!valid(id)) return;
        std::string_view t = token_text(id);
        if (kind_ == tokenizer_kind::byte_level_bpe) {
            out.append(t.data(), t.size());
            return;
        }
        if (types_[size_t(id)] == token_type::byte) {
            int b = tok_detail::parse_byte_token(t);
            if (b >= 0) {
                out.push_back(char(b));
                return;
            }
        }
        append_spm_text(t, out);
    }

    // Concatenated raw bytes of `ids` (no leading-space strip, no clean-up). Errors: out_of_range
    // for an id outside the vocabulary.
    status decode_bytes(const token_id* ids, size_t n, std::string& out, bool skip_special = false) const {
        for (size_t i = 0; i < n; ++i) {
            if (!valid(ids[i])) return status(status_code::out_of_range, str("tokenizer: token id ", ids[i], " out of range"));
            if (skip_special && is_special(ids[i])) continue;
            append_token_bytes(ids[i], out);
        }
        return status();
    }

    // Text as Hugging Face's decode() gives it: invalid UTF-8 replaced by U+FFFD (per maximal
    // subpart for byte-level; one per byte token for SentencePiece byte fallback), SentencePiece's
    // leading space stripped, clean_up_tokenization applied when the tokenizer asks for it.
    result<std::string> decode(const std::vector<token_id>& ids, const decode_options& opt = {}) const {
        return decode(ids.data(), ids.size(), opt);
    }
    result<std::string> decode(const token_id* ids, size_t n, const decode_options& opt = {}) const {
        std::string text;
        if (kind_ == tokenizer_kind::byte_level_bpe) {
            std::string bytes;
            NOGGIN_TRY(decode_bytes(ids, n, bytes, opt.skip_special));
            text = unicode::utf8_lossy(bytes);
        } else {
            std::string run;  // pending byte-fallback bytes
            size_t run_tokens = 0;
            auto flush_run = [&]() {
                if (!run_tokens) return;
                if (unicode::utf8_lossy(run) == run) {
                    text += run;
                } else {
                    for (size_t k = 0; k < run_tokens; ++k) text += "\xEF\xBF\xBD";
                }
                run.clear();
                run_tokens = 0;
            };
            for (size_t i = 0; i < n; ++i) {
                token_id id = ids[i];
                if (!valid(id)) return status(status_code::out_of_range, str("tokenizer: token id ", id, " out of range"));
                if (opt.skip_special && is_special(id)) continue;
                int b = types_[size_t(id)] == token_type::byte ? tok_detail::parse_byte_token(token_text(id)) : -1;
                if (b >= 0) {
                    run.push_back(char(b));
                    ++run_tokens;
                    continue;
                }
                flush_run();
                append_spm_text(token_text(id), text);
            }
            flush_run();
            text = unicode::utf8_lossy(text);
            if (strip_leading_space_ && !text.empty() && text[0] == ' ') text.erase(0, 1);
        }
        if (opt.clean_up_spaces && clean_up_spaces_) text = clean_up_tokenization(text);
        return text;
    }

    // transformers' clean_up_tokenization: " ." → ".", " ?" → "?", " !" → "!", " ," → ",",
    // " ' " → "'", " n't" → "n't", " 'm" → "'m", " 's" → "'s", " 've" → "'ve", " 're" → "'re".
    static std::string clean_up_tokenization(std::string s) {
        static const char* const pairs[][2] = {{" .", "."},   {" ?", "?"},   {" !", "!"},     {" ,", ","},
                                               {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"},
                                               {" 've", "'ve"}, {" 're", "'re"}};
        for (const auto& p : pairs) {
            std::string_view from = p[0], to = p[1];
            std::string out;
            out.reserve(s.size());
            size_t i = 0;
            for (;;) {
                size_t j = s.find(from.data(), i, from.size());
                if (j == std::string::npos) break;
                out.append(s, i, j - i);
                out.append(to.data(), to.size());
                i = j + from.size();
            }
            out.append(s, i, std::string::npos);
            s.swap(out);
        }
        return s;
    }

    // Approximate heap bytes held by the tables (for budgets and the benchmark).
    size_t memory_bytes() const {
        size_t m = blob_.capacity() + offsets_.capacity() * sizeof(uint32_t) + types_.capacity() +
                   ids_table_.capacity() * sizeof(id_slot) + pair_table_.capacity() * sizeof(pair_slot) +
                   scores_.capacity() * sizeof(float) + score_rank_.capacity() * sizeof(uint32_t);
        for (const auto& a : added_) m += sizeof(a) + a.content.capacity();
        for (const auto& b : added_by_byte_) m += b.capacity() * sizeof(uint32_t);
        return m;
    }

private:
    friend class detokenizer;

    struct added_token {
        std::string content;  // literal text matched in the input
        token_id id;
        bool special;  // matched only with parse_special
        bool lstrip, rstrip;
    };
    struct id_slot {
        int32_t id;    // token id; -1 = empty
        uint32_t tag;  // high 32 bits of the key's hash
    };
    struct pair_slot {
        uint64_t key;  // (left << 32) | right; ~0 = empty
        int32_t rank;
        int32_t result;
    };
    struct heap_entry {
        uint32_t prio;  // lower merges first
        uint32_t pos;   // left symbol index; ties merge leftmost first
        int32_t left, right, result;
        bool operator>(const heap_entry& o) const { return prio != o.prio ? prio > o.prio : pos > o.pos; }
    };
    // codepoint_flags of the 128 ASCII codepoints.
    struct ascii_flags {
        uint8_t f[128];
        ascii_flags() {
            for (uint32_t c = 0; c < 128; ++c) f[c] = codepoint_flags(c);
        }
    };
    static const ascii_flags& ascii_flag_table() {
        static const ascii_flags t;
        return t;
    }
    // Scratch reused within one encode call.
    struct encode_state {
        std::vector<uint32_t> cps;
        std::vector<uint32_t> offs;
        std::vector<uint8_t> flags;
        std::vector<piece> pieces;
        std::vector<int32_t> sym, prev, next;
        std::vector<heap_entry> heap;
        std::string norm, tmp;
        std::vector<token_id> word;
        // Word cache for this call: open addressing (load <= 1/2, grown by rehash), keys stored
        // back to back in cache_keys, ids back to back in cached.
        struct cache_slot {
            uint64_t hash;     // hash_bytes of the word
            uint32_t key_off;  // into cache_keys; ~0 = empty slot
            uint32_t key_len;  // word bytes
            uint32_t ids_off;  // into cached
            uint32_t ids_len;  // ids of the word
        };
        std::vector<cache_slot> cache;
        size_t cache_count = 0;
        std::string cache_keys;
        std::vector<token_id> cached;
    };

    // --- building
    status build(vocab_spec& spec, const vocab_views& views) {
        kind_ = spec.kind;
        pre_ = spec.pre;
        nfc_ = spec.nfc;
        ignore_merges_ = spec.ignore_merges;
        byte_fallback_ = spec.byte_fallback;
        fuse_unk_ = spec.fuse_unk;
        add_space_prefix_ = spec.add_space_prefix;
        strip_leading_space_ = spec.kind == tokenizer_kind::sentencepiece_bpe && spec.strip_leading_space;
        clean_up_spaces_ = spec.clean_up_spaces;
        add_bos_ = spec.add_bos;
        add_eos_ = spec.add_eos;
        const size_t n = views.token_count;
        if (n == 0 || !views.tokens) return status(status_code::format_error, "tokenizer: empty vocabulary");
        if (n > max_vocab_size)
            return status(status_code::limit_exceeded, str("tokenizer: vocabulary of ", n, " tokens exceeds ", max_vocab_size));
        if (!spec.types.empty() && spec.types.size() != n)
            return status(status_code::format_error,
                          str("tokenizer: ", spec.types.size(), " token types for ", n, " tokens"));
        if (!spec.scores.empty() && spec.scores.size() != n)
            return status(status_code::format_error, str("tokenizer: ", spec.scores.size(), " scores for ", n, " tokens"));
        auto check_id = [&](token_id id, const char* what) -> status {
            if (id < -1 || (id >= 0 && size_t(id) >= n))
                return status(status_code::format_error, str("tokenizer: ", what, " id ", id, " outside the vocabulary of ", n));
            return status();
        };
        NOGGIN_TRY(check_id(spec.unk_id, "unknown-token"));
        NOGGIN_TRY(check_id(spec.bos_id, "BOS"));
        NOGGIN_TRY(check_id(spec.eos_id, "EOS"));
        NOGGIN_TRY(check_id(spec.pad_id, "padding"));
        unk_ = spec.unk_id;
        bos_ = spec.bos_id;
        eos_ = spec.eos_id;
        pad_ = spec.pad_id;

        types_ = spec.types.empty() ? std::vector<token_type>(n, token_type::normal) : std::move(spec.types);
        // Store keys: byte-level normal tokens as raw bytes.
        offsets_.assign(n + 1, 0);
        blob_.clear();
        size_t total = 0;
        for (size_t i = 0; i < n; ++i) total += views.tokens[i].size();
        blob_.reserve(total);
        std::string raw;
        for (size_t i = 0; i < n; ++i) {
            const std::string_view t = views.tokens[i];
            if (t.size() > max_token_bytes)
                return status(status_code::limit_exceeded, str("tokenizer: token ", i, " is ", t.size(), " bytes long"));
            if (kind_ == tokenizer_kind::byte_level_bpe && tok_detail::unmap_bytes(t, raw))
                blob_.append(raw);
            else
                blob_.append(t.data(), t.size());
            if (blob_.size() > 0xFFFFFFF0u) return status(status_code::limit_exceeded, "tokenizer: token strings too large");
            offsets_[i + 1] = uint32_t(blob_.size());
        }
        // String → id table. The first id of a duplicate string wins for encoding; control/added
        // tokens are not entered (they are matched by the added-token scan), except when they are
        // the only owner of the string.
        ids_table_.assign(tok_detail::table_size_for(n), id_slot{-1, 0});
        ids_mask_ = ids_table_.size() - 1;
        for (size_t i = 0; i < n; ++i) {
            token_type ty = types_[i];
            if (ty == token_type::unused) continue;
            std::string_view key = token_text(token_id(i));
            if (key.empty()) continue;
            const uint64_t hash = tok_detail::hash_bytes(key.data(), key.size());
            const uint32_t tag = uint32_t(hash >> 32);
            size_t h = size_t(hash) & ids_mask_;
            bool dup = false;
            while (ids_table_[h].id >= 0) {
                if (ids_table_[h].tag == tag && token_text(ids_table_[h].id) == key) {
                    dup = true;
                    break;
                }
                h = (h + 1) & ids_mask_;
            }
            if (!dup) ids_table_[h] = id_slot{int32_t(i), tag};
        }
        // Byte tokens.
        for (int b = 0; b < 256; ++b) byte_token_[b] = -1;
        if (kind_ == tokenizer_kind::byte_level_bpe) {
            for (int b = 0; b < 256; ++b) {
                char c = char(b);
                byte_token_[b] = lookup(std::string_view(&c, 1));
                if (byte_token_[b] < 0)
                    return status(status_code::format_error,
                                  str("tokenizer: byte-level vocabulary has no token for byte ", b));
            }
        } else {
            for (size_t i = 0; i < n; ++i) {
                int b = tok_detail::parse_byte_token(token_text(token_id(i)));
                if (b >= 0 && (types_[i] == token_type::byte || types_[i] == token_type::normal)) {
                    types_[i] = token_type::byte;
                    if (byte_token_[b] < 0) byte_token_[b] = token_id(i);
                }
            }
        }
        // Merges.
        if (views.merge_count && !views.merges) return status(status_code::invalid_argument, "tokenizer: null merges");
        if (views.merge_count) {
            if (views.merge_count > 0x7FFFFFFF) return status(status_code::limit_exceeded, "tokenizer: too many merges");
            pair_table_.assign(tok_detail::table_size_for(views.merge_count), pair_slot{~uint64_t(0), 0, 0});
            pair_mask_ = pair_table_.size() - 1;
            // In blocks: form the three lookup keys of every merge (left, right, left+right), hash
            // them and prefetch their slots, then probe. The table is megabytes and the probes
            // are random, so this overlaps the cache misses instead of paying them one by one.
            constexpr size_t block = 32;
            std::string arena, raw;
            uint32_t key_off[block * 3 + 1];
            uint64_t hashes[block * 3];
            token_id ids[block * 3];
            uint64_t pair_keys[block];
            for (size_t r0 = 0; r0 < views.merge_count; r0 += block) {
                const size_t cnt = std::min(block, views.merge_count - r0);
                arena.clear();
                for (size_t j = 0; j < cnt; ++j) {
                    const auto& m = views.merges[r0 + j];
                    bool parts_raw = kind_ == tokenizer_kind::byte_level_bpe;
                    for (int part = 0; part < 3; ++part) {
                        key_off[j * 3 + size_t(part)] = uint32_t(arena.size());
                        const size_t at = arena.size();
                        if (part == 2 && parts_raw) {
                            // Both parts were whole mapped characters, so the spelled concatenation
                            // unmaps to the concatenation of their raw bytes.
                            arena.append(arena, key_off[j * 3], at - key_off[j * 3]);
                            continue;
                        }
                        if (part < 2) {
                            std::string_view t = part == 0 ? m.first : m.second;
                            arena.append(t.data(), t.size());
                        } else {
                            arena.append(m.first.data(), m.first.size()).append(m.second.data(), m.second.size());
                        }
                        // Byte-level spellings are looked up by their raw bytes (as lookup_spec does).
                        const bool ok = kind_ == tokenizer_kind::byte_level_bpe &&
                                        tok_detail::unmap_bytes(std::string_view(arena.data() + at, arena.size() - at), raw);
                        if (ok) {
                            arena.resize(at);
                            arena.append(raw);
                        }
                        if (part < 2 && !ok) parts_raw = false;
                    }
                }
                key_off[cnt * 3] = uint32_t(arena.size());
                for (size_t k = 0; k < cnt * 3; ++k) {
                    hashes[k] = tok_detail::hash_bytes(arena.data() + key_off[k], key_off[k + 1] - key_off[k]);
                    tok_detail::prefetch(&ids_table_[size_t(hashes[k]) & ids_mask_]);
                }
                for (size_t k = 0; k < cnt * 3; ++k)
                    ids[k] = lookup_hashed(std::string_view(arena.data() + key_off[k], key_off[k + 1] - key_off[k]), hashes[k]);
                for (size_t j = 0; j < cnt; ++j) {
                    const size_t r = r0 + j;
                    const auto& m = views.merges[r];
                    token_id a = ids[j * 3], b = ids[j * 3 + 1], c = ids[j * 3 + 2];
                    if (a < 0 || b < 0)
                        return status(status_code::format_error,
                                      str("tokenizer: merge ", r, " (\"", m.first, "\" \"", m.second, "\") names a token not in the vocabulary"));
                    if (c < 0)
                        return status(status_code::format_error,
                                      str("tokenizer: merge ", r, " result \"", m.first, m.second, "\" is not in the vocabulary"));
                    pair_keys[j] = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
                    tok_detail::prefetch(&pair_table_[size_t(tok_detail::mix64(pair_keys[j])) & pair_mask_]);
                }
                for (size_t j = 0; j < cnt; ++j) {
                    const uint64_t key = pair_keys[j];
                    size_t h = size_t(tok_detail::mix64(key)) & pair_mask_;
                    // A repeated pair takes its last rank, as HF's map built from the list does.
                    while (pair_table_[h].key != ~uint64_t(0) && pair_table_[h].key != key) h = (h + 1) & pair_mask_;
                    pair_table_[h] = pair_slot{key, int32_t(r0 + j), ids[j * 3 + 2]};
                }
            }
        } else if (kind_ == tokenizer_kind::sentencepiece_bpe && !spec.scores.empty()) {
            // Scores: a higher score merges first; equal scores tie on position.
            scores_ = std::move(spec.scores);
            score_rank_.resize(n);
            for (size_t i = 0; i < n; ++i) {
                uint32_t bits;
                float f = scores_[i];
                if (f != f) f = -3.0e38f;  // NaN ranks last
                std::memcpy(&bits, &f, 4);
                uint32_t ord = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
                score_rank_[i] = ~ord;
            }
        } else if (kind_ == tokenizer_kind::byte_level_bpe) {
            return status(status_code::format_error, "tokenizer: byte-level BPE without merges");
        }
        // Added tokens.
        std::vector<bool> lstrip(n, false), rstrip(n, false);
        for (token_id id : spec.lstrip_ids)
            if (id >= 0 && size_t(id) < n) lstrip[size_t(id)] = true;
        for (token_id id : spec.rstrip_ids)
            if (id >= 0 && size_t(id) < n) rstrip[size_t(id)] = true;
        for (size_t i = 0; i < n; ++i) {
            token_type ty = types_[i];
            if (ty != token_type::control && ty != token_type::user_defined && ty != token_type::unknown) continue;
            const std::string_view content = views.tokens[i];
            if (content.empty()) continue;
            added_.push_back(added_token{std::string(content), token_id(i), ty != token_type::user_defined, bool(lstrip[i]), bool(rstrip[i])});
        }
        // Longest first within each first-byte bucket → leftmost-longest matching.
        std::sort(added_.begin(), added_.end(), [](const added_token& a, const added_token& b) {
            return a.content.size() != b.content.size() ? a.content.size() > b.content.size() : a.id < b.id;
        });
        added_by_byte_.assign(256, {});
        for (size_t k = 0; k < added_.size(); ++k)
            added_by_byte_[static_cast<unsigned char>(added_[k].content[0])].push_back(uint32_t(k));
        has_added_ = !added_.empty();
        return status();
    }

    // Look up a token string as a vocab_spec spells it (byte-level: mapped characters).
    token_id lookup_spec(std::string_view spelled, std::string& scratch) const {
        if (kind_ == tokenizer_kind::byte_level_bpe && tok_detail::unmap_bytes(spelled, scratch)) return lookup(scratch);
        return lookup(spelled);
    }

    token_id lookup(std::string_view key) const {
        if (ids_table_.empty()) return -1;
        return lookup_hashed(key, tok_detail::hash_bytes(key.data(), key.size()));
    }
    token_id lookup_hashed(std::string_view key, uint64_t hash) const {
        const uint32_t tag = uint32_t(hash >> 32);
        size_t h = size_t(hash) & ids_mask_;
        while (ids_table_[h].id >= 0) {
            // The tag (high hash bits) skips nearly every mismatch without touching the strings.
            if (ids_table_[h].tag == tag && token_text(ids_table_[h].id) == key) return ids_table_[h].id;
            h = (h + 1) & ids_mask_;
        }
        return -1;
    }

    bool find_pair(token_id a, token_id b, uint32_t& prio, token_id& result) const {
        if (!pair_table_.empty()) {
            uint64_t key = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
            size_t h = size_t(tok_detail::mix64(key)) & pair_mask_;
            while (pair_table_[h].key != ~uint64_t(0)) {
                if (pair_table_[h].key == key) {
                    prio = uint32_t(pair_table_[h].rank);
                    result = pair_table_[h].result;
                    return true;
                }
                h = (h + 1) & pair_mask_;
            }
            return false;
        }
        if (score_rank_.empty()) return false;
        std::string both;
        std::string_view ta = token_text(a), tb = token_text(b);
        both.reserve(ta.size() + tb.size());
        both.append(ta.data(), ta.size()).append(tb.data(), tb.size());
        token_id c = lookup(both);
        if (c < 0 || types_[size_t(c)] != token_type::normal) return false;
        prio = score_rank_[size_t(c)];
        result = c;
        return true;
    }

    // Leftmost-longest added token at `pos` (with lstrip/rstrip whitespace absorption).
    bool match_added(std::string_view text, size_t pos, bool parse_special, token_id& id, size_t& mb, size_t& me) const {
        if (!has_added_) return false;
        const auto& bucket = added_by_byte_[static_cast<unsigned char>(text[pos])];
        for (uint32_t k : bucket) {
            const added_token& a = added_[k];
            if (a.special && !parse_special) continue;
            if (text.size() - pos < a.content.size() || text.compare(pos, a.content.size(), a.content) != 0) continue;
            id = a.id;
            mb = pos;
            me = pos + a.content.size();
            if (a.lstrip)
                while (mb > 0 && tok_detail::is_ascii_space(text[mb - 1])) --mb;
            if (a.rstrip)
                while (me < text.size() && tok_detail::is_ascii_space(text[me])) ++me;
            return true;
        }
        return false;
    }

    static void append_spm_text(std::string_view t, std::string& out) {
        // ▁ (E2 96 81) → ' '
        size_t i = 0;
        while (i < t.size()) {
            if (i + 2 < t.size() && t[i] == '\xE2' && t[i + 1] == '\x96' && t[i + 2] == '\x81') {
                out.push_back(' ');
                i += 3;
            } else {
                out.push_back(t[i++]);
            }
        }
    }

    void encode_segment(std::string_view seg, std::vector<token_id>& out, encode_state& st) const {
        if (kind_ == tokenizer_kind::sentencepiece_bpe) {
            encode_spm(seg, out, st);
            return;
        }
        std::string_view text = seg;
        if (nfc_ && !unicode::is_nfc_quick(seg)) {
            st.norm = unicode::nfc(seg);
            text = st.norm;
        }
        // Decode codepoints with byte offsets and classify them, into arrays sized once for the
        // segment (a codepoint takes at least one byte), so a 1 MB segment is not grown by doubling.
        const size_t cap = text.size() + 1;
        if (st.cps.size() < cap) {
            st.cps.resize(cap);
            st.offs.resize(cap);
            st.flags.resize(cap);
        }
        const ascii_flags& af = ascii_flag_table();
        uint32_t* cps = st.cps.data();
        uint32_t* offs = st.offs.data();
        uint8_t* flags = st.flags.data();
        size_t i = 0, k = 0;
        while (i < text.size()) {
            const unsigned char c = static_cast<unsigned char>(text[i]);
            offs[k] = uint32_t(i);
            if (c < 0x80) {  // ASCII: no decode, flags from a table
                cps[k] = c;
                flags[k] = af.f[c];
                ++i;
            } else {
                size_t len = 1;
                uint32_t cp = unicode::decode_utf8(text.data() + i, text.size() - i, len);
                cps[k] = cp;
                flags[k] = codepoint_flags(cp);
                i += len;
            }
            ++k;
        }
        offs[k] = uint32_t(text.size());
        st.pieces.clear();
        pre_tokenize(pre_, cps, flags, uint32_t(k), st.pieces);
        for (const piece& p : st.pieces) {
            std::string_view word = text.substr(offs[p.begin], offs[p.end] - offs[p.begin]);
            encode_word(word, out, st);
        }
    }

    void encode_word(std::string_view word, std::vector<token_id>& out, encode_state& st) const {
        if (word.size() == 1) {
            out.push_back(byte_token_[static_cast<unsigned char>(word[0])]);
            return;
        }
        const uint64_t hash = tok_detail::hash_bytes(word.data(), word.size());
        if (!st.cache.empty()) {
            const size_t mask = st.cache.size() - 1;
            for (size_t h = size_t(hash) & mask;; h = (h + 1) & mask) {
                const auto& e = st.cache[h];
                if (e.key_off == ~uint32_t(0)) break;
                if (e.hash == hash && e.key_len == word.size() &&
                    std::memcmp(st.cache_keys.data() + e.key_off, word.data(), word.size()) == 0) {
                    out.insert(out.end(), st.cached.begin() + e.ids_off, st.cached.begin() + e.ids_off + e.ids_len);
                    return;
                }
            }
        }
        st.word.clear();
        token_id whole = ignore_merges_ ? lookup(word) : -1;
        if (whole >= 0 && types_[size_t(whole)] == token_type::normal) {
            st.word.push_back(whole);
        } else {
            for (unsigned char b : word) st.word.push_back(byte_token_[b]);
            merge(st.word, st);
        }
        out.insert(out.end(), st.word.begin(), st.word.end());
        // At most 64 Ki words, and keys/ids stay far below 4 GiB (the call's text is < 2 GiB).
        if (st.cache_count < 65536 && st.cache_keys.size() + word.size() < 0x7FFFFFFFu) {
            if ((st.cache_count + 1) * 2 > st.cache.size()) grow_cache(st);
            const size_t mask = st.cache.size() - 1;
            size_t h = size_t(hash) & mask;
            while (st.cache[h].key_off != ~uint32_t(0)) h = (h + 1) & mask;
            st.cache[h] = encode_state::cache_slot{hash, uint32_t(st.cache_keys.size()), uint32_t(word.size()),
                                                   uint32_t(st.cached.size()), uint32_t(st.word.size())};
            ++st.cache_count;
            st.cache_keys.append(word.data(), word.size());
            st.cached.insert(st.cached.end(), st.word.begin(), st.word.end());
        }
    }

    static void grow_cache(encode_state& st) {
        std::vector<encode_state::cache_slot> old;
        old.swap(st.cache);
        st.cache.assign(old.empty() ? 1024 : old.size() * 2, encode_state::cache_slot{0, ~uint32_t(0), 0, 0, 0});
        const size_t mask = st.cache.size() - 1;
        for (const auto& e : old) {
            if (e.key_off == ~uint32_t(0)) continue;
            size_t h = size_t(e.hash) & mask;
            while (st.cache[h].key_off != ~uint32_t(0)) h = (h + 1) & mask;
            st.cache[h] = e;
        }
    }

    void encode_spm(std::string_view seg, std::vector<token_id>& out, encode_state& st) const {
        if (seg.empty()) return;
        std::string& t = st.norm;
        t.clear();
        if (nfc_) {
            st.tmp = unicode::nfc(seg);
            seg = st.tmp;
        }
        if (add_space_prefix_) t += "\xE2\x96\x81";
        for (char c : seg) {
            if (c == ' ')
                t += "\xE2\x96\x81";
            else
                t.push_back(c);
        }
        // Initial symbols: characters in the vocabulary, else byte-fallback tokens, else <unk>.
        st.word.clear();
        size_t i = 0;
        while (i < t.size()) {
            size_t len = 1;
            unicode::decode_utf8(t.data() + i, t.size() - i, len);
            token_id id = lookup(std::string_view(t.data() + i, len));
            if (id >= 0 && types_[size_t(id)] != token_type::normal && types_[size_t(id)] != token_type::byte) id = -1;
            if (id >= 0) {
                st.word.push_back(id);
            } else {
                bool all = byte_fallback_;
                for (size_t k = 0; all && k < len; ++k) all = byte_token_[static_cast<unsigned char>(t[i + k])] >= 0;
                if (all) {
                    for (size_t k = 0; k < len; ++k) st.word.push_back(byte_token_[static_cast<unsigned char>(t[i + k])]);
                } else if (unk_ >= 0) {
                    if (!(fuse_unk_ && !st.word.empty() && st.word.back() == unk_)) st.word.push_back(unk_);
                }
            }
            i += len;
        }
        merge(st.word, st);
        out.insert(out.end(), st.word.begin(), st.word.end());
    }

    // BPE: repeatedly merge the adjacent pair with the lowest priority (leftmost on ties).
    void merge(std::vector<token_id>& w, encode_state& st) const {
        const size_t n = w.size();
        if (n < 2) return;
        st.prev.resize(n);
        st.next.resize(n);
        for (size_t i = 0; i < n; ++i) {
            st.prev[i] = int32_t(i) - 1;
            st.next[i] = (i + 1 < n) ? int32_t(i + 1) : -1;
        }
        auto& heap = st.heap;
        heap.clear();
        auto cmp = [](const heap_entry& a, const heap_entry& b) { return a > b; };
        auto push = [&](int32_t l) {
            if (l < 0) return;
            int32_t r = st.next[size_t(l)];
            if (r < 0) return;
            uint32_t prio;
            token_id res;
            if (find_pair(w[size_t(l)], w[size_t(r)], prio, res)) {
                heap.push_back(heap_entry{prio, uint32_t(l), w[size_t(l)], w[size_t(r)], res});
                std::push_heap(heap.begin(), heap.end(), cmp);
            }
        };
        for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
        while (!heap.empty()) {
            std::pop_heap(heap.begin(), heap.end(), cmp);
            heap_entry e = heap.back();
            heap.pop_back();
            size_t l = e.pos;
            if (w[l] != e.left) continue;  // left symbol changed or removed (removed ones are -2)
            int32_t r = st.next[l];
            if (r < 0 || w[size_t(r)] != e.right) continue;
            w[l] = e.result;
            w[size_t(r)] = -2;
            st.next[l] = st.next[size_t(r)];
            if (st.next[l] >= 0) st.prev[size_t(st.next[l])] = int32_t(l);
            push(st.prev[l]);
            push(int32_t(l));
        }
        size_t k = 0;
        for (size_t i = 0; i < n; ++i)
            if (w[i] != -2) w[k++] = w[i];
        w.resize(k);
    }

    tokenizer_kind kind_ = tokenizer_kind::byte_level_bpe;
    pre_tokenizer pre_ = pre_tokenizer::none;
    bool nfc_ = false;
    bool ignore_merges_ = false;
    bool byte_fallback_ = false;
    bool fuse_unk_ = false;
    bool add_space_prefix_ = true;
    bool strip_leading_space_ = false;
    bool clean_up_spaces_ = false;
    bool add_bos_ = false;
    bool add_eos_ = false;
    bool has_added_ = false;
    token_id unk_ = -1, bos_ = -1, eos_ = -1, pad_ = -1;
    std::string blob_;                 // all token keys back to back
    std::vector<uint32_t> offsets_;    // vocab_size + 1 offsets into blob_
    std::vector<token_type> types_;    // per token
    std::vector<id_slot> ids_table_;   // open addressing: key string → id (with a hash tag)
    size_t ids_mask_ = 0;
    std::vector<pair_slot> pair_table_;  // open addressing: (left, right) → (rank, merged id)
    size_t pair_mask_ = 0;
    std::vector<float> scores_;          // SentencePiece scores when merging by score
    std::vector<uint32_t> score_rank_;   // priority derived from scores (lower merges first)
    token_id byte_token_[256] = {};      // byte-level: byte → token; SentencePiece: byte → <0xXX>
    std::vector<added_token> added_;     // longest first
    std::vector<std::vector<uint32_t>> added_by_byte_;  // first byte → indices into added_
};

// ---------------------------------------------------------------------------------------------
// detokenizer — streaming decode that emits only complete UTF-8 sequences.
//
// Bytes that can never form valid UTF-8 are replaced by U+FFFD as soon as that is certain; an
// incomplete sequence at the end is held back until the next token or flush() (which replaces it).
// For SentencePiece tokenizers the first leading space of the stream is dropped, as decode() does.
class detokenizer {
public:
    explicit detokenizer(const tokenizer& tok, bool skip_special = false) : tok_(&tok), skip_special_(skip_special) {}

    // Append the text that `id` completes to `out`. Errors: out_of_range for an invalid id
    // (the stream is left unchanged).
    status push(token_id id, std::string& out) {
        if (!tok_->valid(id)) return status(status_code::out_of_range, str("detokenizer: token id ", id, " out of range"));
        if (skip_special_ && tok_->is_special(id)) return status();
        tok_->append_token_bytes(id, pending_);
        if (!started_ && tok_->strip_leading_space_ && !pending_.empty()) {
            if (pending_[0] == ' ') pending_.erase(0, 1);
            started_ = !pending_.empty();
        } else if (!pending_.empty()) {
            started_ = true;
        }
        size_t keep = unicode::utf8_incomplete_tail(pending_);
        size_t emit = pending_.size() - keep;
        if (emit) {
            out += unicode::utf8_lossy(std::string_view(pending_.data(), emit));
            pending_.erase(0, emit);
        }
        return status();
    }
    // Emit what is held back (an incomplete sequence becomes U+FFFD) and end the stream.
    void flush(std::string& out) {
        if (!pending_.empty()) out += unicode::utf8_lossy(pending_);
        pending_.clear();
    }
    void reset() {
        pending_.clear();
        started_ = false;
    }
    // Bytes held back waiting for the rest of a UTF-8 sequence (0..3).
    size_t pending_bytes() const { return pending_.size(); }

private:
    const tokenizer* tok_;
    bool skip_special_;
    bool started_ = false;
    std::string pending_;
};

}  // namespace noggin::text
