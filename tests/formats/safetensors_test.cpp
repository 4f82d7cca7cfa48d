// safetensors reader and writer: a writer file read back from memory, a mapped file and a read callback
// (load and on-demand); every hostile header case gives a status with the right code whose message names
// the tensor and the field; truncation at every byte and seeded random byte mutations never crash (inputs
// are exactly-sized heap copies, so ASan catches any overread). No shared data needed.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <noggin/formats/safetensors.hpp>

namespace {

namespace st = noggin::safetensors;
using noggin::dtype;
using noggin::status_code;

// A file from a header text and `data_bytes` bytes of data (byte i = i & 255).
std::vector<unsigned char> make(const std::string& header, std::size_t data_bytes) {
    std::vector<unsigned char> out(8 + header.size() + data_bytes);
    const std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n >> (8 * i));
    std::memcpy(out.data() + 8, header.data(), header.size());
    for (std::size_t i = 0; i < data_bytes; ++i) out[8 + header.size() + i] = static_cast<unsigned char>(i & 255);
    return out;
}

noggin::result<st::file> parse(const std::vector<unsigned char>& b, std::vector<unsigned char>* keep,
                               const st::open_options& o = {}) {
    *keep = b;  // exactly sized: any read past the end is an ASan error
    return st::file::from_memory(keep->data(), keep->size(), o);
}

// Expect a failure with `code` whose message contains every one of `parts`.
void expect_error(const std::string& header, std::size_t data_bytes, status_code code, std::initializer_list<const char*> parts,
                  const st::open_options& o = {}) {
    std::vector<unsigned char> keep;
    noggin::result<st::file> f = parse(make(header, data_bytes), &keep, o);
    CAPTURE(header);
    REQUIRE_FALSE(f.ok());
    CAPTURE(f.status().message());
    CHECK(f.status().code() == code);
    for (const char* p : parts) CHECK(f.status().message().find(p) != std::string::npos);
}

std::vector<unsigned char> sample_file() {
    st::writer w;
    const float a[6] = {1, 2, 3, 4, 5, 6};
    const std::uint16_t h[4] = {0x3c00, 0x4000, 0x4200, 0x4400};  // F16 1, 2, 3, 4
    const std::uint16_t b[8] = {0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0, 0x40e0, 0x4100};  // BF16 1..8
    REQUIRE(w.add_metadata("format", "pt").ok());
    REQUIRE(w.add_tensor("model.a", dtype::f32, {2, 3}, a, sizeof a).ok());
    REQUIRE(w.add_tensor("model.h", dtype::f16, {4}, h, sizeof h).ok());
    REQUIRE(w.add_tensor("model.b", dtype::bf16, {2, 2, 2}, b, sizeof b).ok());
    noggin::result<std::vector<unsigned char>> bytes = w.write_to_memory();
    REQUIRE(bytes.ok());
    return bytes.value();
}

void check_sample(const st::file& f) {
    REQUIRE(f.tensor_count() == 3);
    REQUIRE(f.find_metadata("format") != nullptr);
    CHECK(*f.find_metadata("format") == "pt");
    const st::tensor_info* a = f.find_tensor("model.a");
    REQUIRE(a != nullptr);
    CHECK(a->type == dtype::f32);
    CHECK(a->rank == 2);
    CHECK(a->shape[0] == 2);
    CHECK(a->shape[1] == 3);
    CHECK(a->ne[0] == 3);  // innermost first
    CHECK(a->ne[1] == 2);
    CHECK(a->bytes == 24);
    CHECK(a->offset % 64 == 0);
    CHECK(f.data_offset() % 64 == 0);
    const st::tensor_info* b = f.find_tensor("model.b");
    REQUIRE(b != nullptr);
    CHECK(b->shape_text() == "[2, 2, 2]");
    CHECK(f.find_tensor("model.x") == nullptr);
    float got[6];
    REQUIRE(f.read_tensor_bytes(*a, 0, got, sizeof got).ok());
    for (int i = 0; i < 6; ++i) CHECK(got[i] == static_cast<float>(i + 1));
    CHECK(f.read_tensor_bytes(*a, 20, got, 8).code() == status_code::out_of_range);
    if (f.tensor_data_resident()) {
        const noggin::tensor_view v = a->view();
        CHECK(v.ne[0] == 3);
        CHECK(v.ne[1] == 2);
        CHECK(static_cast<const float*>(v.row(1))[2] == 6.0f);
        CHECK(a->aligned());
    }
}

