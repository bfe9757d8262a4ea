//! Camunda 8: the `zeebe:` extensions, as Camunda 8's reference documents
//! them (docs.camunda.io/docs/components/modeler/bpmn/).
//!
//! - Implementations: `zeebe:taskDefinition` (`type`, maybe a FEEL
//!   expression; `retries`, 3 by default), on tasks and on message throw
//!   and end events.
//! - Variables: `zeebe:ioMapping` (a source without `=` is a literal
//!   string; with output mappings only they leave the element); call
//!   activities propagate every variable both ways unless
//!   `propagateAllParentVariables` / `propagateAllChildVariables` say no.
//! - Multi-instance: `zeebe:loopCharacteristics` (`inputCollection`,
//!   `inputElement`, `outputCollection`, `outputElement`); `loopCounter`
//!   from 1.
//! - `zeebe:script` (a FEEL expression and its `resultVariable`),
//!   `zeebe:calledDecision`, `zeebe:subscription correlationKey`,
//!   `zeebe:adHoc activeElementsCollection`.

use bpmn_models::ext::zeebe;
use bpmn_models::{EventDefinition, FlowNode, Message, MultiInstance};

use super::{IoExt, MultiInstanceExt, Rules, ScriptExt};
use crate::compile::Compiler;
use crate::compile::ir::{
    CallSpec, CallVariables, CatchVariables, DecisionMapping, DecisionSpec, ElementKind, JobType,
    MappingSource,
};
use crate::expr::Expr;

pub(super) struct Camunda8;

/// The Camunda 8 view of an element, or `Err` once the problem is reported.
fn view(c: &mut Compiler<'_>, n: &FlowNode, base: &bpmn_models::Base) -> Result<zeebe::Zeebe, ()> {
    zeebe::zeebe(base).map_err(|e| c.problem("BPMN031", n, e.message))
}

/// A FEEL expression (or `None` for blank text).
fn feel(c: &mut Compiler<'_>, n: &FlowNode, text: Option<&str>) -> Result<Option<Expr>, ()> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => c.expr(n, None, t).map(Some).ok_or(()),
        None => Ok(None),
    }
}

impl Rules for Camunda8 {
    fn implementation(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        _definition: Option<&EventDefinition>,
    ) -> Result<Option<ElementKind>, ()> {
        let z = view(c, n, &n.base)?;
        let Some(td) = &z.task_definition else {
            return Ok(None);
        };
        let retries = td
            .retries
            .as_deref()
            .and_then(|r| r.trim().parse::<u32>().ok())
            .unwrap_or(3);
        let job_type = if td.job_type.trim_start().starts_with('=') {
            JobType::Expression(c.expr(n, None, &td.job_type).ok_or(())?)
        } else {
            JobType::Fixed(td.job_type.clone())
        };
        Ok(Some(ElementKind::Job { job_type, retries }))
    }

    fn script(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<ScriptExt, ()> {
        let z = view(c, n, &n.base)?;
        Ok(match z.script {
            Some(s) => ScriptExt {
                expression: Some(s.expression),
                result_variable: s.result_variable,
            },
            None => ScriptExt::default(),
        })
    }

    fn decision(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<Option<DecisionSpec>, ()> {
        let z = view(c, n, &n.base)?;
        let Some(d) = &z.called_decision else {
            return Ok(None);
        };
        let decision = c.called_target(n, &d.decision_id, "a decision id")?;
        Ok(Some(DecisionSpec {
            decision,
            version: None,
            result_variable: d.result_variable.clone(),
            mapping: DecisionMapping::Value,
        }))
    }

    fn call(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        called_element: Option<&str>,
    ) -> Result<CallSpec, ()> {
        let z = view(c, n, &n.base)?;
        let ce = z.called_element.as_ref();
        let id = ce.and_then(|c| c.process_id.as_deref()).or(called_element);
        let process = c.called_process(n, id)?;
        Ok(CallSpec {
            process,
            version: None,
            same_deployment: ce.and_then(|c| c.binding_type)
                == Some(zeebe::BindingType::Deployment),
            inputs: CallVariables {
                all: ce
                    .and_then(|c| c.propagate_all_parent_variables)
                    .unwrap_or(true),
                mappings: Vec::new(),
            },
            outputs: CallVariables {
                all: ce
                    .and_then(|c| c.propagate_all_child_variables)
                    .unwrap_or(true),
                mappings: Vec::new(),
            },
            outputs_on_throw: false,
        })
    }

    fn io(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<IoExt, ()> {
        let Ok(z) = zeebe::zeebe(&n.base) else {
            return Ok(IoExt::default());
        };
        let Some(io) = &z.io_mapping else {
            return Ok(IoExt::default());
        };
        let inputs = IoExt::mappings(
            io.inputs
                .iter()
                .map(|m| (m.target.clone(), source(c, n, m))),
        );
        let outputs = (!io.outputs.is_empty()).then(|| {
            IoExt::mappings(
                io.outputs
                    .iter()
                    .map(|m| (m.target.clone(), source(c, n, m))),
            )
        });
        Ok(IoExt {
            outputs_only: outputs.is_some(),
            inputs,
            outputs,
        })
    }

    fn multi_instance(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        mi: &MultiInstance,
    ) -> Result<MultiInstanceExt, ()> {
        let z = view(c, n, &mi.base)?;
        let Some(l) = z.loop_characteristics else {
            return Ok(MultiInstanceExt::default());
        };
        Ok(MultiInstanceExt {
            collection: feel(c, n, l.input_collection.as_deref())?,
            element_variable: l.input_element,
            output_collection: l.output_collection,
            output_element: feel(c, n, l.output_element.as_deref())?,
        })
    }

    fn message_key(
        &self,
        c: &mut Compiler<'_>,
        n: &FlowNode,
        m: &Message,
    ) -> Result<Option<Expr>, ()> {
        let z = view(c, n, &m.base)?;
        let key = z.subscription.and_then(|s| s.correlation_key);
        feel(c, n, key.as_deref())
    }

    fn catch_variables(&self, _: &FlowNode) -> Option<Box<CatchVariables>> {
        // Camunda 8 has no such attributes.
        None
    }

    fn error_message(
        &self,
        _: &mut Compiler<'_>,
        _: &FlowNode,
        _: &bpmn_models::ErrorDef,
    ) -> Result<Option<MappingSource>, ()> {
        Ok(None)
    }

    fn ad_hoc_active(&self, c: &mut Compiler<'_>, n: &FlowNode) -> Result<Option<Expr>, ()> {
        let z = view(c, n, &n.base)?;
        let text = z.ad_hoc.and_then(|h| h.active_elements_collection);
        feel(c, n, text.as_deref())
    }
}

/// A Zeebe mapping without a source copies the variable of the target's name.
fn source(c: &mut Compiler<'_>, n: &FlowNode, m: &zeebe::Mapping) -> Option<MappingSource> {
    match &m.source {
        Some(s) => c.mapping_source(n, s),
        None => c
            .expr(n, None, &format!("={}", m.target))
            .map(MappingSource::Expr),
    }
}
