//! install.sh: binary, completions and man pages under a prefix; idempotent; uninstall; cargo check.

use crate::support::TempDir;
use std::process::Command;

fn install(args: &[&str], path: &str) -> std::process::Output {
    install_from(&std::env::temp_dir(), args, path)
}

/// Runs install.sh from `cwd`, as a user would from wherever their shell is.
fn install_from(cwd: &std::path::Path, args: &[&str], path: &str) -> std::process::Output {
    Command::new("bash")
        .arg(format!("{}/install.sh", env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn relative_prefix_and_binary_are_taken_from_the_callers_directory() {
    let dir = TempDir::new("install-relative");
    let binary = env!("CARGO_BIN_EXE_gitops-connector");
    std::fs::copy(binary, dir.path().join("gc")).unwrap();
    let path = std::env::var("PATH").unwrap();
    let out = install_from(dir.path(), &["--prefix", "here", "--binary", "./gc"], &path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("here/bin/gitops-connector").is_file());
}

#[test]
fn installs_everything_under_the_prefix_twice_and_uninstalls_it() {
    let dir = TempDir::new("install");
    let prefix = dir.path().display().to_string();
    let binary = env!("CARGO_BIN_EXE_gitops-connector");
    let path = std::env::var("PATH").unwrap();
    for _ in 0..2 {
        let out = install(&["--prefix", &prefix, "--binary", binary], &path);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The prefix is not on PATH: the last line says so, with the line to add.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or("");
        assert!(
            last.contains("is not on your PATH")
                && last.contains(&format!("export PATH=\"{prefix}/bin:$PATH\"")),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("fpath=({prefix}/share/zsh/site-functions $fpath)")));
    }
    let on_path = install(
        &["--prefix", &prefix, "--binary", binary],
        &format!("{prefix}/bin:{path}"),
    );
    assert!(!String::from_utf8_lossy(&on_path.stdout).contains("not on your PATH"));
    let expected = [
        "bin/gitops-connector",
        "share/bash-completion/completions/gitops-connector",
        "share/zsh/site-functions/_gitops-connector",
        "share/fish/vendor_completions.d/gitops-connector.fish",
        "share/man/man1/gitops-connector.1",
        "share/man/man1/gitops-connector-handle.1",
    ];
    for file in expected {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    let version = Command::new(dir.path().join("bin/gitops-connector"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("gitops-connector "));
    let out = install(&["--prefix", &prefix, "--uninstall"], &path);
    assert!(out.status.success());
    for file in expected {
        assert!(!dir.path().join(file).exists(), "{file} left behind");
    }
}

#[test]
fn without_cargo_it_says_how_to_get_it() {
    let dir = TempDir::new("install-nocargo");
    let out = install(
        &["--prefix", &dir.path().display().to_string()],
        "/usr/bin:/bin",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cargo is not installed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
