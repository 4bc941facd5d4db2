// score_titles: one prompt, every title, in the mode the options ask for. The prompt is prepared
// once (prepared_prompt.h); each mode lives in the file of its concept.
#include "scorer.h"

#include "baseline_scoring.h"
#include "bounded_search.h"
#include "logsumexp.h"
#include "prepared_prompt.h"
#include "trie_run.h"

namespace labor {

TitleScores score_titles(Model &model, const TitleSet &set, const std::string &prompt, const ScoreOptions &opts) {
    TitleScores out;
    // The engine's modes use the fused head; the reference and sequential baselines keep llama.cpp's
    // own logits, as other tools would.
    HeadScope head(model, opts.output_head && (opts.mode == ScoreMode::Trie || opts.mode == ScoreMode::Bounded));
    const detail::PreparedPrompt pp = detail::prepare_prompt(model, set, prompt, opts, out.stats);
    out.logp.assign(set.size(), 0.0);
    switch (opts.mode) {
        case ScoreMode::Bounded:
            detail::score_bounded(model, set, pp, opts, out);  // its total is an interval
            return out;
        case ScoreMode::Trie: detail::score_trie(model, pp, opts, out); break;
        case ScoreMode::Sequential: detail::score_sequential(model, pp, opts, out); break;
        case ScoreMode::Reference: detail::score_reference(model, pp, out); break;
    }
    out.log_total = log_sum(out.logp);
    out.log_total_upper = out.log_total;
    out.stats.resolved_titles = (int64_t)set.size();
    return out;
}

}  // namespace labor
