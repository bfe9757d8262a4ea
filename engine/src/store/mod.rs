//! Persistence: where instances and deployments live between commands.
//!
//! A [`Store`] keeps, per instance, the event log and a checkpoint (the
//! state after the last command), written together atomically: one command
//! is one batch. With [`Durability::Immediate`] (the default) the command is
//! on disk before it is acknowledged (the durable stores write it to their
//! write-ahead log, `Wal`, and sync that), so reopening after a
//! crash restores every instance exactly as of its last acknowledged
//! command. [`Durability::Deferred`] leaves flushing to [`Store::flush`]
//! (bulk loads, benchmarks): the durable stores then keep commits in memory
//! and write them in groups, one database batch per group (`Pending`),
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
    /// What the file is: BPMN processes (records written before DMN
    /// deployments existed have no `kind`) or DMN decisions, whose
    /// `keys` are then decision ids and versions.
    #[serde(default, skip_serializing_if = "ResourceKind::is_bpmn")]
    pub kind: ResourceKind,
}

/// The kind of a deployed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// BPMN 2.0 processes.
    #[default]
    Bpmn,
    /// DMN decisions.
    Dmn,
}

impl ResourceKind {
    pub fn is_bpmn(&self) -> bool {
        *self == ResourceKind::Bpmn
    }
}

/// When a committed batch reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Flushed before `commit` returns.
    #[default]
    Immediate,
    /// Flushed by `flush` (or when the store is dropped).
    Deferred,
    /// Group commit: each command is logged in memory, and `flush` writes
    /// and syncs everything logged since the last flush at once — one
    /// write-ahead-log write and one `fdatasync` for the whole group. A
    /// command is durable once the `flush` after it returned (what
    /// [`crate::EngineHandle`] waits for before it answers).
    Grouped,
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
    /// Another process holds the store (one process at a time).
    #[error(
        "`{path}` is open in another process: expected it free (stop the other `orchid-bpmn` command using it, or talk to it instead)"
    )]
    Locked { path: String },
    /// A record that could be written but never read back (the JSON reader
    /// stops at depth 128): refused, nothing written.
    #[error(
        "instance `{instance}`: its state would be stored nested {found} levels deep: expected at most {limit} (a variable nested that deep cannot be stored; nothing was written)"
    )]
    TooDeep {
        instance: String,
        found: usize,
        limit: usize,
    },
}

/// The environment variable that lets a store whose write-ahead log is
/// missing open anyway (`1`): only for a store known to have been closed
/// cleanly, whose log held nothing.
pub const ACCEPT_MISSING_LOG_VAR: &str = "ORCHID_ACCEPT_MISSING_WAL";

/// Refuses a store (it exists: its layout is written) whose write-ahead log
/// is gone: the commands acknowledged since its last checkpoint would be
/// lost without a word.
pub(crate) fn check_log_present(store: &str, log: &Path) -> Result<(), StoreError> {
    if log.exists() || std::env::var(ACCEPT_MISSING_LOG_VAR).is_ok_and(|v| v == "1") {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        key: store.to_string(),
        message: format!(
            "its write-ahead log {} is missing: commands acknowledged since the last checkpoint would be lost; put the log back, or, if the store was closed cleanly, open it once with {ACCEPT_MISSING_LOG_VAR}=1",
            log.display()
        ),
    })
}

/// How deep a stored record may nest (objects and arrays, the envelope
/// included): below serde_json's reading limit of 128, so that whatever a
/// store accepts it can read back.
pub const MAX_RECORD_DEPTH: usize = 120;

