// tests/text/tokenizer_unit_test.cpp — NFC, pre-tokenizer splits, a tiny hand-made BPE, hostile
// tokenizer.json inputs, streaming detokenizer across multi-byte splits, the streaming tokenizer.json
// walk against a json_value tree.
#include <doctest/doctest.h>

#include <noggin/text/tokenizer_json.hpp>
#include <noggin/text/unicode.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "support/shared_data.hpp"

using namespace noggin::text;
using noggin::status_code;

TEST_CASE("unicode: NFC composes, reorders, handles Hangul and exclusions") {
    using unicode::nfc;
    CHECK(nfc("e\xCC\x81") == "\xC3\xA9");                        // e + acute → é
    CHECK(nfc("\xC3\xA9") == "\xC3\xA9");                         // already NFC
    CHECK(nfc("A\xCC\x8A") == "\xC3\x85");                        // A + ring → Å
    CHECK(nfc("\xE2\x84\xAB") == "\xC3\x85");                     // U+212B ANGSTROM SIGN (singleton) → Å
    CHECK(nfc("\xE1\x84\x80\xE1\x85\xA1") == "\xEA\xB0\x80");     // Hangul L+V → 가
    CHECK(nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8") == "\xEA\xB0\x81");  // L+V+T → 각
    CHECK(nfc("\xEA\xB0\x80\xE1\x86\xA8") == "\xEA\xB0\x81");     // LV + T → LVT
    // Reordering: q + dot below (220) after dot above (230) → sorted, then composed where possible.
    CHECK(nfc("q\xCC\x87\xCC\xA3") == "q\xCC\xA3\xCC\x87");
    CHECK(nfc("s\xCC\x87\xCC\xA3") == "\xE1\xB9\xA9");             // s + dot above + dot below → ṩ
    CHECK(nfc("\xE0\xA5\x98") == "\xE0\xA4\x95\xE0\xA4\xBC");     // U+0958 is a composition exclusion
    CHECK(nfc("abc \xE4\xB8\xAD") == "abc \xE4\xB8\xAD");
    CHECK(nfc("\xFF" "e\xCC\x81") == "\xFF\xC3\xA9");             // invalid bytes pass through
    CHECK(unicode::is_nfc_quick("plain ascii"));
    CHECK(!unicode::is_nfc_quick("e\xCC\x81"));
}

TEST_CASE("unicode: categories, whitespace, lossy UTF-8") {
    using namespace unicode;
    CHECK(category_of('a') == category::letter);
    CHECK(category_of('7') == category::number);
    CHECK(category_of(0x4E2D) == category::letter);
    CHECK(category_of(0x0301) == category::mark);
    CHECK(category_of(0x00BD) == category::number);  // ½
    CHECK(category_of('!') == category::punctuation);
    CHECK(category_of('$') == category::symbol);
    CHECK(category_of(0x1F600) == category::symbol);
    CHECK(is_whitespace(' '));
    CHECK(is_whitespace(0x3000));
    CHECK(is_whitespace(0x85));
    CHECK(!is_whitespace(0x200B));  // zero-width space is Cf, not \s
    CHECK(!is_whitespace(0x1C));
    CHECK(utf8_lossy("a\xE4\xB8") == "a\xEF\xBF\xBD");
    CHECK(utf8_lossy("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
    CHECK(utf8_lossy("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(utf8_incomplete_tail("ab\xE4\xB8") == 2);
    CHECK(utf8_incomplete_tail("ab\xE4\xB8\xAD") == 0);
    CHECK(utf8_incomplete_tail("\xF0\x9F") == 2);
    CHECK(utf8_incomplete_tail("\xFF") == 0);
}

namespace {
std::vector<std::string> split(pre_tokenizer kind, const std::string& s) {
    std::vector<uint32_t> cps;
    unicode::decode_utf8(s, cps);
    std::vector<uint8_t> fl;
    for (uint32_t c : cps) fl.push_back(codepoint_flags(c));
    std::vector<piece> ps;
    pre_tokenize(kind, cps.data(), fl.data(), uint32_t(cps.size()), ps);
    std::vector<std::string> out;
    for (const piece& p : ps) {
        std::string w;
        for (uint32_t i = p.begin; i < p.end; ++i) unicode::append_utf8(w, cps[i]);
        out.push_back(w);
    }
    return out;
}
}  // namespace

TEST_CASE("pre-tokenizers split like the HF regexes") {
    using V = std::vector<std::string>;
    CHECK(split(pre_tokenizer::qwen2, "Hello world") == V{"Hello", " world"});
    CHECK(split(pre_tokenizer::qwen2, "I'M 12  x\n\n y") == V{"I", "'M", " ", "1", "2", " ", " x", "\n\n", " y"});
    CHECK(split(pre_tokenizer::llama3, "12345 ok") == V{"123", "45", " ok"});
    CHECK(split(pre_tokenizer::qwen2, "a  ") == V{"a", "  "});
    CHECK(split(pre_tokenizer::qwen2, "x  !!\n") == V{"x", " ", " !!\n"});
    CHECK(split(pre_tokenizer::gpt2, "it's  42") == V{"it", "'s", " ", " 42"});
    CHECK(split(pre_tokenizer::gpt2, "It'S") == V{"It", "'", "S"});
    CHECK(split(pre_tokenizer::deepseek_v3, "abc12345中文x") == V{"abc", "123", "45", "中文", "x"});
    CHECK(split(pre_tokenizer::deepseek_v3, "foo.bar") == V{"foo", ".bar"});
}

namespace {
// A tiny byte-level tokenizer.json: bytes + merges "a b" → "ab", "ab c" → "abc".
std::string tiny_json(const std::string& merges_json, const std::string& extra_vocab = "",
                      const std::string& added = "[]") {
    std::string vocab = "{";
    // All 256 mapped byte characters get ids 0..255.
    for (int b = 0; b < 256; ++b) {
        char c = char(b);
        std::string mapped = tok_detail::map_bytes(std::string_view(&c, 1));
        if (b) vocab += ",";
        vocab += json_write(json_value::make_string(mapped)) + ":" + std::to_string(b);
    }
    vocab += ",\"ab\":256,\"abc\":257,\"\xC4\xA0" "a\":258" + extra_vocab + "}";
    return std::string(R"({"normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},)") +
           R"("added_tokens":)" + added + R"(,"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":)" + vocab +
           R"(,"merges":)" + merges_json + "}}";
}
}  // namespace

TEST_CASE("byte-level BPE on a hand-made vocabulary") {
    std::string added = R"([{"id":259,"content":"<|end|>","special":true},{"id":260,"content":"<x>","special":false}])";
    auto tok = tokenizer_from_json(tiny_json(R"(["a b","ab c",["Ġ","a"]])", "", added),
                                   R"({"eos_token":"<|end|>","add_eos_token":true})");
    REQUIRE_MESSAGE(tok.ok(), tok.status().message());
    CHECK(tok->vocab_size() == 261);
    CHECK(tok->eos_id() == 259);
    auto ids = tok->encode("abc ab a");
    REQUIRE(ids.ok());
    CHECK(*ids == std::vector<token_id>{257, ' ', 256, 258});
    encode_options sp;
    sp.parse_special = true;
    CHECK(*tok->encode("ab<|end|>c", sp) == std::vector<token_id>{256, 259, 'c'});
    // Without special parsing the special token is plain text; the non-special added token still matches.
    CHECK(*tok->encode("<x><|end|>") == std::vector<token_id>{260, '<', '|', 'e', 'n', 'd', '|', '>'});
    sp.add_special = true;
    CHECK(*tok->encode("ab", sp) == std::vector<token_id>{256, 259});
    auto text = tok->decode(std::vector<token_id>{257, 258, 259});
    REQUIRE(text.ok());
    CHECK(*text == "abc a<|end|>");
    decode_options skip;
    skip.skip_special = true;
    CHECK(*tok->decode(std::vector<token_id>{257, 259}, skip) == "abc");
    CHECK(tok->decode(std::vector<token_id>{9999}).status().code() == status_code::out_of_range);
}

TEST_CASE("streaming detokenizer never splits a UTF-8 sequence") {
    auto tok = tokenizer_from_json(tiny_json(R"(["a b"])"));
    REQUIRE(tok.ok());
    // "中" = E4 B8 AD, "😀" = F0 9F 98 80: feed byte tokens one at a time.
    std::vector<token_id> ids = {'a', 0xE4, 0xB8, 0xAD, 0xF0, 0x9F, 0x98, 0x80, 'b'};
    detokenizer d(*tok);
    std::string out;
    std::vector<size_t> sizes;
    for (token_id id : ids) {
        REQUIRE(d.push(id, out).ok());
        sizes.push_back(out.size());
    }
    CHECK(sizes == std::vector<size_t>{1, 1, 1, 4, 4, 4, 4, 8, 9});
    d.flush(out);
    CHECK(out == "a\xE4\xB8\xAD\xF0\x9F\x98\x80" "b");
    // An incomplete tail becomes U+FFFD at flush; invalid bytes are replaced at once.
    detokenizer d2(*tok);
    std::string o2;
    REQUIRE(d2.push(0xE4, o2).ok());
    CHECK(o2.empty());
    CHECK(d2.pending_bytes() == 1);
    d2.flush(o2);
    CHECK(o2 == "\xEF\xBF\xBD");
    detokenizer d3(*tok);
    std::string o3;
    REQUIRE(d3.push(0xFF, o3).ok());
    CHECK(o3 == "\xEF\xBF\xBD");
    CHECK(d3.push(-1, o3).code() == status_code::out_of_range);
}

TEST_CASE("hostile tokenizer.json gives a status error") {
    struct bad_case {
        const char* what;
        std::string json;
        status_code code;
    };
    std::vector<bad_case> cases = {
        {"not json", "{", status_code::format_error},
        {"not an object", "[]", status_code::format_error},
        {"no model", R"({"pre_tokenizer":null})", status_code::format_error},
        {"model not BPE", R"({"model":{"type":"Unigram","vocab":[]}})", status_code::unsupported},
        {"vocab wrong type", R"({"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":[1,2],"merges":[]}})", status_code::format_error},
        {"vocab id negative", R"({"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":-1},"merges":[]}})", status_code::format_error},
        {"vocab id huge", R"({"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":99999999999},"merges":[]}})", status_code::format_error},
        {"vocab id string", R"({"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":"1"},"merges":[]}})", status_code::format_error},
        {"merges missing", R"({"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0}}})", status_code::format_error},
        {"missing byte tokens", R"({"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})", status_code::format_error},
        {"unsupported normalizer", R"({"normalizer":{"type":"NFKC"},"model":{"type":"BPE","vocab":{},"merges":[]}})", status_code::unsupported},
        {"unsupported pre", R"({"pre_tokenizer":{"type":"Whitespace"},"model":{"type":"BPE","vocab":{},"merges":[]}})", status_code::unsupported},
        {"unknown regex", R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"\\w+"},"behavior":"Isolated"},"model":{"type":"BPE","vocab":{},"merges":[]}})", status_code::unsupported},
        {"added token bad", R"({"decoder":{"type":"ByteLevel"},"added_tokens":[{"id":"x","content":"a"}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})", status_code::format_error},
        {"deep nesting", std::string(5000, '[') + std::string(5000, ']'), status_code::limit_exceeded},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        auto t = tokenizer_from_json(c.json);
        CHECK(!t.ok());
        CHECK(t.status().code() == c.code);
        CHECK(!t.status().message().empty());
    }
    auto unk_merge = tokenizer_from_json(tiny_json(R"(["a zz"])"));
    CHECK(unk_merge.status().code() == status_code::format_error);
    CHECK(unk_merge.status().message().find("not in the vocabulary") != std::string::npos);
    auto bad_merge = tokenizer_from_json(tiny_json(R"(["abc"])"));
    CHECK(bad_merge.status().code() == status_code::format_error);
    auto merge_result_missing = tokenizer_from_json(tiny_json(R"(["b c"])"));
    CHECK(merge_result_missing.status().code() == status_code::format_error);
    auto bad_config = tokenizer_from_json(tiny_json("[]"), R"({"add_bos_token":"yes"})");
    CHECK(bad_config.status().code() == status_code::format_error);
    auto dup_id = tokenizer_from_json(tiny_json("[]", ",\"zz\":5"));
    CHECK(dup_id.status().code() == status_code::format_error);
}

