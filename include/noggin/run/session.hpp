// noggin/run/session.hpp — one conversation's state over a shared model: KV cache, token history,
// seeded RNG, and save/restore of all of it.
//
// The model (weights) is loaded once and shared read-only by any number of sessions; each session owns
// only its KV cache, a small workspace and the last logits. A persona or system prompt prefilled once
// can be copied into new sessions (`create_from_prefix`) without running the model again.
//
//     noggin::run::session_params sp;  sp.n_ctx = 2048;  sp.seed = 42;
//     auto s = noggin::run::session::create(model, sp);
//     s->prefill(prompt.data(), prompt.size());          // logits() now holds the last token's logits
//     s->decode(next_token);                              // one step
//     std::vector<std::uint8_t> bytes = s->save().value();   // or save_file("npc1.nogs")
//     s->restore(bytes.data(), bytes.size());             // refused (session unchanged) if tampered/mismatched
//     auto npc2 = noggin::run::session::create_from_prefix(*s, persona_len, sp);   // shares the persona's KV
//
// Many sessions stepping together: one forward pass decodes a token for each (the weights are read once
// per step, not once per session). Give them one shared workspace so that each extra session adds only
// its KV cache and its logits:
//
//     auto ws = noggin::model::workspace::create(model, {/*max_batch*/ 64, /*logits_rows*/ 8}).value();
//     sp.workspace = &ws;                                  // every session of the group
//     noggin::run::session* group[3] = {&a, &b, &c};
//     std::int32_t next[3] = {ta, tb, tc};
//     noggin::run::decode_together(group, next, 3, ws, pool);   // each logits() now holds its next-token logits
//
// Sections: session_params · fingerprint (model identity) · byte writer/reader · session ·
//           forward_together / decode_together
//
// Context full: prefill/decode past n_ctx fail with limit_exceeded and change nothing (the reasoner
// offers the opt-in "drop the oldest turns" policy, since only it knows where turns begin).
//
// Saved state (little-endian): magic "NOGSESS1", u32 version, u64 model fingerprint, u32 KV type,
// i64 n_ctx, i64 n_layer, i64 kv_dim, i64 n_past, n_past × i32 tokens, 32 bytes RNG state, u64 extra
// size + extra bytes (the reasoner's own state), then per layer the K rows and V rows [0, n_past), and a
// trailing u64 FNV-1a checksum of everything before it. restore() checks all of it before touching the
// session, so a refused file leaves the session exactly as it was.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "../core/hooks.hpp"
#include "../core/status.hpp"
#include "../model/forward.hpp"
#include "../model/model.hpp"
#include "../sample/rng.hpp"

