/**
 * Reads model predictions for evaluation. Two CSV layouts are accepted, distinguished by their header:
 *
 * - per patient: `patient`, `logit_0` ... `logit_{K-1}`, optional `pred_label`, `label`, any extra columns;
 * - per image: `patient`, `image`, `phase`, `logit_0` ... `logit_{K-1}`, `label`, any extra columns. The images
 *   of a patient are averaged into one score row (see aggregate.ts).
 *
 * Extra columns become patient attributes that strata can group by. Labels and recorded predictions are class
 * indices or class labels of the task. Non-numeric scores are errors; non-finite scores (NaN, Infinity) are
 * reported as warnings and the affected rows are left out.
 */
import { LilnetError } from '../errors.ts';
import { aggregateImages, type Aggregation } from './aggregate.ts';
import { readCsvFile, type CsvTable } from './csv.ts';
import { parseClassCell, resolveTask, type TaskDefinition } from './tasks.ts';
import { listSome, type EvalWarning } from './warnings.ts';

export type PredictionFormat = 'per-patient' | 'per-image';
export type ScoreKind = 'logits' | 'probabilities';

export interface PatientPrediction {
  patient: string;
  /** One score per class: the patient's logits, or mean probabilities after `mean-probabilities` aggregation. */
  scores: number[];
  /** The predicted class as recorded in the file (`pred_label`), when the file has one. */
  recordedPrediction: number | undefined;
  /** The reference diagnosis as a class index. */
  label: number;
  /** Values of the extra columns; a column whose value differs between a patient's images is left out. */
  attributes: Record<string, string>;
  /** The file line of the patient's (first) row. */
  line: number;
  /** Number of images averaged, for per-image input. */
  imageCount?: number;
}

export interface PredictionSet {
  source: string;
  format: PredictionFormat;
  task: TaskDefinition;
  /** Kind of values in `PatientPrediction.scores`. */
  scoreKind: ScoreKind;
  /** The aggregation used, for per-image input. */
  aggregation?: Aggregation;
  patients: PatientPrediction[];
  /** Whether the file has a `pred_label` column. */
  hasRecordedPredictions: boolean;
  /** Extra columns whose values differ between the images of a patient (per-image input only). */
  varyingAttributes: string[];
  warnings: EvalWarning[];
}

export interface ReadPredictionsOptions {
  task?: string;
  /** Class names in column order, for files of no built-in task (such as a six-class reader study). */
  classNames?: string[];
  aggregation?: Aggregation;
}

const PATIENT_COLUMNS = ['patient', 'ID'];
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Returns the layout of a table from its header alone. */
export function detectFormat(header: readonly string[]): PredictionFormat {
  return header.includes('image') ? 'per-image' : 'per-patient';
}

interface Columns {
  patient: number;
  scores: number[];
  label: number;
  recorded: number;
  image: number;
  phase: number;
  attributes: { name: string; index: number }[];
}

function locateColumns(table: CsvTable, format: PredictionFormat): Columns {
  const { header, source } = table;
  const fail = (message: string, hint: string): never => {
    throw new LilnetError('EVAL_COLUMNS_INVALID', `${source}: ${message}`, { hint, file: source });
  };
  const layoutHint =
    format === 'per-patient'
      ? 'a per-patient file has the columns patient, logit_0 ... logit_{K-1}, pred_label (optional), label'
      : 'a per-image file has the columns patient, image, phase, logit_0 ... logit_{K-1}, label';

  const patient = header.findIndex((name) => PATIENT_COLUMNS.includes(name));
  if (patient < 0) fail(`no "patient" column (header: ${header.join(', ')})`, layoutHint);
  const label = header.indexOf('label');
  if (label < 0)
    fail(`no "label" column with the reference diagnosis (header: ${header.join(', ')})`, layoutHint);

  const scoreNames = header.filter((name) => /^logit_\d+$/.test(name));
  if (scoreNames.length < 2) {
    fail(
      `found ${scoreNames.length} logit_<k> columns, at least 2 are needed (header: ${header.join(', ')})`,
      layoutHint,
    );
  }
  const scores: number[] = [];
  for (let k = 0; k < scoreNames.length; k += 1) {
    const index = header.indexOf(`logit_${k}`);
    if (index < 0)
      fail(`column logit_${k} is missing, but ${scoreNames.length} logit columns are present`, layoutHint);
    scores.push(index);
  }

  const image = header.indexOf('image');
  const phase = header.indexOf('phase');
  if (format === 'per-image' && phase < 0) fail('a per-image file needs a "phase" column', layoutHint);
  const recorded = header.indexOf('pred_label');
  const known = new Set([patient, label, recorded, image, phase, ...scores]);
  const attributes = header.map((name, index) => ({ name, index })).filter(({ index }) => !known.has(index));
  return { patient, scores, label, recorded, image, phase, attributes };
}

type ParsedScore = { kind: 'finite'; value: number } | { kind: 'non-finite' };

