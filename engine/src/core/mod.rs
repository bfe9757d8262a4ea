//! The deterministic engine core: a command and the current instance state
//! give events; applying them (and only that) changes the state.
//!
//! [`process`] is the single entry point. It does no I/O, reads no clock and
//! draws no random numbers: the time (`now`) and the instance id arrive with
//! the command, other ids come from a counter in the state. Scripts run
//! inside the step, sandboxed and without access to time or randomness, so
//! the same command on the same state always yields the same events.
//!
//! Tokens are moved by a work queue rather than recursion, so a long chain
//! or a 1,000-iteration loop costs no stack; a step budget stops a loop that
//! never reaches a wait state (it raises an incident instead of hanging).
//!
//! Behaviour per element family lives in [`tasks`], [`gateways`],
//! [`events`] (start, end, catch, throw and link events), [`triggers`]
//! (timers and subscriptions of catching elements, boundary events, event
//! sub-process starts), [`propagation`] (errors and escalations finding
//! their catcher) and [`containers`]; `Processor::activate` dispatches
//! to them with an exhaustive `match` on [`ElementKind`].

pub mod calls;
pub mod compensation;
pub mod containers;
pub mod decisions;
pub mod events;
pub mod gateways;
pub mod loops;
pub mod propagation;
pub mod state;
pub mod tasks;
pub mod triggers;

use std::collections::VecDeque;

use serde_json::{Map, Value};

use crate::compile::{CompiledProcess, ElementIdx, ElementKind, FlowIdx, MappingSource};
use crate::expr::Vars;
use crate::script::ScriptEngine;
pub use state::*;

/// The keys of the entries whose value satisfies `f`, in key order (ids
/// to act on, collected first because acting changes the map).
pub(crate) fn keys_where<'a, K: Copy + 'a, V: 'a>(
    entries: impl IntoIterator<Item = (&'a K, &'a V)>,
    f: impl Fn(&V) -> bool,
) -> Vec<K> {
    entries
        .into_iter()
        .filter(|(_, v)| f(v))
        .map(|(k, _)| *k)
        .collect()
}

/// Upper bound on element activations in one command.
pub const DEFAULT_STEP_BUDGET: u64 = 1_000_000;

/// What can be asked of an instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start the instance (state must be fresh) at the process's none start event.
    Start {
        variables: Map<String, Value>,
    },
    /// Start the instance (state must be fresh) at a start event with a
    /// message, signal or timer definition, or at a target of an
    /// instantiating event-based gateway: its trigger happened.
    StartAt {
        element: ElementIdx,
        variables: Map<String, Value>,
    },
    /// A message or signal reached an open subscription: it fires with the
    /// payload's variables.
    Trigger {
        subscription: SubscriptionId,
        variables: Map<String, Value>,
    },
    /// A job's worker reports a BPMN error: the job ends and the error
    /// travels to its nearest catcher (an incident when none catches it).
    ThrowError {
        job: JobId,
        code: String,
        message: Option<String>,
        variables: Map<String, Value>,
    },
    /// Start the instance (state must be fresh) as the child of a call
    /// activity: at the none start event, linked to the parent's token.
    StartCalled {
        parent: String,
        token: TokenId,
        variables: Map<String, Value>,
    },
    /// The child instance of the call activity at `token` completed with
    /// these (process-level) variables.
    ChildCompleted {
        token: TokenId,
        variables: Map<String, Value>,
    },
    /// The child of the call activity at `token` did not catch an error
    /// (`error`) or escalation: it travels on from the call activity.
    ChildThrew {
        token: TokenId,
        error: bool,
        code: String,
        message: Option<String>,
        variables: Map<String, Value>,
    },
    /// The child of the call activity at `token` could not be started
    /// (its process is not deployed, …): an incident at the call activity.
    /// Resolving it activates the call activity again.
    ChildFailed {
        token: TokenId,
        message: String,
    },
    /// Set process-level variables from outside (conditions are evaluated).
    SetVariables {
        variables: Map<String, Value>,
    },
    /// Complete a user task, receive task or job waiting at an element (by BPMN id).
    CompleteTask {
        element: String,
        variables: Map<String, Value>,
    },
    CompleteJob {
        job: JobId,
        variables: Map<String, Value>,
    },
    /// Report a failed job; `retries` overrides the remaining count.
    FailJob {
        job: JobId,
        message: String,
        retries: Option<u32>,
    },
    /// Resolve an incident; for a job incident, give it `retries` (default 1).
    ResolveIncident {
        incident: IncidentId,
        retries: Option<u32>,
    },
    /// Fire a due timer: its token completes the timer catch event and moves
    /// on; a boundary timer starts a token at its boundary event (and
    /// cancels the activity when interrupting).
    FireTimer {
        timer: TimerId,
    },
    Cancel,
}

/// A command refused: nothing happened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("instance is {status:?}: expected an active instance")]
    NotActive { status: Status },
    #[error("instance was already started")]
    AlreadyStarted,
    #[error("unknown element `{0}`: expected an element id of this process")]
    UnknownElement(String),
    #[error("nothing waits at `{0}`: expected a user task, receive task or job waiting there")]
    NothingWaiting(String),
    #[error("unknown job {0}")]
    UnknownJob(JobId),
    #[error("unknown incident {0}")]
    UnknownIncident(IncidentId),
    #[error("unknown timer {0}: expected a pending timer of this instance")]
    UnknownTimer(TimerId),
    #[error(
        "timer {timer} is not due: expected now ({now} ms) at or after its due time, found due at {due} ms"
    )]
    TimerNotDue { timer: TimerId, due: i64, now: i64 },
    #[error("the process has no none start event")]
    NoStartEvent,
    #[error("token {0} is not a call activity waiting for its child")]
    NotCalling(TokenId),
    #[error("unknown subscription {0}: expected an open subscription of this instance")]
    UnknownSubscription(SubscriptionId),
    #[error(
        "`{0}` does not start the process: expected a start event with a message, signal or timer, or a target of an instantiating event-based gateway"
    )]
    NotAStart(String),
}

