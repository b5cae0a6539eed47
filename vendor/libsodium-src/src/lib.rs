//! libsodium, compiled by `build.rs` and linked statically. This crate has
//! no Rust API: it exists so that libzmq (the patched `zmq-sys`) can link
//! libsodium, found through the `DEP_SODIUM_INCLUDE` and `DEP_SODIUM_LIB`
//! variables this crate's `links = "sodium"` exports to its dependents.
