// bench/bench.cpp — noggin-bench: prompt (pp) and generation (tg) speed of a GGUF model on the CPU, peak
// memory, and the share of the memory-read roofline, measured in one run.
//
//     noggin-bench --model FILE [--threads 2] [-r 2] [-p 512] [-n 128] [--cold] [--json]
//
// pp: one batch of -p tokens from an empty KV cache (logits of the last token only), like llama-bench's
// pp512. tg: -n single-token steps from an empty cache, like llama-bench's tg128. Each repetition runs pp,
// then measures the read bandwidth (an AVX2 sum over a 1 GiB buffer, same thread count; the buffer is
// freed again) and runs tg right after it. Reported: mean ± half the spread (max − min)/2 over the repetitions; CPU seconds
// per token (user + system, all threads) next to wall time, which is the fairer figure on a shared machine.
//
// Roofline: a decode step reads every weight once, except the token embedding of which it reads one row.
// A repetition's share = its tg t/s ÷ (read GB/s ÷ weight bytes per token), with the bandwidth measured
// just before its tg (this machine's bandwidth moves by tens of percent within minutes, so a probe taken
// far from the tokens it is compared with adds that swing to the share); roofline_share is the median
// of the repetitions' shares (roofline_share_min / _max the range). The bandwidth is measured on 4 KiB
// pages and on transparent huge pages (where the OS gives them) and the higher of the two is the
// roofline's: a stream over huge pages can be faster (fewer TLB misses and
// page walks, no prefetcher stop every 4 KiB), and the model's weights may be mapped either way
// (weights_huge_bytes: how much of the file mapping is on huge pages after the run). Beside it, the same
// sum over the mapped weights themselves (the largest run of tensors a decode step reads, in place): what
// the weights' own pages give a plain stream, where the page cache put them (read_gbps_weights,
// roofline_share_weights: the median share against it) — the kernels' part of the gap, apart from the OS's.
// --profile: one more tg pass, timed per operation of the forward pass (through forward_params'
// should_continue, called before every operation): wall ms per token for each kind of operation, and for
// the projections the weight bytes they read ÷ their time (GB/s), which shows how much of a decode step
// is weight streaming and how fast each projection streams, barriers and load imbalance included.
// --cold: before opening, ask the OS to drop the file's pages from the page cache (Linux: posix_fadvise
// DONTNEED; pages another process maps stay), so the warm-up reads the file from disk as after a reboot.
// Reported either way: the bytes of the weights in the page cache at open (mincore) and the warm-up's
// time (first_pass_s: paging the weights in, a prompt of up to 64 tokens, one step). Where the page cache
// holds the file matters for decode: Linux (6.18, ext4) maps a file on 2 MiB pages only where its page
// cache holds 2 MiB folios, which reading the file allocates; a file whose cached pages come from writing
// it (just downloaded, copied or quantized) sits in small folios until they are evicted, and decode over
// them streams slower (bench/NOTES.md, session 7).
// Peak RSS: VmHWM after the model runs; on Linux the high-water mark is reset (clear_refs 5) after the
// bandwidth buffer is freed, so the buffer does not count. Token ids are fixed pseudo-random values.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <sys/resource.h>

#ifdef __linux__
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "read_bandwidth.hpp"
#include "timing.hpp"
#include "noggin/core/default_thread_pool.hpp"
#include "noggin/model/forward.hpp"
#include "noggin/model/model.hpp"

#if NOGGIN_SIMD_AVX2
#include <immintrin.h>
#endif

namespace {

using noggin_bench::clock_type;
using noggin_bench::cpu_seconds;
using noggin_bench::seconds_since;

// --- read bandwidth ---------------------------------------------------------------------------------------

// Best of 3 passes over a fresh 1 GiB buffer on 4 KiB or on huge pages, GB/s; the buffer is freed before
// returning.
double read_bandwidth(const noggin::thread_pool& pool, noggin_bench::pages pg) {
    noggin_bench::page_buffer buf(std::size_t{1} << 30, pg);
    return noggin_bench::read_bandwidth(reinterpret_cast<const float*>(buf.data()), buf.size() / sizeof(float), pool, 3);
}

// --- memory -----------------------------------------------------------------------------------------------

void reset_peak_rss() {
#ifdef __linux__
    if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
        std::fputs("5", f);
        std::fclose(f);
    }
#endif
}

