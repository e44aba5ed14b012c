//! PostgreSQL as the shared state (#15), against a real server the tests start themselves: a
//! SQLite state moved over without notifying again, the password and TLS as libpq has them, a
//! server restart that leaves events owed and nothing lost, and four replicas killed at random
//! that still notify every commit exactly once. (The whole suite also runs on PostgreSQL: see
//! `.ci/run`.)

use crate::support::postgres::{self as pg, PASSWORD, USER};
use crate::support::*;

const SUCCEEDED: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const PROGRESSING: &str = "flux/kustomization-progressing-ssa-changeset-flux-v2.json";

/// GitHub's environment with the state at `url` and its password in PGPASSWORD.
fn on_postgres(host: &MockHost, dir: &TempDir, url: &str) -> Vec<(String, String)> {
    with(
        &github_env(host, dir),
        &[("GITOPS_CONNECTOR_STATE", url), ("PGPASSWORD", PASSWORD)],
    )
}

/// A mock host and a new database on `server` whose schema exists: what most tests start from.
struct Fresh {
    host: MockHost,
    dir: TempDir,
    url: String,
    env: Vec<(String, String)>,
}

fn fresh(server: &pg::Server, name: &str) -> Fresh {
    let host = MockHost::start();
    let dir = TempDir::new(&format!("pg-{name}"));
    let url = server.database(name);
    let env = on_postgres(&host, &dir, &url);
    assert_eq!(
        connector(&["events"], &env, None).code,
        0,
        "the schema exists"
    );
    Fresh {
        host,
        dir,
        url,
        env,
    }
}

/// A client of the test's own on the database at `url`: another replica, or an administrator.
fn client(url: &str) -> ::postgres::Client {
    ::postgres::Client::connect(&pg::with_password(url), ::postgres::NoTls).unwrap()
}

fn dispatches(host: &MockHost) -> usize {
    host.requests()
        .iter()
        .filter(|r| r.path().ends_with("/dispatches"))
        .count()
}

#[test]
fn a_sqlite_state_moves_to_postgres_and_nothing_is_notified_again() {
    let Some(server) = pg::server("state migrate") else {
        return;
    };
    // Commit A ends and is told; commit B's statuses stay owed while the host refuses them.
    let b = "2222222222222222222222222222222222222222";
    let outage = Outage::new();
    let host = MockHost::down_while(&outage, Reply::status(503), move |r| {
        r.path().contains(&format!("/statuses/{b}"))
    });
    let dir = TempDir::new("migrate");
    let url = server.database("migrate");
    let sqlite = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_STATE", &dir.sqlite_state())],
    );
    let told = connector(
        &["handle"],
        &sqlite,
        Some(&flux_event(SUCCEEDED, SHA, None)),
    );
    assert_eq!(told.code, 0, "{}", told.stderr);
    assert_eq!(dispatches(&host), 1);
    let run = connector(
        &["handle"],
        &sqlite,
        Some(&flux_event(PROGRESSING, b, None)),
    );
    assert_eq!(run.code, 75, "{}", run.stderr);
    host.clear();

    let migrate = connector(
        &[
            "state",
            "migrate",
            "--from",
            &dir.sqlite_state(),
            "--to",
            &url,
        ],
        &with(&sqlite, &[("PGPASSWORD", PASSWORD)]),
        None,
    );
    assert_eq!(migrate.code, 0, "{}", migrate.stderr);
    assert!(
        migrate.stdout.contains("events 2,") && migrate.stdout.contains("still owed"),
        "{}",
        migrate.stdout
    );
    assert!(!migrate.stdout.contains(PASSWORD) && !migrate.stderr.contains(PASSWORD));

    // On PostgreSQL: the journal is there, A stays told, B's owed statuses go out on replay.
    let env = on_postgres(&host, &dir, &url);
    let events = connector(&["events", "--output", "json"], &env, None);
    let listed: serde_json::Value = serde_json::from_str(&events.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{}", events.stdout);
    let again = connector(&["handle"], &env, Some(&flux_event(SUCCEEDED, SHA, None)));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        dispatches(&host),
        0,
        "A was told before the move: not again"
    );
    outage.end();
    let replay = connector(&["replay", "--failed"], &env, None);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    let statuses_of_b = host
        .requests()
        .iter()
        .filter(|r| r.path().contains(&format!("/statuses/{b}")))
        .count();
    assert!(
        statuses_of_b > 0,
        "B's owed statuses were sent from PostgreSQL"
    );
    // New events get ids after the copied ones.
    let next = connector(
        &["handle", "--output", "json"],
        &env,
        Some(&flux_event(PROGRESSING, b, None)),
    );
    assert_eq!(next.code, 0, "{}", next.stderr);
    let shown = connector(&["events", "show", "4"], &env, None);
    assert_eq!(shown.code, 0, "{}", shown.stderr);

    // A second copy into a state that holds something is refused, and changes nothing.
    let twice = connector(
        &[
            "state",
            "migrate",
            "--from",
            &dir.sqlite_state(),
            "--to",
            &url,
        ],
        &env,
        None,
    );
    assert_eq!(twice.code, 2, "{}", twice.stderr);
    assert!(
        twice.stderr.contains("empty state only"),
        "{}",
        twice.stderr
    );
}

