// tools/gguf_to_hf/convert.hpp — write a Hugging Face folder from one of our F32/F16/BF16 GGUF files.
//
// Used by noggin-gguf-to-hf (main.cpp) and by the tests that load an HF folder and its GGUF twin and
// require the same logits and token ids (tests/model/hf_folder_test.cpp).
//
//     noggin_tools::hf_write_options o;  o.shard_bytes = 1 << 20;   // 0 = one model.safetensors
//     noggin::status s = noggin_tools::gguf_to_hf("llama-small-f32.gguf", "out/llama-small", o);
//
// Sections: options · weights (names, shapes, llama q/k un-permutation) · config.json · tokenizer.json
//           and tokenizer_config.json · shards and index · gguf_to_hf
//
// What is written, and how it mirrors llama.cpp's convert_hf_to_gguf.py in reverse:
// - weights keep their GGUF dtype (F32, F16 or BF16; quantized files are refused) and GGUF's {in, out}
//   orientation, which is PyTorch's [out, in]; Llama's attn_q/attn_k rows (and biases) are un-permuted:
//   GGUF row h·D + 2j + s came from HF row h·D + s·D/2 + j (s ∈ {0, 1}, j < D/2);
// - rope_freqs.weight becomes rope_scaling {rope_type llama3, factor, low/high_freq_factor,
//   original_max_position_embeddings}: common parameter sets are tried and the one reproducing the
//   file's factors (relative error ≤ 1e-6) is written; --llama3-rope gives them explicitly;
// - tokenizer.json: BPE model with the GGUF vocabulary (byte-level: ByteLevel + the pre-tokenizer's
//   Split regex, NFC for qwen2; SentencePiece: Prepend/Replace ▁ normalizers, byte fallback, and merges
//   derived from the scores as transformers' SentencePiece converter does), control and user-defined
//   tokens as added_tokens; tokenizer_config.json: add_bos/eos_token, bos/eos/pad/unk tokens, the chat template.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "noggin/formats/gguf.hpp"
#include "noggin/formats/safetensors.hpp"
#include "noggin/model/hf_config.hpp"
#include "noggin/model/model.hpp"
#include "noggin/text/json.hpp"
#include "noggin/text/pre_tokenizer.hpp"
#include "noggin/text/tokenizer_gguf.hpp"
#include "noggin/text/tokenizer_json.hpp"

