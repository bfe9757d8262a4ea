//! Call activities through the engine: child instances started, linked,
//! completed, failing, throwing to their parent and cancelled with it.

use engine::Engine;
use engine::core::{InstanceState, Status, TokenState};
use engine::runtime::{descendants, visited, waiting_at};
use serde_json::{Map, Value, json};

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

const C8: &str = r#"xmlns:zeebe="http://camunda.org/schema/zeebe/1.0""#;
const C7: &str = r#"xmlns:camunda="http://camunda.org/schema/1.0/bpmn""#;

/// A file with the given processes (`(id, body)`), in the given dialect
/// namespace declaration.
fn file(ns: &str, processes: &[(&str, &str)]) -> String {
    let ps: String = processes
        .iter()
        .map(|(id, body)| {
            format!("<bpmn:process id=\"{id}\" isExecutable=\"true\">\n{body}\n</bpmn:process>\n")
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {ns} id="D" targetNamespace="t">
{ps}</bpmn:definitions>"#
    )
}

fn flows(chain: &[&str]) -> String {
    chain
        .windows(2)
        .map(|w| {
            format!(
                r#"<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>"#,
                a = w[0],
                b = w[1]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn state(engine: &Engine, id: &str) -> InstanceState {
    engine.instance(id).unwrap().expect("instance exists")
}

fn visited_of(engine: &Engine, id: &str) -> Vec<String> {
    let s = state(engine, id);
    visited(&s, engine.process_version(&s.process).unwrap())
}

fn waiting_of(engine: &Engine, id: &str) -> Vec<String> {
    let s = state(engine, id);
    waiting_at(&s, engine.process_version(&s.process).unwrap())
}

fn children(engine: &Engine, id: &str) -> Vec<InstanceState> {
    descendants(engine, id).unwrap()
}

/// Replaying each instance's log gives its checkpoint.
fn assert_replays(engine: &mut Engine, ids: &[String]) {
    for id in ids {
        let log = engine.store_mut().events(id).unwrap();
        let replayed = InstanceState::replay(&log).expect("log starts the instance");
        assert_eq!(replayed, state(engine, id), "replay of {id}");
    }
}

const CHILD_C8: &str = r#"<bpmn:startEvent id="cs"/>
<bpmn:scriptTask id="double" scriptFormat="rhai"><bpmn:script>doubled = x * 2; inner = "child";</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="ce"/>"#;

/// The Camunda 8 child that doubles `x`, with its flows.
fn child_c8() -> String {
    format!("{CHILD_C8}\n{}", flows(&["cs", "double", "ce"]))
}

/// A call activity `call` to the process id (or `=expression`) `target`.
fn call_to(target: &str) -> String {
    format!(
        r#"<bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="{target}"/></bpmn:extensionElements></bpmn:callActivity>"#
    )
}

/// A parent process: start `s` → `call` → end `e`, with `extra` elements
/// (and their flows) beside them.
fn parent_of(call: &str, extra: &str) -> String {
    format!(
        "<bpmn:startEvent id=\"s\"/>\n{call}\n<bpmn:endEvent id=\"e\"/>\n{extra}\n{}",
        flows(&["s", "call", "e"])
    )
}

#[test]
fn c8_call_passes_all_variables_both_ways_and_replays() {
    let parent = parent_of(&call_to("child"), "");
    let child = child_c8();
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(C8, &[("parent", &parent), ("child", &child)]),
        )
        .unwrap();
    let id = engine.start("parent", vars(json!({"x": 21}))).unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed);
    assert_eq!(s.variables()["doubled"], json!(42));
    assert_eq!(s.variables()["inner"], json!("child"));
    assert!(s.calls.is_empty());
    assert_eq!(visited_of(&engine, &id), ["s", "call", "e"]);
    let kids = children(&engine, &id);
    assert_eq!(kids.len(), 1);
    let child = &kids[0];
    assert_eq!(child.process.id, "child");
    assert_eq!(child.status, Status::Completed);
    let link = child.parent.as_ref().expect("linked to its parent");
    assert_eq!(link.instance, id);
    assert!(child.id.starts_with(&format!("{id}.")), "{}", child.id);
    assert_eq!(child.variables()["x"], json!(21));
    assert_eq!(visited_of(&engine, &child.id), ["cs", "double", "ce"]);
    assert_replays(&mut engine, &[id.clone(), child.id.clone()]);
}

#[test]
fn c8_child_propagation_off_output_mappings_still_read_the_child() {
    let parent = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:callActivity id="call"><bpmn:extensionElements>
  <zeebe:calledElement processId="child" propagateAllChildVariables="false"/>
  <zeebe:ioMapping><zeebe:output source="=doubled + 1" target="result"/></zeebe:ioMapping>
</bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e"/>
{}"#,
        flows(&["s", "call", "e"])
    );
    let child = child_c8();
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(C8, &[("parent", &parent), ("child", &child)]),
        )
        .unwrap();
    let id = engine.start("parent", vars(json!({"x": 4}))).unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed, "{:?}", s.incidents);
    assert_eq!(s.variables()["result"], json!(9));
    assert!(!s.variables().contains_key("doubled"));
    assert!(!s.variables().contains_key("inner"));
}

