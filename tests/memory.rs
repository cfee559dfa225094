//! Non-cached and contiguous buffers against the kernel model: zeroed, with
//! simulated physical addresses that honour the requested limits, clean
//! errors on bad input, IRQL checks, several threads, and the verifier's
//! leak and bad-free reports.

mod common;

use std::{collections::BTreeSet, sync::Barrier, thread};

#[cfg(target_os = "linux")]
use common::read_faults;

use wdm_mem::{
    Irql, NtStatus,
    memory::{CacheType, ContiguousBuffer, NonCachedBuffer, PhysicalAddress, PhysicalLimits},
    model::{BugCheck, Fault, Kernel, MEMORY_BAD_FREE, MEMORY_LEAKED, PHYSICAL_MEMORY},
    sys,
};

const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;
const PAGE: u64 = 4096;

#[test]
fn a_non_cached_buffer_is_zeroed_and_resident_page_by_page() {
    let kernel = Kernel::new();
    let mut buffer = NonCachedBuffer::new(3 * PAGE as usize - 100).unwrap();
    assert_eq!(buffer.len(), 3 * PAGE as usize - 100);
    assert!(buffer.iter().all(|&byte| byte == 0), "zeroed although the kernel does not zero it");
    assert_eq!(buffer.as_ptr() as u64 % PAGE, 0, "whole pages");
    buffer.fill(0x5A);
    let pages: Vec<PhysicalAddress> =
        (0..3).map(|page| buffer.physical_address(page * PAGE as usize).unwrap()).collect();
    for address in &pages {
        assert!(PHYSICAL_MEMORY.contains(&address.get()) && address.get() % PAGE == 0, "{address:?}");
    }
    assert_ne!(pages[1].get(), pages[0].get() + PAGE, "non-cached pages are not contiguous in the model");
    let inside = buffer.physical_address(PAGE as usize + 10).unwrap();
    assert_eq!(inside.get(), pages[1].get() + 10);
    assert_eq!(buffer.physical_address(buffer.len()), None);
    drop(buffer);
    kernel.assert_clean();
}

#[test]
fn non_cached_memory_is_refused_cleanly() {
    let kernel = Kernel::new();
    assert_eq!(NonCachedBuffer::new(0).unwrap_err(), NtStatus::INVALID_PARAMETER);
    kernel.at_irql(Irql::DISPATCH, || {
        assert_eq!(NonCachedBuffer::new(16).unwrap_err(), NtStatus::INVALID_LEVEL);
    });
    kernel.inject(Fault::routine("MmAllocateNonCachedMemory").times(1));
    assert_eq!(NonCachedBuffer::new(16).unwrap_err(), NtStatus::INSUFFICIENT_RESOURCES);
    assert!(NonCachedBuffer::new(16).is_ok());
    kernel.assert_clean();
}

#[test]
fn a_contiguous_buffer_honours_its_limits() {
    let kernel = Kernel::new();
    let limits = PhysicalLimits {
        lowest: PhysicalAddress::new(0x1_0000_0000),
        highest: PhysicalAddress::new(0x1_7FFF_FFFF),
        boundary: 0x4000,
    };
    let mut buffers = Vec::new();
    for len in [PAGE as usize, 100, 3 * PAGE as usize, 2 * PAGE as usize + 1] {
        let buffer = ContiguousBuffer::new(len, limits, CacheType::WriteCombined).unwrap();
        let start = buffer.physical_address().get();
        let end = start + len as u64 - 1;
        assert!(start >= 0x1_0000_0000 && end <= 0x1_7FFF_FFFF, "{start:#x}..={end:#x}");
        assert_eq!(start / 0x4000, end / 0x4000, "does not cross 16 KiB: {start:#x}..={end:#x}");
        assert!(buffer.iter().all(|&byte| byte == 0));
        assert_eq!(buffer.cache_type(), CacheType::WriteCombined);
        // SAFETY: inside the resident buffer.
        let last = unsafe { PhysicalAddress::of(buffer.as_ptr().add(len - 1)) };
        assert_eq!(last.get(), end, "physically contiguous");
        buffers.push(buffer);
    }
    let starts: BTreeSet<u64> = buffers.iter().map(|b| b.physical_address().get()).collect();
    assert_eq!(starts.len(), buffers.len(), "distinct ranges");
    drop(buffers);
    kernel.assert_clean();
}

