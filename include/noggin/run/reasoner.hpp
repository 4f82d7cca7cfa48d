// noggin/run/reasoner.hpp — a reasoning chat over a session: think, then answer, in frame-sized steps.
//
// The reasoner renders the conversation with the model's own chat template, makes sure the prompt ends
// with `<think>\n`, and streams typed events — thinking text, answer text, done (with a reason) — to a
// callback or a poll queue. It enforces thinking budgets (s1 budget forcing), a minimum thinking length
// ("Wait" extension), an answer budget and stop strings; it applies a grammar / JSON schema only after
// `</think>`, never inside the thoughts; it samples with the session's own seeded RNG.
//
//     noggin::run::reasoner_params rp;  rp.think_budget = 256;  rp.on_event = my_cb;  rp.user = npc;
//     auto r = noggin::run::reasoner::create(std::move(session), tokenizer, chat_template, rp);
//     r->ask("What is 4821+937?");
//     while (r->state() != noggin::run::reasoner_state::idle)       // in the game loop, once a frame:
//         r->step(std::chrono::microseconds(2000));                  //   ~2 ms of work, then return
//     r->end_thinking_now();  r->cancel();                           // from any thread
//
// Frame slicing: step(budget) feeds prompt chunks of session_params::max_batch tokens and generated
// tokens until the budget is spent; the forward pass in flight PAUSES at the budget (no matmul tile or
// operation starts that is predicted to end after it; at least one runs per call) and the next step()
// resumes it, so a call returns within about a tile of its budget and the tokens are exactly those of
// run(). cancel() and end_thinking_now() are seen before every tile (≈ 0.1–1 ms of work): cancel ends the
// turn with the cache as it was before the pass; end_thinking_now() abandons a thinking token's pass and
// feeds that token, the closing phrase and </think> in one new pass (no model-sampled thoughts after the
// call; an incomplete UTF-8 character is flushed as U+FFFD). Async: call run() (or async_entry through
// the host's thread_pool hook) on a worker and poll() events on the game thread.
//
// Threads: cancel(), end_thinking_now(), busy() and poll() may be called from any thread while step()
// or run() works on another; everything else (ask, inspection, save/restore) only while not busy — a pass
// paused between step()s is no obstacle: save() records its input and restore() feeds it again. The
// object is not movable (it holds atomics): construct it in place, then reasoner::create(r, ...).
//
// Next turns never re-prefill the conversation: the new rendering is compared token by token with the
// cache; the cache is cut back to the first difference — for R1, the start of the previous turn's
// reasoning, which the template drops — and only what follows is prefilled. Exact, because every
// earlier entry is unchanged.
//
// Sections: events · reasoner_params · stats · reasoner (create, ask, step/run, controls, save/restore)
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "../sample/grammar.hpp"
#include "../sample/sampler.hpp"
#include "../text/chat_template.hpp"
#include "../text/tokenizer.hpp"
#include "../text/unicode.hpp"
#include "session.hpp"

namespace noggin::run {

// --- events ------------------------------------------------------------------------------------------

enum class event_type : int {
    thinking = 0,  // text inside <think> … </think> (complete UTF-8 only)
    answer = 1,    // text after </think>
    done = 2,      // the turn ended; see reason
};

enum class stop_reason : int {
    none = 0,
    eos = 1,               // the model ended the answer
    stop_string = 2,       // a stop string appeared (it is not emitted)
    answer_budget = 3,     // answer_budget tokens were generated
    grammar_complete = 4,  // the grammar accepts no further text
    context_full = 5,      // no room in the KV cache
    cancelled = 6,         // cancel() was called
    error = 7,             // a failure; see reasoner::last_status()
};

inline const char* stop_reason_name(stop_reason r) {
    switch (r) {
        case stop_reason::none: return "none";
        case stop_reason::eos: return "eos";
        case stop_reason::stop_string: return "stop_string";
        case stop_reason::answer_budget: return "answer_budget";
        case stop_reason::grammar_complete: return "grammar_complete";
        case stop_reason::context_full: return "context_full";
        case stop_reason::cancelled: return "cancelled";
        case stop_reason::error: return "error";
    }
    return "?";
}

struct event {
    event_type type = event_type::thinking;
    std::string text;                     // thinking/answer text (empty for done)
    stop_reason reason = stop_reason::none;  // for done
};

// --- reasoner_params -------------------------------------------------------------------------------------

enum class context_full_policy : int {
    error = 0,        // ask() fails with limit_exceeded when the rendering does not fit (default)
    drop_oldest = 1,  // drop the oldest user/assistant turns (not the system message) until it fits
};

struct reasoner_params {
    sample::sampler_params sampling{};       // sampler chain (default: R1's temperature 0.6, top-p 0.95)
    std::int32_t think_budget = -1;          // model-sampled thinking tokens before </think> is forced; -1 = unlimited (default), 0 = answer at once
    std::string think_close = "";            // text forced before </think> when the budget ends thinking (default none)
    std::int32_t min_think = 0;              // a </think> before this many thinking tokens becomes wait_text (default 0 = off)
    std::int32_t max_waits = 2;              // at most this many "Wait" extensions per turn (default 2)
    std::string wait_text = "\nWait";        // forced in place of an early </think> (default "\nWait")
    std::int32_t answer_budget = -1;         // answer tokens before the turn ends; -1 = unlimited (default)
    std::vector<std::string> stop;           // answer stop strings (default none); the match is not emitted
    context_full_policy on_full = context_full_policy::error;  // when a new turn does not fit (default error)
    sample::grammar_matcher* grammar = nullptr;  // constrains the answer only (after </think>); not owned (default none)
    void (*on_event)(void* user, const event& e) = nullptr;  // event callback; null = queue events for poll() (default)
    void* user = nullptr;                    // passed to on_event
    text::chat_params chat{};                // template variables (bos/eos tokens filled from the tokenizer when empty)
};

// --- stats -----------------------------------------------------------------------------------------------

struct turn_stats {
    std::int64_t prompt_tokens = 0;          // tokens of the full rendering of this turn
    std::int64_t prefilled_tokens = 0;       // of which were run through the model (the rest reused from the cache)
    std::int64_t thinking_tokens = 0;        // model-sampled thinking tokens (the budget counts these)
    std::int64_t thinking_finish_tokens = 0; // sampled after the budget to finish a UTF-8 character
    std::int64_t forced_tokens = 0;          // forced: closing phrase, </think>, "Wait" extensions
    std::int64_t answer_tokens = 0;          // model-sampled answer tokens
    std::int32_t waits = 0;                  // "Wait" extensions used
    bool think_forced_end = false;           // </think> came from the budget or end_thinking_now()
    double prefill_ms = 0, think_ms = 0, answer_ms = 0;  // wall time by phase (milliseconds)
    stop_reason reason = stop_reason::none;
};

enum class reasoner_state : int { idle = 0, prefilling = 1, thinking = 2, answering = 3 };

// --- reasoner ------------------------------------------------------------------------------------------

class reasoner_group;

class reasoner {
public:
    reasoner() = default;
    reasoner(const reasoner&) = delete;
    reasoner& operator=(const reasoner&) = delete;
    // A member of a reasoner_group leaves it first, so the two may be destroyed in either order.
    ~reasoner() {
        if (leave_group_ != nullptr) leave_group_(group_, *this);
    }

