//! Builds BPMN models in code, without XML: for tests of the token machine
//! and for embedders who generate processes.
//!
//! ```
//! use engine::builder::ProcessBuilder;
//! let defs = ProcessBuilder::new("P")
//!     .start("s")
//!     .script("inc", "counter = counter + 1")
//!     .end("e")
//!     .flow("s", "inc")
//!     .flow("inc", "e")
//!     .build();
//! assert_eq!(defs.processes().count(), 1);
//! ```

use bpmn_models::names::ZEEBE;
use bpmn_models::xml::{PrefixHint, XmlAttribute, XmlElement};
use bpmn_models::*;

/// Builds one executable process; elements are added to the innermost open
/// sub-process (see [`ProcessBuilder::sub_process`]).
#[derive(Debug)]
pub struct ProcessBuilder {
    id: String,
    /// Stack of containers being built; the first is the process.
    stack: Vec<Vec<FlowElement>>,
    /// Sub-process ids matching `stack[1..]`.
    open: Vec<String>,
    /// Messages, signals and errors the events refer to.
    roots: Vec<RootElement>,
}

fn node(id: &str, kind: FlowNodeKind) -> FlowElement {
    FlowElement::FlowNode(FlowNode {
        id: id.to_string(),
        name: None,
        incoming: Vec::new(),
        outgoing: Vec::new(),
        kind,
        base: Base::default(),
    })
}

fn activity(kind: ActivityKind) -> FlowNodeKind {
    FlowNodeKind::Activity(Box::new(Activity {
        is_for_compensation: false,
        start_quantity: None,
        completion_quantity: None,
        default: None,
        io_specification: None,
        properties: Vec::new(),
        data_input_associations: Vec::new(),
        data_output_associations: Vec::new(),
        resource_roles: Vec::new(),
        loop_characteristics: None,
        kind,
    }))
}

fn event(kind: EventKind, defs: Vec<EventDefinitionKind>) -> FlowNodeKind {
    FlowNodeKind::Event(Box::new(Event {
        parallel_multiple: false,
        properties: Vec::new(),
        data_items: Vec::new(),
        data_associations: Vec::new(),
        data_set: None,
        event_definitions: defs
            .into_iter()
            .map(|kind| EventDefinition {
                id: None,
                kind,
                base: Base::default(),
            })
            .collect(),
        event_definition_refs: Vec::new(),
        kind,
    }))
}

fn gateway(kind: GatewayKind) -> FlowNodeKind {
    FlowNodeKind::Gateway(Gateway {
        direction: None,
        kind,
    })
}

