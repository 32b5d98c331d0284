/**
 * The classification tasks of the LiLNet study and their class labels. Class indices follow the published
 * per-patient outputs: benign/malignant 0 = benign, 1 = malignant; benign subtypes 0 = FNH, 1 = HEM, 2 = CYST;
 * malignant subtypes 0 = HCC, 1 = ICC, 2 = MET.
 */
import { LilnetError } from '../errors.ts';

export type TaskName = 'bm' | 'benign' | 'malignant';

export const TASK_NAMES: readonly TaskName[] = ['bm', 'benign', 'malignant'];

export interface TaskDefinition {
  /** The task name used on the command line, or `generic` when no task was named. */
  name: TaskName | 'generic';
  /** Class labels in index order. */
  classes: string[];
  /** Extra spellings accepted for each class in label and reader-answer cells (lower case). */
  aliases: string[][];
}

const TASKS: Record<TaskName, { classes: string[]; aliases: string[][] }> = {
  bm: { classes: ['benign', 'malignant'], aliases: [['good'], ['bad']] },
  benign: { classes: ['FNH', 'HEM', 'CYST'], aliases: [[], ['hemangioma', 'haemangioma'], []] },
  malignant: { classes: ['HCC', 'ICC', 'MET'], aliases: [[], [], ['metastasis']] },
};

export function isTaskName(value: string): value is TaskName {
  return (TASK_NAMES as readonly string[]).includes(value);
}

/**
 * Resolves the class labels for `classCount` score columns: the named task's labels, the given class names, or
 * `class 0` ... `class K-1` when neither is given (two columns default to benign/malignant).
 */
export function resolveTask(
  task: string | undefined,
  classCount: number,
  source: string,
  classNames?: readonly string[],
): TaskDefinition {
  if (classNames !== undefined) return customTask(task, classNames, classCount, source);
  if (task === undefined) {
    if (classCount === 2) return { name: 'bm', ...TASKS.bm };
    const classes = Array.from({ length: classCount }, (_, index) => `class ${index}`);
    return { name: 'generic', classes, aliases: classes.map(() => []) };
  }
  if (!isTaskName(task)) {
    throw new LilnetError('INVALID_ARGUMENT', `unknown task "${task}"`, {
      hint: `use one of ${TASK_NAMES.join(', ')}`,
    });
  }
  const definition = TASKS[task];
  if (definition.classes.length !== classCount) {
    throw new LilnetError(
      'EVAL_COLUMNS_INVALID',
      `${source} has ${classCount} score columns, but task "${task}" has ${definition.classes.length} classes ` +
        `(${definition.classes.join(', ')})`,
      { hint: 'pick the task that matches the file, or check the logit_<k> columns', file: source },
    );
  }
  return { name: task, ...definition };
}

function customTask(
  task: string | undefined,
  classNames: readonly string[],
  classCount: number,
  source: string,
): TaskDefinition {
  if (task !== undefined) {
    throw new LilnetError('INVALID_ARGUMENT', `--task ${task} and --classes both name the classes`, {
      hint: 'pass only one of them',
    });
  }
  const lower = classNames.map((name) => name.toLowerCase());
  if (classNames.some((name) => name === '') || new Set(lower).size !== classNames.length) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `--classes "${classNames.join(',')}" has an empty or repeated name`,
      {
        hint: 'give one distinct name per logit column, in column order, for example --classes HCC,ICC,MET,FNH,HEM,CYST',
      },
    );
  }
  // parseClassCell reads a whole-number cell as a column index, so a class named "1" in column 0 would take
  // the patients of column 1 without any error.
  const misplaced = classNames.findIndex(
    (name, index) => /^[0-9]+(\.0+)?$/.test(name) && Number(name) !== index,
  );
  if (misplaced >= 0) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `--classes "${classNames.join(',')}": class name "${classNames[misplaced]}" is a whole number but names column ${misplaced}, and label cells that are whole numbers are read as column indices`,
      {
        hint: 'give the classes names that are not numbers (for example grade-1,grade-2), or name them 0,1,... in column order',
      },
    );
  }
  if (classNames.length !== classCount) {
    throw new LilnetError(
      'EVAL_COLUMNS_INVALID',
      `${source} has ${classCount} score columns, but --classes names ${classNames.length} (${classNames.join(', ')})`,
      { hint: 'give one name per logit_<k> column, in column order', file: source },
    );
  }
  return { name: 'generic', classes: [...classNames], aliases: classNames.map(() => []) };
}

/**
 * Parses a class cell: a 0-based index, the class label or an alias (case-insensitive). Returns undefined when
 * the cell names no class of the task.
 */
export function parseClassCell(value: string, task: TaskDefinition): number | undefined {
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) {
    const index = Number(text);
    return index < task.classes.length ? index : undefined;
  }
  if (/^[0-9]+\.0+$/.test(text)) {
    const index = Number(text);
    return index < task.classes.length ? index : undefined;
  }
  const lower = text.toLowerCase();
  for (let index = 0; index < task.classes.length; index += 1) {
    if (task.classes[index].toLowerCase() === lower || task.aliases[index].includes(lower)) return index;
  }
  return undefined;
}
