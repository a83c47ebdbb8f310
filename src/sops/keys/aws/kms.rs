//! The KMS `Decrypt` call (AWS JSON 1.1 protocol), and its answer or error in the SDK's words.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::credentials::Credentials;
use super::{Endpoint, json_strings, signed_post};
use crate::sops::keys::http::HttpClient;

/// The exceptions the SDK's KMS client knows for `Decrypt`: it prints them as `Code: message`,
/// others as `api error Code: message`.
const TYPED_ERRORS: [&str; 11] = [
    "DependencyTimeoutException",
    "DisabledException",
    "DryRunOperationException",
    "IncorrectKeyException",
    "InvalidCiphertextException",
    "InvalidGrantTokenException",
    "InvalidKeyUsageException",
    "KeyUnavailableException",
    "KMSInternalException",
    "KMSInvalidStateException",
    "NotFoundException",
];

/// A JSON string literal.
pub(super) fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One KMS `Decrypt` request.
pub(super) struct DecryptCall<'a> {
    pub client: &'a HttpClient,
    pub endpoint: &'a Endpoint,
    pub region: &'a str,
    pub arn: &'a str,
    /// The ciphertext blob, decoded.
    pub blob: &'a [u8],
    pub context: &'a BTreeMap<String, String>,
}

/// Decrypts the blob; errors read like the SDK's (`operation error KMS: Decrypt, …`).
pub(super) fn decrypt(
    call: &DecryptCall<'_>,
    credentials: &Credentials,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let prefix = "operation error KMS: Decrypt";
    let context: Vec<String> = call
        .context
        .iter()
        .map(|(key, value)| format!("{}:{}", json_string(key), json_string(value)))
        .collect();
    let body = format!(
        "{{\"CiphertextBlob\":\"{}\",\"EncryptionContext\":{{{}}},\"KeyId\":{}}}",
        STANDARD.encode(call.blob),
        context.join(","),
        json_string(call.arn)
    );
    let response = signed_post(
        call.client,
        call.endpoint,
        credentials,
        call.region,
        "kms",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "TrentService.Decrypt"),
        ],
        body.as_bytes(),
    )
    .map_err(|e| format!("{prefix}, {e}"))?;
    let fields = json_strings(&response.body);
    let field = |name: &str| {
        fields.as_ref().ok().and_then(|fields| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
        })
    };
    if response.status != 200 {
        let header_type = response.header("x-amzn-errortype");
        let raw_code = header_type
            .or_else(|| field("__type").map(|v| v.as_str()))
            .or_else(|| field("code").map(|v| v.as_str()))
            .unwrap_or("UnknownError");
        // `aws.protocoltests#Name:http://…` → `Name`.
        let code = raw_code.split(':').next().unwrap_or_default();
        let code = code.rsplit('#').next().unwrap_or_default();
        let message = field("message")
            .or_else(|| field("Message"))
            .map(|v| v.as_str())
            .unwrap_or_default();
        let error = if TYPED_ERRORS.contains(&code) {
            format!("{code}: {message}")
        } else {
            format!("api error {code}: {message}")
        };
        return Err(format!(
            "{prefix}, https response error StatusCode: {}, RequestID: {}, {error}",
            response.status,
            response.header("x-amzn-requestid").unwrap_or_default()
        ));
    }
    let plaintext = field("Plaintext").ok_or_else(|| {
        format!("{prefix}, deserialization failed: the answer is not a KMS Decrypt response")
    })?;
    let mut key = Zeroizing::new(Vec::with_capacity(48));
    STANDARD
        .decode_vec(plaintext.as_bytes(), &mut key)
        .map_err(|_| format!("{prefix}, deserialization failed: Plaintext is not base64"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        assert_eq!(json_string("é"), "\"é\"");
    }
}
