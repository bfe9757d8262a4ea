//! Smoke fuzzer: evaluates random token soups on threads with a 2 MiB stack
//! (the default for test threads) to check that no input panics, hangs or
//! overflows the stack. Prints each input to standard error first, so the
//! last line names the culprit if the process dies.
//!
//! `cargo run -p dmn --example fuzz_feel -- 100000`

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let toks = [
        "1",
        "2.5",
        "\"s\"",
        "x",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "..",
        "+",
        "-",
        "*",
        "/",
        "**",
        "=",
        "!=",
        "<",
        ">=",
        "and",
        "or",
        "in",
        "between",
        "if",
        "then",
        "else",
        "for",
        "return",
        "some",
        "every",
        "satisfies",
        "function",
        "instance",
        "of",
        "number",
        "null",
        "true",
        "?",
        "date(\"2020-01-01\")",
        "@\"P1D\"",
        "item",
        "not",
        "external",
        "list",
        ">",
        "->",
        "partial",
    ];
    let mut seed: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..count {
        let n = (next() % 30) as usize;
        let src: Vec<&str> = (0..n)
            .map(|_| toks[(next() % toks.len() as u64) as usize])
            .collect();
        let src = src.join(" ");
        eprintln!("{src}");
        let h = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let _ = dmn::feel::eval_str(&src, &[("x".to_string(), dmn::Value::int(3))]);
            })
            .expect("thread");
        if h.join().is_err() {
            eprintln!("PANIC on the input above");
            std::process::exit(1);
        }
    }
    println!("{count} inputs, no panic");
}
