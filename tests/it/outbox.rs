//! Nothing lost: the journal, the outbox, retries, `replay`, `events`, `prune`.

use crate::support::*;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROGRESSING: &str = "flux/kustomization-progressing-ssa-changeset-flux-v2.json";
const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const HEALTHY: &str = "argo/succeeded-synced-healthy.json";

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn at_time(name: &str, timestamp: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture(name)).unwrap();
    v["timestamp"] = json!(timestamp);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn a_host_that_is_down_leaves_everything_owed_until_replay_delivers_it_once_in_order() {
    let outage = Outage::new();
    let host = MockHost::down_while(&outage, Reply::status(503), |_| true);
    let dir = TempDir::new("down");
    let env = github_env(&host, &dir);
    let run = run_fixture("handle", PROGRESSING, &env, &["--budget", "1"]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    let failed = json_of(&connector(
        &["events", "--failed", "--output", "json"],
        &env,
        None,
    ));
    assert_eq!(failed.as_array().unwrap().len(), 1);
    // A success for the same commit arrives while the host is still down: it must queue behind.
    while_down(&host, &outage, || {
        run_fixture("handle", SUCCESS, &env, &["--budget", "1"])
    });
    let replay = connector(&["replay", "--failed"], &env, None);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    let posts = host.posts();
    // Each queue in the order planned: the change set's statuses, then the success's. The
    // dispatch is a queue of its own (sent beside the statuses), once.
    let statuses: Vec<_> = posts
        .iter()
        .filter(|p| p.path().contains("/statuses/"))
        .collect();
    let contexts: Vec<String> = statuses
        .iter()
        .map(|p| p.json()["context"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = SSA_CONTEXTS
        .into_iter()
        .chain(["Status"])
        .map(String::from)
        .collect();
    assert_eq!(contexts, expected);
    assert_eq!(
        statuses[7].json()["state"],
        "success",
        "the success is the newest status"
    );
    let dispatches = posts
        .iter()
        .filter(|p| p.path().ends_with("/dispatches"))
        .count();
    assert_eq!((posts.len(), dispatches), (9, 1));
    assert!(
        connector(&["events", "--failed", "--output", "json"], &env, None)
            .stdout
            .trim()
            == "[]"
    );
    host.clear();
    assert_eq!(connector(&["replay", "--failed"], &env, None).code, 0);
    assert!(host.requests().is_empty(), "nothing is sent twice");
}

#[test]
fn retry_after_is_honoured_within_the_budget_and_left_owed_beyond_it() {
    // When each status post reached the host, by the wall clock the connector's waits are
    // kept in (shared by processes; on this kind of VM it runs apart from the monotonic clock
    // by up to 0.5%): the wait is measured between the 429 and the next try.
    let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let host = MockHost::with(move |r| {
        if r.method != "POST" || !r.path().contains("/statuses/") {
            return None;
        }
        let mut seen = seen.lock().unwrap();
        seen.push(std::time::SystemTime::now());
        (seen.len() == 1).then(|| Reply::status(429).with_header("Retry-After", "1"))
    });
    let dir = TempDir::new("retry-after");
    let run = run_fixture("status", HEALTHY, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 4, "one 429, then the three statuses");
    let waited = arrivals[1].duration_since(arrivals[0]).unwrap();
    assert!(
        waited >= Duration::from_secs(1),
        "waited as asked: {waited:?}"
    );

    let host = MockHost::with(|r| {
        (r.method == "POST").then(|| Reply::status(429).with_header("Retry-After", "3600"))
    });
    let dir = TempDir::new("retry-after-long");
    let started = Instant::now();
    let run = run_fixture("status", HEALTHY, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 75);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an hour is not slept through"
    );
}

#[test]
fn github_rate_limits_wait_for_the_reset_and_other_403s_wait_for_a_token_fix() {
    let host = MockHost::with(|r| {
        (r.method == "POST").then(|| {
            Reply::json(403, json!({"message": "API rate limit exceeded"}))
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-reset", "4102444800")
        })
    });
    let dir = TempDir::new("ratelimit");
    let env = github_env(&host, &dir);
    let run = run_fixture("status", HEALTHY, &env, &[]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert_eq!(host.posts().len(), 1, "the queue waits for the reset");

    let host = MockHost::with(|r| {
        (r.method == "POST").then(|| {
            Reply::json(
                403,
                json!({"message": "Resource not accessible by integration"}),
            )
        })
    });
    let dir = TempDir::new("forbidden");
    let env = github_env(&host, &dir);
    let run = run_fixture("status", HEALTHY, &env, &[]);
    assert_eq!(
        run.code, 75,
        "a permission to grant is owed: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("answered 403: Resource not accessible by integration")
            && run.stderr.contains("Commit statuses: write"),
        "{}",
        run.stderr
    );
    let show = connector(&["events", "show", "1"], &env, None);
    assert!(
        show.stdout.contains("pending (github POST 127.0.0.1"),
        "{}",
        show.stdout
    );
}

#[test]
fn timeouts_and_refused_connections_are_owed_not_lost() {
    let host = MockHost::with(|_| {
        Some(Reply {
            status: 201,
            body: "{}".into(),
            headers: vec![],
            delay: Some(Duration::from_secs(3)),
            cut_after: None,
        })
    });
    let dir = TempDir::new("timeout");
    let run = run_fixture(
        "status",
        HEALTHY,
        &github_env(&host, &dir),
        &["--budget", "1"],
    );
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);

    let closed = {
        let h = MockHost::start();
        h.base.clone()
    };
    let dir = TempDir::new("refused");
    let mut env = github_env(&MockHost::start(), &dir);
    env = with(&env, &[("GITHUB_ORG_URL", &format!("{closed}/repos/org"))]);
    let run = run_fixture("status", HEALTHY, &env, &["--budget", "1"]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(run.stderr.contains("connection failed"), "{}", run.stderr);
    let owed = json_of(&connector(
        &["events", "show", "1", "--output", "json"],
        &env,
        None,
    ));
    assert!(owed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["row"]["state"] == "pending"));
}

#[test]
fn the_same_bytes_again_retry_only_what_is_owed() {
    let outage = Outage::new();
    let host = MockHost::down_while(&outage, Reply::status(502), |r| {
        r.body.contains("\"Health\"")
    });
    let dir = TempDir::new("dup");
    let env = github_env(&host, &dir);
    while_down(&host, &outage, || {
        run_fixture("status", HEALTHY, &env, &["--budget", "1"])
    });
    let again = run_fixture("status", HEALTHY, &env, &["--output", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(json_of(&again)["outcome"], "duplicate");
    let posts = host.posts();
    assert_eq!(posts.len(), 1, "only Health was owed");
    assert_eq!(posts[0].json()["context"], "Health");
}

#[test]
fn an_older_event_arriving_late_is_superseded() {
    let host = MockHost::start();
    let dir = TempDir::new("order");
    let env = github_env(&host, &dir);
    let newer = at_time(PROGRESSING, "2025-06-02T09:20:00Z");
    let older = at_time(PROGRESSING, "2025-06-02T09:10:00Z");
    assert_eq!(connector(&["status"], &env, Some(&newer)).code, 0);
    host.clear();
    let run = connector(&["status", "--output", "json"], &env, Some(&older));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json_of(&run)["outcome"], "superseded");
    assert!(host.requests().is_empty());
}

#[test]
fn thirty_two_invocations_at_once_journal_everything_and_send_nothing_twice() {
    let host = MockHost::start();
    let dir = TempDir::new("32");
    let env = github_env(&host, &dir);
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let env = env.clone();
            std::thread::spawn(move || {
                // 16 distinct Progressing events on 16 commits, each sent twice.
                let commit = format!("{:040x}", i % 16 + 1);
                let body = String::from_utf8(fixture(PROGRESSING))
                    .unwrap()
                    .replace(SHA, &commit);
                connector(&["status"], &env, Some(body.as_bytes()))
            })
        })
        .collect();
    for t in threads {
        let run = t.join().unwrap();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!run.stderr.contains("locked"), "{}", run.stderr);
    }
    let events = json_of(&connector(
        &["events", "--limit", "100", "--output", "json"],
        &env,
        None,
    ));
    assert_eq!(events.as_array().unwrap().len(), 32);
    assert_eq!(
        host.posts().len(),
        16 * 7,
        "each commit's seven statuses, once"
    );
}

