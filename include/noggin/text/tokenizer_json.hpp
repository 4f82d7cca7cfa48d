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

#include <string>
#include <string_view>
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

// Build a vocab_spec from tokenizer.json text and (optionally, may be empty) tokenizer_config.json.
inline result<vocab_spec> vocab_spec_from_json(std::string_view tokenizer_json, std::string_view config_json = {}) {
    using namespace tok_json_detail;
    result<json_value> doc = json_parse(tokenizer_json);
    if (!doc.ok()) return status(doc.status()).with_context("tokenizer.json");
    const json_value& root = *doc;
    if (!root.is_object()) return bad("top level is not an object");

    pipeline p;
    NOGGIN_TRY(parse_normalizer(root.get("normalizer"), p));
    NOGGIN_TRY(parse_pre(root.get("pre_tokenizer"), p));
    NOGGIN_TRY(parse_decoder(root.get("decoder"), p));

    const json_value& model = root.get("model");
    if (!model.is_object()) return bad("missing model object");
    const json_value* mtype = model.find("type");
    if (mtype && !mtype->is_string()) return bad("model.type is not a string");
    if (mtype && mtype->as_string() != "BPE") return unsupported(str("model type ", mtype->as_string()));
    const json_value& vocab = model.get("vocab");
    if (!vocab.is_object()) return bad("model.vocab is missing or not an object");
    const json_value& merges = model.get("merges");
    if (!merges.is_array()) return bad("model.merges is missing or not an array");
    if (!model.get("dropout").is_null() && model.get("dropout").as_double(0.0) != 0.0)
        return unsupported("BPE dropout");
    const std::string& prefix = model.get("continuing_subword_prefix").as_string();
    const std::string& suffix = model.get("end_of_word_suffix").as_string();
    if (!prefix.empty() || !suffix.empty()) return unsupported("BPE continuing_subword_prefix/end_of_word_suffix");

    vocab_spec spec;
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
    size_t max_id = 0;
    for (size_t i = 0; i < vocab.size(); ++i) {
        const json_value& v = vocab[i];
        if (!v.is_int() || v.as_int() < 0 || uint64_t(v.as_int()) >= max_vocab_size)
            return bad(str("model.vocab[\"", vocab.key(i).substr(0, 64), "\"] is not a valid id"));
        max_id = std::max(max_id, size_t(v.as_int()));
    }
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
    if (vocab.size() == 0 && added.size() == 0) return bad("empty vocabulary");
    const size_t n = max_id + 1;
    spec.tokens.assign(n, std::string());
    spec.types.assign(n, token_type::unused);
    for (size_t i = 0; i < vocab.size(); ++i) {
        size_t id = size_t(vocab[i].as_int());
        if (spec.types[id] != token_type::unused)
            return bad(str("model.vocab gives id ", id, " to two strings"));
        spec.tokens[id] = vocab.key(i);
        spec.types[id] = token_type::normal;
    }
    for (size_t i = 0; i < added.size(); ++i) {
        const json_value& a = added[i];
        size_t id = size_t(a.get("id").as_int());
        const std::string& content = a.get("content").as_string();
        if (spec.types[id] == token_type::normal && spec.tokens[id] != content)
            return bad(str("added token ", id, " \"", content.substr(0, 64), "\" conflicts with the vocabulary"));
        spec.tokens[id] = content;
        spec.types[id] = a.get("special").as_bool(false) ? token_type::control : token_type::user_defined;
        if (a.get("lstrip").as_bool(false)) spec.lstrip_ids.push_back(token_id(id));
        if (a.get("rstrip").as_bool(false)) spec.rstrip_ids.push_back(token_id(id));
    }
    // Merges: "a b" strings or ["a", "b"] pairs.
    spec.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const json_value& m = merges[i];
        if (m.is_string()) {
            const std::string& s = m.as_string();
            size_t sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                return bad(str("merges[", i, "] is not two tokens separated by one space"));
            spec.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            spec.merges.emplace_back(m[0].as_string(), m[1].as_string());
        } else {
            return bad(str("merges[", i, "] is neither \"a b\" nor [\"a\", \"b\"]"));
        }
    }
    auto find_token = [&](const std::string& name) -> token_id {
        if (name.empty()) return -1;
        for (size_t i = 0; i < n; ++i)
            if (spec.types[i] != token_type::normal && spec.types[i] != token_type::unused && spec.tokens[i] == name)
                return token_id(i);
        const json_value* v = vocab.find(name);
        return v ? token_id(v->as_int()) : -1;
    };
    const json_value& unk = model.get("unk_token");
    if (!unk.is_null() && !unk.is_string()) return bad("model.unk_token is not a string");
    if (unk.is_string()) {
        spec.unk_id = find_token(unk.as_string());
        if (spec.unk_id >= 0 && spec.types[size_t(spec.unk_id)] != token_type::control) spec.types[size_t(spec.unk_id)] = token_type::unknown;
        if (spec.unk_id >= 0 && spec.types[size_t(spec.unk_id)] == token_type::control) {
            // keep it special; encode uses unk_id for characters without a token
        }
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
    return spec;
}

inline result<tokenizer> tokenizer_from_json(std::string_view tokenizer_json, std::string_view config_json = {}) {
    result<vocab_spec> spec = vocab_spec_from_json(tokenizer_json, config_json);
    if (!spec.ok()) return spec.status();
    result<tokenizer> t = tokenizer::create(std::move(spec).value());
    if (!t.ok()) return status(t.status()).with_context("tokenizer.json");
    return t;
}

}  // namespace noggin::text
