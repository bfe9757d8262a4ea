//! Embedded sub-processes, event sub-processes and scope completion (BPMN
//! 2.0.2 §10.3.5, §13.3.4).
//!
//! An event sub-process is entered by the trigger of its start event
//! (`triggers::start_event_sub`), never by a flow: its token stands
//! in the enclosing scope while its own scope runs, and completing it
//! consumes that token (it has no outgoing flows), so the enclosing scope
//! waits for it. Opening a scope instance opens the starts of the event
//! sub-processes directly in it and creates the variables of its data
//! objects (BPMN 2.0.2 §10.4.1: a data object lives as long as its scope).
//!
//! Entering a sub-process opens a scope instance whose variables are its
//! own (input mappings are written there) and starts a token at its none
//! start event; the sub-process completes when no token is left inside it
//! and no join in it holds a token. Its output mappings then see the inner
//! variables; without output mappings inner local variables are dropped,
//! while variables that already existed outside were updated in place by
//! propagation. The process scope completing completes the instance.

use serde_json::{Map, Value};

use super::{Event, Processor, ScopeId, TokenId, TokenState, triggers};
use crate::compile::{ElementIdx, ElementKind, ScopeIdx};

pub(crate) fn enter(p: &mut Processor<'_, '_>, token: TokenId, def: ScopeIdx) {
    if !enter_scope(p, token, def) {
        return;
    }
    let Some(scope) = p.state.tokens.get(&token).and_then(|t| t.local) else {
        return;
    };
    if p.ctx.process.scope(def).entry().is_empty() {
        // Nothing inside starts: the sub-process is complete at once.
        check_scope_complete(p, scope);
        return;
    }
    p.enter_scope_at_entry(def, scope);
}

/// Opens the scope of a sub-process for `token` (input mappings, data
/// objects, event sub-process starts); false when an input mapping failed.
fn enter_scope(p: &mut Processor<'_, '_>, token: TokenId, def: ScopeIdx) -> bool {
    let Some(t) = p.state.tokens.get(&token) else {
        return false;
    };
    let parent = t.scope;
    let scope = p.new_id();
    p.emit(Event::ScopeOpened {
        scope,
        parent: Some(parent),
        def: Some(def),
        owner: Some(token),
    });
    p.emit(Event::TokenLocalScope {
        token,
        scope: Some(scope),
    });
    if !p.apply_inputs_into(token, scope) {
        return false;
    }
    p.emit(Event::TokenStateChanged {
        token,
        state: TokenState::InScope(scope),
    });
    init_data_objects(p, scope);
    triggers::open_event_subs(p, scope);
    true
}

/// Enters an event sub-process: `token` stands on it, its scope opens with
/// a token at the start event that was triggered, which carries the
/// trigger's variables.
pub(crate) fn enter_at(
    p: &mut Processor<'_, '_>,
    token: TokenId,
    def: ScopeIdx,
    start: ElementIdx,
    variables: Map<String, Value>,
) {
    let Some(t) = p.state.tokens.get(&token) else {
        return;
    };
    let parent = t.scope;
    let scope = p.new_id();
    p.emit(Event::ScopeOpened {
        scope,
        parent: Some(parent),
        def: Some(def),
        owner: Some(token),
    });
    p.emit(Event::TokenLocalScope {
        token,
        scope: Some(scope),
    });
    if !p.apply_inputs_into(token, scope) {
        return;
    }
    p.emit(Event::TokenStateChanged {
        token,
        state: TokenState::InScope(scope),
    });
    init_data_objects(p, scope);
    triggers::open_event_subs(p, scope);
    let inner = p.new_id();
    p.emit(Event::TokenCreated {
        token: inner,
        element: start,
        scope,
    });
    p.set_result_variables(inner, variables.into_iter().collect());
    p.schedule_activate(inner);
}

