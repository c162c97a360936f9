// `uma top` against a real server: one plain frame (--once), errors, and the live ncurses view
// driven through tmux.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "server/server_fixture.h"
#include "test_shell.h"

namespace uma::test {
namespace {

using namespace std::chrono_literals;

// Every command here finishes in seconds; a hang fails the test instead of stalling the suite.
test::ShellResult run_shell(const std::string& command, int timeout_s = 20) {
    return test::run_shell(command, timeout_s);
}

std::string quoted(const std::string& text) {
    return test::shell_quote(text);
}

std::string top_command(int port, const std::string& extra) {
    return "env -u UMA_HOST -u UMA_API_KEY " + quoted(uma_binary()) +
           " top --host 127.0.0.1:" + std::to_string(port) + " " + extra;
}

// One greedy generation, so that the counters have something to show; returns eval_count.
int64_t generate(const ServerProcess& server, int num_predict) {
    const auto r = server.post("/api/generate",
                               {{"model", stories_model()},
                                {"prompt", "Once upon a time"},
                                {"stream", false},
                                {"options", {{"temperature", 0}, {"num_predict", num_predict}}}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json.value("eval_count", int64_t{0});
}

// The first line of `text` that starts with `start` ("" when none does).
std::string line_with(const std::string& text, const std::string& start) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(start, 0) == 0) return line;
    return "";
}

// The model's row of the table.
std::string model_row(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.find("stories260K") != std::string::npos) return line;
    return "";
}

TEST(Top, OncePrintsOneFrameWithTheServersNumbers) {
    const auto cache = write_bandwidth_cache(40);
    ServerProcess server({"--parallel", "2", "--ctx", "128"},
                         {{"UMA_BANDWIDTH_CACHE", cache.string()}});
    const int64_t generated = generate(server, 16);
    const auto r = run_shell(top_command(server.port(), "--once"));
    std::filesystem::remove(cache);  // read at each scrape: kept until now
    ASSERT_EQ(r.status, 0) << r.output;
    const std::string& out = r.output;
    EXPECT_EQ(out.rfind("uma top  127.0.0.1:" + std::to_string(server.port()), 0), 0u) << out;
    EXPECT_NE(line_with(out, "Requests")
                  .find("active 0   queued 0   generation requests 1 (0 "
                        "failed)"),
              std::string::npos)
        << out;
    EXPECT_NE(line_with(out, "Tokens/s").find("generation "), std::string::npos) << out;
    EXPECT_NE(line_with(out, "Tokens ").find(std::to_string(generated) + " generated"),
              std::string::npos)
        << out;
    // The achieved bandwidth as a bar against the machine's 40 GB/s, with the percentage.
    const std::string bandwidth = line_with(out, "Bandwidth");
    EXPECT_EQ(bandwidth.rfind("Bandwidth     [", 0), 0u) << out;
    EXPECT_NE(bandwidth.find("] "), std::string::npos) << out;
    EXPECT_NE(bandwidth.find(" GB/s of 40.00 GB/s ("), std::string::npos) << out;
    EXPECT_EQ(bandwidth.back(), ')') << out;
    EXPECT_NE(bandwidth.find("%)"), std::string::npos) << out;
    EXPECT_NE(line_with(out, "Memory").find("resident"), std::string::npos) << out;
    EXPECT_NE(line_with(out, "Prefix cache").find("of 1 requests"), std::string::npos) << out;
    EXPECT_NE(out.find("KV CACHE"), std::string::npos) << out;
    // The model's row: its KV cache, 2 slots of 128 positions.
    EXPECT_NE(model_row(out).find("/256 ("), std::string::npos) << out;

    // --url names the same server (a path after the address is ignored).
    const auto by_url = run_shell(
        "env -u UMA_HOST -u UMA_API_KEY " + quoted(uma_binary()) +
        " top --once --url http://127.0.0.1:" + std::to_string(server.port()) + "/metrics");
    EXPECT_EQ(by_url.status, 0) << by_url.output;
    EXPECT_NE(by_url.output.find(std::to_string(generated) + " generated"), std::string::npos)
        << by_url.output;
}

TEST(Top, OnceWithoutAServerFailsWithAClearError) {
    const auto r =
        run_shell("env -u UMA_API_KEY " + quoted(uma_binary()) + " top --once --host 127.0.0.1:1");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("uma top: error: no server at 127.0.0.1:1"), std::string::npos)
        << r.output;
}

TEST(Top, BadOptionsAreErrors) {
    auto r = run_shell(quoted(uma_binary()) + " top --once --interval 0");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("--interval"), std::string::npos) << r.output;
    r = run_shell(quoted(uma_binary()) + " top --once --host a:1 --url http://b:2");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("not both"), std::string::npos) << r.output;
    r = run_shell(quoted(uma_binary()) + " top extra");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("usage: uma top"), std::string::npos) << r.output;
}

