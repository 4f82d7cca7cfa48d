// noggin-npc — a terminal game loop at 60 fps: three NPCs share one model, each reasons about its own
// question under a per-frame time budget and answers with a JSON action the game can act on.
//
//   noggin-npc                                  the bundled models/noggin-tiny-reasoner.gguf, until Ctrl-C
//   noggin-npc --seconds 10                     bounded run; frame-time statistics at exit
//   noggin-npc --no-tty --seconds 4 --check     plain output for CI; runs on until every NPC has answered
//                                               (at most 120 s); exit 1 unless all answers are schema-valid
//   options: --model FILE --frames N --seconds S --budget-ms B (reasoning per frame, all NPCs, default 6)
//            --think-budget N (default 96) --threads N (default 1: the game thread) --seed S --fps F
//            --no-group (step each NPC's reasoner in turn instead of one batched pass for all)
//
// Each frame, on the game thread: the three reasoners step together for the frame's budget
// (run::reasoner_group: every NPC's next token comes from ONE batched forward pass, the weights read
// once for all of them; frame-sliced: as much prefill/decode as fits, then it returns), events arrive
// through each NPC's callback, and one status line per NPC is rendered (thinking progress, the answer
// so far). The answer is constrained by a JSON schema that the
// reasoner applies only after </think>:
//     {"action": "trade"|"give"|"refuse"|"wait", "amount": integer, "say": string (≤ 24 characters)}
// The model is the tiny arithmetic reasoner (models/README.md): the questions are sums, differences and
// small gold problems; "amount" is where it tends to put its result. After an answer an NPC waits about
// a second, then gets its next question with a fresh conversation (the tiny model was trained on single
// turns). At exit: frame-time statistics (work per frame p50/p99/max, frames whose work exceeded
// 16.7 ms, frame interval p99/max) and each NPC's answers.
//
// Sections: options · schema check · npc · rendering · main loop · statistics
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "noggin/core/default_thread_pool.hpp"
#include "noggin/model/model.hpp"
#include "noggin/run/group.hpp"
#include "noggin/run/reasoner.hpp"
#include "noggin/sample/json_schema.hpp"
#include "noggin/text/chat_text.hpp"
#include "noggin/text/json.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace noggin;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// --- options -------------------------------------------------------------------------------------------

struct options {
    std::string model = "models/noggin-tiny-reasoner.gguf";
    std::int64_t frames = -1;     // stop after this many frames (-1: no limit)
    double seconds = -1;          // stop after this many seconds (-1: no limit)
    double budget_ms = 6.0;       // reasoning time per frame, all NPCs together
    bool group = true;            // one batched forward pass for all NPCs (false: each NPC stepped in turn)
    int think_budget = 96;        // model-sampled thinking tokens before </think> is forced
    int threads = 1;              // thread pool size for the forward pass (1: the game thread only)
    double fps = 60.0;
    std::uint64_t seed = 1;
    bool tty = true, check = false;
};

volatile std::sig_atomic_t g_quit = 0;
void on_sigint(int) { g_quit = 1; }

// --- schema check ----------------------------------------------------------------------------------------

const char* action_schema =
    R"({"type":"object","properties":{)"
    R"("action":{"enum":["trade","give","refuse","wait"]},)"
    R"("amount":{"type":"integer"},)"
    R"("say":{"type":"string","maxLength":24}},)"
    R"("required":["action","amount","say"],"additionalProperties":false})";

