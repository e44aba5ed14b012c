//! event → commit statuses and deployment outcome (PROTOCOL §2–3). Pure.
//!
//! States stay in the operator's words here; each Git host maps them (see `hosts`).

use crate::event::{ArgoEvent, CommitId, Detail, Event, FluxEvent, Severity};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitStatus {
    /// The context: `Status`, `Phase`, a resource group, a failing object.
    pub name: String,
    /// The operator's word (`Progressing`, `Healthy`, …).
    pub state: String,
    pub message: String,
    /// Flux kind or `ArgoCD`.
    pub genre: String,
    /// How a host maps `state` when it is a word the host table does not know.
    #[serde(skip)]
    pub unknown_as: Unknown,
}

/// An unknown reason never crashes (PROTOCOL §2.4): an error event is a failure, anything else pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unknown {
    #[default]
    Pending,
    Failure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub commit: CommitId,
    pub statuses: Vec<CommitStatus>,
    /// `Some` when this event ends the deployment of `commit`.
    pub end: Option<Outcome>,
}

/// GitHub keeps a context of up to 255 characters; Azure's limit is larger. Names come from
/// object text in operator messages, so they are bounded and cleaned here, once for all hosts.
pub const MAX_STATUS_NAME_CHARS: usize = 255;

/// A name every host accepts: no control characters, no surrounding blanks, never empty.
pub fn status_name(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let bounded: String = cleaned.chars().take(MAX_STATUS_NAME_CHARS).collect();
    if bounded.is_empty() {
        "Info".into()
    } else {
        bounded
    }
}

pub fn report(event: &Event) -> Report {
    let (mut statuses, end) = match &event.detail {
        Detail::Flux(flux) => (
            flux_statuses(&event.header.kind, &event.header.reason, flux),
            flux_end(&event.header.kind, &event.header.reason, flux),
        ),
        Detail::Argo(argo) => (argo_statuses(argo), argo_end(argo)),
    };
    for status in &mut statuses {
        status.name = status_name(&status.name);
    }
    Report {
        commit: event.commit.clone(),
        statuses,
        end,
    }
}

/// Reasons Flux documents, which the host tables know how to map.
const KNOWN_FLUX_REASONS: [&str; 12] = [
    "ReconciliationSucceeded",
    "ReconciliationFailed",
    "Progressing",
    "HealthCheckFailed",
    "HealthCheckCanceled",
    "ValidationFailed",
    "BuildFailed",
    "PruneFailed",
    "ArtifactFailed",
    "DependencyNotReady",
    "info",
    "error",
];

const FLUX_FAILURES: [&str; 7] = [
    "HealthCheckFailed",
    "ReconciliationFailed",
    "BuildFailed",
    "ValidationFailed",
    "PruneFailed",
    "ArtifactFailed",
    "error",
];

fn flux_statuses(kind: &str, reason: &str, flux: &FluxEvent) -> Vec<CommitStatus> {
    let unknown_as = match flux.severity {
        Severity::Error => Unknown::Failure,
        Severity::Info => Unknown::Pending,
    };
    let status = |name: &str, state: &str, message: &str| CommitStatus {
        name: name.to_string(),
        state: state.to_string(),
        message: message.to_string(),
        genre: kind.to_string(),
        unknown_as,
    };
    let description = match reason {
        "Progressing" => "Reconciliation underway.",
        "HealthCheckFailed" => "Health Check Failed",
        "ValidationFailed" => "Manifests validation failed.",
        _ => flux.message.as_str(),
    };
    let main = status("Status", reason, description);
    let mut statuses = vec![main.clone()];
    if kind != "Kustomization" {
        return statuses;
    }
    match reason {
        "Progressing" => {
            let summary = change_set_summary(&flux.message);
            if !summary.is_empty() {
                statuses.extend(
                    summary
                        .into_iter()
                        .map(|(name, state, message)| status(&name, state, &message)),
                );
                // Again, so that the newest status on the commit is the overall one.
                statuses.push(main);
            }
        }
        "HealthCheckFailed" => {
            let failing = failing_objects(&flux.message);
            if failing.is_empty() {
                statuses.push(status(&flux.message, reason, "Health Check Failed"));
            }
            for object in failing {
                statuses.push(status(object, reason, "Health Check Failed"));
            }
        }
        _ => {}
    }
    statuses
}