namespace noggin_tools {

// --- options --------------------------------------------------------------------------------------------

struct hf_write_options {
    std::uint64_t shard_bytes = 0;  // > 0: split weights into shards of at most this many bytes (a tensor
                                    // larger than that gets a shard of its own) plus the index (default 0)
    bool llama3_given = false;      // use the llama3 parameters below instead of searching (default false)
    double llama3_factor = 8.0, llama3_low = 1.0, llama3_high = 4.0, llama3_original_context = 8192.0;
};

namespace detail {

using noggin::status;
using noggin::status_code;
using noggin::str;
using noggin::text::json_value;

inline status fail(std::string m) { return status(status_code::invalid_argument, "gguf-to-hf: " + m); }

// --- weights ---

struct out_tensor {
    std::string name;                    // HF name
    noggin::dtype type = noggin::dtype::f32;
    std::vector<std::int64_t> shape;     // header order
    const void* data = nullptr;          // bytes (in the GGUF file or in `owned`)
    std::uint64_t bytes = 0;
    std::vector<unsigned char> owned;    // un-permuted copy (llama q/k)
};

inline status add_view(std::vector<out_tensor>& out, const std::string& name, const noggin::tensor_view& v, bool matrix) {
    if (v.data == nullptr) return status();
    if (v.type != noggin::dtype::f32 && v.type != noggin::dtype::f16 && v.type != noggin::dtype::bf16)
        return fail(str("tensor for ", name, " has type ", noggin::dtype_name(v.type), "; only F32, F16 and BF16 files convert"));
    out_tensor t;
    t.name = name;
    t.type = v.type;
    if (matrix) t.shape = {v.ne[1], v.ne[0]};
    else t.shape = {v.ne[0]};
    t.data = v.data;
    t.bytes = v.byte_size();
    out.push_back(std::move(t));
    return status();
}

// GGUF's llama permutation undone on the rows of `t` (rows of row_bytes each, heads of `head_dim` rows).
inline void unpermute_rows(out_tensor& t, std::int64_t n_rows, std::int64_t head_dim) {
    const std::uint64_t row_bytes = t.bytes / static_cast<std::uint64_t>(n_rows);
    t.owned.resize(static_cast<std::size_t>(t.bytes));
    const unsigned char* src = static_cast<const unsigned char*>(t.data);
    const std::int64_t half = head_dim / 2;
    for (std::int64_t h = 0; h < n_rows / head_dim; ++h)
        for (std::int64_t j = 0; j < half; ++j)
            for (std::int64_t s = 0; s < 2; ++s) {
                const std::int64_t hf_row = h * head_dim + s * half + j, gguf_row = h * head_dim + 2 * j + s;
                std::memcpy(t.owned.data() + static_cast<std::uint64_t>(hf_row) * row_bytes,
                            src + static_cast<std::uint64_t>(gguf_row) * row_bytes, static_cast<std::size_t>(row_bytes));
            }
    t.data = t.owned.data();
}

inline status collect_weights(const noggin::model::model& m, std::vector<out_tensor>& out) {
    const noggin::model::hparams& hp = m.hparams();
    const noggin::model::model_weights& w = m.weights();
    const bool llama = hp.architecture == noggin::model::arch::llama;
    NOGGIN_TRY(add_view(out, "model.embed_tokens.weight", w.token_embd, true));
    for (std::int64_t i = 0; i < hp.n_layer; ++i) {
        const noggin::model::layer_weights& l = w.layers[static_cast<std::size_t>(i)];
        const std::string p = str("model.layers.", i, ".");
        NOGGIN_TRY(add_view(out, p + "input_layernorm.weight", l.attn_norm, false));
        const std::size_t q_at = out.size();
        NOGGIN_TRY(add_view(out, p + "self_attn.q_proj.weight", l.wq, true));
        const std::size_t k_at = out.size();
        NOGGIN_TRY(add_view(out, p + "self_attn.k_proj.weight", l.wk, true));
        NOGGIN_TRY(add_view(out, p + "self_attn.v_proj.weight", l.wv, true));
        NOGGIN_TRY(add_view(out, p + "self_attn.o_proj.weight", l.wo, true));
        const std::size_t bq_at = out.size();
        NOGGIN_TRY(add_view(out, p + "self_attn.q_proj.bias", l.bq, false));
        const std::size_t bk_at = out.size();
        NOGGIN_TRY(add_view(out, p + "self_attn.k_proj.bias", l.bk, false));
        NOGGIN_TRY(add_view(out, p + "self_attn.v_proj.bias", l.bv, false));
        if (llama) {
            unpermute_rows(out[q_at], hp.q_dim(), hp.head_dim);
            unpermute_rows(out[k_at], hp.kv_dim(), hp.head_dim);
            if (l.bq.data != nullptr) unpermute_rows(out[bq_at], hp.q_dim(), hp.head_dim);
            if (l.bk.data != nullptr) unpermute_rows(out[bk_at], hp.kv_dim(), hp.head_dim);
        }
        NOGGIN_TRY(add_view(out, p + "self_attn.q_norm.weight", l.q_norm, false));
        NOGGIN_TRY(add_view(out, p + "self_attn.k_norm.weight", l.k_norm, false));
        NOGGIN_TRY(add_view(out, p + "post_attention_layernorm.weight", l.ffn_norm, false));
        NOGGIN_TRY(add_view(out, p + "mlp.gate_proj.weight", l.ffn_gate, true));
        NOGGIN_TRY(add_view(out, p + "mlp.up_proj.weight", l.ffn_up, true));
        NOGGIN_TRY(add_view(out, p + "mlp.down_proj.weight", l.ffn_down, true));
    }
    NOGGIN_TRY(add_view(out, "model.norm.weight", w.output_norm, false));
    if (!w.tied_output) NOGGIN_TRY(add_view(out, "lm_head.weight", w.output, true));
    return status();
}

// --- config.json ---

inline json_value real_of(float f) {  // the shortest decimal that reads back as the same float
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), f);
    return json_value::make_real(std::strtod(std::string(buf, r.ptr).c_str(), nullptr));
}

