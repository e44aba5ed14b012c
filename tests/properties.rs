//! Property tests over parsing and planning: whatever the operator sends, no panic, and nothing
//! a host would refuse (or that could reach a URL unchecked) comes out.

use gitops_connector::config::{
    AzureRepo, GitHost, GitHubActions, GitHubRepo, Instance, Orchestrator, Subscriber,
};
use gitops_connector::event::{parse, Parsed};
use gitops_connector::{plan, report};
use proptest::prelude::*;
use serde_json::json;

fn instance(git: GitHost) -> Instance {
    let repo = GitHubRepo {
        api: "https://api.github.com".into(),
        owner: "o".into(),
        repo: "m".into(),
    };
    Instance {
        name: "p".into(),
        operator: None,
        app_url: Some("https://app.example/x".into()),
        git,
        orchestrator: Orchestrator::GitHubActions(GitHubActions {
            manifests: repo,
            actions_repo: "a".into(),
            dispatch_event: "sync-success".into(),
            failure_dispatch_event: None,
        }),
        subscribers: vec![Subscriber {
            name: "s".into(),
            url: "https://sub.example/hook".into(),
        }],
        require: vec![],
        allow_http: false,
        git_token: None,
        git_token_from: None,
        orchestrator_token: None,
        orchestrator_token_from: None,
        hmac_key: None,
    }
}

fn hosts() -> [Instance; 2] {
    [
        instance(GitHost::GitHub(GitHubRepo {
            api: "https://api.github.com".into(),
            owner: "o".into(),
            repo: "m".into(),
        })),
        instance(GitHost::Azure(AzureRepo {
            org_url: "https://dev.azure.com/o/p".into(),
            repo: "m".into(),
        })),
    ]
}

/// Whatever parse accepts, planning yields requests hosts take.
fn check_plan(bytes: &[u8]) {
    let Ok(Parsed::Event(event)) = parse(bytes) else {
        return;
    };
    assert_eq!(event.commit.as_str().len(), 40);
    assert!(event.commit.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    let report = report::report(&event);
    for status in &report.statuses {
        assert!(
            !status.name.is_empty()
                && status.name.chars().count() <= 255
                && !status.name.chars().any(char::is_control),
            "{:?}",
            status.name
        );
    }
    for instance in hosts() {
        for planned in plan::status_requests(
            &instance,
            event.header.operator,
            &report.commit,
            &report.statuses,
        ) {
            let url = &planned.request.url;
            if !url.starts_with("https://sub.example") {
                assert!(
                    url.contains(&format!("/{}", report.commit.as_str())),
                    "{url}"
                );
                let path = url.split('?').next().unwrap();
                assert!(
                    !path.contains("..") && !path.contains('#') && !path.contains(' '),
                    "{url}"
                );
            }
            if url.starts_with("https://api.github.com") {
                let description = planned.request.body.as_ref().unwrap()["description"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert!(description.chars().count() <= 140, "{description}");
            }
        }
    }
}

fn wild_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-f]{40}",
        "[0-9a-fA-F]{38,42}",
        "(main|refs/tags/v1|release/v1.2)(@sha1:|/)[0-9a-f]{40}",
        "sha256:[0-9a-f]{64}",
        "[a-z./?#\n :@]{0,60}",
        Just("<no value>".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn flux_shaped_events_plan_only_what_hosts_accept(
        kind in prop_oneof![Just("Kustomization".to_string()), Just("GitRepository".to_string()), Just("HelmRelease".to_string()), "[A-Za-z]{1,12}"],
        reason in prop_oneof![Just("Progressing".to_string()), Just("HealthCheckFailed".to_string()), Just("ReconciliationSucceeded".to_string()), wild_string()],
        severity in prop_oneof![Just("info".to_string()), Just("error".to_string()), wild_string()],
        message in prop_oneof![wild_string(), "([A-Za-z]{1,10}/[a-z]{1,8}/[a-z]{1,8} (created|configured|unchanged)\n){0,40}", "timeout waiting for: \\[[^\\]]{0,300}\\]"],
        revision in wild_string(),
        commit in proptest::option::of(wild_string()),
    ) {
        let mut metadata = json!({"revision": revision});
        if let Some(c) = commit {
            metadata["commit"] = json!(c);
        }
        let body = json!({
            "involvedObject": {"kind": kind, "namespace": "n", "name": "a"},
            "severity": severity, "timestamp": "2025-06-02T09:14:07Z",
            "message": message, "reason": reason, "metadata": metadata,
        });
        check_plan(body.to_string().as_bytes());
    }

    #[test]
    fn argo_shaped_events_plan_only_what_hosts_accept(
        commitid in wild_string(),
        phase in wild_string(),
        health in wild_string(),
        message in any::<String>(),
        statuses in proptest::collection::vec((proptest::option::of(wild_string()), proptest::option::of(wild_string())), 0..50),
    ) {
        let resources: Vec<_> = statuses.into_iter().map(|(sync, health)| {
            let mut r = json!({"kind": "Service"});
            if let Some(s) = sync { r["status"] = json!(s); }
            if let Some(h) = health { r["health"] = json!({"status": h}); }
            r
        }).collect();
        let body = json!({"commitid": commitid, "phase": phase, "sync_status": "Synced", "health": health, "message": message, "resources": resources});
        check_plan(body.to_string().as_bytes());
    }

    #[test]
    fn the_argo_template_repair_recovers_any_message(message in "[^\\\\]{0,200}") {
        let body = format!(
            "{{\n  \"commitid\": \"415191f752dbb3b33e1229fc612c32b428acefd7\",\n  \"phase\": \"Failed\",\n  \"sync_status\": \"OutOfSync\",\n  \"health\": \"Degraded\",\n  \"message\": \"{message}\",\n  \"resources\": []\n}}\n"
        );
        match parse(body.as_bytes()) {
            Ok(Parsed::Event(event)) => {
                let gitops_connector::event::Detail::Argo(argo) = event.detail else { panic!() };
                // Valid JSON may unescape; the repair keeps the raw text.
                if event.repaired {
                    prop_assert_eq!(argo.message, message);
                }
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
