//! Instance state and the events that change it.
//!
//! [`InstanceState::apply`] is the only code that mutates an instance. It is
//! total: an event that does not fit the state (which a correct processor
//! never emits) is ignored rather than panicking, so replaying a damaged log
//! degrades instead of crashing.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::compile::{ElementIdx, FlowIdx, ProcessKey, ScopeIdx};

/// Version of the persisted state and event formats. Bump it (and add a
/// migration) whenever a serialized shape changes; never edit a shipped one.
pub const FORMAT_VERSION: u32 = 1;

pub type TokenId = u64;
pub type ScopeId = u64;
pub type JobId = u64;
pub type IncidentId = u64;
pub type TimerId = u64;
pub type SubscriptionId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Completed,
    Cancelled,
}

/// One process instance: tokens in scopes, variables per scope, join
/// counters, jobs and incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    pub id: String,
    pub process: ProcessKey,
    pub status: Status,
    pub scopes: IdMap<ScopeState>,
    pub tokens: IdMap<Token>,
    /// Tokens that arrived at a joining gateway and wait for the others.
    pub joins: Vec<JoinState>,
    pub jobs: BTreeMap<JobId, Job>,
    pub incidents: BTreeMap<IncidentId, Incident>,
    /// Pending timers (absent in states written before timers existed).
    #[serde(default)]
    pub timers: BTreeMap<TimerId, Timer>,
    /// Open message, signal and conditional subscriptions (absent in
    /// states written before they existed).
    #[serde(default)]
    pub subscriptions: BTreeMap<SubscriptionId, Subscription>,
    /// Multi-instance and loop bodies, by the body's token.
    #[serde(default)]
    pub loops: BTreeMap<TokenId, LoopState>,
    /// Complex gateways that fired and wait for their reset: the incoming
    /// flows whose token is still to come (and be absorbed).
    #[serde(default)]
    pub complex_resets: Vec<ComplexReset>,
    /// Completed activities that can be compensated, in completion order.
    #[serde(default)]
    pub compensables: Vec<Compensable>,
    /// Compensations under way.
    #[serde(default)]
    pub compensations: Vec<CompensationRun>,
    /// The call activity that started this instance, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    /// The business key it was started with (Camunda 7), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_key: Option<String>,
    /// Child instances of waiting call activities, by the call's token.
    #[serde(default)]
    pub calls: BTreeMap<TokenId, String>,
    /// Elements in the order they completed.
    pub completed: Vec<ElementIdx>,
    /// Source of token, scope, job and incident ids (deterministic).
    pub next_id: u64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// Tokens or scopes by id: a deque sorted by id, with the lookups and the
/// ordered iteration of a `BTreeMap` at the size of its entries. An instance
/// has a handful of each, and a `BTreeMap` node holds room for eleven: a
/// parked instance would carry two mostly empty nodes. Ids come from a
/// counter, so a new id is the largest and inserting appends; tokens tend to
/// end oldest first, and removing at the front of a deque moves nothing.
/// Serialized as a map from id to value, exactly like the `BTreeMap`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdMap<V> {
    entries: VecDeque<(u64, V)>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap::new()
    }
}

