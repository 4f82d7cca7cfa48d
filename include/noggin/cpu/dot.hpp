// noggin/cpu/dot.hpp — dot product of one weight row (any dtype) with one activation column.
//
//     const noggin::dtype act = noggin::cpu::vec_dot_type(noggin::dtype::q4_k);   // q8_k
//     std::vector<noggin::block_q8_k> xq(k / 256);
//     noggin::cpu::quantize_activations(act, x, xq.data(), k);                  // once per column
//     noggin::cpu::vec_dot_fn dot = noggin::cpu::vec_dot_function(noggin::dtype::q4_k);
//     float y_r = dot(k, w.row(r), xq.data());                                  // per row
//
// Sections: activation formats · scalar references · SIMD helpers (AVX2) · float dots (xsimd) ·
//           32-element quant dots (AVX2; Q4_0 with AVX-512) · F16 and Q8_0 dots with AVX-512 ·
//           K-quant dots (AVX2) · dispatch tables
//
// Activations come in the format vec_dot_type() names: f32 for the float weights (F32, F16, BF16),
// Q8_1 for every 32-element format (its block sum `s` turns the offsets of Q4_0/Q5_0 and the minimum of
// Q4_1/Q5_1 into one multiply-add per block, so unsigned quants go straight into maddubs), and Q8_K
// for the K-quants (its 16-element sums `bsums` do the same for mins and offsets).
//
// Each dtype has a scalar reference `vec_dot_<type>_ref` (exact integer sums per block, then float
// scales) and, when NOGGIN_SIMD_AVX2, a SIMD version `vec_dot_<type>_avx2`. Float dots use xsimd;
// the int8 dots use AVX2 intrinsics (maddubs/madd), which xsimd does not have. They differ from the
// reference only by float summation order and, for the *_0/*_1 formats, by the f16 rounding of the
// activation block sum `s` (relative error ≤ 2^-11 of that term).
//
// `n` is the row length in elements: a whole number of blocks for the block formats, any n ≥ 0 for
// the float formats. Weights and activations need no alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../core/config.hpp"
#include "../core/dtype.hpp"
#include "../core/half.hpp"
#include "quants.hpp"

#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
#include <xsimd/xsimd.hpp>
#endif
#if NOGGIN_SIMD_AVX2
#include <immintrin.h>
#endif

namespace noggin {
namespace cpu {

// --- activation formats -----------------------------------------------------------------------------

// The format activations must be in for a dot product with weights of type `w`.
inline dtype vec_dot_type(dtype w) {
    switch (w) {
        case dtype::f32:
        case dtype::f16:
        case dtype::bf16: return dtype::f32;
        case dtype::q4_0:
        case dtype::q4_1:
        case dtype::q5_0:
        case dtype::q5_1:
        case dtype::q8_0:
        case dtype::q8_1: return dtype::q8_1;
        case dtype::q2_k:
        case dtype::q3_k:
        case dtype::q4_k:
        case dtype::q5_k:
        case dtype::q6_k:
        case dtype::q8_k: return dtype::q8_k;
    }
    return dtype::f32;
}

// Convert `n` floats into activation format `act` (one of vec_dot_type's results). Same result as
// quantize_row; fast paths for Q8_1 and Q8_K where SIMD is compiled.
inline bool quantize_activations(dtype act, const float* x, void* out, std::int64_t n);

// --- scalar references -------------------------------------------------------------------------------

inline float vec_dot_f32_ref(std::int64_t n, const void* w, const void* x) {
    const float* a = static_cast<const float*>(w);
    const float* b = static_cast<const float*>(x);
    double s = 0.0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
    return static_cast<float>(s);
}
inline float vec_dot_f16_ref(std::int64_t n, const void* w, const void* x) {
    const f16* a = static_cast<const f16*>(w);
    const float* b = static_cast<const float*>(x);
    double s = 0.0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(f16_to_f32(a[i])) * b[i];
    return static_cast<float>(s);
}
inline float vec_dot_bf16_ref(std::int64_t n, const void* w, const void* x) {
    const bf16* a = static_cast<const bf16*>(w);
    const float* b = static_cast<const float*>(x);
    double s = 0.0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(bf16_to_f32(a[i])) * b[i];
    return static_cast<float>(s);
}

namespace detail {
// Integer quants of element j of a 32-element block (offset not applied).
inline int q4_at(const std::uint8_t* qs, int j) { return j < 16 ? qs[j] & 0xf : qs[j - 16] >> 4; }
inline int q5_at(const std::uint8_t* qs, std::uint32_t qh, int j) {
    return q4_at(qs, j) | static_cast<int>(((qh >> j) & 1u) << 4);
}
}  // namespace detail

inline float vec_dot_q4_0_ref(std::int64_t n, const void* w, const void* x) {
    const block_q4_0* a = static_cast<const block_q4_0*>(w);
    const block_q8_1* b = static_cast<const block_q8_1*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 32; ++i) {
        // Low and high nibbles in separate terms: g++ 12 -O2 -march=native (AVX-512) miscompiled the
        // single 32-step loop over q4_at(...) - 8 (wrong sums; seen 2026-11-30).
        int s = 0;
        for (int j = 0; j < 16; ++j)
            s += ((a[i].qs[j] & 0xf) - 8) * b[i].qs[j] + ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
        sum += f16_to_f32(a[i].d) * f16_to_f32(b[i].d) * static_cast<float>(s);
    }
    return sum;
}
inline float vec_dot_q4_1_ref(std::int64_t n, const void* w, const void* x) {
    const block_q4_1* a = static_cast<const block_q4_1*>(w);
    const block_q8_1* b = static_cast<const block_q8_1*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 32; ++i) {
        int s = 0, sx = 0;
        for (int j = 0; j < 32; ++j) s += detail::q4_at(a[i].qs, j) * b[i].qs[j], sx += b[i].qs[j];
        const float dx = f16_to_f32(b[i].d);
        sum += f16_to_f32(a[i].d) * dx * static_cast<float>(s) + f16_to_f32(a[i].m) * dx * static_cast<float>(sx);
    }
    return sum;
}
inline float vec_dot_q5_0_ref(std::int64_t n, const void* w, const void* x) {
    const block_q5_0* a = static_cast<const block_q5_0*>(w);
    const block_q8_1* b = static_cast<const block_q8_1*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 32; ++i) {
        const std::uint32_t qh = load_qh(a[i].qh);
        int s = 0;
        for (int j = 0; j < 32; ++j) s += (detail::q5_at(a[i].qs, qh, j) - 16) * b[i].qs[j];
        sum += f16_to_f32(a[i].d) * f16_to_f32(b[i].d) * static_cast<float>(s);
    }
    return sum;
}
inline float vec_dot_q5_1_ref(std::int64_t n, const void* w, const void* x) {
    const block_q5_1* a = static_cast<const block_q5_1*>(w);
    const block_q8_1* b = static_cast<const block_q8_1*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 32; ++i) {
        const std::uint32_t qh = load_qh(a[i].qh);
        int s = 0, sx = 0;
        for (int j = 0; j < 32; ++j) s += detail::q5_at(a[i].qs, qh, j) * b[i].qs[j], sx += b[i].qs[j];
        const float dx = f16_to_f32(b[i].d);
        sum += f16_to_f32(a[i].d) * dx * static_cast<float>(s) + f16_to_f32(a[i].m) * dx * static_cast<float>(sx);
    }
    return sum;
}
inline float vec_dot_q8_0_ref(std::int64_t n, const void* w, const void* x) {
    const block_q8_0* a = static_cast<const block_q8_0*>(w);
    const block_q8_1* b = static_cast<const block_q8_1*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 32; ++i) {
        int s = 0;
        for (int j = 0; j < 32; ++j) s += a[i].qs[j] * b[i].qs[j];
        sum += f16_to_f32(a[i].d) * f16_to_f32(b[i].d) * static_cast<float>(s);
    }
    return sum;
}
inline float vec_dot_q8_1_ref(std::int64_t n, const void* w, const void* x) {
    const block_q8_1* a = static_cast<const block_q8_1*>(w);
    const block_q8_1* b = static_cast<const block_q8_1*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 32; ++i) {
        int s = 0;
        for (int j = 0; j < 32; ++j) s += a[i].qs[j] * b[i].qs[j];
        sum += f16_to_f32(a[i].d) * f16_to_f32(b[i].d) * static_cast<float>(s);
    }
    return sum;
}

inline float vec_dot_q2_k_ref(std::int64_t n, const void* w, const void* x) {
    const block_q2_k* a = static_cast<const block_q2_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 256; ++i) {
        int s = 0, m = 0;
        for (int j = 0; j < 256; ++j) {
            const int q = (a[i].qs[32 * (j / 128) + j % 32] >> (2 * ((j % 128) / 32))) & 3;
            s += (a[i].scales[j / 16] & 0xf) * q * b[i].qs[j];
        }
        for (int g = 0; g < 16; ++g) m += (a[i].scales[g] >> 4) * b[i].bsums[g];
        sum += b[i].d * (f16_to_f32(a[i].d) * static_cast<float>(s) - f16_to_f32(a[i].dmin) * static_cast<float>(m));
    }
    return sum;
}
inline float vec_dot_q3_k_ref(std::int64_t n, const void* w, const void* x) {
    const block_q3_k* a = static_cast<const block_q3_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 256; ++i) {
        int sc[16];
        for (int k = 0; k < 16; ++k) sc[k] = unpack_scale_q3_k(a[i].scales, k);
        int s = 0;
        for (int j = 0; j < 256; ++j) {
            const int lo = (a[i].qs[32 * (j / 128) + j % 32] >> (2 * ((j % 128) / 32))) & 3;
            const int h = (a[i].hmask[j % 32] >> (j / 32)) & 1;
            s += sc[j / 16] * (lo - (h ? 0 : 4)) * b[i].qs[j];
        }
        sum += b[i].d * f16_to_f32(a[i].d) * static_cast<float>(s);
    }
    return sum;
}
inline float vec_dot_q4_k_ref(std::int64_t n, const void* w, const void* x) {
    const block_q4_k* a = static_cast<const block_q4_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 256; ++i) {
        int s = 0, m = 0;
        for (int c = 0; c < 8; ++c) {
            int sc, mn;
            unpack_scale_min_k4(a[i].scales, c, &sc, &mn);
            int sq = 0;
            for (int l = 0; l < 32; ++l) sq += ((a[i].qs[32 * (c / 2) + l] >> (4 * (c % 2))) & 0xf) * b[i].qs[32 * c + l];
            s += sc * sq;
            m += mn * (b[i].bsums[2 * c] + b[i].bsums[2 * c + 1]);
        }
        sum += b[i].d * (f16_to_f32(a[i].d) * static_cast<float>(s) - f16_to_f32(a[i].dmin) * static_cast<float>(m));
    }
    return sum;
}
inline float vec_dot_q5_k_ref(std::int64_t n, const void* w, const void* x) {
    const block_q5_k* a = static_cast<const block_q5_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 256; ++i) {
        int s = 0, m = 0;
        for (int c = 0; c < 8; ++c) {
            int sc, mn;
            unpack_scale_min_k4(a[i].scales, c, &sc, &mn);
            int sq = 0;
            for (int l = 0; l < 32; ++l) {
                const int q = ((a[i].qs[32 * (c / 2) + l] >> (4 * (c % 2))) & 0xf) | (((a[i].qh[l] >> c) & 1) << 4);
                sq += q * b[i].qs[32 * c + l];
            }
            s += sc * sq;
            m += mn * (b[i].bsums[2 * c] + b[i].bsums[2 * c + 1]);
        }
        sum += b[i].d * (f16_to_f32(a[i].d) * static_cast<float>(s) - f16_to_f32(a[i].dmin) * static_cast<float>(m));
    }
    return sum;
}
inline float vec_dot_q6_k_ref(std::int64_t n, const void* w, const void* x) {
    const block_q6_k* a = static_cast<const block_q6_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 256; ++i) {
        int s = 0;
        for (int j = 0; j < 256; ++j) {
            const int g = j / 128, r = j % 128, l = j % 32;
            const int lo = (a[i].ql[64 * g + r % 64] >> (4 * (r / 64))) & 0xf;
            const int hi = (a[i].qh[32 * g + l] >> (2 * (r / 32))) & 3;
            s += a[i].scales[j / 16] * ((lo | (hi << 4)) - 32) * b[i].qs[j];
        }
        sum += b[i].d * f16_to_f32(a[i].d) * static_cast<float>(s);
    }
    return sum;
}
inline float vec_dot_q8_k_ref(std::int64_t n, const void* w, const void* x) {
    const block_q8_k* a = static_cast<const block_q8_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    float sum = 0.0f;
    for (std::int64_t i = 0; i < n / 256; ++i) {
        int s = 0;
        for (int j = 0; j < 256; ++j) s += a[i].qs[j] * b[i].qs[j];
        sum += a[i].d * b[i].d * static_cast<float>(s);
    }
    return sum;
}

