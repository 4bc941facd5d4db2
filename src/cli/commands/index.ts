/**
 * Every top-level CLI command. Each module exports a yargs CommandModule; add one line per command.
 */
import type { CommandModule } from 'yargs';
import { modelCommand } from './model.js';
import { dataCommand } from './data.js';

export const commands: CommandModule<object, any>[] = [
  modelCommand,
  dataCommand,
];
