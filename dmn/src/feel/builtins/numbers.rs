//! Numeric functions (DMN 1.5 §10.3.4.5).

use super::*;

pub(super) fn numeric(name: &str, args: Vec<Value>) -> Value {
    let (lo, hi) = match name {
        // Camunda's `decimal(n, scale, mode)` names a Java rounding mode.
        "decimal" => (2, 3),
        "round up" | "round down" | "round half up" | "round half down" | "modulo" => (2, 2),
        "floor" | "ceiling" => (1, 2),
        _ => (1, 1),
    };
    if let Some(e) = arity(name, &args, lo, hi) {
        return e;
    }
    let Some(n) = n_arg(&args[0]) else {
        if name == "abs" {
            return match &args[0] {
                Value::DtDuration(d) => Value::DtDuration(d.abs()),
                Value::YmDuration(m) => Value::YmDuration(m.abs()),
                v => want(name, "a number", v),
            };
        }
        return want(name, "a number", &args[0]);
    };
    let fin = |r: Option<Number>| {
        r.map(Value::Number)
            .unwrap_or_else(|| null(format!("{name}: result is not a finite number")))
    };
    let scale = || -> Result<i64, Value> {
        match args.get(1) {
            None => Ok(0),
            Some(Value::Number(s)) => match s.trunc_i64() {
                Some(i) if (-6111..=6176).contains(&i) => Ok(i),
                _ => Err(null(format!(
                    "{name}: scale must be an integer in -6111..6176"
                ))),
            },
            Some(v) => Err(want(name, "a number scale", v)),
        }
    };
    let mode = match name {
        "decimal" => match args.get(2) {
            None | Some(Value::Null(_)) => Some(Rounding::HalfEven),
            Some(Value::String(m)) => match java_rounding(m) {
                Some(JavaRounding::Mode(r)) => Some(r),
                Some(JavaRounding::Unnecessary) => {
                    return match scale() {
                        Ok(sc) => match n.round(sc, Rounding::Down) {
                            Some(r) if r == n => Value::Number(r),
                            _ => null(format!(
                                "decimal: rounding mode UNNECESSARY, but {n} needs rounding to scale {sc}"
                            )),
                        },
                        Err(e) => e,
                    };
                }
                None => {
                    return null(format!(
                        "decimal: expected a rounding mode (UP, DOWN, CEILING, FLOOR, HALF_UP, HALF_DOWN, HALF_EVEN, UNNECESSARY), found \"{m}\""
                    ));
                }
            },
            Some(v) => return want(name, "a rounding mode string", v),
        },
        "floor" => Some(Rounding::Floor),
        "ceiling" => Some(Rounding::Ceiling),
        "round up" => Some(Rounding::Up),
        "round down" => Some(Rounding::Down),
        "round half up" => Some(Rounding::HalfUp),
        "round half down" => Some(Rounding::HalfDown),
        _ => None,
    };
    if let Some(mode) = mode {
        return match scale() {
            Ok(s) => fin(n.round(s, mode)),
            Err(e) => e,
        };
    }
    match name {
        "abs" => Value::Number(n.abs()),
        "modulo" => match n_arg(&args[1]) {
            Some(d) if d.is_zero() => null("modulo: division by zero"),
            Some(d) => fin(n.modulo(&d)),
            None => want(name, "a number divisor", &args[1]),
        },
        "sqrt" => fin(n.sqrt()),
        "log" => fin(n.ln()),
        "exp" => fin(n.exp()),
        "odd" | "even" => {
            if !n.is_integer() {
                return null(format!("{name}: expected an integer"));
            }
            let r = n
                .modulo(&Number::from(2i64))
                .map(|r| r.is_zero())
                .unwrap_or(false);
            Value::Bool(if name == "even" { r } else { !r })
        }
        _ => null(format!("unknown function {name}")),
    }
}

/// A Java `RoundingMode` name, as Camunda's `decimal(n, scale, mode)` takes it.
enum JavaRounding {
    Mode(Rounding),
    /// No rounding may be needed.
    Unnecessary,
}

fn java_rounding(name: &str) -> Option<JavaRounding> {
    Some(JavaRounding::Mode(
        match name.to_ascii_uppercase().as_str() {
            "UP" => Rounding::Up,
            "DOWN" => Rounding::Down,
            "CEILING" => Rounding::Ceiling,
            "FLOOR" => Rounding::Floor,
            "HALF_UP" => Rounding::HalfUp,
            "HALF_DOWN" => Rounding::HalfDown,
            "HALF_EVEN" => Rounding::HalfEven,
            "UNNECESSARY" => return Some(JavaRounding::Unnecessary),
            _ => return None,
        },
    ))
}
