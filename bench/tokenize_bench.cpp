// bench/tokenize_bench.cpp — noggin-bench-tokenize: R1 tokenizer load time (tokenizer.json and GGUF),
// single-thread encode throughput on ≈1 MB of deterministic mixed English/code/CJK text, memory.
//
//   noggin-bench-tokenize [SHARED_DIR]     (default: $NOGGIN_SHARED_DIR or ../shared)
// Targets: encode >= 20 MB/s, load <= 150 ms, tokenizer tables <= 40 MB.
#include <noggin/formats/gguf.hpp>
#include <noggin/text/tokenizer_gguf.hpp>
#include <noggin/text/tokenizer_json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace noggin::text;
using clk = std::chrono::steady_clock;

static double ms_since(clk::time_point t) { return std::chrono::duration<double, std::milli>(clk::now() - t).count(); }
// Process CPU time in ms: on a shared, oversubscribed machine wall time overstates the cost.
static double cpu_ms() { return 1000.0 * double(std::clock()) / CLOCKS_PER_SEC; }

static std::string read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

static long rss_kb(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::string(field).size());
    return -1;
}

// ≈target bytes: English prose, C++/Python code and Chinese/Japanese text, from a fixed LCG.
static std::string make_corpus(size_t target) {
    static const char* const english[] = {"the", "reasoning", "model", "thinks", "about", "each", "step", "before",
                                          "answering", "quickly", "and", "carefully", "with", "numbers", "like",
                                          "42", "3.14159", "2024", "it's", "don't", "we'll", "tokenizer", "of",
                                          "Hello,", "world!", "(really)", "\"quoted\"", "e.g.", "naïve", "café"};
    static const char* const code[] = {"for (int i = 0; i < n; ++i) {\n", "    sum += a[i] * b[i];\n", "}\n",
                                       "def forward(self, x):\n", "    return self.proj(x) + 1e-6\n",
                                       "if (!status.ok()) return status;\n", "    // TODO: handle the edge case\n",
                                       "std::vector<int32_t> ids = tok.encode(text);\n", "\tprint(f\"{x:>8.3f}\")\n"};
    static const char* const cjk[] = {"我们今天讨论", "语言模型的推理能力", "，", "这是一个测试。", "東京は日本の首都です",
                                      "。", "ひらがなとカタカナ", "数学问题：", "一二三四五", "深度求索"};
    std::string s;
    s.reserve(target + 256);
    uint64_t state = 0x243F6A8885A308D3ull;
    auto next = [&]() {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return uint32_t(state >> 33);
    };
    while (s.size() < target) {
        uint32_t kind = next() % 10;
        if (kind < 6) {
            int words = 8 + int(next() % 20);
            for (int w = 0; w < words; ++w) {
                if (w) s += ' ';
                s += english[next() % (sizeof(english) / sizeof(*english))];
            }
            s += ".\n";
        } else if (kind < 8) {
            int lines = 2 + int(next() % 6);
            for (int l = 0; l < lines; ++l) s += code[next() % (sizeof(code) / sizeof(*code))];
        } else {
            int parts = 3 + int(next() % 8);
            for (int p = 0; p < parts; ++p) s += cjk[next() % (sizeof(cjk) / sizeof(*cjk))];
            s += "\n";
        }
    }
    return s;
}

