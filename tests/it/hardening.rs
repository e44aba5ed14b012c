//! Hostile input, secrets and trust: what must hold whatever arrives.

use crate::support::*;
use serde_json::Value;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// Figures go to the real stderr, past the test harness's capture, so `cargo test` shows them.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn every_hostile_input_is_answered_fast_without_a_panic_or_a_stray_request() {
    let dir_path = format!("{}/tests/hostile", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir_path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 40, "the corpus has {} cases", names.len());
    let host = MockHost::start();
    let dir = TempDir::new("hostile");
    let env = github_env(&host, &dir);
    let (mut invalid, mut ignored, mut handled, mut slowest) = (0, 0, 0, Duration::ZERO);
    for (i, name) in names.iter().enumerate() {
        host.clear();
        let started = Instant::now();
        let run = connector(
            &["handle", "--output", "json", &format!("{dir_path}/{name}")],
            &env,
            None,
        );
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert!(took < Duration::from_secs(3), "{name} took {took:?}");
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        let journaled: Value = serde_json::from_str(
            &connector(
                &["events", "show", &(i + 1).to_string(), "--output", "json"],
                &env,
                None,
            )
            .stdout,
        )
        .unwrap();
        if name.starts_with("invalid-") {
            invalid += 1;
            assert_eq!(run.code, 65, "{name}: {}", run.stderr);
            let lines: Vec<&str> = run.stderr.trim().lines().collect();
            assert_eq!(lines.len(), 1, "{name}: one line, got {}", run.stderr);
            assert!(lines[0].starts_with("error: event"), "{name}: {}", lines[0]);
            assert_eq!(journaled["event"]["outcome"], "rejected", "{name}");
            assert!(host.requests().is_empty(), "{name} sent something");
        } else if name.starts_with("ignored-") {
            ignored += 1;
            assert_eq!(run.code, 0, "{name}: {}", run.stderr);
            assert_eq!(journaled["event"]["outcome"], "ignored", "{name}");
            assert!(host.requests().is_empty(), "{name} sent something");
        } else {
            handled += 1;
            assert_eq!(run.code, 0, "{name}: {}", run.stderr);
            for r in host.requests() {
                let commit = r.path().rsplit('/').find(|s| s.len() == 40);
                assert!(
                    commit.is_some_and(|c| c.bytes().all(|b| b.is_ascii_hexdigit()))
                        || r.path().ends_with("/dispatches")
                        || is_compare(r.path()),
                    "{name}: {}",
                    r.url
                );
                if r.path().contains("/statuses/") {
                    let body = r.json();
                    assert!(
                        body["description"].as_str().unwrap().chars().count() <= 140,
                        "{name}"
                    );
                    let context = body["context"].as_str().unwrap();
                    assert!(
                        !context.is_empty()
                            && context.chars().count() <= 255
                            && !context.chars().any(char::is_control),
                        "{name}: {context:?}"
                    );
                }
            }
        }
    }
    // Over the size limit, generated here rather than committed.
    let big = TempDir::new("hostile-big");
    let path = big.path().join("big.json");
    std::fs::write(&path, vec![b'{'; 10 * 1024 * 1024 + 1]).unwrap();
    let run = connector(&["handle", path.to_str().unwrap()], &env, None);
    assert_eq!(run.code, 65);
    assert!(run.stderr.contains("byte limit"));
    report(&format!(
        "hostile input: {} cases ({invalid} invalid → 65, {ignored} ignored → 0, {handled} odd but handled → 0, 1 oversized → 65), 0 panics, slowest {} ms",
        names.len() + 1,
        slowest.as_millis()
    ));
}

#[test]
fn the_token_appears_in_no_output_log_or_byte_of_the_state() {
    // A host that echoes what it got, including the Authorization header, into its errors.
    let host = MockHost::with(|r| {
        let auth = r.header("Authorization").unwrap_or("").to_string();
        (r.path().contains("/statuses/")).then(|| {
            Reply::json(
                422,
                serde_json::json!({"message": format!("bad request from {auth}")}),
            )
        })
    });
    let dir = TempDir::new("secrets");
    let env = github_env(&host, &dir);
    let event = fixture_path("flux/kustomization-reconciliation-succeeded-flux-v2.json");
    // A reader held open keeps SQLite from folding the WAL away when each invocation exits, so the
    // WAL the invocations wrote is there to be scanned below.
    assert_eq!(connector(&["events"], &env, None).code, 0);
    let reader =
        (!postgres::suite_on_postgres()).then(|| rusqlite::Connection::open(dir.state()).unwrap());
    if let Some(reader) = &reader {
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
    }
    let mut outputs = Vec::new();
    for args in [
        vec!["handle", "-v", &event],
        vec!["handle", "-v", "--log-format", "json", &event],
        vec!["status", "--dry-run", "-v", &event],
        vec!["notify", "--dry-run", "--output", "json", &event],
        vec!["events", "-v"],
        vec!["events", "--failed", "--output", "json"],
        vec!["events", "show", "1"],
        vec!["events", "show", "1", "--output", "json"],
        vec!["replay", "1", "-v"],
        vec!["replay", "--failed", "-v"],
        vec!["config"],
        vec!["config", "--output", "json"],
        vec!["poll-prs", "-v"],
        vec!["prune", "--older-than", "1d"],
    ] {
        let run = connector(&args, &env, None);
        outputs.push((args.join(" "), run));
    }
    assert!(
        outputs[0].1.stderr.contains("bad request from"),
        "the host's echo is shown: {}",
        outputs[0].1.stderr
    );
    for (args, run) in &outputs {
        assert!(
            !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
            "`{args}` leaked the token"
        );
        let basic = gitops_connector::http::base64(&format!(":{TOKEN}"));
        assert!(
            !run.stdout.contains(&basic) && !run.stderr.contains(&basic),
            "`{args}` leaked the encoded token"
        );
    }
    assert!(
        !dir.state_dump().contains(TOKEN),
        "the state holds the token"
    );
    if postgres::suite_on_postgres() {
        return;
    }
    let wal = std::path::PathBuf::from(format!("{}-wal", dir.state()));
    assert!(
        std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0),
        "the WAL is there to scan"
    );
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
            "{} holds the token",
            path.display()
        );
        files += 1;
        #[cfg(unix)]
        if path.extension().is_some_and(|e| e == "db") {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
    drop(reader);
    report(&format!(
        "secrets: {} invocations, {files} state files scanned (database, WAL, shared memory), 0 leaks",
        outputs.len()
    ));
}

