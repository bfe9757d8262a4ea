//! BPMN events in the engine core, command by command: subscriptions open
//! and fire, errors and escalations find their catcher, event sub-processes
//! start, the event-based gateway picks the first event. Cross-instance
//! delivery (publishing, broadcasting, buffering) is the runtime's and is
//! tested with it; here a message or signal is a `Trigger` command on the
//! subscription it reaches.

use engine::Engine;
use engine::compile::ElementIdx;
use engine::core::{Command, Event, InstanceState, Status, SubscriptionKind, TokenState};
use serde_json::{Map, Value, json};

mod common;
use common::{HOUR, Run, T0, definitions, flows, vars};

/// The messages, signals, errors and escalations the tests use.
const ROOTS: &str = r#"<bpmn:message id="Paid" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:message id="Cancel" name="cancel"/>
  <bpmn:signal id="Alarm" name="alarm"/>
  <bpmn:error id="Declined" errorCode="DECLINED"/>
  <bpmn:error id="Other" errorCode="OTHER"/>
  <bpmn:escalation id="Late" escalationCode="LATE"/>"#;

fn file(body: &str) -> String {
    definitions(ROOTS, body)
}

fn start(body: &str, v: Value) -> Run {
    Run::start(&file(body), v)
}

fn deploy(body: &str) -> Run {
    Run::deploy(&file(body))
}

/// What the event tests ask of a run besides the common part.
trait Events {
    fn element(&self, id: &str) -> ElementIdx;
    fn subs(&self, element: &str) -> Vec<(u64, SubscriptionKind)>;
    fn trigger(&mut self, element: &str, v: Value) -> Status;
}

impl Events for Run {
    fn element(&self, id: &str) -> ElementIdx {
        self.engine
            .process("P")
            .unwrap()
            .element_by_id(id)
            .expect("element")
    }

    /// The open subscriptions of an element.
    fn subs(&self, element: &str) -> Vec<(u64, SubscriptionKind)> {
        let e = self.element(element);
        self.state()
            .subscriptions
            .iter()
            .filter(|(_, s)| s.element == e)
            .map(|(id, s)| (*id, s.kind.clone()))
            .collect()
    }

    /// Triggers the one open subscription of `element`.
    fn trigger(&mut self, element: &str, v: Value) -> Status {
        let subs = self.subs(element);
        assert_eq!(subs.len(), 1, "one subscription at {element}: {subs:?}");
        self.run(Command::Trigger {
            subscription: subs[0].0,
            variables: vars(v),
        })
    }
}

fn incident_messages(s: &InstanceState) -> Vec<String> {
    s.incidents.values().map(|i| i.message.clone()).collect()
}

// ------------------------------------------------------------- messages

#[test]
fn a_message_catch_event_subscribes_with_its_key_and_completes_with_the_payload() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="Paid"/></bpmn:intermediateCatchEvent>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("s", "wait"), ("wait", "e")])
    );
    let mut r = start(&body, json!({"orderId": 42}));
    assert_eq!(r.waiting(), ["wait"]);
    assert_eq!(
        r.subs("wait")
            .into_iter()
            .map(|(_, k)| k)
            .collect::<Vec<_>>(),
        [SubscriptionKind::Message {
            name: "paid".into(),
            key: Some("42".into())
        }]
    );
    assert_eq!(r.trigger("wait", json!({"amount": 10})), Status::Completed);
    assert_eq!(r.var("amount"), json!(10));
    assert!(r.state().subscriptions.is_empty());
    r.replays();
}

#[test]
fn a_correlation_key_that_is_not_text_or_number_raises_an_incident() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:receiveTask id="wait" messageRef="Paid"/>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("s", "wait"), ("wait", "e")])
    );
    let r = start(&body, json!({}));
    let s = r.state();
    assert_eq!(s.incidents.len(), 1);
    assert!(
        incident_messages(&s)[0].contains("correlation key of message `paid`"),
        "{:?}",
        incident_messages(&s)
    );
}

