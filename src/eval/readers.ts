/**
 * Reader comparison: radiologists' answers against the AI on the same patients, as in a reader study.
 *
 * Reader CSV layout, one row per patient and reader: `patient`, `reader`, `answer` (a class index or class label
 * of the task); other columns are ignored. The reference labels and the AI's predictions come from the
 * predictions file; each reader is compared with the AI on the patients that reader answered.
 */
import { LilnetError } from '../errors.ts';
import { bootstrapIntervals } from './bootstrap.ts';
import { rejectRepeatedPatients } from './compare.ts';
import { predictedClass, type EvaluateOptions, type Interval } from './evaluate.ts';
import { readCsvFile, type CsvTable } from './csv.ts';
import { computeMetrics, prepareMetricData } from './metrics.ts';
import { mcnemarReport, mcnemarTest, type McNemarReport } from './mcnemar.ts';
import type { PatientPrediction, PredictionSet } from './predictions.ts';
import { parseClassCell } from './tasks.ts';
import { listSome, type EvalWarning } from './warnings.ts';

export interface ReaderAnswer {
  patient: string;
  reader: string;
  answer: number;
  line: number;
}

export interface ReaderReport {
  reader: string;
  patients: number;
  accuracy: number;
  /** The AI's accuracy on the same patients. */
  ai_accuracy: number;
  recall_weighted: number;
  precision_weighted: number;
  f1_weighted: number;
  sensitivity?: number | null;
  specificity?: number | null;
  confusion_matrix: number[][];
  /** McNemar's test, A = the AI, B = the reader. */
  mcnemar: McNemarReport;
  ci95?: { accuracy: Interval | null; ai_accuracy: Interval | null };
}

export interface ReaderComparison {
  source: string;
  readers: ReaderReport[];
  warnings: EvalWarning[];
}

/** Parses a reader table; raises on missing columns, unknown answers and repeated patient-reader pairs. */
export function readerAnswersFromTable(table: CsvTable, set: PredictionSet): ReaderAnswer[] {
  const column = (name: string): number => {
    const index = table.header.indexOf(name);
    if (index < 0) {
      throw new LilnetError(
        'EVAL_COLUMNS_INVALID',
        `${table.source}: no "${name}" column (header: ${table.header.join(', ')})`,
        {
          hint: 'a reader file has the columns patient, reader, answer, with one row per patient and reader',
          file: table.source,
        },
      );
    }
    return index;
  };
  const patientColumn = column('patient');
  const readerColumn = column('reader');
  const answerColumn = column('answer');
  const seen = new Map<string, number>();
  const answers: ReaderAnswer[] = [];
  for (let row = 0; row < table.rows.length; row += 1) {
    const line = table.lineNumbers[row];
    const patient = table.rows[row][patientColumn];
    const reader = table.rows[row][readerColumn];
    if (patient === '' || reader === '') {
      throw new LilnetError(
        'EVAL_VALUE_INVALID',
        `${table.source}, line ${line}: the ${patient === '' ? 'patient' : 'reader'} cell is empty`,
        {
          hint: 'give every row a patient identifier and a reader name',
          file: table.source,
        },
      );
    }
    const text = table.rows[row][answerColumn];
    const answer = parseClassCell(text, set.task);
    if (answer === undefined) {
      throw new LilnetError(
        'EVAL_VALUE_INVALID',
        `${table.source}, line ${line}, column answer: "${text}" is not a class of task ${set.task.name}`,
        {
          hint: `use a class index 0 to ${set.task.classes.length - 1} or a label (${set.task.classes.join(', ')})`,
          file: table.source,
        },
      );
    }
    const key = `${reader}\u0000${patient}`;
    const previous = seen.get(key);
    if (previous !== undefined) {
      throw new LilnetError(
        'EVAL_VALUE_INVALID',
        `${table.source}, line ${line}: reader ${reader} answers patient ${patient} again (first on line ${previous})`,
        {
          hint: 'keep one answer per patient and reader',
          file: table.source,
        },
      );
    }
    seen.set(key, line);
    answers.push({ patient, reader, answer, line });
  }
  if (answers.length === 0) {
    throw new LilnetError('EVAL_VALUE_INVALID', `${table.source} has a header but no answers`, {
      hint: 'add one row per patient and reader',
      file: table.source,
    });
  }
  return answers;
}

