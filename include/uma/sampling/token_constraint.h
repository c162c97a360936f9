#pragma once
#include <cstdint>
#include <span>

namespace uma {

// Restricts which tokens may be sampled next (structured output). The sampler calls apply() on
// its copy of the logits before choosing, then accept() with the chosen token, so the constraint
// follows the text as it grows. Implementations hold per-generation state: one per request.
class TokenConstraint {
  public:
    virtual ~TokenConstraint() = default;

    // Sets the logit of every token that may not come next to -infinity.
    virtual void apply(std::span<float> logits) = 0;
    // Whether `token` may come next. Cheaper than apply() for a single token, which lets greedy
    // sampling check its argmax first.
    virtual bool allows(int32_t token) = 0;
    // Advances past `token`; throws uma::Error when the token is not allowed.
    virtual void accept(int32_t token) = 0;
    // True when the text so far is complete and nothing but the end may follow: generation can
    // stop without sampling an end token.
    virtual bool finished() const = 0;
};

}  // namespace uma
