//! Well-formed files from every vendor import: what BPMN makes optional may be
//! missing, unknown or misplaced BPMN elements are kept with a warning, and
//! the declared encoding is honoured. Written from the BPMN 2.0 XSD (`id` is
//! optional on every base element) and the shapes other tools export.

use bpmn_models::{
    EventDefinitionKind, FlowElement, FlowNodeKind, RootElement, Severity, parse, validate, write,
};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://example.com/t">"#;

fn doc(body: &str) -> String {
    format!("{HEAD}{body}</definitions>")
}

fn flows(defs: &bpmn_models::Definitions) -> Vec<(String, bool)> {
    defs.processes()
        .flat_map(|p| p.flow_elements.iter())
        .filter_map(|e| match e {
            FlowElement::SequenceFlow(f) => Some((f.id.clone(), f.base.generated_id)),
            _ => None,
        })
        .collect()
}

#[test]
fn elements_without_id_get_stable_ids_that_export_does_not_write() {
    let xml = doc(r#"<process id="P" isExecutable="true">
        <startEvent id="S"/><task id="A"/><endEvent id="E"/>
        <sequenceFlow sourceRef="S" targetRef="A"/>
        <sequenceFlow id="sequenceFlow_2" sourceRef="A" targetRef="E"/>
        <sequenceFlow sourceRef="A" targetRef="E"/>
        <property name="p"/>
      </process><signal name="go"/>"#);
    let defs = parse(&xml).expect("imports");
    // The second generated id would collide with the file's own id: it gets a suffix.
    assert_eq!(
        flows(&defs),
        vec![
            ("sequenceFlow_1".to_string(), true),
            ("sequenceFlow_2".to_string(), false),
            ("sequenceFlow_2_".to_string(), true),
        ]
    );
    assert_eq!(
        parse(&xml).expect("imports again"),
        defs,
        "the same on every import"
    );
    let signal = defs
        .root_elements
        .iter()
        .find_map(|r| match r {
            RootElement::Signal(s) => Some(s),
            _ => None,
        })
        .expect("signal");
    assert_eq!(signal.id, "signal_1");
    assert!(
        validate(&defs)
            .iter()
            .all(|d| d.severity == Severity::Warning)
    );

    let out = write(&defs);
    assert!(
        !out.contains("sequenceFlow_1"),
        "generated ids are not exported:\n{out}"
    );
    assert!(!out.contains("signal_1"), "{out}");
    assert!(out.contains(r#"id="sequenceFlow_2""#), "{out}");
    let again = parse(&out).expect("re-imports");
    assert_eq!(again, defs);
    assert_eq!(flows(&again), flows(&defs), "ids survive the round trip");
}

#[test]
fn operation_ref_inside_a_message_event_definition_is_typed_and_written_back() {
    let xml = doc(r#"<message id="M"/><process id="P">
        <startEvent id="S"><messageEventDefinition messageRef="M"><operationRef>tns:op</operationRef></messageEventDefinition></startEvent>
      </process>"#);
    let defs = parse(&xml).expect("imports");
    assert!(validate(&defs).is_empty(), "{:?}", validate(&defs));
    let p = defs.processes().next().expect("process");
    let FlowElement::FlowNode(n) = &p.flow_elements[0] else {
        panic!("flow node")
    };
    let FlowNodeKind::Event(e) = &n.kind else {
        panic!("event")
    };
    assert!(matches!(
        &e.event_definitions[0].kind,
        EventDefinitionKind::Message { operation_ref: Some(op), .. } if op == "tns:op"
    ));
    let out = write(&defs);
    assert!(
        out.contains("<bpmn:operationRef>tns:op</bpmn:operationRef>"),
        "{out}"
    );
    assert_eq!(parse(&out).expect("re-imports"), defs);
}

#[test]
fn vendor_and_misplaced_bpmn_elements_are_kept_with_warnings() {
    let xml = doc(r#"<dataObject id="DO"/><process id="P">
        <task id="T"><multiInstanceLoopCharacteristics><LoopCounter>3</LoopCounter></multiInstanceLoopCharacteristics></task>
      </process>"#);
    let defs = parse(&xml).expect("imports");
    let diags = validate(&defs);
    let codes: Vec<_> = diags.iter().map(|d| (d.code, d.severity)).collect();
    assert!(codes.contains(&("XML008", Severity::Warning)), "{diags:#?}");
    assert!(codes.contains(&("XML007", Severity::Warning)), "{diags:#?}");
    let misplaced = diags.iter().find(|d| d.code == "XML008").expect("XML008");
    assert!(
        misplaced.message.contains("dataObject"),
        "{}",
        misplaced.message
    );
    assert_eq!(misplaced.span.line, 2);
    let out = write(&defs);
    assert!(
        out.contains("LoopCounter") && out.contains(r#"id="DO""#),
        "{out}"
    );
    assert_eq!(parse(&out).expect("re-imports"), defs);
}

#[test]
fn empty_typed_attributes_count_as_absent_with_a_warning() {
    let xml = doc(
        r#"<process id="P"><task id="T"><standardLoopCharacteristics loopMaximum=""/></task></process>"#,
    );
    let defs = parse(&xml).expect("imports");
    let d = validate(&defs)
        .into_iter()
        .find(|d| d.code == "XML010")
        .expect("a warning");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.element_id.as_deref(), Some("T"));
    assert!(write(&defs).contains(r#"loopMaximum="""#), "kept verbatim");
    // A value that is present but wrong is still refused.
    let bad = doc(r#"<process id="P" isExecutable="maybe"/>"#);
    assert_eq!(parse(&bad).expect_err("refused").code(), "XML010");
}

#[test]
fn missing_references_import_and_fail_validation() {
    let xml = doc(
        r#"<process id="P"><task id="A"/><sequenceFlow id="F" targetRef="A"/></process>
      <bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC">
        <bpmndi:BPMNPlane bpmnElement="P"><bpmndi:BPMNShape bpmnElement="A"><dc:Bounds x="1" y="2" width="3"/></bpmndi:BPMNShape></bpmndi:BPMNPlane>
      </bpmndi:BPMNDiagram>"#,
    );
    let defs = parse(&xml).expect("imports");
    let diags = validate(&defs);
    let xml009: Vec<_> = diags.iter().filter(|d| d.code == "XML009").collect();
    assert_eq!(xml009.len(), 2, "{diags:#?}");
    assert!(xml009.iter().any(|d| d.severity == Severity::Error
        && d.message.contains("`sourceRef`")
        && d.element_id.as_deref() == Some("F")));
    assert!(
        xml009
            .iter()
            .any(|d| d.severity == Severity::Warning && d.message.contains("`height`"))
    );
    assert!(
        !diags.iter().any(|d| d.code == "BPMN002"),
        "reported once: {diags:#?}"
    );
}

#[test]
fn the_declared_encoding_is_decoded() {
    // windows-1252: 0x80 is the euro sign, 0xE4 is ä.
    let mut bytes = br#"<?xml version="1.0" encoding="windows-1252"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t"><process id="P" name="Rechnung kl"#.to_vec();
    bytes.extend([0xE4, b'r', b'e', b'n', b' ', 0x80]);
    bytes.extend(br#""/></definitions>"#);
    let text = bpmn_models::decode(&bytes).expect("decodes");
    let defs = parse(&text).expect("imports");
    assert_eq!(
        defs.processes().next().and_then(|p| p.name.as_deref()),
        Some("Rechnung klären €")
    );
    // ISO-8859-1, in another spelling.
    let latin = b"<?xml version='1.0' encoding='iso-8859-1'?><x a='\xE9'/>";
    assert_eq!(
        bpmn_models::decode(latin).expect("decodes"),
        "<?xml version='1.0' encoding='iso-8859-1'?><x a='é'/>"
    );
    // UTF-16 with a byte order mark.
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("<x/>".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert_eq!(bpmn_models::decode(&utf16).expect("decodes"), "<x/>");
    // Bytes that are not UTF-8 in a file that says (or defaults to) UTF-8 are refused.
    let err = bpmn_models::decode(b"<?xml version=\"1.0\"?><x a=\"\xE4\"/>").expect_err("refused");
    assert_eq!(err.code(), "XML004");
    assert!(err.to_string().contains("byte 27"), "{err}");
    let err = bpmn_models::decode(b"<?xml version=\"1.0\" encoding=\"klingon\"?><x/>")
        .expect_err("refused");
    assert_eq!(err.code(), "XML004");
    assert!(err.to_string().contains("klingon"), "{err}");
}