function compareReader(
  reader: string,
  answers: readonly ReaderAnswer[],
  byPatient: ReadonlyMap<string, PatientPrediction>,
  set: PredictionSet,
  options: EvaluateOptions,
): ReaderReport {
  const patients = answers.map((answer) => byPatient.get(answer.patient) as PatientPrediction);
  const labels = patients.map((patient) => patient.label);
  const readerPredictions = answers.map((answer) => answer.answer);
  const aiPredictions = patients.map((patient) =>
    predictedClass(patient, options.labelSource, set.source, set.format),
  );
  const classCount = set.task.classes.length;
  // Reader answers carry no scores; a constant score column keeps the AUC out of the way (it is not reported).
  const constantScores = patients.map(() => new Array<number>(classCount).fill(0));
  const readerData = prepareMetricData(labels, readerPredictions, constantScores, classCount);
  const aiData = prepareMetricData(labels, aiPredictions, constantScores, classCount);
  const readerMetrics = computeMetrics(readerData);
  const aiMetrics = computeMetrics(aiData);

  const report: ReaderReport = {
    reader,
    patients: patients.length,
    accuracy: readerMetrics.accuracy,
    ai_accuracy: aiMetrics.accuracy,
    recall_weighted: readerMetrics.recallWeighted,
    precision_weighted: readerMetrics.precisionWeighted,
    f1_weighted: readerMetrics.f1Weighted,
    confusion_matrix: readerMetrics.confusionMatrix,
    mcnemar: mcnemarReport(
      mcnemarTest(
        aiPredictions.map((prediction, i) => prediction === labels[i]),
        readerPredictions.map((prediction, i) => prediction === labels[i]),
      ),
    ),
  };
  if (readerMetrics.binary) {
    report.sensitivity = readerMetrics.binary.sensitivity;
    report.specificity = readerMetrics.binary.specificity;
  }
  const bootstrap = options.bootstrap;
  if (bootstrap && bootstrap.resamples > 0) {
    const intervals = bootstrapIntervals(
      patients.length,
      bootstrap,
      (weights) =>
        new Map([
          ['accuracy', computeMetrics(readerData, weights).accuracy],
          ['ai_accuracy', computeMetrics(aiData, weights).accuracy],
        ]),
    );
    const interval = (name: string): Interval | null => {
      const found = intervals.get(name);
      return found ? [found.lower, found.upper] : null;
    };
    report.ci95 = { accuracy: interval('accuracy'), ai_accuracy: interval('ai_accuracy') };
  }
  return report;
}

/** Compares every reader of a reader table with the AI predictions of `set`. */
export function compareReaders(
  table: CsvTable,
  set: PredictionSet,
  options: EvaluateOptions,
): ReaderComparison {
  const answers = readerAnswersFromTable(table, set);
  rejectRepeatedPatients(set);
  const byPatient = new Map(set.patients.map((patient) => [patient.patient, patient]));
  const unknown = [
    ...new Set(answers.filter((answer) => !byPatient.has(answer.patient)).map((answer) => answer.patient)),
  ];
  const warnings: EvalWarning[] = [];
  if (unknown.length > 0) {
    warnings.push({
      kind: 'reader-coverage',
      message: `${unknown.length} patient(s) of ${table.source} are not in the predictions (or were left out for non-finite scores) and are not compared: ${listSome(unknown)}.`,
      patients: unknown,
    });
  }
  const byReader = new Map<string, ReaderAnswer[]>();
  for (const answer of answers) {
    if (!byPatient.has(answer.patient)) continue;
    const list = byReader.get(answer.reader) ?? [];
    list.push(answer);
    byReader.set(answer.reader, list);
  }
  if (byReader.size === 0) {
    throw new LilnetError(
      'EVAL_INPUTS_MISMATCHED',
      `no patient of ${table.source} is in the predictions of ${set.source}`,
      {
        hint: 'use the same patient identifiers in the reader file and the predictions file',
        file: table.source,
      },
    );
  }
  const readers = [...byReader].map(([reader, list]) => compareReader(reader, list, byPatient, set, options));
  return { source: table.source, readers, warnings };
}

/** Reads a reader CSV file and compares it with the AI predictions. */
export function compareReadersFile(
  path: string,
  set: PredictionSet,
  options: EvaluateOptions,
): ReaderComparison {
  return compareReaders(readCsvFile(path), set, options);
}
