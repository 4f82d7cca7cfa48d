// Tests for noggin/cpu/gemm.hpp: every dtype against the double-precision dequantize-then-multiply
// reference (matmul_ref), odd row counts (partial tiles), column counts that leave every micro-kernel
// tail, k that is not a whole panel, and identical results on 1 and 2 threads.
#include "noggin/cpu/gemm.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cpu/test_util.hpp"
#include "noggin/core/default_thread_pool.hpp"
#include "noggin/cpu/matmul.hpp"

using namespace noggin;
using noggin_test::bytes_of;

TEST_CASE("gemm matches the double-precision reference for every dtype, odd sizes and tails") {
    default_thread_pool two(2);
    const thread_pool pools[] = {serial_thread_pool(), two.hook()};
    for (dtype t : noggin_test::all_dtypes()) {
        const std::int64_t block = dtype_info(t).block_elements;
        // k: more than one panel with a partial last one where the block size allows it.
        for (std::int64_t k : {block == 256 ? std::int64_t{768} : (block == 32 ? std::int64_t{288} : std::int64_t{301}),
                               block == 256 ? std::int64_t{256} : (block == 32 ? std::int64_t{64} : std::int64_t{7})}) {
            const std::int64_t rows = 37;  // two full 16-row tiles and a partial one
            const std::string name = dtype_name(t);
            CAPTURE(name);
            CAPTURE(k);
            const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(k * rows), 5);
            std::vector<unsigned char> wq(bytes_of(t, k) * rows);
            for (std::int64_t r = 0; r < rows; ++r)
                REQUIRE(cpu::quantize_row(t, wf.data() + r * k, wq.data() + r * bytes_of(t, k), k));
            const tensor_view w = tensor_view::contiguous(t, wq.data(), {k, rows});
            for (std::int64_t n_cols : {1, 5, 6, 13, 35}) {
                CAPTURE(n_cols);
                const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(k * n_cols), 9, 2.0f);
                std::vector<float> ref(static_cast<std::size_t>(rows * n_cols)), buf(static_cast<std::size_t>(k));
                cpu::matmul_ref(w, x.data(), n_cols, ref.data(), buf.data());
                std::vector<float> first;
                for (const thread_pool& pool : pools) {
                    std::vector<float> y(static_cast<std::size_t>(rows * n_cols), -1.0f);
                    REQUIRE(cpu::gemm(w, x.data(), n_cols, y.data(), pool).ok());
                    // Float activations: only float summation order separates it from the reference.
                    CHECK(noggin_test::rel_rms(y.data(), ref.data(), y.size()) <= 1e-5);
                    if (first.empty())
                        first = y;
                    else
                        CHECK(y == first);  // threads change nothing
                }
            }
        }
    }
}

TEST_CASE("gemm rejects bad shapes and accepts zero columns") {
    std::vector<block_q4_0> w(4);
    const tensor_view v = tensor_view::contiguous(dtype::q4_0, w.data(), {64, 2});
    float x[64] = {}, y[2];
    tensor_view bad = v;
    bad.ne[0] = 48;
    CHECK(cpu::gemm(bad, x, 1, y, serial_thread_pool()).code() == status_code::invalid_argument);
    CHECK(cpu::gemm(v, nullptr, 1, y, serial_thread_pool()).code() == status_code::invalid_argument);
    CHECK(cpu::gemm(v, x, 0, y, serial_thread_pool()).ok());
}
