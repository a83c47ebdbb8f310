//! Command-line behaviour that kustomize, init containers and people rely on: help for every
//! command, version, `install`, usage errors that are never taken for generator configs,
//! sops' exit codes for `decrypt`, kustomize's build flags passed through by `render` and
//! `argocd generate`, and failures shown once, as ksops's own message.

use crate::support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::{TempDir, require_tools};
use ksops::cli::COMMANDS;

fn ksops(args: &[&str]) -> support::RunOutput {
    let home = TempDir::new("cli-home");
    let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
    cmd.args(args);
    support::run(&mut cmd).expect("run ksops")
}

#[test]
fn help_and_version_go_to_stdout() {
    let help = ksops(&["--help"]);
    assert!(help.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("ksops decrypt") && text.contains("KSOPS_CONCURRENCY_LIMIT"));
    let version = ksops(&["--version"]);
    assert!(version.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("ksops "));
}

#[test]
fn install_copies_an_executable() {
    let dir = TempDir::new("cli-install");
    let out = ksops(&["install", dir.path().to_str().expect("utf8 path")]);
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let installed = dir.path().join("ksops");
    let mode = std::fs::metadata(&installed)
        .expect("installed")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        std::fs::read(&installed).expect("read copy"),
        std::fs::read(support::ksops_bin()).expect("read original")
    );
    let missing = ksops(&["install"]);
    assert_eq!(missing.code, Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("install: DIR is missing"));
}

