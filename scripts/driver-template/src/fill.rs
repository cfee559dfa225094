//! IOCTL_FILL: a pool buffer filled and summed, its bookkeeping in an entry
//! of a lookaside list. Plain functions of wdm-mem's safe types: the host
//! unit tests below run them against wdm-mem's kernel model.

use core::pin::Pin;

use wdm_mem::{
    NtResult, NtStatus,
    lookaside::NPagedLookasideList,
    plain::PlainData,
    pool::{PoolBuffer, PoolTag, PoolType},
    pool_tag,
    request::DeviceControl,
};

use crate::protocol::{FillReply, FillRequest, MAX_LEN};

/// The pool tag of this driver's allocations.
pub const TAG: PoolTag = pool_tag!(b"DrvF");

// SAFETY: repr(C), two u32, no padding; every bit pattern is valid.
unsafe impl PlainData for FillRequest {}
// SAFETY: repr(C), two u64, no padding; every bit pattern is valid.
unsafe impl PlainData for FillReply {}

/// One request's bookkeeping, in a lookaside entry.
pub struct Record {
    /// The request's checksum.
    pub checksum: u64,
}

/// The IOCTL handler: the status and the number of bytes written back.
pub fn fill_ioctl(list: Pin<&NPagedLookasideList<Record>>, served: u64, request: &DeviceControl) -> (NtStatus, usize) {
    let Some(input) = request.input::<FillRequest>() else {
        return (NtStatus::INVALID_PARAMETER, 0);
    };
    match fill(list, served, &input) {
        Ok(reply) => request.reply(&reply),
        Err(status) => (status, 0),
    }
}

/// Fills `len` bytes of non-paged pool with `byte` and sums them.
pub fn fill(list: Pin<&NPagedLookasideList<Record>>, served: u64, request: &FillRequest) -> NtResult<FillReply> {
    if request.len == 0 || request.len > MAX_LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let mut buffer = PoolBuffer::new(request.len as usize, 1, TAG, PoolType::NonPagedNx)?;
    buffer.fill(request.byte as u8);
    let record = list.allocate(Record { checksum: buffer.iter().map(|&b| u64::from(b)).sum() })?;
    Ok(FillReply { checksum: record.checksum, served })
}

#[cfg(test)]
mod tests {
    use core::pin::pin;

    use wdm_mem::{
        lookaside::LookasideConfig,
        model::{DeviceControlIrp, Kernel},
        request,
    };

    use super::*;
    use crate::protocol::{IOCTL_FILL, expected_checksum};

    fn bytes_of<T: PlainData>(value: &T) -> &[u8] {
        // SAFETY: plain data has no padding: all its bytes are initialised.
        unsafe { core::slice::from_raw_parts((value as *const T).cast(), size_of::<T>()) }
    }

    #[test]
    fn a_fill_request_round_trips_through_a_simulated_irp() {
        let kernel = Kernel::new();
        let list = pin!(NPagedLookasideList::<Record>::new());
        list.as_ref().init(LookasideConfig::new(TAG)).unwrap();
        let input = FillRequest { len: 4096, byte: 0x5A };
        let irp = DeviceControlIrp::buffered(IOCTL_FILL, bytes_of(&input), size_of::<FillReply>());
        // SAFETY: a valid simulated IRP, completed once, below.
        let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
        let (status, written) = fill_ioctl(list.as_ref(), 1, &request);
        // SAFETY: the request is not used after its completion.
        unsafe { request::complete(irp.as_ptr(), status, written) };
        assert_eq!(irp.completion(), Some((NtStatus::SUCCESS, size_of::<FillReply>())));
        let reply = FillReply { checksum: expected_checksum(&input), served: 1 };
        assert_eq!(irp.output(), bytes_of(&reply));
        // The entry went back to the list; deleting the list frees it.
        // SAFETY: this thread alone uses the list, and the kernel model
        // counts entries (a delete with one out would be refused).
        unsafe { list.as_ref().delete() }.unwrap();
        assert_eq!(kernel.pool_usage().allocations, 0, "the buffer, the entry and the list were freed");
        kernel.assert_clean();
    }

    #[test]
    fn bad_requests_are_refused_without_allocating() {
        let kernel = Kernel::new();
        let list = pin!(NPagedLookasideList::<Record>::new());
        list.as_ref().init(LookasideConfig::new(TAG)).unwrap();
        for len in [0, MAX_LEN + 1] {
            assert_eq!(fill(list.as_ref(), 0, &FillRequest { len, byte: 1 }), Err(NtStatus::INVALID_PARAMETER));
        }
        let irp = DeviceControlIrp::buffered(IOCTL_FILL, &[1, 2, 3], 16);
        // SAFETY: a valid simulated IRP, never completed (nothing checks).
        let request = unsafe { DeviceControl::from_irp(irp.as_ptr()) };
        assert_eq!(fill_ioctl(list.as_ref(), 0, &request), (NtStatus::INVALID_PARAMETER, 0), "a short input");
        // SAFETY: as in the test above.
        unsafe { list.as_ref().delete() }.unwrap();
        assert_eq!(kernel.pool_usage().allocations, 0);
        kernel.assert_clean();
    }
}
