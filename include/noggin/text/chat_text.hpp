// noggin/text/chat_text.hpp — a model's tokenizer and chat template, loaded together in one call.
//
// Every program that talks to a model needs both: the tokenizer (ids ↔ text) and the chat template (messages →
// prompt text). They come from a GGUF file's metadata or from a Hugging Face folder's tokenizer.json and
// tokenizer_config.json. Either way the template's bos/eos tokens default to the tokenizer's special tokens,
// so `chat.render(messages)` needs no chat_params for them.
//
//     noggin::result<noggin::model::model> m = noggin::model::model::open("model.gguf");
//     noggin::result<noggin::text::chat_text> t = noggin::text::chat_text_from_gguf(m->file());
//     auto prompt = t->chat.render({{"user", "What is 4821+937?"}});
//     noggin::text::encode_options enc;  enc.parse_special = true;
//     auto ids = t->tokenizer.encode(prompt.value(), enc);
//
// Sections: chat_text · from GGUF · from tokenizer.json + tokenizer_config.json
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "../core/status.hpp"
#include "../formats/gguf.hpp"
#include "chat_template.hpp"
#include "json.hpp"
#include "tokenizer_gguf.hpp"
#include "tokenizer_json.hpp"

namespace noggin::text {

// --- chat_text -----------------------------------------------------------------------------------------------

struct chat_text {
    text::tokenizer tokenizer;  // ids <-> text
    chat_template chat;         // messages -> prompt; bos/eos default to the tokenizer's special tokens
};

namespace chat_text_detail {
// The template's bos/eos default to the tokenizer's special tokens when its source names none.
inline void default_special_tokens(chat_text& t) {
    std::string bos = t.chat.bos_token(), eos = t.chat.eos_token();
    if (bos.empty() && t.tokenizer.bos_id() >= 0) bos = std::string(t.tokenizer.token_text(t.tokenizer.bos_id()));
    if (eos.empty() && t.tokenizer.eos_id() >= 0) eos = std::string(t.tokenizer.token_text(t.tokenizer.eos_id()));
    t.chat.set_special_tokens(std::move(bos), std::move(eos));
}
}  // namespace chat_text_detail

// --- from GGUF -----------------------------------------------------------------------------------------------

// tokenizer.ggml.* and tokenizer.chat_template (the built-in `fallback` when the file has no template, or
// `template_override` when not empty).
inline result<chat_text> chat_text_from_gguf(const gguf::file& f, chat_builtin fallback = chat_builtin::deepseek_r1,
                                             std::string_view template_override = std::string_view()) {
    result<text::tokenizer> tok = tokenizer_from_gguf(f);
    if (!tok.ok()) return tok.status();
    std::string_view source = template_override;
    if (source.empty()) {
        const result<std::string_view> stored = f.get_string("tokenizer.chat_template");
        if (stored.ok()) source = stored.value();
    }
    result<chat_template> chat = chat_template::from_source_or_builtin(source, fallback);
    if (!chat.ok()) return status(chat.status()).with_context("chat template");
    chat_text out{std::move(tok.value()), std::move(chat.value())};
    chat_text_detail::default_special_tokens(out);
    return out;
}

// --- from tokenizer.json + tokenizer_config.json -------------------------------------------------------------

// From the two files' text; `tokenizer_config_json` may be empty (then the template is `fallback`).
inline result<chat_text> chat_text_from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                                             chat_builtin fallback = chat_builtin::deepseek_r1) {
    result<text::tokenizer> tok = tokenizer_from_json(tokenizer_json, tokenizer_config_json);
    if (!tok.ok()) return tok.status();
    json_value cfg = json_value::make_object();
    if (!tokenizer_config_json.empty()) {
        result<json_value> c = json_parse(tokenizer_config_json);
        if (!c.ok()) return status(c.status()).with_context("tokenizer_config.json");
        cfg = std::move(c.value());
    }
    result<chat_template> chat = chat_template::from_tokenizer_config(cfg, fallback);
    if (!chat.ok()) return status(chat.status()).with_context("tokenizer_config.json");
    chat_text out{std::move(tok.value()), std::move(chat.value())};
    chat_text_detail::default_special_tokens(out);
    return out;
}

}  // namespace noggin::text
