// noggin/vulkan/ops.hpp — weights on the device and the ops of a transformer layer, recorded into one
// command buffer with barriers only where a dispatch depends on an earlier one.
//
//     noggin::vulkan::recorder rec(ctx);
//     rec.begin();
//     noggin::vulkan::rmsnorm(rec, {x.whole(), 0, E}, w.whole(), 0, {xb.whole(), 0, E}, E, n_tok, 1e-5f);
//     noggin::vulkan::matmul(rec, wq /* device_tensor */, {xb.whole(), 0, E}, {q.whole(), 0, Q}, n_tok);
//     rec.submit();   // one vkQueueSubmit, then wait
//
// Sections: recorder (hazard-tracked barriers) · device_tensor (upload with split bindings, dtype
//           conversion) · ops (matmul, get_rows, rmsnorm, rope, silu_mul, add, kv_store, attention)
//
// Every op takes `span`s: a binding plus a float offset and a stride (floats between rows or columns),
// so ops address sub-ranges of shared activation buffers without new descriptor sets. Weights larger
// than the context's max_binding_bytes() are split by rows into chunks, each its own buffer and
// binding; matmul and get_rows issue one dispatch per chunk.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../cpu/quants.hpp"
#include "context.hpp"
#include "shader_types.hpp"

namespace noggin {
namespace vulkan {

// --- recorder --------------------------------------------------------------------------------------------

// Records dispatches into the context's command buffer. A barrier is inserted before a dispatch that
// reads or writes a buffer written since the last barrier, or writes one read since then; independent
// dispatches (Q, K and V projections; gate and up) run without one.
class recorder {
public:
    explicit recorder(context& ctx) : ctx_(&ctx) {}

    status begin() {
        result<VkCommandBuffer> c = ctx_->begin();
        if (!c.ok()) return c.status();
        cmd_ = c.value();
        written_.clear();
        read_.clear();
        dispatches_ = barriers_ = 0;
        return status();
    }

    // One dispatch of `id` over groups (gx, gy, gz). Bit i of write_mask: binding i is written.
    status dispatch(spirv::shader_id id, const binding* b, std::uint32_t n, std::uint32_t write_mask, const void* push,
                    std::uint32_t push_bytes, std::uint32_t gx, std::uint32_t gy = 1, std::uint32_t gz = 1) {
        if (gx == 0 || gy == 0 || gz == 0) return status();
        result<context::pipeline> p = ctx_->get_pipeline(id);
        if (!p.ok()) return p.status();
        result<VkDescriptorSet> set = ctx_->descriptor_set(p.value(), b, n);
        if (!set.ok()) return set.status();
        bool hazard = false;
        for (std::uint32_t i = 0; i < n; ++i) {
            const bool w = (write_mask >> i) & 1u;
            hazard = hazard || contains(written_, b[i].buffer) || (w && contains(read_, b[i].buffer));
        }
        if (hazard) barrier();
        for (std::uint32_t i = 0; i < n; ++i) ((write_mask >> i) & 1u ? written_ : read_).push_back(b[i].buffer);
        const dispatcher& d = ctx_->dispatch();
        d.vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.value().handle);
        VkDescriptorSet s = set.value();
        d.vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.value().layout, 0, 1, &s, 0, nullptr);
        d.vkCmdPushConstants(cmd_, p.value().layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
        d.vkCmdDispatch(cmd_, gx, gy, gz);
        ++dispatches_;
        return status();
    }

    // Copy bytes between buffers (e.g. logits to a readback buffer), with the same hazard tracking.
    void copy(VkBuffer src, std::uint64_t src_off, VkBuffer dst, std::uint64_t dst_off, std::uint64_t size) {
        if (contains(written_, src) || contains(written_, dst) || contains(read_, dst)) barrier();
        read_.push_back(src);
        written_.push_back(dst);
        VkBufferCopy region{src_off, dst_off, size};
        ctx_->dispatch().vkCmdCopyBuffer(cmd_, src, dst, 1, &region);
    }

