// The model store: names, create/resolve/list/copy/remove, shared blobs and damaged stores.
#include <gtest/gtest.h>

#include <fstream>

#include "test_store_helpers.h"
#include "uma/core/error.h"
#include "uma/runtime/model_store.h"
#include "uma/runtime/sha256.h"

namespace uma {
namespace {

namespace fs = std::filesystem;

size_t count_blobs(const fs::path& root) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(root / "blobs"))
        n += e.path().filename().string().rfind("sha256-", 0) == 0;
    return n;
}

Modelfile from_file(const fs::path& gguf) {
    Modelfile mf;
    mf.from = gguf.string();
    return mf;
}

TEST(ModelName, ParsesOllamaStyleNames) {
    const auto a = ModelName::parse("qwen2.5-coder:32b-q4_K_M");
    EXPECT_EQ(a.model, "qwen2.5-coder");
    EXPECT_EQ(a.tag, "32b-q4_K_M");
    EXPECT_EQ(a.display(), "qwen2.5-coder:32b-q4_K_M");
    EXPECT_EQ(ModelName::parse("stories").display(), "stories:latest");
    const auto b = ModelName::parse("user/model");
    EXPECT_EQ(b.space, "user");
    EXPECT_EQ(b.display(), "user/model:latest");
    const auto c = ModelName::parse("hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M");
    EXPECT_EQ(c.host, "hf.co");
    EXPECT_EQ(c.display(), "hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M");
    for (const char* bad :
         {"", "a:", ":tag", "../x", "a/../b", "a b", "a/b/c/d", ".hidden", "x:-tag", "a//b"})
        EXPECT_THROW(ModelName::parse(bad), Error) << bad;
}

TEST(ModelStore, CreateResolveAndListAModel) {
    test::TempDir dir;
    test::write_test_gguf(dir / "m.gguf");
    ModelStore store(dir / "models");
    Modelfile mf = from_file(dir / "m.gguf");
    mf.system = "Be kind.";
    mf.parameters.set_text("num_ctx", "256");
    const ResolvedModel created = store.create(ModelName::parse("tiny:v1"), mf, dir.path());
    EXPECT_EQ(created.name, "tiny:v1");
    EXPECT_EQ(created.digest, "sha256:" + Sha256::of_file(dir / "m.gguf"));
    EXPECT_EQ(created.gguf_path, store.blob_path(created.digest));

    const auto found = store.resolve("tiny:v1");
    ASSERT_TRUE(found);
    EXPECT_TRUE(found->in_store);
    EXPECT_EQ(found->system, "Be kind.");
    EXPECT_EQ(found->parameters.get_int("num_ctx"), 256);
    EXPECT_FALSE(store.resolve("tiny"));  // tag "latest" was never created
    EXPECT_FALSE(store.resolve("nothing"));
    EXPECT_THROW(store.resolve_or_throw("nothing"), Error);

    // A path resolves to the file itself, with no settings.
    const auto by_path = store.resolve((dir / "m.gguf").string());
    ASSERT_TRUE(by_path);
    EXPECT_FALSE(by_path->in_store);
    EXPECT_EQ(by_path->gguf_path, dir / "m.gguf");

    const auto list = store.list();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].name.display(), "tiny:v1");
    EXPECT_EQ(list[0].manifest_id, found->manifest_id);
    EXPECT_EQ(list[0].manifest_id.size(), 12u);
    EXPECT_EQ(list[0].size, found->size);
}

TEST(ModelStore, FromAnotherModelInheritsAndOverridesSettings) {
    test::TempDir dir;
    test::write_test_gguf(dir / "m.gguf");
    ModelStore store(dir / "models");
    Modelfile base = from_file(dir / "m.gguf");
    base.system = "base system";
    base.parameters.set_text("temperature", "0.5");
    base.parameters.set_text("top_k", "5");
    store.create(ModelName::parse("base"), base, dir.path());

    Modelfile derived;
    derived.from = "base";
    derived.parameters.set_text("temperature", "0.1");
    const auto d = store.create(ModelName::parse("derived"), derived, dir.path());
    EXPECT_EQ(d.system, "base system");
    EXPECT_EQ(d.parameters.get_float("temperature"), 0.1);
    EXPECT_EQ(d.parameters.get_int("top_k"), 5);
    EXPECT_EQ(count_blobs(store.root()), 4u);  // GGUF, system, two parameter sets
}

