// noggin/text/tokenizer_json.hpp — load a tokenizer from Hugging Face tokenizer.json (+ tokenizer_config.json).
//
// Supported: model BPE; normalizer null / NFC / Sequence of them / SentencePiece's
// Prepend("▁") + Replace(" ", "▁"); pre_tokenizer null / ByteLevel(use_regex) / Split with the
// Qwen2, Llama-3, GPT-2 regexes / DeepSeek-V3's three Splits, followed by ByteLevel; post-processor
// TemplateProcessing (BOS/EOS around $A), ByteLevel, Sequence. Anything else is a status error that
// names it. tokenizer_config.json (optional) supplies add_bos_token / add_eos_token (they override
// the post-processor, as transformers' Llama tokenizers do), bos/eos/pad token names and
// clean_up_tokenization_spaces.
//
//     std::string json = read("tokenizer.json"), config = read("tokenizer_config.json");
//     noggin::result<noggin::text::tokenizer> tok = noggin::text::tokenizer_from_json(json, config);
//     if (!tok.ok()) report(tok.status().message());   // e.g. "tokenizer.json: unsupported normalizer NFKC"
//
// Sections: helpers · normalizer · pre_tokenizer · post_processor · model · config · entry points

#pragma once

#include <algorithm>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json.hpp"
#include "tokenizer.hpp"

