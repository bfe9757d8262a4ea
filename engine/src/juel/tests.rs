use super::*;
use serde_json::json;

fn vars() -> Map<String, Value> {
    let v = json!({
        "a": 5,
        "b": 2,
        "x": 1.5,
        "name": "World",
        "s5": "5",
        "sdec": "2.5",
        "flag": true,
        "nothing": null,
        "emptyStr": "",
        "list": [10, 20, 30],
        "emptyList": [],
        "obj": {"k": "v", "n": {"deep": 42}, "0": "zero"},
        "emptyObj": {},
        "big": 9_223_372_036_854_775_807i64,
        "approved": "true",
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("json! object literal"),
    }
}

fn run(src: &str) -> Result<Value, JuelError> {
    JuelExpr::parse(src)?.eval(&vars())
}

#[test]
fn evaluates() {
    let cases: &[(&str, Value)] = &[
        // Templates and literals.
        ("plain text", json!("plain text")),
        ("", json!("")),
        ("Hello ${name}!", json!("Hello World!")),
        ("#{a}", json!(5)),
        ("${a} + ${b} = ${a + b}", json!("5 + 2 = 7")),
        ("cost: \\${a}", json!("cost: ${a}")),
        ("\\#{a} ${a}", json!("#{a} 5")),
        ("${x}${nothing}|", json!("1.5|")),
        ("${'}'}", json!("}")),
        (
            "${\"it\\'s \\\"q\\\" \\\\ \\n\"}",
            json!("it's \"q\" \\ \\n"),
        ),
        ("${'a\\'b'}", json!("a'b")),
        ("${42}", json!(42)),
        ("${1.5e3}", json!(1500.0)),
        ("${.5}", json!(0.5)),
        ("${2E-1}", json!(0.2)),
        ("${true}", json!(true)),
        ("${null}", Value::Null),
        // Access.
        ("${obj.k}", json!("v")),
        ("${obj['k']}", json!("v")),
        ("${obj[\"n\"].deep}", json!(42)),
        ("${obj.missing}", Value::Null),
        ("${obj[0]}", json!("zero")),
        ("${list[1]}", json!(20)),
        ("${list['2']}", json!(30)),
        ("${list[3]}", Value::Null),
        ("${list[-1]}", Value::Null),
        ("${nothing.k}", Value::Null),
        ("${execution.getVariable('a') * 2}", json!(10)),
        ("${execution.getVariable(\"obj\").n.deep}", json!(42)),
        ("${execution.getVariable('undefinedVar')}", Value::Null),
        // Arithmetic.
        ("${a + b}", json!(7)),
        ("${a - b * 3}", json!(-1)),
        ("${(a - b) * 3}", json!(9)),
        ("${a / b}", json!(2.5)),
        ("${a div b}", json!(2.5)),
        ("${4 / 2}", json!(2.0)),
        ("${a % b}", json!(1)),
        ("${a mod 3}", json!(2)),
        ("${-7 % 3}", json!(-1)),
        ("${x * 2}", json!(3.0)),
        ("${x % 1}", json!(0.5)),
        ("${s5 + 1}", json!(6)),
        ("${sdec + 1}", json!(3.5)),
        ("${nothing + 1}", json!(1)),
        ("${nothing + nothing}", json!(0)),
        ("${emptyStr + 1}", json!(1)),
        ("${-a}", json!(-5)),
        ("${-x}", json!(-1.5)),
        ("${--a}", json!(5)),
        ("${-s5}", json!(-5)),
        ("${-nothing}", json!(0)),
        // Comparison.
        ("${a > 1}", json!(true)),
        ("${a gt 5}", json!(false)),
        ("${a >= 5 && b le 2}", json!(true)),
        ("${a lt x}", json!(false)),
        ("${x < a}", json!(true)),
        ("${'abc' < 'abd'}", json!(true)),
        ("${s5 > 10}", json!(false)),
        ("${'10' > 9}", json!(true)),
        ("${nothing < 1}", json!(false)),
        ("${nothing >= nothing}", json!(true)),
        ("${nothing > nothing}", json!(false)),
        ("${nothing <= 1}", json!(false)),
        ("${false < true}", json!(true)),
        ("${a == 5}", json!(true)),
        ("${a eq 5.0}", json!(true)),
        ("${s5 == 5}", json!(true)),
        ("${sdec == 2.5}", json!(true)),
        ("${name == 'World'}", json!(true)),
        ("${name ne 'World'}", json!(false)),
        ("${nothing == null}", json!(true)),
        ("${null == 0}", json!(false)),
        ("${flag == 'true'}", json!(true)),
        ("${approved == true}", json!(true)),
        ("${list == list}", json!(true)),
        ("${obj == 'x'}", json!(false)),
        // Logic.
        ("${flag && a > 1}", json!(true)),
        ("${!flag || a > 10}", json!(false)),
        ("${not flag or true}", json!(true)),
        ("${flag and not false}", json!(true)),
        ("${approved}", json!("true")),
        ("${!approved}", json!(false)),
        ("${nothing || 'TRUE'}", json!(true)),
        ("${false && undefinedVar}", json!(false)),
        ("${true || undefinedVar}", json!(true)),
        // empty.
        ("${empty nothing}", json!(true)),
        ("${empty emptyStr}", json!(true)),
        ("${empty emptyList}", json!(true)),
        ("${empty emptyObj}", json!(true)),
        ("${empty list}", json!(false)),
        ("${empty name}", json!(false)),
        ("${empty 0}", json!(false)),
        ("${!empty list}", json!(true)),
        ("${not empty obj.missing}", json!(false)),
        // Conditional.
        ("${a > 1 ? 'big' : 'small'}", json!("big")),
        ("${a > 10 ? 'big' : b > 1 ? 'mid' : 'small'}", json!("mid")),
        ("${flag ? list[0] : null}", json!(10)),
        // Strings of numbers in templates.
        ("v=${a / b}", json!("v=2.5")),
        ("v=${4 / 2}", json!("v=2.0")),
        ("v=${1e10 * 1}", json!("v=1.0E10")),
        ("v=${0.0001 * 1}", json!("v=1.0E-4")),
        ("v=${list}", json!("v=[10,20,30]")),
        ("v=${flag}", json!("v=true")),
    ];
    for (src, want) in cases {
        assert_eq!(run(src).as_ref(), Ok(want), "{src}");
    }
}

#[test]
fn template_kinds() {
    let cases: &[(&str, bool, bool)] = &[
        ("text", false, true),
        ("", false, true),
        ("\\${x}", false, true),
        ("${x}", false, false),
        ("  ${x}", true, false),
        ("a ${x} b ${y}", true, false),
    ];
    for (src, template, literal) in cases {
        let e = JuelExpr::parse(src).unwrap();
        assert_eq!(
            (e.is_template(), e.is_literal()),
            (*template, *literal),
            "{src}"
        );
    }
}

#[test]
fn eval_with_closure_and_hash_map() {
    let e = JuelExpr::parse("${count + 1}").unwrap();
    let f = |name: &str| (name == "count").then(|| json!(41));
    assert_eq!(e.eval(&f), Ok(json!(42)));
    let mut m = HashMap::new();
    m.insert("count".to_owned(), json!(1));
    assert_eq!(e.eval(&m), Ok(json!(2)));
}

#[test]
fn parse_errors() {
    // (source, offset, fragment of the message)
    let cases: &[(&str, usize, &str)] = &[
        (
            "${",
            2,
            "expected `}` closing the expression, found end of input",
        ),
        ("${a", 3, "`}` closing the expression"),
        ("${}", 2, "expected an expression, found `}`"),
        ("${a +}", 5, "expected an operand"),
        ("${a b}", 4, "expected an operator or `}`, found `b`"),
        ("${(a}", 4, "`)` closing the parenthesis"),
        ("${list[1}", 8, "`]` after the index"),
        ("${a ? b}", 7, "`:` in the conditional"),
        ("${'abc}", 7, "`'` closing the string started at byte 2"),
        ("${1e}", 4, "digits in the exponent"),
        ("${99999999999999999999}", 2, "integer literal that fits"),
        ("${a.}", 4, "a property name after `.`"),
        ("${a.1}", 3, "expected an operator or `}`, found `.1`"),
        ("${a @ b}", 4, "found `@`"),
        ("${a | b}", 4, "EL has no bitwise operators"),
        ("${a} #{b}", 5, "EL forbids mixing"),
        (
            "${execution.getVariables()}",
            2,
            "uses of `execution` other than getVariable(name)",
        ),
        ("${execution}", 2, "(found `execution`)"),
        ("${execution.getVariable('a')()}", 2, "calls of a value"),
        (
            "${order.getTotal()}",
            2,
            "method calls other than size(), length()",
        ),
        ("${list[0].sizes()}", 2, "(found `list[0].sizes`)"),
        ("${obj['k']()}", 2, "calls of a value"),
        (
            "${fn:upper(name)}",
            2,
            "function calls are not supported in the JUEL subset (found `fn:upper(`)",
        ),
        ("${upper(name)}", 2, "function calls"),
        (
            "${x -> x + 1}",
            2,
            "lambda expressions are not supported in the JUEL subset (found `x ->`)",
        ),
        ("${(x, y) -> x + y}", 2, "lambda expressions"),
        ("${a = 1}", 4, "assignments are not supported"),
        ("${a; b}", 3, "`;` (semicolon) operators"),
        ("${a += 'x'}", 4, "`+=` string concatenations"),
        ("${a instanceof b}", 4, "`instanceof` tests"),
        ("${[1, 2]}", 2, "list constructions"),
        ("${{1, 2}}", 2, "set and map constructions"),
        ("${T(java.lang.Math)}", 2, "function calls"),
    ];
    for (src, offset, fragment) in cases {
        let err = JuelExpr::parse(src).expect_err(src);
        assert_eq!(err.offset(), *offset, "{src}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(fragment), "{src}: {msg}");
    }
}

#[test]
fn eval_errors() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "${undefinedVar}",
            2,
            "unknown property used in expression: expected a variable `undefinedVar`",
        ),
        ("${a + undefinedVar}", 6, "`undefinedVar`"),
        ("${empty missing}", 8, "`missing`"),
        (
            "${name + 1}",
            2,
            "expected a number, found string \"World\"",
        ),
        ("${flag + 1}", 2, "expected a number, found boolean true"),
        ("${list + 1}", 2, "expected a number, found an array"),
        (
            "${name == 1}",
            2,
            "expected a number, found string \"World\"",
        ),
        ("${name < 1}", 2, "expected a number"),
        ("${list < 1}", 2, "a number, string or boolean to compare"),
        ("${a && true}", 2, "expected a boolean, found number 5"),
        ("${a ? 1 : 2}", 2, "expected a boolean"),
        ("${!list}", 3, "expected a boolean, found an array"),
        ("${-name}", 3, "expected a number"),
        ("${a / 0}", 4, "finite decimal, found an infinity"),
        ("${0 / 0}", 4, "finite decimal, found NaN"),
        ("${a % 0}", 4, "a remainder by zero"),
        ("${big + 1}", 6, "an overflow"),
        ("${big * 2}", 6, "an overflow"),
        ("${name.first}", 6, "an object or array before"),
        ("${list['x']}", 6, "expected a number, found string \"x\""),
        ("${obj[list]}", 5, "a string or number as object key"),
        ("x ${undefinedVar} y", 4, "unknown property"),
    ];
    for (src, offset, fragment) in cases {
        let err = run(src).expect_err(src);
        assert_eq!(err.offset(), *offset, "{src}: {err}");
        assert!(err.to_string().contains(fragment), "{src}: {err}");
    }
}

