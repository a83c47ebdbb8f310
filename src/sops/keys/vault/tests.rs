//! The Vault key source against a loopback stand-in for transit that records every request
//! (the end-to-end suite runs the same paths against a real OpenBao).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::settings::Allowed;
use super::*;
use crate::sops::keys::http::{HttpSettings, TlsSettings};

/// A request the stand-in received.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
    /// Which connection it came on (0, 1, …).
    connection: usize,
}

/// A transit stand-in: answers every request with `answer(body)`, keeping connections open.
struct Stub {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn start(answer: fn(&str) -> (u16, String)) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for (connection, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { return };
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(stream, connection, answer, &log));
            }
        });
        Stub { url, seen }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    stream: std::net::TcpStream,
    connection: usize,
    answer: fn(&str) -> (u16, String),
    log: &Mutex<Vec<Seen>>,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body = String::from_utf8(body).unwrap();
        let (status, text) = answer(&body);
        log.lock().unwrap().push(Seen {
            line: line.trim_end().to_owned(),
            headers,
            body,
            connection,
        });
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The fake transit: `vault:v1:<base64 of the key>` decrypts to that key; anything else is an
/// item error.
fn transit(body: &str) -> (u16, String) {
    let result = |enc: &str| match enc.strip_prefix("vault:v1:") {
        Some(key) => format!(r#"{{"plaintext":"{key}"}}"#),
        None => r#"{"plaintext":"","error":"invalid ciphertext: no prefix"}"#.to_owned(),
    };
    let encs: Vec<&str> = body
        .split("\"ciphertext\": \"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    let data = if body.contains("batch_input") {
        let items: Vec<String> = encs.iter().map(|enc| result(enc)).collect();
        format!(r#"{{"batch_results":[{}]}}"#, items.join(","))
    } else {
        result(encs[0])
    };
    (
        200,
        format!(r#"{{"request_id":"1","data":{data},"warnings":null}}"#),
    )
}

fn denied(_: &str) -> (u16, String) {
    (403, r#"{"errors":["permission denied"]}"#.to_owned())
}

fn garbage(_: &str) -> (u16, String) {
    (200, "<html>hello</html>".to_owned())
}

const TOKEN: &str = "s.TEST-ONLY-vault-token";

fn keys(allowed: Allowed, token: Option<&str>) -> VaultKeys {
    VaultKeys::load(Some(VaultSource {
        token: Ok(token.map(|t| Zeroizing::new(t.to_owned()))),
        namespace: Some("team-a".into()),
        http: Ok(HttpSettings {
            timeout: Duration::from_secs(5),
            max_retries: 0,
            tls: TlsSettings::default(),
        }),
        allowed: Ok(allowed),
        agent: Ok(None),
    }))
}

fn key<'a>(address: &'a str, enc: &'a str) -> TransitKey<'a> {
    TransitKey {
        address,
        engine_path: "transit",
        key_name: "k1",
        enc,
    }
}

/// `vault:v1:` and the base64 of 32 bytes of `n`.
fn enc(n: u8) -> String {
    format!(
        "vault:v1:{}",
        base64::engine::general_purpose::STANDARD.encode([n; 32])
    )
}

#[test]
fn one_request_with_the_token_and_sops_headers() {
    let stub = Stub::start(transit);
    let vault = keys(Allowed::All, Some(TOKEN));
    let data_key = vault.unwrap(key(&stub.url, &enc(7))).unwrap();
    assert_eq!(data_key.as_slice(), [7; 32]);
    let seen = stub.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].line, "PUT /v1/transit/decrypt/k1 HTTP/1.1");
    let header = |name: &str| {
        seen[0]
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("x-vault-token"), Some(TOKEN));
    assert_eq!(header("x-vault-request"), Some("true"));
    assert_eq!(header("x-vault-namespace"), Some("team-a"));
    assert!(
        seen[0]
            .body
            .contains(&format!("\"ciphertext\": \"{}\"", enc(7)))
    );
    assert!(!seen[0].body.contains("batch_input"));
}

#[test]
fn many_files_sharing_a_key_cost_one_request_on_one_connection() {
    let stub = Stub::start(transit);
    let vault = keys(Allowed::All, Some(TOKEN));
    let encs: Vec<String> = (1..=5).map(enc).collect();
    let mut wanted: Vec<TransitKey<'_>> = encs.iter().map(|e| key(&stub.url, e)).collect();
    // A repeated ciphertext is sent once; a second transit key is a second request.
    wanted.push(key(&stub.url, &encs[0]));
    let other = enc(9);
    let mut other_key = key(&stub.url, &other);
    other_key.key_name = "k2";
    wanted.push(other_key);
    let other_2 = enc(10);
    let mut other_key_2 = key(&stub.url, &other_2);
    other_key_2.key_name = "k2";
    wanted.push(other_key_2);

    assert_eq!(vault.prefetch(&wanted), 2);
    for (n, e) in (1..=5).zip(&encs) {
        assert_eq!(vault.unwrap(key(&stub.url, e)).unwrap().as_slice(), [n; 32]);
    }
    assert_eq!(vault.unwrap(other_key).unwrap().as_slice(), [9; 32]);
    let seen = stub.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].line, "PUT /v1/transit/decrypt/k1 HTTP/1.1");
    assert_eq!(seen[0].body.matches("ciphertext").count(), 5);
    assert!(seen[0].body.contains("batch_input"));
    assert_eq!(seen[1].line, "PUT /v1/transit/decrypt/k2 HTTP/1.1");
    assert!(
        seen.iter().all(|s| s.connection == 0),
        "the connection is reused"
    );
    // Used keys are dropped from the cache: asking again is a new request.
    vault.unwrap(key(&stub.url, &encs[0])).unwrap();
    assert_eq!(stub.requests().len(), 3);
}

