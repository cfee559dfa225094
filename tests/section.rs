//! Sections and views against the kernel model: shared memory, protections,
//! names, files, the statuses Windows returns, and no leak.

use wdm_mem::{
    Irql, NtStatus,
    model::{BugCheck, Fault, Kernel},
    object_name,
    plain::PlainData,
    section::{BackingFile, FileAccess, ReadOnly, ReadWrite, Section, SectionAccess, SectionProtection, WriteCopy},
    sys,
};

const KB64: u64 = 64 * 1024;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Header {
    magic: u32,
    length: u32,
    stamp: u64,
}
// SAFETY: repr(C), no padding (4 + 4 + 8), integers only.
unsafe impl PlainData for Header {}

#[test]
fn two_views_of_one_section_see_the_same_bytes_after_the_handle_is_closed() {
    let kernel = Kernel::new();
    let section = Section::create(2 * KB64, SectionProtection::ReadWrite).unwrap();
    assert_eq!(section.size(), Some(2 * KB64));
    let mut writer = section.map::<ReadWrite>(0, 0).unwrap();
    let reader = section.map::<ReadOnly>(KB64, 100).unwrap();
    section.close().unwrap();
    assert_ne!(writer.user_address(), reader.user_address());
    let header = Header { magic: 0x5744_4D4D, length: 16, stamp: 7 };
    writer.write(KB64 as usize + 8, &header).unwrap();
    assert_eq!(reader.read::<Header>(8).unwrap(), header);
    let mut bytes = [0u8; 4];
    reader.read_bytes(8, &mut bytes).unwrap();
    assert_eq!(bytes, 0x5744_4D4Du32.to_le_bytes());
    assert_eq!((writer.len(), reader.len(), reader.mapped_size()), (2 * KB64 as usize, 100, 4096));
    drop((writer, reader));
    kernel.assert_clean();
}

#[test]
fn a_write_copy_view_keeps_its_writes_to_itself() {
    let kernel = Kernel::new();
    let section = Section::create(8192, SectionProtection::ReadWrite).unwrap();
    let mut shared = section.map::<ReadWrite>(0, 0).unwrap();
    shared.write(0, &1u64).unwrap();
    let mut private = section.map::<WriteCopy>(0, 0).unwrap();
    assert_eq!(private.read::<u64>(0).unwrap(), 1, "a write-copy view starts as the section");
    private.write(0, &2u64).unwrap();
    assert_eq!(private.read::<u64>(0).unwrap(), 2);
    assert_eq!(shared.read::<u64>(0).unwrap(), 1, "the section never sees it");
    assert_eq!(section.map::<ReadOnly>(0, 0).unwrap().read::<u64>(0).unwrap(), 1);
    drop((shared, private, section));
    kernel.assert_clean();
}

#[test]
fn protections_follow_the_section_and_the_handle() {
    let kernel = Kernel::new();
    let read_only = Section::create(4096, SectionProtection::ReadOnly).unwrap();
    assert_eq!(read_only.map::<ReadWrite>(0, 0).unwrap_err(), NtStatus::SECTION_PROTECTION);
    assert!(read_only.map::<ReadOnly>(0, 0).is_ok());
    assert!(read_only.map::<WriteCopy>(0, 0).is_ok(), "write-copy of a read-only section is allowed");
    let name = object_name!("\\BaseNamedObjects\\WdmMemProtections");
    let owner = Section::builder().size(4096).named(name).create().unwrap();
    let reader = Section::open(name, SectionAccess::READ).unwrap();
    assert_eq!(reader.map::<ReadWrite>(0, 0).unwrap_err(), NtStatus::ACCESS_DENIED);
    assert!(reader.map::<WriteCopy>(0, 0).is_ok());
    drop((read_only, owner, reader));
    kernel.assert_clean();
}

