// noggin-pack-tiny — packs the tiny reasoner exported by tools/train_tiny_reasoner/export.py into a GGUF file.
//
//     noggin-pack-tiny EXPORT_DIR OUT.gguf
//
// EXPORT_DIR holds manifest.txt and weights.f32 (format documented in export.py): metadata records
// (kv KEY TYPE VALUE, strings hex-encoded) and tensors (name, store dtype f16|f32, ne0.., offset in floats
// into weights.f32). Matrices are converted to F16 with noggin::f32_to_f16 (round to nearest even); norms
// and biases stay F32. Metadata and tensors are written in manifest order with noggin::gguf::writer.
#include <noggin/core/half.hpp>
#include <noggin/formats/gguf.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

int fail(const std::string& why) {
    std::fprintf(stderr, "noggin-pack-tiny: %s\n", why.c_str());
    return 1;
}

bool unhex(const std::string& h, std::string* out) {
    out->clear();
    if (h == "-") return true;
    if (h.size() % 2 != 0) return false;
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < h.size(); i += 2) {
        int a = nib(h[i]), b = nib(h[i + 1]);
        if (a < 0 || b < 0) return false;
        out->push_back(static_cast<char>(a * 16 + b));
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: noggin-pack-tiny EXPORT_DIR OUT.gguf\n");
        return 2;
    }
    const std::string dir = argv[1], out_path = argv[2];
    std::ifstream man(dir + "/manifest.txt");
    if (!man) return fail("cannot open " + dir + "/manifest.txt");
    std::ifstream blob_file(dir + "/weights.f32", std::ios::binary);
    if (!blob_file) return fail("cannot open " + dir + "/weights.f32");
    std::vector<char> raw((std::istreambuf_iterator<char>(blob_file)), std::istreambuf_iterator<char>());
    if (raw.size() % 4 != 0) return fail("weights.f32 is not a whole number of floats");
    std::vector<float> blob(raw.size() / 4);
    std::memcpy(blob.data(), raw.data(), raw.size());  // little-endian host assumed (x86-64, ARM64)

    noggin::gguf::writer w;
    std::string line;
    int line_no = 0;
    if (!std::getline(man, line) || line != "noggin-tiny-export 1") return fail("not a noggin-tiny-export 1 manifest");
    ++line_no;
    int n_tensors = 0, n_kv = 0;
    bool ended = false;
    while (std::getline(man, line)) {
        ++line_no;
        std::istringstream in(line);
        std::string rec;
        in >> rec;
        const std::string where = "manifest line " + std::to_string(line_no);
        if (rec == "end") {
            ended = true;
            break;
        }
        noggin::status s;
        if (rec == "kv") {
            std::string key, type;
            in >> key >> type;
            ++n_kv;
            if (type == "u32" || type == "i32" || type == "u64") {
                long long v = 0;
                if (!(in >> v)) return fail(where + ": bad integer");
                s = type == "u32"   ? w.add_u32(key, static_cast<std::uint32_t>(v))
                    : type == "i32" ? w.add_i32(key, static_cast<std::int32_t>(v))
                                    : w.add_u64(key, static_cast<std::uint64_t>(v));
            } else if (type == "f32") {
                std::string hx;
                in >> hx;
                std::uint32_t bits = static_cast<std::uint32_t>(std::stoul(hx, nullptr, 16));
                float f;
                std::memcpy(&f, &bits, 4);
                s = w.add_f32(key, f);
            } else if (type == "bool") {
                int v = 0;
                in >> v;
                s = w.add_bool(key, v != 0);
            } else if (type == "str") {
                std::string hx, v;
                in >> hx;
                if (!unhex(hx, &v)) return fail(where + ": bad hex string");
                s = w.add_string(key, v);
            } else if (type == "strarr") {
                std::size_t n = 0;
                in >> n;
                std::vector<std::string> items(n);
                for (std::size_t i = 0; i < n; ++i) {
                    std::string hx;
                    if (!std::getline(man, hx)) return fail(where + ": string array ends early");
                    ++line_no;
                    if (!unhex(hx, &items[i])) return fail("manifest line " + std::to_string(line_no) + ": bad hex");
                }
                s = w.add_string_array(key, items);
            } else if (type == "i32arr") {
                std::size_t n = 0;
                in >> n;
                std::vector<std::int32_t> v(n);
                for (std::size_t i = 0; i < n; ++i) {
                    if (!(in >> v[i])) return fail(where + ": int array ends early");
                }
                s = w.add_i32_array(key, v);
            } else {
                return fail(where + ": unknown kv type " + type);
            }
        } else if (rec == "tensor") {
            std::string name, dt;
            int n_dims = 0;
            in >> name >> dt >> n_dims;
            if (n_dims < 1 || n_dims > 4) return fail(where + ": bad n_dims");
            std::vector<std::int64_t> ne(static_cast<std::size_t>(n_dims));
            std::uint64_t count = 1;
            for (auto& d : ne) {
                in >> d;
                if (d <= 0) return fail(where + ": bad dimension");
                count *= static_cast<std::uint64_t>(d);
            }
            std::uint64_t off = 0;
            if (!(in >> off)) return fail(where + ": missing offset");
            if (off + count > blob.size()) return fail(where + ": tensor " + name + " runs past weights.f32");
            const float* src = blob.data() + off;
            if (dt == "f32") {
                s = w.add_tensor(name, noggin::dtype::f32, ne.data(), n_dims, src, count * 4);
            } else if (dt == "f16") {
                std::vector<noggin::f16> h(count);
                for (std::uint64_t i = 0; i < count; ++i) h[i] = noggin::f32_to_f16(src[i]);
                s = w.add_tensor(name, noggin::dtype::f16, ne.data(), n_dims, h.data(), count * 2);
            } else {
                return fail(where + ": unknown dtype " + dt);
            }
            ++n_tensors;
        } else if (rec.empty()) {
            continue;
        } else {
            return fail(where + ": unknown record " + rec);
        }
        if (!s.ok()) return fail(where + ": " + s.message());
    }
    if (!ended) return fail("manifest has no end record");
    noggin::status s = w.write_to_file(out_path);
    if (!s.ok()) return fail(s.message());
    std::printf("wrote %s: %d metadata keys, %d tensors\n", out_path.c_str(), n_kv, n_tensors);
    return 0;
}
