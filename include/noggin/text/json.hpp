// noggin/text/json.hpp — a small, safe JSON parser and value type for untrusted input.
//
// Used for tokenizer.json / tokenizer_config.json and by the chat-template engine. Parses from
// (pointer, size) with caps on nesting depth, total size, string length and element count; every
// failure is a status naming the byte offset. Strings are validated UTF-8; escapes (including
// surrogate pairs) are decoded to UTF-8. Numbers are int64 when written without fraction/exponent
// and in range, else double. Objects keep their key order (and duplicates; lookups find the last).
// No exceptions, no printing.
//
//     noggin::result<noggin::text::json_value> doc = noggin::text::json_parse(bytes);
//     if (!doc.ok()) return doc.status();
//     const noggin::text::json_value& model = doc->get("model");
//     if (model.get("type").as_string() != "BPE") { ... }
//     for (size_t i = 0; i < model.get("merges").size(); ++i) use(model.get("merges")[i]);
//
// Sections: json_limits · json_value · json_parse · json_write (serialisation) · implementation

#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "utf8.hpp"

namespace noggin::text {

// ---------------------------------------------------------------------------------------------
// json_limits — caps that keep hostile documents from exhausting the stack or memory.
struct json_limits {
    size_t max_depth = 256;                    // nesting of arrays/objects; default 256
    size_t max_bytes = size_t(256) << 20;      // whole document, bytes; default 256 MiB
    size_t max_string_bytes = size_t(64) << 20;  // one decoded string or key, bytes; default 64 MiB
    size_t max_elements = size_t(64) << 20;    // total values in the document; default 64 Mi
};

// ---------------------------------------------------------------------------------------------
// json_value — null, bool, integer (int64), real (double), string, array or object.
//
// Accessors never fail: a lookup of a missing key or index yields a shared null value, and as_*()
// on the wrong kind yields the fallback. Use kind()/is_*() when the difference matters.
class json_value {
public:
    enum class kind_t : uint8_t { null, boolean, integer, real, string, array, object };

    json_value() = default;
    json_value(const json_value&) = default;
    json_value(json_value&&) noexcept = default;
    json_value& operator=(const json_value&) = default;
    json_value& operator=(json_value&&) noexcept = default;
    ~json_value() = default;
    static json_value make_bool(bool b) { json_value v; v.kind_ = kind_t::boolean; v.num_.b = b; return v; }
    static json_value make_int(int64_t i) { json_value v; v.kind_ = kind_t::integer; v.num_.i = i; return v; }
    static json_value make_real(double d) { json_value v; v.kind_ = kind_t::real; v.num_.d = d; return v; }
    static json_value make_string(std::string s) {
        json_value v;
        v.kind_ = kind_t::string;
        v.str_ = std::move(s);
        return v;
    }
    static json_value make_array() { json_value v; v.kind_ = kind_t::array; return v; }
    static json_value make_object() { json_value v; v.kind_ = kind_t::object; return v; }

    kind_t kind() const { return kind_; }
    bool is_null() const { return kind_ == kind_t::null; }
    bool is_bool() const { return kind_ == kind_t::boolean; }
    bool is_int() const { return kind_ == kind_t::integer; }
    bool is_number() const { return kind_ == kind_t::integer || kind_ == kind_t::real; }
    bool is_string() const { return kind_ == kind_t::string; }
    bool is_array() const { return kind_ == kind_t::array; }
    bool is_object() const { return kind_ == kind_t::object; }

    bool as_bool(bool fallback = false) const { return kind_ == kind_t::boolean ? num_.b : fallback; }
    // Integer value; a real that is integral and in range converts, anything else is the fallback.
    int64_t as_int(int64_t fallback = 0) const {
        if (kind_ == kind_t::integer) return num_.i;
        if (kind_ == kind_t::real && std::isfinite(num_.d) && num_.d == std::floor(num_.d) &&
            num_.d >= -9.2e18 && num_.d <= 9.2e18)
            return int64_t(num_.d);
        return fallback;
    }
    double as_double(double fallback = 0.0) const {
        if (kind_ == kind_t::real) return num_.d;
        if (kind_ == kind_t::integer) return double(num_.i);
        return fallback;
    }
    // The string (empty for non-strings). Object keys are read with key(i).
    const std::string& as_string() const { return kind_ == kind_t::string ? str_ : empty_string(); }

