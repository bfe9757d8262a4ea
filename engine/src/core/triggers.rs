//! Triggers: opening, firing and closing the timers and subscriptions of
//! catching elements (BPMN 2.0.2 §10.5.3 boundary events, §10.5.4
//! intermediate events, §10.3.5 event sub-processes, §13.4.4 event-based
//! gateway).
//!
//! A catching element opens one timer or subscription per definition
//! (errors and escalations open nothing: [`super::propagation`] finds their
//! catchers when they are thrown). Who waits:
//!
//! - a catch event or receive task: its token, parked in
//!   [`super::TokenState::Event`];
//! - an event-based gateway: its token, for the targets of its flows;
//! - a boundary event: the token of its activity, while the activity runs
//!   (opened after input mappings, before the activity's work, for
//!   activities that wait: user and receive tasks, jobs, sub-processes);
//! - an event sub-process start: the scope instance it starts in, from the
//!   moment the scope opens until it closes.
//!
//! Firing (`fire`) dispatches on the catching element: a catch event or
//! receive task completes (the other triggers of its token close; with
//! `parallelMultiple` it waits until every one has fired); a target of an
//! event-based gateway wins the gateway (§13.4.4: the first event wins, the
//! others are cancelled) and the token moves on to it; a boundary event
//! cancels its activity and everything inside it when interrupting, or
//! leaves it running; an event sub-process start starts the event
//! sub-process, after cancelling everything else in the scope when
//! interrupting. A non-interrupting message, signal or condition stays open
//! and fires again; a non-interrupting timer cycle is due again until
//! exhausted.
//!
//! Conditions are evaluated whenever the command has changed variables or
//! opened a conditional subscription, once the token work is quiescent
//! (`fire_conditions`); a condition that holds fires. Deviations: a
//! condition is evaluated on opening too (Camunda 7 does so for event
//! sub-processes, not for intermediate events); a non-interrupting
//! parallel-multiple boundary event fires once; a message key or timer
//! expression of an event sub-process start that fails to evaluate leaves
//! that start closed (there is no token to raise an incident at).

use serde_json::{Map, Value};

use super::events::{catches, first_due, schedule_of};
use super::{
    Event, IncidentId, JobId, Processor, ScopeId, SubscriptionId, SubscriptionKind, TimerId,
    TokenId, TokenState,
};
use crate::compile::{ElementIdx, ElementKind, ScopeIdx, Trigger};
use crate::core::containers;

/// Whose variables an expression sees.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VarsAt {
    Token(TokenId),
    Scope(ScopeId),
}

/// A trigger ready to open: its due time or subscription, computed before
/// anything is opened so that a failure leaves nothing half open.
pub(crate) enum Prepared {
    Timer(i64),
    Subscription(SubscriptionKind),
}

/// What fired.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source {
    Timer(TimerId),
    Subscription(SubscriptionId),
}

/// A correlation key as text: Camunda 8 takes a string or a number.
pub(crate) fn key_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!(
            "expected a string or a number, found {}",
            crate::expr::kind_of(other)
        )),
    }
}

/// Computes what `triggers` open (errors and escalations open nothing).
pub(crate) fn prepare(
    p: &Processor<'_, '_>,
    at: VarsAt,
    triggers: &[Trigger],
) -> Result<Vec<Prepared>, String> {
    let mut out = Vec::with_capacity(triggers.len());
    for t in triggers {
        match t {
            Trigger::Timer(spec) => out.push(Prepared::Timer(first_due(p, at, spec)?.0)),
            Trigger::Message {
                name,
                name_expr,
                key,
            } => {
                let (name, key) = message_address(p, at, name, name_expr.as_ref(), key.as_ref())?;
                out.push(Prepared::Subscription(SubscriptionKind::Message {
                    name,
                    key,
                }));
            }
            Trigger::Signal { name } => {
                out.push(Prepared::Subscription(SubscriptionKind::Signal {
                    name: name.clone(),
                }))
            }
            Trigger::Conditional { .. } => {
                out.push(Prepared::Subscription(SubscriptionKind::Conditional));
            }
            Trigger::Error { .. }
            | Trigger::Escalation { .. }
            | Trigger::Cancel
            | Trigger::Compensate => {}
        }
    }
    Ok(out)
}

