//! Start, end, intermediate timer catch and timer boundary events (BPMN
//! 2.0.2 §10.5.2, §10.5.3 boundary events, §10.5.5 timer events).
//!
//! This module covers the none start event, the none end event, the
//! terminate end event and the intermediate timer catch event. A none end event consumes its token; the scope ends
//! when its last token is gone (§10.5.3 "implicit end"). A terminate end
//! event ends its whole scope at once: every token, job and incident inside
//! it (nested scopes included) is removed and the scope completes normally
//! (§10.5.4; Camunda does the same, the instance counts as completed).

//!
//! A timer catch event computes its due time when the token arrives, from
//! the command's `now` ([`crate::schedule::Schedule::first_due`]), and waits
//! in [`super::TokenState::Timer`] until a `FireTimer` command at or after
//! that time completes it. Deviations: local times without an offset are
//! read as UTC (the core has no time zone; offset 0); a `timeCycle` on a
//! catch event fires once, at its first occurrence (Camunda 8 allows only
//! dates and durations there); an expression that does not evaluate to a
//! text the timer parses, or a timer that never fires, raises an incident.
//!
//! A timer boundary event (§10.5.3) is scheduled when its activity is
//! activated (user or receive task, job, sub-process), one timer per boundary
//! event bound to the activity's token, and cancelled when the activity
//! completes or is removed. Firing an interrupting one (`cancelActivity`,
//! the default) cancels the activity and everything inside it; a
//! non-interrupting one leaves it running, and a `timeCycle` there fires
//! again at each occurrence until exhausted. Either way a new token
//! completes the boundary event and leaves by its outgoing flows (their
//! output mappings apply). Deviations: an activity that completes within
//! the command that activated it (script, pass-through) schedules no
//! boundary timer, as none could fire before it ends; a cycle given by an
//! expression is evaluated again at each firing, and one that then gives
//! no timer ends the cycle; a sub-process's boundary timer expression sees
//! the variables around the sub-process, not its input mappings.

use super::{Event, IncidentId, JobId, Processor, TimerId, TokenId};
use crate::compile::{ElementKind, TimerSpec};
use crate::core::containers;
use crate::schedule::Schedule;
use serde_json::Value;

