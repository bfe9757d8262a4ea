//! The engine an application embeds: deployments, a store, task handlers
//! and a clock around the deterministic core.
//!
//! This is where I/O happens. Each call loads the instance, runs one
//! command through [`crate::core::process`], lets registered
//! [`TaskHandler`]s serve the jobs the command created (each handler result
//! is another command), and commits all resulting events with the new
//! checkpoint in one store batch.
//!
//! Events between instances: what active instances wait for (pending
//! timers by due time, message subscriptions by name and correlation key,
//! signal subscriptions by name) is kept as store records written with
//! each command (`waits.rs`), so that firing a timer or correlating a
//! message is a range read, not a scan, and [`Engine::open`] reads no
//! instance.
//! [`Engine::publish_message`] correlates a message to at most one open
//! subscription per process (the oldest instance's), starts instances at
//! message start events and otherwise buffers it for its time-to-live in
//! the store (delivered once when a matching subscription opens);
//! [`Engine::broadcast_signal`] reaches every open signal subscription and
//! signal start event. Messages and signals that processes throw
//! ([`Event::MessageSent`], [`Event::SignalSent`]), children of call
//! activities and their results travel through the durable outbox
//! (`outbox.rs`): written with the command, delivered after it commits, up
//! to [`MAX_CASCADE_DEPTH`] rounds deep, and acknowledged in the receiving
//! command's write. Timer start
//! events are scheduled at deploy time and kept in the store
//! ([`StartTimer`]); [`Engine::fire_due_timers`] fires them with the
//! instances' timers, in due order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::compile::{
    self, CompiledProcess, DeployError, ElementIdx, ProcessKey, TimerSpec, Trigger, content_hash,
};
use crate::core::{
    self, Command, CommandError, Context, Event, IncidentId, InstanceState, JobId, Status,
    SubscriptionId, TimerId, TokenState,
};
use crate::schedule::Schedule;
use crate::script::ScriptEngine;
use crate::store::{DeploymentRecord, RecordOp, ResourceKind, Store, StoreError, decode, encode};

mod decisions;
mod history;
mod outbox;
mod waits;
use decisions::DecisionRegistry;
pub use decisions::DmnProblem;
pub use history::{HistoricInstance, HistoryQuery};
use outbox::{OUTBOX_PREFIX, Outbox};

/// Most timers [`Engine::fire_due_timers`] fires in one call.
pub const MAX_TIMER_FIRINGS: usize = 100_000;

/// How deep messages and signals thrown by processes may cascade (a thrown
/// message reaching an instance that throws again is one round deeper)
/// before the engine stops with [`EngineError::Cascade`].
pub const MAX_CASCADE_DEPTH: u32 = 1_000;

/// Store record keys of buffered messages: `msg/` + 20-digit sequence.
/// Each has a small head record beside it (`msg-head/` + the same
/// sequence: name, key, expiry), which is all `Engine::open` reads.
const BUFFER_PREFIX: &str = "msg/";
const BUFFER_HEAD_PREFIX: &str = "msg-head/";
/// Store record keys of start timers: `start-timer/` + process id + `/` +
/// element index.
const START_TIMER_PREFIX: &str = "start-timer/";
/// Store records of instances a keyed message started:
/// `start-key/<process id>/<key>` → the instance id.
const START_KEY_PREFIX: &str = "start-key/";

/// Where time comes from. The core never reads a clock; the engine reads
/// this one and passes the time in with each command.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to (scenario tests).
#[derive(Debug, Default)]
pub struct VirtualClock {
    now: std::sync::atomic::AtomicI64,
}

impl VirtualClock {
    pub fn new(start_millis: i64) -> Self {
        VirtualClock {
            now: std::sync::atomic::AtomicI64::new(start_millis),
        }
    }

    pub fn advance(&self, millis: i64) {
        self.now
            .fetch_add(millis, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn set(&self, millis: i64) {
        self.now.store(millis, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now_millis(&self) -> i64 {
        self.now.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A job as a handler or worker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    pub instance: String,
    pub job: JobId,
    pub job_type: String,
    /// The BPMN id of the task.
    pub element: String,
    pub retries: u32,
    /// The variables visible at the task (input mappings applied).
    pub variables: Map<String, Value>,
}

/// What a handler decided.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskResult {
    Complete(Map<String, Value>),
    Fail {
        message: String,
        /// Remaining retries; `None` means one fewer than before.
        retries: Option<u32>,
    },
    /// A BPMN error: caught by the nearest matching error boundary or
    /// error event sub-process, an incident when none catches it.
    Error {
        code: String,
        message: Option<String>,
        variables: Map<String, Value>,
    },
}

/// Rust code that serves service tasks of one job type, in process.
pub trait TaskHandler: Send + Sync {
    fn handle(&self, job: &JobInfo) -> TaskResult;
}

impl<F: Fn(&JobInfo) -> TaskResult + Send + Sync> TaskHandler for F {
    fn handle(&self, job: &JobInfo) -> TaskResult {
        self(job)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{file}: {error}")]
    Parse {
        file: String,
        error: Box<bpmn_models::ParseError>,
    },
    #[error("{file}: {error}")]
    Deploy { file: String, error: DeployError },
    /// A DMN file that does not parse or whose expressions do not compile.
    #[error("{file}:{problem}")]
    Dmn { file: String, problem: DmnProblem },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(
        "unknown time zone `{found}`: expected an IANA time zone name such as `Europe/Berlin` or `UTC`"
    )]
    TimeZone { found: String },
    #[error("unknown process `{0}`: expected the id of a deployed executable process")]
    UnknownProcess(String),
    #[error("unknown instance `{0}`")]
    UnknownInstance(String),
    #[error("instance `{instance}` runs process {key}, which is not deployed")]
    MissingDeployment { instance: String, key: ProcessKey },
    #[error("process `{process}`: timer start event `{element}`: {message}")]
    StartTimer {
        process: String,
        element: String,
        message: String,
    },
    #[error(
        "messages, signals and call activities cascaded more than {limit} rounds deep: \
         expected them to settle, found a cycle (processes answering or calling each other forever?)"
    )]
    Cascade { limit: u32 },
    #[error(
        "message `{name}` is ambiguous: expected one {what} to correlate it to, found {count} (Camunda 7 refuses this; correlate to all of them instead)"
    )]
    AmbiguousCorrelation {
        name: String,
        count: usize,
        what: &'static str,
    },
    #[error(
        "message `{name}`: expected a waiting execution or a message start event to correlate it to, found none"
    )]
    NotCorrelated { name: String },
    /// The writer thread of an [`crate::EngineHandle`] is gone (or a call
    /// panicked and has no answer).
    #[error("the engine's writer thread has stopped: expected an answer, found none")]
    Stopped,
    #[error("store record `{key}`: expected {expected}, found {found}")]
    BadRecord {
        key: String,
        expected: String,
        found: String,
    },
}

