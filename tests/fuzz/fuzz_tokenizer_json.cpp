// tests/fuzz/fuzz_tokenizer_json.cpp — libFuzzer: load tokenizer.json bytes; when that succeeds,
// encode a fixed string (with and without special parsing), decode the ids, stream them back.
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude tests/fuzz/fuzz_tokenizer_json.cpp -o fz
#include <noggin/text/tokenizer_json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // Optional config after a NUL byte.
    std::string_view json = bytes, config;
    size_t nul = bytes.find('\0');
    if (nul != std::string_view::npos) {
        json = bytes.substr(0, nul);
        config = bytes.substr(nul + 1);
    }
    auto tok = noggin::text::tokenizer_from_json(json, config);
    if (!tok.ok()) return 0;
    static const char* const texts[] = {"Hello world! It's 12345 \xE4\xB8\xAD\xE6\x96\x87 e\xCC\x81 \n\n  x",
                                        "<s>ab</s> <|end|>\xF0\x9F\x98\x80\xFF", ""};
    for (const char* t : texts) {
        for (int special = 0; special < 2; ++special) {
            noggin::text::encode_options o;
            o.parse_special = special != 0;
            o.add_special = special != 0;
            auto ids = tok->encode(t, o);
            if (!ids.ok()) continue;
            auto text = tok->decode(*ids);
            (void)text;
            noggin::text::detokenizer d(*tok);
            std::string out;
            for (auto id : *ids) (void)d.push(id, out);
            d.flush(out);
        }
    }
    return 0;
}
