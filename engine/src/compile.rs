//! Deploy time: a BPMN model becomes an immutable [`CompiledProcess`].
//!
//! Everything the engine cannot run is found here, with the element id and
//! line, instead of at run time: validation errors, expression and script
//! syntax, languages and element kinds the engine does not (yet) execute.
//! Elements are numbered ([`ElementIdx`]) and flows too ([`FlowIdx`]); the
//! instance state and its events refer to them by number, which is why a
//! compiled process is keyed by id, version and content hash.
//!
//! The flow graph of each scope is a `petgraph` graph, used once here to
//! precompute which elements can reach each inclusive gateway (the inclusive
//! join waits only for tokens that can still arrive, BPMN 2.0.2 §13.4.2).

use std::collections::HashMap;
use std::sync::Arc;

use bpmn_models::ext::{camunda, zeebe};
use bpmn_models::lang::Language;
use bpmn_models::timer::{TimerKind, TimerValue};
use bpmn_models::{
    Activity, ActivityKind, Definitions, EventDefinitionKind, EventKind, FlowElement, FlowNode,
    FlowNodeKind, GatewayKind, LoopCharacteristics, Process, Severity, Span,
};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};
use serde::{Deserialize, Serialize};

use crate::expr::Expr;
use crate::schedule::Schedule;
use crate::script::{Script, ScriptEngine};

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
    index: HashMap<String, ElementIdx>,
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

