// noggin/cpu/ops.hpp — the element-wise and attention ops of a transformer layer on the CPU.
//
//     noggin::cpu::rmsnorm(x, norm_w, h, n_embd, 1e-5f);                 // h = x / rms(x) · w
//     noggin::cpu::rope_params rp;  rp.freq_base = 1e6f;  rp.mode = noggin::cpu::rope_mode::neox;
//     noggin::cpu::rope(q, n_tokens, n_head, head_dim, positions, rp);   // in place
//     noggin::cpu::silu_mul(gate, up, act, n_ff);                         // SwiGLU
//     noggin::cpu::attention_params ap;  ap.n_head = 12;  ap.n_head_kv = 2;  ap.head_dim = 128;
//     noggin::cpu::kv_cache_view kv{k_cache, v_cache, noggin::dtype::f16, row_bytes, row_bytes};
//     noggin::cpu::attention(q, n_tokens, pos0, kv, pos0 + n_tokens, out, ap, pool);
//
// Sections: float SIMD helpers · RMSNorm · RoPE · softmax · SiLU·mul, add, scale · attention ·
//           scalar references
//
// Each op has a scalar reference (`*_ref`, double accumulation where it matters) that the SIMD versions
// (xsimd float batches; F16C for F16 keys/values) are tested against. Vectors need no alignment and
// any length works (scalar tails).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../core/config.hpp"
#include "../core/dtype.hpp"
#include "../core/half.hpp"
#include "../core/hooks.hpp"
#include "../core/status.hpp"
#include "dot.hpp"

