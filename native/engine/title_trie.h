// The titles' token sequences as a trie. Only internal nodes (nodes with children) are ever
// evaluated: a title's last token is scored from its parent's logits.
#pragma once
#include <cstdint>
#include <vector>

#include "model.h"

namespace labor {

class TitleTrie {
  public:
    struct Node {
        llama_token token = -1;  // -1 for the root (the prompt's last position)
        int32_t parent = -1;
        int32_t depth = 0;       // root 0; a title's first token 1
        std::vector<int32_t> children;
        int32_t title = -1;      // index of the title whose last token this is, or -1
        // Filled by finalize(): subtree sizes used to cut the trie into chunks.
        int32_t internal_below = 0;     // internal nodes in this subtree, this node included
        int32_t branch_ends_below = 0;  // internal nodes without internal children, in this subtree
        bool internal() const { return !children.empty(); }
    };

    // Throws EngineException(Input) when two titles have the same tokens.
    explicit TitleTrie(const std::vector<Tokens> &titles);

    const std::vector<Node> &nodes() const { return nodes_; }
    const Node &node(int32_t i) const { return nodes_[i]; }
    int32_t internal_count() const { return internal_count_; }  // root excluded
    int32_t max_depth() const { return max_depth_; }
    int32_t title_count() const { return title_count_; }

  private:
    std::vector<Node> nodes_;
    int32_t internal_count_ = 0;
    int32_t max_depth_ = 0;
    int32_t title_count_ = 0;
};

}  // namespace labor
