//! Any text: import and compile a DMN model; what compiles, evaluate each
//! decision with an empty input.
//! `cargo +nightly fuzz run dmn_parse -- -max_total_time=60`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(model) = dmn::DmnModel::compile(text) {
        for name in model.decision_names() {
            let _ = model.evaluate_json(&name, &serde_json::json!({}));
        }
    }
});
