//! bytes → event. Pure: no I/O, no configuration.
//!
//! `parse` answers one of three things, and the caller journals each differently:
//! an [`Event`] we act on, an [`Ignored`] event we understood but that is not for us,
//! or an [`Invalid`] body (exit 65).

mod argo;
mod flux;
mod json;
pub mod revision;
pub mod time;

pub use revision::CommitId;

use serde_json::Value;
use std::fmt;

/// The biggest body we read. Operators send a few KiB; Argo CD with thousands of
/// resources stays well under this.
pub const MAX_EVENT_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Flux,
    ArgoCd,
}

impl Operator {
    /// The name subscribers receive in `gitops_operator` (PROTOCOL §2).
    pub fn wire_name(self) -> &'static str {
        match self {
            Operator::Flux => "Flux",
            Operator::ArgoCd => "ArgoCD",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// What every parsed body says about itself, handled or ignored: the journal's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub operator: Operator,
    /// `gitops_connector_config_name`, when the event names its instance.
    pub instance: Option<String>,
    /// Flux `involvedObject.kind`; `Application` for Argo CD.
    pub kind: String,
    /// Flux `namespace/name`; the Argo CD `application` field when the template sends it.
    pub source: Option<String>,
    /// Flux `reason`; Argo CD `phase`.
    pub reason: String,
    /// The cluster or stage it comes from: Flux's `metadata.environment` (the Alert's
    /// `eventMetadata`), Argo CD's `environment` field (added to the template).
    pub environment: Option<String>,
}

/// The longest environment name: it prefixes status contexts, which hosts bound.
pub const MAX_ENVIRONMENT_CHARS: usize = 63;

/// An environment name is a word: letters, digits, `.`, `_`, `-` (it becomes part of a status
/// context and of a `require` entry, where `/` and `:` mean something).
pub fn check_environment(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_ENVIRONMENT_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "environment {name:?} must be 1 to {MAX_ENVIRONMENT_CHARS} letters, digits, '.', '_' or '-'"
        ))
    }
}

/// The environment field of an event, checked.
fn environment(value: Option<&str>) -> Result<Option<String>, Invalid> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(name) => check_environment(name)
            .map(|()| Some(name.to_string()))
            .map_err(Invalid),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub header: Header,
    pub commit: CommitId,
    /// Seconds since the epoch, from the event itself (Flux only; Argo CD sends no time).
    pub time: Option<i64>,
    pub detail: Detail,
    /// The Argo CD body was not JSON and was repaired (PROTOCOL §1).
    pub repaired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Flux(FluxEvent),
    Argo(ArgoEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FluxEvent {
    pub severity: Severity,
    pub message: String,
    /// `metadata.commit_status` is present: Flux sets it on real reconciliation results,
    /// never on the success event that reports a deletion.
    pub has_commit_status: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgoEvent {
    pub phase: String,
    pub sync_status: String,
    pub health: String,
    pub message: String,
    pub resources: Vec<ArgoResource>,
}

/// The two things we read of each `status.resources` entry; any of them may be missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgoResource {
    pub sync: Option<String>,
    pub health: Option<String>,
}

/// Understood, but nothing to do: exit 0, nothing sent, journaled as ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub header: Header,
    pub why: String,
}

crate::message_error!(
    /// A body we cannot read as a Flux or Argo CD event (exit 65). The text names the problem.
    Invalid
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Event(Event),
    Ignored(Ignored),
}

impl Event {
    /// The event as one environment's: its own `environment`, else the instance's. The source
    /// becomes `<environment>:<source>`, so that a `require` entry can name an environment.
    pub fn in_environment(mut self, fixed: Option<&str>) -> Event {
        let environment = self.header.environment.take().or(fixed.map(str::to_string));
        if let Some(env) = &environment {
            self.header.source = self.header.source.map(|s| format!("{env}:{s}"));
        }
        self.header.environment = environment;
        self
    }
}

impl Parsed {
    pub fn header(&self) -> &Header {
        match self {
            Parsed::Event(e) => &e.header,
            Parsed::Ignored(i) => &i.header,
        }
    }
}

/// Reads one operator event. The operator is told by the body's shape.
pub fn parse(bytes: &[u8]) -> Result<Parsed, Invalid> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(Invalid(format!(
            "event is {} bytes, more than the {} byte limit",
            bytes.len(),
            MAX_EVENT_BYTES
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Invalid(format!(
            "event is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    // A UTF-8 byte-order mark is not JSON, but some tools write one; it carries no meaning.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(Invalid("event is empty".into()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(body)) => {
            if body.contains_key("involvedObject") {
                flux::parse(&body)
            } else if body.contains_key("commitid") {
                argo::parse(&body, false)
            } else {
                Err(Invalid(
                    "event is neither Flux (no `involvedObject`) nor Argo CD (no `commitid`)"
                        .into(),
                ))
            }
        }
        Ok(other) => Err(Invalid(format!(
            "event is a JSON {}, expected an object",
            json::type_name(&other)
        ))),
        Err(e) => match argo::repair(text) {
            Some(body) => argo::parse(&body, true),
            None => Err(Invalid(format!("event is not valid JSON: {e}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_objects_and_empty_bodies_are_invalid_with_a_reason() {
        assert_eq!(parse(b"").unwrap_err().0, "event is empty");
        assert!(parse(b"[1]").unwrap_err().0.contains("JSON array"));
        assert!(parse(b"{\"a\":1}").unwrap_err().0.contains("neither Flux"));
        assert!(parse(b"{\"a\":").unwrap_err().0.contains("not valid JSON"));
        assert!(parse(&[0xff, 0xfe]).unwrap_err().0.contains("not UTF-8"));
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let big = vec![b' '; MAX_EVENT_BYTES + 1];
        assert!(parse(&big).unwrap_err().0.contains("byte limit"));
    }

    #[test]
    fn a_byte_order_mark_is_tolerated() {
        let body = "\u{feff}{\"commitid\":\"<no value>\",\"phase\":\"Running\",\"sync_status\":\"OutOfSync\",\"health\":\"Missing\",\"message\":\"\",\"resources\":[]}";
        assert!(matches!(parse(body.as_bytes()), Ok(Parsed::Ignored(_))));
    }
}
