//! Tests for confined reads. Fixtures live in temp dirs: `<tmp>/root` is the kustomization
//! directory and `<tmp>/outside/secret` a file that must never be read through a confined root.

use super::*;
use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

const SECRET: &[u8] = b"OTHER TENANT SECRET";

struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = crate::testing::scratch_dir("unit");
        fs::create_dir(tmp.path().join("root")).unwrap();
        fs::create_dir(tmp.path().join("outside")).unwrap();
        fs::write(tmp.path().join("outside/secret"), SECRET).unwrap();
        Fixture { tmp }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn root_dir(&self) -> PathBuf {
        self.path("root")
    }

    fn write(&self, rel: &str, contents: &[u8]) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, contents).unwrap();
    }

    fn mkdir(&self, rel: &str) {
        fs::create_dir_all(self.path(rel)).unwrap();
    }

    #[cfg(unix)]
    fn symlink(&self, target: impl AsRef<Path>, link: &str) {
        std::os::unix::fs::symlink(target, self.path(link)).unwrap();
    }

    fn open(&self, policy: RootPolicy) -> Root {
        Root::open(&self.root_dir(), policy, Limits::default()).unwrap()
    }

    fn confined(&self) -> Root {
        self.open(RootPolicy::Kustomization)
    }

    /// Asserts the error message names the reference and leaks neither the fixture's absolute
    /// path nor the secret.
    fn assert_clean_message(&self, err: &ConfineError, reference: &str) {
        let message = err.to_string();
        assert!(
            message.contains(reference),
            "message {message:?} does not name {reference:?}"
        );
        let tmp = self.tmp.path().to_string_lossy().into_owned();
        assert!(
            !message.contains(&tmp),
            "message {message:?} leaks the path"
        );
        assert!(
            !message.contains("OTHER TENANT"),
            "message {message:?} leaks contents"
        );
    }
}

fn assert_escapes(result: Result<Vec<u8>, ConfineError>) {
    match result {
        Err(ConfineError::Escapes { .. }) => {}
        other => panic!("expected Escapes, got {other:?}"),
    }
}

#[test]
fn reads_regular_file_inside() {
    let fx = Fixture::new();
    fx.write("root/s.enc.yaml", b"data");
    let root = fx.confined();
    assert_eq!(root.read("s.enc.yaml").unwrap(), b"data");
    assert_eq!(root.read("./s.enc.yaml").unwrap(), b"data");
}

#[test]
fn reads_nested_path() {
    let fx = Fixture::new();
    fx.write("root/a/b/c.yaml", b"nested");
    assert_eq!(fx.confined().read("a/b/c.yaml").unwrap(), b"nested");
}

#[test]
fn dot_dot_that_stays_inside_is_fine() {
    let fx = Fixture::new();
    fx.write("root/x", b"x");
    fx.mkdir("root/sub/deeper");
    let root = fx.confined();
    assert_eq!(root.read("sub/../x").unwrap(), b"x");
    assert_eq!(root.read("sub/deeper/../../x").unwrap(), b"x");
}

#[test]
fn dot_dot_escape_is_refused() {
    let fx = Fixture::new();
    let root = fx.confined();
    for reference in ["../outside/secret", "sub/../../outside/secret", ".."] {
        fx.mkdir("root/sub");
        let err = root.read(reference).unwrap_err();
        assert!(
            matches!(err, ConfineError::Escapes { .. }),
            "{reference}: {err:?}"
        );
        fx.assert_clean_message(&err, reference);
    }
}

#[test]
fn leaving_the_root_even_momentarily_is_refused() {
    // `../root/x` comes back in, but the walk steps above the root handle first: fail closed.
    let fx = Fixture::new();
    fx.write("root/x", b"x");
    assert_escapes(fx.confined().read("../root/x"));
}

#[test]
fn absolute_path_is_refused() {
    let fx = Fixture::new();
    fx.write("root/x", b"x");
    let root = fx.confined();
    let err = root.read("/etc/passwd").unwrap_err();
    assert!(matches!(err, ConfineError::Absolute { .. }), "{err:?}");
    fx.assert_clean_message(&err, "/etc/passwd");
    // Even an absolute path that points inside the root.
    let inside = fx.path("root/x").to_string_lossy().into_owned();
    assert!(matches!(
        root.read(&inside),
        Err(ConfineError::Absolute { .. })
    ));
}

#[test]
fn empty_reference_is_refused() {
    let fx = Fixture::new();
    assert!(matches!(fx.confined().read(""), Err(ConfineError::Empty)));
}

