/**
 * The entry point of imaging input: reads a CT case from a path into the volume model, whatever the format.
 *
 * A path may be a DICOM file, a NIfTI file (`.nii`, `.nii.gz`), a slice image, or a folder containing any mix
 * of these, searched recursively (for example one subfolder per phase: `CT/`, `AP/`, `PVP/`). DICOM files are
 * grouped by SeriesInstanceUID, slice images by folder, and each NIfTI file is one series. Files that cannot be
 * read are listed in `failedFiles` with the reason, and the rest of the case is still read.
 */
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { isLilnetError, LilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { readDicomFile, type DicomImage } from './dicom/read-file.ts';
import { assembleDicomSeries } from './dicom/series.ts';
import { isNiftiFileName, readNiftiFile } from './nifti.ts';
import { identifyPhase, identifyPhasesByContrastAndTime, parsePhase, type PhaseEvidence } from './phase.ts';
import {
  decodeSliceImage,
  isSliceImageFile,
  orderSliceFiles,
  sliceImagesToSeries,
  type SliceImage,
} from './slice-images.ts';
import { PHASES, type CtCase, type Phase, type Series, type VoxelUnit } from './volume.ts';

export { readSliceImage } from './slice-images.ts';

const log = moduleLogger('imaging.read-case');

export interface ReadCaseOptions {
  /**
   * Explicit phases, overriding every other rule. Keys are series ids (SeriesInstanceUID, NIfTI or folder
   * names), SeriesDescription values or folder names. Values are NC (or CT), AP, PVP or DP.
   */
  phaseMapping?: Record<string, string>;
  /** Unit of NIfTI voxel values; by default HU when the values include air (below -500). */
  niftiUnit?: VoxelUnit;
}

/** Extensions skipped when searching a folder: documents and data that sit beside images. */
const SKIPPED_EXTENSIONS = new Set([
  '.md',
  '.txt',
  '.json',
  '.csv',
  '.tsv',
  '.xml',
  '.html',
  '.pdf',
  '.yaml',
  '.yml',
  '.log',
  '.ini',
]);
/** Files read at the same time; I/O overlaps while decoding stays on one thread. */
const READ_CONCURRENCY = 8;

function isSkipped(file: string): boolean {
  const name = basename(file);
  return (
    name.startsWith('.') ||
    name.toUpperCase() === 'DICOMDIR' ||
    SKIPPED_EXTENSIONS.has(extname(name).toLowerCase())
  );
}

/**
 * Lists the files under a folder recursively, following symbolic links to files and folders. `visited`
 * contains the real paths of the folders already listed, so link cycles end.
 */
async function listFiles(folder: string, visited = new Set<string>()): Promise<string[]> {
  const realFolder = await realpath(folder);
  if (visited.has(realFolder)) return [];
  visited.add(realFolder);
  const entries = await readdir(folder, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(folder, entry.name);
    if (entry.name.startsWith('.')) continue;
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(path).catch(() => undefined);
      isDirectory = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDirectory) files.push(...(await listFiles(path, visited)));
    else if (isFile && !isSkipped(path)) files.push(path);
  }
  return files;
}

async function mapWithConcurrency<T, R>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  });
  await Promise.all(workers);
  return results;
}

/** The files that failed, with the reason shown to users and the error itself. */
interface FailureLog {
  failedFiles: CtCase['failedFiles'];
  errors: unknown[];
}

/** Unreadable files logged one by one; the `case read` log line gives the total. */
const MAX_LOGGED_FAILURES = 20;

function recordFailure(failures: FailureLog, file: string, error: unknown): void {
  const reason = isLilnetError(error)
    ? error.message
    : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
  failures.failedFiles.push({ file, reason });
  failures.errors.push(error);
  const count = failures.failedFiles.length;
  if (count <= MAX_LOGGED_FAILURES) {
    log.warn({ file, code: isLilnetError(error) ? error.code : undefined }, 'file could not be read');
  } else if (count === MAX_LOGGED_FAILURES + 1) {
    log.warn({ logged: MAX_LOGGED_FAILURES }, 'more files could not be read: the case summary counts them');
  }
}

/** Folder names from `folder` up to the case root, nearest first; the root's own name comes last. */
function folderNamesUpTo(folder: string, root: string): string[] {
  const names = relative(root, folder)
    .split(sep)
    .filter((part) => part !== '' && part !== '.' && part !== '..');
  return [...names.reverse(), basename(root)];
}

interface SeriesWithEvidence {
  series: Series;
  evidence: PhaseEvidence;
}

