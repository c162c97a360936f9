// Bad input to `uma serve`: every case answered with the right status and a message that says
// what is wrong, in each API's error shape.
#include "server/server_fixture.h"

namespace uma::test {
namespace {

class ServerErrors : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = new ServerProcess({"--max-body", "4096"});
        keyed_ = new ServerProcess({"--api-key", "s3cret"});
    }
    static void TearDownTestSuite() {
        delete server_;
        delete keyed_;
    }
    static ServerProcess* server_;
    static ServerProcess* keyed_;

    static std::string ollama_error(const ServerProcess::Reply& r) {
        return r.json.is_object() && r.json["error"].is_string()
                   ? r.json["error"].get<std::string>()
                   : r.body;
    }
    static std::string openai_error(const ServerProcess::Reply& r) {
        return r.json.is_object() && r.json["error"].is_object()
                   ? r.json["error"]["message"].get<std::string>()
                   : r.body;
    }
};
ServerProcess* ServerErrors::server_ = nullptr;
ServerProcess* ServerErrors::keyed_ = nullptr;

#define EXPECT_ERROR(reply, status_code, text, message_of)                         \
    do {                                                                           \
        const auto& r_ = (reply);                                                  \
        EXPECT_EQ(r_.status, status_code) << r_.body;                              \
        EXPECT_NE(message_of(r_).find(text), std::string::npos) << message_of(r_); \
    } while (0)

TEST_F(ServerErrors, InvalidJson) {
    EXPECT_ERROR(server_->post_raw("/api/generate", "{\"model\": "), 400, "invalid JSON",
                 ollama_error);
    EXPECT_ERROR(server_->post_raw("/v1/chat/completions", "[1, 2]"), 400, "must be a JSON object",
                 openai_error);
    EXPECT_ERROR(server_->post_raw("/api/chat", ""), 400, "empty", ollama_error);
}

TEST_F(ServerErrors, WrongFieldTypes) {
    const std::string model = stories_model();
    EXPECT_ERROR(server_->post("/api/generate", {{"model", model}, {"prompt", 5}}), 400,
                 "field 'prompt' must be a string", ollama_error);
    EXPECT_ERROR(
        server_->post("/api/generate", {{"model", model}, {"prompt", "x"}, {"stream", "yes"}}), 400,
        "field 'stream' must be true or false", ollama_error);
    EXPECT_ERROR(
        server_->post("/api/generate",
                      {{"model", model}, {"prompt", "x"}, {"options", {{"temperature", "hot"}}}}),
        400, "temperature", ollama_error);
    EXPECT_ERROR(server_->post("/v1/chat/completions", {{"model", model}, {"messages", "hi"}}), 400,
                 "field 'messages' must be an array", openai_error);
    EXPECT_ERROR(server_->post("/v1/chat/completions",
                               {{"model", model},
                                {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                                {"max_tokens", "ten"}}),
                 400, "max_tokens", openai_error);
    EXPECT_ERROR(
        server_->post(
            "/v1/chat/completions",
            {{"model", model}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"n", 2}}),
        400, "'n' must be 1", openai_error);
    EXPECT_ERROR(
        server_->post("/v1/chat/completions",
                      {{"model", model}, {"messages", {{{"role", "wizard"}, {"content", "hi"}}}}}),
        400, "role", openai_error);
    EXPECT_ERROR(server_->post("/api/generate", {{"prompt", "x"}}), 400, "'model' is required",
                 ollama_error);
}

