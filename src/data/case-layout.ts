/**
 * lilnet's own training layout for whole CT cases with lesion boxes:
 *
 *   <root>/<case>/...            anything `readCase` reads: DICOM series, NIfTI files or slice-image folders,
 *                                one series per phase (NC, AP, PVP; DP is ignored for classification)
 *   <root>/<case>/lesions.json   the lesion truth (`truth.json`, as `lilnet synth` writes it, is read too)
 *
 * lesions.json: `{ "lesionType": "hcc", "lesions": [{ "type": "hcc", "boxes": { "AP": [{ "slice": 12,
 * "x0": 100, "y0": 80, "x1": 140, "y1": 121 }], "PVP": [...] } }] }`. Boxes are pixel columns [x0, x1) and rows
 * [y0, y1) of slice `slice`, slices counted in the order `readCase` returns them (along the slice normal,
 * feet to head for axial series). The patient's label is `lesionType`, or the first lesion's type.
 *
 * {@link writeCropsFromCases} turns such a root into the authors' crop layout (windowed square crops around each
 * box, CSV files per task), which is what training reads.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { LilnetError } from '../errors.ts';
import { readCase } from '../imaging/read-case.ts';
import { sliceView, type DisplayWindow, type Phase, type Series } from '../imaging/volume.ts';
import { applyWindow } from '../imaging/window.ts';
import { moduleLogger } from '../log.ts';
import { LESION_TYPES, TASKS, taskCodeOf, type LesionType, type TaskName } from './lesions.ts';
import { cropSquare } from './synth/generate.ts';
import type { PixelBox } from './synth/truth.ts';

const log = moduleLogger('data.cases');

const TRUTH_FILES = ['lesions.json', 'truth.json'];
const CROP_FOLDER: Partial<Record<Phase, string>> = { NC: 'CT', AP: 'AP', PVP: 'PVP' };

export interface CaseLesion {
  type: LesionType;
  boxes: Partial<Record<Phase, PixelBox[]>>;
}

export interface CaseTruth {
  caseId: string;
  folder: string;
  lesionType: LesionType;
  lesions: CaseLesion[];
}

function invalid(file: string, what: string): LilnetError {
  return new LilnetError('DATASET_INVALID', `lesion file ${file}: ${what}`, {
    file,
    hint: 'write {"lesionType": "hcc", "lesions": [{"type": "hcc", "boxes": {"AP": [{"slice": 0, "x0": 0, "y0": 0, "x1": 10, "y1": 10}]}}]}',
  });
}

export function parseCaseTruth(caseId: string, folder: string, file: string, text: string): CaseTruth {
  let document: { lesionType?: unknown; lesions?: unknown };
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(document.lesions) || document.lesions.length === 0)
    throw invalid(file, 'has no "lesions" array');
  const lesions: CaseLesion[] = document.lesions.map(
    (raw: { type?: unknown; boxes?: unknown }, index: number) => {
      const type = String(raw.type ?? '').toLowerCase() as LesionType;
      if (!LESION_TYPES.includes(type))
        throw invalid(
          file,
          `lesion ${index} has type "${String(raw.type)}", not one of ${LESION_TYPES.join(', ')}`,
        );
      const boxes: Partial<Record<Phase, PixelBox[]>> = {};
      for (const [phase, list] of Object.entries((raw.boxes ?? {}) as Record<string, unknown>)) {
        if (!Array.isArray(list)) throw invalid(file, `lesion ${index} boxes of ${phase} are not an array`);
        boxes[phase.toUpperCase() as Phase] = list.map((box: PixelBox) => {
          const values = [box.slice, box.x0, box.y0, box.x1, box.y1];
          if (!values.every(Number.isInteger) || box.x1 <= box.x0 || box.y1 <= box.y0 || box.slice < 0) {
            throw invalid(file, `lesion ${index} has an invalid ${phase} box ${JSON.stringify(box)}`);
          }
          return box;
        });
      }
      return { type, boxes };
    },
  );
  const lesionType = String(document.lesionType ?? lesions[0].type).toLowerCase() as LesionType;
  if (!LESION_TYPES.includes(lesionType))
    throw invalid(
      file,
      `lesionType "${String(document.lesionType)}" is not one of ${LESION_TYPES.join(', ')}`,
    );
  return { caseId, folder, lesionType, lesions };
}

/** Lists the cases of a root: every subfolder with a lesions.json or truth.json. */
export async function listCases(root: string): Promise<CaseTruth[]> {
  const cases: CaseTruth[] = [];
  for (const name of (await readdir(root)).sort()) {
    const folder = join(root, name);
    if (!(await stat(folder)).isDirectory()) continue;
    const file = TRUTH_FILES.map((truth) => join(folder, truth)).find((path) => existsSync(path));
    if (!file) continue;
    cases.push(parseCaseTruth(name, folder, file, await readFile(file, 'utf8')));
  }
  return cases;
}