/// A change set (`Deployment/apps/podinfo configured` per line) → one status per group, then
/// `warnings`. A line of any other shape makes the whole summary one `Info` status.
fn change_set_summary(message: &str) -> Vec<(String, &'static str, String)> {
    let mut groups: Vec<(String, Vec<(String, usize)>)> = Vec::new();
    let mut warnings = 0;
    for line in message.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with("Warning") {
            warnings += 1;
            continue;
        }
        let words: Vec<&str> = line.split(' ').collect();
        let [object, action] = words[..] else {
            return vec![("Info".into(), "NotApplicable", message.to_string())];
        };
        if object.is_empty() || action.is_empty() {
            return vec![("Info".into(), "NotApplicable", message.to_string())];
        }
        let group = object.split('/').next().unwrap_or(object).to_string();
        let actions = match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, actions)) => actions,
            None => {
                groups.push((group, Vec::new()));
                &mut groups.last_mut().expect("just pushed").1
            }
        };
        match actions.iter_mut().find(|(a, _)| a == action) {
            Some((_, n)) => *n += 1,
            None => actions.push((action.to_string(), 1)),
        }
    }
    let mut summary: Vec<_> = groups
        .into_iter()
        .map(|(group, actions)| {
            let counts: Vec<String> = actions.iter().map(|(a, n)| format!("{n} {a}")).collect();
            (group, "NotApplicable", counts.join(", "))
        })
        .collect();
    if warnings > 0 {
        summary.push((
            "warnings".into(),
            "NotApplicable",
            format!("Warnings: {warnings}"),
        ));
    }
    summary
}

