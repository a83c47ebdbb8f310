//! AWS credentials: the part of the AWS SDK's default chain a repo-server needs.
//!
//! The order is the Go SDK v2's (`config.LoadDefaultConfig`), which sops uses:
//! 1. a profile named by the key's `aws_profile`: that profile of the shared files, only;
//! 2. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`);
//! 3. a web identity token: `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN` (and
//!    `AWS_ROLE_SESSION_NAME`), exchanged through STS `AssumeRoleWithWebIdentity` (EKS IRSA);
//! 4. the shared files' profile (`AWS_PROFILE`, else `default`): static keys, or a
//!    `web_identity_token_file` with `role_arn`;
//! 5. the container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or
//!    `…_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)`): ECS and EKS Pod Identity.
//!
//! Not implemented: the EC2 instance metadata service (IMDS), `credential_process`, SSO and
//! profiles that assume a role from a `source_profile`; a profile that needs one of them is
//! reported as such. Secrets are kept in zeroizing buffers and never appear in errors.

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::AwsSource;
use super::sts::{self, StsCall};
use crate::limits::{MAX_KEY_SERVICE_RESPONSE_BYTES, read_file_capped};
use crate::sops::keys::http::{HttpClient, HttpRequest, Method};

/// A key pair, with a session token when it is temporary.
#[derive(Clone)]
pub(super) struct Credentials {
    pub access_key_id: Zeroizing<String>,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Option<Zeroizing<String>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("session_token", &self.session_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Both halves of a key pair, when both are set and not empty.
    pub(super) fn from_parts(
        access_key_id: Option<&Zeroizing<String>>,
        secret_access_key: Option<&Zeroizing<String>>,
        session_token: Option<&Zeroizing<String>>,
    ) -> Option<Credentials> {
        let id = access_key_id.filter(|v| !v.is_empty())?;
        let secret = secret_access_key.filter(|v| !v.is_empty())?;
        Some(Credentials {
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
            session_token: session_token.filter(|v| !v.is_empty()).cloned(),
        })
    }
}

/// A web identity: the token file and the role it is exchanged for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebIdentity {
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` (or a profile's `web_identity_token_file`).
    pub token_file: PathBuf,
    /// `AWS_ROLE_ARN` (or a profile's `role_arn`); empty when not set.
    pub role_arn: String,
    /// `AWS_ROLE_SESSION_NAME` (or a profile's `role_session_name`).
    pub session_name: Option<String>,
}

/// The container credentials endpoint (ECS, EKS Pod Identity).
#[derive(Clone, PartialEq, Eq)]
pub struct ContainerEndpoint {
    /// The URL: `http://169.254.170.2` + `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, else
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub url: String,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, read when credentials are needed.
    pub token_file: Option<PathBuf>,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    pub token: Option<Zeroizing<String>>,
}

impl fmt::Debug for ContainerEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContainerEndpoint")
            .field("url", &self.url)
            .field("token_file", &self.token_file)
            .field("token", &self.token.is_some())
            .finish()
    }
}

/// What the chain needs besides its sources: the client and where STS is.
pub(super) struct Context<'a> {
    pub client: &'a HttpClient,
    pub sts: &'a StsCall<'a>,
}

/// The SDK's words before any failure to get credentials for a signed call.
const REFRESH: &str = "get identity: get credentials: failed to refresh cached credentials";

/// Resolves credentials for a key with `aws_profile` (empty: none), in the SDK's order.
/// The error is worded for after `operation error <service>: <operation>, `, or is a
/// configuration error (`Err(Config(…))`) that sops reports on its own.
pub(super) fn resolve(
    source: &AwsSource,
    aws_profile: &str,
    context: &Context<'_>,
) -> Result<Credentials, ChainError> {
    if !aws_profile.is_empty() {
        return from_profile(source, aws_profile, true, context);
    }
    if let Some(credentials) = Credentials::from_parts(
        source.access_key_id.as_ref(),
        source.secret_access_key.as_ref(),
        source.session_token.as_ref(),
    ) {
        return Ok(credentials);
    }
    if let Some(identity) = &source.web_identity {
        return web_identity(identity, context).map_err(ChainError::Refresh);
    }
    match &source.profile {
        Some(name) if !name.is_empty() => from_profile(source, name, true, context),
        _ => from_profile(source, "default", false, context),
    }
}

