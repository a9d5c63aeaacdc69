//! Secrets (DECISIONS 16): argon2id password hashes, opaque 256-bit tokens stored only as
//! their SHA-256, and authenticated encryption of stored credentials.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// Bytes of randomness in every token (256 bits).
const TOKEN_BYTES: usize = 32;

/// Fills `buffer` from the operating system's random source.
fn random(buffer: &mut [u8]) -> Result<()> {
    getrandom::fill(buffer).map_err(|e| Error::Crypto(format!("random source: {e}")))
}

/// A fresh opaque token: 256 random bits, base64url without padding (43 characters).
pub(crate) fn new_token() -> Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    random(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 of `token` as 64 lower-case hex digits — what the database stores.
pub(crate) fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The argon2id PHC string of `password`, with a random salt and the crate's default
/// (OWASP-recommended) parameters.
pub(crate) fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Crypto(format!("password hashing: {e}")))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash never matches.
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// Spends the time of one password verification, for callers that found no account: the
/// unknown-email path then takes as long as the wrong-password path.
pub(crate) fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("no account has this password").ok()) {
        let _ = verify_password(password, hash);
    }
}

/// The key that encrypts stored credentials: 32 bytes the caller supplies (from a secret
/// store or the environment), never stored in the database. XChaCha20-Poly1305.
///
/// Every value sealed under it carries its [`id`](Self::id), a fingerprint derived from the
/// key, so a value sealed under another key is recognised as such and key rotation knows
/// which rows are done. The bytes are wiped from memory when the key is dropped, and its
/// `Debug` output shows only the id.
#[derive(Clone)]
pub struct CredentialKey {
    bytes: [u8; 32],
    id: String,
}

impl CredentialKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"lifeos credential key id\0");
        hasher.update(bytes);
        let id = hasher.finalize()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self { bytes, id }
    }

    /// A key from its standard base64 text (44 characters, as `openssl rand -base64 32`
    /// prints).
    ///
    /// # Errors
    /// [`Error::Invalid`] (`field = "key"`) unless the text is base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| Error::invalid("key", format!("not base64: {e}")))?,
        );
        let mut array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::invalid("key", "a credential key is exactly 32 bytes"))?;
        let key = Self::new(array);
        array.zeroize();
        Ok(key)
    }

    /// A new random key.
    ///
    /// # Errors
    /// [`Error::Crypto`] if the operating system's random source fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        random(&mut bytes)?;
        let key = Self::new(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// The key's id: 16 hex digits of a SHA-256 fingerprint of the key (reveals nothing
    /// usable about it), written into every value sealed under it.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.bytes.into())
    }
}

impl Drop for CredentialKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Prefix of values sealed before key ids (no id: any key is tried).
const SEALED_V1: &str = "v1.";
/// Prefix of the current format: `v2.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
const SEALED_V2: &str = "v2.";

/// Encrypts `plaintext`, bound to `context` (the row and field it is stored in, so a value
/// copied into another row does not open): `v2.<key id>.` + base64url(nonce ‖ ciphertext ‖
/// tag).
pub(crate) fn seal(key: &CredentialKey, context: &str, plaintext: &str) -> Result<String> {
    let mut nonce = [0u8; 24];
    random(&mut nonce)?;
    let nonce = XNonce::from(nonce);
    let sealed = key
        .cipher()
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext.as_bytes(),
                aad: context.as_bytes(),
            },
        )
        .map_err(|e| Error::Crypto(format!("encryption: {e}")))?;
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    Ok(format!(
        "{SEALED_V2}{}.{}",
        key.id(),
        URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The id of the key a stored value was sealed under (`None` for the `v1` format, which
/// records none, and for values that are not sealed).
pub(crate) fn sealed_key_id(stored: &str) -> Option<&str> {
    stored
        .strip_prefix(SEALED_V2)
        .and_then(|rest| rest.split_once('.'))
        .map(|(id, _)| id)
}

/// Opens a value [`seal`]ed with the same key and context. The plaintext is wiped from memory
/// when dropped.
pub(crate) fn open(
    key: &CredentialKey,
    context: &str,
    stored: &str,
    what: &'static str,
) -> Result<Zeroizing<String>> {
    let refused = || Error::Decrypt { what };
    let encoded = match stored.strip_prefix(SEALED_V2) {
        Some(rest) => {
            let (id, encoded) = rest.split_once('.').ok_or_else(refused)?;
            if id != key.id() {
                return Err(refused());
            }
            encoded
        }
        None => stored.strip_prefix(SEALED_V1).ok_or_else(refused)?,
    };
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| refused())?;
    if bytes.len() < 24 {
        return Err(refused());
    }
    let (nonce, sealed) = bytes.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().map_err(|_| refused())?;
    let plaintext = Zeroizing::new(
        key.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| refused())?,
    );
    let text = std::str::from_utf8(&plaintext).map_err(|_| refused())?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Whether a stored value is in a sealed format (history stored plaintext).
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_V1) || stored.starts_with(SEALED_V2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_digests_are_kept() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let digest = token_digest(&a);
        assert_eq!(digest.len(), 64);
        assert!(!digest.contains(&a));
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let key = CredentialKey::generate().unwrap();
        let sealed = seal(&key, "row 1", "ya29.secret").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(
            open(&key, "row 1", &sealed, "t").unwrap().as_str(),
            "ya29.secret"
        );
        assert_eq!(sealed_key_id(&sealed), Some(key.id()));
        assert!(sealed.starts_with(&format!("v2.{}.", key.id())));
        let other = CredentialKey::generate().unwrap();
        assert!(matches!(
            open(&other, "row 1", &sealed, "t"),
            Err(Error::Decrypt { .. })
        ));
        assert!(matches!(
            open(&key, "row 2", &sealed, "t"),
            Err(Error::Decrypt { .. })
        ));
        assert!(matches!(
            open(&key, "row 1", "ya29.plaintext", "t"),
            Err(Error::Decrypt { .. })
        ));
        assert_ne!(sealed, seal(&key, "row 1", "ya29.secret").unwrap());
    }

    #[test]
    fn v1_values_from_before_key_ids_still_open() {
        let key = CredentialKey::new([7; 32]);
        let v2 = seal(&key, "row", "secret").unwrap();
        let body = v2.rsplit('.').next().unwrap();
        let v1 = format!("v1.{body}");
        assert_eq!(open(&key, "row", &v1, "t").unwrap().as_str(), "secret");
        assert_eq!(sealed_key_id(&v1), None);
        assert!(is_sealed(&v1) && is_sealed(&v2) && !is_sealed("ya29.plain"));
    }

    #[test]
    fn key_ids_are_stable_fingerprints_and_debug_hides_the_key() {
        let key = CredentialKey::new([7; 32]);
        assert_eq!(key.id(), CredentialKey::new([7; 32]).id());
        assert_ne!(key.id(), CredentialKey::new([8; 32]).id());
        assert_eq!(key.id().len(), 16);
        let printed = format!("{key:?}");
        assert!(
            printed.contains(key.id()) && !printed.contains("[7"),
            "{printed}"
        );
    }

    #[test]
    fn keys_parse_from_base64_of_32_bytes() {
        assert!(CredentialKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").is_ok());
        assert!(matches!(
            CredentialKey::from_base64("AAAA"),
            Err(Error::Invalid { field: "key", .. })
        ));
        assert!(matches!(
            CredentialKey::from_base64("not base64!"),
            Err(Error::Invalid { field: "key", .. })
        ));
    }
}
