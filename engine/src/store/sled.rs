//! The sled store: a directory holding one sled database.
//!
//! Guarantees:
//! - Everything lives in sled's default tree under prefixed keys (layout in
//!   `docs/persistence.md`). [`Store::commit`] (events + checkpoint) is
//!   atomic — after a crash (and the replay on open) either all of it is
//!   there or none: Deferred groups are one [`::sled::Batch`], Immediate
//!   commands are first written whole to the write-ahead log.
//! - With [`Durability::Immediate`] `commit` returns only after the command
//!   is in the write-ahead log (`Wal`, `orchid-wal` in the directory) and
//!   the log's `fdatasync` has returned; the command is then inserted into
//!   sled without a flush. At a checkpoint (log full, or the store closed)
//!   `Db::flush` writes sled's log and an `fdatasync` of sled's data file
//!   follows (sled 0.34 itself waits with `sync_file_range` on Linux, which
//!   survives a killed process but not a power cut: it does not flush the
//!   drive's cache or the file's size); then the log is emptied. `open`
//!   replays the log.
//!   With [`Durability::Deferred`] commits wait in memory (`Pending`,
//!   read by `load`/`events`/`instances`) and are applied as one batch (a
//!   group write, each command's records together in it) at the next
//!   [`Store::flush`], when the store is dropped, or when the group reaches
//!   `Pending::MAX_COMMITS` commits or `Pending::MAX_BYTES` bytes; a
//!   group applied that way reaches the disk at the next `flush`, at sled's
//!   own periodic flush (every 500 ms by default) or on drop.
//! - The event log holds one record per command: the command's events
//!   under (instance, commit sequence number); `events` concatenates them.
//! - Instance numbers are reserved in durable blocks of [`RESERVE`]: the
//!   bound is flushed before any number below it is handed out, so a number
//!   is never handed out twice, also across a crash (numbers of a block not
//!   used before a crash are skipped).
//! - The layout version ([`LAYOUT_VERSION`]) is written when the store is
//!   created and checked on every open; records inside are in the versioned
//!   envelope of [`super::encode`].
//! - A path that is a file, or a non-empty directory without sled's files,
//!   or a sled database without our version key, is refused with
//!   [`StoreError::NotAStore`]; a record that does not decode is
//!   [`StoreError::Corrupt`] naming its key.
//! - sled reads a data file it cannot make sense of as an *empty* database.
//!   So that such a store is not silently recreated empty, a marker file
//!   (`orchid-store`) is written next to sled's files once the store exists;
//!   a marked directory whose database has no layout version is
//!   [`StoreError::Corrupt`].
//!
//! Deviations (sled 0.34's, documented in `docs/persistence.md`):
//! - Damage in the middle of sled's data file reads as the end of its log:
//!   sled opens the state as of the last intact write, without an error, so
//!   commands acknowledged after the damaged spot are lost silently (the
//!   state is consistent: each instance as of an earlier command). Only the
//!   case where nothing at all is recovered is caught, by the marker.
//! - A damaged file can make sled panic while opening; `open` turns that
//!   panic into [`StoreError::Corrupt`].

use std::path::Path;

use ::sled::{Batch, Db, IVec};

use super::{
    DeploymentRecord, Durability, Pending, RecordOp, Store, StoreError, Wal, WalCommit,
    check_depth, decode, encode, overlay_first, overlay_records,
};
use crate::core::{Event, InstanceState};

/// Version of this store's key layout.
pub const LAYOUT_VERSION: u32 = 2;

/// How many instance numbers one durable reservation covers.
pub const RESERVE: u64 = 64;

/// How long `open` waits for sled's file lock (see [`SledStore::open`]).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// A file next to sled's own, written once the store exists. sled recovers
/// a data file it cannot read as an empty database; the marker tells that
/// apart from a new store.
const MARKER: &str = "orchid-store";
/// The write-ahead log of Immediate commits (see `Wal`).
const WAL_FILE: &str = "orchid-wal";
const KEY_FORMAT: &[u8] = b"m/format";
const KEY_COUNTER: &[u8] = b"m/counter";
const PREFIX_DEPLOYMENT: &[u8] = b"d/";
const PREFIX_CHECKPOINT: &[u8] = b"c/";
const PREFIX_EVENT: &[u8] = b"e/";
/// Engine records ([`Store::put_record`]): `r/` + the record's key. Added
/// within layout 2: a store without any simply has none.
const PREFIX_RECORD: &[u8] = b"r/";

