// noggin/cpu/quants.hpp — scalar reference (de)quantization of every dtype in NOGGIN_DTYPE_LIST.
//
//     std::vector<float> row(4096);
//     noggin::cpu::dequantize_row(noggin::dtype::q4_k, w.row(r), row.data(), 4096);  // false: bad n
//     std::vector<noggin::block_q8_0> q(4096 / 32);
//     noggin::cpu::quantize_row(noggin::dtype::q8_0, row.data(), q.data(), 4096);
//
// Sections: helpers · 16-bit float rows · 32-element formats (Q4_0 … Q8_1) · K-quant scale packing ·
//           K-quant formats (Q2_K … Q8_K) · quantizer searches · dispatch by dtype
//
// The bit layouts are GGUF's (llama.cpp ggml-quants / gguf-py quants.py); the per-type comments state
// where element j of a block lives. Dequantization is exact to the format (one float multiply-add per
// element, as llama.cpp does). Quantizers are reference quality: round to nearest with the standard
// scale choice for the 32-element formats (bit-exact with gguf-py for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0) and a
// small least-squares scale/min search for the K-quants. They are meant for writing test models and
// quantizing activations, not for the best possible K-quant files.
//
// These are the scalar references every SIMD kernel is tested against; the row conversions for the
// 16-bit floats have F16C paths, since whole F16 tensors go through them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/config.hpp"
#include "../core/dtype.hpp"
#include "../core/half.hpp"

#if NOGGIN_SIMD_AVX2
#include <immintrin.h>
#endif

namespace noggin {
namespace cpu {

// --- helpers ---------------------------------------------------------------------------------------

namespace detail {
// Round to nearest, ties away from zero (C roundf, what ggml's reference Q8 quantizers use).
inline int round_away(float x) { return static_cast<int>(std::round(x)); }
// Round to nearest, ties to even (the FPU default, what ggml's nearest_int does).
inline int round_even(float x) { return static_cast<int>(std::nearbyint(x)); }
inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }
}  // namespace detail

// --- 16-bit float rows -----------------------------------------------------------------------------

inline void f16_to_f32_row(const f16* x, float* y, std::int64_t n) {
    std::int64_t i = 0;
#if NOGGIN_SIMD_AVX2
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
#endif
    for (; i < n; ++i) y[i] = f16_to_f32(x[i]);
}

inline void f32_to_f16_row(const float* x, f16* y, std::int64_t n) {
    std::int64_t i = 0;
#if NOGGIN_SIMD_AVX2
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#endif
    for (; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

inline void bf16_to_f32_row(const bf16* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}

inline void f32_to_bf16_row(const float* x, bf16* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

// --- 32-element formats ------------------------------------------------------------------------------
// Element j (0..31) of a block: low nibble of qs[j] for j < 16, high nibble of qs[j - 16] otherwise;
// for the 5-bit formats its 5th bit is bit j of the little-endian 32-bit word qh.

inline std::uint32_t load_qh(const std::uint8_t qh[4]) {
    return static_cast<std::uint32_t>(qh[0]) | static_cast<std::uint32_t>(qh[1]) << 8 |
           static_cast<std::uint32_t>(qh[2]) << 16 | static_cast<std::uint32_t>(qh[3]) << 24;
}
inline void store_qh(std::uint8_t qh[4], std::uint32_t v) {
    for (int k = 0; k < 4; ++k) qh[k] = static_cast<std::uint8_t>(v >> (8 * k));
}

inline void dequantize_row_q4_0(const block_q4_0* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, y += 32) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = d * static_cast<float>((x[b].qs[j] & 0xf) - 8);
            y[j + 16] = d * static_cast<float>((x[b].qs[j] >> 4) - 8);
        }
    }
}

inline void dequantize_row_q4_1(const block_q4_1* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, y += 32) {
        const float d = f16_to_f32(x[b].d), m = f16_to_f32(x[b].m);
        for (int j = 0; j < 16; ++j) {
            y[j] = d * static_cast<float>(x[b].qs[j] & 0xf) + m;
            y[j + 16] = d * static_cast<float>(x[b].qs[j] >> 4) + m;
        }
    }
}

inline void dequantize_row_q5_0(const block_q5_0* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, y += 32) {
        const float d = f16_to_f32(x[b].d);
        const std::uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < 16; ++j) {
            const int lo = (x[b].qs[j] & 0xf) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (x[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            y[j] = d * static_cast<float>(lo - 16);
            y[j + 16] = d * static_cast<float>(hi - 16);
        }
    }
}

