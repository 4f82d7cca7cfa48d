// bench/read_bandwidth.hpp — memory read bandwidth measured inside a benchmark's own run (the roofline's
// denominator): an AVX2 (or scalar) sum over a buffer, split across the given thread pool.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include "noggin/core/config.hpp"
#include "noggin/core/hooks.hpp"

#if NOGGIN_SIMD_AVX2
#include <immintrin.h>
#endif

namespace noggin_bench {

struct sum_job {
    const float* data;
    std::size_t n;  // floats, a multiple of 1024·32
    double partial[64];
};

inline void sum_task(void* ctx, std::size_t begin, std::size_t end, std::size_t worker) {
    sum_job& j = *static_cast<sum_job*>(ctx);
    const std::size_t chunk = j.n / 1024;  // begin/end count 1/1024ths of the buffer
    const float* p = j.data + begin * chunk;
    const std::size_t n = (end - begin) * chunk;
    float s = 0.0f;
#if NOGGIN_SIMD_AVX2
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (std::size_t i = 0; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    alignas(32) float t[8];
    _mm256_store_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (float v : t) s += v;
#else
    for (std::size_t i = 0; i < n; ++i) s += p[i];
#endif
    j.partial[worker % 64] += s;
}

// Best of `reps` passes over `buf` (after one warm-up pass), in GB/s.
inline double read_bandwidth(const std::vector<float>& buf, const noggin::thread_pool& pool, int reps) {
    sum_job job{buf.data(), buf.size(), {}};
    pool.run(1024, sum_task, &job);  // warm
    double best = 0.0;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        pool.run(1024, sum_task, &job);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, static_cast<double>(buf.size() * sizeof(float)) / s / 1e9);
    }
    volatile double sink = job.partial[0];
    (void)sink;
    return best;
}

}  // namespace noggin_bench
