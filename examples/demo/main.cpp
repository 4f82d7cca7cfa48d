// noggin-demo — the README's first command: the bundled tiny reasoning model thinks, then answers.
//
//   noggin-demo                         three built-in questions to models/noggin-tiny-reasoner.gguf
//   noggin-demo --prompt "What is 4821+937?" [--model FILE.gguf] [--max-tokens N]
//   noggin-demo --inspect FILE.gguf     metadata, tensors, bytes by dtype and the memory it needs, of any GGUF file
//
// What it shows, end to end on the CPU: the GGUF reader, the tokenizer and the Jinja chat template read
// from the file itself, the forward pass over a KV cache, greedy decoding, and a streaming detokenizer
// that never splits a UTF-8 character — with the thinking (between <think> and </think>) printed apart
// from the answer. The full reasoning runner (sampling, budgets, frame slicing) is the next layer up.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "noggin/noggin.hpp"

namespace {

// --- --inspect -----------------------------------------------------------------------------------------

std::string describe(const noggin::gguf::value_view& v) {
    using noggin::gguf::value_type;
    switch (v.type()) {
        case value_type::string: {
            std::string s(v.get_string().value());
            for (char& c : s)
                if (c == '\n') c = ' ';
            if (s.size() > 60) s = s.substr(0, 57) + "...";
            return "\"" + s + "\"";
        }
        case value_type::array: {
            const noggin::gguf::array_view a = v.get_array().value();
            return noggin::str("[", a.size(), " x ", noggin::gguf::value_type_name(a.element_type()), "]");
        }
        case value_type::float32:
        case value_type::float64: return std::to_string(v.get_f64().value());
        case value_type::boolean: return v.get_bool().value() ? "true" : "false";
        case value_type::int64:
        case value_type::int32:
        case value_type::int16:
        case value_type::int8: return std::to_string(v.get_i64().value());
        default: return std::to_string(v.get_u64().value());
    }
}

// What the model needs at a few context lengths (model::estimate_memory: header only, nothing loaded).
void print_memory(const noggin::gguf::file& f) {
    noggin::model::memory_options o;
    noggin::result<noggin::model::memory_estimate> first = noggin::model::estimate_memory(f, o);
    if (!first.ok()) {
        std::printf("\nmemory: not a model noggin runs (%s)\n", first.status().message().c_str());
        return;
    }
    const auto mib = [](std::uint64_t b) { return static_cast<double>(b) / (1 << 20); };
    std::printf("\nmemory in MiB (model::estimate_memory; F16 KV cache, CPU batch %lld, Vulkan batch %lld with %llu MiB bindings):\n"
                "  %8s %9s %9s %9s %7s %10s   %13s %12s\n",
                static_cast<long long>(o.max_batch), static_cast<long long>(o.vulkan_max_batch),
                static_cast<unsigned long long>(o.vulkan_binding_limit >> 20), "context", "weights", "KV cache", "workspace",
                "logits", "CPU total", "Vulkan device", "host-visible");
    const std::int64_t train = first->hp.n_ctx_train;  // 512, 4096, 32768 tokens and the model's full context
    std::vector<std::int64_t> contexts;
    for (std::int64_t n : {std::int64_t{512}, std::int64_t{4096}, std::int64_t{32768}})
        if (n < train) contexts.push_back(n);
    contexts.push_back(train);
    for (std::int64_t n : contexts) {
        o.n_ctx = n;
        noggin::result<noggin::model::memory_estimate> e = noggin::model::estimate_memory(f, o);
        if (!e.ok()) continue;
        const noggin::model::cpu_memory& c = e->cpu;
        std::printf("  %8lld %9.1f %9.1f %9.1f %7.2f %10.1f   ", static_cast<long long>(n), mib(c.weights), mib(c.kv_cache),
                    mib(c.workspace), mib(c.logits), mib(c.total()));
        if (e->vulkan.supported)
            std::printf("%13.1f %12.1f\n", mib(e->vulkan.device_local()), mib(e->vulkan.host_visible()));
        else
            std::printf("%26s\n", "(no Vulkan plan)");
    }
}

int inspect(const std::string& path) {
    noggin::result<noggin::gguf::file> opened = noggin::gguf::file::open(path);
    if (!opened.ok()) {
        std::fprintf(stderr, "noggin-demo: %s\n", opened.status().message().c_str());
        return 1;
    }
    const noggin::gguf::file& f = opened.value();
    std::printf("%s: GGUF v%u, %llu metadata keys, %llu tensors, alignment %u\n\nmetadata:\n", path.c_str(), f.version(),
                static_cast<unsigned long long>(f.kv_count()), static_cast<unsigned long long>(f.tensor_count()),
                f.alignment());
    for (std::uint64_t i = 0; i < f.kv_count(); ++i) {
        const std::string_view key = f.key(i);
        std::printf("  %-40.*s %s\n", static_cast<int>(key.size()), key.data(), describe(f.get(key).value()).c_str());
    }
    std::map<std::string, std::uint64_t> bytes_by_type;
    std::printf("\ntensors:\n");
    std::uint64_t shown = 0;
    for (const noggin::gguf::tensor_info& t : f.tensors()) {
        bytes_by_type[noggin::dtype_name(t.type)] += t.bytes;
        if (shown++ >= 24) continue;
        std::string shape;
        for (int d = 0; d < t.n_dims; ++d) shape += (d ? " x " : "") + std::to_string(t.ne[d]);
        std::printf("  %-32.*s %-5s %s\n", static_cast<int>(t.name.size()), t.name.data(), noggin::dtype_name(t.type),
                    shape.c_str());
    }
    if (shown > 24) std::printf("  ... and %llu more\n", static_cast<unsigned long long>(shown - 24));
    std::printf("\nbytes by dtype:\n");
    for (const auto& [name, bytes] : bytes_by_type)
        std::printf("  %-5s %10.3f MiB\n", name.c_str(), static_cast<double>(bytes) / (1 << 20));
    print_memory(f);
    return 0;
}

// --- the reasoning demo --------------------------------------------------------------------------------

struct reasoner_demo {
    noggin::model::model model;
    noggin::text::tokenizer tokenizer;
    noggin::text::chat_template chat;
    noggin::text::token_id think_end = -1;  // id of </think>

