//! Finding the images of a batch: validating the input and output folders,
//! walking the input tree, and telling each file seen apart: an image to
//! process (with its format, by extension or, without one, by its first
//! bytes), a file skipped with its reason, or a problem of the walk.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use crate::imageio::OutputFormat;
use crate::protocol::{Unprocessed, UnprocessedKind};

/// An image to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Path relative to the root, `/`-separated.
    pub rel: String,
    /// Its format, by extension or sniffed from its first bytes.
    pub format: OutputFormat,
}

/// What a walk of an input root found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// Images, in walk order: folder by folder, each folder's files
    /// (sorted by name) before its sub-folders, so the images of one
    /// folder are contiguous.
    pub images: Vec<Image>,
    /// Files seen but not taken, and walk problems, with the reason.
    pub unprocessed: Vec<Unprocessed>,
}

/// Canonical form of `path`, which need not exist yet: its nearest existing
/// ancestor is canonicalised and the rest appended.
fn canonical_lenient(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(c) => {
                return Ok(rest
                    .iter()
                    .rev()
                    .fold(c, |acc, p: &&std::ffi::OsStr| acc.join(p)))
            }
            Err(e) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name);
                    existing = parent;
                }
                _ => return Err(e),
            },
        }
    }
}

/// Checks the batch's folders: the input must be a readable folder and the
/// output must not lie inside it (outputs would be read back as inputs).
/// Returns both canonicalised.
///
/// # Errors
/// A message suitable for the user, naming the folder.
pub fn check_roots(input: &Path, output: &Path) -> Result<(PathBuf, PathBuf), String> {
    let input_c = input
        .canonicalize()
        .map_err(|e| format!("input folder {}: {e}", input.display()))?;
    if !input_c.is_dir() {
        return Err(format!("input {} is not a folder", input.display()));
    }
    std::fs::read_dir(&input_c).map_err(|e| format!("input folder {}: {e}", input.display()))?;
    let output_c = canonical_lenient(output)
        .map_err(|e| format!("output folder {}: {e}", output.display()))?;
    if output_c.starts_with(&input_c) {
        return Err(format!(
            "output folder {} is inside the input folder {}: choose one outside it",
            output.display(),
            input.display()
        ));
    }
    Ok((input_c, output_c))
}

/// RAW camera formats, by extension (lower case).
const RAW_EXTENSIONS: &[&str] = &[
    "3fr", "ari", "arw", "bay", "cr2", "cr3", "crw", "dcr", "dng", "erf", "fff", "iiq", "k25",
    "kdc", "mef", "mos", "mrw", "nef", "nrw", "orf", "pef", "raf", "raw", "rw2", "rwl", "sr2",
    "srf", "srw", "x3f",
];

/// What a file is, as far as the batch is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An image imgpipe decodes.
    Image(OutputFormat),
    /// Anything else, with the reason it is skipped.
    Skip(String),
}

/// Tells a file apart by its extension (any case).
#[must_use]
pub fn by_extension(ext: &str) -> Kind {
    let lower = ext.to_ascii_lowercase();
    if let Some(format) = OutputFormat::from_path(Path::new("x").with_extension(&lower).as_path()) {
        return Kind::Image(format);
    }
    let upper = ext.to_ascii_uppercase();
    Kind::Skip(match lower.as_str() {
        "heic" | "heif" | "hif" => "unsupported format (HEIC)".into(),
        "avif" => "unsupported format (AVIF)".into(),
        "jxl" => "unsupported format (JPEG XL)".into(),
        "psd" => "unsupported format (Photoshop PSD)".into(),
        "svg" => "unsupported format (SVG)".into(),
        raw if RAW_EXTENSIONS.contains(&raw) => format!("unsupported format (RAW .{upper})"),
        _ => format!("not a supported image (.{ext})"),
    })
}

/// Tells a file without an extension apart by its first bytes (at least 12
/// are needed for the ISO media formats).
#[must_use]
pub fn sniff(head: &[u8]) -> Kind {
    let format = match head {
        [0xff, 0xd8, 0xff, ..] => Some(OutputFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some(OutputFormat::Png),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(OutputFormat::Gif),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => {
            Some(OutputFormat::Webp)
        }
        [b'I', b'I', 0x2a, 0x00, ..] | [b'M', b'M', 0x00, 0x2a, ..] => Some(OutputFormat::Tiff),
        [b'B', b'M', ..] => Some(OutputFormat::Bmp),
        _ => None,
    };
    if let Some(format) = format {
        return Kind::Image(format);
    }
    Kind::Skip(match head.get(4..12) {
        Some([b'f', b't', b'y', b'p', brand @ ..]) => match brand {
            b"avif" | b"avis" => "unsupported format (AVIF), no extension".into(),
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                "unsupported format (HEIC), no extension".into()
            }
            _ => "not a supported image (no extension; ISO media such as video)".into(),
        },
        _ => "not a supported image (no extension, content not recognised)".into(),
    })
}

