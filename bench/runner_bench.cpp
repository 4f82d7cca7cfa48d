// bench/runner_bench.cpp — noggin-bench-runner: how quickly run::reasoner stops when told to from another
// thread, and how well step(time_budget) keeps to its budget.
//
//     noggin-bench-runner --model FILE [--threads 2] [--reps 12] [--prompt-tokens 96] [--tokens 12]
//                         [--step-turns 1] [--stall-seconds 10] [--max-batch 32] [--top-k 0] [--json]
//
// Sections: options · statistics · setup (model, reasoner per repetition) · the measurements · main
//
// What is measured (every time is steady_clock on this machine; the reasoner works on a worker thread
// (run(), the async mode) and the controls come from the main thread, as a game would call them):
//  - cancel during prefill: ask() a prompt of ~--prompt-tokens tokens, run() on a worker, cancel() after a
//    random delay inside the prefill; latency = cancel() call → run() returned. A repetition whose cancel
//    landed after the prefill (tokens already generated) is counted as a decode repetition.
//  - cancel during decode: a short prompt, run() on a worker; after the second thinking event, a random
//    delay within one token's time, then cancel(); latency = call → run() returned.
//  - end_thinking_now during decode, two figures per repetition:
//      commit: call → the reasoner committed `</think>` (its state left `thinking`; observed from the
//              worker thread at the first operation of the next forward pass, through the session's
//              should_continue hook — called before every operation — so it is exact to a few
//              microseconds);
//      answer ready: call → `</think>` has been run through the model too, i.e. the answer could start
//              (answer_budget 0 makes run() return right there).
//  - step(budget) overrun for 2 ms and 8 ms budgets: --step-turns turns (fresh reasoners, different seeds)
//    with the --prompt-tokens prompt, each stepped until --tokens tokens were generated; overrun = call
//    duration − budget, per call, split by the phase the call started in (prefill / decode). Each call
//    also records whether any thread of this process was preempted during it (getrusage's involuntary
//    context switches, all threads): such a call waited for another process, not for noggin, so the
//    percentiles are also given apart for the calls with and without a preemption (the target is judged
//    on all calls).
//  - sampling: one sampler::sample() on the model's own logits with the bench's parameters (the one
//    unpausable piece of a decode step; cancel and end_thinking_now wait for it).
//  - machine stalls (no noggin code): one thread streams a 256 MiB buffer for --stall-seconds, reading the
//    clock after every 1 MiB (≈ 50 µs); a gap over 1 ms during which getrusage saw no context switch and
//    no page fault is a stall this process could not see (in a VM: the host took the virtual CPU). The
//    step() percentiles above include such stalls; this says how often the machine has them.
//  - tokens/s lost to slicing: generation of --tokens thinking tokens after a short prompt, unsliced
//    (run()) versus step(2 ms) and step(8 ms), counting only the time inside the calls, prefill excluded.
// The model's EOS is biased away (random-weight models end at random otherwise) and early `</think>`s
// become "Wait" (min_think), so every repetition does the same kind of work.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "noggin/core/default_thread_pool.hpp"
#include "noggin/model/model.hpp"
#include "noggin/run/reasoner.hpp"
#include "noggin/text/chat_text.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace noggin;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// --- options -----------------------------------------------------------------------------------------------

struct options {
    std::string model = "models/noggin-tiny-reasoner.gguf";
    int threads = 2;            // workers of the default thread pool, the caller included
    int reps = 12;              // repetitions of each stop measurement
    int prompt_tokens = 96;     // length of the prefill-phase prompt (approximate: words of a list)
    int tokens = 12;            // generated tokens per stepping / throughput run
    int step_turns = 1;         // turns stepped per budget (more turns: more calls behind each percentile)
    double stall_seconds = 10;  // length of the machine-stall probe (0: skip it)
    int max_batch = 32;         // prompt tokens per forward pass (session_params::max_batch; default 32, the session's)
    int top_k = 0;              // sampler top-k (default 0 = off: R1's temperature 0.6 + top-p 0.95 only)
    bool json = false;
};

