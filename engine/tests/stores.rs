//! The stores behind the engine: what one engine wrote, the next one opened
//! on the same path reads back (instances, variables, event logs, the
//! instance counter, deployments); versions, foreign files and damaged
//! records are refused with errors that say what is wrong.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::builder::ProcessBuilder;
use engine::core::{Event, InstanceState, Status};
use engine::runtime::{visited, waiting_at};
use engine::store::memory::MemoryStore;
use engine::store::{self, Durability, Store, StoreError, StoreKind};
use engine::{Engine, EngineOptions, VirtualClock};
use serde_json::{Map, Value, json};

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Start, a parallel fork into two user tasks, a join, end.
fn fork_join_xml() -> String {
    let defs = ProcessBuilder::new("review")
        .start("start")
        .parallel("fork")
        .user_task("legal")
        .user_task("finance")
        .parallel("join")
        .end("end")
        .flow("start", "fork")
        .flow("fork", "legal")
        .flow("fork", "finance")
        .flow("legal", "join")
        .flow("finance", "join")
        .flow("join", "end")
        .build();
    bpmn_models::write(&defs)
}

/// A path no other test uses; nothing is there yet.
fn fresh(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stores");
    std::fs::create_dir_all(&dir).expect("test directory");
    let path = dir.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    path
}

fn engine_on(store: Box<dyn Store>) -> Engine {
    Engine::open(
        store,
        Arc::new(VirtualClock::new(1_700_000_000_000)),
        EngineOptions::default(),
    )
    .expect("engine opens")
}

fn waiting(engine: &Engine, id: &str) -> Vec<String> {
    let s = engine.instance(id).expect("reads").expect("exists");
    let p = engine.process_version(&s.process).expect("deployed");
    let mut w = waiting_at(&s, p);
    w.sort();
    w
}

/// What a reopened store must give back.
#[derive(Debug, PartialEq)]
struct Snapshot {
    instances: Vec<InstanceState>,
    events: Vec<Vec<Event>>,
}

fn snapshot(engine: &mut Engine) -> Snapshot {
    let mut instances = engine.instances().expect("instances");
    instances.sort_by(|a, b| a.id.cmp(&b.id));
    let events = instances
        .iter()
        .map(|s| engine.store_mut().events(&s.id).expect("events"))
        .collect();
    Snapshot { instances, events }
}

/// Deploys, starts three instances and moves them to three different
/// places: one task done, both done (completed), none done. Returns the ids.
fn workload(engine: &mut Engine) -> [String; 3] {
    let keys = engine
        .deploy("review.bpmn", &fork_join_xml())
        .expect("deploys");
    assert_eq!(keys.len(), 1);
    let a = engine
        .start("review", vars(json!({"amount": 1200, "who": "ann"})))
        .expect("starts");
    let b = engine
        .start("review", vars(json!({"amount": 80, "who": "bob"})))
        .expect("starts");
    let c = engine
        .start("review", vars(json!({"amount": 5, "who": "cy"})))
        .expect("starts");
    assert!(a != b && b != c && a != c, "distinct ids {a} {b} {c}");

    assert_eq!(
        engine
            .complete_task(&a, "legal", vars(json!({"legalOk": true})))
            .expect("completes"),
        Status::Active
    );
    engine
        .complete_task(&b, "finance", vars(json!({"financeOk": false})))
        .expect("completes");
    assert_eq!(
        engine
            .complete_task(&b, "legal", Map::new())
            .expect("completes"),
        Status::Completed
    );

    assert_eq!(waiting(engine, &a), ["finance"]);
    assert_eq!(waiting(engine, &b), Vec::<String>::new());
    assert_eq!(waiting(engine, &c), ["finance", "legal"]);
    let sa = engine.instance(&a).expect("reads").expect("exists");
    assert_eq!(sa.variables().get("legalOk"), Some(&json!(true)));
    assert_eq!(sa.variables().get("who"), Some(&json!("ann")));
    let sb = engine.instance(&b).expect("reads").expect("exists");
    assert_eq!(sb.status, Status::Completed);
    let p = engine.process_version(&sb.process).expect("deployed");
    assert_eq!(
        visited(&sb, p),
        ["start", "fork", "finance", "legal", "join", "end"]
    );
    // The log is the history: replaying it gives the checkpoint.
    for id in [&a, &b, &c] {
        let s = engine.instance(id).expect("reads").expect("exists");
        let log = engine.store_mut().events(id).expect("events");
        assert!(matches!(log.first(), Some(Event::InstanceStarted { .. })));
        let replayed = InstanceState::replay(&log).expect("a start event first");
        assert_eq!(replayed, s, "instance {id}: log and checkpoint disagree");
    }
    [a, b, c]
}

