#include "trie_run.h"

#include <algorithm>
#include <functional>

#include "errors.h"
#include "timed_decode.h"

namespace labor::detail {
namespace {

TrieStep make_chunk(const TitleTrie &trie, const std::vector<int32_t> &units, int32_t pos_base) {
    TrieStep it;
    it.kind = TrieStep::Kind::Chunk;
    it.pos = pos_base;
    int32_t next = 0;
    std::function<void(int32_t)> add = [&](int32_t n) {
        const TitleTrie::Node &nn = trie.node(n);
        const int32_t lo = next;
        it.nodes.push_back(n);
        it.seqs.emplace_back(lo, lo + nn.branch_ends_below - 1);
        bool has_internal_child = false;
        for (int32_t c : nn.children)
            if (trie.node(c).internal()) {
                has_internal_child = true;
                add(c);
            }
        if (!has_internal_child) ++next;
    };
    for (int32_t u : units) add(u);
    it.ends = next;
    return it;
}

}  // namespace

void plan_trie(const TitleTrie &trie, int32_t P, int32_t v, int32_t max_tokens, int32_t n_ctx, int32_t max_seqs,
               std::vector<TrieStep> &steps) {
    const TitleTrie::Node &nv = trie.node(v);
    const int32_t pos_base = P + nv.depth;  // position of v's children
    const int32_t tok_limit = std::min<int32_t>(max_tokens, n_ctx - pos_base);
    if (tok_limit < 1) fail(ErrorKind::Input, "the prompt and the longest title do not fit the context; raise the context size");
    std::vector<int32_t> units;
    int32_t nodes = 0, ends = 0;
    auto flush = [&] {
        if (units.empty()) return;
        steps.push_back(make_chunk(trie, units, pos_base));
        units.clear();
        nodes = ends = 0;
    };
    for (int32_t c : nv.children) {
        const TitleTrie::Node &nc = trie.node(c);
        if (!nc.internal()) continue;
        if (nc.internal_below > tok_limit || nc.branch_ends_below > max_seqs) {
            // Too big for one chunk: c alone, visible to every sequence, then its children chunk by
            // chunk, then c's cell dropped before c's siblings come.
            flush();
            TrieStep solo;
            solo.kind = TrieStep::Kind::Solo;
            solo.nodes = {c};
            solo.seqs = {{0, max_seqs - 1}};
            steps.push_back(std::move(solo));
            plan_trie(trie, P, c, max_tokens, n_ctx, max_seqs, steps);
            TrieStep drop;
            drop.kind = TrieStep::Kind::Drop;
            drop.pos = P + nc.depth - 1;
            steps.push_back(std::move(drop));
            continue;
        }
        if (nodes + nc.internal_below > tok_limit || ends + nc.branch_ends_below > max_seqs) flush();
        units.push_back(c);
        nodes += nc.internal_below;
        ends += nc.branch_ends_below;
    }
    flush();
}

void titles_from_conditionals(const TitleTrie &trie, const std::vector<double> &cond, std::vector<double> &title_logp) {
    std::vector<double> acc(trie.nodes().size(), 0.0);
    for (size_t i = 1; i < trie.nodes().size(); ++i) {
        const auto &n = trie.node((int32_t)i);
        acc[i] = acc[n.parent] + cond[i];
        if (n.title >= 0) title_logp[n.title] = acc[i];
    }
}

void run_trie(Model &m, const TitleTrie &trie, int32_t P, const RootRow &root, bool shared_sequence, ScoreStats &st,
              std::vector<double> &title_logp) {
    std::vector<double> cond(trie.nodes().size(), 0.0);
    for (int32_t c : trie.node(0).children) cond[c] = (double)root.logits[trie.node(c).token] - root.lse;
    std::vector<TrieStep> steps;
    plan_trie(trie, P, 0, (int32_t)m.n_batch(), (int32_t)m.n_ctx(), Model::kMaxSeq, steps);

    llama_memory_t mem = memory_of(m);
    Batch batch((int32_t)m.n_batch(), Model::kMaxSeq);
    std::vector<int32_t> order, idx;
    std::vector<double> lse;
    for (const TrieStep &s : steps) {
        if (s.kind == TrieStep::Kind::Drop) {
            llama_memory_seq_rm(mem, -1, s.pos, -1);
            continue;
        }
        batch.clear();
        order = s.nodes;
        if (shared_sequence && s.kind == TrieStep::Kind::Chunk) {
            // One sequence for all: positions must not decrease in batch order, so go level by level.
            std::stable_sort(order.begin(), order.end(),
                             [&](int32_t a, int32_t b) { return trie.node(a).depth < trie.node(b).depth; });
            for (int32_t n : order) batch.add(trie.node(n).token, P + trie.node(n).depth - 1, 0, 0, true);
        } else {
            for (size_t k = 0; k < order.size(); ++k) {
                const TitleTrie::Node &nn = trie.node(order[k]);
                batch.add(nn.token, P + nn.depth - 1, s.seqs[k].first, s.seqs[k].second, true);
            }
        }
        decode_counted(m, batch, st);
        idx.resize(order.size());
        for (size_t k = 0; k < order.size(); ++k) idx[k] = (int32_t)k;
        logsumexp_rows(m, idx, lse, st);
        for (size_t k = 0; k < order.size(); ++k)
            for (int32_t c : trie.node(order[k]).children) cond[c] = (double)m.logit((int32_t)k, trie.node(c).token) - lse[k];
        if (s.kind == TrieStep::Kind::Chunk) llama_memory_seq_rm(mem, -1, s.pos, -1);
    }
    titles_from_conditionals(trie, cond, title_logp);
    st.evaluated_nodes += trie.internal_count();
}

void score_trie(Model &m, const PreparedPrompt &pp, const ScoreOptions &opts, TitleScores &out) {
    // A trie of one-token titles (a vocabulary with a token per title) is scored from the root row
    // alone: no sequence but 0 is read, so the prompt is not copied to the 255 others (each copy
    // walks every KV cell). The prompt cache remembers that they lag; a later call copies then.
    const bool share = pp.trie->internal_count() > 0;
    const RootRow root = eval_prompt(m, pp.tokens, opts.reuse_prefix, out.stats, share);
    run_trie(m, *pp.trie, pp.size(), root, opts.unsafe_shared_sequence, out.stats, out.logp);
}

}  // namespace labor::detail
