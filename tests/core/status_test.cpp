// status / result<T>: codes, messages, value semantics, NOGGIN_TRY propagation.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "noggin/core/status.hpp"

namespace {

noggin::result<int> parse_positive(int v) {
    if (v <= 0) return noggin::status(noggin::status_code::invalid_argument, noggin::str("value ", v, " is not positive"));
    return v;
}

noggin::status check_all(const std::vector<int>& values) {
    for (int v : values) NOGGIN_TRY(parse_positive(v).status());
    return {};
}

}  // namespace

TEST_CASE("status is ok by default and carries a code and message otherwise") {
    noggin::status ok;
    CHECK(ok.ok());
    CHECK(ok.code() == noggin::status_code::ok);
    CHECK(ok.message().empty());

    auto err = noggin::status::error(noggin::status_code::format_error, "bad magic");
    CHECK_FALSE(err.ok());
    CHECK(err.code() == noggin::status_code::format_error);
    err.with_context("reading model.gguf");
    CHECK(err.message() == "reading model.gguf: bad magic");
    CHECK(std::string(noggin::status_code_name(err.code())) == "format_error");
}

TEST_CASE("result holds a value or an error") {
    auto good = parse_positive(7);
    REQUIRE(good.ok());
    CHECK(good.value() == 7);
    CHECK(*good == 7);
    CHECK(good.status().ok());

    auto bad = parse_positive(-3);
    CHECK_FALSE(bad.ok());
    CHECK(bad.status().code() == noggin::status_code::invalid_argument);
    CHECK(bad.status().message() == "value -3 is not positive");
}

TEST_CASE("result works with move-only and non-trivial types") {
    noggin::result<std::unique_ptr<int>> r(std::make_unique<int>(42));
    REQUIRE(r.ok());
    std::unique_ptr<int> taken = std::move(r).value();
    CHECK(*taken == 42);

    noggin::result<std::string> a(std::string(100, 'x'));
    noggin::result<std::string> b = a;  // copy
    CHECK(b.value() == a.value());
    b = noggin::status(noggin::status_code::io_error, "gone");
    CHECK_FALSE(b.ok());
    b = a;
    CHECK(b.ok());
    CHECK(b->size() == 100);
}

TEST_CASE("NOGGIN_TRY returns the first failure") {
    CHECK(check_all({1, 2, 3}).ok());
    const auto s = check_all({1, 0, -1});
    CHECK(s.code() == noggin::status_code::invalid_argument);
    CHECK(s.message() == "value 0 is not positive");
}

TEST_CASE("str builds messages from mixed arguments") {
    CHECK(noggin::str("a", 1, ' ', std::string("b"), 2u, true) == "a1 b2true");
    const char* null_text = nullptr;
    CHECK(noggin::str(null_text) == "(null)");
}
