//! The examples of the docs run: every ```console block of the pages below is a list of
//! `$ crm-eval …` commands, each followed by what it prints — its standard error lines, then its
//! standard output. The test runs each command in a fresh directory that holds `sample-data/`,
//! `examples/` and `tests/` (links to the repository's), and compares line by line. A line `…` ends the
//! comparison of that command's output (more lines follow); `[exit N]` as the last line states
//! a non-zero exit status. Without `-f`/`--format`/`-o` the command runs with `-f table`, what a
//! terminal shows. A Markdown table right after the block (one blank line between) is the last
//! command's standard output, run with `-f markdown`; a line `…` after the table cuts it.
//!
//! After an intended change of output, refresh the pages with
//! `CRM_EVAL_BLESS=1 cargo test --test cli docs::` and read the diff.

use std::path::PathBuf;

use crate::common::Workdir;

/// The pages whose examples run: the README, the cookbook, input and output, and every page of
/// `docs/cmd/` (listed by [`pages`]).
const PAGES: &[&str] = &[
    "README.md",
    "docs/cookbook.md",
    "docs/input.md",
    "docs/output.md",
];

/// [`PAGES`] and the command pages.
fn pages() -> Vec<String> {
    let mut pages: Vec<String> = PAGES.iter().map(|p| p.to_string()).collect();
    let mut commands: Vec<String> = std::fs::read_dir(root().join("docs/cmd"))
        .expect("docs/cmd")
        .map(|e| {
            format!(
                "docs/cmd/{}",
                e.expect("entry").file_name().to_string_lossy()
            )
        })
        .filter(|p| p.ends_with(".md"))
        .collect();
    commands.sort();
    pages.extend(commands);
    pages
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `$ command` with the output written under it.
#[derive(Debug)]
struct Example {
    /// The line of the page the command is on (1-based), for messages.
    line: usize,
    command: String,
    expected: Vec<String>,
    /// The Markdown table that follows the block, for its last command.
    table: Option<Vec<String>>,
}

/// The examples of a page, and for each block the range of its lines (to rewrite when blessing).
fn examples(text: &str) -> Vec<(std::ops::Range<usize>, Vec<Example>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "```console" {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && lines[end].trim() != "```" {
            end += 1;
        }
        let mut list: Vec<Example> = Vec::new();
        let mut k = start;
        while k < end {
            let line = lines[k];
            if let Some(cmd) = line.strip_prefix("$ ") {
                let first = k + 1;
                let mut command = cmd.trim_end().to_string();
                while command.ends_with('\\') && k + 1 < end {
                    command.pop();
                    k += 1;
                    command.push(' ');
                    command.push_str(lines[k].trim());
                }
                list.push(Example {
                    line: first,
                    command,
                    expected: Vec::new(),
                    table: None,
                });
            } else if let Some(e) = list.last_mut() {
                e.expected.push(line.to_string());
            }
            k += 1;
        }
        // A table after one blank line: the last command's output, with `…` when cut.
        let mut last = end + 1;
        if end + 2 < lines.len()
            && lines[end + 1].trim().is_empty()
            && lines[end + 2].starts_with('|')
        {
            let mut k = end + 2;
            while k < lines.len() && lines[k].starts_with('|') {
                k += 1;
            }
            if k < lines.len() && lines[k].trim() == "…" {
                k += 1;
            }
            if let Some(e) = list.last_mut() {
                e.table = Some(lines[end + 2..k].iter().map(|l| l.to_string()).collect());
            }
            last = k;
        }
        blocks.push((start..last, list));
        i = last;
    }
    blocks
}

/// Splits a command line as a POSIX shell would for the quoting the pages use ('…' and "…").
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            (None, c) => word.push(c),
        }
    }
    if started || !word.is_empty() {
        out.push(word);
    }
    out
}

