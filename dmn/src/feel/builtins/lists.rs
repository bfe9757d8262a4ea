//! List functions (DMN 1.5 §10.3.4.4) and sorting (§10.3.4.10).

use super::*;

/// Merge sort with a fallible comparator (never panics on inconsistent orders).
pub(super) fn merge_sort(
    ev: &mut Evaluator,
    v: Vec<Value>,
    less: &mut dyn FnMut(&mut Evaluator, &Value, &Value) -> Option<bool>,
) -> Option<Vec<Value>> {
    if v.len() <= 1 {
        return Some(v);
    }
    let mut v = v;
    let right = v.split_off(v.len() / 2);
    let l = merge_sort(ev, v, less)?;
    let r = merge_sort(ev, right, less)?;
    let mut out = Vec::with_capacity(l.len() + r.len());
    let (mut i, mut j) = (0, 0);
    while i < l.len() && j < r.len() {
        if !ev.step(1) {
            return None;
        }
        if less(ev, &r[j], &l[i])? {
            out.push(r[j].clone());
            j += 1;
        } else {
            out.push(l[i].clone());
            i += 1;
        }
    }
    out.extend_from_slice(&l[i..]);
    out.extend_from_slice(&r[j..]);
    Some(out)
}

pub(super) fn sort(ev: &mut Evaluator, args: Vec<Value>, scope: &mut Scope) -> Value {
    if let Some(e) = arity("sort", &args, 1, 2) {
        return e;
    }
    let list = match &args[0] {
        Value::List(l) => l.clone(),
        Value::Null(_) => return null("sort: expected a list"),
        v => vec![v.clone()],
    };
    let r = match args.get(1) {
        None => merge_sort(ev, list, &mut |_, a, b| {
            Some(a.feel_cmp(b)? == Ordering::Less)
        }),
        Some(Value::Function(f)) => {
            let f = f.clone();
            merge_sort(ev, list, &mut |ev, a, b| match ev.call(
                &f,
                vec![a.clone(), b.clone()],
                scope,
            ) {
                Value::Bool(x) => Some(x),
                _ => None,
            })
        }
        Some(v) => return want("sort", "a precedes function", v),
    };
    r.map(Value::List)
        .unwrap_or_else(|| null("sort: elements are not comparable"))
}

pub(super) fn list_replace(ev: &mut Evaluator, args: Vec<Value>, scope: &mut Scope) -> Value {
    if let Some(e) = arity("list replace", &args, 3, 3) {
        return e;
    }
    let mut l = match &args[0] {
        Value::List(l) => l.clone(),
        Value::Null(_) => return want("list replace", "a list", &args[0]),
        v => vec![v.clone()],
    };
    match &args[1] {
        Value::Number(n) => {
            let Some(i) = n.trunc_i64() else {
                return null("list replace: position must be an integer");
            };
            let len = l.len() as i64;
            let k = if i > 0 { i - 1 } else { len + i };
            if i == 0 || k < 0 || k >= len {
                return null("list replace: position out of range");
            }
            l[k as usize] = args[2].clone();
            Value::List(l)
        }
        Value::Function(f) => {
            for item in l.iter_mut() {
                match ev.call(f, vec![item.clone(), args[2].clone()], scope) {
                    Value::Bool(true) => *item = args[2].clone(),
                    Value::Bool(false) => {}
                    _ => return null("list replace: match function must return a boolean"),
                }
            }
            Value::List(l)
        }
        v => want("list replace", "a position or a match function", v),
    }
}

