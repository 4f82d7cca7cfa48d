// noggin/text/jinja.hpp — a small, safe Jinja interpreter for chat templates.
//
// GGUF `tokenizer.chat_template` and Hugging Face tokenizer_config.json hold Jinja text. This header
// parses and renders it the way transformers does (Jinja2 with trim_blocks + lstrip_blocks,
// loopcontrols, transformers' tojson), for exactly the subset real chat templates use: text,
// {{ }}, {% if/elif/else %}, {% for %} (loop.*, `if` filter, else, break/continue), {% set %}
// (names, tuples, namespace attributes, block capture), {% macro %}, {% generation %}, comments,
// whitespace control, Python-like expressions (literals, lists, dicts, slicing, `in`, `~`, `is`
// tests, `|` filters, string/dict methods), namespace(), range(), raise_exception(),
// strftime_now(). It never does I/O (the only outside input is the clock for strftime_now, which
// options can fix), never throws, prints or aborts; work, recursion and sizes are capped by
// `jinja::limits`, and every failure is a status naming line and column.
//
//     using namespace noggin::text;
//     auto tpl = jinja::parse("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}");
//     if (!tpl.ok()) return tpl.status();
//     jinja::value ctx = jinja::value::object();
//     ctx.set("messages", jinja::from_json(json_parse(R"([{"role":"user","content":"hi"}])").value()).value());
//     noggin::result<std::string> text = tpl->render(ctx);   // "<user>hi"
//
// Sections: limits/options · value · text helpers (UTF-8, Python str/repr, float format) ·
//           JSON conversion (from_json, to_json) · lexer · AST · parser · interpreter
//           (scopes, operators, filters, tests, methods, globals, statements) · compiled_template/parse
//
// Not supported (a clear status, never a crash): {% include/import/extends/block/call/filter/raw %},
// `%` string formatting, str.format, list/dict mutation (transformers uses an immutable sandbox
// too), non-string dict keys, integers beyond int64, `for ... recursive`. Tuples are
// lists (print as [..]); upper/lower/title change ASCII letters only.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "json.hpp"

namespace noggin::text::jinja {

// =============================================================================================
// limits / options
// =============================================================================================

// Safety caps; a template that reaches one fails with status_code::limit_exceeded.
struct limits {
    size_t max_template_bytes = size_t(1) << 20;  // template source, bytes; default 1 MiB
    size_t max_output_bytes = size_t(8) << 20;    // rendered text (and any captured block), bytes; default 8 MiB
    size_t max_string_bytes = size_t(8) << 20;    // one string value built while rendering, bytes; default 8 MiB
    size_t max_items = size_t(1) << 20;           // elements of one list/dict built while rendering (range(), split...); default 1 Mi
    size_t max_depth = 200;                       // parser nesting and evaluation recursion incl. macro calls; default 200
    size_t max_value_depth = 64;                  // nesting of lists/dicts (also for from_json); default 64
    uint64_t max_steps = 10000000;                // work units: node evaluations, loop iterations (8), 64 bytes copied; default 10 M
                                                  // (real templates need about 100 per message; 10 M is about 1 s of CPU)
};

// How a template is parsed and rendered. The defaults are transformers' settings.
struct options {
    bool trim_blocks = true;     // drop the first newline after a block or comment tag; default true
    bool lstrip_blocks = true;   // strip spaces/tabs before a block/comment tag that starts a line; default true
    bool keep_trailing_newline = false;  // keep a newline that ends the template (Jinja drops it); default false
    int64_t now_unix = -1;       // time for strftime_now(), seconds since 1970 (UTC); -1 = system clock; default -1
    bool now_local = true;       // strftime_now() formats local time (true, as transformers) or UTC; default true
    jinja::limits limits{};      // safety caps; see limits
};

// =============================================================================================
// value — what templates compute with: Python/Jinja semantics.
// =============================================================================================
//
// Kinds: undefined (a missing variable/key; renders as ""), none, boolean, integer (int64), real
// (double), string (UTF-8 bytes), array (list/tuple), object (dict with insertion order, string
// keys), ns (namespace(): the one mutable kind), callable (a macro or built-in function).
// Arrays, objects and namespaces share their contents when copied, as in Python.
class value {
public:
    enum class kind_t : uint8_t { undefined, none, boolean, integer, real, string, array, object, ns, callable };
    using entry = std::pair<std::string, value>;

    value() = default;
    value(bool b) : kind_(kind_t::boolean) { num_.b = b; }                                      // NOLINT
    value(int v) : kind_(kind_t::integer) { num_.i = v; }                                       // NOLINT
    value(int64_t v) : kind_(kind_t::integer) { num_.i = v; }                                   // NOLINT
    value(double v) : kind_(kind_t::real) { num_.d = v; }                                       // NOLINT
    value(std::string s) : kind_(kind_t::string), str_(std::move(s)) {}                         // NOLINT
    value(std::string_view s) : kind_(kind_t::string), str_(s) {}                               // NOLINT
    value(const char* s) : kind_(kind_t::string), str_(s ? s : "") {}                           // NOLINT

    static value none() { value v; v.kind_ = kind_t::none; return v; }
    static value array(std::vector<value> items = {}) {
        value v;
        v.kind_ = kind_t::array;
        v.list_ = std::make_shared<list_data>();
        for (const value& it : items) v.list_->depth = std::max(v.list_->depth, it.depth() + 1);
        v.list_->items = std::move(items);
        return v;
    }
    static value object(std::vector<entry> entries = {}) {
        value v;
        v.kind_ = kind_t::object;
        v.dict_ = std::make_shared<dict_data>();
        v.dict_->entries.reserve(entries.size());
        for (entry& e : entries) v.set(std::move(e.first), std::move(e.second));
        return v;
    }
    static value make_namespace() {
        value v = object();
        v.kind_ = kind_t::ns;
        return v;
    }

    kind_t kind() const { return kind_; }
    bool is_undefined() const { return kind_ == kind_t::undefined; }
    bool is_none() const { return kind_ == kind_t::none; }
    bool is_bool() const { return kind_ == kind_t::boolean; }
    bool is_int() const { return kind_ == kind_t::integer; }
    bool is_real() const { return kind_ == kind_t::real; }
    bool is_number() const { return kind_ == kind_t::integer || kind_ == kind_t::real || kind_ == kind_t::boolean; }
    bool is_string() const { return kind_ == kind_t::string; }
    bool is_array() const { return kind_ == kind_t::array; }
    bool is_object() const { return kind_ == kind_t::object; }
    bool is_namespace() const { return kind_ == kind_t::ns; }
    bool is_callable() const { return kind_ == kind_t::callable; }

    bool as_bool() const { return kind_ == kind_t::boolean && num_.b; }
    int64_t as_int() const {
        return kind_ == kind_t::integer ? num_.i : kind_ == kind_t::boolean ? int64_t(num_.b) : kind_ == kind_t::real ? int64_t(num_.d) : 0;
    }
    double as_double() const {
        return kind_ == kind_t::real ? num_.d : kind_ == kind_t::integer ? double(num_.i) : kind_ == kind_t::boolean ? double(num_.b) : 0.0;
    }
    const std::string& as_string() const { return str_; }  // empty unless a string

    // Arrays: elements. Objects/namespaces: entries in insertion order.
    size_t size() const {
        if (list_) return list_->items.size();
        if (dict_) return dict_->entries.size();
        return 0;
    }
    const std::vector<value>& items() const { return list_ ? list_->items : empty_items(); }
    const std::vector<entry>& entries() const { return dict_ ? dict_->entries : empty_entries(); }
    // Member lookup in an object or namespace; nullptr when absent.
    const value* find(std::string_view key) const {
        if (!dict_) return nullptr;
        for (const entry& e : dict_->entries)
            if (e.first == key) return &e.second;
        return nullptr;
    }
    // Add or replace a member (objects/namespaces) — for hosts building a context and for the
    // interpreter's namespace assignment. Copies of this value see the change.
    void set(std::string key, value v) {
        NOGGIN_ASSERT(dict_, "jinja::value::set on a non-object");
        if (!dict_) return;
        dict_->depth = std::max(dict_->depth, v.depth() + 1);
        for (entry& e : dict_->entries)
            if (e.first == key) {
                e.second = std::move(v);
                return;
            }
        dict_->entries.emplace_back(std::move(key), std::move(v));
    }
    // Append to an array (hosts building values).
    void push_back(value v) {
        NOGGIN_ASSERT(list_, "jinja::value::push_back on a non-array");
        if (!list_) return;
        list_->depth = std::max(list_->depth, v.depth() + 1);
        list_->items.push_back(std::move(v));
    }
    // Nesting of lists/dicts: 0 for scalars, 1 for a flat list.
    size_t depth() const {
        if (list_) return list_->depth > 0 ? list_->depth : 1;
        if (dict_) return dict_->depth > 0 ? dict_->depth : 1;
        return 0;
    }

    // Callables (interpreter use): a macro definition node or a built-in function id.
    static value make_callable(uint32_t node, int builtin, std::string name) {
        value v;
        v.kind_ = kind_t::callable;
        v.num_.i = int64_t(node) | (int64_t(builtin) << 32);
        v.str_ = std::move(name);
        return v;
    }
    uint32_t callable_node() const { return uint32_t(uint64_t(num_.i) & 0xffffffffu); }
    int callable_builtin() const { return int(uint64_t(num_.i) >> 32); }

private:
    struct list_data {
        std::vector<value> items;
        size_t depth = 1;
    };
    struct dict_data {
        std::vector<entry> entries;
        size_t depth = 1;
    };
    static const std::vector<value>& empty_items() {
        static const std::vector<value> v;
        return v;
    }
    static const std::vector<entry>& empty_entries() {
        static const std::vector<entry> v;
        return v;
    }

    kind_t kind_ = kind_t::undefined;
    union {
        bool b;
        int64_t i;
        double d;
    } num_{};
    std::string str_;
    std::shared_ptr<list_data> list_;
    std::shared_ptr<dict_data> dict_;
};

// =============================================================================================
// text helpers: UTF-8 code points, Python str()/repr(), float formatting
// =============================================================================================
namespace detail {

// Byte length of the UTF-8 sequence starting at s[i] (1 for invalid bytes, so any input works).
inline size_t u8_len(std::string_view s, size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + n > s.size()) return 1;
    for (size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
    return n;
}
// Start offsets of each code point, plus s.size() at the end.
inline std::vector<size_t> u8_offsets(std::string_view s) {
    std::vector<size_t> off;
    off.reserve(s.size() + 1);
    for (size_t i = 0; i < s.size(); i += u8_len(s, i)) off.push_back(i);
    off.push_back(s.size());
    return off;
}
inline size_t u8_count(std::string_view s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size(); i += u8_len(s, i)) ++n;
    return n;
}
// Python's str.isspace() for the characters templates meet (ASCII whitespace, \x1c-\x1f, NEL,
// NBSP and the common Unicode spaces), given one code point's bytes.
inline bool is_py_space(std::string_view cp) {
    if (cp.size() == 1) {
        unsigned char c = static_cast<unsigned char>(cp[0]);
        return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    }
    static const char* const spaces[] = {"\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81",
                                         "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85",
                                         "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89",
                                         "\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF",
                                         "\xE2\x81\x9F", "\xE3\x80\x80"};
    for (const char* s : spaces)
        if (cp == s) return true;
    return false;
}

// Python repr(float) / str(float): shortest round-trip digits; fixed notation for exponents in
// [-4, 16), else d.ddde+XX. `json` selects json.dumps spellings for non-finite values.
inline std::string format_real(double d, bool json = false) {
    if (std::isnan(d)) return json ? "NaN" : "nan";
    if (std::isinf(d)) return d < 0 ? (json ? "-Infinity" : "-inf") : (json ? "Infinity" : "inf");
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
    std::string_view s(buf, size_t(r.ptr - buf));
    bool neg = !s.empty() && s[0] == '-';
    if (neg) s.remove_prefix(1);
    std::string digits;
    size_t e = s.find('e');
    for (size_t i = 0; i < e && i < s.size(); ++i)
        if (s[i] >= '0' && s[i] <= '9') digits.push_back(s[i]);
    int exp10 = 0;
    if (e != std::string_view::npos) {
        std::string_view es = s.substr(e + 1);
        bool eneg = !es.empty() && es[0] == '-';
        if (!es.empty() && (es[0] == '-' || es[0] == '+')) es.remove_prefix(1);
        std::from_chars(es.data(), es.data() + es.size(), exp10);
        if (eneg) exp10 = -exp10;
    }
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    std::string out = neg ? "-" : "";
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            out += "0.";
            out.append(size_t(-exp10 - 1), '0');
            out += digits;
        } else {
            size_t int_digits = size_t(exp10) + 1;
            if (digits.size() <= int_digits) {
                out += digits;
                out.append(int_digits - digits.size(), '0');
                out += ".0";
            } else {
                out += digits.substr(0, int_digits);
                out += '.';
                out += digits.substr(int_digits);
            }
        }
    } else {
        out += digits.substr(0, 1);
        if (digits.size() > 1) {
            out += '.';
            out += digits.substr(1);
        }
        out += exp10 < 0 ? "e-" : "e+";
        int a = exp10 < 0 ? -exp10 : exp10;
        if (a < 10) out += '0';
        out += std::to_string(a);
    }
    return out;
}

// Python repr() of a string: single quotes unless it holds ' and no ".
inline void repr_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    char q = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"' : '\'';
    out.push_back(q);
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        if (ch == q || ch == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (ch == '\n') {
            out += "\\n";
        } else if (ch == '\r') {
            out += "\\r";
        } else if (ch == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        } else {
            out.push_back(ch);
        }
    }
    out.push_back(q);
}

// Python str()/repr() of a value (repr for elements inside containers). Depth is bounded by
// value::depth(), which the interpreter and from_json cap.
inline void to_str(std::string& out, const value& v, bool repr) {
    switch (v.kind()) {
        case value::kind_t::undefined:
            if (repr) out += "Undefined";
            return;
        case value::kind_t::none: out += "None"; return;
        case value::kind_t::boolean: out += v.as_bool() ? "True" : "False"; return;
        case value::kind_t::integer: out += std::to_string(v.as_int()); return;
        case value::kind_t::real: out += format_real(v.as_double()); return;
        case value::kind_t::string:
            if (repr) repr_string(out, v.as_string());
            else out += v.as_string();
            return;
        case value::kind_t::array: {
            out.push_back('[');
            bool first = true;
            for (const value& it : v.items()) {
                if (!first) out += ", ";
                first = false;
                to_str(out, it, true);
            }
            out.push_back(']');
            return;
        }
        case value::kind_t::object: {
            out.push_back('{');
            bool first = true;
            for (const value::entry& e : v.entries()) {
                if (!first) out += ", ";
                first = false;
                repr_string(out, e.first);
                out += ": ";
                to_str(out, e.second, true);
            }
            out.push_back('}');
            return;
        }
        case value::kind_t::ns: out += "<Namespace>"; return;
        case value::kind_t::callable: out += "<function "; out += v.as_string(); out += ">"; return;
    }
}

}  // namespace detail

// Python str(v) as Jinja prints it: None, True, 1.0, ['a', 1], {'k': 'v'}; undefined is "".
inline std::string to_string(const value& v) {
    std::string out;
    detail::to_str(out, v, false);
    return out;
}

// =============================================================================================
// JSON conversion
// =============================================================================================

// Convert a parsed JSON value (messages, tools, extra context) to a Jinja value. Fails with
// limit_exceeded when nesting exceeds `max_depth`.
inline result<value> from_json(const json_value& j, size_t max_depth = limits{}.max_value_depth) {
    struct conv {
        static status run(const json_value& j, value& out, size_t depth, size_t max_depth) {
            if (depth > max_depth) return status(status_code::limit_exceeded, "jinja: JSON value nested too deeply");
            switch (j.kind()) {
                case json_value::kind_t::null: out = value::none(); return status();
                case json_value::kind_t::boolean: out = value(j.as_bool()); return status();
                case json_value::kind_t::integer: out = value(j.as_int()); return status();
                case json_value::kind_t::real: out = value(j.as_double()); return status();
                case json_value::kind_t::string: out = value(j.as_string()); return status();
                case json_value::kind_t::array: {
                    out = value::array();
                    for (const json_value& it : j.items()) {
                        value v;
                        NOGGIN_TRY(run(it, v, depth + 1, max_depth));
                        out.push_back(std::move(v));
                    }
                    return status();
                }
                case json_value::kind_t::object: {
                    out = value::object();
                    for (size_t i = 0; i < j.size(); ++i) {
                        value v;
                        NOGGIN_TRY(run(j[i], v, depth + 1, max_depth));
                        out.set(j.key(i), std::move(v));
                    }
                    return status();
                }
            }
            return status();
        }
    };
    value out;
    NOGGIN_TRY(conv::run(j, out, 1, max_depth));
    return out;
}

