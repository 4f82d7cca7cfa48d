// tests/text/jinja_test.cpp — every construct the Jinja interpreter supports, on hand-written templates.
#include <doctest/doctest.h>

#include <noggin/text/jinja.hpp>

#include <string>

using namespace noggin::text;

namespace {

// Render `tpl` with the context given as JSON; errors come back as "ERROR: <message>".
std::string R(const std::string& tpl, const std::string& ctx_json = "{}", const jinja::options& opt = {}) {
    auto j = json_parse(ctx_json);
    REQUIRE(j.ok());
    auto ctx = jinja::from_json(j.value());
    REQUIRE(ctx.ok());
    auto r = jinja::render(tpl, ctx.value(), opt);
    if (!r.ok()) return "ERROR: " + r.status().message();
    return r.value();
}

bool is_error(const std::string& s) { return s.rfind("ERROR: ", 0) == 0; }

}  // namespace

TEST_CASE("jinja: text, output and comments") {
    CHECK(R("hello") == "hello");
    CHECK(R("") == "");
    CHECK(R("a{{ x }}b", R"({"x": "X"})") == "aXb");
    CHECK(R("a{# note #}b") == "ab");
    CHECK(R("{{ missing }}|") == "|");
    CHECK(R("{ not a tag } {") == "{ not a tag } {");
    CHECK(R("{{ 'it''s' }}") == "its");  // adjacent literals concatenate
}