inline void dequantize_row_q5_1(const block_q5_1* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, y += 32) {
        const float d = f16_to_f32(x[b].d), m = f16_to_f32(x[b].m);
        const std::uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < 16; ++j) {
            const int lo = (x[b].qs[j] & 0xf) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (x[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            y[j] = d * static_cast<float>(lo) + m;
            y[j + 16] = d * static_cast<float>(hi) + m;
        }
    }
}

inline void dequantize_row_q8_0(const block_q8_0* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, y += 32) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(x[b].qs[j]);
    }
}

inline void dequantize_row_q8_1(const block_q8_1* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, y += 32) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(x[b].qs[j]);
    }
}

// Q4_0: d = (the value of largest magnitude) / -8, q = trunc(x/d + 8.5) clamped to 0..15 (gguf-py).
inline void quantize_row_q4_0(const float* x, block_q4_0* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; ++j)
            if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        for (int j = 0; j < 16; ++j) {
            const int lo = detail::clampi(static_cast<int>(x[j] * id + 8.5f), 0, 15);
            const int hi = detail::clampi(static_cast<int>(x[j + 16] * id + 8.5f), 0, 15);
            y[b].qs[j] = static_cast<std::uint8_t>(lo | (hi << 4));
        }
    }
}

// Q4_1: d = (max - min) / 15, m = min, q = trunc((x - min)/d + 0.5) clamped to 0..15.
inline void quantize_row_q4_1(const float* x, block_q4_1* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32) {
        float mn = x[0], mx = x[0];
        for (int j = 1; j < 32; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        y[b].m = f32_to_f16(mn);
        for (int j = 0; j < 16; ++j) {
            const int lo = detail::clampi(static_cast<int>((x[j] - mn) * id + 0.5f), 0, 15);
            const int hi = detail::clampi(static_cast<int>((x[j + 16] - mn) * id + 0.5f), 0, 15);
            y[b].qs[j] = static_cast<std::uint8_t>(lo | (hi << 4));
        }
    }
}

// Q5_0: d = (the value of largest magnitude) / -16, q = trunc(x/d + 16.5) clamped to 0..31.
inline void quantize_row_q5_0(const float* x, block_q5_0* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; ++j)
            if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        std::uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            const int lo = detail::clampi(static_cast<int>(x[j] * id + 16.5f), 0, 31);
            const int hi = detail::clampi(static_cast<int>(x[j + 16] * id + 16.5f), 0, 31);
            y[b].qs[j] = static_cast<std::uint8_t>((lo & 0xf) | ((hi & 0xf) << 4));
            qh |= static_cast<std::uint32_t>(lo >> 4) << j | static_cast<std::uint32_t>(hi >> 4) << (j + 16);
        }
        store_qh(y[b].qh, qh);
    }
}

// Q5_1: d = (max - min) / 31, m = min, q = trunc((x - min)/d + 0.5) clamped to 0..31.
inline void quantize_row_q5_1(const float* x, block_q5_1* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32) {
        float mn = x[0], mx = x[0];
        for (int j = 1; j < 32; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        y[b].m = f32_to_f16(mn);
        std::uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            const int lo = detail::clampi(static_cast<int>((x[j] - mn) * id + 0.5f), 0, 31);
            const int hi = detail::clampi(static_cast<int>((x[j + 16] - mn) * id + 0.5f), 0, 31);
            y[b].qs[j] = static_cast<std::uint8_t>((lo & 0xf) | ((hi & 0xf) << 4));
            qh |= static_cast<std::uint32_t>(lo >> 4) << j | static_cast<std::uint32_t>(hi >> 4) << (j + 16);
        }
        store_qh(y[b].qh, qh);
    }
}

// Q8_0: d = max|x| / 127, q = roundf(x/d) (bit-exact with ggml's reference).
inline void quantize_row_q8_0(const float* x, block_q8_0* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_f16(d);
        for (int j = 0; j < 32; ++j) y[b].qs[j] = static_cast<std::int8_t>(detail::round_away(x[j] * id));
    }
}

// Q8_1: as Q8_0 plus s = d * sum(q) (the block sum that dot products with offset formats need).
inline void quantize_row_q8_1(const float* x, block_q8_1* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; ++j) {
            const int q = detail::round_away(x[j] * id);
            y[b].qs[j] = static_cast<std::int8_t>(q);
            sum += q;
        }
        y[b].d = f32_to_f16(d);
        y[b].s = f32_to_f16(d * static_cast<float>(sum));
    }
}

