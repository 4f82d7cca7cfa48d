// Exactness of the f16/bf16 <-> f32 conversions: every one of the 65,536 f16 and bf16 bit patterns,
// and round-to-nearest-even from f32 checked against neighbouring values and, where the build has it,
// the F16C hardware instruction.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "noggin/core/half.hpp"

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace {

std::uint32_t bits_of(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float float_of(std::uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// The value of an f16 computed independently in double: (-1)^s * 2^(e-15) * (1 + m/1024), or the
// subnormal/Inf/NaN cases.
double f16_value_reference(std::uint16_t h) {
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0) v = std::ldexp(static_cast<double>(m), -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = std::ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}

// Checks that `h` is the correctly rounded (nearest, ties to even) f16 for the finite float x.
bool is_rounded_correctly(float x, std::uint16_t h) {
    const double target = x;
    const double chosen = f16_value_reference(h);
    if (std::isinf(chosen)) return std::fabs(target) >= 65520.0;  // 65504 + half an ulp rounds up
    const double err = std::fabs(chosen - target);
    // Neighbours in magnitude (same sign); crossing zero is covered by the magnitude order.
    const std::uint16_t mag = h & 0x7fff;
    for (int delta : {-1, 1}) {
        const int n = static_cast<int>(mag) + delta;
        if (n < 0 || n > 0x7bff) continue;  // no finite neighbour
        const double other = f16_value_reference(static_cast<std::uint16_t>((h & 0x8000) | n));
        const double other_err = std::fabs(other - target);
        if (other_err < err) return false;
        if (other_err == err && (mag & 1)) return false;  // a tie must pick the even mantissa
    }
    return true;
}

}  // namespace

TEST_CASE("every f16 bit pattern converts to the exact f32 value and back") {
    int mismatches = 0;
    for (std::uint32_t i = 0; i < 65536; ++i) {
        const noggin::f16 h{static_cast<std::uint16_t>(i)};
        const float f = noggin::f16_to_f32(h);
        const double expected = f16_value_reference(h.bits);
        if (std::isnan(expected)) {
            if (!std::isnan(f)) ++mismatches;
            // The payload is kept: the low 13 bits of the f32 mantissa are zero, the top 10 are m.
            if (((bits_of(f) >> 13) & 0x3ff) != (i & 0x3ff)) ++mismatches;
        } else if (static_cast<double>(f) != expected || std::signbit(f) != static_cast<bool>(i & 0x8000)) {
            ++mismatches;
        }
        if (noggin::f32_to_f16(f).bits != h.bits) ++mismatches;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("f32 to f16 rounds to nearest even, overflows to Inf and keeps NaN") {
    CHECK(noggin::f32_to_f16(0.0f).bits == 0x0000);
    CHECK(noggin::f32_to_f16(-0.0f).bits == 0x8000);
    CHECK(noggin::f32_to_f16(1.0f).bits == 0x3c00);
    CHECK(noggin::f32_to_f16(65504.0f).bits == 0x7bff);
    CHECK(noggin::f32_to_f16(65519.99f).bits == 0x7bff);
    CHECK(noggin::f32_to_f16(65520.0f).bits == 0x7c00);
    CHECK(noggin::f32_to_f16(INFINITY).bits == 0x7c00);
    CHECK(noggin::f32_to_f16(-INFINITY).bits == 0xfc00);
    CHECK(noggin::f32_to_f16(5.9604645e-8f).bits == 0x0001);  // smallest subnormal
    CHECK(noggin::f32_to_f16(2.9802322e-8f).bits == 0x0000);  // exactly half of it: tie to even (0)
    CHECK(noggin::f32_to_f16(2.9802326e-8f).bits == 0x0001);  // just above half rounds up
    const std::uint16_t nan = noggin::f32_to_f16(float_of(0x7f800001u)).bits;  // payload only in low bits
    CHECK((nan & 0x7c00) == 0x7c00);
    CHECK((nan & 0x03ff) != 0);

    // A sweep over the f32 bit patterns (every 997th, both signs): correct rounding by the neighbour test.
    long checked = 0, wrong = 0;
    for (std::uint64_t u = 0; u < 0x7f800000u; u += 997) {
        for (std::uint32_t sign : {0u, 0x80000000u}) {
            const float x = float_of(static_cast<std::uint32_t>(u) | sign);
            ++checked;
            if (!is_rounded_correctly(x, noggin::f32_to_f16(x).bits)) ++wrong;
        }
    }
    CHECK(checked > 4000000);
    CHECK(wrong == 0);
}

#if defined(__F16C__)
TEST_CASE("f32 to f16 matches the F16C instruction bit for bit") {
    long wrong = 0;
    for (std::uint64_t u = 0; u <= 0xffffffffu; u += 4093) {
        const float x = float_of(static_cast<std::uint32_t>(u));
        const std::uint16_t hw = static_cast<std::uint16_t>(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
        std::uint16_t ours = noggin::f32_to_f16(x).bits;
        if (std::isnan(x)) ours |= 0x0200;  // hardware also sets the quiet bit
        if (ours != hw) ++wrong;
    }
    CHECK(wrong == 0);
}
#endif

TEST_CASE("every bf16 bit pattern converts exactly; f32 to bf16 rounds to nearest even") {
    int mismatches = 0;
    for (std::uint32_t i = 0; i < 65536; ++i) {
        const noggin::bf16 b{static_cast<std::uint16_t>(i)};
        const float f = noggin::bf16_to_f32(b);
        if (bits_of(f) != (i << 16)) ++mismatches;
        const noggin::bf16 back = noggin::f32_to_bf16(f);
        if (std::isnan(f)) {
            if ((back.bits & 0x7f80) != 0x7f80 || (back.bits & 0x7f) == 0) ++mismatches;
        } else if (back.bits != i) {
            ++mismatches;
        }
    }
    CHECK(mismatches == 0);
    CHECK(noggin::f32_to_bf16(float_of(0x3f808000u)).bits == 0x3f80);  // tie, even stays
    CHECK(noggin::f32_to_bf16(float_of(0x3f818000u)).bits == 0x3f82);  // tie, odd rounds up
    CHECK(noggin::f32_to_bf16(float_of(0x3f808001u)).bits == 0x3f81);  // above the tie
    CHECK(noggin::f32_to_bf16(float_of(0x7f7fffffu)).bits == 0x7f80);  // max float rounds to Inf
    CHECK(noggin::f32_to_bf16(float_of(0x7f800001u)).bits == 0x7fc0);  // signalling NaN becomes quiet
}