// llama3 parameters that reproduce `factors` (n_rot/2 of them), searched over the common sets.
inline bool find_llama3(const float* factors, std::int64_t n_rot, float base, const hf_write_options& o, double p[4]) {
    auto matches = [&](double f, double lo, double hi, double orig) {
        std::vector<float> mine = noggin::model::llama3_rope_factors(n_rot, base, f, lo, hi, orig);
        for (std::size_t i = 0; i < mine.size(); ++i)
            if (std::fabs(mine[i] - factors[i]) > 1e-6 * std::fabs(factors[i])) return false;
        return true;
    };
    if (o.llama3_given) {
        p[0] = o.llama3_factor, p[1] = o.llama3_low, p[2] = o.llama3_high, p[3] = o.llama3_original_context;
        return matches(p[0], p[1], p[2], p[3]);
    }
    for (double f : {8.0, 32.0, 16.0, 4.0, 2.0})
        for (double orig : {8192.0, 4096.0, 16384.0, 2048.0, 32768.0})
            for (double lo : {1.0, 2.0})
                for (double hi : {4.0, 8.0, 2.0})
                    if (hi > lo && matches(f, lo, hi, orig)) {
                        p[0] = f, p[1] = lo, p[2] = hi, p[3] = orig;
                        return true;
                    }
    return false;
}

inline noggin::result<std::string> config_json(const noggin::model::model& m, const noggin::gguf::file& f,
                                               const hf_write_options& o) {
    using noggin::model::arch;
    const noggin::model::hparams& hp = m.hparams();
    const noggin::model::model_weights& w = m.weights();
    const char* cls = hp.architecture == arch::llama ? "LlamaForCausalLM"
                      : hp.architecture == arch::qwen2 ? "Qwen2ForCausalLM" : "Qwen3ForCausalLM";
    if (hp.architecture == arch::llama && hp.n_rot != hp.head_dim)
        return fail(str("llama with rope.dimension_count ", hp.n_rot, " != head size ", hp.head_dim, " has no HF equivalent"));
    if (hp.architecture == arch::qwen2 && hp.head_dim * hp.n_head != hp.n_embd)
        return fail("qwen2 with a head size other than hidden_size / heads has no HF equivalent");
    json_value c = json_value::make_object();
    json_value archs = json_value::make_array();
    archs.push_back(json_value::make_string(cls));
    c.append_member("architectures", std::move(archs));
    c.append_member("model_type", json_value::make_string(noggin::model::arch_name(hp.architecture)));
    c.append_member("hidden_size", json_value::make_int(hp.n_embd));
    c.append_member("intermediate_size", json_value::make_int(hp.n_ff));
    c.append_member("num_hidden_layers", json_value::make_int(hp.n_layer));
    c.append_member("num_attention_heads", json_value::make_int(hp.n_head));
    c.append_member("num_key_value_heads", json_value::make_int(hp.n_head_kv));
    if (hp.architecture != arch::qwen2) c.append_member("head_dim", json_value::make_int(hp.head_dim));
    if (hp.n_rot != hp.head_dim)
        c.append_member("partial_rotary_factor", json_value::make_real(double(hp.n_rot) / double(hp.head_dim)));
    c.append_member("max_position_embeddings", json_value::make_int(hp.n_ctx_train));
    c.append_member("rms_norm_eps", real_of(hp.rms_eps));
    c.append_member("rope_theta", real_of(hp.rope_freq_base));
    c.append_member("vocab_size", json_value::make_int(hp.n_vocab));
    c.append_member("tie_word_embeddings", json_value::make_bool(w.tied_output));
    c.append_member("hidden_act", json_value::make_string("silu"));
    const bool bias = !w.layers.empty() && w.layers[0].bq.data != nullptr;
    if (hp.architecture == arch::llama) c.append_member("attention_bias", json_value::make_bool(bias));
    if (hp.architecture == arch::qwen3) c.append_member("attention_bias", json_value::make_bool(false));
    const noggin::dtype t = w.token_embd.type;
    c.append_member("torch_dtype", json_value::make_string(t == noggin::dtype::f32 ? "float32" : t == noggin::dtype::f16 ? "float16" : "bfloat16"));
    if (w.rope_freqs != nullptr) {
        double p[4];
        if (!find_llama3(w.rope_freqs, hp.n_rot, hp.rope_freq_base, o, p))
            return fail("rope_freqs.weight matches no llama3 rope scaling tried; give the parameters with --llama3-rope F,LOW,HIGH,ORIG");
        json_value rs = json_value::make_object();
        rs.append_member("rope_type", json_value::make_string("llama3"));
        rs.append_member("factor", json_value::make_real(p[0]));
        rs.append_member("low_freq_factor", json_value::make_real(p[1]));
        rs.append_member("high_freq_factor", json_value::make_real(p[2]));
        rs.append_member("original_max_position_embeddings", json_value::make_int(static_cast<std::int64_t>(p[3])));
        c.append_member("rope_scaling", std::move(rs));
    } else if (hp.rope_freq_scale != 1.0f) {
        json_value rs = json_value::make_object();
        rs.append_member("rope_type", json_value::make_string("linear"));
        rs.append_member("factor", json_value::make_real(1.0 / hp.rope_freq_scale));
        c.append_member("rope_scaling", std::move(rs));
    } else {
        c.append_member("rope_scaling", json_value());
    }
    for (const char* key : {"bos", "eos"}) {
        noggin::result<std::uint32_t> id = f.get_u32(str("tokenizer.ggml.", key, "_token_id"));
        if (id.ok()) c.append_member(str(key, "_token_id"), json_value::make_int(id.value()));
    }
    return noggin::text::json_write(c, 2) + "\n";
}

