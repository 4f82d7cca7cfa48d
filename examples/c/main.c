/* examples/c/main.c — noggin from plain C99: load the bundled tiny reasoner, ask it a sum, and print its
 * thinking apart from its answer, stepping the model a few milliseconds at a time as a game loop would.
 *
 *     noggin-c-example [MODEL.gguf] [QUESTION]
 *     (defaults: models/noggin-tiny-reasoner.gguf, "What is 4821+937?")
 *
 * It links against one C++ unit holding the implementation (src/noggin_c.cpp, the `noggin_c` target):
 * everything here is C, compiled with -std=c99 -pedantic -Werror.
 */
#include <stdio.h>

#include <noggin.h>

static void on_log(void* user, noggin_log_level level, const char* message) {
    (void)user;
    fprintf(stderr, "noggin[%d]: %s\n", (int)level, message);
}

static int fail(const char* what) {
    fprintf(stderr, "noggin-c-example: %s: %s (%s)\n", what, noggin_last_error(), noggin_status_name(noggin_last_status()));
    return 1;
}

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "models/noggin-tiny-reasoner.gguf";
    const char* question = argc > 2 ? argv[2] : "What is 4821+937?";
    noggin_model_desc md = {0};
    noggin_session_desc sd = {0};
    noggin_reasoner_desc rd = {0};
    noggin_turn_stats stats = {0};
    noggin_model* model = NULL;
    noggin_reasoner* reasoner = NULL;
    noggin_event e;
    noggin_reasoner_state state;
    int section = 0; /* 0: nothing printed yet, 1: thinking, 2: answer */
    int frames = 0;

    printf("noggin %s (C API)\n", noggin_version_string());
    md.log = on_log;
    md.log_min_level = NOGGIN_LOG_WARNING;
    if (noggin_model_load_file(path, &md, &model) != NOGGIN_STATUS_OK) return fail(path);

    sd.n_ctx = 512;                /* the tiny model's context */
    rd.temperature = NOGGIN_GREEDY; /* the tiny model answers best greedily */
    if (noggin_reasoner_create(model, &sd, &rd, &reasoner) != NOGGIN_STATUS_OK) {
        noggin_model_destroy(model);
        return fail("reasoner");
    }

    printf("question: %s\n", question);
    if (noggin_reasoner_ask(reasoner, question) != NOGGIN_STATUS_OK) {
        noggin_reasoner_destroy(reasoner);
        noggin_model_destroy(model);
        return fail("ask");
    }
    do {
        state = noggin_reasoner_step(reasoner, 4000); /* one "frame": about 4 ms of work */
        ++frames;
        while (noggin_reasoner_poll(reasoner, &e)) {
            if (e.type == NOGGIN_EVENT_THINKING) {
                if (section == 0) fputs("--- thinking ---\n", stdout);
                section = 1;
                fputs(e.text, stdout);
            } else if (e.type == NOGGIN_EVENT_ANSWER) {
                if (section != 2) fputs("\n--- answer ---\n", stdout);
                section = 2;
                fputs(e.text, stdout);
            } else {
                noggin_reasoner_get_stats(reasoner, &stats);
                printf("\n--- done: %s (%lld thinking + %lld forced + %lld answer tokens, %d frames) ---\n",
                       noggin_stop_reason_name(e.reason), (long long)stats.thinking_tokens,
                       (long long)stats.forced_tokens, (long long)stats.answer_tokens, frames);
            }
        }
        fflush(stdout);
    } while (state != NOGGIN_REASONER_IDLE);

    if (noggin_reasoner_turn_status(reasoner, NULL) != NOGGIN_STATUS_OK) {
        const char* why = "";
        noggin_reasoner_turn_status(reasoner, &why);
        fprintf(stderr, "noggin-c-example: the turn failed: %s\n", why);
        noggin_reasoner_destroy(reasoner);
        noggin_model_destroy(model);
        return 1;
    }
    noggin_reasoner_destroy(reasoner);
    noggin_model_destroy(model);
    return 0;
}
