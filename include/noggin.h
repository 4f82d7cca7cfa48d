/* noggin.h — the C API of noggin: load a reasoning model, let it think, read its thoughts and answer.
 *
 * C99 (also valid C++), for C hosts and for bindings (C# P/Invoke, GDExtension, Unreal plugins). Every
 * object is an opaque handle with a create/destroy pair; every option struct is valid when zeroed; every
 * callback is a function pointer plus `void* user`. No C++ exception or type crosses this boundary.
 *
 *     // In exactly ONE C++ (C++17) source file of the host:   (or link the `noggin_c` CMake target)
 *     #define NOGGIN_IMPLEMENTATION
 *     #include <noggin.h>
 *
 *     // Anywhere, in C or C++:
 *     #include <noggin.h>
 *     noggin_model* model = NULL;
 *     if (noggin_model_load_file("noggin-tiny-reasoner.gguf", NULL, &model) != NOGGIN_STATUS_OK) {
 *         fprintf(stderr, "%s\n", noggin_last_error());       // why, on this thread
 *         return 1;
 *     }
 *     noggin_reasoner_desc rd = {0};                           // all zero = defaults
 *     rd.temperature = NOGGIN_GREEDY;
 *     noggin_reasoner* r = NULL;
 *     noggin_reasoner_create(model, NULL, &rd, &r);
 *     noggin_reasoner_ask(r, "What is 4821+937?");
 *     noggin_reasoner_state state;
 *     do {
 *         state = noggin_reasoner_step(r, 2000);                 // once a frame: ~2 ms of work
 *         noggin_event e;
 *         while (noggin_reasoner_poll(r, &e))                    // the thoughts, then the answer, then DONE
 *             if (e.type != NOGGIN_EVENT_DONE) printf("%s", e.text);
 *     } while (state != NOGGIN_REASONER_IDLE);                   // IDLE: the turn is over
 *     noggin_reasoner_destroy(r);
 *     noggin_model_destroy(model);
 *
 * Sections: version and export macros · basic types (status, log, callbacks) · version and errors ·
 *           model (load from path / memory / read callback, info, tokens) · session (KV cache, logits,
 *           save/restore) · reasoner (events, budgets, stepping, cancel, save/restore) · implementation
 *
 * Errors. Functions that can fail return a noggin_status. Every such call also records its outcome in a
 * THREAD-LOCAL last error: noggin_last_error() gives the message of the most recent status-returning call
 * on the calling thread ("" after a success). Functions that return something else (a pointer, a count,
 * a state) do not touch it. The error that ends a reasoner's turn (which may run on a worker thread) is
 * kept PER REASONER: noggin_reasoner_turn_status(). A NULL handle or output pointer is never dereferenced:
 * it gives NOGGIN_STATUS_INVALID_ARGUMENT (or a neutral value for non-status functions).
 *
 * Versioned structs. Every *_desc, *_info and *_stats struct starts with `uint32_t struct_size`. 0 means "the
 * version this header describes"; a size smaller than the current one is read as an older version of the
 * struct (fields past it take their defaults); a size larger than this build knows is refused with
 * NOGGIN_STATUS_INVALID_ARGUMENT (a newer header than the compiled library), never read past.
 *
 * Threads. noggin starts no thread unless asked (noggin_session_desc.n_threads > 1). A model is immutable
 * after loading and may be shared by any number of sessions and reasoners on any threads. A session or
 * reasoner is used by one thread at a time, except the calls marked "any thread".
 *
 * Strings are UTF-8 and NUL-terminated unless a length is passed. Booleans are `int` (0 = false), which
 * is what P/Invoke marshals by default. On 32-bit Windows, declare the P/Invoke calls Cdecl.
 */
#ifndef NOGGIN_H
#define NOGGIN_H

#include <stddef.h>
#include <stdint.h>

/* --- version and export macros ----------------------------------------------------------------------- */

#define NOGGIN_VERSION_MAJOR 0
#define NOGGIN_VERSION_MINOR 1
#define NOGGIN_VERSION_PATCH 0
#define NOGGIN_VERSION_STRING "0.1.0"
/* One number for comparisons: (major << 16) | (minor << 8) | patch; noggin_version() returns the same. */
#define NOGGIN_VERSION ((NOGGIN_VERSION_MAJOR << 16) | (NOGGIN_VERSION_MINOR << 8) | NOGGIN_VERSION_PATCH)

/* NOGGIN_API marks every function. Static linking or one TU in the host: nothing to do. Shared library
 * (DLL / .so with hidden visibility): define NOGGIN_SHARED both where the library is built (the TU with
 * NOGGIN_IMPLEMENTATION exports) and where it is used (imports). A host may define NOGGIN_API itself. */
#ifndef NOGGIN_API
#if defined(NOGGIN_SHARED)
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(NOGGIN_IMPLEMENTATION)
#define NOGGIN_API __declspec(dllexport)
#else
#define NOGGIN_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define NOGGIN_API __attribute__((visibility("default")))
#else
#define NOGGIN_API
#endif
#else
#define NOGGIN_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* --- basic types ---------------------------------------------------------------------------------------- */

/* What kind of failure happened; noggin_last_error() / noggin_reasoner_turn_status() say what and where.
 * Values 0..10 mirror the C++ noggin::status_code. */
typedef enum noggin_status {
    NOGGIN_STATUS_OK = 0,
    NOGGIN_STATUS_INVALID_ARGUMENT = 1, /* NULL pointer, bad option, object busy or in the wrong state */
    NOGGIN_STATUS_IO_ERROR = 2,         /* open/read/map failed, or a read callback returned 0 */
    NOGGIN_STATUS_FORMAT_ERROR = 3,     /* bytes are not a valid file (truncated, hostile, tampered) */
    NOGGIN_STATUS_UNSUPPORTED = 4,      /* valid but not supported (architecture, dtype, state version) */
    NOGGIN_STATUS_OUT_OF_MEMORY = 5,    /* an allocation failed */
    NOGGIN_STATUS_OUT_OF_RANGE = 6,     /* an index, position or token id beyond what the object holds */
    NOGGIN_STATUS_LIMIT_EXCEEDED = 7,   /* a safety cap or the context size was reached */
    NOGGIN_STATUS_DEVICE_ERROR = 8,     /* the GPU backend failed */
    NOGGIN_STATUS_CANCELLED = 9,        /* the host asked to stop (cancel, progress callback returned 0) */
    NOGGIN_STATUS_INTERNAL = 10,        /* a noggin bug; please report it */
    NOGGIN_STATUS_BUFFER_TOO_SMALL = 11, /* the caller's buffer is too small; the needed size was written */
    NOGGIN_STATUS_FORCE_32BIT = 0x7fffffff
} noggin_status;

/* Log severities. 0 in a desc's log_min_level means NOGGIN_LOG_INFO. */
typedef enum noggin_log_level {
    NOGGIN_LOG_DEBUG = 1,
    NOGGIN_LOG_INFO = 2,
    NOGGIN_LOG_WARNING = 3,
    NOGGIN_LOG_ERROR = 4,
    NOGGIN_LOG_FORCE_32BIT = 0x7fffffff
} noggin_log_level;

/* Receives every message noggin would print (it never prints otherwise). `message` is valid only during
 * the call. Called on the thread doing the work. */
typedef void (*noggin_log_fn)(void* user, noggin_log_level level, const char* message);

/* Loading progress in [0, 1], called on the loading thread. Return 0 to cancel the load
 * (NOGGIN_STATUS_CANCELLED), nonzero to go on. */
typedef int (*noggin_progress_fn)(void* user, float progress);

/* Bytes supplied by the host instead of a path (a pack file, an archive entry, a decrypting stream):
 * copy exactly `size` bytes starting at `offset` into `dst`; return nonzero on success, 0 on failure.
 * noggin never asks for bytes at or past the total size given to noggin_model_load_callback. */
typedef int (*noggin_read_fn)(void* user, uint64_t offset, void* dst, uint64_t size);

/* The host's job system (same layout as the C++ noggin::thread_pool). `parallel_for` must call
 * `task(ctx, begin, end, worker)` over a partition of [0, n) — each index exactly once, with
 * 0 <= worker < concurrency — and return only when every chunk is done. */
typedef void (*noggin_parallel_task)(void* ctx, size_t begin, size_t end, size_t worker);
typedef struct noggin_thread_pool {
    void (*parallel_for)(void* user, size_t n, noggin_parallel_task task, void* ctx); /* NULL: none */
    size_t concurrency; /* most workers running at once (0 or 1: serial) */
    void* user;         /* passed to parallel_for */
} noggin_thread_pool;

