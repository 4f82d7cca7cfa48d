// noggin/cpu/gemm.hpp — y = W·x for a batch of columns (prompt prefill): weight rows converted once into
// float panels, then a register-blocked float micro-kernel over every column.
//
//     // W: ne = {k, rows}, any dtype; x: n_cols columns of k floats; y: n_cols columns of `rows` floats.
//     if (n_cols >= noggin::cpu::gemm_min_cols) noggin::cpu::gemm(W, x, n_cols, y, pool);
//
//     // Or with the input in gemm_input_type(W.type) (Q8_1 / Q8_K for the integer GEMM of gemm_int8.hpp):
//     noggin::cpu::gemm_quantized(W, x_or_xq, n_cols, y, pool);
//
// Sections: tiling constants · panel packing · micro-kernel (xsimd / portable) · the threaded driver ·
//           entry points
//
// Why: a per-column dot product (matmul.hpp) unpacks every weight block once per column, so a batch of
// 256 columns pays the unpacking 256 times. Here each thread dequantizes a tile of `gemm_tile_rows` weight
// rows, `gemm_kc` elements at a time, into a row-interleaved float panel (panel[kk·MR + i] = W[r0+i][k0+kk])
// kept in L1, and a micro-kernel multiplies it with `gemm_nr` columns at once: per element of k it loads
// MR/width panel vectors, broadcasts one activation per column and does (MR/width)·NR FMAs into registers
// (2 × 6 = 12 accumulators of 8 floats on AVX2, like a BLAS sgemm). Unpacking is paid once per weight.
//
// Numerics: activations are used as floats (not quantized to Q8_1/Q8_K as the per-column dots do), so the
// result is closer to the exact product than matmul(); it is not bit-equal to matmul() — a batch of
// columns through gemm and the same columns one at a time through matmul differ by the activation
// quantization error (≈1e-3 relative). Results do not depend on the thread count.
//
// Scratch: the panel and one dequantized row slice live on the calling thread's stack
// (gemm_kc·(MR + 1) floats: 17 KiB on AVX2, 33 KiB with AVX-512); no heap, no copy of the weights.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../core/config.hpp"
#include "../core/dtype.hpp"
#include "../core/hooks.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "dot.hpp"
#include "gemm_int8.hpp"
#include "matmul.hpp"
#include "quants.hpp"

