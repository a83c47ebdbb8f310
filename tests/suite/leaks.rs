//! Leak-proof failures. Every way a `ksops` run can fail (`decrypt`, the legacy generator, the
//! KRM function, `render`, `argocd generate`) runs with canaries planted in the plaintext of the
//! encrypted inputs, in the identities it can read and in its environment. A failed run must
//! exit non-zero, print no canary on stdout or stderr, print nothing on stdout (the KRM function:
//! only its error ResourceList, without generated objects), and leave no file behind in `$HOME`,
//! `$TMPDIR` or the repository. Successful runs must leave no file behind either. A closed
//! stdout (EPIPE) or SIGTERM must end the process promptly, without a panic and without a
//! success status.
//!
//! Encrypted inputs are made at test time with the real sops; every key is TEST ONLY.

use crate::support;

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::TempDir;

/// How long a run may take before it counts as hung (a guard, far above any normal run).
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The TEST ONLY identity every input is encrypted to.
fn identity() -> PathBuf {
    support::vectors_dir().join("age-test-identity.txt")
}

/// A TEST ONLY identity that decrypts nothing here.
fn wrong_identity() -> PathBuf {
    support::generated_dir().join("keys/wrong.txt")
}

/// A TEST ONLY identity no input is encrypted to, except `foreign.yaml`.
fn foreign_identity() -> PathBuf {
    support::vectors_dir().join("age-test-identity-2.txt")
}

/// A scratch repository with encrypted inputs, generator configs and two kustomizations
/// (`app`, which renders, and `broken`, whose generator fails), plus the strings that must
/// never be printed.
struct Lab {
    tmp: TempDir,
    repo: PathBuf,
    app: PathBuf,
    broken: PathBuf,
    /// A TEST ONLY SSH key made for this run (an identity ksops reads but cannot use here).
    ssh_key: PathBuf,
    /// Unique to this run, so canaries cannot match anything else.
    tag: String,
    /// Plaintext of the encrypted inputs and of files ksops must not read.
    plaintext: Vec<String>,
}

impl Lab {
    fn canary(&self, what: &str) -> String {
        format!("canary-{what}-{}", self.tag)
    }

    /// The environment every run gets on top of `PATH`, `HOME` and `TMPDIR`: an identity list
    /// with a comment canary and a wrong key, an SSH key that matches no recipient, and
    /// canaries in an Argo CD application variable and an unrelated variable.
    fn canary_env(&self) -> Vec<(String, OsString)> {
        let wrong = fs::read_to_string(wrong_identity()).expect("read wrong identity");
        vec![
            (
                "SOPS_AGE_KEY".into(),
                format!("# {}\n{wrong}", self.canary("env-age-key")).into(),
            ),
            (
                "SOPS_AGE_SSH_PRIVATE_KEY_FILE".into(),
                self.ssh_key.clone().into(),
            ),
            ("ARGOCD_ENV_TOKEN".into(), self.canary("env-argocd").into()),
            (
                "UNRELATED_TOKEN".into(),
                self.canary("env-unrelated").into(),
            ),
        ]
    }

    /// Every string that must never be printed: plaintext, identity material and environment
    /// values, as (what, text).
    fn forbidden(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .plaintext
            .iter()
            .map(|p| ("a plaintext value".to_owned(), p.clone()))
            .collect();
        for key in [identity(), wrong_identity(), foreign_identity()] {
            let text = fs::read_to_string(&key).expect("read identity");
            for line in text.lines().filter(|l| l.starts_with("AGE-SECRET-KEY-")) {
                out.push((
                    "an age identity".into(),
                    line["AGE-SECRET-KEY-".len()..].into(),
                ));
            }
        }
        out.push(("an age identity".into(), "AGE-SECRET-KEY-".into()));
        let ssh = fs::read_to_string(&self.ssh_key).expect("read ssh key");
        for line in ssh
            .lines()
            .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        {
            out.push(("an SSH private key".into(), line.into()));
        }
        out.push(("an SSH private key".into(), "PRIVATE KEY".into()));
        for what in [
            "env-age-key",
            "env-argocd",
            "env-argocd-key",
            "env-unrelated",
            "keycmd-arg",
            "keycmd-out",
            "keycmd-err",
            "keyfile",
        ] {
            out.push((format!("the {what} canary"), self.canary(what)));
        }
        out
    }
}