/// Why no credentials were found.
#[derive(Debug)]
pub(super) enum ChainError {
    /// Loading the configuration failed (`could not load AWS config: …`).
    Config(String),
    /// A credential source failed or none was found (the SDK reports it when signing).
    Refresh(String),
}

impl ChainError {
    /// The text after `operation error <service>: <operation>, ` (or sops' own for
    /// configuration errors).
    pub(super) fn describe(&self, operation: &str) -> String {
        match self {
            ChainError::Config(reason) => format!("could not load AWS config: {reason}"),
            ChainError::Refresh(reason) => {
                format!("operation error {operation}, {REFRESH}, {reason}")
            }
        }
    }
}

/// One profile of the shared files, merged (the credentials file wins over the config file).
#[derive(Default)]
struct Profile {
    access_key_id: Option<Zeroizing<String>>,
    secret_access_key: Option<Zeroizing<String>>,
    session_token: Option<Zeroizing<String>>,
    role_arn: Option<String>,
    source_profile: Option<String>,
    credential_source: Option<String>,
    web_identity_token_file: Option<String>,
    role_session_name: Option<String>,
    credential_process: bool,
    sso: bool,
}

fn from_profile(
    source: &AwsSource,
    name: &str,
    explicit: bool,
    context: &Context<'_>,
) -> Result<Credentials, ChainError> {
    let mut profile = Profile::default();
    let mut found = false;
    // The config file names profiles `[profile NAME]` (and `[default]`); the credentials file
    // `[NAME]`. Values of the credentials file win.
    if let Some(path) = &source.config_file {
        found |= read_profile(path, name, true, &mut profile)?;
    }
    if let Some(path) = &source.credentials_file {
        found |= read_profile(path, name, false, &mut profile)?;
    }
    if !found && explicit {
        return Err(ChainError::Config(format!(
            "failed to get shared config profile, {name}"
        )));
    }
    if let Some(credentials) = Credentials::from_parts(
        profile.access_key_id.as_ref(),
        profile.secret_access_key.as_ref(),
        profile.session_token.as_ref(),
    ) {
        return Ok(credentials);
    }
    if let (Some(role), Some(file)) = (&profile.role_arn, &profile.web_identity_token_file) {
        let identity = WebIdentity {
            token_file: PathBuf::from(file),
            role_arn: role.clone(),
            session_name: profile.role_session_name.clone(),
        };
        return web_identity(&identity, context).map_err(ChainError::Refresh);
    }
    let unsupported = if profile.role_arn.is_some()
        && (profile.source_profile.is_some() || profile.credential_source.is_some())
    {
        Some("assumes a role from a source profile")
    } else if profile.credential_process {
        Some("uses credential_process")
    } else if profile.sso {
        Some("uses AWS SSO")
    } else {
        None
    };
    if let Some(what) = unsupported {
        return Err(ChainError::Refresh(format!(
            "profile {name} {what}, which ksops does not implement: give the profile static \
             keys or use a web identity token file"
        )));
    }
    match &source.container {
        Some(Ok(endpoint)) => container(endpoint, context.client).map_err(ChainError::Refresh),
        Some(Err(reason)) => Err(ChainError::Config(reason.clone())),
        None => Err(ChainError::Refresh(format!(
            "no AWS credentials found: {}; ksops does not query the EC2 instance metadata \
             service (IMDS)",
            source.looked_at(name)
        ))),
    }
}