#[test]
fn events_lists_and_shows_in_text_and_json() {
    let host = MockHost::start();
    let dir = TempDir::new("events");
    let env = github_env(&host, &dir);
    run_fixture("handle", SUCCESS, &env, &[]);
    run_fixture(
        "handle",
        "flux/helmrelease-upgrade-succeeded-flux-v2.json",
        &env,
        &[],
    );
    let text = connector(&["events"], &env, None);
    assert!(
        text.stdout.contains("ignored") && text.stdout.contains("handled"),
        "{}",
        text.stdout
    );
    let by_commit = json_of(&connector(
        &["events", "--commit", SHA, "--output", "json"],
        &env,
        None,
    ));
    assert_eq!(by_commit.as_array().unwrap().len(), 1);
    let show = connector(&["events", "show", "1"], &env, None);
    assert!(show.stdout.contains("event 1: handled"), "{}", show.stdout);
    assert!(show.stdout.contains("/dispatches: done"), "{}", show.stdout);
    assert!(show.stdout.contains("attempt"), "{}", show.stdout);
    let shown = json_of(&connector(
        &["events", "show", "1", "--output", "json"],
        &env,
        None,
    ));
    assert_eq!(shown["event"]["commit_id"], SHA);
    assert_eq!(shown["requests"][0]["attempts"][0]["answer"], 201);
    assert!(shown["body"]
        .as_str()
        .unwrap()
        .contains("ReconciliationSucceeded"));
    let missing = connector(&["events", "show", "99"], &env, None);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("there is no event 99"));
}