// --- statistics --------------------------------------------------------------------------------------------

struct summary {
    std::size_t n = 0;
    double p50 = 0, p99 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles (with fewer than 100 samples p99 is the maximum).
summary summarize(std::vector<double> v) {
    summary s;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto rank = [&](double p) { return v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p * double(v.size()))) - 1)]; };
    s.p50 = rank(0.50);
    s.p99 = rank(0.99);
    s.max = v.back();
    double sum = 0;
    for (double x : v) sum += x;
    s.mean = sum / double(v.size());
    return s;
}

std::string summary_json(const summary& s) {
    char b[200];
    std::snprintf(b, sizeof b, "{\"n\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f}", s.n, s.p50, s.p99, s.max,
                  s.mean);
    return b;
}

void print_summary(const char* what, const summary& s) {
    std::printf("  %-44s n=%-5zu p50 %8.3f ms  p99 %8.3f ms  max %8.3f ms\n", what, s.n, s.p50, s.p99, s.max);
}

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    if (!(f >> a >> b >> c)) return "?";
    return a + " " + b + " " + c;
}

// --- setup ---------------------------------------------------------------------------------------------------

struct bench_env {
    model::model m;
    text::tokenizer tok;
    text::chat_template chat;
    thread_pool pool{};
    std::int64_t n_ctx = 1024;
    std::int64_t max_batch = 32;
    int top_k = 0;
};

// Counts thinking events from the worker thread; the main thread waits on it.
struct event_counter {
    std::atomic<int> thinking{0};
    static void on_event(void* user, const run::event& e) {
        if (e.type == run::event_type::thinking) static_cast<event_counter*>(user)->thinking.fetch_add(1);
    }
};

run::reasoner_params base_params(const bench_env& env, event_counter* counter) {
    run::reasoner_params p;
    p.sampling.temperature = 0.6f;
    p.sampling.top_k = env.top_k;
    if (env.tok.eos_id() >= 0) p.sampling.biases.push_back(sample::logit_bias{env.tok.eos_id(), -1e9f});
    p.min_think = 1 << 30;  // an early </think> becomes "Wait": thinking goes on until told otherwise
    p.max_waits = 1 << 30;
    p.on_event = counter != nullptr ? &event_counter::on_event : nullptr;
    p.user = counter;
    return p;
}

std::unique_ptr<run::reasoner> make_reasoner(const bench_env& env, const run::reasoner_params& p, std::uint64_t seed) {
    run::session_params sp;
    sp.n_ctx = env.n_ctx;
    sp.seed = seed;
    sp.pool = env.pool;
    sp.max_batch = env.max_batch;
    result<run::session> s = run::session::create(env.m, sp);
    if (!s.ok()) {
        std::fprintf(stderr, "noggin-bench-runner: session: %s\n", s.status().message().c_str());
        return nullptr;
    }
    auto r = std::make_unique<run::reasoner>();
    const status st = run::reasoner::create(*r, std::move(s.value()), env.tok, env.chat, p);
    if (!st.ok()) {
        std::fprintf(stderr, "noggin-bench-runner: reasoner: %s\n", st.message().c_str());
        return nullptr;
    }
    return r;
}

// A prompt of about `words` tokens: a list to count.
std::string long_prompt(int words) {
    static const char* items[] = {"apple", "sword", "shield", "potion", "arrow", "coin", "torch", "rope"};
    std::string s = "Count the items in this list:";
    for (int i = 0; i < words; ++i) s += std::string(i == 0 ? " " : ", ") + items[i % 8];
    return s + ".";
}
const char* short_prompt = "What is 4821+937?";

// --- the measurements ------------------------------------------------------------------------------------

struct timing_estimates {
    double prefill_ms = 0;     // the long prompt's whole prefill
    double token_ms = 0;       // one decode step
};