impl CommandError {
    /// A stable code (`docs/validation.md`, run-time refusals).
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::NotActive { .. } => "ENG101",
            CommandError::UnknownElement(_) => "ENG102",
            CommandError::NothingWaiting(_) | CommandError::NotCalling(_) => "ENG103",
            CommandError::UnknownJob(_)
            | CommandError::UnknownIncident(_)
            | CommandError::UnknownTimer(_)
            | CommandError::UnknownSubscription(_) => "ENG104",
            CommandError::TimerNotDue { .. } => "ENG107",
            CommandError::AlreadyStarted
            | CommandError::NoStartEvent
            | CommandError::NotAStart(_) => "ENG108",
        }
    }
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("process", &self.process.key)
            .field("decisions", &self.decisions.is_some())
            .field("now", &self.now)
            .field("step_budget", &self.step_budget)
            .finish_non_exhaustive()
    }
}

/// What the core needs besides the state: the compiled process, the script
/// engine, the deployed decisions, the time of the command and the step
/// budget.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub process: &'a CompiledProcess,
    pub scripts: &'a ScriptEngine,
    /// Decisions business rule tasks evaluate (`None`: none deployed).
    pub decisions: Option<&'a dyn decisions::Decisions>,
    /// The time zone local date-times, calendar durations and cron
    /// expressions of timers are read in (`None`: UTC).
    pub time_zone: Option<&'a jiff::tz::TimeZone>,
    /// Milliseconds since the Unix epoch, supplied by the caller's clock.
    pub now: i64,
    pub step_budget: u64,
}

/// Runs one command against one instance. On `Ok`, `state` has had the
/// returned events applied; on `Err`, it is untouched.
pub fn process(
    ctx: Context<'_>,
    state: &mut InstanceState,
    command: Command,
) -> Result<Vec<Event>, CommandError> {
    let mut p = Processor {
        ctx,
        state,
        events: Vec::new(),
        work: VecDeque::new(),
        steps: 0,
        conditions_dirty: false,
    };
    p.command(command)?;
    p.run();
    Ok(p.events)
}

enum Work {
    /// Do the element's work.
    Activate(TokenId),
    /// The element's work is done: output mappings, then leave.
    Complete(TokenId),
    /// Take the outgoing flows.
    Leave(TokenId),
}

pub(crate) struct Processor<'a, 's> {
    pub ctx: Context<'a>,
    pub state: &'s mut InstanceState,
    pub events: Vec<Event>,
    work: VecDeque<Work>,
    steps: u64,
    /// Variables changed or a condition was opened since conditions were
    /// last evaluated.
    pub(crate) conditions_dirty: bool,
}

impl Processor<'_, '_> {
    /// Records an event and applies it: the only way state changes.
    pub fn emit(&mut self, e: Event) {
        if matches!(
            e,
            Event::VariablesSet { .. }
                | Event::SubscriptionOpened {
                    kind: SubscriptionKind::Conditional,
                    ..
                }
        ) {
            self.conditions_dirty = true;
        }
        self.state.apply(&e);
        self.events.push(e);
    }

    /// Puts a token on each entry of scope instance `scope` (its none start
    /// event, or its implicit starts) and activates them.
    pub(crate) fn enter_scope_at_entry(&mut self, def: crate::compile::ScopeIdx, scope: ScopeId) {
        let process = self.ctx.process;
        for &element in process.scope(def).entry() {
            let token = self.new_id();
            self.emit(Event::TokenCreated {
                token,
                element,
                scope,
            });
            self.work.push_back(Work::Activate(token));
        }
    }

    /// The BPMN id of the element a token stands on.
    pub(crate) fn element_id_of(&self, token: TokenId) -> String {
        self.state
            .tokens
            .get(&token)
            .map(|t| self.ctx.process.element(t.element).id.clone())
            .unwrap_or_default()
    }

    /// Opens the instance: started event, root scope, start variables.
    fn open_instance(&mut self, variables: Map<String, Value>) -> ScopeId {
        let p = self.ctx.process;
        self.emit(Event::InstanceStarted {
            id: self.state.id.clone(),
            process: p.key.clone(),
            at: self.ctx.now,
            business_key: self.state.business_key.clone(),
        });
        let root = self.new_id();
        self.emit(Event::ScopeOpened {
            scope: root,
            parent: None,
            def: Some(crate::compile::ScopeIdx(0)),
            owner: None,
        });
        if !variables.is_empty() {
            self.emit(Event::VariablesSet {
                scope: root,
                variables: variables.into_iter().collect(),
            });
        }
        containers::init_data_objects(self, root);
        triggers::open_event_subs(self, root);
        root
    }

    pub fn new_id(&self) -> u64 {
        self.state.peek_id()
    }