/* Where KV caches and work buffers come from. Both NULL = the global aligned operator new/delete.
 * `alloc` returns NULL on failure; `align` is a power of two <= 4096; `free` gets the same size/align. */
typedef struct noggin_allocator {
    void* (*alloc)(void* user, size_t size, size_t align);
    void (*free)(void* user, void* ptr, size_t size, size_t align);
    void* user;
} noggin_allocator;

typedef struct noggin_model noggin_model;       /* weights + tokenizer + chat template; immutable, shareable */
typedef struct noggin_session noggin_session;   /* one sequence: KV cache, tokens, RNG, last logits */
typedef struct noggin_reasoner noggin_reasoner; /* a reasoning chat over its own session */

/* --- version and errors ----------------------------------------------------------------------------------- */

/* The library's version as NOGGIN_VERSION packs it; compare with the header's NOGGIN_VERSION to detect a
 * header/library mismatch in shared-library builds. */
NOGGIN_API uint32_t noggin_version(void);
/* The library's version as text, e.g. "0.1.0" (static storage). */
NOGGIN_API const char* noggin_version_string(void);
/* Message of the most recent status-returning call on THIS thread; "" after a success. Never NULL; valid
 * until the next status-returning call on this thread. */
NOGGIN_API const char* noggin_last_error(void);
/* Code of that same call. */
NOGGIN_API noggin_status noggin_last_status(void);
/* Stable lower-case name of a code, e.g. "format_error" (static storage; "unknown" for other values). */
NOGGIN_API const char* noggin_status_name(noggin_status status);

/* --- model ------------------------------------------------------------------------------------------------- */

typedef struct noggin_model_desc {
    uint32_t struct_size;         /* 0 or sizeof(noggin_model_desc) */
    int32_t copy_memory;          /* load_memory only: nonzero = copy the bytes; 0 (default) = use them in
                                     place: they must stay valid and unchanged until noggin_model_destroy */
    int32_t log_min_level;        /* lowest noggin_log_level passed to `log`; 0 = NOGGIN_LOG_INFO */
    int32_t reserved;             /* must be 0 */
    noggin_progress_fn progress;  /* loading progress, may cancel; NULL = none (default) */
    void* progress_user;          /* passed to progress */
    noggin_log_fn log;            /* messages about this model and everything created from it; NULL = silent */
    void* log_user;               /* passed to log */
    const char* chat_template;    /* Jinja chat template overriding the file's; NULL = the file's
                                     tokenizer.chat_template, or the built-in DeepSeek-R1 one if it has none */
} noggin_model_desc;

/* Load a GGUF model from a file (UTF-8 path; memory-mapped, weights used in place). `desc` may be NULL.
 * On success *out is a new model (destroy with noggin_model_destroy); on failure *out is NULL. */
NOGGIN_API noggin_status noggin_model_load_file(const char* path, const noggin_model_desc* desc, noggin_model** out);
/* Load a GGUF model from `size` bytes at `data` (see desc.copy_memory for who owns them). */
NOGGIN_API noggin_status noggin_model_load_memory(const void* data, size_t size, const noggin_model_desc* desc,
                                                  noggin_model** out);
/* Load a GGUF model of `size` bytes through `read` (called on this thread, only during this call: the
 * tensor data is read into one buffer owned by the model). Progress follows the bytes read. */
NOGGIN_API noggin_status noggin_model_load_callback(noggin_read_fn read, uint64_t size, void* user,
                                                    const noggin_model_desc* desc, noggin_model** out);
/* Free a model. Destroy every session and reasoner made from it first. NULL is ignored. */
NOGGIN_API void noggin_model_destroy(noggin_model* model);

typedef struct noggin_model_info {
    uint32_t struct_size;      /* in: 0 or sizeof(noggin_model_info); only this many bytes are written */
    int32_t n_vocab;           /* vocabulary size (tokens) */
    int64_t n_ctx_train;       /* positions the model was trained for */
    int64_t n_embd;            /* hidden size */
    int64_t n_layer;           /* transformer blocks */
    int64_t n_head;            /* query heads */
    int64_t n_head_kv;         /* key/value heads */
    uint64_t file_bytes;       /* size of the GGUF bytes */
    const char* architecture;  /* "qwen2", "llama", "qwen3" (valid while the model lives) */
    int32_t bos_token;         /* -1 when none */
    int32_t eos_token;         /* -1 when none */
} noggin_model_info;

/* Describe a loaded model into *info (set info->struct_size first, or 0). */
NOGGIN_API noggin_status noggin_model_get_info(const noggin_model* model, noggin_model_info* info);

/* Text → token ids with the model's tokenizer. `text_len` bytes of `text` (NUL not needed). parse_special:
 * nonzero = control tokens written in the text ("<think>") become their ids. `tokens` NULL or too small:
 * *n_tokens = the count needed (NOGGIN_STATUS_OK for a NULL query, NOGGIN_STATUS_BUFFER_TOO_SMALL
 * otherwise, nothing written); else the ids are written and *n_tokens = their count. */
NOGGIN_API noggin_status noggin_model_tokenize(const noggin_model* model, const char* text, size_t text_len,
                                               int parse_special, int32_t* tokens, size_t capacity,
                                               size_t* n_tokens);
/* Token ids → their raw bytes, concatenated (a multi-byte character may span tokens). Writes *text_len
 * bytes plus a NUL; capacity must be >= *text_len + 1, else as tokenize (query / BUFFER_TOO_SMALL). */
NOGGIN_API noggin_status noggin_model_detokenize(const noggin_model* model, const int32_t* tokens, size_t n_tokens,
                                                 char* text, size_t capacity, size_t* text_len);

/* --- session ---------------------------------------------------------------------------------------------- */

typedef enum noggin_kv_type {
    NOGGIN_KV_F16 = 0, /* default: half the memory */
    NOGGIN_KV_F32 = 1, /* exact comparisons */
    NOGGIN_KV_FORCE_32BIT = 0x7fffffff
} noggin_kv_type;

typedef struct noggin_session_desc {
    uint32_t struct_size;        /* 0 or sizeof(noggin_session_desc) */
    int32_t kv_type;             /* noggin_kv_type; 0 = F16 */
    int64_t n_ctx;               /* KV positions; 0 = min(the model's training context, 4096) */
    uint64_t seed;               /* sampling RNG seed (default 0) */
    int32_t max_batch;           /* prompt tokens per forward call (the step() grain); 0 = 32 */
    int32_t n_threads;           /* 0 or 1 = the calling thread only (default, no thread started);
                                    N > 1 = the session starts N-1 worker threads of its own */
    noggin_thread_pool pool;     /* the host's job system; when parallel_for is set it wins over n_threads */
    noggin_allocator allocator;  /* KV cache and work memory; zero = operator new */
} noggin_session_desc;

/* A session over `model` (which must outlive it). `desc` may be NULL. */
NOGGIN_API noggin_status noggin_session_create(const noggin_model* model, const noggin_session_desc* desc,
                                               noggin_session** out);
/* NULL is ignored. */
NOGGIN_API void noggin_session_destroy(noggin_session* session);
/* Run `n` tokens at positions n_past.. ; afterwards noggin_session_logits() holds the last one's logits.
 * On failure nothing changed: LIMIT_EXCEEDED (context full), OUT_OF_RANGE (bad token id), CANCELLED. */
NOGGIN_API noggin_status noggin_session_prefill(noggin_session* session, const int32_t* tokens, size_t n);
/* The last forwarded token's n_vocab logits (valid until the next call on the session); *n_vocab may be
 * NULL. NULL for a NULL session. */
NOGGIN_API const float* noggin_session_logits(const noggin_session* session, size_t* n_vocab);
/* Positions in the cache / capacity of the cache (0 for NULL). */
NOGGIN_API int64_t noggin_session_n_past(const noggin_session* session);
NOGGIN_API int64_t noggin_session_n_ctx(const noggin_session* session);
/* Keep positions [0, n) (n <= n_past); the logits are stale until the next prefill. */
NOGGIN_API noggin_status noggin_session_truncate(noggin_session* session, int64_t n);
/* Any thread: make the running (or the next) prefill stop between two layers with CANCELLED, changing
 * nothing. */
NOGGIN_API void noggin_session_cancel(noggin_session* session);
/* Serialise tokens, KV cache and RNG. buffer NULL: *size = the bytes needed (OK). capacity too small:
 * *size = needed, BUFFER_TOO_SMALL, nothing written. Else *size = bytes written. The size query keeps
 * the bytes, so query + write costs one serialisation while the session is unchanged in between. */
