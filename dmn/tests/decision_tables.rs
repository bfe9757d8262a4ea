//! Decision tables, hit policies, audit and the DRG API, driven by small
//! models built in the test.

use dmn::{DmnModel, Inputs, Value};
use serde_json::json;

/// A decision `d` over input `x` (number) with one output, the given hit
/// policy and rules `(input entry, output entry)`.
fn table(
    hit: &str,
    aggregation: Option<&str>,
    rules: &[(&str, &str)],
    output_values: Option<&str>,
) -> String {
    let agg = aggregation
        .map(|a| format!(r#" aggregation="{a}""#))
        .unwrap_or_default();
    let ov = output_values
        .map(|v| format!("<outputValues><text>{v}</text></outputValues>"))
        .unwrap_or_default();
    let rules: String = rules
        .iter()
        .enumerate()
        .map(|(i, (ie, oe))| {
            let ie = ie.replace('<', "&lt;").replace('>', "&gt;");
            format!(
                r#"<rule id="r{}"><inputEntry><text>{ie}</text></inputEntry><outputEntry><text>{oe}</text></outputEntry></rule>"#,
                i + 1
            )
        })
        .collect();
    format!(
        r##"<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="t" namespace="urn:t">
  <inputData id="x" name="x"><variable name="x" typeRef="number"/></inputData>
  <decision id="d" name="d"><variable name="d"/>
    <informationRequirement><requiredInput href="#x"/></informationRequirement>
    <decisionTable id="dt" hitPolicy="{hit}"{agg}>
      <input id="i1"><inputExpression typeRef="number"><text>x</text></inputExpression></input>
      <output id="o1" name="out">{ov}</output>
      {rules}
    </decisionTable>
  </decision>
</definitions>"##
    )
}

fn run(xml: &str, x: i64) -> dmn::Evaluation {
    let m = DmnModel::compile(xml).expect("model compiles");
    assert!(m.diagnostics().is_empty(), "{:?}", m.diagnostics());
    let mut inputs = Inputs::default();
    inputs.values.put("x", Value::int(x));
    m.evaluate("d", &inputs).expect("evaluates")
}

#[test]
fn hit_policies() {
    let rules = [("<5", "\"low\""), ("<10", "\"mid\""), ("-", "\"any\"")];
    let cases: &[(&str, Option<&str>, i64, &str)] = &[
        ("FIRST", None, 3, "\"low\""),
        ("RULE ORDER", None, 3, "[\"low\", \"mid\", \"any\"]"),
        ("COLLECT", None, 7, "[\"mid\", \"any\"]"),
        ("UNIQUE", None, 3, "null"),
        ("ANY", None, 3, "null"),
    ];
    for (hit, agg, x, want) in cases {
        let e = run(&table(hit, *agg, &rules, None), *x);
        assert_eq!(e.value.to_feel_literal(), *want, "{hit} with x = {x}");
    }
    // PRIORITY and OUTPUT ORDER follow the order of the output values.
    let prio = Some("\"any\",\"mid\",\"low\"");
    let e = run(&table("PRIORITY", None, &rules, prio), 3);
    assert_eq!(e.value.to_feel_literal(), "\"any\"");
    let e = run(&table("OUTPUT ORDER", None, &rules, prio), 3);
    assert_eq!(e.value.to_feel_literal(), "[\"any\", \"mid\", \"low\"]");
}

#[test]
fn collect_aggregations() {
    let rules = [("<5", "1"), ("<10", "2"), ("-", "2")];
    let cases = [("SUM", "5"), ("MIN", "1"), ("MAX", "2"), ("COUNT", "2")];
    for (agg, want) in cases {
        let e = run(&table("COLLECT", Some(agg), &rules, None), 3);
        assert_eq!(e.value.to_feel_literal(), want, "C {agg}");
    }
    let e = run(&table("COLLECT", Some("SUM"), &[(">100", "1")], None), 3);
    assert!(e.value.is_null());
    let e = run(&table("COLLECT", Some("COUNT"), &[(">100", "1")], None), 3);
    assert_eq!(e.value.to_feel_literal(), "0");
}

#[test]
fn unique_violation_names_the_rules_and_audit_records_matches() {
    let rules = [("<5", "\"a\""), ("<10", "\"b\""), (">20", "\"c\"")];
    let e = run(&table("UNIQUE", None, &rules, None), 3);
    let reason = e.value.null_reason().expect("null with a reason");
    assert!(reason.contains("r1, r2"), "{reason}");
    assert_eq!(e.audit.len(), 1);
    assert_eq!(e.audit[0].table_id, "dt");
    assert_eq!(
        e.audit[0].matched,
        vec![(0, "r1".to_string()), (1, "r2".to_string())]
    );
    assert_eq!(e.audit[0].violation, Some("UNIQUE"));
    assert_eq!(e.audit[0].annotations.len(), 2);
    let e = run(&table("UNIQUE", None, &rules, None), 30);
    assert_eq!(e.value.to_feel_literal(), "\"c\"");
    assert_eq!(e.audit[0].matched, vec![(2, "r3".to_string())]);
}

const DRG: &str = r##"<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" name="loan" namespace="urn:loan">
  <itemDefinition name="tApplicant">
    <itemComponent name="age"><typeRef>number</typeRef></itemComponent>
    <itemComponent name="birthday"><typeRef>date</typeRef></itemComponent>
  </itemDefinition>
  <itemDefinition name="tRisk"><typeRef>string</typeRef>
    <allowedValues><text>"low","high"</text></allowedValues></itemDefinition>
  <inputData id="a" name="Applicant"><variable name="Applicant" typeRef="tApplicant"/></inputData>
  <inputData id="amt" name="Loan Amount"><variable name="Loan Amount" typeRef="number"/></inputData>
  <businessKnowledgeModel id="bkm" name="risk of">
    <variable name="risk of"/>
    <encapsulatedLogic><formalParameter name="age" typeRef="number"/>
      <decisionTable id="riskTable" hitPolicy="UNIQUE">
        <input><inputExpression><text>age</text></inputExpression></input>
        <output name="risk"/>
        <rule id="young"><inputEntry><text>&lt;25</text></inputEntry><outputEntry><text>"high"</text></outputEntry></rule>
        <rule id="adult"><inputEntry><text>&gt;=25</text></inputEntry><outputEntry><text>"low"</text></outputEntry></rule>
      </decisionTable>
    </encapsulatedLogic>
  </businessKnowledgeModel>
  <decision id="risk" name="Risk"><variable name="Risk" typeRef="tRisk"/>
    <informationRequirement><requiredInput href="#a"/></informationRequirement>
    <knowledgeRequirement><requiredKnowledge href="#bkm"/></knowledgeRequirement>
    <invocation><literalExpression><text>risk of</text></literalExpression>
      <binding><parameter name="age"/><literalExpression><text>Applicant.age</text></literalExpression></binding>
    </invocation>
  </decision>
  <decision id="offer" name="Offer"><variable name="Offer"/>
    <informationRequirement><requiredDecision href="#risk"/></informationRequirement>
    <informationRequirement><requiredInput href="#amt"/></informationRequirement>
    <informationRequirement><requiredInput href="#a"/></informationRequirement>
    <context>
      <contextEntry><variable name="rate"/><literalExpression><text>if Risk = "low" then 0.05 else 0.09</text></literalExpression></contextEntry>
      <contextEntry><variable name="interest"/><literalExpression><text>Loan Amount * rate</text></literalExpression></contextEntry>
      <contextEntry><variable name="born in"/><literalExpression><text>Applicant.birthday.year</text></literalExpression></contextEntry>
    </context>
  </decision>
  <decisionService id="svc" name="Offer Service">
    <variable name="Offer Service"/>
    <outputDecision href="#offer"/><outputDecision href="#risk"/>
    <inputData href="#a"/><inputData href="#amt"/>
  </decisionService>
</definitions>"##;

#[test]
fn drg_with_bkm_context_item_definitions_and_json() {
    let m = DmnModel::compile(DRG).expect("compiles");
    assert!(m.diagnostics().is_empty(), "{:?}", m.diagnostics());
    let input: serde_json::Value = serde_json::from_str(
        r#"{"Applicant": {"age": 30, "birthday": "1994-05-06"}, "Loan Amount": 12345678901234567890.12}"#,
    )
    .unwrap();
    let out = m.evaluate_json("Offer", &input).expect("evaluates");
    assert_eq!(out["born in"], json!(1994));
    assert_eq!(out["interest"].to_string(), "617283945061728394.506");
    let young = json!({"Applicant": {"age": 20, "birthday": "2004-01-01"}, "Loan Amount": 100});
    assert_eq!(m.evaluate_json("Risk", &young).unwrap(), json!("high"));
    // A value outside the allowed values of the input's item definition is null.
    let bad = json!({"Applicant": {"age": "old", "birthday": "2004-01-01"}, "Loan Amount": 100});
    assert_eq!(m.evaluate_json("Risk", &bad).unwrap(), json!(null));
    assert!(m.evaluate_json("Risk", &json!([1])).is_err());
    assert!(m.evaluate_json("No such decision", &young).is_err());
}

#[test]
fn decision_service_with_several_outputs() {
    let m = DmnModel::compile(DRG).expect("compiles");
    let inputs = Inputs::from_json(
        &json!({"Applicant": {"age": 40, "birthday": "1984-01-01"}, "Loan Amount": 1000}),
    )
    .unwrap();
    let e = m
        .evaluate_service("Offer Service", &inputs)
        .expect("evaluates");
    let j = e.value.to_json();
    assert_eq!(j["Risk"], json!("low"));
    assert_eq!(j["Offer"]["interest"].to_string(), "50");
    assert_eq!(e.audit[0].table_id, "riskTable");
    assert_eq!(e.audit[0].matched, vec![(1, "adult".to_string())]);
}

#[test]
fn model_errors_have_positions_and_codes() {
    let e = DmnModel::compile("<definitions>\n<decision/></definitions>").unwrap_err();
    assert_eq!((e.code, e.line), ("DMN004", 2));
    assert!(
        e.to_string()
            .contains("expected a non-empty 'name' attribute")
    );
    let m = DmnModel::compile(
        r#"<definitions><decision id="d" name="d"><literalExpression><text>1 +</text></literalExpression></decision></definitions>"#,
    )
    .unwrap();
    assert_eq!(m.diagnostics()[0].code, "DMN100");
    let v = m.evaluate("d", &Inputs::default()).unwrap().value;
    assert!(
        v.null_reason()
            .unwrap()
            .contains("expected an expression, found end of input")
    );
}

fn chain(n: usize) -> String {
    let mut xml = String::from(
        r#"<definitions name="c" namespace="urn:c"><decision id="d0" name="d0"><literalExpression><text>0</text></literalExpression></decision>"#,
    );
    for i in 1..n {
        xml.push_str(&format!(
            r##"<decision id="d{i}" name="d{i}"><informationRequirement><requiredDecision href="#d{}"/></informationRequirement><literalExpression><text>d{} + 1</text></literalExpression></decision>"##,
            i - 1,
            i - 1
        ));
    }
    xml.push_str("</definitions>");
    xml
}

#[test]
fn long_requirement_chains_evaluate_and_absurd_ones_fail_cleanly() {
    let m = DmnModel::compile(&chain(60)).unwrap();
    let v = m.evaluate("d59", &Inputs::default()).unwrap().value;
    assert_eq!(v.to_feel_literal(), "59");
    let m = DmnModel::compile(&chain(2000)).unwrap();
    assert!(m.evaluate("d1999", &Inputs::default()).is_err());
}

#[test]
fn self_referencing_item_definitions_compile() {
    let xml = r#"<definitions name="t" namespace="urn:t">
      <itemDefinition name="tNode">
        <itemComponent name="left"><typeRef>tNode</typeRef></itemComponent>
        <itemComponent name="right"><typeRef>tNode</typeRef></itemComponent>
        <itemComponent name="value"><typeRef>number</typeRef></itemComponent>
      </itemDefinition>
      <inputData id="n" name="n"><variable name="n" typeRef="tNode"/></inputData>
      <decision id="d" name="d"><informationRequirement><requiredInput href="&#35;n"/></informationRequirement>
        <literalExpression><text>n.value</text></literalExpression></decision>
    </definitions>"#;
    let start = std::time::Instant::now();
    let m = DmnModel::compile(xml).unwrap();
    assert!(start.elapsed().as_secs() < 2);
    let out = m
        .evaluate_json("d", &json!({"n": {"value": 1, "left": null, "right": {"value": 2, "left": null, "right": null}}}))
        .unwrap();
    assert_eq!(out, json!(1));
}

#[test]
fn dmn11_qualified_type_names_and_camunda_types() {
    let xml = r##"<definitions xmlns="http://www.omg.org/spec/DMN/20151101/dmn.xsd" xmlns:feel="http://www.omg.org/spec/FEEL/20140401" xmlns:tns="urn:x" name="old" namespace="urn:x">
      <itemDefinition name="tAge"><typeRef>feel:number</typeRef></itemDefinition>
      <inputData id="a" name="Age"><variable name="Age" typeRef="tns:tAge"/></inputData>
      <inputData id="n" name="Count"><variable name="Count" typeRef="integer"/></inputData>
      <decision id="d" name="Adult"><variable name="Adult" typeRef="feel:boolean"/>
        <informationRequirement><requiredInput href="#a"/></informationRequirement>
        <informationRequirement><requiredInput href="#n"/></informationRequirement>
        <decisionTable id="t"><input><inputExpression typeRef="double"><text>Age</text></inputExpression></input>
          <output name="r" typeRef="boolean"/>
          <rule id="r1"><inputEntry><text>&gt;= 18</text></inputEntry><outputEntry><text>Count &gt; 0</text></outputEntry></rule>
          <rule id="r2"><inputEntry><text>&lt; 18</text></inputEntry><outputEntry><text>false</text></outputEntry></rule>
        </decisionTable></decision></definitions>"##;
    let m = DmnModel::compile(xml).unwrap();
    assert!(m.diagnostics().is_empty(), "{:?}", m.diagnostics());
    assert_eq!(
        m.evaluate_json("Adult", &json!({"Age": 30, "Count": 2}))
            .unwrap(),
        json!(true)
    );
    // A string where a number is declared does not conform: null input, no rule matches.
    assert_eq!(
        m.evaluate_json("Adult", &json!({"Age": "x", "Count": 2}))
            .unwrap(),
        json!(null)
    );
}

#[test]
fn non_feel_expression_languages_are_reported() {
    let xml = r##"<definitions name="c" namespace="urn:c">
      <inputData id="a" name="a"><variable name="a" typeRef="number"/></inputData>
      <decision id="d" name="d"><informationRequirement><requiredInput href="#a"/></informationRequirement>
        <decisionTable id="t" hitPolicy="FIRST">
          <input><inputExpression expressionLanguage="juel" typeRef="number"><text>${a * 2}</text></inputExpression></input>
          <output name="o"/>
          <rule id="r"><inputEntry><text>-</text></inputEntry><outputEntry><text>1</text></outputEntry></rule>
        </decisionTable></decision>
      <decision id="e" name="e"><literalExpression expressionLanguage="https://www.omg.org/spec/DMN/20191111/FEEL/"><text>2</text></literalExpression></decision>
    </definitions>"##;
    let m = DmnModel::compile(xml).unwrap();
    assert_eq!(m.diagnostics().len(), 1);
    assert_eq!(m.diagnostics()[0].code, "DMN105");
    assert!(
        m.diagnostics()[0]
            .message
            .contains("found expression language 'juel'")
    );
    assert_eq!(m.evaluate_json("e", &json!({})).unwrap(), json!(2));
}

#[test]
fn trivial_juel_entries_read_as_feel() {
    let xml = r##"<definitions name="c" namespace="urn:c">
      <inputData id="a" name="a"><variable name="a" typeRef="number"/></inputData>
      <decision id="d" name="d"><informationRequirement><requiredInput href="#a"/></informationRequirement>
        <decisionTable id="t" hitPolicy="FIRST">
          <input><inputExpression expressionLanguage="juel" typeRef="number"><text>${a}</text></inputExpression></input>
          <output name="o"/>
          <rule id="r1"><inputEntry expressionLanguage="juel"><text>${5}</text></inputEntry><outputEntry expressionLanguage="juel"><text>'five'</text></outputEntry></rule>
          <rule id="r2"><inputEntry><text>-</text></inputEntry><outputEntry><text>"other"</text></outputEntry></rule>
        </decisionTable></decision>
    </definitions>"##;
    let m = DmnModel::compile(xml).unwrap();
    assert!(m.diagnostics().is_empty(), "{:?}", m.diagnostics());
    assert_eq!(
        m.evaluate_json("d", &json!({"a": 5})).unwrap(),
        json!("five")
    );
    assert_eq!(
        m.evaluate_json("d", &json!({"a": 6})).unwrap(),
        json!("other")
    );
}

#[test]
fn audit_carries_rule_annotations() {
    let xml = r##"<definitions name="c" namespace="urn:c">
      <inputData id="a" name="a"><variable name="a" typeRef="number"/></inputData>
      <decision id="d" name="d"><informationRequirement><requiredInput href="#a"/></informationRequirement>
        <decisionTable id="t" hitPolicy="UNIQUE">
          <input><inputExpression><text>a</text></inputExpression></input>
          <output name="o"/>
          <annotation name="why"/>
          <rule id="small"><inputEntry><text>&lt;10</text></inputEntry><outputEntry><text>"s"</text></outputEntry><annotationEntry><text>below ten</text></annotationEntry></rule>
          <rule id="big"><inputEntry><text>&gt;=10</text></inputEntry><outputEntry><text>"b"</text></outputEntry><annotationEntry><text>ten or more</text></annotationEntry></rule>
        </decisionTable></decision>
    </definitions>"##;
    let m = DmnModel::compile(xml).unwrap();
    let mut inputs = Inputs::default();
    inputs.values.put("a", Value::int(12));
    let e = m.evaluate("d", &inputs).unwrap();
    assert_eq!(e.value.to_feel_literal(), "\"b\"");
    assert_eq!(e.audit[0].matched, vec![(1, "big".to_string())]);
    assert_eq!(
        e.audit[0].annotations,
        vec![vec![("why".to_string(), "ten or more".to_string())]]
    );
}

#[test]
fn camunda_style_free_variables_are_opt_in() {
    // No inputData: the table reads the variable `amount` directly.
    let xml = r#"<definitions name="c" namespace="urn:c">
      <decision id="d" name="approval">
        <decisionTable id="t" hitPolicy="FIRST">
          <input><inputExpression typeRef="number"><text>amount</text></inputExpression></input>
          <output name="ok" typeRef="boolean"/>
          <rule id="r1"><inputEntry><text>&lt;= 1000</text></inputEntry><outputEntry><text>true</text></outputEntry></rule>
          <rule id="r2"><inputEntry><text>-</text></inputEntry><outputEntry><text>false</text></outputEntry></rule>
        </decisionTable></decision></definitions>"#;
    let m = DmnModel::compile(xml).unwrap();
    let strict = Inputs::from_json(&json!({"amount": 500})).unwrap();
    // Spec scoping: `amount` is not a requirement, so it is null and only the catch-all matches.
    assert_eq!(
        m.evaluate("approval", &strict).unwrap().value.to_json(),
        json!(false)
    );
    let free = strict.with_free_variables();
    assert_eq!(
        m.evaluate("approval", &free).unwrap().value.to_json(),
        json!(true)
    );
}
