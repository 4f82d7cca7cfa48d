// noggin/run/group.hpp — many reasoners (NPCs) over one model stepping together: every reasoner that is
// generating gets its next token from ONE batched forward pass (the weights are read once per step for
// all of them, not once per NPC); reasoners still reading their prompt get their prompt chunk in the same
// pass.
//
//     noggin::run::reasoner_group g;                                  // not movable: construct in place
//     noggin::run::reasoner_group_params gp;  gp.pool = pool.hook();
//     noggin::run::reasoner_group::create(g, model, gp);              // status
//     noggin::run::session_params sp;  sp.workspace = &g.scratch();   // optional: members' sessions share the
//                                                                     //   group's scratch (each adds only KV + logits)
//     // ... reasoner::create(npc[i], session::create(model, sp).value(), tok, chat, rp) for each NPC
//     for (auto& r : npc) g.add(r);
//     npc[0].ask("Where is the smith?");  npc[2].ask("Guard the gate.");
//     // once a frame, on the game thread:
//     g.step(std::chrono::microseconds(2000));                        // ~2 ms of work for all members together
//     noggin::run::event e;  while (npc[0].poll(e)) { ... }           // events per reasoner, as when stepped alone
//
// Each member behaves exactly as when stepped alone (reasoner::step): the same thinking budgets, forced
// tokens, "Wait" extensions, grammar, stop strings, events and stats; only the forward pass is shared.
// With greedy sampling the tokens are identical to stepping each alone (logits bit-equal while a pass
// has fewer than cpu::gemm_min_cols = 32 rows; within float rounding when prompt chunks make it larger).
// cancel() and end_thinking_now() work per member from any thread: either stops the shared pass within one
// tile; a cancelled member ends its turn, a member told to end its thoughts re-plans its input (its
// pending token plus the forced close), and the others' inputs run again in the next pass (nothing they
// had was changed). A pass that fails otherwise is re-run member by member, so each member sees the error
// it would have seen alone. step(budget) pauses the shared pass at the budget (as reasoner::step) and the
// next step resumes it while the members' inputs are unchanged (any change — a member stepped alone, a
// cancel — restarts it, with the same results).
//
// Threads: step()/run() of a group and of its members must not overlap; a member may also be stepped
// alone between group steps. Free function form: step_together(members, n, budget, workspace, pool).
//
// Sections: reasoner_group_params · reasoner_group (create, members, step/run) · step_together
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "reasoner.hpp"
#include "session.hpp"

namespace noggin::run {

// --- reasoner_group_params ---------------------------------------------------------------------------------

struct reasoner_group_params {
    std::int64_t max_rows = 64;             // rows (tokens of all members) per internal chunk of a pass (default 64)
    std::int64_t logits_rows = 8;           // members' logits computed per output matmul (default 8; 0 = one matmul per member)
    thread_pool pool{};                     // parallel work inside each pass (default: the caller's thread)
    allocator alloc = default_allocator();  // the shared workspace (default: operator new)
};

// --- reasoner_group -----------------------------------------------------------------------------------------

class reasoner_group {
public:
    reasoner_group() = default;
    reasoner_group(const reasoner_group&) = delete;  // sessions may point at scratch(): never moves
    reasoner_group& operator=(const reasoner_group&) = delete;
    ~reasoner_group() { release_members(); }

    // A group for reasoners over `m` (which must outlive it). Errors: invalid_argument (empty model, bad
    // sizes), out_of_memory.
    static status create(reasoner_group& out, const model::model& m, const reasoner_group_params& p = {}) {
        if (m.empty()) return status(status_code::invalid_argument, "reasoner_group: empty model");
        model::workspace_params wp;
        wp.max_batch = p.max_rows;
        wp.logits_rows = p.logits_rows;
        wp.alloc = p.alloc;
        result<model::workspace> ws = model::workspace::create(m, wp);
        if (!ws.ok()) return ws.status();
        out.model_ = &m;
        out.ws_ = std::move(ws.value());
        out.pool_ = p.pool;
        out.release_members();
        return status();
    }

