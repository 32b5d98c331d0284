/**
 * `lilnet eval`: patient-level metrics of a predictions CSV (per patient or per image), with bootstrap
 * confidence intervals, strata, reader comparison, plots and data-quality warnings.
 */
import type { Command } from 'commander';
import { withPredictionOptions } from './prediction-options.ts';
import { evaluatePredictions } from '../../eval/evaluate.ts';
import { formatEvaluation } from '../../eval/format.ts';
import { parseEvaluationOptions, type EvaluationCliOptions } from '../../eval/options.ts';
import { readPredictions } from '../../eval/predictions.ts';
import { compareReadersFile } from '../../eval/readers.ts';
import { writeEvaluationPlots } from '../../eval/report-plots.ts';
import { evaluateStrata } from '../../eval/strata.ts';
import { moduleLogger } from '../../log.ts';

const log = moduleLogger('cli.eval');

interface EvalCommandOptions extends EvaluationCliOptions {
  strata?: string;
  readers?: string;
  plots?: string;
}

async function runEval(path: string, options: EvalCommandOptions): Promise<void> {
  const parsed = parseEvaluationOptions(options);
  const set = readPredictions(path, {
    task: parsed.task,
    classNames: parsed.classNames,
    aggregation: parsed.aggregation,
  });
  log.info({ file: path, patients: set.patients.length, format: set.format }, 'evaluating predictions');
  const report = evaluatePredictions(set, parsed.evaluate);
  const strata = options.strata ? evaluateStrata(set, options.strata, parsed.evaluate) : undefined;
  const readers = options.readers ? compareReadersFile(options.readers, set, parsed.evaluate) : undefined;
  const plots = options.plots ? await writeEvaluationPlots(report, options.plots, readers) : undefined;
  if (plots) log.info({ files: plots }, 'plots written');

  if (options.json) {
    const document = {
      ...report,
      ...(strata ? { strata } : {}),
      ...(readers ? { readers } : {}),
      ...(plots ? { plots } : {}),
    };
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatEvaluation(report, strata, readers));
  if (plots) process.stdout.write(`\nplots: ${plots.join(', ')}\n`);
}

export function registerEvalCommand(program: Command): void {
  const command = program
    .command('eval')
    .description('patient-level metrics, confidence intervals and warnings for a predictions CSV')
    .argument(
      '<predictions>',
      'CSV per patient (patient, logit_0..., pred_label, label) or per image (patient, image, phase, logit_0..., label)',
    );
  withPredictionOptions(command)
    .option('--bootstrap <count>', 'patient-level bootstrap resamples for 95% intervals (0: none)', '0')
    .option('--seed <seed>', 'seed of the bootstrap resampling', '1')
    .option(
      '--strata <column>',
      'also report per value of this column (cohort, size_band from lesion_size_mm, phases)',
    )
    .option('--readers <csv>', 'reader answers (patient, reader, answer) to compare with the AI')
    .option('--plots <dir>', 'write ROC and confusion-matrix plots (SVG and PNG) into this folder')
    .option('--json', 'print one JSON document')
    .action(runEval);
}