TEST_CASE("huge inputs encode without trouble") {
    auto tok = tokenizer_from_json(tiny_json(R"(["a b","ab c",["Ġ","a"]])"));
    REQUIRE(tok.ok());
    std::string big(1 << 20, 'a');
    for (size_t i = 0; i < big.size(); i += 7) big[i] = ' ';
    auto ids = tok->encode(big);
    REQUIRE(ids.ok());
    CHECK(!ids->empty());
    auto back = tok->decode(*ids);
    REQUIRE(back.ok());
    CHECK(*back == big);
    std::string one_word(200000, 'x');
    auto w = tok->encode(one_word);
    REQUIRE(w.ok());
    CHECK(w->size() == one_word.size());
}

namespace {
// The vocabulary and merges as a json_value tree gives them (last duplicate key wins), to check
// the streaming walk of vocab_spec_from_json against.
void tree_vocab(const std::string& text, std::vector<std::string>& tokens,
                std::vector<std::pair<std::string, std::string>>& merges) {
    auto doc = json_parse(text);
    REQUIRE(doc.ok());
    const json_value& model = doc->get("model");
    const json_value& vocab = model.get("vocab");
    size_t n = 0;
    for (size_t i = 0; i < vocab.size(); ++i) n = std::max(n, size_t(vocab[i].as_int()) + 1);
    const json_value& added = doc->get("added_tokens");
    for (size_t i = 0; i < added.size(); ++i) n = std::max(n, size_t(added[i].get("id").as_int()) + 1);
    tokens.assign(n, std::string());
    for (size_t i = 0; i < vocab.size(); ++i) tokens[size_t(vocab[i].as_int())] = vocab.key(i);
    for (size_t i = 0; i < added.size(); ++i) tokens[size_t(added[i].get("id").as_int())] = added[i].get("content").as_string();
    merges.clear();
    const json_value& m = model.get("merges");
    for (size_t i = 0; i < m.size(); ++i) {
        if (m[i].is_string()) {
            const std::string& s = m[i].as_string();
            merges.emplace_back(s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1));
        } else {
            merges.emplace_back(m[i][0].as_string(), m[i][1].as_string());
        }
    }
}

