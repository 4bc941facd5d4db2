/**
 * Every top-level CLI command. Each module exports a yargs CommandModule; add one line per command.
 */
import type { CommandModule } from 'yargs';
import { modelCommand } from './model.js';
import { dataCommand } from './data.js';
import { scoreCommand } from './score.js';
import { finetuneCommand } from './finetune.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command types its own arguments
export const commands: CommandModule<any, any>[] = [
  modelCommand,
  dataCommand,
  scoreCommand,
  finetuneCommand,
];