// --- tokenizer.json and tokenizer_config.json ---

inline json_value str_value(const std::string& s) { return json_value::make_string(s); }

inline json_value split_regex(const char* regex) {
    json_value s = json_value::make_object();
    s.append_member("type", str_value("Split"));
    json_value pat = json_value::make_object();
    pat.append_member("Regex", str_value(regex));
    s.append_member("pattern", std::move(pat));
    s.append_member("behavior", str_value("Isolated"));
    s.append_member("invert", json_value::make_bool(false));
    return s;
}

inline json_value byte_level(bool use_regex) {
    json_value b = json_value::make_object();
    b.append_member("type", str_value("ByteLevel"));
    b.append_member("add_prefix_space", json_value::make_bool(false));
    b.append_member("trim_offsets", json_value::make_bool(false));
    b.append_member("use_regex", json_value::make_bool(use_regex));
    return b;
}

// Merges a SentencePiece vocabulary implies: every split of a normal token into two tokens, ordered by
// the merged token's score (higher first), then its id, then the split position.
inline std::vector<std::pair<std::string, std::string>> merges_from_scores(const noggin::text::vocab_spec& spec) {
    using noggin::text::token_type;
    std::unordered_map<std::string, std::size_t> id_of;
    auto usable = [&](std::size_t i) {
        return spec.types.empty() || spec.types[i] == token_type::normal || spec.types[i] == token_type::byte;
    };
    for (std::size_t i = 0; i < spec.tokens.size(); ++i)
        if (usable(i)) id_of.emplace(spec.tokens[i], i);
    struct cand {
        float score;
        std::size_t id, split;
    };
    std::vector<cand> c;
    for (std::size_t i = 0; i < spec.tokens.size(); ++i) {
        if (!spec.types.empty() && spec.types[i] != token_type::normal) continue;
        const std::string& s = spec.tokens[i];
        for (std::size_t k = 1; k < s.size(); ++k)
            if (id_of.count(s.substr(0, k)) && id_of.count(s.substr(k))) c.push_back({spec.scores[i], i, k});
    }
    std::stable_sort(c.begin(), c.end(), [](const cand& a, const cand& b) {
        if (a.score != b.score) return a.score > b.score;
        if (a.id != b.id) return a.id < b.id;
        return a.split < b.split;
    });
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(c.size());
    for (const cand& x : c) out.emplace_back(spec.tokens[x.id].substr(0, x.split), spec.tokens[x.id].substr(x.split));
    return out;
}