#[test]
fn bad_ranges_get_the_statuses_windows_returns() {
    let kernel = Kernel::new();
    let section = Section::create(2 * KB64, SectionProtection::ReadWrite).unwrap();
    let cases = [
        (4096, 0, NtStatus::MAPPED_ALIGNMENT),
        (KB64 + 1, 0, NtStatus::MAPPED_ALIGNMENT),
        (0, 2 * KB64 as usize + 1, NtStatus::INVALID_VIEW_SIZE),
        (2 * KB64, 0, NtStatus::INVALID_VIEW_SIZE),
        (KB64, KB64 as usize + 1, NtStatus::INVALID_VIEW_SIZE),
        (u64::MAX, 0, NtStatus::INVALID_VIEW_SIZE),
        (0, usize::MAX, NtStatus::INVALID_VIEW_SIZE),
        (KB64, usize::MAX, NtStatus::INVALID_VIEW_SIZE),
        (u64::MAX - KB64 + 1, usize::MAX, NtStatus::INVALID_VIEW_SIZE),
    ];
    for (offset, size, expected) in cases {
        assert_eq!(section.map::<ReadOnly>(offset, size).unwrap_err(), expected, "offset {offset:#x} size {size:#x}");
    }
    assert_eq!(Section::create(0, SectionProtection::ReadWrite).unwrap_err(), NtStatus::INVALID_PARAMETER_4);
    assert_eq!(Section::create(1 << 40, SectionProtection::ReadWrite).unwrap_err(), NtStatus::SECTION_TOO_BIG);
    assert_eq!(Section::create(u64::MAX, SectionProtection::ReadWrite).unwrap_err(), NtStatus::SECTION_TOO_BIG);
    let view = section.map::<ReadOnly>(0, 16).unwrap();
    assert_eq!(view.read::<u64>(9).unwrap_err(), NtStatus::INVALID_PARAMETER, "past len");
    assert_eq!(view.read_bytes(usize::MAX, &mut [0; 2]).unwrap_err(), NtStatus::INVALID_PARAMETER);
    drop((view, section));
    kernel.assert_clean();
}

#[test]
fn named_sections_are_shared_and_vanish_with_their_last_reference() {
    let kernel = Kernel::new();
    let name = object_name!("\\BaseNamedObjects\\WdmMemShared");
    assert_eq!(Section::open(name, SectionAccess::READ).unwrap_err(), NtStatus::OBJECT_NAME_NOT_FOUND);
    let owner = Section::builder().size(4096).named(name).create().unwrap();
    let mut view = owner.map::<ReadWrite>(0, 0).unwrap();
    view.write_bytes(0, b"hello").unwrap();
    assert_eq!(Section::builder().size(4096).named(name).create().unwrap_err(), NtStatus::OBJECT_NAME_COLLISION);
    let (again, existed) = Section::builder().size(4096).named(name).create_or_open().unwrap();
    assert!(existed);
    let other = Section::open(object_name!("\\basenamedobjects\\WDMMEMSHARED"), SectionAccess::READ).unwrap();
    let mut greeting = [0u8; 5];
    other.map::<ReadOnly>(0, 0).unwrap().read_bytes(0, &mut greeting).unwrap();
    assert_eq!(&greeting, b"hello");
    drop((owner, again, other));
    assert!(Section::open(name, SectionAccess::READ).is_ok(), "the view keeps the object alive");
    drop(view);
    assert_eq!(Section::open(name, SectionAccess::READ).unwrap_err(), NtStatus::OBJECT_NAME_NOT_FOUND);
    let (fresh, existed) = Section::builder().size(4096).named(name).create_or_open().unwrap();
    assert!(!existed);
    drop(fresh);
    kernel.assert_clean();
}

