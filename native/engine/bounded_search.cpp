#include "bounded_search.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "errors.h"
#include "logsumexp.h"
#include "prompt_eval.h"
#include "timed_decode.h"
#include "trie_run.h"

namespace labor::detail {
namespace {

// Best-first search over the trie. A title's log-prob is at most its prefix's, and the
// probability of all titles below a node is at most the node's prefix probability, so the search
// can stop once the top-k titles are exact and the unexplored mass is within the tolerance.
// Each evaluated node has its own sequence id; a child gets its parent's path by copying the
// parent's sequence over the trie positions (metadata only in the unified cache). A node's id is
// released once all its internal children are evaluated.
class BoundedRun {
  public:
    BoundedRun(Model &m, const TitleTrie &trie, int32_t n_prompt, ScoreStats &st, const ScoreOptions &o)
        : m_(m), trie_(trie), P_(n_prompt), st_(st), o_(o), prefix_(trie.nodes().size(), NAN),
          seq_of_(trie.nodes().size(), -1), pending_(trie.nodes().size(), 0), unpicked_(trie.nodes().size(), 0), on_target_(trie.nodes().size(), false),
          batch_(std::max<int32_t>(1, std::min<int32_t>(o.bounded_batch, (int32_t)m.n_batch())), 1) {
        for (size_t i = 0; i < trie.nodes().size(); ++i)
            for (int32_t c : trie.node((int32_t)i).children)
                if (trie.node(c).internal()) ++pending_[i];
        unpicked_ = pending_;
        if (o.target >= 0) {
            for (size_t i = 0; i < trie.nodes().size(); ++i)
                if (trie.node((int32_t)i).title == o.target) {
                    for (int32_t n = (int32_t)i; n > 0; n = trie.node(n).parent) on_target_[n] = true;
                }
        }
        for (int32_t s = Model::kMaxSeq - 1; s >= 0; --s) free_.push_back(s);
    }

    // Returns false when it ran out of sequence ids or cells (the caller then runs the full trie).
    bool run(const float *root_row, double root_lse, std::vector<double> &title_logp) {
        prefix_[0] = 0;
        expand(0, [&](llama_token t) { return root_row[t]; }, root_lse, title_logp);
        llama_memory_t mem = llama_get_memory(m_.ctx());
        std::vector<int32_t> picked;
        std::vector<double> lse;
        while (!done()) {
            batch_.clear();
            picked.clear();
            // Near the end only a few nodes are still needed: a full batch would evaluate nodes the
            // search never needed (the stopping rule is unchanged, only the batch shrinks).
            const int32_t cap = std::min<int32_t>(batch_.capacity(), std::max<int32_t>(needed_lower_bound(), std::min<int32_t>(kMinBoundedBatch, batch_.capacity())));
            while (!heap_.empty() && (int32_t)picked.size() < cap) {
                if ((int64_t)P_ + st_.evaluated_nodes + (int64_t)picked.size() + 1 > (int64_t)m_.n_ctx()) break;
                const int32_t n = heap_.front().second;
                const TitleTrie::Node &nn = trie_.node(n);
                const int32_t p = nn.parent;
                // A parent's last child to be picked takes over the parent's sequence, whose cells
                // are exactly the child's path: no copy, and chains of single children (most title
                // tokens past the first few) hold one id from top to bottom.
                const bool hand_off = p != 0 && unpicked_[p] == 1 && seq_of_[p] >= 0;
                if (!hand_off && free_.empty()) break;
                std::pop_heap(heap_.begin(), heap_.end());
                heap_.pop_back();
                const llama_pos pos = P_ + nn.depth - 1;
                int32_t s;
                if (hand_off) {
                    s = seq_of_[p];
                    seq_of_[p] = -1;
                } else {
                    s = free_.back();
                    free_.pop_back();
                    if (p != 0) llama_memory_seq_cp(mem, seq_of_[p], s, P_, pos);
                }
                if (p != 0) --unpicked_[p];
                seq_of_[n] = s;
                batch_.add(nn.token, pos, s, s, true);
                picked.push_back(n);
            }
            if (picked.empty()) return false;
            decode_counted(m_, batch_, st_);
            st_.evaluated_nodes += (int64_t)picked.size();
            std::vector<int32_t> idx(picked.size());
            for (size_t k = 0; k < picked.size(); ++k) idx[k] = (int32_t)k;
            logsumexp_rows(m_, idx, lse, st_);
            for (size_t k = 0; k < picked.size(); ++k) {
                const int32_t n = picked[k];
                expand(n, [&](llama_token t) { return m_.logit((int32_t)k, t); }, lse[k], title_logp);
                const int32_t p = trie_.node(n).parent;
                if (p != 0 && --pending_[p] == 0) release(p);
                if (pending_[n] == 0) release(n);
            }
        }
        return true;
    }

    double log_resolved() const { return log_resolved_; }
    double log_frontier() const {
        double f = -INFINITY;
        for (auto &e : heap_) f = log_add(f, prefix_[e.second]);
        return f;
    }

