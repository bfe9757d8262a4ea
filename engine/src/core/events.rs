//! Start, end and intermediate timer catch events (BPMN 2.0.2 §10.5.2,
//! §10.5.3, §10.5.5 timer events).
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

use super::{Event, Processor, TokenId};
use crate::compile::TimerSpec;
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
    let schedule = match spec {
        TimerSpec::Static(s) => s.clone(),
        TimerSpec::Expression { kind, expr } => {
            let text = match p.eval(token, expr) {
                Ok(Value::String(s)) => s,
                Ok(other) => {
                    p.incident(
                        token,
                        false,
                        format!("timer: expected the expression to give a text, found `{other}`"),
                    );
                    return;
                }
                Err(msg) => {
                    p.incident(token, false, format!("timer: {msg}"));
                    return;
                }
            };
            match Schedule::from_text(*kind, &text) {
                Ok(s) => s,
                Err(e) => {
                    p.incident(token, false, format!("timer: {e}"));
                    return;
                }
            }
        }
    };
    let due = match schedule.first_due(p.ctx.now, TZ_OFFSET_MINUTES) {
        Ok(Some(due)) => due,
        Ok(None) => {
            p.incident(
                token,
                false,
                "timer: expected a time at which the timer fires, found none (all occurrences lie in the past)".into(),
            );
            return;
        }
        Err(e) => {
            p.incident(token, false, format!("timer: {e}"));
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
