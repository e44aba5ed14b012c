//! Man pages from the clap definition. clap_mangen writes the name, description, options and
//! sub-commands; the rest is ours, because its versions read badly at 80 columns: SYNOPSIS
//! without option arguments, and `after_help` filled as one paragraph, so the exit codes and the
//! examples broke mid-row. Here EXIT STATUS is one `.TP` row per code, EXAMPLES are lines kept
//! as they are, and `code` in backticks is set in bold.

use crate::cli::Cli;
use anyhow::{Context, Result};
use clap::{ArgAction, Command, CommandFactory};
use clap_mangen::Man;
use std::fmt::Write as _;
use std::path::Path;

/// Writes `gitops-connector.1` and one page per sub-command into `dir`.
pub fn write_all(dir: &Path) -> Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    write_page(&cmd, true, dir)
}

fn write_page(cmd: &Command, root: bool, dir: &Path) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_page(sub, false, dir)?;
    }
    let man = Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    page.extend(synopsis(cmd).into_bytes());
    man.render_description_section(&mut page)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut page)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut page)?;
    }
    if root {
        page.extend(exit_status().into_bytes());
    } else if let Some(help) = cmd.get_after_help() {
        page.extend(examples(&help.to_string()).into_bytes());
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut page)?;
    }
    let page = bold_code_spans(&String::from_utf8(page)?);
    let path = dir.join(man.get_filename());
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))
}

/// `roff` text with its special characters escaped.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

/// `gitops-connector handle [--config PATH] … [EVENT]`, each piece unbreakable inside.
fn synopsis(cmd: &Command) -> String {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name());
    let mut parts = vec![format!("\\fB{}\\fR", escape(name))];
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let choices: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| escape(v.get_name()))
            .collect();
        let value = if choices.is_empty() {
            arg.get_value_names()
                .and_then(|names| names.first())
                .map(|n| format!("\\ \\fI{}\\fR", escape(n)))
                .unwrap_or_default()
        } else {
            format!("\\ {}", choices.join("|"))
        };
        let takes_value = !matches!(
            arg.get_action(),
            ArgAction::SetTrue
                | ArgAction::SetFalse
                | ArgAction::Count
                | ArgAction::Help
                | ArgAction::Version
        );
        let piece = match (arg.get_long(), arg.get_short()) {
            (Some(long), _) if takes_value => format!("\\fB\\-\\-{}\\fR{value}", escape(long)),
            (Some(long), _) => format!("\\fB\\-\\-{}\\fR", escape(long)),
            (None, Some(short)) => format!("\\fB\\-{short}\\fR{value}"),
            (None, None) => {
                let id = arg.get_id().to_string().to_uppercase();
                let shown = arg
                    .get_value_names()
                    .and_then(|n| n.first())
                    .map_or(id, std::string::ToString::to_string);
                format!("\\fI{}\\fR", escape(&shown))
            }
        };
        parts.push(if arg.is_required_set() {
            piece
        } else {
            format!("[{piece}]")
        });
    }
    if cmd.has_subcommands() {
        parts.push("\\fICOMMAND\\fR".into());
    }
    // Left-adjusted, unhyphenated: an option never splits across lines.
    format!(".SH SYNOPSIS\n.ad l\n.nh\n{}\n.ad\n.hy\n", parts.join("\n"))
}

fn exit_status() -> String {
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in crate::exit::CODES {
        let _ = write!(out, ".TP\n.B {code}\n{}\n", escape(meaning));
    }
    out
}

/// `after_help` as `Examples:` and indented command lines: a section whose lines are kept.
fn examples(help: &str) -> String {
    let mut out = String::from(".SH EXAMPLES\n");
    let mut in_block = false;
    for line in help.lines() {
        if line.starts_with("  ") {
            if !in_block {
                out.push_str(".PP\n.nf\n.RS 4\n");
                in_block = true;
            }
            let _ = writeln!(out, "{}", escape(line.trim_start()));
            continue;
        }
        if in_block {
            out.push_str(".RE\n.fi\n");
            in_block = false;
        }
        let text = line.trim();
        // The "Example:" line is the section's own heading.
        if !text.is_empty() && !text.starts_with("Example") {
            let _ = write!(out, ".PP\n{}\n", escape(text));
        } else if let Some(note) = text
            .strip_prefix("Example (")
            .and_then(|t| t.strip_suffix("):"))
        {
            let _ = write!(out, ".PP\n{}:\n", escape(note));
        }
    }
    if in_block {
        out.push_str(".RE\n.fi\n");
    }
    out
}

/// `` `replay --failed` `` → bold, on each line; an unpaired backtick is left alone.
fn bold_code_spans(page: &str) -> String {
    page.lines()
        .map(|line| {
            let pieces: Vec<&str> = line.split('`').collect();
            if pieces.len() < 3 || pieces.len().is_multiple_of(2) {
                return line.to_string();
            }
            pieces
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    if i % 2 == 1 {
                        format!("\\fB{p}\\fR")
                    } else {
                        (*p).to_string()
                    }
                })
                .collect()
        })
        .collect::<Vec<String>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_become_bold_and_a_lone_backtick_stays() {
        assert_eq!(
            bold_code_spans("run `replay \\-\\-failed` now\nit`s"),
            "run \\fBreplay \\-\\-failed\\fR now\nit`s\n"
        );
    }

    #[test]
    fn examples_keep_their_lines() {
        let roff = examples("Examples:\n  gitops-connector replay --failed   # every minute\n  gitops-connector replay 42\n\nWith --every, a loop.");
        assert!(roff.contains(".nf\n.RS 4\ngitops\\-connector replay \\-\\-failed   # every minute\ngitops\\-connector replay 42\n.RE\n.fi\n"));
        assert!(roff.contains(".PP\nWith \\-\\-every, a loop.\n"));
    }
}
