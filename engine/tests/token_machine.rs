//! The token machine, driven through the builder (no XML): every element
//! family of the engine core, including the tricky inclusive joins.

use bpmn_models::timer::TimerKind;
use engine::builder::ProcessBuilder;
use engine::core::{Command, InstanceState, Status, TokenState};
use engine::runtime::{visited, waiting_at};
use engine::{Engine, TaskResult};
use serde_json::{Map, Value, json};

mod common;

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn deploy(engine: &mut Engine, defs: &bpmn_models::Definitions) -> String {
    let xml = bpmn_models::write(defs);
    let keys = engine.deploy("test.bpmn", &xml).expect("deploys");
    keys[0].id.clone()
}

struct Run {
    engine: Engine,
    id: String,
}

impl Run {
    fn start(defs: bpmn_models::Definitions, v: Value) -> Run {
        let mut engine = Engine::in_memory();
        let pid = deploy(&mut engine, &defs);
        let id = engine.start(&pid, vars(v)).expect("starts");
        Run { engine, id }
    }

    fn state(&self) -> InstanceState {
        self.engine
            .instance(&self.id)
            .expect("store")
            .expect("exists")
    }

    fn visited(&self) -> Vec<String> {
        let s = self.state();
        let p = self.engine.process_version(&s.process).expect("deployed");
        visited(&s, p)
    }

    fn waiting(&self) -> Vec<String> {
        let s = self.state();
        let p = self.engine.process_version(&s.process).expect("deployed");
        waiting_at(&s, p)
    }

    fn complete(&mut self, element: &str, v: Value) -> Status {
        self.engine
            .complete_task(&self.id, element, vars(v))
            .expect("completes")
    }

