//! Compensation, transactions and ad-hoc sub-processes in the engine core.

use engine::Engine;
use engine::core::Status;
use serde_json::{Value, json};

mod common;
use common::{Run, definitions};

fn start(body: &str, v: Value) -> Run {
    Run::start(&definitions("", body), v)
}

/// A script task `id` that appends `id` to `log`, with a compensation
/// handler `undo_<id>` that appends `undo_<id>` and records what `amount`
/// was when `id` ran (through its input mapping `amountThen`).
fn compensable(id: &str) -> String {
    format!(
        r#"<bpmn:scriptTask id="{id}" scriptFormat="rhai"><bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=amount" target="amountThen"/></zeebe:ioMapping></bpmn:extensionElements><bpmn:script>let l = log; l.push("{id}"); log = l;</bpmn:script></bpmn:scriptTask>
<bpmn:boundaryEvent id="{id}_comp" attachedToRef="{id}"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:scriptTask id="undo_{id}" isForCompensation="true" scriptFormat="rhai"><bpmn:script>let l = log; l.push("undo_{id}"); log = l; seen_{id} = amountThen;</bpmn:script></bpmn:scriptTask>
<bpmn:association id="{id}_assoc" sourceRef="{id}_comp" targetRef="undo_{id}" associationDirection="One"/>"#
    )
}

fn flows(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(a, b)| {
            format!(r#"<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>"#)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const COMPENSATE_END: &str =
    r#"<bpmn:endEvent id="undo"><bpmn:compensateEventDefinition/></bpmn:endEvent>"#;

#[test]
fn compensation_runs_the_handlers_of_completed_activities_in_reverse_order_with_their_variables() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
{}
{}
<bpmn:userTask id="review"/>
{COMPENSATE_END}
{}"#,
        compensable("a"),
        compensable("b"),
        flows(&[("s", "a"), ("a", "b"), ("b", "review"), ("review", "undo")])
    );
    let mut r = start(&body, json!({"log": [], "amount": 10}));
    assert_eq!(r.waiting_sorted(), ["review"]);
    assert_eq!(
        r.complete("review", json!({"amount": 99})),
        Status::Completed
    );
    assert_eq!(r.var("log"), json!(["a", "b", "undo_b", "undo_a"]));
    assert_eq!(
        r.var("seen_a"),
        json!(10),
        "the variables as the activity completed"
    );
    assert!(r.state().compensables.is_empty());
    r.replays();
}

#[test]
fn an_activity_ref_compensates_only_that_activity_and_each_only_once() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
{}
{}
<bpmn:intermediateThrowEvent id="undoA"><bpmn:compensateEventDefinition activityRef="a"/></bpmn:intermediateThrowEvent>
<bpmn:intermediateThrowEvent id="undoA2"><bpmn:compensateEventDefinition activityRef="a"/></bpmn:intermediateThrowEvent>
<bpmn:userTask id="after"/>
{}"#,
        compensable("a"),
        compensable("b"),
        flows(&[
            ("s", "a"),
            ("a", "b"),
            ("b", "undoA"),
            ("undoA", "undoA2"),
            ("undoA2", "after")
        ])
    );
    let r = start(&body, json!({"log": [], "amount": 1}));
    assert_eq!(r.waiting_sorted(), ["after"]);
    assert_eq!(r.var("log"), json!(["a", "b", "undo_a"]));
    assert_eq!(r.state().compensables.len(), 1, "b is still compensable");
}

#[test]
fn only_completed_activities_are_compensated() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:parallelGateway id="fork"/>
{}
<bpmn:userTask id="wait"/>
<bpmn:boundaryEvent id="wait_comp" attachedToRef="wait"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:scriptTask id="undo_wait" isForCompensation="true" scriptFormat="rhai"><bpmn:script>never = true;</bpmn:script></bpmn:scriptTask>
<bpmn:association id="wa" sourceRef="wait_comp" targetRef="undo_wait"/>
<bpmn:intermediateThrowEvent id="undoAll"><bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>
<bpmn:endEvent id="e1"/>
{}"#,
        compensable("a"),
        flows(&[
            ("s", "fork"),
            ("fork", "a"),
            ("fork", "wait"),
            ("a", "undoAll"),
            ("undoAll", "e1")
        ])
    );
    let r = start(&body, json!({"log": [], "amount": 1}));
    assert_eq!(r.var("log"), json!(["a", "undo_a"]));
    assert_eq!(r.var("never"), Value::Null);
    assert_eq!(r.waiting_sorted(), ["wait"]);
}

