#include <cstdio>
#include <string>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "uma/core/error.h"
#include "uma/runtime/quantize.h"

namespace uma::cli {

int cmd_quantize(int argc, char** argv) {
    Args args(argc, argv, 2, {"--quiet"}, {"--threads"});
    if (args.positional().size() != 3) {
        std::string types;
        for (const auto& s : quant_schemes())
            types += (types.empty() ? "" : " ") + std::string(s.name);
        throw Error("usage: uma quantize IN.gguf OUT.gguf TYPE [-t THREADS]\n  TYPE: " + types);
    }
    const auto& p = args.positional();
    if (p[0] == p[1]) throw Error("the output would overwrite the input '" + p[0] + "'");
    const QuantScheme& scheme = find_quant_scheme(p[2]);
    const bool quiet = args.flag("--quiet");
    const auto report =
        quantize_model(p[0], p[1], scheme, static_cast<int>(args.get_int("--threads", 0)),
                       [&](const std::string& name, GgmlType type) {
                           if (!quiet)
                               std::fprintf(stderr, "  %-32s -> %s\n", name.c_str(),
                                            std::string(type_name(type)).c_str());
                       });
    std::string counts;
    for (const auto& [type, n] : report.type_counts)
        counts += (counts.empty() ? "" : ", ") + type + ": " + std::to_string(n);
    std::printf("%s: %s -> %s (%.2f%%), %s, in %.1f s\n", p[1].c_str(),
                human_bytes(report.bytes_in).c_str(), human_bytes(report.bytes_out).c_str(),
                100.0 * double(report.bytes_out) / double(report.bytes_in), counts.c_str(),
                report.seconds);
    return 0;
}

}  // namespace uma::cli