    // --- members -------------------------------------------------------------------------------------
    // Add a created reasoner over the group's model (not owned; a member destroyed first leaves the group by
    // itself, and a group destroyed first releases its members: either order is safe). Members
    // sample in the group's one sampler scratch (the ≈3 MiB of candidates a 152k vocabulary needs is paid
    // once per group, not per member: they never sample at the same time, see Threads above); a removed
    // member gets buffers of its own again. Errors: invalid_argument (not created, over another model,
    // already a member of this or another group).
    status add(reasoner& r) {
        if (model_ == nullptr) return status(status_code::invalid_argument, "reasoner_group: not created");
        const model::model* rm = r.get_session().get_model();
        if (rm == nullptr) return status(status_code::invalid_argument, "reasoner_group::add: reasoner not created");
        if (rm != model_ && rm->weights().token_embd.data != model_->weights().token_embd.data)
            return status(status_code::invalid_argument, "reasoner_group::add: the reasoner is over another model");
        if (r.group_ != nullptr)  // of this group or another: one group at a time
            return status(status_code::invalid_argument, "reasoner_group::add: already a member of a group");
        members_.push_back(&r);
        r.sampler_.use_scratch(&sampler_scratch_);
        r.sampler_.reserve(static_cast<std::size_t>(r.get_session().n_vocab()));
        r.group_ = this;
        r.leave_group_ = [](void* group, reasoner& member) { static_cast<reasoner_group*>(group)->remove(member); };
        return status();
    }
    // Remove a member (not while stepping); invalid_argument when it is not one.
    status remove(reasoner& r) {
        auto it = std::find(members_.begin(), members_.end(), &r);
        if (it == members_.end()) return status(status_code::invalid_argument, "reasoner_group::remove: not a member");
        members_.erase(it);
        release(r);
        return status();
    }
    std::size_t size() const { return members_.size(); }
    reasoner& member(std::size_t i) const { return *members_[i]; }
    // Members with a turn running (state ≠ idle).
    std::size_t active() const {
        std::size_t n = 0;
        for (const reasoner* r : members_) n += r->state() != reasoner_state::idle ? 1 : 0;
        return n;
    }

    // --- stepping ------------------------------------------------------------------------------------
    // Batched passes until `budget` has passed (the pass in flight pauses there: at least one tile runs,
    // none is started that is predicted to end after the budget) or no member has work. Returns the
    // number of members still working.
    std::size_t step(std::chrono::microseconds budget) {
        return step_impl(members_.data(), members_.size(), budget, ws_, pool_, &stats_);
    }
    // Until every member is idle (async mode: call from a worker, poll() members elsewhere).
    void run() {
        while (step(std::chrono::microseconds(1000000)) > 0) {
        }
    }
    // For the host's job system: thread_pool::run(1, reasoner_group::async_entry, &g) on a worker thread.
    static void async_entry(void* ctx, std::size_t, std::size_t, std::size_t) { static_cast<reasoner_group*>(ctx)->run(); }

    // --- inspection ----------------------------------------------------------------------------------
    // The shared scratch: pass &scratch() as session_params::workspace for members' sessions.
    model::workspace& scratch() { return ws_; }
    void set_pool(const thread_pool& pool) { pool_ = pool; }
    struct pass_stats {
        std::int64_t passes = 0;       // batched forward passes run
        std::int64_t rows = 0;         // tokens fed by them (prompt and generated)
        std::int64_t max_members = 0;  // most members in one pass
    };
    const pass_stats& stats() const { return stats_; }

