//! Parsing a chain from text (`resize:800,grayscale,blur:1.5`) and printing
//! it back, and the help text of every op.
//!
//! Steps are comma-separated, each `name[:arg[:arg...]]`. Parsing fails with
//! an error naming the bad step, before any work starts.

use std::fmt;

use super::{Axis, Chain, Op, ResizeMode};

/// Description of one op for `imgpipe ops` and `--help`.
#[derive(Debug, Clone, Copy)]
pub struct OpHelp {
    /// Syntax.
    pub syntax: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// An example step.
    pub example: &'static str,
}

/// Every op with its syntax, for help texts.
pub const OPS_HELP: &[OpHelp] = &[
    OpHelp { syntax: "resize:W[xH][:fit|fill|exact][:up]", summary: "Lanczos3 resize into a W×H box (H defaults to W); fit keeps aspect inside the box (default), fill covers it and centre-crops, exact ignores aspect; shrinks only unless `up`", example: "resize:800" },
    OpHelp { syntax: "crop:X:Y:W:H", summary: "cut out W×H pixels at (X,Y), clamped to the image", example: "crop:0:0:640:480" },
    OpHelp { syntax: "rotate:90|180|270", summary: "rotate clockwise", example: "rotate:90" },
    OpHelp { syntax: "flip:h|v", summary: "mirror horizontally or vertically", example: "flip:h" },
    OpHelp { syntax: "grayscale[:luma]", summary: "gray by luminance in linear light (as libvips' b-w); `luma`: BT.601 luma of the encoded values (JPEG's Y channel, Pillow's convert('L')), faster as JPEGs decode straight to it", example: "grayscale" },
    OpHelp { syntax: "blur:SIGMA", summary: "true Gaussian blur, kernel 2*ceil(3*SIGMA)+1", example: "blur:1.5" },
    OpHelp { syntax: "sharpen:SIGMA[:THRESHOLD]", summary: "unsharp mask (amount 1), only where the difference exceeds THRESHOLD (0-255, default 0)", example: "sharpen:1:4" },
    OpHelp { syntax: "brightness:N", summary: "add N (-255..255) to every colour channel", example: "brightness:20" },
    OpHelp { syntax: "contrast:N", summary: "change contrast by N percent (> -100)", example: "contrast:15" },
    OpHelp { syntax: "invert", summary: "negative (alpha kept)", example: "invert" },
    OpHelp { syntax: "sepia", summary: "warm brown tone", example: "sepia" },
    OpHelp { syntax: "edges", summary: "Sobel edge magnitude, as gray", example: "edges" },
];

/// A chain that failed to parse; the message names the step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad step {index} `{step}`: {reason}")]
pub struct ParseError {
    /// 1-based position of the step.
    pub index: usize,
    /// The step as typed.
    pub step: String,
    /// What is wrong with it.
    pub reason: String,
}

fn parse_num<T: std::str::FromStr>(arg: Option<&str>, what: &str) -> Result<T, String> {
    let arg = arg.ok_or_else(|| format!("missing {what}"))?;
    arg.trim()
        .parse()
        .map_err(|_| format!("{what} `{arg}` is not a valid number"))
}

/// Largest resize box side.
pub const MAX_RESIZE_SIDE: u32 = 65_535;
/// Largest blur or sharpen sigma: its kernel is 2⌈3σ⌉+1 = 1201 wide.
pub const MAX_SIGMA: f32 = 200.0;

impl Op {
    /// Checks that the op's arguments are within the ranges its text syntax
    /// accepts: what [`Chain::parse`] applies to what is typed, and decoding
    /// a [`Chain`] (from a task) to what a peer sends, so that no op reaches
    /// a kernel with an argument that would panic or allocate without bound
    /// (`Resize { width: u32::MAX, .. }`, `Blur(1e30)`).
    ///
    /// # Errors
    /// What is out of range, e.g. `SIGMA must be in (0, 200], got 1e30`.
    pub fn check(&self) -> Result<(), String> {
        let sigma = |sigma: f32| {
            if sigma.is_finite() && sigma > 0.0 && sigma <= MAX_SIGMA {
                Ok(())
            } else {
                Err(format!("SIGMA must be in (0, {MAX_SIGMA}], got {sigma}"))
            }
        };
        match *self {
            Op::Resize { width, height, .. } => {
                let side = 1..=MAX_RESIZE_SIDE;
                if side.contains(&width) && side.contains(&height) {
                    Ok(())
                } else {
                    Err(format!(
                        "size {width}x{height} must be within 1..={MAX_RESIZE_SIDE}"
                    ))
                }
            }
            Op::Crop { width, height, .. } if width == 0 || height == 0 => {
                Err("W and H must be at least 1".into())
            }
            Op::Rotate(a) if !matches!(a, 90 | 180 | 270) => {
                Err(format!("angle {a} must be 90, 180 or 270"))
            }
            Op::Blur(s) | Op::Sharpen { sigma: s, .. } => sigma(s),
            Op::Brightness(n) if !(-255..=255).contains(&n) => {
                Err(format!("N must be within -255..=255, got {n}"))
            }
            Op::Contrast(n) if !n.is_finite() || n <= -100.0 || n > 1000.0 => {
                Err(format!("N must be within (-100, 1000], got {n}"))
            }
            _ => Ok(()),
        }
    }
}