    fn command(&mut self, command: Command) -> Result<(), CommandError> {
        if !matches!(command, Command::Start { .. }) && self.state.status != Status::Active {
            return Err(CommandError::NotActive {
                status: self.state.status,
            });
        }
        match command {
            Command::Start { variables } => {
                if !self.state.scopes.is_empty() {
                    return Err(CommandError::AlreadyStarted);
                }
                let p = self.ctx.process;
                if p.scopes[0].entry().is_empty() {
                    return Err(CommandError::NoStartEvent);
                }
                let root = self.open_instance(variables);
                self.enter_scope_at_entry(crate::compile::ScopeIdx(0), root);
            }
            Command::StartAt { element, variables } => {
                if !self.state.scopes.is_empty() {
                    return Err(CommandError::AlreadyStarted);
                }
                let p = self.ctx.process;
                if !p.starts.contains(&element) {
                    return Err(CommandError::NotAStart(p.element(element).id.clone()));
                }
                let root = self.open_instance(Map::new());
                let gateway = match p.element(element).kind {
                    ElementKind::EventStart { .. } => None,
                    _ => p
                        .element(element)
                        .incoming
                        .first()
                        .map(|f| p.flow(*f).source),
                };
                let token = self.new_id();
                self.emit(Event::TokenCreated {
                    token,
                    element: gateway.unwrap_or(element),
                    scope: root,
                });
                if gateway.is_some() {
                    self.emit(Event::ElementCompleted {
                        token,
                        element: gateway.unwrap_or(element),
                    });
                    self.emit(Event::TokenMoved { token, element });
                }
                if !variables.is_empty() {
                    self.set_result_variables(token, variables.into_iter().collect());
                }
                self.work.push_back(Work::Complete(token));
            }
            Command::Trigger {
                subscription,
                variables,
            } => {
                if !self.state.subscriptions.contains_key(&subscription) {
                    return Err(CommandError::UnknownSubscription(subscription));
                }
                triggers::fire(
                    self,
                    triggers::Source::Subscription(subscription),
                    variables,
                );
            }
            Command::ThrowError {
                job,
                code,
                message,
                variables,
            } => {
                let token = self
                    .state
                    .jobs
                    .get(&job)
                    .map(|j| j.token)
                    .ok_or(CommandError::UnknownJob(job))?;
                self.emit(Event::JobRemoved { job });
                self.emit(Event::TokenStateChanged {
                    token,
                    state: TokenState::Active,
                });
                self.throw_error(token, code, message, variables);
            }
            Command::SetVariables { variables } => {
                if let Some(root) = self.state.root_scope()
                    && !variables.is_empty()
                {
                    self.emit(Event::VariablesSet {
                        scope: root,
                        variables: variables.into_iter().collect(),
                    });
                }
            }
            Command::CompleteTask { element, variables } => {
                let e = self
                    .ctx
                    .process
                    .element_by_id(&element)
                    .ok_or_else(|| CommandError::UnknownElement(element.clone()))?;
                let receive = matches!(
                    self.ctx.process.element(e).kind,
                    ElementKind::ReceiveTask { .. }
                );
                let found = self.state.tokens.iter().find(|(_, t)| {
                    t.element == e
                        && (matches!(t.state, TokenState::Waiting | TokenState::Job(_))
                            || (receive && t.state == TokenState::Event))
                });
                let Some((&token, t)) = found else {
                    return Err(CommandError::NothingWaiting(element));
                };
                match t.state {
                    TokenState::Job(job) => self.emit(Event::JobRemoved { job }),
                    TokenState::Event => {
                        // The receive task's own message subscription ends;
                        // its boundary events stay until it completes.
                        let own: Vec<SubscriptionId> = self
                            .state
                            .subscriptions
                            .iter()
                            .filter(|(_, s)| s.token == Some(token) && s.element == e)
                            .map(|(id, _)| *id)
                            .collect();
                        for subscription in own {
                            self.emit(Event::SubscriptionClosed { subscription });
                        }
                    }
                    _ => {}
                }
                self.complete_with(token, variables);
            }
            Command::CompleteJob { job, variables } => {
                let token = self
                    .state
                    .jobs
                    .get(&job)
                    .map(|j| j.token)
                    .ok_or(CommandError::UnknownJob(job))?;
                self.emit(Event::JobRemoved { job });
                self.complete_with(token, variables);
            }
            Command::FailJob {
                job,
                message,
                retries,
            } => {
                let j = self
                    .state
                    .jobs
                    .get(&job)
                    .cloned()
                    .ok_or(CommandError::UnknownJob(job))?;
                let left = retries.unwrap_or(j.retries.saturating_sub(1));
                self.emit(Event::JobFailed {
                    job,
                    retries: left,
                    message: message.clone(),
                });
                if left == 0 {
                    let incident = self.new_id();
                    self.emit(Event::IncidentRaised {
                        incident,
                        token: j.token,
                        element: j.element,
                        job: Some(job),
                        on_leave: false,
                        message,
                        kind: Some(IncidentKind::FailedJob),
                    });
                }
            }
            Command::ResolveIncident { incident, retries } => {
                let inc = self
                    .state
                    .incidents
                    .get(&incident)
                    .cloned()
                    .ok_or(CommandError::UnknownIncident(incident))?;
                self.emit(Event::IncidentResolved { incident });
                match inc.job {
                    Some(job) => {
                        self.emit(Event::JobRetriesUpdated {
                            job,
                            retries: retries.unwrap_or(1).max(1),
                        });
                        self.emit(Event::TokenStateChanged {
                            token: inc.token,
                            state: TokenState::Job(job),
                        });
                    }
                    None => {
                        self.emit(Event::TokenStateChanged {
                            token: inc.token,
                            state: TokenState::Active,
                        });
                        self.work.push_back(if inc.on_leave {
                            Work::Leave(inc.token)
                        } else {
                            Work::Activate(inc.token)
                        });
                    }
                }
            }
            Command::FireTimer { timer } => {
                let t = self
                    .state
                    .timers
                    .get(&timer)
                    .ok_or(CommandError::UnknownTimer(timer))?;
                if t.due > self.ctx.now {
                    return Err(CommandError::TimerNotDue {
                        timer,
                        due: t.due,
                        now: self.ctx.now,
                    });
                }
                let token = t.token;
                let legacy = self
                    .state
                    .tokens
                    .get(&token)
                    .is_some_and(|tk| tk.state == TokenState::Timer(timer));
                if legacy {
                    // A lone timer catch event: its token moves on.
                    self.emit(Event::TimerFired { timer });
                    self.work.push_back(Work::Complete(token));
                } else {
                    triggers::fire(self, triggers::Source::Timer(timer), Map::new());
                }
            }
            Command::StartCalled {
                parent,
                token,
                variables,
            } => {
                if !self.state.scopes.is_empty() {
                    return Err(CommandError::AlreadyStarted);
                }
                let p = self.ctx.process;
                if p.scopes[0].entry().is_empty() {
                    return Err(CommandError::NoStartEvent);
                }
                let root = self.open_instance(variables);
                self.emit(Event::CalledBy {
                    instance: parent,
                    token,
                });
                self.enter_scope_at_entry(crate::compile::ScopeIdx(0), root);
            }
            Command::ChildCompleted { token, variables } => {
                let spec = self.calling(token)?;
                self.emit(Event::ChildEnded { token });
                self.emit(Event::TokenStateChanged {
                    token,
                    state: TokenState::Active,
                });
                let (mapped, keep_out) = {
                    let el = self
                        .state
                        .tokens
                        .get(&token)
                        .map(|t| self.ctx.process.element(t.element));
                    let mapped = el.is_some_and(|e| e.outputs.is_some() && e.outputs_only);
                    // An inner instance of a multi-instance call: the
                    // child must not write back the body's bookkeeping it
                    // was given (counters, element variable, collection).
                    let keep_out: Vec<String> = match el.and_then(|e| e.looping.as_deref()) {
                        Some(l) if loops::is_inner(self, token) => loops::bookkeeping(l),
                        _ => Vec::new(),
                    };
                    (mapped, keep_out)
                };
                match calls::returned(self, &spec.outputs, mapped, &variables) {
                    Ok(mut vars) => {
                        vars.retain(|(k, _)| !keep_out.contains(k));
                        self.set_result_variables(token, vars);
                        self.work.push_back(Work::Complete(token));
                    }
                    Err(msg) => self.incident(token, false, msg),
                }
            }
            Command::ChildThrew {
                token,
                error,
                code,
                message,
                variables,
            } => {
                let spec = self.calling(token)?;
                // Camunda 7 passes the call's outputs before a catcher runs
                // (caught or not); only they reach the parent then.
                let variables = if spec.outputs_on_throw {
                    match calls::returned(self, &spec.outputs, false, &variables) {
                        Ok(vars) => {
                            self.set_propagating(token, vars);
                            Map::new()
                        }
                        Err(msg) => {
                            self.incident(token, false, msg);
                            return Ok(());
                        }
                    }
                } else {
                    variables
                };
                let thrown = if error {
                    self.emit(Event::ChildEnded { token });
                    self.emit(Event::TokenStateChanged {
                        token,
                        state: TokenState::Active,
                    });
                    propagation::Thrown::Error { code, message }
                } else {
                    propagation::Thrown::Escalation { code }
                };
                if !propagation::propagate(self, token, true, &thrown, variables.clone()) {
                    if error && self.ctx.process.semantics.uncaught_error_ends_token {
                        // Camunda 7: the child's error ends the child like a
                        // none end event, and the call activity goes on.
                        self.work.push_back(Work::Complete(token));
                    } else {
                        self.uncaught(token, &thrown, variables);
                    }
                }
            }
            Command::ChildFailed { token, message } => {
                self.calling(token)?;
                self.emit(Event::ChildEnded { token });
                self.incident_of(IncidentKind::CallActivity, token, false, message);
            }
            Command::Cancel => self.cancel_instance(),
        }
        Ok(())
    }

