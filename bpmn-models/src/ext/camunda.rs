//! Typed view of the Camunda 7 extensions (namespace
//! `http://camunda.org/schema/1.0/bpmn`), as documented in the Camunda 7
//! reference ("BPMN 2.0 Implementation Reference" → "Extension Elements" and
//! "Extension Attributes") and the camunda-bpmn-moddle descriptor.
//!
//! [`camunda`] decodes everything one element carries: `camunda:*` attributes
//! of the element itself, and the `camunda:*` children of its
//! `extensionElements`. Which attributes make sense on which BPMN element is
//! the validator's business, not this decoder's: every element gets the same
//! [`Camunda7`] struct, with the fields it does not carry left empty.
//!
//! Modelled: async continuations (`async`, `asyncBefore`, `asyncAfter`,
//! `exclusive`, `jobPriority`, `failedJobRetryTimeCycle`), delegates (`class`,
//! `expression`, `delegateExpression`, `resultVariable`, `type`/`topic`,
//! `taskPriority`, `connector`, `field`), `inputOutput` parameters with text,
//! list, map and script values, call activity `in`/`out` mappings and
//! bindings, business rule task decision references, user task assignment and
//! forms, execution and task listeners (with task listener timeouts),
//! multi-instance `collection`/`elementVariable`, error and escalation event
//! variables, process attributes (`versionTag`, `historyTimeToLive`,
//! `isStartableInTasklist`, `candidateStarterGroups`/`Users`) and `properties`.
//! Not modelled (left in the raw model): `camunda:formData`,
//! `camunda:potentialStarter`, `camunda:errorEventDefinition` (external task
//! error mapping), `camunda:diagramRelationId` and other Modeler bookkeeping.
//!
//! Deliberate deviations from the Camunda 7 engine's parser:
//! - the legacy `camunda:async` is read as `asyncBefore`;
//! - booleans are only `true`/`false` (see [`crate::ext`]);
//! - attribute values that may be expressions (`priority`, `jobPriority`,
//!   `calledElementVersion`, …) are kept as strings, not parsed as integers;
//! - text of `camunda:string` fields and of scripts is kept verbatim, while
//!   expressions, retry cycles and parameter texts are trimmed.

use crate::model::{Base, Extensions};
use crate::names::{ACTIVITI, BPMN, CAMUNDA};
use crate::span::Span;
use crate::xml::XmlElement;

use super::{ExtError, attr_in, opt, opt_bool, parse_bool, parse_enum, required, trim_xml};

/// Everything Camunda 7 says about one BPMN element.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Camunda7 {
    // --- asynchronous continuations and jobs
    /// `camunda:asyncBefore` (or the legacy `camunda:async`).
    pub async_before: bool,
    pub async_after: bool,
    /// `camunda:exclusive`; Camunda's default is `true` (see [`Camunda7::is_exclusive`]).
    pub exclusive: Option<bool>,
    pub job_priority: Option<String>,
    /// Body of `camunda:failedJobRetryTimeCycle`, trimmed.
    pub failed_job_retry_time_cycle: Option<String>,

    // --- delegation (service, send, business rule tasks, message events, script tasks)
    pub class: Option<String>,
    pub expression: Option<String>,
    pub delegate_expression: Option<String>,
    pub result_variable: Option<String>,
    /// `camunda:type`, e.g. `external`.
    pub task_type: Option<String>,
    /// External task topic.
    pub topic: Option<String>,
    pub task_priority: Option<String>,
    /// `camunda:resource` of a script task.
    pub resource: Option<String>,
    pub connector: Option<Connector>,
    pub fields: Vec<Field>,
    pub input_output: Option<InputOutput>,

    // --- call activities
    pub ins: Vec<VariableMapping>,
    pub outs: Vec<VariableMapping>,
    pub called_element_binding: Option<Binding>,
    pub called_element_version: Option<String>,
    pub called_element_version_tag: Option<String>,
    pub called_element_tenant_id: Option<String>,
    pub case_ref: Option<String>,
    pub case_binding: Option<Binding>,
    pub case_version: Option<String>,
    pub case_tenant_id: Option<String>,
    pub variable_mapping_class: Option<String>,
    pub variable_mapping_delegate_expression: Option<String>,

    // --- business rule tasks
    pub decision_ref: Option<String>,
    pub decision_ref_binding: Option<Binding>,
    pub decision_ref_version: Option<String>,
    pub decision_ref_version_tag: Option<String>,
    pub decision_ref_tenant_id: Option<String>,
    pub map_decision_result: Option<MapDecisionResult>,

    // --- user tasks and start events
    pub assignee: Option<String>,
    pub candidate_users: Option<String>,
    pub candidate_groups: Option<String>,
    pub due_date: Option<String>,
    pub follow_up_date: Option<String>,
    pub priority: Option<String>,
    pub form_key: Option<String>,
    pub form_handler_class: Option<String>,
    pub form_ref: Option<String>,
    pub form_ref_binding: Option<Binding>,
    pub form_ref_version: Option<String>,
    /// `camunda:initiator` of a start event.
    pub initiator: Option<String>,

    // --- listeners
    pub execution_listeners: Vec<Listener>,
    pub task_listeners: Vec<Listener>,

    // --- multi-instance loop characteristics
    pub collection: Option<String>,
    pub element_variable: Option<String>,

    // --- event definitions and errors
    pub error_code_variable: Option<String>,
    pub error_message_variable: Option<String>,
    pub escalation_code_variable: Option<String>,
    /// `camunda:errorMessage` of a `bpmn:error`.
    pub error_message: Option<String>,

    // --- processes
    pub version_tag: Option<String>,
    pub history_time_to_live: Option<String>,
    pub is_startable_in_tasklist: Option<bool>,
    pub candidate_starter_groups: Option<String>,
    pub candidate_starter_users: Option<String>,

    /// `camunda:properties`.
    pub properties: Vec<Property>,
}

impl Camunda7 {
    /// `camunda:exclusive` with Camunda's default (`true`) applied.
    pub fn is_exclusive(&self) -> bool {
        self.exclusive.unwrap_or(true)
    }

    /// True when the element is an external task (`camunda:type="external"`).
    pub fn is_external(&self) -> bool {
        self.task_type.as_deref() == Some("external")
    }
}

