//! The exit-code table (sysexits-style), and which error maps to which code.

use crate::config::ConfigError;

/// An error that is one message, told apart by its type: `code_of` maps each type to an exit code.
#[macro_export]
macro_rules! message_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::error::Error for $name {}
    };
}
use crate::event::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Done, or understood and ignored.
    Ok = 0,
    /// The command line is wrong (clap's own code).
    Usage = 2,
    /// The event is not a Flux or Argo CD event we can read.
    InvalidEvent = 65,
    /// A bug: please report it.
    Internal = 70,
    /// I/O (sysexits' EX_IOERR): the state file cannot be read or written, or the results
    /// cannot be written to stdout.
    Io = 74,
    /// A delivery is still owed (a host was down, slow or rate-limiting); `replay --failed` sends it.
    Owed = 75,
    /// A host refused a request for good (4xx); see `events --failed`.
    HostRejected = 76,
    /// Refused: bad signature, or a callback URL outside the trusted origins.
    Refused = 77,
    /// The configuration is invalid or incomplete.
    Config = 78,
}

impl Code {
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// How a run's deliveries stand, as its exit code: a refusal is the operator's to fix, so it
    /// outranks what is merely owed, and what is owed (it will still go out) outranks a request a
    /// host rejected for good.
    pub fn standing(owed: usize, failed: usize, refused: usize) -> Code {
        if refused > 0 {
            Code::Refused
        } else if owed > 0 {
            Code::Owed
        } else if failed > 0 {
            Code::HostRejected
        } else {
            Code::Ok
        }
    }
}

crate::message_error!(
    /// Refused on our side (exit 77): a bad signature, an untrusted callback origin.
    Refused
);

crate::message_error!(
    /// The event named on the command line cannot be read (exit 2): there is nothing to journal.
    InputError
);

crate::message_error!(
    /// The state file is unusable (exit 74).
    StateError
);

crate::message_error!(
    /// The state's server cannot be reached, went away or is shutting down (exit 75): the event
    /// is owed, not lost, and its sender retries.
    StateUnavailable
);

/// The SQLite state's lock held past the budget by other processes: what is owed waits, as
/// it does behind PostgreSQL's lock (exit 75 on both).
pub fn is_busy(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause.downcast_ref::<rusqlite::Error>().is_some_and(|e| {
        matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

pub fn code_of(error: &anyhow::Error) -> Code {
    for cause in error.chain() {
        if cause.is::<Invalid>() {
            return Code::InvalidEvent;
        }
        if cause.is::<ConfigError>() {
            return Code::Config;
        }
        if cause.is::<Refused>() {
            return Code::Refused;
        }
        if cause.is::<InputError>() {
            return Code::Usage;
        }
        if cause.is::<StateUnavailable>() {
            return Code::Owed;
        }
        if is_busy(cause) {
            return Code::Owed;
        }
        if cause.is::<StateError>() || cause.is::<rusqlite::Error>() {
            return Code::Io;
        }
    }
    Code::Internal
}

/// Every exit code and what it means: `--help` and the man page are written from this.
pub const CODES: &[(u8, &str)] = &[
    (0, "done, or the event was understood and ignored"),
    (
        2,
        "usage: the command line is wrong, or the event file cannot be read",
    ),
    (65, "invalid event (journaled as rejected; nothing sent)"),
    (70, "internal error (a bug: please report it)"),
    (
        74,
        "the state file cannot be opened or written, or the results cannot be written to stdout",
    ),
    (
        75,
        "a delivery is still owed (host down, slow, rate-limiting, or waiting on a configuration \
         fix: a refused token, a missing permission, a repository the token cannot see): \
         `replay --failed` sends it, planned again with the fixed configuration",
    ),
    (
        76,
        "a host refused a request for good (a 422, other 4xx): see `events --failed`",
    ),
    (
        77,
        "refused: bad signature, or a callback URL outside the trusted origins",
    ),
    (
        78,
        "invalid or incomplete configuration (the message names the key)",
    ),
];

/// The exit codes for `--help`: one row per code, wrapped under its text.
pub fn help_table() -> String {
    let mut out = String::from("Exit codes:");
    for (code, meaning) in CODES {
        let mut line = format!("\n  {code:<3} ");
        for word in meaning.split_whitespace() {
            if line.len() + word.len() > 96 {
                out.push_str(line.trim_end());
                line = format!("\n{:6}", "");
            }
            line.push_str(word);
            line.push(' ');
        }
        out.push_str(line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn a_refusal_outranks_what_is_owed_which_outranks_a_rejection() {
        assert_eq!(Code::standing(0, 0, 0), Code::Ok);
        assert_eq!(Code::standing(0, 1, 0), Code::HostRejected);
        assert_eq!(Code::standing(1, 1, 0), Code::Owed);
        assert_eq!(Code::standing(1, 1, 1), Code::Refused);
        assert_eq!(Code::standing(0, 0, 1), Code::Refused);
    }
}
