//! The redb store: a single redb database file.
//!
//! Guarantees:
//! - Four tables (layout in `docs/persistence.md`): `meta` (layout version
//!   and instance counter), `deployments`, `checkpoints` and `events`, keyed
//!   by (instance id, commit sequence number) so that an instance's log
//!   reads back in order.
//! - [`Store::commit`] (events + checkpoint) is atomic: after a crash (and
//!   the replay on open) either all of it is there or none.
//! - With [`Durability::Immediate`] `commit` returns only after the command
//!   is in the write-ahead log (`Wal`, `PATH-wal`, see `wal_path`) and
//!   the log's `fdatasync` has returned; the command then joins the group
//!   of waiting commits (below), written in one transaction with redb's
//!   `Durability::None` per `Pending::MAX_COMMITS` commits, and durably
//!   at `flush`, at a checkpoint (log full) and on drop, after which the
//!   log is emptied. `open` replays the log. With [`Durability::Deferred`] commits wait in memory
//!   (`Pending`, read by `load`/`events`/`instances`) and are written in
//!   one transaction (a group write, each command's records together in
//!   it): committed with redb's `Durability::Immediate` at the next
//!   [`Store::flush`] or when the store is dropped, and with redb's
//!   `Durability::None` (reaching the disk with the next durable
//!   transaction) when the group reaches `Pending::MAX_COMMITS` commits
//!   or `Pending::MAX_BYTES` bytes.
//! - The `events` table holds one record per command: the command's events
//!   under (instance id, commit sequence number); `events` concatenates
//!   them.
//! - Instance numbers are reserved in durable blocks of [`RESERVE`] (an
//!   Immediate transaction, whatever the store's durability), so a number is
//!   never handed out twice, also across a crash; the unused rest of a
//!   block is skipped after a crash.
//! - The layout version ([`LAYOUT_VERSION`]) is written when the file is
//!   created and checked on every open; records are in the versioned
//!   envelope of [`super::encode`].
//! - A file that is not a redb database, or a redb database without our
//!   tables, is refused with [`StoreError::NotAStore`]; a record that does
//!   not decode is [`StoreError::Corrupt`] naming its key.
//!
//! Deviation: debug builds of redb panic on some kinds of damage that
//! release builds report as errors; every redb call here runs under
//! `catch_unwind`, which turns such a panic into [`StoreError::Corrupt`].

use std::path::Path;

use ::redb::{
    Database, DatabaseError, ReadableDatabase, ReadableTable, StorageError, TableDefinition,
    TableError, WriteTransaction,
};

use super::{
    DeploymentRecord, Durability, Pending, RecordOp, Store, StoreError, Wal, WalCommit,
    check_depth, decode, encode, overlay_first, overlay_records,
};
use crate::core::{Event, InstanceState};

/// Version of this store's table layout.
pub const LAYOUT_VERSION: u32 = 2;

/// How many instance numbers one durable reservation covers.
pub const RESERVE: u64 = 64;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const DEPLOYMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("deployments");
const CHECKPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("checkpoints");
const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
/// Engine records ([`Store::put_record`]). Added within layout 2: created
/// by the first write; a store without the table has no records.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");

const FORMAT: &str = "format";
const COUNTER: &str = "counter";

/// The store. Opening locks the file for this process.
pub struct RedbStore {
    db: Database,
    durability: Durability,
    /// The next instance number to hand out.
    next_number: u64,
    /// Numbers below this bound are reserved durably.
    reserved: u64,
    /// Transactions committed but not yet made durable (Deferred only).
    dirty: bool,
    /// Deferred commits not yet written to redb (see `Pending`).
    pending: Pending,
    /// The write-ahead log of Immediate commits, next to the file.
    wal: Wal,
}

/// Where the write-ahead log of the store at `path` lives: `PATH-wal`.
pub fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    p.into()
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("durability", &self.durability)
            .field("next_number", &self.next_number)
            .finish_non_exhaustive()
    }
}

fn io(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("redb: {context}: {e}"))
}

