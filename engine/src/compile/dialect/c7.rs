//! Camunda 7: the `camunda:` extensions (and the Activiti namespace, which
//! Camunda 7 reads as its own), as the Camunda 7 reference documents them
//! (docs.camunda.org/manual/latest/reference/bpmn20/ and
//! …/user-guide/process-engine/).
//!
//! - Implementations: `camunda:type="external"` with `camunda:topic` (an
//!   external task, the job type is the topic), `camunda:class` and
//!   `camunda:delegateExpression` (a job of that type, served by a
//!   registered handler or a worker; likewise `camunda:type="mail"` or
//!   `"shell"`, a job of that type), `camunda:connector` (a job whose type
//!   is its `connectorId`, such as `http-connector`; the connector's own
//!   input/output parameters are not applied), `camunda:expression` (evaluated at
//!   once, its value into `camunda:resultVariable`, its
//!   `execution.setVariable` calls applied) — unless it calls a method of
//!   a bean (`${service.notify(order)}`): then a job whose type is the
//!   expression as written, as for a delegate expression.
//! - Variables: `camunda:inputOutput` parameters (text without `${}` is a
//!   literal string; outputs are set on top of what propagates anyway);
//!   call activities pass nothing but `camunda:in` / `camunda:out`
//!   (`variables="all"`, `source`, `sourceExpression` — without `${}` a
//!   literal — and `target`).
//! - Multi-instance: `camunda:collection` (a variable name or an
//!   expression) and `camunda:elementVariable`; `loopCounter` from 0.
//! - `camunda:errorCodeVariable`, `camunda:errorMessageVariable`,
//!   `camunda:escalationCodeVariable` on catching event definitions;
//!   `camunda:errorMessage` on an `<error>` (literal or `${…}`, evaluated
//!   when thrown).
//! - A call activity's `camunda:out` mappings are applied also when the
//!   child throws an error or escalation to it, before a catcher runs.
//! - Business rule tasks: `camunda:decisionRef` with its binding and
//!   `camunda:mapDecisionResult`.

use bpmn_models::ext::camunda;
use bpmn_models::{
    EventDefinition, EventDefinitionKind, FlowNode, FlowNodeKind, Message, MultiInstance,
};

use super::{IoExt, MultiInstanceExt, Rules, ScriptExt};
use crate::compile::Compiler;
use crate::compile::ir::{
    CallSpec, CallVariables, CatchVariables, DecisionMapping, DecisionSpec, ElementKind, JobType,
    Mapping, MappingSource,
};
use crate::expr::Expr;

pub(super) struct Camunda7;

/// The Camunda 7 view of an element, or `Err` once the problem is reported.
fn view(
    c: &mut Compiler<'_>,
    n: &FlowNode,
    base: &bpmn_models::Base,
) -> Result<camunda::Camunda7, ()> {
    camunda::camunda(base).map_err(|e| c.problem("BPMN031", n, e.message))
}

/// Whether a call activity uses Camunda 7's variable passing or bindings.
pub(super) fn uses_call_extensions(n: &FlowNode) -> bool {
    camunda::camunda(&n.base).is_ok_and(|c7| {
        !c7.ins.is_empty() || !c7.outs.is_empty() || c7.called_element_binding.is_some()
    })
}

/// `R3/PT5M` → 3 retries (`camunda:failedJobRetryTimeCycle`).
fn retries_from_cycle(cycle: &str) -> Option<u32> {
    let rest = cycle.trim().strip_prefix('R')?;
    rest.split('/').next()?.parse().ok()
}

/// A fixed version from `…Binding="version"` and its version attribute.
fn bound_version(
    c: &mut Compiler<'_>,
    n: &FlowNode,
    binding: Option<camunda::Binding>,
    version: Option<&str>,
    what: &str,
) -> Result<Option<u32>, ()> {
    if binding != Some(camunda::Binding::Version) {
        return Ok(None);
    }
    match version.and_then(|v| v.trim().parse::<u32>().ok()) {
        Some(v) => Ok(Some(v)),
        None => {
            c.problem(
                "ENG019",
                n,
                format!(
                    "`{}`: expected {what} to be a version number, found {version:?}",
                    n.id
                ),
            );
            Err(())
        }
    }
}

