//! Default endpoints and the environment variables that override them: the one
//! place where ports live.
//!
//! | socket | who binds | default bind | default connect |
//! |---|---|---|---|
//! | tasks (ROUTER/DEALER, credit-based) | ventilator | `tcp://*:5557` | `tcp://localhost:5557` |
//! | results (PUSH/PULL) | sink | `tcp://*:5558` | `tcp://localhost:5558` |
//! | status (REQ/REP, JSON) | ventilator / sink | `tcp://127.0.0.1:5559` / `tcp://127.0.0.1:5560` | — |
//! | push tasks (`--dispatch push`) | ventilator | `tcp://*:5561` | given to workers |
//! | progress events (PUB/SUB) | sink | `tcp://127.0.0.1:5562` | `imgpipe watch` |
//!
//! The sink also connects to the ventilator's tasks socket as a DEALER to
//! receive the batch description and to acknowledge results.

/// Default port of the ventilator's tasks socket.
pub const TASKS_PORT: u16 = 5557;
/// Default port of the sink's results socket.
pub const RESULTS_PORT: u16 = 5558;

/// Where the ventilator binds its tasks socket by default.
pub const TASKS_BIND: &str = "tcp://*:5557";
/// Where workers and the sink find the ventilator by default.
pub const TASKS_CONNECT: &str = "tcp://localhost:5557";
/// Where the sink binds its results socket by default.
pub const RESULTS_BIND: &str = "tcp://*:5558";
/// Where workers find the sink by default.
pub const RESULTS_CONNECT: &str = "tcp://localhost:5558";

/// Environment variable overriding the ventilator's bind endpoint.
pub const ENV_TASKS_BIND: &str = "IMGPIPE_TASKS_BIND";
/// Environment variable overriding the endpoint workers and the sink connect to.
pub const ENV_TASKS_CONNECT: &str = "IMGPIPE_VENTILATOR";
/// Environment variable overriding the sink's bind endpoint.
pub const ENV_RESULTS_BIND: &str = "IMGPIPE_RESULTS_BIND";
/// Environment variable overriding the endpoint workers push results to.
pub const ENV_RESULTS_CONNECT: &str = "IMGPIPE_SINK";

/// Where the ventilator binds its PUSH socket with `--dispatch push`.
pub const PUSH_BIND: &str = "tcp://*:5561";

/// Loopback endpoint with an OS-chosen port, for tests and the launcher.
pub const LOOPBACK_ANY_PORT: &str = "tcp://127.0.0.1:*";

/// Prefix of the line a role prints on stdout once it has bound its socket,
/// followed by the endpoint actually bound (port resolved).
pub const LISTENING_LINE_PREFIX: &str = "imgpipe-listening ";
/// Prefix of the line announcing the ventilator's PUSH endpoint
/// (`--dispatch push`), printed before the listening line.
pub const PUSH_LINE_PREFIX: &str = "imgpipe-listening-push ";
/// Prefix of the line announcing a role's status endpoint (port
/// resolved), printed before the listening line.
pub const STATUS_LINE_PREFIX: &str = "imgpipe-status ";
/// Prefix of the line announcing the sink's events endpoint (port
/// resolved), printed before the listening line.
pub const EVENTS_LINE_PREFIX: &str = "imgpipe-events ";
