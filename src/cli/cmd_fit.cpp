// uma fit MODEL [--ctx N] [--parallel N] [--kv-type f16|f32|q8_0] [--machine SPEC] [--json]
// uma fit [--machine SPEC] [--quant Q4_K_M,Q8_0]: the popular-model table for a machine.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"
#include "uma/models/model.h"
#include "uma/runtime/fit.h"
#include "uma/runtime/model_store.h"

namespace uma::cli {
namespace {

GgmlType parse_kv_type(const std::string& name) {
    const auto type = type_from_name(name);
    if (!type || (*type != GgmlType::F16 && *type != GgmlType::F32 && *type != GgmlType::Q8_0))
        throw Error("--kv-type must be f16, f32 or q8_0, got '" + name + "'");
    return *type;
}

std::string gigabytes(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, bytes >= 10e9 ? "%.0f GB" : "%.1f GB", bytes / 1e9);
    return buf;
}

std::string rate(double tokens_per_second) {
    char buf[32];
    std::snprintf(buf, sizeof buf, tokens_per_second >= 100 ? "%.0f" : "%.1f", tokens_per_second);
    return buf;
}

std::string machine_line(const MachineInfo& m) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s (%s): %s memory, %s usable now, %.0f GB/s read",
                  m.name.c_str(), m.description.c_str(), human_bytes(m.total_memory).c_str(),
                  human_bytes(m.available_memory).c_str(), m.bandwidth / 1e9);
    return buf;
}

std::string verdict_text(const FitVerdict& v, const FitOptions& o, uint64_t budget) {
    switch (v.kind) {
        case FitVerdict::Kind::Fits:
            return "fits: needs " + human_bytes(v.memory.total()) + " of " + human_bytes(budget);
        case FitVerdict::Kind::FitsWithLessContext:
            return "fits with " + std::to_string(v.max_ctx) + " tokens of context (not " +
                   std::to_string(o.n_ctx) + "): needs " + human_bytes(v.memory.total()) + " of " +
                   human_bytes(budget);
        case FitVerdict::Kind::DoesNotFit:
            return "does not fit: needs " + human_bytes(v.memory.total()) + " with " +
                   std::to_string(o.n_ctx) + " tokens of context, " + human_bytes(budget) +
                   " usable";
    }
    return {};
}