    // The tokenizer and template must outlive the reasoner; the session is moved in.
    static status create(reasoner& out, session&& s, const text::tokenizer& tok, const text::chat_template& chat,
                         const reasoner_params& p = {}) {
        if (!s.valid()) return status(status_code::invalid_argument, "reasoner: invalid session");
        out.session_ = std::move(s);
        out.tok_ = &tok;
        out.chat_ = &chat;
        out.params_ = p;
        if (out.params_.chat.bos_token.empty() && tok.bos_id() >= 0) out.params_.chat.bos_token = std::string(tok.token_text(tok.bos_id()));
        if (out.params_.chat.eos_token.empty() && tok.eos_id() >= 0) out.params_.chat.eos_token = std::string(tok.token_text(tok.eos_id()));
        out.think_end_ = tok.find("</think>");
        if (out.think_end_ < 0) return status(status_code::unsupported, "reasoner: the vocabulary has no </think> token");
        out.sampler_.set_params(p.sampling);
        out.sampler_.reserve(static_cast<std::size_t>(out.session_.n_vocab()));  // not inside the first step()
        out.session_.set_should_continue(&reasoner::keep_going, &out);
        out.session_.set_interrupt(&reasoner::interrupt_check, &out);
        return status();
    }

    // --- conversation --------------------------------------------------------------------------------
    // A system message (before the first ask; templates that have no system role fold or drop it).
    status set_system(const std::string& text) {
        if (state_ != reasoner_state::idle) return status(status_code::invalid_argument, "reasoner: busy");
        if (!messages_.empty() && messages_[0].role == "system") messages_[0].content = text;
        else messages_.insert(messages_.begin(), text::chat_message{"system", text});
        return status();
    }

    // Start a turn: render, find what the cache already holds, queue the rest for prefill. No model work
    // runs here; step()/run() does it. Errors: busy, template failure, limit_exceeded (context full).
    status ask(const std::string& user_text) {
        if (state_ != reasoner_state::idle) return status(status_code::invalid_argument, "reasoner: a turn is running");
        messages_.push_back(text::chat_message{"user", user_text});
        std::vector<std::int32_t> target;
        for (;;) {
            status s = render(target);
            if (!s.ok()) {
                messages_.pop_back();
                return s;
            }
            if (static_cast<std::int64_t>(target.size()) + 1 <= session_.n_ctx()) break;
            if (params_.on_full != context_full_policy::drop_oldest || !drop_oldest_turn()) {
                messages_.pop_back();
                return status(status_code::limit_exceeded, str("reasoner: the conversation (", target.size(),
                                                               " tokens) does not fit the context of ", session_.n_ctx()));
            }
        }
        // Reuse the longest common prefix of the cache and the new rendering (at least one token is run
        // so that fresh logits exist).
        const std::vector<std::int32_t>& have = session_.tokens();
        std::size_t common = 0;
        while (common < have.size() && common < target.size() && have[common] == target[common]) ++common;
        if (common == target.size()) --common;
        NOGGIN_TRY(session_.truncate(static_cast<std::int64_t>(common)));
        prefill_.assign(target.begin() + std::ptrdiff_t(common), target.end());
        prefill_at_ = 0;
        stats_ = turn_stats{};
        stats_.prompt_tokens = static_cast<std::int64_t>(target.size());
        stats_.prefilled_tokens = static_cast<std::int64_t>(prefill_.size());
        reset_turn();
        has_pending_ = false;
        cancel_.store(false);
        end_thinking_.store(false);
        state_ = reasoner_state::prefilling;
        return status();
    }