    // Element count of an array or object; 0 otherwise.
    size_t size() const { return (kind_ == kind_t::array || kind_ == kind_t::object) ? items_.size() : 0; }
    bool empty() const { return size() == 0; }
    // i-th element of an array, or i-th member value of an object; null when out of range.
    const json_value& operator[](size_t i) const { return i < size() ? items_[i] : null_value(); }
    json_value& at_mut(size_t i) { return items_[i]; }
    // i-th member key of an object; empty when out of range or not an object.
    const std::string& key(size_t i) const {
        return (kind_ == kind_t::object && i < keys_.size()) ? keys_[i] : empty_string();
    }
    // Member lookup (last occurrence wins, as in most JSON libraries); nullptr when absent.
    const json_value* find(std::string_view k) const {
        if (kind_ != kind_t::object) return nullptr;
        for (size_t i = keys_.size(); i-- > 0;)
            if (keys_[i] == k) return &items_[i];
        return nullptr;
    }
    json_value* find_mut(std::string_view k) {
        return const_cast<json_value*>(static_cast<const json_value*>(this)->find(k));
    }
    bool contains(std::string_view k) const { return find(k) != nullptr; }
    // Member value or a null value when absent.
    const json_value& get(std::string_view k) const {
        const json_value* v = find(k);
        return v ? *v : null_value();
    }
    const std::vector<json_value>& items() const { return items_; }
    const std::vector<std::string>& keys() const { return keys_; }

    // Building (used by the parser and by hosts that construct values).
    void push_back(json_value v) {
        NOGGIN_ASSERT(kind_ == kind_t::array, "json_value::push_back on a non-array");
        items_.push_back(std::move(v));
    }
    // Set a member: replaces an existing key in place, else appends.
    void set(std::string k, json_value v) {
        NOGGIN_ASSERT(kind_ == kind_t::object, "json_value::set on a non-object");
        for (size_t i = 0; i < keys_.size(); ++i)
            if (keys_[i] == k) {
                items_[i] = std::move(v);
                return;
            }
        keys_.push_back(std::move(k));
        items_.push_back(std::move(v));
    }
    // Append a member without checking for duplicates (the parser keeps what the text says).
    void append_member(std::string k, json_value v) {
        keys_.push_back(std::move(k));
        items_.push_back(std::move(v));
    }

    static const json_value& null_value() {
        static const json_value v;
        return v;
    }

private:
    friend class json_parser;
    static const std::string& empty_string() {
        static const std::string s;
        return s;
    }

    kind_t kind_ = kind_t::null;
    union {
        bool b;
        int64_t i;
        double d;
    } num_{};
    std::string str_;                // string value
    std::vector<json_value> items_;  // array elements or object member values
    std::vector<std::string> keys_;  // object member keys, parallel to items_
};

// ---------------------------------------------------------------------------------------------
// Implementation: recursive-descent parser (recursion bounded by limits.max_depth).
namespace json_detail {

// Length of the valid UTF-8 sequence starting at p (1..4), or 0 when invalid (overlong, surrogate,
// beyond U+10FFFF, truncated).
inline size_t utf8_valid_len(const unsigned char* p, size_t n) {
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return (n >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
        if (c == 0xED && p[1] >= 0xA0) return 0;  // surrogate
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
        if (c == 0xF4 && p[1] >= 0x90) return 0;  // > U+10FFFF
        return 4;
    }
    return 0;
}

}  // namespace json_detail

class json_parser {
public:
    json_parser(const char* data, size_t size, const json_limits& limits)
        : p_(reinterpret_cast<const unsigned char*>(data)), n_(size), lim_(limits) {}

    status parse(json_value& out) {
        if (n_ > lim_.max_bytes)
            return status(status_code::limit_exceeded,
                          str("json: document of ", n_, " bytes exceeds the cap of ", lim_.max_bytes));
        skip_ws();
        NOGGIN_TRY(parse_value(out, 0));
        skip_ws();
        if (pos_ != n_) return fail("unexpected trailing characters");
        return status();
    }

