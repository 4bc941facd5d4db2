// The two baselines the engine is measured and tested against, scoring each title on its own as
// other tools do, always with llama.cpp's logits:
//   sequential  the prompt evaluated once (through the prompt cache), then each title's tokens in
//               a decode of their own after it;
//   reference   every title from an empty cache, prompt and title in one fresh evaluation (the
//               slowest and simplest: the tests' ground truth).
#pragma once
#include "prepared_prompt.h"
#include "scorer.h"

namespace labor::detail {

void score_sequential(Model &m, const PreparedPrompt &pp, const ScoreOptions &opts, TitleScores &out);
// Leaves the prompt cache empty: the cells hold the last title, not a shareable prompt.
void score_reference(Model &m, const PreparedPrompt &pp, TitleScores &out);

}  // namespace labor::detail