#[test]
fn the_password_and_tls_follow_libpq_and_the_password_never_shows() {
    let Some(server) = pg::server("password and TLS") else {
        return;
    };
    let dir = TempDir::new("pg-secrets");
    let database = server.database("secrets");
    let url_of = |query: &str| database.replace("?sslmode=disable", query);
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let bare = |state: &str, extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut env = vec![("GITOPS_CONNECTOR_STATE".to_string(), state.to_string())];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    };

    // In the URL: works, and `config` and every message hide it.
    let with_password = pg::with_password(&url_of("?sslmode=disable"));
    let config = connector(&["config"], &bare(&with_password, &[]), None);
    assert!(
        config.stdout.contains(&format!("{USER}:***@")),
        "{}",
        config.stdout
    );
    assert!(!config.stdout.contains(PASSWORD));
    assert_eq!(
        connector(&["events"], &bare(&with_password, &[]), None).code,
        0
    );

    // A wrong one: the state cannot be opened (74), and the message does not repeat it.
    let wrong = connector(
        &["events"],
        &bare(&url_of("?sslmode=disable"), &[("PGPASSWORD", "not-it-9f2")]),
        None,
    );
    assert_eq!(wrong.code, 74, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("password authentication failed"),
        "{}",
        wrong.stderr
    );
    assert!(!wrong.stderr.contains("not-it-9f2"));
    assert!(
        wrong.stderr.contains("state_password_file"),
        "says where a password comes from: {}",
        wrong.stderr
    );

    // From a file (a mounted Secret), from PGPASSWORD, from a pgpass file.
    let file = dir.path().join("password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let path = file.display().to_string();
    for extra in [
        vec![("GITOPS_CONNECTOR_STATE_PASSWORD_FILE", path.as_str())],
        vec![("PGPASSWORD", PASSWORD)],
    ] {
        let run = connector(
            &["events"],
            &bare(&url_of("?sslmode=disable"), &extra),
            None,
        );
        assert_eq!(run.code, 0, "{extra:?}: {}", run.stderr);
    }
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:*:{USER}:{PASSWORD}\n", server.port),
    )
    .unwrap();
    let pgpass = pgpass.display().to_string();
    let run = connector(
        &["events"],
        &bare(&url_of("?sslmode=disable"), &[("PGPASSFILE", &pgpass)]),
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // TLS: verified against the CA file, for the name; encrypted unverified with require.
    let password = [("PGPASSWORD", PASSWORD)];
    let full = url_of(&format!(
        "?sslmode=verify-full&sslrootcert={}",
        ca.display()
    ));
    let run = connector(&["events"], &bare(&full, &password), None);
    assert_eq!(run.code, 0, "verify-full: {}", run.stderr);
    let run = connector(
        &["events"],
        &bare(&url_of("?sslmode=require"), &password),
        None,
    );
    assert_eq!(run.code, 0, "require: {}", run.stderr);
    let unknown = connector(
        &["events"],
        &bare(&url_of("?sslmode=verify-full"), &password),
        None,
    );
    assert_eq!(unknown.code, 74, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("UnknownIssuer"),
        "{}",
        unknown.stderr
    );
    assert!(
        unknown.stderr.contains("sslrootcert=PATH"),
        "says what to set: {}",
        unknown.stderr
    );
    let odd = connector(
        &["events"],
        &bare(&url_of("?sslmode=sometimes"), &password),
        None,
    );
    assert_ne!(odd.code, 0);
    assert!(odd.stderr.contains("verify-full"), "{}", odd.stderr);
}