// One unsliced turn: long prompt prefill time, then decode time per token.
bool estimate(const bench_env& env, const options& o, timing_estimates& t) {
    run::reasoner_params p = base_params(env, nullptr);
    p.think_budget = o.tokens;
    p.answer_budget = 0;
    auto r = make_reasoner(env, p, 1);
    if (!r || !r->ask(long_prompt(o.prompt_tokens)).ok()) return false;
    r->run();
    const run::turn_stats& s = r->stats();
    t.prefill_ms = s.prefill_ms;
    t.token_ms = s.think_ms / double(std::max<std::int64_t>(1, s.thinking_tokens + s.forced_tokens));
    return true;
}

struct stop_results {
    std::vector<double> cancel_prefill, cancel_decode, end_commit, end_answer;
    std::int64_t prompt_tokens = 0;
};

bool measure_cancel(const bench_env& env, const options& o, const timing_estimates& est, bool during_prefill,
                    stop_results& out, std::mt19937& rng) {
    for (int rep = 0; rep < o.reps; ++rep) {
        event_counter counter;
        auto r = make_reasoner(env, base_params(env, &counter), 100 + std::uint64_t(rep));
        if (!r || !r->ask(during_prefill ? long_prompt(o.prompt_tokens) : short_prompt).ok()) return false;
        out.prompt_tokens = std::max(out.prompt_tokens, r->stats().prefilled_tokens);
        clock_type::time_point returned{};
        std::thread worker([&] {
            r->run();
            returned = clock_type::now();
        });
        double delay_ms;
        if (during_prefill) {
            delay_ms = std::uniform_real_distribution<double>(0.05, 0.85)(rng) * est.prefill_ms;
        } else {
            while (counter.thinking.load() < 2) std::this_thread::sleep_for(std::chrono::microseconds(200));
            delay_ms = std::uniform_real_distribution<double>(0.0, 1.0)(rng) * est.token_ms;
        }
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms));
        const clock_type::time_point called = clock_type::now();
        r->cancel();
        worker.join();
        if (r->stats().reason != run::stop_reason::cancelled) {
            std::fprintf(stderr, "noggin-bench-runner: a turn ended by %s before the cancel\n", run::stop_reason_name(r->stats().reason));
            continue;
        }
        const bool in_prefill = r->generated_tokens().empty();
        (in_prefill ? out.cancel_prefill : out.cancel_decode).push_back(ms_between(called, returned));
    }
    return true;
}

// Sees the moment the reasoner leaves `thinking`: the session's should_continue hook runs on the
// worker thread at every layer of every forward pass, where reading the reasoner's state is race-free.
struct commit_observer {
    run::reasoner* r = nullptr;
    bool seen = false;
    clock_type::time_point at{};
    static bool check(void* user) {
        commit_observer& o = *static_cast<commit_observer*>(user);
        if (!o.seen && o.r->state() != run::reasoner_state::thinking && o.r->state() != run::reasoner_state::prefilling) {
            o.seen = true;
            o.at = clock_type::now();
        }
        return true;
    }
};

bool measure_end_thinking(const bench_env& env, const options& o, const timing_estimates& est, stop_results& out,
                          std::mt19937& rng) {
    for (int rep = 0; rep < o.reps; ++rep) {
        event_counter counter;
        run::reasoner_params p = base_params(env, &counter);
        p.answer_budget = 0;  // run() returns once </think> is in the cache
        auto r = make_reasoner(env, p, 200 + std::uint64_t(rep));
        if (!r || !r->ask(short_prompt).ok()) return false;
        commit_observer obs;
        obs.r = r.get();
        // (Replaces the reasoner's own cancel hook for this turn; nothing here calls cancel().)
        r->get_session().set_should_continue(&commit_observer::check, &obs);
        clock_type::time_point returned{};
        std::thread worker([&] {
            r->run();
            returned = clock_type::now();
        });
        while (counter.thinking.load() < 2) std::this_thread::sleep_for(std::chrono::microseconds(200));
        std::this_thread::sleep_for(
            std::chrono::duration<double, std::milli>(std::uniform_real_distribution<double>(0.0, 1.0)(rng) * est.token_ms));
        const clock_type::time_point called = clock_type::now();
        r->end_thinking_now();
        worker.join();
        if (!r->stats().think_forced_end || !obs.seen) {
            std::fprintf(stderr, "noggin-bench-runner: end_thinking_now repetition without a forced end (%s)\n",
                         run::stop_reason_name(r->stats().reason));
            continue;
        }
        out.end_commit.push_back(ms_between(called, obs.at));
        out.end_answer.push_back(ms_between(called, returned));
    }
    return true;
}

