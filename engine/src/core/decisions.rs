//! Business rule tasks (BPMN 2.0.2 §10.3.3 business rule task; Camunda 7
//! `camunda:decisionRef`, Camunda 8 `zeebe:calledDecision`).
//!
//! The task evaluates a deployed DMN decision with the variables it sees
//! and stores the result in its result variable, inside the step: a
//! decision is a pure function of its input, so the core stays
//! deterministic. Decisions come from the engine through [`Decisions`]
//! (the core knows nothing of DMN files). Camunda 8 stores the decision's
//! value as DMN gives it; Camunda 7 maps the matched rules' outputs by
//! `mapDecisionResult` (`resultList` by default; `singleEntry`,
//! `singleResult` and `collectEntries` raise an incident when the result
//! does not have their shape, as Camunda 7 fails the task). A decision that
//! is not deployed or fails raises an incident at the task.

use serde_json::{Map, Value};

use super::{IncidentKind, Processor, TokenId};
use crate::compile::{CalledProcess, DecisionMapping, DecisionSpec};

/// A decision's outcome: its value as DMN gives it, and the outputs of
/// each matched rule (one map per rule, output name → value).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionOutcome {
    pub value: Value,
    pub rules: Vec<Map<String, Value>>,
}

/// The deployed decisions, as the core sees them.
pub trait Decisions {
    /// Evaluates decision `id` (its latest version, or `version`) with
    /// `input`, at `now_millis` (FEEL's `now()` and `today()`: the
    /// command's time). `Err` is the incident message.
    fn evaluate(
        &self,
        id: &str,
        version: Option<u32>,
        input: &Map<String, Value>,
        now_millis: i64,
    ) -> Result<DecisionOutcome, String>;
}

pub(crate) fn evaluate(p: &mut Processor<'_, '_>, token: TokenId, spec: &DecisionSpec) {
    let id = match &spec.decision {
        CalledProcess::Id(id) => id.clone(),
        CalledProcess::Expression(e) => match p.eval(token, e) {
            Ok(Value::String(s)) => s,
            Ok(other) => {
                let found = crate::expr::kind_of(&other);
                p.incident_of(
                    IncidentKind::Decision,
                    token,
                    false,
                    format!("decision id: expected a string, found {found}"),
                );
                return;
            }
            Err(msg) => {
                p.incident_of(
                    IncidentKind::Decision,
                    token,
                    false,
                    format!("decision id: {msg}"),
                );
                return;
            }
        },
    };
    let Some(decisions) = p.ctx.decisions else {
        p.incident_of(
            IncidentKind::Decision,
            token,
            false,
            format!("decision `{id}`: expected a deployed DMN decision of that id, found no decisions deployed"),
        );
        return;
    };
    let input = p.with_vars(token, |v| v.merged().into_owned());
    let outcome = match decisions.evaluate(&id, spec.version, &input, p.ctx.now) {
        Ok(o) => o,
        Err(msg) => {
            p.incident_of(
                IncidentKind::Decision,
                token,
                false,
                format!("decision `{id}`: {msg}"),
            );
            return;
        }
    };
    let value = match map_result(spec.mapping, outcome) {
        Ok(v) => v,
        Err(msg) => {
            p.incident_of(
                IncidentKind::Decision,
                token,
                false,
                format!("decision `{id}`: {msg}"),
            );
            return;
        }
    };
    if let Some(name) = &spec.result_variable {
        p.set_result_variables(token, vec![(name.clone(), value)]);
    }
    p.schedule_complete(token);
}

/// Applies `mapDecisionResult`.
pub fn map_result(mapping: DecisionMapping, outcome: DecisionOutcome) -> Result<Value, String> {
    let rules = outcome.rules;
    let single = |rules: Vec<Map<String, Value>>| -> Result<Option<Map<String, Value>>, String> {
        match rules.len() {
            0 => Ok(None),
            1 => Ok(rules.into_iter().next()),
            n => Err(format!(
                "expected at most one matched rule for this mapDecisionResult, found {n}"
            )),
        }
    };
    let entry = |rule: Map<String, Value>| -> Result<Value, String> {
        match rule.len() {
            1 => Ok(rule
                .into_iter()
                .next()
                .map(|(_, v)| v)
                .unwrap_or(Value::Null)),
            n => Err(format!(
                "expected one output per matched rule for this mapDecisionResult, found {n}"
            )),
        }
    };
    match mapping {
        DecisionMapping::Value => Ok(outcome.value),
        DecisionMapping::ResultList => {
            Ok(Value::Array(rules.into_iter().map(Value::Object).collect()))
        }
        DecisionMapping::SingleResult => {
            Ok(single(rules)?.map(Value::Object).unwrap_or(Value::Null))
        }
        DecisionMapping::SingleEntry => match single(rules)? {
            Some(rule) => entry(rule),
            None => Ok(Value::Null),
        },
        DecisionMapping::CollectEntries => rules
            .into_iter()
            .map(entry)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}
