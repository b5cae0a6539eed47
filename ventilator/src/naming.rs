//! Output names: the `--name` template that turns an input's file name
//! into its output's, in the output folder that mirrors the input's.

use std::fmt;

use shared::imageio::OutputFormat;

/// The placeholders a template may use, for `--help` and errors.
pub const PLACEHOLDERS: &str = "{stem} the input's name without extension, {srcext} the input's \
     extension as written (empty if none), {ext} the output format's extension (the input's own \
     when the format is unchanged), {format} the output format's name (jpeg, png, ...)";

/// Default template: same name, the output format's extension.
pub const DEFAULT_TEMPLATE: &str = "{stem}.{ext}";

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Stem,
    SrcExt,
    Ext,
    Format,
}

/// An output naming template such as `{stem}.{ext}` or `tn_{stem}.{ext}`,
/// checked when parsed: known placeholders only, `{stem}` present, no
/// folder separator, not a hidden name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    text: String,
    pieces: Vec<Piece>,
}

impl Default for NameTemplate {
    fn default() -> Self {
        Self::parse(DEFAULT_TEMPLATE).unwrap_or_else(|_| Self {
            text: String::new(),
            pieces: vec![Piece::Stem],
        })
    }
}

impl fmt::Display for NameTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl NameTemplate {
    /// Parses a template.
    ///
    /// # Errors
    /// A message for the user saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.contains(['/', '\\', '\0']) {
            return Err(format!(
                "name template `{text}` may not contain a folder separator"
            ));
        }
        if text.starts_with('.') {
            return Err(format!(
                "name template `{text}` would give hidden files (it starts with `.`)"
            ));
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let Some(open) = rest.find(['{', '}']) else {
                pieces.push(Piece::Text(rest.to_string()));
                break;
            };
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            rest = &rest[open..];
            let close = rest
                .find('}')
                .filter(|_| rest.starts_with('{'))
                .ok_or_else(|| format!("name template `{text}`: unmatched brace"))?;
            pieces.push(match &rest[1..close] {
                "stem" => Piece::Stem,
                "srcext" => Piece::SrcExt,
                "ext" => Piece::Ext,
                "format" => Piece::Format,
                other => {
                    return Err(format!(
                        "name template `{text}`: unknown placeholder {{{other}}} (known: {PLACEHOLDERS})"
                    ))
                }
            });
            rest = &rest[close + 1..];
        }
        if !pieces.contains(&Piece::Stem) {
            return Err(format!(
                "name template `{text}` must contain {{stem}}, or every output would have one name"
            ));
        }
        Ok(Self {
            text: text.to_string(),
            pieces,
        })
    }

    /// The output file name of `file_name` (the input's, no folder) written
    /// as `format` (`input_format` is what the input is).
    #[must_use]
    pub fn render(
        &self,
        file_name: &str,
        input_format: OutputFormat,
        format: OutputFormat,
    ) -> String {
        let (stem, srcext) = match file_name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, ext),
            _ => (file_name, ""),
        };
        // The input's own spelling (`.JPG`, `.jpeg`) when the format stays.
        let ext = if !srcext.is_empty() && input_format == format {
            srcext
        } else {
            format.extension()
        };
        let mut name = String::new();
        for piece in &self.pieces {
            name.push_str(match piece {
                Piece::Text(t) => t,
                Piece::Stem => stem,
                Piece::SrcExt => srcext,
                Piece::Ext => ext,
                Piece::Format => format_name(format),
            });
        }
        name
    }
}

/// The format's name as `--format` takes it.
fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Jpeg => "jpeg",
        OutputFormat::Png => "png",
        OutputFormat::Webp => "webp",
        OutputFormat::Tiff => "tiff",
        OutputFormat::Gif => "gif",
        OutputFormat::Bmp => "bmp",
    }
}

/// The output path, relative to the output root, of the image at `rel`
/// (relative to the input root, `/`-separated): same folder, the
/// template's name.
#[must_use]
pub fn output_rel(
    template: &NameTemplate,
    rel: &str,
    input_format: OutputFormat,
    format: OutputFormat,
) -> String {
    let (folder, file) = rel.rsplit_once('/').unwrap_or(("", rel));
    let name = template.render(file, input_format, format);
    if folder.is_empty() {
        name
    } else {
        format!("{folder}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OutputFormat::{Jpeg, Png};

    fn t(text: &str) -> NameTemplate {
        NameTemplate::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn default_keeps_names_and_changes_extension_with_the_format() {
        let d = NameTemplate::default();
        assert_eq!(d.to_string(), "{stem}.{ext}");
        assert_eq!(output_rel(&d, "a/b.JPG", Jpeg, Jpeg), "a/b.JPG");
        assert_eq!(output_rel(&d, "a/b.jpeg", Jpeg, Jpeg), "a/b.jpeg");
        assert_eq!(output_rel(&d, "a/b.jpg", Jpeg, Png), "a/b.png");
        assert_eq!(output_rel(&d, "b.png", Png, Jpeg), "b.jpg");
        assert_eq!(
            output_rel(&d, "scan", Jpeg, Jpeg),
            "scan.jpg",
            "no extension"
        );
        assert_eq!(output_rel(&d, "v1.2/x.y.png", Png, Png), "v1.2/x.y.png");
    }

    #[test]
    fn templates_keep_twins_apart() {
        let both = t("{stem}_{srcext}.{ext}");
        assert_eq!(output_rel(&both, "photo.jpg", Jpeg, Jpeg), "photo_jpg.jpg");
        assert_eq!(output_rel(&both, "photo.png", Png, Jpeg), "photo_png.jpg");
        assert_eq!(
            output_rel(&t("tn_{stem}.{ext}"), "d/p.png", Png, Png),
            "d/tn_p.png"
        );
        assert_eq!(
            output_rel(&t("{stem}-{format}.{ext}"), "p.png", Png, Jpeg),
            "p-jpeg.jpg"
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in [
            "{ext}",
            "x/{stem}.{ext}",
            ".{stem}",
            "{stem}.{extension}",
            "{stem",
            "{stem}}",
            "",
        ] {
            assert!(NameTemplate::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