impl<V> IdMap<V> {
    pub const fn new() -> Self {
        IdMap {
            entries: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, id: u64) -> Result<usize, usize> {
        // Ids come from one counter, so live tokens (or scopes) often have
        // consecutive ids: try the position that assumes so before searching.
        if let Some(&(first, _)) = self.entries.front()
            && let Some(guess) = id.checked_sub(first)
            && let Ok(guess) = usize::try_from(guess)
            && self.entries.get(guess).is_some_and(|e| e.0 == id)
        {
            return Ok(guess);
        }
        self.entries.binary_search_by_key(&id, |e| e.0)
    }

    pub fn get(&self, id: &u64) -> Option<&V> {
        self.find(*id).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        self.find(*id).ok().map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, id: &u64) -> bool {
        self.find(*id).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, id: u64, value: V) -> Option<V> {
        if self.entries.back().is_none_or(|e| e.0 < id) {
            self.entries.push_back((id, value));
            return None;
        }
        match self.find(id) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (id, value));
                None
            }
        }
    }

    pub fn remove(&mut self, id: &u64) -> Option<V> {
        let i = self.find(*id).ok()?;
        self.entries.remove(i).map(|e| e.1)
    }

    /// Entries in id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&u64, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &u64> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl<V: Serialize> Serialize for IdMap<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for IdMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<u64, V>::deserialize(deserializer)?;
        Ok(IdMap {
            entries: map.into_iter().collect(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeState {
    pub parent: Option<ScopeId>,
    /// Which scope definition this is an instance of; `None` for an
    /// element-local scope (input/output mappings of one activity).
    pub def: Option<ScopeIdx>,
    /// The token of the sub-process (or activity) that owns this scope.
    pub owner: Option<TokenId>,
    pub variables: Map<String, Value>,
    /// Live tokens whose container is this scope (derived, kept by `apply`).
    pub tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub element: ElementIdx,
    /// The scope instance the token moves in.
    pub scope: ScopeId,
    /// The element-local scope holding input-mapped variables, if any.
    pub local: Option<ScopeId>,
    pub state: TokenState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum TokenState {
    /// Being moved by the current command.
    Active,
    /// Waiting for a user/receive task completion.
    Waiting,
    /// Waiting for its job.
    Job(JobId),
    /// Stopped by an incident.
    Incident(IncidentId),
    /// Waiting for the sub-process scope it opened.
    InScope(ScopeId),
    /// Waiting for its timer to fire.
    Timer(TimerId),
    /// Waiting for the child instance of its call activity.
    Called,
    /// Waiting at a catch event, receive task or event-based gateway for
    /// one of its subscriptions or timers (several definitions, messages,
    /// signals, conditions).
    Event,
}

/// A pending timer of an intermediate timer catch event, a boundary event,
/// an event-based gateway's target or an event sub-process start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    /// The waiting token, or for a boundary timer the activity's token;
    /// 0 (never a token id) for an event sub-process start's timer.
    pub token: TokenId,
    /// The catching element: timer catch event, boundary event, a target
    /// of an event-based gateway, or an event sub-process's start event.
    pub element: ElementIdx,
    /// When it is due, ms since the epoch.
    pub due: i64,
    /// How many times it has fired (a non-interrupting cycle fires again).
    pub fired: u32,
    /// A boundary event's timer: the token stays at its activity.
    #[serde(default)]
    pub boundary: bool,
    /// The scope instance whose event sub-process this timer starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeId>,
}

/// A completed activity with a compensation handler, or a completed
/// sub-process with such activities inside (`children`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compensable {
    pub id: u64,
    /// The scope instance the activity ran in.
    pub scope: ScopeId,
    pub element: ElementIdx,
    /// The variables it saw when it completed.
    pub variables: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Compensable>,
}

/// What happens when a compensation has run every handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AfterCompensation {
    /// The throwing event waited (`waitForCompletion`): it completes.
    Continue { token: TokenId },
    /// The thrower went on: nothing, but the scope may now be complete.
    Nothing,
    /// A transaction was cancelled: it leaves by its cancel boundary event.
    CancelTransaction {
        transaction: TokenId,
        boundary: Option<ElementIdx>,
    },
}

/// A compensation under way: handlers run one at a time, in `queue` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompensationRun {
    pub id: u64,
    /// The scope instance the handlers run in.
    pub scope: ScopeId,
    pub queue: Vec<Compensable>,
    /// The token of the handler running now (one at a time), or the
    /// carrier of a compensation event sub-process.
    pub active: Option<TokenId>,
    /// Handlers started together and still running (Camunda 7 starts the
    /// handlers of one scope concurrently). Absent in states written
    /// before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running: Vec<TokenId>,
    pub then: AfterCompensation,
}

/// Where a called instance reports back to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParentLink {
    pub instance: String,
    /// The call activity's token in the parent.
    pub token: TokenId,
}

/// A complex gateway waiting for its reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplexReset {
    pub scope: ScopeId,
    pub element: ElementIdx,
    pub awaiting: Vec<FlowIdx>,
}

/// A running multi-instance or loop body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// The body's scope (its counters and output collection).
    pub scope: ScopeId,
    /// The input collection, evaluated once on entry (empty without one).
    pub items: Vec<Value>,
    /// How many inner instances there are in all (multi-instance), or 0
    /// for a standard loop.
    pub count: u64,
    /// Inner instances (iterations) started and completed so far.
    pub started: u64,
    pub completed: u64,
    /// The output collection so far (Camunda 8 `outputElement` values by
    /// input position), kept here rather than as a variable so that each
    /// inner completion costs the same however long the list is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Value>,
}

/// What a subscription waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SubscriptionKind {
    /// A message by name; `key` is the correlation key the subscription
    /// was opened with (`None`: any message of that name correlates).
    Message {
        name: String,
        key: Option<String>,
    },
    Signal {
        name: String,
    },
    /// A condition, evaluated whenever variables change.
    Conditional,
}

