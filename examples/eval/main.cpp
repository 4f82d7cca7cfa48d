// noggin-eval — run a model on token ids and dump its logits: the tool for comparing noggin with llama.cpp
// or reference_forward.py on the same ids.
//
//   noggin-eval --model FILE.gguf (--ids 1,2,3 | --ids-file FILE) [--greedy N] [--logits-out FILE]
//               [--threads N] [--kv f16|f32] [--ctx N] [--backend cpu|vulkan]
//
// The prompt runs as one batch; with --greedy N, N tokens are then chosen by argmax, each fed back one
// at a time. --logits-out receives the logits of every evaluated position as raw little-endian float32
// rows of n_vocab: the prompt's positions, then one row per fed-back generated token (prompt + N − 1
// rows). stdout gets one JSON line:
//   {"model": ..., "prompt_ids": [...], "generated_ids": [...], "top5": [[[id, logit] x5] per step]}
// where step i is the logits row that produced generated_ids[i]. Errors go to stderr, exit status 1.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "noggin/core/default_thread_pool.hpp"
#include "noggin/model/backend.hpp"
#include "noggin/model/forward.hpp"

namespace {

void usage() {
    std::fprintf(stderr,
                 "usage: noggin-eval --model FILE.gguf (--ids 1,2,3 | --ids-file FILE) [--greedy N]\n"
                 "                   [--logits-out FILE] [--threads N] [--kv f16|f32] [--ctx N] [--backend cpu|vulkan]\n");
}

int fail(const std::string& message) {
    std::fprintf(stderr, "noggin-eval: %s\n", message.c_str());
    return 1;
}

// Parse ids separated by commas and/or whitespace.
bool parse_ids(const std::string& text, std::vector<std::int32_t>* out, std::string* error) {
    std::string token;
    auto flush = [&]() {
        if (token.empty()) return true;
        char* end = nullptr;
        errno = 0;
        const long v = std::strtol(token.c_str(), &end, 10);
        if (errno != 0 || end == token.c_str() || *end != '\0' || v < 0 || v > 0x7fffffffL) {
            *error = "bad token id '" + token + "'";
            return false;
        }
        out->push_back(static_cast<std::int32_t>(v));
        token.clear();
        return true;
    };
    for (char c : text) {
        if (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            if (!flush()) return false;
        } else {
            token.push_back(c);
        }
    }
    return flush();
}

bool parse_count(const char* s, long lo, long hi, long* out) {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

// The 5 largest logits, best first (ties: lower id first).
std::vector<std::pair<std::int32_t, float>> top5(const float* logits, std::int64_t n) {
    std::vector<std::pair<std::int32_t, float>> best;
    for (std::int64_t i = 0; i < n; ++i) {
        const std::pair<std::int32_t, float> c{static_cast<std::int32_t>(i), logits[i]};
        if (best.size() == 5 && !(c.second > best.back().second)) continue;
        auto at = std::find_if(best.begin(), best.end(), [&](const auto& b) { return c.second > b.second; });
        best.insert(at, c);
        if (best.size() > 5) best.pop_back();
    }
    return best;
}

std::string json_float(float v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
    return buf;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
            continue;
        }
        out += c;
    }
    return out + "\"";
}