    // --- stepping ------------------------------------------------------------------------------------
    // Work until `budget` has passed, the turn ends, or cancel(); returns the state. The forward pass in
    // flight pauses at the budget (no tile predicted to end after it starts; at least one tile or
    // operation runs per call) and the next step() resumes it, bit-exactly.
    reasoner_state step(std::chrono::microseconds budget) {
        const auto deadline = std::chrono::steady_clock::now() + budget;
        busy_.store(true);
        do {
            if (!work_once(deadline)) break;  // paused at the deadline
            // A new token starts with sampling (not pausable): only when it is predicted to fit. A prompt
            // chunk's preparation is nearly free, but the unit after the prompt's last chunk samples.
        } while (state_ != reasoner_state::idle && std::chrono::steady_clock::now() + next_prepare_time() < deadline);
        busy_.store(false);
        return state_;
    }
    // Run the turn to its end on this thread (async mode: call from a worker, poll() elsewhere).
    void run() {
        busy_.store(true);
        while (state_ != reasoner_state::idle) work_once(std::chrono::steady_clock::time_point::max());
        busy_.store(false);
    }
    // True between step()s while a forward pass is paused part-way (the next step() resumes it).
    bool pass_paused() const { return has_pending_; }
    // For the host's job system: thread_pool::run(1, reasoner::async_entry, &r) on a worker thread.
    static void async_entry(void* ctx, std::size_t, std::size_t, std::size_t) { static_cast<reasoner*>(ctx)->run(); }

    // --- controls (any thread) -----------------------------------------------------------------------
    void cancel() { cancel_.store(true); }
    void end_thinking_now() { end_thinking_.store(true); }
    bool busy() const { return busy_.load(); }

    // --- events (poll mode) --------------------------------------------------------------------------
    bool poll(event& e) {
        std::lock_guard<std::mutex> lock(queue_mu_);
        if (queue_.empty()) return false;
        e = std::move(queue_.front());
        queue_.pop_front();
        return true;
    }

    // --- inspection ----------------------------------------------------------------------------------
    reasoner_state state() const { return state_; }
    const turn_stats& stats() const { return stats_; }  // the current or last turn
    const status& last_status() const { return last_status_; }
    const std::string& thinking_text() const { return thinking_text_; }  // this turn's thoughts so far
    const std::string& answer_text() const { return answer_text_; }      // this turn's answer so far
    std::vector<std::int32_t> generated_tokens() const { return generated_; }  // sampled and forced, in order
    const std::vector<text::chat_message>& messages() const { return messages_; }
    session& get_session() { return session_; }
    // Bytes this reasoner holds beyond the conversation text: its session's (session::memory_bytes), its
    // sampler's own scratch (0 while it is a reasoner_group member: the group lends its one scratch) and
    // the grammar-masked logits.
    std::size_t memory_bytes() const {
        return session_.memory_bytes() + sampler_.owned_scratch_bytes() + scratch_.capacity() * sizeof(float);
    }
    reasoner_params& params() { return params_; }  // change between turns