// --- K-quant scale packing ------------------------------------------------------------------------------

// Q4_K/Q5_K: 8 six-bit scales and 8 six-bit mins in 12 bytes. Bytes 0-3 hold scale 0-3 (low 6 bits) and
// the top 2 bits of scale 4-7; bytes 4-7 the same for the mins; bytes 8-11 the low nibbles of scale 4-7
// (low half) and min 4-7 (high half).
inline void unpack_scale_min_k4(const std::uint8_t* s, int j, int* scale, int* min) {
    if (j < 4) {
        *scale = s[j] & 63;
        *min = s[j + 4] & 63;
    } else {
        *scale = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
        *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

inline void pack_scale_min_k4(const int* scales, const int* mins, std::uint8_t* s) {
    for (int j = 0; j < 4; ++j) {
        s[j] = static_cast<std::uint8_t>((scales[j] & 63) | ((scales[j + 4] >> 4) << 6));
        s[j + 4] = static_cast<std::uint8_t>((mins[j] & 63) | ((mins[j + 4] >> 4) << 6));
        s[j + 8] = static_cast<std::uint8_t>((scales[j + 4] & 0xf) | ((mins[j + 4] & 0xf) << 4));
    }
}

// Q3_K: 16 six-bit scales (stored biased by 32) in 12 bytes. Scale k: low nibble is the low (k < 8) or
// high (k >= 8) nibble of byte k % 8; the top 2 bits are bits 2*(k/4)..+1 of byte 8 + k % 4.
inline int unpack_scale_q3_k(const std::uint8_t* s, int k) {
    const int lo = (k < 8 ? s[k] : s[k - 8] >> 4) & 0xf;
    const int hi = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

inline void pack_scales_q3_k(const int* scales /* 16, -32..31 */, std::uint8_t* s) {
    std::memset(s, 0, k_scale_bytes);
    for (int k = 0; k < 16; ++k) {
        const int u = scales[k] + 32;
        s[k % 8] = static_cast<std::uint8_t>(s[k % 8] | ((u & 0xf) << (k < 8 ? 0 : 4)));
        s[8 + k % 4] = static_cast<std::uint8_t>(s[8 + k % 4] | (((u >> 4) & 3) << (2 * (k / 4))));
    }
}

// --- K-quant formats -----------------------------------------------------------------------------------
// 256-element super-blocks. With g = j / 128, r = j % 128 and l = j % 32:
//   Q2_K  2 bits of q: bits 2*(r/32) of qs[32*g + l]; scale/min byte j / 16.
//   Q3_K  low 2 bits as Q2_K; bit j / 32 of hmask[l] set means no -4 offset; scale j / 16.
//   Q4_K  nibble (j / 32) % 2 of qs[32*(j/64) + l]; scale/min j / 32.
//   Q5_K  Q4_K's nibble plus bit j / 32 of qh[l] as the 5th bit.
//   Q6_K  nibble (r / 64) of ql[64*g + r % 64], high 2 bits at bits 2*(r/32) of qh[32*g + l]; scale j / 16.

inline void dequantize_row_q2_k(const block_q2_k* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
        for (int j = 0; j < 256; ++j) {
            const int g = j / 128, r = j % 128, l = j % 32;
            const int q = (x[b].qs[32 * g + l] >> (2 * (r / 32))) & 3;
            const std::uint8_t sc = x[b].scales[j / 16];
            y[j] = d * static_cast<float>(sc & 0xf) * static_cast<float>(q) - dmin * static_cast<float>(sc >> 4);
        }
    }
}

inline void dequantize_row_q3_k(const block_q3_k* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32(x[b].d);
        float dl[16];
        for (int k = 0; k < 16; ++k) dl[k] = d * static_cast<float>(unpack_scale_q3_k(x[b].scales, k));
        for (int j = 0; j < 256; ++j) {
            const int g = j / 128, r = j % 128, l = j % 32;
            const int lo = (x[b].qs[32 * g + l] >> (2 * (r / 32))) & 3;
            const int h = (x[b].hmask[l] >> (j / 32)) & 1;
            y[j] = dl[j / 16] * static_cast<float>(lo - (h ? 0 : 4));
        }
    }
}

inline void dequantize_row_q4_k(const block_q4_k* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
        for (int s = 0; s < 8; ++s) {
            int sc, mn;
            unpack_scale_min_k4(x[b].scales, s, &sc, &mn);
            const float ds = d * static_cast<float>(sc), ms = dmin * static_cast<float>(mn);
            const std::uint8_t* q = x[b].qs + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            for (int l = 0; l < 32; ++l) y[32 * s + l] = ds * static_cast<float>((q[l] >> shift) & 0xf) - ms;
        }
    }
}

