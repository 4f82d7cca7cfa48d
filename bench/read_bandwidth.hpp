// bench/read_bandwidth.hpp — memory read bandwidth measured inside a benchmark's own run (the roofline's
// denominator): an AVX2 (or scalar) sum over a buffer, split across the given thread pool; and buffers on
// 4 KiB pages or on transparent huge pages, to measure what the page size costs a stream.
//
// Sections: the sum · page_buffer (anonymous memory, 4 KiB or 2 MiB pages) · huge-page bytes of a mapping
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "noggin/core/config.hpp"
#include "noggin/core/hooks.hpp"

#if NOGGIN_SIMD_AVX2
#include <immintrin.h>
#endif
#ifdef __linux__
#include <sys/mman.h>
#endif

namespace noggin_bench {

// --- the sum --------------------------------------------------------------------------------------------

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

// Best of `reps` passes over n floats at `data` (n a multiple of 1024·32; after one warm-up pass), GB/s.
inline double read_bandwidth(const float* data, std::size_t n, const noggin::thread_pool& pool, int reps) {
    sum_job job{data, n, {}};
    pool.run(1024, sum_task, &job);  // warm
    double best = 0.0;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        pool.run(1024, sum_task, &job);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, static_cast<double>(n * sizeof(float)) / s / 1e9);
    }
    volatile double sink = job.partial[0];
    (void)sink;
    return best;
}
inline double read_bandwidth(const std::vector<float>& buf, const noggin::thread_pool& pool, int reps) {
    return read_bandwidth(buf.data(), buf.size(), pool, reps);
}

// --- page_buffer ------------------------------------------------------------------------------------------

enum class pages { small, huge };  // 4 KiB pages (MADV_NOHUGEPAGE) or transparent huge pages (MADV_HUGEPAGE)

// `bytes` of zero-filled anonymous memory, 2 MiB-aligned, on the page size asked for (Linux; elsewhere
// plain heap memory whatever is asked). Every page is touched once, so no fault happens while timing.
class page_buffer {
public:
    page_buffer(std::size_t bytes, pages p) : size_(bytes) {
#ifdef __linux__
        constexpr std::size_t align = std::size_t{2} << 20;
        raw_bytes_ = bytes + align;
        raw_ = ::mmap(nullptr, raw_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw_ == MAP_FAILED) {
            raw_ = nullptr;
            return;
        }
        data_ = reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(raw_) + align - 1) & ~(align - 1));
        ::madvise(data_, bytes, p == pages::huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#else
        (void)p;
        data_ = static_cast<unsigned char*>(std::malloc(bytes));
#endif
        if (data_ != nullptr) std::memset(data_, 0, bytes);
    }
    ~page_buffer() {
#ifdef __linux__
        if (raw_ != nullptr) ::munmap(raw_, raw_bytes_);
#else
        std::free(data_);
#endif
    }
    page_buffer(const page_buffer&) = delete;
    page_buffer& operator=(const page_buffer&) = delete;
    unsigned char* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
    void* raw_ = nullptr;
    std::size_t raw_bytes_ = 0;
};

// --- huge-page bytes of a mapping ------------------------------------------------------------------------

// Bytes of the mappings overlapping [p, p + n) that are on huge pages (AnonHugePages + FilePmdMapped of
// their /proc/self/smaps entries); 0 where that cannot be read.
inline std::uint64_t huge_page_bytes(const void* p, std::size_t n) {
    std::uint64_t total = 0;
#ifdef __linux__
    std::FILE* f = std::fopen("/proc/self/smaps", "r");
    if (f == nullptr) return 0;
    const std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p), b = a + n;
    char line[512];
    bool in = false;
    while (std::fgets(line, sizeof line, f)) {
        unsigned long lo = 0, hi = 0;
        char dash = 0;
        if (std::sscanf(line, "%lx%c%lx", &lo, &dash, &hi) == 3 && dash == '-') {
            in = lo < b && a < hi;
            continue;
        }
        if (!in) continue;
        if (std::strncmp(line, "AnonHugePages:", 14) == 0) total += std::strtoull(line + 14, nullptr, 10) * 1024;
        if (std::strncmp(line, "FilePmdMapped:", 14) == 0) total += std::strtoull(line + 14, nullptr, 10) * 1024;
    }
    std::fclose(f);
#else
    (void)p;
    (void)n;
#endif
    return total;
}

}  // namespace noggin_bench