#if NOGGIN_SIMD_AVX2
// --- SIMD helpers (AVX2) -------------------------------------------------------------------------------

// Which vpdpbusd (u8 × s8 → int32, 4 products per lane, no intermediate saturation) the host's flags
// enable: 256-bit through AVX-512 VNNI + VL or AVX-VNNI, 512-bit through AVX-512 VNNI. NOGGIN_NO_VNNI
// turns both off (maddubs + madd instead).
#if defined(__AVX512VNNI__) && defined(__AVX512VL__) && !defined(NOGGIN_NO_VNNI)
#define NOGGIN_CPU_VNNI256 1
#elif defined(__AVXVNNI__) && !defined(NOGGIN_NO_VNNI)
#define NOGGIN_CPU_VNNI256 2
#else
#define NOGGIN_CPU_VNNI256 0
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && !defined(NOGGIN_NO_VNNI)
#define NOGGIN_CPU_VNNI512 1
#else
#define NOGGIN_CPU_VNNI512 0
#endif

namespace avx2 {

#if NOGGIN_CPU_VNNI256
// acc + Σ u8 × s8 per int32 lane (4 products each), exact in int32.
inline __m256i dpbusd(__m256i acc, __m256i u, __m256i s) {
#if NOGGIN_CPU_VNNI256 == 1
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    return _mm256_dpbusd_avx_epi32(acc, u, s);
#endif
}
#endif

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}
inline float half(f16 h) { return _cvtsh_ss(h.bits); }
inline __m256i loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
// 16 bytes of packed nibbles → 32 bytes 0..15: low nibbles in bytes 0..15, high nibbles in 16..31.
inline __m256i nibbles(const std::uint8_t* qs) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}
// 32 bits → 32 bytes: 0x10 where bit j of `bits` is set, else 0.
inline __m256i bits_to_0x10(std::uint32_t bits) {
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuf);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}
// Σ u8 × s8 in 8 int32 lanes (u ≤ 127 keeps maddubs from saturating with any s8). Where the host's
// flags enable AVX-VNNI (or AVX-512 VNNI + VL) one vpdpbusd does both steps; with u ≤ 127 the int16 pair
// sums cannot saturate, so the result is the same bits.
inline __m256i dot_us(__m256i u, __m256i s) {
#if NOGGIN_CPU_VNNI256
    return dpbusd(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}
// Σ s8 × s8 in 8 int32 lanes (neither side may be -128).
inline __m256i dot_ss(__m256i a, __m256i b) { return dot_us(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a)); }

}  // namespace avx2
#endif  // NOGGIN_SIMD_AVX2

// --- float dots (xsimd) --------------------------------------------------------------------------------

#if NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
namespace simd {
// The architecture is named, not xsimd's default: with -march=native on an AVX-512 host the default
// batch is 16 floats wide, while these kernels are written for 8-wide AVX2 registers.
#if NOGGIN_SIMD_AVX2
using arch = xsimd::fma3<xsimd::avx2>;
#else
using arch = xsimd::neon64;
#endif
using fbatch = xsimd::batch<float, arch>;
constexpr std::int64_t fwidth = static_cast<std::int64_t>(fbatch::size);

// Widen `fwidth` 16-bit floats to a batch.
inline fbatch load_f16(const f16* p) {
#if NOGGIN_SIMD_AVX2
    return fbatch(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#else
    alignas(64) float t[fwidth];
    for (std::int64_t i = 0; i < fwidth; ++i) t[i] = f16_to_f32(p[i]);
    return fbatch::load_aligned(t);
#endif
}
inline fbatch load_bf16(const bf16* p) {
#if NOGGIN_SIMD_AVX2
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return fbatch(_mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
#else
    alignas(64) float t[fwidth];
    for (std::int64_t i = 0; i < fwidth; ++i) t[i] = bf16_to_f32(p[i]);
    return fbatch::load_aligned(t);
#endif
}
inline fbatch load_f32(const float* p) { return fbatch::load_unaligned(p); }

// Four independent accumulators hide the FMA latency; the tail is scalar.
template <class W, class Load, class Scalar>
inline float dot_float(std::int64_t n, const W* a, const float* b, Load load, Scalar scalar) {
    fbatch s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
    std::int64_t i = 0;
    for (; i + 4 * fwidth <= n; i += 4 * fwidth) {
        s0 = xsimd::fma(load(a + i), fbatch::load_unaligned(b + i), s0);
        s1 = xsimd::fma(load(a + i + fwidth), fbatch::load_unaligned(b + i + fwidth), s1);
        s2 = xsimd::fma(load(a + i + 2 * fwidth), fbatch::load_unaligned(b + i + 2 * fwidth), s2);
        s3 = xsimd::fma(load(a + i + 3 * fwidth), fbatch::load_unaligned(b + i + 3 * fwidth), s3);
    }
    for (; i + fwidth <= n; i += fwidth) s0 = xsimd::fma(load(a + i), fbatch::load_unaligned(b + i), s0);
    float sum = xsimd::hadd((s0 + s1) + (s2 + s3));
    for (; i < n; ++i) sum += scalar(a[i]) * b[i];
    return sum;
}
}  // namespace simd

inline float vec_dot_f32_simd(std::int64_t n, const void* w, const void* x) {
    return simd::dot_float(n, static_cast<const float*>(w), static_cast<const float*>(x), simd::load_f32,
                           [](float v) { return v; });
}
inline float vec_dot_f16_simd(std::int64_t n, const void* w, const void* x) {
    return simd::dot_float(n, static_cast<const f16*>(w), static_cast<const float*>(x), simd::load_f16,
                           [](f16 v) { return f16_to_f32(v); });
}
inline float vec_dot_bf16_simd(std::int64_t n, const void* w, const void* x) {
    return simd::dot_float(n, static_cast<const bf16*>(w), static_cast<const float*>(x), simd::load_bf16,
                           [](bf16 v) { return bf16_to_f32(v); });
}
#endif  // NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON

#if NOGGIN_SIMD_AVX2
// --- 32-element quant dots (AVX2) ------------------------------------------------------------------------
// Per block: one maddubs + madd on unsigned quants, one float FMA by d_w·d_x; the offset (−8, −16) or the
// minimum m enters through the activation block sum s = d_x·Σq_x as one scalar multiply-add per block.

namespace detail {
// Four f16 values as floats: one f16→f32 conversion for all four. They are packed into a 64-bit integer
// (scalar loads, shifts and ors, which run on the integer pipes beside the vector work) and moved over
// once, rather than inserted lane by lane (_mm_setr_epi16: one vector insert each): the Q8_0 decode dot ran
// 14 % faster from L2 that way (50.3 → 57.4 GB/s, 1 thread, 1536-element rows), with the same values.
inline __m128 halves4(std::uint16_t h0, std::uint16_t h1, std::uint16_t h2, std::uint16_t h3) {
    const std::uint64_t v = std::uint64_t{h0} | std::uint64_t{h1} << 16 | std::uint64_t{h2} << 32 | std::uint64_t{h3} << 48;
    return _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(&v)));
}
// Scales (d) or minimums (m) of 4 consecutive blocks as floats.
template <class Block>
inline __m128 load_d4(const Block* a) {
    return halves4(a[0].d.bits, a[1].d.bits, a[2].d.bits, a[3].d.bits);
}
template <class Block>
inline __m128 load_m4(const Block* a) {
    return halves4(a[0].m.bits, a[1].m.bits, a[2].m.bits, a[3].m.bits);
}
// d and s of 4 consecutive Q8_1 blocks.
inline void load_ds4(const block_q8_1* b, __m128* d, __m128* s) {
    std::uint32_t w[4];
    for (int k = 0; k < 4; ++k) std::memcpy(&w[k], &b[k].d, 4);  // d in the low half, s in the high half
    const __m256 f = _mm256_cvtph_ps(_mm_setr_epi32(static_cast<int>(w[0]), static_cast<int>(w[1]),
                                                    static_cast<int>(w[2]), static_cast<int>(w[3])));
    const __m128 lo = _mm256_castps256_ps128(f), hi = _mm256_extractf128_ps(f, 1);
    *d = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    *s = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
}
// The totals of four 8-lane int32 vectors, as 4 floats.
inline __m128 reduce4(__m256i p0, __m256i p1, __m256i p2, __m256i p3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
    return _mm_cvtepi32_ps(_mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
}
inline float hsum128(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// `sum` plus one block of the *_0/*_1 formats outside the 4-block steps, shared by the 1-row and 4-row
// kernels, which must round identically: every multiply-add is an explicit FMA intrinsic, so the
// compiler's floating-point contraction (-ffp-contract=fast) cannot fuse them differently per call site.
template <class Block, class Quants, class Offset1>
inline float q32_tail_add(float sum, const Block& a, const block_q8_1& b, Quants quants, Offset1 offset1) {
    const __m256i p0 = avx2::dot_us(quants(a), avx2::loadu(b.qs));
    const __m128 main = _mm_set_ss(avx2::half(a.d) * avx2::half(b.d) * static_cast<float>(avx2::hsum_i32(p0)));
    const __m128 t = _mm_fmadd_ss(_mm_set_ss(offset1(a)), _mm_set_ss(avx2::half(b.s)), main);
    return _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(sum), t));
}
template <class Block>
inline float q8_tail_add(float sum, const Block& a, const block_q8_1& b) {
    const __m256i p0 = avx2::dot_ss(avx2::loadu(a.qs), avx2::loadu(b.qs));
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(avx2::half(a.d) * avx2::half(b.d)),
                                      _mm_set_ss(static_cast<float>(avx2::hsum_i32(p0))), _mm_set_ss(sum)));
}

// Shared loop of the *_0/*_1 formats, 4 blocks per step with their scales handled as one vector.
// `quants(block)` yields the unsigned 8-bit quants; `offset4(blocks, d_w)` the 4 floats that multiply s_x
// (−8·d, −16·d, or m); `offset1(block)` the same for one block (the tail).
template <class Block, class Quants, class Offset4, class Offset1>
inline float dot_q32_avx2(std::int64_t n, const Block* a, const block_q8_1* b, Quants quants, Offset4 offset4,
                          Offset1 offset1) {
    __m128 acc = _mm_setzero_ps(), acc_off = _mm_setzero_ps();
    const std::int64_t nb = n / 32;
    std::int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const __m256i p0 = avx2::dot_us(quants(a[i]), avx2::loadu(b[i].qs));
        const __m256i p1 = avx2::dot_us(quants(a[i + 1]), avx2::loadu(b[i + 1].qs));
        const __m256i p2 = avx2::dot_us(quants(a[i + 2]), avx2::loadu(b[i + 2].qs));
        const __m256i p3 = avx2::dot_us(quants(a[i + 3]), avx2::loadu(b[i + 3].qs));
        __m128 dx, sx;
        load_ds4(b + i, &dx, &sx);
        const __m128 dw = load_d4(a + i);
        acc = _mm_fmadd_ps(_mm_mul_ps(dw, dx), reduce4(p0, p1, p2, p3), acc);
        acc_off = _mm_fmadd_ps(offset4(a + i, dw), sx, acc_off);
    }
    float sum = hsum128(_mm_add_ps(acc, acc_off));
    for (; i < nb; ++i) sum = q32_tail_add(sum, a[i], b[i], quants, offset1);
    return sum;
}
}  // namespace detail

// Q4_0 with AVX-512 (BW + VBMI, where the host's flags enable them): 4 blocks per step in 512-bit
// registers. A row's 4 blocks of 16 quant bytes go into one register by four 16-byte loads; the
// activations' 4 blocks are gathered by vpermt2b, once for all rows of the call. Two dot-product steps
// leave block j's partial sums in lanes 4j..4j+3, which are scaled by d_w·d_x expanded to those lanes and
// accumulated in float lanes; the lanes are summed once per row at the end, not once per 4 blocks (the
// AVX2 kernel's reduce4). Measured 2026-11-30 (8960×1536, 1 thread, busy machine): L3-resident 19 → 40
// GB/s; from DRAM the variant that loaded the weights as two overlapping 64-byte loads + vpermt2b was
// slower than the AVX2 kernel (13–15 vs 17.5 GB/s), this one faster (19–23 GB/s), whole-model Q4_0 decode
// at 1 thread 61–88 → 47–56 CPU-ms per token. The 1-row and 4-row kernels are this one template, so
// their results are bit-equal.
#if NOGGIN_SIMD_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__) && !defined(NOGGIN_NO_AVX512)
#define NOGGIN_CPU_Q4_0_512 1
#else
#define NOGGIN_CPU_Q4_0_512 0
#endif

