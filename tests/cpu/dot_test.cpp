// Tests for noggin/cpu/dot.hpp: each scalar reference against a double-precision dot of the
// dequantized operands, and the compiled (SIMD) dot against the scalar reference, on random data with
// odd block counts and float tails.
#include "noggin/cpu/dot.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "cpu/test_util.hpp"

using namespace noggin;
using noggin_test::bytes_of;

namespace {

struct dot_case {
    std::vector<unsigned char> w, x;  // weight row (type t), activations (vec_dot_type(t))
    double exact = 0.0;               // Σ w_i x_i of the dequantized operands, in double
    double magnitude = 0.0;           // Σ |w_i x_i|
};

dot_case make_case(dtype t, std::int64_t n, std::uint32_t seed) {
    dot_case c;
    const dtype act = cpu::vec_dot_type(t);
    const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(n), seed);
    std::vector<float> xf = noggin_test::random_floats(static_cast<std::size_t>(n), seed + 1000, 3.0f);
    xf[0] = 9.0f;  // an outlier, as real activations have
    c.w.resize(bytes_of(t, n));
    c.x.resize(bytes_of(act, n));
    REQUIRE(cpu::quantize_row(t, wf.data(), c.w.data(), n));
    REQUIRE(cpu::quantize_activations(act, xf.data(), c.x.data(), n));
    std::vector<float> wd(static_cast<std::size_t>(n)), xd(static_cast<std::size_t>(n));
    REQUIRE(cpu::dequantize_row(t, c.w.data(), wd.data(), n));
    REQUIRE(cpu::dequantize_row(act, c.x.data(), xd.data(), n));
    for (std::int64_t i = 0; i < n; ++i) {
        c.exact += static_cast<double>(wd[i]) * xd[i];
        c.magnitude += std::fabs(static_cast<double>(wd[i]) * xd[i]);
    }
    return c;
}

}  // namespace

TEST_CASE("every dtype: scalar reference dot equals the dequantized dot; compiled dot matches the reference") {
    for (dtype t : noggin_test::all_dtypes()) {
        const std::int64_t block = dtype_info(t).block_elements;
        const std::string name = dtype_name(t);
        CAPTURE(name);
        // Block counts 1, 3, 7, 33 (odd, past every unroll); float types get element counts with tails.
        const std::int64_t counts[] = {1, 3, 7, 33};
        for (std::int64_t count : counts) {
            const std::int64_t n = block == 1 ? count * 31 + 2 : count * block;
            CAPTURE(n);
            const dot_case c = make_case(t, n, static_cast<std::uint32_t>(n) * 7u + 1u);
            const float ref = cpu::vec_dot_function_ref(t)(n, c.w.data(), c.x.data());
            const float fast = cpu::vec_dot_function(t)(n, c.w.data(), c.x.data());
            // Reference: integer sums are exact, float scale products round once per block.
            CHECK(std::fabs(ref - c.exact) <= 1e-5 * c.magnitude + 1e-30);
            // SIMD: summation order, plus the f16 block sum s of Q8_1 (≤ 2^-11 of the offset term).
            const double tol = (cpu::vec_dot_type(t) == dtype::q8_1 ? 2e-3 : 1e-5) * c.magnitude + 1e-30;
            CHECK(std::fabs(fast - ref) <= tol);
            CHECK(cpu::vec_dot(t, n, c.w.data(), c.x.data()) == fast);
        }
    }
}

TEST_CASE("float dots handle n = 0 and every tail length") {
    for (std::int64_t n = 0; n <= 70; ++n) {
        const std::vector<float> w = noggin_test::random_floats(static_cast<std::size_t>(n) + 1, 11);
        const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(n) + 1, 12);
        std::vector<f16> wh(static_cast<std::size_t>(n) + 1);
        std::vector<bf16> wb(static_cast<std::size_t>(n) + 1);
        cpu::f32_to_f16_row(w.data(), wh.data(), n);
        cpu::f32_to_bf16_row(w.data(), wb.data(), n);
        double mag = 1e-30;
        for (std::int64_t i = 0; i < n; ++i) mag += std::fabs(w[i] * x[i]);
        CHECK(std::fabs(cpu::vec_dot(dtype::f32, n, w.data(), x.data()) - cpu::vec_dot_f32_ref(n, w.data(), x.data())) <= 1e-6 * mag);
        CHECK(std::fabs(cpu::vec_dot(dtype::f16, n, wh.data(), x.data()) - cpu::vec_dot_f16_ref(n, wh.data(), x.data())) <= 1e-6 * mag);
        CHECK(std::fabs(cpu::vec_dot(dtype::bf16, n, wb.data(), x.data()) - cpu::vec_dot_bf16_ref(n, wb.data(), x.data())) <= 1e-6 * mag);
    }
}

