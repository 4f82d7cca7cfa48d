// noggin/model/model.hpp — a loaded transformer: hyper-parameters plus checked views of its weights.
//
// The weights are used in place, in the (memory-mapped or caller-provided) GGUF bytes: no copy, no
// repacking. The model shares ownership of the gguf::file, so the views stay valid for as long as the
// model (or a copy of it) lives. Every tensor the forward pass reads is looked up once here and its
// shape and dtype checked, so a hostile or unsupported file fails at load with a status naming the
// tensor, never later in the middle of a forward pass.
//
//     noggin::result<noggin::model::model> m = noggin::model::model::open("R1-Distill-Qwen-1.5B-Q4_K_M.gguf");
//     if (!m.ok()) return m.status();       // e.g. "tensor 'blk.3.attn_k.weight' has shape [1536, 128], expected [1536, 256]"
//     const noggin::model::hparams& hp = m->hparams();
//
// Sections: weights (layer_weights, model_weights) · model · loading (tensor checks, create, open)
//
// open() maps the file and asks the OS for transparent huge pages on the weights a decode step streams
// (core/page_advice.hpp; Linux, NOGGIN_NO_HUGE_PAGES turns it off): where the page cache can hold the
// file in 2 MiB folios, a file read for the first time after open() is then mapped by 2 MiB pages.
//
// Weights are in GGUF orientation: a matrix of `rows` outputs over `k` inputs has ne = {k, rows}.
// Norm weights, biases and rope_freqs must be F32 (what every converter and llama-quantize writes);
// matrices may be any dtype noggin has a dot product for, with rows a whole number of the blocks of
// both the weight type and its activation type (cpu::vec_dot_type).
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/page_advice.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../cpu/dot.hpp"
#include "../formats/gguf.hpp"
#include "hparams.hpp"

namespace noggin {
namespace model {

// --- weights -----------------------------------------------------------------------------------------------

// One transformer block. A tensor_view with data == nullptr means "absent" (optional tensors only).
struct layer_weights {
    tensor_view attn_norm;  // {n_embd} F32
    tensor_view wq;         // {n_embd, n_head·head_dim}
    tensor_view wk;         // {n_embd, n_head_kv·head_dim}
    tensor_view wv;         // {n_embd, n_head_kv·head_dim}
    tensor_view wo;         // {n_head·head_dim, n_embd}
    tensor_view bq;         // {n_head·head_dim} F32, optional (qwen2: required)
    tensor_view bk;         // {n_head_kv·head_dim} F32, optional
    tensor_view bv;         // {n_head_kv·head_dim} F32, optional
    tensor_view q_norm;     // {head_dim} F32, qwen3 only
    tensor_view k_norm;     // {head_dim} F32, qwen3 only
    tensor_view ffn_norm;   // {n_embd} F32
    tensor_view ffn_gate;   // {n_embd, n_ff}
    tensor_view ffn_up;     // {n_embd, n_ff}
    tensor_view ffn_down;   // {n_ff, n_embd}
};

struct model_weights {
    tensor_view token_embd;             // {n_embd, n_vocab}; rows are dequantized one token at a time
    tensor_view output_norm;            // {n_embd} F32
    tensor_view output;                 // {n_embd, n_vocab}: output.weight, or token_embd when tied
    bool tied_output = false;           // true when the file has no output.weight
    const float* rope_freqs = nullptr;  // n_rot/2 frequency divisors (rope_freqs.weight, llama3); null = none
    std::vector<layer_weights> layers;  // n_layer blocks
};

// --- model ---------------------------------------------------------------------------------------------------

// Immutable after creation; safe to share between threads and between any number of KV caches.
class model {
public:
    model() = default;  // empty; only useful as a moved-to target

    // Take ownership of an opened file.
    static result<model> create(gguf::file&& file);
    // Share a file with others (e.g. a tokenizer built from the same file).
    static result<model> create(std::shared_ptr<const gguf::file> file);
    // Memory-map and load `path`.
    static result<model> open(const std::string& path, const gguf::open_options& options = {});
    // A model whose weights come from elsewhere (a Hugging Face folder: model/hf_folder.hpp). The
    // caller has checked every view against `hp` (n_vocab filled in); `owner` keeps the bytes they
    // point into alive for as long as the model or a copy of it lives. file() is then an empty GGUF file.
    static result<model> from_parts(const noggin::model::hparams& hp, model_weights w, std::shared_ptr<const void> owner) {
        if (owner == nullptr) return status(status_code::invalid_argument, "model::from_parts: null owner");
        model m;
        m.hp_ = hp;
        m.w_ = std::move(w);
        m.owner_ = std::move(owner);
        return m;
    }