    // --- save / restore ------------------------------------------------------------------------------
    // The session (KV, tokens, RNG) plus the conversation and the turn in progress; a restored reasoner
    // continues token for token as the saved one would have (call between step()s, not during run()).
    // A forward pass paused by step() is saved as its input (the generated tokens not yet in the cache),
    // which the restored reasoner feeds again first: the same results, part of one pass recomputed.
    result<std::vector<std::uint8_t>> save() const {
        std::vector<std::uint8_t> ex;
        detail::byte_writer w{ex};
        w.u32(2);  // reasoner state version (1: without the pending input; still read)
        w.u64(messages_.size());
        for (const text::chat_message& m : messages_) w.bytes(m.role), w.bytes(m.content);
        w.u32(static_cast<std::uint32_t>(state_));
        w.u64(prefill_.size());
        for (std::int32_t t : prefill_) w.i32(t);
        w.u64(prefill_at_);
        w.u64(forced_.size());
        for (std::int32_t t : forced_) w.i32(t);
        w.u64(generated_.size());
        for (std::int32_t t : generated_) w.i32(t);
        w.bytes(utf8_pending_);
        w.bytes(hold_);
        w.bytes(thinking_text_);
        w.bytes(answer_text_);
        w.u32(answer_started_ ? 1u : 0u);
        const std::int64_t st[] = {stats_.prompt_tokens, stats_.prefilled_tokens, stats_.thinking_tokens,
                                   stats_.thinking_finish_tokens, stats_.forced_tokens, stats_.answer_tokens,
                                   stats_.waits, stats_.think_forced_end ? 1 : 0};
        for (std::int64_t v : st) w.i64(v);
        const std::vector<std::int32_t> hist = sampler_.history();
        w.u64(hist.size());
        for (std::int32_t t : hist) w.i32(t);
        w.u32(grammar_.valid() ? 1u : 0u);
        if (grammar_.valid()) w.bytes(grammar_.save());
        w.raw(session_.logits(), static_cast<std::size_t>(session_.n_vocab()) * sizeof(float));
        // Version 2: generated tokens chosen but not yet in the cache (a paused pass); a paused prompt
        // chunk needs nothing (it is re-derived from prefill_at).
        const bool pend = has_pending_ && !pending_.prefill;
        w.u64(pend ? static_cast<std::uint64_t>(pending_.n_tokens) : 0);
        for (std::int64_t i = 0; pend && i < pending_.n_tokens; ++i) w.i32(pending_.tokens[i]);
        w.u32(pend && pending_.thinking ? 1u : 0u);
        return session_.save(std::string(ex.begin(), ex.end()));
    }
    // Refused (everything unchanged) when the session refuses the bytes (see session::restore), when the
    // reasoner's part is from another version (unsupported), or when it was saved with a grammar and
    // none is set now (invalid_argument).
    status restore(const std::uint8_t* data, std::size_t size) {
        if (busy_.load()) return status(status_code::invalid_argument, "reasoner: busy");
        struct probe {
            reasoner* self;
            saved_turn parsed;
        } pr{this, saved_turn{}};
        auto check = [](void* user, const std::string& extra) -> status {
            probe& p = *static_cast<probe*>(user);
            return p.self->parse_saved(extra, p.parsed);
        };
        NOGGIN_TRY(session_.restore(data, size, nullptr, check, &pr));
        saved_turn& t = pr.parsed;
        grammar_ = std::move(t.grammar);
        messages_ = std::move(t.messages);
        state_ = t.state;
        prefill_ = std::move(t.prefill);
        prefill_at_ = t.prefill_at;
        forced_ = std::move(t.forced);
        generated_ = std::move(t.generated);
        utf8_pending_ = std::move(t.pending);
        hold_ = std::move(t.hold);
        thinking_text_ = std::move(t.thinking);
        answer_text_ = std::move(t.answer);
        answer_started_ = t.answer_started;
        stats_ = t.stats;
        sampler_.set_history(t.history.data(), t.history.size());
        std::copy(t.logits.begin(), t.logits.end(), session_.logits_mut());
        has_pending_ = !t.pending_ids.empty();  // a paused pass's input is fed again first
        if (has_pending_) {
            pending_.multi = std::move(t.pending_ids);
            pending_.prefill = false;
            pending_.thinking = t.pending_thinking;
            pending_.tokens = pending_.multi.data();
            pending_.n_tokens = static_cast<std::int64_t>(pending_.multi.size());
            pending_.want_logits = true;
            pending_.t0 = std::chrono::steady_clock::now();
            pending_.work_ms = 0;
        }  // a paused pass is dropped (the session changed: it cannot resume)
        cancel_.store(false);
        end_thinking_.store(false);
        return status();
    }

private:
    friend class reasoner_group;  // run/group.hpp: prepare_input / feed batched / complete_input

    // The reasoner's part of a saved state, parsed and checked before anything is applied.
    struct saved_turn {
        std::vector<text::chat_message> messages;
        reasoner_state state = reasoner_state::idle;
        std::vector<std::int32_t> prefill, generated, history;
        std::size_t prefill_at = 0;
        std::deque<std::int32_t> forced;
        std::string pending, hold, thinking, answer;
        bool answer_started = false;
        turn_stats stats{};
        sample::grammar_state grammar;
        std::vector<float> logits;
        std::vector<std::int32_t> pending_ids;  // version 2: generated tokens not yet in the cache
        bool pending_thinking = false;
    };

