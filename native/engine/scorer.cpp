#include "scorer.h"
#include "scorer_internal.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <functional>
#include <random>

#include "errors.h"

namespace labor {
namespace detail {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// A neutral text before each continuation when the title set is built: the tokens that follow it
// are the title's usual tokens. Every prompt is checked against them (see in_context_tokens).
const char *kAnchor = "Occupation:";

llama_memory_t memory_of(Model &m) { return llama_get_memory(m.ctx()); }

double finish_log_total(const std::vector<double> &logp) {
    double mx = -INFINITY;
    for (double v : logp) mx = std::max(mx, v);
    if (!std::isfinite(mx)) return mx;
    double s = 0;
    for (double v : logp) s += std::exp(v - mx);
    return mx + std::log(s);
}

// log-sum-exp of several output rows at once, spread over the model's threads.
void logsumexp_rows(Model &m, const std::vector<int32_t> &batch_indices, std::vector<double> &out, ScoreStats &st) {
    auto t0 = Clock::now();
    m.logsumexp_rows(batch_indices, out);
    if (m.rows_from_head()) st.head_rows += (int64_t)batch_indices.size();
    st.ms_logsumexp += ms_since(t0);
}

// Makes the KV cache hold `tokens` at positions [0, n) in every sequence, evaluating only what is
// not cached already. Positions listed in `need` (ascending) get logits; after each decode the
// handler receives (position, batch index) pairs for them.
// With `share`, every sequence gets the prompt's cells (title scoring); span scoring reads sequence 0
// only and skips the 255 copies.
void eval_prefix(Model &m, const Tokens &tokens, const std::vector<int32_t> &need, bool reuse, ScoreStats &st,
                 const std::function<void(const std::vector<std::pair<int32_t, int32_t>> &)> &handler, bool share) {
    const int32_t n = (int32_t)tokens.size();
    if ((uint32_t)n > m.n_ctx())
        fail(ErrorKind::Input, "the prompt has " + std::to_string(n) + " tokens, more than the context size of " +
                                   std::to_string(m.n_ctx()) + " tokens; raise the context size");
    Tokens &cached = m.cached_prompt();
    int32_t keep = 0;
    if (reuse) {
        const int32_t lim = std::min<int32_t>(n, (int32_t)cached.size());
        while (keep < lim && cached[keep] == tokens[keep]) ++keep;
    }
    if (!need.empty()) keep = std::min(keep, need.front());
    llama_memory_t mem = memory_of(m);
    if (keep == 0) {
        llama_memory_clear(mem, false);
    } else {
        llama_memory_seq_rm(mem, -1, keep, -1);
    }
    cached.resize(keep);
    int32_t &shared = m.shared_prompt_len();
    shared = std::min(shared, keep);

    const int32_t nb = (int32_t)m.n_batch();
    Batch batch(nb, 1);
    size_t ni = 0;
    std::vector<std::pair<int32_t, int32_t>> outs;
    for (int32_t start = keep; start < n; start += nb) {
        const int32_t end = std::min(n, start + nb);
        batch.clear();
        outs.clear();
        for (int32_t p = start; p < end; ++p) {
            while (ni < need.size() && need[ni] < p) ++ni;
            const bool want = ni < need.size() && need[ni] == p;
            if (want) outs.emplace_back(p, p - start);
            batch.add(tokens[p], p, 0, 0, want);
        }
        auto t0 = Clock::now();
        m.decode(batch);
        st.ms_decode += ms_since(t0);
        st.decode_calls += 1;
        st.evaluated_tokens += end - start;
        st.prompt_tokens_evaluated += end - start;
        if (!outs.empty()) handler(outs);
    }
    // Every sequence shares the prompt's cells (metadata only in the unified cache).
    if (share) {
        for (int32_t s = 1; s < Model::kMaxSeq; ++s) llama_memory_seq_cp(mem, 0, s, shared, -1);
        shared = n;
    }
    cached = tokens;
}

// The continuation's tokens as the model tokenizes prompt + continuation. The prompt's own tokens
// must be a prefix of that, else the title's probability is not a product after the prompt.
Tokens in_context_tokens(const Model &m, const std::string &prompt, const Tokens &prompt_tokens, const std::string &cont,
                         const std::string &title, bool is_tail) {
    Tokens full = m.tokenize(prompt + cont, !is_tail);
    if (full.size() <= prompt_tokens.size() || !std::equal(prompt_tokens.begin(), prompt_tokens.end(), full.begin())) {
        fail(ErrorKind::Input, "the prompt's last token merges with the title \"" + title +
                                   "\" (the prompt's tokens are not a prefix of prompt + title); end the prompt "
                                   "before the space that precedes the title");
    }
    return Tokens(full.begin() + (ptrdiff_t)prompt_tokens.size(), full.end());
}

}  // namespace detail

namespace {
using namespace detail;

class TrieRun {
  public:
    TrieRun(Model &m, const TitleTrie &trie, int32_t n_prompt, ScoreStats &st, bool shared_sequence)
        : m_(m), trie_(trie), P_(n_prompt), shared_(shared_sequence), st_(st), cond_(trie.nodes().size(), 0.0),
          batch_((int32_t)m.n_batch(), Model::kMaxSeq) {}