int fit_model(const Args& args, const std::string& model_arg, int threads) {
    const ResolvedModel resolved = resolve_model(model_arg);
    // Measured before the model is loaded: what uma costs doing nothing.
    const RuntimeOverhead overhead = RuntimeOverhead::measure_this_process(threads);
    auto model = load_model(resolved.gguf_path.string());
    const ModelShape shape = shape_of(*model, resolved.name);

    FitOptions o;
    o.threads = threads;
    const int64_t default_ctx =
        resolved.parameters.get_int("num_ctx").value_or(std::min<int64_t>(shape.n_ctx_train, 4096));
    o.n_ctx = args.get_int("--ctx", default_ctx);
    o.parallel = args.get_int("--parallel", 1);
    o.kv_type = parse_kv_type(args.get("--kv-type", "f16"));
    if (o.n_ctx <= 0 || o.parallel <= 0) throw Error("--ctx and --parallel must be positive");

    const auto spec = args.value("--machine");
    const MachineInfo machine =
        spec ? parse_machine_spec(*spec) : this_machine(shape.weight_type, threads);
    const RuntimeOverhead used_overhead = spec ? RuntimeOverhead::typical() : overhead;
    const FitVerdict verdict = check_fit(shape, o, used_overhead, machine.available_memory);
    const FitVerdict in_total = check_fit(shape, o, used_overhead, machine.total_memory);
    const SpeedEstimate speed = estimate_speed(shape, machine, o.n_ctx / 2, o.kv_type);
    const MemoryEstimate need = estimate_memory(shape, o, used_overhead);

    if (args.flag("--json")) {
        nlohmann::ordered_json j = {
            {"model", resolved.name},
            {"ctx", o.n_ctx},
            {"parallel", o.parallel},
            {"kv_type", std::string(type_name(o.kv_type))},
            {"memory",
             {{"weights", need.weights},
              {"kv_cache", need.kv_cache},
              {"compute", need.compute},
              {"runtime", need.runtime},
              {"total", need.total()}}},
            {"machine",
             {{"name", machine.name},
              {"total_memory", machine.total_memory},
              {"available_memory", machine.available_memory},
              {"bandwidth", machine.bandwidth},
              {"prompt_flops", machine.prompt_flops},
              {"generate_flops", machine.generate_flops}}},
            {"fits", verdict.kind == FitVerdict::Kind::Fits                  ? "yes"
                     : verdict.kind == FitVerdict::Kind::FitsWithLessContext ? "less_context"
                                                                             : "no"},
            {"max_ctx", verdict.max_ctx},
            {"generate_tokens_per_second", speed.generate_tokens_per_second},
            {"prompt_tokens_per_second", speed.prompt_tokens_per_second},
        };
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("  Model\n");
    std::printf("    name                %s\n", resolved.name.c_str());
    std::printf("    weights             %s parameters, mostly %s, %s file\n",
                human_count(static_cast<int64_t>(shape.parameters)).c_str(), shape.quant.c_str(),
                human_bytes(shape.file_bytes).c_str());
    std::printf("    context             %lld tokens x %lld sequence%s, KV cache %s\n",
                static_cast<long long>(o.n_ctx), static_cast<long long>(o.parallel),
                o.parallel == 1 ? "" : "s", std::string(type_name(o.kv_type)).c_str());
    std::printf("\n  Memory\n");
    std::printf("    weights             %s\n", human_bytes(need.weights).c_str());
    std::printf("    KV cache            %s\n", human_bytes(need.kv_cache).c_str());
    std::printf("    compute buffers     %s\n", human_bytes(need.compute).c_str());
    std::printf("    runtime             %s (uma, its libraries, %d threads)\n",
                human_bytes(need.runtime).c_str(), threads);
    std::printf("    total               %s\n", human_bytes(need.total()).c_str());
    std::printf("\n  %s\n", machine_line(machine).c_str());
    std::printf("    %s\n", verdict_text(verdict, o, machine.available_memory).c_str());
    if (verdict.kind != FitVerdict::Kind::Fits && in_total.kind == FitVerdict::Kind::Fits)
        std::printf("    (it would fit in the %s of total memory if other programs freed some)\n",
                    human_bytes(machine.total_memory).c_str());
    std::printf("\n  Speed (estimated, at %lld tokens of context)\n",
                static_cast<long long>(o.n_ctx / 2));
    std::printf("    generation          %s tokens/s (%s)\n",
                rate(speed.generate_tokens_per_second).c_str(),
                speed.generate_memory_bound ? "memory-bound: weights and KV read once per token"
                                            : "compute-bound on matrix-vector products");
    std::printf("    prompt              %s tokens/s (%.0f GFLOP/s %s)\n",
                rate(speed.prompt_tokens_per_second).c_str(), machine.prompt_flops / 1e9,
                machine.measured ? "measured" : "assumed");
    return 0;
}

int fit_table(const Args& args, int threads) {
    std::vector<std::string> quants = {"Q4_K_M", "Q8_0"};
    if (const auto list = args.value("--quant")) {
        quants.clear();
        std::string current;
        for (const char c : *list + ",") {
            if (c != ',')
                current.push_back(c);
            else if (!current.empty())
                bits_per_weight(current), quants.push_back(current), current.clear();
        }
    }
    const auto spec = args.value("--machine");
    const RuntimeOverhead overhead =
        spec ? RuntimeOverhead::typical() : RuntimeOverhead::measure_this_process(threads);
    std::map<std::string, MachineInfo> machines;  // this machine: measured per weight type
    const auto machine_for = [&](const ModelShape& s) -> const MachineInfo& {
        auto it = machines.find(s.quant);
        if (it == machines.end())
            it = machines
                     .emplace(s.quant, spec ? parse_machine_spec(*spec)
                                            : this_machine(s.weight_type, threads))
                     .first;
        return it->second;
    };
    const MachineInfo& first = machine_for(catalogue_shape(model_catalogue()[0], quants[0]));
    std::printf("%s\n\n", machine_line(first).c_str());
    std::printf("%-20s %-7s %9s  %-22s %9s %11s\n", "MODEL", "QUANT", "SIZE", "FITS", "GEN t/s",
                "PROMPT t/s");
    for (const auto& entry : model_catalogue()) {
        for (const auto& quant : quants) {
            const ModelShape s = catalogue_shape(entry, quant);
            const MachineInfo& m = machine_for(s);
            FitOptions o;
            o.threads = threads;
            o.n_ctx = args.get_int("--ctx", s.n_ctx_train);
            o.kv_type = parse_kv_type(args.get("--kv-type", "f16"));
            const FitVerdict v = check_fit(s, o, overhead, m.available_memory);
            std::string fits = "no";
            if (v.kind != FitVerdict::Kind::DoesNotFit)
                fits = "yes, " + std::to_string(v.max_ctx) + " ctx";
            std::string gen = "-", prompt = "-";
            if (v.kind != FitVerdict::Kind::DoesNotFit) {
                const SpeedEstimate e =
                    estimate_speed(s, m, std::min<int64_t>(v.max_ctx, 4096) / 2, o.kv_type);
                gen = rate(e.generate_tokens_per_second);
                prompt = rate(e.prompt_tokens_per_second);
            }
            std::printf("%-20s %-7s %9s  %-22s %9s %11s\n", std::string(entry.name).c_str(),
                        quant.c_str(), gigabytes(double(s.file_bytes)).c_str(), fits.c_str(),
                        gen.c_str(), prompt.c_str());
        }
    }
    std::printf(
        "\nGEN t/s at 2048 tokens of context (or half the context that fits); sizes are "
        "llama.cpp's "
        "average bits per weight.\n");
    return 0;
}

}  // namespace

int cmd_fit(int argc, char** argv) {
    Args args(argc, argv, 2, {"--json"},
              {"--ctx", "--parallel", "--kv-type", "--machine", "--threads", "--quant"});
    if (args.positional().size() > 1)
        throw Error(
            "usage: uma fit [MODEL] [--ctx N] [--parallel N] [--kv-type f16|q8_0] [--machine "
            "SPEC]");
    const int threads =
        static_cast<int>(args.get_int("--threads", cpu::ThreadPool::default_thread_count()));
    if (threads <= 0) throw Error("--threads must be positive");
    if (args.positional().size() == 1) return fit_model(args, args.positional()[0], threads);
    return fit_table(args, threads);
}

}  // namespace uma::cli