  private:
    // Fewest open nodes the search must still evaluate before it can stop on the total's tolerance:
    // even if evaluating a node moved all of its prefix mass onto resolved titles, the frontier
    // cannot fall within the tolerance before the largest open prefixes are gone. The target's
    // path, if still open, counts too.
    int32_t needed_lower_bound() const {
        if (heap_.empty()) return 0;
        std::vector<double> p;
        p.reserve(heap_.size());
        int32_t forced = 0;
        for (const auto &e : heap_) {
            if (e.first == INFINITY) ++forced;
            p.push_back(prefix_[e.second]);
        }
        std::sort(p.begin(), p.end(), std::greater<double>());
        const double top = std::max(p.front(), log_resolved_);
        if (!std::isfinite(top)) return std::max<int32_t>(forced, 1);
        double frontier = 0;
        for (double v : p) frontier += std::exp(v - top);
        const double resolved = std::isfinite(log_resolved_) ? std::exp(log_resolved_ - top) : 0.0;
        const double slack = std::expm1(o_.tolerance);
        double moved = 0;
        int32_t m = 0;
        while (m < (int32_t)p.size() && frontier - moved > (resolved + moved) * slack) moved += std::exp(p[m++] - top);
        return std::max<int32_t>({forced, m, 1});
    }

    static constexpr int32_t kMinBoundedBatch = 16;

    // `logit(token)` reads n's logits row.
    template <class Logit>
    void expand(int32_t n, Logit logit, double lse, std::vector<double> &title_logp) {
        for (int32_t c : trie_.node(n).children) {
            const TitleTrie::Node &nc = trie_.node(c);
            prefix_[c] = prefix_[n] + (double)logit(nc.token) - lse;
            if (nc.title >= 0) {
                title_logp[nc.title] = prefix_[c];
                resolved_.push_back(prefix_[c]);
                log_resolved_ = log_add(log_resolved_, prefix_[c]);
                st_.resolved_titles += 1;
            }
            if (nc.internal()) {
                // The target's path goes first: its score is wanted whatever its rank.
                heap_.emplace_back(on_target_[c] ? INFINITY : prefix_[c], c);
                std::push_heap(heap_.begin(), heap_.end());
            }
        }
    }

    void release(int32_t n) {
        if (seq_of_[n] < 0) return;
        llama_memory_seq_rm(llama_get_memory(m_.ctx()), seq_of_[n], P_, -1);
        free_.push_back(seq_of_[n]);
        seq_of_[n] = -1;
    }

    bool done() {
        if (heap_.empty()) return true;
        if (o_.target >= 0 && heap_.front().first == INFINITY) return false;
        const double best_open = heap_.front().first;
        const int32_t k = std::max<int32_t>(1, std::min<int32_t>(o_.top_k, trie_.title_count()));
        if ((int32_t)resolved_.size() < k) return false;
        std::vector<double> r = resolved_;
        std::nth_element(r.begin(), r.begin() + (k - 1), r.end(), std::greater<double>());
        if (r[k - 1] < best_open) return false;
        return log_add(log_resolved_, log_frontier()) - log_resolved_ <= o_.tolerance;
    }

    Model &m_;
    const TitleTrie &trie_;
    int32_t P_;
    ScoreStats &st_;
    const ScoreOptions &o_;
    std::vector<double> prefix_;
    std::vector<int32_t> seq_of_;
    std::vector<int32_t> pending_;   // internal children not yet evaluated
    std::vector<int32_t> unpicked_;  // internal children not yet put in a batch
    std::vector<bool> on_target_;
    std::vector<int32_t> free_;
    std::vector<std::pair<double, int32_t>> heap_;
    std::vector<double> resolved_;
    double log_resolved_ = -INFINITY;
    Batch batch_;
};

}  // namespace

void score_bounded(Model &m, const TitleSet &set, const PreparedPrompt &pp, const ScoreOptions &opts, TitleScores &out) {
    ScoreStats &st = out.stats;
    if (opts.target >= (int32_t)set.size()) fail(ErrorKind::Input, "the target title index is out of range");
    const int32_t P = pp.size();
    const RootRow root = eval_prompt(m, pp.tokens, opts.reuse_prefix, st);
    out.logp.assign(set.size(), NAN);
    BoundedRun run(m, *pp.trie, P, st, opts);
    const bool ok = run.run(root.logits.data(), root.lse, out.logp);
    llama_memory_seq_rm(memory_of(m), -1, P, -1);
    st.bounded_nodes = st.evaluated_nodes;
    if (ok) {
        out.log_total = run.log_resolved();
        out.log_total_upper = log_add(run.log_resolved(), run.log_frontier());
        return;
    }
    // Out of sequence ids or cells: finish exactly with the full trie.
    st.bounded_fallback = true;
    out.logp.assign(set.size(), 0.0);
    run_trie(m, *pp.trie, P, root, opts.unsafe_shared_sequence, st, out.logp);
    st.resolved_titles = (int64_t)set.size();
    out.log_total = log_sum(out.logp);
    out.log_total_upper = out.log_total;
}

}  // namespace labor::detail