/// An open subscription of a catching element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub kind: SubscriptionKind,
    /// The waiting token (catch event, receive task, event-based gateway),
    /// or for a boundary event the activity's token; `None` for an event
    /// sub-process start.
    pub token: Option<TokenId>,
    /// The scope instance: the token's, or the one whose event sub-process
    /// the subscription starts.
    pub scope: ScopeId,
    /// The catching element.
    pub element: ElementIdx,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinState {
    pub scope: ScopeId,
    pub element: ElementIdx,
    /// One entry per token that arrived, by the flow it came on.
    pub arrived: Vec<FlowIdx>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub token: TokenId,
    pub element: ElementIdx,
    pub job_type: String,
    pub retries: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub token: TokenId,
    pub element: ElementIdx,
    pub job: Option<JobId>,
    /// Raised while leaving the element (a condition failed), so resolving
    /// it retries the way out rather than the element's work.
    pub on_leave: bool,
    pub message: String,
    /// What went wrong (absent in incidents recorded before kinds
    /// existed: see [`Incident::kind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IncidentKind>,
}

/// What an incident is about (Camunda 7's incident types and Zeebe's error
/// types, in one list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentKind {
    /// A job failed with no retries left (Camunda 7 `failedJob`, Zeebe
    /// `JOB_NO_RETRIES`).
    FailedJob,
    /// An expression or script could not be evaluated (Zeebe
    /// `EXTRACT_VALUE_ERROR`).
    Expression,
    /// A sequence flow or loop condition failed (Zeebe `CONDITION_ERROR`).
    Condition,
    /// An input or output mapping failed (Zeebe `IO_MAPPING_ERROR`).
    IoMapping,
    /// A BPMN error nothing caught (Zeebe `UNHANDLED_ERROR_EVENT`).
    UnhandledError,
    /// A call activity could not start or resolve its child (Zeebe
    /// `CALLED_ELEMENT_ERROR`).
    CallActivity,
    /// A decision could not be evaluated (Zeebe
    /// `DECISION_EVALUATION_ERROR`).
    Decision,
    /// One command ran past its step budget (a loop without a wait state).
    StepBudget,
}

impl IncidentKind {
    /// The kebab-case name (`failed-job`, `io-mapping`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::FailedJob => "failed-job",
            IncidentKind::Expression => "expression",
            IncidentKind::Condition => "condition",
            IncidentKind::IoMapping => "io-mapping",
            IncidentKind::UnhandledError => "unhandled-error",
            IncidentKind::CallActivity => "call-activity",
            IncidentKind::Decision => "decision",
            IncidentKind::StepBudget => "step-budget",
        }
    }
}

impl Incident {
    /// Its kind; for an incident recorded before kinds existed, what its
    /// job and place say (a failed job, a condition, else an expression).
    pub fn kind(&self) -> IncidentKind {
        self.kind.unwrap_or(if self.job.is_some() {
            IncidentKind::FailedJob
        } else if self.on_leave {
            IncidentKind::Condition
        } else {
            IncidentKind::Expression
        })
    }
}

