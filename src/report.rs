//! event → commit statuses and deployment outcome (PROTOCOL §2–3). Pure.
//!
//! States stay in the operator's words here; each Git host maps them (see `hosts`).

use crate::event::{ArgoEvent, CommitId, Detail, Event, FluxEvent, Severity};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The most detail statuses (resource groups, failing objects) one event posts. GitHub keeps at
/// most 1 000 statuses per commit and context and rate-limits bursts of writes: a change set of
/// thousands of kinds must not become a flood. What is past the bound is summed up in one status
/// named [`MORE`].
pub const MAX_DETAIL_STATUSES: usize = 50;

/// The name of the status that sums up what is past [`MAX_DETAIL_STATUSES`].
pub const MORE: &str = "more";

/// The most distinct values an Argo CD count message lists (`3/5 Healthy, …`).
pub const MAX_COUNTED_VALUES: usize = 20;

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
    /// The environment the status is about; its name then starts with `<environment>/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
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
    // Contexts of different environments never collide: `prod-eu/Status`. Without an
    // environment the names stay exactly the reference's.
    let environment = &event.header.environment;
    for status in &mut statuses {
        status.name = match environment {
            Some(env) => status_name(&format!("{env}/{}", status.name)),
            None => status_name(&status.name),
        };
        status.environment.clone_from(environment);
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
        environment: None,
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
            let mut failing = failing_objects(&flux.message);
            if failing.is_empty() {
                statuses.push(status(&flux.message, reason, "Health Check Failed"));
            }
            let rest = match failing.len() {
                n if n > MAX_DETAIL_STATUSES => failing.split_off(MAX_DETAIL_STATUSES - 1),
                _ => Vec::new(),
            };
            for object in failing {
                statuses.push(status(object, reason, "Health Check Failed"));
            }
            if !rest.is_empty() {
                let more = format!("Health Check Failed: … and {} more objects", rest.len());
                statuses.push(status(MORE, reason, &more));
            }
        }
        _ => {}
    }
    statuses
}

/// A change set (`Deployment/apps/podinfo configured` per line) → one status per group, then
/// `warnings`. A line of any other shape makes the whole summary one `Info` status. Linear in
/// the message; past [`MAX_DETAIL_STATUSES`] groups, the rest are summed up in one status.
fn change_set_summary(message: &str) -> Vec<(String, &'static str, String)> {
    let mut groups: Vec<(&str, Tally)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut warnings = 0;
    for line in message.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with("Warning") {
            warnings += 1;
            continue;
        }
        let mut words = line.split(' ');
        let (Some(object), Some(action), None) = (words.next(), words.next(), words.next()) else {
            return vec![("Info".into(), "NotApplicable", message.to_string())];
        };
        if object.is_empty() || action.is_empty() {
            return vec![("Info".into(), "NotApplicable", message.to_string())];
        }
        let group = object.split('/').next().unwrap_or(object);
        let at = *index.entry(group).or_insert_with(|| {
            groups.push((group, Tally::default()));
            groups.len() - 1
        });
        groups[at].1.add(action);
    }
    let shown = if groups.len() > MAX_DETAIL_STATUSES {
        MAX_DETAIL_STATUSES - 1
    } else {
        groups.len()
    };
    let rest = groups.split_off(shown);
    let mut summary: Vec<_> = groups
        .into_iter()
        .map(|(group, tally)| (group.to_string(), "NotApplicable", tally.to_string()))
        .collect();
    if !rest.is_empty() {
        let mut all = Tally::default();
        for (_, tally) in &rest {
            for (action, n) in &tally.counts {
                all.add_n(action, *n);
            }
        }
        summary.push((
            MORE.into(),
            "NotApplicable",
            format!("… and {} more groups: {all}", rest.len()),
        ));
    }
    if warnings > 0 {
        summary.push((
            "warnings".into(),
            "NotApplicable",
            format!("Warnings: {warnings}"),
        ));
    }
    summary
}

/// Counts of words in the order each first appears: `2 configured, 1 unchanged`.
#[derive(Default)]
struct Tally<'a> {
    counts: Vec<(&'a str, usize)>,
    index: HashMap<&'a str, usize>,
}

impl<'a> Tally<'a> {
    fn add(&mut self, word: &'a str) {
        self.add_n(word, 1);
    }

