/** Database access for cases, uploads, series, results and lesions. Files live under the data folder. */
import { randomUUID } from 'node:crypto';
import { LilnetError } from '../errors.ts';
import type { Phase } from '../imaging/volume.ts';
import type { DiagnosisReport } from '../diagnose/report-types.ts';
import type { Db } from './database.ts';
import type { ViewerSeries } from './jobs/messages.ts';

export interface CaseView {
  id: string;
  label: string;
  createdAt: string;
  createdBy: string | null;
  uploadCount: number;
  seriesCount: number;
  latestJob: { id: string; kind: string; status: string; progress: number; stage: string | null } | null;
  hasResult: boolean;
  demoModels: boolean | null;
}

export interface UploadView {
  id: number;
  phase: Phase;
  fileCount: number;
  byteCount: number;
  createdAt: string;
}

export interface ResultRow {
  id: string;
  caseId: string;
  jobId: string;
  folder: string;
  demoModels: boolean;
  createdAt: string;
}

const LABEL_MAX = 120;

/** Checks a case label: free text chosen by the user, 1 to 120 printable characters. */
export function validateLabel(label: unknown): string {
  if (
    typeof label !== 'string' ||
    label.trim().length === 0 ||
    label.length > LABEL_MAX ||
    // eslint-disable-next-line no-control-regex -- rejecting control characters is the point of this check
    /[\u0000-\u001f]/.test(label)
  ) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `invalid case label ${JSON.stringify(String(label).slice(0, 40))}`,
      {
        hint: `give 1 to ${LABEL_MAX} printable characters, and no patient name or ID`,
      },
    );
  }
  return label.trim();
}

export function createCase(db: Db, label: string, userId: number | null): string {
  const id = randomUUID();
  db.prepare('INSERT INTO cases (id, label, created_at, created_by) VALUES (?, ?, ?, ?)').run(
    id,
    validateLabel(label),
    new Date().toISOString(),
    userId,
  );
  return id;
}

const CASE_SELECT = `
  SELECT c.id, c.label, c.created_at, u.name AS created_by,
    (SELECT COUNT(*) FROM uploads WHERE case_id = c.id) AS upload_count,
    (SELECT COUNT(*) FROM series WHERE case_id = c.id) AS series_count,
    (SELECT demo_models FROM results WHERE case_id = c.id ORDER BY created_at DESC, rowid DESC LIMIT 1) AS demo_models,
    (SELECT json_object('id', id, 'kind', kind, 'status', status, 'progress', progress, 'stage', stage)
       FROM jobs WHERE case_id = c.id ORDER BY created_at DESC, rowid DESC LIMIT 1) AS latest_job
  FROM cases c LEFT JOIN users u ON u.id = c.created_by`;

function toCaseView(row: Record<string, unknown>): CaseView {
  return {
    id: row.id as string,
    label: row.label as string,
    createdAt: row.created_at as string,
    createdBy: (row.created_by as string | null) ?? null,
    uploadCount: row.upload_count as number,
    seriesCount: row.series_count as number,
    latestJob: row.latest_job ? JSON.parse(row.latest_job as string) : null,
    hasResult: row.demo_models !== null,
    demoModels: row.demo_models === null ? null : row.demo_models === 1,
  };
}

export function listCases(db: Db): CaseView[] {
  return (db.prepare(`${CASE_SELECT} ORDER BY c.created_at DESC`).all() as Record<string, unknown>[]).map(
    toCaseView,
  );
}

/** Returns a case or throws NOT_FOUND. */
export function getCase(db: Db, caseId: string): CaseView {
  const row = db.prepare(`${CASE_SELECT} WHERE c.id = ?`).get(caseId) as Record<string, unknown> | undefined;
  if (!row) {
    throw new LilnetError('NOT_FOUND', `case ${caseId} not found`, {
      hint: 'list the cases with GET /api/cases',
    });
  }
  return toCaseView(row);
}

export function deleteCase(db: Db, caseId: string): void {
  db.prepare('DELETE FROM cases WHERE id = ?').run(caseId);
}

