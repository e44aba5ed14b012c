//! Events near the 10 MiB limit, shared by the request-bound test and the benchmark's time bound.

/// Near the 10 MiB limit, for each kind of list an event carries: a change set, a health-check
/// list, Argo CD resources.
use std::fmt::Write as _;

pub fn sizes(sha: &str, argo_sha: &str) -> Vec<(&'static str, Vec<u8>)> {
    let target = 9 * 1024 * 1024;
    let flux = |reason: &str, message: String| {
        serde_json::to_vec(&serde_json::json!({
            "involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": "apps"},
            "severity": "info", "timestamp": "2025-06-02T09:14:22Z", "message": message, "reason": reason,
            "metadata": {"revision": format!("main@sha1:{sha}")},
            "reportingController": "kustomize-controller", "reportingInstance": "k"
        }))
        .unwrap()
    };
    let mut change_set = String::new();
    let mut i = 0;
    while change_set.len() < target {
        let _ = writeln!(change_set, "Kind{i}/ns/name configured");
        i += 1;
    }
    let mut objects = Vec::new();
    let mut size = 0;
    while size < target {
        let object = format!("Deployment/ns/app{} status: 'InProgress'", objects.len());
        size += object.len() + 2;
        objects.push(object);
    }
    let health = format!(
        "health check failed after 5m: timeout waiting for: [{}]",
        objects.join(", ")
    );
    let mut resources = Vec::new();
    let mut size = 0;
    while size < target {
        let r = serde_json::json!({"kind": format!("K{}", resources.len()), "name": "x", "status": format!("S{}", resources.len()),
            "health": {"status": format!("H{}", resources.len())}});
        size += r.to_string().len() + 1;
        resources.push(r);
    }
    let argo = serde_json::to_vec(&serde_json::json!({
        "commitid": argo_sha, "phase": "Succeeded", "sync_status": "Synced", "health": "Healthy",
        "message": "ok", "resources": resources
    }))
    .unwrap();
    vec![
        ("change set", flux("Progressing", change_set)),
        ("health-check list", flux("HealthCheckFailed", health)),
        ("Argo CD resources", argo),
    ]
}
