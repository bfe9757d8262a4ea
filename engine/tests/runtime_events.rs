//! The runtime's side of events: messages correlated through the engine's
//! keyed index (keyed and keyless subscriptions, at most one instance per
//! process, message start events), buffering with a time-to-live, signals
//! broadcast to every instance and to signal start events, the outbox of
//! thrown messages between the processes of a collaboration (and its depth
//! bound), timer start events, and what survives a restart of a durable
//! store.

use std::sync::Arc;

use engine::core::Status;
use engine::runtime::{EngineError, MAX_CASCADE_DEPTH};
use engine::store::memory::MemoryStore;
use engine::store::{Durability, StoreKind};
use engine::{Clock, Engine, EngineOptions, VirtualClock};
use serde_json::{Map, Value, json};

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000;

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn engine() -> (Engine, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::new(T0));
    let e = Engine::with_store(
        Box::new(MemoryStore::new()),
        clock.clone(),
        EngineOptions::default(),
    );
    (e, clock)
}

fn defs(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
{body}
</bpmn:definitions>"#
    )
}

/// start → catch message `name` (key `=orderId` when `keyed`) → end.
fn waiting_for(process: &str, name: &str, keyed: bool) -> String {
    let ext = if keyed {
        r#"<bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements>"#
    } else {
        ""
    };
    defs(&format!(
        r#"<bpmn:message id="M_{process}" name="{name}">{ext}</bpmn:message>
  <bpmn:process id="{process}" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing><bpmn:messageEventDefinition messageRef="M_{process}" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Wait" />
    <bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="E" />
  </bpmn:process>"#
    ))
}

fn status(e: &Engine, id: &str) -> Status {
    e.instance(id).expect("loads").expect("exists").status
}

#[test]
fn a_keyed_message_reaches_its_key_and_keyless_subscriptions_one_instance_per_process() {
    let (mut e, _) = engine();
    e.deploy("keyed.bpmn", &waiting_for("Keyed", "Paid", true))
        .expect("deploys");
    e.deploy("keyless.bpmn", &waiting_for("Keyless", "Paid", false))
        .expect("deploys");
    let k1 = e
        .start("Keyed", vars(json!({"orderId": "o-1"})))
        .expect("starts");
    let k2 = e
        .start("Keyed", vars(json!({"orderId": "o-2"})))
        .expect("starts");
    let l1 = e.start("Keyless", Map::new()).expect("starts");
    let l2 = e.start("Keyless", Map::new()).expect("starts");

    // Keyed: the o-2 instance, and the oldest keyless instance.
    let out = e
        .publish_message("Paid", Some("o-2"), vars(json!({"amount": 5})), None)
        .expect("publishes");
    let mut got: Vec<&str> = out.correlated.iter().map(|d| d.instance.as_str()).collect();
    got.sort();
    let mut want = vec![k2.as_str(), l1.as_str()];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(status(&e, &k2), Status::Completed);
    assert_eq!(status(&e, &k1), Status::Active);
    assert_eq!(status(&e, &l1), Status::Completed);
    assert_eq!(status(&e, &l2), Status::Active);
    let vars_k2 = e.instance(&k2).expect("loads").expect("exists").variables();
    assert_eq!(vars_k2["amount"], json!(5));

    // Without a key: only keyless subscriptions.
    let out = e
        .publish_message("Paid", None, Map::new(), None)
        .expect("publishes");
    assert_eq!(out.correlated.len(), 1);
    assert_eq!(out.correlated[0].instance, l2);
    assert_eq!(status(&e, &k1), Status::Active);

    // A key nobody has, nothing keyless left: dropped.
    let out = e
        .publish_message("Paid", Some("o-9"), Map::new(), None)
        .expect("publishes");
    assert!(out.is_dropped(), "{out:?}");
}

