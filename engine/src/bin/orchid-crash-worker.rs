//! The crash test's workload (`engine/tests/crash.rs`), also runnable by
//! hand: `orchid-crash-worker sled|redb PATH ITERATIONS`.
//!
//! Opens (or creates) a store with Immediate durability, deploys the fork/
//! join process of [`process`], picks up the user tasks that instances
//! already in the store wait at, and then loops: start an instance, and
//! complete the oldest waiting tasks while more than four wait. It prints
//! one line per command *after* the engine acknowledged it (the store's
//! commit returned), flushing stdout each time:
//!
//! ```text
//! ready <instances already in the store>
//! ack start <instance>
//! ack complete <instance> <task>
//! done
//! ```
//!
//! The test kills it with SIGKILL at random moments and then checks that
//! every acknowledged command's effect survived. Errors go to stderr with a
//! non-zero exit status.
//!
//! `orchid-crash-worker sled|redb PATH ITERATIONS grouped` runs the same
//! workload on a store opened with `Durability::Grouped`, flushing after
//! each command before it acknowledges it.
//!
//! `orchid-crash-worker sled|redb PATH ITERATIONS timers` fires a timer
//! start event every millisecond and publishes buffered messages that
//! `waiter` instances take ([`TIMERS_AND_MESSAGES`]).
//!
//! `orchid-crash-worker sled|redb PATH ITERATIONS cross` runs the workload
//! that crosses instances instead ([`CROSS`]): it starts `order` instances
//! and completes the `work` task of the `item` instances their call
//! activities start, oldest first, while more than six wait:
//!
//! ```text
//! ready <instances already in the store>
//! ack start <order>
//! ack complete <item>
//! ```

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use engine::builder::ProcessBuilder;
use engine::core::Status;
use engine::runtime::waiting_at;
use engine::store::{self, Durability, StoreKind};
use engine::{Engine, EngineOptions, SystemClock};
use serde_json::{Map, Value, json};

/// The process under test: start, a parallel fork into two user tasks,
/// a parallel join, end. The crash test builds the same one.
fn process() -> bpmn_models::Definitions {
    ProcessBuilder::new("crash")
        .start("start")
        .parallel("fork")
        .user_task("taskA")
        .user_task("taskB")
        .parallel("join")
        .end("end")
        .flow("start", "fork")
        .flow("fork", "taskA")
        .flow("fork", "taskB")
        .flow("taskA", "join")
        .flow("taskB", "join")
        .flow("join", "end")
        .build()
}

/// The cross-instance workload: an `order` calls one `item`, then three
/// in a parallel multi-instance call activity, then throws the message
/// `Done` (which starts a `receipt`, waiting for a signal) and the signal
/// `Tick` (which reaches that receipt and starts a `tally`). Every `item`
/// waits at the user task `work`.
pub const CROSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="cross" targetNamespace="t">
  <bpmn:message id="M_Done" name="Done" />
  <bpmn:signal id="S_Tick" name="Tick" />
  <bpmn:process id="order" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:callActivity id="call" calledElement="item" />
    <bpmn:callActivity id="each" calledElement="item">
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
    </bpmn:callActivity>
    <bpmn:intermediateThrowEvent id="done"><bpmn:messageEventDefinition messageRef="M_Done" /></bpmn:intermediateThrowEvent>
    <bpmn:intermediateThrowEvent id="tick"><bpmn:signalEventDefinition signalRef="S_Tick" /></bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="o1" sourceRef="start" targetRef="call" />
    <bpmn:sequenceFlow id="o2" sourceRef="call" targetRef="each" />
    <bpmn:sequenceFlow id="o3" sourceRef="each" targetRef="done" />
    <bpmn:sequenceFlow id="o4" sourceRef="done" targetRef="tick" />
    <bpmn:sequenceFlow id="o5" sourceRef="tick" targetRef="end" />
  </bpmn:process>
  <bpmn:process id="item" isExecutable="true">
    <bpmn:startEvent id="item_start" />
    <bpmn:userTask id="work" />
    <bpmn:endEvent id="item_end" />
    <bpmn:sequenceFlow id="i1" sourceRef="item_start" targetRef="work" />
    <bpmn:sequenceFlow id="i2" sourceRef="work" targetRef="item_end" />
  </bpmn:process>
  <bpmn:process id="receipt" isExecutable="true">
    <bpmn:startEvent id="got_done"><bpmn:messageEventDefinition messageRef="M_Done" /></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_tick"><bpmn:signalEventDefinition signalRef="S_Tick" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="receipt_end" />
    <bpmn:sequenceFlow id="r1" sourceRef="got_done" targetRef="wait_tick" />
    <bpmn:sequenceFlow id="r2" sourceRef="wait_tick" targetRef="receipt_end" />
  </bpmn:process>
  <bpmn:process id="tally" isExecutable="true">
    <bpmn:startEvent id="got_tick"><bpmn:signalEventDefinition signalRef="S_Tick" /></bpmn:startEvent>
    <bpmn:endEvent id="tally_end" />
    <bpmn:sequenceFlow id="t1" sourceRef="got_tick" targetRef="tally_end" />
  </bpmn:process>