namespace detail {
// How far ahead of its first row a 4-row kernel prefetches (see the 4-row dots below).
inline std::size_t dot4_prefetch_ahead(std::size_t row_stride) { return 4 * row_stride + 4096; }
// That prefetch as one linear stream: each step() touches the cache lines of the next `Bytes` (what one
// step of the kernel reads, rounded up to whole lines), dot4_prefetch_ahead(row_stride) past the rows.
template <std::size_t Bytes>
struct stream_prefetch {
    static constexpr int lines = static_cast<int>((Bytes + 63) / 64);
    const char* p;
    stream_prefetch(const unsigned char* w, std::size_t row_stride)
        : p(reinterpret_cast<const char*>(w) + dot4_prefetch_ahead(row_stride)) {}
    void step() {
        for (int l = 0; l < lines; ++l) _mm_prefetch(p + 64 * l, _MM_HINT_T0);
        p += 64 * lines;
    }
};
}  // namespace detail

#if NOGGIN_CPU_Q4_0_512
namespace detail {
// Permutation indices of the 4-block step.
struct q4_0_x4_index {
    alignas(64) std::uint8_t xq[64];       // vpermt2b: quants 0..15 of 4 Q8_1 blocks (36 bytes apart, from 4)
                                           // out of [0, 128); quants 16..31 with the tables loaded 16 bytes later
    alignas(64) std::uint16_t xds[32];     // vpermt2w: d of the 4 Q8_1 blocks, then their s, out of [0, 128)
    alignas(64) std::uint32_t expand[16];  // vpermps: lane l takes float l / 4
    constexpr q4_0_x4_index() : xq{}, xds{}, expand{} {
        for (int b = 0; b < 4; ++b) {
            for (int j = 0; j < 16; ++j) xq[16 * b + j] = static_cast<std::uint8_t>(4 + 36 * b + j);
            xds[b] = static_cast<std::uint16_t>(18 * b);
            xds[4 + b] = static_cast<std::uint16_t>(18 * b + 1);
        }
        for (int l = 0; l < 16; ++l) expand[l] = static_cast<std::uint32_t>(l / 4);
    }
};
inline constexpr q4_0_x4_index q4_0_x4{};

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }  // (also the index tables)
inline __m128i low128(__m512i v) { return _mm512_maskz_extracti32x4_epi32(0xf, v, 0); }

// R rows (`row_stride` bytes apart) of Q4_0 against one Q8_1 column, out[0..R).
template <int R>
inline void dot_q4_0_512(std::int64_t n, const unsigned char* w, std::size_t row_stride, const block_q8_1* b, float* out) {
    const __m512i ixq = load512(q4_0_x4.xq), ixds = load512(q4_0_x4.xds), iexp = load512(q4_0_x4.expand);
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    // (maskz forms with every lane instead of the plain ones, casts and _mm512_reduce_add_ps: g++ 12 flags
    // the _mm512_undefined_* inside those as uninitialized under -Werror)
    constexpr __mmask16 all16 = 0xffff;
    __m512 acc[R];
    __m128 off[R];
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps(), off[r] = _mm_setzero_ps();
    stream_prefetch<16 * sizeof(block_q4_0)> pf(w, row_stride);
    const std::int64_t nb = n / 32;
    std::int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        if (R == 4) pf.step();
        const unsigned char* xb = reinterpret_cast<const unsigned char*>(b + i);
        const __m512i x0 = load512(xb), x1 = load512(xb + 64);
        const __m512i xlo = _mm512_permutex2var_epi8(x0, ixq, x1);
        const __m512i xhi = _mm512_permutex2var_epi8(load512(xb + 16), ixq, load512(xb + 80));
        const __m256 ds = _mm256_cvtph_ps(low128(_mm512_permutex2var_epi16(x0, ixds, x1)));
        const __m128 dx = _mm256_castps256_ps128(ds), sx = _mm256_extractf128_ps(ds, 1);
        for (int r = 0; r < R; ++r) {
            const unsigned char* a = w + static_cast<std::size_t>(r) * row_stride + static_cast<std::size_t>(i) * sizeof(block_q4_0);
            const block_q4_0* ab = reinterpret_cast<const block_q4_0*>(a);
            __m512i q = _mm512_zextsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ab[0].qs)));
            q = _mm512_inserti32x4(q, _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab[1].qs)), 1);
            q = _mm512_inserti32x4(q, _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab[2].qs)), 2);
            q = _mm512_inserti32x4(q, _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab[3].qs)), 3);
            const __m128 dw = load_d4(ab);
            const __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
#if NOGGIN_CPU_VNNI512
            const __m512i sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xlo), hi, xhi);
#else
            const __m512i ones = _mm512_set1_epi16(1);
            const __m512i sum = _mm512_add_epi32(_mm512_madd_epi16(_mm512_maddubs_epi16(lo, xlo), ones),
                                                 _mm512_madd_epi16(_mm512_maddubs_epi16(hi, xhi), ones));
#endif
            const __m512 scale = _mm512_maskz_permutexvar_ps(all16, iexp, _mm512_zextps128_ps512(_mm_mul_ps(dw, dx)));
            acc[r] = _mm512_fmadd_ps(_mm512_maskz_cvtepi32_ps(all16, sum), scale, acc[r]);
            off[r] = _mm_fmadd_ps(_mm_mul_ps(dw, _mm_set1_ps(-8.0f)), sx, off[r]);
        }
    }
    auto quants = [](const block_q4_0& q) { return avx2::nibbles(q.qs); };
    auto offset1 = [](const block_q4_0& q) { return -8.0f * avx2::half(q.d); };
    for (int r = 0; r < R; ++r) {
        const block_q4_0* a = reinterpret_cast<const block_q4_0*>(w + static_cast<std::size_t>(r) * row_stride);
        const __m512 h = _mm512_add_ps(acc[r], _mm512_maskz_shuffle_f32x4(all16, acc[r], acc[r], 0x4e));  // + other half
        const __m128 q = _mm_add_ps(_mm512_maskz_extractf32x4_ps(0xf, h, 0), _mm512_maskz_extractf32x4_ps(0xf, h, 1));
        float v = hsum128(q) + hsum128(off[r]);
        for (std::int64_t t = i; t < nb; ++t) v = q32_tail_add(v, a[t], b[t], quants, offset1);
        out[r] = v;
    }
}
}  // namespace detail
#endif

inline float vec_dot_q4_0_avx2(std::int64_t n, const void* w, const void* x) {
#if NOGGIN_CPU_Q4_0_512
    float r;
    detail::dot_q4_0_512<1>(n, static_cast<const unsigned char*>(w), 0, static_cast<const block_q8_1*>(x), &r);
    return r;
#endif
    return detail::dot_q32_avx2(
        n, static_cast<const block_q4_0*>(w), static_cast<const block_q8_1*>(x),
        [](const block_q4_0& q) { return avx2::nibbles(q.qs); },
        [](const block_q4_0*, __m128 d) { return _mm_mul_ps(d, _mm_set1_ps(-8.0f)); },
        [](const block_q4_0& q) { return -8.0f * avx2::half(q.d); });
}
inline float vec_dot_q4_1_avx2(std::int64_t n, const void* w, const void* x) {
    return detail::dot_q32_avx2(
        n, static_cast<const block_q4_1*>(w), static_cast<const block_q8_1*>(x),
        [](const block_q4_1& q) { return avx2::nibbles(q.qs); },
        [](const block_q4_1* q, __m128) { return detail::load_m4(q); },
        [](const block_q4_1& q) { return avx2::half(q.m); });
}
inline float vec_dot_q5_0_avx2(std::int64_t n, const void* w, const void* x) {
    return detail::dot_q32_avx2(
        n, static_cast<const block_q5_0*>(w), static_cast<const block_q8_1*>(x),
        [](const block_q5_0& q) { return _mm256_or_si256(avx2::nibbles(q.qs), avx2::bits_to_0x10(load_qh(q.qh))); },
        [](const block_q5_0*, __m128 d) { return _mm_mul_ps(d, _mm_set1_ps(-16.0f)); },
        [](const block_q5_0& q) { return -16.0f * avx2::half(q.d); });
}
inline float vec_dot_q5_1_avx2(std::int64_t n, const void* w, const void* x) {
    return detail::dot_q32_avx2(
        n, static_cast<const block_q5_1*>(w), static_cast<const block_q8_1*>(x),
        [](const block_q5_1& q) { return _mm256_or_si256(avx2::nibbles(q.qs), avx2::bits_to_0x10(load_qh(q.qh))); },
        [](const block_q5_1* q, __m128) { return detail::load_m4(q); },
        [](const block_q5_1& q) { return avx2::half(q.m); });
}

namespace detail {
template <class Block>
inline float dot_q8_avx2(std::int64_t n, const Block* a, const block_q8_1* b) {
    __m128 acc = _mm_setzero_ps();
    const std::int64_t nb = n / 32;
    std::int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const __m256i p0 = avx2::dot_ss(avx2::loadu(a[i].qs), avx2::loadu(b[i].qs));
        const __m256i p1 = avx2::dot_ss(avx2::loadu(a[i + 1].qs), avx2::loadu(b[i + 1].qs));
        const __m256i p2 = avx2::dot_ss(avx2::loadu(a[i + 2].qs), avx2::loadu(b[i + 2].qs));
        const __m256i p3 = avx2::dot_ss(avx2::loadu(a[i + 3].qs), avx2::loadu(b[i + 3].qs));
        __m128 dx, sx;
        load_ds4(b + i, &dx, &sx);
        acc = _mm_fmadd_ps(_mm_mul_ps(load_d4(a + i), dx), reduce4(p0, p1, p2, p3), acc);
    }
    float sum = hsum128(acc);
    for (; i < nb; ++i) sum = q8_tail_add(sum, a[i], b[i]);
    return sum;
}
}  // namespace detail

// --- F16 dot with AVX-512 (where the host's flags enable it) ----------------------------------------------
// AVX-512 F + BW + VL: 16 weights per vcvtph2ps instead of 8, four zmm accumulators per row (64 elements
// per step), the tail through masked loads. A 1-row and a 4-row form share one template (bit-equal); the
// 4-row form prefetches the rows that follow as one linear stream (dot4_prefetch_ahead).
// Measured 2026-11-30 (noggin-bench-kernels --variants, 8960 × 1536, quiet machine): in cache 1 thread
// 62.7 vs 40.9 GB/s for the AVX2 dot; from DRAM both stream the same (2 threads 46–48 GB/s, ≈ 80 % of a
// plain sum over the same bytes), while the 4-row form streams only 40 GB/s (several row streams at once
// against this CPU's prefetchers): decode uses the 1-row form (vec_dot4_function has no F16 entry), which
// for rows of ≥ 4096 elements (down's 8960; its 35 KiB activation row does not stay in L1, and the
// hardware prefetchers stop at each 4 KiB) also prefetches 4 KiB ahead: on huge pages, down's shape, 2
// threads 48 vs 38 GB/s; F16 decode, token-alternating in one process: −1.3 / −2.1 / −2.4 % per token
// (2026-12-01; the same prefetch in the Q8_0 side dot made its decode 3.2–3.6 % slower). A Q8_0
// AVX-512 dot (w ^ 0x80 into vpdpbusd, 2 blocks per zmm) was slower than the AVX2 one both in cache (33.5
// vs 36.6 GB/s) and from DRAM (42.9 vs 46.8) and was removed.
#if NOGGIN_SIMD_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && !defined(NOGGIN_NO_AVX512)
#define NOGGIN_CPU_F16_512 1
#else
#define NOGGIN_CPU_F16_512 0
#endif

#if NOGGIN_CPU_F16_512
namespace detail {
// Σ of the 16 lanes: (lanes 0..7 + 8..15), then hsum128 of the two 128-bit halves' sum. (maskz forms
// instead of casts and _mm512_reduce_add_ps: g++ 12 -Werror flags the _mm512_undefined_* inside those.)
inline float hsum512(__m512 v) {
    constexpr __mmask16 all16 = 0xffff;
    const __m512 h = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(all16, v, v, 0x4e));
    return hsum128(_mm_add_ps(_mm512_maskz_extractf32x4_ps(0xf, h, 0), _mm512_maskz_extractf32x4_ps(0xf, h, 1)));
}
inline __m512 load_f16x16(const f16* p) {
    return _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// R rows of n f16 weights (`row_stride` bytes apart) against n floats, out[0..R). Prefetch: the linear
// prefetch of the following rows (the 4-row form's default).
template <int R, bool Prefetch = (R == 4)>
inline void dot_f16_512(std::int64_t n, const unsigned char* w, std::size_t row_stride, const float* x, float* out) {
    __m512 acc[R][4];
    for (int r = 0; r < R; ++r)
        for (int k = 0; k < 4; ++k) acc[r][k] = _mm512_setzero_ps();
    const f16* a[R];
    for (int r = 0; r < R; ++r) a[r] = reinterpret_cast<const f16*>(w + static_cast<std::size_t>(r) * row_stride);
    stream_prefetch<R * 128> pf(w, row_stride);
    std::int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        if (Prefetch) pf.step();
        const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
        const __m512 x2 = _mm512_loadu_ps(x + i + 32), x3 = _mm512_loadu_ps(x + i + 48);
        for (int r = 0; r < R; ++r) {
            acc[r][0] = _mm512_fmadd_ps(load_f16x16(a[r] + i), x0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(load_f16x16(a[r] + i + 16), x1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(load_f16x16(a[r] + i + 32), x2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(load_f16x16(a[r] + i + 48), x3, acc[r][3]);
        }
    }
    for (; i + 16 <= n; i += 16) {
        const __m512 x0 = _mm512_loadu_ps(x + i);
        for (int r = 0; r < R; ++r) acc[r][0] = _mm512_fmadd_ps(load_f16x16(a[r] + i), x0, acc[r][0]);
    }
    if (i < n) {  // 1..15 elements: masked loads read nothing past the row
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        const __m512 x0 = _mm512_maskz_loadu_ps(m, x + i);
        for (int r = 0; r < R; ++r)
            acc[r][1] = _mm512_fmadd_ps(_mm512_maskz_cvtph_ps(0xffff, _mm256_maskz_loadu_epi16(m, a[r] + i)), x0, acc[r][1]);
    }
    for (int r = 0; r < R; ++r)
        out[r] = hsum512(_mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), _mm512_add_ps(acc[r][2], acc[r][3])));
}
}  // namespace detail

