// noggin/model/hparams.hpp — transformer hyper-parameters from GGUF metadata, and the architecture table.
//
// Reads `general.architecture` and the `<arch>.*` keys llama.cpp writes for the dense decoder-only
// families DeepSeek-R1's distills use: `llama` (R1-Distill-Llama, Llama-3.1 RoPE scaling through the
// `rope_freqs.weight` tensor), `qwen2` (R1-Distill-Qwen: q/k/v biases, NeoX RoPE) and `qwen3`
// (R1-0528-Qwen3: per-head q/k RMSNorm, no biases). Anything else is a status naming what is wrong.
//
//     noggin::result<noggin::gguf::file> f = noggin::gguf::file::open("model.gguf");
//     noggin::result<noggin::model::hparams> hp = noggin::model::read_hparams(f.value());
//     if (!hp.ok()) return hp.status();            // "unsupported architecture 'gpt2'", "key ... not found"
//     // hp->n_embd, hp->n_head, hp->head_dim, hp->rope_mode, ...
//
// Sections: architecture table · hparams · read_hparams
//
// n_vocab is not a metadata key: model.hpp takes it from token_embd.weight (ne[1]) and checks every
// tensor's shape against these numbers. The tokenizer lives in text/, not here.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/status.hpp"
#include "../cpu/ops.hpp"
#include "../formats/gguf.hpp"

namespace noggin {
namespace model {

// --- architecture table ------------------------------------------------------------------------------------

enum class arch : int {
    llama = 0,  // Llama 2/3 (and R1-Distill-Llama): RoPE on adjacent pairs, optional biases
    qwen2 = 1,  // Qwen2/2.5 (and R1-Distill-Qwen): NeoX RoPE, q/k/v biases required
    qwen3 = 2,  // Qwen3 (and R1-0528-Qwen3): NeoX RoPE, per-head q/k RMSNorm, no biases
};

// How one architecture differs from the others; one row per supported `general.architecture`.
struct arch_traits {
    arch id;                    // the enum value
    const char* name;           // the GGUF spelling ("llama", "qwen2", "qwen3")
    cpu::rope_mode rope;        // pair layout of the rotary embedding
    bool qkv_bias_required;     // blk.N.attn_{q,k,v}.bias must exist (qwen2)
    bool qkv_bias_allowed;      // biases are used when present (llama, qwen2); ignored otherwise
    bool qk_norm;               // blk.N.attn_{q,k}_norm.weight (head_dim each) before RoPE (qwen3)
};

inline constexpr arch_traits arch_table[] = {
    {arch::llama, "llama", cpu::rope_mode::normal, false, true, false},
    {arch::qwen2, "qwen2", cpu::rope_mode::neox, true, true, false},
    {arch::qwen3, "qwen3", cpu::rope_mode::neox, false, false, true},
};

inline const arch_traits& arch_info(arch a) {
    for (const arch_traits& row : arch_table)
        if (row.id == a) return row;
    return arch_table[0];
}

inline const char* arch_name(arch a) { return arch_info(a).name; }

// The row for a `general.architecture` string; null when noggin does not support it.
inline const arch_traits* find_arch(std::string_view name) {
    for (const arch_traits& row : arch_table)
        if (name == row.name) return &row;
    return nullptr;
}

// --- hparams -----------------------------------------------------------------------------------------------

// Caps that keep sizes computed from untrusted metadata far from overflow; real models are far below.
inline constexpr std::int64_t max_embd = 1 << 16;        // n_embd, n_head·head_dim
inline constexpr std::int64_t max_ff = 1 << 20;          // n_ff
inline constexpr std::int64_t max_layers = 1 << 12;      // n_layer
inline constexpr std::int64_t max_heads = 1 << 12;       // n_head
inline constexpr std::int64_t max_head_dim = 1024;       // what cpu::attention supports
inline constexpr std::int64_t max_vocab = 1 << 24;       // n_vocab
inline constexpr std::int64_t max_context = 1 << 24;     // context length

struct hparams {
    arch architecture = arch::llama;      // general.architecture
    std::int64_t n_vocab = 0;             // token_embd.weight ne[1] (set by model::create; 0 here)
    std::int64_t n_embd = 0;              // <arch>.embedding_length: hidden size
    std::int64_t n_layer = 0;             // <arch>.block_count
    std::int64_t n_head = 0;              // <arch>.attention.head_count: query heads
    std::int64_t n_head_kv = 0;           // <arch>.attention.head_count_kv (default n_head): K/V heads (GQA)
    std::int64_t head_dim = 0;            // <arch>.attention.key_length (default n_embd / n_head)
    std::int64_t head_dim_v = 0;          // <arch>.attention.value_length (default head_dim); must equal head_dim
    std::int64_t n_ff = 0;                // <arch>.feed_forward_length: FFN hidden size
    std::int64_t n_ctx_train = 0;         // <arch>.context_length: positions the model was trained for
    float rms_eps = 1e-5f;                // <arch>.attention.layer_norm_rms_epsilon
    cpu::rope_mode rope_mode = cpu::rope_mode::normal;  // from the architecture table
    std::int64_t n_rot = 0;               // <arch>.rope.dimension_count (default head_dim): rotated dims, even
    float rope_freq_base = 10000.0f;      // <arch>.rope.freq_base (default 10000)
    float rope_freq_scale = 1.0f;         // 1 / <arch>.rope.scaling.factor for "linear" scaling (default 1)

