#pragma once
// Splits input text around special-token texts before the model's own tokenization.
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace uma::tok {

struct Fragment {
    std::string_view text;  // raw text when token < 0
    TokenId token = -1;     // a matched special token
};

class SpecialTokenMatcher {
  public:
    explicit SpecialTokenMatcher(const Vocab& vocab);

    // User-defined tokens are always recognised (as Hugging Face's added tokens are); control
    // and unknown tokens only when `parse_special`. At each position the longest match wins.
    void partition(const Vocab& vocab, std::string_view text, bool parse_special,
                   std::vector<Fragment>& out) const;

  private:
    struct Node {
        TokenId token = -1;
        uint32_t first_child = 0;  // children are kept sorted by byte in edges_
        uint32_t n_children = 0;
    };
    struct Edge {
        uint8_t byte;
        uint32_t node;
    };
    const Node* child(const Node& node, uint8_t byte) const;

    std::vector<Node> nodes_;
    std::vector<Edge> edges_;
    bool first_byte_[256] = {};
};

}  // namespace uma::tok
