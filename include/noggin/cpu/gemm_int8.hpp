// noggin/cpu/gemm_int8.hpp — y = W·x for a batch of columns with integer dot products: Q4_0 and Q8_0
// weights against Q8_1 activations, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K against Q8_K (the formats their dot
// products already take, vec_dot_type), weight rows unpacked once per tile into row-interleaved int8 panels.
//
//     // xq: n_cols columns of activations in vec_dot_type(W.type), activation_row_bytes apart, e.g. from
//     // noggin::cpu::quantize_columns(noggin::cpu::vec_dot_type(W.type), x, n_cols, k, xq, pool).
//     if (noggin::cpu::gemm_int8_supported(W.type)) noggin::cpu::gemm_int8(W, xq, n_cols, y, pool);
//
// Sections: tiling constants · panel packing · micro-kernels (AVX-512, AVX2, portable) · the threaded
//           driver and entry point
//
// Why: the float panel GEMM (gemm.hpp) multiplies 16 floats per FMA; an int8 dot-product instruction
// multiplies 64 (AVX-512 VNNI vpdpbusd) or 32 (AVX2 maddubs) byte pairs per instruction, and 4-bit weights
// need no conversion to float at all. PERF.md fact 3 (llama.cpp/ik_llama.cpp repack Q4_0 the same way).
//
// Panel (per tile of MR weight rows and up to 8 blocks of 32 elements, on the calling thread's stack):
//   qs[b][s][i][0..3] = quants 4s..4s+3 of block b of row i, so one 64-byte (32-byte) load holds 4
//                       consecutive elements of 16 (8) rows: Q4_0 and Q4_K unsigned 0..15 (offset not
//                       applied), Q5_K unsigned 0..31, Q2_K unsigned 0..3,
//                       Q8_0 signed as stored, Q6_K signed q − 32, Q3_K signed q − 4 (high bit clear);
//   d[b][i]           = the row's block scale as float;
//   m[b][i]           = Q4_0: what multiplies the activation block sum s = d_x·Σq_x (−8·d);
//   wsum[b][i]        = Q8_0: 128·Σq of the row's block (see below); Q3_K / Q6_K: wsum[g][i] of 16-element
//                       group g;
//   sc[b][i], dmin[i]  = Q4_K / Q5_K: sub-block b's 6-bit scale, the super-block's dmin (its d in d[0][i]);
//                       Q2_K the same per 16-element group g (4-bit scale); Q3_K / Q6_K: sc[g][i] the
//                       signed scale of group g. A panel is exactly one K-quant super-block (8 sub-blocks of 32);
//   mn[h][i]          = Q4_K / Q5_K / Q2_K: the mins of 16-element groups 2h and 2h + 1 as two int16 (low,
//                       high: sub-block h's min twice for Q4_K / Q5_K), the pair vpmaddwd multiplies by the two
//                       bsums of the Q8_K block at once;
//   (The portable kernel stores Q4_0's signed quants q − 8 and m = 0 instead: see there.)
// Micro-kernel: for NR columns at once, per block, 8 steps of: load the step's row vectors, broadcast 4
// activation bytes per column, one vpdpbusd per (vector, column) into int32 sums; then per column acc +=
// float(sum)·(d·d_x) (+ m·s_x for Q4_0). Accumulators: 2 vectors × NR columns of int32 sums and of floats.
// vpdpbusd multiplies unsigned by signed bytes: Q4_0 weights are the unsigned side; for Q8_0 the activation
// is, as q_x + 128 (one xor per broadcast), and the block's integer sum Σ(q_x + 128)·q_w less wsum = 128·Σq_w
// is exactly Σq_x·q_w. Q4_K: the unsigned nibbles as Q4_0's, the int32 sub-block sums multiplied by their
// scales and summed over the super-block in int32 (vpmulld), the mins term Σ mn·(the Q8_K block's 16-element
// sums) in int32 too (one vpmaddwd per pair of groups), as vec_dot_q4_k_ref does; Q5_K the same with its fifth
// bit, Q2_K the same per 16-element group (4 steps; its pair sums ≤ 8·3·128 fit int16 without VNNI too). Q6_K:
// signed q − 32 against q_x + 128 as Q8_0, corrected per 16-element group, times the group's scale, summed in
// int32; Q3_K the same on its signed 3-bit quants. Without VNNI (AVX2 or AVX-512 maddubs), Q4_0's pair sums
// are added in int16 for the whole block (≤ 16·15·128 = 30720 < 2^15, no saturation since weight quants are ≤
// 15) and widened by one madd per block: the same integers. The signed kinds (Q8_0, Q6_K, Q3_K) need the
// unsigned offset on the activations (maddubs: 255·127·2 > 2^15 per pair) and Q5_K overflows the int16 block
// sums (8·2·31·128), so without VNNI their batches stay on the float GEMM (gemm_int8_supported says which).
//
// Numerics: per block the integer sum is exact and the float terms are those of the weight type's dot
// product (vec_dot_q4_0_*: d_w·d_x·Σq_w·q_x − 8·d_w·s_x, with s_x rounded to f16 in Q8_1; vec_dot_q8_0_*:
// d_w·d_x·Σq_w·q_x; vec_dot_q{2,4,5}_k_*: d_x·(d·Σsc·Σq_w·q_x − dmin·Σmn·bsum); vec_dot_q{3,6}_k_*:
// d_x·d·Σsc·Σq_w·q_x with signed q_w); only the float summation order
// over blocks differs, so gemm_int8 equals matmul_quantized on the same quantized input to float rounding (≈1e-7 relative), and both differ from the
// exact product by the activation quantization (≈1e-2 relative for random data). Results do not depend on
// the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../core/config.hpp"
#include "../core/dtype.hpp"
#include "../core/half.hpp"
#include "../core/hooks.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "dot.hpp"
#include "matmul.hpp"

#if NOGGIN_SIMD_AVX2
#include <immintrin.h>
#endif