#[test]
fn two_calls_in_sequence_start_two_children() {
    let parent = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:callActivity id="first" calledElement="child"><bpmn:extensionElements><camunda:in source="a" target="x"/><camunda:out source="doubled" target="a"/></bpmn:extensionElements></bpmn:callActivity>
<bpmn:callActivity id="second" calledElement="child"><bpmn:extensionElements><camunda:in source="a" target="x"/><camunda:out source="doubled" target="a"/></bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e"/>
{}"#,
        flows(&["s", "first", "second", "e"])
    );
    let child = child_c8();
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(C7, &[("parent", &parent), ("child", &child)]),
        )
        .unwrap();
    let id = engine.start("parent", vars(json!({"a": 3}))).unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed, "{:?}", s.incidents);
    assert_eq!(s.variables()["a"], json!(12));
    let kids = children(&engine, &id);
    assert_eq!(kids.len(), 2);
    assert_ne!(kids[0].id, kids[1].id);
    assert_eq!(visited_of(&engine, &id), ["s", "first", "second", "e"]);
}

#[test]
fn c8_parent_propagation_off_passes_only_input_mappings() {
    let parent = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:callActivity id="call"><bpmn:extensionElements>
  <zeebe:calledElement processId="child" propagateAllParentVariables="false"/>
  <zeebe:ioMapping><zeebe:input source="=y + 1" target="x"/><zeebe:output source="=doubled" target="result"/></zeebe:ioMapping>
</bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e"/>
{}"#,
        flows(&["s", "call", "e"])
    );
    let child = child_c8();
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(C8, &[("parent", &parent), ("child", &child)]),
        )
        .unwrap();
    let id = engine
        .start("parent", vars(json!({"y": 4, "secret": true})))
        .unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed);
    assert_eq!(s.variables()["result"], json!(10));
    // With output mappings, the child's variables stay local to the call
    // activity (as in Zeebe): only the mappings reach the process.
    assert!(!s.variables().contains_key("inner"));
    let kid = &children(&engine, &id)[0];
    assert_eq!(kid.variables()["x"], json!(5));
    assert!(!kid.variables().contains_key("secret"));
    assert!(!kid.variables().contains_key("y"));
}