#[test]
fn compensating_a_completed_sub_process_runs_its_inner_handlers() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:subProcess id="booking">
  <bpmn:startEvent id="bs"/>
  {}
  {}
  <bpmn:endEvent id="be"/>
  {}
</bpmn:subProcess>
{}
<bpmn:userTask id="review"/>
{COMPENSATE_END}
{}"#,
        compensable("hotel"),
        compensable("flight"),
        flows(&[("bs", "hotel"), ("hotel", "flight"), ("flight", "be")]),
        compensable("pay"),
        flows(&[
            ("s", "booking"),
            ("booking", "pay"),
            ("pay", "review"),
            ("review", "undo")
        ])
    );
    let mut r = start(&body, json!({"log": [], "amount": 5}));
    r.complete("review", json!({}));
    assert_eq!(
        r.var("log"),
        json!([
            "hotel",
            "flight",
            "pay",
            "undo_pay",
            "undo_flight",
            "undo_hotel"
        ])
    );
    assert_eq!(r.state().status, Status::Completed);
    r.replays();
}

#[test]
fn without_wait_for_completion_the_thrower_goes_on_beside_the_handlers() {
    let body = r#"<bpmn:startEvent id="s"/>
<bpmn:scriptTask id="a" scriptFormat="rhai"><bpmn:script>x = 1;</bpmn:script></bpmn:scriptTask>
<bpmn:boundaryEvent id="a_comp" attachedToRef="a"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:userTask id="undo_a" isForCompensation="true"/>
<bpmn:association id="aa" sourceRef="a_comp" targetRef="undo_a"/>
<bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition waitForCompletion="false"/></bpmn:intermediateThrowEvent>
<bpmn:userTask id="next"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="undo"/>
<bpmn:sequenceFlow id="f3" sourceRef="undo" targetRef="next"/>"#;
    let mut r = start(body, json!({}));
    assert_eq!(r.waiting_sorted(), ["next", "undo_a"]);
    r.complete("undo_a", json!({}));
    assert_eq!(r.complete("next", json!({})), Status::Completed);
    r.replays();
}

#[test]
fn with_wait_for_completion_the_thrower_waits_for_a_waiting_handler() {
    let body = r#"<bpmn:startEvent id="s"/>
<bpmn:scriptTask id="a" scriptFormat="rhai"><bpmn:script>x = 1;</bpmn:script></bpmn:scriptTask>
<bpmn:boundaryEvent id="a_comp" attachedToRef="a"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:userTask id="undo_a" isForCompensation="true"/>
<bpmn:association id="aa" sourceRef="a_comp" targetRef="undo_a"/>
<bpmn:intermediateThrowEvent id="undo"><bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>
<bpmn:userTask id="next"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="undo"/>
<bpmn:sequenceFlow id="f3" sourceRef="undo" targetRef="next"/>"#;
    let mut r = start(body, json!({}));
    assert_eq!(r.waiting_sorted(), ["undo", "undo_a"]);
    r.complete("undo_a", json!({}));
    assert_eq!(r.waiting_sorted(), ["next"]);
}

