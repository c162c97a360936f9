#include "uma/runtime/pull.h"

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "uma/core/error.h"
#include "uma/core/gguf.h"
#include "uma/runtime/sha256.h"

namespace fs = std::filesystem;

namespace uma {
namespace {

struct Url {
    std::string scheme_host_port;  // "https://huggingface.co:443"
    std::string host;
    std::string path;  // with the query
};

Url parse_url(std::string_view text) {
    const std::string shown(text);
    const size_t scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos)
        throw Error("'" + shown +
                    "' is not a URL (uma pull takes an http:// or https:// URL of a GGUF file)");
    const std::string scheme(text.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https")
        throw Error("'" + shown + "': only http and https URLs can be pulled");
    const std::string_view rest = text.substr(scheme_end + 3);
    const size_t slash = rest.find('/');
    Url url;
    const std::string authority(rest.substr(0, slash));
    if (authority.empty() || authority.find('@') != std::string::npos)
        throw Error("'" + shown +
                    "': the URL has no host (or has credentials, which are not supported)");
    url.scheme_host_port = scheme + "://" + authority;
    url.host = authority.substr(
        0, authority.rfind(':') == std::string::npos ? authority.size() : authority.rfind(':'));
    url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (const size_t hash = url.path.find('#'); hash != std::string::npos) url.path.resize(hash);
    for (const char c : url.path)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            throw Error("'" + shown + "': the URL contains spaces or control characters");
    return url;
}

std::string sanitized(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out.push_back(ok ? c : '-');
    }
    while (!out.empty() && (out.front() == '.' || out.front() == '-')) out.erase(0, 1);
    return out.substr(0, 100);
}

std::string human(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

std::string unquoted(std::string s) {
    if (s.rfind("W/", 0) == 0) s = s.substr(2);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return s;
}

// The note beside a partial download: what it is a part of, to resume only the same file.
struct PartialNote {
    std::string url;
    std::string etag;
    uint64_t total = 0;
};

PartialNote read_note(const fs::path& path) {
    PartialNote note;
    try {
        std::ifstream in(path);
        if (!in) return note;
        const auto json = nlohmann::json::parse(in);
        note.url = json.value("url", "");
        note.etag = json.value("etag", "");
        note.total = json.value("total", uint64_t{0});
    } catch (const std::exception&) {  // an unreadable note: start over
        return {};
    }
    return note;
}

void write_note(const fs::path& path, const PartialNote& note) {
    write_file_atomically(
        path, nlohmann::json{{"url", note.url}, {"etag", note.etag}, {"total", note.total}}.dump());
}

uint64_t file_size_or_zero(const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    return ec ? 0 : size;
}

std::string printable_prefix(const std::string& bytes) {
    std::string out;
    for (const char c : bytes.substr(0, 24)) out.push_back(c >= ' ' && c < 0x7f ? c : '.');
    return out;
}

// One HTTP transfer into the partial file, from its current size on.
class Transfer {
  public:
    Transfer(const PullOptions& options, const Url& url, const fs::path& partial, PartialNote& note,
             const fs::path& note_path)
        : options_(options), url_(url), partial_(partial), note_(note), note_path_(note_path) {}

    enum class Outcome { Complete, Interrupted };

    Outcome run(std::string& failure) {
        offset_ = file_size_or_zero(partial_);
        httplib::Client client(url_.scheme_host_port);
        client.set_follow_location(true);
        client.set_connection_timeout(15);
        client.set_read_timeout(options_.read_timeout_seconds);
        httplib::Headers headers = {{"Accept-Encoding", "identity"}, {"User-Agent", "uma"}};
        if (offset_ > 0) headers.emplace("Range", "bytes=" + std::to_string(offset_) + "-");
        start_ = std::chrono::steady_clock::now();
        auto result = client.Get(
            url_.path, headers, [&](const httplib::Response& r) { return on_response(r); },
            [&](const char* data, size_t size) { return on_data(data, size); });
        if (out_) std::fclose(out_), out_ = nullptr;
        if (!fatal_.empty()) throw Error(fatal_);
        const uint64_t have = file_size_or_zero(partial_);
        if (already_complete_) return Outcome::Complete;
        if (result && (result->status == 200 || result->status == 206) &&
            (note_.total == 0 || have == note_.total)) {
            report(true);
            return Outcome::Complete;
        }
        failure = result ? "the connection closed after " + human(double(have)) + " of " +
                               (note_.total ? human(double(note_.total)) : "an unknown size")
                         : httplib::to_string(result.error());
        return Outcome::Interrupted;
    }

  private:
    bool on_response(const httplib::Response& r) {
        if (r.status == 416 && offset_ > 0 && offset_ == note_.total) {
            already_complete_ = true;  // everything was already there
            return false;
        }
        if (r.status != 200 && r.status != 206) {
            fatal_ = "HTTP " + std::to_string(r.status) + " from " + options_.url;
            return false;
        }
        const std::string etag = unquoted(r.get_header_value("ETag"));
        uint64_t total = 0;
        if (r.status == 206) {
            // "bytes START-END/TOTAL": the server must resume exactly where the file ends.
            const std::string range = r.get_header_value("Content-Range");
            unsigned long long start = 0, end = 0, all = 0;
            if (std::sscanf(range.c_str(), "bytes %llu-%llu/%llu", &start, &end, &all) != 3 ||
                start != offset_ || (!note_.etag.empty() && etag != note_.etag) ||
                (note_.total && all != note_.total)) {
                restart_ = true;  // not the same file, or not from where we are: start over
                return false;
            }
            total = all;
        } else {
            if (offset_ > 0 && options_.on_status)
                options_.on_status("the server does not resume downloads: starting over");
            offset_ = 0;
            if (r.has_header("Content-Length"))
                total = std::stoull(r.get_header_value("Content-Length"));
        }
        note_ = {options_.url, etag, total};
        write_note(note_path_, note_);
        out_ = std::fopen(partial_.c_str(), offset_ > 0 ? "ab" : "wb");
        if (!out_) {
            fatal_ = "cannot write " + partial_.string();
            return false;
        }
        content_type_ = r.get_header_value("Content-Type");
        return true;
    }

    bool on_data(const char* data, size_t size) {
        if (!out_) return false;
        if (offset_ == 0 && head_.size() < 4) {
            // A GGUF file starts with "GGUF": anything else (an HTML error page, a login form,
            // a safetensors file) is refused before it is written down.
            head_.append(data, std::min<size_t>(size, 64));
            if (head_.size() >= 4 && head_.substr(0, 4) != "GGUF") {
                fatal_ = options_.url + " is not a GGUF file (it starts with '" +
                         printable_prefix(head_) + "'" +
                         (content_type_.empty() ? "" : ", Content-Type " + content_type_) + ")";
                return false;
            }
        }
        if (std::fwrite(data, 1, size, out_) != size) {
            fatal_ = "cannot write " + partial_.string() + " (disk full?)";
            return false;
        }
        received_ += size;
        report(false);
        return true;
    }

    void report(bool done) {
        if (!options_.on_progress) return;
        const auto now = std::chrono::steady_clock::now();
        if (!done && now - last_report_ < std::chrono::milliseconds(100)) return;
        last_report_ = now;
        PullProgress p;
        p.resumed_from = offset_;
        p.received = offset_ + received_;
        p.total = note_.total;
        p.seconds = std::chrono::duration<double>(now - start_).count();
        p.bytes_per_second = p.seconds > 0 ? double(received_) / p.seconds : 0;
        p.done = done;
        options_.on_progress(p);
    }

  public:
    bool restart_ = false;
    bool already_complete_ = false;

  private:
    const PullOptions& options_;
    const Url& url_;
    fs::path partial_;
    PartialNote& note_;
    fs::path note_path_;
    std::FILE* out_ = nullptr;
    uint64_t offset_ = 0, received_ = 0;
    std::string fatal_, head_, content_type_;
    std::chrono::steady_clock::time_point start_, last_report_;
};

// Hugging Face answers a resolve URL with a redirect that carries the file's sha256 and size.
std::string linked_sha256(const Url& url) {
    httplib::Client client(url.scheme_host_port);
    client.set_follow_location(false);
    client.set_connection_timeout(15);
    client.set_read_timeout(15);
    const auto result =
        client.Head(url.path, {{"Accept-Encoding", "identity"}, {"User-Agent", "uma"}});
    if (!result) return {};
    const std::string etag = unquoted(result->get_header_value("X-Linked-Etag"));
    return is_sha256_hex(etag) ? etag : std::string();
}

}  // namespace

ModelName model_name_from_url(std::string_view text) {
    const Url url = parse_url(text);
    std::string path = url.path.substr(0, url.path.find('?'));
    std::vector<std::string> parts;
    for (size_t start = 1; start <= path.size();) {
        const size_t end = std::min(path.find('/', start), path.size());
        if (end > start) parts.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    if (parts.empty())
        throw Error("'" + std::string(text) + "' names no file: give the model a name");
    std::string file = parts.back();
    if (file.size() > 5 &&
        (file.substr(file.size() - 5) == ".gguf" || file.substr(file.size() - 5) == ".GGUF"))
        file.resize(file.size() - 5);
    ModelName name;
    const bool hugging_face = url.host == "huggingface.co" || url.host == "hf.co";
    if (hugging_face && parts.size() >= 5 && parts[2] == "resolve") {
        name.host = "hf.co";
        name.space = sanitized(parts[0]);
        name.model = sanitized(parts[1]);
        name.tag = sanitized(file);
    } else {
        name.model = sanitized(file);
    }
    // Validate what sanitizing produced (an empty part, for one).
    return ModelName::parse(name.display());
}

std::string format_pull_progress(const PullProgress& p, int width) {
    char buf[160];
    std::string line;
    const std::string speed = human(p.bytes_per_second) + "/s";
    if (p.total == 0) {
        std::snprintf(buf, sizeof buf, "%s  %s", human(double(p.received)).c_str(), speed.c_str());
        return buf;
    }
    const double fraction = std::min(1.0, double(p.received) / double(p.total));
    const int cells = static_cast<int>(fraction * width);
    std::string bar;
    for (int i = 0; i < width; ++i) bar += i < cells ? "\u2588" : " ";
    std::string eta = "--:--";
    if (p.done) {
        eta = "done";
    } else if (p.bytes_per_second > 0) {
        const auto left = static_cast<long long>(double(p.total - std::min(p.total, p.received)) /
                                                 p.bytes_per_second);
        std::snprintf(buf, sizeof buf, "%lld:%02lld", left / 60, left % 60);
        eta = buf;
    }
    std::snprintf(buf, sizeof buf, "%3d%% \u2595%s\u258f %s/%s  %s  ETA %s",
                  static_cast<int>(fraction * 100), bar.c_str(), human(double(p.received)).c_str(),
                  human(double(p.total)).c_str(), speed.c_str(), eta.c_str());
    return buf;
}

ResolvedModel pull_model(ModelStore& store, const PullOptions& options) {
    const Url url = parse_url(options.url);
    const ModelName name = options.name ? *options.name : model_name_from_url(options.url);
    std::string expected = options.expected_sha256;
    for (auto& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!expected.empty() && !is_sha256_hex(expected))
        throw Error("--sha256 must be 64 hex digits, got '" + options.expected_sha256 + "'");
    if (expected.empty()) expected = linked_sha256(url);

    std::error_code ec;
    fs::create_directories(store.partial_dir(), ec);
    if (ec) throw Error("cannot create " + store.partial_dir().string() + ": " + ec.message());
    const std::string key = Sha256::of(options.url).substr(0, 32);
    const fs::path partial = store.partial_dir() / (key + ".gguf.partial");
    const fs::path note_path = store.partial_dir() / (key + ".json");
    PartialNote note = read_note(note_path);
    if (note.url != options.url) {
        fs::remove(partial, ec);  // a leftover of something else under the same key: start over
        note = {};
    }
    const auto discard = [&] {
        fs::remove(partial, ec);
        fs::remove(note_path, ec);
    };
    if (file_size_or_zero(partial) > 0 && options.on_status)
        options.on_status("resuming a partial download at " +
                          human(double(file_size_or_zero(partial))));

    for (int attempt = 0;; ++attempt) {
        Transfer transfer(options, url, partial, note, note_path);
        std::string failure;
        Transfer::Outcome outcome;
        try {
            outcome = transfer.run(failure);
        } catch (const Error&) {
            discard();  // not a GGUF, an HTTP error: nothing worth resuming
            throw;
        }
        if (transfer.restart_) {
            discard();
            note = {};
            if (attempt < options.retries + 1) continue;
        }
        if (outcome == Transfer::Outcome::Complete) break;
        if (attempt >= options.retries)
            throw Error("download of " + options.url + " interrupted: " + failure +
                        "; run the same command again to resume");
        if (options.on_status)
            options.on_status("download interrupted (" + failure + "): resuming");
    }

    const std::string actual = Sha256::of_file(partial);
    if (!expected.empty() && actual != expected) {
        discard();
        throw Error("the download of " + options.url + " is corrupt: its sha256 is " + actual +
                    ", expected " + expected);
    }
    try {
        GgufFile::open(partial.string());  // a truncated or malformed file never becomes a model
    } catch (const Error& e) {
        discard();
        throw Error("the download of " + options.url + " is not a valid GGUF file: " + e.what());
    }
    {  // the data must be on disk before a manifest names it
        std::FILE* f = std::fopen(partial.c_str(), "rb");
        if (f) ::fsync(fileno(f)), std::fclose(f);
    }
    ResolvedModel model = store.adopt_download(name, partial, actual);
    fs::remove(note_path, ec);
    return model;
}

}  // namespace uma