fn record_key(key: &str) -> Vec<u8> {
    let mut k = PREFIX_RECORD.to_vec();
    k.extend_from_slice(key.as_bytes());
    k
}

/// Removes sled's unfinished snapshot files (`snap.<lsn>.generating`) in
/// `dir`; returns how many there were.
fn remove_unfinished_snapshots(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.")
            && name.ends_with(".generating")
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// The store. Opening locks the directory for this process.
pub struct SledStore {
    db: Db,
    durability: Durability,
    /// The next instance number to hand out.
    next_number: u64,
    /// Numbers below this bound are reserved durably.
    reserved: u64,
    /// Batches applied but not yet flushed (Deferred only).
    dirty: bool,
    /// Deferred commits not yet applied to sled (see `Pending`).
    pending: Pending,
    /// sled's data file, opened again to fsync it (see [`SledStore::sync`]).
    data: std::fs::File,
    /// The write-ahead log of Immediate commits.
    wal: Wal,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("durability", &self.durability)
            .field("next_number", &self.next_number)
            .finish_non_exhaustive()
    }
}

fn io(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("sled: {context}: {e}"))
}

fn checkpoint_key(instance: &str) -> Vec<u8> {
    let mut k = PREFIX_CHECKPOINT.to_vec();
    k.extend_from_slice(instance.as_bytes());
    k
}

/// `e/` + id length (u32 BE) + id + sequence (u64 BE): the length makes
/// the prefix of one instance never a prefix of another's.
fn event_prefix(instance: &str) -> Vec<u8> {
    let mut k = PREFIX_EVENT.to_vec();
    // Instance ids are short; one longer than u32::MAX bytes cannot exist
    // in memory next to its own key anyway.
    k.extend_from_slice(&(instance.len() as u32).to_be_bytes());
    k.extend_from_slice(instance.as_bytes());
    k
}

/// A key as people read it in error messages.
fn show(key: &[u8]) -> String {
    if let Some(rest) = key.strip_prefix(PREFIX_EVENT)
        && rest.len() >= 12
    {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() == 4 + len + 8 {
            let id = String::from_utf8_lossy(&rest[4..4 + len]);
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&rest[4 + len..]);
            return format!("events/{id}/{}", u64::from_be_bytes(seq));
        }
    }
    if let Some(rest) = key.strip_prefix(PREFIX_DEPLOYMENT)
        && let Ok(seq) = <[u8; 8]>::try_from(rest)
    {
        return format!("deployments/{}", u64::from_be_bytes(seq));
    }
    if let Some(rest) = key.strip_prefix(PREFIX_CHECKPOINT) {
        return format!("checkpoints/{}", String::from_utf8_lossy(rest));
    }
    if let Some(rest) = key.strip_prefix(PREFIX_RECORD) {
        return format!("records/{}", String::from_utf8_lossy(rest));
    }
    String::from_utf8_lossy(key).into_owned()
}

/// Writes the marker file durably (the file, then the directory entry).
fn write_marker(dir: &Path) -> std::io::Result<()> {
    let marker = dir.join(MARKER);
    std::fs::write(
        &marker,
        format!("orchid-bpmn sled store, layout {LAYOUT_VERSION}\n"),
    )?;
    std::fs::File::open(&marker)?.sync_all()?;
    std::fs::File::open(dir)?.sync_all()
}

/// See [`SledStore::sync`].
fn sync(db: &Db, data: &std::fs::File) -> Result<(), StoreError> {
    db.flush().map_err(|e| io("flush", e))?;
    data.sync_data().map_err(|e| io("fsync", e))
}

