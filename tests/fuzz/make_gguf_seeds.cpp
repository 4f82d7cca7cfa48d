// tests/fuzz/make_gguf_seeds.cpp — writes a small seed corpus for fuzz_gguf with noggin's GGUF writer.
//
//     make_gguf_seeds <directory>     (the directory must exist)
//
// Seeds cover every metadata type, nested arrays, a tokenizer-like string array, several tensor dtypes,
// a custom alignment, an empty file and a hand-made v2 header, so the fuzzer starts from valid files.
#include <cstdio>
#include <cstdint>
#include <string>
#include <vector>

#include <noggin/formats/gguf.hpp>

namespace {

namespace gg = noggin::gguf;

bool save(const std::string& dir, const char* name, const gg::writer& w) {
    const noggin::status s = w.write_to_file(dir + "/" + name);
    if (!s.ok()) std::fprintf(stderr, "%s: %s\n", name, s.message().c_str());
    return s.ok();
}

bool save_bytes(const std::string& dir, const char* name, const std::vector<std::uint8_t>& b) {
    std::FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
    return (std::fclose(f) == 0) && ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <output directory>\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    bool ok = true;
    using gg::value;
    using gg::value_type;

    {  // every scalar type, nested arrays
        gg::writer w;
        w.add_u8("a.u8", 1);
        w.add_i8("a.i8", -2);
        w.add_u16("a.u16", 3);
        w.add_i16("a.i16", -4);
        w.add_u32("a.u32", 5);
        w.add_i32("a.i32", -6);
        w.add_u64("a.u64", 7);
        w.add_i64("a.i64", -8);
        w.add_f32("a.f32", 0.5f);
        w.add_f64("a.f64", 0.25);
        w.add_bool("a.bool", true);
        w.add_string("a.str", "hello");
        w.add("a.nested", value::array(value_type::array,
                                       {value::array(value_type::int32, {value::i32(1), value::i32(-1)}),
                                        value::array(value_type::string, {value::string("x")}),
                                        value::array(value_type::array, {value::array(value_type::uint8, {})})}));
        ok &= save(dir, "scalars.gguf", w);
    }
    {  // tokenizer-like metadata and a couple of tensors
        gg::writer w;
        w.add_string("general.architecture", "llama");
        w.add_u32("llama.block_count", 1);
        w.add_string("tokenizer.ggml.model", "gpt2");
        w.add_string_array("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b", "ab", "\xc4\xa0the"});
        w.add_f32_array("tokenizer.ggml.scores", {0.f, 0.f, -1.f, -2.f, -3.f, -4.f});
        w.add_i32_array("tokenizer.ggml.token_type", {3, 3, 1, 1, 1, 1});
        w.add_string_array("tokenizer.ggml.merges", {"a b"});
        std::vector<float> norm(8, 1.0f);
        std::vector<std::uint16_t> emb(8 * 6, 0x3c00);
        w.add_tensor("output_norm.weight", noggin::dtype::f32, {8}, norm.data(), 32);
        w.add_tensor("token_embd.weight", noggin::dtype::f16, {8, 6}, emb.data(), emb.size() * 2);
        ok &= save(dir, "tokenizer.gguf", w);
    }
    {  // quantized tensors, custom alignment
        gg::writer w;
        w.add_u32("general.alignment", 64);
        std::vector<std::uint8_t> q8(34 * 2, 1), q4k(144, 2), q6k(210, 3);
        w.add_tensor("q8", noggin::dtype::q8_0, {32, 2}, q8.data(), q8.size());
        w.add_tensor("q4k", noggin::dtype::q4_k, {256}, q4k.data(), q4k.size());
        w.add_tensor("q6k", noggin::dtype::q6_k, {256, 1, 1, 1}, q6k.data(), q6k.size());
        ok &= save(dir, "quant.gguf", w);
    }
    {  // empty file and one 3-D tensor only
        gg::writer empty;
        ok &= save(dir, "empty.gguf", empty);
        gg::writer w;
        std::vector<std::uint16_t> bf(2 * 3 * 4, 0x3f80);
        w.add_tensor("experts", noggin::dtype::bf16, {2, 3, 4}, bf.data(), bf.size() * 2);
        ok &= save(dir, "tensor3d.gguf", w);
    }
    {  // a v2 file: same layout with version 2
        gg::writer w;
        w.add_string("general.name", "v2");
        auto b = w.write_to_memory();
        if (b.ok()) {
            b.value()[4] = 2;
            ok &= save_bytes(dir, "v2.gguf", b.value());
        } else {
            ok = false;
        }
    }
    if (!ok) {
        std::fprintf(stderr, "failed to write some seeds into %s\n", dir.c_str());
        return 1;
    }
    return 0;
}