    // Make all writes so far visible to everything after (compute, transfer, host).
    void barrier() {
        VkMemoryBarrier mb{};
        mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                           VK_ACCESS_TRANSFER_WRITE_BIT;
        const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
        ctx_->dispatch().vkCmdPipelineBarrier(cmd_, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
        written_.clear();
        read_.clear();
        ++barriers_;
    }

    // End, submit once and wait. Host-visible results are then readable.
    status submit() {
        VkMemoryBarrier mb{};
        mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        ctx_->dispatch().vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                              VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
        cmd_ = VK_NULL_HANDLE;
        return ctx_->submit();
    }

    context& ctx() { return *ctx_; }
    int dispatches() const { return dispatches_; }  // in the current command buffer
    int barriers() const { return barriers_; }

private:
    static bool contains(const std::vector<VkBuffer>& v, VkBuffer b) {
        for (VkBuffer x : v)
            if (x == b) return true;
        return false;
    }
    context* ctx_;
    VkCommandBuffer cmd_ = VK_NULL_HANDLE;
    std::vector<VkBuffer> written_, read_;  // since the last barrier
    int dispatches_ = 0, barriers_ = 0;
};

// --- device_tensor ---------------------------------------------------------------------------------------

// A weight matrix (or vector) on the device, split by rows into chunks of at most max_binding_bytes().
struct device_tensor {
    struct chunk {
        device_buffer buf;       // rows [row0, row0 + rows) of the tensor, densely packed
        std::int64_t row0 = 0;   // first row
        std::int64_t rows = 0;   // rows in this chunk
    };
    dtype type = dtype::f32;     // type on the device (may differ from the file's: see upload_tensor)
    std::int64_t ne0 = 0;        // elements per row
    std::int64_t rows = 0;       // rows (product of the other dimensions)
    std::uint64_t row_bytes = 0; // bytes per row on the device
    std::vector<chunk> chunks;   // one or more, in row order

