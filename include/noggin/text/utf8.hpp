// noggin/text/utf8.hpp — append one code point as UTF-8 (the encoder the JSON reader and the Unicode
// layer share; decoding, with its handling of invalid bytes, is in unicode.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace noggin::text {

// Append the 1–4 byte UTF-8 form of code point `cp` (< 0x110000; surrogates are written as they come).
inline void append_utf8_code_point(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

}  // namespace noggin::text
