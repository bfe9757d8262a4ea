//! The runtime's event indexes at scale, in memory (no store I/O): 100,000
//! timers scheduled and fired through the virtual clock, and 100,000
//! messages correlated by key to 100,000 waiting instances (a keyed index
//! lookup per message, not a scan).
//!
//! `cargo bench -p engine --bench events`

use std::sync::Arc;

use engine::store::memory::MemoryStore;
use engine::{Engine, EngineOptions, VirtualClock};
use serde_json::{Map, Value, json};

const N: usize = 100_000;
const T0: i64 = 1_767_225_600_000;

fn main() {
    divan::main();
}

fn defs(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
{body}
</bpmn:definitions>"#
    )
}

/// start → timer catch (PT1M) → end.
const TIMER: &str = r#"<bpmn:process id="Nap" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Sleep"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Sleep" />
    <bpmn:sequenceFlow id="F2" sourceRef="Sleep" targetRef="E" />
  </bpmn:process>"#;

/// start → message catch `Paid` keyed by `=orderId` → end.
const MESSAGE: &str = r#"<bpmn:message id="M" name="Paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="Pay" isExecutable="true">
    <bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing><bpmn:messageEventDefinition messageRef="M" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Wait" />
    <bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="E" />
  </bpmn:process>"#;

fn engine_with(body: &str) -> (Engine, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::new(T0));
    let mut engine = Engine::with_store(
        Box::new(MemoryStore::without_logs()),
        clock.clone(),
        EngineOptions::default(),
    );
    engine.deploy("bench.bpmn", &defs(body)).expect("deploys");
    (engine, clock)
}

fn order(i: usize) -> Map<String, Value> {
    json!({"orderId": format!("o-{i}")})
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// Starting 100,000 instances that each schedule a timer (index upkeep
/// included).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn timers_schedule_100k(b: divan::Bencher) {
    b.with_inputs(|| engine_with(TIMER))
        .bench_local_values(|(mut engine, clock)| {
            for _ in 0..N {
                engine.start("Nap", Map::new()).expect("starts");
            }
            (engine, clock)
        });
}

/// 100,000 instances wait at a timer; the clock moves past them and one
/// `fire_due_timers` fires all 100,000 in due order.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn timers_fire_100k(b: divan::Bencher) {
    b.with_inputs(|| {
        let (mut engine, clock) = engine_with(TIMER);
        for _ in 0..N {
            engine.start("Nap", Map::new()).expect("starts");
        }
        clock.advance(120_000);
        engine
    })
    .bench_local_values(|mut engine| {
        let fired = engine.fire_due_timers().expect("fires");
        assert_eq!(fired, N);
        engine
    });
}

/// 100,000 instances wait for `Paid` with their own key; 100,000
/// messages, one per key, each correlate to exactly one of them.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn messages_correlate_100k_by_key(b: divan::Bencher) {
    b.with_inputs(|| {
        let (mut engine, _clock) = engine_with(MESSAGE);
        for i in 0..N {
            engine.start("Pay", order(i)).expect("starts");
        }
        engine
    })
    .bench_local_values(|mut engine| {
        for i in 0..N {
            let key = format!("o-{i}");
            let out = engine
                .publish_message("Paid", Some(&key), Map::new(), None)
                .expect("publishes");
            assert_eq!(out.correlated.len(), 1);
        }
        engine
    });
}
