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
