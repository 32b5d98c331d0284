/**
 * The audit log: one row per access to a case (read, upload, job, report, delete) and per sign-in attempt.
 * Slice reads are frequent (hundreds while scrolling), so they are recorded at most once per session, series
 * and {@link SLICE_AUDIT_INTERVAL_MS}.
 */
import type { Db } from './database.ts';
import type { User } from './users.ts';

export const SLICE_AUDIT_INTERVAL_MS = 10 * 60 * 1000;

export interface AuditEntry {
  action: string;
  user?: User | null;
  caseId?: string | null;
  detail?: Record<string, unknown>;
  remoteAddress?: string;
}

export class AuditLog {
  private readonly lastSliceRead = new Map<string, number>();
  private readonly insert;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO audit_log (at, user_id, user_name, action, case_id, detail, remote_address)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  record(entry: AuditEntry): void {
    this.insert.run(
      new Date().toISOString(),
      entry.user?.id ?? null,
      entry.user?.name ?? null,
      entry.action,
      entry.caseId ?? null,
      entry.detail ? JSON.stringify(entry.detail) : null,
      entry.remoteAddress ?? null,
    );
  }

  /** Records a slice read unless the same session read this series within the interval. */
  recordSliceRead(
    sessionKey: string,
    entry: AuditEntry & { caseId: string; detail: { seriesId: string } },
  ): void {
    const key = `${sessionKey}:${entry.detail.seriesId}`;
    const now = Date.now();
    const last = this.lastSliceRead.get(key);
    if (last !== undefined && now - last < SLICE_AUDIT_INTERVAL_MS) return;
    this.lastSliceRead.set(key, now);
    if (this.lastSliceRead.size > 10_000) this.lastSliceRead.clear();
    this.record(entry);
  }

  list(filter: { caseId?: string; limit: number }) {
    const rows = filter.caseId
      ? this.db
          .prepare('SELECT * FROM audit_log WHERE case_id = ? ORDER BY id DESC LIMIT ?')
          .all(filter.caseId, filter.limit)
      : this.db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?').all(filter.limit);
    return (rows as Record<string, unknown>[]).map((row) => ({
      id: row.id,
      at: row.at,
      userId: row.user_id,
      userName: row.user_name,
      action: row.action,
      caseId: row.case_id,
      detail: row.detail ? JSON.parse(row.detail as string) : null,
      remoteAddress: row.remote_address,
    }));
  }
}
