// The whole forward pass on Vulkan against llama.cpp's reference logits (../shared/reference, see its
// README) and against the CPU backend:
//   - greedy decoding on the F32 files gives exactly the CPU backend's (and the reference's) tokens;
//   - teacher-forced check (argmax where the reference margin > margin_threshold, max NMSE per stored
//     row ≤ nmse_threshold from thresholds.tsv) on llama-small F32/F16/Q8_0/Q4_K_M/Q5_K_M, qwen2-small
//     Q8_0/Q4_K_M/Q5_K_M (F32 in the split test), qwen3-small Q4_K_M and r1q-tiny Q8_0: one batched pass
//     (F32 KV, matrix-matrix shaders), and token by token (F16 KV, one submit per token) for
//     llama-small-q4_k_m, qwen2-small-q8_0 and r1q-tiny;
//   - the same check with the binding limit lowered to 64 KiB, so every weight matrix is split;
//   - a decode step is one command buffer with fewer barriers than dispatches.
// Skips without ../shared or without a Vulkan device.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "noggin/model/backend.hpp"
#include "noggin/model/forward.hpp"
#include "noggin/vulkan/forward.hpp"
#include "support.hpp"
#include "support/mini_json.hpp"
#include "support/shared_data.hpp"

using namespace noggin;

namespace {

struct reference {
    std::string model_file;
    std::vector<std::int32_t> prompt, generated;
    std::vector<float> margin;  // per step: top-1 minus top-2 reference logit
    std::int64_t n_vocab = 0, n_rows = 0;
    std::vector<float> logits;  // n_rows × n_vocab
};

bool load_reference(const std::string& base, reference* r) {
    std::ifstream in(base + ".json");
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    noggin_test::json::value doc;
    std::string error;
    REQUIRE_MESSAGE(noggin_test::json::parse(ss.str(), &doc, &error), base, ": ", error);
    r->model_file = doc["model"].s;
    for (const auto& v : doc["prompt_ids"].items) r->prompt.push_back(static_cast<std::int32_t>(v.as_int()));
    for (const auto& v : doc["generated_ids"].items) r->generated.push_back(static_cast<std::int32_t>(v.as_int()));
    for (const auto& s : doc["top5"].items) r->margin.push_back(static_cast<float>(s.items[0].items[1].n - s.items[1].items[1].n));
    r->n_vocab = doc["n_vocab"].as_int();
    r->n_rows = doc["n_logit_rows"].as_int();
    const std::vector<unsigned char> bytes = noggin_test::read_file_bytes(base + ".logits.f32");
    REQUIRE(bytes.size() == static_cast<std::size_t>(r->n_rows * r->n_vocab) * sizeof(float));
    r->logits.resize(bytes.size() / sizeof(float));
    std::memcpy(r->logits.data(), bytes.data(), bytes.size());
    return true;
}

std::map<std::string, std::pair<double, double>> load_thresholds(const std::string& path) {
    std::map<std::string, std::pair<double, double>> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ls(line);
        std::string file;
        double nmse = 0, margin = 0;
        if (ls >> file >> nmse >> margin) out[file] = {nmse, margin};
    }
    return out;
}

std::int32_t argmax(const float* x, std::int64_t n) { return static_cast<std::int32_t>(std::max_element(x, x + n) - x); }

struct check_result {
    double max_nmse = 0;
    int checked = 0, wrong = 0;
};

// rows[i] = the logits that produced generated[i].
check_result check_rows(const reference& r, const std::vector<std::vector<float>>& rows, double margin_threshold) {
    check_result c;
    for (std::size_t i = 0; i < r.generated.size(); ++i) {
        if (r.margin[i] > margin_threshold) {
            ++c.checked;
            if (argmax(rows[i].data(), r.n_vocab) != r.generated[i]) ++c.wrong;
        }
        if (static_cast<std::int64_t>(i) < r.n_rows)
            c.max_nmse = std::max(c.max_nmse, noggin_test::nmse(rows[i].data(), r.logits.data() + i * r.n_vocab,
                                                                static_cast<std::size_t>(r.n_vocab)));
    }
    return c;
}

