//! Operator mistakes lose nothing: wrong tokens and repository names stay owed and are delivered
//! once fixed, split commands equal one `handle`, `require` ignores unlisted objects, and the
//! journal, output and configuration tell the truth.

use crate::support::*;
use serde_json::{json, Value};

const PROGRESSING: &str = "flux/kustomization-progressing-ssa-changeset-flux-v2.json";
const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const ARGO: &str = "argo/succeeded-synced-healthy.json";

/// What GitHub and Azure DevOps answer a token they do not accept: a 401, or a sign-in page.
fn guarded(azure: bool) -> MockHost {
    let basic = format!(
        "Basic {}",
        gitops_connector::http::base64(&format!(":{TOKEN}"))
    );
    let github = format!("token {TOKEN}");
    MockHost::with(move |r| {
        let auth = r.header("Authorization").unwrap_or("");
        if auth == github || auth == basic {
            None
        } else if azure {
            Some(Reply {
                status: 203,
                body: "<html>Sign in to your account</html>".into(),
                headers: vec![("Content-Type".into(), "text/html".into())],
                delay: None,
                cut_after: None,
            })
        } else {
            Some(Reply::json(401, json!({"message": "Bad credentials"})))
        }
    })
}

/// The POSTs a host accepted (the right token, an answer it did not override), sorted.
fn accepted(host: &MockHost) -> Vec<(String, String)> {
    let basic = format!(
        "Basic {}",
        gitops_connector::http::base64(&format!(":{TOKEN}"))
    );
    let github = format!("token {TOKEN}");
    let mut posts: Vec<(String, String)> = host
        .posts()
        .into_iter()
        .filter(|p| {
            let auth = p.header("Authorization").unwrap_or("");
            auth == github || auth == basic
        })
        .map(|p| (p.path().to_string(), p.body))
        .collect();
    posts.sort();
    posts
}

/// What one fault-free `handle` of each event sends.
fn reference(
    env_of: fn(&MockHost, &TempDir) -> Vec<(String, String)>,
    events: &[&str],
) -> Vec<(String, String)> {
    let host = MockHost::start();
    let dir = TempDir::new("reference");
    let env = env_of(&host, &dir);
    for event in events {
        assert_eq!(run_fixture("handle", event, &env, &[]).code, 0);
    }
    let mut posts: Vec<(String, String)> = host
        .posts()
        .into_iter()
        .map(|p| (p.path().to_string(), p.body))
        .collect();
    posts.sort();
    posts
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} / {}", run.stdout, run.stderr))
}