namespace noggin::text {

namespace tok_json_detail {

inline status bad(std::string_view what) {
    return status(status_code::format_error, str("tokenizer.json: ", what));
}
inline status unsupported(std::string_view what) {
    return status(status_code::unsupported, str("tokenizer.json: unsupported ", what));
}

// Regex text with literal CR/LF written as \r / \n so that equivalent spellings compare equal.
inline std::string canon_regex(std::string_view r) {
    std::string out;
    for (char c : r) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else out.push_back(c);
    }
    return out;
}

inline const char* const regex_qwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline const char* const regex_llama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline const char* const regex_gpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
inline const char* const regex_dsv3_1 = R"(\p{N}{1,3})";
inline const char* const regex_dsv3_2 = "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+";
inline const char* const regex_dsv3_3 =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct pipeline {
    bool nfc = false;
    bool spm_prepend = false;   // Prepend("▁")
    bool spm_replace = false;   // Replace(" ", "▁")
    bool byte_level = false;    // a ByteLevel pre-tokenizer or decoder was seen
    pre_tokenizer pre = pre_tokenizer::none;
    bool strip = false;         // decoder Strip(start=1)
    bool byte_fallback_decoder = false;
};

inline status parse_normalizer(const json_value& n, pipeline& p, int depth = 0) {
    if (n.is_null()) return status();
    if (!n.is_object()) return bad("normalizer is not an object");
    const std::string& type = n.get("type").as_string();
    if (type == "NFC") {
        p.nfc = true;
        return status();
    }
    if (type == "Sequence") {
        const json_value& list = n.get("normalizers");
        if (!list.is_array()) return bad("normalizer Sequence without a normalizers array");
        if (depth > 4) return bad("normalizer Sequence nested too deeply");
        for (size_t i = 0; i < list.size(); ++i) NOGGIN_TRY(parse_normalizer(list[i], p, depth + 1));
        return status();
    }
    if (type == "Prepend") {
        if (n.get("prepend").as_string() != "\xE2\x96\x81") return unsupported("normalizer Prepend of anything but \"\xE2\x96\x81\"");
        p.spm_prepend = true;
        return status();
    }
    if (type == "Replace") {
        const json_value& pat = n.get("pattern");
        if (pat.get("String").as_string() != " " || n.get("content").as_string() != "\xE2\x96\x81")
            return unsupported("normalizer Replace other than \" \" -> \"\xE2\x96\x81\"");
        p.spm_replace = true;
        return status();
    }
    if (type.empty()) return bad("normalizer without a type");
    return unsupported(str("normalizer ", type));
}

inline status parse_pre(const json_value& n, pipeline& p) {
    if (n.is_null()) return status();
    if (!n.is_object()) return bad("pre_tokenizer is not an object");
    const std::string& type = n.get("type").as_string();
    std::vector<const json_value*> steps;
    if (type == "Sequence") {
        const json_value& list = n.get("pretokenizers");
        if (!list.is_array()) return bad("pre_tokenizer Sequence without a pretokenizers array");
        for (size_t i = 0; i < list.size(); ++i) steps.push_back(&list[i]);
    } else {
        steps.push_back(&n);
    }
    std::vector<std::string> regexes;
    for (const json_value* s : steps) {
        if (!s->is_object()) return bad("pre_tokenizer step is not an object");
        const std::string& t = s->get("type").as_string();
        if (t == "ByteLevel") {
            p.byte_level = true;
            if (s->get("add_prefix_space").as_bool(false)) return unsupported("pre_tokenizer ByteLevel with add_prefix_space");
            if (s->get("use_regex").as_bool(true)) regexes.push_back(regex_gpt2);
        } else if (t == "Split") {
            const json_value& pat = s->get("pattern");
            if (!pat.get("Regex").is_string()) return unsupported("pre_tokenizer Split without a Regex pattern");
            if (s->get("behavior").as_string() != "Isolated") return unsupported(str("pre_tokenizer Split behavior ", s->get("behavior").as_string()));
            if (s->get("invert").as_bool(false)) return unsupported("pre_tokenizer Split with invert");
            regexes.push_back(canon_regex(pat.get("Regex").as_string()));
        } else {
            return unsupported(str("pre_tokenizer ", t.empty() ? std::string("(no type)") : t));
        }
    }
    if (regexes.empty()) {
        p.pre = pre_tokenizer::none;
    } else if (regexes.size() == 1 && regexes[0] == regex_qwen2) {
        p.pre = pre_tokenizer::qwen2;
    } else if (regexes.size() == 1 && regexes[0] == regex_llama3) {
        p.pre = pre_tokenizer::llama3;
    } else if (regexes.size() == 1 && regexes[0] == regex_gpt2) {
        p.pre = pre_tokenizer::gpt2;
    } else if (regexes.size() == 3 && regexes[0] == regex_dsv3_1 && regexes[1] == regex_dsv3_2 &&
               regexes[2] == canon_regex(regex_dsv3_3)) {
        p.pre = pre_tokenizer::deepseek_v3;
    } else {
        std::string names;
        for (const auto& r : regexes) names += str(names.empty() ? "" : ", ", "/", r.substr(0, 80), "/");
        return unsupported(str("pre_tokenizer regex ", names));
    }
    return status();
}

inline status parse_decoder(const json_value& n, pipeline& p, int depth = 0) {
    if (n.is_null() || !n.is_object()) return status();  // the decoder only refines decode()
    const std::string& type = n.get("type").as_string();
    if (type == "ByteLevel") p.byte_level = true;
    if (type == "ByteFallback") p.byte_fallback_decoder = true;
    if (type == "Strip" && n.get("start").as_int(0) >= 1 && n.get("content").as_string() == " ") p.strip = true;
    if (type == "Sequence" && depth < 4) {
        const json_value& list = n.get("decoders");
        for (size_t i = 0; i < list.size(); ++i) NOGGIN_TRY(parse_decoder(list[i], p, depth + 1));
    }
    return status();
}

// BOS/EOS names from a post-processor (TemplateProcessing single: SpecialToken before/after $A).
inline void parse_post(const json_value& n, std::string& bos, std::string& eos, bool& any, int depth = 0) {
    if (!n.is_object()) return;
    const std::string& type = n.get("type").as_string();
    if (type == "Sequence" && depth < 4) {
        const json_value& list = n.get("processors");
        for (size_t i = 0; i < list.size(); ++i) parse_post(list[i], bos, eos, any, depth + 1);
        return;
    }
    if (type != "TemplateProcessing") return;
    any = true;
    const json_value& single = n.get("single");
    bool seen_seq = false;
    for (size_t i = 0; i < single.size(); ++i) {
        const json_value& item = single[i];
        if (item.contains("Sequence")) {
            seen_seq = true;
            continue;
        }
        const json_value& sp = item.get("SpecialToken");
        if (!sp.is_object()) continue;
        const std::string& name = sp.get("id").as_string();
        // Map the name through special_tokens (name → ids[0]'s token); the name is the token here.
        if (!seen_seq && bos.empty()) bos = name;
        if (seen_seq && eos.empty()) eos = name;
    }
}

inline const std::string& token_name(const json_value& v) {
    if (v.is_object()) return v.get("content").as_string();
    return v.as_string();
}

}  // namespace tok_json_detail