inline float vec_dot_f16_512(std::int64_t n, const void* w, const void* x) {
    float r;
    if (n >= 4096)
        detail::dot_f16_512<1, true>(n, static_cast<const unsigned char*>(w), 0, static_cast<const float*>(x), &r);
    else
        detail::dot_f16_512<1>(n, static_cast<const unsigned char*>(w), 0, static_cast<const float*>(x), &r);
    return r;
}
inline void vec_dot4_f16_512(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out) {
    detail::dot_f16_512<4>(n, static_cast<const unsigned char*>(w), row_stride, static_cast<const float*>(x), out);
}
#endif  // NOGGIN_CPU_F16_512


inline float vec_dot_q8_0_avx2(std::int64_t n, const void* w, const void* x) {
    return detail::dot_q8_avx2(n, static_cast<const block_q8_0*>(w), static_cast<const block_q8_1*>(x));
}
inline float vec_dot_q8_1_avx2(std::int64_t n, const void* w, const void* x) {
    return detail::dot_q8_avx2(n, static_cast<const block_q8_1*>(w), static_cast<const block_q8_1*>(x));
}

// --- Q8_0 decode dot with per-column side data (VNNI) ----------------------------------------------------
// The activation column of a decode step is shared by every row, so what only depends on it is computed
// once per matmul (q8_0_side): per block the float d_x and c = −128·Σq_x. The row kernel then feeds the
// weights to vpdpbusd as w ^ 0x80 (= w + 128 as u8, exact for every int8, −128 included) against the
// signed activation quants, and c takes the 128·Σq_x back out of each block's integer sum: per block 2 loads,
// 1 xor, 1 vpdpbusd instead of 2 loads, 2 vpsignb, 1 vpdpbusd, and per 4 blocks one 16-byte load of d_x
// instead of unpacking 4 Q8_1 headers. The block sums are the same integers as dot_q8_avx2's and the
// float steps are the same operations in the same order, so the result is bit-equal to
// vec_dot_q8_0_avx2 (the tests check it). Only with vpdpbusd: maddubs would saturate (w + 128)·x.
#if NOGGIN_SIMD_AVX2 && NOGGIN_CPU_VNNI256 && !defined(NOGGIN_NO_Q8_0_SIDE)
#define NOGGIN_CPU_Q8_0_SIDE 1
#else
#define NOGGIN_CPU_Q8_0_SIDE 0
#endif

#if NOGGIN_CPU_Q8_0_SIDE
// Side data of nb Q8_1 blocks: c[j] = −128·Σ qs, d[j] = d as float.
inline void q8_0_side(const block_q8_1* x, std::int64_t nb, std::int32_t* c, float* d) {
    for (std::int64_t j = 0; j < nb; ++j) {
        const __m256i q = avx2::loadu(x[j].qs);
        // Σ over bytes of (q ^ 0x80) = Σ (q + 128): four 64-bit partial sums from vpsadbw
        const __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80))), _mm256_setzero_si256());
        const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
        const std::int64_t biased = _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1);
        c[j] = static_cast<std::int32_t>(-128 * (biased - 128 * 32));
        d[j] = avx2::half(x[j].d);
    }
}
inline float vec_dot_q8_0_side(std::int64_t n, const void* w, const void* x, const std::int32_t* c, const float* d) {
    const block_q8_0* a = static_cast<const block_q8_0*>(w);
    const block_q8_1* b = static_cast<const block_q8_1*>(x);
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    __m128 acc = _mm_setzero_ps();
    const std::int64_t nb = n / 32;
    std::int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const __m256i p0 = avx2::dpbusd(_mm256_setzero_si256(), _mm256_xor_si256(avx2::loadu(a[i].qs), flip), avx2::loadu(b[i].qs));
        const __m256i p1 = avx2::dpbusd(_mm256_setzero_si256(), _mm256_xor_si256(avx2::loadu(a[i + 1].qs), flip), avx2::loadu(b[i + 1].qs));
        const __m256i p2 = avx2::dpbusd(_mm256_setzero_si256(), _mm256_xor_si256(avx2::loadu(a[i + 2].qs), flip), avx2::loadu(b[i + 2].qs));
        const __m256i p3 = avx2::dpbusd(_mm256_setzero_si256(), _mm256_xor_si256(avx2::loadu(a[i + 3].qs), flip), avx2::loadu(b[i + 3].qs));
        const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
        const __m128i sums = _mm_add_epi32(_mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)),
                                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i)));
        acc = _mm_fmadd_ps(_mm_mul_ps(detail::load_d4(a + i), _mm_loadu_ps(d + i)), _mm_cvtepi32_ps(sums), acc);
    }
    float sum = detail::hsum128(acc);
    for (; i < nb; ++i) sum = detail::q8_tail_add(sum, a[i], b[i]);
    return sum;
}
#endif

// --- 4-row quant dots (AVX2) ----------------------------------------------------------------------------
// Four consecutive weight rows (`row_stride` bytes apart) against one activation column: the activation
// blocks and their scales are loaded once for the four rows. Each row is summed in exactly the order
// of its 1-row kernel (same per-4-block vectors, same final reduction, same tail), so the results are
// bit-equal to four vec_dot calls.
// Four row streams at once defeat this CPU's hardware prefetcher when the rows come from DRAM
// (measured 2026-11-30, Q4_0 1536-element rows, 1 thread: 4-row 9.4 GB/s vs 1-row 10.2 GB/s; in L2
// 18.1 vs 10.4 GB/s), so the kernel prefetches the rows that follow, as one linear stream running
// dot4_prefetch_ahead(row_stride) bytes ahead of the first row (4-row from DRAM then 17 GB/s).

namespace detail {
// (dot4_prefetch_ahead and stream_prefetch are defined with the Q4_0 AVX-512 kernel above, which uses them too.)

// Per row q: (c0 + c2) + (c1 + c3) of its 4-lane vector t_q, as hsum128 does for one row.
inline __m128 hsum128_x4(__m128 t0, __m128 t1, __m128 t2, __m128 t3) {
    _MM_TRANSPOSE4_PS(t0, t1, t2, t3);  // t_j now holds lane j of the four rows
    return _mm_add_ps(_mm_add_ps(t0, t2), _mm_add_ps(t1, t3));
}

template <class Block, bool Offset, class Partial, class Quants, class Offset4, class Offset1>
inline void dot4_q32_avx2(std::int64_t n, const unsigned char* w, std::size_t row_stride, const block_q8_1* b, float* out,
                          Partial partial, Quants quants, Offset4 offset4, Offset1 offset1) {
    const Block* a0 = reinterpret_cast<const Block*>(w);
    const Block* a1 = reinterpret_cast<const Block*>(w + row_stride);
    const Block* a2 = reinterpret_cast<const Block*>(w + 2 * row_stride);
    const Block* a3 = reinterpret_cast<const Block*>(w + 3 * row_stride);
    stream_prefetch<16 * sizeof(Block)> pf(w, row_stride);
    __m128 acc0 = _mm_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    __m128 off0 = acc0, off1 = acc0, off2 = acc0, off3 = acc0;
    const std::int64_t nb = n / 32;
    std::int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        pf.step();
        const __m256i x0 = avx2::loadu(b[i].qs), x1 = avx2::loadu(b[i + 1].qs);
        const __m256i x2 = avx2::loadu(b[i + 2].qs), x3 = avx2::loadu(b[i + 3].qs);
        __m128 dx, sx;
        load_ds4(b + i, &dx, &sx);
        auto row = [&](const Block* a, __m128& acc, __m128& off) {
            const __m256i p0 = partial(a[i], x0), p1 = partial(a[i + 1], x1);
            const __m256i p2 = partial(a[i + 2], x2), p3 = partial(a[i + 3], x3);
            const __m128 dw = load_d4(a + i);
            acc = _mm_fmadd_ps(_mm_mul_ps(dw, dx), reduce4(p0, p1, p2, p3), acc);
            if (Offset) off = _mm_fmadd_ps(offset4(a + i, dw), sx, off);
        };
        row(a0, acc0, off0);
        row(a1, acc1, off1);
        row(a2, acc2, off2);
        row(a3, acc3, off3);
    }
    if (Offset) {
        acc0 = _mm_add_ps(acc0, off0), acc1 = _mm_add_ps(acc1, off1);
        acc2 = _mm_add_ps(acc2, off2), acc3 = _mm_add_ps(acc3, off3);
    }
    alignas(16) float r[4];
    _mm_store_ps(r, hsum128_x4(acc0, acc1, acc2, acc3));
    for (; i < nb; ++i) {
        if (Offset) {
            r[0] = q32_tail_add(r[0], a0[i], b[i], quants, offset1);
            r[1] = q32_tail_add(r[1], a1[i], b[i], quants, offset1);
            r[2] = q32_tail_add(r[2], a2[i], b[i], quants, offset1);
            r[3] = q32_tail_add(r[3], a3[i], b[i], quants, offset1);
        } else {
            r[0] = q8_tail_add(r[0], a0[i], b[i]);
            r[1] = q8_tail_add(r[1], a1[i], b[i]);
            r[2] = q8_tail_add(r[2], a2[i], b[i]);
            r[3] = q8_tail_add(r[3], a3[i], b[i]);
        }
    }
    for (int q = 0; q < 4; ++q) out[q] = r[q];
}
}  // namespace detail

inline void vec_dot4_q4_0_avx2(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out) {
#if NOGGIN_CPU_Q4_0_512
    detail::dot_q4_0_512<4>(n, static_cast<const unsigned char*>(w), row_stride, static_cast<const block_q8_1*>(x), out);
    return;
#endif
    auto quants = [](const block_q4_0& q) { return avx2::nibbles(q.qs); };
    detail::dot4_q32_avx2<block_q4_0, true>(
        n, static_cast<const unsigned char*>(w), row_stride, static_cast<const block_q8_1*>(x), out,
        [](const block_q4_0& q, __m256i xq) { return avx2::dot_us(avx2::nibbles(q.qs), xq); }, quants,
        [](const block_q4_0*, __m128 d) { return _mm_mul_ps(d, _mm_set1_ps(-8.0f)); },
        [](const block_q4_0& q) { return -8.0f * avx2::half(q.d); });
}
inline void vec_dot4_q8_0_avx2(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out) {
    auto none4 = [](const block_q8_0*, __m128 d) { return d; };
    auto none1 = [](const block_q8_0&) { return 0.0f; };
    auto quants = [](const block_q8_0& q) { return avx2::loadu(q.qs); };
    detail::dot4_q32_avx2<block_q8_0, false>(
        n, static_cast<const unsigned char*>(w), row_stride, static_cast<const block_q8_1*>(x), out,
        [](const block_q8_0& q, __m256i xq) { return avx2::dot_ss(avx2::loadu(q.qs), xq); }, quants, none4, none1);
}

// --- K-quant dots (AVX2) ------------------------------------------------------------------------------------
// Per 32 elements: unsigned quants (0..63) maddubs the Q8_K bytes into 16 int16 pair sums, whose low
// 128-bit lane covers elements 0..15 and high lane 16..31; one madd by the sub-block scales (per lane)
// accumulates int32. Mins and offsets: Σ_g off_g · bsums_g with one madd over the 16 bsums.

