//! Compensation and transactions (BPMN 2.0.2 §10.5.4 compensation and
//! cancel events, §10.3.5 transactions, §13.5.5 compensation semantics).
//!
//! An activity with a compensation boundary event, whose association leads
//! to its handler (`isForCompensation`), is recorded when it completes
//! ([`super::Compensable`]), with its own variables as they were then (its
//! local scope: input mappings, a sub-process's inner variables, a
//! multi-instance instance's element variable and counter). A sub-process
//! (or transaction) that completes takes the records of what completed
//! inside it as its children, so that compensating it compensates them.
//! Only completed activities are recorded; what a cancellation removes is
//! dropped. The inner instances of a multi-instance activity record into
//! its body, which hands the records on to its scope when it completes: a
//! multi-instance activity still running is not compensated (Camunda 7).
//!
//! A compensation throw or end event compensates, in reverse order of
//! completion, the records of its scope — or, inside an event
//! sub-process, of the scope around it — or only those of `activityRef`.
//! Each record is taken once. A record with a handler runs it: a token at
//! the handler, in the compensating scope, with the recorded variables in
//! its local scope (input mappings on top) over the current variables
//! around it; a sub-process without a handler
//! of its own has its children compensated instead, last completed first.
//! Handlers run one at a time — or, in a Camunda 7 file, all at once
//! (Camunda 7 starts the handlers of one scope as concurrent executions,
//! newest completion first: synchronous ones still finish in that order,
//! waiting ones all wait together). With `waitForCompletion` (the default)
//! the throwing event waits until the last handler is done; otherwise it
//! goes on at once and the handlers run beside it.
//!
//! A cancel end event in a transaction cancels everything still running in
//! it, compensates what completed in it, then leaves the transaction by its
//! cancel boundary event. A completed sub-process with a compensation
//! event sub-process is compensated by running it: in a new instance of the
//! sub-process's scope, with its recorded variables, where a compensation
//! throw compensates the sub-process's inner records. Deviation: a
//! transaction without a cancel boundary event completes normally after its
//! compensation.

use serde_json::{Map, Value};

use super::{
    AfterCompensation, Compensable, Event, Processor, ScopeId, TokenId, TokenState, containers,
    triggers,
};
use crate::compile::{ElementIdx, ElementKind, Trigger};

/// The scope instance a token's activity counts as running in: its own
/// scope, past the instance and body scopes of multi-instance activities.
pub(crate) fn defined_scope(p: &Processor<'_, '_>, mut scope: ScopeId) -> ScopeId {
    for _ in 0..10_000 {
        match p.state.scopes.get(&scope) {
            Some(s) if s.def.is_none() => match s.parent {
                Some(parent) => scope = parent,
                None => return scope,
            },
            _ => return scope,
        }
    }
    scope
}

/// An activity completed: record it when it can be compensated. `inner` is
/// the scope it ran (a sub-process's), whose records it takes.
pub(crate) fn record(p: &mut Processor<'_, '_>, token: TokenId, inner: Option<ScopeId>) {
    let Some((element, scope)) = p.state.tokens.get(&token).map(|t| (t.element, t.scope)) else {
        return;
    };
    let el = p.ctx.process.element(element);
    let inner = inner.filter(|_| {
        matches!(
            el.kind,
            ElementKind::SubProcess { .. } | ElementKind::AdHocSubProcess { .. }
        )
    });
    let has_children = inner.is_some_and(|i| p.state.compensables.iter().any(|c| c.scope == i));
    if el.compensation.is_none() && !has_children && compensation_event_sub(p, element).is_none() {
        return;
    }
    // The activity's own variables as they were: its local scope (input
    // mappings; a sub-process's inner variables) and, for an inner instance
    // of a multi-instance activity, its instance (element variable,
    // loopCounter). The handler sees the others as they are now.
    let mut variables = Map::new();
    let mut layers = Vec::new();
    if let Some(l) = inner.or_else(|| p.state.tokens.get(&token).and_then(|t| t.local)) {
        layers.push(l);
    }
    let mut cur = Some(scope);
    while let Some(s) = cur.and_then(|c| p.state.scopes.get(&c).map(|x| (c, x))) {
        if s.1.def.is_some() {
            break;
        }
        layers.push(s.0);
        cur = s.1.parent;
    }
    for l in layers.iter().rev() {
        if let Some(s) = p.state.scopes.get(l) {
            for (k, v) in &s.variables {
                variables.insert(k.clone(), v.clone());
            }
        }
    }
    let id = p.new_id();
    // An inner instance of a multi-instance activity records into the
    // body's scope: nothing of it can be compensated before the whole
    // activity completed (Camunda 7; the body then hands its records on).
    let scope = if super::loops::is_inner(p, token) {
        p.state
            .scopes
            .get(&scope)
            .and_then(|s| s.parent)
            .unwrap_or(scope)
    } else {
        defined_scope(p, scope)
    };
    p.emit(Event::CompensableRecorded {
        id,
        scope,
        element,
        variables,
        inner,
    });
}

