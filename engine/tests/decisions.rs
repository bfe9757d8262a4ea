//! Business rule tasks evaluating deployed DMN decisions through the
//! engine: both dialects, every Camunda 7 `mapDecisionResult`, missing
//! decisions, separate deployments and a reopened store.

use std::sync::Arc;

use engine::core::{InstanceState, Status};
use engine::store::{self, Durability, ResourceKind, StoreKind};
use engine::{Engine, EngineError, EngineOptions, SystemClock};
use serde_json::{Map, Value, json};

fn vars(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

const DMN_NS: &str = "https://www.omg.org/spec/DMN/20191111/MODEL/";

/// `discount`: a UNIQUE table, one output `rate`, on `amount`.
/// `tags`: a COLLECT table, one unnamed output, on `amount`.
/// `offer`: a FIRST table with two outputs `rate` and `label`.
/// `limit`: a literal expression.
fn dmn(rate_small: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{DMN_NS}" id="defs" name="Pricing" namespace="http://example.com/pricing">
  <decision id="discount" name="Discount">
    <decisionTable id="dt_discount" hitPolicy="UNIQUE">
      <input id="i1" label="Amount"><inputExpression id="ie1" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="o1" name="rate" typeRef="number"/>
      <rule id="r1"><inputEntry id="r1i"><text>&lt; 100</text></inputEntry><outputEntry id="r1o"><text>{rate_small}</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="r2i"><text>&gt;= 100</text></inputEntry><outputEntry id="r2o"><text>0.1</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="tags" name="Tags">
    <decisionTable id="dt_tags" hitPolicy="COLLECT">
      <input id="i2"><inputExpression id="ie2" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="o2" typeRef="string"/>
      <rule id="t1"><inputEntry id="t1i"><text>&gt; 10</text></inputEntry><outputEntry id="t1o"><text>"big"</text></outputEntry></rule>
      <rule id="t2"><inputEntry id="t2i"><text>&gt; 50</text></inputEntry><outputEntry id="t2o"><text>"huge"</text></outputEntry></rule>
      <rule id="t3"><inputEntry id="t3i"><text>&lt; 0</text></inputEntry><outputEntry id="t3o"><text>"negative"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="offer" name="Offer">
    <decisionTable id="dt_offer" hitPolicy="FIRST">
      <input id="i3"><inputExpression id="ie3" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="o3a" name="rate" typeRef="number"/>
      <output id="o3b" name="label" typeRef="string"/>
      <rule id="f1"><inputEntry id="f1i"><text>&gt; 10</text></inputEntry><outputEntry id="f1a"><text>0.2</text></outputEntry><outputEntry id="f1b"><text>"gold"</text></outputEntry></rule>
      <rule id="f2"><inputEntry id="f2i"><text>-</text></inputEntry><outputEntry id="f2a"><text>0</text></outputEntry><outputEntry id="f2b"><text>"none"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="limit" name="Limit">
    <literalExpression id="le"><text>amount * 2</text></literalExpression>
  </decision>
</definitions>"#
    )
}

fn c8_process(decision: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:businessRuleTask id="rule"><bpmn:extensionElements><zeebe:calledDecision decisionId="{decision}" resultVariable="result"/></bpmn:extensionElements></bpmn:businessRuleTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rule"/>
    <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

fn c7_process(decision: &str, attrs: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:businessRuleTask id="rule" camunda:decisionRef="{decision}" camunda:resultVariable="result" {attrs}/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rule"/>
    <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

fn run(engine: &mut Engine, amount: i64) -> InstanceState {
    let id = engine
        .start("P", vars(json!({ "amount": amount })))
        .unwrap();
    engine.instance(&id).unwrap().unwrap()
}

fn engine_with(process: &str) -> Engine {
    let mut engine = Engine::in_memory();
    let keys = engine.deploy("pricing.dmn", &dmn("0")).unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| (k.id.as_str(), k.version))
            .collect::<Vec<_>>(),
        [("discount", 1), ("tags", 1), ("offer", 1), ("limit", 1)]
    );
    engine.deploy("p.bpmn", process).unwrap();
    engine
}

fn result_of(s: &InstanceState) -> Value {
    assert_eq!(s.status, Status::Completed, "incidents: {:?}", s.incidents);
    s.variables()["result"].clone()
}

fn incident_of(s: &InstanceState) -> String {
    assert_eq!(s.status, Status::Active);
    s.incidents
        .values()
        .next()
        .map(|i| i.message.clone())
        .expect("an incident")
}