    status parse_saved(const std::string& extra, saved_turn& t) const {
        detail::byte_reader rd{reinterpret_cast<const std::uint8_t*>(extra.data()), extra.size()};
        const std::uint32_t version = rd.u32();
        if (version != 1 && version != 2) return status(status_code::unsupported, "reasoner state: unknown version");
        const std::uint64_t n_msgs = rd.u64();
        if (n_msgs > extra.size() / 16) return status(status_code::format_error, "reasoner state: malformed");
        t.messages.resize(static_cast<std::size_t>(n_msgs));
        for (text::chat_message& m : t.messages) m.role = rd.bytes(), m.content = rd.bytes();
        const std::uint32_t stv = rd.u32();
        auto read_ids = [&rd](auto& v) {
            const std::uint64_t n = rd.u64();
            if (n > (rd.n - rd.at) / 4) {
                rd.bad = true;
                return;
            }
            v.clear();
            for (std::uint64_t i = 0; i < n; ++i) v.push_back(rd.i32());
        };
        read_ids(t.prefill);
        const std::uint64_t pre_at = rd.u64();
        read_ids(t.forced);
        read_ids(t.generated);
        t.pending = rd.bytes(), t.hold = rd.bytes(), t.thinking = rd.bytes(), t.answer = rd.bytes();
        t.answer_started = rd.u32() != 0;
        std::int64_t st[8];
        for (std::int64_t& v : st) v = rd.i64();
        read_ids(t.history);
        const bool has_grammar = rd.u32() != 0;
        const std::string gbytes = has_grammar ? rd.bytes() : std::string();
        t.logits.assign(static_cast<std::size_t>(session_.n_vocab()), 0.0f);
        rd.take(t.logits.data(), t.logits.size() * sizeof(float));
        if (version >= 2) {
            read_ids(t.pending_ids);
            t.pending_thinking = rd.u32() != 0;
            for (std::int32_t id : t.pending_ids)
                if (id < 0 || id >= session_.n_vocab()) rd.bad = true;
            if (!t.pending_ids.empty() && (stv < 2 || t.pending_ids.size() > t.generated.size())) rd.bad = true;
        }
        if (rd.bad || rd.at != rd.n || stv > 3 || pre_at > t.prefill.size())
            return status(status_code::format_error, "reasoner state: malformed");
        if (has_grammar) {
            if (params_.grammar == nullptr)
                return status(status_code::invalid_argument, "reasoner state: saved with a grammar, none is set");
            result<sample::grammar_state> g = params_.grammar->load_state(gbytes);
            if (!g.ok()) return g.status();
            t.grammar = std::move(g.value());
        }
        t.state = static_cast<reasoner_state>(stv);
        t.prefill_at = static_cast<std::size_t>(pre_at);
        t.stats.prompt_tokens = st[0], t.stats.prefilled_tokens = st[1], t.stats.thinking_tokens = st[2];
        t.stats.thinking_finish_tokens = st[3], t.stats.forced_tokens = st[4], t.stats.answer_tokens = st[5];
        t.stats.waits = static_cast<std::int32_t>(st[6]), t.stats.think_forced_end = st[7] != 0;
        return status();
    }

    static bool keep_going(void* user) { return !static_cast<reasoner*>(user)->cancel_.load(std::memory_order_relaxed); }
    // Per tile, on the pool's workers: cancel(), or end_thinking_now() while a thinking token's pass runs.
    static bool interrupt_check(void* user) {
        const reasoner& r = *static_cast<const reasoner*>(user);
        return r.cancel_.load(std::memory_order_relaxed) ||
               (r.end_interruptible_.load(std::memory_order_relaxed) && r.end_thinking_.load(std::memory_order_relaxed));
    }

    status render(std::vector<std::int32_t>& out) const {
        result<std::string> text = chat_->render(messages_, params_.chat);
        if (!text.ok()) return text.status();
        std::string s = std::move(text.value());
        // R1 models sometimes skip thinking: the prompt always ends with "<think>\n".
        if (s.size() < 8 || s.compare(s.size() - 8, 8, "<think>\n") != 0) s += "<think>\n";
        text::encode_options eo;
        eo.parse_special = true;
        out.clear();
        return tok_->encode(s, out, eo);
    }

    bool drop_oldest_turn() {
        std::size_t first = !messages_.empty() && messages_[0].role == "system" ? 1 : 0;
        // Keep the newest user message (the one being asked).
        if (messages_.size() < first + 2) return false;
        std::size_t end = first + 1;
        while (end + 1 < messages_.size() && messages_[end].role != "user") ++end;
        messages_.erase(messages_.begin() + std::ptrdiff_t(first), messages_.begin() + std::ptrdiff_t(end));
        return true;
    }

    void reset_turn() {
        forced_.clear();
        generated_.clear();
        utf8_pending_.clear();
        hold_.clear();
        thinking_text_.clear();
        answer_text_.clear();
        answer_started_ = false;
        grammar_ = sample::grammar_state();
    }

    void emit(event_type type, std::string text, stop_reason reason = stop_reason::none) {
        if (type != event_type::done && text.empty()) return;
        event e;
        e.type = type;
        e.text = std::move(text);
        e.reason = reason;
        if (params_.on_event != nullptr) {
            params_.on_event(params_.user, e);
            return;
        }
        std::lock_guard<std::mutex> lock(queue_mu_);
        queue_.push_back(std::move(e));
    }

    bool ended(stop_reason why, const status& s = status()) {  // finish(), for prepare_input: nothing to feed
        finish(why, s);
        return false;
    }

    void finish(stop_reason why, const status& s = status()) {
        last_status_ = s;
        if (state_ == reasoner_state::answering || state_ == reasoner_state::thinking) {
            // Flush held text (an incomplete UTF-8 tail becomes U+FFFD; a partial stop string is text).
            std::string tail = text::unicode::utf8_lossy(utf8_pending_);
            utf8_pending_.clear();
            if (state_ == reasoner_state::thinking) emit_thinking(tail);
            else {
                if (why != stop_reason::stop_string) tail = hold_ + tail, hold_.clear();
                else tail.clear();
                answer_text_ += tail;
                emit(event_type::answer, tail);
            }
        }
        const bool produced = !generated_.empty();
        if (produced) messages_.push_back(text::chat_message{"assistant", thinking_text_ + "</think>" + answer_text_});
        else if (!messages_.empty() && messages_.back().role == "user") messages_.pop_back();
        stats_.reason = why;
        state_ = reasoner_state::idle;
        emit(event_type::done, std::string(), why);
    }

    void emit_thinking(const std::string& text) {
        thinking_text_ += text;
        emit(event_type::thinking, text);
    }

