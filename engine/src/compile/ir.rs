//! The compiled form of a process: what the engine core runs. Immutable
//! once built, shared by `Arc`; instance state refers to elements, flows
//! and scopes by number.

use std::collections::HashMap;

use bpmn_models::Span;
use bpmn_models::timer::TimerKind;
use serde::{Deserialize, Serialize};

use super::dialect::Semantics;
use crate::expr::Expr;
use crate::schedule::Schedule;
use crate::script::Script;

/// Index of an element in [`CompiledProcess::elements`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ElementIdx(pub u32);

/// Index of a sequence flow in [`CompiledProcess::flows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FlowIdx(pub u32);

/// Index of a scope definition (0 is the process itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScopeIdx(pub u32);

/// Identifies one deployed version of a process.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProcessKey {
    pub id: String,
    pub version: u32,
    /// FNV-1a 64 of the deployed file's text, in hex (identity, not security).
    pub hash: String,
}

impl std::fmt::Display for ProcessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.id, self.version)
    }
}

/// A process ready to run. Immutable; shared by `Arc` between instances.
#[derive(Debug)]
pub struct CompiledProcess {
    pub key: ProcessKey,
    pub name: Option<String>,
    pub elements: Vec<Element>,
    pub flows: Vec<Flow>,
    pub scopes: Vec<ScopeDef>,
    /// Where an event starts an instance: the process's start events with
    /// a message, signal or timer definition, and the targets of an
    /// instantiating event-based gateway.
    pub starts: Vec<ElementIdx>,
    /// Behaviour that differs between Camunda 7, Camunda 8 and plain BPMN,
    /// decided once for the file by [`super::dialect`].
    pub semantics: Semantics,
    /// How long an ended instance stays in history (ms), when the process
    /// says (`camunda:historyTimeToLive`).
    pub history_ttl: Option<i64>,
    pub(super) index: HashMap<String, ElementIdx>,
}

impl CompiledProcess {
    /// The triggers that start an instance, by the element they start at.
    pub fn start_triggers(&self) -> impl Iterator<Item = (ElementIdx, &Trigger)> {
        self.starts.iter().flat_map(move |&e| {
            let triggers: &[Trigger] = match &self.element(e).kind {
                ElementKind::EventStart { triggers, .. } | ElementKind::Catch { triggers, .. } => {
                    triggers
                }
                ElementKind::ReceiveTask { message: Some(m) } => std::slice::from_ref(m),
                _ => &[],
            };
            triggers.iter().map(move |t| (e, t))
        })
    }

    pub fn element(&self, i: ElementIdx) -> &Element {
        &self.elements[i.0 as usize]
    }

    pub fn flow(&self, i: FlowIdx) -> &Flow {
        &self.flows[i.0 as usize]
    }

    pub fn scope(&self, i: ScopeIdx) -> &ScopeDef {
        &self.scopes[i.0 as usize]
    }

    /// An element by its BPMN id.
    pub fn element_by_id(&self, id: &str) -> Option<ElementIdx> {
        self.index.get(id).copied()
    }
}

/// A process level: the process itself or an embedded sub-process.
#[derive(Debug)]
pub struct ScopeDef {
    /// The sub-process element that owns this scope (`None` for the process).
    pub owner: Option<ElementIdx>,
    /// None start events, where a new instance of this scope begins.
    pub start_events: Vec<ElementIdx>,
    /// Start events of the event sub-processes directly in this scope:
    /// their triggers are open while an instance of the scope is.
    pub event_starts: Vec<ElementIdx>,
    /// Variables of the data objects declared in this scope (their names,
    /// or ids), created empty when an instance of the scope opens.
    pub data_objects: Vec<String>,
    /// Without a start event (BPMN 2.0.2 §10.3.5, §13.2: an implicit
    /// start), the flow nodes without incoming flows where an instance of
    /// the scope begins, each with a token.
    pub implicit_starts: Vec<ElementIdx>,
}

impl ScopeDef {
    /// Where an instance of the scope begins: its none start event, or the
    /// implicit starts. Empty when neither exists.
    pub fn entry(&self) -> &[ElementIdx] {
        match self.start_events.first() {
            Some(s) => std::slice::from_ref(s),
            None => &self.implicit_starts,
        }
    }
}

