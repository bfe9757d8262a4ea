//! Multi-instance and standard loop activities (BPMN 2.0.2 §10.3.8 loop
//! characteristics, §13.3.7 execution semantics; Camunda 7 and 8
//! multi-instance).
//!
//! A token arriving at a looping activity becomes the token of its *body*:
//! it opens a body scope (`nrOfInstances`, `nrOfActiveInstances`,
//! `nrOfCompletedInstances` and a Camunda 8 output collection live there)
//! and waits in it like a sub-process. Each inner instance is a token at the
//! same element in its own instance scope under the body scope, holding the
//! element variable (`camunda:elementVariable`, `zeebe:loopCharacteristics
//! inputElement`) and `loopCounter` (from 1 in Camunda 8, from 0 otherwise).
//! Inner instances run the activity normally — input mappings, job,
//! sub-process, output mappings — and each counts as one completion of the
//! element; the body itself is not counted. Boundary events belong to the
//! body: they open when the body starts and an interrupting one cancels
//! every inner instance.
//!
//! Multi-instance: the input collection (or `loopCardinality`) is evaluated
//! once on entry; parallel starts every instance at once, sequential one
//! after the other. After each inner instance, its output element —
//! evaluated in the inner instance, before its scope closes — goes to its
//! position in the output collection (input order; kept in the body's
//! [`super::LoopState`], one event per item, so a body of n instances
//! costs O(n)), the counters are updated and the `completionCondition` is
//! evaluated with the body's variables and the output collection so far:
//! when it holds, the remaining instances are cancelled. The body then
//! leaves by the activity's outgoing flows and the output collection is set
//! like a result variable (null where an instance never completed).
//! Deviation: inside the body the output collection is not a variable
//! (only the completion condition and what follows the body see it).
//!
//! Standard loop (which Camunda does not support): iterations run one after
//! the other while `loopCondition` holds — checked before each iteration
//! with `testBefore`, after each otherwise — at most `loopMaximum` times.
//!
//! A collection that is not a list, a cardinality that is not a
//! non-negative whole number, or a condition that fails raises an incident
//! (at the arriving token on entry, at the body afterwards; resolving the
//! body's incident checks the loop again). Deviation: the completion
//! condition sees the body's variables and the process's, not the variables
//! of the inner instance that just completed.

use serde_json::{Value, json};

use super::{Event, Processor, ScopeId, TokenId, TokenState, containers};
use crate::compile::{LoopKind, LoopSpec};
use crate::core::triggers;

/// Whether a token is an inner instance of a loop body (it stands in an
/// instance scope, which no scope definition owns).
pub(crate) fn is_inner(p: &Processor<'_, '_>, token: TokenId) -> bool {
    p.state
        .tokens
        .get(&token)
        .and_then(|t| p.state.scopes.get(&t.scope))
        .is_some_and(|s| s.def.is_none())
}

