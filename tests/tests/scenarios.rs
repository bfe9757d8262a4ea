//! Process scenarios: every file in `fixtures/scenarios/` must pass, every
//! file in `fixtures/scenarios-failing/` must fail, and the failures must say
//! at which step and what was expected and found. Plus the runner's own
//! refusals: DMN resources, messages and signals nothing waits for, ambiguous processes, missing
//! files.

use std::path::{Path, PathBuf};

use engine::scenario::{self, Scenario, ScenarioReport, Source};

fn fixtures(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(dir)
}

fn scenario_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures(dir))
        .expect("fixture folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Runs a scenario file the way `orchid-bpmn test` does: files it names are
/// read relative to it.
fn run_file(path: &Path) -> ScenarioReport {
    let text = std::fs::read_to_string(path).expect("readable scenario");
    let scenario = Scenario::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dir = path.parent().expect("has a folder");
    scenario::run_with_loader(&scenario, |name| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| format!("cannot read {name}: {e}"))
    })
}

#[test]
fn every_fixture_scenario_passes() {
    let files = scenario_files("scenarios");
    assert!(
        files.len() >= 20,
        "found {} scenarios in fixtures/scenarios",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let report = run_file(f);
        match &report.failure {
            Some(failure) => failures.push(format!("{}: {failure}", f.display())),
            None => {
                assert_eq!(report.passed_steps, report.steps, "{}", f.display());
                assert!(
                    report.steps > 0,
                    "{}: a scenario without steps",
                    f.display()
                );
                assert!(report.snapshot.is_some(), "{}", f.display());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_failing_fixture_fails() {
    let files = scenario_files("scenarios-failing");
    assert!(files.len() >= 3);
    for f in &files {
        assert!(!run_file(f).passed(), "{} passed", f.display());
    }
}

#[test]
fn a_failed_expectation_names_the_step_and_what_was_expected() {
    let report = run_file(&fixtures(
        "scenarios-failing/order-c8-wrong-expectation.json",
    ));
    let failure = report.failure.expect("fails");
    assert_eq!(failure.step, Some(2));
    assert_eq!(failure.note.as_deref(), Some("wrong on purpose"));
    assert_eq!(report.passed_steps, 1);
    assert_eq!(
        failure.message,
        "state: expected `active`, found `completed`; waitingAt: expected [Approve], found []"
    );
    assert_eq!(
        failure.to_string(),
        "step 2 (wrong on purpose): state: expected `active`, found `completed`; \
         waitingAt: expected [Approve], found []"
    );
    // The instance as it was when the step failed.
    let snapshot = report.snapshot.expect("started");
    assert_eq!(snapshot.visited.last().map(String::as_str), Some("Done"));
}

#[test]
fn an_expect_before_the_first_instance_fails_clearly() {
    let report = run_file(&fixtures(
        "scenarios-failing/rt-order-expect-before-any-message.json",
    ));
    let failure = report.failure.expect("fails");
    assert_eq!(failure.step, Some(1));
    assert!(
        failure.message.starts_with(
            "expected an instance of `OrderByMessage`, found none started yet (the process has no none start event"
        ),
        "{}",
        failure.message
    );
    assert!(report.snapshot.is_none());
}

#[test]
fn a_message_nothing_waits_for_fails_the_step_only_when_expected_to_correlate() {
    let report = run_file(&fixtures("scenarios-failing/order-c8-paid-by-message.json"));
    let failure = report.failure.expect("fails");
    assert_eq!(failure.step, Some(2));
    assert!(
        failure.message.starts_with(
            "correlateMessage `Paid` (key `o-7`): expected a message subscription or message start event took it"
        ),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("found nothing waiting for it"),
        "{}",
        failure.message
    );
}

const TWO_PROCESSES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <bpmn:process id="Hello" isExecutable="true">
    <bpmn:startEvent id="S1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Greet" scriptFormat="rhai"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing><bpmn:script>greeting = "hello " + name;</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="E1"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="S1" targetRef="Greet" />
    <bpmn:sequenceFlow id="F2" sourceRef="Greet" targetRef="E1" />
  </bpmn:process>
  <bpmn:process id="Wait" isExecutable="true">
    <bpmn:startEvent id="S2"><bpmn:outgoing>G1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Sign"><bpmn:incoming>G1</bpmn:incoming><bpmn:outgoing>G2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="E2"><bpmn:incoming>G2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="G1" sourceRef="S2" targetRef="Sign" />
    <bpmn:sequenceFlow id="G2" sourceRef="Sign" targetRef="E2" />
  </bpmn:process>
</bpmn:definitions>"#;

fn run_inline(scenario: &str, resources: &[(&str, &str)]) -> ScenarioReport {
    let scenario = Scenario::from_json(scenario).expect("valid scenario");
    let main = Source {
        name: "two.bpmn".into(),
        text: TWO_PROCESSES.into(),
    };
    let resources: Vec<Source> = resources
        .iter()
        .map(|(n, t)| Source {
            name: n.to_string(),
            text: t.to_string(),
        })
        .collect();
    scenario::run(&scenario, &main, &resources)
}

#[test]
fn process_id_picks_among_several_executable_processes() {
    let report = run_inline(r#"{"process": "two.bpmn", "steps": []}"#, &[]);
    let failure = report.failure.expect("ambiguous");
    assert_eq!(failure.step, None);
    assert_eq!(
        failure.message,
        "`two.bpmn` holds 2 executable processes [Hello, Wait]: expected `processId` naming one"
    );

    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Nope", "steps": []}"#,
        &[],
    );
    assert_eq!(
        report.failure.expect("unknown").message,
        "`processId`: expected one of the executable processes of `two.bpmn` [Hello, Wait], found `Nope`"
    );

    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Hello", "variables": {"name": "Ada"},
            "steps": [{"expect": {"state": "completed", "variables": {"greeting": "hello Ada"}}}]}"#,
        &[],
    );
    assert!(report.passed(), "{:?}", report.failure);

    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Wait", "steps": [
            {"expect": {"waitingAt": ["Sign"]}},
            {"completeTask": "Sign", "variables": {"signed": true}},
            {"expect": {"state": "completed", "variables": {"signed": true}}}]}"#,
        &[],
    );
    assert!(report.passed(), "{:?}", report.failure);
}