/// Runs the workload, drops the engine, reopens the store and checks that
/// everything survived and that work goes on where it stopped.
fn survives_reopen(kind: StoreKind, durability: Durability) {
    let path = fresh(&format!("reopen-{kind}-{durability:?}"));
    let mut engine = engine_on(store::open(kind, &path, durability).expect("creates"));
    let ids = workload(&mut engine);
    let before = snapshot(&mut engine);
    assert_eq!(before.instances.len(), 3);
    let max_id = ids.iter().map(|i| i.parse::<u64>().expect("numeric")).max();
    if durability != Durability::Immediate {
        engine.flush().expect("flushes");
    }
    drop(engine);

    let mut engine = engine_on(store::open(kind, &path, durability).expect("reopens"));
    assert_eq!(engine.process_ids(), ["review"], "deployment recompiled");
    assert_eq!(snapshot(&mut engine), before, "{kind}: state after reopen");
    // Deploying the same file again is not a new version.
    let keys = engine
        .deploy("review.bpmn", &fork_join_xml())
        .expect("deploys");
    assert_eq!(keys[0].version, 1);

    // The counter never hands out a number twice.
    let d = engine.start("review", Map::new()).expect("starts");
    assert!(
        d.parse::<u64>().expect("numeric") > max_id.expect("three ids"),
        "{kind}: new instance {d} after {max_id:?}"
    );
    // Work goes on: every instance can finish.
    let [a, _, c] = &ids;
    for (id, tasks) in [
        (a, &["finance"][..]),
        (c, &["legal", "finance"][..]),
        (&d, &["finance", "legal"][..]),
    ] {
        let mut last = Status::Active;
        for t in tasks {
            last = engine.complete_task(id, t, Map::new()).expect("completes");
        }
        assert_eq!(last, Status::Completed, "{kind}: instance {id}");
    }
    let s = engine.instance(a).expect("reads").expect("exists");
    assert_eq!(s.variables().get("amount"), Some(&json!(1200)));
    drop(engine);

    // A third open sees the finished work and a counter past every id.
    let mut store = store::open(kind, &path, durability).expect("reopens");
    let all = store.instances().expect("instances");
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|s| s.status == Status::Completed));
    let n = store.next_instance_number().expect("counter");
    assert!(
        n > d.parse::<u64>().expect("numeric"),
        "{kind}: {n} after {d}"
    );
    drop(store);
    remove(&path);
}

fn remove(path: &Path) {
    let _ = std::fs::remove_dir_all(path);
    let _ = std::fs::remove_file(path);
    // A redb store's write-ahead log lives next to its file.
    let _ = std::fs::remove_file(store::redb::wal_path(path));
}

#[test]
fn memory_store_keeps_instances_logs_and_counter() {
    let mut engine = engine_on(Box::new(MemoryStore::new()));
    let ids = workload(&mut engine);
    let snap = snapshot(&mut engine);
    assert_eq!(snap.instances.len(), 3);
    assert!(snap.events.iter().all(|log| !log.is_empty()));
    let next = engine.store_mut().next_instance_number().expect("counter");
    assert!(
        ids.iter()
            .all(|i| i.parse::<u64>().expect("numeric") < next)
    );
}

#[test]
fn sled_survives_reopen() {
    survives_reopen(StoreKind::Sled, Durability::Immediate);
}

#[test]
fn redb_survives_reopen() {
    survives_reopen(StoreKind::Redb, Durability::Immediate);
}

#[test]
fn sled_deferred_survives_flush_and_reopen() {
    survives_reopen(StoreKind::Sled, Durability::Deferred);
}

#[test]
fn redb_deferred_survives_flush_and_reopen() {
    survives_reopen(StoreKind::Redb, Durability::Deferred);
}

/// Deferred commits that were never flushed explicitly reach the disk when
/// the store is dropped.
#[test]
fn sled_grouped_survives_flush_and_reopen() {
    survives_reopen(StoreKind::Sled, Durability::Grouped);
}

#[test]
fn redb_grouped_survives_flush_and_reopen() {
    survives_reopen(StoreKind::Redb, Durability::Grouped);
}

#[test]
fn deferred_commits_are_flushed_on_drop() {
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let path = fresh(&format!("drop-{kind}"));
        let mut engine =
            engine_on(store::open(kind, &path, Durability::Deferred).expect("creates"));
        let ids = workload(&mut engine);
        let before = snapshot(&mut engine);
        drop(engine);
        let mut engine =
            engine_on(store::open(kind, &path, Durability::Immediate).expect("reopens"));
        assert_eq!(snapshot(&mut engine), before, "{kind}");
        assert_eq!(waiting(&engine, &ids[0]), ["finance"]);
        drop(engine);
        remove(&path);
    }
}

