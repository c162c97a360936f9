#pragma once

namespace uma::cli {

// Each subcommand takes the whole argv; its own arguments start at argv[2].
int cmd_run(int argc, char** argv);
int cmd_show(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_perplexity(int argc, char** argv);
// Benchmarking and model files (cmd_bench.cpp, cmd_quantize.cpp, cmd_synth.cpp).
int cmd_bench(int argc, char** argv);
int cmd_quantize(int argc, char** argv);
int cmd_synth(int argc, char** argv);
// The model store (cmd_store.cpp, cmd_create.cpp, cmd_pull.cpp) and memory planning (cmd_fit.cpp).
int cmd_create(int argc, char** argv);
int cmd_pull(int argc, char** argv);
int cmd_list(int argc, char** argv);
int cmd_rm(int argc, char** argv);
int cmd_cp(int argc, char** argv);
int cmd_fit(int argc, char** argv);
// The server (cmd_serve.cpp), what it has loaded (cmd_ps.cpp) and its live metrics (cmd_top.cpp).
int cmd_serve(int argc, char** argv);
int cmd_ps(int argc, char** argv);
int cmd_top(int argc, char** argv);

}  // namespace uma::cli