    // The stepping loop over any set of reasoners (what step() runs on the members). `ws` must be made
    // for their model (or a pass falls back to member-by-member forwarding). Returns members still working.
    static std::size_t step_impl(reasoner* const* rs, std::size_t n, std::chrono::microseconds budget, model::workspace& ws,
                                 const thread_pool& pool, pass_stats* stats = nullptr) {
        using clock = std::chrono::steady_clock;
        const auto deadline = clock::now() + budget;
        std::vector<reasoner*> mem;  // distinct, non-null members
        mem.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            if (rs[i] != nullptr && std::find(mem.begin(), mem.end(), rs[i]) == mem.end()) mem.push_back(rs[i]);
        for (reasoner* r : mem) r->busy_.store(true);
        std::vector<reasoner*> fed;
        std::vector<session_input> in;
        for (;;) {
            fed.clear();
            in.clear();
            for (reasoner* r : mem) {
                const bool fresh = !r->has_pending_;
                const auto p0 = clock::now();
                if (!r->prepare_input()) continue;  // a paused pass's inputs stay as they were: it resumes
                if (fresh) r->note_prepare_time(clock::now() - p0);
                session_input si;
                si.s = &r->session_;
                si.tokens = r->pending_.tokens;
                si.n_tokens = r->pending_.n_tokens;
                si.want_logits = r->pending_.want_logits;
                fed.push_back(r);
                in.push_back(si);
            }
            if (fed.empty()) break;
            model::forward_progress pr;
            const auto t0 = clock::now();
            for (reasoner* r : fed) r->end_interruptible_.store(r->interruptible());
            const status s = forward_together(in.data(), in.size(), ws, pool, &pr, deadline);
            for (reasoner* r : fed) r->end_interruptible_.store(false);
            const double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
            for (reasoner* r : fed) r->pending_.work_ms += ms;
            if (s.ok() && !pr.done) {
                if (!pr.interrupted) break;  // the deadline: the next step resumes the pass
                continue;                    // a member's end_thinking_now(): it re-plans its input
            }
            if (stats != nullptr) {
                ++stats->passes;
                for (const session_input& si : in) stats->rows += si.n_tokens;
                stats->max_members = std::max<std::int64_t>(stats->max_members, static_cast<std::int64_t>(in.size()));
            }
            if (s.ok()) {
                for (reasoner* r : fed) r->complete_input(s);
            } else if (s.code() == status_code::cancelled) {
                // The cancelled members end their turns; the others' inputs stay pending for the next pass.
                bool any = false;
                for (reasoner* r : fed) any = any || r->cancel_.load();
                for (reasoner* r : fed)
                    if (!any || r->cancel_.load()) r->complete_input(s);
            } else {
                for (reasoner* r : fed) r->complete_input(r->feed_alone());  // each sees its own error
            }
            // The next pass starts with every member's sampling (not pausable): only when predicted to fit.
            clock::duration prep{};
            for (reasoner* r : mem) prep += r->next_prepare_time();
            if (clock::now() + prep >= deadline) break;
        }
        std::size_t working = 0;
        for (reasoner* r : mem) {
            working += r->state() != reasoner_state::idle ? 1 : 0;
            r->busy_.store(false);
        }
        return working;
    }

private:
    static void release(reasoner& r) {
        r.sampler_.use_scratch(nullptr);  // (grown again on its first sample: this also runs in destructors)
        r.group_ = nullptr;
        r.leave_group_ = nullptr;
    }
    void release_members() {
        for (reasoner* r : members_) release(*r);
        members_.clear();
    }

    const model::model* model_ = nullptr;  // not owned
    model::workspace ws_;                  // shared scratch of every pass
    thread_pool pool_{};
    std::vector<reasoner*> members_;       // not owned
    sample::sampler_scratch sampler_scratch_;  // the members' shared sampler buffers
    pass_stats stats_{};
};

// --- step_together ----------------------------------------------------------------------------------------

// Step n reasoners together for about `budget` (see reasoner_group::step) with the caller's workspace
// (made for their model; workspace_params::logits_rows ≥ n computes all logits in one output matmul).
// Returns the number still working.
inline std::size_t step_together(reasoner* const* rs, std::size_t n, std::chrono::microseconds budget, model::workspace& ws,
                                 const thread_pool& pool = {}) {
    return reasoner_group::step_impl(rs, n, budget, ws, pool);
}

}  // namespace noggin::run
