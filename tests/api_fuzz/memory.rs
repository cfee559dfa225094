//! The harness's resident and device memory: pool of every type (and MDLs
//! of pool buffers mapped within a step), non-cached and contiguous
//! memory, I/O space of the model device, and address queries of any of
//! them or of anything at all.

use wdm_mem::{
    address::{is_address_valid, physical_address},
    io_space::IoSpace,
    mdl::NonPagedMdl,
    memory::{ContiguousBuffer, NonCachedBuffer, PhysicalAddress, PhysicalLimits},
    pool::{PoolBox, PoolBuffer},
};

use super::{Context, DEVICE_BASE, Op, PAGE, TAG, World, cache_type, full, pick, pool_type, priority};

/// Non-cached or contiguous memory (resident: touched at any IRQL).
pub(super) enum Memory {
    NonCached(NonCachedBuffer),
    Contiguous(ContiguousBuffer),
}

impl Memory {
    pub(super) fn bytes(&mut self) -> &mut [u8] {
        match self {
            Memory::NonCached(buffer) => buffer,
            Memory::Contiguous(buffer) => buffer,
        }
    }
}

/// A pool block: a buffer or a box.
pub(super) enum Pool {
    Buffer(PoolBuffer),
    Boxed(PoolBox<[u64; 8]>),
}

impl Pool {
    pub(super) fn is_paged(&self) -> bool {
        match self {
            Pool::Buffer(buffer) => buffer.pool_type().is_paged(),
            Pool::Boxed(boxed) => boxed.pool_type().is_paged(),
        }
    }
}

impl World<'_> {
    /// A pool, memory or I/O-space operation of [`Op`].
    pub(super) fn memory_op(&mut self, op: &Op, ctx: Context) {
        match *op {
            Op::PoolBuffer { pool, len, align } if !full(&self.pool) => {
                let align = 1usize.checked_shl(align as u32 % 16).unwrap_or(0) + usize::from(align >= 240);
                if let Ok(buffer) = PoolBuffer::new(len.get(), align, TAG, pool_type(pool)) {
                    self.pool.push(Pool::Buffer(buffer));
                }
            }
            Op::PoolBox { pool, value } if !full(&self.pool) => {
                if let Ok(boxed) = PoolBox::new([value; 8], TAG, pool_type(pool)) {
                    self.pool.push(Pool::Boxed(boxed));
                }
            }
            Op::PoolBuffer { .. } | Op::PoolBox { .. } => {}
            Op::TouchPool { index, offset, value } => {
                let Some(i) = pick(&self.pool, index) else { return };
                let allowed = if self.pool[i].is_paged() { ctx.paged_ok } else { ctx.non_paged_ok };
                if !allowed {
                    return; // a bug check by contract: not generated
                }
                match &mut self.pool[i] {
                    Pool::Buffer(buffer) => {
                        let len = buffer.len();
                        if len > 0 {
                            buffer[offset.get() % len] ^= value;
                        }
                    }
                    Pool::Boxed(boxed) => boxed[offset.get() % 8] = boxed[offset.get() % 8].wrapping_add(value as u64),
                }
            }
            Op::FreePool(index) => {
                if let Some(i) = pick(&self.pool, index).filter(|_| ctx.passive) {
                    drop(self.pool.swap_remove(i));
                }
            }
            Op::PoolMdl { index, offset, value } => {
                let Some(i) = pick(&self.pool, index) else { return };
                let Pool::Buffer(buffer) = &mut self.pool[i] else { return };
                if let Ok(mut mdl) = NonPagedMdl::for_pool_buffer(buffer) {
                    if let Ok(mut mapping) = mdl.map(priority(value)) {
                        let _ = mapping.write_bytes(offset.get(), &[value; 3]);
                        let _ = mapping.read::<u16>(offset.get());
                    }
                }
            }
            Op::IoMap { offset, len, cache } if !full(&self.io) => {
                // Mostly page-aligned bases, in the device or just past it.
                let offset = match offset {
                    0..=223 => u64::from(offset % 3) * PAGE as u64,
                    _ => u64::from(offset) * 8,
                };
                let physical = PhysicalAddress::new(DEVICE_BASE + offset);
                if let Ok(io) = IoSpace::map(physical, len.get() % 0x3000, cache_type(cache)) {
                    self.io.push(io);
                }
            }
            Op::IoMap { .. } => {}
            Op::IoAccess { index, offset, width, write, value } => {
                let Some(i) = pick(&self.io, index) else { return };
                let io = &self.io[i];
                let offset = offset.get();
                let _ = match (width % 4, write) {
                    (0, false) => io.try_read8(offset).map(drop),
                    (1, false) => io.try_read16(offset).map(drop),
                    (2, false) => io.try_read32(offset).map(drop),
                    (_, false) => io.try_read64(offset).map(drop),
                    (0, true) => io.try_write8(offset, value as u8),
                    (1, true) => io.try_write16(offset, value as u16),
                    (2, true) => io.try_write32(offset, value as u32),
                    (_, true) => io.try_write64(offset, value),
                };
            }
            Op::IoUnmap(index) => {
                if let Some(i) = pick(&self.io, index).filter(|_| ctx.passive) {
                    drop(self.io.swap_remove(i));
                }
            }
            Op::NonCached { len } if !full(&self.memory) => {
                if let Ok(buffer) = NonCachedBuffer::new(len.get()) {
                    self.memory.push(Memory::NonCached(buffer));
                }
            }
            Op::Contiguous { len, highest, boundary, cache } if !full(&self.memory) => {
                let highest = PhysicalAddress::new(u64::MAX >> (highest % 64));
                let boundary = if boundary < 128 { 0 } else { 1u64 << (boundary % 40) };
                let limits = PhysicalLimits::below(highest).boundary(boundary);
                if let Ok(buffer) = ContiguousBuffer::new(len.get(), limits, cache_type(cache)) {
                    self.memory.push(Memory::Contiguous(buffer));
                }
            }
            Op::NonCached { .. } | Op::Contiguous { .. } => {}
            Op::TouchMemory { index, offset, value } => {
                if let Some(i) = pick(&self.memory, index) {
                    let bytes = self.memory[i].bytes();
                    let len = bytes.len();
                    bytes[offset.get() % len] ^= value;
                }
            }
            Op::FreeMemory(index) => {
                if let Some(i) = pick(&self.memory, index).filter(|_| ctx.passive) {
                    drop(self.memory.swap_remove(i));
                }
            }
            Op::AddressQuery { index, offset, physical } => {
                // Any address: of a live object, near it, or anything at all.
                let base = match index % 4 {
                    0 => pick(&self.memory, index).map(|i| self.memory[i].bytes().as_ptr() as usize),
                    1 => pick(&self.user_buffers, index).map(|i| self.user_buffers[i].0.address),
                    // Dereferencing a paged block is a touch: not above APC_LEVEL.
                    2 if ctx.paged_ok => pick(&self.pool, index).map(|i| match &self.pool[i] {
                        Pool::Buffer(buffer) => buffer.as_ptr() as usize,
                        Pool::Boxed(boxed) => boxed.as_ptr() as usize,
                    }),
                    _ => None,
                };
                let address = base.unwrap_or(0).wrapping_add(offset.get()) as *const u8;
                let _ =
                    if physical { physical_address(address).map(drop) } else { is_address_valid(address).map(drop) };
            }
            _ => unreachable!("not a memory operation"),
        }
    }
}
