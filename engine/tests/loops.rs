//! Multi-instance and standard loop activities in the engine core: inner
//! instances, counters, output collections in input order, completion
//! conditions, boundary events on the body.

use engine::Engine;
use engine::core::{Command, Status};
use serde_json::{Map, Value, json};

mod common;
use common::{Run, definitions, vars};

/// Process `P`: start → `work` (the body) → end.
fn file(body: &str) -> String {
    definitions(
        r#"<bpmn:error id="Declined" errorCode="DECLINED"/>"#,
        &format!(
            r#"<bpmn:startEvent id="s"/>
    {body}
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/>"#
        ),
    )
}

fn start(body: &str, v: Value) -> Run {
    Run::start(&file(body), v)
}

/// Completes the job of the inner instance whose element variable `name`
/// is `value`.
fn complete_where(r: &mut Run, name: &str, value: Value, result: Value) -> Status {
    let s = r.state();
    let job = s
        .jobs
        .iter()
        .find(|(_, j)| engine::runtime::visible_variables(&s, &j.token).get(name) == Some(&value))
        .map(|(id, _)| *id)
        .expect("a job for that item");
    r.engine
        .complete_job(&r.id, job, vars(result))
        .expect("completes")
}

const C8_PARALLEL: &str = r#"<bpmn:serviceTask id="work">
  <bpmn:extensionElements><zeebe:taskDefinition type="quote"/></bpmn:extensionElements>
  <bpmn:multiInstanceLoopCharacteristics>
    <bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=suppliers" inputElement="supplier" outputCollection="quotes" outputElement="=price"/></bpmn:extensionElements>
  </bpmn:multiInstanceLoopCharacteristics>
</bpmn:serviceTask>"#;

#[test]
fn a_parallel_multi_instance_collects_outputs_in_input_order() {
    let mut r = start(C8_PARALLEL, json!({"suppliers": ["a", "b", "c"]}));
    assert_eq!(r.waiting(), ["work", "work", "work"]);
    assert_eq!(r.state().jobs.len(), 3);
    complete_where(&mut r, "supplier", json!("c"), json!({"price": 30}));
    complete_where(&mut r, "supplier", json!("a"), json!({"price": 10}));
    assert_eq!(r.state().status, Status::Active);
    let status = complete_where(&mut r, "supplier", json!("b"), json!({"price": 20}));
    assert_eq!(status, Status::Completed);
    assert_eq!(r.var("quotes"), json!([10, 20, 30]));
    assert_eq!(r.count("work"), 3, "one completion per inner instance");
    assert_eq!(
        r.var("supplier"),
        Value::Null,
        "the element variable stays inside"
    );
    r.replays();
}

#[test]
fn inner_instances_see_loop_counter_and_the_counters() {
    let mut r = start(C8_PARALLEL, json!({"suppliers": ["a", "b"]}));
    let s = r.state();
    let mut seen: Vec<(Value, Value, Value)> = s
        .jobs
        .values()
        .map(|j| {
            let v = engine::runtime::visible_variables(&s, &j.token);
            (
                v["supplier"].clone(),
                v["loopCounter"].clone(),
                v["nrOfInstances"].clone(),
            )
        })
        .collect();
    seen.sort_by_key(|x| x.0.to_string());
    assert_eq!(
        seen,
        [
            (json!("a"), json!(1), json!(2)),
            (json!("b"), json!(2), json!(2))
        ]
    );
    r.replays();
}

#[test]
fn an_empty_collection_passes_at_once_and_a_non_list_raises_an_incident() {
    let r = start(C8_PARALLEL, json!({"suppliers": []}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.var("quotes"), json!([]));
    assert_eq!(r.count("work"), 0);

    let r = start(C8_PARALLEL, json!({"suppliers": 5}));
    let s = r.state();
    let msg: Vec<_> = s.incidents.values().map(|i| i.message.clone()).collect();
    assert!(msg[0].contains("expected a list, found"), "{msg:?}");
}

#[test]
fn a_sequential_multi_instance_with_a_completion_condition_stops_early() {
    let body = r#"<bpmn:userTask id="work">
  <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${reviewers}" camunda:elementVariable="reviewer">
    <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">${nrOfCompletedInstances >= 2}</bpmn:completionCondition>
  </bpmn:multiInstanceLoopCharacteristics>
</bpmn:userTask>"#;
    let mut r = start(body, json!({"reviewers": ["ann", "bob", "cy", "dee"]}));
    assert_eq!(r.waiting(), ["work"], "one at a time");
    let s = r.state();
    let token = s
        .tokens
        .iter()
        .find(|(_, t)| t.state == engine::core::TokenState::Waiting)
        .unwrap()
        .0;
    let v = engine::runtime::visible_variables(&s, token);
    assert_eq!(
        (v["reviewer"].clone(), v["loopCounter"].clone()),
        (json!("ann"), json!(0))
    );
    r.engine.complete_task(&r.id, "work", Map::new()).unwrap();
    let s = r.state();
    let token = s
        .tokens
        .iter()
        .find(|(_, t)| t.state == engine::core::TokenState::Waiting)
        .unwrap()
        .0;
    assert_eq!(
        engine::runtime::visible_variables(&s, token)["reviewer"],
        json!("bob")
    );
    let status = r.engine.complete_task(&r.id, "work", Map::new()).unwrap();
    assert_eq!(status, Status::Completed);
    assert_eq!(r.count("work"), 2);
    r.replays();
}

#[test]
fn a_parallel_completion_condition_cancels_the_remaining_instances() {
    let body = r#"<bpmn:userTask id="work">
  <bpmn:multiInstanceLoopCharacteristics>
    <bpmn:loopCardinality>5</bpmn:loopCardinality>
    <bpmn:completionCondition>=nrOfCompletedInstances = 1</bpmn:completionCondition>
  </bpmn:multiInstanceLoopCharacteristics>
</bpmn:userTask>"#;
    let mut r = start(body, json!({}));
    assert_eq!(r.waiting().len(), 5);
    let status = r.engine.complete_task(&r.id, "work", Map::new()).unwrap();
    assert_eq!(status, Status::Completed);
    let s = r.state();
    assert!(s.tokens.is_empty() && s.scopes.len() == 1);
    assert_eq!(r.count("work"), 1);
    r.replays();
}

#[test]
fn a_multi_instance_sub_process_runs_one_scope_per_item_and_a_boundary_timer_cancels_them_all() {
    let body = r#"<bpmn:subProcess id="work">
  <bpmn:multiInstanceLoopCharacteristics>
    <bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1,2,3]" inputElement="n"/></bpmn:extensionElements>
  </bpmn:multiInstanceLoopCharacteristics>
  <bpmn:startEvent id="ss"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:userTask id="left"/>
  <bpmn:userTask id="right"/>
  <bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="fork"/>
  <bpmn:sequenceFlow id="g2" sourceRef="fork" targetRef="left"/>
  <bpmn:sequenceFlow id="g3" sourceRef="fork" targetRef="right"/>
</bpmn:subProcess>
<bpmn:boundaryEvent id="late" attachedToRef="work"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:endEvent id="el"/>
<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="el"/>"#;
    let mut r = start(body, json!({}));
    assert_eq!(r.waiting().len(), 6);
    assert_eq!(r.state().timers.len(), 1, "one boundary timer, on the body");
    r.clock.advance(3_600_000);
    r.engine.fire_due_timers().unwrap();
    let s = r.state();
    assert_eq!(s.status, Status::Completed);
    assert!(s.tokens.is_empty());
    let visited = r.visited();
    assert!(
        visited.ends_with(&["late".to_string(), "el".to_string()]),
        "{visited:?}"
    );
    assert_eq!(r.count("work"), 0);
    assert_eq!(r.count("left"), 0);
    r.replays();
}

