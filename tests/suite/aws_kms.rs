//! AWS KMS master keys against a real KMS emulator (`moto_server`): files encrypted with the
//! real sops decrypt byte for byte as `sops decrypt` prints them, in every store, with an
//! encryption context, through an STS role, with an `aws_profile` of a shared credentials
//! file, with a web identity token or the container credentials endpoint, and beside age keys; a tampered context fails as in sops;
//! the generator works through `kubectl kustomize`; a down, slow or garbled service fails
//! clearly; a crafted ARN cannot choose the host; project keys use only the project's AWS
//! files; no secret key or session token reaches standard error.
//!
//! Every credential here is a TEST ONLY value: moto accepts any.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, LocalServer, TempDir, decrypt_with, lossy_text, require_tools};

/// The TEST ONLY secret key of the environment's credentials.
pub(crate) const SECRET: &str = "TEST-ONLY-secret-access-key-0123456789";
/// The TEST ONLY session token of the environment's credentials.
pub(crate) const SESSION: &str = "TEST-ONLY-session-token-abcdef";

/// An encryption context of two pairs.
const CONTEXT: &[&str] = &["--encryption-context", "team:shop,env:prod"];

/// A moto server and one symmetric KMS key in it.
pub(crate) struct Moto {
    server: LocalServer,
    /// The key's ARN.
    pub(crate) arn: String,
}

impl Moto {
    /// Starts moto on a free port (its log in `dir`) and creates the key.
    pub(crate) fn start(moto_server: &Path, dir: &Path) -> Moto {
        let port = support::free_port();
        let mut cmd = Command::new(moto_server);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let server = LocalServer::start(cmd, port, dir, "moto");
        let created = kms_call(server.port, "CreateKey", "{}");
        let arn = created
            .split("\"Arn\": \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no key ARN in moto's answer: {created}"))
            .to_owned();
        Moto { server, arn }
    }

    /// The environment that points sops and ksops at moto with TEST ONLY credentials.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.server.url.clone()),
            ("AWS_ACCESS_KEY_ID", "AKIDTESTONLY".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
            ("AWS_SESSION_TOKEN", SESSION.to_owned()),
        ]
    }

    /// Encrypts `plain` into `dir/name` with the real sops for this key, with the `more` flags
    /// (`--encryption-context …`, `--age …`, …).
    pub(crate) fn encrypt(
        &self,
        sops: &Path,
        dir: &Path,
        name: &str,
        plain: &[u8],
        more: &[&str],
    ) -> PathBuf {
        let flags = [&["--kms", self.arn.as_str()], more].concat();
        support::sops_encrypt(sops, dir, name, plain, &[], &flags, &self.env())
    }

    /// `dir/s.yaml`: the YAML plaintext encrypted as [`Moto::encrypt`] encrypts.
    fn encrypt_yaml(&self, sops: &Path, dir: &Path, more: &[&str]) -> PathBuf {
        self.encrypt(sops, dir, "s.yaml", support::YAML_PLAINTEXT, more)
    }

    /// The endpoint only: credentials must come from elsewhere.
    fn endpoint_only(&self) -> Vec<(&'static str, String)> {
        vec![("AWS_ENDPOINT_URL", self.server.url.clone())]
    }
}

/// The sops binary and moto started in `dir`; `None` only when a tool is missing under
/// `KSOPS_SKIP_MISSING_TOOLS=1` (see [`require_tools`]).
fn sops_and_moto(dir: &TempDir) -> Option<(PathBuf, Moto)> {
    let [moto_server, sops] = require_tools!("moto_server", "sops");
    Some((sops, Moto::start(&moto_server, dir.path())))
}

/// One KMS call to moto (unsigned: moto only reads the service from the credential scope).
fn kms_call(port: u16, operation: &str, body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Amz-Target: TrentService.{operation}\r\n\
         Content-Type: application/x-amz-json-1.1\r\nAuthorization: AWS4-HMAC-SHA256 \
         Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send to moto");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("read moto's answer");
    answer
}

/// `program` in `home` with a controlled environment plus `env`.
fn command(program: &Path, home: &Path, env: &[(&str, String)]) -> Command {
    let mut cmd = support::controlled_command(program, home);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd
}