fn wrong_token_then_fix(
    env_of: fn(&MockHost, &TempDir) -> Vec<(String, String)>,
    azure: bool,
    events: &[&str],
) {
    let expected = reference(env_of, events);
    let host = guarded(azure);
    let dir = TempDir::new("wrong-token");
    let right = env_of(&host, &dir);
    let wrong = with(&right, &[("PAT", "expired-token-1234")]);
    for event in events {
        let run = run_fixture("handle", event, &wrong, &["--budget", "2"]);
        assert_eq!(run.code, 75, "a refused token is owed: {}", run.stderr);
        assert!(
            run.stderr.contains("token (from env PAT) was not accepted")
                && run.stderr.contains("replay --failed"),
            "names the token's source and the command: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("expired-token-1234"));
    }
    assert!(accepted(&host).is_empty());
    let failed = connector(&["events", "--failed", "--output", "json"], &right, None);
    assert_eq!(json_of(&failed).as_array().unwrap().len(), events.len());

    let replay = connector(&["replay", "--failed"], &right, None);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    assert_eq!(accepted(&host), expected, "each planned request, once");

    // Nothing goes twice: not by another replay, not by the sender's retry of an event.
    assert_eq!(connector(&["replay", "--failed"], &right, None).code, 0);
    for event in events {
        assert_eq!(run_fixture("handle", event, &right, &[]).code, 0);
    }
    assert_eq!(accepted(&host), expected);
}

#[test]
fn a_wrong_github_token_stays_owed_and_one_replay_delivers_everything_once() {
    wrong_token_then_fix(github_env, false, &[PROGRESSING, SUCCESS]);
}

#[test]
fn a_wrong_azure_token_stays_owed_and_one_replay_delivers_everything_once() {
    wrong_token_then_fix(azure_env, true, &[ARGO]);
}

#[test]
fn a_wrong_argo_cd_github_token_and_a_flux_azure_token_recover_too() {
    wrong_token_then_fix(github_env, false, &[ARGO]);
    wrong_token_then_fix(azure_env, true, &[PROGRESSING, SUCCESS]);
}

#[test]
fn a_wrong_repository_name_is_replanned_from_the_journal_by_replay_failed() {
    let host = MockHost::with(|r| {
        r.path()
            .contains("/manifestz/")
            .then(|| Reply::json(404, json!({"message": "Not Found"})))
    });
    let dir = TempDir::new("wrong-repo");
    let right = github_env(&host, &dir);
    let wrong = with(&right, &[("GITHUB_GITOPS_MANIFEST_REPO_NAME", "manifestz")]);
    let run = run_fixture("handle", SUCCESS, &wrong, &[]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(
        run.stderr.contains("GITHUB_GITOPS_MANIFEST_REPO_NAME"),
        "names the setting: {}",
        run.stderr
    );
    host.clear();
    let replay = connector(&["replay", "--failed"], &right, None);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    // Two queues, sent at once: in either order.
    let mut paths: Vec<String> = host.posts().iter().map(|p| p.path().to_string()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/repos/org/app/dispatches".to_string(),
            format!("/repos/org/manifests/statuses/{SHA}"),
        ]
    );
    assert!(host
        .requests()
        .iter()
        .all(|r| !r.path().contains("manifestz")));
    let shown = json_of(&connector(
        &["events", "show", "1", "--output", "json"],
        &right,
        None,
    ));
    assert!(shown["requests"][0]["row"]["request"]["url"]
        .as_str()
        .unwrap()
        .contains("/repos/org/manifests/"));
}

#[test]
fn replay_id_replans_a_wrong_azure_project_and_is_journaled_as_handled() {
    let host = MockHost::with(|r| {
        r.path().contains("/wrongproj/").then(|| {
            Reply::json(
                404,
                json!({"message": "TF200016: The following project does not exist"}),
            )
        })
    });
    let dir = TempDir::new("wrong-project");
    let right = azure_env(&host, &dir);
    let wrong = with(
        &right,
        &[("AZDO_ORG_URL", &format!("{}/org/wrongproj", host.base))],
    );
    let run = run_fixture("handle", ARGO, &wrong, &[]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(run.stderr.contains("AZDO_ORG_URL"), "{}", run.stderr);
    host.clear();
    let replay = connector(&["replay", "1", "--output", "json"], &right, None);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    let posts = host.posts();
    assert_eq!(
        posts
            .iter()
            .filter(|p| p
                .path()
                .contains("/org/proj/_apis/git/repositories/manifests/commits/"))
            .count(),
        3,
        "the three statuses, to the right project"
    );
    assert_eq!(
        posts
            .iter()
            .filter(|p| p.path().ends_with("/events"))
            .count(),
        1
    );
    let out = json_of(&replay);
    assert_eq!(out["outcome"], "handled");
    let listed = json_of(&connector(&["events", "--output", "json"], &right, None));
    assert_eq!(listed[0]["replay_of"], 1);
    assert_eq!(
        listed[0]["outcome"], "handled",
        "a replay that sent is not superseded"
    );
    assert!(listed[0]["why"].as_str().unwrap().contains("planned again"));
    assert!(listed[1]["why"]
        .as_str()
        .unwrap()
        .contains("the orchestrator was told"));
}

#[test]
fn a_final_refusal_stays_final() {
    let host = MockHost::with(|r| {
        r.path()
            .contains("/statuses/")
            .then(|| Reply::json(422, json!({"message": "Validation Failed"})))
    });
    let dir = TempDir::new("final-422");
    let env = github_env(&host, &dir);
    let run = run_fixture("status", SUCCESS, &env, &[]);
    assert_eq!(run.code, 76, "{}", run.stderr);
    host.clear();
    assert_eq!(connector(&["replay", "--failed"], &env, None).code, 0);
    assert!(host.requests().is_empty(), "a 422 is not sent again");
}

fn split_equals_handle(
    env_of: fn(&MockHost, &TempDir) -> Vec<(String, String)>,
    events: &[&str],
    order: [&str; 2],
) {
    let expected = reference(env_of, events);
    let host = MockHost::start();
    let dir = TempDir::new("split");
    let env = env_of(&host, &dir);
    for event in events {
        for command in order {
            let run = run_fixture(command, event, &env, &[]);
            assert_eq!(run.code, 0, "{command} {event}: {}", run.stderr);
        }
    }
    assert_eq!(
        accepted(&host),
        expected,
        "{order:?} sends what handle sends"
    );
    for event in events {
        for command in order {
            assert_eq!(run_fixture(command, event, &env, &[]).code, 0);
        }
    }
    assert_eq!(
        accepted(&host),
        expected,
        "the same bytes again send nothing twice"
    );
}

#[test]
fn status_then_notify_sends_what_one_handle_sends() {
    split_equals_handle(github_env, &[PROGRESSING, SUCCESS], ["status", "notify"]);
    split_equals_handle(azure_env, &[ARGO], ["status", "notify"]);
}

#[test]
fn notify_then_status_sends_what_one_handle_sends() {
    split_equals_handle(github_env, &[PROGRESSING, SUCCESS], ["notify", "status"]);
    split_equals_handle(azure_env, &[ARGO], ["notify", "status"]);
}

/// A Flux event about Kustomization `flux-system/NAME` for the commit `SHA`.
fn kustomization(base: &str, name: &str) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(&fixture(base)).unwrap();
    event["involvedObject"]["name"] = json!(name);
    event["metadata"]["revision"] = json!(format!("main@sha1:{SHA}"));
    serde_json::to_vec(&event).unwrap()
}

#[test]
fn a_failure_of_an_unlisted_kustomization_decides_nothing() {
    let host = MockHost::start();
    let dir = TempDir::new("require-unlisted");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "require = [\"flux-system/apps\", \"flux-system/infra\"]\nfailure_dispatch_event = \"sync-failure\"\n",
    )
    .unwrap();
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    );
    let dispatched = |host: &MockHost| -> Vec<Value> {
        host.posts()
            .iter()
            .filter(|p| p.path().ends_with("/dispatches"))
            .map(|p| p.json()["event_type"].clone())
            .collect()
    };
    let failed = kustomization(
        "flux/kustomization-health-check-failed-single-flux-v2.json",
        "monitoring",
    );
    let run = connector(&["handle"], &env, Some(&failed));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        host.posts()
            .iter()
            .any(|p| p.path().contains("/statuses/") && p.json()["state"] == "failure"),
        "its statuses are still posted"
    );
    assert!(
        dispatched(&host).is_empty(),
        "an unlisted failure does not fail the commit"
    );
    for name in ["apps", "infra"] {
        let run = connector(&["handle"], &env, Some(&kustomization(SUCCESS, name)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(dispatched(&host), [json!("sync-success")]);

    // A listed one failing does fail it (a fresh commit for the same instance).
    let host = MockHost::start();
    let dir = TempDir::new("require-listed");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    );
    let failed = kustomization(
        "flux/kustomization-health-check-failed-single-flux-v2.json",
        "infra",
    );
    assert_eq!(connector(&["handle"], &env, Some(&failed)).code, 0);
    assert_eq!(dispatched(&host), [json!("sync-failure")]);
}

#[test]
fn the_journal_says_told_only_once_the_orchestrator_was() {
    let outage = Outage::new();
    let host = MockHost::down_while(&outage, Reply::status(503), |r| {
        r.path().ends_with("/dispatches")
    });
    let dir = TempDir::new("told");
    let env = github_env(&host, &dir);
    let run = run_fixture("handle", SUCCESS, &env, &["--budget", "1"]);
    assert_eq!(run.code, 75, "{}", run.stderr);
    let why = |env: &[(String, String)]| {
        json_of(&connector(&["events", "--output", "json"], env, None))[0]["why"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let owed = why(&env);
    assert!(!owed.contains("told") && owed.contains("queued"), "{owed}");
    outage.end();
    assert_eq!(connector(&["replay", "--failed"], &env, None).code, 0);
    assert!(
        why(&env).contains("the orchestrator was told"),
        "{}",
        why(&env)
    );
}

#[test]
fn one_retried_request_is_one_line_and_argo_lines_name_their_context() {
    let once = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = once.clone();
    let host = MockHost::with(move |r| {
        (r.path().contains("/statuses/") && flag.swap(false, std::sync::atomic::Ordering::SeqCst))
            .then(|| Reply::status(503))
    });
    let dir = TempDir::new("one-line");
    let env = github_env(&host, &dir);
    let run = run_fixture("status", ARGO, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].contains("[Phase]") && lines[0].ends_with("delivered (201) after 2 tries"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("[Sync]") && lines[2].contains("[Health]"));
    assert!(
        run.stderr.is_empty(),
        "a retry that succeeded warns of nothing: {}",
        run.stderr
    );
}

#[test]
fn config_names_the_real_source_of_every_value() {
    let dir = TempDir::new("sources");
    let token = dir.path().join("gh-token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "git_host = \"github\"\norchestrator = \"github\"\ngithub_org_url = \"https://api.github.com/repos/o\"\n\
             github_manifests_repo = \"m\"\ngithub_actions_repo = \"a\"\ngit_token_file = \"{}\"\n",
            token.display()
        ),
    )
    .unwrap();
    let env = vec![
        (
            "GITOPS_CONNECTOR_CONFIG".to_string(),
            config.display().to_string(),
        ),
        ("GITOPS_CONNECTOR_STATE".into(), dir.state()),
    ];
    let run = connector(&["config", "--budget", "4"], &env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in [
        format!(
            "# git token: *** from file {} (git_token_file)",
            token.display()
        ),
        "# env GITOPS_CONNECTOR_STATE".to_string(),
        "budget_seconds = 4    # flag --budget".to_string(),
        "retention_days = 30    # default".to_string(),
    ] {
        assert!(
            run.stdout.contains(&line),
            "lacks {line:?}:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains(TOKEN));
}

#[test]
fn plain_http_subscribers_are_refused_at_load_even_in_a_dry_run() {
    let host = MockHost::start();
    let dir = TempDir::new("http-sub");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[subscribers]\nspektate = \"http://spektate.internal/api\"\n",
    )
    .unwrap();
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    );
    for args in [&["--dry-run"][..], &[]] {
        let run = run_fixture("handle", SUCCESS, &env, args);
        assert_eq!(run.code, 78, "{}", run.stderr);
        assert!(
            run.stderr.contains("`subscribers.spektate`"),
            "{}",
            run.stderr
        );
    }
    assert!(host.requests().is_empty());
    let allowed = with(&env, &[("GITOPS_CONNECTOR_ALLOW_HTTP", "true")]);
    assert_eq!(
        run_fixture("handle", SUCCESS, &allowed, &["--dry-run"]).code,
        0
    );
}

#[test]
fn the_bundled_examples_load_cleanly_and_no_configuration_says_what_to_set() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut loaded = 0;
    for entry in std::fs::read_dir(examples).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "toml") {
            let path = entry.path().display().to_string();
            let run = connector(&["config", "--config", &path], &[], None);
            assert_eq!(run.code, 0, "{path}: {}", run.stderr);
            loaded += 1;
        }
    }
    assert!(loaded > 0);
    let dir = TempDir::new("nothing");
    let run = run_fixture(
        "handle",
        SUCCESS,
        &[("GITOPS_CONNECTOR_STATE".into(), dir.state())],
        &[],
    );
    assert_eq!(run.code, 78, "{}", run.stderr);
    let listed = connector(
        &["events", "--output", "json"],
        &[("GITOPS_CONNECTOR_STATE".into(), dir.state())],
        None,
    );
    assert_eq!(
        json_of(&listed)[0]["outcome"],
        "rejected",
        "journaled all the same"
    );
    for needle in [
        "GIT_REPOSITORY_TYPE",
        "GITHUB_ORG_URL",
        "config.toml",
        "github_manifests_repo",
    ] {
        assert!(
            run.stderr.contains(needle),
            "lacks {needle}: {}",
            run.stderr
        );
    }
}