/// Many instances: the counter survives block boundaries, every log keeps
/// its own order even when ids share prefixes ("1", "10", "100").
#[test]
fn counter_and_logs_across_many_instances() {
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let path = fresh(&format!("many-{kind}"));
        let mut engine =
            engine_on(store::open(kind, &path, Durability::Deferred).expect("creates"));
        engine
            .deploy("review.bpmn", &fork_join_xml())
            .expect("deploys");
        let mut ids = Vec::new();
        for i in 0..150 {
            let id = engine
                .start("review", vars(json!({ "i": i })))
                .expect("starts");
            engine
                .complete_task(&id, "legal", Map::new())
                .expect("completes");
            ids.push(id);
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "{kind}: duplicate ids");
        let before = snapshot(&mut engine);
        drop(engine);
        let mut engine =
            engine_on(store::open(kind, &path, Durability::Deferred).expect("reopens"));
        assert_eq!(snapshot(&mut engine), before, "{kind}");
        for id in &ids {
            let log = engine.store_mut().events(id).expect("events");
            match log.first() {
                Some(Event::InstanceStarted { id: started, .. }) => assert_eq!(started, id),
                other => panic!("{kind}: log of {id} starts with {other:?}"),
            }
            assert_eq!(
                engine
                    .complete_task(id, "finance", Map::new())
                    .expect("completes"),
                Status::Completed
            );
        }
        let next = engine.start("review", Map::new()).expect("starts");
        assert!(!ids.contains(&next), "{kind}: {next} reused");
        drop(engine);
        remove(&path);
    }
}

fn expect_err(r: Result<Box<dyn Store>, StoreError>) -> StoreError {
    match r {
        Ok(_) => panic!("opened a store that should have been refused"),
        Err(e) => e,
    }
}

#[test]
fn sled_refuses_another_layout_version() {
    let path = fresh("version-sled");
    drop(store::open(StoreKind::Sled, &path, Durability::Immediate).expect("creates"));
    let db = sled::open(&path).expect("raw sled");
    db.insert(b"m/format", &9u32.to_be_bytes()).expect("write");
    db.flush().expect("flush");
    drop(db);
    let e = expect_err(store::open(StoreKind::Sled, &path, Durability::Immediate));
    assert!(
        matches!(&e, StoreError::Version { found: 9, expected: 2, key } if key == "m/format"),
        "{e:?}"
    );
    assert!(e.to_string().contains("format version 9"), "{e}");
    remove(&path);
}

#[test]
fn redb_refuses_another_layout_version() {
    let path = fresh("version-redb");
    drop(store::open(StoreKind::Redb, &path, Durability::Immediate).expect("creates"));
    let db = redb::Database::create(&path).expect("raw redb");
    let txn = db.begin_write().expect("txn");
    {
        let mut meta = txn
            .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .expect("meta");
        meta.insert("format", 7).expect("write");
    }
    txn.commit().expect("commit");
    drop(db);
    let e = expect_err(store::open(StoreKind::Redb, &path, Durability::Immediate));
    assert!(
        matches!(&e, StoreError::Version { found: 7, expected: 2, key } if key == "meta/format"),
        "{e:?}"
    );
    remove(&path);
}

/// A record in the envelope of a newer engine is refused, not misread.
#[test]
fn records_of_another_format_version_are_refused() {
    let path = fresh("record-version-sled");
    let mut engine =
        engine_on(store::open(StoreKind::Sled, &path, Durability::Immediate).expect("creates"));
    let [a, ..] = workload(&mut engine);
    drop(engine);
    let db = sled::open(&path).expect("raw sled");
    let key = format!("c/{a}");
    db.insert(key.as_bytes(), br#"{"v":99,"data":{}}"#.as_slice())
        .expect("write");
    db.flush().expect("flush");
    drop(db);
    let store = store::open(StoreKind::Sled, &path, Durability::Immediate).expect("opens");
    let e = store.load(&a).expect_err("refused");
    assert!(
        matches!(&e, StoreError::Version { found: 99, key, .. } if *key == format!("checkpoints/{a}")),
        "{e:?}"
    );
    drop(store);
    remove(&path);
}

#[test]
fn corrupt_records_are_named() {
    // sled: a checkpoint and an event overwritten with garbage.
    let path = fresh("corrupt-sled");
    let mut engine =
        engine_on(store::open(StoreKind::Sled, &path, Durability::Immediate).expect("creates"));
    let [a, b, _] = workload(&mut engine);
    drop(engine);
    let db = sled::open(&path).expect("raw sled");
    db.insert(format!("c/{a}").as_bytes(), b"{not json".as_slice())
        .expect("write");
    let mut event_key = b"e/".to_vec();
    event_key.extend_from_slice(&(b.len() as u32).to_be_bytes());
    event_key.extend_from_slice(b.as_bytes());
    event_key.extend_from_slice(&2u64.to_be_bytes());
    assert!(
        db.get(&event_key).expect("read").is_some(),
        "event key layout"
    );
    db.insert(event_key, b"\xff\xfe".as_slice()).expect("write");
    db.flush().expect("flush");
    drop(db);
    let store = store::open(StoreKind::Sled, &path, Durability::Immediate).expect("opens");
    let e = store.load(&a).expect_err("corrupt");
    assert!(
        matches!(&e, StoreError::Corrupt { key, .. } if *key == format!("checkpoints/{a}")),
        "{e:?}"
    );
    assert!(store.instances().is_err());
    let e = store.events(&b).expect_err("corrupt");
    assert!(
        matches!(&e, StoreError::Corrupt { key, .. } if *key == format!("events/{b}/2")),
        "{e:?}"
    );
    // The damage is local: other records still read.
    assert!(store.events(&a).expect("reads").len() > 1);
    drop(store);
    remove(&path);

    // redb: the same.
    let path = fresh("corrupt-redb");
    let mut engine =
        engine_on(store::open(StoreKind::Redb, &path, Durability::Immediate).expect("creates"));
    let [a, b, _] = workload(&mut engine);
    drop(engine);
    let db = redb::Database::create(&path).expect("raw redb");
    let txn = db.begin_write().expect("txn");
    {
        let mut t = txn
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("checkpoints"))
            .expect("checkpoints");
        t.insert(a.as_str(), b"[1,2".as_slice()).expect("write");
        let mut t = txn
            .open_table(redb::TableDefinition::<(&str, u64), &[u8]>::new("events"))
            .expect("events");
        t.insert((b.as_str(), 2), b"".as_slice()).expect("write");
    }
    txn.commit().expect("commit");
    drop(db);
    let store = store::open(StoreKind::Redb, &path, Durability::Immediate).expect("opens");
    let e = store.load(&a).expect_err("corrupt");
    assert!(
        matches!(&e, StoreError::Corrupt { key, .. } if *key == format!("checkpoints/{a}")),
        "{e:?}"
    );
    assert!(e.to_string().contains(&format!("checkpoints/{a}")), "{e}");
    let e = store.events(&b).expect_err("corrupt");
    assert!(
        matches!(&e, StoreError::Corrupt { key, .. } if *key == format!("events/{b}/2")),
        "{e:?}"
    );
    drop(store);
    remove(&path);
}

