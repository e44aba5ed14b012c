//! The PostgreSQL backend: one database shared by every replica and periodic job. The state's
//! operations are the same SQL as SQLite's (see `sql.rs`), rewritten where the spelling differs.
//! Decisions are taken in transactions that first take one advisory lock, as SQLite's `BEGIN
//! IMMEDIATE` takes its write lock: two replicas can never both claim a notification or a row,
//! and the unique keys of the schema hold the rest. Never a token, nor the password, in it.

mod connect;
mod dialect;

use super::schema::{CURRENT, MIGRATIONS};
use super::sql::{Db, Rows, Value};
use super::store::{Backend, BackendKind, Opening, Store};
use crate::exit::StateUnavailable;
use anyhow::{Context, Result};
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type};
use std::cell::{Cell, RefCell};
use std::sync::Arc;

pub use connect::is_url;

/// `postgres://` and `postgresql://` URLs, in libpq's form.
pub static BACKEND: BackendKind = BackendKind {
    name: "postgres",
    accepts: connect::is_url,
    open: |opening| Ok(Box::new(Postgres::open(opening)?)),
};

/// The one lock every deciding transaction takes first ("gitopsco"): `pg_locks` shows it as an
/// advisory lock with this key while a replica decides.
pub const LOCK: i64 = 7_451_615_080_437_998_447;

/// Where the schema version is kept (SQLite keeps it in `PRAGMA user_version`).
const VERSION_TABLE: &str = "gitops_connector_schema";

pub struct Postgres {
    client: RefCell<postgres::Client>,
    in_transaction: Cell<bool>,
    /// The URL without its password, for messages.
    shown: String,
}

impl Postgres {
    pub fn open(opening: &Opening) -> Result<Postgres> {
        let shown = crate::url::without_credentials(opening.location);
        let mut target = connect::target(opening.location, opening.password_file, &|key| {
            std::env::var(key).ok()
        })?;
        // A decision waits for another replica's as long as the budget allows, then the event is
        // owed (exit 75), never lost. Set in the start-up packet: no round trip of its own.
        let wait = format!("-c lock_timeout={}", opening.busy.as_millis());
        let options = match target.config.get_options() {
            Some(given) => format!("{given} {wait}"),
            None => wait,
        };
        target.config.options(&options);
        let client = match target.tls {
            None => target.config.connect(postgres::NoTls),
            Some(verify) => target
                .config
                .connect(connect::tls(verify, target.root_cert.as_deref())?),
        }
        .map_err(|e| failure(&e, &shown))?;
        let state = Postgres {
            client: RefCell::new(client),
            in_transaction: Cell::new(false),
            shown,
        };
        state
            .migrate()
            .with_context(|| format!("cannot migrate the state at {}", state.shown))?;
        Ok(state)
    }

    fn migrate(&self) -> Result<()> {
        // Every invocation but the first finds the current version with one read, no lock; the
        // same read sets the state's clock.
        let current = i64::try_from(MIGRATIONS.len())?;
        if self.version()? == Some(current) {
            return Ok(());
        }
        Db::atomically(self, &mut || {
            let mut client = self.client.borrow_mut();
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version BIGINT NOT NULL)"
                ))
                .map_err(|e| failure(&e, &self.shown))?;
            let version: i64 = client
                .query_opt(&format!("SELECT version FROM {VERSION_TABLE}"), &[])
                .map_err(|e| failure(&e, &self.shown))?
                .map_or(0, |row| row.get(0));
            if version > current {
                anyhow::bail!(
                    "the state has schema version {version}, newer than this binary knows ({current}); use a newer gitops-connector"
                );
            }
            let scripts: Vec<String> = if version == 0 {
                vec![dialect::schema(CURRENT)]
            } else {
                MIGRATIONS[usize::try_from(version)?..]
                    .iter()
                    .map(|sql| dialect::schema(sql))
                    .collect()
            };
            for script in scripts {
                client
                    .batch_execute(&script)
                    .map_err(|e| failure(&e, &self.shown))?;
            }
            client
                .batch_execute(&format!(
                    "DELETE FROM {VERSION_TABLE}; INSERT INTO {VERSION_TABLE} VALUES ({current})"
                ))
                .map_err(|e| failure(&e, &self.shown))?;
            Ok(())
        })
    }

    /// The schema version, `None` before the first migration. Sets the state's clock from the
    /// same read: leases and backoff run on the server's clock, shared by every replica (its
    /// offset from ours, half the round trip counted to each side).
    fn version(&self) -> Result<Option<i64>> {
        let before = super::local_now_ms();
        let clock = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
        let read = self.client.borrow_mut().query_opt(
            &format!("SELECT version, {clock} FROM {VERSION_TABLE}"),
            &[],
        );
        let after = super::local_now_ms();
        let (version, server) = if let Ok(Some(row)) = &read {
            (Some(row.get::<_, i64>(0)), row.get::<_, i64>(1))
        } else {
            if let Err(e) = &read {
                if e.code() != Some(&SqlState::UNDEFINED_TABLE) {
                    return Err(failure(e, &self.shown));
                }
            }
            let server: i64 = self
                .client
                .borrow_mut()
                .query_one(&format!("SELECT {clock}"), &[])
                .map_err(|e| failure(&e, &self.shown))?
                .get(0);
            (None, server)
        };
        super::set_clock_offset(server - i64::midpoint(before, after));
        Ok(version)
    }
}

