// uma pull URL [NAME] [--sha256 HEX] [--retries N]
#include <unistd.h>

#include <cstdio>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "uma/core/error.h"
#include "uma/runtime/pull.h"

namespace uma::cli {

int cmd_pull(int argc, char** argv) {
    Args args(argc, argv, 2, {}, {"--sha256", "--retries", "--timeout"});
    if (args.positional().empty() || args.positional().size() > 2)
        throw Error("usage: uma pull URL [NAME] [--sha256 HEX] [--retries N]");
    PullOptions options;
    options.url = args.positional()[0];
    if (args.positional().size() == 2) options.name = ModelName::parse(args.positional()[1]);
    options.expected_sha256 = args.get("--sha256", "");
    options.retries = static_cast<int>(args.get_int("--retries", options.retries));
    options.read_timeout_seconds =
        static_cast<int>(args.get_int("--timeout", options.read_timeout_seconds));
    const std::string name =
        options.name ? options.name->display() : model_name_from_url(options.url).display();

    // A live bar on a terminal; on a pipe or file only the status lines and the result.
    const bool tty = isatty(STDERR_FILENO);
    bool bar_shown = false;
    std::fprintf(stderr, "pulling %s\n", name.c_str());
    options.on_progress = [&](const PullProgress& p) {
        if (!tty) return;
        std::fprintf(stderr, "\r\033[K%s", format_pull_progress(p).c_str());
        bar_shown = true;
    };
    options.on_status = [&](const std::string& line) {
        std::fprintf(stderr, "%s%s\n", bar_shown ? "\n" : "", line.c_str());
        bar_shown = false;
    };
    ModelStore store = ModelStore::open_default();
    ResolvedModel model;
    try {
        model = pull_model(store, options);
    } catch (...) {
        if (bar_shown) std::fputc('\n', stderr);
        throw;
    }
    if (bar_shown) std::fputc('\n', stderr);
    std::printf("pulled %s (%s, %s)\n", model.name.c_str(), human_bytes(model.size).c_str(),
                model.digest.c_str());
    return 0;
}

}  // namespace uma::cli
