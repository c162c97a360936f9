// End-to-end tests of the store commands (create, pull, list, show, rm, cp, fit) through the uma
// executable, each with its own store in a temp directory.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/test_pull_server.h"
#include "runtime/test_store_helpers.h"
#include "test_data.h"
#include "uma/runtime/model_store.h"
#include "uma/runtime/sha256.h"

namespace uma {
namespace {

namespace fs = std::filesystem;

struct Result {
    int status;
    std::string output;  // stdout and stderr together
};

// A temp store (and bandwidth cache) that every command of the test uses.
class StoreCli {
  public:
    fs::path store() const { return dir_ / "models"; }
    const test::TempDir& dir() const { return dir_; }

    std::string env() const {
        return "UMA_MODELS='" + store().string() + "' UMA_BANDWIDTH_CACHE='" +
               (dir_ / "bw.json").string() + "' ";
    }
    Result run(const std::string& args) const {
        const std::string command = env() + test::uma_binary() + " " + args + " 2>&1 < /dev/null";
        FILE* pipe = popen(command.c_str(), "r");
        if (!pipe) throw std::runtime_error("popen failed");
        std::string output;
        std::array<char, 4096> buf;
        size_t n;
        while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
        const int status = pclose(pipe);
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
    }
    // Runs uma directly (no shell) and returns its peak RSS in bytes; output goes to /dev/null.
    uint64_t peak_rss(const std::vector<std::string>& args) const {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::setenv("UMA_MODELS", store().c_str(), 1);
            std::freopen("/dev/null", "w", stdout);
            std::freopen("/dev/null", "w", stderr);
            static std::string binary = test::uma_binary();
            std::vector<char*> argv = {binary.data()};
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        int status = 0;
        rusage usage{};
        ::wait4(pid, &status, 0, &usage);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
    }

  private:
    test::TempDir dir_;
};

std::string stories() {
    return test::data_path("models/stories260K.gguf").string();
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(StoreCli, CreateListShowRunCopyAndRemove) {
    StoreCli cli;
    const fs::path modelfile = cli.dir() / "Modelfile";
    std::ofstream(modelfile)
        << "# the demo model, with settings\nFROM " << stories()
        << "\nPARAMETER temperature 0.2\nPARAMETER stop \"THE END\"\n"
        << "SYSTEM You tell stories.\nTEMPLATE \"\"\"{{ messages[0].content }}\"\"\"\n";
    auto r = cli.run("create story -f " + modelfile.string());
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "created story:latest")) << r.output;

    r = cli.run("list");
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(contains(r.output, "NAME")) << r.output;
    EXPECT_TRUE(contains(r.output, "story:latest")) << r.output;
    EXPECT_TRUE(contains(r.output, "just now")) << r.output;

    // Every model command takes the store name.
    r = cli.run("run story 'Once upon a time' --greedy -n 30 -t 1 --raw");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "Once upon a time, there was a little girl named Lily."))
        << r.output;
    r = cli.run("tokenize story:latest 'Once upon a time'");
    EXPECT_EQ(r.output, "1 403 407 261 378\n");
    r = cli.run("show story");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "architecture        llama")) << r.output;
    EXPECT_TRUE(contains(r.output, "temperature         0.2")) << r.output;
    EXPECT_TRUE(contains(r.output, "You tell stories.")) << r.output;

    r = cli.run("show story --modelfile");
    EXPECT_TRUE(contains(r.output, "FROM " + (cli.store() / "blobs" / "sha256-").string()))
        << r.output;
    EXPECT_TRUE(contains(r.output, "PARAMETER temperature 0.2\nPARAMETER stop \"THE END\""))
        << r.output;
    EXPECT_TRUE(contains(r.output, "SYSTEM You tell stories.")) << r.output;
    r = cli.run("show story --parameters");
    EXPECT_EQ(r.output, "temperature        0.2\nstop               \"THE END\"\n");
    r = cli.run("show story --template");
    EXPECT_EQ(r.output, "{{ messages[0].content }}\n");
    r = cli.run("show story --system");
    EXPECT_EQ(r.output, "You tell stories.\n");
    r = cli.run("show " + stories() + " --modelfile");  // a plain file: FROM the file
    EXPECT_TRUE(contains(r.output, "FROM " + stories())) << r.output;

    // The Modelfile printed by show rebuilds the same model.
    std::ofstream(cli.dir() / "Rebuilt") << cli.run("show story --modelfile").output;
    r = cli.run("create rebuilt -f " + (cli.dir() / "Rebuilt").string());
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(cli.run("show rebuilt --parameters").output,
              cli.run("show story --parameters").output);

    // Copies share the blob; deleting one keeps it for the other.
    r = cli.run("cp story story:copy");
    EXPECT_EQ(r.status, 0) << r.output;
    const std::string blob =
        (cli.store() / "blobs" / ("sha256-" + Sha256::of_file(stories()))).string();
    EXPECT_EQ(cli.run("rm story rebuilt").output,
              "deleted 'story:latest'\ndeleted 'rebuilt:latest'\n");
    EXPECT_TRUE(fs::exists(blob));
    r = cli.run("run story:copy 'Once upon a time' --greedy -n 5 -t 1 --raw");
    EXPECT_EQ(r.status, 0) << r.output;
    r = cli.run("rm story:copy");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_FALSE(fs::exists(blob));

    r = cli.run("rm story");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.output, "no model named 'story' in the store")) << r.output;
    r = cli.run("rm " + stories());
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.output, "is a file, not a model in the store")) << r.output;
    EXPECT_TRUE(fs::exists(stories()));
    r = cli.run("run nothing-here 'hi'");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(
        contains(r.output, "'nothing-here' is neither a GGUF file nor a model in the store"))
        << r.output;
}