namespace detail {
// json.dumps(ensure_ascii=True) quoting: non-ASCII as \uXXXX (surrogate pairs above U+FFFF).
inline void json_quote_ascii(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (size_t i = 0; i < s.size();) {
        size_t l = u8_len(s, i);
        unsigned char c0 = static_cast<unsigned char>(s[i]);
        if (c0 < 0x80) {
            std::string q;
            json_quote(q, s.substr(i, 1));
            out.append(q, 1, q.size() - 2);
            ++i;
            continue;
        }
        uint32_t cp = l == 1 ? 0xFFFD : l == 2 ? (c0 & 0x1Fu) : l == 3 ? (c0 & 0x0Fu) : (c0 & 0x07u);
        for (size_t k = 1; k < l; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
        auto unit = [&](uint32_t u) {
            out += "\\u";
            for (int sh = 12; sh >= 0; sh -= 4) out.push_back(hex[(u >> sh) & 15]);
        };
        if (cp >= 0x10000) {
            cp -= 0x10000;
            unit(0xD800 + (cp >> 10));
            unit(0xDC00 + (cp & 0x3FF));
        } else {
            unit(cp);
        }
        i += l;
    }
    out.push_back('"');
}
}  // namespace detail

// Serialise like transformers' tojson filter, i.e. Python json.dumps(v, ensure_ascii=False,
// indent=indent, sort_keys=False): ", " and ": " separators without indent; with indent >= 0
// "," line breaks and `indent` spaces per level; ensure_ascii writes non-ASCII as \uXXXX. Undefined, namespaces and callables are not
// serialisable (invalid_argument).
inline status to_json(std::string& out, const value& v, int indent = -1, int level = 0, bool ensure_ascii = false) {
    auto newline = [&](int lvl) {
        out.push_back('\n');
        out.append(size_t(indent) * size_t(lvl), ' ');
    };
    switch (v.kind()) {
        case value::kind_t::none: out += "null"; return status();
        case value::kind_t::boolean: out += v.as_bool() ? "true" : "false"; return status();
        case value::kind_t::integer: out += std::to_string(v.as_int()); return status();
        case value::kind_t::real: out += detail::format_real(v.as_double(), true); return status();
        case value::kind_t::string:
            if (ensure_ascii) detail::json_quote_ascii(out, v.as_string());
            else json_quote(out, v.as_string());
            return status();
        case value::kind_t::array: {
            if (v.size() == 0) {
                out += "[]";
                return status();
            }
            out.push_back('[');
            bool first = true;
            for (const value& it : v.items()) {
                if (!first) out += indent >= 0 ? "," : ", ";
                first = false;
                if (indent >= 0) newline(level + 1);
                NOGGIN_TRY(to_json(out, it, indent, level + 1, ensure_ascii));
            }
            if (indent >= 0) newline(level);
            out.push_back(']');
            return status();
        }
        case value::kind_t::object: {
            if (v.size() == 0) {
                out += "{}";
                return status();
            }
            out.push_back('{');
            bool first = true;
            for (const value::entry& e : v.entries()) {
                if (!first) out += indent >= 0 ? "," : ", ";
                first = false;
                if (indent >= 0) newline(level + 1);
                if (ensure_ascii) detail::json_quote_ascii(out, e.first);
                else json_quote(out, e.first);
                out += ": ";
                NOGGIN_TRY(to_json(out, e.second, indent, level + 1, ensure_ascii));
            }
            if (indent >= 0) newline(level);
            out.push_back('}');
            return status();
        }
        case value::kind_t::undefined:
            return status(status_code::invalid_argument, "Object of type Undefined is not JSON serializable");
        case value::kind_t::ns:
            return status(status_code::invalid_argument, "Object of type Namespace is not JSON serializable");
        case value::kind_t::callable:
            return status(status_code::invalid_argument, "a function is not JSON serializable");
    }
    return status();
}

// =============================================================================================
// lexer — template text → tokens (text, tag delimiters, expression tokens)
// =============================================================================================
namespace detail {

enum class tok : uint8_t {
    text,         // raw template text (after whitespace control)
    var_begin,    // {{
    var_end,      // }}
    block_begin,  // {%
    block_end,    // %}
    name,         // identifier or keyword
    string,       // string literal (decoded)
    integer,
    real,
    op,           // operator or punctuation; text holds it
    eof,
};

struct token {
    tok type = tok::eof;
    uint32_t pos = 0;  // byte offset in the source
    std::string text;  // text/name/op/decoded string
    int64_t i = 0;
    double d = 0;
};

// Line and column (1-based, column in bytes) of a byte offset.
inline std::string where(std::string_view src, uint32_t pos) {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < pos && k < src.size(); ++k) {
        if (src[k] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return str("line ", line, ", column ", col);
}

inline status syntax_error(std::string_view src, uint32_t pos, std::string_view what,
                           status_code code = status_code::format_error) {
    return status(code, str("jinja: ", where(src, pos), ": ", what));
}

class lexer {
public:
    lexer(std::string_view src, const options& opt) : src_(src), opt_(opt) {}

    status run(std::vector<token>& out) {
        // Raw pieces: text tokens carry their tag neighbours' whitespace flags, applied below.
        struct text_piece {
            size_t index;          // index into out
            bool line_start;       // text begins a line (template start, or after a trimmed newline)
        };
        bool line_start = true;
        size_t pos = 0;
        const size_t n = src_.size();
        while (pos < n) {
            size_t open = find_tag(pos);
            // Text before the tag.
            std::string text(src_.substr(pos, open - pos));
            size_t text_index = out.size();
            bool text_line_start = line_start;
            token t;
            t.type = tok::text;
            t.pos = uint32_t(pos);
            t.text = std::move(text);
            out.push_back(std::move(t));
            if (open >= n) break;
            char kind = src_[open + 1];  // '{', '%' or '#'
            size_t p = open + 2;
            char ctl = (p < n && (src_[p] == '-' || src_[p] == '+')) ? src_[p] : 0;
            if (ctl) ++p;
            // Left whitespace control on the preceding text.
            std::string& prev = out[text_index].text;
            if (ctl == '-') {
                size_t e = prev.size();
                while (e > 0 && is_ws(prev[e - 1])) --e;
                prev.resize(e);
            } else if (ctl != '+' && opt_.lstrip_blocks && kind != '{') {
                size_t nl = prev.rfind('\n');
                size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
                if (l_pos > 0 || text_line_start) {
                    bool only_ws = true;
                    for (size_t k = l_pos; k < prev.size(); ++k)
                        if (prev[k] != ' ' && prev[k] != '\t') only_ws = false;
                    if (only_ws) prev.resize(l_pos);
                }
            }
            if (kind == '#') {
                size_t close = src_.find("#}", p);
                if (close == std::string_view::npos) return syntax_error(src_, uint32_t(open), "unterminated comment '{#'");
                bool rstrip = close > p && src_[close - 1] == '-';
                bool keep = close > p && src_[close - 1] == '+';
                pos = close + 2;
                line_start = after_tag(pos, rstrip, !keep && opt_.trim_blocks);
                continue;
            }
            token b;
            b.type = kind == '{' ? tok::var_begin : tok::block_begin;
            b.pos = uint32_t(open);
            out.push_back(b);
            // Expression tokens until the matching end delimiter.
            int nesting = 0;
            for (;;) {
                while (p < n && is_ws(src_[p])) ++p;
                if (p >= n)
                    return syntax_error(src_, uint32_t(open), kind == '{' ? "unterminated '{{'" : "unterminated '{%'");
                char c = src_[p];
                const char end_c = kind == '{' ? '}' : '%';
                // End delimiter (optionally with '-' / '+').
                if (nesting == 0) {
                    size_t q = p;
                    char ectl = 0;
                    if ((c == '-' || c == '+') && q + 2 < n + 0 && src_[q + 1] == end_c && src_[q + 2] == '}') {
                        ectl = c;
                        ++q;
                    }
                    if (q + 1 < n && src_[q] == end_c && src_[q + 1] == '}') {
                        token e;
                        e.type = kind == '{' ? tok::var_end : tok::block_end;
                        e.pos = uint32_t(p);
                        out.push_back(e);
                        pos = q + 2;
                        bool trim = kind == '%' && ectl != '+' && opt_.trim_blocks;
                        line_start = after_tag(pos, ectl == '-', trim);
                        break;
                    }
                }
                token t2;
                t2.pos = uint32_t(p);
                if (is_alpha(c)) {
                    size_t s = p;
                    while (p < n && (is_alpha(src_[p]) || (src_[p] >= '0' && src_[p] <= '9'))) ++p;
                    t2.type = tok::name;
                    t2.text = std::string(src_.substr(s, p - s));
                } else if (c >= '0' && c <= '9') {
                    NOGGIN_TRY(number(p, t2));
                } else if (c == '\'' || c == '"') {
                    NOGGIN_TRY(string_lit(p, t2));
                } else {
                    static const char* const ops[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%",
                                                      "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",",
                                                      ".", ":", "|"};
                    const char* match = nullptr;
                    for (const char* o : ops) {
                        size_t len = std::strlen(o);
                        if (src_.substr(p, len) == o) {
                            match = o;
                            break;
                        }
                    }
                    if (!match) return syntax_error(src_, uint32_t(p), str("unexpected character '", c, "'"));
                    t2.type = tok::op;
                    t2.text = match;
                    p += t2.text.size();
                    if (t2.text == "(" || t2.text == "[" || t2.text == "{") ++nesting;
                    if (t2.text == ")" || t2.text == "]" || t2.text == "}") {
                        if (nesting == 0) return syntax_error(src_, t2.pos, str("unbalanced '", t2.text, "'"));
                        --nesting;
                    }
                }
                out.push_back(std::move(t2));
            }
        }
        token e;
        e.type = tok::eof;
        e.pos = uint32_t(n);
        out.push_back(e);
        return status();
    }

private:
    static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
    static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

    // Offset of the next "{{", "{%" or "{#" at or after pos; src_.size() when none.
    size_t find_tag(size_t pos) const {
        for (;;) {
            size_t k = src_.find('{', pos);
            if (k == std::string_view::npos || k + 1 >= src_.size()) return src_.size();
            char c = src_[k + 1];
            if (c == '{' || c == '%' || c == '#') return k;
            pos = k + 1;
        }
    }

    // Right whitespace control after a tag ending at `pos` (moves pos). Returns whether the next
    // text starts a line (what was consumed ended with a newline), as Jinja's lexer tracks it.
    bool after_tag(size_t& pos, bool strip_all, bool trim_newline) const {
        size_t start = pos;
        if (strip_all) {
            while (pos < src_.size() && is_ws(src_[pos])) ++pos;
        } else if (trim_newline && pos < src_.size() && src_[pos] == '\n') {
            ++pos;
        }
        return pos > start && src_[pos - 1] == '\n';
    }

    status number(size_t& p, token& t) {
        size_t s = p;
        const size_t n = src_.size();
        while (p < n && ((src_[p] >= '0' && src_[p] <= '9') || src_[p] == '_')) ++p;
        bool real = false;
        if (p + 1 < n && src_[p] == '.' && src_[p + 1] >= '0' && src_[p + 1] <= '9') {
            real = true;
            ++p;
            while (p < n && ((src_[p] >= '0' && src_[p] <= '9') || src_[p] == '_')) ++p;
        }
        if (p < n && (src_[p] == 'e' || src_[p] == 'E')) {
            size_t q = p + 1;
            if (q < n && (src_[q] == '+' || src_[q] == '-')) ++q;
            if (q < n && src_[q] >= '0' && src_[q] <= '9') {
                real = true;
                p = q;
                while (p < n && src_[p] >= '0' && src_[p] <= '9') ++p;
            }
        }
        std::string digits;
        for (size_t k = s; k < p; ++k)
            if (src_[k] != '_') digits.push_back(src_[k]);
        if (real) {
            double d = 0;
            auto r = std::from_chars(digits.data(), digits.data() + digits.size(), d);
            if (r.ec != std::errc() || r.ptr != digits.data() + digits.size())
                return syntax_error(src_, uint32_t(s), "invalid number literal");
            t.type = tok::real;
            t.d = d;
        } else {
            int64_t i = 0;
            auto r = std::from_chars(digits.data(), digits.data() + digits.size(), i);
            if (r.ec != std::errc() || r.ptr != digits.data() + digits.size())
                return syntax_error(src_, uint32_t(s), "integer literal out of range", status_code::unsupported);
            t.type = tok::integer;
            t.i = i;
        }
        return status();
    }

    // Python string literal with escapes (\n \t \r \\ \' \" \0 \a \b \f \v \xHH \uHHHH \UHHHHHHHH;
    // an unknown escape keeps its backslash, as Python does).
    status string_lit(size_t& p, token& t) {
        const size_t n = src_.size();
        char q = src_[p];
        size_t s = p++;
        t.type = tok::string;
        for (;;) {
            if (p >= n) return syntax_error(src_, uint32_t(s), "unterminated string literal");
            char c = src_[p];
            if (c == q) {
                ++p;
                return status();
            }
            if (c != '\\') {
                t.text.push_back(c);
                ++p;
                continue;
            }
            if (p + 1 >= n) return syntax_error(src_, uint32_t(s), "unterminated string literal");
            char e = src_[p + 1];
            p += 2;
            switch (e) {
                case 'n': t.text.push_back('\n'); break;
                case 't': t.text.push_back('\t'); break;
                case 'r': t.text.push_back('\r'); break;
                case '\\': t.text.push_back('\\'); break;
                case '\'': t.text.push_back('\''); break;
                case '"': t.text.push_back('"'); break;
                case '0': t.text.push_back('\0'); break;
                case 'a': t.text.push_back('\a'); break;
                case 'b': t.text.push_back('\b'); break;
                case 'f': t.text.push_back('\f'); break;
                case 'v': t.text.push_back('\v'); break;
                case '\n': break;  // line continuation
                case 'x':
                case 'u':
                case 'U': {
                    size_t len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (p + len > n) return syntax_error(src_, uint32_t(p - 2), "truncated escape in string literal");
                    uint32_t cp = 0;
                    for (size_t k = 0; k < len; ++k) {
                        char h = src_[p + k];
                        int v = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
                        if (v < 0) return syntax_error(src_, uint32_t(p - 2), "invalid escape in string literal");
                        cp = cp * 16 + uint32_t(v);
                    }
                    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return syntax_error(src_, uint32_t(p - 2), "invalid code point in string literal");
                    p += len;
                    append_utf8_code_point(t.text, cp);
                    break;
                }
                default:
                    t.text.push_back('\\');
                    t.text.push_back(e);
            }
        }
    }

    std::string_view src_;
    const options& opt_;
};

// =============================================================================================
// AST — one flat vector of nodes; children are indices (destruction is never recursive)
// =============================================================================================
enum class nk : uint8_t {
    // expressions
    literal,    // lit
    name,       // text
    getattr,    // kids[0] . text
    getitem,    // kids[0] [ kids[1] ]
    slice,      // kids[0] [ kids[1] : kids[2] : kids[3] ]  (npos = omitted)
    call,       // kids[0] ( kids[1..] ); names[i-1] = keyword or ""
    filter,     // text = filter name; kids[0] = input, kids[1..] args; names as call
    test,       // text = test name; flag = negated; kids[0] = input, kids[1..] args
    unary,      // text = "-", "+" or "not"; kids[0]
    binary,     // text = operator (+ - * / // % ** ~ == != < > <= >= in "not in" and or); kids[0], kids[1]
    cond,       // kids[0] if kids[1] else kids[2] (npos = undefined)
    list,       // kids = elements
    dict,       // kids = key, value, key, value...
    // statements
    block,      // kids = statements
    text,       // text
    output,     // {{ kids[0] }}
    if_,        // kids[0] cond, kids[1] then-block, kids[2] else-block or npos
    for_,       // names = targets; kids[0] iterable, kids[1] filter or npos, kids[2] body, kids[3] else or npos
    set,        // names = targets; kids[0] value
    set_attr,   // names[0] = namespace var, text = attribute; kids[0] value
    set_block,  // names[0] = target; kids[0] body
    macro,      // text = name; names = params; kids[0] body, kids[1..] defaults (npos = none)
    break_,
    continue_,
};

constexpr uint32_t npos = 0xffffffffu;

struct node {
    nk kind = nk::literal;
    bool flag = false;
    uint32_t pos = 0;
    std::string text;
    value lit;
    std::vector<uint32_t> kids;
    std::vector<std::string> names;
};

// =============================================================================================
// parser — tokens → AST (recursion bounded by limits.max_depth)
// =============================================================================================
class parser {
public:
    parser(std::string_view src, const std::vector<token>& toks, std::vector<node>& nodes, const limits& lim)
        : src_(src), t_(toks), nodes_(nodes), lim_(lim) {}

    status parse_template(uint32_t& root) {
        std::string end;
        NOGGIN_TRY(parse_body(root, {}, end));
        return status();
    }

private:
    // --- helpers ---
    const token& cur() const { return t_[i_]; }
    const token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
    bool is_op(const char* o) const { return cur().type == tok::op && cur().text == o; }
    bool is_name(const char* n) const { return cur().type == tok::name && cur().text == n; }
    status error(std::string_view what, status_code code = status_code::format_error) const {
        return syntax_error(src_, cur().pos, what, code);
    }
    status expect_op(const char* o) {
        if (!is_op(o)) return error(str("expected '", o, "'", describe_cur()));
        ++i_;
        return status();
    }
    std::string describe_cur() const {
        switch (cur().type) {
            case tok::eof: return " but the template ended";
            case tok::block_end: return " but found '%}'";
            case tok::var_end: return " but found '}}'";
            case tok::name:
            case tok::op: return str(" but found '", cur().text, "'");
            default: return "";
        }
    }
    status expect_block_end() {
        if (cur().type != tok::block_end) return error(str("expected '%}'", describe_cur()));
        ++i_;
        return status();
    }
    uint32_t add(nk kind, uint32_t pos) {
        node n;
        n.kind = kind;
        n.pos = pos;
        nodes_.push_back(std::move(n));
        return uint32_t(nodes_.size() - 1);
    }
    status enter() {
        if (++depth_ > lim_.max_depth) return error("template nested too deeply", status_code::limit_exceeded);
        return status();
    }
    struct depth_guard {
        size_t& d;
        ~depth_guard() { --d; }
    };

    // --- statements ---
    // Parse statements until a block tag whose name is in `ends` (consumed up to the name; the
    // caller finishes the tag). `end` receives the name ("" at end of template).
    status parse_body(uint32_t& out, std::initializer_list<const char*> ends, std::string& end) {
        NOGGIN_TRY(enter());
        depth_guard g{depth_};
        uint32_t blk = add(nk::block, cur().pos);
        for (;;) {
            const token& t = cur();
            if (t.type == tok::eof) {
                if (ends.size() != 0) {
                    std::string names;
                    for (const char* e : ends) names += str(names.empty() ? "" : " or ", "'", e, "'");
                    return syntax_error(src_, t.pos, str("unexpected end of template; expected ", names));
                }
                end.clear();
                out = blk;
                return status();
            }
            if (t.type == tok::text) {
                if (!t.text.empty()) {
                    uint32_t n = add(nk::text, t.pos);
                    nodes_[n].text = t.text;
                    nodes_[blk].kids.push_back(n);
                }
                ++i_;
                continue;
            }
            if (t.type == tok::var_begin) {
                ++i_;
                uint32_t e;
                NOGGIN_TRY(parse_expr(e));
                if (cur().type != tok::var_end) return error(str("expected '}}'", describe_cur()));
                ++i_;
                uint32_t n = add(nk::output, t.pos);
                nodes_[n].kids.push_back(e);
                nodes_[blk].kids.push_back(n);
                continue;
            }
            if (t.type != tok::block_begin) return error("unexpected token");
            ++i_;
            if (cur().type != tok::name) return error("expected a tag name after '{%'");
            const std::string& name = cur().text;
            for (const char* e : ends)
                if (name == e) {
                    end = name;
                    ++i_;
                    out = blk;
                    return status();
                }
            uint32_t s = npos;
            NOGGIN_TRY(parse_statement(s));
            if (s != npos) nodes_[blk].kids.push_back(s);
        }
    }

    status parse_statement(uint32_t& out) {
        const token& t = cur();
        uint32_t pos = t.pos;
        std::string name = t.text;
        ++i_;
        if (name == "if") return parse_if(out, pos);
        if (name == "for") return parse_for(out, pos);
        if (name == "set") return parse_set(out, pos);
        if (name == "macro") return parse_macro(out, pos);
        if (name == "break" || name == "continue") {
            if (loop_depth_ == 0) return syntax_error(src_, pos, str("'", name, "' outside a loop"));
            out = add(name == "break" ? nk::break_ : nk::continue_, pos);
            return expect_block_end();
        }
        if (name == "generation") {  // transformers' assistant-mask marker: renders its body
            NOGGIN_TRY(expect_block_end());
            std::string end;
            NOGGIN_TRY(parse_body(out, {"endgeneration"}, end));
            return expect_block_end();
        }
        static const char* const known[] = {"elif", "else", "endif", "endfor", "endset", "endmacro", "endgeneration"};
        for (const char* k : known)
            if (name == k) return syntax_error(src_, pos, str("unexpected '{% ", name, " %}'"));
        return syntax_error(src_, pos, str("unsupported tag '{% ", name, " %}'"), status_code::unsupported);
    }

    status parse_if(uint32_t& out, uint32_t pos) {
        NOGGIN_TRY(enter());
        depth_guard g{depth_};
        uint32_t n = add(nk::if_, pos);
        uint32_t c, body, other = npos;
        NOGGIN_TRY(parse_expr(c));
        NOGGIN_TRY(expect_block_end());
        std::string end;
        NOGGIN_TRY(parse_body(body, {"elif", "else", "endif"}, end));
        if (end == "elif") {
            uint32_t epos = t_[i_ - 1].pos;
            uint32_t inner;
            NOGGIN_TRY(parse_if(inner, epos));  // consumes through endif
            other = add(nk::block, epos);
            nodes_[other].kids.push_back(inner);
        } else if (end == "else") {
            NOGGIN_TRY(expect_block_end());
            NOGGIN_TRY(parse_body(other, {"endif"}, end));
            NOGGIN_TRY(expect_block_end());
        } else {
            NOGGIN_TRY(expect_block_end());
        }
        nodes_[n].kids = {c, body, other};
        out = n;
        return status();
    }

    status parse_targets(std::vector<std::string>& names) {
        bool paren = is_op("(");
        if (paren) ++i_;
        for (;;) {
            if (cur().type != tok::name) return error("expected a variable name");
            names.push_back(cur().text);
            ++i_;
            if (!is_op(",")) break;
            ++i_;
        }
        if (paren) NOGGIN_TRY(expect_op(")"));
        return status();
    }

    status parse_for(uint32_t& out, uint32_t pos) {
        uint32_t n = add(nk::for_, pos);
        std::vector<std::string> targets;
        NOGGIN_TRY(parse_targets(targets));
        if (!is_name("in")) return error(str("expected 'in'", describe_cur()));
        ++i_;
        uint32_t iter, filt = npos, body, other = npos;
        NOGGIN_TRY(parse_ternary_free(iter));  // `for x in xs if cond`: the `if` is a filter
        if (is_name("if")) {
            ++i_;
            NOGGIN_TRY(parse_ternary_free(filt));
        }
        if (is_name("recursive")) return error("recursive loops are not supported", status_code::unsupported);
        NOGGIN_TRY(expect_block_end());
        std::string end;
        ++loop_depth_;
        status s = parse_body(body, {"else", "endfor"}, end);
        --loop_depth_;
        NOGGIN_TRY(s);
        if (end == "else") {
            NOGGIN_TRY(expect_block_end());
            NOGGIN_TRY(parse_body(other, {"endfor"}, end));
        }
        NOGGIN_TRY(expect_block_end());
        nodes_[n].names = std::move(targets);
        nodes_[n].kids = {iter, filt, body, other};
        out = n;
        return status();
    }

    status parse_set(uint32_t& out, uint32_t pos) {
        if (cur().type != tok::name) return error("expected a variable name after 'set'");
        if (peek().type == tok::op && peek().text == ".") {
            uint32_t n = add(nk::set_attr, pos);
            nodes_[n].names.push_back(cur().text);
            i_ += 2;
            if (cur().type != tok::name) return error("expected an attribute name");
            nodes_[n].text = cur().text;
            ++i_;
            NOGGIN_TRY(expect_op("="));
            uint32_t v;
            NOGGIN_TRY(parse_tuple_expr(v));
            nodes_[n].kids.push_back(v);
            out = n;
            return expect_block_end();
        }
        std::vector<std::string> targets;
        NOGGIN_TRY(parse_targets(targets));
        if (cur().type == tok::block_end && targets.size() == 1) {  // {% set x %}...{% endset %}
            ++i_;
            uint32_t n = add(nk::set_block, pos);
            uint32_t body;
            std::string end;
            NOGGIN_TRY(parse_body(body, {"endset"}, end));
            NOGGIN_TRY(expect_block_end());
            nodes_[n].names = std::move(targets);
            nodes_[n].kids.push_back(body);
            out = n;
            return status();
        }
        NOGGIN_TRY(expect_op("="));
        uint32_t n = add(nk::set, pos);
        uint32_t v;
        NOGGIN_TRY(parse_tuple_expr(v));
        nodes_[n].names = std::move(targets);
        nodes_[n].kids.push_back(v);
        out = n;
        return expect_block_end();
    }

    status parse_macro(uint32_t& out, uint32_t pos) {
        if (cur().type != tok::name) return error("expected a macro name");
        uint32_t n = add(nk::macro, pos);
        nodes_[n].text = cur().text;
        ++i_;
        NOGGIN_TRY(expect_op("("));
        std::vector<uint32_t> defaults;
        while (!is_op(")")) {
            if (cur().type != tok::name) return error("expected a parameter name");
            nodes_[n].names.push_back(cur().text);
            ++i_;
            uint32_t d = npos;
            if (is_op("=")) {
                ++i_;
                NOGGIN_TRY(parse_expr(d));
            }
            defaults.push_back(d);
            if (!is_op(",")) break;
            ++i_;
        }
        NOGGIN_TRY(expect_op(")"));
        NOGGIN_TRY(expect_block_end());
        uint32_t body;
        std::string end;
        size_t saved_loops = loop_depth_;
        loop_depth_ = 0;
        status s = parse_body(body, {"endmacro"}, end);
        loop_depth_ = saved_loops;
        NOGGIN_TRY(s);
        if (cur().type == tok::name) ++i_;  // {% endmacro name %}
        NOGGIN_TRY(expect_block_end());
        nodes_[n].kids.push_back(body);
        for (uint32_t d : defaults) nodes_[n].kids.push_back(d);
        out = n;
        return status();
    }

    // --- expressions (Jinja2 precedence) ---
    // A bare tuple `a, b` where Jinja allows one (set values).
    status parse_tuple_expr(uint32_t& out) {
        uint32_t first;
        NOGGIN_TRY(parse_expr(first));
        if (!is_op(",")) {
            out = first;
            return status();
        }
        uint32_t l = add(nk::list, nodes_[first].pos);
        nodes_[l].kids.push_back(first);
        while (is_op(",")) {
            ++i_;
            if (cur().type == tok::block_end) break;
            uint32_t e;
            NOGGIN_TRY(parse_expr(e));
            nodes_[l].kids.push_back(e);
        }
        out = l;
        return status();
    }

    status parse_expr(uint32_t& out) {
        NOGGIN_TRY(enter());
        depth_guard g{depth_};
        uint32_t body;
        NOGGIN_TRY(parse_or(body));
        if (!is_name("if")) {
            out = body;
            return status();
        }
        uint32_t pos = cur().pos;
        ++i_;
        uint32_t c, other = npos;
        NOGGIN_TRY(parse_or(c));
        if (is_name("else")) {
            ++i_;
            NOGGIN_TRY(parse_expr(other));
        }
        out = add(nk::cond, pos);
        nodes_[out].kids = {body, c, other};
        return status();
    }
    // Expression without a trailing `if` (for-loop iterables and filters).
    status parse_ternary_free(uint32_t& out) {
        NOGGIN_TRY(enter());
        depth_guard g{depth_};
        return parse_or(out);
    }

    uint32_t binary(const std::string& op, uint32_t a, uint32_t b, uint32_t pos) {
        uint32_t n = add(nk::binary, pos);
        nodes_[n].text = op;
        nodes_[n].kids = {a, b};
        return n;
    }

    status parse_or(uint32_t& out) {
        NOGGIN_TRY(parse_and(out));
        while (is_name("or")) {
            uint32_t pos = cur().pos;
            ++i_;
            uint32_t r;
            NOGGIN_TRY(parse_and(r));
            out = binary("or", out, r, pos);
        }
        return status();
    }
    status parse_and(uint32_t& out) {
        NOGGIN_TRY(parse_not(out));
        while (is_name("and")) {
            uint32_t pos = cur().pos;
            ++i_;
            uint32_t r;
            NOGGIN_TRY(parse_not(r));
            out = binary("and", out, r, pos);
        }
        return status();
    }
    status parse_not(uint32_t& out) {
        if (is_name("not")) {
            NOGGIN_TRY(enter());
            depth_guard g{depth_};
            uint32_t pos = cur().pos;
            ++i_;
            uint32_t x;
            NOGGIN_TRY(parse_not(x));
            out = add(nk::unary, pos);
            nodes_[out].text = "not";
            nodes_[out].kids.push_back(x);
            return status();
        }
        return parse_compare(out);
    }
    status parse_compare(uint32_t& out) {
        NOGGIN_TRY(parse_math1(out));
        uint32_t last_right = npos;
        for (;;) {
            uint32_t pos = cur().pos;
            std::string op;
            if (cur().type == tok::op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                          cur().text == ">" || cur().text == "<=" || cur().text == ">=")) {
                op = cur().text;
                ++i_;
            } else if (is_name("in")) {
                op = "in";
                ++i_;
            } else if (is_name("not") && peek().type == tok::name && peek().text == "in") {
                op = "not in";
                i_ += 2;
            } else {
                return status();
            }
            uint32_t r;
            NOGGIN_TRY(parse_math1(r));
            if (last_right != npos) {  // chained: (a op1 b) and (b op2 c); b is side-effect free
                uint32_t link = binary(op, last_right, r, pos);
                out = binary("and", out, link, pos);
            } else {
                out = binary(op, out, r, pos);
            }
            last_right = r;
        }
    }
    status parse_math1(uint32_t& out) {
        NOGGIN_TRY(parse_concat(out));
        while (is_op("+") || is_op("-")) {
            std::string op = cur().text;
            uint32_t pos = cur().pos;
            ++i_;
            uint32_t r;
            NOGGIN_TRY(parse_concat(r));
            out = binary(op, out, r, pos);
        }
        return status();
    }
    status parse_concat(uint32_t& out) {
        NOGGIN_TRY(parse_math2(out));
        while (is_op("~")) {
            uint32_t pos = cur().pos;
            ++i_;
            uint32_t r;
            NOGGIN_TRY(parse_math2(r));
            out = binary("~", out, r, pos);
        }
        return status();
    }
    status parse_math2(uint32_t& out) {
        NOGGIN_TRY(parse_pow(out));
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            std::string op = cur().text;
            uint32_t pos = cur().pos;
            ++i_;
            uint32_t r;
            NOGGIN_TRY(parse_pow(r));
            out = binary(op, out, r, pos);
        }
        return status();
    }
    status parse_pow(uint32_t& out) {
        NOGGIN_TRY(parse_unary(out, true));
        while (is_op("**")) {
            uint32_t pos = cur().pos;
            ++i_;
            uint32_t r;
            NOGGIN_TRY(parse_unary(r, true));
            out = binary("**", out, r, pos);
        }
        return status();
    }
    status parse_unary(uint32_t& out, bool with_filter) {
        NOGGIN_TRY(enter());
        depth_guard g{depth_};
        if (is_op("-") || is_op("+")) {
            uint32_t pos = cur().pos;
            std::string op = cur().text;
            ++i_;
            uint32_t x;
            NOGGIN_TRY(parse_unary(x, false));
            out = add(nk::unary, pos);
            nodes_[out].text = op;
            nodes_[out].kids.push_back(x);
        } else {
            NOGGIN_TRY(parse_primary(out));
        }
        NOGGIN_TRY(parse_postfix(out));
        if (with_filter) NOGGIN_TRY(parse_filter_expr(out));
        return status();
    }

