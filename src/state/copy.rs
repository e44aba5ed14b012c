//! `state migrate`: one state copied into another, table by table, in the SQL both backends
//! speak, so that a team moving from a SQLite file to PostgreSQL keeps its journal, what is
//! owed, what was told and the PRs it handled, and notifies nothing again.

use super::sql::{Db, Sql as _};
use anyhow::Result;
use serde::Serialize;

/// Every table of the state, each after those its rows point to.
const TABLES: &[&str] = &[
    "bodies",
    "events",
    "outbox",
    "attempts",
    "commits",
    "sources",
    "contexts",
    "prs",
    "deployments",
    "pipelines",
];

/// How many rows of each table were copied, and how many requests are still owed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Copied {
    pub tables: Vec<(String, usize)>,
    pub owed: i64,
}

impl Copied {
    pub fn rows(&self, table: &str) -> usize {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .map_or(0, |(_, n)| *n)
    }
}

/// Copies every row of `from` into `to`, which must hold nothing yet. The caller runs it inside
/// a transaction of each (the source's keeps writers out meanwhile).
pub fn copy(from: &dyn Db, to: &dyn Db) -> Result<Copied> {
    for table in ["events", "outbox", "commits", "prs"] {
        let rows = to
            .one(&format!("SELECT COUNT(*) FROM {table}"), &[], |r| {
                r.get::<i64>(0)
            })?
            .unwrap_or(0);
        if rows > 0 {
            return Err(crate::exit::InputError(format!(
                "the destination already holds {rows} rows in {table}: `state migrate` copies into an empty state only"
            ))
            .into());
        }
    }
    let mut copied = Copied::default();
    for table in TABLES {
        let rows = from.query(&format!("SELECT * FROM {table}"), &[])?;
        let columns = rows.columns.join(", ");
        let slots: Vec<String> = (1..=rows.columns.len()).map(|i| format!("?{i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({columns}) VALUES ({})",
            slots.join(", ")
        );
        for values in &rows.values {
            to.execute(&insert, values)?;
        }
        copied
            .tables
            .push(((*table).to_string(), rows.values.len()));
    }
    copied.owed = to
        .one(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')",
            &[],
            |r| r.get(0),
        )?
        .unwrap_or(0);
    Ok(copied)
}
