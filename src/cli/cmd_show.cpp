#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "store_views.h"
#include "uma/core/error.h"
#include "uma/models/model.h"

namespace uma::cli {

int cmd_show(int argc, char** argv) {
    Args args(argc, argv, 2, show_part_flags(), {"--ctx", "--kv-type"});
    if (args.positional().size() != 1)
        throw Error("usage: uma show MODEL [--ctx N] [--modelfile|--template|--parameters|--system]");
    const ResolvedModel resolved = resolve_model(args.positional()[0]);
    if (print_model_part(resolved, args)) return 0;
    auto model = load_model(resolved.gguf_path.string());
    const ModelConfig& c = model->config();
    const GgufFile& f = model->file();
    const int64_t n_ctx = args.get_int("--ctx", std::min<int64_t>(c.n_ctx_train, 4096));
    const auto kv_type = type_from_name(args.get("--kv-type", "f16"));
    if (!kv_type || (*kv_type != GgmlType::F16 && *kv_type != GgmlType::F32))
        throw Error("--kv-type must be f16 or f32");

    std::map<std::string, int> type_counts;
    for (const auto& t : f.tensors()) ++type_counts[std::string(type_name(t.type))];
    std::string types;
    for (const auto& [name, count] : type_counts)
        types += (types.empty() ? "" : ", ") + name + " x" + std::to_string(count);

    std::printf("  Model\n");
    if (!c.name.empty()) std::printf("    name                %s\n", c.name.c_str());
    std::printf("    architecture        %s\n", c.architecture.c_str());
    std::printf("    parameters          %s\n", human_count(model->parameter_count()).c_str());
    if (c.n_expert > 0)
        std::printf("    active parameters   %s (%lld of %lld experts per token)\n",
                    human_count(model->active_parameter_count()).c_str(),
                    static_cast<long long>(c.n_expert_used), static_cast<long long>(c.n_expert));
    std::printf("    file type           %s\n", file_type_name(f.get_int("general.file_type", -1)).c_str());
    std::printf("    tensor types        %s\n", types.c_str());
    std::printf("    context length      %lld\n", static_cast<long long>(c.n_ctx_train));
    std::printf("    embedding length    %lld\n", static_cast<long long>(c.n_embd));
    std::printf("    layers              %lld\n", static_cast<long long>(c.n_layer));
    std::printf("    attention heads     %lld (%lld key/value heads, head size %lld)\n",
                static_cast<long long>(c.n_head), static_cast<long long>(c.n_head_kv),
                static_cast<long long>(c.head_dim));
    std::printf("    feed-forward length %lld\n", static_cast<long long>(c.n_ff));
    std::printf("    vocabulary          %lld\n", static_cast<long long>(c.n_vocab));
    std::printf("    rope                base %g, %lld dims\n", double(c.rope.freq_base),
                static_cast<long long>(c.rope.n_rot));
    std::printf("\n  Memory\n");
    std::printf("    weights             %s\n", human_bytes(model->weight_bytes()).c_str());
    std::printf("    KV cache            %s (%lld tokens, %s)\n",
                human_bytes(model->cache_bytes(n_ctx, *kv_type)).c_str(),
                static_cast<long long>(n_ctx), std::string(type_name(*kv_type)).c_str());
    std::printf("    weights read/token  %s\n", human_bytes(model->active_weight_bytes()).c_str());
    print_model_settings(resolved);
    return 0;
}

}  // namespace uma::cli
