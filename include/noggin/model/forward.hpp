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
// Several sequences in one pass (many sessions decoding together; the weights are read once per pass):
//
//     noggin::model::forward_segment seg[2];
//     seg[0].kv = &kv_a;  seg[0].tokens = &tok_a;  seg[0].n_tokens = 1;  seg[0].logits_out = logits_a;
//     seg[1].kv = &kv_b;  seg[1].tokens = prompt_b;  seg[1].n_tokens = 20; seg[1].logits_out = logits_b;
//     s = noggin::model::forward_batch(m, ws, seg, 2, bp);   // ws: workspace_params::logits_rows ≥ 2 ideally
//
// `forward` is the one-segment case of `forward_batch` (one implementation).
//
// Pausable passes (frame slicing, prompt stop within a millisecond): a pass is a fixed sequence of
// operations (embedding, each matmul, norm, RoPE, KV store, attention, residual add, output), and every
// parallel one is split into tiles (16 weight rows; one attention row·head), each thread walking its own
// range of them in takes of about 50 µs of work (cpu::detail::run_dynamic). The host's `interrupt` hook
// is consulted before every take (any worker thread), so a cancel lands within one take; with a
// `progress` record the pass can also stop at a deadline and resume later:
//
//     noggin::model::forward_progress pr;
//     noggin::model::forward_batch_params bp;  bp.progress = &pr;
//     bp.deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(1500);
//     s = noggin::model::forward_batch(m, ws, seg, 2, bp);   // ok: pr.done, or paused (state kept in ws)
//     ... next frame: the same call again resumes where it stopped (bit-identical results)
//
// Sections: kv_cache · workspace · forward (params, segments, the operations, forward_batch, forward) · context
//
// Guarantees: a call that fails (tokens out of range, batch beyond the context, cancelled by the host)
// or pauses leaves every cache's n_past as it was; positions at or past n_past are never read. Memory
// comes from the allocator hook once, at create; parallel work goes through the thread_pool hook.
// Matmuls quantize their input once into the weights' activation format (cpu::vec_dot_type), and the
// same quantized input feeds Q, K and V, and gate and up.
#pragma once

#include <algorithm>
#include <chrono>
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
        ++version_;
        return status();
    }
    void clear() { n_past_ = 0, ++version_; }
    // Bumped by every change of n_past (truncate, clear, set_n_past, a completed forward pass): a paused
    // pass (see forward_batch_params::progress) resumes only over the cache state it started from.
    std::uint64_t version() const { return version_; }

    // Start of layer `l`'s K (or V) rows; position p at + p·row_bytes().
    unsigned char* k_data(std::int64_t l) const { return mem_.data() + static_cast<std::size_t>(l) * layer_bytes(); }
    unsigned char* v_data(std::int64_t l) const { return k_data(l) + layer_bytes() / 2; }

    // For a session layer restoring saved state: declare positions [0, n) valid (n ≤ n_ctx) after
    // writing their rows through k_data/v_data.
    status set_n_past(std::int64_t n) {
        if (n < 0 || n > n_ctx_) return status(status_code::out_of_range, str("kv_cache::set_n_past: ", n, " not in 0..", n_ctx_));
        n_past_ = n;
        ++version_;
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
    std::uint64_t version_ = 0;    // changes of n_past so far
};

namespace detail {
struct forward_access;

// One sequence's share of an internal chunk: rows [row0, row0 + n) of the workspace hold its tokens at
// positions p0 .. p0 + n − 1. Carved in the workspace (at most max_batch per chunk).
struct batch_slice {
    kv_cache* kv;                 // the sequence's cache
    const std::int32_t* tokens;   // its n tokens in this chunk
    std::int64_t row0, n, p0;     // first row, rows, position of the first row
    std::int64_t keep0;           // rows [keep0, n) go on past the last layer's KV store (n: none)
    float* out;                   // logits of row keep0 (then one n_vocab row per kept row); null when none
};

// The kinds of operation of a pass, for the per-kind time predictions a pausable pass keeps.
enum op_kind : int {
    op_embed, op_norm, op_qkv, op_qkv_post, op_kv_store, op_attention, op_pack, op_wo, op_add, op_gate_up, op_act,
    op_down, op_output, op_copy, op_kind_count
};

// Where a paused pass stands (kept in its workspace): chunks [0, chunk) are complete; in chunk `chunk`,
// operations [0, op) are complete and operation `op` has the items (tiles) outside `tiles` done (tiles.count
// 0: none done).
struct pass_record {
    bool paused = false;          // a pass is paused in this workspace
    std::uint64_t signature = 0;  // which pass (segments, their caches' states and tokens)
    std::int64_t chunk = 0, op = 0;
    cpu::detail::tile_ranges tiles;
};
}  // namespace detail

// --- workspace --------------------------------------------------------------------------------------------------

struct workspace_params {
    std::int64_t max_batch = 256;           // rows (tokens of all sequences) per internal chunk; more run in chunks (default 256)
    std::int64_t logits_rows = 0;           // n_vocab-float rows where forward_batch gathers the logits of several sequences
                                            // to compute them in one output matmul; 0 = one output matmul per sequence (default)
    allocator alloc = default_allocator();  // where the scratch comes from (default: operator new)
};

