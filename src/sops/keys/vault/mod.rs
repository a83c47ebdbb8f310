//! The HashiCorp Vault / OpenBao transit key type: unwrapping an `hc_vault` master key's copy of
//! the data key with the transit engine's `decrypt` endpoint, as sops' `hcvault` key source does.
//!
//! The request is sops': `PUT {vault_address}/v1/{engine_path}/decrypt/{key_name}` with
//! `{"ciphertext": enc}`, the headers `X-Vault-Token`, `X-Vault-Request: true` and
//! `X-Vault-Namespace` (when `VAULT_NAMESPACE` is set); the data key is the base64
//! `data.plaintext` of the answer. Failures read as sops' do.
//!
//! Unlike sops:
//! - The metadata is not authenticated (the MAC does not cover it), so a file could name any
//!   server and sops would send it the token. Here an address is contacted only when the
//!   operator allowed it: `SOPS_HC_VAULT_ALLOWLIST` as sops 3.13 reads it (`all`, `none`, or
//!   comma-separated address prefixes) when it is set, else only the origin of `VAULT_ADDR`
//!   (sops' default allows every address). Any other address fails without a connection.
//! - `engine_path` and `key_name` must be plain path segments, so a file cannot aim the
//!   token-bearing request at another endpoint of an allowed server.
//! - `VAULT_AGENT_ADDR` (a Vault Agent or proxy, where the Vault client sends every request
//!   instead) must be an `http` or `https` address; the file's address must still be allowed.
//! - Every request is bounded in time, size and retries (`VAULT_CLIENT_TIMEOUT`,
//!   `VAULT_MAX_RETRIES`) and never follows a redirect.
//! - [`VaultKeys::prefetch`] decrypts the keys of many files in one request per transit key
//!   (transit's `batch_input`) on one kept connection, instead of one request per file.

mod settings;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use zeroize::Zeroizing;

use super::http::{HttpClient, HttpError, HttpRequest, Method};
use crate::sops::tree::{Mapping, Value};

use settings::{Address, Allowed};
pub use settings::{SOPS_HC_VAULT_ALLOWLIST, VaultSource};

/// Most ciphertexts sent in one `batch_input` request (the answer stays far below the response
/// cap).
const BATCH_LIMIT: usize = 1000;

/// One `hc_vault` master key, as the metadata names it.
#[derive(Clone, Copy, Debug)]
pub(super) struct TransitKey<'a> {
    pub(super) address: &'a str,
    pub(super) engine_path: &'a str,
    pub(super) key_name: &'a str,
    pub(super) enc: &'a str,
}

/// Where a key's decrypt request goes.
struct Endpoint {
    /// The full URL of the `decrypt` endpoint.
    url: String,
    /// `{engine_path}/decrypt/{key_name}`, as sops names it in messages.
    path: String,
}

/// What a request gave for one ciphertext: the data key, or why not in sops' words.
type Outcome = Result<Zeroizing<Vec<u8>>, String>;

/// The Vault key source of a keyring: the settings, one client made when a Vault key is first
/// used, and the data keys [`VaultKeys::prefetch`] got, by endpoint and ciphertext.
pub(super) struct VaultKeys {
    source: Option<VaultSource>,
    client: OnceLock<Result<HttpClient, String>>,
    fetched: Mutex<HashMap<(String, String), Outcome>>,
}

impl VaultKeys {
    /// Takes the settings; nothing is read or contacted until a Vault key is tried.
    pub(super) fn load(source: Option<VaultSource>) -> VaultKeys {
        VaultKeys {
            source,
            client: OnceLock::new(),
            fetched: Mutex::new(HashMap::new()),
        }
    }

