// noggin-synth — writes GGUF files of any llama/qwen2 shape with random weights, through noggin's own
// GGUF writer and quantizers. Used for benchmarks (the R1-Distill-Qwen-1.5B shape) and compatibility
// checks (llama.cpp must read what it writes).
//
//   noggin-synth --shape r1-distill-qwen-1.5b --type q4_k_m --out r1q-1.5b-q4_k_m.gguf
//   noggin-synth --arch llama --n-embd 256 --n-layer 2 --n-head 8 --n-head-kv 4 --n-ff 768
//                --n-vocab 512 --type q8_0 --out tiny.gguf
//
// Options: --shape NAME (r1-distill-qwen-1.5b, r1-distill-qwen-7b, r1-distill-llama-8b, tiny-qwen2,
// tiny-llama) or --arch llama|qwen2 with --n-embd --n-layer --n-head --n-head-kv --n-ff --n-vocab
// [--rope-base F] [--rms-eps F] [--ctx N] [--tied]; --type f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|
// q3_k|q4_k|q5_k|q6_k|q4_k_m|q5_k_m (mixed types as llama-quantize's recipe lays them out); --seed N;
// --tokenizer DIR (tokenizer.json [+ tokenizer_config.json]; default: ../shared/tokenizers/
// deepseek-r1-distill-qwen when present and the vocabulary fits, else a minimal byte vocabulary).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "noggin/cpu/quants.hpp"
#include "noggin/formats/gguf.hpp"
#include "noggin/text/tokenizer_json.hpp"

namespace {

struct shape {
    std::string arch = "qwen2";  // "llama" or "qwen2"
    int n_embd = 256;
    int n_layer = 2;
    int n_head = 8;
    int n_head_kv = 4;
    int n_ff = 768;
    int n_vocab = 512;
    int n_ctx = 4096;           // context_length written to the file
    float rope_base = 10000.0f;
    float rms_eps = 1e-6f;
    bool tied = false;          // no output.weight: the output reuses token_embd
    bool llama3_rope = false;   // write rope_freqs.weight (llama3 scaling: factor 8, low 1, high 4, 8192)
};

bool shape_by_name(const std::string& name, shape* s) {
    if (name == "r1-distill-qwen-1.5b") {
        *s = shape{"qwen2", 1536, 28, 12, 2, 8960, 151936, 131072, 10000.0f, 1e-6f, false, false};
    } else if (name == "r1-distill-qwen-7b") {
        *s = shape{"qwen2", 3584, 28, 28, 4, 18944, 152064, 131072, 10000.0f, 1e-6f, false, false};
    } else if (name == "r1-distill-llama-8b") {
        *s = shape{"llama", 4096, 32, 32, 8, 14336, 128256, 131072, 500000.0f, 1e-5f, false, true};
    } else if (name == "tiny-qwen2") {
        *s = shape{"qwen2", 256, 2, 8, 4, 768, 512, 4096, 10000.0f, 1e-6f, false, false};
    } else if (name == "tiny-llama") {
        *s = shape{"llama", 256, 2, 8, 4, 768, 512, 4096, 500000.0f, 1e-5f, false, true};
    } else {
        return false;
    }
    return true;
}

// GGUF general.file_type values (llama.cpp's llama_ftype) for the names we accept.
struct file_type {
    const char* name;
    noggin::dtype base;  // type of most matrices
    int ftype;           // general.file_type
    bool k_mix;          // *_K_M: Q6_K for output, and for attn_v / ffn_down in "more bits" layers
};
const file_type file_types[] = {
    {"f32", noggin::dtype::f32, 0, false},    {"f16", noggin::dtype::f16, 1, false},
    {"bf16", noggin::dtype::bf16, 32, false}, {"q8_0", noggin::dtype::q8_0, 7, false},
    {"q4_0", noggin::dtype::q4_0, 2, false},  {"q4_1", noggin::dtype::q4_1, 3, false},
    {"q5_0", noggin::dtype::q5_0, 8, false},  {"q5_1", noggin::dtype::q5_1, 9, false},
    {"q2_k", noggin::dtype::q2_k, 10, false}, {"q3_k", noggin::dtype::q3_k, 12, false},
    {"q4_k", noggin::dtype::q4_k, 14, false}, {"q5_k", noggin::dtype::q5_k, 16, false},
    {"q6_k", noggin::dtype::q6_k, 18, false}, {"q4_k_m", noggin::dtype::q4_k, 15, true},
    {"q5_k_m", noggin::dtype::q5_k, 17, true},
};

// llama-quantize's "use more bits" layers for *_K_M: the first and last eighth, and every third between.
bool more_bits_layer(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// Deterministic normal-ish weights (sum of uniforms), fast enough for billions of values.
struct rng {
    std::uint64_t state;
    float uniform() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return static_cast<float>(state >> 40) / 16777216.0f;
    }
    float normal() { return (uniform() + uniform() + uniform() + uniform() - 2.0f) * 1.7320508f; }
};

struct synth {
    synth(const shape& sh, const file_type& f, std::uint64_t seed) : s(sh), ft(f) { random.state ^= seed * 0x2545f4914f6cdd1dull; }
    shape s;
    file_type ft;
    rng random{0x9e3779b97f4a7c15ull};
    noggin::gguf::writer out;
    std::vector<float> values;
    std::vector<unsigned char> packed;

