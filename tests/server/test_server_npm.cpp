// Runs tests/server/npm (the real `openai` and `ollama` npm clients, node:test) against a
// `uma serve` on a free port. Installs the packages (npm ci) when node_modules is missing.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "server/server_fixture.h"
#include "test_shell.h"

namespace uma::test {
namespace {

std::filesystem::path npm_dir() {
    return std::filesystem::path(__FILE__).parent_path() / "npm";
}

using test::shell_quote;

test::ShellResult run_command(const std::string& command) {
    return test::run_shell(command);
}

TEST(ServerNpmClients, OpenAIAndOllamaClientLibraries) {
    const auto dir = npm_dir();
    if (!std::filesystem::exists(dir / "node_modules" / "openai") ||
        !std::filesystem::exists(dir / "node_modules" / "ollama")) {
        const auto install = run_command("cd " + shell_quote(dir.string()) +
                                         " && timeout 300 npm ci --no-audit --no-fund");
        ASSERT_EQ(install.status, 0) << "npm ci failed (scripts/setup.sh installs the packages):\n"
                                     << install.output;
    }
    std::ifstream template_file(
        data_path("templates/NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"));
    std::stringstream template_text;
    template_text << template_file.rdbuf();

    ServerProcess server({"--parallel", "2"});
    const std::string env = "UMA_SERVER_URL=http://127.0.0.1:" + std::to_string(server.port()) +
                            " UMA_TEST_MODEL=" + shell_quote(stories_model()) +
                            " UMA_TEST_TEMPLATE=" + shell_quote(template_text.str());
    const auto result =
        run_command("cd " + shell_quote(dir.string()) + " && " + env +
                    " timeout 120 node --test --test-concurrency=1 clients.test.mjs");
    EXPECT_EQ(result.status, 0) << result.output;
}

}  // namespace
}  // namespace uma::test
