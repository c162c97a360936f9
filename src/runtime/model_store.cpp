#include "uma/runtime/model_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "uma/chat/chat_template.h"
#include "uma/core/error.h"
#include "uma/core/gguf.h"
#include "uma/runtime/sha256.h"

namespace fs = std::filesystem;

namespace uma {
namespace {

constexpr const char* kManifestType = "application/vnd.docker.distribution.manifest.v2+json";
// Ollama's layer media types, so that the manifests read the same as Ollama's.
constexpr const char* kModelLayer = "application/vnd.ollama.image.model";
constexpr const char* kParamsLayer = "application/vnd.ollama.image.params";
constexpr const char* kSystemLayer = "application/vnd.ollama.image.system";
constexpr const char* kTemplateLayer = "application/vnd.ollama.image.template";
constexpr const char* kMessagesLayer = "application/vnd.ollama.image.messages";
constexpr const char* kLicenseLayer = "application/vnd.ollama.image.license";
constexpr uint64_t kMaxTextBlob = uint64_t{64} << 20;

std::string errno_text() {
    return std::strerror(errno);
}

bool valid_component(std::string_view s, size_t max_length) {
    if (s.empty() || s.size() > max_length || s.front() == '.' || s.front() == '-') return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

// Holds the store's flock: writers share it; garbage collection holds it alone, so that it never
// deletes a blob a writer has stored but not yet named in a manifest. The kernel drops it when
// the process dies, so a crash never leaves the store locked.
class StoreLock {
  public:
    StoreLock(const fs::path& root, bool exclusive) {
        const fs::path path = root / ".lock";
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0)
            throw Error("cannot open the store lock " + path.string() + ": " + errno_text());
        while (::flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0) {
            if (errno == EINTR) continue;
            ::close(fd_);
            throw Error("cannot lock the store " + root.string() + ": " + errno_text());
        }
    }
    ~StoreLock() { ::close(fd_); }
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

  private:
    int fd_ = -1;
};

// An fd that closes itself; unlinks its file too unless released (a temp file being written).
class TempFile {
  public:
    explicit TempFile(const fs::path& dir, std::string_view hint) {
        static std::atomic<unsigned> counter{0};
        path_ = dir / (".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                       "-" + std::string(hint));
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0) throw Error("cannot create " + path_.string() + ": " + errno_text());
    }
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(const void* data, size_t size) {
        const char* p = static_cast<const char*>(data);
        while (size > 0) {
            const ssize_t n = ::write(fd_, p, size);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw Error("cannot write " + path_.string() + ": " + errno_text());
            p += n;
            size -= static_cast<size_t>(n);
        }
    }
    // fsync, close and rename over `target`: from here on the file is whole at its name.
    void commit(const fs::path& target) {
        if (::fsync(fd_) != 0) throw Error("cannot fsync " + path_.string() + ": " + errno_text());
        ::close(fd_);
        fd_ = -1;
        if (::rename(path_.c_str(), target.c_str()) != 0)
            throw Error("cannot rename " + path_.string() + " to " + target.string() + ": " +
                        errno_text());
        path_.clear();
        fsync_directory(target.parent_path());
    }

  private:
    fs::path path_;
    int fd_ = -1;
};

std::string read_small_file(const fs::path& path, uint64_t limit) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw Error("cannot read " + path.string() + ": " + ec.message());
    if (size > limit)
        throw Error(path.string() + " is too large (" + std::to_string(size) + " bytes)");
    std::ifstream in(path, std::ios::binary);
    std::string text(size, '\0');
    if (!in.read(text.data(), static_cast<std::streamsize>(size)))
        throw Error("cannot read " + path.string());
    return text;
}

std::string digest_hex(std::string_view digest) {
    if (digest.substr(0, 7) != "sha256:" || !is_sha256_hex(digest.substr(7)))
        throw Error("'" + std::string(digest) + "' is not a sha256 digest");
    return std::string(digest.substr(7));
}

bool looks_like_path(std::string_view text) {
    auto ends_with_gguf = [&] {
        if (text.size() < 5) return false;
        std::string tail(text.substr(text.size() - 5));
        std::transform(tail.begin(), tail.end(), tail.begin(), ::tolower);
        return tail == ".gguf";
    };
    return text.find('/') != std::string_view::npos || ends_with_gguf() ||
           (!text.empty() && (text.front() == '.' || text.front() == '~'));
}

fs::path expand_user(const std::string& path) {
    if (path == "~" || path.rfind("~/", 0) == 0) {
        const char* home = std::getenv("HOME");
        if (home && *home) return fs::path(home) / path.substr(std::min<size_t>(2, path.size()));
    }
    return path;
}

bool is_file_quietly(const fs::path& path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec);
}

}  // namespace

