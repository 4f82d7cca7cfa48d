// noggin/model/hf_config.hpp — a Hugging Face config.json → model::hparams (qwen2, llama, qwen3).
//
// Reads the fields transformers' Qwen2ForCausalLM, LlamaForCausalLM and Qwen3ForCausalLM use and turns
// them into the same hparams the GGUF path produces (model/hparams.hpp), plus what GGUF keeps elsewhere:
// tie_word_embeddings, and Llama-3.1's `rope_scaling` (rope_type "llama3") computed into the per-pair
// frequency divisors GGUF stores as rope_freqs.weight (same formula as llama.cpp's convert_hf_to_gguf.py).
// Every failure is a status whose message starts with "config.json:" and names the field.
//
//     noggin::result<noggin::model::hf_config> c = noggin::model::read_hf_config(config_json_text);
//     if (!c.ok()) return c.status();   // "config.json: field 'hidden_size' is missing"
//     // c->hp.n_embd, c->tie_word_embeddings, c->rope_freqs (empty unless llama3 scaling)
//
// Sections: hf_config · field readers · llama3 rope factors · read_hf_config
//
// RoPE layout: HF stores q/k rows un-permuted and rotates halves (i, i + n_rot/2) for all three families.
// llama.cpp's converter permutes Llama's q/k rows so that adjacent pairs (2i, 2i+1) hold what HF's halves
// held, and rotates adjacent pairs. The two are the same function: with P that row permutation,
// rope_normal(P·q)·rope_normal(P·k) = rope_neox(q)·rope_neox(k) for every head (P only reorders the
// terms of each dot product, pair i keeps its frequency θ_i and its freq factor), and V and the output
// projection are untouched. So a Llama from an HF folder runs with hp.rope_mode = neox on the stored
// rows, in place, instead of permuting copies of q_proj/k_proj (and their biases) at load; logits equal
// the GGUF twin's up to float summation order.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../core/status.hpp"
#include "../cpu/ops.hpp"
#include "../text/json.hpp"
#include "hparams.hpp"