    std::uint64_t bytes() const { return row_bytes * static_cast<std::uint64_t>(rows); }
    bool empty() const { return chunks.empty(); }
    binding whole() const { return chunks.empty() ? binding{} : chunks[0].buf.whole(); }  // single-chunk tensors
};

namespace detail {
// Shader variant for a weight type: base + index of the type in gen_spirv.py's WEIGHT_TYPES (×3).
inline int weight_type_index(dtype t) {
    switch (t) {
        case dtype::f32: return 0;
        case dtype::f16: return 1;
        case dtype::bf16: return 2;
        case dtype::q4_0: return 3;
        case dtype::q4_1: return 4;
        case dtype::q5_0: return 5;
        case dtype::q5_1: return 6;
        case dtype::q8_0: return 7;
        case dtype::q2_k: return 8;
        case dtype::q3_k: return 9;
        case dtype::q4_k: return 10;
        case dtype::q5_k: return 11;
        case dtype::q6_k: return 12;
        default: return -1;
    }
}
enum class weight_op { matvec = 0, matmul = 1, get_rows = 2 };
inline spirv::shader_id weight_shader(weight_op op, dtype t) {
    return static_cast<spirv::shader_id>(weight_type_index(t) * 3 + static_cast<int>(op));
}
inline std::uint32_t u32(std::int64_t v) { return static_cast<std::uint32_t>(v); }
inline std::uint32_t fbits(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline std::uint32_t groups(std::int64_t n, std::int64_t per) {
    const std::int64_t g = (n + per - 1) / per;
    return static_cast<std::uint32_t>(g < 1 ? 1 : (g > 65535 ? 65535 : g));  // grid-stride shaders cover the rest
}
}  // namespace detail

// Bytes `t` will take on the device (after any conversion).
inline std::uint64_t device_bytes(const tensor_view& t) {
    const dtype dev = has_shader(t.type) ? t.type : dtype::f32;
    std::uint64_t rb = 0;
    if (!row_bytes(dev, static_cast<std::uint64_t>(t.ne[0]), &rb)) return 0;
    return rb * static_cast<std::uint64_t>(t.row_count());
}

// Upload a weight once through the staging buffer. Types without a shader (Q8_1, Q8_K) are converted
// to F32 with a logged note. Fails with out_of_memory (budget), unsupported (one row > the binding
// limit) or invalid_argument (non-contiguous view).
inline result<device_tensor> upload_tensor(context& ctx, const tensor_view& t, const char* name = "tensor") {
    if (t.data == nullptr) return status(status_code::invalid_argument, str("vulkan: ", name, " has no data"));
    if (!t.is_contiguous()) return status(status_code::invalid_argument, str("vulkan: ", name, " is not contiguous"));
    device_tensor d;
    const bool convert = !has_shader(t.type);
    d.type = convert ? dtype::f32 : t.type;
    d.ne0 = t.ne[0];
    d.rows = t.row_count();
    if (!row_bytes(d.type, static_cast<std::uint64_t>(d.ne0), &d.row_bytes) || d.row_bytes == 0)
        return status(status_code::invalid_argument, str("vulkan: ", name, ": rows are not whole blocks"));
    if (convert)
        ctx.log()(log_level::info, str("vulkan: ", name, " (", dtype_name(t.type), ") has no shader; converted to F32 at upload"));
    if (d.row_bytes > ctx.max_binding_bytes())
        return status(status_code::unsupported, str("vulkan: one row of ", name, " (", d.row_bytes, " bytes) exceeds the binding limit ",
                                                    ctx.max_binding_bytes()));
    const std::int64_t per_chunk = static_cast<std::int64_t>(ctx.max_binding_bytes() / d.row_bytes);
    std::vector<float> tmp;
    for (std::int64_t r0 = 0; r0 < d.rows; r0 += per_chunk) {
        const std::int64_t nr = std::min(per_chunk, d.rows - r0);
        result<device_buffer> b = ctx.make_buffer(d.row_bytes * static_cast<std::uint64_t>(nr), memory_kind::device);
        if (!b.ok()) {
            status s = b.status();
            return s.with_context(str("uploading ", name));
        }
        const unsigned char* src = static_cast<const unsigned char*>(t.data) + static_cast<std::uint64_t>(r0) * t.nb[1];
        if (convert) {
            tmp.resize(static_cast<std::size_t>(nr * d.ne0));
            for (std::int64_t r = 0; r < nr; ++r)
                cpu::dequantize_row(t.type, src + static_cast<std::uint64_t>(r) * t.nb[1], tmp.data() + r * d.ne0, d.ne0);
            NOGGIN_TRY(ctx.upload(b.value().get(), 0, tmp.data(), b.value().size()));
        } else {
            NOGGIN_TRY(ctx.upload(b.value().get(), 0, src, b.value().size()));
        }
        device_tensor::chunk c;
        c.buf = std::move(b.value());
        c.row0 = r0;
        c.rows = nr;
        d.chunks.push_back(std::move(c));
    }
    return d;
}

// --- ops ----------------------------------------------------------------------------------------------------

// Floats of a buffer: element (row r, i) at b[off + r * stride + i].
struct span {
    binding b{};              // the buffer (usually whole)
    std::uint32_t off = 0;    // float offset of row/column 0
    std::uint32_t stride = 0; // floats between rows/columns
};

// y[:, c] = W · x[:, c] for c < n_cols (x columns of W.ne0 floats, y columns of W.rows floats). One
// column uses the matrix-vector shader, more the matrix-matrix one (8 columns per workgroup).
inline status matmul(recorder& rec, const device_tensor& w, span x, span y, std::int64_t n_cols) {
    if (detail::weight_type_index(w.type) < 0) return status(status_code::unsupported, "vulkan matmul: weight type has no shader");
    const bool mv = n_cols == 1;
    const spirv::shader_id id = detail::weight_shader(mv ? detail::weight_op::matvec : detail::weight_op::matmul, w.type);
    constexpr std::int64_t rows_per_group = 8;  // ROWS in matmul.comp
    constexpr std::int64_t rows_per_dispatch = 65535 * rows_per_group;
    for (const device_tensor::chunk& c : w.chunks) {
        for (std::int64_t r = 0; r < c.rows; r += rows_per_dispatch) {
            const std::int64_t nr = std::min(rows_per_dispatch, c.rows - r);
            const std::uint32_t pc[9] = {detail::u32(w.ne0), detail::u32(nr), detail::u32(r), detail::u32(n_cols),
                                         x.stride, y.stride, x.off, y.off, detail::u32(c.row0 + r)};
            const binding b[3] = {c.buf.whole(), x.b, y.b};
            NOGGIN_TRY(rec.dispatch(id, b, 3, 0b100, pc, sizeof pc, detail::u32((nr + rows_per_group - 1) / rows_per_group),
                                    detail::u32(mv ? 1 : (n_cols + 7) / 8)));
        }
    }
    return status();
}

// out row t = dequantized W row ids[ids_off + t], for t < n_tok (ids: int32 in a buffer).
inline status get_rows(recorder& rec, const device_tensor& w, binding ids, std::uint32_t ids_off, std::int64_t n_tok, span out) {
    if (detail::weight_type_index(w.type) < 0) return status(status_code::unsupported, "vulkan get_rows: weight type has no shader");
    const spirv::shader_id id = detail::weight_shader(detail::weight_op::get_rows, w.type);
    for (const device_tensor::chunk& c : w.chunks) {
        const std::uint32_t pc[6] = {detail::u32(w.ne0), detail::u32(c.row0), detail::u32(c.rows), ids_off, out.off, out.stride};
        const binding b[3] = {c.buf.whole(), ids, out.b};
        const std::int64_t per = (w.type == dtype::f32 || w.type == dtype::f16 || w.type == dtype::bf16) ? 64 : 256;
        NOGGIN_TRY(rec.dispatch(id, b, 3, 0b100, pc, sizeof pc, detail::groups(w.ne0, per), detail::u32(n_tok)));
    }
    return status();
}

// y row r = x row r / rms · w (w.buffer == VK_NULL_HANDLE: no weight), n floats per row, n_rows rows.
inline status rmsnorm(recorder& rec, span x, binding w, std::uint32_t w_off, span y, std::int64_t n, std::int64_t n_rows, float eps) {
    const bool has_w = w.buffer != VK_NULL_HANDLE;
    const binding b[3] = {x.b, has_w ? w : x.b, y.b};
    for (std::int64_t r = 0; r < n_rows; r += 65535) {
        const std::uint32_t pc[9] = {detail::u32(n), x.off, x.stride, y.off, y.stride, w_off, has_w ? 1u : 0u, detail::fbits(eps),
                                     detail::u32(r)};
        NOGGIN_TRY(rec.dispatch(spirv::shader_id::rmsnorm, b, 3, 0b100, pc, sizeof pc, detail::u32(std::min<std::int64_t>(65535, n_rows - r))));
    }
    return status();
}

struct rope_args {
    std::int64_t n_tok = 1, n_heads = 1, head_dim = 64, n_dims = 64;  // rotated dims per head (even)
    bool neox = false;            // NeoX pair layout (qwen) instead of adjacent pairs (llama)
    float freq_scale = 1.0f;      // linear position scaling
    float attn_factor = 1.0f;     // multiplies sin and cos
    bool has_factors = false;     // freq buffer holds n_dims/2 divisors after the n_dims/2 inv_freq
};

// Host-side table the rope shader reads: inv_freq[i] = base^(-2i/n_dims) (exactly the CPU's float
// expression), then the optional frequency factors.
inline std::vector<float> rope_freq_table(float freq_base, std::int64_t n_dims, const float* factors) {
    std::vector<float> t(static_cast<std::size_t>(factors != nullptr ? n_dims : n_dims / 2));
    for (std::int64_t i = 0; i < n_dims / 2; ++i) {
        t[static_cast<std::size_t>(i)] = std::pow(freq_base, -2.0f * static_cast<float>(i) / static_cast<float>(n_dims));
        if (factors != nullptr) t[static_cast<std::size_t>(n_dims / 2 + i)] = factors[i];
    }
    return t;
}

// Rotate x (n_tok rows of n_heads·head_dim floats at x.off, contiguous) in place; positions int32.
inline status rope(recorder& rec, span x, binding pos, std::uint32_t pos_off, binding freq, std::uint32_t freq_off, const rope_args& a) {
    const std::uint32_t pc[11] = {detail::u32(a.n_tok), detail::u32(a.n_heads), detail::u32(a.head_dim), detail::u32(a.n_dims),
                                  a.neox ? 1u : 0u, a.has_factors ? 1u : 0u, detail::fbits(a.freq_scale), detail::fbits(a.attn_factor),
                                  x.off, pos_off, freq_off};
    const binding b[3] = {x.b, pos, freq};
    return rec.dispatch(spirv::shader_id::rope, b, 3, 0b001, pc, sizeof pc, detail::groups(a.n_tok * a.n_heads * a.n_dims / 2, 256));
}

// out = silu(gate) · up over n floats.
inline status silu_mul(recorder& rec, span gate, span up, span out, std::int64_t n) {
    const std::uint32_t pc[4] = {detail::u32(n), gate.off, up.off, out.off};
    const binding b[3] = {gate.b, up.b, out.b};
    return rec.dispatch(spirv::shader_id::silu_mul, b, 3, 0b100, pc, sizeof pc, detail::groups(n, 256));
}

// out[i] = a[i] + b[i % nb] over n floats (nb = n: residual; nb = row length: bias over rows).
inline status add(recorder& rec, span a, span bsp, std::int64_t nb, span out, std::int64_t n) {
    const std::uint32_t pc[5] = {detail::u32(n), detail::u32(nb), a.off, bsp.off, out.off};
    const binding b[3] = {a.b, bsp.b, out.b};
    return rec.dispatch(spirv::shader_id::add, b, 3, 0b100, pc, sizeof pc, detail::groups(n, 256));
}

// cache[dst_off .. dst_off + n) = src (converted to the cache type: F16 or F32), dst_off in elements.
inline status kv_store(recorder& rec, span src, binding cache, dtype cache_type, std::uint32_t dst_off, std::int64_t n) {
    const std::uint32_t pc[3] = {detail::u32(n), src.off, dst_off};
    const binding b[2] = {src.b, cache};
    return rec.dispatch(cache_type == dtype::f16 ? spirv::shader_id::kv_store_f16 : spirv::shader_id::kv_store_f32, b, 2, 0b10, pc,
                        sizeof pc, detail::groups(n, 256));
}

struct attention_args {
    std::int64_t n_tok = 1;      // query rows (tokens)
    std::int64_t n_head = 1, n_head_kv = 1, head_dim = 64;
    std::int64_t pos0 = 0;       // position of query row 0
    std::int64_t n_kv = 1;       // keys in the cache (pos0 + n_tok after storing)
    std::int64_t kv_stride = 0;  // elements between positions (n_head_kv · head_dim)
    float scale = 0.0f;          // 0 = 1/sqrt(head_dim)
};
constexpr std::int64_t attention_max_head_dim = 256;

// Causal GQA attention: out row (t, h) over keys 0 .. min(pos0 + t, n_kv - 1) of the cache.
inline status attention(recorder& rec, span q, binding k, binding v, dtype cache_type, span out, const attention_args& a) {
    if (a.head_dim <= 0 || a.head_dim > attention_max_head_dim)
        return status(status_code::unsupported, str("vulkan attention: head_dim ", a.head_dim, " not in 1..", attention_max_head_dim));
    if (a.n_head_kv <= 0 || a.n_head % a.n_head_kv != 0)
        return status(status_code::invalid_argument, "vulkan attention: n_head must be a multiple of n_head_kv");
    const float sc = a.scale != 0.0f ? a.scale : 1.0f / std::sqrt(static_cast<float>(a.head_dim));
    const std::uint32_t pc[9] = {detail::u32(a.n_head), detail::u32(a.n_head_kv), detail::u32(a.head_dim), detail::u32(a.pos0),
                                 detail::u32(a.n_kv), detail::u32(a.kv_stride), detail::fbits(sc), q.off, out.off};
    const binding b[4] = {q.b, k, v, out.b};
    return rec.dispatch(cache_type == dtype::f16 ? spirv::shader_id::attention_f16 : spirv::shader_id::attention_f32, b, 4, 0b1000, pc,
                        sizeof pc, detail::u32(a.n_head), detail::u32(a.n_tok));
}

}  // namespace vulkan
}  // namespace noggin