#[test]
fn a_receive_task_waits_for_its_message_or_is_completed_by_hand() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:receiveTask id="wait" messageRef="Cancel"/>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("s", "wait"), ("wait", "e")])
    );
    let mut r = start(&body, json!({}));
    assert_eq!(r.waiting(), ["wait"]);
    assert_eq!(r.trigger("wait", json!({})), Status::Completed);

    let mut r = start(&body, json!({}));
    assert_eq!(r.complete("wait", json!({})), Status::Completed);
    assert!(r.state().subscriptions.is_empty());
    r.replays();
}

fn task_with_boundary(definition: &str, interrupting: bool) -> String {
    format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:userTask id="review"/>
        <bpmn:boundaryEvent id="b" attachedToRef="review" cancelActivity="{interrupting}">{definition}</bpmn:boundaryEvent>
        <bpmn:endEvent id="e"/>
        <bpmn:endEvent id="eb"/>{}"#,
        flows(&[("s", "review"), ("review", "e"), ("b", "eb")])
    )
}

#[test]
fn an_interrupting_message_boundary_event_cancels_its_task() {
    let body = task_with_boundary(
        r#"<bpmn:messageEventDefinition messageRef="Cancel"/>"#,
        true,
    );
    let mut r = start(&body, json!({}));
    assert_eq!(r.waiting(), ["review"]);
    assert_eq!(r.trigger("b", json!({"reason": "x"})), Status::Completed);
    assert_eq!(r.visited(), ["s", "b", "eb"]);
    assert_eq!(r.var("reason"), json!("x"));
    r.replays();
}

#[test]
fn a_non_interrupting_signal_boundary_event_fires_each_time_and_closes_with_its_task() {
    let body = task_with_boundary(r#"<bpmn:signalEventDefinition signalRef="Alarm"/>"#, false);
    let mut r = start(&body, json!({}));
    r.trigger("b", json!({}));
    r.trigger("b", json!({}));
    assert_eq!(r.waiting(), ["review"]);
    assert_eq!(r.visited(), ["s", "b", "eb", "b", "eb"]);
    assert_eq!(r.complete("review", json!({})), Status::Completed);
    assert!(r.subs("b").is_empty());
    r.replays();
}

// ---------------------------------------------------------------- errors

#[test]
fn an_error_end_event_is_caught_by_the_boundary_of_its_sub_process() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:subProcess id="sub">
          <bpmn:startEvent id="ss"/>
          <bpmn:parallelGateway id="fork"/>
          <bpmn:userTask id="other"/>
          <bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="Declined"/></bpmn:endEvent>
          {}
        </bpmn:subProcess>
        <bpmn:boundaryEvent id="caught" attachedToRef="sub"><bpmn:errorEventDefinition errorRef="Declined"/></bpmn:boundaryEvent>
        <bpmn:endEvent id="e"/>
        <bpmn:endEvent id="ec"/>{}"#,
        flows(&[("ss", "fork"), ("fork", "other"), ("fork", "fail")]),
        flows(&[("s", "sub"), ("sub", "e"), ("caught", "ec")])
    );
    let mut r = start(&body, json!({}));
    let s = r.state();
    assert_eq!(s.status, Status::Completed, "{:?}", incident_messages(&s));
    assert!(r.visited().contains(&"caught".to_string()));
    assert!(!r.visited().contains(&"sub".to_string()));
    assert!(s.tokens.is_empty() && s.jobs.is_empty());
    r.replays();
}

/// A service task three sub-processes deep; the error boundary is on the
/// outermost one.
fn nested_job(catch: &str) -> String {
    format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:subProcess id="outer">
          <bpmn:startEvent id="s1"/>
          <bpmn:subProcess id="middle">
            <bpmn:startEvent id="s2"/>
            <bpmn:subProcess id="inner">
              <bpmn:startEvent id="s3"/>
              <bpmn:serviceTask id="charge"><bpmn:extensionElements><zeebe:taskDefinition type="charge"/></bpmn:extensionElements></bpmn:serviceTask>
              <bpmn:endEvent id="e3"/>{}
            </bpmn:subProcess>
            <bpmn:endEvent id="e2"/>{}
          </bpmn:subProcess>
          <bpmn:endEvent id="e1"/>{}
        </bpmn:subProcess>
        <bpmn:boundaryEvent id="caught" attachedToRef="outer">{catch}</bpmn:boundaryEvent>
        <bpmn:endEvent id="e"/>
        <bpmn:endEvent id="ec"/>{}"#,
        flows(&[("s3", "charge"), ("charge", "e3")]),
        flows(&[("s2", "inner"), ("inner", "e2")]),
        flows(&[("s1", "middle"), ("middle", "e1")]),
        flows(&[("s", "outer"), ("outer", "e"), ("caught", "ec")])
    )
}