    fn var(&self, name: &str) -> Value {
        self.state()
            .variables()
            .get(name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn count(&self, element: &str) -> usize {
        self.visited().iter().filter(|v| *v == element).count()
    }
}

#[test]
fn scripts_run_in_sequence_and_write_variables() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .script("a", "counter = counter + 1")
        .script("b", "counter = counter * 10; label = \"done\"")
        .end("e")
        .flow("s", "a")
        .flow("a", "b")
        .flow("b", "e")
        .build();
    let r = Run::start(defs, json!({"counter": 1}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.var("counter"), json!(20));
    assert_eq!(r.var("label"), json!("done"));
    assert_eq!(r.visited(), ["s", "a", "b", "e"]);
}

#[test]
fn exclusive_gateway_in_all_three_languages_and_default() {
    for (cond, amount, expected) in [
        ("= amount > 1000", 5000, "big"),
        ("= amount > 1000", 10, "small"),
        ("${amount > 1000}", 5000, "big"),
        ("${amount gt 1000}", 10, "small"),
        ("amount > 1000", 5000, "big"),
        ("amount > 1000", 10, "small"),
    ] {
        let defs = ProcessBuilder::new("P")
            .start("s")
            .exclusive("g")
            .task("big")
            .task("small")
            .end("e1")
            .end("e2")
            .flow("s", "g")
            .cond("g", "big", cond)
            .flow("g", "small")
            .default_flow("g", "small")
            .flow("big", "e1")
            .flow("small", "e2")
            .build();
        let r = Run::start(defs, json!({ "amount": amount }));
        assert_eq!(r.state().status, Status::Completed, "{cond}");
        assert!(
            r.visited().contains(&expected.to_string()),
            "{cond}: {:?}",
            r.visited()
        );
        assert_eq!(r.visited().len(), 4, "{cond}");
    }
}

#[test]
fn exclusive_gateway_without_match_or_default_raises_incident() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .exclusive("g")
        .end("e")
        .flow("s", "g")
        .cond("g", "e", "= x > 1")
        .build();
    let r = Run::start(defs, json!({"x": 0}));
    let s = r.state();
    assert_eq!(s.status, Status::Active);
    assert_eq!(s.incidents.len(), 1);
    assert!(
        s.incidents
            .values()
            .next()
            .unwrap()
            .message
            .contains("expected a condition")
    );
}

#[test]
fn parallel_fork_and_join_fire_once() {
    let mut b = ProcessBuilder::new("P")
        .start("s")
        .parallel("fork")
        .parallel("join")
        .end("e");
    b = b.flow("s", "fork").flow("join", "e");
    for i in 0..5 {
        let t = format!("t{i}");
        b = b.task(&t).flow("fork", &t).flow(&t, "join");
    }
    let r = Run::start(b.build(), json!({}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.count("join"), 1);
    assert_eq!(r.count("e"), 1);
    for i in 0..5 {
        assert_eq!(r.count(&format!("t{i}")), 1);
    }
}

#[test]
fn parallel_join_waits_for_a_waiting_branch() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .parallel("fork")
        .user_task("approve")
        .task("auto")
        .parallel("join")
        .end("e")
        .flow("s", "fork")
        .flow("fork", "approve")
        .flow("fork", "auto")
        .flow("approve", "join")
        .flow("auto", "join")
        .flow("join", "e")
        .build();
    let mut r = Run::start(defs, json!({}));
    assert_eq!(r.waiting(), ["approve"]);
    assert_eq!(r.count("join"), 0);
    assert_eq!(
        r.complete("approve", json!({"ok": true})),
        Status::Completed
    );
    assert_eq!(r.count("join"), 1);
    assert_eq!(r.var("ok"), json!(true));
}

fn inclusive_diamond(middle_user_task: bool) -> bpmn_models::Definitions {
    let b = ProcessBuilder::new("P")
        .start("s")
        .inclusive("split")
        .inclusive("join")
        .end("e")
        .task("a")
        .task("c");
    let b = if middle_user_task {
        b.user_task("b")
    } else {
        b.task("b")
    };
    b.flow("s", "split")
        .cond("split", "a", "= x > 0")
        .cond("split", "b", "= x > 1")
        .cond("split", "c", "= x > 2")
        .flow("a", "join")
        .flow("b", "join")
        .flow("c", "join")
        .flow("join", "e")
        .build()
}

#[test]
fn inclusive_split_takes_every_true_branch_and_join_fires_once() {
    for (x, branches) in [(1, 1), (2, 2), (3, 3)] {
        let r = Run::start(inclusive_diamond(false), json!({ "x": x }));
        assert_eq!(r.state().status, Status::Completed, "x={x}");
        let taken = ["a", "b", "c"].iter().filter(|t| r.count(t) == 1).count();
        assert_eq!(taken, branches, "x={x}");
        assert_eq!(r.count("join"), 1, "x={x}");
        assert_eq!(r.count("e"), 1, "x={x}");
    }
}

#[test]
fn inclusive_join_waits_only_for_tokens_that_can_still_arrive() {
    // x = 2: branches a and b; b waits at a user task, so the join waits too.
    let mut r = Run::start(inclusive_diamond(true), json!({"x": 2}));
    assert_eq!(r.waiting(), ["b"]);
    assert_eq!(r.count("join"), 0);
    assert_eq!(r.complete("b", json!({})), Status::Completed);
    assert_eq!(r.count("join"), 1);
    // x = 1: only a; b never gets a token, so the join does not wait for it.
    let r = Run::start(inclusive_diamond(true), json!({"x": 1}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.count("join"), 1);
}

#[test]
fn inclusive_join_fires_when_the_other_token_ends_elsewhere() {
    // The b branch may leave towards an end event instead of the join;
    // once its token is gone, the join must fire for a alone.
    let defs = ProcessBuilder::new("P")
        .start("s")
        .parallel("fork")
        .task("a")
        .user_task("b")
        .exclusive("route")
        .inclusive("join")
        .end("elsewhere")
        .end("e")
        .flow("s", "fork")
        .flow("fork", "a")
        .flow("fork", "b")
        .flow("a", "join")
        .flow("b", "route")
        .cond("route", "join", "= toJoin")
        .flow("route", "elsewhere")
        .default_flow("route", "elsewhere")
        .flow("join", "e")
        .build();
    let mut r = Run::start(defs.clone(), json!({}));
    assert_eq!(r.count("join"), 0, "b can still arrive");
    assert_eq!(r.complete("b", json!({"toJoin": false})), Status::Completed);
    assert_eq!(r.count("join"), 1);
    assert_eq!(r.count("elsewhere"), 1);

    let mut r = Run::start(defs, json!({}));
    assert_eq!(r.complete("b", json!({"toJoin": true})), Status::Completed);
    assert_eq!(r.count("join"), 1, "both arrive, one firing");
}

#[test]
fn inclusive_join_counts_tokens_inside_sub_processes() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .parallel("fork")
        .task("a")
        .sub_process("sub")
        .start("ss")
        .user_task("inner")
        .end("se")
        .flow("ss", "inner")
        .flow("inner", "se")
        .close()
        .inclusive("join")
        .end("e")
        .flow("s", "fork")
        .flow("fork", "a")
        .flow("fork", "sub")
        .flow("a", "join")
        .flow("sub", "join")
        .flow("join", "e")
        .build();
    let mut r = Run::start(defs, json!({}));
    assert_eq!(r.waiting(), ["inner"]);
    assert_eq!(
        r.count("join"),
        0,
        "the token inside sub can still reach the join"
    );
    assert_eq!(r.complete("inner", json!({})), Status::Completed);
    assert_eq!(r.count("join"), 1);
}

#[test]
fn implicit_split_and_merge() {
    // An activity with two unconditioned outgoing flows forks; a task with
    // two incoming flows runs once per arriving token.
    let defs = ProcessBuilder::new("P")
        .start("s")
        .task("split")
        .task("x")
        .task("y")
        .script("merge", "n = n + 1")
        .end("e")
        .flow("s", "split")
        .flow("split", "x")
        .flow("split", "y")
        .flow("x", "merge")
        .flow("y", "merge")
        .flow("merge", "e")
        .build();
    let r = Run::start(defs, json!({"n": 0}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.count("merge"), 2);
    assert_eq!(r.var("n"), json!(2));
    assert_eq!(r.count("e"), 2);
}

#[test]
fn conditional_flows_out_of_an_activity() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .task("t")
        .end("yes")
        .end("no")
        .flow("s", "t")
        .cond("t", "yes", "= ok")
        .flow("t", "no")
        .default_flow("t", "no")
        .build();
    let r = Run::start(defs.clone(), json!({"ok": true}));
    assert_eq!(r.visited(), ["s", "t", "yes"]);
    let r = Run::start(defs, json!({"ok": false}));
    assert_eq!(r.visited(), ["s", "t", "no"]);
}

#[test]
fn jobs_retry_then_raise_an_incident_which_can_be_resolved() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .service("charge", "charge-card", 2)
        .end("e")
        .flow("s", "charge")
        .flow("charge", "e")
        .build();
    let mut r = Run::start(defs, json!({}));
    assert_eq!(r.waiting(), ["charge"]);
    let job = *r.state().jobs.keys().next().expect("a job");
    r.engine
        .fail_job(&r.id, job, "declined", None)
        .expect("fails");
    assert!(r.state().incidents.is_empty(), "one retry left");
    r.engine
        .fail_job(&r.id, job, "declined again", None)
        .expect("fails");
    let s = r.state();
    assert_eq!(s.incidents.len(), 1);
    let (incident, inc) = s.incidents.iter().next().expect("incident");
    assert_eq!(inc.message, "declined again");
    r.engine
        .resolve_incident(&r.id, *incident, Some(1))
        .expect("resolves");
    assert!(r.state().incidents.is_empty());
    assert_eq!(
        r.engine
            .complete_job(&r.id, job, vars(json!({"receipt": "r-1"})))
            .expect("completes"),
        Status::Completed
    );
    assert_eq!(r.var("receipt"), json!("r-1"));
}