/// `dir/s.yaml`: the YAML plaintext encrypted with the real sops, `flags` and `env`.
fn encrypt_yaml_with(sops: &Path, env: &[(&str, String)], dir: &Path, flags: &[&str]) -> PathBuf {
    support::sops_encrypt(
        sops,
        dir,
        "s.yaml",
        support::YAML_PLAINTEXT,
        &[],
        flags,
        env,
    )
}

/// `dir/s.yaml` encrypted for the key of `moto`, and the bytes sops decrypts it to.
fn yaml_and_sops_output(sops: &Path, moto: &Moto, dir: &Path) -> (PathBuf, Vec<u8>) {
    let file = moto.encrypt_yaml(sops, dir, &[]);
    let expected = decrypt_with(sops, dir, &file, &moto.env());
    assert!(expected.success(), "{}", lossy_text(&expected.stderr));
    (file, expected.stdout)
}

/// No credential of the environment in `stderr`.
fn assert_no_secret(stderr: &str) {
    for secret in [SECRET, SESSION, "TEST-ONLY-profile-secret"] {
        assert!(
            !stderr.contains(secret),
            "a secret reached stderr: {stderr}"
        );
    }
}

#[test]
fn every_store_decrypts_like_sops_with_and_without_a_context() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let env = moto.env();
    for (name, plain) in support::STORE_PLAINTEXTS {
        let file = moto.encrypt(&sops, dir.path(), name, plain, &[]);
        support::assert_same_as_sops(&sops, dir.path(), &file, &env);
        let context = dir.path().join("context");
        let with_context = moto.encrypt(&sops, &context, name, plain, CONTEXT);
        support::assert_same_as_sops(&sops, dir.path(), &with_context, &env);
    }
    // The context is in the metadata, in any order.
    let yaml = lossy_text(&fs::read(dir.path().join("context/s.yaml")).unwrap());
    assert!(yaml.contains("team: shop"), "{yaml}");
}

#[test]
fn a_tampered_context_fails_like_sops_without_leaking_credentials() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let env = moto.env();
    let file = moto.encrypt_yaml(&sops, dir.path(), CONTEXT);
    let original = lossy_text(&fs::read(&file).unwrap());
    assert!(original.contains("env: prod"));
    fs::write(&file, original.replace("env: prod", "env: dev")).unwrap();
    let theirs = decrypt_with(&sops, dir.path(), &file, &env);
    let ours = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
    assert_eq!(theirs.code, Some(128), "{}", lossy_text(&theirs.stderr));
    assert_eq!(ours.code, Some(128), "{}", lossy_text(&ours.stderr));
    let report = support::words(&lossy_text(&ours.stderr));
    let label = format!("{}|env:dev,team:shop: FAILED", moto.arn);
    for expected in [
        label.as_str(),
        "failed to decrypt sops data key with AWS KMS: operation error KMS: Decrypt, https \
         response error StatusCode: 400",
        "InvalidCiphertextException",
    ] {
        assert!(report.contains(expected), "{expected}: {report}");
        assert!(
            support::words(&lossy_text(&theirs.stderr)).contains(expected),
            "sops: {expected}"
        );
    }
    assert_no_secret(&lossy_text(&ours.stderr));
}

#[test]
fn a_role_is_assumed_through_sts() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let env = moto.env();
    let key = format!("{}+arn:aws:iam::123456789012:role/ksops-test", moto.arn);
    let file = encrypt_yaml_with(&sops, &env, dir.path(), &["--kms", &key]);
    assert!(
        lossy_text(&fs::read(&file).unwrap())
            .contains("role: arn:aws:iam::123456789012:role/ksops-test")
    );
    support::assert_same_as_sops(&sops, dir.path(), &file, &env);
    assert!(
        moto.server.output().contains("POST /"),
        "no request reached moto"
    );
    // A refused AssumeRole is reported as sops reports it, with STS's code and message.
    let denied = fake_service(Some(
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 146\r\nConnection: close\r\n\r\n\
         <ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not \
         allowed</Message></Error><RequestId>r-1</RequestId></ErrorResponse>",
    ));
    let mut env = env;
    env.push(("AWS_ENDPOINT_URL_STS", denied));
    let out = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
    assert_eq!(out.code, Some(128), "{}", lossy_text(&out.stderr));
    let report = support::words(&lossy_text(&out.stderr));
    assert!(report.contains(&format!("{key}: FAILED")), "{report}");
    assert!(
        report.contains(
            "failed to assume role 'arn:aws:iam::123456789012:role/ksops-test': operation \
             error STS: AssumeRole, https response error StatusCode: 403, RequestID: r-1, api \
             error AccessDenied: not allowed"
        ),
        "{report}"
    );
    assert_no_secret(&lossy_text(&out.stderr));
}