#[test]
fn an_error_thrown_by_a_job_worker_is_caught_three_scopes_up() {
    let mut r = start(
        &nested_job(r#"<bpmn:errorEventDefinition errorRef="Declined"/>"#),
        json!({}),
    );
    let job = *r.state().jobs.keys().next().expect("a job");
    let status = r.run(Command::ThrowError {
        job,
        code: "DECLINED".into(),
        message: Some("card declined".into()),
        variables: vars(json!({"declinedBy": "bank"})),
    });
    assert_eq!(status, Status::Completed);
    assert!(
        r.visited()
            .ends_with(&["caught".to_string(), "ec".to_string()])
    );
    assert_eq!(r.var("declinedBy"), json!("bank"));
    let s = r.state();
    assert_eq!(s.scopes.len(), 1, "only the process scope is left");
    r.replays();
}

#[test]
fn a_catch_all_error_boundary_catches_any_code_and_an_uncaught_error_is_an_incident() {
    let mut r = start(&nested_job("<bpmn:errorEventDefinition/>"), json!({}));
    let job = *r.state().jobs.keys().next().unwrap();
    let status = r.run(Command::ThrowError {
        job,
        code: "WHATEVER".into(),
        message: None,
        variables: Map::new(),
    });
    assert_eq!(status, Status::Completed);

    let mut r = start(
        &nested_job(r#"<bpmn:errorEventDefinition errorRef="Other"/>"#),
        json!({}),
    );
    let job = *r.state().jobs.keys().next().unwrap();
    r.run(Command::ThrowError {
        job,
        code: "DECLINED".into(),
        message: Some("card declined".into()),
        variables: Map::new(),
    });
    let s = r.state();
    assert_eq!(s.status, Status::Active);
    let msgs = incident_messages(&s);
    assert!(
        msgs[0].contains("error `DECLINED` (card declined) thrown at `charge` was not caught"),
        "{msgs:?}"
    );
    assert!(s.jobs.is_empty());
    // Resolving the incident runs the task again: a new job.
    let incident = *s.incidents.keys().next().unwrap();
    r.run(Command::ResolveIncident {
        incident,
        retries: None,
    });
    assert_eq!(r.state().jobs.len(), 1);
    r.replays();
}

#[test]
fn a_specific_code_wins_over_a_catch_all_at_the_same_level() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:serviceTask id="charge"><bpmn:extensionElements><zeebe:taskDefinition type="charge"/></bpmn:extensionElements></bpmn:serviceTask>
        <bpmn:boundaryEvent id="any" attachedToRef="charge"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>
        <bpmn:boundaryEvent id="declined" attachedToRef="charge"><bpmn:errorEventDefinition errorRef="Declined"/></bpmn:boundaryEvent>
        <bpmn:endEvent id="e"/><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>{}"#,
        flows(&[
            ("s", "charge"),
            ("charge", "e"),
            ("any", "e1"),
            ("declined", "e2")
        ])
    );
    let mut r = start(&body, json!({}));
    let job = *r.state().jobs.keys().next().unwrap();
    r.run(Command::ThrowError {
        job,
        code: "DECLINED".into(),
        message: None,
        variables: Map::new(),
    });
    assert_eq!(r.visited(), ["s", "declined", "e2"]);
}

#[test]
fn camunda_7_error_code_and_message_variables_receive_what_was_caught() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="charge"/>
        <bpmn:boundaryEvent id="failed" attachedToRef="charge"><bpmn:errorEventDefinition camunda:errorCodeVariable="errCode" camunda:errorMessageVariable="errMsg"/></bpmn:boundaryEvent>
        <bpmn:endEvent id="e"/><bpmn:endEvent id="ef"/>{}"#,
        flows(&[("s", "charge"), ("charge", "e"), ("failed", "ef")])
    );
    let mut r = start(&body, json!({}));
    let job = *r.state().jobs.keys().next().unwrap();
    r.run(Command::ThrowError {
        job,
        code: "DECLINED".into(),
        message: Some("card declined".into()),
        variables: Map::new(),
    });
    assert_eq!(r.var("errCode"), json!("DECLINED"));
    assert_eq!(r.var("errMsg"), json!("card declined"));
}

