//! What the Vault key source reads once from the environment: the token, the namespace, the
//! client's bounds and certificates (the Vault client's `VAULT_*` variables), and which
//! addresses may be contacted at all.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use super::super::http::{HttpSettings, TlsSettings};
use crate::limits::{MAX_KEY_SERVICE_RESPONSE_BYTES, read_file_capped};

/// sops 3.13's allow-list of Vault addresses: `all`, `none`, or comma-separated address
/// prefixes.
pub const SOPS_HC_VAULT_ALLOWLIST: &str = "SOPS_HC_VAULT_ALLOWLIST";

/// The Vault client's default `VAULT_CLIENT_TIMEOUT`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The Vault client's default `VAULT_MAX_RETRIES`.
const DEFAULT_MAX_RETRIES: u32 = 2;

/// How Vault transit keys are used: read once from the environment (or built by the command
/// line for a tenant). The token is held in a zeroizing buffer and never printed.
#[derive(Clone)]
pub struct VaultSource {
    /// The token, or why it could not be read; `Ok(None)`: no token at all.
    pub(super) token: Result<Option<Zeroizing<String>>, String>,
    /// `VAULT_NAMESPACE`, sent as `X-Vault-Namespace`.
    pub(super) namespace: Option<String>,
    /// The client's bounds and certificates, or why a variable was refused.
    pub(super) http: Result<HttpSettings, String>,
    /// Which addresses may be contacted, or why `SOPS_HC_VAULT_ALLOWLIST` was refused.
    pub(super) allowed: Result<Allowed, String>,
    /// `VAULT_AGENT_ADDR`: a Vault Agent (or proxy) that every request goes to instead of the
    /// file's address, as the Vault client does; or why it is not usable.
    pub(super) agent: Result<Option<Address>, String>,
}

impl fmt::Debug for VaultSource {
    // Only say whether there is a token: its value is secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSource")
            .field("token", &matches!(self.token, Ok(Some(_))))
            .field("namespace", &self.namespace)
            .field("http", &self.http)
            .field("allowed", &self.allowed)
            .field("agent", &self.agent)
            .finish()
    }
}

/// The addresses the operator allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Allowed {
    /// `SOPS_HC_VAULT_ALLOWLIST=all`.
    All,
    /// `SOPS_HC_VAULT_ALLOWLIST`'s prefixes, each ending in `/` (`none` is an empty list).
    Prefixes(Vec<String>),
    /// No allow-list: only the origin of `VAULT_ADDR`, when it is set and valid.
    VaultAddr(Option<Origin>),
}

impl VaultSource {
    /// Reads every setting from the process environment; the token from `VAULT_TOKEN`, else
    /// `$HOME/.vault-token`.
    pub fn from_env() -> VaultSource {
        let var = |name: &str| std::env::var_os(name);
        let token = match std::env::var_os("VAULT_TOKEN").filter(|v| !v.is_empty()) {
            Some(token) => Ok(Some(Zeroizing::new(token.to_string_lossy().into_owned()))),
            None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(home) => read_token(&Path::new(&home).join(".vault-token"), "~/.vault-token"),
                None => Ok(None),
            },
        };
        VaultSource {
            token,
            namespace: var("VAULT_NAMESPACE")
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned()),
            http: http_settings(&var),
            allowed: allowed(
                var(SOPS_HC_VAULT_ALLOWLIST).as_deref(),
                var("VAULT_ADDR").as_deref(),
            ),
            agent: agent(var("VAULT_AGENT_ADDR").as_deref()),
        }
    }

    /// The same settings with the token read from `file` only (a tenant's token file): no
    /// `VAULT_TOKEN`, no `~/.vault-token`. A missing file means no token.
    pub fn with_token_file(self, file: &Path) -> VaultSource {
        VaultSource {
            token: read_token(file, &file.display().to_string()),
            ..self
        }
    }
}

