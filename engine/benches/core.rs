//! Hot paths of the engine core, in memory (no store I/O): the peers'
//! workloads in miniature and condition evaluation per language.
//!
//! `cargo bench -p engine --bench core`

use engine::builder::ProcessBuilder;
use engine::expr::{Expr, Vars};
use engine::script::ScriptEngine;
use engine::store::memory::MemoryStore;
use engine::{Engine, EngineOptions, SystemClock};
use serde_json::{Map, Value, json};
use std::sync::Arc;

fn main() {
    divan::main();
}

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// An engine on the in-memory store without event logs, with `defs` deployed.
fn engine_with(defs: &bpmn_models::Definitions) -> (Engine, String) {
    let mut engine = Engine::with_store(
        Box::new(MemoryStore::without_logs()),
        Arc::new(SystemClock),
        EngineOptions::default(),
    );
    let keys = engine
        .deploy("bench.bpmn", &bpmn_models::write(defs))
        .expect("deploys");
    (engine, keys[0].id.clone())
}

/// start → s01 … s10 (Rhai `counter += 1;`) → end.
fn seq10() -> bpmn_models::Definitions {
    let mut b = ProcessBuilder::new("seq10").start("start");
    let mut prev = "start".to_string();
    for i in 1..=10 {
        let id = format!("s{i:02}");
        b = b.script(&id, "counter += 1;").flow(&prev, &id);
        prev = id;
    }
    b.end("end").flow(&prev, "end").build()
}

/// start → fork → b000 … b{n-1} (tasks) → join → end.
fn parallel(n: usize) -> bpmn_models::Definitions {
    let mut b = ProcessBuilder::new("par")
        .start("start")
        .parallel("fork")
        .parallel("join")
        .end("end")
        .flow("start", "fork")
        .flow("join", "end");
    for i in 0..n {
        let id = format!("b{i:03}");
        b = b.task(&id).flow("fork", &id).flow(&id, "join");
    }
    b.build()
}

/// start → inc (`i += 1;`) → gw; gw → inc while `i < n`, else → end.
fn looping(n: u64) -> bpmn_models::Definitions {
    ProcessBuilder::new("loop")
        .start("start")
        .script("inc", "i += 1;")
        .exclusive("gw")
        .end("end")
        .flow("start", "inc")
        .flow("inc", "gw")
        .cond("gw", "inc", &format!("i < {n}"))
        .flow("gw", "end")
        .default_flow("gw", "end")
        .build()
}

#[divan::bench]
fn seq10_start_to_end(b: divan::Bencher) {
    let (mut engine, pid) = engine_with(&seq10());
    let start = vars(json!({"counter": 0}));
    b.bench_local(|| engine.start(&pid, start.clone()).expect("runs"));
}

#[divan::bench(args = [10, 100, 1000])]
fn parallel_join(b: divan::Bencher, n: usize) {
    let (mut engine, pid) = engine_with(&parallel(n));
    b.bench_local(|| engine.start(&pid, Map::new()).expect("runs"));
}

/// Per instance; divide by the iteration count for the cost per iteration
/// (it must not grow with the count).
#[divan::bench(args = [100, 1000, 10000])]
fn exclusive_loop(b: divan::Bencher, n: u64) {
    let (mut engine, pid) = engine_with(&looping(n));
    let start = vars(json!({"i": 0}));
    b.bench_local(|| engine.start(&pid, start.clone()).expect("runs"));
}

#[divan::bench]
fn user_task_start_and_complete(b: divan::Bencher) {
    let defs = ProcessBuilder::new("ut")
        .start("start")
        .user_task("approve")
        .end("end")
        .flow("start", "approve")
        .flow("approve", "end")
        .build();
    let (mut engine, pid) = engine_with(&defs);
    b.bench_local(|| {
        let id = engine.start(&pid, Map::new()).expect("starts");
        engine
            .complete_task(&id, "approve", Map::new())
            .expect("completes")
    });
}

/// `i < 1000` with 10 process variables in scope, per language.
#[divan::bench(args = ["rhai", "feel", "juel"])]
fn condition(b: divan::Bencher, language: &str) {
    let scripts = ScriptEngine::default();
    let body = match language {
        "rhai" => "i < 1000",
        "feel" => "= i < 1000",
        _ => "${i < 1000}",
    };
    let expr = Expr::compile(&scripts, None, body).expect("compiles");
    let mut m = Map::new();
    for k in 0..9 {
        m.insert(format!("var{k}"), json!(format!("value {k}")));
    }
    m.insert("i".into(), json!(500));
    let layers = [&m];
    b.bench_local(|| {
        expr.eval_bool(&scripts, Vars::new(&layers))
            .expect("boolean")
    });
}

/// A Rhai script task body on its own: `counter += 1;`.
#[divan::bench]
fn script_increment(b: divan::Bencher) {
    let scripts = ScriptEngine::default();
    let script = scripts.compile_script("counter += 1;").expect("compiles");
    let m = vars(json!({"counter": 41}));
    b.bench_local(|| scripts.run(&script, &m).expect("runs"));
}
