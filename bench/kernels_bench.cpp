// bench/kernels_bench.cpp — matrix-vector speed of the CPU kernels against the memory read roofline.
//
//     noggin-bench-kernels [--mib 256] [--reps 3] [--cols 0] [--types Q4_0,Q8_0,...] [--rows 8960] [--k 1536]
//                          [--pages small|huge] [--variants]
//
// For Q4_0, Q8_0, Q4_K, Q6_K, Q5_K, Q2_K, Q3_K and F16 weights shaped like DeepSeek-R1-Distill-Qwen-1.5B's FFN
// (8960 rows × 1536; --rows changes the row count, --k the row length: --rows 1536 --k 8960 is down's
// shape), times cpu::matmul with one activation column (decode) on 1 and 2 threads and reports weight
// bytes read per second. The weights are replicated into enough copies (≥ --mib MiB) that each pass
// streams from DRAM, not the L3 (a small --mib with a small --rows keeps them in cache instead: the
// kernel's instruction-bound ceiling). The read bandwidth (AVX2 sum over
// a buffer of the same size) is measured in the same run, before and after, so the roofline share is a
// ratio of numbers taken side by side; "same bytes" is the sum over the weight buffer itself.
// --pages: the weight and bandwidth buffers on 4 KiB pages (default) or on transparent huge pages.
// --variants: per type, every compiled kernel variant (AVX2 / AVX-512, 1-row / 4-row) through the same
// 16-row tiles and dynamic split as cpu::matmul, for A/B comparisons in one run.
// With --cols N > 0 it also times N columns (prefill) through the per-column dots, the float panel GEMM
// and, where one exists, the integer GEMM (gemm_quantized), and prints GFLOP/s wall and per CPU-second.
// --types Q4_0,F16 limits the types (names as dtype_name spells them).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
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
    std::unique_ptr<noggin_bench::page_buffer> bytes;
    std::uint64_t matrix_bytes;
    noggin::tensor_view view(std::int64_t copy) const {
        return noggin::tensor_view::contiguous(type, bytes->data() + static_cast<std::size_t>(copy) * matrix_bytes, {k, rows});
    }
};

weights make_weights(noggin::dtype t, std::int64_t k, std::int64_t rows, std::size_t min_bytes, noggin_bench::pages pg) {
    weights w{t, k, rows, 1, nullptr, 0};  // (bytes set below)
    std::uint64_t rb = 0;
    noggin::row_bytes(t, static_cast<std::uint64_t>(k), &rb);
    w.matrix_bytes = rb * static_cast<std::uint64_t>(rows);
    w.copies = static_cast<std::int64_t>((min_bytes + w.matrix_bytes - 1) / w.matrix_bytes);
    // (rounded up to whole 128 KiB so the "same bytes" sum covers the buffer in 1024 equal parts)
    const std::size_t total = static_cast<std::size_t>(w.matrix_bytes * static_cast<std::uint64_t>(w.copies));
    w.bytes = std::make_unique<noggin_bench::page_buffer>((total + (128u << 10) - 1) / (128u << 10) * (128u << 10), pg);
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
        std::memcpy(w.bytes->data() + static_cast<std::size_t>(r) * rb, distinct.data() + static_cast<std::size_t>(r % 16) * rb, rb);
    return w;
}

// --- kernel variants through matmul's tiling --------------------------------------------------------------

struct variant {
    const char* name;
    noggin::cpu::vec_dot_fn dot;
    noggin::cpu::vec_dot4_fn dot4;  // nullptr: 1-row only
};

