//! Typed view of the Camunda 8 extensions (namespace
//! `http://camunda.org/schema/zeebe/1.0`), as documented in the Camunda 8
//! BPMN reference (task definitions, variable mappings, call activities,
//! user tasks, listeners, ad-hoc sub-processes) and the zeebe-bpmn-moddle
//! descriptor.
//!
//! [`zeebe`] decodes the `zeebe:*` children of one element's
//! `extensionElements`. As for Camunda 7, which element may carry what is the
//! validator's concern: every element gets the same [`Zeebe`] struct.
//!
//! Modelled: `taskDefinition`, `taskHeaders`, `ioMapping`, `calledElement`,
//! `calledDecision`, `script`, `subscription`, `publishMessage`,
//! `loopCharacteristics`, `userTask`, `formDefinition`, `userTaskForm`,
//! `assignmentDefinition`, `taskSchedule`, `priorityDefinition`,
//! `executionListeners`, `taskListeners`, `versionTag`, `adHoc`,
//! `properties` and `linkedResources`. Not modelled (left in the raw model):
//! `zeebe:modelerTemplate*` attributes and any other `zeebe:` element.
//!
//! Deliberate deviations: values that Zeebe evaluates as FEEL expressions or
//! integers (`retries`, `priority`, `timeToLive`, …) are kept as strings; an
//! element that may appear once is read from its first occurrence.

use crate::model::{Base, Extensions};
use crate::names::ZEEBE;
use crate::span::Span;
use crate::xml::XmlElement;

use super::{ExtError, opt, opt_bool, parse_enum, required, trim_xml};

/// Everything Camunda 8 says about one BPMN element.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Zeebe {
    pub task_definition: Option<TaskDefinition>,
    pub task_headers: Vec<Header>,
    pub io_mapping: Option<IoMapping>,
    pub called_element: Option<CalledElement>,
    pub called_decision: Option<CalledDecision>,
    pub script: Option<ScriptDef>,
    pub subscription: Option<Subscription>,
    pub publish_message: Option<PublishMessage>,
    pub loop_characteristics: Option<Loop>,
    /// `<zeebe:userTask/>`: a Camunda user task rather than a job-worker one.
    pub user_task: bool,
    pub form_definition: Option<FormDefinition>,
    /// `zeebe:userTaskForm`s embedded in a process.
    pub user_task_forms: Vec<UserTaskForm>,
    pub assignment_definition: Option<AssignmentDefinition>,
    pub task_schedule: Option<TaskSchedule>,
    pub priority_definition: Option<PriorityDefinition>,
    pub execution_listeners: Vec<ExecutionListener>,
    pub task_listeners: Vec<TaskListener>,
    /// `zeebe:versionTag value="…"`.
    pub version_tag: Option<String>,
    pub ad_hoc: Option<AdHoc>,
    pub properties: Vec<Property>,
    pub linked_resources: Vec<LinkedResource>,
}

/// How a called process, decision or form is resolved (`bindingType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingType {
    Latest,
    Deployment,
    VersionTag,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinition {
    /// The job type (`type`), possibly a FEEL expression.
    pub job_type: String,
    pub retries: Option<String>,
    pub span: Span,
}

/// `zeebe:header` inside `zeebe:taskHeaders`.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key: String,
    /// An absent `value` reads as the empty string.
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IoMapping {
    pub inputs: Vec<Mapping>,
    pub outputs: Vec<Mapping>,
}