inline status tokenizer_files(const noggin::gguf::file& f, std::string* tokenizer_json, std::string* config_json,
                              std::int64_t model_max_length) {
    using noggin::text::pre_tokenizer;
    using noggin::text::token_type;
    using noggin::text::tokenizer_kind;
    noggin::result<noggin::text::vocab_spec> r = noggin::text::vocab_spec_from_gguf(f);
    if (!r.ok()) return r.status();
    const noggin::text::vocab_spec& spec = r.value();
    const bool spm = spec.kind == tokenizer_kind::sentencepiece_bpe;
    auto type_of = [&](std::size_t i) { return spec.types.empty() ? token_type::normal : spec.types[i]; };
    json_value root = json_value::make_object();
    root.append_member("version", str_value("1.0"));
    root.append_member("truncation", json_value());
    root.append_member("padding", json_value());
    // added_tokens: control (special) and user-defined tokens.
    json_value added = json_value::make_array();
    for (std::size_t i = 0; i < spec.tokens.size(); ++i) {
        const token_type t = type_of(i);
        if (t != token_type::control && t != token_type::user_defined) continue;
        if (spec.tokens[i].empty()) continue;
        const bool ls = std::find(spec.lstrip_ids.begin(), spec.lstrip_ids.end(), noggin::text::token_id(i)) != spec.lstrip_ids.end();
        const bool rs = std::find(spec.rstrip_ids.begin(), spec.rstrip_ids.end(), noggin::text::token_id(i)) != spec.rstrip_ids.end();
        json_value a = json_value::make_object();
        a.append_member("id", json_value::make_int(static_cast<std::int64_t>(i)));
        a.append_member("content", str_value(spec.tokens[i]));
        a.append_member("single_word", json_value::make_bool(false));
        a.append_member("lstrip", json_value::make_bool(ls));
        a.append_member("rstrip", json_value::make_bool(rs));
        a.append_member("normalized", json_value::make_bool(false));
        a.append_member("special", json_value::make_bool(t == token_type::control));
        added.push_back(std::move(a));
    }
    root.append_member("added_tokens", std::move(added));
    json_value pre, decoder;
    if (spm) {
        json_value seq = json_value::make_array();
        if (spec.add_space_prefix) {
            json_value p = json_value::make_object();
            p.append_member("type", str_value("Prepend"));
            p.append_member("prepend", str_value("\xE2\x96\x81"));
            seq.push_back(std::move(p));
        }
        json_value rep = json_value::make_object();
        rep.append_member("type", str_value("Replace"));
        json_value pat = json_value::make_object();
        pat.append_member("String", str_value(" "));
        rep.append_member("pattern", std::move(pat));
        rep.append_member("content", str_value("\xE2\x96\x81"));
        seq.push_back(std::move(rep));
        json_value norm = json_value::make_object();
        norm.append_member("type", str_value("Sequence"));
        norm.append_member("normalizers", std::move(seq));
        root.append_member("normalizer", std::move(norm));
        root.append_member("pre_tokenizer", json_value());
        json_value ds = json_value::make_array();
        json_value d1 = json_value::make_object();
        d1.append_member("type", str_value("Replace"));
        json_value p1 = json_value::make_object();
        p1.append_member("String", str_value("\xE2\x96\x81"));
        d1.append_member("pattern", std::move(p1));
        d1.append_member("content", str_value(" "));
        ds.push_back(std::move(d1));
        json_value d2 = json_value::make_object();
        d2.append_member("type", str_value("ByteFallback"));
        ds.push_back(std::move(d2));
        json_value d3 = json_value::make_object();
        d3.append_member("type", str_value("Fuse"));
        ds.push_back(std::move(d3));
        if (spec.strip_leading_space) {
            json_value d4 = json_value::make_object();
            d4.append_member("type", str_value("Strip"));
            d4.append_member("content", str_value(" "));
            d4.append_member("start", json_value::make_int(1));
            d4.append_member("stop", json_value::make_int(0));
            ds.push_back(std::move(d4));
        }
        decoder = json_value::make_object();
        decoder.append_member("type", str_value("Sequence"));
        decoder.append_member("decoders", std::move(ds));
    } else {
        if (spec.nfc) {
            json_value norm = json_value::make_object();
            norm.append_member("type", str_value("NFC"));
            root.append_member("normalizer", std::move(norm));
        } else {
            root.append_member("normalizer", json_value());
        }
        json_value steps = json_value::make_array();
        namespace tj = noggin::text::tok_json_detail;
        switch (spec.pre) {
            case pre_tokenizer::none: steps.push_back(byte_level(false)); break;
            case pre_tokenizer::gpt2: steps.push_back(byte_level(true)); break;
            case pre_tokenizer::qwen2: steps.push_back(split_regex(tj::regex_qwen2)); steps.push_back(byte_level(false)); break;
            case pre_tokenizer::llama3: steps.push_back(split_regex(tj::regex_llama3)); steps.push_back(byte_level(false)); break;
            case pre_tokenizer::deepseek_v3:
                steps.push_back(split_regex(tj::regex_dsv3_1));
                steps.push_back(split_regex(tj::regex_dsv3_2));
                steps.push_back(split_regex(tj::regex_dsv3_3));
                steps.push_back(byte_level(false));
                break;
        }
        pre = json_value::make_object();
        pre.append_member("type", str_value("Sequence"));
        pre.append_member("pretokenizers", std::move(steps));
        root.append_member("pre_tokenizer", std::move(pre));
        decoder = byte_level(true);
    }
    root.append_member("post_processor", json_value());
    root.append_member("decoder", std::move(decoder));
    json_value model = json_value::make_object();
    model.append_member("type", str_value("BPE"));
    model.append_member("dropout", json_value());
    std::string unk;
    if (spec.unk_id >= 0) unk = spec.tokens[static_cast<std::size_t>(spec.unk_id)];
    model.append_member("unk_token", unk.empty() ? json_value() : str_value(unk));
    model.append_member("continuing_subword_prefix", json_value());
    model.append_member("end_of_word_suffix", json_value());
    model.append_member("fuse_unk", json_value::make_bool(spec.fuse_unk));
    model.append_member("byte_fallback", json_value::make_bool(spec.byte_fallback));
    model.append_member("ignore_merges", json_value::make_bool(spec.ignore_merges));
    json_value vocab = json_value::make_object();
    for (std::size_t i = 0; i < spec.tokens.size(); ++i) vocab.append_member(spec.tokens[i], json_value::make_int(static_cast<std::int64_t>(i)));
    model.append_member("vocab", std::move(vocab));
    const std::vector<std::pair<std::string, std::string>> derived =
        spm && spec.merges.empty() && !spec.scores.empty() ? merges_from_scores(spec) : std::vector<std::pair<std::string, std::string>>();
    const auto& merges = derived.empty() ? spec.merges : derived;
    json_value mj = json_value::make_array();
    for (const auto& mg : merges) {
        json_value pair = json_value::make_array();
        pair.push_back(str_value(mg.first));
        pair.push_back(str_value(mg.second));
        mj.push_back(std::move(pair));
    }
    model.append_member("merges", std::move(mj));
    root.append_member("model", std::move(model));
    *tokenizer_json = noggin::text::json_write(root) + "\n";

    json_value c = json_value::make_object();
    c.append_member("add_bos_token", json_value::make_bool(spec.add_bos));
    c.append_member("add_eos_token", json_value::make_bool(spec.add_eos));
    auto token_or_null = [&](noggin::text::token_id id) {
        return id >= 0 && static_cast<std::size_t>(id) < spec.tokens.size() ? str_value(spec.tokens[static_cast<std::size_t>(id)]) : json_value();
    };
    c.append_member("bos_token", token_or_null(spec.bos_id));
    c.append_member("eos_token", token_or_null(spec.eos_id));
    c.append_member("pad_token", token_or_null(spec.pad_id));
    c.append_member("unk_token", token_or_null(spec.unk_id));
    c.append_member("clean_up_tokenization_spaces", json_value::make_bool(spec.clean_up_spaces));
    c.append_member("model_max_length", json_value::make_int(model_max_length));
    c.append_member("tokenizer_class", str_value(spm ? "LlamaTokenizerFast" : "PreTrainedTokenizerFast"));
    noggin::result<std::string_view> tpl = f.get_string("tokenizer.chat_template");
    if (tpl.ok()) c.append_member("chat_template", str_value(std::string(tpl.value())));
    *config_json = noggin::text::json_write(c, 2) + "\n";
    return status();
}