</bpmn:definitions>
"#;

/// The timer and message workload: `ticker` starts every millisecond (a
/// timer start event), `waiter` waits for the message `M`.
pub const TIMERS_AND_MESSAGES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="tm" targetNamespace="t">
  <bpmn:message id="M_M" name="M" />
  <bpmn:process id="ticker" isExecutable="true">
    <bpmn:startEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle>R100000000/PT0.001S</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:endEvent id="ticked" />
    <bpmn:sequenceFlow id="k1" sourceRef="tick" targetRef="ticked" />
  </bpmn:process>
  <bpmn:process id="waiter" isExecutable="true">
    <bpmn:startEvent id="w_start" />
    <bpmn:intermediateCatchEvent id="got"><bpmn:messageEventDefinition messageRef="M_M" /></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="w_end" />
    <bpmn:sequenceFlow id="w1" sourceRef="w_start" targetRef="got" />
    <bpmn:sequenceFlow id="w2" sourceRef="got" targetRef="w_end" />
  </bpmn:process>
</bpmn:definitions>
"#;

/// Fires the ticker's timer start event as it falls due, publishes the
/// message `M` with a time-to-live (`ack publish <n>` once published) and
/// starts a `waiter` every other round (`ack start <id>`), which takes the
/// oldest buffered message.
fn run_timers(kind: StoreKind, path: PathBuf, iterations: u64) -> Result<(), String> {
    let mut engine = open(
        kind,
        &path,
        Durability::Immediate,
        "timers.bpmn",
        TIMERS_AND_MESSAGES,
    )?;
    let existing = engine.instances().map_err(|e| e.to_string())?;
    // Message numbers go on from the highest one published before.
    let first = engine
        .buffered_messages()
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(|m| m.variables.get("n").and_then(Value::as_u64))
        .chain(
            existing
                .iter()
                .filter_map(|s| s.variables().get("n").and_then(Value::as_u64)),
        )
        .max()
        .map_or(0, |m| m + 1);
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut say = |line: String| say(&mut out, line);
    say(format!("ready {}", existing.len()))?;
    for (i, n) in (0..iterations).zip(first..) {
        engine.fire_due_timers().map_err(|e| e.to_string())?;
        engine
            .publish_message("M", None, vars(json!({ "n": n })), Some(3_600_000))
            .map_err(|e| e.to_string())?;
        say(format!("ack publish {n}"))?;
        if i % 2 == 1 {
            let id = engine
                .start("waiter", Map::new())
                .map_err(|e| e.to_string())?;
            say(format!("ack start {id}"))?;
        }
    }
    engine.flush().map_err(|e| e.to_string())?;
    say("done".to_string())
}

/// The children of `instance`'s waiting call activities.
fn children(engine: &Engine, instance: &str) -> Result<Vec<String>, String> {
    Ok(engine
        .instance(instance)
        .map_err(|e| e.to_string())?
        .map(|s| s.calls.values().cloned().collect())
        .unwrap_or_default())
}

fn run_cross(kind: StoreKind, path: PathBuf, iterations: u64) -> Result<(), String> {
    let mut engine = open(kind, &path, Durability::Immediate, "cross.bpmn", CROSS)?;
    // Items waiting from earlier runs, oldest first.
    let mut existing = engine.instances().map_err(|e| e.to_string())?;
    existing.sort_by_key(|s| s.id.parse::<u64>().unwrap_or(u64::MAX));
    let mut pending: VecDeque<String> = existing
        .iter()
        .filter(|s| s.status == Status::Active && s.process.id == "item")
        .map(|s| s.id.clone())
        .collect();
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut say = |line: String| say(&mut out, line);
    say(format!("ready {}", existing.len()))?;
    let mut seen: std::collections::HashSet<String> = pending.iter().cloned().collect();
    for _ in 0..iterations {
        let order = engine
            .start("order", vars(json!({ "note": "started" })))
            .map_err(|e| e.to_string())?;
        say(format!("ack start {order}"))?;
        for child in children(&engine, &order)? {
            if seen.insert(child.clone()) {
                pending.push_back(child);
            }
        }
        while pending.len() > 6 {
            let Some(item) = pending.pop_front() else {
                break;
            };
            let parent = engine
                .instance(&item)
                .map_err(|e| e.to_string())?
                .and_then(|s| s.parent.map(|l| l.instance));
            engine
                .complete_task(&item, "work", Map::new())
                .map_err(|e| format!("complete work of {item}: {e}"))?;
            say(format!("ack complete {item}"))?;
            if let Some(parent) = parent {
                for child in children(&engine, &parent)? {
                    if seen.insert(child.clone()) {
                        pending.push_back(child);
                    }
                }
            }
        }
    }
    engine.flush().map_err(|e| e.to_string())?;
    say("done".to_string())
}

