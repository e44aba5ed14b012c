//! The SQLite backend: one file. WAL so readers never wait; a busy timeout so 32 parallel
//! invocations queue instead of failing; decisions taken in `BEGIN IMMEDIATE` transactions so two
//! processes cannot both claim the same notification. Never a token in it. The SQL itself is in
//! `journal.rs`, `outbox/`, `commits.rs`, `prs.rs` and `deployments.rs`, each the SQLite
//! implementation of its [`Store`] trait on a connection; this module opens the file, migrates
//! it, and makes a connection (or a transaction through it) the whole store.

use super::schema::{CURRENT, MIGRATIONS};
use super::store::{Backend, BackendKind, Store};
#[cfg(test)]
use super::store::{Commits, Outbox};
use anyhow::{Context, Result};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;
use std::time::Duration;

mod db;

/// Any state location that no other backend claims is a SQLite file path.
pub static BACKEND: BackendKind = BackendKind {
    name: "sqlite",
    accepts: |_| true,
    open: |opening| {
        Ok(Box::new(Sqlite::open(
            Path::new(opening.location),
            opening.busy,
        )?))
    },
};

/// The WAL is folded into the database once it holds this many pages (4 KiB each).
pub const WAL_CHECKPOINT_PAGES: i64 = 256;

pub struct Sqlite {
    pub(crate) conn: Connection,
}

impl Sqlite {
    /// Opens (creating with mode 0600) and migrates the state file. Parallel first invocations
    /// on a fresh file queue for the set-up instead of failing: SQLite does not always call the
    /// busy handler while it switches a new file to WAL, so that step is retried until `busy`.
    pub fn open(path: &Path, busy: Duration) -> Result<Sqlite> {
        if path.is_dir() {
            anyhow::bail!(
                "the state path {} is a directory: give a file path, e.g. {}",
                path.display(),
                path.join("state.db").display()
            );
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        }
        create_private(path)?;
        refuse_links(path)?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the state file {}", path.display()))?;
        wait_for_lock_until(busy);
        conn.busy_handler(Some(wait_for_lock))?;
        conn.set_prepared_statement_cache_capacity(64);
        let until = std::time::Instant::now() + busy;
        loop {
            match conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            {
                Ok(_) => break,
                Err(e) if is_busy(&e) && std::time::Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(explain_open_error(e, path))
                        .with_context(|| format!("cannot use WAL on {}", path.display()))
                }
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Each invocation is the file's only connection for a few milliseconds: by default its
        // close would checkpoint the WAL into the database and delete it, and the next one would
        // create it again: four fsyncs per event, milliseconds each on a network volume. The WAL
        // stays instead, checkpointed as it grows.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        // But the first connection of a process rebuilds the WAL's index by reading every frame
        // since the last checkpoint: at SQLite's default of 1000 pages that was up to 1 ms of an
        // invocation (0.5 ms at the median). An event writes about 35 pages, so a checkpoint
        // every 256 pages is one event in seven: measured, the cheapest both ways.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut state = Sqlite { conn };
        state
            .migrate()
            .map_err(|e| match e.downcast::<rusqlite::Error>() {
                Ok(sql) => explain_open_error(sql, path),
                Err(other) => other,
            })
            .with_context(|| format!("cannot migrate the state file {}", path.display()))?;
        Ok(state)
    }

    fn migrate(&mut self) -> Result<()> {
        // Read first, without a write lock: a current schema (every invocation but the first)
        // costs one pragma.
        if schema_version(&self.conn)? == MIGRATIONS.len() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = schema_version(&tx)?;
        if version > MIGRATIONS.len() {
            anyhow::bail!(
                "the state file has schema version {version}, newer than this binary knows ({}); use a newer gitops-connector",
                MIGRATIONS.len()
            );
        }
        if version == 0 {
            // A new state file: the current schema at once.
            tx.execute_batch(CURRENT)?;
            tx.pragma_update(None, "user_version", i64::try_from(MIGRATIONS.len())?)?;
        } else {
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", i64::try_from(i + 1)?)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

impl Backend for Sqlite {
    fn store(&self) -> &dyn Store {
        &self.conn
    }

    fn db(&self) -> &dyn super::sql::Db {
        &self.conn
    }
}

fn schema_version(conn: &Connection) -> Result<usize> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(usize::try_from(version).unwrap_or(usize::MAX))
}

/// How long one statement waits for another process's write lock (ms), and when the current
/// wait began: each statement waits the whole budget, as with SQLite's own busy timeout.
static BUSY_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
static WAITING_SINCE_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn wait_for_lock_until(busy: Duration) {
    let busy = i64::try_from(busy.as_millis()).unwrap_or(i64::MAX);
    BUSY_MS.store(busy, std::sync::atomic::Ordering::Relaxed);
}

/// SQLite's own busy handler sleeps longer and longer (up to 100 ms a try) while others hold
/// the write lock, so a burst of 32 invocations queued on sleeps rather than on the lock: a
/// transaction here holds it for well under a millisecond. This one tries again after 1 ms,
/// then 2, then every 4 ms at most (a little jitter keeps waiters apart), until the statement
/// has waited the budget. (One connection per process, used by one thread at a time.)
fn wait_for_lock(tries: i32) -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    let now = super::local_now_ms();
    if tries == 0 {
        WAITING_SINCE_MS.store(now, Relaxed);
    }
    if now.saturating_sub(WAITING_SINCE_MS.load(Relaxed)) >= BUSY_MS.load(Relaxed) {
        return false;
    }
    let base: u64 = match tries {
        0..=3 => 1,
        4..=9 => 2,
        _ => 4,
    };
    let jitter = u64::try_from(now.rem_euclid(3)).unwrap_or(0) * 250;
    std::thread::sleep(Duration::from_micros(base * 1000 + jitter));
    true
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// SQLite's own words for a read-only file or folder are terse; say what to do.
fn explain_open_error(e: rusqlite::Error, path: &Path) -> anyhow::Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen) => anyhow::anyhow!(
            "{e}: the state file {} (and its folder, for the WAL files) must be writable by this user",
            path.display()
        ),
        _ => e.into(),
    }
}

