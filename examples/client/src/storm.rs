//! The IOCTL storm: every IOCTL of the protocol with NULL, zero-length,
//! short, long and lying buffers, wrong method and access bits, METHOD_NEITHER
//! pointers that are NULL, kernel-range, unaligned or wrapping, then
//! [`RANDOM_REQUESTS`] requests from a seeded generator. After it: the driver
//! still answers, no reply claimed more bytes than its output buffer, and the
//! driver holds no pool allocation (`DriverUnload`'s own report is checked by
//! scripts/wine-e2e.sh). Prints `storm: N requests, 0 crashes, 0 leaks`.
//!
//! Under Wine 8 (`NtDeviceIoControlFile`): an unwritable output buffer fails
//! with `STATUS_INVALID_USER_BUFFER` before the driver; an unreadable input
//! buffer (NULL or a bad pointer with a non-zero length) never reaches the
//! driver either (no `dispatch_ioctl` in ntoskrnl's trace), yet
//! `DeviceIoControl` returns TRUE with a byte count that is not the
//! driver's: the size of Wine's own request (the input length, plus the
//! output length for the direct and neither methods), often more than the
//! output buffer. Both are sent all the same; the second are counted as
//! answered by Wine ([`Tally::wine_answered`]) and their byte count is not
//! checked against the buffer (see [`wine_delivers`]). On other kernels every
//! reply is checked.

use core::mem::size_of;

use crate::Driver;
use crate::protocol::{self as p, PoolReply};

/// Requests drawn from the seeded generator after the systematic ones.
pub const RANDOM_REQUESTS: usize = 1500;
/// The generator's seed (the storm is the same on every run).
const SEED: u64 = 0x5EED_0011_D00D_F00D;
/// A user address no process maps, a kernel address, one that wraps.
const UNMAPPED: usize = 0x7000_0000_0000;
const KERNEL: usize = 0xFFFF_8000_0000_0000;
const WRAPPING: usize = usize::MAX - 7;

/// Every IOCTL of the protocol and the sizes of its input and reply
/// (0: none; the direct and neither methods: a data buffer).
const IOCTLS: &[(u32, usize, usize)] = &[
    (p::IOCTL_POOL_ROUNDTRIP, size_of::<p::PoolRequest>(), size_of::<PoolReply>()),
    (p::IOCTL_POOL_STATS, 0, size_of::<PoolReply>()),
    (p::IOCTL_SECTION_ROUNDTRIP, size_of::<p::SectionRequest>(), size_of::<p::SectionReply>()),
    (p::IOCTL_SECTION_PUBLISH, 0, size_of::<p::SectionReply>()),
    (p::IOCTL_SECTION_UNPUBLISH, 0, size_of::<p::SectionReply>()),
    (p::IOCTL_PAGING_WRITE, size_of::<p::PagingRequest>(), size_of::<p::PagingReply>()),
    (p::IOCTL_PAGING_READ, 0, size_of::<p::PagingReply>()),
    (p::IOCTL_PAGING_ENTIRE_DRIVER, 0, size_of::<p::PagingReply>()),
    (p::IOCTL_LOOKASIDE_REUSE, size_of::<p::LookasideRequest>(), size_of::<p::LookasideReply>()),
    (p::IOCTL_MEMORY_NON_CACHED, size_of::<p::MemoryRequest>(), size_of::<p::MemoryReply>()),
    (p::IOCTL_MEMORY_CONTIGUOUS, size_of::<p::MemoryRequest>(), size_of::<p::MemoryReply>()),
    (p::IOCTL_MDL_OUT_DIRECT, size_of::<p::MdlFillRequest>(), 5000),
    (p::IOCTL_MDL_IN_DIRECT, size_of::<p::MdlSumRequest>(), 3000),
    (p::IOCTL_MDL_NEITHER, 16, 16),
    (p::IOCTL_MDL_PROBE, size_of::<p::MdlProbeRequest>(), size_of::<p::MdlReply>()),
    (p::IOCTL_MDL_KERNEL_BUFFERS, 0, size_of::<p::MdlKernelReply>()),
    (p::IOCTL_IO_SPACE_READ, size_of::<p::IoSpaceRequest>(), size_of::<p::IoSpaceReply>()),
    (p::IOCTL_ADDRESS_QUERY, 0, size_of::<p::AddressReply>()),
    (p::IOCTL_ROUTINES_STATUS, 0, size_of::<p::RoutinesReply>()),
    (p::IOCTL_PAGING_CODE, 0, 8),
    (p::IOCTL_USER_COPY, 16, 16),
    (p::IOCTL_USER_SECURE, 0, 16),
    (p::IOCTL_USER_MAP, 0, size_of::<p::UserMapReply>()),
];

