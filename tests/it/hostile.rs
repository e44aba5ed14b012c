//! A hostile host: answers cut mid-body, waits asked for that would park a queue forever. Each
//! test names what the host did and what must hold whatever it does.

use crate::support::raw::RawHost;
use crate::support::*;

const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const PROGRESSING: &str = "flux/kustomization-progressing-ssa-changeset-flux-v2.json";

fn dispatches(host: &RawHost) -> usize {
    host.posts()
        .iter()
        .filter(|p| p.path().ends_with("/dispatches"))
        .count()
}

/// The latest time (ms) any open row of the state may next be tried at.
fn latest_next_try(dir: &TempDir) -> i64 {
    dir.count(
        "SELECT COALESCE(MAX(not_before), 0) FROM outbox WHERE state IN ('pending', 'sending')",
    )
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[test]
fn a_dispatch_answered_201_then_cut_mid_body_is_sent_once() {
    let host = RawHost::with(|r| {
        r.path().ends_with("/dispatches").then(|| {
            Reply::json(
                201,
                serde_json::json!({"message": "a body the host never finishes"}),
            )
            .cut_after(9)
        })
    });
    let dir = TempDir::new("hostile-cut-dispatch");
    let env = github_env_at(&host.base, &dir);
    let run = run_fixture("handle", SUCCESS, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(dispatches(&host), 1, "{}", run.stderr);
    // Nothing is owed: later runs send nothing again.
    let again = connector(&["replay", "--failed"], &env, None);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let periodic = connector(&["periodic"], &env, None);
    assert_eq!(periodic.code, 0, "{}", periodic.stderr);
    assert_eq!(dispatches(&host), 1);
    assert_eq!(
        dir.count("SELECT COUNT(*) FROM outbox WHERE kind = 'notify' AND state = 'done'"),
        1
    );
}

#[test]
fn a_status_answered_201_then_cut_mid_body_is_delivered_not_retried() {
    let host = RawHost::with(|r| {
        (r.method == "POST" && r.path().contains("/statuses/")).then(|| {
            Reply::json(201, serde_json::json!({"id": 1, "state": "pending"})).cut_after(3)
        })
    });
    let dir = TempDir::new("hostile-cut-status");
    let run = run_fixture("status", PROGRESSING, &github_env_at(&host.base, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let posted = host.posts().len();
    assert!(posted > 0);
    assert_eq!(
        dir.count("SELECT COUNT(*) FROM outbox WHERE state <> 'done'"),
        0,
        "{}",
        run.stderr
    );
    assert_eq!(
        dir.count("SELECT COUNT(*) FROM attempts"),
        i64::try_from(posted).unwrap()
    );
}

/// Each way a host can ask for a wait far past any rate-limit window.
fn parks(reply: Reply) {
    let host = MockHost::with(move |r| {
        (r.method == "POST" && r.path().contains("/statuses/")).then(|| reply.clone())
    });
    let dir = TempDir::new("hostile-wait");
    let before = now_ms();
    let run = run_fixture("status", PROGRESSING, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr.contains("more than the 3600 s honoured"),
        "the cut is said: {}",
        run.stderr
    );
    let latest = latest_next_try(&dir);
    assert!(latest > before, "the host's wait holds");
    assert!(
        latest <= now_ms() + 3_600_000,
        "tried again within the hour, not at {latest}"
    );
}

#[test]
fn a_retry_after_of_u64_max_seconds_waits_an_hour_at_most() {
    parks(Reply::status(429).with_header("Retry-After", "18446744073709551615"));
}

#[test]
fn a_retry_after_of_more_digits_than_u64_waits_an_hour_at_most() {
    parks(Reply::status(503).with_header("Retry-After", "99999999999999999999999999"));
}

#[test]
fn a_retry_after_date_centuries_ahead_waits_an_hour_at_most() {
    parks(Reply::status(429).with_header("Retry-After", "Wed, 31 Dec 3000 23:59:59 GMT"));
}

#[test]
fn a_rate_limit_reset_far_in_the_future_waits_an_hour_at_most() {
    parks(
        Reply::json(
            403,
            serde_json::json!({"message": "API rate limit exceeded"}),
        )
        .with_header("X-RateLimit-Remaining", "0")
        .with_header("X-RateLimit-Reset", "99999999999"),
    );
}

#[test]
fn every_exit_75_behind_a_parked_queue_says_what_is_owed_and_when() {
    // The host asks for two minutes before any status of this commit is tried again.
    let host = MockHost::with(|r| {
        (r.method == "POST" && r.path().contains("/statuses/"))
            .then(|| Reply::status(429).with_header("Retry-After", "120"))
    });
    let dir = TempDir::new("hostile-parked");
    let env = github_env(&host, &dir);
    let first = run_fixture("status", PROGRESSING, &env, &[]);
    assert_eq!(first.code, 75, "{}", first.stderr);
    assert!(first.stderr.contains("429"), "{}", first.stderr);
    let tried = host.posts().len();
    // A newer event for the same commit queues behind the parked head: nothing is sent, and
    // the run still says why it exits 75.
    let second = run_fixture("status", SUCCESS, &env, &[]);
    assert_eq!(second.code, 75, "{}", second.stderr);
    assert_eq!(host.posts().len(), tried, "nothing jumps the parked queue");
    assert!(
        second.stderr.contains("is still owed") && second.stderr.contains("next try at"),
        "{}",
        second.stderr
    );
    // `events show` says the same of each owed request.
    let shown = connector(&["events", "show", "2"], &env, None);
    assert!(
        shown.stdout.contains(
            "owed: it waits behind Status (request 1 to github) of its queue, next try at"
        ),
        "{}",
        shown.stdout
    );
    // replay --failed: nothing is due, and each owed queue's head says when it is.
    let failed = connector(&["replay", "--failed"], &env, None);
    assert_eq!(failed.code, 75, "{}", failed.stderr);
    assert!(
        failed
            .stderr
            .contains("Status (request 1 to github) is still owed: last try:")
            && failed.stderr.contains("next try at"),
        "{}",
        failed.stderr
    );
    // Replaying the first event: still owed, and said so.
    let replay = connector(&["replay", "1"], &env, None);
    assert_eq!(replay.code, 75, "{}", replay.stderr);
    assert!(replay.stderr.contains("is still owed"), "{}", replay.stderr);
}

#[test]
fn a_deployment_created_201_then_cut_is_looked_up_not_created_again() {
    let host = RawHost::with(|r| match (r.method.as_str(), r.path()) {
        ("POST", path) if path.ends_with("/deployments") => {
            Some(Reply::json(201, serde_json::json!({"id": 77, "sha": SHA})).cut_after(3))
        }
        // GitHub lists a commit's deployments to an environment newest first.
        ("GET", path) if path.ends_with("/deployments") => {
            assert!(r.url.contains(&format!("sha={SHA}")), "{}", r.url);
            assert!(r.url.contains("environment=production"), "{}", r.url);
            Some(Reply::json(
                200,
                serde_json::json!([{"id": 77, "sha": SHA}]),
            ))
        }
        _ => None,
    });
    let dir = TempDir::new("hostile-cut-deployment");
    let env = with(
        &github_env_at(&host.base, &dir),
        &[("GITOPS_CONNECTOR_GITHUB_DEPLOYMENTS", "true")],
    );
    let run = run_fixture("handle", PROGRESSING, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = host.requests();
    let created = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path().ends_with("/deployments"))
        .count();
    let looked_up = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path().ends_with("/deployments"))
        .count();
    let statuses: Vec<&str> = requests
        .iter()
        .filter(|r| r.path().contains("/deployments/"))
        .map(Recorded::path)
        .collect();
    assert_eq!((created, looked_up), (1, 1), "{requests:#?}");
    assert_eq!(
        statuses,
        ["/repos/org/manifests/deployments/77/statuses"],
        "the status goes to the deployment the cut answer created"
    );
}

/// The stated risk of "sent, no answer": every request is tried again, so a dispatch the host
/// took without answering in time reaches it twice; the journal says the first may have
/// arrived. A host that is not there at all is "not sent", and nothing repeats.
#[test]
fn a_dispatch_the_host_took_without_answering_in_time_is_sent_again_and_said_so() {
    let answered_late = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let late = answered_late.clone();
    let host = RawHost::with(move |r| {
        let dispatch = r.path().ends_with("/dispatches");
        (dispatch && !late.swap(true, std::sync::atomic::Ordering::SeqCst)).then(|| {
            let mut reply = Reply::status(204);
            reply.delay = Some(std::time::Duration::from_secs(4));
            reply
        })
    });
    let dir = TempDir::new("hostile-unanswered");
    let env = github_env_at(&host.base, &dir);
    let run = run_fixture("notify", SUCCESS, &env, &["--budget", "1"]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("it may have reached the host (sent, no answer)"),
        "{}",
        run.stderr
    );
    let replay = connector(&["replay", "--failed"], &env, None);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    assert_eq!(
        dispatches(&host),
        2,
        "the stated repeat: sent, no answer, sent again"
    );
}

#[test]
fn a_request_that_never_left_says_so() {
    // A port nobody listens on: refused before anything is written.
    let port = free_port();
    let dir = TempDir::new("hostile-not-sent");
    let env = github_env_at(&format!("http://127.0.0.1:{port}"), &dir);
    let run = run_fixture("status", PROGRESSING, &env, &["--budget", "1"]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr.contains("it never left (not sent)"),
        "{}",
        run.stderr
    );
}