/// The Camunda 7 code and message variables of an error or escalation
/// event definition, if it names any.
fn catch_variables(n: &FlowNode) -> Option<Box<CatchVariables>> {
    let FlowNodeKind::Event(e) = &n.kind else {
        return None;
    };
    let mut out = CatchVariables::default();
    for d in &e.event_definitions {
        let Ok(c7) = camunda::camunda(&d.base) else {
            continue;
        };
        match d.kind {
            EventDefinitionKind::Error { .. } => {
                out.code = out.code.or(c7.error_code_variable);
                out.message = out.message.or(c7.error_message_variable);
            }
            EventDefinitionKind::Escalation { .. } => {
                out.code = out.code.or(c7.escalation_code_variable);
            }
            _ => {}
        }
    }
    (out != CatchVariables::default()).then(|| Box::new(out))
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
    Message {
        name: String,
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
    /// variables.
    Message {
        name: String,
        key: Option<Expr>,
    },
    Signal {
        name: String,
    },
    Error {
        code: String,
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

/// One reason a deployment was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployProblem {
    pub code: &'static str,
    pub element_id: Option<String>,
    pub span: Span,
    pub message: String,
}

/// A deployment refused, with every reason at once.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} problem(s) in the deployment; first: {}", problems.len(), problems.first().map(|p| p.message.as_str()).unwrap_or(""))]
pub struct DeployError {
    pub problems: Vec<DeployProblem>,
}

/// FNV-1a, 64 bits: a stable content hash for deployment identity.
pub fn content_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Compiles every executable process of a file. `key_for` assigns the
/// version of each process id (the deployment registry decides).
pub fn compile(
    defs: &Definitions,
    scripts: &ScriptEngine,
    mut key_for: impl FnMut(&str) -> ProcessKey,
) -> Result<Vec<Arc<CompiledProcess>>, DeployError> {
    let mut problems: Vec<DeployProblem> = bpmn_models::validate(defs)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| DeployProblem {
            code: d.code,
            element_id: d.element_id,
            span: d.span,
            message: d.message,
        })
        .collect();
    let executable: Vec<&Process> = defs
        .processes()
        .filter(|p| p.is_executable == Some(true))
        .collect();
    if executable.is_empty() {
        problems.push(DeployProblem {
            code: "ENG001",
            element_id: None,
            span: defs.base.span,
            message: "expected at least one executable process (isExecutable=\"true\"), found none"
                .into(),
        });
    }
    let mut out = Vec::new();
    let message_flows: HashMap<String, String> = defs
        .root_elements
        .iter()
        .filter_map(|r| match r {
            bpmn_models::RootElement::Collaboration(c) => Some(c),
            _ => None,
        })
        .flat_map(|c| c.message_flows.iter())
        .map(|f| (f.source_ref.clone(), f.target_ref.clone()))
        .collect();
    let associations = all_associations(defs);
    if problems.is_empty() {
        for p in executable {
            let mut c = Compiler {
                scripts,
                defs,
                message_flows: &message_flows,
                link_throws: Vec::new(),
                instantiating: Vec::new(),
                link_catches: HashMap::new(),
                associations: &associations,
                compensation_links: Vec::new(),
                camunda7_file: std::cell::OnceCell::new(),
                problems: &mut problems,
                elements: Vec::new(),
                flows: Vec::new(),
                scopes: Vec::new(),
                index: HashMap::new(),
                defaults: HashMap::new(),
            };
            c.scope(None, &p.flow_elements);
            c.link_flows();
            c.resolve_links();
            c.resolve_compensation();
            c.implicit_starts();
            c.precompute_inclusive();
            let starts = c.starts();
            let Compiler {
                elements,
                flows,
                scopes,
                index,
                ..
            } = c;
            if scopes[0].entry().is_empty() && starts.is_empty() {
                problems.push(DeployProblem {
                    code: "ENG002",
                    element_id: Some(p.id.clone()),
                    span: p.base.span,
                    message: format!("process `{}`: expected a start event, found none", p.id),
                });
            }
            out.push(Arc::new(CompiledProcess {
                key: key_for(&p.id),
                name: p.name.clone(),
                elements,
                flows,
                scopes,
                starts,
                index,
            }));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(DeployError { problems })
    }
}

struct Compiler<'a> {
    scripts: &'a ScriptEngine,
    defs: &'a Definitions,
    /// Message flow source id → target id, over every collaboration.
    message_flows: &'a HashMap<String, String>,
    /// Link throw events waiting for their target: (throw, scope, link name).
    link_throws: Vec<(ElementIdx, ScopeIdx, String)>,
    /// Instantiating event-based gateways.
    instantiating: Vec<ElementIdx>,
    /// Catching link events by scope and link name.
    link_catches: HashMap<(ScopeIdx, String), ElementIdx>,
    /// Association source id → target id, over the whole file.
    associations: &'a HashMap<String, String>,
    /// Whether the file is a Camunda 7 one (computed on first use).
    camunda7_file: std::cell::OnceCell<bool>,
    /// Activities and the ids of their compensation handlers (resolved once
    /// every element is numbered), with the boundary event's id and span.
    compensation_links: Vec<(ElementIdx, String, String, Span)>,
    problems: &'a mut Vec<DeployProblem>,
    elements: Vec<Element>,
    flows: Vec<Flow>,
    scopes: Vec<ScopeDef>,
    index: HashMap<String, ElementIdx>,
    /// Element id → id of its `default` flow, resolved once flows are numbered.
    defaults: HashMap<String, String>,
}

impl Compiler<'_> {
    fn problem(&mut self, code: &'static str, node: &FlowNode, message: String) {
        self.problems.push(DeployProblem {
            code,
            element_id: Some(node.id.clone()),
            span: node.base.span,
            message,
        });
    }

    fn unsupported(&mut self, node: &FlowNode, what: &str) {
        self.problem(
            "ENG010",
            node,
            format!(
                "`{}` is a {what}, which orchid-bpmn does not execute yet",
                node.id
            ),
        );
    }

    fn expr(&mut self, node: &FlowNode, language: Option<&str>, body: &str) -> Option<Expr> {
        match Expr::compile(self.scripts, language, body) {
            Ok(e) => Some(e),
            Err(e) => {
                self.problem("ENG011", node, format!("`{}`: {e}", node.id));
                None
            }
        }
    }

    /// Numbers the elements of one scope (recursively) and records its flows.
    fn scope(&mut self, owner: Option<ElementIdx>, elements: &[FlowElement]) -> ScopeIdx {
        let idx = ScopeIdx(self.scopes.len() as u32);
        self.scopes.push(ScopeDef {
            owner,
            start_events: Vec::new(),
            event_starts: Vec::new(),
            data_objects: Vec::new(),
            implicit_starts: Vec::new(),
        });
        let mut pending = Vec::new();
        let mut boundaries = Vec::new();
        for fe in elements {
            match fe {
                FlowElement::FlowNode(n) if matches!(&n.kind, FlowNodeKind::Event(e) if matches!(e.kind, EventKind::Boundary { .. })) =>
                {
                    boundaries.push(n);
                }
                FlowElement::FlowNode(n) => self.node(idx, n),
                FlowElement::SequenceFlow(f) => pending.push(f),
                // A data object is a variable of its scope; references and
                // data stores carry no behaviour of their own.
                FlowElement::DataObject(d) => {
                    let name = d.name.clone().unwrap_or_else(|| d.id.clone());
                    self.scopes[idx.0 as usize].data_objects.push(name);
                }
                FlowElement::DataObjectReference(_) | FlowElement::DataStoreReference(_) => {}
            }
        }
        // Boundary events after the activities they are attached to.
        for n in boundaries {
            self.boundary(idx, n, elements);
        }
        for f in pending {
            let (Some(&source), Some(&target)) = (
                self.index.get(f.source_ref.as_str()),
                self.index.get(f.target_ref.as_str()),
            ) else {
                // Validation reported it (BPMN002) or the node was refused.
                continue;
            };
            let condition = f.condition_expression.as_ref().and_then(|c| {
                match Expr::compile(self.scripts, c.language.as_deref(), &c.body) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        self.problems.push(DeployProblem {
                            code: "ENG011",
                            element_id: Some(f.id.clone()),
                            span: c.base.span,
                            message: format!("condition of `{}`: {e}", f.id),
                        });
                        None
                    }
                }
            });
            self.flows.push(Flow {
                id: f.id.clone(),
                source,
                target,
                condition,
            });
        }
        idx
    }

    fn push(&mut self, scope: ScopeIdx, n: &FlowNode, kind: ElementKind) -> ElementIdx {
        let idx = ElementIdx(self.elements.len() as u32);
        let default = match &n.kind {
            FlowNodeKind::Activity(a) => a.default.clone(),
            FlowNodeKind::Gateway(g) => g.kind.default_flow().map(str::to_string),
            FlowNodeKind::Event(_) => None,
        };
        if let Some(d) = default {
            self.defaults.insert(n.id.clone(), d);
        }
        self.index.insert(n.id.clone(), idx);
        self.elements.push(Element {
            id: n.id.clone(),
            name: n.name.clone(),
            scope,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            default_flow: None,
            inputs: Vec::new(),
            outputs: None,
            outputs_only: false,
            boundaries: Vec::new(),
            looping: None,
            compensation: None,
            for_compensation: matches!(&n.kind, FlowNodeKind::Activity(a) if a.is_for_compensation),
            catch_variables: catch_variables(n),
            kind,
            span: n.base.span,
        });
        idx
    }

    fn node(&mut self, scope: ScopeIdx, n: &FlowNode) {
        match &n.kind {
            FlowNodeKind::Event(e) => self.event(scope, n, e),
            FlowNodeKind::Gateway(g) => {
                let kind = match &g.kind {
                    GatewayKind::Exclusive { .. } => Some(ElementKind::ExclusiveGateway),
                    GatewayKind::Parallel => Some(ElementKind::ParallelGateway),
                    GatewayKind::Inclusive { .. } => Some(ElementKind::InclusiveGateway {
                        upstream: Vec::new(),
                    }),
                    GatewayKind::EventBased {
                        instantiate,
                        event_gateway_type,
                    } => {
                        if event_gateway_type.as_deref() == Some("Parallel") {
                            self.unsupported(n, "parallel event-based gateway");
                            None
                        } else {
                            if *instantiate {
                                let idx = ElementIdx(self.elements.len() as u32);
                                self.instantiating.push(idx);
                            }
                            Some(ElementKind::EventGateway)
                        }
                    }
                    GatewayKind::Complex {
                        activation_condition,
                        ..
                    } => match activation_condition
                        .as_ref()
                        .filter(|c| !c.body.trim().is_empty())
                    {
                        Some(c) => self.expr(n, c.language.as_deref(), &c.body).map(|e| {
                            ElementKind::ComplexGateway {
                                activation: Some(e),
                            }
                        }),
                        None => Some(ElementKind::ComplexGateway { activation: None }),
                    },
                };
                if let Some(kind) = kind {
                    self.push(scope, n, kind);
                }
            }
            FlowNodeKind::Activity(a) => self.activity(scope, n, a),
        }
    }

    /// A boundary event on an activity of the same scope that the engine
    /// runs; the activity lists it in [`Element::boundaries`].
    fn boundary(&mut self, scope: ScopeIdx, n: &FlowNode, siblings: &[FlowElement]) {
        let FlowNodeKind::Event(e) = &n.kind else {
            return;
        };
        let EventKind::Boundary {
            attached_to_ref,
            cancel_activity,
        } = &e.kind
        else {
            return;
        };
        let Some(triggers) = self.triggers(n, e, Position::Boundary) else {
            return;
        };
        let is_activity = siblings.iter().any(|fe| {
            matches!(fe, FlowElement::FlowNode(a) if a.id == *attached_to_ref && matches!(a.kind, FlowNodeKind::Activity(_)))
        });
        let attached = self
            .index
            .get(attached_to_ref.as_str())
            .copied()
            .filter(|a| is_activity && self.elements[a.0 as usize].scope == scope);
        let Some(attached_to) = attached else {
            if is_activity {
                // The activity itself was refused; that problem is reported.
                return;
            }
            self.problem(
                "ENG014",
                n,
                format!(
                    "boundary event `{}`: expected attachedToRef to name an activity of the same process or sub-process, found `{attached_to_ref}`",
                    n.id
                ),
            );
            return;
        };
        if matches!(triggers[..], [Trigger::Compensate]) {
            // Not a trigger: it links the activity to its handler.
            match self.associations.get(&n.id) {
                Some(handler) => self.compensation_links.push((
                    attached_to,
                    handler.clone(),
                    n.id.clone(),
                    n.base.span,
                )),
                None => self.problem(
                    "ENG015",
                    n,
                    format!(
                        "compensation boundary event `{}`: expected an association to a compensation handler (isForCompensation=\"true\"), found none",
                        n.id
                    ),
                ),
            }
            self.push(
                scope,
                n,
                ElementKind::Boundary {
                    triggers,
                    attached_to,
                    cancel_activity: true,
                    parallel: false,
                },
            );
            return;
        }
        let interrupting_only = triggers
            .iter()
            .any(|t| matches!(t, Trigger::Error { .. } | Trigger::Cancel));
        if interrupting_only && !*cancel_activity {
            self.problem(
                "ENG015",
                n,
                format!(
                    "error boundary event `{}`: expected cancelActivity=\"true\" (an error always interrupts), found \"false\"",
                    n.id
                ),
            );
            return;
        }
        let idx = self.push(
            scope,
            n,
            ElementKind::Boundary {
                triggers,
                attached_to,
                cancel_activity: *cancel_activity,
                parallel: e.parallel_multiple,
            },
        );
        self.mappings(idx, n);
        self.elements[attached_to.0 as usize].boundaries.push(idx);
    }

    /// A start, end, intermediate catch or intermediate throw event.
    fn event(&mut self, scope: ScopeIdx, n: &FlowNode, e: &bpmn_models::Event) {
        if !e.event_definition_refs.is_empty() {
            self.unsupported(n, "event with eventDefinitionRef");
            return;
        }
        let defs = e.event_definitions.as_slice();
        let kind = match &e.kind {
            EventKind::Start { is_interrupting } => {
                if defs.is_empty() {
                    Some(ElementKind::StartEvent)
                } else {
                    let owner = self.scopes[scope.0 as usize].owner;
                    let position = match owner.map(|o| &self.elements[o.0 as usize].kind) {
                        None => Position::ProcessStart,
                        Some(ElementKind::EventSubProcess { .. }) => Position::EventSubStart,
                        Some(_) => {
                            self.problem(
                                "ENG015",
                                n,
                                format!(
                                    "start event `{}` of an embedded sub-process: expected a none start event, found a {}",
                                    n.id,
                                    defs[0].kind.element_name()
                                ),
                            );
                            return;
                        }
                    };
                    self.triggers(n, e, position)
                        .map(|triggers| ElementKind::EventStart {
                            triggers,
                            interrupting: *is_interrupting,
                        })
                }
            }
            EventKind::End => match defs {
                [] => Some(ElementKind::EndEvent),
                [d] if matches!(d.kind, EventDefinitionKind::Terminate) => {
                    Some(ElementKind::TerminateEndEvent)
                }
                [d] if matches!(d.kind, EventDefinitionKind::Cancel) => {
                    let owner = self.scopes[scope.0 as usize].owner;
                    let in_transaction = owner.is_some_and(|o| {
                        matches!(
                            self.elements[o.0 as usize].kind,
                            ElementKind::SubProcess {
                                transaction: true,
                                ..
                            }
                        )
                    });
                    if !in_transaction {
                        self.problem(
                            "ENG015",
                            n,
                            format!(
                                "cancel end event `{}`: expected it inside a transaction, found it elsewhere",
                                n.id
                            ),
                        );
                        return;
                    }
                    Some(ElementKind::CancelEnd)
                }
                _ => self.throw_kind(n, e),
            },
            EventKind::IntermediateThrow => match defs {
                [] => Some(ElementKind::PassThrough),
                [
                    bpmn_models::EventDefinition {
                        kind: EventDefinitionKind::Link { name, .. },
                        ..
                    },
                ] => {
                    let idx = ElementIdx(self.elements.len() as u32);
                    self.link_throws
                        .push((idx, scope, name.clone().unwrap_or_default()));
                    // Resolved to a LinkThrow once every catch is known.
                    Some(ElementKind::PassThrough)
                }
                _ => self.throw_kind(n, e),
            },
            EventKind::IntermediateCatch => match defs {
                [
                    bpmn_models::EventDefinition {
                        kind: EventDefinitionKind::Link { name, .. },
                        ..
                    },
                ] => {
                    let idx = ElementIdx(self.elements.len() as u32);
                    let name = name.clone().unwrap_or_default();
                    if self
                        .link_catches
                        .insert((scope, name.clone()), idx)
                        .is_some()
                    {
                        self.problem(
                            "ENG016",
                            n,
                            format!(
                                "link catch event `{}`: expected one catching link named `{name}` per process level, found several",
                                n.id
                            ),
                        );
                    }
                    Some(ElementKind::PassThrough)
                }
                _ => self
                    .triggers(n, e, Position::Catch)
                    .map(|triggers| ElementKind::Catch {
                        triggers,
                        parallel: e.parallel_multiple,
                    }),
            },
            EventKind::Boundary { .. } => None,
        };
        if let Some(kind) = kind {
            let start = matches!(kind, ElementKind::StartEvent);
            let idx = self.push(scope, n, kind);
            if start {
                self.scopes[scope.0 as usize].start_events.push(idx);
            }
            self.mappings(idx, n);
        }
    }

    /// What a throw or end event with definitions does: a job when it names
    /// one (Camunda 8 message throw events are served by job workers; a
    /// Camunda 7 one by its delegate), otherwise it throws.
    fn throw_kind(&mut self, n: &FlowNode, e: &bpmn_models::Event) -> Option<ElementKind> {
        if let [
            d @ bpmn_models::EventDefinition {
                kind: EventDefinitionKind::Message { .. },
                ..
            },
        ] = e.event_definitions.as_slice()
        {
            // Camunda 7 puts the implementation on the event definition,
            // Camunda 8 on the event.
            let (Ok(c7n), Ok(c7d), Ok(c8)) = (
                camunda::camunda(&n.base),
                camunda::camunda(&d.base),
                zeebe::zeebe(&n.base),
            ) else {
                return None;
            };
            for c7 in [&c7n, &c7d] {
                match self.job(n, c7, &c8) {
                    Err(()) => return None,
                    Ok(Some(kind)) => return Some(kind),
                    Ok(None) => {}
                }
            }
        }
        let mut throws = Vec::new();
        for d in &e.event_definitions {
            let t = match &d.kind {
                EventDefinitionKind::Message { message_ref, .. } => {
                    self.message_throw(n, message_ref.as_deref())?
                }
                EventDefinitionKind::Signal { signal_ref } => Throw::Signal {
                    name: self.signal_name(n, signal_ref.as_deref())?,
                },
                EventDefinitionKind::Error { error_ref } => {
                    let code = error_ref.as_deref().and_then(|r| self.error_code(r));
                    let Some(code) = code else {
                        self.problem(
                            "ENG015",
                            n,
                            format!(
                                "error event `{}`: expected an errorRef naming an error, found {}",
                                n.id,
                                error_ref
                                    .as_deref()
                                    .map_or("none".to_string(), |r| format!("`{r}`"))
                            ),
                        );
                        return None;
                    };
                    Throw::Error { code }
                }
                EventDefinitionKind::Escalation { escalation_ref } => {
                    let code = escalation_ref
                        .as_deref()
                        .and_then(|r| self.escalation_code(r));
                    let Some(code) = code else {
                        self.problem(
                            "ENG015",
                            n,
                            format!(
                                "escalation event `{}`: expected an escalationRef naming an escalation, found {}",
                                n.id,
                                escalation_ref.as_deref().map_or("none".to_string(), |r| format!("`{r}`"))
                            ),
                        );
                        return None;
                    };
                    Throw::Escalation { code }
                }
                EventDefinitionKind::Compensate {
                    activity_ref,
                    wait_for_completion,
                } => Throw::Compensate {
                    activity: activity_ref.clone(),
                    wait: wait_for_completion.unwrap_or(true),
                },
                other => {
                    let kind = if matches!(e.kind, EventKind::End) {
                        "endEvent"
                    } else {
                        "intermediateThrowEvent"
                    };
                    self.unsupported(n, &format!("{kind} with a {}", other.element_name()));
                    return None;
                }
            };
            throws.push(t);
        }
        Some(ElementKind::Throw { throws })
    }

    /// The catching definitions of an event at `position`.
    fn triggers(
        &mut self,
        n: &FlowNode,
        e: &bpmn_models::Event,
        position: Position,
    ) -> Option<Vec<Trigger>> {
        let what = |d: &bpmn_models::EventDefinition| {
            format!("{} with a {}", e.kind.element_name(), d.kind.element_name())
        };
        if e.event_definitions.is_empty() {
            self.unsupported(
                n,
                &format!("{} without an event definition", e.kind.element_name()),
            );
            return None;
        }
        let mut out = Vec::new();
        for d in &e.event_definitions {
            let allowed = match (&d.kind, position) {
                (EventDefinitionKind::Timer(_), _)
                | (EventDefinitionKind::Message { .. }, _)
                | (EventDefinitionKind::Signal { .. }, _) => true,
                (EventDefinitionKind::Conditional { .. }, p) => p != Position::ProcessStart,
                (
                    EventDefinitionKind::Error { .. }
                    | EventDefinitionKind::Escalation { .. }
                    | EventDefinitionKind::Compensate { .. },
                    Position::EventSubStart | Position::Boundary,
                ) => true,
                (EventDefinitionKind::Cancel, Position::Boundary) => true,
                _ => false,
            };
            if !allowed {
                self.unsupported(n, &what(d));
                return None;
            }
            let t = match &d.kind {
                EventDefinitionKind::Timer(t) => Trigger::Timer(self.timer(n, t)?),
                EventDefinitionKind::Message { message_ref, .. } => {
                    let Some(m) = message_ref else {
                        self.problem(
                            "ENG015",
                            n,
                            format!(
                                "message event `{}`: expected a messageRef, found none",
                                n.id
                            ),
                        );
                        return None;
                    };
                    let (name, key) = self.message(n, m)?;
                    Trigger::Message { name, key }
                }
                EventDefinitionKind::Signal { signal_ref } => Trigger::Signal {
                    name: self.signal_name(n, signal_ref.as_deref())?,
                },
                EventDefinitionKind::Conditional { condition } => {
                    let Some(c) = condition.as_ref().filter(|c| !c.body.trim().is_empty()) else {
                        self.problem(
                            "ENG015",
                            n,
                            format!(
                                "conditional event `{}`: expected a condition, found none",
                                n.id
                            ),
                        );
                        return None;
                    };
                    Trigger::Conditional {
                        condition: self.expr(n, c.language.as_deref(), &c.body)?,
                    }
                }
                EventDefinitionKind::Error { error_ref } => Trigger::Error {
                    code: error_ref.as_deref().and_then(|r| self.error_code(r)),
                },
                EventDefinitionKind::Escalation { escalation_ref } => Trigger::Escalation {
                    code: escalation_ref
                        .as_deref()
                        .and_then(|r| self.escalation_code(r)),
                },
                EventDefinitionKind::Cancel => Trigger::Cancel,
                EventDefinitionKind::Compensate { .. } => Trigger::Compensate,
                _ => {
                    self.unsupported(n, &what(d));
                    return None;
                }
            };
            out.push(t);
        }
        Some(out)
    }

    /// The name and correlation key expression of the message `id` refers to.
    fn message(&mut self, n: &FlowNode, id: &str) -> Option<(String, Option<Expr>)> {
        let Some(bpmn_models::RootElement::Message(m)) = self.defs.root_element(id) else {
            self.problem(
                "ENG015",
                n,
                format!(
                    "`{}`: expected messageRef to name a message, found `{id}`",
                    n.id
                ),
            );
            return None;
        };
        let name = m.name.clone().unwrap_or_else(|| m.id.clone());
        let key = match zeebe::zeebe(&m.base) {
            Ok(z) => z.subscription.and_then(|s| s.correlation_key),
            Err(e) => {
                self.problem("BPMN031", n, e.message);
                return None;
            }
        };
        let key = match key.filter(|k| !k.trim().is_empty()) {
            Some(k) => Some(self.expr(n, None, &k)?),
            None => None,
        };
        Some((name, key))
    }

    /// A message thrown by `n`: its own messageRef, or the message of the
    /// element its message flow leads to.
    fn message_throw(&mut self, n: &FlowNode, message_ref: Option<&str>) -> Option<Throw> {
        let target_ref = self
            .message_flows
            .get(&n.id)
            .and_then(|t| find_node(self.defs, t))
            .and_then(node_message_ref);
        let Some(m) = message_ref.or(target_ref.as_deref()) else {
            self.problem(
                "ENG017",
                n,
                format!(
                    "`{}` throws a message: expected a messageRef, a message flow to an element that names one, or a job implementation, found none",
                    n.id
                ),
            );
            return None;
        };
        let m = m.to_string();
        let (name, key) = self.message(n, &m)?;
        Some(Throw::Message { name, key })
    }

    fn signal_name(&mut self, n: &FlowNode, signal_ref: Option<&str>) -> Option<String> {
        match signal_ref.and_then(|r| self.defs.root_element(r)) {
            Some(bpmn_models::RootElement::Signal(s)) => {
                Some(s.name.clone().unwrap_or_else(|| s.id.clone()))
            }
            _ => {
                self.problem(
                    "ENG015",
                    n,
                    format!(
                        "signal event `{}`: expected a signalRef naming a signal, found {}",
                        n.id,
                        signal_ref.map_or("none".to_string(), |r| format!("`{r}`"))
                    ),
                );
                None
            }
        }
    }

    /// The error code of error `id`; `None` when it has none (or there is
    /// no such error: validation reports that).
    fn error_code(&self, id: &str) -> Option<String> {
        match self.defs.root_element(id) {
            Some(bpmn_models::RootElement::Error(e)) => e.error_code.clone(),
            _ => None,
        }
    }

    fn escalation_code(&self, id: &str) -> Option<String> {
        match self.defs.root_element(id) {
            Some(bpmn_models::RootElement::Escalation(e)) => e.escalation_code.clone(),
            _ => None,
        }
    }

    /// Points each activity with a compensation boundary event at its
    /// handler, which must be `isForCompensation` and have no incoming flow.
    fn resolve_compensation(&mut self) {
        for (activity, handler, boundary, span) in std::mem::take(&mut self.compensation_links) {
            let found = self
                .index
                .get(handler.as_str())
                .copied()
                .filter(|h| self.elements[h.0 as usize].for_compensation);
            match found {
                Some(h) if self.elements[h.0 as usize].incoming.is_empty() => {
                    self.elements[activity.0 as usize].compensation = Some(h);
                }
                _ => self.problems.push(DeployProblem {
                    code: "ENG015",
                    element_id: Some(boundary.clone()),
                    span,
                    message: format!(
                        "compensation boundary event `{boundary}`: expected its association to lead to an activity with isForCompensation=\"true\" and no incoming flow, found `{handler}`"
                    ),
                }),
            }
        }
    }

    /// The implicit starts of scopes without a start event: the process
    /// (when nothing else starts it) and embedded sub-processes and
    /// transactions — not ad-hoc or event sub-processes, which enable their
    /// inside their own way. Boundary events, event sub-processes,
    /// compensation handlers and catching link events have no incoming
    /// flows but are never started this way.
    fn implicit_starts(&mut self) {
        let link_catches: Vec<ElementIdx> = self.link_catches.values().copied().collect();
        let has_event_starts =
            self.elements.iter().any(|e| {
                e.scope == ScopeIdx(0) && matches!(e.kind, ElementKind::EventStart { .. })
            }) || !self.instantiating.is_empty();
        for (i, def) in self.scopes.iter_mut().enumerate() {
            if !def.start_events.is_empty() {
                continue;
            }
            let owner_kind = def.owner.map(|o| &self.elements[o.0 as usize].kind);
            let eligible = match owner_kind {
                None => !has_event_starts,
                Some(ElementKind::SubProcess { .. }) => true,
                _ => false,
            };
            if !eligible {
                continue;
            }
            def.implicit_starts = self
                .elements
                .iter()
                .enumerate()
                .filter(|(j, e)| {
                    e.scope == ScopeIdx(i as u32)
                        && e.incoming.is_empty()
                        && !e.for_compensation
                        && !link_catches.contains(&ElementIdx(*j as u32))
                        && !matches!(
                            e.kind,
                            ElementKind::Boundary { .. }
                                | ElementKind::EventSubProcess { .. }
                                | ElementKind::EventStart { .. }
                        )
                })
                .map(|(j, _)| ElementIdx(j as u32))
                .collect();
        }
    }

    /// Points each link throw event at its catching link event.
    fn resolve_links(&mut self) {
        for (throw, scope, name) in std::mem::take(&mut self.link_throws) {
            match self.link_catches.get(&(scope, name.clone())) {
                Some(&target) => {
                    self.elements[throw.0 as usize].kind = ElementKind::LinkThrow { target };
                }
                None => {
                    let e = &self.elements[throw.0 as usize];
                    self.problems.push(DeployProblem {
                        code: "ENG016",
                        element_id: Some(e.id.clone()),
                        span: e.span,
                        message: format!(
                            "link throw event `{}`: expected a catching link event named `{name}` in the same process level, found none",
                            e.id
                        ),
                    });
                }
            }
        }
    }

    /// The process's event starts: start events with definitions at
    /// process level, and the targets of instantiating event gateways.
    fn starts(&self) -> Vec<ElementIdx> {
        let mut out: Vec<ElementIdx> = self
            .elements
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.scope == ScopeIdx(0) && matches!(e.kind, ElementKind::EventStart { .. })
            })
            .map(|(i, _)| ElementIdx(i as u32))
            .collect();
        for g in &self.instantiating {
            for f in &self.elements[g.0 as usize].outgoing {
                out.push(self.flows[f.0 as usize].target);
            }
        }
        out
    }

    /// Compiles a timer body: a literal is scheduled now (an invalid or
    /// out-of-range one is a deploy error), an expression is compiled.
    fn timer(&mut self, n: &FlowNode, t: &bpmn_models::TimerDefinition) -> Option<TimerSpec> {
        let bodies = [
            (TimerKind::Date, "timeDate", &t.time_date),
            (TimerKind::Duration, "timeDuration", &t.time_duration),
            (TimerKind::Cycle, "timeCycle", &t.time_cycle),
        ];
        let present: Vec<_> = bodies
            .iter()
            .filter_map(|(k, name, e)| e.as_ref().map(|e| (*k, *name, e)))
            .collect();
        let [(kind, name, e)] = present[..] else {
            // Validation reports this first; be safe if it did not.
            self.problem(
                "ENG013",
                n,
                format!(
                    "timer of `{}`: expected exactly one of timeDate, timeDuration or timeCycle, found {}",
                    n.id,
                    present.len()
                ),
            );
            return None;
        };
        let value = match bpmn_models::timer::parse_timer(kind, &e.body) {
            Ok(v) => v,
            Err(err) => {
                self.problem(
                    "ENG013",
                    n,
                    format!("{name} of `{}` is not a valid timer: {err}", n.id),
                );
                return None;
            }
        };
        match value {
            TimerValue::Expression { .. } => self
                .expr(n, e.language.as_deref(), &e.body)
                .map(|expr| TimerSpec::Expression { kind, expr }),
            v => match Schedule::new(&v) {
                Ok(s) => Some(TimerSpec::Static(s)),
                Err(err) => {
                    self.problem("ENG013", n, format!("{name} of `{}`: {err}", n.id));
                    None
                }
            },
        }
    }

    fn activity(&mut self, scope: ScopeIdx, n: &FlowNode, a: &Activity) {
        let looping = match &a.loop_characteristics {
            None => None,
            Some(l) => match self.looping(n, l) {
                Some(spec) => Some(Box::new(spec)),
                None => return,
            },
        };
        let first = self.elements.len();
        self.activity_kind(scope, n, a);
        // The activity is the first element pushed (a sub-process pushes
        // its inner elements after itself).
        if let Some(e) = self.elements.get_mut(first)
            && e.id == n.id
        {
            e.looping = looping;
        }
    }

    /// Compiles multi-instance or standard loop characteristics.
    fn looping(&mut self, n: &FlowNode, l: &LoopCharacteristics) -> Option<LoopSpec> {
        match l {
            LoopCharacteristics::Standard(sl) => {
                let condition = match &sl.loop_condition {
                    Some(c) if !c.body.trim().is_empty() => {
                        Some(self.expr(n, c.language.as_deref(), &c.body)?)
                    }
                    _ => None,
                };
                Some(LoopSpec {
                    kind: LoopKind::Standard {
                        test_before: sl.test_before,
                        maximum: sl.loop_maximum,
                        condition,
                    },
                    counter_base: 0,
                })
            }
            LoopCharacteristics::MultiInstance(mi) => {
                let (Ok(c7), Ok(c8)) = (camunda::camunda(&mi.base), zeebe::zeebe(&mi.base)) else {
                    self.problem(
                        "BPMN031",
                        n,
                        format!("`{}`: malformed multi-instance extension", n.id),
                    );
                    return None;
                };
                let z = c8.loop_characteristics;
                let opt = |c: &mut Self, text: Option<&str>, language: Option<&str>| match text
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                {
                    Some(t) => c.expr(n, language, t).map(Some).ok_or(()),
                    None => Ok(None),
                };
                let cardinality = opt(
                    self,
                    mi.loop_cardinality.as_ref().map(|c| c.body.as_str()),
                    mi.loop_cardinality
                        .as_ref()
                        .and_then(|c| c.language.as_deref()),
                )
                .ok()?;
                let collection_text = z
                    .as_ref()
                    .and_then(|z| z.input_collection.clone())
                    .or(c7.collection.clone());
                let collection = opt(self, collection_text.as_deref(), None).ok()?;
                let output_element = opt(
                    self,
                    z.as_ref().and_then(|z| z.output_element.as_deref()),
                    None,
                )
                .ok()?;
                let completion = opt(
                    self,
                    mi.completion_condition.as_ref().map(|c| c.body.as_str()),
                    mi.completion_condition
                        .as_ref()
                        .and_then(|c| c.language.as_deref()),
                )
                .ok()?;
                if cardinality.is_none() && collection.is_none() {
                    self.problem(
                        "ENG018",
                        n,
                        format!(
                            "multi-instance `{}`: expected a loopCardinality or an input collection (zeebe:loopCharacteristics inputCollection, camunda:collection), found neither",
                            n.id
                        ),
                    );
                    return None;
                }
                Some(LoopSpec {
                    kind: LoopKind::Multi {
                        sequential: mi.is_sequential,
                        cardinality,
                        collection,
                        element_variable: z
                            .as_ref()
                            .and_then(|z| z.input_element.clone())
                            .or(c7.element_variable.clone()),
                        output_collection: z.as_ref().and_then(|z| z.output_collection.clone()),
                        output_element,
                        completion,
                    },
                    counter_base: if z.is_some() { 1 } else { 0 },
                })
            }
        }
    }

    fn activity_kind(&mut self, scope: ScopeIdx, n: &FlowNode, a: &Activity) {
        let c7 = match camunda::camunda(&n.base) {
            Ok(v) => v,
            Err(e) => {
                self.problem("BPMN031", n, e.message);
                return;
            }
        };
        let c8 = match zeebe::zeebe(&n.base) {
            Ok(v) => v,
            Err(e) => {
                self.problem("BPMN031", n, e.message);
                return;
            }
        };
        let kind = match &a.kind {
            ActivityKind::Task | ActivityKind::ManualTask => ElementKind::PassThrough,
            ActivityKind::UserTask { .. } => ElementKind::UserTask,
            ActivityKind::ReceiveTask { message_ref, .. } => {
                let message = match message_ref {
                    Some(m) => match self.message(n, m) {
                        Some((name, key)) => Some(Trigger::Message { name, key }),
                        None => return,
                    },
                    None => None,
                };
                ElementKind::ReceiveTask { message }
            }
            ActivityKind::ScriptTask {
                script_format,
                script,
            } => {
                let result_variable = c8
                    .script
                    .as_ref()
                    .and_then(|s| s.result_variable.clone())
                    .or_else(|| c7.result_variable.clone());
                let body = if let Some(s) = c8.script.as_ref().map(|s| s.expression.clone()) {
                    match self.expr(n, None, &s) {
                        Some(e) => ScriptBody::Expression(e),
                        None => return,
                    }
                } else {
                    let text = script.as_ref().map(|s| s.text.as_str()).unwrap_or("");
                    match bpmn_models::lang::script_language(script_format.as_deref()) {
                        Ok(Language::Rhai) => match self.scripts.compile_script(text) {
                            Ok(s) => ScriptBody::Rhai(s),
                            Err(e) => {
                                self.problem("ENG011", n, format!("script of `{}`: {e}", n.id));
                                return;
                            }
                        },
                        Ok(lang) => match Expr::compile_as(self.scripts, lang, text) {
                            Ok(e) => ScriptBody::Expression(e),
                            Err(e) => {
                                self.problem("ENG011", n, format!("script of `{}`: {e}", n.id));
                                return;
                            }
                        },
                        Err(l) => {
                            self.problem(
                                "BPMN018",
                                n,
                                format!(
                                    "script task `{}` has scriptFormat `{l}`: expected `rhai` or `feel`",
                                    n.id
                                ),
                            );
                            return;
                        }
                    }
                };
                ElementKind::Script {
                    body,
                    result_variable,
                }
            }
            ActivityKind::BusinessRuleTask { .. }
                if c8.called_decision.is_some() || c7.decision_ref.is_some() =>
            {
                match self.decision(n, &c7, &c8) {
                    Some(spec) => ElementKind::BusinessRule(Box::new(spec)),
                    None => return,
                }
            }
            ActivityKind::ServiceTask { .. }
            | ActivityKind::SendTask { .. }
            | ActivityKind::BusinessRuleTask { .. } => {
                let send_message = match &a.kind {
                    ActivityKind::SendTask { message_ref, .. } => Some(message_ref),
                    _ => None,
                };
                match self.job(n, &c7, &c8) {
                    Err(()) => return,
                    Ok(Some(kind)) => kind,
                    Ok(None) => match send_message {
                        Some(message_ref) => match self.message_throw(n, message_ref.as_deref()) {
                            Some(t) => ElementKind::Throw { throws: vec![t] },
                            None => return,
                        },
                        None => {
                            self.problem(
                                "ENG012",
                                n,
                                format!(
                                    "`{}` has no implementation: expected zeebe:taskDefinition type, camunda:type=\"external\" with camunda:topic, camunda:class, camunda:delegateExpression or camunda:expression, found none",
                                    n.id
                                ),
                            );
                            return;
                        }
                    },
                }
            }
            ActivityKind::SubProcess(sp) if sp.triggered_by_event => {
                // The scope it opens is the next one: known before its
                // start event is compiled, which asks.
                let next = ScopeIdx(self.scopes.len() as u32);
                let idx = self.push(scope, n, ElementKind::EventSubProcess { scope: next });
                self.mappings(idx, n);
                let inner = self.scope(Some(idx), &sp.flow_elements);
                let starts: Vec<ElementIdx> = self
                    .elements
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| {
                        e.scope == inner && matches!(e.kind, ElementKind::EventStart { .. })
                    })
                    .map(|(i, _)| ElementIdx(i as u32))
                    .collect();
                match starts[..] {
                    [start] if self.scopes[inner.0 as usize].start_events.is_empty() => {
                        self.scopes[scope.0 as usize].event_starts.push(start);
                    }
                    _ => self.problem(
                        "ENG003",
                        n,
                        format!(
                            "event sub-process `{}`: expected exactly one start event with an event definition and no none start event, found {} and {}",
                            n.id,
                            starts.len(),
                            self.scopes[inner.0 as usize].start_events.len()
                        ),
                    ),
                }
                return;
            }
            ActivityKind::SubProcess(sp)
            | ActivityKind::Transaction {
                sub_process: sp, ..
            } => {
                let transaction = matches!(a.kind, ActivityKind::Transaction { .. });
                // The kind is known before the inner elements are compiled
                // (a cancel end event asks whether it is in a transaction).
                let next = ScopeIdx(self.scopes.len() as u32);
                let idx = self.push(
                    scope,
                    n,
                    ElementKind::SubProcess {
                        scope: next,
                        transaction,
                    },
                );
                self.mappings(idx, n);
                let inner = self.scope(Some(idx), &sp.flow_elements);
                if self.scopes[inner.0 as usize].start_events.len() > 1 {
                    let found = self.scopes[inner.0 as usize].start_events.len();
                    self.problem(
                        "ENG003",
                        n,
                        format!(
                            "sub-process `{}`: expected one none start event (or none, for an implicit start), found {found}",
                            n.id
                        ),
                    );
                }
                return;
            }
            ActivityKind::AdHocSubProcess {
                sub_process: sp,
                completion_condition,
                ordering,
                cancel_remaining_instances,
            } => {
                let completion = match completion_condition
                    .as_ref()
                    .filter(|c| !c.body.trim().is_empty())
                {
                    Some(c) => match self.expr(n, c.language.as_deref(), &c.body) {
                        Some(e) => Some(e),
                        None => return,
                    },
                    None => None,
                };
                let active = match c8
                    .ad_hoc
                    .as_ref()
                    .and_then(|h| h.active_elements_collection.clone())
                {
                    Some(t) if !t.trim().is_empty() => match self.expr(n, None, &t) {
                        Some(e) => Some(e),
                        None => return,
                    },
                    _ => None,
                };
                let idx = self.push(scope, n, ElementKind::PassThrough);
                self.mappings(idx, n);
                let inner = self.scope(Some(idx), &sp.flow_elements);
                self.elements[idx.0 as usize].kind = ElementKind::AdHocSubProcess {
                    scope: inner,
                    sequential: ordering.as_deref() == Some("Sequential"),
                    completion,
                    cancel_remaining: cancel_remaining_instances.unwrap_or(true),
                    active,
                };
                return;
            }
            ActivityKind::CallActivity { called_element } => {
                match self.call(n, called_element.as_deref(), &c7, &c8) {
                    Some(spec) => ElementKind::CallActivity(Box::new(spec)),
                    None => return,
                }
            }
        };
        let idx = self.push(scope, n, kind);
        self.mappings(idx, n);
    }

    /// A business rule task's decision, in either dialect.
    fn decision(
        &mut self,
        n: &FlowNode,
        c7: &camunda::Camunda7,
        c8: &zeebe::Zeebe,
    ) -> Option<DecisionSpec> {
        let (id, result_variable, mapping) = match &c8.called_decision {
            Some(d) => (
                d.decision_id.clone(),
                d.result_variable.clone(),
                DecisionMapping::Value,
            ),
            None => (
                c7.decision_ref.clone().unwrap_or_default(),
                c7.result_variable.clone(),
                match c7.map_decision_result {
                    Some(camunda::MapDecisionResult::SingleEntry) => DecisionMapping::SingleEntry,
                    Some(camunda::MapDecisionResult::SingleResult) => DecisionMapping::SingleResult,
                    Some(camunda::MapDecisionResult::CollectEntries) => {
                        DecisionMapping::CollectEntries
                    }
                    Some(camunda::MapDecisionResult::ResultList) | None => {
                        DecisionMapping::ResultList
                    }
                },
            ),
        };
        if id.trim().is_empty() {
            self.problem(
                "ENG019",
                n,
                format!(
                    "business rule task `{}`: expected a decision id, found none",
                    n.id
                ),
            );
            return None;
        }
        let t = id.trim_start();
        let decision = if t.starts_with('=') || t.contains("${") || t.contains("#{") {
            CalledProcess::Expression(self.expr(n, None, &id)?)
        } else {
            CalledProcess::Id(id)
        };
        let version = match c7.decision_ref_binding {
            Some(camunda::Binding::Version) => match c7
                .decision_ref_version
                .as_deref()
                .and_then(|v| v.trim().parse::<u32>().ok())
            {
                Some(v) => Some(v),
                None => {
                    self.problem(
                        "ENG019",
                        n,
                        format!(
                            "business rule task `{}`: expected camunda:decisionRefVersion to be a version number, found {:?}",
                            n.id, c7.decision_ref_version
                        ),
                    );
                    return None;
                }
            },
            _ => None,
        };
        Some(DecisionSpec {
            decision,
            version,
            result_variable,
            mapping,
        })
    }

    /// A call activity's target and variable passing, in either dialect:
    /// Camunda 8 `zeebe:calledElement` (processId, maybe `=expr`;
    /// propagateAllParentVariables / propagateAllChildVariables, both
    /// true by default), Camunda 7 `calledElement` with `camunda:in` /
    /// `camunda:out` (nothing crosses without them) and
    /// `calledElementBinding`/`calledElementVersion`.
    fn call(
        &mut self,
        n: &FlowNode,
        called_element: Option<&str>,
        c7: &camunda::Camunda7,
        c8: &zeebe::Zeebe,
    ) -> Option<CallSpec> {
        let id = c8
            .called_element
            .as_ref()
            .and_then(|c| c.process_id.clone())
            .or(called_element.map(str::to_string))
            .filter(|s| !s.trim().is_empty());
        let Some(id) = id else {
            self.problem(
                "ENG019",
                n,
                format!(
                    "call activity `{}`: expected calledElement or zeebe:calledElement processId, found neither",
                    n.id
                ),
            );
            return None;
        };
        let t = id.trim_start();
        let process = if t.starts_with('=') || t.contains("${") || t.contains("#{") {
            CalledProcess::Expression(self.expr(n, None, &id)?)
        } else {
            CalledProcess::Id(id)
        };
        let version = match c7.called_element_binding {
            Some(camunda::Binding::Version) => {
                match c7
                    .called_element_version
                    .as_deref()
                    .and_then(|v| v.trim().parse::<u32>().ok())
                {
                    Some(v) => Some(v),
                    None => {
                        self.problem(
                            "ENG019",
                            n,
                            format!(
                                "call activity `{}`: expected camunda:calledElementVersion to be a version number, found {:?}",
                                n.id, c7.called_element_version
                            ),
                        );
                        return None;
                    }
                }
            }
            _ => None,
        };
        // Camunda 7 rules when the element uses Camunda 7 attributes, or
        // when it has no zeebe:calledElement in a Camunda 7 file (Camunda 7
        // passes nothing without camunda:in/out).
        let c7_style = c8.called_element.is_none()
            && (!c7.ins.is_empty()
                || !c7.outs.is_empty()
                || c7.called_element_binding.is_some()
                || *self.camunda7_file.get_or_init(|| {
                    bpmn_models::ext::dialect(self.defs) == bpmn_models::ext::Dialect::Camunda7
                }));
        let (inputs, outputs) = if c7_style {
            let mut sides = Vec::new();
            for list in [&c7.ins, &c7.outs] {
                let mut side = CallVariables::default();
                for m in list.iter() {
                    if m.variables_all {
                        side.all = true;
                        continue;
                    }
                    let source = match (&m.source, &m.source_expression) {
                        (_, Some(e)) => MappingSource::Expr(self.expr(n, None, e)?),
                        (Some(s), None) => MappingSource::Variable(s.clone()),
                        (None, None) => continue,
                    };
                    let target = m.target.clone().or(m.source.clone()).unwrap_or_default();
                    side.mappings.push(Mapping { target, source });
                }
                sides.push(side);
            }
            let outputs = sides.pop().unwrap_or_default();
            let inputs = sides.pop().unwrap_or_default();
            (inputs, outputs)
        } else {
            let ce = c8.called_element.as_ref();
            (
                CallVariables {
                    all: ce
                        .and_then(|c| c.propagate_all_parent_variables)
                        .unwrap_or(true),
                    mappings: Vec::new(),
                },
                CallVariables {
                    all: ce
                        .and_then(|c| c.propagate_all_child_variables)
                        .unwrap_or(true),
                    mappings: Vec::new(),
                },
            )
        };
        let same_deployment = matches!(
            c7.called_element_binding,
            Some(camunda::Binding::Deployment)
        ) || matches!(
            c8.called_element.as_ref().and_then(|c| c.binding_type),
            Some(zeebe::BindingType::Deployment)
        );
        Some(CallSpec {
            process,
            version,
            same_deployment,
            inputs,
            outputs,
        })
    }

    /// The job (or JUEL expression) that implements a task or a throwing
    /// event: `Ok(None)` when it names no implementation, `Err` when a
    /// problem was reported.
    fn job(
        &mut self,
        n: &FlowNode,
        c7: &camunda::Camunda7,
        c8: &zeebe::Zeebe,
    ) -> Result<Option<ElementKind>, ()> {
        let job_type = if let Some(td) = &c8.task_definition {
            Some(td.job_type.clone())
        } else if c7.task_type.as_deref() == Some("external") {
            c7.topic.clone()
        } else {
            c7.class.clone().or(c7.delegate_expression.clone())
        };
        let retries = c8
            .task_definition
            .as_ref()
            .and_then(|t| t.retries.as_deref())
            .and_then(|r| r.trim().parse::<u32>().ok())
            .or_else(|| {
                c7.failed_job_retry_time_cycle
                    .as_deref()
                    .and_then(retries_from_cycle)
            })
            .unwrap_or(3);
        match (job_type, &c7.expression) {
            (Some(t), _) => {
                let job_type = if t.trim_start().starts_with('=') {
                    JobType::Expression(self.expr(n, None, &t).ok_or(())?)
                } else {
                    JobType::Fixed(t)
                };
                Ok(Some(ElementKind::Job { job_type, retries }))
            }
            (None, Some(x)) => {
                let expr = self.expr(n, None, x).ok_or(())?;
                Ok(Some(ElementKind::ExpressionTask {
                    expr,
                    result_variable: c7.result_variable.clone(),
                }))
            }
            (None, None) => Ok(None),
        }
    }

    /// Input/output mappings of both dialects.
    fn mappings(&mut self, idx: ElementIdx, n: &FlowNode) {
        let (Ok(c7), Ok(c8)) = (camunda::camunda(&n.base), zeebe::zeebe(&n.base)) else {
            return;
        };
        let mut inputs = Vec::new();
        let mut outputs = None;
        let mut outputs_only = false;
        if let Some(io) = &c8.io_mapping {
            for m in &io.inputs {
                if let Some(source) = self.zeebe_source(n, m) {
                    inputs.push(Mapping {
                        target: m.target.clone(),
                        source,
                    });
                }
            }
            if !io.outputs.is_empty() {
                let mut outs = Vec::new();
                for m in &io.outputs {
                    if let Some(source) = self.zeebe_source(n, m) {
                        outs.push(Mapping {
                            target: m.target.clone(),
                            source,
                        });
                    }
                }
                outputs = Some(outs);
                outputs_only = true;
            }
        }
        if let Some(io) = &c7.input_output {
            for p in &io.inputs {
                if let Some(source) = self.c7_param(n, &p.value) {
                    inputs.push(Mapping {
                        target: p.name.clone(),
                        source,
                    });
                }
            }
            if !io.outputs.is_empty() {
                let mut outs = Vec::new();
                for p in &io.outputs {
                    if let Some(source) = self.c7_param(n, &p.value) {
                        outs.push(Mapping {
                            target: p.name.clone(),
                            source,
                        });
                    }
                }
                outputs = Some(outs);
            }
        }
        if let FlowNodeKind::Activity(a) = &n.kind {
            self.data_associations(n, a, &mut inputs, &mut outputs);
        }
        let e = &mut self.elements[idx.0 as usize];
        e.inputs = inputs;
        e.outputs = outputs;
        e.outputs_only = outputs_only;
    }

    /// Data input and output associations (BPMN 2.0.2 §10.4.1): an input
    /// association sets the activity's data input (a local variable named
    /// after it) from its source data object or from its transformation;
    /// an output association sets its target data object from the
    /// activity's data output or from its transformation. Assignments
    /// (`from` → `to`) map one expression to one variable each.
    fn data_associations(
        &mut self,
        n: &FlowNode,
        a: &Activity,
        inputs: &mut Vec<Mapping>,
        outputs: &mut Option<Vec<Mapping>>,
    ) {
        let io = a.io_specification.as_ref();
        let data_name = |id: &str| -> String {
            io.and_then(|io| {
                io.data_inputs
                    .iter()
                    .chain(io.data_outputs.iter())
                    .find(|d| d.id == id)
            })
            .map(|d| d.name.clone().unwrap_or_else(|| d.id.clone()))
            .unwrap_or_else(|| id.to_string())
        };
        for (assoc, is_input) in a
            .data_input_associations
            .iter()
            .map(|x| (x, true))
            .chain(a.data_output_associations.iter().map(|x| (x, false)))
        {
            let mut mapped = Vec::new();
            for asg in &assoc.assignments {
                let Some(from) = self.expr(n, asg.from.language.as_deref(), &asg.from.body) else {
                    continue;
                };
                mapped.push(Mapping {
                    target: asg.to.body.trim().to_string(),
                    source: MappingSource::Expr(from),
                });
            }
            if assoc.assignments.is_empty() {
                let target = match &assoc.target_ref {
                    Some(t) if is_input => data_name(t),
                    Some(t) => self.data_object_name(t),
                    None => continue,
                };
                let source = match assoc
                    .transformation
                    .as_ref()
                    .filter(|t| !t.body.trim().is_empty())
                {
                    Some(t) => match self.expr(n, t.language.as_deref(), &t.body) {
                        Some(e) => MappingSource::Expr(e),
                        None => continue,
                    },
                    None => match assoc.source_refs.first() {
                        Some(src) if is_input => {
                            MappingSource::Variable(self.data_object_name(src))
                        }
                        Some(src) => MappingSource::Variable(data_name(src)),
                        None => continue,
                    },
                };
                mapped.push(Mapping { target, source });
            }
            if is_input {
                inputs.extend(mapped);
            } else {
                outputs.get_or_insert_with(Vec::new).extend(mapped);
            }
        }
    }

    /// The variable of a data object, by the id of the object or of a
    /// reference to it (other ids are taken as variable names).
    fn data_object_name(&self, id: &str) -> String {
        /// A data object's variable, or a reference's (object, own name).
        enum Found {
            Object(String),
            Reference(Option<String>, String),
        }
        fn walk(elements: &[FlowElement], id: &str) -> Option<Found> {
            for fe in elements {
                match fe {
                    FlowElement::DataObject(d) if d.id == id => {
                        return Some(Found::Object(
                            d.name.clone().unwrap_or_else(|| d.id.clone()),
                        ));
                    }
                    FlowElement::DataObjectReference(r) if r.id == id => {
                        return Some(Found::Reference(
                            r.data_object_ref.clone(),
                            r.name.clone().unwrap_or_else(|| r.id.clone()),
                        ));
                    }
                    FlowElement::FlowNode(n) => {
                        if let FlowNodeKind::Activity(a) = &n.kind
                            && let Some(sp) = a.kind.sub_process()
                            && let Some(found) = walk(&sp.flow_elements, id)
                        {
                            return Some(found);
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        let find = |target: &str| {
            self.defs
                .processes()
                .find_map(|p| walk(&p.flow_elements, target))
        };
        match find(id) {
            Some(Found::Object(name)) => name,
            Some(Found::Reference(object, own)) => match object.as_deref().and_then(find) {
                Some(Found::Object(name)) => name,
                _ => own,
            },
            None => id.to_string(),
        }
    }

    /// A Zeebe mapping without a source copies the variable of the target's name.
    fn zeebe_source(&mut self, n: &FlowNode, m: &zeebe::Mapping) -> Option<MappingSource> {
        match &m.source {
            Some(s) => self.mapping_source(n, s),
            None => self
                .expr(n, None, &format!("={}", m.target))
                .map(MappingSource::Expr),
        }
    }

    fn mapping_source(&mut self, n: &FlowNode, source: &str) -> Option<MappingSource> {
        let t = source.trim_start();
        if t.starts_with('=') || t.contains("${") || t.contains("#{") {
            self.expr(n, None, source).map(MappingSource::Expr)
        } else {
            // Camunda 8 treats a source without `=` as a static string.
            Some(MappingSource::Literal(serde_json::Value::String(
                source.to_string(),
            )))
        }
    }

    fn c7_param(&mut self, n: &FlowNode, value: &camunda::ParamValue) -> Option<MappingSource> {
        use camunda::ParamValue;
        match value {
            ParamValue::Text(t) => self.mapping_source(n, t),
            ParamValue::None => Some(MappingSource::Literal(serde_json::Value::Null)),
            ParamValue::List(items) => items
                .iter()
                .map(|i| self.c7_param(n, i))
                .collect::<Option<Vec<_>>>()
                .map(MappingSource::List),
            ParamValue::Map(entries) => entries
                .iter()
                .map(|(k, v)| self.c7_param(n, v).map(|v| (k.clone(), v)))
                .collect::<Option<Vec<_>>>()
                .map(MappingSource::Map),
            ParamValue::Script(s) if s.resource.is_some() => {
                self.unsupported(n, "camunda:script parameter loaded from a resource");
                None
            }
            ParamValue::Script(s) => match bpmn_models::lang::script_language(Some(&s.format)) {
                Ok(Language::Rhai) => match self.scripts.compile_script(&s.text) {
                    Ok(script) => Some(MappingSource::Script(script)),
                    Err(e) => {
                        self.problem("ENG011", n, format!("camunda:script of `{}`: {e}", n.id));
                        None
                    }
                },
                Ok(lang) => match Expr::compile_as(self.scripts, lang, &s.text) {
                    Ok(e) => Some(MappingSource::Expr(e)),
                    Err(e) => {
                        self.problem("ENG011", n, format!("camunda:script of `{}`: {e}", n.id));
                        None
                    }
                },
                Err(l) => {
                    self.problem(
                        "BPMN018",
                        n,
                        format!(
                            "camunda:script of `{}` has scriptFormat `{l}`: expected `rhai` or `feel`",
                            n.id
                        ),
                    );
                    None
                }
            },
        }
    }

    fn link_flows(&mut self) {
        for (i, f) in self.flows.iter().enumerate() {
            let fi = FlowIdx(i as u32);
            self.elements[f.source.0 as usize].outgoing.push(fi);
            self.elements[f.target.0 as usize].incoming.push(fi);
        }
        // Default flows, by the model's `default` attribute.
        let by_id: HashMap<&str, FlowIdx> = self
            .flows
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.as_str(), FlowIdx(i as u32)))
            .collect();
        let defaults: Vec<(usize, Option<FlowIdx>)> = self
            .elements
            .iter()
            .enumerate()
            .map(|(i, e)| {
                (
                    i,
                    self.defaults
                        .get(&e.id)
                        .and_then(|d| by_id.get(d.as_str()).copied()),
                )
            })
            .collect();
        for (i, d) in defaults {
            self.elements[i].default_flow = d;
        }
        // A boundary event is started by its activity, never by a flow.
        for e in &self.elements {
            if matches!(e.kind, ElementKind::Boundary { .. }) && !e.incoming.is_empty() {
                self.problems.push(DeployProblem {
                    code: "ENG014",
                    element_id: Some(e.id.clone()),
                    span: e.span,
                    message: format!(
                        "boundary event `{}`: expected no incoming sequence flow, found {}",
                        e.id,
                        e.incoming.len()
                    ),
                });
            }
        }
    }

    fn precompute_inclusive(&mut self) {
        let mut graph: DiGraph<ElementIdx, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..self.elements.len())
            .map(|i| graph.add_node(ElementIdx(i as u32)))
            .collect();
        for f in &self.flows {
            graph.add_edge(nodes[f.source.0 as usize], nodes[f.target.0 as usize], ());
        }
        let n = self.elements.len();
        for i in 0..n {
            if !matches!(self.elements[i].kind, ElementKind::InclusiveGateway { .. }) {
                continue;
            }
            let mut upstream = vec![false; n];
            let rev = Reversed(&graph);
            let mut dfs = Dfs::new(rev, nodes[i]);
            while let Some(x) = dfs.next(rev) {
                if x != nodes[i] {
                    upstream[graph[x].0 as usize] = true;
                }
            }
            // A gateway inside a cycle can reach itself.
            upstream[i] = self.elements[i]
                .incoming
                .iter()
                .any(|f| upstream[self.flows[f.0 as usize].source.0 as usize]);
            self.elements[i].kind = ElementKind::InclusiveGateway { upstream };
        }
    }
}

/// `R3/PT5M` → 3 retries (Camunda 7 `failedJobRetryTimeCycle`).
fn retries_from_cycle(cycle: &str) -> Option<u32> {
    let rest = cycle.trim().strip_prefix('R')?;
    rest.split('/').next()?.parse().ok()
}

/// Where a catching event definition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    ProcessStart,
    EventSubStart,
    Catch,
    Boundary,
}

