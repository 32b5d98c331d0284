/** The list of `lilnet` subcommands. Add one import and one call per command file. */
import type { Command } from 'commander';
import { registerCompareCommand } from './compare.ts';
import { registerEvalCommand } from './eval.ts';
import { registerEvalDetectionCommand } from './eval-detection.ts';

export function registerCommands(program: Command): void {
  void program;
  registerEvalCommand(program);
  registerCompareCommand(program);
  registerEvalDetectionCommand(program);
}
