// tests/capi/capi_test.cpp — the C API (include/noggin.h) on the bundled tiny reasoner: desc defaults and
// struct_size, loading from a path / memory / a read callback, bad inputs, events by callback and by
// polling, thinking budgets, end-thinking-now and cancel, save/restore (and tampering), the version query,
// and a C99 translation unit using the header (capi_c_test.c).
//
// Exact comparisons: the same weights through the same code give bit-identical logits, so "same model"
// below means equal logits (==), not a tolerance; multi-threaded runs are compared by NMSE <= 1e-10
// (the work split changes no tile's arithmetic, but the check need not rely on that).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "noggin.h"
#include "noggin/core/config.hpp"

extern "C" int noggin_capi_c_smoke(const char* model_path, char* err, size_t err_size);

namespace {

std::string model_path() {
    std::string f = __FILE__;
    const std::size_t at = f.rfind("tests/capi/");
    return (at == std::string::npos ? std::string() : f.substr(0, at)) + "models/noggin-tiny-reasoner.gguf";
}

std::vector<unsigned char> model_bytes() {
    std::ifstream in(model_path(), std::ios::binary);
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const char* const question = "What is 4821+937?";

struct model_handle {
    noggin_model* m = nullptr;
    model_handle() { REQUIRE(noggin_model_load_file(model_path().c_str(), nullptr, &m) == NOGGIN_STATUS_OK); }
    explicit model_handle(noggin_model* taken) : m(taken) {}
    ~model_handle() { noggin_model_destroy(m); }
    model_handle(const model_handle&) = delete;
    model_handle& operator=(const model_handle&) = delete;
};

struct reasoner_handle {
    noggin_reasoner* r = nullptr;
    reasoner_handle(const noggin_model* m, const noggin_reasoner_desc* d, std::uint64_t seed = 1, int kv = NOGGIN_KV_F16) {
        noggin_session_desc sd = {};
        sd.n_ctx = 512;
        sd.seed = seed;
        sd.kv_type = kv;
        REQUIRE(noggin_reasoner_create(m, &sd, d, &r) == NOGGIN_STATUS_OK);
    }
    ~reasoner_handle() { noggin_reasoner_destroy(r); }
    reasoner_handle(const reasoner_handle&) = delete;
    reasoner_handle& operator=(const reasoner_handle&) = delete;
    void run_turn(const char* q = question) {
        REQUIRE(noggin_reasoner_ask(r, q) == NOGGIN_STATUS_OK);
        CHECK(noggin_reasoner_run(r) == NOGGIN_STATUS_OK);
    }
    std::string thinking() const { return noggin_reasoner_thinking_text(r, nullptr); }
    std::string answer() const { return noggin_reasoner_answer_text(r, nullptr); }
    noggin_turn_stats stats() const {
        noggin_turn_stats s = {};
        REQUIRE(noggin_reasoner_get_stats(r, &s) == NOGGIN_STATUS_OK);
        return s;
    }
    std::vector<std::uint8_t> save() const {
        std::size_t need = 0;
        REQUIRE(noggin_reasoner_save(r, nullptr, 0, &need) == NOGGIN_STATUS_OK);
        std::vector<std::uint8_t> b(need);
        std::size_t wrote = 0;
        REQUIRE(noggin_reasoner_save(r, b.data(), b.size(), &wrote) == NOGGIN_STATUS_OK);
        CHECK(wrote == need);
        return b;
    }
};

noggin_reasoner_desc greedy() {
    noggin_reasoner_desc d = {};
    d.temperature = NOGGIN_GREEDY;
    return d;
}

// Logits of the bundled question's prompt tokens through a fresh session of `m`.
std::vector<float> prompt_logits(const noggin_model* m, const noggin_session_desc* sd = nullptr) {
    const std::string prompt = "<｜begin▁of▁sentence｜><｜User｜>What is 4821+937?<｜Assistant｜><think>\n";
    std::int32_t ids[128];
    std::size_t n = 0;
    REQUIRE(noggin_model_tokenize(m, prompt.data(), prompt.size(), 1, ids, 128, &n) == NOGGIN_STATUS_OK);
    noggin_session* s = nullptr;
    REQUIRE(noggin_session_create(m, sd, &s) == NOGGIN_STATUS_OK);
    REQUIRE(noggin_session_prefill(s, ids, n) == NOGGIN_STATUS_OK);
    std::size_t vocab = 0;
    const float* l = noggin_session_logits(s, &vocab);
    std::vector<float> out(l, l + vocab);
    noggin_session_destroy(s);
    return out;
}

int argmax(const float* l, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (l[i] > l[best]) best = i;
    return static_cast<int>(best);
}

// Greedy tokens from the session's current logits on.
std::vector<std::int32_t> greedy_tokens(noggin_session* s, int n) {
    std::vector<std::int32_t> out;
    for (int i = 0; i < n; ++i) {
        std::size_t vocab = 0;
        const float* l = noggin_session_logits(s, &vocab);
        const std::int32_t t = argmax(l, vocab);
        out.push_back(t);
        REQUIRE(noggin_session_prefill(s, &t, 1) == NOGGIN_STATUS_OK);
    }
    return out;
}

struct progress_log {
    std::vector<float> seen;
    int cancel_after = -1;  // return 0 on this call
    static int fn(void* user, float p) {
        progress_log& l = *static_cast<progress_log*>(user);
        l.seen.push_back(p);
        return l.cancel_after >= 0 && static_cast<int>(l.seen.size()) > l.cancel_after ? 0 : 1;
    }
};

struct byte_source {
    const std::vector<unsigned char>* bytes;
    std::uint64_t fail_at = ~std::uint64_t(0);  // a read touching this offset fails
    int calls = 0;
    static int read(void* user, std::uint64_t offset, void* dst, std::uint64_t size) {
        byte_source& s = *static_cast<byte_source*>(user);
        ++s.calls;
        if (offset + size > s.bytes->size()) return 0;
        if (s.fail_at >= offset && s.fail_at < offset + size) return 0;
        std::memcpy(dst, s.bytes->data() + offset, static_cast<std::size_t>(size));
        return 1;
    }
};

}  // namespace

TEST_CASE("version query matches the header macros and the C++ library") {
    CHECK(noggin_version() == NOGGIN_VERSION);
    CHECK(NOGGIN_VERSION == ((NOGGIN_VERSION_MAJOR << 16) | (NOGGIN_VERSION_MINOR << 8) | NOGGIN_VERSION_PATCH));
    CHECK(std::string(noggin_version_string()) == NOGGIN_VERSION_STRING);
    CHECK(std::string(noggin_version_string()) == noggin::version_string());
    CHECK(std::string(noggin_version_string()) ==
          std::to_string(NOGGIN_VERSION_MAJOR) + "." + std::to_string(NOGGIN_VERSION_MINOR) + "." + std::to_string(NOGGIN_VERSION_PATCH));
    CHECK(std::string(noggin_status_name(NOGGIN_STATUS_BUFFER_TOO_SMALL)) == "buffer_too_small");
    CHECK(std::string(noggin_status_name(static_cast<noggin_status>(12345))) == "unknown");
    CHECK(std::string(noggin_stop_reason_name(NOGGIN_STOP_EOS)) == "eos");
}

TEST_CASE("the header is C99-clean and a whole turn works from C") {
    char err[512] = "";
    const int rc = noggin_capi_c_smoke(model_path().c_str(), err, sizeof err);
    INFO(err);
    CHECK(rc == 0);
}

TEST_CASE("zero-initialised and NULL descs mean the documented defaults") {
    model_handle m;
    noggin_model_info info = {};
    REQUIRE(noggin_model_get_info(m.m, &info) == NOGGIN_STATUS_OK);
    CHECK(info.struct_size == sizeof info);
    CHECK(info.n_vocab == 512);
    CHECK(info.n_layer == 6);
    CHECK(info.n_embd == 128);
    CHECK(std::string(info.architecture) == "qwen2");
    CHECK(info.file_bytes == model_bytes().size());

    // Session: NULL and {0} are the same defaults: n_ctx = min(training context, 4096).
    noggin_session* a = nullptr;
    noggin_session* b = nullptr;
    noggin_session_desc zero = {};
    REQUIRE(noggin_session_create(m.m, nullptr, &a) == NOGGIN_STATUS_OK);
    REQUIRE(noggin_session_create(m.m, &zero, &b) == NOGGIN_STATUS_OK);
    CHECK(noggin_session_n_ctx(a) == std::min<std::int64_t>(info.n_ctx_train, 4096));
    CHECK(noggin_session_n_ctx(b) == noggin_session_n_ctx(a));
    CHECK(noggin_session_n_past(a) == 0);
    noggin_session_destroy(a);
    noggin_session_destroy(b);

    // Reasoner: NULL descs and zeroed descs give the same sampled turn (default temperature 0.6, seed 0).
    noggin_reasoner* r1 = nullptr;
    noggin_reasoner* r2 = nullptr;
    noggin_reasoner_desc rz = {};
    REQUIRE(noggin_reasoner_create(m.m, nullptr, nullptr, &r1) == NOGGIN_STATUS_OK);
    REQUIRE(noggin_reasoner_create(m.m, &zero, &rz, &r2) == NOGGIN_STATUS_OK);
    for (noggin_reasoner* r : {r1, r2}) {
        REQUIRE(noggin_reasoner_ask(r, question) == NOGGIN_STATUS_OK);
        CHECK(noggin_reasoner_run(r) == NOGGIN_STATUS_OK);
    }
    CHECK(std::string(noggin_reasoner_thinking_text(r1, nullptr)) == noggin_reasoner_thinking_text(r2, nullptr));
    CHECK(std::string(noggin_reasoner_answer_text(r1, nullptr)) == noggin_reasoner_answer_text(r2, nullptr));
    noggin_turn_stats st = {};
    REQUIRE(noggin_reasoner_get_stats(r1, &st) == NOGGIN_STATUS_OK);
    CHECK(st.think_forced_end == 0);  // no budget by default
    CHECK(st.thinking_tokens > 0);
    noggin_reasoner_destroy(r1);
    noggin_reasoner_destroy(r2);
}

TEST_CASE("struct_size — 0 and sizeof accepted, larger refused, smaller read as an older version") {
    model_handle m;
    noggin_session* s = nullptr;

    noggin_session_desc d = {};
    d.struct_size = sizeof d + 8;
    CHECK(noggin_session_create(m.m, &d, &s) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(s == nullptr);
    CHECK(std::string(noggin_last_error()).find("struct_size") != std::string::npos);
    d.struct_size = 2;
    CHECK(noggin_session_create(m.m, &d, &s) == NOGGIN_STATUS_INVALID_ARGUMENT);

    // An "older" desc that ends before max_batch: the bytes after it are not read (the invalid n_threads
    // there would be refused if they were).
    d = noggin_session_desc{};
    d.struct_size = static_cast<std::uint32_t>(offsetof(noggin_session_desc, max_batch));
    d.n_ctx = 100;
    d.n_threads = -5;
    REQUIRE(noggin_session_create(m.m, &d, &s) == NOGGIN_STATUS_OK);
    CHECK(noggin_session_n_ctx(s) == 100);
    noggin_session_destroy(s);
    d.struct_size = sizeof d;
    CHECK(noggin_session_create(m.m, &d, &s) == NOGGIN_STATUS_INVALID_ARGUMENT);  // now n_threads is read
    CHECK(s == nullptr);

    noggin_model_desc md = {};
    md.struct_size = sizeof md + 1;
    noggin_model* mm = nullptr;
    CHECK(noggin_model_load_file(model_path().c_str(), &md, &mm) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(mm == nullptr);
    noggin_reasoner_desc rd = {};
    rd.struct_size = sizeof rd + 4;
    noggin_reasoner* r = nullptr;
    CHECK(noggin_reasoner_create(m.m, nullptr, &rd, &r) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(r == nullptr);

    // Output structs: only struct_size bytes are written.
    noggin_model_info info;
    std::memset(&info, 0xAB, sizeof info);
    info.struct_size = static_cast<std::uint32_t>(offsetof(noggin_model_info, n_embd));
    REQUIRE(noggin_model_get_info(m.m, &info) == NOGGIN_STATUS_OK);
    CHECK(info.n_vocab == 512);
    CHECK(info.n_ctx_train > 0);
    std::int64_t untouched;
    std::memset(&untouched, 0xAB, sizeof untouched);
    CHECK(info.n_embd == untouched);
    info.struct_size = sizeof info + 16;
    CHECK(noggin_model_get_info(m.m, &info) == NOGGIN_STATUS_INVALID_ARGUMENT);
}

TEST_CASE("loading from a path, from memory (in place and copied) and through a callback gives the same model") {
    const std::vector<unsigned char> bytes = model_bytes();
    REQUIRE(bytes.size() > 1000);

    progress_log p_file, p_mem, p_copy, p_cb;
    std::vector<std::string> logs;
    noggin_model_desc md = {};
    md.progress = &progress_log::fn;
    md.log = [](void* user, noggin_log_level, const char* msg) { static_cast<std::vector<std::string>*>(user)->push_back(msg); };
    md.log_user = &logs;

    noggin_model* a = nullptr;
    noggin_model* b = nullptr;
    noggin_model* c = nullptr;
    noggin_model* d = nullptr;
    md.progress_user = &p_file;
    REQUIRE(noggin_model_load_file(model_path().c_str(), &md, &a) == NOGGIN_STATUS_OK);
    md.progress_user = &p_mem;
    REQUIRE(noggin_model_load_memory(bytes.data(), bytes.size(), &md, &b) == NOGGIN_STATUS_OK);
    std::vector<unsigned char> scratch = bytes;
    md.progress_user = &p_copy;
    md.copy_memory = 1;
    REQUIRE(noggin_model_load_memory(scratch.data(), scratch.size(), &md, &c) == NOGGIN_STATUS_OK);
    std::fill(scratch.begin(), scratch.end(), 0);  // the copied model must not care
    scratch.clear();
    scratch.shrink_to_fit();
    md.copy_memory = 0;
    byte_source src{&bytes};
    md.progress_user = &p_cb;
    REQUIRE(noggin_model_load_callback(&byte_source::read, bytes.size(), &src, &md, &d) == NOGGIN_STATUS_OK);
    CHECK(src.calls > 0);
    model_handle ha(a), hb(b), hc(c), hd(d);

    const std::vector<float> ref = prompt_logits(a);
    CHECK(prompt_logits(b) == ref);
    CHECK(prompt_logits(c) == ref);
    CHECK(prompt_logits(d) == ref);

    for (const progress_log* p : {&p_file, &p_mem, &p_copy, &p_cb}) {
        REQUIRE(p->seen.size() >= 2);
        CHECK(p->seen.front() == 0.0f);
        CHECK(p->seen.back() == 1.0f);
        for (std::size_t i = 1; i < p->seen.size(); ++i) CHECK(p->seen[i] >= p->seen[i - 1]);
    }
    CHECK(p_cb.seen.size() > 3);  // the callback path reports the bytes as they are read
    CHECK(logs.size() == 4);      // one "loaded" line per model at the default level (info)
    if (!logs.empty()) CHECK(logs[0].find("qwen2") != std::string::npos);

    // The same greedy turn through each.
    noggin_reasoner_desc g = greedy();
    reasoner_handle ra(a, &g), rd(d, &g);
    ra.run_turn();
    rd.run_turn();
    CHECK(ra.answer().find("5758") != std::string::npos);
    CHECK(ra.thinking() == rd.thinking());
    CHECK(ra.answer() == rd.answer());
}

TEST_CASE("the progress callback can cancel a load") {
    const std::vector<unsigned char> bytes = model_bytes();
    progress_log p;
    p.cancel_after = 1;
    noggin_model_desc md = {};
    md.progress = &progress_log::fn;
    md.progress_user = &p;
    noggin_model* m = reinterpret_cast<noggin_model*>(&p);  // must be reset to NULL
    CHECK(noggin_model_load_file(model_path().c_str(), &md, &m) == NOGGIN_STATUS_CANCELLED);
    CHECK(m == nullptr);
    p = progress_log{};
    p.cancel_after = 2;
    byte_source src{&bytes};
    CHECK(noggin_model_load_callback(&byte_source::read, bytes.size(), &src, &md, &m) == NOGGIN_STATUS_CANCELLED);
    CHECK(m == nullptr);
    CHECK(std::string(noggin_last_error()).find("cancelled") != std::string::npos);
}

TEST_CASE("bad inputs give an error status and a message, never a crash") {
    const std::vector<unsigned char> bytes = model_bytes();
    noggin_model* m = nullptr;

    // Missing file: an I/O error naming the path.
    CHECK(noggin_model_load_file("/nonexistent/dir/x.gguf", nullptr, &m) == NOGGIN_STATUS_IO_ERROR);
    CHECK(m == nullptr);
    CHECK(std::string(noggin_last_error()).find("/nonexistent/dir/x.gguf") != std::string::npos);
    CHECK(noggin_last_status() == NOGGIN_STATUS_IO_ERROR);

    // NULL pointers.
    CHECK(noggin_model_load_file(nullptr, nullptr, &m) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_model_load_file(model_path().c_str(), nullptr, nullptr) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_model_load_memory(nullptr, 10, nullptr, &m) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_model_load_callback(nullptr, 10, nullptr, nullptr, &m) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(m == nullptr);
    CHECK(std::string(noggin_last_error()).size() > 0);

    // Truncated and damaged GGUF bytes, from memory and through a callback.
    for (std::size_t cut : {std::size_t(0), std::size_t(3), std::size_t(24), std::size_t(200), bytes.size() / 2, bytes.size() - 1}) {
        CAPTURE(cut);
        const noggin_status s = noggin_model_load_memory(bytes.data(), cut, nullptr, &m);
        CHECK(s != NOGGIN_STATUS_OK);
        CHECK(m == nullptr);
        CHECK(std::string(noggin_last_error()).size() > 0);
        byte_source src{&bytes};
        CHECK(noggin_model_load_callback(&byte_source::read, cut, &src, nullptr, &m) != NOGGIN_STATUS_OK);
        CHECK(m == nullptr);
    }
    CHECK(noggin_model_load_memory(bytes.data(), 24, nullptr, &m) == NOGGIN_STATUS_FORMAT_ERROR);
    std::vector<unsigned char> garbage(bytes.size(), 0x5A);
    CHECK(noggin_model_load_memory(garbage.data(), garbage.size(), nullptr, &m) == NOGGIN_STATUS_FORMAT_ERROR);
    byte_source failing{&bytes};
    failing.fail_at = bytes.size() - 1000;  // a read of tensor data fails
    CHECK(noggin_model_load_callback(&byte_source::read, bytes.size(), &failing, nullptr, &m) == NOGGIN_STATUS_IO_ERROR);
    CHECK(m == nullptr);

    // NULL handles everywhere.
    noggin_session* s = nullptr;
    noggin_reasoner* r = nullptr;
    CHECK(noggin_session_create(nullptr, nullptr, &s) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_reasoner_create(nullptr, nullptr, nullptr, &r) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_session_prefill(nullptr, nullptr, 0) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_session_logits(nullptr, nullptr) == nullptr);
    CHECK(noggin_session_n_past(nullptr) == 0);
    CHECK(noggin_session_save(nullptr, nullptr, 0, nullptr) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_session_restore(nullptr, bytes.data(), 10) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_reasoner_ask(nullptr, "x") == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_reasoner_step(nullptr, 100) == NOGGIN_REASONER_IDLE);
    CHECK(noggin_reasoner_run(nullptr) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_reasoner_poll(nullptr, nullptr) == 0);
    CHECK(std::string(noggin_reasoner_answer_text(nullptr, nullptr)).empty());
    CHECK(noggin_reasoner_save(nullptr, nullptr, 0, nullptr) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_reasoner_restore(nullptr, nullptr, 0) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_reasoner_turn_status(nullptr, nullptr) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_model_get_info(nullptr, nullptr) == NOGGIN_STATUS_INVALID_ARGUMENT);
    noggin_reasoner_cancel(nullptr);
    noggin_reasoner_end_thinking_now(nullptr);
    noggin_session_cancel(nullptr);
    noggin_model_destroy(nullptr);
    noggin_session_destroy(nullptr);
    noggin_reasoner_destroy(nullptr);

    // Bad values on a good model.
    model_handle mh;
    REQUIRE(noggin_session_create(mh.m, nullptr, &s) == NOGGIN_STATUS_OK);
    const std::int32_t bad_ids[] = {1, 512};
    CHECK(noggin_session_prefill(s, bad_ids, 2) == NOGGIN_STATUS_OUT_OF_RANGE);
    CHECK(noggin_session_n_past(s) == 0);
    CHECK(noggin_session_truncate(s, 5) == NOGGIN_STATUS_OUT_OF_RANGE);
    CHECK(noggin_session_restore(s, bytes.data(), 100) == NOGGIN_STATUS_FORMAT_ERROR);
    std::size_t need = 0;
    REQUIRE(noggin_session_save(s, nullptr, 0, &need) == NOGGIN_STATUS_OK);
    std::vector<unsigned char> small(need - 1);
    std::size_t got = 0;
    CHECK(noggin_session_save(s, small.data(), small.size(), &got) == NOGGIN_STATUS_BUFFER_TOO_SMALL);
    CHECK(got == need);
    CHECK(noggin_session_save(s, nullptr, 0, nullptr) == NOGGIN_STATUS_INVALID_ARGUMENT);
    noggin_session_destroy(s);
    std::size_t n = 0;
    const std::int32_t oob = 99999;
    CHECK(noggin_model_detokenize(mh.m, &oob, 1, nullptr, 0, &n) == NOGGIN_STATUS_OUT_OF_RANGE);
    std::int32_t one[1];
    CHECK(noggin_model_tokenize(mh.m, "hello world", 11, 0, one, 1, &n) == NOGGIN_STATUS_BUFFER_TOO_SMALL);
    CHECK(n > 1);

    noggin_reasoner_desc rd = {};
    rd.n_stop = 2;  // without an array
    CHECK(noggin_reasoner_create(mh.m, nullptr, &rd, &r) == NOGGIN_STATUS_INVALID_ARGUMENT);
    rd = noggin_reasoner_desc{};
    rd.grammar = "root ::= (";  // a broken grammar
    CHECK(noggin_reasoner_create(mh.m, nullptr, &rd, &r) != NOGGIN_STATUS_OK);
    CHECK(r == nullptr);
    CHECK(std::string(noggin_last_error()).find("grammar") != std::string::npos);
    noggin_session_desc sd = {};
    sd.kv_type = 7;
    CHECK(noggin_reasoner_create(mh.m, &sd, nullptr, &r) == NOGGIN_STATUS_INVALID_ARGUMENT);

    // A success clears the thread's message.
    noggin_model_info info = {};
    CHECK(noggin_model_get_info(mh.m, &info) == NOGGIN_STATUS_OK);
    CHECK(std::string(noggin_last_error()).empty());
    CHECK(noggin_last_status() == NOGGIN_STATUS_OK);

    // Busy: a second ask while a turn runs is refused.
    noggin_reasoner_desc g = greedy();
    reasoner_handle rh(mh.m, &g);
    REQUIRE(noggin_reasoner_ask(rh.r, question) == NOGGIN_STATUS_OK);
    CHECK(noggin_reasoner_ask(rh.r, question) == NOGGIN_STATUS_INVALID_ARGUMENT);
}

TEST_CASE("the last error is per thread") {
    noggin_model* m = nullptr;
    CHECK(noggin_model_load_file("/nonexistent/a.gguf", nullptr, &m) == NOGGIN_STATUS_IO_ERROR);
    std::string other;
    std::thread t([&] { other = noggin_last_error(); });
    t.join();
    CHECK(other.empty());
    CHECK(std::string(noggin_last_error()).find("/nonexistent/a.gguf") != std::string::npos);
}

TEST_CASE("tokenize and detokenize round-trip") {
    model_handle m;
    const std::string text = "<｜User｜>What is 4821+937?";
    std::size_t n = 0;
    REQUIRE(noggin_model_tokenize(m.m, text.data(), text.size(), 1, nullptr, 0, &n) == NOGGIN_STATUS_OK);
    std::vector<std::int32_t> ids(n);
    REQUIRE(noggin_model_tokenize(m.m, text.data(), text.size(), 1, ids.data(), ids.size(), &n) == NOGGIN_STATUS_OK);
    CHECK(n == ids.size());
    std::size_t len = 0;
    REQUIRE(noggin_model_detokenize(m.m, ids.data(), ids.size(), nullptr, 0, &len) == NOGGIN_STATUS_OK);
    std::vector<char> buf(len + 1, 'x');
    CHECK(noggin_model_detokenize(m.m, ids.data(), ids.size(), buf.data(), len, &len) == NOGGIN_STATUS_BUFFER_TOO_SMALL);
    REQUIRE(noggin_model_detokenize(m.m, ids.data(), ids.size(), buf.data(), buf.size(), &len) == NOGGIN_STATUS_OK);
    CHECK(std::string(buf.data()) == text);
}

TEST_CASE("events by callback and by polling give the same text, thinking then answer then one done") {
    model_handle m;
    struct collected {
        std::string thinking, answer;
        int dones = 0, order_errors = 0;
        noggin_stop_reason reason = NOGGIN_STOP_NONE;
        void add(const noggin_event& e) {
            CHECK(e.text_len == std::strlen(e.text));
            if (e.type == NOGGIN_EVENT_THINKING) {
                if (!answer.empty() || dones) ++order_errors;
                thinking.append(e.text, e.text_len);
            } else if (e.type == NOGGIN_EVENT_ANSWER) {
                if (dones) ++order_errors;
                answer.append(e.text, e.text_len);
            } else {
                ++dones;
                reason = e.reason;
            }
        }
    };
    collected by_cb, by_poll;
    noggin_reasoner_desc d = greedy();
    d.on_event = [](void* user, const noggin_event* e) { static_cast<collected*>(user)->add(*e); };
    d.user = &by_cb;
    reasoner_handle a(m.m, &d);
    a.run_turn();

    noggin_reasoner_desc p = greedy();
    reasoner_handle b(m.m, &p);
    REQUIRE(noggin_reasoner_ask(b.r, question) == NOGGIN_STATUS_OK);
    int steps = 0;
    noggin_reasoner_state st;
    do {
        st = noggin_reasoner_step(b.r, 500);
        ++steps;
        noggin_event e;
        while (noggin_reasoner_poll(b.r, &e)) by_poll.add(e);
    } while (st != NOGGIN_REASONER_IDLE);
    noggin_event e;
    CHECK(noggin_reasoner_poll(a.r, &e) == 0);  // callback mode queues nothing

    CHECK(by_cb.thinking == by_poll.thinking);
    CHECK(by_cb.answer == by_poll.answer);
    CHECK(by_cb.thinking == a.thinking());
    CHECK(by_poll.answer == b.answer());
    CHECK(by_cb.answer.find("5758") != std::string::npos);
    CHECK(by_cb.dones == 1);
    CHECK(by_poll.dones == 1);
    CHECK(by_cb.reason == NOGGIN_STOP_EOS);
    CHECK(by_poll.reason == NOGGIN_STOP_EOS);
    CHECK(by_cb.order_errors == 0);
    CHECK(by_poll.order_errors == 0);
    CHECK(!by_cb.thinking.empty());
    CHECK(steps > 1);
    const noggin_turn_stats s = b.stats();
    CHECK(s.reason == NOGGIN_STOP_EOS);
    CHECK(s.thinking_tokens > 0);
    CHECK(s.answer_tokens > 0);
    CHECK(noggin_reasoner_turn_status(b.r, nullptr) == NOGGIN_STATUS_OK);
}

TEST_CASE("thinking budget — N model-sampled thoughts, NONE answers at once, changeable between turns") {
    model_handle m;
    for (int budget : {1, 5, 12}) {
        CAPTURE(budget);
        noggin_reasoner_desc d = greedy();
        d.think_budget = budget;
        d.think_close = "\nOkay, I have to answer now.\n";
        d.answer_budget = 30;
        reasoner_handle r(m.m, &d);
        r.run_turn();
        const noggin_turn_stats s = r.stats();
        CHECK(s.thinking_tokens == budget);
        CHECK(s.think_forced_end == 1);
        CHECK(s.forced_tokens > 1);  // the closing text and </think>
        CHECK(s.answer_tokens > 0);
        CHECK(s.answer_tokens <= 30);
        CHECK(r.thinking().find("Okay, I have to answer now.") != std::string::npos);
    }
    noggin_reasoner_desc d = greedy();
    d.think_budget = NOGGIN_THINK_NONE;
    reasoner_handle r(m.m, &d);
    r.run_turn();
    CHECK(r.stats().thinking_tokens == 0);
    CHECK(r.stats().think_forced_end == 1);
    CHECK(!r.answer().empty());

    // Unlimited, then a budget set through the setter.
    noggin_reasoner_desc u = greedy();
    reasoner_handle r2(m.m, &u);
    r2.run_turn();
    CHECK(r2.stats().think_forced_end == 0);
    const std::int64_t free_thoughts = r2.stats().thinking_tokens;
    REQUIRE(free_thoughts > 3);
    REQUIRE(noggin_reasoner_set_think_budget(r2.r, 3) == NOGGIN_STATUS_OK);
    r2.run_turn("What is 12+30?");
    CHECK(r2.stats().thinking_tokens == 3);
    CHECK(r2.stats().think_forced_end == 1);
}

TEST_CASE("end thinking now and cancel, on the same thread between steps and from another thread") {
    model_handle m;
    noggin_reasoner_desc d = greedy();

    SUBCASE("end_thinking_now between steps") {
        reasoner_handle r(m.m, &d);
        REQUIRE(noggin_reasoner_ask(r.r, question) == NOGGIN_STATUS_OK);
        while (noggin_reasoner_get_state(r.r) != NOGGIN_REASONER_THINKING) noggin_reasoner_step(r.r, 0);
        while (r.stats().thinking_tokens < 4) noggin_reasoner_step(r.r, 0);  // four thinking tokens (a step may be a part of one)
        noggin_reasoner_end_thinking_now(r.r);
        CHECK(noggin_reasoner_run(r.r) == NOGGIN_STATUS_OK);
        const noggin_turn_stats s = r.stats();
        CHECK(s.think_forced_end == 1);
        CHECK(s.thinking_tokens == 4);
        CHECK(s.answer_tokens > 0);
        CHECK(s.reason != NOGGIN_STOP_CANCELLED);
    }
    SUBCASE("cancel between steps") {
        reasoner_handle r(m.m, &d);
        REQUIRE(noggin_reasoner_ask(r.r, question) == NOGGIN_STATUS_OK);
        for (int i = 0; i < 6; ++i) noggin_reasoner_step(r.r, 0);
        noggin_reasoner_cancel(r.r);
        CHECK(noggin_reasoner_step(r.r, 0) == NOGGIN_REASONER_IDLE);
        const char* msg = nullptr;
        CHECK(noggin_reasoner_turn_status(r.r, &msg) == NOGGIN_STATUS_CANCELLED);
        CHECK(std::string(msg).find("cancel") != std::string::npos);
        CHECK(r.stats().reason == NOGGIN_STOP_CANCELLED);
        noggin_event e;
        noggin_stop_reason last = NOGGIN_STOP_NONE;
        while (noggin_reasoner_poll(r.r, &e))
            if (e.type == NOGGIN_EVENT_DONE) last = e.reason;
        CHECK(last == NOGGIN_STOP_CANCELLED);
        // The reasoner is usable again (a second turn, after the cancelled one).
        r.run_turn();
        CHECK(r.stats().reason != NOGGIN_STOP_CANCELLED);
        CHECK(r.stats().reason != NOGGIN_STOP_ERROR);
    }
    SUBCASE("cancel and end_thinking_now from another thread while run() works") {
        struct counter {
            std::atomic<int> thoughts{0};
        } cnt;
        noggin_reasoner_desc cd = greedy();
        cd.on_event = [](void* user, const noggin_event* e) {
            if (e->type == NOGGIN_EVENT_THINKING) static_cast<counter*>(user)->thoughts.fetch_add(1);
        };
        cd.user = &cnt;
        reasoner_handle r(m.m, &cd);
        REQUIRE(noggin_reasoner_ask(r.r, question) == NOGGIN_STATUS_OK);
        noggin_status run_status = NOGGIN_STATUS_OK;
        std::thread worker([&] { run_status = noggin_reasoner_run(r.r); });
        while (cnt.thoughts.load() == 0 && noggin_reasoner_get_state(r.r) != NOGGIN_REASONER_IDLE) std::this_thread::yield();
        noggin_reasoner_cancel(r.r);
        worker.join();
        const noggin_turn_stats s = r.stats();
        // The turn may have ended on its own in the meantime (the model is fast); otherwise it was cancelled.
        CHECK((s.reason == NOGGIN_STOP_CANCELLED || s.reason == NOGGIN_STOP_EOS));
        if (s.reason == NOGGIN_STOP_CANCELLED) CHECK(run_status == NOGGIN_STATUS_CANCELLED);

        cnt.thoughts.store(0);
        REQUIRE(noggin_reasoner_ask(r.r, question) == NOGGIN_STATUS_OK);
        std::thread worker2([&] { run_status = noggin_reasoner_run(r.r); });
        while (cnt.thoughts.load() == 0 && noggin_reasoner_get_state(r.r) != NOGGIN_REASONER_IDLE) std::this_thread::yield();
        noggin_reasoner_end_thinking_now(r.r);
        worker2.join();
        CHECK(run_status == NOGGIN_STATUS_OK);
        CHECK(r.stats().reason == NOGGIN_STOP_EOS);
        CHECK(r.stats().answer_tokens > 0);
    }
}

TEST_CASE("reasoner save mid-thought → restore in a new reasoner → continue equals the uninterrupted turn") {
    model_handle m;
    noggin_reasoner_desc d = {};
    d.temperature = 1.0f;  // sampled: the RNG state must travel too
    d.answer_budget = 40;
    reasoner_handle whole(m.m, &d, 7);
    whole.run_turn();

    for (int units : {3, 25, 60}) {
        CAPTURE(units);
        reasoner_handle a(m.m, &d, 7);
        REQUIRE(noggin_reasoner_ask(a.r, question) == NOGGIN_STATUS_OK);
        for (int i = 0; i < units && noggin_reasoner_step(a.r, 0) != NOGGIN_REASONER_IDLE; ++i) {
        }
        const std::vector<std::uint8_t> saved = a.save();
        reasoner_handle b(m.m, &d, 99);  // another seed: the saved RNG must win
        REQUIRE(noggin_reasoner_restore(b.r, saved.data(), saved.size()) == NOGGIN_STATUS_OK);
        CHECK(noggin_reasoner_get_state(b.r) == noggin_reasoner_get_state(a.r));
        CHECK(noggin_reasoner_run(b.r) == NOGGIN_STATUS_OK);
        CHECK(b.thinking() == whole.thinking());
        CHECK(b.answer() == whole.answer());
        CHECK(b.stats().thinking_tokens == whole.stats().thinking_tokens);
        // The original, continued, agrees too.
        CHECK(noggin_reasoner_run(a.r) == NOGGIN_STATUS_OK);
        CHECK(a.answer() == whole.answer());
    }
}

TEST_CASE("session save → restore → greedy continuation equals the uninterrupted one") {
    model_handle m;
    noggin_session_desc sd = {};
    sd.kv_type = NOGGIN_KV_F32;
    sd.n_ctx = 256;
    const std::string prompt = "<｜begin▁of▁sentence｜><｜User｜>What is 4821+937?<｜Assistant｜><think>\n";
    std::int32_t ids[128];
    std::size_t n = 0;
    REQUIRE(noggin_model_tokenize(m.m, prompt.data(), prompt.size(), 1, ids, 128, &n) == NOGGIN_STATUS_OK);

    noggin_session* a = nullptr;
    REQUIRE(noggin_session_create(m.m, &sd, &a) == NOGGIN_STATUS_OK);
    REQUIRE(noggin_session_prefill(a, ids, n) == NOGGIN_STATUS_OK);
    const std::vector<std::int32_t> first = greedy_tokens(a, 10);
    std::size_t need = 0;
    REQUIRE(noggin_session_save(a, nullptr, 0, &need) == NOGGIN_STATUS_OK);
    std::vector<unsigned char> saved(need);
    REQUIRE(noggin_session_save(a, saved.data(), saved.size(), &need) == NOGGIN_STATUS_OK);
    const std::vector<std::int32_t> rest = greedy_tokens(a, 20);

    noggin_session* b = nullptr;
    REQUIRE(noggin_session_create(m.m, &sd, &b) == NOGGIN_STATUS_OK);
    REQUIRE(noggin_session_restore(b, saved.data(), saved.size()) == NOGGIN_STATUS_OK);
    CHECK(noggin_session_n_past(b) == static_cast<std::int64_t>(n + first.size()));
    CHECK(greedy_tokens(b, 20) == rest);

    // A different KV type is another layout: refused.
    noggin_session_desc sd16 = sd;
    sd16.kv_type = NOGGIN_KV_F16;
    noggin_session* c = nullptr;
    REQUIRE(noggin_session_create(m.m, &sd16, &c) == NOGGIN_STATUS_OK);
    CHECK(noggin_session_restore(c, saved.data(), saved.size()) == NOGGIN_STATUS_INVALID_ARGUMENT);
    CHECK(noggin_session_n_past(c) == 0);
    noggin_session_destroy(a);
    noggin_session_destroy(b);
    noggin_session_destroy(c);
}

TEST_CASE("a tampered or truncated save is refused and leaves the reasoner unchanged") {
    model_handle m;
    noggin_reasoner_desc d = greedy();
    reasoner_handle whole(m.m, &d);
    whole.run_turn();

    reasoner_handle a(m.m, &d);
    REQUIRE(noggin_reasoner_ask(a.r, question) == NOGGIN_STATUS_OK);
    for (int i = 0; i < 30; ++i) noggin_reasoner_step(a.r, 0);
    const std::vector<std::uint8_t> before = a.save();

    std::vector<std::uint8_t> bad = before;
    bad[bad.size() / 2] ^= 0x01;
    CHECK(noggin_reasoner_restore(a.r, bad.data(), bad.size()) == NOGGIN_STATUS_FORMAT_ERROR);
    CHECK(std::string(noggin_last_error()).find("checksum") != std::string::npos);
    CHECK(noggin_reasoner_restore(a.r, before.data(), before.size() - 9) == NOGGIN_STATUS_FORMAT_ERROR);
    CHECK(noggin_reasoner_restore(a.r, before.data(), 5) == NOGGIN_STATUS_FORMAT_ERROR);
    CHECK(a.save() == before);  // unchanged, byte for byte

    // ...and the turn continues exactly as the uninterrupted one.
    CHECK(noggin_reasoner_run(a.r) == NOGGIN_STATUS_OK);
    CHECK(a.thinking() == whole.thinking());
    CHECK(a.answer() == whole.answer());
}

TEST_CASE("host hooks — allocator and job system are used; worker threads give the same logits") {
    model_handle m;
    struct alloc_count {
        std::atomic<long> live{0}, calls{0};
    } ac;
    struct pool_count {
        std::atomic<long> calls{0};
    } pc;
    noggin_session_desc sd = {};
    sd.allocator.alloc = [](void* user, std::size_t size, std::size_t align) -> void* {
        auto& c = *static_cast<alloc_count*>(user);
        c.calls.fetch_add(1);
        c.live.fetch_add(1);
        return ::operator new(size ? size : 1, std::align_val_t(align), std::nothrow);
    };
    sd.allocator.free = [](void* user, void* ptr, std::size_t, std::size_t align) {
        static_cast<alloc_count*>(user)->live.fetch_sub(1);
        ::operator delete(ptr, std::align_val_t(align));
    };
    sd.allocator.user = &ac;
    sd.pool.parallel_for = [](void* user, std::size_t n, noggin_parallel_task task, void* ctx) {
        static_cast<pool_count*>(user)->calls.fetch_add(1);
        const std::size_t half = n / 2;  // two chunks, run here one after the other
        if (half > 0) task(ctx, 0, half, 0);
        task(ctx, half, n, 1);
    };
    sd.pool.concurrency = 2;
    sd.pool.user = &pc;
    const std::vector<float> ref = prompt_logits(m.m);
    const std::vector<float> hooked = prompt_logits(m.m, &sd);
    CHECK(ac.calls.load() > 0);
    CHECK(ac.live.load() == 0);
    CHECK(pc.calls.load() > 0);
    noggin_session_desc threads = {};
    threads.n_threads = 2;
    const std::vector<float> pooled = prompt_logits(m.m, &threads);
    REQUIRE(ref.size() == hooked.size());
    REQUIRE(ref.size() == pooled.size());
    double num = 0, den = 0, num2 = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        num += (double(hooked[i]) - ref[i]) * (double(hooked[i]) - ref[i]);
        num2 += (double(pooled[i]) - ref[i]) * (double(pooled[i]) - ref[i]);
        den += double(ref[i]) * ref[i];
    }
    CHECK(num / den <= 1e-10);
    CHECK(num2 / den <= 1e-10);

    noggin_session_desc half_alloc = {};
    half_alloc.allocator.alloc = sd.allocator.alloc;
    noggin_session* s = nullptr;
    CHECK(noggin_session_create(m.m, &half_alloc, &s) == NOGGIN_STATUS_INVALID_ARGUMENT);
}

TEST_CASE("a JSON schema constrains the answer only") {
    model_handle m;
    noggin_reasoner_desc d = greedy();
    d.json_schema = R"({"type":"object","properties":{"sum":{"type":"integer"}},"required":["sum"]})";
    d.think_budget = 20;
    d.answer_budget = 60;
    reasoner_handle r(m.m, &d);
    r.run_turn();
    const std::string a = r.answer();
    CAPTURE(a);
    CHECK(a.find("\"sum\"") != std::string::npos);
    CHECK(a.front() == '{');
    CHECK((r.stats().reason == NOGGIN_STOP_GRAMMAR_COMPLETE || r.stats().reason == NOGGIN_STOP_EOS));
}
