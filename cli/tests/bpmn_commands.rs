//! End-to-end tests of `validate`, `fmt` and `inspect` through the binary:
//! exit codes, output formats, and behaviour on malformed input.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orchid-bpmn"))
}

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(p)
}

#[test]
fn validate_exit_codes() {
    let ok = bin()
        .arg("validate")
        .args([
            fixture("bpmn/order-c8.bpmn"),
            fixture("bpmn/invoice-c7.bpmn"),
        ])
        .output()
        .expect("runs");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let bad = bin()
        .args(["validate"])
        .arg(fixture("invalid/BPMN012-crossing-flow.bpmn"))
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(out.contains("BPMN012"), "{out}");
    assert!(
        out.contains("BPMN012-crossing-flow.bpmn:8:7"),
        "file:line:col in {out}"
    );

    let usage = bin()
        .args(["validate", "--format", "yaml", "x"])
        .output()
        .expect("runs");
    assert_eq!(usage.status.code(), Some(2));
    let none = bin().arg("validate").output().expect("runs");
    assert_eq!(none.status.code(), Some(2));
}

/// `validate` deploys what it checks, so it refuses what `exec` refuses.
#[test]
fn validate_agrees_with_deployment() {
    let dir = std::env::temp_dir().join(format!("orchid-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("no-implementation.bpmn");
    std::fs::write(
        &file,
        r#"<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="S"/>
    <bpmn:serviceTask id="Charge"/>
    <bpmn:sequenceFlow id="F" sourceRef="S" targetRef="Charge"/>
  </bpmn:process>
</bpmn:definitions>"#,
    )
    .expect("writes");
    let v = bin()
        .args(["validate", "--format", "json"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(
        v.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&v.stdout).expect("JSON");
    assert_eq!(json[0]["code"], "ENG012", "{json}");
    assert_eq!(json[0]["elementId"], "Charge", "{json}");
    let e = bin().arg("exec").arg(&file).output().expect("runs");
    assert_eq!(e.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&e.stderr).contains("ENG012"));

    // A diagram with no executable process is documentation: a warning only.
    let doc = bin()
        .arg("validate")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/corpus/miwg/reference/A.1.0.bpmn"),
        )
        .output()
        .expect("runs");
    assert_eq!(
        doc.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&doc.stdout)
    );
    assert!(String::from_utf8_lossy(&doc.stdout).contains("ENG001"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_json_lists_every_diagnostic() {
    let out = bin()
        .args(["validate", "--format", "json"])
        .arg(fixture("invalid/BPMN015-unconditioned-branch.bpmn"))
        .arg(fixture("malformed/XML003-billion-laughs.bpmn"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let codes: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert!(codes.contains(&"BPMN015"), "{codes:?}");
    assert!(codes.contains(&"XML003"), "{codes:?}");
    for d in v.as_array().expect("array") {
        assert!(d["line"].as_u64().is_some_and(|l| l > 0), "{d}");
    }
}

#[test]
fn every_malformed_fixture_is_an_error_not_a_crash() {
    for entry in std::fs::read_dir(fixture("malformed")).expect("dir") {
        let path = entry.expect("entry").path();
        let out = bin().arg("validate").arg(&path).output().expect("runs");
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let fmt = bin().arg("fmt").arg(&path).output().expect("runs");
        assert_eq!(fmt.status.code(), Some(1), "{}", path.display());
        assert!(
            !fmt.stderr.is_empty(),
            "fmt explains why: {}",
            path.display()
        );
    }
}

#[test]
fn fmt_output_imports_to_the_same_model() {
    let dir = std::env::temp_dir().join(format!("orchid-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let out = dir.join("out.bpmn");
    let st = bin()
        .arg("fmt")
        .arg(fixture("bpmn/invoice-c7.bpmn"))
        .arg("-o")
        .arg(&out)
        .status()
        .expect("runs");
    assert!(st.success());
    let a = bpmn_models::parse(
        &std::fs::read_to_string(fixture("bpmn/invoice-c7.bpmn")).expect("read"),
    )
    .expect("imports");
    let b = bpmn_models::parse(&std::fs::read_to_string(&out).expect("read")).expect("imports");
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn inspect_reports_dialect_and_counts() {
    let out = bin()
        .args(["inspect", "--json"])
        .arg(fixture("bpmn/invoice-c7.bpmn"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        v["dialect"]
            .as_str()
            .expect("dialect")
            .starts_with("Camunda 7"),
        "{v}"
    );
    assert_eq!(v["processes"][0]["elements"]["userTask"], 1);
    assert_eq!(v["processes"][0]["elements"]["endEvent"], 2);
    let c8 = bin()
        .arg("inspect")
        .arg(fixture("bpmn/order-c8.bpmn"))
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&c8.stdout).contains("Camunda 8"));
}

#[test]
fn output_cut_short_by_the_reader_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(fixture("scenarios"))
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    let mut child = bin()
        .arg("test")
        .args(&files)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("a line");
    // The reader goes away after one line (like `| head -1`).
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("internal error") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(first.starts_with("ok"), "{first}");
    // 141 when a write met the closed pipe, 0 when the run ended first.
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "{:?}",
        out.status
    );
}
