//! HashiCorp Vault transit keys against a real OpenBao dev server (`bao server -dev`, a TEST
//! ONLY root token, a scratch transit key): files encrypted with the real sops decrypt byte for
//! byte as `sops decrypt` prints them, in every store, beside age keys and in Shamir groups; a
//! generator (and `ksops check --decrypt`) makes one transit request for many files (counted in
//! bao's audit log); an address
//! nobody allowed gets no connection; a wrong token, a stopped, slow or garbled server fail
//! clearly; the token never reaches stderr.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::support::{self, LocalServer, TempDir, decrypt_with, lossy_text, require_tools};

/// The dev server's root token (TEST ONLY).
pub(crate) const TOKEN: &str = "ksops-TEST-ONLY-root-token";

/// A running OpenBao dev server with the transit engine, the key `k1` and an audit log.
pub(crate) struct Bao {
    server: LocalServer,
    /// `http://127.0.0.1:PORT`, or `https://…` with [`Bao::start_tls`].
    pub(crate) url: String,
    /// The CA of a TLS server.
    ca: Option<PathBuf>,
    bao: PathBuf,
    /// bao's own `HOME` (the dev server writes `.vault-token` there).
    home: PathBuf,
    audit: PathBuf,
}

impl Bao {
    /// Starts a plain HTTP dev server with its working files in `dir`.
    pub(crate) fn start(bao: &Path, dir: &Path) -> Bao {
        Bao::start_with(bao, dir, false)
    }

    /// A server with TLS, its certificates made by bao in `dir/tls` (TEST ONLY).
    fn start_tls(bao: &Path, dir: &Path) -> Bao {
        Bao::start_with(bao, dir, true)
    }

    fn start_with(bao: &Path, dir: &Path, tls: bool) -> Bao {
        let home = dir.join("bao-home");
        fs::create_dir_all(&home).expect("mkdir bao home");
        // OpenBao enables audit devices only from its configuration.
        let audit = dir.join("audit.log");
        let config = dir.join("bao.hcl");
        fs::write(
            &config,
            format!(
                "audit \"file\" \"log\" {{\n  options {{\n    file_path = {:?}\n  }}\n}}\n",
                audit.display().to_string()
            ),
        )
        .expect("write bao config");
        let port = support::free_port();
        let mut cmd = support::controlled_command(bao, &home);
        cmd.args(["server", "-dev"])
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .arg(format!("-dev-root-token-id={TOKEN}"))
            .arg(format!("-config={}", config.display()));
        let tls_dir = dir.join("tls");
        if tls {
            fs::create_dir_all(&tls_dir).expect("mkdir tls");
            cmd.arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", tls_dir.display()));
        }
        let server = LocalServer::start(cmd, port, dir, "bao");
        let scheme = if tls { "https" } else { "http" };
        let bao = Bao {
            url: format!("{scheme}://127.0.0.1:{}", server.port),
            ca: tls.then(|| tls_dir.join("vault-ca.pem")),
            server,
            bao: bao.to_owned(),
            home,
            audit,
        };
        bao.cli(&["secrets", "enable", "transit"]);
        bao.cli(&["write", "-f", "transit/keys/k1"]);
        bao
    }

    /// Runs the bao CLI against the server as root.
    fn cli(&self, args: &[&str]) {
        let mut cmd = support::controlled_command(&self.bao, &self.home);
        cmd.args(args)
            .env("VAULT_ADDR", &self.url)
            .env("VAULT_TOKEN", TOKEN);
        if let Some(ca) = &self.ca {
            cmd.env("VAULT_CACERT", ca);
        }
        let out = support::run(&mut cmd).expect("run bao");
        assert!(out.success(), "bao {args:?}: {}", lossy_text(&out.stderr));
    }

    /// The transit key's URI as sops takes it.
    pub(crate) fn key_uri(&self, name: &str) -> String {
        format!("{}/v1/transit/keys/{name}", self.url)
    }

    /// The address and the root token, for sops and ksops.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("VAULT_ADDR", self.url.clone()),
            ("VAULT_TOKEN", TOKEN.to_owned()),
        ]
    }

    /// How many decrypt requests for `key` the audit log holds.
    fn decrypt_requests(&self, key: &str) -> usize {
        let log = fs::read_to_string(&self.audit).unwrap_or_default();
        let path = format!("\"path\":\"transit/decrypt/{key}\"");
        log.lines()
            .filter(|line| line.contains("\"type\":\"request\"") && line.contains(&path))
            .count()
    }
}

