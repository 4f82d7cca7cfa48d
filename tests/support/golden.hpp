// tests/support/golden.hpp — the tiny reasoner's golden test, shared by the CPU and Vulkan suites.
//
// tests/data/tiny-reasoner-reference.json (written by tools/train_tiny_reasoner/golden.py) holds, for ≥ 20
// plain questions, the rendered chat prompt and its ids, PyTorch's greedy continuation (float64 math on the
// GGUF's own weights) and the top logits of every step. `check_golden` renders each question with the GGUF's
// chat template, tokenizes it with the GGUF's tokenizer (ids must be equal), runs greedy decoding on a
// model::runner (CPU or Vulkan; F32 KV cache) and requires the same ids exactly and every recorded top logit
// within `logit_tolerance` (absolute).
//
// Sections: file loading · check_golden
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "noggin/model/backend.hpp"
#include "noggin/text/chat_text.hpp"
#include "support/mini_json.hpp"

namespace noggin_test {

// --- file loading ---

// Repository root, from this file's path (absolute in CMake and Meson builds).
inline std::string golden_repo_root() {
    std::string f = __FILE__;
    const std::size_t at = f.rfind("tests/support/");
    return at == std::string::npos ? std::string() : f.substr(0, at);
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::uint64_t fnv1a64(const std::string& bytes) {
    std::uint64_t h = 0xCBF29CE484222325ull;
    for (unsigned char c : bytes) h = (h ^ c) * 0x100000001B3ull;
    return h;
}

// --- check_golden ---

struct golden_stats {
    int cases = 0;
    int steps = 0;
    double max_logit_error = 0;  // over every recorded top logit
};

// `make_runner(model, n_ctx)` returns a result<noggin::model::runner> on the backend under test.
// `case_stride` > 1 checks every case_stride-th prompt only (the slow software Vulkan driver).
template <class MakeRunner>
golden_stats check_golden(MakeRunner make_runner, float logit_tolerance, int case_stride = 1) {
    golden_stats stats;
    const std::string root = golden_repo_root();
    const std::string model_path = root + "models/noggin-tiny-reasoner.gguf";
    const std::string text = read_text(root + "tests/data/tiny-reasoner-reference.json");
    REQUIRE_MESSAGE(!text.empty(), "tests/data/tiny-reasoner-reference.json is missing");
    json::value doc;
    std::string error;
    REQUIRE_MESSAGE(json::parse(text, &doc, &error), error);
    REQUIRE(doc["format"].s == "noggin-golden-1");

    const std::string model_bytes = read_text(model_path);
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a64(model_bytes)));
    REQUIRE_MESSAGE(doc["model_fnv1a64"].s == hash,
                    "models/noggin-tiny-reasoner.gguf changed since the golden file was written: regenerate it with "
                    "tools/train_tiny_reasoner/golden.py");

    noggin::result<noggin::model::model> m = noggin::model::model::open(model_path);
    REQUIRE(m.ok());
    REQUIRE(m->file().get_string("tokenizer.chat_template").ok());  // the file's own template, not a fallback
    noggin::result<noggin::text::chat_text> model_text = noggin::text::chat_text_from_gguf(m->file());
    REQUIRE(model_text.ok());
    const noggin::text::tokenizer* tok = &model_text->tokenizer;
    const noggin::text::chat_template* chat = &model_text->chat;
    const std::int64_t V = m->hparams().n_vocab;

    const std::vector<json::value>& cases = doc["cases"].items;
    CHECK(cases.size() >= 20);
    for (std::size_t ci = 0; ci < cases.size(); ci += static_cast<std::size_t>(case_stride)) {
        const json::value& c = cases[ci];
        CAPTURE(c["question"].s);
        // The chat template and the tokenizer give PyTorch's prompt.
        noggin::result<std::string> rendered = chat->render({{"user", c["question"].s}});
        REQUIRE(rendered.ok());
        CHECK(rendered.value() == c["prompt"].s);
        noggin::text::encode_options enc;
        enc.parse_special = true;
        noggin::result<std::vector<noggin::text::token_id>> ids = tok->encode(c["prompt"].s, enc);
        REQUIRE(ids.ok());
        std::vector<std::int32_t> prompt(ids->begin(), ids->end());
        std::vector<std::int32_t> want_prompt;
        for (const json::value& v : c["prompt_ids"].items) want_prompt.push_back(static_cast<std::int32_t>(v.n));
        REQUIRE(prompt == want_prompt);

        // Greedy decoding gives PyTorch's ids; the recorded top logits agree.
        std::vector<std::int32_t> want;
        for (const json::value& v : c["ids"].items) want.push_back(static_cast<std::int32_t>(v.n));
        auto r = make_runner(m.value(), static_cast<std::int64_t>(prompt.size() + want.size()) + 1);
        REQUIRE_MESSAGE(r.ok(), r.status().message());
        const noggin::status prefilled = r->decode(prompt.data(), static_cast<std::int64_t>(prompt.size()));
        REQUIRE_MESSAGE(prefilled.ok(), prefilled.message());
        std::vector<std::int32_t> got;
        for (std::size_t step = 0; step < want.size(); ++step) {
            const float* logits = r->logits();
            std::int32_t best = 0;
            for (std::int64_t i = 1; i < V; ++i)
                if (logits[i] > logits[best]) best = static_cast<std::int32_t>(i);
            for (const json::value& pair : c["top"].items[step].items) {
                const double err = std::fabs(static_cast<double>(logits[pair.items[0].as_int()]) - pair.items[1].n);
                if (err > stats.max_logit_error) stats.max_logit_error = err;
            }
            got.push_back(best);
            if (best != want[step]) break;
            ++stats.steps;
            if (step + 1 < want.size()) {
                const noggin::status decoded = r->decode(&best, 1);
                REQUIRE_MESSAGE(decoded.ok(), decoded.message());
            }
        }
        CHECK(got == want);
        ++stats.cases;
    }
    CHECK_MESSAGE(stats.max_logit_error <= logit_tolerance, "largest top-logit error " << stats.max_logit_error);
    MESSAGE("golden: " << stats.cases << " prompts, " << stats.steps << " greedy steps equal; largest top-logit error "
                       << stats.max_logit_error);
    return stats;
}

}  // namespace noggin_test
