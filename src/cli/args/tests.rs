use super::*;

fn parse(args: &[&str]) -> Result<Command, UsageError> {
    parse_args(args.iter().map(OsString::from))
}

#[test]
fn parses_decrypt_flags() {
    let cmd = parse(&[
        "decrypt",
        "--input-type",
        "json",
        "--output-type=yaml",
        "--ignore-mac",
        "f.enc",
    ]);
    assert_eq!(
        cmd.unwrap(),
        Command::Decrypt(DecryptArgs {
            file: "f.enc".into(),
            input_type: Some(Format::Json),
            output_type: Some(Format::Yaml),
            ignore_mac: true,
            config: None,
        })
    );
    // `--` ends the flags: a file may be called `--ignore-mac`.
    let Ok(Command::Decrypt(args)) = parse(&["decrypt", "--", "--ignore-mac"]) else {
        panic!("`--` not honoured");
    };
    assert_eq!(args.file, PathBuf::from("--ignore-mac"));
    assert!(!args.ignore_mac);
}

#[test]
fn parses_render_flags_and_passes_kustomize_flags_through() {
    let render = |args: &[&str]| match parse(args) {
        Ok(Command::Render(args)) => args,
        other => panic!("{other:?}"),
    };
    let plain = render(&["render"]);
    assert_eq!((plain.dir, plain.values), (".".into(), None));
    assert_eq!(
        render(&["render", "--dry-run", "d"]).values,
        Some(ValueModeKind::DryRun)
    );
    assert_eq!(
        render(&["render", "d", "--redact"]).values,
        Some(ValueModeKind::Redact)
    );
    let through = render(&[
        "render",
        "--enable-helm",
        "--load-restrictor",
        "LoadRestrictionsNone",
        "d",
        "--helm-command=/opt/helm",
        "--",
        "--future-flag",
        "x",
    ]);
    assert_eq!(through.dir, PathBuf::from("d"));
    assert_eq!(
        through.kustomize_args,
        [
            "--enable-helm",
            "--load-restrictor",
            "LoadRestrictionsNone",
            "--helm-command=/opt/helm",
            "--future-flag",
            "x"
        ]
        .map(OsString::from)
    );
    let argocd = parse(&["argocd", "generate", "--enable-helm"]).unwrap();
    assert_eq!(
        argocd,
        Command::ArgocdGenerate(ArgocdArgs {
            kustomize_args: vec!["--enable-helm".into()]
        })
    );
}

#[test]
fn parses_check_flags() {
    assert_eq!(
        parse(&["check"]).unwrap(),
        Command::Check(CheckArgs {
            dir: ".".into(),
            format: ReportFormat::Human,
            host: None,
            root_policy: RootPolicy::Kustomization,
            decrypt: false,
        })
    );
    assert_eq!(
        parse(&[
            "check",
            "--format=json",
            "--host",
            "kubectl",
            "--root",
            "git-worktree",
            "--decrypt",
            "deploy"
        ])
        .unwrap(),
        Command::Check(CheckArgs {
            dir: "deploy".into(),
            format: ReportFormat::Json,
            host: Some(Host::Kubectl),
            root_policy: RootPolicy::GitWorkTree,
            decrypt: true,
        })
    );
}

#[test]
fn every_command_has_help() {
    assert_eq!(parse(&["--help"]).unwrap(), Command::Help(None));
    assert_eq!(parse(&["help"]).unwrap(), Command::Help(None));
    for spec in COMMANDS {
        let words: Vec<&str> = spec.name.split(' ').collect();
        let with_flag = [words.as_slice(), &["--help"]].concat();
        assert_eq!(parse(&with_flag).unwrap(), Command::Help(Some(spec.name)));
        let after_operand = [words.as_slice(), &["x", "-h"]].concat();
        assert_eq!(
            parse(&after_operand).unwrap(),
            Command::Help(Some(spec.name))
        );
        assert_eq!(
            parse(&["help", words[0]]).unwrap(),
            Command::Help(Some(spec.name))
        );
        // The help lists every flag the parser accepts.
        let help = command_help(spec.name);
        for flag in spec.flags {
            assert!(help.contains(flag.name), "{}: {}", spec.name, flag.name);
        }
        assert!(overview().contains(&usage_line(spec)));
    }
}

#[test]
fn typos_are_usage_errors_with_a_suggestion() {
    let suggestion = |args: &[&str]| match parse(args) {
        Err(UsageError::UnknownCommand { suggestion, .. })
        | Err(UsageError::UnknownOption { suggestion, .. }) => suggestion,
        other => panic!("{args:?}: {other:?}"),
    };
    assert_eq!(suggestion(&["rendr", "."]).as_deref(), Some("render"));
    assert_eq!(suggestion(&["rendr"]).as_deref(), Some("render"));
    assert_eq!(suggestion(&["chek"]).as_deref(), Some("check"));
    assert_eq!(suggestion(&["decrpyt", "f"]).as_deref(), Some("decrypt"));
    assert_eq!(suggestion(&["frobnicate", "x"]), None);
    assert_eq!(
        suggestion(&["render", "--dryrun"]).as_deref(),
        Some("--dry-run")
    );
    assert_eq!(
        suggestion(&["render", "--enable-hlem"]).as_deref(),
        Some("--enable-helm")
    );
    assert_eq!(
        suggestion(&["check", "--formt", "json"]).as_deref(),
        Some("--format")
    );
    // kustomize's flags are not accepted where no kustomize runs.
    assert_eq!(suggestion(&["check", "--enable-helm"]), None);
    // A config path is still a generator config.
    assert_eq!(
        parse(&["/tmp/kust-plugin-config-1"]).unwrap(),
        Command::Generate("/tmp/kust-plugin-config-1".into())
    );
    assert_eq!(
        parse(&["gen.yaml"]).unwrap(),
        Command::Generate("gen.yaml".into())
    );
}

#[test]
fn refuses_bad_usage() {
    for bad in [
        &["decrypt"][..],
        &["decrypt", "a", "b"],
        &["decrypt", "--input-type", "toml", "a"],
        &["decrypt", "--frobnicate", "a"],
        &["decrypt", "--ignore-mac=yes", "a"],
        &["decrypt", "a", "--config"],
        &["check", "--format", "xml"],
        &["check", "a", "b"],
        &["check", "--host=docker"],
        &["render", "a", "b"],
        &["render", "--dry-run", "--redact", "a"],
        &["render", "--frobnicate", "a"],
        &["render", "-o", "out.yaml", "a"],
        &["install"],
        &["argocd"],
        &["argocd", "build"],
        &["argocd", "generate", "x"],
        &["a.yaml", "b.yaml"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse(&["--version"]).unwrap(), Command::Version);
}

#[test]
fn edit_distance_counts_edits() {
    assert_eq!(edit_distance("render", "render"), 0);
    assert_eq!(edit_distance("rendr", "render"), 1);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("decrpyt", "decrypt"), 2);
}
