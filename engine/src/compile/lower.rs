//! Lowering the flow structure: scopes and their flows, gateways, events
//! and their triggers and throws, timers (BPMN 2.0.2 §10.5 events, §10.6
//! gateways). Extensions are read only through the dialect's rules.

use bpmn_models::timer::{TimerKind, TimerValue};
use bpmn_models::{
    EventDefinitionKind, EventKind, FlowElement, FlowNode, FlowNodeKind, GatewayKind,
};

use super::ir::*;
use super::{Compiler, DeployProblem, Position, find_node, node_message_ref};
use crate::expr::Expr;
use crate::schedule::Schedule;

/// A message as an event refers to it: its name (literal, or an
/// expression) and correlation key expression.
pub(super) struct MessageSpec {
    pub name: String,
    pub name_expr: Option<Expr>,
    pub key: Option<Expr>,
}

impl Compiler<'_> {
    /// Numbers the elements of one scope (recursively) and records its flows.
    pub(super) fn scope(
        &mut self,
        owner: Option<ElementIdx>,
        elements: &[FlowElement],
    ) -> ScopeIdx {
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

    pub(super) fn push(&mut self, scope: ScopeIdx, n: &FlowNode, kind: ElementKind) -> ElementIdx {
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
            catch_variables: self.rules.catch_variables(n),
            kind,
            span: n.base.span,
        });
        idx
    }

    pub(super) fn node(&mut self, scope: ScopeIdx, n: &FlowNode) {
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
    pub(super) fn boundary(&mut self, scope: ScopeIdx, n: &FlowNode, siblings: &[FlowElement]) {
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
    pub(super) fn event(&mut self, scope: ScopeIdx, n: &FlowNode, e: &bpmn_models::Event) {
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
    pub(super) fn throw_kind(
        &mut self,
        n: &FlowNode,
        e: &bpmn_models::Event,
    ) -> Option<ElementKind> {
        if let [
            d @ bpmn_models::EventDefinition {
                kind: EventDefinitionKind::Message { .. },
                ..
            },
        ] = e.event_definitions.as_slice()
        {
            // A message throw served by a job worker (Camunda 8) or a
            // delegate (Camunda 7, on the event or its definition).
            match self.rules.implementation(self, n, Some(d)) {
                Err(()) => return None,
                Ok(Some(kind)) => return Some(kind),
                Ok(None) => {}
            }
            // Camunda 7: a message event with neither an implementation nor
            // a message to send does nothing (a none event).
            let EventDefinitionKind::Message { message_ref, .. } = &d.kind else {
                return None;
            };
            if message_ref.is_none()
                && !self.message_flows.contains_key(&n.id)
                && self.dialect.semantics().empty_message_throw_is_none
            {
                return Some(match e.kind {
                    EventKind::End => ElementKind::EndEvent,
                    _ => ElementKind::PassThrough,
                });
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
                    let (code, message) = self.error_ref(n, error_ref.as_deref()).ok()?;
                    let Some(code) = code else {
                        self.problem(
                            "ENG015",
                            n,
                            format!(
                                "error event `{}`: expected an errorRef naming an error with an errorCode, found {}",
                                n.id,
                                error_ref
                                    .as_deref()
                                    .map_or("none".to_string(), |r| format!("`{r}`"))
                            ),
                        );
                        return None;
                    };
                    Throw::Error { code, message }
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
    pub(super) fn triggers(
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
                    let m = self.message(n, m)?;
                    if m.name_expr.is_some() && position == Position::ProcessStart {
                        self.problem(
                            "ENG015",
                            n,
                            format!(
                                "message start event `{}`: expected a message name without an expression (the name `{}` is computed, but a process-level start has no variables to compute it from), found one",
                                n.id, m.name
                            ),
                        );
                        return None;
                    }
                    Trigger::Message {
                        name: m.name,
                        name_expr: m.name_expr,
                        key: m.key,
                    }
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
                    code: self.error_ref(n, error_ref.as_deref()).ok()?.0,
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
    pub(super) fn message(&mut self, n: &FlowNode, id: &str) -> Option<MessageSpec> {
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
        let key = self.rules.message_key(self, n, m).ok()?;
        let t = name.trim_start();
        let name_expr = if t.starts_with('=') || t.contains("${") || t.contains("#{") {
            Some(self.expr(n, None, &name)?)
        } else {
            None
        };
        Some(MessageSpec {
            name,
            name_expr,
            key,
        })
    }

    /// A message thrown by `n`: its own messageRef, or the message of the
    /// element its message flow leads to.
    pub(super) fn message_throw(
        &mut self,
        n: &FlowNode,
        message_ref: Option<&str>,
    ) -> Option<Throw> {
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
        let m = self.message(n, &m)?;
        Some(Throw::Message {
            name: m.name,
            name_expr: m.name_expr,
            key: m.key,
        })
    }

    pub(super) fn signal_name(&mut self, n: &FlowNode, signal_ref: Option<&str>) -> Option<String> {
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

    /// The code and message of the error an `errorRef` names: `None` for
    /// no reference (a catch-all) or an error without a code; a reference
    /// that names nothing is the code itself in a Camunda 7 file and a
    /// problem elsewhere.
    pub(super) fn error_ref(
        &mut self,
        n: &FlowNode,
        error_ref: Option<&str>,
    ) -> Result<(Option<String>, Option<MappingSource>), ()> {
        let Some(r) = error_ref else {
            return Ok((None, None));
        };
        match self.defs.root_element(r) {
            Some(bpmn_models::RootElement::Error(e)) => {
                let message = self.rules.error_message(self, n, e)?;
                Ok((e.error_code.clone(), message))
            }
            // Another kind of element: validation refused it (BPMN007).
            Some(_) => Ok((None, None)),
            None if self.dialect.semantics().dangling_error_ref_is_code => {
                Ok((Some(r.to_string()), None))
            }
            None => {
                self.problem(
                    "ENG015",
                    n,
                    format!(
                        "error event `{}`: expected errorRef `{r}` to name an error, found none (a Camunda 8 file must name an <error>; Camunda 7 takes the reference as the code)",
                        n.id
                    ),
                );
                Err(())
            }
        }
    }

    pub(super) fn escalation_code(&self, id: &str) -> Option<String> {
        match self.defs.root_element(id) {
            Some(bpmn_models::RootElement::Escalation(e)) => e.escalation_code.clone(),
            _ => None,
        }
    }

    /// Compiles a timer body: a literal is scheduled now (an invalid or
    /// out-of-range one is a deploy error), an expression is compiled.
    pub(super) fn timer(
        &mut self,
        n: &FlowNode,
        t: &bpmn_models::TimerDefinition,
    ) -> Option<TimerSpec> {
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
}