/// xorshift64*: small, seeded, good enough to pick request shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// One request: the code, then (address, length) of each buffer. The
/// addresses may point anywhere; `Arena` offsets are resolved by [`Storm::send`].
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// The IOCTL code.
    pub code: u32,
    /// The input buffer.
    pub input: Buffer,
    /// Its claimed length.
    pub input_len: u32,
    /// The output buffer.
    pub output: Buffer,
    /// Its claimed length.
    pub output_len: u32,
}

/// Where a buffer points.
#[derive(Clone, Copy, Debug)]
pub enum Buffer {
    /// NULL.
    Null,
    /// This offset into the arena (two read-write pages, then one no-access
    /// page: a length past the end is a lying one).
    Arena(usize),
    /// A raw address (kernel, unmapped, wrapping); only sent where the
    /// driver handle takes raw pointers.
    Raw(usize),
}

/// What the storm saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests sent.
    pub requests: usize,
    /// Times the driver stopped answering.
    pub crashes: usize,
    /// Pool allocations the driver held after the storm.
    pub leaks: u64,
    /// Replies that claimed more bytes than their output buffer.
    pub overlong: usize,
    /// Requests Wine answered itself, without the driver (an unreadable
    /// input buffer, see [`wine_delivers`]): their byte count is Wine's.
    pub wine_answered: usize,
    /// Under Wine: whether the process that sent [`partial_shape`] before
    /// the storm lived to print [`PARTIAL_SENT`] (Wine's ntdll ends it).
    pub partial_caller_survived: Option<bool>,
}

impl Tally {
    /// The summary line.
    pub fn line(&self) -> String {
        format!("storm: {} requests, {} crashes, {} leaks", self.requests, self.crashes, self.leaks)
    }
}

/// The arena's size: two read-write pages (the no-access page follows).
pub const ARENA: usize = 8192;

/// The systematic part: each IOCTL (and its code with other method and
/// access bits, and one unknown function) with every buffer shape.
pub fn systematic() -> Vec<Shape> {
    let mut shapes = Vec::new();
    let mut codes: Vec<(u32, usize, usize)> = IOCTLS.to_vec();
    for &(code, input, output) in IOCTLS {
        for other in 1..4 {
            codes.push(((code & !3) | ((code + other) & 3), input, output));
            codes.push((code ^ (other << 14), input, output));
        }
    }
    codes.push((p::ctl_code(0xFFF, p::METHOD_BUFFERED), 16, 16));
    codes.push((p::ctl_code(0x800, p::METHOD_BUFFERED) & 0xFFFF, 16, 40));
    for (code, input, output) in codes {
        let lens = |size: usize| -> Vec<u32> {
            let mut lens = vec![0, 1, size.saturating_sub(1) as u32, size as u32, size as u32 + 1, 4097, 0xFFFF_FFFF];
            lens.dedup();
            lens
        };
        let near_end = |len: u32| Buffer::Arena(ARENA.saturating_sub((len as usize).min(ARENA) / 2));
        for input_len in lens(input) {
            for output_len in lens(output) {
                shapes.push(Shape {
                    code,
                    input: Buffer::Arena(0),
                    input_len,
                    output: Buffer::Arena(4096),
                    output_len,
                });
            }
            // Lying: a buffer that ends in the no-access page.
            shapes.push(Shape {
                code,
                input: near_end(input_len),
                input_len,
                output: Buffer::Arena(4096),
                output_len: output as u32,
            });
        }
        for output_len in lens(output) {
            shapes.push(Shape {
                code,
                input: Buffer::Arena(0),
                input_len: input as u32,
                output: near_end(output_len),
                output_len,
            });
        }
        for bad in [Buffer::Null, Buffer::Raw(KERNEL), Buffer::Raw(WRAPPING), Buffer::Raw(UNMAPPED), Buffer::Arena(1)] {
            let (input_len, output_len) = (input.max(16) as u32, output.max(16) as u32);
            shapes.push(Shape { code, input: bad, input_len, output: Buffer::Arena(4096), output_len });
            shapes.push(Shape { code, input: Buffer::Arena(0), input_len: input as u32, output: bad, output_len });
            shapes.push(Shape { code, input: bad, input_len, output: bad, output_len });
        }
    }
    shapes
}

