//! The durable store: one SQLite file in WAL mode.
//!
//! Every [`Transition`] is one SQLite transaction: the run's new events, its encoded mutable
//! state and version (checked against the expected one), its timer and transfer tasks, its
//! visibility row and, for a new run, the workflow id's current-run pointer. The connection holds
//! the file's lock exclusively for as long as the store lives, so two servers cannot share a file
//! by accident. Visibility rows are also kept in memory (list and count read them often).

use super::records::{
    corrupt, decode_namespace, decode_timer, decode_transfer, encode_namespace, encode_timer,
    encode_transfer, from_unix_nanos, unix_nanos,
};
use super::{
    NamespaceRecord, Recovered, RecoveredRun, RunKey, Store, StoreError, TaskRecord, TimerKind,
    TransferKind, Transition,
};
use prost::Message;
use reprise::api::temporal::api::history::v1::HistoryEvent;
use reprise::api::temporal::api::workflow::v1::WorkflowExecutionInfo;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// One transaction (one sync to disk) for the whole schema.
const SCHEMA: &str = "
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS namespaces (
    name TEXT PRIMARY KEY,
    record BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (namespace, workflow_id, run_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS current_runs (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (namespace, workflow_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    event BLOB NOT NULL,
    PRIMARY KEY (namespace, workflow_id, run_id, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS visibility (
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    info BLOB NOT NULL,
    PRIMARY KEY (namespace, workflow_id, run_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    fire_at INTEGER NOT NULL,
    kind BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_by_run ON timers (namespace, workflow_id, run_id, fire_at);
CREATE TABLE IF NOT EXISTS transfers (
    id INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    kind BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_by_run ON transfers (namespace, workflow_id, run_id);
CREATE TABLE IF NOT EXISTS schedules (
    namespace TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (namespace, schedule_id)
) WITHOUT ROWID;
PRAGMA user_version = 1;
COMMIT;
";

/// How hard SQLite works to keep a commit across failures (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// A committed transition survives a crash of the process (kill -9 included); the last
    /// transitions before a power loss or OS crash may be lost. SQLite's `NORMAL` in WAL mode.
    #[default]
    Normal,
    /// A committed transition also survives a power loss: every commit waits for the disk
    /// (`FULL`), several times slower.
    Full,
}

/// Opens `path` with the store's settings: exclusive lock, WAL, `synchronous`, schema.
fn connect(path: &Path, synchronous: Synchronous) -> Result<Connection, StoreError> {
    let path = path.to_path_buf();
    let err = |e| backend(&path, e);
    let conn = Connection::open(&path).map_err(err)?;
    // The exclusive lock is taken by the first write below and kept until the connection
    // closes; a second server on the same file fails here instead of interleaving writes.
    conn.busy_timeout(std::time::Duration::ZERO).map_err(err)?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(err)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
                StoreError::Backend(format!(
                    "{} is in use by another server (or process)",
                    path.display()
                ))
            }
            other => backend(&path, other),
        })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "{}: cannot switch to WAL mode (got {mode})",
            path.display()
        )));
    }
    let sync = match synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync).map_err(err)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(err)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "{} was written by a newer reprise-server (schema {version}, this one reads up to {SCHEMA_VERSION})",
            path.display()
        )));
    }
    conn.execute_batch(SCHEMA).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            StoreError::Backend(format!(
                "{} is in use by another server (or process)",
                path.display()
            ))
        }
        other => backend(&path, other),
    })?;
    Ok(conn)
}

/// A [`Store`] in one SQLite file (WAL mode), created if missing.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    synchronous: Synchronous,
    /// The file the connection has open ([`file_identity`]), checked before each write.
    identity: Mutex<Option<(u64, u64)>>,
    /// The size limit set by [`SqliteStore::set_size_limit`], kept across reopening.
    max_pages: Mutex<Option<i64>>,
    visibility: super::visibility_index::VisibilityIndex,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn backend(path: &Path, e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == rusqlite::ErrorCode::DiskFull
    {
        return StoreError::Full(format!("{}: {e}", path.display()));
    }
    StoreError::Backend(format!("{}: {e}", path.display()))
}

