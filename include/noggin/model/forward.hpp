// noggin/model/forward.hpp — the transformer forward pass on the CPU: KV cache, workspace, forward().
//
// A forward pass runs a batch of tokens at positions [n_past, n_past + n) through every layer, appends
// their keys and values to a KV cache and writes logits for the last position, for every position, or
// for none. State lives only in the objects the caller passes: one `model` (read-only weights, shared),
// any number of `kv_cache`s (one per sequence/session), and a `workspace` (activation scratch, reusable
// by every cache as long as calls do not overlap). `context` bundles one of each for the common case.
//
//     noggin::model::context_params cp;  cp.kv.n_ctx = 2048;  cp.pool = pool.hook();
//     noggin::result<noggin::model::context> ctx = noggin::model::context::create(m.value(), cp);
//     noggin::status s = ctx->decode(prompt.data(), prompt.size());   // prefill; logits of the last token
//     int next = argmax(ctx->logits(), m->hparams().n_vocab);
//     s = ctx->decode(&next, 1);                                        // one decode step
//     ctx->kv().truncate(n_keep);                                       // drop positions ≥ n_keep
//
// Sections: kv_cache · workspace · forward (params, the layer loop) · context
//
// Guarantees: a call that fails (tokens out of range, batch beyond the context, cancelled by the host)
// leaves the cache's n_past as it was; positions at or past n_past are never read. Memory comes from the
// allocator hook once, at create; parallel work goes through the thread_pool hook. Matmuls quantize their
// input once into the weights' activation format (cpu::vec_dot_type), and the same quantized input feeds
// Q, K and V, and gate and up.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "../core/dtype.hpp"
#include "../core/hooks.hpp"
#include "../core/status.hpp"
#include "../cpu/gemm.hpp"
#include "../cpu/matmul.hpp"
#include "../cpu/ops.hpp"
#include "../cpu/quants.hpp"
#include "model.hpp"

namespace noggin {
namespace model {

// --- shared helpers ---------------------------------------------------------------------------------------------

namespace detail {

constexpr std::size_t buffer_align = 64;  // every buffer we carve starts on a cache line

inline std::size_t align_up(std::size_t n) { return (n + buffer_align - 1) / buffer_align * buffer_align; }

// One allocation from the allocator hook, freed in the destructor. Movable, not copyable.
class owned_block {
public:
    owned_block() = default;
    owned_block(owned_block&& o) noexcept { swap(o); }
    owned_block& operator=(owned_block&& o) noexcept {
        owned_block tmp(std::move(o));
        swap(tmp);
        return *this;
    }
    owned_block(const owned_block&) = delete;
    owned_block& operator=(const owned_block&) = delete;
    ~owned_block() {
        if (ptr_ != nullptr && alloc_.free != nullptr) alloc_.free(alloc_.user, ptr_, size_, buffer_align);
    }

    status allocate(const allocator& a, std::size_t size, const char* what) {
        if (a.alloc == nullptr || a.free == nullptr)
            return status(status_code::invalid_argument, str(what, ": allocator hook has null functions"));
        ptr_ = a.alloc(a.user, size == 0 ? 1 : size, buffer_align);
        if (ptr_ == nullptr) return status(status_code::out_of_memory, str(what, ": could not allocate ", size, " bytes"));
        alloc_ = a;
        size_ = size == 0 ? 1 : size;
        return status();
    }
    unsigned char* data() const { return static_cast<unsigned char*>(ptr_); }
    std::size_t size() const { return size_; }

private:
    void swap(owned_block& o) noexcept {
        std::swap(ptr_, o.ptr_);
        std::swap(size_, o.size_);
        std::swap(alloc_, o.alloc_);
    }
    void* ptr_ = nullptr;
    std::size_t size_ = 0;
    allocator alloc_{};
};

}  // namespace detail

// --- kv_cache ---------------------------------------------------------------------------------------------------

struct kv_cache_params {
    std::int64_t n_ctx = 0;                 // positions held; 0 = min(model's context length, 4096) (default)
    dtype type = dtype::f16;                // element type of keys and values: f16 (default) or f32
    allocator alloc = default_allocator();  // where the cache memory comes from (default: operator new)
};

// Keys and values of one sequence, every layer. Layout per layer: K as n_ctx rows of n_head_kv·head_dim
// elements (one row per position), then V the same way. Positions [0, n_past) are valid.
class kv_cache {
public:
    kv_cache() = default;
    kv_cache(kv_cache&&) noexcept = default;
    kv_cache& operator=(kv_cache&&) noexcept = default;

