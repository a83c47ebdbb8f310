//! The commands the documentation shows, taken from the Markdown itself and run as written: every
//! `kpt` command of `README.md` and `docs/argocd.md` on a scratch package (the Secrets printed,
//! the package untouched, no plaintext on disk), and every `kubectl kustomize` / `kubectl apply
//! -k` of `docs/argocd.md`: on a shipped component alone it fails, and on the documented install
//! kustomization (the upstream install replaced by a TEST ONLY stand-in) it builds with each
//! component.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::argocd_manifests::{WAYS, argocd_install, kustomize};
use crate::support::{
    self, TempDir, controlled_command, crate_root, ksops_bin, require_tools, run, sops_encrypt,
};
use ksops::sops::Value;
use ksops::sops::parse_yaml;

/// The documents whose commands are checked.
const DOCUMENTS: [&str; 2] = ["README.md", "docs/argocd.md"];

/// Fenced-block languages whose lines are shell commands.
const SHELL_LANGUAGES: [&str; 5] = ["sh", "bash", "shell", "console", ""];

/// A piece of code shown in a Markdown document.
#[derive(Debug, Clone)]
pub(crate) struct Snippet {
    /// The document, relative to the crate root.
    pub(crate) document: &'static str,
    /// The 1-based line the snippet starts on.
    pub(crate) line: usize,
    /// The code: an inline code span, one logical line of a shell block (continuations joined),
    /// or the whole text of another fenced block.
    pub(crate) code: String,
    /// The language of its fenced block; `None` for an inline code span.
    pub(crate) language: Option<String>,
    /// The prose around it: its paragraph, or the paragraphs just before and after its block.
    pub(crate) context: String,
}

impl Snippet {
    /// `document:line`, for messages.
    pub(crate) fn place(&self) -> String {
        format!("{}:{}", self.document, self.line)
    }
}

/// A paragraph (consecutive non-blank lines outside fenced blocks) or a fenced block.
enum Part {
    Paragraph {
        line: usize,
        text: String,
    },
    Fenced {
        line: usize,
        language: String,
        lines: Vec<String>,
    },
}

/// Splits Markdown into paragraphs and fenced blocks (whose lines lose the fence's indentation).
fn parts(markdown: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut paragraph: Option<(usize, Vec<&str>)> = None;
    let mut fence: Option<(usize, usize, String, Vec<String>)> = None;
    for (index, raw) in markdown.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim_start();
        let indent = raw.len() - trimmed.len();
        if let Some((start, fence_indent, language, mut lines)) = fence.take() {
            if trimmed.starts_with("```") {
                parts.push(Part::Fenced {
                    line: start,
                    language,
                    lines,
                });
            } else {
                let cut = raw.len() - raw.trim_start().len();
                lines.push(raw[cut.min(fence_indent)..].to_string());
                fence = Some((start, fence_indent, language, lines));
            }
            continue;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            if let Some((line, lines)) = paragraph.take() {
                parts.push(Part::Paragraph {
                    line,
                    text: lines.join("\n"),
                });
            }
            fence = Some((number, indent, info.trim().to_string(), Vec::new()));
        } else if trimmed.is_empty() {
            if let Some((line, lines)) = paragraph.take() {
                parts.push(Part::Paragraph {
                    line,
                    text: lines.join("\n"),
                });
            }
        } else {
            paragraph
                .get_or_insert_with(|| (number, Vec::new()))
                .1
                .push(raw);
        }
    }
    assert!(fence.is_none(), "a fenced block is never closed");
    if let Some((line, lines)) = paragraph {
        parts.push(Part::Paragraph {
            line,
            text: lines.join("\n"),
        });
    }
    parts
}

/// The inline code spans of a paragraph, trimmed.
fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let ticks = rest[open..].chars().take_while(|&c| c == '`').count();
        let after = &rest[open + ticks..];
        let fence = "`".repeat(ticks);
        // The closing run has exactly as many backticks as the opening one.
        let close = after.match_indices(&fence).find(|(at, _)| {
            !after[at + ticks..].starts_with('`') && (*at == 0 || !after[..*at].ends_with('`'))
        });
        match close {
            Some((at, _)) => {
                spans.push(after[..at].replace('\n', " ").trim().to_string());
                rest = &after[at + ticks..];
            }
            None => rest = after,
        }
    }
    spans
}

