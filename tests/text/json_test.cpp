// tests/text/json_test.cpp — json_parse / json_value / json_write: escapes, surrogates, numbers,
// caps and error offsets.
#include <doctest/doctest.h>

#include <noggin/text/json.hpp>

#include <string>

using noggin::status_code;
using noggin::text::json_limits;
using noggin::text::json_parse;
using noggin::text::json_value;
using noggin::text::json_write;

TEST_CASE("json: scalars, arrays, objects keep order") {
    auto r = json_parse(R"( {"b": 1, "a": [true, false, null, -2.5, 1e2, "x"], "c": {}} )");
    REQUIRE(r.ok());
    const json_value& v = *r;
    CHECK(v.is_object());
    CHECK(v.size() == 3);
    CHECK(v.key(0) == "b");
    CHECK(v.key(1) == "a");
    CHECK(v.get("b").is_int());
    CHECK(v.get("b").as_int() == 1);
    const json_value& a = v.get("a");
    CHECK(a.size() == 6);
    CHECK(a[0].as_bool() == true);
    CHECK(a[1].is_bool());
    CHECK(a[2].is_null());
    CHECK(a[3].as_double() == -2.5);
    CHECK(a[4].is_number());
    CHECK(!a[4].is_int());
    CHECK(a[4].as_int() == 100);
    CHECK(a[5].as_string() == "x");
    CHECK(a[99].is_null());
    CHECK(v.get("missing").is_null());
    CHECK(v.get("c").is_object());
    CHECK(v.find("zz") == nullptr);
}

TEST_CASE("json: integers as int64, big ones as double") {
    auto r = json_parse("[9223372036854775807, -9223372036854775808, 9223372036854775808, 0, -0, 1.0]");
    REQUIRE(r.ok());
    CHECK(r->items()[0].as_int() == INT64_MAX);
    CHECK(r->items()[1].as_int() == INT64_MIN);
    CHECK(r->items()[2].kind() == json_value::kind_t::real);
    CHECK((*r)[3].is_int());
    CHECK((*r)[4].is_int());
    CHECK(!(*r)[5].is_int());
    CHECK(json_parse("1e999").status().code() == status_code::format_error);
    auto tiny = json_parse("1e-999");
    REQUIRE(tiny.ok());
    CHECK(tiny->as_double() == 0.0);
}

TEST_CASE("json: string escapes and surrogate pairs decode to UTF-8") {
    auto r = json_parse(R"("a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u4e2d\ud83d\ude00")");
    REQUIRE(r.ok());
    CHECK(r->as_string() == "a\"b\\c/d\b\f\n\r\tA\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
    // Raw UTF-8 passes through.
    auto raw = json_parse("\"\xE2\x96\x81x\"");
    REQUIRE(raw.ok());
    CHECK(raw->as_string() == "\xE2\x96\x81x");
}

TEST_CASE("json: malformed strings are errors with a byte offset") {
    auto lone_hi = json_parse(R"("\ud83d")");
    CHECK(lone_hi.status().code() == status_code::format_error);
    CHECK(lone_hi.status().message().find("surrogate") != std::string::npos);
    CHECK(json_parse(R"("\ude00")").status().code() == status_code::format_error);
    CHECK(json_parse(R"("\ud83d\u0041")").status().code() == status_code::format_error);
    CHECK(json_parse(R"("\x")").status().code() == status_code::format_error);
    CHECK(json_parse(R"("\u12")").status().code() == status_code::format_error);
    CHECK(json_parse("\"a\nb\"").status().code() == status_code::format_error);
    CHECK(json_parse("\"\xC0\x80\"").status().code() == status_code::format_error);  // overlong
    CHECK(json_parse("\"\xED\xA0\x80\"").status().code() == status_code::format_error);  // surrogate
    CHECK(json_parse("\"\xF4\x90\x80\x80\"").status().code() == status_code::format_error);
    CHECK(json_parse("\"abc").status().code() == status_code::format_error);
    auto e = json_parse("[1, 2,, 3]");
    CHECK(e.status().code() == status_code::format_error);
    CHECK(e.status().message().find("at byte 6") != std::string::npos);
}

TEST_CASE("json: syntax errors") {
    const char* bad[] = {"", " ", "[", "]", "{", "{\"a\"}", "{\"a\":}", "{a:1}", "[1 2]", "tru", "nul",
                         "01", "-", "1.", ".5", "1e", "+1", "[1,]", "{\"a\":1,}", "1 2", "NaN", "\"a\" x"};
    for (const char* s : bad) {
        CAPTURE(s);
        auto r = json_parse(s);
        CHECK(!r.ok());
        CHECK(r.status().code() == status_code::format_error);
    }
}

TEST_CASE("json: depth, size, string and element caps") {
    std::string deep(100000, '[');
    auto r = json_parse(deep);
    CHECK(r.status().code() == status_code::limit_exceeded);
    json_limits lim;
    lim.max_depth = 3;
    CHECK(json_parse("[[[1]]]", lim).ok());
    CHECK(json_parse("[[[[1]]]]", lim).status().code() == status_code::limit_exceeded);
    lim = json_limits{};
    lim.max_bytes = 4;
    CHECK(json_parse("[1,2]", lim).status().code() == status_code::limit_exceeded);
    lim = json_limits{};
    lim.max_string_bytes = 3;
    CHECK(json_parse("\"abcd\"", lim).status().code() == status_code::limit_exceeded);
    lim = json_limits{};
    lim.max_elements = 3;
    CHECK(json_parse("[1,2]", lim).ok());
    CHECK(json_parse("[1,2,3]", lim).status().code() == status_code::limit_exceeded);
}

TEST_CASE("json: duplicate keys keep order, lookup finds the last") {
    auto r = json_parse(R"({"a":1,"a":2})");
    REQUIRE(r.ok());
    CHECK(r->size() == 2);
    CHECK(r->get("a").as_int() == 2);
}

TEST_CASE("json: write round-trips") {
    const char* text = R"({"s":"a\"\\\n\u0001é","n":[1,-2,2.5,true,null],"o":{}})";
    auto r = json_parse(text);
    REQUIRE(r.ok());
    std::string out = json_write(*r);
    CHECK(out == "{\"s\":\"a\\\"\\\\\\n\\u0001\xC3\xA9\",\"n\":[1,-2,2.5,true,null],\"o\":{}}");
    auto again = json_parse(out);
    REQUIRE(again.ok());
    CHECK(json_write(*again) == out);
    CHECK(json_write(*json_parse("[1,{\"a\":[]}]"), 2) == "[\n  1,\n  {\n    \"a\": []\n  }\n]");
    json_value obj = json_value::make_object();
    obj.set("x", json_value::make_int(1));
    obj.set("x", json_value::make_string("y"));
    CHECK(json_write(obj) == "{\"x\":\"y\"}");
}
