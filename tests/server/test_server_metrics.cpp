// GET /metrics on a real `uma serve`: the text format, and counters that follow the requests.
#include <cstring>
#include <set>

#include "server/server_fixture.h"
#include "uma/server/prometheus_parse.h"

namespace uma::test {
namespace {

constexpr double kMachineGbs = 12.5;  // what the bandwidth cache given to the server holds

PrometheusScrape scrape(const ServerProcess& server) {
    const auto r = server.get("/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    return parse_prometheus_text(r.body);
}

// A generation's token counts, from an Ollama or an OpenAI answer.
struct Counted {
    int64_t generated = 0, evaluated = 0, cached = 0;
};
Counted counted(const Json& reply) {
    if (reply.contains("usage")) {
        const Json& u = reply["usage"];
        const int64_t cached = u["prompt_tokens_details"]["cached_tokens"];
        return {u["completion_tokens"], int64_t(u["prompt_tokens"]) - cached, cached};
    }
    const int64_t cached = reply["prompt_cache_count"];
    return {reply["eval_count"], int64_t(reply["prompt_eval_count"]) - cached, cached};
}

class MetricsEndpoint : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        cache_ = new std::filesystem::path(write_bandwidth_cache(kMachineGbs));
        server_ = new ServerProcess({"--parallel", "2", "--ctx", "256"},
                                    {{"UMA_BANDWIDTH_CACHE", cache_->string()}});
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        std::filesystem::remove(*cache_);
        delete cache_;
    }
    static ServerProcess* server_;
    static std::filesystem::path* cache_;
};
ServerProcess* MetricsEndpoint::server_ = nullptr;
std::filesystem::path* MetricsEndpoint::cache_ = nullptr;

TEST_F(MetricsEndpoint, AnswersPrometheusTextWithHelpAndTypeForEverySample) {
    auto c = server_->client();
    const auto res = c.Get("/metrics");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    const auto s = parse_prometheus_text(res->body);
    ASSERT_FALSE(s.samples.empty());
    for (const auto& sample : s.samples) {
        std::string family = sample.name;
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (!s.types.count(family) && family.size() > strlen(suffix) &&
                family.compare(family.size() - strlen(suffix), std::string::npos, suffix) == 0)
                family.resize(family.size() - strlen(suffix));
        EXPECT_TRUE(s.types.count(family)) << sample.name << " has no # TYPE";
        EXPECT_TRUE(s.help.count(family)) << sample.name << " has no # HELP";
    }
    // Families are written once each, HELP before TYPE before their samples.
    std::set<std::string> seen;
    for (const char* line_start = res->body.c_str(); *line_start;) {
        const std::string line(line_start, strcspn(line_start, "\n"));
        line_start += line.size() + (line_start[line.size()] ? 1 : 0);
        if (line.rfind("# TYPE ", 0) != 0) continue;
        EXPECT_TRUE(seen.insert(line.substr(7, line.find(' ', 7) - 7)).second) << line;
    }
    EXPECT_EQ(s.value("uma_machine_read_bandwidth_bytes_per_second"), kMachineGbs * 1e9);
    EXPECT_GT(s.value("process_resident_memory_bytes").value_or(0), 1 << 20);
    EXPECT_GT(s.value("uma_memory_budget_bytes").value_or(0), 0);
    EXPECT_EQ(s.value("uma_requests_queued"), 0);
}

TEST_F(MetricsEndpoint, CountersFollowTheGenerationRequests) {
    const std::string model = stories_model();
    const PrometheusLabels of_model = {{"model", model}};
    const auto before = scrape(*server_);
    const auto counter = [&](const PrometheusScrape& s, const char* name,
                             const PrometheusLabels& labels) {
        return s.value(name, labels).value_or(0);
    };
    const Json greedy{{"temperature", 0}, {"num_predict", 20}};
    std::vector<Json> replies;
    auto r = server_->post(
        "/api/generate",
        {{"model", model}, {"prompt", "Once upon a time"}, {"stream", false}, {"options", greedy}});
    ASSERT_EQ(r.status, 200) << r.body;
    replies.push_back(r.json);
    // The same prompt again: the slot that holds it is reused (a prefix-cache hit).
    r = server_->post(
        "/api/generate",
        {{"model", model}, {"prompt", "Once upon a time"}, {"stream", false}, {"options", greedy}});
    ASSERT_EQ(r.status, 200) << r.body;
    replies.push_back(r.json);
    r = server_->post(
        "/v1/completions",
        {{"model", model}, {"prompt", "The little dog"}, {"max_tokens", 12}, {"temperature", 0}});
    ASSERT_EQ(r.status, 200) << r.body;
    replies.push_back(r.json);
    const auto after = scrape(*server_);

    Counted total;
    int hits = 0;
    for (const auto& reply : replies) {
        const Counted c = counted(reply);
        total.generated += c.generated;
        total.evaluated += c.evaluated;
        total.cached += c.cached;
        hits += c.cached > 0;
    }
    ASSERT_GT(total.generated, 0);
    const auto delta = [&](const char* name, const PrometheusLabels& labels) {
        return counter(after, name, labels) - counter(before, name, labels);
    };
    EXPECT_EQ(delta("uma_generated_tokens_total", of_model), total.generated);
    EXPECT_EQ(delta("uma_prompt_tokens_total", of_model), total.evaluated);
    EXPECT_EQ(delta("uma_prefix_cache_lookups_total", of_model), 3);
    EXPECT_EQ(delta("uma_prefix_cache_hits_total", of_model), hits);
    EXPECT_GE(hits, 1);
    EXPECT_EQ(delta("uma_prefix_cache_reused_tokens_total", of_model), total.cached);
    EXPECT_EQ(delta("uma_http_requests_total", {{"endpoint", "/api/generate"}, {"status", "200"}}),
              2);
    EXPECT_EQ(
        delta("uma_http_requests_total", {{"endpoint", "/v1/completions"}, {"status", "200"}}), 1);
    EXPECT_EQ(delta("uma_time_to_first_token_seconds_count", of_model), 3);
    EXPECT_EQ(delta("uma_request_duration_seconds_count", of_model), 3);
    EXPECT_GE(delta("uma_forward_passes_total", of_model), total.generated - 3);

    // Right after generating, the recent rates and the bandwidth are up.
    EXPECT_GT(counter(after, "uma_generation_tokens_per_second", of_model), 0);
    EXPECT_GT(counter(after, "uma_prompt_tokens_per_second", of_model), 0);
    EXPECT_GT(counter(after, "uma_generation_memory_bandwidth_bytes_per_second", of_model), 0);

    EXPECT_EQ(after.value("uma_models_loaded"), 1);
    EXPECT_GT(counter(after, "uma_model_size_bytes", of_model), 0);
    EXPECT_EQ(after.value("uma_requests_active"), 0);
    const double kv_used = counter(after, "uma_kv_cache_cells_used", of_model);
    EXPECT_GT(kv_used, 0);
    EXPECT_EQ(counter(after, "uma_kv_cache_cells_total", of_model), 2 * 256);  // 2 slots of 256
    EXPECT_LE(kv_used, 2 * 256);
}

TEST_F(MetricsEndpoint, RequestsAreCountedByRouteAndStatus) {
    const auto before = scrape(*server_);
    EXPECT_EQ(server_->post("/api/generate", Json{{"prompt", "no model"}}).status, 400);
    EXPECT_EQ(server_->get("/no/such/route").status, 404);
    EXPECT_EQ(server_->get("/v1/models/no-such-model").status, 404);
    EXPECT_EQ(server_->get("/api/version").status, 200);
    const auto after = scrape(*server_);
    const auto delta = [&](const std::string& endpoint, const std::string& status) {
        const PrometheusLabels labels = {{"endpoint", endpoint}, {"status", status}};
        return after.value("uma_http_requests_total", labels).value_or(0) -
               before.value("uma_http_requests_total", labels).value_or(0);
    };
    EXPECT_EQ(delta("/api/generate", "400"), 1);
    EXPECT_EQ(delta("other", "404"), 1);
    EXPECT_EQ(delta("/v1/models/{model}", "404"), 1);
    EXPECT_EQ(delta("/api/version", "200"), 1);
    EXPECT_EQ(delta("/metrics", "200"), 1);  // the first scrape
}

TEST(MetricsEndpointBandwidth, MachineBandwidthIsAbsentUntilMeasured) {
    const auto missing = std::filesystem::temp_directory_path() /
                         ("uma-metrics-no-cache-" + std::to_string(::getpid()) + ".json");
    std::filesystem::remove(missing);
    ServerProcess server({}, {{"UMA_BANDWIDTH_CACHE", missing.string()}});
    const auto r = server.get("/metrics");
    ASSERT_EQ(r.status, 200);
    const auto s = parse_prometheus_text(r.body);
    EXPECT_EQ(s.value("uma_machine_read_bandwidth_bytes_per_second"), std::nullopt);
    EXPECT_EQ(r.body.find("uma_machine_read_bandwidth"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(missing)) << "a scrape must never measure";
}

}  // namespace
}  // namespace uma::test