fn write(path: &Path, text: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
    fs::write(path, text).expect("write file");
}

fn encrypt(sops: &Path, dir: &Path, name: &str, plaintext: &str, flags: &[&str]) {
    let recipient = support::age_recipient(&identity());
    let mut all = vec!["--age", recipient.as_str()];
    all.extend_from_slice(flags);
    support::sops_encrypt(
        sops,
        dir,
        name,
        plaintext.as_bytes(),
        &[],
        &all,
        support::NO_ENV,
    );
}

/// The first `ENC[…]` data field of `text` with its first base64 character changed.
fn tamper(text: &str) -> String {
    let at = text.find("ENC[AES256_GCM,data:").expect("an ENC value") + 20;
    let c = text.as_bytes()[at];
    let to = if c == b'A' { "B" } else { "A" };
    format!("{}{to}{}", &text[..at], &text[at + 1..])
}

fn generator(name: &str, body: &str) -> String {
    format!("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: {name}\n{body}")
}

fn lab(sops: &Path, ssh_keygen: &Path) -> Lab {
    let tmp = TempDir::new("leaks");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tag = format!("{:x}", nanos ^ u128::from(std::process::id()));
    let repo = tmp.path().join("repo");
    let app = repo.join("app");
    let broken = repo.join("broken");
    let mut lab = Lab {
        ssh_key: tmp.path().join("keys/id_ed25519"),
        tmp,
        repo,
        app: app.clone(),
        broken: broken.clone(),
        tag,
        plaintext: Vec::new(),
    };
    let plain = |lab: &mut Lab, what: &str| {
        let p = lab.canary(&format!("plain-{what}"));
        lab.plaintext.push(p.clone());
        p
    };

    fs::create_dir_all(lab.ssh_key.parent().expect("keys dir")).expect("create keys dir");
    let made = Command::new(ssh_keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "TEST ONLY", "-f"])
        .arg(&lab.ssh_key)
        .status()
        .expect("run ssh-keygen");
    assert!(made.success(), "ssh-keygen failed");

    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leak-test-db\nstringData:\n  password: {}\n  token: {}\n",
        plain(&mut lab, "password"),
        plain(&mut lab, "token"),
    );
    let regex = ["--encrypted-regex", "^(data|stringData)$"];
    encrypt(sops, &app, "secret.yaml", &secret, &regex);
    let encrypted = fs::read_to_string(app.join("secret.yaml")).expect("read secret.yaml");
    write(&app.join("tampered.yaml"), tamper(&encrypted));
    write(&broken.join("tampered.yaml"), tamper(&encrypted));
    let lastmodified = encrypted.find("lastmodified: \"20").expect("lastmodified") + 17;
    write(
        &app.join("badmac.yaml"),
        format!(
            "{}19{}",
            &encrypted[..lastmodified],
            &encrypted[lastmodified + 2..]
        ),
    );
    let version = encrypted.find("    version:").expect("version");
    write(&app.join("badmeta.yaml"), &encrypted[..version]);
    let password = encrypted.find("password: ENC[").expect("password") + 10;
    let end = password + encrypted[password..].find(']').expect("]") + 1;
    let clear = plain(&mut lab, "clear-value");
    write(
        &app.join("clearvalue.yaml"),
        format!("{}{clear}{}", &encrypted[..password], &encrypted[end..]),
    );
    let env = format!("DB_USER={}\n", plain(&mut lab, "env"));
    encrypt(sops, &app, "app.env", &env, &[]);
    let badenv = format!("DB_PASSWORD=\"{}\n", plain(&mut lab, "badenv"));
    encrypt(sops, &app, "bad.env", &badenv, &[]);
    let foreign = format!("token: {}\n", plain(&mut lab, "foreign"));
    support::sops_encrypt(
        sops,
        &app,
        "foreign.yaml",
        foreign.as_bytes(),
        &[],
        &["--age", &support::age_recipient(&foreign_identity())],
        support::NO_ENV,
    );
    write(
        &app.join("plain.yaml"),
        format!("password: {}\n", plain(&mut lab, "unencrypted")),
    );
    write(&app.join("empty.yaml"), "");
    write(
        &app.join("garbage.bin"),
        format!("\u{0}\u{1}{}\u{ff}", plain(&mut lab, "garbage")),
    );
    write(
        &lab.repo.join("outside.yaml"),
        format!("password: {}\n", plain(&mut lab, "outside")),
    );
    write(
        &lab.tmp.path().join("keys/bad-keys.txt"),
        format!(
            "AGE-SECRET-KEY-1{}\nnot a key {}\n",
            lab.canary("keyfile").to_uppercase(),
            lab.canary("keyfile")
        ),
    );
    write(
        &lab.tmp.path().join("bad-sops.yaml"),
        "stores: [\n  yaml: {indent: x\n",
    );

    let gens: &[(&str, &str)] = &[
        ("gen-ok.yaml", "files:\n  - secret.yaml\n"),
        ("gen-missing.yaml", "files:\n  - missing.yaml\n"),
        ("gen-escape.yaml", "files:\n  - ../outside.yaml\n"),
        ("gen-schema.yaml", "filez:\n  - secret.yaml\n"),
        (
            "gen-partial.yaml",
            "files:\n  - secret.yaml\n  - tampered.yaml\n",
        ),
        (
            "gen-badenv.yaml",
            "secretFrom:\n  - metadata:\n      name: from-env\n    envs:\n      - app.env\n      - bad.env\n",
        ),
        (
            "gen-secretfrom-tampered.yaml",
            "secretFrom:\n  - metadata:\n      name: from-files\n    files:\n      - tampered.yaml\n",
        ),
    ];
    for (name, body) in gens {
        write(
            &app.join(name),
            generator(name.trim_end_matches(".yaml"), body),
        );
    }
    write(
        &app.join("kustomization.yaml"),
        "generators:\n  - gen-ok.yaml\n",
    );
    write(
        &broken.join("gen.yaml"),
        generator("broken", "files:\n  - tampered.yaml\n"),
    );
    write(
        &broken.join("kustomization.yaml"),
        "generators:\n  - gen.yaml\n",
    );
    lab
}