std::vector<variant> variants_of(noggin::dtype t) {
    std::vector<variant> v;
    (void)t;  // (scalar-only builds have no variants)
#if NOGGIN_SIMD_AVX2
    if (t == noggin::dtype::f16) {
        v.push_back({"avx2 1-row", noggin::cpu::vec_dot_f16_simd, nullptr});
#if NOGGIN_CPU_F16_512
        v.push_back({"avx512 1-row no pf", [](std::int64_t n, const void* w, const void* x) {
                         float r;
                         noggin::cpu::detail::dot_f16_512<1, false>(n, static_cast<const unsigned char*>(w), 0, static_cast<const float*>(x), &r);
                         return r;
                     }, nullptr});
        v.push_back({"avx512 1-row", noggin::cpu::vec_dot_f16_512, nullptr});  // prefetches 4 KiB ahead for k ≥ 4096
        v.push_back({"avx512 4-row", noggin::cpu::vec_dot_f16_512, noggin::cpu::vec_dot4_f16_512});
        v.push_back({"avx512 4-row no pf", noggin::cpu::vec_dot_f16_512,
                     [](std::int64_t n, const void* w, std::size_t stride, const void* x, float* out) {
                         noggin::cpu::detail::dot_f16_512<4, false>(n, static_cast<const unsigned char*>(w), stride,
                                                                     static_cast<const float*>(x), out);
                     }});
#endif
    }
    // The types with a 1-row and a 4-row kernel: both, through the same tiles.
    struct row_kernels {
        noggin::dtype type;
        noggin::cpu::vec_dot_fn dot;
        noggin::cpu::vec_dot4_fn dot4;
    };
    namespace cpu = noggin::cpu;
    const row_kernels pairs[] = {
        {noggin::dtype::q8_0, cpu::vec_dot_q8_0_avx2, cpu::vec_dot4_q8_0_avx2},
        {noggin::dtype::q4_0, cpu::vec_dot_q4_0_avx2, cpu::vec_dot4_q4_0_avx2},
        {noggin::dtype::q4_k, cpu::vec_dot_q4_k_avx2, cpu::vec_dot4_q4_k_avx2},
        {noggin::dtype::q6_k, cpu::vec_dot_q6_k_avx2, cpu::vec_dot4_q6_k_avx2},
#if NOGGIN_CPU_K2_512
        {noggin::dtype::q2_k, cpu::vec_dot_q2_k_avx2, cpu::vec_dot4_q2_k_512},
        {noggin::dtype::q3_k, cpu::vec_dot_q3_k_avx2, cpu::vec_dot4_q3_k_512},
#endif
#if NOGGIN_CPU_Q4_K_512
        {noggin::dtype::q5_k, cpu::vec_dot_q5_k_avx2, cpu::vec_dot4_q5_k_512},
#endif
    };
    for (const row_kernels& k : pairs)
        if (k.type == t) {
            v.push_back({"1-row", k.dot, nullptr});
            v.push_back({"4-row", k.dot, k.dot4});
        }
#endif
    v.push_back({"library (matmul)", nullptr, nullptr});  // last: what cpu::matmul picks
    return v;
}

