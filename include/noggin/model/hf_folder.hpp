// noggin/model/hf_folder.hpp — load a Hugging Face model folder (safetensors + config.json +
// tokenizer.json + tokenizer_config.json) into the same model::model the GGUF path gives.
//
//     noggin::result<noggin::model::model> m = noggin::model::open_hf("DeepSeek-R1-Distill-Qwen-1.5B");
//     if (!m.ok()) return m.status();   // "hf folder '...': model-00002-of-00002.safetensors: cannot open ..."
//     noggin::result<noggin::text::chat_text> t = noggin::model::open_hf_text("DeepSeek-R1-Distill-Qwen-1.5B");
//     // t->tokenizer, t->chat (tokenizer_config.json's chat_template, bos/eos tokens, add_bos_token)
//
// Sections: options · tensor names · model_from_hf (shards → model) · open_hf (folder) · tokenizer and template
//
// Files read: config.json (model/hf_config.hpp), then model.safetensors.index.json when present (its
// weight_map names the shard of every tensor; each shard is opened once, a missing one is an error naming
// it) or else model.safetensors. Names map as transformers writes them: model.embed_tokens.weight →
// token_embd, model.layers.N.self_attn.{q,k,v,o}_proj.{weight,bias}, .self_attn.{q,k}_norm.weight (Qwen3),
// .input_layernorm / .post_attention_layernorm, .mlp.{gate,up,down}_proj.weight, model.norm.weight,
// lm_head.weight (absent or ignored when tie_word_embeddings). Tensors the model does not use are ignored.
//
// Copies: F32, F16 and BF16 matrices are used in place from the mapping (a PyTorch [out, in] weight is
// already GGUF's {in, out} orientation); so are F32 norms and biases. Only vectors stored as F16/BF16
// (the forward pass reads norms and biases as F32: a few KB per layer) and tensors whose bytes are not
// aligned to their element size are copied, into buffers the model owns. Llama's q/k rows stay as HF
// stores them: the model runs them with NeoX RoPE, which is the same function (hf_config.hpp explains).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../cpu/quants.hpp"
#include "../formats/mapped_file.hpp"
#include "../formats/safetensors.hpp"
#include "../text/chat_text.hpp"
#include "../text/json.hpp"
#include "hf_config.hpp"
#include "model.hpp"

namespace noggin {
namespace model {

// --- options -------------------------------------------------------------------------------------------

struct hf_options {
    safetensors::open_options safetensors{};        // caps for each shard (defaults: safetensors.hpp)
    std::uint64_t max_json_bytes = 256ull << 20;    // config/index/tokenizer files, each (default 256 MiB)
};

// One opened weight file and the name it is reported by (e.g. "model-00001-of-00002.safetensors").
struct hf_shard {
    std::string name;
    safetensors::file file;
};

// --- tensor names ----------------------------------------------------------------------------------------

namespace hf_detail {

// What the model owns: the shards (mappings) and the few converted copies.
struct storage {
    std::vector<hf_shard> shards;
    std::vector<std::unique_ptr<unsigned char[]>> copies;  // converted or realigned tensors
    std::vector<float> rope_freqs;                          // llama3 factors
};

enum class kind { vector_f32, matrix };

inline std::string shape_text(const std::vector<std::int64_t>& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += str(i ? ", " : "", s[i]);
    return out + "]";
}

class loader {
public:
    explicit loader(storage& s) : s_(s) {}

    // Find `name` in the shards; null when absent. A name in two shards is an error.
    status find(const std::string& name, const safetensors::tensor_info** out, const hf_shard** where) const {
        *out = nullptr;
        *where = nullptr;
        for (const hf_shard& sh : s_.shards) {
            const safetensors::tensor_info* t = sh.file.find_tensor(name);
            if (t == nullptr) continue;
            if (*out != nullptr)
                return status(status_code::format_error, str("tensor '", name, "' is in both ", (*where)->name, " and ", sh.name));
            *out = t;
            *where = &sh;
        }
        return status();
    }

