// Tests for noggin/cpu/quants.hpp: bit layouts against gguf-py's dequantizer (golden file made by
// make_dequant_golden.py) and quantize → dequantize error bounds on random data for every dtype.
#include "noggin/cpu/quants.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/test_util.hpp"

using namespace noggin;
using noggin_test::bytes_of;

namespace {
#include "cpu/data/dequant_golden.inc"
}  // namespace

TEST_CASE("dequantize_row matches gguf-py on random blocks of every type it knows") {
    std::size_t pos = 0;
    auto read = [&](void* dst, std::size_t n) {
        if (pos + n > sizeof(dequant_golden)) return false;
        std::memcpy(dst, dequant_golden + pos, n);
        pos += n;
        return true;
    };
    int records = 0;
    for (;;) {
        std::uint32_t head[3];
        if (!read(head, sizeof(head))) break;
        dtype t;
        REQUIRE(dtype_from_gguf(head[0], &t));
        const std::int64_t n = head[1];
        std::vector<unsigned char> raw(head[2]);
        std::vector<float> expect(head[1]), got(head[1]);
        REQUIRE(read(raw.data(), raw.size()));
        REQUIRE(read(expect.data(), static_cast<std::size_t>(n) * 4));
        CHECK(raw.size() == bytes_of(t, n));
        REQUIRE(cpu::dequantize_row(t, raw.data(), got.data(), n));
        int bad = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            // llama.cpp computes d*q - m in f32 as we do; numpy may order it differently, so allow 1 ulp-ish.
            const float tol = 1e-6f * std::max(1.0f, std::fabs(expect[i]));
            if (!(std::fabs(got[i] - expect[i]) <= tol) && bad++ < 3)
                MESSAGE(std::string(dtype_name(t)), " element ", i, ": got ", got[i], " want ", expect[i]);
        }
        CHECK_MESSAGE(bad == 0, std::string(dtype_name(t)));
        ++records;
    }
    CHECK(records == 12);
}

TEST_CASE("dequantize_row / quantize_row reject partial blocks") {
    float x[64] = {};
    block_q4_k q[1];
    CHECK_FALSE(cpu::quantize_row(dtype::q4_k, x, q, 64));
    CHECK_FALSE(cpu::dequantize_row(dtype::q8_0, q, x, 31));
    CHECK(cpu::dequantize_row(dtype::f32, x, x + 32, 7));
}

TEST_CASE("quantize_row → dequantize_row error is in the expected range for every dtype") {
    struct bound {
        dtype t;
        double max_rel_rms;  // relative RMS error on N(0,1) data
    };
    // Expected for Gaussian data: about step / sqrt(12) / sigma for the block's step.
    const bound bounds[] = {
        {dtype::f32, 0.0},     {dtype::f16, 5e-4},    {dtype::bf16, 4e-3},   {dtype::q8_0, 0.008},
        {dtype::q8_1, 0.008},  {dtype::q8_k, 0.010},  {dtype::q6_k, 0.030},  {dtype::q5_0, 0.055},
        {dtype::q5_1, 0.055},  {dtype::q5_k, 0.050},  {dtype::q4_0, 0.110},  {dtype::q4_1, 0.110},
        {dtype::q4_k, 0.100},  {dtype::q3_k, 0.230},  {dtype::q2_k, 0.400},
    };
    const std::int64_t n = 256 * 12;
    for (std::uint32_t seed = 1; seed <= 3; ++seed) {
        const std::vector<float> x = noggin_test::random_floats(n, seed, seed == 3 ? 0.02f : 1.0f);
        for (const bound& b : bounds) {
            std::vector<unsigned char> q(bytes_of(b.t, n));
            std::vector<float> y(n);
            REQUIRE(cpu::quantize_row(b.t, x.data(), q.data(), n));
            REQUIRE(cpu::dequantize_row(b.t, q.data(), y.data(), n));
            const double e = noggin_test::rel_rms(y.data(), x.data(), static_cast<std::size_t>(n));
            const std::string name = dtype_name(b.t);
            CAPTURE(name);
            CAPTURE(seed);
            CHECK(e <= b.max_rel_rms);
            if (seed == 1) MESSAGE(std::string(dtype_name(b.t)), " rel rms ", e);
        }
    }
}

