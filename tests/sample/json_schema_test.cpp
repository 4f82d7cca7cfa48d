// tests/sample/json_schema_test.cpp — JSON schema → grammar: supported keywords accept/reject the
// right documents, unsupported keywords are named, and 1,000 seeded random generations (toy
// vocabulary, random logits, masked by the grammar, drawn by the sampler) all end complete and
// validate against the schema (checked with json.hpp and a validator written here).
#include <doctest/doctest.h>

#include <noggin/sample/grammar.hpp>
#include <noggin/sample/sampler.hpp>
#include <noggin/text/json.hpp>

#include <string>
#include <vector>

using namespace noggin::sample;
using noggin::status_code;
using noggin::text::json_parse;
using noggin::text::json_value;
using noggin::text::json_write;

namespace {

const char* const npc_schema = R"({
  "title": "NPC action",
  "type": "object",
  "properties": {
    "action": {"enum": ["attack", "flee", "talk", "trade"]},
    "target_id": {"type": "integer", "description": "entity id"},
    "say": {"type": "string", "maxLength": 24},
    "items": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 10}, "minItems": 1, "maxItems": 3},
    "mood": {
      "type": "object",
      "properties": {
        "anger": {"type": "number"},
        "happy": {"type": "boolean"},
        "note": {"type": "string", "maxLength": 8},
        "tag": {"const": "npc"}
      },
      "required": ["anger", "happy"]
    },
    "flags": {"type": ["boolean", "null"]}
  },
  "required": ["action", "target_id", "items"],
  "additionalProperties": false
})";

size_t utf8_chars(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// A validator for the keywords the converter supports (written independently of it).
bool validate(const json_value& v, const json_value& s, std::string& why) {
    if (const json_value* c = s.find("const")) {
        if (json_write(v) != json_write(*c)) return why = "const", false;
        return true;
    }
    if (const json_value* e = s.find("enum")) {
        for (size_t i = 0; i < e->size(); ++i)
            if (json_write(v) == json_write((*e)[i])) return true;
        return why = "enum " + json_write(v), false;
    }
    const json_value* type = s.find("type");
    if (type && type->is_array()) {
        for (size_t i = 0; i < type->size(); ++i) {
            json_value one = s;
            one.set("type", (*type)[i]);
            std::string w;
            if (validate(v, one, w)) return true;
        }
        return why = "type list", false;
    }
    const std::string t = type ? type->as_string() : "";
    if (t == "integer") return v.is_int() || (why = "integer", false);
    if (t == "number") return v.is_number() || (why = "number", false);
    if (t == "boolean") return v.is_bool() || (why = "boolean", false);
    if (t == "null") return v.is_null() || (why = "null", false);
    if (t == "string") {
        if (!v.is_string()) return why = "string", false;
        const size_t n = utf8_chars(v.as_string());
        if (s.contains("maxLength") && int64_t(n) > s.get("maxLength").as_int()) return why = "maxLength", false;
        if (s.contains("minLength") && int64_t(n) < s.get("minLength").as_int()) return why = "minLength", false;
        return true;
    }
    if (t == "array") {
        if (!v.is_array()) return why = "array", false;
        if (s.contains("minItems") && int64_t(v.size()) < s.get("minItems").as_int()) return why = "minItems", false;
        if (s.contains("maxItems") && int64_t(v.size()) > s.get("maxItems").as_int()) return why = "maxItems", false;
        for (size_t i = 0; i < v.size(); ++i)
            if (!validate(v[i], s.get("items"), why)) return false;
        return true;
    }
    if (t == "object") {
        if (!v.is_object()) return why = "object", false;
        const json_value& props = s.get("properties");
        for (size_t i = 0; i < v.size(); ++i) {
            const json_value* ps = props.find(v.key(i));
            if (!ps) return why = "extra key " + v.key(i), false;
            if (!validate(v[i], *ps, why)) return false;
        }
        const json_value& req = s.get("required");
        for (size_t i = 0; i < req.size(); ++i)
            if (!v.contains(req[i].as_string())) return why = "missing " + req[i].as_string(), false;
        return true;
    }
    return true;
}

bool grammar_accepts(const grammar_matcher& m, const std::string& text) {
    grammar_state s = m.start();
    return s.accept_bytes(text).ok() && s.is_complete();
}

}  // namespace