#[test]
fn replay_of_one_event_dry_run_sends_nothing_and_for_real_reprocesses_it() {
    let host = MockHost::start();
    let dir = TempDir::new("replay");
    let env = github_env(&host, &dir);
    run_fixture("status", PROGRESSING, &env, &[]);
    host.clear();
    let dry = connector(&["replay", "1", "--dry-run"], &env, None);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.stdout.matches("POST").count(), 7, "{}", dry.stdout);
    assert!(host.requests().is_empty());
    let real = connector(&["replay", "1", "--output", "json"], &env, None);
    assert_eq!(real.code, 0, "{}", real.stderr);
    assert!(
        host.posts().is_empty(),
        "what was delivered is not sent again"
    );
    let shown = json_of(&connector(
        &["events", "show", "2", "--output", "json"],
        &env,
        None,
    ));
    assert_eq!(shown["event"]["replay_of"], 1);
    assert_eq!(shown["event"]["outcome"], "duplicate");
    assert!(shown["event"]["why"]
        .as_str()
        .unwrap()
        .contains("everything it planned was delivered"));
}

#[test]
fn prune_drops_old_entries_but_keeps_what_is_owed() {
    let outage = Outage::new();
    let host = MockHost::down_while(&outage, Reply::status(503), |_| true);
    let dir = TempDir::new("prune");
    let env = github_env(&host, &dir);
    while_down(&host, &outage, || {
        run_fixture("status", HEALTHY, &env, &["--budget", "1"])
    });
    assert_eq!(run_fixture("status", PROGRESSING, &env, &[]).code, 0);
    std::thread::sleep(Duration::from_millis(1100));
    let pruned = json_of(&connector(
        &["prune", "--older-than", "1s", "--output", "json"],
        &env,
        None,
    ));
    assert_eq!(
        pruned["events"], 1,
        "the delivered event goes, the owed one stays"
    );
    let left = json_of(&connector(&["events", "--output", "json"], &env, None));
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(connector(&["replay", "--failed"], &env, None).code, 0);
}

/// How long `slow_host` takes to answer each request.
const SLOW: Duration = Duration::from_millis(300);

