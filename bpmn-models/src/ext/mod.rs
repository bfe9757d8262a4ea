//! Typed views of the vendor extensions kept verbatim in [`Base::extensions`].
//!
//! The importer stores every `extensionElements` child and every
//! foreign-namespace attribute as raw XML; that raw storage stays the single
//! source of truth and export writes it back unchanged. The functions here are
//! pure decoders over it:
//! - [`camunda::camunda`] decodes the Camunda 7 (Camunda Platform) namespace
//!   `http://camunda.org/schema/1.0/bpmn` (Camunda 7 "Extension Elements" and
//!   "Extension Attributes" reference, camunda-bpmn-moddle descriptor);
//! - [`zeebe::zeebe`] decodes the Camunda 8 namespace
//!   `http://camunda.org/schema/zeebe/1.0` (zeebe-bpmn-moddle descriptor and
//!   the Zeebe BPMN model's `zeebe:` extension elements);
//! - [`execution_platform`] and [`dialect`] read Camunda Modeler's
//!   `modeler:executionPlatform` marker (`http://camunda.org/schema/modeler/1.0`).
//!
//! Decoding is strict about what it models (a malformed boolean, an unknown
//! enumeration value, a missing required attribute is an [`ExtError`] carrying
//! the span of the offending element) and silent about what it does not model
//! (`camunda:formData`, `camunda:potentialStarter`, `zeebe:modelerTemplate`, …
//! stay in the raw model untouched). The Activiti namespace
//! (`http://activiti.org/bpmn`) reads as Camunda 7's, as Camunda 7 reads it.
//!
//! Deliberate deviations:
//! - Booleans are `true` or `false` (surrounding XML whitespace allowed). The
//!   Camunda 7 engine also accepts synonyms such as `yes`/`on`/`enabled`; those
//!   are refused here so that a typo is reported instead of silently read.
//! - An element that may appear once (e.g. `zeebe:taskDefinition`) but appears
//!   several times is read from its first occurrence, as Camunda Modeler does;
//!   the others stay in the raw model.

pub mod camunda;
pub mod zeebe;

use crate::model::*;
use crate::names::{ACTIVITI, CAMUNDA, MODELER, ZEEBE};
use crate::span::Span;
use crate::xml::{XmlAttribute, XmlElement};

/// A malformed extension: what was expected, what was found, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ExtError {
    /// E.g. `invalid camunda:asyncBefore: expected `true` or `false`, found "yes"`.
    pub message: String,
    /// The extension element at fault, or the owning BPMN element for attributes.
    pub span: Span,
    /// The id of the BPMN element the extension belongs to, when known.
    pub element_id: Option<String>,
}

impl ExtError {
    pub fn new(message: impl Into<String>, span: Span) -> Self {
        ExtError {
            message: message.into(),
            span,
            element_id: None,
        }
    }

    /// `invalid {what}: expected {expected}, found "{found}"`.
    pub(crate) fn invalid(what: &str, expected: &str, found: &str, span: Span) -> Self {
        ExtError::new(
            format!("invalid {what}: expected {expected}, found \"{found}\""),
            span,
        )
    }

    /// `missing attribute on <{element}>: expected `{attribute}`, found none`.
    pub(crate) fn missing(element: &str, attribute: &str, span: Span) -> Self {
        ExtError::new(
            format!("missing attribute on <{element}>: expected `{attribute}`, found none"),
            span,
        )
    }

    /// The same error, attributed to the BPMN element with this id.
    pub fn with_element_id(mut self, id: impl Into<String>) -> Self {
        self.element_id = Some(id.into());
        self
    }
}

/// Which Camunda engine a file was modelled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Camunda 7 (Camunda Platform): `camunda:` extensions.
    Camunda7,
    /// Camunda 8 (Camunda Cloud / Zeebe): `zeebe:` extensions.
    Camunda8,
    /// No marker, and neither or both extension namespaces in use.
    Unknown,
}

