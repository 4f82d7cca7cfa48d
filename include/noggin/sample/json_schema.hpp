// noggin/sample/json_schema.hpp — JSON schema → GBNF grammar, for structured NPC actions.
//
// Supported (what an action/command schema needs): type (one name or a list), object with
// properties / required (properties appear in schema order; optional ones may be left out; no
// other keys), additionalProperties (false/true accepted, only declared keys are generated), enum,
// const, string with minLength/maxLength (characters; an escape counts as one), number, integer
// (at most 18 digits), boolean, null, array with items / minItems / maxItems, nested objects and
// arrays, and {} (any JSON value). Annotations (title, description, default, examples, $schema, $id,
// $comment) are ignored. Anything else (pattern, format, minimum, anyOf, $ref, ...) is refused with
// status unsupported naming the keyword and where it is, e.g. "json schema: unsupported keyword
// 'pattern' at /properties/name".
//
//     auto g = noggin::sample::grammar_from_json_schema(R"({"type":"object",
//         "properties":{"action":{"enum":["attack","flee"]},"target":{"type":"string","maxLength":32}},
//         "required":["action"]})");
//     // g->... bind with grammar_matcher::create(std::move(*g), vocab)
//
// Output is compact JSON with optional single spaces or newline+indent between tokens (bounded, so a
// model cannot pad forever). The generated GBNF text is available from json_schema_to_gbnf().
//
// Sections: json_schema_options · detail::schema_writer · json_schema_to_gbnf · grammar_from_json_schema
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../core/status.hpp"
#include "../text/json.hpp"
#include "gbnf.hpp"

namespace noggin::sample {

struct json_schema_options {
    size_t max_depth = 32;            // nesting of schemas (objects in arrays in objects...). default 32
    bool whitespace = true;           // allow " " or "\n" + up to 16 spaces/tabs between tokens. default true
};

namespace detail {

class schema_writer {
public:
    explicit schema_writer(const json_schema_options& o) : opt_(o) {}

    result<std::string> run(const text::json_value& schema) {
        result<std::string> root = visit(schema, "/", 0);
        if (!root.ok()) return root.status();
        std::string head = "root ::= " + *root + "\n";
        head += opt_.whitespace ? "ws ::= ( \" \" | \"\\n\" [ \\t]{0,16} )?\n" : "ws ::= \"\"\n";
        return head + rules_;
    }

    // GBNF string literal for raw bytes.
    static std::string literal(std::string_view s) {
        std::string o = "\"";
        static const char* hex = "0123456789ABCDEF";
        for (char ch : s) {
            const unsigned char c = static_cast<unsigned char>(ch);
            if (c == '"') o += "\\\"";
            else if (c == '\\') o += "\\\\";
            else if (c == '\n') o += "\\n";
            else if (c == '\r') o += "\\r";
            else if (c == '\t') o += "\\t";
            else if (c < 0x20 || c == 0x7F) { o += "\\x"; o += hex[c >> 4]; o += hex[c & 15]; }
            else o.push_back(ch);
        }
        return o + "\"";
    }

private:
    std::string rule(const std::string& hint, const std::string& body) {
        std::string name;
        for (char c : hint)
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) name.push_back(c);
            else if (!name.empty() && name.back() != '-') name.push_back('-');
        if (name.size() > 24) name.resize(24);
        name = str("s", counter_++, name.empty() ? "" : "-", name);
        rules_ += name + " ::= " + body + "\n";
        return name;
    }
    std::string shared(const char* name, const char* body, bool& done) {
        if (!done) {
            rules_ += std::string(name) + " ::= " + body + "\n";
            done = true;
        }
        return name;
    }
    std::string json_literal(const text::json_value& v) { return literal(text::json_write(v)); }

    static status unsupported(const std::string& key, const std::string& at) {
        return status(status_code::unsupported, str("json schema: unsupported keyword '", key, "' at ", at));
    }
    static status bad(const std::string& what, const std::string& at) {
        return status(status_code::invalid_argument, str("json schema: ", what, " at ", at));
    }
    static std::string child(const std::string& at, const std::string& k) { return at == "/" ? "/" + k : at + "/" + k; }

    // A non-negative integer keyword; -1 when absent.
    static result<int64_t> count(const text::json_value& s, const char* k, const std::string& at) {
        const text::json_value* v = s.find(k);
        if (!v) return int64_t(-1);
        if (!v->is_int() || v->as_int() < 0) return bad(str("'", k, "' must be a non-negative integer"), at);
        if (v->as_int() > 1000000) return status(status_code::limit_exceeded, str("json schema: '", k, "' too large at ", at));
        return v->as_int();
    }

