// imgpipe patch: link the libsodium that vendor/libsodium-src compiles, so
// that libzmq has CURVE. The crates.io build passes `None`, which leaves
// CURVE out.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build/main.rs");
    println!("cargo:rerun-if-env-changed=PROFILE");

    let include = PathBuf::from(std::env::var("DEP_SODIUM_INCLUDE").expect("libsodium-src exports it"));
    let lib = PathBuf::from(std::env::var("DEP_SODIUM_LIB").expect("libsodium-src exports it"));
    zeromq_src::Build::new()
        .with_libsodium(Some(zeromq_src::LibLocation::new(lib, include)))
        .build();
}
