//! Finding the images of a batch: validating the input and output folders
//! and walking the input tree.

use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use crate::imageio::INPUT_EXTENSIONS;
use crate::protocol::Rejected;

/// The images found under an input root.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// Image paths relative to the root, `/`-separated, sorted.
    pub images: Vec<String>,
    /// Entries that could not be taken, with the reason.
    pub rejected: Vec<Rejected>,
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

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| INPUT_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Walks `root` (canonical) recursively for files with an image extension
/// (case-insensitive). Symbolic links are followed only while they stay
/// inside the root; anything unreadable is rejected with its reason.
#[must_use]
pub fn discover(root: &Path) -> Discovery {
    let mut found = Discovery::default();
    let walker = WalkDir::new(root).follow_links(true).sort_by_file_name();
    let mut it = walker.into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().map(|p| relative(root, p)).unwrap_or_default();
                let reason = e
                    .io_error()
                    .map_or_else(|| e.to_string(), ToString::to_string);
                found.rejected.push(Rejected {
                    path,
                    error: reason,
                });
                continue;
            }
        };
        let path = entry.path();
        let rel = relative(root, path);
        if entry.path_is_symlink() {
            let inside = path
                .canonicalize()
                .map(|c| c.starts_with(root))
                .unwrap_or(false);
            if !inside {
                if entry.file_type().is_dir() {
                    it.skip_current_dir();
                }
                if entry.file_type().is_dir() || has_image_extension(path) {
                    found.rejected.push(Rejected {
                        path: rel,
                        error: "symbolic link leads outside the input folder; not followed".into(),
                    });
                }
                continue;
            }
        }
        if !entry.file_type().is_file() || !has_image_extension(path) {
            continue;
        }
        if path.to_str().is_none() {
            found.rejected.push(Rejected {
                path: rel,
                error: "file name is not valid UTF-8".into(),
            });
            continue;
        }
        found.images.push(rel);
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
        ] {
            std::fs::write(root.join(f), b"x")?;
        }
        std::os::unix::fs::symlink("/etc", root.join("outside"))?;
        std::os::unix::fs::symlink(root.join("b.png"), root.join("link.png"))?;
        let found = discover(&root);
        assert_eq!(
            found.images,
            [
                "a.JPG",
                "b.png",
                "link.png",
                "sub/c.jpeg",
                "sub/deeper/d.WebP"
            ]
        );
        assert_eq!(found.rejected.len(), 1);
        assert_eq!(found.rejected[0].path, "outside");
        Ok(())
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
