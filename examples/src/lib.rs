//! Examples of embedding aiq-core live in this folder; run them with `cargo run --example NAME`.
//! The host application of `host_app` is built here, so its test can drive the same router.

pub mod host;
