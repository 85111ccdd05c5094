//! SASL as Apache ZooKeeper 3.8 serves it: DIGEST-MD5 only (user names and passwords from the
//! JAAS file's `Server` section), and the Kerberos-style name rules of the `sasl` ACL scheme.

pub mod digest_md5;
mod directives;
pub mod kerberos_name;

pub use digest_md5::{DigestMd5Server, SaslError, Step, NONCE_RAW_LEN};
pub use kerberos_name::is_valid_sasl_id;

/// Random bytes for a DIGEST-MD5 nonce, from the operating system.
pub fn random_nonce_bytes() -> [u8; NONCE_RAW_LEN] {
    let mut bytes = [0u8; NONCE_RAW_LEN];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to the per-process random hasher keys (never panic).
        use std::hash::{BuildHasher, RandomState};
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let v = RandomState::new().hash_one(i).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    bytes
}