TEST_CASE("jinja: literals print like Python") {
    CHECK(R("{{ 1 }} {{ -2 }} {{ 1.5 }} {{ 2.0 }} {{ 1e20 }} {{ 0.0001 }} {{ 1e-5 }}") == "1 -2 1.5 2.0 1e+20 0.0001 1e-05");
    CHECK(R("{{ true }} {{ False }} {{ none }} {{ None }}") == "True False None None");
    CHECK(R("{{ [1, 'a', none, true] }}") == "[1, 'a', None, True]");
    CHECK(R("{{ {'k': 'v', 'n': 1} }}") == "{'k': 'v', 'n': 1}");
    CHECK(R("{{ (1, 2) }}") == "[1, 2]");  // tuples are lists here
    CHECK(R(R"({{ "it's" }} {{ ["it's"] }})") == R"(it's ["it's"])");
    CHECK(R(R"({{ 'a\nb\t\u00e9\x41' }})") == "a\nb\t\xC3\xA9" "A");
    CHECK(R("{{ 1_000 }}") == "1000");
}

TEST_CASE("jinja: arithmetic, comparison, logic") {
    CHECK(R("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}") ==
          "7 9 3 -4 1 2 3.5 1024");
    CHECK(R("{{ 1 + 1.5 }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'ab' * 3 }}") == "2.5 ab [1, 2] ababab");
    CHECK(R("{{ 'x' ~ 1 ~ none ~ true }}") == "x1NoneTrue");
    CHECK(R("{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 != 2 > 3 }} {{ -1 % 1.0 }} {{ [missing] }}") == "True False False 0.0 [Undefined]");
    CHECK(R("{{ 1 < 2 }} {{ 2 <= 1 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ 1 != 2 }} {{ [1,2] == [1,2] }}") ==
          "True False True True True True");
    CHECK(R("{{ 1 and 'x' }} {{ 0 or 'y' }} {{ not 0 }} {{ not [] }} {{ '' or none }}") == "x y True True None");
    CHECK(R("{{ 'yes' if 1 else 'no' }} {{ 'yes' if 0 else 'no' }} [{{ 'yes' if 0 }}]") == "yes no []");
    CHECK(R("{{ -x }}", R"({"x": 3})") == "-3");
    CHECK(is_error(R("{{ 1 / 0 }}")));
    CHECK(is_error(R("{{ 'a' + 1 }}")));
    CHECK(is_error(R("{{ 1 < 'a' }}")));
    CHECK(is_error(R("{{ 9223372036854775807 + 1 }}")));
}

TEST_CASE("jinja: in, not in") {
    CHECK(R("{{ 'b' in 'abc' }} {{ 'z' not in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'x' in missing }}") ==
          "True True True True False");
    CHECK(R("{% if '</think>' in content %}y{% endif %}", R"({"content": "a</think>b"})") == "y");
}

TEST_CASE("jinja: attribute, item, slicing") {
    const char* ctx = R"({"m": {"role": "user", "list": [10, 20, 30, 40]}, "s": "héllo"})";
    CHECK(R("{{ m.role }} {{ m['role'] }} {{ m.list[1] }} {{ m.list[-1] }} [{{ m.nope }}] [{{ m.list[9] }}]", ctx) ==
          "user user 20 40 [] []");
    CHECK(R("{{ m.list[1:3] }} {{ m.list[::-1] }} {{ m.list[:2] }} {{ m.list[2:] }} {{ m.list[::2] }} {{ m.list[-2:] }}", ctx) ==
          "[20, 30] [40, 30, 20, 10] [10, 20] [30, 40] [10, 30] [30, 40]");
    CHECK(R("{{ s[1] }} {{ s[::-1] }} {{ s[1:3] }} {{ s|length }}", ctx) == "é olléh él 5");
    CHECK(R("{{ m.list[10:] }} {{ m.list[-100:1] }} {{ m.list[3:0:-1] }}", ctx) == "[] [10] [40, 30, 20]");
    CHECK(is_error(R("{{ missing.attr }}")));  // attribute of an undefined variable is an error, as in Jinja2
    CHECK(R("{{ none_val.attr }}|", R"({"none_val": null})") == "|");
}

TEST_CASE("jinja: if / elif / else") {
    const char* t = "{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}many{% endif %}";
    CHECK(R(t, R"({"x": 1})") == "one");
    CHECK(R(t, R"({"x": 2})") == "two");
    CHECK(R(t, R"({"x": 3})") == "three");
    CHECK(R(t, R"({"x": 9})") == "many");
    CHECK(R("{% if x %}a{% endif %}b") == "b");
}

TEST_CASE("jinja: for loops, loop variables, else, filter, break, continue") {
    const char* ctx = R"({"xs": ["a", "b", "c"]})";
    CHECK(R("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", ctx) ==
          "10a,21b,32c");
    CHECK(R("{% for x in xs %}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }} {% endfor %}", ctx) ==
          "TrueFalse332 FalseFalse321 FalseTrue310 ");
    CHECK(R("{% for x in xs %}{{ loop.previtem }}>{{ x }}>{{ loop.nextitem }};{% endfor %}", ctx) == ">a>b;a>b>c;b>c>;");
    CHECK(R("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty");
    CHECK(R("{% for x in xs if x != 'b' %}{{ x }}{{ loop.length }}{% endfor %}", ctx) == "a2c2");
    CHECK(R("{% for x in xs %}{% if x == 'b' %}{% break %}{% endif %}{{ x }}{% endfor %}", ctx) == "a");
    CHECK(R("{% for x in xs %}{% if x == 'b' %}{% continue %}{% endif %}{{ x }}{% endfor %}", ctx) == "ac");
    CHECK(R("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "a=1;b=2;");
    CHECK(R("{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}") == "ab");
    CHECK(R("{% for c in 'hé' %}[{{ c }}]{% endfor %}") == "[h][é]");
    CHECK(R("{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}{% for i in range(3, 0, -1) %}{{ i }}{% endfor %}") ==
          "012135321");
    CHECK(R("{% for x in xs %}{% for y in [1, 2] %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}", ctx) == "121122123");
    CHECK(R("{% for x in xs %}{{ loop.cycle('o', 'e') }}{% endfor %}", ctx) == "oeo");
    CHECK(R("{% for x in missing %}x{% endfor %}done") == "done");
    CHECK(is_error(R("{% for x in 5 %}{% endfor %}")));
    CHECK(is_error(R("{% break %}")));
}

TEST_CASE("jinja: set, scoping and namespace") {
    CHECK(R("{% set x = 'a' %}{{ x }}{% set x = x ~ 'b' %}{{ x }}") == "aab");
    CHECK(R("{% set a, b = 1, 2 %}{{ a }}{{ b }}") == "12");
    CHECK(R("{% set x = 1 %}{% for i in range(3) %}{% set x = i %}{% endfor %}{{ x }}") == "1");  // loop scope
    CHECK(R("{% set ns = namespace(x=1, s='') %}{% for i in range(3) %}{% set ns.x = ns.x + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.x }} {{ ns.s }}") ==
          "4 012");
    CHECK(R("{% set x %}in {{ 1 + 1 }}{% endset %}[{{ x }}]") == "[in 2]");
    CHECK(R("{% if true %}{% set y = 5 %}{% endif %}{{ y }}") == "5");  // if does not scope
    CHECK(is_error(R("{% set x = 1 %}{% set x.a = 2 %}")));
    CHECK(is_error(R("{% set ns = namespace() %}{% set ns.me = ns %}")));
}

TEST_CASE("jinja: whitespace control, trim_blocks and lstrip_blocks") {
    CHECK(R("a  {%- if true -%}  b  {%- endif -%}  c") == "abc");
    CHECK(R("a {{- 'x' -}} b") == "axb");
    // trim_blocks drops the newline after a block tag; lstrip_blocks strips indentation before it.
    CHECK(R("{% if true %}\n    yes\n    {% endif %}\nend") == "    yes\nend");
    CHECK(R("<{% if true %}\nx{% endif %}>") == "<x>");
    CHECK(R("  {{ 'v' }}\n.") == "  v\n.");  // variables are never stripped
    CHECK(R("a\n  {# c #}\nb") == "a\nb");
    CHECK(R("a {% if true %}b{% endif %}") == "a b");  // not at a line start: kept
    CHECK(R("  {%+ if true %}x{% endif %}") == "  x");
    CHECK(R("a{% if true +%}\nx{% endif %}") == "a\nx");
    // Jinja drops one newline ending the template and normalises \r\n / \r to \n.
    CHECK(R("x\n") == "x");
    CHECK(R("x\n\n") == "x\n");
    CHECK(R("a\r\nb\rc{{ 'd\r\ne' }}") == "a\nb\ncd\ne");
    jinja::options keep;
    keep.keep_trailing_newline = true;
    CHECK(R("x\n", "{}", keep) == "x\n");
    jinja::options raw;
    raw.trim_blocks = false;
    raw.lstrip_blocks = false;
    CHECK(R("{% if true %}\n    yes\n    {% endif %}\nend", "{}", raw) == "\n    yes\n    \nend");
}

TEST_CASE("jinja: filters") {
    const char* ctx = R"({"xs": [3, 1, 2], "ms": [{"r": "a", "n": 1}, {"r": "b", "n": 2}, {"r": "a", "n": 3}], "d": {"b": 1, "a": 2}})";
    CHECK(R("{{ '  hi  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ xs|length }}|{{ 'héllo'|length }}|{{ d|length }}|{{ xs|count }}", ctx) ==
          "hi|hi|3|5|2|3");
    CHECK(R("{{ 5|string ~ 'x' }} {{ missing|default('dflt') }} {{ ''|default('e', true) }} {{ ''|d('e') }}|", ctx) == "5x dflt e |");
    CHECK(R("{{ xs|first }} {{ xs|last }} {{ xs|join(', ') }} {{ ms|join('-', attribute='r') }}", ctx) == "3 2 3, 1, 2 a-b-a");
    CHECK(R("{{ 'Hello'|upper }} {{ 'Hello'|lower }} {{ 'hello world'|title }} {{ 'hello'|capitalize }}") ==
          "HELLO hello Hello World Hello");
    CHECK(R("{{ 'h8llo wORLD-x'|title }} {{ 'h8llo wORLD-x'.title() }}") == "H8llo World-X H8Llo World-X");
    CHECK(R("{{ 'a-b-c'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }}") == "a+b+c bba");
    CHECK(R("{{ d|items|list }} {% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}", ctx) == "[['b', 1], ['a', 2]] b1a2");
    CHECK(R("{{ ms|selectattr('r', 'equalto', 'a')|map(attribute='n')|list }} {{ ms|rejectattr('r', 'equalto', 'a')|map(attribute='n')|join }}", ctx) ==
          "[1, 3] 2");
    CHECK(R("{{ ms|selectattr('n', 'gt', 1)|list|length }} {{ xs|select('odd')|list }} {{ xs|reject('odd')|list }}", ctx) == "2 [3, 1] [2]");
    CHECK(R("{{ ['a', 'b']|map('upper')|join }} {{ xs|sort }} {{ xs|sort(reverse=true) }} {{ [1, 1, 2]|unique|list }}", ctx) ==
          "AB [1, 2, 3] [3, 2, 1] [1, 2]");
    CHECK(R("{{ d|dictsort }} {{ xs|reverse|list }} {{ 'abc'|reverse }}", ctx) == "[['a', 2], ['b', 1]] [2, 1, 3] cba");
    CHECK(R("{{ '42'|int + 1 }} {{ 'x'|int }} {{ 3.9|int }} {{ '1.5'|float }} {{ -3|abs }} {{ 2.567|round(2) }} {{ xs|sum }} {{ xs|min }} {{ xs|max }}", ctx) ==
          "43 0 3 1.5 3 2.57 6 1 3");
    CHECK(R("{{ 'a\nb\n\nc'|indent(2) }}") == "a\n  b\n\n  c");
    CHECK(R("{{ '<a&b>'|e }} {{ '<x>'|safe }} {{ 'one two  three'|wordcount }}") == "&lt;a&amp;b&gt; <x> 3");
    CHECK(R("{{ ms|map(attribute='zz', default='-')|join }}", ctx) == "---");
    CHECK(is_error(R("{{ 1|nosuchfilter }}")));
}

TEST_CASE("jinja: tojson matches transformers (json.dumps, ensure_ascii=False, no key sorting)") {
    const char* ctx = R"({"t": {"name": "get_weather", "b": [1, 2.5, true, null], "u": "é \"q\" \n", "e": {}, "l": []}})";
    CHECK(R("{{ t|tojson }}", ctx) ==
          R"({"name": "get_weather", "b": [1, 2.5, true, null], "u": "é \"q\" \n", "e": {}, "l": []})");
    CHECK(R("{{ t.b|tojson(indent=2) }}", ctx) == "[\n  1,\n  2.5,\n  true,\n  null\n]");
    CHECK(R("{{ {'a': {'b': 1}}|tojson(indent=2) }}") == "{\n  \"a\": {\n    \"b\": 1\n  }\n}");
    // transformers' signature is tojson(x, ensure_ascii=False, indent=None): a positional argument is ensure_ascii
    CHECK(R("{{ {'é': '😀 x'}|tojson(true) }} {{ 'é'|tojson(ensure_ascii=true, indent=2) }}") ==
          R"({"\u00e9": "\ud83d\ude00 x"} "\u00e9")");
    CHECK(R("{{ 'x'|tojson }} {{ 1.0|tojson }} {{ 1e-7|tojson }}") == "\"x\" 1.0 1e-07");
    CHECK(is_error(R("{{ missing|tojson }}")));
}