    /// The call spec of a call activity waiting for its child.
    fn calling(&self, token: TokenId) -> Result<Box<crate::compile::CallSpec>, CommandError> {
        let t = self
            .state
            .tokens
            .get(&token)
            .filter(|t| t.state == TokenState::Called)
            .ok_or(CommandError::NotCalling(token))?;
        match &self.ctx.process.element(t.element).kind {
            ElementKind::CallActivity(spec) => Ok(spec.clone()),
            _ => Err(CommandError::NotCalling(token)),
        }
    }

    /// An error or escalation nobody in this instance caught. In a called
    /// instance it goes to the parent's call activity (an error ends this
    /// instance); otherwise an error raises an incident at the thrower and
    /// an escalation is dropped.
    pub(crate) fn uncaught(
        &mut self,
        token: TokenId,
        thrown: &propagation::Thrown,
        variables: Map<String, Value>,
    ) {
        let (error, code, message) = match thrown {
            propagation::Thrown::Error { code, message } => (true, code.clone(), message.clone()),
            propagation::Thrown::Escalation { code } => (false, code.clone(), None),
        };
        if self.state.parent.is_some() {
            self.emit(Event::ThrownToParent {
                error,
                code,
                message,
                variables,
            });
            if error {
                self.cancel_instance();
            }
            return;
        }
        if error && self.ctx.process.semantics.uncaught_error_ends_token {
            self.end_uncaught(token);
            return;
        }
        if error {
            let id = self.element_id_of(token);
            let detail = message.map(|m| format!(" ({m})")).unwrap_or_default();
            self.incident_of(
                IncidentKind::UnhandledError,
                token,
                false,
                format!(
                    "error `{code}`{detail} thrown at `{id}` was not caught: expected an error boundary event or error event sub-process that catches it, found none"
                ),
            );
        }
    }

    /// Camunda 7: an error nothing catches ends the token that threw it
    /// like a none end event — an error end event completes, an activity
    /// whose worker threw is removed — and its scope completes when that
    /// was its last token.
    fn end_uncaught(&mut self, token: TokenId) {
        let Some((element, scope, local)) = self
            .state
            .tokens
            .get(&token)
            .map(|t| (t.element, t.scope, t.local))
        else {
            return;
        };
        if matches!(
            self.ctx.process.element(element).kind,
            ElementKind::Throw { .. }
        ) {
            events::end(self, token);
        } else {
            triggers::cancel_activity(self, token, local);
            containers::check_scope_complete(self, scope);
        }
    }

    /// Ends the instance as cancelled, removing everything in it.
    fn cancel_instance(&mut self) {
        let scopes: Vec<ScopeId> = self.state.scopes.keys().copied().collect();
        for timer in self.state.timers.keys().copied().collect::<Vec<_>>() {
            self.emit(Event::TimerCancelled { timer });
        }
        for subscription in self.state.subscriptions.keys().copied().collect::<Vec<_>>() {
            self.emit(Event::SubscriptionClosed { subscription });
        }
        for job in self.state.jobs.keys().copied().collect::<Vec<_>>() {
            self.emit(Event::JobRemoved { job });
        }
        for incident in self.state.incidents.keys().copied().collect::<Vec<_>>() {
            self.emit(Event::IncidentResolved { incident });
        }
        for token in self.state.tokens.keys().copied().collect::<Vec<_>>() {
            self.emit(Event::TokenRemoved { token });
        }
        let root = self.state.root_scope();
        for scope in scopes.into_iter().filter(|s| Some(*s) != root) {
            self.emit(Event::ScopeClosed { scope });
        }
        self.emit(Event::InstanceCancelled { at: self.ctx.now });
        self.work.clear();
    }