#[test]
fn c7_in_out_with_source_expression_and_all() {
    let parent = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:callActivity id="call" calledElement="child"><bpmn:extensionElements>
  <camunda:in source="a" target="x"/>
  <camunda:in sourceExpression="${{a + 100}}" target="big"/>
  <camunda:out source="doubled" target="got"/>
</bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e"/>
{}"#,
        flows(&["s", "call", "e"])
    );
    let parent_all = format!(
        r#"<bpmn:startEvent id="s2"/>
<bpmn:callActivity id="all" calledElement="child"><bpmn:extensionElements>
  <camunda:in variables="all"/>
  <camunda:out variables="all"/>
</bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e2"/>
{}"#,
        flows(&["s2", "all", "e2"])
    );
    let child = format!(
        r#"<bpmn:startEvent id="cs"/>
<bpmn:scriptTask id="double" scriptFormat="rhai"><bpmn:script>doubled = x * 2; inner = "child";</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="ce"/>
{}"#,
        flows(&["cs", "double", "ce"])
    );
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(
                C7,
                &[
                    ("parent", &parent),
                    ("parentAll", &parent_all),
                    ("child", &child),
                ],
            ),
        )
        .unwrap();
    let id = engine
        .start("parent", vars(json!({"a": 3, "x": 50})))
        .unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed, "{:?}", s.incidents);
    let kids = children(&engine, &id);
    assert_eq!(kids.len(), 1);
    // Only what camunda:in names goes in (source and sourceExpression).
    let first = &kids[0].variables();
    assert_eq!(first["x"], json!(3));
    assert_eq!(first["big"], json!(103));
    assert!(!first.contains_key("a"));
    // Only what camunda:out names comes back.
    let v = s.variables();
    assert_eq!(v["got"], json!(6));
    assert_eq!(v["x"], json!(50));
    assert!(!v.contains_key("doubled"));
    assert!(!v.contains_key("inner"));

    // variables="all": everything in, everything out.
    let id = engine
        .start("parentAll", vars(json!({"a": 3, "x": 50})))
        .unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed, "{:?}", s.incidents);
    let kid = children(&engine, &id).remove(0);
    assert_eq!(kid.variables()["a"], json!(3));
    let v = s.variables();
    assert_eq!(v["doubled"], json!(100));
    assert_eq!(v["inner"], json!("child"));
}

fn error_child() -> String {
    format!(
        r#"<bpmn:startEvent id="cs"/>
<bpmn:endEvent id="boom"><bpmn:errorEventDefinition errorRef="Err"/></bpmn:endEvent>
{}"#,
        flows(&["cs", "boom"])
    )
}

const ERROR_DEF: &str = r#"<bpmn:error id="Err" name="Err" errorCode="E42"/>"#;

#[test]
fn error_in_child_is_caught_by_the_call_activitys_boundary() {
    let parent = parent_of(
        &call_to("child"),
        &format!(
            r#"<bpmn:boundaryEvent id="caught" attachedToRef="call"><bpmn:errorEventDefinition errorRef="Err"/></bpmn:boundaryEvent>
<bpmn:endEvent id="handled"/>
{}"#,
            flows(&["caught", "handled"])
        ),
    );
    let text = file(C8, &[("parent", &parent), ("child", &error_child())]).replace(
        "</bpmn:definitions>",
        &format!("{ERROR_DEF}</bpmn:definitions>"),
    );
    let mut engine = Engine::in_memory();
    engine.deploy("p.bpmn", &text).unwrap();
    let id = engine.start("parent", Map::new()).unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed, "{:?}", s.incidents);
    assert_eq!(visited_of(&engine, &id), ["s", "caught", "handled"]);
    let kid = &children(&engine, &id)[0];
    // The error ended the child; it did not complete.
    assert_eq!(kid.status, Status::Cancelled);
    assert!(s.calls.is_empty());
    assert_replays(&mut engine, &[id.clone(), kid.id.clone()]);
}

#[test]
fn uncaught_error_in_child_is_an_incident_at_the_call_activity() {
    let parent = parent_of(&call_to("child"), "");
    let text = file(C8, &[("parent", &parent), ("child", &error_child())]).replace(
        "</bpmn:definitions>",
        &format!("{ERROR_DEF}</bpmn:definitions>"),
    );
    let mut engine = Engine::in_memory();
    engine.deploy("p.bpmn", &text).unwrap();
    let id = engine.start("parent", Map::new()).unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Active);
    assert_eq!(s.incidents.len(), 1);
    let inc = s.incidents.values().next().unwrap();
    let p = engine.process_version(&s.process).unwrap();
    assert_eq!(p.element(inc.element).id, "call");
    assert!(inc.message.contains("E42"), "{}", inc.message);
}

