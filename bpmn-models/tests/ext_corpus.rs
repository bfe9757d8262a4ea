//! Every element of the MIWG corpus files (Camunda Modeler exports and the
//! reference set) decodes under both the Camunda 7 and the Camunda 8 views.
//!
//! The walk here is written independently of `ext::visit_bases`: processes,
//! their flow elements recursively (sub-processes, transactions, ad-hoc
//! sub-processes), event definitions and loop characteristics, plus the
//! definitions and process bases themselves.

use std::path::{Path, PathBuf};

use bpmn_models::ext::{self, Dialect, camunda, zeebe};
use bpmn_models::{Base, Definitions, FlowElement, FlowNodeKind, LoopCharacteristics, RootElement};

const CORPUS: &str = "/work/shared/corpus/miwg";

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["camunda-modeler", "reference"] {
        let dir = Path::new(CORPUS).join(dir);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "bpmn") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn load(path: &Path) -> Definitions {
    let bytes = std::fs::read(path).unwrap();
    let text = bpmn_models::decode(&bytes)
        .unwrap_or_else(|e| panic!("{}: cannot decode: {e}", path.display()));
    bpmn_models::parse(&text).unwrap_or_else(|e| panic!("{}: cannot parse: {e}", path.display()))
}

/// What part of an element a walked [`Base`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Element,
    Loop,
    EventDefinition,
}

/// Calls `f` on the definitions, every process, and every flow element
/// (recursively) with their loop characteristics and event definitions, with
/// the id of the element they belong to.
fn walk<'a>(defs: &'a Definitions, f: &mut dyn FnMut(&'a str, Part, &'a Base)) {
    f(
        defs.id.as_deref().unwrap_or("definitions"),
        Part::Element,
        &defs.base,
    );
    for root in &defs.root_elements {
        if let RootElement::Process(p) = root {
            f(&p.id, Part::Element, &p.base);
            walk_flow(&p.flow_elements, f);
        }
    }
}

fn walk_flow<'a>(elements: &'a [FlowElement], f: &mut dyn FnMut(&'a str, Part, &'a Base)) {
    for element in elements {
        match element {
            FlowElement::SequenceFlow(s) => f(&s.id, Part::Element, &s.base),
            FlowElement::DataObject(d) => f(&d.id, Part::Element, &d.base),
            FlowElement::DataObjectReference(d) => f(&d.id, Part::Element, &d.base),
            FlowElement::DataStoreReference(d) => f(&d.id, Part::Element, &d.base),
            FlowElement::FlowNode(n) => {
                f(&n.id, Part::Element, &n.base);
                match &n.kind {
                    FlowNodeKind::Activity(a) => {
                        match &a.loop_characteristics {
                            Some(LoopCharacteristics::MultiInstance(m)) => {
                                f(&n.id, Part::Loop, &m.base)
                            }
                            Some(LoopCharacteristics::Standard(l)) => f(&n.id, Part::Loop, &l.base),
                            None => {}
                        }
                        if let Some(sub) = a.kind.sub_process() {
                            walk_flow(&sub.flow_elements, f);
                        }
                    }
                    FlowNodeKind::Event(e) => {
                        for d in &e.event_definitions {
                            f(&n.id, Part::EventDefinition, &d.base);
                        }
                    }
                    FlowNodeKind::Gateway(_) => {}
                }
            }
        }
    }
}

#[test]
fn ext_every_corpus_element_decodes() {
    let files = corpus_files();
    assert!(
        files.len() >= 40,
        "expected the MIWG corpus, found {} files",
        files.len()
    );
    let mut bases = 0;
    let mut failures = Vec::new();
    for path in &files {
        let defs = load(path);
        walk(&defs, &mut |id, part, base| {
            bases += 1;
            if let Err(e) = camunda::camunda(base) {
                failures.push(format!(
                    "{} {id} {part:?} ({}): camunda: {e}",
                    path.display(),
                    e.span
                ));
            }
            if let Err(e) = zeebe::zeebe(base) {
                failures.push(format!(
                    "{} {id} {part:?} ({}): zeebe: {e}",
                    path.display(),
                    e.span
                ));
            }
        });
        let errors = ext::check(&defs);
        for e in errors {
            failures.push(format!(
                "{} {:?} ({}): check: {e}",
                path.display(),
                e.element_id,
                e.span
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(bases > 1000, "walked only {bases} elements");
}

/// The decoded values are the ones in the files, not just "no error".
#[test]
fn ext_corpus_values_are_decoded() {
    let mut camunda_facts = 0;
    let mut zeebe_facts = 0;
    let mut dialects = (0, 0, 0);
    for path in corpus_files() {
        let defs = load(&path);
        match ext::dialect(&defs) {
            Dialect::Camunda7 => dialects.0 += 1,
            Dialect::Camunda8 => dialects.1 += 1,
            Dialect::Unknown => dialects.2 += 1,
        }
        if let Some((platform, version)) = ext::execution_platform(&defs) {
            assert!(
                platform == "Camunda Platform" || platform == "Camunda Cloud",
                "{}: {platform}",
                path.display()
            );
            assert!(version.is_some(), "{}", path.display());
        }
        walk(&defs, &mut |id, part, base| {
            let c = camunda::camunda(base).unwrap();
            let z = zeebe::zeebe(base).unwrap();
            // The C.1.x files bind the `camunda` prefix to the activiti
            // namespace, which Camunda 7 reads as its own.
            if id == "approveInvoice" && part == Part::Element {
                assert_eq!(
                    c.assignee.as_deref(),
                    Some("${approver}"),
                    "{}",
                    path.display()
                );
            }
            if id == "SendTask_RequestDocument" && part == Part::Element {
                // `camunda:async` is the legacy spelling of `asyncBefore`.
                assert!(c.async_before && c.is_external(), "{}", path.display());
                assert_eq!(c.topic.as_deref(), Some("emailService"));
                camunda_facts += 1;
            }
            if id == "SendTask_SendReminderEmail" && part == Part::Element {
                assert!(c.async_before && !c.async_after, "{}", path.display());
                camunda_facts += 1;
            }
            if id == "EndEvent_GotDocument" && part == Part::Element {
                assert!(c.async_after && !c.async_before, "{}", path.display());
                camunda_facts += 1;
            }
            if id == "requestDocument_en" && part == Part::Element {
                assert_eq!(
                    c.is_startable_in_tasklist,
                    Some(false),
                    "{}",
                    path.display()
                );
                camunda_facts += 1;
            }
            if let Some(td) = &z.task_definition {
                assert!(!td.job_type.is_empty(), "{}: {id}", path.display());
                zeebe_facts += 1;
            }
            if let Some(d) = &z.called_decision {
                assert_eq!(d.decision_id, "risk_check");
                assert_eq!(d.result_variable.as_deref(), Some("result"));
                zeebe_facts += 1;
            }
        });
    }
    assert!(camunda_facts >= 8, "found {camunda_facts} Camunda 7 facts");
    assert!(zeebe_facts >= 50, "found {zeebe_facts} Camunda 8 facts");
    assert!(dialects.0 > 0 && dialects.1 > 0, "dialects {dialects:?}");
}
