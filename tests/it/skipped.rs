//! Skipped commits: two merges inside one Flux interval, Flux deploys only the newer one. When
//! the newer commit C ends, the older B (never deployed on its own) is concluded as superseded
//! by C: its pipeline is told once, with C's outcome, and it gets a `Superseded` status.

use crate::support::*;
use serde_json::{json, Value};

const SUCCESS: &str = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
const FAILED: &str = "flux/kustomization-health-check-failed-single-flux-v2.json";
const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

/// A Flux event of `fixture` for `commit`.
fn flux(fixture_name: &str, commit: &str) -> Vec<u8> {
    flux_event(fixture_name, commit, None)
}

/// GitHub's compare and Azure's commits API, as the hosts list B between A and C; the rest
/// as everything is fine.
fn host_with_history() -> MockHost {
    MockHost::with(|r| {
        let path = r.path();
        if path.ends_with(&format!("/compare/{A}...{C}")) {
            return Some(Reply::json(
                200,
                json!({"status": "ahead", "ahead_by": 2, "total_commits": 2,
                       "commits": [{"sha": B}, {"sha": C}]}),
            ));
        }
        if path.ends_with("/_apis/git/repositories/manifests/commits")
            && r.url.contains(&format!("itemVersion.version={C}"))
            && r.url.contains(&format!("compareVersion.version={A}"))
        {
            return Some(Reply::json(
                200,
                json!({"count": 2, "value": [{"commitId": C}, {"commitId": B}]}),
            ));
        }
        None
    })
}

fn posts_to(host: &MockHost, suffix: &str) -> Vec<Recorded> {
    host.posts()
        .into_iter()
        .filter(|p| p.path().ends_with(suffix))
        .collect()
}

fn status_posts(host: &MockHost, commit: &str) -> Vec<Value> {
    host.posts()
        .iter()
        .filter(|p| {
            p.path().contains(&format!("/{commit}/statuses"))
                || p.path().ends_with(&format!("/statuses/{commit}"))
        })
        .map(Recorded::json)
        .collect()
}

#[test]
fn a_newer_commits_success_releases_the_skipped_one_once_on_github() {
    let host = host_with_history();
    let dir = TempDir::new("skipped-github");
    let env = github_env(&host, &dir);
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, A))).code,
        0
    );
    assert_eq!(posts_to(&host, "/dispatches").len(), 1);

    let run = connector(&["handle"], &env, Some(&flux(SUCCESS, C)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("released 1 skipped commit as superseded by ccccccc (success): bbbbbbb"),
        "{}",
        run.stdout
    );
    let dispatches: Vec<Value> = posts_to(&host, "/dispatches")
        .iter()
        .map(Recorded::json)
        .collect();
    assert_eq!(dispatches.len(), 3, "A, C, and B released: {dispatches:?}");
    let released: Vec<&Value> = dispatches
        .iter()
        .filter(|d| d["client_payload"].get("superseded_by").is_some())
        .collect();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0]["event_type"], "sync-success");
    assert_eq!(released[0]["client_payload"]["superseded_by"], C);
    // B's pipeline is found from B's own PR.
    assert!(host
        .read_urls()
        .iter()
        .any(|u| u.contains(&format!("/commits/{B}/pulls"))));
    let on_b = status_posts(&host, B);
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    assert_eq!(on_b[0]["context"], "Superseded");
    assert_eq!(on_b[0]["state"], "success");
    assert_eq!(
        on_b[0]["description"],
        "superseded by ccccccc, whose deployment succeeded"
    );

    // Flux repeats C's success; B's own events arrive late: nothing is told again.
    let reads = host.read_urls().len();
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, C))).code,
        0
    );
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, B))).code,
        0
    );
    assert_eq!(posts_to(&host, "/dispatches").len(), 3);
    assert!(
        !host.read_urls()[reads..]
            .iter()
            .any(|u| u.contains("/compare/")),
        "a release is planned once, with the commit's end"
    );

    // The journal says what the release did, on C's event.
    let listed: Value = serde_json::from_str(
        &connector(&["events", "--commit", C, "--output", "json"], &env, None).stdout,
    )
    .unwrap();
    let first = listed.as_array().unwrap().last().unwrap();
    assert!(
        first["released"]
            .as_str()
            .unwrap()
            .starts_with("released 1 skipped commit"),
        "{first}"
    );
    let id = first["id"].as_i64().unwrap().to_string();
    let shown = connector(&["events", "show", &id], &env, None);
    assert!(
        shown.stdout.contains("skipped commits: released 1"),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains(&format!("/statuses/{B}")),
        "{}",
        shown.stdout
    );
}

