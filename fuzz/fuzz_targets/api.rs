//! libFuzzer drives the API-sequence harness of the test suite
//! (`tests/api_fuzz`): each input is one sequence; a panic (a verifier
//! violation, an unexpected status, a crash of the model) is a finding.

#![no_main]

#[path = "../../tests/api_fuzz/mod.rs"]
mod api_fuzz;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    api_fuzz::run_sequence(data);
});
