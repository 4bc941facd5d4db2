// Full-vocabulary log-sum-exp of one row of logits: the normaliser of every evaluated node.
// It is real work (a 32k-128k row per node), so it is vectorised where the CPU allows.
#pragma once
#include <cstddef>
#include <vector>

namespace labor {
// log(sum_i exp(x[i])) with a double result; accurate to ~1e-7 relative.
double logsumexp(const float *x, size_t n);
// Plain scalar reference (double exp), for tests of the vectorised path.
double logsumexp_reference(const float *x, size_t n);

// log(exp(a) + exp(b)) of two log-probs, exact when either is -inf.
double log_add(double a, double b);
// log of the sum of exp over log-probs (the titles' total): -inf when every one is -inf.
double log_sum(const std::vector<double> &logp);
}  // namespace labor
