#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_data.h"
#include "uma/core/error.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/perplexity.h"

namespace uma {
namespace {

TEST(Perplexity, StoriesMatchesTheReferenceWithinHalfAPercent) {
    auto m = LoadedModel::load(test::data_path("models/stories260K.gguf").string(), 2);
    std::ifstream in(test::data_path("golden/logits/ppl_text.txt"));
    std::stringstream text;
    text << in.rdbuf();
    const auto result = compute_perplexity(*m.model, *m.tokenizer, *m.backend, text.str(), 128);
    EXPECT_EQ(result.chunks, 4);
    EXPECT_EQ(result.predictions, 4 * 63);
    EXPECT_NEAR(result.perplexity, 3.7615, 3.7615 * 0.005);
}

TEST(Perplexity, RejectsTextShorterThanOneChunk) {
    auto m = LoadedModel::load(test::data_path("models/stories260K.gguf").string(), 1);
    EXPECT_THROW(compute_perplexity(*m.model, *m.tokenizer, *m.backend, "Once upon a time", 128),
                 Error);
}

}  // namespace
}  // namespace uma