impl Backend for Postgres {
    fn store(&self) -> &dyn Store {
        self
    }

    fn db(&self) -> &dyn Db {
        self
    }

    /// Identity columns do not follow ids inserted explicitly: restart them after the largest.
    fn after_copy(&self) -> Result<()> {
        for table in ["events", "outbox"] {
            self.client
                .borrow_mut()
                .batch_execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"
                ))
                .map_err(|e| failure(&e, &self.shown))?;
        }
        Ok(())
    }
}

/// Each parameter with the type it is sent as: a statement then takes one round trip (parse,
/// bind and execute at once) instead of a prepare first. Text and NULL are left for the server
/// to infer (type 0), as text or JSON (a bound list) as the statement needs.
fn bound(params: &[Value]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    let inferred = || {
        Type::new(
            "unknown".into(),
            0,
            postgres::types::Kind::Pseudo,
            "pg_catalog".into(),
        )
    };
    params
        .iter()
        .map(|v| {
            let ty = match v {
                Value::Int(_) => Type::INT8,
                Value::Blob(_) => Type::BYTEA,
                Value::Text(_) | Value::Null => inferred(),
            };
            (v as &(dyn ToSql + Sync), ty)
        })
        .collect()
}

/// Whether a statement writes: outside a transaction it still takes the lock first.
fn writes(sql: &str) -> bool {
    let verb = sql.trim_start().get(..6).unwrap_or("");
    ["INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|w| verb.eq_ignore_ascii_case(w))
}

impl Postgres {
    /// Runs `f` as it is inside a transaction; a write outside one gets a transaction of its
    /// own that takes the lock first, as every write on SQLite takes the file's write lock.
    /// So no write of any replica lands between another's read and its decision.
    fn locked<T>(&self, sql: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.in_transaction.get() || !writes(sql) {
            return f();
        }
        super::sql::transaction(|g| Db::atomically(self, g), f)
    }
}

impl Db for Postgres {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<usize> {
        self.locked(sql, || self.execute_now(sql, params))
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Rows> {
        self.locked(sql, || self.query_now(sql, params))
    }

    fn atomically(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        if self.in_transaction.get() {
            return f();
        }
        let begun = self
            .client
            .borrow_mut()
            .batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({LOCK})"));
        if let Err(e) = begun {
            // A lock that timed out leaves the transaction aborted: end it, so that the
            // connection stays usable for what the caller does next.
            let _ = self.client.borrow_mut().batch_execute("ROLLBACK");
            return Err(failure(&e, &self.shown));
        }
        self.in_transaction.set(true);
        let result = f();
        self.in_transaction.set(false);
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = self.client.borrow_mut().batch_execute(end);
        result?;
        ended.map_err(|e| failure(&e, &self.shown))
    }
}

impl Postgres {
    fn execute_now(&self, sql: &str, params: &[Value]) -> Result<usize> {
        let changed = self
            .client
            .borrow_mut()
            .execute_typed(&dialect::statement(sql), &bound(params))
            .map_err(|e| failure(&e, &self.shown))?;
        Ok(usize::try_from(changed)?)
    }

    fn query_now(&self, sql: &str, params: &[Value]) -> Result<Rows> {
        let rows = self
            .client
            .borrow_mut()
            .query_typed(&dialect::statement(sql), &bound(params))
            .map_err(|e| failure(&e, &self.shown))?;
        let columns: Arc<[String]> = rows.first().map_or_else(
            || Arc::from(Vec::new()),
            |row| row.columns().iter().map(|c| c.name().to_string()).collect(),
        );
        let values = rows
            .iter()
            .map(|row| (0..columns.len()).map(|i| value_at(row, i)).collect())
            .collect::<Result<_>>()?;
        Ok(Rows { columns, values })
    }
}

/// A column as a [`Value`], by the type PostgreSQL says it has.
fn value_at(row: &postgres::Row, i: usize) -> Result<Value> {
    let ty = row.columns()[i].type_();
    let int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
    Ok(match *ty {
        Type::INT8 => int(row.try_get(i)?),
        Type::INT4 => int(row.try_get::<_, Option<i32>>(i)?.map(i64::from)),
        Type::INT2 => int(row.try_get::<_, Option<i16>>(i)?.map(i64::from)),
        Type::BOOL => int(row.try_get::<_, Option<bool>>(i)?.map(i64::from)),
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text),
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Blob),
        _ => anyhow::bail!(
            "the state's column {} has type {ty}, which it never holds",
            row.columns()[i].name()
        ),
    })
}