// The live view in a tmux pane of its own server (a socket named after this process).
class TopInTmux : public ::testing::Test {
  protected:
    void SetUp() override {
        if (run_shell("tmux -V", 5).status != 0)
            GTEST_SKIP() << "tmux is not installed (scripts/setup.sh installs it)";
        socket_ = "uma-test-" + std::to_string(::getpid());
        dir_ = std::filesystem::temp_directory_path() / socket_;
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override {
        if (socket_.empty()) return;
        tmux("kill-server");
        // tmux leaves the socket file behind.
        const char* tmpdir = std::getenv("TMUX_TMPDIR");
        const std::filesystem::path sockets =
            std::filesystem::path(tmpdir && *tmpdir ? tmpdir : "/tmp") /
            ("tmux-" + std::to_string(::getuid()));
        std::error_code ec;
        std::filesystem::remove(sockets / socket_, ec);
        std::filesystem::remove_all(dir_, ec);
    }

    test::ShellResult tmux(const std::string& args) const {
        return run_shell("tmux -L " + socket_ + " -f /dev/null " + args, 10);
    }
    // Starts `command` in a detached width x height session; its exit status goes to a file.
    void start(const std::string& command, int width, int height) {
        const std::string line = command + "; echo $? > " + quoted(status_file().string());
        const auto r = tmux("new-session -d -s top -x " + std::to_string(width) + " -y " +
                            std::to_string(height) + " " + quoted(line));
        ASSERT_EQ(r.status, 0) << r.output;
    }
    std::string screen() const { return tmux("capture-pane -p -t top").output; }
    // Polls the screen until `predicate` holds (at most `limit`); returns the last screen.
    template <class Predicate>
    std::string wait_for(Predicate predicate, std::chrono::seconds limit = 20s) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        std::string text;
        while (std::chrono::steady_clock::now() < deadline) {
            text = screen();
            if (predicate(text)) return text;
            std::this_thread::sleep_for(100ms);
        }
        return text;
    }
    // The exit status the command wrote, waiting at most 10 s; -1 if it did not end.
    int exit_status() const {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            std::ifstream in(status_file());
            int status = -1;
            if (in >> status) return status;
            std::this_thread::sleep_for(100ms);
        }
        return -1;
    }
    std::filesystem::path status_file() const { return dir_ / "status"; }

    std::string socket_;
    std::filesystem::path dir_;
};

TEST_F(TopInTmux, ShowsTheServerFollowsResizesSurvivesItsLossAndQuitsOnQ) {
    auto server = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--parallel", "1", "--ctx", "128"});
    const int64_t generated = generate(*server, 12);
    start(top_command(server->port(), "--interval 0.2"), 120, 30);
    const std::string tokens_line = std::to_string(generated) + " generated";
    std::string text = wait_for([&](const std::string& s) {
        return s.find("stories260K") != std::string::npos &&
               s.find(tokens_line) != std::string::npos;
    });
    ASSERT_NE(text.find("stories260K"), std::string::npos) << text;
    EXPECT_EQ(text.rfind("uma top  127.0.0.1:" + std::to_string(server->port()), 0), 0u) << text;
    EXPECT_NE(text.find("every 0.2 s, q quits"), std::string::npos) << text;
    EXPECT_NE(line_with(text, "Requests").find("generation requests 1 (0 failed)"),
              std::string::npos)
        << text;
    EXPECT_NE(line_with(text, "Tokens/s").find("prompt"), std::string::npos) << text;
    EXPECT_NE(line_with(text, "Bandwidth").find("GB/s"), std::string::npos) << text;
    EXPECT_NE(line_with(text, "Memory").find("resident"), std::string::npos) << text;
    EXPECT_NE(line_with(text, "Prefix cache").find("hit rate"), std::string::npos) << text;
    EXPECT_NE(model_row(text).find("/128 ("), std::string::npos) << text;
    // The title's status is right-aligned to the pane: 120 columns.
    EXPECT_EQ(line_with(text, "uma top").size(), 120u) << text;

    // Resizing redraws at the new width.
    ASSERT_EQ(tmux("resize-window -t top -x 90 -y 30").status, 0);
    text = wait_for([](const std::string& s) { return line_with(s, "uma top").size() == 90; });
    EXPECT_EQ(line_with(text, "uma top").size(), 90u) << text;
    EXPECT_NE(text.find("stories260K"), std::string::npos) << text;

    // The server goes away: a clear message, and the view keeps retrying.
    server.reset();
    text = wait_for([](const std::string& s) {
        return s.find("Cannot reach the server") != std::string::npos;
    });
    EXPECT_NE(text.find("Cannot reach the server: no server at 127.0.0.1:"), std::string::npos)
        << text;
    EXPECT_NE(text.find("Retrying"), std::string::npos) << text;

    ASSERT_EQ(tmux("send-keys -t top q").status, 0);
    EXPECT_EQ(exit_status(), 0) << screen();
}

TEST(Top, WithoutATerminalTheLiveViewPointsToOnce) {
    const std::string command =
        "env -u UMA_API_KEY " + quoted(uma_binary()) + " top --host 127.0.0.1:1 > /dev/null";
    const auto r = run_shell("sh -c " + quoted(command));
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("needs a terminal (use --once"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace uma::test
