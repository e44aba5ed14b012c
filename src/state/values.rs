//! The words the state stores, as enums. Each is written and read through `stored_words!`, and
//! the schema's `CHECK` constraints hold the same lists: an unknown word read back is an error,
//! never silently taken for another value.

/// Where an outbox row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    /// Owed: waiting for its turn, a retry, or a configuration fix.
    Pending,
    /// Leased by a process that is sending it.
    Sending,
    Done,
    /// Refused by the host for good.
    Failed,
    /// A notification flow found nothing to notify.
    Nothing,
    /// We would not send it (untrusted callback origin).
    Refused,
    /// Re-planned with the current configuration: another row took its place, or none is needed.
    Replaced,
}

crate::stored_words!(RowState {
    Pending => "pending",
    Sending => "sending",
    Done => "done",
    Failed => "failed",
    Nothing => "nothing",
    Refused => "refused",
    Replaced => "replaced",
});

impl RowState {
    pub fn is_open(self) -> bool {
        matches!(self, RowState::Pending | RowState::Sending)
    }
}

/// What the orchestrator has been told of a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Notified {
    /// Claimed: a notification row is in the outbox.
    Owed,
    Sent,
    /// The flow found nothing to notify (no PR, plan already over, no failure dispatch).
    Nothing,
    Failed,
    /// The host said the commit had ended before our records began.
    Assumed,
}

crate::stored_words!(Notified {
    Owed => "owed",
    Sent => "sent",
    Nothing => "nothing",
    Failed => "failed",
    Assumed => "assumed",
});

/// What `poll-prs` did with an abandoned PR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrState {
    Queued,
    Sent,
    Nothing,
    Failed,
}

crate::stored_words!(PrState {
    Queued => "queued",
    Sent => "sent",
    Nothing => "nothing",
    Failed => "failed",
});

impl From<Notified> for PrState {
    fn from(n: Notified) -> PrState {
        match n {
            Notified::Owed => PrState::Queued,
            Notified::Sent | Notified::Assumed => PrState::Sent,
            Notified::Nothing => PrState::Nothing,
            Notified::Failed => PrState::Failed,
        }
    }
}

crate::stored_words!(crate::report::Outcome {
    Success => "success",
    Failure => "failure",
});

crate::stored_words!(crate::request::Method {
    Get => "GET",
    Post => "POST",
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sql::Sql as _;
    use crate::state::temp_state;
    use crate::values;

    #[test]
    fn every_word_reads_back_as_itself_and_an_unknown_one_is_an_error() {
        let (state, dir) = temp_state("values");
        let c = state.conn();
        for word in [
            RowState::Pending,
            RowState::Sending,
            RowState::Done,
            RowState::Failed,
            RowState::Nothing,
            RowState::Refused,
            RowState::Replaced,
        ] {
            let back: Option<RowState> = c.one("SELECT ?1", values![word], |r| r.get(0)).unwrap();
            assert_eq!(back, Some(word));
        }
        let unknown = c.one("SELECT 'handle-ish'", &[], |r| r.get::<RowState>(0));
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("not a known RowState"));
        let method = c.one("SELECT 'PUT'", &[], |r| r.get::<crate::request::Method>(0));
        assert!(method.is_err(), "never silently POST");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_schema_refuses_a_word_it_does_not_know() {
        let (state, dir) = temp_state("checks");
        let c = state.conn();
        let refused = c.execute(
            "INSERT INTO outbox (instance, queue, target, kind, created_ms, updated_ms) VALUES ('i', 'q', 't', 'bogus', 0, 0)",
            [],
        );
        assert!(refused.unwrap_err().to_string().contains("CHECK"));
        let refused = c.execute(
            "INSERT INTO events (received_ms, command, sha256, size) VALUES (0, 'handle-ish', x'00', 0)",
            [],
        );
        assert!(refused.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
