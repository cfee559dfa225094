//! The pool types against the kernel model: every test ends verifier-clean.

use std::alloc::{GlobalAlloc, Layout};

use wdm_mem::{
    Irql, NtStatus,
    model::{Fault, Kernel},
    pool::{KernelAllocator, PoolBox, PoolBuffer, PoolTag, PoolType},
    pool_tag,
    sys::_POOL_TYPE,
};

const TAG: PoolTag = pool_tag!(b"Tst1");

#[test]
fn a_pool_box_holds_its_value_and_frees_it_with_its_tag() {
    let kernel = Kernel::new();
    let mut value = PoolBox::new([7u32; 10], TAG, PoolType::Paged).unwrap();
    value[3] = 9;
    assert_eq!(value[..4], [7, 7, 7, 9]);
    assert_eq!((value.tag(), value.pool_type()), (TAG, PoolType::Paged));
    let usage = kernel.pool_usage();
    assert_eq!(usage.by_tag[b"Tst1"], (1, 40));
    assert!(usage.blocks[0].paged);
    drop(value);
    assert_eq!(kernel.pool_usage().allocations, 0);
    kernel.assert_clean();
}

#[test]
fn a_pool_box_runs_the_destructor_of_its_value_once() {
    use std::rc::Rc;
    let kernel = Kernel::new();
    let shared = Rc::new(());
    let boxed = PoolBox::new(Rc::clone(&shared), TAG, PoolType::NonPagedNx).unwrap();
    assert_eq!(Rc::strong_count(&shared), 2);
    drop(boxed);
    assert_eq!(Rc::strong_count(&shared), 1);
    kernel.assert_clean();
}

#[test]
fn every_alignment_is_honoured() {
    #[repr(align(4096))]
    struct Page([u8; 4096]);
    #[repr(align(64))]
    struct Line(u8);

    let kernel = Kernel::new();
    let page = PoolBox::new(Page([1; 4096]), TAG, PoolType::NonPagedNx).unwrap();
    assert_eq!(&*page as *const Page as usize % 4096, 0);
    assert_eq!(page.0[4095], 1);
    let line = PoolBox::new(Line(5), TAG, PoolType::NonPagedNx).unwrap();
    assert_eq!(&*line as *const Line as usize % 64, 0);
    assert_eq!(line.0, 5);
    for shift in 0..=13 {
        let align = 1usize << shift;
        for len in [1, 15, 16, 17, align, 3 * align + 1] {
            let buffer = PoolBuffer::new(len, align, TAG, PoolType::Paged).unwrap();
            assert_eq!(buffer.as_ptr() as usize % align, 0, "len {len} align {align}");
            assert_eq!((buffer.len(), buffer.align()), (len, align));
        }
    }
    drop((page, line));
    kernel.assert_clean();
}

#[test]
fn buffers_are_zeroed_with_or_without_ex_allocate_pool2() {
    for has_pool2 in [true, false] {
        let kernel = Kernel::new();
        if !has_pool2 {
            kernel.remove_export("ExAllocatePool2");
        }
        for (len, align) in [(64, 0), (5000, 128)] {
            let buffer = PoolBuffer::new(len, align, TAG, PoolType::NonPagedNx).unwrap();
            assert!(buffer.iter().all(|&byte| byte == 0), "zeroed (ExAllocatePool2 present: {has_pool2})");
        }
        let expected = if has_pool2 { "ExAllocatePool2" } else { "ExAllocatePoolWithTag" };
        assert!(kernel.call_log().iter().all(|call| call.routine == expected), "{:?}", kernel.call_log());
        kernel.assert_clean();
    }
}

#[test]
fn at_dispatch_level_the_fallback_allocates_and_still_zeroes() {
    // At DISPATCH_LEVEL MmGetSystemRoutineAddress may not be called: the
    // allocation takes the fallback, still zeroed, and nothing is violated.
    let kernel = Kernel::new();
    let buffer = kernel.at_irql(Irql::DISPATCH, || PoolBuffer::new(32, 0, TAG, PoolType::NonPagedNx)).unwrap();
    assert!(buffer.iter().all(|&byte| byte == 0));
    assert_eq!(kernel.call_log()[0].routine, "ExAllocatePoolWithTag");
    drop(buffer);
    kernel.assert_clean();
}

#[test]
fn bad_input_is_an_error_and_allocates_nothing() {
    #[derive(Debug)]
    struct Empty;

    let kernel = Kernel::new();
    let cases = [
        (PoolBuffer::new(0, 0, TAG, PoolType::NonPagedNx).unwrap_err(), NtStatus::INVALID_PARAMETER),
        (PoolBuffer::new(8, 3, TAG, PoolType::NonPagedNx).unwrap_err(), NtStatus::INVALID_PARAMETER),
        (PoolBuffer::new(usize::MAX - 8, 1, TAG, PoolType::NonPagedNx).unwrap_err(), NtStatus::INTEGER_OVERFLOW),
        (
            PoolBuffer::new(isize::MAX as usize - 8, 64, TAG, PoolType::NonPagedNx).unwrap_err(),
            NtStatus::INTEGER_OVERFLOW,
        ),
        (PoolBox::new(Empty, TAG, PoolType::NonPagedNx).unwrap_err(), NtStatus::INVALID_PARAMETER),
    ];
    for (got, expected) in cases {
        assert_eq!(got, expected);
    }
    assert_eq!(kernel.fallible_calls(), 0, "the kernel was never asked");
    kernel.assert_clean();
}