// What the OS did to this process (all threads) so far: involuntary context switches (another runnable
// task took a core), voluntary ones (a thread waited: the pool's workers between operations, or a lock in
// the kernel) and page faults.
struct os_counts {
    long preemptions = 0, waits = 0, minor_faults = 0, major_faults = 0;
    static os_counts now() {
        rusage u{};
        getrusage(RUSAGE_SELF, &u);
        return {u.ru_nivcsw, u.ru_nvcsw, u.ru_minflt, u.ru_majflt};
    }
};

// One step() call, kept for the list of the worst ones.
struct step_call {
    double overrun_ms = 0;
    bool prefill = false;
    os_counts during;  // differences over the call
};

struct step_results {
    double budget_ms = 0;
    std::vector<double> overrun_prefill, overrun_decode, overrun_all;
    std::vector<double> overrun_preempted;  // calls during which a thread of this process was preempted
    std::vector<double> overrun_not_preempted;
    std::vector<step_call> worst;  // the calls with the largest overruns, largest first
};

bool measure_step(const bench_env& env, const options& o, double budget_ms, step_results& out) {
    out.budget_ms = budget_ms;
    const auto budget = std::chrono::microseconds(static_cast<std::int64_t>(budget_ms * 1000.0));
    for (int turn = 0; turn < o.step_turns; ++turn) {
        auto r = make_reasoner(env, base_params(env, nullptr), 300 + std::uint64_t(turn));
        if (!r || !r->ask(long_prompt(o.prompt_tokens)).ok()) return false;
        while (r->state() != run::reasoner_state::idle && r->generated_tokens().size() < std::size_t(o.tokens)) {
            const bool prefill = r->state() == run::reasoner_state::prefilling;
            const os_counts before = os_counts::now();
            const clock_type::time_point t0 = clock_type::now();
            r->step(budget);
            const double over = ms_between(t0, clock_type::now()) - budget_ms;
            const os_counts after = os_counts::now();
            (prefill ? out.overrun_prefill : out.overrun_decode).push_back(over);
            out.overrun_all.push_back(over);
            const bool preempted = after.preemptions != before.preemptions;
            (preempted ? out.overrun_preempted : out.overrun_not_preempted).push_back(over);
            const step_call call{over, prefill,
                                 {after.preemptions - before.preemptions, after.waits - before.waits,
                                  after.minor_faults - before.minor_faults, after.major_faults - before.major_faults}};
            const auto at = std::find_if(out.worst.begin(), out.worst.end(), [&](const step_call& c) { return c.overrun_ms < over; });
            out.worst.insert(at, call);
            if (out.worst.size() > 5) out.worst.pop_back();
        }
        r->cancel();
        while (r->state() != run::reasoner_state::idle) r->step(budget);
    }
    return true;
}

// Stalls of the machine itself, unseen by the process (see the file's header).
struct stall_probe_results {
    double seconds = 0;
    std::vector<double> stalls_ms;  // gaps over 1 ms with no context switch and no page fault
    int seen_gaps = 0;              // gaps over 1 ms that getrusage explains (preemption, waits, faults)
};