TEST(ModelStore, RelativeFromIsRelativeToTheModelfileAndErrorsNameTheLine) {
    test::TempDir dir;
    fs::create_directories(dir / "sub");
    test::write_test_gguf(dir / "sub" / "m.gguf");
    ModelStore store(dir / "models");
    const Modelfile mf = Modelfile::parse("# c\nFROM ./m.gguf\n");
    EXPECT_NO_THROW(store.create(ModelName::parse("rel"), mf, dir / "sub"));
    try {
        store.create(ModelName::parse("rel2"), Modelfile::parse("\nFROM missing.gguf\n"),
                     dir.path());
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(
            std::string(e.what()),
            "FROM missing.gguf (line 2): no such file, and no model of that name in the store");
    }
    // A file that is not a GGUF is refused with the reader's reason.
    std::ofstream(dir / "notes.gguf") << "hello";
    EXPECT_THROW(store.create(ModelName::parse("bad"), from_file(dir / "notes.gguf"), dir.path()),
                 Error);
    // A TEMPLATE must be a valid Jinja template.
    Modelfile broken = from_file(dir / "sub" / "m.gguf");
    broken.template_text = "{% if %}";
    EXPECT_THROW(store.create(ModelName::parse("tpl"), broken, dir.path()), Error);
    EXPECT_EQ(store.list().size(), 1u);
}

TEST(ModelStore, RemoveKeepsBlobsAnotherManifestUses) {
    test::TempDir dir;
    test::write_test_gguf(dir / "a.gguf", 1024, 1);
    test::write_test_gguf(dir / "b.gguf", 1024, 2);
    ModelStore store(dir / "models");
    const auto a = store.create(ModelName::parse("a"), from_file(dir / "a.gguf"), dir.path());
    store.copy(ModelName::parse("a"), ModelName::parse("a-copy"));
    store.create(ModelName::parse("b"), from_file(dir / "b.gguf"), dir.path());
    EXPECT_EQ(count_blobs(store.root()), 2u);

    EXPECT_TRUE(store.remove(ModelName::parse("a")));
    EXPECT_TRUE(fs::exists(a.gguf_path)) << "the copy still uses the blob";
    const auto copy = store.resolve("a-copy");
    ASSERT_TRUE(copy);
    EXPECT_EQ(copy->gguf_path, a.gguf_path);
    EXPECT_FALSE(store.resolve("a"));

    EXPECT_TRUE(store.remove(ModelName::parse("a-copy")));
    EXPECT_FALSE(fs::exists(a.gguf_path)) << "no manifest uses it any more";
    EXPECT_EQ(count_blobs(store.root()), 1u);
    EXPECT_TRUE(store.resolve("b"));
    EXPECT_FALSE(store.remove(ModelName::parse("a")));
    // Empty name directories go with the last tag.
    EXPECT_FALSE(fs::exists(store.manifest_path(ModelName::parse("a")).parent_path()));
}

TEST(ModelStore, DamagedStoresGiveClearErrorsAndGarbageCollectionRefusesToGuess) {
    test::TempDir dir;
    test::write_test_gguf(dir / "m.gguf");
    ModelStore store(dir / "models");
    const auto m = store.create(ModelName::parse("m"), from_file(dir / "m.gguf"), dir.path());
    // A leftover temp file of a crashed writer is collected; the used blob is not.
    std::ofstream(store.root() / "blobs" / ".tmp-1-0-sha256-x") << "partial";
    EXPECT_EQ(store.collect_garbage(), 1u);
    EXPECT_TRUE(fs::exists(m.gguf_path));

    // A manifest that is not JSON: resolving says so, and nothing is collected blindly.
    fs::create_directories(store.manifest_path(ModelName::parse("broken")).parent_path());
    std::ofstream(store.manifest_path(ModelName::parse("broken"))) << "{not json";
    EXPECT_THROW(store.resolve("broken"), Error);
    EXPECT_THROW(store.collect_garbage(), Error);
    EXPECT_TRUE(fs::exists(m.gguf_path));
    fs::remove(store.manifest_path(ModelName::parse("broken")));

    // A missing blob is named in the error.
    fs::remove(m.gguf_path);
    try {
        store.resolve("m");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("is missing"), std::string::npos) << e.what();
    }
}

TEST(ModelStore, WritesAtomically) {
    test::TempDir dir;
    write_file_atomically(dir / "f", "first");
    write_file_atomically(dir / "f", "second");
    std::ifstream in(dir / "f");
    std::string text;
    in >> text;
    EXPECT_EQ(text, "second");
    size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
    EXPECT_EQ(files, 1u) << "no temp file is left behind";
}

}  // namespace
}  // namespace uma
