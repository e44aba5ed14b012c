//! The committed completions and man pages are what the binary generates now.

mod support;

use support::{connector, TempDir};

#[test]
fn committed_completions_and_man_pages_are_up_to_date() {
    let dir = TempDir::new("generate");
    let out = dir.path().display().to_string();
    let run = connector(&["generate", "--out", &out], &[], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["completions", "man"] {
        let mut generated: Vec<_> = std::fs::read_dir(dir.path().join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        generated.sort();
        assert!(!generated.is_empty());
        let mut committed: Vec<_> = std::fs::read_dir(root.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        committed.sort();
        assert_eq!(
            committed, generated,
            "{sub}/ holds other files than generate writes"
        );
        for name in generated {
            let fresh = std::fs::read(dir.path().join(sub).join(&name)).unwrap();
            let committed = std::fs::read(root.join(sub).join(&name)).unwrap_or_default();
            assert!(
                fresh == committed,
                "{sub}/{} is stale: run `cargo run -- generate --out .` and commit",
                name.to_string_lossy()
            );
        }
    }
}

/// The first word of each line of the `Commands:` section of `--help`.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn help_lists_exactly_the_sub_commands() {
    let run = connector(&["--help"], &[], None);
    assert_eq!(run.code, 0);
    assert_eq!(
        listed_commands(&run.stdout),
        [
            "status", "notify", "handle", "poll-prs", "replay", "events", "prune", "config",
            "periodic", "generate", "help"
        ]
    );
    let events = connector(&["events", "--help"], &[], None);
    assert_eq!(listed_commands(&events.stdout), ["show", "help"]);
}

#[test]
fn help_teaches_the_exit_codes_and_every_sub_command() {
    let run = connector(&["--help"], &[], None);
    assert_eq!(run.code, 0);
    for needle in [
        "status",
        "notify",
        "handle",
        "poll-prs",
        "replay",
        "events",
        "prune",
        "config",
        "75  a delivery is still owed",
    ] {
        assert!(run.stdout.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn readme_shows_the_hooks_file_the_relay_test_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let hooks = std::fs::read_to_string(root.join("deploy/relay/hooks.json")).unwrap();
    assert!(
        readme.contains(&format!("```json\n{hooks}```")),
        "README's hooks file differs from deploy/relay/hooks.json"
    );
}

#[test]
fn readme_quickstart_runs_on_the_bundled_sample_without_credentials() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let command = "gitops-connector --config examples/github-flux.toml handle --dry-run examples/flux-success.json";
    assert!(readme.contains(command));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gitops-connector"))
        .args(command.split(' ').skip(1))
        .current_dir(root)
        .env_clear()
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("POST https://api.github.com/repos/kaizentm/gitops-manifests/statuses/"),
        "{stdout}"
    );
    assert!(stdout.contains("notification:"), "{stdout}");
}