#[test]
fn a_server_that_is_down_or_restarts_leaves_events_owed_and_nothing_lost() {
    let Some(server) = pg::private_server("server restart") else {
        return;
    };
    let Fresh {
        host,
        dir: _dir,
        url: _,
        env,
    } = fresh(&server, "restart");

    // Down: the event cannot even be journaled; it is owed (75), and the sender sends it again.
    let restarting = std::thread::scope(|scope| {
        let restart = scope.spawn(|| server.restart_after(std::time::Duration::from_millis(1500)));
        let mut owed = 0;
        let commits: Vec<String> = (0..12).map(|i| format!("{:040x}", 0x5000 + i)).collect();
        for commit in &commits {
            for body in [
                flux_event(PROGRESSING, commit, None),
                flux_event(SUCCEEDED, commit, None),
            ] {
                // The sender's retries: until the invocation is not owed any more.
                loop {
                    let run = connector(&["handle", "--budget", "2"], &env, Some(&body));
                    match run.code {
                        0 => break,
                        75 => {
                            owed += 1;
                            assert!(
                                run.stderr.contains("owed") && !run.stderr.contains(PASSWORD),
                                "{}",
                                run.stderr
                            );
                            std::thread::sleep(std::time::Duration::from_millis(200));
                        }
                        other => panic!("exit {other}: {}", run.stderr),
                    }
                }
            }
        }
        restart.join().unwrap();
        (owed, commits)
    });
    let (owed, commits) = restarting;
    assert!(owed > 0, "the restart must have been met to prove anything");
    // Anything a killed connection left owed goes out on replay.
    loop {
        let run = connector(&["replay", "--failed"], &env, None);
        if run.code == 0 {
            break;
        }
        assert_eq!(run.code, 75, "{}", run.stderr);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // The mock names the same run for every commit: one dispatch per commit, none twice.
    assert_eq!(dispatches(&host), commits.len(), "each commit told once");
    for commit in &commits {
        let statuses = host
            .requests()
            .iter()
            .filter(|r| r.path().contains(&format!("/statuses/{commit}")))
            .count();
        assert!(statuses > 0, "{commit} has its statuses");
    }
    eprintln!(
        "postgres restart: {} commits, {owed} invocations owed (75) while the server was down, each commit told once",
        commits.len()
    );
}

/// Four relay replicas on one PostgreSQL, each handling its share of the commits in order (as a
/// load balancer spreads senders), through hosts that fail a fifth of the requests, with
/// invocations killed at random mid-event (the sender then sends the event again); then
/// `replay --failed` until nothing is owed. Compared with a fault-free run of the same events.
#[test]
fn four_replicas_killed_at_random_lose_nothing_and_notify_each_commit_once() {
    use crate::faults::{events_of, faulty_host, final_statuses, full, notifications, run_all};
    use crate::faults::{Ledger, Rng};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let Some(server) = pg::server("four replicas") else {
        return;
    };
    // 300 events in CI, 100 otherwise; five per commit.
    let commits = if full() { 60 } else { 20 };
    let events = events_of(commits);
    let seed = 0x5eed_0415;

    let clean_ledger = Arc::new(Mutex::new(Ledger::default()));
    let clean_host = faulty_host(seed, 0, clean_ledger.clone());
    let clean_dir = TempDir::new("replicas-clean");
    let clean_url = server.database("replicas_clean");
    run_all(&on_postgres(&clean_host, &clean_dir, &clean_url), &events);

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let host = faulty_host(seed, 20, ledger.clone());
    let dir = TempDir::new("replicas");
    let url = server.database("replicas");
    let env = on_postgres(&host, &dir, &url);
    let kills = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let owed_exits = std::thread::scope(|scope| {
        let replicas: Vec<_> = (0..4_usize)
            .map(|replica| {
                let (env, events, kills) = (&env, &events, kills.clone());
                scope.spawn(move || {
                    let mut rng = Rng(seed + replica as u64);
                    let mut owed = 0;
                    let mine = events
                        .chunks(5)
                        .enumerate()
                        .filter(|(commit, _)| commit % 4 == replica)
                        .flat_map(|(_, commit_events)| commit_events);
                    for body in mine {
                        let mut attempt = 0;
                        loop {
                            attempt += 1;
                            let kill_after = (attempt == 1 && rng.below(4) == 0)
                                .then(|| Duration::from_millis(rng.below(120)));
                            let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitops-connector"));
                            cmd.args(["handle", "--budget", "1"])
                                .env_clear()
                                .env("GITOPS_CONNECTOR_DEBUG_DELAY_MS", "15")
                                .stdin(Stdio::piped())
                                .stdout(Stdio::null())
                                .stderr(Stdio::piped());
                            for (k, v) in env {
                                cmd.env(k, v);
                            }
                            let mut child = cmd.spawn().unwrap();
                            std::io::Write::write_all(&mut child.stdin.take().unwrap(), body)
                                .unwrap();
                            if let Some(after) = kill_after {
                                std::thread::sleep(after);
                                if child.try_wait().unwrap().is_none() {
                                    child.kill().unwrap();
                                    kills.lock().unwrap().push(Instant::now());
                                    child.wait().unwrap();
                                    // The relay answered an error: the sender sends it again.
                                    continue;
                                }
                            }
                            let out = child.wait_with_output().unwrap();
                            match out.status.code() {
                                Some(0) => break,
                                Some(75) => {
                                    owed += 1;
                                    break;
                                }
                                other => panic!(
                                    "exit {other:?}: {}",
                                    String::from_utf8_lossy(&out.stderr)
                                ),
                            }
                        }
                    }
                    owed
                })
            })
            .collect();
        replicas
            .into_iter()
            .map(|r| r.join().unwrap())
            .sum::<usize>()
    });
    // Any replica sends what is owed; leases of killed processes end 2 s after their budget.
    let mut replays = 0;
    loop {
        replays += 1;
        let run = connector(&["replay", "--failed", "--budget", "2"], &env, None);
        if run.code == 0 {
            break;
        }
        assert_eq!(run.code, 75, "{}", run.stderr);
        assert!(replays < 80, "still owed after {replays} replays");
        std::thread::sleep(Duration::from_millis(300));
    }

    let clean = clean_ledger.lock().unwrap();
    let faulty = ledger.lock().unwrap();
    let kills = kills.lock().unwrap();
    let lost = clean
        .accepted
        .iter()
        .filter(|e| !faulty.accepted.contains(e))
        .count();
    assert_eq!(lost, 0, "planned requests lost");
    assert_eq!(
        final_statuses(&faulty.accepted),
        final_statuses(&clean.accepted),
        "the final statuses are those of the fault-free run"
    );
    let sent = notifications(&faulty.accepted);
    let mut unique = sent.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), commits, "every commit told");
    assert_eq!(
        unique,
        {
            let mut c = notifications(&clean.accepted);
            c.sort();
            c
        },
        "told what the fault-free run told"
    );
    // A notification can only repeat through the one documented window: the process killed
    // after the orchestrator accepted it and before the state recorded that.
    let mut first_seen = std::collections::HashMap::new();
    let mut repeats = 0;
    for ((_, url, body), at) in faulty.accepted.iter().zip(&faulty.at) {
        if !(url.contains("/dispatches") || url.contains("/events?")) {
            continue;
        }
        match first_seen.get(body) {
            None => {
                first_seen.insert(body.clone(), *at);
            }
            Some(first) => {
                repeats += 1;
                let killed_in_window = kills
                    .iter()
                    .any(|k| *k >= *first && k.duration_since(*first) < Duration::from_millis(250));
                assert!(
                    killed_in_window,
                    "a notification repeated without a kill between its acceptance and its record"
                );
            }
        }
    }
    eprintln!(
        "replicas: 4 on one PostgreSQL, {} events, {} injected faults, {} SIGKILLs mid-event, {owed_exits} invocations left work owed, {replays} replays, lost 0, final statuses equal, {} commits told, {repeats} notifications repeated through the kill window",
        events.len(),
        faulty.faults,
        kills.len(),
        unique.len()
    );
}

