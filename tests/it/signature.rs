//! Flux generic-hmac: with a key configured, only correctly signed events are acted on.

use crate::support::*;

const KEY: &str = "s3cr3t-hmac-key";
const GOOD: &str = "sha256=d3d73ce06b36e251729df5ec325ee82682b135d6a2488c8f6055e11611c5df4f";
const EVENT: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";

#[test]
fn a_correct_signature_by_flag_or_environment_is_accepted() {
    let host = MockHost::start();
    let dir = TempDir::new("sig-ok");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_HMAC_KEY", KEY)],
    );
    let run = run_fixture("status", EVENT, &env, &["--signature", GOOD]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(host.posts().len(), 1);
    let dir = TempDir::new("sig-env");
    let env = with(
        &github_env(&host, &dir),
        &[
            ("GITOPS_CONNECTOR_HMAC_KEY", KEY),
            ("GITOPS_CONNECTOR_SIGNATURE", GOOD),
        ],
    );
    assert_eq!(run_fixture("status", EVENT, &env, &[]).code, 0);
}

#[test]
fn unsigned_or_wrongly_signed_events_are_refused_with_77_and_journaled() {
    let host = MockHost::start();
    let dir = TempDir::new("sig-bad");
    let key_file = dir.path().join("hmac");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("hmac_key_file = \"{}\"\n", key_file.display()),
    )
    .unwrap();
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    );
    let unsigned = run_fixture("status", EVENT, &env, &[]);
    assert_eq!(unsigned.code, 77, "{}", unsigned.stderr);
    assert!(unsigned.stderr.contains("not signed"));
    let wrong = run_fixture(
        "status",
        EVENT,
        &env,
        &["--signature", &GOOD.replace("d3d7", "0000")],
    );
    assert_eq!(wrong.code, 77);
    assert!(wrong.stderr.contains("does not match"));
    // Garbage with a bad signature is refused for its signature, before it is read.
    let garbage = connector(
        &["status", "--signature", "sha256=00"],
        &env,
        Some(b"not json"),
    );
    assert_eq!(garbage.code, 77);
    // --ack-rejected never hides a bad signature.
    assert_eq!(
        run_fixture("status", EVENT, &env, &["--ack-rejected"]).code,
        77
    );
    assert!(host.requests().is_empty());
    let events = connector(&["events", "--output", "json"], &env, None);
    let list: serde_json::Value = serde_json::from_str(&events.stdout).unwrap();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["outcome"] == "rejected"));
    assert_eq!(list.as_array().unwrap().len(), 4);
    // A rejected body cannot be replayed into acceptance: its signature cannot be checked again.
    let replay = connector(&["replay", "1"], &env, None);
    assert_eq!(replay.code, 77, "{}", replay.stderr);
    assert!(
        replay.stderr.contains("cannot be checked again"),
        "{}",
        replay.stderr
    );
    assert!(host.requests().is_empty());
    let good = run_fixture("status", EVENT, &env, &["--signature", GOOD]);
    assert_eq!(good.code, 0, "{}", good.stderr);
    // An accepted event replays: it was checked when it arrived.
    assert_eq!(connector(&["replay", "5"], &env, None).code, 0);
}

#[test]
fn verified_by_relay_waives_the_signature_only_where_it_is_given() {
    let host = MockHost::start();
    let dir = TempDir::new("sig-relay");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_HMAC_KEY", "s3cr3t-hmac-key")],
    );
    let argo = "argo/succeeded-synced-healthy.json";
    let unsigned = run_fixture("handle", argo, &env, &[]);
    assert_eq!(unsigned.code, 77, "{}", unsigned.stderr);
    assert!(host.requests().is_empty());
    let vouched = run_fixture("handle", argo, &env, &["--verified-by-relay"]);
    assert_eq!(vouched.code, 0, "{}", vouched.stderr);
    assert!(!host.posts().is_empty());
}
