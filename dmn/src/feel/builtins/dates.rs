//! Date and range functions (DMN 1.5 §10.3.4.6, §10.3.4.7).

use super::*;

pub(super) fn date_fn(name: &str, args: Vec<Value>) -> Value {
    if let Some(e) = arity(name, &args, 1, 1) {
        return e;
    }
    let d = match &args[0] {
        Value::Date(d) => *d,
        Value::DateTime(dt) => dt.date,
        v => return want(name, "a date", v),
    };
    match name {
        "day of year" => Value::int(d.day_of_year() as i64),
        "day of week" => Value::String(
            [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ][(d.weekday() - 1) as usize]
                .into(),
        ),
        "month of year" => Value::String(
            [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ][(d.month() - 1) as usize]
                .into(),
        ),
        _ => Value::int(d.iso_week() as i64),
    }
}

// ----- ranges -----

#[derive(Clone, Copy)]
pub(super) enum Ext<'a> {
    Neg,
    V(&'a Value),
    Pos,
}

pub(super) fn ext_cmp(a: Ext, b: Ext) -> Option<Ordering> {
    match (a, b) {
        (Ext::Neg, Ext::Neg) | (Ext::Pos, Ext::Pos) => Some(Ordering::Equal),
        (Ext::Neg, _) | (_, Ext::Pos) => Some(Ordering::Less),
        (_, Ext::Neg) | (Ext::Pos, _) => Some(Ordering::Greater),
        (Ext::V(x), Ext::V(y)) => x.feel_cmp(y),
    }
}

pub(super) struct R<'a> {
    s: Ext<'a>,
    si: bool,
    e: Ext<'a>,
    ei: bool,
}

pub(super) fn as_r(v: &Value) -> Option<R<'_>> {
    match v {
        Value::Range(r) => Some(R {
            s: r.start.value.as_ref().map(Ext::V).unwrap_or(Ext::Neg),
            si: r.start.inclusive,
            e: r.end.value.as_ref().map(Ext::V).unwrap_or(Ext::Pos),
            ei: r.end.inclusive,
        }),
        Value::Null(_)
        | Value::List(_)
        | Value::Context(_)
        | Value::Function(_)
        | Value::Bool(_) => None,
        p => Some(R {
            s: Ext::V(p),
            si: true,
            e: Ext::V(p),
            ei: true,
        }),
    }
}

