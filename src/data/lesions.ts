/**
 * Lesion types and the three classification tasks of LiLNet, with the label codes of the authors' CSV files
 * (`Cancer` column) and of their published per-patient outputs (class indices).
 */

export type LesionType = 'hcc' | 'icc' | 'met' | 'fnh' | 'hem' | 'cyst';

export const LESION_TYPES: readonly LesionType[] = ['hcc', 'icc', 'met', 'fnh', 'hem', 'cyst'];

export const MALIGNANT_TYPES: readonly LesionType[] = ['hcc', 'icc', 'met'];
export const BENIGN_TYPES: readonly LesionType[] = ['fnh', 'hem', 'cyst'];

export function isMalignant(type: LesionType): boolean {
  return MALIGNANT_TYPES.includes(type);
}

/** The classification tasks: benign vs malignant, and the subtype task within each group. */
export type TaskName = 'bm' | 'malignant' | 'benign';

export const TASK_NAMES: readonly TaskName[] = ['bm', 'malignant', 'benign'];

export interface TaskDefinition {
  name: TaskName;
  /** CSV `Cancer` codes in class-index order: class i of the model is `classCodes[i]`. */
  classCodes: readonly string[];
  /** Stem of the authors' CSV files, e.g. `BM` for `BM_train.csv`. */
  csvStem: string;
  /** The lesion types this task sees; a patient of another type is not part of the task. */
  lesionTypes: readonly LesionType[];
  /** Augmentation family of the training recipe. */
  augmentation: 'benign-malignant' | 'subtype';
}

/**
 * Class order follows the published label codes: benign/malignant 0 = benign ("good"), 1 = malignant ("bad");
 * malignant subtypes 0 = HCC, 1 = ICC, 2 = MET; benign subtypes 0 = FNH, 1 = HEM, 2 = CYST.
 */
export const TASKS: Record<TaskName, TaskDefinition> = {
  bm: {
    name: 'bm',
    classCodes: ['good', 'bad'],
    csvStem: 'BM',
    lesionTypes: LESION_TYPES,
    augmentation: 'benign-malignant',
  },
  malignant: {
    name: 'malignant',
    classCodes: ['hcc', 'icc', 'met'],
    csvStem: 'hcc_icc_met',
    lesionTypes: MALIGNANT_TYPES,
    augmentation: 'subtype',
  },
  benign: {
    name: 'benign',
    classCodes: ['fnh', 'hem', 'cyst'],
    csvStem: 'fnh_hem_cyst',
    lesionTypes: BENIGN_TYPES,
    augmentation: 'subtype',
  },
};

/** The `Cancer` code a patient with a lesion of this type carries in the CSV of a task. */
export function taskCodeOf(task: TaskName, type: LesionType): string {
  if (task === 'bm') return isMalignant(type) ? 'bad' : 'good';
  return type;
}