#[test]
fn registered_handlers_serve_jobs_in_process() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .service("double", "double", 3)
        .end("e")
        .flow("s", "double")
        .flow("double", "e")
        .build();
    let mut engine = Engine::in_memory();
    let pid = deploy(&mut engine, &defs);
    engine.register_handler("double", |job: &engine::JobInfo| {
        let n = job.variables.get("n").and_then(Value::as_i64).unwrap_or(0);
        TaskResult::Complete(vars(json!({ "n": n * 2 })))
    });
    let id = engine.start(&pid, vars(json!({"n": 21}))).expect("starts");
    let s = engine.instance(&id).unwrap().unwrap();
    assert_eq!(s.status, Status::Completed);
    assert_eq!(s.variables()["n"], json!(42));
}

#[test]
fn a_handler_runs_only_for_a_committed_job() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .service("first", "work", 3)
        .service("second", "work", 3)
        .end("e")
        .flow("s", "first")
        .flow("first", "second")
        .flow("second", "e")
        .build();
    // The handler looks at what the store committed while it runs.
    let store = common::ObservedStore::new();
    let committed = store.committed.clone();
    let mut engine = Engine::with_store(
        Box::new(store),
        std::sync::Arc::new(engine::SystemClock),
        engine::EngineOptions::default(),
    );
    let pid = deploy(&mut engine, &defs);
    let seen = committed.clone();
    let handled = std::sync::Arc::new(std::sync::Mutex::new(0));
    let count = handled.clone();
    engine.register_handler("work", move |job: &engine::JobInfo| {
        let log = seen.lock().expect("lock");
        // The job this handler serves is already in the store.
        let stored = log
            .iter()
            .any(|e| matches!(e, engine::core::Event::JobCreated { job: j, .. } if *j == job.job));
        assert!(stored, "job {:?} handled before it was committed", job.job);
        *count.lock().expect("lock") += 1;
        TaskResult::Complete(Map::new())
    });
    let id = engine.start(&pid, vars(json!({}))).expect("starts");
    let s = engine.instance(&id).unwrap().unwrap();
    assert_eq!(s.status, Status::Completed);
    assert_eq!(*handled.lock().expect("lock"), 2);
}

#[test]
fn failing_script_raises_incident_and_engine_keeps_serving() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .script("bad", "x = missing + 1")
        .end("e")
        .flow("s", "bad")
        .flow("bad", "e")
        .build();
    let mut r = Run::start(defs.clone(), json!({}));
    let s = r.state();
    assert_eq!(s.incidents.len(), 1);
    let inc = s.incidents.values().next().unwrap();
    assert!(inc.message.contains("missing"), "{}", inc.message);
    // A second instance still runs.
    let pid = "P";
    let ok = r
        .engine
        .start(pid, vars(json!({"missing": 1})))
        .expect("starts");
    let s2 = r.engine.instance(&ok).unwrap().unwrap();
    assert_eq!(s2.status, Status::Completed);
    assert_eq!(s2.variables()["x"], json!(2));
    // Retrying without a fix raises the incident again.
    let incident = *s.incidents.keys().next().unwrap();
    r.engine.resolve_incident(&r.id, incident, None).unwrap();
    assert_eq!(r.state().incidents.len(), 1);
    r.id.clear();
}