    /// Completes a waiting token with variables from outside.
    fn complete_with(&mut self, token: TokenId, variables: Map<String, Value>) {
        self.emit(Event::TokenStateChanged {
            token,
            state: TokenState::Active,
        });
        self.set_result_variables(token, variables.into_iter().collect());
        self.work.push_back(Work::Complete(token));
    }

    fn run(&mut self) {
        loop {
            while let Some(w) = self.work.pop_front() {
                if self.state.status != Status::Active {
                    return;
                }
                self.steps += 1;
                if self.steps > self.ctx.step_budget {
                    let token = match w {
                        Work::Activate(t) | Work::Complete(t) | Work::Leave(t) => t,
                    };
                    let budget = self.ctx.step_budget;
                    self.incident_of(
                        IncidentKind::StepBudget,
                        token,
                        false,
                        format!(
                            "the command exceeded the step budget of {budget} element activations (a loop without a wait state?)"
                        ),
                    );
                    self.work.clear();
                    return;
                }
                match w {
                    Work::Activate(t) => self.activate(t),
                    Work::Complete(t) => self.complete(t),
                    Work::Leave(t) => self.leave(t),
                }
            }
            // Quiescent: inclusive joins may now be able to fire, and
            // conditions that changed variables made true.
            if !gateways::fire_ready_inclusive_joins(self) && !triggers::fire_conditions(self) {
                return;
            }
        }
    }

    pub(crate) fn schedule_activate(&mut self, t: TokenId) {
        self.work.push_back(Work::Activate(t));
    }

    pub(crate) fn schedule_complete(&mut self, t: TokenId) {
        self.work.push_back(Work::Complete(t));
    }

    pub(crate) fn schedule_leave(&mut self, t: TokenId) {
        self.work.push_back(Work::Leave(t));
    }

    /// Does the work of the element a token stands on.
    fn activate(&mut self, token: TokenId) {
        let Some(t) = self.state.tokens.get(&token) else {
            return;
        };
        let element = t.element;
        let p = self.ctx.process;
        let el = p.element(element);
        let inner = el.looping.is_some() && loops::is_inner(self, token);
        if let Some(spec) = &el.looping
            && !inner
        {
            loops::activate_body(self, token, spec);
            return;
        }
        let own_scope = matches!(el.kind, ElementKind::SubProcess { .. });
        if !el.inputs.is_empty() && t.local.is_none() && !own_scope && !self.apply_inputs(token) {
            return;
        }
        if !el.boundaries.is_empty() && !inner && !triggers::open_boundaries(self, token) {
            return;
        }
        match &el.kind {
            ElementKind::StartEvent => events::start(self, token),
            ElementKind::EndEvent => events::end(self, token),
            ElementKind::TerminateEndEvent => events::terminate(self, token),
            ElementKind::PassThrough => tasks::pass_through(self, token),
            ElementKind::Script {
                body,
                result_variable,
            } => tasks::script(self, token, body, result_variable.as_deref()),
            ElementKind::ExpressionTask {
                expr,
                result_variable,
            } => tasks::expression(self, token, expr, result_variable.as_deref()),
            ElementKind::Job { job_type, retries } => tasks::job(self, token, job_type, *retries),
            ElementKind::UserTask => tasks::wait(self, token),
            ElementKind::ReceiveTask { message } => events::receive(self, token, message.as_ref()),
            ElementKind::ExclusiveGateway => gateways::exclusive(self, token),
            ElementKind::ParallelGateway => gateways::parallel(self, token),
            ElementKind::InclusiveGateway { .. } => gateways::inclusive(self, token),
            ElementKind::EventGateway => gateways::event_based(self, token),
            ElementKind::ComplexGateway { .. } => gateways::inclusive(self, token),
            ElementKind::SubProcess { scope, .. } => containers::enter(self, token, *scope),
            ElementKind::AdHocSubProcess { scope, .. } => {
                containers::enter_ad_hoc(self, token, *scope)
            }
            ElementKind::CancelEnd => compensation::cancel_end(self, token),
            ElementKind::CallActivity(spec) => calls::activate(self, token, spec),
            ElementKind::BusinessRule(spec) => decisions::evaluate(self, token, spec),
            // Entered by the trigger of its start event, never by a flow
            // (tokens are placed here by `triggers::start_event_sub`).
            ElementKind::EventSubProcess { .. } => {}
            ElementKind::EventStart { .. } => events::event_start(self, token),
            ElementKind::Catch { triggers, .. } => events::catch(self, token, triggers),
            // Started by its activity's trigger, never by a flow (compile
            // refuses incoming flows); a token here just completes it.
            ElementKind::Boundary { .. } => self.schedule_complete(token),
            ElementKind::Throw { throws } => events::throw(self, token, throws),
            ElementKind::LinkThrow { target } => events::link(self, token, *target),
        }
    }

    /// Output mappings, the completion record, then the way out.
    fn complete(&mut self, token: TokenId) {
        let Some(t) = self.state.tokens.get(&token) else {
            return;
        };
        let element = t.element;
        let local = t.local;
        if !self.apply_outputs(token) {
            return;
        }
        let el = self.ctx.process.element(element);
        if let Some(spec) = &el.looping
            && loops::is_inner(self, token)
            && !loops::collect_output(self, token, spec)
        {
            return;
        }
        if el.compensation.is_some()
            || matches!(
                el.kind,
                ElementKind::SubProcess { .. } | ElementKind::AdHocSubProcess { .. }
            )
        {
            compensation::record(self, token, local);
        }
        if let Some(l) = local {
            self.emit(Event::TokenLocalScope { token, scope: None });
            self.emit(Event::ScopeClosed { scope: l });
        }
        if !el.boundaries.is_empty() {
            triggers::close_token(self, token);
        }
        self.emit(Event::ElementCompleted { token, element });
        if let Some(scope) = self.state.tokens.get(&token).map(|t| t.scope) {
            containers::after_inner_completion(self, scope);
        }
        self.leave(token);
    }

