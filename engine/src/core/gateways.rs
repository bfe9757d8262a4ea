//! Gateways (BPMN 2.0.2 §10.6, execution semantics §13.3).
//!
//! - Exclusive: merges without waiting; splits along the first outgoing flow
//!   (document order) whose condition holds, else the default flow, else an
//!   incident.
//! - Parallel: joins by waiting for one token on every incoming flow (extra
//!   tokens on one flow wait for the next firing); splits along every
//!   outgoing flow, conditions ignored.
//! - Inclusive: splits along every flow whose condition holds (unconditioned
//!   flows always), else the default, else an incident. Joins when at least
//!   one token has arrived and no other token of the same scope — including
//!   tokens deep in sub-processes of that scope and tokens parked at other
//!   joins — can still reach the gateway (§13.4.2), and no other token is
//!   arriving at it in the same step (tokens a split sends to one join
//!   together merge there: one firing, as in Camunda 7). Reachability per
//!   gateway is precomputed at deploy time; the join is re-checked whenever
//!   the instance is otherwise quiescent, so tokens that end elsewhere
//!   release it.
//! - Complex (§13.3.5; no Camunda engine has it): tokens wait at the join
//!   until its `activationCondition` holds — evaluated at each arrival with
//!   `activationCount`, the number of incoming flows that brought a token —
//!   or, without a condition, until every incoming flow has brought one.
//!   Firing consumes one token per flow and splits like an inclusive
//!   gateway; the gateway then waits for its reset: a token that comes
//!   later on a flow that had none is absorbed (it does not fire the
//!   gateway again), and once every flow has delivered, the tokens that
//!   arrived meanwhile count for the next round. A condition that fails to
//!   evaluate counts as false (there is no token to raise an incident at).
//! - Event-based (§13.4.4): the token waits for the events of the catch
//!   events and receive tasks its flows lead to (their triggers open bound
//!   to the gateway's token); the first to fire completes the gateway, moves
//!   the token to its event, which completes, and closes the others. As the
//!   instantiating form (`instantiate="true"`, no incoming flow) its
//!   targets start instances ([`crate::compile::CompiledProcess::starts`]).
//!   A trigger that cannot open (a correlation key that fails) raises an
//!   incident at the gateway.

use super::triggers::{self, VarsAt};
use super::{Event, IncidentKind, Processor, ScopeId, TokenId, TokenState};
use crate::compile::{ElementIdx, ElementKind, FlowIdx};

pub(crate) fn event_based(p: &mut Processor<'_, '_>, token: TokenId) {
    let Some((element, scope)) = p.state.tokens.get(&token).map(|t| (t.element, t.scope)) else {
        return;
    };
    let process = p.ctx.process;
    let mut all = Vec::new();
    for &f in &process.element(element).outgoing {
        let target = process.flow(f).target;
        let Some(triggers) = super::events::catches(&process.element(target).kind) else {
            continue;
        };
        match triggers::prepare(p, VarsAt::Token(token), triggers) {
            Ok(prepared) => all.push((target, prepared)),
            Err(msg) => {
                let id = &process.element(target).id;
                p.incident(token, false, format!("`{id}`: {msg}"));
                return;
            }
        }
    }
    p.emit(Event::TokenStateChanged {
        token,
        state: TokenState::Event,
    });
    for (target, prepared) in all {
        triggers::open(p, Some(token), scope, target, prepared);
    }
}

pub(crate) fn exclusive(p: &mut Processor<'_, '_>, token: TokenId) {
    split(p, token, true);
}

/// A conditional split: the first flow whose condition holds (`first_only`,
/// exclusive) or every one (inclusive), else the default, else an incident.
/// A gateway without outgoing flows ends its token.
fn split(p: &mut Processor<'_, '_>, token: TokenId, first_only: bool) {
    let Some(element) = p.state.tokens.get(&token).map(|t| t.element) else {
        return;
    };
    if p.ctx.process.element(element).outgoing.is_empty() {
        p.emit(Event::ElementCompleted { token, element });
        p.consume(token);
        return;
    }
    match p.select_flows(token, first_only) {
        Ok(flows) => {
            p.emit(Event::ElementCompleted { token, element });
            p.take(token, &flows);
        }
        Err(msg) => p.incident_of(IncidentKind::Condition, token, false, msg),
    }
}

