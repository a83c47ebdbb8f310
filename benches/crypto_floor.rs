//! The cryptographic floor of decrypting SOPS files: only the per-file work no implementation can
//! avoid (age unwrap of the data key, AES-GCM over every encrypted value, the SHA-512 MAC and its
//! check), timed on files parsed beforehand. For comparison it also times the library's whole
//! per-file path (`decrypt_documents`: parsing, metadata, the same crypto) on the same bytes.
//!
//! Usage: `crypto_floor [--iterations K | --once floor|library|none] FILE...` (YAML files encrypted with an age key that
//! `SOPS_AGE_KEY_FILE` or another sops identity source holds). Single-threaded. Prints
//! `key value` lines, times in microseconds per file (median over K passes over all files).
//! Run by `scripts/bench.sh`; `cargo bench --bench crypto_floor -- FILE...` works too.

use std::time::Instant;

use ksops::sops::Format;
use ksops::sops::Metadata;
use ksops::sops::ValueCipher;
use ksops::sops::decrypt_documents;
use ksops::sops::{IdentitySources, Keyring, recover_data_key};
use ksops::sops::{Item, Mapping, Value};
use ksops::sops::{format_go_float, parse_store};
use sha2::{Digest, Sha512};

/// A leaf in document order: the MAC hashes every leaf, decrypted or clear.
enum Leaf {
    /// An `ENC[…]` value and its AAD (the key path, each key followed by `:`).
    Encrypted { text: String, aad: String },
    /// A clear value, already rendered as sops hashes it.
    Clear(Vec<u8>),
}

/// A file parsed ahead of time: what remains is the unavoidable per-file work.
struct Prepared {
    metadata: Metadata,
    leaves: Vec<Leaf>,
    mac_aad: String,
}

fn collect_mapping(mapping: &Mapping, path: &mut Vec<String>, out: &mut Vec<Leaf>) {
    for item in &mapping.items {
        if let Item::Entry(entry) = item {
            path.push(entry.key.clone());
            collect_value(&entry.value, path, out);
            path.pop();
        }
    }
}

/// A leaf rendered as sops feeds it to the MAC (`None` for what it does not hash).
fn render(value: &Value) -> Option<Vec<u8>> {
    Some(match value {
        Value::Str(bytes) => bytes.clone(),
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => format_go_float(*f).into_bytes(),
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        Value::Time(t) => t.to_rfc3339_nano().into_bytes(),
        Value::Null | Value::Comment(_) | Value::Mapping(_) | Value::Sequence(_) => return None,
    })
}

fn collect_value(value: &Value, path: &mut Vec<String>, out: &mut Vec<Leaf>) {
    match value {
        Value::Null | Value::Comment(_) => return,
        Value::Mapping(mapping) => return collect_mapping(mapping, path, out),
        Value::Sequence(items) => {
            for item in items {
                collect_value(item, path, out);
            }
            return;
        }
        Value::Str(bytes) => {
            if let Some(text) = std::str::from_utf8(bytes)
                .ok()
                .filter(|t| ksops::sops::is_encrypted(t))
            {
                let mut aad: String = path.iter().map(|k| format!("{k}:")).collect();
                if aad.is_empty() {
                    aad.push(':');
                }
                out.push(Leaf::Encrypted {
                    text: text.to_owned(),
                    aad,
                });
                return;
            }
        }
        _ => {}
    }
    if let Some(rendered) = render(value) {
        out.push(Leaf::Clear(rendered));
    }
}

fn prepare(input: &[u8]) -> Prepared {
    let parsed = parse_store(Format::Yaml, input).expect("parse");
    let tree = parsed.metadata.expect("sops metadata");
    let metadata = Metadata::from_tree(&tree, parsed.metadata_style).expect("metadata");
    assert!(
        !metadata.mac_only_encrypted,
        "the floor hashes every value, as sops does without mac_only_encrypted"
    );
    let mut leaves = Vec::new();
    for document in &parsed.documents {
        collect_mapping(document, &mut Vec::new(), &mut leaves);
    }
    let mac_aad = metadata.last_modified.to_rfc3339();
    Prepared {
        metadata,
        leaves,
        mac_aad,
    }
}