// --- shards and index ---

inline status write_text(const std::string& path, const std::string& text) {
    std::FILE* fp = std::fopen(path.c_str(), "wb");
    if (fp == nullptr) return status(status_code::io_error, "gguf-to-hf: cannot create " + path);
    const bool ok = std::fwrite(text.data(), 1, text.size(), fp) == text.size();
    const bool closed = std::fclose(fp) == 0;
    return ok && closed ? status() : status(status_code::io_error, "gguf-to-hf: writing " + path + " failed");
}

inline status write_weights(const std::vector<out_tensor>& ts, const std::string& dir, std::uint64_t shard_bytes) {
    std::vector<std::vector<std::size_t>> groups(1);
    std::uint64_t in_group = 0, total = 0;
    for (std::size_t i = 0; i < ts.size(); ++i) {
        total += ts[i].bytes;
        if (shard_bytes > 0 && !groups.back().empty() && in_group + ts[i].bytes > shard_bytes) {
            groups.emplace_back();
            in_group = 0;
        }
        groups.back().push_back(i);
        in_group += ts[i].bytes;
    }
    json_value map = json_value::make_object();
    for (std::size_t g = 0; g < groups.size(); ++g) {
        char name[64];
        if (shard_bytes > 0) std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", g + 1, groups.size());
        else std::snprintf(name, sizeof name, "model.safetensors");
        noggin::safetensors::writer w;
        w.add_metadata("format", "pt");
        for (std::size_t i : groups[g]) {
            const out_tensor& t = ts[i];
            NOGGIN_TRY(w.add_tensor(t.name, t.type, t.shape.data(), static_cast<int>(t.shape.size()), t.data, t.bytes));
            map.append_member(t.name, str_value(name));
        }
        NOGGIN_TRY(w.write_to_file(dir + "/" + name));
    }
    if (shard_bytes == 0) return status();
    json_value index = json_value::make_object();
    json_value meta = json_value::make_object();
    meta.append_member("total_size", json_value::make_int(static_cast<std::int64_t>(total)));
    index.append_member("metadata", std::move(meta));
    index.append_member("weight_map", std::move(map));
    return write_text(dir + "/model.safetensors.index.json", noggin::text::json_write(index, 2) + "\n");
}

}  // namespace detail

