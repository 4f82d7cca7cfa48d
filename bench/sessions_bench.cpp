// bench/sessions_bench.cpp — noggin-bench-sessions: aggregate decode speed of many sessions over one
// model decoding together (run::decode_together: one batched forward pass per step, the weights read
// once for all sessions) against the same sessions decoding one after another, and the memory each
// extra session adds.
//
//     noggin-bench-sessions --model FILE [--threads 2] [--sessions 1,4,8] [-p 32] [-n 16] [--ctx 512]
//                           [--no-sequential] [--json]
//
// For each session count N: N sessions share one workspace (session_params::workspace; logits_rows = N);
// each prefills its own prompt of about -p pseudo-random tokens (lengths differ by session), then -n steps
// run where every session decodes its greedy next token. "together": one decode_together call per step;
// "sequential": session::decode for each session in turn (what N independent sessions cost). Reported:
// aggregate tokens/s = N·n / wall seconds, and CPU ms per generated token (user + system, all threads),
// the fairer figure on a shared machine.
//
// Memory per extra session: session::memory_bytes() — its KV cache (n_ctx positions, allocated), its
// logits (n_vocab floats) and token history; no workspace (shared). The shared workspace is reported once.
// Also the resident-set growth per extra session over the run (only touched KV pages count there).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "noggin/core/default_thread_pool.hpp"
#include "noggin/model/forward.hpp"
#include "noggin/model/model.hpp"
#include "noggin/run/session.hpp"
#include "timing.hpp"

namespace {

using noggin_bench::clock_type;
using noggin_bench::cpu_seconds;
using noggin_bench::seconds_since;

std::uint64_t rss_bytes() {
#ifdef __linux__
    if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        std::uint64_t kib = 0;
        while (std::fgets(line, sizeof(line), f))
            if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtoull(line + 6, nullptr, 10);
        std::fclose(f);
        return kib * 1024;
    }
#endif
    return 0;
}

std::int32_t argmax(const float* x, std::int64_t n) { return static_cast<std::int32_t>(std::max_element(x, x + n) - x); }

std::vector<std::int32_t> make_prompt(std::int64_t n, std::int64_t vocab, std::uint32_t seed) {
    std::vector<std::int32_t> t(static_cast<std::size_t>(n));
    std::uint32_t x = seed * 2654435761u + 1u;
    for (auto& v : t) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        v = static_cast<std::int32_t>(x % static_cast<std::uint32_t>(vocab));
    }
    return t;
}

struct result_row {
    int sessions = 0;
    double together_tps = 0, together_cpu_ms = 0;   // aggregate tokens/s, CPU ms per token
    double sequential_tps = 0, sequential_cpu_ms = 0;
    std::size_t per_session_bytes = 0, kv_bytes = 0, other_bytes = 0;  // memory_bytes() of one session and its parts
    double rss_per_extra = 0;                         // resident growth per session beyond the first (bytes)
    bool tokens_equal = true;                         // together and sequential chose the same tokens
};