/// The variables a multi-instance body keeps for itself: an inner
/// instance's call must not overwrite them with the copies it was given.
pub(crate) fn bookkeeping(spec: &LoopSpec) -> Vec<String> {
    let mut names: Vec<String> = [
        "loopCounter",
        "nrOfInstances",
        "nrOfActiveInstances",
        "nrOfCompletedInstances",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let LoopKind::Multi {
        element_variable,
        output_collection,
        ..
    } = &spec.kind
    {
        names.extend(element_variable.iter().cloned());
        names.extend(output_collection.iter().cloned());
    }
    names
}

/// A token arrives at a looping activity (or its body's incident was
/// resolved: the loop is checked again).
pub(crate) fn activate_body(p: &mut Processor<'_, '_>, token: TokenId, spec: &LoopSpec) {
    if p.state.loops.contains_key(&token) {
        advance(p, token, spec);
        return;
    }
    let Some((parent, element)) = p.state.tokens.get(&token).map(|t| (t.scope, t.element)) else {
        return;
    };
    let (items, count) = match &spec.kind {
        LoopKind::Multi {
            collection,
            cardinality,
            ..
        } => match input(p, token, collection.as_ref(), cardinality.as_ref()) {
            Ok(x) => x,
            Err(msg) => {
                p.incident(token, false, msg);
                return;
            }
        },
        LoopKind::Standard {
            test_before,
            condition,
            ..
        } => {
            if *test_before && !holds(p, token, condition.as_ref(), "loop condition") {
                if p.state
                    .tokens
                    .get(&token)
                    .is_some_and(|t| t.state == TokenState::Active)
                {
                    p.schedule_leave(token);
                }
                return;
            }
            (Vec::new(), 0)
        }
    };
    let el = p.ctx.process.element(element);
    if !el.boundaries.is_empty() && !triggers::open_boundaries(p, token) {
        return;
    }
    let scope = p.new_id();
    p.emit(Event::ScopeOpened {
        scope,
        parent: Some(parent),
        def: None,
        owner: Some(token),
    });
    p.emit(Event::TokenLocalScope {
        token,
        scope: Some(scope),
    });
    p.emit(Event::LoopEntered {
        token,
        scope,
        items,
        count,
    });
    let vars = vec![
        ("nrOfInstances".to_string(), json!(count)),
        ("nrOfActiveInstances".to_string(), json!(0)),
        ("nrOfCompletedInstances".to_string(), json!(0)),
    ];
    p.emit(Event::VariablesSet {
        scope,
        variables: vars,
    });
    p.emit(Event::TokenStateChanged {
        token,
        state: TokenState::InScope(scope),
    });
    match &spec.kind {
        LoopKind::Multi { .. } if count == 0 => finish(p, token, spec),
        LoopKind::Multi {
            sequential: false, ..
        } => {
            for _ in 0..count {
                start_instance(p, token, spec);
            }
        }
        _ => start_instance(p, token, spec),
    }
}

/// The items (or the count) of a multi-instance activity.
fn input(
    p: &Processor<'_, '_>,
    token: TokenId,
    collection: Option<&crate::expr::Expr>,
    cardinality: Option<&crate::expr::Expr>,
) -> Result<(Vec<Value>, u64), String> {
    if let Some(c) = collection {
        return match p.eval(token, c) {
            Ok(Value::Array(items)) => {
                let n = items.len() as u64;
                Ok((items, n))
            }
            Ok(other) => Err(format!(
                "multi-instance input collection: expected a list, found {}",
                crate::expr::kind_of(&other)
            )),
            Err(msg) => Err(format!("multi-instance input collection: {msg}")),
        };
    }
    let Some(c) = cardinality else {
        return Ok((Vec::new(), 0));
    };
    match p.eval(token, c) {
        Ok(v) => match v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1e15)
                .map(|f| f as u64)
        }) {
            Some(n) if n <= 1_000_000 => Ok((Vec::new(), n)),
            _ => Err(format!(
                "loopCardinality: expected a whole number from 0 to 1000000, found `{v}`"
            )),
        },
        Err(msg) => Err(format!("loopCardinality: {msg}")),
    }
}

/// Evaluates an optional condition at the token; a missing one holds. A
/// failure raises an incident there and counts as not holding.
fn holds(
    p: &mut Processor<'_, '_>,
    token: TokenId,
    condition: Option<&crate::expr::Expr>,
    what: &str,
) -> bool {
    let Some(c) = condition else {
        return true;
    };
    match p.eval_bool(token, c) {
        Ok(b) => b,
        Err(msg) => {
            p.incident(token, false, format!("{what}: {msg}"));
            false
        }
    }
}