impl EngineError {
    /// A stable code for what went wrong: the file's own code for a
    /// deployment refused (`XML…`, `BPMN…`, `ENG0…`, `DMN…`), `ENG1…` for a
    /// command refused at run time (`docs/validation.md` lists them).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Parse { error, .. } => error.code(),
            EngineError::Deploy { error, .. } => {
                error.problems.first().map_or("ENG000", |p| p.code)
            }
            EngineError::Dmn { problem, .. } => problem.code,
            EngineError::Command(c) => c.code(),
            EngineError::UnknownProcess(_)
            | EngineError::UnknownInstance(_)
            | EngineError::MissingDeployment { .. } => "ENG104",
            EngineError::StartTimer { .. } => "ENG013",
            EngineError::AmbiguousCorrelation { .. } => "ENG105",
            EngineError::NotCorrelated { .. } => "ENG106",
            EngineError::Cascade { .. } => "ENG109",
            EngineError::TimeZone { .. } => "ENG110",
            EngineError::Store(_) | EngineError::BadRecord { .. } => "ENG190",
            EngineError::Stopped => "ENG191",
        }
    }
}

/// Where a message or signal went: the instance, its process and the
/// BPMN id of the element that caught it (or the start element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub instance: String,
    pub process: String,
    pub element: String,
}

/// What [`Engine::publish_message`] did with a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageOutcome {
    /// Open subscriptions that took it (at most one per process).
    pub correlated: Vec<Delivery>,
    /// Instances it started at a message start event.
    pub started: Vec<Delivery>,
    /// Nothing took it and it had a time-to-live: buffered in the store
    /// until this instant (ms since the epoch).
    pub buffered_until: Option<i64>,
}

impl MessageOutcome {
    /// Nothing took the message and it was not buffered.
    pub fn is_dropped(&self) -> bool {
        self.correlated.is_empty() && self.started.is_empty() && self.buffered_until.is_none()
    }
}

/// What [`Engine::broadcast_signal_outcome`] did with a signal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignalOutcome {
    /// Open signal subscriptions it triggered, in instance order.
    pub triggered: Vec<Delivery>,
    /// Instances it started at a signal start event.
    pub started: Vec<Delivery>,
}

/// A message published with a time-to-live that nothing took yet, as kept
/// in the store (record `msg/<sequence>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BufferedMessage {
    pub name: String,
    pub key: Option<String>,
    pub variables: Map<String, Value>,
    /// When it is dropped, ms since the epoch.
    pub expires_at: i64,
}

/// What the engine keeps in memory of a buffered message (record
/// `msg-head/<sequence>`); its variables stay in the store until it is
/// delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BufferedHead {
    pub name: String,
    pub key: Option<String>,
    pub expires_at: i64,
}

impl BufferedHead {
    fn of(m: &BufferedMessage) -> Self {
        BufferedHead {
            name: m.name.clone(),
            key: m.key.clone(),
            expires_at: m.expires_at,
        }
    }
}

fn buffer_keys(seq: u64) -> [String; 2] {
    [
        format!("{BUFFER_PREFIX}{seq:020}"),
        format!("{BUFFER_HEAD_PREFIX}{seq:020}"),
    ]
}

/// The schedule of a timer start event, as kept in the store (record
/// `start-timer/<process id>/<element index>`): the next firing starts an
/// instance of `process` at `element`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartTimer {
    pub process: ProcessKey,
    pub element: ElementIdx,
    /// When it fires next, ms since the epoch.
    pub due: i64,
    /// How many times it has fired.
    pub fired: u32,
}

/// An instance id, ordered as instance numbers: shorter first, so that
/// `"9"` comes before `"10"` (older instances first).
type InstanceOrd = (usize, String);

fn ord(id: &str) -> InstanceOrd {
    (id.len(), id.to_string())
}

/// What [`Engine::fire_due_timers`] fires next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Due {
    /// A pending timer of an active instance (its wait record's key).
    Instance {
        key: String,
        instance: String,
        timer: TimerId,
    },
    /// A timer start event: process id and start element.
    Start(String, ElementIdx),
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub step_budget: u64,
    pub script_limits: crate::script::ScriptLimits,
    /// The time zone timers are read in: local date-times (no offset),
    /// calendar durations and cron expressions; `None` is UTC. See
    /// [`EngineOptions::with_time_zone`].
    pub time_zone: Option<jiff::tz::TimeZone>,
    /// How long an ended instance stays in history (ms) when its process
    /// sets no time to live (`camunda:historyTimeToLive`); `None` keeps it
    /// until it is deleted. See [`Engine::remove_expired_history`].
    pub history_ttl: Option<i64>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            step_budget: core::DEFAULT_STEP_BUDGET,
            script_limits: crate::script::ScriptLimits::default(),
            time_zone: None,
            history_ttl: None,
        }
    }
}

impl EngineOptions {
    /// These options with timers in the IANA time zone `name` (such as
    /// `Europe/Berlin`; `UTC` for UTC).
    pub fn with_time_zone(mut self, name: &str) -> Result<Self, EngineError> {
        let zone = jiff::tz::TimeZone::get(name).map_err(|_| EngineError::TimeZone {
            found: name.to_string(),
        })?;
        self.time_zone = Some(zone);
        Ok(self)
    }
}

/// A deployed process and what the registry knows of it.
#[derive(Debug, Default)]
struct Registry {
    by_key: BTreeMap<(String, u32), Arc<CompiledProcess>>,
    latest: HashMap<String, u32>,
    by_hash: HashMap<(String, String), u32>,
}

pub struct Engine {
    scripts: Arc<ScriptEngine>,
    registry: Registry,
    /// Deployed DMN decisions (business rule tasks).
    decisions: DecisionRegistry,
    handlers: HashMap<String, Arc<dyn TaskHandler>>,
    store: Box<dyn Store>,
    clock: Arc<dyn Clock>,
    options: EngineOptions,
    /// Timers set aside by [`Engine::fire_due_timers`] (wait record keys,
    /// `start/<process>/<element>` for timer start events).
    stalled_keys: HashSet<String>,
    /// Buffered messages by sequence number (mirrors the store's records).
    buffered: BTreeMap<u64, BufferedHead>,
    /// Timer start events by (process id, element) (mirrors the store).
    start_timers: BTreeMap<(String, ElementIdx), StartTimer>,
    /// Work between instances not yet delivered (mirrors the store's
    /// `outbox/` records).
    outbox: Outbox,
    /// The cascade depth of the work being done now (0: a caller's call).
    depth: u32,
    /// Instances a message with a correlation key started, by (process id,
    /// key) (mirrors the store's `start-key/` records).
    start_keys: HashMap<(String, String), String>,
    /// Timers whose firing failed (not for a store error): set aside so
    /// the others still fire; they stay in the store and are tried again
    /// when the store is next opened.
    stalled: Vec<StalledTimer>,
}

