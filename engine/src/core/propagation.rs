//! Errors and escalations finding their catcher (BPMN 2.0.2 §10.5.4 error
//! and escalation events, §10.5.3 boundary events, §10.3.5 event
//! sub-processes).
//!
//! A thrown error or escalation travels outwards from where it was thrown:
//! first the boundary events of the activity that threw it (a job worker,
//! handler or script reporting a BPMN error), then, scope by scope, the
//! event sub-processes of the scope the thrower stands in and the boundary
//! events of the sub-process that owns that scope, up to the process. The
//! first level with a catcher takes it: a catcher naming the thrown code
//! wins over a catch-all (no errorRef/escalationRef, or one without a code)
//! at the same level. An error always interrupts (the thrower is cancelled
//! with its scope or activity); an escalation interrupts when its catcher
//! does, and otherwise the thrower goes on. The thrown variables (a
//! worker's, or the throw event's input mappings) are set at the catching
//! event and propagate from there.
//!
//! The boundary events of a multi-instance activity belong to its body: an
//! error or escalation from an inner instance is caught there (an
//! interrupting catch cancels every inner instance, and the body leaves by
//! the boundary event only), never by one inner instance's copy of them.
//!
//! An event sub-process does not catch what is thrown directly in it (an
//! escalation re-thrown by an escalation end event of the event sub-process
//! it started travels outwards, as Camunda 7 does); another event
//! sub-process of the same scope may catch it.

use serde_json::{Map, Value};

use super::triggers;
use super::{Processor, ScopeId, TokenId};
use crate::compile::{ElementIdx, ElementKind, Trigger};

/// What is thrown.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Thrown {
    Error {
        code: String,
        message: Option<String>,
    },
    Escalation {
        code: String,
    },
}

/// How well a trigger catches `thrown`: 2 by code, 1 as a catch-all.
fn score(t: &Trigger, thrown: &Thrown) -> u8 {
    match (t, thrown) {
        (Trigger::Error { code: Some(c) }, Thrown::Error { code, .. })
        | (Trigger::Escalation { code: Some(c) }, Thrown::Escalation { code })
            if c == code =>
        {
            2
        }
        (Trigger::Error { code: None }, Thrown::Error { .. })
        | (Trigger::Escalation { code: None }, Thrown::Escalation { .. }) => 1,
        _ => 0,
    }
}

/// The best catcher among `elements` (boundary events or event sub-process
/// starts), with whether it interrupts.
fn best(
    p: &Processor<'_, '_>,
    elements: &[ElementIdx],
    thrown: &Thrown,
) -> Option<(ElementIdx, bool)> {
    let process = p.ctx.process;
    let mut found: Option<(u8, ElementIdx, bool)> = None;
    for &e in elements {
        let (triggers, interrupting) = match &process.element(e).kind {
            ElementKind::Boundary {
                triggers,
                cancel_activity,
                ..
            } => (triggers, *cancel_activity),
            ElementKind::EventStart {
                triggers,
                interrupting,
            } => (triggers, *interrupting),
            _ => continue,
        };
        let s = triggers.iter().map(|t| score(t, thrown)).max().unwrap_or(0);
        if s > found.map_or(0, |f| f.0) {
            found = Some((s, e, interrupting));
        }
    }
    // An error always interrupts.
    found.map(|(_, e, i)| (e, i || matches!(thrown, Thrown::Error { .. })))
}

/// The catcher's `errorCodeVariable` / `errorMessageVariable` /
/// `escalationCodeVariable` (Camunda 7) receive what was thrown.
fn caught_into(
    p: &Processor<'_, '_>,
    catcher: ElementIdx,
    thrown: &Thrown,
    variables: &mut Map<String, Value>,
) {
    let Some(names) = &p.ctx.process.element(catcher).catch_variables else {
        return;
    };
    let (code, message) = match thrown {
        Thrown::Error { code, message } => (code, message.as_deref()),
        Thrown::Escalation { code } => (code, None),
    };
    if let Some(name) = &names.code {
        variables.insert(name.clone(), Value::String(code.clone()));
    }
    if let (Some(name), Some(m)) = (&names.message, message) {
        variables.insert(name.clone(), Value::String(m.to_string()));
    }
}

/// Delivers `thrown` from `token` to its nearest catcher; `own` when the
/// token's own activity threw it (its boundary events are looked at first).
/// Returns false when nothing catches it.
pub(crate) fn propagate(
    p: &mut Processor<'_, '_>,
    token: TokenId,
    own: bool,
    thrown: &Thrown,
    variables: Map<String, Value>,
) -> bool {
    let process = p.ctx.process;
    let Some(t) = p.state.tokens.get(&token) else {
        return false;
    };
    // An inner instance of a multi-instance activity: the boundary events
    // belong to the body, which the walk below reaches as the owner.
    let inner = super::loops::is_inner(p, token);
    let mut variables = variables;
    if own
        && !inner
        && let Some((b, interrupting)) = best(p, &process.element(t.element).boundaries, thrown)
    {
        caught_into(p, b, thrown, &mut variables);
        triggers::fire_boundary(p, token, b, interrupting, variables);
        return true;
    }
    // The event sub-process the thrower stands directly in: it does not
    // catch its own throw.
    let own_event_sub = p
        .state
        .scopes
        .get(&t.scope)
        .and_then(|s| s.owner)
        .and_then(|o| p.state.tokens.get(&o))
        .map(|o| o.element)
        .filter(|e| {
            matches!(
                process.element(*e).kind,
                ElementKind::EventSubProcess { .. }
            )
        });
    let mut scope: ScopeId = t.scope;
    for _ in 0..10_000 {
        let Some(s) = p.state.scopes.get(&scope) else {
            return false;
        };
        if let Some(def) = s.def {
            let starts: Vec<ElementIdx> = process
                .scope(def)
                .event_starts
                .iter()
                .copied()
                .filter(|start| {
                    own_event_sub.is_none_or(|esp| {
                        process.scope(process.element(*start).scope).owner != Some(esp)
                    })
                })
                .collect();
            if let Some((start, interrupting)) = best(p, &starts, thrown) {
                caught_into(p, start, thrown, &mut variables);
                triggers::start_event_sub(p, scope, start, interrupting, variables);
                return true;
            }
        }
        let Some(owner) = s.owner else {
            return false;
        };
        let Some(o) = p.state.tokens.get(&owner) else {
            return false;
        };
        // An inner instance's boundary events are its body's: the walk
        // reaches the body next.
        if !super::loops::is_inner(p, owner)
            && let Some((b, interrupting)) = best(p, &process.element(o.element).boundaries, thrown)
        {
            caught_into(p, b, thrown, &mut variables);
            triggers::fire_boundary(p, owner, b, interrupting, variables);
            return true;
        }
        scope = o.scope;
    }
    false
}