#[test]
fn contiguous_limits_that_cannot_be_met_are_clean_errors() {
    let kernel = Kernel::new();
    let page = PAGE as usize;
    let at = |lowest: u64, highest: u64, boundary: u64| PhysicalLimits {
        lowest: PhysicalAddress::new(lowest),
        highest: PhysicalAddress::new(highest),
        boundary,
    };
    let impossible = [
        (page, at(0x20_0000, 0x10_0000, 0)),              // lowest above highest
        (2 * page, at(0x10_0000, 0x10_0FFF, 0)),          // a one-page window for two pages
        (2 * page, PhysicalLimits::ANY.boundary(0x1000)), // a boundary smaller than the buffer
        (page, PhysicalLimits::ANY.boundary(0x3000)),     // not a power of two
        (page, PhysicalLimits::ANY.boundary(0x800)),      // smaller than a page
    ];
    for (len, limits) in impossible {
        assert_eq!(
            ContiguousBuffer::new(len, limits, CacheType::Cached).unwrap_err(),
            NtStatus::INVALID_PARAMETER,
            "{len} bytes within {limits:?}"
        );
    }
    assert_eq!(
        ContiguousBuffer::new(0, PhysicalLimits::ANY, CacheType::Cached).unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    // Possible limits, but the one page they allow is taken.
    let window = at(0x10_0000, 0x10_0FFF, 0);
    let first = ContiguousBuffer::new(page, window, CacheType::Cached).unwrap();
    assert_eq!(first.physical_address(), PhysicalAddress::new(0x10_0000));
    assert_eq!(ContiguousBuffer::new(page, window, CacheType::Cached).unwrap_err(), NtStatus::INSUFFICIENT_RESOURCES);
    // Below physical memory altogether.
    assert_eq!(
        ContiguousBuffer::new(page, PhysicalLimits::below(PhysicalAddress::new(0xF_FFFF)), CacheType::Cached)
            .unwrap_err(),
        NtStatus::INSUFFICIENT_RESOURCES
    );
    kernel.inject(Fault::routine("MmAllocateContiguousMemorySpecifyCache").times(1));
    assert_eq!(
        ContiguousBuffer::new(page, PhysicalLimits::ANY, CacheType::Cached).unwrap_err(),
        NtStatus::INSUFFICIENT_RESOURCES
    );
    drop(first);
    kernel.assert_clean();
}

#[test]
fn contiguous_memory_works_up_to_dispatch_level() {
    let kernel = Kernel::new();
    let buffer =
        kernel.at_irql(Irql::DISPATCH, || ContiguousBuffer::new(64, PhysicalLimits::ANY, CacheType::NonCached));
    let buffer = buffer.unwrap();
    kernel.at_irql(Irql::HIGH, || {
        assert_eq!(
            ContiguousBuffer::new(64, PhysicalLimits::ANY, CacheType::NonCached).unwrap_err(),
            NtStatus::INVALID_LEVEL
        );
        assert_ne!(buffer.physical_address().get(), 0, "readable at any IRQL");
    });
    kernel.at_irql(Irql::DISPATCH, || drop(buffer));
    kernel.assert_clean();
}

#[test]
fn several_threads_get_distinct_physical_ranges() {
    let kernel = Kernel::new();
    let all_allocated = Barrier::new(4);
    let starts: Vec<u64> = thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let handle = kernel.handle();
                let all_allocated = &all_allocated;
                scope.spawn(move || {
                    let _kernel = handle.enter();
                    let buffers: Vec<_> = (0..8)
                        .map(|_| {
                            ContiguousBuffer::new(2 * PAGE as usize, PhysicalLimits::ANY, CacheType::Cached).unwrap()
                        })
                        .collect();
                    let noncached = NonCachedBuffer::new(PAGE as usize).unwrap();
                    assert!(noncached.iter().all(|&byte| byte == 0));
                    all_allocated.wait(); // every buffer of every thread is alive here
                    buffers.iter().map(|b| b.physical_address().get()).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|worker| worker.join().unwrap()).collect()
    });
    let mut sorted = starts.clone();
    sorted.sort_unstable();
    assert!(sorted.windows(2).all(|pair| pair[1] >= pair[0] + 2 * PAGE), "no two buffers overlap: {sorted:x?}");
    kernel.assert_clean();
}

