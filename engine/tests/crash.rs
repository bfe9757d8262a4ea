//! The crash test (issue 4): a workload runs in a child process
//! (`orchid-crash-worker`, `src/bin/orchid-crash-worker.rs`) on a durable
//! store with Immediate durability; it is killed with SIGKILL at a random
//! moment, the store is reopened here and checked, and the round repeats on
//! the same store. Checked after every kill:
//!
//! - every command the worker acknowledged is in the store (its instance
//!   exists; a completed task is in the instance's completed list and no
//!   token waits at it any more);
//! - no instance number was handed out twice, across all rounds;
//! - no token was lost or duplicated: per instance, each user task has a
//!   token waiting or has completed — exactly one of the two, once; the
//!   join has one arrival per completed task and never two on one flow;
//!   a completed instance went through each task and the end exactly once
//!   and holds no tokens or join arrivals;
//! - the checkpoint equals the replay of the instance's event log (events
//!   and checkpoint were written by one atomic batch);
//! - every instance can finish: every few rounds (and after the last) the
//!   test completes every waiting task itself and checks that each instance
//!   reaches `completed`; in the other rounds the next worker picks the
//!   waiting tasks up.
//!
//! The workload that crosses instances (`orchid-crash-worker … cross`:
//! call activities, a parallel multi-instance call activity, a message and
//! a signal one instance throws for others) is checked after every kill
//! for: every acknowledged start and completion there; every child started
//! exactly once and known to its parent (waited for while active, reported
//! once completed); one receipt (message start) and one tally (signal
//! start) per completed order, each receipt having caught its signal; and
//! every order completes once the test completes every item.
//!
//! 20 rounds per store by default; `ORCHID_CRASH_ROUNDS=N` runs more,
//! `ORCHID_CRASH_SEED=N` changes the kill delays. Unix only (SIGKILL).
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::core::{InstanceState, Status, TokenState};
use engine::store::{self, Durability, StoreKind};
use engine::{Engine, EngineOptions, SystemClock};
use serde_json::{Map, json};

const WORKER: &str = env!("CARGO_BIN_EXE_orchid-crash-worker");
const TASKS: [&str; 2] = ["taskA", "taskB"];

/// splitmix64: a small deterministic generator for the kill delays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fresh_path(kind: StoreKind) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crash");
    std::fs::create_dir_all(&dir).expect("create the test directory");
    let path = dir.join(format!("{kind}-{}", std::process::id()));
    // A store left by an earlier run with the same pid.
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    // A redb store's write-ahead log lives next to its file.
    let _ = std::fs::remove_file(store::redb::wal_path(&path));
    path
}

/// What the worker acknowledged in one round.
#[derive(Default)]
struct Acks {
    ready: bool,
    starts: Vec<u64>,
    published: Vec<u64>,
    completes: Vec<(String, String)>,
    done: bool,
}

fn parse(output: &str) -> Acks {
    let mut acks = Acks::default();
    // Only whole lines count: the kill may cut the last one.
    let whole = match output.rfind('\n') {
        Some(i) => &output[..=i],
        None => "",
    };
    for line in whole.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["ready", _] => acks.ready = true,
            ["ack", "start", id] => acks
                .starts
                .push(id.parse().expect("the worker prints numeric ids")),
            // The timer and message workload: a message published.
            ["ack", "publish", n] => acks
                .published
                .push(n.parse().expect("the worker prints message numbers")),
            ["ack", "complete", id, task] => {
                acks.completes.push((id.to_string(), task.to_string()));
            }
            // The cross-instance workload: an item's `work`.
            ["ack", "complete", id] => {
                acks.completes.push((id.to_string(), "work".to_string()));
            }
            ["done"] => acks.done = true,
            _ => panic!("unexpected worker output line {line:?}"),
        }
    }
    acks
}

fn open_engine(kind: StoreKind, path: &Path) -> Engine {
    let store = store::open(kind, path, Durability::Immediate)
        .unwrap_or_else(|e| panic!("{kind}: reopening after the kill: {e}"));
    Engine::open(store, Arc::new(SystemClock), EngineOptions::default())
        .unwrap_or_else(|e| panic!("{kind}: engine on the reopened store: {e}"))
}

