// tests/run/run_test_util.hpp — the bundled model, loaded once for every run/ test; pseudo-random prompts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "noggin/model/model.hpp"
#include "noggin/text/chat_text.hpp"

namespace noggin_test {

// Repository root from this file's path (absolute in CMake builds; relative = the current directory).
inline std::string repo_root() {
    std::string f = __FILE__;
    const std::size_t at = f.rfind("tests/run/");
    return at == std::string::npos ? std::string() : f.substr(0, at);
}

struct tiny_reasoner {
    noggin::model::model model;
    noggin::text::tokenizer tok;
    noggin::text::chat_template chat;
    bool ok = false;
};

inline const tiny_reasoner& bundled() {
    static tiny_reasoner t = [] {
        tiny_reasoner r;
        auto m = noggin::model::model::open(repo_root() + "models/noggin-tiny-reasoner.gguf");
        if (!m.ok()) return r;
        auto text = noggin::text::chat_text_from_gguf(m->file());
        if (!text.ok()) return r;
        r.model = std::move(m).value();
        r.tok = std::move(text->tokenizer);
        r.chat = std::move(text->chat);
        r.ok = true;
        return r;
    }();
    return t;
}

// Deterministic pseudo-random prompt of n token ids in [0, vocab) (xorshift32 from `seed`).
inline std::vector<std::int32_t> pseudo_random_prompt(std::int64_t n, std::int64_t vocab, std::uint32_t seed) {
    std::vector<std::int32_t> t(static_cast<std::size_t>(n));
    std::uint32_t x = seed * 2654435761u + 12345u;
    for (auto& v : t) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        v = static_cast<std::int32_t>(x % static_cast<std::uint32_t>(vocab));
    }
    return t;
}

}  // namespace noggin_test

#include "support/shared_data.hpp"

namespace noggin_test {
inline std::string shared_dir_for_run() {
    auto d = shared_dir();
    return d ? *d : std::string();
}
}  // namespace noggin_test
