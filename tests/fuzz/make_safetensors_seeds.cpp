// tests/fuzz/make_safetensors_seeds.cpp — writes a small seed corpus for fuzz_safetensors with noggin's
// safetensors writer (and a few hand-made headers), so the fuzzer starts from valid files.
//
//     make_safetensors_seeds <directory>     (the directory must exist)
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <noggin/formats/safetensors.hpp>

namespace {

namespace st = noggin::safetensors;

bool save_bytes(const std::string& dir, const char* name, const std::vector<unsigned char>& b) {
    std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
    return (std::fclose(f) == 0) && ok;
}

bool save(const std::string& dir, const char* name, const st::writer& w) {
    noggin::result<std::vector<unsigned char>> b = w.write_to_memory();
    if (!b.ok()) {
        std::fprintf(stderr, "%s: %s\n", name, b.status().message().c_str());
        return false;
    }
    return save_bytes(dir, name, b.value());
}

std::vector<unsigned char> raw(const std::string& header, std::size_t data) {
    std::vector<unsigned char> out(8 + header.size() + data, 0x3c);
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<unsigned char>(std::uint64_t(header.size()) >> (8 * i));
    for (std::size_t i = 0; i < header.size(); ++i) out[8 + i] = static_cast<unsigned char>(header[i]);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    bool ok = true;
    {
        st::writer w;
        const float a[6] = {1, 2, 3, 4, 5, 6};
        const std::uint16_t h[4] = {0x3c00, 0x4000, 0x4200, 0x4400};
        w.add_metadata("format", "pt");
        w.add_tensor("model.layers.0.self_attn.q_proj.weight", noggin::dtype::f32, {2, 3}, a, sizeof a);
        w.add_tensor("model.norm.weight", noggin::dtype::f16, {4}, h, sizeof h);
        w.add_tensor("lm_head.weight", noggin::dtype::bf16, {2, 1, 2}, h, sizeof h);
        ok = save(dir, "three.safetensors", w) && ok;
    }
    {
        st::writer w;
        const float s = 1.0f;
        w.add_tensor("scalar", noggin::dtype::f32, {}, &s, 4);
        ok = save(dir, "scalar.safetensors", w) && ok;
    }
    ok = save_bytes(dir, "empty_header.safetensors", raw("{}", 0)) && ok;
    ok = save_bytes(dir, "spaces.safetensors",
                    raw(R"({"__metadata__":{"a":"b"},"x":{"dtype":"F16","shape":[0,4],"data_offsets":[0,0]},)"
                        R"("y":{"dtype":"BF16","shape":[1,1,1,2],"data_offsets":[4,8]}})"
                        "        ",
                        8)) &&
         ok;
    ok = save_bytes(dir, "escaped.safetensors",
                    raw(R"({"w\u00e9\n":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4)) &&
         ok;
    return ok ? 0 : 1;
}
