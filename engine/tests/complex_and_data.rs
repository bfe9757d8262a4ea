//! The complex gateway and data objects with data associations.

use engine::core::Status;
use serde_json::{Value, json};

mod common;
use common::{Run, definitions};

fn start(body: &str, v: Value) -> Run {
    Run::start(&definitions("", body), v)
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
    let mut r = start(&body, json!({}));
    assert_eq!(r.waiting_sorted(), ["a", "b", "c"]);
    r.complete("b", json!({}));
    assert_eq!(r.waiting_sorted(), ["a", "c"], "one of two");
    r.complete("a", json!({}));
    assert_eq!(
        r.waiting_sorted(),
        ["c", "decide"],
        "two: the gateway fired"
    );
    r.complete("c", json!({}));
    assert_eq!(
        r.waiting_sorted(),
        ["decide"],
        "the third token was absorbed"
    );
    assert_eq!(r.count("join"), 1);
    let s = r.state();
    assert!(s.joins.is_empty() && s.complex_resets.is_empty(), "reset");
    assert_eq!(r.complete("decide", json!({})), Status::Completed);
    r.replays();
}

#[test]
fn a_complex_gateway_without_condition_waits_for_every_flow() {
    let body = three_reviews(r#"<bpmn:complexGateway id="join"/>"#);
    let mut r = start(&body, json!({}));
    r.complete("a", json!({}));
    r.complete("b", json!({}));
    assert_eq!(r.waiting_sorted(), ["c"]);
    r.complete("c", json!({}));
    assert_eq!(r.waiting_sorted(), ["decide"]);
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
    let r = start(body, json!({}));
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
    let r = start(body, json!({"notes": "given"}));
    let v = r.state().variables();
    assert_eq!(v["notes"], json!("given"));
    assert_eq!(v["Flag"], Value::Null);
}

#[test]
fn without_a_start_event_every_node_without_incoming_flow_starts() {
    // BPMN 2.0.2 §10.3.5 / §13.2: the implicit start, in the process and
    // in a sub-process.
    let body = r#"<bpmn:userTask id="a"/>
<bpmn:userTask id="b"/>
<bpmn:subProcess id="sub">
  <bpmn:userTask id="inner1"/>
  <bpmn:userTask id="inner2"/>
</bpmn:subProcess>
<bpmn:task id="after"/>
<bpmn:sequenceFlow id="f1" sourceRef="b" targetRef="sub"/>
<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="after"/>"#;
    let mut r = start(body, json!({}));
    assert_eq!(r.waiting_sorted(), ["a", "b"]);
    r.complete("b", json!({}));
    assert_eq!(r.waiting_sorted(), ["a", "inner1", "inner2"]);
    r.complete("inner1", json!({}));
    r.complete("inner2", json!({}));
    assert_eq!(r.waiting_sorted(), ["a"]);
    assert_eq!(r.count("after"), 1);
    assert_eq!(r.complete("a", json!({})), Status::Completed);
    r.replays();
}
