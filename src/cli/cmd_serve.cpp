// `uma serve`: the Ollama- and OpenAI-compatible server.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "args.h"
#include "commands.h"
#include "uma/core/error.h"
#include "uma/runtime/model_manager.h"
#include "uma/server/server.h"

namespace uma::cli {
namespace {

const std::vector<std::string> kServeOptions = {
    "--host",    "--port",       "--parallel",   "--ctx",           "--max-queue",
    "--api-key", "--models-dir", "--keep-alive", "--memory-budget", "--threads",
    "--origins", "--kv-type",    "--max-body"};

// "24GB", "512MiB", "8g", or a number of bytes.
uint64_t parse_bytes(const std::string& option, const std::string& text) {
    size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        throw Error(option + ": cannot read '" + text + "' as a size (like 16GB or 512MiB)");
    }
    std::string unit = text.substr(used);
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    double scale = 1;
    if (unit == "" || unit == "b")
        scale = 1;
    else if (unit == "k" || unit == "kb")
        scale = 1e3;
    else if (unit == "m" || unit == "mb")
        scale = 1e6;
    else if (unit == "g" || unit == "gb")
        scale = 1e9;
    else if (unit == "t" || unit == "tb")
        scale = 1e12;
    else if (unit == "kib")
        scale = 1024.0;
    else if (unit == "mib")
        scale = 1024.0 * 1024;
    else if (unit == "gib")
        scale = 1024.0 * 1024 * 1024;
    else
        throw Error(option + ": unknown unit in '" + text + "' (B, KB, MB, GB, TB, KiB, MiB, GiB)");
    if (value < 0) throw Error(option + " must not be negative");
    return static_cast<uint64_t>(value * scale);
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        const size_t end = comma == std::string::npos ? text.size() : comma;
        std::string item = text.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) out.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

std::string env_or(const char* name, const std::string& fallback) {
    const char* value = std::getenv(name);
    return value && *value ? value : fallback;
}

}  // namespace

int cmd_serve(int argc, char** argv) {
    Args args(argc, argv, 2, {}, kServeOptions);
    if (!args.positional().empty()) throw Error("usage: uma serve [options] (see 'uma help')");
    ServerOptions o;
    parse_host(env_or("UMA_HOST", "127.0.0.1:11434"), o);
    if (auto host = args.value("--host")) parse_host(*host, o);
    if (auto port = args.value("--port")) {
        const int64_t p = args.get_int("--port", 0);
        if (p < 0 || p > 65535) throw Error("--port must be 0 to 65535, got " + *port);
        o.port = static_cast<int>(p);
    }
    o.api_key = args.get("--api-key", env_or("UMA_API_KEY", ""));
    o.allowed_origins = split_list(args.get("--origins", env_or("UMA_ORIGINS", "")));
    if (auto max_body = args.value("--max-body"))
        o.max_body_bytes = parse_bytes("--max-body", *max_body);

    ModelManagerOptions& m = o.models;
    if (auto dir = args.value("--models-dir")) m.store_root = *dir;
    m.threads = static_cast<int>(args.get_int("--threads", 0));
    m.parallel = static_cast<int>(args.get_int("--parallel", 0));
    if (m.parallel < 0) throw Error("--parallel must be at least 1 (or 0 for automatic)");
    m.default_ctx = args.get_int("--ctx", 0);
    if (m.default_ctx < 0) throw Error("--ctx must be positive");
    const int64_t max_queue = args.get_int("--max-queue", static_cast<int64_t>(m.max_queue));
    if (max_queue < 0) throw Error("--max-queue must not be negative");
    m.max_queue = static_cast<size_t>(max_queue);
    if (auto budget = args.value("--memory-budget"))
        m.memory_budget = parse_bytes("--memory-budget", *budget);
    m.default_keep_alive =
        parse_keep_alive(args.get("--keep-alive", env_or("UMA_KEEP_ALIVE", "5m")));
    const std::string kv = args.get("--kv-type", "f16");
    if (kv == "f32")
        m.kv_type = GgmlType::F32;
    else if (kv != "f16")
        throw Error("--kv-type must be f16 or f32, got '" + kv + "'");

    // SIGINT/SIGTERM stop the server from a thread that waits for them: no handler state.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a client that goes away is an error on write, not a crash

    Server server(o);
    std::thread signal_watcher([&server, stop_signals] {
        int received = 0;
        sigwait(&stop_signals, &received);
        if (received == SIGINT || received == SIGTERM) server.stop();
    });
    int status = 0;
    try {
        server.run([&](int port) {
            std::fprintf(
                stderr, "uma serve: listening on http://%s:%d (models: %s)\n", o.host.c_str(), port,
                m.store_root.empty() ? ModelStore::default_root().c_str() : m.store_root.c_str());
            std::fflush(stderr);
        });
    } catch (const Error& e) {
        std::fprintf(stderr, "uma serve: error: %s\n", e.what());
        status = 1;
    }
    // Wake the watcher if the server stopped on its own.
    pthread_kill(signal_watcher.native_handle(), SIGTERM);
    signal_watcher.join();
    return status;
}

}  // namespace uma::cli
