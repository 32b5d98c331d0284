/** Parsing of the evaluation command-line options shared by `lilnet eval` and `lilnet compare`. */
import { LilnetError } from '../errors.ts';
import { AGGREGATIONS, type Aggregation } from './aggregate.ts';
import {
  AUC_SCORES,
  LABEL_SOURCES,
  type AucScore,
  type EvaluateOptions,
  type LabelSource,
} from './evaluate.ts';
import { TASK_NAMES } from './tasks.ts';

export interface EvaluationCliOptions {
  task?: string;
  classes?: string;
  aucScore: string;
  labelSource: string;
  aggregate: string;
  bootstrap: string;
  seed: string;
  json?: boolean;
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new LilnetError('INVALID_ARGUMENT', `${option} "${value}" is not valid`, {
      hint: `use one of ${allowed.join(', ')}`,
    });
  }
  return value as T;
}

function integerOption(option: string, value: string, maximum: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > maximum) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `${option} "${value}" is not a whole number from 0 to ${maximum}`,
      {
        hint:
          option === '--bootstrap'
            ? 'for example --bootstrap 2000 (0 turns the bootstrap off)'
            : 'for example --seed 42',
      },
    );
  }
  return Number(value);
}

/**
 * Largest bootstrap resample count accepted, so that a mistyped count cannot run for hours: 10,000 resamples of
 * 1,360 patients took about 2 s on a loaded 2-core machine (bench/eval-bootstrap.bench.ts).
 */
export const MAX_BOOTSTRAP_RESAMPLES = 100_000;

export function parseEvaluationOptions(options: EvaluationCliOptions): {
  evaluate: EvaluateOptions;
  task?: string;
  classNames?: string[];
  aggregation: Aggregation;
} {
  if (options.task !== undefined) oneOf('--task', options.task, TASK_NAMES);
  const aucScore = oneOf<AucScore>('--auc-score', options.aucScore, AUC_SCORES);
  const labelSource = oneOf<LabelSource>('--label-source', options.labelSource, LABEL_SOURCES);
  const aggregation = oneOf<Aggregation>('--aggregate', options.aggregate, AGGREGATIONS);
  const resamples = integerOption('--bootstrap', options.bootstrap, MAX_BOOTSTRAP_RESAMPLES);
  const seed = integerOption('--seed', options.seed, 0xffffffff);
  return {
    evaluate: { aucScore, labelSource, ...(resamples > 0 ? { bootstrap: { resamples, seed } } : {}) },
    task: options.task,
    classNames: options.classes?.split(',').map((name) => name.trim()),
    aggregation,
  };
}