/// A decision waits for another replica's at most the budget (PostgreSQL's `lock_timeout`),
/// then the event is owed (75), not lost: once the lock is free, the sender's resend is
/// delivered.
#[test]
fn a_decision_held_up_by_another_replica_is_owed_after_the_budget() {
    let Some(server) = pg::server("lock timeout") else {
        return;
    };
    let Fresh {
        host,
        dir: _dir,
        url,
        env,
    } = fresh(server, "lock");
    // Another replica in the middle of a decision: it holds the lock.
    let mut holding = holding_the_lock(&url);
    let body = flux_event(SUCCEEDED, SHA, None);
    let started = std::time::Instant::now();
    let held = connector(&["handle", "--budget", "1"], &env, Some(&body));
    let waited = started.elapsed();
    assert_eq!(held.code, 75, "{}", held.stderr);
    assert!(held.stderr.contains("owed"), "{}", held.stderr);
    assert!(
        waited < std::time::Duration::from_secs(15),
        "it gave up: {waited:?}"
    );
    assert_eq!(dispatches(&host), 0, "nothing decided, nothing sent");
    holding.batch_execute("COMMIT").unwrap();
    let resent = connector(&["handle", "--budget", "1"], &env, Some(&body));
    assert_eq!(resent.code, 0, "{}", resent.stderr);
    assert_eq!(dispatches(&host), 1);
}