/// How a call activity, business rule task or form reference picks the
/// version of what it refers to (`*Binding` attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Latest,
    Deployment,
    Version,
    VersionTag,
}

/// `camunda:mapDecisionResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapDecisionResult {
    SingleEntry,
    SingleResult,
    CollectEntries,
    ResultList,
}

/// `camunda:connector`.
#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    pub connector_id: String,
    pub input_output: Option<InputOutput>,
    pub span: Span,
}

/// `camunda:field`: a value injected into a delegate's field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: FieldValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// `stringValue="…"` or `<camunda:string>`.
    String(String),
    /// `expression="…"` or `<camunda:expression>`.
    Expression(String),
}

/// `camunda:inputOutput`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputOutput {
    pub inputs: Vec<Parameter>,
    pub outputs: Vec<Parameter>,
}

/// `camunda:inputParameter` / `camunda:outputParameter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub value: ParamValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Text content (an expression or a constant), trimmed.
    Text(String),
    /// `camunda:list`: its items in order.
    List(Vec<ParamValue>),
    /// `camunda:map`: its entries in order.
    Map(Vec<(String, ParamValue)>),
    Script(Script),
    /// No content: the parameter is `null`.
    None,
}

/// `camunda:script`.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub format: String,
    pub resource: Option<String>,
    /// The script text, verbatim.
    pub text: String,
    pub span: Span,
}

/// `camunda:in` / `camunda:out` of a call activity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariableMapping {
    pub source: Option<String>,
    pub source_expression: Option<String>,
    pub target: Option<String>,
    /// `variables="all"`.
    pub variables_all: bool,
    pub local: bool,
    /// `businessKey` (only meaningful on `camunda:in`).
    pub business_key: Option<String>,
    pub span: Span,
}

/// `camunda:executionListener` / `camunda:taskListener`.
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    /// `start`, `end`, `take` (execution) or `create`, `assignment`,
    /// `complete`, `delete`, `update`, `timeout` (task); checked when present.
    pub event: Option<String>,
    pub implementation: ListenerImpl,
    pub fields: Vec<Field>,
    /// `id` of a task listener (required by Camunda for `timeout` listeners).
    pub id: Option<String>,
    /// The `bpmn:timerEventDefinition`s of a `timeout` task listener.
    pub timeouts: Vec<Timeout>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ListenerImpl {
    Class(String),
    Expression(String),
    DelegateExpression(String),
    Script(Script),
}

/// A task listener's timer, from its `bpmn:timerEventDefinition`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeout {
    pub id: Option<String>,
    pub time_date: Option<String>,
    pub time_duration: Option<String>,
    pub time_cycle: Option<String>,
    pub span: Span,
}

/// `camunda:property` inside `camunda:properties`.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub value: Option<String>,
    pub span: Span,
}

const BINDINGS: &[(&str, Binding)] = &[
    ("latest", Binding::Latest),
    ("deployment", Binding::Deployment),
    ("version", Binding::Version),
    ("versionTag", Binding::VersionTag),
];
/// `caseBinding` and `formRefBinding` have no `versionTag`.
const BINDINGS_NO_TAG: &[(&str, Binding)] = &[
    ("latest", Binding::Latest),
    ("deployment", Binding::Deployment),
    ("version", Binding::Version),
];
const MAP_DECISION_RESULTS: &[(&str, MapDecisionResult)] = &[
    ("singleEntry", MapDecisionResult::SingleEntry),
    ("singleResult", MapDecisionResult::SingleResult),
    ("collectEntries", MapDecisionResult::CollectEntries),
    ("resultList", MapDecisionResult::ResultList),
];
const EXECUTION_EVENTS: &[(&str, ())] = &[("start", ()), ("end", ()), ("take", ())];
const TASK_EVENTS: &[(&str, ())] = &[
    ("create", ()),
    ("assignment", ()),
    ("complete", ()),
    ("delete", ()),
    ("update", ()),
    ("timeout", ()),
];

/// Decodes the Camunda 7 view of one element; errors about attributes carry
/// the element's span, errors about extension elements their own.
pub fn camunda(base: &Base) -> Result<Camunda7, ExtError> {
    camunda_at(&base.extensions, base.span)
}