fn transaction(inner_extra: &str, inner_flows: &str) -> String {
    format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:transaction id="tx">
  <bpmn:startEvent id="ts"/>
  {}
  <bpmn:parallelGateway id="fork"/>
  <bpmn:userTask id="confirm"/>
  <bpmn:userTask id="check"/>
  <bpmn:endEvent id="abort"><bpmn:cancelEventDefinition/></bpmn:endEvent>
  <bpmn:endEvent id="te"/>
  {inner_extra}
  {}
  {inner_flows}
</bpmn:transaction>
<bpmn:boundaryEvent id="cancelled" attachedToRef="tx"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>
<bpmn:endEvent id="e"/>
<bpmn:endEvent id="ec"/>
{}"#,
        compensable("book"),
        flows(&[
            ("ts", "book"),
            ("book", "fork"),
            ("fork", "confirm"),
            ("fork", "check"),
            ("confirm", "te"),
            ("check", "abort")
        ]),
        flows(&[("s", "tx"), ("tx", "e"), ("cancelled", "ec")])
    )
}

#[test]
fn a_cancel_end_event_cancels_the_transaction_compensates_it_and_leaves_by_the_cancel_boundary() {
    let mut r = start(&transaction("", ""), json!({"log": [], "amount": 3}));
    assert_eq!(r.waiting_sorted(), ["check", "confirm"]);
    assert_eq!(r.complete("check", json!({})), Status::Completed);
    assert_eq!(r.var("log"), json!(["book", "undo_book"]));
    let v = r.visited();
    assert!(
        v.ends_with(&["cancelled".to_string(), "ec".to_string()]),
        "{v:?}"
    );
    assert!(!v.contains(&"confirm".to_string()));
    let s = r.state();
    assert!(s.tokens.is_empty() && s.compensables.is_empty() && s.compensations.is_empty());
    r.replays();
}

#[test]
fn a_transaction_cancelled_while_a_compensation_handler_runs() {
    // `confirm` throws a compensation whose handler is a user task; while
    // it waits, `check` reaches the cancel end event.
    let extra = r#"<bpmn:scriptTask id="charge" scriptFormat="rhai"><bpmn:script>charged = true;</bpmn:script></bpmn:scriptTask>
  <bpmn:boundaryEvent id="charge_comp" attachedToRef="charge"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
  <bpmn:userTask id="refund" isForCompensation="true"/>
  <bpmn:association id="ca" sourceRef="charge_comp" targetRef="refund"/>
  <bpmn:intermediateThrowEvent id="undoCharge"><bpmn:compensateEventDefinition activityRef="charge"/></bpmn:intermediateThrowEvent>"#;
    let body = transaction(extra, "").replace(
        r#"<bpmn:sequenceFlow id="f_ts_book" sourceRef="ts" targetRef="book"/>"#,
        r#"<bpmn:sequenceFlow id="f_ts_charge" sourceRef="ts" targetRef="charge"/><bpmn:sequenceFlow id="f_charge_book" sourceRef="charge" targetRef="book"/>"#,
    )
    .replace(
        r#"<bpmn:sequenceFlow id="f_confirm_te" sourceRef="confirm" targetRef="te"/>"#,
        r#"<bpmn:sequenceFlow id="f_confirm_u" sourceRef="confirm" targetRef="undoCharge"/><bpmn:sequenceFlow id="f_u_te" sourceRef="undoCharge" targetRef="te"/>"#,
    );
    let mut r = start(&body, json!({"log": [], "amount": 3}));
    r.complete("confirm", json!({}));
    assert_eq!(r.waiting_sorted(), ["check", "refund", "undoCharge"]);
    assert_eq!(r.complete("check", json!({})), Status::Completed);
    let v = r.visited();
    assert!(
        v.ends_with(&["cancelled".to_string(), "ec".to_string()]),
        "{v:?}"
    );
    assert_eq!(
        r.var("log"),
        json!(["book", "undo_book"]),
        "book compensated on cancel"
    );
    assert!(
        !v.contains(&"refund".to_string()),
        "the running handler was cancelled"
    );
    let s = r.state();
    assert!(s.tokens.is_empty() && s.compensations.is_empty());
    r.replays();
}