pub(crate) fn parallel(p: &mut Processor<'_, '_>, token: TokenId) {
    let Some(element) = p.state.tokens.get(&token).map(|t| t.element) else {
        return;
    };
    p.emit(Event::ElementCompleted { token, element });
    let out = p.ctx.process.element(element).outgoing.clone();
    if out.is_empty() {
        p.consume(token);
    } else {
        p.take(token, &out);
    }
}

pub(crate) fn inclusive(p: &mut Processor<'_, '_>, token: TokenId) {
    split(p, token, false);
}

/// A token arrives at a joining (parallel or inclusive) gateway.
pub(crate) fn join_arrive(p: &mut Processor<'_, '_>, token: TokenId, flow: FlowIdx) {
    let Some((element, scope)) = p.state.tokens.get(&token).map(|t| (t.element, t.scope)) else {
        return;
    };
    // The token is held by the join, not by the scope.
    p.emit(Event::TokenRemoved { token });
    p.emit(Event::JoinArrived {
        scope,
        element,
        flow,
    });
    match &p.ctx.process.element(element).kind {
        ElementKind::ParallelGateway => {
            let incoming = &p.ctx.process.element(element).incoming;
            // Fewer arrivals than incoming flows cannot cover them all: O(1)
            // per arrival until the last one, which checks in O(n log n).
            let ready = arrived(p, scope, element).is_some_and(|arrived| {
                if arrived.len() < incoming.len() {
                    return false;
                }
                let mut seen = arrived.to_vec();
                seen.sort_unstable();
                seen.dedup();
                incoming.iter().all(|f| seen.binary_search(f).is_ok())
            });
            if ready {
                fire(p, scope, element, incoming.clone());
            }
        }
        ElementKind::ComplexGateway { .. } => complex_arrive(p, scope, element, flow),
        ElementKind::InclusiveGateway { upstream }
            if inclusive_can_fire(p, scope, element, upstream) =>
        {
            let mut flows = arrived(p, scope, element).unwrap_or_default().to_vec();
            flows.sort_unstable();
            flows.dedup();
            fire(p, scope, element, flows);
        }
        _ => {}
    }
}

/// A token arrived on `flow` at a complex gateway (and waits in its join).
fn complex_arrive(p: &mut Processor<'_, '_>, scope: ScopeId, element: ElementIdx, flow: FlowIdx) {
    let resetting = p
        .state
        .complex_resets
        .iter()
        .find(|r| r.scope == scope && r.element == element)
        .map(|r| r.awaiting.contains(&flow));
    match resetting {
        Some(true) => {
            p.emit(Event::JoinConsumed {
                scope,
                element,
                flows: vec![flow],
            });
            p.emit(Event::ComplexAbsorbed {
                scope,
                element,
                flow,
            });
            // The absorbed token may have been the scope's last.
            super::containers::check_scope_complete(p, scope);
            // Reset: what waited meanwhile is the next round.
            if !p
                .state
                .complex_resets
                .iter()
                .any(|r| r.scope == scope && r.element == element)
            {
                complex_check(p, scope, element);
            }
        }
        // Waiting for the reset: the token belongs to the next round.
        Some(false) => {}
        None => complex_check(p, scope, element),
    }
}