inline void dequantize_row_q5_k(const block_q5_k* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32(x[b].d), dmin = f16_to_f32(x[b].dmin);
        for (int s = 0; s < 8; ++s) {
            int sc, mn;
            unpack_scale_min_k4(x[b].scales, s, &sc, &mn);
            const float ds = d * static_cast<float>(sc), ms = dmin * static_cast<float>(mn);
            const std::uint8_t* q = x[b].qs + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            for (int l = 0; l < 32; ++l) {
                const int v = ((q[l] >> shift) & 0xf) | (((x[b].qh[l] >> s) & 1) << 4);
                y[32 * s + l] = ds * static_cast<float>(v) - ms;
            }
        }
    }
}

inline void dequantize_row_q6_k(const block_q6_k* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < 256; ++j) {
            const int g = j / 128, r = j % 128, l = j % 32;
            const int lo = (x[b].ql[64 * g + r % 64] >> (4 * (r / 64))) & 0xf;
            const int hi = (x[b].qh[32 * g + l] >> (2 * (r / 32))) & 3;
            y[j] = d * static_cast<float>(x[b].scales[j / 16]) * static_cast<float>((lo | (hi << 4)) - 32);
        }
    }
}

inline void dequantize_row_q8_k(const block_q8_k* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, y += 256)
        for (int j = 0; j < 256; ++j) y[j] = x[b].d * static_cast<float>(x[b].qs[j]);
}

// --- SIMD dequantizers (AVX2) ---------------------------------------------------------------------------
// The panel GEMM (gemm.hpp) dequantizes every weight once per prompt batch; with the scalar loops above
// that was ≈ 14 % of prefill time on a Q4_K_M file (perf, 2026-11-30). These produce the same values as
// the scalar references (the same float operations; Q4_K's d·q − m as one fused multiply-subtract, which
// the scalar loop also gets under -ffp-contract=fast: within 1 ulp).
#if NOGGIN_SIMD_AVX2
namespace detail {
// 8 bytes (unsigned or signed) at p → 8 floats.
inline __m256 u8x8_to_ps(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }
inline __m256 s8x8_to_ps(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }
// 32 unsigned bytes → y[0..31] = scale · (byte − offset), scale per 16 elements (s0 for 0..15, s1 for 16..31).
inline void store_u8x32_scaled(__m256i u, __m256 offset, __m256 s0, __m256 s1, float* y) {
    const __m128i lo = _mm256_castsi256_si128(u), hi = _mm256_extracti128_si256(u, 1);
    _mm256_storeu_ps(y, _mm256_mul_ps(s0, _mm256_sub_ps(u8x8_to_ps(lo), offset)));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(s0, _mm256_sub_ps(u8x8_to_ps(_mm_srli_si128(lo, 8)), offset)));
    _mm256_storeu_ps(y + 16, _mm256_mul_ps(s1, _mm256_sub_ps(u8x8_to_ps(hi), offset)));
    _mm256_storeu_ps(y + 24, _mm256_mul_ps(s1, _mm256_sub_ps(u8x8_to_ps(_mm_srli_si128(hi, 8)), offset)));
}
}  // namespace detail