std::size_t utf8_chars(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// What the game relies on, checked independently of the grammar: an object with exactly these keys.
bool valid_action(const std::string& text, std::string* why) {
    result<text::json_value> v = text::json_parse(text);
    if (!v.ok()) return *why = "not JSON: " + v.status().message(), false;
    if (!v->is_object() || v->size() != 3) return *why = "not an object of 3 members", false;
    const text::json_value* a = v->find("action");
    const text::json_value* n = v->find("amount");
    const text::json_value* s = v->find("say");
    if (a == nullptr || n == nullptr || s == nullptr) return *why = "missing key", false;
    const std::string& act = a->as_string();
    if (!a->is_string() || (act != "trade" && act != "give" && act != "refuse" && act != "wait"))
        return *why = "action not in the enum", false;
    if (!n->is_int()) return *why = "amount not an integer", false;
    if (!s->is_string() || utf8_chars(s->as_string()) > 24) return *why = "say not a string of <= 24 characters", false;
    return true;
}

// --- npc -------------------------------------------------------------------------------------------------

struct npc {
    std::string name;
    std::vector<std::string> questions;
    std::size_t next_question = 0;
    std::unique_ptr<run::reasoner> r;    // one conversation per question (fresh KV over the shared model)
    std::string question;                // being answered
    std::string thinking_tail;           // the last thoughts, for the status line
    std::int64_t thinking_tokens = 0;
    std::int64_t wait_frames = 0;        // frames to wait before the next question
    bool done = false;                   // answered; waiting
    bool last_valid = false;
    std::string last_answer, last_question;
    int answers = 0, valid_answers = 0;
    double last_turn_ms = 0;
    clock_type::time_point asked_at{};
    std::vector<std::string> log;        // "question -> answer" lines for the summary

    static void on_event(void* user, const run::event& e) {
        npc& n = *static_cast<npc*>(user);
        if (e.type == run::event_type::thinking) {
            n.thinking_tail += e.text;
            if (n.thinking_tail.size() > 200) n.thinking_tail.erase(0, n.thinking_tail.size() - 200);
        }
    }
};

struct game {
    const options* o = nullptr;
    model::model m;
    text::tokenizer tok;
    text::chat_template chat;
    std::unique_ptr<sample::grammar_matcher> grammar;
    thread_pool pool{};
    run::reasoner_group group;   // the NPCs' reasoners step together; their sessions share its scratch
    std::vector<npc> npcs;
};

status start_question(game& g, npc& n, std::uint64_t seed) {
    run::session_params sp;
    sp.n_ctx = 512;
    sp.seed = seed;
    sp.pool = g.pool;
    if (g.o->group) sp.workspace = &g.group.scratch();  // each NPC adds only its KV cache and logits
    result<run::session> s = run::session::create(g.m, sp);
    if (!s.ok()) return s.status();
    run::reasoner_params rp;
    rp.sampling.temperature = 0.0f;  // greedy: the tiny model is most accurate so
    rp.think_budget = g.o->think_budget;
    rp.answer_budget = 320;          // more than the longest output the schema allows
    rp.grammar = g.grammar.get();
    rp.on_event = &npc::on_event;
    rp.user = &n;
    if (n.r) (void)g.group.remove(*n.r);
    n.r = std::make_unique<run::reasoner>();
    NOGGIN_TRY(run::reasoner::create(*n.r, std::move(s.value()), g.tok, g.chat, rp));
    NOGGIN_TRY(g.group.add(*n.r));
    n.question = n.questions[n.next_question++ % n.questions.size()];
    n.thinking_tail.clear();
    n.done = false;
    n.asked_at = clock_type::now();
    return n.r->ask(n.question);
}

void finish_question(game& g, npc& n) {
    n.done = true;
    n.wait_frames = static_cast<std::int64_t>(g.o->fps);  // about a second
    n.last_answer = n.r->answer_text();
    n.last_question = n.question;
    n.last_turn_ms = ms_between(n.asked_at, clock_type::now());
    std::string why;
    n.last_valid = valid_action(n.last_answer, &why);
    ++n.answers;
    if (n.last_valid) ++n.valid_answers;
    char b[512];
    std::snprintf(b, sizeof b, "%-5s %s -> %s  (%lld thinking tokens, %s, %.0f ms)%s%s", n.name.c_str(), n.question.c_str(),
                  n.last_answer.c_str(), (long long)n.r->stats().thinking_tokens, run::stop_reason_name(n.r->stats().reason),
                  n.last_turn_ms, n.last_valid ? "" : "  INVALID: ", n.last_valid ? "" : why.c_str());
    n.log.push_back(b);
    if (!g.o->tty) std::printf("%s\n", b), std::fflush(stdout);
}

// --- rendering -------------------------------------------------------------------------------------------

std::string one_line(std::string s, std::size_t width) {
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (s.size() > width) s = s.substr(s.size() - width);
    // Do not start inside a UTF-8 character.
    std::size_t at = 0;
    while (at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) ++at;
    return s.substr(at);
}

std::string status_line(const game& g, const npc& n) {
    char b[400];
    if (n.done || !n.r) {
        std::snprintf(b, sizeof b, "%-5s %s %-22s -> %s", n.name.c_str(), n.last_valid ? "\xE2\x9C\x93" : "\xE2\x9C\x97",
                      n.last_question.c_str(), n.last_answer.c_str());
        return b;
    }
    const run::reasoner& r = *n.r;
    const run::turn_stats& st = r.stats();
    switch (r.state()) {
        case run::reasoner_state::prefilling:
            std::snprintf(b, sizeof b, "%-5s ? %-22s reading the question...", n.name.c_str(), n.question.c_str());
            break;
        case run::reasoner_state::thinking: {
            const int width = 16;
            const int filled = g.o->think_budget > 0
                                   ? static_cast<int>(std::min<std::int64_t>(width, st.thinking_tokens * width / g.o->think_budget))
                                   : 0;
            std::string bar(static_cast<std::size_t>(filled), '#');
            bar.resize(width, '.');
            std::snprintf(b, sizeof b, "%-5s ? %-22s thinking [%s] %3lld tok  %s", n.name.c_str(), n.question.c_str(), bar.c_str(),
                          (long long)st.thinking_tokens, one_line(n.thinking_tail, 28).c_str());
            break;
        }
        default:
            std::snprintf(b, sizeof b, "%-5s ! %-22s answering: %s", n.name.c_str(), n.question.c_str(), r.answer_text().c_str());
            break;
    }
    return b;
}

// --- statistics --------------------------------------------------------------------------------------------

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p * double(v.size()))) - 1)];
}