namespace detail {
// The 16 signed 6-bit scales of a Q3_K block (unpack_scale_q3_k's values) as bytes, four at a time with
// 32-bit word operations: scale j's low 4 bits are the low (j < 8) or high nibble of byte j % 8, its high
// 2 bits bits 2·(j / 4) of byte 8 + j % 4.
inline __m128i q3_k_scales(const std::uint8_t* s) {
    std::uint32_t w[3];
    std::memcpy(w, s, sizeof w);
    const std::uint32_t low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
    const __m128i u = _mm_setr_epi32(static_cast<int>((w[0] & low4) | ((w[2] & low2) << 4)),
                                     static_cast<int>((w[1] & low4) | (((w[2] >> 2) & low2) << 4)),
                                     static_cast<int>(((w[0] >> 4) & low4) | (((w[2] >> 4) & low2) << 4)),
                                     static_cast<int>(((w[1] >> 4) & low4) | (((w[2] >> 6) & low2) << 4)));
    return _mm_sub_epi8(u, _mm_set1_epi8(32));
}
// The vpshufb control that takes, from 8 int16 values held in both lanes, value 2c into every int16 of the
// low lane and value 2c + 1 into the high lane (c = 0..3).
inline __m256i int16_pair_pick(int c) {
    alignas(32) static const std::uint8_t table[4][32] = {
#define NOGGIN_PAIR_PICK(c)                                                                                        \
    {4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c, 4 * c + 1,  \
     4 * c, 4 * c + 1, 4 * c, 4 * c + 1, 4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3,        \
     4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3, 4 * c + 2, 4 * c + 3}
        NOGGIN_PAIR_PICK(0), NOGGIN_PAIR_PICK(1), NOGGIN_PAIR_PICK(2), NOGGIN_PAIR_PICK(3)};
#undef NOGGIN_PAIR_PICK
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(table[c]));
}
inline __m256i bsums16(const block_q8_k& b) { return avx2::loadu(b.bsums); }
}  // namespace detail

// Q2_K and Q3_K with AVX-512 (BW + VL + VNNI, where the host's flags enable them): the 64 low-2-bit quant
// bytes in one zmm; shift s of it (2 bits) holds elements 32s..32s+31 in its low half and 128+32s.. in its
// high half, so the activations are regrouped once per block (four zmm, shared by every row of the call).
// Q3_K's third bit of those elements is bit s (low half) or 4 + s (high half) of hmask's 32 bytes, loaded
// into both halves: one vptestmb and a masked add of 4 per shift. Per 64 quants one maddubs (unsigned
// 0..7 × s8 pairs: never saturates) and one vpdpwssd with the scales of the four 16-element sub-blocks, one
// per 128-bit lane: Q2_K's 4-bit scale bytes picked by vpshufb; Q3_K's signed 6-bit scales widened to int16
// once (unpacked for 4 rows at once in the 4-row form) and picked by vpermw. Q2_K's mins through the bsums
// as in the AVX2 kernel; Q3_K's −4 offset is one vpmaddwd of its scales by −4·bsums that starts the int32
// sums. Exact int32 sums; the 1-row and 4-row kernels are one template (bit-equal).
// Measured (noggin-bench-kernels --variants --pages huge, 8960 × 1536 and 1536 × 8960), the 4-row forms
// against the AVX2 1-row dots, 1 thread / 2 threads: Q2_K 20–21 / 39–40 GB/s vs 14–15 / 27–28 (2026-11-30);
// Q3_K 21.7–22.7 / 42.6–45.4 vs 13.2–13.3 / 25.3–26.0 (2026-12-01; of that, vectorising the scale unpack
// +2–5 %, vpermw instead of a lane broadcast + vpshufb +5 %, the folded offset +3–5 %, L2-resident and from
// DRAM). The 1-row forms (which regroup the activations for their one row) stream like the AVX2 ones.
#if NOGGIN_CPU_F16_512 && NOGGIN_CPU_VNNI512
#define NOGGIN_CPU_K2_512 1
#else
#define NOGGIN_CPU_K2_512 0
#endif

#if NOGGIN_CPU_K2_512
namespace detail {
// N vpshufb index vectors: byte `byte` of vector t is pick(t, byte) (the K-quant kernels below pick their
// sub-block scales into int16 lanes with them; 0x80 writes a zero byte).
template <int N>
struct shuffle_table {
    alignas(64) std::uint8_t v[N][64];
};
template <int N, class Pick>
constexpr shuffle_table<N> make_shuffle_table(Pick pick) {
    shuffle_table<N> t{};
    for (int i = 0; i < N; ++i)
        for (int byte = 0; byte < 64; ++byte) t.v[i][byte] = static_cast<std::uint8_t>(pick(i, byte));
    return t;
}
// The sub-block whose scale multiplies 128-bit lane `lane` of shift s's products: 2s + lane (lanes 0, 1),
// 8 + 2s + lane − 2 (lanes 2, 3).
constexpr int k2_512_sub_block(int s, int lane) { return lane < 2 ? 2 * s + lane : 8 + 2 * s + lane - 2; }
// Q2_K: vpshufb of the scale bytes (all 16 in every 128-bit lane) into those int16 lanes, zero-extended.
inline constexpr shuffle_table<4> q2_k_512_pick =
    make_shuffle_table<4>([](int s, int byte) { return byte % 2 == 0 ? k2_512_sub_block(s, byte / 16) : 0x80; });
// Q3_K: vpermw word indices into its 16 int16 scales (the low 256 bits).
struct q3_k_512_word_pick_t {
    alignas(64) std::uint16_t v[4][32];
    constexpr q3_k_512_word_pick_t() : v{} {
        for (int s = 0; s < 4; ++s)
            for (int word = 0; word < 32; ++word) v[s][word] = static_cast<std::uint16_t>(k2_512_sub_block(s, word / 8));
    }
};
inline constexpr q3_k_512_word_pick_t q3_k_512_pick{};
// Q3_K's hmask bit of shift s: bit s in the low 256-bit half, 4 + s in the high one.
inline constexpr shuffle_table<4> q3_k_512_hbit =
    make_shuffle_table<4>([](int s, int byte) { return 1 << (byte < 32 ? s : 4 + s); });

// q3_k_scales for 4 blocks at once (the same word operations on the 4 rows' words after a 4 × 4 transpose,
// and back): out[q] = the 16 signed scales of the block whose scale bytes are at s[q].
inline void q3_k_scales4(const std::uint8_t* const s[4], __m128i out[4]) {
    __m128i r[4];
    for (int q = 0; q < 4; ++q) r[q] = _mm_maskz_loadu_epi8(0x0fff, s[q]);
    const __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]), t1 = _mm_unpacklo_epi32(r[2], r[3]);
    const __m128i t2 = _mm_unpackhi_epi32(r[0], r[1]), t3 = _mm_unpackhi_epi32(r[2], r[3]);
    const __m128i w0 = _mm_unpacklo_epi64(t0, t1), w1 = _mm_unpackhi_epi64(t0, t1), w2 = _mm_unpacklo_epi64(t2, t3);
    const __m128i low4 = _mm_set1_epi8(0x0f), low2 = _mm_set1_epi8(0x03);
    auto high2 = [&](int shift) { return _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(w2, shift), low2), 4); };
    // g[j]: scales 4j..4j+3 of rows 0..3, one 32-bit word per row
    const __m128i g0 = _mm_or_si128(_mm_and_si128(w0, low4), high2(0));
    const __m128i g1 = _mm_or_si128(_mm_and_si128(w1, low4), high2(2));
    const __m128i g2 = _mm_or_si128(_mm_and_si128(_mm_srli_epi32(w0, 4), low4), high2(4));
    const __m128i g3 = _mm_or_si128(_mm_and_si128(_mm_srli_epi32(w1, 4), low4), high2(6));
    const __m128i a0 = _mm_unpacklo_epi32(g0, g1), a1 = _mm_unpacklo_epi32(g2, g3);
    const __m128i a2 = _mm_unpackhi_epi32(g0, g1), a3 = _mm_unpackhi_epi32(g2, g3);
    const __m128i c32 = _mm_set1_epi8(32);
    out[0] = _mm_sub_epi8(_mm_unpacklo_epi64(a0, a1), c32);
    out[1] = _mm_sub_epi8(_mm_unpackhi_epi64(a0, a1), c32);
    out[2] = _mm_sub_epi8(_mm_unpacklo_epi64(a2, a3), c32);
    out[3] = _mm_sub_epi8(_mm_unpackhi_epi64(a2, a3), c32);
}

// 32 bytes at lo, then 32 bytes at hi (hi − 32 must be inside the same array): two masked loads. (Masked
// forms here and below: g++ 12 -Werror flags the _mm512_undefined_* inside the plain ones, see hsum512.)
inline __m512i join256(const std::int8_t* lo, const std::int8_t* hi) {
    return _mm512_mask_loadu_epi64(_mm512_maskz_loadu_epi64(0x0f, lo), 0xf0, hi - 32);
}

template <class Block, int R>
inline void dot_k2_512(std::int64_t n, const unsigned char* w, std::size_t row_stride, const block_q8_k* b, float* out) {
    static_assert(R == 1 || R == 4, "1 or 4 rows");
    constexpr bool q3 = std::is_same_v<Block, block_q3_k>;
    static_assert(q3 || std::is_same_v<Block, block_q2_k>, "Q2_K or Q3_K");
    const Block* a[R];
    for (int q = 0; q < R; ++q) a[q] = reinterpret_cast<const Block*>(w + static_cast<std::size_t>(q) * row_stride);
    const __m512i m3 = _mm512_set1_epi8(3), m0f = _mm512_set1_epi8(0x0f), c4 = _mm512_set1_epi8(4);
    __m512i pick[4], hbit[4];
    for (int s = 0; s < 4; ++s) {
        pick[s] = _mm512_load_si512(q3 ? static_cast<const void*>(q3_k_512_pick.v[s]) : static_cast<const void*>(q2_k_512_pick.v[s]));
        hbit[s] = _mm512_load_si512(q3_k_512_hbit.v[s]);
    }
    __m512 acc[R];
    __m256 accm[R];  // Q2_K's mins
    for (int q = 0; q < R; ++q) acc[q] = _mm512_setzero_ps(), accm[q] = _mm256_setzero_ps();
    stream_prefetch<R * sizeof(Block)> pf(w, row_stride);
    for (std::int64_t i = 0; i < n / 256; ++i) {
        if (R == 4) pf.step();
        const std::int8_t* xq = b[i].qs;
        __m512i xs[4];
        for (int s = 0; s < 4; ++s) xs[s] = join256(xq + 32 * s, xq + 128 + 32 * s);
        const __m256i bs = bsums16(b[i]);
        __m128i sc3[4];     // Q3_K: the R rows' scales
        __m512i bs_minus4;  // Q3_K: −4 · bsums in the low 256 bits, so value = scale · (u − 4) is exact in int32
        if constexpr (q3) {
            bs_minus4 = _mm512_maskz_broadcast_i64x4(0x0f, _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(bs, 2)));
            if constexpr (R == 4) {
                const std::uint8_t* const sp[4] = {a[0][i].scales, a[1][i].scales, a[2][i].scales, a[3][i].scales};
                q3_k_scales4(sp, sc3);
            } else {
                sc3[0] = q3_k_scales(a[0][i].scales);
            }
        }
#pragma GCC unroll 4
        for (int q = 0; q < R; ++q) {
            const Block& A = a[q][i];
            const __m512i z = _mm512_loadu_si512(A.qs);
            __m512i scales, hm, sumi;
            if constexpr (q3) {
                scales = _mm512_maskz_broadcast_i64x4(0x0f, _mm256_cvtepi8_epi16(sc3[q]));  // (zero-extended)
                hm = _mm512_maskz_broadcast_i64x4(0xff, avx2::loadu(A.hmask));
                sumi = _mm512_madd_epi16(scales, bs_minus4);
            } else {
                const __m128i sb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(A.scales));
                scales = _mm512_and_si512(_mm512_maskz_broadcast_i32x4(0xffff, sb), m0f);
                sumi = _mm512_setzero_si512();
                const __m256i mins = _mm256_madd_epi16(_mm256_srli_epi16(_mm256_cvtepu8_epi16(sb), 4), bs);
                accm[q] = _mm256_fmadd_ps(_mm256_set1_ps(-(b[i].d * avx2::half(A.dmin))), _mm256_cvtepi32_ps(mins), accm[q]);
            }
            for (int s = 0; s < 4; ++s) {
                __m512i u = _mm512_and_si512(s == 0 ? z : _mm512_srli_epi16(z, 2 * s), m3);
                __m512i sc;
                if constexpr (q3) {
                    u = _mm512_mask_add_epi8(u, _mm512_test_epi8_mask(hm, hbit[s]), u, c4);
                    sc = _mm512_maskz_permutexvar_epi16(0xffffffffu, pick[s], scales);
                } else {
                    sc = _mm512_shuffle_epi8(scales, pick[s]);
                }
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(u, xs[s]), sc);
            }
            acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * avx2::half(A.d)), _mm512_maskz_cvtepi32_ps(0xffff, sumi), acc[q]);
        }
    }
    for (int q = 0; q < R; ++q) out[q] = hsum512(acc[q]) + (q3 ? 0.0f : avx2::hsum(accm[q]));
}
}  // namespace detail

