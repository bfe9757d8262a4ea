//! orchid-bpmn's runner for the peer benchmarks of `shared/peers`
//! (the workloads and their rules: `workloads/README.md` there).
//!
//! ```sh
//! cargo run --release -p orchid-bpmn --example peers-bench -- WORKLOADS_DIR quick|full
//! ```
//!
//! Every workload follows the rules of the README: the definition is parsed
//! and deployed once, outside the timed region; instances run one after
//! another in this one thread; untimed warm-up instances come first; each
//! figure is the median of 3 timed runs made in this process, the runs printed
//! next to it; every instance is checked after its timed part, outside the
//! clock, and a failed check exits with status 2. Output: one JSON object per
//! figure, the README's protocol, `"engine": "orchid-bpmn"`.
//!
//! Scripts and conditions are Rhai, orchid-bpmn's native language: the
//! `*.rhai.bpmn` files. If a workloads directory lacks them, the Rhai variant
//! is derived in memory from the `*.python.bpmn` file (same ids and
//! structure; `counter = counter + 1` and `i < 1000` are valid Rhai too, only
//! `scriptFormat`/`language` change), and a note says so.
//!
//! Memory per parked instance is measured in a child process (this program
//! started again with `mem-child`), so that memory freed by earlier workloads
//! cannot hide the growth.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use engine::core::{InstanceState, Status};
use engine::runtime::{visited, waiting_at};
use engine::store::memory::MemoryStore;
use engine::store::{Durability, Store, StoreKind};
use engine::{Engine, EngineOptions, SystemClock};
use serde_json::{Map, Value, json};

const ENGINE: &str = "orchid-bpmn";

/// Sizes of `run-all.sh`: `QUICK=1` and the defaults.
struct Sizes {
    seq: usize,
    par: usize,
    loops: usize,
    usertask: usize,
    mem: usize,
    dmn: usize,
}

const QUICK: Sizes = Sizes {
    seq: 100,
    par: 3,
    loops: 1,
    usertask: 50,
    mem: 200,
    dmn: 2_000,
};

const FULL: Sizes = Sizes {
    seq: 2_000,
    par: 50,
    loops: 3,
    usertask: 1_000,
    mem: 10_000,
    dmn: 100_000,
};

const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!(
            "usage: peers-bench WORKLOADS_DIR quick|full [WORKLOAD...]\n       peers-bench WORKLOADS_DIR mem-child N"
        );
        std::process::exit(64);
    }
    let dir = PathBuf::from(&args[1]);
    if args[2] == "mem-child" {
        let n = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10_000);
        let no_log = args.get(4).is_some_and(|s| s == "checkpoints");
        mem_child(&dir, n, no_log);
        return;
    }
    let sizes = match args[2].as_str() {
        "quick" => QUICK,
        "full" => FULL,
        other => {
            eprintln!("unknown size `{other}`: expected `quick` or `full`");
            std::process::exit(64);
        }
    };
    let only: Vec<&str> = args[3..].iter().map(String::as_str).collect();
    let wants = |w: &str| only.is_empty() || only.contains(&w);
    if wants("seq10") {
        seq10(&dir, sizes.seq);
    }
    if wants("parallel100") {
        parallel100(&dir, sizes.par);
    }
    if wants("loop1000") {
        loop1000(&dir, sizes.loops);
    }
    if wants("usertask-persist") {
        for kind in [StoreKind::Sled, StoreKind::Redb] {
            usertask_persist(&dir, kind, sizes.usertask);
        }
        fsync_rate(sizes.usertask);
    }
    if wants("dmn") {
        decision100(&dir, sizes.dmn, "UNIQUE");
        decision100(&dir, sizes.dmn, "FIRST");
    }
    if wants("mem") {
        mem_parent(&dir, sizes.mem);
    }
}

// ------------------------------------------------------------------ helpers

fn fail(msg: &str) -> ! {
    eprintln!("CHECK FAILED: {msg}");
    std::process::exit(2);
}