void check_walk_matches_tree(const std::string& text) {
    std::vector<std::string> tokens;
    std::vector<std::pair<std::string, std::string>> merges;
    tree_vocab(text, tokens, merges);
    auto spec = vocab_spec_from_json(text);
    REQUIRE_MESSAGE(spec.ok(), spec.status().message());
    CHECK(spec->tokens == tokens);
    CHECK(spec->merges == merges);
}
}  // namespace

TEST_CASE("tokenizer.json: the streaming walk reads vocab and merges as the tree does") {
    // Escaped keys and merge parts (decoded, not views of the text), whitespace between tokens,
    // both merge forms.
    std::string esc = tiny_json(" [ \"a b\" , [ \"ab\" , \"c\" ] , \"\\u0120 a\" ] ", ", \"q\\\"\" : 261 , \"\\\\\\n\":262");
    check_walk_matches_tree(esc);
    auto spec = vocab_spec_from_json(esc);
    REQUIRE(spec.ok());
    CHECK(spec->tokens[261] == "q\"");
    CHECK(spec->tokens[262] == "\\\n");
    CHECK(spec->merges[2] == std::make_pair(std::string("\xC4\xA0"), std::string("a")));
    // A repeated "vocab" / "merges" / "model" member: the last one counts, as in a tree lookup.
    std::string twice = tiny_json(R"(["a b"])");
    twice.insert(twice.size() - 2, R"(,"merges":[["a","b"],["ab","c"]])");
    check_walk_matches_tree(twice);
    CHECK(vocab_spec_from_json(twice)->merges.size() == 2);
    std::string model_twice = tiny_json(R"(["a b"])");
    model_twice.insert(model_twice.size() - 1, R"(,"model":5)");
    CHECK(tokenizer_from_json(model_twice).status().code() == status_code::format_error);
    std::string vocab_then_array = tiny_json(R"(["a b"])");
    vocab_then_array.insert(vocab_then_array.size() - 2, R"(,"vocab":[1])");
    CHECK(tokenizer_from_json(vocab_then_array).status().message().find("model.vocab is missing or not an object") !=
          std::string::npos);
    // Merge shapes the tree loader refused are still refused, naming the index.
    auto three = tokenizer_from_json(tiny_json(R"(["a b",["a","b","c"]])"));
    CHECK(three.status().message().find("merges[1]") != std::string::npos);
    auto num = tokenizer_from_json(tiny_json(R"(["a b",[1,"b"]])"));
    CHECK(num.status().message().find("merges[1]") != std::string::npos);
    auto spaces = tokenizer_from_json(tiny_json(R"(["a b","a b c"])"));
    CHECK(spaces.status().message().find("merges[1] is not two tokens") != std::string::npos);
    // A JSON syntax error anywhere wins over a semantic one found earlier in the text.
    auto late = tokenizer_from_json(tiny_json(R"(["abc"])") + " x");
    CHECK(late.status().message().find("json:") != std::string::npos);
    auto bad_id_then_syntax = tokenizer_from_json(R"({"model":{"vocab":{"a":-1},"merges":[)");
    CHECK(bad_id_then_syntax.status().message().find("json:") != std::string::npos);
    // Strings in vocab/merges are still validated as UTF-8 and capped.
    CHECK(!tokenizer_from_json(tiny_json(R"(["a b"])", ",\"\xC0\xAF\":270")).ok());
    CHECK(!tokenizer_from_json(tiny_json("[\"a\xFF b\"]")).ok());

    // The real R1 tokenizer.json, when the shared data is present.
    if (auto p = noggin_test::shared_path("tokenizers/deepseek-r1-distill-qwen/tokenizer.json")) {
        std::vector<unsigned char> b = noggin_test::read_file_bytes(*p);
        check_walk_matches_tree(std::string(b.begin(), b.end()));
    }
}

TEST_CASE("the per-call word cache (grown past its first size) gives the ids of uncached encodes") {
    auto tok = tokenizer_from_json(tiny_json(R"(["a b","ab c",["Ġ","a"]])"));
    REQUIRE(tok.ok());
    // 3000 distinct words, each seen twice: the cache rehashes several times and then hits.
    std::string text;
    std::vector<token_id> expect;
    for (int rep = 0; rep < 2; ++rep) {
        for (int i = 0; i < 3000; ++i) {
            std::string w = " ";
            for (int v = i + 1; v > 0; v /= 5) w.push_back(char('a' + v % 5));
            text += w;
            auto ids = tok->encode(w);
            REQUIRE(ids.ok());
            expect.insert(expect.end(), ids->begin(), ids->end());
        }
    }
    auto all = tok->encode(text);
    REQUIRE(all.ok());
    CHECK(*all == expect);
}
