#pragma once
// The model store: a content-addressed directory of models, laid out like Ollama's.
//
//   $UMA_MODELS (default ~/.uma/models)
//     blobs/sha256-<hex>            GGUF files, parameters, system prompts, templates, ...
//     manifests/<name>/<tag>        JSON: the blobs ("layers") of one model
//     partial/                      downloads in progress (resumable), never a model yet
//     .lock                         flock: writers share it, garbage collection takes it alone
//
// Every file appears whole or not at all (temp file, fsync, rename, fsync of the directory), so
// a crash at any point leaves a consistent store; removing a model deletes only the blobs no
// other manifest uses.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uma/runtime/modelfile.h"

namespace uma {

// "qwen2.5-coder:32b-q4_K_M", "user/model", "hf.co/user/repo:Q4_K_M": up to three path-like
// components ([host/][namespace/]model, defaults "local" and "library") of letters, digits and
// . _ - (not starting with . or -), then an optional tag (default "latest").
struct ModelName {
    std::string host = "local";
    std::string space = "library";
    std::string model;
    std::string tag = "latest";

    // The short form: defaults left out ("stories:latest", "user/model:latest").
    std::string display() const;
    static ModelName parse(std::string_view text);  // throws uma::Error saying what is wrong
    static std::optional<ModelName> try_parse(std::string_view text);
    bool operator==(const ModelName&) const = default;
};

// What a server or a command needs to run a model: its GGUF file and the Modelfile settings.
struct ResolvedModel {
    std::string name;  // "stories:latest" for a stored model, else the path as given
    std::filesystem::path gguf_path;
    bool in_store = false;
    std::string digest;       // "sha256:<hex>" of the GGUF (stored models only)
    std::string manifest_id;  // first 12 hex digits of the manifest's sha256 (stored models only)
    uint64_t size = 0;        // bytes of all blobs (or of the file)
    ModelParameters parameters;
    std::optional<std::string> system;
    std::optional<std::string> template_text;  // replaces the GGUF's chat template when set
    std::optional<std::string> license;
    std::vector<ChatMessage> messages;

    // A Modelfile that rebuilds this model (FROM the blob path).
    Modelfile to_modelfile() const;
};

struct StoredModel {
    ModelName name;
    std::string manifest_id;
    uint64_t size = 0;
    std::filesystem::file_time_type modified;
};

class ModelStore {
  public:
    explicit ModelStore(std::filesystem::path root);
    // $UMA_MODELS, else ~/.uma/models.
    static std::filesystem::path default_root();
    static ModelStore open_default() { return ModelStore(default_root()); }
    const std::filesystem::path& root() const { return root_; }

    // A stored model name or a path to a GGUF file. A path wins when the text names an existing
    // file and looks like a path (contains '/' or ends in .gguf); otherwise the store is asked
    // first. nullopt when it is neither. Throws uma::Error for a damaged manifest.
    std::optional<ResolvedModel> resolve(std::string_view name_or_path) const;
    // Like resolve, but a clear "not found" error instead of nullopt.
    ResolvedModel resolve_or_throw(std::string_view name_or_path) const;
    std::optional<ResolvedModel> find(const ModelName& name) const;
    std::vector<StoredModel> list() const;

    // Builds a model from a Modelfile: FROM a GGUF file (relative paths from `base_dir`) or a
    // stored model whose settings it inherits. Returns the stored model.
    ResolvedModel create(const ModelName& name, const Modelfile& modelfile,
                         const std::filesystem::path& base_dir);
    // Stores a verified GGUF that is already inside the store's directory tree (a finished
    // download) under `name`, moving it into place.
    ResolvedModel adopt_download(const ModelName& name, const std::filesystem::path& file,
                                 const std::string& sha256_hex);
    // Removes a model and then every blob no manifest uses; false when there is no such model.
    bool remove(const ModelName& name);
    void copy(const ModelName& from, const ModelName& to);
    // Deletes unused blobs and leftover temp files; returns how many files it deleted.
    size_t collect_garbage();

    std::filesystem::path blob_path(std::string_view digest) const;  // "sha256:<hex>"
    std::filesystem::path manifest_path(const ModelName& name) const;
    std::filesystem::path partial_dir() const { return root_ / "partial"; }
    // Blob digests of every manifest (a damaged manifest is an error: never delete blindly).
    std::vector<std::string> referenced_digests() const;

  private:
    struct Layer {
        std::string media_type;
        std::string digest;
        uint64_t size = 0;
    };
    std::vector<Layer> read_manifest(const ModelName& name) const;
    ResolvedModel load(const ModelName& name, const std::vector<Layer>& layers) const;
    ResolvedModel write_model(const ModelName& name, const std::string& model_digest,
                              const ResolvedModel& settings);
    Layer put_text_blob(const std::string& media_type, const std::string& text);
    std::string import_file(const std::filesystem::path& file);
    size_t delete_unused_files();  // the caller holds the exclusive lock
    void ensure_dirs() const;

    std::filesystem::path root_;
};

// Turns a MODEL argument of any command (a stored name or a GGUF path) into the model, using
// the default store. Throws uma::Error saying where it looked when it is neither.
ResolvedModel resolve_model(std::string_view name_or_path);
inline std::string resolve_model_path(std::string_view name_or_path) {
    return resolve_model(name_or_path).gguf_path.string();
}

// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);
void fsync_directory(const std::filesystem::path& dir);

}  // namespace uma
