//! Passes over the numbered elements: flows linked to their ends and
//! default flows, link events to their targets, compensation boundary
//! events to their handlers, the implicit starts of scopes without a start
//! event (BPMN 2.0.2 §10.3.5, §13.2), the process's event starts, and which
//! elements can reach each inclusive gateway (§13.4.2).

use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use super::ir::*;
use super::{Compiler, DeployProblem};

impl Compiler<'_> {
    /// Points each activity with a compensation boundary event at its
    /// handler, which must be `isForCompensation` and have no incoming flow.
    pub(super) fn resolve_compensation(&mut self) {
        for (activity, handler, boundary, span) in std::mem::take(&mut self.compensation_links) {
            let found = self
                .index
                .get(handler.as_str())
                .copied()
                .filter(|h| self.elements[h.0 as usize].for_compensation);
            match found {
                Some(h) if self.elements[h.0 as usize].incoming.is_empty() => {
                    self.elements[activity.0 as usize].compensation = Some(h);
                }
                _ => self.problems.push(DeployProblem {
                    code: "ENG015",
                    element_id: Some(boundary.clone()),
                    span,
                    message: format!(
                        "compensation boundary event `{boundary}`: expected its association to lead to an activity with isForCompensation=\"true\" and no incoming flow, found `{handler}`"
                    ),
                }),
            }
        }
    }

    /// The implicit starts of scopes without a start event: the process
    /// (when nothing else starts it) and embedded sub-processes and
    /// transactions — not ad-hoc or event sub-processes, which enable their
    /// inside their own way. Boundary events, event sub-processes,
    /// compensation handlers and catching link events have no incoming
    /// flows but are never started this way.
    pub(super) fn implicit_starts(&mut self) {
        let link_catches: Vec<ElementIdx> = self.link_catches.values().copied().collect();
        let has_event_starts =
            self.elements.iter().any(|e| {
                e.scope == ScopeIdx(0) && matches!(e.kind, ElementKind::EventStart { .. })
            }) || !self.instantiating.is_empty();
        for (i, def) in self.scopes.iter_mut().enumerate() {
            if !def.start_events.is_empty() {
                continue;
            }
            let owner_kind = def.owner.map(|o| &self.elements[o.0 as usize].kind);
            let eligible = match owner_kind {
                None => !has_event_starts,
                Some(ElementKind::SubProcess { .. }) => true,
                _ => false,
            };
            if !eligible {
                continue;
            }
            def.implicit_starts = self
                .elements
                .iter()
                .enumerate()
                .filter(|(j, e)| {
                    e.scope == ScopeIdx(i as u32)
                        && e.incoming.is_empty()
                        && !e.for_compensation
                        && !link_catches.contains(&ElementIdx(*j as u32))
                        && !matches!(
                            e.kind,
                            ElementKind::Boundary { .. }
                                | ElementKind::EventSubProcess { .. }
                                | ElementKind::EventStart { .. }
                        )
                })
                .map(|(j, _)| ElementIdx(j as u32))
                .collect();
        }
    }

    /// Points each link throw event at its catching link event.
    pub(super) fn resolve_links(&mut self) {
        for (throw, scope, name) in std::mem::take(&mut self.link_throws) {
            match self.link_catches.get(&(scope, name.clone())) {
                Some(&target) => {
                    self.elements[throw.0 as usize].kind = ElementKind::LinkThrow { target };
                }
                None => {
                    let e = &self.elements[throw.0 as usize];
                    self.problems.push(DeployProblem {
                        code: "ENG016",
                        element_id: Some(e.id.clone()),
                        span: e.span,
                        message: format!(
                            "link throw event `{}`: expected a catching link event named `{name}` in the same process level, found none",
                            e.id
                        ),
                    });
                }
            }
        }
    }

    /// The process's event starts: start events with definitions at
    /// process level, and the targets of instantiating event gateways.
    pub(super) fn starts(&self) -> Vec<ElementIdx> {
        let mut out: Vec<ElementIdx> = self
            .elements
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.scope == ScopeIdx(0) && matches!(e.kind, ElementKind::EventStart { .. })
            })
            .map(|(i, _)| ElementIdx(i as u32))
            .collect();
        for g in &self.instantiating {
            for f in &self.elements[g.0 as usize].outgoing {
                out.push(self.flows[f.0 as usize].target);
            }
        }
        out
    }

    pub(super) fn link_flows(&mut self) {
        for (i, f) in self.flows.iter().enumerate() {
            let fi = FlowIdx(i as u32);
            self.elements[f.source.0 as usize].outgoing.push(fi);
            self.elements[f.target.0 as usize].incoming.push(fi);
        }
        // Default flows, by the model's `default` attribute.
        let by_id: HashMap<&str, FlowIdx> = self
            .flows
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.as_str(), FlowIdx(i as u32)))
            .collect();
        let defaults: Vec<(usize, Option<FlowIdx>)> = self
            .elements
            .iter()
            .enumerate()
            .map(|(i, e)| {
                (
                    i,
                    self.defaults
                        .get(&e.id)
                        .and_then(|d| by_id.get(d.as_str()).copied()),
                )
            })
            .collect();
        for (i, d) in defaults {
            self.elements[i].default_flow = d;
        }
        // A boundary event is started by its activity, never by a flow.
        for e in &self.elements {
            if matches!(e.kind, ElementKind::Boundary { .. }) && !e.incoming.is_empty() {
                self.problems.push(DeployProblem {
                    code: "ENG014",
                    element_id: Some(e.id.clone()),
                    span: e.span,
                    message: format!(
                        "boundary event `{}`: expected no incoming sequence flow, found {}",
                        e.id,
                        e.incoming.len()
                    ),
                });
            }
        }
    }

    pub(super) fn precompute_inclusive(&mut self) {
        let mut graph: DiGraph<ElementIdx, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..self.elements.len())
            .map(|i| graph.add_node(ElementIdx(i as u32)))
            .collect();
        for f in &self.flows {
            graph.add_edge(nodes[f.source.0 as usize], nodes[f.target.0 as usize], ());
        }
        let n = self.elements.len();
        for i in 0..n {
            if !matches!(self.elements[i].kind, ElementKind::InclusiveGateway { .. }) {
                continue;
            }
            let mut upstream = vec![false; n];
            let rev = Reversed(&graph);
            let mut dfs = Dfs::new(rev, nodes[i]);
            while let Some(x) = dfs.next(rev) {
                if x != nodes[i] {
                    upstream[graph[x].0 as usize] = true;
                }
            }
            // A gateway inside a cycle can reach itself.
            upstream[i] = self.elements[i]
                .incoming
                .iter()
                .any(|f| upstream[self.flows[f.0 as usize].source.0 as usize]);
            self.elements[i].kind = ElementKind::InclusiveGateway { upstream };
        }
    }
}
