use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn reference_env() -> BTreeMap<String, String> {
    env(&[
        ("GIT_REPOSITORY_TYPE", "GITHUB"),
        ("CICD_ORCHESTRATOR_TYPE", "GITHUB"),
        ("GITOPS_OPERATOR_TYPE", "FLUX"),
        ("GITOPS_APP_URL", "https://github.com/org/manifests/commit"),
        ("GITHUB_ORG_URL", "https://api.github.com/repos/org"),
        ("GITHUB_GITOPS_REPO_NAME", "app"),
        ("GITHUB_GITOPS_MANIFEST_REPO_NAME", "manifests"),
        ("PAT", "ghp_secret"),
    ])
}

#[allow(clippy::unnecessary_wraps)] // the shape `resolve` takes
fn file(text: &str) -> Option<(PathBuf, String)> {
    Some((PathBuf::from("/etc/gc.toml"), text.to_string()))
}

#[test]
fn the_reference_environment_alone_makes_the_default_instance() {
    let config = resolve(None, &reference_env(), &Flags::default()).unwrap();
    let instance = config.select(None, None).unwrap();
    assert_eq!(instance.name, "default");
    assert_eq!(
        config.select(None, Some("prod-eu")).unwrap().name,
        "default",
        "a single instance takes every event"
    );
    assert_eq!(
        format!("{:?}", instance.git),
        r#"Statuses { repo: Repo { api: "https://api.github.com", owner: "org", repo: "manifests" } }"#
    );
    let orchestrator = format!("{:?}", instance.orchestrator);
    assert!(orchestrator.starts_with("Actions {"), "{orchestrator}");
    assert!(
        orchestrator.contains(r#"actions_repo: "app""#),
        "{orchestrator}"
    );
    assert!(
        orchestrator.contains(r#"dispatch_event: "sync-success""#),
        "{orchestrator}"
    );
    assert_eq!(instance.git_token.as_ref().unwrap().expose(), "ghp_secret");
    assert_eq!(instance.operator, Some(Operator::Flux));
    assert_eq!(config.budget, Duration::from_secs(10));
}

#[test]
fn environment_overrides_the_file_and_flags_override_both() {
    let toml = "state = \"/file.db\"\n[instances.prod]\ngit_host = \"azdo\"\norchestrator = \"azdo\"\nazdo_org_url = \"https://dev.azure.com/o/p\"\nazdo_manifests_repo = \"from-file\"\n";
    let e = env(&[
        ("AZDO_GITOPS_REPO_NAME", "from-env"),
        ("GITOPS_CONNECTOR_STATE", "/env.db"),
    ]);
    let config = resolve(file(toml), &e, &Flags::default()).unwrap();
    assert_eq!(config.state, Some(PathBuf::from("/env.db")));
    let prod = config.select(None, None).unwrap();
    assert_eq!(
        format!("{:?}", prod.git),
        r#"Statuses { repo: Repo { org_url: "https://dev.azure.com/o/p", repo: "from-env" } }"#
    );
    assert_eq!(
        config.layers.instances["prod"]["azdo_manifests_repo"].source,
        Source::Env("AZDO_GITOPS_REPO_NAME")
    );
    let flags = Flags {
        state: Some("/flag.db".into()),
        budget_seconds: Some(3),
    };
    let config = resolve(file(toml), &e, &flags).unwrap();
    assert_eq!(config.state, Some(PathBuf::from("/flag.db")));
    assert_eq!(config.budget, Duration::from_secs(3));
}

#[test]
fn several_instances_are_chosen_by_flag_or_event() {
    let toml = r#"
[instances.a]
git_host = "github"
orchestrator = "github"
github_org_url = "https://ghe.example.com/api/v3/repos/team"
github_manifests_repo = "m"
github_actions_repo = "x"
[instances.b]
git_host = "azdo"
orchestrator = "azdo"
azdo_org_url = "https://dev.azure.com/o/p"
azdo_manifests_repo = "m"
azdo_pr_repo = "hld"
"#;
    let config = resolve(file(toml), &BTreeMap::new(), &Flags::default()).unwrap();
    assert!(config
        .select(None, None)
        .unwrap_err()
        .0
        .contains("--instance"));
    assert_eq!(config.select(None, Some("b")).unwrap().name, "b");
    assert_eq!(config.select(Some("a"), Some("b")).unwrap().name, "a");
    assert!(config
        .select(None, Some("c"))
        .unwrap_err()
        .0
        .contains("configured: a, b"));
    let git = format!("{:?}", config.select(Some("a"), None).unwrap().git);
    assert!(
        git.contains(r#"api: "https://ghe.example.com/api/v3""#),
        "{git}"
    );
    let pipelines = format!("{:?}", config.select(Some("b"), None).unwrap().orchestrator);
    assert!(pipelines.starts_with("Pipelines {"), "{pipelines}");
    assert!(pipelines.contains(r#"pr_repo: "hld""#), "{pipelines}");
}

#[test]
fn invalid_values_name_the_key_and_what_is_valid() {
    let cases = [
        ("git_host = \"perforce\"\norchestrator = \"github\"", "git_host \"perforce\" is not github, azdo, gitea, gitlab, bitbucket or bitbucket-server"),
        ("orchestrator = \"github\"", "`git_host` (env GIT_REPOSITORY_TYPE) is required"),
        ("colour = 1", "unknown key `colour`"),
        ("git_host = 1", "`git_host` must be a string"),
        ("git_host = \"github\"\norchestrator = \"github\"\ngithub_org_url = \"https://api.github.com/org\"", "must look like https://api.github.com/repos/OWNER"),
        ("git_host = \"azdo\"\norchestrator = \"azdo\"\nazdo_org_url = \"ftp://x\"", "`azdo_org_url` \"ftp://x\" is not an http(s) URL"),
        ("[subscribers]\ns = \"https://s.example\"\ngithub_deployments = true", "`subscribers.github_deployments` must be a URL string; keys written after the [subscribers] header belong to that table"),
        ("git_host = \"azdo\"\norchestrator = \"azdo\"\nazdo_org_url = \"https://dev.azure.com/o/p\"\nazdo_manifests_repo = \"m\"\ngithub_deployments = true", "github_deployments = true needs a Git host that keeps deployments: git_host = github"),
    ];
    for (toml, expected) in cases {
        let e = resolve(file(toml), &BTreeMap::new(), &Flags::default()).unwrap_err();
        assert!(e.0.contains(expected), "{toml}: {}", e.0);
        assert!(!e.0.contains('\n'), "one line: {}", e.0);
    }
}

#[test]
fn a_syntax_error_keeps_tomls_own_pointer_at_the_line() {
    let e = resolve(
        file("git_host = \"github\"\n[instances"),
        &BTreeMap::new(),
        &Flags::default(),
    )
    .unwrap_err();
    assert!(
        e.0.starts_with("/etc/gc.toml: TOML parse error at line 2, column 11"),
        "{}",
        e.0
    );
    assert!(e.0.contains("[instances\n  |           ^"), "{}", e.0);
}

#[test]
fn a_misspelt_key_gets_the_nearest_one() {
    for (toml, hint) in [
        (
            "gti_host = \"github\"",
            "unknown key `gti_host`; did you mean `git_host`?",
        ),
        (
            "[instances.eu]\nazdo_pr_rep = \"x\"",
            "unknown key `instances.eu.azdo_pr_rep`; did you mean `azdo_pr_repo`?",
        ),
        ("retention_day = 3", "did you mean `retention_days`?"),
        (
            "colour = 1",
            "unknown key `colour`; the keys are listed in README's Configuration section",
        ),
    ] {
        let e = resolve(file(toml), &BTreeMap::new(), &Flags::default()).unwrap_err();
        assert!(e.0.contains(hint), "{toml}: {}", e.0);
    }
}

#[test]
fn separate_tokens_for_host_and_orchestrator() {
    let mut e = reference_env();
    e.insert(
        "GITOPS_CONNECTOR_ORCHESTRATOR_TOKEN".into(),
        "azdo-pat".into(),
    );
    let config = resolve(None, &e, &Flags::default()).unwrap();
    let i = &config.instances[0];
    assert_eq!(i.git_token.as_ref().unwrap().expose(), "ghp_secret");
    assert_eq!(i.orchestrator_token.as_ref().unwrap().expose(), "azdo-pat");
    assert_eq!(format!("{:?}", i.git_token), "Some(***)");
}

#[test]
fn token_files_and_subscriber_dirs_are_read() {
    let dir = std::env::temp_dir().join(format!("gc-config-test-{}", std::process::id()));
    let subs = dir.join("subs");
    std::fs::create_dir_all(&subs).unwrap();
    std::fs::write(dir.join("token"), "file-token\n").unwrap();
    std::fs::write(subs.join("spektate"), "https://spektate:5000/api/flux\n").unwrap();
    std::fs::write(subs.join("..data"), "ignored").unwrap();
    let toml = format!(
        "git_host = \"github\"\norchestrator = \"github\"\ngithub_owner = \"o\"\ngithub_manifests_repo = \"m\"\ngithub_actions_repo = \"a\"\ntoken_file = \"{}\"\nsubscribers_dir = \"{}\"\n[subscribers]\nmine = \"https://example.com/hook\"\n",
        dir.join("token").display(),
        subs.display()
    );
    let config = resolve(file(&toml), &BTreeMap::new(), &Flags::default()).unwrap();
    let i = &config.instances[0];
    assert_eq!(i.git_token.as_ref().unwrap().expose(), "file-token");
    assert_eq!(
        i.git_token_from.as_ref().unwrap().to_string(),
        format!("file {} (token_file)", dir.join("token").display()),
        "a token from a file names the file, not the config file"
    );
    assert_eq!(
        i.subscribers,
        vec![
            Subscriber {
                name: "mine".into(),
                url: "https://example.com/hook".into()
            },
            Subscriber {
                name: "spektate".into(),
                url: "https://spektate:5000/api/flux".into()
            },
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_instance_at_all_says_how_to_configure_one() {
    let config = resolve(None, &BTreeMap::new(), &Flags::default()).unwrap();
    assert!(config
        .select(None, None)
        .unwrap_err()
        .0
        .contains("GIT_REPOSITORY_TYPE"));
}

#[test]
fn budgets_and_retention_out_of_range_are_refused_naming_the_key() {
    for (var, value, key) in [
        ("GITOPS_CONNECTOR_BUDGET_SECONDS", "0", "budget_seconds"),
        ("GITOPS_CONNECTOR_BUDGET_SECONDS", "3601", "budget_seconds"),
        (
            "GITOPS_CONNECTOR_RETENTION_DAYS",
            "4000000000",
            "retention_days",
        ),
    ] {
        let e: BTreeMap<String, String> = [(var.to_string(), value.to_string())].into();
        let error = resolve(None, &e, &Flags::default()).unwrap_err();
        assert!(error.0.contains(key), "{var}={value}: {error}");
    }
    let flags = Flags {
        budget_seconds: Some(u64::MAX),
        ..Flags::default()
    };
    assert!(resolve(None, &BTreeMap::new(), &flags)
        .unwrap_err()
        .0
        .contains("budget_seconds"));
}
