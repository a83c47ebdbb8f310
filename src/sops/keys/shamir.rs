//! Shamir secret sharing over GF(2^8), compatible with sops' `shamir` package (a copy of
//! HashiCorp Vault's).
//!
//! The field uses the AES polynomial x^8+x^4+x^3+x+1 (0x11B). A share is the secret's length
//! plus one byte: byte i is the i-th secret byte's polynomial evaluated at x, and the last
//! byte is x itself. The arithmetic is branch-free on secret data, as sops 3.10+ is.

use thiserror::Error;
use zeroize::Zeroizing;

/// Why shares could not be combined. The texts are the ones sops prints.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShamirError {
    /// Fewer than two shares were given.
    #[error("less than two parts cannot be used to reconstruct the secret")]
    TooFewParts,
    /// Shares have different lengths.
    #[error("all parts must be the same length")]
    UnequalLengths,
    /// Shares shorter than two bytes (one secret byte plus x).
    #[error("parts must be at least two bytes")]
    TooShort,
    /// Two shares have the same x coordinate.
    #[error("duplicate part detected")]
    DuplicatePart,
}

/// Multiplies in GF(2^8) mod 0x11B without data-dependent branches.
fn mult(a: u8, b: u8) -> u8 {
    let mut r: u8 = 0;
    let mut a = a;
    let mut b = b;
    for _ in 0..8 {
        // mask is 0xFF when the low bit of b is set, else 0.
        r ^= a & 0u8.wrapping_sub(b & 1);
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1B & carry);
        b >>= 1;
    }
    r
}

/// The multiplicative inverse, as a^254 (0 maps to 0).
fn inverse(a: u8) -> u8 {
    // a^254 = a^(2+4+8+16+32+64+128).
    let mut result = 1u8;
    let mut power = a;
    for _ in 0..7 {
        power = mult(power, power);
        result = mult(result, power);
    }
    result
}

/// Divides a by b (b must be non-zero; callers guarantee it by rejecting duplicate x).
fn div(a: u8, b: u8) -> u8 {
    mult(a, inverse(b))
}

/// Recovers the secret from shares by Lagrange interpolation at x = 0, byte by byte.
///
/// All shares are used, as sops does, even when there are more than the threshold.
pub fn combine(parts: &[Zeroizing<Vec<u8>>]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    let first = parts.first().ok_or(ShamirError::TooFewParts)?;
    if parts.len() < 2 {
        return Err(ShamirError::TooFewParts);
    }
    // The same order of checks as sops, so the same error wins.
    let len = first.len();
    if len < 2 {
        return Err(ShamirError::TooShort);
    }
    if parts.iter().any(|p| p.len() != len) {
        return Err(ShamirError::UnequalLengths);
    }
    let secret_len = len - 1;
    let xs: Vec<u8> = parts
        .iter()
        .map(|p| p.get(secret_len).copied().unwrap_or(0))
        .collect();
    for (i, x) in xs.iter().enumerate() {
        if xs.iter().skip(i + 1).any(|other| other == x) {
            return Err(ShamirError::DuplicatePart);
        }
    }
    // The Lagrange basis values at 0 depend only on the x coordinates (public).
    let basis: Vec<u8> = xs
        .iter()
        .enumerate()
        .map(|(i, &xi)| {
            xs.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(1u8, |acc, (_, &xj)| mult(acc, div(xj, xi ^ xj)))
        })
        .collect();
    let mut secret = Zeroizing::new(vec![0u8; secret_len]);
    for (idx, out) in secret.iter_mut().enumerate() {
        *out = parts.iter().zip(&basis).fold(0u8, |acc, (part, &b)| {
            acc ^ mult(part.get(idx).copied().unwrap_or(0), b)
        });
    }
    Ok(secret)
}

/// Test-only splitting, so combine can be checked on any k of n shares.
#[cfg(test)]
pub(crate) fn split_for_tests(secret: &[u8], parts: u8, threshold: u8, seed: u64) -> Vec<Vec<u8>> {
    // A small xorshift generator: the coefficients only need to vary, not be secure.
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state & 0xFF) as u8
    };
    let mut out: Vec<Vec<u8>> = (1..=parts)
        .map(|_| Vec::with_capacity(secret.len() + 1))
        .collect();
    for &byte in secret {
        let coeffs: Vec<u8> = std::iter::once(byte)
            .chain((1..threshold).map(|_| next()))
            .collect();
        for (share, x) in out.iter_mut().zip(1..=parts) {
            // Horner evaluation of the polynomial at x.
            let y = coeffs.iter().rev().fold(0u8, |acc, &c| mult(acc, x) ^ c);
            share.push(y);
        }
    }
    for (share, x) in out.iter_mut().zip(1..=parts) {
        share.push(x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(v: &[u8]) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(v.to_vec())
    }

    /// Slow reference multiply (shift-and-add with explicit reduction).
    fn mult_ref(a: u8, b: u8) -> u8 {
        let mut p: u16 = 0;
        for i in 0..8 {
            if b & (1 << i) != 0 {
                p ^= (a as u16) << i;
            }
        }
        for i in (8..16).rev() {
            if p & (1 << i) != 0 {
                p ^= 0x11B << (i - 8);
            }
        }
        p as u8
    }

    #[test]
    fn field_arithmetic() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mult(a, b), mult_ref(a, b), "{a}*{b}");
            }
            if a != 0 {
                assert_eq!(mult(a, inverse(a)), 1, "inverse of {a}");
            }
        }
        assert_eq!(inverse(0), 0);
        // Known AES values: 0x53 * 0xCA = 1, 0x57 * 0x83 = 0xC1.
        assert_eq!(mult(0x53, 0xCA), 1);
        assert_eq!(mult(0x57, 0x83), 0xC1);
    }

    #[test]
    fn any_k_of_n_recovers_the_secret() {
        let secret: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
        for (n, k) in [(2u8, 2u8), (3, 2), (5, 3), (4, 4)] {
            let shares = split_for_tests(&secret, n, k, 0x5eed + u64::from(n));
            // Every subset of size >= k.
            for mask in 1u32..(1 << n) {
                let subset: Vec<_> = (0..n as usize)
                    .filter(|i| mask & (1 << i) != 0)
                    .filter_map(|i| shares.get(i).map(|s| z(s)))
                    .collect();
                if subset.len() < k as usize || subset.len() < 2 {
                    continue;
                }
                let got = combine(&subset).map(|s| s.to_vec());
                assert_eq!(got, Ok(secret.clone()), "n={n} k={k} mask={mask:b}");
            }
        }
    }

    #[test]
    fn fewer_than_threshold_gives_something_else() {
        let secret = [7u8; 32];
        let shares = split_for_tests(&secret, 3, 3, 99);
        let two: Vec<_> = shares.iter().take(2).map(|s| z(s)).collect();
        assert_ne!(combine(&two).map(|s| s.to_vec()), Ok(secret.to_vec()));
    }

    #[test]
    fn rejects_bad_inputs() {
        assert_eq!(combine(&[]), Err(ShamirError::TooFewParts));
        assert_eq!(combine(&[z(&[1, 2, 3])]), Err(ShamirError::TooFewParts));
        assert_eq!(
            combine(&[z(&[1, 2, 3]), z(&[1, 2])]),
            Err(ShamirError::UnequalLengths)
        );
        assert_eq!(combine(&[z(&[1]), z(&[2])]), Err(ShamirError::TooShort));
        assert_eq!(
            combine(&[z(&[1, 2, 3]), z(&[4, 5, 3])]),
            Err(ShamirError::DuplicatePart)
        );
    }
}
