//! An engine that any number of threads use at once: [`EngineHandle`].
//!
//! One writer thread owns the [`Engine`] (and so its store): it is the
//! single writer of every instance, and it runs the calls in the order they
//! arrive, each to its end, so the deterministic core and the synchronous
//! `Engine` stay exactly as they are. Callers send closures over a channel
//! and wait for their answer.
//!
//! **Group commit.** The writer takes every call that is waiting (up to
//! [`MAX_GROUP`]), runs them one after the other, then flushes the store
//! once — one store write and one `fsync` for the whole group — and only
//! then answers each caller. With a store opened with
//! [`crate::store::Durability::Grouped`] that flush is one write-ahead-log
//! write and one `fdatasync` for the whole group: an answered call is
//! durable, and 64 callers share one `fsync` instead of paying one each.
//! (`Durability::Deferred` works too, its flush costing a database sync;
//! with `Durability::Immediate` every command is synced on its own, as
//! with the plain `Engine`.) When the flush fails, every call of the group
//! gets the error, although its effects may be visible to later calls —
//! as a crash would leave them: not acknowledged, maybe done.
//!
//! Deviation from the design (`docs/ARCHITECTURE.md`): one partition. The
//! writer serves every instance; spreading instances over one writer per
//! core (with the outbox between them) is still to come.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use crate::runtime::{Engine, EngineError};
use crate::store::StoreError;

/// Most calls one group holds (the writer flushes at least this often).
pub const MAX_GROUP: usize = 1_024;

/// What the writer does for a caller once the group is flushed.
type Reply = Box<dyn FnOnce(Option<&EngineError>) + Send>;
/// A call: run against the engine, then answer with the flush's outcome.
type Job = Box<dyn FnOnce(&mut Engine) -> Reply + Send>;

/// A cheap, cloneable handle on an engine run by its own writer thread.
/// `Clone + Send + Sync`: hand clones to as many threads as you like. The
/// writer stops (flushing the store) when the last clone is dropped.
#[derive(Clone)]
pub struct EngineHandle {
    inner: Arc<Inner>,
}

struct Inner {
    tx: Option<mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Stats {
    groups: AtomicU64,
    calls: AtomicU64,
}

/// How calls were grouped so far (see [`EngineHandle::group_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    /// Store flushes (one per group).
    pub groups: u64,
    /// Calls answered.
    pub calls: u64,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("stats", &self.group_stats())
            .finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// Moves `engine` onto a writer thread of its own.
    pub fn spawn(engine: Engine) -> Result<EngineHandle, EngineError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = Arc::new(Stats::default());
        let writer_stats = Arc::clone(&stats);
        let writer = std::thread::Builder::new()
            .name("orchid-writer".into())
            .spawn(move || write_loop(engine, rx, &writer_stats))
            .map_err(|e| EngineError::Store(StoreError::Io(format!("writer thread: {e}"))))?;
        Ok(EngineHandle {
            inner: Arc::new(Inner {
                tx: Some(tx),
                writer: Some(writer),
                stats,
            }),
        })
    }

    /// Runs `f` on the engine, in turn with every other call, and returns
    /// its result once the group it ran in is flushed.
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<R, EngineError> + Send + 'static,
    ) -> Result<R, EngineError> {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<Result<R, EngineError>>(1);
        let job: Job = Box::new(move |engine: &mut Engine| {
            let result = f(engine);
            Box::new(move |flush: Option<&EngineError>| {
                let result = match (result, flush) {
                    (Ok(_), Some(e)) => Err(EngineError::Store(StoreError::Io(format!(
                        "the group this call ran in was not flushed: {e}"
                    )))),
                    (result, _) => result,
                };
                // A caller that stopped waiting does not matter.
                let _ = reply_tx.send(result);
            })
        });
        let tx = self.inner.tx.as_ref().ok_or(EngineError::Stopped)?;
        tx.send(job).map_err(|_| EngineError::Stopped)?;
        // No answer: the call panicked (caught; the writer goes on) or the
        // writer is gone.
        reply_rx.recv().map_err(|_| EngineError::Stopped)?
    }

    /// How many groups were flushed for how many calls so far.
    pub fn group_stats(&self) -> GroupStats {
        GroupStats {
            groups: self.inner.stats.groups.load(Ordering::Relaxed),
            calls: self.inner.stats.calls.load(Ordering::Relaxed),
        }
    }

    /// [`Engine::start`].
    pub fn start(
        &self,
        process: &str,
        variables: serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, EngineError> {
        let process = process.to_string();
        self.call(move |e| e.start(&process, variables))
    }

    /// [`Engine::complete_task`].
    pub fn complete_task(
        &self,
        instance: &str,
        element: &str,
        variables: serde_json::Map<String, serde_json::Value>,
    ) -> Result<crate::core::Status, EngineError> {
        let (instance, element) = (instance.to_string(), element.to_string());
        self.call(move |e| e.complete_task(&instance, &element, variables))
    }

    /// [`Engine::instance`].
    pub fn instance(&self, id: &str) -> Result<Option<crate::core::InstanceState>, EngineError> {
        let id = id.to_string();
        self.call(move |e| e.instance(&id))
    }
}

fn write_loop(mut engine: Engine, rx: mpsc::Receiver<Job>, stats: &Stats) {
    while let Ok(first) = rx.recv() {
        let mut replies: Vec<Reply> = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            // A call that panics loses its answer (its caller gets
            // `Stopped`); the writer and the other calls go on.
            if let Ok(reply) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut engine)))
            {
                replies.push(reply);
            }
            if replies.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        let flushed = engine.flush();
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats
            .calls
            .fetch_add(replies.len() as u64, Ordering::Relaxed);
        for reply in replies {
            reply(flushed.as_ref().err());
        }
    }
    // The last handle is gone: the store is flushed and closed here.
    let _ = engine.flush();
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the writer's loop once it has answered
        // what was sent; waiting for it means the store is closed when the
        // last handle is gone.
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}
