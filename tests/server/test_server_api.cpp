// `uma serve` over raw HTTP: the Ollama and OpenAI endpoints, streaming and not.
#include <thread>

#include "server/server_fixture.h"

namespace uma::test {
namespace {

// Greedy continuation of "Once upon a time" by stories260K (test data README).
constexpr const char* kStoryStart =
    ", there was a little girl named Lily. She loved to play outside";

Json greedy(int num_predict) {
    return Json{{"temperature", 0}, {"num_predict", num_predict}};
}

class ServerApi : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { server_ = new ServerProcess({"--parallel", "4"}); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static ServerProcess* server_;
};
ServerProcess* ServerApi::server_ = nullptr;

TEST_F(ServerApi, GenerateWithoutStreamingContinuesTheStory) {
    const auto r = server_->post("/api/generate", {{"model", stories_model()},
                                                   {"prompt", "Once upon a time"},
                                                   {"stream", false},
                                                   {"options", greedy(24)}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json["response"].get<std::string>().rfind(kStoryStart, 0), 0u) << r.body;
    EXPECT_EQ(r.json["done"], true);
    EXPECT_EQ(r.json["done_reason"], "length");
    EXPECT_EQ(r.json["eval_count"], 24);
    EXPECT_EQ(r.json["prompt_eval_count"], 5);
    for (const char* field :
         {"total_duration", "load_duration", "prompt_eval_duration", "eval_duration"})
        EXPECT_TRUE(r.json[field].is_number_integer()) << field;
    EXPECT_EQ(r.json["context"].size(), 29u);
}

TEST_F(ServerApi, GenerateStreamsNdjsonThatAddsUpToTheSameText) {
    const auto whole = server_->post("/api/generate", {{"model", stories_model()},
                                                       {"prompt", "Once upon a time"},
                                                       {"stream", false},
                                                       {"options", greedy(24)}});
    const auto r = server_->post(
        "/api/generate",
        {{"model", stories_model()}, {"prompt", "Once upon a time"}, {"options", greedy(24)}});
    ASSERT_EQ(r.status, 200) << r.body;
    const auto lines = stream_records(r.body, false);
    ASSERT_GE(lines.size(), 3u);
    std::string text;
    for (size_t i = 0; i < lines.size(); ++i) {
        const Json chunk = Json::parse(lines[i]);
        text += chunk["response"].get<std::string>();
        EXPECT_EQ(chunk["done"], i + 1 == lines.size()) << lines[i];
    }
    const Json last = Json::parse(lines.back());
    EXPECT_EQ(last["eval_count"], 24);
    EXPECT_EQ(text, whole.json["response"]);
}

TEST_F(ServerApi, ChatStreamsAndAnswersWithTheFallbackTemplate) {
    const Json request{{"model", stories_model()},
                       {"messages", {{{"role", "user"}, {"content", "Tell me a story"}}}},
                       {"options", greedy(12)}};
    Json not_streamed = request;
    not_streamed["stream"] = false;
    const auto whole = server_->post("/api/chat", not_streamed);
    ASSERT_EQ(whole.status, 200) << whole.body;
    EXPECT_EQ(whole.json["message"]["role"], "assistant");
    EXPECT_FALSE(whole.json["message"]["content"].get<std::string>().empty());
    const auto streamed = server_->post("/api/chat", request);
    ASSERT_EQ(streamed.status, 200);
    std::string text;
    for (const auto& line : stream_records(streamed.body, false))
        text += Json::parse(line)["message"]["content"].get<std::string>();
    EXPECT_EQ(text, whole.json["message"]["content"]);
}

TEST_F(ServerApi, OpenAIChatCompletionsWithAndWithoutStreaming) {
    Json request{{"model", stories_model()},
                 {"messages",
                  {{{"role", "system"}, {"content", "You tell stories."}},
                   {{"role", "user"}, {"content", "Once upon a time"}}}},
                 {"max_tokens", 10},
                 {"temperature", 0}};
    const auto whole = server_->post("/v1/chat/completions", request);
    ASSERT_EQ(whole.status, 200) << whole.body;
    EXPECT_EQ(whole.json["object"], "chat.completion");
    EXPECT_EQ(whole.json["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(whole.json["usage"]["completion_tokens"], 10);
    const std::string content = whole.json["choices"][0]["message"]["content"];

    request["stream"] = true;
    request["stream_options"] = {{"include_usage", true}};
    const auto streamed = server_->post("/v1/chat/completions", request);
    ASSERT_EQ(streamed.status, 200) << streamed.body;
    const auto records = stream_records(streamed.body, true);
    ASSERT_GE(records.size(), 4u);
    EXPECT_EQ(records.back(), "[DONE]");
    std::string text;
    std::string finish;
    Json usage;
    for (size_t i = 0; i + 1 < records.size(); ++i) {
        const Json chunk = Json::parse(records[i]);
        EXPECT_EQ(chunk["object"], "chat.completion.chunk");
        if (chunk.contains("usage")) usage = chunk["usage"];
        if (chunk["choices"].empty()) continue;
        const Json& delta = chunk["choices"][0]["delta"];
        if (i == 0) {
            EXPECT_EQ(delta["role"], "assistant");
        }
        if (delta.contains("content")) text += delta["content"].get<std::string>();
        if (chunk["choices"][0]["finish_reason"].is_string())
            finish = chunk["choices"][0]["finish_reason"];
    }
    EXPECT_EQ(text, content);
    EXPECT_EQ(finish, "length");
    EXPECT_EQ(usage["completion_tokens"], 10);
}

TEST_F(ServerApi, OpenAICompletionsWithLogprobs) {
    const auto r = server_->post("/v1/completions", {{"model", stories_model()},
                                                     {"prompt", "Once upon a time"},
                                                     {"max_tokens", 6},
                                                     {"temperature", 0},
                                                     {"logprobs", 3}});
    ASSERT_EQ(r.status, 200) << r.body;
    const Json& choice = r.json["choices"][0];
    EXPECT_EQ(choice["text"].get<std::string>().rfind(", there was", 0), 0u) << r.body;
    ASSERT_EQ(choice["logprobs"]["tokens"].size(), 6u);
    EXPECT_EQ(choice["logprobs"]["top_logprobs"][0].size(), 3u);
    EXPECT_LE(choice["logprobs"]["token_logprobs"][0].get<double>(), 0.0);
}

TEST_F(ServerApi, ChatLogprobsAndSeedsAreReproducible) {
    const Json request{{"model", stories_model()},
                       {"messages", {{{"role", "user"}, {"content", "Hello"}}}},
                       {"max_tokens", 8},
                       {"temperature", 0.9},
                       {"seed", 42},
                       {"logprobs", true},
                       {"top_logprobs", 2}};
    const auto a = server_->post("/v1/chat/completions", request);
    const auto b = server_->post("/v1/chat/completions", request);
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.json["choices"][0]["message"], b.json["choices"][0]["message"]);
    const Json& content = a.json["choices"][0]["logprobs"]["content"];
    ASSERT_EQ(content.size(), 8u);
    EXPECT_EQ(content[0]["top_logprobs"].size(), 2u);
}

TEST_F(ServerApi, PrefixCacheHitIsReportedInUsage) {
    const Json request{
        {"model", stories_model()},
        {"messages",
         {{{"role", "user"}, {"content", "A long conversation about a cat and a dog"}}}},
        {"max_tokens", 4},
        {"temperature", 0}};
    const auto first = server_->post("/v1/chat/completions", request);
    ASSERT_EQ(first.status, 200) << first.body;
    Json longer = request;
    longer["messages"].push_back(
        {{"role", "assistant"}, {"content", first.json["choices"][0]["message"]["content"]}});
    longer["messages"].push_back({{"role", "user"}, {"content", "And then?"}});
    const auto second = server_->post("/v1/chat/completions", longer);
    ASSERT_EQ(second.status, 200) << second.body;
    const int64_t cached = second.json["usage"]["prompt_tokens_details"]["cached_tokens"];
    EXPECT_GE(cached, first.json["usage"]["prompt_tokens"].get<int64_t>() - 1) << second.body;
    EXPECT_GT(second.json["usage"]["prompt_tokens"].get<int64_t>(), cached);
}

TEST_F(ServerApi, ModelListingEndpoints) {
    const auto version = server_->get("/api/version");
    EXPECT_EQ(version.status, 200);
    EXPECT_TRUE(version.json["version"].is_string());
    EXPECT_EQ(server_->get("/api/tags").json["models"], Json::array());
    // Load the model, then it shows in /api/ps and /v1/models.
    server_->post(
        "/api/generate",
        {{"model", stories_model()}, {"prompt", "Hi"}, {"stream", false}, {"options", greedy(1)}});
    const auto ps = server_->get("/api/ps");
    ASSERT_EQ(ps.status, 200);
    ASSERT_EQ(ps.json["models"].size(), 1u) << ps.body;
    const Json& loaded = ps.json["models"][0];
    EXPECT_EQ(loaded["name"], stories_model());
    EXPECT_GT(loaded["size"].get<int64_t>(), 1'000'000);
    EXPECT_TRUE(loaded["expires_at"].is_string());
    EXPECT_EQ(loaded["details"]["family"], "llama");
    const auto models = server_->get("/v1/models");
    EXPECT_EQ(models.json["object"], "list");
    EXPECT_EQ(models.json["data"][0]["id"], stories_model());
    const auto show = server_->post("/api/show", {{"model", stories_model()}});
    ASSERT_EQ(show.status, 200) << show.body;
    EXPECT_EQ(show.json["model_info"]["general.architecture"], "llama");
    EXPECT_EQ(show.json["details"]["quantization_level"], "F32");
}

TEST(ServerKeepAlive, ZeroUnloadsAndLoadOnlyRequestsWork) {
    ServerProcess server;
    const auto load =
        server.post("/api/generate", {{"model", stories_model()}, {"keep_alive", -1}});
    ASSERT_EQ(load.status, 200) << load.body;
    EXPECT_EQ(load.json["done_reason"], "load");
    auto ps = server.get("/api/ps");
    ASSERT_EQ(ps.json["models"].size(), 1u);
    EXPECT_EQ(ps.json["models"][0]["expires_at"], "forever");
    const auto unload =
        server.post("/api/generate", {{"model", stories_model()}, {"keep_alive", 0}});
    EXPECT_EQ(unload.json["done_reason"], "unload");
    EXPECT_EQ(server.get("/api/ps").json["models"].size(), 0u);
    // keep_alive "1s" on a real request: loaded now, gone soon after.
    const auto r = server.post("/api/generate", {{"model", stories_model()},
                                                 {"prompt", "Hi"},
                                                 {"stream", false},
                                                 {"keep_alive", "1s"},
                                                 {"options", greedy(2)}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(server.get("/api/ps").json["models"].size(), 1u);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (server.get("/api/ps").json["models"].size() != 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(server.get("/api/ps").json["models"].size(), 0u);
}

}  // namespace
}  // namespace uma::test
