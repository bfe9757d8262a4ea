//! Decision tables (DMN 1.5 §8: hit policies of §8.2.11, input and output
//! values, default output entries, multiple outputs, annotations).
//!
//! A table is compiled once into parsed unary tests and output expressions;
//! evaluation records the matched rules in the evaluator's audit trail.
//! A hit-policy violation (UNIQUE with several matches, ANY with differing
//! outputs) yields null with a reason naming the matched rule ids.

use crate::feel::ast::{Boxed, CmpOp, Expr, UnaryTest, UnaryTests};
use crate::feel::eval::{Evaluator, Scope, TableAudit, compare, make_range, range_contains};
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
    /// The input expression's `typeRef`, when the dialect converts input
    /// values to it ([`crate::dialect::coerce_input`]).
    pub convert_to: Option<String>,
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
    pub tests: Vec<Matcher>,
    /// One expression per output; `None`: an empty entry the dialect
    /// leaves out of the rule's result.
    pub outputs: Vec<Option<Expr>>,
    /// Annotation entries (text), one per annotation column.
    pub annotations: Vec<String>,
}

/// An input entry prepared for matching. Entries made of literal values
/// (`< 10`, `"gold", "silver"`, `[1..5]`, `-`) are compared directly without
/// going through the FEEL evaluator; anything else is evaluated generically.
#[derive(Debug)]
pub enum Matcher {
    /// `-`
    Any,
    /// Literal tests; `negated` for `not(...)`.
    Direct {
        /// `not(...)`.
        negated: bool,
        /// Alternatives.
        tests: Vec<DirectTest>,
    },
    /// Any other unary tests.
    Generic(Arc<UnaryTests>),
    /// An entry that did not parse, in a dialect where that fails the
    /// evaluation: the message says where and why.
    Fail(Arc<str>),
}

/// One literal alternative of a [`Matcher::Direct`].
#[derive(Debug)]
pub enum DirectTest {
    /// `< v`, `= v`, ...
    Cmp(CmpOp, Value),
    /// A literal value: equality.
    Equals(Value),
    /// A literal range.
    In(Box<crate::value::Range>),
    /// A literal range whose ends are integers that fit `i64` (`[100..200)`):
    /// an integer input is compared with them directly, anything else goes
    /// through the range.
    IntIn(Box<crate::value::Range>, (i64, bool), (i64, bool)),
}

/// The input as `i64` for [`DirectTest::IntIn`]: an integral number that fits.
pub fn int_key(input: &Value) -> Option<i64> {
    match input {
        Value::Number(n) => n.small_int(),
        _ => None,
    }
}

impl Matcher {
    /// Prepares unary tests for matching.
    pub fn new(t: UnaryTests) -> Matcher {
        let (negated, ts) = match &t {
            UnaryTests::Any => return Matcher::Any,
            UnaryTests::Tests(ts) => (false, ts),
            UnaryTests::Not(ts) => (true, ts),
        };
        let mut direct = Vec::with_capacity(ts.len());
        for test in ts {
            let d = match test {
                UnaryTest::Cmp(op, Expr::Const(v)) if !v.is_null() => {
                    DirectTest::Cmp(*op, v.clone())
                }
                UnaryTest::Expr(Expr::Const(v))
                    if matches!(
                        v,
                        Value::Number(_)
                            | Value::String(_)
                            | Value::Date(_)
                            | Value::DateTime(_)
                            | Value::Time(_)
                            | Value::DtDuration(_)
                            | Value::YmDuration(_)
                    ) =>
                {
                    DirectTest::Equals(v.clone())
                }
                UnaryTest::Expr(Expr::Range {
                    start: Some(s),
                    start_incl,
                    end: Some(e),
                    end_incl,
                }) => match (s.as_ref(), e.as_ref()) {
                    (Expr::Const(a), Expr::Const(b)) if !a.is_null() && !b.is_null() => {
                        match make_range(Some(a.clone()), *start_incl, Some(b.clone()), *end_incl) {
                            Value::Range(r) => match (int_key(a), int_key(b)) {
                                (Some(lo), Some(hi)) if r.unary.is_none() => {
                                    DirectTest::IntIn(r, (lo, *start_incl), (hi, *end_incl))
                                }
                                _ => DirectTest::In(r),
                            },
                            _ => return Matcher::Generic(Arc::new(t)),
                        }
                    }
                    _ => return Matcher::Generic(Arc::new(t)),
                },
                _ => return Matcher::Generic(Arc::new(t)),
            };
            direct.push(d);
        }
        Matcher::Direct {
            negated,
            tests: direct,
        }
    }

