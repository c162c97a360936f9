#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "uma/models/model.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma {

struct ChatMessage {
    std::string role;  // system, user, assistant, tool
    std::string content;
};

// Renders a conversation into the prompt text the model was trained on: the GGUF's
// tokenizer.chat_template (or `template_override` when given), else a plain fallback.
// Special-token texts in the result are meant to be parsed as special tokens.
std::string render_chat_prompt(const GgufFile& file, const Tokenizer& tokenizer,
                               const nlohmann::ordered_json& messages, bool add_generation_prompt,
                               const nlohmann::ordered_json& tools = nullptr,
                               const std::string& template_override = {});

// Tokenizes a rendered chat prompt: special-token texts become special tokens, and BOS is added
// only when the template did not already write it.
std::vector<TokenId> encode_chat_prompt(const Tokenizer& tokenizer, const std::string& prompt);

std::string chat_template_of(const GgufFile& file);
nlohmann::ordered_json to_json(const std::vector<ChatMessage>& messages);

}  // namespace uma
