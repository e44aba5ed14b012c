//! Diagnostics on stderr, as text for people or one JSON object per line for log collectors.
//! Results go to stdout; this is only for what happened along the way.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

static SETTINGS: OnceLock<(Level, Format)> = OnceLock::new();

pub fn init(level: Level, format: Format) {
    let _ = SETTINGS.set((level, format));
}

fn settings() -> (Level, Format) {
    *SETTINGS.get().unwrap_or(&(Level::Normal, Format::Text))
}

fn emit(level: &str, message: &str) {
    match settings().1 {
        Format::Text => eprintln!("{level}: {message}"),
        Format::Json => eprintln!(
            "{}",
            serde_json::json!({"ts_ms": crate::state::now_ms(), "level": level, "message": message})
        ),
    }
}

/// Something a user should see: a warning, a skipped notification.
pub fn warn(message: &str) {
    if settings().0 >= Level::Normal {
        emit("warning", message);
    }
}

/// The story of one invocation, shown with -v.
pub fn verbose(message: &str) {
    if settings().0 >= Level::Verbose {
        emit("info", message);
    }
}

/// Always printed, whatever -q says: the one line that explains a non-zero exit.
pub fn error(message: &str) {
    emit("error", message);
}
