// bench/grammar_bench.cpp — noggin-bench-grammar: time per masked step on the R1 vocabulary
// (151,665 tokens; logits padded to 151,936) for a JSON-schema NPC action grammar, a generic JSON
// grammar and a free-text line grammar, plus grammar_vocab build time/memory and the sampler chain
// (R1 defaults) on the same vocabulary.
//
//   noggin-bench-grammar [SHARED_DIR]     (default: $NOGGIN_SHARED_DIR or ../shared)
// Each walk starts a fresh state and takes a uniformly random allowed token per step (seeded), so
// it visits string bodies, numbers and structure. "cold" steps meet parser states for the first
// time (cache misses); the matcher cache persists across walks as it would across NPC turns.
#include <noggin/sample/grammar.hpp>
#include <noggin/sample/sampler.hpp>
#include <noggin/text/tokenizer_json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace noggin;
using clk = std::chrono::steady_clock;

static double ms_since(clk::time_point t) { return std::chrono::duration<double, std::milli>(clk::now() - t).count(); }
// Thread CPU time in ms: on a shared, oversubscribed machine wall time overstates the cost.
static double cpu_ms() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}
static std::string read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

static const char* const npc_schema = R"({"type":"object","properties":{
  "action":{"enum":["attack","flee","talk","trade","follow"]},
  "target_id":{"type":"integer"},
  "say":{"type":"string","maxLength":120},
  "items":{"type":"array","items":{"type":"string","maxLength":24},"minItems":0,"maxItems":4},
  "mood":{"type":"object","properties":{"anger":{"type":"number"},"happy":{"type":"boolean"}},"required":["anger"]}},
  "required":["action","target_id","say"]})";

static const char* const json_gbnf = R"(root ::= object
value ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
)";

static const char* const line_gbnf = "root ::= [^\\n]* \"\\n\"\n";

struct stats {
    std::vector<double> all, cold, warm;
};

static void report(const char* name, stats& s, size_t states) {
    auto pr = [](const char* what, std::vector<double>& v) {
        if (v.empty()) return;
        std::sort(v.begin(), v.end());
        double sum = 0;
        for (double x : v) sum += x;
        std::printf("    %-5s n=%4zu  mean %.3f ms  median %.3f ms  p95 %.3f ms  max %.3f ms\n", what, v.size(), sum / double(v.size()),
                    v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 95 / 100)], v.back());
    };
    std::printf("  %s  (DFA states cached: %zu)\n", name, states);
    pr("all", s.all);
    pr("cold", s.cold);
    pr("warm", s.warm);
}

static int run(const char* name, result<sample::grammar> g, std::shared_ptr<const sample::grammar_vocab> vocab, size_t n_vocab,
               int walks, int steps) {
    if (!g.ok()) {
        std::printf("%s: %s\n", name, g.status().message().c_str());
        return 1;
    }
    auto m = sample::grammar_matcher::create(std::move(*g), vocab);
    if (!m.ok()) {
        std::printf("%s: %s\n", name, m.status().message().c_str());
        return 1;
    }
    std::vector<float> logits(n_vocab);
    std::vector<sample::token_id> allowed;
    sample::rng r(7);
    stats st;
    for (int w = 0; w < walks; ++w) {
        sample::grammar_state s = m->start();
        for (int i = 0; i < steps && !s.is_finished(); ++i) {
            std::fill(logits.begin(), logits.end(), 0.0f);
            const size_t before = m->cached_states();
            const double t0 = cpu_ms();
            if (!s.apply_mask(logits.data(), n_vocab).ok()) return 1;
            const double ms = cpu_ms() - t0;
            st.all.push_back(ms);
            (m->cached_states() != before ? st.cold : st.warm).push_back(ms);
            allowed.clear();
            for (size_t k = 0; k < n_vocab; ++k)
                if (logits[k] == 0.0f) allowed.push_back(sample::token_id(k));
            if (allowed.empty()) break;
            // Prefer ending once allowed, after a while, so walks also cover closing structure.
            sample::token_id pick = allowed[r.below(uint32_t(allowed.size()))];
            if (i > steps / 2)
                for (sample::token_id e : vocab->end_ids())
                    if (logits[size_t(e)] == 0.0f) pick = e;
            if (!s.accept_token(pick).ok()) return 1;
        }
    }
    report(name, st, m->cached_states());
    return 0;
}

int main(int argc, char** argv) {
    std::string shared = argc > 1 ? argv[1] : (std::getenv("NOGGIN_SHARED_DIR") ? std::getenv("NOGGIN_SHARED_DIR") : "../shared");
    const std::string dir = shared + "/tokenizers/deepseek-r1-distill-qwen/";
    const std::string tj = read_file(dir + "tokenizer.json"), tc = read_file(dir + "tokenizer_config.json");
    if (tj.empty()) {
        std::printf("cannot read %stokenizer.json\n", dir.c_str());
        return 1;
    }
    auto tok = text::tokenizer_from_json(tj, tc);
    if (!tok.ok()) {
        std::printf("tokenizer: %s\n", tok.status().message().c_str());
        return 1;
    }
    auto t0 = clk::now();
    auto v = sample::grammar_vocab::from_tokenizer(*tok);
    const double build_ms = ms_since(t0);
    if (!v.ok()) return 1;
    auto vocab = std::make_shared<const sample::grammar_vocab>(std::move(*v));
    const size_t n_vocab = 151936;
    std::printf("noggin-bench-grammar: R1 vocabulary %zu tokens (logits %zu), eos %d\n", vocab->size(), n_vocab, tok->eos_id());
    std::printf("  grammar_vocab build %.1f ms, %.1f MB\n", build_ms, double(vocab->memory_bytes()) / 1e6);
    int rc = 0;
    rc |= run("JSON schema (NPC action)", sample::grammar_from_json_schema(npc_schema), vocab, n_vocab, 4, 120);
    rc |= run("generic JSON (GBNF)", sample::grammar::parse_gbnf(json_gbnf), vocab, n_vocab, 4, 120);
    rc |= run("free-text line [^\\n]* \"\\n\"", sample::grammar::parse_gbnf(line_gbnf), vocab, n_vocab, 2, 60);

    // Sampler chain on the same vocabulary (R1 defaults: temperature 0.6, top-p 0.95). "peaked":
    // logits like a trained model's (a few tokens far above a Gaussian-ish bulk); "flat": uniform
    // in [-6, 6], the worst case for top-p (most of the vocabulary must be sorted).
    std::vector<float> logits(n_vocab);
    sample::rng lr(3), dr(4);
    sample::sampler s;
    for (int flat = 0; flat < 2; ++flat) {
        std::vector<double> times;
        for (int i = 0; i < 30; ++i) {
            for (float& x : logits) {
                const double u = lr.next_double() + lr.next_double() + lr.next_double() - 1.5;
                x = flat ? float(lr.next_double() * 12.0 - 6.0) : float(u * 3.0);
            }
            if (!flat)
                for (int k = 0; k < 20; ++k) logits[lr.below(uint32_t(n_vocab))] = float(12.0 + lr.next_double() * 6.0);
            const double t1 = cpu_ms();
            auto t = s.sample(logits.data(), n_vocab, dr);
            times.push_back(cpu_ms() - t1);
            if (!t.ok()) return 1;
        }
        std::sort(times.begin(), times.end());
        std::printf("  sampler (R1 defaults, %s logits): median %.3f ms, max %.3f ms per token (%zu survivors last)\n",
                    flat ? "flat" : "peaked", times[times.size() / 2], times.back(), s.candidates().size());
    }
    return rc;
}
