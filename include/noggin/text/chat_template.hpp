// noggin/text/chat_template.hpp — turn a conversation into the prompt text a model was trained on.
//
// A model file's chat template (GGUF `tokenizer.chat_template`, tokenizer_config.json
// `chat_template`) is always interpreted from its own Jinja text with jinja.hpp — never recognised
// by name or hash and swapped for a built-in. The built-in templates below (deepseek-r1, chatml,
// llama3, Jinja text written for noggin) are used only when a file has none.
//
//     using namespace noggin::text;
//     auto tpl = chat_template::from_source_or_builtin(gguf_template_text, chat_builtin::deepseek_r1);
//     if (!tpl.ok()) return tpl.status();
//     std::vector<chat_message> msgs = {{"user", "What is 2+2?"}};
//     chat_params p;
//     p.bos_token = "<｜begin▁of▁sentence｜>";
//     p.extra.push_back({"enable_thinking", jinja::value(true)});   // Qwen3's switch
//     noggin::result<std::string> prompt = tpl->render(msgs, p);
//     // "<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜><think>\n"
//
// Messages become what transformers' apply_chat_template passes: role, content (None when
// `content_is_none`), reasoning_content (only when set), tool_calls ([{type, id, function: {name,
// arguments}}]), tool_call_id, name; the context also holds add_generation_prompt, bos_token and
// eos_token (only when non-empty, like a special_tokens_map), tools (None when empty) and `extra`.
//
// Sections: built-in templates · chat_tool_call/chat_message/chat_params · chat_template
//           (from_source, builtin, from_source_or_builtin, from_tokenizer_config, render) ·
//           to_jinja (message conversion)
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "jinja.hpp"
#include "json.hpp"

namespace noggin::text {

// =============================================================================================
// built-in templates — used only when a model file carries no template
// =============================================================================================
enum class chat_builtin {
    deepseek_r1,  // DeepSeek-R1 and its distills: <｜User｜>/<｜Assistant｜>, past reasoning dropped, prompt ends "<think>\n"
    chatml,       // <|im_start|>role\ncontent<|im_end|>\n (Qwen and many others)
    llama3,       // <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
};

inline const char* chat_builtin_name(chat_builtin b) {
    switch (b) {
        case chat_builtin::deepseek_r1: return "deepseek-r1";
        case chat_builtin::chatml: return "chatml";
        case chat_builtin::llama3: return "llama3";
    }
    return "?";
}

// The Jinja text of a built-in template.
inline std::string_view chat_builtin_source(chat_builtin b) {
    switch (b) {
        case chat_builtin::deepseek_r1:
            return R"JINJA({%- set ns = namespace(system='', in_tools=false) -%}
{%- for m in messages if m.role == 'system' -%}
    {%- set ns.system = m.content -%}
{%- endfor -%}
{{- bos_token ~ ns.system -}}
{%- for m in messages -%}
    {%- if m.role == 'user' -%}
        {%- set ns.in_tools = false -%}
        {{- '<｜User｜>' ~ m.content -}}
    {%- elif m.role == 'assistant' -%}
        {%- set content = m.content if m.content is string else '' -%}
        {%- if '</think>' in content -%}
            {%- set content = content.split('</think>')[-1] -%}
        {%- endif -%}
        {%- if ns.in_tools -%}
            {{- '<｜tool▁outputs▁end｜>' ~ content -}}
            {%- set ns.in_tools = false -%}
        {%- else -%}
            {{- '<｜Assistant｜>' ~ content -}}
        {%- endif -%}
        {%- if m.tool_calls -%}
            {{- '<｜tool▁calls▁begin｜>' -}}
            {%- for call in m.tool_calls -%}
                {%- set f = call.function if call.function is defined else call -%}
                {{- ('' if loop.first else '\n') ~ '<｜tool▁call▁begin｜>function<｜tool▁sep｜>' ~ f.name ~ '\n```json\n' -}}
                {{- (f.arguments if f.arguments is string else f.arguments | tojson) ~ '\n```<｜tool▁call▁end｜>' -}}
            {%- endfor -%}
            {{- '<｜tool▁calls▁end｜>' -}}
        {%- endif -%}
        {{- '<｜end▁of▁sentence｜>' -}}
    {%- elif m.role == 'tool' -%}
        {{- ('\n' if ns.in_tools else '<｜tool▁outputs▁begin｜>') ~ '<｜tool▁output▁begin｜>' ~ m.content ~ '<｜tool▁output▁end｜>' -}}
        {%- set ns.in_tools = true -%}
    {%- endif -%}
{%- endfor -%}
{%- if ns.in_tools -%}
    {{- '<｜tool▁outputs▁end｜>' -}}
{%- elif add_generation_prompt -%}
    {{- '<｜Assistant｜><think>\n' -}}
{%- endif -%})JINJA";
        case chat_builtin::chatml:
            return R"JINJA({%- for m in messages -%}
    {{- '<|im_start|>' ~ m.role ~ '\n' ~ (m.content if m.content is string else '') ~ '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|im_start|>assistant\n' -}}
{%- endif -%})JINJA";
        case chat_builtin::llama3:
            return R"JINJA({{- bos_token -}}
{%- for m in messages -%}
    {{- '<|start_header_id|>' ~ m.role ~ '<|end_header_id|>\n\n' ~ ((m.content if m.content is string else '') | trim) ~ '<|eot_id|>' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
{%- endif -%})JINJA";
    }
    return {};
}

