//! Decision tables (DMN 1.5 §8: hit policies of §8.2.11, input and output
//! values, default output entries, multiple outputs, annotations).
//!
//! A table is compiled once into parsed unary tests and output expressions;
//! evaluation records the matched rules in the evaluator's audit trail.
//! A hit-policy violation (UNIQUE with several matches, ANY with differing
//! outputs) yields null with a reason naming the matched rule ids.

use crate::feel::ast::{Boxed, Expr, UnaryTests};
use crate::feel::eval::{Evaluator, Scope, TableAudit};
use crate::number::Number;
use crate::value::{Context, Value};
use std::cmp::Ordering;
use std::sync::Arc;

/// Hit policies of §8.2.11.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitPolicy {
    /// U
    Unique,
    /// A
    Any,
    /// P
    Priority,
    /// F
    First,
    /// R
    RuleOrder,
    /// O
    OutputOrder,
    /// C, C+, C<, C>, C#
    Collect(Option<Aggregation>),
}

/// COLLECT aggregations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// C+
    Sum,
    /// C<
    Min,
    /// C>
    Max,
    /// C#
    Count,
}

impl HitPolicy {
    /// Reads the XML attribute values (`UNIQUE`, `COLLECT` + `SUM`, ...), also
    /// the single-letter forms.
    pub fn parse(policy: &str, aggregation: Option<&str>) -> Option<HitPolicy> {
        let agg = match aggregation.map(str::trim) {
            None | Some("") => None,
            Some("SUM") => Some(Aggregation::Sum),
            Some("MIN") => Some(Aggregation::Min),
            Some("MAX") => Some(Aggregation::Max),
            Some("COUNT") => Some(Aggregation::Count),
            Some(_) => return None,
        };
        Some(match policy.trim() {
            "UNIQUE" | "U" => HitPolicy::Unique,
            "ANY" | "A" => HitPolicy::Any,
            "PRIORITY" | "P" => HitPolicy::Priority,
            "FIRST" | "F" => HitPolicy::First,
            "RULE ORDER" | "R" => HitPolicy::RuleOrder,
            "OUTPUT ORDER" | "O" => HitPolicy::OutputOrder,
            "COLLECT" | "C" => HitPolicy::Collect(agg),
            "C+" => HitPolicy::Collect(Some(Aggregation::Sum)),
            "C<" => HitPolicy::Collect(Some(Aggregation::Min)),
            "C>" => HitPolicy::Collect(Some(Aggregation::Max)),
            "C#" => HitPolicy::Collect(Some(Aggregation::Count)),
            _ => return None,
        })
    }
}

/// A compiled input clause.
#[derive(Debug)]
pub struct InputClause {
    /// Input expression.
    pub expr: Expr,
    /// Allowed input values.
    pub values: Option<Arc<UnaryTests>>,
}

/// A compiled output clause.
#[derive(Debug)]
pub struct OutputClause {
    /// Output name (component name for multi-output tables).
    pub name: String,
    /// Allowed output values, also the priority order.
    pub values: Option<Arc<UnaryTests>>,
    /// Default output entry.
    pub default: Option<Expr>,
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Rule id.
    pub id: String,
    /// One test per input.
    pub tests: Vec<Arc<UnaryTests>>,
    /// One expression per output.
    pub outputs: Vec<Expr>,
}

/// A compiled decision table.
#[derive(Debug)]
pub struct DecisionTable {
    /// Table id.
    pub id: String,
    /// Hit policy.
    pub hit: HitPolicy,
    /// Inputs.
    pub inputs: Vec<InputClause>,
    /// Outputs.
    pub outputs: Vec<OutputClause>,
    /// Rules in order.
    pub rules: Vec<Rule>,
}

