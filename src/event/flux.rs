//! Flux notification-controller events (`generic` / `generic-hmac` providers), PROTOCOL §1.

use super::json::{self, Object};
use super::revision::{commit_of_revision, CommitId};
use super::{Detail, Event, FluxEvent, Header, Ignored, Invalid, Operator, Parsed, Severity};
use serde_json::Value;

/// Where a revision may stand in `metadata`, most specific first.
const REVISION_KEYS: [&str; 4] = [
    "originRevision",
    "revision",
    "kustomize.toolkit.fluxcd.io/revision",
    "source.toolkit.fluxcd.io/revision",
];

pub fn parse(body: &Object) -> Result<Parsed, Invalid> {
    let object = json::object(body, "", "involvedObject")?;
    let kind = json::string(object, "involvedObject", "kind")?;
    let name = json::opt_string(object, "involvedObject", "name")?.unwrap_or("");
    let namespace = json::opt_string(object, "involvedObject", "namespace")?.unwrap_or("");
    let reason = json::string(body, "", "reason")?;
    let message = json::string(body, "", "message")?;
    let severity = match json::string(body, "", "severity")? {
        "error" => Severity::Error,
        // Flux only sends info and error; anything else is informational.
        _ => Severity::Info,
    };
    let timestamp = json::opt_string(body, "", "timestamp")?;
    let metadata = metadata(body)?;

    let header = Header {
        operator: Operator::Flux,
        instance: get(&metadata, "gitops_connector_config_name").map(str::to_string),
        kind: kind.to_string(),
        source: Some(format!("{namespace}/{name}")),
        reason: reason.to_string(),
        environment: super::environment(get(&metadata, "environment"))?,
    };
    let ignore = |why: String| {
        Ok(Parsed::Ignored(Ignored {
            header: header.clone(),
            why,
        }))
    };

    match kind {
        "GitRepository" if reason == "NewArtifact" => {
            return ignore("GitRepository NewArtifact events only announce a download".into())
        }
        "Kustomization" | "GitRepository" => {}
        other => {
            return ignore(format!(
                "Flux kind {other} is not a deployment we report on"
            ))
        }
    }

    let commit = match find_commit(&metadata, message) {
        Ok(commit) => commit,
        Err(why) => return ignore(why),
    };
    Ok(Parsed::Event(Event {
        time: timestamp.and_then(super::time::parse_rfc3339),
        commit,
        detail: Detail::Flux(FluxEvent {
            severity,
            message: message.to_string(),
            has_commit_status: get(&metadata, "commit_status").is_some(),
        }),
        header,
        repaired: false,
    }))
}

/// `metadata` as a string map; Flux leaves it out when empty.
fn metadata(body: &Object) -> Result<Vec<(&str, &str)>, Invalid> {
    match body.get("metadata") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.as_str(), s.as_str())),
                other => Err(Invalid(format!(
                    "field `metadata.{k}` must be a string, not a {}",
                    json::type_name(other)
                ))),
            })
            .collect(),
        Some(other) => Err(Invalid(format!(
            "field `metadata` must be an object, not a {}",
            json::type_name(other)
        ))),
    }
}

type Metadata<'a> = [(&'a str, &'a str)];

fn get<'a>(metadata: &Metadata<'a>, key: &str) -> Option<&'a str> {
    metadata.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The revision rules of PROTOCOL §1, in order. `Err` says why there is no commit.