/// Starts the next inner instance of the body of `body`.
fn start_instance(p: &mut Processor<'_, '_>, body: TokenId, spec: &LoopSpec) {
    let Some(l) = p.state.loops.get(&body) else {
        return;
    };
    let Some(element) = p.state.tokens.get(&body).map(|t| t.element) else {
        return;
    };
    let index = l.started;
    let body_scope = l.scope;
    let mut vars = vec![(
        "loopCounter".to_string(),
        json!(spec.counter_base + index as i64),
    )];
    if let LoopKind::Multi {
        element_variable: Some(name),
        ..
    } = &spec.kind
    {
        let item = l
            .items
            .get(usize::try_from(index).unwrap_or(usize::MAX))
            .cloned()
            .unwrap_or(Value::Null);
        vars.push((name.clone(), item));
    }
    let scope = p.new_id();
    p.emit(Event::ScopeOpened {
        scope,
        parent: Some(body_scope),
        def: None,
        owner: Some(body),
    });
    p.emit(Event::VariablesSet {
        scope,
        variables: vars,
    });
    p.emit(Event::LoopInstanceStarted { token: body });
    set_counters(p, body);
    let inner = p.new_id();
    p.emit(Event::TokenCreated {
        token: inner,
        element,
        scope,
    });
    p.schedule_activate(inner);
}

/// Writes `nrOfActiveInstances` and `nrOfCompletedInstances`.
fn set_counters(p: &mut Processor<'_, '_>, body: TokenId) {
    let Some(l) = p.state.loops.get(&body) else {
        return;
    };
    let variables = vec![
        (
            "nrOfActiveInstances".to_string(),
            json!(l.started - l.completed),
        ),
        ("nrOfCompletedInstances".to_string(), json!(l.completed)),
    ];
    let scope = l.scope;
    p.emit(Event::VariablesSet { scope, variables });
}

/// An inner instance completed (its outputs applied, its output element
/// collected, its completion recorded): its token and scope end, and the
/// loop goes on or finishes.
pub(crate) fn inner_done(p: &mut Processor<'_, '_>, token: TokenId, spec: &LoopSpec) {
    let Some(scope) = p.state.tokens.get(&token).map(|t| t.scope) else {
        return;
    };
    let Some(body) = p.state.scopes.get(&scope).and_then(|s| s.owner) else {
        return;
    };
    if !p.state.loops.contains_key(&body) {
        return;
    }
    p.emit(Event::TokenRemoved { token });
    p.emit(Event::ScopeClosed { scope });
    p.emit(Event::LoopInstanceCompleted { token: body });
    set_counters(p, body);
    advance(p, body, spec);
}

/// An inner instance is completing (its output mappings applied, its local
/// scope — a sub-process's variables — still open): its output element is
/// evaluated there and stored at its position in the output collection.
/// Returns false when an incident stopped it.
pub(crate) fn collect_output(p: &mut Processor<'_, '_>, token: TokenId, spec: &LoopSpec) -> bool {
    let LoopKind::Multi {
        output_collection: Some(_),
        output_element,
        ..
    } = &spec.kind
    else {
        return true;
    };
    let Some(scope) = p.state.tokens.get(&token).map(|t| t.scope) else {
        return false;
    };
    let Some(body) = p.state.scopes.get(&scope).and_then(|s| s.owner) else {
        return true;
    };
    if !p.state.loops.contains_key(&body) {
        return true;
    }
    let value = match output_element {
        Some(e) => match p.eval(token, e) {
            Ok(v) => v,
            Err(msg) => {
                p.incident(
                    token,
                    false,
                    format!("multi-instance output element: {msg}"),
                );
                return false;
            }
        },
        None => Value::Null,
    };
    let index = p
        .state
        .scopes
        .get(&scope)
        .and_then(|s| s.variables.get("loopCounter"))
        .and_then(Value::as_i64)
        .map_or(0, |c| c - spec.counter_base);
    if let Ok(index) = u64::try_from(index) {
        p.emit(Event::LoopOutput {
            token: body,
            index,
            value,
        });
    }
    true
}

/// The output collection so far, `count` long (null where no inner
/// instance completed).
fn output_list(p: &Processor<'_, '_>, body: TokenId) -> Value {
    let Some(l) = p.state.loops.get(&body) else {
        return Value::Array(Vec::new());
    };
    let n = usize::try_from(l.count).unwrap_or(0).max(l.outputs.len());
    let mut list = l.outputs.clone();
    list.resize(n, Value::Null);
    Value::Array(list)
}