/// Adds the records of one command (or record-only write) to a batch.
fn put(b: &mut Batch, c: &WalCommit) {
    if c.is_records_only() {
        put_records(b, &c.records);
        return;
    }
    if let Some(events) = &c.events {
        let mut key = event_prefix(&c.instance);
        key.extend_from_slice(&c.seq.to_be_bytes());
        b.insert(key, events.as_slice());
    }
    b.insert(checkpoint_key(&c.instance), c.checkpoint.as_slice());
    put_records(b, &c.records);
}

/// Adds engine record writes to a batch.
fn put_records(b: &mut Batch, records: &[RecordOp]) {
    for r in records {
        match r {
            RecordOp::Put { key, value } => b.insert(record_key(key), value.as_slice()),
            RecordOp::Delete { key } => b.remove(record_key(key)),
        }
    }
}

fn read_u64(key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt {
            key: show(key),
            message: format!("expected 8 bytes, found {}", bytes.len()),
        })
}

fn last_seq(db: &Db, prefix: &[u8]) -> Result<Option<u64>, StoreError> {
    match db.scan_prefix(prefix).next_back() {
        None => Ok(None),
        Some(Err(e)) => Err(io("scan", e)),
        Some(Ok((k, _))) => read_u64(&k, &k[prefix.len()..]).map(Some),
    }
}

