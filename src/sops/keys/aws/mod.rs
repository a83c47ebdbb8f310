//! The AWS KMS key type: unwrapping a `kms` master key's copy of the data key with the KMS
//! `Decrypt` API, in process, as sops' `kms.MasterKey.Decrypt` does through the AWS SDK.
//!
//! - [`sigv4`]: request signing; [`credentials`]: the SDK's default credential chain (the
//!   parts a repo-server needs; not the EC2 instance metadata service); [`sts`]: `AssumeRole`
//!   for a key's `role` and `AssumeRoleWithWebIdentity`; [`kms`]: the `Decrypt` call.
//!
//! Requests go to `https://kms.<region>.amazonaws.com/` (and `sts.<region>…`), the region
//! taken from the key's ARN and accepted only when it is a plain region name (`a-z`, `0-9`,
//! `-`), so a crafted ARN in a committed file cannot choose the host that receives signed
//! requests. Only the operator's `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL_STS` /
//! `AWS_ENDPOINT_URL` replace them, as in the SDK. Every call goes through the bounded
//! transport (`keys/http.rs`). Credentials are resolved once per profile (and role) per
//! process.

mod credentials;
mod kms;
mod sigv4;
mod sts;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use credentials::{ChainError, Context, Credentials};
pub use credentials::{ContainerEndpoint, WebIdentity};

use super::http::{HttpClient, HttpError, HttpRequest, HttpResponse, HttpSettings, Method};
use super::sources::IdentitySources;
use crate::limits::AWS_TIMEOUT;
use crate::sops::metadata::KmsKey;

