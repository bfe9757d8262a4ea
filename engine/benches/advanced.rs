//! Issue 6 workloads, in memory (no store I/O):
//!
//! - `mi_parallel_10k`: one instance whose parallel multi-instance service
//!   task runs over 10,000 items (a registered handler serves each job in
//!   process; output collection kept); the counter is inner instances.
//! - `call_chain_100`: P0 calls P1 … calls P99 (a script task), start to
//!   completion of all 100 instances in one `start`.
//!
//! Memory: divan's `AllocProfiler` reports, per sample (one iteration),
//! `max alloc` — the most bytes live at once — which is the reproducible
//! peak. Before the benchmarks run, `main` also prints the peak resident
//! set growth of one MI run: it resets the kernel's high-water mark
//! (`echo 5 > /proc/self/clear_refs`, Linux ≥ 4.0), reads `VmRSS`, runs
//! once and reads `VmHWM`.
//!
//! `cargo bench -p engine --bench advanced`

use std::sync::Arc;

use engine::store::memory::MemoryStore;
use engine::{Engine, EngineOptions, SystemClock, TaskResult};
use serde_json::{Map, Value, json};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

const ITEMS: usize = 10_000;
const DEPTH: usize = 100;

fn main() {
    peak_rss_report();
    divan::main();
}

fn defs(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
{body}
</bpmn:definitions>"#
    )
}

/// start → `ship` (parallel MI over `items`, job type `ship`, output
/// collection `results` of `=done`) → end.
/// The same with a Rhai script task (`done = item;`) instead of a job.
const MI_SCRIPT: &str = r#"<bpmn:process id="Batch" isExecutable="true">
    <bpmn:startEvent id="S"/>
    <bpmn:scriptTask id="ship" scriptFormat="rhai">
      <bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=items" inputElement="item" outputCollection="results" outputElement="=done"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>done = item;</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="E"/>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="ship"/>
    <bpmn:sequenceFlow id="F2" sourceRef="ship" targetRef="E"/>
  </bpmn:process>"#;

const MI: &str = r#"<bpmn:process id="Batch" isExecutable="true">
    <bpmn:startEvent id="S"/>
    <bpmn:serviceTask id="ship">
      <bpmn:extensionElements><zeebe:taskDefinition type="ship"/></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=items" inputElement="item" outputCollection="results" outputElement="=done"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>
    <bpmn:endEvent id="E"/>
    <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="ship"/>
    <bpmn:sequenceFlow id="F2" sourceRef="ship" targetRef="E"/>
  </bpmn:process>"#;

/// How many items: 10,000, or `ORCHID_MI_ITEMS` (to see how it scales).
fn items() -> usize {
    std::env::var("ORCHID_MI_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ITEMS)
}

fn mi_engine() -> (Engine, Map<String, Value>) {
    mi_engine_of(MI)
}

fn mi_engine_of(body: &str) -> (Engine, Map<String, Value>) {
    let mut engine = Engine::with_store(
        Box::new(MemoryStore::without_logs()),
        Arc::new(SystemClock),
        EngineOptions::default(),
    );
    engine.deploy("mi.bpmn", &defs(body)).expect("deploys");
    engine.register_handler("ship", |job: &engine::JobInfo| {
        let mut out = Map::new();
        out.insert(
            "done".into(),
            job.variables.get("item").cloned().unwrap_or(Value::Null),
        );
        TaskResult::Complete(out)
    });
    let items: Vec<Value> = (0..items()).map(|i| json!(i)).collect();
    let mut vars = Map::new();
    vars.insert("items".into(), Value::Array(items));
    (engine, vars)
}

fn run_mi(engine: &mut Engine, vars: Map<String, Value>) {
    let id = engine.start("Batch", vars).expect("starts");
    let s = engine.instance(&id).expect("loads").expect("exists");
    assert_eq!(s.status, engine::core::Status::Completed);
}

/// P0 … P98 call the next; P99 runs a script.
fn chain() -> String {
    let mut body = String::new();
    for i in 0..DEPTH {
        let work = if i + 1 < DEPTH {
            format!(
                r#"<bpmn:callActivity id="call{i}"><bpmn:extensionElements><zeebe:calledElement processId="P{}"/></bpmn:extensionElements></bpmn:callActivity>"#,
                i + 1
            )
        } else {
            format!(
                r#"<bpmn:scriptTask id="call{i}" scriptFormat="rhai"><bpmn:script>reached = true;</bpmn:script></bpmn:scriptTask>"#
            )
        };
        body.push_str(&format!(
            r#"<bpmn:process id="P{i}" isExecutable="true">
  <bpmn:startEvent id="s{i}"/>{work}<bpmn:endEvent id="e{i}"/>
  <bpmn:sequenceFlow id="a{i}" sourceRef="s{i}" targetRef="call{i}"/>
  <bpmn:sequenceFlow id="b{i}" sourceRef="call{i}" targetRef="e{i}"/>
</bpmn:process>
"#
        ));
    }
    defs(&body)
}

fn chain_engine() -> Engine {
    let mut engine = Engine::with_store(
        Box::new(MemoryStore::without_logs()),
        Arc::new(SystemClock),
        EngineOptions::default(),
    );
    engine.deploy("chain.bpmn", &chain()).expect("deploys");
    engine
}

/// 10,000 inner instances of a parallel multi-instance service task, each
/// job served by a registered handler.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn mi_parallel_10k(b: divan::Bencher) {
    b.counter(divan::counter::ItemsCount::new(items()))
        .with_inputs(mi_engine)
        .bench_local_values(|(mut engine, vars)| {
            run_mi(&mut engine, vars);
            engine
        });
}

/// The same 10,000 inner instances as script tasks (no jobs, no handler).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn mi_parallel_10k_script(b: divan::Bencher) {
    b.counter(divan::counter::ItemsCount::new(items()))
        .with_inputs(|| mi_engine_of(MI_SCRIPT))
        .bench_local_values(|(mut engine, vars)| {
            run_mi(&mut engine, vars);
            engine
        });
}

/// A call-activity chain 100 deep, start to completion (the counter is
/// instances: 100 per start).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn call_chain_100(b: divan::Bencher) {
    b.counter(divan::counter::ItemsCount::new(DEPTH))
        .with_inputs(chain_engine)
        .bench_local_values(|mut engine| {
            let id = engine.start("P0", Map::new()).expect("starts");
            let s = engine.instance(&id).expect("loads").expect("exists");
            assert_eq!(s.status, engine::core::Status::Completed);
            engine
        });
}

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Peak resident set growth of one MI run (Linux only; skipped elsewhere).
fn peak_rss_report() {
    let (mut engine, vars) = mi_engine();
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("mi_parallel_10k peak RSS: not measured (no /proc/self/clear_refs)");
        return;
    }
    let Some(before) = status_kib("VmRSS:") else {
        return;
    };
    let start = std::time::Instant::now();
    run_mi(&mut engine, vars);
    let took = start.elapsed();
    if let Some(peak) = status_kib("VmHWM:") {
        eprintln!(
            "mi_parallel_10k: one run {:.1} ms; peak RSS {peak} KiB, {} KiB above the {before} KiB before it",
            took.as_secs_f64() * 1000.0,
            peak.saturating_sub(before)
        );
    }
}