/// Binds a [`Value`] as the type PostgreSQL inferred for the parameter.
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Value::Text(s) => match *ty {
                // A bound list (`json_each`): JSON's binary form is its text.
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                _ => s.as_str().to_sql(ty, out),
            },
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A PostgreSQL error as the rest of the program sees it: a server that cannot be reached, went
/// away or is shutting down makes the event owed (exit 75, the sender retries); anything else
/// (a refused password, a certificate that does not verify, SQL) is the state failing (exit 74).
/// Never the password: the location is shown without it.
fn failure(e: &postgres::Error, shown: &str) -> anyhow::Error {
    let io_kind = std::iter::successors(std::error::Error::source(e), |s| s.source())
        .find_map(|s| s.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let unavailable = match e.code() {
        Some(code) => {
            let code = code.code();
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code == SqlState::LOCK_NOT_AVAILABLE.code()
        }
        // A TLS failure comes as invalid data: it will not mend by itself.
        None => {
            e.is_closed()
                || io_kind.is_some_and(|kind| {
                    !matches!(
                        kind,
                        std::io::ErrorKind::InvalidData
                            | std::io::ErrorKind::InvalidInput
                            | std::io::ErrorKind::PermissionDenied
                    )
                })
        }
    };
    let detail = e.as_db_error().map_or_else(
        || format!("{e}"),
        |db| format!("{}: {}", db.severity(), db.message()),
    );
    let detail = match std::error::Error::source(e) {
        Some(source) if e.as_db_error().is_none() => format!("{detail}: {source}"),
        _ => detail,
    };
    if unavailable {
        return StateUnavailable(format!(
            "the PostgreSQL state at {shown} is unavailable ({detail}): the event is owed, send it again when the server is back"
        ))
        .into();
    }
    // What to set, by what failed: the server's SQLSTATE, the TLS library's error; the client
    // library names two of its own failures only in words.
    let certificate = std::iter::successors(std::error::Error::source(e), |s| s.source())
        .filter_map(|s| s.downcast_ref::<std::io::Error>())
        .filter_map(|io| io.get_ref()?.downcast_ref::<rustls::Error>())
        .any(|tls| matches!(tls, rustls::Error::InvalidCertificate(_)));
    let password = e.code().is_some_and(|c| {
        *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    }) || (e.as_db_error().is_none() && detail.contains("password missing"));
    let advice = if certificate {
        ": name the CA that signed the server's certificate with sslrootcert=PATH in the URL (or PGSSLROOTCERT), or use sslmode=require to encrypt without checking it"
    } else if password {
        ": check the user and the password (the URL, state_password_file, PGPASSWORD or the pgpass file)"
    } else if detail.contains("does not support TLS") {
        ": the server offers no TLS; enable it there (ssl = on), or use sslmode=prefer or disable on a network you trust"
    } else {
        ""
    };
    crate::exit::StateError(format!("the PostgreSQL state at {shown}: {detail}{advice}")).into()
}