    // --- Streaming (pull) interface: walk a document without building a tree, for big members
    // such as a tokenizer's vocabulary. Every byte is still validated with the same errors and
    // caps as parse(); values that are read whole go through the same code as parse().
    //
    //     json_parser p(data, size, limits);
    //     NOGGIN_TRY(p.stream_begin());
    //     NOGGIN_TRY(p.enter_object(1));                 // '{' of the top level (depth 1)
    //     bool first = true, more = false;
    //     std::string_view key;
    //     for (;;) {
    //         NOGGIN_TRY(p.next_member(first, more, key, scratch));
    //         if (!more) break;
    //         json_value v;
    //         NOGGIN_TRY(p.read_value(v, 1));            // or stream the member's value
    //     }
    //     NOGGIN_TRY(p.stream_end());
    //
    // Size cap, leading whitespace.
    status stream_begin() {
        if (n_ > lim_.max_bytes)
            return status(status_code::limit_exceeded,
                          str("json: document of ", n_, " bytes exceeds the cap of ", lim_.max_bytes));
        skip_ws();
        return status();
    }
    // Trailing whitespace, then the end of the input.
    status stream_end() {
        skip_ws();
        if (pos_ != n_) return fail("unexpected trailing characters");
        return status();
    }
    // The next non-space byte, or 0 at the end of input.
    char peek() {
        skip_ws();
        return pos_ < n_ ? char(p_[pos_]) : '\0';
    }
    // Byte offset of the next unread byte, and the input size.
    size_t offset() const { return pos_; }
    size_t input_size() const { return n_; }
    // Consume '{' (counted as one value, nesting `depth` = 1 for the top level).
    status enter_object(size_t depth) {
        NOGGIN_TRY(count_element());
        skip_ws();
        if (pos_ >= n_ || p_[pos_] != '{') return fail("expected an object");
        NOGGIN_TRY(check_depth(depth));
        ++pos_;
        return status();
    }
    status enter_array(size_t depth) {
        NOGGIN_TRY(count_element());
        skip_ws();
        if (pos_ >= n_ || p_[pos_] != '[') return fail("expected an array");
        NOGGIN_TRY(check_depth(depth));
        ++pos_;
        return status();
    }
    // Step to the next member of the object entered last: more = false after its '}'; otherwise
    // `key` is the member's key (a view into the input, or into `scratch` when it had escapes;
    // valid until the next call that uses `scratch`) and the ':' is consumed. `first` is true
    // before the first call of an object and is cleared here.
    status next_member(bool& first, bool& more, std::string_view& key, std::string& scratch) {
        skip_ws();
        more = false;
        if (first) {
            first = false;
            if (pos_ < n_ && p_[pos_] == '}') {
                ++pos_;
                return status();
            }
        } else {
            if (pos_ >= n_) return fail("unexpected end of input in object");
            if (p_[pos_] == '}') {
                ++pos_;
                return status();
            }
            if (p_[pos_] != ',') return fail("expected ',' or '}' in object");
            ++pos_;
            skip_ws();
        }
        if (pos_ >= n_ || p_[pos_] != '"') return fail("expected a string key in object");
        NOGGIN_TRY(string_view_at(key, scratch));
        skip_ws();
        if (pos_ >= n_ || p_[pos_] != ':') return fail("expected ':' after object key");
        ++pos_;
        skip_ws();
        more = true;
        return status();
    }
    // Step to the next element of the array entered last (more = false after its ']').
    status next_element(bool& first, bool& more) {
        skip_ws();
        more = false;
        if (first) {
            first = false;
            if (pos_ < n_ && p_[pos_] == ']') {
                ++pos_;
                return status();
            }
        } else {
            if (pos_ >= n_) return fail("unexpected end of input in array");
            if (p_[pos_] == ']') {
                ++pos_;
                return status();
            }
            if (p_[pos_] != ',') return fail("expected ',' or ']' in array");
            ++pos_;
            skip_ws();
        }
        more = true;
        return status();
    }
    // A string value (counted as one value): a view into the input when it has no escapes, else
    // decoded into `scratch`.
    status read_string(std::string_view& out, std::string& scratch) {
        NOGGIN_TRY(count_element());
        skip_ws();
        if (pos_ >= n_ || p_[pos_] != '"') return fail("expected a string");
        return string_view_at(out, scratch);
    }
    // Any value, built as a tree (`depth` = nesting of the container it sits in).
    status read_value(json_value& out, size_t depth) {
        skip_ws();
        return parse_value(out, depth);
    }

private:
    // String at pos_ (the opening quote): zero-copy when it has no escapes.
    status string_view_at(std::string_view& out, std::string& scratch) {
        const size_t start = pos_ + 1;
        size_t i = start;
        while (i < n_) {
            unsigned char c = p_[i];
            if (c == '"') {
                if (i - start > lim_.max_string_bytes) break;  // the slow path reports the cap
                out = std::string_view(reinterpret_cast<const char*>(p_ + start), i - start);
                pos_ = i + 1;
                return status();
            }
            if (c == '\\' || c < 0x20) break;
            if (c >= 0x80) {
                size_t len = json_detail::utf8_valid_len(p_ + i, n_ - i);
                if (len == 0) break;
                i += len;
            } else {
                ++i;
            }
        }
        NOGGIN_TRY(parse_string(scratch));
        out = scratch;
        return status();
    }