/// Reads the first bytes of a file to [`sniff`] it.
fn sniff_file(path: &Path) -> std::io::Result<Kind> {
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)?.take(16).read_to_end(&mut head)?;
    Ok(sniff(&head))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn note(found: &mut Discovery, path: String, kind: UnprocessedKind, reason: impl Into<String>) {
    found.unprocessed.push(Unprocessed {
        path,
        kind,
        reason: reason.into(),
    });
}

/// Walks `root` (canonical) recursively, folder by folder (each folder's
/// files, by name, before its sub-folders). Every file seen is an image
/// (by extension, any case; without one, by its first bytes) or listed as
/// skipped with its reason (HEIC, RAW, text, hidden files and folders);
/// symbolic links are followed only while they stay inside the root, and
/// links leading out, link loops and unreadable entries are walk errors.
#[must_use]
pub fn discover(root: &Path) -> Discovery {
    let mut found = Discovery::default();
    let walker = WalkDir::new(root).follow_links(true).sort_by(|a, b| {
        let dir = |e: &walkdir::DirEntry| e.file_type().is_dir();
        dir(a)
            .cmp(&dir(b))
            .then_with(|| a.file_name().cmp(b.file_name()))
    });
    let mut it = walker.into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().map(|p| relative(root, p)).unwrap_or_default();
                let reason = match (e.loop_ancestor(), e.io_error()) {
                    (Some(ancestor), _) => format!(
                        "symbolic link loop (back to {}); not followed",
                        match relative(root, ancestor) {
                            r if r.is_empty() => ".".to_string(),
                            r => r,
                        }
                    ),
                    (None, Some(io)) => io.to_string(),
                    (None, None) => e.to_string(),
                };
                note(&mut found, path, UnprocessedKind::Walk, reason);
                continue;
            }
        };
        let path = entry.path();
        let rel = relative(root, path);
        let is_dir = entry.file_type().is_dir();
        if entry.path_is_symlink() {
            let inside = path
                .canonicalize()
                .map(|c| c.starts_with(root))
                .unwrap_or(false);
            if !inside {
                if is_dir {
                    it.skip_current_dir();
                }
                let reason = "symbolic link leads outside the input folder; not followed";
                note(&mut found, rel, UnprocessedKind::Walk, reason);
                continue;
            }
        }
        let hidden = entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.');
        if is_dir {
            if hidden {
                it.skip_current_dir();
                note(
                    &mut found,
                    rel,
                    UnprocessedKind::Skipped,
                    "hidden folder; not walked",
                );
            }
            continue;
        }
        if !entry.file_type().is_file() {
            let reason = "not a regular file (a device, socket or pipe)";
            note(&mut found, rel, UnprocessedKind::Skipped, reason);
            continue;
        }
        if hidden {
            note(&mut found, rel, UnprocessedKind::Skipped, "hidden file");
            continue;
        }
        let kind = match path.extension() {
            Some(ext) => by_extension(&ext.to_string_lossy()),
            None => match sniff_file(path) {
                Ok(kind) => kind,
                Err(e) => {
                    let reason = format!("reading it to tell its format: {e}");
                    note(&mut found, rel, UnprocessedKind::Walk, reason);
                    continue;
                }
            },
        };
        match kind {
            Kind::Skip(reason) => note(&mut found, rel, UnprocessedKind::Skipped, reason),
            Kind::Image(_) if path.to_str().is_none() => {
                let reason = "file name is not valid UTF-8";
                note(&mut found, rel, UnprocessedKind::Refused, reason);
            }
            Kind::Image(format) => found.images.push(Image { rel, format }),
        }
    }
    found
}

