// tests/text/tokenizer_parity_test.cpp — every shared/tokenizers/*/cases.jsonl line: ids, ids with the
// default BOS/EOS rule, decoded text; chat.json ids. Prints parity counts per tokenizer.
#include <doctest/doctest.h>

#include <noggin/text/json.hpp>
#include <noggin/text/tokenizer_json.hpp>

#include <string>
#include <vector>

#include "support/shared_data.hpp"
#include "text/text_test_util.hpp"

using namespace noggin::text;
using noggin_test::ids_of;
using noggin_test::read_text;

namespace {

std::string show(const std::vector<token_id>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

void check_tokenizer(const std::string& name) {
    auto dir = noggin_test::shared_path("tokenizers/" + name);
    if (!dir) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    std::string tj = read_text(*dir + "/tokenizer.json");
    std::string cj = read_text(*dir + "/tokenizer_config.json");
    auto tok = tokenizer_from_json(tj, cj);
    INFO(name);
    REQUIRE_MESSAGE(tok.ok(), tok.status().message());
    std::string cases = read_text(*dir + "/cases.jsonl");
    size_t total = 0, ok_ids = 0, ok_special = 0, ok_decoded = 0, shown = 0;
    size_t start = 0;
    while (start < cases.size()) {
        size_t end = cases.find('\n', start);
        if (end == std::string::npos) end = cases.size();
        std::string_view line(cases.data() + start, end - start);
        start = end + 1;
        if (line.empty()) continue;
        auto c = json_parse(line);
        REQUIRE(c.ok());
        ++total;
        const std::string& text = c->get("text").as_string();
        encode_options plain;
        plain.parse_special = true;
        encode_options with;
        with.parse_special = true;
        with.add_special = true;
        auto a = tok->encode(text, plain);
        auto b = tok->encode(text, with);
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        std::vector<token_id> want = ids_of(c->get("ids"));
        std::vector<token_id> want_b = ids_of(c->get("ids_with_special"));
        bool good_a = *a == want, good_b = *b == want_b;
        ok_ids += good_a;
        ok_special += good_b;
        auto d = tok->decode(want);
        REQUIRE(d.ok());
        bool good_d = *d == c->get("decoded").as_string();
        ok_decoded += good_d;
        if ((!good_a || !good_b || !good_d) && shown < 5) {
            ++shown;
            MESSAGE(name << " case " << c->get("id").as_string() << " text " << json_write(c->get("text"))
                          << "\n  want " << show(want) << "\n  got  " << show(*a) << "\n  want_b " << show(want_b)
                          << "\n  got_b  " << show(*b) << "\n  decoded want " << json_write(c->get("decoded"))
                          << "\n  decoded got  " << json_write(json_value::make_string(*d)));
        }
    }
    MESSAGE(name << ": ids " << ok_ids << "/" << total << ", ids_with_special " << ok_special << "/" << total
                 << ", decoded " << ok_decoded << "/" << total);
    CHECK(ok_ids == total);
    CHECK(ok_special == total);
    CHECK(ok_decoded == total);
    CHECK(total > 200);

    // chat.json: ids of each rendered conversation.
    std::string chat = read_text(*dir + "/chat.json");
    auto cd = json_parse(chat);
    REQUIRE(cd.ok());
    size_t chats = 0, chat_ok = 0;
    auto visit = [&](const json_value& conv) {
        if (!conv.get("rendered").is_string() || !conv.get("ids").is_array()) return;
        ++chats;
        encode_options o;
        o.parse_special = true;
        auto ids = tok->encode(conv.get("rendered").as_string(), o);
        REQUIRE(ids.ok());
        if (*ids == ids_of(conv.get("ids")))
            ++chat_ok;
        else
            MESSAGE(name << " chat mismatch:\n  want " << show(ids_of(conv.get("ids"))) << "\n  got  " << show(*ids));
    };
    const json_value& root = *cd;
    const json_value& list = root.is_array() ? root : root.get("conversations");
    for (size_t i = 0; i < list.size(); ++i) visit(list[i]);
    if (root.is_object())
        for (size_t i = 0; i < root.size(); ++i) visit(root[i]);
    MESSAGE(name << ": chat ids " << chat_ok << "/" << chats);
    CHECK(chat_ok == chats);
}

}  // namespace

TEST_CASE("tokenizer parity: deepseek-r1-distill-qwen") { check_tokenizer("deepseek-r1-distill-qwen"); }
TEST_CASE("tokenizer parity: qwen2.5") { check_tokenizer("qwen2.5"); }
TEST_CASE("tokenizer parity: qwen3") { check_tokenizer("qwen3"); }
TEST_CASE("tokenizer parity: llama3") { check_tokenizer("llama3"); }
TEST_CASE("tokenizer parity: deepseek-v3") { check_tokenizer("deepseek-v3"); }
TEST_CASE("tokenizer parity: llama2") { check_tokenizer("llama2"); }
TEST_CASE("tokenizer parity: mistral-7b-v0.1") { check_tokenizer("mistral-7b-v0.1"); }