#[test]
fn a_rhai_script_throws_a_bpmn_error_caught_by_its_boundary() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:scriptTask id="check" scriptFormat="rhai"><bpmn:script>if amount > 100 {{ throw_error("DECLINED", "too much") }}</bpmn:script></bpmn:scriptTask>
        <bpmn:boundaryEvent id="declined" attachedToRef="check"><bpmn:errorEventDefinition errorRef="Declined"/></bpmn:boundaryEvent>
        <bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>{}"#,
        flows(&[("s", "check"), ("check", "e"), ("declined", "e2")])
    );
    let r = start(&body, json!({"amount": 500}));
    assert_eq!(r.visited(), ["s", "declined", "e2"]);
    let r = start(&body, json!({"amount": 5}));
    assert_eq!(r.visited(), ["s", "check", "e"]);
}

#[test]
fn an_error_event_sub_process_interrupts_its_scope() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:userTask id="review"/>
        <bpmn:serviceTask id="charge"><bpmn:extensionElements><zeebe:taskDefinition type="charge"/></bpmn:extensionElements></bpmn:serviceTask>
        <bpmn:parallelGateway id="fork"/>
        <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>
        <bpmn:subProcess id="handler" triggeredByEvent="true">
          <bpmn:startEvent id="hs"><bpmn:errorEventDefinition errorRef="Declined"/></bpmn:startEvent>
          <bpmn:userTask id="callCustomer"/>
          <bpmn:endEvent id="he"/>{}
        </bpmn:subProcess>{}"#,
        flows(&[("hs", "callCustomer"), ("callCustomer", "he")]),
        flows(&[
            ("s", "fork"),
            ("fork", "review"),
            ("fork", "charge"),
            ("review", "e1"),
            ("charge", "e2")
        ])
    );
    let mut r = start(&body, json!({}));
    let mut waiting = r.waiting();
    waiting.sort();
    assert_eq!(waiting, ["charge", "review"]);
    let job = *r.state().jobs.keys().next().unwrap();
    r.run(Command::ThrowError {
        job,
        code: "DECLINED".into(),
        message: None,
        variables: Map::new(),
    });
    assert_eq!(r.waiting(), ["callCustomer"]);
    assert_eq!(r.complete("callCustomer", json!({})), Status::Completed);
    assert!(
        r.visited()
            .ends_with(&["he".to_string(), "handler".to_string()])
    );
    r.replays();
}

// ----------------------------------------------------------- escalations

fn escalating(catcher: &str) -> String {
    format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:subProcess id="sub">
          <bpmn:startEvent id="ss"/>
          <bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition escalationRef="Late"/></bpmn:intermediateThrowEvent>
          <bpmn:userTask id="work"/>
          <bpmn:endEvent id="se"/>{}
        </bpmn:subProcess>
        {catcher}
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("ss", "raise"), ("raise", "work"), ("work", "se")]),
        flows(&[("s", "sub"), ("sub", "e")])
    )
}

#[test]
fn a_non_interrupting_escalation_boundary_lets_the_thrower_go_on() {
    let body = escalating(
        r#"<bpmn:boundaryEvent id="notify" attachedToRef="sub" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="Late"/></bpmn:boundaryEvent>
        <bpmn:userTask id="inform"/>
        <bpmn:sequenceFlow id="fn" sourceRef="notify" targetRef="inform"/>"#,
    );
    let r = start(&body, json!({}));
    let mut waiting = r.waiting();
    waiting.sort();
    assert_eq!(waiting, ["inform", "work"]);
}

#[test]
fn an_interrupting_escalation_boundary_cancels_the_sub_process() {
    let body = escalating(
        r#"<bpmn:boundaryEvent id="notify" attachedToRef="sub"><bpmn:escalationEventDefinition/></bpmn:boundaryEvent>
        <bpmn:userTask id="inform"/>
        <bpmn:sequenceFlow id="fn" sourceRef="notify" targetRef="inform"/>"#,
    );
    let r = start(&body, json!({}));
    assert_eq!(r.waiting(), ["inform"]);
}