#[test]
fn escalation_from_child_with_non_interrupting_boundary_lets_child_continue() {
    let parent = parent_of(
        &call_to("child"),
        &format!(
            r#"<bpmn:boundaryEvent id="esc" attachedToRef="call" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="Esc"/></bpmn:boundaryEvent>
<bpmn:userTask id="notice"/>
<bpmn:endEvent id="e2"/>
{}"#,
            flows(&["esc", "notice", "e2"])
        ),
    );
    let child = format!(
        r#"<bpmn:startEvent id="cs"/>
<bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition escalationRef="Esc"/></bpmn:intermediateThrowEvent>
<bpmn:userTask id="work"/>
<bpmn:endEvent id="ce"/>
{}"#,
        flows(&["cs", "raise", "work", "ce"])
    );
    let text = file(C8, &[("parent", &parent), ("child", &child)]).replace(
        "</bpmn:definitions>",
        r#"<bpmn:escalation id="Esc" name="Esc" escalationCode="LATE"/></bpmn:definitions>"#,
    );
    let mut engine = Engine::in_memory();
    engine.deploy("p.bpmn", &text).unwrap();
    let id = engine.start("parent", Map::new()).unwrap();
    let mut w = waiting_of(&engine, &id);
    w.sort();
    assert_eq!(w, ["notice"]);
    let kid = children(&engine, &id).remove(0);
    assert_eq!(kid.status, Status::Active);
    assert_eq!(waiting_of(&engine, &kid.id), ["work"]);
    // The call still waits for its child.
    let s = state(&engine, &id);
    assert_eq!(s.calls.len(), 1);
    engine.complete_task(&kid.id, "work", Map::new()).unwrap();
    assert_eq!(state(&engine, &kid.id).status, Status::Completed);
    engine.complete_task(&id, "notice", Map::new()).unwrap();
    assert_eq!(state(&engine, &id).status, Status::Completed);
    let mut v = visited_of(&engine, &id);
    v.sort();
    assert_eq!(v, ["call", "e", "e2", "esc", "notice", "s"]);
}

#[test]
fn cancelling_the_parent_cancels_child_and_grandchild() {
    let top = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="mid"/></bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e"/>
{}"#,
        flows(&["s", "call", "e"])
    );
    let mid = format!(
        r#"<bpmn:startEvent id="ms"/>
<bpmn:callActivity id="call2"><bpmn:extensionElements><zeebe:calledElement processId="leaf"/></bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="me"/>
{}"#,
        flows(&["ms", "call2", "me"])
    );
    let leaf = format!(
        r#"<bpmn:startEvent id="ls"/><bpmn:userTask id="wait"/><bpmn:endEvent id="le"/>
{}"#,
        flows(&["ls", "wait", "le"])
    );
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(C8, &[("top", &top), ("mid", &mid), ("leaf", &leaf)]),
        )
        .unwrap();
    let id = engine.start("top", Map::new()).unwrap();
    let family = children(&engine, &id);
    assert_eq!(family.len(), 2);
    assert!(family.iter().all(|s| s.status == Status::Active));
    let s = state(&engine, &id);
    let t = *s.calls.keys().next().unwrap();
    assert_eq!(s.tokens.get(&t).unwrap().state, TokenState::Called);
    assert_eq!(engine.cancel(&id).unwrap(), Status::Cancelled);
    let family = children(&engine, &id);
    assert_eq!(
        family.iter().map(|s| s.status).collect::<Vec<_>>(),
        [Status::Cancelled, Status::Cancelled]
    );
    assert_eq!(family[1].process.id, "leaf");
    let mut ids = vec![id.clone()];
    ids.extend(family.iter().map(|s| s.id.clone()));
    assert_replays(&mut engine, &ids);
}

