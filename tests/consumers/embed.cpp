// README "Embed noggin in 20 lines": the bundled tiny reasoner thinks, then answers. Built and run by
// tests/consumers/run.sh through add_subdirectory and through the single header (tools/amalgamate.py).
#include <noggin/noggin.hpp>
#include <cstdio>

int main(int argc, char** argv) {
    auto model = noggin::model::model::open(argc > 1 ? argv[1] : "models/noggin-tiny-reasoner.gguf");
    if (!model.ok()) return std::fprintf(stderr, "%s\n", model.status().message().c_str()), 1;
    auto tokenizer = noggin::text::tokenizer_from_gguf(model->file());   // the file's own vocabulary
    auto source = model->file().get_string("tokenizer.chat_template");   // and chat template
    auto chat = noggin::text::chat_template::from_source_or_builtin(source.ok() ? source.value() : "",
                                                                    noggin::text::chat_builtin::deepseek_r1);
    auto session = noggin::run::session::create(model.value());          // KV cache + scratch
    if (!tokenizer.ok() || !chat.ok() || !session.ok()) return 1;
    noggin::run::reasoner_params p;
    p.sampling.temperature = 0;                                           // greedy: same text every run
    p.on_event = [](void*, const noggin::run::event& e) {                 // thoughts, then the answer
        std::printf(e.type == noggin::run::event_type::done ? "\n" : "%s", e.text.c_str());
    };
    noggin::run::reasoner r;
    if (!noggin::run::reasoner::create(r, std::move(session.value()), tokenizer.value(), chat.value(), p).ok()) return 1;
    if (!r.ask("What is 4821+937?").ok()) return 1;
    r.run();                                                              // or r.step(budget) once a frame
    return r.stats().reason == noggin::run::stop_reason::eos ? 0 : 1;
}