    /// Takes the outgoing flows of a completed activity or event: every
    /// unconditioned flow and every flow whose condition holds (an implicit
    /// parallel/inclusive split, BPMN 2.0.2 §13.2.1); the default flow when
    /// no conditioned flow was taken. No outgoing flow consumes the token.
    fn leave(&mut self, token: TokenId) {
        let Some(t) = self.state.tokens.get(&token) else {
            return;
        };
        let el = self.ctx.process.element(t.element);
        if let Some(spec) = &el.looping
            && loops::is_inner(self, token)
        {
            loops::inner_done(self, token, spec);
            return;
        }
        if el.for_compensation {
            compensation::handler_done(self, token);
            return;
        }
        if el.outgoing.is_empty() {
            self.consume(token);
            return;
        }
        // The common case, one unconditioned flow: nothing to evaluate or collect.
        if let [f] = el.outgoing[..]
            && el.default_flow.is_none()
            && self.ctx.process.flow(f).condition.is_none()
        {
            self.take(token, &[f]);
            return;
        }
        match self.select_flows(token, false) {
            Ok(taken) => self.take(token, &taken),
            Err(msg) => self.incident(token, true, msg),
        }
    }

    /// The outgoing flows a token leaves its element by: those whose
    /// condition holds (an unconditioned flow always holds), in document
    /// order, the default flow excluded; only the first one when `first_only`
    /// (exclusive gateways). The default flow when none holds. `Err` carries
    /// the incident message: a condition failed to evaluate, or no flow can
    /// be taken.
    pub(crate) fn select_flows(
        &self,
        token: TokenId,
        first_only: bool,
    ) -> Result<Vec<FlowIdx>, String> {
        let Some(t) = self.state.tokens.get(&token) else {
            return Ok(Vec::new());
        };
        let el = self.ctx.process.element(t.element);
        let mut taken: Vec<FlowIdx> = Vec::with_capacity(el.outgoing.len());
        for &f in &el.outgoing {
            if Some(f) == el.default_flow {
                continue;
            }
            let holds = match &self.ctx.process.flow(f).condition {
                None => true,
                Some(c) => self.eval_bool(token, c).map_err(|msg| {
                    let id = &self.ctx.process.flow(f).id;
                    format!("condition of `{id}`: {msg}")
                })?,
            };
            if holds {
                taken.push(f);
                if first_only {
                    break;
                }
            }
        }
        if taken.is_empty() {
            match el.default_flow {
                Some(d) => taken.push(d),
                None => {
                    return Err(format!(
                        "no outgoing sequence flow of `{}` can be taken: expected a condition to hold or a default flow, found neither",
                        el.id
                    ));
                }
            }
        }
        Ok(taken)
    }

    /// Moves `token` along the first flow and new tokens along the others.
    pub(crate) fn take(&mut self, token: TokenId, flows: &[FlowIdx]) {
        let Some(scope) = self.state.tokens.get(&token).map(|t| t.scope) else {
            return;
        };
        // Every token is placed before any arrives: tokens that reach one
        // inclusive join together merge there (the join sees the others
        // coming).
        let mut moved = Vec::with_capacity(flows.len());
        for (i, &f) in flows.iter().enumerate() {
            let target = self.ctx.process.flow(f).target;
            let tk = if i == 0 {
                self.emit(Event::TokenMoved {
                    token,
                    element: target,
                });
                token
            } else {
                let tk = self.new_id();
                self.emit(Event::TokenCreated {
                    token: tk,
                    element: target,
                    scope,
                });
                tk
            };
            moved.push((tk, f));
        }
        for (tk, f) in moved {
            self.arrive(tk, f);
        }
    }

    /// A token arrives at its element along `flow`: joining gateways collect
    /// it, everything else is activated.
    fn arrive(&mut self, token: TokenId, flow: FlowIdx) {
        let Some(t) = self.state.tokens.get(&token) else {
            return;
        };
        let el = self.ctx.process.element(t.element);
        let joins = el.incoming.len() > 1
            && matches!(
                el.kind,
                ElementKind::ParallelGateway
                    | ElementKind::InclusiveGateway { .. }
                    | ElementKind::ComplexGateway { .. }
            );
        if joins {
            gateways::join_arrive(self, token, flow);
        } else {
            self.work.push_back(Work::Activate(token));
        }
    }

    /// The token ends here; its scope may be complete.
    pub(crate) fn consume(&mut self, token: TokenId) {
        let Some(scope) = self.state.tokens.get(&token).map(|t| t.scope) else {
            return;
        };
        self.emit(Event::TokenRemoved { token });
        containers::check_scope_complete(self, scope);
    }

    /// An incident at `token`: an expression that failed (a condition,
    /// when raised on the way out).
    pub(crate) fn incident(&mut self, token: TokenId, on_leave: bool, message: String) {
        let kind = if on_leave {
            IncidentKind::Condition
        } else {
            IncidentKind::Expression
        };
        self.incident_of(kind, token, on_leave, message);
    }

    /// An incident of `kind` at `token`.
    pub(crate) fn incident_of(
        &mut self,
        kind: IncidentKind,
        token: TokenId,
        on_leave: bool,
        message: String,
    ) {
        let Some(element) = self.state.tokens.get(&token).map(|t| t.element) else {
            return;
        };
        let incident = self.new_id();
        self.emit(Event::IncidentRaised {
            incident,
            token,
            element,
            job: None,
            on_leave,
            message,
            kind: Some(kind),
        });
    }

    // ------------------------------------------------------------ variables