namespace tok_json_detail {

// What the streaming walk of tokenizer.json keeps: the small members as trees, model.vocab and
// model.merges as views into the text (or into `owned` for strings that had escapes).
enum class member_state : uint8_t { absent, streamed, other };

struct json_walk {
    json_value root = json_value::make_object();   // top-level members except "model"
    member_state model = member_state::absent;     // streamed = the last "model" was an object
    json_value model_rest = json_value::make_object();  // model members except vocab and merges
    member_state vocab = member_state::absent;     // streamed = the last model.vocab was an object
    member_state merges = member_state::absent;    // streamed = the last model.merges was an array
    std::vector<std::pair<std::string_view, int64_t>> vocab_entries;  // key, id (valid ids only)
    bool bad_vocab = false;                        // some value was not a valid id
    std::string first_bad_vocab_key;               // the first such key (64 bytes at most)
    std::vector<std::pair<std::string_view, std::string_view>> merge_pairs;  // rank order
    int bad_merge = 0;  // 0 = none, 1 = "a b" string without exactly one space, 2 = neither form
    size_t first_bad_merge = 0;
    std::deque<std::string> owned;  // decoded strings that had escapes (a deque never moves them)
};

// A string read through `scratch` must outlive the next read: copy it into `owned` when decoded.
inline std::string_view keep(std::string_view v, const std::string& scratch, std::deque<std::string>& owned) {
    if (v.data() == scratch.data()) {
        owned.emplace_back(v);
        return owned.back();
    }
    return v;
}

// After 1024 entries, reserve for the rest at the byte rate seen so far (an over-estimate when
// more of the document follows: that capacity is never touched), so a 151k-entry list is not
// copied through every doubling (that copying and its page faults were 3/4 of the walk's time).
template <class V>
void reserve_by_rate(V& v, const json_parser& ps, size_t start) {
    if (v.size() != 1024) return;
    const size_t used = ps.offset() - start, left = ps.input_size() - ps.offset();
    if (used == 0) return;
    const double guess = double(v.size()) * (1.0 + double(left) / double(used)) * 1.05;
    // An entry takes >= 4 bytes; at most 1 Mi entries are reserved (beyond that, plain growth).
    v.reserve(size_t(std::min({guess, double(left) / 4.0 + 1024.0, double(size_t(1) << 20)})));
}

inline status walk_vocab(json_parser& ps, json_walk& w) {
    w.vocab = member_state::streamed;
    w.vocab_entries.clear();
    w.bad_vocab = false;
    NOGGIN_TRY(ps.enter_object(3));
    const size_t start = ps.offset();
    bool first = true, more = false;
    std::string scratch;
    for (;;) {
        std::string_view key;
        NOGGIN_TRY(ps.next_member(first, more, key, scratch));
        if (!more) break;
        key = keep(key, scratch, w.owned);
        json_value v;  // normally a number: no allocation
        NOGGIN_TRY(ps.read_value(v, 3));
        if (!v.is_int() || v.as_int() < 0 || uint64_t(v.as_int()) >= max_vocab_size) {
            if (!w.bad_vocab) w.first_bad_vocab_key = std::string(key.substr(0, 64));
            w.bad_vocab = true;
            continue;
        }
        w.vocab_entries.emplace_back(key, v.as_int());
        reserve_by_rate(w.vocab_entries, ps, start);
    }
    return status();
}

// model.merges: "a b" strings or ["a", "b"] pairs, read in place.
inline status walk_merges(json_parser& ps, json_walk& w) {
    w.merges = member_state::streamed;
    w.merge_pairs.clear();
    w.bad_merge = 0;
    NOGGIN_TRY(ps.enter_array(3));
    const size_t start = ps.offset();
    bool first = true, more = false;
    std::string scratch;
    size_t index = 0;
    auto mark = [&](int why) {
        if (!w.bad_merge) {
            w.bad_merge = why;
            w.first_bad_merge = index;
        }
    };
    for (;; ++index) {
        NOGGIN_TRY(ps.next_element(first, more));
        if (!more) break;
        const char c = ps.peek();
        if (c == '"') {
            std::string_view m;
            NOGGIN_TRY(ps.read_string(m, scratch));
            m = keep(m, scratch, w.owned);
            size_t sp = m.find(' ');
            if (sp == std::string_view::npos || m.find(' ', sp + 1) != std::string_view::npos) mark(1);
            else w.merge_pairs.emplace_back(m.substr(0, sp), m.substr(sp + 1));
            reserve_by_rate(w.merge_pairs, ps, start);
        } else if (c == '[') {
            NOGGIN_TRY(ps.enter_array(4));
            bool f2 = true, more2 = false;
            std::string_view parts[2];
            size_t count = 0;
            bool strings = true;
            for (;;) {
                NOGGIN_TRY(ps.next_element(f2, more2));
                if (!more2) break;
                if (ps.peek() == '"' && count < 2) {
                    NOGGIN_TRY(ps.read_string(parts[count], scratch));
                    parts[count] = keep(parts[count], scratch, w.owned);
                } else {
                    json_value v;
                    NOGGIN_TRY(ps.read_value(v, 4));
                    strings = false;
                }
                ++count;
            }
            if (count != 2 || !strings) mark(2);
            else w.merge_pairs.emplace_back(parts[0], parts[1]);
            reserve_by_rate(w.merge_pairs, ps, start);
        } else {
            json_value v;
            NOGGIN_TRY(ps.read_value(v, 3));
            mark(2);
        }
    }
    return status();
}

inline status walk_model(json_parser& ps, json_walk& w) {
    w.model = member_state::streamed;
    w.model_rest = json_value::make_object();
    w.vocab = w.merges = member_state::absent;
    w.vocab_entries.clear();
    w.merge_pairs.clear();
    w.bad_vocab = false;
    w.bad_merge = 0;
    NOGGIN_TRY(ps.enter_object(2));
    bool first = true, more = false;
    std::string scratch;
    for (;;) {
        std::string_view key;
        NOGGIN_TRY(ps.next_member(first, more, key, scratch));
        if (!more) break;
        const char c = ps.peek();
        if (key == "vocab" && c == '{') {
            NOGGIN_TRY(walk_vocab(ps, w));
        } else if (key == "merges" && c == '[') {
            NOGGIN_TRY(walk_merges(ps, w));
        } else {
            if (key == "vocab") w.vocab = member_state::other;
            if (key == "merges") w.merges = member_state::other;
            std::string k(key);
            json_value v;
            NOGGIN_TRY(ps.read_value(v, 2));
            w.model_rest.append_member(std::move(k), std::move(v));
        }
    }
    return status();
}

// Walk the whole document (every byte validated as json_parse would), keeping vocab and merges flat.
inline status walk(std::string_view text, json_walk& w) {
    json_parser ps(text.data() ? text.data() : "", text.size(), json_limits{});
    NOGGIN_TRY(ps.stream_begin());
    if (ps.peek() != '{') {
        json_value v;
        NOGGIN_TRY(ps.read_value(v, 0));
        NOGGIN_TRY(ps.stream_end());
        return bad("top level is not an object");
    }
    NOGGIN_TRY(ps.enter_object(1));
    bool first = true, more = false;
    std::string scratch;
    for (;;) {
        std::string_view key;
        NOGGIN_TRY(ps.next_member(first, more, key, scratch));
        if (!more) break;
        if (key == "model" && ps.peek() == '{') {
            NOGGIN_TRY(walk_model(ps, w));
        } else {
            if (key == "model") w.model = member_state::other;
            std::string k(key);
            json_value v;
            NOGGIN_TRY(ps.read_value(v, 1));
            w.root.append_member(std::move(k), std::move(v));
        }
    }
    return ps.stream_end();
}

// tokenizer.json + tokenizer_config.json → spec (tokens and merges left empty) + views in `w`.
inline status load(std::string_view tokenizer_json, std::string_view config_json, json_walk& w, vocab_spec& spec,
                   std::vector<std::string_view>& tokens) {
    {
        status s = walk(tokenizer_json, w);
        if (!s.ok()) {
            if (s.message().rfind("json:", 0) == 0) return s.with_context("tokenizer.json");
            return s;
        }
    }
    const json_value& root = w.root;

    pipeline p;
    NOGGIN_TRY(parse_normalizer(root.get("normalizer"), p));
    NOGGIN_TRY(parse_pre(root.get("pre_tokenizer"), p));
    NOGGIN_TRY(parse_decoder(root.get("decoder"), p));

    if (w.model != member_state::streamed) return bad("missing model object");
    const json_value& model = w.model_rest;
    const json_value* mtype = model.find("type");
    if (mtype && !mtype->is_string()) return bad("model.type is not a string");
    if (mtype && mtype->as_string() != "BPE") return unsupported(str("model type ", mtype->as_string()));
    if (w.vocab != member_state::streamed) return bad("model.vocab is missing or not an object");
    if (w.merges != member_state::streamed) return bad("model.merges is missing or not an array");
    if (!model.get("dropout").is_null() && model.get("dropout").as_double(0.0) != 0.0)
        return unsupported("BPE dropout");
    const std::string& prefix = model.get("continuing_subword_prefix").as_string();
    const std::string& suffix = model.get("end_of_word_suffix").as_string();
    if (!prefix.empty() || !suffix.empty()) return unsupported("BPE continuing_subword_prefix/end_of_word_suffix");

    const bool spm = p.spm_prepend || p.spm_replace || model.get("byte_fallback").as_bool(false);
    if (spm && p.byte_level) return unsupported("mix of ByteLevel and SentencePiece normalizers");
    if (!spm && !p.byte_level) return unsupported("BPE without ByteLevel or SentencePiece-style normalization");
    if (spm && p.pre != pre_tokenizer::none) return unsupported("pre_tokenizer together with SentencePiece normalization");
    spec.kind = spm ? tokenizer_kind::sentencepiece_bpe : tokenizer_kind::byte_level_bpe;
    spec.pre = p.pre;
    spec.nfc = p.nfc;
    spec.add_space_prefix = p.spm_prepend;
    spec.strip_leading_space = p.strip;
    spec.ignore_merges = model.get("ignore_merges").as_bool(false);
    spec.byte_fallback = model.get("byte_fallback").as_bool(false);
    spec.fuse_unk = model.get("fuse_unk").as_bool(false);

    // Vocabulary: string → id.
    if (w.bad_vocab) return bad(str("model.vocab[\"", w.first_bad_vocab_key, "\"] is not a valid id"));
    size_t max_id = 0;
    for (const auto& e : w.vocab_entries) max_id = std::max(max_id, size_t(e.second));
    const json_value& added = root.get("added_tokens");
    if (!added.is_null() && !added.is_array()) return bad("added_tokens is not an array");
    for (size_t i = 0; i < added.size(); ++i) {
        const json_value& a = added[i];
        if (!a.is_object() || !a.get("id").is_int() || !a.get("content").is_string())
            return bad(str("added_tokens[", i, "] needs an integer id and a string content"));
        int64_t id = a.get("id").as_int();
        if (id < 0 || uint64_t(id) >= max_vocab_size) return bad(str("added_tokens[", i, "] id ", id, " out of range"));
        if (a.get("content").as_string().empty()) return bad(str("added_tokens[", i, "] has empty content"));
        max_id = std::max(max_id, size_t(id));
    }
    if (w.vocab_entries.empty() && added.size() == 0) return bad("empty vocabulary");
    const size_t n = max_id + 1;
    tokens.assign(n, std::string_view());
    spec.types.assign(n, token_type::unused);
    for (const auto& e : w.vocab_entries) {
        size_t id = size_t(e.second);
        if (spec.types[id] != token_type::unused) return bad(str("model.vocab gives id ", id, " to two strings"));
        tokens[id] = e.first;
        spec.types[id] = token_type::normal;
    }
    for (size_t i = 0; i < added.size(); ++i) {
        const json_value& a = added[i];
        size_t id = size_t(a.get("id").as_int());
        const std::string& content = a.get("content").as_string();
        if (spec.types[id] == token_type::normal && tokens[id] != content)
            return bad(str("added token ", id, " \"", content.substr(0, 64), "\" conflicts with the vocabulary"));
        tokens[id] = content;  // w.root stays put until the tokenizer is built
        spec.types[id] = a.get("special").as_bool(false) ? token_type::control : token_type::user_defined;
        if (a.get("lstrip").as_bool(false)) spec.lstrip_ids.push_back(token_id(id));
        if (a.get("rstrip").as_bool(false)) spec.rstrip_ids.push_back(token_id(id));
    }
    // Merges: "a b" strings or ["a", "b"] pairs.
    if (w.bad_merge == 1) return bad(str("merges[", w.first_bad_merge, "] is not two tokens separated by one space"));
    if (w.bad_merge == 2) return bad(str("merges[", w.first_bad_merge, "] is neither \"a b\" nor [\"a\", \"b\"]"));
    auto find_token = [&](const std::string& name) -> token_id {
        if (name.empty()) return -1;
        for (size_t i = 0; i < n; ++i)
            if (spec.types[i] != token_type::normal && spec.types[i] != token_type::unused && tokens[i] == name)
                return token_id(i);
        // As a lookup in the vocab object: the last occurrence of the key wins.
        for (size_t i = w.vocab_entries.size(); i-- > 0;)
            if (w.vocab_entries[i].first == name) return token_id(w.vocab_entries[i].second);
        return -1;
    };
    const json_value& unk = model.get("unk_token");
    if (!unk.is_null() && !unk.is_string()) return bad("model.unk_token is not a string");
    if (unk.is_string()) {
        spec.unk_id = find_token(unk.as_string());
        // A control token stays special; encode still uses unk_id for characters without a token.
        if (spec.unk_id >= 0 && spec.types[size_t(spec.unk_id)] != token_type::control) spec.types[size_t(spec.unk_id)] = token_type::unknown;
    }

    // Post-processor default rule.
    std::string bos_name, eos_name;
    bool template_post = false;
    parse_post(root.get("post_processor"), bos_name, eos_name, template_post);
    spec.add_bos = !bos_name.empty();
    spec.add_eos = !eos_name.empty();

    // tokenizer_config.json.
    std::string cfg_bos, cfg_eos, cfg_pad;
    if (!config_json.empty()) {
        result<json_value> cfg = json_parse(config_json);
        if (!cfg.ok()) return status(cfg.status()).with_context("tokenizer_config.json");
        const json_value& c = *cfg;
        if (!c.is_object()) return status(status_code::format_error, "tokenizer_config.json: top level is not an object");
        const json_value* ab = c.find("add_bos_token");
        if (ab && !ab->is_bool() && !ab->is_null()) return status(status_code::format_error, "tokenizer_config.json: add_bos_token is not a boolean");
        const json_value* ae = c.find("add_eos_token");
        if (ae && !ae->is_bool() && !ae->is_null()) return status(status_code::format_error, "tokenizer_config.json: add_eos_token is not a boolean");
        if (ab && ab->is_bool()) spec.add_bos = ab->as_bool();
        if (ae && ae->is_bool()) spec.add_eos = ae->as_bool();
        cfg_bos = token_name(c.get("bos_token"));
        cfg_eos = token_name(c.get("eos_token"));
        cfg_pad = token_name(c.get("pad_token"));
        const json_value* cu = c.find("clean_up_tokenization_spaces");
        if (cu && cu->is_bool()) spec.clean_up_spaces = cu->as_bool();
    }
    spec.bos_id = find_token(!cfg_bos.empty() ? cfg_bos : bos_name);
    spec.eos_id = find_token(!cfg_eos.empty() ? cfg_eos : eos_name);
    spec.pad_id = find_token(cfg_pad);
    // The post-processor's own BOS wins when the config names none.
    if (spec.add_bos && !bos_name.empty() && cfg_bos.empty()) spec.bos_id = find_token(bos_name);
    if (spec.add_bos && spec.bos_id < 0) spec.add_bos = false;
    if (spec.add_eos && spec.eos_id < 0) spec.add_eos = false;
    return status();
}

}  // namespace tok_json_detail

