//! Tests for file patterns. Fixtures live in scratch dirs: `<tmp>/root` is the kustomization
//! directory and `<tmp>/outside` holds files a pattern must never reach.

use super::*;
use crate::generator::RootPolicy;
use crate::limits::Limits;
use std::fs;
use std::path::PathBuf;

struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[&str]) -> Fixture {
        let tmp = crate::testing::scratch_dir("glob");
        fs::create_dir(tmp.path().join("root")).unwrap();
        fs::create_dir(tmp.path().join("outside")).unwrap();
        fs::write(tmp.path().join("outside/secret.yaml"), "outside").unwrap();
        let fixture = Fixture { tmp };
        for file in files {
            fixture.write(file);
        }
        fixture
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join("root").join(rel)
    }

    fn write(&self, rel: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, rel).unwrap();
    }

    fn root(&self) -> Root {
        Root::open(&self.path(""), RootPolicy::Kustomization, Limits::default()).unwrap()
    }

    fn expand(&self, pattern: &str) -> Result<Option<Vec<String>>, GlobError> {
        expand_pattern(&self.root(), pattern, MAX_FILES_PER_GENERATOR)
    }

    fn matches(&self, pattern: &str) -> Vec<String> {
        self.expand(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .unwrap_or_else(|| panic!("{pattern} taken literally"))
    }
}

fn segment(text: &str) -> Vec<Token> {
    match parse_segment(text, text).unwrap() {
        Segment::Wild(tokens) => tokens,
        Segment::Literal(name) => name.chars().map(Token::Char).collect(),
        Segment::AnyDepth => unreachable!("parse_segment never returns `**`"),
    }
}

fn is_match(pattern: &str, name: &str) -> bool {
    matches(&segment(pattern), name)
}

#[test]
fn segment_wildcards() {
    assert!(is_match("*", "a.yaml"));
    assert!(is_match("*", ""));
    assert!(is_match("*", ".hidden"));
    assert!(is_match("*.secret.yaml", "db.secret.yaml"));
    assert!(!is_match("*.secret.yaml", "db.secret.yml"));
    assert!(is_match("a*b*c", "aXXbYYbc"));
    assert!(!is_match("a*b*c", "aXXbYYbcd"));
    assert!(is_match("?.yaml", "a.yaml"));
    assert!(!is_match("?.yaml", "ab.yaml"));
    assert!(!is_match("?.yaml", ".yaml"));
    assert!(is_match("[ab].yaml", "b.yaml"));
    assert!(!is_match("[ab].yaml", "c.yaml"));
    assert!(is_match("[a-c]x", "bx"));
    assert!(!is_match("[a-c]x", "dx"));
    assert!(is_match("[!a-c]x", "dx"));
    assert!(!is_match("[!a-c]x", "ax"));
    assert!(is_match("[^a]x", "bx"));
    assert!(is_match("[]]", "]"));
    assert!(is_match("[a-]", "-"));
    assert!(is_match("é?", "éü"));
    // Escapes make wildcards literal.
    assert!(is_match(r"\*.yaml", "*.yaml"));
    assert!(!is_match(r"\*.yaml", "a.yaml"));
    assert!(is_match(r"[\]]", "]"));
    assert_eq!(
        parse_segment(r"a\*", r"a\*").unwrap(),
        Segment::Literal("a*".into())
    );
}

#[test]
fn what_is_a_pattern() {
    for text in ["*.yaml", "a/?.yaml", "[ab]", "**/x"] {
        assert!(is_pattern(text), "{text}");
    }
    for text in ["a.yaml", "./secrets/db.yaml", r"a\*.yaml", "key=value"] {
        assert!(!is_pattern(text), "{text}");
    }
}

#[test]
fn invalid_patterns_are_refused() {
    let fixture = Fixture::new(&["a.yaml"]);
    for (pattern, reason) in [
        ("[a.yaml", "a `[` is not closed"),
        ("*\\", "it ends with `\\`"),
        ("[z-a]*", "a range in `[…]` runs backwards"),
    ] {
        match fixture.expand(pattern) {
            Err(GlobError::Invalid { reason: got, .. }) => assert_eq!(got, reason, "{pattern}"),
            other => panic!("{pattern}: {other:?}"),
        }
    }
}