fn priority(ev: &mut Evaluator, scope: &mut Scope, clause: &OutputClause, v: &Value) -> usize {
    let Some(t) = &clause.values else { return 0 };
    let UnaryTests::Tests(ts) = t.as_ref() else {
        return 0;
    };
    for (i, test) in ts.iter().enumerate() {
        let single = UnaryTests::Tests(vec![test.clone()]);
        if let Value::Bool(true) = ev.unary_tests(&single, v.clone(), scope) {
            return i;
        }
    }
    usize::MAX
}

impl DecisionTable {
    fn row_value(&self, vals: Vec<Value>) -> Value {
        if self.outputs.len() == 1 {
            vals.into_iter().next().unwrap_or_default()
        } else {
            Value::Context(Context {
                entries: self
                    .outputs
                    .iter()
                    .map(|o| o.name.clone())
                    .zip(vals)
                    .collect(),
            })
        }
    }

    fn default_value(&self, ev: &mut Evaluator, scope: &mut Scope) -> Option<Value> {
        if self.outputs.iter().all(|o| o.default.is_none()) {
            return None;
        }
        let vals = self
            .outputs
            .iter()
            .map(|o| match &o.default {
                Some(e) => ev.eval(e, scope),
                None => Value::Null(None),
            })
            .collect();
        Some(self.row_value(vals))
    }
}

