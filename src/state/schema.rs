//! The state's schema, as migrations by version (`PRAGMA user_version`).

/// The schema as the last migration leaves it, for a new state file: one script instead of every
/// migration in turn (a new state file would otherwise build tables and rebuild them twice).
/// A test checks that it equals what the migrations make; change it together with each new one.
pub const CURRENT: &str = r"
    CREATE TABLE bodies (
        sha256 BLOB PRIMARY KEY,
        bytes  BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        received_ms INTEGER NOT NULL,
        command     TEXT NOT NULL CHECK (command IN ('status', 'notify', 'handle')),
        sha256      BLOB NOT NULL,
        size        INTEGER NOT NULL,
        instance    TEXT,
        operator    TEXT,
        kind        TEXT,
        source      TEXT,
        reason      TEXT,
        commit_id   TEXT,
        outcome     TEXT NOT NULL DEFAULT 'received'
                    CHECK (outcome IN ('received', 'handled', 'ignored', 'rejected', 'superseded', 'duplicate')),
        why         TEXT,
        replay_of   INTEGER,
        released    TEXT
    );
    CREATE INDEX events_by_sha ON events (sha256);
    CREATE INDEX events_by_commit ON events (commit_id, id);
    CREATE INDEX events_by_time ON events (received_ms);
    CREATE INDEX events_by_replay ON events (replay_of) WHERE replay_of IS NOT NULL;
    CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY,
        event_id    INTEGER,
        instance    TEXT NOT NULL,
        commit_id   TEXT,
        queue       TEXT NOT NULL,
        target      TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('request', 'notify', 'release', 'deployment')),
        context     TEXT,
        method      TEXT CHECK (method IN ('GET', 'POST')),
        url         TEXT,
        body        TEXT,
        job         TEXT,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'done', 'failed', 'nothing', 'refused', 'replaced')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        not_before  INTEGER NOT NULL DEFAULT 0,
        host_wait   INTEGER NOT NULL DEFAULT 0 CHECK (host_wait IN (0, 1)),
        blocked     INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
        lease_until INTEGER NOT NULL DEFAULT 0,
        answer      INTEGER,
        last_error  TEXT,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL,
        fence       INTEGER NOT NULL DEFAULT 0,
        is_head     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_open ON outbox (state, queue, id);
    CREATE INDEX outbox_by_event ON outbox (event_id);
    CREATE INDEX outbox_heads ON outbox (not_before, id) WHERE is_head = 1;
    CREATE TABLE attempts (
        outbox_id INTEGER NOT NULL,
        at_ms     INTEGER NOT NULL,
        answer    INTEGER,
        error     TEXT
    );
    CREATE INDEX attempts_by_row ON attempts (outbox_id);
    CREATE TABLE commits (
        instance      TEXT NOT NULL,
        commit_id     TEXT NOT NULL,
        outcome       TEXT CHECK (outcome IN ('success', 'failure')),
        outcome_event INTEGER,
        outcome_ms    INTEGER,
        notify        TEXT CHECK (notify IN ('owed', 'sent', 'nothing', 'failed', 'assumed')),
        notify_ms     INTEGER,
        end_statuses  INTEGER NOT NULL DEFAULT 0 CHECK (end_statuses IN (0, 1)),
        superseded_by TEXT,
        PRIMARY KEY (instance, commit_id)
    ) WITHOUT ROWID;
    CREATE INDEX commits_by_end ON commits (instance, outcome_ms)
        WHERE outcome IS NOT NULL AND superseded_by IS NULL;
    CREATE TABLE sources (
        instance  TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        source    TEXT NOT NULL,
        outcome   TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
        PRIMARY KEY (instance, commit_id, source)
    ) WITHOUT ROWID;
    CREATE TABLE contexts (
        instance   TEXT NOT NULL,
        commit_id  TEXT NOT NULL,
        target     TEXT NOT NULL,
        context    TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        PRIMARY KEY (instance, commit_id, target, context)
    ) WITHOUT ROWID;
    CREATE TABLE prs (
        instance   TEXT NOT NULL,
        pr         INTEGER NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'nothing', 'failed')),
        why        TEXT,
        handled_ms INTEGER NOT NULL,
        PRIMARY KEY (instance, pr)
    ) WITHOUT ROWID;
    CREATE TABLE deployments (
        instance      TEXT NOT NULL,
        commit_id     TEXT NOT NULL,
        environment   TEXT NOT NULL,
        deployment_id INTEGER,
        planned       TEXT NOT NULL CHECK (planned IN ('in_progress', 'success', 'failure', 'inactive')),
        PRIMARY KEY (instance, commit_id, environment)
    ) WITHOUT ROWID;
    CREATE TABLE pipelines (
        instance  TEXT NOT NULL,
        pipeline  TEXT NOT NULL,
        outbox_id INTEGER NOT NULL,
        commit_id TEXT,
        PRIMARY KEY (instance, pipeline)
    ) WITHOUT ROWID;