/// Fires a complex gateway whose activation condition holds.
fn complex_check(p: &mut Processor<'_, '_>, scope: ScopeId, element: ElementIdx) {
    let process = p.ctx.process;
    let el = process.element(element);
    let ElementKind::ComplexGateway { activation } = &el.kind else {
        return;
    };
    let mut flows = arrived(p, scope, element).unwrap_or_default().to_vec();
    flows.sort_unstable();
    flows.dedup();
    if flows.is_empty() {
        return;
    }
    let ready = match activation {
        None => el.incoming.iter().all(|f| flows.binary_search(f).is_ok()),
        Some(c) => {
            let mut extra = serde_json::Map::new();
            extra.insert("activationCount".into(), flows.len().into());
            p.eval_bool_with(scope, &extra, c).unwrap_or(false)
        }
    };
    if !ready {
        return;
    }
    let awaiting: Vec<FlowIdx> = el
        .incoming
        .iter()
        .copied()
        .filter(|f| flows.binary_search(f).is_err())
        .collect();
    fire(p, scope, element, flows);
    if !awaiting.is_empty() {
        p.emit(Event::ComplexFired {
            scope,
            element,
            awaiting,
        });
    }
}

/// The flows tokens arrived on at a join, one entry per waiting token.
fn arrived<'p>(
    p: &'p Processor<'_, '_>,
    scope: ScopeId,
    element: ElementIdx,
) -> Option<&'p [FlowIdx]> {
    p.state
        .joins
        .iter()
        .find(|j| j.scope == scope && j.element == element)
        .map(|j| j.arrived.as_slice())
}

fn fire(p: &mut Processor<'_, '_>, scope: ScopeId, element: ElementIdx, flows: Vec<FlowIdx>) {
    p.emit(Event::JoinConsumed {
        scope,
        element,
        flows,
    });
    let token = p.new_id();
    p.emit(Event::TokenCreated {
        token,
        element,
        scope,
    });
    p.schedule_activate(token);
}

/// No token of `scope` (or below it) and no other join of `scope` can still
/// reach the gateway.
fn inclusive_can_fire(
    p: &Processor<'_, '_>,
    scope: ScopeId,
    element: ElementIdx,
    upstream: &[bool],
) -> bool {
    if arrived(p, scope, element).is_none_or(<[FlowIdx]>::is_empty) {
        return false;
    }
    let reaches = |e: ElementIdx| e != element && upstream.get(e.0 as usize).copied() == Some(true);
    for t in p.state.tokens.values() {
        // A live token standing at the gateway itself is one that arrives
        // in this very step (tokens that arrived wait in the join, not as
        // tokens): they merge together, as Camunda 7 merges tokens that
        // arrive at once.
        if t.scope == scope && t.element == element {
            return false;
        }
        if let Some(e) = position_in_scope(p, t.scope, t.element, scope)
            && reaches(e)
        {
            return false;
        }
    }
    !p.state
        .joins
        .iter()
        .any(|j| j.scope == scope && j.element != element && reaches(j.element))
}

/// Where a token stands from the point of view of `scope`: its own element
/// if it moves in `scope`, the sub-process element that (transitively)
/// contains it if it moves below, `None` if it is elsewhere.
fn position_in_scope(
    p: &Processor<'_, '_>,
    mut token_scope: ScopeId,
    mut element: ElementIdx,
    scope: ScopeId,
) -> Option<ElementIdx> {
    for _ in 0..10_000 {
        if token_scope == scope {
            return Some(element);
        }
        let s = p.state.scopes.get(&token_scope)?;
        let owner = p.state.tokens.get(&s.owner?)?;
        element = owner.element;
        token_scope = owner.scope;
    }
    None
}

/// Fires every inclusive join that is ready; true if any fired.
pub(crate) fn fire_ready_inclusive_joins(p: &mut Processor<'_, '_>) -> bool {
    let pending: Vec<(ScopeId, ElementIdx)> =
        p.state.joins.iter().map(|j| (j.scope, j.element)).collect();
    let mut fired = false;
    for (scope, element) in pending {
        if let ElementKind::InclusiveGateway { upstream } = &p.ctx.process.element(element).kind
            && inclusive_can_fire(p, scope, element, upstream)
        {
            let mut flows = arrived(p, scope, element).unwrap_or_default().to_vec();
            flows.sort_unstable();
            flows.dedup();
            fire(p, scope, element, flows);
            fired = true;
        }
    }
    fired
}
