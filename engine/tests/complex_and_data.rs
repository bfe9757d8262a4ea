//! The complex gateway and data objects with data associations.

use engine::Engine;
use engine::core::{InstanceState, Status};
use engine::runtime::{visited, waiting_at};
use serde_json::{Map, Value, json};

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn file(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="t">
  <bpmn:process id="P" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>"#
    )
}

struct Run {
    engine: Engine,
    id: String,
}

impl Run {
    fn start(body: &str, v: Value) -> Run {
        let mut engine = Engine::in_memory();
        engine
            .deploy("x.bpmn", &file(body))
            .unwrap_or_else(|e| panic!("deploys: {e:?}"));
        let id = engine.start("P", vars(v)).expect("starts");
        Run { engine, id }
    }

    fn state(&self) -> InstanceState {
        self.engine.instance(&self.id).unwrap().expect("exists")
    }

    fn waiting(&self) -> Vec<String> {
        let s = self.state();
        let mut w = waiting_at(&s, self.engine.process_version(&s.process).unwrap());
        w.sort();
        w
    }

    fn count(&self, id: &str) -> usize {
        let s = self.state();
        visited(&s, self.engine.process_version(&s.process).unwrap())
            .iter()
            .filter(|v| *v == id)
            .count()
    }

    fn complete(&mut self, task: &str) -> Status {
        self.engine
            .complete_task(&self.id, task, Map::new())
            .expect("completes")
    }

    fn var(&self, name: &str) -> Value {
        self.state()
            .variables()
            .get(name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn replays(&mut self) {
        let state = self.state();
        let log = self.engine.store_mut().events(&self.id).expect("log");
        assert_eq!(InstanceState::replay(&log).expect("replays"), state);
    }
}

fn three_reviews(gateway: &str) -> String {
    format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:userTask id="a"/><bpmn:userTask id="b"/><bpmn:userTask id="c"/>
{gateway}
<bpmn:userTask id="decide"/>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork"/>
<bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="a"/>
<bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="b"/>
<bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="c"/>
<bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="join"/>
<bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="join"/>
<bpmn:sequenceFlow id="f6" sourceRef="c" targetRef="join"/>
<bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="decide"/>
<bpmn:sequenceFlow id="f8" sourceRef="decide" targetRef="e"/>"#
    )
}

#[test]
fn a_complex_gateway_fires_when_its_activation_condition_holds_and_absorbs_the_rest() {
    let body = three_reviews(
        r#"<bpmn:complexGateway id="join"><bpmn:activationCondition xsi:type="bpmn:tFormalExpression">=activationCount &gt;= 2</bpmn:activationCondition></bpmn:complexGateway>"#,
    );
    let mut r = Run::start(&body, json!({}));
    assert_eq!(r.waiting(), ["a", "b", "c"]);
    r.complete("b");
    assert_eq!(r.waiting(), ["a", "c"], "one of two");
    r.complete("a");
    assert_eq!(r.waiting(), ["c", "decide"], "two: the gateway fired");
    r.complete("c");
    assert_eq!(r.waiting(), ["decide"], "the third token was absorbed");
    assert_eq!(r.count("join"), 1);
    let s = r.state();
    assert!(s.joins.is_empty() && s.complex_resets.is_empty(), "reset");
    assert_eq!(r.complete("decide"), Status::Completed);
    r.replays();
}

#[test]
fn a_complex_gateway_without_condition_waits_for_every_flow() {
    let body = three_reviews(r#"<bpmn:complexGateway id="join"/>"#);
    let mut r = Run::start(&body, json!({}));
    r.complete("a");
    r.complete("b");
    assert_eq!(r.waiting(), ["c"]);
    r.complete("c");
    assert_eq!(r.waiting(), ["decide"]);
    r.replays();
}

#[test]
fn data_objects_are_scope_variables_set_and_read_through_associations() {
    let body = r#"<bpmn:startEvent id="s"/>
<bpmn:dataObject id="OrderObject" name="order"/>
<bpmn:dataObjectReference id="OrderRef" dataObjectRef="OrderObject"/>
<bpmn:scriptTask id="price" scriptFormat="rhai">
  <bpmn:ioSpecification>
    <bpmn:dataOutput id="PriceOut" name="result"/>
    <bpmn:outputSet><bpmn:dataOutputRefs>PriceOut</bpmn:dataOutputRefs></bpmn:outputSet>
  </bpmn:ioSpecification>
  <bpmn:dataOutputAssociation id="o1"><bpmn:sourceRef>PriceOut</bpmn:sourceRef><bpmn:targetRef>OrderRef</bpmn:targetRef></bpmn:dataOutputAssociation>
  <bpmn:script>result = 21;</bpmn:script>
</bpmn:scriptTask>
<bpmn:scriptTask id="double" scriptFormat="rhai">
  <bpmn:ioSpecification>
    <bpmn:dataInput id="In" name="amount"/>
    <bpmn:inputSet><bpmn:dataInputRefs>In</bpmn:dataInputRefs></bpmn:inputSet>
  </bpmn:ioSpecification>
  <bpmn:dataInputAssociation id="i1"><bpmn:sourceRef>OrderRef</bpmn:sourceRef><bpmn:targetRef>In</bpmn:targetRef>
    <bpmn:transformation>=order * 2</bpmn:transformation>
  </bpmn:dataInputAssociation>
  <bpmn:script>doubled = amount;</bpmn:script>
</bpmn:scriptTask>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="price"/>
<bpmn:sequenceFlow id="f2" sourceRef="price" targetRef="double"/>
<bpmn:sequenceFlow id="f3" sourceRef="double" targetRef="e"/>"#;
    let r = Run::start(body, json!({}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.var("order"), json!(21));
    assert_eq!(r.var("doubled"), json!(42));
    assert_eq!(r.var("amount"), Value::Null, "the data input stays local");
}

#[test]
fn a_data_object_starts_empty_unless_a_start_variable_gives_it() {
    let body = r#"<bpmn:startEvent id="s"/>
<bpmn:dataObject id="Notes" name="notes"/>
<bpmn:dataObject id="Flag"/>
<bpmn:userTask id="t"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>"#;
    let r = Run::start(body, json!({"notes": "given"}));
    let v = r.state().variables();
    assert_eq!(v["notes"], json!("given"));
    assert_eq!(v["Flag"], Value::Null);
}