function normalizeMapping(mapping: Record<string, string> | undefined): Record<string, Phase> {
  const result: Record<string, Phase> = {};
  for (const [key, value] of Object.entries(mapping ?? {})) result[key] = parsePhase(value);
  return result;
}

function assignPhases(
  entries: SeriesWithEvidence[],
  mapping: Record<string, Phase>,
  warnings: string[],
): void {
  const evidence = entries.map((entry) => entry.evidence);
  for (const key of Object.keys(mapping)) {
    const used = evidence.some(
      (entry) => entry.seriesId === key || entry.description === key || entry.folderNames.includes(key),
    );
    if (!used) {
      warnings.push(
        `phase mapping key "${key}" matches no series id, SeriesDescription or folder name, so it was not applied`,
      );
    }
  }
  const first = evidence.map((entry) => identifyPhase(entry, mapping));
  const decisions = identifyPhasesByContrastAndTime(evidence, first);
  entries.forEach((entry, index) => {
    entry.series.phase = decisions[index].phase;
    entry.series.phaseSource = decisions[index].source;
  });

  // Label masks (DICOM SEG) may carry a phase from their folder, but they are not a phase's image series.
  const known: Phase[] = entries
    .filter((entry) => entry.series.unit !== 'label')
    .map((entry) => entry.series.phase)
    .filter((phase) => phase !== 'unknown');
  if (known.length === 0) {
    warnings.push(
      'no series has an identified phase: name phase folders NC (or CT), AP, PVP, DP, or pass --phase KEY=PHASE',
    );
    return;
  }
  const missing = PHASES.filter((phase) => !known.includes(phase));
  if (missing.length > 0) warnings.push(`missing phases: ${missing.join(', ')}`);
  for (const phase of PHASES) {
    const count = known.filter((value) => value === phase).length;
    if (count > 1) warnings.push(`${count} series are identified as ${phase}`);
  }
}

/** Tells from the first bytes whether a file is a PNG, JPEG or BMP image, whatever its name. */
async function hasSliceImageSignature(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead < 2) return false;
    const png = bytesRead === 4 && buffer.readUInt32BE(0) === 0x89504e47;
    const jpeg = buffer[0] === 0xff && buffer[1] === 0xd8;
    const bmp = buffer[0] === 0x42 && buffer[1] === 0x4d;
    return png || jpeg || bmp;
  } finally {
    await handle.close();
  }
}

/**
 * Reads the files that are neither NIfTI nor named as slice images as DICOM. Files that turn out to be PNG,
 * JPEG or BMP images under another name are returned in `sliceImages` for the slice reader.
 */
async function readDicomGroup(
  files: string[],
  root: string,
  failures: FailureLog,
): Promise<{ entries: SeriesWithEvidence[]; sliceImages: string[]; studyCount: number }> {
  const sliceImages: string[] = [];
  const images = await mapWithConcurrency(files, READ_CONCURRENCY, async (file) => {
    try {
      return await readDicomFile(file);
    } catch (error) {
      const notDicom = isLilnetError(error) && error.code === 'DICOM_INVALID';
      if (notDicom && (await hasSliceImageSignature(file).catch(() => false))) sliceImages.push(file);
      else recordFailure(failures, file, error);
      return undefined;
    }
  });
  const readable = images.filter((image): image is DicomImage => image !== undefined);
  if (readable.length === 0) return { entries: [], sliceImages, studyCount: 0 };
  const studies = new Set(readable.map((image) => image.attributes.studyInstanceUid).filter(Boolean));
  const entries = assembleDicomSeries(readable).map((assembled) => ({
    series: assembled.series,
    evidence: {
      seriesId: assembled.series.id,
      folderNames: folderNamesUpTo(assembled.folder, root),
      description: assembled.series.description,
      contrastBolusAgent: assembled.contrastBolusAgent,
      acquisitionTimeS: assembled.acquisitionTimeS,
      isDicom: true,
      isLabel: assembled.series.unit === 'label',
    },
  }));
  return { entries, sliceImages, studyCount: studies.size };
}