    status parse_primary(uint32_t& out) {
        const token& t = cur();
        uint32_t pos = t.pos;
        switch (t.type) {
            case tok::name: {
                const std::string& nm = t.text;
                if (nm == "true" || nm == "True" || nm == "false" || nm == "False") {
                    out = add(nk::literal, pos);
                    nodes_[out].lit = value(nm[0] == 't' || nm[0] == 'T');
                } else if (nm == "none" || nm == "None") {
                    out = add(nk::literal, pos);
                    nodes_[out].lit = value::none();
                } else {
                    out = add(nk::name, pos);
                    nodes_[out].text = nm;
                }
                ++i_;
                return status();
            }
            case tok::string: {
                std::string s;
                while (cur().type == tok::string) {  // adjacent literals concatenate
                    s += cur().text;
                    ++i_;
                }
                out = add(nk::literal, pos);
                nodes_[out].lit = value(std::move(s));
                return status();
            }
            case tok::integer:
                out = add(nk::literal, pos);
                nodes_[out].lit = value(t.i);
                ++i_;
                return status();
            case tok::real:
                out = add(nk::literal, pos);
                nodes_[out].lit = value(t.d);
                ++i_;
                return status();
            case tok::op:
                if (t.text == "(") {
                    ++i_;
                    if (is_op(")")) {  // empty tuple
                        ++i_;
                        out = add(nk::list, pos);
                        return status();
                    }
                    uint32_t first;
                    NOGGIN_TRY(parse_expr(first));
                    if (is_op(")")) {
                        ++i_;
                        out = first;
                        return status();
                    }
                    out = add(nk::list, pos);
                    nodes_[out].kids.push_back(first);
                    while (is_op(",")) {
                        ++i_;
                        if (is_op(")")) break;
                        uint32_t e;
                        NOGGIN_TRY(parse_expr(e));
                        nodes_[out].kids.push_back(e);
                    }
                    return expect_op(")");
                }
                if (t.text == "[") {
                    ++i_;
                    out = add(nk::list, pos);
                    while (!is_op("]")) {
                        uint32_t e;
                        NOGGIN_TRY(parse_expr(e));
                        nodes_[out].kids.push_back(e);
                        if (!is_op(",")) break;
                        ++i_;
                    }
                    return expect_op("]");
                }
                if (t.text == "{") {
                    ++i_;
                    out = add(nk::dict, pos);
                    while (!is_op("}")) {
                        uint32_t k, v;
                        NOGGIN_TRY(parse_expr(k));
                        NOGGIN_TRY(expect_op(":"));
                        NOGGIN_TRY(parse_expr(v));
                        nodes_[out].kids.push_back(k);
                        nodes_[out].kids.push_back(v);
                        if (!is_op(",")) break;
                        ++i_;
                    }
                    return expect_op("}");
                }
                break;
            default: break;
        }
        return error(str("expected an expression", describe_cur()));
    }

