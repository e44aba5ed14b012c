//! `poll-prs` against a mock Azure DevOps holding 160 abandoned PRs over two pages.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::HashMap;

fn iso(secs_ago: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    gitops_connector::event::time::format_rfc3339(i64::try_from(now - secs_ago).unwrap())
}

/// PRs 1–150 closed an hour ago, 151–155 ten days ago (outside the cutoff), 156–160 without a
/// closedDate. PR 3 has no property, 4 a malformed one, 5 a completed plan, 6 a completed job,
/// and the host fails on PR 7's properties.
fn azure_with_abandoned_prs() -> MockHost {
    let prs: Vec<Value> = (1..=160u64)
        .map(|id| match id {
            151..=155 => json!({"pullRequestId": id, "closedDate": iso(10 * 86_400)}),
            156..=160 => json!({"pullRequestId": id}),
            _ => json!({"pullRequestId": id, "closedDate": iso(3600)}),
        })
        .collect();
    let base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let base_in = base.clone();
    let host = MockHost::with(move |r| {
        let path = r.path().to_string();
        let query: HashMap<&str, &str> = r
            .url
            .split_once('?')
            .map(|(_, q)| q.split('&').filter_map(|kv| kv.split_once('=')).collect())
            .unwrap_or_default();
        if path.ends_with("/pullrequests") {
            assert_eq!(query.get("searchCriteria.status"), Some(&"abandoned"));
            let top: usize = query["$top"].parse().unwrap();
            let skip: usize = query["$skip"].parse().unwrap();
            let page: Vec<Value> = prs.iter().skip(skip).take(top).cloned().collect();
            return Some(Reply::json(
                200,
                json!({"count": page.len(), "value": page}),
            ));
        }
        if path.ends_with("/properties") {
            let pr: u64 = path.split('/').rev().nth(1).unwrap().parse().unwrap();
            let planurl = format!("{}/org/", base_in.lock().unwrap());
            let task = json!({"taskid": format!("task-{pr}"), "jobid": "job-1", "planurl": planurl, "planid": format!("plan-{pr}"), "projectid": "proj-id"});
            return Some(match pr {
                3 => Reply::json(200, json!({"count": 0, "value": {}})),
                4 => Reply::json(
                    200,
                    json!({"value": {"callback-task-id": {"$value": "{broken"}}}),
                ),
                // A wait the tool never sleeps through: the pass ends once the others are done.
                7 => Reply::json(
                    500,
                    json!({"message": "TF400898: An internal error occurred"}),
                )
                .with_header("Retry-After", "3600"),
                _ => Reply::json(
                    200,
                    json!({"count": 1, "value": {"callback-task-id": {"$value": task.to_string()}}}),
                ),
            });
        }
        if path.ends_with("/plans/plan-5") {
            return Some(Reply::json(200, json!({"state": "completed"})));
        }
        if path.ends_with("/Builds/plan-6/timeline") {
            return Some(Reply::json(
                200,
                json!({"records": [{"id": "job-1", "state": "completed"}]}),
            ));
        }
        if path.contains("/plans/") && !path.ends_with("/events") {
            let plan = path.rsplit('/').next().unwrap();
            let href = format!(
                "{}/org/proj-id/_apis/build/Builds/{plan}",
                base_in.lock().unwrap()
            );
            return Some(Reply::json(
                200,
                json!({"state": "inProgress", "owner": {"_links": {"self": {"href": href}}}}),
            ));
        }
        None
    });
    base.lock().unwrap().clone_from(&host.base);
    host
}

fn completed(host: &MockHost) -> Vec<Value> {
    host.posts()
        .iter()
        .filter(|p| p.path().ends_with("/events"))
        .map(crate::support::Recorded::json)
        .collect()
}

