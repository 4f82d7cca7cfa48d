// noggin/model/memory.hpp — ask before loading: the memory a model plus a context of N tokens needs.
//
// Computed from the GGUF header only (metadata and tensor infos; no weight byte is read, no model is
// created), so a game can decide what to load, at which context length, on which backend:
//
//     noggin::model::memory_options o;  o.n_ctx = 4096;          // F16 KV cache, CPU batch 256 by default
//     noggin::result<noggin::model::memory_estimate> need = noggin::model::estimate_memory("model.gguf", o);
//     if (!need.ok()) return need.status();                        // bad file, unsupported architecture, ...
//     if (need->cpu.total() > budget) o.n_ctx = 1024;              // ask again with a shorter context
//     // need->vulkan.device_local(), need->vulkan.host_visible() when the Vulkan backend is wanted
//
// Sections: options · estimate structs · sizing rules (kv_cache, workspace, Vulkan) · estimate_memory
//
// The numbers are exact, not approximations: `cpu.kv_cache`, `cpu.workspace` and `cpu.logits` are the
// byte_size() of the kv_cache, workspace and logits buffer that model::context::create makes with the
// same parameters (model/forward.hpp), and the Vulkan numbers are the sizes of the buffers
// vulkan::model_context::create asks for (vulkan/forward.hpp; drivers may round each buffer up to their
// alignment). tests/model/memory_test.cpp checks both against the real objects. Not counted: the
// tokenizer and chat template (a few MB for a 150k vocabulary), a sampler's candidate array
// (n_vocab·8 bytes), and the allocator's own overhead.
//
// Memory-mapped weights (model::open, gguf::file::open) cost address space for the whole file and
// resident memory for the pages read; every weight page is read once per token, so plan for all of
// `cpu.weights` to be resident while generating. A file opened through a read callback with
// callback_data::load copies the data section into one owned buffer instead (also `cpu.weights`).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../cpu/dot.hpp"
#include "../cpu/matmul.hpp"
#include "../formats/gguf.hpp"
#include "../vulkan/shader_types.hpp"
#include "forward.hpp"
#include "hparams.hpp"