    result<std::string> visit(const text::json_value& s, const std::string& at, size_t depth) {
        if (depth > opt_.max_depth) return status(status_code::limit_exceeded, str("json schema: nested deeper than ", opt_.max_depth, " at ", at));
        if (s.is_bool()) {
            if (s.as_bool()) return any_value();
            return bad("schema 'false' matches nothing", at);
        }
        if (!s.is_object()) return bad("a schema must be an object", at);
        static const char* const ignored[] = {"title", "description", "default", "examples", "$schema", "$id", "$comment",
                                              "deprecated", "readOnly", "writeOnly"};
        static const char* const known[] = {"type", "properties", "required", "additionalProperties", "enum", "const", "items",
                                            "minItems", "maxItems", "minLength", "maxLength"};
        for (const std::string& k : s.keys()) {
            bool ok = false;
            for (const char* i : ignored) ok = ok || k == i;
            for (const char* i : known) ok = ok || k == i;
            if (!ok) return unsupported(k, at);
        }
        if (const text::json_value* ap = s.find("additionalProperties"))
            if (!ap->is_bool()) return unsupported("additionalProperties", at);  // a schema for extra keys
        if (const text::json_value* c = s.find("const")) return rule("const", json_literal(*c));
        if (const text::json_value* e = s.find("enum")) {
            if (!e->is_array() || e->empty()) return bad("'enum' must be a non-empty array", at);
            std::string body;
            for (size_t i = 0; i < e->size(); ++i) body += (i ? " | " : "") + json_literal((*e)[i]);
            return rule("enum", body);
        }
        const text::json_value* type = s.find("type");
        if (!type) {
            if (s.find("properties")) return object(s, at, depth);
            if (s.find("items")) return array(s, at, depth);
            return any_value();
        }
        if (type->is_array()) {
            if (type->empty()) return bad("'type' list is empty", at);
            std::string body;
            for (size_t i = 0; i < type->size(); ++i) {
                if (!(*type)[i].is_string()) return bad("'type' entries must be strings", at);
                result<std::string> r = typed((*type)[i].as_string(), s, at, depth);
                if (!r.ok()) return r.status();
                body += (i ? " | " : "") + *r;
            }
            return rule("types", body);
        }
        if (!type->is_string()) return bad("'type' must be a string or a list", at);
        return typed(type->as_string(), s, at, depth);
    }

    result<std::string> typed(const std::string& t, const text::json_value& s, const std::string& at, size_t depth) {
        if (t == "object") return object(s, at, depth);
        if (t == "array") return array(s, at, depth);
        if (t == "string") return string(s, at);
        if (t == "integer") return shared("integer", "\"-\"? ( \"0\" | [1-9] [0-9]{0,17} )", have_int_);
        if (t == "number")
            return shared("number", "\"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) ( \".\" [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,2} )?", have_num_);
        if (t == "boolean") return shared("boolean", "\"true\" | \"false\"", have_bool_);
        if (t == "null") return shared("null", "\"null\"", have_null_);
        return bad(str("unknown type '", t, "'"), at);
    }