TEST_F(ServerErrors, UnknownModelIs404WithTheName) {
    EXPECT_ERROR(server_->post("/api/generate", {{"model", "no-such-model:7b"}, {"prompt", "x"}}),
                 404, "no-such-model:7b", ollama_error);
    EXPECT_ERROR(server_->post("/v1/chat/completions",
                               {{"model", "missing.gguf"},
                                {"messages", {{{"role", "user"}, {"content", "x"}}}}}),
                 404, "missing.gguf", openai_error);
    EXPECT_ERROR(server_->post("/api/show", {{"model", "ghost"}}), 404, "ghost", ollama_error);
    const auto r =
        server_->post("/v1/chat/completions",
                      {{"model", "ghost"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
    EXPECT_EQ(r.json["error"]["type"], "not_found_error");
}

TEST_F(ServerErrors, OversizedBodyIs413) {
    const std::string big =
        Json{{"model", stories_model()}, {"prompt", std::string(10000, 'a')}}.dump();
    EXPECT_ERROR(server_->post_raw("/api/generate", big), 413, "larger than the limit",
                 ollama_error);
}

TEST_F(ServerErrors, PromptOverTheContextIsAClear400UnlessTruncationIsAsked) {
    std::string prompt;
    for (int i = 0; i < 40; ++i) prompt += "Once upon a time ";
    const Json request{{"model", stories_model()},
                       {"prompt", prompt},
                       {"stream", false},
                       {"options", {{"num_ctx", 32}, {"num_predict", 4}}}};
    EXPECT_ERROR(server_->post("/api/generate", request), 400, "more than the context of 32 tokens",
                 ollama_error);
    Json truncated = request;
    truncated["truncate"] = true;
    const auto r = server_->post("/api/generate", truncated);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_LE(r.json["prompt_eval_count"].get<int>(), 32);
    // The OpenAI API sets the context with the num_ctx extension.
    EXPECT_ERROR(server_->post("/v1/chat/completions",
                               {{"model", stories_model()},
                                {"messages", {{{"role", "user"}, {"content", prompt}}}},
                                {"num_ctx", 32}}),
                 400, "context of 32 tokens", openai_error);
}

TEST_F(ServerErrors, EmbeddingsFromAGenerationModelAreAClearError) {
    EXPECT_ERROR(server_->post("/api/embed", {{"model", stories_model()}, {"input", "hi"}}), 400,
                 "does not support embeddings", ollama_error);
    EXPECT_ERROR(server_->post("/v1/embeddings", {{"model", stories_model()}, {"input", "hi"}}),
                 400, "does not support embeddings", openai_error);
}

TEST_F(ServerErrors, UnknownRouteIs404) {
    EXPECT_ERROR(server_->get("/api/nothing"), 404, "/api/nothing", ollama_error);
    EXPECT_ERROR(server_->get("/v1/nothing"), 404, "/v1/nothing", openai_error);
}

TEST_F(ServerErrors, ApiKeyIsRequiredWhenSet) {
    EXPECT_ERROR(keyed_->get("/api/tags"), 401, "missing API key", ollama_error);
    EXPECT_ERROR(keyed_->get("/v1/models", {{"Authorization", "Bearer wrong"}}), 401,
                 "invalid API key", openai_error);
    EXPECT_EQ(keyed_->get("/v1/models", {{"Authorization", "Bearer s3cret"}}).status, 200);
}

TEST_F(ServerErrors, CorsAllowsLocalOriginsAndRefusesOthers) {
    auto c = server_->client();
    const auto preflight = c.Options(
        "/v1/chat/completions", {{"Origin", "http://localhost:3000"},
                                 {"Access-Control-Request-Method", "POST"},
                                 {"Access-Control-Request-Headers", "authorization,content-type"}});
    ASSERT_TRUE(preflight);
    EXPECT_EQ(preflight->status, 204);
    EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "http://localhost:3000");
    EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Headers"),
              "authorization,content-type");
    const auto refused = server_->get("/api/tags", {{"Origin", "https://evil.example"}});
    EXPECT_EQ(refused.status, 403);
}

TEST_F(ServerErrors, BadStructuredOutputAndToolChoice) {
    const Json messages = {{{"role", "user"}, {"content", "x"}}};
    EXPECT_ERROR(server_->post("/api/chat",
                               {{"model", stories_model()}, {"messages", messages}, {"format", 5}}),
                 400, "format", ollama_error);
    EXPECT_ERROR(server_->post("/v1/chat/completions", {{"model", stories_model()},
                                                        {"messages", messages},
                                                        {"response_format", {{"type", "xml"}}}}),
                 400, "response_format", openai_error);
    EXPECT_ERROR(server_->post("/v1/chat/completions", {{"model", stories_model()},
                                                        {"messages", messages},
                                                        {"tool_choice", "required"}}),
                 400, "no tools", openai_error);
}

}  // namespace
}  // namespace uma::test