impl SledStore {
    /// Opens the store in directory `path`, creating it if nothing is there.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let not_a_store = |message: &str| StoreError::NotAStore {
            path: shown.clone(),
            message: message.to_string(),
        };
        if path.is_file() {
            return Err(not_a_store(
                "it is a file; a sled store is a directory holding sled's `conf` and `db` files",
            ));
        }
        let marker = path.join(MARKER);
        let marked = marker.is_file();
        if path.is_dir() {
            let mut entries = std::fs::read_dir(path).map_err(|e| io(&shown, e))?;
            let empty = entries.next().is_none();
            if !empty && !path.join("db").is_file() {
                if marked {
                    return Err(StoreError::Corrupt {
                        key: shown,
                        message: "sled's `db` file is missing".to_string(),
                    });
                }
                return Err(not_a_store(
                    "the directory is not empty and holds no sled `db` file",
                ));
            }
        }
        let config = ::sled::Config::new().path(path);
        // sled 0.34 can panic on a damaged file instead of returning its
        // `Corruption` error; contain that here.
        let open_once = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
        let mut opened = open_once();
        // Dropping a sled `Db` does not release its file lock at once: sled's
        // background threads (the pool that writes sealed log buffers after
        // a large batch, deferred epoch cleanup) hold the database a moment
        // longer. So that a store can be reopened right after it was
        // dropped, a held lock is retried for up to LOCK_WAIT before it is
        // reported (a store really open elsewhere stays an error).
        let waited = std::time::Instant::now();
        while let Ok(Err(::sled::Error::Io(e))) = &opened
            && e.to_string().contains("could not acquire lock")
            && waited.elapsed() < LOCK_WAIT
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
            opened = open_once();
        }
        // A process killed while sled wrote a snapshot leaves the unfinished
        // `snap.*.generating` file behind, and sled 0.34 may refuse to open
        // with it (sled issue #1527). It is incomplete by its name; the
        // finished snapshot and the log beside it are what sled recovers
        // from. Remove such files and try once more.
        if matches!(opened, Ok(Err(::sled::Error::Corruption { .. })) | Err(_))
            && remove_unfinished_snapshots(path) > 0
        {
            opened = open_once();
        }
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(::sled::Error::Corruption { at, .. })) => {
                return Err(StoreError::Corrupt {
                    key: shown,
                    message: format!(
                        "sled found damaged data{}",
                        at.map(|a| format!(" at {a:?}")).unwrap_or_default()
                    ),
                });
            }
            Ok(Err(::sled::Error::Io(e))) if e.to_string().contains("could not acquire lock") => {
                return Err(StoreError::Locked { path: shown });
            }
            Ok(Err(e)) => return Err(io(&shown, e)),
            Err(_) => {
                return Err(StoreError::Corrupt {
                    key: shown,
                    message: "sled could not read its files (it panicked while opening)"
                        .to_string(),
                });
            }
        };
        let data = std::fs::File::open(path.join("db")).map_err(|e| io(&shown, e))?;
        match db.get(KEY_FORMAT).map_err(|e| io("read", e))? {
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        key: show(KEY_FORMAT),
                        message: format!("expected 4 bytes, found {}", v.len()),
                    })?;
                if found != LAYOUT_VERSION {
                    return Err(StoreError::Version {
                        key: show(KEY_FORMAT),
                        found,
                        expected: LAYOUT_VERSION,
                    });
                }
                if marked {
                    super::check_log_present(&shown, &path.join(WAL_FILE))?;
                } else {
                    // A crash between creating the database and the marker.
                    write_marker(path).map_err(|e| io(&shown, e))?;
                }
            }
            None if marked => {
                return Err(StoreError::Corrupt {
                    key: show(KEY_FORMAT),
                    message: format!(
                        "`{MARKER}` says that {shown} holds an orchid-bpmn store, but sled \
                         recovered no layout version from it: its `db` file is damaged or \
                         was replaced"
                    ),
                });
            }
            None if db.is_empty() => {
                // A log left by a store that was deleted is not this one's;
                // the new log exists before the marker does (so a marked
                // store without a log lost it).
                Wal::discard(&path.join(WAL_FILE))?;
                drop(Wal::open(&path.join(WAL_FILE))?);
                let mut b = Batch::default();
                b.insert(KEY_FORMAT, &LAYOUT_VERSION.to_be_bytes());
                b.insert(KEY_COUNTER, &0u64.to_be_bytes());
                db.apply_batch(b).map_err(|e| io("create", e))?;
                // The database is durable before the marker says it exists.
                sync(&db, &data)?;
                write_marker(path).map_err(|e| io(&shown, e))?;
            }
            None => {
                return Err(not_a_store(
                    "a sled database without the orchid-bpmn format key `m/format`",
                ));
            }
        }
        let reserved = match db.get(KEY_COUNTER).map_err(|e| io("read", e))? {
            Some(v) => read_u64(KEY_COUNTER, &v)?,
            None => {
                return Err(StoreError::Corrupt {
                    key: show(KEY_COUNTER),
                    message: "the instance counter is missing".to_string(),
                });
            }
        };
        let (mut wal, replay) = Wal::open(&path.join(WAL_FILE))?;
        if !replay.is_empty() {
            // Commands acknowledged since the last checkpoint: applied
            // again (in order; later puts win), made durable, log emptied.
            let mut b = Batch::default();
            for c in &replay {
                put(&mut b, c);
            }
            db.apply_batch(b).map_err(|e| io("replay", e))?;
            sync(&db, &data)?;
            wal.reset()?;
        }
        Ok(SledStore {
            db,
            durability,
            // Numbers are handed out from 1; everything up to `reserved`
            // may have been handed out before.
            next_number: reserved + 1,
            reserved: reserved + 1,
            dirty: false,
            pending: Pending::default(),
            data,
            wal,
        })
    }

    /// Makes everything written so far durable: sled's `flush` writes its
    /// buffers, and on Linux waits for them with `sync_file_range`, which
    /// neither flushes the drive's cache nor the file's size; the
    /// `fdatasync` of the data file that follows does both.
    fn sync(&self) -> Result<(), StoreError> {
        sync(&self.db, &self.data)
    }

    /// Syncs the database and empties the write-ahead log.
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        // The waiting group first: the log may hold commands only it has.
        self.write_pending()?;
        self.sync()?;
        self.wal.reset()
    }

    /// Applies one batch and, with Immediate durability, flushes it.
    fn write(&mut self, batch: Batch) -> Result<(), StoreError> {
        self.db.apply_batch(batch).map_err(|e| io("write", e))?;
        match self.durability {
            Durability::Immediate | Durability::Grouped => {
                self.sync()?;
            }
            Durability::Deferred => self.dirty = true,
        }
        Ok(())
    }

    /// Applies the waiting Deferred commits as one batch (a group write;
    /// not yet flushed).
    fn write_pending(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // The database never holds a command the log does not.
        self.wal.sync_staged()?;
        let mut b = Batch::default();
        for (id, records) in &self.pending.events {
            let prefix = event_prefix(id);
            for (seq, bytes) in records {
                let mut key = prefix.clone();
                key.extend_from_slice(&seq.to_be_bytes());
                b.insert(key, bytes.as_slice());
            }
        }
        for (id, bytes) in &self.pending.checkpoints {
            b.insert(checkpoint_key(id), bytes.as_slice());
        }
        for (key, value) in &self.pending.records {
            match value {
                Some(v) => b.insert(record_key(key), v.as_slice()),
                None => b.remove(record_key(key)),
            }
        }
        self.db.apply_batch(b).map_err(|e| io("write", e))?;
        self.pending.clear();
        self.dirty = true;
        Ok(())
    }

    /// Every record under `prefix`, decoded, in key order.
    fn scan<T: for<'de> serde::Deserialize<'de>>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(IVec, T)>, StoreError> {
        self.db
            .scan_prefix(prefix)
            .map(|r| {
                let (k, v): (IVec, IVec) = r.map_err(|e| io("scan", e))?;
                let value = decode(&show(&k), &v)?;
                Ok((k, value))
            })
            .collect()
    }
}