    /// Throws a BPMN error at the token's own activity: its boundary events
    /// first, then outwards; an incident when nothing catches it.
    pub(crate) fn throw_error(
        &mut self,
        token: TokenId,
        code: String,
        message: Option<String>,
        variables: Map<String, Value>,
    ) {
        let thrown = propagation::Thrown::Error { code, message };
        if !propagation::propagate(self, token, true, &thrown, variables.clone()) {
            self.uncaught(token, &thrown, variables);
        }
    }

    /// Evaluates with the variables at `at`.
    pub(crate) fn eval_at(
        &self,
        at: triggers::VarsAt,
        c: &crate::expr::Expr,
    ) -> Result<Value, String> {
        match at {
            triggers::VarsAt::Token(t) => self.eval(t, c),
            triggers::VarsAt::Scope(s) => {
                let scripts = self.ctx.scripts;
                self.with_scope_vars(s, |v| c.eval(scripts, v))
                    .map_err(|e| e.message)
            }
        }
    }

    pub(crate) fn eval_bool_at(
        &self,
        at: triggers::VarsAt,
        c: &crate::expr::Expr,
    ) -> Result<bool, String> {
        match at {
            triggers::VarsAt::Token(t) => self.eval_bool(t, c),
            triggers::VarsAt::Scope(s) => {
                let scripts = self.ctx.scripts;
                self.with_scope_vars(s, |v| c.eval_bool(scripts, v))
                    .map_err(|e| e.message)
            }
        }
    }