/// `… timeout waiting for: [A status: 'InProgress', B status: 'Failed']` → `[A …, B …]`.
fn failing_objects(message: &str) -> Vec<&str> {
    let (Some(open), Some(close)) = (message.find('['), message.rfind(']')) else {
        return Vec::new();
    };
    if close <= open {
        return Vec::new();
    }
    message[open + 1..close]
        .split(", ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn flux_end(kind: &str, reason: &str, flux: &FluxEvent) -> Option<Outcome> {
    if kind != "Kustomization" {
        return None;
    }
    if reason == "ReconciliationSucceeded" {
        return (!is_deletion(flux)).then_some(Outcome::Success);
    }
    if FLUX_FAILURES.contains(&reason) {
        return Some(Outcome::Failure);
    }
    let unknown = !KNOWN_FLUX_REASONS.contains(&reason);
    (unknown && flux.severity == Severity::Error).then_some(Outcome::Failure)
}

/// Flux reports garbage collection of a deleted Kustomization as a success whose message is a
/// change set of deletions and which has no `commit_status`: that deployed nothing.
fn is_deletion(flux: &FluxEvent) -> bool {
    !flux.has_commit_status
        && flux
            .message
            .lines()
            .filter(|l| !l.trim().is_empty())
            .all(|l| l.ends_with(" deleted"))
}

fn argo_statuses(argo: &ArgoEvent) -> Vec<CommitStatus> {
    let total = argo.resources.len();
    let status = |name: &str, state: &str, message: String| CommitStatus {
        name: name.into(),
        state: state.into(),
        message,
        genre: "ArgoCD".into(),
        unknown_as: Unknown::Pending,
    };
    vec![
        status(
            "Phase",
            &argo.phase,
            format!("{}: {}", argo.phase, argo.message),
        ),
        status(
            "Sync",
            &argo.sync_status,
            fractions(
                argo.resources.iter().filter_map(|r| r.sync.as_deref()),
                total,
            ),
        ),
        status(
            "Health",
            &argo.health,
            fractions(
                argo.resources.iter().filter_map(|r| r.health.as_deref()),
                total,
            ),
        ),
    ]
}

/// `"3/5 Healthy, 1/5 Progressing"`: each value in order of first appearance, over `total`.
fn fractions<'a>(values: impl Iterator<Item = &'a str>, total: usize) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for value in values {
        match counts.iter_mut().find(|(v, _)| *v == value) {
            Some((_, n)) => *n += 1,
            None => counts.push((value, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(v, n)| format!("{n}/{total} {v}"))
        .collect();
    parts.join(", ")
}

fn argo_end(argo: &ArgoEvent) -> Option<Outcome> {
    let phase_running = matches!(argo.phase.as_str(), "Running" | "Terminating");
    let health_moving = matches!(argo.health.as_str(), "Progressing" | "Suspended");
    if phase_running || health_moving {
        return None;
    }
    Some(if argo.phase == "Succeeded" && argo.health == "Healthy" {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{parse, Parsed};

    fn report_of(dir: &str, name: &str) -> Report {
        let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
        match parse(&std::fs::read(&path).unwrap()).unwrap() {
            Parsed::Event(e) => report(&e),
            Parsed::Ignored(i) => panic!("{name} ignored: {}", i.why),
        }
    }

    fn flux(name: &str) -> Report {
        report_of("flux", &format!("{name}.json"))
    }

    fn argo(name: &str) -> Report {
        report_of("argo", &format!("{name}.json"))
    }

    fn triples(r: &Report) -> Vec<(&str, &str, &str)> {
        r.statuses
            .iter()
            .map(|s| (s.name.as_str(), s.state.as_str(), s.message.as_str()))
            .collect()
    }

    #[test]
    fn ssa_change_set_becomes_group_statuses_between_two_status_lines() {
        let r = flux("kustomization-progressing-ssa-changeset-flux-v2");
        assert_eq!(
            triples(&r),
            vec![
                ("Status", "Progressing", "Reconciliation underway."),
                ("Namespace", "NotApplicable", "1 created"),
                ("ServiceAccount", "NotApplicable", "1 created"),
                ("Service", "NotApplicable", "1 created"),
                ("Deployment", "NotApplicable", "1 configured"),
                ("HorizontalPodAutoscaler", "NotApplicable", "1 created"),
                ("Status", "Progressing", "Reconciliation underway."),
            ]
        );
        assert_eq!(r.end, None);
        assert!(r.statuses.iter().all(|s| s.genre == "Kustomization"));
    }

    #[test]
    fn counts_in_a_group_are_separated_by_commas() {
        let msg = "Deployment/a/x configured\nDeployment/a/y configured\nDeployment/a/z unchanged";
        assert_eq!(
            change_set_summary(msg),
            vec![(
                "Deployment".to_string(),
                "NotApplicable",
                "2 configured, 1 unchanged".to_string()
            )]
        );
    }

    #[test]
    fn kubectl_style_with_warning_counts_warnings_last() {
        let r = flux("kustomization-progressing-kubectl-style-with-warning-flux-v0.17");
        assert_eq!(
            triples(&r)[1..4],
            [
                ("cronjob.batch", "NotApplicable", "1 configured"),
                ("podsecuritypolicy.policy", "NotApplicable", "1 configured"),
                ("warnings", "NotApplicable", "Warnings: 1"),
            ]
        );
    }

    #[test]
    fn a_message_that_is_no_change_set_is_one_info_status() {
        let r = flux("kustomization-progressing-health-check-passed-flux-v2");
        assert_eq!(
            triples(&r),
            vec![
                ("Status", "Progressing", "Reconciliation underway."),
                (
                    "Info",
                    "NotApplicable",
                    "Health check passed in 12.458931672s"
                ),
                ("Status", "Progressing", "Reconciliation underway."),
            ]
        );
    }

    #[test]
    fn every_failing_object_of_a_health_check_gets_a_status_with_the_last_character_kept() {
        let r = flux("kustomization-health-check-failed-kubectl-era-flux-v0.17");
        assert_eq!(
            triples(&r),
            vec![
                ("Status", "HealthCheckFailed", "Health Check Failed"),
                (
                    "Deployment 'apps/podinfo' (status 'InProgress')",
                    "HealthCheckFailed",
                    "Health Check Failed"
                ),
                (
                    "Deployment 'apps/redis' (status 'Failed')",
                    "HealthCheckFailed",
                    "Health Check Failed"
                ),
            ]
        );
        assert_eq!(r.end, Some(Outcome::Failure));
    }

    #[test]
    fn a_health_check_message_without_brackets_is_one_status() {
        let event = FluxEvent {
            severity: Severity::Error,
            message: "health check failed".into(),
            has_commit_status: true,
        };
        let s = flux_statuses("Kustomization", "HealthCheckFailed", &event);
        assert_eq!(s[1].name, "health check failed");
    }

    #[test]
    fn completion_follows_the_fixed_rules() {
        let cases = [
            (
                "kustomization-reconciliation-succeeded-flux-v2",
                Some(Outcome::Success),
            ),
            ("kustomization-deletion-prune-stale-reason-flux-v2", None),
            ("kustomization-dependency-not-ready-flux-v2", None),
            ("kustomization-health-check-canceled-flux-v2.8", None),
            ("kustomization-progressing-ssa-changeset-flux-v2", None),
            ("kustomization-build-failed-flux-v2", Some(Outcome::Failure)),
            ("kustomization-prune-failed-flux-v2", Some(Outcome::Failure)),
            (
                "kustomization-artifact-failed-flux-v2",
                Some(Outcome::Failure),
            ),
            (
                "kustomization-reconciliation-failed-dry-run-flux-v2",
                Some(Outcome::Failure),
            ),
            (
                "kustomization-validation-failed-kubectl-era-flux-v0.17",
                Some(Outcome::Failure),
            ),
            ("gitrepository-fetched-revision-info-flux-v0.17", None),
        ];
        for (name, end) in cases {
            assert_eq!(flux(name).end, end, "{name}");
        }
    }

    #[test]
    fn status_names_are_cleaned_and_bounded() {
        assert_eq!(status_name("  a\nb\t c "), "a b c");
        assert_eq!(status_name("\u{7}"), "Info");
        assert_eq!(
            status_name(&"x".repeat(300)).chars().count(),
            MAX_STATUS_NAME_CHARS
        );
    }

    #[test]
    fn unknown_reasons_follow_severity() {
        let event = |severity| FluxEvent {
            severity,
            message: "m".into(),
            has_commit_status: true,
        };
        assert_eq!(
            flux_end("Kustomization", "SomethingNew", &event(Severity::Error)),
            Some(Outcome::Failure)
        );
        assert_eq!(
            flux_end("Kustomization", "SomethingNew", &event(Severity::Info)),
            None
        );
        let s = flux_statuses("Kustomization", "SomethingNew", &event(Severity::Error));
        assert_eq!(
            (s[0].state.as_str(), s[0].unknown_as),
            ("SomethingNew", Unknown::Failure)
        );
    }

    #[test]
    fn argo_counts_health_over_all_resources() {
        let r = argo("hooks-without-health-argocd3-succeeded-outofsync-healthy");
        assert_eq!(
            triples(&r),
            vec![
                (
                    "Phase",
                    "Succeeded",
                    "Succeeded: successfully synced (all tasks run)"
                ),
                ("Sync", "OutOfSync", "4/7 Synced, 1/7 OutOfSync"),
                ("Health", "Healthy", ""),
            ]
        );
        let r = argo("succeeded-synced-healthy");
        assert_eq!(r.statuses[2].message, "4/5 Healthy");
        assert_eq!(r.statuses[1].message, "5/5 Synced");
    }

    #[test]
    fn argo_completion_waits_for_running_terminating_progressing_and_suspended() {
        let cases = [
            ("succeeded-synced-healthy", Some(Outcome::Success)),
            ("succeeded-synced-degraded", Some(Outcome::Failure)),
            ("succeeded-synced-progressing", None),
            ("running-outofsync-progressing", None),
            ("running-presync-hook-outofsync-healthy", None),
            ("failed-operation-terminated-progressing", None),
            (
                "failed-hook-backoff-limit-outofsync-healthy",
                Some(Outcome::Failure),
            ),
            ("error-comparison-unknown-healthy", Some(Outcome::Failure)),
            ("succeeded-outofsync-missing", Some(Outcome::Failure)),
        ];
        for (name, end) in cases {
            assert_eq!(argo(name).end, end, "{name}");
        }
        let suspended = ArgoEvent {
            phase: "Succeeded".into(),
            sync_status: "Synced".into(),
            health: "Suspended".into(),
            message: String::new(),
            resources: vec![],
        };
        assert_eq!(argo_end(&suspended), None);
        let terminating = ArgoEvent {
            phase: "Terminating".into(),
            health: "Healthy".into(),
            ..suspended
        };
        assert_eq!(argo_end(&terminating), None);
    }
}
