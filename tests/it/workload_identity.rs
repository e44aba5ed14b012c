//! No PAT on Azure: an AKS workload identity's federated token buys an Entra access token for
//! Azure DevOps, from a mock authority on loopback (`AZURE_AUTHORITY_HOST`). Tokens are reused
//! across invocations, renewed near their end with the federated token of that moment, and an
//! Entra refusal stays owed with its AADSTS code.

use crate::support::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const TENANT: &str = "tenant-1";
const CLIENT: &str = "client-1";
const ARGO: &str = "argo/succeeded-synced-healthy.json";

/// The authority and Azure DevOps in one mock: token requests are answered with
/// `entra-token-N` (valid `lifetime` seconds) or, while `refuse` is set, with an AADSTS error;
/// Azure DevOps answers 401 to the tokens listed in `revoked`.
struct Entra {
    host: MockHost,
    lifetime: Arc<AtomicU64>,
    refuse: Arc<AtomicBool>,
    revoked: Arc<Mutex<Vec<String>>>,
}

impl Entra {
    fn start() -> Entra {
        let lifetime = Arc::new(AtomicU64::new(3599));
        let refuse = Arc::new(AtomicBool::new(false));
        let revoked: Arc<Mutex<Vec<String>>> = Arc::default();
        let issued = Arc::new(AtomicU64::new(0));
        let (l, r, v) = (lifetime.clone(), refuse.clone(), revoked.clone());
        let host = MockHost::with(move |req| {
            if req.path() == format!("/{TENANT}/oauth2/v2.0/token") {
                if r.load(Ordering::SeqCst) {
                    return Some(Reply::json(
                        400,
                        json!({"error": "invalid_client", "error_codes": [700_016],
                               "error_description": "AADSTS700016: Application with identifier 'client-1' was not found in the directory.\r\nTrace ID: 1"}),
                    ));
                }
                let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                return Some(Reply::json(
                    200,
                    json!({"token_type": "Bearer", "expires_in": l.load(Ordering::SeqCst), "access_token": format!("entra-token-{n}")}),
                ));
            }
            let auth = req.header("Authorization").unwrap_or("");
            let revoked = v.lock().unwrap();
            revoked
                .iter()
                .any(|t| auth == format!("Bearer {t}"))
                .then(|| Reply::json(401, json!({"message": "TF400813: not authorized"})))
        });
        Entra {
            host,
            lifetime,
            refuse,
            revoked,
        }
    }

    /// The form fields of each token request.
    fn token_requests(&self) -> Vec<Vec<(String, String)>> {
        self.host
            .requests()
            .iter()
            .filter(|r| r.path().ends_with("/oauth2/v2.0/token"))
            .map(|r| {
                r.body
                    .split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), percent_decode(v)))
                    .collect()
            })
            .collect()
    }

    /// The Authorization headers Azure DevOps received.
    fn azure_auth(&self) -> Vec<String> {
        self.host
            .requests()
            .iter()
            .filter(|r| r.path().starts_with("/org/"))
            .map(|r| r.header("Authorization").unwrap_or("").to_string())
            .collect()
    }
}

