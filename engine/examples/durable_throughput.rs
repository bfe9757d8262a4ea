//! Durable throughput with many callers (issue 12's benchmark): CALLERS
//! threads share one `EngineHandle` on a fresh store opened with
//! `Durability::Grouped` (the handle flushes after each group, so every
//! answered call is durable); each caller starts ROUNDS instances that wait
//! at a user task and completes each. Prints the fsync rate of the
//! directory (4 KiB overwrite + `fdatasync`, the bound of one sync per
//! command), the commands per second, the groups (store flushes) and
//! commands per group, and the same workload on the plain `Engine` with
//! `Durability::Immediate` (one caller, one sync per command).
//!
//! `cargo run --release -p engine --example durable_throughput -- sled|redb DIR CALLERS ROUNDS`

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use engine::builder::ProcessBuilder;
use engine::store::{self, Durability, StoreKind};
use engine::{Engine, EngineHandle, EngineOptions, SystemClock};
use serde_json::Map;

fn approval() -> String {
    bpmn_models::write(
        &ProcessBuilder::new("approval")
            .start("start")
            .user_task("approve")
            .end("end")
            .flow("start", "approve")
            .flow("approve", "end")
            .build(),
    )
}

fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(store::redb::wal_path(&path));
    path
}

fn engine(kind: StoreKind, path: &Path, durability: Durability) -> Engine {
    let store = store::open(kind, path, durability).expect("store opens");
    let mut e =
        Engine::open(store, Arc::new(SystemClock), EngineOptions::default()).expect("engine opens");
    e.deploy("approval.bpmn", &approval()).expect("deploys");
    e.flush().expect("flushes");
    e
}

fn fsync_rate(dir: &Path) -> f64 {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).expect("probe file");
    let block = [0x5au8; 4096];
    let t = Instant::now();
    let n = 1_000;
    for _ in 0..n {
        f.seek(SeekFrom::Start(0)).expect("seek");
        f.write_all(&block).expect("write");
        f.sync_data().expect("fdatasync");
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, dir, callers, rounds] = args.as_slice() else {
        eprintln!("usage: durable_throughput sled|redb DIR CALLERS ROUNDS");
        std::process::exit(2);
    };
    let kind: StoreKind = kind.parse().expect("sled or redb");
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("directory");
    let callers: usize = callers.parse().expect("CALLERS is a number");
    let rounds: usize = rounds.parse().expect("ROUNDS is a number");

    let fsyncs = fsync_rate(&dir);

    let path = fresh(&dir, &format!("handle-{kind}"));
    let handle = EngineHandle::spawn(engine(kind, &path, Durability::Grouped)).expect("spawns");
    let t = Instant::now();
    let threads: Vec<_> = (0..callers)
        .map(|_| {
            let h = handle.clone();
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    let id = h.start("approval", Map::new()).expect("starts");
                    h.complete_task(&id, "approve", Map::new())
                        .expect("completes");
                }
            })
        })
        .collect();
    for th in threads {
        th.join().expect("caller ends");
    }
    let secs = t.elapsed().as_secs_f64();
    let stats = handle.group_stats();
    drop(handle);
    let commands = (callers * rounds * 2) as f64;
    let rate = commands / secs;

    let path1 = fresh(&dir, &format!("plain-{kind}"));
    let mut plain = engine(kind, &path1, Durability::Immediate);
    let n1 = (rounds * 4).clamp(200, 2_000);
    let t = Instant::now();
    for _ in 0..n1 {
        let id = plain.start("approval", Map::new()).expect("starts");
        plain
            .complete_task(&id, "approve", Map::new())
            .expect("completes");
    }
    let plain_rate = (n1 * 2) as f64 / t.elapsed().as_secs_f64();
    drop(plain);

    let path2 = fresh(&dir, &format!("one-{kind}"));
    let one = EngineHandle::spawn(engine(kind, &path2, Durability::Grouped)).expect("spawns");
    let t = Instant::now();
    for _ in 0..n1 {
        let id = one.start("approval", Map::new()).expect("starts");
        one.complete_task(&id, "approve", Map::new())
            .expect("completes");
    }
    let one_rate = (n1 * 2) as f64 / t.elapsed().as_secs_f64();
    drop(one);

    println!("store {kind}, {callers} callers x {rounds} rounds (start + complete)");
    println!("fsync rate                      {fsyncs:>10.0} syncs/s");
    println!(
        "handle, {callers} callers             {rate:>10.0} commands/s = {:.1}x the fsync rate; {} groups, {:.1} commands per group",
        rate / fsyncs,
        stats.groups,
        stats.calls as f64 / stats.groups.max(1) as f64
    );
    println!(
        "handle, 1 caller                {one_rate:>10.0} commands/s = {:.2}x the fsync rate",
        one_rate / fsyncs
    );
    println!(
        "plain Engine, Immediate         {plain_rate:>10.0} commands/s = {:.2}x the fsync rate",
        plain_rate / fsyncs
    );
    for p in [path, path1, path2] {
        let _ = std::fs::remove_dir_all(&p);
        let _ = std::fs::remove_file(&p);
        let _ = std::fs::remove_file(store::redb::wal_path(&p));
    }
}