    std::vector<double> &cond() { return cond_; }

    // Children of node v get their conditional log-probs from v's logits row `lse`/`row`.
    void set_children(int32_t v, const float *row, double lse) {
        for (int32_t c : trie_.node(v).children) cond_[c] = (double)row[trie_.node(c).token] - lse;
    }
    // The same from output row `bi` of the last decode.
    void set_children_from(int32_t v, int32_t bi, double lse) {
        for (int32_t c : trie_.node(v).children) cond_[c] = (double)m_.logit(bi, trie_.node(c).token) - lse;
    }

    // Evaluates every internal node below v (v already evaluated), chunk by chunk.
    void process_children(int32_t v) {
        const TitleTrie::Node &nv = trie_.node(v);
        const int32_t pos_base = P_ + nv.depth;  // position of v's children
        const int32_t tok_limit = std::min<int32_t>((int32_t)m_.n_batch(), (int32_t)m_.n_ctx() - pos_base);
        if (tok_limit < 1) fail(ErrorKind::Input, "the prompt and the longest title do not fit the context; raise the context size");
        std::vector<int32_t> units;
        int32_t nodes = 0, ends = 0;
        auto flush = [&] {
            if (units.empty()) return;
            decode_chunk(units, pos_base);
            units.clear();
            nodes = ends = 0;
        };
        for (int32_t c : nv.children) {
            const TitleTrie::Node &nc = trie_.node(c);
            if (!nc.internal()) continue;
            if (nc.internal_below > tok_limit || nc.branch_ends_below > Model::kMaxSeq) {
                // Too big for one chunk: evaluate c alone, visible to every sequence, then its
                // children chunk by chunk, then drop c's cell before c's siblings come.
                flush();
                batch_.clear();
                batch_.add(nc.token, P_ + nc.depth - 1, 0, Model::kMaxSeq - 1, true);
                run_batch({c});
                process_children(c);
                llama_memory_seq_rm(llama_get_memory(m_.ctx()), -1, P_ + nc.depth - 1, -1);
                continue;
            }
            if (nodes + nc.internal_below > tok_limit || ends + nc.branch_ends_below > Model::kMaxSeq) flush();
            units.push_back(c);
            nodes += nc.internal_below;
            ends += nc.branch_ends_below;
        }
        flush();
    }

  private:
    // One llama_decode with whole subtrees: each branch end (internal node without internal
    // children) gets its own sequence id, numbered in depth-first order, so every node's sequences
    // are the contiguous ids of the branch ends below it. A node's first id is one of its own
    // descendants', never a sibling's: llama.cpp's mask reads only the first id.
    void decode_chunk(const std::vector<int32_t> &units, int32_t pos_base) {
        batch_.clear();
        order_.clear();
        int32_t next_seq = 0;
        std::function<void(int32_t)> add = [&](int32_t n) {
            const TitleTrie::Node &nn = trie_.node(n);
            const int32_t lo = next_seq;
            if (shared_)
                batch_.add(nn.token, P_ + nn.depth - 1, 0, 0, true);
            else
                batch_.add(nn.token, P_ + nn.depth - 1, lo, lo + nn.branch_ends_below - 1, true);
            order_.push_back(n);
            bool has_internal_child = false;
            for (int32_t c : nn.children)
                if (trie_.node(c).internal()) {
                    has_internal_child = true;
                    add(c);
                }
            if (!has_internal_child) ++next_seq;
        };
        for (int32_t u : units) add(u);
        if (shared_) {
            // One sequence for all: positions must not decrease in batch order, so go level by level.
            std::stable_sort(order_.begin(), order_.end(),
                             [&](int32_t a, int32_t b) { return trie_.node(a).depth < trie_.node(b).depth; });
            batch_.clear();
            for (int32_t n : order_) batch_.add(trie_.node(n).token, P_ + trie_.node(n).depth - 1, 0, 0, true);
        }
        run_batch(order_);
        llama_memory_seq_rm(llama_get_memory(m_.ctx()), -1, pos_base, -1);
    }

