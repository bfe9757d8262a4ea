//! Persistence: where instances and deployments live between commands.
//!
//! A [`Store`] keeps, per instance, the event log and a checkpoint (the
//! state after the last command), written together atomically: one command
//! is one batch. With [`Durability::Immediate`] (the default) the batch is
//! flushed to disk before the command is acknowledged, so reopening after a
//! crash restores every instance exactly as of its last acknowledged
//! command. [`Durability::Deferred`] leaves flushing to [`Store::flush`]
//! (bulk loads, benchmarks).
//!
//! Records are JSON inside a versioned envelope ([`FORMAT_VERSION`]); a
//! record with another version is refused with a clear error rather than
//! misread. The durable stores ([`sled`], [`redb`]) also write a layout
//! version of their own when they create a store and refuse to open any
//! other ([`StoreError::Version`]), or a path that is not a store
//! ([`StoreError::NotAStore`]).

pub mod memory;
pub mod redb;
pub mod sled;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::compile::ProcessKey;
use crate::core::{Event, FORMAT_VERSION, InstanceState, Status};

/// A deployed file, kept so that the engine can recompile it on start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    /// Every process the file defines, with its version.
    pub keys: Vec<ProcessKey>,
    /// The file name it was deployed from (for people).
    pub name: String,
    /// The file's text.
    pub source: String,
}

/// When a committed batch reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Flushed before `commit` returns.
    #[default]
    Immediate,
    /// Flushed by `flush` (or when the store is dropped).
    Deferred,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O failed: {0}")]
    Io(String),
    #[error("store record `{key}` is corrupt: {message}")]
    Corrupt { key: String, message: String },
    #[error("store record `{key}` has format version {found}: expected {expected}")]
    Version {
        key: String,
        found: u32,
        expected: u32,
    },
    #[error("`{path}` is not an orchid-bpmn store: {message}")]
    NotAStore { path: String, message: String },
}

/// The durable store implementations [`open`] can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// [`sled::SledStore`]: a directory.
    Sled,
    /// [`redb::RedbStore`]: a single file.
    Redb,
}

impl std::fmt::Display for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreKind::Sled => "sled",
            StoreKind::Redb => "redb",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown store kind `{0}`: expected `sled` or `redb`")]
pub struct UnknownStoreKind(pub String);

impl std::str::FromStr for StoreKind {
    type Err = UnknownStoreKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sled" => Ok(StoreKind::Sled),
            "redb" => Ok(StoreKind::Redb),
            other => Err(UnknownStoreKind(other.to_string())),
        }
    }
}

/// Opens (creating it if nothing is at `path`) a durable store.
pub fn open(
    kind: StoreKind,
    path: &Path,
    durability: Durability,
) -> Result<Box<dyn Store>, StoreError> {
    Ok(match kind {
        StoreKind::Sled => Box::new(sled::SledStore::open(path, durability)?),
        StoreKind::Redb => Box::new(redb::RedbStore::open(path, durability)?),
    })
}

/// A short description of an instance, for listings.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSummary {
    pub id: String,
    pub process: ProcessKey,
    pub status: Status,
    pub incidents: usize,
}

pub trait Store: Send {
    fn save_deployment(&mut self, d: &DeploymentRecord) -> Result<(), StoreError>;
    fn deployments(&self) -> Result<Vec<DeploymentRecord>, StoreError>;
    /// The checkpoint of an instance.
    fn load(&self, instance: &str) -> Result<Option<InstanceState>, StoreError>;
    /// Appends `events` to the instance's log and replaces its checkpoint
    /// with `state`, atomically.
    fn commit(&mut self, state: &InstanceState, events: &[Event]) -> Result<(), StoreError>;
    /// The event log of an instance, oldest first.
    fn events(&self, instance: &str) -> Result<Vec<Event>, StoreError>;
    /// Every instance's checkpoint.
    fn instances(&self) -> Result<Vec<InstanceState>, StoreError>;
    /// A new, never reused instance number.
    fn next_instance_number(&mut self) -> Result<u64, StoreError>;
    fn flush(&mut self) -> Result<(), StoreError>;
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    data: T,
}

/// Encodes a record in the versioned envelope.
pub fn encode<T: Serialize>(data: &T) -> Vec<u8> {
    // Serializing plain data structures into a Vec cannot fail.
    serde_json::to_vec(&Envelope {
        v: FORMAT_VERSION,
        data,
    })
    .unwrap_or_default()
}

/// Decodes a record, checking its envelope version.
pub fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    #[derive(Deserialize)]
    struct Head {
        v: u32,
    }
    let head: Head = serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })?;
    if head.v != FORMAT_VERSION {
        return Err(StoreError::Version {
            key: key.to_string(),
            found: head.v,
            expected: FORMAT_VERSION,
        });
    }
    let env: Envelope<T> = serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })?;
    Ok(env.data)
}
