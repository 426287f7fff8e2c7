//! Criterion benches for aiq live in this folder; run them with `cargo bench -p aiq-benches`.
