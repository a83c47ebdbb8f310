//! The age key type: every age identity sops 3.12 would find, and how they unwrap an age
//! master key's copy of the data key (sops' `age.Decrypt`).
//!
//! - `identity`: the identity types (X25519, post-quantum, SSH, plugin, passphrase-protected)
//!   and what each says about itself;
//! - `load`: reading them from each source, in sops' order;
//! - `command`: the key commands, run per recipient with `SOPS_AGE_RECIPIENT`;
//! - `pq`: post-quantum identities (`mlkem768x25519`), which the `age` crate lacks;
//! - `ssh`: the parts of the OpenSSH key format age keys need;
//! - `unlock`: passphrases asked on `/dev/tty` and plugin requests, when a file needs them.
//!
//! Passphrase-protected SSH keys and identity files are kept locked and only unlocked when a
//! file actually needs them.

mod command;
mod identity;
mod load;
mod pq;
mod ssh;
mod unlock;

use std::cell::RefCell;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use age::armor::ArmoredReader;
use age::{DecryptError, Decryptor};
use age_core::format::{FileKey, Stanza};
use zeroize::Zeroizing;

use self::command::{KeyCommand, Run};
use self::identity::{Entry, Kind, Plain};
use self::unlock::Prompter;
use super::identity::TriedIdentity;
use super::sources::{SourceReport, SourceStatus};

/// The most an `enc` blob may decrypt to: a data key is 32 bytes, a Shamir share 33.
const PAYLOAD_LIMIT: u64 = 1024;

/// Every age identity found in the sources sops 3.12 reads, with a report per source.
pub(super) struct AgeKeys {
    /// In try order (see `Kind::rank`).
    entries: Vec<Entry>,
    /// The key commands, whose identities depend on the recipient tried.
    commands: Vec<KeyCommand>,
    /// One per source, in the order sops reads them; entries point into it.
    reports: Vec<SourceReport>,
    prompter: Prompter,
}

impl AgeKeys {
    /// What each source gave, in the order sops reads them.
    pub(super) fn reports(&self) -> &[SourceReport] {
        &self.reports
    }

    /// How many identities were loaded (locked ones count as one each), not counting those of
    /// key commands, which run per recipient.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no identity at all was loaded and no key command may give one.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.commands.is_empty()
    }

    /// The digests of the unprotected private keys, for
    /// [`Keyring::derive_key`](crate::sops::keys::Keyring::derive_key). Key commands are run
    /// once without a recipient for this, as sops before 3.12 ran them.
    pub(super) fn secret_digests(&self) -> impl Iterator<Item = Zeroizing<[u8; 32]>> + '_ {
        let runs: Vec<Arc<OnceLock<Run>>> = self.commands.iter().map(|c| c.run_for(None)).collect();
        let from_commands: Vec<Zeroizing<[u8; 32]>> = runs
            .iter()
            .filter_map(|run| run.get())
            .flat_map(|run| run.entries.iter())
            .filter_map(|entry| entry.kind.secret_digest())
            .collect();
        self.entries
            .iter()
            .filter_map(|entry| entry.kind.secret_digest())
            .chain(from_commands)
    }

    /// Every identity offered for a data key, with its public key where it is known: those
    /// loaded, and those key commands gave for any recipient so far.
    pub(super) fn tried_identities(&self) -> Vec<TriedIdentity> {
        let runs: Vec<Arc<OnceLock<Run>>> =
            self.commands.iter().flat_map(KeyCommand::runs).collect();
        let from_commands = runs
            .iter()
            .filter_map(|run| run.get())
            .flat_map(|run| run.entries.iter());
        let mut out: Vec<TriedIdentity> = Vec::with_capacity(self.entries.len());
        for entry in self.entries.iter().chain(from_commands) {
            let source = self.source_name(entry.source);
            entry.kind.public_keys(|public_key| {
                let tried = TriedIdentity {
                    public_key,
                    source: source.to_owned(),
                };
                if !out.contains(&tried) {
                    out.push(tried);
                }
            });
        }
        out
    }

    fn source_name(&self, source: usize) -> &str {
        self.reports.get(source).map_or("?", |r| r.name.as_str())
    }

    /// Decrypts one armored `enc` blob, the copy of the data key for `recipient`, with every
    /// identity, as sops' `age.Decrypt` does; key commands run for `recipient`.
    ///
    /// On failure, returns the reason in sops' words, extended with what each source gave.
    pub(super) fn unwrap(&self, recipient: &str, enc: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        let runs: Vec<(usize, Arc<OnceLock<Run>>)> = self
            .commands
            .iter()
            .map(|c| (c.source, c.run_for(Some(recipient))))
            .collect();
        let mut reports = self.reports.clone();
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        for (source, run) in &runs {
            if let Some(run) = run.get() {
                if let Some(report) = reports.get_mut(*source) {
                    report.status = run.status.clone();
                }
                entries.extend(run.entries.iter());
            }
        }
        entries.sort_by_key(|e| e.kind.rank());
        if entries.is_empty() {
            return Err(reason(
                &reports,
                true,
                "failed to load age identities".into(),
                &[],
            ));
        }
        let notes = RefCell::new(Vec::new());
        let attempts: Vec<Attempt<'_>> = entries
            .iter()
            .map(|entry| Attempt {
                keys: self,
                entry,
                notes: &notes,
            })
            .collect();
        let head = "failed to create reader for decrypting sops data key with age";
        let result = Decryptor::new_buffered(ArmoredReader::new(enc.as_bytes()))
            .and_then(|d| d.decrypt(attempts.iter().map(|a| a as &dyn age::Identity)));
        let reader = match result {
            Ok(r) => r,
            Err(e) => {
                let why = match e {
                    DecryptError::NoMatchingKeys => {
                        "no identity matched any of the recipients".to_owned()
                    }
                    other => other.to_string().replace('\n', " "),
                };
                return Err(reason(
                    &reports,
                    false,
                    format!("{head}: {why}"),
                    &notes.borrow(),
                ));
            }
        };
        let mut payload = Zeroizing::new(Vec::with_capacity(64));
        reader
            .take(PAYLOAD_LIMIT)
            .read_to_end(&mut payload)
            .map_err(|e| format!("failed to read the age-decrypted data key: {e}"))?;
        Ok(payload)
    }
}

