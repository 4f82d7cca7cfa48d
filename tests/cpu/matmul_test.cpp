// Tests for noggin/cpu/matmul.hpp: every dtype against a double-precision dequantize-then-multiply
// reference, bit-equality with per-row dot products, and identical results on 1 and 2 threads.
#include "noggin/cpu/matmul.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <vector>

#include "cpu/test_util.hpp"
#include "noggin/core/default_thread_pool.hpp"

using namespace noggin;
using noggin_test::bytes_of;

TEST_CASE("matmul matches the double-precision reference for every dtype, 1 and many columns") {
    default_thread_pool two(2);
    const thread_pool pools[] = {serial_thread_pool(), two.hook()};
    for (dtype t : noggin_test::all_dtypes()) {
        const std::int64_t block = dtype_info(t).block_elements;
        const std::int64_t k = block == 256 ? 512 : (block == 32 ? 96 : 67);
        const std::int64_t rows = 37;
        const std::string name = dtype_name(t);
        CAPTURE(name);
        const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(k * rows), 5);
        std::vector<unsigned char> wq(bytes_of(t, k) * rows);
        for (std::int64_t r = 0; r < rows; ++r)
            REQUIRE(cpu::quantize_row(t, wf.data() + r * k, wq.data() + r * bytes_of(t, k), k));
        const tensor_view w = tensor_view::contiguous(t, wq.data(), {k, rows});
        for (std::int64_t n_cols : {1, 5, 19}) {
            CAPTURE(n_cols);
            const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(k * n_cols), 9, 2.0f);
            std::vector<float> ref(static_cast<std::size_t>(rows * n_cols)), buf(static_cast<std::size_t>(k));
            cpu::matmul_ref(w, x.data(), n_cols, ref.data(), buf.data());
            std::vector<float> first;
            for (const thread_pool& pool : pools) {
                std::vector<unsigned char> work(cpu::matmul_work_bytes(t, k, n_cols));
                std::vector<float> y(static_cast<std::size_t>(rows * n_cols), -1.0f);
                REQUIRE(cpu::matmul(w, x.data(), n_cols, y.data(), work.data(), work.size(), pool).ok());
                const double err = noggin_test::rel_rms(y.data(), ref.data(), y.size());
                CHECK(err <= (cpu::vec_dot_type(t) == dtype::f32 ? 1e-5 : 1.5e-2));
                if (first.empty()) {
                    first = y;
                    // Bit-equal to the per-row dot on the same quantized activations.
                    const dtype act = cpu::vec_dot_type(t);
                    const std::size_t xs = act == dtype::f32 ? static_cast<std::size_t>(k) * 4 : cpu::activation_row_bytes(act, k);
                    const unsigned char* xq = act == dtype::f32 ? reinterpret_cast<const unsigned char*>(x.data()) : work.data();
                    int mismatches = 0;
                    for (std::int64_t c = 0; c < n_cols; ++c)
                        for (std::int64_t r = 0; r < rows; ++r)
                            mismatches += y[c * rows + r] != cpu::vec_dot(t, k, w.row(r), xq + c * xs);
                    CHECK(mismatches == 0);
                } else {
                    CHECK(y == first);  // threads change nothing
                }
            }
        }
    }
}

TEST_CASE("matmul rejects bad shapes and small work buffers") {
    std::vector<block_q4_0> w(4);
    const tensor_view v = tensor_view::contiguous(dtype::q4_0, w.data(), {64, 2});
    float x[64] = {}, y[2];
    unsigned char small[8];
    CHECK(cpu::matmul(v, x, 1, y, small, sizeof(small), serial_thread_pool()).code() == status_code::invalid_argument);
    tensor_view bad = v;
    bad.ne[0] = 48;
    CHECK_FALSE(cpu::matmul_quantized(bad, x, 1, y, serial_thread_pool()).ok());
    CHECK(cpu::matmul(v, x, 0, y, small, sizeof(small), serial_thread_pool()).ok());
}

TEST_CASE("matmul_quantized_group is bit-equal to separate matmul_quantized calls") {
    default_thread_pool two(2);
    const std::int64_t k = 512;
    // Mixed types sharing Q8_K (as in Q4_K_M files), row counts that leave partial tiles.
    const dtype types[3] = {dtype::q4_k, dtype::q6_k, dtype::q5_k};
    const std::int64_t rows[3] = {37, 16, 5};
    std::vector<std::vector<unsigned char>> wq(3);
    tensor_view w[3];
    for (int i = 0; i < 3; ++i) {
        const std::vector<float> wf = noggin_test::random_floats(static_cast<std::size_t>(k * rows[i]), 11 + i);
        wq[i].resize(bytes_of(types[i], k) * rows[i]);
        for (std::int64_t r = 0; r < rows[i]; ++r)
            REQUIRE(cpu::quantize_row(types[i], wf.data() + r * k, wq[i].data() + r * bytes_of(types[i], k), k));
        w[i] = tensor_view::contiguous(types[i], wq[i].data(), {k, rows[i]});
    }
    for (std::int64_t n_cols : {1, 3}) {
        const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(k * n_cols), 3);
        std::vector<unsigned char> xq(cpu::matmul_work_bytes(dtype::q4_k, k, n_cols));
        cpu::quantize_columns(dtype::q8_k, x.data(), n_cols, k, xq.data(), serial_thread_pool());
        std::vector<float> sep[3], grp[3];
        for (int i = 0; i < 3; ++i) {
            sep[i].assign(static_cast<std::size_t>(rows[i] * n_cols), 0.0f);
            grp[i].assign(static_cast<std::size_t>(rows[i] * n_cols), -1.0f);
            REQUIRE(cpu::matmul_quantized(w[i], xq.data(), n_cols, sep[i].data(), serial_thread_pool()).ok());
        }
        const tensor_view* wp[3] = {&w[0], &w[1], &w[2]};
        float* const yp[3] = {grp[0].data(), grp[1].data(), grp[2].data()};
        REQUIRE(cpu::matmul_quantized_group(wp, yp, 3, xq.data(), n_cols, two.hook()).ok());
        for (int i = 0; i < 3; ++i) CHECK(grp[i] == sep[i]);
    }
    // Different input formats are refused.
    std::vector<block_q4_0> q40(16);
    const tensor_view v = tensor_view::contiguous(dtype::q4_0, q40.data(), {512, 1});
    const tensor_view* mixed[2] = {&w[0], &v};
    float y0[37], y1[1];
    float* const ym[2] = {y0, y1};
    CHECK_FALSE(cpu::matmul_quantized_group(mixed, ym, 2, q40.data(), 1, serial_thread_pool()).ok());
}

