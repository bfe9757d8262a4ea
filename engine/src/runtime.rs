//! The engine an application embeds: deployments, a store, task handlers
//! and a clock around the deterministic core.
//!
//! This is where I/O happens. Each call loads the instance, runs one
//! command through [`crate::core::process`], lets registered
//! [`TaskHandler`]s serve the jobs the command created (each handler result
//! is another command), and commits all resulting events with the new
//! checkpoint in one store batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::compile::{self, CompiledProcess, DeployError, ProcessKey, content_hash};
use crate::core::{
    self, Command, CommandError, Context, Event, IncidentId, InstanceState, JobId, Status,
    TokenState,
};
use crate::script::ScriptEngine;
use crate::store::{DeploymentRecord, Store, StoreError};

/// Most timers [`Engine::fire_due_timers`] fires in one call.
pub const MAX_TIMER_FIRINGS: usize = 100_000;

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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("unknown process `{0}`: expected the id of a deployed executable process")]
    UnknownProcess(String),
    #[error("unknown instance `{0}`")]
    UnknownInstance(String),
    #[error("instance `{instance}` runs process {key}, which is not deployed")]
    MissingDeployment { instance: String, key: ProcessKey },
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub step_budget: u64,
    pub script_limits: crate::script::ScriptLimits,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            step_budget: core::DEFAULT_STEP_BUDGET,
            script_limits: crate::script::ScriptLimits::default(),
        }
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
    handlers: HashMap<String, Arc<dyn TaskHandler>>,
    store: Box<dyn Store>,
    clock: Arc<dyn Clock>,
    options: EngineOptions,
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
            handlers: HashMap::new(),
            store,
            clock,
            options,
        }
    }

    pub fn register_handler(&mut self, job_type: &str, handler: impl TaskHandler + 'static) {
        self.handlers
            .insert(job_type.to_string(), Arc::new(handler));
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn store_mut(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }

    fn install(&mut self, d: &DeploymentRecord) -> Result<(), EngineError> {
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
    pub fn deploy(&mut self, name: &str, source: &str) -> Result<Vec<ProcessKey>, EngineError> {
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
            self.store.save_deployment(&DeploymentRecord {
                keys: keys.clone(),
                name: name.to_string(),
                source: source.to_string(),
            })?;
            for p in compiled {
                self.register(p);
            }
        }
        Ok(keys)
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

    /// Starts an instance of the latest version of `process_id` and runs it
    /// until it completes or every token waits. Returns the instance id.
    pub fn start(
        &mut self,
        process_id: &str,
        variables: Map<String, Value>,
    ) -> Result<String, EngineError> {
        let process = self
            .process(process_id)
            .cloned()
            .ok_or_else(|| EngineError::UnknownProcess(process_id.to_string()))?;
        let id = self.store.next_instance_number()?.to_string();
        let state = InstanceState::empty(&id, process.key.clone());
        self.run(state, &process, Command::Start { variables })?;
        Ok(id)
    }

    /// Starts an instance of the latest version of `process_id` at the
    /// element with BPMN id `element`: a start event with a message, signal
    /// or timer, or a target of an instantiating event-based gateway (its
    /// trigger happened, carrying `variables`). Returns the instance id.
    pub fn start_at(
        &mut self,
        process_id: &str,
        element: &str,
        variables: Map<String, Value>,
    ) -> Result<String, EngineError> {
        let process = self
            .process(process_id)
            .cloned()
            .ok_or_else(|| EngineError::UnknownProcess(process_id.to_string()))?;
        let e = process
            .element_by_id(element)
            .ok_or_else(|| CommandError::UnknownElement(element.to_string()))?;
        let id = self.store.next_instance_number()?.to_string();
        let state = InstanceState::empty(&id, process.key.clone());
        self.run(
            state,
            &process,
            Command::StartAt {
                element: e,
                variables,
            },
        )?;
        Ok(id)
    }

    /// Runs a command on an existing instance.
    pub fn execute(&mut self, instance: &str, command: Command) -> Result<Status, EngineError> {
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

    /// Fires every timer due at the clock's time (`due <= now`) across all
    /// stored instances, earliest first (ties by instance, then timer id),
    /// and returns how many fired. Each firing is one command; a firing can
    /// schedule or cancel other timers, so the next one is looked up again
    /// after each. This scans every stored instance per firing (fine for
    /// now; a due-time index in the store replaces it later). At most
    /// [`MAX_TIMER_FIRINGS`] fire per call, so a loop of zero-length timers
    /// cannot hang the caller.
    pub fn fire_due_timers(&mut self) -> Result<usize, EngineError> {
        let mut fired = 0;
        while fired < MAX_TIMER_FIRINGS {
            let now = self.clock.now_millis();
            let Some((due, instance, timer)) = self.earliest_timer()? else {
                break;
            };
            if due > now {
                break;
            }
            self.execute(&instance, Command::FireTimer { timer })?;
            fired += 1;
        }
        Ok(fired)
    }

    /// When the earliest pending timer of any active instance is due.
    pub fn next_timer_due(&self) -> Result<Option<i64>, EngineError> {
        Ok(self.earliest_timer()?.map(|(due, _, _)| due))
    }

    /// The earliest pending timer: (due, instance, timer); scans the store.
    fn earliest_timer(&self) -> Result<Option<(i64, String, core::TimerId)>, EngineError> {
        let mut best: Option<(i64, String, core::TimerId)> = None;
        for s in self.store.instances()? {
            if s.status != Status::Active {
                continue;
            }
            for (id, t) in &s.timers {
                let better = match &best {
                    None => true,
                    Some((due, inst, tid)) => (t.due, &s.id, *id) < (*due, inst, *tid),
                };
                if better {
                    best = Some((t.due, s.id.clone(), *id));
                }
            }
        }
        Ok(best)
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
        let ctx = Context {
            process,
            scripts: &self.scripts,
            now: self.clock.now_millis(),
            step_budget: self.options.step_budget,
        };
        let mut events = core::process(ctx, &mut state, command)?;
        // Jobs a registered handler serves are done now, in process.
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
                };
                let ctx = Context {
                    now: self.clock.now_millis(),
                    ..ctx
                };
                events.extend(core::process(ctx, &mut state, cmd)?);
            }
        }
        let status = state.status;
        self.store.commit(&state, &events)?;
        Ok(status)
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

/// Events that a command produced, for callers that want them.
pub type Events = Vec<Event>;
