/** Training and validation patients of a run, from the authors' layout. */
import { existsSync } from 'node:fs';
import { LilnetError } from '../errors.ts';
import {
  assertDisjointPatients,
  readAuthorsSplit,
  splitCsvPath,
  type CropPhase,
  type PatientEntry,
} from '../data/authors-dataset.ts';
import { TASKS, type TaskName } from '../data/lesions.ts';
import { Rng, hashSeed } from '../data/rng.ts';

export interface RunData {
  train: PatientEntry[];
  validation: PatientEntry[];
  /** Source of the validation patients: a CSV file or a share of the training CSV. */
  validationSource: string;
}

/** Moves a share of each class's patients, chosen by a seeded shuffle, into validation. */
export function holdOutPatients(
  patients: readonly PatientEntry[],
  fraction: number,
  seed: number,
): { train: PatientEntry[]; validation: PatientEntry[] } {
  const byLabel = new Map<number, PatientEntry[]>();
  for (const patient of patients)
    byLabel.set(patient.label, [...(byLabel.get(patient.label) ?? []), patient]);
  const held = new Set<string>();
  for (const [label, list] of [...byLabel].sort((a, b) => a[0] - b[0])) {
    const order = new Rng(hashSeed(seed, 0x4a1d, label)).shuffle([...list]);
    let count = Math.round(order.length * fraction);
    if (fraction > 0 && count === 0 && order.length >= 2) count = 1;
    for (const patient of order.slice(0, count)) held.add(patient.id);
  }
  return {
    train: patients.filter((p) => !held.has(p.id)),
    validation: patients.filter((p) => held.has(p.id)),
  };
}

export interface RunDataOptions {
  root: string;
  task: TaskName;
  phases: readonly CropPhase[];
  trainCsv?: string;
  /** Validation CSV; default `<stem>_test.csv` when present, else `validationFraction` of the training patients. */
  validationCsv?: string;
  validationFraction: number;
  seed: number;
  /** Patients listed without crops of the selected phases: an error (default) or skipped with a warning. */
  missingPatients?: 'error' | 'skip';
}

export async function loadRunData(options: RunDataOptions): Promise<RunData> {
  const trainCsv = options.trainCsv ?? splitCsvPath(options.root, options.task, 'train');
  const listed = await readAuthorsSplit(options.root, trainCsv, {
    task: options.task,
    phases: options.phases,
    missingPatients: options.missingPatients,
  });
  let data: RunData;
  const defaultValidation = splitCsvPath(options.root, options.task, 'test');
  const validationCsv =
    options.validationCsv ?? (existsSync(defaultValidation) ? defaultValidation : undefined);
  if (validationCsv) {
    const validation = await readAuthorsSplit(options.root, validationCsv, {
      task: options.task,
      phases: options.phases,
      missingPatients: options.missingPatients,
    });
    data = { train: listed, validation, validationSource: validationCsv };
  } else {
    const split = holdOutPatients(listed, options.validationFraction, options.seed);
    data = { ...split, validationSource: `${Math.round(options.validationFraction * 100)}% of ${trainCsv}` };
  }
  assertDisjointPatients({ train: data.train, validation: data.validation });
  const classes = new Set(data.train.map((p) => p.label));
  if (classes.size < 2) {
    throw new LilnetError(
      'DATASET_INVALID',
      `the training patients of ${trainCsv} cover ${classes.size} class(es) of task ${options.task}`,
      {
        hint: `training needs patients of at least two of ${TASKS[options.task].classCodes.join(', ')}`,
        file: trainCsv,
      },
    );
  }
  return data;
}