    // Look up `name`, check its shape (header order) and dtype, and give a view usable by the forward pass.
    status take(const std::string& name, std::vector<std::int64_t> shape, kind k, bool required, tensor_view* out) {
        *out = tensor_view{};
        out->data = nullptr;
        const safetensors::tensor_info* t = nullptr;
        const hf_shard* sh = nullptr;
        NOGGIN_TRY(find(name, &t, &sh));
        if (t == nullptr) {
            if (!required) return status();
            std::string files;
            for (std::size_t i = 0; i < s_.shards.size() && i < 4; ++i) files += str(i ? ", " : "", s_.shards[i].name);
            if (s_.shards.size() > 4) files += ", ...";
            return status(status_code::format_error, str("tensor '", name, "' not found in ", files));
        }
        bool same = t->rank == static_cast<int>(shape.size());
        for (int d = 0; same && d < t->rank; ++d) same = t->shape[d] == shape[static_cast<std::size_t>(d)];
        if (!same)
            return status(status_code::format_error, str(sh->name, ": tensor '", name, "' has shape ", t->shape_text(),
                                                         ", expected ", shape_text(shape), " (from config.json)"));
        if (t->data == nullptr)
            return status(status_code::unsupported, str(sh->name, ": tensor '", name, "' is not in memory (read-on-demand files are not supported)"));
        const std::int64_t count = t->element_count();
        if (k == kind::vector_f32 && (t->type != dtype::f32 || !t->aligned())) {
            // Norms and biases are read as F32 by the forward pass: convert (a few KB).
            std::unique_ptr<unsigned char[]> buf(new unsigned char[static_cast<std::size_t>(count) * sizeof(float)]);
            cpu::dequantize_row(t->type, t->data, reinterpret_cast<float*>(buf.get()), count);
            *out = tensor_view::contiguous(dtype::f32, buf.get(), {t->ne[0], t->ne[1], t->ne[2], t->ne[3]});
            s_.copies.push_back(std::move(buf));
        } else if (!t->aligned()) {
            std::unique_ptr<unsigned char[]> buf(new unsigned char[static_cast<std::size_t>(t->bytes)]);
            std::memcpy(buf.get(), t->data, static_cast<std::size_t>(t->bytes));
            *out = tensor_view::contiguous(t->type, buf.get(), {t->ne[0], t->ne[1], t->ne[2], t->ne[3]});
            s_.copies.push_back(std::move(buf));
        } else {
            *out = t->view();
        }
        out->n_dims = t->rank > 0 ? t->rank : 1;
        return status();
    }

private:
    storage& s_;
};

}  // namespace hf_detail

// --- model_from_hf ---------------------------------------------------------------------------------------

// Build a model from a parsed config.json and the opened weight files (moved in; a host reading through
// callbacks opens each with safetensors::file::from_callback). Errors name the file and the tensor.
inline result<model> model_from_hf(const hf_config& cfg, std::vector<hf_shard> shards) {
    if (shards.empty()) return status(status_code::invalid_argument, "hf: no safetensors files");
    std::shared_ptr<hf_detail::storage> s = std::make_shared<hf_detail::storage>();
    s->shards = std::move(shards);
    hf_detail::loader ld(*s);
    using K = hf_detail::kind;
    hparams hp = cfg.hp;
    const arch_traits& a = arch_info(hp.architecture);
    const std::int64_t E = hp.n_embd, V = hp.n_vocab, Q = hp.q_dim(), KV = hp.kv_dim(), F = hp.n_ff, D = hp.head_dim;
    model_weights w;
    NOGGIN_TRY(ld.take("model.embed_tokens.weight", {V, E}, K::matrix, true, &w.token_embd));
    NOGGIN_TRY(ld.take("model.norm.weight", {E}, K::vector_f32, true, &w.output_norm));
    if (cfg.tie_word_embeddings) {
        w.output = w.token_embd;
        w.tied_output = true;
    } else {
        NOGGIN_TRY(ld.take("lm_head.weight", {V, E}, K::matrix, true, &w.output));
    }
    if (!cfg.rope_freqs.empty()) {
        if (static_cast<std::int64_t>(cfg.rope_freqs.size()) != hp.n_rot / 2)
            return status(status_code::invalid_argument, str("hf: ", cfg.rope_freqs.size(), " rope factors for ", hp.n_rot / 2, " pairs"));
        s->rope_freqs = cfg.rope_freqs;
        w.rope_freqs = s->rope_freqs.data();
    }
    w.layers.assign(static_cast<std::size_t>(hp.n_layer), layer_weights{});
    for (std::int64_t i = 0; i < hp.n_layer; ++i) {
        layer_weights& l = w.layers[static_cast<std::size_t>(i)];
        const std::string p = str("model.layers.", i, ".");
        NOGGIN_TRY(ld.take(p + "input_layernorm.weight", {E}, K::vector_f32, true, &l.attn_norm));
        NOGGIN_TRY(ld.take(p + "self_attn.q_proj.weight", {Q, E}, K::matrix, true, &l.wq));
        NOGGIN_TRY(ld.take(p + "self_attn.k_proj.weight", {KV, E}, K::matrix, true, &l.wk));
        NOGGIN_TRY(ld.take(p + "self_attn.v_proj.weight", {KV, E}, K::matrix, true, &l.wv));
        NOGGIN_TRY(ld.take(p + "self_attn.o_proj.weight", {E, Q}, K::matrix, true, &l.wo));
        if (cfg.attention_bias) {
            NOGGIN_TRY(ld.take(p + "self_attn.q_proj.bias", {Q}, K::vector_f32, true, &l.bq));
            NOGGIN_TRY(ld.take(p + "self_attn.k_proj.bias", {KV}, K::vector_f32, true, &l.bk));
            NOGGIN_TRY(ld.take(p + "self_attn.v_proj.bias", {KV}, K::vector_f32, true, &l.bv));
        }
        if (a.qk_norm) {
            NOGGIN_TRY(ld.take(p + "self_attn.q_norm.weight", {D}, K::vector_f32, true, &l.q_norm));
            NOGGIN_TRY(ld.take(p + "self_attn.k_norm.weight", {D}, K::vector_f32, true, &l.k_norm));
        }
        NOGGIN_TRY(ld.take(p + "post_attention_layernorm.weight", {E}, K::vector_f32, true, &l.ffn_norm));
        NOGGIN_TRY(ld.take(p + "mlp.gate_proj.weight", {F, E}, K::matrix, true, &l.ffn_gate));
        NOGGIN_TRY(ld.take(p + "mlp.up_proj.weight", {F, E}, K::matrix, true, &l.ffn_up));
        NOGGIN_TRY(ld.take(p + "mlp.down_proj.weight", {E, F}, K::matrix, true, &l.ffn_down));
    }
    return model::from_parts(hp, std::move(w), std::shared_ptr<const void>(s));
}

// --- open_hf -------------------------------------------------------------------------------------------------

namespace hf_detail {

inline std::string join(const std::string& folder, const std::string& name) {
    if (folder.empty()) return name;
    const char last = folder.back();
    return (last == '/' || last == '\\') ? folder + name : folder + "/" + name;
}

// Whole file as text; io_error (no such file, ...) names the path.
inline result<std::string> read_text(const std::string& path, std::uint64_t cap) {
    result<mapped_file> m = mapped_file::open(path);
    if (!m.ok()) return m.status();
    if (m->size() > cap)
        return status(status_code::limit_exceeded, str(gguf::detail::printable(path), " has ", m->size(), " bytes, over the limit of ", cap));
    return std::string(reinterpret_cast<const char*>(m->data()), static_cast<std::size_t>(m->size()));
}

inline bool exists(const std::string& path) {
    std::FILE* f = noggin::detail::fopen_utf8(path, "rb");
    if (f == nullptr) return false;
    std::fclose(f);
    return true;
}

// A shard name from the index must be a plain file name inside the folder.
inline bool plain_file_name(const std::string& n) {
    if (n.empty() || n == "." || n == "..") return false;
    for (char c : n)
        if (c == '/' || c == '\\' || c == ':' || c == '\0') return false;
    return true;
}

// model.safetensors.index.json → the shards it names (opened) and a check that each tensor is where it says.
inline status open_indexed(const std::string& folder, const std::string& index_text, const hf_options& o,
                           std::vector<hf_shard>* out) {
    const char* idx = "model.safetensors.index.json";
    text::json_limits limits;
    limits.max_depth = 16;
    result<text::json_value> doc = text::json_parse(index_text, limits);
    if (!doc.ok()) return status(doc.status()).with_context(idx);
    const text::json_value* map = doc->is_object() ? doc->find("weight_map") : nullptr;
    if (map == nullptr) return status(status_code::format_error, str(idx, ": field 'weight_map' is missing"));
    if (!map->is_object()) return status(status_code::format_error, str(idx, ": field 'weight_map' is not an object"));
    if (map->size() == 0) return status(status_code::format_error, str(idx, ": field 'weight_map' is empty"));
    std::vector<std::size_t> shard_of(map->size());
    for (std::size_t i = 0; i < map->size(); ++i) {
        const text::json_value& v = (*map)[i];
        const std::string tensor = gguf::detail::printable(map->key(i));
        if (!v.is_string() || !plain_file_name(v.as_string()))
            return status(status_code::format_error, str(idx, ": field 'weight_map' entry ", tensor, " is not a file name in the folder"));
        std::size_t k = 0;
        while (k < out->size() && (*out)[k].name != v.as_string()) ++k;
        if (k == out->size()) {
            if (out->size() >= 4096) return status(status_code::limit_exceeded, str(idx, ": more than 4096 shard files"));
            result<safetensors::file> f = safetensors::file::open(join(folder, v.as_string()), o.safetensors);
            if (!f.ok())
                return status(f.status()).with_context(str(idx, ": field 'weight_map' entry ", tensor, " names shard ",
                                                           gguf::detail::printable(v.as_string())));
            out->push_back(hf_shard{v.as_string(), std::move(f.value())});
        }
        shard_of[i] = k;
    }
    for (std::size_t i = 0; i < map->size(); ++i) {
        const hf_shard& sh = (*out)[shard_of[i]];
        if (sh.file.find_tensor(map->key(i)) == nullptr)
            return status(status_code::format_error, str(idx, ": field 'weight_map' puts tensor ", gguf::detail::printable(map->key(i)),
                                                         " in ", sh.name, ", which has no such tensor"));
    }
    return status();
}

}  // namespace hf_detail

// Load the model of a folder (see the header comment for the files read). Errors are prefixed with
// "hf folder '<folder>'" and name the file and the field or tensor.
inline result<model> open_hf(const std::string& folder, const hf_options& options = {}) {
    const std::string where = str("hf folder ", gguf::detail::printable(folder));
    result<std::string> cfg_text = hf_detail::read_text(hf_detail::join(folder, "config.json"), options.max_json_bytes);
    if (!cfg_text.ok()) return status(cfg_text.status()).with_context(where);
    result<hf_config> cfg = read_hf_config(cfg_text.value());
    if (!cfg.ok()) return status(cfg.status()).with_context(where);
    std::vector<hf_shard> shards;
    const std::string index_path = hf_detail::join(folder, "model.safetensors.index.json");
    if (hf_detail::exists(index_path)) {
        result<std::string> index = hf_detail::read_text(index_path, options.max_json_bytes);
        if (!index.ok()) return status(index.status()).with_context(where);
        status s = hf_detail::open_indexed(folder, index.value(), options, &shards);
        if (!s.ok()) return s.with_context(where);
    } else {
        const std::string single = hf_detail::join(folder, "model.safetensors");
        if (!hf_detail::exists(single))
            return status(status_code::io_error, str(where, ": neither model.safetensors nor model.safetensors.index.json found"));
        result<safetensors::file> f = safetensors::file::open(single, options.safetensors);
        if (!f.ok()) return status(f.status()).with_context(where);
        shards.push_back(hf_shard{"model.safetensors", std::move(f.value())});
    }
    result<model> m = model_from_hf(cfg.value(), std::move(shards));
    if (!m.ok()) return status(m.status()).with_context(where);
    return m;
}

// --- tokenizer and template -----------------------------------------------------------------------------------

// tokenizer.json (required) and tokenizer_config.json (optional) of a folder.
inline result<text::chat_text> open_hf_text(const std::string& folder, const hf_options& options = {},
                                            text::chat_builtin fallback = text::chat_builtin::deepseek_r1) {
    const std::string where = str("hf folder ", gguf::detail::printable(folder));
    result<std::string> tj = hf_detail::read_text(hf_detail::join(folder, "tokenizer.json"), options.max_json_bytes);
    if (!tj.ok()) return status(tj.status()).with_context(where);
    std::string cj;
    const std::string cfg_path = hf_detail::join(folder, "tokenizer_config.json");
    if (hf_detail::exists(cfg_path)) {
        result<std::string> c = hf_detail::read_text(cfg_path, options.max_json_bytes);
        if (!c.ok()) return status(c.status()).with_context(where);
        cj = std::move(c.value());
    }
    result<text::chat_text> t = text::chat_text_from_json(tj.value(), cj, fallback);
    if (!t.ok()) return status(t.status()).with_context(where);
    return t;
}

}  // namespace model
}  // namespace noggin