namespace noggin {
namespace cpu {

// --- tiling constants ---------------------------------------------------------------------------------

// Below this many columns the per-column dot products of matmul() are used (they read each weight once
// per column; the panel conversion only pays off when it is shared by many columns).
constexpr std::int64_t gemm_min_cols = 32;

// With AVX-512F in the host's flags (e.g. -march=native on an AVX-512 CPU) the micro-kernel uses 16-float
// vectors (32-row tiles, 12 zmm accumulators): twice the FMA width of AVX2 where the core executes
// 512-bit FMAs at full rate. Define NOGGIN_NO_AVX512 to keep the AVX2 kernel.
#if NOGGIN_SIMD_AVX2 && defined(__AVX512F__) && !defined(NOGGIN_NO_AVX512)
#define NOGGIN_GEMM_AVX512 1
#else
#define NOGGIN_GEMM_AVX512 0
#endif

namespace detail {
#if NOGGIN_GEMM_AVX512
constexpr std::int64_t gemm_width = 16;            // floats per zmm vector
#elif NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
constexpr std::int64_t gemm_width = simd::fwidth;  // floats per vector
#else
constexpr std::int64_t gemm_width = 8;             // portable kernel: 8-float "vectors" as plain arrays
#endif
constexpr std::int64_t gemm_mr = 2 * gemm_width;   // weight rows per tile (2 vectors)
constexpr std::int64_t gemm_nr = 6;                // columns per micro-kernel call
constexpr std::int64_t gemm_kc = 256;              // k elements per panel (one K-quant super-block)

// --- panel packing ----------------------------------------------------------------------------------------

// Dequantize rows [r0, r0 + nr) × elements [k0, k0 + kc) of W into panel[kk·MR + i]; rows nr..MR-1 are
// zero. `kc` and `k0` are whole numbers of W's blocks. `tmp` holds kc floats.
inline void gemm_pack(const tensor_view& w, std::int64_t r0, std::int64_t nr, std::int64_t k0, std::int64_t kc,
                      float* panel, float* tmp) {
    const dtype_traits& info = dtype_info(w.type);
    const std::size_t byte0 = static_cast<std::size_t>(k0 / info.block_elements) * info.block_bytes;
    for (std::int64_t i = 0; i < nr; ++i) {
        const unsigned char* src = static_cast<const unsigned char*>(w.row(r0 + i)) + byte0;
        dequantize_row(w.type, src, tmp, kc);
        for (std::int64_t kk = 0; kk < kc; ++kk) panel[kk * gemm_mr + i] = tmp[kk];
    }
    for (std::int64_t i = nr; i < gemm_mr; ++i)
        for (std::int64_t kk = 0; kk < kc; ++kk) panel[kk * gemm_mr + i] = 0.0f;
}

// --- micro-kernel -----------------------------------------------------------------------------------------
// acc[c][i] = Σ_kk panel[kk·MR + i] · x[c·ldx + kk] for NC ≤ gemm_nr columns; then y[c·ldy + i] is
// set (first panel of k) or incremented, for i < nr.

#if NOGGIN_GEMM_AVX512
template <int NC>
inline void gemm_kernel(const float* panel, std::int64_t kc, const float* x, std::int64_t ldx, float* y,
                        std::int64_t ldy, std::int64_t nr, bool first) {
    constexpr std::int64_t W = gemm_width;
    __m512 acc0[NC], acc1[NC];
    for (int c = 0; c < NC; ++c) acc0[c] = _mm512_setzero_ps(), acc1[c] = _mm512_setzero_ps();
    for (std::int64_t kk = 0; kk < kc; ++kk) {
        const __m512 a0 = _mm512_load_ps(panel + kk * gemm_mr);
        const __m512 a1 = _mm512_load_ps(panel + kk * gemm_mr + W);
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const __m512 b = _mm512_set1_ps(x[c * ldx + kk]);
            acc0[c] = _mm512_fmadd_ps(a0, b, acc0[c]);
            acc1[c] = _mm512_fmadd_ps(a1, b, acc1[c]);
        }
    }
    if (nr == gemm_mr) {
        for (int c = 0; c < NC; ++c) {
            float* yc = y + c * ldy;
            if (first) {
                _mm512_storeu_ps(yc, acc0[c]);
                _mm512_storeu_ps(yc + W, acc1[c]);
            } else {
                _mm512_storeu_ps(yc, _mm512_add_ps(_mm512_loadu_ps(yc), acc0[c]));
                _mm512_storeu_ps(yc + W, _mm512_add_ps(_mm512_loadu_ps(yc + W), acc1[c]));
            }
        }
        return;
    }
    alignas(64) float t[gemm_mr];
    for (int c = 0; c < NC; ++c) {
        _mm512_store_ps(t, acc0[c]);
        _mm512_store_ps(t + W, acc1[c]);
        float* yc = y + c * ldy;
        for (std::int64_t i = 0; i < nr; ++i) yc[i] = first ? t[i] : yc[i] + t[i];
    }
}
#elif NOGGIN_SIMD_AVX2 || NOGGIN_SIMD_NEON
template <int NC>
inline void gemm_kernel(const float* panel, std::int64_t kc, const float* x, std::int64_t ldx, float* y,
                        std::int64_t ldy, std::int64_t nr, bool first) {
    using simd::fbatch;
    constexpr std::int64_t W = gemm_width;
    fbatch acc0[NC], acc1[NC];
    for (int c = 0; c < NC; ++c) acc0[c] = fbatch(0.0f), acc1[c] = fbatch(0.0f);
    for (std::int64_t kk = 0; kk < kc; ++kk) {
        const fbatch a0 = fbatch::load_aligned(panel + kk * gemm_mr);
        const fbatch a1 = fbatch::load_aligned(panel + kk * gemm_mr + W);
#pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const fbatch b(x[c * ldx + kk]);
            acc0[c] = xsimd::fma(a0, b, acc0[c]);
            acc1[c] = xsimd::fma(a1, b, acc1[c]);
        }
    }
    if (nr == gemm_mr) {
        for (int c = 0; c < NC; ++c) {
            float* yc = y + c * ldy;
            if (first) {
                acc0[c].store_unaligned(yc);
                acc1[c].store_unaligned(yc + W);
            } else {
                (fbatch::load_unaligned(yc) + acc0[c]).store_unaligned(yc);
                (fbatch::load_unaligned(yc + W) + acc1[c]).store_unaligned(yc + W);
            }
        }
        return;
    }
    alignas(64) float t[gemm_mr];
    for (int c = 0; c < NC; ++c) {
        acc0[c].store_aligned(t);
        acc1[c].store_aligned(t + W);
        float* yc = y + c * ldy;
        for (std::int64_t i = 0; i < nr; ++i) yc[i] = first ? t[i] : yc[i] + t[i];
    }
}
#else
template <int NC>
inline void gemm_kernel(const float* panel, std::int64_t kc, const float* x, std::int64_t ldx, float* y,
                        std::int64_t ldy, std::int64_t nr, bool first) {
    float acc[NC][gemm_mr] = {};
    for (std::int64_t kk = 0; kk < kc; ++kk) {
        const float* a = panel + kk * gemm_mr;
        for (int c = 0; c < NC; ++c) {
            const float b = x[c * ldx + kk];
            for (std::int64_t i = 0; i < gemm_mr; ++i) acc[c][i] += a[i] * b;
        }
    }
    for (int c = 0; c < NC; ++c) {
        float* yc = y + c * ldy;
        for (std::int64_t i = 0; i < nr; ++i) yc[i] = first ? acc[c][i] : yc[i] + acc[c][i];
    }
}
#endif

inline void gemm_kernel_n(int nc, const float* panel, std::int64_t kc, const float* x, std::int64_t ldx, float* y,
                          std::int64_t ldy, std::int64_t nr, bool first) {
    switch (nc) {
        case 1: gemm_kernel<1>(panel, kc, x, ldx, y, ldy, nr, first); break;
        case 2: gemm_kernel<2>(panel, kc, x, ldx, y, ldy, nr, first); break;
        case 3: gemm_kernel<3>(panel, kc, x, ldx, y, ldy, nr, first); break;
        case 4: gemm_kernel<4>(panel, kc, x, ldx, y, ldy, nr, first); break;
        case 5: gemm_kernel<5>(panel, kc, x, ldx, y, ldy, nr, first); break;
        default: gemm_kernel<6>(panel, kc, x, ldx, y, ldy, nr, first); break;
    }
}

// --- the threaded driver -----------------------------------------------------------------------------------

struct gemm_job {
    const tensor_view* w;
    const float* x;
    std::int64_t n_cols;
    float* y;
};

inline void gemm_task(void* ctx, std::size_t begin, std::size_t end, std::size_t) {
    const gemm_job& j = *static_cast<const gemm_job*>(ctx);
    const std::int64_t k = j.w->ne[0], rows = j.w->ne[1];
    alignas(64) float panel[gemm_kc * gemm_mr];
    alignas(64) float tmp[gemm_kc];
    for (std::size_t tile = begin; tile < end; ++tile) {
        const std::int64_t r0 = static_cast<std::int64_t>(tile) * gemm_mr;
        const std::int64_t nr = std::min(gemm_mr, rows - r0);
        for (std::int64_t k0 = 0; k0 < k; k0 += gemm_kc) {
            const std::int64_t kc = std::min(gemm_kc, k - k0);
            gemm_pack(*j.w, r0, nr, k0, kc, panel, tmp);
            std::int64_t c = 0;
            for (; c + gemm_nr <= j.n_cols; c += gemm_nr)
                gemm_kernel<gemm_nr>(panel, kc, j.x + c * k + k0, k, j.y + c * rows + r0, rows, nr, k0 == 0);
            if (c < j.n_cols)
                gemm_kernel_n(static_cast<int>(j.n_cols - c), panel, kc, j.x + c * k + k0, k, j.y + c * rows + r0, rows,
                              nr, k0 == 0);
        }
    }
}
}  // namespace detail