/// Everything that happens to an instance. Serialized in the store's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum Event {
    InstanceStarted {
        id: String,
        process: ProcessKey,
        at: i64,
        /// Absent in logs written before business keys existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        business_key: Option<String>,
    },
    ScopeOpened {
        scope: ScopeId,
        parent: Option<ScopeId>,
        def: Option<ScopeIdx>,
        owner: Option<TokenId>,
    },
    ScopeClosed {
        scope: ScopeId,
    },
    VariablesSet {
        scope: ScopeId,
        variables: Vec<(String, Value)>,
    },
    TokenCreated {
        token: TokenId,
        element: ElementIdx,
        scope: ScopeId,
    },
    /// The token moved to another element (along a sequence flow).
    TokenMoved {
        token: TokenId,
        element: ElementIdx,
    },
    TokenStateChanged {
        token: TokenId,
        state: TokenState,
    },
    TokenLocalScope {
        token: TokenId,
        scope: Option<ScopeId>,
    },
    TokenRemoved {
        token: TokenId,
    },
    ElementCompleted {
        token: TokenId,
        element: ElementIdx,
    },
    JoinArrived {
        scope: ScopeId,
        element: ElementIdx,
        flow: FlowIdx,
    },
    JoinConsumed {
        scope: ScopeId,
        element: ElementIdx,
        flows: Vec<FlowIdx>,
    },
    JobCreated {
        job: JobId,
        token: TokenId,
        element: ElementIdx,
        job_type: String,
        retries: u32,
    },
    JobFailed {
        job: JobId,
        retries: u32,
        message: String,
    },
    JobRetriesUpdated {
        job: JobId,
        retries: u32,
    },
    JobRemoved {
        job: JobId,
    },
    IncidentRaised {
        incident: IncidentId,
        token: TokenId,
        element: ElementIdx,
        job: Option<JobId>,
        on_leave: bool,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<IncidentKind>,
    },
    IncidentResolved {
        incident: IncidentId,
    },
    /// A timer was set for the token waiting at `element`.
    TimerScheduled {
        timer: TimerId,
        token: TokenId,
        element: ElementIdx,
        due: i64,
    },
    /// A timer was set for the boundary event `element` of the activity
    /// where `token` is; the token's state does not change.
    BoundaryTimerScheduled {
        timer: TimerId,
        token: TokenId,
        element: ElementIdx,
        due: i64,
    },
    /// The timer fired; its token moves on.
    TimerFired {
        timer: TimerId,
    },
    /// A non-interrupting boundary cycle fired and is due again at `due`.
    TimerRescheduled {
        timer: TimerId,
        due: i64,
    },
    /// The timer's token was removed before it fired.
    TimerCancelled {
        timer: TimerId,
    },
    /// A timer that does not change its token's state: one of several
    /// definitions of a catch event, an event-based gateway's target, or an
    /// event sub-process start (`token` 0, `scope` set).
    TimerOpened {
        timer: TimerId,
        token: TokenId,
        scope: Option<ScopeId>,
        element: ElementIdx,
        due: i64,
    },
    SubscriptionOpened {
        subscription: SubscriptionId,
        kind: SubscriptionKind,
        token: Option<TokenId>,
        scope: ScopeId,
        element: ElementIdx,
    },
    SubscriptionClosed {
        subscription: SubscriptionId,
    },
    /// This instance was started by a call activity of `instance`.
    CalledBy {
        instance: String,
        token: TokenId,
    },
    /// A call activity asks for a child instance `instance` of `process`
    /// (the latest version, or `version`) started with `variables`: an
    /// outbox record the engine acts on after the command.
    ChildRequested {
        token: TokenId,
        /// The id drawn for this call (the child's id ends with it).
        #[serde(default)]
        call: u64,
        instance: String,
        process: String,
        version: Option<u32>,
        /// Bound to the caller's deployment (Camunda `deployment` binding):
        /// the content hash of the caller's deployment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deployment: Option<String>,
        variables: Map<String, Value>,
    },
    /// The child of a call activity ended (completed, or cancelled).
    ChildEnded {
        token: TokenId,
    },
    /// An error or escalation nobody caught in this called instance goes to
    /// the parent's call activity (an outbox record).
    ThrownToParent {
        error: bool,
        code: String,
        message: Option<String>,
        variables: Map<String, Value>,
    },
    /// A complex gateway fired before every incoming flow brought a token:
    /// the tokens still to come on `awaiting` will be absorbed.
    ComplexFired {
        scope: ScopeId,
        element: ElementIdx,
        awaiting: Vec<FlowIdx>,
    },
    /// A token on an awaited flow was absorbed by a fired complex gateway.
    ComplexAbsorbed {
        scope: ScopeId,
        element: ElementIdx,
        flow: FlowIdx,
    },
    /// An activity completed that can be compensated; a sub-process takes
    /// the records of what completed inside it (`inner`, its scope).
    CompensableRecorded {
        id: u64,
        scope: ScopeId,
        element: ElementIdx,
        variables: Map<String, Value>,
        inner: Option<ScopeId>,
    },
    /// A compensation began with the records `records` (by id, in the
    /// order their handlers run), taken out of the compensable ones.
    CompensationStarted {
        run: u64,
        scope: ScopeId,
        records: Vec<u64>,
        then: AfterCompensation,
    },
    /// The next record is a sub-process without handler of its own: its
    /// children take its place, last completed first.
    CompensationExpanded {
        run: u64,
    },
    /// The next record's handler started as `token`.
    CompensationHandlerStarted {
        run: u64,
        token: TokenId,
    },
    /// The next record's handler started as `token` beside the others
    /// (concurrent compensation).
    CompensationHandlerForked {
        run: u64,
        token: TokenId,
    },
    /// A handler started beside the others finished.
    CompensationForkDone {
        run: u64,
        token: TokenId,
    },
    CompensationHandlerDone {
        run: u64,
    },
    /// The next record is a sub-process with a compensation event
    /// sub-process: `carrier` stands for it in a new instance `scope` of
    /// it, where its inner records can be compensated again.
    CompensationEventSubStarted {
        run: u64,
        carrier: TokenId,
        scope: ScopeId,
    },
    CompensationFinished {
        run: u64,
    },
    /// A compensation was cut short (its scope was cancelled): the records
    /// it had not reached are compensable again.
    CompensationAborted {
        run: u64,
    },
    /// A multi-instance body completed: what its inner instances recorded
    /// (in the body's scope, out of reach while it ran) now belongs to the
    /// scope around it.
    CompensablesMoved {
        from: ScopeId,
        to: ScopeId,
    },
    /// A multi-instance or loop body began (its token entered `scope`).
    LoopEntered {
        token: TokenId,
        scope: ScopeId,
        items: Vec<Value>,
        count: u64,
    },
    LoopInstanceStarted {
        token: TokenId,
    },
    LoopInstanceCompleted {
        token: TokenId,
    },
    LoopLeft {
        token: TokenId,
    },
    /// An inner instance's output element, for position `index` of the
    /// body's output collection.
    LoopOutput {
        token: TokenId,
        index: u64,
        value: Value,
    },
    /// A message thrown by this instance, for the engine to publish after
    /// the command (an outbox record; the instance state does not change).
    MessageSent {
        name: String,
        key: Option<String>,
        variables: Map<String, Value>,
    },
    /// A signal thrown by this instance, for the engine to broadcast after
    /// the command (an outbox record).
    SignalSent {
        name: String,
        variables: Map<String, Value>,
    },
    InstanceCompleted {
        at: i64,
    },
    InstanceCancelled {
        at: i64,
    },
}

