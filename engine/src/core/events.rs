//! Start, end, intermediate catch and throw events, link events (BPMN
//! 2.0.2 §10.5.2 start, §10.5.3 end, §10.5.4 intermediate, §10.5.5 event
//! definitions).
//!
//! A none start event completes at once; so does a start event with
//! definitions once a trigger placed a token on it (the instance or event
//! sub-process was started by its message, signal, timer or condition). A
//! none end event consumes its token; the scope ends when its last token is
//! gone (§10.5.3 "implicit end"). A terminate end event ends its whole
//! scope at once: every token, job, timer, subscription and incident inside
//! it (nested scopes included) is removed and the scope completes normally
//! (§10.5.4; Camunda does the same, the instance counts as completed).
//!
//! An intermediate catch event waits in [`super::TokenState::Event`] for
//! its triggers, opened by [`super::triggers`]: the first to fire wins and
//! the others are closed; with `parallelMultiple` every one must fire.
//! A lone timer definition keeps the older form: the token waits in
//! [`super::TokenState::Timer`] until a `FireTimer` command at or after its
//! due time. Timers are computed from the command's `now`
//! ([`crate::schedule::Schedule::first_due`]) in the engine's time zone
//! (`Context::time_zone`, UTC by default: local date-times, calendar
//! durations and cron expressions are read there). Deviations: a
//! `timeCycle` on a catch event fires once, at its first occurrence
//! (Camunda 8 allows only dates and durations there); an expression that
//! does not evaluate to a text the timer parses, or a timer that never
//! fires, raises an incident.
//!
//! A throw or end event throws each of its definitions in order: a message
//! or a signal is recorded in the log ([`super::Event::MessageSent`],
//! [`super::Event::SignalSent`], with the variables of the event's input
//! mappings as payload, or without input mappings every variable the event
//! sees) and published by the engine after the command; an
//! error or escalation is propagated to its catcher by
//! [`super::propagation`] — an error nobody catches raises an incident at
//! the throwing event, an escalation nobody catches is dropped (§10.5.4
//! escalation: "does not affect the flow"). A link throw event moves its
//! token to the catching link event of the same name (§10.5.4 link).

use super::propagation::{self, Thrown};
use super::triggers::{self, VarsAt};
use super::{Event, Processor, TokenId, TokenState};
use crate::compile::{ElementIdx, ElementKind, Throw, TimerSpec, Trigger};
use crate::core::containers;
use crate::schedule::Schedule;
use serde_json::{Map, Value};

pub(crate) fn start(p: &mut Processor<'_, '_>, token: TokenId) {
    p.schedule_complete(token);
}

pub(crate) fn end(p: &mut Processor<'_, '_>, token: TokenId) {
    let Some(element) = p.state.tokens.get(&token).map(|t| t.element) else {
        return;
    };
    p.emit(Event::ElementCompleted { token, element });
    p.consume(token);
}

pub(crate) fn terminate(p: &mut Processor<'_, '_>, token: TokenId) {
    let Some((element, scope)) = p.state.tokens.get(&token).map(|t| (t.element, t.scope)) else {
        return;
    };
    p.emit(Event::ElementCompleted { token, element });
    containers::clear_scope(p, scope);
    containers::check_scope_complete(p, scope);
}

pub(crate) fn timer_catch(p: &mut Processor<'_, '_>, token: TokenId, spec: &TimerSpec) {
    let Some(element) = p.state.tokens.get(&token).map(|t| t.element) else {
        return;
    };
    let due = match first_due(p, VarsAt::Token(token), spec) {
        Ok((due, _)) => due,
        Err(msg) => {
            p.incident(token, false, msg);
            return;
        }
    };
    let timer = p.new_id();
    p.emit(Event::TimerScheduled {
        timer,
        token,
        element,
        due,
    });
}

/// The schedule of a timer body: a literal's, or the one an expression
/// gives with the variables at `at`. `Err` is the incident message.
pub(crate) fn schedule_of(
    p: &Processor<'_, '_>,
    at: VarsAt,
    spec: &TimerSpec,
) -> Result<Schedule, String> {
    match spec {
        TimerSpec::Static(s) => Ok(s.clone()),
        TimerSpec::Expression { kind, expr } => {
            let text = match p.eval_at(at, expr) {
                Ok(Value::String(s)) => s,
                Ok(other) => {
                    return Err(format!(
                        "timer: expected the expression to give a text, found `{other}`"
                    ));
                }
                Err(msg) => return Err(format!("timer: {msg}")),
            };
            Schedule::from_text(*kind, &text).map_err(|e| format!("timer: {e}"))
        }
    }
}

/// When a timer activated now is first due, with its schedule.
pub(crate) fn first_due(
    p: &Processor<'_, '_>,
    at: VarsAt,
    spec: &TimerSpec,
) -> Result<(i64, Schedule), String> {
    let schedule = schedule_of(p, at, spec)?;
    let now = p.ctx.now;
    match crate::schedule::due_in_zone(p.ctx.time_zone, now, |off| {
        schedule.first_due(now, off)
    }) {
        Ok(Some(due)) => Ok((due, schedule)),
        Ok(None) => Err("timer: expected a time at which the timer fires, found none (all occurrences lie in the past)".into()),
        Err(e) => Err(format!("timer: {e}")),
    }
}