/// Opens (or creates) the store and deploys `xml` (again: a file already
/// deployed keeps its version).
fn open(
    kind: StoreKind,
    path: &Path,
    durability: Durability,
    name: &str,
    xml: &str,
) -> Result<Engine, String> {
    let store = store::open(kind, path, durability).map_err(|e| e.to_string())?;
    let mut engine = Engine::open(store, Arc::new(SystemClock), EngineOptions::default())
        .map_err(|e| e.to_string())?;
    engine.deploy(name, xml).map_err(|e| e.to_string())?;
    Ok(engine)
}

/// Prints one acknowledgement line and flushes it.
fn say(out: &mut impl Write, line: String) -> Result<(), String> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("stdout: {e}"))
}

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn run(kind: StoreKind, path: PathBuf, iterations: u64, grouped: bool) -> Result<(), String> {
    let durability = if grouped {
        Durability::Grouped
    } else {
        Durability::Immediate
    };
    let xml = bpmn_models::write(&process());
    let mut engine = open(kind, &path, durability, "crash.bpmn", &xml)?;

    // Tasks waiting from earlier runs, oldest instance first.
    let mut pending: VecDeque<(String, String)> = VecDeque::new();
    let mut existing = engine.instances().map_err(|e| e.to_string())?;
    existing.sort_by_key(|s| s.id.parse::<u64>().unwrap_or(u64::MAX));
    for s in &existing {
        if s.status != Status::Active {
            continue;
        }
        let p = engine
            .process_version(&s.process)
            .ok_or_else(|| format!("instance {} runs an undeployed process", s.id))?;
        for task in waiting_at(s, p) {
            pending.push_back((s.id.clone(), task));
        }
    }

    let out = std::io::stdout();
    let mut out = out.lock();
    let mut say = |line: String| say(&mut out, line);
    say(format!("ready {}", existing.len()))?;

    for i in 0..iterations {
        let id = engine
            .start("crash", vars(json!({ "iteration": i, "note": "started" })))
            .map_err(|e| e.to_string())?;
        if grouped {
            // Durable once the flush after it returned.
            engine.flush().map_err(|e| e.to_string())?;
        }
        say(format!("ack start {id}"))?;
        // Alternate which branch finishes first, so that joins see both.
        if i % 2 == 0 {
            pending.push_back((id.clone(), "taskA".to_string()));
            pending.push_back((id, "taskB".to_string()));
        } else {
            pending.push_back((id.clone(), "taskB".to_string()));
            pending.push_back((id, "taskA".to_string()));
        }
        while pending.len() > 4 {
            let Some((instance, task)) = pending.pop_front() else {
                break;
            };
            engine
                .complete_task(&instance, &task, vars(json!({ task.clone(): i })))
                .map_err(|e| format!("complete {task} of {instance}: {e}"))?;
            if grouped {
                engine.flush().map_err(|e| e.to_string())?;
            }
            say(format!("ack complete {instance} {task}"))?;
        }
    }
    engine.flush().map_err(|e| e.to_string())?;
    say("done".to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, path, iterations, workload) = match args.as_slice() {
        [kind, path, iterations] => (kind, path, iterations, ""),
        [kind, path, iterations, w] if ["cross", "grouped", "timers"].contains(&w.as_str()) => {
            (kind, path, iterations, w.as_str())
        }
        _ => {
            eprintln!(
                "usage: orchid-crash-worker sled|redb PATH ITERATIONS [cross|grouped|timers]"
            );
            return ExitCode::from(2);
        }
    };
    let kind: StoreKind = match kind.parse() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let Ok(iterations) = iterations.parse::<u64>() else {
        eprintln!("ITERATIONS must be a whole number, found `{iterations}`");
        return ExitCode::from(2);
    };
    let result = if workload == "cross" {
        run_cross(kind, PathBuf::from(path), iterations)
    } else if workload == "timers" {
        run_timers(kind, PathBuf::from(path), iterations)
    } else {
        run(kind, PathBuf::from(path), iterations, workload == "grouped")
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orchid-crash-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