/// The logical lines of a shell block: continuations (`\` at the end) joined, heredoc bodies
/// and comment lines left out, a leading `$ ` prompt removed. Each comes with its line offset.
fn shell_lines(lines: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut heredoc: Option<String> = None;
    let mut pending: Option<(usize, String)> = None;
    for (offset, line) in lines.iter().enumerate() {
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        let text = line.trim();
        let (start, mut joined) = match pending.take() {
            Some((start, before)) => (start, format!("{before} {text}")),
            None => {
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                (offset, text.strip_prefix("$ ").unwrap_or(text).to_string())
            }
        };
        if let Some(open) = joined.strip_suffix('\\') {
            joined = open.trim_end().to_string();
            pending = Some((start, joined));
            continue;
        }
        if let Some(at) = joined.find("<<") {
            let word = joined[at + 2..]
                .trim_start_matches('-')
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_matches(|c| c == '\'' || c == '"')
                .to_string();
            heredoc = Some(word);
        }
        out.push((start, joined));
    }
    assert!(pending.is_none(), "a shell block ends with a continuation");
    out
}

/// Every piece of code in `document` (relative to the crate root): inline code spans, logical
/// lines of shell blocks, and whole other fenced blocks.
pub(crate) fn snippets(document: &'static str) -> Vec<Snippet> {
    let path = crate_root().join(document);
    let markdown =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let parts = parts(&markdown);
    let prose = |index: Option<usize>| match index.and_then(|i| parts.get(i)) {
        Some(Part::Paragraph { text, .. }) => text.as_str(),
        _ => "",
    };
    let mut out = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        match part {
            Part::Paragraph { line, text } => {
                for code in code_spans(text) {
                    out.push(Snippet {
                        document,
                        line: *line,
                        code,
                        language: None,
                        context: text.clone(),
                    });
                }
            }
            Part::Fenced {
                line,
                language,
                lines,
            } => {
                let context = format!(
                    "{}\n{}\n{}",
                    prose(index.checked_sub(1)),
                    lines.join("\n"),
                    prose(Some(index + 1))
                );
                let language_of = Some(language.clone());
                if SHELL_LANGUAGES.contains(&language.as_str()) {
                    for (offset, code) in shell_lines(lines) {
                        out.push(Snippet {
                            document,
                            line: line + 1 + offset,
                            code,
                            language: language_of.clone(),
                            context: context.clone(),
                        });
                    }
                } else {
                    out.push(Snippet {
                        document,
                        line: *line,
                        code: lines.join("\n") + "\n",
                        language: language_of,
                        context,
                    });
                }
            }
        }
    }
    out
}

/// The shell commands (inline code spans and shell-block lines) of `document` starting with
/// `program` followed by a space.
pub(crate) fn commands(document: &'static str, program: &str) -> Vec<Snippet> {
    let prefix = format!("{program} ");
    snippets(document)
        .into_iter()
        .filter(|s| {
            s.language
                .as_deref()
                .is_none_or(|l| SHELL_LANGUAGES.contains(&l))
                && s.code.starts_with(&prefix)
        })
        .collect()
}

/// The YAML blocks of `document`.
pub(crate) fn yaml_blocks(document: &'static str) -> Vec<Snippet> {
    snippets(document)
        .into_iter()
        .filter(|s| matches!(s.language.as_deref(), Some("yaml" | "yml")))
        .collect()
}

/// What a path in a directory tree is, with a file's whole content.
#[derive(Debug, PartialEq, Eq)]
enum Node {
    Directory,
    File(Vec<u8>),
    Symlink(PathBuf),
}

