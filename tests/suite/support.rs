//! Helpers shared by the end-to-end tests: locating the real tools, running `sops` and `ksops`
//! with a cleared environment, temporary directories, and the `.case` fixture format written by
//! `scripts/gen-fixtures.sh`.
//!
//! Every child process starts from `env_clear()` with only `PATH`, `TMPDIR` and a fresh `HOME`, so
//! a developer's own age keys (`~/.config/sops/age/keys.txt`, `~/.ssh/id_*`, `SOPS_AGE_*`) can
//! never make a test pass or fail by accident.

use std::ffi::{OsStr, OsString};
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
        stop_gpg_agent(&self.home);
    }
}

/// Stops the `gpg-agent` that `gpg` started for the GnuPG home `home`, if any.
pub fn stop_gpg_agent(home: &Path) {
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(home)
        .args(["--kill", "gpg-agent"])
        .status();
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

/// A plugin home under `dir` holding the ksops binary at kustomize's legacy plugin path.
pub fn legacy_plugin_home(dir: &Path) -> PathBuf {
    let plugins = dir.join("plugins");
    let plugin_dir = plugins.join("viaduct.ai/v1/ksops");
    fs::create_dir_all(&plugin_dir).expect("create the plugin directory");
    fs::copy(ksops_bin(), plugin_dir.join("ksops")).expect("install the plugin");
    plugins
}

/// Writes the kustomization `app` (created if missing): `generator.yaml` holding `generator`,
/// and a `kustomization.yaml` that lists it as its only generator.
pub fn write_legacy_app(app: &Path, generator: &str) {
    fs::create_dir_all(app).expect("create the kustomization directory");
    fs::write(app.join("generator.yaml"), generator).expect("write generator.yaml");
    fs::write(
        app.join("kustomization.yaml"),
        "generators:\n  - generator.yaml\n",
    )
    .expect("write kustomization.yaml");
}

/// A legacy generator config listing one file, `secret.yaml` (see [`write_legacy_app`]).
pub const ONE_FILE_GENERATOR: &str =
    "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: g\nfiles:\n  - secret.yaml\n";

/// `kubectl kustomize --enable-alpha-plugins APP` with ksops installed as the legacy plugin (in
/// a plugin home under `home`, also the `HOME`) and `env` set; fails the test when kubectl
/// fails, and returns what it printed.
pub fn kustomize_with_ksops<V: AsRef<OsStr>>(
    kubectl: &Path,
    home: &Path,
    app: &Path,
    env: &[(&str, V)],
) -> String {
    let mut cmd = controlled_command(kubectl, home);
    cmd.args(["kustomize", "--enable-alpha-plugins"])
        .arg(app)
        .env("KUSTOMIZE_PLUGIN_HOME", legacy_plugin_home(home))
        .envs(env.iter().map(|(k, v)| (k, v.as_ref())));
    let out = run(&mut cmd).expect("run kubectl kustomize");
    assert!(
        out.success(),
        "kubectl kustomize: {}",
        lossy_text(&out.stderr)
    );
    lossy_text(&out.stdout)
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

/// Encrypts `plaintext` with the real sops into `dir/name` and returns that path; the name
/// decides the store (it is passed as `--filename-override`). `global` flags go before
/// `encrypt` (e.g. `--config`), `flags` after it (e.g. `--age …`, `--encrypted-regex …`); `env`
/// is added to the controlled environment (a key source's address and credentials,
/// `GNUPGHOME`, …; [`NO_ENV`] for none). The plaintext is removed again.
pub fn sops_encrypt<V: AsRef<OsStr>>(
    sops: &Path,
    dir: &Path,
    name: &str,
    plaintext: &[u8],
    global: &[&str],
    flags: &[&str],
    env: &[(&str, V)],
) -> PathBuf {
    fs::create_dir_all(dir).expect("create dir");
    let plain_path = dir.join(format!(".plain-{name}"));
    fs::write(&plain_path, plaintext).expect("write plaintext");
    let mut cmd = controlled_command(sops, dir);
    cmd.envs(env.iter().map(|(k, v)| (k, v.as_ref())))
        .args(global)
        .arg("encrypt")
        .args(flags)
        .arg("--filename-override")
        .arg(name)
        .arg(&plain_path);
    let out = run(&mut cmd).expect("run sops encrypt");
    assert!(
        out.success(),
        "sops encrypt {name}: {}",
        lossy_text(&out.stderr)
    );
    let file = dir.join(name);
    fs::write(&file, out.stdout).expect("write encrypted file");
    fs::remove_file(plain_path).expect("remove plaintext");
    file
}

/// No variables beyond the controlled environment, for [`sops_encrypt`].
pub const NO_ENV: &[(&str, &str)] = &[];

/// `PROGRAM decrypt FILE` with a controlled environment (`HOME` = `home`) plus `env`.
pub fn decrypt_with<V: AsRef<OsStr>>(
    program: &Path,
    home: &Path,
    file: &Path,
    env: &[(&str, V)],
) -> RunOutput {
    let mut cmd = controlled_command(program, home);
    cmd.envs(env.iter().map(|(k, v)| (k, v.as_ref())))
        .arg("decrypt")
        .arg(file);
    run(&mut cmd).expect("run decrypt")
}

/// Asserts that sops decrypts `file` with `env` and that ksops prints the same bytes.
pub fn assert_same_as_sops<V: AsRef<OsStr>>(
    sops: &Path,
    home: &Path,
    file: &Path,
    env: &[(&str, V)],
) {
    let expected = decrypt_with(sops, home, file, env);
    assert!(
        expected.success(),
        "sops decrypt {}: {}",
        file.display(),
        lossy_text(&expected.stderr)
    );
    let ours = decrypt_with(&ksops_bin(), home, file, env);
    assert!(
        ours.success(),
        "ksops decrypt {}: {}",
        file.display(),
        lossy_text(&ours.stderr)
    );
    assert!(
        ours.stdout == expected.stdout,
        "ksops and sops differ on {}",
        file.display()
    );
}

/// A process's output as text (invalid UTF-8 replaced), for assertions and failure messages.
pub fn lossy_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One small plaintext per sops store, under a file name that selects the store: YAML (a
/// comment, a list), JSON (nested, a float, a null), dotenv (a comment, a space), INI (a
/// section) and binary.
pub const STORE_PLAINTEXTS: [(&str, &[u8]); 5] = [
    ("s.yaml", b"# c\na: b\nn: 1\nlist:\n  - x\n  - true\n"),
    (
        "s.json",
        b"{\"a\": \"b\", \"n\": 1.5, \"o\": {\"k\": [1, null]}}\n",
    ),
    ("s.env", b"A=b\n# c\nB=with spaces\n"),
    ("s.ini", b"[sec]\na = b\nc = 1\n"),
    ("s.bin", b"\x00\x01 binary TEST ONLY \xff\n"),
];

/// The YAML plaintext of [`STORE_PLAINTEXTS`].
pub const YAML_PLAINTEXT: &[u8] = STORE_PLAINTEXTS[0].1;

/// The TEST ONLY vector age identity file (`tests/fixtures/vectors/age-test-identity.txt`) and
/// its recipient.
pub fn vector_age_identity() -> (PathBuf, String) {
    let identity = vectors_dir().join("age-test-identity.txt");
    let recipient = age_recipient(&identity);
    (identity, recipient)
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