#[test]
fn a_failed_item_reads_like_the_single_request() {
    let stub = Stub::start(transit);
    let vault = keys(Allowed::All, Some(TOKEN));
    let good = enc(1);
    assert_eq!(
        vault.prefetch(&[key(&stub.url, &good), key(&stub.url, "garbage")]),
        1
    );
    assert_eq!(
        vault.unwrap(key(&stub.url, &good)).unwrap().as_slice(),
        [1; 32]
    );
    let err = vault.unwrap(key(&stub.url, "garbage")).unwrap_err();
    assert_eq!(
        err,
        format!(
            "failed to decrypt sops data key from Vault transit backend 'transit/decrypt/k1': \
             Error making API request.\n\nURL: PUT {}/v1/transit/decrypt/k1\nCode: 400. \
             Errors:\n\n* invalid ciphertext: no prefix",
            stub.url
        )
    );
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn denied_and_garbage_answers_read_as_sops_and_hold_no_token() {
    let stub = Stub::start(denied);
    let vault = keys(Allowed::All, Some(TOKEN));
    let err = vault.unwrap(key(&stub.url, &enc(1))).unwrap_err();
    assert_eq!(
        err,
        format!(
            "failed to decrypt sops data key from Vault transit backend 'transit/decrypt/k1': \
             Error making API request.\n\nURL: PUT {}/v1/transit/decrypt/k1\nCode: 403. \
             Errors:\n\n* permission denied",
            stub.url
        )
    );
    // A batch that fails as a whole fails each of its keys the same way, with one request.
    let (a, b) = (enc(2), enc(3));
    vault.prefetch(&[key(&stub.url, &a), key(&stub.url, &b)]);
    assert_eq!(vault.unwrap(key(&stub.url, &b)).unwrap_err(), err);
    assert_eq!(stub.requests().len(), 2);
    let no_token = keys(Allowed::All, None).unwrap(key(&stub.url, &enc(1)));
    assert!(
        no_token.unwrap_err().contains("No Vault token was sent"),
        "the missing token is named"
    );

    let stub = Stub::start(garbage);
    let err = vault.unwrap(key(&stub.url, &enc(1))).unwrap_err();
    assert!(
        err.ends_with("'transit/decrypt/k1': the answer is not JSON"),
        "{err}"
    );
    assert!(!err.contains(TOKEN) && !err.contains("hello"));
}

#[test]
fn addresses_not_allowed_get_no_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let allowed_elsewhere = Allowed::Prefixes(vec!["http://127.0.0.1:1/".into()]);
    let default_elsewhere = Allowed::VaultAddr(None);
    for allowed in [allowed_elsewhere, default_elsewhere] {
        let vault = keys(allowed, Some(TOKEN));
        let err = vault.unwrap(key(&url, &enc(1))).unwrap_err();
        assert!(
            err.starts_with(&format!("Allowlist does not allow {url}: ")),
            "{err}"
        );
        assert!(err.contains(SOPS_HC_VAULT_ALLOWLIST), "{err}");
        assert_eq!(vault.prefetch(&[key(&url, &enc(1)), key(&url, &enc(2))]), 0);
    }
    assert!(listener.accept().is_err(), "nothing connected");
}

#[test]
fn paths_that_leave_the_transit_endpoint_are_refused() {
    let vault = keys(Allowed::All, Some(TOKEN));
    for (engine, name) in [
        ("transit", "../../sys/policy/x"),
        ("transit", "k/x"),
        ("../sys", "k"),
        ("", "k"),
        ("transit", "k?x=1"),
    ] {
        let err = vault
            .unwrap(TransitKey {
                address: "http://127.0.0.1:1",
                engine_path: engine,
                key_name: name,
                enc: "vault:v1:x",
            })
            .unwrap_err();
        assert!(
            err.contains("not a plain Vault path"),
            "{engine} {name}: {err}"
        );
    }
    let (_, endpoint) = vault
        .endpoint(&TransitKey {
            address: "http://h:1/",
            engine_path: "/sops//transit/",
            key_name: "k.1",
            enc: "",
        })
        .unwrap();
    assert_eq!(endpoint.url, "http://h:1/v1/sops/transit/decrypt/k.1");
    assert_eq!(endpoint.path, "sops/transit/decrypt/k.1");
}

#[test]
fn an_agent_takes_the_requests_of_allowed_addresses() {
    let stub = Stub::start(transit);
    let mut vault = keys(
        Allowed::Prefixes(vec!["https://vault.example.invalid:8200/".into()]),
        None,
    );
    if let Some(source) = vault.source.as_mut() {
        source.agent = Ok(Some(settings::Address::parse(&stub.url).unwrap()));
    }
    let allowed = "https://vault.example.invalid:8200";
    assert_eq!(
        vault.unwrap(key(allowed, &enc(4))).unwrap().as_slice(),
        [4; 32]
    );
    assert_eq!(
        stub.requests()[0].line,
        "PUT /v1/transit/decrypt/k1 HTTP/1.1"
    );
    // The file's address must still be allowed.
    let err = vault
        .unwrap(key("https://elsewhere.invalid", &enc(4)))
        .unwrap_err();
    assert!(err.starts_with("Allowlist does not allow"), "{err}");
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn without_a_source_vault_keys_are_not_tried() {
    let err = VaultKeys::load(None)
        .unwrap(key("http://127.0.0.1:1", "x"))
        .unwrap_err();
    assert!(err.contains("not a key source here"), "{err}");
}