#[test]
fn one_pass_fails_every_waiting_task_once_and_an_idle_pass_only_lists() {
    let host = azure_with_abandoned_prs();
    let dir = TempDir::new("poll");
    let env = with(
        &azure_env(&host, &dir),
        &[("GITOPS_CONNECTOR_BUDGET_SECONDS", "60")],
    );
    let run = connector(&["poll-prs", "--output", "json"], &env, None);
    assert_eq!(
        run.code, 75,
        "PR 7's callback is still owed: {}",
        run.stderr
    );
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    let summary = &out["summary"];
    assert_eq!(summary["pages"], 2);
    assert_eq!(summary["listed"], 160);
    assert_eq!(
        summary["in_cutoff"], 155,
        "150 recent and 5 without closedDate"
    );
    assert_eq!(summary["notified"], 150);
    assert_eq!(
        summary["nothing_to_do"], 3,
        "no property, plan completed, job completed"
    );
    assert_eq!(summary["failed"], 1, "the malformed property");
    assert_eq!(summary["owed"], 1, "the host error");
    let done = completed(&host);
    assert_eq!(done.len(), 150);
    assert!(done
        .iter()
        .all(|b| b["result"] == "failed" && b["name"] == "TaskCompleted"));
    let tasks: std::collections::HashSet<_> = done
        .iter()
        .map(|b| b["taskId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tasks.len(), 150, "each task once");
    for skipped in [
        "task-3", "task-4", "task-5", "task-6", "task-7", "task-151", "task-155",
    ] {
        assert!(!tasks.contains(skipped), "{skipped}");
    }
    assert!(
        run.stderr.contains("TF400898"),
        "a PR's error is reported: {}",
        run.stderr
    );

    host.clear();
    let second = connector(&["poll-prs"], &env, None);
    assert_eq!(second.code, 75, "PR 7 is still owed: {}", second.stderr);
    let asked: Vec<_> = host
        .requests()
        .into_iter()
        .filter(|r| !r.path().ends_with("/pullrequests") && !r.url.contains("/pullRequests/7/"))
        .collect();
    assert!(
        asked.is_empty(),
        "an idle pass asks nothing about handled PRs: {asked:?}"
    );
    assert_eq!(
        host.requests()
            .iter()
            .filter(|r| r.path().ends_with("/pullrequests"))
            .count(),
        2,
        "one request per page"
    );
}

#[test]
fn dry_run_lists_but_sends_nothing() {
    let host = azure_with_abandoned_prs();
    let dir = TempDir::new("poll-dry");
    let run = connector(
        &["poll-prs", "--dry-run", "--output", "json"],
        &azure_env(&host, &dir),
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["would_fail_tasks_of"].as_array().unwrap().len(), 155);
    assert!(host
        .requests()
        .iter()
        .all(|r| r.method == "GET" && r.path().ends_with("/pullrequests")));
}

#[test]
fn the_cutoff_is_configurable() {
    let host = azure_with_abandoned_prs();
    let dir = TempDir::new("poll-age");
    let run = connector(
        &[
            "poll-prs",
            "--dry-run",
            "--output",
            "json",
            "--max-age",
            "30d",
        ],
        &azure_env(&host, &dir),
        None,
    );
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["summary"]["in_cutoff"], 160);
}

#[test]
fn github_actions_has_nothing_to_poll() {
    let host = MockHost::start();
    let dir = TempDir::new("poll-gh");
    let run = connector(&["poll-prs"], &github_env(&host, &dir), None);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("nothing waits on a PR"));
    assert!(host.requests().is_empty());
}