TEST(StoreCli, CreateFromAFileAndModelfileErrorsNameTheLine) {
    StoreCli cli;
    auto r = cli.run("create quick --from " + stories());
    EXPECT_EQ(r.status, 0) << r.output;
    const fs::path modelfile = cli.dir() / "Modelfile";
    std::ofstream(modelfile) << "FROM quick\n\nPARAMETER num_ctx many\n";
    r = cli.run("create broken -f " + modelfile.string());
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.output, "uma create: error: " + modelfile.string() +
                            ":3: parameter num_ctx expects an integer, got 'many'\n");
    r = cli.run("create 'bad name!' --from " + stories());
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.output, "must be letters, digits")) << r.output;
    // FROM another model inherits it; cp of a plain file stores it.
    std::ofstream(modelfile) << "FROM quick\nPARAMETER num_ctx 128\n";
    EXPECT_EQ(cli.run("create derived -f " + modelfile.string()).status, 0);
    EXPECT_EQ(cli.run("show derived --parameters").output, "num_ctx            128\n");
    EXPECT_EQ(cli.run("cp " + stories() + " from-file").status, 0);
    const auto list = cli.run("list").output;
    EXPECT_TRUE(contains(list, "derived:latest") && contains(list, "from-file:latest") &&
                contains(list, "quick:latest"))
        << list;
}

// Kills `uma create` at points spread over its run: the store must stay consistent every time
// (every blob matches its digest, every manifest resolves), and a second create must succeed.
TEST(StoreCli, KillDuringCreateNeverCorruptsTheStore) {
    test::TempDir dir;
    const fs::path big = dir / "big.gguf";
    test::write_test_gguf(big, 12 << 20);  // 48 MiB
    const auto create_in = [&](const fs::path& store) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::setenv("UMA_MODELS", store.c_str(), 1);
            std::freopen("/dev/null", "w", stdout);
            std::freopen("/dev/null", "w", stderr);
            static std::string binary = test::uma_binary();
            ::execl(binary.c_str(), binary.c_str(), "create", "big", "--from", big.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        return pid;
    };
    const auto start = std::chrono::steady_clock::now();
    int status = 0;
    ::waitpid(create_in(dir / "timing"), &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const auto full = std::chrono::steady_clock::now() - start;

    for (int i = 1; i <= 6; ++i) {
        const fs::path root = dir / ("store" + std::to_string(i));
        const pid_t pid = create_in(root);
        std::this_thread::sleep_for(full * i / 7);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);

        ModelStore store(root);
        if (fs::exists(root / "blobs")) {
            for (const auto& e : fs::directory_iterator(root / "blobs")) {
                const std::string file = e.path().filename().string();
                if (file.rfind("sha256-", 0) == 0) {
                    EXPECT_EQ("sha256-" + Sha256::of_file(e.path()), file)
                        << "a blob is corrupt after kill " << i;
                }
            }
        }
        for (const auto& m : store.list()) EXPECT_NE(m.manifest_id, "damaged") << m.name.display();
        if (const auto m = store.resolve("big")) {
            EXPECT_EQ(fs::file_size(m->gguf_path), fs::file_size(big));
        }
        store.collect_garbage();  // clears a killed writer's temp file
        for (const auto& e : fs::recursive_directory_iterator(root))
            EXPECT_NE(e.path().filename().string().rfind(".tmp-", 0), 0u) << e.path();
        ::waitpid(create_in(root), &status, 0);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "create after kill " << i;
        EXPECT_TRUE(store.resolve("big"));
    }
}

