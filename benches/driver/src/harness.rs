//! The measurement: `lfence`-serialised `rdtsc` around `n` calls of one
//! operation, repeated, the three variants interleaved (C, raw, safe, C,
//! raw, safe, ...), and the result lines printed with `DbgPrint`.
//!
//! One line per row, parsed by `scripts/bench.sh`:
//! `wdm-mem-bench: row|<name>|<C>|<raw>|<safe>`, each cell
//! `<median>,<min>,<max>` (ticks per operation, loop and call included),
//! `n/a:<reason>` or `err:<NTSTATUS>`.

use core::{
    arch::x86_64::{_mm_lfence, _rdtsc},
    ffi::c_void,
    fmt::{self, Write},
};

use wdm_mem::sys;

use crate::ffi::Operation;

/// Most repetitions a run may ask for.
pub const MAX_REPS: usize = 31;

/// One variant of an operation: its function and context, or why it cannot
/// run here.
#[derive(Clone, Copy)]
pub enum Variant {
    Run(Operation, *mut c_void),
    Absent(&'static str),
}

/// A row of the table.
pub struct Row {
    pub name: &'static str,
    pub iterations: u32,
    pub variants: [Variant; 3],
}

/// The per-call ticks of one variant's repetitions.
#[derive(Clone, Copy)]
struct Samples {
    taken: [u64; MAX_REPS],
    len: usize,
}

/// The result of one variant.
enum Cell {
    Ticks { median: u64, min: u64, max: u64 },
    Absent(&'static str),
    Failed(i32),
}

fn ticks() -> u64 {
    // SAFETY: lfence and rdtsc have no preconditions on x86_64 (SSE2 and
    // the TSC are baseline).
    unsafe {
        _mm_lfence();
        let now = _rdtsc();
        _mm_lfence();
        now
    }
}

/// Ticks per call of `n` calls, or the first failure.
fn sample(op: Operation, ctx: *mut c_void, n: u32) -> Result<u64, i32> {
    let start = ticks();
    for _ in 0..n {
        // SAFETY: each row pairs an operation with the context it was
        // written for (see ops.rs); the bench thread runs at PASSIVE_LEVEL.
        let status = unsafe { op(core::hint::black_box(ctx)) };
        if status != 0 {
            return Err(status);
        }
    }
    Ok((ticks() - start) / u64::from(n.max(1)))
}

/// Measures `row` `reps` times (interleaved variants) and prints its line.
pub fn run(row: &Row, reps: usize, scale: u32) {
    let reps = reps.clamp(1, MAX_REPS);
    let n = (row.iterations / scale.max(1)).max(1);
    let mut samples = [Samples { taken: [0; MAX_REPS], len: 0 }; 3];
    let mut failed = [None::<i32>; 3];
    // An untimed sample of each variant first (first-use lookups, caches,
    // branch predictors, Wine's heap).
    for (variant, fail) in row.variants.iter().zip(failed.iter_mut()) {
        if let Variant::Run(op, ctx) = *variant {
            *fail = sample(op, ctx, n).err();
        }
    }
    // Interleaved: every variant once per repetition (A B C A B C ...).
    for _ in 0..reps {
        for ((variant, fail), column) in row.variants.iter().zip(failed.iter_mut()).zip(samples.iter_mut()) {
            if let (Variant::Run(op, ctx), None) = (*variant, *fail) {
                match sample(op, ctx, n) {
                    Ok(per_call) => column.taken[column.len] = per_call,
                    Err(status) => *fail = Some(status),
                }
                column.len += 1;
            }
        }
    }
    let cells: [Cell; 3] = core::array::from_fn(|index| match (row.variants[index], failed[index]) {
        (Variant::Absent(reason), _) => Cell::Absent(reason),
        (_, Some(status)) => Cell::Failed(status),
        (Variant::Run(..), None) => {
            let taken = &mut samples[index].taken[..reps];
            taken.sort_unstable();
            Cell::Ticks { median: taken[reps / 2], min: taken[0], max: taken[reps - 1] }
        }
    });
    let mut line = Line::new();
    let _ = write!(line, "wdm-mem-bench: row|{}", row.name);
    for cell in &cells {
        let _ = match cell {
            Cell::Ticks { median, min, max } => write!(line, "|{median},{min},{max}"),
            Cell::Absent(reason) => write!(line, "|n/a:{reason}"),
            Cell::Failed(status) => write!(line, "|err:{:#010x}", *status as u32),
        };
    }
    line.print();
}

/// A DbgPrint line built on the stack (truncated at its capacity).
pub struct Line {
    bytes: [u8; 256],
    len: usize,
}

impl Line {
    pub fn new() -> Line {
        Line { bytes: [0; 256], len: 0 }
    }

    /// Prints the line with `DbgPrint("%s\n", line)`.
    pub fn print(mut self) {
        let end = self.len.min(self.bytes.len() - 1);
        self.bytes[end] = 0;
        // SAFETY: a "%s\n" format with one NUL-terminated string argument.
        unsafe { sys::DbgPrint(c"%s\n".as_ptr(), self.bytes.as_ptr()) };
    }
}

impl Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = self.bytes.len() - 1 - self.len;
        let take = text.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// Prints one free-form line.
pub fn say(args: fmt::Arguments<'_>) {
    let mut line = Line::new();
    let _ = line.write_str("wdm-mem-bench: ");
    let _ = line.write_fmt(args);
    line.print();
}
