//! Shell conventions: completion scripts and man pages generated from the clap definition.

use crate::common::Workdir;

#[test]
fn the_command_line_definition_is_consistent() {
    use clap::CommandFactory;
    crm_eval::cli::Cli::command().debug_assert();
}

#[test]
fn completions_for_every_shell_and_man_pages_for_every_command() {
    let w = Workdir::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef crm-eval"),
        ("fish", "complete -c crm-eval -n"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = w.stdout(&["completions", shell]);
        assert!(out.contains(marker), "{shell}");
        assert!(
            out.contains("funnel") && out.contains("line-discount"),
            "{shell}"
        );
    }
    let page = w.stdout(&["man"]);
    assert!(
        page.starts_with(".ie") && page.contains(".TH crm-eval 1"),
        "{page}"
    );
    for command in ["rfm", "abc", "clv", "funnel", "report", "inspect"] {
        assert!(page.contains(command), "{command}");
        let sub = w.stdout(&["man", command]);
        assert!(sub.contains(&format!(".TH {command} 1")), "{command}");
    }
    let e = w.fails(&["man", "nope"], 2);
    assert!(e.contains("no such command") && e.contains("funnel"), "{e}");
    let e = w.fails(&["completions", "tcsh"], 2);
    assert!(e.contains("tcsh"), "{e}");
}
