//! The ventilator's argument groups turned back into command-line flags:
//! the one way `imgpipe run` and `imgpipe bench` pass them on to the role
//! processes they start. Each `to_args` destructures its struct without
//! `..`, so a new flag does not compile until it is passed on here too, and
//! the round-trip tests check that parsing the flags gives the struct back.

use std::ffi::OsString;

use crate::cli::{Dispatch, JobArgs, ModeArgs, SelectionArgs};

/// `--name value`.
fn flag(args: &mut Vec<OsString>, name: &str, value: impl Into<OsString>) {
    args.push(name.into());
    args.push(value.into());
}

impl JobArgs {
    /// The flags that give these arguments back when parsed.
    #[must_use]
    pub fn to_args(&self) -> Vec<OsString> {
        let Self {
            ops,
            quality,
            format,
            max_pixels,
            no_auto_orient,
            keep_profile,
            strip,
            strip_location,
            lossless,
            name,
        } = self;
        let mut args = Vec::new();
        flag(&mut args, "--name", name.to_string());
        flag(&mut args, "--ops", ops.to_string());
        flag(&mut args, "--quality", quality.to_string());
        if let Some(format) = format {
            flag(&mut args, "--format", format.extension());
        }
        flag(&mut args, "--max-pixels", max_pixels.to_string());
        for (set, switch) in [
            (no_auto_orient, "--no-auto-orient"),
            (keep_profile, "--keep-profile"),
            (strip, "--strip"),
            (strip_location, "--strip-location"),
            (lossless, "--lossless"),
        ] {
            if *set {
                args.push(switch.into());
            }
        }
        args
    }
}

impl SelectionArgs {
    /// The flags that give these arguments back when parsed.
    #[must_use]
    pub fn to_args(&self) -> Vec<OsString> {
        let Self {
            skip_existing,
            dry_run,
        } = self;
        let mut args = Vec::new();
        if *skip_existing {
            args.push("--skip-existing".into());
        }
        if *dry_run {
            args.push("--dry-run".into());
        }
        args
    }
}

impl ModeArgs {
    /// The flags that give these arguments back when parsed.
    #[must_use]
    pub fn to_args(&self) -> Vec<OsString> {
        let Self {
            transport,
            dispatch,
            push_bind,
            lease,
            heartbeat_timeout,
            max_attempts,
            synthetic,
        } = self;
        let mut args = Vec::new();
        flag(&mut args, "--transport", transport.to_string());
        let dispatch = match dispatch {
            Dispatch::Credit => "credit",
            Dispatch::Push => "push",
        };
        flag(&mut args, "--dispatch", dispatch);
        flag(&mut args, "--push-bind", push_bind);
        flag(&mut args, "--lease", lease.to_string());
        flag(
            &mut args,
            "--heartbeat-timeout",
            heartbeat_timeout.to_string(),
        );
        flag(&mut args, "--max-attempts", max_attempts.to_string());
        if let Some(n) = synthetic {
            flag(&mut args, "--synthetic", n.to_string());
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use shared::imageio::OutputFormat;
    use shared::ops::Chain;
    use shared::protocol::Transport;

    use super::*;

    #[derive(Debug, Parser)]
    struct Groups {
        #[command(flatten)]
        job: JobArgs,
        #[command(flatten)]
        selection: SelectionArgs,
        #[command(flatten)]
        mode: ModeArgs,
    }

    fn round_trip(groups: &Groups) -> Groups {
        let mut argv: Vec<OsString> = vec!["ventilator".into()];
        argv.extend(groups.job.to_args());
        argv.extend(groups.selection.to_args());
        argv.extend(groups.mode.to_args());
        Groups::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"))
    }

    /// Every field away from its default, so a flag that is not passed on
    /// shows as a difference.
    #[test]
    fn every_flag_survives_the_round_trip() {
        let groups = Groups {
            job: JobArgs {
                ops: Chain::parse("resize:800,grayscale,blur:1.5").expect("chain"),
                quality: 42,
                format: Some(OutputFormat::Png),
                max_pixels: 1234,
                no_auto_orient: true,
                keep_profile: true,
                // --strip conflicts with --strip-location: one at a time.
                strip: false,
                strip_location: true,
                lossless: true,
                name: crate::naming::NameTemplate::parse("tn_{stem}_{srcext}.{ext}")
                    .expect("template"),
            },
            selection: SelectionArgs {
                skip_existing: true,
                dry_run: true,
            },
            mode: ModeArgs {
                transport: Transport::Inline,
                dispatch: Dispatch::Push,
                push_bind: "tcp://127.0.0.1:9".into(),
                lease: 7,
                heartbeat_timeout: 3,
                max_attempts: 9,
                synthetic: Some(11),
            },
        };
        assert_eq!(format!("{:?}", round_trip(&groups)), format!("{groups:?}"));
    }

    #[test]
    fn defaults_survive_the_round_trip() {
        let groups = Groups::try_parse_from(["ventilator"]).expect("defaults parse");
        assert_eq!(format!("{:?}", round_trip(&groups)), format!("{groups:?}"));
    }
}