/// Like [`camunda`], for raw extensions of an element at `span`.
pub fn camunda_at(ext: &Extensions, span: Span) -> Result<Camunda7, ExtError> {
    // Camunda 7 reads the Activiti namespace as its own.
    let a = |name: &str| {
        attr_in(&ext.attributes, CAMUNDA, name).or_else(|| attr_in(&ext.attributes, ACTIVITI, name))
    };
    let s = |name: &str| a(name).map(str::to_string);
    let flag = |name: &str| opt_bool(a(name), &format!("camunda:{name}"), span);
    let binding = |name: &str, options: &[(&str, Binding)]| {
        a(name)
            .map(|v| parse_enum(v, &format!("camunda:{name}"), options, span))
            .transpose()
    };

    let mut out = Camunda7 {
        async_before: flag("asyncBefore")?.or(flag("async")?).unwrap_or(false),
        async_after: flag("asyncAfter")?.unwrap_or(false),
        exclusive: flag("exclusive")?,
        job_priority: s("jobPriority"),
        class: s("class"),
        expression: s("expression"),
        delegate_expression: s("delegateExpression"),
        result_variable: s("resultVariable"),
        task_type: s("type"),
        topic: s("topic"),
        task_priority: s("taskPriority"),
        resource: s("resource"),
        called_element_binding: binding("calledElementBinding", BINDINGS)?,
        called_element_version: s("calledElementVersion"),
        called_element_version_tag: s("calledElementVersionTag"),
        called_element_tenant_id: s("calledElementTenantId"),
        case_ref: s("caseRef"),
        case_binding: binding("caseBinding", BINDINGS_NO_TAG)?,
        case_version: s("caseVersion"),
        case_tenant_id: s("caseTenantId"),
        variable_mapping_class: s("variableMappingClass"),
        variable_mapping_delegate_expression: s("variableMappingDelegateExpression"),
        decision_ref: s("decisionRef"),
        decision_ref_binding: binding("decisionRefBinding", BINDINGS)?,
        decision_ref_version: s("decisionRefVersion"),
        decision_ref_version_tag: s("decisionRefVersionTag"),
        decision_ref_tenant_id: s("decisionRefTenantId"),
        map_decision_result: a("mapDecisionResult")
            .map(|v| parse_enum(v, "camunda:mapDecisionResult", MAP_DECISION_RESULTS, span))
            .transpose()?,
        assignee: s("assignee"),
        candidate_users: s("candidateUsers"),
        candidate_groups: s("candidateGroups"),
        due_date: s("dueDate"),
        follow_up_date: s("followUpDate"),
        priority: s("priority"),
        form_key: s("formKey"),
        form_handler_class: s("formHandlerClass"),
        form_ref: s("formRef"),
        form_ref_binding: binding("formRefBinding", BINDINGS_NO_TAG)?,
        form_ref_version: s("formRefVersion"),
        initiator: s("initiator"),
        collection: s("collection"),
        element_variable: s("elementVariable"),
        error_code_variable: s("errorCodeVariable"),
        error_message_variable: s("errorMessageVariable"),
        escalation_code_variable: s("escalationCodeVariable"),
        error_message: s("errorMessage"),
        version_tag: s("versionTag"),
        history_time_to_live: s("historyTimeToLive"),
        is_startable_in_tasklist: flag("isStartableInTasklist")?,
        candidate_starter_groups: s("candidateStarterGroups"),
        candidate_starter_users: s("candidateStarterUsers"),
        ..Camunda7::default()
    };

    let mut seen_connector = false;
    let mut seen_io = false;
    let mut seen_properties = false;
    let mut seen_retry = false;
    for el in ext.elements.iter().filter(|e| is_camunda(e)) {
        match el.name.as_str() {
            "failedJobRetryTimeCycle" if !seen_retry => {
                seen_retry = true;
                out.failed_job_retry_time_cycle = Some(trim_xml(&el.text()).to_string());
            }
            "connector" if !seen_connector => {
                seen_connector = true;
                out.connector = Some(connector(el)?);
            }
            "inputOutput" if !seen_io => {
                seen_io = true;
                out.input_output = Some(input_output(el)?);
            }
            "properties" if !seen_properties => {
                seen_properties = true;
                out.properties = properties(el)?;
            }
            "field" => out.fields.push(field(el)?),
            "in" => out.ins.push(variable_mapping(el)?),
            "out" => out.outs.push(variable_mapping(el)?),
            "executionListener" => out.execution_listeners.push(listener(el, false)?),
            "taskListener" => out.task_listeners.push(listener(el, true)?),
            _ => {}
        }
    }
    Ok(out)
}

fn is_camunda(el: &XmlElement) -> bool {
    matches!(el.namespace.as_deref(), Some(CAMUNDA | ACTIVITI))
}

fn camunda_children(el: &XmlElement) -> impl Iterator<Item = &XmlElement> {
    el.elements().filter(|e| is_camunda(e))
}

fn unexpected(parent: &str, expected: &str, found: &XmlElement) -> ExtError {
    ExtError::new(
        format!(
            "unexpected element in <{parent}>: expected {expected}, found <camunda:{}>",
            found.name
        ),
        found.span,
    )
}

fn connector(el: &XmlElement) -> Result<Connector, ExtError> {
    let mut connector_id = None;
    let mut io = None;
    for child in camunda_children(el) {
        match child.name.as_str() {
            "connectorId" if connector_id.is_none() => {
                connector_id = Some(trim_xml(&child.text()).to_string());
            }
            "inputOutput" if io.is_none() => io = Some(input_output(child)?),
            _ => {
                return Err(unexpected(
                    "camunda:connector",
                    "one <camunda:connectorId> and at most one <camunda:inputOutput>",
                    child,
                ));
            }
        }
    }
    let connector_id = connector_id.filter(|id| !id.is_empty()).ok_or_else(|| {
        ExtError::new(
            "missing element in <camunda:connector>: expected a non-empty <camunda:connectorId>, found none",
            el.span,
        )
    })?;
    Ok(Connector {
        connector_id,
        input_output: io,
        span: el.span,
    })
}

fn input_output(el: &XmlElement) -> Result<InputOutput, ExtError> {
    let mut io = InputOutput::default();
    for child in camunda_children(el) {
        let list = match child.name.as_str() {
            "inputParameter" => &mut io.inputs,
            "outputParameter" => &mut io.outputs,
            _ => {
                return Err(unexpected(
                    "camunda:inputOutput",
                    "<camunda:inputParameter> or <camunda:outputParameter>",
                    child,
                ));
            }
        };
        let qname = format!("camunda:{}", child.name);
        list.push(Parameter {
            name: required(child, &qname, "name")?.to_string(),
            value: param_value(child, &qname)?,
            span: child.span,
        });
    }
    Ok(io)
}

/// The value held by a parameter, list item or map entry: one definition
/// child (`list`, `map`, `script`), or else its trimmed text.
fn param_value(el: &XmlElement, qname: &str) -> Result<ParamValue, ExtError> {
    let mut children = camunda_children(el);
    let Some(first) = children.next() else {
        let text = el.text();
        let text = trim_xml(&text);
        return Ok(if text.is_empty() {
            ParamValue::None
        } else {
            ParamValue::Text(text.to_string())
        });
    };
    if let Some(second) = children.next() {
        return Err(unexpected(qname, "a single value definition", second));
    }
    definition(first, qname)
}

