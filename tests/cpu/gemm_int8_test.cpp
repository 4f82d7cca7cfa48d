// Tests for noggin/cpu/gemm_int8.hpp (and gemm.hpp's gemm_quantized dispatch): the integer GEMM for Q4_0
// and Q8_0 × Q8_1 and Q2_K / Q3_K / Q4_K / Q5_K / Q6_K × Q8_K against the per-column dots on the same quantized input
// (matmul_quantized: equal to float rounding) and against the double-precision dequantize-then-multiply
// reference (matmul_ref: the activation quantization error), with row counts that leave partial tiles, k
// that leaves a partial panel, column counts that leave every micro-kernel tail, the int16 worst cases of
// the non-VNNI path (Q4_0, Q4_K), the largest Q5_K and Q2_K quants, Q8_0's and Q6_K's extreme quants (the unsigned
// offset and its correction), and identical results on 1 and 2 threads. Q8_0, Q3_K, Q5_K and Q6_K run where
// this build's kernel sums them exactly (gemm_int8_supported; not on AVX2 without VNNI).
#include "noggin/cpu/gemm_int8.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "cpu/test_util.hpp"
#include "noggin/core/default_thread_pool.hpp"
#include "noggin/cpu/gemm.hpp"
#include "noggin/cpu/matmul.hpp"

using namespace noggin;
using noggin_test::bytes_of;

namespace {

std::vector<unsigned char> quantize_matrix(dtype t, const std::vector<float>& wf, std::int64_t k, std::int64_t rows) {
    std::vector<unsigned char> wq(bytes_of(t, k) * static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r)
        REQUIRE(cpu::quantize_row(t, wf.data() + r * k, wq.data() + r * bytes_of(t, k), k));
    return wq;
}

// gemm_int8 on weights of type t against the per-column dots and the exact product, on 1 and 2 threads;
// returns the number of (shape, thread count) cases checked.
int check_against_dots(dtype t) {
    default_thread_pool two(2);
    const thread_pool pools[] = {serial_thread_pool(), two.hook()};
    const std::string type_name = dtype_name(t);
    CAPTURE(type_name);
    int cases = 0;
    // k: one block; one full panel plus a partial one (9 blocks); 25 blocks (Q4_K: 1, 3 and 5 super-blocks,
    // a panel each). rows: less than one tile, two 32-row tiles and a partial one (also partial for 16-row
    // tiles).
    const dtype act = cpu::vec_dot_type(t);
    const bool k_quant = dtype_info(t).block_elements == 256;
    for (std::int64_t k : k_quant ? std::vector<std::int64_t>{256, 768, 1280} : std::vector<std::int64_t>{32, 288, 800}) {
        for (std::int64_t rows : {5, 77}) {
            CAPTURE(k);
            CAPTURE(rows);
            const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(k * rows), 5);
            std::vector<unsigned char> wq = quantize_matrix(t, wf, k, rows);
            const tensor_view w = tensor_view::contiguous(t, wq.data(), {k, rows});
            for (std::int64_t n_cols : {1, 2, 5, 6, 7, 13, 35}) {
                CAPTURE(n_cols);
                const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(k * n_cols), 9, 2.0f);
                std::vector<unsigned char> xq(cpu::activation_row_bytes(act, k) * static_cast<std::size_t>(n_cols));
                cpu::quantize_columns(act, x.data(), n_cols, k, xq.data(), serial_thread_pool());
                std::vector<float> dots(static_cast<std::size_t>(rows * n_cols)), ref(dots.size()), buf(static_cast<std::size_t>(k));
                REQUIRE(cpu::matmul_quantized(w, xq.data(), n_cols, dots.data(), serial_thread_pool()).ok());
                cpu::matmul_ref(w, x.data(), n_cols, ref.data(), buf.data());
                std::vector<float> first;
                for (const thread_pool& pool : pools) {
                    std::vector<float> y(dots.size(), -1.0f);
                    REQUIRE(cpu::gemm_int8(w, xq.data(), n_cols, y.data(), pool).ok());
                    // Same integer block sums and float terms as the dot; only the order of the float sum
                    // over blocks differs.
                    CHECK(noggin_test::rel_rms(y.data(), dots.data(), y.size()) <= 1e-6);
                    // Against the exact product: the activation quantization error (≈1e-2; the per-column
                    // dots' own error, to which the check above ties this one).
                    CHECK(noggin_test::rel_rms(y.data(), ref.data(), y.size()) <= 2e-2);
                    if (first.empty())
                        first = y;
                    else
                        CHECK(y == first);  // threads change nothing
                    ++cases;
                }
            }
        }
    }
    return cases;
}