inline void vec_dot4_q2_k_512(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out) {
    detail::dot_k2_512<block_q2_k, 4>(n, static_cast<const unsigned char*>(w), row_stride, static_cast<const block_q8_k*>(x), out);
}
inline void vec_dot4_q3_k_512(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out) {
    detail::dot_k2_512<block_q3_k, 4>(n, static_cast<const unsigned char*>(w), row_stride, static_cast<const block_q8_k*>(x), out);
}
#endif  // NOGGIN_CPU_K2_512

inline float vec_dot_q2_k_avx2(std::int64_t n, const void* w, const void* x) {
#if NOGGIN_CPU_K2_512
    float r;
    detail::dot_k2_512<block_q2_k, 1>(n, static_cast<const unsigned char*>(w), 0, static_cast<const block_q8_k*>(x), &r);
    return r;
#endif
    const block_q2_k* a = static_cast<const block_q2_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (std::int64_t i = 0; i < n / 256; ++i) {
        // 16 scale bytes: low nibble scale, high nibble min, widened to int16.
        const __m128i sb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[i].scales));
        const __m256i s16 = _mm256_cvtepu8_epi16(sb);
        const __m256i sc16 = _mm256_and_si256(s16, _mm256_set1_epi16(0x0f));
        const __m256i mn16 = _mm256_srli_epi16(s16, 4);
        const __m256i msum = _mm256_madd_epi16(mn16, detail::bsums16(b[i]));
        // Scales 0..7 and 8..15 each in both lanes: step c's multipliers are one byte shuffle of one of them.
        const __m256i sc_lo = _mm256_permute2x128_si256(sc16, sc16, 0x00), sc_hi = _mm256_permute2x128_si256(sc16, sc16, 0x11);
        __m256i sumi = _mm256_setzero_si256();
        for (int g = 0; g < 2; ++g) {
            const __m256i q = avx2::loadu(a[i].qs + 32 * g);
            for (int s = 0; s < 4; ++s) {
                const int c = 4 * g + s;
                const __m256i u = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), m3);
                const __m256i p = _mm256_maddubs_epi16(u, avx2::loadu(b[i].qs + 32 * c));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, _mm256_shuffle_epi8(g == 0 ? sc_lo : sc_hi, detail::int16_pair_pick(s))));
            }
        }
        const float d = b[i].d * avx2::half(a[i].d), dm = b[i].d * avx2::half(a[i].dmin);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(-dm), _mm256_cvtepi32_ps(msum), acc);
    }
    return avx2::hsum(acc);
}

inline float vec_dot_q3_k_avx2(std::int64_t n, const void* w, const void* x) {
#if NOGGIN_CPU_K2_512
    float r;
    detail::dot_k2_512<block_q3_k, 1>(n, static_cast<const unsigned char*>(w), 0, static_cast<const block_q8_k*>(x), &r);
    return r;
#endif
    const block_q3_k* a = static_cast<const block_q3_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i m4 = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (std::int64_t i = 0; i < n / 256; ++i) {
        // value = sc · (u − 4) with u = low 2 bits | hmask bit << 2; the −4 goes through bsums.
        const __m256i sc16 = _mm256_cvtepi8_epi16(detail::q3_k_scales(a[i].scales));
        const __m256i osum = _mm256_madd_epi16(sc16, detail::bsums16(b[i]));
        // Scales 0..7 and 8..15 each in both lanes: step c's multipliers are one byte shuffle of one of them.
        const __m256i sc_lo = _mm256_permute2x128_si256(sc16, sc16, 0x00), sc_hi = _mm256_permute2x128_si256(sc16, sc16, 0x11);
        const __m256i hm = avx2::loadu(a[i].hmask);
        __m256i sumi = _mm256_setzero_si256();
        for (int g = 0; g < 2; ++g) {
            const __m256i q = avx2::loadu(a[i].qs + 32 * g);
            for (int s = 0; s < 4; ++s) {
                const int c = 4 * g + s;
                const __m256i lo = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), m3);
                const __m256i hb = _mm256_and_si256(_mm256_srl_epi16(hm, _mm_cvtsi32_si128(c)), _mm256_set1_epi8(1));
                const __m256i u = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 2), m4));
                const __m256i p = _mm256_maddubs_epi16(u, avx2::loadu(b[i].qs + 32 * c));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, _mm256_shuffle_epi8(g == 0 ? sc_lo : sc_hi, detail::int16_pair_pick(s))));
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(osum, 2));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * avx2::half(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return avx2::hsum(acc);
}

namespace detail {
// The 8 six-bit scales and mins of a Q4_K/Q5_K block with 32-bit word operations (see pack_scale_min_k4):
// returns scales 0..7 as int16 in both 128-bit lanes; *mins gets mins 0..7 as int16.
inline __m256i k4_scales(const std::uint8_t* packed, __m128i* mins) {
    std::uint32_t u[3];
    std::memcpy(u, packed, 12);
    const std::uint32_t sc_lo = u[0] & 0x3f3f3f3fu;
    const std::uint32_t sc_hi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    const std::uint32_t mn_lo = u[1] & 0x3f3f3f3fu;
    const std::uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    const __m256i sm16 = _mm256_cvtepu8_epi16(
        _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), static_cast<int>(mn_lo), static_cast<int>(mn_hi)));
    *mins = _mm256_extracti128_si256(sm16, 1);
    return _mm256_broadcastsi128_si256(_mm256_castsi256_si128(sm16));
}
// Σ_j min_j · (bsums[2j] + bsums[2j+1]) in 4 int32 lanes.
inline __m128i k4_min_sums(__m128i mins, const block_q8_k& b) {
    const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.bsums));
    const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.bsums + 8));
    return _mm_madd_epi16(mins, _mm_hadd_epi16(b0, b1));
}
// Broadcast int16 element j (of 8, same in both lanes) to all 16 lanes.
template <int J>
inline __m256i bcast16(__m256i v) {
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16(static_cast<short>((2 * J) | ((2 * J + 1) << 8))));
}
// One 64-element group G of a Q4_K/Q5_K block: quants lo (sub-block 2G) and hi (2G+1), 0..31.
template <int G>
inline __m256i k4_group(__m256i lo, __m256i hi, const std::int8_t* xq, __m256i sc) {
    const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, avx2::loadu(xq + 64 * G)), bcast16<2 * G>(sc));
    const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, avx2::loadu(xq + 64 * G + 32)), bcast16<2 * G + 1>(sc));
    return _mm256_add_epi32(p0, p1);
}
template <int G>
inline __m256i q4k_group(const block_q4_k& a, const std::int8_t* xq, __m256i sc) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i q = avx2::loadu(a.qs + 32 * G);
    return k4_group<G>(_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), xq, sc);
}
template <int G>
inline __m256i q5k_group(const block_q5_k& a, __m256i qh, const std::int8_t* xq, __m256i sc) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i m10 = _mm256_set1_epi8(0x10);
    const __m256i q = avx2::loadu(a.qs + 32 * G);
    // bit 2G of qh → 0x10 of lo; bit 2G+1 → 0x10 of hi
    const __m256i h0 = 2 * G <= 4 ? _mm256_slli_epi16(qh, 4 - 2 * G) : _mm256_srli_epi16(qh, 2 * G - 4);
    const __m256i h1 = 2 * G + 1 <= 4 ? _mm256_slli_epi16(qh, 3 - 2 * G) : _mm256_srli_epi16(qh, 2 * G - 3);
    const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_and_si256(h0, m10));
    const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), _mm256_and_si256(h1, m10));
    return k4_group<G>(lo, hi, xq, sc);
}
}  // namespace detail

namespace detail {
// bsums[2j] + bsums[2j+1], j = 0..7 (the 32-element sums the Q4_K/Q5_K mins multiply).
inline __m128i k4_bsum_pairs(const block_q8_k& b) {
    const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.bsums));
    const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.bsums + 8));
    return _mm_hadd_epi16(b0, b1);
}
// One Q4_K block against Q8_K quants xq: Σ scale·q·x in 8 int32 lanes; *msum = Σ min·bsum pairs (4 lanes).
inline __m256i q4k_block(const block_q4_k& a, const std::int8_t* xq, __m128i bsum_pairs, __m128i* msum) {
    __m128i mins;
    const __m256i sc = k4_scales(a.scales, &mins);
    *msum = _mm_madd_epi16(mins, bsum_pairs);
    const __m256i s01 = _mm256_add_epi32(q4k_group<0>(a, xq, sc), q4k_group<1>(a, xq, sc));
    const __m256i s23 = _mm256_add_epi32(q4k_group<2>(a, xq, sc), q4k_group<3>(a, xq, sc));
    return _mm256_add_epi32(s01, s23);
}
}  // namespace detail

// Q4_K and Q5_K with AVX-512 (BW + VL + VNNI, where the host's flags enable them): a block's 128 quant bytes
// in two zmm (Q5_K: the 5th bits or-ed in, k4_512_quants); each zmm's low nibbles are two sub-blocks 64
// elements apart (its high nibbles the next two), so the activations are regrouped once per block into
// four zmm of matching halves, shared by every row of the call. Per 64 quants one maddubs (u4/u5 × s8
// pairs, at most 2·31·128: never saturates) and one vpdpwssd with the sub-block scales as int16 lanes
// (picked by vpshufb) — exact int32 sums, as the AVX2 kernels'. The 4 rows' d, dmin and packed scales (each
// block's first 16 bytes) are unpacked together: a 4 × 4 transpose of 32-bit words puts one row in each
// lane for pack_scale_min_k4's word operations. The 1-row and 4-row kernels are this one template (the
// 1-row form reads its row four times), so their results are bit-equal.
// Measured 2026-11-30, Q4_K (4-row forms): L2-resident, 1 thread, 28–35 vs 15–24 GB/s for the AVX2 kernel;
// from DRAM on huge pages, 2 threads (noggin-bench-kernels --variants) 59–63 vs 40–44 GB/s.
#if NOGGIN_CPU_K2_512  // the same flags (and join256, defined with the Q2_K kernel)
#define NOGGIN_CPU_Q4_K_512 1
#else
#define NOGGIN_CPU_Q4_K_512 0
#endif