/// How deeply the JSON `bytes` nest objects and arrays.
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Refuses a command whose encoded records nest deeper than
/// [`MAX_RECORD_DEPTH`].
pub(crate) fn check_depth(instance: &str, encoded: &[&[u8]]) -> Result<(), StoreError> {
    let found = encoded.iter().map(|b| json_depth(b)).max().unwrap_or(0);
    if found > MAX_RECORD_DEPTH {
        return Err(StoreError::TooDeep {
            instance: instance.to_string(),
            found,
            limit: MAX_RECORD_DEPTH,
        });
    }
    Ok(())
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
    fn commit(&mut self, state: &InstanceState, events: &[Event]) -> Result<(), StoreError> {
        self.commit_with(state, events, &[])
    }
    /// [`Store::commit`] and engine record writes (`records`, in order) in
    /// one atomic write: after a crash all of it is there or none. The
    /// durable outbox rests on this: work an instance sends is recorded
    /// with the command that sent it, and a delivery removes it with the
    /// receiver's command.
    fn commit_with(
        &mut self,
        state: &InstanceState,
        events: &[Event],
        records: &[RecordOp],
    ) -> Result<(), StoreError>;
    /// The event log of an instance, oldest first.
    fn events(&self, instance: &str) -> Result<Vec<Event>, StoreError>;
    /// Every instance's checkpoint.
    fn instances(&self) -> Result<Vec<InstanceState>, StoreError>;
    /// A new, never reused instance number.
    fn next_instance_number(&mut self) -> Result<u64, StoreError>;
    fn flush(&mut self) -> Result<(), StoreError>;
    /// Stores a small engine record (a buffered message, a start timer's
    /// schedule) under `key`, replacing one already there. Written with the
    /// store's durability, on its own (not part of an instance's commit).
    fn put_record(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write_records(&[RecordOp::Put {
            key: key.to_string(),
            value: value.to_vec(),
        }])
    }
    /// Removes the record under `key`; removing a missing one is no error.
    fn delete_record(&mut self, key: &str) -> Result<(), StoreError> {
        self.write_records(&[RecordOp::Delete {
            key: key.to_string(),
        }])
    }
    /// Engine record writes, in order, in one atomic write with the store's
    /// durability (after every commit made before it).
    fn write_records(&mut self, records: &[RecordOp]) -> Result<(), StoreError>;
    /// Every record whose key starts with `prefix`, in key order.
    fn records(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// The first `limit` records whose key starts with `prefix`, in key
    /// order (a range read: the rest is not read).
    fn first_records(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut all = self.records(prefix)?;
        all.truncate(limit);
        Ok(all)
    }
    /// Removes an instance — its checkpoint and its event log — durably
    /// (a crash afterwards does not bring it back); a missing one is no
    /// error.
    fn delete_instance(&mut self, instance: &str) -> Result<(), StoreError>;
}

/// One write of an engine record (see [`Store::commit_with`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOp {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

impl RecordOp {
    pub fn key(&self) -> &str {
        match self {
            RecordOp::Put { key, .. } | RecordOp::Delete { key } => key,
        }
    }

    /// The value written, `None` for a delete.
    pub fn value(&self) -> Option<&[u8]> {
        match self {
            RecordOp::Put { value, .. } => Some(value),
            RecordOp::Delete { .. } => None,
        }
    }
}

/// `stored` records under `prefix` (in key order) with `newer` writes
/// (key → value, `None` deleted) laid over them.
pub(crate) fn overlay_records(
    prefix: &str,
    stored: Vec<(String, Vec<u8>)>,
    newer: &std::collections::BTreeMap<String, Option<Vec<u8>>>,
) -> Vec<(String, Vec<u8>)> {
    if newer.is_empty() {
        return stored;
    }
    let mut all: std::collections::BTreeMap<String, Vec<u8>> = stored.into_iter().collect();
    for (k, v) in newer
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
    {
        match v {
            Some(v) => {
                all.insert(k.clone(), v.clone());
            }
            None => {
                all.remove(k);
            }
        }
    }
    all.into_iter().collect()
}

/// [`Store::first_records`] of a store whose newest writes wait in `newer`:
/// `fetch(n)` reads the first `n` stored records under `prefix`.
pub(crate) fn overlay_first(
    prefix: &str,
    limit: usize,
    newer: &std::collections::BTreeMap<String, Option<Vec<u8>>>,
    fetch: impl FnOnce(usize) -> Result<Vec<(String, Vec<u8>)>, StoreError>,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    // Each waiting delete may hide one stored record before the limit.
    let hidden = newer
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(_, v)| v.is_none())
        .count();
    let mut out = overlay_records(prefix, fetch(limit.saturating_add(hidden))?, newer);
    out.truncate(limit);
    Ok(out)
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
/// group reaches `Pending::MAX_COMMITS` commits or [`Pending::MAX_BYTES`]
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
    /// Engine records written with those commits: key → newest value,
    /// `None` when deleted.
    pub records: std::collections::BTreeMap<String, Option<Vec<u8>>>,
    commits: usize,
    bytes: usize,
}