    status parse_call_args(uint32_t n) {
        // cur() is just after '('
        while (!is_op(")")) {
            std::string kw;
            if (cur().type == tok::name && peek().type == tok::op && peek().text == "=") {
                kw = cur().text;
                i_ += 2;
            } else if (is_op("*") || is_op("**")) {
                return error("*args/**kwargs in calls are not supported", status_code::unsupported);
            }
            uint32_t a;
            NOGGIN_TRY(parse_expr(a));
            nodes_[n].kids.push_back(a);
            nodes_[n].names.push_back(std::move(kw));
            if (!is_op(",")) break;
            ++i_;
        }
        return expect_op(")");
    }

    status parse_postfix(uint32_t& out) {
        for (;;) {
            uint32_t pos = cur().pos;
            if (is_op(".")) {
                ++i_;
                if (cur().type != tok::name && cur().type != tok::integer) return error("expected an attribute name after '.'");
                uint32_t n = add(nk::getattr, pos);
                nodes_[n].text = cur().type == tok::name ? cur().text : std::to_string(cur().i);
                nodes_[n].kids.push_back(out);
                ++i_;
                out = n;
            } else if (is_op("[")) {
                ++i_;
                uint32_t a = npos, b = npos, c = npos;
                bool is_slice = false;
                if (!is_op(":")) NOGGIN_TRY(parse_expr(a));
                if (is_op(":")) {
                    is_slice = true;
                    ++i_;
                    if (!is_op(":") && !is_op("]")) NOGGIN_TRY(parse_expr(b));
                    if (is_op(":")) {
                        ++i_;
                        if (!is_op("]")) NOGGIN_TRY(parse_expr(c));
                    }
                }
                NOGGIN_TRY(expect_op("]"));
                uint32_t n = add(is_slice ? nk::slice : nk::getitem, pos);
                if (is_slice) nodes_[n].kids = {out, a, b, c};
                else nodes_[n].kids = {out, a};
                out = n;
            } else if (is_op("(")) {
                ++i_;
                uint32_t n = add(nk::call, nodes_[out].pos);  // errors point at the callee
                nodes_[n].kids.push_back(out);
                NOGGIN_TRY(parse_call_args(n));
                out = n;
            } else {
                return status();
            }
        }
    }

    status parse_filter_expr(uint32_t& out) {
        for (;;) {
            if (is_op("|")) {
                uint32_t pos = cur().pos;
                ++i_;
                if (cur().type != tok::name) return error("expected a filter name after '|'");
                uint32_t n = add(nk::filter, pos);
                std::string fname = cur().text;
                ++i_;
                while (is_op(".")) {  // dotted filter names are not a thing in chat templates
                    return error("dotted filter names are not supported", status_code::unsupported);
                }
                nodes_[n].text = std::move(fname);
                nodes_[n].kids.push_back(out);
                if (is_op("(")) {
                    ++i_;
                    NOGGIN_TRY(parse_call_args(n));
                }
                out = n;
            } else if (is_name("is")) {
                uint32_t pos = cur().pos;
                ++i_;
                uint32_t n = add(nk::test, pos);
                if (is_name("not")) {
                    nodes_[n].flag = true;
                    ++i_;
                }
                if (cur().type != tok::name) return error("expected a test name after 'is'");
                std::string tname = cur().text;
                ++i_;
                nodes_[n].text = tname;
                nodes_[n].kids.push_back(out);
                if (is_op("(")) {
                    ++i_;
                    NOGGIN_TRY(parse_call_args(n));
                } else if ((cur().type == tok::name && cur().text != "else" && cur().text != "or" &&
                            cur().text != "and" && cur().text != "if" && cur().text != "in" &&
                            cur().text != "is" && cur().text != "not") ||
                           cur().type == tok::string || cur().type == tok::integer || cur().type == tok::real ||
                           (cur().type == tok::op && (cur().text == "[" || cur().text == "{"))) {
                    // `x is equalto 5`: one argument without parentheses.
                    uint32_t a;
                    NOGGIN_TRY(parse_primary(a));
                    NOGGIN_TRY(parse_postfix(a));
                    nodes_[n].kids.push_back(a);
                    nodes_[n].names.emplace_back();
                }
                out = n;
            } else {
                return status();
            }
        }
    }

    std::string_view src_;
    const std::vector<token>& t_;
    std::vector<node>& nodes_;
    const limits& lim_;
    size_t i_ = 0;
    size_t depth_ = 0;
    size_t loop_depth_ = 0;
};

}  // namespace detail

// =============================================================================================
// compiled_template — a parsed template, rendered any number of times (const, thread-safe)
// =============================================================================================
namespace detail {
class interpreter;
}

class compiled_template {
public:
    compiled_template() = default;

    // Render with `context` (an object whose members are the template's variables). Errors:
    // invalid_argument (type errors, raise_exception), unsupported (unknown filter/test/method),
    // limit_exceeded (a cap in options().limits), each naming line and column.
    result<std::string> render(const value& context) const;

    const options& opts() const { return opt_; }
    const std::string& source() const { return src_; }  // as parsed (newlines normalised)

private:
    friend result<compiled_template> parse(std::string_view source, const options& opt);
    friend class detail::interpreter;
    std::string src_;
    options opt_;
    std::vector<detail::node> nodes_;
    uint32_t root_ = 0;
};

// Parse template text. Errors: format_error (syntax, with line/column), unsupported (a construct
// outside the supported subset), limit_exceeded (template size, nesting).
inline result<compiled_template> parse(std::string_view source, const options& opt = {}) {
    if (source.size() > opt.limits.max_template_bytes)
        return status(status_code::limit_exceeded, str("jinja: template of ", source.size(), " bytes exceeds the limit of ",
                                                        opt.limits.max_template_bytes));
    if (source.size() >= 0xfffffff0u) return status(status_code::limit_exceeded, "jinja: template too large");
    compiled_template t;
    // As Jinja: newlines are normalised to "\n" (also inside string literals) and a single newline
    // ending the template is dropped unless keep_trailing_newline.
    t.src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            t.src_.push_back('\n');
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            t.src_.push_back(source[i]);
        }
    }
    if (!opt.keep_trailing_newline && !t.src_.empty() && t.src_.back() == '\n') t.src_.pop_back();
    t.opt_ = opt;
    std::vector<detail::token> toks;
    detail::lexer lx(t.src_, opt);
    NOGGIN_TRY(lx.run(toks));
    detail::parser ps(t.src_, toks, t.nodes_, opt.limits);
    NOGGIN_TRY(ps.parse_template(t.root_));
    return t;
}

// ---- interpreter (below) ----
// =============================================================================================
// interpreter — walks the AST with a scope stack, a work budget and an output cap
// =============================================================================================
namespace detail {

enum builtin_fn : int { bf_none = 0, bf_range, bf_namespace, bf_raise_exception, bf_strftime_now, bf_dict };

inline int builtin_id(std::string_view name) {
    if (name == "range") return bf_range;
    if (name == "namespace") return bf_namespace;
    if (name == "raise_exception") return bf_raise_exception;
    if (name == "strftime_now") return bf_strftime_now;
    if (name == "dict") return bf_dict;
    return bf_none;
}

inline const char* type_name(const value& v) {
    switch (v.kind()) {
        case value::kind_t::undefined: return "Undefined";
        case value::kind_t::none: return "NoneType";
        case value::kind_t::boolean: return "bool";
        case value::kind_t::integer: return "int";
        case value::kind_t::real: return "float";
        case value::kind_t::string: return "str";
        case value::kind_t::array: return "list";
        case value::kind_t::object: return "dict";
        case value::kind_t::ns: return "Namespace";
        case value::kind_t::callable: return "function";
    }
    return "?";
}

// Checked int64 arithmetic (portable; no compiler builtins). Return true on overflow.
inline bool add_overflow(int64_t x, int64_t y, int64_t* r) {
    if ((y > 0 && x > INT64_MAX - y) || (y < 0 && x < INT64_MIN - y)) return true;
    *r = x + y;
    return false;
}
inline bool sub_overflow(int64_t x, int64_t y, int64_t* r) {
    if ((y < 0 && x > INT64_MAX + y) || (y > 0 && x < INT64_MIN + y)) return true;
    *r = x - y;
    return false;
}
inline bool mul_overflow(int64_t x, int64_t y, int64_t* r) {
    bool ovf;
    if (x > 0) ovf = y > 0 ? x > INT64_MAX / y : y < INT64_MIN / x;
    else ovf = y > 0 ? x < INT64_MIN / y : (x != 0 && y < INT64_MAX / x);
    if (ovf) return true;
    *r = x * y;
    return false;
}

inline bool truthy(const value& v) {
    switch (v.kind()) {
        case value::kind_t::undefined:
        case value::kind_t::none: return false;
        case value::kind_t::boolean: return v.as_bool();
        case value::kind_t::integer: return v.as_int() != 0;
        case value::kind_t::real: return v.as_double() != 0.0;
        case value::kind_t::string: return !v.as_string().empty();
        case value::kind_t::array:
        case value::kind_t::object: return v.size() != 0;
        case value::kind_t::ns:
        case value::kind_t::callable: return true;
    }
    return false;
}

inline bool contains_namespace(const value& v) {
    if (v.is_namespace()) return true;
    for (const value& it : v.items())
        if (contains_namespace(it)) return true;
    for (const value::entry& e : v.entries())
        if (contains_namespace(e.second)) return true;
    return false;
}

// Call arguments: positional values, then keyword ones.
struct args_t {
    std::vector<value> pos;
    std::vector<value::entry> kw;
    // Argument `i` by position, or by keyword `name`; nullptr when absent.
    const value* get(size_t i, std::string_view name) const {
        if (i < pos.size()) return &pos[i];
        for (const value::entry& e : kw)
            if (e.first == name) return &e.second;
        return nullptr;
    }
};

enum class flow { normal, brk, cont };

class interpreter {
public:
    explicit interpreter(const compiled_template& t)
        : src_(t.src_), nodes_(t.nodes_), opt_(t.opt_), lim_(t.opt_.limits), root_(t.root_) {}

    status run(const value& ctx, std::string& out) {
        if (!ctx.is_object() && !ctx.is_undefined() && !ctx.is_none())
            return status(status_code::invalid_argument, "jinja: the render context must be an object");
        frames_.clear();
        frames_.push_back(frame{});
        for (const value::entry& e : ctx.entries()) frames_[0].vars.push_back(e);
        out_ = &out;
        flow f = flow::normal;
        return exec(root_, f);
    }

    status exec(uint32_t id, flow& f) {
        if (id == npos) return status();
        const node& n = nodes_[id];
        NOGGIN_TRY(enter(n.pos));
        depth_guard g{depth_};
        switch (n.kind) {
            case nk::block:
                for (uint32_t k : n.kids) {
                    NOGGIN_TRY(exec(k, f));
                    if (f != flow::normal) break;
                }
                return status();
            case nk::text: return emit(n.text, n.pos);
            case nk::output: {
                value v;
                NOGGIN_TRY(eval(n.kids[0], v));
                if (v.is_string()) return emit(v.as_string(), n.pos);
                std::string s;
                NOGGIN_TRY(stringify(v, s, n.pos));
                return emit(s, n.pos);
            }
            case nk::if_: {
                value c;
                NOGGIN_TRY(eval(n.kids[0], c));
                return exec(truthy(c) ? n.kids[1] : n.kids[2], f);
            }
            case nk::for_: return exec_for(n, f);
            case nk::set: {
                value v;
                NOGGIN_TRY(eval(n.kids[0], v));
                return assign(n.names, v, n.pos);
            }
            case nk::set_attr: {
                value* target = lookup_mut(n.names[0]);
                if (!target || !target->is_namespace())
                    return rt_error(n.pos, str("cannot assign attribute '", n.text, "' of '", n.names[0],
                                               "': not a namespace"));
                value v;
                NOGGIN_TRY(eval(n.kids[0], v));
                if (contains_namespace(v)) return rt_error(n.pos, "a namespace cannot be stored inside a namespace");
                if (v.depth() + 1 > lim_.max_value_depth) return limit_error(n.pos, "value nested too deeply");
                target->set(n.text, std::move(v));
                return status();
            }
            case nk::set_block: {
                std::string captured;
                NOGGIN_TRY(capture(n.kids[0], captured));
                return assign(n.names, value(std::move(captured)), n.pos);
            }
            case nk::macro:
                set_var(n.text, value::make_callable(id, bf_none, n.text));
                return status();
            case nk::break_: f = flow::brk; return status();
            case nk::continue_: f = flow::cont; return status();
            default: return rt_error(n.pos, "internal: expression used as a statement", status_code::internal);
        }
    }

private:
    struct frame {
        std::vector<value::entry> vars;
        bool barrier = false;  // a macro's frame: lookups skip to the globals below it
    };
    struct depth_guard {
        size_t& d;
        ~depth_guard() { --d; }
    };

