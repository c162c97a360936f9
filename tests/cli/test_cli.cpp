// End-to-end tests of the uma executable: what a user types and what they see.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "test_data.h"

namespace uma {
namespace {

struct Result {
    int status;
    std::string output;  // stdout and stderr together
};

Result run_uma(const std::string& args, const std::string& stdin_text = "") {
    std::string command = test::uma_binary() + " " + args + " 2>&1";
    if (!stdin_text.empty()) {
        auto input = std::filesystem::temp_directory_path() /
                     ("uma_cli_stdin_" + std::to_string(::getpid()) + ".txt");
        std::ofstream(input) << stdin_text;
        command += " < " + input.string();
    } else {
        command += " < /dev/null";
    }
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed");
    std::string output;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string stories() {
    return test::data_path("models/stories260K.gguf").string();
}

TEST(Cli, RunGreedyPrintsTheReferenceStory) {
    const auto r = run_uma("run " + stories() + " 'Once upon a time' --greedy -n 76 -t 2");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("Once upon a time, there was a little girl named Lily. She loved to "
                            "play outside in the park. One day, she saw a big, red ball."),
              std::string::npos)
        << r.output;
}

TEST(Cli, RunWithSamplingIsReproducibleWithASeed) {
    const std::string args = "run " + stories() + " 'Once upon a time' -n 40 --seed 11 --temp 0.9";
    const auto a = run_uma(args), b = run_uma(args);
    EXPECT_EQ(a.status, 0) << a.output;
    EXPECT_EQ(a.output, b.output);
    EXPECT_GT(a.output.size(), std::string("Once upon a time").size() + 20);
}

TEST(Cli, VerboseReportsSpeeds) {
    const auto r = run_uma("run " + stories() + " 'Once upon a time' -n 8 -v");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("generation: 8 tokens"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("tokens/s"), std::string::npos);
}

TEST(Cli, PromptLongerThanTheContextIsAClearError) {
    std::string prompt;
    for (int i = 0; i < 100; ++i) prompt += "Once upon a time ";
    const auto r = run_uma("run " + stories() + " '" + prompt + "' --ctx 32");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("do not fit in the context of 32 tokens"), std::string::npos)
        << r.output;
}

TEST(Cli, HelpAfterAnyCommandPrintsTheUsage) {
    for (const char* command : {"top --help", "bench -h", "run --help", "serve --port 1 --help"}) {
        const auto r = run_uma(command);
        EXPECT_EQ(r.status, 0) << command << ": " << r.output;
        EXPECT_NE(r.output.find("usage: uma COMMAND"), std::string::npos) << command;
    }
}

TEST(Cli, ShowDescribesTheModel) {
    const auto r = run_uma("show " + stories() + " --ctx 512");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("architecture        llama"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("layers              5"), std::string::npos);
    EXPECT_NE(r.output.find("attention heads     8 (4 key/value heads, head size 8)"),
              std::string::npos);
    EXPECT_NE(r.output.find("vocabulary          512"), std::string::npos);
    EXPECT_NE(r.output.find("F32 x48"), std::string::npos);
    // 5 layers x 512 positions x (32 + 32) values x 2 bytes = 320 KiB
    EXPECT_NE(r.output.find("KV cache            320.0 KiB (512 tokens, F16)"), std::string::npos)
        << r.output;
}

TEST(Cli, TokenizePrintsIds) {
    const auto r = run_uma("tokenize " + stories() + " 'Once upon a time'");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output, "1 403 407 261 378\n");
}

TEST(Cli, PerplexityPrintsTheFinalEstimate) {
    const auto r = run_uma("perplexity " + stories() + " " +
                           test::data_path("golden/logits/ppl_text.txt").string() + " -c 128");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("Final estimate: PPL = 3.7"), std::string::npos) << r.output;
}

TEST(Cli, BadInputGetsClearErrors) {
    auto r = run_uma("run /nonexistent.gguf hi");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("'/nonexistent.gguf' is neither a GGUF file nor a model in the store"),
              std::string::npos)
        << r.output;

    auto not_gguf = std::filesystem::temp_directory_path() /
                    ("uma_not_a_model_" + std::to_string(::getpid()) + ".gguf");
    std::ofstream(not_gguf) << "this is plain text, not a model file at all";
    r = run_uma("show " + not_gguf.string());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("bad magic 'this'"), std::string::npos) << r.output;
    std::filesystem::remove(not_gguf);

    r = run_uma("frobnicate");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown command 'frobnicate'"), std::string::npos);

    r = run_uma("run " + stories() + " hi --threads lots");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("option --threads expects an integer, got 'lots'"), std::string::npos);
}

TEST(Cli, UnknownArchitectureNamesItAndListsSupportedOnes) {
    // A copy of the demo model's header with another architecture name.
    auto path = std::filesystem::temp_directory_path() /
                ("uma_unknown_arch_" + std::to_string(::getpid()) + ".gguf");
    std::ifstream in(stories(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = bytes.find("llama", bytes.find("general.architecture"));
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 5, "mamba");
    std::ofstream(path, std::ios::binary) << bytes;
    const auto r = run_uma("show " + path.string());
    std::filesystem::remove(path);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find(
                  "unknown model architecture 'mamba' (uma supports: deepseek2, gemma2, gemma3, "
                  "llama, phi3, qwen2, qwen2moe, qwen3, qwen3moe)"),
              std::string::npos)
        << r.output;
}

TEST(Cli, RunAppliesTheModelfileParametersSystemAndTemplate) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("uma_cli_run_store_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto modelfile = dir / "Modelfile";
    std::ofstream(modelfile)
        << "FROM " << stories() << "\n"
        << "PARAMETER temperature 0\n"
        << "PARAMETER num_predict 12\n"
        << "SYSTEM Once upon a time\n"
        << "TEMPLATE \"{{ messages[0].content }} {{ messages[1].content }}\"\n";
    const std::string env = "UMA_MODELS=" + (dir / "store").string() + " ";
    // The store is chosen through the environment of the command's shell.
    const std::string bin = test::uma_binary();
    auto shell = [&](const std::string& cmd) {
        FILE* pipe = popen((env + bin + " " + cmd + " 2>&1 < /dev/null").c_str(), "r");
        std::string out;
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
        pclose(pipe);
        return out;
    };
    const std::string create = shell("create storyteller -f " + modelfile.string());
    ASSERT_NE(create.find("storyteller"), std::string::npos) << create;
    const std::string from_store = shell("run storyteller 'there was'");
    const auto raw =
        run_uma("run " + stories() + " 'Once upon a time there was' --greedy -n 12 --raw");
    EXPECT_EQ(raw.output, "Once upon a time there was" + from_store) << from_store;
    std::filesystem::remove_all(dir);
}

TEST(Cli, InteractiveChatWithoutATemplateUsesTheFallback) {
    const auto r = run_uma("run " + stories() + " -n 10 --greedy", "Hello\n/bye\n");
    EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
}  // namespace uma