impl Pending {
    /// A group write happens at the latest once this many commits wait.
    pub const MAX_COMMITS: usize = 1_000;
    /// ... or once the waiting records hold this many bytes.
    pub const MAX_BYTES: usize = 4 << 20;

    pub fn is_empty(&self) -> bool {
        self.commits == 0 && self.records.is_empty()
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

    /// Adds one command: its event record, checkpoint and record writes.
    /// Returns whether the group is full.
    pub fn add_commit(&mut self, c: WalCommit) -> bool {
        let full = self.add(&c.instance, c.seq, c.events, c.checkpoint);
        self.add_records(&c.records);
        full
    }

    /// Adds the record writes of the commit just added.
    pub fn add_records(&mut self, records: &[RecordOp]) {
        for r in records {
            self.bytes += r.key().len() + r.value().map_or(0, <[u8]>::len);
            self.records
                .insert(r.key().to_string(), r.value().map(<[u8]>::to_vec));
        }
    }

    pub fn clear(&mut self) {
        self.checkpoints.clear();
        self.events.clear();
        self.records.clear();
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

/// One command as the write-ahead log keeps it: what a durable store's
/// `commit` writes (see `Wal`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WalCommit {
    pub instance: String,
    pub seq: u64,
    /// The encoded events of the command, if it had any.
    pub events: Option<Vec<u8>>,
    /// The encoded checkpoint.
    pub checkpoint: Vec<u8>,
    /// Engine records written with the command (a record of the second
    /// kind, `WAL_RECORD_WITH_RECORDS`, when there are any).
    pub records: Vec<RecordOp>,
}

/// The write-ahead log of a durable store's [`Durability::Immediate`]
/// commits.
///
/// A database commit that is durable on its own costs more than one disk
/// sync (sled: its `sync_file_range`s plus our `fdatasync`; redb: about ten
/// scattered pages and an `fdatasync`). So an Immediate commit is applied to
/// the database *without* syncing it, and the command (instance, commit
/// sequence number, encoded events, encoded checkpoint) is appended to this
/// log and `fdatasync`ed before `commit` returns: one small in-place write
/// and one sync per command.
///
/// The file has a fixed size ([`Wal::SIZE`], written with zeros when it is
/// created, so appending never changes the file's size or extents). Two
/// header slots (at 0 and 512) hold the current *epoch*, the newer valid
/// one wins. Records follow from [`Wal::START`]: magic, length, epoch,
/// checksum (64-bit FNV-1a over epoch and body), body. Replay reads records
/// of the current epoch until the first one that is missing, torn (bad
/// checksum) or of an older epoch. When the log is full, the database is
/// synced (a checkpoint, which makes every command of the log durable in
/// the database) and the epoch advances, which empties the log. On open,
/// the store applies the records again (they are plain puts, so applying
/// one twice is harmless), syncs the database and advances the epoch.
#[derive(Debug)]
pub(crate) struct Wal {
    file: std::fs::File,
    epoch: u64,
    /// Where the next record goes.
    offset: u64,
    /// Records staged ([`Wal::stage`]) and not yet written: they go to
    /// `offset` with the next [`Wal::sync_staged`].
    staged: Vec<u8>,
}

const WAL_MAGIC: &[u8; 8] = b"ORCHWAL\0";
const WAL_VERSION: u32 = 1;
const WAL_RECORD: u32 = 0x4f57_5231;
/// A command with engine record writes: the body of a `WAL_RECORD`, then
/// the count of writes and each write (key, then 1 and the value or 0).
const WAL_RECORD_WITH_RECORDS: u32 = 0x4f57_5232;
/// Engine record writes without a command ([`Store::write_records`]): the
/// count of writes and each write, as above. Logged like commands, so that
/// a replay applies everything in the order it happened.
const WAL_RECORDS_ONLY: u32 = 0x4f57_5233;
const WAL_RECORD_HEAD: usize = 4 + 4 + 8 + 8;

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn wal_io(e: std::io::Error) -> StoreError {
    StoreError::Io(format!("write-ahead log: {e}"))
}

/// Reads little pieces of a checksummed record body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

impl WalCommit {
    /// Record writes without a command (its `instance` is empty: instance
    /// ids never are).
    pub fn records_only(records: &[RecordOp]) -> WalCommit {
        WalCommit {
            instance: String::new(),
            seq: 0,
            events: None,
            checkpoint: Vec::new(),
            records: records.to_vec(),
        }
    }

    /// Whether this holds record writes only (no command).
    pub fn is_records_only(&self) -> bool {
        self.instance.is_empty()
    }

    fn body(&self) -> Vec<u8> {
        let events = self.events.as_deref();
        let mut b = Vec::with_capacity(
            32 + self.instance.len() + events.map_or(0, <[u8]>::len) + self.checkpoint.len(),
        );
        if self.is_records_only() {
            write_record_ops(&mut b, &self.records);
            return b;
        }
        b.extend_from_slice(&(self.instance.len() as u32).to_le_bytes());
        b.extend_from_slice(self.instance.as_bytes());
        b.extend_from_slice(&self.seq.to_le_bytes());
        match events {
            Some(e) => {
                b.push(1);
                b.extend_from_slice(&(e.len() as u32).to_le_bytes());
                b.extend_from_slice(e);
            }
            None => b.push(0),
        }
        b.extend_from_slice(&(self.checkpoint.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.checkpoint);
        if !self.records.is_empty() {
            write_record_ops(&mut b, &self.records);
        }
        b
    }

    /// The record kind this commit is written as.
    fn kind(&self) -> u32 {
        if self.is_records_only() {
            WAL_RECORDS_ONLY
        } else if self.records.is_empty() {
            WAL_RECORD
        } else {
            WAL_RECORD_WITH_RECORDS
        }
    }

    fn parse(kind: u32, body: &[u8]) -> Option<WalCommit> {
        let mut r = Reader(body);
        if kind == WAL_RECORDS_ONLY {
            let records = read_record_ops(&mut r)?;
            return (r.0.is_empty() && !records.is_empty())
                .then(|| WalCommit::records_only(&records));
        }
        let instance = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        let seq = r.u64()?;
        let events = match r.take(1)? {
            [0] => None,
            [1] => Some(r.bytes()?.to_vec()),
            _ => return None,
        };
        let checkpoint = r.bytes()?.to_vec();
        let records = if kind == WAL_RECORD_WITH_RECORDS {
            read_record_ops(&mut r)?
        } else {
            Vec::new()
        };
        if instance.is_empty() {
            return None;
        }
        r.0.is_empty().then_some(WalCommit {
            instance,
            seq,
            events,
            checkpoint,
            records,
        })
    }
}

/// Appends the count of `records` and each write (key, then 1 and the
/// value or 0).
fn write_record_ops(b: &mut Vec<u8>, records: &[RecordOp]) {
    b.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for r in records {
        b.extend_from_slice(&(r.key().len() as u32).to_le_bytes());
        b.extend_from_slice(r.key().as_bytes());
        match r.value() {
            Some(v) => {
                b.push(1);
                b.extend_from_slice(&(v.len() as u32).to_le_bytes());
                b.extend_from_slice(v);
            }
            None => b.push(0),
        }
    }
}

fn read_record_ops(r: &mut Reader<'_>) -> Option<Vec<RecordOp>> {
    let mut records = Vec::new();
    for _ in 0..r.u32()? {
        let key = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        records.push(match r.take(1)? {
            [0] => RecordOp::Delete { key },
            [1] => RecordOp::Put {
                key,
                value: r.bytes()?.to_vec(),
            },
            _ => return None,
        });
    }
    Some(records)
}

impl Wal {
    /// The log file's size.
    pub const SIZE: u64 = 8 << 20;
    /// Where records start (after the two header slots).
    pub const START: u64 = 4096;

    /// Opens the log at `path`, creating it (zero-filled, epoch 1, made
    /// durable under a temporary name and then renamed) if there is none.
    /// Returns the log and the commits of its current epoch, oldest first.
    /// The caller applies them, syncs its database and calls [`Wal::reset`].
    pub fn open(path: &Path) -> Result<(Wal, Vec<WalCommit>), StoreError> {
        use std::os::unix::fs::FileExt;
        if !path.exists() {
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".tmp");
            let tmp = std::path::PathBuf::from(tmp);
            {
                let f = std::fs::File::create(&tmp).map_err(wal_io)?;
                let zeros = vec![0u8; 1 << 20];
                for i in 0..Self::SIZE / (1 << 20) {
                    f.write_all_at(&zeros, i << 20).map_err(wal_io)?;
                }
                f.write_all_at(&Self::header(1), 0).map_err(wal_io)?;
                f.sync_all().map_err(wal_io)?;
            }
            std::fs::rename(&tmp, path).map_err(wal_io)?;
            if let Some(dir) = path.parent() {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(wal_io)?;
            }
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(wal_io)?;
        let corrupt = |message: String| StoreError::Corrupt {
            key: path.display().to_string(),
            message,
        };
        let len = file.metadata().map_err(wal_io)?.len();
        if len != Self::SIZE {
            return Err(corrupt(format!(
                "the write-ahead log has {len} bytes, expected {}",
                Self::SIZE
            )));
        }
        let mut head = vec![0u8; Self::START as usize];
        file.read_exact_at(&mut head, 0).map_err(wal_io)?;
        let epoch = [0usize, 512]
            .iter()
            .filter_map(|&at| Self::read_header(&head[at..at + 512]))
            .max()
            .ok_or_else(|| {
                corrupt("neither header slot of the write-ahead log is intact".into())
            })?;
        let mut body = vec![0u8; (Self::SIZE - Self::START) as usize];
        file.read_exact_at(&mut body, Self::START).map_err(wal_io)?;
        let mut commits = Vec::new();
        let mut at = 0usize;
        while let Some(h) = body.get(at..at + WAL_RECORD_HEAD) {
            let mut r = Reader(h);
            let (Some(magic), Some(n), Some(e), Some(sum)) = (r.u32(), r.u32(), r.u64(), r.u64())
            else {
                break;
            };
            if ![WAL_RECORD, WAL_RECORD_WITH_RECORDS, WAL_RECORDS_ONLY].contains(&magic)
                || e != epoch
            {
                break;
            }
            let start = at + WAL_RECORD_HEAD;
            let Some(rec) = body.get(start..start + n as usize) else {
                break;
            };
            if fnv1a(&[&e.to_le_bytes(), rec]) != sum {
                break;
            }
            match WalCommit::parse(magic, rec) {
                Some(c) => commits.push(c),
                None => {
                    return Err(corrupt(format!(
                        "write-ahead log record at {} has a valid checksum but does not parse",
                        Self::START as usize + at
                    )));
                }
            }
            at = start + n as usize;
        }
        let offset = Self::START + at as u64;
        Ok((
            Wal {
                file,
                epoch,
                offset,
                staged: Vec::new(),
            },
            commits,
        ))
    }

    fn header(epoch: u64) -> Vec<u8> {
        let mut h = WAL_MAGIC.to_vec();
        h.extend_from_slice(&WAL_VERSION.to_le_bytes());
        h.extend_from_slice(&epoch.to_le_bytes());
        let sum = fnv1a(&[&h]);
        h.extend_from_slice(&sum.to_le_bytes());
        h
    }

    fn read_header(slot: &[u8]) -> Option<u64> {
        let h = slot.get(..28)?;
        if &h[..8] != WAL_MAGIC || fnv1a(&[&h[..20]]).to_le_bytes() != h[20..28] {
            return None;
        }
        let version = u32::from_le_bytes(h[8..12].try_into().ok()?);
        if version != WAL_VERSION {
            return None;
        }
        Some(u64::from_le_bytes(h[12..20].try_into().ok()?))
    }

    /// Appends `commit` and syncs it. Returns `false`, writing nothing, when
    /// the log has no room for it: the caller then syncs its database and
    /// calls [`Wal::reset`] (a checkpoint), which makes the command durable
    /// as well.
    pub fn append(&mut self, commit: &WalCommit) -> Result<bool, StoreError> {
        if !self.stage(commit) {
            return Ok(false);
        }
        self.sync_staged()?;
        Ok(true)
    }

    /// Adds `commit` to the records the next [`Wal::sync_staged`] writes
    /// (group commit: many commands, one write and one sync). Returns
    /// `false`, staging nothing, when the log has no room for it after
    /// what is staged already.
    pub fn stage(&mut self, commit: &WalCommit) -> bool {
        let body = commit.body();
        let total = WAL_RECORD_HEAD + body.len();
        if self.offset + (self.staged.len() + total) as u64 > Self::SIZE {
            return false;
        }
        self.staged.extend_from_slice(&commit.kind().to_le_bytes());
        self.staged
            .extend_from_slice(&(body.len() as u32).to_le_bytes());
        self.staged.extend_from_slice(&self.epoch.to_le_bytes());
        self.staged
            .extend_from_slice(&fnv1a(&[&self.epoch.to_le_bytes(), &body]).to_le_bytes());
        self.staged.extend_from_slice(&body);
        true
    }

    /// Writes the staged records in one write and syncs them.
    pub fn sync_staged(&mut self) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        if self.staged.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.staged, self.offset)
            .map_err(wal_io)?;
        self.file.sync_data().map_err(wal_io)?;
        self.offset += self.staged.len() as u64;
        self.staged.clear();
        Ok(())
    }

    /// Removes a log left at `path` (a new store is created there: records
    /// of a store that was deleted must not be applied to it).
    pub fn discard(path: &Path) -> Result<(), StoreError> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(wal_io(e)),
            _ => Ok(()),
        }
    }

    /// Whether the log holds records.
    pub fn is_empty(&self) -> bool {
        self.offset == Self::START && self.staged.is_empty()
    }

    /// Empties the log by advancing the epoch. Only after the database has
    /// made every logged command durable.
    pub fn reset(&mut self) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let epoch = self.epoch + 1;
        let slot = if epoch % 2 == 0 { 512 } else { 0 };
        self.file
            .write_all_at(&Self::header(epoch), slot)
            .map_err(wal_io)?;
        self.file.sync_data().map_err(wal_io)?;
        self.epoch = epoch;
        self.offset = Self::START;
        self.staged.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(i: u64) -> WalCommit {
        if i == 5 {
            return WalCommit::records_only(&[RecordOp::Delete { key: "x".into() }]);
        }
        WalCommit {
            instance: format!("{i}"),
            seq: i,
            events: (i % 2 == 0).then(|| vec![b'e'; i as usize]),
            checkpoint: format!("checkpoint {i}").into_bytes(),
            records: match i % 3 {
                0 => Vec::new(),
                1 => vec![RecordOp::Put {
                    key: format!("outbox/{i}"),
                    value: vec![b'v'; i as usize],
                }],
                _ => vec![
                    RecordOp::Delete {
                        key: format!("outbox/{i}"),
                    },
                    RecordOp::Put {
                        key: "k".into(),
                        value: Vec::new(),
                    },
                ],
            },
        }
    }

    #[test]
    fn wal_replays_its_epoch_up_to_the_first_torn_record() {
        use std::os::unix::fs::FileExt;
        let dir = std::env::temp_dir().join(format!("orchid-wal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("wal");
        let _ = std::fs::remove_file(&path);
        let (mut wal, replay) = Wal::open(&path).expect("creates");
        assert!(replay.is_empty() && wal.is_empty());
        for i in 0..3 {
            assert!(wal.append(&commit(i)).expect("appends"));
        }
        let third = wal.offset - Wal::START;
        drop(wal);
        let (wal, replay) = Wal::open(&path).expect("reopens");
        assert_eq!(replay, (0..3).map(commit).collect::<Vec<_>>());
        drop(wal);
        // A torn last record (one byte of its body changed) ends the log.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("opens");
        f.write_all_at(b"X", Wal::START + third - 2)
            .expect("writes");
        drop(f);
        let (mut wal, replay) = Wal::open(&path).expect("reopens");
        assert_eq!(replay, (0..2).map(commit).collect::<Vec<_>>());
        // After a reset, older records are not replayed, newer ones are.
        wal.reset().expect("resets");
        assert!(wal.append(&commit(5)).expect("appends"));
        drop(wal);
        let (mut wal, replay) = Wal::open(&path).expect("reopens");
        assert_eq!(replay, vec![commit(5)]);
        wal.reset().expect("resets");
        drop(wal);
        let (_, replay) = Wal::open(&path).expect("reopens");
        assert!(replay.is_empty());
        // A record that does not fit is refused, nothing written.
        let (mut wal, _) = Wal::open(&path).expect("reopens");
        let huge = WalCommit {
            checkpoint: vec![0; Wal::SIZE as usize],
            ..commit(1)
        };
        assert!(!wal.append(&huge).expect("no error"));
        assert!(wal.is_empty());
        drop(wal);
        // Both header slots damaged: an error naming the file.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("opens");
        f.write_all_at(&[0; 1024], 0).expect("writes");
        drop(f);
        assert!(matches!(Wal::open(&path), Err(StoreError::Corrupt { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