/// Runs `f` in a read transaction.
fn read<T>(
    db: &Database,
    f: impl FnOnce(&::redb::ReadTransaction) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    contain(|| {
        let txn = db.begin_read().map_err(|e| io("begin read", e))?;
        f(&txn)
    })
}

/// Turns a panic of redb's (debug builds assert on damaged pages) into
/// [`StoreError::Corrupt`].
fn contain<T>(f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(StoreError::Corrupt {
            key: "redb page".to_string(),
            message: "redb found a damaged page (it panicked while reading it)".to_string(),
        })
    })
}

fn table_error(name: &str, e: TableError) -> StoreError {
    match e {
        TableError::TableDoesNotExist(_) | TableError::TableTypeMismatch { .. } => {
            StoreError::Corrupt {
                key: name.to_string(),
                message: e.to_string(),
            }
        }
        e => io(&format!("open table `{name}`"), e),
    }
}

impl RedbStore {
    /// Opens the store in file `path`, creating it if nothing is there.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let not_a_store = |message: String| StoreError::NotAStore {
            path: shown.clone(),
            message,
        };
        if path.is_dir() {
            return Err(not_a_store(
                "it is a directory; a redb store is a single file".to_string(),
            ));
        }
        // An empty or missing data file beside a write-ahead log: the store
        // that was here was truncated or deleted. Creating a new one would
        // lose it without a word.
        let log = wal_path(path);
        let data_len = path.metadata().map(|m| m.len()).ok();
        if data_len.unwrap_or(0) == 0 && log.exists() {
            return Err(StoreError::Corrupt {
                key: shown,
                message: format!(
                    "the data file is {} but the store's write-ahead log {} is there: the store was truncated or deleted (remove the log too to create a new store here)",
                    if data_len.is_some() {
                        "empty"
                    } else {
                        "missing"
                    },
                    log.display()
                ),
            });
        }
        let open_once = || std::panic::catch_unwind(|| Database::create(path));
        let mut opened = open_once();
        // As for sled: a store just closed by this process (or one that
        // another is closing) gets a moment before it counts as held.
        let waited = std::time::Instant::now();
        while matches!(opened, Ok(Err(DatabaseError::DatabaseAlreadyOpen)))
            && waited.elapsed() < std::time::Duration::from_millis(500)
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
            opened = open_once();
        }
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(StoreError::Locked { path: shown });
            }
            Ok(Err(DatabaseError::Storage(StorageError::Io(e))))
                if e.kind() == std::io::ErrorKind::InvalidData =>
            {
                return Err(not_a_store(format!("not a redb database ({e})")));
            }
            Ok(Err(DatabaseError::Storage(StorageError::Corrupted(m)))) => {
                return Err(StoreError::Corrupt {
                    key: shown,
                    message: format!("redb found damaged data: {m}"),
                });
            }
            Ok(Err(e)) => return Err(io(&shown, e)),
            Err(_) => {
                return Err(StoreError::Corrupt {
                    key: shown,
                    message: "redb could not read the file (it panicked while opening)".to_string(),
                });
            }
        };
        let format = read(&db, |txn| {
            let tables = txn.list_tables().map_err(|e| io("list tables", e))?.count();
            match txn.open_table(META) {
                Ok(t) => {
                    let v = t.get(FORMAT).map_err(|e| io("read", e))?;
                    Ok(Some(v.map(|g| g.value())))
                }
                Err(TableError::TableDoesNotExist(_)) if tables == 0 => Ok(None),
                Err(e) => Err(not_a_store(format!(
                    "a redb database without orchid-bpmn's `meta` table ({e})"
                ))),
            }
        })?;
        match format {
            // A new (empty) database: create the layout (a log left by a
            // store that was deleted is not this one's).
            None => contain(|| {
                // The log first: once the layout is written, the log exists
                // (its absence means it was removed).
                Wal::discard(&wal_path(path))?;
                drop(Wal::open(&wal_path(path))?);
                let txn = db.begin_write().map_err(|e| io("begin write", e))?;
                {
                    let mut meta = txn.open_table(META).map_err(|e| io("create", e))?;
                    meta.insert(FORMAT, u64::from(LAYOUT_VERSION))
                        .map_err(|e| io("create", e))?;
                    meta.insert(COUNTER, 0).map_err(|e| io("create", e))?;
                    txn.open_table(DEPLOYMENTS).map_err(|e| io("create", e))?;
                    txn.open_table(CHECKPOINTS).map_err(|e| io("create", e))?;
                    txn.open_table(EVENTS).map_err(|e| io("create", e))?;
                }
                txn.commit().map_err(|e| io("create", e))
            })?,
            Some(None) => {
                return Err(StoreError::Corrupt {
                    key: "meta/format".to_string(),
                    message: "the layout version is missing".to_string(),
                });
            }
            Some(Some(found)) if found != u64::from(LAYOUT_VERSION) => {
                return Err(StoreError::Version {
                    key: "meta/format".to_string(),
                    found: u32::try_from(found).unwrap_or(u32::MAX),
                    expected: LAYOUT_VERSION,
                });
            }
            Some(Some(_)) => super::check_log_present(&shown, &log)?,
        }
        let reserved = read(&db, |txn| {
            let meta = txn.open_table(META).map_err(|e| table_error("meta", e))?;
            meta.get(COUNTER)
                .map_err(|e| io("read", e))?
                .map(|g| g.value())
                .ok_or_else(|| StoreError::Corrupt {
                    key: "meta/counter".to_string(),
                    message: "the instance counter is missing".to_string(),
                })
        })?;
        let (mut wal, replay) = Wal::open(&wal_path(path))?;
        if !replay.is_empty() {
            // Commands acknowledged since the last checkpoint: applied
            // again in order, durably, then the log is emptied.
            contain(|| {
                let mut txn = db.begin_write().map_err(|e| io("begin write", e))?;
                txn.set_durability(::redb::Durability::Immediate)
                    .map_err(|e| io("set durability", e))?;
                for c in &replay {
                    put(&txn, c)?;
                }
                txn.commit().map_err(|e| io("replay", e))
            })?;
            wal.reset()?;
        }
        Ok(RedbStore {
            db,
            durability,
            next_number: reserved + 1,
            reserved: reserved + 1,
            dirty: false,
            pending: Pending::default(),
            wal,
        })
    }

    /// Runs `f` in one write transaction and commits it with the store's
    /// durability.
    fn write(
        &mut self,
        f: impl FnOnce(&WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.write_with(self.durability, f)
    }

    /// Runs `f` in one write transaction and commits it with `durability`
    /// (Deferred: redb's `Durability::None`).
    fn write_with(
        &mut self,
        durability: Durability,
        f: impl FnOnce(&WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let durability = match durability {
            Durability::Immediate | Durability::Grouped => ::redb::Durability::Immediate,
            Durability::Deferred => ::redb::Durability::None,
        };
        contain(|| {
            let mut txn = self.db.begin_write().map_err(|e| io("begin write", e))?;
            txn.set_durability(durability)
                .map_err(|e| io("set durability", e))?;
            f(&txn)?;
            txn.commit().map_err(|e| io("commit", e))
        })?;
        match durability {
            // An Immediate commit also persists every earlier one.
            ::redb::Durability::Immediate => self.dirty = false,
            _ => self.dirty = true,
        }
        Ok(())
    }

    /// Writes the waiting Deferred commits in one transaction (a group
    /// write), committed with `durability`.
    fn write_pending(&mut self, durability: Durability) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // The database never holds a command the log does not.
        self.wal.sync_staged()?;
        let pending = std::mem::take(&mut self.pending);
        let result = self.write_with(durability, |txn| {
            write_records(txn, &pending.events, &pending.checkpoints)?;
            write_engine_records(
                txn,
                pending
                    .records
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_deref())),
            )
        });
        match result {
            Ok(()) => {
                self.pending = pending;
                self.pending.clear();
                Ok(())
            }
            Err(e) => {
                // Nothing was written: the commits keep waiting.
                self.pending = pending;
                Err(e)
            }
        }
    }
}

