/**
 * Results per stratum: patients grouped by the value of one column of the predictions file (a cohort or centre,
 * a lesion-size band, a phase set). Two strata can be derived when the file has no column of that name:
 * `size_band` from a numeric `lesion_size_mm` column, and `phases` (per-image input) from the phases of each
 * patient's images.
 */
import { LilnetError } from '../errors.ts';
import { evaluatePatients, type EvaluateOptions, type MetricReport } from './evaluate.ts';
import type { PatientPrediction, PredictionSet } from './predictions.ts';

export const MISSING_STRATUM = '(missing)';

export interface StratumReport extends Omit<MetricReport, 'roc_curves'> {
  value: string;
}

export interface StrataReport {
  column: string;
  groups: StratumReport[];
}

/**
 * Returns the lesion-size band of a diameter in millimetres, with the bands of the LiLNet study: under 1 cm,
 * 1 to 3 cm, 3 to 5 cm, 5 cm and more. Each band includes its lower bound.
 */
export function sizeBand(diameterMm: number): string {
  if (diameterMm < 10) return '< 1 cm';
  if (diameterMm < 30) return '1-3 cm';
  if (diameterMm < 50) return '3-5 cm';
  return '>= 5 cm';
}

const SIZE_BAND_ORDER = ['< 1 cm', '1-3 cm', '3-5 cm', '>= 5 cm'];

function stratumValue(
  patient: PatientPrediction,
  column: string,
  derivedSizeBand: boolean,
  source: string,
): string {
  if (!derivedSizeBand) {
    const value = patient.attributes[column];
    return value === undefined || value === '' ? MISSING_STRATUM : value;
  }
  const text = patient.attributes.lesion_size_mm;
  if (text === undefined || text === '') return MISSING_STRATUM;
  const diameterMm = Number(text);
  if (!Number.isFinite(diameterMm) || diameterMm < 0 || !/^[0-9.eE+-]+$/.test(text)) {
    throw new LilnetError(
      'EVAL_VALUE_INVALID',
      `${source}, line ${patient.line}, column lesion_size_mm: "${text}" is not a diameter in millimetres`,
      {
        hint: 'write the lesion diameter as a non-negative number of millimetres, or leave the cell empty',
        file: source,
      },
    );
  }
  return sizeBand(diameterMm);
}

function compareStrata(a: string, b: string): number {
  if (a === MISSING_STRATUM) return 1;
  if (b === MISSING_STRATUM) return -1;
  const bandA = SIZE_BAND_ORDER.indexOf(a);
  const bandB = SIZE_BAND_ORDER.indexOf(b);
  if (bandA >= 0 && bandB >= 0) return bandA - bandB;
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Evaluates every stratum of `column`; raises when the column is absent or varies within a patient. */
export function evaluateStrata(set: PredictionSet, column: string, options: EvaluateOptions): StrataReport {
  if (set.varyingAttributes.includes(column)) {
    throw new LilnetError(
      'EVAL_VALUE_INVALID',
      `${set.source}: column ${column} differs between the images of one patient, so it cannot define patient strata`,
      {
        hint: 'give every image of a patient the same value in the stratum column',
        file: set.source,
      },
    );
  }
  const hasColumn = set.patients.some((patient) => column in patient.attributes);
  const derivedSizeBand =
    !hasColumn &&
    column === 'size_band' &&
    set.patients.some((patient) => 'lesion_size_mm' in patient.attributes);
  if (!hasColumn && !derivedSizeBand) {
    const available = [...new Set(set.patients.flatMap((patient) => Object.keys(patient.attributes)))];
    throw new LilnetError('EVAL_COLUMNS_INVALID', `${set.source} has no column "${column}" to stratify by`, {
      hint:
        available.length > 0
          ? `columns available for strata: ${available.join(', ')}`
          : "add a column that names each patient's stratum (for example cohort)",
      file: set.source,
    });
  }

  const groups = new Map<string, PatientPrediction[]>();
  for (const patient of set.patients) {
    const value = stratumValue(patient, column, derivedSizeBand, set.source);
    const list = groups.get(value) ?? [];
    list.push(patient);
    groups.set(value, list);
  }

  const reports: StratumReport[] = [];
  for (const value of [...groups.keys()].sort(compareStrata)) {
    const { roc_curves: _curves, ...metrics } = evaluatePatients(
      groups.get(value) as PatientPrediction[],
      set,
      options,
    );
    void _curves;
    reports.push({ value, ...metrics });
  }
  return { column, groups: reports };
}