#[derive(Debug)]
pub struct Element {
    pub id: String,
    pub name: Option<String>,
    /// The scope the element stands in.
    pub scope: ScopeIdx,
    pub incoming: Vec<FlowIdx>,
    pub outgoing: Vec<FlowIdx>,
    pub default_flow: Option<FlowIdx>,
    /// Input mappings: evaluated on activation into the element's local scope.
    pub inputs: Vec<Mapping>,
    /// Output mappings: evaluated on completion from the local scope into the
    /// enclosing one. `None` means "propagate everything" (Camunda 8 default).
    pub outputs: Option<Vec<Mapping>>,
    /// With output mappings, do the element's result variables stay local so
    /// that only mapped ones leave? True for Camunda 8 (`zeebe:ioMapping`);
    /// false for Camunda 7 (`camunda:outputParameter`), where variables set
    /// on completion propagate as usual and the outputs come on top.
    pub outputs_only: bool,
    /// Boundary events attached to this activity (BPMN 2.0.2 §10.5.3), in
    /// document order; empty for everything else.
    pub boundaries: Vec<ElementIdx>,
    /// Multi-instance or standard loop characteristics: the element runs as
    /// a body of inner instances ([`crate::core::loops`]).
    pub looping: Option<Box<LoopSpec>>,
    /// The compensation handler of this activity (linked by association to
    /// its compensation boundary event).
    pub compensation: Option<ElementIdx>,
    /// This activity is a compensation handler (`isForCompensation`): it
    /// runs only when compensation calls it, never by a flow.
    pub for_compensation: bool,
    /// An error or escalation catch event's Camunda 7
    /// `errorCodeVariable` / `errorMessageVariable` /
    /// `escalationCodeVariable`: set when it catches.
    pub catch_variables: Option<Box<CatchVariables>>,
    pub kind: ElementKind,
    pub span: Span,
}

/// What an element does. Adding a kind makes every `match` on it in the
/// engine core fail to compile until the kind is handled.
#[derive(Debug)]
pub enum ElementKind {
    /// A none start event.
    StartEvent,
    /// A none end event: the token is consumed.
    EndEvent,
    /// Terminate end event: ends its whole scope (BPMN 2.0.2 §10.5.4).
    TerminateEndEvent,
    /// Task, manual task, none intermediate throw event: complete at once.
    PassThrough,
    /// A script task (Rhai or FEEL), run to completion inside the step.
    Script {
        body: ScriptBody,
        result_variable: Option<String>,
    },
    /// Service, send or business rule task served by a job worker or a
    /// registered [`crate::TaskHandler`].
    Job {
        job_type: JobType,
        retries: u32,
    },
    /// A JUEL `camunda:expression` service task: evaluated at once.
    ExpressionTask {
        expr: Expr,
        result_variable: Option<String>,
    },
    /// User task: waits until completed from outside.
    UserTask,
    /// Receive task: waits for its message, or without one until completed
    /// from outside.
    ReceiveTask {
        message: Option<Trigger>,
    },
    ExclusiveGateway,
    ParallelGateway,
    /// `upstream[e]` is true when element `e` of the same scope can reach this gateway.
    InclusiveGateway {
        upstream: Vec<bool>,
    },
    /// Complex gateway (BPMN 2.0.2 §10.6.5, §13.3.5): joins when
    /// `activation` holds (with `activationCount`, the number of incoming
    /// flows that brought a token) or, without one, when every incoming
    /// flow has; the tokens that come later are absorbed until each flow
    /// has brought one. Splits like an inclusive gateway.
    ComplexGateway {
        activation: Option<Expr>,
    },
    /// Event-based gateway: the token waits for the events of the catch
    /// events and receive tasks its flows lead to; the first one wins
    /// (BPMN 2.0.2 §13.4.4).
    EventGateway,
    /// An embedded sub-process with its own scope; a transaction when
    /// `transaction` (a cancel end event inside cancels it, compensating
    /// what completed in it, and leaves by its cancel boundary event).
    SubProcess {
        scope: ScopeIdx,
        transaction: bool,
    },
    /// An ad-hoc sub-process (BPMN 2.0.2 §10.3.5.2): its activities without
    /// incoming flows are enabled at once (`sequential`: one after the
    /// other, in document order; Camunda 8 `activeElementsCollection`
    /// picks which by id); it completes when nothing runs in it any more or
    /// when `completion` holds after an activity completed (cancelling the
    /// rest when `cancel_remaining`).
    AdHocSubProcess {
        scope: ScopeIdx,
        sequential: bool,
        completion: Option<Expr>,
        cancel_remaining: bool,
        active: Option<Expr>,
    },
    /// A cancel end event in a transaction.
    CancelEnd,
    /// A business rule task that evaluates a DMN decision (Camunda 7
    /// `camunda:decisionRef`, Camunda 8 `zeebe:calledDecision`).
    BusinessRule(Box<DecisionSpec>),
    /// A call activity (BPMN 2.0.2 §10.3.6): starts an instance of another
    /// process and waits for it ([`crate::core::calls`]).
    CallActivity(Box<CallSpec>),
    /// An event sub-process (BPMN 2.0.2 §10.3.5): started by the trigger of
    /// its start event while its enclosing scope is active.
    EventSubProcess {
        scope: ScopeIdx,
    },
    /// A start event with event definitions: of the process (a message,
    /// signal or timer starts an instance) or of an event sub-process.
    EventStart {
        triggers: Vec<Trigger>,
        interrupting: bool,
    },
    /// An intermediate catch event: the token waits for one of its triggers
    /// (all of them when `parallel`) (BPMN 2.0.2 §10.5.4).
    Catch {
        triggers: Vec<Trigger>,
        parallel: bool,
    },
    /// A boundary event on `attached_to` (BPMN 2.0.2 §10.5.3): while the
    /// activity is active its triggers are open; firing cancels the
    /// activity when `cancel_activity` (interrupting) and starts a token
    /// here that leaves by the event's outgoing flows.
    Boundary {
        triggers: Vec<Trigger>,
        attached_to: ElementIdx,
        cancel_activity: bool,
        parallel: bool,
    },
    /// An intermediate throw or end event (or a send task delivering over a
    /// message flow) that throws: every definition in order, then the token
    /// leaves (an end event has no outgoing flow and is consumed).
    Throw {
        throws: Vec<Throw>,
    },
    /// A link intermediate throw event: the token continues at the catching
    /// link event of the same name in the same process level.
    LinkThrow {
        target: ElementIdx,
    },
}