TEST_CASE("jinja: tests") {
    CHECK(R("{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ x is not none }}", R"({"x": 1, "n": null})") ==
          "True False True True True");
    CHECK(R("{{ 's' is string }} {{ 1 is string }} {{ {} is mapping }} {{ [] is mapping }} {{ [] is iterable }} {{ 's' is iterable }} {{ 1 is iterable }}") ==
          "True False True False True True False");
    CHECK(R("{{ 1 is number }} {{ 1 is integer }} {{ 1.5 is float }} {{ true is boolean }} {{ false is false }} {{ true is true }}") ==
          "True True True True True True");
    CHECK(R("{{ 3 is odd }} {{ 3 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 'a' is equalto 'a' }} {{ 2 is eq(2) }} {{ 2 is ne 2 }}") ==
          "True False True False True True False");
    CHECK(R("{{ 2 is gt 1 }} {{ 2 is lt 1 }} {{ 2 is ge 2 }} {{ 'a' is in 'abc' }} {{ range is callable }}") == "True False True True True");
    CHECK(R("{% if enable_thinking is defined and enable_thinking is false %}off{% endif %}", R"({"enable_thinking": false})") == "off");
    CHECK(is_error(R("{{ 1 is nosuchtest }}")));
}

TEST_CASE("jinja: string and dict methods") {
    CHECK(R("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith('x') }}") ==
          "True True True False");
    CHECK(R("{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'x</think>y'.split('</think>')[-1] }}") ==
          "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b,c'] y");
    CHECK(R("[{{ '\n x \n'.strip() }}] [{{ '\n\nx\n'.strip('\n') }}] [{{ '\nx\n'.lstrip('\n') }}] [{{ '\nx\n'.rstrip('\n') }}] [{{ 'xxay'.lstrip('xy') }}]") ==
          "[x] [x] [x\n] [\nx] [ay]");
    CHECK(R("{{ 'Ab'.upper() }} {{ 'Ab'.lower() }} {{ 'a b'.title() }} {{ 'ab'.capitalize() }} {{ 'aXa'.replace('a', 'b') }}") ==
          "AB ab A B Ab bXb");
    CHECK(R("{{ 'abcb'.find('b') }} {{ 'abcb'.rfind('b') }} {{ 'abcb'.count('b') }} {{ '-'.join(['a', 'b']) }} {{ 'a\nb'.splitlines() }}") ==
          "1 3 2 a-b ['a', 'b']");
    CHECK(R("{{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }}") == "True True True");
    CHECK(R("{{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }} {{ d.keys()|list }} {{ d.values()|list }}", R"({"d": {"a": 1}})") ==
          "1 dflt None ['a'] [1]");
    CHECK(is_error(R("{{ [].append(1) }}")));
    CHECK(is_error(R("{{ 'x'.nosuchmethod() }}")));
}

