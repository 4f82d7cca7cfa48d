// noggin/vulkan/forward.hpp — the transformer forward pass on a Vulkan device: weights uploaded once,
// KV cache on the device, one command buffer (one submit) per decode step.
//
// The model is the CPU path's noggin::model::model: its hyper-parameters, architecture table and
// checked weight views are reused as they are (nothing is re-parsed); this file only uploads those
// views and records the same sequence of ops as model/forward.hpp, with the device's float math on
// the dequantized weights (no activation quantization).
//
//     auto vk = noggin::vulkan::context::create({});                      // or adopt the game's device
//     noggin::vulkan::model_context_params p;  p.n_ctx = 2048;
//     noggin::vulkan::memory_estimate need = noggin::vulkan::estimate_memory(m.value(), p);  // before loading
//     auto mc = noggin::vulkan::model_context::create(*vk.value(), m.value(), p);
//     mc->decode(prompt.data(), prompt.size());          // prompt batches use the matrix-matrix shaders
//     int next = argmax(mc->logits(), n_vocab);
//     mc->decode(&next, 1);                              // one submit per token
//
// Sections: params + memory estimate · model_context (create, decode, decode_all, run) · recording
//
// Guarantees as on the CPU: a failed call leaves n_past unchanged; positions ≥ n_past are never read.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "../model/forward.hpp"
#include "../model/model.hpp"
#include "ops.hpp"

namespace noggin {
namespace vulkan {

// --- params + memory estimate ------------------------------------------------------------------------------

struct model_context_params {
    std::int64_t n_ctx = 0;          // positions in the KV cache; 0 = min(model's context, 4096) (default)
    dtype kv_type = dtype::f16;      // KV cache element type: f16 (default) or f32
    std::int64_t max_batch = 64;     // tokens per command buffer in a prompt batch (default 64)
};

// Device bytes a model needs, computed from its hyper-parameters and tensor types without uploading.
struct memory_estimate {
    std::uint64_t weights = 0;      // every weight tensor as uploaded (after any F32 conversion)
    std::uint64_t kv_cache = 0;     // K and V of every layer
    std::uint64_t activations = 0;  // per-batch scratch and logits
    std::uint64_t total() const { return weights + kv_cache + activations; }
};

namespace detail {
struct dims {
    std::int64_t n_ctx, B, B_logits;  // cache positions, batch, logits rows per batch
};
inline result<dims> plan(const model::model& m, const model_context_params& p, std::uint64_t binding_limit) {
    const model::hparams& hp = m.hparams();
    dims d{};
    d.n_ctx = p.n_ctx == 0 ? std::min<std::int64_t>(hp.n_ctx_train, 4096) : p.n_ctx;
    if (d.n_ctx <= 0 || d.n_ctx > hp.n_ctx_train)
        return status(status_code::invalid_argument, str("vulkan model: n_ctx ", p.n_ctx, " not in 1..", hp.n_ctx_train));
    if (p.kv_type != dtype::f16 && p.kv_type != dtype::f32)
        return status(status_code::unsupported, str("vulkan model: KV type ", dtype_name(p.kv_type), " (F16 or F32 only)"));
    if (p.max_batch <= 0 || p.max_batch > 4096) return status(status_code::invalid_argument, "vulkan model: max_batch not in 1..4096");
    const std::uint64_t widest = static_cast<std::uint64_t>(std::max({hp.n_embd, hp.q_dim(), hp.n_ff})) * 4;
    d.B = std::min<std::int64_t>(p.max_batch, static_cast<std::int64_t>(binding_limit / widest));
    d.B_logits = std::min<std::int64_t>(d.B, static_cast<std::int64_t>(binding_limit / (static_cast<std::uint64_t>(hp.n_vocab) * 4)));
    const std::uint64_t es = p.kv_type == dtype::f16 ? 2 : 4;
    if (d.B < 1 || d.B_logits < 1 || static_cast<std::uint64_t>(d.n_ctx * hp.kv_dim()) * es > binding_limit)
        return status(status_code::unsupported, "vulkan model: activations or one layer's KV cache exceed the device's binding limit");
    if (hp.head_dim > attention_max_head_dim)
        return status(status_code::unsupported, str("vulkan model: head_dim ", hp.head_dim, " > ", attention_max_head_dim));
    return d;
}
inline std::uint64_t activation_bytes(const model::hparams& hp, const dims& d) {
    const std::uint64_t B = static_cast<std::uint64_t>(d.B);
    const std::uint64_t floats = B * static_cast<std::uint64_t>(3 * hp.n_embd + 2 * hp.q_dim() + 2 * hp.kv_dim() + 2 * hp.n_ff) +
                                 static_cast<std::uint64_t>(d.B_logits) * static_cast<std::uint64_t>(hp.n_vocab) + static_cast<std::uint64_t>(hp.n_rot);
    return floats * 4;
}
}  // namespace detail

// What create() will allocate on the device (for a budget check before loading). The binding limit
// is the device's maxStorageBufferRange (default: lavapipe's 128 MiB).
inline result<memory_estimate> estimate_memory(const model::model& m, const model_context_params& p = {},
                                               std::uint64_t binding_limit = 128u << 20) {
    if (m.empty()) return status(status_code::invalid_argument, "vulkan model: empty model");
    result<detail::dims> d = detail::plan(m, p, binding_limit);
    if (!d.ok()) return d.status();
    const model::hparams& hp = m.hparams();
    const model::model_weights& W = m.weights();
    memory_estimate e;
    auto add = [&](const tensor_view& t) {
        if (t.data != nullptr) e.weights += device_bytes(t);
    };
    add(W.token_embd);
    add(W.output_norm);
    if (!W.tied_output) add(W.output);
    for (const model::layer_weights& l : W.layers)
        for (const tensor_view* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm, &l.k_norm, &l.ffn_norm,
                                     &l.ffn_gate, &l.ffn_up, &l.ffn_down})
            add(*t);
    e.kv_cache = 2 * static_cast<std::uint64_t>(hp.n_layer) * static_cast<std::uint64_t>(d.value().n_ctx * hp.kv_dim()) *
                 (p.kv_type == dtype::f16 ? 2u : 4u);
    e.activations = detail::activation_bytes(hp, d.value());
    return e;
}

// --- model_context ---------------------------------------------------------------------------------------------

// One sequence of a model on the device: uploaded weights, a KV cache and activation buffers. The
// model::model and the vulkan::context must outlive it. Movable, not copyable.
class model_context {
public:
    model_context() = default;