/// A compensation throw or end event.
pub(crate) fn throw(p: &mut Processor<'_, '_>, token: TokenId, activity: Option<&str>, wait: bool) {
    let Some(scope) = p.state.tokens.get(&token).map(|t| t.scope) else {
        return;
    };
    let process = p.ctx.process;
    // Inside an event sub-process, the scope around it is compensated.
    let mut target = defined_scope(p, scope);
    if let Some(s) = p.state.scopes.get(&target)
        && let Some(def) = s.def
        && let Some(owner) = process.scope(def).owner
        && matches!(
            process.element(owner).kind,
            ElementKind::EventSubProcess { .. }
        )
        && let Some(parent) = s.parent
    {
        target = parent;
    }
    let wanted = activity.and_then(|a| process.element_by_id(a));
    let records: Vec<u64> = p
        .state
        .compensables
        .iter()
        .rev()
        .filter(|c| c.scope == target && wanted.is_none_or(|w| w == c.element))
        .map(|c| c.id)
        .collect();
    let then = if wait {
        p.emit(Event::TokenStateChanged {
            token,
            state: TokenState::Waiting,
        });
        AfterCompensation::Continue { token }
    } else {
        AfterCompensation::Nothing
    };
    let run = p.new_id();
    p.emit(Event::CompensationStarted {
        run,
        scope,
        records,
        then,
    });
    if !wait {
        p.schedule_complete(token);
    }
    next(p, run);
}

/// A cancel end event: its transaction is cancelled and compensated.
pub(crate) fn cancel_end(p: &mut Processor<'_, '_>, token: TokenId) {
    let Some((element, scope)) = p.state.tokens.get(&token).map(|t| (t.element, t.scope)) else {
        return;
    };
    let Some(transaction) = p.state.scopes.get(&scope).and_then(|s| s.owner) else {
        return;
    };
    p.emit(Event::ElementCompleted { token, element });
    containers::clear_scope(p, scope);
    let process = p.ctx.process;
    let boundary = p.state.tokens.get(&transaction).and_then(|t| {
        process
            .element(t.element)
            .boundaries
            .iter()
            .copied()
            .find(|b| {
                matches!(&process.element(*b).kind,
                    ElementKind::Boundary { triggers, .. } if triggers.iter().any(|t| matches!(t, Trigger::Cancel)))
            })
    });
    let records: Vec<u64> = p
        .state
        .compensables
        .iter()
        .rev()
        .filter(|c| c.scope == scope)
        .map(|c| c.id)
        .collect();
    let run = p.new_id();
    p.emit(Event::CompensationStarted {
        run,
        scope,
        records,
        then: AfterCompensation::CancelTransaction {
            transaction,
            boundary,
        },
    });
    next(p, run);
}

/// Starts the next handler of a run (every remaining one, with concurrent
/// compensation), or finishes it once nothing runs.
fn next(p: &mut Processor<'_, '_>, run: u64) {
    let concurrent = p.ctx.process.semantics.concurrent_compensation;
    loop {
        let Some(r) = p.state.compensations.iter().find(|r| r.id == run) else {
            return;
        };
        let scope = r.scope;
        let Some(first) = r.queue.first().cloned() else {
            if r.active.is_none() && r.running.is_empty() {
                finish(p, run);
            }
            return;
        };
        let process = p.ctx.process;
        match process.element(first.element).compensation {
            Some(handler) if concurrent => start_handler(p, run, scope, handler, &first, true),
            Some(handler) => {
                start_handler(p, run, scope, handler, &first, false);
                return;
            }
            None => match compensation_event_sub(p, first.element) {
                // One compensation event sub-process at a time.
                Some(_) if r.active.is_some() => return,
                Some(start) => {
                    start_event_sub(p, run, scope, &first, start);
                    return;
                }
                None => p.emit(Event::CompensationExpanded { run }),
            },
        }
    }
}

/// The compensation event sub-process start of a sub-process, if it has
/// one.
fn compensation_event_sub(p: &Processor<'_, '_>, element: ElementIdx) -> Option<ElementIdx> {
    let process = p.ctx.process;
    let ElementKind::SubProcess { scope, .. } = process.element(element).kind else {
        return None;
    };
    process.scope(scope).event_starts.iter().copied().find(|s| {
        matches!(&process.element(*s).kind,
            ElementKind::EventStart { triggers, .. } if triggers.iter().any(|t| matches!(t, Trigger::Compensate)))
    })
}

