//! The model's pools: real memory, accounted per tag and per pool, checked
//! like Driver Verifier's special pool checks.

use std::{
    alloc::{Layout, alloc, alloc_zeroed, dealloc},
    collections::{BTreeMap, HashMap, HashSet},
    format,
    vec::Vec,
};

use super::verifier::{BugCheck, Violation};

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

struct Block {
    size: usize,
    tag: u32,
    kind: PoolKind,
    layout: Layout,
}

/// The pools of one session.
#[derive(Default)]
pub(super) struct PoolState {
    live: HashMap<usize, Block>,
    freed: HashSet<usize>,
}

/// x64 pool blocks are 16-byte aligned; page-sized and larger ones start on a
/// page.
fn block_layout(size: usize) -> Option<Layout> {
    let page = crate::sys::PAGE_SIZE as usize;
    let align = if size >= page { page } else { 16 };
    Layout::from_size_align(size, align).ok()
}

impl PoolState {
    /// Allocates a block (the caller has checked IRQL, size and tag).
    pub(super) fn allocate(&mut self, size: usize, tag: u32, kind: PoolKind, zeroed: bool) -> usize {
        let Some(layout) = block_layout(size) else { return 0 };
        // SAFETY: `layout` has a non-zero size (callers refuse size 0).
        let address = unsafe { if zeroed { alloc_zeroed(layout) } else { alloc(layout) } } as usize;
        if address == 0 {
            return 0;
        }
        if !zeroed {
            // Pool contents are whatever was there before: make reliance on
            // zeroes visible.
            // SAFETY: `address` points to `size` bytes just allocated.
            unsafe { std::ptr::write_bytes(address as *mut u8, 0xA5, size) };
        }
        self.freed.remove(&address);
        self.live.insert(address, Block { size, tag, kind, layout });
        address
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
        // SAFETY: `address` was allocated with `block.layout` and not freed.
        unsafe { dealloc(address as *mut u8, block.layout) };
        self.freed.insert(address);
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
        for (address, block) in self.live.drain() {
            // SAFETY: every live block was allocated with its layout.
            unsafe { dealloc(address as *mut u8, block.layout) };
        }
    }
}

fn violation(code: u32, params: [u64; 4], message: std::string::String) -> Violation {
    Violation { bug_check: BugCheck { code, params }, message }
}

/// A tag as text, for messages.
pub(super) fn tag_text(tag: u32) -> std::string::String {
    tag.to_le_bytes().iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' }).collect()
}
