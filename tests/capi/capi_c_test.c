/* tests/capi/capi_c_test.c — the C API used from C: this file is compiled as C99 with -pedantic -Werror,
 * which proves noggin.h is C-clean, and exercises a whole turn through it. Called by capi_test.cpp.
 * Returns 0 on success, else writes what failed into `err`. */
#include <stdio.h>
#include <string.h>

#include "noggin.h"

int noggin_capi_c_smoke(const char* model_path, char* err, size_t err_size);

typedef struct counts {
    int thinking, answer, done;
    noggin_stop_reason reason;
} counts;

static void count_event(void* user, const noggin_event* e) {
    counts* c = (counts*)user;
    if (e->type == NOGGIN_EVENT_THINKING) ++c->thinking;
    else if (e->type == NOGGIN_EVENT_ANSWER) ++c->answer;
    else {
        ++c->done;
        c->reason = e->reason;
    }
}

#define CHECK_C(cond, what)                                                                     \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            snprintf(err, err_size, "%s (line %d; last error: %s)", what, __LINE__, noggin_last_error()); \
            goto done;                                                                          \
        }                                                                                       \
    } while (0)

int noggin_capi_c_smoke(const char* model_path, char* err, size_t err_size) {
    noggin_model* model = NULL;
    noggin_reasoner* r = NULL;
    noggin_model_desc md = {0};
    noggin_session_desc sd = {0};
    noggin_reasoner_desc rd = {0};
    noggin_model_info info = {0};
    counts c = {0, 0, 0, NOGGIN_STOP_NONE};
    size_t need = 0, len = 0;
    int rc = 1;
    const char* answer;

    CHECK_C(noggin_version() == NOGGIN_VERSION, "version");
    CHECK_C(strcmp(noggin_status_name(NOGGIN_STATUS_FORMAT_ERROR), "format_error") == 0, "status name");
    CHECK_C(noggin_model_load_file("/nonexistent/model.gguf", &md, &model) == NOGGIN_STATUS_IO_ERROR && model == NULL,
            "a missing file is an I/O error");
    CHECK_C(strlen(noggin_last_error()) > 0, "a failure has a message");
    CHECK_C(noggin_model_load_file(model_path, &md, &model) == NOGGIN_STATUS_OK, "load");
    CHECK_C(noggin_last_error()[0] == '\0', "success clears the message");
    CHECK_C(noggin_model_get_info(model, &info) == NOGGIN_STATUS_OK && info.n_vocab == 512 &&
                strcmp(info.architecture, "qwen2") == 0, "model info");

    sd.n_ctx = 256;
    rd.temperature = NOGGIN_GREEDY;
    rd.on_event = count_event;
    rd.user = &c;
    CHECK_C(noggin_reasoner_create(model, &sd, &rd, &r) == NOGGIN_STATUS_OK, "reasoner");
    CHECK_C(noggin_reasoner_ask(r, "What is 4821+937?") == NOGGIN_STATUS_OK, "ask");
    while (noggin_reasoner_step(r, 1000) != NOGGIN_REASONER_IDLE) {
    }
    CHECK_C(c.thinking > 0 && c.answer > 0 && c.done == 1 && c.reason == NOGGIN_STOP_EOS, "events");
    answer = noggin_reasoner_answer_text(r, &len);
    CHECK_C(len > 0 && strstr(answer, "5758") != NULL, "the answer has the sum");
    CHECK_C(noggin_reasoner_save(r, NULL, 0, &need) == NOGGIN_STATUS_OK && need > 0, "save size query");
    rc = 0;
done:
    noggin_reasoner_destroy(r);
    noggin_model_destroy(model);
    return rc;
}