NOGGIN_API noggin_status noggin_session_save(noggin_session* session, void* buffer, size_t capacity, size_t* size);
/* Restore bytes from noggin_session_save (same model, KV type; n_past must fit n_ctx) and recompute the
 * last logits. Refused with the session unchanged: FORMAT_ERROR (truncated, tampered: checksum),
 * UNSUPPORTED (another version), INVALID_ARGUMENT (another model or KV layout). */
NOGGIN_API noggin_status noggin_session_restore(noggin_session* session, const void* data, size_t size);

/* --- reasoner ---------------------------------------------------------------------------------------------- */

typedef enum noggin_event_type {
    NOGGIN_EVENT_THINKING = 0, /* text inside <think> … </think> (whole UTF-8 characters) */
    NOGGIN_EVENT_ANSWER = 1,   /* text after </think> */
    NOGGIN_EVENT_DONE = 2,     /* the turn ended; see reason */
    NOGGIN_EVENT_FORCE_32BIT = 0x7fffffff
} noggin_event_type;

typedef enum noggin_stop_reason {
    NOGGIN_STOP_NONE = 0,
    NOGGIN_STOP_EOS = 1,              /* the model ended its answer */
    NOGGIN_STOP_STOP_STRING = 2,      /* a stop string appeared (not emitted) */
    NOGGIN_STOP_ANSWER_BUDGET = 3,    /* answer_budget tokens were generated */
    NOGGIN_STOP_GRAMMAR_COMPLETE = 4, /* the grammar accepts no further text */
    NOGGIN_STOP_CONTEXT_FULL = 5,     /* no room left in the KV cache */
    NOGGIN_STOP_CANCELLED = 6,        /* noggin_reasoner_cancel() */
    NOGGIN_STOP_ERROR = 7,            /* a failure; see noggin_reasoner_turn_status() */
    NOGGIN_STOP_FORCE_32BIT = 0x7fffffff
} noggin_stop_reason;

/* Stable lower-case name of a stop reason, e.g. "eos" (static storage; "unknown" for other values). */
NOGGIN_API const char* noggin_stop_reason_name(noggin_stop_reason reason);

typedef enum noggin_reasoner_state {
    NOGGIN_REASONER_IDLE = 0,       /* no turn running: ask() may be called */
    NOGGIN_REASONER_PREFILLING = 1, /* reading the prompt */
    NOGGIN_REASONER_THINKING = 2,   /* generating thoughts */
    NOGGIN_REASONER_ANSWERING = 3,  /* generating the answer */
    NOGGIN_REASONER_FORCE_32BIT = 0x7fffffff
} noggin_reasoner_state;

typedef struct noggin_event {
    noggin_event_type type;    /* thinking, answer or done */
    noggin_stop_reason reason; /* for done; NOGGIN_STOP_NONE otherwise */
    const char* text;          /* UTF-8, NUL-terminated ("" for done); valid during the callback, or until
                                  the next poll on this reasoner / its destruction */
    size_t text_len;           /* bytes of text without the NUL */
} noggin_event;

/* Called for each event on the thread running step()/run(). Do not call back into this reasoner from it,
 * except noggin_reasoner_cancel / end_thinking_now. */
typedef void (*noggin_event_fn)(void* user, const noggin_event* event);

/* Special values of noggin_reasoner_desc fields. */
#define NOGGIN_THINK_UNLIMITED 0 /* think_budget: no limit (default) */
#define NOGGIN_THINK_NONE (-1)   /* think_budget: close the thoughts at once and answer */
#define NOGGIN_GREEDY (-1.0f)    /* temperature: always the most probable token (argmax) */

typedef enum noggin_context_full {
    NOGGIN_CONTEXT_FULL_ERROR = 0,       /* ask() fails with LIMIT_EXCEEDED when the chat does not fit */
    NOGGIN_CONTEXT_FULL_DROP_OLDEST = 1, /* drop the oldest turns (never the system message) until it fits */
    NOGGIN_CONTEXT_FULL_FORCE_32BIT = 0x7fffffff
} noggin_context_full;

typedef struct noggin_reasoner_desc {
    uint32_t struct_size;      /* 0 or sizeof(noggin_reasoner_desc) */
    int32_t think_budget;      /* model-sampled thinking tokens before </think> is forced;
                                  0 = unlimited (default), NOGGIN_THINK_NONE = answer at once */
    int32_t answer_budget;     /* answer tokens before the turn ends; 0 = unlimited (default) */
    int32_t min_think;         /* an earlier </think> becomes wait_text ("Wait" extension); 0 = off */
    int32_t max_waits;         /* at most this many extensions per turn; 0 = 2, negative = none */
    int32_t context_full;      /* noggin_context_full; 0 = error */
    float temperature;         /* 0 = 0.6 (R1's); NOGGIN_GREEDY (any negative) = argmax */
    float top_p;               /* 0 = 0.95; >= 1 = off */
    int32_t top_k;             /* 0 = off */
    float min_p;               /* 0 = off */
    float repeat_penalty;      /* 0 = 1 (off) */
    int32_t n_stop;            /* entries in `stop` */
    const char* const* stop;   /* answer stop strings (the match is not emitted); NULL = none */
    const char* think_close;   /* text forced before </think> when the budget ends thinking; NULL = none */
    const char* wait_text;     /* forced in place of an early </think>; NULL = "\nWait" */
    const char* system;        /* system message; NULL = none */
    const char* grammar;       /* GBNF grammar constraining the answer only (never the thoughts); NULL = none */
    const char* json_schema;   /* JSON schema for the answer instead of `grammar`; NULL = none */
    noggin_event_fn on_event;  /* event callback; NULL (default) = events are queued for noggin_reasoner_poll */
    void* user;                /* passed to on_event */
} noggin_reasoner_desc;

/* A reasoner over its own new session of `model` (which must outlive it); `session_desc` and `desc` may be
 * NULL. The texts in `desc` are copied. Fails with UNSUPPORTED when the vocabulary has no </think>. */
NOGGIN_API noggin_status noggin_reasoner_create(const noggin_model* model, const noggin_session_desc* session_desc,
                                                const noggin_reasoner_desc* desc, noggin_reasoner** out);
/* NULL is ignored. Not while step()/run() works on another thread. */
NOGGIN_API void noggin_reasoner_destroy(noggin_reasoner* reasoner);

/* Set or replace the system message (idle only). */
NOGGIN_API noggin_status noggin_reasoner_set_system(noggin_reasoner* reasoner, const char* text);
/* Start a turn with the user's message (idle only). No model work runs here; step() or run() does it.
 * Fails with LIMIT_EXCEEDED when the conversation does not fit (see context_full). */
NOGGIN_API noggin_status noggin_reasoner_ask(noggin_reasoner* reasoner, const char* text);
/* Work for about `budget_us` microseconds, then return the state: the forward pass in flight pauses at the
 * budget (within a matmul tile; at least one tile runs per call) and the next step resumes it. Tokens are
 * the same as with noggin_reasoner_run. NOGGIN_REASONER_IDLE means the turn is over (its DONE event was
 * sent). IDLE for NULL. */
NOGGIN_API noggin_reasoner_state noggin_reasoner_step(noggin_reasoner* reasoner, int64_t budget_us);
/* Run the turn to its end on this thread (e.g. a worker; poll from another). Returns the status that
 * ended the turn, as noggin_reasoner_turn_status (OK for a normal end; the DONE event has the reason). */
NOGGIN_API noggin_status noggin_reasoner_run(noggin_reasoner* reasoner);
/* Current state (IDLE for NULL). */
NOGGIN_API noggin_reasoner_state noggin_reasoner_get_state(const noggin_reasoner* reasoner);
/* Any thread: nonzero while step()/run() is working. */
NOGGIN_API int noggin_reasoner_busy(const noggin_reasoner* reasoner);

/* Any thread: end the running turn as soon as possible (within one layer's work); DONE with
 * NOGGIN_STOP_CANCELLED. A cancel while idle is forgotten at the next ask(). */
NOGGIN_API void noggin_reasoner_cancel(noggin_reasoner* reasoner);
/* Any thread: close the thoughts now (after the current token and a pending UTF-8 character; the
 * think_close text and </think> are forced) and answer. */
NOGGIN_API void noggin_reasoner_end_thinking_now(noggin_reasoner* reasoner);
/* Change the thinking budget (same encoding as noggin_reasoner_desc.think_budget), also during a turn
 * between step() calls; a budget already spent ends the thoughts at the next step. */
NOGGIN_API noggin_status noggin_reasoner_set_think_budget(noggin_reasoner* reasoner, int32_t think_budget);

/* Any thread (one poller at a time): take the oldest queued event into *event; 1 if one was taken, 0 if
 * the queue is empty (or events go to a callback). The text stays valid until the next poll. */
NOGGIN_API int noggin_reasoner_poll(noggin_reasoner* reasoner, noggin_event* event);