/// Element id → how many times it appears in the completed list.
fn completions(s: &InstanceState, engine: &Engine) -> BTreeMap<String, usize> {
    let p = engine.process_version(&s.process).expect("deployed");
    let mut out = BTreeMap::new();
    for e in &s.completed {
        *out.entry(p.element(*e).id.clone()).or_insert(0) += 1;
    }
    out
}

/// The token and join invariants of the fork/join process.
fn check_instance(kind: StoreKind, engine: &mut Engine, s: &InstanceState) {
    let id = &s.id;
    let p = engine
        .process_version(&s.process)
        .expect("deployed")
        .clone();
    let done = completions(s, engine);
    let mut waiting: BTreeMap<String, usize> = BTreeMap::new();
    for t in s.tokens.values() {
        assert_eq!(
            t.state,
            TokenState::Waiting,
            "{kind}: instance {id}: a token outside a user task survived a command: {t:?}"
        );
        *waiting.entry(p.element(t.element).id.clone()).or_insert(0) += 1;
    }
    for (element, n) in &waiting {
        assert!(
            TASKS.contains(&element.as_str()),
            "{kind}: instance {id}: a token waits at `{element}`"
        );
        assert_eq!(*n, 1, "{kind}: instance {id}: {n} tokens at `{element}`");
    }
    for j in &s.joins {
        let flows: BTreeSet<_> = j.arrived.iter().collect();
        assert_eq!(
            flows.len(),
            j.arrived.len(),
            "{kind}: instance {id}: two arrivals on one flow at the join: {j:?}"
        );
        assert!(
            j.arrived.len() < 2,
            "{kind}: instance {id}: the join holds both arrivals without firing: {j:?}"
        );
    }
    let arrivals: usize = s.joins.iter().map(|j| j.arrived.len()).sum();
    match s.status {
        Status::Active => {
            let mut finished = 0;
            for task in TASKS {
                let w = waiting.get(task).copied().unwrap_or(0);
                let c = done.get(task).copied().unwrap_or(0);
                assert_eq!(
                    w + c,
                    1,
                    "{kind}: instance {id}: `{task}` waits {w} times and completed {c} times"
                );
                finished += c;
            }
            assert_eq!(
                arrivals, finished,
                "{kind}: instance {id}: {arrivals} join arrivals for {finished} completed tasks"
            );
        }
        Status::Completed => {
            for element in ["start", "fork", "taskA", "taskB", "join", "end"] {
                assert_eq!(
                    done.get(element).copied().unwrap_or(0),
                    1,
                    "{kind}: completed instance {id}: `{element}` completed {:?} times",
                    done.get(element)
                );
            }
            assert!(s.tokens.is_empty(), "{kind}: instance {id}: tokens left");
            assert_eq!(arrivals, 0, "{kind}: instance {id}: join arrivals left");
        }
        Status::Cancelled => panic!("{kind}: instance {id} was cancelled by nobody"),
    }
    assert_eq!(
        s.variables().get("note"),
        Some(&json!("started")),
        "{kind}: instance {id}: start variables lost"
    );
    let events = engine.store_mut().events(id).expect("event log reads");
    let replayed = InstanceState::replay(&events)
        .unwrap_or_else(|| panic!("{kind}: instance {id}: the event log does not start it"));
    assert_eq!(
        &replayed, s,
        "{kind}: instance {id}: the checkpoint is not the replay of its event log"
    );
}

#[derive(Default)]
struct Stats {
    rounds: u64,
    killed_before_ready: u64,
    acks: u64,
    unacked_starts_found: u64,
    finished_by_test: u64,
    max_check: Duration,
}

