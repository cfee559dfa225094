//! The IOCTL of issue 13's routines: `INIT` data, bus translation, MDLs of
//! fresh pages, register blocks. Each part reports its status; the client
//! knows what each kernel answers.
//!
//! - `INIT` data: DriverEntry sums [`INIT_TABLE`] through its token (the
//!   only access there is); the IOCTL returns the copy. Works under Wine
//!   (which never discards the section) and Windows alike.
//! - `HalTranslateBusAddress` (ISA port 0x300): Wine 8's is a stub returning
//!   FALSE, `STATUS_UNSUCCESSFUL`. The sample never executes a port
//!   instruction, whatever the answer: Wine does not emulate `in`/`out`
//!   (winedevice.exe would die of a privileged-instruction fault), and on
//!   Windows the sample owns no port.
//! - `MmAllocatePagesForMdlEx`: absent from Wine 8, `STATUS_PROCEDURE_NOT_FOUND`.
//! - Register blocks: the driver's own page mapped as I/O space (as
//!   `io_space_ioctl`): under Wine the mapping is NULL,
//!   `STATUS_INSUFFICIENT_RESOURCES`.

use core::sync::atomic::{AtomicU32, Ordering};

use wdm_mem::{
    NtResult, NtStatus,
    address::physical_address,
    bus::{BusSpace, InterfaceType, translate_bus_address},
    init::with_init_token,
    init_static,
    io_space::{CacheType, IoSpace},
    mdl::{PagePriority, PageRequest, PagesMdl},
    memory::PhysicalAddress,
    pool::{PoolBuffer, PoolType},
    pool_tag,
};

use crate::{
    irp::DeviceControl,
    protocol::{INIT_TABLE, IO_SPACE_PAGE, RoutinesReply, io_space_word},
};

init_static! {
    /// Discarded by the loader once DriverEntry returns.
    static BOOT_TABLE: [u32; 8] = INIT_TABLE;
}

/// What DriverEntry read from [`BOOT_TABLE`] (a copy: resident).
static INIT_SUM: AtomicU32 = AtomicU32::new(0);

/// Reads the `INIT` table. Called from DriverEntry.
///
/// # Safety
/// Called from DriverEntry, before it returns.
pub unsafe fn read_init_data() {
    // `black_box`: the optimiser would fold the sum of a table it sees is
    // never written, and drop the table (and the INIT section) from the image.
    // SAFETY: the caller is DriverEntry (contract).
    let sum = unsafe { with_init_token(|token| core::hint::black_box(BOOT_TABLE.get(token)).iter().sum()) };
    INIT_SUM.store(sum, Ordering::Relaxed);
}

fn raw(result: NtResult<()>) -> i32 {
    result.err().unwrap_or(NtStatus::SUCCESS).to_raw()
}

/// Two pages, mapped, written and read back; the bytes the MDL described.
fn pages(len: &mut u32) -> NtResult<()> {
    let mut pages = PagesMdl::allocate(&PageRequest::new(2 * 4096))?;
    *len = u32::try_from(pages.len()).map_err(|_| NtStatus::INTEGER_OVERFLOW)?;
    let mut mapping = pages.map(PagePriority::Normal)?;
    mapping.fill(0x6B);
    if mapping.iter().any(|&b| b != 0x6B) {
        return Err(NtStatus::DATA_ERROR);
    }
    Ok(())
}

/// Four words of the driver's own page through `READ_REGISTER_BUFFER_ULONG`.
fn register_block(matched: &mut u32) -> NtResult<()> {
    let mut page = PoolBuffer::new(IO_SPACE_PAGE as usize, 0, pool_tag!(b"WmsR"), PoolType::NonPagedNx)?;
    for (offset, word) in page.chunks_exact_mut(4).enumerate() {
        word.copy_from_slice(&io_space_word(offset as u64 * 4).to_le_bytes());
    }
    let physical = physical_address(page.as_ptr())?.ok_or(NtStatus::UNSUCCESSFUL)?;
    let registers = IoSpace::<0>::map(physical, IO_SPACE_PAGE as usize, CacheType::Cached)?;
    let mut words = [0u32; 4];
    registers.try_read_buffer32(0x10, &mut words)?;
    *matched = u32::from(words == [0x10, 0x14, 0x18, 0x1C].map(io_space_word));
    Ok(())
}

/// IOCTL_ROUTINES_STATUS.
pub fn status_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let mut reply = RoutinesReply { init_sum: INIT_SUM.load(Ordering::Relaxed), ..Default::default() };
    // Translated or not, no port is touched (see the module's docs).
    reply.bus_status =
        raw(translate_bus_address(InterfaceType::ISA, 0, BusSpace::Port, PhysicalAddress::new(0x300)).map(drop));
    reply.pages_status = raw(pages(&mut reply.pages_len));
    reply.register_buffer_status = raw(register_block(&mut reply.register_words_match));
    request.reply(&reply)
}
