//! The keyless dry run (`KSOPS_DRY_RUN=1`, `ksops render --dry-run`) and the redacted render
//! (`ksops render --redact`), end to end on the overlays of `tests/fixtures/dry-run/` (made by
//! `scripts/gen-dry-run-fixtures.sh` with the real sops, encrypted for the two TEST ONLY vector
//! identities).
//!
//! A dry run is compared field by field with a real render of the same overlay: same objects,
//! names (modulo kustomize's content-hash suffix), namespaces, labels, annotations, types and
//! Secret keys, every value the placeholder; and it runs with an empty `HOME` and no identity
//! anywhere. A redacted render must be stable, show no value, and change exactly the marker of a
//! changed value.

use crate::support::{self, require_tools};

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{RunOutput, TempDir};
use ksops::sops::parse_yaml;
use ksops::sops::{Document, Mapping, Value};

const PLACEHOLDER: &str = "KSOPS_DRY_RUN_PLACEHOLDER";
const PLACEHOLDER_BASE64: &str = "S1NPUFNfRFJZX1JVTl9QTEFDRUhPTERFUg==";

fn fixtures() -> PathBuf {
    support::crate_root().join("tests/fixtures/dry-run")
}

fn identity(n: usize) -> PathBuf {
    let name = match n {
        1 => "age-test-identity.txt".to_owned(),
        n => format!("age-test-identity-{n}.txt"),
    };
    support::vectors_dir().join(name)
}

/// A writable copy of the fixture overlays.
fn copy_fixtures() -> TempDir {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).expect("mkdir");
        for entry in fs::read_dir(from).expect("read fixture dir") {
            let entry = entry.expect("fixture entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("file type").is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), &target).expect("copy fixture");
            }
        }
    }
    let tmp = TempDir::new("dry-run-fixtures");
    copy(&fixtures(), tmp.path());
    tmp
}