/** Records an upload and returns its id; the caller moves the files into `files/u<id>` afterwards. */
export function addUpload(
  db: Db,
  caseId: string,
  phase: Phase,
  fileCount: number,
  byteCount: number,
): number {
  const info = db
    .prepare(
      'INSERT INTO uploads (case_id, phase, folder, file_count, byte_count, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    .run(caseId, phase, '', fileCount, byteCount, new Date().toISOString());
  const id = Number(info.lastInsertRowid);
  db.prepare('UPDATE uploads SET folder = ? WHERE id = ?').run(`u${id}`, id);
  return id;
}

export function removeUpload(db: Db, uploadId: number): void {
  db.prepare('DELETE FROM uploads WHERE id = ?').run(uploadId);
}

export function listUploads(db: Db, caseId: string): UploadView[] {
  return db
    .prepare(
      `SELECT id, phase, file_count AS fileCount, byte_count AS byteCount, created_at AS createdAt
       FROM uploads WHERE case_id = ? ORDER BY id`,
    )
    .all(caseId) as UploadView[];
}

/** Replaces the series of a case with those of a fresh ingest, in one transaction. */
export function replaceSeries(db: Db, caseId: string, series: ViewerSeries[]): void {
  const insert = db.prepare(
    `INSERT INTO series (id, case_id, series_key, position, phase, phase_source, unit, voxel_type, columns, rows,
       slices, geometry, description, file_window, warnings)
     VALUES (@id, @caseId, @seriesKey, @position, @phase, @phaseSource, @unit, @voxelType, @columns, @rows, @slices,
       @geometry, @description, @fileWindow, @warnings)`,
  );
  db.transaction(() => {
    db.prepare('DELETE FROM series WHERE case_id = ?').run(caseId);
    for (const s of series) {
      const [columns, rows, slices] = s.geometry.dimensions;
      insert.run({
        id: s.id,
        caseId,
        seriesKey: s.seriesKey,
        position: s.position,
        phase: s.phase,
        phaseSource: s.phaseSource,
        unit: s.unit,
        voxelType: s.voxelType,
        columns,
        rows,
        slices,
        geometry: JSON.stringify(s.geometry),
        description: s.description ?? null,
        fileWindow: s.fileWindow ? JSON.stringify(s.fileWindow) : null,
        warnings: JSON.stringify(s.warnings),
      });
    }
  })();
}

export interface SeriesView extends Omit<ViewerSeries, 'position'> {
  position: number;
}

function toSeriesView(row: Record<string, unknown>): SeriesView {
  return {
    id: row.id as string,
    seriesKey: row.series_key as string,
    position: row.position as number,
    phase: row.phase as Phase,
    phaseSource: row.phase_source as SeriesView['phaseSource'],
    unit: row.unit as SeriesView['unit'],
    voxelType: row.voxel_type as SeriesView['voxelType'],
    geometry: JSON.parse(row.geometry as string),
    description: (row.description as string | null) ?? undefined,
    fileWindow: row.file_window ? JSON.parse(row.file_window as string) : undefined,
    warnings: JSON.parse(row.warnings as string),
  };
}

export function listSeries(db: Db, caseId: string): SeriesView[] {
  return (
    db.prepare('SELECT * FROM series WHERE case_id = ? ORDER BY position').all(caseId) as Record<
      string,
      unknown
    >[]
  ).map(toSeriesView);
}

export function getSeries(db: Db, caseId: string, seriesId: string): SeriesView {
  const row = db.prepare('SELECT * FROM series WHERE case_id = ? AND id = ?').get(caseId, seriesId) as
    Record<string, unknown> | undefined;
  if (!row) {
    throw new LilnetError('NOT_FOUND', `series ${seriesId} not found in case ${caseId}`, {
      hint: 'list the series with GET /api/cases/{caseId}/series',
    });
  }
  return toSeriesView(row);
}

/** Stores the result of a diagnose job and its lesions, in one transaction. */
export function recordResult(
  db: Db,
  caseId: string,
  jobId: string,
  folder: string,
  report: DiagnosisReport,
): string {
  const id = randomUUID();
  const insertLesion = db.prepare(
    `INSERT INTO lesions (result_id, lesion_key, p_malignant, call, call_probability, probabilities, phases)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    db.prepare(
      `INSERT INTO results (id, case_id, job_id, folder, demo_models, models, patient, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      caseId,
      jobId,
      folder,
      report.demoModels ? 1 : 0,
      JSON.stringify(report.models),
      report.patient ? JSON.stringify(report.patient) : null,
      new Date().toISOString(),
    );
    for (const lesion of report.lesions) {
      insertLesion.run(
        id,
        lesion.id,
        lesion.classification?.pMalignant ?? null,
        lesion.classification?.call ?? null,
        lesion.classification?.callProbability ?? null,
        lesion.classification ? JSON.stringify(lesion.classification.probabilities) : null,
        JSON.stringify(lesion.phases.map((p) => p.phase)),
      );
    }
  })();
  return id;
}

/** Returns the newest result of a case, or throws NOT_FOUND. */
export function latestResult(db: Db, caseId: string): ResultRow {
  const row = db
    .prepare('SELECT * FROM results WHERE case_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1')
    .get(caseId) as Record<string, unknown> | undefined;
  if (!row) {
    throw new LilnetError('NOT_FOUND', `case ${caseId} has no diagnosis result yet`, {
      hint: 'start a diagnose job with POST /api/cases/{caseId}/jobs and wait for it to succeed',
    });
  }
  return {
    id: row.id as string,
    caseId: row.case_id as string,
    jobId: row.job_id as string,
    folder: row.folder as string,
    demoModels: row.demo_models === 1,
    createdAt: row.created_at as string,
  };
}