    /// Does `input` match?
    pub fn matches(&self, ev: &mut Evaluator, input: &Value, scope: &mut Scope) -> bool {
        self.matches_keyed(ev, input, int_key(input), scope)
    }

    /// [`Matcher::matches`] with the input's [`int_key`] computed once by the
    /// caller (a table tests the same input against every rule).
    pub fn matches_keyed(
        &self,
        ev: &mut Evaluator,
        input: &Value,
        key: Option<i64>,
        scope: &mut Scope,
    ) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Fail(message) => {
                ev.fail(message.to_string());
                false
            }
            Matcher::Generic(t) => {
                matches!(ev.unary_tests(t, input.clone(), scope), Value::Bool(true))
            }
            Matcher::Direct { negated, tests } => {
                // Three-valued: Some(true), Some(false), or None (null).
                let mut saw_null = false;
                let mut hit = false;
                for t in tests {
                    let r = match t {
                        DirectTest::Cmp(op, v) => match compare(*op, input, v) {
                            Value::Bool(b) => Some(b),
                            _ => None,
                        },
                        DirectTest::Equals(v) => Some(input.feel_eq(v) == Some(true)),
                        DirectTest::In(r) => match range_contains(r, input) {
                            Value::Bool(b) => Some(b),
                            _ => None,
                        },
                        DirectTest::IntIn(r, (lo, lo_in), (hi, hi_in)) => match key {
                            Some(x) => Some(
                                (if *lo_in { x >= *lo } else { x > *lo })
                                    && (if *hi_in { x <= *hi } else { x < *hi }),
                            ),
                            None => match range_contains(r, input) {
                                Value::Bool(b) => Some(b),
                                _ => None,
                            },
                        },
                    };
                    match r {
                        Some(true) => {
                            hit = true;
                            break;
                        }
                        Some(false) => {}
                        None => saw_null = true,
                    }
                }
                match (hit, saw_null, negated) {
                    (true, _, false) => true,
                    (true, _, true) => false,
                    (false, true, _) => false,
                    (false, false, n) => *n,
                }
            }
        }
    }
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
    /// Names of the annotation columns.
    pub annotation_names: Vec<String>,
    /// Camunda's COLLECT aggregation: over the one output each matched
    /// rule gives (several fail the evaluation), not over a single-output
    /// table's rows only.
    pub aggregate_per_rule: bool,
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
    /// One rule's result: the value of a single output, else a context of
    /// the outputs (an omitted entry, `None`, is left out).
    fn row_value(&self, vals: Vec<Option<Value>>) -> Value {
        if self.outputs.len() == 1 {
            vals.into_iter().next().flatten().unwrap_or_default()
        } else {
            Value::Context(Context {
                entries: self
                    .outputs
                    .iter()
                    .map(|o| o.name.clone())
                    .zip(vals)
                    .filter_map(|(k, v)| Some((k, v?)))
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
                Some(e) => Some(ev.eval(e, scope)),
                None => Some(Value::Null(None)),
            })
            .collect();
        Some(self.row_value(vals))
    }
}