#[test]
fn a_buffered_message_is_delivered_once_to_the_next_subscription_until_it_expires() {
    let (mut e, clock) = engine();
    e.deploy("keyed.bpmn", &waiting_for("Keyed", "Paid", true))
        .expect("deploys");
    let out = e
        .publish_message("Paid", Some("o-1"), vars(json!({"n": 1})), Some(HOUR))
        .expect("publishes");
    assert_eq!(out.buffered_until, Some(T0 + HOUR));
    assert_eq!(e.buffered_messages().expect("reads").len(), 1);
    // Another key does not take it.
    let other = e
        .start("Keyed", vars(json!({"orderId": "o-2"})))
        .expect("starts");
    assert_eq!(status(&e, &other), Status::Active);
    // The matching key takes it at once, and only once.
    let first = e
        .start("Keyed", vars(json!({"orderId": "o-1"})))
        .expect("starts");
    assert_eq!(status(&e, &first), Status::Completed);
    let again = e
        .start("Keyed", vars(json!({"orderId": "o-1"})))
        .expect("starts");
    assert_eq!(status(&e, &again), Status::Active);
    assert!(e.buffered_messages().expect("reads").is_empty());

    // An expired message is dropped, not delivered.
    e.publish_message("Paid", Some("o-3"), Map::new(), Some(HOUR))
        .expect("publishes");
    clock.advance(HOUR + 1);
    let late = e
        .start("Keyed", vars(json!({"orderId": "o-3"})))
        .expect("starts");
    assert_eq!(status(&e, &late), Status::Active);
    assert!(e.buffered_messages().expect("reads").is_empty());
}

const SIGNALS: &str = r#"<bpmn:signal id="Sig" name="Alarm" />
  <bpmn:process id="OnAlarm" isExecutable="true">
    <bpmn:startEvent id="AlarmStart"><bpmn:outgoing>F1</bpmn:outgoing><bpmn:signalEventDefinition signalRef="Sig" /></bpmn:startEvent>
    <bpmn:userTask id="Handle"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="E1"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="AlarmStart" targetRef="Handle" />
    <bpmn:sequenceFlow id="F2" sourceRef="Handle" targetRef="E1" />
  </bpmn:process>
  <bpmn:process id="Waiter" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>G1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>G1</bpmn:incoming><bpmn:outgoing>G2</bpmn:outgoing><bpmn:signalEventDefinition signalRef="Sig" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="E2"><bpmn:incoming>G2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="G1" sourceRef="S" targetRef="Wait" />
    <bpmn:sequenceFlow id="G2" sourceRef="Wait" targetRef="E2" />
  </bpmn:process>"#;

