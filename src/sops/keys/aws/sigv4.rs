//! AWS Signature Version 4 for the two requests ksops signs: KMS `Decrypt` and STS
//! `AssumeRole`, both `POST` with a body and no query string.
//!
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//! Only the signature is computed here; the caller sends the signed headers unchanged.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::credentials::Credentials;
use crate::sops::Timestamp;

type HmacSha256 = Hmac<Sha256>;

/// What is signed besides the headers: who, where and when.
pub(super) struct Scope<'a> {
    /// The region the request is for.
    pub region: &'a str,
    /// The signing name of the service (`kms`, `sts`).
    pub service: &'a str,
    /// The request time, seconds since the Unix epoch.
    pub unix_seconds: i64,
}

/// One request to sign: its method, path, headers (`host` included) and body.
pub(super) struct Unsigned<'a> {
    pub method: &'a str,
    /// The absolute path, already URI-encoded as sent (`/` for the AWS JSON and query APIs).
    pub path: &'a str,
    /// The query string as sent, or empty.
    pub query: &'a str,
    /// Header names and values; the names are signed lower-cased and sorted.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// `20150830T123600Z` and `20150830` for `unix_seconds`.
pub(super) fn amz_date(unix_seconds: i64) -> (String, String) {
    let civil = Timestamp {
        unix_seconds,
        nanos: 0,
        offset_seconds: 0,
    }
    .civil();
    let date = format!("{:04}{:02}{:02}", civil.year, civil.month, civil.day);
    let time = format!(
        "{date}T{:02}{:02}{:02}Z",
        civil.hour, civil.minute, civil.second
    );
    (time, date)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<Vec<u8>> {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// The key derived for one day, region and service.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Zeroizing<Vec<u8>> {
    let secret = Zeroizing::new(format!("AWS4{secret}"));
    let k_date = hmac(secret.as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The `Authorization` header value for `request`, which must already carry the `host` and
/// `x-amz-date` (and, with temporary credentials, `x-amz-security-token`) headers.
pub(super) fn authorization(
    request: &Unsigned<'_>,
    credentials: &Credentials,
    scope: &Scope<'_>,
) -> String {
    let (amz_time, date) = amz_date(scope.unix_seconds);
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method,
        request.path,
        request.query,
        hex(&Sha256::digest(request.body))
    );
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_time}\n{credential_scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(
        &credentials.secret_access_key,
        &date,
        scope.region,
        scope.service,
    );
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_headers}, \
         Signature={signature}",
        credentials.access_key_id.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example credentials (TEST ONLY, from the SigV4 documentation).
    fn example() -> Credentials {
        Credentials {
            access_key_id: Zeroizing::new("AKIDEXAMPLE".into()),
            secret_access_key: Zeroizing::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: None,
        }
    }

    #[test]
    fn derives_the_documented_signing_key() {
        // "Examples of how to derive a signing key for Signature Version 4".
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn signs_the_get_vanilla_test_vector() {
        // aws-sig-v4-test-suite/get-vanilla: 2015-08-30T12:36:00Z.
        let (time, date) = amz_date(1_440_938_160);
        assert_eq!(
            (time.as_str(), date.as_str()),
            ("20150830T123600Z", "20150830")
        );
        let request = Unsigned {
            method: "GET",
            path: "/",
            query: "",
            headers: &[
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
            ],
            body: b"",
        };
        let scope = Scope {
            region: "us-east-1",
            service: "service",
            unix_seconds: 1_440_938_160,
        };
        assert_eq!(
            authorization(&request, &example(), &scope),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }
}