impl Store for SledStore {
    fn save_deployment(&mut self, d: &DeploymentRecord) -> Result<(), StoreError> {
        let seq = last_seq(&self.db, PREFIX_DEPLOYMENT)?.map_or(0, |s| s + 1);
        let mut key = PREFIX_DEPLOYMENT.to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        let mut b = Batch::default();
        b.insert(key, encode(d));
        self.write(b)
    }

    fn deployments(&self) -> Result<Vec<DeploymentRecord>, StoreError> {
        Ok(self
            .scan(PREFIX_DEPLOYMENT)?
            .into_iter()
            .map(|(_, d)| d)
            .collect())
    }

    fn load(&self, instance: &str) -> Result<Option<InstanceState>, StoreError> {
        if let Some(bytes) = self.pending.checkpoints.get(instance) {
            return decode(&format!("checkpoints/{instance}"), bytes).map(Some);
        }
        let key = checkpoint_key(instance);
        match self.db.get(&key).map_err(|e| io("read", e))? {
            Some(v) => decode(&show(&key), &v).map(Some),
            None => Ok(None),
        }
    }

    fn commit_with(
        &mut self,
        state: &InstanceState,
        events: &[Event],
        records: &[RecordOp],
    ) -> Result<(), StoreError> {
        // One record per command: all its events under (instance, commit
        // sequence number).
        let prefix = event_prefix(&state.id);
        let seq = match self.pending.next_seq(&state.id) {
            Some(seq) => seq,
            None => last_seq(&self.db, &prefix)?.map_or(0, |s| s + 1),
        };
        let record = (!events.is_empty()).then(|| encode(&events));
        let checkpoint = encode(state);
        check_depth(
            &state.id,
            &[&checkpoint, record.as_deref().unwrap_or_default()],
        )?;
        let c = WalCommit {
            instance: state.id.clone(),
            seq,
            events: record,
            checkpoint,
            records: records.to_vec(),
        };
        // Immediate and Grouped log the command first (Immediate: written
        // and synced now; Grouped: staged for the next `flush`). Then it
        // joins the waiting group, applied to sled as one batch per group
        // (`write_pending`, not synced: the log has it). One batch keeps a
        // command whole in sled's own log too, so media damage (which sled
        // reads as the end of its log) never splits it, and the batch costs
        // one seal of sled's I/O buffer per group, not per command.
        let logged = match self.durability {
            Durability::Immediate => self.wal.append(&c)?,
            Durability::Grouped => self.wal.stage(&c),
            Durability::Deferred => true,
        };
        let full = self.pending.add_commit(c);
        if !logged {
            // The log has no room: what it holds is synced, and the group,
            // this command included, is applied and made durable by a
            // checkpoint, which empties the log.
            self.wal.sync_staged()?;
            return self.checkpoint();
        }
        if full {
            self.write_pending()?;
        }
        Ok(())
    }

