// noggin/core/half.hpp — 16-bit floats: the f16 (IEEE binary16) and bf16 (bfloat16) storage types
// and their exact conversions to and from f32.
//
//     noggin::f16 h = noggin::f32_to_f16(1.5f);   // round to nearest, ties to even
//     float x = noggin::f16_to_f32(h);            // exact
//
// Conversions are bit-exact in both directions: f16/bf16 → f32 is exact for every value (NaN payloads
// kept), f32 → f16/bf16 rounds to nearest-even, overflows to ±Inf, keeps NaN a NaN (quiet for bf16,
// top payload bits kept for f16) and produces f16 subnormals. They match the hardware instructions
// (F16C vcvtps2ph with round-to-nearest). Bulk SIMD conversions live in noggin/cpu.
#pragma once

#include <cstdint>
#include <cstring>

namespace noggin {

// IEEE 754 binary16, stored as its bit pattern (the layout GGUF files use).
struct f16 {
    std::uint16_t bits;
};
// bfloat16: the top 16 bits of an f32.
struct bf16 {
    std::uint16_t bits;
};
static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2, "16-bit float storage must be 2 bytes");

namespace detail {
inline std::uint32_t f32_bits(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float f32_from_bits(std::uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
}  // namespace detail

inline float f16_to_f32(f16 h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
    const std::uint32_t exponent = (h.bits >> 10) & 0x1fu;
    const std::uint32_t mantissa = h.bits & 0x3ffu;
    if (exponent == 0) {
        // Zero or subnormal: mantissa * 2^-24, exact in f32.
        const float magnitude = static_cast<float>(mantissa) * detail::f32_from_bits(0x33800000u);  // 2^-24
        return detail::f32_from_bits(detail::f32_bits(magnitude) | sign);
    }
    if (exponent == 31) return detail::f32_from_bits(sign | 0x7f800000u | (mantissa << 13));  // Inf/NaN
    return detail::f32_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

inline f16 f32_to_f16(float value) {
    std::uint32_t x = detail::f32_bits(value);
    const std::uint32_t sign = x & 0x80000000u;
    x ^= sign;
    std::uint32_t out;
    if (x >= 0x7f800000u) {
        // Inf stays Inf; NaN keeps its top 10 payload bits and stays a NaN.
        const std::uint32_t payload = (x >> 13) & 0x3ffu;
        out = 0x7c00u | (x > 0x7f800000u ? (payload ? payload : 0x200u) : 0u);
    } else if (x >= 0x477ff000u) {
        out = 0x7c00u;  // >= 65520 rounds to Inf
    } else if (x < 0x38800000u) {
        // Result is subnormal or zero: adding 0.5 aligns the mantissa so that the FPU's own
        // round-to-nearest-even produces the f16 subnormal bits in the low mantissa.
        const float aligned = detail::f32_from_bits(x) + 0.5f;
        out = detail::f32_bits(aligned) - 0x3f000000u;
    } else {
        const std::uint32_t odd = (x >> 13) & 1u;
        x += 0xc8000fffu + odd;  // rebias exponent (-112 << 23, mod 2^32) and round to nearest even
        out = x >> 13;
    }
    return f16{static_cast<std::uint16_t>(out | (sign >> 16))};
}

inline float bf16_to_f32(bf16 b) { return detail::f32_from_bits(static_cast<std::uint32_t>(b.bits) << 16); }

inline bf16 f32_to_bf16(float value) {
    const std::uint32_t x = detail::f32_bits(value);
    if ((x & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<std::uint16_t>((x >> 16) | 0x40u)};  // quiet NaN
    const std::uint32_t rounded = x + 0x7fffu + ((x >> 16) & 1u);
    return bf16{static_cast<std::uint16_t>(rounded >> 16)};
}

}  // namespace noggin
