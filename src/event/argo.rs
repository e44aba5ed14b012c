//! Argo CD notifications (`webhook` service with the template of the reference README), PROTOCOL §1.

use super::json::{self, Object};
use super::revision::CommitId;
use super::{ArgoEvent, ArgoResource, Detail, Event, Header, Ignored, Invalid, Operator, Parsed};
use serde_json::Value;

/// The template's keys, each starting a line, in the template's order.
const TEMPLATE_KEYS: [&str; 6] = [
    "\"commitid\":",
    "\"phase\":",
    "\"sync_status\":",
    "\"health\":",
    "\"message\":",
    "\"resources\":",
];

pub fn parse(body: &Object, repaired: bool) -> Result<Parsed, Invalid> {
    let commitid = json::string(body, "", "commitid")?;
    let phase = json::string(body, "", "phase")?;
    let sync_status = json::string(body, "", "sync_status")?;
    let health = json::string(body, "", "health")?;
    let message = json::string(body, "", "message")?;
    let header = Header {
        operator: Operator::ArgoCd,
        instance: json::opt_string(body, "", "gitops_connector_config_name")?.map(str::to_string),
        kind: "Application".into(),
        // Not in the reference template: users add `"application": "{{.app.metadata.name}}"`
        // when an instance requires several applications to succeed.
        source: json::opt_string(body, "", "application")?.map(str::to_string),
        reason: phase.to_string(),
        environment: super::environment(json::opt_string(body, "", "environment")?)?,
    };
    let resources = match body.get("resources") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| resource(i, item))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Null) => {
            return Ok(Parsed::Ignored(Ignored {
                header,
                why: "resources is null: the application has no resource status yet".into(),
            }))
        }
        Some(other) => {
            return Err(Invalid(format!(
                "field `resources` must be an array, not a {}",
                json::type_name(other)
            )))
        }
        None => return Err(Invalid("field `resources` is missing".into())),
    };
    let Some(commit) = CommitId::parse(commitid.trim()) else {
        let why = match commitid.trim() {
            "" => "commitid is empty: the application was never synced".to_string(),
            "<no value>" => {
                "commitid is <no value>: never synced, or a multi-source application".to_string()
            }
            other => {
                format!("commitid {other:?} is not a 40-hex git commit (chart version or digest)")
            }
        };
        return Ok(Parsed::Ignored(Ignored { header, why }));
    };
    Ok(Parsed::Event(Event {
        header,
        commit,
        time: None,
        detail: Detail::Argo(ArgoEvent {
            phase: phase.to_string(),
            sync_status: sync_status.to_string(),
            health: health.to_string(),
            message: message.to_string(),
            resources,
        }),
        repaired,
    }))
}

fn resource(index: usize, item: &Value) -> Result<ArgoResource, Invalid> {
    let path = format!("resources[{index}]");
    let Value::Object(obj) = item else {
        return Err(Invalid(format!(
            "field `{path}` must be an object, not a {}",
            json::type_name(item)
        )));
    };
    let health = match obj.get("health") {
        None | Some(Value::Null) => None,
        Some(Value::Object(h)) => json::opt_string(h, &format!("{path}.health"), "status")?,
        Some(other) => {
            return Err(Invalid(format!(
                "field `{path}.health` must be an object, not a {}",
                json::type_name(other)
            )))
        }
    };
    Ok(ArgoResource {
        sync: json::opt_string(obj, &path, "status")?.map(str::to_string),
        health: health.map(str::to_string),
    })
}