/* This turn's thoughts / answer so far (valid until the next step, run, ask or restore); *len may be NULL.
 * "" for NULL. */
NOGGIN_API const char* noggin_reasoner_thinking_text(const noggin_reasoner* reasoner, size_t* len);
NOGGIN_API const char* noggin_reasoner_answer_text(const noggin_reasoner* reasoner, size_t* len);
/* How the last turn ended: OK, or the failure behind NOGGIN_STOP_ERROR / CANCELLED (and CONTEXT_FULL when
 * a prompt batch did not fit; a cache that fills up while generating ends the turn with OK).
 * *message (may be NULL) gets its text, valid until the next step/run/ask. Per reasoner, any thread
 * that is not racing a step. */
NOGGIN_API noggin_status noggin_reasoner_turn_status(const noggin_reasoner* reasoner, const char** message);

typedef struct noggin_turn_stats {
    uint32_t struct_size;            /* in: 0 or sizeof(noggin_turn_stats); only this many bytes are written */
    int32_t reason;                  /* noggin_stop_reason of the turn (NONE while it runs) */
    int64_t prompt_tokens;           /* tokens of the whole rendering of this turn */
    int64_t prefilled_tokens;        /* of which ran through the model (the rest were reused from the cache) */
    int64_t thinking_tokens;         /* model-sampled thinking tokens (what the budget counts) */
    int64_t thinking_finish_tokens;  /* sampled past the budget to finish a UTF-8 character */
    int64_t forced_tokens;           /* forced: closing text, </think>, "Wait" extensions */
    int64_t answer_tokens;           /* model-sampled answer tokens */
    int32_t waits;                   /* "Wait" extensions used */
    int32_t think_forced_end;        /* 1 when </think> came from the budget or end_thinking_now */
    double prefill_ms;               /* wall time by phase, milliseconds */
    double think_ms;
    double answer_ms;
} noggin_turn_stats;

/* Statistics of the current or last turn. */
NOGGIN_API noggin_status noggin_reasoner_get_stats(const noggin_reasoner* reasoner, noggin_turn_stats* stats);

/* Serialise the session, the conversation and the turn in progress (call between steps, not while busy).
 * Buffer protocol as noggin_session_save. A restored reasoner continues token for token as this one would
 * have (same model, session settings and grammar). */
NOGGIN_API noggin_status noggin_reasoner_save(noggin_reasoner* reasoner, void* buffer, size_t capacity, size_t* size);
/* Restore bytes from noggin_reasoner_save (idle or between steps). Refused with everything unchanged:
 * FORMAT_ERROR (truncated, tampered), UNSUPPORTED (another version), INVALID_ARGUMENT (another model,
 * KV layout, or saved with a grammar this reasoner lacks). */
NOGGIN_API noggin_status noggin_reasoner_restore(noggin_reasoner* reasoner, const void* data, size_t size);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NOGGIN_H */

/* ======================================================================================================== */
/* implementation: compiled where the host defines NOGGIN_IMPLEMENTATION (one C++17 translation unit)       */
/* ======================================================================================================== */
#if defined(NOGGIN_IMPLEMENTATION) && !defined(NOGGIN_IMPLEMENTATION_INCLUDED)
#define NOGGIN_IMPLEMENTATION_INCLUDED
#ifndef __cplusplus
#error "noggin.h: define NOGGIN_IMPLEMENTATION in a C++17 source file; the C API wraps the C++ library"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "noggin/noggin.hpp"

static_assert(NOGGIN_VERSION_MAJOR == 0 && NOGGIN_VERSION_MINOR == 1 && NOGGIN_VERSION_PATCH == 0,
              "noggin.h and noggin/core/config.hpp disagree on the version");

namespace noggin_capi {

// --- errors ----------------------------------------------------------------------------------------------

struct last_error {
    noggin_status code = NOGGIN_STATUS_OK;
    std::string message;
};
inline last_error& tls_error() {
    static thread_local last_error e;
    return e;
}

inline noggin_status to_c(noggin::status_code c) {
    switch (c) {
        case noggin::status_code::ok: return NOGGIN_STATUS_OK;
        case noggin::status_code::invalid_argument: return NOGGIN_STATUS_INVALID_ARGUMENT;
        case noggin::status_code::io_error: return NOGGIN_STATUS_IO_ERROR;
        case noggin::status_code::format_error: return NOGGIN_STATUS_FORMAT_ERROR;
        case noggin::status_code::unsupported: return NOGGIN_STATUS_UNSUPPORTED;
        case noggin::status_code::out_of_memory: return NOGGIN_STATUS_OUT_OF_MEMORY;
        case noggin::status_code::out_of_range: return NOGGIN_STATUS_OUT_OF_RANGE;
        case noggin::status_code::limit_exceeded: return NOGGIN_STATUS_LIMIT_EXCEEDED;
        case noggin::status_code::device_error: return NOGGIN_STATUS_DEVICE_ERROR;
        case noggin::status_code::cancelled: return NOGGIN_STATUS_CANCELLED;
        case noggin::status_code::internal: return NOGGIN_STATUS_INTERNAL;
    }
    return NOGGIN_STATUS_INTERNAL;
}

// Record an outcome in the thread-local slot and return its code.
inline noggin_status set(noggin_status code, const char* message) {
    last_error& e = tls_error();
    e.code = code;
    e.message.assign(message != nullptr ? message : "");
    return code;
}
inline noggin_status set(noggin_status code, const std::string& message) { return set(code, message.c_str()); }
inline noggin_status set(const noggin::status& s) { return set(to_c(s.code()), s.message()); }
inline noggin_status ok() { return set(NOGGIN_STATUS_OK, ""); }
inline noggin_status bad(const char* message) { return set(NOGGIN_STATUS_INVALID_ARGUMENT, message); }

// Run `f` (returning noggin_status) so that no exception leaves the C API: std::bad_alloc becomes
// OUT_OF_MEMORY, anything else INTERNAL. Without exceptions (-fno-exceptions) this is a plain call.
template <class F>
noggin_status guarded(F&& f) {
#if NOGGIN_HAS_EXCEPTIONS
    try {
        return f();
    } catch (const std::bad_alloc&) {
        return set(NOGGIN_STATUS_OUT_OF_MEMORY, "out of memory");
    } catch (...) {
        return set(NOGGIN_STATUS_INTERNAL, "an unexpected C++ exception was caught at the C API boundary");
    }
#else
    return f();
#endif
}
// For functions that return a value: `fallback` when an exception was caught.
template <class T, class F>
T guarded_value(T fallback, F&& f) {
#if NOGGIN_HAS_EXCEPTIONS
    try {
        return f();
    } catch (...) {
        return fallback;
    }
#else
    (void)fallback;
    return f();
#endif
}

// --- versioned structs -------------------------------------------------------------------------------------

// Copy the caller's desc (NULL = all defaults) into a zeroed current-version struct.
template <class T>
noggin_status read_desc(const T* in, T& out, const char* what) {
    std::memset(static_cast<void*>(&out), 0, sizeof out);
    if (in == nullptr) return NOGGIN_STATUS_OK;
    std::uint32_t size = in->struct_size;
    if (size == 0) size = sizeof(T);
    if (size > sizeof(T))
        return set(NOGGIN_STATUS_INVALID_ARGUMENT, noggin::str(what, ".struct_size is ", size, " bytes but this library knows ",
                                                               sizeof(T), " (a newer noggin.h than the compiled library?)"));
    if (size < sizeof(std::uint32_t))
        return set(NOGGIN_STATUS_INVALID_ARGUMENT, noggin::str(what, ".struct_size ", size, " is too small"));
    std::memcpy(static_cast<void*>(&out), static_cast<const void*>(in), size);
    out.struct_size = sizeof(T);
    return NOGGIN_STATUS_OK;
}
// Write a filled current-version struct into the caller's (which says how much it can take).
template <class T>
noggin_status write_info(const T& full, T* out, const char* what) {
    std::uint32_t size = out->struct_size;
    if (size == 0) size = sizeof(T);
    if (size > sizeof(T))
        return set(NOGGIN_STATUS_INVALID_ARGUMENT, noggin::str(what, ".struct_size is ", size, " bytes but this library knows ",
                                                               sizeof(T), " (a newer noggin.h than the compiled library?)"));
    if (size < sizeof(std::uint32_t))
        return set(NOGGIN_STATUS_INVALID_ARGUMENT, noggin::str(what, ".struct_size ", size, " is too small"));
    std::memcpy(static_cast<void*>(out), static_cast<const void*>(&full), size);
    out->struct_size = size;
    return ok();
}

// The size-query / too-small / write protocol for a byte result.
inline noggin_status give_bytes(const void* bytes, std::size_t n, void* buffer, std::size_t capacity, std::size_t* size) {
    if (buffer == nullptr) {
        if (size == nullptr) return bad("a NULL buffer asks for the size, but size is NULL too");
        *size = n;
        return ok();
    }
    if (size != nullptr) *size = n;
    if (capacity < n)
        return set(NOGGIN_STATUS_BUFFER_TOO_SMALL, noggin::str("buffer of ", capacity, " bytes is too small: ", n, " needed"));
    if (n > 0) std::memcpy(buffer, bytes, n);
    return ok();
}

// The buffer protocol over a handle's cached save: serialise again (save() → result<vector<uint8_t>>) only when
// the handle changed since the last save, so a size query followed by the write serialises once.
template <class Handle, class Save>
noggin_status give_saved(Handle& h, Save save, void* buffer, std::size_t capacity, std::size_t* size) {
    if (h.saved_at != h.changes) {
        noggin::result<std::vector<std::uint8_t>> b = save();
        if (!b.ok()) return set(b.status());
        h.saved = std::move(b.value());
        h.saved_at = h.changes;
    }
    return give_bytes(h.saved.data(), h.saved.size(), buffer, capacity, size);
}

// --- logging and progress ---------------------------------------------------------------------------------

struct progress {
    noggin_progress_fn fn = nullptr;
    void* user = nullptr;
    float last = -1.0f;
    bool cancelled = false;
    bool report(float p, bool force = false) {
        if (fn == nullptr || cancelled) return !cancelled;
        if (!force && p < last + 0.01f) return true;
        last = p;
        if (fn(user, p) == 0) cancelled = true;
        return !cancelled;
    }
};

struct read_ctx {
    noggin_read_fn fn;
    void* user;
    std::uint64_t total;
    std::uint64_t done;
    progress* prog;
};
inline bool read_trampoline(void* user, std::uint64_t offset, void* dst, std::uint64_t size) {
    read_ctx& c = *static_cast<read_ctx*>(user);
    if (c.fn(c.user, offset, dst, size) == 0) return false;
    c.done += size;
    const double frac = c.total > 0 ? std::min(1.0, double(c.done) / double(c.total)) : 1.0;
    return c.prog->report(float(0.85 * frac));
}

}  // namespace noggin_capi