/// Encrypts `plain` into `dir/name` with the real sops and `flags`, with the token set.
fn encrypt(sops: &Path, dir: &Path, name: &str, plain: &[u8], flags: &[&str]) -> PathBuf {
    let env = [("VAULT_TOKEN", TOKEN)];
    support::sops_encrypt(sops, dir, name, plain, &[], flags, &env)
}

/// `dir/s.yaml`: the YAML plaintext encrypted with the transit key `k1` of `vault`.
fn transit_yaml(sops: &Path, vault: &Bao, dir: &Path) -> PathBuf {
    let uri = vault.key_uri("k1");
    encrypt(
        sops,
        dir,
        "s.yaml",
        support::YAML_PLAINTEXT,
        &["--hc-vault-transit", &uri],
    )
}

/// An empty `HOME` for the programs under test (no `.vault-token`, no age keys).
fn empty_home(dir: &Path) -> PathBuf {
    let home = dir.join("home");
    fs::create_dir_all(&home).expect("mkdir home");
    home
}

#[test]
fn every_store_decrypts_like_sops() {
    let [sops, bao] = require_tools!("sops", "bao");
    let dir = TempDir::new("vault");
    let vault = Bao::start(&bao, dir.path());
    let home = empty_home(dir.path());
    let env = vault.env();
    for (name, plain) in support::STORE_PLAINTEXTS {
        let file = encrypt(
            &sops,
            dir.path(),
            name,
            plain,
            &["--hc-vault-transit", &vault.key_uri("k1")],
        );
        assert!(fs::read_to_string(&file).unwrap().contains("vault:v1:"));
        support::assert_same_as_sops(&sops, &home, &file, &env);
    }
    // The token may also come from ~/.vault-token, trimmed.
    fs::write(home.join(".vault-token"), format!("{TOKEN}\n")).expect("write token file");
    let file = dir.path().join("s.yaml");
    support::assert_same_as_sops(&sops, &home, &file, &[("VAULT_ADDR", &vault.url)]);
    // sops' allow-list (address prefixes) replaces VAULT_ADDR as what allows an address.
    let prefix = format!("http://127.0.0.1:{}/", vault.server.port);
    let allowlist = [("SOPS_HC_VAULT_ALLOWLIST", prefix.as_str())];
    support::assert_same_as_sops(&sops, &home, &file, &allowlist);
}

#[test]
fn age_and_vault_keys_each_decrypt_alone_and_mix_in_shamir_groups() {
    let [sops, bao] = require_tools!("sops", "bao");
    let dir = TempDir::new("vault");
    let vault = Bao::start(&bao, dir.path());
    let home = empty_home(dir.path());
    let (identity, recipient) = support::vector_age_identity();
    let identity = identity.to_string_lossy().into_owned();
    let uri = vault.key_uri("k1");
    let file = encrypt(
        &sops,
        dir.path(),
        "both.yaml",
        support::YAML_PLAINTEXT,
        &["--age", &recipient, "--hc-vault-transit", &uri],
    );
    let age_only = [("SOPS_AGE_KEY_FILE", identity.as_str())];
    let vault_only = [("VAULT_ADDR", vault.url.as_str()), ("VAULT_TOKEN", TOKEN)];
    let before = vault.decrypt_requests("k1");
    support::assert_same_as_sops(&sops, &home, &file, &age_only);
    assert_eq!(vault.decrypt_requests("k1"), before, "age was enough");
    support::assert_same_as_sops(&sops, &home, &file, &vault_only);

    let shamir = dir.path().join("shamir");
    fs::create_dir_all(&shamir).expect("mkdir");
    fs::write(
        shamir.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{recipient}]\n      - hc_vault: [{uri}]\n"
        ),
    )
    .expect("write .sops.yaml");
    let config = shamir.join(".sops.yaml");
    let file = support::sops_encrypt(
        &sops,
        &shamir,
        "s.yaml",
        support::YAML_PLAINTEXT,
        &["--config", &config.to_string_lossy()],
        &[],
        &[("VAULT_TOKEN", TOKEN)],
    );
    let both = [
        ("SOPS_AGE_KEY_FILE", identity.as_str()),
        ("VAULT_ADDR", vault.url.as_str()),
        ("VAULT_TOKEN", TOKEN),
    ];
    support::assert_same_as_sops(&sops, &home, &file, &both);
    // One group alone is below the threshold.
    for (one, recovered) in [
        (&age_only[..], ["Group 0: SUCCESS", "Group 1: FAILED"]),
        (&vault_only[..], ["Group 0: FAILED", "Group 1: SUCCESS"]),
    ] {
        let out = decrypt_with(&support::ksops_bin(), &home, &file, one);
        assert_eq!(out.code, Some(128), "{}", lossy_text(&out.stderr));
        let report = lossy_text(&out.stderr);
        for line in recovered {
            assert!(report.contains(line), "{report}");
        }
        assert!(!report.contains(TOKEN), "{report}");
    }
}