/// The tests here run one after the other: a child forked by one test
/// while the other has its store open would hold a copy of that store's file
/// descriptor (and so its lock) until the child execs the worker.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn crash_test(kind: StoreKind, workload: &[&str]) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rounds = env_u64("ORCHID_CRASH_ROUNDS", 20);
    let seed = env_u64("ORCHID_CRASH_SEED", 4) ^ (kind as u64 + 1);
    let mut rng = Rng(seed);
    let path = fresh_path(kind);
    let mut started: BTreeSet<u64> = BTreeSet::new();
    let mut finished: BTreeMap<String, InstanceState> = BTreeMap::new();
    let mut stats = Stats::default();
    let began = Instant::now();

    for round in 0..rounds {
        let mut args = vec!["1000000"];
        args.extend_from_slice(workload);
        let acks = kill_round(kind, &path, &mut rng, &args);
        stats.rounds += 1;
        stats.killed_before_ready += u64::from(!acks.ready);
        stats.acks += (acks.starts.len() + acks.completes.len()) as u64;

        let t = Instant::now();
        let mut engine = open_engine(kind, &path);
        let instances = engine.instances().expect("instances read");
        let by_id: BTreeMap<&str, &InstanceState> =
            instances.iter().map(|s| (s.id.as_str(), s)).collect();
        for n in &acks.starts {
            assert!(
                started.insert(*n),
                "{kind} round {round}: instance number {n} handed out twice"
            );
            assert!(
                by_id.contains_key(n.to_string().as_str()),
                "{kind} round {round}: acknowledged start of {n} lost"
            );
        }
        for (id, task) in &acks.completes {
            let s = by_id
                .get(id.as_str())
                .unwrap_or_else(|| panic!("{kind}: instance {id} lost"));
            let done = completions(s, &engine);
            assert_eq!(
                done.get(task.as_str()).copied(),
                Some(1),
                "{kind} round {round}: acknowledged completion of {task} in {id} lost"
            );
        }
        for s in &instances {
            let n: u64 = s.id.parse().expect("numeric instance ids");
            // Started by a command whose acknowledgement the kill cut off.
            if started.insert(n) {
                stats.unacked_starts_found += 1;
            }
            // A finished instance was checked in full when it finished; it
            // must not change any more.
            if let Some(before) = finished.get(&s.id) {
                assert_eq!(before, s, "{kind}: finished instance {} changed", s.id);
                continue;
            }
            check_instance(kind, &mut engine, s);
            if s.status == Status::Completed {
                finished.insert(s.id.clone(), s.clone());
            }
        }
        stats.max_check = stats.max_check.max(t.elapsed());

        // Every few rounds, and at the end, finish everything here.
        if round % 3 == 2 || round + 1 == rounds {
            for s in &instances {
                if s.status != Status::Active {
                    continue;
                }
                let p = engine
                    .process_version(&s.process)
                    .expect("deployed")
                    .clone();
                let mut last = Status::Active;
                for task in engine::runtime::waiting_at(s, &p) {
                    last = engine
                        .complete_task(&s.id, &task, Map::new())
                        .unwrap_or_else(|e| panic!("{kind}: instance {}: {task}: {e}", s.id));
                }
                assert_eq!(last, Status::Completed, "{kind}: instance {}", s.id);
                let after = engine.instance(&s.id).expect("reads").expect("exists");
                check_instance(kind, &mut engine, &after);
                finished.insert(after.id.clone(), after);
                stats.finished_by_test += 1;
            }
        }
        drop(engine);
    }

    // After the last round everything is finished and stays so on reopen.
    let engine = open_engine(kind, &path);
    let instances = engine.instances().expect("instances read");
    assert_eq!(instances.len(), started.len(), "{kind}: instance count");
    assert!(
        instances.iter().all(|s| s.status == Status::Completed),
        "{kind}: an instance did not finish"
    );
    drop(engine);
    eprintln!(
        "crash test {kind}: seed {seed}, {} rounds ({} killed before the store was open), \
         {} acknowledged commands, {} instances ({} durable starts whose ack was cut off), \
         {} finished by the test, slowest reopen+check {:?}, total {:?}",
        stats.rounds,
        stats.killed_before_ready,
        stats.acks,
        instances.len(),
        stats.unacked_starts_found,
        stats.finished_by_test,
        stats.max_check,
        began.elapsed(),
    );
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    // A redb store's write-ahead log lives next to its file.
    let _ = std::fs::remove_file(store::redb::wal_path(&path));
}

