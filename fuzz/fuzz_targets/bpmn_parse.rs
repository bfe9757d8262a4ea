//! Any bytes: decode, import, and for what imports, validate and round-trip.
//! `cargo +nightly fuzz run bpmn_parse -- -max_total_time=60`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = bpmn_models::decode(data) else {
        return;
    };
    if let Ok(defs) = bpmn_models::parse(&text) {
        let _ = bpmn_models::validate(&defs);
        let out = bpmn_models::write(&defs);
        let again = bpmn_models::parse(&out).expect("export of an imported model imports");
        assert_eq!(defs, again, "round trip changed the model");
    }
});
