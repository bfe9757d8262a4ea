//! Evaluates one FEEL expression given on the command line.
//!
//! `cargo run -p dmn --example feel -- 'for x in 1..3 return x * 2'`

fn main() {
    let src = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    match dmn::feel::eval_str(&src, &[]) {
        Ok(v) => {
            println!("{}", v.to_feel_literal());
            if let Some(r) = v.null_reason() {
                println!("(null: {r})");
            }
        }
        Err(e) => println!("error: {e}"),
    }
}