/// The decision a business rule task evaluates and where its result goes.
#[derive(Debug, Clone)]
pub struct DecisionSpec {
    /// The decision id: literal, or an expression giving it.
    pub decision: CalledProcess,
    /// A fixed version (Camunda 7 `decisionRefBinding="version"`).
    pub version: Option<u32>,
    pub result_variable: Option<String>,
    pub mapping: DecisionMapping,
}

/// How a decision's result becomes the result variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionMapping {
    /// Camunda 8: the decision's value as DMN gives it.
    Value,
    /// Camunda 7 `mapDecisionResult`: one rule, one output → its value.
    SingleEntry,
    /// One rule → its outputs as a map.
    SingleResult,
    /// Every rule's one output → a list.
    CollectEntries,
    /// Every rule's outputs → a list of maps (Camunda 7's default).
    ResultList,
}

/// Variables an error or escalation catch event sets from what it caught.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatchVariables {
    pub code: Option<String>,
    pub message: Option<String>,
}

/// What a call activity calls and which variables cross.
#[derive(Debug, Clone)]
pub struct CallSpec {
    /// The called process id: literal, or an expression giving it.
    pub process: CalledProcess,
    /// A fixed version (Camunda 7 `calledElementBinding="version"`);
    /// `None` calls the latest.
    pub version: Option<u32>,
    /// `deployment` binding (Camunda 7 `calledElementBinding`, Camunda 8
    /// `bindingType`): the version deployed with the caller's file, the
    /// latest when the file did not hold the called process.
    pub same_deployment: bool,
    /// Variables the child starts with.
    pub inputs: CallVariables,
    /// Variables that come back when the child completes.
    pub outputs: CallVariables,
    /// The outputs also come back when the child throws an error or
    /// escalation to the call activity, before a catcher runs (Camunda 7).
    pub outputs_on_throw: bool,
}

#[derive(Debug, Clone)]
pub enum CalledProcess {
    Id(String),
    Expression(Expr),
}

/// Variables crossing a call: every one (`all`), plus mapped ones
/// (Camunda 7 `camunda:in`/`camunda:out` source or sourceExpression →
/// target).
#[derive(Debug, Clone, Default)]
pub struct CallVariables {
    pub all: bool,
    pub mappings: Vec<Mapping>,
}

/// How an activity repeats (BPMN 2.0.2 §10.3.8 loop characteristics).
#[derive(Debug, Clone)]
pub struct LoopSpec {
    pub kind: LoopKind,
    /// `loopCounter` of the first instance: 1 in Camunda 8, 0 otherwise
    /// (Camunda 7 counts from 0).
    pub counter_base: i64,
}