fn find_commit(metadata: &Metadata, message: &str) -> Result<CommitId, String> {
    // Users set `commit` through an annotation: a bare sha by design.
    if let Some(commit) = get(metadata, "commit") {
        return CommitId::parse(commit.trim())
            .ok_or_else(|| format!("metadata.commit {commit:?} is not a 40-hex git commit id"));
    }
    if let Some(revision) = REVISION_KEYS.iter().find_map(|k| get(metadata, k)) {
        return commit_of_revision(revision).map_err(|e| e.to_string());
    }
    // Old GitRepository events carry the revision only in their message.
    let fetched = message
        .strip_prefix("Fetched revision: ")
        .or_else(|| get(metadata, "message").and_then(|m| m.strip_prefix("Fetched revision: ")));
    match fetched {
        Some(revision) => commit_of_revision(revision).map_err(|e| e.to_string()),
        None => Err("the event names no revision".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse as parse_bytes;
    use super::*;

    fn fixture(name: &str) -> Parsed {
        let path = format!(
            "{}/tests/fixtures/flux/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        parse_bytes(&std::fs::read(path).unwrap()).unwrap()
    }

    fn event(name: &str) -> Event {
        match fixture(name) {
            Parsed::Event(e) => e,
            Parsed::Ignored(i) => panic!("{name} ignored: {}", i.why),
        }
    }

    fn why_ignored(name: &str) -> String {
        match fixture(name) {
            Parsed::Ignored(i) => i.why,
            Parsed::Event(e) => panic!("{name} was handled: {e:?}"),
        }
    }

    #[test]
    fn new_style_revision_gives_the_commit_and_time() {
        let e = event("kustomization-reconciliation-succeeded-flux-v2");
        assert_eq!(
            e.commit.as_str(),
            "1eabc9a41ca088515cab83f1cce49eb43e84b67f"
        );
        assert_eq!(e.header.source.as_deref(), Some("flux-system/apps"));
        assert!(e.time.is_some());
        let Detail::Flux(f) = e.detail else { panic!() };
        assert!(f.has_commit_status);
    }

    #[test]
    fn metadata_commit_wins_over_revision_and_names_the_instance() {
        let e = event("kustomization-reconciliation-succeeded-custom-metadata-flux-v2.5");
        assert_eq!(
            e.commit.as_str(),
            "e3b1c4d5f6a7980b1c2d3e4f5a6b7c8d9e0f1a2b"
        );
        assert_eq!(e.header.instance.as_deref(), Some("prod-eu"));
    }

    #[test]
    fn old_gitrepository_events_take_the_revision_from_the_message() {
        let e = event("gitrepository-fetched-revision-info-flux-v0.17");
        assert_eq!(
            e.commit.as_str(),
            "5394cb7f48332b2de7c17dd8b8384bbc84b7e738"
        );
        assert_eq!(e.header.reason, "info");
    }

    #[test]
    fn kinds_and_revisions_that_are_not_ours_are_ignored_with_a_reason() {
        assert!(why_ignored("helmrelease-upgrade-succeeded-flux-v2").contains("HelmRelease"));
        assert!(why_ignored("helmchart-chart-package-succeeded-flux-v2").contains("HelmChart"));
        assert!(why_ignored("ocirepository-new-artifact-flux-v2.6").contains("OCIRepository"));
        assert!(why_ignored("gitrepository-new-artifact-flux-v2").contains("NewArtifact"));
        assert!(why_ignored(
            "kustomization-reconciliation-succeeded-bucket-sha256-revision-flux-v2"
        )
        .contains("digest"));
        assert!(why_ignored("gitrepository-error-reason-flux-v0.17").contains("no revision"));
    }

    #[test]
    fn a_bare_checksum_revision_is_ignored() {
        let body = br#"{"involvedObject":{"kind":"Kustomization","namespace":"n","name":"a"},"severity":"info","timestamp":"2021-01-01T00:00:00Z","message":"x","reason":"ReconciliationSucceeded","metadata":{"revision":"5394cb7f48332b2de7c17dd8b8384bbc84b7e738"}}"#;
        match parse_bytes(body).unwrap() {
            Parsed::Ignored(i) => assert!(i.why.contains("checksum"), "{}", i.why),
            other @ Parsed::Event(_) => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        let body = br#"{"involvedObject":{"kind":5},"severity":"info","message":"m","reason":"r"}"#;
        assert_eq!(
            parse_bytes(body).unwrap_err().0,
            "field `involvedObject.kind` must be a string, not a number"
        );
        let body =
            br#"{"involvedObject":{"kind":"Kustomization"},"severity":"info","message":"m"}"#;
        assert_eq!(
            parse_bytes(body).unwrap_err().0,
            "field `reason` is missing"
        );
        let body = br#"{"involvedObject":{"kind":"Kustomization"},"severity":"info","message":"m","reason":"r","metadata":{"revision":1}}"#;
        assert!(parse_bytes(body)
            .unwrap_err()
            .0
            .contains("metadata.revision"));
    }
}
