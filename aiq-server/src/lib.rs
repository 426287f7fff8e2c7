//! What the `aiq-server` and `aiq-admin` binaries are made of: the process plumbing both use
//! ([`process`]: `.env` layering, configuration, the runtime, signals; [`telemetry`]: the log
//! format, metrics and the OpenTelemetry export) and the commands of `aiq-server`. Each
//! binary's `main` is a list of steps over these.

pub mod calibrate;
mod database;
pub mod import_legacy;
mod json_lines;
mod line_writer;
mod logging;
mod metrics_port;
pub mod notify;
pub mod process;
pub mod questions;
pub mod seed_synthetic;
pub mod serve;
pub mod telemetry;