namespace noggin {
namespace model {

// --- hf_config -------------------------------------------------------------------------------------------

struct hf_config {
    hparams hp;                        // as read_hparams would give for the GGUF twin (n_vocab = vocab_size;
                                       // rope_mode neox for every family, see the header comment)
    std::string architecture;          // the architectures[] entry used, e.g. "Qwen2ForCausalLM"
    bool tie_word_embeddings = false;  // lm_head.weight is model.embed_tokens.weight (default false)
    bool attention_bias = false;       // q/k/v_proj have biases (qwen2: always; llama: attention_bias)
    std::vector<float> rope_freqs;     // n_rot/2 frequency divisors for rope_type llama3; empty = none
    std::int64_t bos_token_id = -1;    // bos_token_id, -1 when absent or not a single integer
    std::int64_t eos_token_id = -1;    // eos_token_id (the first when a list), -1 when absent
};

// --- field readers ---------------------------------------------------------------------------------------

namespace hf_detail {

inline status cfg_error(status_code code, const std::string& message) {
    return status(code, str("config.json: ", message));
}
inline status missing(const char* field) { return cfg_error(status_code::format_error, str("field '", field, "' is missing")); }

// A required (or, with `optional`, defaulted) integer in 1..cap.
inline status read_int(const text::json_value& c, const char* field, std::int64_t cap, bool optional, std::int64_t* out) {
    const text::json_value* v = c.find(field);
    if (v == nullptr || v->is_null()) return optional ? status() : missing(field);
    if (!v->is_int()) return cfg_error(status_code::format_error, str("field '", field, "' is not an integer"));
    if (v->as_int() <= 0 || v->as_int() > cap)
        return cfg_error(status_code::format_error, str("field '", field, "' = ", v->as_int(), " is not in 1..", cap));
    *out = v->as_int();
    return status();
}

// A finite number (int or float).
inline status read_number(const text::json_value& c, const char* field, bool optional, double* out) {
    const text::json_value* v = c.find(field);
    if (v == nullptr || v->is_null()) return optional ? status() : missing(field);
    if (!v->is_number() || !std::isfinite(v->as_double()))
        return cfg_error(status_code::format_error, str("field '", field, "' is not a finite number"));
    *out = v->as_double();
    return status();
}

inline status read_bool(const text::json_value& c, const char* field, bool* out) {
    const text::json_value* v = c.find(field);
    if (v == nullptr || v->is_null()) return status();
    if (!v->is_bool()) return cfg_error(status_code::format_error, str("field '", field, "' is not a boolean"));
    *out = v->as_bool();
    return status();
}

inline std::string shown(const std::string& s) { return gguf::detail::printable(s); }

// --- llama3 rope factors ---

}  // namespace hf_detail

// The per-pair frequency divisors of Llama-3.1 RoPE scaling, as convert_hf_to_gguf.py computes them
// (frequencies in float32, the rest in double): pair i of n_rot/2 has wavelength 2π/θ_i; short
// wavelengths keep 1, long ones get `factor`, those between blend smoothly.
inline std::vector<float> llama3_rope_factors(std::int64_t n_rot, float freq_base, double factor, double low_freq_factor,
                                              double high_freq_factor, double original_context) {
    std::vector<float> out;
    const double pi = 3.14159265358979323846;
    const double low_wavelen = original_context / low_freq_factor;
    const double high_wavelen = original_context / high_freq_factor;
    for (std::int64_t i = 0; i < n_rot / 2; ++i) {
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(n_rot);
        const float freq = 1.0f / std::pow(freq_base, exponent);
        const double wavelen = 2.0 * pi / static_cast<double>(freq);
        double f;
        if (wavelen < high_wavelen) {
            f = 1.0;
        } else if (wavelen > low_wavelen) {
            f = factor;
        } else {
            const double smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
            f = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        out.push_back(static_cast<float>(f));
    }
    return out;
}

// --- read_hf_config --------------------------------------------------------------------------------------

// Parse config.json text. Errors: format_error (bad JSON, missing or out-of-range field), unsupported
// (another architecture, an activation other than silu, rope scaling other than none/linear/llama3,
// mixture-of-experts fields, biases where the family has none).
inline result<hf_config> read_hf_config(std::string_view json) {
    using namespace hf_detail;
    text::json_limits limits;
    limits.max_depth = 32;
    limits.max_bytes = 16u << 20;
    result<text::json_value> doc = text::json_parse(json, limits);
    if (!doc.ok()) return status(doc.status()).with_context("config.json");
    const text::json_value& c = doc.value();
    if (!c.is_object()) return cfg_error(status_code::format_error, "the top level is not an object");

    hf_config out;
    // Architecture: the first architectures[] entry we know, else model_type.
    const arch_traits* a = nullptr;
    const text::json_value* archs = c.find("architectures");
    if (archs != nullptr && !archs->is_null()) {
        if (!archs->is_array()) return cfg_error(status_code::format_error, "field 'architectures' is not an array");
        std::string names;
        for (std::size_t i = 0; i < archs->size() && a == nullptr; ++i) {
            const std::string& n = (*archs)[i].as_string();
            if (n == "LlamaForCausalLM") a = find_arch("llama");
            else if (n == "Qwen2ForCausalLM") a = find_arch("qwen2");
            else if (n == "Qwen3ForCausalLM") a = find_arch("qwen3");
            if (a != nullptr) out.architecture = n;
            if (i < 4) names += str(i ? ", " : "", shown(n));
        }
        if (a == nullptr)
            return cfg_error(status_code::unsupported,
                             str("field 'architectures' = [", names, "]: noggin supports LlamaForCausalLM, Qwen2ForCausalLM and Qwen3ForCausalLM"));
    } else {
        const text::json_value* mt = c.find("model_type");
        if (mt == nullptr || !mt->is_string()) return missing("architectures");
        a = find_arch(mt->as_string());
        if (a == nullptr)
            return cfg_error(status_code::unsupported,
                             str("field 'model_type' = ", shown(mt->as_string()), ": noggin supports llama, qwen2 and qwen3"));
        out.architecture = mt->as_string();
    }
    const text::json_value* mt = c.find("model_type");
    if (mt != nullptr && mt->is_string() && find_arch(mt->as_string()) != nullptr && find_arch(mt->as_string()) != a)
        return cfg_error(status_code::format_error, str("field 'model_type' = ", shown(mt->as_string()), " contradicts field 'architectures'"));

    hparams& hp = out.hp;
    hp.architecture = a->id;
    hp.rope_mode = cpu::rope_mode::neox;  // HF layout for every family (see the header comment)
    NOGGIN_TRY(read_int(c, "hidden_size", max_embd, false, &hp.n_embd));
    NOGGIN_TRY(read_int(c, "num_hidden_layers", max_layers, false, &hp.n_layer));
    NOGGIN_TRY(read_int(c, "num_attention_heads", max_heads, false, &hp.n_head));
    NOGGIN_TRY(read_int(c, "intermediate_size", max_ff, false, &hp.n_ff));
    NOGGIN_TRY(read_int(c, "vocab_size", max_vocab, false, &hp.n_vocab));
    NOGGIN_TRY(read_int(c, "max_position_embeddings", max_context, false, &hp.n_ctx_train));
    hp.n_head_kv = hp.n_head;
    NOGGIN_TRY(read_int(c, "num_key_value_heads", max_heads, true, &hp.n_head_kv));
    if (hp.n_head % hp.n_head_kv != 0)
        return cfg_error(status_code::format_error, str("field 'num_attention_heads' = ", hp.n_head,
                                                        " is not a multiple of field 'num_key_value_heads' = ", hp.n_head_kv));
    // head_dim: Qwen3 always has one (transformers' default 128); Llama may; Qwen2 uses hidden / heads.
    hp.head_dim = a->id == arch::qwen3 ? 128 : hp.n_embd / hp.n_head;
    if (a->id != arch::qwen2) NOGGIN_TRY(read_int(c, "head_dim", max_head_dim, true, &hp.head_dim));
    if (hp.head_dim <= 0 || hp.head_dim > max_head_dim)
        return cfg_error(status_code::unsupported, str("head dimension ", hp.head_dim, " (hidden_size / num_attention_heads) not in 1..", max_head_dim));
    if (hp.q_dim() > max_embd)
        return cfg_error(status_code::format_error, str("num_attention_heads x head_dim = ", hp.q_dim(), " is too large"));
    hp.head_dim_v = hp.head_dim;
    hp.n_rot = hp.head_dim;
    double partial = 1.0;
    NOGGIN_TRY(read_number(c, "partial_rotary_factor", true, &partial));
    if (!(partial > 0.0 && partial <= 1.0))
        return cfg_error(status_code::format_error, str("field 'partial_rotary_factor' = ", partial, " is not in (0, 1]"));
    hp.n_rot = static_cast<std::int64_t>(static_cast<double>(hp.head_dim) * partial);
    if (hp.n_rot <= 0 || hp.n_rot % 2 != 0)
        return cfg_error(status_code::format_error, str("field 'partial_rotary_factor' gives ", hp.n_rot, " rotated dimensions (must be even and > 0)"));

    double eps = 0.0;
    NOGGIN_TRY(read_number(c, "rms_norm_eps", false, &eps));
    hp.rms_eps = static_cast<float>(eps);
    if (!(hp.rms_eps > 0.0f && hp.rms_eps < 1.0f))
        return cfg_error(status_code::format_error, str("field 'rms_norm_eps' = ", eps, " is not in (0, 1)"));
    double theta = 10000.0;
    NOGGIN_TRY(read_number(c, "rope_theta", true, &theta));
    hp.rope_freq_base = static_cast<float>(theta);
    if (!(hp.rope_freq_base > 1.0f) || !std::isfinite(hp.rope_freq_base))
        return cfg_error(status_code::format_error, str("field 'rope_theta' = ", theta, " must be > 1"));

    const text::json_value* act = c.find("hidden_act");
    if (act != nullptr && !act->is_null() && act->as_string() != "silu")
        return cfg_error(status_code::unsupported, str("field 'hidden_act' = ", act->is_string() ? shown(act->as_string()) : std::string("(not a string)"),
                                                       ": only silu (SwiGLU) is supported"));
    for (const char* moe : {"num_experts", "num_local_experts", "n_routed_experts"}) {
        const text::json_value* v = c.find(moe);
        if (v != nullptr && v->is_int() && v->as_int() > 0)
            return cfg_error(status_code::unsupported, str("field '", moe, "' = ", v->as_int(), ": mixture-of-experts models are not supported"));
    }
    NOGGIN_TRY(read_bool(c, "tie_word_embeddings", &out.tie_word_embeddings));
    bool mlp_bias = false;
    NOGGIN_TRY(read_bool(c, "mlp_bias", &mlp_bias));
    if (mlp_bias) return cfg_error(status_code::unsupported, "field 'mlp_bias' = true: biases in the feed-forward are not supported");
    out.attention_bias = a->qkv_bias_required;
    NOGGIN_TRY(read_bool(c, "attention_bias", &out.attention_bias));
    if (a->qkv_bias_required) out.attention_bias = true;  // Qwen2 always has q/k/v biases
    if (out.attention_bias && !a->qkv_bias_allowed)
        return cfg_error(status_code::unsupported, str("field 'attention_bias' = true: ", a->name, " models have no attention biases here"));

    // rope_scaling: null / absent, "default", "linear" (positions / factor) or "llama3".
    const text::json_value* rs = c.find("rope_scaling");
    if (rs != nullptr && !rs->is_null()) {
        if (!rs->is_object()) return cfg_error(status_code::format_error, "field 'rope_scaling' is not an object");
        const text::json_value* type = rs->find("rope_type");
        if (type == nullptr) type = rs->find("type");
        if (type == nullptr || !type->is_string()) return missing("rope_scaling.rope_type");
        const std::string& t = type->as_string();
        auto sub = [&](const char* field, double* v) -> status {
            const text::json_value* x = rs->find(field);
            if (x == nullptr || x->is_null()) return missing(str("rope_scaling.", field).c_str());
            if (!x->is_number() || !std::isfinite(x->as_double()) || x->as_double() <= 0.0)
                return cfg_error(status_code::format_error, str("field 'rope_scaling.", field, "' is not a positive number"));
            *v = x->as_double();
            return status();
        };
        if (t == "default") {
        } else if (t == "linear") {
            double factor = 1.0;
            NOGGIN_TRY(sub("factor", &factor));
            hp.rope_freq_scale = static_cast<float>(1.0 / factor);
        } else if (t == "llama3") {
            double factor = 0, low = 0, high = 0, orig = 0;
            NOGGIN_TRY(sub("factor", &factor));
            NOGGIN_TRY(sub("low_freq_factor", &low));
            NOGGIN_TRY(sub("high_freq_factor", &high));
            NOGGIN_TRY(sub("original_max_position_embeddings", &orig));
            if (!(high > low))
                return cfg_error(status_code::format_error, "field 'rope_scaling.high_freq_factor' must be greater than low_freq_factor");
            out.rope_freqs = llama3_rope_factors(hp.n_rot, hp.rope_freq_base, factor, low, high, orig);
        } else {
            return cfg_error(status_code::unsupported,
                             str("field 'rope_scaling.rope_type' = ", shown(t), ": noggin supports default, linear and llama3"));
        }
    }
    auto first_id = [](const text::json_value* v) -> std::int64_t {
        if (v == nullptr) return -1;
        if (v->is_int()) return v->as_int() >= 0 ? v->as_int() : -1;
        if (v->is_array() && v->size() > 0 && (*v)[0].is_int()) return (*v)[0].as_int() >= 0 ? (*v)[0].as_int() : -1;
        return -1;
    };
    out.bos_token_id = first_id(c.find("bos_token_id"));
    out.eos_token_id = first_id(c.find("eos_token_id"));
    return out;
}

}  // namespace model
}  // namespace noggin