/// A message's name (its literal, or its expression's value) and its
/// correlation key's value, with the variables at `at`.
pub(crate) fn message_address(
    p: &Processor<'_, '_>,
    at: VarsAt,
    name: &str,
    name_expr: Option<&crate::expr::Expr>,
    key: Option<&crate::expr::Expr>,
) -> Result<(String, Option<String>), String> {
    let name = match name_expr {
        None => name.to_string(),
        Some(e) => p
            .eval_at(at, e)
            .and_then(|v| key_text(&v))
            .map_err(|msg| format!("name of message `{name}`: {msg}"))?,
    };
    let key = match key {
        None => None,
        Some(k) => Some(
            p.eval_at(at, k)
                .and_then(|v| key_text(&v))
                .map_err(|msg| format!("correlation key of message `{name}`: {msg}"))?,
        ),
    };
    Ok((name, key))
}

/// Opens prepared triggers for `element`, waited for by `token` (or, with
/// no token, by scope instance `scope`: an event sub-process start).
pub(crate) fn open(
    p: &mut Processor<'_, '_>,
    token: Option<TokenId>,
    scope: ScopeId,
    element: ElementIdx,
    prepared: Vec<Prepared>,
) {
    let boundary = matches!(
        p.ctx.process.element(element).kind,
        ElementKind::Boundary { .. }
    );
    for x in prepared {
        let id = p.new_id();
        match x {
            Prepared::Timer(due) if boundary && token.is_some() => {
                p.emit(Event::BoundaryTimerScheduled {
                    timer: id,
                    token: token.unwrap_or(0),
                    element,
                    due,
                });
            }
            Prepared::Timer(due) => p.emit(Event::TimerOpened {
                timer: id,
                token: token.unwrap_or(0),
                scope: if token.is_none() { Some(scope) } else { None },
                element,
                due,
            }),
            Prepared::Subscription(kind) => p.emit(Event::SubscriptionOpened {
                subscription: id,
                kind,
                token,
                scope,
                element,
            }),
        }
    }
}

/// Closes every timer and subscription a token waits with.
pub(crate) fn close_token(p: &mut Processor<'_, '_>, token: TokenId) {
    let timers: Vec<TimerId> = super::keys_where(&p.state.timers, |t| t.token == token);
    for timer in timers {
        p.emit(Event::TimerCancelled { timer });
    }
    let subs: Vec<SubscriptionId> =
        super::keys_where(&p.state.subscriptions, |s| s.token == Some(token));
    for subscription in subs {
        p.emit(Event::SubscriptionClosed { subscription });
    }
}

/// Closes the event sub-process starts of a scope instance.
fn close_scope_starts(p: &mut Processor<'_, '_>, scope: ScopeId) {
    let timers: Vec<TimerId> = super::keys_where(&p.state.timers, |t| t.scope == Some(scope));
    for timer in timers {
        p.emit(Event::TimerCancelled { timer });
    }
    let subs: Vec<SubscriptionId> = super::keys_where(&p.state.subscriptions, |s| {
        s.token.is_none() && s.scope == scope
    });
    for subscription in subs {
        p.emit(Event::SubscriptionClosed { subscription });
    }
}

/// An activity with boundary events is activated: their triggers open,
/// bound to the activity's token, for activities that wait. A trigger that
/// cannot open raises an incident at the activity and returns false (the
/// activity does not start; resolving retries it).
pub(crate) fn open_boundaries(p: &mut Processor<'_, '_>, token: TokenId) -> bool {
    let Some(t) = p.state.tokens.get(&token) else {
        return false;
    };
    let (element, scope) = (t.element, t.scope);
    let process = p.ctx.process;
    let el = process.element(element);
    let waits = el.looping.is_some()
        || matches!(
            el.kind,
            ElementKind::UserTask
                | ElementKind::ReceiveTask { .. }
                | ElementKind::Job { .. }
                | ElementKind::SubProcess { .. }
                | ElementKind::AdHocSubProcess { .. }
                | ElementKind::CallActivity(_)
        );
    let already = p.state.timers.values().any(|x| x.token == token)
        || p.state
            .subscriptions
            .values()
            .any(|x| x.token == Some(token));
    if !waits || already {
        return true;
    }
    let mut all = Vec::with_capacity(el.boundaries.len());
    for &b in &el.boundaries {
        let Some(triggers) = catches(&process.element(b).kind) else {
            continue;
        };
        match prepare(p, VarsAt::Token(token), triggers) {
            Ok(prepared) => all.push((b, prepared)),
            Err(msg) => {
                let id = &process.element(b).id;
                p.incident(token, false, format!("boundary event `{id}`: {msg}"));
                return false;
            }
        }
    }
    for (b, prepared) in all {
        open(p, Some(token), scope, b, prepared);
    }
    true
}