/// One run of ksops: arguments, working directory, environment changes and standard input.
struct Scenario {
    name: String,
    args: Vec<OsString>,
    cwd: PathBuf,
    /// Added to (or replacing) the canary environment.
    env: Vec<(String, OsString)>,
    /// Removed from the canary environment.
    unset: Vec<&'static str>,
    stdin: Option<Vec<u8>>,
    /// Exit code required (`None`: any failure; `Some(0)`: success).
    code: Option<i32>,
    /// The KRM function reports failures as a ResourceList on stdout.
    krm: bool,
}

impl Scenario {
    fn new(name: &str, cwd: &Path, args: &[&str]) -> Scenario {
        Scenario {
            name: name.to_owned(),
            args: args.iter().map(OsString::from).collect(),
            cwd: cwd.to_path_buf(),
            env: Vec::new(),
            unset: Vec::new(),
            stdin: None,
            code: None,
            krm: false,
        }
    }

    fn env(mut self, name: &str, value: impl Into<OsString>) -> Scenario {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    fn with_identity(self) -> Scenario {
        self.env("SOPS_AGE_KEY_FILE", identity())
    }

    fn unset(mut self, names: &[&'static str]) -> Scenario {
        self.unset.extend_from_slice(names);
        self
    }

    fn code(mut self, code: i32) -> Scenario {
        self.code = Some(code);
        self
    }

    fn krm(mut self, stdin: impl Into<Vec<u8>>) -> Scenario {
        self.stdin = Some(stdin.into());
        self.krm = true;
        self
    }
}

/// A finished process.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Waits for `child`, reading its piped streams, and fails the test if it is still running
/// after [`HANG_GUARD`] (then it is killed).
fn wait_guarded(mut child: Child, what: &str) -> Finished {
    let drain = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ksops") {
            break status;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {HANG_GUARD:?}, killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Every path under `dir` with its size, sorted (empty when `dir` does not exist).
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).expect("stat");
            if meta.is_dir() {
                pending.push(path.clone());
            }
            let relative = path.strip_prefix(dir).expect("under dir").to_path_buf();
            out.push((relative, if meta.is_dir() { 0 } else { meta.len() }));
        }
    }
    out.sort();
    out
}

