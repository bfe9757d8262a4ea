//! History apart from runtime state: an instance that ends leaves the
//! runtime set for history, which is queried, expires by its time to live
//! and survives reopening.

use std::sync::Arc;

use engine::builder::ProcessBuilder;
use engine::core::Status;
use engine::runtime::HistoryQuery;
use engine::store::Store;
use engine::store::memory::MemoryStore;
use engine::{Engine, EngineOptions, VirtualClock};
use serde_json::{Map, Value, json};

mod common;

const DAY: i64 = 86_400_000;

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn approval() -> String {
    bpmn_models::write(
        &ProcessBuilder::new("approval")
            .start("start")
            .user_task("approve")
            .end("end")
            .flow("start", "approve")
            .flow("approve", "end")
            .build(),
    )
}

/// A Camunda 7 process that keeps its history for `ttl`.
fn c7_with_ttl(ttl: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="short" isExecutable="true" camunda:historyTimeToLive="{ttl}">
    <bpmn:startEvent id="s" />
    <bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"#
    )
}

fn engine(clock: &Arc<VirtualClock>, options: EngineOptions) -> Engine {
    Engine::open(Box::new(MemoryStore::new()), clock.clone(), options).expect("opens")
}

#[test]
fn ended_instances_leave_the_runtime_set_for_history() {
    let clock = Arc::new(VirtualClock::new(1_700_000_000_000));
    let mut e = engine(&clock, EngineOptions::default());
    e.deploy("approval.bpmn", &approval()).expect("deploys");
    let a = e
        .start_with_business_key("approval", vars(json!({"amount": 5})), Some("order-1"))
        .expect("starts");
    let b = e
        .start("approval", vars(json!({"amount": 7})))
        .expect("starts");
    let c = e.start("approval", Map::new()).expect("starts");
    assert_eq!(
        e.active_instance_ids().expect("lists"),
        [a.clone(), b.clone(), c.clone()]
    );
    clock.advance(1_000);
    e.complete_task(&a, "approve", vars(json!({"ok": true})))
        .expect("completes");
    e.cancel(&b).expect("cancels");
    assert_eq!(
        e.active_instance_ids().expect("lists"),
        std::slice::from_ref(&c)
    );

    let all = e.history(&HistoryQuery::default()).expect("reads");
    let ids: Vec<&str> = all.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, [a.as_str(), b.as_str()]);
    assert_eq!(all[0].status, Status::Completed);
    assert_eq!(all[0].business_key.as_deref(), Some("order-1"));
    assert_eq!(all[0].variables["ok"], json!(true));
    assert_eq!(all[0].ended_at, 1_700_000_001_000);
    assert_eq!(all[0].removal_at, None, "no time to live: kept");
    assert_eq!(all[1].status, Status::Cancelled);
    // The final state still answers.
    assert_eq!(
        e.instance(&a).expect("reads").map(|s| s.status),
        Some(Status::Completed)
    );

    fn only(e: &Engine, q: HistoryQuery) -> Vec<String> {
        e.history(&q)
            .expect("reads")
            .into_iter()
            .map(|h| h.id)
            .collect()
    }
    assert_eq!(
        only(
            &e,
            HistoryQuery {
                status: Some(Status::Cancelled),
                ..HistoryQuery::default()
            }
        ),
        std::slice::from_ref(&b)
    );
    assert_eq!(
        only(
            &e,
            HistoryQuery {
                business_key: Some("order-1".into()),
                ..HistoryQuery::default()
            }
        ),
        std::slice::from_ref(&a)
    );
    assert_eq!(
        only(
            &e,
            HistoryQuery {
                variable: Some(("amount".into(), json!(7))),
                ..HistoryQuery::default()
            }
        ),
        std::slice::from_ref(&b)
    );
    assert_eq!(
        only(
            &e,
            HistoryQuery {
                process: Some("other".into()),
                ..HistoryQuery::default()
            }
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        only(
            &e,
            HistoryQuery {
                ended_from: Some(1_700_000_001_000),
                ended_before: Some(1_700_000_001_001),
                limit: Some(1),
                ..HistoryQuery::default()
            }
        ),
        std::slice::from_ref(&a)
    );

    // Deleting removes an instance from history too.
    e.delete_instance(&a).expect("deletes");
    assert_eq!(only(&e, HistoryQuery::default()), [b]);
}

