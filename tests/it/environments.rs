//! Several clusters on one repository and branch: each event names its environment (or its
//! instance fixes one), status contexts never collide, and a require-list can gate across them.

use crate::support::*;
use serde_json::{json, Value};

const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const FAILED: &str = "flux/kustomization-health-check-failed-single-flux-v2.json";

/// A Flux event of `flux-system/apps` for commit `SHA` from `environment`.
fn flux(base: &str, environment: Option<&str>) -> Vec<u8> {
    flux_event(base, SHA, environment)
}

fn contexts(host: &MockHost) -> Vec<String> {
    host.posts()
        .iter()
        .filter(|p| p.path().contains("/statuses/"))
        .map(|p| p.json()["context"].as_str().unwrap().to_string())
        .collect()
}

fn dispatched(host: &MockHost) -> Vec<Value> {
    host.posts()
        .iter()
        .filter(|p| p.path().ends_with("/dispatches"))
        .map(|p| p.json()["event_type"].clone())
        .collect()
}

fn with_config(host: &MockHost, dir: &TempDir, toml: &str) -> Vec<(String, String)> {
    let config = dir.path().join("c.toml");
    std::fs::write(&config, toml).unwrap();
    with(
        &github_env(host, dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    )
}

#[test]
fn two_environments_on_one_commit_keep_their_statuses_apart() {
    let host = MockHost::start();
    let dir = TempDir::new("env-apart");
    let env = with_config(
        &host,
        &dir,
        &format!("[subscribers]\nspektate = \"{}/hook\"\n", host.base),
    );
    // Without an environment first (the commit's end, as before), then two clusters: each
    // environment's statuses post, though the commit has ended.
    for environment in [None, Some("prod-eu"), Some("prod-us")] {
        let run = connector(&["status"], &env, Some(&flux(SUCCESS, environment)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(
        contexts(&host),
        ["Status", "prod-eu/Status", "prod-us/Status"]
    );
    // The journal knows each event's environment through its source.
    let listed: Value =
        serde_json::from_str(&connector(&["events", "--output", "json"], &env, None).stdout)
            .unwrap();
    assert_eq!(listed[0]["source"], "prod-us:flux-system/apps");
    assert_eq!(
        listed[2]["source"], "flux-system/apps",
        "no environment, as before"
    );
    // Subscribers are told the environment, and only when there is one.
    let told: Vec<Value> = host
        .posts()
        .iter()
        .filter(|p| p.path() == "/hook")
        .map(Recorded::json)
        .collect();
    assert!(told[0].get("environment").is_none(), "{}", told[0]);
    assert_eq!(told[0]["status_name"], "Status");
    assert_eq!(told[1]["environment"], "prod-eu");
    assert_eq!(told[1]["status_name"], "prod-eu/Status");
    assert_eq!(told[2]["environment"], "prod-us");
}

#[test]
fn a_gate_across_environments_tells_success_once_after_both() {
    let host = MockHost::start();
    let dir = TempDir::new("env-gate");
    let env = with_config(
        &host,
        &dir,
        "require = [\"prod-eu:flux-system/apps\", \"prod-us:flux-system/apps\"]\nfailure_dispatch_event = \"sync-failure\"\n",
    );
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, Some("prod-eu")))).code,
        0
    );
    assert!(
        dispatched(&host).is_empty(),
        "prod-us has not deployed it yet"
    );
    // Another environment, not required, fails: it decides nothing.
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(FAILED, Some("dev")))).code,
        0
    );
    assert!(dispatched(&host).is_empty());
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, Some("prod-us")))).code,
        0
    );
    assert_eq!(dispatched(&host), [json!("sync-success")]);
    let prod_us: Vec<String> = contexts(&host)
        .into_iter()
        .filter(|c| c.starts_with("prod-us/"))
        .collect();
    assert_eq!(
        prod_us,
        ["prod-us/Status"],
        "each environment's statuses are posted"
    );
    // Repeats, from either, send nothing more: no notification, and no status (each
    // environment has ended).
    let posted = contexts(&host).len();
    for environment in ["prod-eu", "prod-us"] {
        assert_eq!(
            connector(&["handle"], &env, Some(&flux(SUCCESS, Some(environment)))).code,
            0
        );
    }
    assert_eq!(dispatched(&host).len(), 1);
    assert_eq!(
        contexts(&host).len(),
        posted,
        "periodic repeats cost nothing"
    );
}

#[test]
fn a_failure_in_one_required_environment_tells_failure_once() {
    let host = MockHost::start();
    let dir = TempDir::new("env-fail");
    let env = with_config(
        &host,
        &dir,
        "require = [\"prod-eu:apps\", \"prod-us:apps\"]\nfailure_dispatch_event = \"sync-failure\"\n",
    );
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, Some("prod-eu")))).code,
        0
    );
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(FAILED, Some("prod-us")))).code,
        0
    );
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(FAILED, Some("prod-us")))).code,
        0
    );
    assert_eq!(dispatched(&host), [json!("sync-failure")]);
}

#[test]
fn an_instance_can_fix_the_environment_of_argo_cd_events() {
    let host = MockHost::start();
    let dir = TempDir::new("env-argo");
    let env = with_config(&host, &dir, "environment = \"staging\"\n");
    let run = run_fixture("status", "argo/succeeded-synced-healthy.json", &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        contexts(&host),
        ["staging/Phase", "staging/Sync", "staging/Health"]
    );
    // An event that names its environment keeps it.
    host.clear();
    let mut v: Value =
        serde_json::from_slice(&fixture("argo/succeeded-synced-healthy.json")).unwrap();
    v["environment"] = json!("prod-eu");
    v["commitid"] = json!("0123456789abcdef0123456789abcdef01234567");
    let run = connector(&["status"], &env, Some(&serde_json::to_vec(&v).unwrap()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        contexts(&host),
        ["prod-eu/Phase", "prod-eu/Sync", "prod-eu/Health"]
    );
}

#[test]
fn an_environment_that_is_not_a_word_is_invalid() {
    let host = MockHost::start();
    let dir = TempDir::new("env-bad");
    let run = connector(
        &["handle"],
        &github_env(&host, &dir),
        Some(&flux(SUCCESS, Some("prod eu/1"))),
    );
    assert_eq!(run.code, 65, "{}", run.stderr);
    assert!(
        run.stderr.contains("environment \"prod eu/1\" must be"),
        "{}",
        run.stderr
    );
    assert!(host.requests().is_empty());
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_ENVIRONMENT", "a:b")],
    );
    let run = run_fixture("handle", SUCCESS, &env, &[]);
    assert_eq!(run.code, 78, "{}", run.stderr);
    assert!(run.stderr.contains("`environment`"), "{}", run.stderr);
}