/// A kustomization `dir/app` whose legacy generator puts `count` files, each encrypted with
/// transit key `k1`, in one Secret.
fn vault_app(sops: &Path, vault: &Bao, dir: &Path, count: usize) -> PathBuf {
    let app = dir.join("app");
    let mut files = String::new();
    for i in 0..count {
        let name = format!("v{i}.txt");
        encrypt(
            sops,
            &app,
            &name,
            format!("TEST ONLY value {i}\n").as_bytes(),
            &["--hc-vault-transit", &vault.key_uri("k1")],
        );
        files.push_str(&format!("      - {name}\n"));
    }
    support::write_legacy_app(
        &app,
        &format!(
            "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: g\nsecretFrom:\n  - metadata:\n      name: vault-secret\n    files:\n{files}"
        ),
    );
    app
}

#[test]
fn a_generator_makes_one_request_for_many_files_through_kubectl_kustomize() {
    let [sops, bao, kubectl] = require_tools!("sops", "bao", "kubectl");
    let dir = TempDir::new("vault");
    let vault = Bao::start(&bao, dir.path());
    let home = empty_home(dir.path());
    let files = 6;
    let app = vault_app(&sops, &vault, dir.path(), files);
    let before = vault.decrypt_requests("k1");
    let rendered = support::kustomize_with_ksops(&kubectl, &home, &app, &vault.env());
    assert!(rendered.contains("name: vault-secret"), "{rendered}");
    for i in 0..files {
        assert!(
            rendered.contains(&format!("  v{i}.txt: |\n    TEST ONLY value {i}\n")),
            "{rendered}"
        );
    }
    assert_eq!(
        vault.decrypt_requests("k1") - before,
        1,
        "one batch request for {files} files"
    );
    // `ksops check --decrypt` fetches the keys of the files it checks the same way.
    let before = vault.decrypt_requests("k1");
    let mut cmd = support::controlled_command(&support::ksops_bin(), &home);
    cmd.args(["check", "--decrypt"])
        .arg(&app)
        .env("VAULT_ADDR", &vault.url)
        .env("VAULT_TOKEN", TOKEN);
    let out = support::run(&mut cmd).expect("run ksops check");
    assert!(
        out.success(),
        "{}{}",
        lossy_text(&out.stdout),
        lossy_text(&out.stderr)
    );
    assert_eq!(vault.decrypt_requests("k1") - before, 1);
    // sops makes one request per file.
    let before = vault.decrypt_requests("k1");
    for i in 0..2 {
        let file = app.join(format!("v{i}.txt"));
        assert!(decrypt_with(&sops, &home, &file, &vault.env()).success());
    }
    assert_eq!(vault.decrypt_requests("k1") - before, 2);
}

#[test]
fn project_keys_take_the_token_from_the_project_only() {
    let [sops, bao] = require_tools!("sops", "bao");
    let dir = TempDir::new("vault");
    let vault = Bao::start(&bao, dir.path());
    let home = empty_home(dir.path());
    fs::write(home.join(".vault-token"), TOKEN).expect("write token file");
    let app = vault_app(&sops, &vault, dir.path(), 2);
    let projects = dir.path().join("projects");
    fs::create_dir_all(projects.join("shop")).expect("mkdir project");
    fs::create_dir_all(projects.join("other")).expect("mkdir project");
    fs::write(projects.join("shop/vault-token"), format!("{TOKEN}\n")).expect("write token");
    let generate = |project: &str| {
        let mut cmd = support::controlled_command(&support::ksops_bin(), &home);
        cmd.arg("generator.yaml")
            .current_dir(&app)
            .env("KSOPS_PROJECT_KEYS_DIR", &projects)
            .env("ARGOCD_APP_PROJECT_NAME", project)
            .env("VAULT_ADDR", &vault.url)
            .env("VAULT_TOKEN", TOKEN);
        support::run(&mut cmd).expect("run ksops")
    };
    let out = generate("shop");
    assert!(out.success(), "{}", lossy_text(&out.stderr));
    assert!(
        lossy_text(&out.stdout).contains("name: vault-secret"),
        "{}",
        lossy_text(&out.stdout)
    );
    // Neither VAULT_TOKEN nor ~/.vault-token stands in for a project without a token file.
    let out = generate("other");
    assert!(!out.success());
    let report = support::words(&lossy_text(&out.stderr));
    assert!(report.contains("Code: 403"), "{report}");
    assert!(report.contains("No Vault token was sent"), "{report}");
}

