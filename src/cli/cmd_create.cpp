// uma create NAME [-f Modelfile | --from FILE.gguf] [--quantize TYPE]
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "format.h"
#include "uma/backends/cpu/thread_pool.h"
#include "uma/core/error.h"
#include "uma/runtime/model_store.h"
#include "uma/runtime/quantize.h"

namespace fs = std::filesystem;

namespace uma::cli {
namespace {

constexpr uintmax_t kMaxModelfileBytes = 16u << 20;

Modelfile read_modelfile(const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw Error("cannot read the Modelfile " + path.string() + ": " + ec.message());
    if (size > kMaxModelfileBytes) throw Error(path.string() + " is too large for a Modelfile");
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return Modelfile::parse(text.str(), path.string());
}

// Quantizes the GGUF that `mf` builds on into a temp file and returns a Modelfile FROM it that
// keeps every setting (those of a base model included). `temp` is deleted by the caller.
Modelfile quantized(const ModelStore& store, Modelfile mf, const fs::path& base_dir,
                    const std::string& type, const fs::path& temp) {
    const QuantScheme& scheme = find_quant_scheme(type);
    fs::path file = mf.from;
    if (file.is_relative()) file = base_dir / file;
    std::error_code ec;
    ResolvedModel base;
    if (fs::is_regular_file(file, ec))
        base.gguf_path = file;
    else
        base = store.resolve_or_throw(mf.from);
    Modelfile out = base.to_modelfile();
    out.parameters.merge(mf.parameters);
    if (mf.system) out.system = mf.system;
    if (mf.template_text) out.template_text = mf.template_text;
    if (mf.license) out.license = mf.license;
    if (!mf.messages.empty()) out.messages = mf.messages;
    std::fprintf(stderr, "quantizing %s to %s\n", base.gguf_path.c_str(),
                 std::string(scheme.name).c_str());
    quantize_model(base.gguf_path.string(), temp.string(), scheme,
                   cpu::ThreadPool::default_thread_count());
    out.from = temp.string();
    return out;
}

}  // namespace

int cmd_create(int argc, char** argv) {
    Args args(argc, argv, 2, {}, {"-f", "--file", "--from", "--quantize"});
    if (args.positional().size() != 1)
        throw Error("usage: uma create NAME [-f Modelfile | --from FILE.gguf] [--quantize TYPE]");
    const ModelName name = ModelName::parse(args.positional()[0]);
    const auto file_option = args.value("-f") ? args.value("-f") : args.value("--file");
    if (file_option && args.value("--from"))
        throw Error("give either -f Modelfile or --from FILE, not both");

    Modelfile mf;
    fs::path base_dir = fs::current_path();
    if (const auto from = args.value("--from")) {
        mf.from = *from;
    } else {
        const fs::path path = file_option ? fs::path(*file_option) : fs::path("Modelfile");
        mf = read_modelfile(path);
        base_dir = fs::absolute(path).parent_path();
    }
    ModelStore store = ModelStore::open_default();
    ResolvedModel model;
    if (const auto type = args.value("--quantize")) {
        fs::create_directories(store.partial_dir());
        const fs::path temp =
            store.partial_dir() / ("quantize-" + std::to_string(::getpid()) + ".gguf");
        struct Remove {
            fs::path path;
            ~Remove() {
                std::error_code ec;
                fs::remove(path, ec);
            }
        } remove_temp{temp};
        model = store.create(name, quantized(store, mf, base_dir, *type, temp), base_dir);
    } else {
        model = store.create(name, mf, base_dir);
    }
    std::printf("created %s (%s, %s)\n", model.name.c_str(), human_bytes(model.size).c_str(),
                model.digest.c_str());
    return 0;
}

}  // namespace uma::cli