#[test]
fn called_element_by_expression_and_missing_process_incident() {
    let parent = parent_of(&call_to("=target"), "");
    let child = child_c8();
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(C8, &[("parent", &parent), ("child", &child)]),
        )
        .unwrap();
    let id = engine
        .start("parent", vars(json!({"target": "child", "x": 1})))
        .unwrap();
    assert_eq!(state(&engine, &id).status, Status::Completed);
    assert_eq!(state(&engine, &id).variables()["doubled"], json!(2));

    // A process that is not deployed: an incident at the call activity.
    let id = engine
        .start("parent", vars(json!({"target": "nope", "x": 1})))
        .unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Active);
    let inc = s.incidents.values().next().expect("an incident");
    assert!(inc.message.contains("`nope`"), "{}", inc.message);
    assert!(s.calls.is_empty());
    assert!(children(&engine, &id).is_empty());
    // Fix the variable and resolve: the call runs again.
    let (&incident, _) = s.incidents.iter().next().unwrap();
    engine
        .set_variables(&id, vars(json!({"target": "child"})))
        .unwrap();
    engine.resolve_incident(&id, incident, None).unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed, "{:?}", s.incidents);
    assert_eq!(children(&engine, &id).len(), 1);
}

#[test]
fn version_binding_calls_the_named_version() {
    let child_v = |n: u32| {
        format!(
            r#"<bpmn:startEvent id="cs"/>
<bpmn:scriptTask id="mark" scriptFormat="rhai"><bpmn:script>v = {n};</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="ce"/>
{}"#,
            flows(&["cs", "mark", "ce"])
        )
    };
    let parent = |n: &str, binding: &str| {
        format!(
            r#"<bpmn:startEvent id="s{n}"/>
<bpmn:callActivity id="call{n}" calledElement="child" {binding}><bpmn:extensionElements><camunda:out source="v" target="v"/></bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e{n}"/>
{}"#,
            flows(&[&format!("s{n}"), &format!("call{n}"), &format!("e{n}")])
        )
    };
    let mut engine = Engine::in_memory();
    engine
        .deploy("c1.bpmn", &file(C7, &[("child", &child_v(1))]))
        .unwrap();
    let keys = engine
        .deploy("c2.bpmn", &file(C7, &[("child", &child_v(2))]))
        .unwrap();
    assert_eq!(keys[0].version, 2);
    engine
        .deploy(
            "p.bpmn",
            &file(
                C7,
                &[
                    ("pinned", &parent("1", r#"camunda:calledElementBinding="version" camunda:calledElementVersion="1""#)),
                    ("latest", &parent("2", "")),
                    ("missing", &parent("3", r#"camunda:calledElementBinding="version" camunda:calledElementVersion="7""#)),
                ],
            ),
        )
        .unwrap();
    let a = engine.start("pinned", Map::new()).unwrap();
    assert_eq!(state(&engine, &a).variables()["v"], json!(1));
    let b = engine.start("latest", Map::new()).unwrap();
    assert_eq!(state(&engine, &b).variables()["v"], json!(2));
    let c = engine.start("missing", Map::new()).unwrap();
    let s = state(&engine, &c);
    let inc = s.incidents.values().next().expect("an incident");
    assert!(inc.message.contains("version 7"), "{}", inc.message);
}

#[test]
fn parallel_multi_instance_call_with_one_failing_child() {
    let parent = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:callActivity id="call">
  <bpmn:extensionElements><zeebe:calledElement processId="child"/></bpmn:extensionElements>
  <bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=items" inputElement="item" outputCollection="results" outputElement="=out"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>
</bpmn:callActivity>
<bpmn:endEvent id="e"/>
{}"#,
        flows(&["s", "call", "e"])
    );
    let child = format!(
        r#"<bpmn:startEvent id="cs"/>
<bpmn:scriptTask id="work" scriptFormat="rhai"><bpmn:script>out = 10 / item;</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="ce"/>
{}"#,
        flows(&["cs", "work", "ce"])
    );
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(C8, &[("parent", &parent), ("child", &child)]),
        )
        .unwrap();
    let id = engine
        .start("parent", vars(json!({"items": [1, 2, 0, 5]})))
        .unwrap();
    let s = state(&engine, &id);
    // Camunda: the parent stays active, waiting at the call activity for
    // the one child that has an incident; the others completed.
    assert_eq!(s.status, Status::Active);
    assert!(s.incidents.is_empty());
    assert_eq!(s.calls.len(), 1);
    let kids = children(&engine, &id);
    assert_eq!(kids.len(), 4);
    let done = kids
        .iter()
        .filter(|k| k.status == Status::Completed)
        .count();
    assert_eq!(done, 3);
    let failed: Vec<_> = kids.iter().filter(|k| !k.incidents.is_empty()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, Status::Active);
    assert_eq!(failed[0].variables()["item"], json!(0));
    let inc = failed[0].incidents.values().next().unwrap();
    let p = engine.process_version(&failed[0].process).unwrap();
    assert_eq!(p.element(inc.element).id, "work");
    // Fix the child's data and resolve its incident: all complete.
    let failed_id = failed[0].id.clone();
    let (&incident, _) = failed[0].incidents.iter().next().unwrap();
    engine
        .set_variables(&failed_id, vars(json!({"item": 10})))
        .unwrap();
    engine.resolve_incident(&failed_id, incident, None).unwrap();
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed, "{:?}", s.incidents);
    assert_eq!(s.variables()["results"], json!([10, 5, 1, 2]));
    // Each child computed its own output.
    let mut outs: Vec<(Value, Value)> = children(&engine, &id)
        .iter()
        .map(|k| (k.variables()["item"].clone(), k.variables()["out"].clone()))
        .collect();
    outs.sort_by_key(|(i, _)| i.as_i64());
    assert_eq!(
        outs,
        [
            (json!(1), json!(10)),
            (json!(2), json!(5)),
            (json!(5), json!(2)),
            (json!(10), json!(1))
        ]
    );
    // One completion of `call` per inner instance.
    assert_eq!(
        visited_of(&engine, &id)
            .iter()
            .filter(|e| *e == "call")
            .count(),
        4
    );
    let mut ids = vec![id.clone()];
    ids.extend(children(&engine, &id).into_iter().map(|s| s.id));
    assert_replays(&mut engine, &ids);
}

#[test]
fn chain_of_150_calls_runs_in_one_start_without_recursion() {
    let depth = 150;
    let mut processes = Vec::new();
    for i in 0..depth {
        let body = if i + 1 < depth {
            format!(
                r#"<bpmn:startEvent id="s{i}"/>
<bpmn:callActivity id="call{i}"><bpmn:extensionElements><zeebe:calledElement processId="P{}"/></bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e{i}"/>
{}"#,
                i + 1,
                flows(&[&format!("s{i}"), &format!("call{i}"), &format!("e{i}")])
            )
        } else {
            format!(
                r#"<bpmn:startEvent id="s{i}"/>
<bpmn:scriptTask id="leaf" scriptFormat="rhai"><bpmn:script>reached = true;</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="e{i}"/>
{}"#,
                flows(&[&format!("s{i}"), "leaf", &format!("e{i}")])
            )
        };
        processes.push((format!("P{i}"), body));
    }
    let refs: Vec<(&str, &str)> = processes
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut engine = Engine::in_memory();
    engine.deploy("chain.bpmn", &file(C8, &refs)).unwrap();
    // A small stack: the cascade must not grow it per level.
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let id = engine.start("P0", Map::new()).unwrap();
            let s = state(&engine, &id);
            (
                s.status,
                s.variables().get("reached").cloned(),
                children(&engine, &id).len(),
            )
        })
        .unwrap();
    let (status, reached, n) = handle.join().unwrap();
    assert_eq!(status, Status::Completed);
    assert_eq!(reached, Some(json!(true)));
    assert_eq!(n, depth - 1);
}

