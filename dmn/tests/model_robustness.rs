//! Malformed or hostile DMN XML never panics: truncations and byte
//! mutations of a valid model either fail with a positioned error or compile
//! and evaluate to values.

use dmn::{DmnModel, Inputs};

const MODEL: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="m" namespace="urn:m">
  <itemDefinition name="tScore"><typeRef>number</typeRef><allowedValues><text>[0..100]</text></allowedValues></itemDefinition>
  <inputData id="s" name="Score"><variable name="Score" typeRef="tScore"/></inputData>
  <businessKnowledgeModel id="b" name="grade of">
    <variable name="grade of"/>
    <encapsulatedLogic><formalParameter name="x" typeRef="number"/>
      <decisionTable id="t" hitPolicy="FIRST">
        <input><inputExpression><text>x</text></inputExpression></input>
        <output name="g"><defaultOutputEntry><text>"F"</text></defaultOutputEntry></output>
        <rule id="r1"><inputEntry><text>&gt;= 90</text></inputEntry><outputEntry><text>"A"</text></outputEntry></rule>
        <rule id="r2"><inputEntry><text>[50..90)</text></inputEntry><outputEntry><text>"C"</text></outputEntry></rule>
      </decisionTable>
    </encapsulatedLogic>
  </businessKnowledgeModel>
  <decision id="d" name="Grade"><variable name="Grade" typeRef="string"/>
    <informationRequirement><requiredInput href="#s"/></informationRequirement>
    <knowledgeRequirement><requiredKnowledge href="#b"/></knowledgeRequirement>
    <context>
      <contextEntry><variable name="g"/><literalExpression><text>grade of(Score)</text></literalExpression></contextEntry>
      <contextEntry><literalExpression><text>g + (if Score &gt; 95 then "+" else "")</text></literalExpression></contextEntry>
    </context>
  </decision>
  <decisionService id="svc" name="Grading"><variable name="Grading"/><outputDecision href="#d"/><inputData href="#s"/></decisionService>
</definitions>"##;

fn exercise(xml: &str) {
    if let Ok(m) = DmnModel::compile(xml) {
        let mut inputs = Inputs::default();
        inputs.values.put("Score", dmn::Value::int(97));
        for d in m.decision_names() {
            let _ = m.evaluate(&d, &inputs);
        }
        let _ = m.evaluate_service("Grading", &inputs);
    }
}

#[test]
fn the_model_itself_works() {
    let m = DmnModel::compile(MODEL).unwrap();
    let mut inputs = Inputs::default();
    inputs.values.put("Score", dmn::Value::int(97));
    assert_eq!(
        m.evaluate("Grade", &inputs)
            .unwrap()
            .value
            .to_feel_literal(),
        "\"A+\""
    );
    // Outside the allowed values the input is null, so the default applies.
    inputs.values.put("Score", dmn::Value::int(120));
    assert_eq!(
        m.evaluate("Grade", &inputs)
            .unwrap()
            .value
            .to_feel_literal(),
        "\"F\""
    );
}

#[test]
fn every_truncation_is_handled() {
    for end in (0..MODEL.len()).filter(|&i| MODEL.is_char_boundary(i)) {
        exercise(&MODEL[..end]);
    }
}

proptest::proptest! {
    #[test]
    fn byte_mutations_never_panic(pos in 0usize..2000, byte in proptest::sample::select(vec![b'<', b'>', b'"', b'&', b'/', b' ', b'x', b'[', b'(', b'#', b'9'])) {
        let mut bytes = MODEL.as_bytes().to_vec();
        let p = pos % bytes.len();
        bytes[p] = byte;
        if let Ok(s) = String::from_utf8(bytes) {
            exercise(&s);
        }
    }

    #[test]
    fn nesting_bombs_are_rejected(depth in 50usize..3000) {
        let inner = "<context><contextEntry><variable name=\"a\"/>".repeat(depth);
        let close = "</contextEntry></context>".repeat(depth);
        let xml = format!("<definitions name=\"n\" namespace=\"n\"><decision id=\"d\" name=\"d\">{inner}{close}</decision></definitions>");
        exercise(&xml);
    }
}