std::uint64_t peak_rss_bytes() {
#ifdef __linux__
    if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
        char line[256];
        std::uint64_t kib = 0;
        while (std::fgets(line, sizeof(line), f))
            if (std::strncmp(line, "VmHWM:", 6) == 0) kib = std::strtoull(line + 6, nullptr, 10);
        std::fclose(f);
        if (kib > 0) return kib * 1024;
    }
#endif
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;  // KiB on Linux
}

// --- page cache ----------------------------------------------------------------------------------------------

// Drops the file's clean pages from the page cache (see --cold); false where the OS cannot.
bool drop_page_cache(const std::string& path) {
#ifdef __linux__
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
    ::close(fd);
    return ok;
#else
    (void)path;
    return false;
#endif
}

// Bytes of [p, p + n) whose pages are in memory (mincore), without touching them.
std::uint64_t resident_bytes(const void* p, std::size_t n) {
    std::uint64_t total = 0;
#ifdef __linux__
    const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const std::uintptr_t lo = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1), hi = reinterpret_cast<std::uintptr_t>(p) + n;
    std::vector<unsigned char> in(static_cast<std::size_t>((hi - lo + page - 1) / page));
    if (n == 0 || ::mincore(reinterpret_cast<void*>(lo), static_cast<std::size_t>(hi - lo), in.data()) != 0) return 0;
    for (unsigned char c : in) total += (c & 1u) ? page : 0;
#else
    (void)p;
    (void)n;
#endif
    return total;
}

// --- statistics --------------------------------------------------------------------------------------------

struct summary {
    double mean = 0, half_spread = 0, min = 0, max = 0;
};
summary summarize(const std::vector<double>& v) {
    summary s;
    if (v.empty()) return s;
    s.min = *std::min_element(v.begin(), v.end());
    s.max = *std::max_element(v.begin(), v.end());
    for (double x : v) s.mean += x;
    s.mean /= static_cast<double>(v.size());
    s.half_spread = (s.max - s.min) / 2;
    return s;
}
double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