/// Joins a task's relative path onto a root, refusing anything that could
/// leave it: absolute paths, `..`, empty paths.
///
/// # Errors
/// A message naming the offending path.
pub fn safe_join(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let rel_path = Path::new(rel);
    if rel.is_empty() {
        return Err("empty path".into());
    }
    let mut joined = root.to_path_buf();
    for component in rel_path.components() {
        match component {
            Component::Normal(part) => joined.push(part),
            Component::CurDir => {}
            _ => return Err(format!("path `{rel}` escapes its folder")),
        }
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_join_refuses_escapes() {
        let root = Path::new("/data/in");
        assert_eq!(
            safe_join(root, "a/b.jpg"),
            Ok(PathBuf::from("/data/in/a/b.jpg"))
        );
        assert!(safe_join(root, "../etc/passwd").is_err());
        assert!(safe_join(root, "a/../../x.jpg").is_err());
        assert!(safe_join(root, "/etc/passwd").is_err());
        assert!(safe_join(root, "").is_err());
    }

    fn rels(found: &Discovery) -> Vec<&str> {
        found.images.iter().map(|i| i.rel.as_str()).collect()
    }

    fn reason_of<'a>(found: &'a Discovery, path: &str) -> (UnprocessedKind, &'a str) {
        let u = found
            .unprocessed
            .iter()
            .find(|u| u.path == path)
            .unwrap_or_else(|| panic!("{path} not listed: {found:?}"));
        (u.kind, u.reason.as_str())
    }

    #[test]
    fn discovers_nested_images_by_extension_case_insensitively() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().canonicalize()?;
        std::fs::create_dir_all(root.join("sub/deeper"))?;
        for f in [
            "a.JPG",
            "b.png",
            "sub/c.jpeg",
            "sub/deeper/d.WebP",
            "notes.txt",
            "sub/e.raw",
            "z.jpg",
        ] {
            std::fs::write(root.join(f), b"x")?;
        }
        std::os::unix::fs::symlink("/etc", root.join("outside"))?;
        std::os::unix::fs::symlink(root.join("b.png"), root.join("link.png"))?;
        let found = discover(&root);
        assert_eq!(
            rels(&found),
            [
                "a.JPG",
                "b.png",
                "link.png",
                "z.jpg",
                "sub/c.jpeg",
                "sub/deeper/d.WebP"
            ],
            "a folder's files come before its sub-folders"
        );
        assert_eq!(found.images[0].format, OutputFormat::Jpeg);
        assert_eq!(reason_of(&found, "outside").0, UnprocessedKind::Walk);
        assert_eq!(
            reason_of(&found, "notes.txt"),
            (UnprocessedKind::Skipped, "not a supported image (.txt)")
        );
        assert_eq!(
            reason_of(&found, "sub/e.raw"),
            (UnprocessedKind::Skipped, "unsupported format (RAW .RAW)")
        );
        assert_eq!(found.unprocessed.len(), 3);
        Ok(())
    }

    #[test]
    fn nothing_seen_goes_unlisted() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().canonicalize()?;
        std::fs::create_dir_all(root.join(".thumbs"))?;
        std::fs::create_dir_all(root.join("loop"))?;
        std::fs::write(root.join(".thumbs/t.jpg"), b"x")?;
        std::fs::write(root.join(".DS_Store"), b"x")?;
        std::fs::write(root.join("IMG_1.HEIC"), b"x")?;
        std::fs::write(root.join("IMG_2.CR2"), b"x")?;
        std::fs::write(root.join("phone"), b"\0\0\0\x18ftypheic\0\0\0\0")?;
        std::fs::write(root.join("scan"), b"\xff\xd8\xff\xe0\0\x10JFIF")?;
        std::fs::write(root.join("README"), b"hello")?;
        std::os::unix::fs::symlink(&root, root.join("loop/back"))?;
        let found = discover(&root);
        assert_eq!(
            rels(&found),
            ["scan"],
            "an extension-less JPEG is processed"
        );
        assert_eq!(found.images[0].format, OutputFormat::Jpeg);
        let skipped = UnprocessedKind::Skipped;
        assert_eq!(
            reason_of(&found, "IMG_1.HEIC"),
            (skipped, "unsupported format (HEIC)")
        );
        assert_eq!(
            reason_of(&found, "IMG_2.CR2"),
            (skipped, "unsupported format (RAW .CR2)")
        );
        assert_eq!(
            reason_of(&found, "phone"),
            (skipped, "unsupported format (HEIC), no extension")
        );
        assert_eq!(reason_of(&found, ".DS_Store"), (skipped, "hidden file"));
        assert_eq!(
            reason_of(&found, ".thumbs"),
            (skipped, "hidden folder; not walked")
        );
        assert_eq!(reason_of(&found, "README").0, skipped);
        let (kind, reason) = reason_of(&found, "loop/back");
        assert_eq!(kind, UnprocessedKind::Walk);
        assert!(reason.contains("loop"), "{reason}");
        assert_eq!(found.unprocessed.len(), 7, "{found:?}");
        Ok(())
    }

    #[test]
    fn sniffing_tells_formats_apart() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n...."),
            Kind::Image(OutputFormat::Png)
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Kind::Image(OutputFormat::Webp)
        );
        assert_eq!(sniff(b"GIF89a"), Kind::Image(OutputFormat::Gif));
        assert_eq!(sniff(b"MM\0*"), Kind::Image(OutputFormat::Tiff));
        assert!(matches!(sniff(b"\0\0\0\x1cftypavif"), Kind::Skip(r) if r.contains("AVIF")));
        assert!(matches!(sniff(b"\0\0\0\x1cftypisom"), Kind::Skip(r) if r.contains("video")));
        assert!(matches!(sniff(b""), Kind::Skip(_)));
        assert_eq!(by_extension("JPE"), Kind::Image(OutputFormat::Jpeg));
        assert_eq!(by_extension("Tiff"), Kind::Image(OutputFormat::Tiff));
        assert_eq!(
            by_extension("avif"),
            Kind::Skip("unsupported format (AVIF)".into())
        );
        assert_eq!(
            by_extension("nef"),
            Kind::Skip("unsupported format (RAW .NEF)".into())
        );
    }

    #[test]
    fn output_inside_input_is_refused() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let input = dir.path().join("in");
        std::fs::create_dir(&input)?;
        assert!(check_roots(&input, &input.join("out")).is_err());
        assert!(check_roots(&input, &input).is_err());
        assert!(check_roots(&input, &dir.path().join("out/new")).is_ok());
        assert!(check_roots(&dir.path().join("missing"), &dir.path().join("o")).is_err());
        Ok(())
    }
}