    // ---- errors, budget, output ----
    status rt_error(uint32_t pos, std::string_view what, status_code code = status_code::invalid_argument) const {
        return syntax_error(src_, pos, what, code);
    }
    status limit_error(uint32_t pos, std::string_view what) const {
        return syntax_error(src_, pos, what, status_code::limit_exceeded);
    }
    status enter(uint32_t pos) {
        if (++depth_ > lim_.max_depth) return limit_error(pos, str("recursion deeper than ", lim_.max_depth));
        if (++steps_ > lim_.max_steps) return limit_error(pos, str("more than ", lim_.max_steps, " steps (endless loop?)"));
        return status();
    }
    void charge(uint64_t units) { steps_ += units; }
    status check_budget(uint32_t pos) const {
        if (steps_ > lim_.max_steps) return limit_error(pos, str("more than ", lim_.max_steps, " steps (endless loop?)"));
        return status();
    }
    status check_string(size_t bytes, uint32_t pos) const {
        if (bytes > lim_.max_string_bytes) return limit_error(pos, str("string longer than ", lim_.max_string_bytes, " bytes"));
        return status();
    }
    status check_items(size_t n, uint32_t pos) const {
        if (n > lim_.max_items) return limit_error(pos, str("list longer than ", lim_.max_items, " items"));
        return status();
    }
    status check_depth(const value& v, uint32_t pos) const {
        if (v.depth() > lim_.max_value_depth) return limit_error(pos, str("value nested deeper than ", lim_.max_value_depth));
        return status();
    }
    status emit(std::string_view s, uint32_t pos) {
        if (out_->size() + suspended_ + s.size() > lim_.max_output_bytes)
            return limit_error(pos, str("output longer than ", lim_.max_output_bytes, " bytes"));
        charge(s.size() / 64);
        out_->append(s.data(), s.size());
        return status();
    }
    // Render block `body` into `captured` instead of the output.
    status capture(uint32_t body, std::string& captured) {
        std::string* saved = out_;
        suspended_ += saved->size();
        out_ = &captured;
        flow f = flow::normal;
        status s = exec(body, f);
        out_ = saved;
        suspended_ -= saved->size();
        return s;
    }
    status stringify(const value& v, std::string& s, uint32_t pos) {
        charge(v.size());
        to_str(s, v, false);
        return check_string(s.size(), pos);
    }

    // ---- scopes ----
    const value* lookup(std::string_view name) const {
        for (size_t k = frames_.size(); k-- > 0;) {
            for (const value::entry& e : frames_[k].vars)
                if (e.first == name) return &e.second;
            if (frames_[k].barrier) {
                for (const value::entry& e : frames_[0].vars)
                    if (e.first == name) return &e.second;
                return nullptr;
            }
        }
        return nullptr;
    }
    value* lookup_mut(std::string_view name) { return const_cast<value*>(lookup(name)); }
    void set_var(const std::string& name, value v) {
        auto& vars = frames_.back().vars;
        for (value::entry& e : vars)
            if (e.first == name) {
                e.second = std::move(v);
                return;
            }
        vars.emplace_back(name, std::move(v));
    }
    status assign(const std::vector<std::string>& names, const value& v, uint32_t pos) {
        if (names.size() == 1) {
            set_var(names[0], v);
            return status();
        }
        std::vector<value> parts;
        NOGGIN_TRY(iterate(v, parts, pos));
        if (parts.size() != names.size())
            return rt_error(pos, str("cannot unpack ", parts.size(), " values into ", names.size(), " names"));
        for (size_t k = 0; k < names.size(); ++k) set_var(names[k], parts[k]);
        return status();
    }

    // Elements a for loop visits: list items, dict keys, string code points; undefined is empty.
    status iterate(const value& v, std::vector<value>& out, uint32_t pos) {
        switch (v.kind()) {
            case value::kind_t::undefined: return status();
            case value::kind_t::array: out = v.items(); charge(out.size()); return status();
            case value::kind_t::object:
                for (const value::entry& e : v.entries()) out.emplace_back(e.first);
                charge(out.size());
                return status();
            case value::kind_t::string: {
                const std::string& s = v.as_string();
                for (size_t i = 0; i < s.size();) {
                    size_t l = u8_len(s, i);
                    out.emplace_back(std::string_view(s).substr(i, l));
                    i += l;
                }
                charge(out.size());
                return status();
            }
            default: return rt_error(pos, str("'", type_name(v), "' object is not iterable"));
        }
    }

    status exec_for(const node& n, flow& f) {
        value seq;
        NOGGIN_TRY(eval(n.kids[0], seq));
        std::vector<value> items;
        NOGGIN_TRY(iterate(seq, items, n.pos));
        if (n.kids[1] != npos) {  // `for x in xs if cond`
            std::vector<value> kept;
            for (value& it : items) {
                frames_.push_back(frame{});
                status s = assign(n.names, it, n.pos);
                value c;
                if (s.ok()) s = eval(n.kids[1], c);
                frames_.pop_back();
                NOGGIN_TRY(s);
                if (truthy(c)) kept.push_back(std::move(it));
            }
            items = std::move(kept);
        }
        if (items.empty()) {
            flow inner = flow::normal;
            return exec(n.kids[3], inner);
        }
        const int64_t len = int64_t(items.size());
        for (int64_t k = 0; k < len; ++k) {
            NOGGIN_TRY(check_budget(n.pos));
            charge(8);  // an iteration costs about as much as eight expression nodes
            frames_.push_back(frame{});
            frames_.back().vars.reserve(n.names.size() + 1);
            std::vector<value::entry> lv;
            lv.reserve(11);
            lv.emplace_back("index", value(k + 1));
            lv.emplace_back("index0", value(k));
            lv.emplace_back("revindex", value(len - k));
            lv.emplace_back("revindex0", value(len - k - 1));
            lv.emplace_back("first", value(k == 0));
            lv.emplace_back("last", value(k == len - 1));
            lv.emplace_back("length", value(len));
            lv.emplace_back("depth", value(int64_t(1)));
            lv.emplace_back("depth0", value(int64_t(0)));
            lv.emplace_back("previtem", k > 0 ? items[size_t(k - 1)] : value());
            lv.emplace_back("nextitem", k + 1 < len ? items[size_t(k + 1)] : value());
            value loop = value::object(std::move(lv));
            set_var("loop", std::move(loop));
            status s = assign(n.names, items[size_t(k)], n.pos);
            flow inner = flow::normal;
            if (s.ok()) s = exec(n.kids[2], inner);
            frames_.pop_back();
            NOGGIN_TRY(s);
            if (inner == flow::brk) break;
        }
        (void)f;
        return status();
    }

    // ---- expressions ----
    status eval(uint32_t id, value& out) {
        const node& n = nodes_[id];
        NOGGIN_TRY(enter(n.pos));
        depth_guard g{depth_};
        status s = eval_inner(n, out);
        if (s.ok() && out.is_string()) charge(out.as_string().size() / 64);
        return s;
    }

    status eval_inner(const node& n, value& out) {
        switch (n.kind) {
            case nk::literal: out = n.lit; return status();
            case nk::name: {
                if (const value* v = lookup(n.text)) {
                    out = *v;
                } else if (int b = builtin_id(n.text)) {
                    out = value::make_callable(npos, b, n.text);
                } else {
                    out = value();
                }
                return status();
            }
            case nk::getattr: {
                value obj;
                NOGGIN_TRY(eval(n.kids[0], obj));
                if (obj.is_undefined()) return rt_error(n.pos, str(describe(n.kids[0]), " is undefined (reading '.", n.text, "')"));
                return get_member(obj, value(n.text), out);
            }
            case nk::getitem: {
                value obj, key;
                NOGGIN_TRY(eval(n.kids[0], obj));
                NOGGIN_TRY(eval(n.kids[1], key));
                if (obj.is_undefined()) return rt_error(n.pos, str(describe(n.kids[0]), " is undefined (reading '[...]')"));
                return get_member(obj, key, out);
            }
            case nk::slice: return eval_slice(n, out);
            case nk::call: return eval_call(n, out);
            case nk::filter: {
                value in;
                NOGGIN_TRY(eval(n.kids[0], in));
                args_t a;
                NOGGIN_TRY(eval_args(n, a));
                return apply_filter(n.text, in, a, out, n.pos);
            }
            case nk::test: {
                value in;
                NOGGIN_TRY(eval(n.kids[0], in));
                args_t a;
                NOGGIN_TRY(eval_args(n, a));
                bool r = false;
                NOGGIN_TRY(apply_test(n.text, in, a, r, n.pos));
                out = value(n.flag ? !r : r);
                return status();
            }
            case nk::unary: {
                value x;
                NOGGIN_TRY(eval(n.kids[0], x));
                if (n.text == "not") {
                    out = value(!truthy(x));
                    return status();
                }
                if (x.is_int() || x.is_bool()) {
                    int64_t i = x.as_int();
                    if (n.text == "-") {
                        if (i == INT64_MIN) return rt_error(n.pos, "integer overflow", status_code::unsupported);
                        i = -i;
                    }
                    out = value(i);
                    return status();
                }
                if (x.is_real()) {
                    out = value(n.text == "-" ? -x.as_double() : x.as_double());
                    return status();
                }
                return rt_error(n.pos, str("bad operand type for unary ", n.text, ": '", type_name(x), "'"));
            }
            case nk::binary: return eval_binary(n, out);
            case nk::cond: {
                value c;
                NOGGIN_TRY(eval(n.kids[1], c));
                if (truthy(c)) return eval(n.kids[0], out);
                if (n.kids[2] == npos) {
                    out = value();
                    return status();
                }
                return eval(n.kids[2], out);
            }
            case nk::list: {
                std::vector<value> items;
                items.reserve(n.kids.size());
                for (uint32_t k : n.kids) {
                    value v;
                    NOGGIN_TRY(eval(k, v));
                    items.push_back(std::move(v));
                }
                out = value::array(std::move(items));
                return check_depth(out, n.pos);
            }
            case nk::dict: {
                out = value::object();
                for (size_t k = 0; k + 1 < n.kids.size(); k += 2) {
                    value key, v;
                    NOGGIN_TRY(eval(n.kids[k], key));
                    NOGGIN_TRY(eval(n.kids[k + 1], v));
                    if (!key.is_string())
                        return rt_error(nodes_[n.kids[k]].pos, "only string dict keys are supported", status_code::unsupported);
                    out.set(key.as_string(), std::move(v));
                }
                return check_depth(out, n.pos);
            }
            default: return rt_error(n.pos, "internal: statement used as an expression", status_code::internal);
        }
    }

    // A short description of an expression for error messages: 'name' or 'name.attr'.
    std::string describe(uint32_t id) const {
        const node& n = nodes_[id];
        if (n.kind == nk::name) return str("'", n.text, "'");
        if (n.kind == nk::getattr) {
            std::string inner = describe(n.kids[0]);
            if (inner.size() > 2 && inner.front() == '\'') return str(inner.substr(0, inner.size() - 1), ".", n.text, "'");
        }
        return "the value";
    }

    status eval_args(const node& n, args_t& a) {
        for (size_t k = 1; k < n.kids.size(); ++k) {
            value v;
            NOGGIN_TRY(eval(n.kids[k], v));
            const std::string& kw = n.names[k - 1];
            if (kw.empty()) {
                if (!a.kw.empty()) return rt_error(nodes_[n.kids[k]].pos, "positional argument after keyword argument");
                a.pos.push_back(std::move(v));
            } else {
                a.kw.emplace_back(kw, std::move(v));
            }
        }
        return status();
    }

    // obj.attr / obj[key]: dict member, list/string index; missing → undefined (as Jinja).
    status get_member(const value& obj, const value& key, value& out) {
        out = value();
        if (obj.is_object() || obj.is_namespace()) {
            if (key.is_string())
                if (const value* v = obj.find(key.as_string())) out = *v;
            return status();
        }
        if ((obj.is_array() || obj.is_string()) && (key.is_int() || key.is_bool())) {
            int64_t i = key.as_int();
            if (obj.is_array()) {
                int64_t n = int64_t(obj.size());
                if (i < 0) i += n;
                if (i >= 0 && i < n) out = obj.items()[size_t(i)];
                return status();
            }
            const std::string& s = obj.as_string();
            std::vector<size_t> off = u8_offsets(s);
            charge(off.size() / 16);
            int64_t n = int64_t(off.size()) - 1;
            if (i < 0) i += n;
            if (i >= 0 && i < n) out = value(std::string_view(s).substr(off[size_t(i)], off[size_t(i) + 1] - off[size_t(i)]));
            return status();
        }
        return status();
    }

    // Python slice semantics on lists and strings (by code point).
    status eval_slice(const node& n, value& out) {
        value obj;
        NOGGIN_TRY(eval(n.kids[0], obj));
        int64_t bound[3] = {0, 0, 1};
        bool given[3] = {false, false, false};
        for (int k = 0; k < 3; ++k) {
            if (n.kids[size_t(k) + 1] == npos) continue;
            value v;
            NOGGIN_TRY(eval(n.kids[size_t(k) + 1], v));
            if (v.is_none()) continue;
            if (!v.is_int() && !v.is_bool()) return rt_error(n.pos, "slice indices must be integers or None");
            bound[k] = v.as_int();
            given[k] = true;
        }
        int64_t step = given[2] ? bound[2] : 1;
        if (step == 0) return rt_error(n.pos, "slice step cannot be zero");
        if (step == INT64_MIN) step = INT64_MIN + 1;
        std::vector<size_t> off;
        int64_t len;
        if (obj.is_array()) {
            len = int64_t(obj.size());
        } else if (obj.is_string()) {
            off = u8_offsets(obj.as_string());
            len = int64_t(off.size()) - 1;
        } else if (obj.is_undefined()) {
            return rt_error(n.pos, str(describe(n.kids[0]), " is undefined (slicing)"));
        } else {
            return rt_error(n.pos, str("'", type_name(obj), "' object is not subscriptable"));
        }
        auto clamp = [&](int64_t v, bool g, int64_t dflt) -> int64_t {
            if (!g) return dflt;
            if (v < 0) {
                v = v < -len ? -len - 1 : v;  // avoid overflow
                v += len;
                if (v < 0) v = step < 0 ? -1 : 0;
            } else if (v >= len) {
                v = step < 0 ? len - 1 : len;
            }
            return v;
        };
        int64_t start = clamp(bound[0], given[0], step < 0 ? len - 1 : 0);
        int64_t stop = clamp(bound[1], given[1], step < 0 ? -1 : len);
        std::vector<int64_t> idx;
        if (step > 0)
            for (int64_t i = start; i < stop; i += step) {
                idx.push_back(i);
                if (stop - i <= step) break;
            }
        else
            for (int64_t i = start; i > stop; i += step) {
                idx.push_back(i);
                if (i - stop <= -step) break;
            }
        charge(idx.size());
        if (obj.is_array()) {
            std::vector<value> items;
            items.reserve(idx.size());
            for (int64_t i : idx) items.push_back(obj.items()[size_t(i)]);
            out = value::array(std::move(items));
        } else {
            std::string s;
            const std::string& src = obj.as_string();
            for (int64_t i : idx) s.append(src, off[size_t(i)], off[size_t(i) + 1] - off[size_t(i)]);
            out = value(std::move(s));
        }
        return status();
    }

    // ---- operators ----
    bool equal(const value& a, const value& b) {
        charge(1);
        if (a.is_number() && b.is_number()) {
            if (a.is_real() || b.is_real()) return a.as_double() == b.as_double();
            return a.as_int() == b.as_int();
        }
        if (a.kind() != b.kind()) return false;
        switch (a.kind()) {
            case value::kind_t::undefined:
            case value::kind_t::none: return true;
            case value::kind_t::string: return a.as_string() == b.as_string();
            case value::kind_t::array:
                if (a.size() != b.size()) return false;
                for (size_t k = 0; k < a.size(); ++k)
                    if (!equal(a.items()[k], b.items()[k])) return false;
                return true;
            case value::kind_t::object:
                if (a.size() != b.size()) return false;
                for (const value::entry& e : a.entries()) {
                    const value* o = b.find(e.first);
                    if (!o || !equal(e.second, *o)) return false;
                }
                return true;
            case value::kind_t::ns: return &a.entries() == &b.entries();
            case value::kind_t::callable: return a.callable_node() == b.callable_node() && a.callable_builtin() == b.callable_builtin();
            default: return false;
        }
    }