int usage() {
    std::fprintf(stderr,
                 "usage: noggin-bench --model FILE [--threads N] [-r N] [-p N] [-n N] [--json]\n"
                 "  --threads N  worker threads including the caller (default 2)\n"
                 "  -r N         repetitions (default 2)\n"
                 "  -p N         prompt tokens in one batch (default 512; 0 skips)\n"
                 "  -n N         generated tokens, one step each (default 128; 0 skips)\n"
                 "  --cold       drop the file from the page cache first (read from disk, as after a reboot)\n"
                 "  --json       one JSON object instead of the table\n"
                 "  --profile    also time one tg pass per operation kind (table only)\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string path;
    int threads = 2, reps = 2;
    std::int64_t n_prompt = 512, n_gen = 128;
    bool json = false, profile = false, cold = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if ((a == "--model" || a == "-m") && has_value) path = argv[++i];
        else if ((a == "--threads" || a == "-t") && has_value) threads = std::atoi(argv[++i]);
        else if ((a == "-r" || a == "--reps") && has_value) reps = std::atoi(argv[++i]);
        else if (a == "-p" && has_value) n_prompt = std::atoll(argv[++i]);
        else if (a == "-n" && has_value) n_gen = std::atoll(argv[++i]);
        else if (a == "--json") json = true;
        else if (a == "--profile") profile = true;
        else if (a == "--cold") cold = true;
        else return usage();
    }
    if (path.empty() || threads < 1 || reps < 1 || n_prompt < 0 || n_gen < 0) return usage();

    if (cold && !drop_page_cache(path)) {
        std::fprintf(stderr, "noggin-bench: --cold: cannot drop %s from the page cache here\n", path.c_str());
        return 1;
    }
    const auto t_open = clock_type::now();
    noggin::result<noggin::model::model> m = noggin::model::model::open(path);
    if (!m.ok()) {
        std::fprintf(stderr, "noggin-bench: %s: %s\n", path.c_str(), m.status().message().c_str());
        return 1;
    }
    const double open_s = seconds_since(t_open);
    const noggin::model::hparams& hp = m->hparams();

    // Bytes a decode step reads: every tensor, but one row of the token embedding (unless it is also
    // the output matrix).
    std::uint64_t file_tensor_bytes = 0, embd_bytes = 0;
    std::uintptr_t data_lo = UINTPTR_MAX, data_hi = 0;  // the mapped tensor bytes
    for (const noggin::gguf::tensor_info& t : m->file().tensors()) {
        file_tensor_bytes += t.bytes;
        if (t.data != nullptr) {
            data_lo = std::min(data_lo, reinterpret_cast<std::uintptr_t>(t.data));
            data_hi = std::max(data_hi, reinterpret_cast<std::uintptr_t>(t.data) + static_cast<std::uintptr_t>(t.bytes));
        }
        if (t.name == "token_embd.weight") embd_bytes = t.bytes;
    }
    // The largest run of tensors a decode step reads: the weights sum.
    std::uintptr_t weights_lo = 0, weights_hi = 0;
    for (const auto& r : noggin::model::detail::streamed_weight_ranges(m->file(), m->weights().tied_output))
        if (r.second - r.first > weights_hi - weights_lo) weights_lo = r.first, weights_hi = r.second;
    weights_lo = (weights_lo + 63) & ~std::uintptr_t{63};
    const std::size_t weights_floats = weights_hi > weights_lo ? (weights_hi - weights_lo) / 4 / 32768 * 32768 : 0;
    std::uint64_t decode_bytes = file_tensor_bytes;
    if (!m->weights().tied_output && embd_bytes > 0)
        decode_bytes -= embd_bytes - embd_bytes / static_cast<std::uint64_t>(hp.n_vocab);
    const std::uint64_t cached_at_open =
        data_hi > data_lo ? resident_bytes(reinterpret_cast<const void*>(data_lo), data_hi - data_lo) : 0;
    std::uint64_t file_bytes = 0;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fseek(f, 0, SEEK_END);
        file_bytes = static_cast<std::uint64_t>(std::ftell(f));
        std::fclose(f);
    }

    noggin::default_thread_pool pool(static_cast<std::size_t>(threads));
    noggin::model::context_params cp;
    cp.kv.n_ctx = std::min<std::int64_t>(hp.n_ctx_train, std::max<std::int64_t>(n_prompt, n_gen) + 16);
    cp.max_batch = std::max<std::int64_t>(n_prompt, 1);  // the prompt is one batch
    cp.pool = pool.hook();
    noggin::result<noggin::model::context> ctx = noggin::model::context::create(m.value(), cp);
    if (!ctx.ok()) {
        std::fprintf(stderr, "noggin-bench: %s\n", ctx.status().message().c_str());
        return 1;
    }
    const std::size_t kv_bytes = ctx->kv().byte_size();

    std::vector<std::int32_t> tokens(static_cast<std::size_t>(std::max(n_prompt, n_gen)));
    std::uint32_t s = 0x9e3779b9u;
    for (std::int32_t& t : tokens) {
        s = s * 1664525u + 1013904223u;
        t = static_cast<std::int32_t>((s >> 8) % static_cast<std::uint32_t>(hp.n_vocab));
    }

    // Warm-up: page the weights in and start the workers.
    const auto t_warm = clock_type::now();
    {
        const std::int64_t n_warm = std::min<std::int64_t>(n_prompt > 0 ? n_prompt : 1, 64);
        if (!ctx->decode(tokens.data(), n_warm).ok() || !ctx->decode(tokens.data(), 1).ok()) {
            std::fprintf(stderr, "noggin-bench: warm-up failed\n");
            return 1;
        }
    }
    const double first_pass_s = seconds_since(t_warm);

    std::vector<double> pp, tg, pp_cpu, tg_cpu, bw, bw_huge, bw_weights;
    std::uint64_t peak = 0;
    std::vector<double> shares, shares_weights;  // per repetition (see the file comment)
    for (int r = 0; r < reps; ++r) {
        reset_peak_rss();
        if (n_prompt > 0) {
            ctx->kv().clear();
            const double c0 = cpu_seconds();
            const auto t0 = clock_type::now();
            const noggin::status st = ctx->decode(tokens.data(), n_prompt);
            const double sec = seconds_since(t0), csec = cpu_seconds() - c0;
            if (!st.ok()) {
                std::fprintf(stderr, "noggin-bench: prompt: %s\n", st.message().c_str());
                return 1;
            }
            pp.push_back(static_cast<double>(n_prompt) / sec);
            pp_cpu.push_back(csec / static_cast<double>(n_prompt));
        }
        peak = std::max(peak, peak_rss_bytes());
        bw.push_back(read_bandwidth(pool.hook(), noggin_bench::pages::small));
        bw_huge.push_back(read_bandwidth(pool.hook(), noggin_bench::pages::huge));
        if (weights_floats > 0)
            bw_weights.push_back(noggin_bench::read_bandwidth(reinterpret_cast<const float*>(weights_lo), weights_floats, pool.hook(), 3));
        reset_peak_rss();
        if (n_gen > 0) {
            ctx->kv().clear();
            const double c0 = cpu_seconds();
            const auto t0 = clock_type::now();
            for (std::int64_t i = 0; i < n_gen; ++i) {
                const noggin::status st = ctx->decode(&tokens[static_cast<std::size_t>(i)], 1);
                if (!st.ok()) {
                    std::fprintf(stderr, "noggin-bench: generation: %s\n", st.message().c_str());
                    return 1;
                }
            }
            const double sec = seconds_since(t0), csec = cpu_seconds() - c0;
            tg.push_back(static_cast<double>(n_gen) / sec);
            tg_cpu.push_back(csec / static_cast<double>(n_gen));
            shares.push_back(tg.back() * static_cast<double>(decode_bytes) / (std::max(bw.back(), bw_huge.back()) * 1e9));
            if (!bw_weights.empty()) shares_weights.push_back(tg.back() * static_cast<double>(decode_bytes) / (bw_weights.back() * 1e9));
        }
        peak = std::max(peak, peak_rss_bytes());
    }

    // Per-operation decode profile (see the file comment): operation i of a decode step of one token is
    // embed, then 12 per layer (norm, qkv, qkv_post, kv_store, attention, wo, add, norm, gate_up, act, down,
    // add), then the output norm and the output projection.
    struct op_clock {
        std::vector<clock_type::time_point> t;
        static bool tick(void* u) {
            static_cast<op_clock*>(u)->t.push_back(clock_type::now());
            return true;
        }
    };
    static const char* const layer_ops[12] = {"norm", "qkv", "qkv_post", "kv_store", "attention", "wo",
                                              "add", "norm", "gate_up", "act", "down", "add"};
    std::vector<std::string> prof_names;
    std::vector<double> prof_s, prof_bytes;
    double prof_total_s = 0;
    if (profile && n_gen > 0) {
        auto slot = [&](const std::string& name, double bytes) {
            for (std::size_t i = 0; i < prof_names.size(); ++i)
                if (prof_names[i] == name) return i;
            prof_names.push_back(name), prof_s.push_back(0), prof_bytes.push_back(bytes);
            return prof_names.size() - 1;
        };
        auto tensor_bytes = [](const noggin::tensor_view& t) { return static_cast<double>(t.nb[1]) * static_cast<double>(t.ne[1]); };
        const noggin::model::model_weights& W = m->weights();
        double qkv = 0, wo = 0, gu = 0, down = 0;
        for (const noggin::model::layer_weights& L : W.layers) {
            qkv += tensor_bytes(L.wq) + tensor_bytes(L.wk) + tensor_bytes(L.wv);
            wo += tensor_bytes(L.wo);
            gu += tensor_bytes(L.ffn_gate) + tensor_bytes(L.ffn_up);
            down += tensor_bytes(L.ffn_down);
        }
        std::vector<std::size_t> kind;  // slot of operation i
        kind.push_back(slot("embed", 0));
        for (std::int64_t l = 0; l < hp.n_layer; ++l)
            for (const char* o : layer_ops) {
                const std::string n = o;
                kind.push_back(slot(n, n == "qkv" ? qkv : n == "wo" ? wo : n == "gate_up" ? gu : n == "down" ? down : 0));
            }
        kind.push_back(slot("norm", 0));
        kind.push_back(slot("output", tensor_bytes(W.output)));
        ctx->kv().clear();
        op_clock clk;
        clk.t.reserve(kind.size() + 1);
        noggin::model::forward_params fp;
        fp.logits = noggin::model::logits_mode::last;
        std::vector<float> logits(static_cast<std::size_t>(hp.n_vocab));
        fp.logits_out = logits.data();
        fp.pool = pool.hook();
        fp.should_continue = op_clock::tick;
        fp.user = &clk;
        for (std::int64_t i = 0; i < n_gen; ++i) {
            clk.t.clear();
            const auto t0 = clock_type::now();
            if (!ctx->run(&tokens[static_cast<std::size_t>(i)], 1, fp).ok()) return 1;
            const auto t1 = clock_type::now();
            prof_total_s += std::chrono::duration<double>(t1 - t0).count();
            clk.t.push_back(t1);
            if (clk.t.size() != kind.size() + 1) {
                std::fprintf(stderr, "noggin-bench: --profile: %zu operations per step, expected %zu\n", clk.t.size() - 1, kind.size());
                return 1;
            }
            for (std::size_t k = 0; k < kind.size(); ++k)
                prof_s[kind[k]] += std::chrono::duration<double>(clk.t[k + 1] - clk.t[k]).count();
        }
    }

    const summary pps = summarize(pp), tgs = summarize(tg), bws = summarize(bw);
    const summary ppc = summarize(pp_cpu), tgc = summarize(tg_cpu);
    const double read_small = median(bw), read_huge = median(bw_huge);
    const double read_gbps = std::max(read_small, read_huge);
    const std::uint64_t weights_huge =
        data_hi > data_lo ? noggin_bench::huge_page_bytes(reinterpret_cast<const void*>(data_lo), data_hi - data_lo) : 0;
    const double roofline_tps = read_gbps * 1e9 / static_cast<double>(decode_bytes);
    const summary shs = summarize(shares);
    const double share = shares.empty() ? 0.0 : median(shares);
    const double read_weights = median(bw_weights), share_weights = median(shares_weights);
    const char* simd = NOGGIN_SIMD_AVX2 ? "avx2" : (NOGGIN_SIMD_NEON ? "neon" : "scalar");
    std::string name = path;
    if (const std::size_t slash = name.find_last_of('/'); slash != std::string::npos) name = name.substr(slash + 1);

    if (json) {
        std::printf(
            "{\"model\": \"%s\", \"simd\": \"%s\", \"threads\": %d, \"reps\": %d, \"n_prompt\": %lld, \"n_gen\": %lld, "
            "\"pp_tps\": %.3f, \"pp_tps_spread\": %.3f, \"tg_tps\": %.3f, \"tg_tps_spread\": %.3f, "
            "\"pp_cpu_s_per_token\": %.6f, \"tg_cpu_s_per_token\": %.6f, "
            "\"read_gbps\": %.3f, \"read_gbps_small_pages\": %.3f, \"read_gbps_huge_pages\": %.3f, \"read_gbps_min\": %.3f, "
            "\"read_gbps_max\": %.3f, \"weights_huge_bytes\": %llu, \"decode_bytes_per_token\": %llu, "
            "\"roofline_tps\": %.3f, \"roofline_share\": %.4f, \"roofline_share_min\": %.4f, \"roofline_share_max\": %.4f, \"peak_rss_bytes\": %llu, \"file_bytes\": %llu, "
            "\"kv_bytes\": %zu, \"open_s\": %.4f, \"cold\": %s, \"weights_cached_at_open_bytes\": %llu, \"first_pass_s\": %.4f, "
            "\"read_gbps_weights\": %.3f, \"roofline_share_weights\": %.4f}\n",
            name.c_str(), simd, threads, reps, static_cast<long long>(n_prompt), static_cast<long long>(n_gen), pps.mean,
            pps.half_spread, tgs.mean, tgs.half_spread, ppc.mean, tgc.mean, read_gbps, read_small, read_huge, bws.min, bws.max,
            static_cast<unsigned long long>(weights_huge), static_cast<unsigned long long>(decode_bytes), roofline_tps, share, shs.min, shs.max, static_cast<unsigned long long>(peak),
            static_cast<unsigned long long>(file_bytes), kv_bytes, open_s, cold ? "true" : "false",
            static_cast<unsigned long long>(cached_at_open), first_pass_s, read_weights, share_weights);
        return 0;
    }
    const double gib = 1024.0 * 1024.0 * 1024.0;
    std::printf("noggin-bench: %s (%.2f GiB), %s, %d threads, %d reps, opened in %.3f s%s; %.0f MiB of the weights in the "
                "page cache at open; warm-up (paging in, a prompt of up to 64 tokens, one step) %.2f s\n",
                name.c_str(), static_cast<double>(file_bytes) / gib, simd, threads, reps, open_s,
                cold ? " after dropping it from the page cache" : "", static_cast<double>(cached_at_open) / 1048576.0, first_pass_s);
    std::printf("| test   | t/s (mean ± half spread) | CPU ms/token |\n|--------|--------------------------|--------------|\n");
    if (n_prompt > 0)
        std::printf("| pp%-4lld | %10.2f ± %-11.2f | %12.2f |\n", static_cast<long long>(n_prompt), pps.mean, pps.half_spread,
                    1e3 * ppc.mean);
    if (n_gen > 0)
        std::printf("| tg%-4lld | %10.2f ± %-11.2f | %12.2f |\n", static_cast<long long>(n_gen), tgs.mean, tgs.half_spread,
                    1e3 * tgc.mean);
    std::printf("read bandwidth %.1f GB/s (medians: 4 KiB pages %.1f (%.1f..%.1f), huge pages %.1f), %.3f GB read per "
                "decode token -> roofline %.2f t/s, tg share %.0f %% (repetitions %.0f..%.0f %%); weights on huge pages: %.0f MiB\n",
                read_gbps, read_small, bws.min, bws.max, read_huge, static_cast<double>(decode_bytes) / 1e9, roofline_tps,
                100.0 * share, 100.0 * shs.min, 100.0 * shs.max, static_cast<double>(weights_huge) / 1048576.0);
    if (!bw_weights.empty())
        std::printf("the same sum over the mapped weights (%.0f MiB) reads %.1f GB/s: tg share of it %.0f %%\n",
                    static_cast<double>(weights_floats) * 4 / 1048576.0, read_weights, 100.0 * share_weights);
    if (!prof_names.empty()) {
        const double per = 1e3 / static_cast<double>(n_gen);
        std::printf("decode profile, %lld steps: %.2f ms per token\n| operation | ms/token | share | weight GB/token | GB/s |\n"
                    "|---|---|---|---|---|\n",
                    static_cast<long long>(n_gen), prof_total_s * per);
        for (std::size_t i = 0; i < prof_names.size(); ++i) {
            std::printf("| %s | %.3f | %.1f %% |", prof_names[i].c_str(), prof_s[i] * per, 100.0 * prof_s[i] / prof_total_s);
            if (prof_bytes[i] > 0)
                std::printf(" %.3f | %.1f |\n", prof_bytes[i] / 1e9, prof_bytes[i] * static_cast<double>(n_gen) / prof_s[i] / 1e9);
            else
                std::printf(" | |\n");
        }
    }
    std::printf("peak RSS %.3f GiB (file %.3f GiB + KV %.3f GiB + %.1f MiB)\n", static_cast<double>(peak) / gib,
                static_cast<double>(file_bytes) / gib, static_cast<double>(kv_bytes) / gib,
                (static_cast<double>(peak) - static_cast<double>(file_bytes) - static_cast<double>(kv_bytes)) / (1024.0 * 1024.0));
    return 0;
}