stall_probe_results probe_stalls(double seconds) {
    stall_probe_results out;
    out.seconds = seconds;
    if (seconds <= 0) return out;
    const std::size_t chunk = (1u << 20) / sizeof(float);
    std::vector<float> buf(256 * chunk, 1.0f);
    volatile float sink = 0;
    const clock_type::time_point start = clock_type::now();
    clock_type::time_point last = start;
    os_counts last_counts = os_counts::now();
    while (ms_between(start, clock_type::now()) < seconds * 1000.0) {
        for (std::size_t c = 0; c < buf.size(); c += chunk) {
            float sum = 0;
            for (std::size_t i = c; i < c + chunk; i += 16) sum += buf[i];  // one float per cache line
            sink = sink + sum;
            const clock_type::time_point t = clock_type::now();
            const os_counts counts = os_counts::now();
            const double gap = ms_between(last, t);
            if (gap > 1.0) {
                const bool seen = counts.preemptions != last_counts.preemptions || counts.waits != last_counts.waits ||
                                  counts.minor_faults != last_counts.minor_faults || counts.major_faults != last_counts.major_faults;
                if (seen) ++out.seen_gaps;
                else out.stalls_ms.push_back(gap);
            }
            last_counts = counts;
            last = clock_type::now();
        }
    }
    return out;
}

// Decode tokens/s of one turn: unsliced (budget 0 → run()) or stepped; time inside the calls only.
bool measure_throughput(const bench_env& env, const options& o, double budget_ms, double& tok_per_s) {
    run::reasoner_params p = base_params(env, nullptr);
    p.think_budget = o.tokens;
    p.answer_budget = 0;
    auto r = make_reasoner(env, p, 400);
    if (!r || !r->ask(short_prompt).ok()) return false;
    // Prefill first, unmeasured, so both modes time the same decode work.
    while (r->state() == run::reasoner_state::prefilling) r->step(std::chrono::microseconds(0));
    double inside_ms = 0;
    if (budget_ms <= 0) {
        const clock_type::time_point t0 = clock_type::now();
        r->run();
        inside_ms = ms_between(t0, clock_type::now());
    } else {
        const auto budget = std::chrono::microseconds(static_cast<std::int64_t>(budget_ms * 1000.0));
        while (r->state() != run::reasoner_state::idle) {
            const clock_type::time_point t0 = clock_type::now();
            r->step(budget);
            inside_ms += ms_between(t0, clock_type::now());
        }
    }
    const double toks = double(r->stats().thinking_tokens + r->stats().thinking_finish_tokens + r->stats().forced_tokens);
    tok_per_s = inside_ms > 0 ? toks / (inside_ms / 1000.0) : 0;
    return true;
}

// The unpausable piece of every decode step: one sampler::sample() with the bench's parameters on this
// model's own logits (a random-weight file gives nearly flat ones: top-p keeps most of the vocabulary).
bool measure_sampling(const bench_env& env, const options& o, summary& out, std::size_t& survivors) {
    run::reasoner_params p = base_params(env, nullptr);
    p.think_budget = 2;
    p.answer_budget = 0;
    auto r = make_reasoner(env, p, 500);
    if (!r || !r->ask(short_prompt).ok()) return false;
    r->run();
    const run::session& ses = r->get_session();
    const float* logits = ses.logits();
    const std::size_t n = static_cast<std::size_t>(ses.n_vocab());
    sample::sampler s(p.sampling);
    s.reserve(n);  // as a reasoner's sampler is when created
    sample::rng g(7);
    std::vector<double> ms;
    for (int i = 0; i < std::max(50, 10 * o.reps); ++i) {
        const clock_type::time_point t0 = clock_type::now();
        const result<sample::token_id> t = s.sample(logits, n, g);
        ms.push_back(ms_between(t0, clock_type::now()));
        if (!t.ok()) return false;
    }
    out = summarize(ms);
    survivors = s.candidates().size();
    return true;
}

