// tests/model/tiny_reasoner_golden_test.cpp — the bundled tiny reasoner against PyTorch (float64, the GGUF's own
// weights): same prompt ids, same greedy ids on every prompt, top logits within 5e-4 (CPU, F32 KV cache).
#include <doctest/doctest.h>

#include "support/golden.hpp"

TEST_CASE("tiny reasoner golden: greedy ids equal PyTorch's exactly, top logits within 5e-4 (CPU)") {
    auto make_runner = [](const noggin::model::model& m, std::int64_t n_ctx) {
        noggin::model::runner_params rp;
        rp.which = noggin::model::backend::cpu;
        rp.cpu.kv.n_ctx = n_ctx;
        rp.cpu.kv.type = noggin::dtype::f32;
        return noggin::model::runner::create(m, rp);
    };
    noggin_test::check_golden(make_runner, 5e-4f);
}