#[test]
fn history_expires_by_the_process_time_to_live_or_the_default() {
    let clock = Arc::new(VirtualClock::new(1_700_000_000_000));
    let options = EngineOptions {
        history_ttl: Some(30 * DAY),
        ..EngineOptions::default()
    };
    let mut e = engine(&clock, options);
    e.deploy("short.bpmn", &c7_with_ttl("P2D"))
        .expect("deploys");
    e.deploy("approval.bpmn", &approval()).expect("deploys");
    let short = e.start("short", Map::new()).expect("starts");
    let long = e.start("approval", Map::new()).expect("starts");
    e.complete_task(&long, "approve", Map::new())
        .expect("completes");
    let h = e.history(&HistoryQuery::default()).expect("reads");
    assert_eq!(h[0].removal_at, Some(1_700_000_000_000 + 2 * DAY));
    assert_eq!(h[1].removal_at, Some(1_700_000_000_000 + 30 * DAY));

    assert_eq!(
        e.remove_expired_history(1_700_000_000_000 + 2 * DAY - 1)
            .expect("cleans"),
        0
    );
    assert_eq!(
        e.remove_expired_history(1_700_000_000_000 + 2 * DAY)
            .expect("cleans"),
        1
    );
    assert_eq!(e.instance(&short).expect("reads"), None);
    assert!(e.store_mut().events(&short).expect("reads").is_empty());
    assert_eq!(e.history(&HistoryQuery::default()).expect("reads").len(), 1);
    assert_eq!(
        e.remove_expired_history(1_700_000_000_000 + 30 * DAY)
            .expect("cleans"),
        1
    );
    assert!(
        e.history(&HistoryQuery::default())
            .expect("reads")
            .is_empty()
    );
}

/// `camunda:historyTimeToLive` as Camunda 7 reads it: whole days, `5` or
/// `P5D`.
#[test]
fn camunda_7_time_to_live_is_read_in_days() {
    for (ttl, days) in [
        ("5", Some(5)),
        ("P5D", Some(5)),
        ("0", Some(0)),
        ("PT5H", None),
    ] {
        let mut e = Engine::in_memory();
        let keys = e.deploy("short.bpmn", &c7_with_ttl(ttl)).expect("deploys");
        let p = e.process_version(&keys[0]).expect("deployed");
        assert_eq!(p.history_ttl, days.map(|d| d * DAY), "{ttl}");
    }
}

/// A store written before history records existed gets them on its first
/// open, and the runtime set is what it was.
#[test]
fn an_older_store_gets_its_runtime_set_on_first_open() {
    use engine::store::{self, Durability, StoreKind};
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("history");
    std::fs::create_dir_all(&dir).expect("directory");
    let path = dir.join(format!("older-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    let clock = Arc::new(VirtualClock::new(1_700_000_000_000));
    let open = |clock: &Arc<VirtualClock>| {
        let s = store::open(StoreKind::Sled, &path, Durability::Immediate).expect("store");
        Engine::open(s, clock.clone(), EngineOptions::default()).expect("opens")
    };
    let mut e = open(&clock);
    e.deploy("approval.bpmn", &approval()).expect("deploys");
    let a = e.start("approval", Map::new()).expect("starts");
    let b = e.start("approval", Map::new()).expect("starts");
    e.complete_task(&b, "approve", Map::new())
        .expect("completes");
    // Take the records away, as in a store of an earlier version.
    let store = e.store_mut();
    for prefix in ["run/", "ended/", "index/"] {
        for (k, _) in store.records(prefix).expect("lists") {
            store.delete_record(&k).expect("deletes");
        }
    }
    assert!(e.active_instance_ids().expect("lists").is_empty());
    drop(e);
    let e = open(&clock);
    assert_eq!(e.active_instance_ids().expect("lists"), [a]);
    let h = e.history(&HistoryQuery::default()).expect("reads");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].id, b);
    drop(e);
    let _ = std::fs::remove_dir_all(&path);
}