TEST_CASE("quantizers match gguf-py's bit-exact rules on simple blocks") {
    // Q8_0: d = max|x|/127, round half away from zero.
    float x[32];
    for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16) * 0.5f;
    block_q8_0 q8;
    cpu::quantize_row_q8_0(x, &q8, 32);
    CHECK(f16_to_f32(q8.d) == doctest::Approx(8.0 / 127).epsilon(1e-3));
    CHECK(q8.qs[0] == -127);
    CHECK(q8.qs[16] == 0);
    // Q4_0: d = x[argmax |x|] / -8 → that element becomes q = 0 (value -8 d).
    block_q4_0 q4;
    cpu::quantize_row_q4_0(x, &q4, 32);
    CHECK(f16_to_f32(q4.d) == doctest::Approx(1.0));
    CHECK((q4.qs[0] & 0xf) == 0);
    // All-zero blocks stay zero and produce no NaN.
    float z[256] = {}, back[256];
    for (dtype t : noggin_test::all_dtypes()) {
        std::vector<unsigned char> buf(bytes_of(t, 256));
        REQUIRE(cpu::quantize_row(t, z, buf.data(), 256));
        REQUIRE(cpu::dequantize_row(t, buf.data(), back, 256));
        for (float v : back) CHECK(v == 0.0f);
    }
}

TEST_CASE("Q8_1 and Q8_K carry consistent block sums") {
    const std::vector<float> x = noggin_test::random_floats(512, 7);
    std::vector<block_q8_1> a(16);
    cpu::quantize_row_q8_1(x.data(), a.data(), 512);
    for (const block_q8_1& b : a) {
        int s = 0;
        for (int q : b.qs) s += q;
        CHECK(f16_to_f32(b.s) == doctest::Approx(f16_to_f32(b.d) * static_cast<float>(s)).epsilon(2e-3));
    }
    std::vector<block_q8_k> k(2);
    cpu::quantize_row_q8_k(x.data(), k.data(), 512);
    for (const block_q8_k& b : k)
        for (int g = 0; g < 16; ++g) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += b.qs[16 * g + l];
            CHECK(b.bsums[g] == s);
        }
}

namespace noggin {
namespace cpu {
namespace scalar_test {
// The scalar dequantizer of type t (dequantize_row dispatches to SIMD versions where compiled).
inline void dequantize(dtype t, const void* src, float* dst, std::int64_t n) {
    switch (t) {
#define NOGGIN_TEST_DEQ(e, id, nm, be, bb) \
    case dtype::e: dequantize_row_##e(static_cast<const block_##e*>(src), dst, n); break;
        NOGGIN_DTYPE_LIST(NOGGIN_TEST_DEQ)
#undef NOGGIN_TEST_DEQ
    }
}
}  // namespace scalar_test
}  // namespace cpu
}  // namespace noggin

TEST_CASE("dequantize_row (SIMD where compiled) equals the scalar dequantizers within 1 ulp-ish") {
    for (dtype t : noggin_test::all_dtypes()) {
        const std::int64_t block = dtype_info(t).block_elements;
        const std::string name = dtype_name(t);
        CAPTURE(name);
        for (std::int64_t count : {1, 3, 8}) {
            const std::int64_t n = block == 1 ? 37 : count * block;
            const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(n), 300u + static_cast<std::uint32_t>(count), 1.5f);
            std::vector<unsigned char> q(bytes_of(t, n));
            REQUIRE(cpu::quantize_row(t, x.data(), q.data(), n));
            std::vector<float> fast(static_cast<std::size_t>(n)), ref(static_cast<std::size_t>(n));
            REQUIRE(cpu::dequantize_row(t, q.data(), fast.data(), n));
            cpu::scalar_test::dequantize(t, q.data(), ref.data(), n);
            int bad = 0;
            for (std::int64_t i = 0; i < n; ++i) bad += !(std::fabs(fast[i] - ref[i]) <= 1e-6f * std::max(1.0f, std::fabs(ref[i])));
            CHECK(bad == 0);
        }
    }
}
