// tests/text/text_test_util.hpp — small helpers shared by the text layer's tests.
#pragma once

#include <string>
#include <vector>

#include "noggin/text/json.hpp"
#include "noggin/text/tokenizer.hpp"
#include "support/shared_data.hpp"

namespace noggin_test {

// A whole file as a string (empty when it cannot be read).
inline std::string read_text(const std::string& path) {
    std::vector<unsigned char> b = read_file_bytes(path);
    return std::string(b.begin(), b.end());
}

// A JSON array of integers as token ids.
inline std::vector<noggin::text::token_id> ids_of(const noggin::text::json_value& a) {
    std::vector<noggin::text::token_id> v;
    for (size_t i = 0; i < a.size(); ++i) v.push_back(noggin::text::token_id(a[i].as_int()));
    return v;
}

}  // namespace noggin_test
