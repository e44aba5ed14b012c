//! The SQL both backends speak. Every state operation is written once, against [`Db`], in the
//! subset of SQL that SQLite and PostgreSQL share (`?N` parameters, `ON CONFLICT`, `RETURNING`,
//! `COUNT(*) FILTER`, `json_each` for a bound list); each backend runs it on its own connection,
//! PostgreSQL after rewriting the few spellings that differ (see `postgres::dialect`).

use anyhow::{bail, Result};
use std::sync::Arc;

/// A value bound to a parameter or read from a column. Integers, text and bytes are all the
/// state holds; a flag is an integer 0/1 in both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// One connection to a state: SQL in, rows out, and transactions that take the write lock up
/// front (SQLite's `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), so that a read-then-write
/// decision never interleaves with another process's.
pub trait Db {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<usize>;

    fn query(&self, sql: &str, params: &[Value]) -> Result<Rows>;

    /// Runs `f` in a transaction, committed when it returns `Ok`, rolled back otherwise. `f` uses
    /// this same connection; inside a transaction already, `f` simply joins it.
    fn atomically(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<()>;
}

/// Runs `f` through `atomically` (a [`Db`]'s or a store's, which take a `dyn FnMut` to stay
/// object-safe) and hands back what `f` returned.
pub fn transaction<T>(
    atomically: impl FnOnce(&mut dyn FnMut() -> Result<()>) -> Result<()>,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let mut f = Some(f);
    let mut value = None;
    atomically(&mut || {
        if let Some(f) = f.take() {
            value = Some(f()?);
        }
        Ok(())
    })?;
    value.ok_or_else(|| anyhow::anyhow!("the state's transaction did not run"))
}

/// The rows of one query, with their column names (shared, not copied per row).
pub struct Rows {
    pub columns: Arc<[String]>,
    pub values: Vec<Vec<Value>>,
}

pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

/// A column by position or by name.
pub trait Column: Copy + std::fmt::Debug {
    fn position(self, columns: &[String]) -> Option<usize>;
}

impl Column for usize {
    fn position(self, columns: &[String]) -> Option<usize> {
        (self < columns.len()).then_some(self)
    }
}

impl Column for &str {
    fn position(self, columns: &[String]) -> Option<usize> {
        columns.iter().position(|c| c == self)
    }
}

impl Row<'_> {
    pub fn get<T: FromValue>(&self, column: impl Column) -> Result<T> {
        let Some(i) = column.position(self.columns) else {
            bail!("the state's query has no column {column:?}");
        };
        T::from_value(&self.values[i])
            .map_err(|e| anyhow::anyhow!("column {:?} of the state: {e}", self.columns[i]))
    }
}

/// Reads a column into a Rust value; a mismatch is an error, never a default.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self>;
}

fn mismatch<T>(value: &Value, want: &str) -> Result<T> {
    bail!("expected {want}, found {value:?}")
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<i64> {
        match value {
            Value::Int(i) => Ok(*i),
            other => mismatch(other, "an integer"),
        }
    }
}

impl FromValue for u64 {
    fn from_value(value: &Value) -> Result<u64> {
        Ok(u64::try_from(i64::from_value(value)?)?)
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<bool> {
        Ok(i64::from_value(value)? != 0)
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => mismatch(other, "text"),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Vec<u8>> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            other => mismatch(other, "bytes"),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Option<T>> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// Binds a Rust value to a parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}

impl ToValue for u16 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// The parameters of a statement, in order: `values![id, why, now]`.
#[macro_export]
macro_rules! values {
    ($($value:expr),* $(,)?) => {
        &[$($crate::state::sql::ToValue::to_value(&$value)),*] as &[$crate::state::sql::Value]
    };
}

/// Reading helpers over any [`Db`].
pub trait Sql: Db {
    /// The first row's `f`, or `None` when there is none.
    fn one<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let rows = self.query(sql, params)?;
        rows.values
            .first()
            .map(|values| {
                f(&Row {
                    columns: &rows.columns,
                    values,
                })
            })
            .transpose()
    }

    /// Every row's `f`, collected.
    fn all<T, C: FromIterator<T>>(
        &self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<C> {
        let rows = self.query(sql, params)?;
        rows.values
            .iter()
            .map(|values| {
                f(&Row {
                    columns: &rows.columns,
                    values,
                })
            })
            .collect()
    }
}

impl<D: Db + ?Sized> Sql for D {}

/// Declares how an enum is spelled in the state, with `as_str`, `parse`, `Display`, and its
/// conversions to and from a [`Value`]: an unknown word read back is an error.
#[macro_export]
macro_rules! stored_words {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::state::sql::ToValue for $ty {
            fn to_value(&self) -> $crate::state::sql::Value {
                $crate::state::sql::Value::Text(self.as_str().to_owned())
            }
        }

        impl $crate::state::sql::FromValue for $ty {
            fn from_value(value: &$crate::state::sql::Value) -> anyhow::Result<Self> {
                let text = String::from_value(value)?;
                Self::parse(&text).ok_or_else(|| {
                    anyhow::anyhow!("the state holds {text:?}, which is not a known {}", stringify!($ty))
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_read_as_the_wrong_kind_is_an_error_not_a_default() {
        assert!(i64::from_value(&Value::Text("1".into())).is_err());
        assert!(String::from_value(&Value::Null).is_err());
        assert_eq!(Option::<i64>::from_value(&Value::Null).unwrap(), None);
        assert!(bool::from_value(&Value::Int(1)).unwrap());
        assert!(u64::from_value(&Value::Int(-1)).is_err());
    }
}