#[test]
fn c8_called_decision_stores_the_decision_value() {
    let mut engine = engine_with(&c8_process("discount"));
    assert_eq!(result_of(&run(&mut engine, 150)), json!(0.1));
    assert_eq!(result_of(&run(&mut engine, 5)), json!(0));
    let mut engine = engine_with(&c8_process("tags"));
    assert_eq!(result_of(&run(&mut engine, 60)), json!(["big", "huge"]));
    let mut engine = engine_with(&c8_process("offer"));
    assert_eq!(
        result_of(&run(&mut engine, 20)),
        json!({"rate": 0.2, "label": "gold"})
    );
    let mut engine = engine_with(&c8_process("limit"));
    assert_eq!(result_of(&run(&mut engine, 21)), json!(42));
}

#[test]
fn c7_result_list_is_the_default() {
    let mut engine = engine_with(&c7_process("tags", ""));
    assert_eq!(
        result_of(&run(&mut engine, 60)),
        json!([{"tags": "big"}, {"tags": "huge"}])
    );
    assert_eq!(result_of(&run(&mut engine, 5)), json!([]));
    let mut engine = engine_with(&c7_process(
        "offer",
        r#"camunda:mapDecisionResult="resultList""#,
    ));
    assert_eq!(
        result_of(&run(&mut engine, 20)),
        json!([{"rate": 0.2, "label": "gold"}])
    );
}

#[test]
fn c7_single_entry() {
    let mut engine = engine_with(&c7_process(
        "discount",
        r#"camunda:mapDecisionResult="singleEntry""#,
    ));
    assert_eq!(result_of(&run(&mut engine, 150)), json!(0.1));
    // A literal expression decision is one entry too.
    let mut engine = engine_with(&c7_process(
        "limit",
        r#"camunda:mapDecisionResult="singleEntry""#,
    ));
    assert_eq!(result_of(&run(&mut engine, 4)), json!(8));
    // Two outputs: not a single entry.
    let mut engine = engine_with(&c7_process(
        "offer",
        r#"camunda:mapDecisionResult="singleEntry""#,
    ));
    let msg = incident_of(&run(&mut engine, 20));
    assert!(msg.contains("expected one output"), "{msg}");
    // Two matched rules: not a single entry.
    let mut engine = engine_with(&c7_process(
        "tags",
        r#"camunda:mapDecisionResult="singleEntry""#,
    ));
    let msg = incident_of(&run(&mut engine, 60));
    assert!(msg.contains("expected at most one matched rule"), "{msg}");
}

#[test]
fn c7_single_result() {
    let mut engine = engine_with(&c7_process(
        "offer",
        r#"camunda:mapDecisionResult="singleResult""#,
    ));
    assert_eq!(
        result_of(&run(&mut engine, 3)),
        json!({"rate": 0, "label": "none"})
    );
    let mut engine = engine_with(&c7_process(
        "tags",
        r#"camunda:mapDecisionResult="singleResult""#,
    ));
    assert_eq!(result_of(&run(&mut engine, 20)), json!({"tags": "big"}));
    let msg = incident_of(&run(&mut engine, 60));
    assert!(msg.contains("found 2"), "{msg}");
}

#[test]
fn c7_collect_entries() {
    let mut engine = engine_with(&c7_process(
        "tags",
        r#"camunda:mapDecisionResult="collectEntries""#,
    ));
    assert_eq!(result_of(&run(&mut engine, 60)), json!(["big", "huge"]));
    assert_eq!(result_of(&run(&mut engine, 1)), json!([]));
    let mut engine = engine_with(&c7_process(
        "offer",
        r#"camunda:mapDecisionResult="collectEntries""#,
    ));
    let msg = incident_of(&run(&mut engine, 20));
    assert!(
        msg.contains("expected one output per matched rule"),
        "{msg}"
    );
}

#[test]
fn missing_decision_is_an_incident_and_resolves_after_deploying_it() {
    let mut engine = Engine::in_memory();
    engine.deploy("p.bpmn", &c8_process("discount")).unwrap();
    let s = run(&mut engine, 150);
    let msg = incident_of(&s);
    assert!(msg.contains("discount"), "{msg}");
    // Another DMN file, but not that decision.
    let other = dmn("0").replace("id=\"discount\"", "id=\"other\"");
    engine.deploy("other.dmn", &other).unwrap();
    let s = run(&mut engine, 150);
    let msg = incident_of(&s);
    assert!(
        msg.contains("expected a deployed DMN decision with id `discount`"),
        "{msg}"
    );
    // Deploy it, resolve: the task evaluates again.
    engine.deploy("pricing.dmn", &dmn("0")).unwrap();
    let (&incident, _) = s.incidents.iter().next().unwrap();
    engine.resolve_incident(&s.id, incident, None).unwrap();
    let s = engine.instance(&s.id).unwrap().unwrap();
    assert_eq!(result_of(&s), json!(0.1));
}