    std::string str_char() {
        return shared("char",
                      "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" ( [0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] "
                      "[0-9a-fA-F]{2} ) )",
                      have_char_);
    }

    result<std::string> string(const text::json_value& s, const std::string& at) {
        result<int64_t> mn = count(s, "minLength", at), mx = count(s, "maxLength", at);
        if (!mn.ok()) return mn.status();
        if (!mx.ok()) return mx.status();
        const std::string c = str_char();
        if (*mn < 0 && *mx < 0) return shared("string", "\"\\\"\" char* \"\\\"\"", have_string_);
        const int64_t lo = *mn < 0 ? 0 : *mn;
        if (*mx >= 0 && *mx < lo) return bad("maxLength below minLength", at);
        std::string rep = *mx < 0 ? str("{", lo, ",}") : str("{", lo, ",", *mx, "}");
        return rule("string", "\"\\\"\" " + c + rep + " \"\\\"\"");
    }

    result<std::string> array(const text::json_value& s, const std::string& at, size_t depth) {
        result<int64_t> mn = count(s, "minItems", at), mx = count(s, "maxItems", at);
        if (!mn.ok()) return mn.status();
        if (!mx.ok()) return mx.status();
        std::string item;
        if (const text::json_value* it = s.find("items")) {
            if (it->is_array()) return unsupported("items (tuple form)", at);
            result<std::string> r = visit(*it, child(at, "items"), depth + 1);
            if (!r.ok()) return r.status();
            item = *r;
        } else {
            item = any_value();
        }
        const int64_t lo = *mn < 0 ? 0 : *mn;
        if (*mx >= 0 && *mx < lo) return bad("maxItems below minItems", at);
        if (*mx == 0) return rule("array", "\"[\" ws \"]\"");
        const std::string more = "( \",\" ws " + item + " ws )";
        const int64_t more_lo = lo > 0 ? lo - 1 : 0;
        const std::string rep = *mx < 0 ? str("{", more_lo, ",}") : str("{", more_lo, ",", *mx - 1, "}");
        const std::string list = item + " ws " + more + rep;
        return rule("array", lo > 0 ? "\"[\" ws " + list + " \"]\"" : "\"[\" ws ( " + list + " )? \"]\"");
    }

    result<std::string> object(const text::json_value& s, const std::string& at, size_t depth) {
        const text::json_value* props = s.find("properties");
        if (props && !props->is_object()) return bad("'properties' must be an object", at);
        const text::json_value* req = s.find("required");
        if (req && !req->is_array()) return bad("'required' must be an array", at);
        std::vector<std::string> kv;
        std::vector<bool> required;
        const size_t n = props ? props->size() : 0;
        for (size_t i = 0; i < n; ++i) {
            const std::string& key = props->key(i);
            for (size_t j = 0; j < i; ++j)
                if (props->key(j) == key) return bad(str("property '", key, "' listed twice"), at);
            result<std::string> v = visit((*props)[i], child(child(at, "properties"), key), depth + 1);
            if (!v.ok()) return v.status();
            kv.push_back(rule("kv-" + key, json_literal(text::json_value::make_string(key)) + " ws \":\" ws " + *v + " ws"));
            bool r = false;
            if (req)
                for (size_t j = 0; j < req->size(); ++j) r = r || (*req)[j].as_string() == key;
            required.push_back(r);
        }
        if (req)
            for (size_t j = 0; j < req->size(); ++j) {
                bool found = false;
                for (size_t i = 0; i < n; ++i) found = found || props->key(i) == (*req)[j].as_string();
                if (!found) return bad(str("required property '", (*req)[j].as_string(), "' is not in 'properties'"), at);
            }
        if (n == 0) {
            if (props || s.find("additionalProperties")) return rule("object", "\"{\" ws \"}\"");
            return any_object();
        }
        // rest[i]: members i.. after at least one was written; first[i]: members i.. none written yet.
        std::vector<std::string> rest(n + 1), first(n + 1);
        rest[n] = first[n] = "\"\"";
        for (size_t i = n; i-- > 0;) {
            const std::string member = "\",\" ws " + kv[i];
            rest[i] = rule("rest", required[i] ? member + " " + rest[i + 1] : "( " + member + " )? " + rest[i + 1]);
            first[i] = rule("first", required[i] ? kv[i] + " " + rest[i + 1] : kv[i] + " " + rest[i + 1] + " | " + first[i + 1]);
        }
        return rule("object", "\"{\" ws " + first[0] + " \"}\"");
    }

    std::string any_value() {
        if (!have_any_) {
            have_any_ = true;
            str_char();
            rules_ +=
                "value ::= jobject | jarray | jstring | jnumber | \"true\" | \"false\" | \"null\"\n"
                "jobject ::= \"{\" ws ( jstring ws \":\" ws value ws ( \",\" ws jstring ws \":\" ws value ws )* )? \"}\"\n"
                "jarray ::= \"[\" ws ( value ws ( \",\" ws value ws )* )? \"]\"\n"
                "jstring ::= \"\\\"\" char* \"\\\"\"\n"
                "jnumber ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) ( \".\" [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,2} )?\n";
        }
        return "value";
    }
    std::string any_object() {
        any_value();
        return "jobject";
    }

    json_schema_options opt_;
    std::string rules_;
    size_t counter_ = 0;
    bool have_int_ = false, have_num_ = false, have_bool_ = false, have_null_ = false, have_char_ = false,
         have_string_ = false, have_any_ = false;
};

}  // namespace detail

// The GBNF text for a schema (useful to inspect or to edit by hand).
inline result<std::string> json_schema_to_gbnf(const text::json_value& schema, const json_schema_options& opt = {}) {
    detail::schema_writer w(opt);
    return w.run(schema);
}

// Schema object → compiled grammar. Errors: unsupported (keyword), invalid_argument (malformed
// schema), limit_exceeded (depth, counts), and any grammar error from parse_gbnf.
inline result<grammar> grammar_from_json_schema(const text::json_value& schema, const json_schema_options& opt = {},
                                               const grammar_limits& limits = {}) {
    result<std::string> g = json_schema_to_gbnf(schema, opt);
    if (!g.ok()) return g.status();
    return grammar::parse_gbnf(*g, limits);
}
// Schema text → compiled grammar; a JSON syntax error is reported as format_error.
inline result<grammar> grammar_from_json_schema(std::string_view schema_text, const json_schema_options& opt = {},
                                               const grammar_limits& limits = {}) {
    result<text::json_value> doc = text::json_parse(schema_text);
    if (!doc.ok()) return status(doc.status()).with_context("json schema");
    return grammar_from_json_schema(*doc, opt, limits);
}

}  // namespace noggin::sample