pub(super) fn list_fn(ev: &mut Evaluator, name: &str, args: Vec<Value>) -> Value {
    match name {
        "min" | "max" => {
            let Some(l) = list_arg(args) else {
                return null(format!("{name}: expected a list"));
            };
            if l.is_empty() {
                return Value::Null(None);
            }
            let mut best = l[0].clone();
            for v in &l[1..] {
                match v.feel_cmp(&best) {
                    Some(o) => {
                        if (name == "min" && o == Ordering::Less)
                            || (name == "max" && o == Ordering::Greater)
                        {
                            best = v.clone();
                        }
                    }
                    None => return null(format!("{name}: elements are not comparable")),
                }
            }
            if l.len() == 1 && best.feel_cmp(&best).is_none() {
                return null(format!("{name}: element is not comparable"));
            }
            best
        }
        "sum" | "mean" | "product" => {
            let Some(l) = list_arg(args) else {
                return null(format!("{name}: expected a list"));
            };
            if l.is_empty() {
                return if name == "sum" {
                    Value::Null(None)
                } else {
                    null(format!("{name}: empty list"))
                };
            }
            let mut acc = if name == "product" {
                Number::one()
            } else {
                Number::zero()
            };
            for v in &l {
                let Value::Number(n) = v else {
                    return want(name, "numbers", v);
                };
                let r = if name == "product" {
                    acc.mul(n)
                } else {
                    acc.add(n)
                };
                match r {
                    Some(r) => acc = r,
                    None => return null(format!("{name}: overflow")),
                }
            }
            if name == "mean" {
                return acc
                    .div(&Number::from(l.len()))
                    .map(Value::Number)
                    .unwrap_or_else(|| null("mean: overflow"));
            }
            Value::Number(acc)
        }
        "all" | "any" => {
            let Some(l) = list_arg(args) else {
                return null(format!("{name}: expected a list"));
            };
            let mut saw_null = false;
            for v in &l {
                match (name, v) {
                    ("all", Value::Bool(false)) => return Value::Bool(false),
                    ("any", Value::Bool(true)) => return Value::Bool(true),
                    (_, Value::Bool(_)) => {}
                    _ => saw_null = true,
                }
            }
            if saw_null {
                null(format!("{name}: non-boolean element"))
            } else {
                Value::Bool(name == "all")
            }
        }
        "median" | "stddev" | "mode" => {
            let Some(l) = list_arg(args) else {
                return null(format!("{name}: expected a list"));
            };
            let mut nums = Vec::new();
            for v in &l {
                match v {
                    Value::Number(n) => nums.push(*n),
                    v => return want(name, "numbers", v),
                }
            }
            if nums.is_empty() {
                return if name == "mode" {
                    Value::List(vec![])
                } else {
                    Value::Null(None)
                };
            }
            nums.sort();
            match name {
                "median" => {
                    let k = nums.len();
                    if k % 2 == 1 {
                        Value::Number(nums[k / 2])
                    } else {
                        nums[k / 2 - 1]
                            .add(&nums[k / 2])
                            .and_then(|s| s.div(&Number::from(2i64)))
                            .map(Value::Number)
                            .unwrap_or_default()
                    }
                }
                "stddev" => {
                    if nums.len() < 2 {
                        return null("stddev: needs at least two numbers");
                    }
                    let k = Number::from(nums.len());
                    let mut sum = Number::zero();
                    for n in &nums {
                        sum = sum.add(n).unwrap_or(sum);
                    }
                    let Some(mean) = sum.div(&k) else {
                        return null("stddev: overflow");
                    };
                    let mut sq = Number::zero();
                    for n in &nums {
                        let d = n.sub(&mean).unwrap_or(Number::zero());
                        sq = sq.add(&d.mul(&d).unwrap_or(Number::zero())).unwrap_or(sq);
                    }
                    sq.div(&Number::from(nums.len() - 1))
                        .and_then(|v| v.sqrt())
                        .map(Value::Number)
                        .unwrap_or_default()
                }
                _ => {
                    let mut best: Vec<Number> = Vec::new();
                    let mut best_n = 0;
                    let mut i = 0;
                    while i < nums.len() {
                        let mut j = i;
                        while j < nums.len() && nums[j] == nums[i] {
                            j += 1;
                        }
                        let c = j - i;
                        if c > best_n {
                            best_n = c;
                            best = vec![nums[i]];
                        } else if c == best_n {
                            best.push(nums[i]);
                        }
                        i = j;
                    }
                    Value::List(best.into_iter().map(Value::Number).collect())
                }
            }
        }
        "concatenate" => {
            let mut out = Vec::new();
            for a in args {
                match a {
                    Value::List(l) => out.extend(l),
                    v => return want(name, "lists", &v),
                }
            }
            Value::List(out)
        }
        "union" => {
            let mut out: Vec<Value> = Vec::new();
            for a in args {
                let items = match a {
                    Value::List(l) => l,
                    v => vec![v],
                };
                for i in items {
                    if !ev.step(out.len() as u64 / 16 + 1) {
                        return null("evaluation aborted");
                    }
                    if !out.iter().any(|o| o.feel_eq(&i) == Some(true)) {
                        out.push(i);
                    }
                }
            }
            Value::List(out)
        }
        "append" => {
            if args.is_empty() {
                return null("append: expected a list");
            }
            let mut it = args.into_iter();
            let mut l = match it.next() {
                Some(Value::List(l)) => l,
                Some(v) => return want(name, "a list", &v),
                None => return null("append: expected a list"),
            };
            l.extend(it);
            Value::List(l)
        }
        _ => {
            let Some(first) = args.first() else {
                return null(format!("{name}: expected arguments"));
            };
            let l = match first {
                Value::List(l) => l.clone(),
                Value::Null(_) => return null(format!("{name}: expected a list, found null")),
                v => vec![v.clone()],
            };
            match name {
                "list contains" => {
                    if let Some(e) = arity(name, &args, 2, 2) {
                        return e;
                    }
                    Value::Bool(l.iter().any(|x| x.feel_eq(&args[1]) == Some(true)))
                }
                "count" => {
                    if let Some(e) = arity(name, &args, 1, 1) {
                        return e;
                    }
                    Value::int(l.len() as i64)
                }
                "sublist" => {
                    if let Some(e) = arity(name, &args, 2, 3) {
                        return e;
                    }
                    let Some(st) = int_arg(&args[1]) else {
                        return want(name, "an integer start", &args[1]);
                    };
                    let n = l.len() as i64;
                    let s0 = if st > 0 { st - 1 } else { n + st };
                    if st == 0 || s0 < 0 || s0 >= n {
                        return null("sublist: start out of range");
                    }
                    let end = match args.get(2) {
                        None => n,
                        Some(v) => match int_arg(v) {
                            Some(len) if len >= 0 && s0.saturating_add(len) <= n => s0 + len,
                            _ => return null("sublist: bad length"),
                        },
                    };
                    Value::List(l[s0 as usize..end as usize].to_vec())
                }
                "insert before" => {
                    if let Some(e) = arity(name, &args, 3, 3) {
                        return e;
                    }
                    let Some(p) = int_arg(&args[1]) else {
                        return want(name, "an integer position", &args[1]);
                    };
                    let n = l.len() as i64;
                    let k = if p > 0 { p - 1 } else { n + p };
                    if p == 0 || k < 0 || k >= n {
                        return null("insert before: position out of range");
                    }
                    let mut l = l;
                    l.insert(k as usize, args[2].clone());
                    Value::List(l)
                }
                "remove" => {
                    if let Some(e) = arity(name, &args, 2, 2) {
                        return e;
                    }
                    let Some(p) = int_arg(&args[1]) else {
                        return want(name, "an integer position", &args[1]);
                    };
                    let n = l.len() as i64;
                    let k = if p > 0 { p - 1 } else { n + p };
                    if p == 0 || k < 0 || k >= n {
                        return null("remove: position out of range");
                    }
                    let mut l = l;
                    l.remove(k as usize);
                    Value::List(l)
                }
                "reverse" => {
                    let mut l = l;
                    l.reverse();
                    Value::List(l)
                }
                "index of" => {
                    if let Some(e) = arity(name, &args, 2, 2) {
                        return e;
                    }
                    Value::List(
                        l.iter()
                            .enumerate()
                            .filter(|(_, x)| x.feel_eq(&args[1]) == Some(true))
                            .map(|(i, _)| Value::int(i as i64 + 1))
                            .collect(),
                    )
                }
                "distinct values" => {
                    let mut out: Vec<Value> = Vec::new();
                    for i in l {
                        if !ev.step(1) {
                            return null("evaluation aborted");
                        }
                        if !out.iter().any(|o| o.feel_eq(&i) == Some(true)) {
                            out.push(i);
                        }
                    }
                    Value::List(out)
                }
                "flatten" => {
                    fn flat(v: Vec<Value>, out: &mut Vec<Value>, depth: u32) {
                        for i in v {
                            match i {
                                Value::List(l) if depth < 64 => flat(l, out, depth + 1),
                                o => out.push(o),
                            }
                        }
                    }
                    let mut out = Vec::new();
                    flat(l, &mut out, 0);
                    Value::List(out)
                }
                _ => null(format!("no function named '{name}'")),
            }
        }
    }
}