/// `ksops render ARGS DIR` with an empty `HOME` and only the given variables.
fn render(dir: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> RunOutput {
    let home = TempDir::new("render-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.arg("render").args(args).arg(dir);
    for (name, value) in env {
        cmd.env(name, value);
    }
    support::run(&mut cmd).expect("run ksops render")
}

fn render_with_key(dir: &Path, args: &[&str], key: usize) -> RunOutput {
    render(
        dir,
        args,
        &[("SOPS_AGE_KEY_FILE", identity(key).as_os_str())],
    )
}

/// The generator run directly, as kustomize runs a legacy plugin (in the overlay directory).
fn generator(dir: &Path, env: &[(&str, &str)]) -> RunOutput {
    let home = TempDir::new("generator-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.arg("secret-generator.yaml").current_dir(dir);
    for (name, value) in env {
        cmd.env(name, value);
    }
    support::run(&mut cmd).expect("run ksops")
}

fn stdout(out: &RunOutput, what: &str) -> String {
    assert!(
        out.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn objects(yaml: &str) -> Vec<Document> {
    parse_yaml(yaml.as_bytes()).expect("output parses as YAML")
}

fn text(map: &Mapping, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_bytes)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

fn submap<'a>(map: &'a Mapping, key: &str) -> Option<&'a Mapping> {
    match map.get(key) {
        Some(Value::Mapping(m)) => Some(m),
        _ => None,
    }
}

/// A string map's entries, sorted by key.
fn pairs(map: Option<&Mapping>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = map
        .map(|m| {
            m.entries()
                .map(|e| {
                    let value = e.value.as_bytes().map(|b| String::from_utf8_lossy(b));
                    (e.key.clone(), value.unwrap_or_default().into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A name without kustomize's content-hash suffix (`-` and ten characters of its alphabet).
fn base_name(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((base, suffix))
            if suffix.len() == 10
                && suffix
                    .chars()
                    .all(|c| "bcdfghjkmnpqrstvwxz2456789".contains(c)) =>
        {
            base
        }
        _ => name,
    }
}

/// Everything about an object but its values.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    kind: Option<String>,
    name: String,
    api_version: Option<String>,
    namespace: Option<String>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    type_: Option<String>,
    data_keys: Vec<String>,
    string_data_keys: Vec<String>,
}

fn shape(doc: &Document) -> Shape {
    let metadata = submap(doc, "metadata");
    let keys = |field| {
        pairs(submap(doc, field))
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    Shape {
        kind: text(doc, "kind"),
        name: base_name(&metadata.and_then(|m| text(m, "name")).unwrap_or_default()).to_owned(),
        api_version: text(doc, "apiVersion"),
        namespace: metadata.and_then(|m| text(m, "namespace")),
        labels: pairs(metadata.and_then(|m| submap(m, "labels"))),
        annotations: pairs(metadata.and_then(|m| submap(m, "annotations"))),
        type_: text(doc, "type"),
        data_keys: keys("data"),
        string_data_keys: keys("stringData"),
    }
}

fn shapes(docs: &[Document]) -> Vec<Shape> {
    let mut shapes: Vec<Shape> = docs.iter().map(shape).collect();
    shapes.sort();
    shapes
}

fn is_secret(doc: &Document) -> bool {
    text(doc, "kind").as_deref() == Some("Secret")
}

/// Every Secret value: (Secret base name, `data` or `stringData`, key, value).
fn secret_values(docs: &[Document]) -> Vec<(String, &'static str, String, String)> {
    let mut out = Vec::new();
    for doc in docs.iter().filter(|d| is_secret(d)) {
        let name = shape(doc).name;
        for field in ["data", "stringData"] {
            for (key, value) in pairs(submap(doc, field)) {
                out.push((name.clone(), field, key, value));
            }
        }
    }
    out.sort();
    out
}

/// The output with every hashed Secret name replaced by its base name.
fn without_hash_suffixes(yaml: &str) -> String {
    let mut out = yaml.to_owned();
    for doc in objects(yaml).iter().filter(|d| is_secret(d)) {
        let name = submap(doc, "metadata")
            .and_then(|m| text(m, "name"))
            .unwrap_or_default();
        out = out.replace(&name, base_name(&name));
    }
    out
}

fn tools(names: &[&str]) -> bool {
    names
        .iter()
        .all(|name| support::require_tool(name).is_some())
}

#[test]
fn dry_run_matches_a_real_render_field_by_field() {
    if !tools(&["kubectl"]) {
        return;
    }
    let overlay = fixtures().join("overlay");
    let real = stdout(&render_with_key(&overlay, &[], 1), "real render");

    // `ksops render --dry-run`: empty HOME, no SOPS_* variable, no identity anywhere.
    let dry = stdout(
        &render(&overlay, &["--dry-run"], &[]),
        "ksops render --dry-run",
    );

    // kubectl kustomize with the variable in its environment, as in any CI job or Argo CD. A
    // key command that would leave a trace shows that no identity source is even read.
    let scratch = TempDir::new("dry-run-kubectl");
    let plugin_dir = scratch.path().join("plugins/viaduct.ai/v1/ksops");
    fs::create_dir_all(&plugin_dir).expect("mkdir plugin home");
    std::os::unix::fs::symlink(support::ksops_bin(), plugin_dir.join("ksops")).expect("link");
    let trace = scratch.path().join("key-command-ran");
    let kubectl = support::find_tool("kubectl").expect("kubectl");
    let home = TempDir::new("dry-run-kubectl-home");
    let mut cmd = support::controlled_command(&kubectl, home.path());
    cmd.args(["kustomize", "--enable-alpha-plugins"])
        .arg(&overlay)
        .env("KUSTOMIZE_PLUGIN_HOME", scratch.path().join("plugins"))
        .env("KSOPS_DRY_RUN", "1")
        .env("SOPS_AGE_KEY_CMD", format!("touch {}", trace.display()));
    let via_kubectl = stdout(&support::run(&mut cmd).expect("run kubectl"), "kubectl");
    assert!(!trace.exists(), "a dry run ran SOPS_AGE_KEY_CMD");
    assert_eq!(via_kubectl, dry, "kubectl with KSOPS_DRY_RUN=1 differs");

    let (real_docs, dry_docs) = (objects(&real), objects(&dry));
    assert_eq!(shapes(&dry_docs), shapes(&real_docs));
    let real_values = secret_values(&real_docs);
    let dry_values = secret_values(&dry_docs);
    assert_eq!(
        real_values.len(),
        11,
        "the fixture's Secret values: {real_values:?}"
    );
    for (real, dry) in real_values.iter().zip(&dry_values) {
        assert_eq!((&real.0, real.1, &real.2), (&dry.0, dry.1, &dry.2));
        let expected = if dry.1 == "data" {
            PLACEHOLDER_BASE64
        } else {
            PLACEHOLDER
        };
        assert_eq!(dry.3, expected, "{}/{}/{}", dry.0, dry.1, dry.2);
        assert!(!dry.3.contains(&real.3) && !real.3.contains(PLACEHOLDER));
    }
    // Objects without secrets are rendered exactly as for real, references following the
    // (differently) hashed names.
    let deployment = |yaml: &str| {
        let text = without_hash_suffixes(yaml);
        text[text.find("kind: Deployment").expect("a Deployment")..].to_owned()
    };
    assert_eq!(deployment(&dry), deployment(&real));
    assert!(
        dry.contains("secretName: database-"),
        "hash suffix lost: {dry}"
    );
}

#[test]
fn dry_run_as_a_krm_function_under_kpt() {
    if !tools(&["kpt"]) {
        return;
    }
    let overlay = fixtures().join("overlay");
    let legacy = stdout(
        &generator(&overlay, &[("KSOPS_DRY_RUN", "1")]),
        "legacy generator",
    );

    let tmp = TempDir::new("dry-run-kpt");
    let package = tmp.path().join("package");
    fs::create_dir_all(&package).expect("mkdir package");
    let encrypted = [
        "database.secret.yaml",
        "tls.secret.yaml",
        "settings.enc.json",
        "token.txt",
        "signing.bin",
        "app.secret.env",
    ];
    for name in encrypted {
        fs::copy(overlay.join(name), package.join(name)).expect("copy input");
    }
    // kpt reads every YAML file of a package; the encrypted inputs are not its resources.
    fs::write(package.join(".krmignore"), encrypted.join("\n")).expect("write .krmignore");
    fs::copy(
        overlay.join("deployment.yaml"),
        package.join("deployment.yaml"),
    )
    .expect("copy");
    let kpt = support::find_tool("kpt").expect("kpt");
    let home = TempDir::new("kpt-home");
    let config = overlay.join("secret-generator.yaml");
    let mut cmd = support::kpt_fn_eval(&kpt, home.path(), &package, &config);
    cmd.env("KSOPS_DRY_RUN", "1");
    let krm = stdout(&support::run(&mut cmd).expect("run kpt"), "kpt fn eval");

    // The KRM function emits the same objects as the legacy plugin, beside the package's own
    // (kpt adds its `config.kubernetes.io/path` bookkeeping annotations).
    let list = objects(&krm).into_iter().next().expect("a ResourceList");
    let Some(Value::Sequence(items)) = list.get("items") else {
        panic!("no items in {krm}");
    };
    let secrets: Vec<Document> = items
        .iter()
        .filter_map(|item| match item {
            Value::Mapping(doc) if is_secret(doc) => Some(doc.clone()),
            _ => None,
        })
        .collect();
    let without_kpt = |mut shape: Shape| {
        shape
            .annotations
            .retain(|(k, _)| !k.contains("config.kubernetes.io/"));
        shape
    };
    let legacy_docs = objects(&legacy);
    assert_eq!(
        shapes(&secrets)
            .into_iter()
            .map(without_kpt)
            .collect::<Vec<_>>(),
        shapes(&legacy_docs)
    );
    assert_eq!(secret_values(&secrets), secret_values(&legacy_docs));
    assert!(krm.contains("kind: Deployment"), "package resource lost");
    assert!(!krm.contains("correct-horse"), "a value was decrypted");
}

#[test]
fn dry_run_refuses_encrypted_identity_fields_with_advice() {
    if !tools(&["kubectl"]) {
        return;
    }
    let out = render(&fixtures().join("full"), &["--dry-run"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.success() && out.stdout.is_empty(), "{stderr}");
    for needle in [
        "generator `viaduct.ai/v1/ksops/full-secrets`",
        "files[0] (`full.secret.yaml`)",
        "`apiVersion`, `kind` and `metadata.name` are encrypted",
        "encrypted_regex: ^(data|stringData)$",
    ] {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
    // With the key, the redacted render of the same file works: identity fields stay clear.
    let redacted = render_with_key(&fixtures().join("full"), &["--redact"], 1);
    let redacted = stdout(&redacted, "redacted render of a fully encrypted file");
    assert!(
        redacted.contains("name: everything-encrypted"),
        "{redacted}"
    );
    assert!(redacted.contains("password: <redacted len=21 hmac-sha256="));
}

#[test]
fn dry_run_still_enforces_everything_that_needs_no_key() {
    let fixtures = copy_fixtures();
    let overlay = fixtures.path().join("overlay");
    let database = overlay.join("database.secret.yaml");
    let original = fs::read_to_string(&database).expect("read database.secret.yaml");
    let config = overlay.join("secret-generator.yaml");
    let original_config = fs::read_to_string(&config).expect("read config");
    let password_line = original
        .lines()
        .find(|l| l.trim_start().starts_with("password: ENC["))
        .expect("an encrypted password line")
        .to_owned();

    let file_cases: [(&str, String, &str); 4] = [
        (
            "not a SOPS file",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: database\n".to_owned(),
            "sops metadata not found",
        ),
        (
            "broken metadata",
            original.replace("lastmodified: \"", "lastmodified: \"x"),
            "parsing time",
        ),
        (
            "a clear value where the rule says encrypted",
            original.replace(&password_line, "    password: hunter2-in-clear"),
            "does not match sops' data format",
        ),
        (
            "a malformed encrypted value",
            original.replace(&password_line, &password_line.replace(",iv:", ",iv:!")),
            "base64",
        ),
    ];
    for (name, content, needle) in &file_cases {
        fs::write(&database, content).expect("write mutation");
        let out = generator(&overlay, &[("KSOPS_DRY_RUN", "1")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.code, Some(1), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: printed output");
        assert!(
            stderr.contains("database.secret.yaml") && stderr.contains(needle),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{name}: value in the message");
    }
    fs::write(&database, &original).expect("restore");

    let config_cases = [
        (
            "missing file",
            "database.secret.yaml",
            "nope.yaml",
            "nope.yaml",
        ),
        (
            "outside the root",
            "database.secret.yaml",
            "../full/full.secret.yaml",
            "outside",
        ),
        (
            "unknown field",
            "secretFrom:",
            "secretFrm:",
            "unknown field",
        ),
    ];
    for (name, from, to, needle) in config_cases {
        fs::write(&config, original_config.replace(from, to)).expect("write config");
        let out = generator(&overlay, &[("KSOPS_DRY_RUN", "1")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.code, Some(1), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: printed output");
        assert!(stderr.contains(needle), "{name}: {stderr}");
    }
    fs::write(&config, &original_config).expect("restore config");

    // Tenant binding checks the namespace as written (no key, so unauthenticated).
    let out = generator(
        &overlay,
        &[
            ("KSOPS_DRY_RUN", "1"),
            ("KSOPS_BIND_NAMESPACE", "1"),
            ("ARGOCD_APP_NAMESPACE", "team-a"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.code, Some(1), "binding: {stderr}");
    assert!(stderr.contains("no metadata.namespace"), "{stderr}");

    // A value that might mean "on" is refused rather than decrypting by surprise.
    let out = generator(&overlay, &[("KSOPS_DRY_RUN", "yes")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.code, Some(1), "{stderr}");
    assert!(stderr.contains("KSOPS_DRY_RUN must be 1"), "{stderr}");
}

/// `<redacted len=N hmac-sha256=HEX>` → (N, HEX).
fn marker(value: &str) -> Option<(usize, &str)> {
    let rest = value.strip_prefix("<redacted len=")?.strip_suffix('>')?;
    let (len, digest) = rest.split_once(" hmac-sha256=")?;
    let ok = digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some((len.parse().ok()?, digest))
}

/// The length a marker must show: of the decoded bytes for `data`.
fn value_len(field: &str, value: &str) -> usize {
    use base64::Engine as _;
    match field {
        "data" => base64::engine::general_purpose::STANDARD
            .decode(value)
            .expect("base64 data")
            .len(),
        _ => value.len(),
    }
}

#[test]
fn redacted_render_is_stable_and_shows_no_value() {
    if !tools(&["kubectl"]) {
        return;
    }
    let overlay = fixtures().join("overlay");
    let real = stdout(&render_with_key(&overlay, &[], 1), "real render");
    let first = stdout(&render_with_key(&overlay, &["--redact"], 1), "redact");
    let second = stdout(&render_with_key(&overlay, &["--redact"], 1), "redact again");
    assert_eq!(first, second, "two redacted renders differ");

    let (real_docs, redacted_docs) = (objects(&real), objects(&first));
    assert_eq!(shapes(&redacted_docs), shapes(&real_docs));
    let real_values = secret_values(&real_docs);
    let redacted_values = secret_values(&redacted_docs);
    assert_eq!(real_values.len(), redacted_values.len());
    for (real, redacted) in real_values.iter().zip(&redacted_values) {
        let (len, _) = marker(&redacted.3)
            .unwrap_or_else(|| panic!("not a marker: {redacted:?} (for {})", real.2));
        assert_eq!(len, value_len(real.1, &real.3), "{}/{}", real.0, real.2);
        // No value, encoded or not, and no line of a multi-line value appears anywhere.
        for part in real.3.lines().chain([real.3.as_str()]) {
            assert!(part.len() < 6 || !first.contains(part), "{} leaked", real.2);
        }
    }
    for decoded in ["fixture-key", "correct-horse", "pk_test_fixture_0042"] {
        assert!(!first.contains(decoded), "{decoded} leaked");
    }

    // Without an unprotected private key there is nothing to key the digests with.
    let out = render(&overlay, &["--redact"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.success() && out.stdout.is_empty(), "{stderr}");
    assert!(
        stderr.contains("no unprotected age (X25519) or SSH private key"),
        "{stderr}"
    );
}

#[test]
fn redacted_markers_follow_values_not_files_or_runs() {
    let [sops] = require_tools!("sops");
    if !tools(&["kubectl"]) {
        return;
    }
    let fixtures = copy_fixtures();
    let overlay = fixtures.path().join("overlay");
    let before = objects(&stdout(
        &render_with_key(&overlay, &["--redact"], 1),
        "redact",
    ));

    let sops_run = |args: &[&OsStr]| {
        let home = TempDir::new("sops-home");
        let mut cmd = support::controlled_command(&sops, home.path());
        cmd.current_dir(fixtures.path())
            .args(args)
            .env("SOPS_AGE_KEY_FILE", identity(1));
        let out = support::run(&mut cmd).expect("run sops");
        assert!(
            out.success(),
            "sops {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    // One value changed with `sops set`...
    sops_run(&[
        OsStr::new("set"),
        overlay.join("database.secret.yaml").as_os_str(),
        OsStr::new(r#"["stringData"]["password"]"#),
        OsStr::new(r#""a-brand-new-password""#),
    ]);
    // ...and another file re-encrypted from its plaintext (a new data key, same values).
    let token = overlay.join("token.txt");
    let plain = fixtures.path().join("token.plain");
    fs::write(
        &plain,
        sops_run(&[OsStr::new("decrypt"), token.as_os_str()]),
    )
    .expect("write");
    let encrypted = sops_run(&[
        OsStr::new("encrypt"),
        OsStr::new("--filename-override"),
        OsStr::new("overlay/token.txt"),
        plain.as_os_str(),
    ]);
    fs::remove_file(&plain).expect("remove plaintext");
    fs::write(&token, encrypted).expect("write re-encrypted token");

    let after = objects(&stdout(
        &render_with_key(&overlay, &["--redact"], 1),
        "redact after the change",
    ));
    assert_eq!(shapes(&after), shapes(&before));
    let changed: Vec<String> = secret_values(&before)
        .into_iter()
        .zip(secret_values(&after))
        .filter(|(b, a)| b != a)
        .map(|(b, a)| {
            assert_eq!(
                marker(&a.3).map(|m| m.0),
                Some("a-brand-new-password".len())
            );
            format!("{}/{}", b.0, b.2)
        })
        .collect();
    assert_eq!(changed, ["database/password"]);

    // Another key holder gets other digests for the same values (same lengths).
    let other = objects(&stdout(
        &render_with_key(&overlay, &["--redact"], 2),
        "redact with the second identity",
    ));
    for (mine, theirs) in secret_values(&after).iter().zip(&secret_values(&other)) {
        let (mine_len, mine_digest) = marker(&mine.3).expect("marker");
        let (their_len, their_digest) = marker(&theirs.3).expect("marker");
        assert_eq!((&mine.2, mine_len), (&theirs.2, their_len));
        assert_ne!(mine_digest, their_digest, "{}", mine.2);
    }
}