impl Boxed for DecisionTable {
    fn eval(&self, ev: &mut Evaluator, scope: &mut Scope) -> Value {
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for (i, c) in self.inputs.iter().enumerate() {
            let v = ev.eval(&c.expr, scope);
            if let Some(allowed) = &c.values
                && !v.is_null()
                && !matches!(ev.unary_tests(allowed, v.clone(), scope), Value::Bool(true))
            {
                return Value::null(format!(
                    "decision table {}: input {} value {} is not among the input values",
                    self.id,
                    i + 1,
                    v.to_feel_literal()
                ));
            }
            inputs.push(v);
        }
        let mut matched: Vec<usize> = Vec::new();
        for (ri, rule) in self.rules.iter().enumerate() {
            if !ev.step(1) {
                return Value::null("evaluation aborted");
            }
            let mut ok = true;
            for (t, v) in rule.tests.iter().zip(&inputs) {
                if !matches!(ev.unary_tests(t, v.clone(), scope), Value::Bool(true)) {
                    ok = false;
                    break;
                }
            }
            if ok {
                matched.push(ri);
                if self.hit == HitPolicy::First {
                    break;
                }
            }
        }
        ev.audit.push(TableAudit {
            table_id: self.id.clone(),
            matched: matched
                .iter()
                .map(|&i| (i, self.rules[i].id.clone()))
                .collect(),
            violation: None,
        });
        let ids = |m: &[usize]| {
            m.iter()
                .map(|&i| self.rules[i].id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Evaluate the outputs of the matched rules.
        let mut rows: Vec<Vec<Value>> = Vec::with_capacity(matched.len());
        for &ri in &matched {
            let mut row = Vec::with_capacity(self.outputs.len());
            for (oi, e) in self.rules[ri].outputs.iter().enumerate() {
                let v = ev.eval(e, scope);
                if let Some(clause) = self.outputs.get(oi)
                    && let Some(allowed) = &clause.values
                    && !v.is_null()
                    && !matches!(ev.unary_tests(allowed, v.clone(), scope), Value::Bool(true))
                {
                    return Value::null(format!(
                        "decision table {}: rule {} output {} is not among the output values",
                        self.id,
                        self.rules[ri].id,
                        v.to_feel_literal()
                    ));
                }
                row.push(v);
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return match self.hit {
                HitPolicy::Collect(Some(Aggregation::Count)) => Value::int(0),
                HitPolicy::Collect(Some(_)) => self.default_value(ev, scope).unwrap_or_default(),
                HitPolicy::Collect(None) | HitPolicy::RuleOrder | HitPolicy::OutputOrder => {
                    match self.default_value(ev, scope) {
                        Some(d) => d,
                        None => Value::List(vec![]),
                    }
                }
                _ => self.default_value(ev, scope).unwrap_or_default(),
            };
        }
        match self.hit {
            HitPolicy::Unique => {
                if rows.len() > 1 {
                    if let Some(a) = ev.audit.last_mut() {
                        a.violation = Some("UNIQUE");
                    }
                    return Value::null(format!(
                        "decision table {}: hit policy UNIQUE violated, rules {} matched",
                        self.id,
                        ids(&matched)
                    ));
                }
                self.row_value(rows.swap_remove(0))
            }
            HitPolicy::Any => {
                for r in &rows[1..] {
                    let same = r
                        .iter()
                        .zip(&rows[0])
                        .all(|(a, b)| a.feel_eq(b) == Some(true));
                    if !same {
                        if let Some(a) = ev.audit.last_mut() {
                            a.violation = Some("ANY");
                        }
                        return Value::null(format!(
                            "decision table {}: hit policy ANY violated, rules {} matched with different outputs",
                            self.id,
                            ids(&matched)
                        ));
                    }
                }
                self.row_value(rows.swap_remove(0))
            }
            HitPolicy::First => self.row_value(rows.swap_remove(0)),
            HitPolicy::RuleOrder => {
                Value::List(rows.into_iter().map(|r| self.row_value(r)).collect())
            }
            HitPolicy::Priority | HitPolicy::OutputOrder => {
                let mut keyed: Vec<(Vec<usize>, usize, Vec<Value>)> = Vec::new();
                for (k, r) in rows.into_iter().enumerate() {
                    let key = self
                        .outputs
                        .iter()
                        .zip(&r)
                        .map(|(c, v)| priority(ev, scope, c, v))
                        .collect();
                    keyed.push((key, k, r));
                }
                keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
                if self.hit == HitPolicy::Priority {
                    let first = keyed.into_iter().next().map(|x| x.2).unwrap_or_default();
                    self.row_value(first)
                } else {
                    Value::List(keyed.into_iter().map(|x| self.row_value(x.2)).collect())
                }
            }
            HitPolicy::Collect(agg) => {
                let values: Vec<Value> = rows.into_iter().map(|r| self.row_value(r)).collect();
                match agg {
                    None => Value::List(values),
                    Some(Aggregation::Count) => {
                        let mut distinct: Vec<Value> = Vec::new();
                        for v in values {
                            if !distinct.iter().any(|d| d.feel_eq(&v) == Some(true)) {
                                distinct.push(v);
                            }
                        }
                        Value::int(distinct.len() as i64)
                    }
                    Some(a) => {
                        if self.outputs.len() != 1 {
                            return Value::null("aggregation needs a single output");
                        }
                        let mut acc: Option<Value> = None;
                        for v in values {
                            if v.is_null() {
                                continue;
                            }
                            acc = Some(match (acc, a) {
                                (None, _) => v,
                                (Some(Value::Number(x)), Aggregation::Sum) => match &v {
                                    Value::Number(y) => match x.add(y) {
                                        Some(s) => Value::Number(s),
                                        None => return Value::null("sum overflow"),
                                    },
                                    _ => return Value::null("C+ needs numbers"),
                                },
                                (Some(cur), Aggregation::Min | Aggregation::Max) => {
                                    match v.feel_cmp(&cur) {
                                        Some(o) => {
                                            if (a == Aggregation::Min && o == Ordering::Less)
                                                || (a == Aggregation::Max && o == Ordering::Greater)
                                            {
                                                v
                                            } else {
                                                cur
                                            }
                                        }
                                        None => return Value::null("outputs are not comparable"),
                                    }
                                }
                                _ => return Value::null("C+ needs numbers"),
                            });
                        }
                        if a == Aggregation::Sum
                            && let Some(v) = &acc
                            && !matches!(v, Value::Number(_))
                        {
                            return Value::null("C+ needs numbers");
                        }
                        acc.unwrap_or(Value::Number(Number::zero()))
                    }
                }
            }
        }
    }
}
