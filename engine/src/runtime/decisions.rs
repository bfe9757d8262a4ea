//! The deployed DMN decisions business rule tasks evaluate: a registry of
//! compiled models (compiled once at deploy, shared by `Arc`), versioned by
//! decision id like processes are by process id, and the core's
//! [`Decisions`] port over it.
//!
//! A decision's outcome is its value as DMN gives it (Camunda 8's
//! `resultVariable`) and one map per matched rule, output name → value,
//! in rule order (what Camunda 7's `mapDecisionResult` works on). The
//! matched rules come from the DMN evaluation's audit; their outputs from
//! the decision's value: a single-hit table gives the one rule's output
//! (a context for several outputs), a multi-hit table without aggregation
//! a list with one item per matched rule. A single-output table names its
//! output by the output's name, or by the decision id when it has none; a
//! decision that is not a decision table gives one "rule",
//! `{decision id: value}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use dmn::model::{BoxedKind, Definitions};
use dmn::{DmnModel, Inputs};
use serde_json::{Map, Value};

use crate::compile::{ProcessKey, content_hash};
use crate::core::decisions::{DecisionOutcome, Decisions};

/// Why a DMN file was not deployed: the first problem, with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {code} {message}")]
pub struct DmnProblem {
    pub code: &'static str,
    pub line: u32,
    pub column: u32,
    /// The element concerned (id or name), if known.
    pub element: Option<String>,
    pub message: String,
}

/// What a decision table looks like, for naming the matched rules' outputs.
#[derive(Debug, Clone)]
struct TableShape {
    table_id: String,
    /// Output names; a single unnamed output is named after the decision.
    outputs: Vec<String>,
    /// Several results (a list) per evaluation: COLLECT without
    /// aggregation, RULE ORDER, OUTPUT ORDER.
    multi: bool,
}

/// One deployed version of one decision.
#[derive(Debug)]
struct DeployedDecision {
    key: ProcessKey,
    /// The name DMN evaluates it by.
    name: String,
    model: Arc<DmnModel>,
    table: Option<TableShape>,
}

/// The deployed decisions, by id and version.
#[derive(Debug, Default)]
pub(crate) struct DecisionRegistry {
    by_key: BTreeMap<(String, u32), Arc<DeployedDecision>>,
    latest: HashMap<String, u32>,
    by_hash: HashMap<(String, String), u32>,
}

/// A DMN file parsed and compiled, not yet registered.
#[derive(Debug)]
pub(crate) struct CompiledDmn {
    model: Arc<DmnModel>,
    /// Decision id, name, table shape.
    decisions: Vec<(String, String, Option<TableShape>)>,
    pub hash: String,
}

/// Whether `source` is a DMN document (its root element is `definitions`
/// in a DMN namespace) or, failing a readable root, named `.dmn`.
pub(crate) fn is_dmn(name: &str, source: &str) -> bool {
    if let Some(ns) = root_namespace(source) {
        return dmn::model::DMN_NAMESPACES.contains(&ns.as_str())
            || ns.starts_with("http://www.omg.org/spec/DMN/")
            || ns.starts_with("https://www.omg.org/spec/DMN/");
    }
    name.to_ascii_lowercase().ends_with(".dmn")
}

