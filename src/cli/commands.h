#pragma once

namespace uma::cli {

// Each subcommand takes the whole argv; its own arguments start at argv[2].
int cmd_run(int argc, char** argv);
int cmd_show(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_perplexity(int argc, char** argv);

}  // namespace uma::cli