#[test]
fn star_stays_in_its_segment_and_double_star_crosses_any_depth() {
    let fixture = Fixture::new(&[
        "a.yaml",
        "secrets/db.yaml",
        "secrets/nested/api.yaml",
        "secrets/nested/deeper/key.yaml",
        "other/db.yaml",
    ]);
    assert_eq!(fixture.matches("*.yaml"), ["a.yaml"]);
    assert_eq!(
        fixture.matches("*/db.yaml"),
        ["other/db.yaml", "secrets/db.yaml"]
    );
    // `**` at the start: any depth, none included.
    assert_eq!(
        fixture.matches("**/db.yaml"),
        ["other/db.yaml", "secrets/db.yaml"]
    );
    assert_eq!(
        fixture.matches("**/*.yaml"),
        [
            "a.yaml",
            "other/db.yaml",
            "secrets/db.yaml",
            "secrets/nested/api.yaml",
            "secrets/nested/deeper/key.yaml"
        ]
    );
    // In the middle.
    assert_eq!(
        fixture.matches("secrets/**/*.yaml"),
        [
            "secrets/db.yaml",
            "secrets/nested/api.yaml",
            "secrets/nested/deeper/key.yaml"
        ]
    );
    assert_eq!(
        fixture.matches("./secrets/**/deeper/*"),
        ["secrets/nested/deeper/key.yaml"]
    );
    // At the end: every file below.
    assert_eq!(
        fixture.matches("secrets/nested/**"),
        ["secrets/nested/api.yaml", "secrets/nested/deeper/key.yaml"]
    );
    // `**/**` is `**`; a segment `a**` is `a*` (it does not cross `/`).
    assert_eq!(
        fixture.matches("**/**/api.yaml"),
        ["secrets/nested/api.yaml"]
    );
    assert!(matches!(
        fixture.expand("secret**"),
        Err(GlobError::NoMatch { .. })
    ));
}

#[test]
fn matches_are_sorted_by_path_bytes() {
    let fixture = Fixture::new(&["b.yaml", "B.yaml", "a.yaml", "a/z.yaml", "_.yaml", "é.yaml"]);
    assert_eq!(
        fixture.matches("**"),
        ["B.yaml", "_.yaml", "a.yaml", "a/z.yaml", "b.yaml", "é.yaml"]
    );
}

#[test]
fn a_literal_name_with_wildcards_is_taken_literally_when_it_exists() {
    let fixture = Fixture::new(&["odd*name.yaml", "odd-other.yaml", "[x].yaml"]);
    assert!(fixture.expand("odd*name.yaml").unwrap().is_none());
    assert!(fixture.expand("[x].yaml").unwrap().is_none());
    assert!(fixture.expand("plain.yaml").unwrap().is_none());
    assert_eq!(fixture.matches("odd*"), ["odd*name.yaml", "odd-other.yaml"]);
    // Inside a pattern, `\*` is a literal `*`.
    assert_eq!(fixture.matches(r"odd\*name.y?ml"), ["odd*name.yaml"]);
}