TEST_CASE("json schema: NPC schema accepts valid documents and rejects invalid ones") {
    auto g = grammar_from_json_schema(npc_schema);
    REQUIRE_MESSAGE(g.ok(), g.status().message());
    auto v = grammar_vocab::from_token_bytes({"x"}, {});
    auto m = grammar_matcher::create(std::move(*g), *v);
    REQUIRE(m.ok());
    for (const char* ok : {
             R"({"action":"flee","target_id":7,"items":["a"]})",
             R"({"action": "attack", "target_id": -12, "say": "Die, \"orc\"!\n", "items": ["sword", "shield"]})",
             R"({
  "action": "talk",
  "target_id": 0,
  "items": ["x", "y", "zé世"],
  "mood": {"anger": 0.5, "happy": true, "tag": "npc"},
  "flags": null
})",
             R"({"action":"trade","target_id":3,"items":["a"],"mood":{"anger":-1e5,"happy":false,"note":"12345678"},"flags":true})",
         })
        CHECK_MESSAGE(grammar_accepts(*m, ok), ok);
    for (const char* bad : {
             R"({"action":"dance","target_id":7,"items":["a"]})",                  // enum
             R"({"target_id":7,"action":"flee","items":["a"]})",                   // order: action first
             R"({"action":"flee","items":["a"]})",                                 // missing required
             R"({"action":"flee","target_id":7.5,"items":["a"]})",                 // integer
             R"({"action":"flee","target_id":7,"items":[]})",                      // minItems
             R"({"action":"flee","target_id":7,"items":["a","b","c","d"]})",       // maxItems
             R"({"action":"flee","target_id":7,"items":[""]})",                    // minLength
             R"({"action":"flee","target_id":7,"items":["abcdefghijk"]})",         // maxLength
             R"({"action":"flee","target_id":7,"items":["a"],"extra":1})",         // additional key
             R"({"action":"flee","target_id":7,"items":["a"],"mood":{"happy":true}})",  // nested required
             R"({"action":"flee","target_id":7,"items":["a"],"mood":{"anger":1,"happy":true,"tag":"pc"}})",  // const
             R"({"action":"flee","target_id":007,"items":["a"]})",                 // leading zeros
         })
        CHECK_MESSAGE(!grammar_accepts(*m, bad), bad);
}

