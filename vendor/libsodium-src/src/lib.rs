//! libsodium, compiled by `build.rs` and linked statically, so that libzmq
//! (the patched `zmq-sys`) has CURVE: it finds libsodium through the
//! `DEP_SODIUM_INCLUDE` and `DEP_SODIUM_LIB` variables this crate's
//! `links = "sodium"` exports to its dependents.
//!
//! The one function wrapped here is X25519 ([`x25519`]), with which imgpipe
//! derives a key that only the ventilator and the sink share from their
//! CURVE key pairs (CURVE keys are X25519 keys).

use std::os::raw::c_int;

extern "C" {
    fn sodium_init() -> c_int;
    fn crypto_scalarmult(q: *mut u8, n: *const u8, p: *const u8) -> c_int;
}

/// The X25519 shared secret of `secret` and `public`
/// (`crypto_scalarmult`); `None` when libsodium cannot start or `public` is
/// a low-order point (the result would be all zeros).
pub fn x25519(secret: &[u8; 32], public: &[u8; 32]) -> Option<[u8; 32]> {
    let mut shared = [0u8; 32];
    // SAFETY: sodium_init is idempotent and thread-safe; crypto_scalarmult
    // reads 32 bytes from each input and writes 32 into `shared`.
    let rc = unsafe {
        if sodium_init() < 0 {
            return None;
        }
        crypto_scalarmult(shared.as_mut_ptr(), secret.as_ptr(), public.as_ptr())
    };
    (rc == 0).then_some(shared)
}

#[cfg(test)]
mod tests {
    fn hex(s: &str) -> [u8; 32] {
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    #[test]
    fn both_sides_derive_the_same_secret() {
        // RFC 7748 section 6.1 key pairs.
        let alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let alice_public = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        let bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let bob_public = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        let one = super::x25519(&alice, &bob_public).unwrap();
        assert_eq!(Some(one), super::x25519(&bob, &alice_public));
        assert_ne!(one, [0; 32]);
        assert_eq!(super::x25519(&alice, &[0; 32]), None, "low-order point");
    }
}