inline void dequantize_row_q4_0_avx2(const block_q4_0* x, float* y, std::int64_t n) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256 eight = _mm256_set1_ps(8.0f);
    for (std::int64_t b = 0; b < n / 32; ++b, y += 32) {
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d.bits));
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs));
        const __m256i u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), m4);  // lo nibbles, then hi
        detail::store_u8x32_scaled(u, eight, d, d, y);
    }
}
inline void dequantize_row_q8_0_avx2(const block_q8_0* x, float* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 32; ++b, y += 32) {
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(x[b].d.bits));
        for (int k = 0; k < 4; ++k)
            _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(d, detail::s8x8_to_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x[b].qs + 8 * k)))));
    }
}
inline void dequantize_row_q4_k_avx2(const block_q4_k* x, float* y, std::int64_t n) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (std::int64_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = _cvtsh_ss(x[b].d.bits), dmin = _cvtsh_ss(x[b].dmin.bits);
        for (int s = 0; s < 8; ++s) {
            int sc, mn;
            unpack_scale_min_k4(x[b].scales, s, &sc, &mn);
            const __m256 ds = _mm256_set1_ps(d * static_cast<float>(sc)), ms = _mm256_set1_ps(dmin * static_cast<float>(mn));
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs + 32 * (s / 2)));
            const __m256i u = _mm256_and_si256(s % 2 ? _mm256_srli_epi16(q, 4) : q, m4);
            const __m128i lo = _mm256_castsi256_si128(u), hi = _mm256_extracti128_si256(u, 1);
            float* ys = y + 32 * s;
            _mm256_storeu_ps(ys, _mm256_fmsub_ps(ds, detail::u8x8_to_ps(lo), ms));
            _mm256_storeu_ps(ys + 8, _mm256_fmsub_ps(ds, detail::u8x8_to_ps(_mm_srli_si128(lo, 8)), ms));
            _mm256_storeu_ps(ys + 16, _mm256_fmsub_ps(ds, detail::u8x8_to_ps(hi), ms));
            _mm256_storeu_ps(ys + 24, _mm256_fmsub_ps(ds, detail::u8x8_to_ps(_mm_srli_si128(hi, 8)), ms));
        }
    }
}
inline void dequantize_row_q6_k_avx2(const block_q6_k* x, float* y, std::int64_t n) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(3);
    const __m256 off = _mm256_set1_ps(32.0f);
    for (std::int64_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = _cvtsh_ss(x[b].d.bits);
        for (int g = 0; g < 2; ++g) {
            const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qh + 32 * g));
            for (int c = 0; c < 4; ++c) {  // elements 128g + 32c + l, l = 0..31
                const __m256i l = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].ql + 64 * g + 32 * (c % 2)));
                const __m256i lo = _mm256_and_si256(c / 2 ? _mm256_srli_epi16(l, 4) : l, m4);
                const __m256i hi = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * c)), m3);
                const __m256i u = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                const int si = 8 * g + 2 * c;
                detail::store_u8x32_scaled(u, off, _mm256_set1_ps(d * static_cast<float>(x[b].scales[si])),
                                           _mm256_set1_ps(d * static_cast<float>(x[b].scales[si + 1])), y + 128 * g + 32 * c);
            }
        }
    }
}
#endif  // NOGGIN_SIMD_AVX2

// --- quantizer searches ---------------------------------------------------------------------------------

namespace detail {

// Symmetric levels q in [-nmax, nmax - 1], x ≈ d * q. Tries scales around the one that maps the value of
// largest magnitude to -nmax and keeps the least-squares best. Writes q to L, returns d.
inline float quant_search_sym(int n, int nmax, const float* x, int* L) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
    if (amax < 1e-30f) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.0f;
    }
    float best_is = -static_cast<float>(nmax) / max, best_score = -1.0f;
    for (int step = -9; step <= 9; ++step) {
        const float is = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
        float sumlx = 0.0f, suml2 = 0.0f;
        for (int i = 0; i < n; ++i) {
            const float l = static_cast<float>(clampi(round_even(is * x[i]), -nmax, nmax - 1));
            sumlx += l * x[i];
            suml2 += l * l;
        }
        if (suml2 > 0.0f && sumlx * sumlx / suml2 > best_score) best_score = sumlx * sumlx / suml2, best_is = is;
    }
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
        L[i] = clampi(round_even(best_is * x[i]), -nmax, nmax - 1);
        sumlx += static_cast<float>(L[i]) * x[i];
        suml2 += static_cast<float>(L[i] * L[i]);
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Levels q in [0, nmax] with x ≈ d * q - m, m ≥ 0 (the minimum is clipped at 0, as llama.cpp does).
// Tries scales around (nmax / range) and fits d, m by least squares. Returns d, writes m.
inline float quant_search_min(int n, int nmax, const float* x, float* m_out) {
    float mn = x[0], mx = x[0];
    for (int i = 1; i < n; ++i) mn = std::min(mn, x[i]), mx = std::max(mx, x[i]);
    mn = std::min(mn, 0.0f);
    if (mx <= mn) {
        *m_out = -mn;
        return 0.0f;
    }
    float best_d = (mx - mn) / static_cast<float>(nmax), best_m = -mn, best_err = 0.0f;
    for (int i = 0; i < n; ++i) {
        const float l = static_cast<float>(clampi(round_even((x[i] - mn) / best_d), 0, nmax));
        const float e = best_d * l + mn - x[i];
        best_err += e * e;
    }
    for (int step = -10; step <= 10; ++step) {
        const float is = (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (mx - mn);
        float sl = 0.0f, sl2 = 0.0f, sx = 0.0f, slx = 0.0f;
        for (int i = 0; i < n; ++i) {
            const float l = static_cast<float>(clampi(round_even(is * (x[i] - mn)), 0, nmax));
            sl += l, sl2 += l * l, sx += x[i], slx += l * x[i];
        }
        const float det = static_cast<float>(n) * sl2 - sl * sl;
        if (det <= 0.0f) continue;
        float d = (static_cast<float>(n) * slx - sl * sx) / det;
        float mm = (sl2 * sx - sl * slx) / det;  // x ≈ d*l + mm
        if (mm > 0.0f) mm = 0.0f, d = slx / sl2;
        if (d <= 0.0f) continue;
        float err = 0.0f;
        for (int i = 0; i < n; ++i) {
            const float l = static_cast<float>(clampi(round_even(is * (x[i] - mn)), 0, nmax));
            const float e = d * l + mm - x[i];
            err += e * e;
        }
        if (err < best_err) best_err = err, best_d = d, best_m = -mm;
    }
    *m_out = best_m;
    return best_d;
}

// Quantize non-negative sub-block scales to `levels` steps of one super scale; returns it.
inline float quant_scales_unsigned(int n, int levels, const float* v, int* q) {
    float mx = 0.0f;
    for (int i = 0; i < n; ++i) mx = std::max(mx, v[i]);
    const float d = mx / static_cast<float>(levels);
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < n; ++i) q[i] = clampi(round_even(v[i] * id), 0, levels);
    return d;
}

