/**
 * Every top-level CLI command. Each module exports a yargs CommandModule; add one line per command.
 */
import type { CommandModule } from 'yargs';
import { modelCommand } from './model.js';
import { dataCommand } from './data.js';
import { scoreCommand } from './score.js';
import { finetuneCommand } from './finetune.js';
import { evalCommand } from './eval.js';
import { mergeCommand } from './merge.js';
import { reportCommand } from './report.js';
import { benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { careerCommand } from './career.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command types its own arguments
export const commands: CommandModule<any, any>[] = [
  modelCommand,
  dataCommand,
  scoreCommand,
  finetuneCommand,
  evalCommand,
  mergeCommand,
  reportCommand,
  benchCommand,
  demoCommand,
  careerCommand,
];
