/** Cluster evaluations on Slurm: submit a shard array and its merge, watch it, resume it. */
export { arrayScript, mergeScript, shellQuote, type SlurmResources } from './script.js';
export { readRun, runLayout, type RunLayout, type SlurmRun, type Submission } from './run-dir.js';
export { defaultLauncher, planSlurmEval, submitSlurmEval, type SlurmEvalOptions, type SlurmEvalPlan } from './submit.js';
export { readShardProgress, type ShardProgress } from './shard-progress.js';
export { slurmStatus, type ShardStatus, type SlurmStatus } from './status.js';
export { resumeSlurmEval, type ResumeResult } from './resume.js';
export { jobStates, type JobState as SlurmJobState } from './tools.js';
