//! AWS STS: `AssumeRole` (a key's `role`, signed with the chain's credentials) and
//! `AssumeRoleWithWebIdentity` (a web identity token, unsigned), over the query protocol.
//!
//! The XML answers are read minimally: the three credential fields, or the error's code and
//! message. Nothing else of them is kept.

use zeroize::Zeroizing;

use super::credentials::Credentials;
use super::{Endpoint, signed_post};
use crate::sops::keys::http::{HttpClient, HttpRequest, Method};

/// Where STS calls go, and with which client.
pub(super) struct StsCall<'a> {
    pub client: &'a HttpClient,
    pub endpoint: Endpoint,
    /// The region of the key's ARN (the signing region).
    pub region: &'a str,
}

/// `sops@<hostname>` as sops names its sessions: the hostname without characters outside
/// sops' (loosely written) class, cut to 64 bytes.
pub(super) fn session_name(hostname: &str) -> String {
    // sops' class is `[^a-zA-Z0-9=,.@-_]`, where `@-_` is a range: it keeps `@` to `_`
    // (upper-case letters, `[`, `\`, `]`, `^`, `_`).
    let kept: String = hostname
        .chars()
        .filter(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '=' | ',' | '.') || ('@'..='_').contains(c)
        })
        .collect();
    let mut name = format!("sops@{kept}");
    name.truncate(64);
    name
}

/// Percent-encodes a form value (RFC 3986 unreserved characters stay).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Assumes `role` with `credentials`. Errors read like the SDK's after sops' `failed to assume
/// role '…': `.
pub(super) fn assume_role(
    call: &StsCall<'_>,
    credentials: &Credentials,
    role: &str,
    session: &str,
) -> Result<Credentials, String> {
    let body = format!(
        "Action=AssumeRole&RoleArn={}&RoleSessionName={}&Version=2011-06-15",
        encode(role),
        encode(session)
    );
    let response = signed_post(
        call.client,
        &call.endpoint,
        credentials,
        call.region,
        "sts",
        &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        body.as_bytes(),
    );
    answer("AssumeRole", response.map_err(|e| e.to_string()))
}

/// Exchanges a web identity token for credentials (the request is not signed).
pub(super) fn assume_role_with_web_identity(
    call: &StsCall<'_>,
    role: &str,
    session: &str,
    token: &str,
) -> Result<Credentials, String> {
    let body = Zeroizing::new(format!(
        "Action=AssumeRoleWithWebIdentity&RoleArn={}&RoleSessionName={}&Version=2011-06-15\
         &WebIdentityToken={}",
        encode(role),
        encode(session),
        encode(token)
    ));
    let response = call.client.send(&HttpRequest {
        method: Method::Post,
        url: &call.endpoint.url,
        headers: &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        body: body.as_bytes(),
    });
    answer(
        "AssumeRoleWithWebIdentity",
        response.map_err(|e| e.to_string()),
    )
}

/// The credentials of a successful answer, or the SDK's words for a failed one.
fn answer(
    operation: &str,
    response: Result<crate::sops::keys::http::HttpResponse, String>,
) -> Result<Credentials, String> {
    let prefix = format!("operation error STS: {operation}");
    let response = response.map_err(|e| format!("{prefix}, {e}"))?;
    let text = String::from_utf8_lossy(&response.body);
    if response.status != 200 {
        let field = |name| element(&text, name).unwrap_or_default();
        return Err(format!(
            "{prefix}, https response error StatusCode: {}, RequestID: {}, api error {}: {}",
            response.status,
            field("RequestId").as_str(),
            field("Code").as_str(),
            field("Message").as_str()
        ));
    }
    let credentials = element(&text, "Credentials").unwrap_or_default();
    let get = |name| element(&credentials, name);
    Credentials::from_parts(
        get("AccessKeyId").as_ref(),
        get("SecretAccessKey").as_ref(),
        get("SessionToken").as_ref(),
    )
    .ok_or_else(|| format!("{prefix}, the answer holds no credentials"))
}

/// The text of the first `<name>…</name>` element, unescaped (XML's five entities).
fn element(xml: &str, name: &str) -> Option<Zeroizing<String>> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let raw = &xml[start..end];
    Some(Zeroizing::new(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_follow_sops() {
        // `-` is not kept: in sops' class it is a range operator.
        assert_eq!(session_name("repo-server-7f9c"), "sops@reposerver7f9c");
        assert_eq!(session_name("a b/c:d"), "sops@abcd");
        assert_eq!(session_name(&"h".repeat(100)).len(), 64);
    }

    #[test]
    fn reads_credentials_and_errors_from_xml() {
        let ok = "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
                  <AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s&amp;1</SecretAccessKey>\
                  <SessionToken>t1</SessionToken><Expiration>x</Expiration></Credentials>\
                  </AssumeRoleResult></AssumeRoleResponse>";
        let response = crate::sops::keys::http::HttpResponse {
            status: 200,
            body: Zeroizing::new(ok.as_bytes().to_vec()),
            headers: Vec::new(),
        };
        let credentials = answer("AssumeRole", Ok(response)).unwrap();
        assert_eq!(credentials.secret_access_key.as_str(), "s&1");
        assert_eq!(
            credentials.session_token.as_deref().map(String::as_str),
            Some("t1")
        );
        let denied = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                      <Message>not &lt;allowed&gt;</Message></Error><RequestId>r1</RequestId>\
                      </ErrorResponse>";
        let response = crate::sops::keys::http::HttpResponse {
            status: 403,
            body: Zeroizing::new(denied.as_bytes().to_vec()),
            headers: Vec::new(),
        };
        assert_eq!(
            answer("AssumeRole", Ok(response)).unwrap_err(),
            "operation error STS: AssumeRole, https response error StatusCode: 403, \
             RequestID: r1, api error AccessDenied: not <allowed>"
        );
        assert_eq!(
            encode("arn:aws:iam::1:role/a b"),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b"
        );
    }
}