namespace noggin {
namespace cpu {

// --- tiling constants ---------------------------------------------------------------------------------

// 512-bit micro-kernel where the host's flags enable AVX-512 BW (maddubs on zmm) and the float GEMM may
// use AVX-512 (NOGGIN_NO_AVX512 keeps both on AVX2); vpdpbusd on top when AVX-512 VNNI is enabled.
#if NOGGIN_SIMD_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && !defined(NOGGIN_NO_AVX512)
#define NOGGIN_GEMM_INT8_512 1
#else
#define NOGGIN_GEMM_INT8_512 0
#endif

// Whether this build's micro-kernel sums the kinds beyond maddubs' int16 range (Q8_0, Q3_K, Q5_K, Q6_K) exactly:
// with vpdpbusd (int32 products) or the portable kernel, not with maddubs (see the header).
#if NOGGIN_GEMM_INT8_512
#define NOGGIN_GEMM_INT8_WIDE NOGGIN_CPU_VNNI512
#elif NOGGIN_SIMD_AVX2
#define NOGGIN_GEMM_INT8_WIDE (NOGGIN_CPU_VNNI256 != 0)
#else
#define NOGGIN_GEMM_INT8_WIDE 1
#endif

// Weight types with an integer GEMM here (their activations in vec_dot_type: Q8_1, or Q8_K for K-quants).
inline bool gemm_int8_supported(dtype w) {
    return w == dtype::q4_0 || w == dtype::q4_k || w == dtype::q2_k ||
           ((w == dtype::q8_0 || w == dtype::q3_k || w == dtype::q5_k || w == dtype::q6_k) && NOGGIN_GEMM_INT8_WIDE);
}

namespace detail {
// The weight layouts the panels take (one instantiation of the micro-kernel each).
enum class i8_kind { q4_0, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k };

#if NOGGIN_GEMM_INT8_512
constexpr std::int64_t i8_lanes = 16;  // int32 lanes (= weight rows) per vector
constexpr int i8_nr = 6;               // columns per micro-kernel call (2·6 int + 2·6 float zmm accumulators)
#elif NOGGIN_SIMD_AVX2
constexpr std::int64_t i8_lanes = 8;
constexpr int i8_nr = 3;  // 16 ymm registers: 2 weights, 2·3 int16 sums, 2·3 floats, the ones for madd
#else
constexpr std::int64_t i8_lanes = 8;
constexpr int i8_nr = 4;
#endif
constexpr std::int64_t i8_mr = 2 * i8_lanes;  // weight rows per tile (2 vectors)
constexpr int i8_kb = 8;                      // blocks of 32 per panel (256 elements)
constexpr std::int64_t i8_step_bytes = i8_mr * 4;          // one step: 4 elements of every row
constexpr std::int64_t i8_block_bytes = 8 * i8_step_bytes;  // one block: 8 steps

struct i8_panel {
    alignas(64) std::uint8_t qs[i8_kb * i8_block_bytes];  // [b][s][i][4] unsigned quants
    alignas(64) float d[i8_kb * i8_mr];                   // [b][i] weight block scale
    alignas(64) float m[i8_kb * i8_mr];                   // [b][i] Q4_0: multiplier of the activation block sum
    alignas(64) std::int32_t wsum[2 * i8_kb * i8_mr];     // [b][i] Q8_0: 128·Σ quants of the block; [g][i] Q6_K
    alignas(64) std::int32_t sc[2 * i8_kb * i8_mr];       // [b][i] Q4_K: sub-block scale; [g][i] Q6_K: group scale
    alignas(64) std::int32_t mn[i8_kb * i8_mr];           // [h][i] mins of groups 2h, 2h + 1 as int16 pairs
    alignas(64) float dmin[i8_mr];                        // [i] Q4_K / Q2_K: the super-block's dmin
};

// Rows nr..MR-1 of a panel (a partial tile) as zero weights in every field any kind reads.
inline void i8_clear_rows(i8_panel& p, std::int64_t nr) {
    for (std::int64_t i = nr; i < i8_mr; ++i) {
        p.dmin[i] = 0.0f;
        for (int b = 0; b < i8_kb; ++b) {
            p.d[b * i8_mr + i] = 0.0f;
            p.m[b * i8_mr + i] = 0.0f;
            for (int s = 0; s < 8; ++s) std::memset(p.qs + b * i8_block_bytes + s * i8_step_bytes + i * 4, 0, 4);
        }
        for (int g = 0; g < 2 * i8_kb; ++g) p.wsum[g * i8_mr + i] = 0, p.sc[g * i8_mr + i] = 0;
        for (int h = 0; h < i8_kb; ++h) p.mn[h * i8_mr + i] = 0;
    }
}

// --- panel packing ----------------------------------------------------------------------------------------

// Two mins (0..63) as the int16 pair of one panel.mn entry.
inline std::int32_t i8_min_pair(int low, int high) { return low | high << 16; }

// Rows [r0, r0 + nr) × blocks [b0, b0 + nb) of the Q4_0 matrix w into p.
inline void i8_pack_q4_0(const tensor_view& w, std::int64_t r0, std::int64_t nr, std::int64_t b0, int nb, i8_panel& p) {
    for (std::int64_t i = 0; i < nr; ++i) {
        const block_q4_0* a = static_cast<const block_q4_0*>(w.row(r0 + i)) + b0;
        for (int b = 0; b < nb; ++b) {
            const float d = f16_to_f32(a[b].d);
            p.d[b * i8_mr + i] = d;
            alignas(32) std::uint8_t t[32];  // quants in element order
#if NOGGIN_SIMD_AVX2
            p.m[b * i8_mr + i] = -8.0f * d;
            _mm256_store_si256(reinterpret_cast<__m256i*>(t), avx2::nibbles(a[b].qs));
#else
            // Portable kernel: signed quants q − 8 (two's complement bytes) and no s_x term, the integer
            // sums of vec_dot_q4_0_ref.
            p.m[b * i8_mr + i] = 0.0f;
            for (int j = 0; j < 16; ++j)
                t[j] = static_cast<std::uint8_t>((a[b].qs[j] & 0xf) - 8), t[j + 16] = static_cast<std::uint8_t>((a[b].qs[j] >> 4) - 8);
#endif
            std::uint8_t* dst = p.qs + b * i8_block_bytes + i * 4;
            for (int s = 0; s < 8; ++s) std::memcpy(dst + s * i8_step_bytes, t + 4 * s, 4);
        }
    }
}

// Rows [r0, r0 + nr) × blocks [b0, b0 + nb) of the Q8_0 matrix w into p (signed quants as stored).
inline void i8_pack_q8_0(const tensor_view& w, std::int64_t r0, std::int64_t nr, std::int64_t b0, int nb, i8_panel& p) {
    for (std::int64_t i = 0; i < nr; ++i) {
        const block_q8_0* a = static_cast<const block_q8_0*>(w.row(r0 + i)) + b0;
        for (int b = 0; b < nb; ++b) {
            p.d[b * i8_mr + i] = f16_to_f32(a[b].d);
            p.m[b * i8_mr + i] = 0.0f;
            std::int32_t sum = 0;
            for (int j = 0; j < 32; ++j) sum += a[b].qs[j];
            p.wsum[b * i8_mr + i] = 128 * sum;
            std::uint8_t* dst = p.qs + b * i8_block_bytes + i * 4;
            for (int s = 0; s < 8; ++s) std::memcpy(dst + s * i8_step_bytes, a[b].qs + 4 * s, 4);
        }
    }
}

// Rows [r0, r0 + nr) of the Q4_K or Q5_K (Block) matrix w, super-block b0 / 8 (blocks b0..b0 + 7), into p.
template <typename Block>
inline void i8_pack_q4_k(const tensor_view& w, std::int64_t r0, std::int64_t nr, std::int64_t b0, i8_panel& p) {
    constexpr bool fifth_bit = std::is_same<Block, block_q5_k>::value;
    for (std::int64_t i = 0; i < nr; ++i) {
        const Block& a = static_cast<const Block*>(w.row(r0 + i))[b0 / i8_kb];
        p.d[i] = f16_to_f32(a.d);
        p.dmin[i] = f16_to_f32(a.dmin);
        for (int pair = 0; pair < 4; ++pair) {  // sub-blocks 2·pair (low nibbles) and 2·pair + 1 (high)
            alignas(32) std::uint8_t t[2][32];
#if NOGGIN_SIMD_AVX2
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * pair));
            const __m256i lo = _mm256_set1_epi8(0x0f);
            __m256i q0 = _mm256_and_si256(v, lo), q1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo);
            if constexpr (fifth_bit) {  // bit c of qh[l] is element l's fifth bit in sub-block c
                const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qh)), sixteen = _mm256_set1_epi8(0x10);
                const __m256i m0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * pair))), m1 = _mm256_set1_epi8(static_cast<char>(2 << (2 * pair)));
                q0 = _mm256_or_si256(q0, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(h, m0), m0), sixteen));
                q1 = _mm256_or_si256(q1, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(h, m1), m1), sixteen));
            }
            _mm256_store_si256(reinterpret_cast<__m256i*>(t[0]), q0);
            _mm256_store_si256(reinterpret_cast<__m256i*>(t[1]), q1);
