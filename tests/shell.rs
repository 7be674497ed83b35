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
        assert!(
            sub.contains(&format!(".TH crm-eval-{command} 1")),
            "{command}"
        );
        for section in [".SH EXAMPLES", ".SH ENVIRONMENT", ".SH FILES"] {
            assert!(sub.contains(section), "{command}: {section}");
        }
    }
    let e = w.fails(&["man", "nope"], 2);
    assert!(e.contains("no such command") && e.contains("funnel"), "{e}");
    let e = w.fails(&["completions", "tcsh"], 2);
    assert!(e.contains("tcsh"), "{e}");
}

/// Bash itself completes a subcommand's flags and values from the generated script (clap's
/// script for a hyphenated name completed nothing after a subcommand: clap-rs/clap#6421).
#[test]
fn bash_completes_a_subcommand_s_flags_and_values() {
    let w = Workdir::new();
    w.write("crm-eval.bash", w.stdout(&["completions", "bash"]));
    let complete = |words: &str, cword: usize| -> String {
        let script = format!(
            "source ./crm-eval.bash\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\n_crm__eval crm-eval \"${{COMP_WORDS[$COMP_CWORD]}}\" \"${{COMP_WORDS[$COMP_CWORD-1]}}\"\necho \"${{COMPREPLY[*]}}\"\n"
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(w.path("."))
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete("crm-eval rfm --fr", 2).trim(), "--frequency");
    let formats = complete("crm-eval funnel x.csv -f ''", 4);
    assert!(
        formats.contains("csv") && formats.contains("xlsx"),
        "{formats}"
    );
    let sub = complete("crm-eval predict ''", 2);
    assert!(sub.contains("churn") && sub.contains("deal"), "{sub}");
}

/// Every command's --help ends in examples (from its docs page), -h leaves the shared input
/// options to --help, and every command has a docs page listed in the README.
#[test]
fn every_command_has_examples_a_page_and_an_index_entry() {
    use clap::CommandFactory;
    let w = Workdir::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.lines().count() <= 300, "README.md is over 300 lines");
    for sub in crm_eval::cli::Cli::command().get_subcommands() {
        let name = sub.get_name();
        let page = match name {
            "man" => "completions",
            other => other,
        };
        assert!(
            root.join(format!("docs/cmd/{page}.md")).is_file(),
            "no docs/cmd/{page}.md"
        );
        assert!(
            readme.contains(&format!("(docs/cmd/{page}.md)")),
            "README does not link docs/cmd/{page}.md"
        );
        let mut paths = vec![vec![name.to_string()]];
        paths.extend(
            sub.get_subcommands()
                .map(|s| vec![name.to_string(), s.get_name().to_string()]),
        );
        for path in paths {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("--help");
            let help = w.stdout(&args);
            let examples = help
                .split("Examples:\n")
                .nth(1)
                .unwrap_or_else(|| panic!("{path:?} --help has no examples"));
            assert!(examples.contains("crm-eval "), "{path:?}");
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("-h");
            let short = w.stdout(&args);
            assert!(!short.contains("--date-format <FORMAT>"), "{path:?} -h");
        }
    }
}

/// A config in the working directory is said on stderr; --no-config ignores it.
#[test]
fn an_implicit_config_is_said_and_no_config_ignores_it() {
    let w = Workdir::new();
    w.write("crm-eval.toml", "[rfm]\nbins = 3\n");
    let orders = crate::common::sample("orders.csv");
    let out = w.cmd(&["rfm", &orders, "-f", "csv"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("using ./crm-eval.toml"), "{stderr}");
    let with = String::from_utf8(out.stdout).unwrap();
    let without = w.stdout(&["rfm", &orders, "--no-config", "-q", "-f", "csv"]);
    assert_ne!(with, without);
    let out = w
        .cmd(&["rfm", &orders, "--no-config", "-f", "csv"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("crm-eval.toml"));
    w.fails(
        &["rfm", &orders, "--no-config", "--config", "crm-eval.toml"],
        2,
    );
}