#[test]
fn endless_loop_hits_the_step_budget() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .task("spin")
        .exclusive("g")
        .end("e")
        .flow("s", "spin")
        .flow("spin", "g")
        .cond("g", "spin", "= true")
        .flow("g", "e")
        .default_flow("g", "e")
        .build();
    let r = Run::start(defs, json!({}));
    let s = r.state();
    assert_eq!(s.incidents.len(), 1);
    assert!(
        s.incidents
            .values()
            .next()
            .unwrap()
            .message
            .contains("step budget")
    );
}

#[test]
fn sub_process_scope_inputs_outputs_and_local_variables() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .sub_process("sub")
        .start("ss")
        .script("work", "local_total = base * 2; seen = seen + 1")
        .end("se")
        .flow("ss", "work")
        .flow("work", "se")
        .close()
        .end("e")
        .flow("s", "sub")
        .flow("sub", "e")
        .inputs("sub", &[("base", "= amount"), ("local_total", "= 0")])
        .outputs("sub", &[("total", "= local_total")])
        .build();
    let r = Run::start(defs, json!({"amount": 21, "seen": 1}));
    assert_eq!(r.state().status, Status::Completed);
    assert_eq!(r.var("total"), json!(42));
    assert_eq!(
        r.var("seen"),
        json!(2),
        "existing variables update in place"
    );
    assert_eq!(r.var("local_total"), Value::Null, "locals stay inside");
    assert_eq!(r.var("base"), Value::Null);
    assert_eq!(r.visited(), ["s", "ss", "work", "se", "sub", "e"]);
}

#[test]
fn terminate_end_event_ends_the_whole_instance() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .parallel("fork")
        .user_task("slow")
        .terminate_end("stop")
        .end("e")
        .flow("s", "fork")
        .flow("fork", "slow")
        .flow("fork", "stop")
        .flow("slow", "e")
        .build();
    let r = Run::start(defs, json!({}));
    let s = r.state();
    assert_eq!(s.status, Status::Completed);
    assert!(s.tokens.is_empty());
    assert_eq!(r.count("slow"), 0);
}

#[test]
fn terminate_inside_a_sub_process_ends_only_the_sub_process() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .sub_process("sub")
        .start("ss")
        .parallel("fork")
        .user_task("slow")
        .terminate_end("stop")
        .flow("ss", "fork")
        .flow("fork", "slow")
        .flow("fork", "stop")
        .close()
        .user_task("after")
        .end("e")
        .flow("s", "sub")
        .flow("sub", "after")
        .flow("after", "e")
        .build();
    let r = Run::start(defs, json!({}));
    assert_eq!(r.waiting(), ["after"]);
    assert_eq!(r.count("sub"), 1);
}

#[test]
fn replaying_the_event_log_rebuilds_the_state() {
    let defs = inclusive_diamond(true);
    let mut r = Run::start(defs, json!({"x": 3}));
    r.complete("b", json!({"y": 1}));
    let state = r.state();
    let log = r.engine.store_mut().events(&r.id).expect("log");
    let replayed = InstanceState::replay(&log).expect("replays");
    assert_eq!(replayed, state);
}

#[test]
fn redeploying_changed_text_makes_a_new_version_and_running_instances_keep_theirs() {
    let v1 = ProcessBuilder::new("P")
        .start("s")
        .user_task("review")
        .end("e")
        .flow("s", "review")
        .flow("review", "e")
        .build();
    let v2 = ProcessBuilder::new("P")
        .start("s")
        .user_task("review")
        .script("stamp", "stamped = true")
        .end("e")
        .flow("s", "review")
        .flow("review", "stamp")
        .flow("stamp", "e")
        .build();
    let mut engine = Engine::in_memory();
    let k1 = engine
        .deploy("p.bpmn", &bpmn_models::write(&v1))
        .expect("v1");
    let again = engine
        .deploy("p.bpmn", &bpmn_models::write(&v1))
        .expect("same text");
    assert_eq!(k1, again, "the same text is the same version");
    let old = engine.start("P", Map::new()).expect("starts on v1");
    let k2 = engine
        .deploy("p.bpmn", &bpmn_models::write(&v2))
        .expect("v2");
    assert_eq!((k1[0].version, k2[0].version), (1, 2));
    assert_ne!(k1[0].hash, k2[0].hash);
    let new = engine.start("P", Map::new()).expect("starts on v2");
    assert_eq!(engine.instance(&new).unwrap().unwrap().process.version, 2);
    // The running instance finishes on the version it started with.
    assert_eq!(
        engine.complete_task(&old, "review", Map::new()).unwrap(),
        Status::Completed
    );
    let s = engine.instance(&old).unwrap().unwrap();
    assert_eq!(s.process.version, 1);
    assert!(!s.variables().contains_key("stamped"));
    assert_eq!(
        engine.complete_task(&new, "review", Map::new()).unwrap(),
        Status::Completed
    );
    assert_eq!(
        engine.instance(&new).unwrap().unwrap().variables()["stamped"],
        json!(true)
    );
}