#else
            for (int l = 0; l < 32; ++l) {
                t[0][l] = a.qs[32 * pair + l] & 0xf, t[1][l] = static_cast<std::uint8_t>(a.qs[32 * pair + l] >> 4);
                if constexpr (fifth_bit)
                    t[0][l] |= ((a.qh[l] >> (2 * pair)) & 1) << 4, t[1][l] |= ((a.qh[l] >> (2 * pair + 1)) & 1) << 4;
            }
#endif
            for (int h = 0; h < 2; ++h) {
                const int b = 2 * pair + h;
                int sc, mn;
                unpack_scale_min_k4(a.scales, b, &sc, &mn);
                p.sc[b * i8_mr + i] = sc;
                p.mn[b * i8_mr + i] = i8_min_pair(mn, mn);
                std::uint8_t* dst = p.qs + b * i8_block_bytes + i * 4;
                for (int s = 0; s < 8; ++s) std::memcpy(dst + s * i8_step_bytes, t[h] + 4 * s, 4);
            }
        }
    }
}

// Rows [r0, r0 + nr) of the Q2_K matrix w, super-block b0 / 8, into p: the unsigned quants 0..3, per
// 16-element group g its 4-bit scale and min.
inline void i8_pack_q2_k(const tensor_view& w, std::int64_t r0, std::int64_t nr, std::int64_t b0, i8_panel& p) {
    for (std::int64_t i = 0; i < nr; ++i) {
        const block_q2_k& a = static_cast<const block_q2_k*>(w.row(r0 + i))[b0 / i8_kb];
        p.d[i] = f16_to_f32(a.d);
        p.dmin[i] = f16_to_f32(a.dmin);
        alignas(32) std::uint8_t q[256];  // element 128·half + 32·part + l is bits 2·part of qs[32·half + l]
#if NOGGIN_SIMD_AVX2
        for (int half = 0; half < 2; ++half) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * half)), three = _mm256_set1_epi8(3);
            for (int part = 0; part < 4; ++part)
                _mm256_store_si256(reinterpret_cast<__m256i*>(q + 128 * half + 32 * part),
                                   _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(2 * part)), three));
        }
#else
        for (int j = 0; j < 256; ++j) q[j] = static_cast<std::uint8_t>((a.qs[32 * (j / 128) + j % 32] >> (2 * ((j % 128) / 32))) & 3);
#endif
        for (int g = 0; g < 16; ++g) p.sc[g * i8_mr + i] = a.scales[g] & 0xf;
        for (int h = 0; h < 8; ++h) p.mn[h * i8_mr + i] = i8_min_pair(a.scales[2 * h] >> 4, a.scales[2 * h + 1] >> 4);
        for (int b = 0; b < i8_kb; ++b) {
            std::uint8_t* dst = p.qs + b * i8_block_bytes + i * 4;
            for (int s = 0; s < 8; ++s) std::memcpy(dst + s * i8_step_bytes, q + 32 * b + 4 * s, 4);
        }
    }
}

// A Q6_K super-block's signed quants q − 32 in element order, and its 16 group scales.
inline void i8_decode(const block_q6_k& a, std::int8_t* q, int* scales) {
    for (int g = 0; g < 16; ++g) scales[g] = a.scales[g];
    for (int half = 0; half < 2; ++half) {  // elements 128·half + 32·part + l from ql / qh as the format lays them
        const std::uint8_t* ql = a.ql + 64 * half;
        const std::uint8_t* qh = a.qh + 32 * half;
        std::int8_t* out = q + 128 * half;
#if NOGGIN_SIMD_AVX2
        const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
        const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
        const __m256i low4 = _mm256_set1_epi8(0x0f), high2 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
        const __m256i parts[4] = {
            _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), high2)),
            _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), high2)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(h, high2)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_and_si256(_mm256_srli_epi16(h, 2), high2))};
        for (int part = 0; part < 4; ++part)
            _mm256_store_si256(reinterpret_cast<__m256i*>(out + 32 * part), _mm256_sub_epi8(parts[part], off));
#else
        for (int l = 0; l < 32; ++l)
            for (int part = 0; part < 4; ++part) {
                const int lo = (ql[l + 32 * (part % 2)] >> (4 * (part / 2))) & 0xf, hi = (qh[l] >> (2 * part)) & 3;
                out[32 * part + l] = static_cast<std::int8_t>((lo | (hi << 4)) - 32);
            }
