// tests/cpu/test_util.hpp — random data and error measures shared by the CPU kernel tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "noggin/core/dtype.hpp"

namespace noggin_test {

// Deterministic normal(0, sigma) floats.
inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

// ||a - b|| / ||b|| (0 when both are zero).
inline double rel_rms(const float* a, const float* b, std::size_t n) {
    double num = 0.0, den = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        num += d * d;
        den += static_cast<double>(b[i]) * static_cast<double>(b[i]);
    }
    if (den == 0.0) return num == 0.0 ? 0.0 : 1.0;
    return std::sqrt(num / den);
}

// Bytes of `n` elements of type t (n a whole number of blocks).
inline std::size_t bytes_of(noggin::dtype t, std::int64_t n) {
    const noggin::dtype_traits& info = noggin::dtype_info(t);
    return static_cast<std::size_t>(n / info.block_elements) * info.block_bytes;
}

// Every dtype, from the X-macro.
inline std::vector<noggin::dtype> all_dtypes() {
    return {
#define NOGGIN_TEST_DT(e, id, nm, be, bb) noggin::dtype::e,
        NOGGIN_DTYPE_LIST(NOGGIN_TEST_DT)
#undef NOGGIN_TEST_DT
    };
}

}  // namespace noggin_test