#[test]
fn a_malformed_dmn_resource_fails_the_scenario_naming_the_file() {
    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Hello", "resources": ["rules.dmn"], "steps": []}"#,
        &[(
            "rules.dmn",
            "<definitions xmlns=\"https://www.omg.org/spec/DMN/20191111/MODEL/\"><decision",
        )],
    );
    let failure = report.failure.expect("refused");
    assert_eq!(failure.step, None);
    assert!(failure.message.contains("rules.dmn"), "{}", failure.message);
}

#[test]
fn bpmn_resources_are_deployed_alongside() {
    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Hello", "resources": ["order.bpmn"],
            "variables": {"name": "Bo"}, "steps": [{"expect": {"state": "completed"}}]}"#,
        &[(
            "order.bpmn",
            &std::fs::read_to_string(fixtures("bpmn/order-c8.bpmn")).expect("fixture"),
        )],
    );
    assert!(report.passed(), "{:?}", report.failure);

    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Hello", "resources": ["broken.bpmn"], "steps": []}"#,
        &[("broken.bpmn", "<bpmn:definitions")],
    );
    let failure = report.failure.expect("refused");
    assert!(
        failure
            .message
            .starts_with("deploying `broken.bpmn`:\nbroken.bpmn:"),
        "{}",
        failure.message
    );
}

#[test]
fn unheard_signals_and_unknown_elements_fail_the_step_with_the_situation() {
    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Wait", "steps": [
            {"advanceClock": "P1M"},
            {"broadcastSignal": "Alarm"},
            {"correlateMessage": "Nobody", "expectCorrelated": false},
            {"broadcastSignal": "Alarm", "expectCorrelated": true}]}"#,
        &[],
    );
    let failure = report.failure.expect("refused");
    assert_eq!(
        failure.step,
        Some(4),
        "unheard messages and signals are no failure"
    );
    assert!(
        failure.message.starts_with(
            "broadcastSignal `Alarm`: expected a signal subscription or signal start event caught it, found nothing waiting for it; the instance is active, waiting at [Sign]"
        ),
        "{}",
        failure.message
    );

    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Wait", "steps": [{"completeTask": "Greet"}]}"#,
        &[],
    );
    let failure = report.failure.expect("refused");
    assert_eq!(failure.step, Some(1));
    assert!(
        failure.message.contains("unknown element `Greet`")
            && failure
                .message
                .ends_with("the instance is active, waiting at [Sign]"),
        "{}",
        failure.message
    );

    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Wait", "steps": [{"failJob": "Sign"}]}"#,
        &[],
    );
    assert_eq!(
        report.failure.expect("refused").message,
        "failJob `Sign`: expected a job waiting at `Sign`, found none; the instance is active, waiting at [Sign]"
    );
}

#[test]
fn a_step_may_be_expected_to_be_refused_with_its_code() {
    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Wait", "steps": [
            {"completeTask": "Greet", "refused": "ENG102"},
            {"failJob": "Sign", "refused": "ENG103"},
            {"completeTask": "Sign", "refused": "nothing waits"}]}"#,
        &[],
    );
    let failure = report.failure.expect("the last step is accepted");
    assert_eq!(failure.step, Some(3));
    assert_eq!(
        failure.message,
        "expected the step to be refused with `nothing waits`, found it accepted"
    );
    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Wait", "steps": [
            {"completeTask": "Greet", "refused": "ENG103"}]}"#,
        &[],
    );
    let failure = report.failure.expect("another code");
    assert!(
        failure.message.starts_with(
            "expected the step to be refused with `ENG103`, found ENG102: completeTask `Greet`"
        ),
        "{}",
        failure.message
    );
}

#[test]
fn instances_can_be_cancelled_and_deleted() {
    let report = run_inline(
        r#"{"process": "two.bpmn", "processId": "Wait", "steps": [
            {"cancelInstance": true},
            {"expect": {"state": "cancelled", "waitingAt": [], "tokens": {"Sign": 0}}},
            {"completeTask": "Sign", "refused": "ENG101"},
            {"deleteInstance": true},
            {"expect": {"state": "deleted", "instances": 0}},
            {"expect": {"waitingAt": []}}]}"#,
        &[],
    );
    let failure = report.failure.expect("nothing to check after a delete");
    assert_eq!(failure.step, Some(6), "{failure}");
    assert!(
        failure.message.contains("found the instance deleted"),
        "{failure}"
    );
}

#[test]
fn missing_files_fail_setup_with_the_loaders_message() {
    let scenario = Scenario::from_json(r#"{"process": "gone.bpmn", "steps": []}"#).expect("valid");
    let report = scenario::run_with_loader(&scenario, |name| Err(format!("cannot read {name}")));
    let failure = report.failure.expect("fails");
    assert_eq!(failure.to_string(), "setup: cannot read gone.bpmn");
}