std::string json_ids(const std::vector<std::int32_t>& ids) {
    std::string out = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
    return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
    std::string model_path, ids_text, ids_file, logits_out, kv = "f16", backend = "cpu";
    long greedy = 0, threads = 0, ctx_size = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "noggin-eval: %s needs a value\n", name);
                return nullptr;
            }
            return argv[++i];
        };
        const char* v = nullptr;
        if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else if (a == "--model" || a == "--ids" || a == "--ids-file" || a == "--logits-out" || a == "--kv" ||
                   a == "--backend" || a == "--greedy" || a == "--threads" || a == "--ctx") {
            if ((v = value(a.c_str())) == nullptr) return 1;
        } else {
            usage();
            return fail("unknown argument '" + a + "'");
        }
        if (a == "--model") model_path = v;
        if (a == "--ids") ids_text = v;
        if (a == "--ids-file") ids_file = v;
        if (a == "--logits-out") logits_out = v;
        if (a == "--kv") kv = v;
        if (a == "--backend") backend = v;
        if (a == "--greedy" && !parse_count(v, 0, 1 << 20, &greedy)) return fail("--greedy wants a count >= 0");
        if (a == "--threads" && !parse_count(v, 0, 1024, &threads)) return fail("--threads wants 0..1024 (0 = all cores)");
        if (a == "--ctx" && !parse_count(v, 0, 1 << 24, &ctx_size)) return fail("--ctx wants a count >= 0");
    }
    if (model_path.empty()) {
        usage();
        return fail("--model is required");
    }
    if (backend != "cpu" && backend != "vulkan") return fail("unknown backend '" + backend + "' (cpu or vulkan)");
    if (kv != "f16" && kv != "f32") return fail("--kv wants f16 or f32");
    if (ids_text.empty() == ids_file.empty()) return fail("give exactly one of --ids and --ids-file");
    if (!ids_file.empty()) {
        std::ifstream in(ids_file);
        if (!in) return fail("cannot read " + ids_file);
        std::stringstream ss;
        ss << in.rdbuf();
        ids_text = ss.str();
    }
    std::vector<std::int32_t> prompt;
    std::string error;
    if (!parse_ids(ids_text, &prompt, &error)) return fail(error);
    if (prompt.empty()) return fail("no token ids");

    noggin::result<noggin::model::model> m = noggin::model::model::open(model_path);
    if (!m.ok()) return fail(m.status().message());
    const std::int64_t V = m->hparams().n_vocab;

    noggin::default_thread_pool pool(static_cast<std::size_t>(threads));
    noggin::model::context_params cp;
    cp.kv.type = kv == "f32" ? noggin::dtype::f32 : noggin::dtype::f16;
    const std::int64_t needed = static_cast<std::int64_t>(prompt.size()) + greedy;
    cp.kv.n_ctx = ctx_size > 0 ? ctx_size : std::min<std::int64_t>(std::max<std::int64_t>(needed, 1), m->hparams().n_ctx_train);
    cp.pool = pool.hook();
    // --backend vulkan runs there or fails (no silent CPU fallback: the numbers must come from the device).
    noggin::model::runner_params rp;
    rp.which = backend == "vulkan" ? noggin::model::backend::vulkan : noggin::model::backend::cpu;
    rp.fallback_to_cpu = false;
    rp.cpu = cp;
    noggin::result<noggin::model::runner> ctx = noggin::model::runner::create(m.value(), rp);
    if (!ctx.ok()) return fail(ctx.status().message());

    std::FILE* out = nullptr;
    if (!logits_out.empty()) {
        out = std::fopen(logits_out.c_str(), "wb");
        if (out == nullptr) return fail("cannot write " + logits_out);
    }
    auto write_rows = [&](const float* rows, std::size_t n_rows) {
        if (out == nullptr) return true;
        return std::fwrite(rows, sizeof(float) * static_cast<std::size_t>(V), n_rows, out) == n_rows;  // LE hosts
    };

    // Prompt: every row when they are written, else only the last.
    std::vector<float> last(static_cast<std::size_t>(V));
    noggin::status st;
    if (out != nullptr) {
        std::vector<float> all(prompt.size() * static_cast<std::size_t>(V));
        st = ctx->decode_all(prompt.data(), static_cast<std::int64_t>(prompt.size()), all.data());
        if (st.ok()) {
            std::copy(all.end() - V, all.end(), last.begin());
            if (!write_rows(all.data(), prompt.size())) st = noggin::status(noggin::status_code::io_error, "write failed");
        }
    } else {
        st = ctx->decode(prompt.data(), static_cast<std::int64_t>(prompt.size()));
        if (st.ok()) std::copy(ctx->logits(), ctx->logits() + V, last.begin());
    }

    std::vector<std::int32_t> generated;
    std::string steps;
    while (st.ok() && static_cast<long>(generated.size()) < greedy) {
        const auto best = top5(last.data(), V);
        std::string step = "[";
        for (std::size_t k = 0; k < best.size(); ++k)
            step += (k ? ", [" : "[") + std::to_string(best[k].first) + ", " + json_float(best[k].second) + "]";
        steps += (generated.empty() ? "" : ", ") + step + "]";
        const std::int32_t next = best.front().first;
        generated.push_back(next);
        if (static_cast<long>(generated.size()) == greedy) break;
        if (ctx->n_past() >= ctx->n_ctx()) {
            st = noggin::status(noggin::status_code::limit_exceeded, "context full");
            break;
        }
        st = ctx->decode(&next, 1);
        if (st.ok()) {
            std::copy(ctx->logits(), ctx->logits() + V, last.begin());
            if (!write_rows(last.data(), 1)) st = noggin::status(noggin::status_code::io_error, "write failed");
        }
    }
    if (out != nullptr && std::fclose(out) != 0 && st.ok()) st = noggin::status(noggin::status_code::io_error, "close failed");
    if (!st.ok()) return fail(st.message());

    std::string name = model_path;
    const std::size_t slash = name.find_last_of("/\\");
    if (slash != std::string::npos) name = name.substr(slash + 1);
    std::printf("{\"model\": %s, \"n_vocab\": %lld, \"kv\": \"%s\", \"prompt_ids\": %s, \"generated_ids\": %s, \"top5\": [%s]}\n",
                json_string(name).c_str(), static_cast<long long>(V), kv.c_str(), json_ids(prompt).c_str(),
                json_ids(generated).c_str(), steps.c_str());
    return 0;
}