#[test]
fn a_newer_commits_failure_releases_the_skipped_one_as_failed_on_azure() {
    let host = host_with_history();
    let dir = TempDir::new("skipped-azure");
    let env = azure_env(&host, &dir);
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, A))).code,
        0
    );
    assert_eq!(posts_to(&host, "/events").len(), 1);

    let run = connector(&["handle"], &env, Some(&flux(FAILED, C)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let callbacks: Vec<Value> = posts_to(&host, "/events")
        .iter()
        .map(Recorded::json)
        .collect();
    assert_eq!(callbacks.len(), 3, "{callbacks:?}");
    let released: Vec<&Value> = callbacks
        .iter()
        .filter(|c| c.get("superseded_by").is_some())
        .collect();
    assert_eq!(released.len(), 1, "{callbacks:?}");
    assert_eq!(released[0]["superseded_by"], C);
    assert_eq!(released[0]["result"], "failed", "C's outcome");
    let on_b = status_posts(&host, B);
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    assert_eq!(on_b[0]["state"], "failed");
    assert_eq!(on_b[0]["context"]["name"], "Superseded");

    assert_eq!(connector(&["handle"], &env, Some(&flux(FAILED, C))).code, 0);
    assert_eq!(posts_to(&host, "/events").len(), 3, "told once");
}

#[test]
fn release_superseded_false_leaves_skipped_commits_alone() {
    let host = host_with_history();
    let dir = TempDir::new("skipped-off");
    let env = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_RELEASE_SUPERSEDED", "false")],
    );
    for commit in [A, C] {
        assert_eq!(
            connector(&["handle"], &env, Some(&flux(SUCCESS, commit))).code,
            0
        );
    }
    assert_eq!(posts_to(&host, "/dispatches").len(), 2);
    assert!(!host.read_urls().iter().any(|u| u.contains("/compare/")));
    assert!(status_posts(&host, B).is_empty());
}

#[test]
fn parallel_copies_and_a_replay_release_the_skipped_commit_once() {
    let host = host_with_history();
    let dir = TempDir::new("skipped-parallel");
    let env = github_env(&host, &dir);
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, A))).code,
        0
    );
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let env = env.clone();
            // Different bytes (the message), same commit: the relay may send each event twice.
            std::thread::spawn(move || {
                let mut v: Value = serde_json::from_slice(&flux(SUCCESS, C)).unwrap();
                v["message"] = json!(format!("copy {i}"));
                connector(&["handle"], &env, Some(&serde_json::to_vec(&v).unwrap())).code
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 0);
    }
    let replay = connector(&["replay", "--failed"], &env, None);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    let listed: Value = serde_json::from_str(
        &connector(&["events", "--commit", C, "--output", "json"], &env, None).stdout,
    )
    .unwrap();
    let released = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("released").is_some())
        .collect::<Vec<_>>();
    assert_eq!(released.len(), 1, "one event released: {listed}");
    let id = released[0]["id"].to_string();
    let again = connector(&["replay", &id], &env, None);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let superseded: Vec<Value> = posts_to(&host, "/dispatches")
        .iter()
        .map(Recorded::json)
        .filter(|d| d["client_payload"].get("superseded_by").is_some())
        .collect();
    assert_eq!(superseded.len(), 1, "{superseded:?}");
    assert_eq!(status_posts(&host, B).len(), 1);
    let compares = host
        .read_urls()
        .iter()
        .filter(|u| u.contains("/compare/"))
        .count();
    assert_eq!(compares, 1, "one release for one end");
}

/// A host that lists no history between the two ends (a force-push dropped the base: 404), or
/// answers without a list, leaves skipped commits as they were: exit 0, and the journal says so.
#[test]
fn a_history_the_host_cannot_list_releases_nothing_and_says_so() {
    for (status, body) in [
        (404, json!({"message": "Not Found"})),
        (200, json!({"status": "diverged"})),
    ] {
        let host = MockHost::with(move |r| {
            r.path()
                .contains("/compare/")
                .then(|| Reply::json(status, body.clone()))
        });
        let dir = TempDir::new(&format!("skipped-no-history-{status}"));
        let env = github_env(&host, &dir);
        for commit in [A, C] {
            let run = connector(&["handle"], &env, Some(&flux(SUCCESS, commit)));
            assert_eq!(run.code, 0, "{status}: {}", run.stderr);
        }
        assert_eq!(posts_to(&host, "/dispatches").len(), 2, "{status}");
        assert!(status_posts(&host, B).is_empty(), "{status}");
        let listed: Value = serde_json::from_str(
            &connector(&["events", "--commit", C, "--output", "json"], &env, None).stdout,
        )
        .unwrap();
        let released = listed[0]["released"].as_str().unwrap_or_default();
        assert!(
            released.contains("skipped commits, if any, are left as they are"),
            "{status}: {listed}"
        );
    }
}