#endif
    }
}

// A Q3_K super-block's signed quants (low 2 bits, minus 4 where the high bit is clear) in element order,
// and its 16 group scales (−32..31).
inline void i8_decode(const block_q3_k& a, std::int8_t* q, int* scales) {
    for (int g = 0; g < 16; ++g) scales[g] = unpack_scale_q3_k(a.scales, g);
    // element 32c + l (c = 4·half + part): bits 2·part of qs[32·half + l], high bit c of hmask[l]
#if NOGGIN_SIMD_AVX2
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.hmask));
    const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    for (int half = 0; half < 2; ++half) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * half));
        for (int part = 0; part < 4; ++part) {
            const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << (4 * half + part)));
            const __m256i high = _mm256_cmpeq_epi8(_mm256_and_si256(h, bit), bit);
            const __m256i lo = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(2 * part)), three);
            _mm256_store_si256(reinterpret_cast<__m256i*>(q + 128 * half + 32 * part), _mm256_sub_epi8(lo, _mm256_andnot_si256(high, four)));
        }
    }
#else
    for (int j = 0; j < 256; ++j) {
        const int lo = (a.qs[32 * (j / 128) + j % 32] >> (2 * ((j % 128) / 32))) & 3;
        const int h = (a.hmask[j % 32] >> (j / 32)) & 1;
        q[j] = static_cast<std::int8_t>(lo - (h ? 0 : 4));
    }
#endif
}

// Rows [r0, r0 + nr) of the Q3_K or Q6_K (Block) matrix w, super-block b0 / 8, into p.
template <typename Block>
inline void i8_pack_signed_k(const tensor_view& w, std::int64_t r0, std::int64_t nr, std::int64_t b0, i8_panel& p) {
    for (std::int64_t i = 0; i < nr; ++i) {
        const Block& a = static_cast<const Block*>(w.row(r0 + i))[b0 / i8_kb];
        p.d[i] = f16_to_f32(a.d);
        alignas(32) std::int8_t q[256];
        int scales[16];
        i8_decode(a, q, scales);
        for (int g = 0; g < 16; ++g) {
            std::int32_t sum = 0;
            for (int j = 0; j < 16; ++j) sum += q[16 * g + j];
            p.wsum[g * i8_mr + i] = 128 * sum;
            p.sc[g * i8_mr + i] = scales[g];
        }
        for (int b = 0; b < i8_kb; ++b) {
            std::uint8_t* dst = p.qs + b * i8_block_bytes + i * 4;
            for (int s = 0; s < 8; ++s) std::memcpy(dst + s * i8_step_bytes, q + 32 * b + 4 * s, 4);
        }
    }
}

// Rows [r0, r0 + nr) × blocks [b0, b0 + nb) of w into p (a K-quant panel is one whole super-block);
// rows nr..MR-1 are zero.
template <i8_kind K>
inline void i8_pack(const tensor_view& w, std::int64_t r0, std::int64_t nr, std::int64_t b0, int nb, i8_panel& p) {
    if constexpr (K == i8_kind::q4_k || K == i8_kind::q5_k)
        i8_pack_q4_k<std::conditional_t<K == i8_kind::q4_k, block_q4_k, block_q5_k>>(w, r0, nr, b0, p);
    else if constexpr (K == i8_kind::q3_k || K == i8_kind::q6_k)
        i8_pack_signed_k<std::conditional_t<K == i8_kind::q3_k, block_q3_k, block_q6_k>>(w, r0, nr, b0, p);
    else if constexpr (K == i8_kind::q2_k)
        i8_pack_q2_k(w, r0, nr, b0, p);
    else if constexpr (K == i8_kind::q8_0)
        i8_pack_q8_0(w, r0, nr, b0, nb, p);
    else
        i8_pack_q4_0(w, r0, nr, b0, nb, p);
    if (nr < i8_mr) i8_clear_rows(p, nr);
}

// Ask for the cache lines of rows [r0, r0 + nr) × blocks [b0, b0 + nb) ahead of their packing: packing
// reads MR rows a few cache lines each, too many short streams for the hardware prefetcher, and without
// this it stalled on DRAM for ≈ 20 % of the GEMM's time (perf, pp512 Q4_0). Issued before the micro-kernels
// of the previous panel run, which take far longer than the memory latency.
inline void i8_prefetch(const tensor_view& w, std::int64_t r0, std::int64_t nr, std::int64_t b0, int nb) {
#if NOGGIN_SIMD_AVX2
    const dtype_traits& t = dtype_info(w.type);
    const auto bytes_at = [&](std::int64_t b) { return static_cast<std::size_t>(b * 32 / t.block_elements) * t.block_bytes; };
    const std::size_t first = bytes_at(b0), last = bytes_at(b0 + nb);  // last: one past
    for (std::int64_t i = 0; i < nr; ++i) {
        const char* row = static_cast<const char*>(w.row(r0 + i));
        for (std::size_t o = first & ~std::size_t{63}; o < last; o += 64) _mm_prefetch(row + o, _MM_HINT_T0);
    }
#else
    (void)w, (void)r0, (void)nr, (void)b0, (void)nb;
#endif
}

// --- micro-kernels ----------------------------------------------------------------------------------------
// acc[c][i] = Σ_b (d[b][i]·d_x(c,b))·Σ_j q[b][i][j]·q_x(c,b,j) + m[b][i]·s_x(c,b) for NC ≤ i8_nr columns,
// x pointing at the panel's first Q8_1 block of column 0 (column c at x + c·ldx bytes); then y[c·ldy + i]
// is set (first panel of k) or incremented, for i < nr. Q8: the panel holds Q8_0 weights (signed quants,
// wsum; no m term).

inline std::int32_t i8_load32(const unsigned char* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

#if NOGGIN_SIMD_AVX2
// d and s of one Q8_1 block as floats (lanes 0 and 1).
inline __m128 i8_load_ds(const unsigned char* block) { return _mm_cvtph_ps(_mm_cvtsi32_si128(i8_load32(block))); }
#endif

#if NOGGIN_GEMM_INT8_512
struct i8_v512 {
    using iv = __m512i;
    using fv = __m512;
    static iv zero() { return _mm512_setzero_si512(); }
    static iv load(const std::uint8_t* p) { return _mm512_load_si512(reinterpret_cast<const void*>(p)); }
    static iv bcast(const unsigned char* p) { return _mm512_set1_epi32(i8_load32(p)); }
    static iv flip(iv v) { return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80))); }  // q + 128 as unsigned
    static iv sub(iv a, iv b) { return _mm512_sub_epi32(a, b); }
    // (maskz with all lanes: g++ 12 flags _mm512_cvtepi32_ps's _mm512_undefined_ps as maybe-uninitialized)
    static fv cvt(iv v) { return _mm512_maskz_cvtepi32_ps(static_cast<__mmask16>(0xffff), v); }
    static iv add32(iv a, iv b) { return _mm512_add_epi32(a, b); }
    static iv mul32(iv a, iv b) { return _mm512_mullo_epi32(a, b); }