/// The namespace of the root element, read from its start tag without a
/// full parse (the prefix's `xmlns:p` or the default `xmlns`).
fn root_namespace(source: &str) -> Option<String> {
    let mut rest = source;
    // Skip the declaration, comments and processing instructions.
    loop {
        rest = rest.trim_start_matches('\u{feff}').trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>")? + 2..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->")? + 3..];
        } else if rest.starts_with("<!") {
            return None;
        } else {
            break;
        }
    }
    let tag = rest.strip_prefix('<')?;
    let tag = &tag[..tag.find('>')?];
    let qname = tag.split_whitespace().next()?;
    let attr = match qname.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_string(),
    };
    let at = tag.find(&format!("{attr}="))?;
    let value = &tag[at + attr.len() + 1..];
    let quote = value.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let value = &value[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// Parses and compiles a DMN file; refuses one whose expressions do not
/// compile (the first diagnostic, with its line and column).
pub(crate) fn compile_dmn(source: &str) -> Result<CompiledDmn, DmnProblem> {
    let defs = dmn::model::parse_definitions(source).map_err(|e| DmnProblem {
        code: e.code,
        line: e.line,
        column: e.column,
        element: e.element.clone(),
        message: format!("expected {}, found {}", e.expected, e.found),
    })?;
    let decisions = shapes(&defs);
    let model = DmnModel::from_definitions(vec![defs]);
    // DMN105 (an expression language other than FEEL) evaluates to null
    // with its reason; everything else that does not compile is refused.
    if let Some(d) = model.diagnostics().iter().find(|d| d.code != "DMN105") {
        return Err(DmnProblem {
            code: d.code,
            line: d.line,
            column: d.column,
            element: Some(d.element.clone()).filter(|e| !e.is_empty()),
            message: d.message.clone(),
        });
    }
    Ok(CompiledDmn {
        model: Arc::new(model),
        decisions,
        hash: content_hash(source),
    })
}

fn shapes(defs: &Definitions) -> Vec<(String, String, Option<TableShape>)> {
    defs.decisions
        .iter()
        .map(|d| {
            let name = if d.name.is_empty() {
                d.id.clone()
            } else {
                d.name.clone()
            };
            let table = d.logic.as_ref().and_then(|l| match &l.kind {
                BoxedKind::DecisionTable(t) => {
                    let outputs = if t.outputs.len() == 1 {
                        vec![t.outputs[0].name.clone().unwrap_or_else(|| d.id.clone())]
                    } else {
                        t.outputs
                            .iter()
                            .enumerate()
                            .map(|(i, o)| o.name.clone().unwrap_or_else(|| format!("output{i}")))
                            .collect()
                    };
                    let policy = t.hit_policy.to_ascii_uppercase();
                    let multi = matches!(policy.as_str(), "RULE ORDER" | "OUTPUT ORDER")
                        || (policy == "COLLECT" && t.aggregation.is_none());
                    Some(TableShape {
                        table_id: t.id.clone(),
                        outputs,
                        multi,
                    })
                }
                _ => None,
            });
            (d.id.clone(), name, table)
        })
        .collect()
}

impl DecisionRegistry {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The keys a compiled file would get: a decision already deployed
    /// from the same text keeps its version, others get the next one.
    /// Returns the keys and whether any is new.
    pub fn keys_for(&self, dmn: &CompiledDmn) -> (Vec<ProcessKey>, bool) {
        let mut fresh = false;
        let keys = dmn
            .decisions
            .iter()
            .map(|(id, _, _)| {
                let version = match self.by_hash.get(&(id.clone(), dmn.hash.clone())) {
                    Some(v) => *v,
                    None => {
                        fresh = true;
                        self.latest.get(id).copied().unwrap_or(0) + 1
                    }
                };
                ProcessKey {
                    id: id.clone(),
                    version,
                    hash: dmn.hash.clone(),
                }
            })
            .collect();
        (keys, fresh)
    }

    /// Registers a compiled file's decisions under `keys` (by decision id).
    pub fn register(&mut self, dmn: &CompiledDmn, keys: &[ProcessKey]) {
        for (id, name, table) in &dmn.decisions {
            let Some(key) = keys.iter().find(|k| &k.id == id) else {
                continue;
            };
            let latest = self.latest.entry(id.clone()).or_insert(0);
            *latest = (*latest).max(key.version);
            self.by_hash
                .insert((id.clone(), key.hash.clone()), key.version);
            self.by_key.insert(
                (id.clone(), key.version),
                Arc::new(DeployedDecision {
                    key: key.clone(),
                    name: name.clone(),
                    model: Arc::clone(&dmn.model),
                    table: table.clone(),
                }),
            );
        }
    }

    /// Ids and versions of every deployed decision.
    pub fn keys(&self) -> Vec<ProcessKey> {
        self.by_key.values().map(|d| d.key.clone()).collect()
    }

    fn find(&self, id: &str, version: Option<u32>) -> Result<&DeployedDecision, String> {
        let Some(latest) = self.latest.get(id) else {
            return Err(format!(
                "expected a deployed DMN decision with id `{id}`, found none"
            ));
        };
        let v = version.unwrap_or(*latest);
        self.by_key
            .get(&(id.to_string(), v))
            .map(|d| d.as_ref())
            .ok_or_else(|| {
                format!(
                    "expected version {v} of decision `{id}` to be deployed, found versions 1 to {latest}"
                )
            })
    }
}

impl Decisions for DecisionRegistry {
    fn evaluate(
        &self,
        id: &str,
        version: Option<u32>,
        input: &Map<String, Value>,
        now_millis: i64,
    ) -> Result<DecisionOutcome, String> {
        let d = self.find(id, version)?;
        let inputs = Inputs::from_json(&Value::Object(input.clone()))
            .map_err(|e| e.to_string())?
            .with_free_variables()
            .at(now_millis);
        let eval = d
            .model
            .evaluate(&d.name, &inputs)
            .map_err(|e| e.to_string())?;
        if let Some(v) = eval.audit.iter().find(|a| a.violation.is_some()) {
            let rules: Vec<&str> = v.matched.iter().map(|(_, id)| id.as_str()).collect();
            return Err(format!(
                "expected the hit policy {} to hold, found rules [{}] matching",
                v.violation.unwrap_or_default(),
                rules.join(", ")
            ));
        }
        if let dmn::Value::Null(Some(reason)) = &eval.value {
            return Err(reason.to_string());
        }
        let value = eval.value.to_json();
        let rules = match &d.table {
            None => {
                let mut m = Map::new();
                m.insert(id.to_string(), value.clone());
                vec![m]
            }
            Some(shape) => {
                let audit = if shape.table_id.is_empty() {
                    eval.audit.last()
                } else {
                    eval.audit
                        .iter()
                        .rev()
                        .find(|a| a.table_id == shape.table_id)
                };
                let matched = audit.map_or(0, |a| a.matched.len());
                if matched == 0 {
                    Vec::new()
                } else if shape.multi {
                    match &value {
                        Value::Array(items) => items.iter().map(|v| rule_of(shape, v)).collect(),
                        other => vec![rule_of(shape, other)],
                    }
                } else {
                    vec![rule_of(shape, &value)]
                }
            }
        };
        Ok(DecisionOutcome { value, rules })
    }
}

/// One matched rule's outputs by name.
fn rule_of(shape: &TableShape, value: &Value) -> Map<String, Value> {
    match (shape.outputs.as_slice(), value) {
        ([one], v) => {
            let mut m = Map::new();
            m.insert(one.clone(), v.clone());
            m
        }
        (_, Value::Object(o)) => o.clone(),
        (names, v) => {
            let mut m = Map::new();
            if let Some(first) = names.first() {
                m.insert(first.clone(), v.clone());
            }
            m
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_dmn_by_root_namespace() {
        let dmn = r#"<?xml version="1.0"?><!-- x --><definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"/>"#;
        assert!(is_dmn("a.xml", dmn));
        let bpmn =
            r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>"#;
        assert!(!is_dmn("a.dmn", bpmn));
        assert!(is_dmn("a.dmn", "not xml"));
        assert!(!is_dmn("a.bpmn", "not xml"));
    }
}
