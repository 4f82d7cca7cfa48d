// noggin-demo — the README's first command.
//
//   noggin-demo              the bundled model when it exists; until then, write a small GGUF model file
//                            with noggin's writer, read it back with the validating reader, and inspect it
//   noggin-demo FILE.gguf    inspect any GGUF file: architecture, metadata, tensors, and bytes by dtype
//
// It says exactly what it ran. The bundled tiny reasoner (models/noggin-tiny-reasoner.gguf) and the
// forward pass will turn this into a chat with a reasoning model.
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "noggin/noggin.hpp"

namespace {

// One line describing a metadata value: scalars printed, strings quoted and cut, arrays summarised.
std::string describe(const noggin::gguf::value_view& v) {
    using noggin::gguf::value_type;
    switch (v.type()) {
        case value_type::string: {
            std::string s(v.get_string().value());
            for (char& c : s)
                if (c == '\n') c = ' ';
            if (s.size() > 60) s = s.substr(0, 57) + "...";
            return "\"" + s + "\"";
        }
        case value_type::array: {
            const noggin::gguf::array_view a = v.get_array().value();
            return noggin::str("[", a.size(), " x ", noggin::gguf::value_type_name(a.element_type()), "]");
        }
        case value_type::float32:
        case value_type::float64: return std::to_string(v.get_f64().value());
        case value_type::boolean: return v.get_bool().value() ? "true" : "false";
        case value_type::int64:
        case value_type::int32:
        case value_type::int16:
        case value_type::int8: return std::to_string(v.get_i64().value());
        default: return std::to_string(v.get_u64().value());
    }
}

int inspect(const noggin::gguf::file& f, const std::string& label) {
    std::printf("%s: GGUF v%u, %llu metadata keys, %llu tensors, alignment %u\n", label.c_str(), f.version(),
                static_cast<unsigned long long>(f.kv_count()), static_cast<unsigned long long>(f.tensor_count()),
                f.alignment());
    const auto arch = f.get_string("general.architecture");
    std::printf("architecture: %s\n", arch.ok() ? std::string(arch.value()).c_str() : "(none)");
    std::printf("\nmetadata:\n");
    for (std::uint64_t i = 0; i < f.kv_count(); ++i) {
        const std::string_view key = f.key(i);
        std::printf("  %-40.*s %s\n", static_cast<int>(key.size()), key.data(), describe(f.get(key).value()).c_str());
    }
    std::map<std::string, std::uint64_t> bytes_by_type;
    std::printf("\ntensors:\n");
    std::uint64_t shown = 0;
    for (const noggin::gguf::tensor_info& t : f.tensors()) {
        bytes_by_type[noggin::dtype_name(t.type)] += t.bytes;
        if (shown++ >= 24) continue;
        std::string shape;
        for (int d = 0; d < t.n_dims; ++d) shape += (d ? " x " : "") + std::to_string(t.ne[d]);
        std::printf("  %-32.*s %-5s %s\n", static_cast<int>(t.name.size()), t.name.data(), noggin::dtype_name(t.type),
                    shape.c_str());
    }
    if (shown > 24) std::printf("  ... and %llu more\n", static_cast<unsigned long long>(shown - 24));
    std::printf("\nbytes by dtype:\n");
    for (const auto& [name, bytes] : bytes_by_type)
        std::printf("  %-5s %10.3f MiB\n", name.c_str(), static_cast<double>(bytes) / (1 << 20));
    return 0;
}

// A two-layer llama-shaped file with F16, Q8_0 and F32 tensors, made with noggin's own writer.
noggin::result<std::vector<std::uint8_t>> make_example_file() {
    const int n_embd = 64, n_ff = 128, n_vocab = 32;
    noggin::gguf::writer w;
    w.add_string("general.architecture", "llama");
    w.add_string("general.name", "noggin demo (random weights)");
    w.add_u32("llama.block_count", 2);
    w.add_u32("llama.embedding_length", n_embd);
    w.add_u32("llama.feed_forward_length", n_ff);
    w.add_u32("llama.attention.head_count", 4);
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    std::vector<std::string> tokens;
    for (int i = 0; i < n_vocab; ++i) tokens.push_back(i == 0 ? "<s>" : std::string(1, static_cast<char>('a' + i % 26)));
    w.add_string_array("tokenizer.ggml.tokens", tokens);

    std::uint32_t seed = 12345;
    auto random_unit = [&seed] {
        seed = seed * 1664525u + 1013904223u;
        return static_cast<float>(seed >> 8) / 16777216.0f - 0.5f;
    };
    std::vector<noggin::f16> embd(static_cast<std::size_t>(n_embd) * n_vocab);
    for (auto& x : embd) x = noggin::f32_to_f16(random_unit());
    NOGGIN_TRY(w.add_tensor("token_embd.weight", noggin::dtype::f16, {n_embd, n_vocab}, embd.data(), embd.size() * 2));
    std::vector<float> norm(n_embd, 1.0f);
    std::vector<noggin::block_q8_0> ffn(static_cast<std::size_t>(n_embd / 32) * n_ff);
    for (auto& block : ffn) {
        block.d = noggin::f32_to_f16(0.01f);
        for (auto& q : block.qs) q = static_cast<std::int8_t>(random_unit() * 254);
    }
    for (int layer = 0; layer < 2; ++layer) {
        const std::string prefix = "blk." + std::to_string(layer) + ".";
        NOGGIN_TRY(w.add_tensor(prefix + "attn_norm.weight", noggin::dtype::f32, {n_embd}, norm.data(), norm.size() * 4));
        NOGGIN_TRY(w.add_tensor(prefix + "ffn_up.weight", noggin::dtype::q8_0, {n_embd, n_ff}, ffn.data(),
                                ffn.size() * sizeof(noggin::block_q8_0)));
    }
    return w.write_to_memory();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) {
        noggin::result<noggin::gguf::file> f = noggin::gguf::file::open(argv[1]);
        if (!f.ok()) {
            std::fprintf(stderr, "noggin-demo: %s\n", f.status().message().c_str());
            return 1;
        }
        return inspect(f.value(), argv[1]);
    }
    std::printf("noggin %s demo\n", noggin::version_string());
    std::printf("The bundled tiny reasoning model is not in this build yet, so this demo runs the best example\n"
                "available: it writes a small llama-shaped GGUF file with noggin's GGUF writer, reads it back\n"
                "with the validating zero-copy reader, and inspects it. Run `noggin-demo FILE.gguf` to inspect\n"
                "any GGUF file.\n\n");
    noggin::result<std::vector<std::uint8_t>> bytes = make_example_file();
    if (!bytes.ok()) {
        std::fprintf(stderr, "noggin-demo: writing the example failed: %s\n", bytes.status().message().c_str());
        return 1;
    }
    noggin::result<noggin::gguf::file> f = noggin::gguf::file::from_memory(bytes->data(), bytes->size());
    if (!f.ok()) {
        std::fprintf(stderr, "noggin-demo: reading the example back failed: %s\n", f.status().message().c_str());
        return 1;
    }
    return inspect(f.value(), noggin::str("example model (", bytes->size(), " bytes in memory)"));
}
