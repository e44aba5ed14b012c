//! deploy/: the Kubernetes base renders, and what it renders works together: the Service reaches
//! the relay's port, one writer, probes, a locked-down pod, and every file and key the pod reads
//! exists. README quotes the example files as they are.

use serde_json::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `kubectl kustomize deploy/kubernetes`, as JSON values. `None` (SKIPPED) without kubectl,
/// except in CI, which must run it.
fn rendered() -> Option<Vec<Value>> {
    rendered_at("deploy/kubernetes")
}

fn rendered_at(dir: &str) -> Option<Vec<Value>> {
    let out = match std::process::Command::new("kubectl")
        .args(["kustomize", dir])
        .current_dir(root())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "kubectl is not installed ({e}), and CI must run this test: .ci/run installs it"
            );
            eprintln!("SKIPPED: kubectl is not installed ({e})");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "kubectl kustomize {dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let objects = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| {
            let value: serde_yaml_ng::Value = serde::Deserialize::deserialize(doc).unwrap();
            serde_json::to_value(value).unwrap()
        })
        .collect();
    Some(objects)
}

fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The keys `kubectl create secret generic gitops-connector` is given in README.
fn secret_keys_in_readme() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let at = readme
        .find("create secret generic gitops-connector")
        .expect("README shows how to create the Secret");
    let command: String = readme[at..]
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    command
        .split_whitespace()
        .filter_map(|w| {
            w.strip_prefix("--from-literal=")
                .or_else(|| w.strip_prefix("--from-file="))
        })
        .filter_map(|w| w.split_once('=').map(|(k, _)| k.to_string()))
        .collect()
}