// --- handle types (opaque to C) ----------------------------------------------------------------------------

struct noggin_model {
    std::vector<unsigned char> bytes;  // copy_memory: the GGUF bytes the weights point into
    noggin::model::model model;
    noggin::text::tokenizer tok;
    noggin::text::chat_template chat;
    std::string arch;
    noggin_log_fn log = nullptr;
    void* log_user = nullptr;
    noggin_log_level log_min = NOGGIN_LOG_INFO;

    void say(noggin_log_level level, const std::string& message) const {
        if (log != nullptr && level >= log_min) log(log_user, level, message.c_str());
    }
};

struct noggin_session {
    const noggin_model* model = nullptr;
    std::unique_ptr<noggin::default_thread_pool> pool;  // n_threads > 1 only
    noggin::run::session s;
    std::atomic<bool> cancel{false};
    std::vector<std::uint8_t> saved;  // last save() bytes, reused while `changes` is unchanged
    std::uint64_t changes = 0, saved_at = ~std::uint64_t(0);
};

struct noggin_reasoner {
    const noggin_model* model = nullptr;
    std::unique_ptr<noggin::default_thread_pool> pool;
    std::unique_ptr<noggin::sample::grammar_matcher> grammar;
    noggin_event_fn on_event = nullptr;
    void* user = nullptr;
    noggin::run::event polled;  // the last polled event (owns its text)
    std::vector<std::uint8_t> saved;
    std::uint64_t changes = 0, saved_at = ~std::uint64_t(0);
    noggin::run::reasoner r;
};

namespace noggin_capi {

inline void event_trampoline(void* user, const noggin::run::event& e) {
    const noggin_reasoner& h = *static_cast<const noggin_reasoner*>(user);
    noggin_event ce;
    ce.type = static_cast<noggin_event_type>(e.type);
    ce.reason = static_cast<noggin_stop_reason>(e.reason);
    ce.text = e.text.c_str();
    ce.text_len = e.text.size();
    h.on_event(h.user, &ce);
}

inline noggin_status session_params(const noggin_session_desc& d, std::unique_ptr<noggin::default_thread_pool>& pool,
                                    noggin::run::session_params& sp) {
    if (d.kv_type != NOGGIN_KV_F16 && d.kv_type != NOGGIN_KV_F32)
        return set(NOGGIN_STATUS_INVALID_ARGUMENT, noggin::str("noggin_session_desc.kv_type ", d.kv_type, " is not a noggin_kv_type"));
    if (d.n_ctx < 0) return bad("noggin_session_desc.n_ctx is negative");
    if (d.max_batch < 0) return bad("noggin_session_desc.max_batch is negative");
    if (d.n_threads < 0 || d.n_threads > 1024) return bad("noggin_session_desc.n_threads must be in 0..1024");
    if ((d.allocator.alloc == nullptr) != (d.allocator.free == nullptr))
        return bad("noggin_session_desc.allocator: set both alloc and free, or neither");
    sp.n_ctx = d.n_ctx;
    sp.kv_type = d.kv_type == NOGGIN_KV_F32 ? noggin::dtype::f32 : noggin::dtype::f16;
    if (d.max_batch > 0) sp.max_batch = d.max_batch;
    sp.seed = d.seed;
    if (d.allocator.alloc != nullptr) {
        sp.alloc.alloc = d.allocator.alloc;
        sp.alloc.free = d.allocator.free;
        sp.alloc.user = d.allocator.user;
    }
    if (d.pool.parallel_for != nullptr) {
        sp.pool.parallel_for = d.pool.parallel_for;
        sp.pool.concurrency = d.pool.concurrency > 0 ? d.pool.concurrency : 1;
        sp.pool.user = d.pool.user;
    } else if (d.n_threads > 1) {
        pool.reset(new noggin::default_thread_pool(static_cast<std::size_t>(d.n_threads)));
        sp.pool = pool->hook();
    }
    return NOGGIN_STATUS_OK;
}

// Parse, check and finish a model whose GGUF file is open.
inline noggin_status finish_model(std::unique_ptr<noggin_model>& m, noggin::result<noggin::gguf::file> f,
                                  const noggin_model_desc& d, progress& prog, const std::string& where, noggin_model** out) {
    if (prog.cancelled) return set(NOGGIN_STATUS_CANCELLED, where + ": loading cancelled by the progress callback");
    if (!f.ok()) {
        noggin::status s = f.status();
        return set(s.with_context(where));
    }
    if (!prog.report(0.9f, true)) return set(NOGGIN_STATUS_CANCELLED, where + ": loading cancelled by the progress callback");
    noggin::result<noggin::model::model> mm = noggin::model::model::create(std::move(f.value()));
    if (!mm.ok()) {
        noggin::status s = mm.status();
        return set(s.with_context(where));
    }
    m->model = std::move(mm.value());
    noggin::result<noggin::text::chat_text> text = noggin::text::chat_text_from_gguf(
        m->model.file(), noggin::text::chat_builtin::deepseek_r1,
        d.chat_template != nullptr ? std::string_view(d.chat_template) : std::string_view());
    if (!text.ok()) {
        noggin::status s = text.status();
        return set(s.with_context(where));
    }
    m->tok = std::move(text->tokenizer);
    m->chat = std::move(text->chat);
    m->arch = noggin::model::arch_info(m->model.hparams().architecture).name;
    if (!prog.report(1.0f, true)) return set(NOGGIN_STATUS_CANCELLED, where + ": loading cancelled by the progress callback");
    const noggin::model::hparams& hp = m->model.hparams();
    m->say(NOGGIN_LOG_INFO, noggin::str("loaded ", where, ": ", m->arch, ", ", hp.n_layer, " layers, hidden ", hp.n_embd,
                                        ", vocabulary ", hp.n_vocab, ", context ", hp.n_ctx_train));
    *out = m.release();
    return ok();
}

// Common start of the three loaders: check arguments, read the desc, make the handle.
inline noggin_status begin_load(const noggin_model_desc* desc, noggin_model** out, noggin_model_desc& d,
                                std::unique_ptr<noggin_model>& m, progress& prog) {
    if (out == nullptr) return bad("noggin_model_load: out is NULL");
    *out = nullptr;
    const noggin_status s = read_desc(desc, d, "noggin_model_desc");
    if (s != NOGGIN_STATUS_OK) return s;
    if (d.log_min_level < 0 || d.log_min_level > NOGGIN_LOG_ERROR) return bad("noggin_model_desc.log_min_level is not a noggin_log_level");
    m.reset(new (std::nothrow) noggin_model());
    if (m == nullptr) return set(NOGGIN_STATUS_OUT_OF_MEMORY, "out of memory");
    m->log = d.log;
    m->log_user = d.log_user;
    m->log_min = d.log_min_level == 0 ? NOGGIN_LOG_INFO : static_cast<noggin_log_level>(d.log_min_level);
    prog.fn = d.progress;
    prog.user = d.progress_user;
    if (!prog.report(0.0f, true)) return set(NOGGIN_STATUS_CANCELLED, "loading cancelled by the progress callback");
    return NOGGIN_STATUS_OK;
}

// Log a failed load through the desc's log callback too.
inline noggin_status log_failure(const std::unique_ptr<noggin_model>& m, noggin_status s) {
    if (s != NOGGIN_STATUS_OK && m != nullptr) m->say(NOGGIN_LOG_ERROR, tls_error().message);
    return s;
}

inline noggin::run::reasoner_params reasoner_params(const noggin_reasoner_desc& d) {
    noggin::run::reasoner_params p;
    p.think_budget = d.think_budget == 0 ? -1 : d.think_budget < 0 ? 0 : d.think_budget;
    p.answer_budget = d.answer_budget <= 0 ? -1 : d.answer_budget;
    p.min_think = d.min_think > 0 ? d.min_think : 0;
    p.max_waits = d.max_waits == 0 ? 2 : d.max_waits < 0 ? 0 : d.max_waits;
    p.on_full = d.context_full == NOGGIN_CONTEXT_FULL_DROP_OLDEST ? noggin::run::context_full_policy::drop_oldest
                                                                   : noggin::run::context_full_policy::error;
    p.sampling.temperature = d.temperature == 0.0f ? 0.6f : d.temperature < 0.0f ? 0.0f : d.temperature;
    p.sampling.top_p = d.top_p == 0.0f ? 0.95f : d.top_p;
    p.sampling.top_k = d.top_k;
    p.sampling.min_p = d.min_p;
    p.sampling.repeat_penalty = d.repeat_penalty == 0.0f ? 1.0f : d.repeat_penalty;
    if (d.think_close != nullptr) p.think_close = d.think_close;
    if (d.wait_text != nullptr) p.wait_text = d.wait_text;
    for (std::int32_t i = 0; i < d.n_stop; ++i)
        if (d.stop[i] != nullptr) p.stop.emplace_back(d.stop[i]);
    return p;
}

}  // namespace noggin_capi