/// Writes the records of one command (or record-only write).
fn put(txn: &WriteTransaction, c: &WalCommit) -> Result<(), StoreError> {
    if c.is_records_only() {
        return write_engine_records(txn, c.records.iter().map(|r| (r.key(), r.value())));
    }
    if let Some(events) = &c.events {
        let mut log = txn
            .open_table(EVENTS)
            .map_err(|e| table_error("events", e))?;
        log.insert((c.instance.as_str(), c.seq), events.as_slice())
            .map_err(|e| io("write", e))?;
    }
    let mut t = txn
        .open_table(CHECKPOINTS)
        .map_err(|e| table_error("checkpoints", e))?;
    t.insert(c.instance.as_str(), c.checkpoint.as_slice())
        .map_err(|e| io("write", e))?;
    write_engine_records(txn, c.records.iter().map(|r| (r.key(), r.value())))
}

/// Writes engine records (key, value; `None` removes it).
fn write_engine_records<'a>(
    txn: &WriteTransaction,
    records: impl Iterator<Item = (&'a str, Option<&'a [u8]>)>,
) -> Result<(), StoreError> {
    let mut records = records.peekable();
    if records.peek().is_none() {
        return Ok(());
    }
    let mut t = txn
        .open_table(RECORDS)
        .map_err(|e| table_error("records", e))?;
    for (key, value) in records {
        match value {
            Some(v) => t.insert(key, v).map(|_| ()),
            None => t.remove(key).map(|_| ()),
        }
        .map_err(|e| io("write", e))?;
    }
    Ok(())
}

