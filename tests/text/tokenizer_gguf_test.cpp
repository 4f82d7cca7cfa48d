// tests/text/tokenizer_gguf_test.cpp — tokenizers read from GGUF metadata: r1q-tiny's byte-level BPE
// equals the tokenizer.json path on the whole corpus; llama-small's SentencePiece vocabulary matches
// llama.cpp's ids (reference/tokenize-llama-small.json).
#include <doctest/doctest.h>

#include <noggin/text/json.hpp>
#include <noggin/text/tokenizer_gguf.hpp>
#include <noggin/text/tokenizer_json.hpp>

#include <string>
#include <vector>

#include "support/shared_data.hpp"
#include "text/text_test_util.hpp"

using namespace noggin::text;
using noggin_test::ids_of;
using noggin_test::read_text;

TEST_CASE("gguf tokenizer: r1q-tiny equals the tokenizer.json path on the corpus") {
    auto model = noggin_test::shared_path("models/r1q-tiny-q8_0.gguf");
    if (!model) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    auto f = noggin::gguf::file::open(*model);
    REQUIRE_MESSAGE(f.ok(), f.status().message());
    auto g = tokenizer_from_gguf(*f);
    REQUIRE_MESSAGE(g.ok(), g.status().message());
    CHECK(g->uses_nfc());
    CHECK(g->pre() == pre_tokenizer::qwen2);
    CHECK(g->bos_id() == 151646);
    CHECK(g->eos_id() == 151643);
    CHECK(g->pad_id() == 151643);
    CHECK(g->add_bos());
    std::string dir = *noggin_test::shared_path("tokenizers/deepseek-r1-distill-qwen");
    auto j = tokenizer_from_json(read_text(dir + "/tokenizer.json"), read_text(dir + "/tokenizer_config.json"));
    REQUIRE(j.ok());
    std::string cases = read_text(dir + "/cases.jsonl");
    size_t total = 0, same = 0, same_bos = 0, decoded_same = 0;
    size_t start = 0;
    while (start < cases.size()) {
        size_t end = cases.find('\n', start);
        if (end == std::string::npos) end = cases.size();
        std::string line = cases.substr(start, end - start);
        start = end + 1;
        if (line.empty()) continue;
        auto c = json_parse(line);
        REQUIRE(c.ok());
        ++total;
        encode_options o;
        o.parse_special = true;
        auto a = g->encode(c->get("text").as_string(), o);
        auto b = j->encode(c->get("text").as_string(), o);
        REQUIRE(a.ok());
        REQUIRE(b.ok());
        same += *a == *b && *a == ids_of(c->get("ids"));
        o.add_special = true;
        auto a2 = g->encode(c->get("text").as_string(), o);
        REQUIRE(a2.ok());
        same_bos += *a2 == ids_of(c->get("ids_with_special"));
        auto d = g->decode(*a);
        REQUIRE(d.ok());
        decoded_same += *d == c->get("decoded").as_string();
    }
    MESSAGE("r1q-tiny gguf vs tokenizer.json: ids " << same << "/" << total << ", with BOS " << same_bos << "/"
                                                     << total << ", decoded " << decoded_same << "/" << total);
    CHECK(same == total);
    CHECK(same_bos == total);
    CHECK(decoded_same == total);
}

TEST_CASE("gguf tokenizer: llama-small SentencePiece matches llama.cpp") {
    auto model = noggin_test::shared_path("models/llama-small-f32.gguf");
    if (!model) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    auto f = noggin::gguf::file::open(*model);
    REQUIRE(f.ok());
    auto tok = tokenizer_from_gguf(*f);
    REQUIRE_MESSAGE(tok.ok(), tok.status().message());
    CHECK(tok->kind() == tokenizer_kind::sentencepiece_bpe);
    CHECK(tok->vocab_size() == 512);
    auto ref = json_parse(read_text(*noggin_test::shared_path("reference/tokenize-llama-small.json")));
    REQUIRE(ref.ok());
    size_t total = 0, ok = 0, ok_nobos = 0;
    for (size_t i = 0; i < ref->size(); ++i) {
        const json_value& c = (*ref)[i];
        encode_options o;
        o.parse_special = true;
        o.add_special = true;
        auto ids = tok->encode(c.get("text").as_string(), o);
        REQUIRE(ids.ok());
        o.add_special = false;
        auto nob = tok->encode(c.get("text").as_string(), o);
        REQUIRE(nob.ok());
        ++total;
        bool good = *ids == ids_of(c.get("ids"));
        ok += good;
        ok_nobos += *nob == ids_of(c.get("ids_no_bos"));
        if (!good) {
            std::string want, got;
            for (auto x : ids_of(c.get("ids"))) want += std::to_string(x) + ",";
            for (auto x : *ids) got += std::to_string(x) + ",";
            MESSAGE("text " << json_write(c.get("text")) << "\n want " << want << "\n got  " << got);
        }
    }
    MESSAGE("llama-small gguf: ids " << ok << "/" << total << ", without BOS " << ok_nobos << "/" << total);
    CHECK(ok == total);
    CHECK(ok_nobos == total);
}
