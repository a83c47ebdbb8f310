//! Helpers shared by the end-to-end tests: locating the real tools, running `sops` and `ksops`
//! with a cleared environment, temporary directories, and the `.case` fixture format written by
//! `scripts/gen-fixtures.sh`.
//!
//! Every child process starts from `env_clear()` with only `PATH`, `TMPDIR` and a fresh `HOME`, so
//! a developer's own age keys (`~/.config/sops/age/keys.txt`, `~/.ssh/id_*`, `SOPS_AGE_*`) can
//! never make a test pass or fail by accident.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The `ksops` binary built by Cargo for this test run.
pub fn ksops_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ksops"))
}

/// The crate root (where `Cargo.toml` lives).
pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/generated/`, produced by `scripts/gen-fixtures.sh`.
pub fn generated_dir() -> PathBuf {
    crate_root().join("tests/fixtures/generated")
}

/// `tests/fixtures/vectors/`, the shared sops test vectors.
pub fn vectors_dir() -> PathBuf {
    crate_root().join("tests/fixtures/vectors")
}

/// `tests/fixtures/ksops-cases/`: KSOPS's own scenarios, PGP-encrypted by
/// `scripts/gen-ksops-cases.sh` for the TEST ONLY key `test-only-pgp-key.asc` there.
pub fn ksops_cases_dir() -> PathBuf {
    crate_root().join("tests/fixtures/ksops-cases")
}

/// A scratch GnuPG home (`dir/gnupg`) holding the committed TEST ONLY key of
/// [`ksops_cases_dir`]; its `gpg-agent` is stopped on drop.
pub struct GnupgHome {
    /// The directory to pass as `GNUPGHOME`.
    pub home: PathBuf,
}

impl GnupgHome {
    /// Creates the home and imports the key with `gpg`, failing the test when gpg fails.
    pub fn with_test_key(gpg: &Path, dir: &Path) -> GnupgHome {
        use std::os::unix::fs::PermissionsExt;
        let home = dir.join("gnupg");
        fs::create_dir_all(&home).expect("create the GnuPG home");
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).expect("chmod");
        let gnupg = GnupgHome { home };
        let mut cmd = controlled_command(gpg, dir);
        cmd.env("GNUPGHOME", &gnupg.home)
            .args(["--batch", "--import"])
            .arg(ksops_cases_dir().join("test-only-pgp-key.asc"));
        let out = run(&mut cmd).expect("run gpg --import");
        assert!(
            out.success(),
            "gpg --import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        gnupg
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

#[path = "../../src/testing.rs"]
mod testing;
pub use testing::{find_tool, require_tool};

/// `let [sops, kubectl] = require_tools!("sops", "kubectl");`: the paths of the tools, or
/// (only under the opt-in `KSOPS_SKIP_MISSING_TOOLS=1`) an early return from the calling test. A missing tool
/// fails the test otherwise (see [`require_tool`]).
macro_rules! require_tools {
    ($($tool:expr),+ $(,)?) => {
        match [$($crate::support::require_tool($tool)),+] {
            found if found.iter().all(Option::is_some) => found.map(|tool| tool.unwrap_or_default()),
            _ => return Default::default(),
        }
    };
}
pub(crate) use require_tools;

/// A scratch directory under the target directory, removed on drop (see
/// [`testing::scratch_dir`]).
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// Creates a fresh, unique directory whose name starts with `ksops-{prefix}-`.
    pub fn new(prefix: &str) -> TempDir {
        TempDir(testing::scratch_dir(prefix))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// Makes `dir` a git work tree (as a user's repository is), failing the test when git fails.
pub fn git_init(dir: &Path) {
    let [git] = require_tools!("git");
    let status = Command::new(git)
        .args(["init", "-q"])
        .current_dir(dir)
        .status()
        .expect("run git init");
    assert!(status.success(), "git init failed in {}", dir.display());
}

/// The `TMPDIR` of every child the tests start: a directory under Cargo's temporary directory
/// for tests, so that nothing a tool leaves behind lands in the system temporary directory.
pub fn child_tmpdir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("child-tmp");
    fs::create_dir_all(&dir).expect("create the children's TMPDIR");
    dir
}

/// A command with a cleared environment: only `PATH` (so sops can find `age-plugin-*` and the key
/// command can find `cat`), `HOME`, and `TMPDIR` (see [`child_tmpdir`]).
pub fn controlled_command(program: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("HOME", home).env("TMPDIR", child_tmpdir());
    cmd.stdin(Stdio::null());
    cmd
}

/// `kpt fn eval . --exec <ksops> --fn-config CONFIG -o stdout` run in `package`, with a
/// controlled environment (see [`controlled_command`]).
pub fn kpt_fn_eval(kpt: &Path, home: &Path, package: &Path, fn_config: &Path) -> Command {
    let mut cmd = controlled_command(kpt, home);
    cmd.current_dir(package)
        .args(["fn", "eval", ".", "--exec"])
        .arg(ksops_bin())
        .arg("--fn-config")
        .arg(fn_config)
        .args(["-o", "stdout"]);
    cmd
}

/// What a finished process produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl RunOutput {
    /// Exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs a command to completion, capturing both streams.
pub fn run(cmd: &mut Command) -> io::Result<RunOutput> {
    let out = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output()?;
    Ok(RunOutput {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Exit codes the contract requires ksops to reproduce exactly (value decryption, MAC, data key).
/// Any other sops failure only requires ksops to fail as well.
pub const EXACT_EXIT_CODES: [i32; 3] = [25, 51, 128];

/// Checks a ksops result against the sops outcome (`Ok(bytes)` or `Err(exit code)`). Returns a
/// description that never contains output bytes (only lengths, offsets and exit codes).
pub fn compare_outcome(expected: Result<&[u8], i32>, ksops: &RunOutput) -> Result<(), String> {
    match expected {
        Ok(want) => {
            if !ksops.success() {
                return Err(format!(
                    "ksops failed (exit {:?}), sops succeeded",
                    ksops.code
                ));
            }
            if ksops.stdout != want {
                let at = ksops
                    .stdout
                    .iter()
                    .zip(want)
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| ksops.stdout.len().min(want.len()));
                return Err(format!(
                    "stdout differs: {} bytes vs sops {} bytes, first difference at byte {at}",
                    ksops.stdout.len(),
                    want.len()
                ));
            }
            Ok(())
        }
        Err(code) => {
            if ksops.success() {
                return Err(format!("ksops succeeded, sops failed with exit {code}"));
            }
            if EXACT_EXIT_CODES.contains(&code) && ksops.code != Some(code) {
                return Err(format!("ksops exit {:?}, sops exit {code}", ksops.code));
            }
            if !ksops.stdout.is_empty() {
                return Err(format!(
                    "ksops failed but wrote {} bytes to stdout",
                    ksops.stdout.len()
                ));
            }
            Ok(())
        }
    }
}

/// One decryption case from a `.case` file (format documented in `scripts/gen-fixtures.sh`).
#[derive(Debug, Clone)]
pub struct Case {
    /// Case name (the `.case` file name without the extension).
    pub name: String,
    /// Directory the case's relative paths are resolved against.
    pub base: PathBuf,
    /// Encrypted input, absolute.
    pub file: PathBuf,
    /// Extra `decrypt` flags.
    pub args: Vec<String>,
    /// Expected exit code (0 = success, compare stdout with `<name>.expected`).
    pub exit: i32,
    /// Working directory, absolute.
    pub cwd: PathBuf,
    /// Environment variables, already resolved (paths absolute, `@file` read).
    pub env: Vec<(String, OsString)>,
    /// Files to copy into `$HOME`: (destination relative to `$HOME`, absolute source).
    pub home_files: Vec<(String, PathBuf)>,
    /// `XDG_CONFIG_HOME`, relative to `$HOME`.
    pub xdg_config_home: Option<String>,
}

impl Case {
    /// Parses a `.case` file's text. `base` is the directory relative paths refer to.
    pub fn parse(name: &str, base: &Path, text: &str) -> Result<Case, String> {
        let mut case = Case {
            name: name.to_string(),
            base: base.to_path_buf(),
            file: PathBuf::new(),
            args: Vec::new(),
            exit: 0,
            cwd: base.to_path_buf(),
            env: Vec::new(),
            home_files: Vec::new(),
            xdg_config_home: None,
        };
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, val) = line
                .split_once('=')
                .ok_or_else(|| format!("{name}: bad line (no `=`)"))?;
            match key {
                "FILE" => case.file = base.join(val),
                "ARGS" => case.args = val.split_whitespace().map(str::to_string).collect(),
                "EXIT" => {
                    case.exit = val.parse().map_err(|_| format!("{name}: bad EXIT"))?;
                }
                "CWD" => case.cwd = base.join(val),
                "SOPS_AGE_KEY_FILE" | "SOPS_AGE_SSH_PRIVATE_KEY_FILE" => {
                    case.env.push((key.to_string(), base.join(val).into()));
                }
                "SOPS_AGE_KEY" => {
                    let v = match val.strip_prefix('@') {
                        Some(p) => fs::read_to_string(base.join(p))
                            .map_err(|e| format!("{name}: reading {p}: {e}"))?,
                        None => val.to_string(),
                    };
                    // Same as bash `$(cat file)`: command substitution drops trailing newlines.
                    case.env
                        .push((key.to_string(), v.trim_end_matches('\n').into()));
                }
                "SOPS_AGE_KEY_CMD" => case.env.push((key.to_string(), val.into())),
                "HOME_FILE" => {
                    let (dest, src) = val
                        .split_once(':')
                        .ok_or_else(|| format!("{name}: HOME_FILE needs dest:src"))?;
                    case.home_files.push((dest.to_string(), base.join(src)));
                }
                "XDG_CONFIG_HOME" => case.xdg_config_home = Some(val.to_string()),
                other => return Err(format!("{name}: unknown directive {other}")),
            }
        }
        if case.file.as_os_str().is_empty() {
            return Err(format!("{name}: no FILE"));
        }
        Ok(case)
    }

    /// Loads every `*.case` file in `dir`, sorted by name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Case>, String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map_err(|e| format!("reading {}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".case"))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                let text = fs::read_to_string(dir.join(format!("{n}.case")))
                    .map_err(|e| format!("{n}: {e}"))?;
                Case::parse(n, dir, &text)
            })
            .collect()
    }

    /// The expected stdout (`<name>.expected` next to the case file) for a successful case.
    pub fn expected(&self) -> Result<Vec<u8>, String> {
        fs::read(self.base.join(format!("{}.expected", self.name)))
            .map_err(|e| format!("{}: missing .expected: {e}", self.name))
    }

    /// Sets up `home` (key files, XDG dir) and builds `<program> decrypt <args> <file>` with the
    /// case's environment. `file` overrides the case's input (tamper tests pass a mutated copy).
    pub fn command(&self, program: &Path, home: &Path, file: Option<&Path>) -> io::Result<Command> {
        use std::os::unix::fs::PermissionsExt;
        for (dest, src) in &self.home_files {
            let dest = home.join(dest);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::copy(src, &dest)?;
            // ssh and age refuse (or warn about) group/world-readable private keys.
            fs::set_permissions(&dest, fs::Permissions::from_mode(0o600))?;
        }
        let mut cmd = controlled_command(program, home);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(x) = &self.xdg_config_home {
            cmd.env("XDG_CONFIG_HOME", home.join(x));
        }
        cmd.current_dir(&self.cwd);
        cmd.arg("decrypt").args(&self.args);
        cmd.arg(file.unwrap_or(&self.file));
        Ok(cmd)
    }

    /// Runs `program` (sops or ksops) on this case in a fresh temporary `HOME`.
    pub fn run(&self, program: &Path, file: Option<&Path>) -> io::Result<RunOutput> {
        let home = TempDir::new("home");
        run(&mut self.command(program, home.path(), file)?)
    }
}

/// Reads the `# public key: age1…` line of an age identity file.
pub fn age_recipient(identity_file: &Path) -> String {
    let text = fs::read_to_string(identity_file).expect("read identity file");
    text.lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("identity file has a `# public key:` line")
        .trim()
        .to_string()
}