// ------------------------------------------------------------------ timers

const T0: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

/// An engine on a virtual clock at `T0`, with `defs` deployed and started.
fn timed(defs: bpmn_models::Definitions, v: Value) -> (Run, std::sync::Arc<engine::VirtualClock>) {
    let clock = std::sync::Arc::new(engine::VirtualClock::new(T0));
    let mut engine = Engine::with_store(
        Box::new(engine::store::memory::MemoryStore::new()),
        clock.clone(),
        engine::EngineOptions::default(),
    );
    let pid = deploy(&mut engine, &defs);
    let id = engine.start(&pid, vars(v)).expect("starts");
    (Run { engine, id }, clock)
}

fn one_timer(kind: TimerKind, text: &str) -> bpmn_models::Definitions {
    ProcessBuilder::new("P")
        .start("s")
        .timer_catch("t", kind, text)
        .end("e")
        .flow("s", "t")
        .flow("t", "e")
        .build()
}

#[test]
fn a_timer_catch_event_is_due_from_its_activation() {
    let (r, _) = timed(one_timer(TimerKind::Duration, "PT1H"), json!({}));
    let s = r.state();
    assert_eq!(r.waiting(), ["t"]);
    let (&id, timer) = s.timers.iter().next().expect("a timer");
    assert_eq!(timer.due, T0 + HOUR);
    assert_eq!(timer.fired, 0);
    assert_eq!(
        s.tokens.get(&timer.token).map(|t| t.state),
        Some(TokenState::Timer(id))
    );
    assert_eq!(r.engine.next_timer_due().expect("store"), Some(T0 + HOUR));

    // A date is due at that instant, whenever the token arrives.
    let (r, _) = timed(
        one_timer(TimerKind::Date, "2030-01-01T00:00:00Z"),
        json!({}),
    );
    let due = r.state().timers.values().next().map(|t| t.due);
    assert_eq!(due, Some(1_893_456_000_000));

    // An expression is evaluated on activation (tz offset 0 = UTC).
    let (r, _) = timed(
        one_timer(TimerKind::Duration, "=duration(wait)"),
        json!({"wait": "PT10M"}),
    );
    let due = r.state().timers.values().next().map(|t| t.due);
    assert_eq!(due, Some(T0 + 600_000));
}

#[test]
fn a_timer_is_refused_before_it_is_due_and_fires_after() {
    let (mut r, clock) = timed(one_timer(TimerKind::Duration, "PT1H"), json!({}));
    let id = *r.state().timers.keys().next().expect("a timer");
    clock.advance(HOUR - 1);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 0);
    let err = r
        .engine
        .execute(&r.id, Command::FireTimer { timer: id })
        .expect_err("not due");
    assert_eq!(
        err.to_string(),
        format!(
            "timer {id} is not due: expected now ({} ms) at or after its due time, found due at {} ms",
            T0 + HOUR - 1,
            T0 + HOUR
        )
    );
    let err = r
        .engine
        .execute(&r.id, Command::FireTimer { timer: 999 })
        .expect_err("unknown");
    assert!(err.to_string().starts_with("unknown timer 999"), "{err}");
    assert_eq!(r.waiting(), ["t"]);

    clock.advance(1);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 1);
    let s = r.state();
    assert_eq!(s.status, Status::Completed);
    assert!(s.timers.is_empty());
    assert_eq!(r.visited(), ["s", "t", "e"]);
    assert_eq!(r.engine.next_timer_due().expect("store"), None);
}

#[test]
fn due_timers_fire_earliest_first_across_instances() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .timer_catch("t", TimerKind::Duration, "=wait")
        .service("record", "record", 3)
        .end("e")
        .flow("s", "t")
        .flow("t", "record")
        .flow("record", "e")
        .build();
    let (mut r, clock) = timed(defs, json!({"wait": "PT2H"}));
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = order.clone();
    r.engine
        .register_handler("record", move |job: &engine::JobInfo| {
            if let Ok(mut v) = seen.lock() {
                v.push(job.instance.clone());
            }
            TaskResult::Complete(Map::new())
        });
    let first = r.id.clone();
    let second = r
        .engine
        .start("P", vars(json!({"wait": "PT1H"})))
        .expect("starts");
    assert_eq!(r.engine.next_timer_due().expect("store"), Some(T0 + HOUR));
    clock.advance(3 * HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 2);
    // The later-started instance's timer was due first, so it fired first.
    assert_eq!(*order.lock().expect("lock"), [second, first]);
}