/// A token file's content, trimmed; a missing file is no token (as the Vault client has it).
fn read_token(file: &Path, name: &str) -> Result<Option<Zeroizing<String>>, String> {
    match read_file_capped(file, MAX_KEY_SERVICE_RESPONSE_BYTES) {
        Ok(Some(bytes)) => {
            let bytes = Zeroizing::new(bytes);
            let text = String::from_utf8_lossy(&bytes);
            let token = Zeroizing::new(text.trim().to_owned());
            if let std::borrow::Cow::Owned(mut copy) = text {
                zeroize::Zeroize::zeroize(&mut copy);
            }
            Ok((!token.is_empty()).then_some(token))
        }
        Ok(None) => Err(format!("cannot get Vault token: {name} is too large")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot get Vault token: cannot read {name}: {e}")),
    }
}

/// The client's bounds and certificates from the Vault client's variables.
fn http_settings(
    var: &impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<HttpSettings, String> {
    let path = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let text = |name: &str| {
        var(name)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string_lossy().into_owned())
    };
    let timeout = match text("VAULT_CLIENT_TIMEOUT") {
        None => DEFAULT_TIMEOUT,
        Some(value) => parse_timeout(&value).ok_or_else(|| {
            "VAULT_CLIENT_TIMEOUT must be a positive number of seconds or a duration such as 30s \
             or 1m30s"
                .to_owned()
        })?,
    };
    let max_retries = match text("VAULT_MAX_RETRIES") {
        None => DEFAULT_MAX_RETRIES,
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 100)
            .ok_or_else(|| "VAULT_MAX_RETRIES must be a whole number up to 100".to_owned())?,
    };
    let skip_verify = match text("VAULT_SKIP_VERIFY") {
        None => false,
        // Go's strconv.ParseBool, as the Vault client reads it.
        Some(value) => match value.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err("could not parse VAULT_SKIP_VERIFY".to_owned()),
        },
    };
    Ok(HttpSettings {
        timeout,
        max_retries,
        tls: TlsSettings {
            ca_file: path("VAULT_CACERT"),
            ca_dir: path("VAULT_CAPATH"),
            client_cert: path("VAULT_CLIENT_CERT"),
            client_key: path("VAULT_CLIENT_KEY"),
            skip_verify,
        },
    })
}

/// `VAULT_CLIENT_TIMEOUT` as the Vault client reads it (`parseutil.ParseDurationSecond`): a
/// whole number is seconds, anything else a Go duration (`1m30s`, `500ms`). Zero or negative
/// (no limit, for the Vault client) is refused: every request here is bounded.
fn parse_timeout(text: &str) -> Option<Duration> {
    let duration = if text.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(text.parse().ok()?)
    } else {
        parse_go_duration(text)?
    };
    (!duration.is_zero()).then_some(duration)
}

/// A positive Go duration (`time.ParseDuration`): decimal numbers, each with a unit (`ns`,
/// `us`, `µs`, `ms`, `s`, `m`, `h`).
fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * seconds;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// `VAULT_AGENT_ADDR`, when set and not empty.
fn agent(value: Option<&OsStr>) -> Result<Option<Address>, String> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok_or("it is not UTF-8")
        .and_then(Address::parse)
        .map(Some)
        .map_err(|why| format!("VAULT_AGENT_ADDR is not usable: {why} (ksops reaches an agent over http or https only)"))
}

/// The allow-list: `SOPS_HC_VAULT_ALLOWLIST` as sops 3.13 reads it when it is set and not
/// empty, else the origin of `VAULT_ADDR` (sops' default is to allow every address).
fn allowed(allowlist: Option<&OsStr>, vault_addr: Option<&OsStr>) -> Result<Allowed, String> {
    let Some(list) = allowlist.filter(|v| !v.is_empty()) else {
        return Ok(Allowed::VaultAddr(
            vault_addr
                .and_then(OsStr::to_str)
                .and_then(|addr| Address::parse(addr).ok())
                .map(|addr| addr.origin),
        ));
    };
    let list = list.to_string_lossy();
    match list.as_ref() {
        "all" => return Ok(Allowed::All),
        "none" => return Ok(Allowed::Prefixes(Vec::new())),
        _ => {}
    }
    let mut prefixes = Vec::new();
    for (index, entry) in list.split(',').enumerate() {
        let entry = entry.trim_matches(' ');
        if entry.is_empty() {
            return Err(format!(
                "{SOPS_HC_VAULT_ALLOWLIST}'s entry {} is empty",
                index + 1
            ));
        }
        let mut prefix = entry.to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        prefixes.push(prefix);
    }
    Ok(Allowed::Prefixes(prefixes))
}