/// A timer [`Engine::fire_due_timers`] could not fire, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StalledTimer {
    /// The instance, or for a timer start event the process id.
    pub owner: String,
    pub due: i64,
    pub message: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field(
                "processes",
                &self.registry.by_key.keys().collect::<Vec<_>>(),
            )
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens an engine on a store, recompiling every deployment it holds.
    pub fn open(
        store: Box<dyn Store>,
        clock: Arc<dyn Clock>,
        options: EngineOptions,
    ) -> Result<Self, EngineError> {
        let mut engine = Engine::with_store(store, clock, options);
        for d in engine.store.deployments()? {
            engine.install(&d)?;
        }
        // Stores written before the runtime-set and wait records get them
        // once; after that no instance is read here.
        engine.index_lifecycle()?;
        for (key, bytes) in engine.store.records(BUFFER_HEAD_PREFIX)? {
            let seq = key[BUFFER_HEAD_PREFIX.len()..]
                .parse::<u64>()
                .map_err(|_| EngineError::BadRecord {
                    key: key.clone(),
                    expected: "a buffered message key `msg-head/` and a sequence number".into(),
                    found: format!("`{key}`"),
                })?;
            let m: BufferedHead = decode(&key, &bytes)?;
            engine.buffered.insert(seq, m);
        }
        for (key, bytes) in engine.store.records(START_KEY_PREFIX)? {
            let slot = key[START_KEY_PREFIX.len()..]
                .split_once('/')
                .map(|(p, k)| (p.to_string(), k.to_string()));
            let Some(slot) = slot else {
                return Err(EngineError::BadRecord {
                    key: key.clone(),
                    expected: "`start-key/<process id>/<correlation key>`".into(),
                    found: format!("`{key}`"),
                });
            };
            let instance: String = decode(&key, &bytes)?;
            engine.start_keys.insert(slot, instance);
        }
        for (key, bytes) in engine.store.records(START_TIMER_PREFIX)? {
            let t: StartTimer = decode(&key, &bytes)?;
            engine
                .start_timers
                .insert((t.process.id.clone(), t.element), t);
        }
        // Work a crash left between instances is delivered now.
        engine.outbox = Outbox::load(engine.store.records(OUTBOX_PREFIX)?)?;
        engine.drain()?;
        Ok(engine)
    }

    /// An engine on an in-memory store with the system clock.
    pub fn in_memory() -> Self {
        Engine::with_store(
            Box::new(crate::store::memory::MemoryStore::new()),
            Arc::new(SystemClock),
            EngineOptions::default(),
        )
    }

    /// An engine on a store whose deployments are not recompiled (a new
    /// store, or one whose deployments the caller installs again).
    pub fn with_store(
        store: Box<dyn Store>,
        clock: Arc<dyn Clock>,
        options: EngineOptions,
    ) -> Self {
        Engine {
            scripts: Arc::new(ScriptEngine::new(options.script_limits.clone())),
            registry: Registry::default(),
            decisions: DecisionRegistry::default(),
            handlers: HashMap::new(),
            store,
            clock,
            options,
            stalled_keys: HashSet::new(),
            buffered: BTreeMap::new(),
            start_timers: BTreeMap::new(),
            outbox: Outbox::default(),
            depth: 0,
            start_keys: HashMap::new(),
            stalled: Vec::new(),
        }
    }

    pub fn register_handler(&mut self, job_type: &str, handler: impl TaskHandler + 'static) {
        self.handlers
            .insert(job_type.to_string(), Arc::new(handler));
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The store, for reading logs and counters. Instances written through
    /// it directly have no wait records (timers, subscriptions) and are not
    /// in the runtime set.
    pub fn store_mut(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }

    fn install(&mut self, d: &DeploymentRecord) -> Result<(), EngineError> {
        if d.kind == ResourceKind::Dmn {
            let compiled =
                decisions::compile_dmn(&d.source).map_err(|problem| EngineError::Dmn {
                    file: d.name.clone(),
                    problem,
                })?;
            self.decisions.register(&compiled, &d.keys);
            return Ok(());
        }
        let defs = bpmn_models::parse(&d.source).map_err(|error| EngineError::Parse {
            file: d.name.clone(),
            error: Box::new(error),
        })?;
        let keys = d.keys.clone();
        let compiled = compile::compile(&defs, &self.scripts, |id| {
            keys.iter()
                .find(|k| k.id == id)
                .cloned()
                .unwrap_or_else(|| ProcessKey {
                    id: id.to_string(),
                    version: 0,
                    hash: String::new(),
                })
        })
        .map_err(|error| EngineError::Deploy {
            file: d.name.clone(),
            error,
        })?;
        for p in compiled {
            self.register(p);
        }
        Ok(())
    }

    fn register(&mut self, p: Arc<CompiledProcess>) {
        let k = p.key.clone();
        let latest = self.registry.latest.entry(k.id.clone()).or_insert(0);
        *latest = (*latest).max(k.version);
        self.registry
            .by_hash
            .insert((k.id.clone(), k.hash.clone()), k.version);
        self.registry.by_key.insert((k.id, k.version), p);
    }

    /// Deploys a BPMN file. Deploying the same text again changes nothing;
    /// a changed file gives its processes new versions; running instances
    /// keep the version they started with.
    ///
    /// A DMN file (root element `definitions` in a DMN namespace, or a
    /// `.dmn` name) deploys its decisions the same way, versioned by
    /// decision id; the keys returned are then decision keys (see
    /// [`resource_kind`]).
    pub fn deploy(&mut self, name: &str, source: &str) -> Result<Vec<ProcessKey>, EngineError> {
        if resource_kind(name, source) == ResourceKind::Dmn {
            return self.deploy_dmn(name, source);
        }
        let defs = bpmn_models::parse(source).map_err(|error| EngineError::Parse {
            file: name.to_string(),
            error: Box::new(error),
        })?;
        let hash = content_hash(source);
        let registry = &self.registry;
        let mut fresh = false;
        let compiled = compile::compile(&defs, &self.scripts, |id| {
            let version = match registry.by_hash.get(&(id.to_string(), hash.clone())) {
                Some(v) => *v,
                None => {
                    fresh = true;
                    registry.latest.get(id).copied().unwrap_or(0) + 1
                }
            };
            ProcessKey {
                id: id.to_string(),
                version,
                hash: hash.clone(),
            }
        })
        .map_err(|error| EngineError::Deploy {
            file: name.to_string(),
            error,
        })?;
        let keys: Vec<ProcessKey> = compiled.iter().map(|p| p.key.clone()).collect();
        if fresh {
            // Timer start events are scheduled from the deploy time; a
            // schedule that cannot be computed refuses the deployment.
            let now = self.clock.now_millis();
            let mut timers = Vec::new();
            for p in &compiled {
                for (element, trigger) in p.start_triggers() {
                    let Trigger::Timer(spec) = trigger else {
                        continue;
                    };
                    let schedule = self.start_schedule(p, element, spec)?;
                    let due =
                        crate::schedule::due_in_zone(self.options.time_zone.as_ref(), now, |off| {
                            schedule.first_due(now, off)
                        })
                        .map_err(|e| start_timer_error(p, element, e.to_string()))?;
                    if let Some(due) = due {
                        timers.push(StartTimer {
                            process: p.key.clone(),
                            element,
                            due,
                            fired: 0,
                        });
                    }
                }
            }
            self.store.save_deployment(&DeploymentRecord {
                keys: keys.clone(),
                name: name.to_string(),
                source: source.to_string(),
                kind: ResourceKind::Bpmn,
            })?;
            for p in &compiled {
                // A new version replaces the older versions' schedules.
                let old: Vec<(String, ElementIdx)> = self
                    .start_timers
                    .range(
                        (p.key.id.clone(), ElementIdx(0))
                            ..=(p.key.id.clone(), ElementIdx(u32::MAX)),
                    )
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in old {
                    self.remove_start_timer(&k)?;
                }
            }
            for t in timers {
                self.save_start_timer(t)?;
            }
            for p in compiled {
                self.register(p);
            }
        }
        Ok(keys)
    }

    fn deploy_dmn(&mut self, name: &str, source: &str) -> Result<Vec<ProcessKey>, EngineError> {
        let compiled = decisions::compile_dmn(source).map_err(|problem| EngineError::Dmn {
            file: name.to_string(),
            problem,
        })?;
        let (keys, fresh) = self.decisions.keys_for(&compiled);
        if fresh {
            self.store.save_deployment(&DeploymentRecord {
                keys: keys.clone(),
                name: name.to_string(),
                source: source.to_string(),
                kind: ResourceKind::Dmn,
            })?;
            self.decisions.register(&compiled, &keys);
        }
        Ok(keys)
    }

    /// Ids and versions of the deployed DMN decisions.
    pub fn decision_keys(&self) -> Vec<ProcessKey> {
        self.decisions.keys()
    }

    /// Evaluates a deployed decision (its latest version, or `version`)
    /// as a business rule task would, at the engine clock's time.
    pub fn evaluate_decision(
        &self,
        id: &str,
        version: Option<u32>,
        input: &Map<String, Value>,
    ) -> Result<core::decisions::DecisionOutcome, String> {
        let now = self.clock.now_millis();
        core::decisions::Decisions::evaluate(&self.decisions, id, version, input, now)
    }

    /// The schedule of a timer start event: its literal, or its expression
    /// evaluated without variables.
    fn start_schedule(
        &self,
        p: &CompiledProcess,
        element: ElementIdx,
        spec: &TimerSpec,
    ) -> Result<Schedule, EngineError> {
        match spec {
            TimerSpec::Static(s) => Ok(s.clone()),
            TimerSpec::Expression { kind, expr } => {
                let text = match expr.eval(&self.scripts, crate::expr::Vars::new(&[])) {
                    Ok(Value::String(s)) => s,
                    Ok(other) => {
                        return Err(start_timer_error(
                            p,
                            element,
                            format!("expected the expression to give a text, found `{other}`"),
                        ));
                    }
                    Err(e) => return Err(start_timer_error(p, element, e.to_string())),
                };
                Schedule::from_text(*kind, &text)
                    .map_err(|e| start_timer_error(p, element, e.to_string()))
            }
        }
    }

    fn start_timer_key(process: &str, element: ElementIdx) -> String {
        format!("{START_TIMER_PREFIX}{process}/{}", element.0)
    }

    fn save_start_timer(&mut self, t: StartTimer) -> Result<(), EngineError> {
        self.store.put_record(
            &Self::start_timer_key(&t.process.id, t.element),
            &encode(&t),
        )?;
        self.index_start_timer(t);
        Ok(())
    }

    /// Keeps a start timer's schedule in memory (its record is written).
    fn index_start_timer(&mut self, t: StartTimer) {
        let k = (t.process.id.clone(), t.element);
        self.start_timers.insert(k, t);
    }

    /// Forgets a start timer's schedule in memory; whether it had one.
    fn unindex_start_timer(&mut self, k: &(String, ElementIdx)) -> bool {
        self.start_timers.remove(k).is_some()
    }

    fn remove_start_timer(&mut self, k: &(String, ElementIdx)) -> Result<(), EngineError> {
        if self.unindex_start_timer(k) {
            self.store
                .delete_record(&Self::start_timer_key(&k.0, k.1))?;
        }
        Ok(())
    }

    /// The scheduled timer start events, by process id.
    pub fn start_timers(&self) -> Vec<StartTimer> {
        self.start_timers.values().cloned().collect()
    }

    /// The buffered messages not yet delivered (expired ones included
    /// until the next publication or delivery drops them).
    pub fn buffered_messages(&self) -> Result<Vec<BufferedMessage>, EngineError> {
        self.store
            .records(BUFFER_PREFIX)?
            .into_iter()
            .map(|(k, bytes)| Ok(decode(&k, &bytes)?))
            .collect()
    }

    /// The latest version of a process.
    pub fn process(&self, id: &str) -> Option<&Arc<CompiledProcess>> {
        let v = self.registry.latest.get(id)?;
        self.registry.by_key.get(&(id.to_string(), *v))
    }

    /// A specific deployed version.
    pub fn process_version(&self, key: &ProcessKey) -> Option<&Arc<CompiledProcess>> {
        self.registry.by_key.get(&(key.id.clone(), key.version))
    }

    /// Ids of the deployed processes (latest versions).
    pub fn process_ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self.registry.latest.keys().cloned().collect();
        v.sort();
        v
    }

    /// Starts an instance of the latest version of `process_id` at its
    /// none start event and runs it until it completes or every token
    /// waits (messages and signals it throws are published before this
    /// returns). Returns the instance id.
    pub fn start(
        &mut self,
        process_id: &str,
        variables: Map<String, Value>,
    ) -> Result<String, EngineError> {
        self.start_with_business_key(process_id, variables, None)
    }

    /// Starts an instance with a business key (Camunda 7's: expressions
    /// read it as `execution.processBusinessKey`).
    pub fn start_with_business_key(
        &mut self,
        process_id: &str,
        variables: Map<String, Value>,
        business_key: Option<&str>,
    ) -> Result<String, EngineError> {
        let process = self
            .process(process_id)
            .cloned()
            .ok_or_else(|| EngineError::UnknownProcess(process_id.to_string()))?;
        let id = self.store.next_instance_number()?.to_string();
        let mut state = InstanceState::empty(&id, process.key.clone());
        state.business_key = business_key.map(str::to_string);
        self.run(state, &process, Command::Start { variables })?;
        self.drain()?;
        Ok(id)
    }

    /// Starts a fresh instance of `process` at `element` (a start event
    /// with a trigger, or an instantiating gateway's target). No drain.
    fn start_at(
        &mut self,
        process: &Arc<CompiledProcess>,
        element: ElementIdx,
        variables: Map<String, Value>,
    ) -> Result<Delivery, EngineError> {
        let id = self.store.next_instance_number()?.to_string();
        let state = InstanceState::empty(&id, process.key.clone());
        self.run(state, process, Command::StartAt { element, variables })?;
        Ok(Delivery {
            instance: id,
            process: process.key.id.clone(),
            element: process.element(element).id.clone(),
        })
    }

    /// Runs a command on an existing instance (then publishes what it
    /// threw).
    pub fn execute(&mut self, instance: &str, command: Command) -> Result<Status, EngineError> {
        let status = self.execute_now(instance, command)?;
        self.drain()?;
        Ok(status)
    }

    /// Runs a command on an existing instance, leaving the outbox alone.
    fn execute_now(&mut self, instance: &str, command: Command) -> Result<Status, EngineError> {
        let state = self
            .store
            .load(instance)?
            .ok_or_else(|| EngineError::UnknownInstance(instance.to_string()))?;
        let process = self
            .process_version(&state.process)
            .cloned()
            .ok_or_else(|| EngineError::MissingDeployment {
                instance: instance.to_string(),
                key: state.process.clone(),
            })?;
        self.run(state, &process, command)
    }

    pub fn complete_task(
        &mut self,
        instance: &str,
        element: &str,
        variables: Map<String, Value>,
    ) -> Result<Status, EngineError> {
        self.execute(
            instance,
            Command::CompleteTask {
                element: element.to_string(),
                variables,
            },
        )
    }

    pub fn complete_job(
        &mut self,
        instance: &str,
        job: JobId,
        variables: Map<String, Value>,
    ) -> Result<Status, EngineError> {
        self.execute(instance, Command::CompleteJob { job, variables })
    }

    pub fn fail_job(
        &mut self,
        instance: &str,
        job: JobId,
        message: &str,
        retries: Option<u32>,
    ) -> Result<Status, EngineError> {
        self.execute(
            instance,
            Command::FailJob {
                job,
                message: message.to_string(),
                retries,
            },
        )
    }

    /// A job's worker throws a BPMN error with `code`.
    pub fn throw_error(
        &mut self,
        instance: &str,
        job: JobId,
        code: &str,
        message: Option<&str>,
        variables: Map<String, Value>,
    ) -> Result<Status, EngineError> {
        self.execute(
            instance,
            Command::ThrowError {
                job,
                code: code.to_string(),
                message: message.map(str::to_string),
                variables,
            },
        )
    }

    /// Sets process-level variables of an instance from outside.
    pub fn set_variables(
        &mut self,
        instance: &str,
        variables: Map<String, Value>,
    ) -> Result<Status, EngineError> {
        self.execute(instance, Command::SetVariables { variables })
    }

    pub fn resolve_incident(
        &mut self,
        instance: &str,
        incident: IncidentId,
        retries: Option<u32>,
    ) -> Result<Status, EngineError> {
        self.execute(instance, Command::ResolveIncident { incident, retries })
    }

    pub fn cancel(&mut self, instance: &str) -> Result<Status, EngineError> {
        self.execute(instance, Command::Cancel)
    }

    /// Deletes an instance (Camunda 7's `deleteProcessInstance`): cancels
    /// it when it is active — which cancels the instances its call
    /// activities started — then removes it and those instances from the
    /// store.
    pub fn delete_instance(&mut self, instance: &str) -> Result<(), EngineError> {
        let state = self
            .store
            .load(instance)?
            .ok_or_else(|| EngineError::UnknownInstance(instance.to_string()))?;
        let children = descendants(self, instance)?;
        if state.status == Status::Active {
            self.cancel(instance)?;
        }
        for id in children
            .iter()
            .rev()
            .map(|c| c.id.as_str())
            .chain([instance])
        {
            if let Some(s) = self.store.load(id)? {
                self.forget_lifecycle(&s)?;
            }
            self.store.delete_instance(id)?;
        }
        Ok(())
    }

    /// Publishes a message: it correlates to the open message
    /// subscriptions of that name — with a `key`, those opened with exactly
    /// that correlation key and those without one; without a `key`, only
    /// those without one — at most one per process (the oldest instance's,
    /// then the lowest subscription id), and starts an instance of every
    /// deployed process (latest version) with a message start event of
    /// that name, unless the message already correlated to an instance of
    /// that process. When nothing took it and `ttl_millis` is above zero,
    /// it is buffered in the store until the clock's time plus the ttl and
    /// delivered once to the first matching subscription that opens.
    pub fn publish_message(
        &mut self,
        name: &str,
        key: Option<&str>,
        variables: Map<String, Value>,
        ttl_millis: Option<i64>,
    ) -> Result<MessageOutcome, EngineError> {
        let outcome = self.publish_now(name, key, variables, ttl_millis)?;
        self.drain()?;
        Ok(outcome)
    }

    /// Correlates a message as Camunda 7's message correlation does: with
    /// `all == false` (`correlate()`) to exactly one waiting execution —
    /// any instance of any process; waiting executions win over message
    /// start events — or else exactly one process with a message start
    /// event of that name, refusing more than one
    /// ([`EngineError::AmbiguousCorrelation`], `ENG105`) and none
    /// ([`EngineError::NotCorrelated`], `ENG106`); with `all == true`
    /// (`correlateAll()`) to every waiting execution and every process
    /// with such a start event, refusing nothing. Nothing is buffered.
    pub fn correlate_message(
        &mut self,
        name: &str,
        key: Option<&str>,
        variables: Map<String, Value>,
        all: bool,
    ) -> Result<MessageOutcome, EngineError> {
        let targets = self.every_message_target(name, key)?;
        let starts = self.startable(|t| matches!(t, Trigger::Message { name: n, .. } if n == name));
        if !all {
            let (count, what) = if targets.is_empty() {
                (
                    starts.len(),
                    "process definition with a message start event",
                )
            } else {
                (targets.len(), "waiting execution")
            };
            match count {
                0 => {
                    return Err(EngineError::NotCorrelated {
                        name: name.to_string(),
                    });
                }
                1 => {}
                count => {
                    return Err(EngineError::AmbiguousCorrelation {
                        name: name.to_string(),
                        count,
                        what,
                    });
                }
            }
        }
        let mut outcome = MessageOutcome::default();
        let start_too = all || targets.is_empty();
        for (inst, sub) in targets {
            if let Some(d) = self.trigger(&inst.1, sub, variables.clone())? {
                outcome.correlated.push(d);
            }
        }
        if start_too {
            for (process, element) in starts {
                let started = self.start_at(&process, element, variables.clone())?;
                outcome.started.push(started);
            }
        }
        self.drain()?;
        Ok(outcome)
    }

    fn publish_now(
        &mut self,
        name: &str,
        key: Option<&str>,
        variables: Map<String, Value>,
        ttl_millis: Option<i64>,
    ) -> Result<MessageOutcome, EngineError> {
        let legs = self.plan_message(name, key, &variables)?;
        let delivered = self.deliver_legs(legs)?;
        let mut outcome = MessageOutcome {
            correlated: delivered.triggered,
            started: delivered.started,
            buffered_until: None,
        };
        let ttl = ttl_millis.unwrap_or(0);
        if outcome.correlated.is_empty() && outcome.started.is_empty() && ttl > 0 {
            let now = self.clock.now_millis();
            self.drop_expired(now)?;
            let expires_at = now.saturating_add(ttl);
            let seq = self.buffered.last_key_value().map_or(0, |(k, _)| k + 1);
            let m = BufferedMessage {
                name: name.to_string(),
                key: key.map(str::to_string),
                variables,
                expires_at,
            };
            let [key, head] = buffer_keys(seq);
            let h = BufferedHead::of(&m);
            self.store.write_records(&[
                RecordOp::Put {
                    key,
                    value: encode(&m),
                },
                RecordOp::Put {
                    key: head,
                    value: encode(&h),
                },
            ])?;
            self.buffered.insert(seq, h);
            outcome.buffered_until = Some(expires_at);
        }
        Ok(outcome)
    }

    /// Whether a message with correlation key `key` may start an instance
    /// of `process` (Camunda 8: not while an instance a message with that
    /// key started is active); a slot whose instance ended is freed.
    fn start_key_free(&mut self, process: &str, key: &str) -> Result<bool, EngineError> {
        let slot = (process.to_string(), key.to_string());
        let Some(running) = self.start_keys.get(&slot).cloned() else {
            return Ok(true);
        };
        if self
            .store
            .load(&running)?
            .is_some_and(|s| s.status == Status::Active)
        {
            return Ok(false);
        }
        self.start_keys.remove(&slot);
        self.store
            .delete_record(&format!("{START_KEY_PREFIX}{process}/{key}"))?;
        Ok(true)
    }

    /// An instance a message with correlation key `key` started holds the
    /// key's slot while it is active.
    fn hold_start_key(
        &mut self,
        process: &str,
        key: &str,
        instance: &str,
    ) -> Result<(), EngineError> {
        if self
            .store
            .load(instance)?
            .is_some_and(|s| s.status == Status::Active)
        {
            self.store.put_record(
                &format!("{START_KEY_PREFIX}{process}/{key}"),
                &encode(&instance),
            )?;
            self.start_keys
                .insert((process.to_string(), key.to_string()), instance.to_string());
        }
        Ok(())
    }

    /// Removes buffered messages whose time-to-live ended at `now`.
    fn drop_expired(&mut self, now: i64) -> Result<(), EngineError> {
        let expired: Vec<u64> = self
            .buffered
            .iter()
            .filter(|(_, m)| m.expires_at <= now)
            .map(|(k, _)| *k)
            .collect();
        for seq in expired {
            let ops = buffer_keys(seq).map(|key| RecordOp::Delete { key });
            self.store.write_records(&ops)?;
            self.buffered.remove(&seq);
        }
        Ok(())
    }

    /// The latest version of every deployed process with a start trigger
    /// matching `want`, with the first such start element, by process id.
    fn startable(
        &self,
        want: impl Fn(&Trigger) -> bool,
    ) -> Vec<(Arc<CompiledProcess>, ElementIdx)> {
        let mut out = Vec::new();
        for id in self.process_ids() {
            let Some(p) = self.process(&id) else { continue };
            if let Some((element, _)) = p.start_triggers().find(|(_, t)| want(t)) {
                out.push((Arc::clone(p), element));
            }
        }
        out
    }

    /// Triggers an open subscription of an instance; `None` when the
    /// instance is gone or no longer has it open.
    fn trigger(
        &mut self,
        instance: &str,
        subscription: SubscriptionId,
        variables: Map<String, Value>,
    ) -> Result<Option<Delivery>, EngineError> {
        let Some(state) = self.store.load(instance)? else {
            return Ok(None);
        };
        if state.status != Status::Active {
            return Ok(None);
        }
        let Some(sub) = state.subscriptions.get(&subscription) else {
            return Ok(None);
        };
        let process = self
            .process_version(&state.process)
            .cloned()
            .ok_or_else(|| EngineError::MissingDeployment {
                instance: instance.to_string(),
                key: state.process.clone(),
            })?;
        let element = process.element(sub.element).id.clone();
        self.run(
            state,
            &process,
            Command::Trigger {
                subscription,
                variables,
            },
        )?;
        Ok(Some(Delivery {
            instance: instance.to_string(),
            process: process.key.id.clone(),
            element,
        }))
    }

    /// Broadcasts a signal: it triggers every open signal subscription of
    /// that name in every active instance (in instance order) and starts an
    /// instance of every deployed process (latest version) with a signal
    /// start event of that name. Returns how many subscriptions it
    /// triggered and instances it started.
    pub fn broadcast_signal(
        &mut self,
        name: &str,
        variables: Map<String, Value>,
    ) -> Result<usize, EngineError> {
        let o = self.broadcast_signal_outcome(name, variables)?;
        Ok(o.triggered.len() + o.started.len())
    }

    /// [`Engine::broadcast_signal`], saying where the signal went.
    pub fn broadcast_signal_outcome(
        &mut self,
        name: &str,
        variables: Map<String, Value>,
    ) -> Result<SignalOutcome, EngineError> {
        let outcome = self.broadcast_now(name, variables)?;
        self.drain()?;
        Ok(outcome)
    }

    fn broadcast_now(
        &mut self,
        name: &str,
        variables: Map<String, Value>,
    ) -> Result<SignalOutcome, EngineError> {
        let legs = self.plan_signal(name, &variables)?;
        self.deliver_legs(legs)
    }

    /// A message subscription opened: the oldest unexpired buffered message
    /// that matches it (same name; the same key, or any key when the
    /// subscription has none) is delivered to it and removed.
    fn deliver_buffered(
        &mut self,
        instance: &str,
        subscription: SubscriptionId,
        name: &str,
        key: Option<&str>,
    ) -> Result<(), EngineError> {
        if self.buffered.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_millis();
        self.drop_expired(now)?;
        let found = self
            .buffered
            .iter()
            .find(|(_, m)| m.name == name && (key.is_none() || m.key.as_deref() == key));
        let Some((&seq, _)) = found else {
            return Ok(());
        };
        let still_open = self.store.load(instance)?.is_some_and(|s| {
            s.status == Status::Active && s.subscriptions.contains_key(&subscription)
        });
        if !still_open {
            return Ok(());
        }
        let [key, head] = buffer_keys(seq);
        let Some((_, bytes)) = self.store.first_records(&key, 1)?.into_iter().next() else {
            return Err(EngineError::BadRecord {
                expected: format!("the buffered message `{key}` beside its head `{head}`"),
                found: "none".into(),
                key,
            });
        };
        let m: BufferedMessage = decode(&key, &bytes)?;
        // Removed with the command it triggers, in one write: after a
        // crash it is either delivered or still buffered.
        self.outbox.attached.push(RecordOp::Delete { key });
        self.outbox.attached.push(RecordOp::Delete { key: head });
        self.trigger(instance, subscription, m.variables)?;
        self.buffered.remove(&seq);
        Ok(())
    }

    /// Fires every timer due at the clock's time (`due <= now`): the
    /// pending timers of active instances and the timer start events,
    /// earliest first (ties: instance timers by instance, then timer id,
    /// before start timers by process id), and returns how many fired. Each
    /// firing is one command (a start timer's starts an instance and
    /// schedules its next firing for a cycle); a firing can schedule or
    /// cancel other timers, so the next one is looked up again after each,
    /// in the due-time index. At most [`MAX_TIMER_FIRINGS`] fire per call,
    /// so a loop of zero-length timers cannot hang the caller.
    pub fn fire_due_timers(&mut self) -> Result<usize, EngineError> {
        let mut fired = 0;
        while fired < MAX_TIMER_FIRINGS {
            let now = self.clock.now_millis();
            let Some((due, what)) = self.next_due()? else {
                break;
            };
            if due > now {
                break;
            }
            let result = match &what {
                Due::Instance {
                    instance, timer, ..
                } => self
                    .execute_now(instance, Command::FireTimer { timer: *timer })
                    .map(|_| ()),
                Due::Start(process, element) => self.fire_start_timer(&(process.clone(), *element)),
            };
            match result {
                Ok(()) => {}
                Err(e @ EngineError::Store(_)) => return Err(e),
                // One timer that cannot fire (its process is no longer
                // deployed, its instance is damaged) must not hold up the
                // others: it is set aside for this run of the engine.
                Err(e) => {
                    let (owner, key) = match &what {
                        Due::Instance { key, instance, .. } => (instance.clone(), key.clone()),
                        Due::Start(process, element) => {
                            (process.clone(), format!("start/{process}/{}", element.0))
                        }
                    };
                    self.stalled_keys.insert(key);
                    self.stalled.push(StalledTimer {
                        owner,
                        due,
                        message: e.to_string(),
                    });
                    continue;
                }
            }
            self.drain()?;
            fired += 1;
        }
        Ok(fired)
    }

    /// The earliest timer not set aside: an instance's (from the wait
    /// records) or a timer start event's.
    fn next_due(&self) -> Result<Option<(i64, Due)>, EngineError> {
        let instance = self
            .first_timers(self.stalled_keys.len() + 1)?
            .into_iter()
            .find(|(key, ..)| !self.stalled_keys.contains(key))
            .map(|(key, due, instance, timer)| {
                (
                    due,
                    Due::Instance {
                        key,
                        instance,
                        timer,
                    },
                )
            });
        let start = self
            .start_timers
            .iter()
            .filter(|((p, e), _)| !self.stalled_keys.contains(&format!("start/{p}/{}", e.0)))
            .min_by_key(|(k, t)| (t.due, (*k).clone()))
            .map(|((p, e), t)| (t.due, Due::Start(p.clone(), *e)));
        Ok(match (instance, start) {
            // Instance timers first on a tie, as before.
            (Some(i), Some(s)) => Some(if s.0 < i.0 { s } else { i }),
            (i, s) => i.or(s),
        })
    }

    /// Timers that could not fire since the engine was opened (see
    /// [`StalledTimer`]).
    pub fn stalled_timers(&self) -> &[StalledTimer] {
        &self.stalled
    }

    /// Starts an instance for a due timer start event and schedules its
    /// next firing (a cycle) or removes it.
    fn fire_start_timer(&mut self, k: &(String, ElementIdx)) -> Result<(), EngineError> {
        let Some(t) = self.start_timers.get(k).cloned() else {
            return Ok(());
        };
        let Some(process) = self.process_version(&t.process).cloned() else {
            // Its deployment is gone: nothing to start.
            return self.remove_start_timer(k);
        };
        let spec = process.start_triggers().find_map(|(e, tr)| match tr {
            Trigger::Timer(spec) if e == t.element => Some(spec.clone()),
            _ => None,
        });
        let next = match spec {
            Some(spec) => {
                let schedule = self.start_schedule(&process, t.element, &spec)?;
                crate::schedule::due_in_zone(self.options.time_zone.as_ref(), t.due, |off| {
                    schedule.next_due(t.due, t.fired + 1, off)
                })
                .map_err(|e| start_timer_error(&process, t.element, e.to_string()))?
            }
            None => None,
        };
        let key = Self::start_timer_key(&k.0, k.1);
        let next = next.map(|due| StartTimer {
            due,
            fired: t.fired + 1,
            ..t
        });
        // The firing is recorded in the write of the instance it starts:
        // after a crash either both happened or neither, so an occurrence
        // never starts a second instance.
        self.outbox.attached.push(match &next {
            Some(t) => RecordOp::Put {
                key,
                value: encode(t),
            },
            None => RecordOp::Delete { key },
        });
        let started = self.start_at(&process, t.element, Map::new());
        let uncommitted = std::mem::take(&mut self.outbox.attached);
        started?;
        if !uncommitted.is_empty() {
            self.store.write_records(&uncommitted)?;
        }
        match next {
            Some(t) => self.index_start_timer(t),
            None => {
                self.unindex_start_timer(k);
            }
        }
        Ok(())
    }

    /// When the earliest pending timer (of any active instance, or a timer
    /// start event) is due.
    pub fn next_timer_due(&self) -> Result<Option<i64>, EngineError> {
        Ok(self.next_due()?.map(|(due, _)| due))
    }

    /// The current state of an instance.
    pub fn instance(&self, id: &str) -> Result<Option<InstanceState>, EngineError> {
        Ok(self.store.load(id)?)
    }

    pub fn instances(&self) -> Result<Vec<InstanceState>, EngineError> {
        Ok(self.store.instances()?)
    }

    /// Flushes deferred writes.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        Ok(self.store.flush()?)
    }

    fn run(
        &mut self,
        mut state: InstanceState,
        process: &Arc<CompiledProcess>,
        command: Command,
    ) -> Result<Status, EngineError> {
        self.run_one(&mut state, process, command)?;
        // Jobs a registered handler serves are done now, one command each,
        // and only once the command that created the job is committed: a
        // handler's side effects never run for a job the store lost.
        if !self.handlers.is_empty() {
            let mut rounds = 0;
            while let Some((job, info)) = self.next_handled_job(&state, process) {
                rounds += 1;
                if rounds > 100_000 {
                    break;
                }
                let handler = Arc::clone(&self.handlers[&info.job_type]);
                let cmd = match handler.handle(&info) {
                    TaskResult::Complete(variables) => Command::CompleteJob { job, variables },
                    TaskResult::Fail { message, retries } => Command::FailJob {
                        job,
                        message,
                        retries,
                    },
                    TaskResult::Error {
                        code,
                        message,
                        variables,
                    } => Command::ThrowError {
                        job,
                        code,
                        message,
                        variables,
                    },
                };
                self.run_one(&mut state, process, cmd)?;
            }
        }
        Ok(state.status)
    }

    /// One command: the core's events, committed with its wait records and the
    /// work it left (the durable outbox, `outbox.rs`), committed with it.
    fn run_one(
        &mut self,
        state: &mut InstanceState,
        process: &Arc<CompiledProcess>,
        command: Command,
    ) -> Result<(), EngineError> {
        // The children of call activities before the command: one that
        // goes away without its child ending has the child cancelled.
        let calls_before = (!state.calls.is_empty()).then(|| state.calls.clone());
        let was_active = state.status == Status::Active;
        let waits_before = waits::wait_keys(state);
        let events = {
            let decisions: Option<&dyn core::decisions::Decisions> = if self.decisions.is_empty() {
                None
            } else {
                Some(&self.decisions)
            };
            let ctx = Context {
                process,
                scripts: &self.scripts,
                decisions,
                time_zone: self.options.time_zone.as_ref(),
                now: self.clock.now_millis(),
                step_budget: self.options.step_budget,
            };
            core::process(ctx, state, command)?
        };
        // The work the command leaves is committed with it (the durable
        // outbox), together with the acknowledgement of the delivery this
        // command is, if it is one.
        let opened = if self.buffered.is_empty() {
            Vec::new()
        } else {
            waits::opened(&waits_before, state)
        };
        let work = self.outgoing(state, &events, calls_before, was_active, opened);
        let mut records = std::mem::take(&mut self.outbox.attached);
        records.extend(self.lifecycle_records(state, &events, was_active, process.history_ttl));
        records.extend(waits::wait_ops(&waits_before, &waits::wait_keys(state)));
        let staged = self
            .outbox
            .stage(&state.id, self.depth + 1, work, &mut records);
        self.store.commit_with(state, &events, &records)?;
        self.outbox.queue.extend(staged);
        Ok(())
    }

    /// A job waiting for a handler that is registered, if any.
    fn next_handled_job(
        &self,
        state: &InstanceState,
        process: &CompiledProcess,
    ) -> Option<(JobId, JobInfo)> {
        if state.status != Status::Active {
            return None;
        }
        state.jobs.iter().find_map(|(id, j)| {
            let token = state.tokens.get(&j.token)?;
            if token.state != TokenState::Job(*id)
                || j.retries == 0
                || !self.handlers.contains_key(&j.job_type)
            {
                return None;
            }
            Some((
                *id,
                JobInfo {
                    instance: state.id.clone(),
                    job: *id,
                    job_type: j.job_type.clone(),
                    element: process.element(j.element).id.clone(),
                    retries: j.retries,
                    variables: visible_variables(state, &j.token),
                },
            ))
        })
    }
}

