//! Which sockets may listen beyond this host (Redis' protected mode, for
//! imgpipe): a role refuses to bind a socket that nothing authenticates to
//! an address other hosts can reach, unless told `--insecure`.
//!
//! The tasks, results and push sockets are authenticated when the role has
//! CURVE keys ([`crate::curve`]) or a shared secret ([`crate::auth`]); the status and events sockets never
//! are (they answer anyone with read-only JSON that names paths and hosts),
//! so they listen on loopback by default and need `--insecure` elsewhere.

use std::net::IpAddr;

/// Environment variable of `--insecure`.
pub const ENV_INSECURE: &str = "IMGPIPE_INSECURE";

/// The `--insecure` flag of the roles that bind.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct ExposureArgs {
    /// Let sockets that no key or secret protects listen beyond this host:
    /// the tasks and results sockets without --keys or IMGPIPE_SECRET, the status and
    /// events sockets always. Anyone who reaches them can then take tasks
    /// (and photos), forge results or read paths. Without it such a bind is
    /// refused; use it only on a network you trust (a warning is printed
    /// on every start).
    #[arg(long, env = ENV_INSECURE)]
    pub insecure: bool,
}

/// What authenticates the messages a socket acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// The shared secret, which is set.
    Secret,
    /// The shared secret would, but none is set.
    NoSecret,
    /// Nothing ever: it answers anyone (read-only JSON).
    Never,
}

/// A socket a role is about to bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener<'a> {
    /// Which socket (`tasks`, `status`, ...).
    pub socket: &'static str,
    /// The flag that sets its endpoint, for the error message.
    pub flag: &'static str,
    /// Where it would bind.
    pub endpoint: &'a str,
    /// What authenticates what arrives on it.
    pub cover: Cover,
}

impl<'a> Listener<'a> {
    /// A socket whose messages the shared secret authenticates, when
    /// `secret_set`.
    #[must_use]
    pub fn sealed(
        socket: &'static str,
        flag: &'static str,
        endpoint: &'a str,
        secret_set: bool,
    ) -> Self {
        let cover = if secret_set {
            Cover::Secret
        } else {
            Cover::NoSecret
        };
        Self {
            socket,
            flag,
            endpoint,
            cover,
        }
    }

    /// A socket nothing authenticates (status, events).
    #[must_use]
    pub fn open(socket: &'static str, flag: &'static str, endpoint: &'a str) -> Self {
        Self {
            socket,
            flag,
            endpoint,
            cover: Cover::Never,
        }
    }

    /// The role's status socket (`--status-bind`).
    #[must_use]
    pub fn status(endpoint: &'a str) -> Self {
        Self::open("status", "--status-bind", endpoint)
    }
}

/// Refuses `listeners` that [`check`] refuses, and warns about each one
/// `insecure` lets through: what a role calls before it binds.
///
/// # Errors
/// [`Exposed`], naming each socket refused.
pub fn guard(listeners: &[Listener<'_>], insecure: bool) -> Result<(), Exposed> {
    warn_insecure(&check(listeners, insecure)?);
    Ok(())
}

/// Why a role refused to start: sockets that would listen beyond this host
/// with nothing to authenticate what arrives on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", refusal_text(.0))]
pub struct Exposed(pub Vec<String>);

fn refusal_text(lines: &[String]) -> String {
    format!(
        "refusing to listen beyond this host without authentication:\n{}\n\
         Anyone who reaches these could take tasks and photos, forge results or read \
         paths. Bind loopback (e.g. tcp://127.0.0.1:PORT), give every role CURVE keys \
         (`imgpipe keygen DIR`, then --keys DIR) or a shared secret (IMGPIPE_SECRET or \
         --secret-file; the status and events sockets are never authenticated), or pass --insecure (IMGPIPE_INSECURE=true) on a network you trust.",
        lines.join("\n")
    )
}

/// Checks the sockets a role is about to bind. Returns the exposed,
/// unauthenticated ones to warn about when `insecure`.
///
/// # Errors
/// [`Exposed`], naming each such socket, when not `insecure`.
pub fn check<'a>(listeners: &[Listener<'a>], insecure: bool) -> Result<Vec<Listener<'a>>, Exposed> {
    let open: Vec<Listener<'a>> = listeners
        .iter()
        .copied()
        .filter(|l| l.cover != Cover::Secret && !is_host_only(l.endpoint))
        .collect();
    if open.is_empty() || insecure {
        return Ok(open);
    }
    Err(Exposed(
        open.iter()
            .map(|l| {
                format!(
                    "  {} socket on {} ({}{})",
                    l.socket,
                    l.endpoint,
                    l.flag,
                    if l.cover == Cover::Never {
                        ", never authenticated"
                    } else {
                        ", no secret set"
                    }
                )
            })
            .collect(),
    ))
}

