// tests/vulkan/golden_test.cpp — the bundled tiny reasoner against PyTorch on the Vulkan backend: same greedy
// ids on every third prompt (lavapipe is slow), top logits within 5e-4 (F32 KV cache). Skips when no Vulkan device exists.
#include <doctest/doctest.h>

#include "support.hpp"
#include "support/golden.hpp"

TEST_CASE("vulkan: tiny reasoner golden (every third prompt), greedy ids equal PyTorch's exactly, top logits within 5e-4") {
    noggin::vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    auto make_runner = [ctx](const noggin::model::model& m, std::int64_t n_ctx) {
        noggin::model::runner_params rp;
        rp.which = noggin::model::backend::vulkan;
        rp.fallback_to_cpu = false;
        rp.device_context = ctx;
        rp.cpu.kv.n_ctx = n_ctx;
        rp.cpu.kv.type = noggin::dtype::f32;
        return noggin::model::runner::create(m, rp);
    };
    noggin_test::check_golden(make_runner, 5e-4f, /*case_stride=*/3);
    NOGGIN_CHECK_VALIDATION();
}
