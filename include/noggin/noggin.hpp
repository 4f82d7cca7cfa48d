// noggin/noggin.hpp — the umbrella header: everything a host needs, minus the opt-in Vulkan backend.
//
//     #include <noggin/noggin.hpp>
//     noggin::result<noggin::gguf::file> f = noggin::gguf::file::open("model.gguf");
//
// Layers, each depending only on those above it (see README.md):
//   core/     dtypes, f16/bf16, status/result, tensor views, log/allocator/thread-pool hooks
//   formats/  GGUF reader and writer, safetensors reader and writer, memory-mapped files
//   cpu/      scalar reference and SIMD kernels
//   text/     JSON, Unicode, tokenizers, chat templates
//   model/    hyper-parameters, the forward pass, memory estimates (ask before loading), Hugging Face folders
//   sample/   sampler chain, seeded RNG, grammar constraints
//   run/      sessions (KV cache, save/restore), the reasoner (think/answer, budgets, stepping) and
//             reasoner groups (many sessions decoded in one batched pass)
// The Vulkan backend (vulkan/) is opt-in: include "noggin/vulkan/forward.hpp" where NOGGIN_VULKAN is on.
#pragma once

#include "core/config.hpp"
#include "core/default_thread_pool.hpp"
#include "core/dtype.hpp"
#include "core/half.hpp"
#include "core/hooks.hpp"
#include "core/status.hpp"
#include "core/tensor.hpp"

#include "formats/gguf.hpp"
#include "formats/mapped_file.hpp"
#include "formats/safetensors.hpp"

#include "cpu/dot.hpp"
#include "cpu/matmul.hpp"
#include "cpu/ops.hpp"
#include "cpu/quants.hpp"

#include "text/chat_template.hpp"
#include "text/chat_text.hpp"
#include "text/json.hpp"
#include "text/tokenizer.hpp"
#include "text/tokenizer_gguf.hpp"
#include "text/tokenizer_json.hpp"

#include "model/forward.hpp"
#include "model/hf_config.hpp"
#include "model/hf_folder.hpp"
#include "model/hparams.hpp"
#include "model/memory.hpp"
#include "model/model.hpp"

#include "sample/grammar.hpp"
#include "sample/json_schema.hpp"
#include "sample/rng.hpp"
#include "sample/sampler.hpp"

#include "run/group.hpp"
#include "run/reasoner.hpp"
#include "run/session.hpp"
