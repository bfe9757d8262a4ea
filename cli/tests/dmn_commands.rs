//! End-to-end tests of `dmn tck`, `dmn eval` and `feel` through the binary.

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orchid-bpmn"))
}

#[test]
fn the_whole_tck_passes_through_the_cli() {
    let tck = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/tck");
    let csv = std::env::temp_dir().join(format!("orchid-tck-{}.csv", std::process::id()));
    let out = bin()
        .args(["dmn", "tck"])
        .arg(&tck)
        .arg("--csv")
        .arg(&csv)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("3391 passed, 0 failed"));
    let rows = std::fs::read_to_string(&csv).expect("csv written");
    assert_eq!(rows.lines().count(), 3391);
    assert!(rows.lines().all(|l| l.ends_with("\"SUCCESS\"")));
    let _ = std::fs::remove_file(csv);
}

#[test]
fn feel_evaluates_with_a_context_and_reports_bad_input() {
    let out = bin()
        .args(["feel", "sum(for x in items return x * rate)"])
        .args(["--context", r#"{"items": [1, 2, 3], "rate": 0.1}"#])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0.6");
    let bad = bin().args(["feel", "1 +"]).output().expect("runs");
    assert_ne!(bad.status.code(), Some(0));
    assert!(!bad.stderr.is_empty());
}