int usage() {
    std::fprintf(stderr,
                 "usage: noggin-npc [--model FILE.gguf] [--frames N] [--seconds S] [--no-tty] [--check] [--budget-ms B]\n"
                 "                  [--think-budget N] [--threads N] [--seed S] [--fps F] [--no-group]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    o.tty = isatty(1) != 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool v = i + 1 < argc;
        if (a == "--no-tty") o.tty = false;
        else if (a == "--check") o.check = true;
        else if (a == "--model" && v) o.model = argv[++i];
        else if (a == "--frames" && v) o.frames = std::atoll(argv[++i]);
        else if (a == "--seconds" && v) o.seconds = std::atof(argv[++i]);
        else if (a == "--no-group") o.group = false;
        else if (a == "--budget-ms" && v) o.budget_ms = std::max(0.0, std::atof(argv[++i]));
        else if (a == "--think-budget" && v) o.think_budget = std::atoi(argv[++i]);
        else if (a == "--threads" && v) o.threads = std::max(1, std::atoi(argv[++i]));
        else if (a == "--seed" && v) o.seed = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--fps" && v) o.fps = std::max(1.0, std::atof(argv[++i]));
        else return usage();
    }

    game g;
    g.o = &o;
    {
        result<model::model> m = model::model::open(o.model);
        if (!m.ok()) {
            std::fprintf(stderr, "noggin-npc: %s: %s\n", o.model.c_str(), m.status().message().c_str());
            return 1;
        }
        g.m = std::move(m.value());
        result<text::chat_text> t = text::chat_text_from_gguf(g.m.file());
        if (!t.ok()) {
            std::fprintf(stderr, "noggin-npc: %s\n", t.status().message().c_str());
            return 1;
        }
        g.tok = std::move(t->tokenizer);
        g.chat = std::move(t->chat);
        // JSON schema → grammar, compact output (no optional whitespace), bound to the vocabulary once
        // and shared by the three NPCs (each reasoner keeps its own matching state).
        sample::json_schema_options jo;
        jo.whitespace = false;
        result<sample::grammar> gr = sample::grammar_from_json_schema(std::string_view(action_schema), jo);
        if (!gr.ok()) {
            std::fprintf(stderr, "noggin-npc: schema: %s\n", gr.status().message().c_str());
            return 1;
        }
        result<sample::grammar_vocab> vocab = sample::grammar_vocab::from_tokenizer(g.tok);
        if (!vocab.ok()) {
            std::fprintf(stderr, "noggin-npc: grammar vocabulary: %s\n", vocab.status().message().c_str());
            return 1;
        }
        result<sample::grammar_matcher> mm = sample::grammar_matcher::create(std::move(gr.value()), vocab.value());
        if (!mm.ok()) {
            std::fprintf(stderr, "noggin-npc: grammar: %s\n", mm.status().message().c_str());
            return 1;
        }
        g.grammar = std::make_unique<sample::grammar_matcher>(std::move(mm.value()));
    }
    std::unique_ptr<default_thread_pool> pool;
    if (o.threads > 1) {
        pool = std::make_unique<default_thread_pool>(std::size_t(o.threads));
        g.pool = pool->hook();
    }
    {
        run::reasoner_group_params gp;
        gp.pool = g.pool;
        gp.logits_rows = 3;  // the three NPCs' logits in one output matmul
        const status s = run::reasoner_group::create(g.group, g.m, gp);
        if (!s.ok()) {
            std::fprintf(stderr, "noggin-npc: group: %s\n", s.message().c_str());
            return 1;
        }
    }

    g.npcs.resize(3);
    g.npcs[0].name = "Bram";
    g.npcs[0].questions = {"What is 4821+937?", "What is 2500+1250?", "What is 738+4096?"};
    g.npcs[1].name = "Ilsa";
    g.npcs[1].questions = {"What is 5000-1234?", "What is 9001-777?", "What is 6400-2048?"};
    g.npcs[2].name = "Odo";
    g.npcs[2].questions = {"What is 312+689?", "What is 1200-450?", "What is 20480+1024?"};
    for (std::size_t i = 0; i < g.npcs.size(); ++i) {
        const status s = start_question(g, g.npcs[i], o.seed + i);
        if (!s.ok()) {
            std::fprintf(stderr, "noggin-npc: %s\n", s.message().c_str());
            return 1;
        }
        if (!o.tty) std::printf("%-5s asks: %s\n", g.npcs[i].name.c_str(), g.npcs[i].question.c_str());
    }

    std::signal(SIGINT, on_sigint);
    const auto frame_period = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / o.fps));
    const auto budget = std::chrono::microseconds(static_cast<std::int64_t>(o.budget_ms * 1000.0));
    std::vector<double> work_ms, interval_ms;
    std::vector<double> step_ms;  // time spent stepping reasoners per frame (frames with work only)
    const clock_type::time_point t_start = clock_type::now();
    clock_type::time_point next_frame = t_start, last_start = t_start;
    std::int64_t frame = 0;
    if (o.tty) std::printf("noggin-npc — %s, %.0f fps, %.1f ms of reasoning per frame (Ctrl-C to quit)\n\x1b[?25l", o.model.c_str(),
                           o.fps, o.budget_ms);
    int status_code_out = 0;
    for (;; ++frame) {
        const double elapsed_s = ms_between(t_start, clock_type::now()) / 1000.0;
        bool all_answered = true;
        for (const npc& n : g.npcs) all_answered = all_answered && n.answers > 0;
        // --check runs on (past --frames/--seconds) until every NPC has answered once, at most 120 s.
        const bool keep_for_check = o.check && !all_answered && elapsed_s < 120.0;
        if (g_quit || (!keep_for_check && ((o.frames >= 0 && frame >= o.frames) || (o.seconds >= 0 && elapsed_s >= o.seconds))))
            break;
        const clock_type::time_point f0 = clock_type::now();
        if (frame > 0) interval_ms.push_back(ms_between(last_start, f0));
        last_start = f0;

        // Update. NPCs waiting after an answer get their next question when their wait is over.
        for (std::size_t i = 0; i < g.npcs.size(); ++i) {
            npc& n = g.npcs[i];
            if (!n.done || --n.wait_frames > 0) continue;
            const status s = start_question(g, n, o.seed + 100 * std::uint64_t(n.answers) + i);
            if (!s.ok()) {
                std::fprintf(stderr, "noggin-npc: %s\n", s.message().c_str());
                status_code_out = 1;
                g_quit = 1;
            } else if (!o.tty) {
                std::printf("%-5s asks: %s\n", n.name.c_str(), n.question.c_str());
            }
        }
        // Reasoning within the frame's budget: all NPCs in one batched pass per token (group), or each in
        // turn with an equal share of the budget.
        std::size_t working = 0;
        for (const npc& n : g.npcs) working += !n.done ? 1 : 0;
        if (working > 0) {
            const clock_type::time_point s0 = clock_type::now();
            if (o.group) {
                g.group.step(budget);
            } else {
                const auto share = budget / static_cast<std::int64_t>(working);
                for (npc& n : g.npcs)
                    if (!n.done) n.r->step(share);
            }
            step_ms.push_back(ms_between(s0, clock_type::now()));
        }
        for (npc& n : g.npcs)
            if (!n.done && n.r->state() == run::reasoner_state::idle) finish_question(g, n);

        // Render: one status line per NPC.
        std::string screen;
        for (const npc& n : g.npcs) {
            if (o.tty) screen += "\r\x1b[2K";
            screen += status_line(g, n);
            screen += '\n';
        }
        if (o.tty) {
            if (frame > 0) std::printf("\x1b[%zuA", g.npcs.size());
            std::fputs(screen.c_str(), stdout);
            std::fflush(stdout);
        }
        work_ms.push_back(ms_between(f0, clock_type::now()));

        next_frame += frame_period;
        const clock_type::time_point now = clock_type::now();
        if (next_frame < now) next_frame = now;  // late: do not try to catch up with a burst of frames
        std::this_thread::sleep_until(next_frame);
    }
    if (o.tty) std::printf("\x1b[?25h");

    // --- statistics ---
    const double secs = ms_between(t_start, clock_type::now()) / 1000.0;
    const std::size_t over = static_cast<std::size_t>(std::count_if(work_ms.begin(), work_ms.end(), [](double x) { return x > 1000.0 / 60.0; }));
    const std::size_t late = static_cast<std::size_t>(
        std::count_if(interval_ms.begin(), interval_ms.end(), [&](double x) { return x > 1000.0 / o.fps + 1.0; }));
    std::printf("\n%lld frames in %.2f s (%.1f fps)\n", (long long)frame, secs, secs > 0 ? double(frame) / secs : 0.0);
    std::printf("frame work (update + render): p50 %.2f ms, p99 %.2f ms, max %.2f ms; %zu frames over 16.7 ms\n",
                percentile(work_ms, 0.5), percentile(work_ms, 0.99), work_ms.empty() ? 0.0 : *std::max_element(work_ms.begin(), work_ms.end()),
                over);
    std::printf("frame interval: p50 %.2f ms, p99 %.2f ms, max %.2f ms; %zu frames more than 1 ms late\n", percentile(interval_ms, 0.5),
                percentile(interval_ms, 0.99),
                interval_ms.empty() ? 0.0 : *std::max_element(interval_ms.begin(), interval_ms.end()), late);
    if (!step_ms.empty())
        std::printf("reasoning per frame (budget %.1f ms, %s): p50 %.2f ms, p99 %.2f ms, max %.2f ms over %zu frames\n", o.budget_ms,
                    o.group ? "one batched pass per token for all NPCs" : "NPCs stepped in turn", percentile(step_ms, 0.5),
                    percentile(step_ms, 0.99), *std::max_element(step_ms.begin(), step_ms.end()), step_ms.size());
    if (o.group)
        std::printf("group: %lld batched passes, %lld rows, up to %lld NPCs in one pass\n", (long long)g.group.stats().passes,
                    (long long)g.group.stats().rows, (long long)g.group.stats().max_members);
    int answered = 0, all_valid = 1;
    for (const npc& n : g.npcs) {
        if (o.tty)
            for (const std::string& l : n.log) std::printf("%s\n", l.c_str());
        if (n.valid_answers > 0) ++answered;
        if (n.valid_answers != n.answers) all_valid = 0;
    }
    std::printf("%d/%zu NPCs answered with schema-valid JSON%s\n", answered, g.npcs.size(), all_valid ? "" : " (some answers INVALID)");
    if (o.check && (answered != int(g.npcs.size()) || !all_valid)) status_code_out = 1;
    return status_code_out;
}
