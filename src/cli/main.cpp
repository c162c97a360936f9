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
  perplexity MODEL FILE     perplexity of a text file (-c N: chunk size, default 512;
                            --kl-base BASE.gguf: also KL divergence from a base model)
  bench MODEL               prompt and generation tokens/s, GB/s and % of memory bandwidth
                            (-p 512 -n 128 -d DEPTH -r 3 -t N, lists like -p 128,512; --json;
                            --bandwidth-alongside: also against the bandwidth of the moment)
  quantize IN OUT TYPE      convert a model to Q4_0 .. Q8_0, Q2_K .. Q6_K (_S/_M/_L mixes),
                            IQ4_NL, IQ4_XS, F16, BF16
  synth --shape NAME OUT    write a random-weight model of a known shape (tinyllama-1.1b,
                            llama-3.2-1b, qwen2.5-0.5b, llama-3.1-8b, mistral-7b,
                            qwen2.5-coder-32b) in --type TYPE
  create NAME -f Modelfile  store a model built from a Modelfile (or --from FILE.gguf;
                            --quantize TYPE to quantize it on the way)
  pull URL [NAME]           download a GGUF over HTTP(S) into the store (resumable;
                            --sha256 HEX to verify it)
  list                      the models in the store
  show MODEL --modelfile    also --template, --parameters, --system, --license
  rm MODEL...               delete models (blobs another model uses are kept)
  cp SOURCE DESTINATION     copy a model to a new name
  fit MODEL                 memory and speed on this machine (--ctx N, --parallel N,
                            --kv-type f16|q8_0); fit --machine 32GB,120GB/s|m2-max|rtx-4090|...
                            for popular models on another machine
  serve                     Ollama- and OpenAI-compatible server on 127.0.0.1:11434 (UMA_HOST
                            or --host/--port to move it; --parallel N slots per model,
                            --ctx N, --max-queue N, --api-key KEY (or UMA_API_KEY),
                            --models-dir DIR, --keep-alive 5m, --memory-budget 16GB,
                            --origins LIST (or UMA_ORIGINS) for CORS)
  ps                        the models a running server has loaded
  top                       live view of a running server: requests, tokens/s, memory
                            bandwidth against the machine's, memory, KV cache, prefix-cache
                            hit rate (--host HOST:PORT or --url URL, --interval SECONDS,
                            --once for one plain-text frame); the server's Prometheus
                            metrics are at GET /metrics
  help                      this text

common options:
  -t, --threads N           CPU threads (default: all cores)
  -c, --ctx N               context size in tokens (default: the model's, at most 4096)
  -n, --num-predict N       most tokens to generate (default: until the model stops)
  --temp X --top-k N --top-p X --min-p X --repeat-penalty X -s, --seed N
  --kv-type f16|f32         KV cache element type (default f16)
  -v, --verbose             load time and tokens/s on stderr
MODEL is a model name from the store (name[:tag], see 'uma list') or a path to a GGUF file.
The store is ~/.uma/models; set UMA_MODELS to move it.
)";

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") ||
        !std::strcmp(argv[1], "-h")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    // `uma COMMAND --help` (or -h anywhere before a "--"): the usage.
    for (int i = 2; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::fputs(kUsage, stdout);
            return 0;
        }
    try {
        if (command == "run") return uma::cli::cmd_run(argc, argv);
        if (command == "show") return uma::cli::cmd_show(argc, argv);
        if (command == "tokenize") return uma::cli::cmd_tokenize(argc, argv);
        if (command == "perplexity") return uma::cli::cmd_perplexity(argc, argv);
        if (command == "bench") return uma::cli::cmd_bench(argc, argv);
        if (command == "quantize") return uma::cli::cmd_quantize(argc, argv);
        if (command == "synth") return uma::cli::cmd_synth(argc, argv);
        if (command == "create") return uma::cli::cmd_create(argc, argv);
        if (command == "pull") return uma::cli::cmd_pull(argc, argv);
        if (command == "list" || command == "ls") return uma::cli::cmd_list(argc, argv);
        if (command == "rm") return uma::cli::cmd_rm(argc, argv);
        if (command == "cp") return uma::cli::cmd_cp(argc, argv);
        if (command == "fit") return uma::cli::cmd_fit(argc, argv);
        if (command == "serve") return uma::cli::cmd_serve(argc, argv);
        if (command == "ps") return uma::cli::cmd_ps(argc, argv);
        if (command == "top") return uma::cli::cmd_top(argc, argv);
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
