// tests/support/compare.hpp — numeric comparison of float rows (logits, activations) against a reference.
#pragma once

#include <cstddef>

namespace noggin_test {

// Normalised mean squared error Σ(ours − ref)² / Σ ref² (the plain squared error when ref is all zeros).
inline double nmse(const float* ours, const float* ref, std::size_t n) {
    double num = 0, den = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(ours[i]) - ref[i];
        num += d * d;
        den += static_cast<double>(ref[i]) * ref[i];
    }
    return den == 0 ? num : num / den;
}

}  // namespace noggin_test