impl Boxed for DecisionTable {
    fn eval(&self, ev: &mut Evaluator, scope: &mut Scope) -> Value {
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for (i, c) in self.inputs.iter().enumerate() {
            let mut v = ev.eval(&c.expr, scope);
            if let Some(t) = &c.convert_to {
                v = crate::dialect::coerce_input(t, v);
            }
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
        let keys: Vec<Option<i64>> = inputs.iter().map(int_key).collect();
        let mut matched: Vec<usize> = Vec::new();
        for (ri, rule) in self.rules.iter().enumerate() {
            if !ev.step(1) {
                return Value::null("evaluation aborted");
            }
            let mut ok = true;
            for ((t, v), key) in rule.tests.iter().zip(&inputs).zip(&keys) {
                if !t.matches_keyed(ev, v, *key, scope) {
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
            annotations: matched
                .iter()
                .map(|&i| {
                    self.annotation_names
                        .iter()
                        .cloned()
                        .zip(self.rules[i].annotations.iter().cloned())
                        .collect()
                })
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
        let mut rows: Vec<Vec<Option<Value>>> = Vec::with_capacity(matched.len());
        for &ri in &matched {
            let mut row = Vec::with_capacity(self.outputs.len());
            for (oi, e) in self.rules[ri].outputs.iter().enumerate() {
                let Some(e) = e else {
                    row.push(None);
                    continue;
                };
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
                row.push(Some(v));
            }
            rows.push(row);
        }
        if ev.aborted().is_some() {
            return Value::null("evaluation aborted");
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
                    let same = r.iter().zip(&rows[0]).all(|(a, b)| match (a, b) {
                        (Some(a), Some(b)) => a.feel_eq(b) == Some(true),
                        (a, b) => a.is_none() && b.is_none(),
                    });
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
                let mut keyed: Vec<(Vec<usize>, usize, Vec<Option<Value>>)> = Vec::new();
                for (k, r) in rows.into_iter().enumerate() {
                    let key = self
                        .outputs
                        .iter()
                        .zip(&r)
                        .map(|(c, v)| v.as_ref().map_or(usize::MAX, |v| priority(ev, scope, c, v)))
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
            HitPolicy::Collect(Some(a)) if self.aggregate_per_rule => {
                match self.per_rule_values(ev, &matched, rows) {
                    Ok(values) => aggregate(a, values),
                    Err(failed) => failed,
                }
            }
            HitPolicy::Collect(agg) => {
                let values: Vec<Value> = if self.outputs.len() == 1 {
                    // A rule whose only entry was left out gives nothing.
                    rows.into_iter()
                        .filter_map(|r| r.into_iter().next().flatten())
                        .collect()
                } else {
                    rows.into_iter().map(|r| self.row_value(r)).collect()
                };
                match agg {
                    None => Value::List(values),
                    Some(_) if self.outputs.len() != 1 => {
                        Value::null("aggregation needs a single output")
                    }
                    Some(a) => aggregate(a, values),
                }
            }
        }
    }
}

impl DecisionTable {
    /// Camunda's input to an aggregation: the one output each matched rule
    /// gives (rules whose entries were all left out give none); a rule with
    /// several fails the evaluation.
    fn per_rule_values(
        &self,
        ev: &mut Evaluator,
        matched: &[usize],
        rows: Vec<Vec<Option<Value>>>,
    ) -> Result<Vec<Value>, Value> {
        let mut values = Vec::with_capacity(rows.len());
        for (&ri, row) in matched.iter().zip(rows) {
            let mut given: Vec<Value> = row.into_iter().flatten().collect();
            match given.len() {
                0 => {}
                1 => values.extend(given.pop()),
                n => {
                    return Err(ev.fail(format!(
                        "decision table {}: expected one output per matched rule to aggregate, found {n} in rule {}",
                        self.id, self.rules[ri].id
                    )));
                }
            }
        }
        Ok(values)
    }
}

/// COLLECT with an aggregation (§8.2.11): the distinct count, or the sum,
/// minimum or maximum of the non-null values.
fn aggregate(a: Aggregation, values: Vec<Value>) -> Value {
    if a == Aggregation::Count {
        let mut distinct: Vec<Value> = Vec::new();
        for v in values {
            if !distinct.iter().any(|d| d.feel_eq(&v) == Some(true)) {
                distinct.push(v);
            }
        }
        return Value::int(distinct.len() as i64);
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
            (Some(cur), Aggregation::Min | Aggregation::Max) => match v.feel_cmp(&cur) {
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
            },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feel::parser::parse_unary_tests;

    /// The direct matcher agrees with the generic FEEL evaluation.
    #[test]
    fn direct_matching_agrees_with_feel() {
        let tests = [
            "-",
            "<10",
            ">= 5",
            "=3",
            "!=3",
            "3",
            "\"a\", \"b\"",
            "[1..5]",
            "(1..5)",
            "]1..5[",
            "not(3, 4)",
            "not(<2)",
            "@\"2020-01-01\"",
            "[@\"2020-01-01\"..@\"2020-12-31\"]",
            "1, [5..7], >100",
            "? > 2",
            "[1, 2]",
            "null",
            "true",
        ];
        let inputs = [
            Value::int(3),
            Value::int(1),
            Value::int(5),
            Value::int(200),
            Value::String("a".into()),
            Value::Null(None),
            Value::Bool(true),
            Value::Date(crate::temporal::parse_date("2020-06-01").unwrap()),
            Value::List(vec![Value::int(1), Value::int(2)]),
        ];
        for t in tests {
            let parsed = parse_unary_tests(t, &[]).unwrap();
            let generic = Arc::new(parse_unary_tests(t, &[]).unwrap());
            let m = Matcher::new(parsed);
            for i in &inputs {
                let mut ev = Evaluator::default();
                let mut scope = Scope::new();
                let want = matches!(
                    ev.unary_tests(&generic, i.clone(), &mut scope),
                    Value::Bool(true)
                );
                assert_eq!(m.matches(&mut ev, i, &mut scope), want, "{t} against {i:?}");
            }
        }
    }
}
