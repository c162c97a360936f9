#pragma once
// `uma pull URL`: downloads a GGUF file over HTTP(S) into the model store.
//
// The download goes to <store>/partial/ (with a small JSON note of the URL and validators) and
// resumes from there with a Range request, after a dropped connection or in a later run. Only a
// complete file that is a valid GGUF (and matches its sha256, when known) becomes a blob and gets
// a manifest; until then nothing exists under the model's name.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "uma/runtime/model_store.h"

namespace uma {

struct PullProgress {
    uint64_t received = 0;      // bytes on disk, the resumed part included
    uint64_t total = 0;         // 0 while unknown
    uint64_t resumed_from = 0;  // bytes that were already there when this transfer started
    double bytes_per_second = 0;
    double seconds = 0;  // since this transfer started
    bool done = false;
};

struct PullOptions {
    std::string url;
    std::optional<ModelName> name;  // default: model_name_from_url(url)
    // Expected sha256 (hex). Empty: Hugging Face's X-Linked-Etag when the server sends one.
    std::string expected_sha256;
    int retries = 3;  // resumptions after a dropped connection, in this run
    int read_timeout_seconds = 60;
    std::function<void(const PullProgress&)> on_progress;  // at most ~10 times a second
    std::function<void(const std::string&)> on_status;     // "resuming at ..." and such
};

ResolvedModel pull_model(ModelStore& store, const PullOptions& options);

// hf.co/USER/REPO:FILE for a Hugging Face resolve URL, else FILE:latest (FILE without .gguf,
// other characters replaced by '-'). Throws uma::Error when the URL names no file.
ModelName model_name_from_url(std::string_view url);

// "  45% ▕████████            ▏ 123.4 MiB/274.0 MiB  45.1 MiB/s  ETA 0:03", `width` cells of bar.
std::string format_pull_progress(const PullProgress& progress, int width = 24);

}  // namespace uma