    // -1/0/1 for <, ==, > between numbers or between strings; error otherwise.
    status compare(const value& a, const value& b, int& r, uint32_t pos, const std::string& op) {
        if (a.is_number() && b.is_number()) {
            if (a.is_real() || b.is_real()) {
                double x = a.as_double(), y = b.as_double();
                r = x < y ? -1 : x > y ? 1 : 0;
            } else {
                int64_t x = a.as_int(), y = b.as_int();
                r = x < y ? -1 : x > y ? 1 : 0;
            }
            return status();
        }
        if (a.is_string() && b.is_string()) {
            int c = a.as_string().compare(b.as_string());
            r = c < 0 ? -1 : c > 0 ? 1 : 0;
            return status();
        }
        return rt_error(pos, str("'", op, "' not supported between '", type_name(a), "' and '", type_name(b), "'"));
    }

    status contains(const value& hay, const value& needle, bool& r, uint32_t pos) {
        r = false;
        if (hay.is_string()) {
            if (!needle.is_string())
                return rt_error(pos, str("'in <string>' requires string as left operand, not ", type_name(needle)));
            charge(hay.as_string().size() / 64);
            r = hay.as_string().find(needle.as_string()) != std::string::npos;
            return status();
        }
        if (hay.is_array()) {
            for (const value& it : hay.items())
                if (equal(it, needle)) {
                    r = true;
                    break;
                }
            return status();
        }
        if (hay.is_object() || hay.is_namespace()) {
            r = needle.is_string() && hay.find(needle.as_string()) != nullptr;
            return status();
        }
        if (hay.is_undefined()) return status();
        return rt_error(pos, str("argument of type '", type_name(hay), "' is not iterable"));
    }

    status arith(const std::string& op, const value& a, const value& b, value& out, uint32_t pos) {
        auto bad = [&]() {
            return rt_error(pos, str("unsupported operand type(s) for ", op, ": '", type_name(a), "' and '", type_name(b), "'"));
        };
        if (a.is_number() && b.is_number()) {
            bool ints = !a.is_real() && !b.is_real();
            if (ints) {
                int64_t x = a.as_int(), y = b.as_int(), r = 0;
                bool ovf = false;
                if (op == "+") ovf = add_overflow(x, y, &r);
                else if (op == "-") ovf = sub_overflow(x, y, &r);
                else if (op == "*") ovf = mul_overflow(x, y, &r);
                else if (op == "//" || op == "%") {
                    if (y == 0) return rt_error(pos, "integer division or modulo by zero");
                    if (x == INT64_MIN && y == -1) {
                        if (op == "%") r = 0;
                        else ovf = true;
                    } else {
                        int64_t q = x / y, m = x % y;
                        if (m != 0 && ((m < 0) != (y < 0))) {
                            --q;
                            m += y;
                        }
                        r = op == "//" ? q : m;
                    }
                } else if (op == "**") {
                    if (y < 0) {
                        out = value(std::pow(double(x), double(y)));
                        return status();
                    }
                    r = 1;
                    int64_t base = x;
                    for (int64_t e = y; e > 0 && !ovf; e >>= 1) {
                        if (e & 1) ovf = mul_overflow(r, base, &r);
                        if (e > 1 && !ovf) ovf = mul_overflow(base, base, &base);
                    }
                } else if (op == "/") {
                    if (y == 0) return rt_error(pos, "division by zero");
                    out = value(double(x) / double(y));
                    return status();
                }
                if (ovf) return rt_error(pos, "integer overflow", status_code::unsupported);
                out = value(r);
                return status();
            }
            double x = a.as_double(), y = b.as_double();
            if (op == "+") out = value(x + y);
            else if (op == "-") out = value(x - y);
            else if (op == "*") out = value(x * y);
            else if (op == "**") out = value(std::pow(x, y));
            else {
                if (y == 0.0) return rt_error(pos, "float division by zero");
                if (op == "/") out = value(x / y);
                else if (op == "//") out = value(std::floor(x / y));
                else {
                    double m = std::fmod(x, y);
                    if (m != 0 && ((m < 0) != (y < 0))) m += y;
                    if (m == 0) m = std::copysign(0.0, y);
                    out = value(m);
                }
            }
            return status();
        }
        if (op == "+" && a.is_string() && b.is_string()) {
            NOGGIN_TRY(check_string(a.as_string().size() + b.as_string().size(), pos));
            charge((a.as_string().size() + b.as_string().size()) / 64);
            out = value(a.as_string() + b.as_string());
            return status();
        }
        if (op == "+" && a.is_array() && b.is_array()) {
            NOGGIN_TRY(check_items(a.size() + b.size(), pos));
            charge(a.size() + b.size());
            std::vector<value> items = a.items();
            items.insert(items.end(), b.items().begin(), b.items().end());
            out = value::array(std::move(items));
            return status();
        }
        if (op == "*" && ((a.is_string() && (b.is_int() || b.is_bool())) || (b.is_string() && (a.is_int() || a.is_bool())))) {
            const std::string& s = a.is_string() ? a.as_string() : b.as_string();
            int64_t times = a.is_string() ? b.as_int() : a.as_int();
            if (times <= 0 || s.empty()) {
                out = value("");
                return status();
            }
            if (uint64_t(times) > lim_.max_string_bytes / s.size() + 1) return check_string(lim_.max_string_bytes + 1, pos);
            NOGGIN_TRY(check_string(s.size() * size_t(times), pos));
            std::string r;
            r.reserve(s.size() * size_t(times));
            for (int64_t k = 0; k < times; ++k) r += s;
            charge(r.size() / 64);
            out = value(std::move(r));
            return status();
        }
        if (op == "%" && a.is_string()) return rt_error(pos, "'%' string formatting is not supported", status_code::unsupported);
        return bad();
    }

    status eval_binary(const node& n, value& out) {
        const std::string& op = n.text;
        value a;
        NOGGIN_TRY(eval(n.kids[0], a));
        if (op == "and") {
            if (!truthy(a)) {
                out = std::move(a);
                return status();
            }
            return eval(n.kids[1], out);
        }
        if (op == "or") {
            if (truthy(a)) {
                out = std::move(a);
                return status();
            }
            return eval(n.kids[1], out);
        }
        value b;
        NOGGIN_TRY(eval(n.kids[1], b));
        if (op == "~") {
            std::string s;
            NOGGIN_TRY(stringify(a, s, n.pos));
            std::string t;
            NOGGIN_TRY(stringify(b, t, n.pos));
            NOGGIN_TRY(check_string(s.size() + t.size(), n.pos));
            charge((s.size() + t.size()) / 64);
            out = value(s + t);
            return status();
        }
        if (op == "==" || op == "!=") {
            bool e = equal(a, b);
            out = value(op == "==" ? e : !e);
            return status();
        }
        if (op == "<" || op == ">" || op == "<=" || op == ">=") {
            int r = 0;
            NOGGIN_TRY(compare(a, b, r, n.pos, op));
            out = value(op == "<" ? r < 0 : op == ">" ? r > 0 : op == "<=" ? r <= 0 : r >= 0);
            return status();
        }
        if (op == "in" || op == "not in") {
            bool r = false;
            NOGGIN_TRY(contains(b, a, r, n.pos));
            out = value(op == "in" ? r : !r);
            return status();
        }
        return arith(op, a, b, out, n.pos);
    }

    // ---- calls: methods, macros, built-in functions ----
    status eval_call(const node& n, value& out) {
        const node& callee = nodes_[n.kids[0]];
        if (callee.kind == nk::getattr) {
            value recv;
            NOGGIN_TRY(eval(callee.kids[0], recv));
            if (recv.is_undefined())
                return rt_error(callee.pos, str(describe(callee.kids[0]), " is undefined (calling '.", callee.text, "()')"));
            const value* member = (recv.is_object() || recv.is_namespace()) ? recv.find(callee.text) : nullptr;
            if (!member || !member->is_callable()) {
                args_t a;
                NOGGIN_TRY(eval_args(n, a));
                return call_method(recv, callee.text, a, out, n.pos);
            }
        }
        value fn;
        NOGGIN_TRY(eval(n.kids[0], fn));
        if (!fn.is_callable()) {
            if (fn.is_undefined()) return rt_error(n.pos, str(describe(n.kids[0]), " is undefined (not a function)"));
            return rt_error(n.pos, str("'", type_name(fn), "' object is not callable"));
        }
        args_t a;
        NOGGIN_TRY(eval_args(n, a));
        if (fn.callable_builtin() != bf_none) return call_builtin(fn.callable_builtin(), a, out, n.pos);
        return call_macro(fn.callable_node(), a, out, n.pos);
    }

    status call_macro(uint32_t id, const args_t& a, value& out, uint32_t pos) {
        const node& m = nodes_[id];
        if (a.pos.size() > m.names.size())
            return rt_error(pos, str("macro '", m.text, "' takes ", m.names.size(), " arguments, got ", a.pos.size()));
        for (const value::entry& e : a.kw)
            if (std::find(m.names.begin(), m.names.end(), e.first) == m.names.end())
                return rt_error(pos, str("macro '", m.text, "' has no parameter '", e.first, "'"));
        frame f;
        f.barrier = true;
        frames_.push_back(std::move(f));
        status s;
        for (size_t k = 0; k < m.names.size() && s.ok(); ++k) {
            const value* given = a.get(k, m.names[k]);
            if (given) {
                set_var(m.names[k], *given);
            } else if (m.kids[k + 1] != npos) {
                value d;
                s = eval(m.kids[k + 1], d);
                if (s.ok()) set_var(m.names[k], std::move(d));
            } else {
                set_var(m.names[k], value());
            }
        }
        std::string captured;
        if (s.ok()) s = capture(m.kids[0], captured);
        frames_.pop_back();
        NOGGIN_TRY(s);
        out = value(std::move(captured));
        return status();
    }

    status call_builtin(int id, const args_t& a, value& out, uint32_t pos) {
        switch (id) {
            case bf_range: {
                int64_t v[3] = {0, 0, 1};
                if (a.pos.empty() || a.pos.size() > 3 || !a.kw.empty()) return rt_error(pos, "range() takes 1 to 3 integer arguments");
                for (const value& x : a.pos)
                    if (!x.is_int() && !x.is_bool()) return rt_error(pos, str("range() argument must be int, not ", type_name(x)));
                if (a.pos.size() == 1) v[1] = a.pos[0].as_int();
                else {
                    v[0] = a.pos[0].as_int();
                    v[1] = a.pos[1].as_int();
                    if (a.pos.size() == 3) v[2] = a.pos[2].as_int();
                }
                if (v[2] == 0) return rt_error(pos, "range() arg 3 must not be zero");
                // Count without overflow.
                long double cnt = 0;
                if (v[2] > 0 && v[1] > v[0]) cnt = std::ceil(((long double)v[1] - (long double)v[0]) / (long double)v[2]);
                if (v[2] < 0 && v[1] < v[0]) cnt = std::ceil(((long double)v[0] - (long double)v[1]) / -(long double)v[2]);
                if (cnt > (long double)lim_.max_items) return limit_error(pos, str("range() of more than ", lim_.max_items, " items"));
                size_t count = size_t(cnt);
                charge(count);
                NOGGIN_TRY(check_budget(pos));
                std::vector<value> items;
                items.reserve(count);
                for (size_t k = 0; k < count; ++k) items.emplace_back(value(int64_t(v[0] + int64_t(k) * v[2])));
                out = value::array(std::move(items));
                return status();
            }
            case bf_namespace:
            case bf_dict: {
                out = id == bf_namespace ? value::make_namespace() : value::object();
                for (const value& p : a.pos) {  // namespace({'a': 1}) / dict(other)
                    if (!p.is_object() && !p.is_namespace()) return rt_error(pos, "expected a mapping argument");
                    for (const value::entry& e : p.entries()) {
                        if (id == bf_namespace && contains_namespace(e.second))
                            return rt_error(pos, "a namespace cannot be stored inside a namespace");
                        out.set(e.first, e.second);
                    }
                }
                for (const value::entry& e : a.kw) {
                    if (id == bf_namespace && contains_namespace(e.second))
                        return rt_error(pos, "a namespace cannot be stored inside a namespace");
                    out.set(e.first, e.second);
                }
                return check_depth(out, pos);
            }
            case bf_raise_exception: {
                const value* m = a.get(0, "message");
                std::string msg = m ? to_string(*m) : std::string("raise_exception() called");
                return rt_error(pos, str("template error: ", msg));
            }
            case bf_strftime_now: {
                const value* f = a.get(0, "format");
                if (!f || !f->is_string()) return rt_error(pos, "strftime_now() needs a format string");
                std::string s;
                NOGGIN_TRY(strftime_now(f->as_string(), s, pos));
                out = value(std::move(s));
                return status();
            }
            default: return rt_error(pos, "internal: unknown builtin", status_code::internal);
        }
    }

