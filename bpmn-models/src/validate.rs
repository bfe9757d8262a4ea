//! Validation: every problem of a model at once, each with a stable code.
//!
//! Structural rules come from BPMN 2.0.2 (references must resolve, ids are
//! unique, sequence flows stay inside one process level (§10.6.2), default
//! flows are unconditioned outgoing flows (§10.6.2, §13.3.2), boundary events
//! sit on activities (§10.5.3), event sub-processes have no sequence flows
//! (§10.5.8)). They apply to every process. Execution rules (reachability,
//! unconditioned gateway branches, languages the engine runs, timer syntax)
//! apply to executable processes (`isExecutable="true"`) only, as a modeling
//! tool would: non-executable diagrams are documentation.
//!
//! Codes are stable: a code keeps its meaning forever, new checks get new codes.
//! See `docs/validation.md` for the table.

use std::collections::{HashMap, HashSet};

use crate::lang;
use crate::model::*;
use crate::names::{CAMUNDA, ZEEBE};
use crate::span::Span;
use crate::timer::{TimerKind, parse_timer};
use crate::xml::XmlElement;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One problem found by [`validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable code, e.g. `BPMN012`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The element the problem is on, when it has an id.
    pub element_id: Option<String>,
    pub span: Span,
}

/// What the validator may assume exists outside the file.
#[derive(Debug, Clone, Default)]
pub struct ValidationContext {
    /// Ids of processes deployed elsewhere that call activities may call.
    pub external_processes: Vec<String>,
    /// Ids of the decisions available to business rule tasks; `None` when
    /// unknown (then decision references are not checked).
    pub decisions: Option<Vec<String>>,
}

/// Validates a model assuming nothing exists outside it.
pub fn validate(defs: &Definitions) -> Vec<Diagnostic> {
    validate_with(defs, &ValidationContext::default())
}

/// Validates a model; `ctx` names what exists outside the file.
pub fn validate_with(defs: &Definitions, ctx: &ValidationContext) -> Vec<Diagnostic> {
    let mut v = Validator {
        defs,
        ctx,
        out: Vec::new(),
        ids: HashMap::new(),
        nodes: HashMap::new(),
        flows: HashMap::new(),
        outgoing: HashMap::new(),
        incoming: HashMap::new(),
        roots: HashMap::new(),
        camunda7: crate::ext::dialect(defs) == crate::ext::Dialect::Camunda7,
    };
    v.out.extend(defs.import_notes.0.iter().cloned());
    v.index();
    v.check();
    v.out.sort_by_key(|d| (d.span.start, d.code));
    v.out
}

/// Where a flow node or sequence flow lives: the id of its process or
/// sub-process, and whether its process is executable.
#[derive(Clone, Copy)]
struct Scope<'a> {
    id: &'a str,
    executable: bool,
}

struct Validator<'a> {
    defs: &'a Definitions,
    ctx: &'a ValidationContext,
    out: Vec<Diagnostic>,
    /// Every id in the file, with where it was declared.
    ids: HashMap<&'a str, Vec<Span>>,
    nodes: HashMap<&'a str, (&'a FlowNode, Scope<'a>)>,
    flows: HashMap<&'a str, (&'a SequenceFlow, Scope<'a>)>,
    /// Sequence flows by source and by target node id.
    outgoing: HashMap<&'a str, Vec<&'a SequenceFlow>>,
    incoming: HashMap<&'a str, Vec<&'a SequenceFlow>>,
    roots: HashMap<&'a str, &'a RootElement>,
    /// The file is a Camunda 7 one ([`crate::ext::dialect`]): some rules
    /// follow Camunda 7's parser.
    camunda7: bool,
}

impl<'a> Validator<'a> {
    fn report(
        &mut self,
        code: &'static str,
        severity: Severity,
        id: Option<&str>,
        span: Span,
        message: String,
    ) {
        self.out.push(Diagnostic {
            code,
            severity,
            message,
            element_id: id.map(str::to_string),
            span,
        });
    }

    // ------------------------------------------------------------ indexing

    fn id(&mut self, id: &'a str, span: Span) {
        self.ids.entry(id).or_default().push(span);
    }

    fn index(&mut self) {
        let defs = self.defs;
        for r in &defs.root_elements {
            if let Some(id) = r.id() {
                self.roots.insert(id, r);
                self.id(id, root_span(r));
            }
            match r {
                RootElement::Process(p) => {
                    let scope = Scope {
                        id: &p.id,
                        executable: p.is_executable == Some(true),
                    };
                    self.index_container(scope, &p.flow_elements, &p.artifacts, &p.lane_sets);
                    self.index_io(p.io_specification.as_ref(), &p.properties);
                }
                RootElement::Collaboration(c) => {
                    for p in &c.participants {
                        self.id(&p.id, p.base.span);
                    }
                    for m in &c.message_flows {
                        self.id(&m.id, m.base.span);
                    }
                    for a in &c.artifacts {
                        self.id(a.id(), artifact_span(a));
                    }
                }
                RootElement::Interface(i) => {
                    for o in &i.operations {
                        self.id(&o.id, o.base.span);
                    }
                }
                RootElement::Category(c) => {
                    for v in &c.values {
                        self.id(&v.id, v.base.span);
                    }
                }
                _ => {}
            }
        }
        for d in &defs.diagrams {
            if let Some(id) = &d.id {
                self.id(id, d.ext.span);
            }
            if let Some(id) = &d.plane.id {
                self.id(id, d.plane.ext.span);
            }
            for e in &d.plane.elements {
                match e {
                    DiagramElement::Shape(s) => {
                        if let Some(id) = &s.id {
                            self.id(id, s.ext.span);
                        }
                    }
                    DiagramElement::Edge(e) => {
                        if let Some(id) = &e.id {
                            self.id(id, e.ext.span);
                        }
                    }
                }
            }
        }
    }

    fn index_io(&mut self, io: Option<&'a IoSpecification>, props: &'a [Property]) {
        if let Some(io) = io {
            for d in io.data_inputs.iter().chain(&io.data_outputs) {
                self.id(&d.id, d.base.span);
            }
        }
        for p in props {
            self.id(&p.id, p.base.span);
        }
    }

    fn index_lanes(&mut self, sets: &'a [LaneSet]) {
        for s in sets {
            if let Some(id) = &s.id {
                self.id(id, s.base.span);
            }
            for l in &s.lanes {
                self.id(&l.id, l.base.span);
                if let Some(c) = &l.child_lane_set {
                    self.index_lanes(std::slice::from_ref(c));
                }
            }
        }
    }

    fn index_container(
        &mut self,
        scope: Scope<'a>,
        elements: &'a [FlowElement],
        artifacts: &'a [Artifact],
        lanes: &'a [LaneSet],
    ) {
        self.index_lanes(lanes);
        for a in artifacts {
            self.id(a.id(), artifact_span(a));
        }
        for fe in elements {
            self.id(fe.id(), fe.span());
            match fe {
                FlowElement::SequenceFlow(f) => {
                    self.flows.insert(&f.id, (f, scope));
                    self.outgoing.entry(&f.source_ref).or_default().push(f);
                    self.incoming.entry(&f.target_ref).or_default().push(f);
                }
                FlowElement::FlowNode(n) => {
                    self.nodes.insert(&n.id, (n, scope));
                    match &n.kind {
                        FlowNodeKind::Activity(a) => {
                            self.index_io(a.io_specification.as_ref(), &a.properties);
                            for d in a
                                .data_input_associations
                                .iter()
                                .chain(&a.data_output_associations)
                            {
                                if let Some(id) = &d.id {
                                    self.id(id, d.base.span);
                                }
                            }
                            if let Some(s) = a.kind.sub_process() {
                                let inner = Scope {
                                    id: &n.id,
                                    executable: scope.executable,
                                };
                                self.index_container(
                                    inner,
                                    &s.flow_elements,
                                    &s.artifacts,
                                    &s.lane_sets,
                                );
                            }
                        }
                        FlowNodeKind::Event(e) => {
                            for d in &e.event_definitions {
                                if let Some(id) = &d.id {
                                    self.id(id, d.base.span);
                                }
                            }
                            for d in &e.data_items {
                                self.id(&d.id, d.base.span);
                            }
                            for d in &e.data_associations {
                                if let Some(id) = &d.id {
                                    self.id(id, d.base.span);
                                }
                            }
                        }
                        FlowNodeKind::Gateway(_) => {}
                    }
                }
                FlowElement::DataObject(_)
                | FlowElement::DataObjectReference(_)
                | FlowElement::DataStoreReference(_) => {}
            }
        }
    }

    // ------------------------------------------------------------ checks

    fn check(&mut self) {
        let dups: Vec<(&str, Vec<Span>)> = self
            .ids
            .iter()
            .filter(|(_, spans)| spans.len() > 1)
            .map(|(id, spans)| (*id, spans.clone()))
            .collect();
        for (id, spans) in dups {
            for span in &spans[1..] {
                self.report(
                    "BPMN001",
                    Severity::Error,
                    Some(id),
                    *span,
                    format!(
                        "duplicate id `{id}`: expected ids to be unique, found it {} times (first at {})",
                        spans.len(),
                        spans[0]
                    ),
                );
            }
        }
        let defs = self.defs;
        for r in &defs.root_elements {
            match r {
                RootElement::Process(p) => self.check_process(p),
                RootElement::Collaboration(c) => self.check_collaboration(c),
                _ => {}
            }
        }
        self.check_di();
        for e in crate::ext::check(defs) {
            self.report(
                "BPMN031",
                Severity::Error,
                e.element_id.as_deref(),
                e.span,
                e.message,
            );
        }
    }

    fn exists(&self, id: &str) -> bool {
        self.ids.contains_key(local(id))
    }

    fn root_is(&self, id: &str, f: fn(&RootElement) -> bool) -> bool {
        self.roots.get(local(id)).is_some_and(|r| f(r))
    }

    fn check_process(&mut self, p: &'a Process) {
        let scope = Scope {
            id: &p.id,
            executable: p.is_executable == Some(true),
        };
        self.check_container(scope, &p.flow_elements, false, p.base.span);
        self.check_artifacts(&p.artifacts);
        self.check_lanes(&p.lane_sets);
        if scope.executable {
            self.check_reachability(p);
        }
    }

    fn check_lanes(&mut self, sets: &'a [LaneSet]) {
        for s in sets {
            for l in &s.lanes {
                for r in &l.flow_node_refs {
                    if !self.nodes.contains_key(r.as_str()) {
                        self.report(
                            "BPMN027",
                            Severity::Error,
                            Some(&l.id),
                            l.base.span,
                            format!(
                                "lane `{}` lists flowNodeRef `{r}`: expected a flow node, found none with that id",
                                l.id
                            ),
                        );
                    }
                }
                if let Some(c) = &l.child_lane_set {
                    self.check_lanes(std::slice::from_ref(c));
                }
            }
        }
    }

    fn check_artifacts(&mut self, artifacts: &'a [Artifact]) {
        for a in artifacts {
            if let Artifact::Association(x) = a {
                for (what, r) in [("sourceRef", &x.source_ref), ("targetRef", &x.target_ref)] {
                    // An empty reference was missing in the file: the import noted it (XML009).
                    if !r.is_empty() && !self.exists(r) {
                        self.report(
                            "BPMN028",
                            Severity::Error,
                            Some(&x.id),
                            x.base.span,
                            format!("association {what} `{r}`: expected an element, found none with that id"),
                        );
                    }
                }
            }
        }
    }

    fn check_container(
        &mut self,
        scope: Scope<'a>,
        elements: &'a [FlowElement],
        is_event_sub: bool,
        _span: Span,
    ) {
        let _ = is_event_sub;
        for fe in elements {
            match fe {
                FlowElement::SequenceFlow(f) => self.check_flow(f, scope),
                FlowElement::FlowNode(n) => self.check_node(n, scope),
                FlowElement::DataObjectReference(x) => {
                    if let Some(r) = &x.data_object_ref
                        && !self.exists(r)
                    {
                        self.report(
                            "BPMN029",
                            Severity::Error,
                            Some(&x.id),
                            x.base.span,
                            format!("dataObjectRef `{r}`: expected a data object, found none with that id"),
                        );
                    }
                }
                FlowElement::DataStoreReference(x) => {
                    if let Some(r) = &x.data_store_ref {
                        self.check_root_ref(
                            &x.id,
                            x.base.span,
                            "dataStoreRef",
                            r,
                            "a data store",
                            |r| matches!(r, RootElement::DataStore(_)),
                        );
                    }
                }
                FlowElement::DataObject(_) => {}
            }
        }
        if scope.executable {
            self.check_links(scope, elements);
        }
    }

    fn check_flow(&mut self, f: &'a SequenceFlow, scope: Scope<'a>) {
        for (what, r) in [("sourceRef", &f.source_ref), ("targetRef", &f.target_ref)] {
            match self.nodes.get(r.as_str()) {
                None if r.is_empty() => {} // missing in the file: noted on import (XML009)
                None => {
                    let found = if self.exists(r) {
                        "an element that is not a flow node"
                    } else {
                        "none with that id"
                    };
                    self.report(
                        "BPMN002",
                        Severity::Error,
                        Some(&f.id),
                        f.base.span,
                        format!("sequence flow {what} `{r}`: expected a flow node, found {found}"),
                    );
                }
                Some((_, s)) if s.id != scope.id => {
                    let (sid, fid) = (s.id, &f.id);
                    self.report(
                        "BPMN012",
                        Severity::Error,
                        Some(fid),
                        f.base.span,
                        format!(
                            "sequence flow `{fid}` crosses a scope boundary: expected its {what} `{r}` inside `{}`, found it in `{sid}`",
                            scope.id
                        ),
                    );
                }
                Some(_) => {}
            }
        }
        if scope.executable
            && let Some(c) = &f.condition_expression
        {
            self.check_expression(c, &f.id, "condition");
        }
    }

    fn check_expression(&mut self, e: &Expression, owner: &str, what: &str) {
        if let Err(l) = lang::expression_language(e.language.as_deref(), &e.body) {
            self.report(
                "BPMN019",
                Severity::Error,
                Some(owner),
                e.base.span,
                format!(
                    "{what} of `{owner}` is in language `{l}`: expected Rhai, FEEL (`=` …), JUEL (`${{…}}`) or JavaScript, which orchid-bpmn runs"
                ),
            );
        }
    }

    fn check_node(&mut self, n: &'a FlowNode, scope: Scope<'a>) {
        for r in n.incoming.iter().chain(&n.outgoing) {
            if !self.flows.contains_key(r.as_str()) {
                self.report(
                    "BPMN002",
                    Severity::Error,
                    Some(&n.id),
                    n.base.span,
                    format!(
                        "`{}` lists incoming/outgoing `{r}`: expected a sequence flow, found none with that id",
                        n.id
                    ),
                );
            }
        }
        let default = match &n.kind {
            FlowNodeKind::Activity(a) => a.default.as_deref(),
            FlowNodeKind::Gateway(g) => g.kind.default_flow(),
            FlowNodeKind::Event(_) => None,
        };
        if let Some(d) = default {
            self.check_default(n, d);
        }
        self.check_extensions(n, scope);
        match &n.kind {
            FlowNodeKind::Activity(a) => self.check_activity(n, a, scope),
            FlowNodeKind::Event(e) => self.check_event(n, e, scope),
            FlowNodeKind::Gateway(g) => self.check_gateway(n, g, scope),
        }
    }

    fn check_default(&mut self, n: &'a FlowNode, d: &str) {
        match self.flows.get(d).copied() {
            None => self.report(
                "BPMN004",
                Severity::Error,
                Some(&n.id),
                n.base.span,
                format!(
                    "default flow `{d}` of `{}`: expected a sequence flow, found none with that id",
                    n.id
                ),
            ),
            Some((f, _)) => {
                if f.source_ref != n.id {
                    let src = f.source_ref.clone();
                    self.report(
                        "BPMN013",
                        Severity::Error,
                        Some(&n.id),
                        n.base.span,
                        format!(
                            "default flow `{d}` of `{}`: expected an outgoing flow of `{}`, found a flow leaving `{src}`",
                            n.id, n.id
                        ),
                    );
                }
                if f.condition_expression.is_some() {
                    let span = f.base.span;
                    self.report(
                        "BPMN014",
                        Severity::Error,
                        Some(d),
                        span,
                        format!(
                            "default flow `{d}` of `{}` has a condition: expected none, a default flow is taken when no condition holds",
                            n.id
                        ),
                    );
                }
            }
        }
    }

    fn check_activity(&mut self, n: &'a FlowNode, a: &'a Activity, scope: Scope<'a>) {
        match &a.kind {
            ActivityKind::SendTask {
                message_ref: Some(m),
                ..
            }
            | ActivityKind::ReceiveTask {
                message_ref: Some(m),
                ..
            } => self.check_root_ref(&n.id, n.base.span, "messageRef", m, "a message", |r| {
                matches!(r, RootElement::Message(_))
            }),
            ActivityKind::ScriptTask { script_format, .. } if scope.executable => {
                let zeebe_script = n
                    .base
                    .extensions
                    .elements
                    .iter()
                    .any(|e| e.is(ZEEBE, "script"));
                if !zeebe_script && let Err(l) = lang::script_language(script_format.as_deref()) {
                    self.report(
                        "BPMN018",
                        Severity::Error,
                        Some(&n.id),
                        n.base.span,
                        format!(
                            "script task `{}` has scriptFormat `{l}`: expected `rhai`, `feel`, `juel` or `javascript`, the formats orchid-bpmn runs (Groovy, Python and XSLT do not run)",
                            n.id
                        ),
                    );
                }
            }
            ActivityKind::CallActivity { called_element } => {
                let zeebe = find(&n.base.extensions.elements, ZEEBE, "calledElement")
                    .and_then(|e| e.attr("processId"))
                    .map(str::to_string);
                if let Some(target) = called_element.clone().or(zeebe)
                    && !is_expression(&target)
                    && !self.root_is(&target, |r| matches!(r, RootElement::Process(_)))
                    && !self.ctx.external_processes.contains(&target)
                {
                    self.report(
                        "BPMN009",
                        Severity::Warning,
                        Some(&n.id),
                        n.base.span,
                        format!(
                            "call activity `{}` calls `{target}`: expected a process of this file or one deployed before, found none with that id",
                            n.id
                        ),
                    );
                }
            }
            ActivityKind::BusinessRuleTask { .. } => {
                let zeebe = find(&n.base.extensions.elements, ZEEBE, "calledDecision")
                    .and_then(|e| e.attr("decisionId"))
                    .map(str::to_string);
                let camunda = n
                    .base
                    .extensions
                    .attributes
                    .iter()
                    .find(|x| x.namespace.as_deref() == Some(CAMUNDA) && x.name == "decisionRef")
                    .map(|x| x.value.clone());
                if let (Some(target), Some(known)) = (zeebe.or(camunda), &self.ctx.decisions)
                    && !is_expression(&target)
                    && !known.contains(&target)
                {
                    self.report(
                        "BPMN010",
                        Severity::Error,
                        Some(&n.id),
                        n.base.span,
                        format!(
                            "business rule task `{}` calls decision `{target}`: expected one of the deployed decisions, found none with that id",
                            n.id
                        ),
                    );
                }
            }
            _ => {}
        }
        if let Some(s) = a.kind.sub_process() {
            let inner = Scope {
                id: &n.id,
                executable: scope.executable,
            };
            let has_flows = self.outgoing.contains_key(n.id.as_str())
                || self.incoming.contains_key(n.id.as_str());
            if s.triggered_by_event && has_flows {
                self.report(
                    "BPMN017",
                    Severity::Error,
                    Some(&n.id),
                    n.base.span,
                    format!(
                        "event sub-process `{}` has sequence flows: expected none, an event sub-process is started by its start event",
                        n.id
                    ),
                );
            }
            self.check_container(inner, &s.flow_elements, s.triggered_by_event, n.base.span);
            self.check_artifacts(&s.artifacts);
            self.check_lanes(&s.lane_sets);
            if let ActivityKind::AdHocSubProcess {
                completion_condition: Some(c),
                ..
            } = &a.kind
                && scope.executable
            {
                self.check_expression(c, &n.id, "completionCondition");
            }
        }
        if scope.executable {
            match &a.loop_characteristics {
                Some(LoopCharacteristics::Standard(l)) => {
                    if let Some(c) = &l.loop_condition {
                        self.check_expression(c, &n.id, "loopCondition");
                    }
                }
                Some(LoopCharacteristics::MultiInstance(m)) => {
                    if let Some(c) = &m.loop_cardinality {
                        self.check_expression(c, &n.id, "loopCardinality");
                    }
                    if let Some(c) = &m.completion_condition {
                        self.check_expression(c, &n.id, "completionCondition");
                    }
                }
                None => {}
            }
        }
    }

    /// Reports `attr="r"` of element `owner` unless `r` names a root element
    /// that `f` accepts; the code follows from the attribute.
    fn check_root_ref(
        &mut self,
        owner: &str,
        span: Span,
        attr: &str,
        r: &str,
        expected: &str,
        f: fn(&RootElement) -> bool,
    ) {
        if !self.root_is(r, f) {
            let code = match attr {
                "messageRef" => "BPMN005",
                "signalRef" => "BPMN006",
                "errorRef" => "BPMN007",
                "escalationRef" => "BPMN008",
                "processRef" => "BPMN025",
                "dataStoreRef" => "BPMN029",
                _ => "BPMN030",
            };
            let found = if self.exists(r) {
                "an element of another kind"
            } else {
                "none with that id"
            };
            // Camunda 7 takes an errorRef that names nothing as the error
            // code itself; the engine decides by the file's platform.
            let (severity, note) = if code == "BPMN007" && !self.exists(r) {
                (
                    Severity::Warning,
                    " (Camunda 7 uses the reference as the error code; a Camunda 8 file is refused)",
                )
            } else {
                (Severity::Error, "")
            };
            self.report(
                code,
                severity,
                Some(owner),
                span,
                format!("{attr} `{r}` of `{owner}`: expected {expected}, found {found}{note}"),
            );
        }
    }

    fn check_event(&mut self, n: &'a FlowNode, e: &'a Event, scope: Scope<'a>) {
        if let EventKind::Boundary {
            attached_to_ref, ..
        } = &e.kind
        {
            match self.nodes.get(attached_to_ref.as_str()) {
                None if attached_to_ref.is_empty() => {} // noted on import (XML009)
                None => self.report(
                    "BPMN003",
                    Severity::Error,
                    Some(&n.id),
                    n.base.span,
                    format!(
                        "boundary event `{}` is attached to `{attached_to_ref}`: expected an activity, found none with that id",
                        n.id
                    ),
                ),
                Some((target, s)) => {
                    let target_scope = s.id;
                    if target.as_activity().is_none() {
                        let kind = target.element_name();
                        self.report(
                            "BPMN016",
                            Severity::Error,
                            Some(&n.id),
                            n.base.span,
                            format!(
                                "boundary event `{}` is attached to `{attached_to_ref}`: expected an activity, found a {kind}",
                                n.id
                            ),
                        );
                    } else if target_scope != scope.id {
                        self.report(
                            "BPMN016",
                            Severity::Error,
                            Some(&n.id),
                            n.base.span,
                            format!(
                                "boundary event `{}` is attached to `{attached_to_ref}`: expected an activity in `{}`, found one in `{target_scope}`",
                                n.id, scope.id
                            ),
                        );
                    }
                }
            }
        }
        for r in &e.event_definition_refs {
            self.check_root_ref(
                &n.id,
                n.base.span,
                "eventDefinitionRef",
                r,
                "an event definition",
                |r| matches!(r, RootElement::EventDefinition(_)),
            );
        }
        for d in &e.event_definitions {
            match &d.kind {
                EventDefinitionKind::Message {
                    message_ref: Some(m),
                    ..
                } => self.check_root_ref(&n.id, n.base.span, "messageRef", m, "a message", |r| {
                    matches!(r, RootElement::Message(_))
                }),
                EventDefinitionKind::Signal {
                    signal_ref: Some(s),
                } => self.check_root_ref(&n.id, n.base.span, "signalRef", s, "a signal", |r| {
                    matches!(r, RootElement::Signal(_))
                }),
                EventDefinitionKind::Error { error_ref: Some(x) } => {
                    self.check_root_ref(&n.id, n.base.span, "errorRef", x, "an error", |r| {
                        matches!(r, RootElement::Error(_))
                    })
                }
                EventDefinitionKind::Escalation {
                    escalation_ref: Some(x),
                } => self.check_root_ref(
                    &n.id,
                    n.base.span,
                    "escalationRef",
                    x,
                    "an escalation",
                    |r| matches!(r, RootElement::Escalation(_)),
                ),
                EventDefinitionKind::Compensate {
                    activity_ref: Some(x),
                    ..
                } if self
                    .nodes
                    .get(x.as_str())
                    .is_none_or(|(t, _)| t.as_activity().is_none()) =>
                {
                    self.report(
                        "BPMN030",
                        Severity::Error,
                        Some(&n.id),
                        n.base.span,
                        format!(
                            "activityRef `{x}` of `{}`: expected an activity, found none with that id",
                            n.id
                        ),
                    );
                }
                EventDefinitionKind::Timer(t) if scope.executable => self.check_timer(n, d, t),
                EventDefinitionKind::Conditional { condition } if scope.executable => {
                    match condition {
                        Some(c) if !c.body.trim().is_empty() => {
                            self.check_expression(c, &n.id, "condition")
                        }
                        _ => self.report(
                            "BPMN021",
                            Severity::Error,
                            Some(&n.id),
                            d.base.span,
                            format!(
                                "conditional event `{}`: expected a condition, found none",
                                n.id
                            ),
                        ),
                    }
                }
                _ => {}
            }
        }
    }

    fn check_timer(&mut self, n: &FlowNode, d: &EventDefinition, t: &TimerDefinition) {
        let parts = [
            (TimerKind::Date, "timeDate", &t.time_date),
            (TimerKind::Duration, "timeDuration", &t.time_duration),
            (TimerKind::Cycle, "timeCycle", &t.time_cycle),
        ];
        let given: Vec<_> = parts.iter().filter(|(_, _, e)| e.is_some()).collect();
        if given.len() != 1 {
            let found = if given.is_empty() {
                "none".to_string()
            } else {
                given
                    .iter()
                    .map(|(_, n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(" and ")
            };
            self.report(
                "BPMN020",
                Severity::Error,
                Some(&n.id),
                d.base.span,
                format!(
                    "timer of `{}`: expected exactly one of timeDate, timeDuration or timeCycle, found {found}",
                    n.id
                ),
            );
            return;
        }
        let (kind, name, Some(e)) = given[0] else {
            return;
        };
        if let Err(err) = parse_timer(*kind, &e.body) {
            self.report(
                "BPMN020",
                Severity::Error,
                Some(&n.id),
                e.base.span,
                format!("{name} of `{}` is not a valid timer: {err}", n.id),
            );
        }
    }

    fn check_gateway(&mut self, n: &'a FlowNode, g: &'a Gateway, scope: Scope<'a>) {
        if let GatewayKind::Complex {
            activation_condition: Some(c),
            ..
        } = &g.kind
            && scope.executable
        {
            self.check_expression(c, &n.id, "activationCondition");
        }
        if !scope.executable {
            return;
        }
        let (GatewayKind::Exclusive { default } | GatewayKind::Inclusive { default }) = &g.kind
        else {
            return;
        };
        let outgoing: Vec<&SequenceFlow> = self
            .outgoing
            .get(n.id.as_str())
            .cloned()
            .unwrap_or_default();
        if outgoing.len() < 2 {
            return;
        }
        let mut bare: Vec<&str> = outgoing
            .iter()
            .filter(|f| f.condition_expression.is_none() && default.as_deref() != Some(&f.id))
            .map(|f| f.id.as_str())
            .collect();
        bare.sort_unstable();
        if bare.is_empty() {
            return;
        }
        // Camunda 7 takes an unconditioned flow as true (the first in
        // document order wins at an exclusive gateway). It refuses an
        // exclusive gateway with a default flow and such a flow, or with
        // several; one alone it only warns about.
        let exclusive = matches!(g.kind, GatewayKind::Exclusive { .. });
        let camunda7_accepts =
            self.camunda7 && (!exclusive || (default.is_none() && bare.len() == 1));
        let (severity, note) = if camunda7_accepts {
            (Severity::Warning, " (taken as true, as Camunda 7 does)")
        } else {
            (Severity::Error, "")
        };
        self.report(
            "BPMN015",
            severity,
            Some(&n.id),
            n.base.span,
            format!(
                "{} `{}` has {} outgoing flows: expected each to have a condition or be the default, found unconditioned {}{note}",
                g.kind.element_name(),
                n.id,
                outgoing.len(),
                bare.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>().join(", ")
            ),
        );
    }

    /// Link events: every throw names a catch in the same process level.
    fn check_links(&mut self, scope: Scope<'a>, elements: &'a [FlowElement]) {
        let mut catches = HashSet::new();
        let mut throws = Vec::new();
        for fe in elements {
            let FlowElement::FlowNode(n) = fe else {
                continue;
            };
            let Some(e) = n.as_event() else { continue };
            for d in &e.event_definitions {
                if let EventDefinitionKind::Link { name, .. } = &d.kind {
                    let key = name.clone().or(n.name.clone()).unwrap_or_default();
                    match e.kind {
                        EventKind::IntermediateCatch => {
                            catches.insert(key);
                        }
                        EventKind::IntermediateThrow => throws.push((n, key)),
                        _ => {}
                    }
                }
            }
        }
        for (n, key) in throws {
            if !catches.contains(&key) {
                self.report(
                    "BPMN022",
                    Severity::Error,
                    Some(&n.id),
                    n.base.span,
                    format!(
                        "link throw event `{}` links to `{key}`: expected a link catch event of that name in `{}`, found none",
                        n.id, scope.id
                    ),
                );
            }
        }
    }

    fn check_extensions(&mut self, n: &FlowNode, scope: Scope<'a>) {
        if !scope.executable {
            return;
        }
        // Expression bodies in the Camunda 7 attributes the engine evaluates.
        for a in &n.base.extensions.attributes {
            if a.namespace.as_deref() == Some(CAMUNDA)
                && matches!(a.name.as_str(), "expression" | "conditionExpression")
                && let Err(l) = lang::expression_language(None, &a.value)
            {
                self.report(
                    "BPMN019",
                    Severity::Error,
                    Some(&n.id),
                    n.base.span,
                    format!("camunda:{} of `{}` is in language `{l}`", a.name, n.id),
                );
            }
        }
    }

    fn check_reachability(&mut self, p: &'a Process) {
        // Successors by sequence flow, plus the implicit edges: an activity
        // reaches its boundary events and, for containers, their start events.
        let mut succ: HashMap<&str, Vec<&str>> = HashMap::new();
        for (f, _) in self.flows.values() {
            succ.entry(&f.source_ref).or_default().push(&f.target_ref);
        }
        let mut starts: Vec<&str> = Vec::new();
        let mut link_catch: HashMap<String, Vec<&str>> = HashMap::new();
        let mut link_throw: Vec<(&str, String)> = Vec::new();
        for (id, (n, s)) in &self.nodes {
            if !process_contains(p, s.id, &self.nodes) {
                continue;
            }
            match &n.kind {
                FlowNodeKind::Event(e) => match &e.kind {
                    EventKind::Start { .. } => {
                        // Start events of the process or of an event
                        // sub-process begin a path; start events of embedded
                        // sub-processes are reached through their container.
                        let container = self.nodes.get(s.id);
                        let is_event_sub = container
                            .and_then(|(c, _)| c.as_activity())
                            .and_then(|a| a.kind.sub_process())
                            .is_some_and(|sp| sp.triggered_by_event);
                        if container.is_none() || is_event_sub {
                            starts.push(id);
                        } else {
                            succ.entry(s.id).or_default().push(id);
                        }
                    }
                    EventKind::Boundary {
                        attached_to_ref, ..
                    } => succ.entry(attached_to_ref).or_default().push(id),
                    EventKind::IntermediateCatch => {
                        for d in &e.event_definitions {
                            if let EventDefinitionKind::Link { name, .. } = &d.kind {
                                let key = name.clone().or(n.name.clone()).unwrap_or_default();
                                link_catch.entry(key).or_default().push(id);
                            }
                        }
                        if n.incoming.is_empty() && e.event_definitions.is_empty() {
                            starts.push(id);
                        }
                    }
                    EventKind::IntermediateThrow => {
                        for d in &e.event_definitions {
                            if let EventDefinitionKind::Link { name, .. } = &d.kind {
                                let key = name.clone().or(n.name.clone()).unwrap_or_default();
                                link_throw.push((id, key));
                            }
                        }
                    }
                    EventKind::End => {}
                },
                FlowNodeKind::Activity(a) => {
                    if a.is_for_compensation {
                        starts.push(id);
                    }
                    if let Some(sp) = a.kind.sub_process() {
                        if sp.triggered_by_event {
                            starts.push(id);
                        }
                        // Ad-hoc sub-processes enable inner activities without flows.
                        if matches!(a.kind, ActivityKind::AdHocSubProcess { .. }) {
                            for fe in &sp.flow_elements {
                                if let FlowElement::FlowNode(inner) = fe {
                                    succ.entry(id).or_default().push(&inner.id);
                                }
                            }
                        }
                    }
                }
                // An instantiating event-based gateway without incoming
                // flows starts the process (BPMN 2.0.2 §10.6.6).
                FlowNodeKind::Gateway(g) => {
                    if matches!(
                        g.kind,
                        GatewayKind::EventBased {
                            instantiate: true,
                            ..
                        }
                    ) && n.incoming.is_empty()
                    {
                        starts.push(id);
                    }
                }
            }
        }
        for (id, key) in link_throw {
            if let Some(targets) = link_catch.get(&key) {
                succ.entry(id).or_default().extend(targets.iter().copied());
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = starts;
        while let Some(x) = stack.pop() {
            if seen.insert(x)
                && let Some(next) = succ.get(x)
            {
                stack.extend(next.iter().copied());
            }
        }
        let mut unreachable: Vec<&FlowNode> = self
            .nodes
            .values()
            .filter(|(n, s)| {
                process_contains(p, s.id, &self.nodes) && !seen.contains(n.id.as_str())
            })
            .map(|(n, _)| *n)
            .collect();
        unreachable.sort_by_key(|n| n.base.span.start);
        for n in unreachable {
            self.report(
                "BPMN011",
                Severity::Warning,
                Some(&n.id),
                n.base.span,
                format!(
                    "`{}` cannot be reached: expected a path from a start event of process `{}`, found none",
                    n.id, p.id
                ),
            );
        }
    }

    fn check_collaboration(&mut self, c: &'a Collaboration) {
        for p in &c.participants {
            if let Some(r) = &p.process_ref {
                self.check_root_ref(&p.id, p.base.span, "processRef", r, "a process", |r| {
                    matches!(r, RootElement::Process(_))
                });
            }
        }
        for m in &c.message_flows {
            for (what, r) in [("sourceRef", &m.source_ref), ("targetRef", &m.target_ref)] {
                if !r.is_empty() && !self.exists(r) {
                    self.report(
                        "BPMN023",
                        Severity::Error,
                        Some(&m.id),
                        m.base.span,
                        format!("message flow {what} `{r}`: expected a flow node or participant, found none with that id"),
                    );
                }
            }
            if let Some(r) = &m.message_ref {
                self.check_root_ref(&m.id, m.base.span, "messageRef", r, "a message", |r| {
                    matches!(r, RootElement::Message(_))
                });
            }
        }
        self.check_artifacts(&c.artifacts);
    }

    fn check_di(&mut self) {
        let defs = self.defs;
        for d in &defs.diagrams {
            let refs = d.plane.elements.iter().map(|e| match e {
                DiagramElement::Shape(s) => {
                    (s.bpmn_element.as_deref(), s.id.as_deref(), s.ext.span)
                }
                DiagramElement::Edge(e) => (e.bpmn_element.as_deref(), e.id.as_deref(), e.ext.span),
            });
            let plane = (
                d.plane.bpmn_element.as_deref(),
                d.plane.id.as_deref(),
                d.plane.ext.span,
            );
            let dangling: Vec<_> = std::iter::once(plane)
                .chain(refs)
                .filter_map(|(r, id, span)| r.filter(|r| !self.exists(r)).map(|r| (r, id, span)))
                .map(|(r, id, span)| (r.to_string(), id.map(str::to_string), span))
                .collect();
            for (r, id, span) in dangling {
                self.report(
                    "BPMN026",
                    Severity::Warning,
                    id.as_deref(),
                    span,
                    format!("diagram element shows `{r}`: expected a model element, found none with that id"),
                );
            }
        }
    }
}

/// Is scope `scope` (a process or sub-process id) inside process `p`?
fn process_contains<'a>(
    p: &Process,
    mut scope: &'a str,
    nodes: &HashMap<&'a str, (&'a FlowNode, Scope<'a>)>,
) -> bool {
    // Sub-process scopes chain up to their process; depth is bounded by the
    // importer's nesting limit.
    for _ in 0..1024 {
        if scope == p.id {
            return true;
        }
        match nodes.get(scope) {
            Some((_, s)) => scope = s.id,
            None => return false,
        }
    }
    false
}

/// The id part of a reference that may carry a namespace prefix (`tns:Msg_1`).
fn local(r: &str) -> &str {
    r.rsplit(':').next().unwrap_or(r)
}

fn is_expression(s: &str) -> bool {
    let t = s.trim_start();
    t.starts_with('=') || t.contains("${") || t.contains("#{")
}

fn find<'x>(elements: &'x [XmlElement], ns: &str, name: &str) -> Option<&'x XmlElement> {
    elements.iter().find(|e| e.is(ns, name))
}

fn root_span(r: &RootElement) -> Span {
    match r {
        RootElement::Process(x) => x.base.span,
        RootElement::Collaboration(x) => x.base.span,
        RootElement::ItemDefinition(x) => x.base.span,
        RootElement::Message(x) => x.base.span,
        RootElement::Signal(x) => x.base.span,
        RootElement::Error(x) => x.base.span,
        RootElement::Escalation(x) => x.base.span,
        RootElement::DataStore(x) => x.base.span,
        RootElement::Resource(x) => x.base.span,
        RootElement::Interface(x) => x.base.span,
        RootElement::Category(x) => x.base.span,
        RootElement::EventDefinition(x) => x.base.span,
        RootElement::Unmodeled(x) => x.span,
    }
}

fn artifact_span(a: &Artifact) -> Span {
    match a {
        Artifact::TextAnnotation(x) => x.base.span,
        Artifact::Association(x) => x.base.span,
        Artifact::Group(x) => x.base.span,
    }
}