/** True when `root` looks like the case layout (no task CSV, at least one case folder with lesion truth). */
export async function isCaseLayout(root: string): Promise<boolean> {
  if ((await readdir(root)).some((name) => name.endsWith('_train.csv'))) return false;
  return (await listCases(root)).length > 0;
}

export interface CropsFromCasesOptions {
  /** Window for HU series; grey-level series are used as they are. */
  window: DisplayWindow;
  cropMarginFraction: number;
}

function seriesWindow(series: Series, window: DisplayWindow): DisplayWindow {
  return series.unit === 'HU' ? window : { centre: 128, width: 256 };
}

/** Writes the authors' crop layout for the cases of `root` into `outRoot`; every case goes to the train CSV files. */
export async function writeCropsFromCases(
  root: string,
  outRoot: string,
  options: CropsFromCasesOptions,
): Promise<{ cases: number; crops: number }> {
  const cases = await listCases(root);
  if (cases.length === 0) {
    throw new LilnetError('DATASET_INVALID', `no case folder with lesions.json or truth.json under ${root}`, {
      hint: "give the authors' crop layout or case folders with lesion boxes",
    });
  }
  let crops = 0;
  for (const truth of cases) {
    const ctCase = await readCase(truth.folder);
    for (const [phase, folderName] of Object.entries(CROP_FOLDER) as [Phase, string][]) {
      const series = ctCase.series.find((s) => s.phase === phase);
      const wanted = truth.lesions.some((lesion) => (lesion.boxes[phase] ?? []).length > 0);
      if (!wanted) continue;
      if (!series) {
        log.warn({ caseId: truth.caseId, phase }, 'lesion boxes for a phase the case has no series of');
        continue;
      }
      const [columns, rows, slices] = series.geometry.dimensions;
      await mkdir(join(outRoot, truth.caseId, folderName), { recursive: true });
      for (const [lesionIndex, lesion] of truth.lesions.entries()) {
        for (const box of lesion.boxes[phase] ?? []) {
          if (box.slice >= slices || box.x1 > columns || box.y1 > rows) {
            throw new LilnetError(
              'DATASET_INVALID',
              `case ${truth.caseId}: ${phase} box ${JSON.stringify(box)} lies outside the ${columns} x ${rows} x ${slices} series`,
              {
                hint: 'boxes are pixel coordinates of the slice order readCase returns',
              },
            );
          }
          // Square crops need a square image side; the shorter side bounds them.
          const [x0, y0, side] = cropSquare(box, Math.min(columns, rows), options.cropMarginFraction);
          const grey = applyWindow(sliceView(series, box.slice), seriesWindow(series, options.window));
          const pixels = new Uint8Array(side * side);
          for (let row = 0; row < side; row++)
            pixels.set(
              grey.subarray((y0 + row) * columns + x0, (y0 + row) * columns + x0 + side),
              row * side,
            );
          const name = `IMG-${phase}-${String(box.slice + 1).padStart(5, '0')}_${lesionIndex}.png`;
          await sharp(Buffer.from(pixels), { raw: { width: side, height: side, channels: 1 } })
            .toColourspace('b-w')
            .png()
            .toFile(join(outRoot, truth.caseId, folderName, name));
          crops++;
        }
      }
    }
  }
  for (const task of Object.keys(TASKS) as TaskName[]) {
    const rows = [
      'ID,Cancer',
      ...cases
        .filter((c) => TASKS[task].lesionTypes.includes(c.lesionType))
        .map((c) => `${c.caseId},${taskCodeOf(task, c.lesionType)}`),
    ];
    await writeFile(join(outRoot, `${TASKS[task].csvStem}_train.csv`), `${rows.join('\n')}\n`);
  }
  log.info({ cases: cases.length, crops }, 'crops cut from cases');
  return { cases: cases.length, crops };
}