impl Allowed {
    /// Whether `address` (a file's `vault_address`, already parsed) may be contacted.
    pub(super) fn allows(&self, raw: &str, address: &Address) -> bool {
        match self {
            Allowed::All => true,
            // sops' `allowList.Allows`: a prefix of the address with a trailing `/`.
            Allowed::Prefixes(prefixes) => {
                let mut raw = raw.to_owned();
                if !raw.ends_with('/') {
                    raw.push('/');
                }
                prefixes
                    .iter()
                    .any(|prefix| raw.starts_with(prefix.as_str()))
            }
            Allowed::VaultAddr(origin) => origin.as_ref() == Some(&address.origin),
        }
    }
}

/// `scheme://host:port`, lower-cased, with the scheme's default port made explicit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Origin(String);

/// A Vault address, read strictly: `http` or `https`, a host and an optional port, an optional
/// path; no user info, query, fragment, backslash, space or control character, so that what is
/// checked against the allow-list is where the request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Address {
    pub(super) origin: Origin,
    /// `scheme://authority` as written, without a trailing `/`.
    pub(super) base: String,
    /// The path after the authority, without leading or trailing `/` (usually empty).
    pub(super) path: String,
}

impl Address {
    /// Parses a `vault_address` or `VAULT_ADDR`; the error says what is wrong.
    pub(super) fn parse(text: &str) -> Result<Address, &'static str> {
        if text
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '\\' | '?' | '#' | '@'))
        {
            return Err("it holds a character a Vault address cannot have");
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("it is not an http:// or https:// URL")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err("it is not an http:// or https:// URL"),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.strip_prefix('[') {
            // An IPv6 literal: `[::1]` or `[::1]:8200`.
            Some(inner) => {
                let (ip, after) = inner.split_once(']').ok_or("its host is not valid")?;
                let port = match after {
                    "" => default_port,
                    _ => after
                        .strip_prefix(':')
                        .and_then(|p| p.parse().ok())
                        .ok_or("its port is not a number")?,
                };
                (&authority[..ip.len() + 2], port)
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, port.parse().map_err(|_| "its port is not a number")?),
                None => (authority, default_port),
            },
        };
        if host.is_empty() || host == "[]" {
            return Err("it has no valid host");
        }
        Ok(Address {
            origin: Origin(format!("{scheme}://{}:{port}", host.to_ascii_lowercase())),
            base: format!("{}://{authority}", &text[..text.len() - rest.len() - 3]),
            path: path.trim_matches('/').to_owned(),
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Address {
        Address::parse(text).unwrap()
    }

    #[test]
    fn addresses_are_read_strictly() {
        let a = addr("HTTPS://Vault.Example.com/");
        assert_eq!(a.origin.0, "https://vault.example.com:443");
        assert_eq!(
            (a.base.as_str(), a.path.as_str()),
            ("HTTPS://Vault.Example.com", "")
        );
        let a = addr("http://127.0.0.1:8200/prefix/");
        assert_eq!(a.origin.0, "http://127.0.0.1:8200");
        assert_eq!(a.path, "prefix");
        assert_eq!(addr("http://[::1]:8200").origin.0, "http://[::1]:8200");
        for bad in [
            "127.0.0.1:8200",
            "ftp://h",
            "http://",
            "http://a@evil:8200",
            "http://good:8200\\@evil",
            "http://h:port",
            "http://h:8200?x",
            "http://h :1",
            "http://::1:8200",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_is_vault_addrs_origin_only() {
        let vault_addr = allowed(None, Some(OsStr::new("http://127.0.0.1:8200/"))).unwrap();
        let allows = |a: &str| vault_addr.allows(a, &addr(a));
        assert!(allows("http://127.0.0.1:8200"));
        assert!(allows("HTTP://127.0.0.1:8200/"));
        assert!(!allows("http://127.0.0.1:8201"));
        assert!(!allows("https://127.0.0.1:8200"));
        let none = Allowed::VaultAddr(None);
        assert!(!none.allows("http://127.0.0.1:8200", &addr("http://127.0.0.1:8200")));
        assert_eq!(
            allowed(Some(OsStr::new("")), None),
            Ok(Allowed::VaultAddr(None))
        );
    }

    #[test]
    fn the_allowlist_reads_as_in_sops() {
        let list = |text: &str| allowed(Some(OsStr::new(text)), Some(OsStr::new("http://x:1")));
        assert_eq!(list("all"), Ok(Allowed::All));
        assert_eq!(list("none"), Ok(Allowed::Prefixes(vec![])));
        assert_eq!(
            list("http://a:1, https://b/"),
            Ok(Allowed::Prefixes(vec![
                "http://a:1/".into(),
                "https://b/".into()
            ]))
        );
        assert_eq!(
            list("http://a:1,,x"),
            Err("SOPS_HC_VAULT_ALLOWLIST's entry 2 is empty".into())
        );
        let prefixes = list("http://a:1").unwrap();
        let allows = |a: &str| prefixes.allows(a, &addr(a));
        assert!(allows("http://a:1"));
        assert!(allows("http://a:1/sub"));
        assert!(!allows("http://a:10"));
        assert!(
            !allows("http://x:1"),
            "VAULT_ADDR does not add to an explicit list"
        );
    }

    #[test]
    fn the_agent_address_is_read_strictly() {
        assert_eq!(agent(None), Ok(None));
        assert_eq!(agent(Some(OsStr::new(""))), Ok(None));
        let found = agent(Some(OsStr::new("http://127.0.0.1:8100"))).unwrap();
        assert_eq!(
            found.map(|a| a.base),
            Some("http://127.0.0.1:8100".to_owned())
        );
        let err = agent(Some(OsStr::new("unix:///run/agent.sock"))).unwrap_err();
        assert!(err.starts_with("VAULT_AGENT_ADDR is not usable"), "{err}");
    }

    #[test]
    fn timeouts_read_as_the_vault_client_does() {
        assert_eq!(parse_timeout("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_timeout("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("250ms"), Some(Duration::from_millis(250)));
        for bad in ["0", "0s", "-1s", "5x", "s", "", " 5"] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_are_checked_and_the_token_is_not_shown() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let ok = http_settings(&env(&[])).unwrap();
        assert_eq!((ok.timeout, ok.max_retries), (DEFAULT_TIMEOUT, 2));
        assert!(!ok.tls.skip_verify);
        let set = http_settings(&env(&[
            ("VAULT_CLIENT_TIMEOUT", "3"),
            ("VAULT_MAX_RETRIES", "0"),
            ("VAULT_SKIP_VERIFY", "true"),
            ("VAULT_CACERT", "/ca.pem"),
        ]))
        .unwrap();
        assert_eq!((set.timeout, set.max_retries), (Duration::from_secs(3), 0));
        assert!(set.tls.skip_verify);
        assert_eq!(set.tls.ca_file, Some(PathBuf::from("/ca.pem")));
        assert!(http_settings(&env(&[("VAULT_SKIP_VERIFY", "yes")])).is_err());
        assert!(http_settings(&env(&[("VAULT_MAX_RETRIES", "-1")])).is_err());
        assert!(http_settings(&env(&[("VAULT_CLIENT_TIMEOUT", "soon")])).is_err());

        let source = VaultSource {
            token: Ok(Some(Zeroizing::new("s.TOPSECRET".into()))),
            namespace: None,
            http: Ok(ok),
            allowed: Ok(Allowed::All),
            agent: Ok(None),
        };
        assert!(!format!("{source:?}").contains("TOPSECRET"));
    }

    #[test]
    fn token_files_are_trimmed_and_a_missing_one_is_no_token() {
        let dir = crate::testing::scratch_dir("vault-token");
        let file = dir.path().join("vault-token");
        assert_eq!(read_token(&file, "f"), Ok(None));
        std::fs::write(&file, "  s.TEST-ONLY-token\n").unwrap();
        let token = read_token(&file, "f").unwrap().unwrap();
        assert_eq!(token.as_str(), "s.TEST-ONLY-token");
        std::fs::write(&file, "\n").unwrap();
        assert_eq!(read_token(&file, "f"), Ok(None));
    }
}