    static noggin::result<reasoner_demo> load(const std::string& path) {
        noggin::result<noggin::model::model> m = noggin::model::model::open(path);
        if (!m.ok()) return m.status();
        noggin::result<noggin::text::chat_text> text = noggin::text::chat_text_from_gguf(m->file());
        if (!text.ok()) return text.status();
        reasoner_demo d{std::move(m).value(), std::move(text->tokenizer), std::move(text->chat)};
        d.think_end = d.tokenizer.find("</think>");
        return d;
    }

    // Greedy generation for one question, streaming thinking and answer as they come.
    noggin::status ask(const std::string& question, int max_tokens, const noggin::thread_pool& pool) const {
        noggin::result<std::string> prompt = chat.render({{"user", question}});  // bos/eos: the tokenizer's
        if (!prompt.ok()) return prompt.status();
        std::string rendered = prompt.value();
        // R1 models sometimes skip thinking: the prompt always ends with "<think>\n".
        if (rendered.size() < 8 || rendered.compare(rendered.size() - 8, 8, "<think>\n") != 0) rendered += "<think>\n";
        noggin::text::encode_options enc;
        enc.parse_special = true;
        noggin::result<std::vector<noggin::text::token_id>> ids = tokenizer.encode(rendered, enc);
        if (!ids.ok()) return ids.status();

        noggin::model::context_params cp;
        cp.kv.n_ctx = static_cast<std::int64_t>(ids->size()) + max_tokens;
        cp.pool = pool;
        noggin::result<noggin::model::context> ctx = noggin::model::context::create(model, cp);
        if (!ctx.ok()) return ctx.status();

        const auto start = std::chrono::steady_clock::now();
        std::vector<std::int32_t> prompt_ids(ids->begin(), ids->end());
        NOGGIN_TRY(ctx->decode(prompt_ids.data(), static_cast<std::int64_t>(prompt_ids.size())));
        std::printf("\nQ: %s\n  thinking: \x1b[2m", question.c_str());
        noggin::text::detokenizer stream(tokenizer, /*skip_special=*/true);
        bool thinking = true;
        bool answer_started = false;
        int generated = 0;
        std::string piece;
        const std::int64_t n_vocab = model.hparams().n_vocab;
        for (; generated < max_tokens; ++generated) {
            const float* logits = ctx->logits();
            std::int32_t next = 0;
            for (std::int64_t i = 1; i < n_vocab; ++i)
                if (logits[i] > logits[next]) next = static_cast<std::int32_t>(i);
            if (next == tokenizer.eos_id()) break;
            if (next == think_end && thinking) {
                piece.clear();
                stream.flush(piece);
                std::printf("%s\x1b[0m\n  answer:  ", piece.c_str());
                thinking = false;
            } else {
                piece.clear();
                NOGGIN_TRY(stream.push(next, piece));
                if (thinking) {
                    for (char& c : piece)
                        if (c == '\n') c = ' ';
                } else if (!answer_started) {
                    piece.erase(0, piece.find_first_not_of(" \n"));  // the template's blank line before the answer
                    answer_started = !piece.empty();
                }
                std::fputs(piece.c_str(), stdout);
            }
            std::fflush(stdout);
            NOGGIN_TRY(ctx->decode(&next, 1));
        }
        piece.clear();
        stream.flush(piece);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("%s%s\n  (%zu prompt + %d generated tokens in %.2f s)\n", piece.c_str(), thinking ? "\x1b[0m" : "",
                    prompt_ids.size(), generated, seconds);
        return noggin::status();
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::string model_path = "models/noggin-tiny-reasoner.gguf";
    std::vector<std::string> questions;
    int max_tokens = 400;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--inspect" && has_value) return inspect(argv[++i]);
        if (arg == "--model" && has_value) model_path = argv[++i];
        else if (arg == "--prompt" && has_value) questions.push_back(argv[++i]);
        else if (arg == "--max-tokens" && has_value) max_tokens = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: noggin-demo [--model FILE.gguf] [--prompt TEXT]... [--max-tokens N]\n"
                                 "       noggin-demo --inspect FILE.gguf\n");
            return 2;
        }
    }
    if (questions.empty())
        questions = {"What is 4821+937?", "What is 5000-1234?",
                     "Mira has 12 apples and gives 5 to Tom. How many does she have left?"};

    noggin::result<reasoner_demo> demo = reasoner_demo::load(model_path);
    if (!demo.ok()) {
        std::fprintf(stderr, "noggin-demo: %s: %s\n", model_path.c_str(), demo.status().message().c_str());
        return 1;
    }
    const noggin::model::hparams& hp = demo->model.hparams();
    std::printf("noggin %s — %s: %s, %lld layers, %lld-dim, vocabulary %lld; greedy decoding on the CPU\n",
                noggin::version_string(), model_path.c_str(),
                std::string(demo->model.file().get_string("general.architecture").value()).c_str(),
                static_cast<long long>(hp.n_layer), static_cast<long long>(hp.n_embd), static_cast<long long>(hp.n_vocab));
    noggin::default_thread_pool pool(2);
    for (const std::string& q : questions) {
        const noggin::status s = demo->ask(q, max_tokens, pool.hook());
        if (!s.ok()) {
            std::fprintf(stderr, "\nnoggin-demo: %s\n", s.message().c_str());
            return 1;
        }
    }
    return 0;
}
