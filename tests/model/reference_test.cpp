// Teacher-forced acceptance against llama.cpp's reference logits (../shared/reference, see its README):
// for every shared llama/qwen2/qwen3 model and each reference prompt, feed prompt + generated[:-1]
// (one batched prefill, then again token by token) and check
//   1. argmax == generated_ids[i] wherever the reference top-1 margin > margin_threshold,
//   2. max over stored rows of NMSE(ours, ref) <= nmse_threshold      (thresholds.tsv);
// and, on the F32 files, that free-running greedy decoding reproduces generated_ids exactly.
// The batched pass uses an F32 KV cache and two threads, the token-by-token pass the default F16 cache
// on the caller's thread. Skips without ../shared.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "noggin/core/default_thread_pool.hpp"
#include "noggin/model/forward.hpp"
#include "support/mini_json.hpp"
#include "support/shared_data.hpp"
#include "support/compare.hpp"

using namespace noggin;

namespace {

struct reference {
    std::string model_file;                          // e.g. "llama-small-q4_0.gguf"
    std::vector<std::int32_t> prompt, generated;     // prompt_ids, generated_ids
    std::vector<float> top1_margin;                  // per step: top5[i][0][1] - top5[i][1][1]
    std::int64_t n_vocab = 0, n_rows = 0;            // rows of full logits stored
    std::vector<float> logits;                       // n_rows × n_vocab
};

bool load_reference(const std::string& json_path, const std::string& logits_path, reference* r) {
    std::ifstream in(json_path);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    noggin_test::json::value doc;
    std::string error;
    REQUIRE_MESSAGE(noggin_test::json::parse(ss.str(), &doc, &error), json_path, ": ", error);
    r->model_file = doc["model"].s;
    for (const auto& v : doc["prompt_ids"].items) r->prompt.push_back(static_cast<std::int32_t>(v.as_int()));
    for (const auto& v : doc["generated_ids"].items) r->generated.push_back(static_cast<std::int32_t>(v.as_int()));
    for (const auto& step : doc["top5"].items) r->top1_margin.push_back(static_cast<float>(step.items[0].items[1].n - step.items[1].items[1].n));
    r->n_vocab = doc["n_vocab"].as_int();
    r->n_rows = doc["n_logit_rows"].as_int();
    const std::vector<unsigned char> bytes = noggin_test::read_file_bytes(logits_path);
    REQUIRE(bytes.size() == static_cast<std::size_t>(r->n_rows * r->n_vocab) * sizeof(float));
    r->logits.resize(bytes.size() / sizeof(float));
    std::memcpy(r->logits.data(), bytes.data(), bytes.size());
    REQUIRE(r->top1_margin.size() == r->generated.size());
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

std::int32_t argmax(const float* x, std::int64_t n) {
    return static_cast<std::int32_t>(std::max_element(x, x + n) - x);
}

// Check the logits of the generated steps: row i of `rows` = logits that produced generated[i].
struct check_result {
    double max_nmse = 0;
    int argmax_checked = 0, argmax_wrong = 0;
};

check_result check_rows(const reference& r, const std::vector<std::vector<float>>& rows, double margin_threshold) {
    check_result c;
    for (std::size_t i = 0; i < r.generated.size(); ++i) {
        const float* ours = rows[i].data();
        if (r.top1_margin[i] > margin_threshold) {
            ++c.argmax_checked;
            if (argmax(ours, r.n_vocab) != r.generated[i]) ++c.argmax_wrong;
        }
        if (static_cast<std::int64_t>(i) < r.n_rows)
            c.max_nmse = std::max(c.max_nmse, noggin_test::nmse(ours, r.logits.data() + i * r.n_vocab, r.n_vocab));
    }
    return c;
}

const char* const model_stems[] = {
    "llama-small-f32",   "llama-small-f16",    "llama-small-bf16",   "llama-small-q8_0",   "llama-small-q4_0",
    "llama-small-q4_1",  "llama-small-q5_0",   "llama-small-q5_1",   "llama-small-q2_k",   "llama-small-q3_k_m",
    "llama-small-q4_k_m", "llama-small-q5_k_m", "llama-small-q6_k",  "qwen2-small-f32",    "qwen2-small-f16",
    "qwen2-small-bf16",  "qwen2-small-q8_0",   "qwen2-small-q4_0",   "qwen2-small-q4_1",   "qwen2-small-q5_0",
    "qwen2-small-q5_1",  "qwen2-small-q2_k",   "qwen2-small-q3_k_m", "qwen2-small-q4_k_m", "qwen2-small-q5_k_m",
    "qwen2-small-q6_k",  "qwen3-small-f16",    "qwen3-small-q8_0",   "qwen3-small-q4_k_m", "r1q-tiny-q8_0",
};

}  // namespace

TEST_CASE("forward pass matches llama.cpp reference logits on every shared model (batched and token by token)") {
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    const auto thresholds = load_thresholds(*dir + "/reference/thresholds.tsv");
    default_thread_pool two(2);
    int files = 0, dumps = 0;
    std::string table;
    for (const char* stem : model_stems) {
        const std::string model_path = *dir + "/models/" + stem + ".gguf";
        result<model::model> m = model::model::open(model_path);
        REQUIRE_MESSAGE(m.ok(), model_path, ": ", m.status().message());
        const std::int64_t V = m->hparams().n_vocab;
        ++files;
        for (const char* tag : {"p1", "p2"}) {
            const std::string base = *dir + "/reference/" + stem + "." + tag;
            reference r;
            if (!load_reference(base + ".json", base + ".logits.f32", &r)) continue;
            ++dumps;
            CAPTURE(base);
            REQUIRE(r.n_vocab == V);
            const auto it = thresholds.find(r.model_file);
            REQUIRE(it != thresholds.end());
            const double nmse_threshold = it->second.first, margin_threshold = it->second.second;

            std::vector<std::int32_t> ids = r.prompt;
            ids.insert(ids.end(), r.generated.begin(), r.generated.end() - 1);
            const std::size_t P = r.prompt.size();
            const std::int64_t n = static_cast<std::int64_t>(ids.size());

            // 1. One batched prefill, F32 cache, two threads.
            model::context_params cp;
            cp.kv.n_ctx = 512;
            cp.kv.type = dtype::f32;
            cp.pool = two.hook();
            result<model::context> batched = model::context::create(m.value(), cp);
            REQUIRE(batched.ok());
            std::vector<float> all(static_cast<std::size_t>(n * V));
            REQUIRE(batched->decode_all(ids.data(), n, all.data()).ok());
            CHECK(batched->n_past() == n);
            std::vector<std::vector<float>> rows;
            for (std::size_t i = 0; i < r.generated.size(); ++i)
                rows.emplace_back(all.begin() + static_cast<std::ptrdiff_t>((P - 1 + i) * V),
                                  all.begin() + static_cast<std::ptrdiff_t>((P + i) * V));
            const check_result cb = check_rows(r, rows, margin_threshold);

            // 2. Token by token, default F16 cache, caller's thread; prompt first as one batch.
            model::context_params cs;
            cs.kv.n_ctx = 512;
            result<model::context> steps = model::context::create(m.value(), cs);
            REQUIRE(steps.ok());
            std::vector<std::vector<float>> step_rows;
            for (std::int64_t t = 0; t < n; ++t) {
                REQUIRE(steps->decode(&ids[static_cast<std::size_t>(t)], 1).ok());
                if (t >= static_cast<std::int64_t>(P) - 1) step_rows.emplace_back(steps->logits(), steps->logits() + V);
            }
            const check_result cs1 = check_rows(r, step_rows, margin_threshold);

            char line[256];
            std::snprintf(line, sizeof line, "%-26s %s  nmse batched %.2e / steps %.2e (max %.0e)  argmax %d/%d, %d/%d\n",
                          r.model_file.c_str(), tag, cb.max_nmse, cs1.max_nmse, nmse_threshold,
                          cb.argmax_checked - cb.argmax_wrong, cb.argmax_checked, cs1.argmax_checked - cs1.argmax_wrong,
                          cs1.argmax_checked);
            table += line;
            CHECK(cb.argmax_wrong == 0);
            CHECK(cs1.argmax_wrong == 0);
            CHECK(cb.max_nmse <= nmse_threshold);
            CHECK(cs1.max_nmse <= nmse_threshold);
            CHECK(cb.argmax_checked > 0);
        }
    }
    MESSAGE(table);
    CHECK(files == 30);
    CHECK(dumps == 59);
}

TEST_CASE("greedy decoding reproduces the reference generations on the F32 files") {
    const auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    int runs = 0;
    for (const char* stem : {"llama-small-f32", "qwen2-small-f32"}) {
        result<model::model> m = model::model::open(*dir + "/models/" + stem + ".gguf");
        REQUIRE(m.ok());
        const std::int64_t V = m->hparams().n_vocab;
        for (const char* tag : {"p1", "p2"}) {
            const std::string base = *dir + "/reference/" + stem + "." + tag;
            reference r;
            REQUIRE(load_reference(base + ".json", base + ".logits.f32", &r));
            for (dtype kv_type : {dtype::f32, dtype::f16}) {
                CAPTURE(base);
                CAPTURE(dtype_name(kv_type));
                model::context_params cp;
                cp.kv.n_ctx = 256;
                cp.kv.type = kv_type;
                result<model::context> ctx = model::context::create(m.value(), cp);
                REQUIRE(ctx.ok());
                REQUIRE(ctx->decode(r.prompt.data(), static_cast<std::int64_t>(r.prompt.size())).ok());
                std::vector<std::int32_t> got;
                while (got.size() < r.generated.size()) {
                    std::int32_t next = argmax(ctx->logits(), V);
                    got.push_back(next);
                    if (got.size() < r.generated.size()) REQUIRE(ctx->decode(&next, 1).ok());
                }
                CHECK(got == r.generated);
                ++runs;
            }
        }
    }
    CHECK(runs == 8);
}