/// Opening reads no instance: timers, message and signal subscriptions
/// are found through the wait records, and they fire and correlate after
/// the reopen as before.
#[test]
fn open_reads_no_instance_and_the_waits_still_work() {
    let waits = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="M" name="Paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>
  <bpmn:signal id="S" name="Go" />
  <bpmn:process id="waits" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:intermediateCatchEvent id="timer"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="M" /></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="go"><bpmn:signalEventDefinition signalRef="S" /></bpmn:intermediateCatchEvent>
    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork" />
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="timer" />
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="paid" />
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="go" />
    <bpmn:sequenceFlow id="f4" sourceRef="timer" targetRef="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="paid" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="go" targetRef="join" />
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"#;
    let clock = Arc::new(VirtualClock::new(1_700_000_000_000));
    let store = common::ObservedStore::new();
    let reads = store.reads.clone();
    let mut e =
        Engine::open(Box::new(store), clock.clone(), EngineOptions::default()).expect("opens");
    e.deploy("waits.bpmn", waits).expect("deploys");
    let ids: Vec<String> = (0..3)
        .map(|i| {
            e.start("waits", vars(json!({"orderId": format!("o-{i}")})))
                .expect("starts")
        })
        .collect();
    // Reopen on the same records: move the inner store into a new engine.
    let inner = {
        let mut moved = MemoryStore::new();
        for d in e.store_mut().deployments().expect("reads") {
            moved.save_deployment(&d).expect("copies");
        }
        for s in e.instances().expect("reads") {
            moved
                .commit(&s, &e.store_mut().events(&s.id).expect("reads"))
                .expect("copies");
        }
        moved
            .write_records(
                &e.store_mut()
                    .records("")
                    .expect("reads")
                    .into_iter()
                    .map(|(key, value)| engine::store::RecordOp::Put { key, value })
                    .collect::<Vec<_>>(),
            )
            .expect("copies");
        moved
    };
    drop(e);
    reads.store(0, std::sync::atomic::Ordering::Relaxed);
    let mut e = Engine::open(
        Box::new(common::ObservedStore {
            inner,
            reads: reads.clone(),
            ..Default::default()
        }),
        clock.clone(),
        EngineOptions::default(),
    )
    .expect("reopens");
    assert_eq!(
        reads.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "open read instances"
    );
    assert_eq!(
        e.next_timer_due().expect("reads"),
        Some(1_700_000_000_000 + 3_600_000)
    );
    let o = e
        .publish_message("Paid", Some("o-1"), Map::new(), None)
        .expect("publishes");
    assert_eq!(o.correlated.len(), 1);
    assert_eq!(o.correlated[0].instance, ids[1]);
    assert_eq!(e.broadcast_signal("Go", Map::new()).expect("broadcasts"), 3);
    clock.advance(3_600_000);
    assert_eq!(e.fire_due_timers().expect("fires"), 3);
    let status = |e: &Engine, id: &str| e.instance(id).expect("reads").map(|s| s.status);
    assert_eq!(status(&e, &ids[1]), Some(Status::Completed));
    assert_eq!(status(&e, &ids[0]), Some(Status::Active));
    assert!(
        e.store_mut()
            .records("wait/")
            .expect("reads")
            .iter()
            .all(|(k, _)| k.starts_with("wait/msg/")),
        "only the message subscriptions of the two waiting instances are left"
    );
}

/// Open reads the heads of buffered messages, not the messages: their
/// variables stay in the store until one is delivered.
#[test]
fn open_reads_buffered_message_heads_only() {
    let waiter = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="M" name="Paid" />
  <bpmn:process id="waiter" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="M" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="paid" />
    <bpmn:sequenceFlow id="f2" sourceRef="paid" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"#;
    let clock = Arc::new(VirtualClock::new(1_700_000_000_000));
    let mut e = engine(&clock, EngineOptions::default());
    e.deploy("waiter.bpmn", waiter).expect("deploys");
    let big = "x".repeat(200_000);
    e.publish_message("Paid", None, vars(json!({ "big": big })), Some(3_600_000))
        .expect("buffers");
    let mut moved = MemoryStore::new();
    for d in e.store_mut().deployments().expect("reads") {
        moved.save_deployment(&d).expect("copies");
    }
    let all: Vec<engine::store::RecordOp> = e
        .store_mut()
        .records("")
        .expect("reads")
        .into_iter()
        .map(|(key, value)| engine::store::RecordOp::Put { key, value })
        .collect();
    moved.write_records(&all).expect("copies");
    let store = common::ObservedStore {
        inner: moved,
        ..Default::default()
    };
    let reads = store.record_reads.clone();
    let mut e = Engine::open(Box::new(store), clock, EngineOptions::default()).expect("reopens");
    let read = reads.lock().expect("lock").clone();
    assert!(
        read.iter().all(|p| p != "msg/" && !p.is_empty()),
        "{read:?}"
    );
    let id = e.start("waiter", Map::new()).expect("starts");
    let s = e.instance(&id).expect("reads").expect("exists");
    assert_eq!(
        s.status,
        Status::Completed,
        "the buffered message reached it"
    );
    assert_eq!(s.variables()["big"].as_str().map(str::len), Some(200_000));
    assert!(e.buffered_messages().expect("reads").is_empty());
}

/// Deleting an ended instance takes its place in the removal index with
/// it: the cleanup finds nothing of it later.
#[test]
fn a_deleted_instance_leaves_nothing_for_the_cleanup() {
    let clock = Arc::new(VirtualClock::new(1_700_000_000_000));
    let mut e = engine(&clock, EngineOptions::default());
    e.deploy("short.bpmn", &c7_with_ttl("1")).expect("deploys");
    let gone = e.start("short", Map::new()).expect("starts");
    let kept = e.start("short", Map::new()).expect("starts");
    e.delete_instance(&gone).expect("deletes");
    let left: Vec<String> = e
        .store_mut()
        .records("expire/")
        .expect("reads")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].ends_with(&format!("/{kept}")), "{left:?}");
    assert_eq!(
        e.remove_expired_history(1_700_000_000_000 + DAY)
            .expect("cleans"),
        1
    );
    assert!(e.store_mut().records("expire/").expect("reads").is_empty());
    assert!(e.store_mut().records("ended/").expect("reads").is_empty());
}