// Teacher-forced check of one model on `ctx`: batched (F32 KV) and, if `steps`, token by token (F16 KV).
void teacher_forced(vulkan::context& ctx, const std::string& dir, const char* stem, bool steps, std::string* table,
                    std::size_t* max_chunks) {
    const auto thresholds = load_thresholds(dir + "/reference/thresholds.tsv");
    result<model::model> m = model::model::open(dir + "/models/" + stem + ".gguf");
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    const std::int64_t V = m->hparams().n_vocab;
    for (const char* tag : {"p1", "p2"}) {
        reference r;
        if (!load_reference(dir + "/reference/" + stem + "." + tag, &r)) continue;
        CAPTURE(stem);
        CAPTURE(tag);
        const auto it = thresholds.find(r.model_file);
        REQUIRE(it != thresholds.end());
        const double nmse_max = it->second.first, margin = it->second.second;
        std::vector<std::int32_t> ids = r.prompt;
        ids.insert(ids.end(), r.generated.begin(), r.generated.end() - 1);
        const std::size_t P = r.prompt.size();
        const std::int64_t n = static_cast<std::int64_t>(ids.size());

        vulkan::model_context_params bp;
        bp.n_ctx = 512;
        bp.kv_type = dtype::f32;
        bp.max_batch = 32;  // p2's 55 tokens take two command buffers
        auto batched = vulkan::model_context::create(ctx, m.value(), bp);
        REQUIRE_MESSAGE(batched.ok(), batched.status().message());
        std::vector<float> all(static_cast<std::size_t>(n * V));
        REQUIRE(batched->decode_all(ids.data(), n, all.data()).ok());
        CHECK(batched->n_past() == n);
        std::vector<std::vector<float>> rows;
        for (std::size_t i = 0; i < r.generated.size(); ++i)
            rows.emplace_back(all.begin() + static_cast<std::ptrdiff_t>((P - 1 + i) * V), all.begin() + static_cast<std::ptrdiff_t>((P + i) * V));
        const check_result cb = check_rows(r, rows, margin);
        CHECK(cb.wrong == 0);
        CHECK(cb.max_nmse <= nmse_max);
        CHECK(cb.checked > 0);

        check_result cs;
        if (steps) {
            vulkan::model_context_params sp;
            sp.n_ctx = 512;
            auto stepper = vulkan::model_context::create(ctx, m.value(), sp);
            REQUIRE(stepper.ok());
            std::vector<std::vector<float>> srows;
            for (std::int64_t t = 0; t < n; ++t) {
                REQUIRE(stepper->decode(&ids[static_cast<std::size_t>(t)], 1).ok());
                CHECK(stepper->last_submits() == 1);
                if (t >= static_cast<std::int64_t>(P) - 1) srows.emplace_back(stepper->logits(), stepper->logits() + V);
            }
            cs = check_rows(r, srows, margin);
            CHECK(cs.wrong == 0);
            CHECK(cs.max_nmse <= nmse_max);
        }
        if (max_chunks != nullptr) {
            // Largest number of chunks any weight was split into (via the budget of a fresh upload).
            const tensor_view& w = m->weights().layers[0].ffn_gate;
            auto t = vulkan::upload_tensor(ctx, w, "probe");
            REQUIRE(t.ok());
            *max_chunks = std::max(*max_chunks, t.value().chunks.size());
        }
        char steps_text[48] = "";
        if (steps) std::snprintf(steps_text, sizeof steps_text, " / steps %.2e", cs.max_nmse);
        char line[200];
        std::snprintf(line, sizeof line, "%-24s %s  nmse batched %.2e%s  (max %.0e)  argmax %d/%d\n", r.model_file.c_str(), tag,
                      cb.max_nmse, steps_text, nmse_max, cb.checked - cb.wrong, cb.checked);
        *table += line;
    }
}

}  // namespace

namespace {

// One test case per family, so CTest can run them side by side. `stepped` files also run token by
// token (F16 KV, one submit per token); lavapipe is slow and CI runs the suite three times.
void teacher_forced_family(std::initializer_list<const char*> stems, std::initializer_list<const char*> stepped) {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    std::string table;
    for (const char* stem : stems) {
        bool steps = false;
        for (const char* s : stepped) steps = steps || std::strcmp(s, stem) == 0;
        teacher_forced(*ctx, *dir, stem, steps, &table, nullptr);
    }
    MESSAGE(table);
    NOGGIN_CHECK_VALIDATION();
}

}  // namespace

