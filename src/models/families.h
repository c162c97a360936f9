#pragma once
#include <memory>

#include "uma/models/model.h"

// One factory per architecture family; each lives in its own file under src/models/.
namespace uma {

ModelConfig read_config(const GgufFile& file);

std::unique_ptr<Model> make_llama(std::unique_ptr<GgufFile> file, ModelConfig config);
std::unique_ptr<Model> make_qwen(std::unique_ptr<GgufFile> file, ModelConfig config);
std::unique_ptr<Model> make_phi3(std::unique_ptr<GgufFile> file, ModelConfig config);
std::unique_ptr<Model> make_deepseek2(std::unique_ptr<GgufFile> file, ModelConfig config);
std::unique_ptr<Model> make_gemma(std::unique_ptr<GgufFile> file, ModelConfig config);

}  // namespace uma
