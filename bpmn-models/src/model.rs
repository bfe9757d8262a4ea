//! The typed BPMN 2.0 semantic model (OMG BPMN 2.0.2, chapters 8–13).
//!
//! Every struct mirrors one BPMN element or a family of them; attributes
//! that BPMN defaults (e.g. `isForCompensation="false"`) are plain values,
//! attributes whose absence matters are `Option`s. Cross references
//! (`sourceRef`, `attachedToRef`, `messageRef`, …) are kept as the id strings
//! written in the file; [`crate::validate()`] checks that they resolve.
//!
//! Deliberate simplifications:
//! - `flowElement`s and `artifact`s of a container keep their own document
//!   order; export writes all flow elements before all artifacts, as the XSD's
//!   sequence requires.
//! - The BPMN elements listed in [`crate::names::UNMODELED`] (choreography,
//!   conversations, auditing, …) are kept verbatim in [`Base::unmodeled`].

// Model enums mirror BPMN's element kinds; their variants differ in size, but
// models are built once and read many times, so boxing every large variant
// would add indirection on every read for a saving nobody would measure.
#![allow(clippy::large_enum_variant)]

use crate::span::Span;
use crate::xml::{XmlAttribute, XmlElement};

/// What every BPMN element carries besides its own attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Base {
    pub documentation: Vec<Documentation>,
    pub extensions: Extensions,
    /// BPMN elements of [`crate::names::UNMODELED`] found inside this one.
    pub unmodeled: Vec<XmlElement>,
    pub span: Span,
    /// The element had no `id` in the file (the BPMN 2.0 XSD makes `id`
    /// optional); its id was generated from its position
    /// (`<localName>_<n>`, the n-th such element of that name in document
    /// order), so it is the same on every import. Export does not write it.
    pub generated_id: bool,
}

/// `extensionElements` content and foreign-namespace attributes, verbatim.
/// Typed views over them live in [`crate::ext`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extensions {
    /// Attributes outside the BPMN vocabulary (e.g. `camunda:asyncBefore`).
    pub attributes: Vec<XmlAttribute>,
    /// The children of `<extensionElements>`.
    pub elements: Vec<XmlElement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Documentation {
    pub id: Option<String>,
    pub text_format: Option<String>,
    pub text: String,
    pub span: Span,
}

/// `tExpression` / `tFormalExpression`: the body text is kept exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expression {
    pub id: Option<String>,
    /// True when the element was `xsi:type="tFormalExpression"`.
    pub formal: bool,
    pub language: Option<String>,
    pub evaluates_to_type_ref: Option<String>,
    pub body: String,
    pub base: Base,
}