#[test]
fn aws_profile_reads_the_shared_credentials_file() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let credentials = dir.path().join("credentials");
    fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIDDEFAULT\n\n[team]\naws_access_key_id = AKIDTEAM\n\
         aws_secret_access_key = TEST-ONLY-profile-secret\n",
    )
    .unwrap();
    let mut env = moto.endpoint_only();
    env.push((
        "AWS_SHARED_CREDENTIALS_FILE",
        credentials.display().to_string(),
    ));
    let file = encrypt_yaml_with(
        &sops,
        &env,
        dir.path(),
        &["--kms", &moto.arn, "--aws-profile", "team"],
    );
    assert!(lossy_text(&fs::read(&file).unwrap()).contains("aws_profile: team"));
    support::assert_same_as_sops(&sops, dir.path(), &file, &env);
    // A profile that is not in the files fails as in sops, naming it.
    let other =
        lossy_text(&fs::read(&file).unwrap()).replace("aws_profile: team", "aws_profile: nobody");
    fs::write(&file, other).unwrap();
    let out = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
    assert_eq!(out.code, Some(128));
    let report = support::words(&lossy_text(&out.stderr));
    assert!(
        report.contains(&format!("{}||nobody: FAILED", moto.arn)),
        "{report}"
    );
    assert!(
        report.contains("could not load AWS config: failed to get shared config profile, nobody"),
        "{report}"
    );
    assert_no_secret(&lossy_text(&out.stderr));
}

