//! Embedding the `dmn` crate: compile a model once, share it between
//! threads, evaluate it many times with JSON input, and read the audit trail.
//!
//! `cargo run -p dmn --example embed`

use std::sync::Arc;

use dmn::{DmnModel, Inputs, Value};

const MODEL: &str = r##"<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"
    name="shipping" namespace="urn:example:shipping">
  <inputData id="weight" name="Parcel Weight"><variable name="Parcel Weight" typeRef="number"/></inputData>
  <inputData id="zone" name="Zone"><variable name="Zone" typeRef="string"/></inputData>
  <decision id="fee" name="Shipping Fee">
    <variable name="Shipping Fee" typeRef="number"/>
    <informationRequirement><requiredInput href="#weight"/></informationRequirement>
    <informationRequirement><requiredInput href="#zone"/></informationRequirement>
    <decisionTable id="feeTable" hitPolicy="FIRST">
      <input><inputExpression typeRef="number"><text>Parcel Weight</text></inputExpression></input>
      <input><inputExpression typeRef="string"><text>Zone</text></inputExpression></input>
      <output name="fee"/>
      <rule id="light-domestic"><inputEntry><text>&lt;= 2</text></inputEntry><inputEntry><text>"domestic"</text></inputEntry><outputEntry><text>4.90</text></outputEntry></rule>
      <rule id="domestic"><inputEntry><text>-</text></inputEntry><inputEntry><text>"domestic"</text></inputEntry><outputEntry><text>4.90 + (Parcel Weight - 2) * 1.15</text></outputEntry></rule>
      <rule id="abroad"><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>14.50 + Parcel Weight * 2.05</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"##;

fn main() {
    // Compile once: XML import, FEEL parsing and decision-table preparation.
    let model = match DmnModel::compile(MODEL) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            eprintln!("model error: {e}");
            std::process::exit(1);
        }
    };

    // Evaluate many times, from several threads, without re-parsing.
    let handles: Vec<_> = [("1.5", "domestic"), ("7.25", "domestic"), ("3", "abroad")]
        .into_iter()
        .map(|(w, z)| {
            let model = Arc::clone(&model);
            std::thread::spawn(move || {
                // JSON numbers are read from their text: 7.25 stays exactly 7.25.
                let input: serde_json::Value =
                    serde_json::from_str(&format!(r#"{{"Parcel Weight": {w}, "Zone": "{z}"}}"#))
                        .expect("valid JSON");
                let inputs = Inputs::from_json(&input).expect("an object");
                let result = model
                    .evaluate("Shipping Fee", &inputs)
                    .expect("known decision");
                let rules: Vec<String> = result
                    .audit
                    .iter()
                    .flat_map(|a| a.matched.iter().map(|(_, id)| id.clone()))
                    .collect();
                format!(
                    "{w} kg {z}: fee {} (rules {rules:?})",
                    result.value.to_json()
                )
            })
        })
        .collect();
    for h in handles {
        println!("{}", h.join().expect("thread"));
    }

    // Single FEEL expressions can be compiled and evaluated the same way.
    let expr =
        dmn::feel::Expression::compile("sum(for x in prices return x * 1.2)", &["prices".into()])
            .expect("valid FEEL");
    let prices = Value::List(vec![Value::int(10), Value::int(20)]);
    match expr.evaluate(&[("prices".into(), prices)]) {
        Ok(v) => println!("gross total: {v}"),
        Err(e) => println!("aborted: {e}"),
    }
}