#[test]
fn nesting_is_bounded() {
    let deep_parens = format!("${{{}1{}}}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(JuelExpr::parse(&deep_parens).is_err());
    let deep_unary = format!("${{{}true}}", "!".repeat(10_000));
    assert!(JuelExpr::parse(&deep_unary).is_err());
    let long_chain = format!("${{1{}}}", "+1".repeat(10_000));
    assert!(JuelExpr::parse(&long_chain).is_err());
    let fine = format!("${{1{}}}", "+1".repeat(50));
    assert_eq!(JuelExpr::parse(&fine).unwrap().eval(&vars()), Ok(json!(51)));
}

#[test]
fn expressions_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JuelExpr>();
}

#[test]
fn java_double_format() {
    let cases: &[(f64, &str)] = &[
        (2.0, "2.0"),
        (0.5, "0.5"),
        (-1.25, "-1.25"),
        (0.0, "0.0"),
        (1e7, "1.0E7"),
        (1.5e-5, "1.5E-5"),
        (123456.789, "123456.789"),
    ];
    for (f, want) in cases {
        assert_eq!(java_double(*f), *want);
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            match JuelExpr::parse(&s) {
                Ok(e) => {
                    if let Err(err) = e.eval(&vars()) {
                        prop_assert!(err.offset() <= s.len());
                    }
                }
                Err(err) => prop_assert!(err.offset() <= s.len()),
            }
        }

        #[test]
        fn never_panics_inside_evaluations(
            s in "[a-z0-9 .()\\[\\]'\"+*/%<>=!&|?:#$,;{}-]{0,40}"
        ) {
            let src = format!("${{{s}}}");
            match JuelExpr::parse(&src) {
                Ok(e) => {
                    if let Err(err) = e.eval(&vars()) {
                        prop_assert!(err.offset() <= src.len());
                    }
                }
                Err(err) => prop_assert!(err.offset() <= src.len()),
            }
        }

        #[test]
        fn integer_arithmetic_matches(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000) {
            let e = JuelExpr::parse("${a * b - a + b}").unwrap();
            let f = |n: &str| match n { "a" => Some(json!(a)), "b" => Some(json!(b)), _ => None };
            prop_assert_eq!(e.eval(&f), Ok(json!(a * b - a + b)));
        }
    }
}

