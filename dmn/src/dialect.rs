//! Camunda's dialect of DMN: the rules by which Camunda 7's DMN engine and
//! Camunda 8's (dmn-scala) evaluate the files Camunda Modeler writes, where
//! they differ from DMN 1.5. Every such rule lives here; the compiler and
//! the evaluator ask this module instead of testing the dialect themselves.
//!
//! A file speaks Camunda's dialect when Camunda Modeler exported it, when
//! it names a Camunda execution platform, or when it declares Camunda's DMN
//! namespace (hand-written Camunda files do). Then:
//!
//! - every input variable is visible to the decision logic, without an
//!   `inputData` element ([`Dialect::free_variables`]);
//! - a required decision's outputs are variables of the decisions that
//!   require it (Camunda 7), besides its name (DMN) and its id (Camunda 8):
//!   see [`result_variables`];
//! - an empty output entry is left out of the rule's result, and a COLLECT
//!   aggregation takes the one output each rule gives;
//! - an input expression's `typeRef` converts the value (`"45"` as integer
//!   is 45: [`coerce_input`]);
//! - trivial `juel` entries (a variable, a literal, `${...}` around one)
//!   are read as FEEL ([`juel_as_feel`]);
//! - an expression that does not parse fails the evaluation instead of
//!   being null;
//! - FEEL follows Camunda's FEEL engine (see [`crate::feel::Dialect`]).
//!
//! Everywhere, an empty input entry (`<text/>`, which Camunda Modeler
//! writes for an empty cell) means `-`.

use crate::model::{CAMUNDA_DMN_NS, Definitions};
use crate::number::Number;
use crate::temporal;
use crate::value::{Context, Value};

pub use crate::feel::Dialect;

/// The dialect a file speaks, from what it says about who wrote it.
pub fn detect(d: &Definitions) -> Dialect {
    let camunda = |s: &Option<String>| {
        s.as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().contains("camunda"))
    };
    if camunda(&d.exporter)
        || camunda(&d.execution_platform)
        || d.camunda_namespace
        || d.namespace == CAMUNDA_DMN_NS
    {
        Dialect::Camunda
    } else {
        Dialect::Standard
    }
}

impl Dialect {
    /// Input variables are visible without `inputData` elements.
    pub fn free_variables(self) -> bool {
        self == Dialect::Camunda
    }

    /// An empty output entry is left out of the rule's result.
    pub fn omits_empty_outputs(self) -> bool {
        self == Dialect::Camunda
    }

    /// A parse error in an expression fails the evaluation (instead of
    /// making the expression null).
    pub fn parse_errors_fail(self) -> bool {
        self == Dialect::Camunda
    }

    /// An input expression's `typeRef` converts the input value.
    pub fn converts_inputs(self) -> bool {
        self == Dialect::Camunda
    }

    /// A required decision is also bound by its id and by its outputs
    /// ([`result_variables`]).
    pub fn binds_required_outputs(self) -> bool {
        self == Dialect::Camunda
    }

    /// COLLECT aggregations take the one output each matched rule gives.
    pub fn aggregates_per_rule(self) -> bool {
        self == Dialect::Camunda
    }

    // ----- FEEL (feel-scala's rules, checked by the evaluator) -----

    /// `for`, quantifiers and filters treat a single value as a one-item
    /// list (DMN 1.5); in feel-scala they need a list (or a range).
    pub fn iterates_single_values(self) -> bool {
        self == Dialect::Standard
    }

    /// `if` with a condition that is neither boolean nor null is null.
    pub fn non_boolean_condition_is_null(self) -> bool {
        self == Dialect::Camunda
    }

    /// `=` of lists or contexts whose items differ in kind is false (not null).
    pub fn mixed_collections_unequal(self) -> bool {
        self == Dialect::Camunda
    }

    /// A literal unary test compares with the input (`true` does not
    /// match null), instead of a boolean literal deciding by itself.
    pub fn literal_tests_compare(self) -> bool {
        self == Dialect::Camunda
    }

    /// `is defined(null)` is true (a null value is defined; a missing name
    /// is not) — feel-scala since 1.17 says false.
    pub fn null_is_defined(self) -> bool {
        self == Dialect::Standard
    }