extern "C" {

// --- version and errors ------------------------------------------------------------------------------------

NOGGIN_API uint32_t noggin_version(void) { return NOGGIN_VERSION; }
NOGGIN_API const char* noggin_version_string(void) { return NOGGIN_VERSION_STRING; }
NOGGIN_API const char* noggin_last_error(void) {
    return noggin_capi::guarded_value<const char*>("", [] { return noggin_capi::tls_error().message.c_str(); });
}
NOGGIN_API noggin_status noggin_last_status(void) {
    return noggin_capi::guarded_value<noggin_status>(NOGGIN_STATUS_INTERNAL, [] { return noggin_capi::tls_error().code; });
}
NOGGIN_API const char* noggin_status_name(noggin_status status) {
    switch (status) {
        case NOGGIN_STATUS_OK: return "ok";
        case NOGGIN_STATUS_INVALID_ARGUMENT: return "invalid_argument";
        case NOGGIN_STATUS_IO_ERROR: return "io_error";
        case NOGGIN_STATUS_FORMAT_ERROR: return "format_error";
        case NOGGIN_STATUS_UNSUPPORTED: return "unsupported";
        case NOGGIN_STATUS_OUT_OF_MEMORY: return "out_of_memory";
        case NOGGIN_STATUS_OUT_OF_RANGE: return "out_of_range";
        case NOGGIN_STATUS_LIMIT_EXCEEDED: return "limit_exceeded";
        case NOGGIN_STATUS_DEVICE_ERROR: return "device_error";
        case NOGGIN_STATUS_CANCELLED: return "cancelled";
        case NOGGIN_STATUS_INTERNAL: return "internal";
        case NOGGIN_STATUS_BUFFER_TOO_SMALL: return "buffer_too_small";
        case NOGGIN_STATUS_FORCE_32BIT: break;
    }
    return "unknown";
}

NOGGIN_API const char* noggin_stop_reason_name(noggin_stop_reason reason) {
    switch (reason) {
        case NOGGIN_STOP_NONE: return "none";
        case NOGGIN_STOP_EOS: return "eos";
        case NOGGIN_STOP_STOP_STRING: return "stop_string";
        case NOGGIN_STOP_ANSWER_BUDGET: return "answer_budget";
        case NOGGIN_STOP_GRAMMAR_COMPLETE: return "grammar_complete";
        case NOGGIN_STOP_CONTEXT_FULL: return "context_full";
        case NOGGIN_STOP_CANCELLED: return "cancelled";
        case NOGGIN_STOP_ERROR: return "error";
        case NOGGIN_STOP_FORCE_32BIT: break;
    }
    return "unknown";
}

// --- model -------------------------------------------------------------------------------------------------

NOGGIN_API noggin_status noggin_model_load_file(const char* path, const noggin_model_desc* desc, noggin_model** out) {
    using namespace noggin_capi;
    std::unique_ptr<noggin_model> m;
    return log_failure(m, guarded([&]() -> noggin_status {
        noggin_model_desc d;
        progress prog;
        const noggin_status s = begin_load(desc, out, d, m, prog);
        if (s != NOGGIN_STATUS_OK) return s;
        if (path == nullptr) return bad("noggin_model_load_file: path is NULL");
        return finish_model(m, noggin::gguf::file::open(path), d, prog, path, out);
    }));
}

NOGGIN_API noggin_status noggin_model_load_memory(const void* data, size_t size, const noggin_model_desc* desc,
                                                  noggin_model** out) {
    using namespace noggin_capi;
    std::unique_ptr<noggin_model> m;
    return log_failure(m, guarded([&]() -> noggin_status {
        noggin_model_desc d;
        progress prog;
        const noggin_status s = begin_load(desc, out, d, m, prog);
        if (s != NOGGIN_STATUS_OK) return s;
        if (data == nullptr) return bad("noggin_model_load_memory: data is NULL");
        const void* bytes = data;
        if (d.copy_memory != 0) {
            m->bytes.assign(static_cast<const unsigned char*>(data), static_cast<const unsigned char*>(data) + size);
            bytes = m->bytes.data();
            if (!prog.report(0.5f, true)) return set(NOGGIN_STATUS_CANCELLED, "memory: loading cancelled by the progress callback");
        }
        return finish_model(m, noggin::gguf::file::from_memory(bytes, size), d, prog, "memory", out);
    }));
}

NOGGIN_API noggin_status noggin_model_load_callback(noggin_read_fn read, uint64_t size, void* user,
                                                    const noggin_model_desc* desc, noggin_model** out) {
    using namespace noggin_capi;
    std::unique_ptr<noggin_model> m;
    return log_failure(m, guarded([&]() -> noggin_status {
        noggin_model_desc d;
        progress prog;
        const noggin_status s = begin_load(desc, out, d, m, prog);
        if (s != NOGGIN_STATUS_OK) return s;
        if (read == nullptr) return bad("noggin_model_load_callback: read is NULL");
        read_ctx ctx{read, user, size, 0, &prog};
        noggin::gguf::read_callback cb;
        cb.read = &read_trampoline;
        cb.size = size;
        cb.user = &ctx;
        noggin::gguf::open_options opt;
        opt.callback_mode = noggin::gguf::callback_data::load;
        return finish_model(m, noggin::gguf::file::from_callback(cb, opt), d, prog, "read callback", out);
    }));
}

NOGGIN_API void noggin_model_destroy(noggin_model* model) { delete model; }

NOGGIN_API noggin_status noggin_model_get_info(const noggin_model* model, noggin_model_info* info) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (model == nullptr || info == nullptr) return bad("noggin_model_get_info: model or info is NULL");
        const noggin::model::hparams& hp = model->model.hparams();
        noggin_model_info full;
        std::memset(static_cast<void*>(&full), 0, sizeof full);
        full.struct_size = sizeof full;
        full.n_vocab = static_cast<std::int32_t>(hp.n_vocab);
        full.n_ctx_train = hp.n_ctx_train;
        full.n_embd = hp.n_embd;
        full.n_layer = hp.n_layer;
        full.n_head = hp.n_head;
        full.n_head_kv = hp.n_head_kv;
        full.file_bytes = model->model.file().size();
        full.architecture = model->arch.c_str();
        full.bos_token = model->tok.bos_id();
        full.eos_token = model->tok.eos_id();
        return write_info(full, info, "noggin_model_info");
    });
}

