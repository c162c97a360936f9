#pragma once
// Running shell commands from tests: output captured, stdin closed, optionally time-limited.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace uma::test {

struct ShellResult {
    int status = -1;     // exit status; 124 when the time limit stopped it
    std::string output;  // stdout and stderr together
};

// Runs `command` with sh, killing it after timeout_s seconds when that is positive.
inline ShellResult run_shell(const std::string& command, int timeout_s = 0) {
    const std::string prefix =
        timeout_s > 0 ? "timeout -k 2 " + std::to_string(timeout_s) + " " : std::string();
    // A subshell, so that the limit and the redirections apply to compound commands too.
    const std::string line = prefix + "sh -c '" + [&] {
        std::string escaped;
        for (const char c : command)
            escaped += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return escaped;
    }() + "' 2>&1 < /dev/null";
    FILE* pipe = popen(line.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed for: " + command);
    ShellResult r;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
    const int status = pclose(pipe);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// `text` as one shell word.
inline std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace uma::test
