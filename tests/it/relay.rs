//! End to end behind the real relay: adnanh/webhook (Debian package `webhook`) runs
//! `gitops-connector handle` with deploy/relay/hooks.json, the file README shows and the
//! Kubernetes base mounts. Every relay here gets the one environment the Deployment sets: the
//! connector's HMAC key, the relay's HMAC key and Argo CD's header token, all at once.

use crate::support::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HMAC_KEY: &str = "s3cr3t-hmac-key";
const GOOD_SIGNATURE: &str =
    "sha256=d3d73ce06b36e251729df5ec325ee82682b135d6a2488c8f6055e11611c5df4f";
const ARGO_TOKEN: &str = "argo-shared-token";

struct Relay {
    child: Child,
    base: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn webhook_binary() -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("webhook"))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// Starts webhook with the connector's configuration in its environment (it passes it on).
fn relay(env: &[(String, String)]) -> Option<Relay> {
    let Some(webhook) = webhook_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the `webhook` binary (Debian package webhook) is not installed, and CI must run this test: .ci/run installs it"
        );
        eprintln!("SKIPPED: the `webhook` binary (Debian package webhook) is not installed; .ci/run installs it");
        return None;
    };
    let env = with(env, &[("GITOPS_CONNECTOR_HMAC_KEY", HMAC_KEY)]);
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_gitops-connector"))
        .parent()
        .unwrap();
    let hooks = format!("{}/deploy/relay/hooks.json", env!("CARGO_MANIFEST_DIR"));
    // The port is free when picked, but a parallel test may take it before webhook binds it; then
    // webhook exits and another server answers there. So: ours only once it answers as webhook.
    for _attempt in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(&webhook);
        cmd.args([
            "-hooks",
            &hooks,
            "-template",
            "-ip",
            "127.0.0.1",
            "-port",
            &port.to_string(),
            "-nopanic",
        ])
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", std::env::temp_dir())
        .env("FLUX_HMAC_KEY", HMAC_KEY)
        .env("ARGOCD_WEBHOOK_TOKEN", ARGO_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut relay = Relay {
            child: cmd.spawn().expect("start webhook"),
            base: format!("http://127.0.0.1:{port}/hooks"),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if relay.child.try_wait().unwrap().is_some() {
                break; // it could not bind: try another port
            }
            if answers_as_webhook(&relay.base) {
                return Some(relay);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("webhook did not start on any of five ports");
}

/// webhook answers an unknown hook with its own words; other servers do not.
fn answers_as_webhook(base: &str) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    match agent.get(&format!("{base}/__probe")).call() {
        Ok(mut r) => {
            r.status() == 404
                && r.body_mut()
                    .read_to_string()
                    .is_ok_and(|b| b.contains("Hook not found"))
        }
        Err(_) => false,
    }
}

fn post(url: &str, body: &[u8], headers: &[(&str, &str)]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send(body).map_or(0, |r| r.status().as_u16())
}

const FLUX_SIGNED: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";

/// `sha256=<hex>` of `body` under the Flux provider's key, as notification-controller signs.
fn sign(body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(HMAC_KEY.as_bytes())
            .unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn statuses(host: &MockHost) -> usize {
    host.posts()
        .iter()
        .filter(|p| p.path().contains("/statuses/"))
        .count()
}

#[test]
fn one_environment_serves_all_three_hooks_and_the_signed_one_refuses_forgeries() {
    let host = MockHost::start();
    let dir = TempDir::new("relay-all");
    let env = github_env(&host, &dir);
    let Some(relay) = relay(&env) else { return };
    let body = fixture(FLUX_SIGNED);
    assert_eq!(sign(&body), GOOD_SIGNATURE, "the PROTOCOL test vector");
    let flux = format!("{}/flux", relay.base);

    // The hook that relies on the connector's check refuses what is not signed right (77 → 500).
    let wrong = GOOD_SIGNATURE.replace("d3d7", "0000");
    assert_eq!(post(&flux, &body, &[("X-Signature", &wrong)]), 500);
    assert_eq!(post(&flux, &body, &[]), 500, "unsigned");
    let argo = fixture("argo/succeeded-synced-healthy.json");
    assert_eq!(
        post(&flux, &argo, &[]),
        500,
        "an unsigned Argo CD body on the Flux hook"
    );
    assert!(host.requests().is_empty(), "refused bodies send nothing");

    // Signed and checked by the relay: the connector, with its own key set, takes the relay's word.
    let progressing = fixture("flux/kustomization-progressing-ssa-changeset-flux-v2.json");
    let at_relay = format!("{}/flux-signed-at-relay", relay.base);
    assert_eq!(
        post(
            &at_relay,
            &progressing,
            &[("X-Signature", &sign(&progressing))]
        ),
        200
    );
    assert_eq!(statuses(&host), SSA_CONTEXTS.len());

    // Then the commit's success, signed and checked by the connector.
    assert_eq!(post(&flux, &body, &[("X-Signature", GOOD_SIGNATURE)]), 200);
    assert_eq!(statuses(&host), SSA_CONTEXTS.len() + 1);

    // Argo CD cannot sign: the relay checks its header token, and the connector accepts it.
    let argocd = format!("{}/argocd", relay.base);
    assert_eq!(
        post(&argocd, &argo, &[("X-Connector-Token", ARGO_TOKEN)]),
        200
    );
    assert_eq!(statuses(&host), 1 + SSA_CONTEXTS.len() + 3);

    let events = connector(&["events", "--output", "json"], &env, None);
    let list: serde_json::Value = serde_json::from_str(&events.stdout).unwrap();
    let outcomes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["rejected", "rejected", "rejected", "handled", "handled", "handled"],
        "forgeries are journaled"
    );
}

#[test]
fn the_relay_can_check_the_signature_itself() {
    let host = MockHost::start();
    let dir = TempDir::new("relay-hmac");
    let Some(relay) = relay(&github_env(&host, &dir)) else {
        return;
    };
    let body = fixture(FLUX_SIGNED);
    let url = format!("{}/flux-signed-at-relay", relay.base);
    let wrong = GOOD_SIGNATURE.replace("d3d7", "0000");
    // webhook 2.8 treats a signature that does not verify as an error (500), not a mismatch.
    assert_eq!(
        post(&url, &body, &[("X-Signature", &wrong)]),
        500,
        "a wrong signature"
    );
    assert_eq!(
        post(&url, &body, &[("X-Signature", "sha256=00")]),
        500,
        "a malformed one"
    );
    let unsigned = post(&url, &body, &[]);
    assert!(
        !(200..300).contains(&unsigned),
        "no signature at all: {unsigned}"
    );
    assert!(host.requests().is_empty());
    assert_eq!(post(&url, &body, &[("X-Signature", GOOD_SIGNATURE)]), 200);
    assert!(!host.posts().is_empty());
}

#[test]
fn an_argo_cd_hook_is_guarded_by_a_shared_header_token_and_invalid_bodies_are_acknowledged() {
    let host = MockHost::start();
    let dir = TempDir::new("relay-argo");
    let env = azure_env(&host, &dir);
    let Some(relay) = relay(&env) else { return };
    let url = format!("{}/argocd", relay.base);
    let body = fixture("argo/succeeded-synced-healthy.json");
    assert_eq!(post(&url, &body, &[("X-Connector-Token", "wrong")]), 403);
    assert!(host.requests().is_empty());
    assert_eq!(post(&url, &body, &[("X-Connector-Token", ARGO_TOKEN)]), 200);
    assert_eq!(
        host.posts()
            .iter()
            .filter(|p| p.path().ends_with("/events"))
            .count(),
        1,
        "the task is completed"
    );
    // The broken template body is repaired; garbage is journaled and acknowledged, so Argo CD stops resending it.
    let repaired = fixture("argo/failed-apply-unescaped-quote-INVALID.txt");
    assert_eq!(
        post(&url, &repaired, &[("X-Connector-Token", ARGO_TOKEN)]),
        200
    );
    assert_eq!(
        post(&url, b"{not json", &[("X-Connector-Token", ARGO_TOKEN)]),
        200
    );
    let events = connector(&["events", "--output", "json"], &env, None);
    let list: serde_json::Value = serde_json::from_str(&events.stdout).unwrap();
    assert_eq!(list[0]["outcome"], "rejected");
}

/// Shut by default: a hook whose secret is unset (or empty) refuses everything, the empty
/// header and an HMAC computed with an empty key included; nothing reaches the connector.
#[test]
fn a_hook_whose_secret_is_unset_refuses_everything() {
    let host = MockHost::start();
    let dir = TempDir::new("relay-shut");
    let env = with(
        &github_env(&host, &dir),
        &[("ARGOCD_WEBHOOK_TOKEN", ""), ("FLUX_HMAC_KEY", "")],
    );
    let Some(relay) = relay(&env) else { return };
    let argo = fixture("argo/succeeded-synced-healthy.json");
    let url = format!("{}/argocd", relay.base);
    assert_eq!(post(&url, &argo, &[("X-Connector-Token", "")]), 403);
    assert_eq!(post(&url, &argo, &[]), 403);
    let flux = fixture("flux/kustomization-reconciliation-succeeded-flux-v2.json");
    let empty_key = {
        use hmac::Mac;
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(b"").unwrap();
        mac.update(&flux);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let url = format!("{}/flux-signed-at-relay", relay.base);
    assert_eq!(post(&url, &flux, &[("X-Signature", &empty_key)]), 403);
    assert_eq!(post(&url, &flux, &[]), 403);
    assert!(host.requests().is_empty(), "nothing reached the connector");
    let events = connector(&["events", "--output", "json"], &env, None);
    assert_eq!(
        events.stdout.trim(),
        "[]",
        "nothing journaled: {}",
        events.stderr
    );
}

#[test]
fn a_delivery_worth_retrying_is_a_5xx_so_the_sender_retries() {
    let host = MockHost::with(|_| Some(Reply::status(503)));
    let dir = TempDir::new("relay-down");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_BUDGET_SECONDS", "1")],
    );
    let Some(relay) = relay(&env) else { return };
    let status = post(
        &format!("{}/flux-signed-at-relay", relay.base),
        &fixture(FLUX_SIGNED),
        &[("X-Signature", GOOD_SIGNATURE)],
    );
    assert_eq!(status, 500);
    let failed = connector(&["events", "--failed", "--output", "json"], &env, None);
    assert!(
        failed.stdout.contains("ReconciliationSucceeded"),
        "owed, for replay --failed: {}",
        failed.stdout
    );
}