    fn add_n(&mut self, word: &'a str, n: usize) {
        let counts = &mut self.counts;
        let at = *self.index.entry(word).or_insert_with(|| {
            counts.push((word, 0));
            counts.len() - 1
        });
        self.counts[at].1 += n;
    }
}

impl std::fmt::Display for Tally<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (word, n)) in self.counts.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n} {word}")?;
        }
        Ok(())
    }
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
        environment: None,
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
/// Linear; past [`MAX_COUNTED_VALUES`] distinct values, the rest are counted together.
fn fractions<'a>(values: impl Iterator<Item = &'a str>, total: usize) -> String {
    let mut tally = Tally::default();
    for value in values {
        tally.add(value);
    }
    let mut parts: Vec<String> = tally
        .counts
        .iter()
        .take(MAX_COUNTED_VALUES)
        .map(|(v, n)| format!("{n}/{total} {v}"))
        .collect();
    let rest = &tally.counts[tally.counts.len().min(MAX_COUNTED_VALUES)..];
    if !rest.is_empty() {
        let n: usize = rest.iter().map(|(_, n)| n).sum();
        parts.push(format!("{n}/{total} in {} other states", rest.len()));
    }
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

    fn flux_event(reason: &str, message: &str) -> Event {
        let body = serde_json::json!({
            "involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": "apps"},
            "severity": "info", "timestamp": "2025-06-02T09:14:22Z", "message": message,
            "reason": reason, "metadata": {"revision": "main@sha1:1eabc9a41ca088515cab83f1cce49eb43e84b67f"},
            "reportingController": "kustomize-controller", "reportingInstance": "k"
        });
        match parse(body.to_string().as_bytes()).unwrap() {
            Parsed::Event(e) => e,
            Parsed::Ignored(i) => panic!("{}", i.why),
        }
    }

    #[test]
    fn a_change_set_of_thousands_of_kinds_is_bounded_and_summed_up() {
        let lines: Vec<String> = (0..80_000)
            .map(|i| format!("Kind{i}/ns/name configured"))
            .chain(std::iter::once("Kind0/ns/other created".into()))
            .collect();
        let r = report(&flux_event("Progressing", &lines.join("\n")));
        // Status, the groups, Status again.
        assert_eq!(r.statuses.len(), MAX_DETAIL_STATUSES + 2);
        assert_eq!(r.statuses[1].message, "1 configured, 1 created");
        let more = &r.statuses[MAX_DETAIL_STATUSES];
        assert_eq!(more.name, MORE);
        assert_eq!(
            more.message,
            format!(
                "… and {} more groups: {} configured",
                80_000 - (MAX_DETAIL_STATUSES - 1),
                80_000 - (MAX_DETAIL_STATUSES - 1)
            )
        );
    }

    #[test]
    fn a_health_check_list_of_thousands_of_objects_is_bounded() {
        let objects: Vec<String> = (0..10_000)
            .map(|i| format!("Deployment/ns/app{i} status: 'InProgress'"))
            .collect();
        let message = format!(
            "health check failed after 5m: timeout waiting for: [{}]",
            objects.join(", ")
        );
        let r = report(&flux_event("HealthCheckFailed", &message));
        assert_eq!(r.statuses.len(), 1 + MAX_DETAIL_STATUSES);
        let more = r.statuses.last().unwrap();
        assert_eq!(more.name, MORE);
        assert!(more.message.ends_with(&format!(
            "and {} more objects",
            10_000 - (MAX_DETAIL_STATUSES - 1)
        )));
    }

    #[test]
    fn argo_counts_of_many_distinct_states_are_bounded() {
        let values: Vec<&str> = (0..1000)
            .map(|i| if i % 2 == 0 { "Healthy" } else { "Odd" })
            .collect();
        assert_eq!(
            fractions(values.into_iter(), 1000),
            "500/1000 Healthy, 500/1000 Odd"
        );
        let many: Vec<String> = (0..5000).map(|i| format!("S{i}")).collect();
        let text = fractions(many.iter().map(String::as_str), 5000);
        assert_eq!(text.matches(", ").count(), MAX_COUNTED_VALUES);
        assert!(text.ends_with(&format!(
            "{}/5000 in {} other states",
            5000 - MAX_COUNTED_VALUES,
            5000 - MAX_COUNTED_VALUES
        )));
    }
}
