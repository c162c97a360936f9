#include <editline/readline.h>

#include <cstdio>
#include <string>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "uma/core/error.h"
#include "uma/runtime/chat_prompt.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/model_store.h"
#include "uma/runtime/session.h"

namespace uma::cli {
namespace {

const std::vector<std::string> kRunOptions = {
    "--threads", "--ctx",  "--num-predict", "--temp",    "--top-k", "--top-p",
    "--min-p",   "--seed", "--repeat-penalty", "--kv-type", "--system", "--prompt"};
const std::vector<std::string> kRunFlags = {"--verbose", "--raw", "--greedy"};

// Defaults, then the model's Modelfile parameters, then what the command line says.
GenerateOptions generate_options(const Args& args, const ModelParameters& model_parameters) {
    GenerateOptions o;
    model_parameters.apply_to(o);
    SamplerParams& s = o.sampling;
    if (args.flag("--greedy")) s = SamplerParams::greedy();
    s.temperature = static_cast<float>(args.get_float("--temp", s.temperature));
    s.top_k = static_cast<int32_t>(args.get_int("--top-k", s.top_k));
    s.top_p = static_cast<float>(args.get_float("--top-p", s.top_p));
    s.min_p = static_cast<float>(args.get_float("--min-p", s.min_p));
    s.repeat_penalty = static_cast<float>(args.get_float("--repeat-penalty", s.repeat_penalty));
    if (auto seed = args.value("--seed")) s.seed = static_cast<uint64_t>(args.get_int("--seed", 0));
    o.max_tokens = args.get_int("--num-predict", o.max_tokens);
    return o;
}

GgmlType kv_type(const Args& args) {
    const std::string name = args.get("--kv-type", "f16");
    const auto type = type_from_name(name);
    if (!type || (*type != GgmlType::F16 && *type != GgmlType::F32))
        throw Error("--kv-type must be f16 or f32, got '" + name + "'");
    return *type;
}

void print_stats(const LoadedModel& m, const GenerateStats& s) {
    std::fprintf(stderr, "\nload: %.2f s\n", m.load_seconds);
    std::fprintf(stderr, "prompt: %lld tokens (%lld cached) in %.3f s, %.1f tokens/s\n",
                 static_cast<long long>(s.prompt_tokens), static_cast<long long>(s.cached_tokens),
                 s.prompt_seconds, s.prompt_seconds > 0 ? double(s.prompt_tokens) / s.prompt_seconds : 0);
    std::fprintf(stderr, "generation: %lld tokens in %.3f s, %.1f tokens/s\n",
                 static_cast<long long>(s.generated_tokens), s.generate_seconds,
                 s.generate_seconds > 0 ? double(s.generated_tokens) / s.generate_seconds : 0);
    std::fprintf(stderr, "backend: %s\n", m.backend->describe().c_str());
}

bool print_text(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
}

// The conversation a chat starts from: the system prompt (the command line's, else the
// Modelfile's) and the Modelfile's MESSAGE turns.
nlohmann::ordered_json opening_messages(const Args& args, const ResolvedModel& resolved) {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    const std::optional<std::string> system =
        args.value("--system") ? args.value("--system") : resolved.system;
    if (system) messages.push_back({{"role", "system"}, {"content", *system}});
    for (const auto& m : resolved.messages)
        messages.push_back({{"role", m.role}, {"content", m.content}});
    return messages;
}

// Interactive chat: a conversation through the model's chat template, with line editing.
int chat_loop(LoadedModel& m, Session& session, const Args& args, const GenerateOptions& options,
              const ResolvedModel& resolved) {
    const std::string template_override = resolved.template_text.value_or("");
    nlohmann::ordered_json messages = opening_messages(args, resolved);
    const bool tty = isatty(STDIN_FILENO);
    if (tty) std::fprintf(stderr, "Type a message; /bye or Ctrl-D to quit, /clear to start over.\n");
    for (;;) {
        char* raw_line = readline(tty ? ">>> " : "");
        if (!raw_line) break;
        std::string line(raw_line);
        std::free(raw_line);
        if (line.empty()) continue;
        if (tty) add_history(line.c_str());
        if (line == "/bye" || line == "/exit") break;
        if (line == "/clear") {
            messages = opening_messages(args, resolved);
            session.reset();
            continue;
        }
        messages.push_back({{"role", "user"}, {"content", line}});
        const std::string prompt = render_chat_prompt(m.model->file(), *m.tokenizer, messages,
                                                      true, nullptr, template_override);
        const auto tokens = encode_chat_prompt(*m.tokenizer, prompt);
        std::string reply;
        const auto stats = session.generate(tokens, options, [&](const std::string& text) {
            reply += text;
            return print_text(text);
        });
        std::printf("\n\n");
        messages.push_back({{"role", "assistant"}, {"content", reply}});
        if (args.flag("--verbose")) print_stats(m, stats);
    }
    return 0;
}

}  // namespace

int cmd_run(int argc, char** argv) {
    Args args(argc, argv, 2, kRunFlags, kRunOptions);
    if (args.positional().empty() || args.positional().size() > 2)
        throw Error("usage: uma run MODEL [PROMPT] [options]");
    std::string prompt = args.positional().size() == 2 ? args.positional()[1]
                                                        : args.get("--prompt", "");
    const ResolvedModel resolved = resolve_model(args.positional()[0]);
    const int64_t threads =
        args.get_int("--threads", resolved.parameters.get_int("num_thread").value_or(0));
    auto m = LoadedModel::load(resolved.gguf_path.string(), static_cast<int>(threads));
    const GenerateOptions options = generate_options(args, resolved.parameters);
    const int64_t n_ctx =
        args.get_int("--ctx", resolved.parameters.get_int("num_ctx").value_or(0));
    Session session(*m.model, *m.tokenizer, *m.backend, m.context_size(n_ctx), kv_type(args));
    const bool has_template =
        resolved.template_text || !chat_template_of(m.model->file()).empty();
    if (prompt.empty()) return chat_loop(m, session, args, options, resolved);

    std::vector<TokenId> tokens;
    if (has_template && !args.flag("--raw")) {
        nlohmann::ordered_json messages = opening_messages(args, resolved);
        messages.push_back({{"role", "user"}, {"content", prompt}});
        tokens = encode_chat_prompt(
            *m.tokenizer, render_chat_prompt(m.model->file(), *m.tokenizer, messages, true, nullptr,
                                             resolved.template_text.value_or("")));
    } else {
        // A model without a chat template continues the text: show the prompt it continues.
        tokens = m.tokenizer->encode(prompt, true, false);
        print_text(prompt);
    }
    const auto stats = session.generate(tokens, options, print_text);
    std::printf("\n");
    if (args.flag("--verbose")) print_stats(m, stats);
    return 0;
}

}  // namespace uma::cli