const WAITING_CHILD: &str = r#"<bpmn:startEvent id="cs"/><bpmn:userTask id="work"/><bpmn:endEvent id="ce"/>
<bpmn:sequenceFlow id="g1" sourceRef="cs" targetRef="work"/>
<bpmn:sequenceFlow id="g2" sourceRef="work" targetRef="ce"/>"#;

#[test]
fn a_terminate_end_event_in_the_parent_cancels_the_child() {
    let parent = format!(
        r#"<bpmn:startEvent id="s"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="child"/></bpmn:extensionElements></bpmn:callActivity>
<bpmn:endEvent id="e"/>
<bpmn:userTask id="stop"/>
<bpmn:endEvent id="kill"><bpmn:terminateEventDefinition/></bpmn:endEvent>
{}
{}
<bpmn:sequenceFlow id="f_fork_stop" sourceRef="fork" targetRef="stop"/>"#,
        flows(&["s", "fork", "call", "e"]),
        flows(&["stop", "kill"])
    );
    let mut engine = Engine::in_memory();
    engine
        .deploy(
            "p.bpmn",
            &file(C8, &[("parent", &parent), ("child", WAITING_CHILD)]),
        )
        .unwrap();
    let id = engine.start("parent", Map::new()).unwrap();
    let kid = children(&engine, &id).remove(0);
    assert_eq!(waiting_of(&engine, &kid.id), ["work"]);
    engine.complete_task(&id, "stop", Map::new()).unwrap();
    assert_eq!(state(&engine, &id).status, Status::Completed);
    assert_eq!(state(&engine, &kid.id).status, Status::Cancelled);
    // A cancelled child tells its parent nothing: completing it is refused.
    assert!(engine.complete_task(&kid.id, "work", Map::new()).is_err());
}