struct mem_source {
    const std::vector<unsigned char>* bytes;
    int reads = 0;
};
bool mem_read(void* user, std::uint64_t offset, void* dst, std::uint64_t size) {
    mem_source* s = static_cast<mem_source*>(user);
    ++s->reads;
    if (offset > s->bytes->size() || size > s->bytes->size() - offset) return false;
    std::memcpy(dst, s->bytes->data() + offset, static_cast<std::size_t>(size));
    return true;
}

}  // namespace

TEST_CASE("safetensors: writer file read from memory, from a mapped file and through a callback") {
    const std::vector<unsigned char> bytes = sample_file();
    std::vector<unsigned char> keep;
    noggin::result<st::file> m = parse(bytes, &keep);
    REQUIRE(m.ok());
    check_sample(m.value());

    const std::string path = (std::filesystem::temp_directory_path() / "noggin_safetensors_test.safetensors").string();
    {
        std::FILE* fp = std::fopen(path.c_str(), "wb");
        REQUIRE(fp != nullptr);
        REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size());
        std::fclose(fp);
    }
    noggin::result<st::file> f = st::file::open(path);
    REQUIRE(f.ok());
    check_sample(f.value());
    st::file moved = std::move(f.value());  // views survive the move
    check_sample(moved);
    std::remove(path.c_str());
    noggin::result<st::file> gone = st::file::open(path);
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.status().code() == status_code::io_error);
    CHECK(gone.status().message().find("noggin_safetensors_test.safetensors") != std::string::npos);

    mem_source src{&bytes};
    st::read_callback cb;
    cb.read = mem_read;
    cb.size = bytes.size();
    cb.user = &src;
    noggin::result<st::file> loaded = st::file::from_callback(cb);
    REQUIRE(loaded.ok());
    CHECK(loaded->tensor_data_resident());
    check_sample(loaded.value());
    st::open_options lazy;
    lazy.callback_mode = st::callback_data::on_demand;
    src.reads = 0;
    noggin::result<st::file> on_demand = st::file::from_callback(cb, lazy);
    REQUIRE(on_demand.ok());
    CHECK(src.reads == 2);  // the length, then the header; no data
    CHECK_FALSE(on_demand->tensor_data_resident());
    CHECK(on_demand->find_tensor("model.a")->data == nullptr);
    check_sample(on_demand.value());

    // The writer refuses what a reader would refuse.
    st::writer w;
    const std::int64_t x[2] = {1, 2};
    CHECK_FALSE(w.add_tensor("q", dtype::q8_0, {1}, x, 8).ok());
    CHECK_FALSE(w.add_tensor("t", dtype::f32, {3}, x, 8).ok());
    CHECK_FALSE(w.write_to_memory().ok());
}

