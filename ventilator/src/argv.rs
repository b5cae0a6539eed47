//! The ventilator's arguments turned back into command-line flags (see
//! [`shared::argv`]): how `imgpipe run` starts its ventilator.

use std::ffi::OsString;

use shared::argv::{flag, flag_enum, flag_if, switch};

use crate::cli::{Cli, JobArgs, ModeArgs, SelectionArgs};

impl Cli {
    /// The flags that give these arguments back when parsed.
    #[must_use]
    pub fn to_args(&self) -> Vec<OsString> {
        let Self {
            input,
            output,
            bind,
            status_bind,
            job,
            selection,
            mode,
            secret,
            exposure,
        } = self;
        let mut args = Vec::new();
        flag(&mut args, "--input", input);
        flag(&mut args, "--output", output);
        flag(&mut args, "--bind", bind);
        flag(&mut args, "--status-bind", status_bind);
        args.extend(job.to_args());
        args.extend(selection.to_args());
        args.extend(mode.to_args());
        args.extend(secret.to_args());
        args.extend(exposure.to_args());
        args
    }
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
        switch(&mut args, "--no-auto-orient", *no_auto_orient);
        switch(&mut args, "--keep-profile", *keep_profile);
        switch(&mut args, "--strip", *strip);
        switch(&mut args, "--strip-location", *strip_location);
        switch(&mut args, "--lossless", *lossless);
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
        switch(&mut args, "--skip-existing", *skip_existing);
        switch(&mut args, "--dry-run", *dry_run);
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
        flag_enum(&mut args, "--dispatch", dispatch);
        flag(&mut args, "--push-bind", push_bind);
        flag(&mut args, "--lease", lease.to_string());
        flag(
            &mut args,
            "--heartbeat-timeout",
            heartbeat_timeout.to_string(),
        );
        flag(&mut args, "--max-attempts", max_attempts.to_string());
        flag_if(&mut args, "--synthetic", synthetic.map(|n| n.to_string()));
        args
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use shared::imageio::OutputFormat;
    use shared::ops::Chain;
    use shared::protocol::Transport;

    use crate::cli::Dispatch;

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
    fn the_whole_command_line_survives_the_round_trip() {
        let argv = [
            "ventilator",
            "--input",
            "/in",
            "--output",
            "/out",
            "--bind",
            "tcp://127.0.0.1:1",
            "--status-bind",
            "tcp://127.0.0.1:2",
            "--ops",
            "grayscale",
            "--secret-file",
            "/s",
            "--insecure",
            "--max-attempts",
            "5",
        ];
        shared::argv::assert_round_trip(&argv, Cli::to_args);
    }

    #[test]
    fn the_default_impls_are_the_command_line_defaults() {
        let parsed = Groups::try_parse_from(["ventilator"]).expect("defaults parse");
        assert_eq!(
            format!("{:?}", parsed.job),
            format!("{:?}", JobArgs::default())
        );
        assert_eq!(
            format!("{:?}", parsed.mode),
            format!("{:?}", ModeArgs::default())
        );
        assert_eq!(
            format!("{:?}", parsed.selection),
            format!("{:?}", SelectionArgs::default())
        );
    }

    #[test]
    fn defaults_survive_the_round_trip() {
        let groups = Groups::try_parse_from(["ventilator"]).expect("defaults parse");
        assert_eq!(format!("{:?}", round_trip(&groups)), format!("{groups:?}"));
    }
}
