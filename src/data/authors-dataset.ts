/**
 * Reader of the authors' classification layout:
 *
 *   <root>/<patient>/CT|AP|PVP/*.bmp|*.png|*.jpg   lesion crops per phase (CT is the non-contrast phase)
 *   <root>/BM_train.csv, BM_test.csv                ID,Cancer with good (benign) / bad (malignant)
 *   <root>/hcc_icc_met_train.csv, ..._test.csv      ID,Cancer with hcc / icc / met
 *   <root>/fnh_hem_cyst_train.csv, ..._test.csv     ID,Cancer with fnh / hem / cyst
 *   <root>/validation_<centre>.csv                  external sets, same columns
 *
 * Each crop of each selected phase is one sample carrying its patient's label. CSV files may be UTF-8 or GBK.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { decodeCsvBytes, parseSimpleCsv } from './csv-text.ts';
import { TASKS, type TaskName } from './lesions.ts';

const log = moduleLogger('data.authors');

/** Phase folders of the layout. `CT` contains the non-contrast crops. */
export type CropPhase = 'CT' | 'AP' | 'PVP';
export const CROP_PHASES: readonly CropPhase[] = ['CT', 'AP', 'PVP'];
export const DEFAULT_CROP_PHASES: readonly CropPhase[] = ['AP', 'PVP'];

const IMAGE_EXTENSIONS = new Set(['.bmp', '.png', '.jpg', '.jpeg']);

export interface CropSample {
  path: string;
  patientId: string;
  phase: CropPhase;
  /** Class index of the task. */
  label: number;
}

export interface PatientEntry {
  id: string;
  label: number;
  samples: CropSample[];
}

export interface LabelledPatient {
  id: string;
  code: string;
}

/** Parses `NC`/`CT`, `AP`, `PVP` (any case) separated by commas. */
export function parseCropPhases(text: string): CropPhase[] {
  const phases = text
    .split(',')
    .map((part) => part.trim().toUpperCase())
    .filter((part) => part !== '')
    .map((part) => (part === 'NC' ? 'CT' : part));
  const invalid = phases.find((phase) => !CROP_PHASES.includes(phase as CropPhase));
  if (phases.length === 0 || invalid !== undefined) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `phase list "${text}" contains ${invalid === undefined ? 'no phase' : `unknown phase "${invalid}"`}`,
      {
        hint: 'give phases among AP, PVP and NC (or CT), separated by commas, e.g. --phases AP,PVP',
      },
    );
  }
  return [...new Set(phases as CropPhase[])];
}

/** Reads an `ID,Cancer` CSV file of a task; label codes are matched case-insensitively. */
export async function readLabelCsv(path: string, task: TaskName): Promise<LabelledPatient[]> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new LilnetError('FILE_NOT_FOUND', `label CSV ${path} not found`, {
      file: path,
      hint: `put ${TASKS[task].csvStem}_train.csv (columns ID,Cancer) in the dataset root, or pass the CSV path`,
      cause: error,
    });
  }
  const { text, encoding } = decodeCsvBytes(bytes);
  const rows = parseSimpleCsv(text);
  const header = (rows[0] ?? []).map((name) => name.toLowerCase());
  const idColumn = header.indexOf('id');
  const labelColumn = header.indexOf('cancer');
  if (idColumn < 0 || labelColumn < 0) {
    throw new LilnetError(
      'DATASET_CSV_INVALID',
      `label CSV ${path} has header "${(rows[0] ?? []).join(',')}" without ID and Cancer columns`,
      {
        file: path,
        hint: 'the first line must name the columns ID and Cancer',
      },
    );
  }
  const codes = TASKS[task].classCodes;
  const seen = new Set<string>();
  const patients: LabelledPatient[] = [];
  rows.slice(1).forEach((row, index) => {
    const id = row[idColumn] ?? '';
    const code = (row[labelColumn] ?? '').toLowerCase();
    if (id === '') return;
    if (!codes.includes(code)) {
      throw new LilnetError(
        'DATASET_CSV_INVALID',
        `label CSV ${path} line ${index + 2}: Cancer "${row[labelColumn]}" is not one of ${codes.join(', ')} for task ${task}`,
        {
          file: path,
          hint: `use the ${task} task's codes (${codes.join(', ')}) or choose the task whose CSV this is`,
        },
      );
    }
    if (seen.has(id)) {
      throw new LilnetError('DATASET_CSV_INVALID', `label CSV ${path} lists patient ${id} twice`, {
        file: path,
        hint: 'keep one row per patient',
      });
    }
    seen.add(id);
    patients.push({ id, code });
  });
  log.debug({ file: path, encoding, patients: patients.length }, 'label CSV read');
  return patients;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Lists the crops of one patient for the selected phases, sorted by phase then file name. */