// Build a vocab_spec from tokenizer.json text and (optionally, may be empty) tokenizer_config.json.
// The document is walked once without building a tree for model.vocab and model.merges.
inline result<vocab_spec> vocab_spec_from_json(std::string_view tokenizer_json, std::string_view config_json = {}) {
    tok_json_detail::json_walk w;
    vocab_spec spec;
    std::vector<std::string_view> tokens;
    NOGGIN_TRY(tok_json_detail::load(tokenizer_json, config_json, w, spec, tokens));
    spec.tokens.assign(tokens.begin(), tokens.end());
    spec.merges.reserve(w.merge_pairs.size());
    for (const auto& m : w.merge_pairs) spec.merges.emplace_back(std::string(m.first), std::string(m.second));
    return spec;
}

inline result<tokenizer> tokenizer_from_json(std::string_view tokenizer_json, std::string_view config_json = {}) {
    tok_json_detail::json_walk w;
    vocab_spec spec;
    std::vector<std::string_view> tokens;
    NOGGIN_TRY(tok_json_detail::load(tokenizer_json, config_json, w, spec, tokens));
    vocab_views v;
    v.tokens = tokens.data();
    v.token_count = tokens.size();
    v.merges = w.merge_pairs.data();
    v.merge_count = w.merge_pairs.size();
    result<tokenizer> t = tokenizer::create(std::move(spec), v);
    if (!t.ok()) return status(t.status()).with_context("tokenizer.json");
    return t;
}

}  // namespace noggin::text