// =============================================================================================
// messages and parameters
// =============================================================================================

// One function call an assistant turn made.
struct chat_tool_call {
    std::string id;         // call id, e.g. "call_0"; passed only when non-empty
    std::string name;       // function name
    std::string arguments;  // the arguments as JSON text, e.g. {"city": "Paris"}
};

// One turn of a conversation.
struct chat_message {
    std::string role;                       // "system", "user", "assistant" or "tool"
    std::string content;                    // the text
    bool content_is_none = false;           // pass content as None (assistant turns that only call tools); default false
    std::string reasoning_content;          // thoughts kept apart from content; passed only when non-empty
    std::vector<chat_tool_call> tool_calls; // calls an assistant turn made; passed only when non-empty
    std::string tool_call_id;               // for role "tool": the call answered; passed only when non-empty
    std::string name;                       // for role "tool": the function name; passed only when non-empty

    chat_message() = default;
    chat_message(std::string r, std::string c) : role(std::move(r)), content(std::move(c)) {}
};

// How tool-call arguments reach the template. Templates disagree: Qwen/Llama apply `| tojson`
// (they want an object), DeepSeek concatenates (it wants the JSON text).
enum class chat_arguments {
    automatic,  // an object; if rendering fails that way, the JSON text (default)
    object,     // the parsed JSON object (text that is not JSON is passed as a string)
    string,     // the JSON text as a string
};

struct chat_params {
    bool add_generation_prompt = true;          // end with the assistant's opening; default true
    std::string bos_token;                      // overrides the template's own (from the tokenizer config); "" = use that
    std::string eos_token;                      // likewise
    jinja::value tools;                         // list of tool schemas (objects); undefined/none/empty = no tools
    std::vector<jinja::value::entry> extra;     // more variables, e.g. {"enable_thinking", false}; default none
    chat_arguments arguments = chat_arguments::automatic;  // see chat_arguments; default automatic
};

// Convert messages to the list of dicts templates expect (see the header comment).
inline jinja::value to_jinja(const std::vector<chat_message>& messages, chat_arguments args = chat_arguments::object) {
    jinja::value list = jinja::value::array();
    for (const chat_message& m : messages) {
        jinja::value msg = jinja::value::object();
        msg.set("role", jinja::value(m.role));
        msg.set("content", m.content_is_none ? jinja::value::none() : jinja::value(m.content));
        if (!m.reasoning_content.empty()) msg.set("reasoning_content", jinja::value(m.reasoning_content));
        if (!m.tool_calls.empty()) {
            jinja::value calls = jinja::value::array();
            for (const chat_tool_call& c : m.tool_calls) {
                jinja::value fn = jinja::value::object();
                fn.set("name", jinja::value(c.name));
                jinja::value a(c.arguments);
                if (args != chat_arguments::string) {
                    result<json_value> parsed = json_parse(c.arguments);
                    if (parsed.ok()) {
                        result<jinja::value> v = jinja::from_json(parsed.value());
                        if (v.ok()) a = std::move(v.value());
                    }
                }
                fn.set("arguments", std::move(a));
                jinja::value call = jinja::value::object();
                call.set("type", jinja::value("function"));
                if (!c.id.empty()) call.set("id", jinja::value(c.id));
                call.set("function", std::move(fn));
                calls.push_back(std::move(call));
            }
            msg.set("tool_calls", std::move(calls));
        }
        if (!m.tool_call_id.empty()) msg.set("tool_call_id", jinja::value(m.tool_call_id));
        if (!m.name.empty()) msg.set("name", jinja::value(m.name));
        list.push_back(std::move(msg));
    }
    return list;
}

// =============================================================================================
// chat_template
// =============================================================================================
class chat_template {
public:
    chat_template() = default;

    // A template from Jinja text (a model file's). Errors as jinja::parse.
    static result<chat_template> from_source(std::string_view jinja_text, const jinja::options& opt = {}) {
        result<jinja::compiled_template> t = jinja::parse(jinja_text, opt);
        if (!t.ok()) return status(t.status()).with_context("chat template");
        chat_template c;
        c.tpl_ = std::move(t.value());
        return c;
    }

