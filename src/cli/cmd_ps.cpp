// `uma ps`: the models a running `uma serve` has loaded (its /api/ps).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "server_client.h"

namespace uma::cli {

int cmd_ps(int argc, char** argv) {
    Args args(argc, argv, 2, {}, {"--host", "--url"});
    const nlohmann::json body = ServerClient(server_address(args)).get_json("/api/ps");
    std::printf("%-32s %-12s %-8s %-9s %-7s %s\n", "NAME", "SIZE", "CONTEXT", "PARALLEL", "ACTIVE",
                "UNTIL");
    for (const auto& m : body.value("models", nlohmann::json::array())) {
        std::printf("%-32s %-12s %-8lld %-9lld %-7lld %s\n", m.value("name", "").c_str(),
                    human_bytes(m.value("size", size_t{0})).c_str(),
                    static_cast<long long>(m.value("context_length", 0)),
                    static_cast<long long>(m.value("parallel", 0)),
                    static_cast<long long>(m.value("active_requests", 0)),
                    m.value("expires_at", "").c_str());
    }
    return 0;
}

}  // namespace uma::cli
