//! Lowering activities (BPMN 2.0.2 §10.3): tasks, sub-processes,
//! transactions, ad-hoc and event sub-processes, call activities,
//! business rule tasks, loop characteristics (§10.3.8) and data
//! associations (§10.4.1). Extensions are read only through the dialect's
//! rules.

use bpmn_models::lang::Language;
use bpmn_models::{
    Activity, ActivityKind, FlowElement, FlowNode, FlowNodeKind, LoopCharacteristics,
};

use super::Compiler;
use super::ir::*;
use crate::expr::Expr;

impl Compiler<'_> {
    pub(super) fn activity(&mut self, scope: ScopeIdx, n: &FlowNode, a: &Activity) {
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
    pub(super) fn looping(&mut self, n: &FlowNode, l: &LoopCharacteristics) -> Option<LoopSpec> {
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
                let mut ext = self.rules.multi_instance(self, n, mi).ok()?;
                self.standard_multi_instance(n, mi, &mut ext).ok()?;
                let opt = |c: &mut Self, e: Option<&bpmn_models::Expression>| match e
                    .filter(|e| !e.body.trim().is_empty())
                {
                    Some(e) => c
                        .expr(n, e.language.as_deref(), &e.body)
                        .map(Some)
                        .ok_or(()),
                    None => Ok(None),
                };
                let cardinality = opt(self, mi.loop_cardinality.as_ref()).ok()?;
                let completion = opt(self, mi.completion_condition.as_ref()).ok()?;
                if cardinality.is_none() && ext.collection.is_none() {
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
                        collection: ext.collection,
                        element_variable: ext.element_variable,
                        output_collection: ext.output_collection,
                        output_element: ext.output_element,
                        completion,
                    },
                    counter_base: self.dialect.semantics().loop_counter_base,
                })
            }
        }
    }

    pub(super) fn activity_kind(&mut self, scope: ScopeIdx, n: &FlowNode, a: &Activity) {
        let kind = match &a.kind {
            ActivityKind::Task | ActivityKind::ManualTask => ElementKind::PassThrough,
            ActivityKind::UserTask { .. } => ElementKind::UserTask,
            ActivityKind::ReceiveTask { message_ref, .. } => {
                let message = match message_ref {
                    Some(m) => match self.message(n, m) {
                        Some(m) => Some(Trigger::Message {
                            name: m.name,
                            name_expr: m.name_expr,
                            key: m.key,
                        }),
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
                let Ok(ext) = self.rules.script(self, n) else {
                    return;
                };
                let body = match ext.expression {
                    Some(e) => match self.expr(n, None, &e) {
                        Some(e) => ScriptBody::Expression(e),
                        None => return,
                    },
                    None => {
                        let text = script.as_ref().map(|s| s.text.as_str()).unwrap_or("");
                        match self.script_body(n, script_format.as_deref(), text, "script task") {
                            Some(b) => b,
                            None => return,
                        }
                    }
                };
                ElementKind::Script {
                    body,
                    result_variable: ext.result_variable,
                }
            }
            ActivityKind::ServiceTask { .. }
            | ActivityKind::SendTask { .. }
            | ActivityKind::BusinessRuleTask { .. } => {
                if matches!(a.kind, ActivityKind::BusinessRuleTask { .. }) {
                    match self.rules.decision(self, n) {
                        Err(()) => return,
                        Ok(Some(spec)) => {
                            let idx =
                                self.push(scope, n, ElementKind::BusinessRule(Box::new(spec)));
                            self.mappings(idx, n);
                            return;
                        }
                        Ok(None) => {}
                    }
                }
                let send_message = match &a.kind {
                    ActivityKind::SendTask { message_ref, .. } => Some(message_ref),
                    _ => None,
                };
                match self.rules.implementation(self, n, None) {
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
                let Ok(active) = self.rules.ad_hoc_active(self, n) else {
                    return;
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
                match self.rules.call(self, n, called_element.as_deref()) {
                    Ok(spec) => ElementKind::CallActivity(Box::new(spec)),
                    Err(()) => return,
                }
            }
        };
        let idx = self.push(scope, n, kind);
        self.mappings(idx, n);
    }

    /// BPMN's own multi-instance data (§10.3.8): `loopDataInputRef` names
    /// the collection — a data object, or (Camunda 7) a variable, or an
    /// expression when it holds `${`/`=` —, `inputDataItem` the element
    /// variable (its name, else its id); `loopDataOutputRef` and
    /// `outputDataItem` the output collection and the variable each inner
    /// instance contributes. The dialect's extensions win where both are
    /// given.
    fn standard_multi_instance(
        &mut self,
        n: &FlowNode,
        mi: &bpmn_models::MultiInstance,
        ext: &mut super::dialect::MultiInstanceExt,
    ) -> Result<(), ()> {
        let name_of = |d: &bpmn_models::DataInput| d.name.clone().unwrap_or_else(|| d.id.clone());
        if ext.collection.is_none()
            && let Some(r) = mi.loop_data_input_ref.as_deref().map(str::trim)
            && !r.is_empty()
        {
            let text = if r.contains("${") || r.contains("#{") || r.starts_with('=') {
                r.to_string()
            } else {
                self.data_object_name(r)
            };
            ext.collection = Some(self.expr(n, None, &text).ok_or(())?);
        }
        if ext.element_variable.is_none() {
            ext.element_variable = mi.input_data_item.as_ref().map(name_of);
        }
        if ext.output_collection.is_none()
            && let Some(r) = mi.loop_data_output_ref.as_deref().map(str::trim)
            && !r.is_empty()
        {
            ext.output_collection = Some(self.data_object_name(r));
            if ext.output_element.is_none()
                && let Some(item) = &mi.output_data_item
            {
                ext.output_element = Some(self.expr(n, None, &name_of(item)).ok_or(())?);
            }
        }
        Ok(())
    }

    /// The process a call activity calls: a literal id, or an expression
    /// (`=…` FEEL, `${…}` JUEL) giving it.
    pub(super) fn called_process(
        &mut self,
        n: &FlowNode,
        id: Option<&str>,
    ) -> Result<CalledProcess, ()> {
        match id.filter(|s| !s.trim().is_empty()) {
            Some(id) => self.called_target(n, id, "a process id"),
            None => {
                self.problem(
                    "ENG019",
                    n,
                    format!(
                        "call activity `{}`: expected calledElement or zeebe:calledElement processId, found neither",
                        n.id
                    ),
                );
                Err(())
            }
        }
    }

    /// What a call activity or business rule task calls: a literal id, or
    /// an expression giving it.
    pub(super) fn called_target(
        &mut self,
        n: &FlowNode,
        id: &str,
        what: &str,
    ) -> Result<CalledProcess, ()> {
        let t = id.trim_start();
        if t.is_empty() {
            self.problem(
                "ENG019",
                n,
                format!("`{}`: expected {what}, found none", n.id),
            );
            return Err(());
        }
        if t.starts_with('=') || t.contains("${") || t.contains("#{") {
            self.expr(n, None, id)
                .map(CalledProcess::Expression)
                .ok_or(())
        } else {
            Ok(CalledProcess::Id(id.to_string()))
        }
    }

    /// A script in the language `format` names: Rhai compiled as a script,
    /// FEEL and JUEL as expressions; another language is BPMN018.
    pub(super) fn script_body(
        &mut self,
        n: &FlowNode,
        format: Option<&str>,
        text: &str,
        what: &str,
    ) -> Option<ScriptBody> {
        match bpmn_models::lang::script_language(format) {
            Ok(Language::Rhai) => match self.scripts.compile_script(text) {
                Ok(s) => Some(ScriptBody::Rhai(s)),
                Err(e) => {
                    self.problem("ENG011", n, format!("{what} of `{}`: {e}", n.id));
                    None
                }
            },
            Ok(lang) => match Expr::compile_as(self.scripts, lang, text) {
                Ok(e) => Some(ScriptBody::Expression(e)),
                Err(e) => {
                    self.problem("ENG011", n, format!("{what} of `{}`: {e}", n.id));
                    None
                }
            },
            Err(l) => {
                self.problem(
                    "BPMN018",
                    n,
                    format!(
                        "{what} of `{}` has scriptFormat `{l}`: expected `rhai`, `feel`, `juel` or `javascript`, the formats orchid-bpmn runs (Groovy, Python and XSLT do not run)",
                        n.id
                    ),
                );
                None
            }
        }
    }

    /// A script as a mapping's value (Camunda 7 `camunda:script`).
    pub(super) fn script_source(
        &mut self,
        n: &FlowNode,
        format: Option<&str>,
        text: &str,
        what: &str,
    ) -> Option<MappingSource> {
        Some(match self.script_body(n, format, text, what)? {
            ScriptBody::Rhai(s) => MappingSource::Script(s),
            ScriptBody::Expression(e) => MappingSource::Expr(e),
        })
    }

    /// Input/output mappings: the dialect's, then data associations.
    pub(super) fn mappings(&mut self, idx: ElementIdx, n: &FlowNode) {
        let Ok(io) = self.rules.io(self, n) else {
            return;
        };
        let (mut inputs, mut outputs) = (io.inputs, io.outputs);
        if let FlowNodeKind::Activity(a) = &n.kind {
            self.data_associations(n, a, &mut inputs, &mut outputs);
        }
        let e = &mut self.elements[idx.0 as usize];
        e.inputs = inputs;
        e.outputs = outputs;
        e.outputs_only = io.outputs_only;
    }

    /// Data input and output associations (BPMN 2.0.2 §10.4.1): an input
    /// association sets the activity's data input (a local variable named
    /// after it) from its source data object or from its transformation;
    /// an output association sets its target data object from the
    /// activity's data output or from its transformation. Assignments
    /// (`from` → `to`) map one expression to one variable each.
    pub(super) fn data_associations(
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
    pub(super) fn data_object_name(&self, id: &str) -> String {
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

    /// A mapping's source text: an expression (`=…`, `${…}`), else a
    /// literal string (Camunda 8 without `=`, Camunda 7 without `${}`).
    pub(super) fn mapping_source(&mut self, n: &FlowNode, source: &str) -> Option<MappingSource> {
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
}

impl CallSpec {
    /// Every variable crosses, both ways.
    pub(super) fn passing_all(process: CalledProcess) -> CallSpec {
        CallSpec {
            process,
            version: None,
            same_deployment: false,
            inputs: CallVariables {
                all: true,
                mappings: Vec::new(),
            },
            outputs: CallVariables {
                all: true,
                mappings: Vec::new(),
            },
            outputs_on_throw: false,
        }
    }
}