/// GitHub's merge commits (the replaced service's "Merge pull request #N from
/// org/deploy/<run>/<sha>/main"): Flux deploys the merge commit M; the compare from the last
/// end lists the PR's own commit B and M, and both lead to the same merged PR and run. The
/// pipeline is the unit: that run, waiting on that PR, is told once.
#[test]
fn a_merge_commit_and_its_branch_commit_tell_their_one_pipeline_once() {
    const M: &str = "dddddddddddddddddddddddddddddddddddddddd";
    let host = MockHost::with(|r| {
        let path = r.path();
        if path.ends_with(&format!("/compare/{A}...{M}")) {
            return Some(Reply::json(
                200,
                json!({"status": "ahead", "ahead_by": 2, "total_commits": 2,
                       "commits": [{"sha": B}, {"sha": M}]}),
            ));
        }
        let merged = json!([{"number": 7, "merged_at": "2025-06-02T09:00:00Z",
                             "head": {"ref": format!("deploy/555/{B}/main")}}]);
        (path.ends_with(&format!("/commits/{B}/pulls"))
            || path.ends_with(&format!("/commits/{M}/pulls")))
        .then(|| Reply::json(200, merged))
    });
    let dir = TempDir::new("merge-history");
    let env = github_env(&host, &dir);
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, A))).code,
        0
    );
    let run = connector(&["handle"], &env, Some(&flux(SUCCESS, M)));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let runs: Vec<String> = posts_to(&host, "/dispatches")
        .iter()
        .map(|d| {
            d.json()["client_payload"]["runid"]
                .as_str()
                .unwrap_or("null")
                .to_string()
        })
        .collect();
    assert_eq!(runs, [run_of(A), "555".to_string()], "{}", run.stdout);
    // B is still concluded (its Superseded status), and the journal says why it told nothing.
    assert_eq!(status_posts(&host, B).len(), 1);
    let rows = connector(&["events", "show", "2", "--output", "json"], &env, None);
    assert!(
        rows.stdout
            .contains("github-run:555/pr-7 was already told by"),
        "{}",
        rows.stdout
    );
    // Later events of either commit tell nothing again.
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, M))).code,
        0
    );
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, B))).code,
        0
    );
    assert_eq!(posts_to(&host, "/dispatches").len(), 2);
}

/// More skipped commits than one compare page lists (GitHub: 100 a page, oldest first): the
/// newest page is released first, where the pipelines likeliest still to wait are, and the
/// older page after it; none is stranded, each told once.
#[test]
fn more_skipped_commits_than_a_page_are_released_newest_first_and_none_is_stranded() {
    const H: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    // 150 skipped commits, oldest first, then H: 151 in the compare, two pages.
    let skipped: Vec<String> = (0..150u64)
        .map(|i| format!("{:040x}", 0x5eed_0000 + i))
        .collect();
    let listing: Vec<String> = skipped.iter().cloned().chain([H.to_string()]).collect();
    let host = MockHost::with(move |r| {
        let path = r.path();
        if !path.ends_with(&format!("/compare/{A}...{H}")) {
            return None;
        }
        assert!(r.url.contains("per_page=100"), "{}", r.url);
        let page: usize = r
            .url
            .split("page=")
            .nth(2)
            .and_then(|p| p.split('&').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let commits: Vec<Value> = listing
            .iter()
            .skip((page - 1) * 100)
            .take(100)
            .map(|sha| json!({"sha": sha}))
            .collect();
        Some(Reply::json(
            200,
            json!({"status": "ahead", "total_commits": 151, "commits": commits}),
        ))
    });
    let dir = TempDir::new("skipped-paged");
    let env = github_env(&host, &dir);
    assert_eq!(
        connector(&["handle"], &env, Some(&flux(SUCCESS, A))).code,
        0
    );
    let run = connector(&["handle"], &env, Some(&flux(SUCCESS, H)));
    assert!(run.code == 0 || run.code == 75, "{}", run.stderr);
    for _ in 0..5 {
        if connector(&["replay", "--failed"], &env, None).code == 0 {
            break;
        }
    }
    let superseded: Vec<String> = host
        .posts()
        .iter()
        .filter(|p| p.json()["context"] == "Superseded")
        .map(|p| p.path().rsplit('/').next().unwrap().to_string())
        .collect();
    let mut once = superseded.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), 150, "every skipped commit released");
    assert_eq!(superseded.len(), 150, "each once");
    // The newest page first: the first released commit is among the newest 50.
    let first = skipped.iter().position(|c| *c == superseded[0]).unwrap();
    assert!(first >= 100, "the first released is skipped commit {first}");
    assert_eq!(
        posts_to(&host, "/dispatches").len(),
        152,
        "A, H and each skipped commit's own run, once"
    );
    let listed: Value = serde_json::from_str(
        &connector(&["events", "--commit", H, "--output", "json"], &env, None).stdout,
    )
    .unwrap();
    let released = listed[0]["released"].as_str().unwrap();
    assert!(
        released.starts_with(
            "150 skipped commits between aaaaaaa and eeeeeee, more than one listing holds: released \
             newest first, 100 a release, in 2 releases; released 50 skipped commits"
        ),
        "{released}"
    );
    assert!(
        released.contains("(page 2 of 2, newest first); 1 older pages follow"),
        "{released}"
    );
    assert!(
        released.contains("(page 1 of 2, newest first)"),
        "{released}"
    );
}