/// Kills the worker once, at a random moment; returns its acknowledgements.
fn kill_round(kind: StoreKind, path: &Path, rng: &mut Rng, workload: &[&str]) -> Acks {
    let mut child = Command::new(WORKER)
        .arg(kind.to_string())
        .arg(path)
        .args(workload)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker starts");
    let stdout = child.stdout.take().expect("piped");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let mut r = BufReader::new(stdout);
        // Until the pipe closes, when the worker dies; a cut-off last line
        // is kept as it is (and `parse` ignores it).
        loop {
            let before = out.len();
            match r.read_line(&mut out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if out[before..].starts_with("ready ") {
                        let _ = ready_tx.send(());
                    }
                }
            }
        }
        out
    });
    // A quarter of the kills land while the worker opens (and recovers)
    // the store; the rest while it runs commands.
    if rng.below(4) == 0 {
        std::thread::sleep(Duration::from_millis(rng.below(40)));
    } else {
        let _ = ready_rx.recv_timeout(Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(rng.below(200)));
    }
    child.kill().expect("SIGKILL the worker");
    let status = child.wait().expect("the worker is reaped");
    let output = reader.join().expect("reader thread");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    assert_eq!(
        status.signal(),
        Some(9),
        "{kind}: the worker ended before the kill ({status}); stderr:\n{stderr}"
    );
    let acks = parse(&output);
    assert!(!acks.done, "{kind}: the worker finished its whole workload");
    acks
}

/// Per process id, the instances.
fn by_process(instances: &[InstanceState]) -> BTreeMap<&str, Vec<&InstanceState>> {
    let mut out: BTreeMap<&str, Vec<&InstanceState>> = BTreeMap::new();
    for s in instances {
        out.entry(s.process.id.as_str()).or_default().push(s);
    }
    out
}

/// The invariants of the cross-instance workload once the engine is open
/// (and so has delivered what the crash left in the outbox).
fn check_cross(
    kind: StoreKind,
    engine: &mut Engine,
    instances: &[InstanceState],
    finished: &mut BTreeMap<String, InstanceState>,
) {
    let by_id: BTreeMap<&str, &InstanceState> =
        instances.iter().map(|s| (s.id.as_str(), s)).collect();
    let groups = by_process(instances);
    let none = Vec::new();
    let orders = groups.get("order").unwrap_or(&none);
    let items = groups.get("item").unwrap_or(&none);
    let receipts = groups.get("receipt").unwrap_or(&none);
    let tallies = groups.get("tally").unwrap_or(&none);
    // Each item was started by its parent's call, once.
    let mut children: BTreeMap<&str, Vec<&InstanceState>> = BTreeMap::new();
    for item in items {
        let link = item
            .parent
            .as_ref()
            .unwrap_or_else(|| panic!("{kind}: item {} has no parent", item.id));
        let parent = by_id
            .get(link.instance.as_str())
            .unwrap_or_else(|| panic!("{kind}: item {}: parent {} lost", item.id, link.instance));
        let waited_for = parent.calls.get(&link.token) == Some(&item.id);
        match item.status {
            // The parent waits for an active child...
            Status::Active => assert!(
                waited_for,
                "{kind}: active item {} is not what its parent waits for",
                item.id
            ),
            // ... and has heard of a completed one.
            Status::Completed => assert!(
                !waited_for,
                "{kind}: item {} completed but its parent {} still waits for it",
                item.id, parent.id
            ),
            Status::Cancelled => panic!("{kind}: item {} was cancelled by nobody", item.id),
        }
        children
            .entry(link.instance.as_str())
            .or_default()
            .push(item);
    }
    let mut completed_orders = 0;
    for order in orders {
        let kids = children.get(order.id.as_str()).map_or(&[][..], |v| v);
        // Every call the order waits at has its child.
        for child in order.calls.values() {
            assert!(
                by_id.contains_key(child.as_str()),
                "{kind}: order {}: child {child} was never started",
                order.id
            );
        }
        match order.status {
            Status::Completed => {
                completed_orders += 1;
                assert_eq!(
                    kids.len(),
                    4,
                    "{kind}: completed order {} had {} children",
                    order.id,
                    kids.len()
                );
                assert!(order.calls.is_empty() && order.tokens.is_empty());
            }
            Status::Active => assert!(
                kids.len() <= 4 && !order.calls.is_empty(),
                "{kind}: active order {}: {} children, waiting for {:?}",
                order.id,
                kids.len(),
                order.calls
            ),
            Status::Cancelled => panic!("{kind}: order {} was cancelled by nobody", order.id),
        }
    }
    // Each completed order threw `Done` once and `Tick` once.
    assert_eq!(
        receipts.len(),
        completed_orders,
        "{kind}: {} receipts for {completed_orders} completed orders (message lost or doubled)",
        receipts.len()
    );
    assert!(
        receipts.iter().all(|r| r.status == Status::Completed),
        "{kind}: a receipt still waits for its signal"
    );
    assert_eq!(
        tallies.len(),
        completed_orders,
        "{kind}: {} tallies for {completed_orders} completed orders (signal lost or doubled)",
        tallies.len()
    );
    for s in instances {
        // An ended instance was checked in full when it ended; it must not
        // change any more.
        if let Some(before) = finished.get(&s.id) {
            assert_eq!(before, s, "{kind}: ended instance {} changed", s.id);
            continue;
        }
        let events = engine.store_mut().events(&s.id).expect("event log reads");
        let replayed = InstanceState::replay(&events).unwrap_or_else(|| {
            panic!("{kind}: instance {}: the event log does not start it", s.id)
        });
        assert_eq!(
            &replayed, s,
            "{kind}: instance {}: the checkpoint is not the replay of its event log",
            s.id
        );
        if s.status != Status::Active {
            finished.insert(s.id.clone(), s.clone());
        }
    }
}

