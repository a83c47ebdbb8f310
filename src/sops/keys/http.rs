//! The HTTP transport of the network key sources (Vault/OpenBao transit, AWS KMS and STS): one
//! client per source and process, with bounded time, size and retries on every call.
//!
//! sops calls its key services with no timeout of its own and reads whole responses; a dead or
//! hostile server must not hang kustomize or Argo CD, nor fill memory. So every request here has
//! a deadline, a response larger than [`MAX_KEY_SERVICE_RESPONSE_BYTES`] is refused, retries are
//! counted, and redirects are never followed: a redirect would carry a request (and its
//! credential header) to an address nobody allowed. Connections are kept and reused between
//! requests, so many files sharing a key service cost one TLS handshake.
//!
//! Errors never contain request or response bodies or headers: they may hold tokens, data keys
//! or credentials.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use crate::limits::{MAX_KEY_SERVICE_RESPONSE_BYTES, read_file_capped};

/// How a client verifies the server and presents itself (the Vault client's `VAULT_CACERT`,
/// `VAULT_CAPATH`, `VAULT_CLIENT_CERT`, `VAULT_CLIENT_KEY`, `VAULT_SKIP_VERIFY`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// A PEM file of CA certificates that replaces the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// A directory of PEM CA certificates that replaces the built-in roots.
    pub ca_dir: Option<PathBuf>,
    /// A PEM client certificate (chain) for mutual TLS; needs `client_key`.
    pub client_cert: Option<PathBuf>,
    /// The PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate. Only for test servers; the token is then sent to whoever
    /// answers.
    pub skip_verify: bool,
}

/// The bounds of one client: how long a request may take and how often it is retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// The longest one attempt may take, from connecting to the last byte of the response.
    pub timeout: Duration,
    /// How many times a failed attempt (no connection, a timeout, a 5xx, 412 or 429 answer) is
    /// repeated; the first attempt is not counted.
    pub max_retries: u32,
    /// Certificates.
    pub tls: TlsSettings,
}

/// The methods the key services use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Method {
    /// Vault's transit endpoints.
    Put,
    /// AWS JSON and query APIs.
    Post,
    /// Metadata endpoints.
    Get,
}

/// One request. Header values may be secret (tokens, signatures) and are never printed.
pub(super) struct HttpRequest<'a> {
    pub method: Method,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// A response of any status, with its body (which may hold a data key: zeroized on drop).
pub(super) struct HttpResponse {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
    /// The response headers, names lower-cased (for request ids and error types).
    pub headers: Vec<(String, String)>,
}

impl HttpResponse {
    /// The first value of header `name` (lower case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Debug for HttpResponse {
    // The body may hold a data key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .field("headers", &self.headers.len())
            .finish()
    }
}

/// Why a request got no response. The texts name the address, never a header or body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum HttpError {
    /// The client's certificates could not be loaded.
    #[error("{0}")]
    Setup(String),
    /// No response after every attempt; the text says what the last attempt met.
    #[error("{url}: {reason} (after {attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
    Unreachable {
        url: String,
        reason: String,
        attempts: u32,
    },
    /// The response was larger than the cap.
    #[error("{url}: the response is larger than {MAX_KEY_SERVICE_RESPONSE_BYTES} bytes")]
    TooLarge { url: String },
}