#[test]
fn the_kubernetes_base_renders_a_locked_down_pod_with_one_writer() {
    let Some(objects) = rendered() else { return };
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    for kind in [
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let deployment = find(&objects, "Deployment")[0];
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 1, "SQLite: one writer");
    assert_eq!(
        spec["strategy"]["type"], "Recreate",
        "never two pods on the state"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_ne!(pod["securityContext"]["runAsUser"], 0);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let containers = pod["containers"].as_array().unwrap();
    for c in containers {
        let name = c["name"].as_str().unwrap();
        let security = &c["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(
            strings(&security["capabilities"]["drop"]),
            ["ALL"],
            "{name}"
        );
        assert!(c["resources"]["requests"]["cpu"].is_string(), "{name}");
        assert!(c["resources"]["requests"]["memory"].is_string(), "{name}");
    }

    // The Service reaches the relay's port, the port webhook listens on.
    let relay = containers.iter().find(|c| c["name"] == "relay").unwrap();
    let args = strings(&relay["args"]);
    let listen: u64 = args[args.iter().position(|a| *a == "-port").unwrap() + 1]
        .parse()
        .unwrap();
    let port = &relay["ports"][0];
    assert_eq!(port["containerPort"], listen);
    let service = find(&objects, "Service")[0];
    let service_port = &service["spec"]["ports"][0];
    assert_eq!(
        service_port["port"], listen,
        "Flux and Argo CD call :{listen}"
    );
    assert_eq!(service_port["targetPort"], port["name"]);
    assert_eq!(
        service["spec"]["selector"],
        spec["template"]["metadata"]["labels"]
    );
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(relay[probe]["httpGet"]["port"], port["name"], "{probe}");
    }

    // The periodic work runs in this pod, on the same state: no second writer anywhere.
    let periodic = containers.iter().find(|c| c["name"] == "periodic").unwrap();
    assert_eq!(
        strings(&periodic["command"])[1..],
        ["periodic", "--every", "60s"]
    );
    assert!(find(&objects, "CronJob").is_empty());

    // Every file the containers read is a key of what is mounted there.
    let volumes = pod["volumes"].as_array().unwrap();
    let config_maps = find(&objects, "ConfigMap");
    let keys_at = |container: &Value, path: &str| -> Vec<String> {
        let mount = container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| path.starts_with(m["mountPath"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("nothing is mounted where {path} is"));
        let volume = volumes.iter().find(|v| v["name"] == mount["name"]).unwrap();
        let name = volume["configMap"]["name"].as_str().unwrap();
        let map = config_maps
            .iter()
            .find(|m| m["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("ConfigMap {name} is not rendered"));
        map["data"].as_object().unwrap().keys().cloned().collect()
    };
    let hooks = args[args.iter().position(|a| *a == "-hooks").unwrap() + 1];
    assert!(keys_at(relay, hooks).contains(&"hooks.json".to_string()));
    for c in containers {
        let env = c["env"].as_array().unwrap();
        let config = env
            .iter()
            .find(|e| e["name"] == "GITOPS_CONNECTOR_CONFIG")
            .unwrap()["value"]
            .as_str()
            .unwrap();
        assert!(keys_at(c, config).contains(&"config.toml".to_string()));
    }

    // Every Secret key the pod uses is one README tells people to create.
    let created = secret_keys_in_readme();
    let mut used: Vec<String> = containers
        .iter()
        .flat_map(|c| c["env"].as_array().unwrap().iter())
        .filter_map(|e| e["valueFrom"]["secretKeyRef"]["key"].as_str())
        .map(str::to_string)
        .collect();
    let config = std::fs::read_to_string(root().join("deploy/kubernetes/config.toml")).unwrap();
    let config: toml::Table = config.parse().unwrap();
    used.extend(
        config
            .values()
            .filter_map(toml::Value::as_str)
            .filter_map(|v| v.strip_prefix("/var/run/secrets/gitops-connector/"))
            .map(str::to_string),
    );
    assert!(used.len() >= 3, "{used:?}");
    for key in used {
        assert!(
            created.contains(&key),
            "README's Secret lacks {key}: {created:?}"
        );
    }
}

#[test]
fn readme_quotes_the_example_files_as_they_are() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for file in [
        "deploy/kubernetes/examples/flux-notification.yaml",
        "deploy/kubernetes/examples/argocd-notifications-cm.yaml",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(
            readme.contains(&format!("```yaml\n{text}```")),
            "README's copy of {file} differs"
        );
    }
}

#[test]
fn the_workload_identity_overlay_gives_the_pod_an_identity_and_no_pat() {
    let Some(objects) = rendered_at("deploy/overlays/workload-identity") else {
        return;
    };
    let account = find(&objects, "ServiceAccount")[0];
    assert!(account["metadata"]["annotations"]["azure.workload.identity/client-id"].is_string());
    let deployment = find(&objects, "Deployment")[0];
    let template = &deployment["spec"]["template"];
    assert_eq!(
        template["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );
    assert_eq!(
        template["spec"]["serviceAccountName"],
        account["metadata"]["name"]
    );
    let maps = find(&objects, "ConfigMap");
    let config = maps
        .iter()
        .find_map(|m| m["data"]["config.toml"].as_str())
        .unwrap();
    let config: toml::Table = config.parse().unwrap();
    assert_eq!(config["azure_auth"].as_str(), Some("workload-identity"));
    assert!(!config.contains_key("token_file"), "no PAT to mount");
    // The volume the Deployment mounts is the replaced ConfigMap.
    let volume = template["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "config")
        .unwrap();
    let name = volume["configMap"]["name"].as_str().unwrap();
    assert!(maps.iter().any(|m| m["metadata"]["name"] == name
        && m["data"]["config.toml"]
            .as_str()
            .unwrap()
            .contains("workload-identity")));
}

/// Every volume a pod spec mounts is one it declares.
fn mounts_resolve(pod: &Value) {
    let volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for container in pod["containers"].as_array().unwrap() {
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let name = mount["name"].as_str().unwrap();
            assert!(
                volumes.contains(&name),
                "{name} is mounted but not declared"
            );
        }
    }
}

/// The state URL from the Secret, and the password file inside the Secret's mount.
fn takes_the_postgres_state(container: &Value) {
    let env = container["env"].as_array().unwrap();
    let var = |name: &str| env.iter().find(|e| e["name"] == name).unwrap();
    let url = &var("GITOPS_CONNECTOR_STATE")["valueFrom"]["secretKeyRef"];
    assert_eq!(
        (url["name"].as_str(), url["key"].as_str()),
        (Some("gitops-connector-postgres"), Some("url"))
    );
    let file = var("GITOPS_CONNECTOR_STATE_PASSWORD_FILE")["value"]
        .as_str()
        .unwrap();
    let mounts = container["volumeMounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["name"] == "postgres" && file.starts_with(m["mountPath"].as_str().unwrap())),
        "{file} is not in the Secret's mount"
    );
}

#[test]
fn the_postgres_overlay_runs_replicas_and_the_periodic_work_as_a_cronjob() {
    let Some(objects) = rendered_at("deploy/overlays/postgres") else {
        return;
    };
    assert!(
        find(&objects, "PersistentVolumeClaim").is_empty(),
        "no volume for a SQLite file"
    );
    let deployment = find(&objects, "Deployment")[0];
    let spec = &deployment["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2);
    assert_eq!(spec["strategy"]["type"], "RollingUpdate");
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
    let pod = &spec["template"]["spec"];
    let containers = pod["containers"].as_array().unwrap();
    let names: Vec<&str> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["relay"], "the periodic work left the pod");
    takes_the_postgres_state(&containers[0]);
    mounts_resolve(pod);
    assert!(pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["name"] != "state"));

    let cronjob = find(&objects, "CronJob")[0];
    assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
    let job_pod = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let periodic = &job_pod["containers"][0];
    assert_eq!(
        strings(&periodic["command"]),
        ["/usr/local/bin/gitops-connector", "periodic"]
    );
    takes_the_postgres_state(periodic);
    mounts_resolve(job_pod);
    assert_eq!(job_pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(periodic["securityContext"]["readOnlyRootFilesystem"], true);

    // Both read the generated configuration, which names no SQLite path.
    let maps = find(&objects, "ConfigMap");
    let config_of = |pod: &Value| {
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "config")
            .unwrap();
        let name = volume["configMap"]["name"].as_str().unwrap().to_string();
        maps.iter()
            .find(|m| m["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no ConfigMap {name}"))["data"]["config.toml"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let config = config_of(pod);
    assert_eq!(config, config_of(job_pod));
    let config: toml::Table = config.parse().unwrap();
    assert!(
        !config.contains_key("state"),
        "the state is the Secret's URL"
    );
    assert_eq!(
        find(&objects, "PodDisruptionBudget")[0]["spec"]["minAvailable"],
        1
    );
}