/// The engine core's UTC offset for timers: UTC.
const TZ_OFFSET_MINUTES: i32 = 0;

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
    let due = match first_due(p, token, spec) {
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
/// gives with the token's variables. `Err` is the incident message.
fn schedule_of(
    p: &Processor<'_, '_>,
    token: TokenId,
    spec: &TimerSpec,
) -> Result<Schedule, String> {
    match spec {
        TimerSpec::Static(s) => Ok(s.clone()),
        TimerSpec::Expression { kind, expr } => {
            let text = match p.eval(token, expr) {
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
fn first_due(
    p: &Processor<'_, '_>,
    token: TokenId,
    spec: &TimerSpec,
) -> Result<(i64, Schedule), String> {
    let schedule = schedule_of(p, token, spec)?;
    match schedule.first_due(p.ctx.now, TZ_OFFSET_MINUTES) {
        Ok(Some(due)) => Ok((due, schedule)),
        Ok(None) => Err("timer: expected a time at which the timer fires, found none (all occurrences lie in the past)".into()),
        Err(e) => Err(format!("timer: {e}")),
    }
}

/// An activity with timer boundary events is activated (after its input
/// mappings, before its work): one timer per boundary event, bound to the
/// activity's token, for activities that wait (user and receive tasks,
/// jobs, sub-processes). All due times are computed before any timer is
/// set: one that gives no timer raises an incident at the activity and
/// returns false (the activity does not start; resolving retries it).
pub(crate) fn schedule_boundaries(p: &mut Processor<'_, '_>, token: TokenId) -> bool {
    let Some(t) = p.state.tokens.get(&token) else {
        return false;
    };
    let process = p.ctx.process;
    let el = process.element(t.element);
    let waits = matches!(
        el.kind,
        ElementKind::UserTask
            | ElementKind::ReceiveTask
            | ElementKind::Job { .. }
            | ElementKind::SubProcess { .. }
    );
    if !waits
        || p.state
            .timers
            .values()
            .any(|x| x.boundary && x.token == token)
    {
        return true;
    }
    let mut dues = Vec::with_capacity(el.boundaries.len());
    for &b in &el.boundaries {
        let ElementKind::TimerBoundary { timer: spec, .. } = &process.element(b).kind else {
            continue;
        };
        match first_due(p, token, spec) {
            Ok((due, _)) => dues.push((b, due)),
            Err(msg) => {
                let id = &process.element(b).id;
                p.incident(token, false, format!("boundary event `{id}`: {msg}"));
                return false;
            }
        }
    }
    for (element, due) in dues {
        let timer = p.new_id();
        p.emit(Event::BoundaryTimerScheduled {
            timer,
            token,
            element,
            due,
        });
    }
    true
}

/// The activity of `token` is done: its boundary timers are cancelled.
pub(crate) fn cancel_boundaries(p: &mut Processor<'_, '_>, token: TokenId) {
    let timers: Vec<TimerId> = p
        .state
        .timers
        .iter()
        .filter(|(_, t)| t.boundary && t.token == token)
        .map(|(id, _)| *id)
        .collect();
    for timer in timers {
        p.emit(Event::TimerCancelled { timer });
    }
}

/// A due boundary timer fires. Interrupting: the activity is cancelled
/// (its job, incidents, local scope and everything inside a sub-process,
/// its other boundary timers). Non-interrupting: the activity goes on and a
/// cycle is due again until exhausted. Either way a new token completes the
/// boundary event and leaves by its outgoing flows.
pub(crate) fn fire_boundary(p: &mut Processor<'_, '_>, timer: TimerId) {
    let Some(t) = p.state.timers.get(&timer).cloned() else {
        return;
    };
    let process = p.ctx.process;
    let ElementKind::TimerBoundary {
        timer: spec,
        cancel_activity,
        ..
    } = &process.element(t.element).kind
    else {
        return;
    };
    let Some((scope, local)) = p.state.tokens.get(&t.token).map(|a| (a.scope, a.local)) else {
        p.emit(Event::TimerCancelled { timer });
        return;
    };
    if *cancel_activity {
        p.emit(Event::TimerFired { timer });
        cancel_boundaries(p, t.token);
        let jobs: Vec<JobId> = p
            .state
            .jobs
            .iter()
            .filter(|(_, j)| j.token == t.token)
            .map(|(id, _)| *id)
            .collect();
        for job in jobs {
            p.emit(Event::JobRemoved { job });
        }
        let incidents: Vec<IncidentId> = p
            .state
            .incidents
            .iter()
            .filter(|(_, x)| x.token == t.token)
            .map(|(id, _)| *id)
            .collect();
        for incident in incidents {
            p.emit(Event::IncidentResolved { incident });
        }
        if let Some(l) = local {
            containers::clear_scope(p, l);
            p.emit(Event::TokenLocalScope {
                token: t.token,
                scope: None,
            });
            p.emit(Event::ScopeClosed { scope: l });
        }
        p.emit(Event::TokenRemoved { token: t.token });
    } else {
        // A cycle's schedule: the literal, or the expression evaluated
        // again now (a failure ends the cycle with this firing).
        let next = schedule_of(p, t.token, spec)
            .ok()
            .and_then(|s| s.next_due(t.due, t.fired + 1, TZ_OFFSET_MINUTES).ok())
            .flatten();
        match next {
            Some(due) => p.emit(Event::TimerRescheduled { timer, due }),
            None => p.emit(Event::TimerFired { timer }),
        }
    }
    let token = p.new_id();
    p.emit(Event::TokenCreated {
        token,
        element: t.element,
        scope,
    });
    p.schedule_complete(token);
}