#[test]
fn file_backed_sections_read_and_write_the_file() {
    let kernel = Kernel::new();
    let path = object_name!("\\??\\C:\\wdm-mem\\data.bin");
    kernel.create_file("\\??\\C:\\wdm-mem\\data.bin", b"file contents");
    let file = BackingFile::open(path, FileAccess::ReadWrite).unwrap();
    let section = Section::builder().backed_by(&file).protection(SectionProtection::ReadWrite).create().unwrap();
    let mut view = section.map::<ReadWrite>(0, 0).unwrap();
    assert_eq!(section.size(), Some(13), "the file's size, as ZwQuerySection tells it");
    assert_eq!((view.len(), view.mapped_size()), (13, 4096));
    let mut start = [0u8; 4];
    view.read_bytes(0, &mut start).unwrap();
    assert_eq!(&start, b"file");
    view.write_bytes(0, b"FILE").unwrap();
    drop((view, section, file));
    assert_eq!(kernel.file_contents("\\??\\c:\\wdm-mem\\data.bin").unwrap(), b"FILE contents");

    let read_only = BackingFile::open(path, FileAccess::Read).unwrap();
    let refused = Section::builder().backed_by(&read_only).protection(SectionProtection::ReadWrite).create();
    assert_eq!(refused.unwrap_err(), NtStatus::ACCESS_DENIED);
    let grown = Section::builder().backed_by(&read_only).protection(SectionProtection::ReadOnly).size(100).create();
    assert_eq!(grown.unwrap_err(), NtStatus::SECTION_TOO_BIG, "a read-only file cannot grow");
    let copy = Section::builder().backed_by(&read_only).protection(SectionProtection::ReadOnly).create().unwrap();
    let mut private = copy.map::<WriteCopy>(0, 0).unwrap();
    private.write_bytes(0, b"xxxx").unwrap();
    drop((private, copy, read_only));
    assert_eq!(kernel.file_contents("\\??\\C:\\wdm-mem\\data.bin").unwrap(), b"FILE contents");

    let empty = BackingFile::open(object_name!("\\??\\C:\\wdm-mem\\empty.bin"), FileAccess::ReadWrite).unwrap();
    assert_eq!(Section::builder().backed_by(&empty).create().unwrap_err(), NtStatus::MAPPED_FILE_SIZE_ZERO);
    assert_eq!(Section::builder().backed_by(&empty).reserve().create().unwrap_err(), NtStatus::INVALID_PARAMETER);
    drop(empty);
    assert_eq!(
        BackingFile::open(object_name!("\\??\\C:\\missing"), FileAccess::Read).unwrap_err(),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    kernel.assert_clean();
}

#[test]
fn an_exclusive_view_is_a_slice_with_typed_access() {
    let kernel = Kernel::new();
    let mut view = Section::builder().size(10_000).map_exclusive::<ReadWrite>().unwrap();
    assert_eq!(view.len(), 10_000);
    assert!(view.iter().all(|&b| b == 0), "pagefile-backed sections start zeroed");
    view[..3].copy_from_slice(b"abc");
    *view.get_mut::<u32>(8).unwrap() = 0xAABB_CCDD;
    assert_eq!(view.get::<u32>(8).unwrap(), &0xAABB_CCDD);
    let misaligned = view.get::<u32>(9).unwrap_err();
    assert_eq!(misaligned, NtStatus::from_raw(0xC000_02C5_u32 as i32), "STATUS_DATATYPE_MISALIGNMENT_ERROR");
    assert!(misaligned.is_error());
    assert_eq!(view.get::<u64>(9_996).unwrap_err(), NtStatus::INVALID_PARAMETER);
    assert_eq!(&view[..3], b"abc");
    assert_eq!(view.get::<u8>(usize::MAX).unwrap_err(), NtStatus::INVALID_PARAMETER);
    assert_eq!(view.read_bytes(usize::MAX - 1, &mut [0; 4]).unwrap_err(), NtStatus::INVALID_PARAMETER);
    assert_eq!(view.write_bytes(9_999, &[0; 2]).unwrap_err(), NtStatus::INVALID_PARAMETER);
    view.unmap().unwrap();
    let named = Section::builder().size(4096).named(object_name!("\\BaseNamedObjects\\NotExclusive"));
    assert_eq!(named.map_exclusive::<ReadOnly>().unwrap_err(), NtStatus::INVALID_PARAMETER);
    assert_eq!(
        Section::builder().size(4096).reserve().map_exclusive::<ReadOnly>().unwrap_err(),
        NtStatus::INVALID_PARAMETER
    );
    kernel.assert_clean();
}

#[test]
fn above_passive_level_nothing_is_created_and_nothing_is_touched() {
    let kernel = Kernel::new();
    let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
    let mut view = section.map::<ReadWrite>(0, 0).unwrap();
    kernel.at_irql(Irql::APC, || {
        assert_eq!(Section::create(4096, SectionProtection::ReadWrite).unwrap_err(), NtStatus::INVALID_LEVEL);
        assert_eq!(section.map::<ReadOnly>(0, 0).unwrap_err(), NtStatus::INVALID_LEVEL);
        assert!(view.write(0, &5u8).is_ok(), "views may be touched at APC_LEVEL");
    });
    kernel.at_irql(Irql::DISPATCH, || {
        assert_eq!(view.read::<u8>(0).unwrap_err(), NtStatus::INVALID_LEVEL, "pageable memory");
        assert_eq!(view.write(0, &6u8).unwrap_err(), NtStatus::INVALID_LEVEL);
    });
    assert_eq!(view.read::<u8>(0).unwrap(), 5);
    drop((view, section));
    kernel.assert_clean();
}

#[test]
fn leaked_handles_and_views_are_reported_at_unload() {
    let kernel = Kernel::new();
    let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
    std::mem::forget(section.map::<ReadOnly>(0, 0).unwrap());
    std::mem::forget(section);
    let report = kernel.finish();
    let kinds: Vec<_> = report.violations.iter().map(|v| v.bug_check.params[0]).collect();
    // The handle, the view, and the view's reference to its process.
    assert_eq!(kinds, [0x1_0001, 0x1_0002, 0x1_0003], "{report}");
    assert!(report.violations.iter().all(|v| v.bug_check.code == BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION));
}

#[test]
fn a_view_dropped_above_passive_level_is_leaked_not_unmapped() {
    let kernel = Kernel::new();
    let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
    let view = section.map::<ReadOnly>(0, 0).unwrap();
    kernel.at_irql(Irql::APC, || drop(view));
    drop(section);
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "{report}");
    assert_eq!(report.violations[0].bug_check.params[0], 0x1_0002);
}

