#pragma once
#include <memory>

#include "uma/models/model.h"

// One factory per architecture family; each lives in its own file under src/models/.
namespace uma {

ModelConfig read_config(const GgufFile& file);

std::unique_ptr<Model> make_llama_family(std::unique_ptr<GgufFile> file, ModelConfig config);

}  // namespace uma
