//! Resource limits, end to end: every hostile input is refused by the `ksops` binary with an
//! error that names the input and the limit, prints nothing on stdout, and finishes.
//!
//! The inputs are the classic ones: billion laughs, 100 000-deep nesting, a million tiny nodes
//! in every store, files over the 32 MiB cap (on the command line, on standard input), and a
//! generator listing too many files. No test asserts a duration; a process still running after
//! [`HANG_GUARD`] is killed and fails its test as hung.

use crate::support;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::TempDir;

/// How long a refusal may take before the test calls it a hang (debug builds, shared CI).
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The engine's node limit, as stated in every node-limit message.
const NODE_LIMIT_TEXT: &str = "more than 1000000 keys, values and comments";

/// What a finished (or killed) `ksops` run produced.
struct Outcome {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

/// Waits for `child`, killing it after [`HANG_GUARD`].
fn finish(mut child: Child, what: &str) -> Outcome {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        match child.try_wait().expect("poll ksops") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: ksops still running after {HANG_GUARD:?}; killed");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let out = child.wait_with_output().expect("collect ksops output");
    Outcome {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `ksops ARGS` in `dir` with no identities, feeding `stdin` when given.
fn ksops_in(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Outcome {
    let home = TempDir::new("limits-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start ksops");
    // A writer thread: ksops may refuse before reading everything, and the pipe must not
    // block the guard.
    let writer = stdin.zip(child.stdin.take()).map(|(bytes, mut pipe)| {
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let outcome = finish(child, &format!("ksops {args:?}"));
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    outcome
}

/// `ksops decrypt NAME` on a file holding `contents`; asserts a refusal with `code` whose
/// message names the file and contains `expected`.
fn assert_decrypt_refused(name: &str, contents: &[u8], code: i32, expected: &str) {
    let dir = TempDir::new("limits");
    std::fs::write(dir.path().join(name), contents).expect("write input");
    let out = ksops_in(dir.path(), &["decrypt", name], None);
    assert_eq!(out.code, Some(code), "{name}: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{name}: printed output");
    assert!(
        out.stderr.contains(name) && out.stderr.contains(expected),
        "{name}: expected {expected:?} in {:?}",
        out.stderr
    );
}

/// Ten levels of nine references each: 10^9 nodes once expanded, from 300 bytes.
fn billion_laughs() -> String {
    let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10u8 {
        let (name, previous) = (char::from(b'a' + level), char::from(b'a' + level - 1));
        let refs = vec![format!("*{previous}"); 9].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    text
}

#[test]
fn yaml_billion_laughs_is_refused_by_every_yaml_reader() {
    let laughs = billion_laughs();
    assert_decrypt_refused("laughs.yaml", laughs.as_bytes(), 1, "excessive aliasing");

    // A legacy generator config, and a ResourceList on standard input.
    let dir = TempDir::new("limits-laughs");
    let config = format!("kind: ksops\nfiles: []\n{laughs}");
    std::fs::write(dir.path().join("generator.yaml"), &config).expect("write config");
    let out = ksops_in(dir.path(), &["generator.yaml"], None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("the generator config in ")
            && out.stderr.contains("excessive aliasing"),
        "{}",
        out.stderr
    );
    let list = format!("kind: ResourceList\nitems: []\n{laughs}");
    let out = ksops_in(dir.path(), &[], Some(list.into_bytes()));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("excessive aliasing"), "{}", out.stderr);
}

#[test]
fn deep_nesting_is_refused() {
    let depth = 100_000;
    let yaml = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    assert_decrypt_refused("deep.yaml", yaml.as_bytes(), 1, "limit exceeded");
    let block: String = (0..3000)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect();
    assert_decrypt_refused("deep-block.yaml", block.as_bytes(), 1, "exceeded max depth");
    let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert_decrypt_refused(
        "deep.json",
        json.as_bytes(),
        1,
        "nesting depth exceeds 1000",
    );
}

#[test]
fn a_million_tiny_nodes_are_refused_in_every_store() {
    let over = 1_000_001;
    let cases: [(&str, String); 6] = [
        ("flow.yaml", format!("a: [{}0]\n", "0,".repeat(over))),
        ("items.yaml", "- a\n".repeat(over)),
        ("comments.yaml", "#\n".repeat(over)),
        ("array.json", format!("[{}0]", "0,".repeat(over))),
        // dotenv and INI entries are two nodes each (a key and its value).
        ("lines.env", "a=\n".repeat(over / 2 + 1)),
        ("lines.ini", format!("[s]\n{}", "a=\n".repeat(over / 2 + 1))),
    ];
    support::par_map(&cases, 2, |(name, text)| {
        assert_decrypt_refused(name, text.as_bytes(), 1, NODE_LIMIT_TEXT);
    });
}

#[test]
fn flattened_metadata_cannot_allocate_huge_lists() {
    assert_decrypt_refused("index.env", b"sops_x__list_99999999=1\n", 1, "list index");
}

/// 32 MiB, the cap on every file and on standard input.
const MAX_BYTES: u64 = 32 * 1024 * 1024;

#[test]
fn files_over_32_mib_are_refused_without_reading_them_whole() {
    let dir = TempDir::new("limits-size");
    let file = std::fs::File::create(dir.path().join("huge.yaml")).expect("create");
    // Sparse: the file is never written, only its length set.
    file.set_len(MAX_BYTES + 1).expect("grow");
    let out = ksops_in(dir.path(), &["decrypt", "huge.yaml"], None);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("huge.yaml") && out.stderr.contains("limit of 33554432 bytes"),
        "{}",
        out.stderr
    );
    // Exactly at the cap is read (and then fails as a file without metadata).
    file.set_len(MAX_BYTES).expect("shrink");
    let out = ksops_in(dir.path(), &["decrypt", "huge.yaml"], None);
    assert!(!out.stderr.contains("limit of"), "{}", out.stderr);
    // A legacy generator config goes through the same check.
    std::fs::write(dir.path().join("huge.yaml"), b"").expect("truncate");
    file.set_len(MAX_BYTES + 1).expect("grow");
    let out = ksops_in(dir.path(), &["huge.yaml"], None);
    assert!(
        out.stderr.contains("limit of 33554432 bytes"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_resource_list_over_32_mib_on_stdin_is_refused() {
    let dir = TempDir::new("limits-stdin");
    let mut input = b"kind: ResourceList\nitems: []\n".to_vec();
    input.resize(usize::try_from(MAX_BYTES).expect("fits") + 1, b'\n');
    let out = ksops_in(dir.path(), &[], Some(input));
    assert_ne!(out.code, Some(0));
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("standard input") && out.stderr.contains("limit of 33554432 bytes"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_generator_listing_too_many_files_is_refused_before_reading_any() {
    let dir = TempDir::new("limits-files");
    let files: String = (0..10_001)
        .map(|i| format!("  - missing-{i}.yaml\n"))
        .collect();
    let config =
        format!("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: many\nfiles:\n{files}");
    std::fs::write(dir.path().join("generator.yaml"), config).expect("write config");
    let out = ksops_in(dir.path(), &["generator.yaml"], None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .contains("generator `viaduct.ai/v1/ksops/many` in ")
            && out.stderr.contains("10001 files")
            && out.stderr.contains("limit of 10000")
            && !out.stderr.contains("missing-0.yaml"),
        "{}",
        out.stderr
    );
}