    // Answer text through the stop-string filter: emit all but a tail that could start a stop string.
    bool emit_answer(std::string text) {
        if (!answer_started_) {
            const std::size_t at = text.find_first_not_of(" \n");
            text = at == std::string::npos ? std::string() : text.substr(at);
            answer_started_ = !text.empty();
        }
        hold_ += text;
        for (const std::string& s : params_.stop) {
            if (s.empty()) continue;
            const std::size_t at = hold_.find(s);
            if (at != std::string::npos) {
                answer_text_ += hold_.substr(0, at);
                emit(event_type::answer, hold_.substr(0, at));
                hold_.clear();
                return true;
            }
        }
        std::size_t keep = 0;
        for (const std::string& s : params_.stop)
            for (std::size_t k = std::min(s.size() - (s.empty() ? 0 : 1), hold_.size()); k > keep; --k)
                if (hold_.compare(hold_.size() - k, k, s, 0, k) == 0) {
                    keep = k;
                    break;
                }
        std::string out = hold_.substr(0, hold_.size() - keep);
        hold_.erase(0, hold_.size() - keep);
        answer_text_ += out;
        emit(event_type::answer, out);
        return false;
    }

    void push_forced_text(const std::string& text) {
        if (text.empty()) return;
        text::encode_options eo;
        eo.parse_special = true;
        std::vector<std::int32_t> ids;
        if (tok_->encode(text, ids, eo).ok()) forced_.insert(forced_.end(), ids.begin(), ids.end());
    }

    // One unit of work in three phases, so that a reasoner_group can run the middle one for many
    // reasoners in a single batched forward pass while each reasoner's own logic stays here, the same
    // whether it is stepped alone or in a group:
    //   prepare_input()   decide what to feed next — the next prompt chunk, or the next token (forced or
    //                     sampled from the current logits; its text, events, budgets, grammar and stop
    //                     strings are handled here); false when there is nothing to feed (idle, or the
    //                     turn just ended);
    //   feed              run pending_ through the model (alone: feed_alone(); in a group: batched);
    //   complete_input(s) account for the fed input (or its failure).
    // Returns false when the pass paused at the deadline (it stays pending; the next call resumes it).
    bool work_once(std::chrono::steady_clock::time_point deadline) {
        const bool fresh = !has_pending_;
        const auto p0 = std::chrono::steady_clock::now();
        if (!prepare_input()) return true;
        if (fresh) note_prepare_time(std::chrono::steady_clock::now() - p0);
        model::forward_progress pr;
        const auto t0 = std::chrono::steady_clock::now();
        end_interruptible_.store(interruptible());
        const status s = session_.prefill_until(pending_.tokens, pending_.n_tokens, pending_.want_logits, deadline, pr);
        end_interruptible_.store(false);
        pending_.work_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (s.ok() && !pr.done) return pr.interrupted;  // interrupted: prepare_input() sees why, next
        complete_input(s);
        return true;
    }

    // How long prepare_input() took for the unit it just chose (fresh): a prompt chunk's, or a token's (a
    // slowly decaying maximum, so that a forced token, which samples nothing, does not hide the next draw's cost).
    void note_prepare_time(std::chrono::steady_clock::duration took) {
        if (pending_.prefill)
            chunk_prepare_time_ = took;
        else
            token_prepare_time_ = std::max(took, token_prepare_time_ - token_prepare_time_ / 8);
    }
    // The predicted cost of the next prepare_input() (not pausable): a chunk's while the prompt lasts, else a
    // token's — the unit after the prompt's last chunk samples.
    std::chrono::steady_clock::duration next_prepare_time() const {
        return state_ == reasoner_state::prefilling ? chunk_prepare_time_ : token_prepare_time_;
    }

    // Not pausable (a group's fallback, member by member): end_thinking_now() does not interrupt it.
    status feed_alone() {
        const auto t0 = std::chrono::steady_clock::now();
        const status s = session_.prefill(pending_.tokens, pending_.n_tokens, pending_.want_logits);
        pending_.work_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        return s;
    }

    // end_thinking_now() may interrupt the pending pass: a thinking token's (not a prompt chunk's, not the
    // forced close's).
    bool interruptible() const {
        return !pending_.prefill && state_ == reasoner_state::thinking && !stats_.think_forced_end;
    }

    // Drop the pending input (cancel while its pass was paused): a token not in the cache leaves generated_.
    void drop_pending() {
        if (!pending_.prefill) generated_.resize(generated_.size() - static_cast<std::size_t>(pending_.n_tokens));
        has_pending_ = false;
    }

