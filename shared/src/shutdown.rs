//! Cooperative shutdown: a flag the binaries set from signal handlers and
//! every role's loop polls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared "please stop" flag. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    flag: Arc<AtomicBool>,
    parent: Option<u32>,
}

impl Shutdown {
    /// A flag that nothing has set yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also treat the death of process `parent` as a shutdown request, so
    /// roles started by the launcher never outlive it.
    #[must_use]
    pub fn with_parent(mut self, parent: u32) -> Self {
        self.parent = Some(parent);
        self
    }

    /// The underlying flag, for `signal_hook::flag::register`.
    #[must_use]
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.flag)
    }

    /// Asks every holder to stop.
    pub fn request(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// True once a stop was requested (or the watched parent process is gone).
    #[must_use]
    pub fn requested(&self) -> bool {
        if self.flag.load(Ordering::SeqCst) {
            return true;
        }
        match self.parent {
            Some(parent) if std::os::unix::process::parent_id() != parent => {
                self.request();
                true
            }
            _ => false,
        }
    }
}

/// Environment variable through which the launcher tells the roles it starts
/// its pid, so they stop if it dies without cleaning up.
pub const ENV_PARENT_PID: &str = "IMGPIPE_PARENT_PID";

/// Installs SIGINT/SIGTERM handlers that set a fresh [`Shutdown`] flag, and
/// watches the launcher's pid when [`ENV_PARENT_PID`] names one.
///
/// # Errors
/// When the handlers cannot be registered.
pub fn install_signal_handlers() -> std::io::Result<Shutdown> {
    let mut shutdown = Shutdown::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, shutdown.flag())?;
    }
    if let Some(parent) = std::env::var(ENV_PARENT_PID)
        .ok()
        .and_then(|p| p.parse().ok())
    {
        shutdown = shutdown.with_parent(parent);
    }
    Ok(shutdown)
}

/// [`install_signal_handlers`] for a role's `main`: logs a failure and
/// returns `None`, which the caller turns into exit code 2.
#[must_use]
pub fn install_signal_handler_for_role() -> Option<Shutdown> {
    install_signal_handlers()
        .map_err(|e| tracing::error!("installing signal handlers: {e}"))
        .ok()
}