#[test]
fn an_uncaught_escalation_does_not_stop_the_process() {
    let mut r = start(&escalating(""), json!({}));
    assert_eq!(r.waiting(), ["work"]);
    assert!(r.state().incidents.is_empty());
    assert_eq!(r.complete("work", json!({})), Status::Completed);
}

#[test]
fn a_non_interrupting_escalation_event_sub_process_runs_beside_the_scope() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateThrowEvent id="raise"><bpmn:escalationEventDefinition escalationRef="Late"/></bpmn:intermediateThrowEvent>
        <bpmn:userTask id="work"/>
        <bpmn:endEvent id="e"/>
        <bpmn:subProcess id="handler" triggeredByEvent="true">
          <bpmn:startEvent id="hs" isInterrupting="false"><bpmn:escalationEventDefinition escalationRef="Late"/></bpmn:startEvent>
          <bpmn:userTask id="inform"/>
          <bpmn:endEvent id="he"/>{}
        </bpmn:subProcess>{}"#,
        flows(&[("hs", "inform"), ("inform", "he")]),
        flows(&[("s", "raise"), ("raise", "work"), ("work", "e")])
    );
    let mut r = start(&body, json!({}));
    let mut waiting = r.waiting();
    waiting.sort();
    assert_eq!(waiting, ["inform", "work"]);
    assert_eq!(
        r.complete("work", json!({})),
        Status::Active,
        "the event sub-process still runs"
    );
    assert_eq!(r.complete("inform", json!({})), Status::Completed);
    r.replays();
}

// ---------------------------------------------------------- conditionals

#[test]
fn a_conditional_catch_event_waits_until_variables_make_it_true() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateCatchEvent id="big"><bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">=amount &gt; 100</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("s", "big"), ("big", "e")])
    );
    let mut r = start(&body, json!({"amount": 5}));
    assert_eq!(r.waiting(), ["big"]);
    r.run(Command::SetVariables {
        variables: vars(json!({"amount": 50})),
    });
    assert_eq!(r.waiting(), ["big"]);
    let status = r.run(Command::SetVariables {
        variables: vars(json!({"amount": 500})),
    });
    assert_eq!(status, Status::Completed);
    r.replays();

    let r = start(&body, json!({"amount": 500}));
    assert_eq!(
        r.state().status,
        Status::Completed,
        "true on arrival: passes"
    );
}

#[test]
fn a_non_interrupting_conditional_boundary_fires_when_a_variable_change_makes_it_true() {
    let body = task_with_boundary(
        r#"<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">=urgent = true</bpmn:condition></bpmn:conditionalEventDefinition>"#,
        false,
    );
    let mut r = start(&body, json!({"urgent": false}));
    assert_eq!(r.waiting(), ["review"]);
    r.run(Command::SetVariables {
        variables: vars(json!({"urgent": true})),
    });
    assert_eq!(r.waiting(), ["review"]);
    assert_eq!(r.visited(), ["s", "b", "eb"]);
}

#[test]
fn a_conditional_event_sub_process_interrupts_when_its_condition_holds() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:userTask id="work"/>
        <bpmn:endEvent id="e"/>
        <bpmn:subProcess id="handler" triggeredByEvent="true">
          <bpmn:startEvent id="hs"><bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">=cancelled = true</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent>
          <bpmn:endEvent id="he"/>{}
        </bpmn:subProcess>{}"#,
        flows(&[("hs", "he")]),
        flows(&[("s", "work"), ("work", "e")])
    );
    let mut r = start(&body, json!({"cancelled": false}));
    assert_eq!(r.waiting(), ["work"]);
    let status = r.run(Command::SetVariables {
        variables: vars(json!({"cancelled": true})),
    });
    assert_eq!(status, Status::Completed);
    assert!(!r.visited().contains(&"work".to_string()));
    r.replays();
}

// ------------------------------------------------------- links, throwing