// Activation scratch for up to max_batch rows of one model. Not tied to a KV cache: several caches
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
        if (p.logits_rows < 0 || p.logits_rows > 4096)
            return status(status_code::invalid_argument, str("workspace: logits_rows ", p.logits_rows, " not in 0..4096"));
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
        w.logits_rows_ = p.logits_rows;
        std::size_t off = 0;
        auto carve = [&](std::size_t bytes) {
            const std::size_t at = off;
            off += detail::align_up(bytes);
            return at;
        };
        const std::size_t o_pos = carve(B * sizeof(std::int32_t));
        const std::size_t o_item = carve(3 * B * sizeof(std::int32_t));
        const std::size_t o_slice = carve(B * sizeof(detail::batch_slice));
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
        const std::size_t o_logits = carve(static_cast<std::size_t>(p.logits_rows) * static_cast<std::size_t>(hp.n_vocab) * sizeof(float));
        NOGGIN_TRY(w.mem_.allocate(p.alloc, off, "workspace"));
        unsigned char* base = w.mem_.data();
        w.pos_ = reinterpret_cast<std::int32_t*>(base + o_pos);
        w.item_ = reinterpret_cast<std::int32_t*>(base + o_item);
        w.slices_ = reinterpret_cast<detail::batch_slice*>(base + o_slice);
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
        w.logits_ = p.logits_rows > 0 ? reinterpret_cast<float*>(base + o_logits) : nullptr;
        w.n_embd_ = hp.n_embd;
        w.q_dim_ = hp.q_dim();
        w.kv_dim_ = hp.kv_dim();
        w.n_ff_ = hp.n_ff;
        w.weights_id_ = m.weights().token_embd.data;
        return w;
    }

    std::int64_t max_batch() const { return max_batch_; }
    std::int64_t logits_rows() const { return logits_rows_; }
    std::size_t byte_size() const { return mem_.size(); }
    // A pausable pass (forward_batch_params::progress) stopped part-way keeps its activations here; the
    // next pausable call with the same segments resumes it. Any other pass on this workspace discards it.
    bool has_paused_pass() const { return record_.paused; }
    void abandon_pass() { record_ = detail::pass_record{}; }
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
    std::int64_t logits_rows_ = 0;
    std::int64_t n_embd_ = 0, q_dim_ = 0, kv_dim_ = 0, n_ff_ = 0;  // the dimensions it was sized for
    const void* weights_id_ = nullptr;  // token_embd data of the model it was made for (identity)
    std::int32_t* pos_ = nullptr;  // [B] positions
    std::int32_t* item_ = nullptr; // [3][B] single-row attention items: source row, output row, slice
    detail::batch_slice* slices_ = nullptr;  // [B] the sequences of one chunk
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
    float* logits_ = nullptr;      // [logits_rows][n_vocab] gathered logits (null when logits_rows = 0)
    detail::pass_record record_{};  // the paused pass, if any
    std::int64_t est_ns_[detail::op_kind_count] = {};    // last measured time per tile (tiled kinds) or per operation
    std::int64_t est_rows_[detail::op_kind_count] = {};  // ... at this many rows (predictions scale with the rows)
};

// --- forward ----------------------------------------------------------------------------------------------------

enum class logits_mode : int {
    last = 0,  // n_vocab floats: the last token's logits (default)
    all = 1,   // n_tokens × n_vocab floats, row t = logits after token t
    none = 2,  // no logits (a prefill whose output is not needed)
};

// What a pausable pass did (forward_batch_params::progress).
struct forward_progress {
    bool done = false;         // the pass completed: caches advanced, logits written. false after an ok
                               // return: paused — call again with the same segments and workspace to resume
    bool resumed = false;      // this call continued a paused pass (false: it started from the beginning)
    bool interrupted = false;  // paused by the interrupt hook (false: by the deadline)
};