/// Values for the method tests, and an execution with an id and business key
/// whose `setVariable` calls are collected.
struct Exec {
    vars: Map<String, Value>,
    set: std::cell::RefCell<Vec<(String, Value)>>,
}

impl Variables for Exec {
    fn get(&self, name: &str) -> Option<Value> {
        self.vars.get(name).cloned()
    }
    fn execution(&self, p: methods::ExecutionProperty) -> Option<Value> {
        Some(match p {
            methods::ExecutionProperty::ProcessInstanceId => json!("42"),
            methods::ExecutionProperty::BusinessKey => json!("order-7"),
        })
    }
    fn set(&self, name: &str, value: Value) -> bool {
        self.set.borrow_mut().push((name.to_string(), value));
        true
    }
}

#[test]
fn methods_on_values_and_execution() {
    let exec = Exec {
        vars: vars(),
        set: Default::default(),
    };
    let ok = |src: &str| {
        JuelExpr::parse(src)
            .and_then(|e| e.eval(&exec))
            .unwrap_or_else(|e| panic!("{src}: {e}"))
    };
    let cases: &[(&str, Value)] = &[
        ("${list.size()}", json!(3)),
        ("${name.length()}", json!(5)),
        ("${name.isEmpty()}", json!(false)),
        ("${list.contains(20)}", json!(true)),
        ("${list.contains('20')}", json!(false)),
        ("${name.contains('orl')}", json!(true)),
        ("${obj.containsKey('k')}", json!(true)),
        ("${name.equals('World')}", json!(true)),
        ("${name.equalsIgnoreCase('wORLD')}", json!(true)),
        (
            "${name.startsWith('Wo') && name.endsWith('ld')}",
            json!(true),
        ),
        ("${name.indexOf('r')}", json!(2)),
        ("${list.indexOf(9)}", json!(-1)),
        ("${list.indexOf(30)}", json!(2)),
        ("${name.substring(1, 3)}", json!("or")),
        ("${name.substring(3)}", json!("ld")),
        ("${name.toUpperCase()}", json!("WORLD")),
        ("${' x '.trim().length()}", json!(1)),
        ("${a.toString()}", json!("5")),
        ("${list.get(0)}", json!(10)),
        ("${obj.get('k')}", json!("v")),
        ("${name.compareTo('Alpha')}", json!(1)),
        ("${!list.contains(7)}", json!(true)),
        ("${execution.getVariable('name')}", json!("World")),
        ("${execution.getVariable('nope')}", Value::Null),
        ("${execution.getVariable(obj.k)}", Value::Null),
        ("${execution.processInstanceId}", json!("42")),
        ("${execution.getProcessInstanceId()}", json!("42")),
        ("${execution.getProcessBusinessKey()}", json!("order-7")),
        ("#{execution.processBusinessKey}", json!("order-7")),
        ("${execution.setVariable('x', a + 1)}", Value::Null),
        (
            "${obj.prop('n').prop('deep').numberValue() >= 21}",
            json!(true),
        ),
        ("${obj.hasProp('zz')}", json!(false)),
        ("${S('{\"age\": 30}').prop('age').numberValue()}", json!(30)),
        ("${S(obj).prop('k').stringValue()}", json!("v")),
        ("${nothing.isNull()}", json!(true)),
        ("${list.elements().size()}", json!(3)),
    ];
    for (src, want) in cases {
        assert_eq!(&ok(src), want, "{src}");
    }
    assert_eq!(*exec.set.borrow(), vec![("x".to_string(), json!(6))]);
    // setVariable where nothing applies it, and methods on the wrong values.
    let e = run("${execution.setVariable('x', 1)}").expect_err("no effects here");
    assert!(
        e.to_string()
            .contains("outside a `camunda:expression` task"),
        "{e}"
    );
    for (src, fragment) in [
        ("${a.size()}", "a string, list or map"),
        ("${missingVar.size()}", "unknown property"),
        ("${obj.k2.size()}", "called on null"),
        ("${a.concat('x')}", "method calls other than"),
        ("${name.substring(2, 9)}", "substring bounds"),
        ("${list.get(5)}", "an index within the list"),
        ("${name.trim(1)}", "no arguments"),
        ("${obj.prop('zz')}", "none named `zz`"),
        ("${S('{no json').prop('a')}", "JSON text"),
        ("${obj.prop('k').numberValue()}", "a JSON number"),
    ] {
        let e = run(src).expect_err(src);
        assert!(e.to_string().contains(fragment), "{src}: {e}");
    }
}

#[test]
fn bean_calls_are_recognised() {
    use super::bean_call;
    assert_eq!(
        bean_call("${jobAnnouncementService.postToWebsite(jobAnnouncement.id)}"),
        Some(("jobAnnouncementService".into(), "postToWebsite".into()))
    );
    assert_eq!(
        bean_call("#{exampleBean.invoke()}"),
        Some(("exampleBean".into(), "invoke".into()))
    );
    assert_eq!(bean_call("${execution.setVariable('a', 1)}"), None);
    assert_eq!(bean_call("${name.toUpperCase()}"), None);
    assert_eq!(bean_call("${a + b}"), None);
    assert_eq!(bean_call("${bean.method(1)} and more"), None);
}
