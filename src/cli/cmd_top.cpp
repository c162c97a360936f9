// `uma top`: a live view of a running server (its /metrics and /api/ps), or with --once one
// plain-text frame on stdout.
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include "args.h"
#include "commands.h"
#include "server_client.h"
#include "top_screen.h"
#include "top_view.h"
#include "uma/core/error.h"
#include "uma/server/prometheus_parse.h"

namespace uma::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPlainWidth = 100;  // --once when stdout is not a terminal
constexpr int kKeyWaitMs = 100;

TopData fetch(const ServerClient& client) {
    const PrometheusScrape metrics = parse_prometheus_text(client.get("/metrics"));
    return top_data(metrics, client.get_json("/api/ps"));
}

std::string local_time() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char text[16];
    std::strftime(text, sizeof text, "%H:%M:%S", &tm);
    return text;
}

int terminal_width() {
    winsize size{};
    if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col)
        return size.ws_col;
    return kPlainWidth;
}

int print_once(const ServerClient& client) {
    const TopData data = fetch(client);  // an unreachable server is an error (exit status 1)
    for (const auto& line :
         render_top(data, client.address().display(), local_time(), terminal_width()))
        std::printf("%s\n", line.c_str());
    return 0;
}

int run_live(const ServerClient& client, double interval_s) {
    const auto interval =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s));
    TopScreen screen;
    std::optional<TopData> data;
    std::string error;
    std::string fetched_at;
    auto next_fetch = Clock::now();
    bool dirty = true;
    char every[48];
    std::snprintf(every, sizeof every, "every %.1f s, q quits", interval_s);
    for (;;) {
        if (Clock::now() >= next_fetch) {
            try {
                data = fetch(client);
                error.clear();
            } catch (const Error& e) {
                data.reset();
                error = e.what();
            }
            fetched_at = local_time();
            next_fetch = Clock::now() + interval;
            dirty = true;
        }
        if (dirty) {
            const std::string status = std::string(every) + "  " + fetched_at;
            const std::string address = client.address().display();
            screen.draw(data ? render_top(*data, address, status, screen.width())
                             : render_unreachable(address, error, status, screen.width()));
            dirty = false;
        }
        switch (screen.read_key(kKeyWaitMs)) {
            case TopScreen::Key::Quit:
                return 0;
            case TopScreen::Key::Resize:
                dirty = true;
                break;
            default:
                break;
        }
    }
}

}  // namespace

int cmd_top(int argc, char** argv) {
    Args args(argc, argv, 2, {"--once"}, {"--host", "--url", "--interval"});
    if (!args.positional().empty())
        throw Error("usage: uma top [--host HOST:PORT | --url URL] [--interval SECONDS] [--once]");
    const double interval = args.get_float("--interval", 1.0);
    if (!std::isfinite(interval) || interval < 0.1 || interval > 3600)
        throw Error("--interval must be 0.1 to 3600 seconds");
    // Short timeouts: the view keeps answering keys while the server is away.
    const ServerClient client(server_address(args), 2, 5);
    return args.flag("--once") ? print_once(client) : run_live(client, interval);
}

}  // namespace uma::cli
