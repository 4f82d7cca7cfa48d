// tests/fuzz/fuzz_jinja.cpp — libFuzzer target: parse and render arbitrary template text.
//
// The input is Jinja source; it is rendered against a fixed small conversation (system, user,
// assistant with reasoning and tool calls, tool result) under tight limits. Any crash, hang,
// sanitizer report or leak is a bug; every failure must come back as a status.
//
//     clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_jinja.cpp -o /tmp/fj
//     /tmp/fj -max_total_time=60 <dir with seed templates>
#include <noggin/text/chat_template.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

const noggin::text::jinja::value& context() {
    using namespace noggin::text;
    static const jinja::value ctx = [] {
        auto msgs = json_parse(R"([
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Weather in Köln?"},
            {"role": "assistant", "content": "", "reasoning_content": "Use the tool.",
             "tool_calls": [{"type": "function", "id": "c0", "function": {"name": "get_weather", "arguments": {"city": "Köln", "n": [1, 2.5, null, true]}}}]},
            {"role": "tool", "content": "15 °C"},
            {"role": "assistant", "content": "<think>\nok\n</think>\n\n15 °C."},
            {"role": "user", "content": "<tool_response>x</tool_response>"}
        ])");
        auto tools = json_parse(R"([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])");
        jinja::value c = jinja::value::object();
        c.set("messages", jinja::from_json(msgs.value()).value());
        c.set("tools", jinja::from_json(tools.value()).value());
        c.set("add_generation_prompt", jinja::value(true));
        c.set("bos_token", jinja::value("<s>"));
        c.set("eos_token", jinja::value("</s>"));
        c.set("enable_thinking", jinja::value(false));
        return c;
    }();
    return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace noggin::text;
    jinja::options opt;
    opt.now_unix = 1700000000;
    opt.now_local = false;
    opt.limits.max_template_bytes = 1 << 16;
    opt.limits.max_output_bytes = 1 << 16;
    opt.limits.max_string_bytes = 1 << 16;
    opt.limits.max_items = 4096;
    opt.limits.max_depth = 64;
    opt.limits.max_value_depth = 16;
    opt.limits.max_steps = 200000;
    std::string_view src(reinterpret_cast<const char*>(data), size);
    auto tpl = jinja::parse(src, opt);
    if (!tpl.ok()) return 0;
    auto out = tpl->render(context());
    if (out.ok() && out->size() > opt.limits.max_output_bytes) __builtin_trap();
    return 0;
}