#[test]
fn a_text_file_is_not_a_store() {
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let path = fresh(&format!("text-{kind}"));
        let text = "this is a shopping list, not a database\n".repeat(200);
        std::fs::write(&path, &text).expect("write");
        let e = expect_err(store::open(kind, &path, Durability::Immediate));
        assert!(matches!(e, StoreError::NotAStore { .. }), "{kind}: {e:?}");
        assert!(e.to_string().contains("is not an orchid-bpmn store"), "{e}");
        // Refusing did not touch the file.
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
        remove(&path);
    }
}

#[test]
fn garbage_where_store_files_belong_is_refused() {
    // sled: a directory whose `db` and `conf` are garbage.
    let path = fresh("garbage-sled");
    std::fs::create_dir_all(&path).expect("mkdir");
    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(path.join("db"), &garbage).expect("write");
    std::fs::write(path.join("conf"), &garbage[..512]).expect("write");
    let e = expect_err(store::open(StoreKind::Sled, &path, Durability::Immediate));
    assert!(
        matches!(&e, StoreError::Io(m) if m.contains("garbage-sled")),
        "{e:?}"
    );
    remove(&path);

    // sled: a real store whose data file was overwritten with garbage.
    let path = fresh("garbage-db-sled");
    let mut engine =
        engine_on(store::open(StoreKind::Sled, &path, Durability::Immediate).expect("creates"));
    workload(&mut engine);
    drop(engine);
    let len = std::fs::metadata(path.join("db")).expect("db file").len() as usize;
    let filler: Vec<u8> = garbage.iter().copied().cycle().take(len).collect();
    std::fs::write(path.join("db"), filler).expect("write");
    let e = expect_err(store::open(StoreKind::Sled, &path, Durability::Immediate));
    assert!(
        matches!(&e, StoreError::Corrupt { key, .. } if key == "m/format"),
        "{e:?}"
    );
    assert!(e.to_string().contains("damaged"), "{e}");
    remove(&path);

    // sled: a directory of something else.
    let path = fresh("otherdir-sled");
    std::fs::create_dir_all(&path).expect("mkdir");
    std::fs::write(path.join("notes.txt"), "hello").expect("write");
    let e = expect_err(store::open(StoreKind::Sled, &path, Durability::Immediate));
    assert!(matches!(e, StoreError::NotAStore { .. }), "{e:?}");
    remove(&path);

    // redb: binary garbage, and a directory.
    let path = fresh("garbage-redb");
    std::fs::write(&path, &garbage).expect("write");
    let e = expect_err(store::open(StoreKind::Redb, &path, Durability::Immediate));
    assert!(matches!(e, StoreError::NotAStore { .. }), "{e:?}");
    remove(&path);
    let path = fresh("dir-redb");
    std::fs::create_dir_all(&path).expect("mkdir");
    let e = expect_err(store::open(StoreKind::Redb, &path, Durability::Immediate));
    assert!(matches!(e, StoreError::NotAStore { .. }), "{e:?}");
    remove(&path);
}

