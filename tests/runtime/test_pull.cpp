// uma pull against a real HTTP server on loopback: verification, refusals and resumption.
#include <gtest/gtest.h>

#include "test_pull_server.h"
#include "test_store_helpers.h"
#include "uma/core/error.h"
#include "uma/runtime/pull.h"
#include "uma/runtime/sha256.h"

namespace uma {
namespace {

namespace fs = std::filesystem;

struct PullFixture {
    test::TempDir dir;
    fs::path served = dir / "served";
    ModelStore store{dir / "models"};
    PullFixture() {
        fs::create_directories(served);
        test::write_test_gguf(served / "model.gguf", 200000);  // 800 KB
    }
    PullOptions options(const std::string& url) {
        PullOptions o;
        o.url = url;
        o.name = ModelName::parse("pulled");
        o.read_timeout_seconds = 10;
        return o;
    }
    size_t partial_files() const {
        size_t n = 0;
        if (fs::exists(store.partial_dir()))
            for ([[maybe_unused]] const auto& e : fs::directory_iterator(store.partial_dir())) ++n;
        return n;
    }
};

std::string error_of(ModelStore& store, const PullOptions& o) {
    try {
        pull_model(store, o);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Pull, DownloadsVerifiesAndStoresAModel) {
    PullFixture f;
    test::PullServer server(f.served);
    const std::string sha = Sha256::of_file(f.served / "model.gguf");
    std::vector<PullProgress> progress;
    PullOptions o = f.options(server.url("/resolve/model.gguf?sha=" + sha));
    o.on_progress = [&](const PullProgress& p) { progress.push_back(p); };
    const ResolvedModel m = pull_model(f.store, o);
    EXPECT_EQ(m.name, "pulled:latest");
    EXPECT_EQ(m.digest, "sha256:" + sha);
    EXPECT_EQ(Sha256::of_file(m.gguf_path), sha);
    ASSERT_FALSE(progress.empty());
    EXPECT_TRUE(progress.back().done);
    EXPECT_EQ(progress.back().received, fs::file_size(f.served / "model.gguf"));
    EXPECT_EQ(f.partial_files(), 0u) << "the partial file and its note are gone";
    // The redirect was asked first (HEAD, for the digest), then followed.
    EXPECT_NE(server.log().find("HEAD /resolve/model.gguf"), std::string::npos) << server.log();
}

TEST(Pull, AWrongDigestIsRefusedAndLeavesNothing) {
    PullFixture f;
    test::PullServer server(f.served);
    const std::string wrong(64, 'a');
    const std::string error =
        error_of(f.store, f.options(server.url("/resolve/model.gguf?sha=" + wrong)));
    EXPECT_NE(error.find("is corrupt: its sha256 is"), std::string::npos) << error;
    EXPECT_TRUE(f.store.list().empty());
    EXPECT_EQ(f.partial_files(), 0u);
    // The digest given on the command line is checked the same way.
    PullOptions o = f.options(server.url("/files/model.gguf"));
    o.expected_sha256 = std::string(64, 'b');
    EXPECT_NE(error_of(f.store, o).find("is corrupt"), std::string::npos);
}

TEST(Pull, RefusesWhatIsNotAGgufFile) {
    PullFixture f;
    test::PullServer server(f.served);
    const std::string error = error_of(f.store, f.options(server.url("/page.html")));
    EXPECT_NE(error.find("is not a GGUF file (it starts with '<!DOCTYPE html><html><bo', "
                         "Content-Type text/html)"),
              std::string::npos)
        << error;
    EXPECT_NE(error_of(f.store, f.options(server.url("/files/none.gguf"))).find("HTTP 404"),
              std::string::npos);
    EXPECT_TRUE(f.store.list().empty());
    EXPECT_EQ(f.partial_files(), 0u);
    EXPECT_THROW(pull_model(f.store, f.options("ftp://example.com/x.gguf")), Error);
}

TEST(Pull, AnInterruptedTransferResumesInTheNextRun) {
    PullFixture f;
    test::PullServer server(f.served);
    PullOptions o = f.options(server.url("/files/model.gguf?drop=300000"));
    o.retries = 0;
    const std::string error = error_of(f.store, o);
    EXPECT_NE(error.find("interrupted"), std::string::npos) << error;
    EXPECT_NE(error.find("run the same command again to resume"), std::string::npos) << error;
    EXPECT_TRUE(f.store.list().empty()) << "nothing under the model's name yet";
    EXPECT_FALSE(f.store.resolve("pulled"));
    EXPECT_EQ(f.partial_files(), 2u) << "the partial file and its note stay for the next run";

    const ResolvedModel m = pull_model(f.store, o);
    EXPECT_EQ(Sha256::of_file(m.gguf_path), Sha256::of_file(f.served / "model.gguf"));
    EXPECT_NE(server.log().find("range=bytes=300000-"), std::string::npos) << server.log();
    EXPECT_EQ(f.partial_files(), 0u);
}

TEST(Pull, ADroppedConnectionIsResumedWithinTheSameRun) {
    PullFixture f;
    test::PullServer server(f.served);
    std::vector<std::string> status;
    PullOptions o = f.options(server.url("/files/model.gguf?drop=123456"));
    o.on_status = [&](const std::string& s) { status.push_back(s); };
    const ResolvedModel m = pull_model(f.store, o);
    EXPECT_EQ(Sha256::of_file(m.gguf_path), Sha256::of_file(f.served / "model.gguf"));
    EXPECT_NE(server.log().find("range=bytes=123456-"), std::string::npos) << server.log();
    ASSERT_FALSE(status.empty());
    EXPECT_NE(status[0].find("resuming"), std::string::npos);
}

TEST(Pull, NamesComeFromTheUrl) {
    EXPECT_EQ(
        model_name_from_url("https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/"
                            "main/Llama-3.2-1B-Instruct-Q4_K_M.gguf?download=true")
            .display(),
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Llama-3.2-1B-Instruct-Q4_K_M");
    EXPECT_EQ(model_name_from_url("http://127.0.0.1:8000/files/my%20model.gguf").display(),
              "my-20model:latest");
    EXPECT_THROW(model_name_from_url("http://example.com/"), Error);
}

TEST(Pull, ProgressLineShowsBarSpeedAndEta) {
    PullProgress p;
    p.received = 50u << 20;
    p.total = 100u << 20;
    p.bytes_per_second = 10u << 20;
    EXPECT_EQ(format_pull_progress(p, 10),
              " 50% \u2595\u2588\u2588\u2588\u2588\u2588     \u258f 50.0 MiB/100.0 MiB  10.0 MiB/s "
              " ETA 0:05");
    p.total = 0;
    EXPECT_EQ(format_pull_progress(p, 10), "50.0 MiB  10.0 MiB/s");
}

}  // namespace
}  // namespace uma