// gemm_int8 on the K-quant matrix w against the per-column dots, for 7 columns of ±1 activations in runs of
// `run` elements of one sign (one run in three negative), which Q8_K quantizes to -128 and 127 (its scale is
// set by the first element, with sign): within 1e-6 of the largest output, since both sides sum the same
// exact integers per super-block and differ only in float rounding.
void check_sign_runs_against_dots(const tensor_view& w, std::int64_t run) {
    const std::int64_t k = w.ne[0], rows = w.ne[1], n_cols = 7;
    std::vector<float> x(static_cast<std::size_t>(k * n_cols));
    for (std::int64_t c = 0; c < n_cols; ++c)
        for (std::int64_t i = 0; i < k; ++i) x[static_cast<std::size_t>(c * k + i)] = ((i / run + c) % 3 == 0) ? -1.0f : 1.0f;
    std::vector<unsigned char> xq(cpu::activation_row_bytes(dtype::q8_k, k) * static_cast<std::size_t>(n_cols));
    cpu::quantize_columns(dtype::q8_k, x.data(), n_cols, k, xq.data(), serial_thread_pool());
    std::vector<float> y(static_cast<std::size_t>(rows * n_cols)), dots(y.size());
    REQUIRE(cpu::gemm_int8(w, xq.data(), n_cols, y.data(), serial_thread_pool()).ok());
    REQUIRE(cpu::matmul_quantized(w, xq.data(), n_cols, dots.data(), serial_thread_pool()).ok());
    float largest = 0.0f;
    for (float v : dots) largest = std::max(largest, std::fabs(v));
    REQUIRE(largest > 0.0f);
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(std::fabs(y[i] - dots[i]) <= 1e-6f * largest);
}

// Every quant at its largest (Q4_K 15; Q5_K 31, fifth bits set), every 6-bit scale and min 63, activations
// ±1 in runs of one sign per sub-block: the largest pair sums maddubs can produce (Q4_K) and the largest
// int32 terms of the scale and min sums.
template <typename Block>
void check_largest_k_quants(dtype t) {
    const std::int64_t k = 1024, rows = 37;
    std::vector<Block> wb(static_cast<std::size_t>(k / 256 * rows));
    const int all63[8] = {63, 63, 63, 63, 63, 63, 63, 63};
    for (std::size_t i = 0; i < wb.size(); ++i) {
        wb[i].d = f32_to_f16(i % 3 == 0 ? 0.5f : 0.25f);
        wb[i].dmin = f32_to_f16(i % 2 == 0 ? 0.125f : 0.0625f);
        cpu::pack_scale_min_k4(all63, all63, wb[i].scales);
        for (std::uint8_t& q : wb[i].qs) q = 0xff;
        if constexpr (std::is_same<Block, block_q5_k>::value)
            for (std::uint8_t& q : wb[i].qh) q = 0xff;
    }
    check_sign_runs_against_dots(tensor_view::contiguous(t, wb.data(), {k, rows}), 32);
}

}  // namespace

TEST_CASE("gemm_int8 Q4_0, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K equal the per-column dots to float rounding, odd sizes and tails") {
    for (dtype t : {dtype::q4_0, dtype::q8_0, dtype::q2_k, dtype::q3_k, dtype::q4_k, dtype::q5_k, dtype::q6_k}) {
        if (!cpu::gemm_int8_supported(t)) {
            MESSAGE("no exact integer GEMM for ", std::string(dtype_name(t)),
                    " in this build (AVX2 without VNNI): the float GEMM takes it");
            continue;
        }
        CHECK(check_against_dots(t) == 3 * 2 * 7 * 2);
    }
}