    // end_thinking_now(): the thoughts end at once. An unfinished "Wait" is dropped, an incomplete UTF-8
    // character is flushed as U+FFFD, and the closing phrase and </think> are forced — fed in ONE pass
    // together with the pending thinking token, if any (its own pass is abandoned). Returns false when
    // the turn ended (context full).
    bool close_thinking_now() {
        std::vector<std::int32_t>& toks = pending_.multi;
        std::vector<std::int32_t> keep;
        if (has_pending_) keep.assign(pending_.tokens, pending_.tokens + pending_.n_tokens);
        toks = std::move(keep);
        forced_.clear();
        stats_.think_forced_end = true;
        push_forced_text(params_.think_close);
        forced_.push_back(think_end_);
        while (!forced_.empty()) {
            const std::int32_t tok = forced_.front();
            forced_.pop_front();
            ++stats_.forced_tokens;
            sampler_.accept(tok);
            generated_.push_back(tok);
            toks.push_back(tok);
            if (tok == think_end_) {
                emit_thinking(text::unicode::utf8_lossy(utf8_pending_));
                utf8_pending_.clear();
                state_ = reasoner_state::answering;
                if (params_.grammar != nullptr) grammar_ = params_.grammar->start();
            } else if (!tok_->is_special(tok)) {
                tok_->append_token_bytes(tok, utf8_pending_);
                const std::size_t keep_n = text::unicode::utf8_incomplete_tail(utf8_pending_);
                emit_thinking(utf8_pending_.substr(0, utf8_pending_.size() - keep_n));
                utf8_pending_.erase(0, utf8_pending_.size() - keep_n);
            }
        }
        if (session_.n_past() + static_cast<std::int64_t>(toks.size()) > session_.n_ctx()) {
            generated_.resize(generated_.size() - toks.size());
            has_pending_ = false;
            return ended(stop_reason::context_full);
        }
        if (!has_pending_) pending_.t0 = std::chrono::steady_clock::now(), pending_.work_ms = 0;
        pending_.prefill = false;
        pending_.thinking = true;
        pending_.tokens = toks.data();
        pending_.n_tokens = static_cast<std::int64_t>(toks.size());
        pending_.want_logits = true;
        has_pending_ = true;
        return true;
    }

    bool prepare_input() {
        using clock = std::chrono::steady_clock;
        if (has_pending_) {  // its pass is paused (or was interrupted): resume it, unless told otherwise
            if (cancel_.load()) {
                drop_pending();
                return ended(stop_reason::cancelled, status(status_code::cancelled, "reasoner: cancelled"));
            }
            if (interruptible() && end_thinking_.load()) return close_thinking_now();
            return true;
        }
        if (state_ == reasoner_state::idle) return false;
        pending_.t0 = clock::now();
        pending_.work_ms = 0;
        if (cancel_.load()) return ended(stop_reason::cancelled, status(status_code::cancelled, "reasoner: cancelled"));
        if (state_ == reasoner_state::prefilling) {
            const std::size_t grain = static_cast<std::size_t>(session_.params().max_batch);
            const std::size_t n = std::min(grain, prefill_.size() - prefill_at_);
            pending_.prefill = true;
            pending_.tokens = prefill_.data() + prefill_at_;
            pending_.n_tokens = static_cast<std::int64_t>(n);
            pending_.want_logits = prefill_at_ + n == prefill_.size();
            has_pending_ = true;
            return true;
        }
        const bool thinking = state_ == reasoner_state::thinking;
        std::int32_t tok = -1;
        bool forced = false;
        if (thinking && end_thinking_.load() && !stats_.think_forced_end) {
            return close_thinking_now();  // also drops what is left of a forced "Wait"
        } else if (!forced_.empty()) {
            tok = forced_.front();
            forced_.pop_front();
            forced = true;
        } else if (thinking) {
            const bool over = params_.think_budget >= 0 && stats_.thinking_tokens >= params_.think_budget;
            if (over && utf8_pending_.empty()) {
                stats_.think_forced_end = true;
                push_forced_text(params_.think_close);
                forced_.push_back(think_end_);
                tok = forced_.front();
                forced_.pop_front();
                forced = true;
            } else {
                result<std::int32_t> r = sample_token(false);
                if (!r.ok()) return ended(stop_reason::error, r.status());
                tok = r.value();
                if (tok == think_end_ && stats_.thinking_tokens < params_.min_think && stats_.waits < params_.max_waits) {
                    ++stats_.waits;
                    push_forced_text(params_.wait_text);
                    if (forced_.empty()) return ended(stop_reason::error, status(status_code::internal, "reasoner: empty wait text"));
                    tok = forced_.front();
                    forced_.pop_front();
                    forced = true;
                } else if (tok == tok_->eos_id()) {
                    return ended(stop_reason::eos);
                } else if (tok != think_end_) {
                    if (over) ++stats_.thinking_finish_tokens;
                    else ++stats_.thinking_tokens;
                }
            }
        } else {
            if (params_.answer_budget >= 0 && stats_.answer_tokens >= params_.answer_budget) return ended(stop_reason::answer_budget);
            result<std::int32_t> r = sample_token(grammar_.valid());
            if (!r.ok()) return ended(stop_reason::error, r.status());
            tok = r.value();
            if (tok == tok_->eos_id() || (grammar_.valid() && params_.grammar->vocab().is_end(tok))) return ended(stop_reason::eos);
            if (grammar_.valid()) {
                const status g = grammar_.accept_token(tok);
                if (!g.ok()) return ended(stop_reason::error, g);
            }
            ++stats_.answer_tokens;
        }
        if (forced) ++stats_.forced_tokens;
        sampler_.accept(tok);
        generated_.push_back(tok);

        // Text and phase changes.
        bool stop_now = false;
        if (thinking && tok == think_end_) {
            std::string tail = text::unicode::utf8_lossy(utf8_pending_);
            utf8_pending_.clear();
            emit_thinking(tail);
            state_ = reasoner_state::answering;
            if (params_.grammar != nullptr) grammar_ = params_.grammar->start();
        } else if (!tok_->is_special(tok)) {
            tok_->append_token_bytes(tok, utf8_pending_);
            const std::size_t keep = text::unicode::utf8_incomplete_tail(utf8_pending_);
            std::string text = utf8_pending_.substr(0, utf8_pending_.size() - keep);
            utf8_pending_.erase(0, utf8_pending_.size() - keep);
            if (thinking) emit_thinking(text);
            else stop_now = emit_answer(text);
        }
        if (stop_now) return ended(stop_reason::stop_string);
        if (!thinking && grammar_.valid() && grammar_.is_finished()) return ended(stop_reason::grammar_complete);
        if (session_.n_past() >= session_.n_ctx()) return ended(stop_reason::context_full);

        pending_.prefill = false;
        pending_.thinking = thinking;
        pending_.token = tok;
        pending_.tokens = &pending_.token;
        pending_.n_tokens = 1;
        pending_.want_logits = true;
        has_pending_ = true;
        return true;
    }