    // A matrix of `rows` rows of `cols` values, normal with standard deviation `scale`, stored as `t`
    // (falling back to Q8_0 / F16 when rows are not whole blocks of t, as llama-quantize does).
    noggin::status matrix(const std::string& name, std::int64_t cols, std::int64_t rows, noggin::dtype t, float scale) {
        std::uint64_t row_bytes = 0;
        if (!noggin::row_bytes(t, static_cast<std::uint64_t>(cols), &row_bytes)) {
            t = noggin::row_bytes(noggin::dtype::q8_0, static_cast<std::uint64_t>(cols), &row_bytes) ? noggin::dtype::q8_0
                                                                                                      : noggin::dtype::f16;
            noggin::row_bytes(t, static_cast<std::uint64_t>(cols), &row_bytes);
        }
        values.resize(static_cast<std::size_t>(cols));
        packed.resize(static_cast<std::size_t>(row_bytes * static_cast<std::uint64_t>(rows)));
        for (std::int64_t r = 0; r < rows; ++r) {
            for (float& v : values) v = random.normal() * scale;
            if (!noggin::cpu::quantize_row(t, values.data(), packed.data() + static_cast<std::size_t>(r) * row_bytes, cols))
                return noggin::status(noggin::status_code::unsupported, noggin::str("no quantizer for ", noggin::dtype_name(t)));
        }
        return out.add_tensor(name, t, {cols, rows}, packed.data(), packed.size());
    }
    // A 1-D F32 vector: `center` plus noise of `scale`.
    noggin::status vector(const std::string& name, std::int64_t n, float center, float scale) {
        values.resize(static_cast<std::size_t>(n));
        for (float& v : values) v = center + random.normal() * scale;
        return out.add_tensor(name, noggin::dtype::f32, {n}, values.data(), values.size() * 4);
    }
};

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Tokenizer metadata: the real tokenizer from `dir` when it fits n_vocab, else a byte vocabulary.
noggin::status add_tokenizer(noggin::gguf::writer& w, const std::string& dir, const shape& s, std::string* what) {
    const std::string json = dir.empty() ? std::string() : read_text(dir + "/tokenizer.json");
    const std::string config = dir.empty() ? std::string() : read_text(dir + "/tokenizer_config.json");
    std::vector<std::string> tokens;
    std::vector<std::int32_t> types;
    if (!json.empty()) {
        noggin::result<noggin::text::vocab_spec> spec = noggin::text::vocab_spec_from_json(json, config);
        if (!spec.ok()) return noggin::status(spec.status()).with_context(dir + "/tokenizer.json");
        if (spec->tokens.size() <= static_cast<std::size_t>(s.n_vocab) &&
            spec->kind == noggin::text::tokenizer_kind::byte_level_bpe) {
            tokens = spec->tokens;
            for (std::size_t i = 0; i < tokens.size(); ++i)
                types.push_back(spec->types.empty() ? 1 : static_cast<std::int32_t>(spec->types[i]));
            for (std::size_t i = tokens.size(); i < static_cast<std::size_t>(s.n_vocab); ++i) {
                tokens.push_back("[PAD" + std::to_string(i) + "]");
                types.push_back(static_cast<std::int32_t>(noggin::text::token_type::unused));
            }
            std::vector<std::string> merges;
            merges.reserve(spec->merges.size());
            for (const auto& m : spec->merges) merges.push_back(m.first + " " + m.second);
            w.add_string("tokenizer.ggml.model", "gpt2");
            w.add_string("tokenizer.ggml.pre", spec->nfc ? "deepseek-r1-qwen" : noggin::text::pre_tokenizer_name(spec->pre));
            w.add_string_array("tokenizer.ggml.tokens", tokens);
            w.add_i32_array("tokenizer.ggml.token_type", types);
            w.add_string_array("tokenizer.ggml.merges", merges);
            if (spec->bos_id >= 0) w.add_u32("tokenizer.ggml.bos_token_id", static_cast<std::uint32_t>(spec->bos_id));
            if (spec->eos_id >= 0) w.add_u32("tokenizer.ggml.eos_token_id", static_cast<std::uint32_t>(spec->eos_id));
            if (spec->pad_id >= 0) w.add_u32("tokenizer.ggml.padding_token_id", static_cast<std::uint32_t>(spec->pad_id));
            w.add_bool("tokenizer.ggml.add_bos_token", spec->add_bos);
            w.add_bool("tokenizer.ggml.add_eos_token", spec->add_eos);
            // The chat template, when tokenizer_config.json has one as a plain string.
            noggin::result<noggin::text::json_value> cfg = noggin::text::json_parse(config);
            if (cfg.ok()) {
                const noggin::text::json_value* t = cfg->find("chat_template");
                if (t != nullptr && t->is_string()) w.add_string("tokenizer.chat_template", t->as_string());
            }
            *what = dir + " (" + std::to_string(spec->tokens.size()) + " tokens, padded to " + std::to_string(s.n_vocab) + ")";
            return noggin::status();
        }
    }
    // Minimal byte-level vocabulary: the 256 GPT-2 byte characters, then padding; no merges.
    for (int b = 0; b < 256 && static_cast<int>(tokens.size()) < s.n_vocab; ++b) {
        tokens.push_back(noggin::text::tok_detail::map_bytes(std::string(1, static_cast<char>(b))));
        types.push_back(1);
    }
    for (std::size_t i = tokens.size(); i < static_cast<std::size_t>(s.n_vocab); ++i) {
        tokens.push_back("[PAD" + std::to_string(i) + "]");
        types.push_back(static_cast<std::int32_t>(noggin::text::token_type::unused));
    }
    w.add_string("tokenizer.ggml.model", "gpt2");
    w.add_string("tokenizer.ggml.pre", "qwen2");
    w.add_string_array("tokenizer.ggml.tokens", tokens);
    w.add_i32_array("tokenizer.ggml.token_type", types);
    w.add_string_array("tokenizer.ggml.merges", {});
    *what = "a minimal byte vocabulary";
    return noggin::status();
}

noggin::status write_model(const shape& s, const file_type& ft, std::uint64_t seed, const std::string& tokenizer_dir,
                           const std::string& path) {
    synth g(s, ft, seed);
    noggin::gguf::writer& w = g.out;
    const std::string a = s.arch;
    const int head_dim = s.n_embd / s.n_head;
    w.add_string("general.architecture", a);
    w.add_string("general.name", "noggin-synth random " + a);
    w.add_u32("general.file_type", static_cast<std::uint32_t>(ft.ftype));
    w.add_u32("general.quantization_version", 2);
    w.add_u32(a + ".context_length", static_cast<std::uint32_t>(s.n_ctx));
    w.add_u32(a + ".embedding_length", static_cast<std::uint32_t>(s.n_embd));
    w.add_u32(a + ".block_count", static_cast<std::uint32_t>(s.n_layer));
    w.add_u32(a + ".feed_forward_length", static_cast<std::uint32_t>(s.n_ff));
    w.add_u32(a + ".attention.head_count", static_cast<std::uint32_t>(s.n_head));
    w.add_u32(a + ".attention.head_count_kv", static_cast<std::uint32_t>(s.n_head_kv));
    w.add_f32(a + ".rope.freq_base", s.rope_base);
    w.add_f32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
    if (a == "llama") {
        w.add_u32(a + ".rope.dimension_count", static_cast<std::uint32_t>(head_dim));
        w.add_u32(a + ".vocab_size", static_cast<std::uint32_t>(s.n_vocab));
    }
    std::string tokenizer_what;
    NOGGIN_TRY(add_tokenizer(w, tokenizer_dir, s, &tokenizer_what));

    const noggin::dtype base = ft.base;
    const noggin::dtype more = ft.k_mix ? noggin::dtype::q6_k : base;
    const float w_scale = 0.02f;
    // token_embd: base type; with a tied output it is the output matrix too and gets Q6_K in *_K_M.
    NOGGIN_TRY(g.matrix("token_embd.weight", s.n_embd, s.n_vocab, s.tied ? more : base, w_scale));
    NOGGIN_TRY(g.vector("output_norm.weight", s.n_embd, 1.0f, 0.05f));
    if (!s.tied) NOGGIN_TRY(g.matrix("output.weight", s.n_embd, s.n_vocab, more, w_scale));
    if (s.llama3_rope) {
        // llama3 scaling: factor 8, low_freq_factor 1, high_freq_factor 4, original context 8192.
        std::vector<float> factors(static_cast<std::size_t>(head_dim / 2));
        const double pi = 3.14159265358979323846;
        for (int i = 0; i < head_dim / 2; ++i) {
            const double freq = std::pow(static_cast<double>(s.rope_base), -2.0 * i / head_dim);
            const double wavelen = 2 * pi / freq;
            const double low_wavelen = 8192.0 / 1.0, high_wavelen = 8192.0 / 4.0;
            double f = 1.0;
            if (wavelen > low_wavelen) f = 8.0;
            else if (wavelen > high_wavelen) {
                const double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
                f = 1.0 / ((1 - smooth) / 8.0 + smooth);
            }
            factors[static_cast<std::size_t>(i)] = static_cast<float>(f);
        }
        NOGGIN_TRY(w.add_tensor("rope_freqs.weight", noggin::dtype::f32, {head_dim / 2}, factors.data(), factors.size() * 4));
    }
    const std::int64_t q_dim = static_cast<std::int64_t>(head_dim) * s.n_head;
    const std::int64_t kv_dim = static_cast<std::int64_t>(head_dim) * s.n_head_kv;
    for (int i = 0; i < s.n_layer; ++i) {
        const std::string p = "blk." + std::to_string(i) + ".";
        const bool more_bits = ft.k_mix && more_bits_layer(i, s.n_layer);
        NOGGIN_TRY(g.vector(p + "attn_norm.weight", s.n_embd, 1.0f, 0.05f));
        NOGGIN_TRY(g.matrix(p + "attn_q.weight", s.n_embd, q_dim, base, w_scale));
        NOGGIN_TRY(g.matrix(p + "attn_k.weight", s.n_embd, kv_dim, base, w_scale));
        NOGGIN_TRY(g.matrix(p + "attn_v.weight", s.n_embd, kv_dim, more_bits ? more : base, w_scale));
        if (a == "qwen2") {
            NOGGIN_TRY(g.vector(p + "attn_q.bias", q_dim, 0.0f, 0.02f));
            NOGGIN_TRY(g.vector(p + "attn_k.bias", kv_dim, 0.0f, 0.02f));
            NOGGIN_TRY(g.vector(p + "attn_v.bias", kv_dim, 0.0f, 0.02f));
        }
        NOGGIN_TRY(g.matrix(p + "attn_output.weight", q_dim, s.n_embd, base, w_scale));
        NOGGIN_TRY(g.vector(p + "ffn_norm.weight", s.n_embd, 1.0f, 0.05f));
        NOGGIN_TRY(g.matrix(p + "ffn_gate.weight", s.n_embd, s.n_ff, base, w_scale));
        NOGGIN_TRY(g.matrix(p + "ffn_up.weight", s.n_embd, s.n_ff, base, w_scale));
        NOGGIN_TRY(g.matrix(p + "ffn_down.weight", s.n_ff, s.n_embd, more_bits ? more : base, w_scale));
    }
    NOGGIN_TRY(w.write_to_file(path));
    std::printf("noggin-synth: wrote %s (%s, %s, tokenizer: %s)\n", path.c_str(), a.c_str(), ft.name, tokenizer_what.c_str());
    return noggin::status();
}

int usage() {
    std::fprintf(stderr,
                 "usage: noggin-synth (--shape NAME | --arch llama|qwen2 --n-embd N --n-layer N --n-head N --n-head-kv N\n"
                 "                     --n-ff N --n-vocab N [--rope-base F] [--rms-eps F] [--ctx N] [--tied])\n"
                 "                     --type TYPE [--seed N] [--tokenizer DIR] --out FILE\n"
                 "shapes: r1-distill-qwen-1.5b r1-distill-qwen-7b r1-distill-llama-8b tiny-qwen2 tiny-llama\n"
                 "types:  f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k q4_k_m q5_k_m\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    shape s;
    const file_type* ft = nullptr;
    std::string out, tokenizer_dir;
    bool tokenizer_given = false;
    std::uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
        auto need = [&]() -> const char* {
            if (value == nullptr) {
                std::fprintf(stderr, "noggin-synth: %s needs a value\n", arg.c_str());
                std::exit(2);
            }
            ++i;
            return value;
        };
        if (arg == "--shape") {
            if (!shape_by_name(need(), &s)) return usage();
        } else if (arg == "--arch") {
            s.arch = need();
            if (s.arch != "llama" && s.arch != "qwen2") return usage();
            s.llama3_rope = false;
        } else if (arg == "--n-embd") s.n_embd = std::atoi(need());
        else if (arg == "--n-layer") s.n_layer = std::atoi(need());
        else if (arg == "--n-head") s.n_head = std::atoi(need());
        else if (arg == "--n-head-kv") s.n_head_kv = std::atoi(need());
        else if (arg == "--n-ff") s.n_ff = std::atoi(need());
        else if (arg == "--n-vocab") s.n_vocab = std::atoi(need());
        else if (arg == "--ctx") s.n_ctx = std::atoi(need());
        else if (arg == "--rope-base") s.rope_base = static_cast<float>(std::atof(need()));
        else if (arg == "--rms-eps") s.rms_eps = static_cast<float>(std::atof(need()));
        else if (arg == "--tied") s.tied = true;
        else if (arg == "--seed") seed = std::strtoull(need(), nullptr, 10);
        else if (arg == "--tokenizer") {
            tokenizer_dir = need();
            tokenizer_given = true;
        } else if (arg == "--out") out = need();
        else if (arg == "--type") {
            const std::string t = need();
            for (const file_type& f : file_types)
                if (t == f.name) ft = &f;
            if (ft == nullptr) return usage();
        } else {
            return usage();
        }
    }
    if (ft == nullptr || out.empty() || s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 ||
        s.n_ff <= 0 || s.n_vocab <= 0 || s.n_embd % s.n_head != 0 || s.n_head % s.n_head_kv != 0)
        return usage();
    if (!tokenizer_given) {
        const std::string shared = "../shared/tokenizers/deepseek-r1-distill-qwen";
        if (!read_text(shared + "/tokenizer.json").empty()) tokenizer_dir = shared;
    }
    const noggin::status st = write_model(s, *ft, seed, tokenizer_dir, out);
    if (!st.ok()) {
        std::fprintf(stderr, "noggin-synth: %s\n", st.message().c_str());
        return 1;
    }
    return 0;
}