    // strftime over a fixed set of directives (a host's strftime may abort on bad formats).
    status strftime_now(const std::string& fmt, std::string& out, uint32_t pos) {
        std::time_t t = opt_.now_unix >= 0 ? std::time_t(opt_.now_unix) : std::time(nullptr);
        std::tm tm{};
#if defined(_WIN32)
        if (opt_.now_local) localtime_s(&tm, &t);
        else gmtime_s(&tm, &t);
#else
        if (opt_.now_local) localtime_r(&t, &tm);
        else gmtime_r(&t, &tm);
#endif
        static const char* const days[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
        static const char* const months[] = {"January", "February", "March", "April", "May", "June", "July",
                                             "August", "September", "October", "November", "December"};
        auto num = [&](int v, int width, bool pad) {
            std::string s = std::to_string(v);
            if (pad)
                while (int(s.size()) < width) s.insert(s.begin(), '0');
            out += s;
        };
        for (size_t k = 0; k < fmt.size(); ++k) {
            if (out.size() > lim_.max_string_bytes) return check_string(out.size(), pos);
            if (fmt[k] != '%') {
                out.push_back(fmt[k]);
                continue;
            }
            if (++k >= fmt.size()) return rt_error(pos, "strftime_now: format ends with '%'");
            bool pad = true;
            if (fmt[k] == '-') {
                pad = false;
                if (++k >= fmt.size()) return rt_error(pos, "strftime_now: format ends with '%-'");
            }
            int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
            switch (fmt[k]) {
                case '%': out += '%'; break;
                case 'a': out += std::string(days[tm.tm_wday % 7]).substr(0, 3); break;
                case 'A': out += days[tm.tm_wday % 7]; break;
                case 'b': out += std::string(months[tm.tm_mon % 12]).substr(0, 3); break;
                case 'B': out += months[tm.tm_mon % 12]; break;
                case 'd': num(tm.tm_mday, 2, pad); break;
                case 'e': {
                    std::string s = std::to_string(tm.tm_mday);
                    if (s.size() < 2 && pad) s.insert(s.begin(), ' ');
                    out += s;
                    break;
                }
                case 'm': num(tm.tm_mon + 1, 2, pad); break;
                case 'y': num(tm.tm_year % 100, 2, pad); break;
                case 'Y': num(tm.tm_year + 1900, 4, false); break;
                case 'H': num(tm.tm_hour, 2, pad); break;
                case 'I': num(hour12, 2, pad); break;
                case 'M': num(tm.tm_min, 2, pad); break;
                case 'S': num(tm.tm_sec, 2, pad); break;
                case 'j': num(tm.tm_yday + 1, 3, pad); break;
                case 'p': out += tm.tm_hour < 12 ? "AM" : "PM"; break;
                default: return rt_error(pos, str("strftime_now: unsupported directive '%", fmt[k], "'"), status_code::unsupported);
            }
        }
        return status();
    }

    // ---- string helpers ----
    // Strip code points in `chars` (Python whitespace when null) from the left and/or right.
    static std::string strip(const std::string& s, const value* chars, bool left, bool right) {
        std::vector<size_t> off = u8_offsets(s);
        size_t n = off.size() - 1;
        auto strip_cp = [&](size_t i) {
            std::string_view cp = std::string_view(s).substr(off[i], off[i + 1] - off[i]);
            if (!chars || chars->is_none() || chars->is_undefined()) return is_py_space(cp);
            const std::string& set = chars->as_string();
            for (size_t p = 0; p < set.size(); p += u8_len(set, p))
                if (std::string_view(set).substr(p, u8_len(set, p)) == cp) return true;
            return false;
        };
        size_t b = 0, e = n;
        if (left)
            while (b < e && strip_cp(b)) ++b;
        if (right)
            while (e > b && strip_cp(e - 1)) --e;
        return s.substr(off[b], off[e] - off[b]);
    }
    // 0 lower, 1 upper, 2 str.title(), 3 capitalize, 4 the |title filter
    static std::string ascii_case(const std::string& s, int mode) {
        std::string r = s;
        bool word_start = true;
        for (size_t k = 0; k < r.size(); ++k) {
            char& c = r[k];
            bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            bool up = mode == 1 || ((mode == 2 && word_start) || (mode == 3 && k == 0));
            if (alpha && mode != 4) c = up ? char(std::toupper(static_cast<unsigned char>(c))) : char(std::tolower(static_cast<unsigned char>(c)));
            if (mode == 2) word_start = !alpha && !(static_cast<unsigned char>(c) >= 0x80);
            if (mode == 4) {  // Jinja's title filter: capitalize the first character of each word
                bool delim = c == '-' || c == ' ' || c == '(' || c == '{' || c == '[' || c == '<' || (c >= 0x09 && c <= 0x0D);
                if (alpha) c = word_start ? char(std::toupper(static_cast<unsigned char>(c))) : char(std::tolower(static_cast<unsigned char>(c)));
                word_start = delim;
            }
        }
        return r;
    }
    status replace(const std::string& s, const std::string& from, const std::string& to, int64_t count, value& out, uint32_t pos) {
        std::string r;
        int64_t done = 0;
        if (from.empty()) {  // Python inserts `to` between code points
            std::vector<size_t> off = u8_offsets(s);
            for (size_t k = 0; k + 1 < off.size() || k == 0; ++k) {
                if (count < 0 || done < count) {
                    r += to;
                    ++done;
                }
                if (k + 1 < off.size()) r.append(s, off[k], off[k + 1] - off[k]);
                NOGGIN_TRY(check_string(r.size(), pos));
                if (k + 1 >= off.size()) break;
            }
        } else {
            size_t p = 0;
            for (;;) {
                size_t f = (count < 0 || done < count) ? s.find(from, p) : std::string::npos;
                if (f == std::string::npos) {
                    r.append(s, p, std::string::npos);
                    break;
                }
                r.append(s, p, f - p);
                r += to;
                ++done;
                p = f + from.size();
                NOGGIN_TRY(check_string(r.size(), pos));
            }
        }
        NOGGIN_TRY(check_string(r.size(), pos));
        charge(r.size() / 64 + s.size() / 64);
        out = value(std::move(r));
        return status();
    }
    status split(const std::string& s, const value* sep, int64_t maxsplit, value& out, uint32_t pos) {
        std::vector<value> parts;
        if (!sep || sep->is_none() || sep->is_undefined()) {  // runs of whitespace, no empty parts
            std::vector<size_t> off = u8_offsets(s);
            size_t n = off.size() - 1, k = 0;
            auto sp = [&](size_t i) { return is_py_space(std::string_view(s).substr(off[i], off[i + 1] - off[i])); };
            while (k < n) {
                while (k < n && sp(k)) ++k;
                if (k >= n) break;
                if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {
                    size_t e = n;
                    while (e > k && sp(e - 1)) --e;
                    parts.emplace_back(s.substr(off[k], off[e] - off[k]));
                    break;
                }
                size_t b = k;
                while (k < n && !sp(k)) ++k;
                parts.emplace_back(s.substr(off[b], off[k] - off[b]));
                NOGGIN_TRY(check_items(parts.size(), pos));
            }
        } else {
            if (!sep->is_string()) return rt_error(pos, "split() separator must be a string");
            const std::string& d = sep->as_string();
            if (d.empty()) return rt_error(pos, "empty separator");
            size_t p = 0;
            for (;;) {
                size_t f = (maxsplit < 0 || int64_t(parts.size()) < maxsplit) ? s.find(d, p) : std::string::npos;
                if (f == std::string::npos) {
                    parts.emplace_back(s.substr(p));
                    break;
                }
                parts.emplace_back(s.substr(p, f - p));
                p = f + d.size();
                NOGGIN_TRY(check_items(parts.size(), pos));
            }
        }
        charge(parts.size() + s.size() / 64);
        out = value::array(std::move(parts));
        return status();
    }

    status call_method(const value& recv, const std::string& name, const args_t& a, value& out, uint32_t pos) {
        if (recv.is_string()) {
            const std::string& s = recv.as_string();
            if (name == "startswith" || name == "endswith") {
                const value* p = a.get(0, "prefix");
                if (!p) return rt_error(pos, str(name, "() takes at least 1 argument"));
                std::vector<value> cands = p->is_array() ? p->items() : std::vector<value>{*p};
                bool r = false;
                for (const value& c : cands) {
                    if (!c.is_string()) return rt_error(pos, str(name, "() argument must be str or a tuple of str"));
                    const std::string& x = c.as_string();
                    if (x.size() <= s.size() &&
                        (name == "startswith" ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0))
                        r = true;
                }
                out = value(r);
                return status();
            }
            if (name == "strip" || name == "lstrip" || name == "rstrip") {
                const value* c = a.get(0, "chars");
                if (c && !c->is_string() && !c->is_none()) return rt_error(pos, str(name, "() argument must be str or None"));
                charge(s.size() / 16);
                out = value(strip(s, c, name != "rstrip", name != "lstrip"));
                return status();
            }
            if (name == "split" || name == "rsplit") {
                const value* sep = a.get(0, "sep");
                const value* mx = a.get(1, "maxsplit");
                int64_t maxsplit = mx ? mx->as_int() : -1;
                if (name == "rsplit" && maxsplit >= 0) return rt_error(pos, "rsplit() with maxsplit is not supported", status_code::unsupported);
                return split(s, sep, maxsplit, out, pos);
            }
            if (name == "splitlines") {
                std::vector<value> parts;
                size_t p = 0;
                while (p < s.size()) {
                    size_t f = s.find_first_of("\r\n", p);
                    if (f == std::string::npos) {
                        parts.emplace_back(s.substr(p));
                        break;
                    }
                    parts.emplace_back(s.substr(p, f - p));
                    p = f + ((s[f] == '\r' && f + 1 < s.size() && s[f + 1] == '\n') ? 2 : 1);
                    NOGGIN_TRY(check_items(parts.size(), pos));
                }
                charge(parts.size());
                out = value::array(std::move(parts));
                return status();
            }
            if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
                charge(s.size() / 16);
                out = value(ascii_case(s, name == "lower" ? 0 : name == "upper" ? 1 : name == "title" ? 2 : 3));
                return status();
            }
            if (name == "replace") {
                const value* f = a.get(0, "old");
                const value* t = a.get(1, "new");
                const value* c = a.get(2, "count");
                if (!f || !t || !f->is_string() || !t->is_string()) return rt_error(pos, "replace() takes two strings");
                return replace(s, f->as_string(), t->as_string(), c ? c->as_int() : -1, out, pos);
            }
            if (name == "find" || name == "rfind" || name == "count" || name == "index") {
                const value* x = a.get(0, "sub");
                if (!x || !x->is_string()) return rt_error(pos, str(name, "() needs a string"));
                const std::string& sub = x->as_string();
                charge(s.size() / 16);
                if (name == "count") {
                    int64_t c = 0;
                    if (sub.empty()) c = int64_t(u8_count(s)) + 1;
                    else
                        for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++c;
                    out = value(c);
                    return status();
                }
                size_t p = name == "rfind" ? s.rfind(sub) : s.find(sub);
                if (p == std::string::npos && name == "index") return rt_error(pos, "substring not found");
                out = value(p == std::string::npos ? int64_t(-1) : int64_t(u8_count(std::string_view(s).substr(0, p))));
                return status();
            }
            if (name == "join") {
                const value* x = a.get(0, "iterable");
                if (!x) return rt_error(pos, "join() takes one argument");
                std::vector<value> items;
                NOGGIN_TRY(iterate(*x, items, pos));
                std::string r;
                for (size_t k = 0; k < items.size(); ++k) {
                    if (!items[k].is_string()) return rt_error(pos, str("sequence item ", k, ": expected str instance"));
                    if (k) r += s;
                    r += items[k].as_string();
                    NOGGIN_TRY(check_string(r.size(), pos));
                }
                charge(r.size() / 64);
                out = value(std::move(r));
                return status();
            }
            if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
                name == "isupper") {
                bool r = !s.empty(), cased = false;
                for (size_t k = 0; k < s.size(); k += u8_len(s, k)) {
                    std::string_view cp = std::string_view(s).substr(k, u8_len(s, k));
                    char c = cp.size() == 1 ? cp[0] : 0;
                    bool dig = c >= '0' && c <= '9', lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z';
                    if (lo || up) cased = true;
                    if (name == "isdigit") r = r && dig;
                    else if (name == "isalpha") r = r && (lo || up);
                    else if (name == "isalnum") r = r && (lo || up || dig);
                    else if (name == "isspace") r = r && is_py_space(cp);
                    else if (name == "islower") r = r && !up;
                    else r = r && !lo;
                }
                if (name == "islower" || name == "isupper") r = r && cased;
                out = value(r);
                return status();
            }
            if (name == "format") return rt_error(pos, "str.format() is not supported", status_code::unsupported);
        } else if (recv.is_object() || recv.is_namespace()) {
            if (name == "items" || name == "keys" || name == "values") {
                std::vector<value> items;
                for (const value::entry& e : recv.entries()) {
                    if (name == "items") items.push_back(value::array({value(e.first), e.second}));
                    else if (name == "keys") items.emplace_back(e.first);
                    else items.push_back(e.second);
                }
                charge(items.size());
                out = value::array(std::move(items));
                return check_depth(out, pos);
            }
            if (name == "get") {
                const value* k = a.get(0, "key");
                const value* d = a.get(1, "default");
                if (!k) return rt_error(pos, "get() takes at least one argument");
                const value* v = k->is_string() ? recv.find(k->as_string()) : nullptr;
                out = v ? *v : d ? *d : value::none();
                return status();
            }
            if (name == "cycle" && recv.find("index0") && recv.find("revindex")) {  // loop.cycle(...)
                if (a.pos.empty()) return rt_error(pos, "loop.cycle() needs at least one argument");
                out = a.pos[size_t(recv.find("index0")->as_int()) % a.pos.size()];
                return status();
            }
            if (name == "update" || name == "pop" || name == "setdefault" || name == "clear")
                return rt_error(pos, str("dict.", name, "() is not allowed: template values are immutable"));
        } else if (recv.is_array()) {
            if (name == "append" || name == "extend" || name == "pop" || name == "insert" || name == "remove" ||
                name == "clear" || name == "sort" || name == "reverse")
                return rt_error(pos, str("list.", name, "() is not allowed: template values are immutable"));
            if (name == "index" || name == "count") {
                const value* x = a.get(0, "value");
                if (!x) return rt_error(pos, str(name, "() takes one argument"));
                int64_t c = 0, first = -1;
                for (size_t k = 0; k < recv.size(); ++k)
                    if (equal(recv.items()[k], *x)) {
                        if (first < 0) first = int64_t(k);
                        ++c;
                    }
                if (name == "index" && first < 0) return rt_error(pos, "value is not in list");
                out = value(name == "index" ? first : c);
                return status();
            }
        }
        return rt_error(pos, str("'", type_name(recv), "' object has no method '", name, "'"), status_code::unsupported);
    }

    // ---- filters ----
    status attr_path(const value& v, const std::string& path, value& out) {
        out = v;
        size_t p = 0;
        while (p <= path.size()) {
            size_t dot = path.find('.', p);
            std::string part = path.substr(p, dot == std::string::npos ? std::string::npos : dot - p);
            value next;
            value key(part);
            if (!part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                out.is_array()) {
                int64_t i = 0;
                std::from_chars(part.data(), part.data() + part.size(), i);
                key = value(i);
            }
            NOGGIN_TRY(get_member(out, key, next));
            out = std::move(next);
            if (dot == std::string::npos) break;
            p = dot + 1;
        }
        return status();
    }

    status select_like(const std::string& fname, const value& in, const args_t& a, value& out, uint32_t pos) {
        bool by_attr = fname == "selectattr" || fname == "rejectattr";
        bool keep_if = fname == "select" || fname == "selectattr";
        std::vector<value> items;
        NOGGIN_TRY(iterate(in, items, pos));
        size_t first_test = by_attr ? 1 : 0;
        if (by_attr && (a.pos.empty() || !a.pos[0].is_string())) return rt_error(pos, str(fname, "() needs an attribute name"));
        std::vector<value> kept;
        for (const value& it : items) {
            value subject = it;
            if (by_attr) NOGGIN_TRY(attr_path(it, a.pos[0].as_string(), subject));
            bool r;
            if (a.pos.size() <= first_test) {
                r = truthy(subject);
            } else {
                if (!a.pos[first_test].is_string()) return rt_error(pos, str(fname, "(): the test name must be a string"));
                args_t ta;
                ta.pos.assign(a.pos.begin() + long(first_test) + 1, a.pos.end());
                NOGGIN_TRY(apply_test(a.pos[first_test].as_string(), subject, ta, r, pos));
            }
            if (r == keep_if) kept.push_back(it);
        }
        charge(items.size());
        out = value::array(std::move(kept));
        return status();
    }