/// `camunda:historyTimeToLive` in ms: whole days, as Camunda 7 takes it
/// (`30` or `P30D`); anything else is no time to live (the engine default).
fn history_ttl(text: &str) -> Option<i64> {
    let t = text.trim();
    let days = t
        .strip_prefix('P')
        .and_then(|d| d.strip_suffix('D'))
        .unwrap_or(t);
    if days.is_empty() || !days.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    days.parse::<i64>().ok()?.checked_mul(86_400_000)
}

impl Rules for Camunda7 {
    fn history_ttl(&self, process: &bpmn_models::Base) -> Option<i64> {
        let c7 = camunda::camunda(process).ok()?;
        history_ttl(c7.history_time_to_live.as_deref()?)
    }

    fn implementation(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        definition: Option<&EventDefinition>,
    ) -> Result<Option<ElementKind>, ()> {
        // A message event may carry it on the event or on its definition.
        let mut views = vec![view(c, n, &n.base)?];
        if let Some(d) = definition {
            views.push(view(c, n, &d.base)?);
        }
        for c7 in views {
            let job_type = if c7.task_type.as_deref() == Some("external") {
                c7.topic.clone()
            } else if let Some(t) = c7.task_type.clone() {
                // Camunda 7's built-in task types (`mail`, `shell`): a job of
                // that type, for a handler or worker.
                Some(t)
            } else {
                c7.class
                    .clone()
                    .or(c7.delegate_expression.clone())
                    .or(c7.connector.as_ref().map(|k| k.connector_id.clone()))
            };
            let retries = c7
                .failed_job_retry_time_cycle
                .as_deref()
                .and_then(retries_from_cycle)
                .unwrap_or(3);
            match (job_type, &c7.expression) {
                (Some(t), _) => {
                    return Ok(Some(ElementKind::Job {
                        job_type: JobType::Fixed(t),
                        retries,
                    }));
                }
                // A method of a bean (`${service.notify(order)}`), which
                // Camunda 7 would call on a Java bean: a job whose type is
                // the expression as written, for a handler or worker.
                (None, Some(x)) if crate::juel::bean_call(x).is_some() => {
                    return Ok(Some(ElementKind::Job {
                        job_type: JobType::Fixed(x.trim().to_string()),
                        retries,
                    }));
                }
                (None, Some(x)) => {
                    let expr = c.expr(n, None, x).ok_or(())?;
                    return Ok(Some(ElementKind::ExpressionTask {
                        expr,
                        result_variable: c7.result_variable.clone(),
                    }));
                }
                (None, None) => {}
            }
        }
        Ok(None)
    }