    // A built-in template.
    static result<chat_template> builtin(chat_builtin b, const jinja::options& opt = {}) {
        result<chat_template> c = from_source(chat_builtin_source(b), opt);
        if (c.ok()) c->builtin_ = true;
        return c;
    }

    // The file's template when it has one (non-empty text), else the built-in `fallback`.
    static result<chat_template> from_source_or_builtin(std::string_view jinja_text, chat_builtin fallback,
                                                        const jinja::options& opt = {}) {
        if (jinja_text.empty()) return builtin(fallback, opt);
        return from_source(jinja_text, opt);
    }

    // From a parsed tokenizer_config.json: `chat_template` as a string, or a list of {name,
    // template} (the "tool_use" one when `want_tool_use` and present, else "default"); bos_token and
    // eos_token (strings or {"content": ...}) become this template's defaults. No template in the
    // file → the built-in `fallback`.
    static result<chat_template> from_tokenizer_config(const json_value& config, chat_builtin fallback,
                                                       bool want_tool_use = false, const jinja::options& opt = {}) {
        const json_value& t = config.get("chat_template");
        std::string text;
        if (t.is_string()) {
            text = t.as_string();
        } else if (t.is_array()) {
            std::string def, tool;
            for (const json_value& e : t.items()) {
                if (e.get("name").as_string() == "default") def = e.get("template").as_string();
                if (e.get("name").as_string() == "tool_use") tool = e.get("template").as_string();
            }
            text = (want_tool_use && !tool.empty()) ? tool : def;
        }
        result<chat_template> c = from_source_or_builtin(text, fallback, opt);
        if (!c.ok()) return c;
        auto token = [](const json_value& v) { return v.is_string() ? v.as_string() : v.get("content").as_string(); };
        c->bos_ = token(config.get("bos_token"));
        c->eos_ = token(config.get("eos_token"));
        return c;
    }

    // Render a conversation. Errors: whatever the template's Jinja raises (invalid_argument,
    // unsupported, limit_exceeded), with line and column.
    result<std::string> render(const std::vector<chat_message>& messages, const chat_params& p = {}) const {
        bool has_calls = false;
        for (const chat_message& m : messages) has_calls = has_calls || !m.tool_calls.empty();
        chat_arguments first = p.arguments == chat_arguments::string ? chat_arguments::string : chat_arguments::object;
        result<std::string> r = render_value(to_jinja(messages, first), p);
        if (r.ok() || p.arguments != chat_arguments::automatic || !has_calls) return r;
        result<std::string> again = render_value(to_jinja(messages, chat_arguments::string), p);
        return again.ok() ? again : r;
    }

    // Render messages given as a Jinja value (e.g. from_json of an OpenAI-style message list).
    result<std::string> render_value(const jinja::value& messages, const chat_params& p = {}) const {
        jinja::value ctx = jinja::value::object();
        ctx.set("messages", messages);
        ctx.set("add_generation_prompt", jinja::value(p.add_generation_prompt));
        const std::string& bos = p.bos_token.empty() ? bos_ : p.bos_token;
        const std::string& eos = p.eos_token.empty() ? eos_ : p.eos_token;
        if (!bos.empty()) ctx.set("bos_token", jinja::value(bos));
        if (!eos.empty()) ctx.set("eos_token", jinja::value(eos));
        bool tools = (p.tools.is_array() || p.tools.is_object()) && p.tools.size() > 0;
        ctx.set("tools", tools ? p.tools : jinja::value::none());
        for (const jinja::value::entry& e : p.extra) ctx.set(e.first, e.second);
        return tpl_.render(ctx);
    }

    // Render messages given as JSON text (an array of message objects).
    result<std::string> render_json(std::string_view messages_json, const chat_params& p = {}) const {
        result<json_value> j = json_parse(messages_json);
        if (!j.ok()) return status(j.status()).with_context("chat messages");
        result<jinja::value> v = jinja::from_json(j.value(), tpl_.opts().limits.max_value_depth);
        if (!v.ok()) return v.status();
        return render_value(v.value(), p);
    }

    bool is_builtin() const { return builtin_; }                       // true when no file template was used
    const std::string& source() const { return tpl_.source(); }       // the Jinja text
    const std::string& bos_token() const { return bos_; }             // default bos_token (tokenizer config)
    const std::string& eos_token() const { return eos_; }             // default eos_token (tokenizer config)
    void set_special_tokens(std::string bos, std::string eos) {       // e.g. from GGUF token ids
        bos_ = std::move(bos);
        eos_ = std::move(eos);
    }

private:
    jinja::compiled_template tpl_;
    std::string bos_, eos_;
    bool builtin_ = false;
};

}  // namespace noggin::text