#[test]
fn a_signal_reaches_every_waiting_instance_and_starts_signal_start_processes() {
    let (mut e, _) = engine();
    e.deploy("signals.bpmn", &defs(SIGNALS)).expect("deploys");
    let waiters: Vec<String> = (0..3)
        .map(|_| e.start("Waiter", Map::new()).expect("starts"))
        .collect();
    let out = e
        .broadcast_signal_outcome("Alarm", vars(json!({"level": 2})))
        .expect("broadcasts");
    let caught: Vec<&str> = out.triggered.iter().map(|d| d.instance.as_str()).collect();
    assert_eq!(
        caught,
        waiters.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(out.started.len(), 1);
    assert_eq!(out.started[0].process, "OnAlarm");
    for w in &waiters {
        assert_eq!(status(&e, w), Status::Completed);
    }
    let started = e
        .instance(&out.started[0].instance)
        .expect("loads")
        .expect("exists");
    assert_eq!(started.variables()["level"], json!(2));
    // Nobody waits any more but the start event: one more instance.
    assert_eq!(
        e.broadcast_signal("Alarm", Map::new()).expect("broadcasts"),
        1
    );
    assert_eq!(
        e.broadcast_signal("Nobody", Map::new())
            .expect("broadcasts"),
        0
    );
}

const COLLABORATION: &str = r#"<bpmn:message id="Ping" name="Ping" />
  <bpmn:message id="Pong" name="Pong" />
  <bpmn:process id="Asker" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="Fork"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing><bpmn:outgoing>F3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:intermediateCatchEvent id="WaitPong"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Pong" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="Answered"><bpmn:incoming>F4</bpmn:incoming></bpmn:endEvent>
    <bpmn:intermediateThrowEvent id="SendPing"><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F5</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Ping" /></bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="Sent"><bpmn:incoming>F5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Fork" />
    <bpmn:sequenceFlow id="F2" sourceRef="Fork" targetRef="WaitPong" />
    <bpmn:sequenceFlow id="F3" sourceRef="Fork" targetRef="SendPing" />
    <bpmn:sequenceFlow id="F4" sourceRef="WaitPong" targetRef="Answered" />
    <bpmn:sequenceFlow id="F5" sourceRef="SendPing" targetRef="Sent" />
  </bpmn:process>
  <bpmn:process id="Answerer" isExecutable="true">
    <bpmn:startEvent id="GotPing"><bpmn:outgoing>G1</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Ping" /></bpmn:startEvent>
    <bpmn:endEvent id="SendPong"><bpmn:incoming>G1</bpmn:incoming><bpmn:messageEventDefinition messageRef="Pong" /></bpmn:endEvent>
    <bpmn:sequenceFlow id="G1" sourceRef="GotPing" targetRef="SendPong" />
  </bpmn:process>"#;

#[test]
fn thrown_messages_travel_between_the_processes_of_a_collaboration() {
    let (mut e, _) = engine();
    e.deploy("collab.bpmn", &defs(COLLABORATION))
        .expect("deploys");
    let asker = e.start("Asker", Map::new()).expect("starts");
    // The ping started an answerer, whose pong completed the asker, all
    // before `start` returned.
    assert_eq!(status(&e, &asker), Status::Completed);
    let all = e.instances().expect("lists");
    let answerers: Vec<_> = all.iter().filter(|s| s.process.id == "Answerer").collect();
    assert_eq!(answerers.len(), 1);
    assert_eq!(answerers[0].status, Status::Completed);
}

#[test]
fn a_message_ping_pong_stops_at_the_cascade_depth() {
    let (mut e, _) = engine();
    let echo = defs(
        r#"<bpmn:message id="Ping" name="Ping" />
  <bpmn:process id="Echo" isExecutable="true">
    <bpmn:startEvent id="GotPing"><bpmn:outgoing>G1</bpmn:outgoing><bpmn:messageEventDefinition messageRef="Ping" /></bpmn:startEvent>
    <bpmn:endEvent id="SendPing"><bpmn:incoming>G1</bpmn:incoming><bpmn:messageEventDefinition messageRef="Ping" /></bpmn:endEvent>
    <bpmn:sequenceFlow id="G1" sourceRef="GotPing" targetRef="SendPing" />
  </bpmn:process>"#,
    );
    e.deploy("echo.bpmn", &echo).expect("deploys");
    let err = e
        .publish_message("Ping", None, Map::new(), None)
        .expect_err("never settles");
    assert!(
        matches!(err, EngineError::Cascade { limit } if limit == MAX_CASCADE_DEPTH),
        "{err}"
    );
    // Each round started one instance; the engine is usable afterwards.
    let n = e.instances().expect("lists").len();
    assert_eq!(n, MAX_CASCADE_DEPTH as usize + 1);
    assert!(e.next_timer_due().expect("reads").is_none());
}

const HOURLY: &str = r#"<bpmn:process id="Hourly" isExecutable="true">
    <bpmn:startEvent id="Tick"><bpmn:outgoing>F1</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:userTask id="Look"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Tick" targetRef="Look" />
    <bpmn:sequenceFlow id="F2" sourceRef="Look" targetRef="E" />
  </bpmn:process>"#;

const NAP: &str = r#"<bpmn:process id="Nap" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Sleep"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration>PT30M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Sleep" />
    <bpmn:sequenceFlow id="F2" sourceRef="Sleep" targetRef="E" />
  </bpmn:process>"#;

fn count(e: &Engine, process: &str) -> usize {
    e.instances()
        .expect("lists")
        .iter()
        .filter(|s| s.process.id == process)
        .count()
}

#[test]
fn a_timer_start_cycle_starts_instances_and_a_new_version_replaces_it() {
    let (mut e, clock) = engine();
    e.deploy("hourly.bpmn", &defs(HOURLY)).expect("deploys");
    assert_eq!(e.next_timer_due().expect("reads"), Some(T0 + HOUR));
    assert_eq!(e.fire_due_timers().expect("fires"), 0);
    clock.advance(3 * HOUR);
    assert_eq!(e.fire_due_timers().expect("fires"), 3);
    assert_eq!(count(&e, "Hourly"), 3);
    assert_eq!(e.next_timer_due().expect("reads"), Some(T0 + 4 * HOUR));
    // A new version without the timer start removes the schedule.
    let plain = defs(&HOURLY.replace(
        "<bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>",
        "",
    ));
    e.deploy("hourly.bpmn", &plain).expect("deploys");
    assert!(e.start_timers().is_empty());
    // The three instances wait at a user task: no timers at all.
    assert_eq!(e.next_timer_due().expect("reads"), None);
}

#[test]
fn buffered_messages_start_timers_and_overdue_timers_survive_a_restart() {
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let dir = std::env::temp_dir().join(format!(
            "orchid-runtime-events-{kind}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("store");
        let clock = Arc::new(VirtualClock::new(T0));
        let napper;
        {
            let store = engine::store::open(kind, &path, Durability::Immediate).expect("opens");
            let mut e =
                Engine::open(store, clock.clone(), EngineOptions::default()).expect("opens");
            e.deploy("hourly.bpmn", &defs(HOURLY)).expect("deploys");
            e.deploy("nap.bpmn", &defs(NAP)).expect("deploys");
            e.deploy("keyed.bpmn", &waiting_for("Keyed", "Paid", true))
                .expect("deploys");
            napper = e.start("Nap", Map::new()).expect("starts");
            e.publish_message("Paid", Some("o-1"), vars(json!({"n": 7})), Some(10 * HOUR))
                .expect("buffers");
            e.flush().expect("flushes");
        }
        // Down for 90 minutes: the nap (30 min) and the start timer (1 h)
        // became due meanwhile.
        clock.advance(90 * 60_000);
        let store = engine::store::open(kind, &path, Durability::Immediate).expect("reopens");
        let mut e = Engine::open(store, clock.clone(), EngineOptions::default()).expect("opens");
        assert_eq!(e.buffered_messages().expect("reads").len(), 1, "{kind}");
        assert_eq!(e.start_timers().len(), 1, "{kind}");
        assert_eq!(e.next_timer_due().expect("reads"), Some(T0 + 30 * 60_000));
        assert_eq!(e.fire_due_timers().expect("fires"), 2, "{kind}");
        assert_eq!(status(&e, &napper), Status::Completed, "{kind}");
        assert_eq!(count(&e, "Hourly"), 1, "{kind}");
        assert_eq!(e.next_timer_due().expect("reads"), Some(T0 + 2 * HOUR));
        // The buffered message goes to the first matching subscription.
        let payer = e
            .start("Keyed", vars(json!({"orderId": "o-1"})))
            .expect("starts");
        assert_eq!(status(&e, &payer), Status::Completed, "{kind}");
        assert!(e.buffered_messages().expect("reads").is_empty());
        drop(e);
        // ... and is gone for good.
        let store = engine::store::open(kind, &path, Durability::Immediate).expect("reopens");
        let e = Engine::open(store, clock.clone(), EngineOptions::default()).expect("opens");
        assert!(e.buffered_messages().expect("reads").is_empty(), "{kind}");
        assert_eq!(clock.now_millis(), T0 + 90 * 60_000);
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_keyed_message_starts_no_second_instance_while_the_first_with_that_key_runs() {
    let (mut e, _) = engine();
    e.deploy(
        "orders.bpmn",
        &defs(
            r#"<bpmn:message id="M" name="OrderPlaced" />
  <bpmn:process id="Orders" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:messageEventDefinition messageRef="M" /></bpmn:startEvent>
    <bpmn:userTask id="Pack" />
    <bpmn:endEvent id="E" />
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Pack" />
    <bpmn:sequenceFlow id="F2" sourceRef="Pack" targetRef="E" />
  </bpmn:process>"#,
        ),
    )
    .expect("deploys");
    let first = e
        .publish_message("OrderPlaced", Some("o-1"), Map::new(), None)
        .expect("publishes");
    assert_eq!(first.started.len(), 1);
    let again = e
        .publish_message("OrderPlaced", Some("o-1"), Map::new(), None)
        .expect("publishes");
    assert!(again.started.is_empty(), "{again:?}");
    let other = e
        .publish_message("OrderPlaced", Some("o-2"), Map::new(), None)
        .expect("publishes");
    assert_eq!(other.started.len(), 1, "another key starts its own");
    let id = first.started[0].instance.clone();
    e.complete_task(&id, "Pack", Map::new()).expect("completes");
    assert_eq!(status(&e, &id), Status::Completed);
    let after = e
        .publish_message("OrderPlaced", Some("o-1"), Map::new(), None)
        .expect("publishes");
    assert_eq!(
        after.started.len(),
        1,
        "the first one ended: a new one starts"
    );
    let keyless = e
        .publish_message("OrderPlaced", None, Map::new(), None)
        .expect("publishes");
    assert_eq!(
        keyless.started.len(),
        1,
        "without a key nothing is held back"
    );
}