#[test]
fn an_error_in_one_inner_instance_is_caught_on_the_body() {
    let body = r#"<bpmn:serviceTask id="work">
  <bpmn:extensionElements><zeebe:taskDefinition type="charge"/></bpmn:extensionElements>
  <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
</bpmn:serviceTask>
<bpmn:boundaryEvent id="declined" attachedToRef="work"><bpmn:errorEventDefinition errorRef="Declined"/></bpmn:boundaryEvent>
<bpmn:endEvent id="ed"/>
<bpmn:sequenceFlow id="f3" sourceRef="declined" targetRef="ed"/>"#;
    let mut r = start(body, json!({}));
    let job = *r.state().jobs.keys().nth(1).unwrap();
    let status = r
        .engine
        .execute(
            &r.id,
            Command::ThrowError {
                job,
                code: "DECLINED".into(),
                message: None,
                variables: Map::new(),
            },
        )
        .unwrap();
    assert_eq!(status, Status::Completed);
    assert!(r.state().jobs.is_empty());
    assert_eq!(r.visited(), ["s", "declined", "ed"]);
    r.replays();
}

#[test]
fn loop_cardinality_runs_a_script_that_many_times() {
    let body = r#"<bpmn:scriptTask id="work" scriptFormat="rhai">
  <bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>=n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
  <bpmn:script>log.push(loopCounter); log</bpmn:script>
  <bpmn:extensionElements><camunda:properties/></bpmn:extensionElements>
</bpmn:scriptTask>"#
        .replace(
            "<bpmn:script>log.push(loopCounter); log</bpmn:script>",
            "<bpmn:script>let l = log; l.push(loopCounter); log = l;</bpmn:script>",
        );
    let mut r = start(&body, json!({"n": 4, "log": []}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.var("log"), json!([0, 1, 2, 3]));
    assert_eq!(r.count("work"), 4);
    r.replays();
}

#[test]
fn a_standard_loop_repeats_while_its_condition_holds() {
    let body = r#"<bpmn:scriptTask id="work" scriptFormat="rhai">
  <bpmn:standardLoopCharacteristics><bpmn:loopCondition>=count &lt; 3</bpmn:loopCondition></bpmn:standardLoopCharacteristics>
  <bpmn:script>count = count + 1;</bpmn:script>
</bpmn:scriptTask>"#;
    let mut r = start(body, json!({"count": 0}));
    assert_eq!(r.var("count"), json!(3));
    assert_eq!(r.count("work"), 3);
    r.replays();

    // Tested before: no iteration when the condition is false at once.
    let before = body.replace(
        "<bpmn:standardLoopCharacteristics>",
        r#"<bpmn:standardLoopCharacteristics testBefore="true">"#,
    );
    let r = start(&before, json!({"count": 5}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.count("work"), 0);

    // The maximum caps it.
    let capped = body.replace(
        "<bpmn:standardLoopCharacteristics>",
        r#"<bpmn:standardLoopCharacteristics loopMaximum="2">"#,
    );
    let r = start(&capped, json!({"count": 0}));
    assert_eq!(r.var("count"), json!(2));
}

#[test]
fn a_multi_instance_without_collection_or_cardinality_is_refused() {
    let body =
        r#"<bpmn:userTask id="work"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>"#;
    let mut engine = Engine::in_memory();
    let err = engine.deploy("x.bpmn", &file(body)).expect_err("refused");
    assert!(
        err.to_string()
            .contains("expected a loopCardinality or an input collection"),
        "{err}"
    );
}