    status fail(const char* what) const {
        return status(status_code::format_error, str("json: ", what, " at byte ", pos_));
    }
    void skip_ws() {
        while (pos_ < n_) {
            unsigned char c = p_[pos_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                ++pos_;
            else
                break;
        }
    }
    bool literal(const char* word) {
        size_t len = std::strlen(word);
        if (n_ - pos_ < len || std::memcmp(p_ + pos_, word, len) != 0) return false;
        pos_ += len;
        return true;
    }
    status count_element() {
        if (++elements_ > lim_.max_elements)
            return status(status_code::limit_exceeded,
                          str("json: more than ", lim_.max_elements, " values at byte ", pos_));
        return status();
    }

    status parse_value(json_value& out, size_t depth) {
        NOGGIN_TRY(count_element());
        if (pos_ >= n_) return fail("unexpected end of input, expected a value");
        unsigned char c = p_[pos_];
        switch (c) {
            case '{': return parse_object(out, depth + 1);
            case '[': return parse_array(out, depth + 1);
            case '"':
                out.kind_ = json_value::kind_t::string;
                return parse_string(out.str_);
            case 't':
                if (!literal("true")) return fail("invalid literal");
                out.kind_ = json_value::kind_t::boolean;
                out.num_.b = true;
                return status();
            case 'f':
                if (!literal("false")) return fail("invalid literal");
                out.kind_ = json_value::kind_t::boolean;
                out.num_.b = false;
                return status();
            case 'n':
                if (!literal("null")) return fail("invalid literal");
                out.kind_ = json_value::kind_t::null;
                return status();
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return parse_number(out);
                return fail("unexpected character, expected a value");
        }
    }

    status check_depth(size_t depth) {
        if (depth > lim_.max_depth)
            return status(status_code::limit_exceeded,
                          str("json: nesting deeper than ", lim_.max_depth, " at byte ", pos_));
        return status();
    }

    status parse_array(json_value& out, size_t depth) {
        NOGGIN_TRY(check_depth(depth));
        out.kind_ = json_value::kind_t::array;
        ++pos_;  // '['
        skip_ws();
        if (pos_ < n_ && p_[pos_] == ']') {
            ++pos_;
            return status();
        }
        // Children are parsed onto a shared stack and moved into an exactly sized vector at the
        // end, so big arrays never reallocate element by element.
        const size_t base = values_.size();
        for (;;) {
            skip_ws();
            {
                json_value v;  // not values_.back(): nested containers grow values_
                NOGGIN_TRY(parse_value(v, depth));
                values_.push_back(std::move(v));
            }
            skip_ws();
            if (pos_ >= n_) return fail("unexpected end of input in array");
            if (p_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (p_[pos_] == ']') {
                ++pos_;
                take(out, base, 0);
                return status();
            }
            return fail("expected ',' or ']' in array");
        }
    }

    status parse_object(json_value& out, size_t depth) {
        NOGGIN_TRY(check_depth(depth));
        out.kind_ = json_value::kind_t::object;
        ++pos_;  // '{'
        skip_ws();
        if (pos_ < n_ && p_[pos_] == '}') {
            ++pos_;
            return status();
        }
        const size_t base = values_.size(), key_base = keys_.size();
        for (;;) {
            skip_ws();
            if (pos_ >= n_ || p_[pos_] != '"') return fail("expected a string key in object");
            {
                std::string k;
                NOGGIN_TRY(parse_string(k));
                keys_.push_back(std::move(k));
            }
            skip_ws();
            if (pos_ >= n_ || p_[pos_] != ':') return fail("expected ':' after object key");
            ++pos_;
            skip_ws();
            {
                json_value v;  // not values_.back(): nested containers grow values_
                NOGGIN_TRY(parse_value(v, depth));
                values_.push_back(std::move(v));
            }
            skip_ws();
            if (pos_ >= n_) return fail("unexpected end of input in object");
            if (p_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (p_[pos_] == '}') {
                ++pos_;
                take(out, base, key_base);
                out.keys_.reserve(keys_.size() - key_base);
                for (size_t k = key_base; k < keys_.size(); ++k) out.keys_.push_back(std::move(keys_[k]));
                keys_.resize(key_base);
                return status();
            }
            return fail("expected ',' or '}' in object");
        }
    }

    // Move values_[base..] into out.items_ (exact size) and pop them off the stack.
    void take(json_value& out, size_t base, size_t) {
        out.items_.reserve(values_.size() - base);
        for (size_t k = base; k < values_.size(); ++k) out.items_.push_back(std::move(values_[k]));
        values_.resize(base);
    }

    bool hex4(uint32_t& v) {
        if (n_ - pos_ < 4) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            unsigned char c = p_[pos_ + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= uint32_t(c - 'A' + 10);
            else
                return false;
        }
        pos_ += 4;
        return true;
    }

    status parse_string(std::string& out) {
        ++pos_;  // opening quote
        out.clear();
        for (;;) {
            // Fast path: copy a run of plain ASCII.
            size_t run = pos_;
            while (run < n_) {
                unsigned char c = p_[run];
                if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
                ++run;
            }
            if (run > pos_) {
                out.append(reinterpret_cast<const char*>(p_ + pos_), run - pos_);
                pos_ = run;
            }
            if (out.size() > lim_.max_string_bytes)
                return status(status_code::limit_exceeded,
                              str("json: string longer than ", lim_.max_string_bytes, " bytes at byte ", pos_));
            if (pos_ >= n_) return fail("unterminated string");
            unsigned char c = p_[pos_];
            if (c == '"') {
                ++pos_;
                return status();
            }
            if (c < 0x20) return fail("unescaped control character in string");
            if (c >= 0x80) {
                size_t len = json_detail::utf8_valid_len(p_ + pos_, n_ - pos_);
                if (len == 0) return fail("invalid UTF-8 in string");
                out.append(reinterpret_cast<const char*>(p_ + pos_), len);
                pos_ += len;
                continue;
            }
            // Backslash escape.
            ++pos_;
            if (pos_ >= n_) return fail("unterminated escape");
            unsigned char e = p_[pos_++];
            switch (e) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    uint32_t cp = 0;
                    if (!hex4(cp)) return fail("invalid \\u escape");
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate in \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        uint32_t lo = 0;
                        if (n_ - pos_ < 2 || p_[pos_] != '\\' || p_[pos_ + 1] != 'u')
                            return fail("high surrogate not followed by a low surrogate");
                        pos_ += 2;
                        if (!hex4(lo)) return fail("invalid \\u escape");
                        if (lo < 0xDC00 || lo > 0xDFFF) return fail("high surrogate not followed by a low surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    append_utf8_code_point(out, cp);
                    break;
                }
                default: --pos_; return fail("invalid escape character");
            }
        }
    }

    status parse_number(json_value& out) {
        size_t start = pos_;
        bool integral = true;
        if (p_[pos_] == '-') ++pos_;
        if (pos_ >= n_) return fail("truncated number");
        if (p_[pos_] == '0') {
            ++pos_;
        } else if (p_[pos_] >= '1' && p_[pos_] <= '9') {
            while (pos_ < n_ && p_[pos_] >= '0' && p_[pos_] <= '9') ++pos_;
        } else {
            return fail("invalid number");
        }
        if (pos_ < n_ && p_[pos_] == '.') {
            integral = false;
            ++pos_;
            if (pos_ >= n_ || p_[pos_] < '0' || p_[pos_] > '9') return fail("digit expected after '.'");
            while (pos_ < n_ && p_[pos_] >= '0' && p_[pos_] <= '9') ++pos_;
        }
        if (pos_ < n_ && (p_[pos_] == 'e' || p_[pos_] == 'E')) {
            integral = false;
            ++pos_;
            if (pos_ < n_ && (p_[pos_] == '+' || p_[pos_] == '-')) ++pos_;
            if (pos_ >= n_ || p_[pos_] < '0' || p_[pos_] > '9') return fail("digit expected in exponent");
            while (pos_ < n_ && p_[pos_] >= '0' && p_[pos_] <= '9') ++pos_;
        }
        const char* b = reinterpret_cast<const char*>(p_ + start);
        const char* e = reinterpret_cast<const char*>(p_ + pos_);
        if (integral) {
            int64_t i = 0;
            auto r = std::from_chars(b, e, i);
            if (r.ec == std::errc() && r.ptr == e) {
                out.kind_ = json_value::kind_t::integer;
                out.num_.i = i;
                return status();
            }
            // Out of int64 range: fall through to double.
        }
        double d = 0.0;
        auto r = std::from_chars(b, e, d);
        if (r.ptr != e) return fail("invalid number");
        if (r.ec != std::errc()) {
            // Out of double range: underflow (negative exponent) becomes 0, overflow is an error
            // because JSON has no infinity.
            const char* ex = b;
            while (ex != e && *ex != 'e' && *ex != 'E') ++ex;
            if (ex == e || ex + 1 == e || ex[1] != '-') return fail("number out of range");
            d = (*b == '-') ? -0.0 : 0.0;
        }
        out.kind_ = json_value::kind_t::real;
        out.num_.d = d;
        return status();
    }

    const unsigned char* p_;
    size_t n_;
    size_t pos_ = 0;
    size_t elements_ = 0;
    json_limits lim_;
    std::vector<json_value> values_;  // children of the containers being parsed (a stack)
    std::vector<std::string> keys_;   // keys of the objects being parsed (a stack)
};

// ---------------------------------------------------------------------------------------------
// json_parse — parse a whole document. Errors: format_error ("json: <what> at byte N"),
// limit_exceeded (depth, size, string length or element count cap).
inline result<json_value> json_parse(const char* data, size_t size, const json_limits& limits = {}) {
    if (!data && size) return status(status_code::invalid_argument, "json: null data with nonzero size");
    json_value v;
    json_parser parser(data ? data : "", size, limits);
    status s = parser.parse(v);
    if (!s.ok()) return s;
    return v;
}
inline result<json_value> json_parse(std::string_view text, const json_limits& limits = {}) {
    return json_parse(text.data(), text.size(), limits);
}

// ---------------------------------------------------------------------------------------------
// json_write — serialise compactly (no spaces) or with `indent` spaces per level (indent >= 0
// puts each element on its own line, like Python's json.dumps(indent=N)). Non-ASCII is written as
// UTF-8; control characters, '"' and '\\' are escaped. Reals are written with the shortest
// representation that round-trips; non-finite reals as null.
inline void json_quote(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

namespace json_detail {
inline void newline(std::string& out, int indent, int level) {
    if (indent < 0) return;
    out.push_back('\n');
    out.append(size_t(indent) * size_t(level), ' ');
}
inline void write(std::string& out, const json_value& v, int indent, int level) {
    switch (v.kind()) {
        case json_value::kind_t::null: out += "null"; return;
        case json_value::kind_t::boolean: out += v.as_bool() ? "true" : "false"; return;
        case json_value::kind_t::integer: out += std::to_string(v.as_int()); return;
        case json_value::kind_t::real: {
            double d = v.as_double();
            if (!std::isfinite(d)) {
                out += "null";
                return;
            }
            char buf[64];
            auto r = std::to_chars(buf, buf + sizeof(buf), d);
            std::string_view s(buf, size_t(r.ptr - buf));
            out.append(s.data(), s.size());
            if (s.find_first_of(".eEn") == std::string_view::npos) out += ".0";
            return;
        }
        case json_value::kind_t::string: json_quote(out, v.as_string()); return;
        case json_value::kind_t::array: {
            out.push_back('[');
            for (size_t i = 0; i < v.size(); ++i) {
                if (i) out.push_back(',');
                newline(out, indent, level + 1);
                write(out, v[i], indent, level + 1);
            }
            if (v.size()) newline(out, indent, level);
            out.push_back(']');
            return;
        }
        case json_value::kind_t::object: {
            out.push_back('{');
            for (size_t i = 0; i < v.size(); ++i) {
                if (i) out.push_back(',');
                newline(out, indent, level + 1);
                json_quote(out, v.key(i));
                out.push_back(':');
                if (indent >= 0) out.push_back(' ');
                write(out, v[i], indent, level + 1);
            }
            if (v.size()) newline(out, indent, level);
            out.push_back('}');
            return;
        }
    }
}
}  // namespace json_detail

// Serialise `v`; indent < 0 (default) writes compact JSON. Recursion depth equals the value's
// nesting, which json_parse caps; hosts building values by hand keep them reasonably shallow.
inline std::string json_write(const json_value& v, int indent = -1) {
    std::string out;
    json_detail::write(out, v, indent, 0);
    return out;
}

}  // namespace noggin::text
