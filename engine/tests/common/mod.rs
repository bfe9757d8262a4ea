//! What the XML-driven engine tests share: a file around a process body and
//! a `Run` of one instance on an in-memory store with a virtual clock.
//! (Each test file uses part of it.)
#![allow(dead_code)]

use std::sync::Arc;

use engine::core::{Command, Event, InstanceState, Status};
use engine::runtime::{visited, waiting_at};
use engine::{Engine, EngineOptions, VirtualClock};
use serde_json::{Map, Value};

/// The virtual clock's start: 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;
pub const HOUR: i64 = 3_600_000;

pub fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// A definitions file declaring the BPMN, Zeebe, Camunda 7 and XSI
/// namespaces, with `roots` (messages, errors, …) and process `P` of `body`.
pub fn definitions(roots: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="t">
  {roots}
  <bpmn:process id="P" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>"#
    )
}

/// Sequence flows `f<i>_<a>_<b>` between pairs of ids.
pub fn flows(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .enumerate()
        .map(|(i, (a, b))| {
            format!(r#"<bpmn:sequenceFlow id="f{i}_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>"#)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One instance of process `P`.
pub struct Run {
    pub engine: Engine,
    pub clock: Arc<VirtualClock>,
    pub id: String,
}

impl Run {
    /// An engine with `xml` deployed and no instance yet.
    pub fn deploy(xml: &str) -> Run {
        let clock = Arc::new(VirtualClock::new(T0));
        let mut engine = Engine::with_store(
            Box::new(engine::store::memory::MemoryStore::new()),
            clock.clone(),
            EngineOptions::default(),
        );
        engine
            .deploy("test.bpmn", xml)
            .unwrap_or_else(|e| panic!("deploys: {e:?}"));
        Run {
            engine,
            clock,
            id: String::new(),
        }
    }

    /// `xml` deployed and `P` started with `v`.
    pub fn start(xml: &str, v: Value) -> Run {
        let mut r = Run::deploy(xml);
        r.id = r.engine.start("P", vars(v)).expect("starts");
        r
    }

    pub fn state(&self) -> InstanceState {
        self.engine.instance(&self.id).unwrap().expect("exists")
    }

    pub fn visited(&self) -> Vec<String> {
        let s = self.state();
        visited(&s, self.engine.process_version(&s.process).unwrap())
    }

    /// How many times `id` completed.
    pub fn count(&self, id: &str) -> usize {
        self.visited().iter().filter(|v| *v == id).count()
    }

    /// Where tokens wait, in token order.
    pub fn waiting(&self) -> Vec<String> {
        let s = self.state();
        waiting_at(&s, self.engine.process_version(&s.process).unwrap())
    }

    /// Where tokens wait, sorted.
    pub fn waiting_sorted(&self) -> Vec<String> {
        let mut w = self.waiting();
        w.sort();
        w
    }

    pub fn var(&self, name: &str) -> Value {
        self.state()
            .variables()
            .get(name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn run(&mut self, c: Command) -> Status {
        self.engine.execute(&self.id, c).expect("command runs")
    }

    /// Completes the task (or job) waiting at `task`.
    pub fn complete(&mut self, task: &str, v: Value) -> Status {
        self.engine
            .complete_task(&self.id, task, vars(v))
            .expect("completes")
    }

    /// Advances the clock and fires every timer due.
    pub fn advance(&mut self, ms: i64) {
        self.clock.advance(ms);
        self.engine.fire_due_timers().expect("timers fire");
    }

    pub fn log(&mut self) -> Vec<Event> {
        self.engine.store_mut().events(&self.id).expect("log")
    }

    /// Replaying the instance's log gives its checkpoint.
    pub fn replays(&mut self) {
        let state = self.state();
        let log = self.log();
        assert_eq!(InstanceState::replay(&log).expect("replays"), state);
    }
}

/// An in-memory store that reports what the engine does with it: how many
/// instances it read (`reads`: one per `load`, one per instance that
/// `instances` returns) and the events of every commit, in order
/// (`committed`).
#[derive(Default)]
pub struct ObservedStore {
    pub inner: engine::store::memory::MemoryStore,
    pub reads: Arc<std::sync::atomic::AtomicUsize>,
    pub committed: Arc<std::sync::Mutex<Vec<Event>>>,
    /// The prefixes of every `records` read, in order.
    pub record_reads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl ObservedStore {
    pub fn new() -> Self {
        ObservedStore {
            inner: engine::store::memory::MemoryStore::new(),
            ..ObservedStore::default()
        }
    }

    fn read(&self, n: usize) {
        self.reads
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

impl engine::store::Store for ObservedStore {
    fn save_deployment(
        &mut self,
        d: &engine::store::DeploymentRecord,
    ) -> Result<(), engine::store::StoreError> {
        self.inner.save_deployment(d)
    }
    fn deployments(
        &self,
    ) -> Result<Vec<engine::store::DeploymentRecord>, engine::store::StoreError> {
        self.inner.deployments()
    }
    fn load(&self, instance: &str) -> Result<Option<InstanceState>, engine::store::StoreError> {
        self.read(1);
        self.inner.load(instance)
    }
    fn commit_with(
        &mut self,
        state: &InstanceState,
        events: &[Event],
        records: &[engine::store::RecordOp],
    ) -> Result<(), engine::store::StoreError> {
        self.inner.commit_with(state, events, records)?;
        if let Ok(mut c) = self.committed.lock() {
            c.extend_from_slice(events);
        }
        Ok(())
    }
    fn events(&self, instance: &str) -> Result<Vec<Event>, engine::store::StoreError> {
        self.inner.events(instance)
    }
    fn instances(&self) -> Result<Vec<InstanceState>, engine::store::StoreError> {
        let all = self.inner.instances()?;
        self.read(all.len());
        Ok(all)
    }
    fn next_instance_number(&mut self) -> Result<u64, engine::store::StoreError> {
        self.inner.next_instance_number()
    }
    fn flush(&mut self) -> Result<(), engine::store::StoreError> {
        self.inner.flush()
    }
    fn write_records(
        &mut self,
        records: &[engine::store::RecordOp],
    ) -> Result<(), engine::store::StoreError> {
        self.inner.write_records(records)
    }
    fn records(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, engine::store::StoreError> {
        if let Ok(mut r) = self.record_reads.lock() {
            r.push(prefix.to_string());
        }
        self.inner.records(prefix)
    }
    fn delete_instance(&mut self, instance: &str) -> Result<(), engine::store::StoreError> {
        self.inner.delete_instance(instance)
    }
}
