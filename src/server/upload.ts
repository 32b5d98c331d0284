/**
 * Receives one upload request (multipart files for one series or set of series of one phase) into a staging
 * folder, checks every file and zip entry, and only then moves the whole folder into the case. A rejected
 * upload leaves the case exactly as it was.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import { crc32 } from 'node:zlib';
import { unzipSync } from 'fflate';
import { LilnetError } from '../errors.ts';
import type { UploadLimits } from './config.ts';
import { detectFileKind, SNIFF_BYTES, type UploadFileKind } from './file-kinds.ts';
import { zipEntryCrcs } from './zip-directory.ts';

export interface StagedUpload {
  folder: string;
  fileCount: number;
  byteCount: number;
  kinds: Partial<Record<UploadFileKind, number>>;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$/;

/** Maximum number of path segments (folders and the file name) of an uploaded file. */
const MAX_PATH_DEPTH = 16;

/**
 * Returns the relative path of an uploaded file (its name, or `folder/.../name` from a folder upload), else
 * throws. Every segment must be a plain file name, so the path cannot leave the upload folder.
 */
export function safeFileName(raw: string): string {
  const segments = raw.split(/[\\/]/).filter((s) => s !== '' && s !== '.');
  const valid =
    !/^([\\/]|[A-Za-z]:)/.test(raw) &&
    segments.length > 0 &&
    segments.length <= MAX_PATH_DEPTH &&
    segments.every((s) => SAFE_NAME.test(s) && !s.includes('..'));
  if (!valid) {
    throw new LilnetError('UPLOAD_INVALID', `invalid file name ${JSON.stringify(raw.slice(0, 200))}`, {
      hint: 'rename the file to letters, digits, dots, dashes, spaces or underscores, starting with a letter or digit',
    });
  }
  return segments.join('/');
}

/**
 * Returns the absolute extraction path of a zip entry, or throws when the entry would land outside `folder`
 * (absolute paths, `..` segments, drive letters, NUL bytes).
 */
export function zipEntryTarget(folder: string, entryName: string): string {
  const normalised = entryName.replace(/\\/g, '/');
  const segments = normalised.split('/').filter((s) => s !== '' && s !== '.');
  const unsafe =
    normalised.startsWith('/') ||
    /^[A-Za-z]:/.test(normalised) ||
    normalised.includes('\0') ||
    segments.some((s) => s === '..') ||
    segments.length === 0;
  const root = resolve(folder);
  const target = resolve(root, ...segments);
  if (unsafe || !target.startsWith(root + sep)) {
    throw new LilnetError(
      'UPLOAD_INVALID',
      `zip entry ${JSON.stringify(entryName.slice(0, 200))} points outside the upload folder`,
      {
        hint: 'the zip must hold only relative paths without ".."; create it again from the case folder',
      },
    );
  }
  return target;
}