    static inline result<model_context> create(context& ctx, const model::model& m, const model_context_params& p = {});

    // Run tokens; afterwards logits() holds the last token's logits.
    status decode(const std::int32_t* tokens, std::int64_t n) {
        model::forward_params fp;
        fp.logits = model::logits_mode::last;
        fp.logits_out = logits_.data();
        return run(tokens, n, fp);
    }
    // Run tokens and write every position's logits (n × n_vocab floats) to `out`.
    status decode_all(const std::int32_t* tokens, std::int64_t n, float* out) {
        model::forward_params fp;
        fp.logits = model::logits_mode::all;
        fp.logits_out = out;
        return run(tokens, n, fp);
    }
    // Full control: logits mode and cancellation (checked between command buffers). fp.pool is unused.
    inline status run(const std::int32_t* tokens, std::int64_t n, const model::forward_params& fp);

    const float* logits() const { return logits_.data(); }  // n_vocab floats
    std::int64_t n_past() const { return n_past_; }
    std::int64_t n_ctx() const { return n_ctx_; }
    std::int64_t max_batch() const { return B_; }
    // Keep positions [0, n); n ≤ n_past (out_of_range otherwise, nothing changes).
    status truncate(std::int64_t n) {
        if (n < 0 || n > n_past_) return status(status_code::out_of_range, str("vulkan model: truncate ", n, " not in 0..", n_past_));
        n_past_ = n;
        return status();
    }
    void clear() { n_past_ = 0; }
    std::uint64_t weight_bytes() const { return weight_bytes_; }
    int last_dispatches() const { return last_dispatches_; }  // in the last command buffer
    int last_barriers() const { return last_barriers_; }
    int last_submits() const { return last_submits_; }        // command buffers of the last run()

private:
    struct layer {
        device_tensor attn_norm, wq, wk, wv, wo, bq, bk, bv, q_norm, k_norm, ffn_norm, gate, up, down;
        device_buffer k_cache, v_cache;
    };
    inline status record_chunk(recorder& rec, std::int64_t n, std::int64_t p0, model::logits_mode mode);