/// `zeebe:input` / `zeebe:output`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// A FEEL expression (`=…`) or a constant; `None` maps `null`.
    pub source: Option<String>,
    pub target: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalledElement {
    pub process_id: Option<String>,
    /// Zeebe's default is `true`.
    pub propagate_all_child_variables: Option<bool>,
    /// Zeebe's default is `true`.
    pub propagate_all_parent_variables: Option<bool>,
    pub binding_type: Option<BindingType>,
    pub version_tag: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalledDecision {
    pub decision_id: String,
    pub result_variable: Option<String>,
    pub binding_type: Option<BindingType>,
    pub version_tag: Option<String>,
    pub span: Span,
}

/// `zeebe:script` of a script task (a FEEL expression).
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptDef {
    pub expression: String,
    pub result_variable: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub correlation_key: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PublishMessage {
    pub correlation_key: Option<String>,
    pub message_id: Option<String>,
    pub time_to_live: Option<String>,
    pub span: Span,
}

/// `zeebe:loopCharacteristics` of a multi-instance activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Loop {
    pub input_collection: Option<String>,
    pub input_element: Option<String>,
    pub output_collection: Option<String>,
    pub output_element: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FormDefinition {
    pub form_key: Option<String>,
    pub form_id: Option<String>,
    pub external_reference: Option<String>,
    pub binding_type: Option<BindingType>,
    pub version_tag: Option<String>,
    pub span: Span,
}

/// `zeebe:userTaskForm`: a form schema embedded in the process.
#[derive(Debug, Clone, PartialEq)]
pub struct UserTaskForm {
    pub id: String,
    /// The form's JSON, verbatim.
    pub body: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentDefinition {
    pub assignee: Option<String>,
    pub candidate_groups: Option<String>,
    pub candidate_users: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskSchedule {
    pub due_date: Option<String>,
    pub follow_up_date: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriorityDefinition {
    pub priority: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionEvent {
    Start,
    End,
}

/// `zeebe:executionListener` inside `zeebe:executionListeners`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionListener {
    pub event_type: ExecutionEvent,
    pub job_type: String,
    pub retries: Option<String>,
    pub span: Span,
}

/// `zeebe:taskListener` inside `zeebe:taskListeners`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskListener {
    /// `creating`, `assigning`, `updating`, `completing`, `canceling`, … —
    /// the set grows with Camunda 8 releases, so it is not checked here.
    pub event_type: String,
    pub job_type: String,
    pub retries: Option<String>,
    pub span: Span,
}

/// `zeebe:adHoc` of an ad-hoc sub-process.
#[derive(Debug, Clone, PartialEq)]
pub struct AdHoc {
    pub active_elements_collection: Option<String>,
    pub output_collection: Option<String>,
    pub output_element: Option<String>,
    pub span: Span,
}

/// `zeebe:property` inside `zeebe:properties`.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub value: Option<String>,
    pub span: Span,
}

/// `zeebe:linkedResource` inside `zeebe:linkedResources`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedResource {
    pub resource_id: Option<String>,
    pub resource_type: Option<String>,
    pub link_name: Option<String>,
    pub binding_type: Option<BindingType>,
    pub version_tag: Option<String>,
    pub span: Span,
}

const BINDING_TYPES: &[(&str, BindingType)] = &[
    ("latest", BindingType::Latest),
    ("deployment", BindingType::Deployment),
    ("versionTag", BindingType::VersionTag),
];
const EXECUTION_EVENTS: &[(&str, ExecutionEvent)] = &[
    ("start", ExecutionEvent::Start),
    ("end", ExecutionEvent::End),
];

/// Decodes the Camunda 8 view of one element.
pub fn zeebe(base: &Base) -> Result<Zeebe, ExtError> {
    zeebe_at(&base.extensions)
}

/// Like [`zeebe`], for raw extensions. Every `zeebe:` construct decoded here
/// is an element, so every error carries that element's own span.
pub fn zeebe_at(ext: &Extensions) -> Result<Zeebe, ExtError> {
    let mut out = Zeebe::default();
    for el in ext.elements.iter().filter(|e| is_zeebe(e)) {
        match el.name.as_str() {
            "taskDefinition" if out.task_definition.is_none() => {
                out.task_definition = Some(TaskDefinition {
                    job_type: required(el, "zeebe:taskDefinition", "type")?.to_string(),
                    retries: opt(el, "retries"),
                    span: el.span,
                });
            }
            "taskHeaders" => {
                for h in children(el, "zeebe:taskHeaders", "header")? {
                    out.task_headers.push(Header {
                        key: required(h, "zeebe:header", "key")?.to_string(),
                        value: h.attr("value").unwrap_or_default().to_string(),
                        span: h.span,
                    });
                }
            }
            "ioMapping" if out.io_mapping.is_none() => out.io_mapping = Some(io_mapping(el)?),
            "calledElement" if out.called_element.is_none() => {
                out.called_element = Some(CalledElement {
                    process_id: opt(el, "processId"),
                    propagate_all_child_variables: bool_attr(el, "propagateAllChildVariables")?,
                    propagate_all_parent_variables: bool_attr(el, "propagateAllParentVariables")?,
                    binding_type: binding_type(el)?,
                    version_tag: opt(el, "versionTag"),
                    span: el.span,
                });
            }
            "calledDecision" if out.called_decision.is_none() => {
                out.called_decision = Some(CalledDecision {
                    decision_id: required(el, "zeebe:calledDecision", "decisionId")?.to_string(),
                    result_variable: opt(el, "resultVariable"),
                    binding_type: binding_type(el)?,
                    version_tag: opt(el, "versionTag"),
                    span: el.span,
                });
            }
            "script" if out.script.is_none() => {
                out.script = Some(ScriptDef {
                    expression: required(el, "zeebe:script", "expression")?.to_string(),
                    result_variable: opt(el, "resultVariable"),
                    span: el.span,
                });
            }
            "subscription" if out.subscription.is_none() => {
                out.subscription = Some(Subscription {
                    correlation_key: opt(el, "correlationKey"),
                    span: el.span,
                });
            }
            "publishMessage" if out.publish_message.is_none() => {
                out.publish_message = Some(PublishMessage {
                    correlation_key: opt(el, "correlationKey"),
                    message_id: opt(el, "messageId"),
                    time_to_live: opt(el, "timeToLive"),
                    span: el.span,
                });
            }
            "loopCharacteristics" if out.loop_characteristics.is_none() => {
                out.loop_characteristics = Some(Loop {
                    input_collection: opt(el, "inputCollection"),
                    input_element: opt(el, "inputElement"),
                    output_collection: opt(el, "outputCollection"),
                    output_element: opt(el, "outputElement"),
                    span: el.span,
                });
            }
            "userTask" => out.user_task = true,
            "formDefinition" if out.form_definition.is_none() => {
                out.form_definition = Some(FormDefinition {
                    form_key: opt(el, "formKey"),
                    form_id: opt(el, "formId"),
                    external_reference: opt(el, "externalReference"),
                    binding_type: binding_type(el)?,
                    version_tag: opt(el, "versionTag"),
                    span: el.span,
                });
            }
            "userTaskForm" => out.user_task_forms.push(UserTaskForm {
                id: required(el, "zeebe:userTaskForm", "id")?.to_string(),
                body: el.text(),
                span: el.span,
            }),
            "assignmentDefinition" if out.assignment_definition.is_none() => {
                out.assignment_definition = Some(AssignmentDefinition {
                    assignee: opt(el, "assignee"),
                    candidate_groups: opt(el, "candidateGroups"),
                    candidate_users: opt(el, "candidateUsers"),
                    span: el.span,
                });
            }
            "taskSchedule" if out.task_schedule.is_none() => {
                out.task_schedule = Some(TaskSchedule {
                    due_date: opt(el, "dueDate"),
                    follow_up_date: opt(el, "followUpDate"),
                    span: el.span,
                });
            }
            "priorityDefinition" if out.priority_definition.is_none() => {
                out.priority_definition = Some(PriorityDefinition {
                    priority: opt(el, "priority"),
                    span: el.span,
                });
            }
            "executionListeners" => {
                for l in children(el, "zeebe:executionListeners", "executionListener")? {
                    let event = required(l, "zeebe:executionListener", "eventType")?;
                    out.execution_listeners.push(ExecutionListener {
                        event_type: parse_enum(
                            event,
                            "`eventType` on <zeebe:executionListener>",
                            EXECUTION_EVENTS,
                            l.span,
                        )?,
                        job_type: required(l, "zeebe:executionListener", "type")?.to_string(),
                        retries: opt(l, "retries"),
                        span: l.span,
                    });
                }
            }
            "taskListeners" => {
                for l in children(el, "zeebe:taskListeners", "taskListener")? {
                    out.task_listeners.push(TaskListener {
                        event_type: trim_xml(required(l, "zeebe:taskListener", "eventType")?)
                            .to_string(),
                        job_type: required(l, "zeebe:taskListener", "type")?.to_string(),
                        retries: opt(l, "retries"),
                        span: l.span,
                    });
                }
            }
            "versionTag" if out.version_tag.is_none() => {
                out.version_tag = Some(required(el, "zeebe:versionTag", "value")?.to_string());
            }
            "adHoc" if out.ad_hoc.is_none() => {
                out.ad_hoc = Some(AdHoc {
                    active_elements_collection: opt(el, "activeElementsCollection"),
                    output_collection: opt(el, "outputCollection"),
                    output_element: opt(el, "outputElement"),
                    span: el.span,
                });
            }
            "properties" => {
                for p in children(el, "zeebe:properties", "property")? {
                    out.properties.push(Property {
                        name: required(p, "zeebe:property", "name")?.to_string(),
                        value: opt(p, "value"),
                        span: p.span,
                    });
                }
            }
            "linkedResources" => {
                for r in children(el, "zeebe:linkedResources", "linkedResource")? {
                    out.linked_resources.push(LinkedResource {
                        resource_id: opt(r, "resourceId"),
                        resource_type: opt(r, "resourceType"),
                        link_name: opt(r, "linkName"),
                        binding_type: binding_type(r)?,
                        version_tag: opt(r, "versionTag"),
                        span: r.span,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn is_zeebe(el: &XmlElement) -> bool {
    el.namespace.as_deref() == Some(ZEEBE)
}

/// The `zeebe:` children of a container, which must all be `zeebe:{name}`.
fn children<'a>(
    el: &'a XmlElement,
    qname: &str,
    name: &str,
) -> Result<Vec<&'a XmlElement>, ExtError> {
    el.elements()
        .filter(|c| is_zeebe(c))
        .map(|c| {
            if c.name == name {
                Ok(c)
            } else {
                Err(ExtError::new(
                    format!(
                        "unexpected element in <{qname}>: expected <zeebe:{name}>, found <zeebe:{}>",
                        c.name
                    ),
                    c.span,
                ))
            }
        })
        .collect()
}

fn io_mapping(el: &XmlElement) -> Result<IoMapping, ExtError> {
    let mut io = IoMapping::default();
    for c in el.elements().filter(|c| is_zeebe(c)) {
        let list = match c.name.as_str() {
            "input" => &mut io.inputs,
            "output" => &mut io.outputs,
            _ => {
                return Err(ExtError::new(
                    format!(
                        "unexpected element in <zeebe:ioMapping>: expected <zeebe:input> or \
                         <zeebe:output>, found <zeebe:{}>",
                        c.name
                    ),
                    c.span,
                ));
            }
        };
        list.push(Mapping {
            source: opt(c, "source"),
            target: required(c, &format!("zeebe:{}", c.name), "target")?.to_string(),
            span: c.span,
        });
    }
    Ok(io)
}

fn bool_attr(el: &XmlElement, name: &str) -> Result<Option<bool>, ExtError> {
    opt_bool(
        el.attr(name),
        &format!("`{name}` on <zeebe:{}>", el.name),
        el.span,
    )
}

fn binding_type(el: &XmlElement) -> Result<Option<BindingType>, ExtError> {
    el.attr("bindingType")
        .map(|v| {
            parse_enum(
                v,
                &format!("`bindingType` on <zeebe:{}>", el.name),
                BINDING_TYPES,
                el.span,
            )
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Definitions, FlowElement, FlowNode};

    fn parse(body: &str) -> Definitions {
        crate::parse(&format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
                xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
                id="d" targetNamespace="t"><process id="p" isExecutable="true">{body}</process></definitions>"#
        ))
        .unwrap()
    }

    fn node<'a>(defs: &'a Definitions, id: &str) -> &'a FlowNode {
        defs.processes()
            .next()
            .unwrap()
            .flow_elements
            .iter()
            .find_map(|e| match e {
                FlowElement::FlowNode(n) if n.id == id => Some(n),
                _ => None,
            })
            .unwrap()
    }

    /// The Zeebe view of the single flow node `body` declares with id `x`,
    /// given the content of its `extensionElements`.
    fn view(element: &str, ext: &str) -> Result<Zeebe, ExtError> {
        let defs = parse(&format!(
            "<{element} id=\"x\"><extensionElements>{ext}</extensionElements></{element}>"
        ));
        zeebe(&node(&defs, "x").base)
    }

    fn ok(element: &str, ext: &str) -> Zeebe {
        view(element, ext).unwrap()
    }

    fn err(element: &str, ext: &str) -> ExtError {
        view(element, ext).unwrap_err()
    }

    #[test]
    fn service_task_definition_headers_and_mappings() {
        let z = ok(
            "serviceTask",
            r#"<zeebe:taskDefinition type="payment" retries="5"/>
               <zeebe:taskHeaders>
                 <zeebe:header key="method" value="POST"/>
                 <zeebe:header key="empty"/>
               </zeebe:taskHeaders>
               <zeebe:ioMapping>
                 <zeebe:input source="=order.total" target="amount"/>
                 <zeebe:input target="nothing"/>
                 <zeebe:output source="=result" target="paid"/>
               </zeebe:ioMapping>
               <zeebe:taskDefinition type="ignored-duplicate"/>"#,
        );
        let td = z.task_definition.unwrap();
        assert_eq!(td.job_type, "payment");
        assert_eq!(td.retries.as_deref(), Some("5"));
        let headers: Vec<(&str, &str)> = z
            .task_headers
            .iter()
            .map(|h| (h.key.as_str(), h.value.as_str()))
            .collect();
        assert_eq!(headers, vec![("method", "POST"), ("empty", "")]);
        let io = z.io_mapping.unwrap();
        assert_eq!(io.inputs.len(), 2);
        assert_eq!(io.inputs[0].source.as_deref(), Some("=order.total"));
        assert_eq!(io.inputs[0].target, "amount");
        assert_eq!(io.inputs[1].source, None);
        assert_eq!(io.outputs[0].target, "paid");
    }

    #[test]
    fn malformed_service_task() {
        let e = err("serviceTask", r#"<zeebe:taskDefinition retries="3"/>"#);
        assert_eq!(
            e.message,
            "missing attribute on <zeebe:taskDefinition>: expected `type`, found none"
        );
        assert_eq!(e.span.line, 3);
        let e = err(
            "serviceTask",
            r#"<zeebe:ioMapping><zeebe:input source="=a"/></zeebe:ioMapping>"#,
        );
        assert_eq!(
            e.message,
            "missing attribute on <zeebe:input>: expected `target`, found none"
        );
        let e = err(
            "serviceTask",
            r#"<zeebe:taskHeaders><zeebe:input key="a"/></zeebe:taskHeaders>"#,
        );
        assert_eq!(
            e.message,
            "unexpected element in <zeebe:taskHeaders>: expected <zeebe:header>, found <zeebe:input>"
        );
        let e = err(
            "serviceTask",
            r#"<zeebe:ioMapping><zeebe:header/></zeebe:ioMapping>"#,
        );
        assert!(e.message.ends_with("found <zeebe:header>"), "{e}");
    }

    #[test]
    fn call_activity() {
        let z = ok(
            "callActivity",
            r#"<zeebe:calledElement processId="child" propagateAllChildVariables="false"
                   propagateAllParentVariables="true" bindingType="versionTag" versionTag="v1"/>"#,
        );
        let c = z.called_element.unwrap();
        assert_eq!(c.process_id.as_deref(), Some("child"));
        assert_eq!(c.propagate_all_child_variables, Some(false));
        assert_eq!(c.propagate_all_parent_variables, Some(true));
        assert_eq!(c.binding_type, Some(BindingType::VersionTag));
        assert_eq!(c.version_tag.as_deref(), Some("v1"));

        let e = err(
            "callActivity",
            r#"<zeebe:calledElement processId="c" propagateAllChildVariables="no"/>"#,
        );
        assert_eq!(
            e.message,
            "invalid `propagateAllChildVariables` on <zeebe:calledElement>: expected `true` or `false`, found \"no\""
        );
        let e = err(
            "callActivity",
            r#"<zeebe:calledElement processId="c" bindingType="version"/>"#,
        );
        assert_eq!(
            e.message,
            "invalid `bindingType` on <zeebe:calledElement>: expected one of `latest`, `deployment` or `versionTag`, found \"version\""
        );
    }

    #[test]
    fn business_rule_and_script_tasks() {
        let z = ok(
            "businessRuleTask",
            r#"<zeebe:calledDecision decisionId="risk" resultVariable="result" bindingType="deployment"/>"#,
        );
        let d = z.called_decision.unwrap();
        assert_eq!(d.decision_id, "risk");
        assert_eq!(d.result_variable.as_deref(), Some("result"));
        assert_eq!(d.binding_type, Some(BindingType::Deployment));
        let e = err(
            "businessRuleTask",
            r#"<zeebe:calledDecision resultVariable="r"/>"#,
        );
        assert!(e.message.contains("expected `decisionId`"), "{e}");

        let z = ok(
            "scriptTask",
            r#"<zeebe:script expression="=a + b" resultVariable="sum"/>"#,
        );
        let s = z.script.unwrap();
        assert_eq!(s.expression, "=a + b");
        assert_eq!(s.result_variable.as_deref(), Some("sum"));
        let e = err("scriptTask", r#"<zeebe:script resultVariable="sum"/>"#);
        assert!(e.message.contains("expected `expression`"), "{e}");
    }

    #[test]
    fn messages() {
        let z = ok(
            "receiveTask",
            r#"<zeebe:subscription correlationKey="=orderId"/>"#,
        );
        assert_eq!(
            z.subscription.unwrap().correlation_key.as_deref(),
            Some("=orderId")
        );
        let z = ok(
            "sendTask",
            r#"<zeebe:publishMessage correlationKey="=k" messageId="=id" timeToLive="PT1H"/>"#,
        );
        let p = z.publish_message.unwrap();
        assert_eq!(p.correlation_key.as_deref(), Some("=k"));
        assert_eq!(p.message_id.as_deref(), Some("=id"));
        assert_eq!(p.time_to_live.as_deref(), Some("PT1H"));
    }

    #[test]
    fn multi_instance_loop() {
        let defs = parse(
            r#"<serviceTask id="x"><multiInstanceLoopCharacteristics><extensionElements>
                 <zeebe:loopCharacteristics inputCollection="=items" inputElement="item"
                     outputCollection="results" outputElement="=r"/>
               </extensionElements></multiInstanceLoopCharacteristics></serviceTask>"#,
        );
        let activity = node(&defs, "x").as_activity().unwrap();
        let Some(crate::model::LoopCharacteristics::MultiInstance(mi)) =
            &activity.loop_characteristics
        else {
            panic!("expected multi-instance")
        };
        let l = zeebe(&mi.base).unwrap().loop_characteristics.unwrap();
        assert_eq!(l.input_collection.as_deref(), Some("=items"));
        assert_eq!(l.input_element.as_deref(), Some("item"));
        assert_eq!(l.output_collection.as_deref(), Some("results"));
        assert_eq!(l.output_element.as_deref(), Some("=r"));
    }

    #[test]
    fn user_task() {
        let z = ok(
            "userTask",
            r#"<zeebe:userTask/>
               <zeebe:formDefinition formId="invoice-form" bindingType="latest"/>
               <zeebe:assignmentDefinition assignee="=owner" candidateGroups="sales" candidateUsers="a, b"/>
               <zeebe:taskSchedule dueDate="=now() + duration(&quot;P1D&quot;)" followUpDate="2025-01-01T00:00:00Z"/>
               <zeebe:priorityDefinition priority="80"/>
               <zeebe:taskListeners>
                 <zeebe:taskListener eventType="completing" type="audit" retries="2"/>
               </zeebe:taskListeners>"#,
        );
        assert!(z.user_task);
        let f = z.form_definition.unwrap();
        assert_eq!(f.form_id.as_deref(), Some("invoice-form"));
        assert_eq!(f.binding_type, Some(BindingType::Latest));
        let a = z.assignment_definition.unwrap();
        assert_eq!(a.assignee.as_deref(), Some("=owner"));
        assert_eq!(a.candidate_groups.as_deref(), Some("sales"));
        assert_eq!(a.candidate_users.as_deref(), Some("a, b"));
        let s = z.task_schedule.unwrap();
        assert_eq!(s.due_date.as_deref(), Some(r#"=now() + duration("P1D")"#));
        assert_eq!(s.follow_up_date.as_deref(), Some("2025-01-01T00:00:00Z"));
        assert_eq!(
            z.priority_definition.unwrap().priority.as_deref(),
            Some("80")
        );
        assert_eq!(z.task_listeners.len(), 1);
        assert_eq!(z.task_listeners[0].event_type, "completing");
        assert_eq!(z.task_listeners[0].job_type, "audit");

        let plain = ok(
            "userTask",
            r#"<zeebe:formDefinition formKey="camunda-forms:bpmn:f1"/>"#,
        );
        assert!(!plain.user_task);
        assert_eq!(
            plain.form_definition.unwrap().form_key.as_deref(),
            Some("camunda-forms:bpmn:f1")
        );
        let ext = ok(
            "userTask",
            r#"<zeebe:formDefinition externalReference="https://forms.example/a"/>"#,
        );
        assert_eq!(
            ext.form_definition.unwrap().external_reference.as_deref(),
            Some("https://forms.example/a")
        );
    }

    #[test]
    fn execution_listeners() {
        let z = ok(
            "task",
            r#"<zeebe:executionListeners>
                 <zeebe:executionListener eventType="start" type="prepare" retries="3"/>
                 <zeebe:executionListener eventType="end" type="=cleanupType"/>
               </zeebe:executionListeners>"#,
        );
        assert_eq!(z.execution_listeners.len(), 2);
        assert_eq!(z.execution_listeners[0].event_type, ExecutionEvent::Start);
        assert_eq!(z.execution_listeners[0].job_type, "prepare");
        assert_eq!(z.execution_listeners[0].retries.as_deref(), Some("3"));
        assert_eq!(z.execution_listeners[1].event_type, ExecutionEvent::End);

        let e = err(
            "task",
            r#"<zeebe:executionListeners><zeebe:executionListener eventType="take" type="a"/></zeebe:executionListeners>"#,
        );
        assert_eq!(
            e.message,
            "invalid `eventType` on <zeebe:executionListener>: expected one of `start` or `end`, found \"take\""
        );
        let e = err(
            "task",
            r#"<zeebe:executionListeners><zeebe:executionListener eventType="start"/></zeebe:executionListeners>"#,
        );
        assert_eq!(
            e.message,
            "missing attribute on <zeebe:executionListener>: expected `type`, found none"
        );
    }

    #[test]
    fn ad_hoc_sub_process() {
        let z = ok(
            "adHocSubProcess",
            r#"<zeebe:adHoc activeElementsCollection="=tools" outputCollection="results" outputElement="=r"/>"#,
        );
        let a = z.ad_hoc.unwrap();
        assert_eq!(a.active_elements_collection.as_deref(), Some("=tools"));
        assert_eq!(a.output_collection.as_deref(), Some("results"));
        assert_eq!(a.output_element.as_deref(), Some("=r"));
    }

    #[test]
    fn process_level_extensions() {
        let defs = crate::parse(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
                xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
              <process id="p" isExecutable="true"><extensionElements>
                <zeebe:versionTag value="2.1"/>
                <zeebe:userTaskForm id="f1">{ "components": [] }</zeebe:userTaskForm>
                <zeebe:properties><zeebe:property name="team" value="core"/></zeebe:properties>
                <zeebe:linkedResources>
                  <zeebe:linkedResource resourceId="rpa-1" resourceType="RPA" linkName="bot" bindingType="deployment"/>
                </zeebe:linkedResources>
                <zeebe:somethingNew a="b"/>
              </extensionElements></process>
            </definitions>"#,
        )
        .unwrap();
        let z = zeebe(&defs.processes().next().unwrap().base).unwrap();
        assert_eq!(z.version_tag.as_deref(), Some("2.1"));
        assert_eq!(z.user_task_forms.len(), 1);
        assert_eq!(z.user_task_forms[0].id, "f1");
        assert_eq!(z.user_task_forms[0].body, r#"{ "components": [] }"#);
        assert_eq!(z.properties.len(), 1);
        assert_eq!(
            (
                z.properties[0].name.as_str(),
                z.properties[0].value.as_deref()
            ),
            ("team", Some("core"))
        );
        let r = &z.linked_resources[0];
        assert_eq!(r.resource_id.as_deref(), Some("rpa-1"));
        assert_eq!(r.resource_type.as_deref(), Some("RPA"));
        assert_eq!(r.link_name.as_deref(), Some("bot"));
        assert_eq!(r.binding_type, Some(BindingType::Deployment));

        let e = err("task", r#"<zeebe:versionTag/>"#);
        assert_eq!(
            e.message,
            "missing attribute on <zeebe:versionTag>: expected `value`, found none"
        );
    }

    #[test]
    fn camunda_elements_are_not_zeebe() {
        let defs = crate::parse(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
                xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
              <process id="p"><serviceTask id="x"><extensionElements>
                <camunda:taskDefinition/>
              </extensionElements></serviceTask></process>
            </definitions>"#,
        )
        .unwrap();
        assert_eq!(zeebe(&node(&defs, "x").base).unwrap(), Zeebe::default());
    }
}
