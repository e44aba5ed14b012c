//! What the state promises whatever goes wrong around it: a stored request is sent as it was
//! planned or not at all, a state held by others makes the event owed, a state file cannot be
//! broken by an ordinary mistake.

use crate::support::*;

const PROGRESSING: &str = "flux/kustomization-progressing-ssa-changeset-flux-v2.json";
const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";

#[test]
fn a_stored_body_that_no_longer_parses_is_never_sent() {
    let outage = Outage::new();
    let host = MockHost::down_while(&outage, Reply::status(503), |_| true);
    let dir = TempDir::new("unreadable-body");
    let env = github_env(&host, &dir);
    while_down(&host, &outage, || {
        run_fixture("status", PROGRESSING, &env, &["--budget", "1"])
    });
    // The first status's stored body is damaged (a hand edit, a bad restore).
    assert_eq!(
        dir.execute("UPDATE outbox SET body = '{\"state\": ' WHERE id = 1"),
        1
    );
    let replay = connector(&["replay", "--failed"], &env, None);
    assert_eq!(replay.code, 76, "failed for good: {}", replay.stderr);
    assert!(
        replay.stderr.contains("the stored request is unreadable")
            && replay.stderr.contains("not JSON"),
        "{}",
        replay.stderr
    );
    assert!(
        host.posts().iter().all(|p| !p.body.is_empty()),
        "no request goes out without its body"
    );
    assert_eq!(
        dir.count("SELECT COUNT(*) FROM outbox WHERE id = 1 AND state = 'failed'"),
        1
    );
    // The rest of its queue went out after it, in order.
    assert_eq!(host.posts().len(), SSA_CONTEXTS.len() - 1);
}

#[test]
fn a_sqlite_state_locked_past_the_budget_leaves_the_event_owed_like_postgres() {
    if crate::support::postgres::suite_on_postgres() {
        return; // The PostgreSQL lock's own test is postgres::a_decision_held_up_…
    }
    let host = MockHost::start();
    let dir = TempDir::new("sqlite-busy");
    let env = github_env(&host, &dir);
    assert_eq!(
        connector(&["events"], &env, None).code,
        0,
        "the schema exists"
    );
    // Another process in the middle of a decision: it holds the write lock.
    let other = rusqlite::Connection::open(dir.state()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let held = run_fixture("handle", SUCCESS, &env, &["--budget", "1"]);
    assert_eq!(held.code, 75, "{}", held.stderr);
    assert!(held.stderr.contains("locked"), "{}", held.stderr);
    assert!(host.requests().is_empty(), "nothing decided, nothing sent");
    other.execute_batch("COMMIT").unwrap();
    let resent = run_fixture("handle", SUCCESS, &env, &["--budget", "1"]);
    assert_eq!(resent.code, 0, "{}", resent.stderr);
}

#[test]
fn a_sqlite_state_under_two_names_is_refused() {
    if crate::support::postgres::suite_on_postgres() {
        return;
    }
    let host = MockHost::start();
    let dir = TempDir::new("hard-link");
    let env = github_env(&host, &dir);
    assert_eq!(connector(&["events"], &env, None).code, 0);
    let other = dir.path().join("same-file.db");
    std::fs::hard_link(dir.state(), &other).unwrap();
    let run = run_fixture("handle", SUCCESS, &env, &[]);
    assert_eq!(run.code, 74, "{}", run.stderr);
    assert!(
        run.stderr.contains("has 2 names (hard links)"),
        "{}",
        run.stderr
    );
    assert!(host.requests().is_empty());
    std::fs::remove_file(other).unwrap();
    assert_eq!(run_fixture("handle", SUCCESS, &env, &[]).code, 0);
}