impl InstanceState {
    /// The state before its first event.
    pub fn empty(id: &str, process: ProcessKey) -> Self {
        InstanceState {
            id: id.to_string(),
            process,
            status: Status::Active,
            scopes: IdMap::new(),
            tokens: IdMap::new(),
            joins: Vec::new(),
            jobs: BTreeMap::new(),
            incidents: BTreeMap::new(),
            timers: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            loops: BTreeMap::new(),
            complex_resets: Vec::new(),
            compensables: Vec::new(),
            compensations: Vec::new(),
            parent: None,
            business_key: None,
            calls: BTreeMap::new(),
            completed: Vec::new(),
            next_id: 1,
            started_at: 0,
            ended_at: None,
        }
    }

    /// Rebuilds a state from its complete event log.
    pub fn replay<'e>(events: impl IntoIterator<Item = &'e Event>) -> Option<Self> {
        let mut it = events.into_iter();
        let first = it.next()?;
        let Event::InstanceStarted { id, process, .. } = first else {
            return None;
        };
        let mut s = InstanceState::empty(id, process.clone());
        s.apply(first);
        for e in it {
            s.apply(e);
        }
        Some(s)
    }

    /// Reserves an id. Ids are part of the events, so this is deterministic.
    pub(crate) fn peek_id(&self) -> u64 {
        self.next_id
    }

    fn saw_id(&mut self, id: u64) {
        if id >= self.next_id {
            self.next_id = id + 1;
        }
    }

    /// The one place where instance state changes.
    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::InstanceStarted {
                at, business_key, ..
            } => {
                self.status = Status::Active;
                self.started_at = *at;
                self.business_key.clone_from(business_key);
            }
            Event::ScopeOpened {
                scope,
                parent,
                def,
                owner,
            } => {
                self.saw_id(*scope);
                self.scopes.insert(
                    *scope,
                    ScopeState {
                        parent: *parent,
                        def: *def,
                        owner: *owner,
                        variables: Map::new(),
                        tokens: 0,
                    },
                );
            }
            Event::ScopeClosed { scope } => {
                self.scopes.remove(scope);
                self.joins.retain(|j| j.scope != *scope);
                self.complex_resets.retain(|j| j.scope != *scope);
                // What completed in a scope that closes without completing
                // (a completing sub-process took its records first) is
                // never compensated.
                if !self.compensables.is_empty() {
                    self.compensables.retain(|c| c.scope != *scope);
                }
                // What waited on the scope ends with it.
                self.subscriptions.retain(|_, x| x.scope != *scope);
                self.timers.retain(|_, x| x.scope != Some(*scope));
            }
            Event::VariablesSet { scope, variables } => {
                if let Some(s) = self.scopes.get_mut(scope) {
                    for (k, v) in variables {
                        // Overwriting keeps the key: no allocation for it.
                        match s.variables.get_mut(k) {
                            Some(slot) => slot.clone_from(v),
                            None => {
                                s.variables.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
            }
            Event::TokenCreated {
                token,
                element,
                scope,
            } => {
                self.saw_id(*token);
                self.tokens.insert(
                    *token,
                    Token {
                        element: *element,
                        scope: *scope,
                        local: None,
                        state: TokenState::Active,
                    },
                );
                if let Some(s) = self.scopes.get_mut(scope) {
                    s.tokens += 1;
                }
            }
            Event::TokenMoved { token, element } => {
                if let Some(t) = self.tokens.get_mut(token) {
                    t.element = *element;
                    t.state = TokenState::Active;
                }
            }
            Event::TokenStateChanged { token, state } => {
                if let Some(t) = self.tokens.get_mut(token) {
                    t.state = *state;
                }
            }
            Event::TokenLocalScope { token, scope } => {
                if let Some(t) = self.tokens.get_mut(token) {
                    t.local = *scope;
                }
            }
            Event::TokenRemoved { token } => {
                if let Some(t) = self.tokens.remove(token)
                    && let Some(s) = self.scopes.get_mut(&t.scope)
                {
                    s.tokens = s.tokens.saturating_sub(1);
                }
                // What waited with the token ends with it.
                if !self.loops.is_empty() {
                    self.loops.remove(token);
                }
                // A removed call activity's child is cancelled by the
                // engine, which sees the call gone.
                if !self.calls.is_empty() {
                    self.calls.remove(token);
                }
                if !self.subscriptions.is_empty() {
                    self.subscriptions.retain(|_, x| x.token != Some(*token));
                }
                if !self.timers.is_empty() {
                    self.timers.retain(|_, x| x.token != *token);
                }
            }
            Event::ElementCompleted { element, .. } => self.completed.push(*element),
            Event::JoinArrived {
                scope,
                element,
                flow,
            } => match self
                .joins
                .iter_mut()
                .find(|j| j.scope == *scope && j.element == *element)
            {
                Some(j) => j.arrived.push(*flow),
                None => self.joins.push(JoinState {
                    scope: *scope,
                    element: *element,
                    arrived: vec![*flow],
                }),
            },
            Event::JoinConsumed {
                scope,
                element,
                flows,
            } => {
                if let Some(i) = self
                    .joins
                    .iter()
                    .position(|j| j.scope == *scope && j.element == *element)
                {
                    let j = &mut self.joins[i];
                    // Remove one arrival per consumed flow (a multiset
                    // difference), by a merge of both sorted: O(n log n)
                    // for a join of n flows instead of O(n²).
                    let mut consumed = flows.clone();
                    consumed.sort_unstable();
                    j.arrived.sort_unstable();
                    let mut c = consumed.iter().peekable();
                    j.arrived.retain(|a| {
                        while c.next_if(|f| *f < a).is_some() {}
                        c.next_if(|f| *f == a).is_none()
                    });
                    if j.arrived.is_empty() {
                        self.joins.remove(i);
                    }
                }
            }
            Event::JobCreated {
                job,
                token,
                element,
                job_type,
                retries,
            } => {
                self.saw_id(*job);
                self.jobs.insert(
                    *job,
                    Job {
                        token: *token,
                        element: *element,
                        job_type: job_type.clone(),
                        retries: *retries,
                        last_error: None,
                    },
                );
                if let Some(t) = self.tokens.get_mut(token) {
                    t.state = TokenState::Job(*job);
                }
            }
            Event::JobFailed {
                job,
                retries,
                message,
            } => {
                if let Some(j) = self.jobs.get_mut(job) {
                    j.retries = *retries;
                    j.last_error = Some(message.clone());
                }
            }
            Event::JobRetriesUpdated { job, retries } => {
                if let Some(j) = self.jobs.get_mut(job) {
                    j.retries = *retries;
                }
            }
            Event::JobRemoved { job } => {
                self.jobs.remove(job);
            }
            Event::IncidentRaised {
                incident,
                token,
                element,
                job,
                on_leave,
                message,
                kind,
            } => {
                self.saw_id(*incident);
                self.incidents.insert(
                    *incident,
                    Incident {
                        token: *token,
                        element: *element,
                        job: *job,
                        on_leave: *on_leave,
                        message: message.clone(),
                        kind: *kind,
                    },
                );
                if let Some(t) = self.tokens.get_mut(token) {
                    t.state = TokenState::Incident(*incident);
                }
            }
            Event::IncidentResolved { incident } => {
                self.incidents.remove(incident);
            }
            Event::TimerScheduled {
                timer,
                token,
                element,
                due,
            } => {
                self.open_timer(*timer, *token, *element, *due, false, None);
                if let Some(t) = self.tokens.get_mut(token) {
                    t.state = TokenState::Timer(*timer);
                }
            }
            Event::BoundaryTimerScheduled {
                timer,
                token,
                element,
                due,
            } => self.open_timer(*timer, *token, *element, *due, true, None),
            Event::TimerRescheduled { timer, due } => {
                if let Some(t) = self.timers.get_mut(timer) {
                    t.fired = t.fired.saturating_add(1);
                    t.due = *due;
                }
            }
            Event::TimerFired { timer } => {
                // A catch event fires once, and so does a boundary timer
                // that is not rescheduled: the timer is done.
                if let Some(t) = self.timers.remove(timer)
                    && let Some(tk) = self.tokens.get_mut(&t.token)
                    && tk.state == TokenState::Timer(*timer)
                {
                    tk.state = TokenState::Active;
                }
            }
            Event::TimerCancelled { timer } => {
                self.timers.remove(timer);
            }
            Event::TimerOpened {
                timer,
                token,
                scope,
                element,
                due,
            } => self.open_timer(*timer, *token, *element, *due, false, *scope),
            Event::SubscriptionOpened {
                subscription,
                kind,
                token,
                scope,
                element,
            } => {
                self.saw_id(*subscription);
                self.subscriptions.insert(
                    *subscription,
                    Subscription {
                        kind: kind.clone(),
                        token: *token,
                        scope: *scope,
                        element: *element,
                    },
                );
            }
            Event::SubscriptionClosed { subscription } => {
                self.subscriptions.remove(subscription);
            }
            Event::CalledBy { instance, token } => {
                self.parent = Some(ParentLink {
                    instance: instance.clone(),
                    token: *token,
                });
            }
            Event::ChildRequested {
                token,
                call,
                instance,
                ..
            } => {
                self.saw_id(*call);
                self.calls.insert(*token, instance.clone());
                if let Some(t) = self.tokens.get_mut(token) {
                    t.state = TokenState::Called;
                }
            }
            Event::ChildEnded { token } => {
                self.calls.remove(token);
            }
            Event::ThrownToParent { .. } => {}
            Event::CompensableRecorded {
                id,
                scope,
                element,
                variables,
                inner,
            } => {
                self.saw_id(*id);
                let children = match inner {
                    Some(i) => {
                        let (mut inside, rest): (Vec<_>, Vec<_>) =
                            std::mem::take(&mut self.compensables)
                                .into_iter()
                                .partition(|c| c.scope == *i);
                        self.compensables = rest;
                        // A handler inside sees the sub-process's variables
                        // as they were too (under the activity's own).
                        fn inherit(c: &mut Compensable, outer: &Map<String, Value>) {
                            for (k, v) in outer {
                                c.variables.entry(k.clone()).or_insert_with(|| v.clone());
                            }
                            for child in &mut c.children {
                                inherit(child, outer);
                            }
                        }
                        for c in &mut inside {
                            inherit(c, variables);
                        }
                        inside
                    }
                    None => Vec::new(),
                };
                self.compensables.push(Compensable {
                    id: *id,
                    scope: *scope,
                    element: *element,
                    variables: variables.clone(),
                    children,
                });
            }
            Event::CompensationStarted {
                run,
                scope,
                records,
                then,
            } => {
                self.saw_id(*run);
                let mut queue = Vec::with_capacity(records.len());
                for r in records {
                    if let Some(i) = self.compensables.iter().position(|c| c.id == *r) {
                        queue.push(self.compensables.remove(i));
                    }
                }
                self.compensations.push(CompensationRun {
                    id: *run,
                    scope: *scope,
                    queue,
                    active: None,
                    running: Vec::new(),
                    then: then.clone(),
                });
            }
            Event::CompensationExpanded { run } => {
                if let Some(r) = self.compensations.iter_mut().find(|r| r.id == *run)
                    && !r.queue.is_empty()
                {
                    let first = r.queue.remove(0);
                    for (i, c) in first.children.into_iter().rev().enumerate() {
                        r.queue.insert(i, c);
                    }
                }
            }
            Event::CompensationHandlerStarted { run, token } => {
                if let Some(r) = self.compensations.iter_mut().find(|r| r.id == *run) {
                    if !r.queue.is_empty() {
                        r.queue.remove(0);
                    }
                    r.active = Some(*token);
                }
            }
            Event::CompensationEventSubStarted {
                run,
                carrier,
                scope,
            } => {
                if let Some(r) = self.compensations.iter_mut().find(|r| r.id == *run)
                    && !r.queue.is_empty()
                {
                    let record = r.queue.remove(0);
                    r.active = Some(*carrier);
                    self.compensables
                        .extend(record.children.into_iter().map(|mut c| {
                            c.scope = *scope;
                            c
                        }));
                }
            }
            Event::CompensationHandlerForked { run, token } => {
                if let Some(r) = self.compensations.iter_mut().find(|r| r.id == *run) {
                    if !r.queue.is_empty() {
                        r.queue.remove(0);
                    }
                    r.running.push(*token);
                }
            }
            Event::CompensationForkDone { run, token } => {
                if let Some(r) = self.compensations.iter_mut().find(|r| r.id == *run) {
                    r.running.retain(|t| t != token);
                }
            }
            Event::CompensationHandlerDone { run } => {
                if let Some(r) = self.compensations.iter_mut().find(|r| r.id == *run) {
                    r.active = None;
                }
            }
            Event::CompensationFinished { run } => {
                self.compensations.retain(|r| r.id != *run);
            }
            Event::CompensationAborted { run } => {
                if let Some(i) = self.compensations.iter().position(|r| r.id == *run) {
                    let r = self.compensations.remove(i);
                    self.compensables.extend(r.queue);
                }
            }
            Event::CompensablesMoved { from, to } => {
                for c in self.compensables.iter_mut().filter(|c| c.scope == *from) {
                    c.scope = *to;
                }
            }
            Event::ComplexFired {
                scope,
                element,
                awaiting,
            } => self.complex_resets.push(ComplexReset {
                scope: *scope,
                element: *element,
                awaiting: awaiting.clone(),
            }),
            Event::ComplexAbsorbed {
                scope,
                element,
                flow,
            } => {
                if let Some(i) = self
                    .complex_resets
                    .iter()
                    .position(|r| r.scope == *scope && r.element == *element)
                {
                    let r = &mut self.complex_resets[i];
                    if let Some(f) = r.awaiting.iter().position(|f| f == flow) {
                        r.awaiting.remove(f);
                    }
                    if r.awaiting.is_empty() {
                        self.complex_resets.remove(i);
                    }
                }
            }
            Event::LoopEntered {
                token,
                scope,
                items,
                count,
            } => {
                self.loops.insert(
                    *token,
                    LoopState {
                        scope: *scope,
                        items: items.clone(),
                        count: *count,
                        started: 0,
                        completed: 0,
                        outputs: Vec::new(),
                    },
                );
            }
            Event::LoopInstanceStarted { token } => {
                if let Some(l) = self.loops.get_mut(token) {
                    l.started += 1;
                }
            }
            Event::LoopInstanceCompleted { token } => {
                if let Some(l) = self.loops.get_mut(token) {
                    l.completed += 1;
                }
            }
            Event::LoopLeft { token } => {
                self.loops.remove(token);
            }
            Event::LoopOutput {
                token,
                index,
                value,
            } => {
                if let Some(l) = self.loops.get_mut(token)
                    && let Ok(i) = usize::try_from(*index)
                    && i < 10_000_000
                {
                    if l.outputs.len() <= i {
                        l.outputs.resize(i + 1, Value::Null);
                    }
                    l.outputs[i] = value.clone();
                }
            }
            Event::MessageSent { .. } | Event::SignalSent { .. } => {}
            Event::InstanceCompleted { at } => {
                self.status = Status::Completed;
                self.ended_at = Some(*at);
                // The process scope's event sub-process starts end with it.
                self.subscriptions.clear();
                self.timers.clear();
                self.compensables.clear();
            }
            Event::InstanceCancelled { at } => {
                self.status = Status::Cancelled;
                self.ended_at = Some(*at);
                self.subscriptions.clear();
                self.timers.clear();
            }
        }
    }

    /// A pending timer, not yet fired.
    fn open_timer(
        &mut self,
        timer: TimerId,
        token: TokenId,
        element: ElementIdx,
        due: i64,
        boundary: bool,
        scope: Option<ScopeId>,
    ) {
        self.saw_id(timer);
        self.timers.insert(
            timer,
            Timer {
                token,
                element,
                due,
                fired: 0,
                boundary,
                scope,
            },
        );
    }

    /// The scope chain of a token, innermost first (local scope included).
    pub fn scope_chain(&self, token: &Token) -> Vec<ScopeId> {
        let mut out = Vec::with_capacity(3);
        if let Some(l) = token.local {
            out.push(l);
        }
        let mut cur = Some(token.scope);
        while let Some(s) = cur {
            out.push(s);
            cur = self.scopes.get(&s).and_then(|x| x.parent);
            if out.len() > 10_000 {
                break;
            }
        }
        out
    }

    /// The root (process-level) scope id.
    pub fn root_scope(&self) -> Option<ScopeId> {
        self.scopes
            .iter()
            .find(|(_, s)| s.parent.is_none() && s.def.is_some())
            .map(|(id, _)| *id)
    }

    /// Process-level variables.
    pub fn variables(&self) -> Map<String, Value> {
        self.root_scope()
            .and_then(|r| self.scopes.get(&r))
            .map(|s| s.variables.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod id_map_tests {
    use super::*;

    #[test]
    fn id_map_behaves_and_serializes_like_a_btree_map() {
        let mut m = IdMap::new();
        let mut b = BTreeMap::new();
        for (k, v) in [
            (5u64, "e"),
            (1, "a"),
            (9, "i"),
            (3, "c"),
            (5, "E"),
            (12, "l"),
        ] {
            assert_eq!(m.insert(k, v), b.insert(k, v));
        }
        assert_eq!(m.remove(&1), b.remove(&1));
        assert_eq!(m.remove(&7), b.remove(&7));
        assert_eq!(m.get(&5), b.get(&5));
        assert!(m.contains_key(&9) && !m.contains_key(&1));
        assert!(m.iter().eq(b.iter()));
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, serde_json::to_string(&b).unwrap());
        let back: IdMap<String> = serde_json::from_str(&json).unwrap();
        assert!(back.iter().map(|(k, v)| (*k, v.as_str())).eq(b.into_iter()));
    }
}