#[test]
fn databases_of_other_programs_are_refused() {
    let path = fresh("foreign-sled");
    let db = sled::open(&path).expect("raw sled");
    db.insert(b"user:1", b"alice".as_slice()).expect("write");
    db.flush().expect("flush");
    drop(db);
    let e = expect_err(store::open(StoreKind::Sled, &path, Durability::Immediate));
    assert!(matches!(e, StoreError::NotAStore { .. }), "{e:?}");
    remove(&path);

    let path = fresh("foreign-redb");
    let db = redb::Database::create(&path).expect("raw redb");
    let txn = db.begin_write().expect("txn");
    {
        let mut t = txn
            .open_table(redb::TableDefinition::<u64, u64>::new("users"))
            .expect("table");
        t.insert(1, 2).expect("write");
    }
    txn.commit().expect("commit");
    drop(db);
    let e = expect_err(store::open(StoreKind::Redb, &path, Durability::Immediate));
    assert!(matches!(e, StoreError::NotAStore { .. }), "{e:?}");
    remove(&path);
}

#[test]
fn a_store_open_elsewhere_is_an_error_not_a_second_writer() {
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let path = fresh(&format!("twice-{kind}"));
        let first = store::open(kind, &path, Durability::Immediate).expect("creates");
        let e = expect_err(store::open(kind, &path, Durability::Immediate));
        assert!(matches!(e, StoreError::Locked { .. }), "{kind}: {e:?}");
        assert!(e.to_string().contains("is open in another process"), "{e}");
        drop(first);
        drop(store::open(kind, &path, Durability::Immediate).expect("reopens"));
        remove(&path);
    }
}

#[test]
fn store_kinds_parse() {
    assert_eq!("sled".parse::<StoreKind>(), Ok(StoreKind::Sled));
    assert_eq!("redb".parse::<StoreKind>(), Ok(StoreKind::Redb));
    let e = "rocksdb".parse::<StoreKind>().expect_err("unknown");
    assert_eq!(
        e.to_string(),
        "unknown store kind `rocksdb`: expected `sled` or `redb`"
    );
    assert_eq!(StoreKind::Redb.to_string(), "redb");
}

/// Damage in the middle of a store's data file: opening or reading may
/// fail, but nothing panics. redb reads back every record intact or fails;
/// sled (see `docs/persistence.md`) treats its log as ending where the
/// damage starts and recovers an earlier, consistent state: each instance
/// as of some earlier command, its checkpoint still the replay of its log.
#[test]
fn damaged_data_files_give_errors_or_consistent_records() {
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        for (n, at) in [0.25f64, 0.5, 0.75].into_iter().enumerate() {
            let path = fresh(&format!("damaged-{kind}-{n}"));
            let mut engine =
                engine_on(store::open(kind, &path, Durability::Immediate).expect("creates"));
            workload(&mut engine);
            let before = snapshot(&mut engine);
            drop(engine);
            let file = match kind {
                StoreKind::Sled => path.join("db"),
                StoreKind::Redb => path.clone(),
            };
            let mut bytes = std::fs::read(&file).expect("read");
            let start = (bytes.len() as f64 * at) as usize;
            let end = (start + 4096).min(bytes.len());
            for (i, b) in bytes[start..end].iter_mut().enumerate() {
                *b ^= 0x5a ^ (i as u8);
            }
            std::fs::write(&file, &bytes).expect("write");
            let outcome = match read_all(kind, &path) {
                Err(e) => format!("error: {e}"),
                Ok(after) if after == before => "intact".to_string(),
                Ok(after) => {
                    assert_eq!(
                        kind,
                        StoreKind::Sled,
                        "damage at {at} read back as other data"
                    );
                    for (s, log) in after.instances.iter().zip(&after.events) {
                        let i = before
                            .instances
                            .iter()
                            .position(|b| b.id == s.id)
                            .expect("no instance appears from nowhere");
                        assert!(before.events[i].starts_with(log), "{}: not a prefix", s.id);
                        let replayed = InstanceState::replay(log).expect("starts");
                        assert_eq!(&replayed, s, "{}: checkpoint and log disagree", s.id);
                    }
                    format!(
                        "recovered an earlier state ({} of {} instances, {} of {} events)",
                        after.instances.len(),
                        before.instances.len(),
                        after.events.iter().map(Vec::len).sum::<usize>(),
                        before.events.iter().map(Vec::len).sum::<usize>()
                    )
                }
            };
            eprintln!("{kind}: 4 KiB damaged at {at} of the file: {outcome}");
            remove(&path);
        }
    }
}

