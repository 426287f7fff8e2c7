//! The item generator (in progress).
