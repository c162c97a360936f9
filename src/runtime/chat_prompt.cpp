#include "uma/runtime/chat_prompt.h"

#include "uma/chat/chat_template.h"
#include "uma/core/error.h"

namespace uma {

std::string chat_template_of(const GgufFile& file) {
    return file.get_string("tokenizer.chat_template", "");
}

nlohmann::ordered_json to_json(const std::vector<ChatMessage>& messages) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
    return out;
}

std::string render_chat_prompt(const GgufFile& file, const Tokenizer& tokenizer,
                               const nlohmann::ordered_json& messages, bool add_generation_prompt,
                               const nlohmann::ordered_json& tools,
                               const std::string& template_override) {
    std::string source = template_override.empty() ? chat_template_of(file) : template_override;
    if (source.empty()) source = fallback_chat_template();
    nlohmann::ordered_json context;
    context["messages"] = messages;
    context["add_generation_prompt"] = add_generation_prompt;
    context["bos_token"] = tokenizer.bos() >= 0 ? tokenizer.token_text(tokenizer.bos()) : "";
    context["eos_token"] = tokenizer.eos() >= 0 ? tokenizer.token_text(tokenizer.eos()) : "";
    if (!tools.is_null() && !tools.empty()) context["tools"] = tools;
    return ChatTemplate(source).render(context);
}

}  // namespace uma

namespace uma {

std::vector<TokenId> encode_chat_prompt(const Tokenizer& tokenizer, const std::string& prompt) {
    const std::string bos = tokenizer.bos() >= 0 ? tokenizer.token_text(tokenizer.bos()) : "";
    const bool has_bos = !bos.empty() && prompt.rfind(bos, 0) == 0;
    return tokenizer.encode(prompt, !has_bos, true);
}

}  // namespace uma
