//! The committed completions complete, in the real shells: sub-commands, a sub-command's flags,
//! and the values of `--output`. CI installs bash, zsh and fish (bash is always there).

use std::path::Path;
use std::process::Command;

fn completions() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/completions"))
}

/// Whether `shell` can be run; CI must have every one.
fn have(shell: &str) -> bool {
    let found = Command::new(shell).arg("-c").arg("true").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{shell} is not installed, and CI must run this test: .ci/run installs it"
        );
        eprintln!("SKIPPED: {shell} is not installed");
    }
    found
}

/// What `shell` offers after `line` (words separated by spaces; a trailing space starts a new word).
fn complete(shell: &str, line: &str) -> Vec<String> {
    // An empty directory: completing files there would offer nothing, so a file-name fallback
    // cannot pass for a real completion.
    let empty = std::env::temp_dir().join(format!("gc-complete-{}-{shell}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("a-file-in-the-way"), "").unwrap();
    let out = match shell {
        "bash" => {
            let script = format!(
                "source {}/gitops-connector.bash\n\
                 COMP_LINE='{line}'; read -ra COMP_WORDS <<< \"$COMP_LINE\"\n\
                 [[ \"$COMP_LINE\" == *' ' ]] && COMP_WORDS+=('')\n\
                 COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
                 fn=$(complete -p gitops-connector | sed 's/.*-F \\([^ ]*\\).*/\\1/')\n\
                 \"$fn\" gitops-connector \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
                 printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                completions().display()
            );
            Command::new("bash").arg("-c").arg(script).current_dir(&empty).output()
        }
        "zsh" => Command::new("zsh")
            .arg("-f")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/completion/complete.zsh"))
            .arg(completions())
            .arg(line)
            .current_dir(&empty)
            .output(),
        "fish" => Command::new("fish")
            .arg("--no-config")
            .arg("-c")
            .arg(format!(
                "source {}/gitops-connector.fish; complete -C '{line}'",
                completions().display()
            ))
            .current_dir(&empty)
            .output(),
        other => panic!("{other}"),
    }
    .unwrap();
    let _ = std::fs::remove_dir_all(&empty);
    let mut found: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        // fish adds a tab and the description
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    found.sort();
    found.dedup();
    found
}

fn check(shell: &str) {
    let top = complete(shell, "gitops-connector ");
    for sub in [
        "handle", "periodic", "poll-prs", "replay", "events", "config",
    ] {
        assert!(
            top.contains(&sub.to_string()),
            "{shell}: sub-commands {top:?}"
        );
    }
    let flags = complete(shell, "gitops-connector handle --");
    for flag in [
        "--verified-by-relay",
        "--signature",
        "--output",
        "--dry-run",
    ] {
        assert!(
            flags.contains(&flag.to_string()),
            "{shell}: handle flags {flags:?}"
        );
    }
    assert!(
        !flags.contains(&"--failed".to_string()),
        "{shell}: replay's flag offered for handle: {flags:?}"
    );
    let replay = complete(shell, "gitops-connector replay --");
    assert!(
        replay.contains(&"--failed".to_string()),
        "{shell}: {replay:?}"
    );
    let values = complete(shell, "gitops-connector handle --output ");
    assert_eq!(values, ["json", "text"], "{shell}: --output values");
    let events = complete(shell, "gitops-connector events ");
    assert!(
        events.contains(&"show".to_string()),
        "{shell}: events {events:?}"
    );
    assert!(
        !events.contains(&"a-file-in-the-way".to_string()),
        "{shell}: files offered for events: {events:?}"
    );
}

#[test]
fn bash_completes_sub_commands_flags_and_values() {
    if have("bash") {
        check("bash");
    }
}

#[test]
fn zsh_completes_sub_commands_flags_and_values() {
    if have("zsh") {
        check("zsh");
    }
}

#[test]
fn fish_completes_sub_commands_flags_and_values() {
    if have("fish") {
        check("fish");
    }
}