#if NOGGIN_CPU_VNNI512
    static iv dp(iv acc, iv w, iv x) { return _mm512_dpbusd_epi32(acc, w, x); }
    static iv widen(iv acc) { return acc; }  // dp's sums as int32
    static iv dpw(iv acc, iv a, iv b) { return _mm512_dpwssd_epi32(acc, a, b); }  // + int16 pair products
#else
    static iv dp(iv acc, iv w, iv x) { return _mm512_add_epi16(acc, _mm512_maddubs_epi16(w, x)); }
    static iv widen(iv acc) { return _mm512_madd_epi16(acc, _mm512_set1_epi16(1)); }
    static iv dpw(iv acc, iv a, iv b) { return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b)); }
#endif
    static fv to_float(iv acc) { return cvt(widen(acc)); }
    static fv fzero() { return _mm512_setzero_ps(); }
    static fv fload(const float* p) { return _mm512_load_ps(p); }
    static fv floadu(const float* p) { return _mm512_loadu_ps(p); }
    static void fstoreu(float* p, fv v) { _mm512_storeu_ps(p, v); }
    static void fstore(float* p, fv v) { _mm512_store_ps(p, v); }
    static fv add(fv a, fv b) { return _mm512_add_ps(a, b); }
    static fv fsub(fv a, fv b) { return _mm512_sub_ps(a, b); }
    static fv mul(fv a, fv b) { return _mm512_mul_ps(a, b); }
    static fv fmadd(fv a, fv b, fv c) { return _mm512_fmadd_ps(a, b, c); }
    static fv splat0(__m128 v) { return _mm512_set1_ps(_mm_cvtss_f32(v)); }  // (not broadcastss: same g++ 12 warning)
};
using i8_vec = i8_v512;
#elif NOGGIN_SIMD_AVX2
struct i8_v256 {
    using iv = __m256i;
    using fv = __m256;
    static iv zero() { return _mm256_setzero_si256(); }
    static iv load(const std::uint8_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
    static iv bcast(const unsigned char* p) { return _mm256_set1_epi32(i8_load32(p)); }
    static iv flip(iv v) { return _mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80))); }
    static iv sub(iv a, iv b) { return _mm256_sub_epi32(a, b); }
    static iv add32(iv a, iv b) { return _mm256_add_epi32(a, b); }
    static iv mul32(iv a, iv b) { return _mm256_mullo_epi32(a, b); }
    static iv dpw(iv acc, iv a, iv b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }  // + int16 pair products
    static fv cvt(iv v) { return _mm256_cvtepi32_ps(v); }
#if NOGGIN_CPU_VNNI256
    static iv dp(iv acc, iv w, iv x) { return avx2::dpbusd(acc, w, x); }
    static iv widen(iv acc) { return acc; }
#else
    static iv dp(iv acc, iv w, iv x) { return _mm256_add_epi16(acc, _mm256_maddubs_epi16(w, x)); }
    static iv widen(iv acc) { return _mm256_madd_epi16(acc, _mm256_set1_epi16(1)); }
#endif
    static fv to_float(iv acc) { return cvt(widen(acc)); }
    static fv fzero() { return _mm256_setzero_ps(); }
    static fv fload(const float* p) { return _mm256_load_ps(p); }
    static fv floadu(const float* p) { return _mm256_loadu_ps(p); }
    static void fstoreu(float* p, fv v) { _mm256_storeu_ps(p, v); }
    static void fstore(float* p, fv v) { _mm256_store_ps(p, v); }
    static fv add(fv a, fv b) { return _mm256_add_ps(a, b); }
    static fv fsub(fv a, fv b) { return _mm256_sub_ps(a, b); }
    static fv mul(fv a, fv b) { return _mm256_mul_ps(a, b); }
    static fv fmadd(fv a, fv b, fv c) { return _mm256_fmadd_ps(a, b, c); }
    static fv splat0(__m128 v) { return _mm256_broadcastss_ps(v); }
};
using i8_vec = i8_v256;
#endif

#if NOGGIN_SIMD_AVX2
// The integer core of every kernel: s0/s1[c] = Σ over `Steps` steps of the panel rows at q (two vectors of
// rows per step) times column c's activation quants (x + c·ldx, 4 bytes per step). Signed: the weights are
// signed and the activations enter as q_x + 128 (see the header), else the weights are the unsigned side.
template <int NC, int Steps, bool Signed>
inline void i8_steps(const std::uint8_t* q, const unsigned char* x, std::size_t ldx, typename i8_vec::iv* s0,
                     typename i8_vec::iv* s1) {
    using V = i8_vec;
    for (int c = 0; c < NC; ++c) s0[c] = V::zero(), s1[c] = V::zero();
#pragma GCC unroll 8
    for (int s = 0; s < Steps; ++s) {
        const typename V::iv w0 = V::load(q + s * i8_step_bytes), w1 = V::load(q + s * i8_step_bytes + 4 * i8_lanes);
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const typename V::iv xv = V::bcast(x + c * ldx + 4 * s);
            if constexpr (Signed) {
                const typename V::iv xu = V::flip(xv);
                s0[c] = V::dp(s0[c], xu, w0);
                s1[c] = V::dp(s1[c], xu, w1);
            } else {
                s0[c] = V::dp(s0[c], w0, xv);
                s1[c] = V::dp(s1[c], w1, xv);
            }
        }
    }
}

// y[c·ldy + i] = acc (first) or += acc, for the NC columns' two vectors of rows, i < nr.
template <int NC>
inline void i8_store(const typename i8_vec::fv* acc0, const typename i8_vec::fv* acc1, float* y, std::int64_t ldy,
                     std::int64_t nr, bool first) {
    using V = i8_vec;
    constexpr std::int64_t L = i8_lanes;
    if (nr == i8_mr) {
        for (int c = 0; c < NC; ++c) {
            float* yc = y + c * ldy;
            if (first) {
                V::fstoreu(yc, acc0[c]);
                V::fstoreu(yc + L, acc1[c]);
            } else {
                V::fstoreu(yc, V::add(V::floadu(yc), acc0[c]));
                V::fstoreu(yc + L, V::add(V::floadu(yc + L), acc1[c]));
            }
        }
        return;
    }
    alignas(64) float t[i8_mr];
    for (int c = 0; c < NC; ++c) {
        V::fstore(t, acc0[c]);
        V::fstore(t + L, acc1[c]);
        float* yc = y + c * ldy;
        for (std::int64_t i = 0; i < nr; ++i) yc[i] = first ? t[i] : yc[i] + t[i];
    }
}