TEST_CASE("gemm_int8 is exact at the int16 worst case (all weight quants 15, activations ±127)") {
    // Every weight quant 15 (value 7·d) and every activation quantized to +127 or -127 in runs that keep
    // one sign per 8-step block: the largest pair sums maddubs can produce (±3810, ±30480 per block lane).
    const std::int64_t k = 512, rows = 33;
    std::vector<block_q4_0> wb(static_cast<std::size_t>(k / 32 * rows));
    for (std::size_t i = 0; i < wb.size(); ++i) {
        wb[i].d = f32_to_f16(i % 3 == 0 ? 0.5f : 0.25f);
        for (std::uint8_t& q : wb[i].qs) q = 0xff;
    }
    const tensor_view w = tensor_view::contiguous(dtype::q4_0, wb.data(), {k, rows});
    const std::int64_t n_cols = 7;
    std::vector<float> x(static_cast<std::size_t>(k * n_cols));
    for (std::int64_t c = 0; c < n_cols; ++c)
        for (std::int64_t i = 0; i < k; ++i) x[static_cast<std::size_t>(c * k + i)] = ((i / 32 + c) % 2 == 0) ? 1.0f : -1.0f;
    std::vector<unsigned char> xq(cpu::activation_row_bytes(dtype::q8_1, k) * static_cast<std::size_t>(n_cols));
    cpu::quantize_columns(dtype::q8_1, x.data(), n_cols, k, xq.data(), serial_thread_pool());
    std::vector<float> y(static_cast<std::size_t>(rows * n_cols)), dots(y.size());
    REQUIRE(cpu::gemm_int8(w, xq.data(), n_cols, y.data(), serial_thread_pool()).ok());
    REQUIRE(cpu::matmul_quantized(w, xq.data(), n_cols, dots.data(), serial_thread_pool()).ok());
    // Each block contributes ±7·d·32 exactly (d_x = 1/127 in f16 times 127 is within 2^-11 of 1).
    for (std::int64_t c = 0; c < n_cols; ++c)
        for (std::int64_t r = 0; r < rows; ++r) {
            double exact = 0.0;
            for (std::int64_t b = 0; b < k / 32; ++b)
                exact += (((b + c) % 2 == 0) ? 1.0 : -1.0) * 7.0 * 32.0 *
                         f16_to_f32(wb[static_cast<std::size_t>(r * (k / 32) + b)].d);
            const float got = y[static_cast<std::size_t>(c * rows + r)];
            CHECK(std::fabs(got - dots[static_cast<std::size_t>(c * rows + r)]) <= 1e-4f);
            CHECK(std::fabs(got - exact) <= 1e-2 * (1.0 + std::fabs(exact)));
        }
}

TEST_CASE("gemm_int8 Q4_K and Q5_K at their largest quants, scales and mins (Q4_K: maddubs' int16 worst case)") {
    check_largest_k_quants<block_q4_k>(dtype::q4_k);
    if (cpu::gemm_int8_supported(dtype::q5_k))
        check_largest_k_quants<block_q5_k>(dtype::q5_k);
    else
        MESSAGE("no exact integer GEMM for Q5_K in this build (AVX2 without VNNI): Q4_K only");
}

TEST_CASE("gemm_int8 Q2_K at its largest quants, scales and mins (3, 15, 15), activations -128 / 127 in 16-element runs") {
    const std::int64_t k = 768, rows = 35;
    std::vector<block_q2_k> wb(static_cast<std::size_t>(k / 256 * rows));
    for (std::size_t i = 0; i < wb.size(); ++i) {
        wb[i].d = f32_to_f16(i % 3 == 0 ? 0.5f : 0.25f);
        wb[i].dmin = f32_to_f16(i % 2 == 0 ? 0.125f : 0.0625f);
        for (std::uint8_t& q : wb[i].qs) q = 0xff;  // every quant 3
        for (std::uint8_t& sc : wb[i].scales) sc = 0xff;  // scale 15, min 15
    }
    check_sign_runs_against_dots(tensor_view::contiguous(dtype::q2_k, wb.data(), {k, rows}), 16);
}