    /// Decrypts one key's `enc` with its transit key, or takes what [`VaultKeys::prefetch`] got
    /// for it.
    pub(super) fn unwrap(&self, key: TransitKey<'_>) -> Outcome {
        let (source, endpoint) = self.endpoint(&key)?;
        let cached =
            self.fetched.lock().ok().and_then(|mut fetched| {
                fetched.remove(&(endpoint.url.clone(), key.enc.to_owned()))
            });
        if let Some(outcome) = cached {
            return outcome;
        }
        let client = self.client(source)?;
        let body = request_body(&[key.enc], false);
        let response = send(client, source, &endpoint, &body).map_err(|e| fail(&endpoint, &e))?;
        let data = match answer_data(source, &endpoint, &response) {
            Ok(data) => data,
            Err(e) => return Err(fail(&endpoint, &e)),
        };
        plaintext(&data).map_err(|e| fail(&endpoint, &e))
    }

    /// Decrypts every listed key in one `batch_input` request per transit key (several when
    /// there are more than [`BATCH_LIMIT`]), and keeps each outcome for [`VaultKeys::unwrap`].
    /// Keys that cannot be sent (address not allowed, invalid path) and transit keys with a
    /// single ciphertext are left to `unwrap`. Returns how many requests were made.
    pub(super) fn prefetch(&self, keys: &[TransitKey<'_>]) -> usize {
        let mut batches: Vec<(Endpoint, Vec<&str>)> = Vec::new();
        let mut source = None;
        for key in keys {
            let Ok((found, endpoint)) = self.endpoint(key) else {
                continue;
            };
            source = Some(found);
            match batches.iter_mut().find(|(e, _)| e.url == endpoint.url) {
                Some((_, encs)) if !encs.contains(&key.enc) => encs.push(key.enc),
                Some(_) => {}
                None => batches.push((endpoint, vec![key.enc])),
            }
        }
        let Some(source) = source else { return 0 };
        let mut requests = 0;
        for (endpoint, encs) in batches.iter().filter(|(_, encs)| encs.len() > 1) {
            for chunk in encs.chunks(BATCH_LIMIT) {
                requests += 1;
                let outcomes = match self.client(source) {
                    Ok(client) => batch(client, source, endpoint, chunk),
                    Err(e) => vec![Err(e); chunk.len()],
                };
                if let Ok(mut fetched) = self.fetched.lock() {
                    for (enc, outcome) in chunk.iter().zip(outcomes) {
                        fetched.insert((endpoint.url.clone(), (*enc).to_owned()), outcome);
                    }
                }
            }
        }
        requests
    }

    /// The client, made on first use.
    fn client(&self, source: &VaultSource) -> Result<&HttpClient, String> {
        self.client
            .get_or_init(|| {
                let settings = source.http.clone()?;
                HttpClient::new(&settings).map_err(|e| format!("cannot create Vault client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Where `key`'s request goes, once the address is known to be allowed and the path to be
    /// plain; else why nothing is sent.
    fn endpoint(&self, key: &TransitKey<'_>) -> Result<(&VaultSource, Endpoint), String> {
        let source = self.source.as_ref().ok_or_else(|| {
            "HashiCorp Vault is not a key source here (with KSOPS_PROJECT_KEYS_DIR, only \
             <dir>/<project>/vault-token holds the token)"
                .to_owned()
        })?;
        let address = Address::parse(key.address).map_err(|why| {
            format!(
                "cannot create Vault client: vault_address {} is not usable: {why}",
                key.address
            )
        })?;
        let allowed = source.allowed.as_ref().map_err(Clone::clone)?;
        if !allowed.allows(key.address, &address) {
            return Err(not_allowed(key.address, allowed));
        }
        let engine: Vec<&str> = key
            .engine_path
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if engine.is_empty() || !engine.iter().all(|s| is_segment(s)) || !is_segment(key.key_name) {
            return Err(format!(
                "the engine path {:?} or key name {:?} is not a plain Vault path; nothing was sent",
                key.engine_path, key.key_name
            ));
        }
        let path = format!("{}/decrypt/{}", engine.join("/"), key.key_name);
        // As the Vault client does, an agent takes every request in the server's place.
        let target = match source.agent.as_ref().map_err(Clone::clone)? {
            Some(agent) => agent,
            None => &address,
        };
        let prefix = match target.path.as_str() {
            "" => String::new(),
            p => format!("/{p}"),
        };
        Ok((
            source,
            Endpoint {
                url: format!("{}{prefix}/v1/{path}", target.base),
                path,
            },
        ))
    }
}

/// Why an address was not contacted: sops' words for an address its allow-list refuses, and
/// what to set.
fn not_allowed(address: &str, allowed: &Allowed) -> String {
    let how = match allowed {
        Allowed::VaultAddr(_) => format!(
            "ksops sends a Vault token only to the address in VAULT_ADDR unless \
             {SOPS_HC_VAULT_ALLOWLIST} lists others; set VAULT_ADDR to this address, or add it \
             to {SOPS_HC_VAULT_ALLOWLIST} (comma-separated addresses)"
        ),
        _ => format!("add it to {SOPS_HC_VAULT_ALLOWLIST} (comma-separated addresses)"),
    };
    format!("Allowlist does not allow {address}: {how}. Nothing was sent to it.")
}

/// A path segment Vault names engines and keys with: letters, digits, `_`, `-`, `.`; not `.`
/// or `..`.
fn is_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// sops' wrapping of a decrypt failure.
fn fail(endpoint: &Endpoint, why: &str) -> String {
    format!(
        "failed to decrypt sops data key from Vault transit backend '{}': {why}",
        endpoint.path
    )
}

/// `{"ciphertext": enc}`, or `{"batch_input": [{"ciphertext": enc}, …]}`.
fn request_body(encs: &[&str], batch: bool) -> Vec<u8> {
    let item = |enc: &str| {
        let mut item = Mapping::new();
        item.push("ciphertext", Value::str(enc));
        item
    };
    let body = if batch {
        let mut body = Mapping::new();
        let items = encs.iter().map(|enc| Value::Mapping(item(enc))).collect();
        body.push("batch_input", Value::Sequence(items));
        body
    } else {
        item(encs.first().copied().unwrap_or_default())
    };
    // Strings only: encoding cannot fail.
    crate::sops::emit_json(&[body], Some(0)).unwrap_or_default()
}

/// Sends one decrypt request to `endpoint`.
fn send(
    client: &HttpClient,
    source: &VaultSource,
    endpoint: &Endpoint,
    body: &[u8],
) -> Result<super::http::HttpResponse, String> {
    let token = source.token.as_ref().map_err(Clone::clone)?;
    let mut headers: Vec<(&str, &str)> = vec![("X-Vault-Request", "true")];
    if let Some(token) = token {
        headers.push(("X-Vault-Token", token.as_str()));
    }
    if let Some(namespace) = &source.namespace {
        headers.push(("X-Vault-Namespace", namespace.as_str()));
    }
    client
        .send(&HttpRequest {
            method: Method::Put,
            url: &endpoint.url,
            headers: &headers,
            body,
        })
        .map_err(|e| match e {
            // The Go client's words: `Put "URL": dial tcp …: connection refused`.
            HttpError::Unreachable {
                url,
                reason,
                attempts,
            } => format!(
                "Put \"{url}\": {reason} (after {attempts} attempt{})",
                if attempts == 1 { "" } else { "s" }
            ),
            other => other.to_string(),
        })
}

/// The `data` object of a successful answer, or the Vault client's report of a failed one
/// (`Error making API request.` with the URL, the code and Vault's `errors`). Bodies are never
/// quoted beyond Vault's own error strings: they may hold data keys.
fn answer_data(
    source: &VaultSource,
    endpoint: &Endpoint,
    response: &super::http::HttpResponse,
) -> Result<Zeroizing<Mapping>, String> {
    let top = parse_object(&response.body);
    if !(200..300).contains(&response.status) {
        let errors: Vec<String> = top
            .as_ref()
            .and_then(|top| match top.get("errors") {
                Some(Value::Sequence(items)) => Some(
                    items
                        .iter()
                        .filter_map(|item| item.as_bytes())
                        .map(|text| format!("* {}", String::from_utf8_lossy(text)))
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default();
        let detail = if errors.is_empty() {
            match response.status {
                300..=399 => "The answer is a redirect, which ksops does not follow: set \
                              vault_address to the server it redirects to (the active node)."
                    .to_owned(),
                _ => format!(
                    "The answer is not Vault's error JSON ({} bytes, not shown).",
                    response.body.len()
                ),
            }
        } else {
            format!("Errors:\n\n{}", errors.join("\n"))
        };
        let mut text = format!(
            "Error making API request.\n\nURL: PUT {}\nCode: {}. {detail}",
            endpoint.url, response.status
        );
        if response.status == 403 && matches!(source.token, Ok(None)) {
            text.push_str(
                "\n\nNo Vault token was sent: set VAULT_TOKEN or write the token to \
                 ~/.vault-token (with KSOPS_PROJECT_KEYS_DIR, <dir>/<project>/vault-token).",
            );
        }
        return Err(text);
    }
    let top = top.ok_or_else(|| "the answer is not JSON".to_owned())?;
    match top.get("data") {
        Some(Value::Mapping(data)) => Ok(Zeroizing::new(data.clone())),
        _ => Err("transit backend is empty".to_owned()),
    }
}

/// The top-level object of a JSON answer, wiped on drop (it may hold data keys).
fn parse_object(body: &[u8]) -> Option<Zeroizing<Mapping>> {
    let mut parsed = crate::sops::parse_json(body).ok()?;
    let mut documents = Zeroizing::new(std::mem::take(&mut parsed.documents));
    (documents.len() == 1).then(|| Zeroizing::new(documents.remove(0)))
}

/// The data key in `data.plaintext`, with sops' messages when it is missing or malformed.
fn plaintext(data: &Mapping) -> Outcome {
    let text = match data.get("plaintext") {
        None => return Err("no decrypted data".to_owned()),
        Some(Value::Str(text)) => text,
        Some(_) => return Err("decrypted plaintext data cannot be cast to string".to_owned()),
    };
    let mut key = Zeroizing::new(Vec::with_capacity(32));
    base64::engine::general_purpose::STANDARD
        .decode_vec(text, &mut key)
        .map_err(|_| "cannot decode base64 plaintext into data key bytes".to_owned())?;
    Ok(key)
}

/// One `batch_input` request for `encs`: each ciphertext's outcome, in order. A failure of the
/// whole request is every ciphertext's; a failed item reads as the single request's 400.
fn batch(
    client: &HttpClient,
    source: &VaultSource,
    endpoint: &Endpoint,
    encs: &[&str],
) -> Vec<Outcome> {
    let everyone = |why: String| vec![Err(fail(endpoint, &why)); encs.len()];
    let body = request_body(encs, true);
    let response = match send(client, source, endpoint, &body) {
        Ok(response) => response,
        Err(e) => return everyone(e),
    };
    // Vault answers a batch whose items all failed with 400 and the items' errors.
    let results = parse_object(&response.body).and_then(|top| match top.get("data") {
        Some(Value::Mapping(data)) => match data.get("batch_results") {
            Some(Value::Sequence(items)) if items.len() == encs.len() => {
                Some(Zeroizing::new(items.clone()))
            }
            _ => None,
        },
        _ => None,
    });
    let Some(results) = results else {
        return match answer_data(source, endpoint, &response) {
            Err(e) => everyone(e),
            Ok(_) => everyone("the batch answer has no batch_results for every ciphertext".into()),
        };
    };
    results
        .iter()
        .map(|item| {
            let Value::Mapping(item) = item else {
                return Err(fail(endpoint, "transit backend is empty"));
            };
            match item.get("error").and_then(Value::as_bytes) {
                Some(error) if !error.is_empty() => Err(fail(
                    endpoint,
                    &format!(
                        "Error making API request.\n\nURL: PUT {}\nCode: 400. Errors:\n\n* {}",
                        endpoint.url,
                        String::from_utf8_lossy(error)
                    ),
                )),
                _ => plaintext(item).map_err(|e| fail(endpoint, &e)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