/// A scope instance opened: the starts of its event sub-processes open.
pub(crate) fn open_event_subs(p: &mut Processor<'_, '_>, scope: ScopeId) {
    let Some(def) = p.state.scopes.get(&scope).and_then(|s| s.def) else {
        return;
    };
    let process = p.ctx.process;
    for &start in &process.scope(def).event_starts {
        let Some(triggers) = catches(&process.element(start).kind) else {
            continue;
        };
        if let Ok(prepared) = prepare(p, VarsAt::Scope(scope), triggers) {
            open(p, None, scope, start, prepared);
        }
    }
}

/// Who waits for a timer or subscription, and at which element.
fn source_of(
    p: &Processor<'_, '_>,
    source: Source,
) -> Option<(Option<TokenId>, ScopeId, ElementIdx)> {
    match source {
        Source::Timer(id) => {
            let t = p.state.timers.get(&id)?;
            let token = (t.token != 0).then_some(t.token);
            let scope = match (t.scope, token) {
                (Some(s), _) => s,
                (None, Some(tk)) => p.state.tokens.get(&tk)?.scope,
                (None, None) => return None,
            };
            Some((token, scope, t.element))
        }
        Source::Subscription(id) => {
            let s = p.state.subscriptions.get(&id)?;
            Some((s.token, s.scope, s.element))
        }
    }
}

/// Ends the source for good (a catch fired, an interrupting event).
fn consume(p: &mut Processor<'_, '_>, source: Source) {
    match source {
        Source::Timer(timer) => p.emit(Event::TimerFired { timer }),
        Source::Subscription(subscription) => p.emit(Event::SubscriptionClosed { subscription }),
    }
}

/// A non-interrupting event fired: a subscription stays open; a timer cycle
/// is due again at its next occurrence, or done.
fn rearm(p: &mut Processor<'_, '_>, source: Source, at: VarsAt, triggers: &[Trigger]) {
    let Source::Timer(timer) = source else {
        return;
    };
    let Some(t) = p.state.timers.get(&timer).cloned() else {
        return;
    };
    let spec = triggers.iter().find_map(|x| match x {
        Trigger::Timer(spec) => Some(spec),
        _ => None,
    });
    // A cycle's schedule: the literal, or the expression evaluated again
    // now (a failure ends the cycle with this firing).
    let next = spec
        .and_then(|spec| schedule_of(p, at, spec).ok())
        .and_then(|s| {
            crate::schedule::due_in_zone(p.ctx.time_zone, t.due, |off| {
                s.next_due(t.due, t.fired + 1, off)
            })
            .ok()
        })
        .flatten();
    match next {
        Some(due) => p.emit(Event::TimerRescheduled { timer, due }),
        None => p.emit(Event::TimerFired { timer }),
    }
}

/// A timer or subscription fires with the variables it carries (a
/// message's or signal's payload). See the module documentation.
pub(crate) fn fire(p: &mut Processor<'_, '_>, source: Source, variables: Map<String, Value>) {
    let Some((token, scope, element)) = source_of(p, source) else {
        return;
    };
    let process = p.ctx.process;
    let el = process.element(element);
    match &el.kind {
        ElementKind::Boundary {
            triggers,
            cancel_activity,
            parallel,
            ..
        } => {
            let Some(activity) = token else {
                return;
            };
            if *parallel && !last_of_group(p, source, Some(activity), element) {
                consume(p, source);
                return;
            }
            if *cancel_activity || *parallel {
                consume(p, source);
            } else {
                rearm(p, source, VarsAt::Token(activity), triggers);
            }
            fire_boundary(p, activity, element, *cancel_activity, variables);
        }
        ElementKind::EventStart {
            triggers,
            interrupting,
        } if token.is_none() => {
            if *interrupting {
                consume(p, source);
            } else {
                rearm(p, source, VarsAt::Scope(scope), triggers);
            }
            start_event_sub(p, scope, element, *interrupting, variables);
        }
        _ => {
            let Some(token) = token else {
                return;
            };
            let Some(at) = p.state.tokens.get(&token).map(|t| t.element) else {
                return;
            };
            let parallel = matches!(el.kind, ElementKind::Catch { parallel: true, .. });
            if parallel && at == element && !last_of_group(p, source, Some(token), element) {
                consume(p, source);
                p.set_result_variables(token, variables.into_iter().collect());
                return;
            }
            consume(p, source);
            close_token(p, token);
            if at != element {
                // An event-based gateway: this target wins.
                p.emit(Event::ElementCompleted { token, element: at });
                p.emit(Event::TokenMoved { token, element });
            } else {
                p.emit(Event::TokenStateChanged {
                    token,
                    state: TokenState::Active,
                });
            }
            p.set_result_variables(token, variables.into_iter().collect());
            p.schedule_complete(token);
        }
    }
}

