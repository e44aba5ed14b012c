//! The committed completions and man pages are what the binary generates now.

use crate::support::{connector, TempDir};

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
            "periodic", "state", "generate", "help"
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

/// Every key the configuration reads (the common ones, each registered Git host's and
/// orchestrator's) has its row in README's tables, with its environment variable.
#[test]
fn readme_documents_every_configuration_key() {
    use gitops_connector::config::keys::{instance_keys, GLOBAL_KEYS};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for key in instance_keys().chain(GLOBAL_KEYS) {
        let env = key.env.map_or("—".to_string(), |v| format!("`{v}`"));
        let row = format!("| `{}` | {env} |", key.name);
        assert!(readme.contains(&row), "README lacks the row {row}");
    }
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
    // The repository_dispatch's first step: the commit and its pull requests, read at once.
    let notification = stdout
        .lines()
        .find_map(|l| l.strip_prefix("notification: "))
        .unwrap_or_else(|| panic!("no notification line: {stdout}"));
    let first: serde_json::Value = serde_json::from_str(notification).unwrap();
    let urls: Vec<&str> = first["first_reads"]
        .as_array()
        .unwrap_or_else(|| panic!("{first}"))
        .iter()
        .filter_map(|r| r["url"].as_str())
        .collect();
    let commit = "https://api.github.com/repos/kaizentm/gitops-manifests/commits/1eabc9a41ca088515cab83f1cce49eb43e84b67f";
    assert_eq!(urls, [commit.to_string(), format!("{commit}/pulls")]);
}

/// A man page as `man` shows it at 80 columns; `None` (SKIPPED) without man, except in CI.
fn rendered_man(page: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("man")
        .join(page);
    match std::process::Command::new("man")
        .arg("-l")
        .arg(&path)
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_FORMATTING", "")
        .output()
    {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        other => {
            assert!(
                std::env::var_os("CI").is_none(),
                "man cannot render {page}: {other:?}"
            );
            eprintln!("SKIPPED: man is not installed");
            None
        }
    }
}

/// The lines of one section of a rendered page.
fn section<'a>(page: &'a str, heading: &str) -> Vec<&'a str> {
    page.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

#[test]
fn man_pages_read_well_at_80_columns() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(root.join("man")).unwrap().flatten() {
        let source = std::fs::read_to_string(entry.path()).unwrap();
        assert!(
            !source.contains('`'),
            "{:?} has a literal backtick",
            entry.file_name()
        );
    }
    let Some(page) = rendered_man("gitops-connector.1") else {
        return;
    };
    assert!(
        page.lines().all(|l| l.chars().count() <= 80),
        "a line is wider than 80 columns"
    );
    let synopsis = section(&page, "SYNOPSIS").join(" ");
    for shown in [
        "[--config PATH]",
        "[--budget SECONDS]",
        "[--output text|json]",
        "COMMAND",
    ] {
        assert!(
            synopsis.contains(shown),
            "SYNOPSIS lacks {shown}: {synopsis}"
        );
    }
    // One row per code: the code at the tag column, its text wrapped under the text column.
    let rows = section(&page, "EXIT STATUS");
    let tags: Vec<&str> = rows
        .iter()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("              "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        tags,
        ["0", "2", "65", "70", "74", "75", "76", "77", "78"],
        "{rows:#?}"
    );
    let Some(replay) = rendered_man("gitops-connector-replay.1") else {
        return;
    };
    assert!(section(&replay, "SYNOPSIS")
        .join(" ")
        .starts_with("       gitops-connector replay [ID] [--failed]"));
    let examples = section(&replay, "EXAMPLES");
    assert!(
        examples.iter().any(|l| l
            .trim_start()
            .starts_with("gitops-connector replay 42 --dry-run    # what event 42 would send now")),
        "example lines are kept as written: {examples:#?}"
    );
}

/// Every whole instance README shows (a TOML block with `git_host` and `orchestrator`) loads and
/// plans the bundled event; the secret files it names are stood in for by one temporary file.
#[test]
fn readme_toml_instances_load_and_plan() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "token\n").unwrap();
    let app_key = root.join("tests/it/keys/github-app-test.pem");
    let mut checked = 0;
    for (i, block) in readme.split("```toml\n").skip(1).enumerate() {
        let block = block.split("```").next().unwrap();
        if !(block.contains("git_host") && block.contains("orchestrator")) {
            continue;
        }
        let toml: String = block
            .lines()
            .map(|line| match line.split_once("\"/var/run/secrets/") {
                Some((key, rest)) => {
                    let stand_in = if rest.starts_with("github-app") {
                        &app_key
                    } else {
                        &secret
                    };
                    format!("{key}\"{}\"", stand_in.display())
                }
                None => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let file = dir.path().join(format!("readme-{i}.toml"));
        std::fs::write(&file, toml).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gitops-connector"))
            .arg("--config")
            .arg(&file)
            .arg("--state")
            .arg(dir.path().join("state.db"))
            .args(["handle", "--dry-run"])
            .arg(root.join("examples/flux-success.json"))
            .env_clear()
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README's instance {i} does not load:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 6, "{checked} instances");
}
