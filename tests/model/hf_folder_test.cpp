// Hugging Face folders: each GGUF test model is written as an HF folder by noggin-gguf-to-hf's code
// (tools/gguf_to_hf/convert.hpp: one model.safetensors, and sharded with an index), loaded back with
// model::open_hf / open_hf_text, and compared with its GGUF twin: the same hyper-parameters, the same
// token ids (plain texts, special tokens, chat renderings) and the same logits at every position of
// several prompts (NMSE ≤ 1e-6, same argmax). Bad folders (missing shard, wrong dtype, shape mismatch,
// truncated shard, hostile header length, bad JSON, shard paths leaving the folder) give a status that
// names the file and the field, never a crash. config.json parsing is checked field by field.
// Models: llama-small-f32, qwen2-small-f32, qwen3-small-f16 from ../shared (skipped when absent) and the
// bundled models/noggin-tiny-reasoner.gguf (F16, always run).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "noggin/core/half.hpp"
#include "noggin/formats/safetensors.hpp"
#include "noggin/model/forward.hpp"
#include "noggin/model/hf_config.hpp"
#include "noggin/model/hf_folder.hpp"
#include "noggin/text/chat_template.hpp"
#include "noggin/text/tokenizer_gguf.hpp"
#include "support/shared_data.hpp"

#include "../../tools/gguf_to_hf/convert.hpp"

using namespace noggin;
namespace fs = std::filesystem;