    std::int64_t q_dim() const { return n_head * head_dim; }      // rows of attn_q
    std::int64_t kv_dim() const { return n_head_kv * head_dim; }  // rows of attn_k / attn_v
};

// --- read_hparams --------------------------------------------------------------------------------------------

namespace detail {

inline std::string key_of(const arch_traits& a, const char* suffix) { return std::string(a.name) + "." + suffix; }

// A required positive integer key, at most `cap`.
inline status read_count(const gguf::file& f, const std::string& key, std::int64_t cap, std::int64_t* out) {
    if (!f.has(key)) return status(status_code::format_error, str("model metadata: key '", key, "' not found"));
    result<std::int64_t> v = f.get_i64(key);
    if (!v.ok()) return status(status_code::format_error, str("model metadata: ", v.status().message()));
    if (v.value() <= 0 || v.value() > cap)
        return status(status_code::format_error, str("model metadata: ", key, " = ", v.value(), " is not in 1..", cap));
    *out = v.value();
    return status();
}

// An optional positive integer key: `*out` keeps its value when the key is absent.
inline status read_count_opt(const gguf::file& f, const std::string& key, std::int64_t cap, std::int64_t* out) {
    if (!f.has(key)) return status();
    return read_count(f, key, cap, out);
}

// An optional float key (float32 or float64 stored).
inline status read_float_opt(const gguf::file& f, const std::string& key, float* out) {
    if (!f.has(key)) return status();
    result<double> v = f.get_f64(key);
    if (!v.ok()) return status(status_code::format_error, str("model metadata: ", v.status().message()));
    if (!std::isfinite(v.value())) return status(status_code::format_error, str("model metadata: ", key, " is not finite"));
    *out = static_cast<float>(v.value());
    return status();
}

}  // namespace detail

// Hyper-parameters of a supported architecture from `f`'s metadata. Fails with unsupported (unknown
// architecture, rope scaling other than none/linear, different key/value head sizes) or format_error
// (a missing or out-of-range key), the message naming the key. n_vocab stays 0 (see model.hpp).
inline result<hparams> read_hparams(const gguf::file& f) {
    if (!f.has("general.architecture"))
        return status(status_code::format_error, "model metadata: key 'general.architecture' not found");
    result<std::string_view> name = f.get_string("general.architecture");
    if (!name.ok()) return status(status_code::format_error, str("model metadata: ", name.status().message()));
    const arch_traits* a = find_arch(name.value());
    if (a == nullptr) {
        std::string shown(name.value().substr(0, 64));
        return status(status_code::unsupported,
                      str("unsupported architecture '", shown, "' (noggin supports llama, qwen2, qwen3)"));
    }
    // Mixtral-style files say "llama" but carry expert tensors instead of a dense FFN.
    std::int64_t n_expert = 0;
    if (f.has(detail::key_of(*a, "expert_count"))) {
        result<std::int64_t> e = f.get_i64(detail::key_of(*a, "expert_count"));
        n_expert = e.ok() ? e.value() : -1;
    }
    if (n_expert != 0)
        return status(status_code::unsupported, str("model metadata: ", a->name, ".expert_count = ", n_expert,
                                                    ": mixture-of-experts models are not supported"));
    hparams hp;
    hp.architecture = a->id;
    hp.rope_mode = a->rope;
    using detail::key_of;
    NOGGIN_TRY(detail::read_count(f, key_of(*a, "embedding_length"), max_embd, &hp.n_embd));
    NOGGIN_TRY(detail::read_count(f, key_of(*a, "block_count"), max_layers, &hp.n_layer));
    NOGGIN_TRY(detail::read_count(f, key_of(*a, "attention.head_count"), max_heads, &hp.n_head));
    NOGGIN_TRY(detail::read_count(f, key_of(*a, "feed_forward_length"), max_ff, &hp.n_ff));
    NOGGIN_TRY(detail::read_count(f, key_of(*a, "context_length"), max_context, &hp.n_ctx_train));
    hp.n_head_kv = hp.n_head;
    NOGGIN_TRY(detail::read_count_opt(f, key_of(*a, "attention.head_count_kv"), max_heads, &hp.n_head_kv));
    if (hp.n_head % hp.n_head_kv != 0)
        return status(status_code::format_error, str("model metadata: head_count ", hp.n_head,
                                                     " is not a multiple of head_count_kv ", hp.n_head_kv));
    hp.head_dim = hp.n_embd / hp.n_head;
    NOGGIN_TRY(detail::read_count_opt(f, key_of(*a, "attention.key_length"), max_head_dim, &hp.head_dim));
    if (hp.head_dim <= 0 || hp.head_dim > max_head_dim)
        return status(status_code::unsupported, str("model metadata: head dimension ", hp.head_dim, " not in 1..", max_head_dim));
    hp.head_dim_v = hp.head_dim;
    NOGGIN_TRY(detail::read_count_opt(f, key_of(*a, "attention.value_length"), max_head_dim, &hp.head_dim_v));
    if (hp.head_dim_v != hp.head_dim)
        return status(status_code::unsupported, str("model metadata: value head size ", hp.head_dim_v,
                                                    " differs from key head size ", hp.head_dim));
    if (hp.q_dim() > max_embd)
        return status(status_code::format_error, str("model metadata: head_count x head size = ", hp.q_dim(), " is too large"));
    hp.n_rot = hp.head_dim;
    NOGGIN_TRY(detail::read_count_opt(f, key_of(*a, "rope.dimension_count"), max_head_dim, &hp.n_rot));
    if (hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0)
        return status(status_code::format_error, str("model metadata: rope.dimension_count ", hp.n_rot,
                                                     " must be even and at most the head size ", hp.head_dim));
    const std::string eps_key = key_of(*a, "attention.layer_norm_rms_epsilon");
    if (!f.has(eps_key)) return status(status_code::format_error, str("model metadata: key '", eps_key, "' not found"));
    NOGGIN_TRY(detail::read_float_opt(f, eps_key, &hp.rms_eps));
    if (!(hp.rms_eps > 0.0f && hp.rms_eps < 1.0f))
        return status(status_code::format_error, str("model metadata: ", eps_key, " = ", hp.rms_eps, " not in (0, 1)"));
    NOGGIN_TRY(detail::read_float_opt(f, key_of(*a, "rope.freq_base"), &hp.rope_freq_base));
    if (!(hp.rope_freq_base > 1.0f))
        return status(status_code::format_error, str("model metadata: rope.freq_base = ", hp.rope_freq_base, " must be > 1"));

    // RoPE scaling: none, or linear (positions · 1/factor). Llama-3.1's scaling comes as rope_freqs.weight.
    const std::string scaling_key = key_of(*a, "rope.scaling.type");
    std::string_view scaling = "none";
    if (f.has(scaling_key)) {
        result<std::string_view> s = f.get_string(scaling_key);
        if (!s.ok()) return status(status_code::format_error, str("model metadata: ", s.status().message()));
        scaling = s.value();
    }
    float factor = 0.0f;
    NOGGIN_TRY(detail::read_float_opt(f, key_of(*a, "rope.scaling.factor"), &factor));
    if (scaling == "linear") {
        if (factor > 0.0f) hp.rope_freq_scale = 1.0f / factor;
    } else if (scaling != "none" && !scaling.empty()) {
        return status(status_code::unsupported,
                      str("model metadata: rope scaling '", std::string(scaling.substr(0, 32)), "' is not supported (none, linear)"));
    }
    return hp;
}

}  // namespace model
}  // namespace noggin