#[test]
fn paged_pool_above_apc_level_is_refused_before_the_kernel_is_called() {
    let kernel = Kernel::new();
    kernel.set_irql(Irql::DISPATCH);
    assert_eq!(PoolBuffer::new(8, 0, TAG, PoolType::Paged).unwrap_err(), NtStatus::INVALID_LEVEL);
    assert_eq!(PoolBox::new(1u8, TAG, PoolType::PagedCacheAligned).unwrap_err(), NtStatus::INVALID_LEVEL);
    let non_paged = PoolBuffer::new(8, 0, TAG, PoolType::NonPagedNx).unwrap();
    drop(non_paged);
    kernel.set_irql(Irql::new(3).unwrap());
    assert_eq!(PoolBuffer::new(8, 0, TAG, PoolType::NonPagedNx).unwrap_err(), NtStatus::INVALID_LEVEL);
    kernel.set_irql(Irql::PASSIVE);
    assert_eq!(kernel.fallible_calls(), 1);
    kernel.assert_clean();
}

#[test]
fn a_paged_block_dropped_at_dispatch_level_is_leaked_not_freed() {
    let kernel = Kernel::new();
    let buffer = PoolBuffer::new(24, 0, TAG, PoolType::Paged).unwrap();
    kernel.at_irql(Irql::DISPATCH, || drop(buffer));
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{report}");
    assert_eq!(report.violations[0].bug_check.params, [0x60, 24, 0, 1], "only the leak, no bad free");
}

#[test]
fn an_exhausted_pool_is_insufficient_resources_and_leaks_nothing() {
    let kernel = Kernel::new();
    kernel.inject(Fault::routine("ExAllocatePool2"));
    assert_eq!(PoolBuffer::new(8, 256, TAG, PoolType::NonPagedNx).unwrap_err(), NtStatus::INSUFFICIENT_RESOURCES);
    assert_eq!(PoolBox::new(3u64, TAG, PoolType::Paged).unwrap_err(), NtStatus::INSUFFICIENT_RESOURCES);
    kernel.assert_clean();
}

#[test]
fn the_global_allocator_honours_layouts_and_frees_with_its_tag() {
    let kernel = Kernel::new();
    let allocator = KernelAllocator::new(pool_tag!(b"Glob"), PoolType::NonPagedNx);
    for align in [1, 8, 16, 32, 64, 4096] {
        let layout = Layout::from_size_align(100, align).unwrap();
        // SAFETY: a non-zero layout; the block is freed with it below.
        unsafe {
            let block = allocator.alloc_zeroed(layout);
            assert!(!block.is_null());
            assert_eq!(block as usize % align, 0);
            assert!(std::slice::from_raw_parts(block, 100).iter().all(|&b| b == 0));
            block.write_bytes(0x3C, 100);
            let grown = allocator.realloc(block, layout, 300);
            assert_eq!(grown as usize % align, 0);
            assert!(std::slice::from_raw_parts(grown, 100).iter().all(|&b| b == 0x3C));
            allocator.dealloc(grown, Layout::from_size_align(300, align).unwrap());
        }
    }
    kernel.set_irql(Irql::DISPATCH);
    let paged = KernelAllocator::new(pool_tag!(b"Glob"), PoolType::Paged);
    // SAFETY: a non-zero layout.
    assert!(unsafe { paged.alloc(Layout::new::<u64>()) }.is_null(), "NULL above the pool's IRQL, no panic");
    kernel.set_irql(Irql::PASSIVE);
    assert_eq!(kernel.pool_usage().allocations, 0);
    kernel.assert_clean();
}

#[test]
fn legacy_pool_types_map_both_ways_and_must_succeed_is_refused() {
    for kind in PoolType::ALL {
        assert_eq!(PoolType::from_legacy(kind.to_legacy()), Ok(kind));
    }
    for refused in
        [_POOL_TYPE::NonPagedPoolMustSucceed, _POOL_TYPE::NonPagedPoolCacheAlignedMustS, _POOL_TYPE::PagedPoolSession]
    {
        assert_eq!(PoolType::from_legacy(refused), Err(NtStatus::INVALID_PARAMETER));
    }
    assert_eq!(PoolType::default(), PoolType::NonPagedNx);
    assert_eq!((PoolType::Paged.max_irql(), PoolType::NonPagedNx.max_irql()), (Irql::APC, Irql::DISPATCH));
}

#[test]
fn every_pool_type_allocates_from_the_matching_pool() {
    let kernel = Kernel::new();
    for kind in PoolType::ALL {
        let buffer = PoolBuffer::new(8, 0, TAG, kind).unwrap();
        assert_eq!(kernel.pool_usage().blocks[0].paged, kind.is_paged(), "{kind:?}");
        drop(buffer);
    }
    kernel.assert_clean();
}