/// With `parallelMultiple`, whether `source` is the last open trigger of
/// its element for this waiter.
fn last_of_group(
    p: &Processor<'_, '_>,
    source: Source,
    token: Option<TokenId>,
    element: ElementIdx,
) -> bool {
    let other_timer = p.state.timers.iter().any(|(id, t)| {
        t.element == element
            && Some(t.token) == token
            && !matches!(source, Source::Timer(s) if s == *id)
    });
    let other_sub = p.state.subscriptions.iter().any(|(id, s)| {
        s.element == element
            && s.token == token
            && !matches!(source, Source::Subscription(x) if x == *id)
    });
    !other_timer && !other_sub
}

/// A boundary event fires on the activity of `activity`. Interrupting: the
/// activity is cancelled (its job, incidents, triggers, local scope and
/// everything inside a sub-process). Either way a new token completes the
/// boundary event (with the trigger's variables) and leaves by its flows.
pub(crate) fn fire_boundary(
    p: &mut Processor<'_, '_>,
    activity: TokenId,
    boundary: ElementIdx,
    interrupting: bool,
    variables: Map<String, Value>,
) {
    let Some((scope, local)) = p.state.tokens.get(&activity).map(|a| (a.scope, a.local)) else {
        return;
    };
    if interrupting {
        cancel_activity(p, activity, local);
    }
    let token = p.new_id();
    p.emit(Event::TokenCreated {
        token,
        element: boundary,
        scope,
    });
    p.set_result_variables(token, variables.into_iter().collect());
    p.schedule_complete(token);
}

/// Removes an activity's token with all it holds.
pub(crate) fn cancel_activity(p: &mut Processor<'_, '_>, token: TokenId, local: Option<ScopeId>) {
    close_token(p, token);
    let jobs: Vec<JobId> = super::keys_where(&p.state.jobs, |j| j.token == token);
    for job in jobs {
        p.emit(Event::JobRemoved { job });
    }
    let incidents: Vec<IncidentId> = super::keys_where(&p.state.incidents, |x| x.token == token);
    for incident in incidents {
        p.emit(Event::IncidentResolved { incident });
    }
    if let Some(l) = local {
        containers::clear_scope(p, l);
        p.emit(Event::TokenLocalScope { token, scope: None });
        p.emit(Event::ScopeClosed { scope: l });
    }
    p.emit(Event::TokenRemoved { token });
}

/// Starts the event sub-process of `start` in scope instance `scope`;
/// interrupting: everything else in the scope is cancelled first,
/// including the scope's other event sub-process starts.
pub(crate) fn start_event_sub(
    p: &mut Processor<'_, '_>,
    scope: ScopeId,
    start: ElementIdx,
    interrupting: bool,
    variables: Map<String, Value>,
) {
    let process = p.ctx.process;
    let def: ScopeIdx = process.element(start).scope;
    let Some(sub) = process.scope(def).owner else {
        return;
    };
    if interrupting {
        close_scope_starts(p, scope);
        containers::clear_scope(p, scope);
    }
    let token = p.new_id();
    p.emit(Event::TokenCreated {
        token,
        element: sub,
        scope,
    });
    containers::enter_at(p, token, def, start, variables);
}

/// Evaluates the open conditions when something they may read changed;
/// fires those that hold. Returns true when one fired (there is work).
pub(crate) fn fire_conditions(p: &mut Processor<'_, '_>) -> bool {
    if !p.conditions_dirty {
        return false;
    }
    p.conditions_dirty = false;
    let subs: Vec<SubscriptionId> = super::keys_where(&p.state.subscriptions, |s| {
        s.kind == SubscriptionKind::Conditional
    });
    let mut fired = false;
    for id in subs {
        let Some(s) = p.state.subscriptions.get(&id) else {
            continue;
        };
        let at = match s.token {
            Some(t) => VarsAt::Token(t),
            None => VarsAt::Scope(s.scope),
        };
        let process = p.ctx.process;
        let Some(triggers) = catches(&process.element(s.element).kind) else {
            continue;
        };
        let holds = triggers.iter().any(|t| match t {
            Trigger::Conditional { condition } => p.eval_bool_at(at, condition).unwrap_or(false),
            _ => false,
        });
        if holds {
            fire(p, Source::Subscription(id), Map::new());
            fired = true;
        }
    }
    fired
}
