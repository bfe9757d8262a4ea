//! Data-driven import/export tests over the BPMN MIWG corpus in `../shared`
//! and the project's own `fixtures/`: every file imports, and
//! import → export → import gives a model equal to the first.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bpmn_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bpmn"))
        .collect();
    files.sort();
    files
}

fn round_trip(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = bpmn_models::decode(&bytes).map_err(|e| e.to_string())?;
    let first = bpmn_models::parse(&text).map_err(|e| {
        let at = e.span().map(|s| s.to_string()).unwrap_or_default();
        format!("import failed at {at}: {e}")
    })?;
    let exported = bpmn_models::write(&first);
    let second = bpmn_models::parse(&exported).map_err(|e| {
        let at = e.span().map(|s| s.to_string()).unwrap_or_default();
        format!("re-import of the export failed at {at}: {e}")
    })?;
    if first != second {
        return Err(first_difference(
            &format!("{first:#?}"),
            &format!("{second:#?}"),
        ));
    }
    // Exporting again is stable byte for byte.
    let again = bpmn_models::write(&second);
    if again != exported {
        return Err("second export differs from the first".into());
    }
    Ok(())
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("models differ at debug line {i}: {x:?} vs {y:?}");
        }
    }
    "models differ in length".into()
}

fn check_dir(dir: &Path, min_files: usize) {
    let files = bpmn_files(dir);
    assert!(
        files.len() >= min_files,
        "expected at least {min_files} .bpmn files in {}, found {}",
        dir.display(),
        files.len()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| round_trip(f).err().map(|e| format!("{}: {e}", f.display())))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn miwg_reference_models_round_trip() {
    check_dir(&workspace().join("../shared/corpus/miwg/reference"), 21);
}

#[test]
fn camunda_modeler_exports_round_trip() {
    check_dir(
        &workspace().join("../shared/corpus/miwg/camunda-modeler"),
        43,
    );
}

#[test]
fn fixtures_round_trip() {
    check_dir(&workspace().join("fixtures/bpmn"), 2);
    check_dir(&workspace().join("fixtures/invalid"), 20);
}

/// Export loses nothing: every element (by namespace and local name) and every
/// attribute value of the source appears in the export as often as in the
/// source, apart from the normalisations the exporter documents (BPMN default
/// values left out, `xsi:type` on expressions, empty `extensionElements`).
fn fidelity(path: &Path) -> Result<(), String> {
    use std::collections::BTreeMap;
    let text = bpmn_models::decode(&std::fs::read(path).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let exported = bpmn_models::write(&bpmn_models::parse(&text).map_err(|e| e.to_string())?);
    let census = |xml: &str| -> Result<BTreeMap<String, i64>, String> {
        let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
        let mut m = BTreeMap::new();
        for n in doc.descendants().filter(|n| n.is_element()) {
            let tag = n.tag_name();
            let name = format!("{}|{}", tag.namespace().unwrap_or(""), tag.name());
            if name.ends_with("|extensionElements") && !n.children().any(|c| c.is_element()) {
                continue;
            }
            *m.entry(name).or_insert(0) += 1;
            for a in n.attributes() {
                let key = format!("{}|{}", a.namespace().unwrap_or(""), a.name());
                let default = matches!(
                    (a.name(), a.value()),
                    (
                        "isForCompensation"
                            | "isCollection"
                            | "triggeredByEvent"
                            | "instantiate"
                            | "parallelMultiple"
                            | "isSequential"
                            | "testBefore",
                        "false"
                    ) | ("cancelActivity" | "isInterrupting", "true")
                ) || key.ends_with("XMLSchema-instance|type");
                if !default {
                    // Numbers compare by value: "30.0" and "30" are the same coordinate.
                    let value = match a.value().parse::<f64>() {
                        Ok(x) if a.value().contains('.') => x.to_string(),
                        _ => a.value().to_string(),
                    };
                    *m.entry(format!("@{key}={value}")).or_insert(0) += 1;
                }
            }
        }
        Ok(m)
    };
    let (a, b) = (census(&text)?, census(&exported)?);
    let diffs: Vec<String> = a
        .keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .take(5)
        .map(|k| format!("{k}: {:?} in source, {:?} in export", a.get(k), b.get(k)))
        .collect();
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

#[test]
fn export_keeps_every_element_and_attribute() {
    let mut failures = Vec::new();
    for dir in [
        "../shared/corpus/miwg/reference",
        "../shared/corpus/miwg/camunda-modeler",
        "fixtures/bpmn",
    ] {
        for f in bpmn_files(&workspace().join(dir)) {
            if let Err(e) = fidelity(&f) {
                failures.push(format!("{}: {e}", f.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn large_generated_process_round_trips() {
    let xml = bpmn_models::synth::large_process(2_000);
    let first = bpmn_models::parse(&xml).expect("generated file imports");
    let nodes = first
        .processes()
        .flat_map(|p| &p.flow_elements)
        .filter(|e| matches!(e, bpmn_models::FlowElement::FlowNode(_)))
        .count();
    assert!((1_990..=2_010).contains(&nodes), "{nodes} flow nodes");
    let second = bpmn_models::parse(&bpmn_models::write(&first)).expect("export imports");
    assert_eq!(first, second);
}
