//! The model's pools: real memory, accounted per tag and per pool, checked
//! like Driver Verifier's special pool checks.
//!
//! Each block has pages of its own (on Linux, an anonymous mapping rounded up
//! to whole pages), so that a freed block can be made inaccessible at once:
//! its bytes are poisoned ([`FREED_POOL_POISON`]) and its pages protected
//! `PROT_NONE`, and they stay reserved for the next [`QUARANTINE`] frees, so
//! that a use after free faults (SIGSEGV) instead of reading a later block.
//! Elsewhere, blocks come from the host's allocator and are only poisoned.

use std::{
    collections::{BTreeMap, HashSet, VecDeque},
    format,
    vec::Vec,
};

use super::{
    host_pages::HostPages,
    verifier::{BugCheck, Violation},
};

/// Which pool a block comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// Non-paged pool: usable up to DISPATCH_LEVEL.
    NonPaged,
    /// Paged pool: usable up to APC_LEVEL.
    Paged,
}

impl PoolKind {
    /// The highest IRQL at which the pool may be allocated or freed.
    pub(super) fn max_irql(self) -> u8 {
        match self {
            PoolKind::NonPaged => 2,
            PoolKind::Paged => 1,
        }
    }
}

/// One outstanding allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolBlock {
    /// Its address.
    pub address: usize,
    /// Bytes asked for.
    pub size: usize,
    /// Its tag, as the four bytes `poolmon` shows.
    pub tag: [u8; 4],
    /// True for paged pool.
    pub paged: bool,
}

/// Pool in use at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoolUsage {
    /// Number of outstanding allocations.
    pub allocations: usize,
    /// Their bytes.
    pub bytes: usize,
    /// (allocations, bytes) per tag.
    pub by_tag: BTreeMap<[u8; 4], (usize, usize)>,
    /// Every outstanding block, by address.
    pub blocks: Vec<PoolBlock>,
}

/// The byte a freed block is filled with before its pages are protected.
pub const FREED_POOL_POISON: u8 = 0xDF;
/// The byte a block allocated without zeroing is filled with.
const UNINITIALIZED_POOL: u8 = 0xA5;
/// The largest block the model's pools hand out: larger requests fail
/// (NULL), as they would on most machines.
pub const LARGEST_BLOCK: usize = 1 << 32;
/// How many freed blocks stay reserved and inaccessible before their pages
/// are given back to the host.
pub const QUARANTINE: usize = 1024;

struct Block {
    size: usize,
    tag: u32,
    kind: PoolKind,
    pages: HostPages,
}

/// The pools of one session.
#[derive(Default)]
pub(super) struct PoolState {
    live: BTreeMap<usize, Block>,
    freed: HashSet<usize>,
    quarantine: VecDeque<HostPages>,
}

impl PoolState {
    /// Allocates a block (the caller has checked IRQL, size and tag).
    pub(super) fn allocate(&mut self, size: usize, tag: u32, kind: PoolKind, zeroed: bool) -> usize {
        if size > LARGEST_BLOCK {
            return 0;
        }
        let Some(pages) = HostPages::new(size) else { return 0 };
        let address = pages.address();
        // Pool contents are whatever was there before: make reliance on
        // zeroes visible.
        if !zeroed {
            // SAFETY: `address` points to `size` writable bytes just
            // allocated (fresh pages are zero already).
            unsafe { std::ptr::write_bytes(address as *mut u8, UNINITIALIZED_POOL, size) };
        }
        self.freed.remove(&address);
        self.live.insert(address, Block { size, tag, kind, pages });
        address
    }

    /// The live block holding the `size` bytes at `address`: (its start, its
    /// size, its pool).
    pub(super) fn block_holding(&self, address: usize, size: usize) -> Option<(usize, usize, PoolKind)> {
        let (&start, block) = self.live.range(..=address).next_back()?;
        let end = address.checked_add(size.max(1))?;
        (end <= start + block.size).then_some((start, block.size, block.kind))
    }

    /// Frees a live block after the checks `ExFreePoolWithTag` makes; returns
    /// the violation instead when one applies (and frees nothing then).
    pub(super) fn free(&mut self, address: usize, tag: Option<u32>, irql: u8) -> Result<(), Violation> {
        let Some(block) = self.live.get(&address) else {
            let (params, what) = if self.freed.contains(&address) {
                ([0x07, 0, 0, address as u64], "a block that was already freed")
            } else {
                ([0x42, address as u64, 0, 0], "an address that was never allocated")
            };
            return Err(violation(BugCheck::BAD_POOL_CALLER, params, format!("ExFreePool of {what} ({address:#x})")));
        };
        if irql > block.kind.max_irql() {
            return Err(violation(
                BugCheck::BAD_POOL_CALLER,
                [0x09, u64::from(irql), block.kind as u64, address as u64],
                format!("freeing {:?} pool at IRQL {irql}", block.kind),
            ));
        }
        if let Some(tag) = tag {
            if tag != block.tag {
                return Err(violation(
                    BugCheck::BAD_POOL_CALLER,
                    [0x0A, address as u64, u64::from(block.tag), u64::from(tag)],
                    format!(
                        "ExFreePoolWithTag with tag {:?} on a block tagged {:?}",
                        tag_text(tag),
                        tag_text(block.tag)
                    ),
                ));
            }
        }
        let block = self.live.remove(&address).expect("looked up above");
        self.freed.insert(address);
        self.quarantine.push_back(block.pages.make_inaccessible(FREED_POOL_POISON));
        if self.quarantine.len() > QUARANTINE {
            self.quarantine.pop_front();
        }
        Ok(())
    }

    pub(super) fn usage(&self) -> PoolUsage {
        let mut usage = PoolUsage::default();
        for (&address, block) in &self.live {
            usage.allocations += 1;
            usage.bytes += block.size;
            let entry = usage.by_tag.entry(block.tag.to_le_bytes()).or_default();
            entry.0 += 1;
            entry.1 += block.size;
            usage.blocks.push(PoolBlock {
                address,
                size: block.size,
                tag: block.tag.to_le_bytes(),
                paged: block.kind == PoolKind::Paged,
            });
        }
        usage.blocks.sort_by_key(|block| block.address);
        usage
    }

    /// At unload: 0xC4/0x60 for outstanding allocations (parameters: paged
    /// bytes, non-paged bytes, count), with each block named in the message.
    /// The leaked memory is released so the test process does not grow.
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) {
        if self.live.is_empty() {
            return;
        }
        let usage = self.usage();
        let paged: usize = usage.blocks.iter().filter(|b| b.paged).map(|b| b.size).sum();
        let blocks: Vec<_> = usage
            .blocks
            .iter()
            .map(|b| {
                format!(
                    "{} bytes tagged {:?} ({})",
                    b.size,
                    tag_text(u32::from_le_bytes(b.tag)),
                    if b.paged { "paged" } else { "non-paged" }
                )
            })
            .collect();
        violations.push(violation(
            BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
            [0x60, paged as u64, (usage.bytes - paged) as u64, usage.allocations as u64],
            format!(
                "driver unloading with {} pool allocation(s) outstanding: {}",
                usage.allocations,
                blocks.join(", ")
            ),
        ));
        self.live.clear();
    }
}

fn violation(code: u32, params: [u64; 4], message: std::string::String) -> Violation {
    Violation { bug_check: BugCheck { code, params }, message }
}

/// A tag as text, for messages.
pub(super) fn tag_text(tag: u32) -> std::string::String {
    tag.to_le_bytes().iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' }).collect()
}
