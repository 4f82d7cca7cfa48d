// noggin/cpu/matmul.hpp — y = W·x for a batch of activation columns, split over rows on the thread pool.
//
//     // W: tensor_view with ne = {k, rows} (any dtype); x: n_cols columns of k floats; y: n_cols × rows.
//     std::vector<unsigned char> work(noggin::cpu::matmul_work_bytes(W.type, k, n_cols));
//     noggin::status st = noggin::cpu::matmul(W, x, n_cols, y, work.data(), work.size(), pool);
//
//     // Several matmuls sharing one input (Q/K/V, gate/up): quantize once, then reuse.
//     noggin::cpu::quantize_columns(noggin::cpu::vec_dot_type(Wq.type), x, n_cols, k, work.data(), pool);
//     noggin::cpu::matmul_quantized(Wq, work.data(), n_cols, yq, pool);
//     noggin::cpu::matmul_quantized(Wk, work.data(), n_cols, yk, pool);  // same vec_dot_type required
//
// Sections: layouts and scratch · activation quantization · dynamic scheduling (run_dynamic, tile
//           control: per-tile interrupt, deadline and resume for pausable passes) · the blocked kernel ·
//           entry points · scalar reference
//
// Layouts (GGUF's): W is `rows` rows of `k` elements (ne = {k, rows}, rows nb[1] bytes apart); x holds
// column c at x + c·k (ne = {k, n_cols}); y holds column c at y + c·rows (ne = {rows, n_cols}).
// Activations are quantized once per matmul into vec_dot_type(W) (Q8_1 / Q8_K, or used as f32 for float
// weights) and reused by every row. Work is split into tiles of rows; within a tile, columns are walked
// in blocks so a tile's weight rows stay in L1/L2 while each column block is read once per tile.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "../core/dtype.hpp"
#include "../core/hooks.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "dot.hpp"
#include "quants.hpp"