int usage() {
    std::fprintf(stderr, "usage: noggin-bench-runner [--model FILE.gguf] [--threads N] [--reps N] [--prompt-tokens N] [--tokens N] "
                         "[--step-turns N] [--stall-seconds S] [--max-batch N] [--top-k N] [--json]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool v = i + 1 < argc;
        if (a == "--json") o.json = true;
        else if (a == "--model" && v) o.model = argv[++i];
        else if (a == "--threads" && v) o.threads = std::atoi(argv[++i]);
        else if (a == "--reps" && v) o.reps = std::max(1, std::atoi(argv[++i]));
        else if (a == "--prompt-tokens" && v) o.prompt_tokens = std::max(4, std::atoi(argv[++i]));
        else if (a == "--tokens" && v) o.tokens = std::max(2, std::atoi(argv[++i]));
        else if (a == "--step-turns" && v) o.step_turns = std::max(1, std::atoi(argv[++i]));
        else if (a == "--stall-seconds" && v) o.stall_seconds = std::max(0.0, std::atof(argv[++i]));
        else if (a == "--max-batch" && v) o.max_batch = std::max(1, std::atoi(argv[++i]));
        else if (a == "--top-k" && v) o.top_k = std::max(0, std::atoi(argv[++i]));
        else return usage();
    }
    const std::string load_before = load_average();

    bench_env env;
    {
        result<model::model> m = model::model::open(o.model);
        if (!m.ok()) {
            std::fprintf(stderr, "noggin-bench-runner: %s: %s\n", o.model.c_str(), m.status().message().c_str());
            return 1;
        }
        env.m = std::move(m.value());
        result<text::chat_text> t = text::chat_text_from_gguf(env.m.file());
        if (!t.ok()) {
            std::fprintf(stderr, "noggin-bench-runner: %s\n", t.status().message().c_str());
            return 1;
        }
        env.tok = std::move(t->tokenizer);
        env.chat = std::move(t->chat);
    }
    env.n_ctx = std::min<std::int64_t>(env.m.hparams().n_ctx_train, o.prompt_tokens * 2 + o.tokens + 256);
    env.max_batch = o.max_batch;
    env.top_k = o.top_k;
    default_thread_pool pool(o.threads > 0 ? std::size_t(o.threads) : 1);
    env.pool = pool.hook();

    timing_estimates est;
    if (!estimate(env, o, est)) return 1;
    if (!o.json)
        std::printf("noggin-bench-runner: %s, %d threads, max batch %d, load %s\n  estimates: prefill of the long prompt %.1f ms, "
                    "decode %.2f ms/token\n",
                    o.model.c_str(), o.threads, o.max_batch, load_before.c_str(), est.prefill_ms, est.token_ms);

    summary sampling;
    std::size_t survivors = 0;
    if (!measure_sampling(env, o, sampling, survivors)) return 1;
    if (!o.json)
        std::printf("  sampler::sample() on this model's logits (%zu of %lld tokens survive): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                    survivors, (long long)env.m.hparams().n_vocab, sampling.p50, sampling.p99, sampling.max);

    std::mt19937 rng(12345);
    stop_results stops;
    if (!measure_cancel(env, o, est, true, stops, rng)) return 1;
    if (!measure_cancel(env, o, est, false, stops, rng)) return 1;
    if (!measure_end_thinking(env, o, est, stops, rng)) return 1;

    step_results steps[2];
    const double budgets[2] = {2.0, 8.0};
    for (int i = 0; i < 2; ++i)
        if (!measure_step(env, o, budgets[i], steps[i])) return 1;
    const stall_probe_results stalls = probe_stalls(o.stall_seconds);
    const summary stall_summary = summarize(stalls.stalls_ms);
    double tps_unsliced = 0, tps_sliced[2] = {0, 0};
    if (!measure_throughput(env, o, 0, tps_unsliced)) return 1;
    for (int i = 0; i < 2; ++i)
        if (!measure_throughput(env, o, budgets[i], tps_sliced[i])) return 1;
    const std::string load_after = load_average();

    const summary cp = summarize(stops.cancel_prefill), cd = summarize(stops.cancel_decode);
    const summary ec = summarize(stops.end_commit), ea = summarize(stops.end_answer);
    auto loss = [&](double s) { return tps_unsliced > 0 ? 100.0 * (1.0 - s / tps_unsliced) : 0.0; };
    if (o.json) {
        std::printf("{\"model\":\"%s\",\"threads\":%d,\"load_before\":\"%s\",\"load_after\":\"%s\",\"prompt_tokens\":%lld,"
                    "\"prefill_ms\":%.3f,\"decode_ms_per_token\":%.3f,",
                    o.model.c_str(), o.threads, load_before.c_str(), load_after.c_str(), (long long)stops.prompt_tokens, est.prefill_ms,
                    est.token_ms);
        std::printf("\"sample\":%s,\"sample_survivors\":%zu,", summary_json(sampling).c_str(), survivors);
        std::printf("\"cancel_prefill\":%s,\"cancel_decode\":%s,\"end_thinking_commit\":%s,\"end_thinking_answer_ready\":%s,",
                    summary_json(cp).c_str(), summary_json(cd).c_str(), summary_json(ec).c_str(), summary_json(ea).c_str());
        std::printf("\"step\":[");
        for (int i = 0; i < 2; ++i)
            std::printf("%s{\"budget_ms\":%.1f,\"overrun\":%s,\"overrun_prefill\":%s,\"overrun_decode\":%s,"
                        "\"overrun_preempted\":%s,\"overrun_not_preempted\":%s,\"tokens_per_s\":%.3f,\"tokens_per_s_lost_pct\":%.1f}",
                        i ? "," : "", budgets[i], summary_json(summarize(steps[i].overrun_all)).c_str(),
                        summary_json(summarize(steps[i].overrun_prefill)).c_str(), summary_json(summarize(steps[i].overrun_decode)).c_str(),
                        summary_json(summarize(steps[i].overrun_preempted)).c_str(),
                        summary_json(summarize(steps[i].overrun_not_preempted)).c_str(), tps_sliced[i], loss(tps_sliced[i]));
        std::printf("],\"machine_stalls\":{\"seconds\":%.1f,\"unseen\":%s,\"seen_gaps\":%d},\"tokens_per_s_unsliced\":%.3f}\n",
                    stalls.seconds, summary_json(stall_summary).c_str(), stalls.seen_gaps, tps_unsliced);
        return 0;
    }
    std::printf("  stop latency (call on the main thread → the reasoner stopped on its worker), prompt %lld tokens:\n",
                (long long)stops.prompt_tokens);
    print_summary("cancel() during prefill → run() returned", cp);
    print_summary("cancel() during decode → run() returned", cd);
    print_summary("end_thinking_now() → </think> committed", ec);
    print_summary("end_thinking_now() → </think> decoded", ea);
    for (int i = 0; i < 2; ++i) {
        std::printf("  step(%.0f ms) overrun (call duration − budget):\n", budgets[i]);
        print_summary("all calls", summarize(steps[i].overrun_all));
        print_summary("calls starting in prefill", summarize(steps[i].overrun_prefill));
        print_summary("calls starting in decode", summarize(steps[i].overrun_decode));
        print_summary("calls during which a thread was preempted", summarize(steps[i].overrun_preempted));
        print_summary("calls during which no thread was preempted", summarize(steps[i].overrun_not_preempted));
        std::printf("    worst calls (overrun ms, phase, preemptions / waits / minor / major page faults during the call):");
        for (const step_call& c : steps[i].worst)
            std::printf(" %.2f %s %ld/%ld/%ld/%ld;", c.overrun_ms, c.prefill ? "prefill" : "decode", c.during.preemptions,
                        c.during.waits, c.during.minor_faults, c.during.major_faults);
        std::printf("\n");
    }
    if (stalls.seconds > 0)
        std::printf("  machine stalls over %.0f s of one thread streaming 256 MiB (no noggin code): %zu gaps > 1 ms unseen by "
                    "getrusage (max %.1f ms, p50 %.1f ms), %d more explained by preemption, waits or faults\n",
                    stalls.seconds, stall_summary.n, stall_summary.max, stall_summary.p50, stalls.seen_gaps);
    std::printf("  decode tokens/s: unsliced %.2f; step(2 ms) %.2f (%.1f%% lost); step(8 ms) %.2f (%.1f%% lost)\n", tps_unsliced,
                tps_sliced[0], loss(tps_sliced[0]), tps_sliced[1], loss(tps_sliced[1]));
    std::printf("  load average before: %s, after: %s\n", load_before.c_str(), load_after.c_str());
    return 0;
}