TEST_CASE("vulkan model: teacher-forced reference check, llama-small F32/F16/Q8_0/Q4_K_M/Q5_K_M") {
    teacher_forced_family({"llama-small-f32", "llama-small-f16", "llama-small-q8_0", "llama-small-q4_k_m", "llama-small-q5_k_m"},
                          {"llama-small-q4_k_m"});
}

TEST_CASE("vulkan model: teacher-forced reference check, qwen2-small Q8_0/Q4_K_M/Q5_K_M and qwen3-small Q4_K_M") {
    teacher_forced_family({"qwen2-small-q8_0", "qwen2-small-q4_k_m", "qwen2-small-q5_k_m", "qwen3-small-q4_k_m"}, {"qwen2-small-q8_0"});
}

TEST_CASE("vulkan model: teacher-forced reference check, r1q-tiny Q8_0 (151936-token vocabulary)") {
    teacher_forced_family({"r1q-tiny-q8_0"}, {"r1q-tiny-q8_0"});
}

TEST_CASE("vulkan model: split bindings (limit lowered to 64 KiB) pass the same check") {
    vulkan::context* base = noggin_test::test_context();
    if (base == nullptr) return;
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    vulkan::context_params p = noggin_test::test_context_params();
    p.max_binding_bytes = 64 * 1024;
    auto ctx = vulkan::context::create(p);
    REQUIRE(ctx.ok());
    std::string table;
    std::size_t chunks = 0;
    for (const char* stem : {"llama-small-f32", "llama-small-q4_k_m", "qwen2-small-q8_0", "qwen2-small-f32"})
        teacher_forced(*ctx.value(), *dir, stem, false, &table, &chunks);
    MESSAGE(table);
    CHECK(chunks > 1);
    CHECK(ctx.value()->validation_errors() == 0);
}

TEST_CASE("vulkan model: greedy tokens identical to the CPU backend on the F32 files; one submit per token") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    for (const char* stem : {"llama-small-f32", "qwen2-small-f32"}) {
        result<model::model> m = model::model::open(*dir + "/models/" + stem + ".gguf");
        REQUIRE(m.ok());
        const std::int64_t V = m->hparams().n_vocab;
        for (const char* tag : {"p1", "p2"}) {
            reference r;
            REQUIRE(load_reference(*dir + "/reference/" + stem + "." + tag, &r));
            CAPTURE(stem);
            CAPTURE(tag);
            model::context_params cp;
            cp.kv.n_ctx = 256;
            auto cpu_ctx = model::context::create(m.value(), cp);
            REQUIRE(cpu_ctx.ok());
            vulkan::model_context_params vp;
            vp.n_ctx = 256;
            auto gpu = vulkan::model_context::create(*ctx, m.value(), vp);
            REQUIRE(gpu.ok());
            REQUIRE(cpu_ctx->decode(r.prompt.data(), static_cast<std::int64_t>(r.prompt.size())).ok());
            REQUIRE(gpu->decode(r.prompt.data(), static_cast<std::int64_t>(r.prompt.size())).ok());
            std::vector<std::int32_t> cpu_tokens, gpu_tokens;
            while (gpu_tokens.size() < r.generated.size()) {
                std::int32_t a = argmax(cpu_ctx->logits(), V), b = argmax(gpu->logits(), V);
                cpu_tokens.push_back(a);
                gpu_tokens.push_back(b);
                if (gpu_tokens.size() == r.generated.size()) break;
                REQUIRE(cpu_ctx->decode(&a, 1).ok());
                REQUIRE(gpu->decode(&b, 1).ok());
                CHECK(gpu->last_submits() == 1);
                CHECK(gpu->last_barriers() < gpu->last_dispatches());
            }
            CHECK(gpu_tokens == cpu_tokens);
            CHECK(gpu_tokens == r.generated);
        }
    }
    NOGGIN_CHECK_VALIDATION();
}