/// The identity of a file on disk (device, inode): a file removed or replaced under an open
/// connection has another (or none).
#[cfg(unix)]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|_| (0, 0))
}

impl SqliteStore {
    /// Opens (or creates) the store at `path` with [`Synchronous::Normal`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, Synchronous::default())
    }

    /// Opens (or creates) the store at `path`.
    ///
    /// Fails with a clear error if the file is not a SQLite database, was written by a newer
    /// version of this store, or is in use by another server.
    pub fn open_with(
        path: impl AsRef<Path>,
        synchronous: Synchronous,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = connect(&path, synchronous)?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
            identity: Mutex::new(file_identity(&path)),
            path,
            synchronous,
            max_pages: Mutex::new(None),
            visibility: Default::default(),
        };
        store.load_visibility()?;
        Ok(store)
    }

    /// The file this store writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection, for a write. SQLite keeps writing to a file removed (or replaced) under
    /// an open connection, and all of it would be lost at the next start; so before a write the
    /// file must still be the one the connection has open. If it is gone and its directory is
    /// back (the fault cleared), the database is written out again from the open connection
    /// (`VACUUM INTO`) and reopened there, so service resumes with nothing lost; until then,
    /// writes fail (`Unavailable`).
    fn writer(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let mut conn = self.conn();
        let mut identity = self.identity.lock().unwrap_or_else(|e| e.into_inner());
        let now = file_identity(&self.path);
        if now.is_some() && now == *identity {
            return Ok(conn);
        }
        if now.is_some() {
            return Err(StoreError::Backend(format!(
                "{} was replaced by another file while the server had it open; restart the \
                 server to use the new file, or put the old one back",
                self.path.display()
            )));
        }
        let dir_back = self
            .path
            .parent()
            .is_none_or(|d| d.as_os_str().is_empty() || d.is_dir());
        if !dir_back {
            return Err(StoreError::Backend(format!(
                "{} was removed while the server had it open; writes resume when its \
                 directory exists again",
                self.path.display()
            )));
        }
        let target = self.path.to_string_lossy().into_owned();
        conn.execute("VACUUM INTO ?1", params![target])
            .map_err(|e| self.err(e))?;
        let fresh = connect(&self.path, self.synchronous)?;
        if let Some(pages) = *self.max_pages.lock().unwrap_or_else(|e| e.into_inner()) {
            fresh
                .pragma_update(None, "max_page_count", pages)
                .map_err(|e| self.err(e))?;
        }
        *conn = fresh;
        *identity = file_identity(&self.path);
        tracing::warn!(
            "{} had been removed; written out again from the open database",
            self.path.display()
        );
        Ok(conn)
    }

    /// Limits the database to about `bytes` (SQLite's `max_page_count`): a write that would
    /// grow it further fails with [`StoreError::Full`] (`ResourceExhausted` to clients) and
    /// writes nothing, as on a full disk. Returns the limit in effect, never below the current
    /// size. Raising it later lets writes resume.
    pub fn set_size_limit(&self, bytes: u64) -> Result<u64, StoreError> {
        let conn = self.conn();
        let page_size: i64 = conn
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .map_err(|e| self.err(e))?;
        let page_size = page_size.max(1);
        // SQLite ignores 0 (and clamps to the current size anyway).
        let wanted = i64::try_from(bytes.div_ceil(page_size as u64))
            .unwrap_or(i64::MAX)
            .max(1);
        let pages: i64 = conn
            .pragma_update_and_check(None, "max_page_count", wanted, |row| row.get(0))
            .map_err(|e| self.err(e))?;
        *self.max_pages.lock().unwrap_or_else(|e| e.into_inner()) = Some(pages);
        Ok(u64::try_from(pages.saturating_mul(page_size)).unwrap_or(u64::MAX))
    }

    /// Runs SQLite's `PRAGMA integrity_check`; `Ok` when the file is sound, else the
    /// problems it lists.
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| self.err(e))?;
        let lines: Vec<String> = stmt
            .query_map([], |row| row.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        if lines.len() == 1 && lines[0] == "ok" {
            Ok(())
        } else {
            Err(StoreError::Backend(format!(
                "{} fails its integrity check: {}",
                self.path.display(),
                lines.join("; ")
            )))
        }
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        backend(&self.path, e)
    }

    fn load_visibility(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT namespace, workflow_id, run_id, info FROM visibility")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    RunKey {
                        namespace: row.get(0)?,
                        workflow_id: row.get(1)?,
                        run_id: row.get(2)?,
                    },
                    row.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (key, bytes) = row.map_err(|e| self.err(e))?;
            let info = WorkflowExecutionInfo::decode(bytes.as_slice())
                .map_err(|e| corrupt("visibility record", e))?;
            self.visibility.insert(&key, &info);
        }
        Ok(())
    }

    fn write_transition(
        &self,
        tx: &rusqlite::Transaction<'_>,
        t: &Transition<'_>,
    ) -> Result<(), StoreError> {
        let run = t.run;
        let stored: Option<(i64, i64)> = tx
            .prepare_cached(
                "SELECT version, last_event_id FROM runs
                 WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![run.namespace, run.workflow_id, run.run_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        let (version, last_event_id) = stored.unwrap_or((0, 0));
        let version = u64::try_from(version).unwrap_or(0);
        if version != t.expected_version {
            return Err(StoreError::Conflict {
                workflow_id: run.workflow_id.clone(),
                run_id: run.run_id.clone(),
                expected: t.expected_version,
                found: version,
            });
        }
        if let Some(first) = t.events.first()
            && first.event_id != last_event_id + 1
        {
            return Err(StoreError::Backend(format!(
                "event {} appended where {} was expected",
                first.event_id,
                last_event_id + 1
            )));
        }
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (namespace, workflow_id, run_id, event_id, event)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| self.err(e))?;
            for event in t.events {
                insert
                    .execute(params![
                        run.namespace,
                        run.workflow_id,
                        run.run_id,
                        event.event_id,
                        event.encode_to_vec()
                    ])
                    .map_err(|e| self.err(e))?;
            }
        }
        let last_event_id = t.events.last().map_or(last_event_id, |e| e.event_id);
        let state = t.state.ok_or_else(|| {
            StoreError::Backend("a durable store needs the run's state with each transition".into())
        })?;
        tx.prepare_cached(
            "INSERT INTO runs (namespace, workflow_id, run_id, version, last_event_id, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (namespace, workflow_id, run_id) DO UPDATE
             SET version = excluded.version, last_event_id = excluded.last_event_id,
                 state = excluded.state",
        )
        .and_then(|mut s| {
            s.execute(params![
                run.namespace,
                run.workflow_id,
                run.run_id,
                i64::try_from(t.new_version).unwrap_or(i64::MAX),
                last_event_id,
                state
            ])
        })
        .map_err(|e| self.err(e))?;
        if t.expected_version == 0 {
            tx.prepare_cached(
                "INSERT INTO current_runs (namespace, workflow_id, run_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT (namespace, workflow_id) DO UPDATE SET run_id = excluded.run_id",
            )
            .and_then(|mut s| s.execute(params![run.namespace, run.workflow_id, run.run_id]))
            .map_err(|e| self.err(e))?;
        }
        for task in t.tasks {
            match task {
                TaskRecord::Timer { fire_at, kind } => tx
                    .prepare_cached(
                        "INSERT INTO timers (namespace, workflow_id, run_id, fire_at, kind)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            run.namespace,
                            run.workflow_id,
                            run.run_id,
                            unix_nanos(*fire_at),
                            encode_timer(kind)
                        ])
                    })
                    .map_err(|e| self.err(e))?,
                TaskRecord::Transfer { kind } => tx
                    .prepare_cached(
                        "INSERT INTO transfers (namespace, workflow_id, run_id, kind)
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            run.namespace,
                            run.workflow_id,
                            run.run_id,
                            encode_transfer(kind)
                        ])
                    })
                    .map_err(|e| self.err(e))?,
                // Workflow and activity tasks are derived from the runs' states on recovery.
                TaskRecord::Workflow { .. } | TaskRecord::Activity { .. } => 0,
            };
        }
        if let Some(info) = t.visibility {
            tx.prepare_cached(
                "INSERT INTO visibility (namespace, workflow_id, run_id, info)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (namespace, workflow_id, run_id) DO UPDATE SET info = excluded.info",
            )
            .and_then(|mut s| {
                s.execute(params![
                    run.namespace,
                    run.workflow_id,
                    run.run_id,
                    info.encode_to_vec()
                ])
            })
            .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn commit(&self, t: Transition<'_>) -> Result<(), StoreError> {
        self.commit_all(&[t])
    }

    fn commit_all(&self, transitions: &[Transition<'_>]) -> Result<(), StoreError> {
        {
            let mut conn = self.writer()?;
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| self.err(e))?;
            for t in transitions {
                self.write_transition(&tx, t)?;
            }
            tx.commit().map_err(|e| self.err(e))?;
        }
        for t in transitions {
            if let Some(info) = t.visibility {
                self.visibility.insert(t.run, info);
            }
        }
        Ok(())
    }

    fn read_events(
        &self,
        run: &RunKey,
        first_event_id: i64,
        max: usize,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT event FROM events
                 WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3 AND event_id >= ?4
                 ORDER BY event_id LIMIT ?5",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![
                    run.namespace,
                    run.workflow_id,
                    run.run_id,
                    first_event_id.max(1),
                    i64::try_from(max).unwrap_or(i64::MAX)
                ],
                |row| row.get::<_, Vec<u8>>(0),
            )
            .map_err(|e| self.err(e))?;
        let mut events = Vec::new();
        for row in rows {
            let bytes = row.map_err(|e| self.err(e))?;
            events.push(HistoryEvent::decode(bytes.as_slice()).map_err(|e| corrupt("event", e))?);
        }
        Ok(events)
    }

    fn visibility_records(
        &self,
        namespace: &str,
    ) -> Result<Vec<WorkflowExecutionInfo>, StoreError> {
        Ok(self.visibility.records(namespace))
    }

    fn delete_run(&self, run: &RunKey) -> Result<(), StoreError> {
        {
            let mut conn = self.writer()?;
            let tx = conn.transaction().map_err(|e| self.err(e))?;
            for table in ["events", "runs", "visibility", "timers", "transfers"] {
                tx.execute(
                    &format!(
                        "DELETE FROM {table}
                         WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3"
                    ),
                    params![run.namespace, run.workflow_id, run.run_id],
                )
                .map_err(|e| self.err(e))?;
            }
            tx.execute(
                "DELETE FROM current_runs
                 WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3",
                params![run.namespace, run.workflow_id, run.run_id],
            )
            .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))?;
        }
        self.visibility.remove(run);
        Ok(())
    }

    fn put_namespace(&self, namespace: NamespaceRecord) -> Result<(), StoreError> {
        self.writer()?
            .execute(
                "INSERT INTO namespaces (name, record) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET record = excluded.record",
                params![namespace.name, encode_namespace(&namespace)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn namespaces(&self) -> Result<Vec<NamespaceRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT record FROM namespaces ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| row.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(decode_namespace(&row.map_err(|e| self.err(e))?)?);
        }
        Ok(out)
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn put_schedule(
        &self,
        namespace: &str,
        schedule_id: &str,
        state: &[u8],
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO schedules (namespace, schedule_id, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT (namespace, schedule_id) DO UPDATE SET state = excluded.state",
                params![namespace, schedule_id, state],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn delete_schedule(&self, namespace: &str, schedule_id: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "DELETE FROM schedules WHERE namespace = ?1 AND schedule_id = ?2",
                params![namespace, schedule_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn schedules(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT state FROM schedules ORDER BY namespace, schedule_id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| row.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        rows.map(|row| row.map_err(|e| self.err(e))).collect()
    }

    fn recover(&self) -> Result<Recovered, StoreError> {
        let conn = self.conn();
        let key = |row: &rusqlite::Row<'_>| -> rusqlite::Result<RunKey> {
            Ok(RunKey {
                namespace: row.get(0)?,
                workflow_id: row.get(1)?,
                run_id: row.get(2)?,
            })
        };
        let mut recovered = Recovered::default();
        let mut stmt = conn
            .prepare(
                "SELECT r.namespace, r.workflow_id, r.run_id, r.version, r.state,
                        c.run_id IS NOT NULL
                 FROM runs r LEFT JOIN current_runs c
                   ON c.namespace = r.namespace AND c.workflow_id = r.workflow_id
                  AND c.run_id = r.run_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(RecoveredRun::new(
                    key(row)?,
                    u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            recovered.runs.push(row.map_err(|e| self.err(e))?);
        }
        let mut stmt = conn
            .prepare("SELECT namespace, workflow_id, run_id, fire_at, kind FROM timers ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((key(row)?, row.get::<_, i64>(3)?, row.get::<_, Vec<u8>>(4)?))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (run, fire_at, kind) = row.map_err(|e| self.err(e))?;
            recovered
                .timers
                .push((run, from_unix_nanos(fire_at), decode_timer(&kind)?));
        }
        let mut stmt = conn
            .prepare("SELECT namespace, workflow_id, run_id, kind FROM transfers ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| Ok((key(row)?, row.get::<_, Vec<u8>>(3)?)))
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (run, kind) = row.map_err(|e| self.err(e))?;
            recovered.transfers.push((run, decode_transfer(&kind)?));
        }
        Ok(recovered)
    }

    fn load_run(&self, run: &RunKey) -> Result<Option<RecoveredRun>, StoreError> {
        let conn = self.conn();
        conn.prepare_cached(
            "SELECT r.version, r.state, c.run_id IS NOT NULL
             FROM runs r LEFT JOIN current_runs c
               ON c.namespace = r.namespace AND c.workflow_id = r.workflow_id
              AND c.run_id = r.run_id
             WHERE r.namespace = ?1 AND r.workflow_id = ?2 AND r.run_id = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![run.namespace, run.workflow_id, run.run_id], |row| {
                Ok(RecoveredRun::new(
                    run.clone(),
                    u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                    row.get(1)?,
                    row.get(2)?,
                ))
            })
            .optional()
        })
        .map_err(|e| self.err(e))
    }

    fn timer_done(
        &self,
        run: &RunKey,
        fire_at: SystemTime,
        kind: &TimerKind,
    ) -> Result<(), StoreError> {
        self.writer()?
            .prepare_cached(
                "DELETE FROM timers WHERE id = (
                     SELECT id FROM timers
                     WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3
                       AND fire_at = ?4 AND kind = ?5
                     LIMIT 1)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    run.namespace,
                    run.workflow_id,
                    run.run_id,
                    unix_nanos(fire_at),
                    encode_timer(kind)
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn transfer_done(&self, run: &RunKey, kind: &TransferKind) -> Result<(), StoreError> {
        self.writer()?
            .prepare_cached(
                "DELETE FROM transfers WHERE id = (
                     SELECT id FROM transfers
                     WHERE namespace = ?1 AND workflow_id = ?2 AND run_id = ?3 AND kind = ?4
                     ORDER BY id LIMIT 1)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    run.namespace,
                    run.workflow_id,
                    run.run_id,
                    encode_transfer(kind)
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