#[test]
fn a_web_identity_token_file_gives_credentials() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let (file, expected) = yaml_and_sops_output(&sops, &moto, dir.path());
    let token = dir.path().join("token");
    fs::write(&token, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJURVNUIE9OTFkifQ.\n").unwrap();
    let mut env = moto.endpoint_only();
    env.push(("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()));
    env.push((
        "AWS_ROLE_ARN",
        "arn:aws:iam::123456789012:role/irsa".to_owned(),
    ));
    let ours = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
    assert!(ours.success(), "{}", lossy_text(&ours.stderr));
    assert!(ours.stdout == expected);
    // Without the role the token cannot be exchanged, and nothing else gives credentials.
    env.pop();
    let out = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
    assert_eq!(out.code, Some(128));
    assert!(
        support::words(&lossy_text(&out.stderr)).contains("needs a role ARN (AWS_ROLE_ARN)"),
        "{}",
        lossy_text(&out.stderr)
    );
    // Without any source: the report says where ksops looked, and that IMDS is not read.
    let out = decrypt_with(
        &support::ksops_bin(),
        dir.path(),
        &file,
        &moto.endpoint_only(),
    );
    assert_eq!(out.code, Some(128));
    let report = support::words(&lossy_text(&out.stderr));
    assert!(
        report.contains(
            "get identity: get credentials: failed to refresh cached credentials, no AWS \
             credentials found: none in the environment"
        ),
        "{report}"
    );
    assert!(report.contains("profile default of"), "{report}");
    assert!(report.contains("(IMDS)"), "{report}");
}

#[test]
fn age_and_kms_keys_each_decrypt_alone() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let (identity, recipient) = support::vector_age_identity();
    let env = moto.env();
    let file = moto.encrypt_yaml(&sops, dir.path(), &["--age", &recipient]);
    // KMS only: no age identity.
    support::assert_same_as_sops(&sops, dir.path(), &file, &env);
    // age only: KMS is unreachable (a port nobody listens on) and has no credentials.
    let dead = vec![
        (
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", support::free_port()),
        ),
        ("AWS_MAX_ATTEMPTS", "1".to_owned()),
        ("SOPS_AGE_KEY_FILE", identity.display().to_string()),
    ];
    support::assert_same_as_sops(&sops, dir.path(), &file, &dead);
    // KMS first: the unreachable service is tried, then age decrypts.
    let mut kms_first = dead.clone();
    kms_first.push(("SOPS_DECRYPTION_ORDER", "kms,age".to_owned()));
    kms_first.extend(
        env.into_iter()
            .filter(|(name, _)| *name != "AWS_ENDPOINT_URL"),
    );
    let out = decrypt_with(&support::ksops_bin(), dir.path(), &file, &kms_first);
    assert!(out.success(), "{}", lossy_text(&out.stderr));
}

#[test]
fn generator_renders_kms_files_through_kubectl_kustomize() {
    let [kubectl] = require_tools!("kubectl");
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let env = moto.env();
    let app = dir.path().join("app");
    moto.encrypt(
        &sops,
        &app,
        "secret.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: kms-secret\ndata:\n  password: VEVTVCBPTkxZ\n",
        &["--encrypted-regex", "^data$"],
    );
    support::write_legacy_app(&app, support::ONE_FILE_GENERATOR);
    let rendered = support::kustomize_with_ksops(&kubectl, dir.path(), &app, &env);
    assert!(
        rendered.contains("password: VEVTVCBPTkxZ"),
        "no decrypted value"
    );
    assert!(rendered.contains("name: kms-secret") && !rendered.contains("ENC["));
}

#[test]
fn project_keys_use_only_the_project_aws_files() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let app = dir.path().join("app");
    moto.encrypt(
        &sops,
        &app,
        "secret.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n",
        &[],
    );
    support::write_legacy_app(&app, support::ONE_FILE_GENERATOR);
    let projects = dir.path().join("projects");
    fs::create_dir_all(projects.join("shop/aws")).unwrap();
    fs::create_dir_all(projects.join("other")).unwrap();
    fs::write(
        projects.join("shop/aws/credentials"),
        "[default]\naws_access_key_id = AKIDSHOP\naws_secret_access_key = TEST-ONLY-profile-secret\n",
    )
    .unwrap();
    let generate = |project: &str, env: &[(&str, String)]| {
        let mut cmd = command(&support::ksops_bin(), dir.path(), env);
        cmd.arg("generator.yaml")
            .current_dir(&app)
            .env("KSOPS_PROJECT_KEYS_DIR", &projects)
            .env("ARGOCD_APP_PROJECT_NAME", project);
        support::run(&mut cmd).expect("run ksops")
    };
    let out = generate("shop", &moto.endpoint_only());
    assert!(out.success(), "{}", lossy_text(&out.stderr));
    assert!(lossy_text(&out.stdout).contains("name: s"));
    // Another project has no AWS directory: KMS keys are not tried, even with credentials in
    // the environment.
    let out = generate("other", &moto.env());
    assert!(!out.success());
    let report = support::words(&lossy_text(&out.stderr));
    assert!(
        report.contains("AWS KMS is not a key source here"),
        "{report}"
    );
    assert_no_secret(&lossy_text(&out.stderr));
}

/// A loopback server that answers every connection with `answer` (or holds it open without
/// answering when `None`), for as long as the test runs.
fn fake_service(answer: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            match answer {
                Some(answer) => {
                    let _ = stream.write_all(answer.as_bytes());
                }
                None => held.push(stream),
            }
        }
    });
    url
}

#[test]
fn a_down_slow_or_garbled_service_fails_clearly() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let file = moto.encrypt_yaml(&sops, dir.path(), &[]);
    let down = format!("http://127.0.0.1:{}", support::free_port());
    let slow = fake_service(None);
    let garbage = fake_service(Some(
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!",
    ));
    let failing = fake_service(Some(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
    ));
    for (endpoint, expected) in [
        (down.as_str(), "connection refused (after 2 attempts)"),
        (slow.as_str(), "no response in time (after 2 attempts)"),
        (garbage.as_str(), "deserialization failed"),
        (failing.as_str(), "StatusCode: 503"),
    ] {
        let mut env: Vec<(&str, String)> = moto
            .env()
            .into_iter()
            .filter(|(name, _)| *name != "AWS_ENDPOINT_URL")
            .collect();
        env.push(("AWS_ENDPOINT_URL_KMS", endpoint.to_owned()));
        env.push(("AWS_MAX_ATTEMPTS", "2".to_owned()));
        env.push(("KSOPS_AWS_TIMEOUT", "1".to_owned()));
        let out = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
        assert_eq!(
            out.code,
            Some(128),
            "{endpoint}: {}",
            lossy_text(&out.stderr)
        );
        let report = support::words(&lossy_text(&out.stderr));
        assert!(
            report.contains(
                "failed to decrypt sops data key with AWS KMS: operation error KMS: Decrypt,"
            ),
            "{report}"
        );
        assert!(report.contains(expected), "{expected}: {report}");
        assert_no_secret(&lossy_text(&out.stderr));
    }
}