    fn script(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<ScriptExt, ()> {
        Ok(ScriptExt {
            expression: None,
            result_variable: view(c, n, &n.base)?.result_variable,
        })
    }

    fn decision(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<Option<DecisionSpec>, ()> {
        let c7 = view(c, n, &n.base)?;
        let Some(id) = c7.decision_ref.clone() else {
            return Ok(None);
        };
        let decision = c.called_target(n, &id, "a decision id")?;
        let mapping = match c7.map_decision_result {
            Some(camunda::MapDecisionResult::SingleEntry) => DecisionMapping::SingleEntry,
            Some(camunda::MapDecisionResult::SingleResult) => DecisionMapping::SingleResult,
            Some(camunda::MapDecisionResult::CollectEntries) => DecisionMapping::CollectEntries,
            Some(camunda::MapDecisionResult::ResultList) | None => DecisionMapping::ResultList,
        };
        let version = bound_version(
            c,
            n,
            c7.decision_ref_binding,
            c7.decision_ref_version.as_deref(),
            "camunda:decisionRefVersion",
        )?;
        Ok(Some(DecisionSpec {
            decision,
            version,
            result_variable: c7.result_variable.clone(),
            mapping,
        }))
    }

    fn call(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        called_element: Option<&str>,
    ) -> Result<CallSpec, ()> {
        let c7 = view(c, n, &n.base)?;
        let process = c.called_process(n, called_element)?;
        let version = bound_version(
            c,
            n,
            c7.called_element_binding,
            c7.called_element_version.as_deref(),
            "camunda:calledElementVersion",
        )?;
        // Nothing crosses without camunda:in / camunda:out.
        let mut sides = Vec::new();
        for list in [&c7.ins, &c7.outs] {
            let mut side = CallVariables::default();
            for m in list.iter() {
                if m.variables_all {
                    side.all = true;
                    continue;
                }
                let source = match (&m.source, &m.source_expression) {
                    (_, Some(e)) => c.mapping_source(n, e).ok_or(())?,
                    (Some(s), None) => MappingSource::Variable(s.clone()),
                    (None, None) => continue,
                };
                let target = m.target.clone().or(m.source.clone()).unwrap_or_default();
                side.mappings.push(Mapping { target, source });
            }
            sides.push(side);
        }
        let outputs = sides.pop().unwrap_or_default();
        let inputs = sides.pop().unwrap_or_default();
        Ok(CallSpec {
            process,
            version,
            same_deployment: c7.called_element_binding == Some(camunda::Binding::Deployment),
            inputs,
            outputs,
            outputs_on_throw: true,
        })
    }

    fn io(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<IoExt, ()> {
        let Ok(c7) = camunda::camunda(&n.base) else {
            return Ok(IoExt::default());
        };
        let Some(io) = &c7.input_output else {
            return Ok(IoExt::default());
        };
        let inputs = IoExt::mappings(
            io.inputs
                .iter()
                .map(|p| (p.name.clone(), param(c, n, &p.value))),
        );
        let outputs = (!io.outputs.is_empty()).then(|| {
            IoExt::mappings(
                io.outputs
                    .iter()
                    .map(|p| (p.name.clone(), param(c, n, &p.value))),
            )
        });
        Ok(IoExt {
            inputs,
            outputs,
            outputs_only: false,
        })
    }

    fn multi_instance(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        mi: &MultiInstance,
    ) -> Result<MultiInstanceExt, ()> {
        let c7 = view(c, n, &mi.base)?;
        let collection = match c7
            .collection
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(t) => Some(c.expr(n, None, t).ok_or(())?),
            None => None,
        };
        Ok(MultiInstanceExt {
            collection,
            element_variable: c7.element_variable,
            output_collection: None,
            output_element: None,
        })
    }

    fn message_key(
        &self,
        _: &mut Compiler<'_>,
        _: &FlowNode,
        _: &Message,
    ) -> Result<Option<Expr>, ()> {
        // Camunda 7 correlates by business key and variables given with the
        // message, not by a key declared on the model.
        Ok(None)
    }

    fn catch_variables(&self, n: &FlowNode) -> Option<Box<CatchVariables>> {
        let FlowNodeKind::Event(e) = &n.kind else {
            return None;
        };
        let mut out = CatchVariables::default();
        for d in &e.event_definitions {
            let Ok(c7) = camunda::camunda(&d.base) else {
                continue;
            };
            match d.kind {
                EventDefinitionKind::Error { .. } => {
                    out.code = out.code.or(c7.error_code_variable);
                    out.message = out.message.or(c7.error_message_variable);
                }
                EventDefinitionKind::Escalation { .. } => {
                    out.code = out.code.or(c7.escalation_code_variable);
                }
                _ => {}
            }
        }
        (out != CatchVariables::default()).then(|| Box::new(out))
    }

    fn error_message(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        error: &bpmn_models::ErrorDef,
    ) -> Result<Option<MappingSource>, ()> {
        let c7 = view(c, n, &error.base)?;
        match c7.error_message {
            Some(m) => c.mapping_source(n, &m).map(Some).ok_or(()),
            None => Ok(None),
        }
    }

    fn ad_hoc_active(&self, _: &mut Compiler<'_>, _: &FlowNode) -> Result<Option<Expr>, ()> {
        Ok(None)
    }
}

/// A `camunda:inputParameter` / `outputParameter` value.
fn param(c: &mut Compiler<'_>, n: &FlowNode, value: &camunda::ParamValue) -> Option<MappingSource> {
    use camunda::ParamValue;
    match value {
        ParamValue::Text(t) => c.mapping_source(n, t),
        ParamValue::None => Some(MappingSource::Literal(serde_json::Value::Null)),
        ParamValue::List(items) => items
            .iter()
            .map(|i| param(c, n, i))
            .collect::<Option<Vec<_>>>()
            .map(MappingSource::List),
        ParamValue::Map(entries) => entries
            .iter()
            .map(|(k, v)| param(c, n, v).map(|v| (k.clone(), v)))
            .collect::<Option<Vec<_>>>()
            .map(MappingSource::Map),
        ParamValue::Script(s) if s.resource.is_some() => {
            c.unsupported(n, "camunda:script parameter loaded from a resource");
            None
        }
        ParamValue::Script(s) => c.script_source(n, Some(&s.format), &s.text, "camunda:script"),
    }
}