function parseScore(table: CsvTable, row: number, column: number): ParsedScore {
  const text = table.rows[row][column];
  if (DECIMAL.test(text)) {
    // A decimal beyond the float64 range, such as 1e309, parses to an infinity.
    const value = Number(text);
    return Number.isFinite(value) ? { kind: 'finite', value } : { kind: 'non-finite' };
  }
  if (NON_FINITE.test(text)) return { kind: 'non-finite' };
  const shown = text === '' ? 'an empty cell' : `"${text}"`;
  throw new LilnetError(
    'EVAL_VALUE_INVALID',
    `${table.source}, line ${table.lineNumbers[row]}, column ${table.header[column]}: ${shown} is not a number`,
    { hint: 'scores must be decimal numbers such as 12.5 or -0.031', file: table.source },
  );
}

function parseClass(table: CsvTable, row: number, column: number, task: TaskDefinition): number {
  const text = table.rows[row][column];
  const index = parseClassCell(text, task);
  if (index === undefined) {
    throw new LilnetError(
      'EVAL_VALUE_INVALID',
      `${table.source}, line ${table.lineNumbers[row]}, column ${table.header[column]}: ` +
        `"${text}" is not a class of task ${task.name}`,
      {
        hint: `use a class index 0 to ${task.classes.length - 1} or a label (${task.classes.join(', ')})`,
        file: table.source,
      },
    );
  }
  return index;
}

function parsePatientId(table: CsvTable, row: number, column: number): string {
  const id = table.rows[row][column];
  if (id === '') {
    throw new LilnetError(
      'EVAL_VALUE_INVALID',
      `${table.source}, line ${table.lineNumbers[row]}, column ${table.header[column]}: the patient identifier is empty`,
      { hint: 'give every row a patient identifier', file: table.source },
    );
  }
  return id;
}

/** Parses the score cells of one row; returns undefined when any of them is non-finite. */
function parseScoreRow(table: CsvTable, row: number, columns: Columns): number[] | undefined {
  const scores: number[] = [];
  let finite = true;
  for (const column of columns.scores) {
    const parsed = parseScore(table, row, column);
    if (parsed.kind === 'finite') scores.push(parsed.value);
    else finite = false;
  }
  return finite ? scores : undefined;
}

function readPerPatient(table: CsvTable, columns: Columns, task: TaskDefinition): PredictionSet {
  const warnings: EvalWarning[] = [];
  const patients: PatientPrediction[] = [];
  const nonFinite: string[] = [];
  const firstLine = new Map<string, number>();
  const duplicates: string[] = [];

  for (let row = 0; row < table.rows.length; row += 1) {
    const patient = parsePatientId(table, row, columns.patient);
    const label = parseClass(table, row, columns.label, task);
    const recordedPrediction =
      columns.recorded >= 0 ? parseClass(table, row, columns.recorded, task) : undefined;
    const scores = parseScoreRow(table, row, columns);
    if (firstLine.has(patient)) duplicates.push(patient);
    else firstLine.set(patient, table.lineNumbers[row]);
    if (scores === undefined) {
      nonFinite.push(patient);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const { name, index } of columns.attributes) attributes[name] = table.rows[row][index];
    patients.push({ patient, scores, recordedPrediction, label, attributes, line: table.lineNumbers[row] });
  }

  if (nonFinite.length > 0) {
    warnings.push({
      kind: 'non-finite-value',
      message:
        `${nonFinite.length} patient(s) have a non-finite score (NaN or infinity) and are left out of every ` +
        `metric: ${listSome(nonFinite)}.`,
      patients: nonFinite,
    });
  }
  if (duplicates.length > 0) {
    const unique = [...new Set(duplicates)];
    warnings.push({
      kind: 'duplicate-patient',
      message:
        `${unique.length} patient identifier(s) appear on more than one row: ${listSome(unique)}. Each row is ` +
        `scored as a separate case, so these patients weigh more than the others.`,
      patients: unique,
    });
  }
  return {
    source: table.source,
    format: 'per-patient',
    task,
    scoreKind: 'logits',
    patients,
    hasRecordedPredictions: columns.recorded >= 0,
    varyingAttributes: [],
    warnings,
  };
}

const PHASE_ORDER = ['NC', 'CT', 'AP', 'PVP', 'DP'];

/** Orders phase names as acquired (non-contrast, arterial, portal venous, delayed), then alphabetically. */
function comparePhases(a: string, b: string): number {
  const rankA = PHASE_ORDER.indexOf(a.toUpperCase());
  const rankB = PHASE_ORDER.indexOf(b.toUpperCase());
  if (rankA >= 0 && rankB >= 0) return rankA - rankB;
  if (rankA >= 0) return -1;
  if (rankB >= 0) return 1;
  return a.localeCompare(b);
}

interface ImageGroup {
  patient: string;
  label: number;
  line: number;
  logits: number[][];
  phases: Set<string>;
  attributes: Map<string, string>;
  varying: Set<string>;
}