#[test]
fn terminate_and_cancel_remove_pending_timers() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .sub_process("sub")
        .start("ss")
        .parallel("fork")
        .timer_catch("t", TimerKind::Duration, "PT1H")
        .user_task("wait")
        .terminate_end("stop")
        .flow("ss", "fork")
        .flow("fork", "t")
        .flow("fork", "wait")
        .flow("wait", "stop")
        .close()
        .user_task("after")
        .end("e")
        .flow("s", "sub")
        .flow("sub", "after")
        .flow("after", "e")
        .build();
    let (mut r, clock) = timed(defs, json!({}));
    assert_eq!(r.state().timers.len(), 1);
    r.complete("wait", json!({}));
    assert_eq!(r.waiting(), ["after"]);
    assert!(r.state().timers.is_empty());
    clock.advance(2 * HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 0);
    assert_eq!(r.count("t"), 0);

    let (mut r, _) = timed(one_timer(TimerKind::Duration, "PT1H"), json!({}));
    r.engine.cancel(&r.id).expect("cancels");
    let s = r.state();
    assert_eq!(s.status, Status::Cancelled);
    assert!(s.timers.is_empty());
    assert_eq!(r.engine.next_timer_due().expect("store"), None);
    let log = r.engine.store_mut().events(&r.id).expect("log");
    assert!(
        log.iter()
            .any(|e| matches!(e, engine::core::Event::TimerCancelled { .. }))
    );
}

#[test]
fn a_timer_expression_that_gives_no_timer_raises_an_incident() {
    let (r, _) = timed(
        one_timer(TimerKind::Duration, "=wait"),
        json!({"wait": "soon"}),
    );
    let s = r.state();
    assert!(s.timers.is_empty());
    let incident = s.incidents.values().next().expect("an incident");
    assert!(
        incident.message.starts_with("timer: "),
        "{}",
        incident.message
    );
    assert!(incident.message.contains("soon"), "{}", incident.message);
}

#[test]
fn an_out_of_range_timer_is_a_deploy_error_with_the_element_id() {
    let mut engine = Engine::in_memory();
    let xml = bpmn_models::write(&one_timer(TimerKind::Duration, "P20000Y"));
    let err = engine.deploy("t.bpmn", &xml).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("timeDuration of `t`"), "{text}");
    let engine::EngineError::Deploy { error, .. } = err else {
        panic!("expected a deploy error, found {text}");
    };
    assert_eq!(error.problems[0].code, "ENG013");
    assert_eq!(error.problems[0].element_id.as_deref(), Some("t"));
    assert!(text.contains("expected"), "{text}");
}

#[test]
fn replaying_a_log_with_timers_rebuilds_the_state() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .parallel("fork")
        .timer_catch("a", TimerKind::Duration, "PT1H")
        .timer_catch("b", TimerKind::Duration, "PT2H")
        .end("ea")
        .end("eb")
        .flow("s", "fork")
        .flow("fork", "a")
        .flow("fork", "b")
        .flow("a", "ea")
        .flow("b", "eb")
        .build();
    let (mut r, clock) = timed(defs, json!({}));
    clock.advance(HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 1);
    let state = r.state();
    assert_eq!(state.timers.len(), 1);
    assert_eq!(r.waiting(), ["b"]);
    let log = r.engine.store_mut().events(&r.id).expect("log");
    assert_eq!(InstanceState::replay(&log).expect("replays"), state);
}

// --------------------------------------------------------- boundary timers

/// `review` (a user task) with a timer boundary event `late` leading to
/// `escalate` (a user task); the task itself leads to `done`.
fn review_with_timer(
    cancel_activity: bool,
    kind: TimerKind,
    text: &str,
) -> bpmn_models::Definitions {
    ProcessBuilder::new("P")
        .start("s")
        .user_task("review")
        .boundary_timer("late", "review", cancel_activity, kind, text)
        .user_task("escalate")
        .end("done")
        .end("escalated")
        .flow("s", "review")
        .flow("review", "done")
        .flow("late", "escalate")
        .flow("escalate", "escalated")
        .build()
}

fn log_replays(r: &mut Run) {
    let state = r.state();
    let log = r.engine.store_mut().events(&r.id).expect("log");
    assert_eq!(InstanceState::replay(&log).expect("replays"), state);
}

#[test]
fn an_interrupting_boundary_timer_cancels_its_user_task() {
    let (mut r, clock) = timed(
        review_with_timer(true, TimerKind::Duration, "PT2H"),
        json!({}),
    );
    assert_eq!(r.waiting(), ["review"]);
    let s = r.state();
    let timer = s.timers.values().next().expect("a boundary timer");
    assert!(timer.boundary);
    assert_eq!(timer.due, T0 + 2 * HOUR);
    // The task's token waits at the task, not at the timer.
    assert_eq!(
        s.tokens.get(&timer.token).map(|t| t.state),
        Some(TokenState::Waiting)
    );
    clock.advance(2 * HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 1);
    assert_eq!(r.waiting(), ["escalate"]);
    assert!(r.state().timers.is_empty());
    assert_eq!(r.visited(), ["s", "late"]);
    let err = r
        .engine
        .complete_task(&r.id, "review", Map::new())
        .expect_err("the task was cancelled");
    assert!(
        err.to_string().contains("nothing waits at `review`"),
        "{err}"
    );
    log_replays(&mut r);
    assert_eq!(r.complete("escalate", json!({})), Status::Completed);
    assert_eq!(r.visited(), ["s", "late", "escalate", "escalated"]);
}