fn read_all(kind: StoreKind, path: &Path) -> Result<Snapshot, StoreError> {
    let store = store::open(kind, path, Durability::Immediate)?;
    let mut instances = store.instances()?;
    instances.sort_by(|a, b| a.id.cmp(&b.id));
    let events = instances
        .iter()
        .map(|s| store.events(&s.id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Snapshot { instances, events })
}

/// Immediate commits go through the write-ahead log; large commands fill
/// it (a checkpoint empties it) and one larger than the log is applied and
/// synced directly. Everything is there after reopening.
#[test]
fn immediate_commits_survive_full_write_ahead_logs() {
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let path = fresh(&format!("wal-full-{kind}"));
        let mut engine =
            engine_on(store::open(kind, &path, Durability::Immediate).expect("creates"));
        engine
            .deploy("review.bpmn", &fork_join_xml())
            .expect("deploys");
        // About 0.5 MB per start (the variable is in the event and in the
        // checkpoint): the 8 MiB log fills every ~16 commands.
        let big = "x".repeat(250_000);
        let mut ids = Vec::new();
        for i in 0..40 {
            let id = engine
                .start("review", vars(json!({ "i": i, "blob": big })))
                .expect("starts");
            if i % 3 == 0 {
                engine
                    .complete_task(&id, "legal", Map::new())
                    .expect("completes");
            }
            ids.push(id);
        }
        // Larger than the whole log.
        let huge = "y".repeat(5_000_000);
        let last = engine
            .start("review", vars(json!({ "blob": huge })))
            .expect("starts");
        let before = snapshot(&mut engine);
        drop(engine);
        let mut engine =
            engine_on(store::open(kind, &path, Durability::Immediate).expect("reopens"));
        assert_eq!(snapshot(&mut engine), before, "{kind}");
        let s = engine.instance(&last).expect("reads").expect("exists");
        assert_eq!(s.variables().get("blob"), Some(&json!(huge)), "{kind}");
        for (i, id) in ids.iter().enumerate() {
            let s = engine.instance(id).expect("reads").expect("exists");
            assert_eq!(s.variables().get("i"), Some(&json!(i)), "{kind}");
            let log = engine.store_mut().events(id).expect("events");
            assert_eq!(
                InstanceState::replay(&log).as_ref(),
                Some(&s),
                "{kind} {id}"
            );
        }
        drop(engine);
        remove(&path);
    }
}

/// A pending timer is part of the stored state: an engine opened later on
/// the same store knows when it is due and fires it.
fn timers_survive_reopen(kind: StoreKind) {
    let path = fresh(&format!("timers-{kind}"));
    let t0 = 1_700_000_000_000;
    let xml = bpmn_models::write(
        &ProcessBuilder::new("remind")
            .start("start")
            .timer_catch("wait", bpmn_models::timer::TimerKind::Duration, "PT1H")
            .end("end")
            .flow("start", "wait")
            .flow("wait", "end")
            .build(),
    );
    let mut engine = engine_on(store::open(kind, &path, Durability::Immediate).expect("creates"));
    engine.deploy("remind.bpmn", &xml).expect("deploys");
    let id = engine.start("remind", Map::new()).expect("starts");
    drop(engine);

    let clock = Arc::new(VirtualClock::new(t0 + 3_600_000));
    let mut engine = Engine::open(
        store::open(kind, &path, Durability::Immediate).expect("reopens"),
        clock,
        EngineOptions::default(),
    )
    .expect("engine opens");
    assert_eq!(waiting(&engine, &id), ["wait"]);
    assert_eq!(
        engine.next_timer_due().expect("reads"),
        Some(t0 + 3_600_000)
    );
    assert_eq!(engine.fire_due_timers().expect("fires"), 1);
    let s = engine.instance(&id).expect("reads").expect("exists");
    assert_eq!(s.status, Status::Completed, "{kind}");
    assert!(s.timers.is_empty());
    let log = engine.store_mut().events(&id).expect("log");
    assert_eq!(InstanceState::replay(&log).as_ref(), Some(&s), "{kind}");
    drop(engine);
    remove(&path);
}

#[test]
fn sled_timers_survive_reopen() {
    timers_survive_reopen(StoreKind::Sled);
}

#[test]
fn redb_timers_survive_reopen() {
    timers_survive_reopen(StoreKind::Redb);
}