void fsync_directory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open directory " + dir.string() + ": " + errno_text());
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) throw Error("cannot fsync directory " + dir.string() + ": " + errno_text());
}

void write_file_atomically(const fs::path& path, std::string_view bytes) {
    TempFile temp(path.parent_path(), path.filename().string());
    temp.write(bytes.data(), bytes.size());
    temp.commit(path);
}

// ---- names -------------------------------------------------------------------------------

std::string ModelName::display() const {
    std::string prefix;
    if (host != "local")
        prefix = host + "/" + space + "/";
    else if (space != "library")
        prefix = space + "/";
    return prefix + model + ":" + tag;
}

ModelName ModelName::parse(std::string_view text) {
    const std::string shown(text);
    if (text.empty()) throw Error("a model name is empty");
    if (text.size() > 350) throw Error("model name '" + shown.substr(0, 40) + "...' is too long");
    ModelName n;
    std::string_view path = text;
    const size_t slash = text.rfind('/');
    if (const size_t colon = text.rfind(':');
        colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        n.tag = std::string(text.substr(colon + 1));
        path = text.substr(0, colon);
        if (!valid_component(n.tag, 128))
            throw Error("model name '" + shown + "': the tag '" + n.tag +
                        "' must be letters, digits, '.', '_' or '-' (at most 128)");
    }
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
        const size_t end = std::min(path.find('/', start), path.size());
        parts.emplace_back(path.substr(start, end - start));
        if (end == path.size()) break;
        start = end + 1;
    }
    if (parts.size() > 3)
        throw Error("model name '" + shown + "' has more than three parts (host/namespace/model)");
    for (const auto& part : parts)
        if (!valid_component(part, 100))
            throw Error("model name '" + shown + "': '" + part +
                        "' must be letters, digits, '.', '_' or '-', not starting with '.' or '-'");
    n.model = parts.back();
    if (parts.size() >= 2) n.space = parts[parts.size() - 2];
    if (parts.size() == 3) n.host = parts[0];
    return n;
}

std::optional<ModelName> ModelName::try_parse(std::string_view text) {
    try {
        return parse(text);
    } catch (const Error&) {
        return std::nullopt;
    }
}

// ---- resolved models ---------------------------------------------------------------------

Modelfile ResolvedModel::to_modelfile() const {
    Modelfile mf;
    mf.from = gguf_path.string();
    mf.parameters = parameters;
    mf.system = system;
    mf.template_text = template_text;
    mf.license = license;
    mf.messages = messages;
    return mf;
}

// ---- the store ---------------------------------------------------------------------------

ModelStore::ModelStore(fs::path root) : root_(std::move(root)) {}

fs::path ModelStore::default_root() {
    if (const char* env = std::getenv("UMA_MODELS"); env && *env) return env;
    const char* home = std::getenv("HOME");
    if (!home || !*home)
        throw Error("neither UMA_MODELS nor HOME is set: no place for the model store");
    return fs::path(home) / ".uma" / "models";
}

void ModelStore::ensure_dirs() const {
    std::error_code ec;
    for (const auto& dir : {root_ / "blobs", root_ / "manifests", partial_dir()}) {
        fs::create_directories(dir, ec);
        if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message());
    }
}

fs::path ModelStore::blob_path(std::string_view digest) const {
    return root_ / "blobs" / ("sha256-" + digest_hex(digest));
}

fs::path ModelStore::manifest_path(const ModelName& name) const {
    return root_ / "manifests" / name.host / name.space / name.model / name.tag;
}

