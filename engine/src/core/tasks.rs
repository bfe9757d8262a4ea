//! Tasks (BPMN 2.0.2 §10.3.3).
//!
//! - task, manual task and none intermediate throw events pass through;
//! - script tasks run their Rhai, FEEL, JUEL or JavaScript body inside the
//!   step; the Rhai script's assignments to variables and a JavaScript or
//!   JUEL body's `execution.setVariable` calls propagate like job
//!   variables, the result goes to `resultVariable` when one is set (a
//!   JavaScript result only when it is not null, as in Camunda 7);
//! - a JUEL `camunda:expression` service task is evaluated the same way;
//! - service, send and business rule tasks become jobs, which a registered
//!   handler or an external worker completes or fails;
//! - user and receive tasks wait until completed from outside.
//!
//! A script or expression that fails raises an incident at the task; the
//! engine keeps serving and the incident can be retried. A Rhai script may
//! instead throw a BPMN error with `throw_error(code)` or
//! `throw_error(code, message)`: it travels to the nearest error catch
//! event, the task's own boundary events first
//! ([`super::propagation`]).

use serde_json::Value;

use super::{Event, Processor, TokenId, TokenState};
use crate::compile::{JobType, ScriptBody};
use crate::expr::Expr;

pub(crate) fn pass_through(p: &mut Processor<'_, '_>, token: TokenId) {
    p.schedule_complete(token);
}

pub(crate) fn wait(p: &mut Processor<'_, '_>, token: TokenId) {
    p.emit(Event::TokenStateChanged {
        token,
        state: TokenState::Waiting,
    });
}

pub(crate) fn script(
    p: &mut Processor<'_, '_>,
    token: TokenId,
    body: &ScriptBody,
    result_variable: Option<&str>,
) {
    let outcome = match body {
        ScriptBody::Rhai(s) => {
            let scripts = p.ctx.scripts;
            let result = p.with_vars(token, |v| scripts.run_with(s, |name| v.get(name)));
            if let Err(crate::script::ScriptError::BpmnError { code, message }) = result {
                p.throw_error(token, code, message, serde_json::Map::new());
                return;
            }
            result
                .map(|o| (o.value, o.updates))
                .map_err(|e| format!("Rhai: {e}"))
        }
        ScriptBody::Expression(e) => {
            // A JavaScript (or JUEL) body's `execution.setVariable` calls
            // are set afterwards, as Camunda 7 sets them.
            let effects = std::cell::RefCell::new(Vec::new());
            let scripts = p.ctx.scripts;
            p.with_vars(token, |v| e.eval(scripts, v.with_effects(&effects)))
                .map(|v| (v, effects.into_inner()))
                .map_err(|e| e.message)
        }
    };
    // Camunda 7 sets a JavaScript result only when it is not null (a script
    // ending in `execution.setVariable(…)` leaves the variable alone).
    let keep_null = !matches!(
        body,
        ScriptBody::Expression(e) if e.language() == bpmn_models::lang::Language::JavaScript
    );
    match outcome {
        Ok((value, mut updates)) => {
            if let Some(name) = result_variable
                && (keep_null || !value.is_null())
            {
                updates.push((name.to_string(), value));
            }
            p.set_result_variables(token, updates);
            p.schedule_complete(token);
        }
        Err(msg) => p.incident(token, false, msg),
    }
}

pub(crate) fn expression(
    p: &mut Processor<'_, '_>,
    token: TokenId,
    expr: &Expr,
    result_variable: Option<&str>,
) {
    // `execution.setVariable(…)` calls are collected and set afterwards,
    // as Camunda 7's setVariable on the execution would.
    let effects = std::cell::RefCell::new(Vec::new());
    let scripts = p.ctx.scripts;
    let result = p
        .with_vars(token, |v| expr.eval(scripts, v.with_effects(&effects)))
        .map_err(|e| e.message);
    match result {
        Ok(value) => {
            let set = effects.into_inner();
            if !set.is_empty() {
                p.set_propagating(token, set);
            }
            if let Some(name) = result_variable {
                p.set_result_variables(token, vec![(name.to_string(), value)]);
            }
            p.schedule_complete(token);
        }
        Err(msg) => p.incident(token, false, msg),
    }
}

pub(crate) fn job(p: &mut Processor<'_, '_>, token: TokenId, job_type: &JobType, retries: u32) {
    let Some(element) = p.state.tokens.get(&token).map(|t| t.element) else {
        return;
    };
    let job_type = match job_type {
        JobType::Fixed(t) => t.clone(),
        JobType::Expression(e) => match p.eval(token, e) {
            Ok(Value::String(s)) => s,
            Ok(other) => {
                let found = crate::expr::kind_of(&other);
                p.incident(
                    token,
                    false,
                    format!("job type: expected a string, found {found}"),
                );
                return;
            }
            Err(msg) => {
                p.incident(token, false, format!("job type: {msg}"));
                return;
            }
        },
    };
    let job = p.new_id();
    p.emit(Event::JobCreated {
        job,
        token,
        element,
        job_type,
        retries,
    });
}