/// Logs one warning per socket that [`check`] let through on `--insecure`.
fn warn_insecure(open: &[Listener<'_>]) {
    for l in open {
        tracing::warn!(
            "INSECURE: the {} socket listens on {} without authentication (--insecure): \
             anyone who reaches it can use it",
            l.socket,
            l.endpoint
        );
    }
}

/// Whether only this host can reach `endpoint`: `ipc://`, `inproc://`, or
/// TCP on a loopback address (`127.0.0.0/8`, `[::1]`, `localhost`, `lo`).
/// Anything else, `*` and interface names included, counts as reachable.
#[must_use]
pub fn is_host_only(endpoint: &str) -> bool {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return false;
    };
    match scheme {
        "ipc" | "inproc" => true,
        "tcp" => {
            let Some((host, _port)) = rest.rsplit_once(':') else {
                return false;
            };
            let host = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            host == "localhost"
                || host == "lo"
                || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener<'a>(socket: &'static str, endpoint: &'a str, secret_set: bool) -> Listener<'a> {
        Listener::sealed(socket, "--bind", endpoint, secret_set)
    }

    #[test]
    fn loopback_and_local_transports_are_host_only() {
        for ep in [
            "tcp://127.0.0.1:5557",
            "tcp://127.3.4.5:*",
            "tcp://[::1]:5557",
            "tcp://localhost:5557",
            "tcp://lo:5557",
            "ipc:///tmp/imgpipe.sock",
            "inproc://wake",
        ] {
            assert!(is_host_only(ep), "{ep}");
        }
    }

    #[test]
    fn status_listens_on_loopback_by_default() {
        assert!(is_host_only(crate::status::VENTILATOR_STATUS_BIND));
        assert!(is_host_only(crate::status::SINK_STATUS_BIND));
    }

    #[test]
    fn every_other_address_is_reachable() {
        for ep in [
            "tcp://*:5557",
            "tcp://0.0.0.0:5557",
            "tcp://[::]:5557",
            "tcp://10.213.7.1:5557",
            "tcp://eth0:5557",
            "tcp://example.org:5557",
            "tcp://127.0.0.1",
            "pgm://eth0;239.192.1.1:5555",
            "garbage",
        ] {
            assert!(!is_host_only(ep), "{ep}");
        }
    }

    #[test]
    fn an_exposed_unauthenticated_socket_is_refused_and_named() {
        let err = check(
            &[
                listener("tasks", "tcp://*:5557", false),
                listener("status", "tcp://127.0.0.1:5559", false),
            ],
            false,
        )
        .expect_err("refused");
        assert_eq!(err.0.len(), 1);
        assert!(err.0[0].contains("tasks socket on tcp://*:5557"), "{err}");
        assert!(err.to_string().contains("--insecure"), "{err}");
    }

    #[test]
    fn a_secret_covers_the_sockets_it_authenticates() {
        let open = check(&[listener("tasks", "tcp://*:5557", true)], false).expect("allowed");
        assert!(open.is_empty());
    }

    #[test]
    fn no_secret_covers_the_status_socket() {
        let err = check(&[Listener::status("tcp://*:5559")], false).expect_err("refused");
        assert!(err.0[0].contains("never authenticated"), "{err}");
    }

    #[test]
    fn insecure_lets_them_through_to_be_warned_about() {
        let open = check(
            &[
                listener("tasks", "tcp://*:5557", true),
                Listener::status("tcp://*:5559"),
            ],
            true,
        )
        .expect("allowed");
        assert_eq!(open, vec![Listener::status("tcp://*:5559")]);
    }
}