std::vector<ModelStore::Layer> ModelStore::read_manifest(const ModelName& name) const {
    const fs::path path = manifest_path(name);
    const std::string text = read_small_file(path, kMaxTextBlob);
    const std::string where = "the manifest of " + name.display() + " (" + path.string() + ")";
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
        throw Error(where + " is not valid JSON: " + e.what());
    }
    if (!json.is_object() || !json.contains("layers") || !json["layers"].is_array())
        throw Error(where + " has no list of layers");
    std::vector<Layer> layers;
    for (const auto& item : json["layers"]) {
        if (!item.is_object() || !item.contains("mediaType") || !item["mediaType"].is_string() ||
            !item.contains("digest") || !item["digest"].is_string() || !item.contains("size") ||
            !item["size"].is_number_unsigned())
            throw Error(where + " has a malformed layer: " + item.dump());
        Layer layer{item["mediaType"], item["digest"], item["size"]};
        digest_hex(layer.digest);  // throws for a malformed digest
        layers.push_back(layer);
    }
    return layers;
}

ResolvedModel ModelStore::load(const ModelName& name, const std::vector<Layer>& layers) const {
    ResolvedModel m;
    m.name = name.display();
    m.in_store = true;
    m.manifest_id = Sha256::of(read_small_file(manifest_path(name), kMaxTextBlob)).substr(0, 12);
    const std::string where = "model " + m.name + " is damaged: ";
    for (const auto& layer : layers) {
        const fs::path blob = blob_path(layer.digest);
        std::error_code ec;
        const auto size = fs::file_size(blob, ec);
        if (ec)
            throw Error(where + "its blob " + blob.string() +
                        " is missing (create or pull it again)");
        if (size != layer.size)
            throw Error(where + "its blob " + blob.string() + " has " + std::to_string(size) +
                        " bytes, the manifest says " + std::to_string(layer.size));
        m.size += size;
        if (layer.media_type == kModelLayer) {
            m.gguf_path = blob;
            m.digest = layer.digest;
            continue;
        }
        // Text layers are small: check their digest on every read.
        const std::string text = read_small_file(blob, kMaxTextBlob);
        if ("sha256:" + Sha256::of(text) != layer.digest)
            throw Error(where + "the content of " + blob.string() + " does not match its digest");
        try {
            if (layer.media_type == kParamsLayer) {
                m.parameters = ModelParameters::from_json(nlohmann::ordered_json::parse(text));
            } else if (layer.media_type == kSystemLayer) {
                m.system = text;
            } else if (layer.media_type == kTemplateLayer) {
                m.template_text = text;
            } else if (layer.media_type == kLicenseLayer) {
                m.license = text;
            } else if (layer.media_type == kMessagesLayer) {
                for (const auto& msg : nlohmann::json::parse(text))
                    m.messages.push_back(
                        {msg.at("role").get<std::string>(), msg.at("content").get<std::string>()});
            }  // other layer types (Ollama's config, projectors) are not used by uma
        } catch (const Error& e) {
            throw Error(where + e.what());
        } catch (const std::exception& e) {
            throw Error(where + "cannot read its " + layer.media_type + " layer: " + e.what());
        }
    }
    if (m.gguf_path.empty()) throw Error(where + "its manifest has no model layer");
    return m;
}

std::optional<ResolvedModel> ModelStore::find(const ModelName& name) const {
    if (!is_file_quietly(manifest_path(name))) return std::nullopt;
    return load(name, read_manifest(name));
}

std::optional<ResolvedModel> ModelStore::resolve(std::string_view name_or_path) const {
    const fs::path path{std::string(name_or_path)};
    const auto file_model = [&] {
        ResolvedModel m;
        m.name = std::string(name_or_path);
        m.gguf_path = path;
        std::error_code ec;
        m.size = fs::file_size(path, ec);
        return m;
    };
    if (looks_like_path(name_or_path) && is_file_quietly(path)) return file_model();
    if (const auto name = ModelName::try_parse(name_or_path))
        if (auto found = find(*name)) return found;
    if (is_file_quietly(path)) return file_model();
    return std::nullopt;
}

ResolvedModel ModelStore::resolve_or_throw(std::string_view name_or_path) const {
    if (auto m = resolve(name_or_path)) return std::move(*m);
    throw Error("'" + std::string(name_or_path) +
                "' is neither a GGUF file nor a model in the store " + root_.string() +
                " (see 'uma list'; UMA_MODELS moves the store)");
}

