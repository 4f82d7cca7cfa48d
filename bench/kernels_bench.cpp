// bench/kernels_bench.cpp — matrix-vector speed of the CPU kernels against the memory read roofline.
//
//     noggin-bench-kernels [--mib 256] [--reps 3] [--cols 0] [--types Q4_0,Q8_0,...]
//
// For Q4_0, Q8_0, Q4_K, Q6_K, Q5_K and F16 weights shaped like DeepSeek-R1-Distill-Qwen-1.5B's FFN
// (8960 rows × 1536), times cpu::matmul with one activation column (decode) on 1 and 2 threads and reports
// weight bytes read per second. The weights are replicated into enough copies (≥ --mib MiB) that each pass
// streams from DRAM, not the L3. The read bandwidth (AVX2 sum over a buffer of the same size) is measured
// in the same run, before and after, so the roofline share is a ratio of numbers taken side by side.
// With --cols N > 0 it also times N columns (prefill) through the per-column dots, the float panel GEMM
// and, where one exists, the integer GEMM (gemm_quantized), and prints GFLOP/s wall and per CPU-second.
// --types Q4_0,F16 limits the types (names as dtype_name spells them).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "read_bandwidth.hpp"
#include "timing.hpp"
#include "noggin/core/default_thread_pool.hpp"
#include "noggin/cpu/gemm.hpp"
#include "noggin/cpu/matmul.hpp"

#if NOGGIN_SIMD_AVX2
#include <immintrin.h>
#endif