fn start_timer_error(p: &CompiledProcess, element: ElementIdx, message: String) -> EngineError {
    EngineError::StartTimer {
        process: p.key.id.clone(),
        element: p.element(element).id.clone(),
        message,
    }
}

/// The variables a token sees, inner scopes shadowing outer ones.
pub fn visible_variables(state: &InstanceState, token: &u64) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(t) = state.tokens.get(token) {
        for s in state.scope_chain(t).iter().rev() {
            if let Some(scope) = state.scopes.get(s) {
                for (k, v) in &scope.variables {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// The job whose token waits at element `element` (the first, by id).
pub fn job_at(state: &InstanceState, element: crate::compile::ElementIdx) -> Option<JobId> {
    state
        .jobs
        .iter()
        .find(|(id, j)| {
            j.element == element
                && state
                    .tokens
                    .get(&j.token)
                    .is_some_and(|t| t.state == TokenState::Job(**id))
        })
        .map(|(id, _)| *id)
}

/// Element ids where tokens wait for something from outside (user and
/// receive tasks, jobs, timers, messages, signals, conditions; an
/// event-based gateway's token at the gateway), in token order.
pub fn waiting_at(state: &InstanceState, process: &CompiledProcess) -> Vec<String> {
    state
        .tokens
        .values()
        .filter(|t| {
            matches!(
                t.state,
                TokenState::Waiting | TokenState::Job(_) | TokenState::Timer(_) | TokenState::Event
            )
        })
        .map(|t| process.element(t.element).id.clone())
        .collect()
}

/// Element ids in completion order.
pub fn visited(state: &InstanceState, process: &CompiledProcess) -> Vec<String> {
    state
        .completed
        .iter()
        .map(|e| process.element(*e).id.clone())
        .collect()
}

/// Whether a file is BPMN or DMN: by its root element's namespace, or
/// (when that cannot be read) by a `.dmn` name.
pub fn resource_kind(name: &str, source: &str) -> ResourceKind {
    if decisions::is_dmn(name, source) {
        ResourceKind::Dmn
    } else {
        ResourceKind::Bpmn
    }
}

/// The child instances of `id` (called by its call activities), their
/// children, and so on: each parent before its children. Instances the store no
/// longer has are skipped.
pub fn descendants(engine: &Engine, id: &str) -> Result<Vec<InstanceState>, EngineError> {
    let mut out = Vec::new();
    let mut stack: Vec<String> = vec![id.to_string()];
    let mut seen: HashSet<String> = HashSet::new();
    // Children are found through the instances that name a parent.
    let all = engine.instances()?;
    let mut children: HashMap<String, Vec<InstanceState>> = HashMap::new();
    for s in all {
        if let Some(link) = &s.parent {
            children.entry(link.instance.clone()).or_default().push(s);
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| ord(&s.id));
    }
    while let Some(current) = stack.pop() {
        if !seen.insert(current.clone()) {
            continue;
        }
        if let Some(list) = children.remove(&current) {
            for child in list.iter().rev() {
                stack.push(child.id.clone());
            }
            out.extend(list);
        }
    }
    Ok(out)
}

/// Events that a command produced, for callers that want them.
pub type Events = Vec<Event>;