int usage() {
    std::fprintf(stderr,
                 "usage: noggin-bench-sessions --model FILE [--threads N] [--sessions 1,4,8] [-p N] [-n N] [--ctx N]\n"
                 "                             [--no-sequential] [--json]\n"
                 "  --threads N     worker threads including the caller (default 2)\n"
                 "  --sessions L    comma-separated session counts (default 1,4,8)\n"
                 "  -p N            prompt tokens per session, about (default 32)\n"
                 "  -n N            decode steps (tokens per session) (default 16)\n"
                 "  --ctx N         KV positions per session (default 512)\n"
                 "  --no-sequential skip the one-after-another baseline\n"
                 "  --json          one JSON object instead of the table\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string path;
    int threads = 2;
    std::vector<int> counts = {1, 4, 8};
    std::int64_t n_prompt = 32, n_gen = 16, n_ctx = 512;
    bool sequential = true, json = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if ((a == "--model" || a == "-m") && has_value) path = argv[++i];
        else if ((a == "--threads" || a == "-t") && has_value) threads = std::atoi(argv[++i]);
        else if (a == "--sessions" && has_value) {
            counts.clear();
            std::string l = argv[++i];
            for (std::size_t at = 0; at < l.size();) {
                const std::size_t c = l.find(',', at);
                counts.push_back(std::atoi(l.substr(at, c == std::string::npos ? std::string::npos : c - at).c_str()));
                at = c == std::string::npos ? l.size() : c + 1;
            }
        } else if (a == "-p" && has_value) n_prompt = std::atoll(argv[++i]);
        else if (a == "-n" && has_value) n_gen = std::atoll(argv[++i]);
        else if (a == "--ctx" && has_value) n_ctx = std::atoll(argv[++i]);
        else if (a == "--no-sequential") sequential = false;
        else if (a == "--json") json = true;
        else return usage();
    }
    if (path.empty() || threads < 1 || n_prompt < 1 || n_gen < 1 || counts.empty()) return usage();
    for (int c : counts)
        if (c < 1 || c > 256) return usage();

    auto m = noggin::model::model::open(path);
    if (!m.ok()) {
        std::fprintf(stderr, "noggin-bench-sessions: %s\n", m.status().message().c_str());
        return 1;
    }
    const noggin::model::model& model = m.value();
    const std::int64_t V = model.hparams().n_vocab;
    noggin::default_thread_pool pool(static_cast<std::size_t>(threads));
    const int max_n = *std::max_element(counts.begin(), counts.end());
    if (n_prompt + 3 * max_n + n_gen > n_ctx) {
        std::fprintf(stderr, "noggin-bench-sessions: -p + 3·sessions + -n exceeds --ctx\n");
        return 2;
    }

    noggin::model::workspace_params wp;
    wp.max_batch = std::max<std::int64_t>(64, max_n);
    wp.logits_rows = max_n;
    auto ws = noggin::model::workspace::create(model, wp);
    if (!ws.ok()) {
        std::fprintf(stderr, "noggin-bench-sessions: %s\n", ws.status().message().c_str());
        return 1;
    }

    std::vector<result_row> rows;
    for (int n : counts) {
        result_row row;
        row.sessions = n;
        noggin::run::session_params sp;
        sp.n_ctx = n_ctx;
        sp.max_batch = 64;
        sp.pool = pool.hook();
        sp.workspace = &ws.value();
        std::vector<std::vector<std::int32_t>> chosen[2];
        for (int mode = 0; mode < (sequential ? 2 : 1); ++mode) {
            const std::uint64_t rss0 = rss_bytes();
            std::vector<noggin::run::session> ss;
            for (int i = 0; i < n; ++i) {
                auto s = noggin::run::session::create(model, sp);
                if (!s.ok()) {
                    std::fprintf(stderr, "noggin-bench-sessions: %s\n", s.status().message().c_str());
                    return 1;
                }
                ss.push_back(std::move(s.value()));
                const auto p = make_prompt(n_prompt + 3 * i, V, static_cast<std::uint32_t>(i + 1));
                const noggin::status st = ss.back().prefill(p.data(), static_cast<std::int64_t>(p.size()));
                if (!st.ok()) {
                    std::fprintf(stderr, "noggin-bench-sessions: prefill: %s\n", st.message().c_str());
                    return 1;
                }
            }
            std::vector<noggin::run::session*> ptr;
            for (auto& s : ss) ptr.push_back(&s);
            std::vector<std::int32_t> next(static_cast<std::size_t>(n));
            chosen[mode].assign(static_cast<std::size_t>(n), {});
            const double c0 = cpu_seconds();
            const auto t0 = clock_type::now();
            for (std::int64_t step = 0; step < n_gen; ++step) {
                for (int i = 0; i < n; ++i) {
                    next[std::size_t(i)] = argmax(ss[std::size_t(i)].logits(), V);
                    chosen[mode][std::size_t(i)].push_back(next[std::size_t(i)]);
                }
                noggin::status st;
                if (mode == 0) st = noggin::run::decode_together(ptr.data(), next.data(), ptr.size(), ws.value(), pool.hook());
                else
                    for (int i = 0; i < n && st.ok(); ++i) st = ss[std::size_t(i)].decode(next[std::size_t(i)]);
                if (!st.ok()) {
                    std::fprintf(stderr, "noggin-bench-sessions: decode: %s\n", st.message().c_str());
                    return 1;
                }
            }
            const double wall = seconds_since(t0), cpu = cpu_seconds() - c0;
            const double toks = static_cast<double>(n) * static_cast<double>(n_gen);
            if (mode == 0) {
                row.together_tps = toks / wall;
                row.together_cpu_ms = 1e3 * cpu / toks;
                row.per_session_bytes = ss[0].memory_bytes();
                row.kv_bytes = ss[0].kv().byte_size();
                row.other_bytes = row.per_session_bytes - row.kv_bytes;
                const std::uint64_t rss1 = rss_bytes();
                row.rss_per_extra = n > 1 ? static_cast<double>(rss1 - std::min(rss1, rss0)) / n : 0.0;
            } else {
                row.sequential_tps = toks / wall;
                row.sequential_cpu_ms = 1e3 * cpu / toks;
            }
        }
        if (sequential) row.tokens_equal = chosen[0] == chosen[1];
        rows.push_back(row);
    }

    const auto& hp = model.hparams();
    if (json) {
        std::printf("{\"model\":\"%s\",\"threads\":%d,\"prompt\":%lld,\"tokens\":%lld,\"ctx\":%lld,\"workspace_bytes\":%zu,\"rows\":[",
                    path.c_str(), threads, static_cast<long long>(n_prompt), static_cast<long long>(n_gen),
                    static_cast<long long>(n_ctx), ws->byte_size());
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const result_row& r = rows[i];
            std::printf("%s{\"sessions\":%d,\"together_tps\":%.3f,\"together_cpu_ms\":%.3f,\"sequential_tps\":%.3f,"
                        "\"sequential_cpu_ms\":%.3f,\"session_bytes\":%zu,\"kv_bytes\":%zu,\"other_bytes\":%zu,"
                        "\"rss_per_session\":%.0f,\"tokens_equal\":%s}",
                        i ? "," : "", r.sessions, r.together_tps, r.together_cpu_ms, r.sequential_tps, r.sequential_cpu_ms,
                        r.per_session_bytes, r.kv_bytes, r.other_bytes, r.rss_per_extra, r.tokens_equal ? "true" : "false");
        }
        std::printf("]}\n");
        return 0;
    }
    std::printf("model %s: %lld layers, n_embd %lld, vocab %lld; %d threads; prompt ~%lld, %lld decode steps, ctx %lld\n",
                path.c_str(), static_cast<long long>(hp.n_layer), static_cast<long long>(hp.n_embd), static_cast<long long>(V),
                threads, static_cast<long long>(n_prompt), static_cast<long long>(n_gen), static_cast<long long>(n_ctx));
    std::printf("shared workspace: %.2f MiB (once, for all sessions)\n\n", static_cast<double>(ws->byte_size()) / 1048576.0);
    std::printf("| sessions | together t/s | CPU ms/tok | sequential t/s | CPU ms/tok | speed-up | per session: KV MiB + other MiB | RSS/session MiB | same tokens |\n");
    std::printf("|---------:|-------------:|-----------:|---------------:|-----------:|---------:|--------------------------------|----------------:|:-----------:|\n");
    for (const result_row& r : rows)
        std::printf("| %8d | %12.1f | %10.2f | %14.1f | %10.2f | %7.2fx | %12.3f + %.3f | %15.3f | %s |\n", r.sessions, r.together_tps,
                    r.together_cpu_ms, r.sequential_tps, r.sequential_cpu_ms,
                    r.sequential_tps > 0 ? r.together_tps / r.sequential_tps : 0.0, static_cast<double>(r.kv_bytes) / 1048576.0,
                    static_cast<double>(r.other_bytes) / 1048576.0, r.rss_per_extra / 1048576.0,
                    sequential ? (r.tokens_equal ? "yes" : "NO") : "-");
    return 0;
}