// y = W·x for one column with a chosen kernel, tiled and split as cpu::matmul_quantized does.
void matvec_variant(const variant& v, const noggin::tensor_view& w, const void* xq, float* y, const noggin::thread_pool& pool) {
    noggin::cpu::detail::matmul_job job{v.dot, v.dot4, static_cast<const unsigned char*>(w.data), w.nb[1], w.ne[1], w.ne[0],
                                        static_cast<const unsigned char*>(xq), 0, 1, y};
    noggin::cpu::detail::run_dynamic(pool, noggin::cpu::detail::matmul_tiles(w.ne[1]), noggin::cpu::detail::matmul_task, &job);
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t mib = 256;
    int reps = 3;
    std::int64_t cols = 0, rows = 8960, k = 1536;
    bool variants = false;
    noggin_bench::pages pg = noggin_bench::pages::small;
    std::string only;  // ",Q4_0,F16," or empty for all
    for (int i = 1; i < argc; ++i) {
        const bool v = i + 1 < argc;
        if (!std::strcmp(argv[i], "--variants")) variants = true;
        else if (v && !std::strcmp(argv[i], "--mib")) mib = static_cast<std::size_t>(std::atoi(argv[++i]));
        else if (v && !std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[++i]);
        else if (v && !std::strcmp(argv[i], "--cols")) cols = std::atoi(argv[++i]);
        else if (v && !std::strcmp(argv[i], "--rows")) rows = std::atoi(argv[++i]);
        else if (v && !std::strcmp(argv[i], "--k")) k = std::atoi(argv[++i]);
        else if (v && !std::strcmp(argv[i], "--types")) only = std::string(",") + argv[++i] + ",";
        else if (v && !std::strcmp(argv[i], "--pages")) pg = !std::strcmp(argv[++i], "huge") ? noggin_bench::pages::huge : noggin_bench::pages::small;
    }
    const std::size_t min_bytes = mib << 20;
    std::printf("noggin-bench-kernels: matvec %lld rows x %lld, >= %zu MiB of weights per pass, best of %d, SIMD %s%s, %s pages\n",
                static_cast<long long>(rows), static_cast<long long>(k), mib, reps,
                NOGGIN_SIMD_AVX2 ? "AVX2" : (NOGGIN_SIMD_NEON ? "NEON" : "scalar"),
#if defined(__AVX512F__) && !defined(NOGGIN_NO_AVX512)
                " (+AVX-512 where a kernel has it)",
#else
                "",
#endif
                pg == noggin_bench::pages::huge ? "2 MiB" : "4 KiB");

    noggin::default_thread_pool pool1(1), pool2(2);
    const noggin::thread_pool pools[2] = {pool1.hook(), pool2.hook()};
    double bw_before[2], bw_after[2];
    {
        noggin_bench::page_buffer bwbuf((min_bytes + (128u << 10) - 1) / (128u << 10) * (128u << 10), pg);
        const float* bwf = reinterpret_cast<const float*>(bwbuf.data());
        for (int t = 0; t < 2; ++t) bw_before[t] = noggin_bench::read_bandwidth(bwf, bwbuf.size() / 4, pools[t], reps);
        std::printf("read bandwidth (before): 1 thread %.1f GB/s, 2 threads %.1f GB/s (%.0f MiB on huge pages)\n", bw_before[0],
                    bw_before[1], static_cast<double>(noggin_bench::huge_page_bytes(bwbuf.data(), bwbuf.size())) / 1048576.0);
    }

    const noggin::dtype types[] = {noggin::dtype::q4_0, noggin::dtype::q8_0, noggin::dtype::q4_k,
                                   noggin::dtype::q6_k, noggin::dtype::q5_k, noggin::dtype::q2_k, noggin::dtype::q3_k,
                                   noggin::dtype::f16};
    std::vector<float> x(static_cast<std::size_t>(k * std::max<std::int64_t>(cols, 1)));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
    std::vector<float> y(static_cast<std::size_t>(rows * std::max<std::int64_t>(cols, 1)));
    std::printf("%-6s %-18s %8s %12s %12s %10s %10s\n", "type", "kernel", "MiB/mat", "1t GB/s", "2t GB/s", "1t %bw", "2t %bw");
    for (noggin::dtype t : types) {
        if (!only.empty() && only.find(std::string(",") + noggin::dtype_name(t) + ",") == std::string::npos) continue;
        weights w = make_weights(t, k, rows, min_bytes, pg);
        std::vector<unsigned char> work(noggin::cpu::matmul_work_bytes(t, k, std::max<std::int64_t>(cols, 1)));
        const noggin::dtype act = noggin::cpu::vec_dot_type(t);
        if (act != noggin::dtype::f32) noggin::cpu::quantize_columns(act, x.data(), 1, k, work.data(), pools[0]);
        const void* xq = act == noggin::dtype::f32 ? static_cast<const void*>(x.data()) : static_cast<const void*>(work.data());
        // The same bytes, summed: what a kernel reading them could reach.
        double same[2];
        for (int th = 0; th < 2; ++th)
            same[th] = noggin_bench::read_bandwidth(reinterpret_cast<const float*>(w.bytes->data()), w.bytes->size() / 4, pools[th], reps);
        std::printf("%-6s %-18s %8.2f %12.2f %12.2f %9.0f%% %9.0f%%   (%.0f MiB on huge pages)\n", noggin::dtype_name(t),
                    "sum (same bytes)", static_cast<double>(w.matrix_bytes) / 1048576.0, same[0], same[1],
                    100.0 * same[0] / bw_before[0], 100.0 * same[1] / bw_before[1],
                    static_cast<double>(noggin_bench::huge_page_bytes(w.bytes->data(), w.bytes->size())) / 1048576.0);
        std::vector<variant> vs = variants_of(t);
        if (!variants) vs.erase(vs.begin(), vs.end() - 1);
        for (const variant& v : vs) {
            auto pass = [&](const noggin::thread_pool& pool) {
                for (std::int64_t c = 0; c < w.copies; ++c) {
                    if (v.dot == nullptr)
                        (void)noggin::cpu::matmul(w.view(c), x.data(), 1, y.data(), work.data(), work.size(), pool);
                    else
                        matvec_variant(v, w.view(c), xq, y.data(), pool);
                }
            };
            double gbs[2];
            for (int th = 0; th < 2; ++th) {
                pass(pools[th]);  // warm
                double best = 0.0;
                for (int r = 0; r < reps; ++r) {
                    const auto t0 = clock_type::now();
                    pass(pools[th]);
                    const double s = seconds_since(t0);
                    best = std::max(best, static_cast<double>(w.matrix_bytes) * static_cast<double>(w.copies) / s / 1e9);
                }
                gbs[th] = best;
            }
            std::printf("%-6s %-18s %8.2f %12.2f %12.2f %9.0f%% %9.0f%%   (%.0f%% / %.0f%% of same bytes)\n", noggin::dtype_name(t),
                        v.name, static_cast<double>(w.matrix_bytes) / 1048576.0, gbs[0], gbs[1], 100.0 * gbs[0] / bw_before[0],
                        100.0 * gbs[1] / bw_before[1], 100.0 * gbs[0] / same[0], 100.0 * gbs[1] / same[1]);
        }
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
    {
        noggin_bench::page_buffer bwbuf((min_bytes + (128u << 10) - 1) / (128u << 10) * (128u << 10), pg);
        const float* bwf = reinterpret_cast<const float*>(bwbuf.data());
        for (int t = 0; t < 2; ++t) bw_after[t] = noggin_bench::read_bandwidth(bwf, bwbuf.size() / 4, pools[t], reps);
    }
    std::printf("read bandwidth (after):  1 thread %.1f GB/s, 2 threads %.1f GB/s\n", bw_after[0], bw_after[1]);
    return 0;
}