TEST_CASE("json schema: unsupported keywords and malformed schemas are named") {
    struct bad_case {
        const char* schema;
        status_code code;
        const char* says;
    };
    const std::vector<bad_case> cases = {
        {R"({"type":"string","pattern":"^a+$"})", status_code::unsupported, "unsupported keyword 'pattern' at /"},
        {R"({"type":"object","properties":{"n":{"type":"integer","minimum":0}}})", status_code::unsupported,
         "'minimum' at /properties/n"},
        {R"({"anyOf":[{"type":"string"}]})", status_code::unsupported, "'anyOf'"},
        {R"({"$ref":"#/defs/a"})", status_code::unsupported, "'$ref'"},
        {R"({"type":"string","format":"date"})", status_code::unsupported, "'format'"},
        {R"({"type":"object","additionalProperties":{"type":"string"}})", status_code::unsupported, "'additionalProperties'"},
        {R"({"type":"array","items":[{"type":"string"}]})", status_code::unsupported, "tuple form"},
        {R"({"type":"object","properties":{"a":{}},"required":["b"]})", status_code::invalid_argument, "'b' is not in 'properties'"},
        {R"({"type":"string","minLength":5,"maxLength":2})", status_code::invalid_argument, "maxLength below minLength"},
        {R"({"type":"array","minItems":-1})", status_code::invalid_argument, "non-negative"},
        {R"({"enum":[]})", status_code::invalid_argument, "'enum' must be a non-empty array"},
        {R"({"type":"tuple"})", status_code::invalid_argument, "unknown type 'tuple'"},
        {R"({"type":"array","items":{"type":"string"},"maxItems":50000})", status_code::limit_exceeded, "repetition"},
        {R"({"type":"object",)", status_code::format_error, "json schema"},
        {R"(false)", status_code::invalid_argument, "matches nothing"},
    };
    for (const bad_case& c : cases) {
        auto g = grammar_from_json_schema(c.schema);
        REQUIRE_MESSAGE(!g.ok(), c.schema);
        CHECK_MESSAGE(g.status().code() == c.code, c.schema, " → ", g.status().message());
        CHECK_MESSAGE(g.status().message().find(c.says) != std::string::npos, c.schema, " → ", g.status().message());
    }
    // Depth limit.
    std::string deep;
    for (int i = 0; i < 40; ++i) deep += R"({"type":"array","items":)";
    deep += R"({"type":"integer"})";
    for (int i = 0; i < 40; ++i) deep += "}";
    CHECK(grammar_from_json_schema(deep).status().code() == status_code::limit_exceeded);
    // {} and true accept any JSON value
    auto any = grammar_from_json_schema("{}");
    REQUIRE(any.ok());
    auto v = grammar_vocab::from_token_bytes({"x"}, {});
    auto m = grammar_matcher::create(std::move(*any), *v);
    CHECK(grammar_accepts(*m, R"([1, {"a": [true, null, "x"]}, -2.5e3])"));
}

TEST_CASE("json schema: 1,000 seeded random generations end complete and valid") {
    auto doc = json_parse(npc_schema);
    REQUIRE(doc.ok());
    auto g = grammar_from_json_schema(*doc);
    REQUIRE(g.ok());
    // Toy vocabulary: every printable ASCII byte plus multi-byte tokens that span grammar elements
    // (quote+key+colon, value+comma) and split UTF-8 characters across tokens.
    std::vector<std::string> toks;
    for (int c = 32; c < 127; ++c) toks.push_back(std::string(1, char(c)));
    for (const char* t : {"{\"", "\":", "\": \"", "\",", "\", \"", "\"}", "}}", "]}", "[\"", "\"]", "\"action\": \"", "action",
                          "attack", "flee\"", "tal", "k\",", "trade", "target_id", "\"items\":[\"", "mood", "anger\":", "true",
                          "false", "null", "12", "-3", ".5", "e+", "0,", "\\u00e9", "\\n", "\\\"", "\xC3", "\xA9", "\xC3\xA9",
                          "\xE4\xB8", "\x96", "\xE4\xB8\x96\"", "npc\"}", "\n", "\n  ", "  ", "}\n", "\xF0\x9F\x98", "\x80"})
        toks.push_back(t);
    const token_id eos = token_id(toks.size());
    toks.push_back("");
    auto v = grammar_vocab::from_token_bytes(toks, {eos});
    REQUIRE(v.ok());
    auto m = grammar_matcher::create(std::move(*g), *v);
    REQUIRE(m.ok());

    const size_t n_vocab = toks.size() + 3;  // a model's vocab may be padded beyond the tokenizer
    const int token_limit = 600;
    sampler_params sp;
    sp.temperature = 1.0f;
    sp.top_p = 1.0f;
    sampler s(sp);
    rng logit_rng(1), draw_rng(2);
    std::vector<float> logits(n_vocab);
    int longest = 0, failures = 0;
    for (int gen = 0; gen < 1000; ++gen) {
        grammar_state st = m->start();
        std::string out;
        int n = 0;
        bool finished = false;
        for (; n < token_limit; ++n) {
            for (float& x : logits) x = float(logit_rng.next_double() * 6.0 - 3.0);
            logits[size_t(eos)] += 2.0f;  // like a model that wants to stop once it may
            REQUIRE(st.apply_mask(logits.data(), n_vocab).ok());
            auto t = s.sample(logits.data(), n_vocab, draw_rng);
            REQUIRE_MESSAGE(t.ok(), t.status().message(), " after ", out);
            REQUIRE(st.accept_token(*t).ok());
            if (*t == eos) {
                finished = true;
                break;
            }
            out += toks[size_t(*t)];
        }
        longest = std::max(longest, n);
        CHECK_MESSAGE(finished, "generation ", gen, " hit the token limit: ", out);
        auto parsed = json_parse(out);
        if (!parsed.ok()) {
            ++failures;
            CHECK_MESSAGE(false, "generation ", gen, " is not JSON: ", out, " (", parsed.status().message(), ")");
            continue;
        }
        std::string why;
        const bool valid = validate(*parsed, *doc, why);
        failures += valid ? 0 : 1;
        CHECK_MESSAGE(valid, "generation ", gen, " violates the schema (", why, "): ", out);
    }
    CHECK(failures == 0);
    MESSAGE("longest generation: ", longest, " tokens");
}