#[test]
fn an_address_nobody_allowed_gets_no_connection_and_no_token() {
    let [sops, bao] = require_tools!("sops", "bao");
    let dir = TempDir::new("vault");
    let vault = Bao::start(&bao, dir.path());
    let home = empty_home(dir.path());
    let file = transit_yaml(&sops, &vault, dir.path());
    // The metadata is not covered by the MAC: a file can name any server.
    let elsewhere = TcpListener::bind("127.0.0.1:0").expect("bind");
    elsewhere.set_nonblocking(true).expect("nonblocking");
    let other = format!("http://{}", elsewhere.local_addr().expect("address"));
    let redirected = dir.path().join("redirected.yaml");
    fs::write(
        &redirected,
        fs::read_to_string(&file)
            .unwrap()
            .replace(&vault.url, &other),
    )
    .expect("write redirected file");
    for env in [
        vec![("VAULT_ADDR", vault.url.as_str()), ("VAULT_TOKEN", TOKEN)],
        vec![("VAULT_TOKEN", TOKEN)],
        vec![
            ("SOPS_HC_VAULT_ALLOWLIST", vault.url.as_str()),
            ("VAULT_TOKEN", TOKEN),
        ],
    ] {
        let out = decrypt_with(&support::ksops_bin(), &home, &redirected, &env);
        assert_eq!(out.code, Some(128), "{}", lossy_text(&out.stderr));
        let report = support::words(&lossy_text(&out.stderr));
        assert!(
            report.contains(&format!("Allowlist does not allow {other}")),
            "{report}"
        );
        assert!(report.contains("SOPS_HC_VAULT_ALLOWLIST"), "{report}");
        assert!(report.contains("Nothing was sent"), "{report}");
        assert!(!report.contains(TOKEN), "{report}");
    }
    assert!(elsewhere.accept().is_err(), "nothing connected");
}

#[test]
fn a_wrong_token_reads_like_sops() {
    let [sops, bao] = require_tools!("sops", "bao");
    let dir = TempDir::new("vault");
    let vault = Bao::start(&bao, dir.path());
    let home = empty_home(dir.path());
    let file = transit_yaml(&sops, &vault, dir.path());
    let wrong = "ksops-TEST-ONLY-wrong-token";
    let env = [("VAULT_ADDR", vault.url.as_str()), ("VAULT_TOKEN", wrong)];
    let expected = decrypt_with(&sops, &home, &file, &env);
    let ours = decrypt_with(&support::ksops_bin(), &home, &file, &env);
    assert_eq!(ours.code, expected.code, "{}", lossy_text(&ours.stderr));
    let report = lossy_text(&ours.stderr);
    assert!(
        report.contains(lossy_text(&expected.stderr).trim_end()),
        "sops:\n{}\nksops:\n{report}",
        lossy_text(&expected.stderr)
    );
    assert!(
        !report.contains(wrong) && !report.contains(TOKEN),
        "{report}"
    );
}

/// A file whose Vault key points at `address` (allowed through `VAULT_ADDR`).
fn file_for(sops: &Path, vault: &Bao, dir: &Path, address: &str) -> PathBuf {
    let file = transit_yaml(sops, vault, dir);
    let moved = dir.join("moved.yaml");
    fs::write(
        &moved,
        fs::read_to_string(&file)
            .unwrap()
            .replace(&vault.url, address),
    )
    .expect("write moved file");
    moved
}

