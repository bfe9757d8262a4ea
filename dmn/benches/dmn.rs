//! Hot paths of the `dmn` crate: evaluating a compiled 100-rule decision
//! table (the shape of the "decision100" comparisons), a small DRG with a
//! BKM, and FEEL expressions. Compilation happens once, outside the timed
//! closures.
//!
//! `cargo bench -p dmn --bench dmn`

use dmn::{DmnModel, Inputs, Value};

fn main() {
    divan::main();
}

/// A UNIQUE table over a number and a string input with 100 rules.
fn table100() -> String {
    let mut rules = String::new();
    for i in 0..100 {
        let lo = i * 10;
        let hi = lo + 10;
        let cat = ["gold", "silver", "bronze", "none"][i % 4];
        rules.push_str(&format!(
            r#"<rule id="r{i}"><inputEntry><text>[{lo}..{hi})</text></inputEntry><inputEntry><text>"{cat}"</text></inputEntry><outputEntry><text>{i}</text></outputEntry></rule>"#
        ));
    }
    format!(
        r##"<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="b" namespace="urn:b">
  <inputData id="a" name="amount"><variable name="amount" typeRef="number"/></inputData>
  <inputData id="c" name="category"><variable name="category" typeRef="string"/></inputData>
  <decision id="d" name="score"><variable name="score" typeRef="number"/>
    <informationRequirement><requiredInput href="#a"/></informationRequirement>
    <informationRequirement><requiredInput href="#c"/></informationRequirement>
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input><inputExpression typeRef="number"><text>amount</text></inputExpression></input>
      <input><inputExpression typeRef="string"><text>category</text></inputExpression></input>
      <output name="score"/>
      {rules}
    </decisionTable>
  </decision>
</definitions>"##
    )
}

#[divan::bench]
fn decision_table_100_rules(bencher: divan::Bencher) {
    let model = DmnModel::compile(&table100()).expect("compiles");
    let mut inputs = Inputs::default();
    inputs.values.put("amount", Value::int(987));
    inputs
        .values
        .put("category", Value::String("bronze".into()));
    bencher.bench(|| {
        model
            .evaluate("score", divan::black_box(&inputs))
            .expect("evaluates")
    });
}

#[divan::bench]
fn feel_arithmetic_and_functions(bencher: divan::Bencher) {
    let e = dmn::feel::Expression::compile(
        "sum(for x in items return x * rate) + decimal(1 / 3, 2)",
        &["items".into(), "rate".into()],
    )
    .expect("compiles");
    let vars = vec![
        (
            "items".to_string(),
            Value::List((1..=20).map(Value::int).collect()),
        ),
        ("rate".to_string(), Value::int(3)),
    ];
    bencher.bench(|| e.evaluate(divan::black_box(&vars)).expect("evaluates"));
}

#[divan::bench]
fn json_in_json_out(bencher: divan::Bencher) {
    let model = DmnModel::compile(&table100()).expect("compiles");
    let input = serde_json::json!({"amount": 415, "category": "bronze"});
    bencher.bench(|| {
        model
            .evaluate_json("score", divan::black_box(&input))
            .expect("evaluates")
    });
}