#[test]
fn exhausted_resources_fail_cleanly() {
    let kernel = Kernel::new();
    kernel.inject(Fault::routine("ZwCreateSection").times(1));
    assert_eq!(Section::create(4096, SectionProtection::ReadWrite).unwrap_err(), NtStatus::INSUFFICIENT_RESOURCES);
    kernel.inject(Fault::routine("ZwMapViewOfSection").times(1));
    let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
    assert_eq!(section.map::<ReadOnly>(0, 0).unwrap_err(), NtStatus::NO_MEMORY);
    assert_eq!(Section::builder().size(4096).map_exclusive::<ReadOnly>().map(|v| v.len()), Ok(4096));
    drop(section);
    kernel.assert_clean();
}

#[test]
fn closing_a_handle_twice_is_0x93() {
    let kernel = Kernel::new();
    let raw = Section::create(4096, SectionProtection::ReadWrite).unwrap().into_raw();
    // SAFETY: `raw` is an open section handle we own.
    drop(unsafe { Section::from_raw(raw) });
    // SAFETY: misuse on purpose: the model reports it.
    assert_eq!(NtStatus::from_raw(unsafe { sys::ZwClose(raw) }), NtStatus::INVALID_HANDLE);
    let report = kernel.finish();
    assert_eq!(report.violations[0].bug_check.code, BugCheck::INVALID_KERNEL_HANDLE);
    assert_eq!(report.violations[0].bug_check.params[0], raw as u64);
}