/// The crash test of the workload that crosses instances (call
/// activities, a parallel multi-instance call activity, a message and a
/// signal thrown by one instance for others): after every kill, every
/// acknowledged command is there, every child was started exactly once,
/// every message and signal delivered exactly once; every few rounds the
/// test completes every item and every order must complete.
fn cross_test(kind: StoreKind) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rounds = env_u64("ORCHID_CRASH_ROUNDS", 20);
    let seed = env_u64("ORCHID_CRASH_SEED", 4) ^ (kind as u64 + 17);
    let mut rng = Rng(seed);
    let path = fresh_path(kind);
    let began = Instant::now();
    let mut acked = 0;
    let mut finished = BTreeMap::new();
    for round in 0..rounds {
        let acks = kill_round(kind, &path, &mut rng, &["1000000", "cross"]);
        acked += acks.starts.len() + acks.completes.len();
        let mut engine = open_engine(kind, &path);
        let instances = engine.instances().expect("instances read");
        let by_id: BTreeMap<&str, &InstanceState> =
            instances.iter().map(|s| (s.id.as_str(), s)).collect();
        for n in &acks.starts {
            assert!(
                by_id.contains_key(n.to_string().as_str()),
                "{kind} round {round}: acknowledged start of order {n} lost"
            );
        }
        for (id, _) in &acks.completes {
            assert_eq!(
                by_id.get(id.as_str()).map(|s| s.status),
                Some(Status::Completed),
                "{kind} round {round}: acknowledged completion of item {id} lost"
            );
        }
        check_cross(kind, &mut engine, &instances, &mut finished);
        if round % 3 == 2 || round + 1 == rounds {
            // Complete every item until no item waits; every order ends.
            loop {
                let waiting: Vec<String> = engine
                    .instances()
                    .expect("instances read")
                    .into_iter()
                    .filter(|s| s.process.id == "item" && s.status == Status::Active)
                    .map(|s| s.id)
                    .collect();
                if waiting.is_empty() {
                    break;
                }
                for item in waiting {
                    engine
                        .complete_task(&item, "work", Map::new())
                        .unwrap_or_else(|e| panic!("{kind}: item {item}: {e}"));
                }
            }
            let instances = engine.instances().expect("instances read");
            check_cross(kind, &mut engine, &instances, &mut finished);
            assert!(
                instances.iter().all(|s| s.status == Status::Completed),
                "{kind} round {round}: an instance did not finish"
            );
        }
        drop(engine);
    }
    let engine = open_engine(kind, &path);
    let instances = engine.instances().expect("instances read");
    let groups = by_process(&instances);
    eprintln!(
        "crash test {kind} (across instances): seed {seed}, {rounds} rounds, {acked} acknowledged \
         commands, {} orders, {} items, {} receipts, {} tallies, total {:?}",
        groups.get("order").map_or(0, Vec::len),
        groups.get("item").map_or(0, Vec::len),
        groups.get("receipt").map_or(0, Vec::len),
        groups.get("tally").map_or(0, Vec::len),
        began.elapsed(),
    );
    drop(engine);
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(store::redb::wal_path(&path));
}