NOGGIN_API noggin_status noggin_model_tokenize(const noggin_model* model, const char* text, size_t text_len,
                                               int parse_special, int32_t* tokens, size_t capacity, size_t* n_tokens) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (model == nullptr || n_tokens == nullptr) return bad("noggin_model_tokenize: model or n_tokens is NULL");
        if (text == nullptr && text_len != 0) return bad("noggin_model_tokenize: text is NULL");
        noggin::text::encode_options eo;
        eo.parse_special = parse_special != 0;
        std::vector<noggin::text::token_id> ids;
        const noggin::status s = model->tok.encode(std::string_view(text != nullptr ? text : "", text_len), ids, eo);
        if (!s.ok()) return set(s);
        *n_tokens = ids.size();
        if (tokens == nullptr) return ok();
        if (capacity < ids.size())
            return set(NOGGIN_STATUS_BUFFER_TOO_SMALL, noggin::str("noggin_model_tokenize: ", ids.size(), " tokens do not fit ", capacity));
        std::copy(ids.begin(), ids.end(), tokens);
        return ok();
    });
}

NOGGIN_API noggin_status noggin_model_detokenize(const noggin_model* model, const int32_t* tokens, size_t n_tokens,
                                                 char* text, size_t capacity, size_t* text_len) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (model == nullptr || text_len == nullptr) return bad("noggin_model_detokenize: model or text_len is NULL");
        if (tokens == nullptr && n_tokens != 0) return bad("noggin_model_detokenize: tokens is NULL");
        std::string out;
        const noggin::status s = model->tok.decode_bytes(tokens, n_tokens, out);
        if (!s.ok()) return set(s);
        *text_len = out.size();
        if (text == nullptr) return ok();
        if (capacity < out.size() + 1)
            return set(NOGGIN_STATUS_BUFFER_TOO_SMALL,
                       noggin::str("noggin_model_detokenize: ", out.size() + 1, " bytes (with the NUL) do not fit ", capacity));
        std::memcpy(text, out.c_str(), out.size() + 1);
        return ok();
    });
}

// --- session -----------------------------------------------------------------------------------------------

NOGGIN_API noggin_status noggin_session_create(const noggin_model* model, const noggin_session_desc* desc,
                                               noggin_session** out) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (out == nullptr) return bad("noggin_session_create: out is NULL");
        *out = nullptr;
        if (model == nullptr) return bad("noggin_session_create: model is NULL");
        noggin_session_desc d;
        noggin_status st = read_desc(desc, d, "noggin_session_desc");
        if (st != NOGGIN_STATUS_OK) return st;
        std::unique_ptr<noggin_session> h(new (std::nothrow) noggin_session());
        if (h == nullptr) return set(NOGGIN_STATUS_OUT_OF_MEMORY, "out of memory");
        noggin::run::session_params sp;
        st = session_params(d, h->pool, sp);
        if (st != NOGGIN_STATUS_OK) return st;
        noggin::result<noggin::run::session> s = noggin::run::session::create(model->model, sp);
        if (!s.ok()) return set(s.status());
        h->model = model;
        h->s = std::move(s.value());
        noggin_session* raw = h.get();
        h->s.set_should_continue([](void* u) { return !static_cast<noggin_session*>(u)->cancel.load(std::memory_order_relaxed); }, raw);
        *out = h.release();
        return ok();
    });
}

NOGGIN_API void noggin_session_destroy(noggin_session* session) { delete session; }

NOGGIN_API noggin_status noggin_session_prefill(noggin_session* session, const int32_t* tokens, size_t n) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (session == nullptr) return bad("noggin_session_prefill: session is NULL");
        if (tokens == nullptr && n != 0) return bad("noggin_session_prefill: tokens is NULL");
        const std::int64_t vocab = session->s.n_vocab();
        for (std::size_t i = 0; i < n; ++i)
            if (tokens[i] < 0 || tokens[i] >= vocab)
                return set(NOGGIN_STATUS_OUT_OF_RANGE, noggin::str("noggin_session_prefill: token ", tokens[i], " at index ", i,
                                                                   " is not in the vocabulary of ", vocab));
        ++session->changes;
        const noggin::status s = session->s.prefill(tokens, static_cast<std::int64_t>(n));
        if (s.code() == noggin::status_code::cancelled) session->cancel.store(false);
        return set(s);
    });
}

NOGGIN_API const float* noggin_session_logits(const noggin_session* session, size_t* n_vocab) {
    if (n_vocab != nullptr) *n_vocab = session != nullptr ? static_cast<size_t>(session->s.n_vocab()) : 0;
    return session != nullptr ? session->s.logits() : nullptr;
}
NOGGIN_API int64_t noggin_session_n_past(const noggin_session* session) { return session != nullptr ? session->s.n_past() : 0; }
NOGGIN_API int64_t noggin_session_n_ctx(const noggin_session* session) { return session != nullptr ? session->s.n_ctx() : 0; }

NOGGIN_API noggin_status noggin_session_truncate(noggin_session* session, int64_t n) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (session == nullptr) return bad("noggin_session_truncate: session is NULL");
        if (n < 0 || n > session->s.n_past())
            return set(NOGGIN_STATUS_OUT_OF_RANGE, noggin::str("noggin_session_truncate: ", n, " is not in 0..", session->s.n_past()));
        ++session->changes;
        return set(session->s.truncate(n));
    });
}

NOGGIN_API void noggin_session_cancel(noggin_session* session) {
    if (session != nullptr) session->cancel.store(true);
}

NOGGIN_API noggin_status noggin_session_save(noggin_session* session, void* buffer, size_t capacity, size_t* size) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (session == nullptr) return bad("noggin_session_save: session is NULL");
        return give_saved(*session, [&] { return session->s.save(); }, buffer, capacity, size);
    });
}

NOGGIN_API noggin_status noggin_session_restore(noggin_session* session, const void* data, size_t size) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (session == nullptr) return bad("noggin_session_restore: session is NULL");
        if (data == nullptr) return bad("noggin_session_restore: data is NULL");
        session->saved_at = ~std::uint64_t(0);  // a later save serialises afresh, whatever happens here
        const noggin::status s = session->s.restore(static_cast<const std::uint8_t*>(data), size);
        if (!s.ok()) return set(s);
        ++session->changes;
        return set(session->s.recompute_logits());
    });
}

// --- reasoner ----------------------------------------------------------------------------------------------

NOGGIN_API noggin_status noggin_reasoner_create(const noggin_model* model, const noggin_session_desc* session_desc,
                                                const noggin_reasoner_desc* desc, noggin_reasoner** out) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (out == nullptr) return bad("noggin_reasoner_create: out is NULL");
        *out = nullptr;
        if (model == nullptr) return bad("noggin_reasoner_create: model is NULL");
        noggin_session_desc sd;
        noggin_status st = read_desc(session_desc, sd, "noggin_session_desc");
        if (st != NOGGIN_STATUS_OK) return st;
        noggin_reasoner_desc d;
        st = read_desc(desc, d, "noggin_reasoner_desc");
        if (st != NOGGIN_STATUS_OK) return st;
        if (d.n_stop < 0 || (d.n_stop > 0 && d.stop == nullptr)) return bad("noggin_reasoner_desc: n_stop > 0 needs a stop array");
        if (d.context_full != NOGGIN_CONTEXT_FULL_ERROR && d.context_full != NOGGIN_CONTEXT_FULL_DROP_OLDEST)
            return bad("noggin_reasoner_desc.context_full is not a noggin_context_full");
        if (d.grammar != nullptr && d.json_schema != nullptr) return bad("noggin_reasoner_desc: set grammar or json_schema, not both");
        if (!(d.top_p >= 0.0f) || !(d.min_p >= 0.0f) || !(d.repeat_penalty >= 0.0f) || d.top_k < 0 || d.temperature != d.temperature)
            return bad("noggin_reasoner_desc: negative or NaN sampling parameter");
        std::unique_ptr<noggin_reasoner> h(new (std::nothrow) noggin_reasoner());
        if (h == nullptr) return set(NOGGIN_STATUS_OUT_OF_MEMORY, "out of memory");
        h->model = model;
        noggin::run::session_params sp;
        st = session_params(sd, h->pool, sp);
        if (st != NOGGIN_STATUS_OK) return st;
        noggin::result<noggin::run::session> s = noggin::run::session::create(model->model, sp);
        if (!s.ok()) return set(s.status());
        noggin::run::reasoner_params p = reasoner_params(d);
        if (d.grammar != nullptr || d.json_schema != nullptr) {
            noggin::result<noggin::sample::grammar> g = d.grammar != nullptr
                                                            ? noggin::sample::grammar::parse_gbnf(d.grammar)
                                                            : noggin::sample::grammar_from_json_schema(std::string_view(d.json_schema));
            if (!g.ok()) return set(noggin::status(g.status()).with_context(d.grammar != nullptr ? "grammar" : "json_schema"));
            noggin::result<noggin::sample::grammar_vocab> v = noggin::sample::grammar_vocab::from_tokenizer(model->tok);
            if (!v.ok()) return set(v.status());
            noggin::result<noggin::sample::grammar_matcher> gm = noggin::sample::grammar_matcher::create(std::move(g.value()), v.value());
            if (!gm.ok()) return set(gm.status());
            h->grammar.reset(new noggin::sample::grammar_matcher(std::move(gm.value())));
            p.grammar = h->grammar.get();
        }
        if (d.on_event != nullptr) {
            h->on_event = d.on_event;
            h->user = d.user;
            p.on_event = &event_trampoline;
            p.user = h.get();
        }
        const noggin::status cs = noggin::run::reasoner::create(h->r, std::move(s.value()), model->tok, model->chat, p);
        if (!cs.ok()) return set(cs);
        if (d.system != nullptr) {
            const noggin::status ss = h->r.set_system(d.system);
            if (!ss.ok()) return set(ss);
        }
        *out = h.release();
        return ok();
    });
}