#[test]
fn a_foreign_planurl_in_an_abandoned_pr_is_refused() {
    let host = MockHost::with(|r| {
        if r.path().ends_with("/pullrequests") {
            return Some(Reply::json(200, json!({"value": [{"pullRequestId": 9}]})));
        }
        r.path()
            .ends_with("/properties")
            .then(|| Reply::json(200, callback_properties("https://evil.example/")))
    });
    let dir = TempDir::new("poll-foreign");
    let run = connector(&["poll-prs"], &azure_env(&host, &dir), None);
    assert_eq!(run.code, 77, "{}", run.stderr);
    assert!(
        run.stderr.contains("refusing to send the token"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failing_list_says_whether_to_retry_or_fix_something() {
    // 503: try again later (75); 401: the token must be fixed first (78); 400: refused (76).
    let cases = [(503, 75), (401, 78), (400, 76)];
    for (status, code) in cases {
        let host = MockHost::with(move |_| Some(Reply::json(status, json!({"message": "no"}))));
        let dir = TempDir::new("poll-list");
        let run = connector(
            &["poll-prs", "--budget", "2"],
            &azure_env(&host, &dir),
            None,
        );
        assert_eq!(run.code, code, "{status}: {}", run.stderr);
        assert!(
            run.stderr.contains("listing abandoned PRs failed"),
            "{}",
            run.stderr
        );
    }
    let dir = TempDir::new("poll-notoken");
    let host = MockHost::start();
    let env: Vec<_> = azure_env(&host, &dir)
        .into_iter()
        .filter(|(k, _)| k != "PAT")
        .collect();
    let run = connector(&["poll-prs"], &env, None);
    assert_eq!(run.code, 78, "{}", run.stderr);
    assert!(host.requests().is_empty());
}

/// A host with one abandoned PR (42, no closedDate) in every repository it is asked about, that
/// answers 503 to commit statuses while `outage` lasts.
fn one_abandoned_pr(outage: &Outage) -> MockHost {
    let outage = outage.clone();
    MockHost::with(move |r| {
        if r.path().ends_with("/pullrequests") {
            return Some(Reply::json(
                200,
                json!({"count": 1, "value": [{"pullRequestId": 42}]}),
            ));
        }
        (r.path().contains("/statuses") && outage.lasts()).then(|| Reply::status(503))
    })
}

fn statuses_taken(host: &MockHost) -> usize {
    host.posts()
        .iter()
        .filter(|p| p.path().contains("/statuses"))
        .count()
}

const ARGO: &str = "argo/succeeded-synced-healthy.json";

#[test]
fn periodic_sends_what_is_owed_and_polls_every_azure_pipelines_instance() {
    let outage = Outage::new();
    let host = one_abandoned_pr(&outage);
    let dir = TempDir::new("periodic");
    let config = dir.path().join("c.toml");
    let org = format!("{}/org/proj", host.base);
    std::fs::write(
        &config,
        format!(
            "[instances.eu]\ngit_host = \"azdo\"\norchestrator = \"azdo\"\nazdo_org_url = \"{org}\"\nazdo_manifests_repo = \"m\"\nazdo_pr_repo = \"hld-eu\"\n\
             [instances.us]\ngit_host = \"azdo\"\norchestrator = \"azdo\"\nazdo_org_url = \"{org}\"\nazdo_manifests_repo = \"m\"\nazdo_pr_repo = \"hld-us\"\n"
        ),
    )
    .unwrap();
    let env = vec![
        (
            "GITOPS_CONNECTOR_CONFIG".to_string(),
            config.display().to_string(),
        ),
        ("GITOPS_CONNECTOR_STATE".into(), dir.state()),
        ("GITOPS_CONNECTOR_BUDGET_SECONDS".into(), "2".into()),
        ("PAT".into(), TOKEN.into()),
    ];
    while_down(&host, &outage, || {
        run_fixture("status", ARGO, &env, &["--instance", "eu"])
    });

    let run = connector(&["periodic"], &env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(statuses_taken(&host), 3, "what was owed went out");
    let listed: Vec<String> = host
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/pullrequests"))
        .map(|r| r.path().to_string())
        .collect();
    assert_eq!(listed.len(), 2, "both instances: {listed:?}");
    assert!(
        listed.iter().any(|p| p.contains("/hld-eu/"))
            && listed.iter().any(|p| p.contains("/hld-us/"))
    );
    assert_eq!(
        host.posts()
            .iter()
            .filter(|p| p.path().ends_with("/events"))
            .count(),
        2,
        "PR 42 of each instance failed once"
    );
}

#[test]
fn periodic_every_keeps_going_and_picks_up_new_work() {
    let outage = Outage::new();
    let host = one_abandoned_pr(&outage);
    let dir = TempDir::new("periodic-every");
    let env = with(
        &azure_env(&host, &dir),
        &[("GITOPS_CONNECTOR_BUDGET_SECONDS", "1")],
    );
    let mut child = Running(
        std::process::Command::new(env!("CARGO_BIN_EXE_gitops-connector"))
            .args(["periodic", "--every", "1s", "-v"])
            .env_clear()
            .envs(env.iter().cloned())
            .env("HOME", dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Work owed after the loop started: statuses the host refused while it was down (what was
    // sent during the outage does not count).
    while_down(&host, &outage, || run_fixture("status", ARGO, &env, &[]));
    let started = std::time::Instant::now();
    while statuses_taken(&host) < 3 && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "the loop runs until stopped"
    );
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        statuses_taken(&host),
        3,
        "the loop sent what became owed: {stderr}"
    );
    let rounds = stderr.matches("periodic: round done").count();
    assert!(rounds >= 2, "{rounds} rounds: {stderr}");
    let handled = connector(&["events", "--failed"], &env, None);
    assert!(
        !handled.stdout.contains("Application"),
        "nothing owed: {}",
        handled.stdout
    );
}

#[test]
fn periodic_every_reads_the_configuration_afresh_each_round() {
    let host = MockHost::start();
    let dir = TempDir::new("periodic-reload");
    let config = dir.path().join("c.toml");
    // Round one: the instance notifies GitHub Actions, nothing to poll.
    std::fs::write(&config, "orchestrator = \"github\"\n").unwrap();
    let env = with(
        &azure_env(&host, &dir),
        &[
            ("GITOPS_CONNECTOR_CONFIG", config.to_str().unwrap()),
            ("GITHUB_ORG_URL", &format!("{}/repos/org", host.base)),
            ("GITHUB_GITOPS_MANIFEST_REPO_NAME", "manifests"),
            ("GITHUB_GITOPS_REPO_NAME", "app"),
        ],
    )
    .into_iter()
    // The orchestrator comes from the file alone (the environment would override it).
    .filter(|(k, _)| k != "CICD_ORCHESTRATOR_TYPE")
    .collect::<Vec<_>>();
    let _child = Running(
        std::process::Command::new(env!("CARGO_BIN_EXE_gitops-connector"))
            .args(["periodic", "--every", "1s"])
            .env_clear()
            .envs(env.iter().cloned())
            .env("HOME", dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(
        host.requests().is_empty(),
        "GitHub Actions: nothing to poll"
    );
    // The mounted ConfigMap changes: the next round polls Azure Pipelines.
    std::fs::write(&config, "orchestrator = \"azdo\"\n").unwrap();
    let started = std::time::Instant::now();
    while host.requests().is_empty() && started.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        host.requests()
            .iter()
            .any(|r| r.path().ends_with("/pullrequests")),
        "the new configuration was read"
    );
}