    /// `string()` writes zero durations as `P0D`/`P0Y` and contexts as
    /// `{a:1, b:"x"}`.
    pub fn camunda_string_format(self) -> bool {
        self == Dialect::Camunda
    }

    /// `log`, `exp`, `stddev` and fractional powers are rounded to doubles.
    pub fn computes_in_doubles(self) -> bool {
        self == Dialect::Camunda
    }

    /// `context(...)` keeps the last of duplicate keys; `context put`
    /// replaces a non-context value on its path.
    pub fn lenient_contexts(self) -> bool {
        self == Dialect::Camunda
    }

    /// feel-scala's parameter names and arities of standard functions
    /// (`context:`, `lists:`, `number:`, `timezone:`, `string join`'s
    /// prefix and suffix).
    pub fn camunda_parameter_names(self) -> bool {
        self == Dialect::Camunda
    }
}

/// A trivial JUEL expression as FEEL: a variable or property path, a
/// number, a quoted string, `true`, `false` or `null`, bare or inside
/// `${...}` / `#{...}`. Anything else is not translated (`None`).
pub fn juel_as_feel(text: &str) -> Option<String> {
    let t = text.trim();
    let inner = t
        .strip_prefix("${")
        .or_else(|| t.strip_prefix("#{"))
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(t)
        .trim();
    if inner.is_empty() {
        return None;
    }
    if matches!(inner, "true" | "false" | "null") || Number::parse(inner).is_some() {
        return Some(inner.to_string());
    }
    for q in ['\'', '"'] {
        if let Some(body) = inner.strip_prefix(q).and_then(|r| r.strip_suffix(q))
            && !body.contains(q)
            && !body.contains('\\')
        {
            return Some(format!("\"{}\"", body.replace('"', "\\\"")));
        }
    }
    let is_ident = |s: &str| {
        let mut cs = s.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    if inner.split('.').all(is_ident) {
        return Some(inner.to_string());
    }
    None
}

/// Converts a string input value to the input expression's `typeRef`:
/// `boolean`, `integer`, `long`, `double` (Camunda 7's names) and the FEEL
/// names `number`, `date`, `time`, `dateTime`. Anything else is kept as it
/// is — also a number under `typeRef="string"`, which Camunda 8 compares as
/// a number (a model's `string` on a numeric column is a common slip).
pub fn coerce_input(type_ref: &str, v: Value) -> Value {
    let t = type_ref.trim();
    let t = t.rsplit_once(':').map_or(t, |(_, local)| local);
    match (t, v) {
        ("integer" | "long", Value::String(s)) => match Number::parse(s.trim()) {
            Some(n) if n.is_integer() => Value::Number(n),
            _ => Value::String(s),
        },
        ("double" | "number", Value::String(s)) => match Number::parse(s.trim()) {
            Some(n) => Value::Number(n),
            None => Value::String(s),
        },
        ("boolean", Value::String(s)) => match s.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(s),
        },
        ("date", Value::String(s)) => match temporal::parse_date(&s) {
            Some(d) => Value::Date(d),
            None => match temporal::parse_date_time(&s) {
                Some(dt) => Value::DateTime(dt),
                None => Value::String(s),
            },
        },
        ("time", Value::String(s)) => match temporal::parse_time(&s) {
            Some(t) => Value::Time(t),
            None => Value::String(s),
        },
        ("dateTime" | "date and time", Value::String(s)) => match temporal::parse_date_time(&s) {
            Some(dt) => Value::DateTime(dt),
            None => Value::String(s),
        },
        (_, v) => v,
    }
}

/// What a required decision's result looks like to Camunda 7: its output
/// names and whether it gives a list of rule results.
#[derive(Debug, Clone)]
pub struct ResultShape {
    /// Output names (one for a single-output table or a literal expression).
    pub outputs: Vec<String>,
    /// A list of rule results: COLLECT without aggregation, RULE ORDER,
    /// OUTPUT ORDER.
    pub multi: bool,
    /// The decision table whose matched rules say whether there is a result.
    pub table_id: Option<String>,
}