#[test]
fn completing_the_task_first_cancels_its_boundary_timer() {
    let (mut r, clock) = timed(
        review_with_timer(true, TimerKind::Duration, "PT2H"),
        json!({}),
    );
    assert_eq!(r.state().timers.len(), 1);
    assert_eq!(r.complete("review", json!({})), Status::Completed);
    assert!(r.state().timers.is_empty());
    clock.advance(3 * HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 0);
    assert_eq!(r.visited(), ["s", "review", "done"]);
    let log = r.engine.store_mut().events(&r.id).expect("log");
    assert!(
        log.iter()
            .any(|e| matches!(e, engine::core::Event::TimerCancelled { .. }))
    );
    log_replays(&mut r);
}

#[test]
fn an_interrupting_boundary_timer_cancels_a_sub_process_and_all_inside() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .sub_process("sub")
        .start("ss")
        .parallel("fork")
        .user_task("a")
        .service("b", "work", 3)
        .timer_catch("c", TimerKind::Duration, "PT5H")
        .end("ea")
        .end("eb")
        .end("ec")
        .flow("ss", "fork")
        .flow("fork", "a")
        .flow("fork", "b")
        .flow("fork", "c")
        .flow("a", "ea")
        .flow("b", "eb")
        .flow("c", "ec")
        .close()
        .boundary_timer("deadline", "sub", true, TimerKind::Duration, "PT1H")
        .end("e")
        .end("timedOut")
        .flow("s", "sub")
        .flow("sub", "e")
        .flow("deadline", "timedOut")
        .build();
    let (mut r, clock) = timed(defs, json!({}));
    let s = r.state();
    assert_eq!(r.waiting(), ["a", "b", "c"]);
    assert_eq!(s.timers.len(), 2);
    assert_eq!(s.jobs.len(), 1);
    clock.advance(HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 1);
    let s = r.state();
    assert_eq!(s.status, Status::Completed);
    assert!(s.timers.is_empty() && s.jobs.is_empty() && s.tokens.is_empty());
    assert_eq!(s.scopes.len(), 1, "only the process scope is left");
    assert_eq!(r.visited(), ["s", "ss", "fork", "deadline", "timedOut"]);
    log_replays(&mut r);
}

#[test]
fn a_non_interrupting_boundary_cycle_fires_while_the_task_waits() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .user_task("review")
        .boundary_timer("remind", "review", false, TimerKind::Cycle, "R3/PT1H")
        .script("count", "reminders = reminders + 1")
        .end("done")
        .end("reminded")
        .flow("s", "review")
        .flow("review", "done")
        .flow("remind", "count")
        .flow("count", "reminded")
        .build();
    let (mut r, clock) = timed(defs, json!({"reminders": 0}));
    for n in 1..=3 {
        let due = r.state().timers.values().next().map(|t| (t.due, t.fired));
        assert_eq!(due, Some((T0 + n * HOUR, (n - 1) as u32)), "firing {n}");
        clock.advance(HOUR);
        assert_eq!(r.engine.fire_due_timers().expect("fires"), 1);
        assert_eq!(r.var("reminders"), json!(n));
        assert_eq!(r.waiting(), ["review"]);
    }
    // Exhausted: no fourth reminder.
    assert!(r.state().timers.is_empty());
    clock.advance(5 * HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 0);
    log_replays(&mut r);
    assert_eq!(r.complete("review", json!({})), Status::Completed);
    assert_eq!(r.count("remind"), 3);
    assert_eq!(r.count("review"), 1);
    log_replays(&mut r);
}

#[test]
fn a_non_interrupting_cycle_is_cancelled_with_its_task() {
    let (mut r, clock) = timed(
        review_with_timer(false, TimerKind::Cycle, "R/PT1H"),
        json!({}),
    );
    clock.advance(HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 1);
    assert_eq!(r.waiting(), ["review", "escalate"]);
    assert_eq!(r.state().timers.len(), 1);
    r.complete("review", json!({}));
    assert!(r.state().timers.is_empty());
    assert_eq!(r.waiting(), ["escalate"]);
    log_replays(&mut r);
}

#[test]
fn other_boundary_events_and_bad_attachments_are_refused() {
    let mut engine = Engine::in_memory();
    let defs = ProcessBuilder::new("P")
        .start("s")
        .boundary_timer("late", "nowhere", true, TimerKind::Duration, "PT1H")
        .end("e")
        .flow("s", "e")
        .flow("late", "e")
        .build();
    let err = engine
        .deploy("b.bpmn", &bpmn_models::write(&defs))
        .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("expected"), "{text}");
}

#[test]
fn a_boundary_timer_expression_is_evaluated_on_activation() {
    let (r, _) = timed(
        review_with_timer(true, TimerKind::Duration, "=wait"),
        json!({"wait": "PT30M"}),
    );
    let due = r
        .state()
        .timers
        .values()
        .next()
        .map(|t| (t.due, t.boundary));
    assert_eq!(due, Some((T0 + 1_800_000, true)));
    assert_eq!(r.waiting(), ["review"]);

    let (r, _) = timed(
        review_with_timer(true, TimerKind::Duration, "=wait"),
        json!({"wait": "soon"}),
    );
    let s = r.state();
    assert!(s.timers.is_empty());
    let incident = s.incidents.values().next().expect("an incident");
    assert!(
        incident
            .message
            .starts_with("boundary event `late`: timer: "),
        "{}",
        incident.message
    );
    assert!(r.waiting().is_empty());
}