#[test]
fn a_link_throw_event_continues_at_its_catch_event() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateThrowEvent id="goto"><bpmn:linkEventDefinition name="page2"/></bpmn:intermediateThrowEvent>
        <bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="page2"/></bpmn:intermediateCatchEvent>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("s", "goto"), ("land", "e")])
    );
    let r = start(&body, json!({}));
    assert_eq!(r.visited(), ["s", "goto", "land", "e"]);
}

#[test]
fn a_link_without_its_catch_event_is_a_deploy_error() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateThrowEvent id="goto"><bpmn:linkEventDefinition name="nowhere"/></bpmn:intermediateThrowEvent>{}"#,
        flows(&[("s", "goto")])
    );
    let mut engine = Engine::in_memory();
    let err = engine.deploy("x.bpmn", &file(&body)).expect_err("refused");
    assert!(
        err.to_string()
            .contains("expected a link catch event of that name"),
        "{err}"
    );
}

#[test]
fn message_and_signal_throw_events_leave_outbox_records_with_their_payload() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateThrowEvent id="tell">
          <bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=total" target="sum"/></zeebe:ioMapping></bpmn:extensionElements>
          <bpmn:messageEventDefinition messageRef="Paid"/>
        </bpmn:intermediateThrowEvent>
        <bpmn:endEvent id="e"><bpmn:signalEventDefinition signalRef="Alarm"/></bpmn:endEvent>{}"#,
        flows(&[("s", "tell"), ("tell", "e")])
    );
    let mut r = start(&body, json!({"orderId": "o-7", "total": 12}));
    assert_eq!(r.state().status, Status::Completed);
    let log = r.log();
    assert!(log.contains(&Event::MessageSent {
        name: "paid".into(),
        key: Some("o-7".into()),
        variables: vars(json!({"sum": 12})),
    }));
    assert!(log.contains(&Event::SignalSent {
        name: "alarm".into(),
        variables: vars(json!({"orderId": "o-7", "total": 12})),
    }));
}

// ------------------------------------------------ gateway and multiples

fn gateway_body() -> String {
    format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:eventBasedGateway id="gw"/>
        <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="Paid"/></bpmn:intermediateCatchEvent>
        <bpmn:intermediateCatchEvent id="timeout"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
        <bpmn:receiveTask id="cancelled" messageRef="Cancel"/>
        <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>{}"#,
        flows(&[
            ("s", "gw"),
            ("gw", "paid"),
            ("gw", "timeout"),
            ("gw", "cancelled"),
            ("paid", "e1"),
            ("timeout", "e2"),
            ("cancelled", "e3")
        ])
    )
}

#[test]
fn an_event_based_gateway_takes_the_message_when_it_comes_first() {
    let mut r = start(&gateway_body(), json!({"orderId": 1}));
    assert_eq!(r.waiting(), ["gw"]);
    let s = r.state();
    assert_eq!(s.subscriptions.len(), 2);
    assert_eq!(s.timers.len(), 1);
    assert_eq!(s.tokens.values().next().unwrap().state, TokenState::Event);
    assert_eq!(r.trigger("paid", json!({})), Status::Completed);
    assert_eq!(r.visited(), ["s", "gw", "paid", "e1"]);
    let s = r.state();
    assert!(s.subscriptions.is_empty() && s.timers.is_empty());
    r.replays();
}

#[test]
fn an_event_based_gateway_takes_the_timer_when_it_comes_first() {
    let mut r = start(&gateway_body(), json!({"orderId": 1}));
    r.advance(HOUR);
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.visited(), ["s", "gw", "timeout", "e2"]);
    assert!(r.state().subscriptions.is_empty());
    r.replays();
}

