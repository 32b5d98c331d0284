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

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

async function toError(response: Response): Promise<ApiError> {
  const body = await response.json().catch(() => null);
  const error = body?.error ?? {};
  return new ApiError(response.status, error.code ?? 'HTTP', error.message ?? response.statusText, error.hint ?? null);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export async function fetchSlice(caseId: string, seriesId: string, z: number, signal?: AbortSignal): Promise<ArrayBuffer> {
  const response = await fetch(`/api/cases/${caseId}/series/${seriesId}/slices/${z}`, { credentials: 'same-origin', signal });
  if (!response.ok) throw await toError(response);
  return response.arrayBuffer();
}

export function fetchReport(caseId: string): Promise<DiagnosisReport> {
  return request<DiagnosisReport>('GET', `/api/cases/${caseId}/report`);
}

/** Uploads files with XMLHttpRequest, which, unlike fetch, reports upload progress. */
export function uploadFiles(
  caseId: string,
  phase: string,
  files: File[],
  onProgress: (fraction: number) => void,
): Promise<{ fileCount: number }> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append('files', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/cases/${caseId}/uploads?phase=${encodeURIComponent(phase)}`);
    xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      const body = JSON.parse(xhr.responseText || 'null');
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.error?.code ?? 'HTTP', body?.error?.message ?? xhr.statusText, body?.error?.hint ?? null));
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'the upload was interrupted', 'check the connection and upload again'));
    xhr.send(form);
  });
}