/// Plugin homes `ksops render`/`argocd generate` would have left in the system temp dir had
/// they ignored `$TMPDIR` (their names carry the ksops process id).
fn stray_plugin_homes(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("ksops-render-{pid}-");
    fs::read_dir(std::env::temp_dir())
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs a scenario in fresh `HOME` and `TMPDIR` directories and lists every rule it breaks.
fn check(lab: &Lab, sc: &Scenario, run_index: usize) -> Vec<String> {
    let run_dir = lab.tmp.path().join(format!("runs/{run_index}"));
    let (home, tmpdir) = (run_dir.join("home"), run_dir.join("tmp"));
    let repo_before = snapshot(&lab.repo);
    let stdin = if sc.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut child = start(lab, sc, &run_dir, Stdio::piped(), stdin);
    let pid = child.id();
    if let (Some(input), Some(mut pipe)) = (&sc.stdin, child.stdin.take()) {
        pipe.write_all(input).expect("write stdin");
    }
    let out = wait_guarded(child, &sc.name);

    let mut problems = Vec::new();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    match sc.code {
        Some(0) if !out.status.success() => {
            problems.push(format!("failed ({:?}): {stderr}", out.status));
        }
        Some(want) if want != 0 && code != Some(want) => {
            problems.push(format!("exit {code:?}, want {want}: {stderr}"));
        }
        None if out.status.success() => problems.push("succeeded".into()),
        _ => {}
    }
    if code == Some(101) || stderr.contains("panicked") {
        problems.push("panicked".into());
    }
    let failed = !out.status.success();
    if failed && !sc.krm && !out.stdout.is_empty() {
        problems.push(format!(
            "failed but wrote {} bytes to stdout",
            out.stdout.len()
        ));
    }
    if failed && sc.krm && stdout.contains("leak-test-db") {
        problems.push("failed but stdout holds a generated object".into());
    }
    for (what, text) in lab.forbidden() {
        if stderr.contains(&text) {
            problems.push(format!("stderr contains {what}"));
        }
        if failed && stdout.contains(&text) {
            problems.push(format!("stdout contains {what}"));
        }
    }
    if snapshot(&lab.repo) != repo_before {
        problems.push("the repository changed".into());
    }
    for (dir, name) in [(&home, "HOME"), (&tmpdir, "TMPDIR")] {
        let left = snapshot(dir);
        if !left.is_empty() {
            problems.push(format!("left files in ${name}: {left:?}"));
        }
    }
    let strays = stray_plugin_homes(pid);
    if !strays.is_empty() {
        problems.push(format!("left plugin homes outside $TMPDIR: {strays:?}"));
    }
    problems
        .into_iter()
        .map(|p| format!("{}: {p}", sc.name))
        .collect()
}

/// A ResourceList as kustomize sends it, with `files` as the generator's inputs.
fn resource_list(files: &[&str]) -> String {
    let files: String = files.iter().map(|f| format!("  - {f}\n")).collect();
    format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: viaduct.ai/v1\n  kind: ksops\n  metadata:\n    name: gen\n  files:\n{files}"
    )
}

