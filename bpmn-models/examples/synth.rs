//! Prints a generated process of N flow nodes (default 10,000) with DI, for
//! benchmarks against other tools: `cargo run -p bpmn-models --example synth -- 10000 > large.bpmn`

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    print!("{}", bpmn_models::synth::large_process(n));
}