/// `count` random shapes from `seed`; the arena's contents are randomised
/// before each (see [`fill_input`]).
pub fn random(seed: u64, count: usize) -> Vec<(Shape, u64)> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|_| {
            let (mut code, input, output) = rng.pick(IOCTLS);
            match rng.below(10) {
                0 => code ^= rng.below(4) as u32,
                1 => code ^= (rng.below(4) as u32) << 14,
                _ => {}
            }
            let len = |size: usize, rng: &mut Rng| -> u32 {
                match rng.below(8) {
                    0 => 0,
                    1 => rng.below(64) as u32,
                    2 => rng.below(ARENA + 512) as u32,
                    3 => size.saturating_sub(1) as u32,
                    _ => size as u32,
                }
            };
            let input_len = len(input, &mut rng);
            let output_len = len(output, &mut rng);
            let buffer = |rng: &mut Rng| match rng.below(12) {
                0 => Buffer::Null,
                1 => {
                    let near_kernel = KERNEL + rng.below(1 << 20);
                    Buffer::Raw(rng.pick(&[KERNEL, WRAPPING, UNMAPPED, near_kernel]))
                }
                2 => Buffer::Arena(rng.below(ARENA)),
                3 => Buffer::Arena(rng.below(64) + 1),
                _ => Buffer::Arena(0),
            };
            let input_at = buffer(&mut rng);
            let output_at = match buffer(&mut rng) {
                Buffer::Arena(0) => Buffer::Arena(4096),
                other => other,
            };
            (Shape { code, input: input_at, input_len, output: output_at, output_len }, rng.next())
        })
        .collect()
}

/// Fills the input area from `seed`: all random, small numbers (each `u32`
/// below 65536, what most caps allow), or zeros with one random byte.
pub fn fill_input(arena: &mut [u8], seed: u64) {
    let mut rng = Rng(seed | 1);
    let area = &mut arena[..4096];
    match rng.below(3) {
        0 => area.iter_mut().for_each(|byte| *byte = rng.next() as u8),
        1 => {
            for word in area.chunks_exact_mut(4) {
                word.copy_from_slice(&((rng.next() as u32) & 0xFFFF).to_le_bytes());
            }
        }
        _ => {
            area.fill(0);
            let at = rng.below(64);
            area[at] = rng.next() as u8;
        }
    }
}

/// Whether Wine's client side survives sending `shape`: an input buffer
/// readable in part only (a lying length that runs from the arena into the
/// no-access page) makes Wine 8's ntdll write a partial request to the
/// wineserver, and it kills the *calling* process ("wine client error:
/// partial write"). Such shapes are not sent under Wine from the storm's
/// process (one, [`partial_shape`], is sent from a child process before the
/// storm); the driver never sees them there anyway.
pub fn wine_can_send(shape: &Shape) -> bool {
    match shape.input {
        Buffer::Arena(offset) => offset + shape.input_len as usize <= ARENA,
        Buffer::Null | Buffer::Raw(_) => true,
    }
}

/// The environment variable that makes the client send [`partial_shape`]
/// and exit (the storm runs it in a process of its own under Wine).
pub const PARTIAL_ENV: &str = "WDM_MEM_STORM_PARTIAL";
/// What that process prints once its request returned.
pub const PARTIAL_SENT: &str = "partial request returned";

/// An input buffer readable in part only: the whole arena and 8 bytes of
/// the no-access page. Wine 8's ntdll dies sending it ("wine client error:
/// partial write 8192": its write to the wineserver stops at the page),
/// where a short one (a few bytes before the page) only fails: the driver
/// never sees it, the caller's process is gone, the driver host lives on
/// (the storm after it checks).
pub fn partial_shape() -> Shape {
    let output = Buffer::Arena(4096);
    let output_len = size_of::<PoolReply>() as u32;
    Shape { code: p::IOCTL_POOL_ROUNDTRIP, input: Buffer::Arena(0), input_len: ARENA as u32 + 8, output, output_len }
}