TEST_CASE("F16 dots of long rows (the FFN down projection's k) match the reference") {
    for (std::int64_t n : {4095, 4096, 4099, 8960, 8963}) {
        CAPTURE(n);
        const std::vector<float> w = noggin_test::random_floats(static_cast<std::size_t>(n), 13);
        const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(n), 14);
        std::vector<f16> wh(static_cast<std::size_t>(n));
        cpu::f32_to_f16_row(w.data(), wh.data(), n);
        double mag = 1e-30;
        for (std::int64_t i = 0; i < n; ++i) mag += std::fabs(w[i] * x[i]);
        const float fast = cpu::vec_dot(dtype::f16, n, wh.data(), x.data());
        CHECK(std::fabs(fast - cpu::vec_dot_f16_ref(n, wh.data(), x.data())) <= 1e-6 * mag);
    }
}

#if NOGGIN_CPU_Q8_0_SIDE
TEST_CASE("Q8_0 decode dot with column side data is bit-equal to the plain Q8_0 dot (incl. -128 quants)") {
    for (std::int64_t count : {1, 3, 4, 5, 7, 8, 33, 48, 280}) {
        const std::int64_t n = count * 32;
        CAPTURE(n);
        const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(n), 120u + static_cast<std::uint32_t>(n));
        std::vector<unsigned char> w(bytes_of(dtype::q8_0, n));
        REQUIRE(cpu::quantize_row(dtype::q8_0, wf.data(), w.data(), n));
        block_q8_0* wb = reinterpret_cast<block_q8_0*>(w.data());
        wb[0].qs[0] = -128;  // the quantizer never writes it; a file may
        wb[count - 1].qs[31] = -128;
        const std::vector<float> xf = noggin_test::random_floats(static_cast<std::size_t>(n), 121u + static_cast<std::uint32_t>(n), 2.0f);
        std::vector<unsigned char> x(bytes_of(dtype::q8_1, n));
        REQUIRE(cpu::quantize_activations(dtype::q8_1, xf.data(), x.data(), n));
        // (activation quants stay in ±127: the plain dot's vpsignb would wrap −(−128))
        std::vector<std::int32_t> c(static_cast<std::size_t>(count));
        std::vector<float> d(static_cast<std::size_t>(count));
        cpu::q8_0_side(reinterpret_cast<const block_q8_1*>(x.data()), count, c.data(), d.data());
        CHECK(cpu::vec_dot_q8_0_side(n, w.data(), x.data(), c.data(), d.data()) == cpu::vec_dot_q8_0_avx2(n, w.data(), x.data()));
    }
}
#endif

TEST_CASE("quantize_activations produces the reference quantizer's bytes") {
    for (std::uint32_t seed = 1; seed <= 5; ++seed) {
        std::vector<float> x = noggin_test::random_floats(32 * 37, seed, seed == 5 ? 1e-3f : 2.0f);
        // exact halves after scaling: block whose max is 127 → x/d = x
        for (int j = 0; j < 32; ++j) x[j] = (j == 0) ? 127.0f : static_cast<float>(j) - 15.5f;
        for (int j = 32; j < 64; ++j) x[j] = 0.0f;  // an all-zero block
        for (dtype act : {dtype::q8_1, dtype::q8_k}) {
            const std::int64_t n = act == dtype::q8_k ? 256 * 4 : 32 * 37;
            std::vector<unsigned char> a(bytes_of(act, n)), b(bytes_of(act, n));
            REQUIRE(cpu::quantize_activations(act, x.data(), a.data(), n));
            REQUIRE(cpu::quantize_row(act, x.data(), b.data(), n));
            CHECK(a == b);
        }
    }
}