std::vector<StoredModel> ModelStore::list() const {
    std::vector<StoredModel> out;
    const fs::path manifests = root_ / "manifests";
    std::error_code ec;
    if (!fs::is_directory(manifests, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(manifests, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it.depth() != 3 || !it->is_regular_file()) continue;
        const fs::path rel = fs::relative(it->path(), manifests);
        std::vector<std::string> parts;
        for (const auto& p : rel) parts.push_back(p.string());
        if (parts.size() != 4 || parts[3].front() == '.') continue;  // temp files
        ModelName name{parts[0], parts[1], parts[2], parts[3]};
        StoredModel stored{name, "damaged", 0, fs::last_write_time(it->path())};
        try {  // a damaged model is listed as such rather than hiding the others
            if (const auto model = find(name)) {
                stored.manifest_id = model->manifest_id;
                stored.size = model->size;
            }
        } catch (const Error&) {
        }
        out.push_back(stored);
    }
    std::sort(out.begin(), out.end(), [](const StoredModel& a, const StoredModel& b) {
        return a.name.display() < b.name.display();
    });
    return out;
}

std::string ModelStore::import_file(const fs::path& file) {
    // Hash first: a blob that is already stored is not copied again.
    const std::string hex = Sha256::of_file(file);
    const fs::path blob = blob_path("sha256:" + hex);
    std::error_code ec;
    if (fs::file_size(blob, ec) == fs::file_size(file) && !ec) return "sha256:" + hex;

    std::FILE* in = std::fopen(file.c_str(), "rb");
    if (!in) throw Error("cannot open " + file.string() + ": " + errno_text());
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(in, std::fclose);
    TempFile temp(root_ / "blobs", "sha256-" + hex);
    Sha256 check;
    std::vector<char> buf(size_t{4} << 20);
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
        check.update(buf.data(), n);
        temp.write(buf.data(), n);
    }
    if (std::ferror(in)) throw Error("read error while copying " + file.string());
    if (check.hex() != hex) throw Error(file.string() + " changed while it was being copied");
    temp.commit(blob);
    return "sha256:" + hex;
}

ModelStore::Layer ModelStore::put_text_blob(const std::string& media_type,
                                            const std::string& text) {
    const std::string digest = "sha256:" + Sha256::of(text);
    const fs::path blob = blob_path(digest);
    std::error_code ec;
    if (fs::file_size(blob, ec) != text.size() || ec) write_file_atomically(blob, text);
    return {media_type, digest, text.size()};
}