#[test]
fn decisions_are_versioned_by_content_and_bound_by_version() {
    let mut engine = Engine::in_memory();
    let v1 = engine.deploy("pricing.dmn", &dmn("0")).unwrap();
    let again = engine.deploy("pricing.dmn", &dmn("0")).unwrap();
    assert_eq!(v1, again);
    let v2 = engine.deploy("pricing.dmn", &dmn("0.05")).unwrap();
    assert_eq!(v2[0].version, 2);
    engine
        .deploy(
            "p.bpmn",
            &c7_process(
                "discount",
                r#"camunda:mapDecisionResult="singleEntry" camunda:decisionRefBinding="version" camunda:decisionRefVersion="1""#,
            ),
        )
        .unwrap();
    assert_eq!(result_of(&run(&mut engine, 5)), json!(0));
    let mut engine2 = Engine::in_memory();
    engine2.deploy("pricing.dmn", &dmn("0")).unwrap();
    engine2.deploy("pricing.dmn", &dmn("0.05")).unwrap();
    engine2.deploy("p.bpmn", &c8_process("discount")).unwrap();
    assert_eq!(result_of(&run(&mut engine2, 5)), json!(0.05));
}

#[test]
fn bad_dmn_is_refused_with_its_place() {
    let mut engine = Engine::in_memory();
    let broken = dmn("0").replace("<text>0.1</text>", "<text>0.1 +</text>");
    let err = engine.deploy("pricing.dmn", &broken).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EngineError::Dmn { .. }), "{err:?}");
    assert!(msg.starts_with("pricing.dmn:"), "{msg}");
    assert!(msg.contains("DMN1"), "{msg}");
    let not_xml = engine.deploy("x.dmn", "<definitions").unwrap_err();
    assert!(not_xml.to_string().contains("DMN0"), "{not_xml}");
    assert!(engine.decision_keys().is_empty());
    assert_eq!(
        engine::runtime::resource_kind("anything.xml", &dmn("0")),
        ResourceKind::Dmn
    );
}

#[test]
fn decisions_survive_a_reopened_sled_store() {
    let dir = std::env::temp_dir().join(format!("orchid-decisions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let store = store::open(StoreKind::Sled, &dir, Durability::Immediate).unwrap();
        let mut engine =
            Engine::open(store, Arc::new(SystemClock), EngineOptions::default()).unwrap();
        engine.deploy("pricing.dmn", &dmn("0")).unwrap();
        engine.deploy("p.bpmn", &c8_process("discount")).unwrap();
        assert_eq!(result_of(&run(&mut engine, 150)), json!(0.1));
        engine.flush().unwrap();
    }
    let store = store::open(StoreKind::Sled, &dir, Durability::Immediate).unwrap();
    let mut engine = Engine::open(store, Arc::new(SystemClock), EngineOptions::default()).unwrap();
    assert_eq!(engine.decision_keys().len(), 4);
    assert_eq!(result_of(&run(&mut engine, 150)), json!(0.1));
    // Deploying the same file again is no new version.
    let keys = engine.deploy("pricing.dmn", &dmn("0")).unwrap();
    assert_eq!(keys[0].version, 1);
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scenario_resources_deploy_dmn_and_steps_reach_called_instances() {
    use engine::scenario::{self, Scenario, Source};
    let main = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="P" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:businessRuleTask id="rule"><bpmn:extensionElements><zeebe:calledDecision decisionId="discount" resultVariable="rate"/></bpmn:extensionElements></bpmn:businessRuleTask>
    <bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="Child"/></bpmn:extensionElements></bpmn:callActivity>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rule"/>
    <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="call"/>
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;
    let child = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="C" targetNamespace="t">
  <bpmn:process id="Child" isExecutable="true">
    <bpmn:startEvent id="cs"/>
    <bpmn:userTask id="approve"/>
    <bpmn:endEvent id="ce"/>
    <bpmn:sequenceFlow id="g1" sourceRef="cs" targetRef="approve"/>
    <bpmn:sequenceFlow id="g2" sourceRef="approve" targetRef="ce"/>
  </bpmn:process>
</bpmn:definitions>"#;
    let text = r#"{
      "process": "main.bpmn",
      "resources": ["pricing.dmn", "child.bpmn"],
      "variables": {"amount": 150},
      "steps": [
        {"expect": {"state": "active", "waitingAt": [], "variables": {"rate": 0.1}}},
        {"completeTask": "approve", "variables": {"ok": true}},
        {"expect": {"state": "completed", "variables": {"ok": true}}}
      ]
    }"#;
    let s = Scenario::from_json(text).unwrap();
    let report = scenario::run(
        &s,
        &Source {
            name: "main.bpmn".into(),
            text: main.into(),
        },
        &[
            Source {
                name: "pricing.dmn".into(),
                text: dmn("0"),
            },
            Source {
                name: "child.bpmn".into(),
                text: child.into(),
            },
        ],
    );
    assert!(report.passed(), "{:?}", report.failure);
    let snap = report.snapshot.unwrap();
    assert_eq!(snap.children.len(), 1);
    assert_eq!(snap.children[0].process.id, "Child");
    assert_eq!(snap.children[0].visited, ["cs", "approve", "ce"]);
}