TEST_CASE("4-row dots are bit-equal to four 1-row dots (block counts with and without 4-block tails)") {
    for (dtype t : noggin_test::all_dtypes()) {
        const cpu::vec_dot4_fn dot4 = cpu::vec_dot4_function(t);
        if (dot4 == nullptr) continue;
        const std::string name = dtype_name(t);
        CAPTURE(name);
        const std::int64_t block = dtype_info(t).block_elements;
        for (std::int64_t count : {1, 3, 4, 5, 7, 8, 33, 48}) {
            const std::int64_t n = count * block;
            CAPTURE(n);
            const std::size_t rb = bytes_of(t, n), stride = rb + 40;  // rows padded apart
            std::vector<unsigned char> w(4 * stride, 0xee);
            for (int q = 0; q < 4; ++q) {
                const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(n), 50u + static_cast<std::uint32_t>(q + n));
                REQUIRE(cpu::quantize_row(t, wf.data(), w.data() + q * stride, n));
            }
            const dtype act = cpu::vec_dot_type(t);
            std::vector<float> xf = noggin_test::random_floats(static_cast<std::size_t>(n), 77u + static_cast<std::uint32_t>(n), 2.0f);
            std::vector<unsigned char> x(bytes_of(act, n));
            REQUIRE(cpu::quantize_activations(act, xf.data(), x.data(), n));
            float out[4] = {-1, -1, -1, -1};
            dot4(n, w.data(), stride, x.data(), out);
            std::vector<float> wd(static_cast<std::size_t>(n)), xd(static_cast<std::size_t>(n));
            REQUIRE(cpu::dequantize_row(act, x.data(), xd.data(), n));
            for (int q = 0; q < 4; ++q) {
                CHECK(out[q] == cpu::vec_dot_function(t)(n, w.data() + q * stride, x.data()));
                // and near the scalar reference, with the tolerance of the 1-row test above
                REQUIRE(cpu::dequantize_row(t, w.data() + q * stride, wd.data(), n));
                double magnitude = 1e-30;
                for (std::int64_t i = 0; i < n; ++i) magnitude += std::fabs(static_cast<double>(wd[i]) * xd[i]);
                const float ref = cpu::vec_dot_function_ref(t)(n, w.data() + q * stride, x.data());
                CHECK(std::fabs(out[q] - ref) <= 2e-3 * magnitude);
            }
        }
    }
}

#if NOGGIN_SIMD_AVX2
TEST_CASE("4-row kernels outside the dispatch (kept for benchmarks) are bit-equal to their 1-row kernels") {
    // Q8_0 (AVX2), F16 and Q6_K (AVX-512) decode read 1 row at a time (faster from DRAM); their 4-row forms
    // stay for noggin-bench-kernels --variants and must still agree bit for bit.
    struct kernel {
        dtype t;
        cpu::vec_dot_fn dot;
        cpu::vec_dot4_fn dot4;
    };
    std::vector<kernel> kernels = {{dtype::q8_0, cpu::vec_dot_q8_0_avx2, cpu::vec_dot4_q8_0_avx2}};
#if NOGGIN_CPU_F16_512
    kernels.push_back({dtype::f16, cpu::vec_dot_f16_512, cpu::vec_dot4_f16_512});
#endif
#if NOGGIN_CPU_Q4_K_512
    kernels.push_back({dtype::q6_k, cpu::vec_dot_q6_k_avx2, cpu::vec_dot4_q6_k_avx2});
#endif
    for (const kernel& kn : kernels) {
        const std::string name = dtype_name(kn.t);
        CAPTURE(name);
        const std::int64_t block = dtype_info(kn.t).block_elements;
        for (std::int64_t count : {1, 3, 4, 5, 7, 8, 33, 48, 70}) {
            const std::int64_t n = block == 1 ? count * 3 + 1 : count * block;  // F16: tails past the 64-element steps
            CAPTURE(n);
            const std::size_t rb = bytes_of(kn.t, n), stride = rb + 40;
            std::vector<unsigned char> w(4 * stride, 0xee);
            for (int q = 0; q < 4; ++q) {
                const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(n), 90u + static_cast<std::uint32_t>(q + n));
                REQUIRE(cpu::quantize_row(kn.t, wf.data(), w.data() + q * stride, n));
            }
            const dtype act = cpu::vec_dot_type(kn.t);
            const std::vector<float> xf = noggin_test::random_floats(static_cast<std::size_t>(n), 91u + static_cast<std::uint32_t>(n), 2.0f);
            std::vector<unsigned char> x(bytes_of(act, n));
            REQUIRE(cpu::quantize_activations(act, xf.data(), x.data(), n));
            float out[4] = {-1, -1, -1, -1};
            kn.dot4(n, w.data(), stride, x.data(), out);
            for (int q = 0; q < 4; ++q) CHECK(out[q] == kn.dot(n, w.data() + q * stride, x.data()));
        }
    }
}
#endif
