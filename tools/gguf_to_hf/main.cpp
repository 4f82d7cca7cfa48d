// noggin-gguf-to-hf — writes a Hugging Face model folder (safetensors, config.json, tokenizer.json,
// tokenizer_config.json) from an F32/F16/BF16 GGUF file of a llama, qwen2 or qwen3 model.
//
//   noggin-gguf-to-hf MODEL.gguf OUT_DIR [--shard-bytes N] [--llama3-rope FACTOR,LOW,HIGH,ORIG_CTX]
//
// OUT_DIR is created when missing. --shard-bytes splits the weights into model-0000i-of-0000n.safetensors
// files of at most N bytes each plus model.safetensors.index.json. The conversion itself is
// tools/gguf_to_hf/convert.hpp (the tests use the same code).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <filesystem>
#include <system_error>

#include "convert.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL.gguf OUT_DIR [--shard-bytes N] [--llama3-rope FACTOR,LOW,HIGH,ORIG_CTX]\n", argv[0]);
        return 2;
    }
    noggin_tools::hf_write_options o;
    for (int i = 3; i < argc; ++i) {
        if (std::strcmp(argv[i], "--shard-bytes") == 0 && i + 1 < argc) {
            o.shard_bytes = std::strtoull(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--llama3-rope") == 0 && i + 1 < argc) {
            if (std::sscanf(argv[++i], "%lf,%lf,%lf,%lf", &o.llama3_factor, &o.llama3_low, &o.llama3_high,
                            &o.llama3_original_context) != 4) {
                std::fprintf(stderr, "--llama3-rope wants FACTOR,LOW,HIGH,ORIG_CTX (e.g. 8,1,4,8192)\n");
                return 2;
            }
            o.llama3_given = true;
        } else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    const std::string out = argv[2];
    std::error_code ec;
    std::filesystem::create_directories(out, ec);  // may exist already
    const noggin::status s = noggin_tools::gguf_to_hf(argv[1], out, o);
    if (!s.ok()) {
        std::fprintf(stderr, "error: %s\n", s.message().c_str());
        return 1;
    }
    std::printf("wrote %s (config.json, tokenizer.json, tokenizer_config.json, %s)\n", out.c_str(),
                o.shard_bytes ? "sharded safetensors + model.safetensors.index.json" : "model.safetensors");
    return 0;
}