/// Every path under `root` (relative, hidden ones included) with what it is.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut tree = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            let kind = fs::symlink_metadata(&path).expect("metadata").file_type();
            let node = if kind.is_symlink() {
                Node::Symlink(fs::read_link(&path).expect("read link"))
            } else if kind.is_dir() {
                pending.push(path.clone());
                Node::Directory
            } else {
                Node::File(fs::read(&path).expect("read file"))
            };
            tree.insert(
                path.strip_prefix(root).expect("under root").to_path_buf(),
                node,
            );
        }
    }
    tree
}

/// The paths that differ between two snapshots, with how.
fn differences(before: &BTreeMap<PathBuf, Node>, after: &BTreeMap<PathBuf, Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, node) in after {
        match before.get(path) {
            None => out.push(format!("new: {}", path.display())),
            Some(old) if old != node => out.push(format!("changed: {}", path.display())),
            Some(_) => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        out.push(format!("removed: {}", path.display()));
    }
    out
}

/// The files under `root` whose content holds `needle`.
fn files_containing(root: &Path, needle: &str) -> Vec<PathBuf> {
    snapshot(root)
        .into_iter()
        .filter(|(_, node)| match node {
            Node::File(bytes) => bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            _ => false,
        })
        .map(|(path, _)| root.join(path))
        .collect()
}

/// TEST ONLY Secret values of the scratch package: none may reach a file.
const PLAINTEXT: [(&str, &str, &str); 2] = [
    ("db", "password", "TEST-ONLY-docs-db-password-4e1c"),
    ("api", "token", "TEST-ONLY-docs-api-token-9b72"),
];

/// The word after `flag` (`--flag value` or `--flag=value`) in a command.
pub(crate) fn flag_value<'a>(command: &'a str, flag: &str) -> Option<&'a str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.iter().enumerate().find_map(|(i, word)| {
        if *word == flag {
            words.get(i + 1).copied()
        } else {
            word.strip_prefix(flag).and_then(|v| v.strip_prefix('='))
        }
    })
}

/// A kpt package as the README describes it: encrypted Secret manifests (real sops, TEST ONLY
/// age key) listed in `.krmignore`, a plain resource, and the generator at `fn_config`.
fn scratch_package(sops: &Path, scratch: &Path, fn_config: &str) -> PathBuf {
    let package = scratch.join("package");
    let staging = scratch.join("staging");
    fs::create_dir_all(&package).expect("create package");
    let recipient = support::age_recipient(&identity());
    let mut names = Vec::new();
    for (name, key, value) in PLAINTEXT {
        let file = format!("{name}.secret.yaml");
        let manifest = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  {key}: {value}\n"
        );
        sops_encrypt(
            sops,
            &staging,
            &file,
            manifest.as_bytes(),
            &[],
            &["--age", &recipient, "--encrypted-regex", "^stringData$"],
            support::NO_ENV,
        );
        fs::rename(staging.join(&file), package.join(&file)).expect("move the encrypted file");
        names.push(file);
    }
    fs::remove_dir_all(&staging).expect("remove staging");
    fs::write(package.join(".krmignore"), names.join("\n") + "\n").expect("write .krmignore");
    fs::write(
        package.join("config.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: demo\n",
    )
    .expect("write ConfigMap");
    let config = package.join(fn_config);
    fs::create_dir_all(config.parent().expect("parent")).expect("create fn-config dir");
    let files: String = names.iter().map(|n| format!("  - {n}\n")).collect();
    fs::write(
        &config,
        format!("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: app-secrets\nfiles:\n{files}"),
    )
    .expect("write fn-config");
    package
}

/// The TEST ONLY identity the scratch packages are encrypted to.
fn identity() -> PathBuf {
    support::vectors_dir().join("age-test-identity.txt")
}

