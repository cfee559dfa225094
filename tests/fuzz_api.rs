//! API-sequence fuzzing against the kernel model, bounded and deterministic:
//! byte inputs from a fixed-seed generator, decoded by `arbitrary` into
//! sequences of public-API calls (see `api_fuzz`). The verifier must be clean
//! after every step and at the end of every sequence.
//!
//! The long run: `WDM_FUZZ_SECONDS=t` runs sequences for `t` seconds, or
//! `WDM_FUZZ_SEQUENCES=n` runs `n` sequences, instead of the CI bound;
//! `WDM_FUZZ_SEED=s` starts from another seed. The summary line is written
//! to the real stdout (not captured by the test harness).

mod api_fuzz;

use std::{
    io::Write,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

/// The CI bound: at least this many operations.
const MIN_OPERATIONS: u64 = 100_000;
/// Bytes per sequence: a few hundred steps each.
const INPUT_LEN: usize = 4096;

/// SplitMix64: a fixed, dependency-free generator of the inputs.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes()[..chunk.len()]);
        }
    }
}

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|value| value.parse().unwrap_or_else(|_| panic!("{name} is not a number")))
}

#[test]
fn random_api_sequences_leave_the_verifier_clean() {
    let sequences = env("WDM_FUZZ_SEQUENCES");
    let deadline = env("WDM_FUZZ_SECONDS").map(|seconds| Instant::now() + Duration::from_secs(seconds));
    let mut generator = SplitMix(env("WDM_FUZZ_SEED").unwrap_or(0x5EED_0011));
    let mut input = vec![0; INPUT_LEN];
    let (mut run, mut operations) = (0u64, 0u64);
    let more = |run: u64, operations: u64| match (deadline, sequences) {
        (Some(deadline), _) => Instant::now() < deadline,
        (None, Some(n)) => run < n,
        (None, None) => operations < MIN_OPERATIONS,
    };
    while more(run, operations) {
        generator.fill(&mut input);
        operations += api_fuzz::run_sequence(&input) as u64;
        run += 1;
    }
    assert_eq!(api_fuzz::SEQUENCES.load(Ordering::Relaxed), run);
    assert_eq!(api_fuzz::OPERATIONS.load(Ordering::Relaxed), operations);
    let line = format!("fuzz: {run} sequences, {operations} operations, 0 violations\n");
    std::io::stdout().lock().write_all(line.as_bytes()).unwrap();
}