struct forward_params {
    logits_mode logits = logits_mode::last;  // which rows to compute (default: last)
    float* logits_out = nullptr;             // where they go: n_vocab (last) or n_tokens·n_vocab (all) floats
    thread_pool pool{};                      // parallel work (default: the caller's thread only)
    // Called on the calling thread before every operation of the pass (each matmul, norm, attention...);
    // returning false stops the pass with status cancelled (cache unchanged).
    bool (*should_continue)(void* user) = nullptr;
    void* user = nullptr;                    // passed to should_continue
    // The rest as in forward_batch_params (default: none).
    bool (*interrupt)(void* user) = nullptr;
    void* interrupt_user = nullptr;
    forward_progress* progress = nullptr;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// One sequence of a batched pass (forward_batch): its cache, the tokens to append, which logits to write.
struct forward_segment {
    kv_cache* kv = nullptr;                  // the sequence's cache: tokens go to positions kv->n_past() .. (required)
    const std::int32_t* tokens = nullptr;    // n_tokens token ids (required)
    std::int64_t n_tokens = 0;               // ≥ 1
    logits_mode logits = logits_mode::last;  // which of its rows get logits (default: last)
    float* logits_out = nullptr;             // n_vocab (last) or n_tokens·n_vocab (all) floats; unused for none
};

struct forward_batch_params {
    thread_pool pool{};                      // parallel work (default: the caller's thread only)
    bool (*should_continue)(void* user) = nullptr;  // as forward_params::should_continue: false stops the whole pass
    void* user = nullptr;                    // passed to should_continue
    // Called by every worker before each take of tiles (about 50 µs of work; a tile is 16 weight rows or
    // one attention row·head) and before every operation — from any thread, so it must be thread-safe and
    // cheap (an atomic load). true stops the pass within one take: with `progress` it pauses (then
    // should_continue decides: false → cancelled), without it the pass is cancelled. Default none.
    bool (*interrupt)(void* user) = nullptr;
    void* interrupt_user = nullptr;          // passed to interrupt
    // Non-null makes the pass pausable: it may stop early (deadline, interrupt) and return ok with
    // progress->done false; its state stays in the workspace, and the next call with the same segments
    // (same caches in the same state, same tokens) and the same workspace resumes it where it stopped —
    // skipping the operations and tiles already done, with results bit-identical to one uninterrupted pass.
    forward_progress* progress = nullptr;
    // With progress: no take of tiles or operation starts that is predicted (from the ones already run) to
    // end after this time; at least one tile runs per call. Default none.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
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

// Batches of at least cpu::gemm_min_cols columns go through the panel GEMM (weights unpacked once per row,
// not once per column; its input in cpu::gemm_input_type: Q8_1 / Q8_K for the integer GEMM, else floats);
// smaller ones through the per-column quantized dots.
// Each makes exactly one cpu::detail::run_dynamic call (one tiled operation of a pausable pass); the
// activation quantization goes through thread_pool::run (outside the tile control) and is redone when a
// paused operation resumes (same input, same bytes).
inline status project(const tensor_view& w, shared_input& in, float* y) {
    if (in.n >= cpu::gemm_min_cols) return cpu::gemm_quantized(w, in.as(cpu::gemm_input_type(w.type)), in.n, y, *in.pool);
    return cpu::matmul_quantized(w, in.as(cpu::vec_dot_type(w.type)), in.n, y, *in.pool);
}

// Several projections of one input (Q/K/V, gate/up) as one operation — one parallel_for over all their
// rows when they share an activation format (one barrier instead of one per matrix) — when
// group_in_one() says so; otherwise one project() per matrix.
inline bool group_in_one(const tensor_view* const* w, int count, const shared_input& in) {
    bool same = in.n < cpu::gemm_min_cols;
    for (int i = 1; i < count && same; ++i) same = cpu::vec_dot_type(w[i]->type) == cpu::vec_dot_type(w[0]->type);
    return same;
}
inline status project_group(const tensor_view* const* w, float* const* y, int count, shared_input& in) {
    return cpu::matmul_quantized_group(w, y, count, in.as(cpu::vec_dot_type(w[0]->type)), in.n, *in.pool);
}

inline void add_bias(float* y, const tensor_view& b, std::int64_t n, std::int64_t dim) {
    if (b.data == nullptr) return;
    const float* bias = static_cast<const float*>(b.data);
    for (std::int64_t t = 0; t < n; ++t) cpu::add(y + t * dim, bias, y + t * dim, dim);
}

// The workspace's buffers, as the forward pass uses them.
struct forward_access {
    std::int32_t* pos;
    std::int32_t *item_src, *item_dst, *item_slice;
    batch_slice* slices;
    float *x, *xb, *q, *k, *v, *attn, *tmp, *gate, *up, *logits;
    unsigned char *q81, *q8k;
    std::int64_t max_batch, logits_rows;
    pass_record* record;
    std::int64_t *est_ns, *est_rows;
    explicit forward_access(workspace& w)
        : pos(w.pos_), item_src(w.item_), item_dst(w.item_ + w.max_batch_), item_slice(w.item_ + 2 * w.max_batch_),
          slices(w.slices_), x(w.x_), xb(w.xb_), q(w.q_), k(w.k_), v(w.v_), attn(w.attn_), tmp(w.tmp_), gate(w.gate_),
          up(w.up_), logits(w.logits_), q81(w.q81_), q8k(w.q8k_), max_batch(w.max_batch_), logits_rows(w.logits_rows_),
          record(&w.record_), est_ns(w.est_ns_), est_rows(w.est_rows_) {}
};

// Attention of single rows (decode steps of several sequences) in one parallel_for over (row, head):
// each item computes exactly what cpu::attention computes for that row and head against its own cache.
struct single_rows_job {
    const forward_access* a;
    std::int64_t layer;                           // which layer's K/V rows
    std::int64_t n_head, group, head_dim, q_dim;  // group = n_head / n_head_kv
};
inline void single_rows_task(void* ctx, std::size_t begin, std::size_t end, std::size_t) {
    const single_rows_job& j = *static_cast<const single_rows_job*>(ctx);
    const forward_access& a = *j.a;
    cpu::attention_params ap;  // one query head against its one KV head
    ap.n_head = 1;
    ap.n_head_kv = 1;
    ap.head_dim = j.head_dim;
    const thread_pool serial{};
    for (std::size_t it = begin; it < end; ++it) {
        const std::int64_t i = static_cast<std::int64_t>(it) / j.n_head, h = static_cast<std::int64_t>(it) % j.n_head;
        const batch_slice& s = a.slices[a.item_slice[i]];
        const std::int64_t r = a.item_src[i], o = a.item_dst[i];
        const std::int64_t p = s.p0 + (r - s.row0);  // this row's position: it sees keys 0 .. p
        const std::uint64_t rb = s.kv->row_bytes();
        const std::size_t head_off = static_cast<std::size_t>((h / j.group) * j.head_dim) * (s.kv->type() == dtype::f16 ? 2u : 4u);
        const cpu::kv_cache_view view{s.kv->k_data(j.layer) + head_off, s.kv->v_data(j.layer) + head_off, s.kv->type(), rb, rb};
        (void)cpu::attention(a.q + r * j.q_dim + h * j.head_dim, 1, p, view, p + 1, a.attn + o * j.q_dim + h * j.head_dim,
                             ap, serial);  // cannot fail: the shapes were checked for the whole pass
    }
}

// A thread_pool hook whose parallel_for hands the items out through cpu::detail::run_dynamic on the
// real pool, so that cpu::attention's (row, head) items are tiles of a pausable pass too.
inline thread_pool dynamic_pool(const thread_pool* real) {
    thread_pool h;
    h.parallel_for = [](void* user, std::size_t n, parallel_task task, void* ctx) {
        cpu::detail::run_dynamic(*static_cast<const thread_pool*>(user), n, task, ctx);
    };
    h.concurrency = std::max<std::size_t>(2, real->concurrency);  // ≥ 2: cpu::attention always calls parallel_for
    h.user = const_cast<thread_pool*>(real);
    return h;
}

// The operations of one call of a pass, in order: skips those a paused pass already did, stops before
// one that the deadline, the interrupt or should_continue rules out, runs tiled ones under a
// cpu::detail::tile_control (resuming inside the one the pass paused in), and times them for predictions.
struct pass_cursor {
    enum stop_kind : int { running = 0, paused = 1, cancelled = 2, failed = 3 };
    const forward_batch_params& fp;
    pass_record& rec;            // rec.op / rec.tiles: where the current chunk resumes
    std::int64_t* est_ns;        // [op_kind_count] predictions (per tile for tiled kinds)
    std::int64_t* est_rows;      // rows they were measured at
    bool resumable;              // fp.progress set
    std::int64_t deadline_ns;    // steady_clock ns; INT64_MAX = none
    std::int64_t n_rows = 1;     // rows of the current chunk
    std::int64_t op = 0;         // operations of the current chunk met so far
    bool progressed = false;     // this call ran something (until then the deadline does not stop it)
    int stop = running;
    bool interrupted = false;    // stopped by fp.interrupt
    status error;                // stop == failed