/// A reusable, thread-safe client for one key service.
pub(super) struct HttpClient {
    agent: ureq::Agent,
    max_retries: u32,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with these bounds and certificates. Fails when a certificate file cannot be
    /// read or holds no certificate or key.
    pub fn new(settings: &HttpSettings) -> Result<HttpClient, HttpError> {
        let tls = tls_config(&settings.tls).map_err(HttpError::Setup)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(settings.timeout))
            .proxy(ureq::Proxy::try_from_env())
            .user_agent(concat!("ksops/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        Ok(HttpClient {
            agent: config.into(),
            max_retries: settings.max_retries,
        })
    }

    /// Sends `request`, repeating it after a failed attempt up to the client's retry count,
    /// with a short growing pause. Any status is a response; the caller reads it.
    pub fn send(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, HttpError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.attempt(request);
            let retry = match &outcome {
                Ok(response) => matches!(response.status, 412 | 429 | 500..=599),
                Err(Attempt::Failed(error)) => retryable(error),
                Err(Attempt::TooLarge) => false,
            };
            if !retry || attempt > self.max_retries {
                return match outcome {
                    Ok(response) => Ok(response),
                    Err(Attempt::TooLarge) => Err(HttpError::TooLarge {
                        url: request.url.to_owned(),
                    }),
                    Err(Attempt::Failed(error)) => Err(HttpError::Unreachable {
                        url: request.url.to_owned(),
                        reason: describe(&error),
                        attempts: attempt,
                    }),
                };
            }
            std::thread::sleep(backoff(attempt));
        }
    }

    fn attempt(&self, request: &HttpRequest<'_>) -> Result<HttpResponse, Attempt> {
        let result = match request.method {
            Method::Get => {
                let mut builder = self.agent.get(request.url);
                for (name, value) in request.headers {
                    builder = builder.header(*name, *value);
                }
                builder.call()
            }
            Method::Put | Method::Post => {
                let mut builder = if request.method == Method::Put {
                    self.agent.put(request.url)
                } else {
                    self.agent.post(request.url)
                };
                for (name, value) in request.headers {
                    builder = builder.header(*name, *value);
                }
                builder.send(request.body)
            }
        };
        let mut response = result.map_err(Attempt::Failed)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_KEY_SERVICE_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => Attempt::TooLarge,
                other => Attempt::Failed(other),
            })?;
        Ok(HttpResponse {
            status,
            body: Zeroizing::new(body),
            headers,
        })
    }
}

/// What one attempt met.
enum Attempt {
    Failed(ureq::Error),
    TooLarge,
}

/// The pause before attempt `n + 1`: 250 ms, doubling, at most 2 s.
fn backoff(n: u32) -> Duration {
    Duration::from_millis(250u64 << n.saturating_sub(1).min(3))
}

/// Whether another attempt may fare better: not after a certificate or TLS failure (as the
/// Vault client's retry policy has it: an unknown authority will not become known) nor a
/// malformed URL.
fn retryable(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::BadUri(_) => false,
        // rustls reports a refused certificate as invalid data on the connection.
        ureq::Error::Io(e) => e.kind() != std::io::ErrorKind::InvalidData,
        _ => true,
    }
}

/// A transport error in words, without anything a request carried.
fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => "no response in time".to_owned(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::Io(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::TimedOut => "no response in time".to_owned(),
            _ => e.to_string(),
        },
        ureq::Error::BadUri(_) => "not a valid URL".to_owned(),
        ureq::Error::Tls(e) => format!("TLS: {e}"),
        ureq::Error::Rustls(e) => format!("TLS: {e}"),
        other => other.to_string(),
    }
}

/// The TLS configuration for `settings`: the built-in roots unless a CA file or directory is
/// given, and the client certificate when one is.
fn tls_config(settings: &TlsSettings) -> Result<TlsConfig, String> {
    let mut builder = TlsConfig::builder().disable_verification(settings.skip_verify);
    let mut roots = Vec::new();
    if let Some(file) = &settings.ca_file {
        roots.extend(certificates(file)?);
    }
    if let Some(dir) = &settings.ca_dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot list the CA directory {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        for file in files {
            roots.extend(certificates(&file)?);
        }
    }
    if settings.ca_file.is_some() || settings.ca_dir.is_some() {
        if roots.is_empty() {
            return Err("the CA certificate file or directory holds no certificate".to_owned());
        }
        builder = builder.root_certs(RootCerts::Specific(Arc::new(roots)));
    }
    match (&settings.client_cert, &settings.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            let key = private_key(key)?;
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        (None, None) => {}
        _ => return Err("a client certificate needs both its certificate and its key".to_owned()),
    }
    Ok(builder.build())
}

/// Every certificate of a PEM file.
fn certificates(path: &std::path::Path) -> Result<Vec<Certificate<'static>>, String> {
    let pem = read_pem(path)?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(_) => return Err(format!("{} is not a PEM file", path.display())),
        }
    }
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The first private key of a PEM file.
fn private_key(path: &std::path::Path) -> Result<PrivateKey<'static>, String> {
    let pem = read_pem(path)?;
    for item in ureq::tls::parse_pem(&pem) {
        if let Ok(PemItem::PrivateKey(key)) = item {
            return Ok(key);
        }
    }
    Err(format!("{} holds no PEM private key", path.display()))
}