/// `modeler:executionPlatform` and `modeler:executionPlatformVersion` of the
/// `<definitions>` element, e.g. `("Camunda Cloud", Some("8.5.0"))`.
pub fn execution_platform(defs: &Definitions) -> Option<(String, Option<String>)> {
    let attrs = &defs.base.extensions.attributes;
    let platform = attr_in(attrs, MODELER, "executionPlatform")?;
    let version = attr_in(attrs, MODELER, "executionPlatformVersion");
    Some((
        platform.trim().to_string(),
        version.map(|v| v.trim().to_string()),
    ))
}

/// The dialect of a file: from `modeler:executionPlatform` (`Camunda Platform`
/// is Camunda 7, `Camunda Cloud` is Camunda 8) when present and recognised,
/// otherwise from which of the two extension namespaces is used anywhere in
/// the file, otherwise from which one the root element declares. A file that
/// uses both (or neither, declaring neither or both) is [`Dialect::Unknown`].
pub fn dialect(defs: &Definitions) -> Dialect {
    match execution_platform(defs).as_ref().map(|(p, _)| p.as_str()) {
        Some("Camunda Platform") => return Dialect::Camunda7,
        Some("Camunda Cloud") => return Dialect::Camunda8,
        _ => {}
    }
    match namespaces_used(defs) {
        (true, false) => Dialect::Camunda7,
        (false, true) => Dialect::Camunda8,
        (true, true) => Dialect::Unknown,
        // No element uses either: the namespace the root declares tells
        // which tool wrote the file (Camunda 7's own test files declare
        // `xmlns:camunda` and often use nothing of it).
        (false, false) => {
            let declared = |uri: &str| defs.namespaces.0.iter().any(|(_, u)| u == uri);
            match (declared(CAMUNDA) || declared(ACTIVITI), declared(ZEEBE)) {
                (true, false) => Dialect::Camunda7,
                (false, true) => Dialect::Camunda8,
                _ => Dialect::Unknown,
            }
        }
    }
}

/// Whether any element of the file uses the Camunda 7 (or Activiti) and
/// the Camunda 8 extension namespace.
fn namespaces_used(defs: &Definitions) -> (bool, bool) {
    let (mut camunda, mut zeebe) = (false, false);
    visit_bases(defs, &mut |_, base| {
        camunda |=
            uses_namespace(&base.extensions, CAMUNDA) || uses_namespace(&base.extensions, ACTIVITI);
        zeebe |= uses_namespace(&base.extensions, ZEEBE);
    });
    (camunda, zeebe)
}

/// Whether the file uses a Camunda extension namespace (7, 8 or Activiti)
/// on any element.
pub fn uses_extension_namespaces(defs: &Definitions) -> bool {
    let (camunda, zeebe) = namespaces_used(defs);
    camunda || zeebe
}

/// Decodes the Camunda 7 and Camunda 8 view of every element of the file and
/// returns every error found, each attributed to its element's id.
pub fn check(defs: &Definitions) -> Vec<ExtError> {
    let mut errors = Vec::new();
    visit_bases(defs, &mut |id, base| {
        let attribute = |e: ExtError| match id {
            Some(id) => e.with_element_id(id),
            None => e,
        };
        if let Err(e) = camunda::camunda(base) {
            errors.push(attribute(e));
        }
        if let Err(e) = zeebe::zeebe(base) {
            errors.push(attribute(e));
        }
    });
    errors
}

/// Calls `f` with the id (when it has one) and the [`Base`] of every element
/// of the file that carries one: the definitions, every root element, and
/// everything nested in processes and collaborations (flow elements of
/// sub-processes included, event definitions, loop characteristics, data
/// associations, lanes, artifacts, …). BPMNDI elements carry no `Base`.
pub fn visit_bases(defs: &Definitions, f: &mut dyn FnMut(Option<&str>, &Base)) {
    f(defs.id.as_deref(), &defs.base);
    for import in &defs.imports {
        f(None, &import.base);
    }
    for root in &defs.root_elements {
        visit_root(root, f);
    }
}

