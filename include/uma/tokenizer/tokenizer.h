#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace uma {

class GgufFile;
using TokenId = int32_t;

// Token attributes as GGUF's tokenizer.ggml.token_type defines them.
enum class TokenKind : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

// A tokenizer built from a GGUF file's tokenizer.* keys: SentencePiece-style (`llama`), byte-level
// BPE (`gpt2`, pre-tokenizer chosen by tokenizer.ggml.pre) and WordPiece (`bert`).
class Tokenizer {
  public:
    static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);
    // Opens a GGUF file (a model or a vocabulary-only file) and builds its tokenizer.
    static std::unique_ptr<Tokenizer> from_file(const std::string& gguf_path);
    // Byte-level BPE from a tiktoken rank file (base64 token, rank per line) and a pre-tokenizer
    // name ("llama3", "qwen2", ...); special tokens are appended after the ranks.
    static std::unique_ptr<Tokenizer> from_tiktoken(const std::string& path,
                                                    const std::string& pre_tokenizer,
                                                    const std::vector<std::string>& special_tokens);
    virtual ~Tokenizer() = default;

    // add_special: add BOS/EOS as the model's metadata asks. parse_special: recognise special and
    // control token texts (e.g. "<|eot_id|>") in the input instead of encoding them as text.
    virtual std::vector<TokenId> encode(std::string_view text, bool add_special,
                                        bool parse_special) const = 0;
    // Text of one token as it appears in output (byte tokens become their byte, SentencePiece's
    // U+2581 becomes a space, byte-level BPE bytes are unmapped). May be a partial UTF-8 sequence.
    virtual std::string token_to_piece(TokenId id) const = 0;
    // Concatenated pieces. skip_special leaves out control and unknown tokens (BOS, EOS,
    // <|eot_id|>, ...); remove_leading_space drops the one space that SentencePiece
    // (add_space_prefix) and WordPiece put before the first word, so decode(encode(s)) == s for
    // SentencePiece too.
    virtual std::string decode(const std::vector<TokenId>& ids, bool skip_special = false,
                               bool remove_leading_space = false) const = 0;

    virtual int32_t vocab_size() const = 0;
    virtual const std::string& token_text(TokenId id) const = 0;  // raw vocabulary entry
    virtual TokenKind token_kind(TokenId id) const = 0;
    virtual TokenId bos() const = 0;  // -1 when absent
    virtual TokenId eos() const = 0;  // -1 when absent
    // End of generation: EOS, EOT (<|eot_id|>, <|im_end|>, <end_of_turn>, ...) and similar.
    virtual bool is_end_of_generation(TokenId id) const = 0;
    virtual bool add_bos() const = 0;
    virtual bool add_eos() const = 0;
    virtual std::string model_name() const = 0;  // "llama", "gpt2", "bert"
    // The pre-tokenizer name for byte-level BPE ("llama3", "qwen2", "gpt-2", ...), else "".
    virtual std::string pre_tokenizer_name() const = 0;
};

// For `uma tokenize`.
struct TokenizeOptions {
    bool add_special = true;     // BOS/EOS as the model's metadata asks
    bool parse_special = false;  // recognise special-token texts in the input
    bool ids_only = false;       // print "[id, id, ...]" instead of one line per token
};

// The tokenization of `text` as `uma tokenize` prints it: one line per token,
// "<id> -> '<piece>'" (the piece with \n, \t, \\, \' and non-UTF-8 bytes escaped as \xNN),
// or a single "[id, ...]" line with `ids_only`. Every line ends with a newline.
std::string format_tokenization(const Tokenizer& tokenizer, std::string_view text,
                                const TokenizeOptions& options = {});
// A piece as format_tokenization shows it.
std::string escape_piece(std::string_view piece);

}  // namespace uma
