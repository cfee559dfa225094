//! Checks of the lookaside IOCTL: the driver's non-paged and paged lists
//! reuse their entries (their own counters say so), its `LOOKASIDE_LIST_EX`
//! does too where the kernel has one, a list with leaked entries is deleted
//! by abandoning them, and bad requests are refused.
//!
//! Wine 8 has no `ExInitializeLookasideListEx`: the driver's
//! `LOOKASIDE_LIST_EX` is then never initialised and its requests fail with
//! `STATUS_PROCEDURE_NOT_FOUND` (Win32 error 127), which is what
//! [`lookaside_ex_reuse_or_absent`] expects there.

use crate::protocol::{
    IOCTL_LOOKASIDE_REUSE, LOOKASIDE_ENTRY_SIZE, LOOKASIDE_EX, LOOKASIDE_MAX_COUNT, LOOKASIDE_NON_PAGED,
    LOOKASIDE_PAGED, LOOKASIDE_SCRATCH_ABANDON, LookasideReply, LookasideRequest,
};
use crate::{Driver, ERROR_INVALID_PARAMETER, IoctlError, expect, ioctl};

/// Win32 `ERROR_PROC_NOT_FOUND`: `STATUS_PROCEDURE_NOT_FOUND` out of
/// `DeviceIoControl`.
pub const ERROR_PROC_NOT_FOUND: u32 = 127;

/// Entries held at once, and rounds: with the initial depth of 4, the second
/// round takes 4 entries back from the list.
const COUNT: u32 = 8;
const ROUNDS: u32 = 2;

fn reuse(driver: &dyn Driver, list: u32, count: u32, rounds: u32) -> Result<LookasideReply, IoctlError> {
    ioctl(driver, IOCTL_LOOKASIDE_REUSE, Some(&LookasideRequest { list, count, rounds, reserved: 0 }))
}

/// The list's counters show `COUNT * ROUNDS` allocations and frees, fewer
/// misses than allocations (reuse), and nothing left out.
fn check_reuse(reply: &LookasideReply) -> Result<String, String> {
    expect("allocates", reply.allocates, COUNT * ROUNDS)?;
    expect("frees", reply.frees, COUNT * ROUNDS)?;
    expect("entries_out", reply.entries_out, 0)?;
    expect("contents_ok", reply.contents_ok, 1)?;
    expect("entry_size", reply.entry_size, LOOKASIDE_ENTRY_SIZE)?;
    if reply.allocate_misses >= reply.allocates || reply.cached == 0 {
        return Err(format!("no reuse: {reply:?}"));
    }
    Ok(format!(
        "allocates={} allocate_misses={} frees={} free_misses={} depth={} cached={}",
        reply.allocates, reply.allocate_misses, reply.frees, reply.free_misses, reply.depth, reply.cached
    ))
}

/// The `NPAGED_LOOKASIDE_LIST` reuses its entries.
pub fn lookaside_non_paged_reuse(driver: &dyn Driver) -> Result<String, String> {
    check_reuse(&reuse(driver, LOOKASIDE_NON_PAGED, COUNT, ROUNDS).map_err(|e| e.to_string())?)
}

/// The `PAGED_LOOKASIDE_LIST` reuses its entries.
pub fn lookaside_paged_reuse(driver: &dyn Driver) -> Result<String, String> {
    check_reuse(&reuse(driver, LOOKASIDE_PAGED, COUNT, ROUNDS).map_err(|e| e.to_string())?)
}

/// The `LOOKASIDE_LIST_EX` reuses its entries, or is absent with exactly
/// `STATUS_PROCEDURE_NOT_FOUND` (Wine).
pub fn lookaside_ex_reuse_or_absent(driver: &dyn Driver) -> Result<String, String> {
    match reuse(driver, LOOKASIDE_EX, COUNT, ROUNDS) {
        Ok(reply) => check_reuse(&reply),
        Err(IoctlError::Win32(ERROR_PROC_NOT_FOUND)) => {
            Ok("ExInitializeLookasideListEx absent: STATUS_PROCEDURE_NOT_FOUND (win32 error 127), as under Wine".into())
        }
        Err(other) => Err(format!("{other}, expected a reply or win32 error {ERROR_PROC_NOT_FOUND}")),
    }
}