fn visit_root(root: &RootElement, f: &mut dyn FnMut(Option<&str>, &Base)) {
    match root {
        RootElement::Process(p) => {
            f(Some(&p.id), &p.base);
            if let Some(io) = &p.io_specification {
                visit_io_specification(io, f);
            }
            visit_properties(&p.properties, f);
            for lane_set in &p.lane_sets {
                visit_lane_set(lane_set, f);
            }
            for role in &p.resource_roles {
                f(role.id.as_deref(), &role.base);
            }
            visit_flow_elements(&p.flow_elements, f);
            visit_artifacts(&p.artifacts, f);
        }
        RootElement::Collaboration(c) => {
            f(Some(&c.id), &c.base);
            for p in &c.participants {
                f(Some(&p.id), &p.base);
            }
            for m in &c.message_flows {
                f(Some(&m.id), &m.base);
            }
            visit_artifacts(&c.artifacts, f);
        }
        RootElement::ItemDefinition(x) => f(Some(&x.id), &x.base),
        RootElement::Message(x) => f(Some(&x.id), &x.base),
        RootElement::Signal(x) => f(Some(&x.id), &x.base),
        RootElement::Error(x) => f(Some(&x.id), &x.base),
        RootElement::Escalation(x) => f(Some(&x.id), &x.base),
        RootElement::DataStore(x) => {
            f(Some(&x.id), &x.base);
            if let Some(state) = &x.data_state {
                f(state.id.as_deref(), &state.base);
            }
        }
        RootElement::Resource(x) => {
            f(Some(&x.id), &x.base);
            for p in &x.parameters {
                f(p.id.as_deref(), &p.base);
            }
        }
        RootElement::Interface(x) => {
            f(Some(&x.id), &x.base);
            for o in &x.operations {
                f(Some(&o.id), &o.base);
            }
        }
        RootElement::Category(x) => {
            f(Some(&x.id), &x.base);
            for v in &x.values {
                f(Some(&v.id), &v.base);
            }
        }
        RootElement::EventDefinition(d) => f(d.id.as_deref(), &d.base),
        RootElement::Unmodeled(_) => {}
    }
}

fn visit_flow_elements(elements: &[FlowElement], f: &mut dyn FnMut(Option<&str>, &Base)) {
    for element in elements {
        match element {
            FlowElement::SequenceFlow(s) => {
                f(Some(&s.id), &s.base);
                if let Some(c) = &s.condition_expression {
                    f(c.id.as_deref(), &c.base);
                }
            }
            FlowElement::FlowNode(n) => visit_flow_node(n, f),
            FlowElement::DataObject(d) => {
                f(Some(&d.id), &d.base);
                if let Some(state) = &d.data_state {
                    f(state.id.as_deref(), &state.base);
                }
            }
            FlowElement::DataObjectReference(d) => {
                f(Some(&d.id), &d.base);
                if let Some(state) = &d.data_state {
                    f(state.id.as_deref(), &state.base);
                }
            }
            FlowElement::DataStoreReference(d) => {
                f(Some(&d.id), &d.base);
                if let Some(state) = &d.data_state {
                    f(state.id.as_deref(), &state.base);
                }
            }
        }
    }
}

fn visit_flow_node(node: &FlowNode, f: &mut dyn FnMut(Option<&str>, &Base)) {
    f(Some(&node.id), &node.base);
    match &node.kind {
        FlowNodeKind::Activity(a) => {
            if let Some(io) = &a.io_specification {
                visit_io_specification(io, f);
            }
            visit_properties(&a.properties, f);
            visit_associations(&a.data_input_associations, f);
            visit_associations(&a.data_output_associations, f);
            for role in &a.resource_roles {
                f(role.id.as_deref(), &role.base);
            }
            match &a.loop_characteristics {
                Some(LoopCharacteristics::Standard(l)) => {
                    f(l.id.as_deref().or(Some(&node.id)), &l.base);
                }
                Some(LoopCharacteristics::MultiInstance(m)) => {
                    f(m.id.as_deref().or(Some(&node.id)), &m.base);
                    if let Some(item) = &m.input_data_item {
                        f(Some(&item.id), &item.base);
                    }
                    if let Some(item) = &m.output_data_item {
                        f(Some(&item.id), &item.base);
                    }
                }
                None => {}
            }
            if let Some(sub) = a.kind.sub_process() {
                for lane_set in &sub.lane_sets {
                    visit_lane_set(lane_set, f);
                }
                visit_flow_elements(&sub.flow_elements, f);
                visit_artifacts(&sub.artifacts, f);
            }
        }
        FlowNodeKind::Event(e) => {
            visit_properties(&e.properties, f);
            for item in &e.data_items {
                f(Some(&item.id), &item.base);
            }
            visit_associations(&e.data_associations, f);
            for d in &e.event_definitions {
                f(d.id.as_deref().or(Some(&node.id)), &d.base);
            }
        }
        FlowNodeKind::Gateway(_) => {}
    }
}

