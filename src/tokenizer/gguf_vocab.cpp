// Tokenizer::from_gguf: reads the tokenizer.* metadata of a GGUF file.
#include <string>

#include "tokenizer/tokenizer_impl.h"
#include "uma/core/error.h"
#include "uma/core/gguf.h"

namespace uma {

namespace {

using tok::ModelType;
using tok::Vocab;

const GgufValue& require_array(const GgufFile& file, std::string_view key,
                               GgufValueType item_type) {
    const GgufValue* v = file.find(key);
    if (v == nullptr) {
        throw Error("tokenizer: " + file.path() + " has no " + std::string(key));
    }
    if (v->type != GgufValueType::ARRAY || v->array_type != item_type) {
        throw Error("tokenizer: " + file.path() + ": " + std::string(key) +
                    " must be an array of " + std::string(gguf_value_type_name(item_type)));
    }
    return *v;
}

// An optional array with at least `n` items; nullptr when absent.
const GgufValue* optional_array(const GgufFile& file, std::string_view key, size_t n) {
    const GgufValue* v = file.find(key);
    if (v == nullptr) return nullptr;
    if (v->type != GgufValueType::ARRAY) {
        throw Error("tokenizer: " + file.path() + ": " + std::string(key) + " must be an array");
    }
    if (v->array.size() < n) {
        throw Error("tokenizer: " + file.path() + ": " + std::string(key) + " has " +
                    std::to_string(v->array.size()) + " entries for " + std::to_string(n) +
                    " tokens");
    }
    return v;
}

TokenKind kind_from_gguf(int64_t type) {
    switch (type) {
        case 1:
            return TokenKind::Normal;
        case 2:
            return TokenKind::Unknown;
        case 3:
            return TokenKind::Control;
        case 4:
            return TokenKind::UserDefined;
        case 5:
            return TokenKind::Unused;
        case 6:
            return TokenKind::Byte;
        default:
            return TokenKind::Undefined;
    }
}

// Reads a token id key; ids outside the vocabulary are ignored (the default stays).
void read_id(const GgufFile& file, std::string_view key, const Vocab& vocab, TokenId& id) {
    const GgufValue* v = file.find(key);
    if (v == nullptr) return;
    const int64_t value = v->as_int(key);
    if (value >= 0 && value < vocab.size()) id = static_cast<TokenId>(value);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
    Vocab vocab;
    vocab.model = file.get_string("tokenizer.ggml.model");
    if (vocab.model.empty()) {
        throw Error("tokenizer: " + file.path() + " has no tokenizer.ggml.model");
    }
    std::unique_ptr<tok::PreTokenizer> pre;
    if (vocab.model == "llama") {
        vocab.type = ModelType::Spm;
        vocab.bos = 1;
        vocab.eos = 2;
        vocab.unk = 0;
        vocab.add_bos = true;
        vocab.add_space_prefix = true;
    } else if (vocab.model == "gpt2") {
        vocab.type = ModelType::Bpe;
        vocab.pre = file.get_string("tokenizer.ggml.pre", "default");
        pre = std::make_unique<tok::PreTokenizer>(vocab.pre);
        vocab.bos = 11;  // llama.cpp's defaults, used only where the metadata names none
        vocab.eos = 11;
        vocab.add_bos = pre->traits().add_bos;
        vocab.ignore_merges = pre->traits().ignore_merges;
    } else if (vocab.model == "bert") {
        vocab.type = ModelType::WordPiece;
        vocab.bos = 101;  // [CLS]
        vocab.unk = 100;
        vocab.sep = 102;
        vocab.pad = 0;
        vocab.add_bos = true;
        vocab.add_sep = true;
    } else {
        throw Error("tokenizer: unknown tokenizer model '" + vocab.model + "' in " + file.path() +
                    " (supported: llama, gpt2, bert)");
    }
    vocab.add_space_prefix =
        file.get_bool("tokenizer.ggml.add_space_prefix", vocab.add_space_prefix);
    if (vocab.type != ModelType::Spm) vocab.add_space_prefix = false;

    const GgufValue& tokens = require_array(file, "tokenizer.ggml.tokens", GgufValueType::STRING);
    const size_t n = tokens.array.size();
    if (n == 0 || n > static_cast<size_t>(INT32_MAX)) {
        throw Error("tokenizer: " + file.path() + ": bad vocabulary size " + std::to_string(n));
    }
    const GgufValue* scores = optional_array(file, "tokenizer.ggml.scores", n);
    const GgufValue* types = optional_array(file, "tokenizer.ggml.token_type", n);
    vocab.text.reserve(n);
    vocab.ids.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const float score =
            scores ? static_cast<float>(scores->array[i].as_float("tokenizer.ggml.scores")) : 0.0f;
        const TokenKind kind =
            types ? kind_from_gguf(types->array[i].as_int("tokenizer.ggml.token_type"))
                  : TokenKind::Normal;
        vocab.add_token(tokens.array[i].as_string("tokenizer.ggml.tokens"), score, kind);
    }

    read_id(file, "tokenizer.ggml.cls_token_id", vocab, vocab.bos);  // BERT's [CLS] opens
    read_id(file, "tokenizer.ggml.bos_token_id", vocab, vocab.bos);
    read_id(file, "tokenizer.ggml.eos_token_id", vocab, vocab.eos);
    read_id(file, "tokenizer.ggml.eot_token_id", vocab, vocab.eot);
    read_id(file, "tokenizer.ggml.eom_token_id", vocab, vocab.eom);
    read_id(file, "tokenizer.ggml.unknown_token_id", vocab, vocab.unk);
    read_id(file, "tokenizer.ggml.seperator_token_id", vocab, vocab.sep);
    read_id(file, "tokenizer.ggml.padding_token_id", vocab, vocab.pad);
    vocab.add_bos = file.get_bool("tokenizer.ggml.add_bos_token", vocab.add_bos);
    vocab.add_eos = file.get_bool("tokenizer.ggml.add_eos_token", vocab.add_eos);
    vocab.add_sep = file.get_bool("tokenizer.ggml.add_sep_token", vocab.add_sep);
    if (vocab.type == ModelType::WordPiece) {
        vocab.lowercase = file.get_bool("tokenizer.ggml.normalizer.lowercase", true);
        vocab.strip_accents =
            file.get_bool("tokenizer.ggml.normalizer.strip_accents", vocab.lowercase);
    }
    vocab.finalize(file.get_string("general.name"));
    if (vocab.add_bos && vocab.bos < 0) {
        throw Error("tokenizer: " + file.path() +
                    ": tokenizer.ggml.add_bos_token is true but there is no BOS token");
    }
    if (vocab.add_eos && vocab.eos < 0) {
        throw Error("tokenizer: " + file.path() +
                    ": tokenizer.ggml.add_eos_token is true but there is no EOS token");
    }

    tok::BpeMerges merges;
    if (vocab.type == ModelType::Bpe) {
        const GgufValue& lines =
            require_array(file, "tokenizer.ggml.merges", GgufValueType::STRING);
        std::vector<std::string_view> views;
        views.reserve(lines.array.size());
        for (const auto& line : lines.array) views.push_back(line.string_value);
        merges = tok::parse_merges(vocab, views);
    }
    return std::make_unique<tok::TokenizerImpl>(std::move(vocab), std::move(merges),
                                                std::move(pre));
}

std::unique_ptr<Tokenizer> Tokenizer::from_file(const std::string& gguf_path) {
    const auto file = GgufFile::open(gguf_path);
    return from_gguf(*file);
}

}  // namespace uma
