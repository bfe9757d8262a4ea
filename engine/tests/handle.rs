//! `EngineHandle`: many threads on one engine, their calls grouped into one
//! store flush each, and every answered call durable.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::builder::ProcessBuilder;
use engine::core::Status;
use engine::store::{self, Durability, StoreKind};
use engine::{Engine, EngineError, EngineHandle, EngineOptions, VirtualClock};
use serde_json::Map;

fn fresh(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("handle");
    std::fs::create_dir_all(&dir).expect("test directory");
    let path = dir.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    path
}

fn open(kind: StoreKind, path: &Path, durability: Durability) -> Engine {
    let store = store::open(kind, path, durability).expect("store opens");
    Engine::open(
        store,
        Arc::new(VirtualClock::new(1_700_000_000_000)),
        EngineOptions::default(),
    )
    .expect("engine opens")
}

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

fn clone_send_sync<T: Clone + Send + Sync + 'static>() {}

#[test]
fn a_handle_is_clone_send_and_sync() {
    clone_send_sync::<EngineHandle>();
}

/// 16 threads start and complete 20 instances each through clones of one
/// handle on a Deferred store; once the last clone is gone the store is
/// closed, and reopened it holds every instance, completed.
#[test]
fn many_threads_share_one_engine_and_every_answered_call_is_durable() {
    for kind in [StoreKind::Sled, StoreKind::Redb] {
        let path = fresh(&format!("threads-{kind}"));
        let mut engine = open(kind, &path, Durability::Grouped);
        engine
            .deploy("approval.bpmn", &approval())
            .expect("deploys");
        let handle = EngineHandle::spawn(engine).expect("spawns");
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let h = handle.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let id = h.start("approval", Map::new()).expect("starts");
                        let status = h
                            .complete_task(&id, "approve", Map::new())
                            .expect("completes");
                        assert_eq!(status, Status::Completed);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread ends");
        }
        let stats = handle.group_stats();
        assert_eq!(stats.calls, 16 * 20 * 2, "{kind}");
        assert!(
            stats.groups >= 1 && stats.groups <= stats.calls,
            "{kind}: {stats:?}"
        );
        drop(handle);
        let engine = open(kind, &path, Durability::Immediate);
        let all = engine.instances().expect("lists");
        assert_eq!(all.len(), 320, "{kind}");
        assert!(all.iter().all(|s| s.status == Status::Completed), "{kind}");
        drop(engine);
        let _ = std::fs::remove_dir_all(&path);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(store::redb::wal_path(&path));
    }
}

/// A refused call gets its own error; a call that panics gets `Stopped`
/// and the writer serves the next call.
#[test]
fn errors_and_panics_reach_only_their_caller() {
    let mut engine = Engine::in_memory();
    engine
        .deploy("approval.bpmn", &approval())
        .expect("deploys");
    let handle = EngineHandle::spawn(engine).expect("spawns");
    let err = handle
        .complete_task("404", "approve", Map::new())
        .expect_err("no such instance");
    assert!(matches!(err, EngineError::UnknownInstance(_)), "{err}");
    let err = handle
        .call(|_: &mut Engine| -> Result<(), EngineError> { panic!("a bug in a call") })
        .expect_err("panicked");
    assert!(matches!(err, EngineError::Stopped), "{err}");
    let id = handle.start("approval", Map::new()).expect("still serves");
    assert_eq!(
        handle.instance(&id).expect("reads").map(|s| s.status),
        Some(Status::Active)
    );
}