NOGGIN_API void noggin_reasoner_destroy(noggin_reasoner* reasoner) { delete reasoner; }

NOGGIN_API noggin_status noggin_reasoner_set_system(noggin_reasoner* reasoner, const char* text) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (reasoner == nullptr || text == nullptr) return bad("noggin_reasoner_set_system: reasoner or text is NULL");
        if (reasoner->r.busy()) return bad("noggin_reasoner_set_system: the reasoner is busy");
        ++reasoner->changes;
        return set(reasoner->r.set_system(text));
    });
}

NOGGIN_API noggin_status noggin_reasoner_ask(noggin_reasoner* reasoner, const char* text) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (reasoner == nullptr || text == nullptr) return bad("noggin_reasoner_ask: reasoner or text is NULL");
        if (reasoner->r.busy()) return bad("noggin_reasoner_ask: the reasoner is busy");
        ++reasoner->changes;
        return set(reasoner->r.ask(text));
    });
}

NOGGIN_API noggin_reasoner_state noggin_reasoner_step(noggin_reasoner* reasoner, int64_t budget_us) {
    if (reasoner == nullptr) return NOGGIN_REASONER_IDLE;
    return noggin_capi::guarded_value<noggin_reasoner_state>(NOGGIN_REASONER_IDLE, [&] {
        ++reasoner->changes;
        const std::int64_t us = budget_us > 0 ? budget_us : 0;
        return static_cast<noggin_reasoner_state>(reasoner->r.step(std::chrono::microseconds(us)));
    });
}

NOGGIN_API noggin_status noggin_reasoner_run(noggin_reasoner* reasoner) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (reasoner == nullptr) return bad("noggin_reasoner_run: reasoner is NULL");
        ++reasoner->changes;
        reasoner->r.run();
        return set(reasoner->r.last_status());
    });
}

NOGGIN_API noggin_reasoner_state noggin_reasoner_get_state(const noggin_reasoner* reasoner) {
    return reasoner != nullptr ? static_cast<noggin_reasoner_state>(reasoner->r.state()) : NOGGIN_REASONER_IDLE;
}
NOGGIN_API int noggin_reasoner_busy(const noggin_reasoner* reasoner) { return reasoner != nullptr && reasoner->r.busy() ? 1 : 0; }
NOGGIN_API void noggin_reasoner_cancel(noggin_reasoner* reasoner) {
    if (reasoner != nullptr) reasoner->r.cancel();
}
NOGGIN_API void noggin_reasoner_end_thinking_now(noggin_reasoner* reasoner) {
    if (reasoner != nullptr) reasoner->r.end_thinking_now();
}

NOGGIN_API noggin_status noggin_reasoner_set_think_budget(noggin_reasoner* reasoner, int32_t think_budget) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (reasoner == nullptr) return bad("noggin_reasoner_set_think_budget: reasoner is NULL");
        if (reasoner->r.busy()) return bad("noggin_reasoner_set_think_budget: the reasoner is busy");
        reasoner->r.params().think_budget = think_budget == 0 ? -1 : think_budget < 0 ? 0 : think_budget;
        return ok();
    });
}

NOGGIN_API int noggin_reasoner_poll(noggin_reasoner* reasoner, noggin_event* event) {
    if (reasoner == nullptr || event == nullptr) return 0;
    return noggin_capi::guarded_value<int>(0, [&] {
        if (!reasoner->r.poll(reasoner->polled)) return 0;
        event->type = static_cast<noggin_event_type>(reasoner->polled.type);
        event->reason = static_cast<noggin_stop_reason>(reasoner->polled.reason);
        event->text = reasoner->polled.text.c_str();
        event->text_len = reasoner->polled.text.size();
        return 1;
    });
}

NOGGIN_API const char* noggin_reasoner_thinking_text(const noggin_reasoner* reasoner, size_t* len) {
    const std::string* s = reasoner != nullptr ? &reasoner->r.thinking_text() : nullptr;
    if (len != nullptr) *len = s != nullptr ? s->size() : 0;
    return s != nullptr ? s->c_str() : "";
}
NOGGIN_API const char* noggin_reasoner_answer_text(const noggin_reasoner* reasoner, size_t* len) {
    const std::string* s = reasoner != nullptr ? &reasoner->r.answer_text() : nullptr;
    if (len != nullptr) *len = s != nullptr ? s->size() : 0;
    return s != nullptr ? s->c_str() : "";
}

NOGGIN_API noggin_status noggin_reasoner_turn_status(const noggin_reasoner* reasoner, const char** message) {
    if (reasoner == nullptr) {
        if (message != nullptr) *message = "noggin_reasoner_turn_status: reasoner is NULL";
        return NOGGIN_STATUS_INVALID_ARGUMENT;
    }
    const noggin::status& s = reasoner->r.last_status();
    if (message != nullptr) *message = s.message().c_str();
    return noggin_capi::to_c(s.code());
}

NOGGIN_API noggin_status noggin_reasoner_get_stats(const noggin_reasoner* reasoner, noggin_turn_stats* stats) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (reasoner == nullptr || stats == nullptr) return bad("noggin_reasoner_get_stats: reasoner or stats is NULL");
        const noggin::run::turn_stats& t = reasoner->r.stats();
        noggin_turn_stats full;
        std::memset(static_cast<void*>(&full), 0, sizeof full);
        full.struct_size = sizeof full;
        full.reason = static_cast<std::int32_t>(t.reason);
        full.prompt_tokens = t.prompt_tokens;
        full.prefilled_tokens = t.prefilled_tokens;
        full.thinking_tokens = t.thinking_tokens;
        full.thinking_finish_tokens = t.thinking_finish_tokens;
        full.forced_tokens = t.forced_tokens;
        full.answer_tokens = t.answer_tokens;
        full.waits = t.waits;
        full.think_forced_end = t.think_forced_end ? 1 : 0;
        full.prefill_ms = t.prefill_ms;
        full.think_ms = t.think_ms;
        full.answer_ms = t.answer_ms;
        return write_info(full, stats, "noggin_turn_stats");
    });
}

NOGGIN_API noggin_status noggin_reasoner_save(noggin_reasoner* reasoner, void* buffer, size_t capacity, size_t* size) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (reasoner == nullptr) return bad("noggin_reasoner_save: reasoner is NULL");
        if (reasoner->r.busy()) return bad("noggin_reasoner_save: the reasoner is busy");
        return give_saved(*reasoner, [&] { return reasoner->r.save(); }, buffer, capacity, size);
    });
}

NOGGIN_API noggin_status noggin_reasoner_restore(noggin_reasoner* reasoner, const void* data, size_t size) {
    using namespace noggin_capi;
    return guarded([&]() -> noggin_status {
        if (reasoner == nullptr) return bad("noggin_reasoner_restore: reasoner is NULL");
        if (data == nullptr) return bad("noggin_reasoner_restore: data is NULL");
        reasoner->saved_at = ~std::uint64_t(0);  // a later save serialises afresh, whatever happens here
        const noggin::status s = reasoner->r.restore(static_cast<const std::uint8_t*>(data), size);
        if (s.ok()) ++reasoner->changes;
        return set(s);
    });
}

}  // extern "C"

#endif /* NOGGIN_IMPLEMENTATION */