fn percent_decode(v: &str) -> String {
    let bytes = v.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Azure Repos and Pipelines through a workload identity: the reference's variables without a
/// PAT, and what the AKS webhook puts into the pod.
fn env(entra: &Entra, dir: &TempDir) -> Vec<(String, String)> {
    let federated = dir.path().join("azure-identity-token");
    if !federated.exists() {
        std::fs::write(&federated, "fed-token-1\n").unwrap();
    }
    let mut env: Vec<_> = azure_env(&entra.host, dir)
        .into_iter()
        .filter(|(k, _)| k != "PAT")
        .collect();
    env.extend([
        (
            "AZURE_AUTHORITY_HOST".to_string(),
            format!("{}/", entra.host.base),
        ),
        ("AZURE_TENANT_ID".into(), TENANT.into()),
        ("AZURE_CLIENT_ID".into(), CLIENT.into()),
        (
            "AZURE_FEDERATED_TOKEN_FILE".into(),
            federated.display().to_string(),
        ),
    ]);
    env
}

/// The Argo CD success for commit number `i`.
fn argo(i: usize) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture(ARGO)).unwrap();
    v["commitid"] = json!(format!("{:040x}", 0xa2_0000 + i));
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn many_invocations_share_one_token_sent_as_bearer() {
    let entra = Entra::start();
    let dir = TempDir::new("wi-reuse");
    let env = env(&entra, &dir);
    for i in 0..8 {
        let run = connector(&["handle", "-v"], &env, Some(&argo(i)));
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            !run.stderr.contains("entra-token") && !run.stderr.contains("fed-token"),
            "{}",
            run.stderr
        );
    }
    // The abandoned-PR list goes with the same token.
    let poll = connector(&["poll-prs"], &env, None);
    assert_eq!(poll.code, 0, "{}", poll.stderr);
    let requests = entra.token_requests();
    assert_eq!(requests.len(), 1, "one token for eight events and a poll");
    let form: std::collections::BTreeMap<_, _> = requests[0].iter().cloned().collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT);
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(
        form["client_assertion"], "fed-token-1",
        "the file's content, newline trimmed"
    );
    assert_eq!(
        form["scope"],
        "499b84ac-1321-427f-aa17-267ca6975798/.default"
    );
    let auth = entra.azure_auth();
    assert_eq!(
        auth.len(),
        8 * 8 + 7 + 1,
        "3 statuses and 5 callback requests per event, the commits between each end and the \
         one before (7), and the PR list"
    );
    assert!(auth.iter().all(|a| a == "Bearer entra-token-1"), "{auth:?}");

    // The tokens are in no output, log, journal or outbox; the cache is this user's alone.
    for args in [
        &["events", "--output", "json"][..],
        &["events", "show", "1"],
        &["config"],
    ] {
        let run = connector(args, &env, None);
        assert!(!run.stdout.contains("entra-token") && !run.stdout.contains("fed-token"));
    }
    let text = dir.state_dump();
    assert!(!text.contains("entra-token") && !text.contains("fed-token"));
    let cache = dir.token_cache();
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_token_near_its_end_is_renewed_with_the_federated_token_of_now() {
    let entra = Entra::start();
    // Valid for the five-minute margin and two seconds more.
    entra.lifetime.store(302, Ordering::SeqCst);
    let dir = TempDir::new("wi-renew");
    let env = env(&entra, &dir);
    assert_eq!(connector(&["handle"], &env, Some(&argo(0))).code, 0);
    assert_eq!(connector(&["handle"], &env, Some(&argo(1))).code, 0);
    assert_eq!(entra.token_requests().len(), 1, "still valid");
    std::thread::sleep(std::time::Duration::from_millis(2200));
    // The kubelet rotated the federated token meanwhile.
    std::fs::write(dir.path().join("azure-identity-token"), "fed-token-2").unwrap();
    let run = connector(&["handle"], &env, Some(&argo(2)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = entra.token_requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].contains(&("client_assertion".into(), "fed-token-2".into())));
    assert_eq!(entra.azure_auth().last().unwrap(), "Bearer entra-token-2");
}

#[test]
fn an_entra_refusal_stays_owed_and_names_its_aadsts_code() {
    let entra = Entra::start();
    entra.refuse.store(true, Ordering::SeqCst);
    let dir = TempDir::new("wi-refused");
    let env = env(&entra, &dir);
    let run = connector(&["handle", "--budget", "2"], &env, Some(&argo(0)));
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr.contains("AADSTS700016") && run.stderr.contains("AZURE_CLIENT_ID"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("fed-token"), "{}", run.stderr);
    assert!(
        entra.azure_auth().is_empty(),
        "nothing went to Azure DevOps without a token"
    );
    // The federated credential is added: the next replay delivers everything.
    entra.refuse.store(false, Ordering::SeqCst);
    let replay = connector(&["replay", "--failed"], &env, None);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    assert_eq!(entra.azure_auth().len(), 8);
}

#[test]
fn a_cached_token_azure_devops_refuses_is_replaced_at_once() {
    let entra = Entra::start();
    let dir = TempDir::new("wi-revoked");
    let env = env(&entra, &dir);
    assert_eq!(connector(&["handle"], &env, Some(&argo(0))).code, 0);
    entra.revoked.lock().unwrap().push("entra-token-1".into());
    let run = connector(&["handle"], &env, Some(&argo(1)));
    assert_eq!(run.code, 0, "no notification lost: {}", run.stderr);
    assert_eq!(entra.token_requests().len(), 2);
    assert_eq!(entra.azure_auth().last().unwrap(), "Bearer entra-token-2");
}

