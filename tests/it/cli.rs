//! Promises of the command line that README makes: log formats, quiet, exit codes, retention.

use crate::support::*;
use serde_json::Value;

const EVENT: &str = "flux/kustomization-progressing-ssa-changeset-flux-v2.json";

#[test]
fn json_logs_are_one_object_per_line_by_flag_or_environment() {
    let host = MockHost::start();
    let dir = TempDir::new("logjson");
    for (args, env) in [
        (vec!["-v", "--log-format", "json"], github_env(&host, &dir)),
        (
            vec!["-v"],
            with(
                &github_env(&host, &dir),
                &[("GITOPS_CONNECTOR_LOG_FORMAT", "json")],
            ),
        ),
    ] {
        let run = run_fixture("status", EVENT, &env, &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(!lines.is_empty());
        for line in lines {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(
                v["ts_ms"].is_i64() && v["level"].is_string() && v["message"].is_string(),
                "{line}"
            );
        }
    }
}

#[test]
fn quiet_prints_only_the_error_that_explains_the_exit() {
    let host = MockHost::with(|_| Some(Reply::status(503)));
    let dir = TempDir::new("quiet");
    let run = run_fixture(
        "status",
        EVENT,
        &github_env(&host, &dir),
        &["-q", "--budget", "1"],
    );
    assert_eq!(run.code, 75);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let fresh = TempDir::new("loud");
    let loud = run_fixture(
        "status",
        EVENT,
        &github_env(&host, &fresh),
        &["--budget", "1"],
    );
    assert!(loud.stderr.contains("warning"), "{}", loud.stderr);
}

#[test]
fn an_unreadable_event_file_is_a_usage_error_and_an_unusable_state_exits_74() {
    let host = MockHost::start();
    let dir = TempDir::new("codes");
    let run = connector(
        &["status", "/nonexistent/event.json"],
        &github_env(&host, &dir),
        None,
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("cannot read the event file /nonexistent/event.json"),
        "{}",
        run.stderr
    );
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let state = blocker.join("state.db").display().to_string();
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_STATE", &state)],
    );
    let run = run_fixture("status", EVENT, &env, &[]);
    assert_eq!(run.code, 74, "{}", run.stderr);
    assert!(run.stderr.contains("state"), "{}", run.stderr);
}

#[test]
fn replay_failed_prunes_past_the_retention() {
    let host = MockHost::start();
    let dir = TempDir::new("retention");
    let env = github_env(&host, &dir);
    assert_eq!(run_fixture("status", EVENT, &env, &[]).code, 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let keep = connector(&["replay", "--failed"], &env, None);
    assert_eq!(keep.code, 0);
    let listed: Value =
        serde_json::from_str(&connector(&["events", "--output", "json"], &env, None).stdout)
            .unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "30 days by default: kept"
    );
    let env = with(&env, &[("GITOPS_CONNECTOR_RETENTION_DAYS", "0")]);
    assert_eq!(connector(&["replay", "--failed"], &env, None).code, 0);
    let listed: Value =
        serde_json::from_str(&connector(&["events", "--output", "json"], &env, None).stdout)
            .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0, "retention 0: pruned");
}

/// Runs the binary with stdout going to `/dev/full`: every write fails with "no space left".
fn to_dev_full(args: &[&str], env: &[(String, String)]) -> (i32, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gitops-connector"))
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .env("HOME", std::env::temp_dir())
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn an_unwritable_stdout_never_turns_the_exit_code_into_zero() {
    let event = fixture_path("flux/kustomization-reconciliation-succeeded-flux-v2.json");
    let down = MockHost::with(|_| Some(Reply::status(503)));
    let dir = TempDir::new("dev-full-down");
    let env = with(
        &github_env(&down, &dir),
        &[("GITOPS_CONNECTOR_BUDGET_SECONDS", "1")],
    );
    let (code, stderr) = to_dev_full(&["handle", &event], &env);
    assert_eq!(code, 75, "still owed: {stderr}");
    assert!(
        stderr.contains("cannot write the results to stdout"),
        "{stderr}"
    );

    let up = MockHost::start();
    let dir = TempDir::new("dev-full-up");
    let (code, stderr) = to_dev_full(&["handle", &event], &github_env(&up, &dir));
    assert_eq!(code, 74, "the work was done, the report was lost: {stderr}");
    assert!(!up.posts().is_empty());

    let (code, _) = to_dev_full(&["events"], &github_env(&up, &dir));
    assert_eq!(code, 74, "a full disk is no broken pipe");
}

#[test]
fn a_listing_cut_short_by_its_reader_ends_quietly() {
    let host = MockHost::start();
    let dir = TempDir::new("broken-pipe");
    let env = github_env(&host, &dir);
    for _ in 0..3 {
        run_fixture("handle", "argo/succeeded-synced-healthy.json", &env, &[]);
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gitops-connector"))
        .args(["events", "--output", "json"])
        .env_clear()
        .envs(env.iter().cloned())
        .env("HOME", std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
}