#[test]
fn an_instantiating_event_based_gateway_starts_at_the_event_that_happened() {
    let body = format!(
        r#"<bpmn:eventBasedGateway id="gw" instantiate="true" eventGatewayType="Exclusive"/>
        <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="Cancel"/></bpmn:intermediateCatchEvent>
        <bpmn:intermediateCatchEvent id="alarm"><bpmn:signalEventDefinition signalRef="Alarm"/></bpmn:intermediateCatchEvent>
        <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>{}"#,
        flows(&[
            ("gw", "paid"),
            ("gw", "alarm"),
            ("paid", "e1"),
            ("alarm", "e2")
        ])
    );
    let mut r = deploy(&body);
    let process = r.engine.process("P").unwrap().clone();
    let starts: Vec<String> = process
        .start_triggers()
        .map(|(e, _)| process.element(e).id.clone())
        .collect();
    assert_eq!(starts, ["paid", "alarm"]);
    let err = r.engine.start("P", Map::new()).expect_err("no none start");
    assert!(err.to_string().contains("no none start event"), "{err}");
    let o = r
        .engine
        .broadcast_signal_outcome("alarm", vars(json!({"level": 3})))
        .expect("the signal starts an instance");
    assert_eq!(o.started.len(), 1);
    r.id = o.started[0].instance.clone();
    assert_eq!(r.visited(), ["gw", "alarm", "e2"]);
    assert_eq!(r.var("level"), json!(3));
}

#[test]
fn a_multiple_catch_event_takes_the_first_of_its_definitions() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateCatchEvent id="any">
          <bpmn:messageEventDefinition messageRef="Cancel"/>
          <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
        </bpmn:intermediateCatchEvent>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("s", "any"), ("any", "e")])
    );
    let mut r = start(&body, json!({}));
    assert_eq!(r.waiting(), ["any"]);
    r.advance(HOUR);
    assert_eq!(r.state().status, Status::Completed);
    assert!(r.state().subscriptions.is_empty());
}

#[test]
fn a_parallel_multiple_catch_event_waits_for_all_of_its_definitions() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateCatchEvent id="all" parallelMultiple="true">
          <bpmn:messageEventDefinition messageRef="Cancel"/>
          <bpmn:signalEventDefinition signalRef="Alarm"/>
        </bpmn:intermediateCatchEvent>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("s", "all"), ("all", "e")])
    );
    let mut r = start(&body, json!({}));
    let subs = r.subs("all");
    assert_eq!(subs.len(), 2);
    r.run(Command::Trigger {
        subscription: subs[1].0,
        variables: vars(json!({"a": 1})),
    });
    assert_eq!(r.waiting(), ["all"], "one of two");
    let status = r.run(Command::Trigger {
        subscription: subs[0].0,
        variables: vars(json!({"b": 2})),
    });
    assert_eq!(status, Status::Completed);
    assert_eq!((r.var("a"), r.var("b")), (json!(1), json!(2)));
    r.replays();
}

// ------------------------------------------------------ event sub-processes

#[test]
fn a_non_interrupting_timer_event_sub_process_fires_each_cycle_while_the_scope_runs() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:userTask id="work"/>
        <bpmn:endEvent id="e"/>
        <bpmn:subProcess id="reminder" triggeredByEvent="true">
          <bpmn:startEvent id="every" isInterrupting="false"><bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
          <bpmn:endEvent id="re"/>{}
        </bpmn:subProcess>{}"#,
        flows(&[("every", "re")]),
        flows(&[("s", "work"), ("work", "e")])
    );
    let mut r = start(&body, json!({}));
    r.advance(HOUR);
    r.advance(HOUR);
    r.advance(HOUR / 2);
    let count = r.visited().iter().filter(|v| *v == "reminder").count();
    assert_eq!(count, 2);
    assert_eq!(r.waiting(), ["work"]);
    assert_eq!(r.complete("work", json!({})), Status::Completed);
    assert!(r.state().timers.is_empty(), "the cycle ends with its scope");
    r.replays();
}

#[test]
fn an_interrupting_message_event_sub_process_in_a_sub_process_cancels_only_that_scope() {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:subProcess id="sub">
          <bpmn:startEvent id="ss"/>
          <bpmn:userTask id="work"/>
          <bpmn:endEvent id="se"/>
          <bpmn:subProcess id="onCancel" triggeredByEvent="true">
            <bpmn:startEvent id="cs"><bpmn:messageEventDefinition messageRef="Cancel"/></bpmn:startEvent>
            <bpmn:endEvent id="ce"/>{}
          </bpmn:subProcess>{}
        </bpmn:subProcess>
        <bpmn:userTask id="after"/>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("cs", "ce")]),
        flows(&[("ss", "work"), ("work", "se")]),
        flows(&[("s", "sub"), ("sub", "after"), ("after", "e")])
    );
    let mut r = start(&body, json!({}));
    assert_eq!(r.waiting(), ["work"]);
    assert_eq!(r.subs("cs").len(), 1);
    r.trigger("cs", json!({}));
    assert_eq!(r.waiting(), ["after"]);
    assert!(r.visited().contains(&"sub".to_string()));
    assert!(!r.visited().contains(&"work".to_string()));
    assert!(r.state().subscriptions.is_empty());
    r.replays();
}