#[test]
fn missing_file_is_not_found() {
    let fx = Fixture::new();
    let err = fx.confined().read("nope.yaml").unwrap_err();
    assert!(matches!(err, ConfineError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("file not found"));
    fx.assert_clean_message(&err, "nope.yaml");
}

#[cfg(unix)]
#[test]
fn symlink_to_file_inside_is_followed() {
    let fx = Fixture::new();
    fx.write("root/real/x", b"real");
    fx.mkdir("root/sub");
    fx.symlink("real/x", "root/link");
    fx.symlink("../real/x", "root/sub/uplink");
    fx.symlink("real", "root/dirlink");
    let root = fx.confined();
    assert_eq!(root.read("link").unwrap(), b"real");
    assert_eq!(root.read("sub/uplink").unwrap(), b"real");
    assert_eq!(root.read("dirlink/x").unwrap(), b"real");
}

#[cfg(unix)]
#[test]
fn symlink_to_file_outside_is_refused() {
    let fx = Fixture::new();
    fx.symlink(fx.path("outside/secret"), "root/abs");
    fx.symlink("../outside/secret", "root/rel");
    let root = fx.confined();
    for reference in ["abs", "rel"] {
        let err = root.read(reference).unwrap_err();
        assert!(
            matches!(err, ConfineError::Escapes { .. }),
            "{reference}: {err:?}"
        );
        fx.assert_clean_message(&err, reference);
    }
}

#[cfg(unix)]
#[test]
fn symlink_to_etc_passwd_is_refused() {
    let fx = Fixture::new();
    fx.symlink("/etc/passwd", "root/passwd");
    assert_escapes(fx.confined().read("passwd"));
}

#[cfg(unix)]
#[test]
fn symlinked_directory_pointing_outside_is_refused() {
    let fx = Fixture::new();
    fx.symlink(fx.path("outside"), "root/absdir");
    fx.symlink("../outside", "root/reldir");
    let root = fx.confined();
    assert_escapes(root.read("absdir/secret"));
    assert_escapes(root.read("reldir/secret"));
    // Also in the middle of a longer path.
    fx.mkdir("root/a");
    fx.symlink("../../outside", "root/a/b");
    assert_escapes(root.read("a/b/secret"));
}

#[cfg(unix)]
#[test]
fn relative_symlink_climbing_out_is_refused() {
    let fx = Fixture::new();
    fx.mkdir("root/deep/er");
    // Climbs far above the temp dir: lands on /etc/passwd if followed naively.
    fx.symlink(
        "../../../../../../../../../../../../../../../../etc/passwd",
        "root/deep/er/climb",
    );
    assert_escapes(fx.confined().read("deep/er/climb"));
}

#[cfg(unix)]
#[test]
fn chain_of_symlinks_ending_outside_is_refused() {
    let fx = Fixture::new();
    fx.mkdir("root/sub");
    fx.symlink("sub/two", "root/one");
    fx.symlink("../three", "root/sub/two");
    fx.symlink("../outside/secret", "root/three");
    assert_escapes(fx.confined().read("one"));
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_an_io_error() {
    let fx = Fixture::new();
    fx.symlink("b", "root/a");
    fx.symlink("a", "root/b");
    let err = fx.confined().read("a").unwrap_err();
    assert!(matches!(err, ConfineError::Io { .. }), "{err:?}");
    fx.assert_clean_message(&err, "a");
}

#[cfg(unix)]
#[test]
fn fifo_is_refused_without_blocking() {
    let fx = Fixture::new();
    let status = std::process::Command::new("mkfifo")
        .arg(fx.path("root/pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    let root = Arc::new(fx.confined());
    // Read on another thread so a regression (a blocking open) fails the test instead of
    // hanging the suite.
    let (tx, rx) = mpsc::channel();
    let reader = Arc::clone(&root);
    std::thread::spawn(move || {
        let _ = tx.send(reader.read("pipe"));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("reading a FIFO blocked");
    match result {
        Err(ref err @ ConfineError::NotRegularFile { kind, .. }) => {
            assert_eq!(kind, "a FIFO");
            fx.assert_clean_message(err, "pipe");
        }
        other => panic!("expected NotRegularFile, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn socket_is_refused() {
    let fx = Fixture::new();
    let _listener = std::os::unix::net::UnixListener::bind(fx.path("root/sock")).unwrap();
    let err = fx.confined().read("sock").unwrap_err();
    assert!(
        matches!(err, ConfineError::NotRegularFile { .. }),
        "{err:?}"
    );
}

#[test]
fn directory_is_refused() {
    let fx = Fixture::new();
    fx.mkdir("root/dir");
    let root = fx.confined();
    for reference in ["dir", ".", "dir/"] {
        match root.read(reference) {
            Err(ConfineError::NotRegularFile { kind, .. }) => assert_eq!(kind, "a directory"),
            other => panic!("{reference}: expected NotRegularFile, got {other:?}"),
        }
    }
}

#[cfg(unix)]
#[test]
fn device_via_symlink_is_refused() {
    let fx = Fixture::new();
    fx.symlink("/dev/null", "root/null");
    // Confined: the absolute symlink itself leaves the root.
    assert_escapes(fx.confined().read("null"));
    // Unconfined: followed, then refused because it is a device.
    match fx.open(RootPolicy::Unconfined).read("null") {
        Err(ConfineError::NotRegularFile { kind, .. }) => assert_eq!(kind, "a character device"),
        other => panic!("expected NotRegularFile, got {other:?}"),
    }
}

#[test]
fn oversized_file_is_refused_without_reading_it() {
    let fx = Fixture::new();
    // Sparse: one byte over the default cap without using the disk space.
    let file = fs::File::create(fx.path("root/big")).unwrap();
    file.set_len(Limits::DEFAULT_MAX_FILE_BYTES + 1).unwrap();
    let err = fx.confined().read("big").unwrap_err();
    assert!(
        matches!(err, ConfineError::TooLarge { limit, .. } if limit == Limits::DEFAULT_MAX_FILE_BYTES),
        "{err:?}"
    );
    fx.assert_clean_message(&err, "big");
}

#[test]
fn reads_stop_at_the_total_limit_even_for_one_file_listed_many_times() {
    let fx = Fixture::new();
    let limits = Limits {
        max_file_bytes: 1024,
        max_total_bytes: 2048,
    };
    fx.write("root/a", &[b'a'; 1000]);
    let root = Root::open(&fx.root_dir(), RootPolicy::Kustomization, limits).unwrap();
    assert_eq!(root.read("a").unwrap().len(), 1000);
    assert_eq!(root.read("./a").unwrap().len(), 1000);
    let err = root.read("a").unwrap_err();
    assert!(
        matches!(&err, ConfineError::TotalTooLarge { reference, limit: 2048 } if reference == "a"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("limit of 2048 bytes for all files together")
    );
}

#[test]
fn file_exactly_at_the_limit_is_accepted() {
    let fx = Fixture::new();
    let limits = Limits {
        max_file_bytes: 1024,
        ..Limits::default()
    };
    fx.write("root/at", &[b'a'; 1024]);
    fx.write("root/over", &[b'a'; 1025]);
    let root = Root::open(&fx.root_dir(), RootPolicy::Kustomization, limits).unwrap();
    assert_eq!(root.read("at").unwrap().len(), 1024);
    assert!(matches!(
        root.read("over"),
        Err(ConfineError::TooLarge { limit: 1024, .. })
    ));
}

#[test]
fn default_limit_accepts_a_sparse_file_at_the_limit() {
    let fx = Fixture::new();
    let file = fs::File::create(fx.path("root/max")).unwrap();
    file.set_len(Limits::DEFAULT_MAX_FILE_BYTES).unwrap();
    let bytes = fx.confined().read("max").unwrap();
    assert_eq!(bytes.len() as u64, Limits::DEFAULT_MAX_FILE_BYTES);
}

#[test]
fn bounded_reader_stops_a_file_that_grew_after_fstat() {
    // fstat said 4 bytes, but 10 arrive: the cap still holds.
    let grown = io::Cursor::new(vec![b'x'; 10]);
    assert!(read_capped(grown, 4, 8).unwrap().is_none());
    let exact = io::Cursor::new(vec![b'x'; 8]);
    assert_eq!(read_capped(exact, 4, 8).unwrap().unwrap().len(), 8);
    // A size hint larger than the limit (or than memory) only sizes the buffer.
    let small = io::Cursor::new(vec![b'x'; 3]);
    assert_eq!(
        read_capped(small, u64::MAX, u64::MAX)
            .unwrap()
            .unwrap()
            .len(),
        3
    );
}

#[cfg(unix)]
#[test]
fn permission_denied_is_an_io_error_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    fx.write("root/locked", b"locked");
    fs::set_permissions(fx.path("root/locked"), fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(fx.path("root/locked")).is_ok() {
        eprintln!("skipped: running with privileges that ignore file modes");
        return;
    }
    let err = fx.confined().read("locked").unwrap_err();
    match &err {
        ConfineError::Io { cause, .. } => {
            assert_eq!(cause.kind(), io::ErrorKind::PermissionDenied);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(err.to_string().to_lowercase().contains("permission denied"));
    fx.assert_clean_message(&err, "locked");
}

#[test]
fn missing_kustomization_dir_is_an_open_error_without_the_path() {
    let fx = Fixture::new();
    for policy in [
        RootPolicy::Kustomization,
        RootPolicy::GitWorkTree,
        RootPolicy::Unconfined,
    ] {
        let err = Root::open(&fx.path("absent"), policy, Limits::default()).unwrap_err();
        assert!(
            matches!(err, ConfineError::KustomizationDir { .. }),
            "{err:?}"
        );
        assert!(!err.to_string().contains(&*fx.tmp.path().to_string_lossy()));
    }
}

#[test]
fn debug_output_does_not_show_the_path() {
    let fx = Fixture::new();
    for policy in [RootPolicy::Kustomization, RootPolicy::Unconfined] {
        let debug = format!("{:?}", fx.open(policy));
        assert!(
            !debug.contains(&*fx.tmp.path().to_string_lossy()),
            "{debug}"
        );
    }
}

/// `<tmp>/repo` is a git work tree holding `apps/app` (the kustomization dir) and `shared/`.
fn git_fixture(git_marker_is_file: bool) -> (Fixture, PathBuf) {
    let fx = Fixture::new();
    if git_marker_is_file {
        fx.write(
            "repo/.git",
            b"gitdir: /somewhere/else/.git/worktrees/repo\n",
        );
    } else {
        fx.mkdir("repo/.git");
    }
    fx.mkdir("repo/apps/app");
    fx.write("repo/apps/app/own.yaml", b"own");
    fx.write("repo/shared/x.enc.yaml", b"shared");
    let kustomization = fx.path("repo/apps/app");
    (fx, kustomization)
}

/// True when some ancestor of the temp dir is itself a git work tree, which would make the
/// "no .git" fixtures meaningless.
fn temp_dir_is_inside_a_work_tree(fx: &Fixture) -> bool {
    fx.tmp
        .path()
        .ancestors()
        .any(|dir| dir.join(".git").exists())
}

#[test]
fn git_work_tree_allows_siblings_inside_the_work_tree() {
    for marker_is_file in [false, true] {
        let (fx, kustomization) = git_fixture(marker_is_file);
        let root = Root::open(&kustomization, RootPolicy::GitWorkTree, Limits::default()).unwrap();
        assert_eq!(root.read("own.yaml").unwrap(), b"own");
        assert_eq!(root.read("../../shared/x.enc.yaml").unwrap(), b"shared");
        assert_eq!(root.read("../app/own.yaml").unwrap(), b"own");
        let err = root.read("../../../outside/secret").unwrap_err();
        assert!(matches!(err, ConfineError::Escapes { .. }), "{err:?}");
        assert!(err.to_string().contains("git work tree"), "{err}");
        fx.assert_clean_message(&err, "../../../outside/secret");
        // The default policy keeps the same config inside the kustomization dir.
        let narrow =
            Root::open(&kustomization, RootPolicy::Kustomization, Limits::default()).unwrap();
        assert_escapes(narrow.read("../../shared/x.enc.yaml"));
    }
}

#[cfg(unix)]
#[test]
fn git_work_tree_refuses_symlinks_leaving_the_work_tree() {
    let (fx, kustomization) = git_fixture(false);
    fx.symlink("../../outside", "repo/shared/out");
    fx.symlink("../shared/x.enc.yaml", "repo/apps/in");
    let root = Root::open(&kustomization, RootPolicy::GitWorkTree, Limits::default()).unwrap();
    assert_escapes(root.read("../../shared/out/secret"));
    // A symlink outside the kustomization dir but inside the work tree is fine.
    assert_eq!(root.read("../in").unwrap(), b"shared");
}

#[test]
fn git_work_tree_does_not_reach_a_sibling_checkout() {
    // Two checkouts side by side, as on a repo-server: A must not read B.
    let fx = Fixture::new();
    fx.mkdir("repos/a/.git");
    fx.mkdir("repos/a/app");
    fx.mkdir("repos/b/.git");
    fx.write("repos/b/app/secret.enc.yaml", SECRET);
    let kustomization = fx.path("repos/a/app");
    for policy in [RootPolicy::Kustomization, RootPolicy::GitWorkTree] {
        let root = Root::open(&kustomization, policy, Limits::default()).unwrap();
        assert_escapes(root.read("../../b/app/secret.enc.yaml"));
    }
}

#[test]
fn git_work_tree_at_the_kustomization_dir_itself() {
    let fx = Fixture::new();
    fx.mkdir("root/.git");
    fx.write("root/x", b"x");
    let root = fx.open(RootPolicy::GitWorkTree);
    assert_eq!(root.read("x").unwrap(), b"x");
    assert_escapes(root.read("../outside/secret"));
}

#[test]
fn git_work_tree_without_git_is_an_error() {
    let fx = Fixture::new();
    if temp_dir_is_inside_a_work_tree(&fx) {
        eprintln!("skipped: the temp dir is inside a git work tree");
        return;
    }
    let err = Root::open(&fx.root_dir(), RootPolicy::GitWorkTree, Limits::default()).unwrap_err();
    assert!(matches!(err, ConfineError::NoGitWorkTree), "{err:?}");
}

#[test]
fn unconfined_allows_absolute_and_dot_dot() {
    let fx = Fixture::new();
    let root = fx.open(RootPolicy::Unconfined);
    let absolute = fx.path("outside/secret").to_string_lossy().into_owned();
    assert_eq!(root.read(&absolute).unwrap(), SECRET);
    assert_eq!(root.read("../outside/secret").unwrap(), SECRET);
    assert!(matches!(
        root.read("missing"),
        Err(ConfineError::NotFound { .. })
    ));
    fx.mkdir("root/dir");
    assert!(matches!(
        root.read("dir"),
        Err(ConfineError::NotRegularFile { .. })
    ));
}

#[cfg(unix)]
#[test]
fn unconfined_still_refuses_fifos_and_oversized_files() {
    let fx = Fixture::new();
    let status = std::process::Command::new("mkfifo")
        .arg(fx.path("outside/pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    fs::File::create(fx.path("outside/big"))
        .unwrap()
        .set_len(2048)
        .unwrap();
    let root = Root::open(
        &fx.root_dir(),
        RootPolicy::Unconfined,
        Limits {
            max_file_bytes: 1024,
            ..Limits::default()
        },
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send((root.read("../outside/pipe"), root.read("../outside/big")));
    });
    let (pipe, big) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("reading a FIFO blocked");
    assert!(
        matches!(pipe, Err(ConfineError::NotRegularFile { .. })),
        "{pipe:?}"
    );
    assert!(matches!(big, Err(ConfineError::TooLarge { .. })), "{big:?}");
}

/// A directory component is swapped for an escaping symlink (absolute or relative) in a tight
/// loop while another thread reads through it. Every read must yield the inside file or an error:
/// never the outside file. (To exercise cap-std's fallback walk instead of `openat2`, run the test
/// binary under `strace -f -e inject=openat2:error=ENOSYS`.)
#[cfg(unix)]
#[test]
fn swapping_a_directory_for_a_symlink_never_reads_outside() {
    let fx = Fixture::new();
    fx.write("root/d/secret", b"inside");
    fx.symlink(fx.path("outside"), "root/evil_abs");
    fx.symlink("../outside", "root/evil_rel");
    let root = fx.confined();

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = Arc::clone(&stop);
        let d = fx.path("root/d");
        let parked = fx.path("root/parked");
        let evils = [fx.path("root/evil_abs"), fx.path("root/evil_rel")];
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let evil = &evils[(swaps % 2) as usize];
                // d (directory) -> parked, evil symlink -> d, then back again.
                fs::rename(&d, &parked).unwrap();
                fs::rename(evil, &d).unwrap();
                fs::rename(&d, evil).unwrap();
                fs::rename(&parked, &d).unwrap();
                swaps += 1;
            }
            swaps
        })
    };

    let deadline = Instant::now() + Duration::from_secs(1);
    let (mut inside, mut refused) = (0u64, 0u64);
    while Instant::now() < deadline {
        match root.read("d/secret") {
            Ok(bytes) => {
                assert_eq!(
                    bytes, b"inside",
                    "read the outside file through a swapped symlink"
                );
                inside += 1;
            }
            // Which error depends on where the swap lands (escape, missing, or a component that
            // stopped being a directory mid-walk); any refusal is fine.
            Err(_) => refused += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0 && inside + refused > 0);
    eprintln!("race: {swaps} swaps, {inside} inside reads, {refused} refused");
}

#[test]
fn escape_errors_from_cap_std_are_recognised() {
    // Pins the mapping `is_escape_attempt` relies on against the cap-std version in use.
    let fx = Fixture::new();
    let dir = Dir::open_ambient_dir(fx.root_dir(), ambient_authority()).unwrap();
    let err = dir.open("../outside/secret").unwrap_err();
    assert!(is_escape_attempt(&err), "{err:?}");
    // A real permission error always carries its errno and is not taken for an escape.
    let denied = fs::File::open(fx.path("nope")).unwrap_err();
    assert!(!is_escape_attempt(&denied));
    let os = io::Error::from_raw_os_error(13);
    assert!(!is_escape_attempt(&os));
}
