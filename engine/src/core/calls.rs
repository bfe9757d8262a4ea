//! Call activities (BPMN 2.0.2 §10.3.6; Camunda 7 and 8 call activities).
//!
//! The core never touches another instance. A call activity computes the
//! child's process id and start variables and records
//! [`super::Event::ChildRequested`] — the child's instance id is derived
//! from the parent's (`<parent>.<call>`, a fresh id per call) so it is
//! known in the log — and
//! its token waits in [`super::TokenState::Called`]. The engine starts the
//! child after the command ([`super::Command::StartCalled`], which links it
//! back) and, when the child ends, tells the parent
//! ([`super::Command::ChildCompleted`]); an error or escalation the child
//! does not catch reaches the call activity ([`super::Command::ChildThrew`])
//! and travels on from there, the activity's own boundary events first
//! (an error ends the child). A call activity removed before its child
//! ends (cancelled, interrupted) has its child cancelled by the engine.
//!
//! Variables: Camunda 8 passes every variable the activity sees (its input
//! mappings included) unless `propagateAllParentVariables="false"` (then
//! only the input mappings), and takes every variable of the child back
//! unless `propagateAllChildVariables="false"` (output mappings see them
//! either way). Camunda 7 passes only what `camunda:in` names
//! (`variables="all"` for everything; `sourceExpression` evaluated in the
//! parent) and takes back only what `camunda:out` names (evaluated against
//! the child's variables).

use serde_json::{Map, Value};

use super::{Event, IncidentKind, Processor, TokenId};
use crate::compile::{CallSpec, CallVariables, CalledProcess, MappingSource};
use crate::expr::Vars;

pub(crate) fn activate(p: &mut Processor<'_, '_>, token: TokenId, spec: &CallSpec) {
    let process = match &spec.process {
        CalledProcess::Id(id) => id.clone(),
        CalledProcess::Expression(e) => match p.eval(token, e) {
            Ok(Value::String(s)) => s,
            Ok(other) => {
                let found = crate::expr::kind_of(&other);
                p.incident_of(
                    IncidentKind::CallActivity,
                    token,
                    false,
                    format!("called process id: expected a string, found {found}"),
                );
                return;
            }
            Err(msg) => {
                p.incident_of(
                    IncidentKind::CallActivity,
                    token,
                    false,
                    format!("called process id: {msg}"),
                );
                return;
            }
        },
    };
    let mut variables = Map::new();
    if spec.inputs.all {
        variables = p.with_vars(token, |v| v.merged().into_owned());
    } else if spec.inputs.mappings.is_empty() {
        // Camunda 8 without propagation: the input mappings only.
        if let Some(local) = p
            .state
            .tokens
            .get(&token)
            .and_then(|t| t.local)
            .and_then(|l| p.state.scopes.get(&l))
        {
            variables = local.variables.clone();
        }
    }
    for m in &spec.inputs.mappings {
        match p.mapping_value(token, &m.source) {
            Ok(value) => {
                variables.insert(m.target.clone(), value);
            }
            Err(msg) => {
                let target = &m.target;
                p.incident_of(
                    IncidentKind::IoMapping,
                    token,
                    false,
                    format!("camunda:in `{target}`: {msg}"),
                );
                return;
            }
        }
    }
    // A fresh id per call: a token that calls again (a loop, a retry)
    // starts a child with a new id.
    let call = p.new_id();
    let instance = format!("{}.{}", p.state.id, call);
    p.emit(Event::ChildRequested {
        token,
        call,
        instance,
        process,
        version: spec.version,
        deployment: spec.same_deployment.then(|| p.ctx.process.key.hash.clone()),
        variables,
    });
}

/// The variables a completed child gives back, by the call's outputs.
/// `mapped`: the activity has (Camunda 8) output mappings, which read the
/// child's variables even when they do not all propagate (they stay in
/// the activity's local scope).
pub(crate) fn returned(
    p: &Processor<'_, '_>,
    outputs: &CallVariables,
    mapped: bool,
    child: &Map<String, Value>,
) -> Result<Vec<(String, Value)>, String> {
    let mut out: Vec<(String, Value)> = if outputs.all || mapped {
        child.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    } else {
        Vec::new()
    };
    let layers = [child];
    for m in &outputs.mappings {
        let value = match &m.source {
            MappingSource::Variable(name) => child.get(name).cloned().unwrap_or(Value::Null),
            MappingSource::Literal(v) => v.clone(),
            MappingSource::Expr(e) => e
                .eval(p.ctx.scripts, Vars::new(&layers))
                .map_err(|e| format!("camunda:out `{}`: {}", m.target, e.message))?,
            _ => Value::Null,
        };
        out.push((m.target.clone(), value));
    }
    Ok(out)
}