#[test]
fn a_stopped_slow_or_garbled_server_fails_clearly() {
    let [sops, bao] = require_tools!("sops", "bao");
    let dir = TempDir::new("vault");
    let vault = Bao::start(&bao, dir.path());
    let home = empty_home(dir.path());
    let run = |address: &str, extra: &[(&str, &str)]| {
        let file = file_for(&sops, &vault, dir.path(), address);
        let mut env = vec![("VAULT_ADDR", address), ("VAULT_TOKEN", TOKEN)];
        env.extend_from_slice(extra);
        let out = decrypt_with(&support::ksops_bin(), &home, &file, &env);
        assert_eq!(out.code, Some(128), "{}", lossy_text(&out.stderr));
        let report = support::words(&lossy_text(&out.stderr));
        assert!(!report.contains(TOKEN), "{report}");
        assert!(
            report.contains(
                "failed to decrypt sops data key from Vault transit backend 'transit/decrypt/k1'"
            ),
            "{report}"
        );
        report
    };

    // Nothing listens: refused after the retries.
    let down = format!("http://127.0.0.1:{}", support::free_port());
    let report = run(&down, &[("VAULT_MAX_RETRIES", "1")]);
    assert!(
        report.contains(&format!(
            "Put \"{down}/v1/transit/decrypt/k1\": connection refused (after 2 attempts)"
        )),
        "{report}"
    );

    // A server that accepts and never answers: stopped by VAULT_CLIENT_TIMEOUT.
    let slow = TcpListener::bind("127.0.0.1:0").expect("bind");
    let slow_url = format!("http://{}", slow.local_addr().expect("address"));
    let holder = std::thread::spawn(move || {
        let held: Vec<_> = slow.incoming().take(1).collect();
        std::thread::sleep(std::time::Duration::from_secs(3));
        drop(held);
    });
    let report = run(
        &slow_url,
        &[("VAULT_CLIENT_TIMEOUT", "1s"), ("VAULT_MAX_RETRIES", "0")],
    );
    assert!(report.contains("no response in time"), "{report}");
    holder.join().expect("slow server");

    // A server answering something that is not Vault's JSON.
    let garbled = TcpListener::bind("127.0.0.1:0").expect("bind");
    let garbled_url = format!("http://{}", garbled.local_addr().expect("address"));
    let server = std::thread::spawn(move || {
        let (mut stream, _) = garbled.accept().expect("accept");
        let mut request = [0u8; 4096];
        let seen = stream.read(&mut request).unwrap_or(0);
        let body = "<html>TEST ONLY garbage</html>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).expect("answer");
        // Closing with unread request bytes would reset the connection: drain first.
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
        String::from_utf8_lossy(&request[..seen]).into_owned()
    });
    let report = run(&garbled_url, &[]);
    assert!(report.contains("the answer is not JSON"), "{report}");
    assert!(!report.contains("garbage"), "{report}");
    let request = server.join().expect("garbled server");
    assert!(
        request.starts_with("PUT /v1/transit/decrypt/k1 HTTP/1.1"),
        "{request}"
    );
}

#[test]
fn tls_servers_are_verified_with_the_vault_ca_settings() {
    let [sops, bao] = require_tools!("sops", "bao");
    let dir = TempDir::new("vault");
    let vault = Bao::start_tls(&bao, dir.path());
    let home = empty_home(dir.path());
    let ca = vault.ca.clone().expect("a TLS server has a CA");
    let ca_text = ca.to_string_lossy().into_owned();
    let file = support::sops_encrypt(
        &sops,
        dir.path(),
        "s.yaml",
        support::YAML_PLAINTEXT,
        &[],
        &["--hc-vault-transit", &vault.key_uri("k1")],
        &[("VAULT_TOKEN", TOKEN), ("VAULT_CACERT", ca_text.as_str())],
    );
    let base = [("VAULT_ADDR", vault.url.as_str()), ("VAULT_TOKEN", TOKEN)];
    fn with<'a>(
        base: &[(&'a str, &'a str)],
        extra: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        base.iter().chain(extra).copied().collect()
    }
    support::assert_same_as_sops(
        &sops,
        &home,
        &file,
        &with(&base, &[("VAULT_CACERT", &ca_text)]),
    );
    // A directory of CA certificates.
    let ca_dir = dir.path().join("cas");
    fs::create_dir_all(&ca_dir).expect("mkdir cas");
    fs::copy(&ca, ca_dir.join("ca.pem")).expect("copy CA");
    let ca_dir = ca_dir.to_string_lossy().into_owned();
    support::assert_same_as_sops(
        &sops,
        &home,
        &file,
        &with(&base, &[("VAULT_CAPATH", &ca_dir)]),
    );
    // Without the CA the server is refused, once: a certificate failure is not retried.
    let out = decrypt_with(&support::ksops_bin(), &home, &file, &base);
    assert_eq!(out.code, Some(128), "{}", lossy_text(&out.stderr));
    let report = support::words(&lossy_text(&out.stderr));
    assert!(report.contains("certificate"), "{report}");
    assert!(report.contains("(after 1 attempt)"), "{report}");
    assert!(!report.contains(TOKEN), "{report}");
    // VAULT_SKIP_VERIFY accepts it (test servers only).
    let out = decrypt_with(
        &support::ksops_bin(),
        &home,
        &file,
        &with(&base, &[("VAULT_SKIP_VERIFY", "true")]),
    );
    assert!(out.success(), "{}", lossy_text(&out.stderr));
}