    static result<kv_cache> create(const model& m, const kv_cache_params& p = {}) {
        const hparams& hp = m.hparams();
        if (m.empty()) return status(status_code::invalid_argument, "kv_cache::create: empty model");
        if (p.type != dtype::f16 && p.type != dtype::f32)
            return status(status_code::unsupported, str("kv_cache: type ", dtype_name(p.type), " (F16 or F32 only)"));
        std::int64_t n_ctx = p.n_ctx == 0 ? std::min<std::int64_t>(hp.n_ctx_train, 4096) : p.n_ctx;
        if (n_ctx <= 0 || n_ctx > hp.n_ctx_train)
            return status(status_code::invalid_argument,
                          str("kv_cache: n_ctx ", p.n_ctx, " not in 1..", hp.n_ctx_train, " (the model's context length)"));
        kv_cache c;
        c.n_ctx_ = n_ctx;
        c.n_layer_ = hp.n_layer;
        c.kv_dim_ = hp.kv_dim();
        c.type_ = p.type;
        c.row_bytes_ = static_cast<std::uint64_t>(c.kv_dim_) * (p.type == dtype::f16 ? 2u : 4u);
        const std::uint64_t per_layer = 2 * c.row_bytes_ * static_cast<std::uint64_t>(n_ctx);
        const std::uint64_t total = per_layer * static_cast<std::uint64_t>(hp.n_layer);
        if (total / static_cast<std::uint64_t>(hp.n_layer) != per_layer || total > static_cast<std::uint64_t>(SIZE_MAX / 2))
            return status(status_code::out_of_memory, "kv_cache: size overflows");
        NOGGIN_TRY(c.mem_.allocate(p.alloc, static_cast<std::size_t>(total), "kv_cache"));
        return c;
    }

    std::int64_t n_ctx() const { return n_ctx_; }     // capacity in positions
    std::int64_t n_past() const { return n_past_; }   // positions filled
    dtype type() const { return type_; }
    std::int64_t n_layer() const { return n_layer_; }
    std::int64_t kv_dim() const { return kv_dim_; }   // n_head_kv·head_dim elements per position
    std::uint64_t row_bytes() const { return row_bytes_; }  // bytes per position in K (and in V)
    std::size_t byte_size() const { return mem_.size(); }
    bool valid() const { return mem_.data() != nullptr; }  // false when default-constructed or moved from

    // Keep positions [0, n) and forget the rest; n ≤ n_past (out_of_range otherwise, nothing changes).
    status truncate(std::int64_t n) {
        if (n < 0 || n > n_past_)
            return status(status_code::out_of_range, str("kv_cache::truncate: ", n, " not in 0..", n_past_));
        n_past_ = n;
        return status();
    }
    void clear() { n_past_ = 0; }

    // Start of layer `l`'s K (or V) rows; position p at + p·row_bytes().
    unsigned char* k_data(std::int64_t l) const { return mem_.data() + static_cast<std::size_t>(l) * layer_bytes(); }
    unsigned char* v_data(std::int64_t l) const { return k_data(l) + layer_bytes() / 2; }

