//! Promises of the command line that README makes: log formats, quiet, exit codes, retention.

mod support;

use serde_json::Value;
use support::*;

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