    fn events(&self, instance: &str) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::new();
        for (_, batch) in self.scan::<Vec<Event>>(&event_prefix(instance))? {
            out.extend(batch);
        }
        self.pending.read_events(instance, &mut out)?;
        Ok(out)
    }

    fn instances(&self) -> Result<Vec<InstanceState>, StoreError> {
        let stored = self
            .scan(PREFIX_CHECKPOINT)?
            .into_iter()
            .map(|(k, s)| {
                let id = String::from_utf8_lossy(&k[PREFIX_CHECKPOINT.len()..]).into_owned();
                (id, s)
            })
            .collect();
        self.pending.merge_instances(stored)
    }

    fn next_instance_number(&mut self) -> Result<u64, StoreError> {
        if self.next_number >= self.reserved {
            // Reserve the next block durably before handing out any of it,
            // whatever the durability of commits.
            let bound = self.next_number + RESERVE;
            self.db
                .insert(KEY_COUNTER, &(bound - 1).to_be_bytes())
                .map_err(|e| io("write", e))?;
            self.sync()?;
            self.reserved = bound;
        }
        let n = self.next_number;
        self.next_number += 1;
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.durability == Durability::Grouped {
            // The group is durable once the log has it.
            return self.wal.sync_staged();
        }
        self.write_pending()?;
        self.sync()?;
        self.dirty = false;
        Ok(())
    }

    fn write_records(&mut self, records: &[RecordOp]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        match self.durability {
            Durability::Immediate | Durability::Grouped => {
                // Logged like a command, so that a replay applies record
                // writes and commands in the order they happened; then
                // they join the waiting group, after its commands.
                let c = WalCommit::records_only(records);
                let logged = match self.durability {
                    Durability::Immediate => self.wal.append(&c)?,
                    _ => self.wal.stage(&c),
                };
                self.pending.add_records(records);
                if !logged {
                    self.wal.sync_staged()?;
                    return self.checkpoint();
                }
                Ok(())
            }
            Durability::Deferred => {
                // Waiting commits first: their record writes are older.
                self.write_pending()?;
                let mut b = Batch::default();
                put_records(&mut b, records);
                self.write(b)
            }
        }
    }

    fn delete_instance(&mut self, instance: &str) -> Result<(), StoreError> {
        // Waiting commits first (they may be this instance's); then one
        // batch, and a checkpoint: the database is synced and the log
        // emptied, so no replay brings the instance back.
        self.write_pending()?;
        let mut b = Batch::default();
        b.remove(checkpoint_key(instance));
        for r in self.db.scan_prefix(event_prefix(instance)) {
            let (k, _) = r.map_err(|e| io("scan", e))?;
            b.remove(k);
        }
        self.db.apply_batch(b).map_err(|e| io("write", e))?;
        self.checkpoint()
    }

    fn first_records(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        overlay_first(prefix, limit, &self.pending.records, |n| {
            self.stored_records(prefix, n)
        })
    }

    fn records(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let stored = self.stored_records(prefix, usize::MAX)?;
        Ok(overlay_records(prefix, stored, &self.pending.records))
    }
}

impl SledStore {
    /// The first `limit` records under `prefix` in the database (not the
    /// waiting group).
    fn stored_records(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.db
            .scan_prefix(record_key(prefix))
            .take(limit)
            .map(|r| {
                let (k, v) = r.map_err(|e| io("scan", e))?;
                let key = String::from_utf8_lossy(&k[PREFIX_RECORD.len()..]).into_owned();
                Ok((key, v.to_vec()))
            })
            .collect()
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Deferred commits reach the disk here at the latest. A failure
        // cannot be reported from `drop`; callers that need to know call
        // `flush` first (sled's own drop flushes once more as well).
        if self.dirty || !self.pending.is_empty() {
            let _ = self.write_pending().and_then(|()| self.sync());
        }
        // A clean close leaves an empty log behind.
        if !self.wal.is_empty() {
            let _ = self.checkpoint();
        }
    }
}