fn read_pem(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, String> {
    match read_file_capped(path, MAX_KEY_SERVICE_RESPONSE_BYTES) {
        Ok(Some(bytes)) => Ok(Zeroizing::new(bytes)),
        Ok(None) => Err(format!("{} is too large for a PEM file", path.display())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    fn settings(max_retries: u32) -> HttpSettings {
        HttpSettings {
            timeout: Duration::from_secs(5),
            max_retries,
            tls: TlsSettings::default(),
        }
    }

    /// A loopback server answering each of `answers` to one connection, in turn; returns its
    /// address and the requests it read.
    fn serve(answers: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/x", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap();
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                // Closing with unread request bytes would reset the connection and drop
                // the answer: drain until the client hangs up.
                let _ = stream.write_all(&answer);
                let _ = stream.shutdown(std::net::Shutdown::Write);
                let _ = std::io::copy(&mut stream, &mut std::io::sink());
            }
            seen
        });
        (url, handle)
    }

    fn answer(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn put<'a>(url: &'a str, headers: &'a [(&'a str, &'a str)]) -> HttpRequest<'a> {
        HttpRequest {
            method: Method::Put,
            url,
            headers,
            body: b"{}",
        }
    }

    #[test]
    fn retries_server_errors_then_returns_the_answer() {
        let (url, server) = serve(vec![
            answer("503 Service Unavailable", "busy"),
            answer("200 OK", "done"),
        ]);
        let client = HttpClient::new(&settings(2)).unwrap();
        let response = client.send(&put(&url, &[("X-Test", "1")])).unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"done"[..])
        );
        let seen = server.join().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[1].starts_with("PUT /v1/x HTTP/1.1"), "{}", seen[1]);
        assert!(seen[1].to_ascii_lowercase().contains("x-test: 1"));
    }

    #[test]
    fn client_errors_are_not_retried_and_redirects_not_followed() {
        let (url, server) = serve(vec![answer("403 Forbidden", "no")]);
        let client = HttpClient::new(&settings(3)).unwrap();
        assert_eq!(client.send(&put(&url, &[])).unwrap().status, 403);
        assert_eq!(server.join().unwrap().len(), 1);

        let redirect = "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/\r\n\
                        Content-Length: 0\r\nConnection: close\r\n\r\n";
        let (url, server) = serve(vec![redirect.as_bytes().to_vec()]);
        assert_eq!(client.send(&put(&url, &[])).unwrap().status, 307);
        assert_eq!(server.join().unwrap().len(), 1);
    }

    #[test]
    fn gives_up_after_the_retries_and_names_the_address_only() {
        // A port that was free a moment ago: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/v1/transit");
        let client = HttpClient::new(&settings(1)).unwrap();
        let err = client
            .send(&put(&url, &[("X-Vault-Token", "s.SECRET")]))
            .unwrap_err();
        let text = err.to_string();
        assert_eq!(
            text,
            format!("{url}: connection refused (after 2 attempts)")
        );
    }

    #[test]
    fn oversized_responses_are_refused() {
        let big = "x".repeat(MAX_KEY_SERVICE_RESPONSE_BYTES as usize + 1);
        let (url, server) = serve(vec![answer("200 OK", &big)]);
        let client = HttpClient::new(&settings(2)).unwrap();
        let err = client.send(&put(&url, &[])).unwrap_err();
        assert!(matches!(err, HttpError::TooLarge { .. }), "{err}");
        assert_eq!(server.join().unwrap().len(), 1, "not retried");
    }

    #[test]
    fn slow_servers_time_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let holder = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_millis(1500));
            drop(stream);
        });
        let client = HttpClient::new(&HttpSettings {
            timeout: Duration::from_millis(300),
            max_retries: 0,
            tls: TlsSettings::default(),
        })
        .unwrap();
        let err = client.send(&put(&url, &[])).unwrap_err();
        assert!(err.to_string().contains("no response in time"), "{err}");
        holder.join().unwrap();
    }

    #[test]
    fn certificate_settings_are_checked() {
        let dir = crate::testing::scratch_dir("http-tls");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let bad = |tls: TlsSettings| {
            HttpClient::new(&HttpSettings { tls, ..settings(0) })
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad(TlsSettings {
                ca_file: Some(empty.clone()),
                ..Default::default()
            })
            .contains("holds no PEM certificate")
        );
        assert!(
            bad(TlsSettings {
                client_cert: Some(empty),
                ..Default::default()
            })
            .contains("needs both")
        );
        assert!(
            bad(TlsSettings {
                ca_file: Some(dir.path().join("missing.pem")),
                ..Default::default()
            })
            .contains("cannot read")
        );
    }
}
