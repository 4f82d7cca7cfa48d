// tests/fuzz/fuzz_hf_config.cpp — libFuzzer target for Hugging Face config.json → model::hparams
// (model/hf_config.hpp). Accepted configs must give hyper-parameters inside the caps and llama3 rope
// factors of the right count; nothing may crash.
//
//     clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_hf_config.cpp -o fz
//     ./fz -max_total_time=60 tests/fuzz/corpus/hf_config
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <noggin/model/hf_config.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    noggin::result<noggin::model::hf_config> c = noggin::model::read_hf_config(text);
    if (!c.ok()) return 0;
    const noggin::model::hparams& hp = c->hp;
    namespace m = noggin::model;
    if (hp.n_embd <= 0 || hp.n_embd > m::max_embd || hp.n_layer <= 0 || hp.n_layer > m::max_layers || hp.n_head <= 0 ||
        hp.n_head_kv <= 0 || hp.n_head % hp.n_head_kv != 0 || hp.head_dim <= 0 || hp.head_dim > m::max_head_dim ||
        hp.q_dim() > m::max_embd || hp.n_rot <= 0 || hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0 || hp.n_vocab <= 0 ||
        hp.n_vocab > m::max_vocab || !(hp.rms_eps > 0.0f) || !(hp.rope_freq_base > 1.0f) || !std::isfinite(hp.rope_freq_scale))
        __builtin_trap();
    if (!c->rope_freqs.empty() && static_cast<std::int64_t>(c->rope_freqs.size()) != hp.n_rot / 2) __builtin_trap();
    return 0;
}