function readPerImage(
  table: CsvTable,
  columns: Columns,
  task: TaskDefinition,
  aggregation: Aggregation,
): PredictionSet {
  const warnings: EvalWarning[] = [];
  const groups = new Map<string, ImageGroup>();
  const seenImages = new Set<string>();
  const duplicateImages: string[] = [];
  const nonFiniteImages: string[] = [];
  const varyingAttributes = new Set<string>();

  for (let row = 0; row < table.rows.length; row += 1) {
    const patient = parsePatientId(table, row, columns.patient);
    const label = parseClass(table, row, columns.label, task);
    const image = table.rows[row][columns.image];
    const phase = table.rows[row][columns.phase];
    const scores = parseScoreRow(table, row, columns);

    let group = groups.get(patient);
    if (group === undefined) {
      group = {
        patient,
        label,
        line: table.lineNumbers[row],
        logits: [],
        phases: new Set(),
        attributes: new Map(),
        varying: new Set(),
      };
      for (const { name, index } of columns.attributes) group.attributes.set(name, table.rows[row][index]);
      groups.set(patient, group);
    } else {
      if (group.label !== label) {
        throw new LilnetError(
          'EVAL_VALUE_INVALID',
          `${table.source}, line ${table.lineNumbers[row]}, column label: patient ${patient} has label ` +
            `${task.classes[label]} here but ${task.classes[group.label]} on line ${group.line}`,
          {
            hint: 'a patient has one reference diagnosis; correct the label of the inconsistent rows',
            file: table.source,
          },
        );
      }
      for (const { name, index } of columns.attributes) {
        if (group.attributes.get(name) !== table.rows[row][index]) {
          group.varying.add(name);
          varyingAttributes.add(name);
        }
      }
    }

    const key = `${patient}\u0000${image}\u0000${phase}`;
    if (seenImages.has(key)) duplicateImages.push(`${patient}/${phase}/${image}`);
    seenImages.add(key);
    if (scores === undefined) {
      nonFiniteImages.push(`${patient}/${phase}/${image}`);
      continue;
    }
    group.logits.push(scores);
    group.phases.add(phase);
  }

  const patients: PatientPrediction[] = [];
  const emptyPatients: string[] = [];
  for (const group of groups.values()) {
    if (group.logits.length === 0) {
      emptyPatients.push(group.patient);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const [name, value] of group.attributes) if (!group.varying.has(name)) attributes[name] = value;
    attributes.phases = [...group.phases].sort(comparePhases).join('+');
    patients.push({
      patient: group.patient,
      scores: aggregateImages(group.logits, aggregation),
      recordedPrediction: undefined,
      label: group.label,
      attributes,
      line: group.line,
      imageCount: group.logits.length,
    });
  }

  if (nonFiniteImages.length > 0) {
    const dropped =
      emptyPatients.length > 0
        ? ` ${emptyPatients.length} patient(s) had no finite image left and are left out: ${listSome(emptyPatients)}.`
        : '';
    warnings.push({
      kind: 'non-finite-value',
      message: `${nonFiniteImages.length} image(s) have a non-finite logit (NaN or infinity) and are left out of the patient means: ${listSome(nonFiniteImages)}.${dropped}`,
      patients: emptyPatients,
    });
  }
  if (duplicateImages.length > 0) {
    warnings.push({
      kind: 'duplicate-image',
      message: `${duplicateImages.length} row(s) repeat a patient, phase and image already seen: ${listSome(duplicateImages)}. Every row counts in the patient mean.`,
    });
  }
  return {
    source: table.source,
    format: 'per-image',
    task,
    scoreKind: aggregation === 'mean-logits' ? 'logits' : 'probabilities',
    aggregation,
    patients,
    hasRecordedPredictions: false,
    varyingAttributes: [...varyingAttributes],
    warnings,
  };
}

/** Builds a prediction set from a parsed CSV table of either layout. */
export function predictionsFromTable(table: CsvTable, options: ReadPredictionsOptions = {}): PredictionSet {
  const format = detectFormat(table.header);
  const columns = locateColumns(table, format);
  const task = resolveTask(options.task, columns.scores.length, table.source, options.classNames);
  if (table.rows.length === 0) {
    throw new LilnetError('EVAL_VALUE_INVALID', `${table.source} has a header but no data rows`, {
      hint: 'add one row per patient (or per image)',
      file: table.source,
    });
  }
  const set =
    format === 'per-patient'
      ? readPerPatient(table, columns, task)
      : readPerImage(table, columns, task, options.aggregation ?? 'mean-logits');
  if (set.patients.length === 0) {
    throw new LilnetError('EVAL_VALUE_INVALID', `${table.source}: no patient has finite scores`, {
      hint: 'check the logit columns for NaN or infinite values',
      file: table.source,
    });
  }
  return set;
}

/** Reads a prediction CSV file of either layout. */
export function readPredictions(path: string, options: ReadPredictionsOptions = {}): PredictionSet {
  return predictionsFromTable(readCsvFile(path), options);
}