#[test]
fn a_redirect_is_not_followed_so_the_token_stays_home() {
    let elsewhere = MockHost::start();
    let target = format!(
        "{}/stolen",
        elsewhere.base.replace("127.0.0.1", "localhost")
    );
    let host = MockHost::with(move |_| Some(Reply::status(307).with_header("Location", &target)));
    let dir = TempDir::new("redirect");
    let run = run_fixture(
        "status",
        "argo/succeeded-synced-healthy.json",
        &github_env(&host, &dir),
        &[],
    );
    assert_eq!(run.code, 75, "a URL to fix is owed: {}", run.stderr);
    assert!(run.stderr.contains("a redirect to"), "{}", run.stderr);
    assert!(run.stderr.contains("GITHUB_ORG_URL"), "{}", run.stderr);
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn subscriber_urls_must_be_http_or_https() {
    let host = MockHost::start();
    let dir = TempDir::new("sub-url");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[subscribers]\nx = \"file:///etc/passwd\"\n").unwrap();
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    );
    let run = run_fixture("status", "argo/succeeded-synced-healthy.json", &env, &[]);
    assert_eq!(run.code, 78);
    assert!(run.stderr.contains("subscribers.x"), "{}", run.stderr);
}

#[test]
fn replay_keeps_the_callback_origin_rule() {
    let foreign = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flip = foreign.clone();
    let host = MockHost::with(move |r| {
        (flip.load(std::sync::atomic::Ordering::SeqCst) && r.path().ends_with("/properties"))
            .then(|| Reply::json(200, callback_properties("https://evil.example/")))
    });
    let dir = TempDir::new("replay-origin");
    let env = with(
        &azure_env(&host, &dir),
        &[("GITOPS_CONNECTOR_BUDGET_SECONDS", "1")],
    );
    // The first try fails at the host; by the replay, someone has pointed the property elsewhere.
    let down = MockHost::with(|_| Some(Reply::status(503)));
    let env_down = with(
        &env,
        &[("AZDO_ORG_URL", &format!("{}/org/proj", down.base))],
    );
    assert_eq!(
        run_fixture(
            "notify",
            "argo/succeeded-synced-healthy.json",
            &env_down,
            &[]
        )
        .code,
        75
    );
    drop(down);
    foreign.store(true, std::sync::atomic::Ordering::SeqCst);
    let replay = connector(&["replay", "--failed"], &env, None);
    assert_eq!(replay.code, 77, "{}", replay.stderr);
    assert!(
        host.posts().iter().all(|p| !p.path().ends_with("/events")),
        "no callback was sent"
    );
}

#[test]
fn hostile_sizes_plan_a_bounded_number_of_requests() {
    let host = MockHost::start();
    let dir = TempDir::new("hostile-sizes");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[subscribers]\nspektate = \"http://127.0.0.1:9/x\"\n",
    )
    .unwrap();
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    );
    // Per host: the detail statuses, plus `Status` twice around a change set.
    let bound = gitops_connector::report::MAX_DETAIL_STATUSES + 2;
    for (kind, body) in crate::support::hostile::sizes(SHA, ARGO_SHA) {
        assert!(
            body.len() > 9 * 1024 * 1024 && body.len() < 10 * 1024 * 1024,
            "{kind}: {}",
            body.len()
        );
        let run = connector(
            &["status", "--dry-run", "--output", "json"],
            &env,
            Some(&body),
        );
        assert_eq!(run.code, 0, "{kind}: {}", run.stderr);
        let planned: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let requests = planned["requests"].as_array().unwrap();
        let to_github = requests.iter().filter(|r| r["target"] == "github").count();
        let to_subscriber = requests.len() - to_github;
        assert!(
            to_github > 2 && to_github <= bound,
            "{kind}: {to_github} status requests to GitHub"
        );
        assert_eq!(
            to_subscriber, to_github,
            "{kind}: the subscriber gets the same statuses"
        );
    }
}

/// `…/compare/BASE...HEAD`, both 40 hex: the release of skipped commits.
fn is_compare(path: &str) -> bool {
    path.rsplit_once("/compare/")
        .and_then(|(_, range)| range.split_once("..."))
        .is_some_and(|(base, head)| {
            [base, head]
                .iter()
                .all(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        })
}
