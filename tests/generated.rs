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
