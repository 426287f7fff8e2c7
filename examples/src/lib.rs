//! Examples of embedding aiq-core live in this folder; run them with `cargo run --example NAME`.