#if NOGGIN_CPU_Q4_K_512
namespace detail {
// Vector 4p + k turns the scale bytes of row parity p (bytes 8p..8p+7 of each 128-bit lane) into the int16
// scales of quant vector k (k = 0: low nibbles of quant bytes 0..63, sub-blocks 0 and 2; 1: their high
// nibbles, 1 and 3; 2 and 3: the same for bytes 64..127, sub-blocks 4/6 and 5/7), one sub-block per
// 256-bit half.
inline constexpr shuffle_table<8> q4_k_512_pick = make_shuffle_table<8>([](int t, int byte) {
    const int p = t / 4, k = t % 4, sub = 4 * (k / 2) + k % 2 + 2 * (byte / 32);
    return byte % 2 == 0 ? 8 * p + sub : 0x80;
});


// The 4 quant vectors of a block (vector k as in q4_k_512_pick): Q4_K's nibbles; Q5_K's with the 5th bit
// of sub-block s (bit s of qh) moved to 0x10 — a shift per 256-bit half (vpsllvw / vpsrlvw counts per
// 16-bit lane; bytes shifted within 16-bit lanes keep their own bits under the 0x10 mask).
inline void k4_512_quants(const std::uint8_t* qs, __m512i m4, __m512i* v) {
    const __m512i z0 = _mm512_loadu_si512(qs), z1 = _mm512_loadu_si512(qs + 64);
    v[0] = _mm512_and_si512(z0, m4);
    v[1] = _mm512_and_si512(_mm512_srli_epi16(z0, 4), m4);
    v[2] = _mm512_and_si512(z1, m4);
    v[3] = _mm512_and_si512(_mm512_srli_epi16(z1, 4), m4);
}
inline void k4_512_quants(const block_q4_k& a, __m512i m4, __m512i* v) { k4_512_quants(a.qs, m4, v); }
inline void k4_512_quants(const block_q5_k& a, __m512i m4, __m512i* v) {
    k4_512_quants(a.qs, m4, v);
    auto counts = [](short first, short second) {  // per 16-bit lane: first half, second half
        return _mm512_mask_mov_epi16(_mm512_set1_epi16(first), 0xffff0000u, _mm512_set1_epi16(second));
    };
    const __m512i h = _mm512_maskz_broadcast_i64x4(0xff, avx2::loadu(a.qh)), m10 = _mm512_set1_epi8(0x10);
    // sub-blocks 0/2, 1/3 (bits below 4: left), 4/6, 5/7 (right)
    v[0] = _mm512_or_si512(v[0], _mm512_and_si512(_mm512_sllv_epi16(h, counts(4, 2)), m10));
    v[1] = _mm512_or_si512(v[1], _mm512_and_si512(_mm512_sllv_epi16(h, counts(3, 1)), m10));
    v[2] = _mm512_or_si512(v[2], _mm512_and_si512(_mm512_srlv_epi16(h, counts(0, 2)), m10));
    v[3] = _mm512_or_si512(v[3], _mm512_and_si512(_mm512_srlv_epi16(h, counts(1, 3)), m10));
}

template <class Block, int R>
inline void dot_k4_512(std::int64_t n, const unsigned char* w, std::size_t row_stride, const block_q8_k* b, float* out) {
    static_assert(R == 1 || R == 4, "1 or 4 rows");
    static_assert(offsetof(Block, scales) == 4 && sizeof(Block::scales) == 12, "d, dmin, 12 scale bytes first");
    const Block* a[4];
    for (int q = 0; q < 4; ++q) a[q] = reinterpret_cast<const Block*>(w + static_cast<std::size_t>(q < R ? q : 0) * row_stride);
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512i pick[2][4];
    for (int p = 0; p < 2; ++p)
        for (int k = 0; k < 4; ++k) pick[p][k] = _mm512_load_si512(q4_k_512_pick.v[4 * p + k]);
    const __m128i c3f = _mm_set1_epi8(0x3f), c0f = _mm_set1_epi8(0x0f), c03 = _mm_set1_epi8(0x03);
    __m512 acc[R];
    for (int q = 0; q < R; ++q) acc[q] = _mm512_setzero_ps();
    __m256 accm[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};  // Σ min terms: rows 2h, 2h+1 in the halves
    stream_prefetch<R * sizeof(Block)> pf(w, row_stride);
    for (std::int64_t i = 0; i < n / 256; ++i) {
        if (R == 4) pf.step();
        const std::int8_t* xq = b[i].qs;
        const __m512i x0 = join256(xq, xq + 64), x1 = join256(xq + 32, xq + 96);
        const __m512i x2 = join256(xq + 128, xq + 192), x3 = join256(xq + 160, xq + 224);
        // words of the 4 rows: d | dmin << 16, then the 12 scale bytes as u0, u1, u2 (pack_scale_min_k4)
        __m128i r[4];
        for (int q = 0; q < 4; ++q) r[q] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&a[q][i]));
        const __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]), t1 = _mm_unpacklo_epi32(r[2], r[3]);
        const __m128i t2 = _mm_unpackhi_epi32(r[0], r[1]), t3 = _mm_unpackhi_epi32(r[2], r[3]);
        const __m128i dw = _mm_unpacklo_epi64(t0, t1), u0 = _mm_unpackhi_epi64(t0, t1);
        const __m128i u1 = _mm_unpacklo_epi64(t2, t3), u2 = _mm_unpackhi_epi64(t2, t3);
        const __m128i sc_lo = _mm_and_si128(u0, c3f);
        const __m128i sc_hi = _mm_or_si128(_mm_and_si128(u2, c0f), _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(u0, 6), c03), 4));
        const __m128i mn_lo = _mm_and_si128(u1, c3f);
        const __m128i mn_hi =
            _mm_or_si128(_mm_and_si128(_mm_srli_epi32(u2, 4), c0f), _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(u1, 6), c03), 4));
        // d_x · (d, dmin) of rows 0..3 in lanes 0..7
        const __m512 dd = _mm512_mul_ps(_mm512_maskz_cvtph_ps(0xffff, _mm256_zextsi128_si256(dw)), _mm512_set1_ps(b[i].d));
        const __m256 dd_lo = _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xf, _mm512_castps_pd(dd), 0));
        const __m256i pairs = _mm256_broadcastsi128_si256(k4_bsum_pairs(b[i]));
        for (int h = 0; 2 * h < R; ++h) {  // rows 2h, 2h + 1
            const __m128i sc = h == 0 ? _mm_unpacklo_epi32(sc_lo, sc_hi) : _mm_unpackhi_epi32(sc_lo, sc_hi);
            const __m128i mn = h == 0 ? _mm_unpacklo_epi32(mn_lo, mn_hi) : _mm_unpackhi_epi32(mn_lo, mn_hi);
            const int dl = 4 * h + 1, dh = 4 * h + 3;  // lanes of d_x·dmin of rows 2h, 2h + 1
            const __m256 dmin = _mm256_permutevar8x32_ps(dd_lo, _mm256_setr_epi32(dl, dl, dl, dl, dh, dh, dh, dh));
            accm[h] = _mm256_fmadd_ps(dmin, _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_cvtepu8_epi16(mn), pairs)), accm[h]);
            const __m512i scales = _mm512_maskz_broadcast_i32x4(0xffff, sc);
            for (int p = 0; p < 2 && 2 * h + p < R; ++p) {
                const int q = 2 * h + p;
                __m512i v[4];
                k4_512_quants(a[q][i], m4, v);
                auto step = [&](__m512i sum, int k, __m512i xk) {
                    return _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(v[k], xk), _mm512_shuffle_epi8(scales, pick[p][k]));
                };
                const __m512i sumi = step(step(step(step(_mm512_setzero_si512(), 0, x0), 1, x1), 2, x2), 3, x3);
                acc[q] = _mm512_fmadd_ps(_mm512_maskz_permutexvar_ps(0xffff, _mm512_set1_epi32(2 * q), dd),
                                         _mm512_maskz_cvtepi32_ps(0xffff, sumi), acc[q]);
            }
        }
    }
    for (int q = 0; q < R; ++q) {
        const __m256 m = accm[q / 2];
        out[q] = hsum512(acc[q]) - hsum128(q % 2 == 0 ? _mm256_castps256_ps128(m) : _mm256_extractf128_ps(m, 1));
    }
}
}  // namespace detail
#endif  // NOGGIN_CPU_Q4_K_512

inline float vec_dot_q4_k_avx2(std::int64_t n, const void* w, const void* x) {
#if NOGGIN_CPU_Q4_K_512
    float r;
    detail::dot_k4_512<block_q4_k, 1>(n, static_cast<const unsigned char*>(w), 0, static_cast<const block_q8_k*>(x), &r);
    return r;
#endif
    const block_q4_k* a = static_cast<const block_q4_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (std::int64_t i = 0; i < n / 256; ++i) {
        __m128i msum;
        const __m256i sumi = detail::q4k_block(a[i], b[i].qs, detail::k4_bsum_pairs(b[i]), &msum);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * avx2::half(a[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(b[i].d * avx2::half(a[i].dmin)), _mm_cvtepi32_ps(msum), accm);
    }
    return avx2::hsum(acc) - detail::hsum128(accm);
}

inline float vec_dot_q5_k_avx2(std::int64_t n, const void* w, const void* x) {
#if NOGGIN_CPU_Q4_K_512
    float r;
    detail::dot_k4_512<block_q5_k, 1>(n, static_cast<const unsigned char*>(w), 0, static_cast<const block_q8_k*>(x), &r);
    return r;
#endif
    const block_q5_k* a = static_cast<const block_q5_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (std::int64_t i = 0; i < n / 256; ++i) {
        __m128i mins;
        const __m256i sc = detail::k4_scales(a[i].scales, &mins);
        const __m128i msum = detail::k4_min_sums(mins, b[i]);
        const std::int8_t* xq = b[i].qs;
        const __m256i qh = avx2::loadu(a[i].qh);
        const __m256i s01 = _mm256_add_epi32(detail::q5k_group<0>(a[i], qh, xq, sc), detail::q5k_group<1>(a[i], qh, xq, sc));
        const __m256i s23 = _mm256_add_epi32(detail::q5k_group<2>(a[i], qh, xq, sc), detail::q5k_group<3>(a[i], qh, xq, sc));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * avx2::half(a[i].d)), _mm256_cvtepi32_ps(_mm256_add_epi32(s01, s23)), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(b[i].d * avx2::half(a[i].dmin)), _mm_cvtepi32_ps(msum), accm);
    }
    return avx2::hsum(acc) - detail::hsum128(accm);
}

namespace detail {
// One Q6_K block against Q8_K activations b: Σ scale·(q − 32)·x in 8 int32 lanes.
inline __m256i q6k_block(const block_q6_k& a, const block_q8_k& b) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i m30 = _mm256_set1_epi8(0x30);
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a.scales));
    // value = sc · (u − 32): the −32 goes through bsums.
    const __m256i osum = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), bsums16(b));
    __m256i sumi = _mm256_setzero_si256();
    for (int g = 0; g < 2; ++g) {
        const __m256i s8 = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(g == 0 ? sc8 : _mm_srli_si128(sc8, 8)));
        const __m256i l0 = avx2::loadu(a.ql + 64 * g);
        const __m256i l1 = avx2::loadu(a.ql + 64 * g + 32);
        const __m256i h = avx2::loadu(a.qh + 32 * g);
        const __m256i u0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30));
        const __m256i u1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30));
        const __m256i u2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m30));
        const __m256i u3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                           _mm256_and_si256(_mm256_srli_epi16(h, 2), m30));
        const std::int8_t* xq = b.qs + 128 * g;
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(u0, avx2::loadu(xq)), _mm256_shuffle_epi8(s8, int16_pair_pick(0)));
        const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(u1, avx2::loadu(xq + 32)), _mm256_shuffle_epi8(s8, int16_pair_pick(1)));
        const __m256i p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(u2, avx2::loadu(xq + 64)), _mm256_shuffle_epi8(s8, int16_pair_pick(2)));
        const __m256i p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(u3, avx2::loadu(xq + 96)), _mm256_shuffle_epi8(s8, int16_pair_pick(3)));
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
    }
    return _mm256_sub_epi32(sumi, _mm256_slli_epi32(osum, 5));
}
}  // namespace detail

// Q6_K with AVX-512 (BW + VL + VNNI, as Q4_K above): per 128 elements the 64 low-bit bytes are one zmm
// whose low nibbles are elements 0..63 and high nibbles 64..127, each with its 2 high bits from the same
// 32 qh bytes (read into both halves; vpsllvw / vpsrlvw move each half's bit pair into place). The
// activations need no regrouping. maddubs (u6 × s8 pairs, at most 2·63·128: never saturates), then
// vpdpwssd with the sub-block scales (one 16-element sub-block per 128-bit lane); the −32 offset goes
// through the bsums as in the AVX2 kernel. Exact int32 sums; the 1-row and 4-row kernels are one template.
// Measured 2026-11-30 (noggin-bench-kernels --variants --pages huge, 2 threads, GB/s): 1-row 55–60 against
// 54–56 for the AVX2 1-row at 151936 × 1536 (the output matrix) and 8960 × 1536; this 4-row form streams
// only 47 (the AVX2 one 54.5), so decode uses the 1-row form. L2-resident, 1 thread: 48–53 vs 25–34 GB/s.
#if NOGGIN_CPU_Q4_K_512
namespace detail {
// Vector c puts int16 element 4c + L of a 128-bit lane's 8 (sign-extended) scales into that lane L.
inline constexpr shuffle_table<2> q6_k_512_pick =
    make_shuffle_table<2>([](int c, int byte) { return 2 * (4 * c + byte / 16) + byte % 2; });

template <int R>
inline void dot_q6_k_512(std::int64_t n, const unsigned char* w, std::size_t row_stride, const block_q8_k* b, float* out) {
    static_assert(R == 1 || R == 4, "1 or 4 rows");
    const block_q6_k* a[R];
    for (int q = 0; q < R; ++q) a[q] = reinterpret_cast<const block_q6_k*>(w + static_cast<std::size_t>(q) * row_stride);
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    // shift counts per 16-bit lane: the first 32 bytes take qh's bit pairs 0 / 2, the last 32 pairs 1 / 3
    const __m512i shl_counts = _mm512_mask_mov_epi16(_mm512_set1_epi16(4), 0xffff0000u, _mm512_set1_epi16(2));
    const __m512i shr_counts = _mm512_maskz_mov_epi16(0xffff0000u, _mm512_set1_epi16(2));
    const __m512i pick0 = _mm512_load_si512(q6_k_512_pick.v[0]), pick1 = _mm512_load_si512(q6_k_512_pick.v[1]);
    __m512 acc[R];
    for (int q = 0; q < R; ++q) acc[q] = _mm512_setzero_ps();
    stream_prefetch<R * sizeof(block_q6_k)> pf(w, row_stride);
    for (std::int64_t i = 0; i < n / 256; ++i) {
        if (R == 4) pf.step();
        const std::int8_t* xq = b[i].qs;
        const __m512i x0 = _mm512_loadu_si512(xq), x1 = _mm512_loadu_si512(xq + 64);
        const __m512i x2 = _mm512_loadu_si512(xq + 128), x3 = _mm512_loadu_si512(xq + 192);
        const __m256i bs = bsums16(b[i]);
#pragma GCC unroll 4
        for (int q = 0; q < R; ++q) {
            const block_q6_k& A = a[q][i];
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(A.scales)));
            const __m256i osum = _mm256_madd_epi16(sc16, bs);  // Σ scale·bsum, for the −32 offset
            __m512i sumi = _mm512_maskz_broadcast_i64x4(0x0f, _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(osum, 5)));
            for (int g = 0; g < 2; ++g) {
                const __m512i z = _mm512_loadu_si512(A.ql + 64 * g);
                const __m512i h = _mm512_maskz_broadcast_i64x4(0xff, avx2::loadu(A.qh + 32 * g));
                const __m512i lo = _mm512_or_si512(_mm512_and_si512(z, m4), _mm512_and_si512(_mm512_sllv_epi16(h, shl_counts), m30));
                const __m512i hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(z, 4), m4),
                                                   _mm512_and_si512(_mm512_srlv_epi16(h, shr_counts), m30));
                const __m512i scales = _mm512_maskz_broadcast_i32x4(
                    0xffff, g == 0 ? _mm256_castsi256_si128(sc16) : _mm256_extracti128_si256(sc16, 1));
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(lo, g == 0 ? x0 : x2), _mm512_shuffle_epi8(scales, pick0));
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(hi, g == 0 ? x1 : x3), _mm512_shuffle_epi8(scales, pick1));
            }
            acc[q] = _mm512_fmadd_ps(_mm512_set1_ps(b[i].d * avx2::half(A.d)), _mm512_maskz_cvtepi32_ps(0xffff, sumi), acc[q]);
        }
    }
    for (int q = 0; q < R; ++q) out[q] = hsum512(acc[q]);
}
}  // namespace detail
#endif  // NOGGIN_CPU_Q4_K_512