/// Compensates a completed sub-process by its compensation event
/// sub-process: a new instance of the sub-process's scope (its recorded
/// variables, its inner records) in which the event sub-process runs.
fn start_event_sub(
    p: &mut Processor<'_, '_>,
    run: u64,
    scope: ScopeId,
    record: &Compensable,
    start: ElementIdx,
) {
    let process = p.ctx.process;
    let ElementKind::SubProcess { scope: def, .. } = process.element(record.element).kind else {
        return;
    };
    let carrier = p.new_id();
    p.emit(Event::TokenCreated {
        token: carrier,
        element: record.element,
        scope,
    });
    let inner = p.new_id();
    p.emit(Event::ScopeOpened {
        scope: inner,
        parent: Some(scope),
        def: Some(def),
        owner: Some(carrier),
    });
    p.emit(Event::TokenLocalScope {
        token: carrier,
        scope: Some(inner),
    });
    p.emit(Event::VariablesSet {
        scope: inner,
        variables: record
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    });
    p.emit(Event::TokenStateChanged {
        token: carrier,
        state: TokenState::InScope(inner),
    });
    p.emit(Event::CompensationEventSubStarted {
        run,
        carrier,
        scope: inner,
    });
    triggers::start_event_sub(p, inner, start, false, Map::new());
}

/// The scope a compensation event sub-process ran in is done: the carrier
/// ends and the compensation goes on. False when `owner` is no carrier.
pub(crate) fn carrier_done(p: &mut Processor<'_, '_>, owner: TokenId, scope: ScopeId) -> bool {
    let Some(run) = p
        .state
        .compensations
        .iter()
        .find(|r| r.active == Some(owner))
        .map(|r| r.id)
    else {
        return false;
    };
    p.emit(Event::TokenLocalScope {
        token: owner,
        scope: None,
    });
    p.emit(Event::ScopeClosed { scope });
    p.emit(Event::TokenRemoved { token: owner });
    p.emit(Event::CompensationHandlerDone { run });
    next(p, run);
    true
}

/// Starts the handler of the run's next record, alone or (`beside`) with
/// the others.
fn start_handler(
    p: &mut Processor<'_, '_>,
    run: u64,
    scope: ScopeId,
    handler: ElementIdx,
    record: &Compensable,
    beside: bool,
) {
    let token = p.new_id();
    p.emit(Event::TokenCreated {
        token,
        element: handler,
        scope,
    });
    if beside {
        p.emit(Event::CompensationHandlerForked { run, token });
    } else {
        p.emit(Event::CompensationHandlerStarted { run, token });
    }
    let local = p.new_id();
    p.emit(Event::ScopeOpened {
        scope: local,
        parent: Some(scope),
        def: None,
        owner: Some(token),
    });
    p.emit(Event::TokenLocalScope {
        token,
        scope: Some(local),
    });
    p.emit(Event::VariablesSet {
        scope: local,
        variables: record
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    });
    if p.apply_inputs_into(token, local) {
        p.schedule_activate(token);
    }
}

/// A handler's token finished (it has no outgoing flows that matter: a
/// handler ends where it completes).
pub(crate) fn handler_done(p: &mut Processor<'_, '_>, token: TokenId) {
    let run = p
        .state
        .compensations
        .iter()
        .find(|r| r.active == Some(token) || r.running.contains(&token))
        .map(|r| (r.id, r.active == Some(token)));
    p.emit(Event::TokenRemoved { token });
    match run {
        Some((run, true)) => {
            p.emit(Event::CompensationHandlerDone { run });
            next(p, run);
        }
        Some((run, false)) => {
            p.emit(Event::CompensationForkDone { run, token });
            next(p, run);
        }
        None => {}
    }
}

fn finish(p: &mut Processor<'_, '_>, run: u64) {
    let Some(r) = p.state.compensations.iter().find(|r| r.id == run).cloned() else {
        return;
    };
    p.emit(Event::CompensationFinished { run });
    match r.then {
        AfterCompensation::Continue { token } => {
            if p.state.tokens.contains_key(&token) {
                p.emit(Event::TokenStateChanged {
                    token,
                    state: TokenState::Active,
                });
                p.schedule_complete(token);
            }
        }
        AfterCompensation::Nothing => containers::check_scope_complete(p, r.scope),
        AfterCompensation::CancelTransaction {
            transaction,
            boundary,
        } => match boundary {
            Some(b) => {
                triggers::fire_boundary(p, transaction, b, true, Map::<String, Value>::new())
            }
            None => containers::check_scope_complete(p, r.scope),
        },
    }
}

/// Runs of compensation in scopes being cancelled stop; what they had not
/// reached can be compensated again.
pub(crate) fn abort_in(p: &mut Processor<'_, '_>, scopes: &[ScopeId]) {
    let runs: Vec<u64> = p
        .state
        .compensations
        .iter()
        .filter(|r| scopes.contains(&r.scope))
        .map(|r| r.id)
        .collect();
    for run in runs {
        p.emit(Event::CompensationAborted { run });
    }
}