// Quantize signed sub-block scales to [-lo, hi] around the one of largest magnitude mapping to -lo.
inline float quant_scales_signed(int n, int lo, int hi, const float* v, int* q) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; ++i)
        if (std::fabs(v[i]) > amax) amax = std::fabs(v[i]), max = v[i];
    if (amax == 0.0f) {
        for (int i = 0; i < n; ++i) q[i] = 0;
        return 0.0f;
    }
    const float is = -static_cast<float>(lo) / max;
    for (int i = 0; i < n; ++i) q[i] = clampi(round_even(is * v[i]), -lo, hi);
    return 1.0f / is;
}

}  // namespace detail

// Q2_K: per 16 elements q in 0..3 with a 4-bit scale and 4-bit min.
inline void quantize_row_q2_k(const float* x, block_q2_k* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, x += 256) {
        float sc[16], mn[16];
        for (int k = 0; k < 16; ++k) sc[k] = detail::quant_search_min(16, 3, x + 16 * k, &mn[k]);
        int qs[16], qm[16];
        const float d = detail::quant_scales_unsigned(16, 15, sc, qs);
        const float dmin = detail::quant_scales_unsigned(16, 15, mn, qm);
        y[b].d = f32_to_f16(d);
        y[b].dmin = f32_to_f16(dmin);
        const float dq = f16_to_f32(y[b].d), mq = f16_to_f32(y[b].dmin);
        std::memset(y[b].qs, 0, sizeof(y[b].qs));
        for (int k = 0; k < 16; ++k) y[b].scales[k] = static_cast<std::uint8_t>(qs[k] | (qm[k] << 4));
        for (int j = 0; j < 256; ++j) {
            const int k = j / 16;
            const float ds = dq * static_cast<float>(qs[k]), ms = mq * static_cast<float>(qm[k]);
            const int q = ds > 0.0f ? detail::clampi(detail::round_even((x[j] + ms) / ds), 0, 3) : 0;
            const int g = j / 128, r = j % 128, l = j % 32;
            y[b].qs[32 * g + l] = static_cast<std::uint8_t>(y[b].qs[32 * g + l] | (q << (2 * (r / 32))));
        }
    }
}