/// Whether Wine passes `shape` to the driver at all: not when its input
/// buffer is unreadable (NULL or a raw address with a non-zero length), which
/// Wine 8's ntdll answers itself with TRUE and the size of its own request as
/// the byte count (not the driver's reply: it is not checked).
pub fn wine_delivers(shape: &Shape) -> bool {
    shape.input_len == 0 || matches!(shape.input, Buffer::Arena(_))
}

/// The driver answers `IOCTL_POOL_STATS` with a well-formed request:
/// its outstanding allocations, or `None` if it does not answer.
fn pool_stats(driver: &dyn Driver) -> Option<u64> {
    let mut reply = [0u8; size_of::<PoolReply>()];
    let got = driver.device_io_control(p::IOCTL_POOL_STATS, &[], &mut reply).ok()?;
    (got == reply.len()).then(|| u64::from_le_bytes(reply[24..32].try_into().unwrap()))
}

/// Win32 `ERROR_INTERNAL_ERROR`: `STATUS_INTERNAL_ERROR`, the sample's answer
/// when one of its handlers claimed more bytes than the output buffer (its
/// guard, `validate::reply_bytes`, then writes none): counted as overlong.
const ERROR_INTERNAL_ERROR: u32 = 1359;

/// Runs the storm against `driver` through `send`, which sends one shape
/// (with the arena filled from the seed) and returns the byte count of a
/// successful reply or the Win32 error of a failed one.
pub fn run(driver: &dyn Driver, mut send: impl FnMut(&Shape, u64) -> Result<usize, u32>) -> Tally {
    let mut tally = Tally::default();
    let wine = driver.kernel_is_wine() == Some(true);
    let shapes = systematic().into_iter().map(|shape| (shape, 0)).chain(random(SEED, RANDOM_REQUESTS));
    let shapes = shapes.filter(|(shape, _)| !wine || wine_can_send(shape));
    for (i, (shape, seed)) in shapes.enumerate() {
        tally.requests += 1;
        let written = send(&shape, seed);
        if wine && !wine_delivers(&shape) {
            tally.wine_answered += 1;
        } else if written.is_ok_and(|written| written > shape.output_len as usize)
            || written == Err(ERROR_INTERNAL_ERROR)
        {
            tally.overlong += 1;
        }
        if i % 64 == 63 && pool_stats(driver).is_none() {
            tally.crashes += 1;
            break;
        }
    }
    // Whatever the storm published goes; then nothing may be left.
    let mut reply = [0u8; size_of::<p::SectionReply>()];
    let _ = driver.device_io_control(p::IOCTL_SECTION_UNPUBLISH, &[], &mut reply);
    match pool_stats(driver) {
        Some(outstanding) => tally.leaks = outstanding,
        None if tally.crashes == 0 => tally.crashes = 1,
        None => {}
    }
    tally
}

/// The check: the storm through the driver's raw calls; prints its line.
pub fn ioctl_storm(driver: &dyn Driver) -> Result<String, String> {
    let Some(tally) = driver.storm() else {
        return Ok("not run: this driver handle takes no raw buffers".into());
    };
    verdict(&tally)
}