namespace noggin::run {

// --- session_params ---------------------------------------------------------------------------------

struct session_params {
    std::int64_t n_ctx = 0;                 // KV positions; 0 = min(model's context, 4096) (default)
    dtype kv_type = dtype::f16;             // KV element type: f16 (default) or f32 (exact comparisons)
    std::int64_t max_batch = 32;            // tokens per forward call in prefill: the slicing grain (default 32)
    std::uint64_t seed = 0;                 // seed of the session's sampling RNG (default 0)
    thread_pool pool{};                     // parallel work inside a forward pass (default: caller's thread)
    allocator alloc = default_allocator();  // KV cache, workspace, logits memory (default: operator new)
    // Activation scratch shared with other sessions (not owned; made for the same model; must outlive the
    // session; sessions sharing it must not run forward passes at the same time). Null = the session
    // makes its own workspace of max_batch tokens (default).
    model::workspace* workspace = nullptr;
};

// --- fingerprint ---------------------------------------------------------------------------------------

namespace detail {

inline std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
template <class T>
std::uint64_t fnv1a_value(const T& v, std::uint64_t h) {
    return fnv1a(&v, sizeof v, h);
}

}  // namespace detail

// Identity of a model's weights for saved state: shapes, tensor names/types and a sample of the bytes of
// every tensor (first and last 64 bytes). Two different files with the same architecture differ here.
inline std::uint64_t model_fingerprint(const model::model& m) {
    if (m.empty()) return 0;
    const model::hparams& hp = m.hparams();
    std::uint64_t h = detail::fnv1a("noggin-model", 12);
    const std::int64_t dims[] = {hp.n_vocab, hp.n_embd, hp.n_layer, hp.n_head, hp.n_head_kv, hp.head_dim, hp.n_ff};
    h = detail::fnv1a(dims, sizeof dims, h);
    for (const gguf::tensor_info& t : m.file().tensors()) {
        h = detail::fnv1a(t.name.data(), t.name.size(), h);
        h = detail::fnv1a_value(static_cast<int>(t.type), h);
        h = detail::fnv1a(t.ne, sizeof t.ne, h);
        if (t.data != nullptr && t.bytes > 0) {
            const std::size_t n = static_cast<std::size_t>(t.bytes < 64 ? t.bytes : 64);
            h = detail::fnv1a(t.data, n, h);
            h = detail::fnv1a(static_cast<const unsigned char*>(t.data) + (t.bytes - n), n, h);
        }
    }
    if (m.file().tensor_count() == 0) {  // model::from_parts (a Hugging Face folder): the weight views
        const model::model_weights& w = m.weights();
        auto view = [&h](const tensor_view& v) {
            h = detail::fnv1a_value(static_cast<int>(v.type), h);
            h = detail::fnv1a(v.ne, sizeof v.ne, h);
            const std::uint64_t bytes = v.data != nullptr ? v.byte_size() : 0;
            if (bytes == 0) return;
            const std::size_t n = static_cast<std::size_t>(bytes < 64 ? bytes : 64);
            h = detail::fnv1a(v.data, n, h);
            h = detail::fnv1a(static_cast<const unsigned char*>(v.data) + (bytes - n), n, h);
        };
        for (const tensor_view* v : {&w.token_embd, &w.output_norm, &w.output}) view(*v);
        for (const model::layer_weights& l : w.layers)
            for (const tensor_view* v : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.q_norm,
                                         &l.k_norm, &l.ffn_norm, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
                view(*v);
    }
    return h;
}

// --- byte writer / reader ------------------------------------------------------------------------------

namespace detail {

struct byte_writer {
    std::vector<std::uint8_t>& out;
    void raw(const void* p, std::size_t n) {
        const std::uint8_t* b = static_cast<const std::uint8_t*>(p);
        out.insert(out.end(), b, b + n);
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
    void f32(float v) {
        std::uint32_t b;
        std::memcpy(&b, &v, 4);
        u32(b);
    }
    void bytes(const std::string& s) {
        u64(s.size());
        raw(s.data(), s.size());
    }
};

// Bounds-checked reader: every read past the end sets `bad` and yields zeros.
struct byte_reader {
    const std::uint8_t* p;
    std::size_t n;
    std::size_t at = 0;
    bool bad = false;
    bool take(void* dst, std::size_t k) {
        if (bad || k > n - at) {
            bad = true;
            if (dst != nullptr && k > 0) std::memset(dst, 0, k);
            return false;
        }
        if (dst != nullptr) std::memcpy(dst, p + at, k);
        at += k;
        return true;
    }
    std::uint64_t u64() {
        std::uint8_t b[8];
        take(b, 8);
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
        return v;
    }
    std::uint32_t u32() {
        std::uint8_t b[4];
        take(b, 4);
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(b[i]) << (8 * i);
        return v;
    }
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
    float f32() {
        const std::uint32_t b = u32();
        float v;
        std::memcpy(&v, &b, 4);
        return v;
    }
    std::string bytes(std::size_t cap = std::size_t(1) << 28) {
        const std::uint64_t k = u64();
        if (bad || k > cap || k > n - at) {
            bad = true;
            return std::string();
        }
        std::string s(reinterpret_cast<const char*>(p + at), static_cast<std::size_t>(k));
        at += static_cast<std::size_t>(k);
        return s;
    }
};

constexpr char session_magic[8] = {'N', 'O', 'G', 'S', 'E', 'S', 'S', '1'};
constexpr std::uint32_t session_version = 1;

}  // namespace detail

// --- session -------------------------------------------------------------------------------------------

class session;
struct session_input;
inline status forward_together(const session_input* in, std::size_t n, model::workspace& ws, const thread_pool& pool,
                               model::forward_progress* progress, std::chrono::steady_clock::time_point deadline);

class session {
public:
    session() = default;
    session(session&&) noexcept = default;
    session& operator=(session&&) noexcept = default;

    static result<session> create(const model::model& m, const session_params& p = {}) {
        if (m.empty()) return status(status_code::invalid_argument, "session::create: empty model");
        model::kv_cache_params kp;
        kp.n_ctx = p.n_ctx;
        kp.type = p.kv_type;
        kp.alloc = p.alloc;
        result<model::kv_cache> kv = model::kv_cache::create(m, kp);
        if (!kv.ok()) return kv.status();
        if (p.max_batch <= 0) return status(status_code::invalid_argument, str("session: max_batch ", p.max_batch, " must be ≥ 1"));
        session s;
        if (p.workspace != nullptr) {
            if (!p.workspace->fits(m)) return status(status_code::invalid_argument, "session: the shared workspace was not made for this model");
        } else {
            model::workspace_params wp;
            wp.max_batch = p.max_batch;
            wp.alloc = p.alloc;
            result<model::workspace> ws = model::workspace::create(m, wp);
            if (!ws.ok()) return ws.status();
            s.ws_ = std::move(ws.value());
        }
        s.model_ = &m;
        s.params_ = p;
        s.kv_ = std::move(kv.value());
        s.logits_.assign(static_cast<std::size_t>(m.hparams().n_vocab), 0.0f);
        s.rng_.seed(p.seed);
        s.fingerprint_ = model_fingerprint(m);
        return s;
    }

    // A new session whose first `n_keep` positions are copied from `src` (a persona prefilled once):
    // no forward pass runs. `p` may differ from src's params except for the KV type (must match).
    static result<session> create_from_prefix(const session& src, std::int64_t n_keep, const session_params& p) {
        if (src.model_ == nullptr) return status(status_code::invalid_argument, "create_from_prefix: empty source");
        if (n_keep < 0 || n_keep > src.n_past())
            return status(status_code::out_of_range, str("create_from_prefix: ", n_keep, " not in 0..", src.n_past()));
        if (p.kv_type != src.kv_.type())
            return status(status_code::invalid_argument, "create_from_prefix: KV type differs from the source's");
        result<session> r = create(*src.model_, p);
        if (!r.ok()) return r;
        session& s = r.value();
        if (n_keep > s.n_ctx()) return status(status_code::limit_exceeded, "create_from_prefix: prefix exceeds n_ctx");
        const std::size_t bytes = static_cast<std::size_t>(src.kv_.row_bytes()) * static_cast<std::size_t>(n_keep);
        for (std::int64_t l = 0; l < src.kv_.n_layer(); ++l) {
            if (bytes == 0) break;
            std::memcpy(s.kv_.k_data(l), src.kv_.k_data(l), bytes);
            std::memcpy(s.kv_.v_data(l), src.kv_.v_data(l), bytes);
        }
        NOGGIN_TRY(s.kv_.set_n_past(n_keep));
        s.tokens_.assign(src.tokens_.begin(), src.tokens_.begin() + n_keep);
        if (n_keep == src.n_past()) s.logits_ = src.logits_;  // the prefix's last logits are still valid
        return r;
    }

    // --- forward -------------------------------------------------------------------------------------
    // Run tokens at positions n_past.. ; afterwards logits() holds the last token's logits (want_logits).
    // Errors leave the session unchanged: limit_exceeded (context full), invalid_argument, cancelled
    // (should_continue returned false — checked before every operation of the pass — or the interrupt
    // hook fired: checked before every tile).
    status prefill(const std::int32_t* tokens, std::int64_t n, bool want_logits = true) {
        if (model_ == nullptr) return status(status_code::invalid_argument, "session: not created");
        if (n <= 0) return status();
        model::forward_params fp = pass_params(want_logits);
        NOGGIN_TRY(model::forward(*model_, kv_, scratch(), tokens, n, fp));
        tokens_.insert(tokens_.end(), tokens, tokens + n);
        return status();
    }
    // The pausable form of prefill, for frame slicing: runs the pass until it completes (pr.done; the
    // tokens are then in the cache as after prefill), `deadline` is near (no tile predicted to end after
    // it starts; at least one runs) or the interrupt hook fires (pr.interrupted). A paused pass keeps its
    // work in scratch(); calling again with the same tokens resumes it (bit-identical results), while any
    // other pass on the workspace or change of this session makes the next call start it afresh.
    // Errors as prefill (a cancelled or failed pass is dropped; the session is unchanged).
    status prefill_until(const std::int32_t* tokens, std::int64_t n, bool want_logits,
                         std::chrono::steady_clock::time_point deadline, model::forward_progress& pr) {
        pr = model::forward_progress{};
        if (model_ == nullptr) return status(status_code::invalid_argument, "session: not created");
        if (n <= 0) return pr.done = true, status();
        model::forward_params fp = pass_params(want_logits);
        fp.progress = &pr;
        fp.deadline = deadline;
        NOGGIN_TRY(model::forward(*model_, kv_, scratch(), tokens, n, fp));
        if (pr.done) tokens_.insert(tokens_.end(), tokens, tokens + n);
        return status();
    }
    status decode(std::int32_t token) { return prefill(&token, 1, true); }
    // Every position's logits (n × n_vocab floats into out) — for tests and scoring.
    status prefill_all(const std::int32_t* tokens, std::int64_t n, float* out) {
        if (model_ == nullptr) return status(status_code::invalid_argument, "session: not created");
        model::forward_params fp = pass_params(true);
        fp.logits = model::logits_mode::all;
        fp.logits_out = out;
        NOGGIN_TRY(model::forward(*model_, kv_, scratch(), tokens, n, fp));
        tokens_.insert(tokens_.end(), tokens, tokens + n);
        return status();
    }

    // Forget positions ≥ n (n ≤ n_past). logits() is stale afterwards until the next prefill.
    status truncate(std::int64_t n) {
        NOGGIN_TRY(kv_.truncate(n));
        tokens_.resize(static_cast<std::size_t>(n));
        return status();
    }
    void clear() { (void)truncate(0); }

    // Checked on the calling thread before every operation of every forward pass: return false to cancel
    // (the pass changes nothing).
    void set_should_continue(bool (*fn)(void* user), void* user) {
        should_continue_ = fn;
        should_continue_user_ = user;
    }
    // Checked by the pool's workers before every tile of every forward pass (any thread: must be
    // thread-safe and cheap, e.g. an atomic load): true stops the pass within one tile — prefill_until
    // pauses (then should_continue decides: false cancels), prefill cancels. Default none.
    void set_interrupt(bool (*fn)(void* user), void* user) {
        interrupt_ = fn;
        interrupt_user_ = user;
    }
    bool (*interrupt_fn() const)(void*) { return interrupt_; }
    void* interrupt_user() const { return interrupt_user_; }
    void set_pool(const thread_pool& pool) { params_.pool = pool; }
    // The should_continue hook set above (null when none).
    bool (*should_continue_fn() const)(void*) { return should_continue_; }
    void* should_continue_user() const { return should_continue_user_; }

    // --- state ---------------------------------------------------------------------------------------
    const float* logits() const { return logits_.data(); }  // n_vocab floats of the last forwarded token
    float* logits_mut() { return logits_.data(); }
    std::int64_t n_vocab() const { return static_cast<std::int64_t>(logits_.size()); }
    std::int64_t n_past() const { return kv_.n_past(); }
    std::int64_t n_ctx() const { return kv_.n_ctx(); }
    const std::vector<std::int32_t>& tokens() const { return tokens_; }  // the n_past tokens in the cache
    sample::rng& random() { return rng_; }
    const model::model* get_model() const { return model_; }
    const session_params& params() const { return params_; }
    std::uint64_t fingerprint() const { return fingerprint_; }
    bool valid() const { return model_ != nullptr; }
    const model::kv_cache& kv() const { return kv_; }
    // The workspace forward passes use: the shared one of session_params::workspace, or its own.
    model::workspace& scratch() { return params_.workspace != nullptr ? *params_.workspace : ws_; }
    // Bytes this session holds: KV cache + its own workspace (0 when shared) + logits + token history.
    std::size_t memory_bytes() const {
        return kv_.byte_size() + (params_.workspace != nullptr ? 0 : ws_.byte_size()) + logits_.capacity() * sizeof(float) +
               tokens_.capacity() * sizeof(std::int32_t);
    }

    // --- save / restore ------------------------------------------------------------------------------
    // Everything needed to continue exactly: tokens, KV rows [0, n_past), RNG, plus `extra` bytes that
    // the layer above (the reasoner) stores with it.
    result<std::vector<std::uint8_t>> save(const std::string& extra = std::string()) const {
        if (model_ == nullptr) return status(status_code::invalid_argument, "session::save: not created");
        std::vector<std::uint8_t> out;
        const std::size_t rows = static_cast<std::size_t>(kv_.row_bytes()) * static_cast<std::size_t>(n_past());
        out.reserve(128 + tokens_.size() * 4 + extra.size() + rows * 2 * static_cast<std::size_t>(kv_.n_layer()));
        detail::byte_writer w{out};
        w.raw(detail::session_magic, 8);
        w.u32(detail::session_version);
        w.u64(fingerprint_);
        w.u32(static_cast<std::uint32_t>(kv_.type()));
        w.i64(kv_.n_ctx());
        w.i64(kv_.n_layer());
        w.i64(kv_.kv_dim());
        w.i64(n_past());
        for (std::int32_t t : tokens_) w.i32(t);
        std::uint8_t r[sample::rng::state_bytes];
        rng_.save(r);
        w.raw(r, sizeof r);
        w.bytes(extra);
        for (std::int64_t l = 0; l < kv_.n_layer(); ++l) {
            w.raw(kv_.k_data(l), rows);
            w.raw(kv_.v_data(l), rows);
        }
        w.u64(detail::fnv1a(out.data(), out.size()));
        return out;
    }

    // Restore bytes from save(). Refused (session unchanged) with format_error (bad magic, truncated,
    // checksum mismatch — tampered), unsupported (other version) or invalid_argument (another model, KV
    // type or a context too small for the saved positions). `extra_out` receives the extra bytes;
    // `check_extra` (optional) sees them before anything is applied, and a failure it returns refuses
    // the state too (the layer above validates its own part that way).
    status restore(const std::uint8_t* data, std::size_t size, std::string* extra_out = nullptr,
                   status (*check_extra)(void* user, const std::string& extra) = nullptr, void* check_user = nullptr) {
        if (model_ == nullptr) return status(status_code::invalid_argument, "session::restore: not created");
        if (data == nullptr || size < 8 + 4 + 8) return status(status_code::format_error, "session state: too short");
        if (std::memcmp(data, detail::session_magic, 8) != 0)
            return status(status_code::format_error, "session state: not a noggin session (bad magic)");
        std::uint64_t stored = 0;
        for (int i = 0; i < 8; ++i) stored |= static_cast<std::uint64_t>(data[size - 8 + static_cast<std::size_t>(i)]) << (8 * i);
        if (detail::fnv1a(data, size - 8) != stored)
            return status(status_code::format_error, "session state: checksum mismatch (corrupted or tampered)");
        detail::byte_reader rd{data, size - 8};
        rd.take(nullptr, 8);
        const std::uint32_t version = rd.u32();
        if (version != detail::session_version)
            return status(status_code::unsupported, str("session state: version ", version, " (this build reads ", detail::session_version, ")"));
        if (rd.u64() != fingerprint_)
            return status(status_code::invalid_argument, "session state: saved with a different model");
        const std::uint32_t type = rd.u32();
        const std::int64_t n_ctx_saved = rd.i64(), n_layer = rd.i64(), kv_dim = rd.i64(), n_past_saved = rd.i64();
        (void)n_ctx_saved;
        if (type != static_cast<std::uint32_t>(kv_.type()) || n_layer != kv_.n_layer() || kv_dim != kv_.kv_dim())
            return status(status_code::invalid_argument, "session state: KV layout differs (type, layers or width)");
        if (rd.bad || n_past_saved < 0 || n_past_saved > kv_.n_ctx())
            return status(status_code::invalid_argument, str("session state: ", n_past_saved, " positions do not fit n_ctx ", kv_.n_ctx()));
        std::vector<std::int32_t> toks(static_cast<std::size_t>(n_past_saved));
        for (std::int32_t& t : toks) {
            t = rd.i32();
            if (t < 0 || t >= n_vocab()) rd.bad = true;
        }
        std::uint8_t r[sample::rng::state_bytes];
        rd.take(r, sizeof r);
        std::string extra = rd.bytes();
        const std::size_t rows = static_cast<std::size_t>(kv_.row_bytes()) * static_cast<std::size_t>(n_past_saved);
        const std::size_t kv_at = rd.at;
        const std::size_t kv_bytes = rows * 2 * static_cast<std::size_t>(n_layer);
        if (rd.bad || kv_bytes != rd.n - kv_at)
            return status(status_code::format_error, "session state: truncated or malformed");
        sample::rng rng_new;
        NOGGIN_TRY(rng_new.load(r, sizeof r));
        if (check_extra != nullptr) NOGGIN_TRY(check_extra(check_user, extra));
        // Everything checked: apply.
        const std::uint8_t* src = data + kv_at;
        for (std::int64_t l = 0; l < n_layer; ++l) {
            if (rows > 0) {
                std::memcpy(kv_.k_data(l), src, rows);
                std::memcpy(kv_.v_data(l), src + rows, rows);
            }
            src += 2 * rows;
        }
        NOGGIN_TRY(kv_.set_n_past(n_past_saved));
        tokens_ = std::move(toks);
        rng_ = rng_new;
        if (extra_out != nullptr) *extra_out = std::move(extra);
        // logits() is stale now: call recompute_logits() before sampling from them.
        return status();
    }

    // After restore(): recompute the last position's logits by re-running the final token (the KV row
    // it writes is identical to the saved one). No-op for an empty session.
    status recompute_logits() {
        if (tokens_.empty()) return status();
        const std::int32_t last = tokens_.back();
        NOGGIN_TRY(truncate(n_past() - 1));
        return decode(last);
    }

    status save_file(const std::string& path, const std::string& extra = std::string()) const {
        result<std::vector<std::uint8_t>> bytes = save(extra);
        if (!bytes.ok()) return bytes.status();
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (f == nullptr) return status(status_code::io_error, str("session::save_file: cannot open ", path));
        const std::size_t wrote = std::fwrite(bytes->data(), 1, bytes->size(), f);
        const bool closed = std::fclose(f) == 0;
        if (wrote != bytes->size() || !closed) return status(status_code::io_error, str("session::save_file: write failed: ", path));
        return status();
    }
    status restore_file(const std::string& path, std::string* extra_out = nullptr) {
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (f == nullptr) return status(status_code::io_error, str("session::restore_file: cannot open ", path));
        std::vector<std::uint8_t> bytes;
        std::uint8_t buf[65536];
        std::size_t got;
        while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + got);
        std::fclose(f);
        return restore(bytes.data(), bytes.size(), extra_out);
    }

private:
    friend status forward_together(const session_input* in, std::size_t n, model::workspace& ws, const thread_pool& pool,
                                   model::forward_progress* progress, std::chrono::steady_clock::time_point deadline);
    const model::model* model_ = nullptr;  // shared, not owned; must outlive the session
    session_params params_{};
    model::kv_cache kv_;
    model::workspace ws_;                  // own scratch (empty when params_.workspace is set)
    std::vector<float> logits_;            // n_vocab
    std::vector<std::int32_t> tokens_;     // tokens at positions [0, n_past)
    sample::rng rng_;
    std::uint64_t fingerprint_ = 0;
    bool (*should_continue_)(void*) = nullptr;
    void* should_continue_user_ = nullptr;
    bool (*interrupt_)(void*) = nullptr;   // per tile, any thread
    void* interrupt_user_ = nullptr;

    model::forward_params pass_params(bool want_logits) {
        model::forward_params fp;
        fp.logits = want_logits ? model::logits_mode::last : model::logits_mode::none;
        fp.logits_out = logits_.data();
        fp.pool = params_.pool;
        fp.should_continue = should_continue_;
        fp.user = should_continue_user_;
        fp.interrupt = interrupt_;
        fp.interrupt_user = interrupt_user_;
        return fp;
    }
};

// --- forward_together / decode_together -------------------------------------------------------------

// One session's part of a batched pass.
struct session_input {
    session* s = nullptr;                  // the session whose cache receives the tokens (required)
    const std::int32_t* tokens = nullptr;  // n_tokens ids (required)
    std::int64_t n_tokens = 0;             // ≥ 1: one for a decode step, more for a prefill chunk
    bool want_logits = true;               // write the last token's logits to s->logits() (default)
};

namespace detail {
struct together_hook {
    const session_input* in;
    std::size_t n;
};
// The pass goes on while every session's own should_continue hook says so.
inline bool together_continue(void* user) {
    const together_hook& h = *static_cast<const together_hook*>(user);
    for (std::size_t i = 0; i < h.n; ++i) {
        const session& s = *h.in[i].s;
        if (s.should_continue_fn() != nullptr && !s.should_continue_fn()(s.should_continue_user())) return false;
    }
    return true;
}
// Any session's interrupt hook stops the pass (called per tile from the workers).
inline bool together_interrupt(void* user) {
    const together_hook& h = *static_cast<const together_hook*>(user);
    for (std::size_t i = 0; i < h.n; ++i) {
        const session& s = *h.in[i].s;
        if (s.interrupt_fn() != nullptr && s.interrupt_fn()(s.interrupt_user())) return true;
    }
    return false;
}
}  // namespace detail

// Run every session's tokens in ONE forward pass over their shared model (model::forward_batch): each
// projection reads the weights once for all sessions. `ws` is made for that model; with
// workspace_params::logits_rows ≥ n the logits of all sessions come from one output matmul. Each
// session's own should_continue hook is checked before every operation (any false cancels the whole
// pass) and its interrupt hook before every tile (any true stops the pass: pauses it when `progress` is
// given, else cancels it). With `progress` the pass is pausable as session::prefill_until: it returns ok
// with progress->done false when paused (deadline or interrupt) and the next call with the same inputs
// and workspace resumes it; no session changes until it is done.
// Results equal each session run alone (bit-equal while the pass has fewer than cpu::gemm_min_cols rows
// per chunk). Errors change no session: invalid_argument (no inputs, a session twice or not created,
// sessions over different models, bad tokens), limit_exceeded (a session's context is full), cancelled.
inline status forward_together(const session_input* in, std::size_t n, model::workspace& ws, const thread_pool& pool = {},
                               model::forward_progress* progress = nullptr,
                               std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max()) {
    if (in == nullptr || n == 0) return status(status_code::invalid_argument, "forward_together: no sessions");
    const model::model* m = nullptr;
    for (std::size_t i = 0; i < n; ++i) {
        const session* s = in[i].s;
        if (s == nullptr || s->model_ == nullptr) return status(status_code::invalid_argument, str("forward_together: session ", i, " not created"));
        if (m == nullptr) m = s->model_;
        else if (s->model_ != m && s->model_->weights().token_embd.data != m->weights().token_embd.data)
            return status(status_code::invalid_argument, str("forward_together: session ", i, " is over another model"));
    }
    std::vector<model::forward_segment> segs(n);
    for (std::size_t i = 0; i < n; ++i) {
        model::forward_segment& g = segs[i];
        g.kv = &in[i].s->kv_;
        g.tokens = in[i].tokens;
        g.n_tokens = in[i].n_tokens;
        g.logits = in[i].want_logits ? model::logits_mode::last : model::logits_mode::none;
        g.logits_out = in[i].s->logits_.data();
    }
    detail::together_hook hook{in, n};
    model::forward_batch_params bp;
    bp.pool = pool;
    bp.should_continue = &detail::together_continue;
    bp.user = &hook;
    bp.interrupt = &detail::together_interrupt;
    bp.interrupt_user = &hook;
    bp.progress = progress;
    bp.deadline = deadline;
    NOGGIN_TRY(model::forward_batch(*m, ws, segs.data(), n, bp));
    if (progress != nullptr && !progress->done) return status();
    for (std::size_t i = 0; i < n; ++i) in[i].s->tokens_.insert(in[i].s->tokens_.end(), in[i].tokens, in[i].tokens + in[i].n_tokens);
    return status();
}

// One decode step for each of n sessions in one pass: session i runs tokens[i]; afterwards each
// logits() holds its next-token logits. As forward_together.
inline status decode_together(session* const* s, const std::int32_t* tokens, std::size_t n, model::workspace& ws,
                              const thread_pool& pool = {}) {
    if (s == nullptr || tokens == nullptr || n == 0) return status(status_code::invalid_argument, "decode_together: no sessions");
    std::vector<session_input> in(n);
    for (std::size_t i = 0; i < n; ++i) in[i].s = s[i], in[i].tokens = tokens + i, in[i].n_tokens = 1;
    return forward_together(in.data(), n, ws, pool);
}

}  // namespace noggin::run