TEST_CASE("safetensors hostile: length, header and entry errors name the tensor and the field") {
    const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
    {
        std::vector<unsigned char> keep;
        std::vector<unsigned char> empty;
        noggin::result<st::file> f = parse(empty, &keep);
        REQUIRE_FALSE(f.ok());
        CHECK(f.status().message().find("fewer than the 8-byte header length") != std::string::npos);
        std::vector<unsigned char> huge = make("{}", 0);
        huge[6] = 0x10;  // N = 2^52 + 2
        f = parse(huge, &keep);
        REQUIRE_FALSE(f.ok());
        CHECK(f.status().code() == status_code::limit_exceeded);
        std::vector<unsigned char> beyond = make("{}", 0);
        beyond[0] = 200;  // N = 200 > file
        f = parse(beyond, &keep);
        REQUIRE_FALSE(f.ok());
        CHECK(f.status().code() == status_code::format_error);
        CHECK(f.status().message().find("header length 200 goes beyond the end of the file") != std::string::npos);
    }
    st::open_options small;
    small.max_header_bytes = 16;
    expect_error("{" + ok_entry + "}", 16, status_code::limit_exceeded, {"header length"}, small);
    expect_error("[1,2]", 0, status_code::format_error, {"does not start with '{'"});
    expect_error("{\"w\":", 0, status_code::format_error, {"JSON header"});
    expect_error("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]} x", 4, status_code::format_error, {"JSON header"});
    expect_error(R"({"w":5})", 0, status_code::format_error, {"'w'", "not an object"});
    expect_error(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4, status_code::format_error, {"'w'", "'dtype' is missing"});
    expect_error(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4, status_code::format_error, {"'w'", "'shape' is missing"});
    expect_error(R"({"w":{"dtype":"F32","shape":[1]}})", 4, status_code::format_error, {"'w'", "'data_offsets' is missing"});
    expect_error(R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8, status_code::unsupported, {"'w'", "'I64'", "F32, F16 and BF16"});
    expect_error(R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1, status_code::unsupported, {"'w'", "'F8_E4M3'"});
    expect_error(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1, status_code::format_error, {"'w'", "'dtype'", "not a safetensors dtype"});
    expect_error(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", 4, status_code::format_error, {"'w'", "'dtype' is not a string"});
    expect_error(R"({"w":{"dtype":"F32","shape":[1,1,1,1,1],"data_offsets":[0,4]}})", 4, status_code::unsupported, {"'w'", "5 dimensions"});
    expect_error(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, status_code::format_error, {"'w'", "'shape'"});
    expect_error(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4, status_code::format_error, {"'w'", "'shape'"});
    expect_error(R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4, status_code::format_error, {"'w'", "'shape' is not an array"});
    expect_error(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4, status_code::format_error, {"'w'", "overflows"});
    expect_error(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4, status_code::format_error, {"'w'", "overflows"});
    expect_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4, status_code::format_error, {"'w'", "'data_offsets'", "ends before it begins"});
    expect_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, status_code::format_error, {"'w'", "'data_offsets'"});
    expect_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", 4, status_code::format_error, {"'w'", "'data_offsets'"});
    expect_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}})", 4, status_code::format_error, {"'w'", "'data_offsets'"});
    expect_error(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 8, status_code::format_error, {"'w'", "past the data region (8 bytes)"});
    expect_error(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 16, status_code::format_error,
                 {"'w'", "spans 12 bytes", "F32", "[2, 2]", "need 16"});
    expect_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[6,10]}})", 16,
                 status_code::format_error, {"'a'", "'b'", "overlap"});
    expect_error("{" + ok_entry + "," + ok_entry + "}", 16, status_code::format_error, {"'w'", "twice"});
    expect_error(R"({"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, status_code::format_error, {"empty name"});
    expect_error(R"({"__metadata__":{"k":1},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, status_code::format_error,
                 {"__metadata__", "'k'", "not a string"});
    expect_error(R"({"__metadata__":[],"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, status_code::format_error, {"__metadata__"});
    expect_error(R"({"__metadata__":{},"__metadata__":{}})", 0, status_code::format_error, {"__metadata__ appears twice"});
    expect_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":" + std::string(20, '[') + "}}", 4,
                 status_code::limit_exceeded, {"JSON header", "nesting"});
    st::open_options few;
    few.max_tensor_count = 1;
    expect_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8,
                 status_code::limit_exceeded, {"over the limit of 1"}, few);

    // Valid corner cases: a scalar, an empty tensor, unknown extra fields, trailing spaces, holes in the data.
    std::vector<unsigned char> keep;
    noggin::result<st::file> f = parse(make(R"({"s":{"dtype":"BF16","shape":[],"data_offsets":[0,2],"extra":[1]},)"
                                            R"("e":{"dtype":"F16","shape":[0,3],"data_offsets":[2,2]},)"
                                            R"("w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}   )",
                                            16),
                                       &keep);
    REQUIRE(f.ok());
    CHECK(f->find_tensor("s")->element_count() == 1);
    CHECK(f->find_tensor("s")->rank == 0);
    CHECK(f->find_tensor("e")->bytes == 0);
    CHECK(f->find_tensor("w")->offset == 8);
}

TEST_CASE("safetensors hostile: every truncation and random byte mutations fail cleanly") {
    const std::vector<unsigned char> full = sample_file();
    std::vector<unsigned char> keep;
    for (std::size_t n = 0; n < full.size(); ++n) {
        std::vector<unsigned char> part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        noggin::result<st::file> f = parse(part, &keep);
        CHECK_FALSE(f.ok());
    }
    std::uint64_t s = 0x9e3779b97f4a7c15ull;
    auto next = [&s] {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    };
    const std::size_t header_end = 8 + static_cast<std::size_t>(full[0] | (full[1] << 8));
    int parsed = 0;
    for (int it = 0; it < 3000; ++it) {
        std::vector<unsigned char> b = full;
        const int flips = 1 + static_cast<int>(next() % 4);
        for (int k = 0; k < flips; ++k) {
            // Mostly the header (where the parser looks), sometimes the length.
            const std::size_t at = next() % 8 == 0 ? next() % 8 : next() % header_end;
            b[at] = static_cast<unsigned char>(next() % 4 == 0 ? "{}[]\",:0123456789"[next() % 17] : next());
        }
        noggin::result<st::file> f = parse(b, &keep);
        if (f.ok()) {
            ++parsed;
            for (const st::tensor_info& t : f->tensors()) {
                std::vector<unsigned char> dst(static_cast<std::size_t>(t.bytes));
                CHECK(f->read_tensor_bytes(t, 0, dst.data(), t.bytes).ok());
            }
        }
    }
    MESSAGE(parsed, " of 3000 mutated files still parse (all checked readable)");
}