namespace {
// Counts how often each item is visited (items of one run_dynamic call).
struct visit_counter {
    std::vector<std::atomic<int>>* hits;
};
void count_visits(void* ctx, std::size_t begin, std::size_t end, std::size_t) {
    auto& h = *static_cast<visit_counter*>(ctx)->hits;
    for (std::size_t i = begin; i < end; ++i) h[i].fetch_add(1, std::memory_order_relaxed);
}
// A host "job system" that runs the parts one by one, last part first: the first task to run owns the
// last range and must take every other range from its back (a worker that never woke up).
struct reversed_pool {
    std::size_t concurrency;
    thread_pool hook() {
        thread_pool h;
        h.parallel_for = [](void* user, std::size_t n, parallel_task task, void* ctx) {
            (void)user;
            for (std::size_t p = n; p-- > 0;) task(ctx, p, p + 1, 0);
        };
        h.concurrency = concurrency;
        h.user = this;
        return h;
    }
};
}  // namespace

namespace {
// Interrupts on every third call (any thread): a pause that lands between takes at random.
std::atomic<int> interrupt_calls{0};
bool every_third(void*) { return interrupt_calls.fetch_add(1, std::memory_order_relaxed) % 3 == 2; }
}  // namespace

TEST_CASE("run_dynamic under a tile control: paused calls resume the intervals left and visit every item once") {
    default_thread_pool two(2), three(3);
    reversed_pool rev4{4}, rev70{70};
    const thread_pool pools[] = {serial_thread_pool(), two.hook(), three.hook(), rev4.hook(), rev70.hook()};
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{100}, std::size_t{1001}}) {
        for (std::size_t p = 0; p < sizeof pools / sizeof pools[0]; ++p) {
            for (int mode = 0; mode < 2; ++mode) {  // 0: a deadline already past (one take per call), 1: interrupts
                CAPTURE(n);
                CAPTURE(p);
                CAPTURE(mode);
                std::vector<std::atomic<int>> hits(n);
                for (auto& h : hits) h.store(0);
                visit_counter vc{&hits};
                cpu::detail::tile_ranges left;
                int calls = 0;
                for (bool done = false; !done && calls <= static_cast<int>(n) + 1; ++calls) {
                    cpu::detail::tile_control ctl;
                    ctl.resume = &left;
                    ctl.must_progress = true;  // as a pass does when nothing else ran in its call
                    if (mode == 0) ctl.deadline_ns = cpu::detail::steady_ns() - 1000000;
                    else ctl.interrupt = every_third;
                    std::size_t before = 0, after = 0;
                    for (auto& h : hits) before += static_cast<std::size_t>(h.load());
                    {
                        cpu::detail::scoped_tile_control scope(&ctl);
                        cpu::detail::run_dynamic(pools[p], n, count_visits, &vc);
                    }
                    for (auto& h : hits) after += static_cast<std::size_t>(h.load());
                    std::size_t not_done = 0;
                    for (std::size_t i = 0; i < ctl.left.count; ++i) not_done += ctl.left.end[i] - ctl.left.begin[i];
                    CHECK(not_done == n - after);  // `left` is exactly what is not done
                    if (mode == 0) CHECK(after > before);  // must_progress: a past deadline still runs an item
                    CHECK(ctl.stopped == (ctl.left.count > 0));
                    done = !ctl.stopped;
                    left = ctl.left;
                }
                int wrong = 0;
                for (auto& h : hits) wrong += h.load() != 1;
                CHECK(wrong == 0);
                // A past deadline lets each thread start at most its first take before it stops (threads
                // that both look before either has taken may both run one item, in parallel): more items
                // than threads need more than one call.
                if (mode == 0 && n > pools[p].concurrency) CHECK(calls > 1);
            }
        }
    }
}

TEST_CASE("run_dynamic visits every item exactly once (own ranges, stealing from the back, > 64 parts)") {
    default_thread_pool two(2), three(3);
    reversed_pool rev4{4}, rev70{70};
    const thread_pool pools[] = {serial_thread_pool(), two.hook(), three.hook(), rev4.hook(), rev70.hook()};
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{64}, std::size_t{100},
                          std::size_t{1001}}) {
        for (std::size_t p = 0; p < sizeof pools / sizeof pools[0]; ++p) {
            CAPTURE(n);
            CAPTURE(p);
            std::vector<std::atomic<int>> hits(n);
            for (auto& h : hits) h.store(0);
            visit_counter vc{&hits};
            cpu::detail::run_dynamic(pools[p], n, count_visits, &vc);
            int wrong = 0;
            for (auto& h : hits) wrong += h.load() != 1;
            CHECK(wrong == 0);
        }
    }
}