// Unsigned quants with a scale and a min per group of 4·GroupSteps elements — Q4_K and Q5_K (GroupSteps 8:
// sub-blocks of 32), Q2_K (4: groups of 16): one super-block (the whole panel), x at column 0's Q8_K block.
template <int NC, int GroupSteps>
inline void i8_kernel_q4_k(const i8_panel& p, const unsigned char* x, std::size_t ldx, float* y, std::int64_t ldy,
                           std::int64_t nr, bool first) {
    using V = i8_vec;
    constexpr std::int64_t L = i8_lanes;
    constexpr int groups = 8 * i8_kb / GroupSteps;
    typename V::iv is0[NC], is1[NC];  // Σ_g sc_g·(Σ q_w·q_x over group g), int32
    for (int c = 0; c < NC; ++c) is0[c] = V::zero(), is1[c] = V::zero();
    for (int b = 0; b < groups; ++b) {
        typename V::iv s0[NC], s1[NC];
        i8_steps<NC, GroupSteps, false>(p.qs + b * GroupSteps * i8_step_bytes, x + offsetof(block_q8_k, qs) + 4 * GroupSteps * b,
                                        ldx, s0, s1);
        const std::uint8_t* sc = reinterpret_cast<const std::uint8_t*>(p.sc + b * i8_mr);
        const typename V::iv sc0 = V::load(sc), sc1 = V::load(sc + 4 * L);
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            is0[c] = V::add32(is0[c], V::mul32(V::widen(s0[c]), sc0));
            is1[c] = V::add32(is1[c], V::mul32(V::widen(s1[c]), sc1));
        }
    }
    const typename V::fv d0 = V::fload(p.d), d1 = V::fload(p.d + L);
    const typename V::fv dm0 = V::fload(p.dmin), dm1 = V::fload(p.dmin + L);
    typename V::fv acc0[NC], acc1[NC];
    for (int c = 0; c < NC; ++c) {
        const unsigned char* xc = x + c * ldx;
        float dx;
        std::memcpy(&dx, xc + offsetof(block_q8_k, d), sizeof dx);
        typename V::iv m0 = V::zero(), m1 = V::zero();  // Σ_g mn_g·(sum of the column's quants of group g)
        for (int h = 0; h < i8_kb; ++h) {
            const std::uint8_t* mn = reinterpret_cast<const std::uint8_t*>(p.mn + h * i8_mr);
            const typename V::iv bs = V::bcast(xc + offsetof(block_q8_k, bsums) + 4 * h);  // bsums 2h, 2h + 1
            m0 = V::dpw(m0, V::load(mn), bs);
            m1 = V::dpw(m1, V::load(mn + 4 * L), bs);
        }
        const typename V::fv vdx = V::splat0(_mm_set_ss(dx));
        acc0[c] = V::mul(vdx, V::fsub(V::mul(d0, V::cvt(is0[c])), V::mul(dm0, V::cvt(m0))));
        acc1[c] = V::mul(vdx, V::fsub(V::mul(d1, V::cvt(is1[c])), V::mul(dm1, V::cvt(m1))));
    }
    i8_store<NC>(acc0, acc1, y, ldy, nr, first);
}

// Q3_K and Q6_K (signed quants, a scale per 16 elements): one super-block (the whole panel), x at column 0's
// Q8_K block. Per 16-element group (4 steps) the int32 sums Σ(q_x + 128)·q, less wsum, times the group's
// scale.
template <int NC>
inline void i8_kernel_q6_k(const i8_panel& p, const unsigned char* x, std::size_t ldx, float* y, std::int64_t ldy,
                           std::int64_t nr, bool first) {
    using V = i8_vec;
    constexpr std::int64_t L = i8_lanes;
    typename V::iv is0[NC], is1[NC];  // Σ_g sc_g·Σq·q_x over group g, int32
    for (int c = 0; c < NC; ++c) is0[c] = V::zero(), is1[c] = V::zero();
    for (int g = 0; g < 2 * i8_kb; ++g) {
        typename V::iv s0[NC], s1[NC];
        i8_steps<NC, 4, true>(p.qs + (g / 2) * i8_block_bytes + (g % 2) * 4 * i8_step_bytes,
                              x + offsetof(block_q8_k, qs) + 16 * g, ldx, s0, s1);
        const std::uint8_t* ws = reinterpret_cast<const std::uint8_t*>(p.wsum + g * i8_mr);
        const std::uint8_t* sc = reinterpret_cast<const std::uint8_t*>(p.sc + g * i8_mr);
        const typename V::iv ws0 = V::load(ws), ws1 = V::load(ws + 4 * L), sc0 = V::load(sc), sc1 = V::load(sc + 4 * L);
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            is0[c] = V::add32(is0[c], V::mul32(V::sub(s0[c], ws0), sc0));
            is1[c] = V::add32(is1[c], V::mul32(V::sub(s1[c], ws1), sc1));
        }
    }
    const typename V::fv d0 = V::fload(p.d), d1 = V::fload(p.d + L);
    typename V::fv acc0[NC], acc1[NC];
    for (int c = 0; c < NC; ++c) {
        float dx;
        std::memcpy(&dx, x + c * ldx + offsetof(block_q8_k, d), sizeof dx);
        const typename V::fv vdx = V::splat0(_mm_set_ss(dx));
        acc0[c] = V::mul(V::mul(vdx, d0), V::cvt(is0[c]));
        acc1[c] = V::mul(V::mul(vdx, d1), V::cvt(is1[c]));
    }
    i8_store<NC>(acc0, acc1, y, ldy, nr, first);
}