    // For a session layer restoring saved state: declare positions [0, n) valid (n ≤ n_ctx) after
    // writing their rows through k_data/v_data.
    status set_n_past(std::int64_t n) {
        if (n < 0 || n > n_ctx_) return status(status_code::out_of_range, str("kv_cache::set_n_past: ", n, " not in 0..", n_ctx_));
        n_past_ = n;
        return status();
    }

private:
    std::size_t layer_bytes() const { return static_cast<std::size_t>(2 * row_bytes_ * static_cast<std::uint64_t>(n_ctx_)); }

    detail::owned_block mem_;      // n_layer × (K block, V block)
    std::int64_t n_ctx_ = 0;       // positions
    std::int64_t n_past_ = 0;      // valid positions
    std::int64_t n_layer_ = 0;     // layers
    std::int64_t kv_dim_ = 0;      // elements per position and layer
    std::uint64_t row_bytes_ = 0;  // bytes per position and layer, K or V
    dtype type_ = dtype::f16;      // f16 or f32
};

namespace detail {
struct forward_access;
}

// --- workspace --------------------------------------------------------------------------------------------------

struct workspace_params {
    std::int64_t max_batch = 256;           // tokens per internal chunk; longer batches run in chunks (default 256)
    allocator alloc = default_allocator();  // where the scratch comes from (default: operator new)
};

// Activation scratch for up to max_batch tokens of one model. Not tied to a KV cache: several caches
// (sessions) may share one workspace as long as their forward calls do not overlap.
class workspace {
public:
    workspace() = default;
    workspace(workspace&&) noexcept = default;
    workspace& operator=(workspace&&) noexcept = default;

    static result<workspace> create(const model& m, const workspace_params& p = {}) {
        if (m.empty()) return status(status_code::invalid_argument, "workspace::create: empty model");
        if (p.max_batch <= 0 || p.max_batch > 65536)
            return status(status_code::invalid_argument, str("workspace: max_batch ", p.max_batch, " not in 1..65536"));
        const hparams& hp = m.hparams();
        const std::size_t B = static_cast<std::size_t>(p.max_batch);
        const std::size_t E = static_cast<std::size_t>(hp.n_embd), Q = static_cast<std::size_t>(hp.q_dim()),
                          KV = static_cast<std::size_t>(hp.kv_dim()), F = static_cast<std::size_t>(hp.n_ff);
        // Which activation formats the weights need, and the longest input row quantized into each.
        std::int64_t k_q81 = 0, k_q8k = 0;
        auto note = [&](const tensor_view& w) {
            const dtype act = cpu::vec_dot_type(w.type);
            if (act == dtype::q8_1) k_q81 = std::max(k_q81, w.ne[0]);
            if (act == dtype::q8_k) k_q8k = std::max(k_q8k, w.ne[0]);
        };
        note(m.weights().output);
        for (const layer_weights& l : m.weights().layers) {
            note(l.wq), note(l.wk), note(l.wv), note(l.wo), note(l.ffn_gate), note(l.ffn_up), note(l.ffn_down);
        }
        workspace w;
        w.max_batch_ = p.max_batch;
        std::size_t off = 0;
        auto carve = [&](std::size_t bytes) {
            const std::size_t at = off;
            off += detail::align_up(bytes);
            return at;
        };
        const std::size_t o_pos = carve(B * sizeof(std::int32_t));
        const std::size_t o_x = carve(B * E * sizeof(float));
        const std::size_t o_xb = carve(B * E * sizeof(float));
        const std::size_t o_q = carve(B * Q * sizeof(float));
        const std::size_t o_k = carve(B * KV * sizeof(float));
        const std::size_t o_v = carve(B * KV * sizeof(float));
        const std::size_t o_attn = carve(B * Q * sizeof(float));
        const std::size_t o_tmp = carve(B * E * sizeof(float));
        const std::size_t o_gate = carve(B * F * sizeof(float));
        const std::size_t o_up = carve(B * F * sizeof(float));
        const std::size_t o_q81 = carve(k_q81 > 0 ? B * cpu::activation_row_bytes(dtype::q8_1, k_q81) : 0);
        const std::size_t o_q8k = carve(k_q8k > 0 ? B * cpu::activation_row_bytes(dtype::q8_k, k_q8k) : 0);
        NOGGIN_TRY(w.mem_.allocate(p.alloc, off, "workspace"));
        unsigned char* base = w.mem_.data();
        w.pos_ = reinterpret_cast<std::int32_t*>(base + o_pos);
        w.x_ = reinterpret_cast<float*>(base + o_x);
        w.xb_ = reinterpret_cast<float*>(base + o_xb);
        w.q_ = reinterpret_cast<float*>(base + o_q);
        w.k_ = reinterpret_cast<float*>(base + o_k);
        w.v_ = reinterpret_cast<float*>(base + o_v);
        w.attn_ = reinterpret_cast<float*>(base + o_attn);
        w.tmp_ = reinterpret_cast<float*>(base + o_tmp);
        w.gate_ = reinterpret_cast<float*>(base + o_gate);
        w.up_ = reinterpret_cast<float*>(base + o_up);
        w.q81_ = k_q81 > 0 ? base + o_q81 : nullptr;
        w.q8k_ = k_q8k > 0 ? base + o_q8k : nullptr;
        w.n_embd_ = hp.n_embd;
        w.q_dim_ = hp.q_dim();
        w.kv_dim_ = hp.kv_dim();
        w.n_ff_ = hp.n_ff;
        w.weights_id_ = m.weights().token_embd.data;
        return w;
    }

