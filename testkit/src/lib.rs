//! Test-only support: see Cargo.toml description.
