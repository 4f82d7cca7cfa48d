// tests/text/chat_template_test.cpp — chat templates: parity with the shared reference renderings,
// tool calls and Qwen3 reasoning (expected texts produced by Python Jinja2 configured as transformers
// configures it), built-in templates.
#include <doctest/doctest.h>

#include <noggin/text/chat_template.hpp>

#include <map>
#include <string>
#include <vector>

#include "support/shared_data.hpp"

using namespace noggin::text;

namespace {

std::string file_text(const std::string& path) {
    std::vector<unsigned char> b = noggin_test::read_file_bytes(path);
    return std::string(b.begin(), b.end());
}

const char* const k_tokenizers[] = {"deepseek-r1-distill-qwen", "qwen2.5", "qwen3", "llama3", "deepseek-v3"};

// Renderings of Python Jinja2 3.1 (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
// loopcontrols, transformers' tojson) for the conversations built in tool_conversation() and
// qwen3_conversation() below.
const std::map<std::string, std::string>& expected() {
    static const std::map<std::string, std::string> m = {
    {"tools/deepseek-r1-distill-qwen",
     R"EXP(<｜begin▁of▁sentence｜>You can call tools.<｜User｜>Weather in Paris and Köln?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
```json
{"city": "Paris"}
```<｜tool▁call▁end｜>
<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
```json
{"city": "Köln"}
```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>18 °C<｜tool▁output▁end｜>
<｜tool▁output▁begin｜>15 °C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Paris 18 °C, Köln 15 °C.<｜end▁of▁sentence｜><｜User｜>Thanks!<｜Assistant｜><think>
)EXP"},
    {"tools/qwen2.5",
     R"EXP(<|im_start|>system
You can call tools.

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city — °C", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
<|im_start|>user
Weather in Paris and Köln?<|im_end|>
<|im_start|>assistant
<tool_call>
{"name": "get_weather", "arguments": {"city": "Paris"}}
</tool_call>
<tool_call>
{"name": "get_weather", "arguments": {"city": "Köln"}}
</tool_call><|im_end|>
<|im_start|>user
<tool_response>
18 °C
</tool_response>
<tool_response>
15 °C
</tool_response><|im_end|>
<|im_start|>assistant
Paris 18 °C, Köln 15 °C.<|im_end|>
<|im_start|>user
Thanks!<|im_end|>
<|im_start|>assistant
)EXP"},
    {"tools/qwen3",
     R"EXP(<|im_start|>system
You can call tools.

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city — °C", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
<|im_start|>user
Weather in Paris and Köln?<|im_end|>
<|im_start|>assistant
<tool_call>
{"name": "get_weather", "arguments": {"city": "Paris"}}
</tool_call>
<tool_call>
{"name": "get_weather", "arguments": {"city": "Köln"}}
</tool_call><|im_end|>
<|im_start|>user
<tool_response>
18 °C
</tool_response>
<tool_response>
15 °C
</tool_response><|im_end|>
<|im_start|>assistant
Paris 18 °C, Köln 15 °C.<|im_end|>
<|im_start|>user
Thanks!<|im_end|>
<|im_start|>assistant
)EXP"},
    {"tools/llama3",
     R"EXP(<|begin_of_text|><|start_header_id|>system<|end_header_id|>

You can call tools.<|eot_id|><|start_header_id|>user<|end_header_id|>

Weather in Paris and Köln?<|eot_id|><|start_header_id|>assistant<|end_header_id|>

<|eot_id|><|start_header_id|>tool<|end_header_id|>

18 °C<|eot_id|><|start_header_id|>tool<|end_header_id|>

15 °C<|eot_id|><|start_header_id|>assistant<|end_header_id|>

Paris 18 °C, Köln 15 °C.<|eot_id|><|start_header_id|>user<|end_header_id|>

Thanks!<|eot_id|><|start_header_id|>assistant<|end_header_id|>

)EXP"},
    {"tools/deepseek-v3",
     R"EXP(<｜begin▁of▁sentence｜>You can call tools.<｜User｜>Weather in Paris and Köln?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
```json
{"city": "Paris"}
```<｜tool▁call▁end｜>
<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
```json
{"city": "Köln"}
```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>18 °C<｜tool▁output▁end｜>
<｜tool▁output▁begin｜>15 °C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Paris 18 °C, Köln 15 °C.<｜end▁of▁sentence｜><｜User｜>Thanks!<｜Assistant｜>)EXP"},
    {"qwen3/reasoning",
     R"EXP(<|im_start|>user
2+2?<|im_end|>
<|im_start|>assistant
4<|im_end|>
<|im_start|>user
3+3?<|im_end|>
<|im_start|>assistant
6<|im_end|>
<|im_start|>user
4+4?<|im_end|>
<|im_start|>assistant
)EXP"},
    {"qwen3/no_thinking",
     R"EXP(<|im_start|>user
2+2?<|im_end|>
<|im_start|>assistant
4<|im_end|>
<|im_start|>user
3+3?<|im_end|>
<|im_start|>assistant
6<|im_end|>
<|im_start|>user
4+4?<|im_end|>
<|im_start|>assistant
<think>

</think>

)EXP"},
    {"qwen3/last_assistant",
     R"EXP(<|im_start|>user
2+2?<|im_end|>
<|im_start|>assistant
4<|im_end|>
<|im_start|>user
3+3?<|im_end|>
<|im_start|>assistant
<think>
Six, clearly.
</think>

6<|im_end|>
)EXP"},
    {"qwen3/agentic",
     R"EXP(<|im_start|>system
# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city — °C", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
<|im_start|>user
Weather in Paris?<|im_end|>
<|im_start|>assistant
<think>
I need the weather tool.
</think>

<tool_call>
{"name": "get_weather", "arguments": {"city": "Paris"}}
</tool_call><|im_end|>
<|im_start|>user
<tool_response>
18 °C
</tool_response><|im_end|>
<|im_start|>assistant
)EXP"},
    };
    return m;
}

jinja::value weather_tools() {
    auto j = json_parse(R"([{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city — °C",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");
    REQUIRE(j.ok());
    return jinja::from_json(j.value()).value();
}

// System, user, an assistant turn with two tool calls, two tool results, the answer, a user turn.
// DeepSeek's templates expect content None on the tool-calling turn, Qwen's an empty string.
std::vector<chat_message> tool_conversation(bool content_none) {
    std::vector<chat_message> m = {{"system", "You can call tools."}, {"user", "Weather in Paris and Köln?"}};
    chat_message call("assistant", "");
    call.content_is_none = content_none;
    call.tool_calls.push_back({"", "get_weather", R"({"city": "Paris"})"});
    call.tool_calls.push_back({"", "get_weather", R"({"city": "Köln"})"});
    m.push_back(call);
    m.push_back({"tool", "18 °C"});
    m.push_back({"tool", "15 °C"});
    m.push_back({"assistant", "Paris 18 °C, Köln 15 °C."});
    m.push_back({"user", "Thanks!"});
    return m;
}

std::vector<chat_message> qwen3_conversation() {
    std::vector<chat_message> m = {{"user", "2+2?"}, {"assistant", "4"}, {"user", "3+3?"},
                                   {"assistant", "<think>\nSix, clearly.\n</think>\n\n6"}, {"user", "4+4?"}};
    m[1].reasoning_content = "Add them.";
    return m;
}

}  // namespace

TEST_CASE("chat_template: every shared conversation renders byte-identical to its reference") {
    auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    int total = 0, identical = 0;
    for (const char* name : k_tokenizers) {
        CAPTURE(name);
        std::string base = *dir + "/tokenizers/" + name;
        auto cfg = json_parse(file_text(base + "/tokenizer_config.json"));
        auto chat = json_parse(file_text(base + "/chat.json"));
        REQUIRE(cfg.ok());
        REQUIRE(chat.ok());
        auto tpl = chat_template::from_tokenizer_config(cfg.value(), chat_builtin::chatml);
        REQUIRE_MESSAGE(tpl.ok(), tpl.status().message());
        CHECK(!tpl->is_builtin());
        CHECK(cfg->get("chat_template").as_string().rfind(tpl->source(), 0) == 0);  // the file's own text
        const json_value& convs = chat->get("conversations");
        REQUIRE(convs.size() > 0);
        for (const json_value& c : convs.items()) {
            CAPTURE(c.get("name").as_string());
            chat_params p;
            p.add_generation_prompt = chat->get("add_generation_prompt").as_bool(true);
            // 1. messages as JSON (what a tool receives)
            auto msgs = jinja::from_json(c.get("messages"));
            REQUIRE(msgs.ok());
            auto r = tpl->render_value(msgs.value(), p);
            REQUIRE_MESSAGE(r.ok(), r.status().message());
            ++total;
            if (r.value() == c.get("rendered").as_string()) ++identical;
            CHECK(r.value() == c.get("rendered").as_string());
            // 2. the same through chat_message
            std::vector<chat_message> typed;
            for (const json_value& m : c.get("messages").items()) typed.push_back({m.get("role").as_string(), m.get("content").as_string()});
            auto r2 = tpl->render(typed, p);
            REQUIRE(r2.ok());
            CHECK(r2.value() == c.get("rendered").as_string());
        }
    }
    MESSAGE("chat.json parity: ", identical, "/", total, " conversations byte-identical");
    CHECK(identical == total);
    CHECK(total == 15);
}

TEST_CASE("chat_template: files without a template fall back to the built-in") {
    auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    for (const char* name : {"llama2", "mistral-7b-v0.1"}) {
        auto cfg = json_parse(file_text(*dir + "/tokenizers/" + name + "/tokenizer_config.json"));
        REQUIRE(cfg.ok());
        auto tpl = chat_template::from_tokenizer_config(cfg.value(), chat_builtin::llama3);
        REQUIRE(tpl.ok());
        CHECK(tpl->is_builtin());
        CHECK(tpl->bos_token() == "<s>");
        CHECK(tpl->render({{"user", "hi"}}).value() ==
              "<s><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    }
}

TEST_CASE("chat_template: tool calls render as transformers renders them, for every family") {
    auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    for (const char* name : k_tokenizers) {
        CAPTURE(name);
        auto cfg = json_parse(file_text(*dir + "/tokenizers/" + name + "/tokenizer_config.json"));
        REQUIRE(cfg.ok());
        auto tpl = chat_template::from_tokenizer_config(cfg.value(), chat_builtin::chatml);
        REQUIRE(tpl.ok());
        bool deepseek = std::string(name).rfind("deepseek", 0) == 0;
        chat_params p;
        p.tools = weather_tools();
        auto r = tpl->render(tool_conversation(deepseek), p);  // arguments: automatic (object, else JSON text)
        REQUIRE_MESSAGE(r.ok(), r.status().message());
        CHECK(r.value() == expected().at(std::string("tools/") + name));
    }
}

TEST_CASE("chat_template: Qwen3 reasoning handling, enable_thinking and agentic turns") {
    auto dir = noggin_test::shared_dir();
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    auto cfg = json_parse(file_text(*dir + "/tokenizers/qwen3/tokenizer_config.json"));
    REQUIRE(cfg.ok());
    auto tpl = chat_template::from_tokenizer_config(cfg.value(), chat_builtin::chatml);
    REQUIRE(tpl.ok());
    chat_params p;
    CHECK(tpl->render(qwen3_conversation(), p).value() == expected().at("qwen3/reasoning"));
    chat_params off;
    off.extra.push_back({"enable_thinking", jinja::value(false)});
    CHECK(tpl->render(qwen3_conversation(), off).value() == expected().at("qwen3/no_thinking"));
    chat_params no_prompt;
    no_prompt.add_generation_prompt = false;
    std::vector<chat_message> four = qwen3_conversation();
    four.pop_back();
    CHECK(tpl->render(four, no_prompt).value() == expected().at("qwen3/last_assistant"));

    std::vector<chat_message> agentic = {{"user", "Weather in Paris?"}, {"assistant", ""}, {"tool", "18 °C"}};
    agentic[1].reasoning_content = "I need the weather tool.";
    agentic[1].tool_calls.push_back({"", "get_weather", R"({"city":"Paris"})"});
    chat_params with_tools;
    with_tools.tools = weather_tools();
    CHECK(tpl->render(agentic, with_tools).value() == expected().at("qwen3/agentic"));
    // The same conversation as OpenAI-style JSON.
    auto r = tpl->render_json(R"([{"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "reasoning_content": "I need the weather tool.",
         "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "18 °C"}])", with_tools);
    REQUIRE(r.ok());
    CHECK(r.value() == expected().at("qwen3/agentic"));
}

TEST_CASE("chat_template: built-in deepseek-r1 matches the R1-Distill references") {
    auto tpl = chat_template::builtin(chat_builtin::deepseek_r1);
    REQUIRE_MESSAGE(tpl.ok(), tpl.status().message());
    CHECK(tpl->is_builtin());
    chat_params p;
    p.bos_token = "<｜begin▁of▁sentence｜>";
    CHECK(tpl->render({{"user", "Hello! What is 2+2?"}, {"assistant", "<think>\nThe user asks 2+2. That is 4.\n</think>\n\n2+2 equals 4."},
                       {"user", "And what is 3+3?"}}, p)
              .value() == "<｜begin▁of▁sentence｜><｜User｜>Hello! What is 2+2?<｜Assistant｜>\n\n2+2 equals 4.<｜end▁of▁sentence｜><｜User｜>And what is 3+3?<｜Assistant｜><think>\n");
    CHECK(tpl->render({{"system", "Be brief."}, {"user", "Hi"}}, p).value() ==
          "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜><think>\n");
    auto dir = noggin_test::shared_dir();
    if (!dir) return;
    auto chat = json_parse(file_text(*dir + "/tokenizers/deepseek-r1-distill-qwen/chat.json"));
    REQUIRE(chat.ok());
    for (const json_value& c : chat->get("conversations").items()) {
        auto r = tpl->render_value(jinja::from_json(c.get("messages")).value(), p);
        REQUIRE(r.ok());
        CHECK(r.value() == c.get("rendered").as_string());
    }
    // A tool round trip: calls, outputs, then the generation prompt is withheld until the model answers.
    std::vector<chat_message> m = {{"user", "Weather?"}, {"assistant", ""}, {"tool", "18 °C"}};
    m[1].tool_calls.push_back({"", "get_weather", R"({"city": "Paris"})"});
    CHECK(tpl->render(m, p).value() ==
          "<｜begin▁of▁sentence｜><｜User｜>Weather?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
          "```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>"
          "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>18 °C<｜tool▁output▁end｜><｜tool▁outputs▁end｜>");
}

TEST_CASE("chat_template: built-in chatml and llama3") {
    auto chatml = chat_template::builtin(chat_builtin::chatml);
    REQUIRE(chatml.ok());
    CHECK(chatml->render({{"system", "S"}, {"user", "U"}}).value() ==
          "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
    chat_params no_prompt;
    no_prompt.add_generation_prompt = false;
    CHECK(chatml->render({{"user", "U"}}, no_prompt).value() == "<|im_start|>user\nU<|im_end|>\n");
    auto llama = chat_template::builtin(chat_builtin::llama3);
    REQUIRE(llama.ok());
    chat_params p;
    p.bos_token = "<|begin_of_text|>";
    CHECK(llama->render({{"user", "  Hello! What is 2+2?  "}}, p).value() ==
          "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello! What is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    CHECK(std::string(chat_builtin_name(chat_builtin::deepseek_r1)) == "deepseek-r1");
}

TEST_CASE("chat_template: a file template is used as written, even when it names a built-in") {
    auto tpl = chat_template::from_source_or_builtin("{{ 'custom:' }}{% for m in messages %}{{ m.content }}{% endfor %}", chat_builtin::deepseek_r1);
    REQUIRE(tpl.ok());
    CHECK(!tpl->is_builtin());
    CHECK(tpl->render({{"user", "x"}}).value() == "custom:x");
    auto bad = chat_template::from_source("{% if %}");
    CHECK(!bad.ok());
    CHECK(bad.status().message().find("chat template: jinja: line 1") == 0);
    auto raises = chat_template::from_source("{{ raise_exception('no system role') }}");
    REQUIRE(raises.ok());
    auto r = raises->render({{"system", "x"}});
    CHECK(!r.ok());
    CHECK(r.status().message().find("no system role") != std::string::npos);
    // Explicit argument modes.
    auto args = chat_template::from_source("{% for c in messages[0].tool_calls %}{{ c.function.arguments is string }}{% endfor %}");
    REQUIRE(args.ok());
    std::vector<chat_message> m = {{"assistant", ""}};
    m[0].tool_calls.push_back({"id1", "f", R"({"a": 1})"});
    chat_params as_string;
    as_string.arguments = chat_arguments::string;
    CHECK(args->render(m, as_string).value() == "True");
    chat_params as_object;
    as_object.arguments = chat_arguments::object;
    CHECK(args->render(m, as_object).value() == "False");
}