/// The requests a host received, with the time each arrived.
type Arrivals = Arc<std::sync::Mutex<Vec<(Instant, Recorded)>>>;

/// A host that answers as GitHub does when all is well, each answer `SLOW` after its request.
fn slow_host() -> (MockHost, Arrivals) {
    let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = arrivals.clone();
    let host = MockHost::with(move |r| {
        log.lock().unwrap().push((Instant::now(), r.clone()));
        let base = format!("http://{}", r.header("Host").unwrap_or("127.0.0.1"));
        let mut reply = well_behaved(&base, r);
        reply.delay = Some(SLOW);
        Some(reply)
    });
    (host, arrivals)
}

/// Queues are independent: the statuses and the orchestrator's flow go out at the same time,
/// while the statuses of one queue still leave one after the other, in the order planned.
#[test]
fn independent_queues_are_sent_at_once_and_each_stays_in_order() {
    let (host, arrivals) = slow_host();
    let dir = TempDir::new("concurrent");
    let env = github_env(&host, &dir);
    let progressing = run_fixture("handle", PROGRESSING, &env, &[]);
    assert_eq!(progressing.code, 0, "{}", progressing.stderr);
    let first: Vec<(Instant, Recorded)> = std::mem::take(&mut *arrivals.lock().unwrap());
    let run = run_fixture("handle", SUCCESS, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let second = arrivals.lock().unwrap().clone();

    // One queue, one request at a time, in the order planned: each status waits for the
    // previous one's answer.
    let statuses: Vec<&(Instant, Recorded)> = first
        .iter()
        .filter(|(_, r)| r.path().contains("/statuses/"))
        .collect();
    let contexts: Vec<String> = statuses
        .iter()
        .map(|(_, r)| r.json()["context"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(contexts, SSA_CONTEXTS.map(String::from));
    for pair in statuses.windows(2) {
        assert!(
            pair[1].0.duration_since(pair[0].0) >= SLOW,
            "two statuses of one queue in flight at once"
        );
    }
    // Different queues at once: the success's status and the flow's first read left together.
    let status = second
        .iter()
        .find(|(_, r)| r.path().contains("/statuses/"))
        .unwrap()
        .0;
    let read = second
        .iter()
        .find(|(_, r)| r.method == "GET" && r.path().contains("/commits/"))
        .unwrap()
        .0;
    assert!(
        status.max(read).duration_since(status.min(read)) < SLOW / 2,
        "the status and the notification flow waited for each other"
    );
    assert_eq!(
        second
            .iter()
            .filter(|(_, r)| r.path().ends_with("/dispatches"))
            .count(),
        1
    );
}

/// A success after an earlier end lists the commits between the two for skipped ones: that read
/// is its own queue, sent beside the notification's flow rather than after it.
#[test]
fn the_release_listing_and_the_notification_flow_are_sent_at_once() {
    let (host, arrivals) = slow_host();
    let dir = TempDir::new("release-beside-flow");
    let env = github_env(&host, &dir);
    for commit in ["a".repeat(40), "b".repeat(40)] {
        let run = connector(&["handle"], &env, Some(&flux_event(SUCCESS, &commit, None)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let arrivals = arrivals.lock().unwrap();
    let at = |what: &dyn Fn(&Recorded) -> bool| {
        arrivals
            .iter()
            .rev()
            .find(|(_, r)| what(r))
            .expect("the request was sent")
            .0
    };
    let listing = at(&|r| r.path().contains("/compare/"));
    // The flow's first read: the commit, for the pull request that merged it.
    let read = at(&|r| r.path().ends_with(&format!("/commits/{}", "b".repeat(40))));
    assert!(
        listing.max(read).duration_since(listing.min(read)) < SLOW / 2,
        "the release's listing and the notification flow waited for each other"
    );
}

/// A notification's flow (reads, then the dispatch) does not hold up the statuses: while it runs,
/// each status's answer is taken in and the next status of the queue goes out.
#[test]
fn statuses_go_on_while_the_notification_flow_runs() {
    let (host, arrivals) = slow_host();
    let dir = TempDir::new("statuses-beside-flow");
    let run = run_fixture("handle", HEALTHY, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let arrivals = arrivals.lock().unwrap();
    let statuses: Vec<Instant> = arrivals
        .iter()
        .filter(|(_, r)| r.path().contains("/statuses/"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(statuses.len(), 3, "Argo CD's phase, sync and health");
    assert!(
        arrivals
            .iter()
            .any(|(_, r)| r.path().ends_with("/dispatches")),
        "the notification was sent"
    );
    // Three statuses in one queue take two round trips between the first and the last; waiting
    // for the flow (its reads, then its dispatch) as well would take two more.
    let spread = statuses[2].duration_since(statuses[0]);
    assert!(
        spread < 3 * SLOW,
        "the statuses waited for the notification's flow: {spread:?}"
    );
}

/// An invocation does not fold the WAL into the database when it exits (four fsyncs per event,
/// milliseconds each on a network volume): the WAL stays for the next one, and what it holds is
/// read as the state.
#[test]
fn the_wal_stays_between_invocations_and_its_rows_are_read() {
    let host = MockHost::start();
    let dir = TempDir::new("wal");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_STATE", &dir.sqlite_state())],
    );
    let run = run_fixture("handle", PROGRESSING, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let wal = std::fs::metadata(format!("{}-wal", dir.sqlite_state())).map(|m| m.len());
    assert!(
        matches!(wal, Ok(n) if n > 0),
        "the WAL was checkpointed away: {wal:?}"
    );
    let listed = json_of(&connector(&["events", "--output", "json"], &env, None));
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

/// The WAL is folded into the database every 256 pages, not SQLite's default 1000: each process
/// reads the WAL since the last fold when it opens the state, so a long WAL slows every event.
/// 24 events write about 800 pages; at the default the file would pass 3 MiB.
#[test]
fn the_wal_is_folded_every_256_pages() {
    let host = MockHost::start();
    let dir = TempDir::new("wal-folded");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_STATE", &dir.sqlite_state())],
    );
    let wal = format!("{}-wal", dir.sqlite_state());
    let mut largest = 0;
    for i in 0..24 {
        for name in [PROGRESSING, SUCCESS] {
            let event = flux_event(name, &format!("{i:040x}"), None);
            let run = connector(&["handle"], &env, Some(&event));
            assert_eq!(run.code, 0, "{}", run.stderr);
        }
        largest = largest.max(std::fs::metadata(&wal).unwrap().len());
    }
    // 256 pages of 4 KiB and their frame headers, and what one event adds past the threshold.
    assert!(
        largest > 0 && largest < 2 * 1024 * 1024,
        "the WAL grew to {largest} bytes"
    );
}

/// What an invocation prints is in the order planned, whichever queue answered first: here the
/// notification flow is done long before the slow status.
#[test]
fn deliveries_are_listed_in_the_order_planned_whichever_answers_first() {
    let host = MockHost::with(|r| {
        r.path().contains("/statuses/").then(|| {
            let mut reply = Reply::json(201, json!({"id": 1}));
            reply.delay = Some(Duration::from_millis(600));
            reply
        })
    });
    let dir = TempDir::new("listed-in-order");
    let env = github_env(&host, &dir);
    let run = run_fixture("handle", SUCCESS, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status = run.stdout.find("/statuses/").expect("the status is listed");
    let notification = run
        .stdout
        .find("notification")
        .expect("the notification is listed");
    assert!(status < notification, "{}", run.stdout);
}

/// A flow's read answered 2xx with a body that is not JSON (a proxy's page): the notification is
/// owed, not failed, and the warning names the read.
#[test]
fn a_flow_read_that_is_not_json_leaves_the_notification_owed() {
    let host = MockHost::with(|r| {
        (r.method == "GET" && r.path().contains("/commits/") && !r.path().ends_with("/status"))
            .then(|| Reply {
                status: 200,
                body: "<html>proxy page</html>".into(),
                headers: vec![("Content-Type".into(), "text/html".into())],
                delay: None,
                cut_after: None,
            })
    });
    let dir = TempDir::new("flow-not-json");
    let run = run_fixture(
        "handle",
        SUCCESS,
        &github_env(&host, &dir),
        &["--budget", "1"],
    );
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("github-actions GET answered 200 with a body that is not JSON"),
        "{}",
        run.stderr
    );
    assert_eq!(
        dir.count("SELECT COUNT(*) FROM outbox WHERE kind = 'notify' AND state = 'pending'"),
        1
    );
}

/// GitHub Actions' flow reads the commit and its pull requests at once (neither needs the
/// other's answer): two round trips before the dispatch became one.
#[test]
fn the_flows_two_reads_leave_together() {
    let (host, arrivals) = slow_host();
    let dir = TempDir::new("flow-reads-together");
    let run = run_fixture("handle", SUCCESS, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let arrivals = arrivals.lock().unwrap();
    let at = |suffix: &str| {
        arrivals
            .iter()
            .find(|(_, r)| r.method == "GET" && r.path().ends_with(suffix))
            .unwrap_or_else(|| panic!("no GET …{suffix}"))
            .0
    };
    let (commit, pulls) = (at(SHA), at("/pulls"));
    assert!(
        commit.max(pulls).duration_since(commit.min(pulls)) < SLOW / 2,
        "the commit and its pull requests were read one after the other"
    );
}

/// One of the flow's reads fails while the other is still on its way: the flow waits for both,
/// then leaves the notification owed, to be tried again whole.
#[test]
fn a_failed_read_beside_a_slow_one_leaves_the_notification_owed() {
    let host = MockHost::with(|r| {
        if r.method != "GET" || !r.path().contains("/commits/") || r.path().ends_with("/status") {
            return None;
        }
        Some(if r.path().ends_with("/pulls") {
            Reply::status(500)
        } else {
            let mut reply = Reply::json(200, json!({"commit": {"message": "m"}}));
            reply.delay = Some(Duration::from_millis(400));
            reply
        })
    });
    let dir = TempDir::new("flow-read-fails");
    let run = run_fixture(
        "handle",
        SUCCESS,
        &github_env(&host, &dir),
        &["--budget", "1"],
    );
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(run.stderr.contains("owed"), "{}", run.stderr);
    assert_eq!(
        dir.count("SELECT COUNT(*) FROM outbox WHERE kind = 'notify' AND state = 'pending'"),
        1
    );
    assert!(host
        .posts()
        .iter()
        .all(|p| !p.path().ends_with("/dispatches")));
}

/// At most eight requests are in flight at once: thirteen independent queues (a status and
/// twelve subscribers) against a host that answers each connection on a thread of its own (the
/// mock host's server reads a few connections at a time, which would hide the bound).
#[test]
fn at_most_eight_requests_are_in_flight() {
    use std::fmt::Write as _;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::AtomicUsize;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (now, most, total) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    {
        let (now, most, total) = (now.clone(), most.clone(), total.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (now, most, total) = (now.clone(), most.clone(), total.clone());
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    loop {
                        let mut length = 0;
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) <= 2 {
                                break;
                            }
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        total.fetch_add(1, Ordering::SeqCst);
                        let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(in_flight, Ordering::SeqCst);
                        std::thread::sleep(SLOW);
                        now.fetch_sub(1, Ordering::SeqCst);
                        let reply = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}";
                        if writer.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
    }
    let dir = TempDir::new("eight-in-flight");
    let mut toml = String::from("[subscribers]\n");
    for i in 0..12 {
        writeln!(toml, "s{i} = \"{base}/hook/{i}\"").unwrap();
    }
    let config = dir.path().join("c.toml");
    std::fs::write(&config, toml).unwrap();
    let env = with(
        &github_env_at(&base, &dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    );
    let run = run_fixture("status", SUCCESS, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        total.load(Ordering::SeqCst),
        13,
        "a status and twelve posts"
    );
    assert_eq!(most.load(Ordering::SeqCst), 8);
}