#[test]
fn command_line_traps_are_closed() {
    let host = MockHost::start();
    let dir = TempDir::new("traps");
    let env = github_env(&host, &dir);
    assert_eq!(run_fixture("handle", SUCCESS, &env, &[]).code, 0);

    let listed = connector(
        &[
            "events",
            "--commit",
            &SHA[..7].to_uppercase(),
            "--output",
            "json",
        ],
        &env,
        None,
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(
        json_of(&listed).as_array().unwrap().len(),
        1,
        "a 7-digit prefix finds it"
    );
    for (bad, says) in [("xyz1234", "hex digits only"), ("1eab", "7 to 40")] {
        let run = connector(&["events", "--commit", bad], &env, None);
        assert_eq!(run.code, 2, "{bad}");
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }

    let run = connector(&["prune", "--older-than", "5"], &env, None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("5s, 5m, 5h or 5d"), "{}", run.stderr);
    let run = connector(
        &["prune", "--older-than", "9223372036854775807s"],
        &env,
        None,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = connector(&["prune", "--older-than", "36500d"], &env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("pruned 0 events"),
        "an absurd age prunes nothing: {}",
        run.stdout
    );

    let run = connector(&["replay"], &env, None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--failed"), "{}", run.stderr);

    let run = connector(
        &["events", "--state", dir.path().to_str().unwrap()],
        &env,
        None,
    );
    assert_eq!(run.code, 74);
    assert!(run.stderr.contains("is a directory"), "{}", run.stderr);

    for path in [dir.path().join("missing.json"), dir.path().to_path_buf()] {
        let shown = path.display().to_string();
        let run = connector(&["handle", &shown], &env, None);
        assert_eq!(run.code, 2);
        assert!(
            run.stderr.contains(&shown),
            "names the path: {}",
            run.stderr
        );
    }

    let out = dir.path().join("generated");
    let run = connector(
        &["generate", "--dry-run", "--out", out.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(run.code, 0);
    assert!(!out.exists(), "--dry-run writes nothing");
}

#[test]
fn a_read_only_state_says_what_to_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("read-only");
    let env = vec![("GITOPS_CONNECTOR_STATE".to_string(), dir.sqlite_state())];
    assert_eq!(
        connector(&["events"], &env, None).code,
        0,
        "creates the state"
    );
    // A copy anyone may run, since root ignores file modes: the check runs as `nobody` then.
    let binary = dir.path().join("gitops-connector");
    std::fs::copy(env!("CARGO_BIN_EXE_gitops-connector"), &binary).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(dir.sqlite_state(), std::fs::Permissions::from_mode(0o444)).unwrap();
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let mut command = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary);
        c
    } else {
        std::process::Command::new(&binary)
    };
    let out = command
        .args(["events", "--state", &dir.sqlite_state()])
        .env_clear()
        .env("HOME", dir.path())
        .output()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} is not writable by this user",
            dir.sqlite_state()
        )),
        "{stderr}"
    );
}