inline float vec_dot_q6_k_avx2(std::int64_t n, const void* w, const void* x) {
#if NOGGIN_CPU_Q4_K_512
    float r;
    detail::dot_q6_k_512<1>(n, static_cast<const unsigned char*>(w), 0, static_cast<const block_q8_k*>(x), &r);
    return r;
#endif
    const block_q6_k* a = static_cast<const block_q6_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    __m256 acc = _mm256_setzero_ps();
    for (std::int64_t i = 0; i < n / 256; ++i)
        acc = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * avx2::half(a[i].d)), _mm256_cvtepi32_ps(detail::q6k_block(a[i], b[i])), acc);
    return avx2::hsum(acc);
}

// 4-row Q4_K and Q6_K dots (see "4-row quant dots" above): the activation block is shared, each row is
// summed exactly as its 1-row kernel sums it (bit-equal), and the following rows are prefetched.
namespace detail {
template <class Block, class RowStep, class Finish>
inline void dot4_k_avx2(std::int64_t n, const unsigned char* w, std::size_t row_stride, float* out, RowStep step, Finish finish) {
    const Block* a[4];
    for (int q = 0; q < 4; ++q) a[q] = reinterpret_cast<const Block*>(w + static_cast<std::size_t>(q) * row_stride);
    stream_prefetch<4 * sizeof(Block)> pf(w, row_stride);
    __m256 acc[4];
    __m128 accm[4];
    for (int q = 0; q < 4; ++q) acc[q] = _mm256_setzero_ps(), accm[q] = _mm_setzero_ps();
    for (std::int64_t i = 0; i < n / 256; ++i) {
        pf.step();
        step(i, a, acc, accm);
    }
    for (int q = 0; q < 4; ++q) out[q] = finish(acc[q], accm[q]);
}
}  // namespace detail

inline void vec_dot4_q4_k_avx2(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out) {
#if NOGGIN_CPU_Q4_K_512
    detail::dot_k4_512<block_q4_k, 4>(n, static_cast<const unsigned char*>(w), row_stride, static_cast<const block_q8_k*>(x), out);
    return;
#endif
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    detail::dot4_k_avx2<block_q4_k>(
        n, static_cast<const unsigned char*>(w), row_stride, out,
        [b](std::int64_t i, const block_q4_k* const* a, __m256* acc, __m128* accm) {
            const __m128i pairs = detail::k4_bsum_pairs(b[i]);
#pragma GCC unroll 4
            for (int q = 0; q < 4; ++q) {
                const block_q4_k& A = a[q][i];
                __m128i msum;
                const __m256i sumi = detail::q4k_block(A, b[i].qs, pairs, &msum);
                acc[q] = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * avx2::half(A.d)), _mm256_cvtepi32_ps(sumi), acc[q]);
                accm[q] = _mm_fmadd_ps(_mm_set1_ps(b[i].d * avx2::half(A.dmin)), _mm_cvtepi32_ps(msum), accm[q]);
            }
        },
        [](__m256 acc, __m128 accm) { return avx2::hsum(acc) - detail::hsum128(accm); });
}
#if NOGGIN_CPU_Q4_K_512
inline void vec_dot4_q5_k_512(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out) {
    detail::dot_k4_512<block_q5_k, 4>(n, static_cast<const unsigned char*>(w), row_stride, static_cast<const block_q8_k*>(x), out);
}
#endif
inline void vec_dot4_q6_k_avx2(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out) {
#if NOGGIN_CPU_Q4_K_512
    detail::dot_q6_k_512<4>(n, static_cast<const unsigned char*>(w), row_stride, static_cast<const block_q8_k*>(x), out);
    return;
#endif
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    detail::dot4_k_avx2<block_q6_k>(
        n, static_cast<const unsigned char*>(w), row_stride, out,
        [b](std::int64_t i, const block_q6_k* const* a, __m256* acc, __m128*) {
#pragma GCC unroll 4
            for (int q = 0; q < 4; ++q)
                acc[q] = _mm256_fmadd_ps(_mm256_set1_ps(b[i].d * avx2::half(a[q][i].d)),
                                         _mm256_cvtepi32_ps(detail::q6k_block(a[q][i], b[i])), acc[q]);
        },
        [](__m256 acc, __m128) { return avx2::hsum(acc); });
}

inline float vec_dot_q8_k_avx2(std::int64_t n, const void* w, const void* x) {
    const block_q8_k* a = static_cast<const block_q8_k*>(w);
    const block_q8_k* b = static_cast<const block_q8_k*>(x);
    __m256 acc = _mm256_setzero_ps();
    for (std::int64_t i = 0; i < n / 256; ++i) {
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 8; ++c)
            sumi = _mm256_add_epi32(sumi, avx2::dot_ss(avx2::loadu(a[i].qs + 32 * c), avx2::loadu(b[i].qs + 32 * c)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(a[i].d * b[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return avx2::hsum(acc);
}

// Q8_1 activations with SIMD: d = max|x|/127, q = round-half-away(x/d), s = d·Σq — same bytes as
// quantize_row_q8_1 (the division by d is done as a multiply by 1/d in both).
inline void quantize_row_q8_1_avx2(const float* x, block_q8_1* y, std::int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32) {
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; ++k) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const float d = _mm_cvtss_f32(m) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; ++k) {
            const __m256 t = _mm256_mul_ps(v[k], vid);
            // roundf exactly: trunc(t), plus ±1 where the dropped fraction is ≥ 0.5.
            const __m256 tr = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(t, tr));
            const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
            const __m256 adj = _mm256_and_ps(up, _mm256_or_ps(_mm256_and_ps(t, sign), _mm256_set1_ps(1.0f)));
            q[k] = _mm256_cvtps_epi32(_mm256_add_ps(tr, adj));
        }
        const __m256i s32 = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        const int sum = avx2::hsum_i32(s32);
        const __m256i p01 = _mm256_packs_epi32(q[0], q[1]);
        const __m256i p23 = _mm256_packs_epi32(q[2], q[3]);
        __m256i p = _mm256_packs_epi16(p01, p23);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs), p);
        y[b].d = f32_to_f16(d);
        y[b].s = f32_to_f16(d * static_cast<float>(sum));
    }
}
#endif  // NOGGIN_SIMD_AVX2

// --- dispatch tables -----------------------------------------------------------------------------------------

// Dot of `n` elements: weight row `w` · activations `x` in vec_dot_type's format.
using vec_dot_fn = float (*)(std::int64_t n, const void* w, const void* x);

// The scalar reference for weights of type `t`.
inline vec_dot_fn vec_dot_function_ref(dtype t) {
    switch (t) {
#define NOGGIN_CPU_DOT_REF(e, id, nm, be, bb) \
    case dtype::e: return vec_dot_##e##_ref;
        NOGGIN_DTYPE_LIST(NOGGIN_CPU_DOT_REF)
#undef NOGGIN_CPU_DOT_REF
    }
    return nullptr;
}

// The fastest compiled dot for weights of type `t` (the reference where no SIMD path exists).
inline vec_dot_fn vec_dot_function(dtype t) {
#if NOGGIN_SIMD_AVX2
    switch (t) {
        case dtype::f32: return vec_dot_f32_simd;
#if NOGGIN_CPU_F16_512
        case dtype::f16: return vec_dot_f16_512;
#else
        case dtype::f16: return vec_dot_f16_simd;
#endif
        case dtype::bf16: return vec_dot_bf16_simd;
#define NOGGIN_CPU_DOT_AVX2(e) \
    case dtype::e: return vec_dot_##e##_avx2;
        NOGGIN_CPU_DOT_AVX2(q4_0) NOGGIN_CPU_DOT_AVX2(q4_1) NOGGIN_CPU_DOT_AVX2(q5_0) NOGGIN_CPU_DOT_AVX2(q5_1)
        NOGGIN_CPU_DOT_AVX2(q8_0) NOGGIN_CPU_DOT_AVX2(q8_1) NOGGIN_CPU_DOT_AVX2(q2_k) NOGGIN_CPU_DOT_AVX2(q3_k)
        NOGGIN_CPU_DOT_AVX2(q4_k) NOGGIN_CPU_DOT_AVX2(q5_k) NOGGIN_CPU_DOT_AVX2(q6_k) NOGGIN_CPU_DOT_AVX2(q8_k)
#undef NOGGIN_CPU_DOT_AVX2
    }
    return vec_dot_function_ref(t);
#elif NOGGIN_SIMD_NEON
    switch (t) {
        case dtype::f32: return vec_dot_f32_simd;
        case dtype::f16: return vec_dot_f16_simd;
        case dtype::bf16: return vec_dot_bf16_simd;
        default: return vec_dot_function_ref(t);
    }
#else
    return vec_dot_function_ref(t);
#endif
}

// Dots of 4 consecutive weight rows (`row_stride` bytes apart) with one activation column, out[0..3];
// bit-equal to four vec_dot_function(t) calls. Used by matmul for the types where reading 4 rows at once
// streams faster from DRAM than 1 row at a time (measured 2026-11-30, 2 threads, 8960 × 1536: Q4_0 42.9 vs
// 35.2 GB/s, Q4_K 40.0 vs 36.1; with AVX-512, on huge pages, Q4_K 59–63 vs 40–43, Q5_K 60–67 vs 43–47,
// Q2_K 39–40 vs 27–29, Q3_K 42–45 vs 28–33);
// not for Q8_0 (41.0 vs 46.8), F16 (40 vs 46–48) or AVX-512 Q6_K (47 vs 55–60 at 1536 × 8960 and 151936 ×
// 1536), whose 4-row kernels (vec_dot4_q8_0_avx2, vec_dot4_f16_512, vec_dot4_q6_k_avx2 in AVX-512 builds)
// stay for benchmarks and tests.
using vec_dot4_fn = void (*)(std::int64_t n, const void* w, std::size_t row_stride, const void* x, float* out);

// The 4-row kernel for weights of type `t`, or nullptr where there is none (use the 1-row dot).
inline vec_dot4_fn vec_dot4_function(dtype t) {
#if NOGGIN_SIMD_AVX2
    switch (t) {
        case dtype::q4_0: return vec_dot4_q4_0_avx2;
        case dtype::q4_k: return vec_dot4_q4_k_avx2;
#if NOGGIN_CPU_Q4_K_512
        case dtype::q2_k: return vec_dot4_q2_k_512;
        case dtype::q3_k: return vec_dot4_q3_k_512;
        case dtype::q5_k: return vec_dot4_q5_k_512;
#else
        case dtype::q6_k: return vec_dot4_q6_k_avx2;
#endif
        default: return nullptr;
    }
#else
    (void)t;
    return nullptr;
#endif
}

// One dot product, dispatched per call (use vec_dot_function in loops).
inline float vec_dot(dtype t, std::int64_t n, const void* w, const void* x) { return vec_dot_function(t)(n, w, x); }

inline bool quantize_activations(dtype act, const float* x, void* out, std::int64_t n) {
#if NOGGIN_SIMD_AVX2
    if (act == dtype::q8_1) {
        if (n < 0 || n % 32 != 0) return false;
        quantize_row_q8_1_avx2(x, static_cast<block_q8_1*>(out), n);
        return true;
    }
#endif
    return quantize_row(act, x, out, n);
}

}  // namespace cpu
}  // namespace noggin