/// The last event record's sequence number of `id`, if it has one.
fn last_event_seq(
    log: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    id: &str,
) -> Result<Option<u64>, StoreError> {
    Ok(log
        .range((id, 0)..=(id, u64::MAX))
        .map_err(|e| io("read", e))?
        .next_back()
        .transpose()
        .map_err(|e| io("read", e))?
        .map(|(k, _)| k.value().1))
}

/// Inserts event records and checkpoints in one transaction.
fn write_records(
    txn: &WriteTransaction,
    events: &std::collections::BTreeMap<String, Vec<(u64, Vec<u8>)>>,
    checkpoints: &std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<(), StoreError> {
    if !events.is_empty() {
        let mut log = txn
            .open_table(EVENTS)
            .map_err(|e| table_error("events", e))?;
        for (id, records) in events {
            for (seq, bytes) in records {
                log.insert((id.as_str(), *seq), bytes.as_slice())
                    .map_err(|e| io("write", e))?;
            }
        }
    }
    let mut t = txn
        .open_table(CHECKPOINTS)
        .map_err(|e| table_error("checkpoints", e))?;
    for (id, bytes) in checkpoints {
        t.insert(id.as_str(), bytes.as_slice())
            .map_err(|e| io("write", e))?;
    }
    Ok(())
}

impl Store for RedbStore {
    fn save_deployment(&mut self, d: &DeploymentRecord) -> Result<(), StoreError> {
        let bytes = encode(d);
        self.write(|txn| {
            let mut t = txn
                .open_table(DEPLOYMENTS)
                .map_err(|e| table_error("deployments", e))?;
            let seq = t
                .last()
                .map_err(|e| io("read", e))?
                .map_or(0, |(k, _)| k.value() + 1);
            t.insert(seq, bytes.as_slice())
                .map_err(|e| io("write", e))?;
            Ok(())
        })
    }

    fn deployments(&self) -> Result<Vec<DeploymentRecord>, StoreError> {
        read(&self.db, |txn| {
            let t = txn
                .open_table(DEPLOYMENTS)
                .map_err(|e| table_error("deployments", e))?;
            t.iter()
                .map_err(|e| io("scan", e))?
                .map(|r| {
                    let (k, v) = r.map_err(|e| io("scan", e))?;
                    decode(&format!("deployments/{}", k.value()), v.value())
                })
                .collect()
        })
    }

    fn load(&self, instance: &str) -> Result<Option<InstanceState>, StoreError> {
        if let Some(bytes) = self.pending.checkpoints.get(instance) {
            return decode(&format!("checkpoints/{instance}"), bytes).map(Some);
        }
        read(&self.db, |txn| {
            let t = txn
                .open_table(CHECKPOINTS)
                .map_err(|e| table_error("checkpoints", e))?;
            match t.get(instance).map_err(|e| io("read", e))? {
                Some(v) => decode(&format!("checkpoints/{instance}"), v.value()).map(Some),
                None => Ok(None),
            }
        })
    }

    fn commit_with(
        &mut self,
        state: &InstanceState,
        events: &[Event],
        records: &[RecordOp],
    ) -> Result<(), StoreError> {
        // One record per command: all its events under (instance, commit
        // sequence number).
        let checkpoint = encode(state);
        let record = (!events.is_empty()).then(|| encode(&events));
        check_depth(
            &state.id,
            &[&checkpoint, record.as_deref().unwrap_or_default()],
        )?;
        let id = state.id.as_str();
        let seq = match self.pending.next_seq(id) {
            Some(seq) => seq,
            None => read(&self.db, |txn| {
                let log = txn
                    .open_table(EVENTS)
                    .map_err(|e| table_error("events", e))?;
                Ok(last_event_seq(&log, id)?.map_or(0, |s| s + 1))
            })?,
        };
        // Immediate: logged and synced first; Grouped: staged for the next
        // `flush`, which writes and syncs the whole group at once. Then the
        // command joins the group of commits waiting for a transaction
        // (as with Deferred durability): it is durable in the log, so
        // redb's transaction per command (about ten pages written) is
        // saved. The database never holds a command the log does not.
        let c = WalCommit {
            instance: state.id.clone(),
            seq,
            events: record,
            checkpoint,
            records: records.to_vec(),
        };
        let logged = match self.durability {
            Durability::Immediate => self.wal.append(&c)?,
            Durability::Grouped => self.wal.stage(&c),
            Durability::Deferred => true,
        };
        let full = self.pending.add_commit(c);
        if !logged {
            // The log is full: the group, this command included, is written
            // in a durable transaction (which also persists every earlier
            // one); then the log is emptied.
            self.write_pending(Durability::Immediate)?;
            self.wal.reset()
        } else if full {
            self.write_pending(Durability::Deferred)
        } else {
            Ok(())
        }
    }

    fn events(&self, instance: &str) -> Result<Vec<Event>, StoreError> {
        read(&self.db, |txn| {
            let t = txn
                .open_table(EVENTS)
                .map_err(|e| table_error("events", e))?;
            let mut out = Vec::new();
            for r in t
                .range((instance, 0)..=(instance, u64::MAX))
                .map_err(|e| io("scan", e))?
            {
                let (k, v) = r.map_err(|e| io("scan", e))?;
                out.extend(decode::<Vec<Event>>(
                    &format!("events/{instance}/{}", k.value().1),
                    v.value(),
                )?);
            }
            self.pending.read_events(instance, &mut out)?;
            Ok(out)
        })
    }

    fn instances(&self) -> Result<Vec<InstanceState>, StoreError> {
        read(&self.db, |txn| {
            let t = txn
                .open_table(CHECKPOINTS)
                .map_err(|e| table_error("checkpoints", e))?;
            t.iter()
                .map_err(|e| io("scan", e))?
                .map(|r| {
                    let (k, v) = r.map_err(|e| io("scan", e))?;
                    let id = k.value().to_string();
                    let state = decode(&format!("checkpoints/{id}"), v.value())?;
                    Ok((id, state))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .and_then(|stored| self.pending.merge_instances(stored))
    }

    fn next_instance_number(&mut self) -> Result<u64, StoreError> {
        if self.next_number >= self.reserved {
            // Reserve the next block durably before handing out any of it,
            // whatever the durability of commits. An Immediate commit also
            // persists every earlier Deferred one.
            let bound = self.next_number + RESERVE;
            contain(|| {
                let txn = self.db.begin_write().map_err(|e| io("begin write", e))?;
                {
                    let mut meta = txn.open_table(META).map_err(|e| table_error("meta", e))?;
                    meta.insert(COUNTER, bound - 1)
                        .map_err(|e| io("write", e))?;
                }
                txn.commit().map_err(|e| io("commit", e))
            })?;
            self.reserved = bound;
            self.dirty = false;
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
        if !self.pending.is_empty() {
            // The group write, committed durably: it persists every earlier
            // non-durable transaction as well.
            return self.write_pending(Durability::Immediate);
        }
        if self.dirty {
            // An empty Immediate transaction makes every earlier
            // non-durable one durable.
            contain(|| {
                let txn = self.db.begin_write().map_err(|e| io("begin write", e))?;
                txn.commit().map_err(|e| io("flush", e))
            })?;
            self.dirty = false;
        }
        Ok(())
    }

    fn write_records(&mut self, records: &[RecordOp]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        // They join the waiting group after its commits (so they are
        // applied after them); with Immediate durability they are logged
        // first, like a command, so that a replay keeps that order too.
        let logged = match self.durability {
            Durability::Immediate => self.wal.append(&WalCommit::records_only(records))?,
            Durability::Grouped => self.wal.stage(&WalCommit::records_only(records)),
            Durability::Deferred => true,
        };
        self.pending.add_records(records);
        if !logged {
            self.write_pending(Durability::Immediate)?;
            self.wal.reset()
        } else if self.durability == Durability::Deferred {
            // As before records joined the group: written at once, not
            // durably.
            self.write_pending(Durability::Deferred)
        } else {
            Ok(())
        }
    }

    fn delete_instance(&mut self, instance: &str) -> Result<(), StoreError> {
        // Waiting commits first (they may be this instance's), then one
        // durable transaction; the log is emptied after it, so no replay
        // brings the instance back.
        self.write_pending(Durability::Immediate)?;
        self.write_with(Durability::Immediate, |txn| {
            let mut checkpoints = txn
                .open_table(CHECKPOINTS)
                .map_err(|e| table_error("checkpoints", e))?;
            checkpoints.remove(instance).map_err(|e| io("write", e))?;
            let mut log = txn
                .open_table(EVENTS)
                .map_err(|e| table_error("events", e))?;
            log.retain_in((instance, 0)..=(instance, u64::MAX), |_, _| false)
                .map_err(|e| io("write", e))?;
            Ok(())
        })?;
        self.dirty = false;
        self.wal.reset()
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
        self.stored_records(prefix, usize::MAX)
            .map(|stored| overlay_records(prefix, stored, &self.pending.records))
    }
}

impl RedbStore {
    /// The first `limit` records under `prefix` in the database (not the
    /// waiting group).
    fn stored_records(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        read(&self.db, |txn| {
            let t = match txn.open_table(RECORDS) {
                Ok(t) => t,
                // A store that never held a record.
                Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(table_error("records", e)),
            };
            let mut out = Vec::new();
            for r in t.range(prefix..).map_err(|e| io("scan", e))? {
                let (k, v) = r.map_err(|e| io("scan", e))?;
                if !k.value().starts_with(prefix) || out.len() >= limit {
                    break;
                }
                out.push((k.value().to_string(), v.value().to_vec()));
            }
            Ok(out)
        })
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Deferred commits reach the disk here at the latest. A failure
        // cannot be reported from `drop`; callers that need to know call
        // `flush` first.
        // The waiting group in one durable transaction (which persists
        // every earlier one too).
        let _ = self.write_pending(Durability::Immediate);
        let _ = self.flush();
        // A clean close leaves an empty log behind: one durable
        // transaction, then the log is emptied.
        if !self.wal.is_empty() && self.write_with(Durability::Immediate, |_| Ok(())).is_ok() {
            let _ = self.wal.reset();
        }
    }
}