";

/// Each entry moves the schema one version up; never edit one that has shipped.
pub const MIGRATIONS: &[&str] = &[
    // 1: journal, outbox, commit records, handled PRs.
    r"
    CREATE TABLE bodies (
        sha256 BLOB PRIMARY KEY,
        bytes  BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        received_ms INTEGER NOT NULL,
        command     TEXT NOT NULL,
        sha256      BLOB NOT NULL,
        size        INTEGER NOT NULL,
        instance    TEXT,
        operator    TEXT,
        kind        TEXT,
        source      TEXT,
        reason      TEXT,
        commit_id   TEXT,
        outcome     TEXT NOT NULL DEFAULT 'received',
        why         TEXT,
        replay_of   INTEGER
    );
    CREATE INDEX events_by_sha ON events (sha256);
    CREATE INDEX events_by_commit ON events (commit_id, id);
    CREATE INDEX events_by_time ON events (received_ms);
    CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY,
        event_id    INTEGER,
        instance    TEXT NOT NULL,
        commit_id   TEXT,
        queue       TEXT NOT NULL,
        target      TEXT NOT NULL,
        kind        TEXT NOT NULL,
        context     TEXT,
        method      TEXT,
        url         TEXT,
        body        TEXT,
        job         TEXT,
        state       TEXT NOT NULL DEFAULT 'pending',
        attempts    INTEGER NOT NULL DEFAULT 0,
        not_before  INTEGER NOT NULL DEFAULT 0,
        host_wait   INTEGER NOT NULL DEFAULT 0,
        lease_until INTEGER NOT NULL DEFAULT 0,
        answer      INTEGER,
        last_error  TEXT,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL
    );
    CREATE INDEX outbox_open ON outbox (state, queue, id);
    CREATE INDEX outbox_by_event ON outbox (event_id);
    CREATE TABLE attempts (
        outbox_id INTEGER NOT NULL,
        at_ms     INTEGER NOT NULL,
        answer    INTEGER,
        error     TEXT
    );
    CREATE INDEX attempts_by_row ON attempts (outbox_id);
    CREATE TABLE commits (
        instance      TEXT NOT NULL,
        commit_id     TEXT NOT NULL,
        outcome       TEXT,
        outcome_event INTEGER,
        outcome_ms    INTEGER,
        notify        TEXT,
        notify_ms     INTEGER,
        PRIMARY KEY (instance, commit_id)
    ) WITHOUT ROWID;
    CREATE TABLE sources (
        instance  TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        source    TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        PRIMARY KEY (instance, commit_id, source)
    ) WITHOUT ROWID;
    CREATE TABLE contexts (
        instance   TEXT NOT NULL,
        commit_id  TEXT NOT NULL,
        target     TEXT NOT NULL,
        context    TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        PRIMARY KEY (instance, commit_id, target, context)
    ) WITHOUT ROWID;
    CREATE TABLE prs (
        instance   TEXT NOT NULL,
        pr         INTEGER NOT NULL,
        state      TEXT NOT NULL,
        why        TEXT,
        handled_ms INTEGER NOT NULL,
        PRIMARY KEY (instance, pr)
    ) WITHOUT ROWID;
    ",
    // 2: the words each column may hold (CHECK), rows blocked on configuration (`blocked`), rows
    // re-planned away (`replaced`), and whether the statuses of a commit's end were planned.
    r"
    CREATE TABLE outbox2 (
        id          INTEGER PRIMARY KEY,
        event_id    INTEGER,
        instance    TEXT NOT NULL,
        commit_id   TEXT,
        queue       TEXT NOT NULL,
        target      TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('request', 'notify')),
        context     TEXT,
        method      TEXT CHECK (method IN ('GET', 'POST')),
        url         TEXT,
        body        TEXT,
        job         TEXT,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'done', 'failed', 'nothing', 'refused', 'replaced')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        not_before  INTEGER NOT NULL DEFAULT 0,
        host_wait   INTEGER NOT NULL DEFAULT 0 CHECK (host_wait IN (0, 1)),
        blocked     INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
        lease_until INTEGER NOT NULL DEFAULT 0,
        answer      INTEGER,
        last_error  TEXT,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL
    );
    INSERT INTO outbox2 (id, event_id, instance, commit_id, queue, target, kind, context, method, url, body, job,
                         state, attempts, not_before, host_wait, lease_until, answer, last_error, created_ms, updated_ms)
        SELECT id, event_id, instance, commit_id, queue, target, kind, context, method, url, body, job,
               state, attempts, not_before, host_wait, lease_until, answer, last_error, created_ms, updated_ms
        FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox2 RENAME TO outbox;
    CREATE INDEX outbox_open ON outbox (state, queue, id);
    CREATE INDEX outbox_by_event ON outbox (event_id);

    CREATE TABLE events2 (
        id          INTEGER PRIMARY KEY,
        received_ms INTEGER NOT NULL,
        command     TEXT NOT NULL CHECK (command IN ('status', 'notify', 'handle')),
        sha256      BLOB NOT NULL,
        size        INTEGER NOT NULL,
        instance    TEXT,
        operator    TEXT,
        kind        TEXT,
        source      TEXT,
        reason      TEXT,
        commit_id   TEXT,
        outcome     TEXT NOT NULL DEFAULT 'received'
                    CHECK (outcome IN ('received', 'handled', 'ignored', 'rejected', 'superseded', 'duplicate')),
        why         TEXT,
        replay_of   INTEGER
    );
    INSERT INTO events2 SELECT * FROM events;
    DROP TABLE events;
    ALTER TABLE events2 RENAME TO events;
    CREATE INDEX events_by_sha ON events (sha256);
    CREATE INDEX events_by_commit ON events (commit_id, id);
    CREATE INDEX events_by_time ON events (received_ms);
    CREATE INDEX events_by_replay ON events (replay_of) WHERE replay_of IS NOT NULL;

    CREATE TABLE commits2 (
        instance      TEXT NOT NULL,
        commit_id     TEXT NOT NULL,
        outcome       TEXT CHECK (outcome IN ('success', 'failure')),
        outcome_event INTEGER,
        outcome_ms    INTEGER,
        notify        TEXT CHECK (notify IN ('owed', 'sent', 'nothing', 'failed', 'assumed')),
        notify_ms     INTEGER,
        end_statuses  INTEGER NOT NULL DEFAULT 0 CHECK (end_statuses IN (0, 1)),
        PRIMARY KEY (instance, commit_id)
    ) WITHOUT ROWID;
    INSERT INTO commits2 (instance, commit_id, outcome, outcome_event, outcome_ms, notify, notify_ms, end_statuses)
        SELECT instance, commit_id, outcome, outcome_event, outcome_ms, notify, notify_ms, outcome IS NOT NULL FROM commits;
    DROP TABLE commits;
    ALTER TABLE commits2 RENAME TO commits;

    CREATE TABLE sources2 (
        instance  TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        source    TEXT NOT NULL,
        outcome   TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
        PRIMARY KEY (instance, commit_id, source)
    ) WITHOUT ROWID;
    INSERT INTO sources2 SELECT * FROM sources;
    DROP TABLE sources;
    ALTER TABLE sources2 RENAME TO sources;

    CREATE TABLE prs2 (
        instance   TEXT NOT NULL,
        pr         INTEGER NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'nothing', 'failed')),
        why        TEXT,
        handled_ms INTEGER NOT NULL,
        PRIMARY KEY (instance, pr)
    ) WITHOUT ROWID;
    INSERT INTO prs2 SELECT * FROM prs;
    DROP TABLE prs;
    ALTER TABLE prs2 RENAME TO prs;
    ",
    // 3: releases of skipped commits (`release` rows), which commit superseded one, and what an
    // event's release concluded; deployments on the Git host (`deployment` rows), one per commit
    // and environment, with the host's id and the last state planned.
    r"
    CREATE TABLE outbox3 (
        id          INTEGER PRIMARY KEY,
        event_id    INTEGER,
        instance    TEXT NOT NULL,
        commit_id   TEXT,
        queue       TEXT NOT NULL,
        target      TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('request', 'notify', 'release', 'deployment')),
        context     TEXT,
        method      TEXT CHECK (method IN ('GET', 'POST')),
        url         TEXT,
        body        TEXT,
        job         TEXT,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'done', 'failed', 'nothing', 'refused', 'replaced')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        not_before  INTEGER NOT NULL DEFAULT 0,
        host_wait   INTEGER NOT NULL DEFAULT 0 CHECK (host_wait IN (0, 1)),
        blocked     INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
        lease_until INTEGER NOT NULL DEFAULT 0,
        answer      INTEGER,
        last_error  TEXT,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL
    );
    INSERT INTO outbox3 SELECT * FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox3 RENAME TO outbox;
    CREATE INDEX outbox_open ON outbox (state, queue, id);
    CREATE INDEX outbox_by_event ON outbox (event_id);

    ALTER TABLE commits ADD COLUMN superseded_by TEXT;
    -- Where the next release starts (commits::last_ended), once per end: without it a state of
    -- 100 000 commits sorts them all (16 ms), with it one index step.
    CREATE INDEX commits_by_end ON commits (instance, outcome_ms)
        WHERE outcome IS NOT NULL AND superseded_by IS NULL;
    ALTER TABLE events ADD COLUMN released TEXT;

    CREATE TABLE deployments (
        instance      TEXT NOT NULL,
        commit_id     TEXT NOT NULL,
        environment   TEXT NOT NULL,
        deployment_id INTEGER,
        planned       TEXT NOT NULL CHECK (planned IN ('in_progress', 'success', 'failure', 'inactive')),
        PRIMARY KEY (instance, commit_id, environment)
    ) WITHOUT ROWID;
    ",
    // 4: fencing tokens. Each claim of a row takes the next generation of its lease (`fence`);
    // a result is recorded only by the process that holds the current one, so a sender woken
    // after its lease lapsed and the row was taken over changes nothing.
    // The pipelines told, each once: which notification tells it (a merge commit and its
    // branch's commit lead to the same run; the first notification to know it tells it).
    // Each queue's head (its oldest open row) is marked, so that a claim reads the heads that
    // are due through an index instead of every open row.
    r"
    ALTER TABLE outbox ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN is_head INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET is_head = 1
        WHERE id IN (SELECT MIN(id) FROM outbox WHERE state IN ('pending', 'sending') GROUP BY queue);
    CREATE INDEX outbox_heads ON outbox (not_before, id) WHERE is_head = 1;
    CREATE TABLE pipelines (
        instance  TEXT NOT NULL,
        pipeline  TEXT NOT NULL,
        outbox_id INTEGER NOT NULL,
        commit_id TEXT,
        PRIMARY KEY (instance, pipeline)
    ) WITHOUT ROWID;
    ",
];