/// A scratch list (in paged pool) with leaked entries: `delete` refuses,
/// `delete_abandoning_entries` deletes it all the same, and the abandoned
/// entries are plain pool blocks the driver frees.
pub fn lookaside_abandon_leaked_entries(driver: &dyn Driver) -> Result<String, String> {
    let reply = reuse(driver, LOOKASIDE_SCRATCH_ABANDON, 3, 1).map_err(|e| e.to_string())?;
    expect("allocates", reply.allocates, 3)?;
    expect("entries_out (abandoned)", reply.entries_out, 3)?;
    expect("contents_ok (delete refused, then abandoned)", reply.contents_ok, 1)?;
    Ok(format!("3 leaked entries: delete refused, delete_abandoning_entries abandoned {}", reply.entries_out))
}

/// An unknown list, no entries, too many, no rounds, a scratch list with
/// more than one round: refused.
pub fn lookaside_bad_requests(driver: &dyn Driver) -> Result<String, String> {
    for (list, count, rounds) in [
        (LOOKASIDE_SCRATCH_ABANDON + 1, 1, 1),
        (LOOKASIDE_SCRATCH_ABANDON, 1, 2),
        (LOOKASIDE_NON_PAGED, 0, 1),
        (LOOKASIDE_PAGED, LOOKASIDE_MAX_COUNT + 1, 1),
        (LOOKASIDE_NON_PAGED, 1, 0),
    ] {
        match reuse(driver, list, count, rounds) {
            Err(IoctlError::Win32(ERROR_INVALID_PARAMETER)) => {}
            other => {
                return Err(format!("list={list} count={count} rounds={rounds}: {other:?}, expected win32 error 87"));
            }
        }
    }
    Ok("5 bad requests refused with win32 error 87 (STATUS_INVALID_PARAMETER)".into())
}

/// How the sample driver answers, for the client's unit tests: Windows
/// (`absent_ex` false) or Wine, with reuse or (`no_reuse`) without.
#[cfg(test)]
pub fn fake_reply(input: &[u8], absent_ex: bool, no_reuse: bool) -> Result<LookasideReply, u32> {
    let field = |at: usize| u32::from_le_bytes(input[at..at + 4].try_into().unwrap());
    let (list, count, rounds) = (field(0), field(4), field(8));
    let bad_scratch = list == LOOKASIDE_SCRATCH_ABANDON && rounds != 1;
    if list > LOOKASIDE_SCRATCH_ABANDON || count == 0 || count > LOOKASIDE_MAX_COUNT || rounds == 0 || bad_scratch {
        return Err(ERROR_INVALID_PARAMETER);
    }
    if list == LOOKASIDE_SCRATCH_ABANDON {
        let reply = LookasideReply {
            allocates: count,
            allocate_misses: count,
            depth: 4,
            entries_out: count,
            ..Default::default()
        };
        return Ok(LookasideReply { entry_size: LOOKASIDE_ENTRY_SIZE, contents_ok: 1, ..reply });
    }
    if list == LOOKASIDE_EX && absent_ex {
        return Err(ERROR_PROC_NOT_FOUND);
    }
    // Depth 4: every round frees count - 4 entries to the pool, and every
    // round but the first takes 4 back.
    let (allocates, kept) = (count * rounds, count.min(4));
    let misses = if no_reuse { allocates } else { allocates - kept * (rounds - 1) };
    Ok(LookasideReply {
        allocates,
        allocate_misses: misses,
        frees: allocates,
        free_misses: (count - kept) * rounds,
        depth: 4,
        cached: kept,
        entries_out: 0,
        entry_size: LOOKASIDE_ENTRY_SIZE,
        contents_ok: 1,
        reserved: 0,
    })
}