template <int NC, i8_kind K>
inline void i8_kernel(const i8_panel& p, int nb, const unsigned char* x, std::size_t ldx, float* y, std::int64_t ldy,
                      std::int64_t nr, bool first) {
    if constexpr (K == i8_kind::q4_k || K == i8_kind::q5_k || K == i8_kind::q2_k) {
        i8_kernel_q4_k<NC, K == i8_kind::q2_k ? 4 : 8>(p, x, ldx, y, ldy, nr, first);
        return;
    }
    if constexpr (K == i8_kind::q3_k || K == i8_kind::q6_k) {
        i8_kernel_q6_k<NC>(p, x, ldx, y, ldy, nr, first);
        return;
    }
    constexpr bool Q8 = K == i8_kind::q8_0;
    using V = i8_vec;
    constexpr std::int64_t L = i8_lanes;
    typename V::fv acc0[NC], acc1[NC];
    for (int c = 0; c < NC; ++c) acc0[c] = V::fzero(), acc1[c] = V::fzero();
    for (int b = 0; b < nb; ++b) {
        const unsigned char* xb = x + static_cast<std::size_t>(b) * sizeof(block_q8_1);
        typename V::iv s0[NC], s1[NC];
        i8_steps<NC, 8, Q8>(p.qs + b * i8_block_bytes, xb + offsetof(block_q8_1, qs), ldx, s0, s1);
        const typename V::fv d0 = V::fload(p.d + b * i8_mr), d1 = V::fload(p.d + b * i8_mr + L);
        if constexpr (Q8) {
            const std::uint8_t* ws = reinterpret_cast<const std::uint8_t*>(p.wsum + b * i8_mr);
            const typename V::iv c0 = V::load(ws), c1 = V::load(ws + 4 * L);
#pragma GCC unroll 8
            for (int c = 0; c < NC; ++c) {
                const typename V::fv dx = V::splat0(i8_load_ds(xb + c * ldx));
                acc0[c] = V::fmadd(V::to_float(V::sub(s0[c], c0)), V::mul(d0, dx), acc0[c]);
                acc1[c] = V::fmadd(V::to_float(V::sub(s1[c], c1)), V::mul(d1, dx), acc1[c]);
            }
        } else {
            const typename V::fv m0 = V::fload(p.m + b * i8_mr), m1 = V::fload(p.m + b * i8_mr + L);
#pragma GCC unroll 8
            for (int c = 0; c < NC; ++c) {
                const __m128 ds = i8_load_ds(xb + c * ldx);
                const typename V::fv dx = V::splat0(ds), sx = V::splat0(_mm_movehdup_ps(ds));
                acc0[c] = V::fmadd(V::to_float(s0[c]), V::mul(d0, dx), acc0[c]);
                acc1[c] = V::fmadd(V::to_float(s1[c]), V::mul(d1, dx), acc1[c]);
                acc0[c] = V::fmadd(m0, sx, acc0[c]);
                acc1[c] = V::fmadd(m1, sx, acc1[c]);
            }
        }
    }
    i8_store<NC>(acc0, acc1, y, ldy, nr, first);
}
#else
// Portable: plain integer and float loops (the scalar-only build and non-x86 hosts) over signed quants
// (Q4_0's q − 8, Q8_0's as stored), so each block's term is the scalar reference dot's (d_w·d_x)·Σq_w·q_x,
// bit for bit; the K-quant super-block terms are vec_dot_q{2,3,4,5,6}_k_ref's.
template <int NC, i8_kind K>
inline void i8_kernel(const i8_panel& p, int nb, const unsigned char* x, std::size_t ldx, float* y, std::int64_t ldy,
                      std::int64_t nr, bool first) {
    float acc[NC][i8_mr] = {};
    if constexpr (K == i8_kind::q4_k || K == i8_kind::q5_k || K == i8_kind::q2_k) {
        constexpr int group_steps = K == i8_kind::q2_k ? 4 : 8, groups = 8 * i8_kb / group_steps;
        for (int c = 0; c < NC; ++c) {
            const block_q8_k& xc = *reinterpret_cast<const block_q8_k*>(x + c * ldx);
            for (std::int64_t i = 0; i < i8_mr; ++i) {
                std::int32_t sum = 0, mins = 0;
                for (int g = 0; g < groups; ++g) {
                    std::int32_t sq = 0;
                    for (int s = g * group_steps; s < (g + 1) * group_steps; ++s)  // step s of the panel
                        for (int e = 0; e < 4; ++e) sq += p.qs[s * i8_step_bytes + i * 4 + e] * xc.qs[4 * s + e];
                    sum += p.sc[g * i8_mr + i] * sq;
                }
                for (int h = 0; h < i8_kb; ++h) {
                    const std::int32_t pair = p.mn[h * i8_mr + i];
                    mins += (pair & 0xffff) * xc.bsums[2 * h] + (pair >> 16) * xc.bsums[2 * h + 1];
                }
                acc[c][i] = xc.d * (p.d[i] * static_cast<float>(sum) - p.dmin[i] * static_cast<float>(mins));
            }
        }
    } else if constexpr (K == i8_kind::q3_k || K == i8_kind::q6_k) {
        for (int c = 0; c < NC; ++c) {
            const block_q8_k& xc = *reinterpret_cast<const block_q8_k*>(x + c * ldx);
            for (std::int64_t i = 0; i < i8_mr; ++i) {
                std::int32_t sum = 0;
                for (int g = 0; g < 2 * i8_kb; ++g) {
                    std::int32_t sq = 0;
                    for (int s = 4 * (g % 2); s < 4 * (g % 2) + 4; ++s)
                        for (int e = 0; e < 4; ++e)
                            sq += static_cast<std::int8_t>(p.qs[(g / 2) * i8_block_bytes + s * i8_step_bytes + i * 4 + e]) *
                                  xc.qs[32 * (g / 2) + 4 * s + e];
                    sum += p.sc[g * i8_mr + i] * sq;
                }
                acc[c][i] = xc.d * p.d[i] * static_cast<float>(sum);
            }
        }
    } else {  // Q4_0, Q8_0: nb blocks of 32 against Q8_1 blocks
        for (int b = 0; b < nb; ++b) {
            const std::uint8_t* q = p.qs + b * i8_block_bytes;
            for (int c = 0; c < NC; ++c) {
                const block_q8_1& xc =
                    *reinterpret_cast<const block_q8_1*>(x + c * ldx + static_cast<std::size_t>(b) * sizeof(block_q8_1));
                std::int32_t sum[i8_mr] = {};
                for (int s = 0; s < 8; ++s)
                    for (std::int64_t i = 0; i < i8_mr; ++i)
                        for (int e = 0; e < 4; ++e)
                            sum[i] += static_cast<std::int8_t>(q[s * i8_step_bytes + i * 4 + e]) * xc.qs[4 * s + e];
                const float dx = f16_to_f32(xc.d), sx = f16_to_f32(xc.s);
                for (std::int64_t i = 0; i < i8_mr; ++i) {
                    acc[c][i] += p.d[b * i8_mr + i] * dx * static_cast<float>(sum[i]);
                    if (p.m[b * i8_mr + i] != 0.0f) acc[c][i] += p.m[b * i8_mr + i] * sx;
                }
            }
        }
    }
    for (int c = 0; c < NC; ++c) {
        float* yc = y + c * ldy;
        for (std::int64_t i = 0; i < nr; ++i) yc[i] = first ? acc[c][i] : yc[i] + acc[c][i];
    }
}
#endif