TEST_CASE("gemm_int8 Q6_K is exact at extreme quants (q 0 and 63, scales 127 and -128, activations -128 / 127)") {
    if (!cpu::gemm_int8_supported(dtype::q6_k)) {
        MESSAGE("no exact integer GEMM for Q6_K in this build (AVX2 without VNNI): nothing to test");
        return;
    }
    const std::int64_t k = 768, rows = 35;
    std::vector<block_q6_k> wb(static_cast<std::size_t>(k / 256 * rows));
    for (std::size_t i = 0; i < wb.size(); ++i) {
        wb[i].d = f32_to_f16(i % 3 == 0 ? 0.5f : 0.25f);
        const std::uint8_t bits = (i % 4 == 1) ? 0x00 : 0xff;  // every q 0 (−32) or 63 (+31)
        for (std::uint8_t& q : wb[i].ql) q = bits;
        for (std::uint8_t& q : wb[i].qh) q = bits;
        for (int g = 0; g < 16; ++g) wb[i].scales[g] = static_cast<std::int8_t>((g + static_cast<int>(i)) % 2 == 0 ? 127 : -128);
    }
    check_sign_runs_against_dots(tensor_view::contiguous(dtype::q6_k, wb.data(), {k, rows}), 16);
}

TEST_CASE("gemm_int8 Q8_0 is exact at extreme quants (±127 weights and activations, the offset's edges)") {
    if (!cpu::gemm_int8_supported(dtype::q8_0)) {
        MESSAGE("no exact integer GEMM for Q8_0 in this build (AVX2 without VNNI): nothing to test");
        return;
    }
    // Weights ±127 (and −128, which quantize_row never writes but a file may hold) in sign runs, activations
    // ±1 quantized to ±127: every block sum is ±32·127·127 or a mix; the unsigned activation q + 128 spans
    // 1..255 and the correction 128·Σq_w the whole range of a block.
    const std::int64_t k = 512, rows = 35, n_cols = 7;
    std::vector<block_q8_0> wb(static_cast<std::size_t>(k / 32 * rows));
    for (std::size_t i = 0; i < wb.size(); ++i) {
        wb[i].d = f32_to_f16(i % 3 == 0 ? 0.5f : 0.25f);
        for (int j = 0; j < 32; ++j)
            wb[i].qs[j] = static_cast<std::int8_t>(i % 5 == 0 ? -128 : ((j / (1 + i % 7)) % 2 == 0 ? 127 : -127));
    }
    const tensor_view w = tensor_view::contiguous(dtype::q8_0, wb.data(), {k, rows});
    std::vector<float> x(static_cast<std::size_t>(k * n_cols));
    for (std::int64_t c = 0; c < n_cols; ++c)
        for (std::int64_t i = 0; i < k; ++i) x[static_cast<std::size_t>(c * k + i)] = ((i / 32 + c + i % 3) % 2 == 0) ? 1.0f : -1.0f;
    std::vector<unsigned char> xq(cpu::activation_row_bytes(dtype::q8_1, k) * static_cast<std::size_t>(n_cols));
    cpu::quantize_columns(dtype::q8_1, x.data(), n_cols, k, xq.data(), serial_thread_pool());
    std::vector<float> y(static_cast<std::size_t>(rows * n_cols)), dots(y.size());
    REQUIRE(cpu::gemm_int8(w, xq.data(), n_cols, y.data(), serial_thread_pool()).ok());
    REQUIRE(cpu::matmul_quantized(w, xq.data(), n_cols, dots.data(), serial_thread_pool()).ok());
    // The integer block sums are exact on both sides; only the float order over 16 blocks differs, so the
    // difference is float rounding of the block terms (which cancel to small sums here): bounded by a few
    // ulps of Σ|term|.
    const auto* xb = reinterpret_cast<const block_q8_1*>(xq.data());
    const std::int64_t nb = k / 32;
    for (std::int64_t c = 0; c < n_cols; ++c)
        for (std::int64_t r = 0; r < rows; ++r) {
            double abs_terms = 0.0;
            for (std::int64_t b = 0; b < nb; ++b) {
                const block_q8_0& wr = wb[static_cast<std::size_t>(r * nb + b)];
                const block_q8_1& xc = xb[c * nb + b];
                std::int64_t s = 0;
                for (int j = 0; j < 32; ++j) s += wr.qs[j] * xc.qs[j];
                abs_terms += std::fabs(double(f16_to_f32(wr.d)) * f16_to_f32(xc.d) * double(s));
            }
            const std::size_t i = static_cast<std::size_t>(c * rows + r);
            CHECK(std::fabs(y[i] - dots[i]) <= 4e-7 * abs_terms);
        }
}