TEST_CASE("vulkan model: errors leave the cache unchanged; memory estimate matches; budget too small fails cleanly") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    result<model::model> m = model::model::open(*dir + "/models/llama-small-q4_k_m.gguf");
    REQUIRE(m.ok());
    vulkan::model_context_params p;
    p.n_ctx = 16;
    auto est = vulkan::estimate_memory(m.value(), p, ctx->device_binding_bytes());
    REQUIRE(est.ok());
    const std::uint64_t before = ctx->memory_used();
    {
        auto mc = vulkan::model_context::create(*ctx, m.value(), p);
        REQUIRE(mc.ok());
        const std::uint64_t used = ctx->memory_used() - before;
        CHECK(used >= est.value().total());
        CHECK(used <= est.value().total() + 64 * 1024);  // per-buffer alignment only
        CHECK(mc->weight_bytes() == est.value().weights);
        const std::int32_t bad[2] = {1, 99999};
        CHECK(mc->decode(bad, 2).code() == status_code::invalid_argument);
        CHECK(mc->n_past() == 0);
        std::vector<std::int32_t> many(17, 1);
        CHECK(mc->decode(many.data(), 17).code() == status_code::limit_exceeded);
        CHECK(mc->decode(many.data(), 16).ok());
        CHECK(mc->n_past() == 16);
        CHECK(mc->truncate(3).ok());
        CHECK(mc->n_past() == 3);
    }
    CHECK(ctx->memory_used() == before);
    vulkan::context_params cp = noggin_test::test_context_params();
    cp.memory_budget = est.value().total() / 2;
    auto small = vulkan::context::create(cp);
    REQUIRE(small.ok());
    auto fail = vulkan::model_context::create(*small.value(), m.value(), p);
    REQUIRE_FALSE(fail.ok());
    CHECK(fail.status().code() == status_code::out_of_memory);
    CHECK(small.value()->memory_used() == 0);
    NOGGIN_CHECK_VALIDATION();
}

TEST_CASE("vulkan model: backend choice at load (model::runner), fallback to the CPU with a reason") {
    vulkan::context* ctx = noggin_test::test_context();
    if (ctx == nullptr) return;
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    // llama-small-q4_k_m on p1: the first reference token (85) leads by 0.32, far from a near-tie.
    result<model::model> m = model::model::open(*dir + "/models/llama-small-q4_k_m.gguf");
    REQUIRE(m.ok());
    const std::int64_t V = m->hparams().n_vocab;
    const std::int32_t prompt[5] = {1, 403, 407, 261, 378};
    model::runner_params rp;
    rp.cpu.kv.n_ctx = 32;
    auto cpu = model::runner::create(m.value(), rp);
    REQUIRE(cpu.ok());
    CHECK(cpu->active() == model::backend::cpu);
    REQUIRE(cpu->decode(prompt, 5).ok());

    rp.which = model::backend::vulkan;
    rp.device_context = ctx;  // share the test context (validation on)
    auto gpu = model::runner::create(m.value(), rp);
    REQUIRE(gpu.ok());
    CHECK(gpu->active() == model::backend::vulkan);
    CHECK(gpu->fallback_reason().empty());
    REQUIRE(gpu->decode(prompt, 5).ok());
    CHECK(gpu->n_past() == 5);
    CHECK(argmax(gpu->logits(), V) == 85);
    CHECK(argmax(cpu->logits(), V) == 85);
    CHECK(noggin_test::nmse(gpu->logits(), cpu->logits(), static_cast<std::size_t>(V)) < 4e-3);  // Q4_K_M threshold

    // No loader: a clear status, or a CPU runner that says why.
    rp.device_context = nullptr;
    rp.device.loader_library = "libnoggin-no-such-vulkan-loader.so.1";
    auto fallback = model::runner::create(m.value(), rp);
    REQUIRE(fallback.ok());
    CHECK(fallback->active() == model::backend::cpu);
    CHECK(fallback->fallback_reason().find("loader") != std::string::npos);
    rp.fallback_to_cpu = false;
    auto strict = model::runner::create(m.value(), rp);
    REQUIRE_FALSE(strict.ok());
    CHECK(strict.status().code() == status_code::device_error);
    NOGGIN_CHECK_VALIDATION();
}