    pass_cursor(const forward_batch_params& p, pass_record& r, std::int64_t* est, std::int64_t* rows, bool res, std::int64_t dl)
        : fp(p), rec(r), est_ns(est), est_rows(rows), resumable(res), deadline_ns(dl) {}
    std::int64_t estimate(op_kind k) const {
        const std::int64_t e = est_ns[k], r = est_rows[k];
        if (e <= 0 || r <= 0 || k == op_attention) return e;  // attention items do not grow with the rows
        return e / r * n_rows + e % r * n_rows / r;
    }
    void learn(op_kind k, std::int64_t ns) { est_ns[k] = ns, est_rows[k] = n_rows; }
    void done() {
        ++op;
        rec.op = op;
        rec.tiles = cpu::detail::tile_ranges{};
        progressed = true;
    }
    bool may_start(std::int64_t est) {
        if (stop != running) return false;
        if (fp.should_continue != nullptr && !fp.should_continue(fp.user)) {
            stop = cancelled;
            return false;
        }
        if (fp.interrupt != nullptr && fp.interrupt(fp.interrupt_user)) {
            stop = resumable ? paused : cancelled;
            interrupted = true;
            return false;
        }
        if (deadline_ns != INT64_MAX && progressed && cpu::detail::steady_ns() + est > deadline_ns) {
            stop = paused;
            return false;
        }
        return true;
    }
    // An operation on the calling thread (norms, RoPE, KV store, residual adds...): done whole or not at all.
    template <class F>
    bool serial(op_kind k, F&& f) {
        if (op < rec.op) return ++op, true;
        if (!may_start(estimate(k))) return false;
        const std::int64_t t0 = resumable ? cpu::detail::steady_ns() : 0;
        f();
        if (resumable) learn(k, cpu::detail::steady_ns() - t0);
        done();
        return true;
    }
    // An operation whose f() makes exactly one cpu::detail::run_dynamic call (returns its status).
    template <class F>
    bool tiled(op_kind k, F&& f) {
        if (op < rec.op) return ++op, true;
        const std::int64_t est = estimate(k);
        if (!may_start(est)) return false;
        if (!resumable && fp.interrupt == nullptr) {  // nothing can stop it inside: plain dynamic scheduling
            status s = f();
            if (!s.ok()) return stop = failed, error = std::move(s), false;
            done();
            return true;
        }
        cpu::detail::tile_control ctl;
        ctl.resume = resumable ? &rec.tiles : nullptr;
        ctl.interrupt = fp.interrupt;
        ctl.interrupt_user = fp.interrupt_user;
        ctl.deadline_ns = deadline_ns;
        ctl.est_tile_ns = est;
        ctl.must_progress = !progressed;
        status s;
        {
            cpu::detail::scoped_tile_control scope(&ctl);
            s = f();
        }
        if (!s.ok()) {
            stop = failed;
            error = std::move(s);
            return false;
        }
        const std::size_t ran = ctl.run_items.load(std::memory_order_relaxed);
        if (ran > 0) {
            learn(k, ctl.run_ns.load(std::memory_order_relaxed) / static_cast<std::int64_t>(ran));
            progressed = true;
        }
        if (ctl.stopped) {  // the items in ctl.left are not done
            rec.tiles = ctl.left;
            interrupted = ctl.interrupted;
            stop = ctl.interrupted && !resumable ? cancelled : paused;
            return false;
        }
        done();
        return true;
    }
};

// One chunk of `n_rows` ≤ max_batch rows described by a.slices[0 .. n_slices): embeds the tokens, runs
// every layer (projections over all rows at once; RoPE at each row's position; KV store and attention
// per sequence against its own cache), and writes the logits of the kept rows. No cache's n_past changes.
// Every step is an operation of `cur` (see pass_cursor); the same chunk always yields the same sequence
// of operations, which is what lets a paused pass skip the ones it did. Stops early when cur.stop is set.
inline void forward_chunk(const model& m, forward_access& a, std::int64_t n_slices, std::int64_t n_rows, pass_cursor& cur) {
    const hparams& hp = m.hparams();
    const model_weights& W = m.weights();
    const thread_pool& pool = cur.fp.pool;
    const thread_pool dyn = dynamic_pool(&pool);
    const std::int64_t E = hp.n_embd, Q = hp.q_dim(), KV = hp.kv_dim(), F = hp.n_ff, D = hp.head_dim, V = hp.n_vocab;

    const bool ok_embed = cur.serial(op_embed, [&] {
        for (std::int64_t si = 0; si < n_slices; ++si) {
            const batch_slice& s = a.slices[si];
            for (std::int64_t t = 0; t < s.n; ++t) {
                a.pos[s.row0 + t] = static_cast<std::int32_t>(s.p0 + t);
                cpu::dequantize_row(W.token_embd.type, W.token_embd.row(s.tokens[t]), a.x + (s.row0 + t) * E, E);
            }
        }
    });
    if (!ok_embed) return;
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
    single_rows_job srj{&a, 0, hp.n_head, hp.n_head / hp.n_head_kv, D, Q};
    std::int64_t n_kept = 0;  // rows that go on past the last layer's KV store
    for (std::int64_t si = 0; si < n_slices; ++si) n_kept += a.slices[si].n - a.slices[si].keep0;
    // A projection (or a group of them on one input) as tiled operations.
    auto project_op = [&](op_kind k, const tensor_view* const* w, float* const* y, int count, shared_input& in) {
        if (count > 1 && group_in_one(w, count, in)) return cur.tiled(k, [&] { return project_group(w, y, count, in); });
        for (int i = 0; i < count; ++i)
            if (!cur.tiled(k, [&] { return project(*w[i], in, y[i]); })) return false;
        return true;
    };

    for (std::int64_t il = 0; il < hp.n_layer; ++il) {
        const layer_weights& L = W.layers[static_cast<std::size_t>(il)];
        const float* attn_norm = static_cast<const float*>(L.attn_norm.data);
        if (!cur.serial(op_norm, [&] {
                for (std::int64_t t = 0; t < n_rows; ++t) cpu::rmsnorm(a.x + t * E, attn_norm, a.xb + t * E, E, hp.rms_eps);
            }))
            return;

        // Q, K, V from one quantized input, all rows of all sequences: the weights are read once.
        shared_input in{a.xb, n_rows, E, a.q81, a.q8k, &pool};
        {
            const tensor_view* wqkv[3] = {&L.wq, &L.wk, &L.wv};
            float* const yqkv[3] = {a.q, a.k, a.v};
            if (!project_op(op_qkv, wqkv, yqkv, 3, in)) return;
        }
        if (!cur.serial(op_qkv_post, [&] {
                add_bias(a.q, L.bq, n_rows, Q);
                add_bias(a.k, L.bk, n_rows, KV);
                add_bias(a.v, L.bv, n_rows, KV);
                if (L.q_norm.data != nullptr) {
                    const float* qn = static_cast<const float*>(L.q_norm.data);
                    const float* kn = static_cast<const float*>(L.k_norm.data);
                    for (std::int64_t r = 0; r < n_rows * hp.n_head; ++r) cpu::rmsnorm(a.q + r * D, qn, a.q + r * D, D, hp.rms_eps);
                    for (std::int64_t r = 0; r < n_rows * hp.n_head_kv; ++r) cpu::rmsnorm(a.k + r * D, kn, a.k + r * D, D, hp.rms_eps);
                }
                cpu::rope(a.q, n_rows, hp.n_head, D, a.pos, rp);
                cpu::rope(a.k, n_rows, hp.n_head_kv, D, a.pos, rp);
            }))
            return;

        // Append each sequence's K and V at its positions p0 .. p0+n-1 (rows ≥ n_past: not yet valid).
        if (!cur.serial(op_kv_store, [&] {
                for (std::int64_t si = 0; si < n_slices; ++si) {
                    const batch_slice& s = a.slices[si];
                    unsigned char* kc = s.kv->k_data(il);
                    unsigned char* vc = s.kv->v_data(il);
                    const std::uint64_t rb = s.kv->row_bytes();
                    for (std::int64_t t = 0; t < s.n; ++t) {
                        const float* kr = a.k + (s.row0 + t) * KV;
                        const float* vr = a.v + (s.row0 + t) * KV;
                        unsigned char* kd = kc + static_cast<std::uint64_t>(s.p0 + t) * rb;
                        unsigned char* vd = vc + static_cast<std::uint64_t>(s.p0 + t) * rb;
                        if (s.kv->type() == dtype::f16) {
                            cpu::f32_to_f16_row(kr, reinterpret_cast<f16*>(kd), KV);
                            cpu::f32_to_f16_row(vr, reinterpret_cast<f16*>(vd), KV);
                        } else {
                            std::memcpy(kd, kr, static_cast<std::size_t>(KV) * sizeof(float));
                            std::memcpy(vd, vr, static_cast<std::size_t>(KV) * sizeof(float));
                        }
                    }
                }
            }))
            return;

        // In the last layer only the rows whose logits are wanted go on past the KV store, packed to the
        // front (row c of the packed rows = the c-th kept row): none for a prefill without logits, a
        // sequence's final row for logits_mode::last. Earlier layers keep every row in place.
        const bool last_layer = il == hp.n_layer - 1;
        if (last_layer && n_kept == 0) break;
        const std::int64_t nt = last_layer ? n_kept : n_rows;
        std::int64_t c = 0, n_single = 0;
        bool moves = false;  // some kept rows must be packed
        for (std::int64_t si = 0; si < n_slices; ++si) {
            const batch_slice& s = a.slices[si];
            const std::int64_t from = last_layer ? s.keep0 : 0, cnt = s.n - from;
            if (cnt <= 0) continue;
            if (cnt == 1) {  // decode steps: gathered into one parallel_for below (the items are recomputed
                             // by every call: the same values)
                a.item_src[n_single] = static_cast<std::int32_t>(s.row0 + from);
                a.item_dst[n_single] = static_cast<std::int32_t>(c);
                a.item_slice[n_single] = static_cast<std::int32_t>(si);
                ++n_single;
            } else {
                const cpu::kv_cache_view view{s.kv->k_data(il), s.kv->v_data(il), s.kv->type(), s.kv->row_bytes(), s.kv->row_bytes()};
                if (!cur.tiled(op_attention, [&] {
                        return cpu::attention(a.q + (s.row0 + from) * Q, cnt, s.p0 + from, view, s.p0 + s.n, a.attn + c * Q, ap, dyn);
                    }))
                    return;
            }
            moves = moves || c != s.row0 + from;
            c += cnt;
        }
        if (n_single > 0) {
            srj.layer = il;
            if (!cur.tiled(op_attention, [&] {
                    cpu::detail::run_dynamic(pool, static_cast<std::size_t>(n_single * hp.n_head), single_rows_task, &srj);
                    return status();
                }))
                return;
        }
        if (moves && !cur.serial(op_pack, [&] {  // pack the residual rows of the kept rows (c < row0 + from: front to back is safe)
                std::int64_t cc = 0;
                for (std::int64_t si = 0; si < n_slices; ++si) {
                    const batch_slice& s = a.slices[si];
                    const std::int64_t from = last_layer ? s.keep0 : 0, cnt = s.n - from;
                    if (cnt <= 0) continue;
                    if (cc != s.row0 + from)
                        std::memmove(a.x + cc * E, a.x + (s.row0 + from) * E, static_cast<std::size_t>(cnt * E) * sizeof(float));
                    cc += cnt;
                }
            }))
            return;

        shared_input in_o{a.attn, nt, Q, a.q81, a.q8k, &pool};
        {
            const tensor_view* wo[1] = {&L.wo};
            float* const yo[1] = {a.tmp};
            if (!project_op(op_wo, wo, yo, 1, in_o)) return;
        }
        if (!cur.serial(op_add, [&] { cpu::add(a.x, a.tmp, a.x, nt * E); })) return;

        // SwiGLU feed-forward; gate and up from one quantized input.
        const float* ffn_norm = static_cast<const float*>(L.ffn_norm.data);
        if (!cur.serial(op_norm, [&] {
                for (std::int64_t t = 0; t < nt; ++t) cpu::rmsnorm(a.x + t * E, ffn_norm, a.xb + t * E, E, hp.rms_eps);
            }))
            return;
        shared_input in_f{a.xb, nt, E, a.q81, a.q8k, &pool};
        {
            const tensor_view* wgu[2] = {&L.ffn_gate, &L.ffn_up};
            float* const ygu[2] = {a.gate, a.up};
            if (!project_op(op_gate_up, wgu, ygu, 2, in_f)) return;
        }
        if (!cur.serial(op_act, [&] { cpu::silu_mul(a.gate, a.up, a.gate, nt * F); })) return;
        shared_input in_d{a.gate, nt, F, a.q81, a.q8k, &pool};
        {
            const tensor_view* wd[1] = {&L.ffn_down};
            float* const yd[1] = {a.tmp};
            if (!project_op(op_down, wd, yd, 1, in_d)) return;
        }
        if (!cur.serial(op_add, [&] { cpu::add(a.x, a.tmp, a.x, nt * E); })) return;
    }
    if (n_kept == 0) return;

    // Output norm and matmul over the kept rows. Where each row's logits go: one run of consecutive
    // destinations (one sequence) is written in place; otherwise the rows are gathered through the
    // workspace's logits rows (one matmul per logits_rows rows) or, without them, one matmul per run.
    const float* out_norm = static_cast<const float*>(W.output_norm.data);
    if (!cur.serial(op_norm, [&] {
            for (std::int64_t t = 0; t < n_kept; ++t) cpu::rmsnorm(a.x + t * E, out_norm, a.xb + t * E, E, hp.rms_eps);
        }))
        return;
    auto dest = [&](std::int64_t row) {  // destination of packed row `row`
        std::int64_t at = 0;
        for (std::int64_t si = 0; si < n_slices; ++si) {
            const batch_slice& s = a.slices[si];
            const std::int64_t cnt = s.n - s.keep0;
            if (row < at + cnt) return s.out + (row - at) * V;
            at += cnt;
        }
        return static_cast<float*>(nullptr);
    };
    std::int64_t run_end = 1;  // rows [0, run_end) have consecutive destinations
    while (run_end < n_kept && dest(run_end) == dest(0) + run_end * V) ++run_end;
    if (run_end == n_kept || a.logits == nullptr) {
        for (std::int64_t r0 = 0; r0 < n_kept;) {
            std::int64_t r1 = r0 + 1;
            while (r1 < n_kept && dest(r1) == dest(r0) + (r1 - r0) * V) ++r1;
            shared_input in_out{a.xb + r0 * E, r1 - r0, E, a.q81, a.q8k, &pool};
            if (!cur.tiled(op_output, [&] { return project(W.output, in_out, dest(r0)); })) return;
            r0 = r1;
        }
        return;
    }
    for (std::int64_t r0 = 0; r0 < n_kept; r0 += a.logits_rows) {
        const std::int64_t cnt = std::min(a.logits_rows, n_kept - r0);
        shared_input in_out{a.xb + r0 * E, cnt, E, a.q81, a.q8k, &pool};
        if (!cur.tiled(op_output, [&] { return project(W.output, in_out, a.logits); })) return;
        if (!cur.serial(op_copy, [&] {
                for (std::int64_t r = 0; r < cnt; ++r)
                    std::memcpy(dest(r0 + r), a.logits + r * V, static_cast<std::size_t>(V) * sizeof(float));
            }))
            return;
    }
}

// Which pass a set of segments is: the caches (identity, n_past, version), tokens, logits modes and
// destinations. A paused pass resumes only when this matches.
inline std::uint64_t pass_signature(const forward_segment* segs, std::size_t n) {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const void* p, std::size_t k) {
        const unsigned char* b = static_cast<const unsigned char*>(p);
        for (std::size_t i = 0; i < k; ++i) h = (h ^ b[i]) * 1099511628211ull;
    };
    mix(&n, sizeof n);
    for (std::size_t i = 0; i < n; ++i) {
        const forward_segment& s = segs[i];
        const std::int64_t n_past = s.kv->n_past();
        const std::uint64_t version = s.kv->version();
        const int mode = static_cast<int>(s.logits);
        mix(&s.kv, sizeof s.kv), mix(&n_past, sizeof n_past), mix(&version, sizeof version), mix(&s.n_tokens, sizeof s.n_tokens);
        mix(&mode, sizeof mode), mix(&s.logits_out, sizeof s.logits_out);
        mix(s.tokens, static_cast<std::size_t>(s.n_tokens) * sizeof(std::int32_t));
    }
    return h;
}

}  // namespace detail