#[test]
fn an_ad_hoc_sub_process_enables_its_activities_and_completes_when_they_are_done() {
    let body = r#"<bpmn:startEvent id="s"/>
<bpmn:adHocSubProcess id="adhoc">
  <bpmn:userTask id="x"/>
  <bpmn:userTask id="y"/>
  <bpmn:userTask id="z"/>
  <bpmn:endEvent id="ze"/>
  <bpmn:sequenceFlow id="g1" sourceRef="z" targetRef="ze"/>
</bpmn:adHocSubProcess>
<bpmn:userTask id="after"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="adhoc"/>
<bpmn:sequenceFlow id="f2" sourceRef="adhoc" targetRef="after"/>"#;
    let mut r = start(body, json!({}));
    assert_eq!(r.waiting_sorted(), ["x", "y", "z"]);
    r.complete("y", json!({}));
    r.complete("x", json!({}));
    assert_eq!(r.waiting_sorted(), ["z"]);
    r.complete("z", json!({}));
    assert_eq!(r.waiting_sorted(), ["after"]);
    r.replays();

    // Sequential, with a completion condition that cancels the rest.
    let seq = body
        .replace(
            r#"<bpmn:adHocSubProcess id="adhoc">"#,
            r#"<bpmn:adHocSubProcess id="adhoc" ordering="Sequential"><bpmn:completionCondition>=enough = true</bpmn:completionCondition>"#,
        );
    let mut r = start(&seq, json!({"enough": false}));
    assert_eq!(r.waiting_sorted(), ["x"]);
    r.complete("x", json!({}));
    assert_eq!(r.waiting_sorted(), ["y"]);
    r.complete("y", json!({"enough": true}));
    assert_eq!(r.waiting_sorted(), ["after"]);
    let v = r.visited();
    assert!(!v.contains(&"z".to_string()), "{v:?}");
    r.replays();
}

#[test]
fn a_compensation_boundary_without_handler_and_a_cancel_end_outside_a_transaction_are_refused() {
    let body = r#"<bpmn:startEvent id="s"/>
<bpmn:task id="a"/>
<bpmn:boundaryEvent id="a_comp" attachedToRef="a"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:endEvent id="x"><bpmn:cancelEventDefinition/></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="x"/>"#;
    let mut engine = Engine::in_memory();
    let err = engine
        .deploy("x.bpmn", &definitions("", body))
        .expect_err("refused");
    let engine::EngineError::Deploy { error, .. } = err else {
        panic!("a deploy error");
    };
    let messages: Vec<&str> = error.problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("expected an association to a compensation handler")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("expected it inside a transaction")),
        "{messages:?}"
    );
}

#[test]
fn a_compensation_event_sub_process_compensates_its_completed_sub_process() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:subProcess id="booking">
  <bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=&quot;BK-1&quot;" target="ref"/></zeebe:ioMapping></bpmn:extensionElements>
  <bpmn:startEvent id="bs"/>
  {}
  <bpmn:endEvent id="be"/>
  <bpmn:subProcess id="onCompensate" triggeredByEvent="true">
    <bpmn:startEvent id="cs"><bpmn:compensateEventDefinition/></bpmn:startEvent>
    <bpmn:scriptTask id="notify" scriptFormat="rhai"><bpmn:script>let l = log; l.push("notify " + ref); log = l;</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="ce"><bpmn:compensateEventDefinition/></bpmn:endEvent>
    {}
  </bpmn:subProcess>
  {}
</bpmn:subProcess>
<bpmn:userTask id="review"/>
{COMPENSATE_END}
{}"#,
        compensable("hotel"),
        flows(&[("cs", "notify"), ("notify", "ce")]),
        flows(&[("bs", "hotel"), ("hotel", "be")]),
        flows(&[("s", "booking"), ("booking", "review"), ("review", "undo")])
    );
    let mut r = start(&body, json!({"log": [], "amount": 1}));
    assert_eq!(r.waiting_sorted(), ["review"]);
    assert_eq!(r.complete("review", json!({})), Status::Completed);
    assert_eq!(r.var("log"), json!(["hotel", "notify BK-1", "undo_hotel"]));
    let s = r.state();
    assert!(s.tokens.is_empty() && s.compensations.is_empty() && s.scopes.len() == 1);
    r.replays();
}
