//! Data-driven diagnostics tests. Each file in `fixtures/invalid/` is named
//! after the validation code it must produce (`BPMN012-crossing-flow.bpmn`);
//! each file in `fixtures/malformed/` after the import error code
//! (`XML003-billion-laughs.bpmn`). Every diagnostic must carry a position.

use std::path::{Path, PathBuf};

fn dir(name: &str) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bpmn"))
        .collect();
    v.sort();
    v
}

fn expected_code(p: &Path) -> String {
    let name = p.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
    name.split('-').next().expect("code prefix").to_string()
}

#[test]
fn each_invalid_fixture_reports_its_code_with_a_position() {
    let files = dir("invalid");
    assert!(files.len() >= 20, "found {} invalid fixtures", files.len());
    for f in files {
        let code = expected_code(&f);
        let text = std::fs::read_to_string(&f).expect("readable");
        let defs = bpmn_models::parse(&text)
            .unwrap_or_else(|e| panic!("{}: must import, got {e}", f.display()));
        let diags = bpmn_models::validate(&defs);
        let hit = diags
            .iter()
            .find(|d| d.code == code)
            .unwrap_or_else(|| panic!("{}: expected {code}, got {diags:#?}", f.display()));
        assert!(hit.span.line > 0, "{}: {code} has no line", f.display());
        assert!(
            hit.element_id.is_some(),
            "{}: {code} names no element",
            f.display()
        );
        assert!(
            hit.message.contains("expected") || hit.message.contains("cannot be reached"),
            "{}: message should say what was expected: {}",
            f.display(),
            hit.message
        );
    }
}

#[test]
fn valid_fixtures_have_no_errors() {
    for f in dir("bpmn") {
        let text = std::fs::read_to_string(&f).expect("readable");
        let defs = bpmn_models::parse(&text).expect("imports");
        let errors: Vec<_> = bpmn_models::validate(&defs)
            .into_iter()
            .filter(|d| d.severity == bpmn_models::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
    }
}

#[test]
fn each_malformed_fixture_fails_with_its_code() {
    let files = dir("malformed");
    assert!(
        files.len() >= 10,
        "found {} malformed fixtures",
        files.len()
    );
    for f in files {
        let code = expected_code(&f);
        let bytes = std::fs::read(&f).expect("readable");
        let err = bpmn_models::decode(&bytes)
            .and_then(|text| bpmn_models::parse(&text).map(|_| ()))
            .expect_err("malformed input must not import");
        assert_eq!(err.code(), code, "{}: {err}", f.display());
        if code != "XML004" {
            let span = err
                .span()
                .unwrap_or_else(|| panic!("{}: no position", f.display()));
            assert!(span.line > 0, "{}: no line in {err}", f.display());
        }
    }
}

#[test]
fn unknown_element_is_kept_with_a_warning_naming_line_column_and_enclosing_id() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/invalid/XML007-unknown-element.bpmn"),
    )
    .expect("readable");
    let defs = bpmn_models::parse(&text).expect("a vendor's element does not stop the import");
    let d = bpmn_models::validate(&defs)
        .into_iter()
        .find(|d| d.code == "XML007")
        .expect("a warning");
    assert_eq!(d.severity, bpmn_models::Severity::Warning);
    assert_eq!((d.span.line, d.span.column), (4, 5));
    assert_eq!(d.element_id.as_deref(), Some("P"));
    assert!(d.message.contains("bpmn:superTask"), "{}", d.message);
    // Kept verbatim: export writes it back.
    let out = bpmn_models::write(&defs);
    assert!(out.contains("superTask"), "{out}");
    assert_eq!(bpmn_models::parse(&out).expect("re-imports"), defs);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let mut xml = String::from(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><extensionElements>"#,
    );
    for _ in 0..depth {
        xml.push_str("<x:a xmlns:x=\"urn:x\">");
    }
    for _ in 0..depth {
        xml.push_str("</x:a>");
    }
    xml.push_str("</extensionElements></definitions>");
    let err = bpmn_models::parse(&xml).expect_err("too deep");
    assert_eq!(err.code(), "XML002", "{err}");
}

#[test]
fn oversized_input_is_refused() {
    let opts = bpmn_models::ParseOptions {
        max_size: 1000,
        ..Default::default()
    };
    let xml = bpmn_models::synth::large_process(50);
    let err = bpmn_models::parse_with(&xml, &opts).expect_err("too large");
    assert_eq!(err.code(), "XML001");
    assert!(err.to_string().contains("1000"), "{err}");
}

#[test]
fn truncated_prefixes_of_a_real_file_never_panic() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/bpmn/order-c8.bpmn"),
    )
    .expect("readable");
    let mut cut = 0;
    while cut < text.len() {
        if text.is_char_boundary(cut) {
            let _ = bpmn_models::parse(&text[..cut]);
        }
        cut += 7;
    }
}

/// Camunda 7 takes an unconditioned gateway flow as true and warns about it,
/// but refuses an exclusive gateway that also has a default flow (or several
/// such flows), as its own parser does.
#[test]
fn unconditioned_gateway_flows_follow_camunda_7_in_camunda_7_files() {
    let file = |default: &str, third: &str| {
        format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <process id="P" isExecutable="true">
    <startEvent id="S"/><sequenceFlow id="s" sourceRef="S" targetRef="G"/>
    <exclusiveGateway id="G" {default}/>
    <sequenceFlow id="a" sourceRef="G" targetRef="A"><conditionExpression>${{x}}</conditionExpression></sequenceFlow>
    <sequenceFlow id="b" sourceRef="G" targetRef="B"/>
    {third}
    <userTask id="A" camunda:assignee="me"/><userTask id="B"/><userTask id="C"/>
  </process>
</definitions>"#
        )
    };
    let severity = |xml: &str| {
        bpmn_models::validate(&bpmn_models::parse(xml).expect("imports"))
            .into_iter()
            .find(|d| d.code == "BPMN015")
            .map(|d| d.severity)
    };
    use bpmn_models::Severity::{Error, Warning};
    assert_eq!(severity(&file("", "")), Some(Warning));
    let default_too = file(
        r#"default="c""#,
        r#"<sequenceFlow id="c" sourceRef="G" targetRef="C"/>"#,
    );
    assert_eq!(severity(&default_too), Some(Error));
    let two = file("", r#"<sequenceFlow id="c" sourceRef="G" targetRef="C"/>"#);
    assert_eq!(severity(&two), Some(Error));
    // In a file without Camunda 7's namespace it stays an error.
    let plain = file("", "")
        .replace(r#" camunda:assignee="me""#, "")
        .replace(r#" xmlns:camunda="http://camunda.org/schema/1.0/bpmn""#, "");
    assert_eq!(severity(&plain), Some(Error));
}