// y = W·x for n_cols columns of k = W.ne[0] floats (x column c at x + c·k, y column c at y + c·rows).
// Any dtype; W 2-D with k a whole number of its blocks. 16-row tiles handed out dynamically on the pool.
inline status gemm(const tensor_view& w, const float* x, std::int64_t n_cols, float* y, const thread_pool& pool) {
    const std::int64_t k = w.ne[0], rows = w.ne[1];
    if (w.ne[2] != 1 || w.ne[3] != 1) return status(status_code::invalid_argument, "gemm: weight must be 2-D");
    if (k <= 0 || rows <= 0 || n_cols < 0 || w.data == nullptr || (n_cols > 0 && (x == nullptr || y == nullptr)))
        return status(status_code::invalid_argument, "gemm: empty or null operand");
    const std::int64_t be = dtype_info(w.type).block_elements;
    if (k % be != 0 || detail::gemm_kc % be != 0)
        return status(status_code::invalid_argument,
                      str("gemm: row length ", k, " is not a whole number of ", dtype_name(w.type), " blocks"));
    if (n_cols == 0) return status();
    detail::gemm_job job{&w, x, n_cols, y};
    const std::size_t tiles = static_cast<std::size_t>((rows + detail::gemm_mr - 1) / detail::gemm_mr);
    detail::run_dynamic(pool, tiles, detail::gemm_task, &job);
    return status();
}

// The activation format gemm_quantized takes for weights of type `w`: vec_dot_type(w) (Q8_1, or Q8_K for
// K-quants) where an integer GEMM exists (gemm_int8_supported: Q4_0, Q2_K, Q4_K, and Q8_0, Q3_K, Q5_K, Q6_K
// where VNNI exists), f32 otherwise. So a caller that keeps its input quantized to vec_dot_type for the per-column dots can hand
// the same buffer to the GEMM.
inline dtype gemm_input_type(dtype w) { return gemm_int8_supported(w) ? vec_dot_type(w) : dtype::f32; }

// y = W·x for n_cols columns with x in gemm_input_type(W.type): quantized columns (activation_row_bytes
// apart, as quantize_columns writes them) through gemm_int8, or plain f32 columns through gemm.
inline status gemm_quantized(const tensor_view& w, const void* x, std::int64_t n_cols, float* y, const thread_pool& pool) {
    if (gemm_int8_supported(w.type)) return gemm_int8(w, x, n_cols, y, pool);
    return gemm(w, static_cast<const float*>(x), n_cols, y, pool);
}

}  // namespace cpu
}  // namespace noggin
