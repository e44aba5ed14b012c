//! What people read, as snapshots (insta, in `tests/it/snapshots/`): `--help` of the tool and of
//! every sub-command, and every user-facing error message, so that a change of wording is seen
//! and reviewed. Paths and ports that change from run to run are replaced by `[DIR]` and `[PORT]`.

use crate::support::*;
use serde_json::json;

/// stderr with the run-to-run parts replaced; the exit code first.
fn shown(run: &Run, dir: &TempDir, host: Option<&MockHost>) -> String {
    let mut text = format!("exit {}\n{}", run.code, run.stderr);
    text = text.replace(&dir.path().display().to_string(), "[DIR]");
    // On the suite's PostgreSQL pass the state is a URL, shown without its password.
    if postgres::suite_on_postgres() {
        let state = dir.state().replacen(postgres::PASSWORD, "***", 1);
        text = text.replace(&state, "[DIR]/state.db");
    }
    if let Some(host) = host {
        let port = host.base.rsplit(':').next().unwrap();
        text = text.replace(port, "[PORT]");
    }
    text.replace(&fixture_path(""), "[FIXTURES]/")
}

#[test]
fn help_of_the_tool_and_every_sub_command() {
    let top = connector(&["--help"], &[], None);
    insta::assert_snapshot!("help", top.stdout);
    for sub in [
        "status", "notify", "handle", "poll-prs", "replay", "events", "prune", "config",
        "periodic", "generate", "state",
    ] {
        let run = connector(&[sub, "--help"], &[], None);
        assert_eq!(run.code, 0, "{sub}");
        insta::assert_snapshot!(format!("help-{sub}"), run.stdout);
    }
    let migrate = connector(&["state", "migrate", "--help"], &[], None);
    assert_eq!(migrate.code, 0);
    insta::assert_snapshot!("help-state-migrate", migrate.stdout);
    let show = connector(&["events", "show", "--help"], &[], None);
    insta::assert_snapshot!("help-events-show", show.stdout);
}

#[test]
fn configuration_errors() {
    let dir = TempDir::new("msg-config");
    let state = ("GITOPS_CONNECTOR_STATE".to_string(), dir.state());
    let event = fixture_path("flux/kustomization-reconciliation-succeeded-flux-v2.json");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        ("nothing-configured", vec![state.clone()]),
        (
            "unknown-git-host",
            vec![
                state.clone(),
                ("GIT_REPOSITORY_TYPE".into(), "PERFORCE".into()),
                ("CICD_ORCHESTRATOR_TYPE".into(), "GITHUB".into()),
            ],
        ),
        (
            "misspelt-key",
            vec![
                state.clone(),
                ("GITOPS_CONNECTOR_CONFIG".into(), write("a.toml", "gti_host = \"github\"\n")),
            ],
        ),
        (
            "toml-syntax",
            vec![
                state.clone(),
                ("GITOPS_CONNECTOR_CONFIG".into(), write("b.toml", "git_host = \"github\n")),
            ],
        ),
        (
            "plain-http-subscriber",
            vec![
                state.clone(),
                (
                    "GITOPS_CONNECTOR_CONFIG".into(),
                    write(
                        "c.toml",
                        "git_host = \"github\"\norchestrator = \"github\"\ngithub_org_url = \"https://api.github.com/repos/o\"\n\
                         github_manifests_repo = \"m\"\ngithub_actions_repo = \"a\"\n[subscribers]\nspektate = \"http://spektate.internal/api\"\n",
                    ),
                ),
            ],
        ),
        (
            "budget-out-of-range",
            vec![state.clone(), ("GITOPS_CONNECTOR_BUDGET_SECONDS".into(), "0".into())],
        ),
    ];
    for (name, env) in cases {
        let run = connector(&["handle", &event], &env, None);
        insta::assert_snapshot!(format!("config-{name}"), shown(&run, &dir, None));
    }
}

/// (snapshot name, arguments, stdin)
type Case<'a> = (&'a str, Vec<&'a str>, Option<&'a [u8]>);

#[test]
fn command_line_and_input_errors() {
    let host = MockHost::start();
    let dir = TempDir::new("msg-usage");
    let env = github_env(&host, &dir);
    let missing = dir.path().join("missing.json").display().to_string();
    let state_dir = dir.path().display().to_string();
    let cases: [Case; 9] = [
        ("replay-without-argument", vec!["replay"], None),
        ("replay-unknown-event", vec!["replay", "99"], None),
        (
            "commit-not-hex",
            vec!["events", "--commit", "xyz1234"],
            None,
        ),
        ("commit-too-short", vec!["events", "--commit", "1eab"], None),
        ("age-without-unit", vec!["prune", "--older-than", "5"], None),
        (
            "age-absurd",
            vec!["prune", "--older-than", "9223372036854775807s"],
            None,
        ),
        ("event-file-missing", vec!["handle", &missing], None),
        (
            "state-is-a-directory",
            vec!["events", "--state", &state_dir],
            None,
        ),
        ("event-not-json", vec!["handle"], Some(b"{not json")),
    ];
    for (name, args, stdin) in cases {
        let run = connector(&args, &env, stdin);
        insta::assert_snapshot!(format!("usage-{name}"), shown(&run, &dir, Some(&host)));
    }
    let other = connector(&["handle"], &env, Some(br#"{"hello": "world"}"#));
    insta::assert_snapshot!(
        "usage-event-neither-flux-nor-argo",
        shown(&other, &dir, Some(&host))
    );
}

#[test]
fn refusals_and_what_hosts_answer() {
    let event = "flux/kustomization-reconciliation-succeeded-flux-v2.json";
    // A signature is asked for and missing, or wrong.
    let host = MockHost::start();
    let dir = TempDir::new("msg-signature");
    let signed = with(
        &github_env(&host, &dir),
        &[("GITOPS_CONNECTOR_HMAC_KEY", "k")],
    );
    let run = run_fixture("handle", event, &signed, &[]);
    insta::assert_snapshot!("refused-unsigned", shown(&run, &dir, Some(&host)));
    let run = run_fixture("handle", event, &signed, &["--signature", "sha256=00ff"]);
    insta::assert_snapshot!("refused-wrong-signature", shown(&run, &dir, Some(&host)));

    // Each answer a host can give that stops a request, with what to do about it.
    for (name, reply) in [
        (
            "host-401",
            Reply::json(401, json!({"message": "Bad credentials"})),
        ),
        (
            "host-403",
            Reply::json(
                403,
                json!({"message": "Resource not accessible by integration"}),
            ),
        ),
        (
            "host-404",
            Reply::json(404, json!({"message": "Not Found"})),
        ),
        (
            "host-422",
            Reply::json(422, json!({"message": "Validation Failed"})),
        ),
        ("host-503", Reply::status(503)),
    ] {
        let host = MockHost::with(move |r| r.path().contains("/statuses/").then(|| reply.clone()));
        let dir = TempDir::new("msg-host");
        let env = with(
            &github_env(&host, &dir),
            &[("GITOPS_CONNECTOR_BUDGET_SECONDS", "1")],
        );
        let run = run_fixture("status", event, &env, &[]);
        insta::assert_snapshot!(name, shown(&run, &dir, Some(&host)));
    }

    // No token at all.
    let host = MockHost::start();
    let dir = TempDir::new("msg-notoken");
    let env: Vec<_> = github_env(&host, &dir)
        .into_iter()
        .filter(|(k, _)| k != "PAT")
        .collect();
    let run = run_fixture("status", event, &env, &[]);
    insta::assert_snapshot!("host-no-token", shown(&run, &dir, Some(&host)));
}
