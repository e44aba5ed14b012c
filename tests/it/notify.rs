//! `notify` and `handle`: the orchestrator hears once per commit, with the right result.

use crate::support::*;
use serde_json::{json, Value};

const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const FAILURE: &str = "flux/kustomization-health-check-failed-kubectl-era-flux-v0.17.json";

fn dispatches(host: &MockHost) -> Vec<Recorded> {
    host.posts()
        .into_iter()
        .filter(|p| p.path().ends_with("/dispatches"))
        .collect()
}

fn callbacks(host: &MockHost) -> Vec<Recorded> {
    host.posts()
        .into_iter()
        .filter(|p| p.path().ends_with("/events"))
        .collect()
}

/// The same Flux event, as Flux repeats it later: only the timestamp differs.
fn at_time(name: &str, timestamp: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture(name)).unwrap();
    v["timestamp"] = json!(timestamp);
    serde_json::to_vec(&v).unwrap()
}

fn with_commit(name: &str, commit: &str) -> Vec<u8> {
    let text = String::from_utf8(fixture(name)).unwrap();
    let old = [
        "1eabc9a41ca088515cab83f1cce49eb43e84b67f",
        "5394cb7f48332b2de7c17dd8b8384bbc84b7e738",
    ];
    old.iter()
        .fold(text, |t, o| t.replace(o, commit))
        .into_bytes()
}