/// SQLite finds a database's WAL and lock files by the name it was opened by: the same file
/// under two names (a hard link) is two databases to it, and concurrent writers through both
/// corrupt it. Such a file is refused before it is opened.
#[cfg(unix)]
fn refuse_links(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let links = std::fs::metadata(path)
        .with_context(|| format!("cannot read the state file {}", path.display()))?
        .nlink();
    if links > 1 {
        anyhow::bail!(
            "the state file {} has {links} names (hard links): SQLite keeps its WAL and locks by \
             name, so writers through two names corrupt it; remove the other names, or copy the \
             file and use the copy",
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_links(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let unwritable = |e: std::io::Error, what: &Path| {
        anyhow::anyhow!(
            "{} is not writable by this user ({e}): the state file and its folder (SQLite writes its \
             WAL files beside it) must be writable; fix their owner or mode, or point --state elsewhere",
            what.display()
        )
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| unwritable(e, path))?;
            // An existing file keeps working, but never stays readable by others.
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
                    .with_context(|| {
                        format!(
                            "cannot make the state file {} private (mode 0600)",
                            path.display()
                        )
                    })?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(unwritable(e, path.parent().unwrap_or(path)))
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot create the state file {}", path.display()))
        }
    }
}

#[cfg(not(unix))]
fn create_private(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
pub(crate) fn temp_state(name: &str) -> (Sqlite, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "gc-state-{name}-{}-{}",
        std::process::id(),
        super::now_ms()
    ));
    let path = dir.join("state.db");
    (Sqlite::open(&path, Duration::from_secs(5)).unwrap(), dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table and index, its SQL without whitespace or quotes (a renamed table's SQL
    /// quotes its name; an added column follows its table's last).
    fn schema_of(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|row| {
                let (name, sql) = row.unwrap();
                let sql = sql
                    .chars()
                    .filter(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                (name, sql)
            })
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn a_state_file_with_a_second_name_is_refused() {
        let (state, dir) = temp_state("hard-link");
        drop(state);
        let path = dir.join("state.db");
        std::fs::hard_link(&path, dir.join("other.db")).unwrap();
        let Err(refused) = Sqlite::open(&path, Duration::from_secs(1)) else {
            panic!("a linked state file was opened");
        };
        assert!(
            refused.to_string().contains("has 2 names (hard links)"),
            "{refused}"
        );
        std::fs::remove_file(dir.join("other.db")).unwrap();
        assert!(Sqlite::open(&path, Duration::from_secs(1)).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_current_schema_is_what_the_migrations_make() {
        let migrated = Connection::open_in_memory().unwrap();
        for sql in MIGRATIONS {
            migrated.execute_batch(sql).unwrap();
        }
        let fresh = Connection::open_in_memory().unwrap();
        fresh.execute_batch(CURRENT).unwrap();
        assert_eq!(schema_of(&fresh), schema_of(&migrated));
    }

    #[test]
    fn a_new_state_is_private_and_migrated() {
        let (state, dir) = temp_state("open");
        let version: i64 = state
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(usize::try_from(version).unwrap(), MIGRATIONS.len());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("state.db"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(state);
        // Opening again is a no-op migration.
        Sqlite::open(&dir.join("state.db"), Duration::from_secs(1)).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_version_one_state_migrates_with_its_rows() {
        let dir = std::env::temp_dir().join(format!(
            "gc-state-v1-{}-{}",
            std::process::id(),
            crate::state::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO events (received_ms, command, sha256, size, outcome) VALUES (1, 'handle', x'00', 2, 'handled');
                 INSERT INTO outbox (event_id, instance, commit_id, queue, target, kind, method, url, state, created_ms, updated_ms)
                     VALUES (1, 'i', 'c', 'i/c/github', 'github', 'request', 'POST', 'https://x', 'pending', 1, 1);
                 INSERT INTO commits (instance, commit_id, outcome, notify) VALUES ('i', 'c', 'success', 'sent');",
            )
            .unwrap();
        }
        let state = Sqlite::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(schema_version(state.conn()).unwrap(), MIGRATIONS.len());
        let rows = state.conn().for_event(1).unwrap();
        assert_eq!((rows.len(), rows[0].blocked), (1, false));
        let record = Commits::get(state.conn(), "i", "c").unwrap().unwrap();
        assert!(
            record.end_statuses,
            "an ended commit keeps ending its repeats"
        );
        // What was owed before the migration is its queue's head, claimable as before.
        let ask = crate::state::outbox::Ask {
            scope: &crate::state::outbox::Scope::All,
            lease_ms: 1000,
            retry_from: None,
            now: crate::state::now_ms(),
        };
        let (_, claim) = crate::state::outbox::lease::claim_next(state.conn(), &ask, None).unwrap();
        assert!(
            matches!(claim, crate::state::outbox::Claim::Row(ref row) if row.id == rows[0].id),
            "{claim:?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
