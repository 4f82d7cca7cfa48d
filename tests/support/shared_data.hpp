// tests/support/shared_data.hpp — where the shared test data (../shared beside the checkout) lives.
//
// Tests that need ../shared call `shared_path("models/x.gguf")`; when the folder is absent they print
// a clear "skipped" message and return without asserting (the default build must pass without it).
//
//     auto dir = noggin_test::shared_dir();
//     if (!dir) { NOGGIN_SKIP_WITHOUT_SHARED(); return; }
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace noggin_test {

// NOGGIN_SHARED_DIR (environment) overrides the build-time default NOGGIN_TEST_SHARED_DIR
// (the source tree's ../shared).
inline std::optional<std::string> shared_dir() {
    std::string dir;
    if (const char* env = std::getenv("NOGGIN_SHARED_DIR")) {
        dir = env;
    } else {
#ifdef NOGGIN_TEST_SHARED_DIR
        dir = NOGGIN_TEST_SHARED_DIR;
#endif
    }
    if (dir.empty()) return std::nullopt;
    std::ifstream probe(dir + "/models/manifest.json");
    if (!probe) return std::nullopt;
    return dir;
}

inline std::optional<std::string> shared_path(const std::string& relative) {
    auto dir = shared_dir();
    if (!dir) return std::nullopt;
    return *dir + "/" + relative;
}

inline std::vector<unsigned char> read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace noggin_test

// Print why a test did nothing; the caller returns right after.
#define NOGGIN_SKIP_WITHOUT_SHARED() \
    MESSAGE("skipped: ../shared (test models, references) not found; set NOGGIN_SHARED_DIR to run this test")