pub(super) fn range_fn(name: &str, args: Vec<Value>) -> Value {
    if let Some(e) = arity(name, &args, 2, 2) {
        return e;
    }
    let (Some(a), Some(b)) = (as_r(&args[0]), as_r(&args[1])) else {
        return null(format!("{name}: expected points or ranges"));
    };
    let a_pt = !matches!(args[0], Value::Range(_));
    let b_pt = !matches!(args[1], Value::Range(_));
    let c = |x: Ext, y: Ext| ext_cmp(x, y);
    macro_rules! t {
        ($e:expr) => {
            match (|| -> Option<bool> { Some($e) })() {
                Some(b) => Value::Bool(b),
                None => null(format!("{name}: incomparable arguments")),
            }
        };
    }
    use Ordering::*;
    let before = |a: &R, b: &R| -> Option<bool> {
        let o = c(a.e, b.s)?;
        Some(o == Less || (o == Equal && !(a.ei && b.si)))
    };
    match name {
        "before" => t!(before(&a, &b)?),
        "after" => t!(before(&b, &a)?),
        "meets" | "met by" => {
            if a_pt || b_pt {
                return null(format!("{name}: expected ranges"));
            }
            let (x, y) = if name == "meets" { (&a, &b) } else { (&b, &a) };
            t!(x.ei && y.si && c(x.e, y.s)? == Equal)
        }
        "overlaps" => {
            if a_pt || b_pt {
                return null(format!("{name}: expected ranges"));
            }
            t!({
                let o1 = c(a.e, b.s)?;
                let o2 = c(a.s, b.e)?;
                (o1 == Greater || (o1 == Equal && a.ei && b.si))
                    && (o2 == Less || (o2 == Equal && a.si && b.ei))
            })
        }
        "overlaps before" | "overlaps after" => {
            if a_pt || b_pt {
                return null(format!("{name}: expected ranges"));
            }
            let (x, y) = if name == "overlaps before" {
                (&a, &b)
            } else {
                (&b, &a)
            };
            t!({
                let ss = c(x.s, y.s)?;
                let es = c(x.e, y.s)?;
                let ee = c(x.e, y.e)?;
                (ss == Less || (ss == Equal && x.si && !y.si))
                    && (es == Greater || (es == Equal && x.ei && y.si))
                    && (ee == Less || (ee == Equal && (!x.ei || y.ei)))
            })
        }
        "finishes" | "finished by" => {
            let (x, y, xpt, ypt) = if name == "finishes" {
                (&a, &b, a_pt, b_pt)
            } else {
                (&b, &a, b_pt, a_pt)
            };
            if ypt {
                return null(format!("{name}: expected a range"));
            }
            if xpt {
                t!(y.ei && c(x.e, y.e)? == Equal)
            } else {
                t!({
                    let ss = c(x.s, y.s)?;
                    x.ei == y.ei
                        && c(x.e, y.e)? == Equal
                        && (ss == Greater || (ss == Equal && (!x.si || y.si)))
                })
            }
        }
        "includes" | "during" => {
            let (x, y, xpt, ypt) = if name == "includes" {
                (&a, &b, a_pt, b_pt)
            } else {
                (&b, &a, b_pt, a_pt)
            };
            if xpt {
                return null(format!("{name}: expected a range"));
            }
            if ypt {
                let Value::Range(r) = (if name == "includes" {
                    &args[0]
                } else {
                    &args[1]
                }) else {
                    return null("range expected");
                };
                let p = if name == "includes" {
                    &args[1]
                } else {
                    &args[0]
                };
                return range_contains(r, p);
            }
            t!({
                let ss = c(x.s, y.s)?;
                let ee = c(x.e, y.e)?;
                (ss == Less || (ss == Equal && (x.si || !y.si)))
                    && (ee == Greater || (ee == Equal && (x.ei || !y.ei)))
            })
        }
        "starts" | "started by" => {
            let (x, y, xpt, ypt) = if name == "starts" {
                (&a, &b, a_pt, b_pt)
            } else {
                (&b, &a, b_pt, a_pt)
            };
            if ypt {
                return null(format!("{name}: expected a range"));
            }
            if xpt {
                t!(y.si && c(x.s, y.s)? == Equal)
            } else {
                t!({
                    let ee = c(x.e, y.e)?;
                    x.si == y.si
                        && c(x.s, y.s)? == Equal
                        && (ee == Less || (ee == Equal && (!x.ei || y.ei)))
                })
            }
        }
        _ => {
            // coincides
            if a_pt != b_pt {
                return null("coincides: expected two points or two ranges");
            }
            t!(c(a.s, b.s)? == Equal && c(a.e, b.e)? == Equal && a.si == b.si && a.ei == b.ei)
        }
    }
}

pub(super) fn range_from_string(ev: &mut Evaluator, s: &str) -> Value {
    let Ok(e) = crate::feel::parser::parse_expression(s, &[]) else {
        return null(format!("range: cannot parse \"{s}\""));
    };
    use crate::feel::ast::Expr;
    let literal_ok = |e: &Option<Box<Expr>>| match e.as_deref() {
        None => true,
        Some(Expr::Const(_)) => true,
        Some(Expr::Call(f, crate::feel::ast::Args::Positional(a))) => {
            matches!(f.as_ref(), Expr::Name(n) if ["date", "time", "date and time", "duration"].contains(&n.as_str()))
                && a.iter().all(|x| matches!(x, Expr::Const(Value::String(_))))
        }
        _ => false,
    };
    match &e {
        Expr::Range { start, end, .. } if literal_ok(start) && literal_ok(end) => {}
        _ => return null(format!("range: expected a range literal, found \"{s}\"")),
    }
    let mut scope = Scope::new();
    let v = ev.eval(&e, &mut scope);
    if let Value::Range(r) = &v {
        match (&r.start.value, &r.end.value) {
            (Some(a), Some(b)) if a.is_null() && b.is_null() => {
                return null("range: both ends are null");
            }
            (Some(a), Some(b)) if !a.is_null() && !b.is_null() => {
                if a.kind() != b.kind() {
                    return null("range: ends of different types");
                }
                if a.feel_cmp(b) == Some(Ordering::Greater) {
                    return null("range: start is after end");
                }
            }
            _ => {}
        }
    }
    v
}