export async function listPatientCrops(
  root: string,
  patientId: string,
  phases: readonly CropPhase[],
): Promise<{ phase: CropPhase; path: string }[]> {
  const crops: { phase: CropPhase; path: string }[] = [];
  for (const phase of phases) {
    const folder = join(root, patientId, phase);
    if (!(await isDirectory(folder))) continue;
    const names = (await readdir(folder))
      .filter((name) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase()))
      .sort();
    for (const name of names) crops.push({ phase, path: join(folder, name) });
  }
  return crops;
}

export interface ReadSplitOptions {
  task: TaskName;
  phases?: readonly CropPhase[];
  /** Handling of a listed patient without crops of the selected phases: fail (default) or skip it. */
  missingPatients?: 'error' | 'skip';
}

/** Reads the patients of one CSV file with their crops; every crop of a patient carries the patient's label. */
export async function readAuthorsSplit(
  root: string,
  csvPath: string,
  options: ReadSplitOptions,
): Promise<PatientEntry[]> {
  const phases = options.phases ?? DEFAULT_CROP_PHASES;
  const codes = TASKS[options.task].classCodes;
  const listed = await readLabelCsv(csvPath, options.task);
  const patients: PatientEntry[] = [];
  const missing: string[] = [];
  for (const { id, code } of listed) {
    const label = codes.indexOf(code);
    const crops = await listPatientCrops(root, id, phases);
    if (crops.length === 0) {
      missing.push(id);
      continue;
    }
    patients.push({ id, label, samples: crops.map((crop) => ({ ...crop, patientId: id, label })) });
  }
  if (missing.length > 0) {
    const shown =
      missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
    if ((options.missingPatients ?? 'error') === 'error') {
      throw new LilnetError(
        'DATASET_INVALID',
        `${missing.length} patients of ${csvPath} have no ${phases.join('/')} crops under ${root}: ${shown}`,
        {
          file: csvPath,
          hint: `each listed patient needs <root>/<ID>/${phases[0]}/*.png|bmp|jpg; check --phases and the IDs`,
        },
      );
    }
    log.warn({ file: csvPath, missing: missing.length }, 'patients without crops skipped');
  }
  return patients;
}

/** Returns the CSV path of a task's split in the layout, e.g. `<root>/BM_train.csv`. */
export function splitCsvPath(root: string, task: TaskName, split: 'train' | 'test'): string {
  return join(root, `${TASKS[task].csvStem}_${split}.csv`);
}

/** Flattens patients into samples, in patient order. */
export function samplesOf(patients: readonly PatientEntry[]): CropSample[] {
  return patients.flatMap((patient) => patient.samples);
}

/** Checks that no patient appears in two splits; throws DATASET_INVALID naming the first shared ID. */
export function assertDisjointPatients(splits: Record<string, readonly PatientEntry[]>): void {
  const owner = new Map<string, string>();
  for (const [name, patients] of Object.entries(splits)) {
    for (const patient of patients) {
      const other = owner.get(patient.id);
      if (other !== undefined && other !== name) {
        throw new LilnetError(
          'DATASET_INVALID',
          `patient ${patient.id} is in both the ${other} and the ${name} split`,
          {
            hint: 'a patient must belong to one split only; remove it from one of the CSV files',
          },
        );
      }
      owner.set(patient.id, name);
    }
  }
}