    /// Evaluates with the variables visible in a scope instance.
    fn with_scope_vars<R>(&self, scope: ScopeId, f: impl FnOnce(Vars<'_>) -> R) -> R {
        self.with_scope_vars_and(scope, None, f)
    }

    /// Evaluates with `extra` in front of the variables of a scope instance.
    fn with_scope_vars_and<R>(
        &self,
        scope: ScopeId,
        extra: Option<&Map<String, Value>>,
        f: impl FnOnce(Vars<'_>) -> R,
    ) -> R {
        let scopes = &self.state.scopes;
        let chain: Vec<&Map<String, Value>> = extra
            .into_iter()
            .chain(
                std::iter::successors(scopes.get(&scope), |s| {
                    s.parent.and_then(|p| scopes.get(&p))
                })
                .take(10_000)
                .map(|s| &s.variables),
            )
            .collect();
        f(Vars::new(&chain).with_execution(self.execution()))
    }

    /// What expressions read of this instance (`execution.…`).
    fn execution(&self) -> crate::expr::Execution<'_> {
        crate::expr::Execution {
            instance: &self.state.id,
            business_key: self.state.business_key.as_deref(),
            now: self.ctx.now,
        }
    }

    /// A condition over a scope instance's variables plus `extra`.
    pub(crate) fn eval_bool_with(
        &self,
        scope: ScopeId,
        extra: &Map<String, Value>,
        c: &crate::expr::Expr,
    ) -> Result<bool, String> {
        let scripts = self.ctx.scripts;
        self.with_scope_vars_and(scope, Some(extra), |v| c.eval_bool(scripts, v))
            .map_err(|e| e.message)
    }

    /// Evaluates with the token's visible variables.
    pub(crate) fn with_vars<R>(&self, token: TokenId, f: impl FnOnce(Vars<'_>) -> R) -> R {
        // Up to INLINE layers live on the stack: an evaluation allocates nothing here.
        const INLINE: usize = 8;
        let empty = Map::new();
        let mut inline: [&Map<String, Value>; INLINE] = [&empty; INLINE];
        let mut n = 0;
        let mut spill: Vec<&Map<String, Value>> = Vec::new();
        let scopes = &self.state.scopes;
        let t = self.state.tokens.get(&token);
        let local = t.and_then(|t| t.local).and_then(|l| scopes.get(&l));
        let chain = std::iter::successors(t.and_then(|t| scopes.get(&t.scope)), |s| {
            s.parent.and_then(|p| scopes.get(&p))
        })
        .take(10_000);
        for s in local.into_iter().chain(chain) {
            if n < INLINE {
                inline[n] = &s.variables;
                n += 1;
            } else {
                if spill.is_empty() {
                    spill.extend_from_slice(&inline);
                }
                spill.push(&s.variables);
            }
        }
        let execution = self.execution();
        if spill.is_empty() {
            f(Vars::new(&inline[..n]).with_execution(execution))
        } else {
            f(Vars::new(&spill).with_execution(execution))
        }
    }

    pub(crate) fn eval_bool(&self, token: TokenId, c: &crate::expr::Expr) -> Result<bool, String> {
        let scripts = self.ctx.scripts;
        self.with_vars(token, |v| c.eval_bool(scripts, v))
            .map_err(|e| e.message)
    }

    pub(crate) fn eval(&self, token: TokenId, c: &crate::expr::Expr) -> Result<Value, String> {
        let scripts = self.ctx.scripts;
        self.with_vars(token, |v| c.eval(scripts, v))
            .map_err(|e| e.message)
    }

    /// Sets variables produced by the element a token is on: into its local
    /// scope when the element has Camunda 8 output mappings (they pick what
    /// leaves), otherwise propagated ([`Processor::set_propagating`]).
    pub(crate) fn set_result_variables(&mut self, token: TokenId, vars: Vec<(String, Value)>) {
        if vars.is_empty() {
            return;
        }
        let Some(t) = self.state.tokens.get(&token) else {
            return;
        };
        let el = self.ctx.process.element(t.element);
        if el.outputs.is_some() && el.outputs_only {
            let local = match t.local {
                Some(l) => l,
                None => {
                    let l = self.new_id();
                    let parent = t.scope;
                    self.emit(Event::ScopeOpened {
                        scope: l,
                        parent: Some(parent),
                        def: None,
                        owner: Some(token),
                    });
                    self.emit(Event::TokenLocalScope {
                        token,
                        scope: Some(l),
                    });
                    l
                }
            };
            self.emit(Event::VariablesSet {
                scope: local,
                variables: vars,
            });
        } else {
            self.set_propagating(token, vars);
        }
    }

    /// Sets each variable in the nearest scope around the token (its local
    /// scope excluded) that already has it, else at process level — how
    /// Camunda 8 propagates variables.
    pub(crate) fn set_propagating(&mut self, token: TokenId, vars: Vec<(String, Value)>) {
        let Some(t) = self.state.tokens.get(&token) else {
            return;
        };
        // A token at process level (the common case): everything goes there.
        if self
            .state
            .scopes
            .get(&t.scope)
            .is_some_and(|s| s.parent.is_none())
        {
            let scope = t.scope;
            self.emit(Event::VariablesSet {
                scope,
                variables: vars,
            });
            return;
        }
        let mut chain = Vec::with_capacity(2);
        let mut cur = Some(t.scope);
        while let Some(s) = cur {
            chain.push(s);
            cur = self.state.scopes.get(&s).and_then(|x| x.parent);
        }
        let root = *chain.last().unwrap_or(&t.scope);
        let mut groups: Vec<(ScopeId, Vec<(String, Value)>)> = Vec::new();
        for (k, v) in vars {
            let target = chain
                .iter()
                .copied()
                .find(|s| {
                    self.state
                        .scopes
                        .get(s)
                        .is_some_and(|x| x.variables.contains_key(&k))
                })
                .unwrap_or(root);
            match groups.iter_mut().find(|(s, _)| *s == target) {
                Some((_, g)) => g.push((k, v)),
                None => groups.push((target, vec![(k, v)])),
            }
        }
        for (scope, variables) in groups {
            self.emit(Event::VariablesSet { scope, variables });
        }
    }

    /// Evaluates the element's input mappings into a new local scope.
    /// Returns false when an incident stopped the token.
    fn apply_inputs(&mut self, token: TokenId) -> bool {
        let Some(t) = self.state.tokens.get(&token) else {
            return false;
        };
        let local = self.new_id();
        let parent = t.scope;
        self.emit(Event::ScopeOpened {
            scope: local,
            parent: Some(parent),
            def: None,
            owner: Some(token),
        });
        self.emit(Event::TokenLocalScope {
            token,
            scope: Some(local),
        });
        self.apply_inputs_into(token, local)
    }

    /// Evaluates the element's input mappings into `local`, the token's
    /// (already open) local scope. On failure the scope is closed again and
    /// an incident raised; returns false then.
    pub(crate) fn apply_inputs_into(&mut self, token: TokenId, local: ScopeId) -> bool {
        let Some(t) = self.state.tokens.get(&token) else {
            return false;
        };
        let el = self.ctx.process.element(t.element);
        for m in &el.inputs {
            let effects = std::cell::RefCell::new(Vec::new());
            let value = match self.mapping_value_with(token, &m.source, Some(&effects)) {
                Ok(v) => v,
                Err(msg) => {
                    // Inputs are all-or-nothing: a retry evaluates them afresh.
                    self.emit(Event::TokenLocalScope { token, scope: None });
                    self.emit(Event::ScopeClosed { scope: local });
                    let target = m.target.clone();
                    self.incident_of(
                        IncidentKind::IoMapping,
                        token,
                        false,
                        format!("input mapping `{target}`: {msg}"),
                    );
                    return false;
                }
            };
            self.emit(Event::VariablesSet {
                scope: local,
                variables: vec![(m.target.clone(), value)],
            });
            // A parameter script's `execution.setVariable` calls (Camunda 7).
            let set = effects.into_inner();
            if !set.is_empty() {
                self.set_propagating(token, set);
            }
        }
        true
    }

    /// The value of a mapping source, lists and maps evaluated item by item.
    pub(crate) fn mapping_value(
        &self,
        token: TokenId,
        source: &MappingSource,
    ) -> Result<Value, String> {
        self.mapping_value_with(token, source, None)
    }

    /// [`Self::mapping_value`], collecting `execution.setVariable` calls
    /// in `effects` when given.
    fn mapping_value_with(
        &self,
        token: TokenId,
        source: &MappingSource,
        effects: Option<&std::cell::RefCell<Vec<(String, Value)>>>,
    ) -> Result<Value, String> {
        match source {
            MappingSource::Literal(v) => Ok(v.clone()),
            MappingSource::Expr(e) => match effects {
                None => self.eval(token, e),
                Some(x) => {
                    let scripts = self.ctx.scripts;
                    self.with_vars(token, |v| e.eval(scripts, v.with_effects(x)))
                        .map_err(|e| e.message)
                }
            },
            MappingSource::List(items) => items
                .iter()
                .map(|i| self.mapping_value(token, i))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            MappingSource::Map(entries) => entries
                .iter()
                .map(|(k, v)| self.mapping_value(token, v).map(|v| (k.clone(), v)))
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object),
            MappingSource::Variable(name) => Ok(self
                .with_vars(token, |v| v.get(name).cloned())
                .unwrap_or(Value::Null)),
            MappingSource::Script(s) => {
                let scripts = self.ctx.scripts;
                self.with_vars(token, |v| scripts.run_with(s, |name| v.get(name)))
                    .map(|o| o.value)
                    .map_err(|e| format!("Rhai: {e}"))
            }
        }
    }

    /// Evaluates output mappings (the caller closes the local scope).
    /// Returns false when an incident stopped the token.
    fn apply_outputs(&mut self, token: TokenId) -> bool {
        let Some(t) = self.state.tokens.get(&token) else {
            return false;
        };
        let el = self.ctx.process.element(t.element);
        if let Some(outputs) = &el.outputs {
            let mut values = Vec::with_capacity(outputs.len());
            let effects = std::cell::RefCell::new(Vec::new());
            for m in outputs {
                let value = match self.mapping_value_with(token, &m.source, Some(&effects)) {
                    Ok(v) => v,
                    Err(msg) => {
                        let target = m.target.clone();
                        self.incident_of(
                            IncidentKind::IoMapping,
                            token,
                            false,
                            format!("output mapping `{target}`: {msg}"),
                        );
                        return false;
                    }
                };
                values.push((m.target.clone(), value));
            }
            values.extend(effects.into_inner());
            self.set_propagating(token, values);
        }
        true
    }
}
