// tests/support/mini_json.hpp — a small JSON reader for test fixtures (manifest.json, reference files).
//
// Test code only: no exceptions, objects keep their member order, numbers are doubles, \uXXXX escapes
// (with surrogate pairs) become UTF-8. Not hardened for hostile input beyond a nesting cap.
//
//     noggin_test::json::value doc;
//     std::string error;
//     if (!noggin_test::json::parse(text, &doc, &error)) FAIL(error);
//     for (const auto& entry : doc.items) std::string file = entry["file"].s;
//
// Sections: value · parser · parse()
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace noggin_test {
namespace json {

// --- value ---

struct value {
    enum class kind { null, boolean, number, string, array, object };
    kind type = kind::null;
    bool b = false;                                     // boolean
    double n = 0;                                       // number
    std::string s;                                      // string
    std::vector<value> items;                           // array
    struct member;                                      // {first: name, second: value}
    std::vector<member> members;                        // object, in file order

    bool is_null() const { return type == kind::null; }
    bool is_object() const { return type == kind::object; }
    bool is_array() const { return type == kind::array; }
    // Member `key`, or nullptr (also when this is not an object).
    const value* find(std::string_view key) const;
    // Member `key`, or a null value.
    const value& operator[](std::string_view key) const;
    std::int64_t as_int() const { return static_cast<std::int64_t>(n); }
};

// Defined after value is complete (a std::pair member would need it complete too early).
struct value::member {
    std::string first;  // member name
    value second;       // member value
};

inline const value* value::find(std::string_view key) const {
    for (const member& m : members)
        if (m.first == key) return &m.second;
    return nullptr;
}

inline const value& value::operator[](std::string_view key) const {
    static const value null_value;
    const value* v = find(key);
    return v ? *v : null_value;
}

// --- parser ---

class parser {
public:
    explicit parser(std::string_view text) : t_(text) {}

    bool parse_document(value* out, std::string* error) {
        if (!parse_value(out, 0)) {
            *error = error_ + " at byte " + std::to_string(p_);
            return false;
        }
        skip_ws();
        if (p_ != t_.size()) {
            *error = "trailing characters at byte " + std::to_string(p_);
            return false;
        }
        return true;
    }

private:
    bool fail(const char* why) {
        error_ = why;
        return false;
    }
    void skip_ws() {
        while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\n' || t_[p_] == '\r' || t_[p_] == '\t')) ++p_;
    }
    bool literal(std::string_view word) {
        if (t_.substr(p_, word.size()) != word) return fail("bad literal");
        p_ += word.size();
        return true;
    }
    static void put_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    }
    bool hex4(std::uint32_t* out) {
        if (p_ + 4 > t_.size()) return fail("short \\u escape");
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = t_[p_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
            else return fail("bad hex digit");
        }
        *out = v;
        return true;
    }
    bool parse_string(std::string* out) {
        ++p_;  // opening quote
        while (p_ < t_.size()) {
            const char c = t_[p_++];
            if (c == '"') return true;
            if (c != '\\') {
                out->push_back(c);
                continue;
            }
            if (p_ >= t_.size()) break;
            const char e = t_[p_++];
            switch (e) {
                case '"': out->push_back('"'); break;
                case '\\': out->push_back('\\'); break;
                case '/': out->push_back('/'); break;
                case 'b': out->push_back('\b'); break;
                case 'f': out->push_back('\f'); break;
                case 'n': out->push_back('\n'); break;
                case 'r': out->push_back('\r'); break;
                case 't': out->push_back('\t'); break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(&cp)) return false;
                    if (cp >= 0xd800 && cp < 0xdc00 && t_.substr(p_, 2) == "\\u") {
                        p_ += 2;
                        std::uint32_t lo = 0;
                        if (!hex4(&lo)) return false;
                        if (lo < 0xdc00 || lo >= 0xe000) return fail("bad surrogate pair");
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    }
                    put_utf8(*out, cp);
                    break;
                }
                default: return fail("bad escape");
            }
        }
        return fail("unterminated string");
    }
    bool parse_value(value* out, int depth) {
        if (depth > 64) return fail("nested too deeply");
        skip_ws();
        if (p_ >= t_.size()) return fail("unexpected end");
        const char c = t_[p_];
        if (c == 'n') return literal("null");
        if (c == 't') {
            out->type = value::kind::boolean;
            out->b = true;
            return literal("true");
        }
        if (c == 'f') {
            out->type = value::kind::boolean;
            return literal("false");
        }
        if (c == '"') {
            out->type = value::kind::string;
            return parse_string(&out->s);
        }
        if (c == '[') {
            out->type = value::kind::array;
            ++p_;
            skip_ws();
            if (p_ < t_.size() && t_[p_] == ']') return ++p_, true;
            for (;;) {
                out->items.emplace_back();
                if (!parse_value(&out->items.back(), depth + 1)) return false;
                skip_ws();
                if (p_ < t_.size() && t_[p_] == ',') {
                    ++p_;
                    continue;
                }
                if (p_ < t_.size() && t_[p_] == ']') return ++p_, true;
                return fail("expected , or ]");
            }
        }
        if (c == '{') {
            out->type = value::kind::object;
            ++p_;
            skip_ws();
            if (p_ < t_.size() && t_[p_] == '}') return ++p_, true;
            for (;;) {
                skip_ws();
                if (p_ >= t_.size() || t_[p_] != '"') return fail("expected a member name");
                out->members.emplace_back();
                if (!parse_string(&out->members.back().first)) return false;
                skip_ws();
                if (p_ >= t_.size() || t_[p_] != ':') return fail("expected :");
                ++p_;
                if (!parse_value(&out->members.back().second, depth + 1)) return false;
                skip_ws();
                if (p_ < t_.size() && t_[p_] == ',') {
                    ++p_;
                    continue;
                }
                if (p_ < t_.size() && t_[p_] == '}') return ++p_, true;
                return fail("expected , or }");
            }
        }
        // number
        const std::size_t start = p_;
        while (p_ < t_.size() && (std::string_view("+-0123456789.eE").find(t_[p_]) != std::string_view::npos)) ++p_;
        if (start == p_) return fail("unexpected character");
        const std::string num(t_.substr(start, p_ - start));
        char* end = nullptr;
        out->type = value::kind::number;
        out->n = std::strtod(num.c_str(), &end);
        if (end != num.c_str() + num.size()) return fail("bad number");
        return true;
    }

    std::string_view t_;
    std::size_t p_ = 0;
    std::string error_;
};

// --- parse() ---

// Parse a whole document; false with a message (and byte position) on malformed text.
inline bool parse(std::string_view text, value* out, std::string* error) {
    *out = value();
    return parser(text).parse_document(out, error);
}

}  // namespace json
}  // namespace noggin_test
