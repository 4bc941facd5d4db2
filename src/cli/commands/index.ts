/**
 * Every top-level CLI command. Each module exports a yargs CommandModule; add one line per command.
 */
import type { CommandModule } from 'yargs';

export const commands: CommandModule<object, any>[] = [];
