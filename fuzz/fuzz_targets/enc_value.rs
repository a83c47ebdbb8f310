//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` value format.
//!
//! An even first byte: the rest is taken as a value and decrypted (splitting, base64, GCM
//! with any IV length). An odd one: the rest is a plaintext sealed here with a reference GCM
//! under a known key, with a type the first byte picks; opening it must succeed (strings
//! must come back byte for byte), failing only in the type conversion.
#![no_main]

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use ksops::sops::Value;
use ksops::sops::{CipherError, DataKey, ValueCipher, is_encrypted};
use ksops_fuzz::split_selector;
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [7; 32];
const AAD: &[u8] = b"data:list:";
const TYPES: [&str; 8] = [
    "str", "int", "float", "bool", "time", "comment", "bytes", "x",
];

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = split_selector(data);
    let cipher = ValueCipher::new(&DataKey::new(KEY));
    if selector & 1 == 0 {
        let text = String::from_utf8_lossy(rest);
        let _ = is_encrypted(&text);
        let _ = cipher.decrypt_value(&text, AAD);
        return;
    }
    let kind = TYPES[usize::from(selector >> 1) % TYPES.len()];
    let nonce = [selector; 12];
    let Ok(sealed) = Aes256Gcm::new(&KEY.into()).encrypt(
        Nonce::from_slice(&nonce),
        Payload {
            msg: rest,
            aad: AAD,
        },
    ) else {
        return;
    };
    let (ciphertext, tag) = sealed.split_at(sealed.len() - 16);
    let value = format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        BASE64_STANDARD.encode(ciphertext),
        BASE64_STANDARD.encode(nonce),
        BASE64_STANDARD.encode(tag),
    );
    match cipher.decrypt_value(&value, AAD) {
        Ok(Value::Str(plaintext)) => assert!(kind == "str" && plaintext == rest),
        Ok(_) => assert!(!matches!(kind, "str" | "bytes" | "x")),
        Err(
            CipherError::Conversion { .. } | CipherError::BytesType | CipherError::UnknownType(_),
        ) => {}
        // An empty plaintext gives an empty `data:` field, which the format refuses (sops
        // never encrypts empty values); anything else is a cipher bug.
        Err(error) => assert!(rest.is_empty() && error == CipherError::Format, "{error}"),
    }
});