/// A flow node of any process of the file, by id.
fn find_node<'d>(defs: &'d Definitions, id: &str) -> Option<&'d FlowNode> {
    fn walk<'d>(elements: &'d [FlowElement], id: &str) -> Option<&'d FlowNode> {
        for fe in elements {
            if let FlowElement::FlowNode(n) = fe {
                if n.id == id {
                    return Some(n);
                }
                if let FlowNodeKind::Activity(a) = &n.kind
                    && let Some(sp) = a.kind.sub_process()
                    && let Some(found) = walk(&sp.flow_elements, id)
                {
                    return Some(found);
                }
            }
        }
        None
    }
    defs.processes().find_map(|p| walk(&p.flow_elements, id))
}

/// The messageRef of a catching element: a message event definition's or a
/// receive task's.
fn node_message_ref(n: &FlowNode) -> Option<String> {
    match &n.kind {
        FlowNodeKind::Event(e) => e.event_definitions.iter().find_map(|d| match &d.kind {
            EventDefinitionKind::Message { message_ref, .. } => message_ref.clone(),
            _ => None,
        }),
        FlowNodeKind::Activity(a) => match &a.kind {
            ActivityKind::ReceiveTask { message_ref, .. } => message_ref.clone(),
            _ => None,
        },
        FlowNodeKind::Gateway(_) => None,
    }
}

/// Every association of the file, source id → target id.
fn all_associations(defs: &Definitions) -> HashMap<String, String> {
    fn walk(
        elements: &[FlowElement],
        artifacts: &[bpmn_models::Artifact],
        out: &mut HashMap<String, String>,
    ) {
        for a in artifacts {
            if let bpmn_models::Artifact::Association(x) = a {
                out.insert(x.source_ref.clone(), x.target_ref.clone());
            }
        }
        for fe in elements {
            if let FlowElement::FlowNode(n) = fe
                && let FlowNodeKind::Activity(a) = &n.kind
                && let Some(sp) = a.kind.sub_process()
            {
                walk(&sp.flow_elements, &sp.artifacts, out);
            }
        }
    }
    let mut out = HashMap::new();
    for r in &defs.root_elements {
        match r {
            bpmn_models::RootElement::Process(p) => walk(&p.flow_elements, &p.artifacts, &mut out),
            bpmn_models::RootElement::Collaboration(c) => walk(&[], &c.artifacts, &mut out),
            _ => {}
        }
    }
    out
}
