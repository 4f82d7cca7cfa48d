// noggin-chat — talk to a reasoning model: thinking streamed (dimmed or hidden), then the answer.
//
//   noggin-chat                                   interactive, models/noggin-tiny-reasoner.gguf
//   noggin-chat --prompt "What is 4821+937?"      one-shot
//   noggin-chat --prompt "..." --json             one JSON object per answer (thinking, answer, counts, timings)
//   options: --model FILE --think-budget N (0: answer at once) --hide-thinking --temp T --top-p P --seed S
//            --grammar FILE.gbnf --json-schema FILE.json --ctx N --threads N --max-answer N
//
// Built on run::reasoner: the chat template from the GGUF, forced "<think>\n", budgets, the session's own
// seeded RNG; follow-up turns reuse the KV cache up to the dropped reasoning instead of re-prefilling.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "noggin/noggin.hpp"
#include "noggin/run/reasoner.hpp"

namespace {

struct options {
    std::string model = "models/noggin-tiny-reasoner.gguf";
    std::string prompt;          // empty: interactive
    bool json = false, hide_thinking = false;
    int think_budget = -1, max_answer = -1, threads = 2;
    float temp = 0.6f, top_p = 0.95f;
    std::uint64_t seed = 0;
    std::int64_t ctx = 0;
    std::string grammar_file, schema_file;
};

struct printer {
    const options* o;
    bool in_thinking = false;
    static void on_event(void* user, const noggin::run::event& e) {
        printer& p = *static_cast<printer*>(user);
        if (p.o->json) return;  // collected from the reasoner at the end
        if (e.type == noggin::run::event_type::thinking) {
            if (p.o->hide_thinking) return;
            if (!p.in_thinking) std::fputs("\x1b[2m", stdout), p.in_thinking = true;
            std::fputs(e.text.c_str(), stdout);
        } else {
            if (p.in_thinking) std::fputs("\x1b[0m\n", stdout), p.in_thinking = false;
            if (e.type == noggin::run::event_type::answer) std::fputs(e.text.c_str(), stdout);
        }
        std::fflush(stdout);
    }
};

// A JSON string literal (quotes included) for `s`.
std::string json_string(const std::string& s) {
    std::string out;
    noggin::text::json_quote(out, s);
    return out;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::stringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return true;
}

int usage() {
    std::fprintf(stderr,
                 "usage: noggin-chat [--model FILE.gguf] [--prompt TEXT] [--json] [--think-budget N] [--hide-thinking]\n"
                 "                   [--temp T] [--top-p P] [--seed S] [--grammar FILE] [--json-schema FILE] [--ctx N]\n"
                 "                   [--threads N] [--max-answer N]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool v = i + 1 < argc;
        if (a == "--json") o.json = true;
        else if (a == "--hide-thinking") o.hide_thinking = true;
        else if (a == "--model" && v) o.model = argv[++i];
        else if (a == "--prompt" && v) o.prompt = argv[++i];
        else if (a == "--think-budget" && v) o.think_budget = std::atoi(argv[++i]);
        else if (a == "--max-answer" && v) o.max_answer = std::atoi(argv[++i]);
        else if (a == "--threads" && v) o.threads = std::atoi(argv[++i]);
        else if (a == "--temp" && v) o.temp = float(std::atof(argv[++i]));
        else if (a == "--top-p" && v) o.top_p = float(std::atof(argv[++i]));
        else if (a == "--seed" && v) o.seed = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--ctx" && v) o.ctx = std::atoll(argv[++i]);
        else if (a == "--grammar" && v) o.grammar_file = argv[++i];
        else if (a == "--json-schema" && v) o.schema_file = argv[++i];
        else return usage();
    }

    auto m = noggin::model::model::open(o.model);
    if (!m.ok()) {
        std::fprintf(stderr, "noggin-chat: %s: %s\n", o.model.c_str(), m.status().message().c_str());
        return 1;
    }
    auto model_text = noggin::text::chat_text_from_gguf(m->file());
    if (!model_text.ok()) {
        std::fprintf(stderr, "noggin-chat: %s\n", model_text.status().message().c_str());
        return 1;
    }

    // Optional answer constraint (applies after </think> only).
    std::unique_ptr<noggin::sample::grammar_matcher> matcher;
    if (!o.grammar_file.empty() || !o.schema_file.empty()) {
        std::string text;
        const std::string& path = o.grammar_file.empty() ? o.schema_file : o.grammar_file;
        if (!read_file(path, text)) {
            std::fprintf(stderr, "noggin-chat: cannot read %s\n", path.c_str());
            return 1;
        }
        auto g = o.grammar_file.empty() ? noggin::sample::grammar_from_json_schema(std::string_view(text))
                                        : noggin::sample::grammar::parse_gbnf(text);
        if (!g.ok()) {
            std::fprintf(stderr, "noggin-chat: %s: %s\n", path.c_str(), g.status().message().c_str());
            return 1;
        }
        auto vocab = noggin::sample::grammar_vocab::from_tokenizer(model_text->tokenizer);
        if (!vocab.ok()) return 1;
        auto mm = noggin::sample::grammar_matcher::create(std::move(g.value()), vocab.value());
        if (!mm.ok()) {
            std::fprintf(stderr, "noggin-chat: grammar: %s\n", mm.status().message().c_str());
            return 1;
        }
        matcher = std::make_unique<noggin::sample::grammar_matcher>(std::move(mm.value()));
    }

    noggin::default_thread_pool pool(o.threads > 0 ? std::size_t(o.threads) : 1);
    noggin::run::session_params sp;
    sp.n_ctx = o.ctx;
    sp.seed = o.seed;
    sp.pool = pool.hook();
    auto s = noggin::run::session::create(m.value(), sp);
    if (!s.ok()) {
        std::fprintf(stderr, "noggin-chat: session: %s\n", s.status().message().c_str());
        return 1;
    }
    printer pr{&o};
    noggin::run::reasoner_params rp;
    rp.sampling.temperature = o.temp;
    rp.sampling.top_p = o.top_p;
    rp.think_budget = o.think_budget;
    rp.think_close = o.think_budget > 0 ? "\n\nOkay, I have to answer now.\n" : "";
    rp.answer_budget = o.max_answer;
    rp.grammar = matcher.get();
    rp.on_event = &printer::on_event;
    rp.user = &pr;
    noggin::run::reasoner r;
    noggin::status st = noggin::run::reasoner::create(r, std::move(s.value()), model_text->tokenizer, model_text->chat, rp);
    if (!st.ok()) {
        std::fprintf(stderr, "noggin-chat: %s\n", st.message().c_str());
        return 1;
    }

    auto one_turn = [&](const std::string& q) -> bool {
        const auto t0 = std::chrono::steady_clock::now();
        noggin::status a = r.ask(q);
        if (!a.ok()) {
            std::fprintf(stderr, "noggin-chat: %s\n", a.message().c_str());
            return false;
        }
        r.run();
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const noggin::run::turn_stats& ts = r.stats();
        if (ts.reason == noggin::run::stop_reason::error)
            std::fprintf(stderr, "noggin-chat: %s\n", r.last_status().message().c_str());
        if (o.json) {
            std::printf("{\"thinking\":%s,\"answer\":%s,\"stop\":\"%s\",\"prompt_tokens\":%lld,"
                        "\"prefilled_tokens\":%lld,\"thinking_tokens\":%lld,\"forced_tokens\":%lld,\"answer_tokens\":%lld,"
                        "\"prefill_ms\":%.3f,\"think_ms\":%.3f,\"answer_ms\":%.3f,\"total_ms\":%.3f}\n",
                        json_string(r.thinking_text()).c_str(), json_string(r.answer_text()).c_str(),
                        noggin::run::stop_reason_name(ts.reason), (long long)ts.prompt_tokens, (long long)ts.prefilled_tokens,
                        (long long)ts.thinking_tokens, (long long)ts.forced_tokens, (long long)ts.answer_tokens, ts.prefill_ms,
                        ts.think_ms, ts.answer_ms, ms);
        } else {
            std::printf("\n\x1b[2m(%lld prompt tokens, %lld prefilled; %lld thinking + %lld forced + %lld answer tokens; %.0f ms; %s)\x1b[0m\n",
                        (long long)ts.prompt_tokens, (long long)ts.prefilled_tokens, (long long)ts.thinking_tokens,
                        (long long)ts.forced_tokens, (long long)ts.answer_tokens, ms, noggin::run::stop_reason_name(ts.reason));
        }
        std::fflush(stdout);
        return ts.reason != noggin::run::stop_reason::error;
    };

    if (!o.prompt.empty()) return one_turn(o.prompt) ? 0 : 1;
    if (!o.json) std::printf("noggin-chat — %s (empty line or Ctrl-D to quit)\n", o.model.c_str());
    std::string line;
    for (;;) {
        if (!o.json) std::printf("\n> "), std::fflush(stdout);
        if (!std::getline(std::cin, line) || line.empty()) break;
        if (!one_turn(line)) return 1;
    }
    return 0;
}