TEST(StoreCli, PullResumesAnInterruptedDownloadAndTheModelRuns) {
    StoreCli cli;
    const fs::path served = cli.dir() / "served";
    fs::create_directories(served);
    fs::copy_file(stories(), served / "stories260K.gguf");
    test::PullServer server(served);
    const std::string url = server.url("/files/stories260K.gguf?drop=500000");
    auto r = cli.run("pull '" + url + "' --retries 0");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.output, "interrupted")) << r.output;
    EXPECT_FALSE(contains(cli.run("list").output, "stories260K")) << "nothing under its name yet";

    r = cli.run("pull '" + url + "' --sha256 " + Sha256::of_file(stories()));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "resuming a partial download at")) << r.output;
    EXPECT_TRUE(contains(r.output, "pulled stories260K:latest")) << r.output;
    EXPECT_TRUE(contains(server.log(), "range=bytes=500000-")) << server.log();
    r = cli.run("run stories260K 'Once upon a time' --greedy -n 20 -t 1");
    EXPECT_TRUE(contains(r.output, "Once upon a time, there was a little girl")) << r.output;

    r = cli.run("pull '" + server.url("/page.html") + "' page");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.output, "is not a GGUF file")) << r.output;
}

// fit's memory estimate against the peak RSS of actually running the model, within 10%. The
// prompt is longer than a batch, so that every compute buffer is used.
TEST(StoreCli, FitEstimateMatchesMeasuredPeakRss) {
    StoreCli cli;
    for (const auto& [ctx, kv] : {std::pair{"1024", "f16"}, std::pair{"4096", "f32"}}) {
        // The KV cache takes memory as it fills, and `fit` answers for a full context: a prompt
        // of about 90% of it (14 tokens a sentence).
        std::string prompt;
        for (int i = 0; i < std::stoi(ctx) * 9 / 10 / 14; ++i)
            prompt += "Once upon a time there was a little girl named Lily. ";
        const Result fit =
            cli.run("fit " + stories() + " -t 1 --json --ctx " + ctx + " --kv-type " + kv);
        ASSERT_EQ(fit.status, 0) << fit.output;
        const auto j = nlohmann::json::parse(fit.output);
        EXPECT_EQ(j["fits"], "yes");
        const double estimate = j["memory"]["total"].get<double>();
        const double measured = double(cli.peak_rss(
            {"run", stories(), prompt, "-n", "4", "-t", "1", "--ctx", ctx, "--kv-type", kv}));
        EXPECT_NEAR(estimate / measured, 1.0, 0.10)
            << "ctx " << ctx << " " << kv << ": estimate " << estimate << ", measured " << measured;
    }
    const auto r = cli.run("fit " + stories() + " -t 1 --ctx 512");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "fits: needs")) << r.output;
    EXPECT_TRUE(contains(r.output, "generation") && contains(r.output, "tokens/s")) << r.output;
}

TEST(StoreCli, FitTablesForOtherMachines) {
    StoreCli cli;
    auto r = cli.run("fit --machine m2-max");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "m2-max (Apple M2 Max, 96 GB)")) << r.output;
    EXPECT_TRUE(contains(r.output, "llama-3.1-8b")) << r.output;
    EXPECT_TRUE(contains(r.output, "yes, 131072 ctx")) << r.output;
    r = cli.run("fit --machine 8GB,100GB/s --quant Q4_K_M");
    EXPECT_EQ(r.status, 0) << r.output;
    // A 70B model does not fit in 8 GB; a 1B one does, at about 100 GB/s / 0.8 GB per token.
    const size_t line = r.output.find("llama-3.3-70b");
    ASSERT_NE(line, std::string::npos) << r.output;
    EXPECT_TRUE(contains(r.output.substr(line, r.output.find('\n', line) - line), " no "))
        << r.output;
    r = cli.run("fit --machine warp-drive");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.output, "unknown machine 'warp-drive'") &&
                contains(r.output, "rtx-4090"))
        << r.output;
    // A stored model on a preset machine.
    EXPECT_EQ(cli.run("create s --from " + stories()).status, 0);
    r = cli.run("fit s --machine rtx-4090 --ctx 2048 --parallel 4 --kv-type q8_0");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "2048 tokens x 4 sequences, KV cache Q8_0")) << r.output;
}

}  // namespace
}  // namespace uma