/// The engine's small records (buffered messages, start timers): put,
/// replace, list by prefix in key order, delete; kept across a reopen of
/// both durable stores, under either durability. A store that never held
/// a record (the layout as it was before records) lists none.
#[test]
fn records_are_put_listed_by_prefix_and_deleted_in_every_store() {
    fn exercise(s: &mut dyn Store, label: &str) {
        assert!(s.records("").expect("lists").is_empty(), "{label}");
        s.put_record("msg/002", b"two").expect("puts");
        s.put_record("msg/001", b"one").expect("puts");
        s.put_record("msh/1", b"other prefix").expect("puts");
        s.put_record("start-timer/P/3", b"t").expect("puts");
        s.put_record("msg/001", b"one again").expect("replaces");
        let got = s.records("msg/").expect("lists");
        assert_eq!(
            got,
            vec![
                ("msg/001".to_string(), b"one again".to_vec()),
                ("msg/002".to_string(), b"two".to_vec()),
            ],
            "{label}"
        );
        s.delete_record("msg/002").expect("deletes");
        s.delete_record("msg/404")
            .expect("a missing record is no error");
        assert_eq!(s.records("msg/").expect("lists").len(), 1, "{label}");
        assert_eq!(s.records("").expect("lists").len(), 3, "{label}");
    }
    exercise(&mut MemoryStore::new(), "memory");
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        for durability in [
            Durability::Immediate,
            Durability::Deferred,
            Durability::Grouped,
        ] {
            let path = fresh(&format!("records-{kind}-{durability:?}"));
            {
                let mut s = store::open(kind, &path, durability).expect("opens");
                exercise(s.as_mut(), &format!("{kind} {durability:?}"));
                s.flush().expect("flushes");
            }
            let s = store::open(kind, &path, durability).expect("reopens");
            let keys: Vec<String> = s
                .records("")
                .expect("lists")
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            assert_eq!(keys, ["msg/001", "msh/1", "start-timer/P/3"], "{kind}");
            drop(s);
            let _ = std::fs::remove_dir_all(&path);
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Record writes made with a commit (`commit_with`) are read back with it
/// at once (from a waiting group too), come back with it after a reopen
/// (crash tests kill the process in between: `crash.rs`), and a later `write_records` is not undone by an older waiting group.
#[test]
fn records_written_with_a_commit_travel_with_it() {
    use engine::store::RecordOp;
    fn put(key: &str, value: &[u8]) -> RecordOp {
        RecordOp::Put {
            key: key.into(),
            value: value.to_vec(),
        }
    }
    fn exercise(s: &mut dyn Store, label: &str) {
        let mut state = InstanceState::empty(
            "7",
            engine::compile::ProcessKey {
                id: "p".into(),
                version: 1,
                hash: String::new(),
            },
        );
        s.commit_with(&state, &[], &[put("outbox/1", b"a"), put("outbox/2", b"b")])
            .expect("commits");
        state.status = Status::Completed;
        s.commit_with(
            &state,
            &[],
            &[RecordOp::Delete {
                key: "outbox/1".into(),
            }],
        )
        .expect("commits");
        s.write_records(&[RecordOp::Delete {
            key: "outbox/2".into(),
        }])
        .expect("writes");
        s.commit_with(&state, &[], &[put("outbox/3", b"c")])
            .expect("commits");
        let keys: Vec<String> = s
            .records("outbox/")
            .expect("lists")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["outbox/3"], "{label}");
        assert_eq!(
            s.load("7").expect("loads").expect("is there").status,
            Status::Completed,
            "{label}"
        );
    }
    exercise(&mut MemoryStore::new(), "memory");
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        for durability in [
            Durability::Immediate,
            Durability::Deferred,
            Durability::Grouped,
        ] {
            let label = format!("{kind} {durability:?}");
            let path = fresh(&format!("commit-records-{kind}-{durability:?}"));
            {
                let mut s = store::open(kind, &path, durability).expect("opens");
                exercise(s.as_mut(), &label);
            }
            let s = store::open(kind, &path, durability).expect("reopens");
            let keys: Vec<String> = s
                .records("")
                .expect("lists")
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            assert_eq!(keys, ["outbox/3"], "{label}");
            drop(s);
            let _ = std::fs::remove_dir_all(&path);
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A deleted instance is gone — checkpoint and log — from every store, and
/// stays gone when the store is opened again; the others stay.
#[test]
fn deleted_instances_stay_deleted_after_reopen() {
    for (kind, durability) in [
        (StoreKind::Sled, Durability::Immediate),
        (StoreKind::Redb, Durability::Immediate),
        (StoreKind::Sled, Durability::Deferred),
        (StoreKind::Redb, Durability::Deferred),
    ] {
        let path = fresh(&format!("delete-{kind}-{durability:?}"));
        let (kept, gone) = {
            let mut engine = engine_on(store::open(kind, &path, durability).expect("opens"));
            engine
                .deploy("review.bpmn", &fork_join_xml())
                .expect("deploys");
            let kept = engine.start("review", Map::new()).expect("starts");
            let gone = engine.start("review", Map::new()).expect("starts");
            engine
                .complete_task(&gone, "legal", Map::new())
                .expect("completes");
            engine.delete_instance(&gone).expect("deletes");
            assert!(engine.instance(&gone).expect("reads").is_none());
            engine.flush().expect("flushes");
            (kept, gone)
        };
        let mut engine = engine_on(store::open(kind, &path, durability).expect("reopens"));
        assert!(
            engine.instance(&gone).expect("reads").is_none(),
            "{kind} {durability:?}"
        );
        assert!(
            engine.instance(&kept).expect("reads").is_some(),
            "{kind} {durability:?}"
        );
        let s = engine.store_mut().events(&gone).expect("reads");
        assert!(s.is_empty(), "{kind} {durability:?}: the log is gone too");
        assert!(matches!(
            engine_on(Box::new(MemoryStore::new())).delete_instance("nope"),
            Err(engine::EngineError::UnknownInstance(_))
        ));
        drop(engine);
        remove(&path);
    }
}

/// `first_records` reads the first records of a prefix in key order, the
/// waiting group's writes laid over the database's (a waiting delete hides
/// a stored record, a waiting put comes first where it sorts).
#[test]
fn first_records_see_the_waiting_group() {
    use engine::store::RecordOp;
    let put = |k: &str| RecordOp::Put {
        key: k.into(),
        value: k.as_bytes().to_vec(),
    };
    let keys = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    let mut memory = MemoryStore::new();
    memory
        .write_records(&[put("a1"), put("a2"), put("a3"), put("b1")])
        .expect("writes");
    assert_eq!(
        keys(memory.first_records("a", 2).expect("reads")),
        ["a1", "a2"]
    );
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        for durability in [
            Durability::Immediate,
            Durability::Deferred,
            Durability::Grouped,
        ] {
            let label = format!("{kind} {durability:?}");
            let path = fresh(&format!("first-{kind}-{durability:?}"));
            let mut s = store::open(kind, &path, durability).expect("opens");
            s.write_records(&[put("a1"), put("a2"), put("a3"), put("a4"), put("b1")])
                .expect("writes");
            s.flush().expect("flushes");
            drop(s);
            let mut s = store::open(kind, &path, durability).expect("reopens");
            s.write_records(&[
                RecordOp::Delete { key: "a1".into() },
                RecordOp::Delete { key: "a2".into() },
                put("a0"),
            ])
            .expect("writes");
            assert_eq!(
                keys(s.first_records("a", 3).expect("reads")),
                ["a0", "a3", "a4"],
                "{label}"
            );
            assert_eq!(
                keys(s.first_records("b", 3).expect("reads")),
                ["b1"],
                "{label}"
            );
            assert!(
                s.first_records("c", 3).expect("reads").is_empty(),
                "{label}"
            );
            drop(s);
            let _ = std::fs::remove_dir_all(&path);
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(store::redb::wal_path(&path));
        }
    }
}

/// A value nested too deep to be read back is refused before anything is
/// written (it would make the store unreadable: the JSON reader stops at
/// depth 128), and the store goes on working.
#[test]
fn a_value_too_deep_to_read_back_is_refused_not_stored() {
    fn nested(depth: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..depth {
            v = json!([v]);
        }
        v
    }
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let path = fresh(&format!("too-deep-{kind}"));
        let mut engine = engine_on(store::open(kind, &path, Durability::Immediate).expect("opens"));
        engine
            .deploy("review.bpmn", &fork_join_xml())
            .expect("deploys");
        let id = engine.start("review", Map::new()).expect("starts");
        let err = engine
            .set_variables(&id, vars(json!({ "y": nested(124) })))
            .expect_err("refused");
        assert!(
            matches!(err, engine::EngineError::Store(StoreError::TooDeep { .. })),
            "{kind}: {err}"
        );
        assert!(err.to_string().contains("expected at most 120"), "{err}");
        engine
            .set_variables(&id, vars(json!({ "y": nested(60) })))
            .expect("a value nested 60 deep is stored");
        drop(engine);
        let engine = engine_on(store::open(kind, &path, Durability::Immediate).expect("reopens"));
        let s = engine.instance(&id).expect("reads").expect("exists");
        assert_eq!(s.variables()["y"], nested(60), "{kind}");
        assert_eq!(engine.instances().expect("lists").len(), 1);
        drop(engine);
        remove(&path);
    }
}

/// A store is not silently replaced: a redb data file truncated to nothing
/// (or deleted) beside its write-ahead log is refused, not opened as a new
/// empty store; a store whose log was deleted is refused, not opened
/// without the commands the log held.
#[test]
fn truncated_data_and_missing_logs_are_refused() {
    let populated = |kind: StoreKind, path: &Path| {
        let mut engine =
            engine_on(store::open(kind, path, Durability::Immediate).expect("creates"));
        workload(&mut engine);
    };
    // redb: the data file emptied, then gone.
    let path = fresh("truncated-redb");
    populated(StoreKind::Redb, &path);
    std::fs::write(&path, b"").expect("truncates");
    let e = expect_err(store::open(StoreKind::Redb, &path, Durability::Immediate));
    assert!(
        matches!(&e, StoreError::Corrupt { message, .. } if message.contains("the data file is empty") && message.contains("truncated or deleted")),
        "{e}"
    );
    std::fs::remove_file(&path).expect("deletes");
    let e = expect_err(store::open(StoreKind::Redb, &path, Durability::Immediate));
    assert!(e.to_string().contains("the data file is missing"), "{e}");
    remove(&path);
    // Both: the log removed from a store that exists.
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let path = fresh(&format!("no-log-{kind}"));
        populated(kind, &path);
        let log = match kind {
            StoreKind::Sled => path.join("orchid-wal"),
            StoreKind::Redb => store::redb::wal_path(&path),
        };
        std::fs::remove_file(&log).expect("removes the log");
        let e = expect_err(store::open(kind, &path, Durability::Immediate));
        assert!(
            matches!(&e, StoreError::Corrupt { message, .. } if message.contains("write-ahead log") && message.contains(store::ACCEPT_MISSING_LOG_VAR)),
            "{kind}: {e}"
        );
        remove(&path);
    }
}
