#pragma once
// Regex pre-tokenization for byte-level BPE, chosen by tokenizer.ggml.pre. Regexes run in PCRE2
// with UTF and UCP semantics (\p{L}, \s, (?i:...) and lookahead natively).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace uma::tok {

// What a pre-tokenizer name implies beyond its regexes (llama.cpp conventions).
struct PreTokenizerTraits {
    bool ignore_merges = false;  // look a whole piece up in the vocabulary before merging
    bool add_bos = false;        // default for tokenizer.ggml.add_bos_token
};

class Regex;

class PreTokenizer {
  public:
    // Throws uma::Error for an unknown name. An empty name means "default".
    explicit PreTokenizer(const std::string& name);
    ~PreTokenizer();
    PreTokenizer(const PreTokenizer&) = delete;
    PreTokenizer& operator=(const PreTokenizer&) = delete;

    const std::string& name() const { return name_; }
    const PreTokenizerTraits& traits() const { return traits_; }

    // Splits `text` into pieces. The regexes apply in sequence: each one splits every piece of
    // the previous step into its matches and the text between them, so no byte is dropped.
    void split(std::string_view text, std::vector<std::string_view>& pieces) const;

    // Every name this build accepts (for error messages and tests).
    static std::vector<std::string> known_names();

  private:
    std::string name_;
    PreTokenizerTraits traits_;
    std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace uma::tok
