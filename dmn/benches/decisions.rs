//! Decision evaluation and model compilation.
//!
//! `cargo bench -p dmn --bench decisions`
//!
//! `decision100`: the 100-rule table of the peer benchmarks (two inputs,
//! `amount ∈ [100b..100b+100)` and `category = "c<c>"`, output `10b + c`),
//! generated here, evaluated with UNIQUE and FIRST on inputs from the same
//! LCG. The TCK benches read `../shared/tck` next to the repository and
//! are skipped when it is absent.

use dmn::{Context, DmnModel, Inputs, Value};
use std::path::PathBuf;

fn main() {
    divan::main();
}

/// The decision100 model with the given hit policy.
fn decision100(hit_policy: &str) -> String {
    let mut rules = String::new();
    for b in 0..10 {
        for c in 0..10 {
            let r = 10 * b + c;
            rules.push_str(&format!(
                r#"<rule id="r{r:03}"><inputEntry><text>[{lo}..{hi})</text></inputEntry><inputEntry><text>"c{c}"</text></inputEntry><outputEntry><text>{r}</text></outputEntry></rule>"#,
                lo = 100 * b,
                hi = 100 * b + 100,
            ));
        }
    }
    format!(
        r##"<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d100" name="decision100" namespace="urn:bench">
  <inputData id="amount_id" name="amount"><variable name="amount" typeRef="number"/></inputData>
  <inputData id="category_id" name="category"><variable name="category" typeRef="string"/></inputData>
  <decision id="decision100" name="decision100">
    <variable name="decision100" typeRef="number"/>
    <informationRequirement><requiredInput href="#amount_id"/></informationRequirement>
    <informationRequirement><requiredInput href="#category_id"/></informationRequirement>
    <decisionTable id="dt100" hitPolicy="{hit_policy}">
      <input id="in_amount"><inputExpression typeRef="number"><text>amount</text></inputExpression></input>
      <input id="in_category"><inputExpression typeRef="string"><text>category</text></inputExpression></input>
      <output id="out_score" name="score" typeRef="number"/>
      {rules}
    </decisionTable>
  </decision>
</definitions>"##
    )
}

/// `x ← (1103515245·x + 12345) mod 2^31` from 12345: amount, category.
fn lcg_inputs(n: usize) -> Vec<(i64, String)> {
    let mut x: u64 = 12345;
    (0..n)
        .map(|_| {
            x = (1103515245 * x + 12345) & 0x7FFF_FFFF;
            ((x % 1000) as i64, format!("c{}", (x >> 10) % 10))
        })
        .collect()
}

/// One evaluation per iteration, cycling through 1,000 LCG inputs.
#[divan::bench(args = ["UNIQUE", "FIRST"])]
fn decision100_eval(b: divan::Bencher, hit_policy: &str) {
    let model = DmnModel::compile(&decision100(hit_policy)).expect("compiles");
    let inputs = lcg_inputs(1000);
    let mut k = 0;
    b.bench_local(|| {
        let (amount, category) = &inputs[k % inputs.len()];
        k += 1;
        let mut ctx = Context::new();
        ctx.put("amount", Value::int(*amount));
        ctx.put("category", Value::String(category.clone()));
        model
            .evaluate("decision100", &Inputs::from_context(ctx))
            .expect("evaluates")
    });
}

fn tck(path: &str) -> Option<String> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/tck"));
    std::fs::read_to_string(root.join(path)).ok()
}

/// A typical TCK model: 0020-vacation-days (a DRG of five decisions, tables
/// with COLLECT and PRIORITY-like logic, FEEL arithmetic).
#[divan::bench]
fn tck_vacation_days_eval(b: divan::Bencher) {
    let Some(xml) = tck("compliance-level-3/0020-vacation-days/0020-vacation-days.dmn") else {
        eprintln!("TCK not found: skipped");
        return;
    };
    let model = DmnModel::compile(&xml).expect("compiles");
    b.bench_local(|| {
        let mut ctx = Context::new();
        ctx.put("Age", Value::int(16));
        ctx.put("Years of Service", Value::int(1));
        model
            .evaluate("Total Vacation Days", &Inputs::from_context(ctx))
            .expect("evaluates")
    });
}

/// Compiling the largest TCK model (0100-arithmetic.dmn, 476 KB): XML
/// import, FEEL parsing, decision requirements graph.
#[divan::bench(sample_count = 20)]
fn tck_largest_compile(b: divan::Bencher) {
    let Some(xml) = tck("compliance-level-3/0100-arithmetic/0100-arithmetic.dmn") else {
        eprintln!("TCK not found: skipped");
        return;
    };
    b.counter(divan::counter::BytesCount::of_str(&xml))
        .bench_local(|| DmnModel::compile(divan::black_box(&xml)).expect("compiles"));
}