    std::int64_t max_batch() const { return max_batch_; }
    std::size_t byte_size() const { return mem_.size(); }
    // True when this workspace was made for `m` (or a copy of it: the same weights).
    bool fits(const model& m) const {
        const hparams& hp = m.hparams();
        return mem_.data() != nullptr && weights_id_ == m.weights().token_embd.data && n_embd_ == hp.n_embd &&
               q_dim_ == hp.q_dim() && kv_dim_ == hp.kv_dim() && n_ff_ == hp.n_ff;
    }

private:
    friend struct detail::forward_access;
    detail::owned_block mem_;
    std::int64_t max_batch_ = 0;
    std::int64_t n_embd_ = 0, q_dim_ = 0, kv_dim_ = 0, n_ff_ = 0;  // the dimensions it was sized for
    const void* weights_id_ = nullptr;  // token_embd data of the model it was made for (identity)
    std::int32_t* pos_ = nullptr;  // [B] positions
    float* x_ = nullptr;           // [B][n_embd] residual stream
    float* xb_ = nullptr;          // [B][n_embd] normed input of a sub-layer
    float* q_ = nullptr;           // [B][n_head·head_dim]
    float* k_ = nullptr;           // [B][n_head_kv·head_dim]
    float* v_ = nullptr;           // [B][n_head_kv·head_dim]
    float* attn_ = nullptr;        // [B][n_head·head_dim] attention output
    float* tmp_ = nullptr;         // [B][n_embd] sub-layer output before the residual add
    float* gate_ = nullptr;        // [B][n_ff] gate, then silu(gate)·up
    float* up_ = nullptr;          // [B][n_ff]
    unsigned char* q81_ = nullptr; // [B] Q8_1 activation rows (null when no weight needs Q8_1)
    unsigned char* q8k_ = nullptr; // [B] Q8_K activation rows (null when no weight needs Q8_K)
};

// --- forward ----------------------------------------------------------------------------------------------------

enum class logits_mode : int {
    last = 0,  // n_vocab floats: the last token's logits (default)
    all = 1,   // n_tokens × n_vocab floats, row t = logits after token t
    none = 2,  // no logits (a prefill whose output is not needed)
};

struct forward_params {
    logits_mode logits = logits_mode::last;  // which rows to compute (default: last)
    float* logits_out = nullptr;             // where they go: n_vocab (last) or n_tokens·n_vocab (all) floats
    thread_pool pool{};                      // parallel work (default: the caller's thread only)
    // Called between layers and between attention and feed-forward inside each; returning false stops
    // the pass with status cancelled (cache unchanged).
    bool (*should_continue)(void* user) = nullptr;
    void* user = nullptr;                    // passed to should_continue
};

namespace detail {

// A matmul input quantized at most once per activation format (inputs shared by Q/K/V and gate/up).
struct shared_input {
    const float* x;          // n columns of k floats
    std::int64_t n, k;
    unsigned char* q81;      // scratch for the Q8_1 form (may be null if unused)
    unsigned char* q8k;      // scratch for the Q8_K form
    const thread_pool* pool;
    bool have_q81 = false, have_q8k = false;

