//! The model's verifier catches each contract violation and names it with the
//! bug check Windows would raise. These tests call the raw kernel routines of
//! `wdm_mem::sys` on purpose: the safe API does not let a driver make these
//! mistakes.

use std::thread;

use wdm_mem::{
    Irql, NtStatus,
    model::{BugCheck, Fault, Kernel},
    pool::{PoolBuffer, PoolType},
    pool_tag,
    sys::{self, _POOL_TYPE},
};

const C4: u32 = BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION;
const C2: u32 = BugCheck::BAD_POOL_CALLER;
const TAG: u32 = u32::from_le_bytes(*b"Test");

fn raw_allocate(pool_type: sys::POOL_TYPE, size: u64) -> sys::PVOID {
    // SAFETY: the model checks every argument; misuse becomes a violation.
    unsafe { sys::ExAllocatePoolWithTag(pool_type, size, TAG) }
}

#[test]
fn a_leaked_allocation_is_0xc4_0x60_at_unload() {
    let kernel = Kernel::new();
    let buffer = PoolBuffer::new(100, 0, pool_tag!(b"Leak"), PoolType::Paged).unwrap();
    std::mem::forget(buffer);
    let report = kernel.finish();
    let leak = report.find(C4, 0x60).expect("the leak is reported");
    assert_eq!(leak.bug_check.params, [0x60, 100, 0, 1], "paged bytes, non-paged bytes, count");
    assert!(leak.message.contains("\"Leak\""), "{}", leak.message);
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn a_free_with_the_wrong_tag_is_0xc2_0x0a() {
    let kernel = Kernel::new();
    let block = raw_allocate(_POOL_TYPE::NonPagedPoolNx, 32);
    let wrong = u32::from_le_bytes(*b"Oops");
    // SAFETY: a live block, freed with the wrong tag on purpose.
    unsafe { sys::ExFreePoolWithTag(block, wrong) };
    assert_eq!(kernel.violations()[0].bug_check.params, [0x0A, block as u64, u64::from(TAG), u64::from(wrong)]);
    // SAFETY: the block is still live (the bad free was refused); right tag now.
    unsafe { sys::ExFreePoolWithTag(block, TAG) };
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{report}");
    assert!(report.find(C2, 0x0A).is_some());
}

#[test]
fn a_paged_allocation_at_dispatch_level_is_0xc4_0x01() {
    let kernel = Kernel::new();
    kernel.set_irql(Irql::DISPATCH);
    let block = raw_allocate(_POOL_TYPE::PagedPool, 64);
    assert!(block.is_null());
    kernel.set_irql(Irql::PASSIVE);
    let report = kernel.finish();
    let violation = report.find(C4, 0x01).expect("reported");
    assert_eq!(violation.bug_check.params[1], 2, "parameter 2 is the IRQL");
    assert_eq!(violation.bug_check.params[3], 64, "parameter 4 is the size");
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn non_paged_allocation_above_dispatch_level_is_0xc4_0x02() {
    let kernel = Kernel::new();
    kernel.at_irql(Irql::new(5).unwrap(), || assert!(raw_allocate(_POOL_TYPE::NonPagedPoolNx, 8).is_null()));
    assert!(kernel.finish().find(C4, 0x02).is_some());
}

#[test]
fn double_free_and_foreign_free_are_0xc2_0x07_and_0x42() {
    let kernel = Kernel::new();
    let block = raw_allocate(_POOL_TYPE::NonPagedPoolNx, 16);
    // SAFETY: the model records the misuse instead of corrupting anything.
    unsafe {
        sys::ExFreePoolWithTag(block, TAG);
        sys::ExFreePoolWithTag(block, TAG);
        sys::ExFreePool(0x1000 as sys::PVOID);
    }
    let report = kernel.finish();
    assert_eq!(report.find(C2, 0x07).unwrap().bug_check.params[3], block as u64);
    assert_eq!(report.find(C2, 0x42).unwrap().bug_check.params[1], 0x1000);
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn zero_sizes_and_zero_tags_are_bad_pool_calls() {
    let kernel = Kernel::new();
    assert!(raw_allocate(_POOL_TYPE::NonPagedPoolNx, 0).is_null());
    // SAFETY: as above.
    assert!(unsafe { sys::ExAllocatePoolWithTag(_POOL_TYPE::NonPagedPoolNx, 8, 0) }.is_null());
    let report = kernel.finish();
    assert!(report.find(C2, 0x00).is_some(), "{report}");
    assert!(report.find(C2, 0x9B).is_some(), "{report}");
}

#[test]
fn freeing_paged_pool_at_dispatch_level_is_0xc2_0x09_and_the_block_stays() {
    let kernel = Kernel::new();
    let block = raw_allocate(_POOL_TYPE::PagedPool, 16);
    // SAFETY: misuse on purpose, recorded by the model.
    kernel.at_irql(Irql::DISPATCH, || unsafe { sys::ExFreePoolWithTag(block, TAG) });
    assert_eq!(kernel.pool_usage().allocations, 1);
    // SAFETY: the block is still live.
    unsafe { sys::ExFreePoolWithTag(block, TAG) };
    assert!(kernel.finish().find(C2, 0x09).is_some());
}

#[test]
fn irql_raise_and_lower_in_the_wrong_direction_are_0xc4_0x30_and_0x31() {
    let kernel = Kernel::new();
    kernel.set_irql(Irql::DISPATCH);
    // SAFETY: misuse on purpose, recorded by the model.
    unsafe {
        sys::KfRaiseIrql(0);
        sys::KeLowerIrql(15);
    }
    assert_eq!(Irql::current(), Irql::DISPATCH, "neither call changed the IRQL");
    kernel.set_irql(Irql::PASSIVE);
    let report = kernel.finish();
    assert_eq!(report.find(C4, 0x30).unwrap().bug_check.params, [0x30, 2, 0, 0]);
    assert_eq!(report.find(C4, 0x31).unwrap().bug_check.params, [0x31, 2, 15, 0]);
}

#[test]
fn a_routine_above_its_maximum_irql_is_a_ddi_compliance_violation() {
    let kernel = Kernel::new();
    let name: Vec<u16> = "ExAllocatePool2".encode_utf16().collect();
    let mut string = sys::UNICODE_STRING { Length: 30, MaximumLength: 30, Buffer: name.as_ptr().cast_mut() };
    // SAFETY: a valid counted string; the IRQL is wrong on purpose.
    let address = kernel.at_irql(Irql::DISPATCH, || unsafe { sys::MmGetSystemRoutineAddress(&mut string) });
    assert!(address.is_null());
    let report = kernel.finish();
    let violation = &report.violations[0];
    assert_eq!(violation.bug_check.code, C4);
    assert_eq!(violation.bug_check.params[1..3], [2, 0], "current and maximum IRQL");
    assert!(violation.message.contains("MmGetSystemRoutineAddress"));
}

#[test]
#[should_panic(expected = "0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION (0x60")]
fn dropping_a_kernel_that_is_not_clean_fails_the_test() {
    let _kernel = Kernel::new();
    std::mem::forget(PoolBuffer::new(8, 0, pool_tag!(b"Drop"), PoolType::NonPagedNx).unwrap());
}

#[test]
fn kernels_of_different_tests_are_isolated() {
    let kernel = Kernel::new();
    let _mine = PoolBuffer::new(10, 0, pool_tag!(b"Mine"), PoolType::NonPagedNx).unwrap();
    let other = thread::spawn(|| {
        let kernel = Kernel::new();
        let usage = kernel.pool_usage();
        kernel.assert_clean();
        usage.allocations
    });
    assert_eq!(other.join().unwrap(), 0, "another kernel does not see this one's pool");
    assert_eq!(kernel.pool_usage().by_tag[b"Mine"], (1, 10));
}

#[test]
fn the_nth_fallible_call_fails_once() {
    let kernel = Kernel::new();
    kernel.inject(Fault::nth(2));
    let tag = pool_tag!(b"Nth ");
    let first = PoolBuffer::new(8, 0, tag, PoolType::NonPagedNx);
    let second = PoolBuffer::new(8, 0, tag, PoolType::NonPagedNx);
    let third = PoolBuffer::new(8, 0, tag, PoolType::NonPagedNx);
    assert!(first.is_ok() && third.is_ok());
    assert_eq!(second.unwrap_err(), NtStatus::INSUFFICIENT_RESOURCES);
    assert_eq!(kernel.fallible_calls(), 3);
    drop((first, third));
    kernel.assert_clean();
}

#[test]
fn a_filter_fails_every_matching_call() {
    let kernel = Kernel::new();
    let victim = pool_tag!(b"Vict");
    kernel.inject(Fault::matching(move |call| call.tag == Some(victim.to_u32()) && call.size > 16));
    assert!(PoolBuffer::new(16, 0, victim, PoolType::Paged).is_ok());
    for _ in 0..3 {
        assert_eq!(PoolBuffer::new(17, 0, victim, PoolType::Paged).unwrap_err(), NtStatus::INSUFFICIENT_RESOURCES);
    }
    assert!(PoolBuffer::new(64, 0, pool_tag!(b"Othr"), PoolType::Paged).is_ok());
    let routines: Vec<_> = kernel.call_log().iter().map(|call| call.routine).collect();
    assert_eq!(routines, ["ExAllocatePool2"; 5]);
    kernel.assert_clean();
}

#[test]
fn threads_that_enter_a_kernel_share_it() {
    let kernel = Kernel::new();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let handle = kernel.handle();
            thread::spawn(move || {
                let _entered = handle.enter();
                for size in 1..50 {
                    let buffer = PoolBuffer::new(size, 32, pool_tag!(b"Thrd"), PoolType::NonPagedNx).unwrap();
                    assert_eq!(buffer.as_ptr() as usize % 32, 0);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(kernel.fallible_calls(), 4 * 49);
    kernel.assert_clean();
}