/// Maps `f` over `items` on `threads` worker threads, keeping the input order. Tests are
/// dominated by process start-up (sops is often a wrapper script), so a little parallelism pays.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker thread panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Encrypts `plaintext` with the real sops into `dir/name`; the name decides the store (it is
/// passed as `--filename-override`). `global` flags go before `encrypt` (e.g. `--config`),
/// `flags` after it (e.g. `--age …`, `--encrypted-regex …`). The plaintext is removed again.
pub fn sops_encrypt(
    sops: &Path,
    dir: &Path,
    name: &str,
    plaintext: &[u8],
    global: &[&str],
    flags: &[&str],
) {
    std::fs::create_dir_all(dir).expect("create dir");
    let plain_path = dir.join(format!(".plain-{name}"));
    std::fs::write(&plain_path, plaintext).expect("write plaintext");
    let out = Command::new(sops)
        .args(global)
        .arg("encrypt")
        .args(flags)
        .arg("--filename-override")
        .arg(name)
        .arg(&plain_path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("TMPDIR", child_tmpdir())
        .output()
        .expect("run sops encrypt");
    assert!(out.status.success(), "sops encrypt {name} failed");
    std::fs::write(dir.join(name), out.stdout).expect("write encrypted file");
    std::fs::remove_file(plain_path).expect("remove plaintext");
}

/// A data-key report's words, one space apart: reasons are word-wrapped behind `| ` margins.
pub fn words(report: &str) -> String {
    report
        .split_whitespace()
        .filter(|word| *word != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free loopback port")
}

/// A server process the test started (OpenBao, moto), listening on a loopback port; killed
/// and reaped on drop, so no test leaves one running.
pub struct LocalServer {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The port it listens on.
    pub port: u16,
    /// Where its output goes (for the failure message when it does not start).
    log: PathBuf,
}

impl LocalServer {
    /// Starts `cmd` (which must listen on `port`, on 127.0.0.1 only), with its output in a file
    /// in `dir`, and waits up to 30 s until the port accepts connections. Panics, with the
    /// server's output, when it exits or never listens.
    pub fn start(mut cmd: Command, port: u16, dir: &Path, name: &str) -> LocalServer {
        let log = dir.join(format!("{name}.log"));
        let out = fs::File::create(&log).expect("create the server log");
        let err = out.try_clone().expect("clone the server log");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        let mut server = LocalServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            log,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "{name} exited ({status}) before listening:\n{}",
                    server.output()
                );
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "{name} did not listen on port {port} within 30 s:\n{}",
                    server.output()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Edits of one key list of a YAML file's `sops:` metadata (`kms`, `hc_vault`, `pgp`, …), for
/// the tamper tests of the key sources whose fixtures need a live server: for every
/// `field: value` line of the list, the value with one character changed, the value emptied,
/// and (for lines that do not start an entry) the line removed; an empty value set;
/// `created_at` set to a text
/// that is not a time; the whole list removed; and its entries listed twice. Each edit comes
/// with a label naming it (never the value).
pub fn metadata_list_mutants(text: &str, list: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let header = format!("    {list}:");
    let Some(start) = lines.iter().position(|l| l.trim_end() == header) else {
        return Vec::new();
    };
    let end = (start + 1..lines.len())
        .find(|&i| {
            let indent = lines[i].len() - lines[i].trim_start().len();
            indent <= 4 && !lines[i].trim().is_empty()
        })
        .unwrap_or(lines.len());
    let join = |parts: &[&str]| parts.concat();
    let with_line = |i: usize, new: Option<String>| {
        let mut parts: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        match new {
            Some(line) => parts[i] = line,
            None => {
                parts.remove(i);
            }
        }
        parts.concat()
    };
    let mut mutants = Vec::new();
    for (i, line) in lines.iter().enumerate().take(end).skip(start + 1) {
        let body = line.trim_start().trim_start_matches("- ");
        let Some((field, value)) = body.split_once(": ") else {
            continue;
        };
        let value = value.trim_end();
        let prefix = &line[..line.len() - line.trim_start().len()];
        let dash = if line.trim_start().starts_with("- ") {
            "- "
        } else {
            ""
        };
        let rebuilt = |v: &str| format!("{prefix}{dash}{field}: {v}\n");
        if !value.is_empty() && value != "\"\"" && value != "|" {
            let chars: Vec<char> = value.chars().collect();
            let at = chars.len() / 2;
            let mut changed = chars.clone();
            changed[at] = if chars[at] == 'A' { 'B' } else { 'A' };
            let changed: String = changed.into_iter().collect();
            mutants.push((
                format!("{list}: {field} changed"),
                with_line(i, Some(rebuilt(&changed))),
            ));
            mutants.push((
                format!("{list}: {field} emptied"),
                with_line(i, Some(rebuilt("\"\""))),
            ));
        }
        if value == "\"\"" {
            mutants.push((
                format!("{list}: {field} set"),
                with_line(i, Some(rebuilt("TEST-ONLY"))),
            ));
        }
        if field == "created_at" {
            mutants.push((
                format!("{list}: created_at not a time"),
                with_line(i, Some(rebuilt("\"yesterday\""))),
            ));
        }
        if dash.is_empty() && value != "|" {
            mutants.push((format!("{list}: {field} removed"), with_line(i, None)));
        }
    }
    mutants.push((
        format!("{list}: list removed"),
        join(&[&lines[..start], &lines[end..]].concat()),
    ));
    mutants.push((
        format!("{list}: entries listed twice"),
        join(&[&lines[..end], &lines[start + 1..end], &lines[end..]].concat()),
    ));
    mutants
}

/// Runs `sops decrypt` and `ksops decrypt` on every mutant of `list` in `file` (see
/// [`metadata_list_mutants`]) with `env`, and returns the mutants where ksops does not behave
/// as sops does (see [`compare_outcome`]), or where ksops's standard error holds one of
/// `secrets`. Panics when the file has no such list.
pub fn metadata_tamper_divergences(
    sops: &Path,
    file: &Path,
    list: &str,
    env: &[(&str, String)],
    secrets: &[&str],
) -> Vec<String> {
    let text = fs::read_to_string(file).expect("read the encrypted file");
    let mutants = metadata_list_mutants(&text, list);
    assert!(
        mutants.len() > 2,
        "no `{list}` metadata in {}",
        file.display()
    );
    let dir = file.parent().expect("the file's directory");
    let run_on = |program: &Path, mutant: &Path| {
        let mut cmd = controlled_command(program, dir);
        cmd.envs(env.iter().map(|(k, v)| (k, v)))
            .arg("decrypt")
            .arg(mutant);
        run(&mut cmd).expect("run decrypt")
    };
    let mut divergences = Vec::new();
    for (index, (label, mutated)) in mutants.iter().enumerate() {
        let mutant = dir.join(format!("mutant-{index}.{}", extension(file)));
        fs::write(&mutant, mutated).expect("write the mutant");
        let expected = run_on(sops, &mutant);
        let ours = run_on(&ksops_bin(), &mutant);
        let outcome = if expected.success() {
            Ok(expected.stdout.as_slice())
        } else {
            Err(expected.code.unwrap_or(-1))
        };
        if let Err(why) = compare_outcome(outcome, &ours) {
            divergences.push(format!("{label}: {why}"));
        }
        let stderr = String::from_utf8_lossy(&ours.stderr);
        if secrets.iter().any(|secret| stderr.contains(secret)) {
            divergences.push(format!("{label}: a secret reached stderr"));
        }
        fs::remove_file(&mutant).expect("remove the mutant");
    }
    divergences
}

fn extension(file: &Path) -> String {
    file.extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "yaml".to_owned())
}