fn definition(el: &XmlElement, parent: &str) -> Result<ParamValue, ExtError> {
    match el.name.as_str() {
        "list" => camunda_children(el)
            .map(|item| match item.name.as_str() {
                "value" => param_value(item, "camunda:value"),
                _ => definition(item, "camunda:list"),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ParamValue::List),
        "map" => camunda_children(el)
            .map(|entry| {
                if entry.name != "entry" {
                    return Err(unexpected("camunda:map", "<camunda:entry>", entry));
                }
                let key = required(entry, "camunda:entry", "key")?.to_string();
                Ok((key, param_value(entry, "camunda:entry")?))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ParamValue::Map),
        "script" => script(el).map(ParamValue::Script),
        _ => Err(unexpected(
            parent,
            "<camunda:list>, <camunda:map>, <camunda:script> or text",
            el,
        )),
    }
}

fn script(el: &XmlElement) -> Result<Script, ExtError> {
    Ok(Script {
        format: required(el, "camunda:script", "scriptFormat")?.to_string(),
        resource: opt(el, "resource"),
        text: el.text(),
        span: el.span,
    })
}

fn field(el: &XmlElement) -> Result<Field, ExtError> {
    let name = required(el, "camunda:field", "name")?.to_string();
    let mut values = Vec::new();
    if let Some(v) = el.attr("stringValue") {
        values.push(FieldValue::String(v.to_string()));
    }
    if let Some(v) = el.attr("expression") {
        values.push(FieldValue::Expression(trim_xml(v).to_string()));
    }
    for child in camunda_children(el) {
        match child.name.as_str() {
            "string" => values.push(FieldValue::String(child.text())),
            "expression" => {
                values.push(FieldValue::Expression(trim_xml(&child.text()).to_string()));
            }
            _ => {
                return Err(unexpected(
                    "camunda:field",
                    "<camunda:string> or <camunda:expression>",
                    child,
                ));
            }
        }
    }
    if values.len() != 1 {
        let found = if values.is_empty() {
            "none".to_string()
        } else {
            values.len().to_string()
        };
        return Err(ExtError::new(
            format!(
                "invalid camunda:field `{name}`: expected exactly one of `stringValue`, \
                 `expression`, <camunda:string> or <camunda:expression>, found {found}"
            ),
            el.span,
        ));
    }
    Ok(Field {
        name,
        value: values.remove(0),
        span: el.span,
    })
}

fn variable_mapping(el: &XmlElement) -> Result<VariableMapping, ExtError> {
    let qname = format!("camunda:{}", el.name);
    let variables_all = match el.attr("variables") {
        None => false,
        Some(v) if trim_xml(v) == "all" => true,
        Some(v) => {
            return Err(ExtError::invalid(
                &format!("`variables` on <{qname}>"),
                "`all`",
                v,
                el.span,
            ));
        }
    };
    let local = el
        .attr("local")
        .map(|v| parse_bool(v, &format!("`local` on <{qname}>"), el.span))
        .transpose()?
        .unwrap_or(false);
    let m = VariableMapping {
        source: opt(el, "source"),
        source_expression: opt(el, "sourceExpression"),
        target: opt(el, "target"),
        variables_all,
        local,
        business_key: opt(el, "businessKey"),
        span: el.span,
    };
    if m.source.is_some() && m.source_expression.is_some() {
        return Err(ExtError::new(
            format!(
                "invalid <{qname}>: expected either `source` or `sourceExpression`, found both"
            ),
            el.span,
        ));
    }
    if (m.source.is_some() || m.source_expression.is_some()) && m.target.is_none() {
        return Err(ExtError::missing(&qname, "target", el.span));
    }
    if m.source.is_none()
        && m.source_expression.is_none()
        && !m.variables_all
        && m.business_key.is_none()
    {
        return Err(ExtError::new(
            format!(
                "invalid <{qname}>: expected `source`, `sourceExpression`, `variables=\"all\"` \
                 or `businessKey`, found none"
            ),
            el.span,
        ));
    }
    Ok(m)
}

fn listener(el: &XmlElement, task: bool) -> Result<Listener, ExtError> {
    let qname = format!("camunda:{}", el.name);
    let events = if task { TASK_EVENTS } else { EXECUTION_EVENTS };
    if let Some(e) = el.attr("event") {
        parse_enum(e, &format!("`event` on <{qname}>"), events, el.span)?;
    }
    let mut implementations = Vec::new();
    if let Some(v) = el.attr("class") {
        implementations.push(ListenerImpl::Class(trim_xml(v).to_string()));
    }
    if let Some(v) = el.attr("expression") {
        implementations.push(ListenerImpl::Expression(trim_xml(v).to_string()));
    }
    if let Some(v) = el.attr("delegateExpression") {
        implementations.push(ListenerImpl::DelegateExpression(trim_xml(v).to_string()));
    }
    let mut fields = Vec::new();
    let mut timeouts = Vec::new();
    for child in el.elements() {
        if is_camunda(child) {
            match child.name.as_str() {
                "script" => implementations.push(ListenerImpl::Script(script(child)?)),
                "field" => fields.push(field(child)?),
                _ => {
                    return Err(unexpected(
                        &qname,
                        "<camunda:script> or <camunda:field>",
                        child,
                    ));
                }
            }
        } else if task && child.is(BPMN, "timerEventDefinition") {
            timeouts.push(timeout(child));
        }
    }
    if implementations.len() != 1 {
        let found = if implementations.is_empty() {
            "none".to_string()
        } else {
            implementations.len().to_string()
        };
        return Err(ExtError::new(
            format!(
                "invalid <{qname}>: expected exactly one of `class`, `expression`, \
                 `delegateExpression` or <camunda:script>, found {found}"
            ),
            el.span,
        ));
    }
    Ok(Listener {
        event: el.attr("event").map(|e| trim_xml(e).to_string()),
        implementation: implementations.remove(0),
        fields,
        id: opt(el, "id"),
        timeouts,
        span: el.span,
    })
}

fn timeout(el: &XmlElement) -> Timeout {
    let text = |name: &str| {
        el.elements_named(BPMN, name)
            .next()
            .map(|t| trim_xml(&t.text()).to_string())
    };
    Timeout {
        id: opt(el, "id"),
        time_date: text("timeDate"),
        time_duration: text("timeDuration"),
        time_cycle: text("timeCycle"),
        span: el.span,
    }
}

fn properties(el: &XmlElement) -> Result<Vec<Property>, ExtError> {
    camunda_children(el)
        .map(|p| {
            if p.name != "property" {
                return Err(unexpected("camunda:properties", "<camunda:property>", p));
            }
            Ok(Property {
                name: required(p, "camunda:property", "name")?.to_string(),
                value: opt(p, "value"),
                span: p.span,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Definitions, FlowElement};

    fn parse(body: &str) -> Definitions {
        crate::parse(&format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
                xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                xmlns:activiti="http://activiti.org/bpmn"
                xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                id="d" targetNamespace="t"><process id="p" isExecutable="true">{body}</process></definitions>"#
        ))
        .unwrap()
    }

    /// The Camunda view of the flow element `id` (or of the process for `p`).
    fn view(body: &str, id: &str) -> Result<Camunda7, ExtError> {
        let defs = parse(body);
        let process = defs.processes().next().unwrap();
        if id == "p" {
            return camunda(&process.base);
        }
        let base = process
            .flow_elements
            .iter()
            .find_map(|e| match e {
                FlowElement::FlowNode(n) if n.id == id => Some(&n.base),
                FlowElement::SequenceFlow(s) if s.id == id => Some(&s.base),
                _ => None,
            })
            .unwrap();
        camunda(base)
    }

    fn ok(body: &str, id: &str) -> Camunda7 {
        view(body, id).unwrap()
    }

    fn err(body: &str, id: &str) -> ExtError {
        view(body, id).unwrap_err()
    }

    #[test]
    fn async_attributes() {
        let c = ok(
            r#"<serviceTask id="t" camunda:asyncBefore="true" camunda:asyncAfter="false"
                 camunda:exclusive="false" camunda:jobPriority="${prio}"/>"#,
            "t",
        );
        assert!(c.async_before && !c.async_after);
        assert_eq!(c.exclusive, Some(false));
        assert!(!c.is_exclusive());
        assert_eq!(c.job_priority.as_deref(), Some("${prio}"));

        let legacy = ok(r#"<task id="t" camunda:async="true"/>"#, "t");
        assert!(legacy.async_before);
        assert!(legacy.is_exclusive());
        let plain = ok(r#"<task id="t"/>"#, "t");
        assert_eq!(plain, Camunda7::default());
    }

    #[test]
    fn bad_boolean_is_an_error_at_the_element() {
        let e = err(
            r#"<task id="t"
                 camunda:asyncBefore="yes"/>"#,
            "t",
        );
        assert_eq!(
            e.message,
            r#"invalid camunda:asyncBefore: expected `true` or `false`, found "yes""#
        );
        assert_eq!(e.span.line, 5);
        let e = err(r#"<task id="t" camunda:exclusive="TRUE"/>"#, "t");
        assert!(e.message.starts_with("invalid camunda:exclusive"), "{e}");
    }

    #[test]
    fn activiti_namespace_reads_as_camunda() {
        let c = ok(
            r#"<serviceTask id="t" activiti:class="a.B" activiti:async="true"><extensionElements>
                 <activiti:inputOutput><activiti:inputParameter name="x">1</activiti:inputParameter></activiti:inputOutput>
               </extensionElements></serviceTask>"#,
            "t",
        );
        assert_eq!(c.class.as_deref(), Some("a.B"));
        assert!(c.async_before);
        assert_eq!(c.input_output.map(|io| io.inputs.len()), Some(1));
        let e = err(r#"<task id="t" activiti:async="maybe"/>"#, "t");
        assert!(e.message.contains("async"), "{e}");
    }

    #[test]
    fn failed_job_retry_time_cycle() {
        let c = ok(
            r#"<serviceTask id="t" camunda:asyncBefore="true"><extensionElements>
                 <camunda:failedJobRetryTimeCycle> R5/PT5M </camunda:failedJobRetryTimeCycle>
               </extensionElements></serviceTask>"#,
            "t",
        );
        assert_eq!(c.failed_job_retry_time_cycle.as_deref(), Some("R5/PT5M"));
    }

    #[test]
    fn delegates_and_external_tasks() {
        let c = ok(
            r#"<serviceTask id="t" camunda:class="org.acme.Delegate" camunda:resultVariable="r"/>"#,
            "t",
        );
        assert_eq!(c.class.as_deref(), Some("org.acme.Delegate"));
        assert_eq!(c.result_variable.as_deref(), Some("r"));
        let c = ok(
            r#"<serviceTask id="t" camunda:expression="${bean.go()}"/>"#,
            "t",
        );
        assert_eq!(c.expression.as_deref(), Some("${bean.go()}"));
        let c = ok(
            r#"<sendTask id="t" camunda:delegateExpression="${sender}"/>"#,
            "t",
        );
        assert_eq!(c.delegate_expression.as_deref(), Some("${sender}"));
        let c = ok(
            r#"<serviceTask id="t" camunda:type="external" camunda:topic="invoices"
                 camunda:taskPriority="7"/>"#,
            "t",
        );
        assert!(c.is_external());
        assert_eq!(c.topic.as_deref(), Some("invoices"));
        assert_eq!(c.task_priority.as_deref(), Some("7"));
        let c = ok(
            r#"<scriptTask id="t" scriptFormat="groovy" camunda:resource="deployment://a.groovy"
                 camunda:resultVariable="x"/>"#,
            "t",
        );
        assert_eq!(c.resource.as_deref(), Some("deployment://a.groovy"));
    }

    #[test]
    fn fields_from_attributes_and_children() {
        let c = ok(
            r#"<serviceTask id="t" camunda:class="a.B"><extensionElements>
                 <camunda:field name="a" stringValue="Hello"/>
                 <camunda:field name="b" expression="${x}"/>
                 <camunda:field name="c"><camunda:string>  keep me  </camunda:string></camunda:field>
                 <camunda:field name="d"><camunda:expression>
                     ${y}
                 </camunda:expression></camunda:field>
               </extensionElements></serviceTask>"#,
            "t",
        );
        let fields: Vec<(&str, &FieldValue)> = c
            .fields
            .iter()
            .map(|f| (f.name.as_str(), &f.value))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("a", &FieldValue::String("Hello".into())),
                ("b", &FieldValue::Expression("${x}".into())),
                ("c", &FieldValue::String("  keep me  ".into())),
                ("d", &FieldValue::Expression("${y}".into())),
            ]
        );
    }

    #[test]
    fn malformed_fields() {
        let e = err(
            r#"<serviceTask id="t"><extensionElements>
                 <camunda:field stringValue="x"/></extensionElements></serviceTask>"#,
            "t",
        );
        assert_eq!(
            e.message,
            "missing attribute on <camunda:field>: expected `name`, found none"
        );
        assert_eq!(e.span.line, 6);
        let e = err(
            r#"<serviceTask id="t"><extensionElements>
                 <camunda:field name="f" stringValue="x" expression="${y}"/>
               </extensionElements></serviceTask>"#,
            "t",
        );
        assert!(e.message.ends_with("found 2"), "{e}");
        let e = err(
            r#"<serviceTask id="t"><extensionElements>
                 <camunda:field name="f"/></extensionElements></serviceTask>"#,
            "t",
        );
        assert!(
            e.message
                .starts_with("invalid camunda:field `f`: expected exactly one of")
                && e.message.ends_with("found none"),
            "{e}"
        );
    }

    #[test]
    fn input_output_with_all_value_kinds() {
        let c = ok(
            r#"<serviceTask id="t" camunda:class="a.B"><extensionElements>
                 <camunda:inputOutput>
                   <camunda:inputParameter name="text">  ${a} </camunda:inputParameter>
                   <camunda:inputParameter name="empty"/>
                   <camunda:inputParameter name="list">
                     <camunda:list>
                       <camunda:value>one</camunda:value>
                       <camunda:value>${two}</camunda:value>
                       <camunda:list><camunda:value>nested</camunda:value></camunda:list>
                     </camunda:list>
                   </camunda:inputParameter>
                   <camunda:inputParameter name="map">
                     <camunda:map>
                       <camunda:entry key="k1">v1</camunda:entry>
                       <camunda:entry key="k2"><camunda:list><camunda:value>x</camunda:value></camunda:list></camunda:entry>
                       <camunda:entry key="k3"/>
                     </camunda:map>
                   </camunda:inputParameter>
                   <camunda:outputParameter name="out">
                     <camunda:script scriptFormat="javascript">result + 1</camunda:script>
                   </camunda:outputParameter>
                   <camunda:outputParameter name="res">
                     <camunda:script scriptFormat="groovy" resource="classpath://x.groovy"/>
                   </camunda:outputParameter>
                 </camunda:inputOutput>
               </extensionElements></serviceTask>"#,
            "t",
        );
        let io = c.input_output.unwrap();
        let inputs: Vec<(&str, &ParamValue)> = io
            .inputs
            .iter()
            .map(|p| (p.name.as_str(), &p.value))
            .collect();
        assert_eq!(
            inputs,
            vec![
                ("text", &ParamValue::Text("${a}".into())),
                ("empty", &ParamValue::None),
                (
                    "list",
                    &ParamValue::List(vec![
                        ParamValue::Text("one".into()),
                        ParamValue::Text("${two}".into()),
                        ParamValue::List(vec![ParamValue::Text("nested".into())]),
                    ])
                ),
                (
                    "map",
                    &ParamValue::Map(vec![
                        ("k1".into(), ParamValue::Text("v1".into())),
                        (
                            "k2".into(),
                            ParamValue::List(vec![ParamValue::Text("x".into())])
                        ),
                        ("k3".into(), ParamValue::None),
                    ])
                ),
            ]
        );
        assert_eq!(io.outputs.len(), 2);
        let ParamValue::Script(s) = &io.outputs[0].value else {
            panic!("expected a script, found {:?}", io.outputs[0].value)
        };
        assert_eq!(
            (s.format.as_str(), s.text.as_str()),
            ("javascript", "result + 1")
        );
        assert_eq!(s.resource, None);
        let ParamValue::Script(s) = &io.outputs[1].value else {
            panic!("expected a script, found {:?}", io.outputs[1].value)
        };
        assert_eq!(s.resource.as_deref(), Some("classpath://x.groovy"));
    }

    #[test]
    fn malformed_input_output() {
        let e = err(
            r#"<task id="t"><extensionElements><camunda:inputOutput>
                 <camunda:inputParameter>x</camunda:inputParameter>
               </camunda:inputOutput></extensionElements></task>"#,
            "t",
        );
        assert_eq!(
            e.message,
            "missing attribute on <camunda:inputParameter>: expected `name`, found none"
        );
        let e = err(
            r#"<task id="t"><extensionElements><camunda:inputOutput>
                 <camunda:inputParameter name="a"><camunda:list/><camunda:map/></camunda:inputParameter>
               </camunda:inputOutput></extensionElements></task>"#,
            "t",
        );
        assert_eq!(
            e.message,
            "unexpected element in <camunda:inputParameter>: expected a single value definition, found <camunda:map>"
        );
        let e = err(
            r#"<task id="t"><extensionElements><camunda:inputOutput>
                 <camunda:inputParameter name="a"><camunda:script>1</camunda:script></camunda:inputParameter>
               </camunda:inputOutput></extensionElements></task>"#,
            "t",
        );
        assert_eq!(
            e.message,
            "missing attribute on <camunda:script>: expected `scriptFormat`, found none"
        );
        let e = err(
            r#"<task id="t"><extensionElements><camunda:inputOutput>
                 <camunda:inputParameter name="a"><camunda:map><camunda:entry>1</camunda:entry></camunda:map></camunda:inputParameter>
               </camunda:inputOutput></extensionElements></task>"#,
            "t",
        );
        assert_eq!(
            e.message,
            "missing attribute on <camunda:entry>: expected `key`, found none"
        );
        let e = err(
            r#"<task id="t"><extensionElements><camunda:inputOutput>
                 <camunda:parameter name="a"/>
               </camunda:inputOutput></extensionElements></task>"#,
            "t",
        );
        assert!(e.message.ends_with("found <camunda:parameter>"), "{e}");
    }

    #[test]
    fn connector() {
        let c = ok(
            r#"<serviceTask id="t"><extensionElements>
                 <camunda:connector>
                   <camunda:connectorId>http-connector</camunda:connectorId>
                   <camunda:inputOutput>
                     <camunda:inputParameter name="url">https://example.org</camunda:inputParameter>
                     <camunda:outputParameter name="body">${response}</camunda:outputParameter>
                   </camunda:inputOutput>
                 </camunda:connector>
               </extensionElements></serviceTask>"#,
            "t",
        );
        let conn = c.connector.unwrap();
        assert_eq!(conn.connector_id, "http-connector");
        let io = conn.input_output.unwrap();
        assert_eq!(io.inputs[0].name, "url");
        assert_eq!(io.outputs[0].value, ParamValue::Text("${response}".into()));
        assert_eq!(c.input_output, None);

        let e = err(
            r#"<serviceTask id="t"><extensionElements>
                 <camunda:connector/></extensionElements></serviceTask>"#,
            "t",
        );
        assert!(
            e.message
                .starts_with("missing element in <camunda:connector>"),
            "{e}"
        );
    }

    #[test]
    fn call_activity_mappings_and_bindings() {
        let c = ok(
            r##"<callActivity id="c" calledElement="sub" camunda:calledElementBinding="version"
                 camunda:calledElementVersion="3" camunda:calledElementTenantId="t1">
                 <extensionElements>
                   <camunda:in source="a" target="b"/>
                   <camunda:in sourceExpression="${x + 1}" target="y" local="true"/>
                   <camunda:in variables="all"/>
                   <camunda:in businessKey="#{execution.processBusinessKey}"/>
                   <camunda:out source="r" target="result"/>
                 </extensionElements>
               </callActivity>"##,
            "c",
        );
        assert_eq!(c.called_element_binding, Some(Binding::Version));
        assert_eq!(c.called_element_version.as_deref(), Some("3"));
        assert_eq!(c.called_element_tenant_id.as_deref(), Some("t1"));
        assert_eq!(c.ins.len(), 4);
        assert_eq!(c.ins[0].source.as_deref(), Some("a"));
        assert_eq!(c.ins[0].target.as_deref(), Some("b"));
        assert!(!c.ins[0].local);
        assert_eq!(c.ins[1].source_expression.as_deref(), Some("${x + 1}"));
        assert!(c.ins[1].local);
        assert!(c.ins[2].variables_all);
        assert_eq!(
            c.ins[3].business_key.as_deref(),
            Some("#{execution.processBusinessKey}")
        );
        assert_eq!(c.outs[0].target.as_deref(), Some("result"));

        let c = ok(
            r#"<callActivity id="c" camunda:calledElementBinding="versionTag"
                 camunda:calledElementVersionTag="v2"/>"#,
            "c",
        );
        assert_eq!(c.called_element_binding, Some(Binding::VersionTag));
        assert_eq!(c.called_element_version_tag.as_deref(), Some("v2"));
    }

    #[test]
    fn malformed_call_activity() {
        let e = err(
            r#"<callActivity id="c" camunda:calledElementBinding="newest"/>"#,
            "c",
        );
        assert_eq!(
            e.message,
            "invalid camunda:calledElementBinding: expected one of `latest`, `deployment`, \
             `version` or `versionTag`, found \"newest\""
        );
        let e = err(
            r#"<callActivity id="c"><extensionElements><camunda:in source="a"/></extensionElements></callActivity>"#,
            "c",
        );
        assert_eq!(
            e.message,
            "missing attribute on <camunda:in>: expected `target`, found none"
        );
        let e = err(
            r#"<callActivity id="c"><extensionElements><camunda:out variables="some"/></extensionElements></callActivity>"#,
            "c",
        );
        assert_eq!(
            e.message,
            "invalid `variables` on <camunda:out>: expected `all`, found \"some\""
        );
        let e = err(
            r#"<callActivity id="c"><extensionElements><camunda:in variables="all" local="1"/></extensionElements></callActivity>"#,
            "c",
        );
        assert!(
            e.message.starts_with("invalid `local` on <camunda:in>"),
            "{e}"
        );
        let e = err(
            r#"<callActivity id="c"><extensionElements><camunda:in target="x"/></extensionElements></callActivity>"#,
            "c",
        );
        assert!(e.message.ends_with("found none"), "{e}");
    }

    #[test]
    fn business_rule_task() {
        let c = ok(
            r#"<businessRuleTask id="b" camunda:decisionRef="approve" camunda:decisionRefBinding="deployment"
                 camunda:mapDecisionResult="singleEntry" camunda:resultVariable="ok"/>"#,
            "b",
        );
        assert_eq!(c.decision_ref.as_deref(), Some("approve"));
        assert_eq!(c.decision_ref_binding, Some(Binding::Deployment));
        assert_eq!(c.map_decision_result, Some(MapDecisionResult::SingleEntry));
        assert_eq!(c.result_variable.as_deref(), Some("ok"));
        let e = err(
            r#"<businessRuleTask id="b" camunda:mapDecisionResult="single"/>"#,
            "b",
        );
        assert!(e.message.contains("`resultList`, found \"single\""), "{e}");
    }

    #[test]
    fn user_task() {
        let c = ok(
            r#"<userTask id="u" camunda:assignee="${starter}" camunda:candidateUsers="a,b"
                 camunda:candidateGroups="sales" camunda:dueDate="${due}" camunda:followUpDate="P1D"
                 camunda:priority="50" camunda:formKey="embedded:app:forms/a.html"/>"#,
            "u",
        );
        assert_eq!(c.assignee.as_deref(), Some("${starter}"));
        assert_eq!(c.candidate_users.as_deref(), Some("a,b"));
        assert_eq!(c.candidate_groups.as_deref(), Some("sales"));
        assert_eq!(c.due_date.as_deref(), Some("${due}"));
        assert_eq!(c.follow_up_date.as_deref(), Some("P1D"));
        assert_eq!(c.priority.as_deref(), Some("50"));
        assert_eq!(c.form_key.as_deref(), Some("embedded:app:forms/a.html"));
        let c = ok(
            r#"<userTask id="u" camunda:formRef="f" camunda:formRefBinding="version" camunda:formRefVersion="2"/>"#,
            "u",
        );
        assert_eq!(c.form_ref.as_deref(), Some("f"));
        assert_eq!(c.form_ref_binding, Some(Binding::Version));
        let e = err(
            r#"<userTask id="u" camunda:formRefBinding="versionTag"/>"#,
            "u",
        );
        assert!(
            e.message.starts_with("invalid camunda:formRefBinding"),
            "{e}"
        );
    }

    #[test]
    fn listeners() {
        let c = ok(
            r#"<userTask id="u"><extensionElements>
                 <camunda:executionListener event="start" class="a.Start"/>
                 <camunda:executionListener event="end">
                   <camunda:script scriptFormat="groovy">println 'bye'</camunda:script>
                 </camunda:executionListener>
                 <camunda:taskListener event="create" delegateExpression="${l}">
                   <camunda:field name="x" stringValue="1"/>
                 </camunda:taskListener>
                 <camunda:taskListener event="timeout" id="late" expression="${escalate()}">
                   <timerEventDefinition id="tm"><timeDuration xsi:type="tFormalExpression"> PT1H </timeDuration></timerEventDefinition>
                 </camunda:taskListener>
               </extensionElements></userTask>"#,
            "u",
        );
        assert_eq!(c.execution_listeners.len(), 2);
        assert_eq!(c.execution_listeners[0].event.as_deref(), Some("start"));
        assert_eq!(
            c.execution_listeners[0].implementation,
            ListenerImpl::Class("a.Start".into())
        );
        let ListenerImpl::Script(s) = &c.execution_listeners[1].implementation else {
            panic!("expected a script listener")
        };
        assert_eq!(s.text, "println 'bye'");
        assert_eq!(c.task_listeners.len(), 2);
        assert_eq!(c.task_listeners[0].fields[0].name, "x");
        let timeout = &c.task_listeners[1];
        assert_eq!(timeout.id.as_deref(), Some("late"));
        assert_eq!(timeout.timeouts.len(), 1);
        assert_eq!(timeout.timeouts[0].time_duration.as_deref(), Some("PT1H"));
        assert_eq!(timeout.timeouts[0].id.as_deref(), Some("tm"));

        let flow = ok(
            r#"<task id="a"/><task id="b"/>
               <sequenceFlow id="f" sourceRef="a" targetRef="b"><extensionElements>
                 <camunda:executionListener expression="${taken()}"/>
               </extensionElements></sequenceFlow>"#,
            "f",
        );
        assert_eq!(flow.execution_listeners[0].event, None);
    }

    #[test]
    fn malformed_listeners() {
        let e = err(
            r#"<task id="t"><extensionElements>
                 <camunda:executionListener event="create" class="a.B"/>
               </extensionElements></task>"#,
            "t",
        );
        assert_eq!(
            e.message,
            "invalid `event` on <camunda:executionListener>: expected one of `start`, `end` or `take`, found \"create\""
        );
        let e = err(
            r#"<userTask id="t"><extensionElements>
                 <camunda:taskListener event="create"/>
               </extensionElements></userTask>"#,
            "t",
        );
        assert!(e.message.ends_with("found none"), "{e}");
        let e = err(
            r#"<userTask id="t"><extensionElements>
                 <camunda:taskListener event="complete" class="a" expression="${b}"/>
               </extensionElements></userTask>"#,
            "t",
        );
        assert!(e.message.ends_with("found 2"), "{e}");
    }

    #[test]
    fn multi_instance_and_event_definitions() {
        let defs = parse(
            r#"<userTask id="u">
                 <multiInstanceLoopCharacteristics camunda:collection="${items}" camunda:elementVariable="item"
                     camunda:asyncBefore="true"/>
               </userTask>
               <boundaryEvent id="b" attachedToRef="u">
                 <errorEventDefinition camunda:errorCodeVariable="code" camunda:errorMessageVariable="msg"/>
               </boundaryEvent>"#,
        );
        let process = defs.processes().next().unwrap();
        let mut seen = 0;
        for element in &process.flow_elements {
            let FlowElement::FlowNode(node) = element else {
                continue;
            };
            if let Some(activity) = node.as_activity() {
                let Some(crate::model::LoopCharacteristics::MultiInstance(mi)) =
                    &activity.loop_characteristics
                else {
                    panic!("expected multi-instance")
                };
                let c = camunda(&mi.base).unwrap();
                assert_eq!(c.collection.as_deref(), Some("${items}"));
                assert_eq!(c.element_variable.as_deref(), Some("item"));
                assert!(c.async_before);
                seen += 1;
            }
            if let Some(event) = node.as_event() {
                let c = camunda(&event.event_definitions[0].base).unwrap();
                assert_eq!(c.error_code_variable.as_deref(), Some("code"));
                assert_eq!(c.error_message_variable.as_deref(), Some("msg"));
                seen += 1;
            }
        }
        assert_eq!(seen, 2);
    }

    #[test]
    fn process_attributes_and_properties() {
        let defs = crate::parse(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
                xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
              <process id="p" isExecutable="true" camunda:versionTag="1.2" camunda:historyTimeToLive="P30D"
                  camunda:isStartableInTasklist="false" camunda:candidateStarterGroups="g1,g2"
                  camunda:candidateStarterUsers="u1">
                <extensionElements>
                  <camunda:properties>
                    <camunda:property name="owner" value="team-a"/>
                    <camunda:property name="flag"/>
                  </camunda:properties>
                  <camunda:potentialStarter><resourceAssignmentExpression/></camunda:potentialStarter>
                </extensionElements>
                <startEvent id="s" camunda:initiator="starter" camunda:formKey="k"/>
              </process>
            </definitions>"#,
        )
        .unwrap();
        let process = defs.processes().next().unwrap();
        let c = camunda(&process.base).unwrap();
        assert_eq!(c.version_tag.as_deref(), Some("1.2"));
        assert_eq!(c.history_time_to_live.as_deref(), Some("P30D"));
        assert_eq!(c.is_startable_in_tasklist, Some(false));
        assert_eq!(c.candidate_starter_groups.as_deref(), Some("g1,g2"));
        assert_eq!(c.candidate_starter_users.as_deref(), Some("u1"));
        let props: Vec<(&str, Option<&str>)> = c
            .properties
            .iter()
            .map(|p| (p.name.as_str(), p.value.as_deref()))
            .collect();
        assert_eq!(props, vec![("owner", Some("team-a")), ("flag", None)]);
        let FlowElement::FlowNode(start) = &process.flow_elements[0] else {
            panic!("expected the start event")
        };
        let c = camunda(&start.base).unwrap();
        assert_eq!(c.initiator.as_deref(), Some("starter"));
        assert_eq!(c.form_key.as_deref(), Some("k"));

        let e = err(
            r#"<task id="t"><extensionElements><camunda:properties>
                 <camunda:property value="v"/></camunda:properties></extensionElements></task>"#,
            "t",
        );
        assert_eq!(
            e.message,
            "missing attribute on <camunda:property>: expected `name`, found none"
        );
    }
}