    void run_batch(const std::vector<int32_t> &nodes_in_order) {
        std::vector<int32_t> nodes = nodes_in_order;
        auto t0 = Clock::now();
        m_.decode(batch_);
        st_.ms_decode += ms_since(t0);
        st_.decode_calls += 1;
        st_.evaluated_tokens += batch_.size();
        std::vector<int32_t> idx(nodes.size());
        for (size_t k = 0; k < nodes.size(); ++k) idx[k] = (int32_t)k;
        logsumexp_rows(m_, idx, lse_, st_);
        for (size_t k = 0; k < nodes.size(); ++k) set_children_from(nodes[k], (int32_t)k, lse_[k]);
    }

    Model &m_;
    const TitleTrie &trie_;
    int32_t P_;
    bool shared_;
    ScoreStats &st_;
    std::vector<double> cond_;
    Batch batch_;
    std::vector<int32_t> order_;
    std::vector<double> lse_;
};

double log_add(double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    const double m = std::max(a, b);
    return m + std::log(std::exp(a - m) + std::exp(b - m));
}

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
            auto t0 = Clock::now();
            m_.decode(batch_);
            st_.ms_decode += ms_since(t0);
            st_.decode_calls += 1;
            st_.evaluated_tokens += batch_.size();
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

TitleSet::TitleSet(const Model &model, std::vector<std::string> titles) : titles_(std::move(titles)) {
    if (titles_.empty()) fail(ErrorKind::Input, "the title list is empty");
    const Tokens anchor = model.tokenize(kAnchor, true);
    for (size_t i = 0; i < titles_.size(); ++i) {
        const std::string &t = titles_[i];
        if (t.empty()) fail(ErrorKind::Input, "title " + std::to_string(i) + " is empty");
        if (t.find('\n') != std::string::npos || t.find('\r') != std::string::npos)
            fail(ErrorKind::Input, "title \"" + t + "\" contains a line break");
        continuations_.push_back(" " + t + "\n");
        tokens_.push_back(in_context_tokens(model, kAnchor, anchor, continuations_.back(), t));
    }
    trie_ = std::make_unique<TitleTrie>(tokens_);
}

namespace detail {

PreparedPrompt prepare_prompt(Model &model, const TitleSet &set, const std::string &prompt, const ScoreOptions &opts, ScoreStats &st) {
    PreparedPrompt pp;
    auto t0 = Clock::now();
    pp.tokens = model.tokenize(prompt, true);
    const Tokens &ptoks = pp.tokens;
    if (ptoks.empty()) fail(ErrorKind::Input, "the prompt is empty");
    const int32_t P = (int32_t)ptoks.size();
    st.prompt_tokens = P;

    if ((uint32_t)P >= model.n_ctx())
        fail(ErrorKind::Input, "the prompt has " + std::to_string(P) + " tokens, more than the context size of " +
                                   std::to_string(model.n_ctx()) + " tokens; raise the context size");
    // The titles' tokens in this prompt's context; a prompt-specific trie only when they differ.
    // Tokenizing prompt + title for every title costs titles x prompt length, so the check runs on
    // the prompt's last line when the prompt's own tokens show that its last newline is a token
    // boundary (then nothing before it can touch the title's tokens).
    std::string ctx_text = prompt;
    Tokens ctx_tokens = ptoks;
    if (!opts.full_boundary_check) {
        const size_t nl = prompt.rfind('\n');
        if (nl != std::string::npos && nl > 0) {
            std::string tail = prompt.substr(nl);  // starts with the newline
            Tokens tail_toks = model.tokenize(tail, false);
            // Skip the tokens that spell the newline (SPM may put a lone space token first).
            size_t k = 0;
            std::string seen;
            while (k < tail_toks.size() && seen.find('\n') == std::string::npos) seen += model.token_piece(tail_toks[k++]);
            const bool clean = seen.size() >= 1 && seen.back() == '\n' && k <= tail_toks.size() &&
                               tail_toks.size() - k <= ptoks.size() &&
                               std::equal(tail_toks.begin() + (ptrdiff_t)k, tail_toks.end(), ptoks.end() - (ptrdiff_t)(tail_toks.size() - k));
            if (clean) {
                ctx_text = tail;
                ctx_tokens = tail_toks;
            }
        }
    }
    std::vector<Tokens> &toks = pp.title_tokens;
    toks.resize(set.size());
    bool differs = false;
    for (size_t i = 0; i < set.size(); ++i) {
        toks[i] = in_context_tokens(model, ctx_text, ctx_tokens, set.continuations()[i], set.titles()[i], ctx_text != prompt);
        if (toks[i] != set.tokens()[i]) {
            differs = true;
            st.retokenized_titles += 1;
        }
        st.title_tokens += (int64_t)toks[i].size();
    }
    if (differs) pp.local = std::make_unique<TitleTrie>(toks);
    pp.trie = differs ? pp.local.get() : &set.trie();
    const TitleTrie &trie = *pp.trie;
    st.trie_nodes = (int64_t)trie.nodes().size() - 1;
    st.internal_nodes = trie.internal_count();
    st.ms_tokenize = ms_since(t0);

    if ((int64_t)P + trie.max_depth() - 1 > (int64_t)model.n_ctx())
        fail(ErrorKind::Input, "the prompt (" + std::to_string(P) + " tokens) and the longest title (" +
                                   std::to_string(trie.max_depth()) + " tokens) do not fit the context of " +
                                   std::to_string(model.n_ctx()) + " tokens; raise the context size");
    return pp;
}

}  // namespace detail

TitleScores score_titles(Model &model, const TitleSet &set, const std::string &prompt, const ScoreOptions &opts) {
    TitleScores out;
    ScoreStats &st = out.stats;
    // The engine's modes use the fused head; the reference and sequential baselines keep llama.cpp's
    // own logits, as other tools would.
    HeadScope head(model, opts.output_head && (opts.mode == ScoreMode::Trie || opts.mode == ScoreMode::Bounded));
    const PreparedPrompt pp = prepare_prompt(model, set, prompt, opts, st);
    const Tokens &ptoks = pp.tokens;
    const TitleTrie &trie = *pp.trie;
    const int32_t P = (int32_t)ptoks.size();
    // Tokens of each title in this prompt's context (the trie's order is the title order).
    const std::vector<Tokens> &toks = pp.title_tokens;

    out.logp.assign(set.size(), 0.0);
    std::vector<float> root_row;
    double root_lse = 0;
    auto keep_root = [&](const std::vector<std::pair<int32_t, int32_t>> &outs) {
        for (auto &[pos, bi] : outs)
            if (pos == P - 1) {
                model.copy_logits(bi, root_row);
                std::vector<double> l;
                logsumexp_rows(model, {bi}, l, st);
                root_lse = l[0];
            }
    };

    auto full_trie = [&] {
        TrieRun run(model, trie, P, st, opts.unsafe_shared_sequence);
        run.set_children(0, root_row.data(), root_lse);
        run.process_children(0);
        std::vector<double> acc(trie.nodes().size(), 0.0);
        for (size_t i = 1; i < trie.nodes().size(); ++i) {
            const auto &n = trie.node((int32_t)i);
            acc[i] = acc[n.parent] + run.cond()[i];
            if (n.title >= 0) out.logp[n.title] = acc[i];
        }
        st.evaluated_nodes += trie.internal_count();
    };
    if (opts.mode == ScoreMode::Bounded) {
        if (opts.target >= (int32_t)set.size()) fail(ErrorKind::Input, "the target title index is out of range");
        eval_prefix(model, ptoks, {P - 1}, opts.reuse_prefix, st, keep_root);
        out.logp.assign(set.size(), NAN);
        BoundedRun run(model, trie, P, st, opts);
        const bool ok = run.run(root_row.data(), root_lse, out.logp);
        llama_memory_seq_rm(memory_of(model), -1, P, -1);
        if (ok) {
            st.bounded_nodes = st.evaluated_nodes;
            out.log_total = run.log_resolved();
            out.log_total_upper = log_add(run.log_resolved(), run.log_frontier());
            return out;
        }
        // Out of sequence ids or cells: finish exactly with the full trie.
        st.bounded_fallback = true;
        st.bounded_nodes = st.evaluated_nodes;
        out.logp.assign(set.size(), 0.0);
        full_trie();
        st.resolved_titles = (int64_t)set.size();
    } else if (opts.mode == ScoreMode::Trie) {
        eval_prefix(model, ptoks, {P - 1}, opts.reuse_prefix, st, keep_root);
        full_trie();
    } else if (opts.mode == ScoreMode::Sequential) {
        eval_prefix(model, ptoks, {P - 1}, opts.reuse_prefix, st, keep_root);
        Batch batch((int32_t)model.n_batch(), 1);
        std::vector<double> lse;
        for (size_t t = 0; t < toks.size(); ++t) {
            const Tokens &tt = toks[t];
            double lp = (double)root_row[tt[0]] - root_lse;
            for (size_t start = 0; start + 1 < tt.size(); start += model.n_batch()) {
                const size_t end = std::min(tt.size() - 1, start + model.n_batch());
                batch.clear();
                std::vector<int32_t> idx;
                for (size_t j = start; j < end; ++j) {
                    batch.add(tt[j], P + (int32_t)j, 0, 0, true);
                    idx.push_back((int32_t)(j - start));
                }
                auto td = Clock::now();
                model.decode(batch);
                st.ms_decode += ms_since(td);
                st.decode_calls += 1;
                st.evaluated_tokens += batch.size();
                logsumexp_rows(model, idx, lse, st);
                for (size_t j = start; j < end; ++j)
                    lp += (double)model.logit((int32_t)(j - start), tt[j + 1]) - lse[j - start];
            }
            llama_memory_seq_rm(memory_of(model), -1, P, -1);
            out.logp[t] = lp;
        }
    } else {
        // Reference: every title from an empty cache, prompt and title in one fresh evaluation.
        for (size_t t = 0; t < toks.size(); ++t) {
            const Tokens &tt = toks[t];
            Tokens all = ptoks;
            all.insert(all.end(), tt.begin(), tt.end() - 1);
            std::vector<int32_t> need;
            for (int32_t p = P - 1; p < (int32_t)all.size(); ++p) need.push_back(p);
            double lp = 0;
            std::vector<double> lse;
            llama_memory_clear(memory_of(model), false);
            model.cached_prompt().clear();
            eval_prefix(model, all, need, false, st, [&](const std::vector<std::pair<int32_t, int32_t>> &outs) {
                std::vector<int32_t> idx;
                for (auto &o : outs) idx.push_back(o.second);
                logsumexp_rows(model, idx, lse, st);
                for (size_t k = 0; k < outs.size(); ++k) {
                    const int32_t pos = outs[k].first;
                    const llama_token next = tt[pos - (P - 1)];
                    lp += (double)model.logit(outs[k].second, next) - lse[k];
                }
            });
            out.logp[t] = lp;
        }
        // The cache holds the last title now, not a shareable prompt.
        llama_memory_clear(memory_of(model), false);
        model.cached_prompt().clear();
        st.prompt_tokens_evaluated = P;  // counted once; evaluated_tokens has the true total
    }
    out.log_total = finish_log_total(out.logp);
    out.log_total_upper = out.log_total;
    if (opts.mode != ScoreMode::Bounded) st.resolved_titles = (int64_t)set.size();
    return out;
}

SpanScores score_spans(Model &model, const std::string &text, const std::vector<std::pair<uint32_t, uint32_t>> &spans) {
    SpanScores out;
    ScoreStats &st = out.stats;
    HeadScope head(model, true);
    auto t0 = Clock::now();
    const Tokens toks = model.tokenize(text, true);
    st.prompt_tokens = (int64_t)toks.size();
    // Before the span boundaries, each of which tokenizes a prefix again: a text far beyond the context
    // (a 10 MB field) fails now instead of after one whole-text tokenization per boundary.
    if (toks.size() > model.n_ctx())
        fail(ErrorKind::Input, "the text has " + std::to_string(toks.size()) + " tokens, more than the context size of " +
                                   std::to_string(model.n_ctx()) + " tokens; raise the context size");
    // Token index at each span boundary: text[:offset] must tokenize to a prefix of the whole text.
    auto boundary = [&](uint32_t off, size_t span) -> int32_t {
        if (off > text.size()) fail(ErrorKind::Input, "span " + std::to_string(span) + " ends beyond the text");
        Tokens pre = model.tokenize(text.substr(0, off), true);
        if (pre.size() > toks.size() || !std::equal(pre.begin(), pre.end(), toks.begin()))
            fail(ErrorKind::Input, "span " + std::to_string(span) + ": offset " + std::to_string(off) +
                                       " is not a token boundary of the text's tokenization");
        return (int32_t)pre.size();
    };
    std::vector<std::pair<int32_t, int32_t>> tok_spans;
    std::vector<int32_t> need;
    for (size_t i = 0; i < spans.size(); ++i) {
        auto [s, e] = spans[i];
        if (s >= e) fail(ErrorKind::Input, "span " + std::to_string(i) + " is empty or reversed");
        const int32_t a = boundary(s, i), b = boundary(e, i);
        if (a < 1 || b <= a) fail(ErrorKind::Input, "span " + std::to_string(i) + " covers no token after the first");
        tok_spans.emplace_back(a, b);
        for (int32_t p = a - 1; p < b - 1; ++p) need.push_back(p);
    }
    std::sort(need.begin(), need.end());
    need.erase(std::unique(need.begin(), need.end()), need.end());
    st.ms_tokenize = ms_since(t0);
    std::vector<double> tok_logp(toks.size(), 0.0);
    std::vector<double> lse;
    eval_prefix(model, toks, need, true, st, [&](const std::vector<std::pair<int32_t, int32_t>> &outs) {
        std::vector<int32_t> idx;
        for (auto &o : outs) idx.push_back(o.second);
        logsumexp_rows(model, idx, lse, st);
        for (size_t k = 0; k < outs.size(); ++k) {
            const int32_t pos = outs[k].first;
            tok_logp[pos + 1] = (double)model.logit(outs[k].second, toks[pos + 1]) - lse[k];
        }
    }, /*share=*/false);
    for (auto [a, b] : tok_spans) {
        double s = 0;
        for (int32_t p = a; p < b; ++p) s += tok_logp[p];
        out.logp.push_back(s);
        out.span_tokens.push_back(b - a);
    }
    return out;
}

Throughput measure_throughput(Model &model, int32_t n_tokens, bool all_logits, bool with_logsumexp, bool head) {
    if (n_tokens < 1 || (uint32_t)n_tokens > model.n_ctx())
        fail(ErrorKind::Input, "token count must be between 1 and the context size");
    HeadScope head_scope(model, head);
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> dist(0, model.n_vocab() - 1);
    Tokens toks(n_tokens);
    for (auto &t : toks) t = dist(rng);
    llama_memory_clear(memory_of(model), false);
    model.cached_prompt().clear();
    Throughput out;
    ScoreStats st;
    const int32_t nb = (int32_t)model.n_batch();
    Batch batch(nb, 1);
    std::vector<double> lse;
    for (int32_t start = 0; start < n_tokens; start += nb) {
        const int32_t end = std::min(n_tokens, start + nb);
        batch.clear();
        std::vector<int32_t> idx;
        for (int32_t p = start; p < end; ++p) {
            const bool want = all_logits || p == end - 1;
            if (want) idx.push_back(p - start);
            batch.add(toks[p], p, 0, 0, want);
        }
        auto t0 = Clock::now();
        model.decode(batch);
        out.ms_decode += ms_since(t0);
        out.decode_calls += 1;
        out.tokens += end - start;
        if (with_logsumexp) logsumexp_rows(model, idx, lse, st);
    }
    out.ms_logsumexp = st.ms_logsumexp;
    llama_memory_clear(memory_of(model), false);
    return out;
}

}  // namespace labor