#[test]
fn no_match_names_the_pattern() {
    let fixture = Fixture::new(&["a.yaml"]);
    let error = fixture.expand("secrets/*.secret.yaml").unwrap_err();
    assert!(matches!(error, GlobError::NoMatch { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("\"secrets/*.secret.yaml\" matches no file"),
        "{error}"
    );
}

#[test]
fn patterns_stay_below_the_kustomization_directory() {
    let fixture = Fixture::new(&["a.yaml"]);
    assert!(matches!(
        fixture.expand("../**"),
        Err(GlobError::Parent { .. })
    ));
    assert!(matches!(
        fixture.expand("../outside/*.yaml"),
        Err(GlobError::Parent { .. })
    ));
    assert!(matches!(
        fixture.expand("secrets/../../*"),
        Err(GlobError::Parent { .. })
    ));
    assert!(matches!(
        fixture.expand("/etc/*"),
        Err(GlobError::Absolute { .. })
    ));
    let message = fixture.expand("/etc/*").unwrap_err().to_string();
    assert!(
        !message.contains(&*fixture.tmp.path().to_string_lossy()),
        "{message}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_never_followed_nor_matched() {
    use std::os::unix::fs::symlink;
    let fixture = Fixture::new(&["secrets/own.yaml"]);
    // A directory link leading outside, one inside, and a file link leading outside.
    symlink(fixture.tmp.path().join("outside"), fixture.path("escape")).unwrap();
    symlink(fixture.path("secrets"), fixture.path("alias")).unwrap();
    symlink(
        fixture.tmp.path().join("outside/secret.yaml"),
        fixture.path("secrets/linked.yaml"),
    )
    .unwrap();
    assert_eq!(fixture.matches("**/*.yaml"), ["secrets/own.yaml"]);
    assert_eq!(fixture.matches("*/*.yaml"), ["secrets/own.yaml"]);
    assert!(matches!(
        fixture.expand("escape/*.yaml"),
        Err(GlobError::NoMatch { .. })
    ));
    assert!(matches!(
        fixture.expand("alias/*"),
        Err(GlobError::NoMatch { .. })
    ));
}

#[cfg(unix)]
#[test]
fn a_fifo_is_neither_matched_nor_opened() {
    let fixture = Fixture::new(&["secrets/a.yaml"]);
    let status = std::process::Command::new("mkfifo")
        .arg(fixture.path("secrets/pipe.yaml"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    // Opening the FIFO would block this test forever; the walk only reads directory entries.
    assert_eq!(fixture.matches("secrets/*"), ["secrets/a.yaml"]);
    assert!(matches!(
        fixture.expand("secrets/pipe*"),
        Err(GlobError::NoMatch { .. })
    ));
}

#[test]
fn more_matches_than_a_generator_may_read_are_refused() {
    let fixture = Fixture::new(&[]);
    let dir = fixture.path("many");
    fs::create_dir(&dir).unwrap();
    for i in 0..=MAX_FILES_PER_GENERATOR {
        fs::write(dir.join(format!("{i:05}.yaml")), "").unwrap();
    }
    let error = fixture.expand("many/*.yaml").unwrap_err();
    assert!(
        matches!(error, GlobError::TooManyFiles { limit, .. } if limit == MAX_FILES_PER_GENERATOR),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("past the limit of 10000"),
        "{error}"
    );
    // Exactly the limit is fine.
    fs::remove_file(dir.join("00000.yaml")).unwrap();
    assert_eq!(
        fixture.matches("many/*.yaml").len(),
        MAX_FILES_PER_GENERATOR
    );
    // And the limit counts the generator's other files too.
    let config = GeneratorConfig::parse(b"files: [a.yaml, 'many/*.yaml']\n").unwrap();
    fs::write(fixture.path("a.yaml"), "").unwrap();
    let error = expand_config(&config, &fixture.root()).unwrap_err();
    assert!(
        matches!(error.error, GlobError::TooManyFiles { .. }),
        "{:?}",
        error.error
    );
}

#[test]
fn walks_are_bounded() {
    let fixture = Fixture::new(&["a/b/c/d.yaml", "a/x/y.yaml"]);
    let mut walk = Walk {
        pattern: "**/*.yaml",
        limits: WalkLimits {
            matches: 10,
            directories: 3,
            entries: 100,
        },
        directories: 0,
        entries: 0,
        matches: BTreeSet::new(),
    };
    let pattern = Pattern::parse("**/*.yaml").unwrap();
    let dir = fixture.root().kustomization_dir().unwrap();
    let error = walk.directory(&dir, "", &pattern.segments, 0).unwrap_err();
    assert!(
        matches!(
            error,
            GlobError::TooBroad {
                what: "directories",
                limit: 3,
                ..
            }
        ),
        "{error:?}"
    );
}

fn paths<E: ListEntry>(entries: &[E]) -> Vec<&str> {
    entries.iter().map(ListEntry::path).collect()
}

#[test]
fn configs_expand_in_place_and_use_each_file_once() {
    let fixture = Fixture::new(&[
        "secrets/b.secret.yaml",
        "secrets/a.secret.yaml",
        "secrets/c.yaml",
        "env/one.env",
    ]);
    let config = GeneratorConfig::parse(
        b"files:\n- ./secrets/c.yaml\n- ./secrets/*.yaml\n- secrets/*.secret.yaml\n\
          secretFrom:\n- metadata: {name: s}\n  files: ['secrets/*.secret.yaml', 'c=secrets/c.yaml']\n  \
          envs: ['env/*.env']\n",
    )
    .unwrap();
    let expanded = expand_config(&config, &fixture.root()).unwrap();
    // The literal keeps its place and spelling; matches follow in path order; a file already
    // in the list is not used again.
    assert_eq!(
        paths(&expanded.files),
        [
            "./secrets/c.yaml",
            "secrets/a.secret.yaml",
            "secrets/b.secret.yaml"
        ]
    );
    assert_eq!(
        expanded.files[1].origin(),
        "files[1] (`secrets/a.secret.yaml`, matched by `./secrets/*.yaml`)"
    );
    let spec = &expanded.secret_from[0];
    assert_eq!(
        spec.files
            .iter()
            .map(|f| (f.key.as_str(), f.path.as_str()))
            .collect::<Vec<_>>(),
        [
            ("a.secret.yaml", "secrets/a.secret.yaml"),
            ("b.secret.yaml", "secrets/b.secret.yaml"),
            ("c", "secrets/c.yaml")
        ]
    );
    assert_eq!(paths(&spec.envs), ["env/one.env"]);
    // Lists are separate: the same file may be a manifest and a Secret value.
    // A config without patterns is unchanged.
    let literal = GeneratorConfig::parse(b"files: [a.yaml, a.yaml]\n").unwrap();
    assert_eq!(expand_config(&literal, &fixture.root()).unwrap(), literal);
}

#[test]
fn base_name_keys_must_differ() {
    let fixture = Fixture::new(&["dev/db.yaml", "prod/db.yaml", "dev/api.yaml"]);
    let config = GeneratorConfig::parse(
        b"secretFrom:\n- metadata: {name: s}\n  binaryFiles: ['*/db.yaml']\n",
    )
    .unwrap();
    let error = expand_config(&config, &fixture.root()).unwrap_err();
    let message = error.error.to_string();
    assert!(
        matches!(error.error, GlobError::SameKey { .. }),
        "{message}"
    );
    assert!(
        message.contains("`dev/db.yaml` and `prod/db.yaml` would both be Secret key `db.yaml`"),
        "{message}"
    );
    assert_eq!(error.origin, "secretFrom[0].binaryFiles[0] (`*/db.yaml`)");
    // `envs` and top-level `files` have no keys.
    let config = GeneratorConfig::parse(b"files: ['*/db.yaml']\n").unwrap();
    assert_eq!(
        expand_config(&config, &fixture.root()).unwrap().files.len(),
        2
    );
}

#[test]
fn a_pattern_cannot_have_a_key() {
    let fixture = Fixture::new(&["dev/db.yaml"]);
    let config =
        GeneratorConfig::parse(b"secretFrom:\n- metadata: {name: s}\n  files: ['db=dev/*.yaml']\n")
            .unwrap();
    let error = expand_config(&config, &fixture.root()).unwrap_err();
    assert!(
        matches!(error.error, GlobError::KeyedPattern { .. }),
        "{:?}",
        error.error
    );
    assert!(error.error.to_string().contains("cannot have a key"));
    // A keyed literal whose name has a wildcard character still works.
    fixture.write("odd*.yaml");
    let config =
        GeneratorConfig::parse(b"secretFrom:\n- metadata: {name: s}\n  files: ['k=odd*.yaml']\n")
            .unwrap();
    let expanded = expand_config(&config, &fixture.root()).unwrap();
    assert_eq!(paths(&expanded.secret_from[0].files), ["odd*.yaml"]);
}

#[test]
fn errors_never_show_absolute_paths() {
    let fixture = Fixture::new(&[]);
    let base = fixture.tmp.path().to_string_lossy().into_owned();
    for pattern in ["nothing/*", "/abs/*", "../*", "[x"] {
        let message = fixture.expand(pattern).unwrap_err().to_string();
        assert!(!message.contains(&base), "{message}");
        assert!(message.contains(pattern), "{message}");
    }
}

#[test]
fn patterns_start_at_the_kustomization_directory_under_every_policy() {
    let fixture = Fixture::new(&["app/secrets/a.yaml", "app/other/b.yaml", "top.yaml"]);
    let checkout = fixture.path("");
    let app = fixture.path("app");
    fs::create_dir(checkout.join(".git")).unwrap();
    let roots = [
        Root::open_within(&app, &checkout, Limits::default()).unwrap(),
        Root::open(&app, RootPolicy::GitWorkTree, Limits::default()).unwrap(),
        Root::open(&app, RootPolicy::Unconfined, Limits::default()).unwrap(),
        Root::open(&app, RootPolicy::Kustomization, Limits::default()).unwrap(),
    ];
    for root in roots {
        let policy = root.policy();
        let found = expand_pattern(&root, "**/*.yaml", MAX_FILES_PER_GENERATOR).unwrap();
        assert_eq!(
            found,
            Some(vec!["other/b.yaml".to_owned(), "secrets/a.yaml".to_owned()]),
            "{policy:?}"
        );
        // Even where literal paths may climb out of the kustomization directory, patterns
        // may not.
        assert!(
            matches!(
                expand_pattern(&root, "../*.yaml", MAX_FILES_PER_GENERATOR),
                Err(GlobError::Parent { .. })
            ),
            "{policy:?}"
        );
        let config = GeneratorConfig::parse(b"files: ['secrets/*']\n").unwrap();
        let expanded = expand_config(&config, &root).unwrap();
        assert_eq!(paths(&expanded.files), ["secrets/a.yaml"], "{policy:?}");
        assert_eq!(root.read("secrets/a.yaml").unwrap(), b"app/secrets/a.yaml");
    }
}
