// Opening a Trolley SQLite database, shared by the node's list store and the client's store:
// WAL and synchronous=FULL (a commit is durable when it returns, power loss included), PRAGMA
// integrity_check on open, and schema migrations. The schema version is PRAGMA user_version;
// MIGRATIONS[i] takes version i to i + 1, all in one IMMEDIATE transaction so two openers cannot
// race; PRAGMA application_id marks whose database it is, so no other file is mistaken for one.

import Database from 'better-sqlite3';

export type SqliteStoreErrorCode =
  | 'store_corrupt' // the file fails PRAGMA integrity_check or is not a SQLite database
  | 'store_schema_newer' // written by a newer build: this code does not know its schema
  | 'store_foreign'; // a SQLite database, but not a Trolley list store

/** Why a store refused to open. `message` says what to do about it. */
export class SqliteStoreError extends Error {
  override readonly name = 'SqliteStoreError';
  readonly code: SqliteStoreErrorCode;

  constructor(code: SqliteStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface SqliteKind {
  /** What the file is, for messages: "list store", "local Trolley store". */
  what: string;
  applicationId: number;
  /** Append only: never edit a shipped migration. */
  migrations: readonly string[];
  /** What to do about a damaged file (after "Refusing to open it."). */
  corruptAdvice: string;
  /** What to do about a file of another kind. */
  foreignAdvice: string;
}

export interface SqliteOpenOptions {
  busyTimeoutMs?: number;
  /** Run PRAGMA integrity_check on open (reads the whole file); default true. */
  integrityCheckOnOpen?: boolean;
}

export function openSqlite(
  path: string,
  kind: SqliteKind,
  options: SqliteOpenOptions = {},
): Database.Database {
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5_000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    if (options.integrityCheckOnOpen ?? true) {
      const report = integrityReport(db);
      if (report !== 'ok') throw corrupt(path, kind, report);
    }
    migrate(db, path, kind);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof SqliteStoreError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT')))
      throw corrupt(path, kind, String(error), error);
    throw error;
  }
}

export function integrityReport(db: Database.Database): string {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  return rows.map((row) => row.integrity_check).join('\n');
}

function corrupt(path: string, kind: SqliteKind, detail: string, cause?: unknown): SqliteStoreError {
  return new SqliteStoreError(
    'store_corrupt',
    `The ${kind.what} at ${path} is damaged (${detail.split('\n').slice(0, 5).join('; ')}). ` +
      `Refusing to open it. ${kind.corruptAdvice}`,
    { cause },
  );
}

function migrate(db: Database.Database, path: string, kind: SqliteKind): void {
  const migrations = kind.migrations;
  db.transaction(() => {
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > migrations.length) {
      throw new SqliteStoreError(
        'store_schema_newer',
        `The ${kind.what} at ${path} has schema version ${version}, but this build knows versions up to ` +
          `${migrations.length}. It was written by a newer Trolley: run that version (or newer) on it. ` +
          'Downgrading is not supported.',
      );
    }
    const applicationId = Number(db.pragma('application_id', { simple: true }));
    const tables = db
      .prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'")
      .get();
    const foreign = version === 0 ? (tables?.n ?? 0) > 0 : applicationId !== kind.applicationId;
    if (foreign) {
      throw new SqliteStoreError(
        'store_foreign',
        `${path} is a SQLite database but not a Trolley ${kind.what} (application_id ${applicationId}, ` +
          `schema version ${version}). ${kind.foreignAdvice}`,
      );
    }
    for (let v = version; v < migrations.length; v++) {
      db.exec(migrations[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