#[test]
fn an_interrupting_timer_boundary_on_the_call_activity_cancels_the_child() {
    use engine::store::memory::MemoryStore;
    use engine::{EngineOptions, VirtualClock};
    let parent = parent_of(
        &call_to("child"),
        &format!(
            r#"<bpmn:boundaryEvent id="late" attachedToRef="call"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:endEvent id="timedOut"/>
{}"#,
            flows(&["late", "timedOut"])
        ),
    );
    let clock = std::sync::Arc::new(VirtualClock::new(1_767_225_600_000));
    let mut engine = Engine::with_store(
        Box::new(MemoryStore::new()),
        clock.clone(),
        EngineOptions::default(),
    );
    engine
        .deploy(
            "p.bpmn",
            &file(C8, &[("parent", &parent), ("child", WAITING_CHILD)]),
        )
        .unwrap();
    let id = engine.start("parent", Map::new()).unwrap();
    let kid = children(&engine, &id).remove(0);
    assert_eq!(kid.status, Status::Active);
    clock.advance(3_600_000);
    assert_eq!(engine.fire_due_timers().unwrap(), 1);
    let s = state(&engine, &id);
    assert_eq!(s.status, Status::Completed);
    assert_eq!(visited_of(&engine, &id), ["s", "late", "timedOut"]);
    assert_eq!(state(&engine, &kid.id).status, Status::Cancelled);
    assert_replays(&mut engine, &[id, kid.id]);
}

/// A file with parent `Parent` calling `Kid` (bound as `binding`) and `Kid`
/// itself, which stamps `kidVersion`.
fn binding_file(binding: &str, stamp: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <bpmn:process id="Parent" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:callActivity id="call" calledElement="Kid" {binding}>
      <bpmn:extensionElements><camunda:out source="kidVersion" target="kidVersion"/></bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e"/>
  </bpmn:process>
  <bpmn:process id="Kid" isExecutable="true">
    <bpmn:startEvent id="ks"/>
    <bpmn:scriptTask id="stamp" scriptFormat="rhai"><bpmn:script>kidVersion = "{stamp}";</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="ke"/>
    <bpmn:sequenceFlow id="k1" sourceRef="ks" targetRef="stamp"/>
    <bpmn:sequenceFlow id="k2" sourceRef="stamp" targetRef="ke"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

#[test]
fn deployment_binding_calls_the_version_deployed_with_the_caller() {
    for (binding, expected) in [
        (r#"camunda:calledElementBinding="deployment""#, "first"),
        ("", "second"),
    ] {
        let mut engine = Engine::in_memory();
        engine
            .deploy("a.bpmn", &binding_file(binding, "first"))
            .expect("deploys");
        // A later deployment changes only the called process.
        let newer = binding_file(binding, "second").replace("id=\"Parent\"", "id=\"Other\"");
        engine.deploy("b.bpmn", &newer).expect("deploys");
        assert_eq!(engine.process("Kid").unwrap().key.version, 2);
        let id = engine.start("Parent", Map::new()).expect("starts");
        let s = engine.instance(&id).unwrap().unwrap();
        assert_eq!(s.status, Status::Completed, "{binding}");
        assert_eq!(s.variables()["kidVersion"], json!(expected), "{binding}");
    }
}
