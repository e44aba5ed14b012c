//! A SQLite connection as a [`Db`]: statements through the connection's cache (SQLite parses
//! each distinct SQL text once per process instead of once per call; parsing was half of an
//! invocation's instructions), values converted at the edge.

use crate::state::sql::{Db, Rows, Value};
use anyhow::Result;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Transaction, TransactionBehavior};

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn value_of(value: ValueRef<'_>) -> Result<Value> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(t) => Value::Text(std::str::from_utf8(t)?.to_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Real(r) => {
            anyhow::bail!("the state holds a real number ({r}) where none belongs")
        }
    })
}

impl Db for Connection {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<usize> {
        Ok(self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(params))?)
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Rows> {
        let mut stmt = self.prepare_cached(sql)?;
        let columns: std::sync::Arc<[String]> =
            stmt.column_names().into_iter().map(String::from).collect();
        let width = columns.len();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut values = Vec::new();
        while let Some(row) = rows.next()? {
            values.push(
                (0..width)
                    .map(|i| value_of(row.get_ref(i)?))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        Ok(Rows { columns, values })
    }

    fn atomically(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        if !self.is_autocommit() {
            return f();
        }
        let tx = Transaction::new_unchecked(self, TransactionBehavior::Immediate)?;
        f()?;
        tx.commit()?;
        Ok(())
    }
}