TEST_CASE("jinja: macros") {
    CHECK(R("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }} {{ greet('b', '?') }} {{ greet(punct='.', name='c') }}") ==
          "Hi a! Hi b? Hi c.");
    CHECK(R("{% set g = 'global' %}{% macro m() %}{{ g }}{% endmacro %}{% for i in [1] %}{% set g2 = 'loop' %}{{ m() }}{% endfor %}") == "global");
    CHECK(R("{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}") == "321");
    CHECK(is_error(R("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}")));
}

TEST_CASE("jinja: globals raise_exception, strftime_now, namespace, dict") {
    std::string e = R("{{ raise_exception('Only user and assistant roles are supported!') }}");
    CHECK(e.find("Only user and assistant roles are supported!") != std::string::npos);
    CHECK(e.find("line 1, column 4") != std::string::npos);
    jinja::options o;
    o.now_unix = 1714003200;  // 2024-04-25 00:00:00 UTC
    o.now_local = false;
    CHECK(R("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B %-d %j %p %%') }}", "{}", o) ==
          "25 Apr 2024|2024-04-25 00:00:00 Thursday April 25 116 AM %");
    CHECK(is_error(R("{{ strftime_now('%Q') }}", "{}", o)));
    CHECK(R("{{ dict(a=1)['a'] }} {{ namespace(x=2).x }}") == "1 2");
}

