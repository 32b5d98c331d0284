/**
 * The versioned schema of the server database. Each migration runs once, in order, inside a transaction, and
 * its version is recorded in `schema_migrations`. Append new migrations; never edit one that has shipped.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users, sessions, cases, uploads, series, jobs, results, lesions and the audit log',
    sql: `
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'clinician')),
        created_at TEXT NOT NULL
      );
      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by INTEGER REFERENCES users(id) ON DELETE SET NULL
      );
      CREATE TABLE uploads (
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        phase TEXT NOT NULL,
        folder TEXT NOT NULL,
        file_count INTEGER NOT NULL,
        byte_count INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE series (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        series_key TEXT NOT NULL,
        position INTEGER NOT NULL,
        phase TEXT NOT NULL,
        phase_source TEXT NOT NULL,
        unit TEXT NOT NULL,
        voxel_type TEXT NOT NULL CHECK (voxel_type IN ('int16', 'uint16')),
        columns INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        slices INTEGER NOT NULL,
        geometry TEXT NOT NULL,
        description TEXT,
        file_window TEXT,
        warnings TEXT NOT NULL
      );
      CREATE INDEX series_case ON series(case_id);
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('ingest', 'diagnose')),
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')),
        stage TEXT,
        progress REAL NOT NULL DEFAULT 0,
        error TEXT,
        rerun_of TEXT,
        created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      );
      CREATE INDEX jobs_case ON jobs(case_id);
      CREATE TABLE results (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        job_id TEXT NOT NULL,
        folder TEXT NOT NULL,
        demo_models INTEGER NOT NULL,
        models TEXT NOT NULL,
        patient TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX results_case ON results(case_id);
      CREATE TABLE lesions (
        id INTEGER PRIMARY KEY,
        result_id TEXT NOT NULL REFERENCES results(id) ON DELETE CASCADE,
        lesion_key TEXT NOT NULL,
        p_malignant REAL,
        call TEXT,
        call_probability REAL,
        probabilities TEXT,
        phases TEXT NOT NULL
      );
      CREATE INDEX lesions_result ON lesions(result_id);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user_id INTEGER,
        user_name TEXT,
        action TEXT NOT NULL,
        case_id TEXT,
        detail TEXT,
        remote_address TEXT
      );
      CREATE INDEX audit_case ON audit_log(case_id);
    `,
  },
];
