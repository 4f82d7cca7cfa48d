// tests/text/jinja_hostile_test.cpp — hostile templates end in a status, never a crash or a hang.
#include <doctest/doctest.h>

#include <noggin/text/jinja.hpp>

#include <string>

using namespace noggin::text;
using noggin::status_code;

namespace {

noggin::status render_status(const std::string& tpl, const jinja::options& opt = {}) {
    auto t = jinja::parse(tpl, opt);
    if (!t.ok()) return t.status();
    jinja::value ctx = jinja::value::object();
    ctx.set("messages", jinja::value::array({jinja::value::object({{"role", jinja::value("user")}, {"content", jinja::value("hi")}})}));
    auto r = t->render(ctx);
    return r.ok() ? noggin::status() : r.status();
}

}  // namespace

TEST_CASE("jinja hostile: unterminated and malformed syntax") {
    const char* bad[] = {
        "{% if x %}never closed",
        "{% for x in xs %}",
        "{{ 'unterminated",
        "{{ x",
        "{% if %}",
        "{# comment",
        "{% endif %}",
        "{% else %}",
        "{% if x %}{% endfor %}",
        "{{ (1, 2 }}",
        "{{ [1, 2) }}",
        "{{ x | }}",
        "{{ x is }}",
        "{% set %}",
        "{% macro %}",
        "{{ @ }}",
        "{{ 'a\\x4' }}",
        "{{ 99999999999999999999999 }}",
        "{% raw %}x{% endraw %}",
        "{% extends 'base' %}",
        "{{ x.  }}",
        "{{ a[ }}",
        "{% for in xs %}{% endfor %}",
        "{{ }}",
        "{% %}",
    };
    for (const char* t : bad) {
        CAPTURE(t);
        noggin::status s = render_status(t);
        CHECK(!s.ok());
        CHECK(s.message().find("line ") != std::string::npos);
    }
}

TEST_CASE("jinja hostile: huge ranges and endless loops hit the limits") {
    noggin::status s = render_status("{% for i in range(1000000000000) %}x{% endfor %}");
    CHECK(s.code() == status_code::limit_exceeded);
    jinja::options tight;
    tight.limits.max_steps = 100000;
    s = render_status("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", tight);
    CHECK(s.code() == status_code::limit_exceeded);
    s = render_status("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}");
    CHECK(s.code() == status_code::limit_exceeded);
    s = render_status("{{ range(-9223372036854775807, 9223372036854775807, 1)|length }}");
    CHECK(s.code() == status_code::limit_exceeded);
}

TEST_CASE("jinja hostile: deep recursion") {
    noggin::status s = render_status("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    CHECK(s.code() == status_code::limit_exceeded);
    s = render_status(std::string(100000, '(') + "1" + std::string(100000, ')'));
    CHECK(s.ok());  // plain text, no tag
    s = render_status("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}");
    CHECK(s.code() == status_code::limit_exceeded);
    std::string nested_ifs;
    for (int i = 0; i < 5000; ++i) nested_ifs += "{% if true %}";
    for (int i = 0; i < 5000; ++i) nested_ifs += "{% endif %}";
    CHECK(render_status(nested_ifs).code() == status_code::limit_exceeded);
    s = render_status("{{ " + std::string(50000, '-') + "1 }}");
    CHECK(s.code() == status_code::limit_exceeded);
    s = render_status("{{ " + std::string(50000, '[') + std::string(50000, ']') + " }}");
    CHECK(s.code() == status_code::limit_exceeded);
    // Values nested at run time (no literal nesting): capped by max_value_depth.
    s = render_status("{% set ns = namespace(v=[]) %}{% for i in range(1000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v|tojson }}");
    CHECK(s.code() == status_code::limit_exceeded);
}

TEST_CASE("jinja hostile: huge output and huge strings") {
    noggin::status s = render_status("{% for i in range(1000000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}");
    CHECK(s.code() == status_code::limit_exceeded);
    s = render_status("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
    CHECK(s.code() == status_code::limit_exceeded);
    s = render_status("{{ 'x' * 9223372036854775807 }}");
    CHECK(s.code() == status_code::limit_exceeded);
    s = render_status("{% set ns = namespace(s='xx') %}{% for i in range(100) %}{% set ns.s = ns.s.replace('x', ns.s) %}{% endfor %}");
    CHECK(s.code() == status_code::limit_exceeded);
    s = render_status("{% macro m() %}{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endmacro %}{% for i in range(100) %}{{ m() }}{% endfor %}");
    CHECK(s.code() == status_code::limit_exceeded);
    jinja::options small;
    small.limits.max_template_bytes = 10;
    CHECK(render_status("01234567890", small).code() == status_code::limit_exceeded);
}

TEST_CASE("jinja hostile: type confusion is an error, not a crash") {
    const char* bad[] = {
        "{{ messages.role.x }}", "{{ none() }}", "{{ 1() }}", "{{ messages[0]['content'][None:'a'] }}",
        "{{ 1 in 2 }}", "{{ -'a' }}", "{{ [] < {} }}", "{{ 'a' % 1 }}", "{{ range('a') }}", "{{ range(1, 2, 0) }}",
        "{{ namespace(1) }}", "{{ 'a'.split('') }}", "{{ [1][::0] }}", "{{ 1|tojson(indent=-1) }}",
        "{% set a, b = [1] %}", "{{ messages|dictsort }}", "{{ [1, 'a']|sort }}", "{{ (-9223372036854775807 - 1) // -1 }}",
        "{{ -(-9223372036854775807 - 1) }}", "{{ 2 ** 64 }}", "{{ 1 % 0 }}", "{{ strftime_now() }}", "{{ {1: 2} }}",
    };
    for (const char* t : bad) {
        CAPTURE(t);
        CHECK(!render_status(t).ok());
    }
    CHECK(render_status("{{ 2 ** -1 }} {{ 0 ** 0 }} {{ (-1) ** 63 }}").ok());
}