/// The floor for one file: unwrap the data key, decrypt every value, hash, check the MAC.
/// Returns the number of plaintext bytes (so the work cannot be optimised away).
fn floor(file: &Prepared, keyring: &Keyring) -> usize {
    let key = recover_data_key(
        &file.metadata.key_groups,
        file.metadata.shamir_threshold,
        keyring,
    )
    .expect("data key");
    let cipher = ValueCipher::new(&key);
    let mut hash = Sha512::new();
    let mut bytes = 0;
    for leaf in &file.leaves {
        match leaf {
            Leaf::Encrypted { text, aad } => {
                let value = cipher.decrypt_value(text, aad.as_bytes()).expect("value");
                match value.as_bytes() {
                    Some(plain) => {
                        bytes += plain.len();
                        hash.update(plain);
                    }
                    None => hash.update(render(&value).unwrap_or_default()),
                }
            }
            Leaf::Clear(rendered) => hash.update(rendered),
        }
    }
    let computed: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
    let stored = cipher
        .decrypt_value(&file.metadata.mac, file.mac_aad.as_bytes())
        .expect("MAC");
    assert_eq!(stored.as_bytes(), Some(computed.as_bytes()), "MAC mismatch");
    bytes
}

/// The library's whole per-file path on the same bytes (parse, metadata, the same crypto).
fn library(input: &[u8], keyring: &Keyring) -> usize {
    decrypt_documents(input, Format::Yaml, keyring, false)
        .expect("decrypt")
        .documents
        .len()
}

/// Median of `iterations` timed passes over all files, in microseconds per file.
fn median_us_per_file(iterations: usize, files: usize, mut pass: impl FnMut() -> usize) -> f64 {
    let mut sink = 0usize;
    sink = sink.wrapping_add(pass()); // warm-up
    let mut samples: Vec<f64> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            sink = sink.wrapping_add(pass());
            start.elapsed().as_secs_f64() * 1e6 / files as f64
        })
        .collect();
    std::hint::black_box(sink);
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; ignore it.
    args.retain(|a| a != "--bench");
    let mut iterations = 5;
    if let Some(at) = args.iter().position(|a| a == "--iterations") {
        iterations = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .expect("--iterations N");
        args.drain(at..at + 2);
    }
    // `--once floor|library|none`: one untimed pass of that work and nothing printed, for
    // counting instructions (a `none` run counts the set-up that the other two share).
    let mut once = None;
    if let Some(at) = args.iter().position(|a| a == "--once") {
        once = Some(
            args.get(at + 1)
                .cloned()
                .expect("--once floor|library|none"),
        );
        args.drain(at..at + 2);
    }
    if args.is_empty() {
        eprintln!("usage: crypto_floor [--iterations K | --once floor|library|none] FILE...");
        return;
    }
    let inputs: Vec<Vec<u8>> = args
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    let keyring = Keyring::load(&IdentitySources::from_env());
    let prepared: Vec<Prepared> = inputs.iter().map(|i| prepare(i)).collect();
    if let Some(work) = once {
        let sink: usize = match work.as_str() {
            "floor" => prepared.iter().map(|p| floor(p, &keyring)).sum(),
            "library" => inputs.iter().map(|i| library(i, &keyring)).sum(),
            "none" => 0,
            other => panic!("--once {other}: expected floor, library or none"),
        };
        std::hint::black_box(sink);
        return;
    }
    let values: usize = prepared
        .iter()
        .flat_map(|p| &p.leaves)
        .filter(|l| matches!(l, Leaf::Encrypted { .. }))
        .count();

    let unwrap_us = median_us_per_file(iterations, prepared.len(), || {
        prepared
            .iter()
            .map(|p| {
                let key = recover_data_key(
                    &p.metadata.key_groups,
                    p.metadata.shamir_threshold,
                    &keyring,
                )
                .expect("data key");
                key.as_bytes()[0] as usize
            })
            .sum()
    });
    let floor_us = median_us_per_file(iterations, prepared.len(), || {
        prepared.iter().map(|p| floor(p, &keyring)).sum()
    });
    let full_us = median_us_per_file(iterations, inputs.len(), || {
        inputs.iter().map(|i| library(i, &keyring)).sum()
    });
    println!("files {}", prepared.len());
    println!(
        "encrypted_values_per_file {:.1}",
        values as f64 / prepared.len() as f64
    );
    println!("unwrap_us_per_file {unwrap_us:.1}");
    println!("floor_us_per_file {floor_us:.1}");
    println!("library_us_per_file {full_us:.1}");
}