#[test]
fn a_message_start_event_starts_an_instance_with_the_payload() {
    let body = format!(
        r#"<bpmn:startEvent id="ordered"><bpmn:messageEventDefinition messageRef="Cancel"/></bpmn:startEvent>
        <bpmn:userTask id="work"/>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("ordered", "work"), ("work", "e")])
    );
    let mut r = deploy(&body);
    let o = r
        .engine
        .publish_message("cancel", None, vars(json!({"item": "book"})), None)
        .expect("publishes");
    assert_eq!(o.started.len(), 1);
    r.id = o.started[0].instance.clone();
    assert_eq!(r.waiting(), ["work"]);
    assert_eq!(r.var("item"), json!("book"));
    // The core refuses a start at an element that is no start.
    let process = r.engine.process("P").unwrap().clone();
    let mut fresh = InstanceState::empty("x", process.key.clone());
    let ctx = engine::core::Context {
        process: &process,
        scripts: &engine::script::ScriptEngine::new(Default::default()),
        decisions: None,
        time_zone: None,
        now: T0,
        step_budget: 1000,
    };
    let err = engine::core::process(
        ctx,
        &mut fresh,
        Command::StartAt {
            element: r.element("work"),
            variables: Map::new(),
        },
    )
    .expect_err("not a start");
    assert!(
        err.to_string().contains("does not start the process"),
        "{err}"
    );
}

#[test]
fn an_error_boundary_event_must_interrupt() {
    let body = task_with_boundary(r#"<bpmn:errorEventDefinition errorRef="Declined"/>"#, false);
    let mut engine = Engine::in_memory();
    let err = engine.deploy("x.bpmn", &file(&body)).expect_err("refused");
    assert!(
        err.to_string().contains("an error always interrupts"),
        "{err}"
    );
}

// ------------------------------------------------------------- time zones

/// A timer at 09:00 local time on 2026-03-29, the day Europe/Berlin moves
/// from UTC+1 to UTC+2, started the day before (still UTC+1).
fn local_nine_oclock(zone: Option<&str>) -> i64 {
    let body = format!(
        r#"<bpmn:startEvent id="s"/>
        <bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition><bpmn:timeDate>2026-03-29T09:00:00</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
        <bpmn:endEvent id="e"/>{}"#,
        flows(&[("s", "t"), ("t", "e")])
    );
    let clock = std::sync::Arc::new(engine::VirtualClock::new(1_774_699_200_000)); // 2026-03-28T12:00:00Z
    let mut options = engine::EngineOptions::default();
    if let Some(z) = zone {
        options = options.with_time_zone(z).expect("a zone");
    }
    let mut engine = Engine::with_store(
        Box::new(engine::store::memory::MemoryStore::new()),
        clock,
        options,
    );
    engine.deploy("tz.bpmn", &file(&body)).expect("deploys");
    let id = engine.start("P", Map::new()).expect("starts");
    let s = engine.instance(&id).unwrap().unwrap();
    s.timers.values().next().expect("a timer").due
}

#[test]
fn a_local_timer_date_is_read_in_the_engine_time_zone_across_a_dst_change() {
    // 09:00 in UTC.
    assert_eq!(local_nine_oclock(None), 1_774_774_800_000); // 2026-03-29T09:00:00Z
    // 09:00 in Berlin on the first day of summer time is 07:00 UTC.
    assert_eq!(local_nine_oclock(Some("Europe/Berlin")), 1_774_767_600_000); // 07:00:00Z
    let err = engine::EngineOptions::default()
        .with_time_zone("Mars/Olympus")
        .expect_err("unknown");
    assert!(
        err.to_string().contains("expected an IANA time zone name"),
        "{err}"
    );
}