impl Expression {
    /// An expression with just a body, as built in code.
    pub fn new(body: impl Into<String>) -> Self {
        Expression {
            formal: true,
            body: body.into(),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------- definitions

/// The root `<definitions>` element.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Definitions {
    pub id: Option<String>,
    pub name: Option<String>,
    pub target_namespace: String,
    pub expression_language: Option<String>,
    pub type_language: Option<String>,
    pub exporter: Option<String>,
    pub exporter_version: Option<String>,
    pub imports: Vec<Import>,
    pub root_elements: Vec<RootElement>,
    pub diagrams: Vec<BpmnDiagram>,
    /// The namespace declarations of the source root element, reused on export
    /// so that QName values such as `xsd:string` keep resolving.
    pub namespaces: Namespaces,
    pub base: Base,
    /// What the importer accepted with a warning (BPMN elements it does not
    /// know or that stand where BPMN does not allow them, kept verbatim;
    /// missing diagram attributes). [`crate::validate`] reports them.
    pub import_notes: ImportNotes,
}

/// Warnings found while importing. Like [`Span`]s they say where a model
/// came from, not what it is: they always compare equal.
#[derive(Debug, Clone, Default)]
pub struct ImportNotes(pub Vec<crate::validate::Diagnostic>);

impl PartialEq for ImportNotes {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

/// `(prefix, uri)` pairs declared on the root element; an empty prefix is the
/// default namespace. Syntax only: always compares equal.
#[derive(Debug, Clone, Default)]
pub struct Namespaces(pub Vec<(String, String)>);

impl PartialEq for Namespaces {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub namespace: String,
    pub location: String,
    pub import_type: String,
    pub base: Base,
}

/// The elements allowed directly under `<definitions>`, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum RootElement {
    Process(Process),
    Collaboration(Collaboration),
    ItemDefinition(ItemDefinition),
    Message(Message),
    Signal(Signal),
    Error(ErrorDef),
    Escalation(Escalation),
    DataStore(DataStore),
    Resource(Resource),
    Interface(Interface),
    Category(Category),
    /// A reusable event definition referenced by `eventDefinitionRef`.
    EventDefinition(EventDefinition),
    /// A BPMN root element kept verbatim (choreography, globalTask, …).
    Unmodeled(XmlElement),
}

impl RootElement {
    pub fn id(&self) -> Option<&str> {
        match self {
            RootElement::Process(x) => Some(&x.id),
            RootElement::Collaboration(x) => Some(&x.id),
            RootElement::ItemDefinition(x) => Some(&x.id),
            RootElement::Message(x) => Some(&x.id),
            RootElement::Signal(x) => Some(&x.id),
            RootElement::Error(x) => Some(&x.id),
            RootElement::Escalation(x) => Some(&x.id),
            RootElement::DataStore(x) => Some(&x.id),
            RootElement::Resource(x) => Some(&x.id),
            RootElement::Interface(x) => Some(&x.id),
            RootElement::Category(x) => Some(&x.id),
            RootElement::EventDefinition(x) => x.id.as_deref(),
            RootElement::Unmodeled(x) => x.attr("id"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemDefinition {
    pub id: String,
    pub structure_ref: Option<String>,
    pub import_ref: Option<String>,
    pub is_collection: bool,
    /// `Information` or `Physical`; `None` when absent.
    pub item_kind: Option<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub name: Option<String>,
    pub item_ref: Option<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub id: String,
    pub name: Option<String>,
    pub structure_ref: Option<String>,
    pub base: Base,
}

/// `<error>` (named `ErrorDef` to keep `Error` free for error types).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDef {
    pub id: String,
    pub name: Option<String>,
    pub error_code: Option<String>,
    pub structure_ref: Option<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub id: String,
    pub name: Option<String>,
    pub escalation_code: Option<String>,
    pub structure_ref: Option<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataStore {
    pub id: String,
    pub name: Option<String>,
    pub capacity: Option<u64>,
    pub is_unlimited: Option<bool>,
    pub item_subject_ref: Option<String>,
    pub data_state: Option<DataState>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub id: String,
    pub name: Option<String>,
    pub parameters: Vec<ResourceParameter>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceParameter {
    pub id: Option<String>,
    pub name: Option<String>,
    pub type_ref: Option<String>,
    pub is_required: Option<bool>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    pub id: String,
    pub name: Option<String>,
    pub implementation_ref: Option<String>,
    pub operations: Vec<Operation>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub id: String,
    pub name: Option<String>,
    pub implementation_ref: Option<String>,
    pub in_message_ref: Option<String>,
    pub out_message_ref: Option<String>,
    pub error_refs: Vec<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: String,
    pub name: Option<String>,
    pub values: Vec<CategoryValue>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryValue {
    pub id: String,
    pub value: Option<String>,
    pub base: Base,
}

// ---------------------------------------------------------------- process

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    pub id: String,
    pub name: Option<String>,
    /// `None` when the attribute is absent (BPMN leaves it unspecified;
    /// Camunda treats absent as not executable).
    pub is_executable: Option<bool>,
    /// `None`, `Public` or `Private`.
    pub process_type: Option<String>,
    pub is_closed: Option<bool>,
    pub definitional_collaboration_ref: Option<String>,
    pub io_specification: Option<IoSpecification>,
    pub properties: Vec<Property>,
    pub lane_sets: Vec<LaneSet>,
    pub flow_elements: Vec<FlowElement>,
    pub artifacts: Vec<Artifact>,
    pub resource_roles: Vec<ResourceRole>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaneSet {
    pub id: Option<String>,
    pub name: Option<String>,
    pub lanes: Vec<Lane>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub id: String,
    pub name: Option<String>,
    pub partition_element_ref: Option<String>,
    pub flow_node_refs: Vec<String>,
    pub child_lane_set: Option<LaneSet>,
    pub base: Base,
}

/// Everything that can stand in a process or sub-process, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowElement {
    SequenceFlow(SequenceFlow),
    FlowNode(FlowNode),
    DataObject(DataObject),
    DataObjectReference(DataObjectReference),
    DataStoreReference(DataStoreReference),
}

impl FlowElement {
    pub fn id(&self) -> &str {
        match self {
            FlowElement::SequenceFlow(x) => &x.id,
            FlowElement::FlowNode(x) => &x.id,
            FlowElement::DataObject(x) => &x.id,
            FlowElement::DataObjectReference(x) => &x.id,
            FlowElement::DataStoreReference(x) => &x.id,
        }
    }

    pub fn span(&self) -> Span {
        match self {
            FlowElement::SequenceFlow(x) => x.base.span,
            FlowElement::FlowNode(x) => x.base.span,
            FlowElement::DataObject(x) => x.base.span,
            FlowElement::DataObjectReference(x) => x.base.span,
            FlowElement::DataStoreReference(x) => x.base.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SequenceFlow {
    pub id: String,
    pub name: Option<String>,
    pub source_ref: String,
    pub target_ref: String,
    pub is_immediate: Option<bool>,
    pub condition_expression: Option<Expression>,
    pub base: Base,
}

/// An activity, event or gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowNode {
    pub id: String,
    pub name: Option<String>,
    pub incoming: Vec<String>,
    pub outgoing: Vec<String>,
    pub kind: FlowNodeKind,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FlowNodeKind {
    Activity(Box<Activity>),
    Event(Box<Event>),
    Gateway(Gateway),
}

impl FlowNode {
    /// The XML element name of this node (`userTask`, `boundaryEvent`, …).
    pub fn element_name(&self) -> &'static str {
        match &self.kind {
            FlowNodeKind::Activity(a) => a.kind.element_name(),
            FlowNodeKind::Event(e) => e.kind.element_name(),
            FlowNodeKind::Gateway(g) => g.kind.element_name(),
        }
    }

    pub fn as_activity(&self) -> Option<&Activity> {
        match &self.kind {
            FlowNodeKind::Activity(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_event(&self) -> Option<&Event> {
        match &self.kind {
            FlowNodeKind::Event(e) => Some(e),
            _ => None,
        }
    }

    pub fn as_gateway(&self) -> Option<&Gateway> {
        match &self.kind {
            FlowNodeKind::Gateway(g) => Some(g),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------- activities

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub is_for_compensation: bool,
    pub start_quantity: Option<u32>,
    pub completion_quantity: Option<u32>,
    /// The default outgoing sequence flow.
    pub default: Option<String>,
    pub io_specification: Option<IoSpecification>,
    pub properties: Vec<Property>,
    pub data_input_associations: Vec<DataAssociation>,
    pub data_output_associations: Vec<DataAssociation>,
    pub resource_roles: Vec<ResourceRole>,
    pub loop_characteristics: Option<LoopCharacteristics>,
    pub kind: ActivityKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActivityKind {
    Task,
    ManualTask,
    UserTask {
        implementation: Option<String>,
    },
    ServiceTask {
        implementation: Option<String>,
        operation_ref: Option<String>,
    },
    SendTask {
        implementation: Option<String>,
        message_ref: Option<String>,
        operation_ref: Option<String>,
    },
    ReceiveTask {
        implementation: Option<String>,
        instantiate: bool,
        message_ref: Option<String>,
        operation_ref: Option<String>,
    },
    BusinessRuleTask {
        implementation: Option<String>,
    },
    ScriptTask {
        script_format: Option<String>,
        script: Option<Script>,
    },
    SubProcess(SubProcess),
    Transaction {
        sub_process: SubProcess,
        /// `##Compensate`, `##Store`, `##Image` or a URI.
        method: Option<String>,
    },
    AdHocSubProcess {
        sub_process: SubProcess,
        completion_condition: Option<Expression>,
        /// `Parallel` or `Sequential`.
        ordering: Option<String>,
        cancel_remaining_instances: Option<bool>,
    },
    CallActivity {
        called_element: Option<String>,
    },
}

impl ActivityKind {
    pub fn element_name(&self) -> &'static str {
        match self {
            ActivityKind::Task => "task",
            ActivityKind::ManualTask => "manualTask",
            ActivityKind::UserTask { .. } => "userTask",
            ActivityKind::ServiceTask { .. } => "serviceTask",
            ActivityKind::SendTask { .. } => "sendTask",
            ActivityKind::ReceiveTask { .. } => "receiveTask",
            ActivityKind::BusinessRuleTask { .. } => "businessRuleTask",
            ActivityKind::ScriptTask { .. } => "scriptTask",
            ActivityKind::SubProcess(_) => "subProcess",
            ActivityKind::Transaction { .. } => "transaction",
            ActivityKind::AdHocSubProcess { .. } => "adHocSubProcess",
            ActivityKind::CallActivity { .. } => "callActivity",
        }
    }

    /// The inner flow of an embedded sub-process, transaction or ad-hoc sub-process.
    pub fn sub_process(&self) -> Option<&SubProcess> {
        match self {
            ActivityKind::SubProcess(s)
            | ActivityKind::Transaction { sub_process: s, .. }
            | ActivityKind::AdHocSubProcess { sub_process: s, .. } => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub text: String,
    pub span: Span,
}

/// The contents shared by `subProcess`, `transaction` and `adHocSubProcess`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubProcess {
    /// An event sub-process.
    pub triggered_by_event: bool,
    pub lane_sets: Vec<LaneSet>,
    pub flow_elements: Vec<FlowElement>,
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LoopCharacteristics {
    Standard(StandardLoop),
    MultiInstance(MultiInstance),
}

#[derive(Debug, Clone, PartialEq)]
pub struct StandardLoop {
    pub id: Option<String>,
    pub test_before: bool,
    pub loop_maximum: Option<u64>,
    pub loop_condition: Option<Expression>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MultiInstance {
    pub id: Option<String>,
    pub is_sequential: bool,
    /// `None`, `One`, `All` or `Complex` (BPMN default `All`).
    pub behavior: Option<String>,
    pub one_behavior_event_ref: Option<String>,
    pub none_behavior_event_ref: Option<String>,
    pub loop_cardinality: Option<Expression>,
    pub loop_data_input_ref: Option<String>,
    pub loop_data_output_ref: Option<String>,
    pub input_data_item: Option<DataInput>,
    pub output_data_item: Option<DataOutput>,
    pub completion_condition: Option<Expression>,
    pub base: Base,
}

// ---------------------------------------------------------------- data

#[derive(Debug, Clone, PartialEq)]
pub struct DataState {
    pub id: Option<String>,
    pub name: Option<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataObject {
    pub id: String,
    pub name: Option<String>,
    pub item_subject_ref: Option<String>,
    pub is_collection: bool,
    pub data_state: Option<DataState>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataObjectReference {
    pub id: String,
    pub name: Option<String>,
    pub item_subject_ref: Option<String>,
    pub data_object_ref: Option<String>,
    pub data_state: Option<DataState>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataStoreReference {
    pub id: String,
    pub name: Option<String>,
    pub item_subject_ref: Option<String>,
    pub data_store_ref: Option<String>,
    pub data_state: Option<DataState>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub id: String,
    pub name: Option<String>,
    pub item_subject_ref: Option<String>,
    pub data_state: Option<DataState>,
    pub base: Base,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IoSpecification {
    pub id: Option<String>,
    pub data_inputs: Vec<DataInput>,
    pub data_outputs: Vec<DataOutput>,
    pub input_sets: Vec<InputSet>,
    pub output_sets: Vec<OutputSet>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataInput {
    pub id: String,
    pub name: Option<String>,
    pub item_subject_ref: Option<String>,
    pub is_collection: bool,
    pub data_state: Option<DataState>,
    pub base: Base,
}

/// Same shape as [`DataInput`].
pub type DataOutput = DataInput;

#[derive(Debug, Clone, PartialEq)]
pub struct InputSet {
    pub id: Option<String>,
    pub name: Option<String>,
    pub data_input_refs: Vec<String>,
    pub optional_input_refs: Vec<String>,
    pub while_executing_input_refs: Vec<String>,
    pub output_set_refs: Vec<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputSet {
    pub id: Option<String>,
    pub name: Option<String>,
    pub data_output_refs: Vec<String>,
    pub optional_output_refs: Vec<String>,
    pub while_executing_output_refs: Vec<String>,
    pub input_set_refs: Vec<String>,
    pub base: Base,
}

/// `dataInputAssociation` / `dataOutputAssociation`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataAssociation {
    pub id: Option<String>,
    pub source_refs: Vec<String>,
    pub target_ref: Option<String>,
    pub transformation: Option<Expression>,
    pub assignments: Vec<Assignment>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub id: Option<String>,
    pub from: Expression,
    pub to: Expression,
    pub base: Base,
}

/// `performer`, `humanPerformer`, `potentialOwner` or a plain `resourceRole`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRole {
    /// The element name: `resourceRole`, `performer`, `humanPerformer`, `potentialOwner`.
    pub element: ResourceRoleKind,
    pub id: Option<String>,
    pub name: Option<String>,
    pub resource_ref: Option<String>,
    pub assignment: Option<ResourceAssignment>,
    pub base: Base,
}

/// `resourceAssignmentExpression` and the expression inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceAssignment {
    pub id: Option<String>,
    /// True when the inner element is `formalExpression` (else `expression`).
    pub formal_element: bool,
    pub expression: Expression,
    pub base: Base,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceRoleKind {
    ResourceRole,
    Performer,
    HumanPerformer,
    PotentialOwner,
}

impl ResourceRoleKind {
    pub fn element_name(self) -> &'static str {
        match self {
            ResourceRoleKind::ResourceRole => "resourceRole",
            ResourceRoleKind::Performer => "performer",
            ResourceRoleKind::HumanPerformer => "humanPerformer",
            ResourceRoleKind::PotentialOwner => "potentialOwner",
        }
    }
}

// ---------------------------------------------------------------- events

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub parallel_multiple: bool,
    pub properties: Vec<Property>,
    /// Catch events: `dataOutput`s; throw events: `dataInput`s.
    pub data_items: Vec<DataInput>,
    pub data_associations: Vec<DataAssociation>,
    /// Catch events: `outputSet`; throw events: `inputSet` (ids only are kept).
    pub data_set: Option<IoSet>,
    pub event_definitions: Vec<EventDefinition>,
    pub event_definition_refs: Vec<String>,
    pub kind: EventKind,
}

/// The `inputSet`/`outputSet` of an event: which of the two depends on the event.
#[derive(Debug, Clone, PartialEq)]
pub enum IoSet {
    Input(InputSet),
    Output(OutputSet),
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Start {
        is_interrupting: bool,
    },
    End,
    IntermediateCatch,
    IntermediateThrow,
    Boundary {
        attached_to_ref: String,
        cancel_activity: bool,
    },
}

impl EventKind {
    pub fn element_name(&self) -> &'static str {
        match self {
            EventKind::Start { .. } => "startEvent",
            EventKind::End => "endEvent",
            EventKind::IntermediateCatch => "intermediateCatchEvent",
            EventKind::IntermediateThrow => "intermediateThrowEvent",
            EventKind::Boundary { .. } => "boundaryEvent",
        }
    }

    /// Catch events receive data (`dataOutput`), throw events send it (`dataInput`).
    pub fn is_catch(&self) -> bool {
        matches!(
            self,
            EventKind::Start { .. } | EventKind::IntermediateCatch | EventKind::Boundary { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventDefinition {
    pub id: Option<String>,
    pub kind: EventDefinitionKind,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventDefinitionKind {
    Message {
        message_ref: Option<String>,
        operation_ref: Option<String>,
    },
    Timer(TimerDefinition),
    Error {
        error_ref: Option<String>,
    },
    Escalation {
        escalation_ref: Option<String>,
    },
    Signal {
        signal_ref: Option<String>,
    },
    Conditional {
        condition: Option<Expression>,
    },
    Compensate {
        activity_ref: Option<String>,
        wait_for_completion: Option<bool>,
    },
    Cancel,
    Terminate,
    Link {
        name: Option<String>,
        sources: Vec<String>,
        target: Option<String>,
    },
}

impl EventDefinitionKind {
    pub fn element_name(&self) -> &'static str {
        match self {
            EventDefinitionKind::Message { .. } => "messageEventDefinition",
            EventDefinitionKind::Timer(_) => "timerEventDefinition",
            EventDefinitionKind::Error { .. } => "errorEventDefinition",
            EventDefinitionKind::Escalation { .. } => "escalationEventDefinition",
            EventDefinitionKind::Signal { .. } => "signalEventDefinition",
            EventDefinitionKind::Conditional { .. } => "conditionalEventDefinition",
            EventDefinitionKind::Compensate { .. } => "compensateEventDefinition",
            EventDefinitionKind::Cancel => "cancelEventDefinition",
            EventDefinitionKind::Terminate => "terminateEventDefinition",
            EventDefinitionKind::Link { .. } => "linkEventDefinition",
        }
    }
}

/// At most one of the three is meaningful; the XSD allows each once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimerDefinition {
    pub time_date: Option<Expression>,
    pub time_duration: Option<Expression>,
    pub time_cycle: Option<Expression>,
}

// ---------------------------------------------------------------- gateways

#[derive(Debug, Clone, PartialEq)]
pub struct Gateway {
    /// `Unspecified`, `Converging`, `Diverging` or `Mixed`; `None` when absent.
    pub direction: Option<String>,
    pub kind: GatewayKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GatewayKind {
    Exclusive {
        default: Option<String>,
    },
    Inclusive {
        default: Option<String>,
    },
    Parallel,
    EventBased {
        instantiate: bool,
        /// `Exclusive` or `Parallel`; `None` when absent (BPMN default `Exclusive`).
        event_gateway_type: Option<String>,
    },
    Complex {
        default: Option<String>,
        activation_condition: Option<Expression>,
    },
}

impl GatewayKind {
    pub fn element_name(&self) -> &'static str {
        match self {
            GatewayKind::Exclusive { .. } => "exclusiveGateway",
            GatewayKind::Inclusive { .. } => "inclusiveGateway",
            GatewayKind::Parallel => "parallelGateway",
            GatewayKind::EventBased { .. } => "eventBasedGateway",
            GatewayKind::Complex { .. } => "complexGateway",
        }
    }

    pub fn default_flow(&self) -> Option<&str> {
        match self {
            GatewayKind::Exclusive { default }
            | GatewayKind::Inclusive { default }
            | GatewayKind::Complex { default, .. } => default.as_deref(),
            GatewayKind::Parallel | GatewayKind::EventBased { .. } => None,
        }
    }
}

// ---------------------------------------------------------------- artifacts

#[derive(Debug, Clone, PartialEq)]
pub enum Artifact {
    TextAnnotation(TextAnnotation),
    Association(Association),
    Group(Group),
}

impl Artifact {
    pub fn id(&self) -> &str {
        match self {
            Artifact::TextAnnotation(x) => &x.id,
            Artifact::Association(x) => &x.id,
            Artifact::Group(x) => &x.id,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextAnnotation {
    pub id: String,
    pub text_format: Option<String>,
    pub text: Option<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub id: String,
    pub source_ref: String,
    pub target_ref: String,
    /// `None`, `One` or `Both`; `None` when absent.
    pub association_direction: Option<String>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub category_value_ref: Option<String>,
    pub base: Base,
}

// ---------------------------------------------------------------- collaboration

#[derive(Debug, Clone, PartialEq)]
pub struct Collaboration {
    pub id: String,
    pub name: Option<String>,
    pub is_closed: Option<bool>,
    pub participants: Vec<Participant>,
    pub message_flows: Vec<MessageFlow>,
    pub artifacts: Vec<Artifact>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub id: String,
    pub name: Option<String>,
    pub process_ref: Option<String>,
    /// `(minimum, maximum)` of `participantMultiplicity`.
    pub multiplicity: Option<(Option<u32>, Option<u32>)>,
    pub base: Base,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageFlow {
    pub id: String,
    pub name: Option<String>,
    pub source_ref: String,
    pub target_ref: String,
    pub message_ref: Option<String>,
    pub base: Base,
}

// ---------------------------------------------------------------- BPMNDI

#[derive(Debug, Clone, PartialEq)]
pub struct BpmnDiagram {
    pub id: Option<String>,
    pub name: Option<String>,
    pub documentation: Option<String>,
    pub resolution: Option<f64>,
    pub plane: BpmnPlane,
    pub label_styles: Vec<BpmnLabelStyle>,
    pub ext: DiExtras,
}

/// Foreign attributes and unrecognised children of a DI element, verbatim.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiExtras {
    pub attributes: Vec<XmlAttribute>,
    pub elements: Vec<XmlElement>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BpmnPlane {
    pub id: Option<String>,
    pub bpmn_element: Option<String>,
    pub elements: Vec<DiagramElement>,
    pub ext: DiExtras,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DiagramElement {
    Shape(BpmnShape),
    Edge(BpmnEdge),
}

#[derive(Debug, Clone, PartialEq)]
pub struct BpmnShape {
    pub id: Option<String>,
    pub bpmn_element: Option<String>,
    pub is_horizontal: Option<bool>,
    pub is_expanded: Option<bool>,
    pub is_marker_visible: Option<bool>,
    pub is_message_visible: Option<bool>,
    pub participant_band_kind: Option<String>,
    pub choreography_activity_shape: Option<String>,
    pub bounds: Bounds,
    pub label: Option<BpmnLabel>,
    pub ext: DiExtras,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BpmnEdge {
    pub id: Option<String>,
    pub bpmn_element: Option<String>,
    pub source_element: Option<String>,
    pub target_element: Option<String>,
    pub message_visible_kind: Option<String>,
    pub waypoints: Vec<Point>,
    pub label: Option<BpmnLabel>,
    pub ext: DiExtras,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BpmnLabel {
    pub id: Option<String>,
    pub label_style: Option<String>,
    pub bounds: Option<Bounds>,
    pub ext: DiExtras,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BpmnLabelStyle {
    pub id: Option<String>,
    pub font: Option<Font>,
    pub ext: DiExtras,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Font {
    pub name: Option<String>,
    pub size: Option<f64>,
    pub is_bold: Option<bool>,
    pub is_italic: Option<bool>,
    pub is_underline: Option<bool>,
    pub is_strike_through: Option<bool>,
    pub ext: DiExtras,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}