namespace {

using noggin_bench::clock_type;
using noggin_bench::seconds_since;

struct weights {
    noggin::dtype type;
    std::int64_t k, rows, copies;
    std::vector<unsigned char> bytes;
    std::uint64_t matrix_bytes;
    noggin::tensor_view view(std::int64_t copy) const {
        return noggin::tensor_view::contiguous(type, bytes.data() + static_cast<std::size_t>(copy) * matrix_bytes, {k, rows});
    }
};

weights make_weights(noggin::dtype t, std::int64_t k, std::int64_t rows, std::size_t min_bytes) {
    weights w{t, k, rows, 1, {}, 0};
    std::uint64_t rb = 0;
    noggin::row_bytes(t, static_cast<std::uint64_t>(k), &rb);
    w.matrix_bytes = rb * static_cast<std::uint64_t>(rows);
    w.copies = static_cast<std::int64_t>((min_bytes + w.matrix_bytes - 1) / w.matrix_bytes);
    w.bytes.resize(static_cast<std::size_t>(w.matrix_bytes * static_cast<std::uint64_t>(w.copies)));
    // 16 distinct quantized random rows, repeated (values do not change the speed; addresses do).
    std::vector<float> f(static_cast<std::size_t>(k));
    std::uint32_t s = 12345;
    std::vector<unsigned char> distinct(static_cast<std::size_t>(rb) * 16);
    for (int r = 0; r < 16; ++r) {
        for (float& v : f) {
            s = s * 1664525u + 1013904223u;
            v = (static_cast<float>(s >> 8) / 16777216.0f - 0.5f) * 0.1f;
        }
        noggin::cpu::quantize_row(t, f.data(), distinct.data() + static_cast<std::size_t>(r) * rb, k);
    }
    for (std::int64_t r = 0; r < rows * w.copies; ++r)
        std::memcpy(w.bytes.data() + static_cast<std::size_t>(r) * rb, distinct.data() + static_cast<std::size_t>(r % 16) * rb, rb);
    return w;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t mib = 256;
    int reps = 3;
    std::int64_t cols = 0;
    std::string only;  // ",Q4_0,F16," or empty for all
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--mib")) mib = static_cast<std::size_t>(std::atoi(argv[i + 1]));
        if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--cols")) cols = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--types")) only = std::string(",") + argv[i + 1] + ",";
    }
    const std::size_t min_bytes = mib << 20;
    const std::int64_t k = 1536, rows = 8960;
    std::printf("noggin-bench-kernels: matvec %lld rows x %lld, >= %zu MiB of weights per pass, best of %d, SIMD %s\n",
                static_cast<long long>(rows), static_cast<long long>(k), mib, reps,
                NOGGIN_SIMD_AVX2 ? "AVX2" : (NOGGIN_SIMD_NEON ? "NEON" : "scalar"));

    noggin::default_thread_pool pool1(1), pool2(2);
    const noggin::thread_pool pools[2] = {pool1.hook(), pool2.hook()};
    std::vector<float> bwbuf(min_bytes / sizeof(float), 1.0f);
    double bw_before[2], bw_after[2];
    for (int t = 0; t < 2; ++t) bw_before[t] = noggin_bench::read_bandwidth(bwbuf, pools[t], reps);
    std::printf("read bandwidth (before): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n", bw_before[0], bw_before[1]);

    const noggin::dtype types[] = {noggin::dtype::q4_0, noggin::dtype::q8_0, noggin::dtype::q4_k,
                                   noggin::dtype::q6_k, noggin::dtype::q5_k, noggin::dtype::f16};
    std::vector<float> x(static_cast<std::size_t>(k * std::max<std::int64_t>(cols, 1)));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
    std::vector<float> y(static_cast<std::size_t>(rows * std::max<std::int64_t>(cols, 1)));
    std::printf("%-6s %8s %12s %12s %10s %10s\n", "type", "MiB/mat", "1t GB/s", "2t GB/s", "1t %bw", "2t %bw");
    for (noggin::dtype t : types) {
        if (!only.empty() && only.find(std::string(",") + noggin::dtype_name(t) + ",") == std::string::npos) continue;
        weights w = make_weights(t, k, rows, min_bytes);
        std::vector<unsigned char> work(noggin::cpu::matmul_work_bytes(t, k, std::max<std::int64_t>(cols, 1)));
        double gbs[2];
        for (int th = 0; th < 2; ++th) {
            for (std::int64_t c = 0; c < w.copies; ++c)  // warm pass
                (void)noggin::cpu::matmul(w.view(c), x.data(), 1, y.data(), work.data(), work.size(), pools[th]);
            double best = 0.0;
            for (int r = 0; r < reps; ++r) {
                const auto t0 = clock_type::now();
                for (std::int64_t c = 0; c < w.copies; ++c)
                    (void)noggin::cpu::matmul(w.view(c), x.data(), 1, y.data(), work.data(), work.size(), pools[th]);
                const double s = seconds_since(t0);
                best = std::max(best, static_cast<double>(w.matrix_bytes) * static_cast<double>(w.copies) / s / 1e9);
            }
            gbs[th] = best;
        }
        std::printf("%-6s %8.2f %12.2f %12.2f %9.0f%% %9.0f%%\n", noggin::dtype_name(t),
                    static_cast<double>(w.matrix_bytes) / 1048576.0, gbs[0], gbs[1], 100.0 * gbs[0] / bw_before[0],
                    100.0 * gbs[1] / bw_before[1]);
        if (cols > 0) {
            // Batched: per-column dots (matmul), the float panel GEMM, and gemm_quantized where its input
            // is Q8_1 (the integer GEMM); best of `reps`, wall GFLOP/s and GFLOP per CPU-second (2 threads).
            const double flop = 2.0 * static_cast<double>(k * rows * cols);
            const noggin::dtype gin = noggin::cpu::gemm_input_type(t);
            if (gin != noggin::dtype::f32)
                noggin::cpu::quantize_columns(gin, x.data(), cols, k, work.data(), pools[1]);
            const char* names[3] = {"matmul (dots)", "gemm (f32 panels)", "gemm_quantized (int8)"};
            for (int v = 0; v < 3; ++v) {
                if (v == 2 && gin == noggin::dtype::f32) break;
                double best = 1e30, best_cpu = 1e30;
                for (int r = 0; r < reps; ++r) {
                    const double c0 = noggin_bench::cpu_seconds();
                    const auto t0 = clock_type::now();
                    if (v == 0) (void)noggin::cpu::matmul(w.view(0), x.data(), cols, y.data(), work.data(), work.size(), pools[1]);
                    if (v == 1) (void)noggin::cpu::gemm(w.view(0), x.data(), cols, y.data(), pools[1]);
                    if (v == 2) (void)noggin::cpu::gemm_quantized(w.view(0), work.data(), cols, y.data(), pools[1]);
                    best = std::min(best, seconds_since(t0));
                    best_cpu = std::min(best_cpu, noggin_bench::cpu_seconds() - c0);
                }
                std::printf("       %lld columns, 2 threads, %-22s %7.1f GFLOP/s wall, %7.1f per CPU-second\n",
                            static_cast<long long>(cols), names[v], flop / best / 1e9, flop / best_cpu / 1e9);
            }
        }
    }
    for (int t = 0; t < 2; ++t) bw_after[t] = noggin_bench::read_bandwidth(bwbuf, pools[t], reps);
    std::printf("read bandwidth (after):  1 thread %.1f GB/s, 2 threads %.1f GB/s\n", bw_after[0], bw_after[1]);
    return 0;
}
