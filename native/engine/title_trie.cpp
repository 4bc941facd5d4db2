#include "title_trie.h"

#include <string>

#include "errors.h"

namespace labor {

TitleTrie::TitleTrie(const std::vector<Tokens> &titles) {
    nodes_.emplace_back();
    title_count_ = (int32_t)titles.size();
    for (size_t t = 0; t < titles.size(); ++t) {
        if (titles[t].empty()) fail(ErrorKind::Input, "title " + std::to_string(t) + " has no tokens");
        int32_t cur = 0;
        for (llama_token tok : titles[t]) {
            int32_t next = -1;
            for (int32_t c : nodes_[cur].children)
                if (nodes_[c].token == tok) {
                    next = c;
                    break;
                }
            if (next < 0) {
                next = (int32_t)nodes_.size();
                Node n;
                n.token = tok;
                n.parent = cur;
                n.depth = nodes_[cur].depth + 1;
                nodes_.push_back(n);
                nodes_[cur].children.push_back(next);
            }
            cur = next;
        }
        if (nodes_[cur].title >= 0)
            fail(ErrorKind::Input, "titles " + std::to_string(nodes_[cur].title) + " and " + std::to_string(t) +
                                       " have the same tokens: the title list has a duplicate");
        nodes_[cur].title = (int32_t)t;
        if (nodes_[cur].depth > max_depth_) max_depth_ = nodes_[cur].depth;
    }
    // Children always come after their parent, so one backward pass sums the subtrees.
    for (int32_t i = (int32_t)nodes_.size() - 1; i > 0; --i) {
        Node &n = nodes_[i];
        if (!n.internal()) continue;
        ++internal_count_;
        int32_t internal_children = 0;
        n.internal_below += 1;
        for (int32_t c : n.children)
            if (nodes_[c].internal()) ++internal_children;
        if (internal_children == 0) n.branch_ends_below += 1;
        Node &p = nodes_[n.parent];
        p.internal_below += n.internal_below;
        p.branch_ends_below += n.branch_ends_below;
    }
}

}  // namespace labor