impl Chain {
    /// Checks every op ([`Op::check`]).
    ///
    /// # Errors
    /// A [`ParseError`] naming the first op out of range, as its text.
    pub fn check(&self) -> Result<(), ParseError> {
        for (i, op) in self.0.iter().enumerate() {
            op.check().map_err(|reason| ParseError {
                index: i + 1,
                step: op.to_string(),
                reason,
            })?;
        }
        Ok(())
    }
}

/// A chain as it arrives from a peer, before [`Chain::check`]: deserialized
/// exactly like [`Chain`] (a newtype of the same name), so that checking it
/// changes no byte on the wire.
#[derive(serde::Deserialize)]
#[serde(rename = "Chain")]
pub(super) struct Unchecked(Vec<Op>);

impl TryFrom<Unchecked> for Chain {
    type Error = ParseError;
    fn try_from(unchecked: Unchecked) -> Result<Self, ParseError> {
        let chain = Chain(unchecked.0);
        chain.check()?;
        Ok(chain)
    }
}

fn parse_resize(args: &[&str]) -> Result<Op, String> {
    let dims = args.first().ok_or("missing size W or WxH")?;
    let (w, h) = match dims.split_once(['x', 'X']) {
        Some((w, h)) => (parse_num(Some(w), "width")?, parse_num(Some(h), "height")?),
        None => {
            let n = parse_num(Some(dims), "size")?;
            (n, n)
        }
    };
    let mut mode = ResizeMode::Fit;
    let mut upscale = false;
    for flag in &args[1..] {
        match flag.to_ascii_lowercase().as_str() {
            "fit" => mode = ResizeMode::Fit,
            "fill" => mode = ResizeMode::Fill,
            "exact" => mode = ResizeMode::Exact,
            "up" => upscale = true,
            other => {
                return Err(format!(
                    "unknown resize flag `{other}` (fit, fill, exact, up)"
                ))
            }
        }
    }
    Ok(Op::Resize {
        width: w,
        height: h,
        mode,
        upscale,
    })
}

fn expect_args(args: &[&str], n: usize, syntax: &str) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("expected {syntax}"))
    }
}

fn parse_step(step: &str) -> Result<Op, String> {
    let mut parts = step.split(':').map(str::trim);
    let name = parts.next().unwrap_or_default().to_ascii_lowercase();
    let args: Vec<&str> = parts.collect();
    let op = match name.as_str() {
        "resize" => parse_resize(&args)?,
        "crop" => {
            expect_args(&args, 4, "crop:X:Y:W:H")?;
            let n = |i: usize, what| parse_num::<u32>(args.get(i).copied(), what);
            Op::Crop {
                x: n(0, "X")?,
                y: n(1, "Y")?,
                width: n(2, "W")?,
                height: n(3, "H")?,
            }
        }
        "rotate" => {
            expect_args(&args, 1, "rotate:90|180|270")?;
            Op::Rotate(parse_num(args.first().copied(), "angle")?)
        }
        "flip" => {
            expect_args(&args, 1, "flip:h|v")?;
            match args[0].to_ascii_lowercase().as_str() {
                "h" | "horizontal" => Op::Flip(Axis::Horizontal),
                "v" | "vertical" => Op::Flip(Axis::Vertical),
                other => return Err(format!("axis `{other}` must be h or v")),
            }
        }
        "grayscale" | "greyscale" | "gray" | "grey" => match args.as_slice() {
            [] => Op::Grayscale,
            [mode] if mode.eq_ignore_ascii_case("luma") => Op::Luma,
            [mode] if mode.eq_ignore_ascii_case("luminance") => Op::Grayscale,
            _ => return Err("expected grayscale or grayscale:luma".into()),
        },
        "blur" => {
            expect_args(&args, 1, "blur:SIGMA")?;
            Op::Blur(parse_num(args.first().copied(), "SIGMA")?)
        }
        "sharpen" => {
            if args.is_empty() || args.len() > 2 {
                return Err("expected sharpen:SIGMA[:THRESHOLD]".into());
            }
            let sigma = parse_num(args.first().copied(), "SIGMA")?;
            let threshold = match args.get(1) {
                Some(t) => parse_num::<u8>(Some(t), "THRESHOLD (0-255)")?,
                None => 0,
            };
            Op::Sharpen { sigma, threshold }
        }
        "brightness" => {
            expect_args(&args, 1, "brightness:N")?;
            Op::Brightness(parse_num(args.first().copied(), "N")?)
        }
        "contrast" => {
            expect_args(&args, 1, "contrast:N")?;
            Op::Contrast(parse_num(args.first().copied(), "N")?)
        }
        "invert" => {
            expect_args(&args, 0, "no arguments")?;
            Op::Invert
        }
        "sepia" => {
            expect_args(&args, 0, "no arguments")?;
            Op::Sepia
        }
        "edges" | "sobel" => {
            expect_args(&args, 0, "no arguments")?;
            Op::Edges
        }
        "" => return Err("empty step".into()),
        other => {
            let names: Vec<&str> = OPS_HELP
                .iter()
                .map(|h| h.syntax.split(':').next().unwrap_or(h.syntax))
                .collect();
            return Err(format!(
                "unknown op `{other}` (known: {})",
                names.join(", ")
            ));
        }
    };
    op.check()?;
    Ok(op)
}

