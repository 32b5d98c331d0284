/**
 * `lilnet compare`: DeLong's test of the AUCs and McNemar's test of the accuracies of two models on the same
 * patients, or with `--unpaired` the tests for independent samples.
 */
import type { Command } from 'commander';
import { withPredictionOptions } from './prediction-options.ts';
import { compareUnpaired } from '../../eval/compare-unpaired.ts';
import { comparePredictions } from '../../eval/compare.ts';
import { formatComparison, formatUnpairedComparison } from '../../eval/format.ts';
import { parseEvaluationOptions, type EvaluationCliOptions } from '../../eval/options.ts';
import { readPredictions } from '../../eval/predictions.ts';

interface CompareCommandOptions extends EvaluationCliOptions {
  unpaired?: boolean;
}

async function runCompare(pathA: string, pathB: string, options: CompareCommandOptions): Promise<void> {
  const parsed = parseEvaluationOptions(options);
  const a = readPredictions(pathA, {
    task: parsed.task,
    classNames: parsed.classNames,
    aggregation: parsed.aggregation,
  });
  const b = readPredictions(pathB, {
    task: parsed.task,
    classNames: parsed.classNames,
    aggregation: parsed.aggregation,
  });
  if (options.unpaired) {
    const report = compareUnpaired(a, b, parsed.evaluate);
    process.stdout.write(
      options.json ? `${JSON.stringify(report, null, 2)}\n` : formatUnpairedComparison(report),
    );
    return;
  }
  const report = comparePredictions(a, b, parsed.evaluate);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatComparison(report));
}

export function registerCompareCommand(program: Command): void {
  const command = program
    .command('compare')
    .description("compare two models on the same patients: DeLong's test per class and McNemar's test")
    .argument('<a>', 'predictions CSV of model A')
    .argument('<b>', 'predictions CSV of model B, same patients and labels');
  withPredictionOptions(command)
    .option(
      '--bootstrap <count>',
      'paired bootstrap resamples for intervals of the differences (0: none)',
      '0',
    )
    .option('--seed <seed>', 'seed of the bootstrap resampling', '1')
    .option('--unpaired', 'treat the two files as different patients: tests for independent samples')
    .option('--json', 'print one JSON document')
    .action(runCompare);
}