// Q3_K: per 16 elements q in -4..3 with a signed 6-bit scale.
inline void quantize_row_q3_k(const float* x, block_q3_k* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, x += 256) {
        float sc[16];
        int L[16];
        for (int k = 0; k < 16; ++k) sc[k] = detail::quant_search_sym(16, 4, x + 16 * k, L);
        int qs[16];
        const float d = detail::quant_scales_signed(16, 32, 31, sc, qs);
        y[b].d = f32_to_f16(d);
        pack_scales_q3_k(qs, y[b].scales);
        const float dq = f16_to_f32(y[b].d);
        std::memset(y[b].qs, 0, sizeof(y[b].qs));
        std::memset(y[b].hmask, 0, sizeof(y[b].hmask));
        for (int j = 0; j < 256; ++j) {
            const float ds = dq * static_cast<float>(qs[j / 16]);
            const int q = ds != 0.0f ? detail::clampi(detail::round_even(x[j] / ds), -4, 3) : 0;
            const int u = q + 4;  // 0..7: low 2 bits in qs, bit 2 in hmask
            const int g = j / 128, r = j % 128, l = j % 32;
            y[b].qs[32 * g + l] = static_cast<std::uint8_t>(y[b].qs[32 * g + l] | ((u & 3) << (2 * (r / 32))));
            y[b].hmask[l] = static_cast<std::uint8_t>(y[b].hmask[l] | ((u >> 2) << (j / 32)));
        }
    }
}

namespace detail {
// Shared by Q4_K and Q5_K: per 32 elements levels 0..nmax with 6-bit scale and min. Writes the level of
// every element to L and fills d, dmin, scales of the block.
inline void quantize_k4_common(const float* x, int nmax, f16* d_out, f16* dmin_out, std::uint8_t* scales,
                               int* L) {
    float sc[8], mn[8];
    for (int s = 0; s < 8; ++s) sc[s] = quant_search_min(32, nmax, x + 32 * s, &mn[s]);
    int qs[8], qm[8];
    const float d = quant_scales_unsigned(8, 63, sc, qs);
    const float dmin = quant_scales_unsigned(8, 63, mn, qm);
    *d_out = f32_to_f16(d);
    *dmin_out = f32_to_f16(dmin);
    pack_scale_min_k4(qs, qm, scales);
    const float dq = f16_to_f32(*d_out), mq = f16_to_f32(*dmin_out);
    for (int j = 0; j < 256; ++j) {
        const float ds = dq * static_cast<float>(qs[j / 32]), ms = mq * static_cast<float>(qm[j / 32]);
        L[j] = ds > 0.0f ? clampi(round_even((x[j] + ms) / ds), 0, nmax) : 0;
    }
}
}  // namespace detail

inline void quantize_row_q4_k(const float* x, block_q4_k* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, x += 256) {
        int L[256];
        detail::quantize_k4_common(x, 15, &y[b].d, &y[b].dmin, y[b].scales, L);
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                y[b].qs[32 * c + l] = static_cast<std::uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}

inline void quantize_row_q5_k(const float* x, block_q5_k* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, x += 256) {
        int L[256];
        detail::quantize_k4_common(x, 31, &y[b].d, &y[b].dmin, y[b].scales, L);
        std::memset(y[b].qh, 0, sizeof(y[b].qh));
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                y[b].qs[32 * c + l] =
                    static_cast<std::uint8_t>((L[64 * c + l] & 0xf) | ((L[64 * c + 32 + l] & 0xf) << 4));
        for (int j = 0; j < 256; ++j)
            y[b].qh[j % 32] = static_cast<std::uint8_t>(y[b].qh[j % 32] | ((L[j] >> 4) << (j / 32)));
    }
}

// Q6_K: per 16 elements q in -32..31 with a signed 8-bit scale.
inline void quantize_row_q6_k(const float* x, block_q6_k* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, x += 256) {
        float sc[16];
        int L[256];
        for (int k = 0; k < 16; ++k) sc[k] = detail::quant_search_sym(16, 32, x + 16 * k, L + 16 * k);
        int qs[16];
        const float d = detail::quant_scales_signed(16, 128, 127, sc, qs);
        y[b].d = f32_to_f16(d);
        const float dq = f16_to_f32(y[b].d);
        for (int k = 0; k < 16; ++k) y[b].scales[k] = static_cast<std::int8_t>(qs[k]);
        std::memset(y[b].ql, 0, sizeof(y[b].ql));
        std::memset(y[b].qh, 0, sizeof(y[b].qh));
        for (int j = 0; j < 256; ++j) {
            const float ds = dq * static_cast<float>(qs[j / 16]);
            const int u = (ds != 0.0f ? detail::clampi(detail::round_even(x[j] / ds), -32, 31) : 0) + 32;
            const int g = j / 128, r = j % 128, l = j % 32;
            y[b].ql[64 * g + r % 64] = static_cast<std::uint8_t>(y[b].ql[64 * g + r % 64] | ((u & 0xf) << (4 * (r / 64))));
            y[b].qh[32 * g + l] = static_cast<std::uint8_t>(y[b].qh[32 * g + l] | ((u >> 4) << (2 * (r / 32))));
        }
    }
}