template <i8_kind K>
inline void i8_kernel_n(int nc, const i8_panel& p, int nb, const unsigned char* x, std::size_t ldx, float* y,
                        std::int64_t ldy, std::int64_t nr, bool first) {
    switch (nc) {
        case 1: i8_kernel<1, K>(p, nb, x, ldx, y, ldy, nr, first); break;
        case 2: i8_kernel<2, K>(p, nb, x, ldx, y, ldy, nr, first); break;
        case 3: i8_kernel<3, K>(p, nb, x, ldx, y, ldy, nr, first); break;
        case 4: i8_kernel<4 <= i8_nr ? 4 : 1, K>(p, nb, x, ldx, y, ldy, nr, first); break;
        default: i8_kernel<5 <= i8_nr ? 5 : 1, K>(p, nb, x, ldx, y, ldy, nr, first); break;
    }
}

// --- the threaded driver and entry point --------------------------------------------------------------------

struct i8_job {
    const tensor_view* w;
    const unsigned char* x;  // columns in vec_dot_type(w->type): Q8_1 or Q8_K
    std::size_t ldx;         // bytes between columns
    std::size_t x_block_bytes;  // bytes of one activation block
    int x_block_blocks;         // 32-element blocks per activation block (Q8_1 1, Q8_K 8)
    std::int64_t n_cols;
    float* y;
};

template <i8_kind K>
inline void i8_task(void* ctx, std::size_t begin, std::size_t end, std::size_t) {
    const i8_job& j = *static_cast<const i8_job*>(ctx);
    const std::int64_t k = j.w->ne[0], rows = j.w->ne[1], blocks = k / 32;
    i8_panel panel;
    for (std::size_t tile = begin; tile < end; ++tile) {
        const std::int64_t r0 = static_cast<std::int64_t>(tile) * i8_mr;
        const std::int64_t nr = std::min(i8_mr, rows - r0);
        for (std::int64_t b0 = 0; b0 < blocks; b0 += i8_kb) {
            const int nb = static_cast<int>(std::min<std::int64_t>(i8_kb, blocks - b0));
            i8_pack<K>(*j.w, r0, nr, b0, nb, panel);
            if (b0 + i8_kb < blocks)  // the next panel of this tile, else the first of the next tile
                i8_prefetch(*j.w, r0, nr, b0 + i8_kb, static_cast<int>(std::min<std::int64_t>(i8_kb, blocks - b0 - i8_kb)));
            else if (tile + 1 < end)
                i8_prefetch(*j.w, r0 + i8_mr, std::min(i8_mr, rows - r0 - i8_mr), 0, static_cast<int>(std::min<std::int64_t>(i8_kb, blocks)));
            const unsigned char* xk = j.x + static_cast<std::size_t>(b0 / j.x_block_blocks) * j.x_block_bytes;
            std::int64_t c = 0;
            for (; c + i8_nr <= j.n_cols; c += i8_nr)
                i8_kernel<i8_nr, K>(panel, nb, xk + static_cast<std::size_t>(c) * j.ldx, j.ldx, j.y + c * rows + r0, rows, nr,
                                 b0 == 0);
            if (c < j.n_cols)
                i8_kernel_n<K>(static_cast<int>(j.n_cols - c), panel, nb, xk + static_cast<std::size_t>(c) * j.ldx, j.ldx,
                            j.y + c * rows + r0, rows, nr, b0 == 0);
        }
    }
}
}  // namespace detail

// y = W·x for n_cols columns given as activations in vec_dot_type(W.type) (xq: column c at
// xq + c·activation_row_bytes(vec_dot_type, k), as quantize_columns writes them); y column c at y + c·rows.
// W 2-D of a type gemm_int8_supported accepts.
// Tiles of detail::i8_mr rows handed out dynamically on the pool.
inline status gemm_int8(const tensor_view& w, const void* xq, std::int64_t n_cols, float* y, const thread_pool& pool) {
    const std::int64_t k = w.ne[0], rows = w.ne[1];
    if (!gemm_int8_supported(w.type))
        return status(status_code::invalid_argument, str("gemm_int8: no integer GEMM for ", dtype_name(w.type)));
    if (w.ne[2] != 1 || w.ne[3] != 1) return status(status_code::invalid_argument, "gemm_int8: weight must be 2-D");
    if (k <= 0 || rows <= 0 || n_cols < 0 || w.data == nullptr || (n_cols > 0 && (xq == nullptr || y == nullptr)))
        return status(status_code::invalid_argument, "gemm_int8: empty or null operand");
    if (k % dtype_info(w.type).block_elements != 0)
        return status(status_code::invalid_argument, str("gemm_int8: row length ", k, " is not a whole number of blocks"));
    if (n_cols == 0) return status();
    const dtype act = vec_dot_type(w.type);
    const dtype_traits& at = dtype_info(act);
    detail::i8_job job{&w, static_cast<const unsigned char*>(xq), activation_row_bytes(act, k), at.block_bytes,
                       static_cast<int>(at.block_elements / 32), n_cols, y};
    const std::size_t tiles = static_cast<std::size_t>((rows + detail::i8_mr - 1) / detail::i8_mr);
    using detail::i8_kind;
    using detail::i8_task;
    detail::run_dynamic(pool, tiles,
                        w.type == dtype::q4_k   ? i8_task<i8_kind::q4_k>
                        : w.type == dtype::q2_k ? i8_task<i8_kind::q2_k>
                        : w.type == dtype::q5_k ? i8_task<i8_kind::q5_k>
                        : w.type == dtype::q6_k ? i8_task<i8_kind::q6_k>
                        : w.type == dtype::q3_k ? i8_task<i8_kind::q3_k>
                        : w.type == dtype::q8_0 ? i8_task<i8_kind::q8_0>
                                                : i8_task<i8_kind::q4_0>,
                        &job);
    return status();
}

}  // namespace cpu
}  // namespace noggin