// --- gguf_to_hf -------------------------------------------------------------------------------------------

// Write the HF folder for the GGUF file `gguf_path` into the existing directory `out_dir`.
inline noggin::status gguf_to_hf(const std::string& gguf_path, const std::string& out_dir, const hf_write_options& o = {}) {
    noggin::result<noggin::model::model> m = noggin::model::model::open(gguf_path);
    if (!m.ok()) return m.status();
    const noggin::gguf::file& f = m->file();
    std::vector<detail::out_tensor> ts;
    NOGGIN_TRY(detail::collect_weights(m.value(), ts));
    noggin::result<std::string> cfg = detail::config_json(m.value(), f, o);
    if (!cfg.ok()) return cfg.status();
    std::string tok, tok_cfg;
    NOGGIN_TRY(detail::tokenizer_files(f, &tok, &tok_cfg, m->hparams().n_ctx_train));
    NOGGIN_TRY(detail::write_weights(ts, out_dir, o.shard_bytes));
    NOGGIN_TRY(detail::write_text(out_dir + "/config.json", cfg.value()));
    NOGGIN_TRY(detail::write_text(out_dir + "/tokenizer.json", tok));
    NOGGIN_TRY(detail::write_text(out_dir + "/tokenizer_config.json", tok_cfg));
    return noggin::status();
}

}  // namespace noggin_tools