/// A scope instance opened: the variables of its data objects are created
/// (null) unless already there (start variables may give them values).
pub(crate) fn init_data_objects(p: &mut Processor<'_, '_>, scope: ScopeId) {
    let Some(s) = p.state.scopes.get(&scope) else {
        return;
    };
    let Some(def) = s.def else {
        return;
    };
    let variables: Vec<(String, Value)> = p
        .ctx
        .process
        .scope(def)
        .data_objects
        .iter()
        .filter(|name| !s.variables.contains_key(name.as_str()))
        .map(|name| (name.clone(), Value::Null))
        .collect();
    if !variables.is_empty() {
        p.emit(Event::VariablesSet { scope, variables });
    }
}

/// Enters an ad-hoc sub-process: its activities without incoming flows
/// are enabled (Camunda 8 `activeElementsCollection` picks them by id) —
/// all at once, or in document order one after the other when sequential.
pub(crate) fn enter_ad_hoc(p: &mut Processor<'_, '_>, token: TokenId, def: ScopeIdx) {
    let process = p.ctx.process;
    let Some(t) = p.state.tokens.get(&token) else {
        return;
    };
    let ElementKind::AdHocSubProcess {
        sequential, active, ..
    } = &process.element(t.element).kind
    else {
        return;
    };
    let chosen: Option<Vec<String>> = match active {
        None => None,
        Some(e) => {
            match p.eval(token, e) {
                Ok(Value::Array(ids)) => Some(
                    ids.iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect(),
                ),
                Ok(other) => {
                    let found = crate::expr::kind_of(&other);
                    p.incident(
                    token,
                    false,
                    format!("activeElementsCollection: expected a list of element ids, found {found}"),
                );
                    return;
                }
                Err(msg) => {
                    p.incident(token, false, format!("activeElementsCollection: {msg}"));
                    return;
                }
            }
        }
    };
    let enabled: Vec<Value> = process
        .elements
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.scope == def
                && e.incoming.is_empty()
                && !e.for_compensation
                && !matches!(
                    e.kind,
                    ElementKind::Boundary { .. }
                        | ElementKind::EventSubProcess { .. }
                        | ElementKind::EventStart { .. }
                        | ElementKind::StartEvent
                )
                && chosen.as_ref().is_none_or(|c| c.contains(&e.id))
        })
        .map(|(i, _)| Value::from(i as u64))
        .collect();
    let sequential = *sequential;
    if !enter_scope(p, token, def) {
        return;
    }
    let Some(scope) = p.state.tokens.get(&token).and_then(|t| t.local) else {
        return;
    };
    let count = enabled.len() as u64;
    p.emit(Event::LoopEntered {
        token,
        scope,
        items: enabled,
        count,
    });
    if count == 0 {
        check_scope_complete(p, scope);
        return;
    }
    let first = if sequential { 1 } else { count };
    for _ in 0..first {
        start_ad_hoc_activity(p, token, scope);
    }
}

/// Starts the next enabled activity of an ad-hoc sub-process.
fn start_ad_hoc_activity(p: &mut Processor<'_, '_>, owner: TokenId, scope: ScopeId) {
    let Some(l) = p.state.loops.get(&owner) else {
        return;
    };
    let Some(element) = l
        .items
        .get(l.started as usize)
        .and_then(Value::as_u64)
        .map(|i| ElementIdx(i as u32))
    else {
        return;
    };
    p.emit(Event::LoopInstanceStarted { token: owner });
    let inner = p.new_id();
    p.emit(Event::TokenCreated {
        token: inner,
        element,
        scope,
    });
    p.schedule_activate(inner);
}

/// An element completed in `scope`: in an ad-hoc sub-process, its
/// completion condition is checked (when it holds, the rest is cancelled
/// if `cancelRemainingInstances`, and the sub-process completes once
/// nothing runs in it).
pub(crate) fn after_inner_completion(p: &mut Processor<'_, '_>, scope: ScopeId) {
    let Some(s) = p.state.scopes.get(&scope) else {
        return;
    };
    let (Some(def), Some(owner)) = (s.def, s.owner) else {
        return;
    };
    let process = p.ctx.process;
    let Some(owner_el) = process.scope(def).owner else {
        return;
    };
    let ElementKind::AdHocSubProcess {
        completion: Some(c),
        cancel_remaining,
        ..
    } = &process.element(owner_el).kind
    else {
        return;
    };
    // A condition that fails to evaluate counts as not holding (the
    // sub-process's token waits in its scope and cannot take an incident).
    if let Ok(true) = p.eval_bool_with(scope, &Map::new(), c) {
        // Nothing more starts; with cancelRemainingInstances what runs
        // is cancelled (the completing token itself goes on to its end).
        if let Some(l) = p.state.loops.get(&owner).cloned() {
            for _ in l.started..l.count {
                p.emit(Event::LoopInstanceStarted { token: owner });
            }
        }
        if *cancel_remaining {
            let others: Vec<TokenId> = super::keys_where(p.state.tokens.iter(), |t| {
                t.scope == scope && t.state != TokenState::Active
            });
            for t in others {
                let local = p.state.tokens.get(&t).and_then(|x| x.local);
                super::triggers::cancel_activity(p, t, local);
            }
        }
    }
}