    void complete_input(const status& s) {
        has_pending_ = false;
        const double ms = pending_.work_ms;  // time inside forward passes (a paused pass spans several steps)
        if (pending_.prefill) {
            stats_.prefill_ms += ms;
            if (s.code() == status_code::cancelled) return finish(stop_reason::cancelled, s);
            if (!s.ok()) return finish(s.code() == status_code::limit_exceeded ? stop_reason::context_full : stop_reason::error, s);
            prefill_at_ += static_cast<std::size_t>(pending_.n_tokens);
            if (pending_.want_logits) state_ = reasoner_state::thinking;
            return;
        }
        (pending_.thinking ? stats_.think_ms : stats_.answer_ms) += ms;
        if (s.code() == status_code::cancelled) {
            generated_.resize(generated_.size() - static_cast<std::size_t>(pending_.n_tokens));  // not in the cache
            return finish(stop_reason::cancelled, s);
        }
        if (!s.ok()) return finish(stop_reason::error, s);
    }

    result<std::int32_t> sample_token(bool masked) {
        const std::size_t n = static_cast<std::size_t>(session_.n_vocab());
        const float* logits = session_.logits();
        if (masked) {
            scratch_.assign(logits, logits + n);
            NOGGIN_TRY(grammar_.apply_mask(scratch_.data(), n));
            logits = scratch_.data();
        }
        return sampler_.sample(logits, n, session_.random());
    }

    session session_;
    const text::tokenizer* tok_ = nullptr;        // not owned
    const text::chat_template* chat_ = nullptr;   // not owned
    reasoner_params params_{};
    sample::sampler sampler_{};
    // The reasoner_group this is a member of (set by its add / remove; run/group.hpp), type-erased so that
    // this header does not need group.hpp.
    void* group_ = nullptr;
    void (*leave_group_)(void* group, reasoner& r) = nullptr;
    std::int32_t think_end_ = -1;                 // id of </think>
    std::vector<text::chat_message> messages_;    // the conversation (assistant turns hold thoughts</think>answer)
    reasoner_state state_ = reasoner_state::idle;
    std::vector<std::int32_t> prefill_;           // this turn's tokens after the reused prefix
    std::size_t prefill_at_ = 0;                  // how many of them are in the cache
    std::deque<std::int32_t> forced_;             // tokens to feed without sampling
    std::vector<std::int32_t> generated_;         // this turn's generated tokens (sampled and forced)
    std::string utf8_pending_;                    // bytes of an incomplete UTF-8 character (0..3)
    std::string hold_;                            // answer text that may begin a stop string
    std::string thinking_text_, answer_text_;     // this turn's text so far
    bool answer_started_ = false;                 // leading blank lines after </think> skipped
    sample::grammar_state grammar_;               // valid only while answering with a grammar
    std::vector<float> scratch_;                  // masked logits
    turn_stats stats_{};
    status last_status_{};
    struct pending_input {                        // what prepare_input() chose to feed next
        bool prefill = false;                     // a prompt chunk (else one generated token)
        bool thinking = false;                    // the token was generated while thinking
        const std::int32_t* tokens = nullptr;     // into prefill_, or &token
        std::int64_t n_tokens = 0;
        bool want_logits = true;                  // the last prompt chunk, or a token
        std::int32_t token = -1;
        std::vector<std::int32_t> multi;          // end_thinking_now(): the pending token + the forced close
        std::chrono::steady_clock::time_point t0; // when the unit of work was chosen
        double work_ms = 0;                       // time inside its forward pass(es) so far (phase timings)
    } pending_;
    bool has_pending_ = false;                    // pending_ is chosen but not yet fed (or its pass is paused)
    std::atomic<bool> cancel_{false}, end_thinking_{false}, busy_{false};
    std::atomic<bool> end_interruptible_{false};  // the pass in flight is a thinking token's (see interruptible())
    std::chrono::steady_clock::duration chunk_prepare_time_{};  // the last prepare_input() that chose a prompt chunk
    std::chrono::steady_clock::duration token_prepare_time_{};  // recent prepare_input() that chose a token (sampling)
    std::mutex queue_mu_;
    std::deque<event> queue_;
};

}  // namespace noggin::run