fn visit_io_specification(io: &IoSpecification, f: &mut dyn FnMut(Option<&str>, &Base)) {
    f(io.id.as_deref(), &io.base);
    for d in io.data_inputs.iter().chain(&io.data_outputs) {
        f(Some(&d.id), &d.base);
    }
    for s in &io.input_sets {
        f(s.id.as_deref(), &s.base);
    }
    for s in &io.output_sets {
        f(s.id.as_deref(), &s.base);
    }
}

fn visit_properties(properties: &[Property], f: &mut dyn FnMut(Option<&str>, &Base)) {
    for p in properties {
        f(Some(&p.id), &p.base);
    }
}

fn visit_associations(associations: &[DataAssociation], f: &mut dyn FnMut(Option<&str>, &Base)) {
    for a in associations {
        f(a.id.as_deref(), &a.base);
        for assignment in &a.assignments {
            f(assignment.id.as_deref(), &assignment.base);
        }
    }
}

fn visit_lane_set(lane_set: &LaneSet, f: &mut dyn FnMut(Option<&str>, &Base)) {
    f(lane_set.id.as_deref(), &lane_set.base);
    for lane in &lane_set.lanes {
        f(Some(&lane.id), &lane.base);
        if let Some(child) = &lane.child_lane_set {
            visit_lane_set(child, f);
        }
    }
}

fn visit_artifacts(artifacts: &[Artifact], f: &mut dyn FnMut(Option<&str>, &Base)) {
    for a in artifacts {
        match a {
            Artifact::TextAnnotation(x) => f(Some(&x.id), &x.base),
            Artifact::Association(x) => f(Some(&x.id), &x.base),
            Artifact::Group(x) => f(Some(&x.id), &x.base),
        }
    }
}

fn uses_namespace(ext: &Extensions, namespace: &str) -> bool {
    ext.attributes
        .iter()
        .any(|a| a.namespace.as_deref() == Some(namespace))
        || ext
            .elements
            .iter()
            .any(|e| e.namespace.as_deref() == Some(namespace))
}

// ---------------------------------------------------------------- shared decoding helpers

/// The value of the attribute `name` in `namespace`.
pub(crate) fn attr_in<'a>(
    attrs: &'a [XmlAttribute],
    namespace: &str,
    name: &str,
) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| a.name == name && a.namespace.as_deref() == Some(namespace))
        .map(|a| a.value.as_str())
}

/// XML whitespace (the only whitespace XSD's `collapse` removes).
pub(crate) fn trim_xml(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// An `xsd:boolean` restricted to `true`/`false`; `what` names the attribute
/// in messages (e.g. `camunda:asyncBefore`).
pub(crate) fn parse_bool(value: &str, what: &str, span: Span) -> Result<bool, ExtError> {
    match trim_xml(value) {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ExtError::invalid(what, "`true` or `false`", value, span)),
    }
}

/// An optional boolean attribute.
pub(crate) fn opt_bool(
    value: Option<&str>,
    what: &str,
    span: Span,
) -> Result<Option<bool>, ExtError> {
    value.map(|v| parse_bool(v, what, span)).transpose()
}

/// One of a fixed set of values, mapped through `options`.
pub(crate) fn parse_enum<T: Copy>(
    value: &str,
    what: &str,
    options: &[(&str, T)],
    span: Span,
) -> Result<T, ExtError> {
    let v = trim_xml(value);
    if let Some((_, t)) = options.iter().find(|(name, _)| *name == v) {
        return Ok(*t);
    }
    let names: Vec<String> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
    let expected = match names.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("one of {} or {last}", init.join(", ")),
        [] => "nothing".to_string(),
    };
    Err(ExtError::invalid(what, &expected, value, span))
}