namespace noggin {
namespace model {

// --- options -----------------------------------------------------------------------------------------------

struct memory_options {
    std::int64_t n_ctx = 0;               // context tokens; 0 = min(model's context length, 4096) (default),
                                          // as kv_cache_params::n_ctx
    dtype kv_type = dtype::f16;           // KV cache element type: f16 (default) or f32
    std::int64_t max_batch = 256;         // CPU workspace batch, as context_params::max_batch (default 256)
    std::int64_t logits_rows = 0;         // workspace_params::logits_rows: gathered logits rows for
                                          // forward_batch / run::reasoner_group (default 0; groups use 8)
    std::int64_t vulkan_max_batch = 64;   // Vulkan tokens per command buffer (runner_params default 64)
    std::uint64_t vulkan_binding_limit = 128u << 20;  // the device's maxStorageBufferRange (default 128 MiB,
                                                      // lavapipe's; most desktop GPUs allow 2–4 GiB)
    std::uint64_t vulkan_staging_bytes = 8u << 20;    // vulkan::context_params::staging_bytes (default 8 MiB)
};

// --- estimate structs -----------------------------------------------------------------------------------------

// The CPU backend (model::context, run::session): all in host memory.
struct cpu_memory {
    std::uint64_t weights = 0;    // tensor data of every tensor in the file (mapped in place, or loaded)
    std::uint64_t kv_cache = 0;   // K and V of every layer for n_ctx positions = kv_cache::byte_size()
    std::uint64_t workspace = 0;  // activation scratch for max_batch tokens (and logits_rows) = workspace::byte_size()
    std::uint64_t logits = 0;     // the last token's logits, n_vocab floats (context's logits buffer)
    std::uint64_t total() const { return weights + kv_cache + workspace + logits; }
};

// The Vulkan backend (vulkan::model_context). The host side keeps the model (its mapped file) and an
// n_vocab float logits vector as well: add cpu.weights + cpu.logits for the whole picture.
struct vulkan_memory {
    bool supported = false;           // false: the model cannot run on such a device (see `why`)
    std::string why;                  // reason when !supported (binding limit, head size)
    std::uint64_t weights = 0;        // device-local: every weight as uploaded (types without a shader → F32)
    std::uint64_t kv_cache = 0;       // device-local: K and V of every layer
    std::uint64_t activations = 0;    // device-local: per-batch scratch, logits rows, RoPE frequency table
    std::uint64_t inputs = 0;         // host-visible: token ids and positions for one batch
    std::uint64_t readback = 0;       // host-visible: logits rows read back
    std::uint64_t staging = 0;        // host-visible: the context's upload staging buffer (once per context)
    std::int64_t batch = 0;           // tokens per command buffer after the binding limit
    std::int64_t logits_rows = 0;     // logits rows per command buffer
    std::uint64_t device_local() const { return weights + kv_cache + activations; }
    std::uint64_t host_visible() const { return inputs + readback + staging; }
    std::uint64_t total() const { return device_local() + host_visible(); }
};

struct memory_estimate {
    hparams hp;                    // the model's hyper-parameters (n_vocab filled in)
    std::int64_t n_ctx = 0;        // positions the KV cache holds (options.n_ctx resolved)
    std::uint64_t file_bytes = 0;  // the whole GGUF file (address space when memory-mapped)
    std::uint64_t tensor_count = 0;
    cpu_memory cpu;
    vulkan_memory vulkan;
};

// --- sizing rules -------------------------------------------------------------------------------------------
// Each mirrors one create(); the test keeps them equal.

// kv_cache::create: n_layer × (K and V) × n_ctx rows of kv_dim elements.
inline std::uint64_t kv_cache_bytes(const hparams& hp, std::int64_t n_ctx, dtype type) {
    const std::uint64_t es = type == dtype::f32 ? 4u : 2u;
    return 2u * static_cast<std::uint64_t>(hp.n_layer) * static_cast<std::uint64_t>(n_ctx) * static_cast<std::uint64_t>(hp.kv_dim()) * es;
}

// workspace::create: every buffer rounded up to 64 bytes. k_q81 / k_q8k: the longest input row of a
// matrix whose activations are Q8_1 / Q8_K (0 when none), see cpu::vec_dot_type.
inline std::uint64_t workspace_bytes(const hparams& hp, std::int64_t max_batch, std::int64_t k_q81, std::int64_t k_q8k,
                                     std::int64_t logits_rows = 0) {
    const std::uint64_t B = static_cast<std::uint64_t>(max_batch);
    const std::uint64_t E = static_cast<std::uint64_t>(hp.n_embd), Q = static_cast<std::uint64_t>(hp.q_dim()),
                        KV = static_cast<std::uint64_t>(hp.kv_dim()), F = static_cast<std::uint64_t>(hp.n_ff);
    auto up = [](std::uint64_t n) -> std::uint64_t { return (n + 63) / 64 * 64; };
    // positions; attention items (3 int32 per row); batch slices; activations; quantized inputs; logits rows
    std::uint64_t total = up(B * 4) + up(3 * B * 4) + up(B * sizeof(detail::batch_slice)) + 3 * up(B * E * 4) +
                          2 * up(B * Q * 4) + 2 * up(B * KV * 4) + 2 * up(B * F * 4);
    total += up(k_q81 > 0 ? B * cpu::activation_row_bytes(dtype::q8_1, k_q81) : 0);
    total += up(k_q8k > 0 ? B * cpu::activation_row_bytes(dtype::q8_k, k_q8k) : 0);
    total += up(static_cast<std::uint64_t>(logits_rows) * static_cast<std::uint64_t>(hp.n_vocab) * 4);
    return total == 0 ? 1 : total;
}

// vulkan::device_bytes: bytes of one tensor on the device.
inline std::uint64_t vulkan_tensor_bytes(dtype type, const std::int64_t* ne) {
    const dtype dev = vulkan::has_shader(type) ? type : dtype::f32;
    std::uint64_t rb = 0;
    if (!row_bytes(dev, static_cast<std::uint64_t>(ne[0]), &rb)) return 0;
    return rb * static_cast<std::uint64_t>(ne[1] * ne[2] * ne[3]);
}

// --- estimate_memory ----------------------------------------------------------------------------------------

namespace detail {

// A tensor the forward pass reads, with the shape model.hpp requires (trailing 1s omitted).
inline status memory_tensor(const gguf::file& f, const std::string& name, std::int64_t ne0, std::int64_t ne1, bool is_matrix,
                            bool required, const gguf::tensor_info** out) {
    *out = f.find_tensor(name);
    if (*out == nullptr) {
        if (!required) return status();
        return status(status_code::format_error, str("model: tensor '", name, "' not found"));
    }
    const std::int64_t* ne = (*out)->ne;
    if (ne[0] != ne0 || ne[1] != ne1 || ne[2] != 1 || ne[3] != 1)
        return status(status_code::format_error, str("model: tensor '", name, "' has shape [", ne[0], ", ", ne[1], ", ", ne[2], ", ",
                                                     ne[3], "], expected [", ne0, ", ", ne1, "]"));
    const dtype type = (*out)->type;
    if (!is_matrix && type != dtype::f32)
        return status(status_code::unsupported, str("model: tensor '", name, "' has type ", dtype_name(type),
                                                    "; norm weights, biases and rope_freqs must be F32"));
    if (is_matrix && (cpu::vec_dot_function(type) == nullptr || ne0 % dtype_info(cpu::vec_dot_type(type)).block_elements != 0))
        return status(status_code::unsupported, str("model: tensor '", name, "' of type ", dtype_name(type), " with rows of ", ne0,
                                                    " elements is not supported by the CPU kernels"));
    return status();
}

}  // namespace detail

// What `f`'s model needs for a context of options.n_ctx tokens, on the CPU and on a Vulkan device.
// Works on any opened file, also one read through a callback with callback_data::on_demand (nothing
// beyond the header is touched). Errors: what model::create would refuse for the metadata or the
// tensor shapes (format_error, unsupported), or options out of range (invalid_argument).
inline result<memory_estimate> estimate_memory(const gguf::file& f, const memory_options& o = {}) {
    result<hparams> read = read_hparams(f);
    if (!read.ok()) return read.status();
    memory_estimate e;
    e.hp = read.value();
    hparams& hp = e.hp;
    const gguf::tensor_info* embd = f.find_tensor("token_embd.weight");
    if (embd == nullptr) return status(status_code::format_error, "model: tensor 'token_embd.weight' not found");
    hp.n_vocab = embd->ne[1];
    if (hp.n_vocab <= 0 || hp.n_vocab > max_vocab)
        return status(status_code::format_error, str("model: token_embd.weight has ", embd->ne[1], " rows (vocabulary size)"));
    if (o.kv_type != dtype::f16 && o.kv_type != dtype::f32)
        return status(status_code::unsupported, str("memory estimate: KV type ", dtype_name(o.kv_type), " (F16 or F32 only)"));
    e.n_ctx = o.n_ctx == 0 ? std::min<std::int64_t>(hp.n_ctx_train, 4096) : o.n_ctx;
    if (e.n_ctx <= 0 || e.n_ctx > hp.n_ctx_train)
        return status(status_code::invalid_argument,
                      str("memory estimate: n_ctx ", o.n_ctx, " not in 1..", hp.n_ctx_train, " (the model's context length)"));
    if (o.max_batch <= 0 || o.max_batch > 65536)
        return status(status_code::invalid_argument, str("memory estimate: max_batch ", o.max_batch, " not in 1..65536"));
    if (o.logits_rows < 0 || o.logits_rows > 4096)
        return status(status_code::invalid_argument, str("memory estimate: logits_rows ", o.logits_rows, " not in 0..4096"));
    e.file_bytes = f.size();
    e.tensor_count = f.tensor_count();

    // The tensors the forward pass reads (model.hpp's list), their shapes checked.
    const std::int64_t E = hp.n_embd, V = hp.n_vocab, Q = hp.q_dim(), KV = hp.kv_dim(), F = hp.n_ff;
    const arch_traits& a = arch_info(hp.architecture);
    std::int64_t k_q81 = 0, k_q8k = 0;
    std::uint64_t vk_weights = 0, vk_widest_row = 0, vk_widest_vector = 0;
    auto matrix = [&](const gguf::tensor_info* t) {
        const dtype act = cpu::vec_dot_type(t->type);
        if (act == dtype::q8_1) k_q81 = std::max(k_q81, t->ne[0]);
        if (act == dtype::q8_k) k_q8k = std::max(k_q8k, t->ne[0]);
    };
    auto device = [&](const gguf::tensor_info* t, bool vector) {
        if (t == nullptr) return;
        const std::uint64_t bytes = vulkan_tensor_bytes(t->type, t->ne);
        vk_weights += bytes;
        const std::uint64_t row = bytes / static_cast<std::uint64_t>(t->ne[1] * t->ne[2] * t->ne[3]);
        vk_widest_row = std::max(vk_widest_row, row);
        if (vector) vk_widest_vector = std::max(vk_widest_vector, bytes);
    };
    const gguf::tensor_info *t = nullptr, *out_norm = nullptr, *output = nullptr, *freqs = nullptr;
    NOGGIN_TRY(detail::memory_tensor(f, "token_embd.weight", E, V, true, true, &t));
    device(t, false);
    NOGGIN_TRY(detail::memory_tensor(f, "output_norm.weight", E, 1, false, true, &out_norm));
    device(out_norm, true);
    NOGGIN_TRY(detail::memory_tensor(f, "output.weight", E, V, true, false, &output));
    matrix(output != nullptr ? output : embd);
    device(output, false);
    NOGGIN_TRY(detail::memory_tensor(f, "rope_freqs.weight", hp.n_rot / 2, 1, false, false, &freqs));
    for (std::int64_t i = 0; i < hp.n_layer; ++i) {
        const std::string p = str("blk.", i, ".");
        const bool bias = a.qkv_bias_allowed, bias_needed = a.qkv_bias_required, qk = a.qk_norm;
        const struct {
            const char* name;
            std::int64_t ne0, ne1;
            bool is_matrix, used, required;  // used: read by this architecture
        } list[] = {
            {"attn_norm.weight", E, 1, false, true, true},
            {"attn_q.weight", E, Q, true, true, true},
            {"attn_k.weight", E, KV, true, true, true},
            {"attn_v.weight", E, KV, true, true, true},
            {"attn_output.weight", Q, E, true, true, true},
            {"attn_q.bias", Q, 1, false, bias, bias_needed},
            {"attn_k.bias", KV, 1, false, bias, bias_needed},
            {"attn_v.bias", KV, 1, false, bias, bias_needed},
            {"attn_q_norm.weight", hp.head_dim, 1, false, qk, qk},
            {"attn_k_norm.weight", hp.head_dim, 1, false, qk, qk},
            {"ffn_norm.weight", E, 1, false, true, true},
            {"ffn_gate.weight", E, F, true, true, true},
            {"ffn_up.weight", E, F, true, true, true},
            {"ffn_down.weight", F, E, true, true, true},
        };
        for (const auto& item : list) {
            if (!item.used) continue;
            NOGGIN_TRY(detail::memory_tensor(f, p + item.name, item.ne0, item.ne1, item.is_matrix, item.required, &t));
            if (t == nullptr) continue;
            if (item.is_matrix) matrix(t);
            device(t, !item.is_matrix);
        }
    }

    // Weights as stored: every tensor's data (the file's data section less its alignment padding).
    for (const gguf::tensor_info& ti : f.tensors()) e.cpu.weights += ti.bytes;
    e.cpu.kv_cache = kv_cache_bytes(hp, e.n_ctx, o.kv_type);
    e.cpu.workspace = workspace_bytes(hp, o.max_batch, k_q81, k_q8k, o.logits_rows);
    e.cpu.logits = static_cast<std::uint64_t>(V) * 4;

    // Vulkan (vulkan/forward.hpp's plan and create).
    vulkan_memory& vk = e.vulkan;
    const std::uint64_t limit = o.vulkan_binding_limit;
    const std::uint64_t widest = static_cast<std::uint64_t>(std::max({hp.n_embd, hp.q_dim(), hp.n_ff})) * 4;
    const std::uint64_t es = o.kv_type == dtype::f16 ? 2 : 4;
    const std::uint64_t layer_cache = static_cast<std::uint64_t>(e.n_ctx * KV) * es;
    vk.batch = std::min<std::int64_t>(o.vulkan_max_batch, static_cast<std::int64_t>(limit / widest));
    vk.logits_rows = std::min<std::int64_t>(vk.batch, static_cast<std::int64_t>(limit / (static_cast<std::uint64_t>(V) * 4)));
    if (o.vulkan_max_batch <= 0 || o.vulkan_max_batch > 4096) {
        vk.why = "vulkan_max_batch not in 1..4096";
    } else if (vk.batch < 1 || vk.logits_rows < 1 || layer_cache > limit) {
        vk.why = "activations or one layer's KV cache exceed the device's binding limit";
    } else if (hp.head_dim > 256) {
        vk.why = str("head_dim ", hp.head_dim, " > 256 (the attention shader's limit)");
    } else if (vk_widest_row > limit || vk_widest_vector > limit) {
        vk.why = "one weight row (or a norm/bias vector) exceeds the device's binding limit";
    } else {
        vk.supported = true;
        const std::uint64_t B = static_cast<std::uint64_t>(vk.batch), L = static_cast<std::uint64_t>(vk.logits_rows);
        vk.weights = vk_weights;
        vk.kv_cache = 2 * static_cast<std::uint64_t>(hp.n_layer) * layer_cache;
        const std::uint64_t rope_table = static_cast<std::uint64_t>(freqs != nullptr ? hp.n_rot : hp.n_rot / 2);
        vk.activations = 4 * (B * static_cast<std::uint64_t>(3 * E + 2 * Q + 2 * KV + 2 * F) + L * static_cast<std::uint64_t>(V) + rope_table);
        vk.inputs = 2 * B * 4;
        vk.readback = L * static_cast<std::uint64_t>(V) * 4;
        vk.staging = std::max<std::uint64_t>(o.vulkan_staging_bytes, 64 * 1024);
    }
    if (!vk.supported) vk.batch = vk.logits_rows = 0;
    return e;
}

// The same for a file on disk: the file is memory-mapped and only its header is parsed (fast for any
// size; no weight page is read). Errors name the path.
inline result<memory_estimate> estimate_memory(const std::string& path, const memory_options& o = {}) {
    result<gguf::file> f = gguf::file::open(path);
    if (!f.ok()) return f.status();
    result<memory_estimate> e = estimate_memory(f.value(), o);
    if (!e.ok()) {
        status s = e.status();
        return s.with_context(path);
    }
    return e;
}

}  // namespace model
}  // namespace noggin