fn die(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| die(&format!("{}: {e}", dir.join(name).display())))
}

/// The Rhai variant of a scripted workload, and where it came from.
fn rhai_source(dir: &Path, stem: &str) -> (String, String) {
    let rhai = format!("{stem}.rhai.bpmn");
    if dir.join(&rhai).exists() {
        return (read(dir, &rhai), rhai);
    }
    let py = format!("{stem}.python.bpmn");
    let text = read(dir, &py).replace("scriptFormat=\"python\"", "scriptFormat=\"rhai\"");
    (
        text,
        format!("{py} rewritten in memory to Rhai (scriptFormat=rhai; bodies are valid Rhai)"),
    )
}

fn emit(workload: &str, figure: f64, unit: &str, runs: &[f64], extra: Value) {
    let digits = if unit == "ms/inst" { 3 } else { 1 };
    let round = |x: f64| {
        let p = 10f64.powi(digits);
        (x * p).round() / p
    };
    let mut obj = Map::new();
    obj.insert("workload".into(), json!(workload));
    obj.insert("engine".into(), json!(ENGINE));
    obj.insert("figure".into(), json!(round(figure)));
    obj.insert("unit".into(), json!(unit));
    obj.insert(
        "runs".into(),
        json!(runs.iter().map(|x| round(*x)).collect::<Vec<_>>()),
    );
    if let Value::Object(extra) = extra {
        obj.extend(extra);
    }
    println!("{}", Value::Object(obj));
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The in-memory engine of the throughput workloads: checkpoints in memory,
/// no event log kept (the peers keep no history either).
fn in_memory_engine() -> Engine {
    Engine::with_store(
        Box::new(MemoryStore::without_logs()),
        Arc::new(SystemClock),
        EngineOptions::default(),
    )
}

fn deploy(engine: &mut Engine, name: &str, source: &str) -> String {
    match engine.deploy(name, source) {
        Ok(keys) => keys[0].id.clone(),
        Err(e) => die(&format!("deploy {name}: {e}")),
    }
}

fn state(engine: &Engine, id: &str) -> InstanceState {
    match engine.instance(id) {
        Ok(Some(s)) => s,
        Ok(None) => fail(&format!("instance {id} is not in the store")),
        Err(e) => fail(&format!("instance {id}: {e}")),
    }
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Runs `warmup` untimed instances, then `RUNS` timed runs of `n`; `one`
/// runs one instance and returns its busy seconds (its own check is outside
/// that time). Returns the per-run figures.
fn timed(n: usize, warmup: usize, mut one: impl FnMut() -> f64, unit: &str) -> Vec<f64> {
    for _ in 0..warmup {
        one();
    }
    (0..RUNS)
        .map(|_| {
            let busy: f64 = (0..n).map(|_| one()).sum();
            if unit == "inst/s" {
                n as f64 / busy
            } else {
                busy / n as f64 * 1000.0
            }
        })
        .collect()
}

// ------------------------------------------------------------------ a. seq10

fn seq10(dir: &Path, n: usize) {
    let (source, file) = rhai_source(dir, "seq10");
    let runs = seq10_runs(&source, n, in_memory_engine());
    // The same with the store's event log kept in memory (`Engine::in_memory`).
    let with_log = median(&seq10_runs(&source, n, Engine::in_memory()));
    let fig = median(&runs);
    emit(
        "seq10",
        fig,
        "inst/s",
        &runs,
        json!({
            "n": n,
            "store": "memory (checkpoints, no event log)",
            "us_per_inst": (1e6 / fig * 100.0).round() / 100.0,
            "inst_s_with_event_log": with_log.round(),
            "counter_checked": 10,
            "script_file": file,
        }),
    );
}

fn seq10_runs(source: &str, n: usize, mut engine: Engine) -> Vec<f64> {
    let pid = deploy(&mut engine, "seq10.bpmn", source);
    let start = vars(json!({"counter": 0}));
    timed(
        n,
        200,
        || {
            let t0 = Instant::now();
            let id = engine
                .start(&pid, start.clone())
                .unwrap_or_else(|e| fail(&format!("seq10: {e}")));
            let busy = t0.elapsed().as_secs_f64();
            let s = state(&engine, &id);
            let counter = s.variables().get("counter").cloned();
            if s.status != Status::Completed || counter != Some(json!(10)) {
                fail(&format!(
                    "seq10: status {:?}, counter {counter:?}",
                    s.status
                ));
            }
            busy
        },
        "inst/s",
    )
}

// ------------------------------------------------------------------ b. parallel100

fn parallel100(dir: &Path, n: usize) {
    let source = read(dir, "parallel100.bpmn");
    let mut engine = in_memory_engine();
    let pid = deploy(&mut engine, "parallel100.bpmn", &source);
    let runs = timed(
        n,
        3,
        || {
            let t0 = Instant::now();
            let id = engine
                .start(&pid, Map::new())
                .unwrap_or_else(|e| fail(&format!("parallel100: {e}")));
            let busy = t0.elapsed().as_secs_f64();
            let s = state(&engine, &id);
            let p = engine.process_version(&s.process).expect("deployed");
            let done = visited(&s, p);
            let mut branches: Vec<&String> = done.iter().filter(|e| e.starts_with('b')).collect();
            let all = branches.len();
            branches.sort();
            branches.dedup();
            let ends = done.iter().filter(|e| *e == "end").count();
            if s.status != Status::Completed || branches.len() != 100 || all != 100 || ends != 1 {
                fail(&format!(
                    "parallel100: status {:?}, {} distinct branches of {all}, end reached {ends}×",
                    s.status,
                    branches.len()
                ));
            }
            busy
        },
        "inst/s",
    );
    let fig = median(&runs);
    emit(
        "parallel100",
        fig,
        "inst/s",
        &runs,
        json!({
            "n": n,
            "store": "memory (checkpoints, no event log)",
            "us_per_inst": (1e6 / fig * 100.0).round() / 100.0,
            "branches_checked": 100,
        }),
    );
}

// ------------------------------------------------------------------ c. loop1000

/// ms per instance of a loop of `iterations` (the 1,000 of the file replaced).
fn loop_runs(source: &str, iterations: u64, n: usize, warmup: usize) -> Vec<f64> {
    let source = source.replace("i &lt; 1000", &format!("i &lt; {iterations}"));
    let mut engine = in_memory_engine();
    let pid = deploy(&mut engine, "loop.bpmn", &source);
    let start = vars(json!({"i": 0}));
    timed(
        n,
        warmup,
        || {
            let t0 = Instant::now();
            let id = engine
                .start(&pid, start.clone())
                .unwrap_or_else(|e| fail(&format!("loop: {e}")));
            let busy = t0.elapsed().as_secs_f64();
            let s = state(&engine, &id);
            let p = engine.process_version(&s.process).expect("deployed");
            let end = visited(&s, p).iter().any(|e| e == "end");
            let i = s.variables().get("i").cloned();
            if s.status != Status::Completed || !end || i != Some(json!(iterations)) {
                fail(&format!(
                    "loop{iterations}: status {:?}, end reached {end}, i {i:?}",
                    s.status
                ));
            }
            busy
        },
        "ms/inst",
    )
}

fn loop1000(dir: &Path, n: usize) {
    let (source, file) = rhai_source(dir, "loop1000");
    if !source.contains("i &lt; 1000") {
        die("loop1000: expected the condition `i < 1000` in the file");
    }
    let runs = loop_runs(&source, 1000, n, 1);
    let fig = median(&runs);
    // The same loop at 100 and 10,000 iterations: µs per iteration must not grow.
    let per_iter = |iterations: u64, n: usize| {
        median(&loop_runs(&source, iterations, n, 1)) * 1000.0 / iterations as f64
    };
    let at_100 = per_iter(100, n * 10);
    let at_10000 = per_iter(10_000, n.div_ceil(3).max(1));
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    emit(
        "loop1000",
        fig,
        "ms/inst",
        &runs,
        json!({
            "n": n,
            "store": "memory (checkpoints, no event log)",
            "us_per_iteration": r3(fig),
            "us_per_iteration_at_100": r3(at_100),
            "us_per_iteration_at_10000": r3(at_10000),
            "script_file": file,
        }),
    );
}

// ------------------------------------------------------------------ d. usertask-persist

fn state_root() -> PathBuf {
    let base =
        std::env::var("BENCH_STATE_DIR").unwrap_or_else(|_| "/tmp/orchid-peers-state".into());
    PathBuf::from(base).join("orchid-bpmn")
}

fn open_engine(kind: StoreKind, path: &Path, durability: Durability) -> Engine {
    let store = engine::store::open(kind, path, durability)
        .unwrap_or_else(|e| die(&format!("open {kind} store at {}: {e}", path.display())));
    Engine::open(store, Arc::new(SystemClock), EngineOptions::default())
        .unwrap_or_else(|e| die(&format!("open engine on {kind}: {e}")))
}

/// Phase A (start + persist), the check, phase B (restore + complete) for
/// `count` instances in a fresh store. Returns (A inst/s, B inst/s, bytes of
/// checkpoint per instance).
fn usertask_round(
    source: &str,
    kind: StoreKind,
    count: usize,
    durability: Durability,
) -> (f64, f64, f64) {
    let root = state_root();
    let path = root.join(format!("{kind}"));
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    std::fs::create_dir_all(&root).unwrap_or_else(|e| die(&format!("{}: {e}", root.display())));
    let mut engine = open_engine(kind, &path, durability);
    let pid = deploy(&mut engine, "usertask-persist.bpmn", source);
    // Phase A, timed: start, run to the user task, commit through the store; one flush.
    let mut ids = Vec::with_capacity(count);
    let t0 = Instant::now();
    for _ in 0..count {
        match engine.start(&pid, Map::new()) {
            Ok(id) => ids.push(id),
            Err(e) => fail(&format!("usertask-persist: {e}")),
        }
    }
    if let Err(e) = engine.flush() {
        fail(&format!("usertask-persist flush: {e}"));
    }
    let ta = t0.elapsed().as_secs_f64();
    drop(engine);
    // Check, untimed, after reopening the store: every instance waits at `approve`.
    let mut engine = open_engine(kind, &path, durability);
    let mut bytes = 0usize;
    for id in &ids {
        let s = state(&engine, id);
        let p = engine.process_version(&s.process).expect("deployed");
        if s.status != Status::Active || waiting_at(&s, p) != ["approve"] {
            fail(&format!(
                "usertask-persist: instance {id} is not parked at `approve`"
            ));
        }
        bytes += engine::store::encode(&s).len();
    }
    // Phase B, timed: load, complete the user task, run to the end, commit; one flush.
    let mut done = 0usize;
    let t0 = Instant::now();
    for id in &ids {
        match engine.complete_task(id, "approve", Map::new()) {
            Ok(Status::Completed) => done += 1,
            Ok(_) => {}
            Err(e) => fail(&format!("usertask-persist: complete {id}: {e}")),
        }
    }
    if let Err(e) = engine.flush() {
        fail(&format!("usertask-persist flush: {e}"));
    }
    let tb = t0.elapsed().as_secs_f64();
    if done != count {
        fail(&format!(
            "usertask-persist: only {done}/{count} restored instances completed"
        ));
    }
    for id in &ids {
        let s = state(&engine, id);
        let p = engine.process_version(&s.process).expect("deployed");
        if s.status != Status::Completed || !visited(&s, p).iter().any(|e| e == "end") {
            fail(&format!(
                "usertask-persist: instance {id} did not reach `end`"
            ));
        }
    }
    drop(engine);
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    (
        count as f64 / ta,
        count as f64 / tb,
        bytes as f64 / count as f64,
    )
}

fn usertask_persist(dir: &Path, kind: StoreKind, n: usize) {
    let source = read(dir, "usertask-persist.bpmn");
    let store = kind.to_string();
    // Written through the store, one flush at the end of each phase.
    usertask_round(&source, kind, 100, Durability::Deferred);
    let rounds: Vec<_> = (0..RUNS)
        .map(|_| usertask_round(&source, kind, n, Durability::Deferred))
        .collect();
    let a: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    let b: Vec<f64> = rounds.iter().map(|r| r.1).collect();
    let size = median(&rounds.iter().map(|r| r.2).collect::<Vec<_>>()).round();
    emit(
        "usertask-persist start+persist",
        median(&a),
        "inst/s",
        &a,
        json!({"n": n, "store": store, "durability": "deferred, one flush at the end",
               "checkpoint_bytes_per_instance": size}),
    );
    emit(
        "usertask-persist restore+complete",
        median(&b),
        "inst/s",
        &b,
        json!({"n": n, "store": store, "completed_all": true,
               "note": "store reopened between the phases (untimed)"}),
    );
    // Every instance flushed to disk before the next one starts.
    let durable_n = n.min(500);
    usertask_round(&source, kind, 20, Durability::Immediate);
    let rounds: Vec<_> = (0..RUNS)
        .map(|_| usertask_round(&source, kind, durable_n, Durability::Immediate))
        .collect();
    let a: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    emit(
        "usertask-persist start+persist (durable each)",
        median(&a),
        "inst/s",
        &a,
        json!({"n": durable_n, "store": store, "durability": "immediate: flushed before the next instance starts"}),
    );
}

/// Syncs per second of a 4 KiB write + fdatasync on the state directory's disk.
fn fsync_rate(n: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let root = state_root();
    std::fs::create_dir_all(&root).unwrap_or_else(|e| die(&format!("{}: {e}", root.display())));
    let path = root.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap_or_else(|e| die(&format!("{e}")));
    let block = [0x5au8; 4096];
    let count = n.min(500);
    let mut one_run = |count: usize| {
        let t0 = Instant::now();
        for _ in 0..count {
            f.seek(SeekFrom::Start(0)).expect("seek");
            f.write_all(&block).expect("write");
            f.sync_data().expect("fdatasync");
        }
        count as f64 / t0.elapsed().as_secs_f64()
    };
    one_run(20);
    let runs: Vec<f64> = (0..RUNS).map(|_| one_run(count)).collect();
    drop(f);
    let _ = std::fs::remove_file(&path);
    emit(
        "fsync rate",
        median(&runs),
        "syncs/s",
        &runs,
        json!({"n": count, "what": "overwrite 4 KiB + fdatasync, one file in BENCH_STATE_DIR"}),
    );
}

// ------------------------------------------------------------------ e. decision100

/// The LCG of the README: `x ← (1103515245·x + 12345) mod 2^31` from 12345.
fn dmn_inputs(n: usize) -> Vec<(i64, String)> {
    let mut x: u64 = 12345;
    (0..n)
        .map(|_| {
            x = (1103515245 * x + 12345) & 0x7FFF_FFFF;
            ((x % 1000) as i64, format!("c{}", (x >> 10) % 10))
        })
        .collect()
}

fn decision100(dir: &Path, n: usize, policy: &str) {
    let mut xml = read(dir, "decision100.feel.dmn");
    if policy != "UNIQUE" {
        xml = xml.replace("hitPolicy=\"UNIQUE\"", &format!("hitPolicy=\"{policy}\""));
    }
    let model =
        dmn::DmnModel::compile(&xml).unwrap_or_else(|e| die(&format!("decision100.feel.dmn: {e}")));
    let warmup = 1000;
    let data = dmn_inputs(n.max(warmup));
    let one_run = |batch: &[(i64, String)]| {
        let mut results = Vec::with_capacity(batch.len());
        let t0 = Instant::now();
        for (amount, category) in batch {
            let mut ctx = dmn::Context::new();
            ctx.put("amount", dmn::Value::int(*amount));
            ctx.put("category", dmn::Value::String(category.clone()));
            let inputs = dmn::Inputs::from_context(ctx);
            results.push(model.evaluate("decision100", &inputs));
        }
        let dt = t0.elapsed().as_secs_f64();
        for ((amount, category), r) in batch.iter().zip(results) {
            let want = 10 * (amount / 100) + category[1..].parse::<i64>().unwrap_or(-1);
            match r {
                Ok(e) if e.value.feel_eq(&dmn::Value::int(want)) == Some(true) => {}
                Ok(e) => fail(&format!(
                    "dmn: {amount},{category} -> {} expected {want}",
                    e.value.to_json()
                )),
                Err(e) => fail(&format!("dmn: {amount},{category}: {e}")),
            }
        }
        batch.len() as f64 / dt
    };
    one_run(&data[..warmup]);
    let runs: Vec<f64> = (0..RUNS).map(|_| one_run(&data[..n])).collect();
    let label = if policy == "UNIQUE" {
        "dmn decision100".to_string()
    } else {
        format!("dmn decision100 ({policy})")
    };
    emit(
        &label,
        median(&runs),
        "eval/s",
        &runs,
        json!({"n": n, "hit_policy": policy, "how": "DmnModel compiled once; Context built and evaluate() per evaluation"}),
    );
}

// ------------------------------------------------------------------ memory per parked instance

fn mem_parent(dir: &Path, n: usize) {
    let exe = std::env::current_exe().unwrap_or_else(|e| die(&format!("{e}")));
    for mode in ["log", "checkpoints"] {
        let out = std::process::Command::new(&exe)
            .arg(dir)
            .arg("mem-child")
            .arg(n.to_string())
            .arg(mode)
            .output()
            .unwrap_or_else(|e| die(&format!("mem-child: {e}")));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            std::process::exit(out.status.code().unwrap_or(1));
        }
    }
}

/// Resident set size in bytes (`VmRSS` of /proc/self/status, as the peers read it).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

fn mem_child(dir: &Path, n: usize, checkpoints_only: bool) {
    let source = read(dir, "usertask-persist.bpmn");
    let store: Box<dyn Store> = if checkpoints_only {
        Box::new(MemoryStore::without_logs())
    } else {
        Box::new(MemoryStore::new())
    };
    let mut engine = Engine::with_store(store, Arc::new(SystemClock), EngineOptions::default());
    let pid = deploy(&mut engine, "usertask-persist.bpmn", &source);
    for _ in 0..100 {
        engine
            .start(&pid, Map::new())
            .unwrap_or_else(|e| fail(&format!("{e}")));
    }
    let before = rss_bytes();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(
            engine
                .start(&pid, Map::new())
                .unwrap_or_else(|e| fail(&format!("{e}"))),
        );
    }
    let after = rss_bytes();
    let mut parked = 0;
    for id in &ids {
        let s = state(&engine, id);
        let p = engine.process_version(&s.process).expect("deployed");
        if s.status == Status::Active && waiting_at(&s, p) == ["approve"] {
            parked += 1;
        }
    }
    if parked != n {
        fail(&format!("mem-parked: {parked}/{n} parked"));
    }
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    emit(
        "mem per parked user-task instance",
        per.round(),
        "bytes",
        &[],
        json!({
            "n": n,
            "store": if checkpoints_only { "memory (checkpoints only)" } else { "memory (checkpoints + event logs)" },
            "rss_before_kib": before / 1024,
            "rss_after_kib": after / 1024,
            "note": "fresh child process; RSS delta / N (VmRSS)",
        }),
    );
}