// Both variants live behind the `Box<LoopSpec>` of an element.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum LoopKind {
    /// Multi-instance: one inner instance per item of `collection` or
    /// `cardinality` times, all at once or `sequential`.
    Multi {
        sequential: bool,
        cardinality: Option<Expr>,
        collection: Option<Expr>,
        element_variable: Option<String>,
        output_collection: Option<String>,
        output_element: Option<Expr>,
        completion: Option<Expr>,
    },
    /// Standard loop: repeat while `condition` holds (checked before each
    /// iteration when `test_before`, else after), at most `maximum` times.
    Standard {
        test_before: bool,
        maximum: Option<u64>,
        condition: Option<Expr>,
    },
}

/// A catching event definition, compiled.
#[derive(Debug, Clone)]
pub enum Trigger {
    Timer(TimerSpec),
    /// `key`: the correlation key expression (Camunda 8 `zeebe:subscription
    /// correlationKey`); without it any message of the name correlates.
    /// `name_expr`: a name given as an expression (Camunda 7 `${…}`,
    /// Camunda 8 `=…`), evaluated when the subscription opens; `name` is
    /// then its text.
    Message {
        name: String,
        name_expr: Option<Expr>,
        key: Option<Expr>,
    },
    Signal {
        name: String,
    },
    Conditional {
        condition: Expr,
    },
    /// `None` catches every error.
    Error {
        code: Option<String>,
    },
    /// `None` catches every escalation.
    Escalation {
        code: Option<String>,
    },
    /// A cancel boundary event of a transaction (fired by its cancel end
    /// event, never a subscription).
    Cancel,
    /// A compensation boundary event (its handler is linked to the
    /// activity, [`Element::compensation`]) or a compensation event
    /// sub-process start.
    Compensate,
}

/// A throwing event definition, compiled.
#[derive(Debug, Clone)]
pub enum Throw {
    /// Published by the engine after the command; `key` is the receiving
    /// message's correlation key expression, evaluated with the thrower's
    /// variables; `name_expr` a name given as an expression, evaluated
    /// when it is sent.
    Message {
        name: String,
        name_expr: Option<Expr>,
        key: Option<Expr>,
    },
    Signal {
        name: String,
    },
    /// A BPMN error, with the message its `<error>` gives (literal or
    /// evaluated when thrown).
    Error {
        code: String,
        message: Option<MappingSource>,
    },
    Escalation {
        code: String,
    },
    /// Compensate `activity` (a BPMN id), or everything completed in the
    /// thrower's scope; the thrower waits for the handlers when `wait`.
    Compensate {
        activity: Option<String>,
        wait: bool,
    },
}

/// The body of a timer event definition, compiled.
#[derive(Debug, Clone)]
pub enum TimerSpec {
    /// A literal date, duration or cycle, parsed at deploy time.
    Static(Schedule),
    /// A FEEL (`=…`) or JUEL (`${…}`) expression evaluated on activation to
    /// a text read as `kind` by [`Schedule::from_text`].
    Expression { kind: TimerKind, expr: Expr },
}

impl ElementKind {
    /// Elements where a token waits for something from outside.
    pub fn is_wait_state(&self) -> bool {
        matches!(
            self,
            ElementKind::UserTask
                | ElementKind::ReceiveTask { .. }
                | ElementKind::Job { .. }
                | ElementKind::Catch { .. }
                | ElementKind::EventGateway
        )
    }
}

#[derive(Debug, Clone)]
pub enum ScriptBody {
    Rhai(Script),
    Expression(Expr),
}

#[derive(Debug, Clone)]
pub enum JobType {
    Fixed(String),
    Expression(Expr),
}

#[derive(Debug, Clone)]
pub struct Mapping {
    pub target: String,
    pub source: MappingSource,
}

#[derive(Debug, Clone)]
pub enum MappingSource {
    Expr(Expr),
    /// A plain text value (Camunda 7 `inputParameter` text without `${}`).
    Literal(serde_json::Value),
    /// `camunda:list`: each item evaluated.
    List(Vec<MappingSource>),
    /// `camunda:map`: each entry evaluated.
    Map(Vec<(String, MappingSource)>),
    /// `camunda:script` in Rhai: the script's value.
    Script(Script),
    /// The value of a visible variable (null when there is none): a data
    /// association without transformation.
    Variable(String),
}

#[derive(Debug)]
pub struct Flow {
    pub id: String,
    pub source: ElementIdx,
    pub target: ElementIdx,
    pub condition: Option<Expr>,
}