    const noggin::model::hparams& hparams() const { return hp_; }
    const model_weights& weights() const { return w_; }
    // The GGUF file the weights live in; an empty file (no keys, no tensors) for from_parts models.
    const gguf::file& file() const {
        static const gguf::file empty_file;
        return file_ ? *file_ : empty_file;
    }
    const std::shared_ptr<const gguf::file>& shared_file() const { return file_; }
    bool empty() const { return file_ == nullptr && owner_ == nullptr; }

private:
    std::shared_ptr<const gguf::file> file_;  // owns the bytes every view points into (GGUF models)
    std::shared_ptr<const void> owner_;       // from_parts: owns the bytes instead (mappings, converted copies)
    noggin::model::hparams hp_;               // hyper-parameters (n_vocab filled in)
    model_weights w_;                         // checked views into file_ (or into owner_'s bytes)
};

// --- loading -------------------------------------------------------------------------------------------------

namespace detail {

enum class tensor_kind { vector_f32, matrix };

inline std::string shape_text(const std::int64_t* ne, int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += str(i ? ", " : "", ne[i]);
    return s + "]";
}

// Look up `name`, check its shape (trailing 1s may be omitted) and dtype. Absent and !required → *out
// stays empty (data null) and ok.
inline status take_tensor(const gguf::file& f, const std::string& name, std::initializer_list<std::int64_t> shape,
                          tensor_kind kind, bool required, tensor_view* out) {
    *out = tensor_view{};
    out->data = nullptr;
    const gguf::tensor_info* t = f.find_tensor(name);
    if (t == nullptr) {
        if (!required) return status();
        return status(status_code::format_error, str("model: tensor '", name, "' not found"));
    }
    std::int64_t want[max_dims] = {1, 1, 1, 1};
    int nd = 0;
    for (std::int64_t n : shape) want[nd++] = n;
    bool same = true;
    for (int d = 0; d < max_dims; ++d) same = same && t->ne[d] == want[d];
    if (!same)
        return status(status_code::format_error, str("model: tensor '", name, "' has shape ", shape_text(t->ne, t->n_dims),
                                                     ", expected ", shape_text(want, nd)));
    if (kind == tensor_kind::vector_f32) {
        if (t->type != dtype::f32)
            return status(status_code::unsupported, str("model: tensor '", name, "' has type ", dtype_name(t->type),
                                                        "; norm weights, biases and rope_freqs must be F32"));
    } else {
        const dtype act = cpu::vec_dot_type(t->type);
        if (cpu::vec_dot_function(t->type) == nullptr || t->ne[0] % dtype_info(act).block_elements != 0)
            return status(status_code::unsupported, str("model: tensor '", name, "' of type ", dtype_name(t->type), " with rows of ",
                                                        t->ne[0], " elements is not supported by the CPU kernels"));
    }
    if (t->data == nullptr)
        return status(status_code::unsupported, str("model: tensor '", name, "' is not in memory (read-on-demand files are not supported)"));
    *out = t->view();
    return status();
}

inline status load_weights(const gguf::file& f, noggin::model::hparams& hp, model_weights& w) {
    const arch_traits& a = arch_info(hp.architecture);
    const gguf::tensor_info* embd = f.find_tensor("token_embd.weight");
    if (embd == nullptr) return status(status_code::format_error, "model: tensor 'token_embd.weight' not found");
    hp.n_vocab = embd->ne[1];
    if (hp.n_vocab <= 0 || hp.n_vocab > max_vocab)
        return status(status_code::format_error, str("model: token_embd.weight has ", embd->ne[1], " rows (vocabulary size)"));
    const std::int64_t E = hp.n_embd, V = hp.n_vocab, Q = hp.q_dim(), KV = hp.kv_dim(), F = hp.n_ff;
    using K = tensor_kind;
    NOGGIN_TRY(take_tensor(f, "token_embd.weight", {E, V}, K::matrix, true, &w.token_embd));
    NOGGIN_TRY(take_tensor(f, "output_norm.weight", {E}, K::vector_f32, true, &w.output_norm));
    NOGGIN_TRY(take_tensor(f, "output.weight", {E, V}, K::matrix, false, &w.output));
    w.tied_output = w.output.data == nullptr;
    if (w.tied_output) w.output = w.token_embd;
    tensor_view freqs;
    NOGGIN_TRY(take_tensor(f, "rope_freqs.weight", {hp.n_rot / 2}, K::vector_f32, false, &freqs));
    w.rope_freqs = static_cast<const float*>(freqs.data);
    w.layers.assign(static_cast<std::size_t>(hp.n_layer), layer_weights{});
    for (std::int64_t i = 0; i < hp.n_layer; ++i) {
        layer_weights& l = w.layers[static_cast<std::size_t>(i)];
        const std::string p = str("blk.", i, ".");
        NOGGIN_TRY(take_tensor(f, p + "attn_norm.weight", {E}, K::vector_f32, true, &l.attn_norm));
        NOGGIN_TRY(take_tensor(f, p + "attn_q.weight", {E, Q}, K::matrix, true, &l.wq));
        NOGGIN_TRY(take_tensor(f, p + "attn_k.weight", {E, KV}, K::matrix, true, &l.wk));
        NOGGIN_TRY(take_tensor(f, p + "attn_v.weight", {E, KV}, K::matrix, true, &l.wv));
        NOGGIN_TRY(take_tensor(f, p + "attn_output.weight", {Q, E}, K::matrix, true, &l.wo));
        if (a.qkv_bias_allowed) {
            NOGGIN_TRY(take_tensor(f, p + "attn_q.bias", {Q}, K::vector_f32, a.qkv_bias_required, &l.bq));
            NOGGIN_TRY(take_tensor(f, p + "attn_k.bias", {KV}, K::vector_f32, a.qkv_bias_required, &l.bk));
            NOGGIN_TRY(take_tensor(f, p + "attn_v.bias", {KV}, K::vector_f32, a.qkv_bias_required, &l.bv));
        }
        if (a.qk_norm) {
            NOGGIN_TRY(take_tensor(f, p + "attn_q_norm.weight", {hp.head_dim}, K::vector_f32, true, &l.q_norm));
            NOGGIN_TRY(take_tensor(f, p + "attn_k_norm.weight", {hp.head_dim}, K::vector_f32, true, &l.k_norm));
        }
        NOGGIN_TRY(take_tensor(f, p + "ffn_norm.weight", {E}, K::vector_f32, true, &l.ffn_norm));
        NOGGIN_TRY(take_tensor(f, p + "ffn_gate.weight", {E, F}, K::matrix, true, &l.ffn_gate));
        NOGGIN_TRY(take_tensor(f, p + "ffn_up.weight", {E, F}, K::matrix, true, &l.ffn_up));
        NOGGIN_TRY(take_tensor(f, p + "ffn_down.weight", {F, E}, K::matrix, true, &l.ffn_down));
    }
    return status();
}

}  // namespace detail

inline result<model> model::create(std::shared_ptr<const gguf::file> file) {
    if (file == nullptr) return status(status_code::invalid_argument, "model::create: null file");
    result<noggin::model::hparams> hp = read_hparams(*file);
    if (!hp.ok()) return hp.status();
    model m;
    m.hp_ = hp.value();
    NOGGIN_TRY(detail::load_weights(*file, m.hp_, m.w_));
    m.file_ = std::move(file);
    return m;
}

inline result<model> model::create(gguf::file&& file) {
    return create(std::make_shared<const gguf::file>(std::move(file)));
}

namespace detail {
// The mapped bytes a decode step streams: every tensor but a separate token embedding (of which a step
// reads one row), as address ranges, sorted; tensors that follow each other in the file (up to alignment
// padding) form one range.
inline std::vector<std::pair<std::uintptr_t, std::uintptr_t>> streamed_weight_ranges(const gguf::file& f, bool tied_output) {
    std::vector<std::pair<std::uintptr_t, std::uintptr_t>> r, merged;
    for (const gguf::tensor_info& t : f.tensors()) {
        if (t.data == nullptr || t.bytes == 0 || (!tied_output && t.name == "token_embd.weight")) continue;
        const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(t.data);
        r.emplace_back(a, a + static_cast<std::uintptr_t>(t.bytes));
    }
    std::sort(r.begin(), r.end());
    for (const auto& x : r) {
        if (!merged.empty() && x.first <= merged.back().second + 4096) merged.back().second = std::max(merged.back().second, x.second);
        else merged.push_back(x);
    }
    return merged;
}
// MADV_HUGEPAGE (core/page_advice.hpp) on streamed_weight_ranges (on 2 MiB pages each row read of the token
// embedding would bring in 2 MiB). Returns the bytes advised (0 where the OS has no such advice).
inline std::size_t advise_weight_pages(const gguf::file& f, bool tied_output) {
    std::size_t advised = 0;
    for (const auto& r : streamed_weight_ranges(f, tied_output))
        advised += advise_huge_pages(reinterpret_cast<const void*>(r.first), static_cast<std::size_t>(r.second - r.first));
    return advised;
}
}  // namespace detail

inline result<model> model::open(const std::string& path, const gguf::open_options& options) {
    result<gguf::file> f = gguf::file::open(path, options);
    if (!f.ok()) {
        status s = f.status();
        return s.with_context(path);
    }
    result<model> m = create(std::move(f.value()));
    if (!m.ok()) {
        status s = m.status();
        return s.with_context(path);
    }
    detail::advise_weight_pages(m->file(), m->weights().tied_output);  // before the weights are first read
    return m;
}

}  // namespace model
}  // namespace noggin