/// The crash test of timer start events and buffered messages: after every
/// kill, the ticker started exactly as many instances as its timer says it
/// fired (an occurrence never starts two), and every message the worker
/// acknowledged is either still buffered or taken by exactly one waiter —
/// never lost, never taken twice.
fn timers_test(kind: StoreKind) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rounds = env_u64("ORCHID_CRASH_ROUNDS", 20);
    let seed = env_u64("ORCHID_CRASH_SEED", 4) ^ (kind as u64 + 33);
    let mut rng = Rng(seed);
    let path = fresh_path(kind);
    let began = Instant::now();
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    let mut stats = (0usize, 0usize, 0usize);
    for round in 0..rounds {
        let acks = kill_round(kind, &path, &mut rng, &["1000000", "timers"]);
        acked.extend(acks.published);
        let engine = open_engine(kind, &path);
        let instances = engine.instances().expect("instances read");
        let ticks = instances
            .iter()
            .filter(|s| s.process.id == "ticker")
            .count();
        let fired: u32 = engine.start_timers().iter().map(|t| t.fired).sum();
        assert_eq!(
            ticks, fired as usize,
            "{kind} round {round}: {ticks} ticker instances for {fired} firings"
        );
        let mut taken: BTreeMap<u64, String> = BTreeMap::new();
        for s in instances.iter().filter(|s| s.process.id == "waiter") {
            if s.status != Status::Completed {
                continue;
            }
            let n = s.variables()["n"].as_u64().expect("a message number");
            if let Some(other) = taken.insert(n, s.id.clone()) {
                panic!(
                    "{kind} round {round}: message {n} taken by {other} and {}",
                    s.id
                );
            }
        }
        let buffered: BTreeSet<u64> = engine
            .buffered_messages()
            .expect("reads")
            .iter()
            .filter_map(|m| m.variables.get("n").and_then(serde_json::Value::as_u64))
            .collect();
        for n in &acked {
            let held = buffered.contains(n);
            let took = taken.contains_key(n);
            assert!(
                held != took,
                "{kind} round {round}: acknowledged message {n}: buffered {held}, taken {took}"
            );
        }
        stats = (ticks, taken.len(), buffered.len());
        drop(engine);
    }
    eprintln!(
        "crash test {kind} (timer start events, buffered messages): seed {seed}, {rounds} rounds, \
         {} acknowledged messages, {} ticker instances, {} messages taken, {} buffered, total {:?}",
        acked.len(),
        stats.0,
        stats.1,
        stats.2,
        began.elapsed()
    );
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(store::redb::wal_path(&path));
}

#[test]
fn sled_timer_starts_and_buffered_messages_survive_sigkill() {
    timers_test(StoreKind::Sled);
}

#[test]
fn redb_timer_starts_and_buffered_messages_survive_sigkill() {
    timers_test(StoreKind::Redb);
}

#[test]
fn sled_survives_sigkill_across_instances() {
    cross_test(StoreKind::Sled);
}

#[test]
fn redb_survives_sigkill_across_instances() {
    cross_test(StoreKind::Redb);
}

#[test]
fn sled_survives_sigkill() {
    crash_test(StoreKind::Sled, &[]);
}

#[test]
fn redb_survives_sigkill() {
    crash_test(StoreKind::Redb, &[]);
}

/// Group commit: a command acknowledged after the flush that followed it.
#[test]
fn sled_grouped_survives_sigkill() {
    crash_test(StoreKind::Sled, &["grouped"]);
}

#[test]
fn redb_grouped_survives_sigkill() {
    crash_test(StoreKind::Redb, &["grouped"]);
}

/// The worker's own output format, on a cut-off last line.
#[test]
fn cut_lines_are_not_acknowledgements() {
    // It spawns a worker too (see `SERIAL`).
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let acks = parse("ready 0\nack start 1\nack complete 1 taskA\nack sta");
    assert!(acks.ready);
    assert_eq!(acks.starts, vec![1]);
    assert_eq!(acks.completes, vec![("1".to_string(), "taskA".to_string())]);
    let mut child = Command::new(WORKER)
        .args(["nosuch", "x", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker starts");
    let status = child.wait().expect("exits");
    let mut err = String::new();
    BufReader::new(child.stderr.take().expect("piped"))
        .lines()
        .map_while(Result::ok)
        .for_each(|l| err.push_str(&l));
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("expected `sled` or `redb`"), "{err}");
}
