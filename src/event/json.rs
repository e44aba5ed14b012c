//! Field access that names the field at fault, so an invalid event says exactly what is wrong.

use super::Invalid;
use serde_json::{Map, Value};

pub type Object = Map<String, Value>;

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A required string field.
pub fn string<'a>(obj: &'a Object, path: &str, key: &str) -> Result<&'a str, Invalid> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(wrong_type(path, key, "a string", other)),
        None => Err(Invalid(format!("field `{}` is missing", join(path, key)))),
    }
}

/// An optional string field: absent and null are both "not there".
pub fn opt_string<'a>(obj: &'a Object, path: &str, key: &str) -> Result<Option<&'a str>, Invalid> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(Some(s)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(wrong_type(path, key, "a string", other)),
    }
}

/// A required object field.
pub fn object<'a>(obj: &'a Object, path: &str, key: &str) -> Result<&'a Object, Invalid> {
    match obj.get(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(other) => Err(wrong_type(path, key, "an object", other)),
        None => Err(Invalid(format!("field `{}` is missing", join(path, key)))),
    }
}

fn wrong_type(path: &str, key: &str, expected: &str, got: &Value) -> Invalid {
    Invalid(format!(
        "field `{}` must be {expected}, not a {}",
        join(path, key),
        type_name(got)
    ))
}

pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
