//! Any text through the engine's small parsers: JUEL expressions, timer
//! bodies of each kind, and scenario files.
//! `cargo +nightly fuzz run engine_texts -- -max_total_time=60`
#![no_main]

use bpmn_models::timer::{TimerKind, parse_timer};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = engine::juel::JuelExpr::parse(text);
    for kind in [TimerKind::Date, TimerKind::Duration, TimerKind::Cycle] {
        let _ = parse_timer(kind, text);
    }
    let _ = engine::scenario::Scenario::from_json(text);
});