namespace {

std::string repo_root() {
    std::string here = __FILE__;
    return here.substr(0, here.rfind("tests/model/"));
}

// A fresh directory under the system temp dir, removed at scope exit.
struct temp_dir {
    std::string path;
    explicit temp_dir(const std::string& tag) {
        const auto t = std::chrono::steady_clock::now().time_since_epoch().count();
        path = (fs::temp_directory_path() / ("noggin_hf_" + tag + "_" + std::to_string(t))).string();
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return path + "/" + name; }
};

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
void write_all(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}
std::string replace_once(std::string s, const std::string& from, const std::string& to) {
    const std::size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

std::vector<std::int32_t> encode(const text::tokenizer& t, const std::string& s, bool special) {
    text::encode_options o;
    o.add_special = special;
    o.parse_special = special;
    result<std::vector<text::token_id>> ids = t.encode(s, o);
    REQUIRE(ids.ok());
    return std::vector<std::int32_t>(ids->begin(), ids->end());
}

std::vector<float> logits_all(const model::model& m, const std::vector<std::int32_t>& ids) {
    model::context_params cp;
    cp.kv.n_ctx = 256;
    cp.kv.type = dtype::f32;
    result<model::context> ctx = model::context::create(m, cp);
    REQUIRE(ctx.ok());
    std::vector<float> out(ids.size() * static_cast<std::size_t>(m.hparams().n_vocab));
    REQUIRE(ctx->decode_all(ids.data(), static_cast<std::int64_t>(ids.size()), out.data()).ok());
    return out;
}

const char* const texts[] = {
    "Hello world",
    "The quick brown fox jumps over the lazy dog. 4821 + 937 = 5758, and 123456 - 654321 < 0!",
    "  leading spaces,\ttabs\nand\n\nnewlines   ",
    "h\xC3\xA9llo w\xC3\xB6rld \xE2\x80\x94 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80 e\xCC\x81",
    "<think>\nLet me add the digits.\n</think>\n\nThe answer is 42.",
    "<s>a bos inside</s> text <\xEF\xBD\x9C" "User\xEF\xBD\x9C>hi<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>",
};

struct twin_result {
    double worst_nmse = 0;
    int prompts = 0;
    std::int64_t positions = 0;
};

// Write the folder for `gguf_path`, load both, compare everything.
void check_twin(const std::string& gguf_path, std::uint64_t shard_bytes, twin_result* r) {
    temp_dir d(fs::path(gguf_path).stem().string() + (shard_bytes ? "_sharded" : ""));
    noggin_tools::hf_write_options o;
    o.shard_bytes = shard_bytes;
    const status written = noggin_tools::gguf_to_hf(gguf_path, d.path, o);
    INFO(written.message());
    REQUIRE(written.ok());
    CHECK(fs::exists(d.file(shard_bytes ? "model.safetensors.index.json" : "model.safetensors")));

    result<model::model> g = model::model::open(gguf_path);
    REQUIRE(g.ok());
    result<model::model> h = model::open_hf(d.path);
    INFO(h.status().message());
    REQUIRE(h.ok());
    const model::hparams &a = g->hparams(), &b = h->hparams();
    CHECK(a.architecture == b.architecture);
    CHECK(a.n_vocab == b.n_vocab);
    CHECK(a.n_embd == b.n_embd);
    CHECK(a.n_layer == b.n_layer);
    CHECK(a.n_head == b.n_head);
    CHECK(a.n_head_kv == b.n_head_kv);
    CHECK(a.head_dim == b.head_dim);
    CHECK(a.n_ff == b.n_ff);
    CHECK(a.n_ctx_train == b.n_ctx_train);
    CHECK(a.rms_eps == b.rms_eps);
    CHECK(a.n_rot == b.n_rot);
    CHECK(a.rope_freq_base == b.rope_freq_base);
    CHECK(a.rope_freq_scale == b.rope_freq_scale);
    CHECK(b.rope_mode == cpu::rope_mode::neox);  // llama too: HF row order (see hf_config.hpp)
    CHECK(g->weights().tied_output == h->weights().tied_output);
    REQUIRE((g->weights().rope_freqs == nullptr) == (h->weights().rope_freqs == nullptr));
    if (g->weights().rope_freqs != nullptr)
        for (std::int64_t i = 0; i < a.n_rot / 2; ++i)
            CHECK(std::fabs(g->weights().rope_freqs[i] - h->weights().rope_freqs[i]) <= 1e-6f * g->weights().rope_freqs[i]);
    // Matrices are used in place from the mapping (same dtype as the GGUF's).
    CHECK(h->weights().layers[0].wq.type == g->weights().layers[0].wq.type);
    CHECK(h->weights().token_embd.type == g->weights().token_embd.type);

    // Tokenizer and chat template.
    result<text::tokenizer> gt = text::tokenizer_from_gguf(g->file());
    REQUIRE(gt.ok());
    result<text::chat_text> ht = model::open_hf_text(d.path);
    INFO(ht.status().message());
    REQUIRE(ht.ok());
    const text::tokenizer& htok = ht->tokenizer;
    CHECK(htok.bos_id() == gt->bos_id());
    CHECK(htok.eos_id() == gt->eos_id());
    std::vector<std::vector<std::int32_t>> prompts;
    for (const char* t : texts) {
        for (bool special : {false, true}) {
            const std::string text_shown = t;
            CAPTURE(text_shown);
            CAPTURE(special);
            const std::vector<std::int32_t> want = encode(gt.value(), t, special), got = encode(htok, t, special);
            CHECK(want == got);
            if (special) prompts.push_back(want);
        }
    }
    result<std::string_view> src = g->file().get_string("tokenizer.chat_template");
    result<text::chat_template> gchat =
        text::chat_template::from_source_or_builtin(src.ok() ? src.value() : std::string_view(), text::chat_builtin::deepseek_r1);
    REQUIRE(gchat.ok());
    gchat->set_special_tokens(gt->bos_id() >= 0 ? std::string(gt->token_text(gt->bos_id())) : std::string(),
                              gt->eos_id() >= 0 ? std::string(gt->token_text(gt->eos_id())) : std::string());
    CHECK(gchat->is_builtin() == ht->chat.is_builtin());
    CHECK(gchat->source() == ht->chat.source());
    const std::vector<text::chat_message> chats[] = {
        {{"user", "What is 4821+937?"}},
        {{"system", "Be brief."}, {"user", "Which is larger, 71 or 17?"}, {"assistant", "<think>\nCompare tens.\n</think>\n\n71"},
         {"user", "And 9 or 90?"}},
    };
    for (const auto& conv : chats) {
        text::chat_params p;
        p.add_generation_prompt = true;
        result<std::string> want = gchat->render(conv, p), got = ht->chat.render(conv, p);
        REQUIRE(want.ok());
        REQUIRE(got.ok());
        CHECK(want.value() == got.value());
        const std::vector<std::int32_t> ids = encode(gt.value(), want.value(), true);
        CHECK(ids == encode(htok, got.value(), true));
        prompts.push_back(ids);
    }

    // Logits at every position.
    const std::int64_t V = a.n_vocab;
    for (std::vector<std::int32_t> ids : prompts) {
        if (ids.size() > 200) ids.resize(200);
        if (ids.empty()) continue;
        const std::vector<float> lg = logits_all(g.value(), ids), lh = logits_all(h.value(), ids);
        double num = 0, den = 0;
        int argmax_diff = 0;
        for (std::size_t t = 0; t < ids.size(); ++t) {
            const float* x = lg.data() + t * static_cast<std::size_t>(V);
            const float* y = lh.data() + t * static_cast<std::size_t>(V);
            std::int64_t ax = 0, ay = 0;
            for (std::int64_t v = 0; v < V; ++v) {
                num += (double(x[v]) - y[v]) * (double(x[v]) - y[v]);
                den += double(x[v]) * x[v];
                if (x[v] > x[ax]) ax = v;
                if (y[v] > y[ay]) ay = v;
            }
            argmax_diff += ax != ay;
        }
        const double nmse = num / den;
        CHECK(nmse <= 1e-6);
        CHECK(argmax_diff == 0);
        r->worst_nmse = std::max(r->worst_nmse, nmse);
        r->prompts += 1;
        r->positions += static_cast<std::int64_t>(ids.size());
    }
}

void run_twin(const std::string& path) {
    for (std::uint64_t shard : {std::uint64_t(0), std::uint64_t(700000)}) {
        twin_result r;
        CAPTURE(shard);
        check_twin(path, shard, &r);
        char nmse[32];
        std::snprintf(nmse, sizeof nmse, "%.3g", r.worst_nmse);
        const std::string line = str(fs::path(path).filename().string(), shard ? " (sharded)" : "", ": worst NMSE ", nmse,
                                     " over ", r.prompts, " prompts, ", r.positions, " positions");
        MESSAGE(line);
    }
}

const char* const minimal_config = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256, "intermediate_size": 768,
  "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 4, "max_position_embeddings": 131072,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "vocab_size": 512, "hidden_act": "silu",
  "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192}
})";

