#pragma once
// Starts the real `uma serve` on a free loopback port for a test and stops it afterwards.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test_data.h"

namespace uma::test {

using Json = nlohmann::ordered_json;

class ServerProcess {
  public:
    // Extra arguments after `uma serve --port 0 --threads 1 --models-dir <empty temp dir>`, and
    // environment variables to set for the server.
    explicit ServerProcess(std::vector<std::string> extra = {},
                           std::vector<std::pair<std::string, std::string>> env = {}) {
        store_ = std::filesystem::temp_directory_path() /
                 ("uma-serve-test-" + std::to_string(::getpid()) + "-" +
                  std::to_string(std::random_device{}()));
        std::filesystem::create_directories(store_);
        std::vector<std::string> args = {uma_binary(), "serve", "--port",       "0",
                                         "--threads",  "1",     "--models-dir", store_.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        int err_pipe[2];
        if (pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(err_pipe[1], STDERR_FILENO);
            close(err_pipe[0]);
            close(err_pipe[1]);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            unsetenv("UMA_HOST");
            unsetenv("UMA_API_KEY");
            for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(err_pipe[1]);
        err_fd_ = err_pipe[0];
        // Wait (bounded) for "listening on http://127.0.0.1:PORT".
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline && port_ == 0) {
            pollfd p{err_fd_, POLLIN, 0};
            if (poll(&p, 1, 200) <= 0) continue;
            char buf[512];
            const ssize_t n = read(err_fd_, buf, sizeof buf);
            if (n <= 0) break;
            log_.append(buf, static_cast<size_t>(n));
            const auto at = log_.find("listening on http://127.0.0.1:");
            if (at != std::string::npos) {
                const auto digits = log_.substr(at + 30);
                if (digits.find(' ') != std::string::npos) port_ = std::stoi(digits);
            }
        }
        if (port_ == 0) {
            stop();
            throw std::runtime_error("uma serve did not start: " + log_);
        }
        fcntl(err_fd_, F_SETFL, O_NONBLOCK);
    }

    ~ServerProcess() { stop(); }
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    int port() const { return port_; }
    const std::filesystem::path& store() const { return store_; }

    httplib::Client client(int read_timeout_s = 60) const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(read_timeout_s, 0);
        c.set_connection_timeout(5, 0);
        return c;
    }

    // POST a JSON body; returns status and parsed body (null when the body is not JSON).
    struct Reply {
        int status = 0;
        std::string body;
        Json json;
    };
    Reply post(const std::string& path, const Json& body,
               const httplib::Headers& headers = {}) const {
        return post_raw(path, body.dump(), headers);
    }
    Reply post_raw(const std::string& path, const std::string& body,
                   const httplib::Headers& headers = {}) const {
        auto c = client();
        auto res = c.Post(path.c_str(), headers, body, "application/json");
        return to_reply(res);
    }
    Reply get(const std::string& path, const httplib::Headers& headers = {}) const {
        auto c = client();
        return to_reply(c.Get(path.c_str(), headers));
    }

    void stop() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            for (int i = 0; i < 100; ++i) {
                if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                    pid_ = -1;
                    break;
                }
                usleep(50'000);
            }
            if (pid_ > 0) {
                kill(pid_, SIGKILL);
                waitpid(pid_, nullptr, 0);
                pid_ = -1;
            }
        }
        if (err_fd_ >= 0) close(err_fd_);
        err_fd_ = -1;
        std::error_code ec;
        std::filesystem::remove_all(store_, ec);
    }

  private:
    static Reply to_reply(const httplib::Result& res) {
        Reply r;
        if (!res) {
            r.status = -1;
            r.body = "no reply: " + httplib::to_string(res.error());
            return r;
        }
        r.status = res->status;
        r.body = res->body;
        r.json = Json::parse(res->body, nullptr, false);
        if (r.json.is_discarded()) r.json = nullptr;
        return r;
    }

    pid_t pid_ = -1;
    int err_fd_ = -1;
    int port_ = 0;
    std::string log_;
    std::filesystem::path store_;
};

// A bandwidth cache (UMA_BANDWIDTH_CACHE) in which this CPU reads `gbs` GB/s with one thread
// (the fixture's --threads 1), as if `uma bench` had measured it; the caller removes the file.
inline std::filesystem::path write_bandwidth_cache(double gbs) {
    std::string cpu = "unknown cpu";  // named as bandwidth.cpp names it
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);)
        if (line.rfind("model name", 0) == 0) {
            const size_t colon = line.find(':');
            cpu = colon == std::string::npos ? line : line.substr(colon + 2);
            break;
        }
    const auto path = std::filesystem::temp_directory_path() /
                      ("uma-test-bandwidth-" + std::to_string(::getpid()) + "-" +
                       std::to_string(std::random_device{}()) + ".json");
    std::ofstream(path) << Json{{"cpu", cpu}, {"read_gbs", {{"1", gbs}}}}.dump();
    return path;
}

inline std::string stories_model() {
    return data_path("models/stories260K.gguf").string();
}

// Splits a streamed body into its NDJSON lines or SSE data payloads (without "data: ").
inline std::vector<std::string> stream_records(const std::string& body, bool sse) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < body.size()) {
        size_t end = body.find('\n', start);
        if (end == std::string::npos) end = body.size();
        std::string line = body.substr(start, end - start);
        start = end + 1;
        if (line.empty()) continue;
        if (sse) {
            if (line.rfind("data: ", 0) != 0) continue;
            line = line.substr(6);
        }
        out.push_back(line);
    }
    return out;
}

}  // namespace uma::test