// Run several sequences in one pass: segment i appends its n_tokens tokens at positions
// kv->n_past() .. to its own cache and writes its logits per its logits mode. Every projection runs once
// over the rows of all segments (the weights are read once per pass, not once per sequence); RoPE uses
// each row's own position; the KV store and attention are per sequence. Rows beyond the workspace's
// max_batch run in chunks (a segment may span chunks). Each segment's results equal a forward() of it
// alone up to the summation order of a matmul over a different number of columns (bit-equal while
// both stay below cpu::gemm_min_cols rows per chunk).
// Pausable (params.progress set): returns ok with progress->done false when the deadline or the
// interrupt stopped it; calling again with the same segments and workspace resumes it (bit-identical
// results); any other pass on the workspace, or a change of a segment's cache (truncate, another pass),
// makes the next call start it afresh. n_past advances only when the whole pass completes.
// Errors — nothing changes in any cache: invalid_argument (no segments, a null or out-of-vocabulary
// token, missing logits buffer, two segments on one cache, a cache or workspace made for another
// model), limit_exceeded (a segment's tokens do not fit its cache), cancelled (should_continue returned
// false, or the interrupt fired in a pass that is not pausable; a paused pass is dropped).
inline status forward_batch(const model& m, workspace& ws, const forward_segment* segs, std::size_t n_segs,
                            const forward_batch_params& params = {}) {
    if (m.empty()) return status(status_code::invalid_argument, "forward: empty model");
    const hparams& hp = m.hparams();
    if (!ws.fits(m)) return status(status_code::invalid_argument, "forward: the workspace was not made for this model");
    if (segs == nullptr || n_segs == 0) return status(status_code::invalid_argument, "forward: no segments");
    for (std::size_t i = 0; i < n_segs; ++i) {
        const forward_segment& s = segs[i];
        const std::string which = n_segs > 1 ? str(" (segment ", i, ")") : std::string();
        if (s.kv == nullptr || !s.kv->valid() || s.kv->n_layer() != hp.n_layer || s.kv->kv_dim() != hp.kv_dim())
            return status(status_code::invalid_argument, str("forward: the KV cache was not made for this model", which));
        if (s.n_tokens <= 0 || s.tokens == nullptr) return status(status_code::invalid_argument, str("forward: no tokens", which));
        if (s.logits != logits_mode::none && s.logits_out == nullptr)
            return status(status_code::invalid_argument, str("forward: logits requested but logits_out is null", which));
        const std::int64_t n_past = s.kv->n_past();
        if (s.n_tokens > s.kv->n_ctx() - n_past)
            return status(status_code::limit_exceeded, str("forward: ", s.n_tokens, " tokens at position ", n_past,
                                                           " exceed the context of ", s.kv->n_ctx(), " positions", which));
        for (std::int64_t t = 0; t < s.n_tokens; ++t)
            if (s.tokens[t] < 0 || s.tokens[t] >= hp.n_vocab)
                return status(status_code::invalid_argument, str("forward: token ", s.tokens[t], " at index ", t,
                                                                 " is outside the vocabulary of ", hp.n_vocab, which));
        for (std::size_t j = 0; j < i; ++j)
            if (segs[j].kv == s.kv) return status(status_code::invalid_argument, str("forward: segments ", j, " and ", i, " share one KV cache"));
    }

    detail::forward_access a(ws);
    const std::int64_t B = ws.max_batch(), V = hp.n_vocab;
    const bool resumable = params.progress != nullptr;
    detail::pass_record& rec = *a.record;
    const std::uint64_t sig = resumable ? detail::pass_signature(segs, n_segs) : 0;
    const bool resume = resumable && rec.paused && rec.signature == sig;
    if (!resume) rec = detail::pass_record{};  // this pass starts afresh (and overwrites any paused one)
    rec.paused = false;
    if (resumable) *params.progress = forward_progress{}, params.progress->resumed = resume;
    std::int64_t deadline_ns = INT64_MAX;
    if (resumable && params.deadline != std::chrono::steady_clock::time_point::max())
        deadline_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(params.deadline.time_since_epoch()).count();
    detail::pass_cursor cur(params, rec, a.est_ns, a.est_rows, resumable, deadline_ns);
    std::size_t seg = 0;
    std::int64_t done = 0;   // tokens of segs[seg] already run
    std::int64_t chunk = 0;  // index of the chunk being filled
    while (seg < n_segs) {
        // Fill one chunk with up to B rows, segment after segment.
        std::int64_t rows = 0, n_slices = 0;
        while (seg < n_segs && rows < B) {
            const forward_segment& s = segs[seg];
            const std::int64_t take = std::min(B - rows, s.n_tokens - done);
            const bool final_part = done + take == s.n_tokens;
            detail::batch_slice& sl = a.slices[n_slices++];
            sl.kv = s.kv;
            sl.tokens = s.tokens + done;
            sl.row0 = rows;
            sl.n = take;
            sl.p0 = s.kv->n_past() + done;
            sl.keep0 = take;
            sl.out = nullptr;
            if (s.logits == logits_mode::all) {
                sl.keep0 = 0;
                sl.out = s.logits_out + static_cast<std::size_t>(done) * static_cast<std::size_t>(V);
            } else if (s.logits == logits_mode::last && final_part) {
                sl.keep0 = take - 1;
                sl.out = s.logits_out;
            }
            rows += take;
            done += take;
            if (final_part) ++seg, done = 0;
        }
        if (chunk++ < rec.chunk) continue;  // completed by an earlier call of this pass
        cur.op = 0;
        cur.n_rows = rows;
        detail::forward_chunk(m, a, n_slices, rows, cur);
        if (cur.stop == detail::pass_cursor::paused && params.should_continue != nullptr && !params.should_continue(params.user))
            cur.stop = detail::pass_cursor::cancelled;
        if (cur.stop == detail::pass_cursor::paused) {  // no n_past was advanced; the activations stay in ws
            rec.paused = true;
            rec.signature = sig;
            params.progress->interrupted = cur.interrupted;
            return status();
        }
        if (cur.stop != detail::pass_cursor::running) {  // no n_past was advanced: every cache is as before
            rec = detail::pass_record{};
            if (cur.stop == detail::pass_cursor::failed) return cur.error;
            return status(status_code::cancelled, "forward: cancelled by the host");
        }
        rec.chunk = chunk;
        rec.op = 0;
        rec.tiles = cpu::detail::tile_ranges{};
    }
    rec = detail::pass_record{};
    for (std::size_t i = 0; i < n_segs; ++i) NOGGIN_TRY(segs[i].kv->set_n_past(segs[i].kv->n_past() + segs[i].n_tokens));
    if (resumable) params.progress->done = true;
    return status();
}

// Run `n_tokens` tokens at positions kv.n_past() .. kv.n_past() + n_tokens − 1 and append their keys and
// values to `kv`. Logits go to params.logits_out per params.logits. Errors (cache unchanged):
// invalid_argument (null or out-of-vocabulary tokens, missing logits buffer, cache or workspace made
// for another model), limit_exceeded (the tokens do not fit in the cache), cancelled.
// The one-segment case of forward_batch.
inline status forward(const model& m, kv_cache& kv, workspace& ws, const std::int32_t* tokens, std::int64_t n_tokens,
                      const forward_params& params = {}) {
    forward_segment seg;
    seg.kv = &kv;
    seg.tokens = tokens;
    seg.n_tokens = n_tokens;
    seg.logits = params.logits;
    seg.logits_out = params.logits_out;
    forward_batch_params bp;
    bp.pool = params.pool;
    bp.should_continue = params.should_continue;
    bp.user = params.user;
    bp.interrupt = params.interrupt;
    bp.interrupt_user = params.interrupt_user;
    bp.progress = params.progress;
    bp.deadline = params.deadline;
    return forward_batch(m, ws, &seg, 1, bp);
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
