#include <cstdio>
#include <fstream>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "uma/core/error.h"
#include "uma/runtime/loaded_model.h"
#include "uma/runtime/model_store.h"
#include "uma/runtime/perplexity.h"

namespace uma::cli {

int cmd_perplexity(int argc, char** argv) {
    Args args(argc, argv, 2, {}, {"--ctx", "--threads", "--kl-base"});
    if (args.positional().size() != 2)
        throw Error(
            "usage: uma perplexity MODEL TEXTFILE [-c CHUNK] [-t THREADS] [--kl-base BASE.gguf]");
    std::ifstream in(args.positional()[1], std::ios::binary);
    if (!in) throw Error("cannot read text file '" + args.positional()[1] + "'");
    std::stringstream text;
    text << in.rdbuf();
    auto m = LoadedModel::load(resolve_model_path(args.positional()[0]),
                               static_cast<int>(args.get_int("--threads", 0)));
    const int64_t chunk = args.get_int("--ctx", 512);
    std::fprintf(stderr, "perplexity: chunks of %lld tokens, %s\n", static_cast<long long>(chunk),
                 m.backend->describe().c_str());
    if (const auto base_path = args.value("--kl-base")) {
        auto base = load_model(resolve_model_path(*base_path));
        const auto r =
            compute_kl_divergence(*m.model, *base, *m.tokenizer, *m.backend, text.str(), chunk,
                                  [](int64_t index, double kl) {
                                      std::fprintf(stderr, "[%lld] mean KL %.6f\n",
                                                   static_cast<long long>(index + 1), kl);
                                  });
        std::printf("Final estimate: PPL = %.4f over %lld chunks (%lld predictions)\n",
                    r.model.perplexity, static_cast<long long>(r.model.chunks),
                    static_cast<long long>(r.model.predictions));
        std::printf("Base model:     PPL = %.4f (%s)\n", r.base.perplexity, base_path->c_str());
        std::printf("PPL ratio:      %.4f\n", r.model.perplexity / r.base.perplexity);
        std::printf("KL divergence:  mean %.6f, 99%% %.6f, max %.6f nats\n", r.mean_kl, r.kl_p99,
                    r.max_kl);
        std::printf("Same top token: %.2f%%\n", 100.0 * r.top1_agreement);
        return 0;
    }
    const auto result = compute_perplexity(
        *m.model, *m.tokenizer, *m.backend, text.str(), chunk, [](int64_t index, double ppl) {
            std::fprintf(stderr, "[%lld] %.4f\n", static_cast<long long>(index + 1), ppl);
        });
    std::printf("Final estimate: PPL = %.4f over %lld chunks (%lld predictions)\n",
                result.perplexity, static_cast<long long>(result.chunks),
                static_cast<long long>(result.predictions));
    return 0;
}

}  // namespace uma::cli
