//! Results on stdout. A reader that went away (`gitops-connector events | head`) or a full disk
//! must neither panic nor hide how the work went: the first write error is kept, later lines are
//! dropped, and `main` turns it into the exit code (see [`verdict`]).

use std::io::{ErrorKind, Write};
use std::sync::Mutex;

static FAILURE: Mutex<Option<(ErrorKind, String)>> = Mutex::new(None);

/// Writes one line to stdout, unless an earlier line could not be written.
pub fn line(args: std::fmt::Arguments) {
    let mut failure = FAILURE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if failure.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}").and_then(|()| out.flush()) {
        *failure = Some((e.kind(), e.to_string()));
    }
}

/// What a failed write means for the exit code. A broken pipe ends a listing quietly (the reader
/// had what it wanted); any other failure, or a broken pipe on a command that did work, is an
/// error of its own. `None`: the output is fine, or its failure changes nothing.
pub fn verdict(listing: bool) -> Option<String> {
    let failure = FAILURE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    match failure {
        None => None,
        Some((ErrorKind::BrokenPipe, _)) if listing => None,
        Some((_, message)) => Some(format!("cannot write the results to stdout: {message}")),
    }
}