// Q8_K: d = (the value of largest magnitude) / -127, q = round(x/d) clamped to 127; bsums of 16.
inline void quantize_row_q8_k(const float* x, block_q8_k* y, std::int64_t n) {
    for (std::int64_t b = 0; b < n / 256; ++b, x += 256) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 256; ++j)
            if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
        if (amax == 0.0f) {
            y[b].d = 0.0f;
            std::memset(y[b].qs, 0, sizeof(y[b].qs));
            std::memset(y[b].bsums, 0, sizeof(y[b].bsums));
            continue;
        }
        const float is = -127.0f / max;
        for (int j = 0; j < 256; ++j)
            y[b].qs[j] = static_cast<std::int8_t>(std::min(127, detail::round_even(is * x[j])));
        for (int k = 0; k < 16; ++k) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += y[b].qs[16 * k + l];
            y[b].bsums[k] = static_cast<std::int16_t>(s);
        }
        y[b].d = 1.0f / is;
    }
}

// --- dispatch by dtype ------------------------------------------------------------------------------------

// Element storage of the float dtypes under the block names the X-macro dispatch expects.
using block_f32 = float;
using block_f16 = f16;
using block_bf16 = bf16;

inline void dequantize_row_f32(const float* x, float* y, std::int64_t n) {
    std::memcpy(y, x, static_cast<std::size_t>(n) * sizeof(float));
}
inline void dequantize_row_f16(const f16* x, float* y, std::int64_t n) { f16_to_f32_row(x, y, n); }
inline void dequantize_row_bf16(const bf16* x, float* y, std::int64_t n) { bf16_to_f32_row(x, y, n); }
inline void quantize_row_f32(const float* x, float* y, std::int64_t n) {
    std::memcpy(y, x, static_cast<std::size_t>(n) * sizeof(float));
}
inline void quantize_row_f16(const float* x, f16* y, std::int64_t n) { f32_to_f16_row(x, y, n); }
inline void quantize_row_bf16(const float* x, bf16* y, std::int64_t n) { f32_to_bf16_row(x, y, n); }

// Dequantize `n` elements (a whole number of blocks) of type `t` at `src` into `dst`.
// Returns false (writing nothing) when n is not a whole number of blocks.
inline bool dequantize_row(dtype t, const void* src, float* dst, std::int64_t n) {
    if (n < 0 || n % dtype_info(t).block_elements != 0) return false;
#if NOGGIN_SIMD_AVX2
    switch (t) {
        case dtype::q4_0: dequantize_row_q4_0_avx2(static_cast<const block_q4_0*>(src), dst, n); return true;
        case dtype::q8_0: dequantize_row_q8_0_avx2(static_cast<const block_q8_0*>(src), dst, n); return true;
        case dtype::q4_k: dequantize_row_q4_k_avx2(static_cast<const block_q4_k*>(src), dst, n); return true;
        case dtype::q6_k: dequantize_row_q6_k_avx2(static_cast<const block_q6_k*>(src), dst, n); return true;
        default: break;
    }
#endif
    switch (t) {
#define NOGGIN_CPU_DEQ(e, id, nm, be, bb) \
    case dtype::e: dequantize_row_##e(static_cast<const block_##e*>(src), dst, n); return true;
        NOGGIN_DTYPE_LIST(NOGGIN_CPU_DEQ)
#undef NOGGIN_CPU_DEQ
    }
    return false;
}

// Quantize `n` floats (a whole number of blocks) into type `t` at `dst`. Every dtype is supported.
// Returns false (writing nothing) when n is not a whole number of blocks.
inline bool quantize_row(dtype t, const float* src, void* dst, std::int64_t n) {
    if (n < 0 || n % dtype_info(t).block_elements != 0) return false;
    switch (t) {
#define NOGGIN_CPU_QUANT(e, id, nm, be, bb) \
    case dtype::e: quantize_row_##e(src, static_cast<block_##e*>(dst), n); return true;
        NOGGIN_DTYPE_LIST(NOGGIN_CPU_QUANT)
#undef NOGGIN_CPU_QUANT
    }
    return false;
}

}  // namespace cpu
}  // namespace noggin
