//! Deploy time: a BPMN model becomes an immutable [`CompiledProcess`].
//!
//! Everything the engine cannot run is found here, with the element id and
//! line, instead of at run time: validation errors, expression and script
//! syntax, languages and element kinds the engine does not (yet) execute.
//! Elements are numbered ([`ElementIdx`]) and flows too ([`FlowIdx`]); the
//! instance state and its events refer to them by number, which is why a
//! compiled process is keyed by id, version and content hash.
//!
//! The compiler in parts:
//! - `ir.rs`: the compiled form ([`CompiledProcess`], [`ElementKind`],
//!   [`Trigger`], [`Throw`], the specs of loops, calls and decisions);
//! - `dialect/`: the one place that reads Camunda 7 (`c7.rs`) and Camunda 8
//!   (`c8.rs`) extensions, decided once per file ([`Dialect::of`]), into
//!   neutral specs and [`Semantics`];
//! - `lower.rs`: scopes, flows, gateways and events, from the model;
//! - `activities.rs`: tasks, sub-processes, calls, loops and data;
//! - `passes.rs`: what needs every element numbered first (flows linked,
//!   links, compensation handlers, implicit starts, and the inclusive
//!   gateways' reachability on a `petgraph` graph — the inclusive join
//!   waits only for tokens that can still arrive, BPMN 2.0.2 §13.4.2).

use std::collections::HashMap;
use std::sync::Arc;

use bpmn_models::{
    ActivityKind, Definitions, EventDefinitionKind, FlowElement, FlowNode, FlowNodeKind, Process,
    Severity, Span,
};

use crate::expr::Expr;
use crate::script::ScriptEngine;

mod activities;
pub mod dialect;
mod ir;
mod lower;
mod passes;

pub use dialect::{Dialect, Semantics};
pub use ir::*;

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
    let dialect = Dialect::of(defs);
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
                dialect,
                rules: dialect.rules(),
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
                semantics: dialect.semantics(),
                history_ttl: dialect.rules().history_ttl(&p.base),
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

pub(crate) struct Compiler<'a> {
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
    /// The file's platform, decided once, and its extension rules.
    dialect: Dialect,
    rules: &'static dyn dialect::Rules,
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