impl Chain {
    /// Parses `step,step,...`.
    ///
    /// # Errors
    /// A [`ParseError`] naming the first bad step.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        text.split(',')
            .enumerate()
            .map(|(i, step)| {
                parse_step(step).map_err(|reason| ParseError {
                    index: i + 1,
                    step: step.trim().to_string(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Chain)
    }
}

impl std::str::FromStr for Chain {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Resize {
                width,
                height,
                mode,
                upscale,
            } => {
                write!(f, "resize:{width}x{height}")?;
                match mode {
                    ResizeMode::Fit => {}
                    ResizeMode::Fill => f.write_str(":fill")?,
                    ResizeMode::Exact => f.write_str(":exact")?,
                }
                if *upscale {
                    f.write_str(":up")?;
                }
                Ok(())
            }
            Op::Crop {
                x,
                y,
                width,
                height,
            } => write!(f, "crop:{x}:{y}:{width}:{height}"),
            Op::Rotate(a) => write!(f, "rotate:{a}"),
            Op::Flip(Axis::Horizontal) => f.write_str("flip:h"),
            Op::Flip(Axis::Vertical) => f.write_str("flip:v"),
            Op::Grayscale => f.write_str("grayscale"),
            Op::Luma => f.write_str("grayscale:luma"),
            Op::Blur(s) => write!(f, "blur:{s}"),
            Op::Sharpen { sigma, threshold } => write!(f, "sharpen:{sigma}:{threshold}"),
            Op::Brightness(n) => write!(f, "brightness:{n}"),
            Op::Contrast(n) => write!(f, "contrast:{n}"),
            Op::Invert => f.write_str("invert"),
            Op::Sepia => f.write_str("sepia"),
            Op::Edges => f.write_str("edges"),
        }
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{op}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::chain;
    use super::*;

    #[test]
    fn parses_chains_and_round_trips_their_text() {
        let text = "resize:800x600:fill:up,crop:1:2:3:4,rotate:90,flip:h,grayscale,blur:1.5,\
                    sharpen:1:4,brightness:-20,contrast:15,invert,sepia,edges,grayscale:luma";
        let parsed = chain(text);
        assert_eq!(parsed.0.len(), 13);
        assert_eq!(chain(&parsed.to_string()), parsed);
        assert_eq!(
            chain("resize:800").0[0],
            Op::Resize {
                width: 800,
                height: 800,
                mode: ResizeMode::Fit,
                upscale: false
            }
        );
        assert_eq!(
            chain(" Grayscale , blur: 3 ").0,
            vec![Op::Grayscale, Op::Blur(3.0)]
        );
        assert_eq!(chain("").0, vec![]);
    }

    #[test]
    fn parse_errors_name_the_step() {
        for (text, index, needle) in [
            ("resize:800,blur:x", 2, "not a valid number"),
            ("resize", 1, "missing size"),
            ("resize:0", 1, "within 1..=65535"),
            ("resize:800:sideways", 1, "unknown resize flag"),
            ("grayscale,sparkle", 2, "unknown op `sparkle`"),
            ("rotate:45", 1, "90, 180 or 270"),
            ("flip:d", 1, "h or v"),
            ("blur:0", 1, "SIGMA must be"),
            ("blur:-1", 1, "SIGMA must be"),
            ("crop:1:2:3", 1, "crop:X:Y:W:H"),
            ("grayscale:1", 1, "grayscale:luma"),
            ("brightness:300", 1, "-255..=255"),
            ("grayscale,,blur:1", 2, "empty step"),
        ] {
            let err = Chain::parse(text).expect_err(text);
            assert_eq!(err.index, index, "{text}: {err}");
            assert!(err.to_string().contains(needle), "{text}: {err}");
            assert!(
                err.to_string().contains(&format!("bad step {index}")),
                "{err}"
            );
        }
    }

    /// Ops a peer could put in a task, each out of range, with the reason
    /// decoding gives: before decoding checked them, the first two panicked
    /// in resize and blur, and `Rotate(45)` silently rotated by 270.
    fn out_of_range_ops() -> Vec<(Op, &'static str)> {
        let resize = |width, height| Op::Resize {
            width,
            height,
            mode: ResizeMode::Exact,
            upscale: true,
        };
        vec![
            (
                resize(u32::MAX, u32::MAX),
                "size 4294967295x4294967295 must be within 1..=65535",
            ),
            (Op::Blur(1e30), "SIGMA must be in (0, 200], got 1000000"),
            (resize(0, 10), "size 0x10 must be within 1..=65535"),
            (
                resize(800, 65_536),
                "size 800x65536 must be within 1..=65535",
            ),
            (
                Op::Crop {
                    x: 0,
                    y: 0,
                    width: 0,
                    height: 5,
                },
                "W and H must be at least 1",
            ),
            (Op::Rotate(45), "angle 45 must be 90, 180 or 270"),
            (Op::Blur(0.0), "SIGMA must be in (0, 200], got 0"),
            (Op::Blur(f32::NAN), "SIGMA must be in (0, 200], got NaN"),
            (Op::Blur(200.5), "SIGMA must be in (0, 200], got 200.5"),
            (
                Op::Sharpen {
                    sigma: f32::INFINITY,
                    threshold: 3,
                },
                "SIGMA must be in (0, 200], got inf",
            ),
            (
                Op::Brightness(i32::MIN),
                "N must be within -255..=255, got -2147483648",
            ),
            (
                Op::Contrast(-100.0),
                "N must be within (-100, 1000], got -100",
            ),
            (
                Op::Contrast(f32::NEG_INFINITY),
                "N must be within (-100, 1000], got -inf",
            ),
        ]
    }

    fn task(chain: Chain) -> crate::protocol::Task {
        crate::protocol::Task {
            ticket: None,
            batch: 1,
            id: 2,
            rel_path: "a.jpg".into(),
            output_path: "a.jpg".into(),
            source: crate::protocol::Source::Path,
            input_root: "/in".into(),
            output_root: "/out".into(),
            chain,
            output: crate::imageio::OutputOptions::default(),
            attempt: 1,
        }
    }

    #[test]
    fn decoding_a_task_refuses_each_out_of_range_op() {
        use crate::protocol::{decode, encode, Message, ProtocolError};
        for (op, reason) in out_of_range_ops() {
            let text = op.to_string();
            let forged = Chain(vec![Op::Grayscale, op]);
            let frames = encode(&Message::Task(task(forged.clone())).into());
            let expected = format!("bad step 2 `{text}`: {reason}");
            match decode(frames) {
                Err(ProtocolError::Body(error)) => {
                    assert!(error.starts_with(&expected), "{error} vs {expected}");
                    assert_eq!(
                        format!("{}", ProtocolError::Body(error.clone())),
                        format!("malformed message body: {error}")
                    );
                }
                other => panic!("{text}: decoded as {other:?}"),
            }
            // JSON too (it writes NaN and infinities as null, a type error).
            let json = serde_json::to_string(&forged).expect("json");
            if !json.contains("null") {
                let error = serde_json::from_str::<Chain>(&json).expect_err(&text);
                assert!(error.to_string().starts_with(&expected), "{error}");
            }
            // The same check, applied to the op's text by `parse`.
            let error = Chain::parse(&format!("grayscale,{text}")).expect_err(&text);
            assert!(error.to_string().starts_with(&expected), "{error}");
        }
    }

    #[test]
    fn valid_chains_round_trip_through_decoding_unchanged() {
        use crate::protocol::{decode, encode, Message};
        let every_op = chain(
            "resize:65535x1:fill:up,crop:0:0:1:1,rotate:270,flip:v,grayscale,grayscale:luma,\
             blur:200,sharpen:0.1:255,brightness:-255,contrast:1000,invert,sepia,edges",
        );
        for chain in [every_op, chain(""), chain("resize:800,blur:1.5")] {
            let packet = Message::Task(task(chain.clone())).into();
            let frames = encode(&packet);
            assert_eq!(decode(frames.clone()).as_ref(), Ok(&packet));
            // Checking on decode changed no byte: a chain is encoded as
            // its list of ops, as before.
            let ops = bincode::serde::encode_to_vec(&chain.0, bincode::config::standard())
                .expect("bincode");
            let whole = bincode::serde::encode_to_vec(&chain, bincode::config::standard())
                .expect("bincode");
            assert_eq!(ops, whole);
            let json = serde_json::to_string(&chain).expect("json");
            assert_eq!(serde_json::from_str::<Chain>(&json).ok(), Some(chain));
        }
    }
}