/// An intermediate catch event: its triggers are opened and the token
/// waits for them.
pub(crate) fn catch(p: &mut Processor<'_, '_>, token: TokenId, triggers: &[Trigger]) {
    if let [Trigger::Timer(spec)] = triggers {
        timer_catch(p, token, spec);
        return;
    }
    wait_for(p, token, triggers);
}

/// A receive task: waits for its message, or without one for completion.
pub(crate) fn receive(p: &mut Processor<'_, '_>, token: TokenId, message: Option<&Trigger>) {
    match message {
        Some(m) => wait_for(p, token, std::slice::from_ref(m)),
        None => super::tasks::wait(p, token),
    }
}

/// Opens `triggers` for the token at its element and parks it.
fn wait_for(p: &mut Processor<'_, '_>, token: TokenId, triggers: &[Trigger]) {
    let Some((element, scope)) = p.state.tokens.get(&token).map(|t| (t.element, t.scope)) else {
        return;
    };
    match triggers::prepare(p, VarsAt::Token(token), triggers) {
        Ok(prepared) => {
            p.emit(Event::TokenStateChanged {
                token,
                state: TokenState::Event,
            });
            triggers::open(p, Some(token), scope, element, prepared);
        }
        Err(msg) => p.incident(token, false, msg),
    }
}

/// A start event with definitions: the trigger already happened.
pub(crate) fn event_start(p: &mut Processor<'_, '_>, token: TokenId) {
    p.schedule_complete(token);
}

/// Throws every definition in order, then the token leaves (or, at an end
/// event, is consumed) unless a catcher removed it or an incident stopped it.
pub(crate) fn throw(p: &mut Processor<'_, '_>, token: TokenId, throws: &[Throw]) {
    for t in throws {
        let payload = local_variables(p, token);
        match t {
            Throw::Message {
                name,
                name_expr,
                key,
            } => {
                let address = triggers::message_address(
                    p,
                    triggers::VarsAt::Token(token),
                    name,
                    name_expr.as_ref(),
                    key.as_ref(),
                );
                let (name, key) = match address {
                    Ok(a) => a,
                    Err(msg) => {
                        p.incident(token, false, msg);
                        return;
                    }
                };
                p.emit(Event::MessageSent {
                    name,
                    key,
                    variables: payload,
                });
            }
            Throw::Signal { name } => p.emit(Event::SignalSent {
                name: name.clone(),
                variables: payload,
            }),
            Throw::Error { code, message } => {
                let message = match message.as_ref().map(|m| p.mapping_value(token, m)) {
                    None | Some(Ok(Value::Null)) => None,
                    Some(Ok(Value::String(s))) => Some(s),
                    Some(Ok(other)) => Some(other.to_string()),
                    Some(Err(msg)) => {
                        p.incident(token, false, format!("error message: {msg}"));
                        return;
                    }
                };
                let thrown = Thrown::Error {
                    code: code.clone(),
                    message,
                };
                if !propagation::propagate(p, token, false, &thrown, payload.clone()) {
                    p.uncaught(token, &thrown, payload);
                    return;
                }
            }
            Throw::Escalation { code } => {
                let thrown = Thrown::Escalation { code: code.clone() };
                if !propagation::propagate(p, token, false, &thrown, payload.clone()) {
                    p.uncaught(token, &thrown, payload);
                }
            }
            Throw::Compensate { activity, wait } => {
                // The compensation continues (or parks) the token itself.
                super::compensation::throw(p, token, activity.as_deref(), *wait);
                return;
            }
        }
        if p.state
            .tokens
            .get(&token)
            .is_none_or(|t| t.state != TokenState::Active)
        {
            return;
        }
    }
    p.schedule_complete(token);
}

/// The payload of what a token throws: the variables of its input
/// mappings when it has any, else every variable it sees.
fn local_variables(p: &Processor<'_, '_>, token: TokenId) -> Map<String, Value> {
    let local = p
        .state
        .tokens
        .get(&token)
        .and_then(|t| t.local)
        .and_then(|l| p.state.scopes.get(&l));
    match local {
        Some(s) => s.variables.clone(),
        None => p.with_vars(token, |v| v.merged().into_owned()),
    }
}

/// A link throw event: the token continues at the catching link event.
pub(crate) fn link(p: &mut Processor<'_, '_>, token: TokenId, target: ElementIdx) {
    let Some(element) = p.state.tokens.get(&token).map(|t| t.element) else {
        return;
    };
    p.emit(Event::ElementCompleted { token, element });
    p.emit(Event::TokenMoved {
        token,
        element: target,
    });
    p.schedule_activate(token);
}

/// Whether `kind` is an element whose token may be parked on triggers.
pub(crate) fn catches(kind: &ElementKind) -> Option<&[Trigger]> {
    match kind {
        ElementKind::Catch { triggers, .. }
        | ElementKind::Boundary { triggers, .. }
        | ElementKind::EventStart { triggers, .. } => Some(triggers),
        ElementKind::ReceiveTask { message: Some(m) } => Some(std::slice::from_ref(m)),
        _ => None,
    }
}