    context* ctx_ = nullptr;
    const model::model* model_ = nullptr;
    std::int64_t n_ctx_ = 0, n_past_ = 0, B_ = 0, B_logits_ = 0;
    dtype kv_type_ = dtype::f16;
    std::uint64_t weight_bytes_ = 0;
    device_tensor embd_, out_norm_, output_;
    bool tied_ = false;
    std::vector<layer> layers_;
    device_buffer ids_, pos_, freq_;                                  // host-visible inputs; rope table
    device_buffer x_, xb_, q_, k_, v_, attn_, tmp_, gate_, up_, logits_dev_;
    device_buffer readback_;                                          // host-visible logits
    std::vector<float> logits_;                                       // last token's logits
    bool has_factors_ = false;
    int last_dispatches_ = 0, last_barriers_ = 0, last_submits_ = 0;
};

inline result<model_context> model_context::create(context& ctx, const model::model& m, const model_context_params& p) {
    if (m.empty()) return status(status_code::invalid_argument, "vulkan model: empty model");
    result<detail::dims> d = detail::plan(m, p, ctx.device_binding_bytes());
    if (!d.ok()) return d.status();
    const model::hparams& hp = m.hparams();
    const model::model_weights& W = m.weights();
    model_context c;
    c.ctx_ = &ctx;
    c.model_ = &m;
    c.n_ctx_ = d.value().n_ctx;
    c.B_ = d.value().B;
    c.B_logits_ = d.value().B_logits;
    c.kv_type_ = p.kv_type;
    c.tied_ = W.tied_output;

    auto up = [&](const tensor_view& t, const std::string& name, device_tensor* out) -> status {
        if (t.data == nullptr) return status();
        result<device_tensor> r = upload_tensor(ctx, t, name.c_str());
        if (!r.ok()) return r.status();
        c.weight_bytes_ += r.value().bytes();
        *out = std::move(r.value());
        return status();
    };
    auto vec = [&](const tensor_view& t, const std::string& name, device_tensor* out) -> status {
        NOGGIN_TRY(up(t, name, out));
        if (out->chunks.size() > 1)  // vectors are bound whole
            return status(status_code::unsupported, str("vulkan model: vector ", name, " exceeds the binding limit"));
        return status();
    };
    NOGGIN_TRY(up(W.token_embd, "token_embd.weight", &c.embd_));
    NOGGIN_TRY(vec(W.output_norm, "output_norm.weight", &c.out_norm_));
    if (!c.tied_) NOGGIN_TRY(up(W.output, "output.weight", &c.output_));
    c.layers_.resize(static_cast<std::size_t>(hp.n_layer));
    const std::uint64_t es = p.kv_type == dtype::f16 ? 2 : 4;
    const std::uint64_t cache_bytes = static_cast<std::uint64_t>(c.n_ctx_ * hp.kv_dim()) * es;
    for (std::int64_t i = 0; i < hp.n_layer; ++i) {
        const model::layer_weights& L = W.layers[static_cast<std::size_t>(i)];
        layer& l = c.layers_[static_cast<std::size_t>(i)];
        const std::string pre = str("blk.", i, ".");
        NOGGIN_TRY(vec(L.attn_norm, pre + "attn_norm", &l.attn_norm));
        NOGGIN_TRY(up(L.wq, pre + "attn_q", &l.wq));
        NOGGIN_TRY(up(L.wk, pre + "attn_k", &l.wk));
        NOGGIN_TRY(up(L.wv, pre + "attn_v", &l.wv));
        NOGGIN_TRY(up(L.wo, pre + "attn_output", &l.wo));
        NOGGIN_TRY(vec(L.bq, pre + "attn_q.bias", &l.bq));
        NOGGIN_TRY(vec(L.bk, pre + "attn_k.bias", &l.bk));
        NOGGIN_TRY(vec(L.bv, pre + "attn_v.bias", &l.bv));
        NOGGIN_TRY(vec(L.q_norm, pre + "attn_q_norm", &l.q_norm));
        NOGGIN_TRY(vec(L.k_norm, pre + "attn_k_norm", &l.k_norm));
        NOGGIN_TRY(vec(L.ffn_norm, pre + "ffn_norm", &l.ffn_norm));
        NOGGIN_TRY(up(L.ffn_gate, pre + "ffn_gate", &l.gate));
        NOGGIN_TRY(up(L.ffn_up, pre + "ffn_up", &l.up));
        NOGGIN_TRY(up(L.ffn_down, pre + "ffn_down", &l.down));
        result<device_buffer> kb = ctx.make_buffer(cache_bytes, memory_kind::device);
        if (!kb.ok()) return kb.status();
        result<device_buffer> vb = ctx.make_buffer(cache_bytes, memory_kind::device);
        if (!vb.ok()) return vb.status();
        l.k_cache = std::move(kb.value());
        l.v_cache = std::move(vb.value());
    }

    const std::uint64_t B = static_cast<std::uint64_t>(c.B_);
    auto make = [&](std::uint64_t bytes, memory_kind kind, device_buffer* out) -> status {
        result<device_buffer> b = ctx.make_buffer(bytes, kind);
        if (!b.ok()) return b.status();
        *out = std::move(b.value());
        return status();
    };
    NOGGIN_TRY(make(B * 4, memory_kind::upload, &c.ids_));
    NOGGIN_TRY(make(B * 4, memory_kind::upload, &c.pos_));
    const std::uint64_t E = static_cast<std::uint64_t>(hp.n_embd), Q = static_cast<std::uint64_t>(hp.q_dim()),
                        KV = static_cast<std::uint64_t>(hp.kv_dim()), F = static_cast<std::uint64_t>(hp.n_ff),
                        V = static_cast<std::uint64_t>(hp.n_vocab);
    NOGGIN_TRY(make(B * E * 4, memory_kind::device, &c.x_));
    NOGGIN_TRY(make(B * E * 4, memory_kind::device, &c.xb_));
    NOGGIN_TRY(make(B * Q * 4, memory_kind::device, &c.q_));
    NOGGIN_TRY(make(B * KV * 4, memory_kind::device, &c.k_));
    NOGGIN_TRY(make(B * KV * 4, memory_kind::device, &c.v_));
    NOGGIN_TRY(make(B * Q * 4, memory_kind::device, &c.attn_));
    NOGGIN_TRY(make(B * E * 4, memory_kind::device, &c.tmp_));
    NOGGIN_TRY(make(B * F * 4, memory_kind::device, &c.gate_));
    NOGGIN_TRY(make(B * F * 4, memory_kind::device, &c.up_));
    NOGGIN_TRY(make(static_cast<std::uint64_t>(c.B_logits_) * V * 4, memory_kind::device, &c.logits_dev_));
    NOGGIN_TRY(make(static_cast<std::uint64_t>(c.B_logits_) * V * 4, memory_kind::readback, &c.readback_));
    c.has_factors_ = W.rope_freqs != nullptr;
    const std::vector<float> table = rope_freq_table(hp.rope_freq_base, hp.n_rot, W.rope_freqs);
    NOGGIN_TRY(make(table.size() * 4, memory_kind::device, &c.freq_));
    NOGGIN_TRY(ctx.upload(c.freq_.get(), 0, table.data(), table.size() * 4));
    c.logits_.assign(static_cast<std::size_t>(V), 0.0f);
    ctx.log()(log_level::info, str("vulkan model: ", c.weight_bytes_, " bytes of weights uploaded; KV cache ", 2 * hp.n_layer, " x ",
                                   cache_bytes, " bytes; batch ", c.B_));
    return c;
}

inline status model_context::record_chunk(recorder& rec, std::int64_t n, std::int64_t p0, model::logits_mode mode) {
    const model::hparams& hp = model_->hparams();
    const auto u = [](std::int64_t v) { return static_cast<std::uint32_t>(v); };
    const std::int64_t E = hp.n_embd, Q = hp.q_dim(), KV = hp.kv_dim(), F = hp.n_ff, D = hp.head_dim;
    NOGGIN_TRY(get_rows(rec, embd_, ids_.whole(), 0, n, {x_.whole(), 0, u(E)}));
    rope_args rq;
    rq.n_tok = n;
    rq.n_heads = hp.n_head;
    rq.head_dim = D;
    rq.n_dims = hp.n_rot;
    rq.neox = hp.rope_mode == cpu::rope_mode::neox;
    rq.freq_scale = hp.rope_freq_scale;
    rq.has_factors = has_factors_;
    rope_args rk = rq;
    rk.n_heads = hp.n_head_kv;
    attention_args aa;
    aa.n_tok = n;
    aa.n_head = hp.n_head;
    aa.n_head_kv = hp.n_head_kv;
    aa.head_dim = D;
    aa.pos0 = p0;
    aa.n_kv = p0 + n;
    aa.kv_stride = KV;
    for (const layer& l : layers_) {
        NOGGIN_TRY(rmsnorm(rec, {x_.whole(), 0, u(E)}, l.attn_norm.whole(), 0, {xb_.whole(), 0, u(E)}, E, n, hp.rms_eps));
        NOGGIN_TRY(matmul(rec, l.wq, {xb_.whole(), 0, u(E)}, {q_.whole(), 0, u(Q)}, n));
        NOGGIN_TRY(matmul(rec, l.wk, {xb_.whole(), 0, u(E)}, {k_.whole(), 0, u(KV)}, n));
        NOGGIN_TRY(matmul(rec, l.wv, {xb_.whole(), 0, u(E)}, {v_.whole(), 0, u(KV)}, n));
        if (!l.bq.empty()) NOGGIN_TRY(add(rec, {q_.whole()}, {l.bq.whole()}, Q, {q_.whole()}, n * Q));
        if (!l.bk.empty()) NOGGIN_TRY(add(rec, {k_.whole()}, {l.bk.whole()}, KV, {k_.whole()}, n * KV));
        if (!l.bv.empty()) NOGGIN_TRY(add(rec, {v_.whole()}, {l.bv.whole()}, KV, {v_.whole()}, n * KV));
        if (!l.q_norm.empty()) {
            NOGGIN_TRY(rmsnorm(rec, {q_.whole(), 0, u(D)}, l.q_norm.whole(), 0, {q_.whole(), 0, u(D)}, D, n * hp.n_head, hp.rms_eps));
            NOGGIN_TRY(rmsnorm(rec, {k_.whole(), 0, u(D)}, l.k_norm.whole(), 0, {k_.whole(), 0, u(D)}, D, n * hp.n_head_kv, hp.rms_eps));
        }
        NOGGIN_TRY(rope(rec, {q_.whole()}, pos_.whole(), 0, freq_.whole(), 0, rq));
        NOGGIN_TRY(rope(rec, {k_.whole()}, pos_.whole(), 0, freq_.whole(), 0, rk));
        NOGGIN_TRY(kv_store(rec, {k_.whole()}, l.k_cache.whole(), kv_type_, u(p0 * KV), n * KV));
        NOGGIN_TRY(kv_store(rec, {v_.whole()}, l.v_cache.whole(), kv_type_, u(p0 * KV), n * KV));
        NOGGIN_TRY(attention(rec, {q_.whole()}, l.k_cache.whole(), l.v_cache.whole(), kv_type_, {attn_.whole()}, aa));
        NOGGIN_TRY(matmul(rec, l.wo, {attn_.whole(), 0, u(Q)}, {tmp_.whole(), 0, u(E)}, n));
        NOGGIN_TRY(add(rec, {x_.whole()}, {tmp_.whole()}, n * E, {x_.whole()}, n * E));
        NOGGIN_TRY(rmsnorm(rec, {x_.whole(), 0, u(E)}, l.ffn_norm.whole(), 0, {xb_.whole(), 0, u(E)}, E, n, hp.rms_eps));
        NOGGIN_TRY(matmul(rec, l.gate, {xb_.whole(), 0, u(E)}, {gate_.whole(), 0, u(F)}, n));
        NOGGIN_TRY(matmul(rec, l.up, {xb_.whole(), 0, u(E)}, {up_.whole(), 0, u(F)}, n));
        NOGGIN_TRY(silu_mul(rec, {gate_.whole()}, {up_.whole()}, {gate_.whole()}, n * F));
        NOGGIN_TRY(matmul(rec, l.down, {gate_.whole(), 0, u(F)}, {tmp_.whole(), 0, u(E)}, n));
        NOGGIN_TRY(add(rec, {x_.whole()}, {tmp_.whole()}, n * E, {x_.whole()}, n * E));
    }
    if (mode == model::logits_mode::none) return status();
    const std::int64_t first = mode == model::logits_mode::last ? n - 1 : 0, rows = n - first;
    const std::int64_t V = hp.n_vocab;
    NOGGIN_TRY(rmsnorm(rec, {x_.whole(), u(first * E), u(E)}, out_norm_.whole(), 0, {xb_.whole(), 0, u(E)}, E, rows, hp.rms_eps));
    NOGGIN_TRY(matmul(rec, tied_ ? embd_ : output_, {xb_.whole(), 0, u(E)}, {logits_dev_.whole(), 0, u(V)}, rows));
    rec.copy(logits_dev_.handle(), 0, readback_.handle(), 0, static_cast<std::uint64_t>(rows * V) * 4);
    return status();
}

inline status model_context::run(const std::int32_t* tokens, std::int64_t n_tokens, const model::forward_params& fp) {
    if (ctx_ == nullptr || model_ == nullptr) return status(status_code::invalid_argument, "vulkan model: not created");
    const model::hparams& hp = model_->hparams();
    if (n_tokens <= 0 || tokens == nullptr) return status(status_code::invalid_argument, "vulkan model: no tokens");
    if (fp.logits != model::logits_mode::none && fp.logits_out == nullptr)
        return status(status_code::invalid_argument, "vulkan model: logits requested but logits_out is null");
    if (n_tokens > n_ctx_ - n_past_)
        return status(status_code::limit_exceeded, str("vulkan model: ", n_tokens, " tokens at position ", n_past_,
                                                       " exceed the context of ", n_ctx_, " positions"));
    for (std::int64_t i = 0; i < n_tokens; ++i)
        if (tokens[i] < 0 || tokens[i] >= hp.n_vocab)
            return status(status_code::invalid_argument,
                          str("vulkan model: token ", tokens[i], " at index ", i, " is outside the vocabulary of ", hp.n_vocab));
    const std::int64_t V = hp.n_vocab;
    // With all logits, a chunk is also bounded by the logits buffer.
    const std::int64_t chunk = fp.logits == model::logits_mode::all ? B_logits_ : B_;
    recorder rec(*ctx_);
    last_submits_ = 0;
    for (std::int64_t done = 0; done < n_tokens; done += chunk) {
        if (fp.should_continue != nullptr && !fp.should_continue(fp.user))
            return status(status_code::cancelled, "vulkan model: cancelled by the host");
        const std::int64_t n = std::min(chunk, n_tokens - done), p0 = n_past_ + done;
        const bool final_chunk = done + n == n_tokens;
        model::logits_mode mode = fp.logits;
        if (mode == model::logits_mode::last && !final_chunk) mode = model::logits_mode::none;
        std::int32_t* ids = static_cast<std::int32_t*>(ids_.mapped());
        std::int32_t* pos = static_cast<std::int32_t*>(pos_.mapped());
        for (std::int64_t t = 0; t < n; ++t) ids[t] = tokens[done + t], pos[t] = static_cast<std::int32_t>(p0 + t);
        NOGGIN_TRY(rec.begin());
        status s = record_chunk(rec, n, p0, mode);
        if (!s.ok()) {
            (void)rec.submit();  // close the command buffer; n_past unchanged
            return s;
        }
        last_dispatches_ = rec.dispatches();
        last_barriers_ = rec.barriers();
        NOGGIN_TRY(rec.submit());
        ++last_submits_;
        const float* rb = static_cast<const float*>(readback_.mapped());
        if (mode == model::logits_mode::all) {
            std::memcpy(fp.logits_out + done * V, rb, static_cast<std::size_t>(n * V) * sizeof(float));
        } else if (mode == model::logits_mode::last) {
            std::memcpy(fp.logits_out, rb, static_cast<std::size_t>(V) * sizeof(float));
        }
    }
    n_past_ += n_tokens;
    return status();
}

}  // namespace vulkan
}  // namespace noggin