/// A client of another replica in the middle of a decision: it holds the state's lock until
/// it commits.
fn holding_the_lock(url: &str) -> ::postgres::Client {
    let mut other = client(url);
    other
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({})",
            gitops_connector::state::POSTGRES_LOCK
        ))
        .unwrap();
    other
}

/// The schema's version is kept in the database: a state a newer connector migrated is refused
/// with what to do, never written in an older shape.
#[test]
fn a_state_from_a_newer_connector_is_refused_by_an_older_one() {
    let Some(server) = pg::server("newer schema") else {
        return;
    };
    let Fresh {
        host: _host,
        dir: _dir,
        url,
        env,
    } = fresh(server, "newer");
    let mut admin = client(&url);
    admin
        .batch_execute("UPDATE gitops_connector_schema SET version = 99")
        .unwrap();
    let refused = connector(&["events"], &env, None);
    assert_eq!(refused.code, 74, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("newer than this binary knows")
            && refused.stderr.contains("use a newer gitops-connector"),
        "{}",
        refused.stderr
    );
}

/// Every write waits for the lock, the journal's too (it wrote its row under a lock held
/// elsewhere); a lock that times out rolls back, so the connection goes on working and the
/// run ends owed (75), not with "current transaction is aborted" (74).
#[test]
fn while_another_replica_holds_the_lock_nothing_is_written_and_the_run_is_owed() {
    let Some(server) = pg::server("every write under the lock") else {
        return;
    };
    let Fresh {
        host,
        dir: _dir,
        url,
        env,
    } = fresh(server, "every-write-locked");
    let mut admin = client(&url);
    let events = |c: &mut ::postgres::Client| -> i64 {
        c.query_one("SELECT COUNT(*) FROM events", &[])
            .unwrap()
            .get(0)
    };
    let mut holding = holding_the_lock(&url);
    let body = flux_event(SUCCEEDED, SHA, None);
    let held = connector(&["handle", "--budget", "1"], &env, Some(&body));
    assert_eq!(held.code, 75, "{}", held.stderr);
    assert_eq!(
        events(&mut admin),
        0,
        "not even the journal wrote: {}",
        held.stderr
    );
    let replay = connector(&["replay", "--failed", "--budget", "1"], &env, None);
    assert_eq!(replay.code, 75, "{}", replay.stderr);
    assert!(
        !replay.stderr.contains("current transaction is aborted"),
        "{}",
        replay.stderr
    );
    holding.batch_execute("COMMIT").unwrap();
    let resent = connector(&["handle", "--budget", "1"], &env, Some(&body));
    assert_eq!(resent.code, 0, "{}", resent.stderr);
    assert_eq!(events(&mut admin), 1);
    assert_eq!(dispatches(&host), 1);
}

/// libfaketime, which shifts a program's clock (Debian's faketime package; `.ci/run` installs
/// it): `None` (after saying SKIPPED) where it is missing, a failure under `CI=true`.
fn faketime(test: &str) -> Option<std::path::PathBuf> {
    let found = std::fs::read_dir("/usr/lib")
        .ok()?
        .flatten()
        .map(|e| e.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: no libfaketime, and CI=true: .ci/run installs it"
        );
        eprintln!("SKIPPED {test}: no libfaketime (Debian's faketime package)");
    }
    found
}

/// Replicas whose clocks disagree share one: leases, backoff and the journal's times are the
/// server's. A connector whose clock is an hour behind still journals at the server's time.
#[test]
fn a_replica_with_a_skewed_clock_keeps_the_servers_time() {
    let Some(server) = pg::server("the server's clock") else {
        return;
    };
    let Some(lib) = faketime("the server's clock") else {
        return;
    };
    let Fresh {
        host: _host,
        dir: _dir,
        url,
        env,
    } = fresh(server, "skewed-clock");
    let skewed = with(
        &env,
        &[
            ("LD_PRELOAD", lib.to_str().unwrap()),
            ("FAKETIME", "-1h"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    let body = flux_event(SUCCEEDED, SHA, None);
    let run = connector(&["handle"], &skewed, Some(&body));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut admin = client(&url);
    let row = admin
        .query_one(
            "SELECT (extract(epoch from now()) * 1000)::bigint - received_ms FROM events",
            &[],
        )
        .unwrap();
    let behind: i64 = row.get(0);
    assert!(
        behind.abs() < 5 * 60 * 1000,
        "the journal's time is {behind} ms off the server's"
    );
    let leased: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM outbox WHERE updated_ms < (extract(epoch from now()) * 1000)::bigint - 1800000",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(leased, 0, "every row's time is the server's");
}