/// sops' `formatError` suffixes (load errors, unused locations) from the `reports` of the sources
/// as they were for this key, then problems met while unlocking identities for it. The
/// identities themselves are listed once for the whole report, by
/// [`DataKeyFailure`](crate::sops::keys::DataKeyFailure).
fn reason(
    reports: &[SourceReport],
    nothing_loaded: bool,
    head: String,
    notes: &[String],
) -> String {
    let errors: Vec<&str> = reports
        .iter()
        .filter_map(|r| match &r.status {
            SourceStatus::Failed(e) => Some(e.as_str()),
            _ => None,
        })
        .collect();
    let unused: Vec<&str> = reports
        .iter()
        .filter(|r| match r.status {
            SourceStatus::NotSet | SourceStatus::Loaded(0) => true,
            SourceStatus::NotFound => !r.default_file || nothing_loaded,
            _ => false,
        })
        .map(|r| r.name.as_str())
        .collect();

    let mut out = head;
    if !errors.is_empty() {
        out.push_str(". Errors while loading age identities: ");
        out.push_str(&errors.join("; "));
    }
    if let Some((last, rest)) = unused.split_last() {
        out.push_str(". Did not find keys in location");
        match rest {
            [] => out.push_str(&format!(" '{last}'")),
            [one] => out.push_str(&format!("s '{one}' and '{last}'")),
            _ => out.push_str(&format!("s '{}', and '{last}'", rest.join("', '"))),
        }
        out.push('.');
    }
    if !notes.is_empty() {
        out.push_str(&format!(
            " While unlocking identities: {}.",
            notes.join("; ")
        ));
    }
    out
}

/// One identity as offered to `age` for one `enc` blob; problems go to `notes`.
struct Attempt<'a> {
    keys: &'a AgeKeys,
    entry: &'a Entry,
    notes: &'a RefCell<Vec<String>>,
}

impl Attempt<'_> {
    fn note(&self, what: String) {
        self.notes.borrow_mut().push(what);
    }

    fn name(&self) -> &str {
        self.keys.source_name(self.entry.source)
    }

    fn plain(&self, id: &Plain, stanzas: &[Stanza]) -> Option<Result<FileKey, DecryptError>> {
        match id {
            Plain::X25519(i) => age::Identity::unwrap_stanzas(i, stanzas),
            Plain::Hybrid(i) => age::Identity::unwrap_stanzas(i.as_ref(), stanzas),
            Plain::Ssh(i, ..) => age::Identity::unwrap_stanzas(i, stanzas),
            Plain::Plugin(i) => self.plugin(i, stanzas),
        }
    }
}

impl age::Identity for Attempt<'_> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        self.unwrap_stanzas(std::slice::from_ref(stanza))
    }

    fn unwrap_stanzas(&self, stanzas: &[Stanza]) -> Option<Result<FileKey, DecryptError>> {
        match &self.entry.kind {
            Kind::Plain(id) => self.plain(id, stanzas),
            Kind::LockedSsh(l) => self.locked_ssh(l, stanzas),
            Kind::LockedFile(l) => self.locked_file(l, stanzas),
        }
    }
}
