#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#include "uma/core/error.h"

namespace {

constexpr const char* kUsage = R"(uma: run large language models locally

usage: uma COMMAND [ARGS]

commands:
  run MODEL [PROMPT]        generate from a prompt, or chat interactively without one
  show MODEL                architecture, parameters, tensor types, memory needs
  tokenize MODEL TEXT       print the token ids of TEXT (--pieces to show their text)
  perplexity MODEL FILE     perplexity of a text file (-c N: chunk size, default 512)
  help                      this text

common options:
  -t, --threads N           CPU threads (default: all cores)
  -c, --ctx N               context size in tokens (default: the model's, at most 4096)
  -n, --num-predict N       most tokens to generate (default: until the model stops)
  --temp X --top-k N --top-p X --min-p X --repeat-penalty X -s, --seed N
  --kv-type f16|f32         KV cache element type (default f16)
  -v, --verbose             load time and tokens/s on stderr
MODEL is a path to a GGUF file.
)";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") ||
        !std::strcmp(argv[1], "-h")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    try {
        if (command == "run") return uma::cli::cmd_run(argc, argv);
        if (command == "show") return uma::cli::cmd_show(argc, argv);
        if (command == "tokenize") return uma::cli::cmd_tokenize(argc, argv);
        if (command == "perplexity") return uma::cli::cmd_perplexity(argc, argv);
        std::fprintf(stderr, "uma: unknown command '%s' (see 'uma help')\n", command.c_str());
        return 2;
    } catch (const uma::Error& e) {
        std::fprintf(stderr, "uma %s: error: %s\n", command.c_str(), e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "uma %s: internal error: %s\n", command.c_str(), e.what());
        return 1;
    }
}
