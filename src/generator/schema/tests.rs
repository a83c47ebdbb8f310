use super::*;

fn parse(yaml: &str) -> Result<GeneratorConfig, SchemaError> {
    GeneratorConfig::parse(yaml.as_bytes())
}

fn err(yaml: &str) -> String {
    match parse(yaml) {
        Ok(c) => panic!("expected an error for {yaml:?}, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

const FULL: &str = "\
apiVersion: viaduct.ai/v1
kind: ksops
metadata:
  name: my-secrets
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ksops
files:
  - ./secret.enc.yaml
  # a comment between entries does not shift indexes
  - ./configmap.enc.yaml
secretFrom:
  - metadata:
      name: app
      namespace: prod
      labels:
        app: web
        version: 2
      annotations:
        kustomize.config.k8s.io/needs-hash: true
        empty:
    type: Opaque
    files:
      - ./config.yaml
      - db=secrets/db.enc.json
    binaryFiles:
      - cert.der=certs/cert.der
      - certs/key.bin
    envs:
      - ./app.env
  - metadata:
      name: second
";

#[test]
fn full_config() {
    let c = parse(FULL).unwrap();
    assert_eq!(c.id.to_string(), "viaduct.ai/v1/ksops/my-secrets");
    assert_eq!(
        c.files,
        vec![
            PathEntry {
                field: "files[0]".into(),
                path: "./secret.enc.yaml".into(),
                pattern: None,
            },
            PathEntry {
                field: "files[1]".into(),
                path: "./configmap.enc.yaml".into(),
                pattern: None,
            },
        ]
    );
    assert_eq!(c.secret_from.len(), 2);
    let s = &c.secret_from[0];
    assert_eq!(s.index, 0);
    assert_eq!(s.metadata.name, "app");
    assert_eq!(s.metadata.namespace.as_deref(), Some("prod"));
    assert_eq!(
        s.metadata.labels.iter().collect::<Vec<_>>(),
        vec![
            (&"app".to_string(), &"web".to_string()),
            (&"version".to_string(), &"2".to_string())
        ]
    );
    assert_eq!(
        s.metadata
            .annotations
            .get("kustomize.config.k8s.io/needs-hash"),
        Some(&"true".to_string())
    );
    assert_eq!(s.metadata.annotations.get("empty"), Some(&String::new()));
    assert_eq!(s.type_.as_deref(), Some("Opaque"));
    assert_eq!(s.files[0].key, "config.yaml");
    assert_eq!(s.files[0].path, "./config.yaml");
    assert_eq!(s.files[1].key, "db");
    assert_eq!(s.files[1].path, "secrets/db.enc.json");
    assert_eq!(s.files[1].field, "secretFrom[0].files[1]");
    assert_eq!(
        s.files[1].origin(),
        "secretFrom[0].files[1] (`db=secrets/db.enc.json`)"
    );
    assert_eq!(s.binary_files[0].key, "cert.der");
    assert_eq!(s.binary_files[1].key, "key.bin");
    assert_eq!(s.binary_files[1].field, "secretFrom[0].binaryFiles[1]");
    assert_eq!(s.envs[0].path, "./app.env");
    assert_eq!(s.envs[0].origin(), "secretFrom[0].envs[0] (`./app.env`)");
    let t = &c.secret_from[1];
    assert_eq!(t.index, 1);
    assert_eq!(t.metadata, {
        SecretMetadata {
            name: "second".into(),
            ..SecretMetadata::default()
        }
    });
    assert!(t.type_.is_none() && t.files.is_empty() && t.envs.is_empty());
}

#[test]
fn minimal_configs() {
    // `files: []` is valid and produces nothing.
    let c = parse("files: []\n").unwrap();
    assert!(c.files.is_empty() && c.secret_from.is_empty());
    assert_eq!(c.id.to_string(), "?/?");
    let c = parse("secretFrom: []\n").unwrap();
    assert!(c.secret_from.is_empty());
    // apiVersion/kind are not validated beyond being strings; an integer is text.
    let c = parse("apiVersion: 1\nkind: ksops\nfiles: [a.yaml]\n").unwrap();
    assert_eq!(c.files[0].path, "a.yaml");
    // Top-level `files` entries are paths: no key=path splitting there (KSOPS passes
    // them to the reader as written).
    let c = parse("files: [a=b.yaml]\n").unwrap();
    assert_eq!(c.files[0].path, "a=b.yaml");
    // Nulls are absent: empty type/namespace are dropped.
    let c = parse(
        "secretFrom:\n- metadata: {name: s, namespace: '', labels: ~}\n  type: ''\n  files: ~\n",
    )
    .unwrap();
    let s = &c.secret_from[0];
    assert!(s.metadata.namespace.is_none() && s.type_.is_none() && s.files.is_empty());
}

#[test]
fn missing_files_and_secret_from() {
    for yaml in [
        "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata: {name: x}\n",
        "files: ~\n",
        "files:\nsecretFrom:\n",
        "{}\n",
    ] {
        assert_eq!(
            parse(yaml),
            Err(SchemaError::MissingFilesOrSecretFrom),
            "{yaml}"
        );
    }
    assert_eq!(
        err("kind: ksops\n"),
        "missing the required 'files' or 'secretFrom' key in the ksops manifest"
    );
}

#[test]
fn unknown_fields_say_where_they_belong() {
    let cases = [
        (
            "secretFrom:\n- name: x\n",
            "unknown field `name` in secretFrom[0]; did you mean `secretFrom[0].metadata.name`?",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n- labels: {a: b}\n",
            "unknown field `labels` in secretFrom[1]; did you mean `secretFrom[1].metadata.labels`?",
        ),
        (
            "envs: [a.env]\n",
            "unknown field `envs` in the generator; `envs` belongs inside a secretFrom entry (`secretFrom[].envs`)",
        ),
        (
            "files: []\ntype: Opaque\n",
            "unknown field `type` in the generator; `type` belongs inside a secretFrom entry (`secretFrom[].type`)",
        ),
        (
            "files: []\nbinaryFile: [x]\n",
            "unknown field `binaryFile` in the generator; `binaryFiles` belongs inside a secretFrom entry (`secretFrom[].binaryFiles`)",
        ),
        (
            "files: []\nname: x\n",
            "unknown field `name` in the generator; did you mean `metadata.name` (the generator's own) or `secretFrom[].metadata.name` (a generated Secret's)?",
        ),
        (
            "SecretFrom: []\n",
            "unknown field `SecretFrom` in the generator; did you mean `secretFrom`?",
        ),
        (
            "file: [a.yaml]\n",
            "unknown field `file` in the generator; did you mean `files`?",
        ),
        (
            "files: []\nspec: {}\n",
            "unknown field `spec` in the generator; known fields are `apiVersion`, `kind`, `metadata`, `files`, `secretFrom`",
        ),
        (
            "files: []\nstringData: {a: b}\n",
            "unknown field `stringData` in the generator; a ksops generator lists encrypted files (`files`, `secretFrom`), not values",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n  env: [a.env]\n",
            "unknown field `env` in secretFrom[0]; did you mean `secretFrom[0].envs`?",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n  binaryfiles: [a]\n",
            "unknown field `binaryfiles` in secretFrom[0]; did you mean `secretFrom[0].binaryFiles`?",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n  kind: Secret\n",
            "unknown field `kind` in secretFrom[0]; generated Secrets are always `apiVersion: v1`, `kind: Secret`",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n  secretFrom: []\n",
            "unknown field `secretFrom` in secretFrom[0]; secretFrom entries cannot be nested",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n  stringData: {a: b}\n",
            "unknown field `stringData` in secretFrom[0]; a secretFrom entry lists encrypted files (`files`, `binaryFiles`, `envs`), not values",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n  foo: 1\n",
            "unknown field `foo` in secretFrom[0]; known fields are `metadata`, `type`, `files`, `binaryFiles`, `envs`",
        ),
        (
            "secretFrom:\n- metadata: {name: x, type: Opaque}\n",
            "unknown field `type` in secretFrom[0].metadata; `type` belongs one level up, at `secretFrom[0].type`",
        ),
        (
            "secretFrom:\n- metadata: {name: x, files: [a]}\n",
            "unknown field `files` in secretFrom[0].metadata; `files` belongs one level up, at `secretFrom[0].files`",
        ),
        (
            "secretFrom:\n- metadata: {name: x, label: {a: b}}\n",
            "unknown field `label` in secretFrom[0].metadata; did you mean `secretFrom[0].metadata.labels`?",
        ),
        (
            "secretFrom:\n- metadata: {name: x, generateName: y}\n",
            "unknown field `generateName` in secretFrom[0].metadata; only `name`, `namespace`, `labels`, `annotations` are supported",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(err(yaml), want, "{yaml}");
    }
}

#[test]
fn generator_metadata_is_not_validated() {
    let c =
        parse("metadata:\n  name: g\n  labels: {a: 1.5}\n  anything: [1, 2]\nfiles: []\n").unwrap();
    assert_eq!(c.id.name.as_deref(), Some("g"));
    assert_eq!(
        err("metadata: [a]\nfiles: []\n"),
        "`metadata` must be a mapping, found a list"
    );
}

#[test]
fn wrong_types_name_the_field() {
    let cases = [
        (
            "files: a.yaml\n",
            "`files` must be a sequence of strings, found a string",
        ),
        (
            "files: [[a]]\n",
            "`files[0]` must be a string, found a list",
        ),
        (
            "files: [{a: b}]\n",
            "`files[0]` must be a string, found a mapping",
        ),
        (
            "kind: [ksops]\nfiles: []\n",
            "`kind` must be a string, found a list",
        ),
        (
            "secretFrom: {name: x}\n",
            "`secretFrom` must be a sequence of mappings, found a mapping",
        ),
        (
            "secretFrom: [x]\n",
            "`secretFrom[0]` must be a mapping, found a string",
        ),
        (
            "secretFrom:\n- metadata: x\n",
            "`secretFrom[0].metadata` must be a mapping, found a string",
        ),
        (
            "secretFrom:\n- metadata: {name: [x]}\n",
            "`secretFrom[0].metadata.name` must be a string, found a list",
        ),
        (
            "secretFrom:\n- metadata: {name: x, labels: [a]}\n",
            "`secretFrom[0].metadata.labels` must be a mapping of strings, found a list",
        ),
        (
            "secretFrom:\n- metadata: {name: x, annotations: {a: {b: c}}}\n",
            "`secretFrom[0].metadata.annotations.a` must be a string, found a mapping",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n  type: {a: b}\n",
            "`secretFrom[0].type` must be a string, found a mapping",
        ),
        (
            "secretFrom:\n- metadata: {name: x}\n  envs: a.env\n",
            "`secretFrom[0].envs` must be a sequence of strings, found a string",
        ),
        (
            "secretFrom:\n- metadata: {name: x, labels: {v: 1.10}}\n",
            "`secretFrom[0].metadata.labels.v` must be a string, found a float; quote it so the value is kept exactly as written",
        ),
        (
            "secretFrom:\n- metadata: {name: x, annotations: {d: 2024-01-01}}\n",
            "`secretFrom[0].metadata.annotations.d` must be a string, found a timestamp; quote it so the value is kept exactly as written",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(err(yaml), want, "{yaml}");
    }
}

#[test]
fn secret_name_is_required() {
    for yaml in [
        "secretFrom:\n- files: [a.yaml]\n",
        "secretFrom:\n- metadata: {namespace: x}\n",
        "secretFrom:\n- metadata: {name: ''}\n",
        "secretFrom:\n- metadata:\n",
    ] {
        assert_eq!(
            parse(yaml),
            Err(SchemaError::MissingSecretName { index: 0 })
        );
    }
    assert_eq!(
        err("secretFrom:\n- metadata: {name: a}\n- metadata: {name: ~}\n"),
        "`secretFrom[1].metadata.name` is required: it names the generated Secret"
    );
}

#[test]
fn file_entries() {
    let ok = |entry: &str| FileEntry::parse("f", entry).unwrap();
    assert_eq!(
        (ok("a.yaml").key, ok("a.yaml").path),
        ("a.yaml".into(), "a.yaml".into())
    );
    assert_eq!(ok("./dir/sub/x.enc.json").key, "x.enc.json");
    assert_eq!(ok("dir/").key, "dir");
    assert_eq!(ok("/").key, "/");
    assert_eq!(ok("k=v/x").key, "k");
    assert_eq!(ok("k=v/x").path, "v/x");
    assert_eq!(ok("k=v/x").entry, "k=v/x");
    assert_eq!(
        err("secretFrom:\n- metadata: {name: x}\n  files: [a=b=c]\n"),
        "invalid format in file generator `a=b=c` (`secretFrom[0].files[0]`): expected `path` or `key=path`; paths cannot contain `=`"
    );
    assert_eq!(
        err("secretFrom:\n- metadata: {name: x}\n  binaryFiles: [ok, =p]\n"),
        "invalid format in file generator `=p` (`secretFrom[0].binaryFiles[1]`): the key before `=` is empty"
    );
    assert_eq!(
        err("secretFrom:\n- metadata: {name: x}\n  files: ['k=']\n"),
        "invalid format in file generator `k=` (`secretFrom[0].files[0]`): the path after `=` is empty"
    );
    assert_eq!(
        err("secretFrom:\n- metadata: {name: x}\n  files: ['']\n"),
        "`secretFrom[0].files[0]` is empty; it must name a file"
    );
    assert_eq!(
        err("files: [a, ~]\n"),
        "`files[1]` is empty; it must name a file"
    );
    assert_eq!(
        err("secretFrom:\n- metadata: {name: x}\n  envs: ['']\n"),
        "`secretFrom[0].envs[0]` is empty; it must name a file"
    );
}

#[test]
fn yaml_level_errors() {
    assert_eq!(parse(""), Err(SchemaError::DocumentCount(0)));
    assert_eq!(
        parse("files: []\n---\nfiles: []\n"),
        Err(SchemaError::DocumentCount(2))
    );
    assert!(matches!(parse("files: [\n"), Err(SchemaError::Yaml(_))));
    assert!(matches!(parse("- a\n"), Err(SchemaError::Yaml(_))));
    // Duplicate keys are refused by the parser (go-yaml semantics)...
    assert!(matches!(
        parse("files: []\nfiles: []\n"),
        Err(SchemaError::Yaml(_))
    ));
    // ...and by `from_value` for trees built otherwise.
    let mut map = Mapping::new();
    map.push("files", Value::Sequence(vec![]));
    map.push("files", Value::Sequence(vec![]));
    assert_eq!(
        GeneratorConfig::from_value(&Value::Mapping(map))
            .unwrap_err()
            .to_string(),
        "field `files` is given more than once in the generator"
    );
    assert_eq!(
        GeneratorConfig::from_value(&Value::str("x")),
        Err(SchemaError::NotAMapping("a string"))
    );
}

#[test]
fn generator_id() {
    let peek = |yaml: &str| {
        let docs = parse_yaml(yaml.as_bytes()).unwrap();
        GeneratorId::peek(&Value::Mapping(docs[0].clone())).to_string()
    };
    assert_eq!(
        peek("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata: {name: s}\n"),
        "viaduct.ai/v1/ksops/s"
    );
    assert_eq!(peek("kind: ksops\n"), "?/ksops");
    assert_eq!(peek("kind: ksops\nmetadata: [x]\n"), "?/ksops");
    assert_eq!(GeneratorId::peek(&Value::Null).to_string(), "?/?");
}

#[test]
fn too_many_files_are_refused_before_reading_any() {
    let entries = |n: usize, prefix: &str| -> String {
        (0..n)
            .map(|i| format!("      - {prefix}{i}.yaml\n"))
            .collect()
    };
    let config = |files: usize, envs: usize| {
        format!(
            "kind: ksops\nfiles:\n{}secretFrom:\n  - metadata: {{name: s}}\n    envs:\n{}",
            entries(files, "f").replace("      -", "  -"),
            entries(envs, "e")
        )
    };
    assert!(parse(&config(6000, 4000)).is_ok());
    assert_eq!(
        parse(&config(6000, 4001)),
        Err(SchemaError::TooManyFiles {
            count: 10_001,
            limit: MAX_FILES_PER_GENERATOR
        })
    );
    assert!(err(&config(10_001, 0)).contains("more than the limit of 10000"));
}
