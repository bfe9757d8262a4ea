//! Table-driven FEEL tests: expression → expected result (compared through
//! the FEEL literal form of the value), plus safety properties.

use dmn::Value;
use dmn::feel::{EvalError, Expression, FeelError, eval_str};

fn eval(src: &str) -> Value {
    match eval_str(src, &[]) {
        Ok(v) => v,
        Err(e) => panic!("{src}: {e}"),
    }
}

#[test]
fn expressions() {
    let cases: &[(&str, &str)] = &[
        // numbers and arithmetic
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("10 / 4", "2.5"),
        ("1 / 3", "0.3333333333333333333333333333333333"),
        ("2 ** 3 ** 2", "64"),
        ("-3 ** 2", "9"),
        ("1.2e3 + 1", "1201"),
        (".5 + .5", "1"),
        ("0.1 + 0.2 = 0.3", "true"),
        ("1 / 0", "null"),
        ("10 - - 3", "13"),
        // strings and unicode
        ("\"a\" + \"b\"", "\"ab\""),
        ("string length(\"\\U01F40E\")", "1"),
        ("string length(\"😀x\")", "2"),
        ("substring(\"f😀bar\", 2, 2)", "\"😀b\""),
        ("upper case(\"abc\")", "\"ABC\""),
        ("replace(\"abc\", \"b\", \"$0$0\")", "\"abbc\""),
        ("matches(\"Hello\", \"^h\", \"i\")", "true"),
        ("split(\"a,b,,c\", \",\")", "[\"a\", \"b\", \"\", \"c\"]"),
        ("string join([\"a\", null, \"c\"], \"-\")", "\"a-c\""),
        // Camunda's `is defined`: a missing name or path is not defined, null is
        ("is defined(null)", "true"),
        ("is defined({a: 1}.a)", "true"),
        ("is defined({a: 1}.b)", "false"),
        ("is defined(nobody)", "false"),
        ("if is defined(nobody) then 1 else 2", "2"),
        // booleans and ternary logic
        ("true and null", "null"),
        ("false and null", "false"),
        ("true or null", "true"),
        ("not(null)", "null"),
        ("if null then 1 else 2", "2"),
        // comparison, between, in
        ("3 between 1 and 5", "true"),
        ("5 in [1..5)", "false"),
        ("5 in (1, 5, 9)", "true"),
        ("5 in <10", "true"),
        ("\"b\" in [\"a\"..\"c\"]", "true"),
        ("1 = \"1\"", "null"),
        ("null = null", "true"),
        ("[1, 2] = [1, 2]", "true"),
        ("{a: 1, b: 2} = {b: 2, a: 1}", "true"),
        // lists, filters, paths
        ("[1, 2, 3][2]", "2"),
        ("[1, 2, 3][-1]", "3"),
        ("[1, 2, 3, 4][item > 2]", "[3, 4]"),
        ("[{a: 1}, {a: 2}][a > 1].a", "[2]"),
        ("{a: {b: 5}}.a.b", "5"),
        ("[{a: 1}, {a: 2}].a", "[1, 2]"),
        ("count([1, 2, 3])", "3"),
        ("sum([1, 2, 3])", "6"),
        ("mean(1, 2, 3, 4)", "2.5"),
        ("sort([3, 1, 2])", "[1, 2, 3]"),
        ("sort([3, 1, 2], function(a, b) a > b)", "[3, 2, 1]"),
        ("list replace([1, 2, 3], 2, 9)", "[1, 9, 3]"),
        ("distinct values([1, 2, 1])", "[1, 2]"),
        ("flatten([1, [2, [3]]])", "[1, 2, 3]"),
        ("index of([1, 2, 1], 1)", "[1, 3]"),
        // iteration and quantifiers
        ("for x in 1..3 return x * 2", "[2, 4, 6]"),
        ("for x in 3..1 return x", "[3, 2, 1]"),
        (
            "for x in [1, 2], y in [10, 20] return x + y",
            "[11, 21, 12, 22]",
        ),
        (
            "for i in 0..4 return if i = 0 then 1 else i * partial[-1]",
            "[1, 1, 2, 6, 24]",
        ),
        ("some x in [1, 2, 3] satisfies x > 2", "true"),
        ("every x in [1, 2, 3] satisfies x > 2", "false"),
        (
            "for d in @\"2021-01-30\"..@\"2021-02-01\" return d.day",
            "[30, 31, 1]",
        ),
        // contexts and functions
        ("{a: 1, b: a + 1}.b", "2"),
        ("{f: function(x) x * x, r: f(4)}.r", "16"),
        (
            "{fact: function(n) if n <= 1 then 1 else n * fact(n - 1), r: fact(5)}.r",
            "120",
        ),
        ("(function(a, b) a - b)(b: 1, a: 5)", "4"),
        ("get value({a: 1}, \"a\")", "1"),
        ("context put({a: 1}, \"b\", 2)", "{a: 1, b: 2}"),
        ("context merge([{a: 1}, {a: 2, b: 3}])", "{a: 2, b: 3}"),
        ("get entries({a: 1})", "[{key: \"a\", value: 1}]"),
        // numeric functions
        ("decimal(2.5, 0)", "2"),
        ("decimal(3.5, 0)", "4"),
        ("round half up(-2.5, 0)", "-3"),
        ("round half down(2.5, 0)", "2"),
        ("round up(1.21, 1)", "1.3"),
        ("round down(-1.29, 1)", "-1.2"),
        ("floor(-1.5)", "-2"),
        ("ceiling(1.05, 1)", "1.1"),
        ("modulo(-12, 5)", "3"),
        ("sqrt(16)", "4"),
        ("odd(5)", "true"),
        ("abs(-2)", "2"),
        // temporal values
        ("date(\"2021-01-31\") + duration(\"P1M\")", "2021-02-28"),
        ("date(\"2021-03-01\") - date(\"2021-02-01\")", "P28D"),
        (
            "date and time(\"2021-01-01T10:00:00+01:00\") = date and time(\"2021-01-01T09:00:00Z\")",
            "true",
        ),
        ("time(\"10:00:00\") + duration(\"PT15H\")", "01:00:00"),
        ("duration(\"P1DT2H\") * 2", "P2DT4H"),
        (
            "years and months duration(date(\"2020-01-15\"), date(\"2021-03-14\"))",
            "P1Y1M",
        ),
        ("@\"2021-06-15\".weekday", "2"),
        ("day of week(date(\"2024-02-29\"))", "\"Thursday\""),
        ("week of year(date(\"2021-01-03\"))", "53"),
        ("duration(\"PT90M\").hours", "1"),
        (
            "date and time(\"2021-03-28T01:30:00@Europe/Paris\") + duration(\"PT1H\")",
            "2021-03-28T03:30:00@Europe/Paris",
        ),
        // ranges
        ("[1..10].start", "1"),
        ("before(1, [2..5])", "true"),
        ("overlaps([1..5], [4..8])", "true"),
        ("includes([1..10], [2..3])", "true"),
        ("range(\"[1..3)\") = [1..3)", "true"),
        // types
        ("1 instance of number", "true"),
        ("[1, 2] instance of list<number>", "true"),
        ("{a: 1} instance of context<a: number>", "true"),
        (
            "(function(a: number) a) instance of function<number> -> Any",
            "true",
        ),
        ("null instance of number", "false"),
        ("is(1, 1)", "true"),
        // comments
        ("1 + /* two */ 2 // trailing", "3"),
    ];
    let mut failures = Vec::new();
    for (src, want) in cases {
        let got = eval(src).to_feel_literal();
        if got != *want {
            failures.push(format!("{src}: expected {want}, found {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn names_with_spaces_and_special_characters() {
    let vars = vec![
        ("Monthly Salary".to_string(), Value::int(1000)),
        ("Loan-Amount".to_string(), Value::int(300)),
        ("a".to_string(), Value::int(5)),
        ("b".to_string(), Value::int(2)),
    ];
    let mut vars = vars;
    vars.push(("Applicant's age".to_string(), Value::int(40)));
    vars.push(("Income/Expense ratio".to_string(), Value::int(3)));
    vars.push(("Mr. Smith".to_string(), Value::int(7)));
    vars.push(("net+tax".to_string(), Value::int(11)));
    vars.push(("x*y".to_string(), Value::int(13)));
    let cases = [
        ("Applicant's age + 1", "41"),
        ("Income/Expense ratio * 2", "6"),
        ("Mr. Smith - 1", "6"),
        ("net+tax", "11"),
        ("x*y", "13"),
        ("Monthly Salary * 12", "12000"),
        ("Loan-Amount - 1", "299"),
        ("a-b", "3"),
        ("Monthly  Salary + a", "1005"),
    ];
    for (src, want) in cases {
        let got = eval_str(src, &vars).expect(src).to_feel_literal();
        assert_eq!(got, want, "{src}");
    }
}

#[test]
fn unary_tests() {
    use dmn::feel::{Evaluator, Scope, parse_unary_tests};
    let cases: &[(&str, Value, bool)] = &[
        ("<10", Value::int(5), true),
        ("[1..5], >10", Value::int(11), true),
        ("not(1, 2)", Value::int(2), false),
        ("-", Value::Null(None), true),
        ("\"a\", \"b\"", Value::String("b".into()), true),
        ("? > 3 and ? < 6", Value::int(4), true),
        ("=5", Value::int(5), true),
        ("!=5", Value::int(5), false),
        ("[1, 2, 3]", Value::int(2), true),
        ("null", Value::Null(None), true),
    ];
    for (src, input, want) in cases {
        let t = parse_unary_tests(src, &[]).expect(src);
        let mut ev = Evaluator::default();
        let got = ev.unary_tests(&t, input.clone(), &mut Scope::new());
        assert!(
            matches!(got, Value::Bool(b) if b == *want),
            "{src} against {input:?}: {got:?}"
        );
    }
}

#[test]
fn syntax_errors_carry_positions() {
    let e = eval_str("1 +\n  * 2", &[]).unwrap_err();
    let FeelError::Parse(p) = e else {
        panic!("expected a parse error")
    };
    let msg = p.to_string();
    assert!(
        msg.starts_with("2:3: expected an expression, found '*'"),
        "{msg}"
    );
}

#[test]
fn step_budget_stops_huge_loops_fast() {
    let start = std::time::Instant::now();
    let e = Expression::compile("for i in 1..1000000000 return i", &[]).unwrap();
    let r = e.evaluate(&[]);
    assert!(matches!(r, Err(EvalError::StepLimit { .. })), "{r:?}");
    let e = Expression::compile(
        "count(for i in 1..2000 return for j in 1..2000 return j)",
        &[],
    )
    .unwrap();
    assert!(matches!(e.evaluate(&[]), Err(EvalError::StepLimit { .. })));
    let e = Expression::compile("{f: function(n) f(n + 1), r: f(0)}.r", &[]).unwrap();
    assert!(e.evaluate(&[]).is_err());
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(eval_str(&deep, &[]).is_err());
    let deep = format!("{}1", "-".repeat(10_000));
    assert!(eval_str(&deep, &[]).is_err());
    let deep = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
    assert!(eval_str(&deep, &[]).is_err());
}

#[test]
fn long_else_if_chains_and_nested_contexts_work() {
    // 100 chained conditions, evaluated on a default-sized test thread.
    let mut src = String::new();
    for i in 0..100 {
        src.push_str(&format!("if x = {i} then \"v{i}\" else "));
    }
    src.push_str("\"none\"");
    let vars = [("x".to_string(), Value::int(99))];
    assert_eq!(eval_str(&src, &vars).unwrap().to_feel_literal(), "\"v99\"");
    let nested = format!("{}1{}", "{a: ".repeat(30), "}".repeat(30));
    assert!(matches!(eval_str(&nested, &[]), Ok(Value::Context(_))));
}

#[test]
fn compiled_expressions_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expression>();
    assert_send_sync::<dmn::DmnModel>();
    let e = std::sync::Arc::new(Expression::compile("x * 2", &["x".into()]).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || {
                e.evaluate(&[("x".into(), Value::int(i))])
                    .unwrap()
                    .to_string()
            })
        })
        .collect();
    let out: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(out, ["0", "2", "4", "6"]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    #[test]
    fn parser_and_evaluator_never_panic(src in "[-+*/()\\[\\]{}.,:<>=!?@\"a-z0-9 \\\\]{0,40}") {
        let _ = eval_str(&src, &[]);
    }

    #[test]
    fn feel_like_tokens_never_panic(parts in proptest::collection::vec(proptest::sample::select(vec![
        "1", "2.5", "\"s\"", "x", "(", ")", "[", "]", "{", "}", ",", ":", "..", "+", "-", "*", "/", "**",
        "=", "!=", "<", ">=", "and", "or", "in", "between", "if", "then", "else", "for", "return",
        "some", "every", "satisfies", "function", "instance", "of", "number", "null", "true", "?",
        "date(\"2020-01-01\")", "@\"P1D\"", "item", "not", "external", "list", "<", ">", "->",
    ]), 0..25)) {
        let src = parts.join(" ");
        let _ = eval_str(&src, &[("x".to_string(), Value::int(3))]);
    }

    #[test]
    fn numbers_round_trip_through_feel(i in -1_000_000_000i64..1_000_000_000, scale in 0u32..10) {
        let text = if scale == 0 { i.to_string() } else {
            let s = format!("{:0>width$}", i.unsigned_abs(), width = scale as usize + 1);
            let (a, b) = s.split_at(s.len() - scale as usize);
            format!("{}{a}.{b}", if i < 0 { "-" } else { "" })
        };
        let v = eval(&text);
        let back = eval(&v.to_string());
        proptest::prop_assert_eq!(v.feel_eq(&back), Some(true));
    }
}

#[test]
fn doubling_values_run_out_of_budget_not_memory() {
    let start = std::time::Instant::now();
    let bombs = [
        "for i in 1..64 return if i = 1 then \"xxxxxxxx\" else partial[-1] + partial[-1]",
        "for i in 1..64 return if i = 1 then [1] else concatenate(partial[-1], partial[-1])",
        "for i in 1..64 return if i = 1 then [1] else [partial[-1], partial[-1]]",
        "{a: {x: [1]}, b: {x: [a.x, a.x]}, c: {x: [b.x, b.x]}, d: {x: [c.x, c.x]}, e: {x: [d.x, d.x]}, f: {x: [e.x, e.x]}, g: {x: [f.x, f.x]}, h: {x: [g.x, g.x]}, i: {x: [h.x, h.x]}, j: {x: [i.x, i.x]}, k: {x: [j.x, j.x]}, l: {x: [k.x, k.x]}, m: {x: [l.x, l.x]}, n: {x: [m.x, m.x]}, o: {x: [n.x, n.x]}, p: {x: [o.x, o.x]}, q: {x: [p.x, p.x]}, r: {x: [q.x, q.x]}, s: {x: [r.x, r.x]}, t: {x: [s.x, s.x]}, u: {x: [t.x, t.x]}, v: {x: [u.x, u.x]}, w: {x: [v.x, v.x]}, y: {x: [w.x, w.x]}, z: {x: [y.x, y.x]}, z1: {x: [z.x, z.x]}, z2: {x: [z1.x, z1.x]}, z3: {x: [z2.x, z2.x]}, z4: {x: [z3.x, z3.x]}, z5: {x: [z4.x, z4.x]}}.z5",
        "{a: \"xxxxxxxxxxxxxxxx\", b: a+a, c: b+b, d: c+c, e: d+d, f: e+e, g: f+f, h: g+g, i: h+h, j: i+i, k: j+j, l: k+k, m: l+l, n: m+m, o: n+n, p: o+o, q: p+p, r: q+q, s: r+r, t: s+s, u: t+t, v: u+u, w: v+v, x: w+w, y: x+x, z: y+y}.z",
    ];
    for src in bombs {
        let r = Expression::compile(src, &[]).unwrap().evaluate(&[]);
        let blocked = match &r {
            Err(_) => true,
            Ok(Value::List(l)) => l.last().is_some_and(Value::is_null),
            Ok(v) => v.is_null(),
        };
        assert!(blocked, "{src}");
    }
    assert!(start.elapsed().as_secs() < 20);
}

#[test]
fn extreme_arguments_do_not_panic() {
    let cases = [
        "sublist([1, 2, 3], 1, 9223372036854775807)",
        "sublist([1, 2, 3], -9223372036854775808)",
        "substring(\"abc\", 1, 9223372036854775807)",
        "substring(\"abc\", -9223372036854775808)",
        "2 ** -9223372036854775808",
        "2 ** 9223372036854775807",
        "10 ** 6145",
        "date(\"2020-01-01\") + duration(\"P999999999999999999M\")",
        "date(\"2020-01-01\") - duration(\"P999999999999999999M\")",
        "duration(\"P999999999999999999M\") + duration(\"P999999999999999999M\")",
        "duration(\"P999999999999999999D\") * 99999999999999999999",
        "-duration(\"P999999999999999999Y\")",
        "date and time(\"999999999-12-31T23:59:59\") + duration(\"PT1S\")",
        "time(\"23:59:59\") + duration(\"P999999999999999999D\")",
        "list replace([1], -9223372036854775808, 2)",
        "insert before([1], 9223372036854775807, 2)",
        "remove([1], -9223372036854775808)",
        "[1, 2][-9223372036854775808]",
        "decimal(1, 9223372036854775807)",
        "round up(1.5, -9223372036854775808)",
        "for i in 9223372036854775806..9223372036854775807 return i",
        "for i in -9223372036854775808..-9223372036854775807 return i",
        "modulo(1, 0.0000000000000000000000000000000001)",
        "1e6144 * 10",
        "string length(string(1e-6176))",
        "number(\"1e99999\")",
        "exp(99999)",
        "log(1e-6000)",
        "sqrt(1e6144)",
        "years and months duration(date(\"-999999999-01-01\"), date(\"999999999-12-31\"))",
        "date(\"999999999-12-31\") - date(\"-999999999-01-01\")",
        "week of year(date(\"-999999999-01-01\"))",
    ];
    for src in cases {
        // Any value or error is fine; a panic fails the test.
        let _ = eval_str(src, &[]);
    }
}

/// `context put` with a key path of 100,000 names: refused with a null and
/// a note, not followed until the stack overflows.
#[test]
fn a_very_long_context_put_path_is_refused() {
    let path: Vec<String> = (0..100_000).map(|i| format!("\"k{i}\"")).collect();
    let src = format!("context put({{}}, [{}], 1)", path.join(","));
    let e = Expression::compile(&src, &[]).expect("compiles");
    let v = e.evaluate(&[]).expect("evaluates");
    assert!(v.is_null(), "{v:?}");
    let short = eval("context put({}, [\"a\", \"b\"], 1)");
    assert!(!short.is_null(), "{short:?}");
}
