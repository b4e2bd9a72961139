//! Record protection: opens one protected record (CBC + HMAC incl. encrypt-then-MAC, RC4 + HMAC,
//! AES-GCM, ChaCha20-Poly1305, TLS 1.3 AEAD with inner content type). Every record is
//! authenticated before its bytes are used.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use cbc::cipher::{block_padding::NoPadding, BlockDecryptMut, InnerIvInit, StreamCipher};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha1::Sha1;
use sha2::{Sha256, Sha384};

use crate::suites::{Bulk, MacAlg};

/// Largest TLS 1.0-1.2 record fragment: 2^14 plaintext + 2048 expansion (RFC 5246 §6.2.3).
pub const MAX_FRAGMENT: usize = 16_384 + 2048;

/// AEAD tag length of every supported AEAD.
const TAG_LEN: usize = 16;

/// Which record layout applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// TLS 1.0: CBC IV chained from the previous record.
    Tls10,
    /// TLS 1.1 / 1.2: explicit CBC IV / explicit GCM nonce.
    Tls11Plus,
    /// TLS 1.3: AEAD with nonce = iv xor seq, inner content type.
    Tls13,
}

enum Cipher {
    Rc4(Box<rc4::Rc4<rc4::consts::U16>>),
    Aes128Cbc(Box<aes::Aes128>, [u8; 16]),
    Aes256Cbc(Box<aes::Aes256>, [u8; 16]),
    TdesCbc(Box<des::TdesEde3>, [u8; 8]),
    Aes128Gcm(Box<Aes128Gcm>),
    Aes256Gcm(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

enum MacKey {
    None,
    Md5(Hmac<Md5>),
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
}

/// Why a record could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Wrong length for the cipher (not a block multiple, shorter than MAC + tag).
    Length,
    /// MAC, padding or AEAD tag check failed.
    Auth,
}

/// Decrypts the records of one direction.
pub(crate) struct RecordDecrypter {
    cipher: Cipher,
    mac: MacKey,
    iv: [u8; 12],
    seq: u64,
    layout: Layout,
    etm: bool,
}

fn mac_key(alg: MacAlg, key: &[u8]) -> Option<MacKey> {
    Some(match alg {
        MacAlg::None => MacKey::None,
        MacAlg::Md5 => MacKey::Md5(<Hmac<Md5> as Mac>::new_from_slice(key).ok()?),
        MacAlg::Sha1 => MacKey::Sha1(<Hmac<Sha1> as Mac>::new_from_slice(key).ok()?),
        MacAlg::Sha256 => MacKey::Sha256(<Hmac<Sha256> as Mac>::new_from_slice(key).ok()?),
        MacAlg::Sha384 => MacKey::Sha384(<Hmac<Sha384> as Mac>::new_from_slice(key).ok()?),
    })
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    a
}

impl RecordDecrypter {
    /// Builds a decrypter from key-block parts; None if a length does not fit the cipher.
    pub(crate) fn new(
        bulk: Bulk,
        mac: MacAlg,
        mac_secret: &[u8],
        key: &[u8],
        iv: &[u8],
        layout: Layout,
        etm: bool,
    ) -> Option<RecordDecrypter> {
        use aes::cipher::KeyInit as _;
        let cipher = match bulk {
            Bulk::Rc4_128 => Cipher::Rc4(Box::new(rc4::Rc4::new_from_slice(key).ok()?)),
            Bulk::Aes128Cbc => {
                Cipher::Aes128Cbc(Box::new(aes::Aes128::new_from_slice(key).ok()?), arr(iv))
            }
            Bulk::Aes256Cbc => {
                Cipher::Aes256Cbc(Box::new(aes::Aes256::new_from_slice(key).ok()?), arr(iv))
            }
            Bulk::TripleDesCbc => {
                Cipher::TdesCbc(Box::new(des::TdesEde3::new_from_slice(key).ok()?), arr(iv))
            }
            Bulk::Aes128Gcm => Cipher::Aes128Gcm(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
            Bulk::Aes256Gcm => Cipher::Aes256Gcm(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
            Bulk::ChaCha20Poly1305 => {
                Cipher::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
            }
        };
        Some(RecordDecrypter {
            cipher,
            mac: mac_key(mac, mac_secret)?,
            iv: arr(iv),
            seq: 0,
            layout,
            // EtM only changes block-cipher records (RFC 7366 §2).
            etm: etm && matches!(bulk, Bulk::Aes128Cbc | Bulk::Aes256Cbc | Bulk::TripleDesCbc),
        })
    }

    /// Opens one record. `header` is its 5-byte header; the plaintext is left in `scratch` and
    /// returned as (content type, range). The sequence number advances whatever the outcome
    /// (the sender's did).
    pub(crate) fn open(
        &mut self,
        header: &[u8; 5],
        fragment: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<(u8, std::ops::Range<usize>), OpenError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        scratch.clear();
        let [rtype, v0, v1, _, _] = *header;
        match self.layout {
            Layout::Tls13 => self.open_aead13(header, fragment, scratch, seq),
            _ => {
                let aead_nonce_explicit =
                    matches!(self.cipher, Cipher::Aes128Gcm(_) | Cipher::Aes256Gcm(_));
                match &self.cipher {
                    Cipher::Aes128Gcm(_) | Cipher::Aes256Gcm(_) | Cipher::ChaCha(_) => {
                        let (nonce, ct) = if aead_nonce_explicit {
                            let (e, ct) = split(fragment, 8)?;
                            let mut n = [0u8; 12];
                            n[..4].copy_from_slice(&self.iv[..4]);
                            n[4..].copy_from_slice(e);
                            (n, ct)
                        } else {
                            (xor_seq(&self.iv, seq), fragment)
                        };
                        let ct_len = ct.len().checked_sub(TAG_LEN).ok_or(OpenError::Length)?;
                        let plen = u16::try_from(ct_len).map_err(|_| OpenError::Length)?;
                        let mut aad = [0u8; 13];
                        aad[..8].copy_from_slice(&seq.to_be_bytes());
                        aad[8] = rtype;
                        aad[9] = v0;
                        aad[10] = v1;
                        aad[11..].copy_from_slice(&plen.to_be_bytes());
                        self.aead_open(&nonce, &aad, ct, scratch)?;
                        Ok((rtype, 0..scratch.len()))
                    }
                    Cipher::Rc4(_) => {
                        scratch.extend_from_slice(fragment);
                        if let Cipher::Rc4(c) = &mut self.cipher {
                            c.apply_keystream(scratch);
                        }
                        let mlen = self.mac_len();
                        let dlen = scratch.len().checked_sub(mlen).ok_or(OpenError::Length)?;
                        let (data, mac) = scratch.split_at(dlen);
                        if !self.mac_ok(seq, rtype, [v0, v1], &[data], mac) {
                            return Err(OpenError::Auth);
                        }
                        Ok((rtype, 0..dlen))
                    }
                    _ => self.open_cbc(seq, header, fragment, scratch),
                }
            }
        }
    }

    fn mac_len(&self) -> usize {
        match self.mac {
            MacKey::None => 0,
            MacKey::Md5(_) => 16,
            MacKey::Sha1(_) => 20,
            MacKey::Sha256(_) => 32,
            MacKey::Sha384(_) => 48,
        }
    }

    fn block_len(&self) -> usize {
        match self.cipher {
            Cipher::TdesCbc(..) => 8,
            _ => 16,
        }
    }

    fn mac_ok(&self, seq: u64, rtype: u8, ver: [u8; 2], data: &[&[u8]], want: &[u8]) -> bool {
        let len: usize = data.iter().map(|d| d.len()).sum();
        let Ok(len) = u16::try_from(len) else {
            return false;
        };
        let mut hdr = [0u8; 13];
        hdr[..8].copy_from_slice(&seq.to_be_bytes());
        hdr[8] = rtype;
        hdr[9..11].copy_from_slice(&ver);
        hdr[11..].copy_from_slice(&len.to_be_bytes());
        macro_rules! check {
            ($m:expr) => {{
                let mut m = $m.clone();
                m.update(&hdr);
                for d in data {
                    m.update(d);
                }
                m.verify_slice(want).is_ok()
            }};
        }
        match &self.mac {
            MacKey::None => false,
            MacKey::Md5(m) => check!(m),
            MacKey::Sha1(m) => check!(m),
            MacKey::Sha256(m) => check!(m),
            MacKey::Sha384(m) => check!(m),
        }
    }

    fn open_cbc(
        &mut self,
        seq: u64,
        header: &[u8; 5],
        fragment: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<(u8, std::ops::Range<usize>), OpenError> {
        let [rtype, v0, v1, _, _] = *header;
        let bs = self.block_len();
        let mlen = self.mac_len();
        // Encrypt-then-MAC: the MAC covers (explicit IV ‖) ciphertext and trails it.
        let (protected, etm_mac) = if self.etm {
            let cut = fragment.len().checked_sub(mlen).ok_or(OpenError::Length)?;
            let (p, m) = fragment.split_at(cut);
            (p, Some(m))
        } else {
            (fragment, None)
        };
        let (iv, ct): (Vec<u8>, &[u8]) = match self.layout {
            Layout::Tls10 => (self.chain_iv().to_vec(), protected),
            _ => {
                let (iv, ct) = split(protected, bs)?;
                (iv.to_vec(), ct)
            }
        };
        if ct.is_empty() || ct.len() % bs != 0 {
            return Err(OpenError::Length);
        }
        if self.layout == Layout::Tls10 {
            // The next record's IV is this record's last ciphertext block, whatever happens next.
            let last = ct.get(ct.len() - bs..).unwrap_or_default();
            self.set_chain_iv(last);
        }
        if let Some(m) = etm_mac {
            if !self.mac_ok(seq, rtype, [v0, v1], &[protected], m) {
                return Err(OpenError::Auth);
            }
        }
        scratch.extend_from_slice(ct);
        let ok = match &self.cipher {
            Cipher::Aes128Cbc(c, _) => {
                cbc::Decryptor::<aes::Aes128>::inner_iv_slice_init((**c).clone(), &iv)
                    .ok()
                    .and_then(|d| d.decrypt_padded_mut::<NoPadding>(scratch).ok())
                    .is_some()
            }
            Cipher::Aes256Cbc(c, _) => {
                cbc::Decryptor::<aes::Aes256>::inner_iv_slice_init((**c).clone(), &iv)
                    .ok()
                    .and_then(|d| d.decrypt_padded_mut::<NoPadding>(scratch).ok())
                    .is_some()
            }
            Cipher::TdesCbc(c, _) => {
                cbc::Decryptor::<des::TdesEde3>::inner_iv_slice_init((**c).clone(), &iv)
                    .ok()
                    .and_then(|d| d.decrypt_padded_mut::<NoPadding>(scratch).ok())
                    .is_some()
            }
            _ => false,
        };
        if !ok {
            return Err(OpenError::Length);
        }
        // TLS padding: `pad` bytes of value `pad`, then `pad` itself.
        let pad = usize::from(*scratch.last().ok_or(OpenError::Length)?);
        let unpadded = scratch.len().checked_sub(pad + 1).ok_or(OpenError::Auth)?;
        if scratch
            .get(unpadded..)
            .is_none_or(|p| p.iter().any(|&b| usize::from(b) != pad))
        {
            return Err(OpenError::Auth);
        }
        if etm_mac.is_some() {
            return Ok((rtype, 0..unpadded));
        }
        let dlen = unpadded.checked_sub(mlen).ok_or(OpenError::Auth)?;
        let (data, rest) = scratch.split_at(dlen);
        let mac = rest.get(..mlen).ok_or(OpenError::Auth)?;
        if !self.mac_ok(seq, rtype, [v0, v1], &[data], mac) {
            return Err(OpenError::Auth);
        }
        Ok((rtype, 0..dlen))
    }

    fn chain_iv(&self) -> &[u8] {
        match &self.cipher {
            Cipher::Aes128Cbc(_, iv) | Cipher::Aes256Cbc(_, iv) => iv,
            Cipher::TdesCbc(_, iv) => iv,
            _ => &[],
        }
    }

    fn set_chain_iv(&mut self, last: &[u8]) {
        match &mut self.cipher {
            Cipher::Aes128Cbc(_, iv) | Cipher::Aes256Cbc(_, iv) => {
                iv.copy_from_slice(&arr::<16>(last))
            }
            Cipher::TdesCbc(_, iv) => iv.copy_from_slice(&arr::<8>(last)),
            _ => {}
        }
    }

    fn aead_open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ct_and_tag: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<(), OpenError> {
        let cut = ct_and_tag
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(OpenError::Length)?;
        let (ct, tag) = ct_and_tag.split_at(cut);
        scratch.extend_from_slice(ct);
        let nonce = aes_gcm::Nonce::from_slice(nonce);
        let tag = aes_gcm::Tag::from_slice(tag);
        let r = match &self.cipher {
            Cipher::Aes128Gcm(c) => c.decrypt_in_place_detached(nonce, aad, scratch, tag),
            Cipher::Aes256Gcm(c) => c.decrypt_in_place_detached(nonce, aad, scratch, tag),
            Cipher::ChaCha(c) => c.decrypt_in_place_detached(nonce, aad, scratch, tag),
            _ => return Err(OpenError::Length),
        };
        r.map_err(|_| OpenError::Auth)
    }

    fn open_aead13(
        &mut self,
        header: &[u8; 5],
        fragment: &[u8],
        scratch: &mut Vec<u8>,
        seq: u64,
    ) -> Result<(u8, std::ops::Range<usize>), OpenError> {
        let nonce = xor_seq(&self.iv, seq);
        self.aead_open(&nonce, header, fragment, scratch)?;
        // TLSInnerPlaintext: content ‖ type ‖ zero padding.
        let end = scratch
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(OpenError::Auth)?;
        let ctype = *scratch.get(end).ok_or(OpenError::Auth)?;
        Ok((ctype, 0..end))
    }
}

fn split(b: &[u8], n: usize) -> Result<(&[u8], &[u8]), OpenError> {
    if b.len() < n {
        return Err(OpenError::Length);
    }
    Ok(b.split_at(n))
}

fn xor_seq(iv: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut n = *iv;
    for (d, s) in n.iter_mut().skip(4).zip(seq.to_be_bytes()) {
        *d ^= s;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_misaligned_records_are_length_errors() {
        let mut d = RecordDecrypter::new(
            Bulk::Aes128Cbc,
            MacAlg::Sha1,
            &[1; 20],
            &[2; 16],
            &[3; 16],
            Layout::Tls11Plus,
            false,
        )
        .expect("valid lengths");
        let mut s = Vec::new();
        let h = [23, 3, 3, 0, 0];
        assert_eq!(d.open(&h, &[0; 5], &mut s), Err(OpenError::Length));
        assert_eq!(d.open(&h, &[0; 16], &mut s), Err(OpenError::Length));
        assert_eq!(d.open(&h, &[0; 33], &mut s), Err(OpenError::Length));
        // Aligned garbage decrypts to something whose padding/MAC cannot check out.
        assert_eq!(d.open(&h, &[0; 64], &mut s), Err(OpenError::Auth));
        let mut g = RecordDecrypter::new(
            Bulk::Aes128Gcm,
            MacAlg::None,
            &[],
            &[2; 16],
            &[3; 4],
            Layout::Tls11Plus,
            false,
        )
        .expect("valid lengths");
        assert_eq!(g.open(&h, &[0; 20], &mut s), Err(OpenError::Length));
        assert_eq!(g.open(&h, &[0; 40], &mut s), Err(OpenError::Auth));
    }

    #[test]
    fn bad_key_lengths_are_refused() {
        assert!(RecordDecrypter::new(
            Bulk::Aes256Gcm,
            MacAlg::None,
            &[],
            &[2; 16],
            &[3; 4],
            Layout::Tls11Plus,
            false
        )
        .is_none());
    }
}