TEST_CASE("jinja: generation blocks render their body") {
    CHECK(R("a{% generation %}b{% endgeneration %}c") == "abc");
}

TEST_CASE("jinja: errors carry line and column") {
    auto t = jinja::parse("line one\n{% if x %}\n{{ x + }}\n{% endif %}");
    REQUIRE(!t.ok());
    CHECK(t.status().code() == noggin::status_code::format_error);
    CHECK(t.status().message().find("line 3, column 8") != std::string::npos);
    auto u = jinja::parse("{% include 'x.j2' %}");
    REQUIRE(!u.ok());
    CHECK(u.status().code() == noggin::status_code::unsupported);
    CHECK(u.status().message().find("line 1, column 4") != std::string::npos);
    auto v = jinja::parse("ok\n  {{ a.b }}");
    REQUIRE(v.ok());
    auto r = v->render(jinja::value::object());
    REQUIRE(!r.ok());
    CHECK(r.status().message().find("line 2, column 7") != std::string::npos);
    CHECK(r.status().message().find("'a' is undefined") != std::string::npos);
}

TEST_CASE("jinja: value API and JSON conversion") {
    jinja::value o = jinja::value::object();
    o.set("b", jinja::value(int64_t(1)));
    o.set("a", jinja::value("x"));
    o.set("b", jinja::value(2.5));
    CHECK(jinja::to_string(o) == "{'b': 2.5, 'a': 'x'}");
    std::string js;
    CHECK(jinja::to_json(js, o).ok());
    CHECK(js == R"({"b": 2.5, "a": "x"})");
    auto deep = json_parse(std::string(100, '[') + std::string(100, ']'));
    REQUIRE(deep.ok());
    CHECK(!jinja::from_json(deep.value()).ok());
    CHECK(jinja::from_json(deep.value(), 200).ok());
    auto t = jinja::parse("{{ x }}");
    REQUIRE(t.ok());
    jinja::value ctx = jinja::value::object();
    ctx.set("x", jinja::value::array({jinja::value(1), jinja::value("s")}));
    CHECK(t->render(ctx).value() == "[1, 's']");
}