#[test]
fn buffers_leaked_or_dropped_above_their_irql_are_reported_at_unload() {
    let kernel = Kernel::new();
    std::mem::forget(NonCachedBuffer::new(100).unwrap());
    let contiguous = ContiguousBuffer::new(5000, PhysicalLimits::ANY, CacheType::Cached).unwrap();
    kernel.at_irql(Irql::HIGH, || drop(contiguous)); // leaked, not freed
    let report = kernel.finish();
    let leak = report.find(C4, MEMORY_LEAKED).expect("reported");
    assert_eq!(leak.bug_check.params, [MEMORY_LEAKED, 100, 5000, 2], "non-cached bytes, contiguous bytes, count");
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn raw_bad_frees_are_reported() {
    let kernel = Kernel::new();
    // SAFETY: raw calls on purpose; the model checks them.
    unsafe {
        let block = sys::MmAllocateNonCachedMemory(100);
        sys::MmFreeNonCachedMemory(block, 4096);
        sys::MmFreeContiguousMemory(block);
        sys::MmFreeNonCachedMemory(block, 100);
        sys::MmFreeNonCachedMemory(block, 100);
    }
    let report = kernel.finish();
    let params: Vec<_> = report
        .violations
        .iter()
        .map(|v| (v.bug_check.params[0], v.bug_check.params[2], v.bug_check.params[3]))
        .collect();
    assert_eq!(
        params,
        [
            (MEMORY_BAD_FREE, 4096, 100), // the wrong size
            (MEMORY_BAD_FREE, 0, 100),    // the wrong routine
            (MEMORY_BAD_FREE, 100, 0),    // freed twice
        ],
        "{report}"
    );
}

#[test]
fn physical_addresses_and_cache_types_convert_both_ways() {
    let address = PhysicalAddress::new(0xFEE0_0000);
    assert_eq!(address.to_raw().map(PhysicalAddress::from_raw), Ok(address));
    assert_eq!(PhysicalAddress::MAX.to_raw().map(PhysicalAddress::from_raw), Ok(PhysicalAddress::MAX));
    for unnameable in [1 << 63, u64::MAX] {
        let raw = PhysicalAddress::new(unnameable).to_raw().map(PhysicalAddress::from_raw);
        assert_eq!(raw, Err(NtStatus::INVALID_PARAMETER), "{unnameable:#x}: an error, not another address");
    }
    assert_eq!(address.checked_add(0x10), Some(PhysicalAddress::new(0xFEE0_0010)));
    assert_eq!(PhysicalAddress::MAX.checked_add(1), Some(PhysicalAddress::new(1 << 63)));
    assert_eq!(PhysicalAddress::new(u64::MAX).checked_add(1), None);
    assert_eq!(format!("{address:?}"), "PhysicalAddress(0xfee00000)");
    for cache in [
        CacheType::NonCached,
        CacheType::Cached,
        CacheType::WriteCombined,
        CacheType::HardwareCoherentCached,
        CacheType::NonCachedUnordered,
        CacheType::UswcCached,
    ] {
        assert_eq!(CacheType::from_raw(cache.to_raw()), Ok(cache));
    }
    for raw in [sys::_MEMORY_CACHING_TYPE::MmNotMapped, sys::_MEMORY_CACHING_TYPE::MmMaximumCacheType] {
        assert_eq!(CacheType::from_raw(raw), Err(NtStatus::INVALID_PARAMETER));
    }
}

#[test]
fn usize_max_class_lengths_are_clean_errors() {
    // PhysicalLimits::check rounded the length up to pages unchecked: a
    // panic in a debug build, a wrapped size passed to the kernel in release.
    let kernel = Kernel::new();
    for len in [usize::MAX, usize::MAX - 4094, usize::MAX - 4095 + 1] {
        for limits in [PhysicalLimits::ANY, PhysicalLimits::below(PhysicalAddress::new(0xFFFF_FFFF)).boundary(1 << 63)]
        {
            let buffer = ContiguousBuffer::new(len, limits, CacheType::Cached);
            assert_eq!(buffer.map(drop), Err(NtStatus::INVALID_PARAMETER), "{len:#x} {limits:?}");
        }
        assert_eq!(NonCachedBuffer::new(len).map(drop), Err(NtStatus::INVALID_PARAMETER), "{len:#x}");
    }
    let too_high =
        PhysicalLimits { lowest: PhysicalAddress::new(1 << 63), highest: PhysicalAddress::new(u64::MAX), boundary: 0 };
    assert_eq!(ContiguousBuffer::new(4096, too_high, CacheType::Cached).map(drop), Err(NtStatus::INVALID_PARAMETER));
    let huge_boundary = PhysicalLimits::ANY.boundary(1 << 63);
    assert_eq!(
        ContiguousBuffer::new(4096, huge_boundary, CacheType::Cached).map(drop),
        Err(NtStatus::INVALID_PARAMETER)
    );
    // Whole pages that fit a usize are the kernel's to refuse.
    assert_eq!(NonCachedBuffer::new(usize::MAX - 4095).map(drop), Err(NtStatus::INSUFFICIENT_RESOURCES));
    let buffer = NonCachedBuffer::new(16).unwrap();
    assert_eq!(buffer.physical_address(usize::MAX), None);
    drop(buffer);
    let calls: Vec<_> = kernel.call_log().into_iter().map(|call| call.routine).collect();
    assert!(!calls.contains(&"MmAllocateContiguousMemorySpecifyCache"), "nothing reached the kernel: {calls:?}");
    kernel.assert_clean();
}

#[cfg(target_os = "linux")]
#[test]
fn freed_non_cached_and_contiguous_memory_is_inaccessible_at_once() {
    // A use after free must show at once, not only when the address is
    // reused: the model poisons the pages and makes them inaccessible.
    let kernel = Kernel::new();
    let non_cached = NonCachedBuffer::new(2 * PAGE as usize).unwrap();
    let contiguous = ContiguousBuffer::new(100, PhysicalLimits::ANY, CacheType::Cached).unwrap();
    let addresses =
        [non_cached.as_ptr() as usize, non_cached.as_ptr() as usize + PAGE as usize + 7, contiguous.as_ptr() as usize];
    for &address in &addresses {
        assert!(!read_faults(address), "live memory reads");
        assert_eq!(wdm_mem::address::is_address_valid(address as *const u8), Ok(true));
    }
    drop((non_cached, contiguous));
    for &address in &addresses {
        assert!(read_faults(address), "{address:#x}: a read after the free faults");
        assert_eq!(wdm_mem::address::is_address_valid(address as *const u8), Ok(false), "{address:#x}");
    }
    // SAFETY: refused by the probe: the memory is gone (misuse on purpose).
    let described = unsafe { wdm_mem::mdl::Mdl::for_kernel_address(addresses[1], 16) }.unwrap();
    let probed = described.lock::<wdm_mem::mdl::ReadAccess>(wdm_mem::mdl::AccessMode::Kernel);
    assert_eq!(probed.map(drop), Err(NtStatus::ACCESS_VIOLATION), "a probe of freed memory raises");
    let again = NonCachedBuffer::new(2 * PAGE as usize).unwrap();
    assert!(!addresses.contains(&(again.as_ptr() as usize)), "freed addresses are not reused");
    drop(again);
    kernel.assert_clean();
}
