// noggin/text/tokenizer_gguf.hpp — load a tokenizer from GGUF metadata (tokenizer.ggml.*).
//
// Reads tokenizer.ggml.model ("gpt2" = byte-level BPE, "llama" = SentencePiece BPE), .pre (the
// splitting regex: qwen2, deepseek-r1-qwen, llama3, llama-bpe, deepseek-v3, gpt2), .tokens,
// .token_type, .scores, .merges, .bos_token_id, .eos_token_id, .padding_token_id,
// .unknown_token_id, .add_bos_token, .add_eos_token, .add_space_prefix. GGUF carries no
// normalizer: NFC is applied for the pre names qwen2 and deepseek-r1-qwen, as their
// tokenizer.json files ask. Unsupported models or pre names are a status error naming them.
//
//     noggin::result<noggin::gguf::file> f = noggin::gguf::file::open("model.gguf");
//     noggin::result<noggin::text::tokenizer> tok = noggin::text::tokenizer_from_gguf(*f);
//
// Sections: vocab_spec_from_gguf · tokenizer_from_gguf

#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../formats/gguf.hpp"
#include "tokenizer.hpp"

namespace noggin::text {

namespace tok_gguf_detail {
inline status bad(std::string_view what) { return status(status_code::format_error, str("gguf tokenizer: ", what)); }

// Optional integer id: absent → -1; present but invalid → error.
inline status optional_id(const gguf::file& f, const char* key, token_id& out) {
    out = -1;
    if (!f.has(key)) return status();
    result<int64_t> v = f.get_i64(key);
    if (!v.ok()) return status(v.status()).with_context("gguf tokenizer");
    if (*v < 0 || *v > int64_t(max_vocab_size)) return bad(str(key, " = ", *v, " is not a token id"));
    out = token_id(*v);
    return status();
}
inline status optional_bool(const gguf::file& f, const char* key, bool& out) {
    if (!f.has(key)) return status();
    result<bool> v = f.get_bool(key);
    if (!v.ok()) return status(v.status()).with_context("gguf tokenizer");
    out = *v;
    return status();
}

// The metadata as a spec plus views of the token and merge strings (into the file's metadata,
// valid while `f` lives): nothing is copied per token.
inline status load(const gguf::file& f, vocab_spec& spec, std::vector<std::string_view>& token_views,
                   std::vector<std::pair<std::string_view, std::string_view>>& merge_views) {
    result<std::string_view> model = f.get_string("tokenizer.ggml.model");
    if (!model.ok()) return status(model.status()).with_context("gguf tokenizer");
    if (*model == "gpt2") {
        spec.kind = tokenizer_kind::byte_level_bpe;
        result<std::string_view> pre = f.get_string("tokenizer.ggml.pre");
        if (!pre.ok()) return status(pre.status()).with_context("gguf tokenizer (byte-level BPE needs a pre name)");
        if (!pre_tokenizer_from_name(*pre, spec.pre))
            return status(status_code::unsupported, str("gguf tokenizer: unsupported tokenizer.ggml.pre \"", *pre, "\""));
        spec.nfc = *pre == "qwen2" || *pre == "deepseek-r1-qwen";
        spec.ignore_merges = spec.pre == pre_tokenizer::llama3;
    } else if (*model == "llama") {
        spec.kind = tokenizer_kind::sentencepiece_bpe;
        spec.byte_fallback = true;
        spec.add_space_prefix = true;
        NOGGIN_TRY(optional_bool(f, "tokenizer.ggml.add_space_prefix", spec.add_space_prefix));
        spec.strip_leading_space = spec.add_space_prefix;
    } else {
        return status(status_code::unsupported, str("gguf tokenizer: unsupported tokenizer.ggml.model \"", *model, "\""));
    }

    result<gguf::array_view> tokens_arr = f.get_array("tokenizer.ggml.tokens");
    if (!tokens_arr.ok()) return status(tokens_arr.status()).with_context("gguf tokenizer");
    result<gguf::string_span> tokens = tokens_arr->strings();
    if (!tokens.ok()) return status(tokens.status()).with_context("gguf tokenizer");
    const uint64_t n = tokens->size();
    if (n == 0) return bad("tokenizer.ggml.tokens is empty");
    if (n > max_vocab_size) return status(status_code::limit_exceeded, str("gguf tokenizer: ", n, " tokens exceed the cap"));
    token_views.resize(size_t(n));
    for (uint64_t i = 0; i < n; ++i) token_views[size_t(i)] = (*tokens)[i];

    if (f.has("tokenizer.ggml.token_type")) {
        result<gguf::array_view> ta = f.get_array("tokenizer.ggml.token_type");
        if (!ta.ok()) return status(ta.status()).with_context("gguf tokenizer");
        result<gguf::integer_span> types = ta->integers();
        if (!types.ok()) return status(types.status()).with_context("gguf tokenizer");
        if (types->size() != n) return bad(str("tokenizer.ggml.token_type has ", types->size(), " entries for ", n, " tokens"));
        spec.types.resize(size_t(n));
        for (uint64_t i = 0; i < n; ++i) {
            int64_t t = (*types)[i];
            if (t < 0 || t > 6) return bad(str("token ", i, " has unknown token_type ", t));
            spec.types[size_t(i)] = t == 0 ? token_type::normal : token_type(uint8_t(t));
        }
    }
    if (f.has("tokenizer.ggml.scores")) {
        result<gguf::array_view> sa = f.get_array("tokenizer.ggml.scores");
        if (!sa.ok()) return status(sa.status()).with_context("gguf tokenizer");
        result<gguf::number_span<float>> scores = sa->numbers<float>();
        if (!scores.ok()) return status(scores.status()).with_context("gguf tokenizer");
        if (scores->size() != n) return bad(str("tokenizer.ggml.scores has ", scores->size(), " entries for ", n, " tokens"));
        spec.scores.resize(size_t(n));
        scores->copy_to(spec.scores.data());
    }
    if (f.has("tokenizer.ggml.merges")) {
        result<gguf::array_view> ma = f.get_array("tokenizer.ggml.merges");
        if (!ma.ok()) return status(ma.status()).with_context("gguf tokenizer");
        result<gguf::string_span> merges = ma->strings();
        if (!merges.ok()) return status(merges.status()).with_context("gguf tokenizer");
        merge_views.reserve(size_t(merges->size()));
        for (uint64_t i = 0; i < merges->size(); ++i) {
            std::string_view m = (*merges)[i];
            size_t sp = m.find(' ');
            if (sp == std::string_view::npos || m.find(' ', sp + 1) != std::string_view::npos)
                return bad(str("merge ", i, " is not two tokens separated by one space"));
            merge_views.emplace_back(m.substr(0, sp), m.substr(sp + 1));
        }
    } else if (spec.kind == tokenizer_kind::byte_level_bpe) {
        return bad("byte-level BPE without tokenizer.ggml.merges");
    }
    if (spec.kind == tokenizer_kind::sentencepiece_bpe && merge_views.empty() && spec.scores.empty())
        return bad("SentencePiece vocabulary without tokenizer.ggml.scores or merges");

    NOGGIN_TRY(optional_id(f, "tokenizer.ggml.bos_token_id", spec.bos_id));
    NOGGIN_TRY(optional_id(f, "tokenizer.ggml.eos_token_id", spec.eos_id));
    NOGGIN_TRY(optional_id(f, "tokenizer.ggml.padding_token_id", spec.pad_id));
    NOGGIN_TRY(optional_id(f, "tokenizer.ggml.unknown_token_id", spec.unk_id));
    // llama.cpp's defaults: SentencePiece adds BOS, byte-level BPE does not, unless the file says.
    spec.add_bos = spec.kind == tokenizer_kind::sentencepiece_bpe;
    spec.add_eos = false;
    NOGGIN_TRY(optional_bool(f, "tokenizer.ggml.add_bos_token", spec.add_bos));
    NOGGIN_TRY(optional_bool(f, "tokenizer.ggml.add_eos_token", spec.add_eos));
    for (token_id* id : {&spec.bos_id, &spec.eos_id, &spec.pad_id, &spec.unk_id})
        if (*id >= 0 && uint64_t(*id) >= n) return bad(str("special token id ", *id, " outside the vocabulary of ", n));
    if (spec.add_bos && spec.bos_id < 0) spec.add_bos = false;
    if (spec.add_eos && spec.eos_id < 0) spec.add_eos = false;
    return status();
}
}  // namespace tok_gguf_detail

inline result<vocab_spec> vocab_spec_from_gguf(const gguf::file& f) {
    vocab_spec spec;
    std::vector<std::string_view> tokens;
    std::vector<std::pair<std::string_view, std::string_view>> merges;
    NOGGIN_TRY(tok_gguf_detail::load(f, spec, tokens, merges));
    spec.tokens.assign(tokens.begin(), tokens.end());
    spec.merges.reserve(merges.size());
    for (const auto& m : merges) spec.merges.emplace_back(std::string(m.first), std::string(m.second));
    return spec;
}

// Builds straight from the file's string arrays (views), without a vocab_spec copy of the strings.
inline result<tokenizer> tokenizer_from_gguf(const gguf::file& f) {
    vocab_spec spec;
    std::vector<std::string_view> tokens;
    std::vector<std::pair<std::string_view, std::string_view>> merges;
    NOGGIN_TRY(tok_gguf_detail::load(f, spec, tokens, merges));
    vocab_views v;
    v.tokens = tokens.data();
    v.token_count = tokens.size();
    v.merges = merges.data();
    v.merge_count = merges.size();
    result<tokenizer> t = tokenizer::create(std::move(spec), v);
    if (!t.ok()) return status(t.status()).with_context("gguf tokenizer");
    return t;
}

}  // namespace noggin::text
