//! The process engine. See `docs/ARCHITECTURE.md`.

pub mod juel;
