//! `status` against a mock host: the exact requests for GitHub and Azure Repos × Flux and Argo CD.

use crate::support::*;
use serde_json::json;

#[test]
fn flux_change_set_posts_every_status_to_github_in_order_with_its_headers() {
    let host = MockHost::start();
    let dir = TempDir::new("gh-flux");
    let run = run_fixture(
        "status",
        "flux/kustomization-progressing-ssa-changeset-flux-v2.json",
        &github_env(&host, &dir),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let posts = host.posts();
    let contexts: Vec<String> = posts
        .iter()
        .map(|p| p.json()["context"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(contexts, SSA_CONTEXTS);
    let first = &posts[0];
    assert_eq!(first.url, format!("/repos/org/manifests/statuses/{SHA}"));
    assert_eq!(
        first.json(),
        json!({"state": "pending", "description": "Reconciliation underway.", "context": "Status", "target_url": "https://app.example/commit"})
    );
    assert_eq!(
        first.header("Authorization"),
        Some(format!("token {TOKEN}").as_str())
    );
    assert_eq!(first.header("Accept"), Some("application/vnd.github+json"));
    assert_eq!(first.header("X-GitHub-Api-Version"), Some("2022-11-28"));
    assert!(first
        .header("User-Agent")
        .unwrap()
        .starts_with("gitops-connector/"));
    assert_eq!(posts[3].json()["description"], "1 created");
    assert_eq!(posts[3].json()["state"], "success");
}

#[test]
fn argo_statuses_go_to_azure_repos_with_basic_auth_and_api_version() {
    let host = MockHost::start();
    let dir = TempDir::new("az-argo");
    let run = run_fixture(
        "status",
        "argo/succeeded-synced-degraded.json",
        &azure_env(&host, &dir),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let posts = host.posts();
    assert_eq!(posts.len(), 3);
    let status = &posts[2];
    assert_eq!(status.url, format!("/org/proj/_apis/git/repositories/manifests/commits/{ARGO_SHA}/statuses?api-version=6.0"));
    let body = status.json();
    assert_eq!(body["state"], "error");
    assert_eq!(
        body["context"],
        json!({"name": "Health", "genre": "ArgoCD"})
    );
    assert_eq!(body["targetUrl"], "https://app.example/commit?noop=Health");
    assert!(body["description"]
        .as_str()
        .unwrap()
        .starts_with("Health: "));
    // base64(":" + TOKEN)
    let expected = format!(
        "Basic {}",
        gitops_connector::http::base64(&format!(":{TOKEN}"))
    );
    assert_eq!(status.header("Authorization"), Some(expected.as_str()));
    assert_eq!(status.header("X-TFS-FedAuthRedirect"), Some("Suppress"));
    assert_eq!(posts[0].json()["context"]["name"], "Phase");
}

#[test]
fn flux_on_azure_and_argo_on_github_map_their_states() {
    let host = MockHost::start();
    let dir = TempDir::new("mix");
    let run = run_fixture(
        "status",
        "flux/kustomization-dependency-not-ready-flux-v2.json",
        &azure_env(&host, &dir),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(host.posts()[0].json()["state"], "pending");
    host.clear();
    let dir = TempDir::new("mix2");
    let run = run_fixture(
        "status",
        "argo/running-outofsync-progressing.json",
        &github_env(&host, &dir),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let states: Vec<_> = host
        .posts()
        .iter()
        .map(|p| p.json()["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["pending", "pending", "pending"]);
}

#[test]
fn subscribers_get_every_status_in_the_operators_words() {
    let host = MockHost::start();
    let dir = TempDir::new("subs");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[subscribers]\nspektate = \"{}/hook\"\n", host.base),
    )
    .unwrap();
    let mut env = github_env(&host, &dir);
    env.push((
        "GITOPS_CONNECTOR_CONFIG".into(),
        config.display().to_string(),
    ));
    let run = run_fixture(
        "status",
        "flux/kustomization-health-check-failed-single-flux-v2.json",
        &env,
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hooks: Vec<_> = host
        .posts()
        .into_iter()
        .filter(|p| p.url == "/hook")
        .collect();
    assert_eq!(hooks.len(), 2);
    let body = hooks[0].json();
    assert_eq!(body["status_name"], "Status");
    assert_eq!(body["state"], "HealthCheckFailed");
    assert_eq!(body["gitops_operator"], "Flux");
    assert_eq!(body["genre"], "Kustomization");
    assert_eq!(body["callback_url"], "https://app.example/commit");
    assert_eq!(
        body["commit_id"],
        "40d6b21b888db0ca794876cf7bdd399e3da2137e"
    );
    assert_eq!(
        hooks[0].header("Authorization"),
        None,
        "subscribers never get the token"
    );
}

#[test]
fn every_fixture_either_posts_one_request_per_status_on_both_hosts_or_is_ignored() {
    for dir_name in ["flux", "argo"] {
        let entries = std::fs::read_dir(fixture_path(dir_name)).unwrap();
        for entry in entries {
            let name = format!(
                "{dir_name}/{}",
                entry.unwrap().file_name().to_string_lossy()
            );
            let bytes = fixture(&name);
            let expected = match gitops_connector::event::parse(&bytes) {
                Ok(gitops_connector::event::Parsed::Event(e)) => {
                    gitops_connector::report::report(&e).statuses.len()
                }
                Ok(gitops_connector::event::Parsed::Ignored(_)) => 0,
                Err(e) => panic!("{name}: {e}"),
            };
            for azure in [false, true] {
                let host = MockHost::start();
                let dir = TempDir::new("all");
                let env = if azure {
                    azure_env(&host, &dir)
                } else {
                    github_env(&host, &dir)
                };
                let run = run_fixture("status", &name, &env, &[]);
                assert_eq!(run.code, 0, "{name}: {}", run.stderr);
                let posts = host.posts();
                assert_eq!(posts.len(), expected, "{name} (azure: {azure})");
                for p in &posts {
                    assert!(p.url.contains("/statuses"), "{name}: {}", p.url);
                    let description = p.json()["description"].as_str().unwrap().to_string();
                    if !azure {
                        assert!(description.chars().count() <= 140, "{name}: {description}");
                    }
                }
            }
        }
    }
}

#[test]
fn dry_run_prints_the_requests_and_sends_nothing() {
    let host = MockHost::start();
    let dir = TempDir::new("dry");
    let run = run_fixture(
        "status",
        "flux/kustomization-progressing-ssa-changeset-flux-v2.json",
        &github_env(&host, &dir),
        &["--dry-run", "--output", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(host.requests().is_empty());
    assert!(
        !std::path::Path::new(&dir.state()).exists(),
        "dry-run writes no state"
    );
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["requests"].as_array().unwrap().len(), 7);
    assert_eq!(out["requests"][0]["method"], "POST");
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
}

#[test]
fn ignored_events_exit_zero_send_nothing_and_say_why() {
    let host = MockHost::start();
    let dir = TempDir::new("ignored");
    let env = github_env(&host, &dir);
    for name in [
        "flux/helmrelease-upgrade-succeeded-flux-v2.json",
        "argo/no-value-never-synced-outofsync-missing.json",
        "argo/resources-null-succeeded-synced-healthy.json",
    ] {
        let run = run_fixture("status", name, &env, &["--output", "json"]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(out["outcome"], "ignored");
        assert!(!out["why"].as_str().unwrap().is_empty());
        let verbose = run_fixture("status", name, &env, &["-v"]);
        assert!(verbose.stderr.contains("ignored"), "{}", verbose.stderr);
    }
    assert!(host.requests().is_empty());
}

#[test]
fn invalid_events_exit_65_with_one_line_and_are_journaled_as_rejected() {
    let host = MockHost::start();
    let dir = TempDir::new("invalid");
    let env = github_env(&host, &dir);
    let run = connector(&["status"], &env, Some(b"{\"involvedObject\": 3}"));
    assert_eq!(run.code, 65);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("involvedObject"));
    let events = connector(&["events", "--output", "json"], &env, None);
    let list: serde_json::Value = serde_json::from_str(&events.stdout).unwrap();
    assert_eq!(list[0]["outcome"], "rejected");
    assert!(host.requests().is_empty());
    let acked = connector(&["status", "--ack-rejected"], &env, Some(b"not json"));
    assert_eq!(acked.code, 0, "--ack-rejected lets a relay answer 2xx");
}

#[test]
fn oversized_events_are_refused_with_65() {
    let host = MockHost::start();
    let dir = TempDir::new("big");
    let big = vec![b' '; 10 * 1024 * 1024 + 10];
    let run = connector(&["status", "-"], &github_env(&host, &dir), Some(&big));
    assert_eq!(run.code, 65, "{}", run.stderr);
    assert!(run.stderr.contains("byte limit"));
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_connecting() {
    let dir = TempDir::new("http");
    let env = vec![
        ("GIT_REPOSITORY_TYPE".to_string(), "GITHUB".to_string()),
        ("CICD_ORCHESTRATOR_TYPE".into(), "GITHUB".into()),
        ("GITHUB_ORG_URL".into(), "http://192.0.2.1/repos/org".into()),
        ("GITHUB_GITOPS_MANIFEST_REPO_NAME".into(), "m".into()),
        ("GITHUB_GITOPS_REPO_NAME".into(), "a".into()),
        ("PAT".into(), TOKEN.into()),
        ("GITOPS_CONNECTOR_STATE".into(), dir.state()),
    ];
    let run = run_fixture(
        "status",
        "flux/kustomization-progressing-ssa-changeset-flux-v2.json",
        &env,
        &["--budget", "2"],
    );
    assert_eq!(run.code, 78, "refused at load: {}", run.stderr);
    assert!(
        run.stderr.contains("`github_org_url`") && run.stderr.contains("use https"),
        "names the key: {}",
        run.stderr
    );
    assert!(!run.stderr.contains(TOKEN));
}

#[test]
fn missing_configuration_exits_78_naming_the_key() {
    let dir = TempDir::new("cfg");
    let env = vec![
        ("GIT_REPOSITORY_TYPE".to_string(), "PERFORCE".to_string()),
        ("GITOPS_CONNECTOR_STATE".into(), dir.state()),
    ];
    let run = run_fixture(
        "status",
        "flux/kustomization-progressing-ssa-changeset-flux-v2.json",
        &env,
        &[],
    );
    assert_eq!(run.code, 78);
    assert!(
        run.stderr
            .contains("git_host \"perforce\" is not github, azdo, gitea, gitlab, bitbucket or bitbucket-server"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_shows_sources_and_never_the_token() {
    let host = MockHost::start();
    let dir = TempDir::new("config");
    let run = connector(&["config"], &github_env(&host, &dir), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "github_manifests_repo = \"manifests\"    # env GITHUB_GITOPS_MANIFEST_REPO_NAME"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("git token: *** from env PAT"));
    assert!(!run.stdout.contains(TOKEN));
}
