// bench/vulkan_bench.cpp — decode speed of the Vulkan backend on whatever device is present.
//
//     noggin-bench-vulkan [MODEL.gguf] [--tokens 32] [--prompt 16] [--device-index N] [--validation]
//
// Loads the model (default: $NOGGIN_SHARED_DIR or ../shared, models/llama-small-q4_k_m.gguf), uploads it, runs a prompt batch
// and then --tokens decode steps (one command buffer and one submit each), and prints per-token time
// and the weight bytes read per second (every weight is read once per token), plus the same for the
// CPU backend on 2 threads. Built without NOGGIN_VULKAN it says so and exits 0.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(NOGGIN_VULKAN) && NOGGIN_VULKAN
#include "noggin/core/default_thread_pool.hpp"
#include "noggin/model/forward.hpp"
#include "noggin/vulkan/forward.hpp"
#include "timing.hpp"

namespace {
using noggin_bench::clock_type;
using noggin_bench::seconds_since;
void log_stderr(void*, noggin::log_level, const char* msg) { std::fprintf(stderr, "%s\n", msg); }
}  // namespace

int main(int argc, char** argv) {
    const char* shared = std::getenv("NOGGIN_SHARED_DIR");
    std::string path = std::string(shared != nullptr ? shared : "../shared") + "/models/llama-small-q4_k_m.gguf";
    int tokens = 32, prompt = 16, device_index = -1;
    bool validation = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--tokens" && i + 1 < argc) tokens = std::atoi(argv[++i]);
        else if (a == "--prompt" && i + 1 < argc) prompt = std::atoi(argv[++i]);
        else if (a == "--device-index" && i + 1 < argc) device_index = std::atoi(argv[++i]);
        else if (a == "--validation") validation = true;
        else if (a.rfind("--", 0) == 0) {
            std::fprintf(stderr, "usage: noggin-bench-vulkan [MODEL.gguf] [--tokens N] [--prompt N] [--device-index N] [--validation]\n");
            return 2;
        } else path = a;
    }
    auto m = noggin::model::model::open(path);
    if (!m.ok()) {
        std::fprintf(stderr, "%s\n", m.status().message().c_str());
        return 1;
    }
    noggin::vulkan::context_params cp;
    cp.device_index = device_index;
    cp.validation = validation;
    cp.log.write = log_stderr;
    cp.log.min_level = noggin::log_level::warning;
    auto ctx = noggin::vulkan::context::create(cp);
    if (!ctx.ok()) {
        std::printf("no Vulkan device: %s\n", ctx.status().message().c_str());
        return 0;
    }
    const auto t_load = clock_type::now();
    noggin::vulkan::model_context_params mp;
    mp.n_ctx = prompt + tokens + 1;
    auto mc = noggin::vulkan::model_context::create(*ctx.value(), m.value(), mp);
    if (!mc.ok()) {
        std::fprintf(stderr, "%s\n", mc.status().message().c_str());
        return 1;
    }
    if (!ctx.value()->create_all_pipelines().ok()) return 1;
    const double load_s = seconds_since(t_load);
    const std::int64_t V = m->hparams().n_vocab;
    std::vector<std::int32_t> ids(static_cast<std::size_t>(prompt));
    for (int i = 0; i < prompt; ++i) ids[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 37 + 1) % V);
    auto t0 = clock_type::now();
    if (!mc->decode(ids.data(), prompt).ok()) return 1;
    const double prefill_s = seconds_since(t0);
    std::int32_t next = 1;
    t0 = clock_type::now();
    for (int i = 0; i < tokens; ++i) {
        if (!mc->decode(&next, 1).ok()) return 1;
        next = static_cast<std::int32_t>(std::max_element(mc->logits(), mc->logits() + V) - mc->logits());
    }
    const double decode_s = seconds_since(t0) / tokens;
    const double gb = static_cast<double>(mc->weight_bytes()) / 1e9;
    std::printf("device: %s\nmodel: %s (%.1f MB of weights on the device)\n", ctx.value()->device_name().c_str(), path.c_str(), gb * 1e3);
    std::printf("upload + pipelines: %.2f s\nprefill %d tokens: %.1f ms (%.1f tokens/s)\n", load_s, prompt, prefill_s * 1e3,
                prompt / prefill_s);
    std::printf("vulkan decode: %.2f ms/token, %.3f GB/s of weights (%d dispatches, %d barriers, 1 submit per token)\n",
                decode_s * 1e3, gb / decode_s, mc->last_dispatches(), mc->last_barriers());

    noggin::default_thread_pool pool(2);
    noggin::model::context_params cpp;
    cpp.kv.n_ctx = prompt + tokens + 1;
    cpp.pool = pool.hook();
    auto cpu = noggin::model::context::create(m.value(), cpp);
    if (!cpu.ok() || !cpu->decode(ids.data(), prompt).ok()) return 1;
    t0 = clock_type::now();
    for (int i = 0; i < tokens; ++i)
        if (!cpu->decode(&next, 1).ok()) return 1;
    const double cpu_s = seconds_since(t0) / tokens;
    std::printf("cpu decode (2 threads): %.2f ms/token, %.3f GB/s of weights\n", cpu_s * 1e3, gb / cpu_s);
    return 0;
}
#else
int main() {
    std::printf("noggin-bench-vulkan: built without NOGGIN_VULKAN\n");
    return 0;
}
#endif