/// Reads `name`'s section of one shared file into `profile`; whether the section exists. A
/// missing file is no error (the SDK skips it).
fn read_profile(
    path: &Path,
    name: &str,
    config_file: bool,
    profile: &mut Profile,
) -> Result<bool, ChainError> {
    let text = match read_file_capped(path, MAX_KEY_SERVICE_RESPONSE_BYTES) {
        Ok(Some(bytes)) => Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned()),
        Ok(None) => {
            return Err(ChainError::Config(format!(
                "{} is larger than {MAX_KEY_SERVICE_RESPONSE_BYTES} bytes",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(ChainError::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut found = false;
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(section) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            inside = section_is(section, name, config_file);
            found |= inside;
            continue;
        }
        // Indented lines continue a nested property (`s3 =\n  …`): not credentials.
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let text = || Some(value.to_owned());
        let secret = || Some(Zeroizing::new(value.to_owned()));
        match key.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => profile.access_key_id = secret(),
            "aws_secret_access_key" => profile.secret_access_key = secret(),
            "aws_session_token" => profile.session_token = secret(),
            "role_arn" => profile.role_arn = text(),
            "source_profile" => profile.source_profile = text(),
            "credential_source" => profile.credential_source = text(),
            "web_identity_token_file" => profile.web_identity_token_file = text(),
            "role_session_name" => profile.role_session_name = text(),
            "credential_process" => profile.credential_process = true,
            "sso_session" | "sso_start_url" | "sso_account_id" => profile.sso = true,
            _ => {}
        }
    }
    Ok(found)
}

/// Whether a section header names profile `name` (`[name]` in the credentials file;
/// `[profile name]`, or `[default]`, in the config file).
fn section_is(section: &str, name: &str, config_file: bool) -> bool {
    let section = section.trim();
    if !config_file {
        return section == name;
    }
    match section.strip_prefix("profile") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim() == name,
        _ => section == "default" && name == "default",
    }
}

/// Exchanges a web identity token for credentials.
fn web_identity(identity: &WebIdentity, context: &Context<'_>) -> Result<Credentials, String> {
    let what = "failed to retrieve credentials";
    if identity.role_arn.is_empty() {
        return Err(format!(
            "{what}, a web identity token file needs a role ARN (AWS_ROLE_ARN)"
        ));
    }
    let token = match read_file_capped(&identity.token_file, MAX_KEY_SERVICE_RESPONSE_BYTES) {
        Ok(Some(bytes)) => Zeroizing::new(String::from_utf8_lossy(&bytes).trim().to_owned()),
        Ok(None) => return Err(format!("{what}, the web identity token file is too large")),
        Err(e) => {
            return Err(format!(
                "{what}, failed to read the web identity token file {}: {e}",
                identity.token_file.display()
            ));
        }
    };
    let session = identity.session_name.clone().unwrap_or_else(|| {
        // The SDK's default: the time in nanoseconds.
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos().to_string())
            .unwrap_or_default()
    });
    sts::assume_role_with_web_identity(context.sts, &identity.role_arn, &session, &token)
        .map_err(|e| format!("{what}, {e}"))
}