/// The variables a required decision's result gives the decisions that
/// require it, by Camunda 7's rule: no matched rule, no variables; one rule
/// result of a single-hit table, its outputs as variables; otherwise each
/// output name bound to the list of that output's values.
pub fn result_variables(
    shape: &ResultShape,
    value: &Value,
    matched: usize,
) -> Vec<(String, Value)> {
    if matched == 0 {
        return Vec::new();
    }
    // The rule results as output maps.
    let rows: Vec<Vec<(String, Value)>> = match (shape.multi, value) {
        (true, Value::List(items)) => items.iter().map(|i| row_of(shape, i)).collect(),
        (_, v) => vec![row_of(shape, v)],
    };
    if rows.len() == 1 && !shape.multi {
        return rows.into_iter().next().unwrap_or_default();
    }
    shape
        .outputs
        .iter()
        .map(|name| {
            let values = rows
                .iter()
                .filter_map(|r| r.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
                .collect();
            (name.clone(), Value::List(values))
        })
        .collect()
}

fn row_of(shape: &ResultShape, v: &Value) -> Vec<(String, Value)> {
    match (shape.outputs.as_slice(), v) {
        ([one], v) => vec![(one.clone(), v.clone())],
        (_, Value::Context(Context { entries })) => entries.clone(),
        (_, v) => shape
            .outputs
            .first()
            .map(|n| vec![(n.clone(), v.clone())])
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_juel_reads_as_feel() {
        assert_eq!(juel_as_feel("${amount}").as_deref(), Some("amount"));
        assert_eq!(
            juel_as_feel(" order.total ").as_deref(),
            Some("order.total")
        );
        assert_eq!(juel_as_feel("'gold'").as_deref(), Some("\"gold\""));
        assert_eq!(juel_as_feel("#{\"a\"}").as_deref(), Some("\"a\""));
        assert_eq!(juel_as_feel("${12.5}").as_deref(), Some("12.5"));
        assert_eq!(juel_as_feel("true").as_deref(), Some("true"));
        assert_eq!(juel_as_feel("${a > 1}"), None);
        assert_eq!(juel_as_feel(""), None);
    }

    #[test]
    fn input_type_refs_convert_like_camunda() {
        let n = |s: &str| Value::Number(Number::parse(s).unwrap());
        assert!(
            matches!(coerce_input("integer", Value::String("45".into())), Value::Number(x) if x == Number::from(45i64))
        );
        assert!(matches!(
            coerce_input("integer", Value::String("4.5".into())),
            Value::String(_)
        ));
        assert!(matches!(
            coerce_input("double", Value::String("4.5".into())),
            Value::Number(_)
        ));
        assert!(matches!(
            coerce_input("boolean", Value::String("true".into())),
            Value::Bool(true)
        ));
        assert!(matches!(coerce_input("string", n("3")), Value::Number(_)));
        assert!(matches!(
            coerce_input("date", Value::String("2024-01-31".into())),
            Value::Date(_)
        ));
        assert!(matches!(
            coerce_input("feel:number", Value::String("7".into())),
            Value::Number(_)
        ));
    }

    #[test]
    fn required_results_bind_as_camunda_7_binds_them() {
        let one = ResultShape {
            outputs: vec!["season".into()],
            multi: false,
            table_id: None,
        };
        let v = result_variables(&one, &Value::String("Spring".into()), 1);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].0, "season");
        assert!(result_variables(&one, &Value::Null(None), 0).is_empty());
        let collect = ResultShape {
            outputs: vec!["result".into()],
            multi: true,
            table_id: None,
        };
        let list = Value::List(vec![Value::String("a".into()), Value::String("s".into())]);
        let v = result_variables(&collect, &list, 2);
        assert!(matches!(&v[0].1, Value::List(l) if l.len() == 2));
        // A single-hit table with two outputs gives both as variables.
        let two = ResultShape {
            outputs: vec!["a".into(), "b".into()],
            multi: false,
            table_id: None,
        };
        let mut c = Context::new();
        c.put("a", Value::int(1));
        c.put("b", Value::int(2));
        let v = result_variables(&two, &Value::Context(c), 1);
        assert_eq!(v.len(), 2);
    }
}
