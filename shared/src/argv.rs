//! Helpers for turning parsed argument structs back into flags: the one
//! way `imgpipe run` and `imgpipe bench` pass settings on to the processes
//! they start. Each `to_args` destructures its struct without `..`, so a
//! new flag does not compile until it is passed on too, and each has a
//! round-trip test (parsing the flags gives the struct back).

use std::ffi::OsString;

use crate::auth::SecretArgs;

/// Appends `--name value`.
pub fn flag(args: &mut Vec<OsString>, name: &str, value: impl Into<OsString>) {
    args.push(name.into());
    args.push(value.into());
}

/// Appends `--name value` when there is a value.
pub fn flag_if<T: Into<OsString>>(args: &mut Vec<OsString>, name: &str, value: Option<T>) {
    if let Some(value) = value {
        flag(args, name, value);
    }
}

/// Appends `--name` when `set`.
pub fn switch(args: &mut Vec<OsString>, name: &str, set: bool) {
    if set {
        args.push(name.into());
    }
}

impl SecretArgs {
    /// The flags that give these arguments back when parsed.
    #[must_use]
    pub fn to_args(&self) -> Vec<OsString> {
        let Self { secret_file } = self;
        let mut args = Vec::new();
        flag_if(&mut args, "--secret-file", secret_file.as_ref());
        args
    }
}

/// Checks that parsing `argv`, turning the result back into flags with
/// `to_args` and parsing those gives the same arguments (by their Debug
/// form): the round-trip test each `to_args` has.
///
/// # Panics
/// When either parse fails or the two differ (it is a test helper).
pub fn assert_round_trip<P: clap::Parser + std::fmt::Debug>(
    argv: &[&str],
    to_args: impl Fn(&P) -> Vec<OsString>,
) {
    let parsed = P::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let mut again: Vec<OsString> = vec![argv.first().copied().unwrap_or("prog").into()];
    again.extend(to_args(&parsed));
    let reparsed = P::try_parse_from(&again).unwrap_or_else(|e| panic!("{again:?}: {e}"));
    assert_eq!(format!("{reparsed:?}"), format!("{parsed:?}"), "{again:?}");
}