/// Reads credentials from the container endpoint.
fn container(endpoint: &ContainerEndpoint, client: &HttpClient) -> Result<Credentials, String> {
    let what = "failed to load credentials";
    let token = match (&endpoint.token_file, &endpoint.token) {
        (Some(file), _) => match read_file_capped(file, MAX_KEY_SERVICE_RESPONSE_BYTES) {
            Ok(Some(bytes)) => Some(Zeroizing::new(
                String::from_utf8_lossy(&bytes).trim().to_owned(),
            )),
            Ok(None) => return Err(format!("{what}, the authorization token file is too large")),
            Err(e) => {
                return Err(format!(
                    "{what}, failed to read the authorization token file {}: {e}",
                    file.display()
                ));
            }
        },
        (None, token) => token.clone(),
    };
    if token.as_ref().is_some_and(|t| t.contains(['\r', '\n'])) {
        return Err(format!(
            "{what}, the authorization token holds a line break"
        ));
    }
    let headers: Vec<(&str, &str)> = token
        .as_ref()
        .map(|t| ("Authorization", t.as_str()))
        .into_iter()
        .chain([("Accept", "application/json")])
        .collect();
    let response = client
        .send(&HttpRequest {
            method: Method::Get,
            url: &endpoint.url,
            headers: &headers,
            body: b"",
        })
        .map_err(|e| format!("{what}, {e}"))?;
    if response.status != 200 {
        return Err(format!(
            "{what}, the container credentials endpoint {} answered with status {}",
            endpoint.url, response.status
        ));
    }
    let mut fields = super::json_strings(&response.body)
        .map_err(|e| format!("{what}, the container credentials endpoint: {e}"))?;
    let mut take = |name: &str| {
        fields
            .iter_mut()
            .find(|(key, _)| key == name)
            .map(|(_, value)| std::mem::take(value))
    };
    let (id, secret, token) = (take("AccessKeyId"), take("SecretAccessKey"), take("Token"));
    Credentials::from_parts(id.as_ref(), secret.as_ref(), token.as_ref()).ok_or_else(|| {
        format!(
            "{what}, the container credentials endpoint gave no AccessKeyId and SecretAccessKey"
        )
    })
}

/// Whether a full container credentials URI may receive the authorization token: HTTPS, or
/// HTTP to a loopback address or the ECS/EKS link-local hosts (the SDK's rule).
pub(super) fn container_url_allowed(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host == "169.254.170.2"
        || host == "169.254.170.23"
        || host == "fd00:ec2::23"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_like_the_sdk() {
        let dir = crate::testing::scratch_dir("aws-profiles");
        let credentials = dir.path().join("credentials");
        let config = dir.path().join("config");
        // TEST ONLY values.
        std::fs::write(
            &credentials,
            "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n\
             aws_secret_access_key=secretdefault\n\n[team]\nAWS_ACCESS_KEY_ID = AKIDTEAM\n\
             aws_secret_access_key = secretteam\naws_session_token = tok\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[profile team]\nregion = eu-west-1\naws_access_key_id = AKIDCONFIG\ns3 =\n  \
             aws_access_key_id = nested\n[profile sso]\nsso_session = x\n[teamless]\n\
             aws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n",
        )
        .unwrap();
        let read = |name: &str| {
            let mut profile = Profile::default();
            let found = read_profile(&config, name, true, &mut profile).unwrap()
                | read_profile(&credentials, name, false, &mut profile).unwrap();
            (found, profile)
        };
        let (found, team) = read("team");
        assert!(found);
        assert_eq!(
            team.access_key_id.as_deref().map(String::as_str),
            Some("AKIDTEAM")
        );
        assert_eq!(
            team.session_token.as_deref().map(String::as_str),
            Some("tok")
        );
        let (_, default) = read("default");
        assert_eq!(
            default.secret_access_key.as_deref().map(String::as_str),
            Some("secretdefault")
        );
        let (found, sso) = read("sso");
        assert!(found && sso.sso && sso.access_key_id.is_none());
        // `[teamless]` in the config file is not a profile section.
        assert!(!read("teamless").0);
        let mut missing = Profile::default();
        assert!(!read_profile(&dir.path().join("none"), "x", false, &mut missing).unwrap());
    }

    #[test]
    fn container_urls_are_limited_like_the_sdk() {
        for ok in [
            "https://example.com/creds",
            "http://127.0.0.1:9000/creds",
            "http://localhost/x",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
        ] {
            assert!(container_url_allowed(ok), "{ok}");
        }
        for bad in [
            "http://example.com/creds",
            "http://127.0.0.1@evil.example/",
            "ftp://127.0.0.1/",
            "http://10.0.0.1/",
        ] {
            assert!(!container_url_allowed(bad), "{bad}");
        }
    }
}
