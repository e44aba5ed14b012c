//! Git hosts and orchestrators beyond the reference's, in free combinations: Gitea (or
//! Forgejo) statuses with the generic signed webhook. Each request is checked against the
//! parts of the host's API description kept in `tests/it/api/`.

use crate::support::*;
use hmac::Mac as _;
use serde_json::Value;

const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const ARGO: &str = "argo/succeeded-synced-healthy.json";

fn api(name: &str) -> Value {
    let path = format!("{}/tests/it/api/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn gitea_webhook_env(host: &MockHost, dir: &TempDir) -> Vec<(String, String)> {
    vec![
        ("GIT_REPOSITORY_TYPE".into(), "gitea".into()),
        ("CICD_ORCHESTRATOR_TYPE".into(), "webhook".into()),
        ("GITOPS_CONNECTOR_GITEA_URL".into(), host.base.clone()),
        ("GITOPS_CONNECTOR_GITEA_OWNER".into(), "org".into()),
        (
            "GITOPS_CONNECTOR_GITEA_MANIFESTS_REPO".into(),
            "manifests".into(),
        ),
        (
            "GITOPS_CONNECTOR_WEBHOOK_URL".into(),
            format!("{}/hooks/gitops", host.base),
        ),
        ("GITOPS_APP_URL".into(), "https://app.example/commit".into()),
        ("PAT".into(), TOKEN.into()),
        ("GITOPS_CONNECTOR_STATE".into(), dir.state()),
    ]
}

fn hmac_sha256(key: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn gitea_statuses_follow_its_api_and_the_webhook_is_signed_and_sent_once() {
    let host = MockHost::start();
    let dir = TempDir::new("gitea-webhook");
    let env = gitea_webhook_env(&host, &dir);
    for _ in 0..2 {
        let run = connector(&["handle"], &env, Some(&flux_event(SUCCESS, SHA, None)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let statuses: Vec<Recorded> = host
        .posts()
        .into_iter()
        .filter(|p| p.path() == format!("/api/v1/repos/org/manifests/statuses/{SHA}"))
        .collect();
    assert_eq!(statuses.len(), 1, "Flux's repeat costs nothing");
    check_statuses(
        &statuses,
        &api("gitea-create-status.json"),
        &format!("token {TOKEN}"),
    );
    assert_eq!(statuses[0].json()["context"], "Status");
    let hooks: Vec<Recorded> = host
        .posts()
        .into_iter()
        .filter(|p| p.path() == "/hooks/gitops")
        .collect();
    assert_eq!(hooks.len(), 1, "told once");
    let hook = &hooks[0];
    assert_eq!(
        hook.json(),
        serde_json::json!({"event": "deployment-ended", "commit": SHA, "outcome": "success"})
    );
    assert_eq!(
        hook.header("X-Signature"),
        Some(format!("sha256={}", hmac_sha256(TOKEN, hook.body.as_bytes())).as_str())
    );
    assert!(
        hook.header("Authorization").is_none(),
        "the key never travels"
    );
}

#[test]
fn argo_cd_on_gitea_and_a_refused_token_stays_owed_naming_gitea() {
    let host = MockHost::start();
    let dir = TempDir::new("gitea-argo");
    let env = gitea_webhook_env(&host, &dir);
    let run = connector(&["handle"], &env, Some(&fixture(ARGO)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let contexts: Vec<Value> = host
        .posts()
        .iter()
        .filter(|p| p.path().contains("/statuses/"))
        .map(|p| p.json()["context"].clone())
        .collect();
    assert_eq!(contexts, ["Phase", "Sync", "Health"]);

    let refusing = MockHost::with(|r| {
        r.path().contains("/statuses/").then(|| {
            Reply::json(
                403,
                serde_json::json!({"message": "token does not have at least one of required scope(s): [write:repository]"}),
            )
        })
    });
    let dir = TempDir::new("gitea-401");
    let env = gitea_webhook_env(&refusing, &dir);
    let run = connector(&["status"], &env, Some(&flux_event(SUCCESS, SHA, None)));
    assert_eq!(run.code, 75, "{}", run.stderr);
    assert!(run.stderr.contains("gitea POST"), "{}", run.stderr);
    assert!(
        run.stderr.contains("it needs the write:repository scope"),
        "{}",
        run.stderr
    );
}

fn gitlab_env(host: &MockHost, dir: &TempDir) -> Vec<(String, String)> {
    let mut env = gitea_webhook_env(host, dir);
    env.retain(|(k, _)| !k.starts_with("GITOPS_CONNECTOR_GITEA") && k != "GIT_REPOSITORY_TYPE");
    env.extend([
        ("GIT_REPOSITORY_TYPE".to_string(), "gitlab".to_string()),
        ("GITOPS_CONNECTOR_GITLAB_URL".into(), host.base.clone()),
        (
            "GITOPS_CONNECTOR_GITLAB_PROJECT".into(),
            "platform/fleet".into(),
        ),
    ]);
    env
}

#[test]
fn gitlab_statuses_follow_its_api_and_a_status_it_already_has_counts_as_delivered() {
    // GitLab refuses a second `running` for the same name and sha.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    let host = MockHost::with(move |r| {
        if r.method != "POST" || !r.path().contains("/statuses/") {
            return None;
        }
        let key = format!("{} {}", r.json()["name"], r.json()["state"]);
        let mut seen = s.lock().unwrap();
        if seen.contains(&key) {
            return Some(Reply::json(
                400,
                serde_json::json!({"message": "Cannot transition status via :run from :running"}),
            ));
        }
        seen.push(key);
        Some(Reply::json(201, serde_json::json!({"id": 1})))
    });
    let dir = TempDir::new("gitlab");
    let env = gitlab_env(&host, &dir);
    let progressing = "flux/kustomization-progressing-health-check-passed-flux-v2.json";
    // The same progress twice (different bytes): the second is refused by GitLab, and delivered.
    for message in ["first", "second"] {
        let mut event: Value = serde_json::from_slice(&flux_event(progressing, SHA, None)).unwrap();
        event["message"] = serde_json::json!(message);
        let run = connector(
            &["status"],
            &env,
            Some(&serde_json::to_vec(&event).unwrap()),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let run = connector(&["handle"], &env, Some(&flux_event(SUCCESS, SHA, None)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let posts: Vec<Recorded> = host
        .posts()
        .into_iter()
        .filter(|p| p.path().contains("/statuses/"))
        .collect();
    assert!(posts.len() >= 3, "{}", posts.len());
    assert!(posts
        .iter()
        .all(|p| p.path() == format!("/api/v4/projects/platform%2Ffleet/statuses/{SHA}")));
    check_statuses(
        &posts,
        &api("gitlab-commit-status.json"),
        &format!("Bearer {TOKEN}"),
    );
    assert_eq!(posts.last().unwrap().json()["state"], "success");
    assert!(
        posts.len() > seen.lock().unwrap().len(),
        "GitLab refused at least one repeat"
    );
    let listed: Value = serde_json::from_str(
        &connector(&["events", "--failed", "--output", "json"], &env, None).stdout,
    )
    .unwrap();
    assert_eq!(
        listed,
        serde_json::json!([]),
        "nothing owed, nothing failed"
    );
    assert_eq!(
        host.posts()
            .iter()
            .filter(|p| p.path() == "/hooks/gitops")
            .count(),
        1
    );
}

#[test]
fn github_workflow_dispatch_runs_one_workflow_with_the_run_in_its_inputs() {
    let host = MockHost::start();
    let dir = TempDir::new("workflow-dispatch");
    let env = with(
        &github_env(&host, &dir),
        &[
            ("CICD_ORCHESTRATOR_TYPE", "github-workflow"),
            ("GITOPS_CONNECTOR_GITHUB_WORKFLOW", "deployed.yml"),
        ],
    );
    let failed = "flux/kustomization-health-check-failed-single-flux-v2.json";
    for event in [failed, SUCCESS] {
        let run = connector(&["handle"], &env, Some(&flux_event(event, SHA, None)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let dispatches: Vec<Recorded> = host
        .posts()
        .into_iter()
        .filter(|p| p.path().ends_with("/dispatches"))
        .collect();
    assert_eq!(dispatches.len(), 1, "told once, failure included");
    assert_eq!(
        dispatches[0].path(),
        "/repos/org/app/actions/workflows/deployed.yml/dispatches"
    );
    conforms(
        &dispatches[0].json(),
        &api("orchestrators.json")["github_workflow_dispatch"],
    );
    assert_eq!(
        dispatches[0].json(),
        serde_json::json!({"ref": "main", "inputs": {"sha": "c0ffee12", "runid": "987654",
            "outcome": "failure", "commit": SHA, "superseded_by": ""}})
    );
}

#[test]
fn a_gitlab_pipeline_is_triggered_once_with_the_run_and_the_trigger_token_never_rests() {
    const TRIGGER: &str = "glptt-trigger-SECRET";
    let host = MockHost::with(|r| {
        let path = r.path();
        let commit = format!("/api/v4/projects/platform%2Ffleet/repository/commits/{SHA}");
        if r.method == "GET" && path == commit {
            return Some(Reply::json(
                200,
                serde_json::json!({"message": "Merge branch 'deploy/4242/c0ffee12/main' into 'main'"}),
            ));
        }
        if r.method == "GET" && path == format!("{commit}/merge_requests") {
            return Some(Reply::json(
                200,
                serde_json::json!([{"state": "merged", "source_branch": "deploy/987654/beef0001/main"}]),
            ));
        }
        if path.ends_with("/trigger/pipeline") {
            return Some(Reply::json(201, serde_json::json!({"id": 1})));
        }
        None
    });
    let dir = TempDir::new("gitlab-pipelines");
    let mut env = gitlab_env(&host, &dir);
    env.retain(|(k, _)| k != "CICD_ORCHESTRATOR_TYPE");
    env.extend([
        ("CICD_ORCHESTRATOR_TYPE".to_string(), "gitlab".to_string()),
        (
            "GITOPS_CONNECTOR_GITLAB_PIPELINE_PROJECT".into(),
            "platform/app".into(),
        ),
        ("GITOPS_CONNECTOR_ORCHESTRATOR_TOKEN".into(), TRIGGER.into()),
    ]);
    for _ in 0..2 {
        let run = connector(&["handle"], &env, Some(&flux_event(SUCCESS, SHA, None)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let triggers: Vec<Recorded> = host
        .posts()
        .into_iter()
        .filter(|p| p.path().ends_with("/trigger/pipeline"))
        .collect();
    assert_eq!(triggers.len(), 1, "told once");
    assert_eq!(
        triggers[0].path(),
        "/api/v4/projects/platform%2Fapp/trigger/pipeline"
    );
    let body = triggers[0].json();
    conforms(&body, &api("orchestrators.json")["gitlab_trigger_pipeline"]);
    assert_eq!(body["token"], TRIGGER);
    assert_eq!(body["ref"], "main");
    assert_eq!(
        body["variables"]["GITOPS_RUN_ID"], "987654",
        "the merge request's"
    );
    assert_eq!(body["variables"]["GITOPS_SOURCE_SHA"], "beef0001");
    assert_eq!(body["variables"]["GITOPS_OUTCOME"], "success");
    assert_eq!(body["variables"]["GITOPS_COMMIT"], SHA);
    assert!(triggers[0].header("Authorization").is_none());
    // The reads went with the Git host's token.
    let reads: Vec<Recorded> = host
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path().contains("/repository/commits/"))
        .collect();
    // The commit, its merge requests, and (no local record yet) its statuses.
    assert_eq!(reads.len(), 3);
    assert!(reads
        .iter()
        .all(|r| r.header("Authorization") == Some(format!("Bearer {TOKEN}").as_str())));
    // The trigger token is in no output and nowhere in the state.
    let state = dir.state_dump();
    assert!(!state.contains(TRIGGER));
    let shown = connector(&["events", "show", "1"], &env, None);
    assert!(!shown.stdout.contains(TRIGGER), "{}", shown.stdout);
    assert!(
        shown.stdout.contains("trigger/pipeline"),
        "{}",
        shown.stdout
    );
}

fn bitbucket_env(host: &MockHost, dir: &TempDir, server: bool) -> Vec<(String, String)> {
    let mut env = gitea_webhook_env(host, dir);
    env.retain(|(k, _)| !k.starts_with("GITOPS_CONNECTOR_GITEA") && k != "GIT_REPOSITORY_TYPE");
    env.extend([
        (
            "GIT_REPOSITORY_TYPE".to_string(),
            if server {
                "bitbucket-server"
            } else {
                "bitbucket"
            }
            .to_string(),
        ),
        ("GITOPS_CONNECTOR_BITBUCKET_URL".into(), host.base.clone()),
        ("GITOPS_CONNECTOR_BITBUCKET_WORKSPACE".into(), "ws".into()),
        ("GITOPS_CONNECTOR_BITBUCKET_REPO".into(), "fleet".into()),
    ]);
    env
}

#[test]
fn bitbucket_cloud_and_server_take_build_statuses_as_their_apis_describe() {
    let spec = api("bitbucket-build-status.json");
    for server in [false, true] {
        let host = MockHost::start();
        let dir = TempDir::new(if server { "bb-server" } else { "bb-cloud" });
        let env = bitbucket_env(&host, &dir, server);
        for event in [
            flux_event(SUCCESS, SHA, Some("prod-eu-west-1-with-a-long-name")),
            fixture(ARGO),
        ] {
            let run = connector(&["handle"], &env, Some(&event));
            assert_eq!(run.code, 0, "{}", run.stderr);
        }
        let path = if server {
            format!("/rest/build-status/1.0/commits/{SHA}")
        } else {
            format!("/2.0/repositories/ws/fleet/commit/{SHA}/statuses/build")
        };
        let posts: Vec<Recorded> = host
            .posts()
            .into_iter()
            .filter(|p| p.path() == path)
            .collect();
        check_statuses(
            &posts,
            &spec[if server { "server" } else { "cloud" }],
            &format!("Bearer {TOKEN}"),
        );
        assert!(posts
            .iter()
            .all(|p| p.json()["key"].as_str().unwrap().chars().count() <= 40));
        assert_eq!(posts[0].json()["url"], "https://app.example/commit");
    }
    // An app password (`user:password`) goes as Basic.
    let host = MockHost::start();
    let dir = TempDir::new("bb-app-password");
    let env = with(
        &bitbucket_env(&host, &dir, false),
        &[("PAT", "me:app-pass")],
    );
    assert_eq!(
        connector(&["status"], &env, Some(&flux_event(SUCCESS, SHA, None))).code,
        0
    );
    let post = &host.posts()[0];
    assert_eq!(post.header("Authorization"), Some("Basic bWU6YXBwLXBhc3M="));
}

/// The new Git hosts, with where their statuses of a commit go (the commit follows).
const NEW_HOSTS: [(&str, &str); 4] = [
    ("gitea", "/api/v1/repos/org/manifests/statuses/"),
    ("gitlab", "/api/v4/projects/platform%2Ffleet/statuses/"),
    ("bitbucket", "/2.0/repositories/ws/fleet/commit/"),
    ("bitbucket-server", "/rest/build-status/1.0/commits/"),
];

/// One environment for any of them, with the webhook as orchestrator.
fn new_host_env(git_host: &str, host: &MockHost, dir: &TempDir) -> Vec<(String, String)> {
    let mut env = gitea_webhook_env(host, dir);
    env.extend(gitlab_env(host, dir));
    env.extend(bitbucket_env(host, dir, false));
    with(&env, &[("GIT_REPOSITORY_TYPE", git_host)])
}

/// Every new Git host, in one table: Flux and Argo CD events deliver; a host that is down
/// (503 with Retry-After) leaves them owed and `replay --failed` sends them; a refused token
/// stays owed, its message naming the host and never the token.
#[test]
fn every_new_host_delivers_flux_and_argo_and_survives_an_outage_and_a_refused_token() {
    for (git_host, status_path) in NEW_HOSTS {
        let env_for = |host: &MockHost, dir: &TempDir| new_host_env(git_host, host, dir);
        let outage = Outage::new();
        let down = outage.clone();
        let host = MockHost::with(move |_| {
            down.lasts().then(|| {
                Reply::json(503, serde_json::json!({"message": "maintenance"}))
                    .with_header("Retry-After", "0")
            })
        });
        let dir = TempDir::new(&format!("faults-{git_host}"));
        let env = env_for(&host, &dir);
        while_down(&host, &outage, || {
            connector(
                &["handle", "--budget", "1"],
                &env,
                Some(&flux_event(SUCCESS, SHA, None)),
            )
        });
        let run = connector(&["replay", "--failed"], &env, None);
        assert_eq!(run.code, 0, "{git_host}: {}", run.stderr);
        let run = connector(&["handle"], &env, Some(&fixture(ARGO)));
        assert_eq!(run.code, 0, "{git_host}: {}", run.stderr);
        let delivered = host
            .posts()
            .iter()
            .filter(|p| p.path().starts_with(status_path))
            .count();
        assert!(
            delivered >= 4,
            "{git_host}: Flux's and Argo CD's statuses ({delivered})"
        );

        let refusing = MockHost::with(|r| {
            (r.method == "POST" && !r.path().starts_with("/hooks"))
                .then(|| Reply::json(401, serde_json::json!({"message": "bad token"})))
        });
        let dir = TempDir::new(&format!("refused-{git_host}"));
        let run = connector(
            &["status"],
            &env_for(&refusing, &dir),
            Some(&flux_event(SUCCESS, SHA, None)),
        );
        assert_eq!(run.code, 75, "{git_host}: {}", run.stderr);
        assert!(
            run.stderr.contains("was not accepted"),
            "{git_host}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(TOKEN),
            "{git_host}: the token in a message"
        );
    }
}

/// A request body against the parts of an API description kept in `tests/it/api`: only its
/// properties, each required one, and a state it lists.
fn conforms(body: &Value, spec: &Value) {
    let properties = spec["properties"].as_array().unwrap();
    for key in body.as_object().unwrap().keys() {
        assert!(
            properties.contains(&Value::from(key.as_str())),
            "{key}: {body}"
        );
    }
    for required in spec["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(body.get(required).is_some(), "{required} missing: {body}");
    }
    if let Some(states) = spec["state"].as_array() {
        assert!(states.contains(&body["state"]), "{body}");
    }
}

/// Status posts: each conforms to `spec` and carries `authorization`.
fn check_statuses(posts: &[Recorded], spec: &Value, authorization: &str) {
    assert!(!posts.is_empty());
    for post in posts {
        assert_eq!(post.header("Authorization"), Some(authorization));
        conforms(&post.json(), spec);
    }
}

/// Each new host lists the commits between two ends in its own shape (GitLab and Gitea oldest
/// first, Bitbucket newest first, under other field names): a commit Flux skipped is released on
/// each, with a `Superseded` status and a webhook that says `superseded_by`.
#[test]
fn every_new_host_releases_a_skipped_commit() {
    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";
    for (git_host, status_path) in NEW_HOSTS {
        let host = MockHost::with(|r| {
            let path = r.path();
            let listed = if path.contains(&format!("/compare/{A}...{C}")) {
                serde_json::json!({"total_commits": 2, "commits": [{"sha": B}, {"sha": C}]})
            } else if path.ends_with("/repository/compare") && r.url.contains(&format!("from={A}"))
            {
                serde_json::json!({"commits": [{"id": B}, {"id": C}]})
            } else if path.ends_with(&format!("/commits/{C}"))
                && r.url.contains(&format!("exclude={A}"))
            {
                serde_json::json!({"values": [{"hash": C}, {"hash": B}]})
            } else if path.starts_with("/rest/api/latest/") && r.url.contains(&format!("since={A}"))
            {
                serde_json::json!({"values": [{"id": C}, {"id": B}]})
            } else {
                return None;
            };
            Some(Reply::json(200, listed))
        });
        let dir = TempDir::new(&format!("release-{git_host}"));
        let env = new_host_env(git_host, &host, &dir);
        for commit in [A, C] {
            let run = connector(&["handle"], &env, Some(&flux_event(SUCCESS, commit, None)));
            assert_eq!(run.code, 0, "{git_host}: {}", run.stderr);
        }
        let on_b: Vec<Value> = host
            .posts()
            .iter()
            .filter(|p| p.path().starts_with(&format!("{status_path}{B}")))
            .map(Recorded::json)
            .collect();
        assert_eq!(on_b.len(), 1, "{git_host}: {on_b:?}");
        let name = ["context", "name"]
            .iter()
            .find_map(|k| on_b[0].get(*k))
            .unwrap();
        assert_eq!(name, "Superseded", "{git_host}: {}", on_b[0]);
        let told: Vec<Value> = host
            .posts()
            .iter()
            .filter(|p| p.path() == "/hooks/gitops")
            .map(Recorded::json)
            .collect();
        assert_eq!(told.len(), 3, "{git_host}: A, C, and B released: {told:?}");
        assert!(
            told.iter()
                .any(|t| t["commit"] == B && t["superseded_by"] == C),
            "{git_host}: {told:?}"
        );
    }
}
