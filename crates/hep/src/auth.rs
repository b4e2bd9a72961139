//! Constant-time comparison of the HEP auth key.

/// Compares a received auth key with the expected password without
/// short-circuiting on the first differing byte, so the time taken does not
/// tell an attacker how much of a guess was right. The time depends only on
/// the expected password's length.
pub fn auth_key_matches(received: Option<&[u8]>, expected: &[u8]) -> bool {
    let got = received.unwrap_or_default();
    // Any length difference makes `diff` non-zero without an early return.
    let mut diff = u64::from(got.len() != expected.len());
    for (i, &want) in expected.iter().enumerate() {
        let have = got.get(i).copied().unwrap_or(0);
        diff |= u64::from(have ^ want);
    }
    // Keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0 && received.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_match() {
        assert!(auth_key_matches(Some(b"s3cret"), b"s3cret"));
        assert!(auth_key_matches(Some(b""), b""));
    }

    #[test]
    fn different_keys_do_not_match() {
        assert!(!auth_key_matches(Some(b"s3creT"), b"s3cret"));
        assert!(!auth_key_matches(Some(b"s3cre"), b"s3cret"));
        assert!(!auth_key_matches(Some(b"s3crets"), b"s3cret"));
        assert!(!auth_key_matches(Some(b"s3cret\0"), b"s3cret"));
        assert!(!auth_key_matches(Some(b""), b"x"));
        assert!(!auth_key_matches(None, b"s3cret"));
        // An absent key is not the empty password.
        assert!(!auth_key_matches(None, b""));
    }
}