/// Prints the storm's line; fails unless it crashed nothing, leaked nothing
/// and saw no reply longer than its buffer.
fn verdict(tally: &Tally) -> Result<String, String> {
    println!("{}", tally.line());
    if tally.crashes != 0 || tally.leaks != 0 || tally.overlong != 0 {
        return Err(format!("{tally:?}"));
    }
    let partial = match tally.partial_caller_survived {
        Some(false) => "; before it, Wine ended a caller sending a partly readable input mid-request",
        Some(true) => "; before it, a caller sent a partly readable input and lived on",
        None => "",
    };
    Ok(format!(
        "{} requests ({} answered by Wine without the driver: unreadable input){partial}; the driver still \
         answers, no reply longer than its buffer, no pool left",
        tally.requests, tally.wine_answered
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A driver that answers every request with `written` bytes, and the
    /// pool statistics with `outstanding` allocations; dead after `dies_at`
    /// requests.
    struct Fake {
        written: usize,
        outstanding: u64,
        dies_at: usize,
        sent: Cell<usize>,
        wine: Option<bool>,
    }

    impl Fake {
        fn new(written: usize, outstanding: u64, dies_at: usize) -> Fake {
            Fake { written, outstanding, dies_at, sent: Cell::new(0), wine: None }
        }
    }

    impl Driver for Fake {
        fn kernel_is_wine(&self) -> Option<bool> {
            self.wine
        }

        fn device_io_control(&self, code: u32, _: &[u8], output: &mut [u8]) -> Result<usize, u32> {
            if self.sent.get() >= self.dies_at {
                return Err(6);
            }
            if code == p::IOCTL_POOL_STATS {
                output[24..32].copy_from_slice(&self.outstanding.to_le_bytes());
            }
            Ok(output.len())
        }
        fn read_named_section(&self, _: &str, _: usize) -> Result<Vec<u8>, u32> {
            Err(2)
        }
    }

    fn storm(fake: &Fake) -> Tally {
        run(fake, |shape, _| {
            fake.sent.set(fake.sent.get() + 1);
            Ok(fake.written.min(shape.output_len as usize))
        })
    }

    #[test]
    fn a_sound_driver_gives_the_clean_line() {
        let fake = Fake::new(8, 0, usize::MAX);
        let tally = storm(&fake);
        assert!(tally.requests >= 1000 + RANDOM_REQUESTS, "{tally:?}");
        assert_eq!(tally.line(), format!("storm: {} requests, 0 crashes, 0 leaks", tally.requests));
        assert_eq!(tally.overlong, 0);
    }

    #[test]
    fn death_leaks_and_overlong_replies_are_counted() {
        let dead = storm(&Fake::new(0, 0, 100));
        assert_eq!(dead.crashes, 1);
        let leaky = storm(&Fake::new(0, 3, usize::MAX));
        assert_eq!((leaky.crashes, leaky.leaks), (0, 3));
        let fake = Fake::new(0, 0, usize::MAX);
        let overlong = run(&fake, |shape, _| Ok(shape.output_len as usize + 1));
        assert!(overlong.overlong > 0);
        // The driver's guard against its own overlong replies is counted too.
        let guarded = run(&fake, |shape, _| if shape.code == p::IOCTL_MDL_NEITHER { Err(1359) } else { Ok(0) });
        assert!(guarded.overlong > 0, "{guarded:?}");
    }

    /// Wine 8 answers a request with an unreadable input buffer itself:
    /// TRUE and the size of its own request (input length, plus the output
    /// length for the direct and neither methods) as the byte count. Those
    /// are Wine's, not the driver's: not overlong replies (they were, 192 of
    /// them, before `wine_delivers`); on any other kernel they are.
    fn wine_count(shape: &Shape) -> Result<usize, u32> {
        let output = if shape.code & 3 == p::METHOD_BUFFERED { 0 } else { shape.output_len as usize };
        if wine_delivers(shape) { Ok(0) } else { Ok(shape.input_len as usize + output) }
    }

    #[test]
    fn wine_answers_to_unreadable_inputs_are_not_the_drivers() {
        let wine = Fake { wine: Some(true), ..Fake::new(0, 0, usize::MAX) };
        let tally = run(&wine, |shape, _| wine_count(shape));
        assert_eq!(tally.overlong, 0, "{tally:?}");
        assert!(tally.wine_answered > 0, "{tally:?}");
        assert!(verdict(&tally).is_ok());
        let windows = Fake { wine: Some(false), ..Fake::new(0, 0, usize::MAX) };
        let tally = run(&windows, |shape, _| wine_count(shape));
        assert!(tally.overlong > 0 && tally.wine_answered == 0, "{tally:?}");
        assert!(verdict(&tally).is_err());
        // The driver's own overlong reply is caught under Wine too.
        let tally = run(&wine, |shape, _| Ok(shape.output_len as usize + 1));
        assert!(tally.overlong > 0, "{tally:?}");
    }

    #[test]
    fn the_random_part_is_seeded_and_covers_bad_pointers() {
        let (a, b) = (random(SEED, 200), random(SEED, 200));
        assert!(a.iter().zip(&b).all(|((x, s), (y, t))| format!("{x:?}") == format!("{y:?}") && s == t));
        assert!(a.iter().any(|(shape, _)| matches!(shape.input, Buffer::Raw(KERNEL))));
        assert!(a.iter().any(|(shape, _)| matches!(shape.output, Buffer::Null)));
        let mut arena = vec![0u8; ARENA];
        fill_input(&mut arena, 7);
        assert!(!wine_can_send(&partial_shape()));
    }
}
