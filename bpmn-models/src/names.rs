//! Namespace URIs and the vocabulary of BPMN 2.0 (OMG formal/2011-01-03,
//! Semantic.xsd, BPMNDI.xsd, DC.xsd, DI.xsd).
//!
//! The importer interprets most BPMN elements into typed structs. The names in
//! [`UNMODELED`] are genuine BPMN 2.0 elements that no execution semantics or
//! Camunda tool depends on (choreographies, conversations, auditing, …): they
//! are accepted and kept verbatim. Any other name in the BPMN namespace that the
//! importer does not expect is an "unknown element" error.

pub const BPMN: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
pub const BPMNDI: &str = "http://www.omg.org/spec/BPMN/20100524/DI";
pub const DC: &str = "http://www.omg.org/spec/DD/20100524/DC";
pub const DI: &str = "http://www.omg.org/spec/DD/20100524/DI";
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Camunda 7 (Camunda Platform) extensions.
pub const CAMUNDA: &str = "http://camunda.org/schema/1.0/bpmn";
/// Activiti's extensions, which Camunda 7 reads as its own.
pub const ACTIVITI: &str = "http://activiti.org/bpmn";
/// Camunda 8 (Zeebe) extensions.
pub const ZEEBE: &str = "http://camunda.org/schema/zeebe/1.0";
/// Camunda Modeler's own attributes (`executionPlatform`, …).
pub const MODELER: &str = "http://camunda.org/schema/modeler/1.0";
pub const BIOC: &str = "http://bpmn.io/schema/bpmn/biocolor/1.0";
pub const COLOR: &str = "http://www.omg.org/spec/BPMN/non-normative/color/1.0";

/// The prefixes export uses for well-known namespaces, in declaration order.
pub const STANDARD_PREFIXES: &[(&str, &str)] = &[
    ("bpmn", BPMN),
    ("bpmndi", BPMNDI),
    ("dc", DC),
    ("di", DI),
    ("xsi", XSI),
    ("camunda", CAMUNDA),
    ("zeebe", ZEEBE),
    ("modeler", MODELER),
    ("bioc", BIOC),
    ("color", COLOR),
];

/// BPMN 2.0 elements that are accepted anywhere a BPMN element may appear and
/// kept verbatim rather than interpreted.
pub const UNMODELED: &[&str] = &[
    "auditing",
    "monitoring",
    "categoryValueRef",
    "rendering",
    "supportedInterfaceRef",
    "ioBinding",
    "correspondence",
    "supports",
    "relationship",
    "extension",
    "complexBehaviorDefinition",
    "resourceParameterBinding",
    "correlationKey",
    "correlationSubscription",
    "correlationProperty",
    "correlationPropertyRef",
    "correlationPropertyBinding",
    "correlationPropertyRetrievalExpression",
    "endPoint",
    "endPointRef",
    "partnerEntity",
    "partnerRole",
    "partnerEntityRef",
    "partnerRoleRef",
    "participantAssociation",
    "conversation",
    "subConversation",
    "callConversation",
    "conversationLink",
    "conversationAssociation",
    "messageFlowAssociation",
    "choreography",
    "globalChoreographyTask",
    "globalConversation",
    "choreographyTask",
    "subChoreography",
    "callChoreography",
    "globalTask",
    "globalUserTask",
    "globalManualTask",
    "globalScriptTask",
    "globalBusinessRuleTask",
    "interfaceRef",
    "participantRef",
];