void expect_config_error(const std::string& json, status_code code, std::initializer_list<const char*> parts) {
    result<model::hf_config> c = model::read_hf_config(json);
    CAPTURE(json);
    REQUIRE_FALSE(c.ok());
    CAPTURE(c.status().message());
    CHECK(c.status().code() == code);
    CHECK(c.status().message().rfind("config.json", 0) == 0);
    for (const char* p : parts) CHECK(c.status().message().find(p) != std::string::npos);
}

}  // namespace

TEST_CASE("hf folder: the bundled tiny reasoner (F16) and its HF twin give the same ids and logits") {
    run_twin(repo_root() + "models/noggin-tiny-reasoner.gguf");
}

TEST_CASE("hf folder: llama-small (llama3 RoPE, un-permuted q/k), qwen2-small (biases, tied), qwen3-small (q/k norm)") {
    if (!noggin_test::shared_dir()) {
        NOGGIN_SKIP_WITHOUT_SHARED();
        return;
    }
    for (std::string name : {"llama-small-f32", "qwen2-small-f32", "qwen3-small-f16"}) {
        CAPTURE(name);
        run_twin(*noggin_test::shared_path("models/" + name + ".gguf"));
    }
}

TEST_CASE("hf config: fields, defaults and errors naming config.json and the field") {
    result<model::hf_config> c = model::read_hf_config(minimal_config);
    REQUIRE(c.ok());
    CHECK(c->architecture == "LlamaForCausalLM");
    CHECK(c->hp.head_dim == 32);
    CHECK(c->hp.n_ctx_train == 131072);
    CHECK(c->hp.rms_eps == 1e-5f);
    CHECK(c->rope_freqs.size() == 16);
    CHECK(c->rope_freqs.front() == 1.0f);  // short wavelengths unscaled
    CHECK(c->rope_freqs.back() == 8.0f);   // long ones divided by the factor
    CHECK_FALSE(c->tie_word_embeddings);
    CHECK_FALSE(c->attention_bias);
    // Same factors as make_models.py wrote into llama-small's rope_freqs.weight (when available).
    if (auto p = noggin_test::shared_path("models/llama-small-f32.gguf")) {
        result<model::model> m = model::model::open(*p);
        REQUIRE(m.ok());
        for (std::size_t i = 0; i < c->rope_freqs.size(); ++i)
            CHECK(std::fabs(c->rope_freqs[i] - m->weights().rope_freqs[i]) <= 1e-6f * m->weights().rope_freqs[i]);
    }
    // Qwen3 default head_dim is 128; Qwen2 always has biases.
    c = model::read_hf_config(R"({"architectures":["Qwen3ForCausalLM"],"hidden_size":512,"intermediate_size":1024,
        "num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":4096,"rms_norm_eps":1e-6,"vocab_size":100})");
    REQUIRE(c.ok());
    CHECK(c->hp.head_dim == 128);
    CHECK(c->hp.n_head_kv == 4);
    CHECK(c->hp.rope_freq_base == 10000.0f);
    c = model::read_hf_config(R"({"model_type":"qwen2","hidden_size":64,"intermediate_size":96,"num_hidden_layers":1,
        "num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":64,"rms_norm_eps":1e-6,"vocab_size":10,
        "rope_scaling":{"type":"linear","factor":4.0},"tie_word_embeddings":true})");
    REQUIRE(c.ok());
    CHECK(c->attention_bias);
    CHECK(c->tie_word_embeddings);
    CHECK(c->hp.rope_freq_scale == 0.25f);

    for (const char* field : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
                              "max_position_embeddings", "rms_norm_eps"}) {
        std::string j = minimal_config;
        const std::size_t at = j.find(std::string("\"") + field + "\"");
        REQUIRE(at != std::string::npos);
        j.replace(at, 1 + std::string(field).size() + 1, std::string("\"x_") + field + "\"");
        expect_config_error(j, status_code::format_error, {"field '", field, "' is missing"});
    }
    const std::string base = minimal_config;
    expect_config_error(replace_once(base, "LlamaForCausalLM", "GPT2LMHeadModel"), status_code::unsupported, {"architectures", "GPT2LMHeadModel"});
    expect_config_error(replace_once(base, "\"llama3\"", "\"yarn\""), status_code::unsupported, {"rope_scaling.rope_type", "yarn"});
    expect_config_error(replace_once(base, "\"low_freq_factor\"", "\"lowfreq\""), status_code::format_error, {"rope_scaling.low_freq_factor"});
    expect_config_error(replace_once(base, "\"silu\"", "\"gelu\""), status_code::unsupported, {"hidden_act", "gelu"});
    expect_config_error(replace_once(base, "\"num_key_value_heads\": 4", "\"num_key_value_heads\": 3"), status_code::format_error,
                        {"num_key_value_heads"});
    expect_config_error(replace_once(base, "\"hidden_size\": 256", "\"hidden_size\": \"256\""), status_code::format_error,
                        {"'hidden_size' is not an integer"});
    expect_config_error(replace_once(base, "\"hidden_size\": 256", "\"hidden_size\": -256"), status_code::format_error, {"'hidden_size'"});
    expect_config_error(replace_once(base, "\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": 2"), status_code::format_error, {"'rms_norm_eps'"});
    expect_config_error(replace_once(base, "\"model_type\": \"llama\"", "\"model_type\": \"qwen2\""), status_code::format_error, {"model_type"});
    expect_config_error(replace_once(base, "\"hidden_act\"", "\"num_local_experts\": 8, \"hidden_act\""), status_code::unsupported,
                        {"num_local_experts"});
    expect_config_error("{\"architectures\": [", status_code::format_error, {});
    expect_config_error("[]", status_code::format_error, {"not an object"});
}

TEST_CASE("hf folder: bad folders give a status naming the file and the field") {
    const std::string gguf = repo_root() + "models/noggin-tiny-reasoner.gguf";
    temp_dir sharded("bad_sharded"), single("bad_single");
    noggin_tools::hf_write_options o;
    o.shard_bytes = 1000000;
    REQUIRE(noggin_tools::gguf_to_hf(gguf, sharded.path, o).ok());
    REQUIRE(noggin_tools::gguf_to_hf(gguf, single.path).ok());
    REQUIRE(model::open_hf(sharded.path).ok());
    REQUIRE(model::open_hf(single.path).ok());
    const std::string index = read_all(sharded.file("model.safetensors.index.json"));
    const std::string config = read_all(single.file("config.json"));
    const std::string weights = read_all(single.file("model.safetensors"));
    auto expect = [](const std::string& folder, status_code code, std::initializer_list<const char*> parts) {
        result<model::model> m = model::open_hf(folder);
        REQUIRE_FALSE(m.ok());
        CAPTURE(m.status().message());
        CHECK(m.status().code() == code);
        for (const char* p : parts) CHECK(m.status().message().find(p) != std::string::npos);
    };

    // A missing shard.
    fs::rename(sharded.file("model-00002-of-00003.safetensors"), sharded.file("moved"));
    expect(sharded.path, status_code::io_error, {"model.safetensors.index.json", "weight_map", "model-00002-of-00003.safetensors", "no such file"});
    fs::rename(sharded.file("moved"), sharded.file("model-00002-of-00003.safetensors"));
    // The index puts a tensor in a shard that lacks it / names a path outside the folder / is not JSON.
    write_all(sharded.file("model.safetensors.index.json"),
              replace_once(index, "\"model.norm.weight\": \"model-00003-of-00003.safetensors\"", "\"model.norm.weight\": \"model-00001-of-00003.safetensors\""));
    expect(sharded.path, status_code::format_error, {"model.safetensors.index.json", "'model.norm.weight'", "model-00001-of-00003.safetensors"});
    write_all(sharded.file("model.safetensors.index.json"),
              replace_once(index, "\"model.norm.weight\": \"model-00003-of-00003.safetensors\"", "\"model.norm.weight\": \"../model-00003-of-00003.safetensors\""));
    expect(sharded.path, status_code::format_error, {"model.safetensors.index.json", "weight_map", "'model.norm.weight'", "not a file name"});
    write_all(sharded.file("model.safetensors.index.json"), index.substr(0, index.size() / 2));
    expect(sharded.path, status_code::format_error, {"model.safetensors.index.json"});
    write_all(sharded.file("model.safetensors.index.json"), "{\"metadata\": {}}");
    expect(sharded.path, status_code::format_error, {"model.safetensors.index.json", "'weight_map' is missing"});
    write_all(sharded.file("model.safetensors.index.json"), index);
    REQUIRE(model::open_hf(sharded.path).ok());

    // Wrong dtype: F16 → I16 (same size) in the header.
    const std::size_t header_end = 8 + static_cast<std::size_t>(static_cast<unsigned char>(weights[0]) | (static_cast<unsigned char>(weights[1]) << 8));
    std::string w = weights;
    const std::size_t f16 = w.find("\"F16\"");
    REQUIRE(f16 < header_end);
    w[f16 + 1] = 'I';
    write_all(single.file("model.safetensors"), w);
    expect(single.path, status_code::unsupported, {"model.safetensors", "model.embed_tokens.weight", "'I16'"});
    // Shape mismatch with config.json.
    write_all(single.file("model.safetensors"), weights);
    write_all(single.file("config.json"), replace_once(config, "\"intermediate_size\": 384", "\"intermediate_size\": 380"));
    expect(single.path, status_code::format_error, {"model.safetensors", "'model.layers.0.mlp.gate_proj.weight'", "[384, 128]", "[380, 128]"});
    // Shape mismatch inside the file: shape and data_offsets disagree.
    w = weights;
    const std::size_t shape = w.find("\"shape\":[512,128]");
    REQUIRE(shape < header_end);
    w.replace(shape, 17, "\"shape\":[511,128]");
    write_all(single.file("config.json"), config);
    write_all(single.file("model.safetensors"), w);
    expect(single.path, status_code::format_error, {"model.safetensors", "model.embed_tokens.weight", "'data_offsets'", "need"});
    // Truncated file; header length beyond the file; overlapping offsets.
    write_all(single.file("model.safetensors"), weights.substr(0, weights.size() - 1000));
    expect(single.path, status_code::format_error, {"model.safetensors", "past the data region"});
    w = weights;
    w[3] = '\x01';  // N += 2^24: under the 100 MB cap, past the end of the file
    write_all(single.file("model.safetensors"), w);
    expect(single.path, status_code::format_error, {"model.safetensors", "header length", "goes beyond the end of the file"});
    w = weights;
    const std::size_t offs = w.find("\"data_offsets\":[0,");
    REQUIRE(offs < header_end);
    const std::size_t second = w.find("\"data_offsets\":[", offs + 10) + std::string("\"data_offsets\":[").size();
    REQUIRE(second < header_end);
    {
        // Move the second tensor 64 bytes back, into the first (same span; spaces keep the header length).
        const std::size_t close = w.find(']', second);
        const std::string old_pair = w.substr(second, close - second);
        const std::uint64_t b = std::stoull(old_pair), e = std::stoull(old_pair.substr(old_pair.find(',') + 1));
        std::string pair = std::to_string(b - 64) + "," + std::to_string(e - 64);
        pair.insert(0, old_pair.size() - pair.size(), ' ');
        w.replace(second, old_pair.size(), pair);
    }
    write_all(single.file("model.safetensors"), w);
    expect(single.path, status_code::format_error, {"model.safetensors", "overlap", "'data_offsets'"});
    // Bad JSON and missing files.
    write_all(single.file("model.safetensors"), weights);
    write_all(single.file("config.json"), "{\"architectures\": [\"Qwen2ForCausalLM\"],");
    expect(single.path, status_code::format_error, {"config.json"});
    fs::remove(single.file("config.json"));
    expect(single.path, status_code::io_error, {"config.json", "no such file"});
    write_all(single.file("config.json"), config);
    fs::remove(single.file("model.safetensors"));
    expect(single.path, status_code::io_error, {"neither model.safetensors nor model.safetensors.index.json"});
    write_all(single.file("tokenizer.json"), "{\"model\": 5}");
    result<text::chat_text> t = model::open_hf_text(single.path);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().message().find("tokenizer.json") != std::string::npos);
}