namespace noggin {
namespace cpu {

// --- float SIMD helpers -----------------------------------------------------------------------------------

namespace detail {

inline float sum_squares(const float* x, std::int64_t n) {
    std::int64_t i = 0;
    float s = 0.0f;
#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
    using B = simd::fbatch;
    B a0(0.0f), a1(0.0f);
    for (; i + 2 * simd::fwidth <= n; i += 2 * simd::fwidth) {
        const B v0 = B::load_unaligned(x + i), v1 = B::load_unaligned(x + i + simd::fwidth);
        a0 = xsimd::fma(v0, v0, a0);
        a1 = xsimd::fma(v1, v1, a1);
    }
    s = xsimd::hadd(a0 + a1);
#endif
    for (; i < n; ++i) s += x[i] * x[i];
    return s;
}

// y[i] = x[i] * s * (w ? w[i] : 1)
inline void scale_mul(const float* x, float s, const float* w, float* y, std::int64_t n) {
    std::int64_t i = 0;
#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
    using B = simd::fbatch;
    const B bs(s);
    if (w != nullptr) {
        for (; i + simd::fwidth <= n; i += simd::fwidth)
            (B::load_unaligned(x + i) * bs * B::load_unaligned(w + i)).store_unaligned(y + i);
    } else {
        for (; i + simd::fwidth <= n; i += simd::fwidth) (B::load_unaligned(x + i) * bs).store_unaligned(y + i);
    }
#endif
    for (; i < n; ++i) y[i] = x[i] * s * (w != nullptr ? w[i] : 1.0f);
}

// acc[i] = acc[i] * keep + p * v[i] for a 16-bit or 32-bit float vector v.
template <class V>
inline float load_scalar(const V* v, std::int64_t i);
template <>
inline float load_scalar<float>(const float* v, std::int64_t i) { return v[i]; }
template <>
inline float load_scalar<f16>(const f16* v, std::int64_t i) { return f16_to_f32(v[i]); }

#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
inline simd::fbatch load_batch(const float* v) { return simd::fbatch::load_unaligned(v); }
inline simd::fbatch load_batch(const f16* v) { return simd::load_f16(v); }
#endif

template <class V>
inline void axpy(float* acc, float p, const V* v, std::int64_t n) {
    std::int64_t i = 0;
#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
    using B = simd::fbatch;
    const B bp(p);
    for (; i + simd::fwidth <= n; i += simd::fwidth)
        xsimd::fma(bp, load_batch(v + i), B::load_unaligned(acc + i)).store_unaligned(acc + i);
#endif
    for (; i < n; ++i) acc[i] += p * load_scalar(v, i);
}

}  // namespace detail

// --- RMSNorm --------------------------------------------------------------------------------------------------

// y = x / sqrt(mean(x²) + eps) · weight (weight may be null: no scaling). y may alias x.
inline void rmsnorm(const float* x, const float* weight, float* y, std::int64_t n, float eps) {
    const float mean = detail::sum_squares(x, n) / static_cast<float>(n);
    detail::scale_mul(x, 1.0f / std::sqrt(mean + eps), weight, y, n);
}

// --- RoPE -----------------------------------------------------------------------------------------------------------

enum class rope_mode : int {
    normal = 0,  // llama: rotate adjacent pairs (2i, 2i+1)
    neox = 2,      // NeoX / Qwen: rotate (i, i + n_dims/2)
};

struct rope_params {
    rope_mode mode = rope_mode::normal;  // pair layout (default llama's)
    std::int64_t n_dims = 0;         // rotated dimensions per head, even; 0 = the whole head (default)
    float freq_base = 10000.0f;      // theta base (default 10000)
    float freq_scale = 1.0f;         // linear position scaling: pos · freq_scale (default 1)
    float attn_factor = 1.0f;        // multiplies cos and sin (YaRN's mscale; default 1)
    const float* freq_factors = nullptr;  // n_dims/2 divisors of each pair's frequency (llama3's
                                          // rope_freqs.weight); null = none (default)
};

namespace detail {
inline void rope_one(float* x, std::int64_t n_heads, std::int64_t head_dim, const rope_params& p,
                     const float* cs, const float* sn, std::int64_t half) {
    const bool neox = p.mode == rope_mode::neox;
    for (std::int64_t h = 0; h < n_heads; ++h) {
        float* v = x + h * head_dim;
        for (std::int64_t i = 0; i < half; ++i) {
            const std::int64_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * cs[i] - x1 * sn[i];
            v[b] = x0 * sn[i] + x1 * cs[i];
        }
    }
}
inline float rope_theta(const rope_params& p, std::int64_t n_dims, std::int64_t i, float pos) {
    float theta = p.freq_scale * pos *
                  std::pow(p.freq_base, -2.0f * static_cast<float>(i) / static_cast<float>(n_dims));
    if (p.freq_factors != nullptr) theta /= p.freq_factors[i];
    return theta;
}
}  // namespace detail

// Rotate n_tokens rows of n_heads × head_dim floats (contiguous) in place; token t sits at positions[t].
inline void rope(float* x, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t head_dim,
                 const std::int32_t* positions, const rope_params& p) {
    const std::int64_t n_dims = p.n_dims > 0 ? p.n_dims : head_dim;
    const std::int64_t half = n_dims / 2;
    constexpr std::int64_t max_half = 512;
    float cs[max_half], sn[max_half];
    for (std::int64_t t = 0; t < n_tokens; ++t) {
        const float pos = static_cast<float>(positions[t]);
        for (std::int64_t i0 = 0; i0 < half; i0 += max_half) {
            // Heads with more than 1024 rotated dims are processed in slices of pairs.
            const std::int64_t cnt = half - i0 < max_half ? half - i0 : max_half;
            for (std::int64_t i = 0; i < cnt; ++i) {
                const float th = detail::rope_theta(p, n_dims, i0 + i, pos);
                cs[i] = std::cos(th) * p.attn_factor;
                sn[i] = std::sin(th) * p.attn_factor;
            }
            if (cnt == half) {
                detail::rope_one(x + t * n_heads * head_dim, n_heads, head_dim, p, cs, sn, half);
            } else {
                const bool neox = p.mode == rope_mode::neox;
                for (std::int64_t h = 0; h < n_heads; ++h) {
                    float* v = x + (t * n_heads + h) * head_dim;
                    for (std::int64_t i = 0; i < cnt; ++i) {
                        const std::int64_t ii = i0 + i;
                        const std::int64_t a = neox ? ii : 2 * ii, b = neox ? ii + half : 2 * ii + 1;
                        const float x0 = v[a], x1 = v[b];
                        v[a] = x0 * cs[i] - x1 * sn[i];
                        v[b] = x0 * sn[i] + x1 * cs[i];
                    }
                }
            }
        }
    }
}

// --- softmax ------------------------------------------------------------------------------------------------------------

// x = exp(x - max) / Σ exp(x - max), in place. -inf entries become 0.
inline void softmax(float* x, std::int64_t n) {
    if (n <= 0) return;
    float mx = -std::numeric_limits<float>::infinity();
    for (std::int64_t i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
    if (mx == -std::numeric_limits<float>::infinity()) {
        for (std::int64_t i = 0; i < n; ++i) x[i] = 1.0f / static_cast<float>(n);
        return;
    }
    std::int64_t i = 0;
    float sum = 0.0f;
#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
    using B = simd::fbatch;
    B acc(0.0f);
    const B bm(mx);
    for (; i + simd::fwidth <= n; i += simd::fwidth) {
        const B e = xsimd::exp(B::load_unaligned(x + i) - bm);
        e.store_unaligned(x + i);
        acc += e;
    }
    sum = xsimd::hadd(acc);
#endif
    for (; i < n; ++i) sum += (x[i] = std::exp(x[i] - mx));
    detail::scale_mul(x, 1.0f / sum, nullptr, x, n);
}

// --- SiLU·mul, add, scale -----------------------------------------------------------------------------------------------

// out = silu(gate) · up = gate / (1 + exp(-gate)) · up (SwiGLU). out may alias gate or up.
inline void silu_mul(const float* gate, const float* up, float* out, std::int64_t n) {
    std::int64_t i = 0;
#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
    using B = simd::fbatch;
    const B one(1.0f);
    for (; i + simd::fwidth <= n; i += simd::fwidth) {
        const B g = B::load_unaligned(gate + i);
        (g / (one + xsimd::exp(-g)) * B::load_unaligned(up + i)).store_unaligned(out + i);
    }
#endif
    for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// out = a + b. out may alias a or b.
inline void add(const float* a, const float* b, float* out, std::int64_t n) {
    std::int64_t i = 0;
#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
    using B = simd::fbatch;
    for (; i + simd::fwidth <= n; i += simd::fwidth)
        (B::load_unaligned(a + i) + B::load_unaligned(b + i)).store_unaligned(out + i);
#endif
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

// out = a · b element-wise (e.g. a norm weight applied separately). out may alias a or b.
inline void mul(const float* a, const float* b, float* out, std::int64_t n) {
    std::int64_t i = 0;
#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
    using B = simd::fbatch;
    for (; i + simd::fwidth <= n; i += simd::fwidth)
        (B::load_unaligned(a + i) * B::load_unaligned(b + i)).store_unaligned(out + i);
#endif
    for (; i < n; ++i) out[i] = a[i] * b[i];
}

// out = a · s. out may alias a.
inline void scale(const float* a, float s, float* out, std::int64_t n) { detail::scale_mul(a, s, nullptr, out, n); }

// --- attention -------------------------------------------------------------------------------------------------------------

// Where the keys and values of one sequence live: position p, KV head h starts at
// k + p·k_pos_stride + h·head_dim·element size (likewise v). type: F16 (default) or F32.
struct kv_cache_view {
    const void* k = nullptr;            // key cache
    const void* v = nullptr;            // value cache
    dtype type = dtype::f16;            // element type of both: f16 (default) or f32
    std::uint64_t k_pos_stride = 0;     // bytes between positions in k (≥ n_head_kv·head_dim elements)
    std::uint64_t v_pos_stride = 0;     // bytes between positions in v
};

struct attention_params {
    std::int64_t n_head = 1;     // query heads
    std::int64_t n_head_kv = 1;  // key/value heads; n_head must be a multiple (GQA)
    std::int64_t head_dim = 64;  // elements per head (≤ 1024)
    float scale = 0.0f;          // score scale; 0 = 1/sqrt(head_dim) (default)
};

namespace detail {
constexpr std::int64_t attn_max_head_dim = 1024;
constexpr std::int64_t attn_chunk = 64;  // keys scored before their values are accumulated

struct attention_job {
    const float* q;
    std::int64_t pos0, n_kv;
    kv_cache_view kv;
    float* out;
    attention_params p;
    float scale;
};

template <class KV>
inline void attention_row(const attention_job& j, std::int64_t t, std::int64_t h) {
    const std::int64_t d = j.p.head_dim;
    const std::int64_t hkv = h / (j.p.n_head / j.p.n_head_kv);
    const float* q = j.q + (t * j.p.n_head + h) * d;
    float* out = j.out + (t * j.p.n_head + h) * d;
    const std::int64_t n_keys = std::min(j.pos0 + t + 1, j.n_kv);  // causal: keys 0 .. pos0 + t
    const vec_dot_fn dot = vec_dot_function(j.kv.type);
    const unsigned char* kb = static_cast<const unsigned char*>(j.kv.k) + hkv * d * static_cast<std::int64_t>(sizeof(KV));
    const unsigned char* vb = static_cast<const unsigned char*>(j.kv.v) + hkv * d * static_cast<std::int64_t>(sizeof(KV));
    float acc[attn_max_head_dim];
    for (std::int64_t i = 0; i < d; ++i) acc[i] = 0.0f;
    float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
    float s[attn_chunk];
    for (std::int64_t j0 = 0; j0 < n_keys; j0 += attn_chunk) {
        const std::int64_t cnt = std::min(attn_chunk, n_keys - j0);
        float cm = m;
        for (std::int64_t c = 0; c < cnt; ++c) {
            s[c] = dot(d, kb + static_cast<std::uint64_t>(j0 + c) * j.kv.k_pos_stride, q) * j.scale;
            cm = s[c] > cm ? s[c] : cm;
        }
        if (cm > m) {
            const float f = std::exp(m - cm);  // 0 on the first chunk (m = -inf)
            for (std::int64_t i = 0; i < d; ++i) acc[i] *= f;
            l *= f;
            m = cm;
        }
        for (std::int64_t c = 0; c < cnt; ++c) {
            const float pr = std::exp(s[c] - m);
            l += pr;
            axpy(acc, pr, reinterpret_cast<const KV*>(vb + static_cast<std::uint64_t>(j0 + c) * j.kv.v_pos_stride), d);
        }
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (std::int64_t i = 0; i < d; ++i) out[i] = acc[i] * inv;
}

inline void attention_task(void* ctx, std::size_t begin, std::size_t end, std::size_t) {
    const attention_job& j = *static_cast<const attention_job*>(ctx);
    for (std::size_t item = begin; item < end; ++item) {
        const std::int64_t t = static_cast<std::int64_t>(item) / j.p.n_head;
        const std::int64_t h = static_cast<std::int64_t>(item) % j.p.n_head;
        if (j.kv.type == dtype::f16)
            attention_row<f16>(j, t, h);
        else
            attention_row<float>(j, t, h);
    }
}

inline status check_attention(const kv_cache_view& kv, const attention_params& p) {
    if (kv.type != dtype::f16 && kv.type != dtype::f32)
        return status(status_code::unsupported, str("attention: KV cache type ", dtype_name(kv.type), " (F16 or F32 only)"));
    if (p.n_head <= 0 || p.n_head_kv <= 0 || p.n_head % p.n_head_kv != 0)
        return status(status_code::invalid_argument, "attention: n_head must be a positive multiple of n_head_kv");
    if (p.head_dim <= 0 || p.head_dim > attn_max_head_dim)
        return status(status_code::invalid_argument, str("attention: head_dim ", p.head_dim, " not in 1..1024"));
    if (kv.k == nullptr || kv.v == nullptr) return status(status_code::invalid_argument, "attention: null KV cache");
    return status();
}
}  // namespace detail

// Causal multi-head attention with GQA for n_q query rows at positions pos0 .. pos0 + n_q − 1 over the
// cache positions 0 .. n_kv − 1 (query t sees keys 0 .. min(pos0 + t, n_kv − 1)). q and out hold n_q rows
// of n_head × head_dim floats; query head h reads KV head h / (n_head / n_head_kv). Work is split over
// (row, head) pairs on the pool; no scratch memory (online softmax in chunks of 64 keys).
inline status attention(const float* q, std::int64_t n_q, std::int64_t pos0, const kv_cache_view& kv,
                        std::int64_t n_kv, float* out, const attention_params& p, const thread_pool& pool) {
    NOGGIN_TRY(detail::check_attention(kv, p));
    if (n_q <= 0) return status();
    detail::attention_job job{q, pos0, n_kv, kv, out, p,
                              p.scale != 0.0f ? p.scale : 1.0f / std::sqrt(static_cast<float>(p.head_dim))};
    pool.run(static_cast<std::size_t>(n_q * p.n_head), detail::attention_task, &job);
    return status();
}

// --- scalar references ----------------------------------------------------------------------------------------------------

inline void rmsnorm_ref(const float* x, const float* weight, float* y, std::int64_t n, float eps) {
    double ss = 0.0;
    for (std::int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const double r = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] * r * (weight ? weight[i] : 1.0f));
}

// RoPE computed per element with double-precision angles.
inline void rope_ref(float* x, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t head_dim,
                     const std::int32_t* positions, const rope_params& p) {
    const std::int64_t n_dims = p.n_dims > 0 ? p.n_dims : head_dim;
    const std::int64_t half = n_dims / 2;
    for (std::int64_t t = 0; t < n_tokens; ++t)
        for (std::int64_t h = 0; h < n_heads; ++h) {
            float* v = x + (t * n_heads + h) * head_dim;
            for (std::int64_t i = 0; i < half; ++i) {
                double th = static_cast<double>(p.freq_scale) * positions[t] *
                            std::pow(static_cast<double>(p.freq_base), -2.0 * static_cast<double>(i) / static_cast<double>(n_dims));
                if (p.freq_factors) th /= p.freq_factors[i];
                const std::int64_t a = p.mode == rope_mode::neox ? i : 2 * i;
                const std::int64_t b = p.mode == rope_mode::neox ? i + half : 2 * i + 1;
                const double x0 = v[a], x1 = v[b], c = std::cos(th) * p.attn_factor, s = std::sin(th) * p.attn_factor;
                v[a] = static_cast<float>(x0 * c - x1 * s);
                v[b] = static_cast<float>(x0 * s + x1 * c);
            }
        }
}

inline void softmax_ref(float* x, std::int64_t n) {
    double mx = -std::numeric_limits<double>::infinity(), sum = 0.0;
    for (std::int64_t i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
    for (std::int64_t i = 0; i < n; ++i) sum += std::exp(x[i] - mx);
    for (std::int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::exp(x[i] - mx) / sum);
}

inline void silu_mul_ref(const float* gate, const float* up, float* out, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(gate[i] / (1.0 + std::exp(-static_cast<double>(gate[i]))) * up[i]);
}

// Two-pass attention in double precision, one (row, head) at a time; `scores` holds n_kv floats.
inline status attention_ref(const float* q, std::int64_t n_q, std::int64_t pos0, const kv_cache_view& kv,
                            std::int64_t n_kv, float* out, const attention_params& p, double* scores) {
    NOGGIN_TRY(detail::check_attention(kv, p));
    const float sc = p.scale != 0.0f ? p.scale : 1.0f / std::sqrt(static_cast<float>(p.head_dim));
    const std::int64_t d = p.head_dim, es = kv.type == dtype::f16 ? 2 : 4;
    auto at = [&](const void* base, std::uint64_t stride, std::int64_t pos, std::int64_t h, std::int64_t i) {
        const unsigned char* ptr = static_cast<const unsigned char*>(base) + static_cast<std::uint64_t>(pos) * stride + (h * d + i) * es;
        if (kv.type == dtype::f16) {
            f16 v;
            std::memcpy(&v, ptr, 2);
            return static_cast<double>(f16_to_f32(v));
        }
        float v;
        std::memcpy(&v, ptr, 4);
        return static_cast<double>(v);
    };
    for (std::int64_t t = 0; t < n_q; ++t)
        for (std::int64_t h = 0; h < p.n_head; ++h) {
            const std::int64_t hkv = h / (p.n_head / p.n_head_kv);
            const float* qr = q + (t * p.n_head + h) * d;
            const std::int64_t nk = std::min(pos0 + t + 1, n_kv);
            double mx = -std::numeric_limits<double>::infinity(), sum = 0.0;
            for (std::int64_t j = 0; j < nk; ++j) {
                double s = 0.0;
                for (std::int64_t i = 0; i < d; ++i) s += qr[i] * at(kv.k, kv.k_pos_stride, j, hkv, i);
                scores[j] = s * sc;
                mx = scores[j] > mx ? scores[j] : mx;
            }
            for (std::int64_t j = 0; j < nk; ++j) sum += (scores[j] = std::exp(scores[j] - mx));
            for (std::int64_t i = 0; i < d; ++i) {
                double o = 0.0;
                for (std::int64_t j = 0; j < nk; ++j) o += scores[j] * at(kv.v, kv.v_pos_stride, j, hkv, i);
                out[(t * p.n_head + h) * d + i] = nk > 0 ? static_cast<float>(o / sum) : 0.0f;
            }
        }
    return status();
}

}  // namespace cpu
}  // namespace noggin