/// Runs one documented kpt command, as written, in a fresh package with `ksops` on `PATH`, and
/// returns what is wrong with it.
fn kpt_command_problems(sops: &Path, sh: &Path, code: &str) -> Vec<String> {
    let Some(fn_config) = flag_value(code, "--fn-config") else {
        return vec!["names no --fn-config".into()];
    };
    let scratch = TempDir::new("docs-kpt");
    let package = scratch_package(sops, scratch.path(), fn_config);
    let bin = scratch.path().join("bin");
    fs::create_dir_all(&bin).expect("create bin");
    std::os::unix::fs::symlink(ksops_bin(), bin.join("ksops")).expect("link ksops");
    let home = scratch.path().join("home");
    fs::create_dir_all(&home).expect("create home");

    let before = snapshot(&package);
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let out = run(controlled_command(sh, &home)
        .current_dir(&package)
        .env("PATH", path)
        .env("SOPS_AGE_KEY_FILE", identity())
        .arg("-c")
        .arg(code))
    .expect("run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut problems = Vec::new();
    if !out.success() {
        problems.push(format!(
            "exit {:?}:\n{}",
            out.code,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    for (name, key, value) in PLAINTEXT {
        if !stdout.contains("kind: Secret") || !stdout.contains(&format!("{key}: {value}")) {
            problems.push(format!("the Secret {name} is not printed"));
        }
    }
    let changed = differences(&before, &snapshot(&package));
    if !changed.is_empty() {
        problems.push(format!("the package changed: {changed:?}"));
    }
    for (name, _, value) in PLAINTEXT {
        for root in [&package, &home] {
            let leaked = files_containing(root, value);
            if !leaked.is_empty() {
                problems.push(format!("a value of {name} was written to {leaked:?}"));
            }
        }
    }
    problems
}

#[test]
fn every_kpt_command_prints_the_secrets_and_leaves_the_package_untouched() {
    let [sops, _kpt, sh] = require_tools!("sops", "kpt", "sh");
    let found: Vec<Snippet> = DOCUMENTS.iter().flat_map(|d| commands(d, "kpt")).collect();
    assert!(
        found.iter().any(|c| c.document == "README.md"),
        "README.md shows no kpt command"
    );
    let mut failures = Vec::new();
    for command in found {
        let mut problems = kpt_command_problems(&sops, &sh, &command.code);
        // Next to each command: what kpt's in-place default would do.
        if !(command.context.contains("in place") && command.context.contains("plaintext")) {
            problems.push(
                "no warning next to it that kpt's in-place default writes decrypted Secrets \
                 into the package as plaintext files"
                    .into(),
            );
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: `{}`:\n  - {}",
                command.place(),
                command.code,
                problems.join("\n  - ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The word `kubectl kustomize DIR` or `kubectl apply -k DIR` builds, if `code` is one of them
/// (possibly piped on).
fn kustomize_target(code: &str) -> Option<&str> {
    let build = code.split('|').next()?.trim();
    build
        .strip_prefix("kubectl kustomize ")
        .map(str::trim)
        .or_else(|| flag_value(build, "-k").filter(|_| build.starts_with("kubectl apply ")))
}

#[test]
fn argocd_install_commands_build_as_written() {
    let [kubectl] = require_tools!("kubectl");
    const DOC: &str = "docs/argocd.md";
    let install: Vec<Snippet> = yaml_blocks(DOC)
        .into_iter()
        .filter(|b| b.code.contains("kind: Kustomization") && b.code.contains("components:"))
        .collect();
    assert_eq!(install.len(), 1, "{DOC}: one install kustomization");
    let install = &install[0];
    let place = install.place();
    let parsed = parse_yaml(install.code.as_bytes())
        .unwrap_or_else(|e| panic!("{place}: {e}"))
        .remove(0);
    let list = |key: &str| -> Vec<String> {
        match parsed.get(key) {
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(|i| i.as_bytes())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect(),
            _ => Vec::new(),
        }
    };
    // The upstream install, pinned to a release.
    let resources = list("resources");
    assert_eq!(resources.len(), 1, "{place}: {resources:?}");
    let version = resources[0]
        .strip_prefix("https://raw.githubusercontent.com/argoproj/argo-cd/")
        .and_then(|r| r.strip_suffix("/manifests/install.yaml"))
        .unwrap_or_else(|| panic!("{place}: not the upstream install: {}", resources[0]));
    let numbers: Vec<&str> = version.trim_start_matches('v').split('.').collect();
    assert!(
        version.starts_with('v')
            && numbers.len() == 3
            && numbers.iter().all(|n| n.parse::<u32>().is_ok()),
        "{place}: the install is not pinned to a release: {version}"
    );
    // One component, from the copy of plugin/argocd/; the comment names every way.
    let components = list("components");
    assert_eq!(components.len(), 1, "{place}: {components:?}");
    let (copy, shown) = components[0]
        .split_once('/')
        .unwrap_or_else(|| panic!("{place}: {}", components[0]));
    assert!(WAYS.contains(&shown), "{place}: unknown way {shown}");
    for way in WAYS {
        assert!(
            install.code.contains(&format!("{copy}/{way}")),
            "{place}: {way} not named"
        );
    }

    let builds: Vec<Snippet> = commands(DOC, "kubectl")
        .into_iter()
        .filter(|c| kustomize_target(&c.code).is_some())
        .collect();
    let home = TempDir::new("docs-argocd-home");
    let mut installs = 0;
    let mut alone = 0;
    for command in &builds {
        let place = command.place();
        let target = kustomize_target(&command.code).expect("a build");
        if target.starts_with("plugin/") {
            // A shipped component alone: it fails before anything reaches a cluster.
            alone += 1;
            let mut words: Vec<&str> = command.code.split_whitespace().collect();
            if words[1] == "apply" {
                words.push("--dry-run=client");
            }
            let out = run(controlled_command(&kubectl, home.path())
                .current_dir(crate_root())
                .args(&words[1..]))
            .expect("run kubectl");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.success() && stderr.contains("no resource matches strategic merge patch"),
                "{place}: `{}` does not fail on the missing Argo CD install: {stderr}",
                command.code
            );
            continue;
        }
        installs += 1;
        assert!(
            install
                .code
                .starts_with(&format!("# {target}/kustomization.yaml\n")),
            "{place}: `{}` builds {target}/, not where the docs put the kustomization",
            command.code
        );
        assert_eq!(
            command.code.split_once('|').map(|(_, apply)| apply.trim()),
            Some("kubectl apply --server-side --force-conflicts -f -"),
            "{place}"
        );
        for way in WAYS {
            let scratch = TempDir::new("docs-argocd");
            let kustomization = install
                .code
                .replace(&resources[0], "upstream")
                .replace(&components[0], &format!("{copy}/{way}"));
            argocd_install(scratch.path(), target, &kustomization, copy);
            let out = kustomize(&kubectl, home.path(), scratch.path(), target);
            let built = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.success(),
                "{place}: `{}` with {way}: {}",
                command.code,
                String::from_utf8_lossy(&out.stderr)
            );
            let marker = match way {
                "custom-image" => "image: registry.example.com/argocd-ksops:",
                "init-container" => "name: install-ksops",
                _ => "name: ksops-cmp-plugin-",
            };
            assert!(
                built.contains(marker),
                "{place}: {way} not applied:\n{built}"
            );
        }
    }
    assert!(installs > 0, "{DOC} shows no install command");
    assert!(alone > 0, "{DOC} shows no build of a component alone");
}

#[test]
fn markdown_snippets_are_found_where_the_documents_put_them() {
    let markdown = "Run `kpt fn eval .` here,\nor ``a ` b`` there.\n\n```sh\n# note\nkpt one \\\n  --two\ncat > x <<'EOF'\nkpt not-a-command\nEOF\n$ kpt three\n```\n\nAfter.\n";
    let parts = parts(markdown);
    assert_eq!(parts.len(), 3);
    let Part::Paragraph { text, .. } = &parts[0] else {
        panic!("a paragraph first")
    };
    assert_eq!(code_spans(text), ["kpt fn eval .", "a ` b"]);
    let Part::Fenced { line, lines, .. } = &parts[1] else {
        panic!("then the block")
    };
    assert_eq!(*line, 4);
    let commands: Vec<(usize, String)> = shell_lines(lines);
    assert_eq!(
        commands,
        [
            (1, "kpt one --two".to_string()),
            (3, "cat > x <<'EOF'".to_string()),
            (6, "kpt three".to_string())
        ]
    );
}
