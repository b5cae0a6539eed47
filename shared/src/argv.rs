//! Helpers for turning parsed argument structs back into flags: the one
//! way `imgpipe run` and `imgpipe bench` pass settings on to the processes
//! they start. Each `to_args` destructures its struct without `..`, so a
//! new flag does not compile until it is passed on too, and each has a
//! round-trip test (parsing the flags gives the struct back).

use std::ffi::OsString;

use crate::auth::SecretArgs;
use crate::exposure::ExposureArgs;
use crate::process::IdleArgs;

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

/// The name a `ValueEnum` value has on the command line (`credit`,
/// `lines`, ...).
#[must_use]
pub fn value_name<V: clap::ValueEnum>(value: &V) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Appends `--name value` for a `ValueEnum` value, spelt as parsed.
pub fn flag_enum<V: clap::ValueEnum>(args: &mut Vec<OsString>, name: &str, value: &V) {
    flag(args, name, value_name(value));
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
        let Self {
            secret_file,
            keys,
            key_name,
        } = self;
        let mut args = Vec::new();
        flag_if(&mut args, "--secret-file", secret_file.as_ref());
        flag_if(&mut args, "--keys", keys.as_ref());
        flag_if(&mut args, "--key-name", key_name.as_ref());
        args
    }
}

impl ExposureArgs {
    /// The flags that give these arguments back when parsed.
    #[must_use]
    pub fn to_args(&self) -> Vec<OsString> {
        let Self { insecure } = self;
        let mut args = Vec::new();
        switch(&mut args, "--insecure", *insecure);
        args
    }
}

impl IdleArgs {
    /// The flags that give these arguments back when parsed.
    #[must_use]
    pub fn to_args(&self) -> Vec<OsString> {
        let Self { idle_timeout } = self;
        let mut args = Vec::new();
        flag(&mut args, "--idle-timeout", idle_timeout.to_string());
        args
    }
}

/// A command line made of one argument group, for [`assert_round_trip`].
#[derive(Debug, clap::Parser)]
struct Alone<A: clap::Args> {
    #[command(flatten)]
    args: A,
}

/// Checks that parsing `argv` into the argument group `A`, turning the
/// result back into flags with `to_args` and parsing those gives the same
/// arguments (by their Debug form): the round-trip test each `to_args`
/// has.
///
/// # Panics
/// When either parse fails or the two differ (it is a test helper).
pub fn assert_round_trip<A: clap::Args + std::fmt::Debug>(
    argv: &[&str],
    to_args: impl Fn(&A) -> Vec<OsString>,
) {
    use clap::Parser as _;
    let parsed = Alone::<A>::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let mut again: Vec<OsString> = vec![argv.first().copied().unwrap_or("prog").into()];
    again.extend(to_args(&parsed.args));
    let reparsed = Alone::<A>::try_parse_from(&again).unwrap_or_else(|e| panic!("{again:?}: {e}"));
    assert_eq!(format!("{reparsed:?}"), format!("{parsed:?}"), "{again:?}");
}