TEST_CASE("hf folder: BF16 norms are converted at load, misaligned tensors copied; logits unchanged") {
    // Folder A stores every norm/bias as BF16 (converted to F32 by the loader); folder B stores the same
    // values (rounded to BF16) as F32, with the data region shifted by 2 bytes so every F32 tensor is
    // misaligned (copied) while the F16 matrices stay in place. Both must give identical logits.
    const std::string gguf = repo_root() + "models/noggin-tiny-reasoner.gguf";
    temp_dir base("conv_base"), a("conv_bf16"), b("conv_shifted");
    REQUIRE(noggin_tools::gguf_to_hf(gguf, base.path).ok());
    result<safetensors::file> src = safetensors::file::open(base.file("model.safetensors"));
    REQUIRE(src.ok());
    safetensors::writer wa, wb;
    for (const safetensors::tensor_info& t : src->tensors()) {
        if (t.type == dtype::f32) {
            const float* x = static_cast<const float*>(t.data);
            std::vector<bf16> h(static_cast<std::size_t>(t.element_count()));
            std::vector<float> r(h.size());
            for (std::size_t i = 0; i < h.size(); ++i) {
                h[i] = f32_to_bf16(x[i]);
                r[i] = bf16_to_f32(h[i]);
            }
            REQUIRE(wa.add_tensor(t.name, dtype::bf16, t.shape, t.rank, h.data(), h.size() * 2).ok());
            REQUIRE(wb.add_tensor(t.name, dtype::f32, t.shape, t.rank, r.data(), r.size() * 4).ok());
        } else {
            REQUIRE(wa.add_tensor(t.name, t.type, t.shape, t.rank, t.data, t.bytes).ok());
            REQUIRE(wb.add_tensor(t.name, t.type, t.shape, t.rank, t.data, t.bytes).ok());
        }
    }
    REQUIRE(wa.write_to_file(a.file("model.safetensors")).ok());
    result<std::vector<unsigned char>> bytes = wb.write_to_memory();
    REQUIRE(bytes.ok());
    std::vector<unsigned char>& v = bytes.value();
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= std::uint64_t(v[static_cast<std::size_t>(i)]) << (8 * i);
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(8 + n), 2, static_cast<unsigned char>(' '));
    n += 2;
    for (int i = 0; i < 8; ++i) v[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n >> (8 * i));
    write_all(b.file("model.safetensors"), std::string(v.begin(), v.end()));
    for (const temp_dir* d : {&a, &b}) write_all(d->file("config.json"), read_all(base.file("config.json")));

    result<model::model> ma = model::open_hf(a.path), mb = model::open_hf(b.path);
    REQUIRE(ma.ok());
    REQUIRE(mb.ok());
    result<safetensors::file> fb = safetensors::file::open(b.file("model.safetensors"));
    REQUIRE(fb.ok());
    CHECK_FALSE(fb->find_tensor("model.norm.weight")->aligned());
    CHECK(fb->find_tensor("model.embed_tokens.weight")->aligned());
    CHECK(ma->weights().output_norm.type == dtype::f32);
    CHECK(ma->weights().output_norm.data != nullptr);
    CHECK(mb->weights().output_norm.data != fb->find_tensor("model.norm.weight")->data);  // a copy (the mapping differs anyway)
    const std::vector<std::int32_t> ids = {1, 2, 3, 100, 200, 300, 400, 500, 7, 8};
    CHECK(logits_all(ma.value(), ids) == logits_all(mb.value(), ids));
}
