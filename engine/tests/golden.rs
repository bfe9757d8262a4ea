//! Golden fixtures of the stored formats (record format 1): a checkpoint,
//! an event log, a deployment, a timer start event's schedule and a
//! buffered message, as this version writes them. Each must decode and
//! encode back byte for byte; a format change that breaks that is a new
//! version with a migration, never an edit of these files.
//!
//! The fixtures were written once by running a process that waits at a
//! user task, a job, a timer and a message (`ORCHID_WRITE_GOLDEN=1` writes
//! a missing one; existing ones are never rewritten).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::core::{Event, InstanceState};
use engine::runtime::{BufferedMessage, StartTimer};
use engine::store::{DeploymentRecord, decode, encode};
use engine::{Engine, EngineOptions, VirtualClock};
use serde_json::{Map, json};

const WAITS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="golden" targetNamespace="t">
  <bpmn:message id="M" name="Paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="golden" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:userTask id="review" />
    <bpmn:serviceTask id="charge"><bpmn:extensionElements><zeebe:taskDefinition type="charge" retries="2" /></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="M" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork" />
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="charge" />
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="wait" />
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="paid" />
  </bpmn:process>
  <bpmn:process id="ticker" isExecutable="true">
    <bpmn:startEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:endEvent id="ticked" />
    <bpmn:sequenceFlow id="k" sourceRef="tick" targetRef="ticked" />
  </bpmn:process>
</bpmn:definitions>"#;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/store/v1")
}

/// The fixture `name` decodes as a `T` and encodes back byte for byte; it
/// is written from `written` once, when missing and asked for.
fn golden<T>(name: &str, written: &T)
where
    T: serde::Serialize + for<'de> serde::Deserialize<'de>,
{
    let path = dir().join(name);
    if !path.exists() && std::env::var("ORCHID_WRITE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(dir()).expect("fixture directory");
        std::fs::write(&path, encode(written)).expect("writes the fixture");
    }
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (ORCHID_WRITE_GOLDEN=1 writes it once)",
            path.display()
        )
    });
    let decoded: T = decode(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        encode(&decoded),
        bytes,
        "{name}: does not encode back byte for byte"
    );
}

#[test]
fn stored_records_of_format_1_decode_and_encode_unchanged() {
    let clock = Arc::new(VirtualClock::new(1_700_000_000_000));
    let mut e = Engine::open(
        Box::new(engine::store::memory::MemoryStore::new()),
        clock.clone(),
        EngineOptions::default(),
    )
    .expect("opens");
    e.deploy("golden.bpmn", WAITS).expect("deploys");
    let vars: Map<String, serde_json::Value> =
        json!({"orderId": "o-7", "amount": 12.5, "tags": ["a", "b"]})
            .as_object()
            .cloned()
            .unwrap_or_default();
    let id = e
        .start_with_business_key("golden", vars, Some("order-7"))
        .expect("starts");
    e.publish_message("Nobody", Some("k"), Map::new(), Some(60_000))
        .expect("buffers");
    let state: InstanceState = e.instance(&id).expect("reads").expect("exists");
    let events: Vec<Event> = e.store_mut().events(&id).expect("reads");
    let deployment: DeploymentRecord = e
        .store_mut()
        .deployments()
        .expect("reads")
        .into_iter()
        .next()
        .expect("deployed");
    let timer: StartTimer = e.start_timers().into_iter().next().expect("scheduled");
    let message: BufferedMessage = e
        .buffered_messages()
        .expect("reads")
        .into_iter()
        .next()
        .expect("buffered");
    golden("checkpoint.json", &state);
    golden("events.json", &events);
    golden("deployment.json", &deployment);
    golden("start-timer.json", &timer);
    golden("buffered-message.json", &message);
}