/// A body's counters.
struct Progress {
    scope: ScopeId,
    count: u64,
    started: u64,
    completed: u64,
}

/// After an inner instance: finish when the loop is done (or its
/// completion condition holds), else start the next sequential instance or
/// iteration, else keep waiting for the parallel ones.
fn advance(p: &mut Processor<'_, '_>, body: TokenId, spec: &LoopSpec) {
    // The counters only: the items and outputs stay where they are.
    let Some(l) = p.state.loops.get(&body).map(|l| Progress {
        scope: l.scope,
        count: l.count,
        started: l.started,
        completed: l.completed,
    }) else {
        return;
    };
    p.emit(Event::TokenStateChanged {
        token: body,
        state: TokenState::InScope(l.scope),
    });
    let active = l.started - l.completed;
    match &spec.kind {
        LoopKind::Multi {
            sequential,
            completion,
            ..
        } => {
            if let Some(c) = completion
                && l.completed > 0
            {
                // The condition sees the output collection so far.
                let holds = match &spec.kind {
                    LoopKind::Multi {
                        output_collection: Some(name),
                        ..
                    } => {
                        let mut extra = serde_json::Map::new();
                        extra.insert(name.clone(), output_list(p, body));
                        p.eval_bool_with(l.scope, &extra, c)
                    }
                    _ => p.eval_bool(body, c),
                };
                match holds {
                    Ok(true) => {
                        finish(p, body, spec);
                        return;
                    }
                    Ok(false) => {}
                    Err(msg) => {
                        p.incident(body, false, format!("completionCondition: {msg}"));
                        return;
                    }
                }
            }
            if l.completed >= l.count {
                finish(p, body, spec);
            } else if *sequential && active == 0 && l.started < l.count {
                start_instance(p, body, spec);
            }
        }
        LoopKind::Standard {
            maximum, condition, ..
        } => {
            if active > 0 {
                return;
            }
            if maximum.is_some_and(|m| l.completed >= m) {
                finish(p, body, spec);
                return;
            }
            let Some(c) = condition else {
                // No condition: a loop that never ends by itself; the
                // maximum (when given) ends it above.
                if maximum.is_none() {
                    finish(p, body, spec);
                } else {
                    start_instance(p, body, spec);
                }
                return;
            };
            match p.eval_bool(body, c) {
                Ok(true) => start_instance(p, body, spec),
                Ok(false) => finish(p, body, spec),
                Err(msg) => p.incident(body, false, format!("loop condition: {msg}")),
            }
        }
    }
}

/// The body is done: remaining inner instances are cancelled, the output
/// collection is set and the body leaves by the activity's flows.
fn finish(p: &mut Processor<'_, '_>, body: TokenId, spec: &LoopSpec) {
    let Some(body_scope) = p.state.loops.get(&body).map(|l| l.scope) else {
        return;
    };
    let instances: Vec<ScopeId> =
        super::keys_where(p.state.scopes.iter(), |s| s.parent == Some(body_scope));
    for scope in instances {
        containers::clear_scope(p, scope);
        p.emit(Event::ScopeClosed { scope });
    }
    let mut result = Vec::new();
    if let LoopKind::Multi {
        output_collection: Some(name),
        ..
    } = &spec.kind
    {
        result.push((name.clone(), output_list(p, body)));
    }
    triggers::close_token(p, body);
    if let Some(to) = p.state.tokens.get(&body).map(|t| t.scope)
        && p.state.compensables.iter().any(|c| c.scope == body_scope)
    {
        let to = super::compensation::defined_scope(p, to);
        p.emit(Event::CompensablesMoved {
            from: body_scope,
            to,
        });
    }
    p.emit(Event::LoopLeft { token: body });
    p.emit(Event::TokenLocalScope {
        token: body,
        scope: None,
    });
    p.emit(Event::ScopeClosed { scope: body_scope });
    p.emit(Event::TokenStateChanged {
        token: body,
        state: TokenState::Active,
    });
    if !result.is_empty() {
        p.set_propagating(body, result);
    }
    p.schedule_leave(body);
}
