//! Restart cost (issue 12's benchmark): generates a store holding COMPLETED
//! instances that ran to their end and WAITING instances parked at a user
//! task (written with `Durability::Deferred`, so quickly), closes it, then
//! opens it again and answers a first command (completing one waiting
//! task), and prints how long that took and how much resident memory it
//! added. Run it with WAITING fixed and COMPLETED growing: restart cost
//! that does not grow with COMPLETED is restart cost independent of
//! history.
//!
//! `cargo run --release -p engine --example restart -- sled|redb DIR COMPLETED WAITING`
//! (with `ORCHID_RESTART_KEEP=1` the store is kept), then
//! `… --example restart -- sled|redb open PATH` opens a kept store in a
//! fresh process and prints its resident memory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use engine::builder::ProcessBuilder;
use engine::store::{self, Durability, StoreKind};
use engine::{Engine, EngineOptions, SystemClock};
use serde_json::Map;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    if p.is_file() {
        return p.metadata().map(|m| m.len()).unwrap_or(0);
    }
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| dir_bytes(&e.path())).sum())
        .unwrap_or(0)
}

/// `restart KIND open PATH`: opens a kept store in this fresh process,
/// answers a first command (starts an instance and completes its task),
/// and prints the time and the process's resident memory.
fn open_only(kind: StoreKind, path: &std::path::Path) {
    let t = Instant::now();
    let s = store::open(kind, path, Durability::Immediate).expect("store");
    let mut e = Engine::open(s, Arc::new(SystemClock), EngineOptions::default()).expect("engine");
    let opened = t.elapsed();
    let id = e.start("approval", Map::new()).expect("starts");
    e.complete_task(&id, "approve", Map::new())
        .expect("completes");
    let answered = t.elapsed();
    println!(
        "{kind}: opened {} ({:.0} MB) in {:.3} s, first commands answered at {:.3} s, {} MB resident",
        path.display(),
        dir_bytes(path) as f64 / 1e6,
        opened.as_secs_f64(),
        answered.as_secs_f64(),
        rss_kib() / 1024
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [kind, open, path] = args.as_slice()
        && open == "open"
    {
        open_only(
            kind.parse().expect("sled or redb"),
            std::path::Path::new(path),
        );
        return;
    }
    let [kind, dir, completed, waiting] = args.as_slice() else {
        eprintln!("usage: restart sled|redb DIR COMPLETED WAITING | restart sled|redb open PATH");
        std::process::exit(2);
    };
    let kind: StoreKind = kind.parse().expect("sled or redb");
    let completed: usize = completed.parse().expect("COMPLETED is a number");
    let waiting: usize = waiting.parse().expect("WAITING is a number");
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("directory");
    let path = dir.join(format!("restart-{kind}-{completed}-{waiting}"));
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(store::redb::wal_path(&path));

    let xml = bpmn_models::write(
        &ProcessBuilder::new("approval")
            .start("start")
            .user_task("approve")
            .end("end")
            .flow("start", "approve")
            .flow("approve", "end")
            .build(),
    );
    let t = Instant::now();
    let mut first_waiting = None;
    {
        let s = store::open(kind, &path, Durability::Deferred).expect("store");
        let mut e =
            Engine::open(s, Arc::new(SystemClock), EngineOptions::default()).expect("engine");
        e.deploy("approval.bpmn", &xml).expect("deploys");
        for _ in 0..completed {
            let id = e.start("approval", Map::new()).expect("starts");
            e.complete_task(&id, "approve", Map::new())
                .expect("completes");
        }
        for _ in 0..waiting {
            let id = e.start("approval", Map::new()).expect("starts");
            first_waiting.get_or_insert(id);
        }
        e.flush().expect("flushes");
    }
    let generated = t.elapsed();

    let before = rss_kib();
    let t = Instant::now();
    let s = store::open(kind, &path, Durability::Immediate).expect("store");
    let mut e = Engine::open(s, Arc::new(SystemClock), EngineOptions::default()).expect("engine");
    let opened = t.elapsed();
    if let Some(id) = &first_waiting {
        e.complete_task(id, "approve", Map::new())
            .expect("completes");
    }
    let answered = t.elapsed();
    let after = rss_kib();
    println!(
        "{kind}: {completed} completed + {waiting} waiting, store {:.0} MB, generated in {:.1} s; \
         open {:.3} s, open + first command {:.3} s, +{} MB resident",
        dir_bytes(&path) as f64 / 1e6,
        generated.as_secs_f64(),
        opened.as_secs_f64(),
        answered.as_secs_f64(),
        after.saturating_sub(before) / 1024
    );
    drop(e);
    if std::env::var_os("ORCHID_RESTART_KEEP").is_some() {
        println!("kept {}", path.display());
        return;
    }
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(store::redb::wal_path(&path));
}