    const void* as(dtype act) {
        if (act == dtype::q8_1) {
            if (!have_q81) cpu::quantize_columns(act, x, n, k, q81, *pool), have_q81 = true;
            return q81;
        }
        if (act == dtype::q8_k) {
            if (!have_q8k) cpu::quantize_columns(act, x, n, k, q8k, *pool), have_q8k = true;
            return q8k;
        }
        return x;
    }
};

// Batches of at least cpu::gemm_min_cols columns go through the panel GEMM on float inputs (weights
// unpacked once per row, not once per column); smaller ones through the per-column quantized dots.
inline status project(const tensor_view& w, shared_input& in, float* y) {
    if (in.n >= cpu::gemm_min_cols) return cpu::gemm(w, in.x, in.n, y, *in.pool);
    return cpu::matmul_quantized(w, in.as(cpu::vec_dot_type(w.type)), in.n, y, *in.pool);
}

// Several projections of one input (Q/K/V, gate/up): for small batches one parallel_for over all their
// rows when they share an activation format (one barrier instead of one per matrix).
inline status project_group(const tensor_view* const* w, float* const* y, int count, shared_input& in) {
    bool same = in.n < cpu::gemm_min_cols;
    for (int i = 1; i < count && same; ++i) same = cpu::vec_dot_type(w[i]->type) == cpu::vec_dot_type(w[0]->type);
    if (same) return cpu::matmul_quantized_group(w, y, count, in.as(cpu::vec_dot_type(w[0]->type)), in.n, *in.pool);
    for (int i = 0; i < count; ++i) NOGGIN_TRY(project(*w[i], in, y[i]));
    return status();
}

inline void add_bias(float* y, const tensor_view& b, std::int64_t n, std::int64_t dim) {
    if (b.data == nullptr) return;
    const float* bias = static_cast<const float*>(b.data);
    for (std::int64_t t = 0; t < n; ++t) cpu::add(y + t * dim, bias, y + t * dim, dim);
}

// The workspace's buffers, as the forward pass uses them.
struct forward_access {
    std::int32_t* pos;
    float *x, *xb, *q, *k, *v, *attn, *tmp, *gate, *up;
    unsigned char *q81, *q8k;
    explicit forward_access(workspace& w)
        : pos(w.pos_), x(w.x_), xb(w.xb_), q(w.q_), k(w.k_), v(w.v_), attn(w.attn_), tmp(w.tmp_), gate(w.gate_),
          up(w.up_), q81(w.q81_), q8k(w.q8k_) {}
};

// One chunk of n ≤ max_batch tokens at positions p0 .. p0+n-1. `out` receives logits rows per `mode`
// (for `last`: only row n-1).
inline status forward_chunk(const model& m, kv_cache& kv, forward_access& a, const std::int32_t* tokens, std::int64_t n,
                            std::int64_t p0, logits_mode mode, float* out, const forward_params& fp) {
    const hparams& hp = m.hparams();
    const model_weights& W = m.weights();
    const thread_pool& pool = fp.pool;
    const std::int64_t E = hp.n_embd, Q = hp.q_dim(), KV = hp.kv_dim(), F = hp.n_ff, D = hp.head_dim;

    for (std::int64_t t = 0; t < n; ++t) {
        a.pos[t] = static_cast<std::int32_t>(p0 + t);
        cpu::dequantize_row(W.token_embd.type, W.token_embd.row(tokens[t]), a.x + t * E, E);
    }
    cpu::rope_params rp;
    rp.mode = hp.rope_mode;
    rp.n_dims = hp.n_rot;
    rp.freq_base = hp.rope_freq_base;
    rp.freq_scale = hp.rope_freq_scale;
    rp.freq_factors = W.rope_freqs;
    cpu::attention_params ap;
    ap.n_head = hp.n_head;
    ap.n_head_kv = hp.n_head_kv;
    ap.head_dim = D;
    const bool f16_kv = kv.type() == dtype::f16;

    for (std::int64_t il = 0; il < hp.n_layer; ++il) {
        if (fp.should_continue != nullptr && !fp.should_continue(fp.user))
            return status(status_code::cancelled, "forward: cancelled by the host");
        const layer_weights& L = W.layers[static_cast<std::size_t>(il)];
        const float* attn_norm = static_cast<const float*>(L.attn_norm.data);
        for (std::int64_t t = 0; t < n; ++t) cpu::rmsnorm(a.x + t * E, attn_norm, a.xb + t * E, E, hp.rms_eps);

        // Q, K, V from one quantized input.
        shared_input in{a.xb, n, E, a.q81, a.q8k, &pool};
        {
            const tensor_view* wqkv[3] = {&L.wq, &L.wk, &L.wv};
            float* const yqkv[3] = {a.q, a.k, a.v};
            NOGGIN_TRY(project_group(wqkv, yqkv, 3, in));
        }
        add_bias(a.q, L.bq, n, Q);
        add_bias(a.k, L.bk, n, KV);
        add_bias(a.v, L.bv, n, KV);
        if (L.q_norm.data != nullptr) {
            const float* qn = static_cast<const float*>(L.q_norm.data);
            const float* kn = static_cast<const float*>(L.k_norm.data);
            for (std::int64_t r = 0; r < n * hp.n_head; ++r) cpu::rmsnorm(a.q + r * D, qn, a.q + r * D, D, hp.rms_eps);
            for (std::int64_t r = 0; r < n * hp.n_head_kv; ++r) cpu::rmsnorm(a.k + r * D, kn, a.k + r * D, D, hp.rms_eps);
        }
        cpu::rope(a.q, n, hp.n_head, D, a.pos, rp);
        cpu::rope(a.k, n, hp.n_head_kv, D, a.pos, rp);

        // Append K and V at positions p0 .. p0+n-1.
        unsigned char* kc = kv.k_data(il);
        unsigned char* vc = kv.v_data(il);
        const std::uint64_t rb = kv.row_bytes();
        for (std::int64_t t = 0; t < n; ++t) {
            unsigned char* kr = kc + static_cast<std::uint64_t>(p0 + t) * rb;
            unsigned char* vr = vc + static_cast<std::uint64_t>(p0 + t) * rb;
            if (f16_kv) {
                cpu::f32_to_f16_row(a.k + t * KV, reinterpret_cast<f16*>(kr), KV);
                cpu::f32_to_f16_row(a.v + t * KV, reinterpret_cast<f16*>(vr), KV);
            } else {
                std::memcpy(kr, a.k + t * KV, static_cast<std::size_t>(KV) * sizeof(float));
                std::memcpy(vr, a.v + t * KV, static_cast<std::size_t>(KV) * sizeof(float));
            }
        }
        const cpu::kv_cache_view view{kc, vc, kv.type(), rb, rb};

        // In the last layer only the rows whose logits are wanted go on past the KV store: none for a
        // prefill without logits, the last one for logits_mode::last.
        const bool last_layer = il == hp.n_layer - 1;
        if (last_layer && mode == logits_mode::none) break;
        const std::int64_t t0 = last_layer && mode == logits_mode::last ? n - 1 : 0;
        const std::int64_t nt = n - t0;
        float* x0 = a.x + t0 * E;
        NOGGIN_TRY(cpu::attention(a.q + t0 * Q, nt, p0 + t0, view, p0 + n, a.attn, ap, pool));

        shared_input in_o{a.attn, nt, Q, a.q81, a.q8k, &pool};
        NOGGIN_TRY(project(L.wo, in_o, a.tmp));
        cpu::add(x0, a.tmp, x0, nt * E);
        if (fp.should_continue != nullptr && !fp.should_continue(fp.user))  // also inside the layer (~half the work)
            return status(status_code::cancelled, "forward: cancelled by the host");

        // SwiGLU feed-forward; gate and up from one quantized input.
        const float* ffn_norm = static_cast<const float*>(L.ffn_norm.data);
        for (std::int64_t t = 0; t < nt; ++t) cpu::rmsnorm(x0 + t * E, ffn_norm, a.xb + t * E, E, hp.rms_eps);
        shared_input in_f{a.xb, nt, E, a.q81, a.q8k, &pool};
        {
            const tensor_view* wgu[2] = {&L.ffn_gate, &L.ffn_up};
            float* const ygu[2] = {a.gate, a.up};
            NOGGIN_TRY(project_group(wgu, ygu, 2, in_f));
        }
        cpu::silu_mul(a.gate, a.up, a.gate, nt * F);
        shared_input in_d{a.gate, nt, F, a.q81, a.q8k, &pool};
        NOGGIN_TRY(project(L.ffn_down, in_d, a.tmp));
        cpu::add(x0, a.tmp, x0, nt * E);
    }

    if (mode == logits_mode::none) return status();
    const std::int64_t first = mode == logits_mode::last ? n - 1 : 0;
    const std::int64_t rows = n - first;
    const float* out_norm = static_cast<const float*>(W.output_norm.data);
    for (std::int64_t t = 0; t < rows; ++t) cpu::rmsnorm(a.x + (first + t) * E, out_norm, a.xb + t * E, E, hp.rms_eps);
    shared_input in_out{a.xb, rows, E, a.q81, a.q8k, &pool};
    return project(W.output, in_out, out);
}

}  // namespace detail

// Run `n_tokens` tokens at positions kv.n_past() .. kv.n_past() + n_tokens − 1 and append their keys and
// values to `kv`. Logits go to params.logits_out per params.logits. Errors (cache unchanged):
// invalid_argument (null or out-of-vocabulary tokens, missing logits buffer, cache or workspace made
// for another model), limit_exceeded (the tokens do not fit in the cache), cancelled.
inline status forward(const model& m, kv_cache& kv, workspace& ws, const std::int32_t* tokens, std::int64_t n_tokens,
                      const forward_params& params = {}) {
    if (m.empty()) return status(status_code::invalid_argument, "forward: empty model");
    const hparams& hp = m.hparams();
    if (!kv.valid() || kv.n_layer() != hp.n_layer || kv.kv_dim() != hp.kv_dim())
        return status(status_code::invalid_argument, "forward: the KV cache was not made for this model");
    if (!ws.fits(m)) return status(status_code::invalid_argument, "forward: the workspace was not made for this model");
    if (n_tokens <= 0 || tokens == nullptr) return status(status_code::invalid_argument, "forward: no tokens");
    if (params.logits != logits_mode::none && params.logits_out == nullptr)
        return status(status_code::invalid_argument, "forward: logits requested but logits_out is null");
    const std::int64_t n_past = kv.n_past();
    if (n_tokens > kv.n_ctx() - n_past)
        return status(status_code::limit_exceeded, str("forward: ", n_tokens, " tokens at position ", n_past,
                                                       " exceed the context of ", kv.n_ctx(), " positions"));
    for (std::int64_t i = 0; i < n_tokens; ++i)
        if (tokens[i] < 0 || tokens[i] >= hp.n_vocab)
            return status(status_code::invalid_argument,
                          str("forward: token ", tokens[i], " at index ", i, " is outside the vocabulary of ", hp.n_vocab));

    detail::forward_access a(ws);
    const std::int64_t B = ws.max_batch();
    for (std::int64_t done = 0; done < n_tokens; done += B) {
        const std::int64_t n = std::min(B, n_tokens - done);
        const bool final_chunk = done + n == n_tokens;
        logits_mode mode = params.logits;
        float* out = params.logits_out;
        if (mode == logits_mode::all) out += static_cast<std::size_t>(done) * static_cast<std::size_t>(hp.n_vocab);
        if (mode == logits_mode::last && !final_chunk) mode = logits_mode::none;
        status s = detail::forward_chunk(m, kv, a, tokens + done, n, n_past + done, mode, out, params);
        if (!s.ok()) return s;  // n_past was never advanced: the cache is as before
    }
    NOGGIN_TRY(kv.set_n_past(n_past + n_tokens));
    return status();
}

// --- context ----------------------------------------------------------------------------------------------------

struct context_params {
    kv_cache_params kv{};                   // cache size and type (default: min(model ctx, 4096), F16)
    std::int64_t max_batch = 256;           // tokens per internal chunk (default 256)
    thread_pool pool{};                     // parallel work (default: the caller's thread only)
};

// One sequence over a shared model: a KV cache, a workspace and the last token's logits. The model
// must outlive the context.
class context {
public:
    context() = default;