/// The SDK's default number of attempts per call.
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The AWS settings and credential sources, read once from the environment.
#[derive(Clone)]
pub struct AwsSource {
    /// `AWS_ACCESS_KEY_ID` (else `AWS_ACCESS_KEY`).
    pub access_key_id: Option<Zeroizing<String>>,
    /// `AWS_SECRET_ACCESS_KEY` (else `AWS_SECRET_KEY`).
    pub secret_access_key: Option<Zeroizing<String>>,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: Option<Zeroizing<String>>,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN` and `AWS_ROLE_SESSION_NAME`.
    pub web_identity: Option<WebIdentity>,
    /// `AWS_SHARED_CREDENTIALS_FILE`, else `$HOME/.aws/credentials`.
    pub credentials_file: Option<PathBuf>,
    /// `AWS_CONFIG_FILE`, else `$HOME/.aws/config`.
    pub config_file: Option<PathBuf>,
    /// `AWS_PROFILE`: the shared files' profile when a key names none.
    pub profile: Option<String>,
    /// The container credentials endpoint, when `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or
    /// `…_FULL_URI` is set; `Err` when the full URI may not receive the token.
    pub container: Option<Result<ContainerEndpoint, String>>,
    /// `AWS_ENDPOINT_URL_KMS`, else `AWS_ENDPOINT_URL`.
    pub kms_endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`.
    pub sts_endpoint: Option<String>,
    /// `AWS_MAX_ATTEMPTS` (default 3), or why it was refused.
    pub max_attempts: Result<u32, String>,
    /// How long one attempt may take ([`AWS_TIMEOUT`] unless the caller's settings say
    /// otherwise), or why the caller's setting was refused.
    pub timeout: Result<Duration, String>,
}

impl fmt::Debug for AwsSource {
    // Only say which inputs are present: values may be secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSource")
            .field("access_key_id", &self.access_key_id.is_some())
            .field("secret_access_key", &self.secret_access_key.is_some())
            .field("session_token", &self.session_token.is_some())
            .field("web_identity", &self.web_identity)
            .field("credentials_file", &self.credentials_file)
            .field("config_file", &self.config_file)
            .field("profile", &self.profile)
            .field("container", &self.container)
            .field("kms_endpoint", &self.kms_endpoint)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("max_attempts", &self.max_attempts)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A variable's value, `None` when unset or empty (the SDK treats empty as unset).
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn secret(name: &str) -> Option<Zeroizing<String>> {
    std::env::var_os(name)
        .map(|v| Zeroizing::new(v.to_string_lossy().into_owned()))
        .filter(|v| !v.is_empty())
}

impl AwsSource {
    /// Reads every AWS variable; `home` is `$HOME`, for the default shared files.
    pub fn from_env(home: Option<&Path>) -> AwsSource {
        let ignore_endpoints = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint = |service: &str| {
            (!ignore_endpoints)
                .then(|| {
                    var(&format!("AWS_ENDPOINT_URL_{service}")).or_else(|| var("AWS_ENDPOINT_URL"))
                })
                .flatten()
        };
        let container = match (
            var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        ) {
            // A path only: anything else could turn the host into a user name.
            (Some(relative), _) if relative.starts_with('/') => {
                Some(Ok(format!("http://169.254.170.2{relative}")))
            }
            (Some(_), _) => Some(Err(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with /".to_owned(),
            )),
            (None, Some(full)) if credentials::container_url_allowed(&full) => Some(Ok(full)),
            (None, Some(_)) => Some(Err(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an https URL, or an http URL of a \
                 loopback address or the ECS/EKS credentials host"
                    .to_owned(),
            )),
            (None, None) => None,
        }
        .map(|url| {
            url.map(|url| ContainerEndpoint {
                url,
                token_file: var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").map(PathBuf::from),
                token: secret("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
            })
        });
        let max_attempts = match var("AWS_MAX_ATTEMPTS") {
            None => Ok(DEFAULT_MAX_ATTEMPTS),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| "AWS_MAX_ATTEMPTS must be a whole number from 1 to 100".to_owned()),
        };
        let aws_file = |name: &str, default: &str| {
            var(name)
                .map(PathBuf::from)
                .or_else(|| home.map(|home| home.join(".aws").join(default)))
        };
        AwsSource {
            access_key_id: secret("AWS_ACCESS_KEY_ID").or_else(|| secret("AWS_ACCESS_KEY")),
            secret_access_key: secret("AWS_SECRET_ACCESS_KEY").or_else(|| secret("AWS_SECRET_KEY")),
            session_token: secret("AWS_SESSION_TOKEN"),
            web_identity: var("AWS_WEB_IDENTITY_TOKEN_FILE").map(|file| WebIdentity {
                token_file: PathBuf::from(file),
                role_arn: var("AWS_ROLE_ARN").unwrap_or_default(),
                session_name: var("AWS_ROLE_SESSION_NAME"),
            }),
            credentials_file: aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            config_file: aws_file("AWS_CONFIG_FILE", "config"),
            profile: var("AWS_PROFILE"),
            container,
            kms_endpoint: endpoint("KMS"),
            sts_endpoint: endpoint("STS"),
            max_attempts,
            timeout: Ok(AWS_TIMEOUT),
        }
    }

    /// The same settings with the shared files `dir/credentials` and `dir/config` as the only
    /// credential source: no environment keys, web identity or container endpoint.
    pub fn only_files_in(self, dir: &Path) -> AwsSource {
        AwsSource {
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            web_identity: None,
            container: None,
            credentials_file: Some(dir.join("credentials")),
            config_file: Some(dir.join("config")),
            ..self
        }
    }

    /// Where credentials were looked for, for the report when none were found.
    fn looked_at(&self, profile: &str) -> String {
        let files: Vec<String> = [&self.credentials_file, &self.config_file]
            .into_iter()
            .flatten()
            .map(|path| path.display().to_string())
            .collect();
        let files = if files.is_empty() {
            "no shared files ($HOME is not set)".to_owned()
        } else {
            format!("profile {profile} of {}", files.join(" and "))
        };
        format!(
            "none in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or FULL_URI) nor \
             in {files}"
        )
    }
}

/// Where one service is reached: the URL posted to, and its host and path as signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Endpoint {
    url: String,
    host: String,
    path: String,
}

/// Whether `region` is a plain AWS region name: it becomes part of a host name.
fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The region of a KMS key ARN, with sops' pattern (`\w` is ASCII, as in Go).
fn arn_region(arn: &str) -> Option<&str> {
    static PATTERN: OnceLock<regex::Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        regex::Regex::new(r"^arn:aws(?-u:\w|-)*:kms:(.+):[0-9]+:(key|alias)/.+$")
            .unwrap_or_else(|_| unreachable!("the pattern is valid"))
    });
    pattern
        .captures(arn)
        .and_then(|captures| captures.get(1))
        .map(|region| region.as_str())
}

/// The endpoint of `service` in `region` (already validated), or the operator's URL.
fn endpoint(configured: Option<&str>, service: &str, region: &str) -> Result<Endpoint, String> {
    let Some(url) = configured else {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        let host = format!("{service}.{region}.{suffix}");
        return Ok(Endpoint {
            url: format!("https://{host}/"),
            host,
            path: "/".to_owned(),
        });
    };
    let invalid = || {
        format!(
            "the AWS endpoint URL for {service} ({url}) must be http(s)://host[:port][/path] \
             without user, query or fragment"
        )
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    if scheme != "http" && scheme != "https" {
        return Err(invalid());
    }
    let (host, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    if host.is_empty() || host.contains(['@', '?', '#']) || path.contains(['?', '#', ' ']) {
        return Err(invalid());
    }
    Ok(Endpoint {
        url: format!("{scheme}://{host}{path}"),
        host: host.to_owned(),
        path: path.to_owned(),
    })
}

/// Posts `body` signed with SigV4 for `service` in `region`.
fn signed_post(
    client: &HttpClient,
    endpoint: &Endpoint,
    credentials: &Credentials,
    region: &str,
    service: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, HttpError> {
    let unix_seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (amz_date, _) = sigv4::amz_date(unix_seconds);
    let mut signed: Vec<(&str, &str)> = headers.to_vec();
    signed.push(("Host", &endpoint.host));
    signed.push(("X-Amz-Date", &amz_date));
    if let Some(token) = &credentials.session_token {
        signed.push(("X-Amz-Security-Token", token.as_str()));
    }
    let authorization = Zeroizing::new(sigv4::authorization(
        &sigv4::Unsigned {
            method: "POST",
            path: &endpoint.path,
            query: "",
            headers: &signed,
            body,
        },
        credentials,
        &sigv4::Scope {
            region,
            service,
            unix_seconds,
        },
    ));
    // The transport sets `Host` from the URL, to the same authority.
    let mut sent: Vec<(&str, &str)> = signed.into_iter().filter(|(n, _)| *n != "Host").collect();
    sent.push(("Authorization", authorization.as_str()));
    client.send(&HttpRequest {
        method: Method::Post,
        url: &endpoint.url,
        headers: &sent,
        body,
    })
}

/// The top-level string fields of a JSON object, parsed with the engine's JSON parser; the
/// values move into zeroizing buffers (they may be keys or credentials).
fn json_strings(body: &[u8]) -> Result<Vec<(String, Zeroizing<String>)>, String> {
    let mut parsed =
        crate::sops::parse_json(body).map_err(|_| "the answer is not JSON".to_owned())?;
    let mut out = Vec::new();
    for document in &mut parsed.documents {
        for item in &mut document.items {
            if let crate::sops::Item::Entry(entry) = item
                && let crate::sops::Value::Str(bytes) = &mut entry.value
            {
                let bytes = Zeroizing::new(std::mem::take(bytes));
                out.push((
                    entry.key.clone(),
                    Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned()),
                ));
            }
        }
    }
    Ok(out)
}

/// The hostname as Go's `os.Hostname` reads it on Linux.
fn hostname() -> Result<String, String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .map_err(|e| format!("failed to construct STS session name: {e}"))
}

/// The AWS KMS source of a keyring: the settings, one client made on first use, and the
/// credentials resolved so far (per profile, and per profile and role).
pub(super) struct KmsKeys {
    source: Option<AwsSource>,
    client: OnceLock<Result<HttpClient, String>>,
    cache: Mutex<Vec<(String, Credentials)>>,
}

impl KmsKeys {
    /// Takes the settings; nothing is read or sent until a KMS key is tried.
    pub(super) fn load(sources: &IdentitySources) -> KmsKeys {
        KmsKeys {
            source: sources.aws.clone(),
            client: OnceLock::new(),
            cache: Mutex::new(Vec::new()),
        }
    }

    /// Whether AWS is a key source here.
    pub(super) fn is_source(&self) -> bool {
        self.source.is_some()
    }

    fn client(&self, source: &AwsSource) -> Result<&HttpClient, String> {
        self.client
            .get_or_init(|| {
                let timeout = source.timeout.clone()?;
                let attempts = source.max_attempts.clone()?;
                HttpClient::new(&HttpSettings {
                    timeout,
                    max_retries: attempts - 1,
                    tls: Default::default(),
                })
                .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| format!("could not load AWS config: {e}"))
    }

    fn cached(
        &self,
        key: &str,
        resolve: impl FnOnce() -> Result<Credentials, String>,
    ) -> Result<Credentials, String> {
        let found = self
            .cache
            .lock()
            .ok()
            .and_then(|cache| cache.iter().find(|(k, _)| k == key).map(|(_, c)| c.clone()));
        if let Some(credentials) = found {
            return Ok(credentials);
        }
        let credentials = resolve()?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.push((key.to_owned(), credentials.clone()));
        }
        Ok(credentials)
    }

    /// Decrypts one KMS master key's `enc`. On failure, returns the reason in sops' words.
    pub(super) fn unwrap(&self, key: &KmsKey) -> Result<Zeroizing<Vec<u8>>, String> {
        let Some(source) = &self.source else {
            return Err(
                "AWS KMS is not a key source here (with KSOPS_PROJECT_KEYS_DIR, only \
                        <dir>/<project>/aws/credentials and config are, when the directory \
                        exists)"
                    .to_owned(),
            );
        };
        let mut blob = Zeroizing::new(Vec::new());
        let stored: String = key
            .enc
            .chars()
            .filter(|c| !matches!(c, '\r' | '\n'))
            .collect();
        STANDARD
            .decode_vec(stored.as_bytes(), &mut blob)
            .map_err(|e| format!("error base64-decoding encrypted data key: {e}"))?;
        let region =
            arn_region(&key.arn).ok_or_else(|| format!("no valid ARN found in '{}'", key.arn))?;
        if !valid_region(region) {
            return Err(format!(
                "no valid ARN found in '{}': its region is not a plain AWS region name (a-z, \
                 0-9, -), so no request is sent for it",
                key.arn
            ));
        }
        let client = self.client(source)?;
        let kms_endpoint = endpoint(source.kms_endpoint.as_deref(), "kms", region)?;
        let sts_call = sts::StsCall {
            client,
            endpoint: endpoint(source.sts_endpoint.as_deref(), "sts", region)?,
            region,
        };
        let context = Context {
            client,
            sts: &sts_call,
        };
        let base_failure = |error: &ChainError| match error {
            ChainError::Config(_) => error.describe(""),
            ChainError::Refresh(_) if key.role.is_empty() => format!(
                "failed to decrypt sops data key with AWS KMS: {}",
                error.describe("KMS: Decrypt")
            ),
            ChainError::Refresh(_) => format!(
                "failed to assume role '{}': {}",
                key.role,
                error.describe("STS: AssumeRole")
            ),
        };
        let base = self.cached(&format!("profile:{}", key.aws_profile), || {
            credentials::resolve(source, &key.aws_profile, &context).map_err(|e| base_failure(&e))
        })?;
        let credentials = if key.role.is_empty() {
            base
        } else {
            let cache_key = format!("role:{}\n{}", key.aws_profile, key.role);
            self.cached(&cache_key, || {
                let session = sts::session_name(&hostname()?);
                sts::assume_role(&sts_call, &base, &key.role, &session)
                    .map_err(|e| format!("failed to assume role '{}': {e}", key.role))
            })?
        };
        kms::decrypt(
            &kms::DecryptCall {
                client,
                endpoint: &kms_endpoint,
                region,
                arn: &key.arn,
                blob: &blob,
                context: &key.context,
            },
            &credentials,
        )
        .map_err(|e| format!("failed to decrypt sops data key with AWS KMS: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_the_arn_and_must_be_plain() {
        assert_eq!(
            arn_region("arn:aws:kms:us-west-2:107501996527:key/612d5f0p"),
            Some("us-west-2")
        );
        assert_eq!(
            arn_region("arn:aws-cn:kms:cn-north-1:1:alias/a"),
            Some("cn-north-1")
        );
        assert_eq!(arn_region("arn:aws:kms:us-east-1:x:key/a"), None);
        assert_eq!(arn_region("arn:aws:s3:us-east-1:1:key/a"), None);
        // The pattern lets anything through as a region; the host check does not.
        let crafted = "arn:aws:kms:evil.example/x:1:key/a";
        let region = arn_region(crafted).unwrap();
        assert!(!valid_region(region));
        for bad in [
            "evil.example",
            "us-east-1.evil",
            "a:b",
            "",
            "US-EAST-1",
            "x/y",
            "é",
        ] {
            assert!(!valid_region(bad), "{bad}");
        }
        assert!(valid_region("eu-central-1"));
    }

    #[test]
    fn endpoints_are_regional_unless_configured() {
        let kms = endpoint(None, "kms", "eu-west-1").unwrap();
        assert_eq!(kms.url, "https://kms.eu-west-1.amazonaws.com/");
        assert_eq!(kms.host, "kms.eu-west-1.amazonaws.com");
        let cn = endpoint(None, "sts", "cn-north-1").unwrap();
        assert_eq!(cn.url, "https://sts.cn-north-1.amazonaws.com.cn/");
        let local = endpoint(Some("http://127.0.0.1:5000"), "kms", "us-east-1").unwrap();
        assert_eq!(
            (local.url.as_str(), local.host.as_str(), local.path.as_str()),
            ("http://127.0.0.1:5000/", "127.0.0.1:5000", "/")
        );
        for bad in [
            "127.0.0.1:5000",
            "ftp://h/",
            "http://user@h/",
            "http://h/?q=1",
            "http:///x",
        ] {
            assert!(endpoint(Some(bad), "kms", "us-east-1").is_err(), "{bad}");
        }
    }
}