async function readSliceFolder(
  folder: string,
  files: string[],
  root: string,
  failures: FailureLog,
): Promise<SeriesWithEvidence[]> {
  const ordered = orderSliceFiles(files);
  const decoded = await mapWithConcurrency(ordered, READ_CONCURRENCY, async (file) => {
    try {
      return await decodeSliceImage(file);
    } catch (error) {
      recordFailure(failures, file, error);
      return undefined;
    }
  });
  const images = decoded.filter((image): image is SliceImage => image !== undefined);
  if (images.length === 0) return [];

  const { width, height } = images[0];
  const sameSize = images.filter((image) => image.width === width && image.height === height);
  for (const image of images) {
    if (image.width !== width || image.height !== height) {
      const message = `slice image ${image.file} is ${image.width} x ${image.height}, unlike the ${width} x ${height} slices of its folder`;
      recordFailure(failures, image.file, new LilnetError('IMAGE_INVALID', message, { file: image.file }));
    }
  }
  const id = relative(dirname(root), folder) || basename(folder);
  const series = sliceImagesToSeries(id, sameSize, basename(folder));
  return [
    {
      series,
      evidence: {
        seriesId: id,
        folderNames: folderNamesUpTo(folder, root),
        fileNames: sameSize.map((image) => basename(image.file)),
        isDicom: false,
      },
    },
  ];
}

async function readNiftiGroup(
  files: string[],
  root: string,
  options: ReadCaseOptions,
  failures: FailureLog,
): Promise<SeriesWithEvidence[]> {
  const result: SeriesWithEvidence[] = [];
  for (const file of files) {
    try {
      const series = await readNiftiFile(file, { unit: options.niftiUnit });
      result.push({
        series,
        evidence: {
          seriesId: series.id,
          folderNames: folderNamesUpTo(dirname(file), root),
          fileNames: [basename(file)],
          isDicom: false,
        },
      });
    } catch (error) {
      recordFailure(failures, file, error);
    }
  }
  return result;
}

async function pathKind(path: string): Promise<'file' | 'folder'> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? 'folder' : 'file';
  } catch (error) {
    throw new LilnetError('FILE_NOT_FOUND', `path ${path} does not exist or cannot be accessed`, {
      file: path,
      hint: 'pass a DICOM file or folder, a NIfTI file or a folder of slice images',
      cause: error,
    });
  }
}

/**
 * Reads a case from a file or folder. Throws LilnetError when the path is missing, when a single file cannot be
 * read (its own error), or when a folder yields no series (CASE_EMPTY, naming the failures).
 */
export async function readCase(path: string, options: ReadCaseOptions = {}): Promise<CtCase> {
  const absolute = resolve(path);
  const kind = await pathKind(absolute);
  const mapping = normalizeMapping(options.phaseMapping);
  const root = kind === 'folder' ? absolute : dirname(absolute);
  const files = kind === 'folder' ? await listFiles(absolute) : [absolute];
  log.info({ fileCount: files.length, kind }, 'reading case');

  const nifti = files.filter(isNiftiFileName);
  const sliceImages = files.filter((file) => !isNiftiFileName(file) && isSliceImageFile(file));
  const dicom = files.filter((file) => !isNiftiFileName(file) && !isSliceImageFile(file));
  const failures: FailureLog = { failedFiles: [], errors: [] };
  const { failedFiles } = failures;

  const entries: SeriesWithEvidence[] = [];
  const dicomResult = await readDicomGroup(dicom, root, failures);
  entries.push(...dicomResult.entries);
  const byFolder = new Map<string, string[]>();
  for (const file of [...sliceImages, ...dicomResult.sliceImages]) {
    byFolder.set(dirname(file), [...(byFolder.get(dirname(file)) ?? []), file]);
  }
  for (const [folder, folderFiles] of byFolder)
    entries.push(...(await readSliceFolder(folder, folderFiles, root, failures)));
  entries.push(...(await readNiftiGroup(nifti, root, options, failures)));

  if (entries.length === 0) {
    // A single file that fails raises its own coded error (DICOM_INVALID, NIFTI_INVALID, ...).
    if (kind === 'file' && failures.errors.length === 1) throw failures.errors[0];
    const reasons = failedFiles
      .map((failure) => failure.reason)
      .slice(0, 3)
      .join('; ');
    throw new LilnetError('CASE_EMPTY', `no readable CT series in ${path}${reasons ? `: ${reasons}` : ''}`, {
      file: path,
      hint: 'pass a folder of DICOM files, NIfTI files or PNG/JPEG/BMP slices',
    });
  }

  const warnings: string[] = [];
  if (dicomResult.studyCount > 1) {
    // A parent folder of several examinations (or patients) would otherwise read as one case.
    warnings.push(
      `the DICOM files come from ${dicomResult.studyCount} studies (StudyInstanceUID): a case is one examination, so read each study folder separately`,
    );
  }
  assignPhases(entries, mapping, warnings);
  if (failedFiles.length > 0)
    warnings.push(`${failedFiles.length} file(s) could not be read; see failedFiles`);
  const series = entries.map((entry) => entry.series);
  log.info({ seriesCount: series.length, failedCount: failedFiles.length }, 'case read');
  return { id: basename(absolute), series, warnings, failedFiles };
}
