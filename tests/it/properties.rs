//! Property tests over parsing and planning: whatever the operator sends, no panic, and nothing
//! a host would refuse (or that could reach a URL unchecked) comes out.

use gitops_connector::config::{Instance, Subscriber};
use gitops_connector::event::{parse, Parsed};
use gitops_connector::hosts::{azure, github, Host};
use gitops_connector::{plan, report};
use proptest::prelude::*;
use serde_json::json;
use std::sync::Arc;

fn instance(git: Arc<dyn Host>) -> Instance {
    Instance {
        app_url: Some("https://app.example/x".into()),
        subscribers: vec![Subscriber {
            name: "s".into(),
            url: "https://sub.example/hook".into(),
        }],
        ..Instance::sample("p", git)
    }
}

fn hosts() -> [Instance; 2] {
    [
        instance(Arc::new(github::Statuses {
            repo: github::Repo {
                api: "https://api.github.com".into(),
                owner: "o".into(),
                repo: "m".into(),
            },
        })),
        instance(Arc::new(azure::Statuses {
            repo: azure::Repo {
                org_url: "https://dev.azure.com/o/p".into(),
                repo: "m".into(),
            },
        })),
    ]
}

/// A valid event plans requests hosts take. Panics (failing the case) if the event is not
/// one we act on: the generators below make only such events, so every case is checked.
fn check_plan(bytes: &[u8]) {
    let event = match parse(bytes) {
        Ok(Parsed::Event(event)) => event,
        other => panic!("the generator made an event we do not act on: {other:?}"),
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

const CASES: u32 = 400;

/// Runs `check_plan` on `CASES` events from `events`, and proves every one got there.
fn every_case_is_checked<S: Strategy<Value = Vec<u8>>>(events: S) {
    let checked = std::cell::Cell::new(0u32);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(CASES));
    runner
        .run(&events, |bytes| {
            check_plan(&bytes);
            checked.set(checked.get() + 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(checked.get(), CASES, "cases that reached the assertions");
}

/// A revision in one of the forms Flux sends for a git commit.
fn revision() -> impl Strategy<Value = String> {
    prop_oneof![
        "(main|refs/tags/v1|release/v1\\.2)(@sha1:|/)[0-9a-f]{40}",
        "sha1:[0-9a-f]{40}",
    ]
}

#[test]
fn valid_flux_events_plan_only_what_hosts_accept() {
    let events = (
        prop_oneof![Just("Kustomization"), Just("GitRepository")],
        prop_oneof![
            Just("Progressing".to_string()),
            Just("HealthCheckFailed".to_string()),
            Just("ReconciliationSucceeded".to_string()),
            "[A-Za-z]{1,20}".prop_filter("not an ignored reason", |r| r != "NewArtifact"),
        ],
        prop_oneof![Just("info"), Just("error")],
        prop_oneof![
            wild_string(),
            "([A-Za-z]{1,10}/[a-z]{1,8}/[a-z]{1,8} (created|configured|unchanged)\n){0,40}",
            "timeout waiting for: \\[[^\\]]{0,300}\\]",
        ],
        (revision(), proptest::option::of("[0-9a-f]{40}")),
        (wild_string(), wild_string()),
    )
        .prop_map(
            |(kind, reason, severity, message, (revision, commit), (namespace, name))| {
                let mut metadata = json!({"revision": revision});
                if let Some(c) = commit {
                    metadata["commit"] = json!(c);
                }
                let body = json!({
                    "involvedObject": {"kind": kind, "namespace": namespace, "name": name},
                    "severity": severity, "timestamp": "2025-06-02T09:14:07Z",
                    "message": message, "reason": reason, "metadata": metadata,
                });
                body.to_string().into_bytes()
            },
        );
    every_case_is_checked(events);
}

#[test]
fn valid_argo_events_plan_only_what_hosts_accept() {
    let events = (
        "[0-9a-fA-F]{40}",
        (wild_string(), wild_string(), wild_string()),
        any::<String>(),
        proptest::collection::vec(
            (
                proptest::option::of(wild_string()),
                proptest::option::of(wild_string()),
            ),
            0..50,
        ),
    )
        .prop_map(|(commitid, (phase, sync, health), message, statuses)| {
            let resources: Vec<_> = statuses
                .into_iter()
                .map(|(sync, health)| {
                    let mut r = json!({"kind": "Service"});
                    if let Some(s) = sync {
                        r["status"] = json!(s);
                    }
                    if let Some(h) = health {
                        r["health"] = json!({"status": h});
                    }
                    r
                })
                .collect();
            json!({"commitid": commitid, "phase": phase, "sync_status": sync, "health": health,
                   "message": message, "resources": resources})
            .to_string()
            .into_bytes()
        });
    every_case_is_checked(events);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes);
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
