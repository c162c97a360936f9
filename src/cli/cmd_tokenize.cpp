#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "uma/core/error.h"
#include "uma/core/gguf.h"
#include "uma/runtime/model_store.h"
#include "uma/tokenizer/tokenizer.h"

namespace uma::cli {

int cmd_tokenize(int argc, char** argv) {
    Args args(argc, argv, 2, {"--pieces", "--no-special", "--parse-special"}, {});
    if (args.positional().size() != 2)
        throw Error("usage: uma tokenize MODEL TEXT [--pieces] [--no-special] [--parse-special]");
    auto file = GgufFile::open(resolve_model_path(args.positional()[0]));
    auto tokenizer = Tokenizer::from_gguf(*file);
    const auto ids = tokenizer->encode(args.positional()[1], !args.flag("--no-special"),
                                       args.flag("--parse-special"));
    if (args.flag("--pieces")) {
        for (auto id : ids)
            std::printf("%6d -> '%s'\n", id, tokenizer->token_to_piece(id).c_str());
    } else {
        std::string line;
        for (auto id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
        std::printf("%s\n", line.c_str());
    }
    return 0;
}

}  // namespace uma::cli