fn zeebe(name: &str, attrs: &[(&str, &str)], children: Vec<XmlElement>) -> XmlElement {
    XmlElement {
        namespace: Some(ZEEBE.to_string()),
        prefix: PrefixHint(Some("zeebe".into())),
        name: name.to_string(),
        attributes: attrs
            .iter()
            .map(|(k, v)| XmlAttribute {
                namespace: None,
                prefix: PrefixHint(None),
                name: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
        children: children
            .into_iter()
            .map(bpmn_models::xml::XmlNode::Element)
            .collect(),
        span: Span::default(),
    }
}

impl ProcessBuilder {
    pub fn new(id: &str) -> Self {
        ProcessBuilder {
            id: id.to_string(),
            stack: vec![Vec::new()],
            open: Vec::new(),
            roots: Vec::new(),
        }
    }

    /// The id `<kind>_<name>` of a root element, added by `make` on first
    /// use.
    fn root_ref(
        &mut self,
        kind: &str,
        name: &str,
        make: impl FnOnce(String) -> RootElement,
    ) -> String {
        let id = format!("{kind}_{name}");
        if !self.roots.iter().any(|r| r.id() == Some(id.as_str())) {
            self.roots.push(make(id.clone()));
        }
        id
    }

    fn message_ref(&mut self, name: &str) -> String {
        self.root_ref("Message", name, |id| {
            RootElement::Message(Message {
                id,
                name: Some(name.to_string()),
                item_ref: None,
                base: Base::default(),
            })
        })
    }

    fn signal_ref(&mut self, name: &str) -> String {
        self.root_ref("Signal", name, |id| {
            RootElement::Signal(Signal {
                id,
                name: Some(name.to_string()),
                structure_ref: None,
                base: Base::default(),
            })
        })
    }

    fn error_ref(&mut self, code: &str) -> String {
        self.root_ref("Error", code, |id| {
            RootElement::Error(ErrorDef {
                id,
                name: None,
                error_code: Some(code.to_string()),
                structure_ref: None,
                base: Base::default(),
            })
        })
    }

    /// An intermediate catch event for the message `name` (correlated by
    /// name only, Camunda 7 style).
    pub fn message_catch(mut self, id: &str, name: &str) -> Self {
        let message_ref = Some(self.message_ref(name));
        self.add(node(
            id,
            event(
                EventKind::IntermediateCatch,
                vec![EventDefinitionKind::Message {
                    message_ref,
                    operation_ref: None,
                }],
            ),
        ))
    }

    /// An intermediate catch event for the signal `name`.
    pub fn signal_catch(mut self, id: &str, name: &str) -> Self {
        let signal_ref = Some(self.signal_ref(name));
        self.add(node(
            id,
            event(
                EventKind::IntermediateCatch,
                vec![EventDefinitionKind::Signal { signal_ref }],
            ),
        ))
    }

    /// A message boundary event on `attached_to`.
    pub fn boundary_message(
        mut self,
        id: &str,
        attached_to: &str,
        cancel_activity: bool,
        name: &str,
    ) -> Self {
        let message_ref = Some(self.message_ref(name));
        self.add(node(
            id,
            event(
                EventKind::Boundary {
                    attached_to_ref: attached_to.to_string(),
                    cancel_activity,
                },
                vec![EventDefinitionKind::Message {
                    message_ref,
                    operation_ref: None,
                }],
            ),
        ))
    }

    /// An error boundary event on `attached_to` catching `code` (every
    /// code when `None`).
    pub fn boundary_error(mut self, id: &str, attached_to: &str, code: Option<&str>) -> Self {
        let error_ref = code.map(|c| self.error_ref(c));
        self.add(node(
            id,
            event(
                EventKind::Boundary {
                    attached_to_ref: attached_to.to_string(),
                    cancel_activity: true,
                },
                vec![EventDefinitionKind::Error { error_ref }],
            ),
        ))
    }

    /// An error end event throwing `code`.
    pub fn error_end(mut self, id: &str, code: &str) -> Self {
        let error_ref = Some(self.error_ref(code));
        self.add(node(
            id,
            event(
                EventKind::End,
                vec![EventDefinitionKind::Error { error_ref }],
            ),
        ))
    }

    /// Makes `element` a multi-instance activity running `cardinality`
    /// times, in parallel or one after the other.
    pub fn multi_instance(mut self, element: &str, cardinality: &str, sequential: bool) -> Self {
        if let Some(n) = self.find(element)
            && let FlowNodeKind::Activity(a) = &mut n.kind
        {
            a.loop_characteristics = Some(LoopCharacteristics::MultiInstance(MultiInstance {
                id: None,
                is_sequential: sequential,
                behavior: None,
                one_behavior_event_ref: None,
                none_behavior_event_ref: None,
                loop_cardinality: Some(Expression::new(cardinality)),
                loop_data_input_ref: None,
                loop_data_output_ref: None,
                input_data_item: None,
                output_data_item: None,
                completion_condition: None,
                base: Base::default(),
            }));
        }
        self
    }

    fn add(mut self, e: FlowElement) -> Self {
        if let Some(top) = self.stack.last_mut() {
            top.push(e);
        }
        self
    }

    fn find(&mut self, id: &str) -> Option<&mut FlowNode> {
        fn walk<'a>(els: &'a mut [FlowElement], id: &str) -> Option<&'a mut FlowNode> {
            for e in els {
                if let FlowElement::FlowNode(n) = e {
                    if n.id == id {
                        return Some(n);
                    }
                    if let FlowNodeKind::Activity(a) = &mut n.kind
                        && let ActivityKind::SubProcess(s) = &mut a.kind
                        && let Some(x) = walk(&mut s.flow_elements, id)
                    {
                        return Some(x);
                    }
                }
            }
            None
        }
        self.stack.iter_mut().rev().find_map(|els| walk(els, id))
    }

    pub fn start(self, id: &str) -> Self {
        self.add(node(
            id,
            event(
                EventKind::Start {
                    is_interrupting: true,
                },
                Vec::new(),
            ),
        ))
    }

    pub fn end(self, id: &str) -> Self {
        self.add(node(id, event(EventKind::End, Vec::new())))
    }

    pub fn terminate_end(self, id: &str) -> Self {
        self.add(node(
            id,
            event(EventKind::End, vec![EventDefinitionKind::Terminate]),
        ))
    }

    /// An intermediate timer catch event with one body: `kind` says whether
    /// `text` is a timeDate, timeDuration or timeCycle (`=…` FEEL or `${…}`
    /// JUEL for an expression).
    pub fn timer_catch(self, id: &str, kind: bpmn_models::timer::TimerKind, text: &str) -> Self {
        use bpmn_models::timer::TimerKind;
        let body = Some(Expression::new(text));
        let mut t = TimerDefinition::default();
        match kind {
            TimerKind::Date => t.time_date = body,
            TimerKind::Duration => t.time_duration = body,
            TimerKind::Cycle => t.time_cycle = body,
        }
        self.add(node(
            id,
            event(
                EventKind::IntermediateCatch,
                vec![EventDefinitionKind::Timer(t)],
            ),
        ))
    }

    /// A timer boundary event on `attached_to` (interrupting when
    /// `cancel_activity`), with one body as in [`Self::timer_catch`].
    pub fn boundary_timer(
        self,
        id: &str,
        attached_to: &str,
        cancel_activity: bool,
        kind: bpmn_models::timer::TimerKind,
        text: &str,
    ) -> Self {
        use bpmn_models::timer::TimerKind;
        let body = Some(Expression::new(text));
        let mut t = TimerDefinition::default();
        match kind {
            TimerKind::Date => t.time_date = body,
            TimerKind::Duration => t.time_duration = body,
            TimerKind::Cycle => t.time_cycle = body,
        }
        self.add(node(
            id,
            event(
                EventKind::Boundary {
                    attached_to_ref: attached_to.to_string(),
                    cancel_activity,
                },
                vec![EventDefinitionKind::Timer(t)],
            ),
        ))
    }

    pub fn task(self, id: &str) -> Self {
        self.add(node(id, activity(ActivityKind::Task)))
    }

    pub fn user_task(self, id: &str) -> Self {
        self.add(node(
            id,
            activity(ActivityKind::UserTask {
                implementation: None,
            }),
        ))
    }

    /// A Rhai script task.
    pub fn script(self, id: &str, source: &str) -> Self {
        self.add(node(
            id,
            activity(ActivityKind::ScriptTask {
                script_format: Some("rhai".into()),
                script: Some(Script {
                    text: source.to_string(),
                    span: Span::default(),
                }),
            }),
        ))
    }

    /// A service task served by jobs of `job_type` (Camunda 8 style).
    pub fn service(self, id: &str, job_type: &str, retries: u32) -> Self {
        let mut b = self.add(node(
            id,
            activity(ActivityKind::ServiceTask {
                implementation: None,
                operation_ref: None,
            }),
        ));
        let retries = retries.to_string();
        if let Some(n) = b.find(id) {
            n.base.extensions.elements.push(zeebe(
                "taskDefinition",
                &[("type", job_type), ("retries", &retries)],
                Vec::new(),
            ));
        }
        b
    }

    pub fn exclusive(self, id: &str) -> Self {
        self.add(node(id, gateway(GatewayKind::Exclusive { default: None })))
    }

    pub fn parallel(self, id: &str) -> Self {
        self.add(node(id, gateway(GatewayKind::Parallel)))
    }

    pub fn inclusive(self, id: &str) -> Self {
        self.add(node(id, gateway(GatewayKind::Inclusive { default: None })))
    }

    /// Opens an embedded sub-process; elements go into it until [`Self::close`].
    pub fn sub_process(mut self, id: &str) -> Self {
        self.open.push(id.to_string());
        self.stack.push(Vec::new());
        self
    }

    /// Closes the innermost sub-process.
    pub fn close(mut self) -> Self {
        let (Some(id), Some(inner)) = (self.open.pop(), self.stack.pop()) else {
            return self;
        };
        self.add(node(
            &id,
            activity(ActivityKind::SubProcess(SubProcess {
                triggered_by_event: false,
                lane_sets: Vec::new(),
                flow_elements: inner,
                artifacts: Vec::new(),
            })),
        ))
    }

    /// An unconditioned sequence flow `from_to`.
    pub fn flow(self, from: &str, to: &str) -> Self {
        self.flow_with(from, to, None)
    }

    /// A sequence flow with a condition (`=…` FEEL, `${…}` JUEL, else Rhai).
    pub fn cond(self, from: &str, to: &str, condition: &str) -> Self {
        self.flow_with(from, to, Some(condition))
    }

    fn flow_with(self, from: &str, to: &str, condition: Option<&str>) -> Self {
        self.add(FlowElement::SequenceFlow(SequenceFlow {
            id: format!("{from}_{to}"),
            name: None,
            source_ref: from.to_string(),
            target_ref: to.to_string(),
            is_immediate: None,
            condition_expression: condition.map(Expression::new),
            base: Base::default(),
        }))
    }

    /// Makes `from_to` the default flow of `from`.
    pub fn default_flow(mut self, from: &str, to: &str) -> Self {
        let flow = format!("{from}_{to}");
        if let Some(n) = self.find(from) {
            match &mut n.kind {
                FlowNodeKind::Gateway(g) => match &mut g.kind {
                    GatewayKind::Exclusive { default }
                    | GatewayKind::Inclusive { default }
                    | GatewayKind::Complex { default, .. } => *default = Some(flow),
                    _ => {}
                },
                FlowNodeKind::Activity(a) => a.default = Some(flow),
                FlowNodeKind::Event(_) => {}
            }
        }
        self
    }

    /// Camunda 8 input mappings (`zeebe:ioMapping`) of an element.
    pub fn inputs(self, element: &str, mappings: &[(&str, &str)]) -> Self {
        self.io(element, mappings, "input")
    }

    /// Camunda 8 output mappings of an element.
    pub fn outputs(self, element: &str, mappings: &[(&str, &str)]) -> Self {
        self.io(element, mappings, "output")
    }

    fn io(mut self, element: &str, mappings: &[(&str, &str)], kind: &str) -> Self {
        if let Some(n) = self.find(element) {
            let children: Vec<XmlElement> = mappings
                .iter()
                .map(|(target, source)| {
                    zeebe(kind, &[("source", source), ("target", target)], Vec::new())
                })
                .collect();
            match n
                .base
                .extensions
                .elements
                .iter_mut()
                .find(|e| e.is(ZEEBE, "ioMapping"))
            {
                Some(io) => io
                    .children
                    .extend(children.into_iter().map(bpmn_models::xml::XmlNode::Element)),
                None => n
                    .base
                    .extensions
                    .elements
                    .push(zeebe("ioMapping", &[], children)),
            }
        }
        self
    }

    pub fn build(mut self) -> Definitions {
        while !self.open.is_empty() {
            self = self.close();
        }
        let flow_elements = self.stack.pop().unwrap_or_default();
        let mut root_elements = std::mem::take(&mut self.roots);
        let definitions_id = format!("{}_definitions", self.id);
        root_elements.push(RootElement::Process(Process {
            id: self.id,
            is_executable: Some(true),
            flow_elements,
            ..Process::default()
        }));
        Definitions {
            id: Some(definitions_id),
            target_namespace: "http://orchid-bpmn/builder".into(),
            root_elements,
            ..Definitions::default()
        }
    }
}