/// Completes `scope` if nothing is left in it.
pub(crate) fn check_scope_complete(p: &mut Processor<'_, '_>, scope: ScopeId) {
    let Some(s) = p.state.scopes.get(&scope) else {
        return;
    };
    if s.tokens > 0 || p.state.joins.iter().any(|j| j.scope == scope) {
        return;
    }
    // A sequential ad-hoc sub-process starts its next activity.
    if let Some(owner) = s.owner
        && let Some(l) = p.state.loops.get(&owner)
        && l.scope == scope
        && l.started < l.count
    {
        start_ad_hoc_activity(p, owner, scope);
        return;
    }
    match (s.parent, s.owner) {
        (None, _) => {
            let at = p.ctx.now;
            p.emit(Event::InstanceCompleted { at });
        }
        (Some(_), Some(owner)) => {
            if super::compensation::carrier_done(p, owner, scope) {
                return;
            }
            // The owner's output mappings still read this scope; completing
            // the owner closes it (it is the owner's local scope).
            if p.state.loops.get(&owner).is_some_and(|l| l.scope == scope) {
                // An ad-hoc sub-process is done with its activities.
                p.emit(Event::LoopLeft { token: owner });
            }
            p.emit(Event::TokenStateChanged {
                token: owner,
                state: TokenState::Active,
            });
            p.schedule_complete(owner);
        }
        (Some(_), None) => {}
    }
}

/// Removes everything inside `scope`: tokens, their jobs, timers and
/// incidents, joins, and nested scopes (terminate end event, cancellation).
pub(crate) fn clear_scope(p: &mut Processor<'_, '_>, scope: ScopeId) {
    let mut inside = vec![scope];
    let mut i = 0;
    while i < inside.len() {
        let cur = inside[i];
        inside.extend(
            p.state
                .scopes
                .iter()
                .filter(|(_, s)| s.parent == Some(cur))
                .map(|(id, _)| *id),
        );
        i += 1;
    }
    if !p.state.compensations.is_empty() {
        super::compensation::abort_in(p, &inside);
    }
    let tokens: Vec<TokenId> =
        super::keys_where(p.state.tokens.iter(), |t| inside.contains(&t.scope));
    let jobs: Vec<u64> = super::keys_where(&p.state.jobs, |j| tokens.contains(&j.token));
    for job in jobs {
        p.emit(Event::JobRemoved { job });
    }
    let timers: Vec<u64> = super::keys_where(&p.state.timers, |t| tokens.contains(&t.token));
    for timer in timers {
        p.emit(Event::TimerCancelled { timer });
    }
    let incidents: Vec<u64> = super::keys_where(&p.state.incidents, |x| tokens.contains(&x.token));
    for incident in incidents {
        p.emit(Event::IncidentResolved { incident });
    }
    let joins: Vec<_> = p
        .state
        .joins
        .iter()
        .filter(|j| inside.contains(&j.scope))
        .map(|j| (j.scope, j.element, j.arrived.clone()))
        .collect();
    for (scope, element, flows) in joins {
        p.emit(Event::JoinConsumed {
            scope,
            element,
            flows,
        });
    }
    for token in tokens {
        p.emit(Event::TokenRemoved { token });
    }
    for s in inside.into_iter().skip(1).rev() {
        p.emit(Event::ScopeClosed { scope: s });
    }
}