/// The reference template does not escape `message`, so a quote or a newline in it breaks the
/// JSON. When the body has the template's shape, the message is the raw text between
/// `"message": "` and the last `",` before the `"resources":` line; escape it and parse again.
pub fn repair(text: &str) -> Option<Object> {
    let mut line_starts = Vec::with_capacity(TEMPLATE_KEYS.len());
    let mut offset = 0;
    let mut next_key = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if next_key < TEMPLATE_KEYS.len() && trimmed.starts_with(TEMPLATE_KEYS[next_key]) {
            line_starts.push(offset + (line.len() - trimmed.len()));
            next_key += 1;
        }
        offset += line.len();
    }
    if next_key != TEMPLATE_KEYS.len() {
        return None;
    }
    let message_line = line_starts[4];
    let resources_line = line_starts[5];
    let opening = text[message_line..resources_line].find("\"message\": \"")?;
    let start = message_line + opening + "\"message\": \"".len();
    let end = start + text[start..resources_line].rfind("\",")?;
    let escaped = serde_json::to_string(&text[start..end]).ok()?;
    let rebuilt = format!("{}{}{}", &text[..start - 1], escaped, &text[end + 1..]);
    match serde_json::from_str(&rebuilt) {
        Ok(Value::Object(body)) => Some(body),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse as parse_bytes;
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = format!("{}/tests/fixtures/argo", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(format!("{dir}/{name}")).unwrap()
    }

    fn argo(parsed: Parsed) -> (Event, ArgoEvent) {
        match parsed {
            Parsed::Event(e) => match e.detail.clone() {
                Detail::Argo(a) => (e, a),
                Detail::Flux(_) => panic!("not argo"),
            },
            Parsed::Ignored(i) => panic!("ignored: {}", i.why),
        }
    }

    #[test]
    fn a_healthy_sync_reads_every_field() {
        let (e, a) = argo(parse_bytes(&fixture("succeeded-synced-healthy.json")).unwrap());
        assert_eq!(
            e.commit.as_str(),
            "415191f752dbb3b33e1229fc612c32b428acefd7"
        );
        assert_eq!(a.phase, "Succeeded");
        assert_eq!(a.health, "Healthy");
        assert!(!e.repaired);
        assert!(e.time.is_none());
    }

    #[test]
    fn the_unescaped_template_message_is_repaired() {
        let (e, a) =
            argo(parse_bytes(&fixture("failed-apply-unescaped-quote-INVALID.txt")).unwrap());
        assert!(e.repaired);
        assert_eq!(
            a.message,
            "one or more objects failed to apply, reason: Deployment.apps \"guestbook-ui\" is invalid: spec.template.spec.containers[0].image: Required value"
        );
        assert_eq!(a.resources.len(), 5);
    }

    #[test]
    fn a_raw_newline_in_the_message_is_repaired_too() {
        let body = "{\n  \"commitid\": \"415191f752dbb3b33e1229fc612c32b428acefd7\",\n  \"phase\": \"Failed\",\n  \"sync_status\": \"OutOfSync\",\n  \"health\": \"Degraded\",\n  \"message\": \"line one\nline \"two\", end\",\n  \"resources\": []\n}\n";
        let (_, a) = argo(parse_bytes(body.as_bytes()).unwrap());
        assert_eq!(a.message, "line one\nline \"two\", end");
    }

    #[test]
    fn broken_json_without_the_template_shape_is_invalid() {
        let body = "{\"commitid\": \"x\", \"message\": \"a \"b\" c\"}";
        assert!(parse_bytes(body.as_bytes())
            .unwrap_err()
            .0
            .contains("not valid JSON"));
    }

    #[test]
    fn no_commit_and_null_resources_are_ignored() {
        for name in [
            "no-value-never-synced-outofsync-missing.json",
            "multi-source-no-value-succeeded-synced-healthy.json",
            "helm-chart-version-revision-succeeded-synced-healthy.json",
            "resources-null-succeeded-synced-healthy.json",
        ] {
            assert!(
                matches!(parse_bytes(&fixture(name)).unwrap(), Parsed::Ignored(_)),
                "{name}"
            );
        }
    }

    #[test]
    fn empty_resources_are_valid() {
        let (_, a) = argo(parse_bytes(&fixture("resources-empty-SYNTHETIC.json")).unwrap());
        assert!(a.resources.is_empty());
    }

    #[test]
    fn the_config_name_selects_an_instance() {
        let parsed = parse_bytes(&fixture("config-name-succeeded-synced-healthy.json")).unwrap();
        assert_eq!(parsed.header().instance.as_deref(), Some("prod-eu"));
    }

    #[test]
    fn wrong_resource_shapes_name_the_field() {
        let body = br#"{"commitid":"415191f752dbb3b33e1229fc612c32b428acefd7","phase":"Running","sync_status":"Synced","health":"Healthy","message":"","resources":[{},{"health":"Healthy"}]}"#;
        assert_eq!(
            parse_bytes(body).unwrap_err().0,
            "field `resources[1].health` must be an object, not a string"
        );
    }
}
