// The smallest host program: writes a GGUF with noggin's writer and reads it back through the reader.
// Built by each consumer project in tests/consumers/ to prove that way of taking in noggin works.
#include <noggin/noggin.hpp>

#include <cstdio>

int main() {
    noggin::gguf::writer w;
    w.add_string("general.architecture", "llama");
    const float weights[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    if (!w.add_tensor("t", noggin::dtype::f32, {4}, weights, sizeof(weights)).ok()) return 1;
    noggin::result<std::vector<std::uint8_t>> bytes = w.write_to_memory();
    if (!bytes.ok()) return 2;
    noggin::result<noggin::gguf::file> f = noggin::gguf::file::from_memory(bytes->data(), bytes->size());
    if (!f.ok() || f->tensor_count() != 1) return 3;
    std::printf("consumer: noggin %s read back %llu tensor(s)\n", noggin::version_string(),
                static_cast<unsigned long long>(f->tensor_count()));
    return 0;
}
