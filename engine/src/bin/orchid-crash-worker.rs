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

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
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

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn run(kind: StoreKind, path: PathBuf, iterations: u64) -> Result<(), String> {
    let store = store::open(kind, &path, Durability::Immediate).map_err(|e| e.to_string())?;
    let mut engine = Engine::open(store, Arc::new(SystemClock), EngineOptions::default())
        .map_err(|e| e.to_string())?;
    let xml = bpmn_models::write(&process());
    engine
        .deploy("crash.bpmn", &xml)
        .map_err(|e| e.to_string())?;

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
    let mut say = |line: String| -> Result<(), String> {
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("stdout: {e}"))
    };
    say(format!("ready {}", existing.len()))?;

    for i in 0..iterations {
        let id = engine
            .start("crash", vars(json!({ "iteration": i, "note": "started" })))
            .map_err(|e| e.to_string())?;
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
            say(format!("ack complete {instance} {task}"))?;
        }
    }
    engine.flush().map_err(|e| e.to_string())?;
    say("done".to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, path, iterations] = args.as_slice() else {
        eprintln!("usage: orchid-crash-worker sled|redb PATH ITERATIONS");
        return ExitCode::from(2);
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
    match run(kind, PathBuf::from(path), iterations) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orchid-crash-worker: {e}");
            ExitCode::FAILURE
        }
    }
}
