//! Embedded sub-processes, event sub-processes and scope completion (BPMN
//! 2.0.2 §10.3.5, §13.3.4).
//!
//! An event sub-process is entered by the trigger of its start event
//! ([`super::triggers::start_event_sub`]), never by a flow: its token stands
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
use crate::compile::{ElementIdx, ScopeIdx};

pub(crate) fn enter(p: &mut Processor<'_, '_>, token: TokenId, def: ScopeIdx) {
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
    let Some(&start) = p.ctx.process.scope(def).start_events.first() else {
        return;
    };
    let inner = p.new_id();
    p.emit(Event::TokenCreated {
        token: inner,
        element: start,
        scope,
    });
    p.schedule_activate(inner);
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

/// Completes `scope` if nothing is left in it.
pub(crate) fn check_scope_complete(p: &mut Processor<'_, '_>, scope: ScopeId) {
    let Some(s) = p.state.scopes.get(&scope) else {
        return;
    };
    if s.tokens > 0 || p.state.joins.iter().any(|j| j.scope == scope) {
        return;
    }
    match (s.parent, s.owner) {
        (None, _) => {
            let at = p.ctx.now;
            p.emit(Event::InstanceCompleted { at });
        }
        (Some(_), Some(owner)) => {
            // The owner's output mappings still read this scope; completing
            // the owner closes it (it is the owner's local scope).
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
    let tokens: Vec<TokenId> = p
        .state
        .tokens
        .iter()
        .filter(|(_, t)| inside.contains(&t.scope))
        .map(|(id, _)| *id)
        .collect();
    let jobs: Vec<u64> = p
        .state
        .jobs
        .iter()
        .filter(|(_, j)| tokens.contains(&j.token))
        .map(|(id, _)| *id)
        .collect();
    for job in jobs {
        p.emit(Event::JobRemoved { job });
    }
    let timers: Vec<u64> = p
        .state
        .timers
        .iter()
        .filter(|(_, t)| tokens.contains(&t.token))
        .map(|(id, _)| *id)
        .collect();
    for timer in timers {
        p.emit(Event::TimerCancelled { timer });
    }
    let incidents: Vec<u64> = p
        .state
        .incidents
        .iter()
        .filter(|(_, x)| tokens.contains(&x.token))
        .map(|(id, _)| *id)
        .collect();
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