/** Folders, macOS resource forks and hidden files (`.DS_Store`), in zips and folder uploads alike. */
function isIgnoredZipEntry(name: string): boolean {
  const segments = name.replace(/\\/g, '/').split('/');
  // `..` is no hidden name: zipEntryTarget and safeFileName reject it with the whole upload.
  return (
    name.endsWith('/') ||
    segments.includes('__MACOSX') ||
    segments.some((s) => s.startsWith('.') && s !== '.' && s !== '..')
  );
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function unknownKindError(name: string): LilnetError {
  return new LilnetError(
    'UPLOAD_INVALID',
    `file ${JSON.stringify(name)} is not DICOM, NIfTI, PNG, JPEG or zip`,
    {
      hint: 'upload DICOM files (.dcm), NIfTI (.nii, .nii.gz), PNG or JPEG slice images, or a zip of them',
    },
  );
}

/** Unpacks a zip that was saved at `zipPath` into `folder`, checking entry count, sizes, paths and kinds. */
async function extractZip(
  zipPath: string,
  zipName: string,
  folder: string,
  limits: UploadLimits,
  budget: { bytes: number },
  kinds: Partial<Record<UploadFileKind, number>>,
): Promise<number> {
  const data = await readFile(zipPath);
  let entries = 0;
  let declaredBytes = 0;
  let files: Record<string, Uint8Array>;
  let crcs: Map<string, number>;
  try {
    crcs = zipEntryCrcs(data);
    files = unzipSync(data, {
      filter: (info) => {
        if (isIgnoredZipEntry(info.name)) return false;
        zipEntryTarget(folder, info.name);
        entries += 1;
        declaredBytes += info.originalSize;
        if (entries > limits.maxZipEntries) {
          throw new LilnetError(
            'UPLOAD_TOO_LARGE',
            `zip ${zipName} has more than ${limits.maxZipEntries} files`,
            {
              hint: 'split the case into several zips or uploads',
            },
          );
        }
        if (
          info.originalSize > limits.maxFileBytes ||
          budget.bytes + declaredBytes > limits.maxRequestBytes
        ) {
          throw new LilnetError(
            'UPLOAD_TOO_LARGE',
            `zip ${zipName} unpacks to more than the server's upload limit`,
            {
              hint: `keep each file under ${limits.maxFileBytes} bytes and each upload under ${limits.maxRequestBytes} bytes unpacked`,
            },
          );
        }
        return true;
      },
    });
  } catch (error) {
    if (error instanceof LilnetError) throw error;
    throw new LilnetError('UPLOAD_INVALID', `zip ${zipName} is damaged: ${(error as Error).message}`, {
      hint: 'create the zip again and upload it once more',
      cause: error,
    });
  }
  for (const [name, content] of Object.entries(files)) {
    // fflate allocates each entry's declared size and cuts longer data to it, so the sizes checked above bound
    // the memory. The CRC shows whether the entry was cut (a zip lying about its sizes) or is damaged.
    if (crcs.get(name) !== crc32(content)) {
      throw new LilnetError(
        'UPLOAD_INVALID',
        `zip ${zipName} entry ${JSON.stringify(name.slice(0, 200))} is damaged or declares a wrong size (CRC mismatch)`,
        {
          hint: 'create the zip again and upload it once more',
        },
      );
    }
    budget.bytes += content.byteLength;
    if (content.byteLength > limits.maxFileBytes || budget.bytes > limits.maxRequestBytes) {
      throw new LilnetError(
        'UPLOAD_TOO_LARGE',
        `zip ${zipName} unpacks to more than the server's upload limit`,
        {
          hint: `keep each upload under ${limits.maxRequestBytes} bytes unpacked`,
        },
      );
    }
    const entryBase = name.split(/[\\/]/).pop() ?? name;
    const kind = detectFileKind(content.subarray(0, SNIFF_BYTES), entryBase);
    if (kind === null || kind === 'zip') throw unknownKindError(`${zipName}:${name}`);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    const target = zipEntryTarget(folder, name);
    await mkdir(resolve(target, '..'), { recursive: true });
    await writeFile(target, content, { flag: 'wx' });
  }
  return Object.keys(files).length;
}

/**
 * Streams every file part of a multipart request into a fresh folder under `stagingRoot` and returns it.
 * Throws LilnetError (and removes the folder) on the first invalid or oversized file.
 */
export async function stageUpload(
  parts: AsyncIterableIterator<MultipartFile>,
  stagingRoot: string,
  limits: UploadLimits,
): Promise<StagedUpload> {
  const folder = join(stagingRoot, randomUUID());
  await mkdir(folder, { recursive: true });
  const budget = { bytes: 0 };
  const kinds: Partial<Record<UploadFileKind, number>> = {};
  const names = new Set<string>();
  let fileCount = 0;
  try {
    for await (const part of parts) {
      if (isIgnoredZipEntry(part.filename)) {
        part.file.resume();
        continue;
      }
      const name = safeFileName(part.filename);
      if (names.has(name.toLowerCase())) {
        throw new LilnetError('UPLOAD_INVALID', `two files named ${name} in one upload`, {
          hint: 'upload files of different series in separate uploads',
        });
      }
      names.add(name.toLowerCase());
      const path = join(folder, ...name.split('/'));
      await mkdir(resolve(path, '..'), { recursive: true });
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          budget.bytes += chunk.length;
          if (budget.bytes > limits.maxRequestBytes) {
            callback(
              new LilnetError(
                'UPLOAD_TOO_LARGE',
                `the upload exceeds ${limits.maxRequestBytes} bytes in total`,
                {
                  hint: 'split the case into several uploads, one per series',
                },
              ),
            );
            return;
          }
          callback(null, chunk);
        },
      });
      await pipeline(part.file, counter, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
      if (part.file.truncated) {
        throw new LilnetError(
          'UPLOAD_TOO_LARGE',
          `file ${name} exceeds the limit of ${limits.maxFileBytes} bytes`,
          {
            hint: 'upload the series as several smaller files',
          },
        );
      }
      const kind = detectFileKind(await readHead(path), name);
      if (kind === null) throw unknownKindError(name);
      if (kind === 'zip') {
        const zipFolder = join(folder, name.replace(/\.zip$/i, '') + '.unzipped');
        fileCount += await extractZip(path, name, zipFolder, limits, budget, kinds);
        await unlink(path);
      } else {
        kinds[kind] = (kinds[kind] ?? 0) + 1;
        fileCount += 1;
      }
    }
    if (fileCount === 0) {
      throw new LilnetError('UPLOAD_INVALID', 'the upload contains no files', {
        hint: 'send the files as multipart/form-data file fields',
      });
    }
    return { folder, fileCount, byteCount: budget.bytes, kinds };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}
