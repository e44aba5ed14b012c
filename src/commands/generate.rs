//! `generate`: completions and man pages from the clap definition, so they never drift from it.

use crate::cli::{Cli, GenerateArgs};
use crate::exit::Code;
use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::Path;

pub fn run(args: &GenerateArgs, dry_run: bool) -> Result<Code> {
    if dry_run {
        crate::outln!(
            "would write {} and {} (--dry-run: nothing written)",
            args.out.join("completions").display(),
            args.out.join("man").display()
        );
        return Ok(Code::Ok);
    }
    write_all(&args.out)?;
    crate::outln!(
        "wrote {} and {}",
        args.out.join("completions").display(),
        args.out.join("man").display()
    );
    Ok(Code::Ok)
}

/// clap_complete (4.6) spells a hyphenated binary's sub-command states two ways in the bash
/// script: it sets `cmd="gitops__connector__subcmd__handle"` but matches
/// `gitops__subcmd__connector__subcmd__handle)`, so no sub-command's flags or values ever
/// complete. One spelling for both, until the generator is fixed.
fn mend_bash(script: &str) -> String {
    script.replace("gitops__subcmd__connector", "gitops__connector")
}

pub fn write_all(out: &Path) -> Result<()> {
    let completions = out.join("completions");
    let man = out.join("man");
    std::fs::create_dir_all(&completions)
        .with_context(|| format!("cannot create {}", completions.display()))?;
    std::fs::create_dir_all(&man).with_context(|| format!("cannot create {}", man.display()))?;
    let mut command = Cli::command();
    for shell in [Shell::Zsh, Shell::Fish, Shell::Elvish, Shell::PowerShell] {
        clap_complete::generate_to(shell, &mut command, "gitops-connector", &completions)
            .with_context(|| format!("cannot write the {shell} completion"))?;
    }
    let mut bash = Vec::new();
    clap_complete::generate(Shell::Bash, &mut command, "gitops-connector", &mut bash);
    let bash = mend_bash(&String::from_utf8_lossy(&bash));
    let path = completions.join("gitops-connector.bash");
    std::fs::write(&path, bash).with_context(|| format!("cannot write {}", path.display()))?;
    super::man::write_all(&man).context("cannot write the man pages")?;
    Ok(())
}
