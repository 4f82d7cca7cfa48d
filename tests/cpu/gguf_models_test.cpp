// Dequantizes every tensor of the shared llama-small-<type>.gguf files (quantized by llama.cpp's
// llama-quantize from llama-small-f32.gguf) and compares with the F32 master: a wrong bit layout gives an
// error near 100 %, a right one the format's quantization error. Also quantizes the master with our own
// quantizers and checks that their error is in the same range as llama.cpp's; and runs the integer GEMM
// over every Q4_0 matrix of the llama-small and qwen2-small Q4_0 files (llama.cpp's quantizer) against the
// per-column dots. Skips without ../shared.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cpu/test_util.hpp"
#include "noggin/core/default_thread_pool.hpp"
#include "noggin/cpu/gemm_int8.hpp"
#include "noggin/cpu/matmul.hpp"
#include "noggin/cpu/quants.hpp"
#include "noggin/formats/gguf.hpp"
#include "support/shared_data.hpp"

using namespace noggin;

namespace {
// Relative RMS error ceiling of a dequantized tensor against the F32 master, by dtype (N(0, 0.05)-like
// weights; the bounds of quants_test with slack for llama.cpp's choices).
double max_error(dtype t) {
    switch (t) {
        case dtype::f32: return 0.0;
        case dtype::f16: return 1e-3;
        case dtype::bf16: return 5e-3;
        case dtype::q8_0: return 0.01;
        case dtype::q6_k: return 0.04;
        case dtype::q5_0: case dtype::q5_1: case dtype::q5_k: return 0.07;
        case dtype::q4_0: case dtype::q4_1: case dtype::q4_k: return 0.13;
        case dtype::q3_k: return 0.25;
        case dtype::q2_k: return 0.45;
        default: return 0.5;
    }
}
}  // namespace

TEST_CASE("dequantized llama-small-<type>.gguf tensors match the F32 master") {
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    result<gguf::file> master = gguf::file::open(*dir + "/models/llama-small-f32.gguf");
    REQUIRE(master.ok());
    const char* types[] = {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k"};
    int checked = 0, ours_checked = 0;
    for (const char* ty : types) {
        const std::string path = *dir + "/models/llama-small-" + ty + ".gguf";
        result<gguf::file> f = gguf::file::open(path);
        REQUIRE_MESSAGE(f.ok(), path);
        for (const gguf::tensor_info& t : f->tensors()) {
            const gguf::tensor_info* m = master->find_tensor(t.name);
            REQUIRE(m != nullptr);
            REQUIRE(m->type == dtype::f32);
            REQUIRE(m->element_count() == t.element_count());
            const std::string what = std::string(ty) + " " + std::string(t.name) + " " + dtype_name(t.type);
            CAPTURE(what);
            const std::size_t n = static_cast<std::size_t>(t.element_count());
            std::vector<float> got(n);
            const tensor_view v = t.view();
            for (std::int64_t r = 0; r < v.row_count(); ++r)
                REQUIRE(cpu::dequantize_row(t.type, v.row(r), got.data() + r * v.ne[0], v.ne[0]));
            const float* want = static_cast<const float*>(m->data);
            const double e = noggin_test::rel_rms(got.data(), want, n);
            CHECK(e <= max_error(t.type));
            ++checked;
            // Our quantizer for the same type on the same data: error in the same range as llama.cpp's.
            if (dtype_info(t.type).quantized && v.ne[0] % 256 == 0 && n >= 65536) {
                std::vector<unsigned char> q(noggin_test::bytes_of(t.type, static_cast<std::int64_t>(n)));
                std::vector<float> back(n);
                REQUIRE(cpu::quantize_row(t.type, want, q.data(), static_cast<std::int64_t>(n)));
                REQUIRE(cpu::dequantize_row(t.type, q.data(), back.data(), static_cast<std::int64_t>(n)));
                const double ours = noggin_test::rel_rms(back.data(), want, n);
                CHECK(ours <= 1.35 * e + 1e-4);
                ++ours_checked;
            }
        }
    }
    MESSAGE("tensors checked: ", checked, ", with our quantizer: ", ours_checked);
    CHECK(checked > 100);
}

TEST_CASE("gemm_int8 on every integer-GEMM matrix of {llama,qwen2}-small-{q4_0,q8_0,q2_k,q3_k_m,q4_k_m,q5_k_m,q6_k}.gguf equals the per-column dots") {
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    default_thread_pool two(2);
    int checked = 0;
    for (const char* name : {"llama-small-q4_0.gguf", "qwen2-small-q4_0.gguf", "llama-small-q8_0.gguf", "qwen2-small-q8_0.gguf",
                             "llama-small-q4_k_m.gguf", "qwen2-small-q4_k_m.gguf", "llama-small-q6_k.gguf", "qwen2-small-q6_k.gguf",
                             "llama-small-q5_k_m.gguf", "qwen2-small-q5_k_m.gguf", "llama-small-q3_k_m.gguf", "qwen2-small-q3_k_m.gguf",
                             "llama-small-q2_k.gguf", "qwen2-small-q2_k.gguf"}) {
        result<gguf::file> f = gguf::file::open(*dir + "/models/" + name);
        REQUIRE_MESSAGE(f.ok(), name);
        for (const gguf::tensor_info& t : f->tensors()) {
            const tensor_view w = t.view();
            if (!cpu::gemm_int8_supported(t.type) || w.ne[2] != 1 || w.ne[3] != 1) continue;
            const std::string what = std::string(name) + " " + std::string(t.name);
            CAPTURE(what);
            const std::int64_t k = w.ne[0], rows = w.ne[1], n_cols = 37;  // a prompt batch with a column tail
            const std::vector<float> x = noggin_test::random_floats(static_cast<std::size_t>(k * n_cols), 11);
            const dtype act = cpu::vec_dot_type(t.type);
            std::vector<unsigned char> xq(cpu::activation_row_bytes(act, k) * static_cast<std::size_t>(n_cols));
            cpu::quantize_columns(act, x.data(), n_cols, k, xq.data(), serial_thread_pool());
            std::vector<float> y(static_cast<std::size_t>(rows * n_cols)), dots(y.size());
            REQUIRE(cpu::gemm_int8(w, xq.data(), n_cols, y.data(), two.hook()).ok());
            REQUIRE(cpu::matmul_quantized(w, xq.data(), n_cols, dots.data(), serial_thread_pool()).ok());
            CHECK(noggin_test::rel_rms(y.data(), dots.data(), y.size()) <= 1e-6);  // summation order only
            ++checked;
        }
    }
    MESSAGE("integer-GEMM matrices checked: ", checked);
    CHECK(checked >= (cpu::gemm_int8_supported(dtype::q8_0) ? 60 : 40));
}
