// bench/sampler_bench.cpp — noggin-bench-sampler: the cost of one sample::sampler::sample() call on a
// 151,936-token vocabulary (DeepSeek-R1-Distill-Qwen), for the configurations a reasoner uses.
//
//     noggin-bench-sampler [--calls 60] [--vocab 151936] [--std 2.0] [--only N]   (N: one configuration, 0-based)
//
// Sections: options · logits · configurations · main
//
// Each configuration samples --calls fresh logit vectors and reports wall-clock (steady_clock) p50 / p99 /
// max per call and the survivors of the last call. The logits are what a random-weight model produces:
// "flat" = normal with standard deviation --std (1–3 is typical), the worst case for top-p and typical-p
// (with R1's temperature 0.6 and top-p 0.95 about 70–95 % of the vocabulary survives); "peaked" = the same
// bulk plus 20 tokens 12–18 logits above it, like a trained model's confident step. One sample() call is not
// pausable by the reasoner (cancel, end_thinking_now and step(budget) wait for it), so its p99 is part of
// their latency.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "noggin/sample/sampler.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace noggin;

// --- options ---------------------------------------------------------------------------------------------
struct options {
    int calls = 60;            // sample() calls per configuration (fresh logits each)
    size_t vocab = 151936;     // logits per call
    double stddev = 2.0;       // standard deviation of the flat logits
    int only = -1;             // run only this configuration (0-based row pair), -1 all
};

// --- logits ----------------------------------------------------------------------------------------------
// Normal(0, sd) by Box–Muller from the seeded rng; `peaked` lifts 20 random tokens 12–18 above the bulk.
void make_logits(std::vector<float>& l, sample::rng& g, double sd, bool peaked) {
    for (size_t i = 0; i + 1 < l.size(); i += 2) {
        const double u1 = 1.0 - g.next_double(), u2 = g.next_double();
        const double r = std::sqrt(-2.0 * std::log(u1)) * sd;
        l[i] = float(r * std::cos(6.283185307179586 * u2));
        l[i + 1] = float(r * std::sin(6.283185307179586 * u2));
    }
    if (l.size() % 2 != 0) l.back() = 0.0f;
    if (peaked)
        for (int k = 0; k < 20; ++k) l[g.below(uint32_t(l.size()))] = float(12.0 + g.next_double() * 6.0);
}

// --- configurations --------------------------------------------------------------------------------------
struct config {
    const char* name;
    sample::sampler_params p;
};

std::vector<config> configs() {
    std::vector<config> c;
    sample::sampler_params r1;  // temperature 0.6, top-p 0.95
    c.push_back({"R1 defaults (T 0.6, top-p 0.95)", r1});
    sample::sampler_params eos = r1;  // what noggin-bench-runner does: one token banned by a -1e9 bias
    eos.biases.push_back(sample::logit_bias{151643, -1e9f});
    c.push_back({"R1 + one -1e9 bias (EOS banned)", eos});
    sample::sampler_params k = r1;
    k.top_k = 40;
    c.push_back({"R1 + top-k 40", k});
    sample::sampler_params mp = r1;
    mp.top_p = 1.0f;
    mp.min_p = 0.05f;
    c.push_back({"T 0.6, min-p 0.05", mp});
    sample::sampler_params ty = r1;
    ty.typical_p = 0.9f;
    c.push_back({"R1 + typical-p 0.9", ty});
    sample::sampler_params all = r1;
    all.top_k = 1000;
    all.typical_p = 0.95f;
    all.min_p = 0.01f;
    all.repeat_penalty = 1.1f;
    c.push_back({"R1 + top-k 1000, typical 0.95, min-p 0.01, rep 1.1", all});
    sample::sampler_params llama = r1;
    llama.temperature_first = false;
    llama.temperature = 0.8f;
    llama.min_p = 0.05f;
    c.push_back({"llama.cpp order: top-p 0.95, min-p 0.05, T 0.8", llama});
    sample::sampler_params t1 = r1;
    t1.temperature = 1.0f;
    t1.top_p = 1.0f;
    c.push_back({"T 1.0, no filters (plain softmax draw)", t1});
    sample::sampler_params g = r1;
    g.temperature = 0.0f;
    c.push_back({"greedy", g});
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
        if (a == "--calls") o.calls = std::max(1, std::atoi(next()));
        else if (a == "--vocab") o.vocab = size_t(std::max(2, std::atoi(next())));
        else if (a == "--std") o.stddev = std::atof(next());
        else if (a == "--only") o.only = std::atoi(next());
        else {
            std::printf("usage: noggin-bench-sampler [--calls 60] [--vocab 151936] [--std 2.0] [--only N]\n");
            return a == "--help" ? 0 : 1;
        }
    }
    std::printf("noggin-bench-sampler: vocabulary %zu, %d calls per row, flat logits ~ N(0, %.2f)\n", o.vocab, o.calls,
                o.stddev);
    std::printf("%-52s %-6s %9s %9s %9s %9s\n", "configuration", "logits", "p50 ms", "p99 ms", "max ms", "survivors");
    std::vector<float> logits(o.vocab);
    const std::vector<config> all = configs();
    for (size_t ci = 0; ci < all.size(); ++ci) {
        const config& c = all[ci];
        if (o.only >= 0 && size_t(o.only) != ci) continue;
        for (int peaked = 0; peaked < 2; ++peaked) {
            sample::sampler s(c.p);
            sample::rng lg(1234 + uint64_t(peaked)), dr(99);
            for (int t = 0; t < 64; ++t) s.accept(sample::token_id(lg.below(uint32_t(o.vocab))));
            std::vector<double> ms;
            make_logits(logits, lg, o.stddev, peaked != 0);
            (void)s.sample(logits.data(), o.vocab, dr);  // warm-up: first call sizes the scratch
            for (int k = 0; k < o.calls; ++k) {
                make_logits(logits, lg, o.stddev, peaked != 0);
                const auto t0 = clock_type::now();
                auto tok = s.sample(logits.data(), o.vocab, dr);
                ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
                if (!tok.ok()) {
                    std::printf("sample failed: %s\n", tok.status().message().c_str());
                    return 1;
                }
            }
            std::sort(ms.begin(), ms.end());
            auto rank = [&](double q) { return ms[std::min(ms.size() - 1, size_t(std::ceil(q * double(ms.size()))) - 1)]; };
            std::printf("%-52s %-6s %9.3f %9.3f %9.3f %9zu\n", c.name, peaked ? "peaked" : "flat", rank(0.5), rank(0.99),
                        ms.back(), s.candidates().size());
        }
    }
    return 0;
}