ResolvedModel ModelStore::write_model(const ModelName& name, const std::string& model_digest,
                                      const ResolvedModel& settings) {
    std::vector<Layer> layers;
    layers.push_back({kModelLayer, model_digest, fs::file_size(blob_path(model_digest))});
    if (settings.template_text)
        layers.push_back(put_text_blob(kTemplateLayer, *settings.template_text));
    if (settings.system) layers.push_back(put_text_blob(kSystemLayer, *settings.system));
    if (!settings.parameters.empty())
        layers.push_back(put_text_blob(kParamsLayer, settings.parameters.json().dump()));
    if (!settings.messages.empty())
        layers.push_back(put_text_blob(kMessagesLayer, to_json(settings.messages).dump()));
    if (settings.license) layers.push_back(put_text_blob(kLicenseLayer, *settings.license));

    nlohmann::ordered_json manifest = {{"schemaVersion", 2}, {"mediaType", kManifestType}};
    manifest["layers"] = nlohmann::ordered_json::array();
    for (const auto& l : layers)
        manifest["layers"].push_back(
            {{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
    const fs::path path = manifest_path(name);
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error("cannot create " + path.parent_path().string() + ": " + ec.message());
    write_file_atomically(path, manifest.dump(2) + "\n");
    return load(name, layers);
}

ResolvedModel ModelStore::create(const ModelName& name, const Modelfile& mf,
                                 const fs::path& base_dir) {
    ensure_dirs();
    StoreLock lock(root_, false);
    const std::string at = "FROM " + mf.from +
                           (mf.from_line > 0 ? " (line " + std::to_string(mf.from_line) + ")" : "");
    fs::path file = expand_user(mf.from);
    if (file.is_relative()) file = base_dir / file;

    ResolvedModel settings;
    std::string digest;
    if (is_file_quietly(file)) {
        try {
            GgufFile::open(file.string());  // validates the whole structure
        } catch (const Error& e) {
            throw Error(at + ": " + e.what());
        }
        digest = import_file(file);
    } else if (const auto base = ModelName::try_parse(mf.from)) {
        auto found = find(*base);
        if (!found) throw Error(at + ": no such file, and no model of that name in the store");
        settings = std::move(*found);
        digest = settings.digest;
    } else {
        throw Error(at + ": no such file (and not a valid model name)");
    }
    if (mf.template_text) {
        try {
            ChatTemplate check(*mf.template_text);
        } catch (const Error& e) {
            throw Error("TEMPLATE: " + std::string(e.what()));
        }
        settings.template_text = mf.template_text;
    }
    settings.parameters.merge(mf.parameters);
    if (mf.system) settings.system = mf.system;
    if (mf.license) settings.license = mf.license;
    if (!mf.messages.empty()) settings.messages = mf.messages;
    return write_model(name, digest, settings);
}

ResolvedModel ModelStore::adopt_download(const ModelName& name, const fs::path& file,
                                         const std::string& sha256_hex) {
    ensure_dirs();
    StoreLock lock(root_, false);
    const std::string digest = "sha256:" + sha256_hex;
    const fs::path blob = blob_path(digest);
    if (::rename(file.c_str(), blob.c_str()) != 0)
        throw Error("cannot move " + file.string() + " to " + blob.string() + ": " + errno_text());
    fsync_directory(blob.parent_path());
    return write_model(name, digest, ResolvedModel{});
}

void ModelStore::copy(const ModelName& from, const ModelName& to) {
    ensure_dirs();
    StoreLock lock(root_, false);
    if (!find(from)) throw Error("no model named " + from.display() + " in the store");
    const fs::path path = manifest_path(to);
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error("cannot create " + path.parent_path().string() + ": " + ec.message());
    write_file_atomically(path, read_small_file(manifest_path(from), kMaxTextBlob));
}

bool ModelStore::remove(const ModelName& name) {
    ensure_dirs();
    StoreLock lock(root_, true);
    fs::path path = manifest_path(name);
    if (!is_file_quietly(path)) return false;
    if (::unlink(path.c_str()) != 0)
        throw Error("cannot delete " + path.string() + ": " + errno_text());
    fsync_directory(path.parent_path());
    // Empty directories of the name go too (never manifests/ itself).
    std::error_code ec;
    for (path = path.parent_path(); path != root_ / "manifests" && fs::is_empty(path, ec) && !ec;
         path = path.parent_path())
        fs::remove(path, ec);
    delete_unused_files();
    return true;
}

std::vector<std::string> ModelStore::referenced_digests() const {
    std::vector<std::string> out;
    const fs::path manifests = root_ / "manifests";
    std::error_code ec;
    if (!fs::is_directory(manifests, ec)) return out;
    for (const auto& entry : fs::recursive_directory_iterator(manifests)) {
        if (!entry.is_regular_file()) continue;
        const fs::path rel = fs::relative(entry.path(), manifests);
        std::vector<std::string> parts;
        for (const auto& p : rel) parts.push_back(p.string());
        if (parts.size() != 4 || parts[3].front() == '.') continue;
        for (const auto& layer : read_manifest({parts[0], parts[1], parts[2], parts[3]}))
            out.push_back(layer.digest);
    }
    return out;
}

size_t ModelStore::collect_garbage() {
    ensure_dirs();
    StoreLock lock(root_, true);
    return delete_unused_files();
}

size_t ModelStore::delete_unused_files() {
    const std::vector<std::string> keep = referenced_digests();
    const std::set<std::string> used(keep.begin(), keep.end());
    // The caller holds the exclusive lock, so no writer is running: every temp file is a crash's
    // leftover. Collected first, deleted after, so as not to delete under the iterator.
    std::vector<fs::path> doomed;
    for (const auto& dir : {root_ / "blobs", root_ / "manifests"}) {
        for (const auto& entry : fs::recursive_directory_iterator(dir)) {
            const std::string file = entry.path().filename().string();
            const bool unused_blob = dir == root_ / "blobs" && file.rfind("sha256-", 0) == 0 &&
                                     !used.count("sha256:" + file.substr(7));
            if (unused_blob || file.rfind(".tmp-", 0) == 0) doomed.push_back(entry.path());
        }
    }
    size_t removed = 0;
    std::error_code ec;
    for (const auto& path : doomed) removed += fs::remove(path, ec);
    return removed;
}

ResolvedModel resolve_model(std::string_view name_or_path) {
    return ModelStore::open_default().resolve_or_throw(name_or_path);
}

}  // namespace uma