int main(int argc, char** argv) {
    std::string shared = argc > 1 ? argv[1] : (std::getenv("NOGGIN_SHARED_DIR") ? std::getenv("NOGGIN_SHARED_DIR") : "../shared");
    std::string dir = shared + "/tokenizers/deepseek-r1-distill-qwen";
    std::string tj = read_file(dir + "/tokenizer.json"), cj = read_file(dir + "/tokenizer_config.json");
    if (tj.empty()) {
        std::fprintf(stderr, "noggin-bench-tokenize: %s/tokenizer.json not found (pass the shared folder)\n", dir.c_str());
        return 1;
    }
    long rss0 = rss_kb("VmRSS:");

    // Load from tokenizer.json: the first load of the process (cold heap: every table page is a
    // fresh page fault) and the best of 3.
    double json_ms = 1e30, json_cpu = 1e30, json_first_ms = 0, json_first_cpu = 0;
    for (int r = 0; r < 3; ++r) {
        auto t0 = clk::now();
        double c0 = cpu_ms();
        auto tok = tokenizer_from_json(tj, cj);
        double ms = ms_since(t0), cpu = cpu_ms() - c0;
        if (!tok.ok()) {
            std::fprintf(stderr, "load failed: %s\n", tok.status().message().c_str());
            return 1;
        }
        if (r == 0) json_first_ms = ms, json_first_cpu = cpu;
        json_cpu = std::min(json_cpu, cpu);
        json_ms = std::min(json_ms, ms);
    }
    long hwm_json = rss_kb("VmHWM:");

    // Load from GGUF metadata (best of 3), file open included.
    // (It runs after the JSON loads, so it reuses heap pages they freed.)
    double gguf_ms = -1, gguf_cpu = 1e30, gguf_first_ms = 0, gguf_first_cpu = 0;
    std::string gguf_path = shared + "/models/r1q-tiny-q8_0.gguf";
    if (std::ifstream(gguf_path).good()) {
        gguf_ms = 1e30;
        for (int r = 0; r < 3; ++r) {
            auto t0 = clk::now();
            double c0 = cpu_ms();
            auto f = noggin::gguf::file::open(gguf_path);
            if (!f.ok()) break;
            auto tok = tokenizer_from_gguf(*f);
            double ms = ms_since(t0), cpu = cpu_ms() - c0;
            if (!tok.ok()) break;
            if (r == 0) gguf_first_ms = ms, gguf_first_cpu = cpu;
            gguf_cpu = std::min(gguf_cpu, cpu);
            gguf_ms = std::min(gguf_ms, ms);
        }
    }

    auto tok = tokenizer_from_json(tj, cj);
    if (!tok.ok()) return 1;
    std::string text = make_corpus(size_t(1) << 20);
    std::vector<token_id> ids;
    ids.reserve(text.size() / 2);
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < 5; ++r) {
        ids.clear();
        auto t0 = clk::now();
        double c0 = cpu_ms();
        noggin::status s = tok->encode(text, ids);
        double ms = ms_since(t0);
        best_cpu = std::min(best_cpu, cpu_ms() - c0);
        if (!s.ok()) return 1;
        best = ms < best ? ms : best;
    }
    double mbps = double(text.size()) / 1e6 / (best / 1e3);
    auto t0 = clk::now();
    auto back = tok->decode(ids);
    double dec_ms = ms_since(t0);
    bool round_trip = back.ok() && *back == text;

    std::printf("R1 tokenizer (151,665 ids)\n");
    std::printf("  load tokenizer.json : %8.1f ms wall, %.1f ms CPU best of 3; first %.1f ms wall, %.1f ms CPU (%.1f MB file; target <= 150 ms)\n",
                json_ms, json_cpu, json_first_ms, json_first_cpu, double(tj.size()) / 1e6);
    if (gguf_ms >= 0)
        std::printf("  load from GGUF      : %8.1f ms wall, %.1f ms CPU best of 3; first %.1f ms wall, %.1f ms CPU (r1q-tiny-q8_0.gguf open + metadata)\n",
                    gguf_ms, gguf_cpu, gguf_first_ms, gguf_first_cpu);
    std::printf("  tables in memory    : %8.1f MB  (tokenizer::memory_bytes; target <= 40 MB)\n", double(tok->memory_bytes()) / 1e6);
    std::printf("  process RSS         : %8.1f MB before load, peak %.1f MB during JSON load\n", double(rss0) / 1024.0, double(hwm_json) / 1024.0);
    std::printf("  encode              : %8.1f MB/s wall, %.1f MB/s CPU (%.2f MB -> %zu ids, best of 5; target >= 20 MB/s)\n",
                mbps, double(text.size()) / 1e6 / (best_cpu / 1e3), double(text.size()) / 1e6, ids.size());
    std::printf("  decode              : %8.1f MB/s, round trip %s\n", double(text.size()) / 1e6 / (dec_ms / 1e3),
                round_trip ? "exact" : "DIFFERS");
    return 0;
}
