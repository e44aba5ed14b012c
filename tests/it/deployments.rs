//! GitHub Deployments (`github_deployments = true`): one deployment per commit and environment,
//! created never to merge nor wait on checks, and a status per change of state, each once.

use crate::support::*;
use serde_json::{json, Value};

const PROGRESSING: &str = "flux/kustomization-progressing-ssa-changeset-flux-v2.json";
const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

use crate::support::flux_event as flux;

/// A deployment id per (commit letter, region letter: `e` for prod-eu, `u` for prod-us).
fn id_of(commit: &str, region: &str) -> u64 {
    let digit = |s: &str| u64::from(s.as_bytes()[0]);
    digit(commit) * 1000 + digit(region)
}

fn deployments_env(host: &MockHost, dir: &TempDir) -> Vec<(String, String)> {
    with(
        &github_env(host, dir),
        &[("GITOPS_CONNECTOR_GITHUB_DEPLOYMENTS", "true")],
    )
}

fn created(host: &MockHost) -> Vec<Value> {
    host.posts()
        .iter()
        .filter(|p| p.path().ends_with("/deployments"))
        .map(Recorded::json)
        .collect()
}

/// (deployment id, state) of every deployment status posted, in order.
fn states(host: &MockHost) -> Vec<(String, String)> {
    host.posts()
        .iter()
        .filter(|p| p.path().contains("/deployments/"))
        .map(|p| {
            let id = p.path().split('/').rev().nth(1).unwrap().to_string();
            (id, p.json()["state"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn one_deployment_per_commit_with_a_status_per_change_of_state() {
    let host = MockHost::start();
    let dir = TempDir::new("deploy-one");
    let env = deployments_env(&host, &dir);
    for event in [PROGRESSING, PROGRESSING, SUCCESS, SUCCESS] {
        let run = connector(&["handle"], &env, Some(&flux(event, A, None)));
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let created = created(&host);
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        created[0],
        json!({"ref": A, "environment": "production", "auto_merge": false, "required_contexts": [],
               "description": "deployed by the GitOps operator, reported by gitops-connector"})
    );
    assert_eq!(
        states(&host),
        [
            ("1".into(), "in_progress".into()),
            ("1".into(), "success".into())
        ]
    );
    let status = host
        .posts()
        .into_iter()
        .find(|p| p.path().ends_with("/deployments/1/statuses"))
        .unwrap();
    assert_eq!(
        status.json()["environment_url"],
        "https://app.example/commit"
    );
    // The commit statuses are still posted as before.
    assert!(host
        .posts()
        .iter()
        .any(|p| p.path().ends_with(&format!("/statuses/{A}"))));
}

#[test]
fn environments_get_their_own_deployment_and_a_superseded_one_turns_inactive() {
    // Each deployment's id: the first letter of its commit and of its environment's region.
    let host = MockHost::with(|r| {
        if r.method == "POST" && r.path().ends_with("/deployments") {
            let body = r.json();
            let commit = &body["ref"].as_str().unwrap()[..1];
            let region = &body["environment"].as_str().unwrap()[5..6];
            return Some(Reply::json(201, json!({"id": id_of(commit, region)})));
        }
        r.path().ends_with(&format!("/compare/{A}...{C}")).then(|| {
            Reply::json(
                200,
                json!({"total_commits": 2, "commits": [{"sha": B}, {"sha": C}]}),
            )
        })
    });
    let dir = TempDir::new("deploy-envs");
    let env = deployments_env(&host, &dir);
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, A, Some("prod-eu")))).code,
        0
    );
    // B starts in prod-eu, but Flux moves on to C before B ends.
    assert_eq!(
        connector(
            &["handle"],
            &env,
            Some(&flux(PROGRESSING, B, Some("prod-eu")))
        )
        .code,
        0
    );
    let run = connector(&["handle"], &env, Some(&flux(SUCCESS, C, Some("prod-eu"))));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let environments: Vec<(Value, Value)> = created(&host)
        .into_iter()
        .map(|d| (d["ref"].clone(), d["environment"].clone()))
        .collect();
    assert_eq!(
        environments,
        [
            (json!(A), json!("prod-eu")),
            (json!(B), json!("prod-eu")),
            (json!(C), json!("prod-eu"))
        ]
    );
    let of = |id: u64| -> Vec<String> {
        states(&host)
            .into_iter()
            .filter(|(d, _)| *d == id.to_string())
            .map(|(_, state)| state)
            .collect()
    };
    assert_eq!(of(id_of("a", "e")), ["success"]);
    assert_eq!(of(id_of("b", "e")), ["in_progress", "inactive"]);
    assert_eq!(of(id_of("c", "e")), ["success"]);
    let inactive = host
        .posts()
        .into_iter()
        .filter(|p| p.path().contains("/deployments/") && p.json()["state"] == "inactive")
        .collect::<Vec<_>>();
    assert_eq!(inactive.len(), 1);
    assert_eq!(inactive[0].json()["description"], "superseded by ccccccc");
    // Another environment of C: a deployment of its own.
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, C, Some("prod-us")))).code,
        0
    );
    assert_eq!(created(&host).len(), 4);
}