#[test]
fn the_answer_says_the_deployment_ended_once_its_notification_went_out() {
    let host = MockHost::start();
    let dir = TempDir::new("told-why");
    let env = github_env(&host, &dir);
    let run = run_fixture("notify", SUCCESS, &env, &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    let why = answer["why"].as_str().unwrap();
    assert!(why.starts_with("the deployment ended"), "{why}");
    let listed = connector(&["events", "--output", "json"], &env, None);
    assert!(listed.stdout.contains(why), "{}", listed.stdout);
}

#[test]
fn github_success_dispatches_the_run_and_source_commit() {
    let host = MockHost::start();
    let dir = TempDir::new("gh-ok");
    let run = run_fixture("notify", SUCCESS, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut reads = host.read_urls();
    // The flow's two reads leave together, in either order.
    if let Some(flow) = reads.get_mut(1..) {
        flow.sort();
    }
    assert_eq!(
        reads,
        [
            format!("/repos/org/manifests/commits/{SHA}/status"),
            format!("/repos/org/manifests/commits/{SHA}"),
            format!("/repos/org/manifests/commits/{SHA}/pulls"),
        ]
    );
    let sent = dispatches(&host);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "/repos/org/app/dispatches");
    assert_eq!(
        sent[0].json(),
        json!({"event_type": "sync-success", "client_payload": {"sha": "c0ffee12", "runid": "987654",
            "commitmessage": "Merge pull request #42 from org/deploy/987654/c0ffee12/main"}})
    );
    assert!(
        host.posts().iter().all(|p| !p.path().contains("/statuses")),
        "notify posts no statuses"
    );
}

#[test]
fn github_failure_dispatches_nothing_unless_opted_in() {
    let host = MockHost::start();
    let dir = TempDir::new("gh-fail");
    let run = run_fixture("handle", FAILURE, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dispatches(&host).is_empty());
    assert!(!host.posts().is_empty(), "the statuses still go");

    let host = MockHost::start();
    let dir = TempDir::new("gh-fail-opt");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_FAILURE_DISPATCH_EVENT", "sync-failure")],
    );
    let run = run_fixture("notify", FAILURE, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(dispatches(&host)[0].json()["event_type"], "sync-failure");
}

#[test]
fn an_odd_merge_message_and_no_pr_still_dispatch_with_null_sha_and_runid() {
    let host = MockHost::with(|r| {
        if r.path().ends_with("/pulls") {
            return Some(Reply::json(200, json!([])));
        }
        (r.method == "GET" && r.path().ends_with(SHA))
            .then(|| Reply::json(200, json!({"commit": {"message": "Bump podinfo"}})))
    });
    let dir = TempDir::new("gh-odd");
    let run = run_fixture("notify", SUCCESS, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let payload = dispatches(&host)[0].json()["client_payload"].clone();
    assert_eq!(
        payload,
        json!({"sha": null, "runid": null, "commitmessage": "Bump podinfo"})
    );
}

#[test]
fn repeats_and_periodic_successes_after_the_end_cost_zero_requests() {
    let host = MockHost::start();
    let dir = TempDir::new("periodic");
    let env = github_env(&host, &dir);
    assert_eq!(run_fixture("handle", SUCCESS, &env, &[]).code, 0);
    assert_eq!(dispatches(&host).len(), 1);
    host.clear();
    // The same bytes again (a sender retry), then Flux's next interval, then the one after.
    assert_eq!(run_fixture("handle", SUCCESS, &env, &[]).code, 0);
    for ts in ["2025-06-02T10:14:07Z", "2025-06-02T10:24:07Z"] {
        let run = connector(&["handle"], &env, Some(&at_time(SUCCESS, ts)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert!(host.requests().is_empty(), "{:?}", host.requests());
    // `status` alone follows the same rule.
    let run = connector(
        &["status"],
        &env,
        Some(&at_time(SUCCESS, "2025-06-02T10:34:07Z")),
    );
    assert_eq!(run.code, 0);
    assert!(host.requests().is_empty());
}

#[test]
fn eight_concurrent_handles_of_one_success_notify_once() {
    let host = MockHost::start();
    let dir = TempDir::new("race");
    let env = github_env(&host, &dir);
    let runs: Vec<_> = (0..8)
        .map(|i| {
            let env = env.clone();
            std::thread::spawn(move || {
                connector(
                    &["handle"],
                    &env,
                    Some(&at_time(SUCCESS, &format!("2025-06-02T10:14:0{i}Z"))),
                )
            })
        })
        .collect();
    for r in runs {
        let run = r.join().unwrap();
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(dispatches(&host).len(), 1);
}

#[test]
fn failure_then_success_updates_the_statuses_but_notifies_once() {
    let host = MockHost::start();
    let dir = TempDir::new("flip");
    let env = azure_env(&host, &dir);
    let failure = with_commit(FAILURE, SHA);
    assert_eq!(connector(&["handle"], &env, Some(&failure)).code, 0);
    let first = callbacks(&host);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].json()["result"], "failed");
    host.clear();
    let run = connector(
        &["handle"],
        &env,
        Some(&at_time(SUCCESS, "2030-01-01T00:00:00Z")),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(callbacks(&host).is_empty(), "told once");
    let statuses: Vec<_> = host
        .posts()
        .into_iter()
        .filter(|p| p.path().contains("/statuses"))
        .collect();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].json()["state"], "succeeded");
}

#[test]
fn azure_pipelines_success_completes_the_waiting_task() {
    let host = MockHost::start();
    let dir = TempDir::new("az-ok");
    let run = run_fixture(
        "notify",
        "argo/succeeded-synced-healthy.json",
        &azure_env(&host, &dir),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let urls: Vec<_> = host
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    assert_eq!(
        urls,
        [
            "POST /org/proj/_apis/git/repositories/hld/pullrequestquery?api-version=7.1-preview.1"
                .to_string(),
            "GET /org/proj/_apis/git/repositories/hld/pullRequests/42/properties?api-version=7.1-preview.1".to_string(),
            "GET /org/proj-id/_apis/distributedtask/hubs/build/plans/plan-1?api-version=2.0-preview.1".to_string(),
            "GET /org/proj-id/_apis/build/Builds/7/timeline?api-version=7.1".to_string(),
            "POST /org/proj-id/_apis/distributedtask/hubs/build/plans/plan-1/events?api-version=2.0-preview.1".to_string(),
        ]
    );
    let done = &callbacks(&host)[0];
    assert_eq!(
        done.json(),
        json!({"name": "TaskCompleted", "taskId": "task-1", "jobId": "job-1", "result": "succeeded"})
    );
    assert!(done.header("Authorization").unwrap().starts_with("Basic "));
}

#[test]
fn azure_sends_nothing_when_there_is_nothing_to_complete_and_says_which() {
    type Answer = Box<dyn Fn(&Recorded) -> Option<Reply> + Send + Sync>;
    let cases: Vec<(&str, Answer)> = vec![
        (
            "names no PR",
            Box::new(|r: &Recorded| {
                if r.path().ends_with("/pullrequestquery") {
                    return Some(Reply::json(200, json!({"results": [{}]})));
                }
                r.path()
                    .contains("/commits/")
                    .then(|| Reply::json(200, json!({"comment": "Direct push"})))
            }),
        ),
        (
            "no callback-task-id",
            Box::new(|r: &Recorded| {
                r.path()
                    .ends_with("/properties")
                    .then(|| Reply::json(200, json!({"count": 0, "value": {}})))
            }),
        ),
        (
            "plan plan-1 is already completed",
            Box::new(|r: &Recorded| {
                r.path()
                    .contains("/plans/")
                    .then(|| Reply::json(200, json!({"state": "completed"})))
            }),
        ),
        (
            "job job-1 is already completed",
            Box::new(|r: &Recorded| {
                r.path().ends_with("/timeline").then(|| {
                    Reply::json(
                        200,
                        json!({"records": [{"id": "job-1", "state": "completed"}]}),
                    )
                })
            }),
        ),
    ];
    for (why, answer) in cases {
        let host = MockHost::with(move |r| answer(r));
        let dir = TempDir::new("az-nothing");
        let run = run_fixture(
            "notify",
            "argo/succeeded-synced-healthy.json",
            &azure_env(&host, &dir),
            &[],
        );
        assert_eq!(run.code, 0, "{why}: {}", run.stderr);
        assert!(callbacks(&host).is_empty(), "{why}");
        assert!(run.stdout.contains(why), "{why}: {}", run.stdout);
    }
}

#[test]
fn a_foreign_planurl_is_refused_and_gets_nothing() {
    let foreign = MockHost::start();
    let planurl = format!("{}/", foreign.base.replace("127.0.0.1", "localhost"));
    let host = MockHost::with(move |r| {
        r.path()
            .ends_with("/properties")
            .then(|| Reply::json(200, callback_properties(&planurl)))
    });
    let dir = TempDir::new("az-foreign");
    let run = run_fixture(
        "handle",
        "argo/succeeded-synced-healthy.json",
        &azure_env(&host, &dir),
        &[],
    );
    assert_eq!(run.code, 77, "{}", run.stderr);
    assert!(run.stderr.contains("callback_origins"), "{}", run.stderr);
    assert!(foreign.requests().is_empty());
    assert!(!run.stderr.contains(TOKEN));
}

#[test]
fn a_lost_state_does_not_notify_a_commit_github_says_has_ended() {
    let host = MockHost::with(|r| {
        r.path()
            .ends_with("/status")
            .then(|| Reply::json(200, json!({"state": "success"})))
    });
    let dir = TempDir::new("lost");
    let run = run_fixture("handle", SUCCESS, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dispatches(&host).is_empty());
    assert!(host.posts().is_empty(), "after the end, nothing");
}

#[test]
fn a_require_list_waits_for_every_named_kustomization() {
    let host = MockHost::start();
    let dir = TempDir::new("require");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "require = [\"apps\", \"flux-system/infra\"]\n").unwrap();
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(run_fixture("handle", SUCCESS, &env, &[]).code, 0);
    assert!(dispatches(&host).is_empty(), "apps alone is not enough");
    let mut infra: Value = serde_json::from_slice(&fixture(SUCCESS)).unwrap();
    infra["involvedObject"]["name"] = json!("infra");
    let run = connector(
        &["handle"],
        &env,
        Some(&serde_json::to_vec(&infra).unwrap()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(dispatches(&host).len(), 1);
}

#[test]
fn transient_reasons_and_deletions_do_not_end_the_deployment() {
    let host = MockHost::start();
    let dir = TempDir::new("transient");
    let env = azure_env(&host, &dir);
    for name in [
        "flux/kustomization-health-check-canceled-flux-v2.8.json",
        "flux/kustomization-dependency-not-ready-flux-v2.json",
        "flux/kustomization-deletion-prune-stale-reason-flux-v2.json",
        "argo/failed-operation-terminated-progressing.json",
        "argo/succeeded-synced-progressing.json",
    ] {
        let run = run_fixture("notify", name, &env, &["--output", "json"]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let out: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(
            out["why"], "this event does not end the deployment",
            "{name}"
        );
    }
    assert!(host.requests().is_empty());
}

#[test]
fn a_commit_seen_before_its_end_needs_no_combined_status_read() {
    let host = MockHost::start();
    let dir = TempDir::new("seen");
    let env = github_env(&host, &dir);
    let progressing = with_commit(
        "flux/kustomization-progressing-ssa-changeset-flux-v2.json",
        SHA,
    );
    assert_eq!(connector(&["handle"], &env, Some(&progressing)).code, 0);
    host.clear();
    assert_eq!(run_fixture("handle", SUCCESS, &env, &[]).code, 0);
    let mut reads = host.read_urls();
    // The flow's two reads leave together, in either order.
    reads.sort();
    assert_eq!(
        reads,
        [
            format!("/repos/org/manifests/commits/{SHA}"),
            format!("/repos/org/manifests/commits/{SHA}/pulls")
        ],
        "only the merge message and the PR are read"
    );
    assert_eq!(dispatches(&host).len(), 1);
}

#[test]
fn a_squash_merge_is_found_through_the_pull_requests_api() {
    let host = MockHost::with(|r| {
        if r.path().ends_with("/pulls") {
            return Some(Reply::json(
                200,
                json!([{"number": 7, "merged_at": "2025-06-02T09:00:00Z", "head": {"ref": "deploy/555/beef01/main"}}]),
            ));
        }
        (r.method == "GET" && r.path().ends_with(SHA))
            .then(|| Reply::json(200, json!({"commit": {"message": "Deploy podinfo (#7)"}})))
    });
    let dir = TempDir::new("gh-squash");
    let run = run_fixture("notify", SUCCESS, &github_env(&host, &dir), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        dispatches(&host)[0].json()["client_payload"],
        json!({"sha": "beef01", "runid": "555", "commitmessage": "Deploy podinfo (#7)"})
    );
}

#[test]
fn a_batched_commit_finds_its_pr_through_the_query_not_the_message() {
    let host = MockHost::with(|r| {
        if r.path().ends_with("/pullrequestquery") {
            let sha = r.json()["queries"][0]["items"][0]
                .as_str()
                .unwrap()
                .to_string();
            return Some(Reply::json(
                200,
                json!({"results": [{sha: [{"pullRequestId": 77}]}]}),
            ));
        }
        (r.method == "GET" && r.path().contains("/commits/")).then(|| {
            Reply::json(
                200,
                json!({"comment": "Automated image update: 3 images (batched)"}),
            )
        })
    });
    let dir = TempDir::new("az-batched");
    let run = run_fixture(
        "notify",
        "argo/succeeded-synced-healthy.json",
        &azure_env(&host, &dir),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let paths: Vec<String> = host
        .requests()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("/pullRequests/77/properties")),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.contains("/commits/")),
        "the message is not needed"
    );
    assert_eq!(callbacks(&host).len(), 1);
}

/// GitHub keeps a run's id when it is re-run: a re-run that opens another PR waits again, on
/// that PR, and is told again. The pipeline told once is the run waiting on one PR.
#[test]
fn a_rerun_that_opened_another_pr_is_told_again() {
    const X: &str = "1111111111111111111111111111111111111111";
    const Y: &str = "2222222222222222222222222222222222222222";
    let host = MockHost::with(|r| {
        let path = r.path();
        let pr = if path.ends_with(&format!("/commits/{X}/pulls")) {
            7
        } else if path.ends_with(&format!("/commits/{Y}/pulls")) {
            8
        } else {
            return None;
        };
        Some(Reply::json(
            200,
            json!([{"number": pr, "merged_at": "2025-06-02T09:00:00Z",
                    "head": {"ref": format!("deploy/555/c0ffee{pr}/main")}}]),
        ))
    });
    let dir = TempDir::new("rerun");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_RELEASE_SUPERSEDED", "false")],
    );
    for commit in [X, Y] {
        let run = connector(&["handle"], &env, Some(&with_commit(SUCCESS, commit)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let told: Vec<Value> = dispatches(&host)
        .iter()
        .map(|d| d.json()["client_payload"]["sha"].clone())
        .collect();
    assert_eq!(told, [json!("c0ffee7"), json!("c0ffee8")]);
}

/// Kept for parity with the replaced service: a commit whose PR and message name no run still
/// dispatches, with a null run and sha, and the journal says where the run was looked for.
#[test]
fn a_dispatch_without_a_run_says_where_the_run_was_looked_for() {
    let host = MockHost::with(|r| {
        let path = r.path();
        if path.ends_with("/pulls") {
            return Some(Reply::json(200, json!([])));
        }
        (r.method == "GET" && path.ends_with(&format!("/commits/{SHA}"))).then(|| {
            Reply::json(
                200,
                json!({"commit": {"message": "Bump image to 1.2.3\n\nby the bot"}}),
            )
        })
    });
    let dir = TempDir::new("null-run");
    let env = github_env(&host, &dir);
    let run = run_fixture("notify", SUCCESS, &env, &["--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = dispatches(&host);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json()["client_payload"]["runid"], Value::Null);
    let answer: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        answer["why"],
        "the deployment ended (success): the orchestrator was told (no waiting run found for \
         1eabc9a: GitHub lists no merged PR for it, and its message begins \"Bump image to 1.2.3\"; \
         neither follows deploy/<run_id>/<sha>/<branch>, so the dispatch carries a null run and sha)"
    );
}

/// One commit in several merged PRs, each from a deploy branch of its own run (a batch): every
/// run is told, once each, not only the first.
#[test]
fn a_commit_that_several_runs_wait_on_tells_each_once() {
    let host = MockHost::with(|r| {
        r.path().ends_with(&format!("/commits/{SHA}/pulls")).then(|| {
            Reply::json(
                200,
                json!([
                    {"number": 42, "merged_at": "2025-06-02T09:00:00Z", "head": {"ref": "deploy/111/c0ffee1/main"}},
                    {"number": 43, "merged_at": null, "head": {"ref": "deploy/999/dead000/main"}},
                    {"number": 44, "merged_at": "2025-06-02T09:01:00Z", "head": {"ref": "deploy/222/c0ffee2/main"}}
                ]),
            )
        })
    });
    let dir = TempDir::new("fan-out");
    let env = github_env(&host, &dir);
    let run = run_fixture("handle", SUCCESS, &env, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "notification → handed on: 2 runs wait on 1eabc9a: one notification each, run 111 (PR #42), run 222 (PR #44)"
        ),
        "{}",
        run.stdout
    );
    let told: Vec<(Value, Value)> = dispatches(&host)
        .iter()
        .map(|d| {
            let payload = &d.json()["client_payload"];
            (payload["runid"].clone(), payload["sha"].clone())
        })
        .collect();
    assert_eq!(
        told,
        [
            (json!("111"), json!("c0ffee1")),
            (json!("222"), json!("c0ffee2"))
        ]
    );
    let listed: Value =
        serde_json::from_str(&connector(&["events", "--output", "json"], &env, None).stdout)
            .unwrap();
    assert_eq!(
        listed[0]["why"],
        "the deployment ended (success): the orchestrator was told"
    );
    // Flux repeats the success: nobody is told again.
    assert_eq!(run_fixture("handle", SUCCESS, &env, &[]).code, 0);
    assert_eq!(dispatches(&host).len(), 2);
}

/// GitHub's REST description caps a repository_dispatch `event_type` at 100 characters: a
/// longer one is a configuration error at load (78, naming the key), not a 422 at the first
/// deployment's end.
#[test]
fn a_dispatch_event_longer_than_github_takes_is_refused_at_load() {
    let host = MockHost::start();
    let dir = TempDir::new("event-type");
    let long = "x".repeat(101);
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_DISPATCH_EVENT", long.as_str())],
    );
    let run = run_fixture("handle", SUCCESS, &env, &["--dry-run"]);
    assert_eq!(run.code, 78, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "error: instance \"default\": `dispatch_event` is 101 characters; GitHub takes a \
         repository_dispatch event_type of at most 100"
    );
    assert!(host.requests().is_empty());
    let fits = "x".repeat(100);
    let env = with(&env, &[("GITOPS_CONNECTOR_DISPATCH_EVENT", fits.as_str())]);
    assert_eq!(run_fixture("handle", SUCCESS, &env, &["--dry-run"]).code, 0);
}