#[test]
fn subcommands_and_flags_are_not_configs() {
    for args in [&["--frobnicate"][..], &["decrypt"], &["a.yaml", "b.yaml"]] {
        let out = ksops(args);
        assert!(!out.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn every_command_explains_itself_on_stdout() {
    for overview in [&["--help"][..], &["-h"], &["help"]] {
        let out = ksops(overview);
        assert_eq!(out.code, Some(0), "{overview:?}");
        assert!(out.stderr.is_empty(), "{overview:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for spec in COMMANDS {
            assert!(
                text.contains(&format!("ksops {}", spec.name)),
                "{}",
                spec.name
            );
        }
    }
    for spec in COMMANDS {
        let words: Vec<&str> = spec.name.split(' ').collect();
        for asked in [
            [words.as_slice(), &["--help"]].concat(),
            [words.as_slice(), &["-h"]].concat(),
            [&["help"][..], &words[..1]].concat(),
        ] {
            let out = ksops(&asked);
            assert_eq!(out.code, Some(0), "{asked:?}");
            assert!(out.stderr.is_empty(), "{asked:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.starts_with(&format!("ksops {}: ", spec.name)),
                "{asked:?}: {text}"
            );
            assert!(
                text.contains("USAGE:") && text.contains("--help"),
                "{asked:?}"
            );
            for flag in spec.flags {
                assert!(text.contains(flag.name), "{asked:?} lacks {}", flag.name);
            }
        }
    }
}

#[test]
fn misspelled_commands_and_flags_suggest_the_nearest() {
    let home = TempDir::new("cli-typo");
    for (args, nearest) in [
        (&["rendr", "."][..], "render"),
        (&["rendr"], "render"),
        (&["chek"], "check"),
        (&["decrpyt", "a.yaml"], "decrypt"),
        (&["render", "--dryrun"], "--dry-run"),
        (&["render", "--enable-hlem"], "--enable-helm"),
        (&["check", "--formt", "json"], "--format"),
    ] {
        // Run where no file of that name exists, as a user would.
        let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
        cmd.current_dir(home.path()).args(args);
        let out = support::run(&mut cmd).expect("run ksops");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.code, Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.contains(&format!("did you mean `{nearest}`?")),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("generator"),
            "{args:?} taken for a config: {stderr}"
        );
    }
}

#[test]
fn install_checks_everything_before_copying_anything() {
    let dir = TempDir::new("cli-install-checks");
    // A PATH with no kustomize on it: --with-kustomize cannot be satisfied.
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).expect("bin");
    let target = dir.path().join("tools");
    fs::create_dir(&target).expect("tools");
    let mut cmd = support::controlled_command(&support::ksops_bin(), dir.path());
    cmd.env("PATH", &bin)
        .args(["install", "--with-kustomize"])
        .arg(&target);
    let out = support::run(&mut cmd).expect("run ksops install");
    assert_eq!(
        out.code,
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no `kustomize` found on PATH"));
    assert_eq!(
        fs::read_dir(&target).expect("read tools").count(),
        0,
        "a failed install copied something"
    );
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"").expect("file");
    let out = ksops(&["install", file.to_str().expect("utf8")]);
    assert_eq!(out.code, Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
}

#[test]
fn decrypt_exit_codes_are_sops_exit_codes() {
    let [sops] = require_tools!("sops");
    let dir = TempDir::new("cli-exit-codes");
    fs::create_dir(dir.path().join("a-directory.yaml")).expect("dir");
    fs::write(dir.path().join("plain.yaml"), "a: 1\n").expect("plain");
    for (name, code) in [
        ("missing.yaml", 100),
        ("a-directory.yaml", 2),
        ("plain.yaml", 1),
    ] {
        let run_in = |program: &Path| {
            let mut cmd = support::controlled_command(program, dir.path());
            cmd.current_dir(dir.path()).args(["decrypt", name]);
            support::run(&mut cmd).expect("run decrypt")
        };
        assert_eq!(run_in(&sops).code, Some(code), "sops: {name}");
        let ours = run_in(&support::ksops_bin());
        assert_eq!(ours.code, Some(code), "ksops: {name}");
        assert!(
            String::from_utf8_lossy(&ours.stderr).contains(name),
            "{name}"
        );
    }
}

/// A kustomization that needs every build flag `render_passes_kustomize_flags_through` passes:
/// a resource outside its root (`--load-restrictor`), a local Helm chart (`--enable-helm`,
/// `--helm-command` since helm is not on PATH, `--helm-kube-version` shown by the chart), and a
/// `viaduct.ai/v2` ksops generator with the example's TEST ONLY encrypted database Secret.
struct HelmApp {
    tmp: TempDir,
    helm: PathBuf,
    path: std::ffi::OsString,
}

impl HelmApp {
    fn new(helm: PathBuf, kubectl: &Path) -> HelmApp {
        let tmp = TempDir::new("cli-kustomize-flags");
        let root = tmp.path().join("checkout");
        let app = root.join("app");
        let chart = app.join("charts/demo");
        fs::create_dir_all(chart.join("templates")).expect("chart dirs");
        fs::create_dir_all(root.join("shared")).expect("shared");
        fs::write(
            root.join("shared/outside.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-outside\n",
        )
        .expect("outside");
        fs::write(
            chart.join("Chart.yaml"),
            "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
        )
        .expect("Chart.yaml");
        fs::write(chart.join("values.yaml"), "{}\n").expect("values.yaml");
        fs::write(
            chart.join("templates/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-helm\ndata:\n  kube: \"{{ .Capabilities.KubeVersion.Version }}\"\n",
        )
        .expect("template");
        fs::copy(
            support::crate_root().join("examples/overlays/dev/secrets/database.secret.yaml"),
            app.join("database.secret.yaml"),
        )
        .expect("copy the example secret");
        fs::write(
            app.join("generator.yaml"),
            "apiVersion: viaduct.ai/v2\nkind: ksops\nmetadata:\n  name: v2\nfiles:\n  - database.secret.yaml\n",
        )
        .expect("generator");
        fs::write(
            app.join("kustomization.yaml"),
            "resources:\n  - ../shared/outside.yaml\ngenerators:\n  - generator.yaml\nhelmGlobals:\n  chartHome: charts\nhelmCharts:\n  - name: demo\n    releaseName: demo\n",
        )
        .expect("kustomization");
        // PATH holds kubectl only: helm is reachable through --helm-command alone.
        let bin = tmp.path().join("bin");
        fs::create_dir(&bin).expect("bin");
        std::os::unix::fs::symlink(kubectl, bin.join("kubectl")).expect("link kubectl");
        HelmApp {
            path: bin.into_os_string(),
            helm,
            tmp,
        }
    }

    fn all_flags(&self) -> Vec<String> {
        vec![
            "--enable-helm".into(),
            format!("--helm-command={}", self.helm.display()),
            "--helm-kube-version".into(),
            "1.29.0".into(),
            "--load-restrictor".into(),
            "LoadRestrictionsNone".into(),
        ]
    }

    fn ksops(&self, args: &[String], cwd: &Path) -> support::RunOutput {
        let home = self.tmp.path().join("home");
        fs::create_dir_all(&home).expect("home");
        let mut cmd = support::controlled_command(&support::ksops_bin(), &home);
        cmd.current_dir(cwd)
            .env("PATH", &self.path)
            .env(
                "SOPS_AGE_KEY_FILE",
                support::crate_root().join("examples/overlays/demo-age-key.txt"),
            )
            .env("ARGOCD_APP_SOURCE_PATH", "app")
            .args(args);
        support::run(&mut cmd).expect("run ksops")
    }
}

#[test]
fn render_and_argocd_pass_kustomize_flags_through() {
    let [kubectl, helm] = require_tools!("kubectl", "helm");
    let app = HelmApp::new(helm, &kubectl);
    let checkout = app.tmp.path().join("checkout");
    let flags = app.all_flags();
    let render = |extra: &[String]| {
        let args = [&["render".to_string()][..], extra, &["app".to_string()]].concat();
        app.ksops(&args, &checkout)
    };
    let out = render(&flags);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.success(), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "name: from-outside",
        "name: from-helm",
        "kube: v1.29.0",
        "name: database",
    ] {
        assert!(text.contains(expected), "render lacks {expected}: {text}");
    }
    // Each flag is needed: without it the same render fails or lacks what the flag brought.
    // (Not `--enable-helm`: kustomize's `--enable-alpha-plugins`, which a ksops build needs,
    // already turns the Helm inflator on; the flag is accepted and passed all the same.)
    for (left_out, consumed, brought) in [
        ("--helm-command", 1, "name: from-helm"),
        ("--helm-kube-version", 2, "kube: v1.29.0"),
        ("--load-restrictor", 2, "name: from-outside"),
    ] {
        let mut fewer = Vec::new();
        let mut skip = 0;
        for flag in &flags {
            if skip > 0 {
                skip -= 1;
            } else if flag.starts_with(left_out) {
                skip = consumed - 1;
            } else {
                fewer.push(flag.clone());
            }
        }
        let without = render(&fewer);
        assert!(
            !without.success() || !String::from_utf8_lossy(&without.stdout).contains(brought),
            "{left_out} made no difference"
        );
    }
    // `--` passes what follows to kustomize as it is.
    let mut dashed = vec!["--".to_string()];
    dashed.extend(flags.iter().cloned());
    let out = app.ksops(
        &[&["render".to_string(), "app".to_string()][..], &dashed].concat(),
        &checkout,
    );
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The Argo CD sidecar command takes the same flags (its plugin.yaml lists them).
    let argocd = app.ksops(
        &[&["argocd".to_string(), "generate".to_string()][..], &flags].concat(),
        &checkout.join("app"),
    );
    assert!(
        argocd.success(),
        "{}",
        String::from_utf8_lossy(&argocd.stderr)
    );
    assert_eq!(
        argocd.stdout, out.stdout,
        "argocd generate differs from render"
    );
}

#[test]
fn render_defaults_to_the_working_directory() {
    let [_kubectl] = require_tools!("kubectl");
    let key = support::crate_root().join("examples/overlays/demo-age-key.txt");
    let render = |cwd: &Path, args: &[&str]| {
        let home = TempDir::new("cli-render-default");
        let mut cmd = support::controlled_command(&support::ksops_bin(), home.path());
        cmd.current_dir(cwd)
            .env("SOPS_AGE_KEY_FILE", &key)
            .args(args);
        support::run(&mut cmd).expect("run ksops render")
    };
    let dev = support::crate_root().join("examples/overlays/dev");
    let here = render(&dev, &["render"]);
    assert!(here.success(), "{}", String::from_utf8_lossy(&here.stderr));
    let named = render(&support::crate_root(), &["render", "examples/overlays/dev"]);
    assert_eq!(here.stdout, named.stdout);
}

#[test]
fn render_failures_are_ksops_messages_shown_once() {
    let [_kubectl] = require_tools!("kubectl");
    let dir = TempDir::new("cli-render-failure");
    // A repository, as a user's would be: messages name directories within it.
    support::git_init(dir.path());
    let app = dir.path().join("overlays/dev");
    fs::create_dir_all(&app).expect("app");
    fs::copy(
        support::crate_root().join("examples/overlays/dev/secrets/database.secret.yaml"),
        app.join("database.secret.yaml"),
    )
    .expect("copy");
    fs::write(
        app.join("generator.yaml"),
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: db\nfiles:\n  - database.secret.yaml\n",
    )
    .expect("generator");
    fs::write(
        app.join("kustomization.yaml"),
        "generators:\n  - generator.yaml\n",
    )
    .expect("kustomization");
    let mut cmd = support::controlled_command(&support::ksops_bin(), dir.path());
    cmd.current_dir(dir.path()).args(["render", "overlays/dev"]);
    let out = support::run(&mut cmd).expect("run ksops render");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.code, Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.starts_with(
            "ksops: render: generator `viaduct.ai/v1/ksops/db` in overlays/dev: files[0] \
             (`database.secret.yaml`): decrypting the file: Failed to get the data key"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("Failed to get the data key").count(),
        1,
        "{stderr}"
    );
    for noise in [
        "run.go",
        "command failed",
        "err=<",
        "kust-plugin-config",
        "failure in plugin",
        "\t",
    ] {
        assert!(!stderr.contains(noise), "{noise:?} in {stderr}");
    }
    assert!(
        !stderr.contains(&dir.path().display().to_string()),
        "{stderr}"
    );
}
