//! glibc's malloc, tuned for images: the JPEG encoder allocates a buffer of
//! two bytes per pixel (about 5 MB for a 1920×1280 photo) for every image,
//! and glibc's default hands such a block back to the kernel when it is
//! freed, so the next image faults every page of it in again. With
//! `glibc.malloc.top_pad` at 64 MiB the freed memory stays with the process:
//! encoding a full-size gray photo went from 8.2 to 4.4 ms here (`stages`
//! example, one core), at the same peak RSS (41 MB per worker on
//! `grayscale,blur:3`, against 89 MB with mimalloc, which gained as much).
//!
//! glibc reads its tunables only when a process starts, so the binaries call
//! [`reexec_tuned`] first thing: it replaces the process (same PID) with
//! itself under `GLIBC_TUNABLES`, once.

/// The tunable that keeps freed image buffers in the process.
pub const TUNABLES: &str = "glibc.malloc.top_pad=67108864";

/// Runs this program again in place (`execv`, same PID, same arguments)
/// with [`TUNABLES`], unless `GLIBC_TUNABLES` is already set (by the user,
/// or by this call before the exec). Returns only when it did not exec:
/// not glibc, already set, or the exec failed (then the program simply runs
/// with glibc's defaults).
pub fn reexec_tuned() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        const VAR: &str = "GLIBC_TUNABLES";
        if std::env::var_os(VAR).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        // exec returns only on failure; the program then goes on untuned.
        let _failed = std::process::Command::new(&exe)
            .arg0(arg0)
            .args(args)
            .env(VAR, TUNABLES)
            .exec();
    }
}