#[test]
fn workload_identity_is_chosen_as_documented() {
    let entra = Entra::start();
    let dir = TempDir::new("wi-config");
    let wi = env(&entra, &dir);
    // A PAT given: it keeps working, unless azure_auth says otherwise.
    let with_pat = with(&wi, &[("PAT", TOKEN)]);
    assert_eq!(connector(&["handle"], &with_pat, Some(&argo(0))).code, 0);
    assert!(entra.token_requests().is_empty());
    assert!(entra.azure_auth().iter().all(|a| a.starts_with("Basic ")));
    let forced = with(
        &with_pat,
        &[("GITOPS_CONNECTOR_AZURE_AUTH", "workload-identity")],
    );
    assert_eq!(connector(&["handle"], &forced, Some(&argo(1))).code, 0);
    assert_eq!(entra.token_requests().len(), 1);
    // Asked for, but the pod has no identity: a configuration error naming what is missing.
    let bare: Vec<_> = forced
        .into_iter()
        .filter(|(k, _)| k != "AZURE_FEDERATED_TOKEN_FILE" && k != "AZURE_CLIENT_ID")
        .collect();
    let run = connector(&["handle"], &bare, Some(&argo(2)));
    assert_eq!(run.code, 78, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID are not set")
            && run.stderr.contains("azure.workload.identity/use"),
        "{}",
        run.stderr
    );
}

#[test]
fn tokens_from_files_work_for_every_target_with_their_line_end_trimmed() {
    // A mounted Secret (or a CSI Key Vault file) often ends with a newline, sometimes CRLF.
    for (env_of, event) in [
        (
            github_env as fn(&MockHost, &TempDir) -> Vec<(String, String)>,
            "flux/kustomization-reconciliation-succeeded-flux-v2.json",
        ),
        (azure_env, ARGO),
    ] {
        let host = MockHost::start();
        let dir = TempDir::new("token-files");
        let git = dir.path().join("git-token");
        let orchestrator = dir.path().join("orchestrator-token");
        std::fs::write(&git, "git-secret\r\n").unwrap();
        std::fs::write(&orchestrator, "orchestrator-secret\n").unwrap();
        let config = dir.path().join("c.toml");
        std::fs::write(
            &config,
            format!(
                "git_token_file = \"{}\"\norchestrator_token_file = \"{}\"\n",
                git.display(),
                orchestrator.display()
            ),
        )
        .unwrap();
        let env: Vec<_> = with(
            &env_of(&host, &dir),
            &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
        )
        .into_iter()
        .filter(|(k, _)| k != "PAT")
        .collect();
        let run = run_fixture("handle", event, &env, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let auth = |r: &Recorded| r.header("Authorization").unwrap_or("").to_string();
        let expected = |token: &str| {
            if host.requests()[0].path().starts_with("/org/") {
                format!(
                    "Basic {}",
                    gitops_connector::http::base64(&format!(":{token}"))
                )
            } else {
                format!("token {token}")
            }
        };
        for r in host.requests() {
            // Statuses, and GitHub's combined status, are the Git host's; the rest the orchestrator's.
            let token = if r.path().contains("/statuses") || r.path().ends_with("/status") {
                "git-secret"
            } else {
                "orchestrator-secret"
            };
            assert_eq!(auth(&r), expected(token), "{}", r.path());
        }
    }
}

#[test]
fn parallel_first_invocations_ask_entra_once() {
    let entra = Entra::start();
    let dir = TempDir::new("wi-parallel");
    let env = env(&entra, &dir);
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gitops-connector"))
                .arg("handle")
                .env_clear()
                .envs(env.iter().cloned())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), &argo(100 + i)).unwrap();
            child
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        entra.token_requests().len(),
        1,
        "the cache is locked while it is refreshed"
    );
}

/// A revoked token met by several invocations at once is replaced once: each one that the host
/// refused takes the newer token another already fetched, rather than asking Entra again.
#[test]
fn parallel_invocations_replace_a_revoked_token_once() {
    let entra = Entra::start();
    let dir = TempDir::new("wi-revoked-parallel");
    let env = env(&entra, &dir);
    assert_eq!(connector(&["handle"], &env, Some(&argo(0))).code, 0);
    entra.revoked.lock().unwrap().push("entra-token-1".into());
    let runs: Vec<_> = (1..=4)
        .map(|i| {
            let env = env.clone();
            std::thread::spawn(move || connector(&["handle"], &env, Some(&argo(i))))
        })
        .collect();
    for run in runs {
        let run = run.join().unwrap();
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(
        entra.token_requests().len(),
        2,
        "one token at first, one to replace the revoked one"
    );
}