    static result<context> create(const model& m, const context_params& p = {}) {
        result<kv_cache> kv = kv_cache::create(m, p.kv);
        if (!kv.ok()) return kv.status();
        workspace_params wp;
        wp.max_batch = p.max_batch;
        wp.alloc = p.kv.alloc;
        result<workspace> ws = workspace::create(m, wp);
        if (!ws.ok()) return ws.status();
        context c;
        c.model_ = &m;
        c.kv_ = std::move(kv.value());
        c.ws_ = std::move(ws.value());
        c.pool_ = p.pool;
        NOGGIN_TRY(c.logits_.allocate(p.kv.alloc, static_cast<std::size_t>(m.hparams().n_vocab) * sizeof(float), "context logits"));
        return c;
    }

    // Run tokens; afterwards logits() holds the last token's logits.
    status decode(const std::int32_t* tokens, std::int64_t n) {
        forward_params fp;
        fp.logits = logits_mode::last;
        fp.logits_out = reinterpret_cast<float*>(logits_.data());
        fp.pool = pool_;
        return run(tokens, n, fp);
    }
    // Run tokens and write every position's logits (n × n_vocab floats) to `out`; logits() is unchanged.
    status decode_all(const std::int32_t* tokens, std::int64_t n, float* out) {
        forward_params fp;
        fp.logits = logits_mode::all;
        fp.logits_out = out;
        fp.pool = pool_;
        return run(tokens, n, fp);
    }
    // Full control (cancellation callback, no logits).
    status run(const std::int32_t* tokens, std::int64_t n, const forward_params& fp) {
        if (model_ == nullptr) return status(status_code::invalid_argument, "context: not created");
        return forward(*model_, kv_, ws_, tokens, n, fp);
    }

    const float* logits() const { return reinterpret_cast<const float*>(logits_.data()); }  // n_vocab floats
    const model& get_model() const { return *model_; }
    kv_cache& kv() { return kv_; }
    const kv_cache& kv() const { return kv_; }
    workspace& scratch() { return ws_; }
    std::int64_t n_past() const { return kv_.n_past(); }
    std::int64_t n_ctx() const { return kv_.n_ctx(); }
    void set_pool(const thread_pool& pool) { pool_ = pool; }

private:
    const model* model_ = nullptr;  // not owned
    kv_cache kv_;
    workspace ws_;
    thread_pool pool_{};
    detail::owned_block logits_;    // n_vocab floats
};

}  // namespace model
}  // namespace noggin