#[test]
fn an_interrupting_boundary_timer_removes_its_job() {
    let defs = ProcessBuilder::new("P")
        .start("s")
        .service("charge", "charge", 3)
        .boundary_timer("slow", "charge", true, TimerKind::Duration, "PT1H")
        .end("e")
        .end("gaveUp")
        .flow("s", "charge")
        .flow("charge", "e")
        .flow("slow", "gaveUp")
        .build();
    let (mut r, clock) = timed(defs, json!({}));
    let job = *r.state().jobs.keys().next().expect("a job");
    assert_eq!(r.state().timers.len(), 1);
    clock.advance(HOUR);
    assert_eq!(r.engine.fire_due_timers().expect("fires"), 1);
    let s = r.state();
    assert_eq!(s.status, Status::Completed);
    assert!(s.jobs.is_empty() && s.timers.is_empty());
    assert_eq!(r.visited(), ["s", "slow", "gaveUp"]);
    let err = r
        .engine
        .execute(
            &r.id,
            Command::CompleteJob {
                job,
                variables: Map::new(),
            },
        )
        .expect_err("the job is gone");
    assert!(
        err.to_string().contains("expected an active instance"),
        "{err}"
    );
    log_replays(&mut r);
}

const BOUNDARY_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:message id="M" name="m"/>
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="review"/>
    <bpmn:boundaryEvent id="b" attachedToRef="review">BODY</bpmn:boundaryEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
    EXTRA
  </bpmn:process>
</bpmn:definitions>"#;

fn deploy_problem(body: &str, extra: &str) -> (String, String) {
    let xml = BOUNDARY_XML.replace("BODY", body).replace("EXTRA", extra);
    let mut engine = Engine::in_memory();
    let err = engine.deploy("b.bpmn", &xml).expect_err("refused");
    let engine::EngineError::Deploy { error, .. } = err else {
        panic!("expected a deploy error, found {err}");
    };
    let p = &error.problems[0];
    (p.code.to_string(), p.message.clone())
}

#[test]
fn unsupported_boundary_events_and_flows_into_one_are_refused() {
    let (code, message) = deploy_problem(r#"<bpmn:linkEventDefinition name="x"/>"#, "");
    assert_eq!(code, "ENG010", "{message}");
    assert!(
        message.contains("boundaryEvent with a linkEventDefinition"),
        "{message}"
    );

    let timer = "<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>";
    let (code, message) = deploy_problem(
        timer,
        r#"<bpmn:sequenceFlow id="f4" sourceRef="s" targetRef="b"/>"#,
    );
    assert!(
        code == "ENG014" || code.starts_with("BPMN"),
        "{code}: {message}"
    );
    assert!(message.contains("expected"), "{message}");

    // The timer alone deploys.
    let mut engine = Engine::in_memory();
    let xml = BOUNDARY_XML.replace("BODY", timer).replace("EXTRA", "");
    engine.deploy("b.bpmn", &xml).expect("deploys");
}

/// Each incident says what it is about: a failed job, a condition, an
/// input or output mapping, a call activity, or an expression.
#[test]
fn incidents_carry_their_kind() {
    use engine::core::IncidentKind;
    let kind_of = |r: &Run| {
        let s = r.state();
        assert_eq!(s.incidents.len(), 1, "{:?}", s.incidents);
        s.incidents.values().next().unwrap().kind()
    };
    // A condition that holds for no flow.
    let r = Run::start(
        ProcessBuilder::new("P")
            .start("s")
            .exclusive("g")
            .end("e")
            .flow("s", "g")
            .cond("g", "e", "= x > 1")
            .build(),
        json!({"x": 0}),
    );
    assert_eq!(kind_of(&r), IncidentKind::Condition);
    // An output mapping that cannot be evaluated.
    let r = Run::start(
        ProcessBuilder::new("P")
            .start("s")
            .task("t")
            .end("e")
            .flow("s", "t")
            .flow("t", "e")
            .outputs("t", &[("y", "= for i in 1..100000000 return i")])
            .build(),
        json!({"x": 1}),
    );
    assert_eq!(kind_of(&r), IncidentKind::IoMapping);
    // A job that failed with no retries left.
    let mut r = Run::start(
        ProcessBuilder::new("P")
            .start("s")
            .service("work", "work", 1)
            .end("e")
            .flow("s", "work")
            .flow("work", "e")
            .build(),
        json!({}),
    );
    let job = *r.state().jobs.keys().next().expect("a job");
    r.engine
        .fail_job(&r.id, job, "down", None)
        .expect("fails the job");
    assert_eq!(kind_of(&r), IncidentKind::FailedJob);
}