#[test]
fn github_deployments_on_azure_repos_is_a_configuration_error() {
    let host = MockHost::start();
    let dir = TempDir::new("deploy-azure");
    let env = with(
        &azure_env(&host, &dir),
        &[("GITOPS_CONNECTOR_GITHUB_DEPLOYMENTS", "true")],
    );
    let run = connector(&["handle"], &env, Some(&flux(SUCCESS, A, None)));
    assert_eq!(run.code, 78, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("github_deployments = true needs a Git host that keeps deployments"),
        "{}",
        run.stderr
    );
    assert!(host.requests().is_empty());
}

#[test]
fn a_dry_run_shows_the_deployment_it_would_create() {
    let host = MockHost::start();
    let dir = TempDir::new("deploy-dry");
    let env = deployments_env(&host, &dir);
    let run = connector(
        &["handle", "--dry-run", "--output", "json"],
        &env,
        Some(&flux(SUCCESS, A, Some("prod-eu"))),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        out["deployment"]["create"]["body"]["environment"],
        "prod-eu"
    );
    assert_eq!(out["deployment"]["create"]["body"]["auto_merge"], false);
    assert_eq!(out["deployment"]["then"], "deployment status success");
    assert!(host.requests().is_empty(), "a dry run sends nothing");
}

/// The deployment's id is kept as soon as GitHub answers: a status that fails is tried again on
/// the same deployment, never on a second one.
#[test]
fn a_retried_status_does_not_create_a_second_deployment() {
    let outage = Outage::new();
    let down = outage.clone();
    let host = MockHost::with(move |r| {
        (down.lasts() && r.path().ends_with("/deployments/1/statuses"))
            .then(|| Reply::json(503, json!({"message": "unavailable"})))
    });
    let dir = TempDir::new("deploy-retry");
    let env = deployments_env(&host, &dir);
    let run = connector(
        &["handle", "--budget", "1"],
        &env,
        Some(&flux(SUCCESS, A, None)),
    );
    assert_eq!(run.code, 75, "{}", run.stderr);
    outage.end();
    let run = connector(&["replay", "--failed"], &env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(created(&host).len(), 1, "one deployment");
    assert_eq!(
        states(&host).last().unwrap(),
        &("1".to_string(), "success".to_string())
    );
}

/// A deployment is the one row the state's thread sends itself: it waits for the notification
/// flows under way, so that no notification's answer waits on it. Here the release of B queues
/// B's notification, then its deployment's `inactive` status: that status leaves only once B's
/// flow (its reads, then its dispatch) is over.
#[test]
fn a_deployment_waits_for_the_notification_flows_under_way() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let slow = Duration::from_millis(200);
    let slowed = Arc::new(AtomicBool::new(false));
    let arrivals = Arc::new(Mutex::new(Vec::<(Instant, Recorded)>::new()));
    let host = {
        let (slowed, arrivals) = (slowed.clone(), arrivals.clone());
        MockHost::with(move |r| {
            arrivals.lock().unwrap().push((Instant::now(), r.clone()));
            let mut reply = if r.method == "POST" && r.path().ends_with("/deployments") {
                let body = r.json();
                Reply::json(
                    201,
                    json!({"id": id_of(&body["ref"].as_str().unwrap()[..1], "e")}),
                )
            } else if r.path().ends_with(&format!("/compare/{A}...{C}")) {
                Reply::json(
                    200,
                    json!({"total_commits": 2, "commits": [{"sha": B}, {"sha": C}]}),
                )
            } else {
                let base = format!("http://{}", r.header("Host").unwrap_or("127.0.0.1"));
                well_behaved(&base, r)
            };
            if slowed.load(Ordering::SeqCst) {
                reply.delay = Some(slow);
            }
            Some(reply)
        })
    };
    let dir = TempDir::new("deploy-waits-for-flows");
    let env = deployments_env(&host, &dir);
    for (name, commit) in [(SUCCESS, A), (PROGRESSING, B)] {
        let run = connector(
            &["handle"],
            &env,
            Some(&flux(name, commit, Some("prod-eu"))),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    slowed.store(true, Ordering::SeqCst);
    let run = connector(&["handle"], &env, Some(&flux(SUCCESS, C, Some("prod-eu"))));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let arrivals = arrivals.lock().unwrap();
    let at = |what: &dyn Fn(&Recorded) -> bool| {
        arrivals
            .iter()
            .find(|(_, r)| what(r))
            .expect("the request was sent")
            .0
    };
    let b_read = at(&|r| r.method == "GET" && r.path().ends_with(&format!("/commits/{B}")));
    let b_inactive = at(&|r| {
        r.path()
            .contains(&format!("/deployments/{}/", id_of("b", "e")))
            && r.json()["state"] == "inactive"
    });
    assert!(
        b_inactive.duration_since(b_read) >= slow * 7 / 4,
        "B's deployment status left while its flow was under way"
    );
}
