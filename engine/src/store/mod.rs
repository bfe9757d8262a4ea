//! Persistence: where instances and deployments live between commands.
//!
//! A [`Store`] keeps, per instance, the event log and a checkpoint (the
//! state after the last command), written together atomically: one command
//! is one batch. With [`Durability::Immediate`] (the default) the batch is
//! flushed to disk before the command is acknowledged, so reopening after a
//! crash restores every instance exactly as of its last acknowledged
//! command. [`Durability::Deferred`] leaves flushing to [`Store::flush`]
//! (bulk loads, benchmarks): the durable stores then keep commits in memory
//! and write them in groups, one database batch per group ([`Pending`]),
//! still all of a command or nothing of it.
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
///
/// The record is parsed once; only when that fails is its head parsed
/// again, so that a record of another version is reported as
/// [`StoreError::Version`] rather than as [`StoreError::Corrupt`].
pub fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    #[derive(Deserialize)]
    struct Head {
        v: u32,
    }
    let version = |found: u32| StoreError::Version {
        key: key.to_string(),
        found,
        expected: FORMAT_VERSION,
    };
    match serde_json::from_slice::<Envelope<T>>(bytes) {
        Ok(env) if env.v == FORMAT_VERSION => Ok(env.data),
        Ok(env) => Err(version(env.v)),
        Err(e) => match serde_json::from_slice::<Head>(bytes) {
            Ok(head) if head.v != FORMAT_VERSION => Err(version(head.v)),
            _ => Err(StoreError::Corrupt {
                key: key.to_string(),
                message: e.to_string(),
            }),
        },
    }
}

/// Commits of a [`Durability::Deferred`] store that are not written to the
/// database yet: the durable stores collect them here and write them all in
/// one database batch (a group write) at `flush`, on drop, or once the
/// group reaches [`Pending::MAX_COMMITS`] commits or [`Pending::MAX_BYTES`]
/// bytes. Each command's records stay together in the group, so a command
/// is still all there or not at all. Reads consult the group first.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// The newest checkpoint of each instance committed since the last
    /// group write, encoded.
    pub checkpoints: std::collections::BTreeMap<String, Vec<u8>>,
    /// Per instance, its event records since the last group write: (commit
    /// sequence number, encoded events of that commit), oldest first.
    pub events: std::collections::BTreeMap<String, Vec<(u64, Vec<u8>)>>,
    commits: usize,
    bytes: usize,
}

impl Pending {
    /// A group write happens at the latest once this many commits wait.
    pub const MAX_COMMITS: usize = 1_000;
    /// ... or once the waiting records hold this many bytes.
    pub const MAX_BYTES: usize = 4 << 20;

    pub fn is_empty(&self) -> bool {
        self.commits == 0
    }

    /// The sequence number the instance's next event record gets, if the
    /// group knows it (the instance has event records here).
    pub fn next_seq(&self, instance: &str) -> Option<u64> {
        self.events
            .get(instance)
            .and_then(|records| records.last())
            .map(|(seq, _)| seq + 1)
    }

    /// Adds one commit: its event record (`None` when it has no events)
    /// under `seq`, and its checkpoint. Returns whether the group is full.
    pub fn add(
        &mut self,
        instance: &str,
        seq: u64,
        events: Option<Vec<u8>>,
        checkpoint: Vec<u8>,
    ) -> bool {
        if let Some(events) = events {
            self.bytes += events.len();
            match self.events.get_mut(instance) {
                Some(records) => records.push((seq, events)),
                None => {
                    self.events
                        .insert(instance.to_string(), vec![(seq, events)]);
                }
            }
        }
        self.bytes += checkpoint.len();
        match self.checkpoints.get_mut(instance) {
            Some(slot) => *slot = checkpoint,
            None => {
                self.checkpoints.insert(instance.to_string(), checkpoint);
            }
        }
        self.commits += 1;
        self.commits >= Self::MAX_COMMITS || self.bytes >= Self::MAX_BYTES
    }

    pub fn clear(&mut self) {
        self.checkpoints.clear();
        self.events.clear();
        self.commits = 0;
        self.bytes = 0;
    }

    /// Decodes the group's event records of `instance`, appending them to
    /// `out`.
    pub fn read_events(&self, instance: &str, out: &mut Vec<Event>) -> Result<(), StoreError> {
        for (seq, bytes) in self.events.get(instance).into_iter().flatten() {
            out.extend(decode::<Vec<Event>>(
                &format!("events/{instance}/{seq}"),
                bytes,
            )?);
        }
        Ok(())
    }

    /// `instances` of a durable store: the database's checkpoints (`stored`,
    /// id and decoded state, in id order), with the group's newer ones in
    /// their place and its new ones added.
    pub fn merge_instances(
        &self,
        stored: Vec<(String, InstanceState)>,
    ) -> Result<Vec<InstanceState>, StoreError> {
        if self.checkpoints.is_empty() {
            return Ok(stored.into_iter().map(|(_, s)| s).collect());
        }
        let mut all: std::collections::BTreeMap<String, InstanceState> =
            stored.into_iter().collect();
        for (id, bytes) in &self.checkpoints {
            all.insert(id.clone(), decode(&format!("checkpoints/{id}"), bytes)?);
        }
        Ok(all.into_values().collect())
    }
}
