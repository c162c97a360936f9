#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "uma/core/error.h"
#include "uma/runtime/synth.h"

namespace uma::cli {

int cmd_synth(int argc, char** argv) {
    Args args(argc, argv, 2, {}, {"--shape", "--type", "--vocab", "--seed", "--threads"});
    if (args.positional().size() != 1 || !args.value("--shape")) {
        std::string shapes;
        for (const auto& s : synth_shapes())
            shapes += (shapes.empty() ? "" : " ") + std::string(s.name);
        throw Error(
            "usage: uma synth --shape NAME [--type TYPE] [--vocab VOCAB.gguf] OUT.gguf\n"
            "  NAME: " +
            shapes);
    }
    const SynthShape& shape = find_synth_shape(*args.value("--shape"));
    const QuantScheme& scheme = find_quant_scheme(args.get("--type", "F16"));
    SynthOptions options;
    options.output_path = args.positional()[0];
    options.vocab_path = args.get("--vocab", "");
    options.seed = static_cast<uint64_t>(args.get_int("--seed", 1));
    options.n_threads = static_cast<int>(args.get_int("--threads", 0));
    const SynthReport r = synth_model(shape, scheme, options);
    std::printf("%s: %s %s, %s parameters, %s of tensors, vocabulary %lld (%s), in %.1f s\n",
                options.output_path.c_str(), std::string(shape.name).c_str(),
                std::string(scheme.name).c_str(), human_count(r.parameters).c_str(),
                human_bytes(r.tensor_bytes).c_str(), static_cast<long long>(r.n_vocab),
                r.vocab_path.c_str(), r.seconds);
    return 0;
}

}  // namespace uma::cli
