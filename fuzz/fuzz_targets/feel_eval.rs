//! Any text: parse a FEEL expression; what parses, evaluate under a step
//! limit with no variables.
//! `cargo +nightly fuzz run feel_eval -- -max_total_time=60`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(e) = dmn::feel::Expression::compile(src, &[]) {
        let _ = e.evaluate_with_limit(&[], 100_000);
    }
});