#[test]
fn a_crafted_arn_cannot_choose_the_host() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let file = moto.encrypt_yaml(&sops, dir.path(), &[]);
    let original = lossy_text(&fs::read(&file).unwrap());
    // Without an operator endpoint the region would become the host name: only plain region
    // names are accepted, and nothing is sent for the others.
    let env: Vec<(&str, String)> = moto
        .env()
        .into_iter()
        .filter(|(name, _)| *name != "AWS_ENDPOINT_URL")
        .collect();
    for region in ["127.0.0.1:9/x", "evil.example", "us-east-1.evil.example#"] {
        let crafted = original.replace(":us-east-1:", &format!(":{region}:"));
        assert_ne!(crafted, original);
        fs::write(&file, crafted).unwrap();
        let out = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
        assert_eq!(out.code, Some(128), "{region}");
        let report = support::words(&lossy_text(&out.stderr));
        assert!(
            report.contains("is not a plain AWS region name"),
            "{report}"
        );
        assert!(report.contains("no request is sent"), "{report}");
    }
    // With the operator's endpoint the host is not at stake, but the region is still checked.
    let crafted = original.replace(":us-east-1:", ":evil.example:");
    fs::write(&file, crafted).unwrap();
    let out = decrypt_with(&support::ksops_bin(), dir.path(), &file, &moto.env());
    assert_eq!(out.code, Some(128));
    assert!(support::words(&lossy_text(&out.stderr)).contains("is not a plain AWS region name"));
}

#[test]
fn the_container_endpoint_gives_credentials_with_its_token() {
    let dir = TempDir::new("aws");
    let Some((sops, moto)) = sops_and_moto(&dir) else {
        return;
    };
    let (file, expected) = yaml_and_sops_output(&sops, &moto, dir.path());
    // An EKS Pod Identity style endpoint: loopback HTTP, a token file, JSON credentials.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/credentials", listener.local_addr().unwrap());
    let endpoint = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let n = stream.read(&mut buf).unwrap();
        let body = format!(
            "{{\"AccessKeyId\":\"ASIATESTONLY\",\"SecretAccessKey\":\"{SECRET}\",\"Token\":\
             \"{SESSION}\",\"Expiration\":\"2099-01-01T00:00:00Z\"}}"
        );
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    let token = dir.path().join("pod-identity-token");
    fs::write(&token, "TEST-ONLY-pod-token\n").unwrap();
    let mut env = moto.endpoint_only();
    env.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI", url));
    env.push((
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        token.display().to_string(),
    ));
    let ours = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
    assert!(ours.success(), "{}", lossy_text(&ours.stderr));
    assert!(ours.stdout == expected);
    let request = endpoint.join().unwrap();
    assert!(request.starts_with("GET /v1/credentials "), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: test-only-pod-token\r\n"),
        "{request}"
    );
    // An http endpoint elsewhere than loopback or the ECS/EKS hosts never gets the token.
    let mut env = moto.endpoint_only();
    env.push((
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://example.invalid/creds".to_owned(),
    ));
    env.push((
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        token.display().to_string(),
    ));
    let out = decrypt_with(&support::ksops_bin(), dir.path(), &file, &env);
    assert_eq!(out.code, Some(128));
    assert!(
        support::words(&lossy_text(&out.stderr))
            .contains("AWS_CONTAINER_CREDENTIALS_FULL_URI must be an https URL"),
        "{}",
        lossy_text(&out.stderr)
    );
}
