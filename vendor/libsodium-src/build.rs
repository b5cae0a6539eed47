//! Compiles libsodium's bundled sources with the cc crate, the way its own
//! `build.zig` does (every `.c` and `.S` under `src/libsodium`, with the
//! configuration macros `configure` would find on the target), so that a
//! machine with gcc alone builds it: no `configure`, no `make`.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("libsodium sources are bundled")
        .map(|e| e.expect("readable source folder").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("c" | "S")) {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("libsodium/src/libsodium");
    let target = std::env::var("TARGET").expect("cargo sets it");
    println!("cargo:rerun-if-changed=libsodium");
    println!("cargo:rerun-if-changed=build.rs");

    let mut build = cc::Build::new();
    build
        .include(root.join("include"))
        .include(root.join("include/sodium"))
        .warnings(false)
        .flag_if_supported("-fvisibility=hidden")
        .flag_if_supported("-fno-strict-aliasing")
        .flag_if_supported("-fno-strict-overflow")
        .flag_if_supported("-fwrapv")
        .flag_if_supported("-flax-vector-conversions")
        .opt_level(3)
        .debug(false);
    let mut defines = vec![
        "_GNU_SOURCE",
        "CONFIGURED",
        "SODIUM_STATIC",
        "HAVE_ATOMIC_OPS",
        "HAVE_C11_MEMORY_FENCES",
        "HAVE_GCC_MEMORY_FENCES",
        "HAVE_INLINE_ASM",
        "HAVE_INTTYPES_H",
        "HAVE_STDINT_H",
        "HAVE_TI_MODE",
    ];
    if target.contains("linux") {
        defines.extend([
            "HAVE_CATCHABLE_ABRT",
            "HAVE_CATCHABLE_SEGV",
            "HAVE_CLOCK_GETTIME",
            "HAVE_GETPID",
            "HAVE_MADVISE",
            "HAVE_MLOCK",
            "HAVE_MMAP",
            "HAVE_MPROTECT",
            "HAVE_NANOSLEEP",
            "HAVE_POSIX_MEMALIGN",
            "HAVE_PTHREAD_PRIO_INHERIT",
            "HAVE_PTHREAD",
            "HAVE_RAISE",
            "HAVE_SYSCONF",
            "HAVE_SYS_AUXV_H",
            "HAVE_SYS_MMAN_H",
            "HAVE_SYS_PARAM_H",
            "HAVE_SYS_RANDOM_H",
            "HAVE_WEAK_SYMBOLS",
        ]);
        build.define("ASM_HIDE_SYMBOL", ".hidden");
        build.define("TLS", "_Thread_local");
    }
    if target.starts_with("x86_64") {
        if target.contains("linux") {
            defines.extend(["HAVE_AMD64_ASM", "HAVE_AVX_ASM"]);
        }
        defines.extend([
            "HAVE_CPUID",
            "HAVE_XGETBV_ASM",
            "HAVE_MMINTRIN_H",
            "HAVE_EMMINTRIN_H",
            "HAVE_PMMINTRIN_H",
            "HAVE_TMMINTRIN_H",
            "HAVE_SMMINTRIN_H",
            "HAVE_AVXINTRIN_H",
            "HAVE_AVX2INTRIN_H",
            "HAVE_AVX512FINTRIN_H",
            "HAVE_WMMINTRIN_H",
            "HAVE_RDRAND",
        ]);
    } else if target.starts_with("aarch64") {
        defines.push("HAVE_ARMCRYPTO");
    }
    let big_endian = std::env::var("CARGO_CFG_TARGET_ENDIAN").is_ok_and(|e| e == "big");
    defines.push(if big_endian {
        "NATIVE_BIG_ENDIAN"
    } else {
        "NATIVE_LITTLE_ENDIAN"
    });
    for name in defines {
        build.define(name, "1");
    }

    let mut files = Vec::new();
    sources(&root, &mut files);
    build.files(&files);
    build.compile("sodium");

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    println!("cargo:include={}", root.join("include").display());
    println!("cargo:lib={}", out.display());
}