fn scenarios(lab: &Lab) -> Vec<Scenario> {
    let app = lab.app.as_path();
    let key_cmd_fails = format!(
        "sh -c 'echo {}; echo {} >&2; exit 3' {}",
        lab.canary("keycmd-out"),
        lab.canary("keycmd-err"),
        lab.canary("keycmd-arg")
    );
    let key_cmd_garbage = format!(
        "echo AGE-SECRET-KEY-1{} {}",
        lab.canary("keycmd-out").to_uppercase(),
        lab.canary("keycmd-out")
    );
    let no_keys = ["SOPS_AGE_KEY", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"];
    let bad_config = lab.tmp.path().join("bad-sops.yaml");
    let bad_keys = lab.tmp.path().join("keys/bad-keys.txt");
    let render = |name: &str, dir: &Path| Scenario {
        args: vec!["render".into(), dir.into()],
        ..Scenario::new(name, &lab.repo, &[])
    };
    let argocd = |name: &str, dir: &Path| {
        let source = dir.strip_prefix(&lab.repo).expect("in repo");
        Scenario::new(name, dir, &["argocd", "generate"])
            .with_identity()
            .env("ARGOCD_APP_SOURCE_PATH", source)
            .env("ARGOCD_APP_NAME", "leak-test")
            .env("ARGOCD_ENV_SOPS_AGE_KEY", lab.canary("env-argocd-key"))
    };
    vec![
        // ksops decrypt
        Scenario::new("decrypt: no identity", app, &["decrypt", "secret.yaml"])
            .unset(&no_keys)
            .code(128),
        Scenario::new("decrypt: wrong identity", app, &["decrypt", "secret.yaml"]).code(128),
        Scenario::new(
            "decrypt: foreign recipient",
            app,
            &["decrypt", "foreign.yaml"],
        )
        .with_identity()
        .code(128),
        Scenario::new("decrypt: MAC mismatch", app, &["decrypt", "badmac.yaml"])
            .with_identity()
            .code(51),
        Scenario::new(
            "decrypt: tampered value",
            app,
            &["decrypt", "tampered.yaml"],
        )
        .with_identity()
        .code(25),
        Scenario::new(
            "decrypt: value left in clear",
            app,
            &["decrypt", "clearvalue.yaml"],
        )
        .with_identity()
        .code(25),
        Scenario::new("decrypt: bad metadata", app, &["decrypt", "badmeta.yaml"])
            .with_identity()
            .code(1),
        Scenario::new("decrypt: not encrypted", app, &["decrypt", "plain.yaml"])
            .with_identity()
            .code(1),
        Scenario::new("decrypt: empty file", app, &["decrypt", "empty.yaml"]).with_identity(),
        Scenario::new("decrypt: binary garbage", app, &["decrypt", "garbage.bin"]).with_identity(),
        Scenario::new("decrypt: missing file", app, &["decrypt", "missing.yaml"]).with_identity(),
        Scenario::new(
            "decrypt: key command fails",
            app,
            &["decrypt", "secret.yaml"],
        )
        .unset(&no_keys)
        .env("SOPS_AGE_KEY_CMD", &key_cmd_fails)
        .code(128),
        Scenario::new(
            "decrypt: key command prints garbage",
            app,
            &["decrypt", "secret.yaml"],
        )
        .unset(&no_keys)
        .env("SOPS_AGE_KEY_CMD", &key_cmd_garbage)
        .code(128),
        Scenario::new("decrypt: bad key file", app, &["decrypt", "secret.yaml"])
            .unset(&no_keys)
            .env("SOPS_AGE_KEY_FILE", &bad_keys)
            .code(128),
        Scenario::new("decrypt: bad --config", app, &["decrypt", "secret.yaml"])
            .with_identity()
            .args_then(&["--config".into(), bad_config.clone().into()]),
        Scenario::new("decrypt: succeeds", app, &["decrypt", "secret.yaml"])
            .with_identity()
            .code(0),
        // The legacy generator: `ksops CONFIG`
        Scenario::new("generator: missing file", app, &["gen-missing.yaml"]).with_identity(),
        Scenario::new("generator: root escape", app, &["gen-escape.yaml"]).with_identity(),
        Scenario::new("generator: schema error", app, &["gen-schema.yaml"]).with_identity(),
        Scenario::new("generator: one file fails", app, &["gen-partial.yaml"]).with_identity(),
        Scenario::new("generator: no identity", app, &["gen-ok.yaml"]).unset(&no_keys),
        Scenario::new("generator: bad envs file", app, &["gen-badenv.yaml"]).with_identity(),
        Scenario::new(
            "generator: secretFrom file fails",
            app,
            &["gen-secretfrom-tampered.yaml"],
        )
        .with_identity(),
        Scenario::new("generator: missing config", app, &["no-such-gen.yaml"]).with_identity(),
        Scenario::new("generator: succeeds", app, &["gen-ok.yaml"])
            .with_identity()
            .code(0),
        // The KRM function
        Scenario::new("krm: garbage input", app, &[])
            .with_identity()
            .krm(format!("{}: [\n", lab.canary("krm-garbage"))),
        Scenario::new("krm: one file fails", app, &[])
            .with_identity()
            .krm(resource_list(&["secret.yaml", "tampered.yaml"])),
        Scenario::new("krm: root escape", app, &[])
            .with_identity()
            .krm(resource_list(&["../outside.yaml"])),
        Scenario::new("krm: no identity", app, &[])
            .unset(&no_keys)
            .krm(resource_list(&["secret.yaml"])),
        Scenario::new("krm: succeeds", app, &[])
            .with_identity()
            .krm(resource_list(&["secret.yaml"]))
            .code(0),
        // ksops render and ksops argocd generate (through kubectl kustomize)
        render("render: generator fails", &lab.broken).with_identity(),
        render("render: no identity", &lab.app).unset(&no_keys),
        render("render: succeeds", &lab.app).with_identity().code(0),
        argocd("argocd: generator fails", &lab.broken),
        argocd("argocd: succeeds", &lab.app).code(0),
    ]
}

impl Scenario {
    fn args_then(mut self, extra: &[OsString]) -> Scenario {
        // `decrypt` flags go before the file.
        let file = self.args.pop().expect("a file argument");
        self.args.extend_from_slice(extra);
        self.args.push(file);
        self
    }
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    let sops = support::require_tool("sops")?;
    let ssh_keygen = support::require_tool("ssh-keygen")?;
    Some((sops, ssh_keygen))
}

#[test]
fn failures_leak_nothing_and_leave_nothing_behind() {
    let Some((sops, ssh_keygen)) = tools() else {
        return;
    };
    let with_kubectl = support::require_tool("kubectl").is_some();
    let lab = lab(&sops, &ssh_keygen);
    let scenarios: Vec<Scenario> = scenarios(&lab)
        .into_iter()
        .filter(|s| with_kubectl || !(s.name.starts_with("render") || s.name.starts_with("argocd")))
        .collect();
    let indexed: Vec<(usize, &Scenario)> = scenarios.iter().enumerate().collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let problems: Vec<String> = support::par_map(&indexed, threads, |(i, sc)| check(&lab, sc, *i))
        .into_iter()
        .flatten()
        .collect();
    eprintln!("leaks: {} runs checked", scenarios.len());
    assert!(
        problems.is_empty(),
        "{} problems:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// The write end of a FIFO whose readers are all gone: a process writing to it gets EPIPE at
/// once, whatever the timing (std alone cannot close a pipe's read end before the child starts).
fn readerless_pipe(dir: &Path) -> fs::File {
    let fifo = dir.join("stdout.fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    // Opening read-write does not block and is the reader that lets the write-only open
    // through; dropping it leaves no reader.
    let reader = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .expect("open the fifo");
    let writer = fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the fifo for writing");
    drop(reader);
    writer
}

/// Starts a scenario's command with the canary environment, in fresh `HOME` and `TMPDIR`
/// directories under `dir`, stderr piped.
fn start(lab: &Lab, sc: &Scenario, dir: &Path, stdout: Stdio, stdin: Stdio) -> Child {
    let (home, tmpdir) = (dir.join("home"), dir.join("tmp"));
    fs::create_dir_all(&home).expect("create home");
    fs::create_dir_all(&tmpdir).expect("create tmp");
    let mut cmd = support::controlled_command(&support::ksops_bin(), &home);
    cmd.env("TMPDIR", &tmpdir)
        .current_dir(&sc.cwd)
        .args(&sc.args)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped());
    for (name, value) in lab.canary_env() {
        if !sc.unset.contains(&name.as_str()) {
            cmd.env(name, value);
        }
    }
    for (name, value) in &sc.env {
        cmd.env(name, value);
    }
    cmd.spawn().expect("spawn ksops")
}

/// Adds to `lab` a large encrypted Secret and a generator listing many encrypted files, so
/// their output is far larger than a pipe's buffer.
fn add_large_inputs(lab: &Lab, sops: &Path) {
    let mut big =
        String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: big\nstringData:\n");
    for i in 0..2000 {
        big.push_str(&format!("  key{i}: {}\n", "v".repeat(500)));
    }
    encrypt(
        sops,
        &lab.app,
        "big.yaml",
        &big,
        &["--encrypted-regex", "^stringData$"],
    );
    let encrypted = fs::read(lab.app.join("secret.yaml")).expect("read secret.yaml");
    let mut files = String::from("files:\n");
    for i in 0..200 {
        let name = format!("many/secret-{i}.yaml");
        write(&lab.app.join(&name), &encrypted);
        files.push_str(&format!("  - {name}\n"));
    }
    write(&lab.app.join("gen-many.yaml"), generator("many", &files));
}

/// Commands whose output goes to a stdout nobody reads (EPIPE) must fail cleanly: a non-zero
/// status or a signal, no panic, no canary on stderr.
#[test]
fn a_closed_stdout_fails_cleanly() {
    let Some((sops, ssh_keygen)) = tools() else {
        return;
    };
    support::require_tool("mkfifo").expect("mkfifo");
    let with_kubectl = support::require_tool("kubectl").is_some();
    let lab = lab(&sops, &ssh_keygen);
    add_large_inputs(&lab, &sops);
    let app = lab.app.as_path();
    let mut runs = vec![
        Scenario::new("decrypt of a large file", app, &["decrypt", "big.yaml"]).with_identity(),
        Scenario::new("generator on many files", app, &["gen-many.yaml"]).with_identity(),
        Scenario::new("generator on a large file", app, &["gen-ok.yaml"]).with_identity(),
        Scenario::new("help", app, &["--help"]),
        Scenario::new("version", app, &["--version"]),
        Scenario::new("krm", app, &[])
            .with_identity()
            .krm(resource_list(&["big.yaml"])),
    ];
    if with_kubectl {
        runs.push(
            Scenario {
                args: vec!["render".into(), lab.app.clone().into()],
                ..Scenario::new("render", &lab.repo, &[])
            }
            .with_identity(),
        );
    }
    let mut problems = Vec::new();
    for (i, sc) in runs.iter().enumerate() {
        let dir = lab.tmp.path().join(format!("epipe/{i}"));
        fs::create_dir_all(&dir).expect("create run dir");
        let stdout = Stdio::from(readerless_pipe(&dir));
        let stdin = if sc.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let mut child = start(&lab, sc, &dir, stdout, stdin);
        if let (Some(input), Some(mut pipe)) = (&sc.stdin, child.stdin.take()) {
            pipe.write_all(input).expect("write stdin");
        }
        let out = wait_guarded(child, &sc.name);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            problems.push(format!(
                "{}: succeeded with nobody reading its output",
                sc.name
            ));
        }
        if out.status.code() == Some(101) || stderr.contains("panicked") {
            problems.push(format!("{}: panicked: {stderr}", sc.name));
        }
        for (what, text) in lab.forbidden() {
            if stderr.contains(&text) {
                problems.push(format!("{}: stderr contains {what}", sc.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Sends SIGTERM to `pid` (the `kill` command: no libc in tests).
fn terminate(pid: u32) {
    let sent = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM {pid} failed");
}

/// The process whose command line is exactly `words`, if one is running (read from `/proc`).
fn find_process(words: &[&str]) -> Option<u32> {
    let wanted: Vec<u8> = words
        .iter()
        .flat_map(|w| [w.as_bytes(), b"\0"].concat())
        .collect();
    fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        (fs::read(entry.path().join("cmdline")).ok()? == wanted).then_some(pid)
    })
}

/// SIGTERM ends a run blocked on its input or on a slow key command: promptly, with a failure
/// status and nothing on stdout.
#[test]
fn sigterm_ends_a_blocked_run() {
    let Some((sops, ssh_keygen)) = tools() else {
        return;
    };
    let lab = lab(&sops, &ssh_keygen);
    let app = lab.app.as_path();

    // The KRM function waiting for a ResourceList that never ends.
    let dir = lab.tmp.path().join("sigterm/krm");
    let sc = Scenario::new("KRM function waiting on stdin", app, &[]).with_identity();
    let mut child = start(&lab, &sc, &dir, Stdio::piped(), Stdio::piped());
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n")
        .expect("write part of the input");
    terminate(child.id());
    let out = wait_guarded(child, &sc.name);
    drop(stdin);
    assert!(!out.status.success(), "{}: succeeded", sc.name);
    assert!(out.stdout.is_empty(), "{}: wrote to stdout", sc.name);

    // `ksops decrypt` waiting for a key command that sleeps. The key command's own process is
    // not ksops': it outlives ksops (it is orphaned, its output goes nowhere) until it ends on
    // its own; it is found here by its unique command line and then stopped.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let duration = format!("3599.{nanos:09}");
    let dir = lab.tmp.path().join("sigterm/keycmd");
    let sc = Scenario::new(
        "decrypt waiting on SOPS_AGE_KEY_CMD",
        app,
        &["decrypt", "secret.yaml"],
    )
    .unset(&["SOPS_AGE_KEY"])
    .env("SOPS_AGE_KEY_CMD", format!("sleep {duration}"));
    let child = start(&lab, &sc, &dir, Stdio::piped(), Stdio::null());
    let started = Instant::now();
    let key_cmd = loop {
        if let Some(pid) = find_process(&["sleep", &duration]) {
            break pid;
        }
        assert!(
            started.elapsed() < HANG_GUARD,
            "the key command never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    terminate(child.id());
    let out = wait_guarded(child, &sc.name);
    let orphaned = Path::new(&format!("/proc/{key_cmd}")).exists();
    if orphaned {
        let _ = Command::new("kill")
            .args(["-KILL", &key_cmd.to_string()])
            .status();
    }
    eprintln!(
        "sigterm: ksops ended with {:?}; its key command {}",
        out.status,
        if orphaned {
            "was still running (orphaned) and was stopped by the test"
        } else {
            "ended with it"
        }
    );
    assert!(!out.status.success(), "{}: succeeded", sc.name);
    assert!(out.stdout.is_empty(), "{}: wrote to stdout", sc.name);
}