/// What the command prints on stderr and on stdout, and its exit status.
fn run(w: &Workdir, command: &str, markdown: bool) -> (Vec<String>, Vec<String>, i32) {
    let mut args = words(command);
    assert_eq!(
        args.first().map(String::as_str),
        Some("crm-eval"),
        "{command}"
    );
    args.remove(0);
    let chooses_format = args
        .iter()
        .any(|a| ["-f", "--format", "-o", "--output"].contains(&a.as_str()));
    if !chooses_format {
        let format = if markdown { "markdown" } else { "table" };
        args.extend(["-f".to_string(), format.to_string()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.cmd(&refs).output().expect("run");
    let lines = |bytes: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(str::to_string)
            .collect()
    };
    (
        lines(&out.stderr),
        lines(&out.stdout),
        out.status.code().unwrap_or(-1),
    )
}

/// The expected lines and exit status of an example: `…` cuts, `[exit N]` ends.
fn expectation(e: &Example) -> (Vec<String>, Option<usize>, i32) {
    let mut lines = e.expected.clone();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let mut code = 0;
    if let Some(last) = lines.last() {
        if let Some(n) = last
            .strip_prefix("[exit ")
            .and_then(|r| r.strip_suffix(']'))
        {
            code = n.parse().expect("[exit N]");
            lines.pop();
        }
    }
    let cut = lines.iter().position(|l| l.trim() == "…");
    if let Some(k) = cut {
        lines.truncate(k);
    }
    (lines, cut, code)
}

fn workdir() -> Workdir {
    let w = Workdir::new();
    for dir in ["sample-data", "examples", "tests"] {
        std::os::unix::fs::symlink(root().join(dir), w.path(dir)).expect("link");
    }
    w
}

#[test]
fn the_examples_of_the_docs_print_what_the_docs_show() {
    let bless = std::env::var_os("CRM_EVAL_BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    for page in pages() {
        let path = root().join(&page);
        let text = std::fs::read_to_string(&path).expect(&page);
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        // Blocks from the last, so rewriting one keeps the earlier ranges right.
        for (range, list) in examples(&text).into_iter().rev() {
            let mut block: Vec<String> = Vec::new();
            let mut table_out: Option<Vec<String>> = None;
            for e in &list {
                count += 1;
                let w = workdir();
                let (stderr, stdout, code) = run(&w, &e.command, e.table.is_some());
                let (expected, cut, expected_code) = expectation(e);
                // With a table after the block, the block shows stderr and the table stdout.
                let (block_lines, table_lines) = match &e.table {
                    Some(_) => (stderr, Some(stdout)),
                    None => ([stderr, stdout].concat(), None),
                };
                let shown: Vec<String> = match cut {
                    Some(k) => block_lines.iter().take(k).cloned().collect(),
                    None => block_lines.clone(),
                };
                let table_cut = e
                    .table
                    .as_ref()
                    .and_then(|t| (t.last().map(|l| l.trim()) == Some("…")).then(|| t.len() - 1));
                let table_shown: Option<Vec<String>> =
                    table_lines.as_ref().map(|t| match table_cut {
                        Some(k) => t.iter().take(k).cloned().collect(),
                        None => t.clone(),
                    });
                if bless {
                    block.push(format!("$ {}", e.command));
                    block.extend(shown);
                    if cut.is_some_and(|k| block_lines.len() > k) {
                        block.push("…".into());
                    }
                    if code != 0 {
                        block.push(format!("[exit {code}]"));
                    }
                    if let (Some(mut t), Some(all)) = (table_shown.clone(), &table_lines) {
                        if table_cut.is_some_and(|k| all.len() > k) {
                            t.push("…".into());
                        }
                        table_out = Some(t);
                    }
                    continue;
                }
                let table_expected: Option<Vec<String>> = e
                    .table
                    .as_ref()
                    .map(|t| t.iter().filter(|l| l.trim() != "…").cloned().collect());
                let block_differs = shown != expected
                    || code != expected_code
                    || (cut.is_none() && block_lines.len() != expected.len());
                let table_differs = table_expected != table_shown
                    || (table_cut.is_none()
                        && table_lines.as_ref().map(Vec::len)
                            != table_expected.as_ref().map(Vec::len));
                if block_differs || table_differs {
                    failures.push(format!(
                        "{page}:{}: `{}`\n--- the page shows (exit {expected_code})\n{}\n{}\n--- it prints (exit {code})\n{}\n{}",
                        e.line,
                        e.command,
                        expected.join("\n"),
                        table_expected.unwrap_or_default().join("\n"),
                        shown.join("\n"),
                        table_shown.unwrap_or_default().join("\n")
                    ));
                }
            }
            if bless {
                block.push("```".into());
                if let Some(t) = table_out {
                    block.push(String::new());
                    block.extend(t);
                }
                lines.splice(range, block);
            }
        }
        if bless {
            std::fs::write(&path, lines.join("\n") + "\n").expect("write page");
        }
    }
    assert!(count > 20, "only {count} examples found in the pages");
    assert!(
        failures.is_empty(),
        "{} examples print something else than their page shows (refresh after an intended change: CRM_EVAL_BLESS=1 cargo test --test cli docs::):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_runner_reads_commands_cuts_and_exit_codes() {
    let page = "```console\n$ crm-eval rfm 'a b.csv' --by \"x y\" \\\n    --summary\nline 1\n…\n[exit 3]\n```\n";
    let blocks = examples(page);
    assert_eq!(blocks.len(), 1);
    let e = &blocks[0].1[0];
    assert_eq!(
        words(&e.command),
        ["crm-eval", "rfm", "a b.csv", "--by", "x y", "--summary"]
    );
    let (lines, cut, code) = expectation(e);
    assert_eq!((lines, cut, code), (vec!["line 1".to_string()], Some(1), 3));
}