namespace noggin {
namespace cpu {

// --- layouts and scratch -----------------------------------------------------------------------------------

// Bytes of one activation column of k elements in format `act`.
inline std::size_t activation_row_bytes(dtype act, std::int64_t k) {
    const dtype_traits& info = dtype_info(act);
    return static_cast<std::size_t>(k / info.block_elements) * info.block_bytes;
}

// Scratch `matmul` needs for weights of type `w`, k inputs and n_cols columns (0 for float weights).
inline std::size_t matmul_work_bytes(dtype w, std::int64_t k, std::int64_t n_cols) {
    const dtype act = vec_dot_type(w);
    if (act == dtype::f32) return 0;
    return activation_row_bytes(act, k) * static_cast<std::size_t>(n_cols);
}

// --- activation quantization -------------------------------------------------------------------------------

namespace detail {
struct quantize_columns_job {
    dtype act;
    const float* x;
    std::int64_t k;
    unsigned char* out;
    std::size_t out_stride;
};
inline void quantize_columns_task(void* ctx, std::size_t begin, std::size_t end, std::size_t) {
    const quantize_columns_job& j = *static_cast<const quantize_columns_job*>(ctx);
    for (std::size_t c = begin; c < end; ++c)
        quantize_activations(j.act, j.x + static_cast<std::int64_t>(c) * j.k, j.out + c * j.out_stride, j.k);
}
}  // namespace detail

// Quantize n_cols columns of k floats into `act` (k a whole number of its blocks), columns
// activation_row_bytes(act, k) apart in `out`. Split over columns on the pool.
inline void quantize_columns(dtype act, const float* x, std::int64_t n_cols, std::int64_t k, void* out,
                             const thread_pool& pool) {
    detail::quantize_columns_job job{act, x, k, static_cast<unsigned char*>(out), activation_row_bytes(act, k)};
    if (n_cols == 1) {
        detail::quantize_columns_task(&job, 0, 1, 0);
        return;
    }
    pool.run(static_cast<std::size_t>(n_cols), detail::quantize_columns_task, &job);
}

// --- dynamic scheduling ---------------------------------------------------------------------------------------

namespace detail {
// The items of a run_dynamic call still to do after a pause: up to max_parts intervals [begin, end).
// count == 0 means none recorded: a call starts on all of [0, n).
struct tile_ranges {
    static constexpr std::size_t max_parts = 64;
    std::size_t count = 0;
    std::uint32_t begin[max_parts] = {}, end[max_parts] = {};
};

// A caller's hold on the tiles of its next run_dynamic call, installed on the calling thread with
// scoped_tile_control (model/forward.hpp installs one around each operation of a pausable pass). With a
// control active, run_dynamic schedules like it does without one (one contiguous range per pool part,
// stealing from the back: each thread reads its weights as one stream) but only over the intervals in
// `resume` (done by an earlier call: everything else), in takes of about `take_ns` of predicted work (one
// item when nothing is known yet; a decode matmul tile is ~1 µs, a prefill GEMM tile ~0.1–1 ms). Before
// each take a worker asks `interrupt` and shortens the take — or stops — so that it is not predicted
// (mean time per item so far in this call; est_tile_ns before any) to end after `deadline_ns`. So an
// interrupt stops the call within one take. Items handed out are always finished: after a stopped call,
// `left` holds what is not done (pass it as `resume` to the next call). A control applies to the first
// run_dynamic call made under it only (later calls under the same scope run unchecked): a kernel with
// several run_dynamic phases whose later phases read an earlier one's scratch must run only its last
// phase under a control (scratch would be lost on a pause), e.g. by wrapping the earlier phases in
// suspend_tile_control.
struct tile_control {
    // in
    const tile_ranges* resume = nullptr;         // items left by a stopped call (nullptr or count 0: all)
    bool (*interrupt)(void* user) = nullptr;     // called by every worker before each take (any thread); true stops
    void* interrupt_user = nullptr;
    std::int64_t deadline_ns = INT64_MAX;        // steady_clock nanoseconds; INT64_MAX = none
    std::int64_t est_tile_ns = 0;                // predicted time of one item before any has run (0 = unknown)
    bool must_progress = false;                  // run at least one item whatever the deadline says
    std::int64_t take_ns = 50000;                // work per take (and per interrupt check), nanoseconds
    // out (valid after the call)
    tile_ranges left;                            // items not done (count 0: the call completed)
    std::size_t n = 0;                           // items of the call
    bool stopped = false;                        // left.count > 0: the interrupt or the deadline stopped the call
    bool interrupted = false;                    // the interrupt (not the deadline) stopped it
    int calls = 0;                               // run_dynamic calls made under this control
    std::atomic<std::int64_t> run_ns{0};         // total time of the items run in this call (all workers)
    std::atomic<std::size_t> run_items{0};       // items run in this call
};
inline tile_control*& current_tile_control() {
    static thread_local tile_control* c = nullptr;
    return c;
}
// Installs `c` for the run_dynamic calls of this thread while it lives.
struct scoped_tile_control {
    tile_control* saved;
    explicit scoped_tile_control(tile_control* c) : saved(current_tile_control()) { current_tile_control() = c; }
    ~scoped_tile_control() { current_tile_control() = saved; }
    scoped_tile_control(const scoped_tile_control&) = delete;
    scoped_tile_control& operator=(const scoped_tile_control&) = delete;
};
// No control for the run_dynamic calls of this thread while it lives (phases that must not pause).
struct suspend_tile_control : scoped_tile_control {
    suspend_tile_control() : scoped_tile_control(nullptr) {}
};
inline std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Without a tile control: items [0, n) split into one contiguous range per pool part. A part's thread
// walks its range front to back (guided: a quarter of what is left per take), so each thread reads its
// weights as one sequential stream; a thread whose range is empty takes half of what is left from the
// BACK of another range, so a worker that starts late (a busy machine, a preempted thread) leaves no work
// waiting for it. Why not chunks from one shared counter: two threads taking turns every few hundred KiB
// restart the hardware prefetcher at every chunk (measured 2026-11-30, F16 8960 × 1536 from DRAM, 2
// threads: 288 KiB chunks −8 %, 96 KiB −25 % against contiguous halves). Which thread runs an item never
// changes its result.
struct range_job {
    static constexpr std::size_t max_parts = tile_ranges::max_parts;
    struct alignas(64) range {
        std::atomic<std::uint64_t> front_back{0};  // front (items taken from the front) | back << 32
    };
    range ranges[max_parts];
    std::size_t parts = 0;
    parallel_task task = nullptr;
    void* ctx = nullptr;
    // With a tile control (nullptr: no checks):
    tile_control* ctl = nullptr;
    std::atomic<bool> stop{false};         // a worker saw the interrupt or the deadline
    std::atomic<bool> interrupted{false};
    std::atomic<bool> took{false};         // some item was handed out in this call
};
// Take items from range r: from the front (`own`: a quarter of what is left) or from the back (half), at
// most `cap`, at least 1. False when it is empty.
inline bool range_take(range_job::range& r, bool own, std::uint64_t cap, std::size_t* begin, std::size_t* end) {
    std::uint64_t c = r.front_back.load(std::memory_order_relaxed);
    for (;;) {
        const std::uint64_t f = c & 0xffffffffu, b = c >> 32;
        if (f >= b) return false;
        const std::uint64_t t = std::max<std::uint64_t>(1, std::min(cap, (b - f) / (own ? 4 : 2)));
        const std::uint64_t next = own ? (f + t) | (b << 32) : f | ((b - t) << 32);
        if (r.front_back.compare_exchange_weak(c, next, std::memory_order_relaxed, std::memory_order_relaxed)) {
            *begin = static_cast<std::size_t>(own ? f : b - t);
            *end = static_cast<std::size_t>(own ? f + t : b);
            return true;
        }
    }
}
// How many items the next take may hold under the job's control (UINT64_MAX without one); 0: stop now.
inline std::uint64_t take_cap(range_job& j, std::int64_t now) {
    tile_control* c = j.ctl;
    if (c == nullptr) return UINT64_MAX;
    if (j.stop.load(std::memory_order_relaxed)) return 0;
    if (c->interrupt != nullptr && c->interrupt(c->interrupt_user)) {
        j.interrupted.store(true, std::memory_order_relaxed);
        j.stop.store(true, std::memory_order_relaxed);
        return 0;
    }
    const std::size_t ran = c->run_items.load(std::memory_order_relaxed);
    const std::int64_t est = ran > 0 ? c->run_ns.load(std::memory_order_relaxed) / static_cast<std::int64_t>(ran) : c->est_tile_ns;
    std::uint64_t cap = est > 0 ? static_cast<std::uint64_t>(std::max<std::int64_t>(1, c->take_ns / est)) : 1;
    if (c->deadline_ns != INT64_MAX) {
        const std::int64_t left = c->deadline_ns - now;
        const bool first_item = c->must_progress && !j.took.load(std::memory_order_relaxed);
        if (!first_item && est >= left) {
            j.stop.store(true, std::memory_order_relaxed);
            return 0;
        }
        if (est > 0) cap = std::min(cap, static_cast<std::uint64_t>(std::max<std::int64_t>(left, 0) / est));
        cap = std::max<std::uint64_t>(cap, 1);
    }
    return cap;
}
// Run one take [b, e) (timed for the control's predictions).
inline void range_run(range_job& j, std::size_t b, std::size_t e, std::size_t worker, std::int64_t t0) {
    if (j.ctl != nullptr) j.took.store(true, std::memory_order_relaxed);
    j.task(j.ctx, b, e, worker);
    if (j.ctl != nullptr) {
        j.ctl->run_ns.fetch_add(steady_ns() - t0, std::memory_order_relaxed);
        j.ctl->run_items.fetch_add(e - b, std::memory_order_relaxed);
    }
}
inline void range_task(void* p, std::size_t part_begin, std::size_t part_end, std::size_t worker) {
    range_job& j = *static_cast<range_job*>(p);
    std::size_t b, e;
    for (std::size_t part = part_begin; part < part_end; ++part) {
        for (;;) {
            const std::int64_t t0 = j.ctl != nullptr ? steady_ns() : 0;
            const std::uint64_t cap = take_cap(j, t0);
            if (cap == 0 || !range_take(j.ranges[part], true, cap, &b, &e)) break;
            range_run(j, b, e, worker, t0);
        }
    }
    for (std::size_t i = 1; i < j.parts; ++i) {  // then the others' ranges, from their backs
        range_job::range& r = j.ranges[(part_begin + i) % j.parts];
        for (;;) {
            const std::int64_t t0 = j.ctl != nullptr ? steady_ns() : 0;
            const std::uint64_t cap = take_cap(j, t0);
            if (cap == 0) return;
            if (!range_take(r, false, cap, &b, &e)) break;
            range_run(j, b, e, worker, t0);
        }
    }
}

// Without a control and with more than 64 pool parts: chunks of `grain` items from one counter.
struct counter_job {
    std::atomic<std::size_t> next{0};
    std::size_t n = 0, grain = 1;
    parallel_task task = nullptr;
    void* ctx = nullptr;
};
inline void counter_task(void* p, std::size_t, std::size_t, std::size_t worker) {
    counter_job& j = *static_cast<counter_job*>(p);
    for (;;) {
        const std::size_t b = j.next.fetch_add(j.grain, std::memory_order_relaxed);
        if (b >= j.n) return;
        j.task(j.ctx, b, std::min(b + j.grain, j.n), worker);
    }
}
// Run task over [0, n) on the pool: one contiguous range per part with stealing from the back (range_job),
// under a tile_control (see above) over the intervals it resumes, with its checks and at most 64 parts;
// without a control and with more than 64 parts (or n ≥ 2^32), chunks of about n / (8 · concurrency) items
// from one counter.
inline void run_dynamic(const thread_pool& pool, std::size_t n, parallel_task task, void* ctx) {
    tile_control* c = current_tile_control();
    if (c != nullptr && c->calls++ > 0) c = nullptr;  // a control holds the first call only
    const bool serial = pool.parallel_for == nullptr || pool.concurrency <= 1;
    if (c == nullptr && (n == 0 || serial)) {
        if (n > 0) task(ctx, 0, n, 0);
        return;
    }
    const bool wide = n >= (std::size_t{1} << 32);  // beyond the ranges' 32-bit bounds (never a real tile count)
    if (c != nullptr && wide) {  // run unchecked
        c->n = n, c->left = tile_ranges{}, c->stopped = c->interrupted = false;
        c = nullptr;
    }
    if (c == nullptr && (wide || pool.concurrency > range_job::max_parts)) {
        counter_job j;
        j.n = n;
        j.grain = std::max<std::size_t>(1, n / (8 * pool.concurrency));
        j.task = task;
        j.ctx = ctx;
        pool.run(std::min(pool.concurrency, (n + j.grain - 1) / j.grain), counter_task, &j);
        return;
    }
    range_job j;
    j.task = task;
    j.ctx = ctx;
    j.ctl = c;
    const std::size_t workers = serial ? 1 : std::min(pool.concurrency, range_job::max_parts);
    // The intervals to run: what the control resumes (clipped to [0, n)), or all of [0, n) — then split,
    // the largest in halves, until every worker has one.
    tile_ranges todo;
    if (c != nullptr && c->resume != nullptr && c->resume->count > 0) {
        for (std::size_t i = 0; i < c->resume->count && i < tile_ranges::max_parts; ++i) {
            const std::size_t b = std::min<std::size_t>(c->resume->begin[i], n), e = std::min<std::size_t>(c->resume->end[i], n);
            if (b < e) todo.begin[todo.count] = static_cast<std::uint32_t>(b), todo.end[todo.count++] = static_cast<std::uint32_t>(e);
        }
    } else if (n > 0) {
        todo.begin[0] = 0, todo.end[0] = static_cast<std::uint32_t>(n), todo.count = 1;
    }
    while (todo.count > 0 && todo.count < workers) {
        std::size_t w = 0;
        for (std::size_t i = 1; i < todo.count; ++i)
            if (todo.end[i] - todo.begin[i] > todo.end[w] - todo.begin[w]) w = i;
        if (todo.end[w] - todo.begin[w] < 2) break;
        const std::uint32_t mid = todo.begin[w] + (todo.end[w] - todo.begin[w]) / 2;
        for (std::size_t i = todo.count; i > w + 1; --i) todo.begin[i] = todo.begin[i - 1], todo.end[i] = todo.end[i - 1];
        todo.begin[w + 1] = mid, todo.end[w + 1] = todo.end[w], todo.end[w] = mid;
        ++todo.count;
    }
    j.parts = todo.count;
    for (std::size_t p = 0; p < j.parts; ++p)
        j.ranges[p].front_back.store(todo.begin[p] | static_cast<std::uint64_t>(todo.end[p]) << 32, std::memory_order_relaxed);
    if (j.parts > 0) {
        if (serial) range_task(&j, 0, j.parts, 0);
        else pool.run(j.parts, range_task, &j);
    }
    if (c == nullptr) return;
    c->n = n;
    c->left = tile_ranges{};
    for (std::size_t p = 0; p < j.parts; ++p) {
        const std::uint64_t fb = j.ranges[p].front_back.load(std::memory_order_relaxed);
        const std::uint32_t f = static_cast<std::uint32_t>(fb & 0xffffffffu), b = static_cast<std::uint32_t>(fb >> 32);
        if (f < b) c->left.begin[c->left.count] = f, c->left.end[c->left.count++] = b;
    }
    c->stopped = c->left.count > 0;
    c->interrupted = c->stopped && j.interrupted.load(std::memory_order_relaxed);
}
}  // namespace detail

// --- the blocked kernel ----------------------------------------------------------------------------------------

namespace detail {
constexpr std::int64_t matmul_tile_rows = 16;  // rows per parallel work item
constexpr std::int64_t matmul_tile_cols = 8;   // columns walked together within a row tile

struct matmul_job {
    vec_dot_fn dot;
    vec_dot4_fn dot4;        // 4-row kernel (bit-equal to 4 dot calls) or nullptr
    const unsigned char* w;
    std::uint64_t w_stride;  // bytes between weight rows
    std::int64_t rows, k;
    const unsigned char* x;  // activations in vec_dot_type format
    std::size_t x_stride;    // bytes between activation columns
    std::int64_t n_cols;
    float* y;
    // One Q8_0 column with its side data (vec_dot_q8_0_side), or nullptr: the generic dots.
    const std::int32_t* q8_side_c = nullptr;
    const float* q8_side_d = nullptr;
};

// Side data of one Q8_1 column for Q8_0 weights (decode), on the caller's stack: rows up to
// q8_side_max_blocks · 32 elements; longer rows use the generic dot.
constexpr std::int64_t q8_side_max_blocks = 1024;
struct q8_side_buffer {
    alignas(64) std::int32_t c[q8_side_max_blocks];
    alignas(64) float d[q8_side_max_blocks];
};
// Point `j` at side data for its column when its weights are Q8_0, it has one column and the data is
// computed here (once, into `buf`, shared by every job of a group: `*filled`).
inline void use_q8_side(matmul_job& j, dtype w, q8_side_buffer& buf, bool* filled) {
#if NOGGIN_CPU_Q8_0_SIDE
    if (w != dtype::q8_0 || j.n_cols != 1 || j.k / 32 > q8_side_max_blocks) return;
    if (!*filled) q8_0_side(reinterpret_cast<const block_q8_1*>(j.x), j.k / 32, buf.c, buf.d);
    *filled = true;
    j.q8_side_c = buf.c;
    j.q8_side_d = buf.d;
#else
    (void)j, (void)w, (void)buf, (void)filled;
#endif
}

inline void matmul_tile(const matmul_job& j, std::size_t tile) {
    const std::int64_t r0 = static_cast<std::int64_t>(tile) * matmul_tile_rows;
    const std::int64_t r1 = std::min(r0 + matmul_tile_rows, j.rows);
#if NOGGIN_CPU_Q8_0_SIDE
    if (j.q8_side_c != nullptr) {
        for (std::int64_t r = r0; r < r1; ++r)
            j.y[r] = vec_dot_q8_0_side(j.k, j.w + static_cast<std::uint64_t>(r) * j.w_stride, j.x, j.q8_side_c, j.q8_side_d);
        return;
    }
#endif
    for (std::int64_t c0 = 0; c0 < j.n_cols; c0 += matmul_tile_cols) {
        const std::int64_t c1 = std::min(c0 + matmul_tile_cols, j.n_cols);
        std::int64_t r = r0;
        if (j.dot4 != nullptr) {
            for (; r + 4 <= r1; r += 4) {
                const unsigned char* wr = j.w + static_cast<std::uint64_t>(r) * j.w_stride;
                for (std::int64_t c = c0; c < c1; ++c)
                    j.dot4(j.k, wr, static_cast<std::size_t>(j.w_stride), j.x + static_cast<std::size_t>(c) * j.x_stride,
                           j.y + c * j.rows + r);
            }
        }
        for (; r < r1; ++r) {
            const unsigned char* wr = j.w + static_cast<std::uint64_t>(r) * j.w_stride;
            for (std::int64_t c = c0; c < c1; ++c)
                j.y[c * j.rows + r] = j.dot(j.k, wr, j.x + static_cast<std::size_t>(c) * j.x_stride);
        }
    }
}

inline void matmul_task(void* ctx, std::size_t begin, std::size_t end, std::size_t) {
    const matmul_job& j = *static_cast<const matmul_job*>(ctx);
    for (std::size_t tile = begin; tile < end; ++tile) matmul_tile(j, tile);
}

inline std::size_t matmul_tiles(std::int64_t rows) {
    return static_cast<std::size_t>((rows + matmul_tile_rows - 1) / matmul_tile_rows);
}

// Several matmuls on one input, their row tiles numbered one after another so one parallel_for (one
// barrier) runs them all.
constexpr int matmul_group_max = 4;
struct matmul_group_job {
    matmul_job jobs[matmul_group_max];
    std::size_t first_tile[matmul_group_max + 1];  // tile numbers of job i: [first_tile[i], first_tile[i+1])
    int count;
};

inline void matmul_group_task(void* ctx, std::size_t begin, std::size_t end, std::size_t) {
    const matmul_group_job& g = *static_cast<const matmul_group_job*>(ctx);
    int i = 0;
    for (std::size_t tile = begin; tile < end; ++tile) {
        while (tile >= g.first_tile[i + 1]) ++i;
        matmul_tile(g.jobs[i], tile - g.first_tile[i]);
    }
}
}  // namespace detail

// --- entry points ---------------------------------------------------------------------------------------------------

// y = W·x with activations already in vec_dot_type(W.type) (columns activation_row_bytes apart, as
// quantize_columns writes them; plain f32 columns for float weights). W must be 2-D (ne[2] = ne[3] = 1).
inline status matmul_quantized(const tensor_view& w, const void* xq, std::int64_t n_cols, float* y,
                               const thread_pool& pool) {
    const std::int64_t k = w.ne[0], rows = w.ne[1];
    if (w.ne[2] != 1 || w.ne[3] != 1) return status(status_code::invalid_argument, "matmul: weight must be 2-D");
    if (k <= 0 || rows <= 0 || n_cols < 0 || w.data == nullptr || (n_cols > 0 && (xq == nullptr || y == nullptr)))
        return status(status_code::invalid_argument, "matmul: empty or null operand");
    const dtype act = vec_dot_type(w.type);
    if (k % dtype_info(w.type).block_elements != 0 || k % dtype_info(act).block_elements != 0)
        return status(status_code::invalid_argument,
                      str("matmul: row length ", k, " is not a whole number of ", dtype_name(w.type), " blocks"));
    if (n_cols == 0) return status();
    detail::matmul_job job{vec_dot_function(w.type),
                           vec_dot4_function(w.type),
                           static_cast<const unsigned char*>(w.data),
                           w.nb[1],
                           rows,
                           k,
                           static_cast<const unsigned char*>(xq),
                           act == dtype::f32 ? static_cast<std::size_t>(k) * sizeof(float) : activation_row_bytes(act, k),
                           n_cols,
                           y};
    detail::q8_side_buffer side;
    bool side_filled = false;
    detail::use_q8_side(job, w.type, side, &side_filled);
    detail::run_dynamic(pool, detail::matmul_tiles(rows), detail::matmul_task, &job);
    return status();
}

// y_i = W_i·x for `count` (≤ 4) weights sharing one input already in their common vec_dot_type (as
// matmul_quantized; all W_i must have the same ne[0] and vec_dot_type), in one parallel_for: one barrier
// instead of `count` (Q/K/V, gate/up). Results are bit-equal to separate matmul_quantized calls.
inline status matmul_quantized_group(const tensor_view* const* w, float* const* y, int count, const void* xq,
                                     std::int64_t n_cols, const thread_pool& pool) {
    if (count < 1 || count > detail::matmul_group_max)
        return status(status_code::invalid_argument, "matmul_quantized_group: 1 to 4 weights");
    detail::matmul_group_job g{};
    g.count = count;
    g.first_tile[0] = 0;
    const dtype act = vec_dot_type(w[0]->type);
    for (int i = 0; i < count; ++i) {
        const tensor_view& wi = *w[i];
        const std::int64_t k = wi.ne[0], rows = wi.ne[1];
        if (wi.ne[2] != 1 || wi.ne[3] != 1 || k != w[0]->ne[0] || vec_dot_type(wi.type) != act)
            return status(status_code::invalid_argument, "matmul_quantized_group: weights differ in shape or input format");
        if (k <= 0 || rows <= 0 || n_cols < 0 || wi.data == nullptr || (n_cols > 0 && (xq == nullptr || y[i] == nullptr)))
            return status(status_code::invalid_argument, "matmul: empty or null operand");
        if (k % dtype_info(wi.type).block_elements != 0 || k % dtype_info(act).block_elements != 0)
            return status(status_code::invalid_argument,
                          str("matmul: row length ", k, " is not a whole number of ", dtype_name(wi.type), " blocks"));
        g.jobs[i] = detail::matmul_job{vec_dot_function(wi.type),
                                       vec_dot4_function(wi.type),
                                       static_cast<const unsigned char*>(wi.data),
                                       wi.nb[1],
                                       rows,
                                       k,
                                       static_cast<const unsigned char*>(xq),
                                       act == dtype::f32 ? static_cast<std::size_t>(k) * sizeof(float) : activation_row_bytes(act, k),
                                       n_cols,
                                       y[i]};
        g.first_tile[i + 1] = g.first_tile[i] + detail::matmul_tiles(rows);
    }
    if (n_cols == 0) return status();
    detail::q8_side_buffer side;
    bool side_filled = false;
    for (int i = 0; i < count; ++i) detail::use_q8_side(g.jobs[i], w[i]->type, side, &side_filled);
    detail::run_dynamic(pool, g.first_tile[count], detail::matmul_group_task, &g);
    return status();
}

// y = W·x for n_cols columns of k = W.ne[0] floats. `work` holds matmul_work_bytes(W.type, k, n_cols)
// bytes (may be null when that is 0).
inline status matmul(const tensor_view& w, const float* x, std::int64_t n_cols, float* y, void* work,
                     std::size_t work_bytes, const thread_pool& pool) {
    const std::int64_t k = w.ne[0];
    const dtype act = vec_dot_type(w.type);
    if (act == dtype::f32) return matmul_quantized(w, x, n_cols, y, pool);
    if (k <= 0 || k % dtype_info(act).block_elements != 0)
        return status(status_code::invalid_argument,
                      str("matmul: row length ", k, " is not a whole number of ", dtype_name(act), " blocks"));
    const std::size_t need = matmul_work_bytes(w.type, k, n_cols);
    if (work == nullptr || work_bytes < need)
        return status(status_code::invalid_argument, str("matmul: work buffer holds ", work_bytes, " bytes, needs ", need));
    if (n_cols > 0 && x == nullptr) return status(status_code::invalid_argument, "matmul: null input");
    quantize_columns(act, x, n_cols, k, work, pool);
    return matmul_quantized(w, work, n_cols, y, pool);
}

// --- scalar reference ----------------------------------------------------------------------------------------------

// y = W·x computed one dequantized row at a time in double precision, serially; `row_buf` holds k
// floats. For tests and debugging.
inline void matmul_ref(const tensor_view& w, const float* x, std::int64_t n_cols, float* y, float* row_buf) {
    const std::int64_t k = w.ne[0], rows = w.ne[1];
    for (std::int64_t r = 0; r < rows; ++r) {
        dequantize_row(w.type, w.row(r), row_buf, k);
        for (std::int64_t c = 0; c < n_cols; ++c) {
            double s = 0.0;
            for (std::int64_t i = 0; i < k; ++i) s += static_cast<double>(row_buf[i]) * x[c * k + i];
            y[c * rows + r] = static_cast<float>(s);
        }
    }
}

}  // namespace cpu
}  // namespace noggin