/// A required unqualified attribute of an extension element.
pub(crate) fn required<'a>(
    el: &'a XmlElement,
    qname: &str,
    attribute: &str,
) -> Result<&'a str, ExtError> {
    el.attr(attribute)
        .ok_or_else(|| ExtError::missing(qname, attribute, el.span))
}

/// An optional unqualified attribute, owned.
pub(crate) fn opt(el: &XmlElement, attribute: &str) -> Option<String> {
    el.attr(attribute).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
        xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
        xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
        xmlns:modeler="http://camunda.org/schema/modeler/1.0"
        id="d" targetNamespace="t""#;

    fn defs(attrs: &str, body: &str) -> Definitions {
        crate::parse(&format!("{HEAD} {attrs}>{body}</definitions>")).unwrap()
    }

    #[test]
    fn execution_platform_reads_the_modeler_marker() {
        let d = defs(
            r#"modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.5.0""#,
            "",
        );
        assert_eq!(
            execution_platform(&d),
            Some(("Camunda Cloud".to_string(), Some("8.5.0".to_string())))
        );
        assert_eq!(dialect(&d), Dialect::Camunda8);
        let d = defs(r#"modeler:executionPlatform="Camunda Platform""#, "");
        assert_eq!(
            execution_platform(&d),
            Some(("Camunda Platform".into(), None))
        );
        assert_eq!(dialect(&d), Dialect::Camunda7);
        assert_eq!(execution_platform(&defs("", "")), None);
    }

    #[test]
    fn dialect_falls_back_to_namespace_usage() {
        let c7 = defs(
            "",
            r#"<process id="p"><subProcess id="s"><serviceTask id="t" camunda:class="a.B"/></subProcess></process>"#,
        );
        assert_eq!(dialect(&c7), Dialect::Camunda7);
        let c8 = defs(
            "",
            r#"<process id="p"><serviceTask id="t"><extensionElements>
               <zeebe:taskDefinition type="x"/></extensionElements></serviceTask></process>"#,
        );
        assert_eq!(dialect(&c8), Dialect::Camunda8);
        let both = defs(
            "",
            r#"<process id="p" camunda:versionTag="1"><serviceTask id="t"><extensionElements>
               <zeebe:taskDefinition type="x"/></extensionElements></serviceTask></process>"#,
        );
        assert_eq!(dialect(&both), Dialect::Unknown);
        assert_eq!(dialect(&defs("", r#"<process id="p"/>"#)), Dialect::Unknown);
        // An unrecognised platform name falls back to usage.
        let other = defs(
            r#"modeler:executionPlatform="Something Else""#,
            r#"<process id="p" camunda:versionTag="1"/>"#,
        );
        assert_eq!(dialect(&other), Dialect::Camunda7);
    }

    #[test]
    fn check_attributes_errors_to_their_elements() {
        let d = defs(
            "",
            r#"<process id="p"><subProcess id="s">
                 <userTask id="bad" camunda:asyncBefore="yes"/>
                 <serviceTask id="bad8"><extensionElements>
                   <zeebe:taskDefinition retries="3"/></extensionElements></serviceTask>
                 <task id="ok" camunda:asyncAfter="true"/>
               </subProcess></process>"#,
        );
        let errors = check(&d);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].element_id.as_deref(), Some("bad"));
        assert_eq!(
            errors[0].message,
            r#"invalid camunda:asyncBefore: expected `true` or `false`, found "yes""#
        );
        assert_eq!(errors[0].span.line, 6);
        assert_eq!(errors[1].element_id.as_deref(), Some("bad8"));
        assert_eq!(
            errors[1].message,
            "missing attribute on <zeebe:taskDefinition>: expected `type`, found none"
        );
        assert_eq!(errors[1].span.line, 8);
    }

    #[test]
    fn enums_list_their_options() {
        let e = parse_enum(
            "x",
            "thing",
            &[("a", 1), ("b", 2), ("c", 3)],
            Span::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            r#"invalid thing: expected one of `a`, `b` or `c`, found "x""#
        );
        assert_eq!(
            parse_enum(" b\n", "thing", &[("a", 1), ("b", 2)], Span::default()),
            Ok(2)
        );
    }
}