TEST_CASE("gemm_quantized: quantized input through the integer GEMM for Q4_0, Q2_K, Q4_K (and Q8_0, Q3_K, Q5_K, Q6_K with VNNI), floats otherwise") {
    CHECK(cpu::gemm_input_type(dtype::q4_0) == dtype::q8_1);
    CHECK(cpu::gemm_input_type(dtype::q4_k) == dtype::q8_k);
    CHECK(cpu::gemm_input_type(dtype::q2_k) == dtype::q8_k);
    CHECK(cpu::gemm_input_type(dtype::q8_0) == (cpu::gemm_int8_supported(dtype::q8_0) ? dtype::q8_1 : dtype::f32));
    for (dtype t : noggin_test::all_dtypes()) {
        const dtype in = cpu::gemm_input_type(t);
        CHECK((in == dtype::f32 || in == cpu::vec_dot_type(t)));
    }
    const std::int64_t k = 256, rows = 19, n_cols = 9;
    const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(k * rows), 3);
    const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(k * n_cols), 4);
    for (dtype t : {dtype::q4_0, dtype::q8_0, dtype::q3_k, dtype::q4_k, dtype::q5_k, dtype::q6_k, dtype::q2_k, dtype::f16}) {
        std::vector<unsigned char> wq = quantize_matrix(t, wf, k, rows);
        const tensor_view w = tensor_view::contiguous(t, wq.data(), {k, rows});
        std::vector<float> y(static_cast<std::size_t>(rows * n_cols)), want(y.size());
        const dtype in = cpu::gemm_input_type(t);
        if (in != dtype::f32) {
            std::vector<unsigned char> xq(cpu::activation_row_bytes(in, k) * static_cast<std::size_t>(n_cols));
            cpu::quantize_columns(in, x.data(), n_cols, k, xq.data(), serial_thread_pool());
            REQUIRE(cpu::gemm_quantized(w, xq.data(), n_cols, y.data(), serial_thread_pool()).ok());
            REQUIRE(cpu::gemm_int8(w, xq.data(), n_cols, want.data(), serial_thread_pool()).ok());
        } else {
            REQUIRE(cpu::gemm_quantized(w, x.data(), n_cols, y.data(), serial_thread_pool()).ok());
            REQUIRE(cpu::gemm(w, x.data(), n_cols, want.data(), serial_thread_pool()).ok());
        }
        CHECK(y == want);
    }
}

TEST_CASE("gemm_int8 rejects unsupported types and bad shapes, accepts zero columns") {
    std::vector<block_q4_0> w(4);
    const tensor_view v = tensor_view::contiguous(dtype::q4_0, w.data(), {64, 2});
    std::vector<block_q8_1> xq(2);
    float y[2];
    tensor_view bad = v;
    bad.ne[0] = 48;
    CHECK(cpu::gemm_int8(bad, xq.data(), 1, y, serial_thread_pool()).code() == status_code::invalid_argument);
    tensor_view q5 = v;
    q5.type = dtype::q5_0;
    CHECK(cpu::gemm_int8(q5, xq.data(), 1, y, serial_thread_pool()).code() == status_code::invalid_argument);
    CHECK(cpu::gemm_int8(v, nullptr, 1, y, serial_thread_pool()).code() == status_code::invalid_argument);
    CHECK(cpu::gemm_int8(v, xq.data(), 0, y, serial_thread_pool()).ok());
}
