// Tokenizer::from_tiktoken: byte-level BPE from a tiktoken rank file.
#include <fstream>
#include <sstream>
#include <string>

#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"
#include "uma/core/error.h"

namespace uma {

namespace {

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Standard base64 with optional padding; false on any other character.
bool base64_decode(std::string_view in, std::string& out) {
    out.clear();
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; i < in.size() && in[i] != '='; ++i) {
        const int v = base64_value(in[i]);
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    for (; i < in.size(); ++i) {
        if (in[i] != '=') return false;
    }
    return true;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_tiktoken(
    const std::string& path, const std::string& pre_tokenizer,
    const std::vector<std::string>& special_tokens) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("tokenizer: cannot open tiktoken file " + path);

    tok::Vocab vocab;
    vocab.type = tok::ModelType::Bpe;
    vocab.model = "gpt2";
    vocab.pre = pre_tokenizer;
    auto pre = std::make_unique<tok::PreTokenizer>(pre_tokenizer);
    vocab.add_bos = pre->traits().add_bos;
    vocab.ignore_merges = pre->traits().ignore_merges;

    std::string line;
    std::string bytes;
    size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const size_t space = line.find(' ');
        long long rank = -1;
        if (space != std::string::npos) {
            try {
                size_t used = 0;
                rank = std::stoll(line.substr(space + 1), &used);
                if (used != line.size() - space - 1) rank = -1;
            } catch (const std::exception&) {
                rank = -1;
            }
        }
        if (rank < 0 || !base64_decode(std::string_view(line).substr(0, space), bytes)) {
            throw Error("tokenizer: " + path + ":" + std::to_string(line_no) +
                        ": expected '<base64 token> <rank>'");
        }
        if (rank != vocab.size()) {
            throw Error("tokenizer: " + path + ":" + std::to_string(line_no) + ": rank " +
                        std::to_string(rank) + " out of order (expected " +
                        std::to_string(vocab.size()) + ")");
        }
        vocab.add_token(tok::byte_level_encode(bytes), 0.0f, TokenKind::Normal);
    }
    if (vocab.size() == 0) throw Error("tokenizer: " + path + " holds no tokens");
    for (const auto& special : special_tokens) {
        vocab.add_token(special, 0.0f, TokenKind::Control);
    }

    vocab.bos = vocab.find("<|begin_of_text|>");
    vocab.eos = vocab.find("<|end_of_text|>");
    if (vocab.eos < 0) vocab.eos = vocab.find("<|endoftext|>");
    vocab.finalize("");
    if (vocab.add_bos && vocab.bos < 0) vocab.add_bos = false;

    tok::BpeMerges merges;
    merges.rank_by_token = true;
    return std::make_unique<tok::TokenizerImpl>(std::move(vocab), std::move(merges),
                                                std::move(pre));
}

}  // namespace uma
