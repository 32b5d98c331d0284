/** Calls of the lilnet HTTP API from the browser: the session cookie goes along, the CSRF token as a header. */
import type { DiagnosisReport } from '../../src/diagnose/report-types.ts';

export interface User {
  id: number;
  name: string;
  role: string;
}

export interface Job {
  id: string;
  caseId: string;
  kind: 'ingest' | 'diagnose';
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';
  stage: string | null;
  progress: number;
  error: string | null;
}

export interface CaseSummary {
  id: string;
  label: string;
  createdAt: string;
  seriesCount: number;
  uploadCount: number;
  latestJob: Pick<Job, 'id' | 'kind' | 'status' | 'progress' | 'stage'> | null;
  hasResult: boolean;
  demoModels: boolean | null;
}

export interface SeriesInfo {
  id: string;
  seriesKey: string;
  phase: string;
  unit: 'HU' | 'grey' | 'rescaled' | 'label';
  voxelType: 'int16' | 'uint16';
  geometry: {
    dimensions: [number, number, number];
    spacingMm: [number, number, number];
    spacingKnown: boolean;
    originMm: [number, number, number] | null;
    direction: { row: number[]; column: number[]; slice: number[] };
  };
  description?: string;
  fileWindow?: { centre: number; width: number };
}

export interface CaseDetail extends CaseSummary {
  uploads: { id: number; phase: string; fileCount: number }[];
  series: SeriesInfo[];
  jobs: Job[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | null,
  ) {
    super(hint ? `${message} (${hint})` : message);
  }
}

let csrfToken = '';
let sessionEndedHandler: () => void = () => undefined;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/**
 * Sets what to do when a request returns 401: the session expired, or the user signed out in another tab.
 */
export function onSessionEnded(handler: () => void): void {
  sessionEndedHandler = handler;
}

function checkSession(error: ApiError, path: string): ApiError {
  if (error.status === 401 && path !== '/api/auth/login') sessionEndedHandler();
  return error;
}

async function toError(response: Response, path: string): Promise<ApiError> {
  const body = await response.json().catch(() => null);
  const error = body?.error ?? {};
  return checkSession(
    new ApiError(
      response.status,
      error.code ?? 'HTTP',
      error.message ?? response.statusText,
      error.hint ?? null,
    ),
    path,
  );
}

function send(method: string, path: string, body: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
}

/**
 * Fetches the CSRF token of the current session cookie. Signing in again in another tab replaces the session,
 * and with it the token this page holds.
 */
async function refreshCsrfToken(): Promise<boolean> {
  const response = await fetch('/api/auth/session', { credentials: 'same-origin' });
  const session = response.ok ? await response.json() : null;
  if (!session?.csrfToken || session.csrfToken === csrfToken) return false;
  csrfToken = session.csrfToken;
  return true;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response = await send(method, path, body);
  if (response.status === 403 && method !== 'GET' && path !== '/api/auth/login') {
    const rejected = await toError(response.clone(), path);
    if (rejected.code === 'CSRF_REJECTED' && (await refreshCsrfToken()))
      response = await send(method, path, body);
  }
  if (!response.ok) throw await toError(response, path);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export async function fetchSlice(
  caseId: string,
  seriesId: string,
  z: number,
  signal?: AbortSignal,
): Promise<ArrayBuffer> {
  const response = await fetch(`/api/cases/${caseId}/series/${seriesId}/slices/${z}`, {
    credentials: 'same-origin',
    signal,
  });
  if (!response.ok) throw await toError(response, `/api/cases/${caseId}/series/${seriesId}/slices/${z}`);
  return response.arrayBuffer();
}

export function fetchReport(caseId: string): Promise<DiagnosisReport> {
  return request<DiagnosisReport>('GET', `/api/cases/${caseId}/report`);
}

/**
 * Returns the names the files are sent under. When the files come from several folders (a folder upload of a
 * DICOM export reuses IM00001 in every series folder), each keeps its folder as `series-<n>/name`, so they do
 * not collide. Folder names are replaced by numbers because exports often name them after the patient.
 */
export function uploadNames(files: File[]): string[] {
  const folderOf = (file: File) => {
    const relative = file.webkitRelativePath ?? '';
    return relative.includes('/') ? relative.slice(0, relative.lastIndexOf('/')) : '';
  };
  const folders = [...new Set(files.map(folderOf))];
  if (folders.length < 2) return files.map((file) => file.name);
  return files.map((file) => `series-${folders.indexOf(folderOf(file)) + 1}/${file.name}`);
}

/** Uploads files with XMLHttpRequest, which, unlike fetch, reports upload progress. */
export async function uploadFiles(
  caseId: string,
  phase: string,
  files: File[],
  onProgress: (fraction: number) => void,
): Promise<{ fileCount: number }> {
  // A rejected token would be known only after the whole upload was sent, so check the token first.
  await refreshCsrfToken().catch(() => false);
  return new Promise((resolve, reject) => {
    const form = new FormData();
    // Hidden files (.DS_Store) are skipped by the server anyway and must not count as a series folder.
    const visible = files.filter((file) => !file.name.startsWith('.'));
    const names = uploadNames(visible);
    visible.forEach((file, i) => form.append('files', file, names[i]));
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/cases/${caseId}/uploads?phase=${encodeURIComponent(phase)}`);
    xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: { fileCount: number; error?: { code?: string; message?: string; hint?: string } } | null =
        null;
      try {
        body = JSON.parse(xhr.responseText || 'null');
      } catch {
        // A proxy in front of the server may answer with an HTML page, for example a 413 of its own.
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) resolve(body);
      else {
        const error = new ApiError(
          xhr.status,
          body?.error?.code ?? 'HTTP',
          body?.error?.message ?? xhr.statusText,
          body?.error?.hint ?? null,
        );
        reject(checkSession(error, 'upload'));
      }
    };
    xhr.onerror = () =>
      reject(
        new ApiError(0, 'NETWORK', 'the upload was interrupted', 'check the connection and upload again'),
      );
    xhr.send(form);
  });
}