    status apply_filter(const std::string& f, const value& in, const args_t& a, value& out, uint32_t pos) {
        charge(1);
        auto need_string = [&]() -> status {
            if (!in.is_string()) return rt_error(pos, str("filter '", f, "' expects a string, got ", type_name(in)));
            return status();
        };
        if (f == "tojson") {
            const value* ascii = a.get(0, "ensure_ascii");
            const value* ind = a.get(1, "indent");
            if (a.pos.size() > 2) return rt_error(pos, "tojson: separators/sort_keys are not supported", status_code::unsupported);
            for (const value::entry& e : a.kw)
                if (e.first != "indent" && e.first != "ensure_ascii")
                    return rt_error(pos, str("tojson: unsupported argument '", e.first, "'"), status_code::unsupported);
            int indent = -1;
            if (ind && !ind->is_none()) {
                if (!ind->is_int() || ind->as_int() < 0 || ind->as_int() > 64) return rt_error(pos, "tojson: indent must be an integer 0..64");
                indent = int(ind->as_int());
            }
            std::string s;
            status st = to_json(s, in, indent, 0, ascii && truthy(*ascii));
            if (!st.ok()) return rt_error(pos, str("tojson: ", st.message()));
            NOGGIN_TRY(check_string(s.size(), pos));
            charge(s.size() / 64);
            out = value(std::move(s));
            return status();
        }
        if (f == "trim") {
            NOGGIN_TRY(need_string());
            out = value(strip(in.as_string(), a.get(0, "chars"), true, true));
            return status();
        }
        if (f == "length" || f == "count") {
            if (in.is_string()) out = value(int64_t(u8_count(in.as_string())));
            else if (in.is_array() || in.is_object() || in.is_namespace() || in.is_undefined()) out = value(int64_t(in.size()));
            else return rt_error(pos, str("object of type '", type_name(in), "' has no len()"));
            return status();
        }
        if (f == "string") {
            std::string s;
            NOGGIN_TRY(stringify(in, s, pos));
            out = value(std::move(s));
            return status();
        }
        if (f == "default" || f == "d") {
            const value* dv = a.get(0, "default_value");
            const value* boolean = a.get(1, "boolean");
            bool use_default = in.is_undefined() || (boolean && truthy(*boolean) && !truthy(in));
            out = use_default ? (dv ? *dv : value("")) : in;
            return status();
        }
        if (f == "items") {
            if (in.is_undefined()) {
                out = value::array();
                return status();
            }
            if (!in.is_object() && !in.is_namespace()) return rt_error(pos, str("filter 'items' expects a mapping, got ", type_name(in)));
            return call_method(in, "items", a, out, pos);
        }
        if (f == "first" || f == "last") {
            std::vector<value> items;
            NOGGIN_TRY(iterate(in, items, pos));
            out = items.empty() ? value() : (f == "first" ? items.front() : items.back());
            return status();
        }
        if (f == "join") {
            const value* sep = a.get(0, "d");
            const value* attr = a.get(1, "attribute");
            std::vector<value> items;
            NOGGIN_TRY(iterate(in, items, pos));
            std::string r, sp = sep ? to_string(*sep) : std::string();
            for (size_t k = 0; k < items.size(); ++k) {
                if (k) r += sp;
                value v = items[k];
                if (attr) NOGGIN_TRY(attr_path(items[k], to_string(*attr), v));
                to_str(r, v, false);
                NOGGIN_TRY(check_string(r.size(), pos));
            }
            charge(r.size() / 64 + items.size());
            out = value(std::move(r));
            return status();
        }
        if (f == "upper" || f == "lower" || f == "title" || f == "capitalize") {
            std::string s;
            NOGGIN_TRY(stringify(in, s, pos));
            out = value(ascii_case(s, f == "lower" ? 0 : f == "upper" ? 1 : f == "title" ? 4 : 3));
            return status();
        }
        if (f == "replace") {
            std::string s;
            NOGGIN_TRY(stringify(in, s, pos));
            const value* o = a.get(0, "old");
            const value* n = a.get(1, "new");
            const value* c = a.get(2, "count");
            if (!o || !n) return rt_error(pos, "replace needs two arguments");
            return replace(s, to_string(*o), to_string(*n), c && !c->is_none() ? c->as_int() : -1, out, pos);
        }
        if (f == "select" || f == "reject" || f == "selectattr" || f == "rejectattr") return select_like(f, in, a, out, pos);
        if (f == "map") {
            std::vector<value> items;
            NOGGIN_TRY(iterate(in, items, pos));
            std::vector<value> mapped;
            const value* attr = nullptr;
            const value* dflt = nullptr;
            for (const value::entry& e : a.kw) {
                if (e.first == "attribute") attr = &e.second;
                else if (e.first == "default") dflt = &e.second;
            }
            for (const value& it : items) {
                value v;
                if (attr) {
                    NOGGIN_TRY(attr_path(it, to_string(*attr), v));
                    if (v.is_undefined() && dflt) v = *dflt;
                } else {
                    if (a.pos.empty() || !a.pos[0].is_string()) return rt_error(pos, "map() needs a filter name or attribute=");
                    args_t fa;
                    fa.pos.assign(a.pos.begin() + 1, a.pos.end());
                    fa.kw = a.kw;
                    if (a.pos[0].as_string() == "map") return rt_error(pos, "map(map) is not supported", status_code::unsupported);
                    NOGGIN_TRY(apply_filter(a.pos[0].as_string(), it, fa, v, pos));
                }
                mapped.push_back(std::move(v));
                NOGGIN_TRY(check_budget(pos));
            }
            out = value::array(std::move(mapped));
            return check_depth(out, pos);
        }
        if (f == "list") {
            std::vector<value> items;
            NOGGIN_TRY(iterate(in, items, pos));
            out = value::array(std::move(items));
            return check_depth(out, pos);
        }
        if (f == "reverse") {
            if (in.is_string()) {
                std::vector<size_t> off = u8_offsets(in.as_string());
                std::string r;
                for (size_t k = off.size() - 1; k-- > 0;) r.append(in.as_string(), off[k], off[k + 1] - off[k]);
                out = value(std::move(r));
                return status();
            }
            std::vector<value> items;
            NOGGIN_TRY(iterate(in, items, pos));
            std::reverse(items.begin(), items.end());
            out = value::array(std::move(items));
            return check_depth(out, pos);
        }
        if (f == "unique") {
            std::vector<value> items, kept;
            NOGGIN_TRY(iterate(in, items, pos));
            for (const value& it : items) {
                bool seen = false;
                for (const value& k : kept)
                    if (equal(k, it)) {
                        seen = true;
                        break;
                    }
                if (!seen) kept.push_back(it);
                NOGGIN_TRY(check_budget(pos));
            }
            out = value::array(std::move(kept));
            return check_depth(out, pos);
        }
        if (f == "sort" || f == "dictsort") {
            std::vector<value> items;
            if (f == "dictsort") {
                if (!in.is_object()) return rt_error(pos, "dictsort expects a mapping");
                NOGGIN_TRY(call_method(in, "items", args_t{}, out, pos));
                items = out.items();
            } else {
                NOGGIN_TRY(iterate(in, items, pos));
            }
            const value* rev = a.get(f == "sort" ? 0 : 1, "reverse");
            const value* cs = a.get(f == "sort" ? 1 : 0, "case_sensitive");
            const value* attr = f == "sort" ? a.get(2, "attribute") : nullptr;
            bool case_sensitive = cs && truthy(*cs);
            std::vector<value> keys;
            for (const value& it : items) {
                value k = it;
                if (f == "dictsort") k = it.items()[0];
                if (attr) NOGGIN_TRY(attr_path(it, to_string(*attr), k));
                if (k.is_string() && !case_sensitive) k = value(ascii_case(k.as_string(), 0));
                keys.push_back(std::move(k));
            }
            for (size_t k = 1; k < keys.size(); ++k)
                if (!(keys[k].is_number() && keys[0].is_number()) && !(keys[k].is_string() && keys[0].is_string()))
                    return rt_error(pos, str(f, ": cannot compare ", type_name(keys[0]), " and ", type_name(keys[k])));
            std::vector<size_t> order(items.size());
            for (size_t k = 0; k < order.size(); ++k) order[k] = k;
            std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
                const value& p = keys[x];
                const value& q = keys[y];
                if (p.is_string()) return p.as_string() < q.as_string();
                return p.as_double() < q.as_double();
            });
            if (rev && truthy(*rev)) std::reverse(order.begin(), order.end());
            std::vector<value> sorted;
            for (size_t k : order) sorted.push_back(items[k]);
            charge(items.size() * 8);
            out = value::array(std::move(sorted));
            return check_depth(out, pos);
        }
        if (f == "abs") {
            if (in.is_real()) out = value(std::fabs(in.as_double()));
            else if (in.is_int() || in.is_bool()) {
                if (in.as_int() == INT64_MIN) return rt_error(pos, "integer overflow", status_code::unsupported);
                out = value(in.as_int() < 0 ? -in.as_int() : in.as_int());
            } else return rt_error(pos, str("bad operand type for abs(): '", type_name(in), "'"));
            return status();
        }
        if (f == "int") {
            const value* dv = a.get(0, "default");
            value d = dv ? *dv : value(int64_t(0));
            if (in.is_int() || in.is_bool()) out = value(in.as_int());
            else if (in.is_real()) {
                double x = in.as_double();
                out = (std::isfinite(x) && std::fabs(x) < 9.2e18) ? value(int64_t(x)) : d;
            } else if (in.is_string()) {
                std::string s = strip(in.as_string(), nullptr, true, true);
                int64_t i = 0;
                double x = 0;
                const char* b = s.data();
                const char* e = s.data() + s.size();
                if (!s.empty() && s[0] == '+') ++b;
                auto r = std::from_chars(b, e, i);
                if (r.ec == std::errc() && r.ptr == e && b != e) out = value(i);
                else {
                    auto r2 = std::from_chars(b, e, x);
                    out = (r2.ec == std::errc() && r2.ptr == e && b != e && std::isfinite(x) && std::fabs(x) < 9.2e18) ? value(int64_t(x)) : d;
                }
            } else out = d;
            return status();
        }
        if (f == "float") {
            const value* dv = a.get(0, "default");
            value d = dv ? *dv : value(0.0);
            if (in.is_number()) out = value(in.as_double());
            else if (in.is_string()) {
                std::string s = strip(in.as_string(), nullptr, true, true);
                double x = 0;
                const char* b = s.data();
                const char* e = s.data() + s.size();
                if (!s.empty() && s[0] == '+') ++b;
                auto r = std::from_chars(b, e, x);
                out = (r.ec == std::errc() && r.ptr == e && b != e) ? value(x) : d;
            } else out = d;
            return status();
        }
        if (f == "round") {
            const value* pr = a.get(0, "precision");
            const value* m = a.get(1, "method");
            if (!in.is_number()) return rt_error(pos, "round expects a number");
            int64_t p = pr ? pr->as_int() : 0;
            if (p < -20 || p > 20) return rt_error(pos, "round: precision out of range");
            double scale = std::pow(10.0, double(p)), x = in.as_double() * scale;
            std::string method = m ? to_string(*m) : "common";
            if (method == "common") x = std::round(x);
            else if (method == "floor") x = std::floor(x);
            else if (method == "ceil") x = std::ceil(x);
            else return rt_error(pos, "round: method must be common, floor or ceil");
            out = value(x / scale);
            return status();
        }
        if (f == "sum" || f == "min" || f == "max") {
            std::vector<value> items;
            NOGGIN_TRY(iterate(in, items, pos));
            const value* attr = nullptr;
            for (const value::entry& e : a.kw)
                if (e.first == "attribute") attr = &e.second;
            if (f == "sum") {
                const value* start = a.get(1, "start");
                value acc = start ? *start : value(int64_t(0));
                for (const value& it : items) {
                    value v = it;
                    if (attr) NOGGIN_TRY(attr_path(it, to_string(*attr), v));
                    value r;
                    NOGGIN_TRY(arith("+", acc, v, r, pos));
                    acc = std::move(r);
                }
                out = acc;
                return status();
            }
            out = value();
            for (const value& it : items) {
                value v = it;
                if (attr) NOGGIN_TRY(attr_path(it, to_string(*attr), v));
                if (out.is_undefined()) {
                    out = v;
                    continue;
                }
                int r = 0;
                NOGGIN_TRY(compare(v, out, r, pos, f == "min" ? "<" : ">"));
                if ((f == "min" && r < 0) || (f == "max" && r > 0)) out = v;
            }
            return status();
        }
        if (f == "indent") {
            std::string s;
            NOGGIN_TRY(stringify(in, s, pos));
            const value* w = a.get(0, "width");
            const value* first = a.get(1, "first");
            const value* blank = a.get(2, "blank");
            std::string pad = w ? (w->is_string() ? w->as_string() : std::string(size_t(std::min<int64_t>(std::max<int64_t>(w->as_int(), 0), 256)), ' '))
                                : std::string(4, ' ');
            std::string r;
            size_t p = 0;
            bool is_first = true;
            while (p <= s.size()) {
                size_t nl = s.find('\n', p);
                std::string line = s.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
                bool do_pad = (!is_first || (first && truthy(*first))) && (!line.empty() || (blank && truthy(*blank)));
                if (do_pad) r += pad;
                r += line;
                NOGGIN_TRY(check_string(r.size(), pos));
                if (nl == std::string::npos) break;
                r += '\n';
                p = nl + 1;
                is_first = false;
            }
            charge(r.size() / 64);
            out = value(std::move(r));
            return status();
        }
        if (f == "safe") {
            out = in;
            return status();
        }
        if (f == "e" || f == "escape") {
            std::string s;
            NOGGIN_TRY(stringify(in, s, pos));
            std::string r;
            for (char c : s) {
                switch (c) {
                    case '&': r += "&amp;"; break;
                    case '<': r += "&lt;"; break;
                    case '>': r += "&gt;"; break;
                    case '"': r += "&#34;"; break;
                    case '\'': r += "&#39;"; break;
                    default: r.push_back(c);
                }
            }
            NOGGIN_TRY(check_string(r.size(), pos));
            out = value(std::move(r));
            return status();
        }
        if (f == "wordcount") {
            NOGGIN_TRY(need_string());
            value parts;
            NOGGIN_TRY(split(in.as_string(), nullptr, -1, parts, pos));
            out = value(int64_t(parts.size()));
            return status();
        }
        return rt_error(pos, str("unknown filter '", f, "'"), status_code::unsupported);
    }

    // ---- tests ----
    status apply_test(const std::string& t, const value& v, const args_t& a, bool& r, uint32_t pos) {
        charge(1);
        auto arg = [&]() -> const value* { return a.get(0, "value"); };
        if (t == "defined") r = !v.is_undefined();
        else if (t == "undefined") r = v.is_undefined();
        else if (t == "none") r = v.is_none();
        else if (t == "boolean") r = v.is_bool();
        else if (t == "true") r = v.is_bool() && v.as_bool();
        else if (t == "false") r = v.is_bool() && !v.as_bool();
        else if (t == "integer") r = v.is_int();
        else if (t == "float") r = v.is_real();
        else if (t == "number") r = v.is_int() || v.is_real() || v.is_bool();
        else if (t == "string") r = v.is_string();
        else if (t == "mapping") r = v.is_object();
        else if (t == "iterable") r = v.is_array() || v.is_object() || v.is_string();
        else if (t == "sequence") r = v.is_array() || v.is_object() || v.is_string();
        else if (t == "callable") r = v.is_callable();
        else if (t == "lower" || t == "upper") {
            if (!v.is_string()) r = false;
            else r = ascii_case(v.as_string(), t == "lower" ? 0 : 1) == v.as_string();
        } else if (t == "odd" || t == "even" || t == "divisibleby") {
            if (!v.is_int() && !v.is_bool()) return rt_error(pos, str("test '", t, "' expects an integer"));
            if (t == "divisibleby") {
                const value* d = a.get(0, "num");
                if (!d || !d->is_int() || d->as_int() == 0) return rt_error(pos, "divisibleby needs a non-zero integer");
                r = d->as_int() == -1 || v.as_int() % d->as_int() == 0;
            } else {
                r = (v.as_int() % 2 != 0) == (t == "odd");
            }
        } else if (t == "equalto" || t == "eq" || t == "==" || t == "sameas") {
            const value* o = arg();
            if (!o) return rt_error(pos, str("test '", t, "' needs an argument"));
            r = equal(v, *o);
        } else if (t == "ne" || t == "!=") {
            const value* o = arg();
            if (!o) return rt_error(pos, str("test '", t, "' needs an argument"));
            r = !equal(v, *o);
        } else if (t == "lt" || t == "le" || t == "gt" || t == "ge" || t == "lessthan" || t == "greaterthan" || t == "<" ||
                   t == "<=" || t == ">" || t == ">=") {
            const value* o = arg();
            if (!o) return rt_error(pos, str("test '", t, "' needs an argument"));
            int c = 0;
            NOGGIN_TRY(compare(v, *o, c, pos, t));
            r = (t == "lt" || t == "lessthan" || t == "<") ? c < 0 : (t == "le" || t == "<=") ? c <= 0
                : (t == "gt" || t == "greaterthan" || t == ">") ? c > 0 : c >= 0;
        } else if (t == "in") {
            const value* o = arg();
            if (!o) return rt_error(pos, "test 'in' needs an argument");
            NOGGIN_TRY(contains(*o, v, r, pos));
        } else {
            return rt_error(pos, str("unknown test '", t, "'"), status_code::unsupported);
        }
        return status();
    }

    std::string_view src_;
    const std::vector<node>& nodes_;
    const options& opt_;
    const limits& lim_;
    uint32_t root_;
    std::vector<frame> frames_;
    std::string* out_ = nullptr;
    size_t suspended_ = 0;  // bytes held by outer outputs while a macro/set block captures
    size_t depth_ = 0;
    uint64_t steps_ = 0;
};

}  // namespace detail

inline result<std::string> compiled_template::render(const value& context) const {
    if (nodes_.empty()) return status(status_code::invalid_argument, "jinja: render() on an empty template object");
    std::string out;
    detail::interpreter it(*this);
    NOGGIN_TRY(it.run(context, out));
    return out;
}

// Parse and render in one call.
inline result<std::string> render(std::string_view source, const value& context, const options& opt = {}) {
    result<compiled_template> t = parse(source, opt);
    if (!t.ok()) return t.status();
    return t->render(context);
}

}  // namespace noggin::text::jinja
