//! Where views live, against the kernel model: user views belong to a
//! (simulated) process whose own code writes, unmaps and reprotects them
//! while the driver holds them; system views are kernel memory; reserved
//! sections, forced access checks, security descriptors and the sizes
//! `ZwQuerySection` reports.

use wdm_mem::{
    Irql, NtStatus,
    model::{Kernel, UserProcess},
    object_name,
    section::{
        ObjectName, ReadOnly, ReadWrite, Section, SectionAccess, SectionProtection, SecurityDescriptor, UserView,
    },
    sys,
};

const KB64: u64 = 64 * 1024;
const LEAKED_VIEW: u64 = 0x1_0002;
const LEAKED_REFERENCE: u64 = 0x1_0003;

/// A read-write user view of a fresh 2-page section, mapped in `process`.
fn user_view(process: &UserProcess) -> UserView<ReadWrite> {
    let section = Section::create(8192, SectionProtection::ReadWrite).unwrap();
    process.run(|| section.map::<ReadWrite>(0, 0)).unwrap()
}

#[test]
fn the_user_side_can_unmap_a_view_the_driver_holds_and_the_driver_gets_an_error() {
    // Issue 9 item 2 (b): on the landed code the view derefs to a slice and
    // copies touch the memory directly: an unmap by the process faulted.
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let mut view = user_view(&app);
    app.run(|| {
        view.write(0, &0x1234_u32).unwrap();
        assert_eq!(app.read(view.user_address(), 4).unwrap(), 0x1234_u32.to_le_bytes());
        app.write(view.user_address() + 8, &7u64.to_le_bytes()).unwrap();
        assert_eq!(view.read::<u64>(8).unwrap(), 7, "the process's writes are seen through copies");
        app.unmap(view.user_address()).unwrap();
        assert_eq!(view.read::<u32>(0).unwrap_err(), NtStatus::ACCESS_VIOLATION);
        assert_eq!(view.write(0, &1u8).unwrap_err(), NtStatus::ACCESS_VIOLATION);
        assert_eq!(view.unmap().unwrap_err(), NtStatus::NOT_MAPPED_VIEW, "the process unmapped it first");
    });
    kernel.assert_clean();
}

#[test]
fn the_user_side_can_reprotect_a_view_and_copies_respect_it() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let mut view = user_view(&app);
    app.run(|| {
        let second_page = view.user_address() + 4096;
        app.protect(second_page, 4096, sys::PAGE_READONLY).unwrap();
        assert!(view.write(0, &1u32).is_ok(), "the first page is still writable");
        assert_eq!(view.write(4096, &1u32).unwrap_err(), NtStatus::ACCESS_VIOLATION);
        assert_eq!(view.write_bytes(4094, &[1; 4]).unwrap_err(), NtStatus::ACCESS_VIOLATION, "across pages");
        assert_eq!(view.read::<u32>(4096).unwrap(), 0, "a read-only page still reads");
        app.protect(second_page, 4096, sys::PAGE_NOACCESS).unwrap();
        assert_eq!(view.read::<u32>(4096).unwrap_err(), NtStatus::ACCESS_VIOLATION);
        app.protect(second_page, 4096, sys::PAGE_READWRITE).unwrap();
        view.write(4096, &9u32).unwrap();
        assert_eq!(view.read::<u32>(4096).unwrap(), 9);
    });
    let read_only = Section::create(4096, SectionProtection::ReadWrite).unwrap();
    let reader = app.run(|| read_only.map::<ReadOnly>(0, 0)).unwrap();
    let refused = app.protect(reader.user_address(), 4096, sys::PAGE_READWRITE);
    assert_eq!(refused.unwrap_err(), NtStatus::SECTION_PROTECTION, "a read-only view cannot be made writable");
    app.run(|| drop((view, reader)));
    drop(read_only);
    kernel.assert_clean();
}

#[test]
fn a_user_view_is_reachable_only_from_its_process() {
    // Issue 9 item 2 (c): the landed view had no record of its process.
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let other = kernel.create_process();
    let mut view = user_view(&app);
    assert!(!view.is_in_current_process(), "this thread runs in the System process");
    assert_eq!(view.read::<u8>(0).unwrap_err(), NtStatus::NOT_MAPPED_VIEW);
    assert_eq!(other.run(|| view.write(0, &1u8)).unwrap_err(), NtStatus::NOT_MAPPED_VIEW);
    assert_eq!(other.read(view.user_address(), 1).unwrap_err(), NtStatus::ACCESS_VIOLATION, "not its memory");
    app.run(|| view.write(0, &2u8)).unwrap();
    // Send: another thread, attached to the same process, may use it.
    let handle = kernel.handle();
    let view = std::thread::spawn(move || {
        let _entered = handle.enter();
        assert_eq!(view.read::<u8>(0).unwrap_err(), NtStatus::NOT_MAPPED_VIEW);
        assert_eq!(app.run(|| view.read::<u8>(0)).unwrap(), 2);
        view
    })
    .join()
    .unwrap();
    app.run(|| view.unmap()).unwrap();
    kernel.assert_clean();
}

#[test]
fn unmapping_from_the_wrong_process_unmaps_nothing_and_exit_cleans_up() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let view = user_view(&app);
    let address = view.user_address();
    assert_eq!(view.unmap().unwrap_err(), NtStatus::NOT_MAPPED_VIEW, "not mapped in the System process");
    assert!(app.read(address, 1).is_ok(), "still mapped in its process");
    app.exit();
    assert_eq!(app.read(address, 1).unwrap_err(), NtStatus::ACCESS_VIOLATION, "the exit unmapped it");
    // The view's process reference was released by `unmap`; the view itself
    // was the process's to clean up: nothing is leaked.
    kernel.assert_clean();

    let kernel = Kernel::new();
    let app = kernel.create_process();
    let view = user_view(&app);
    app.exit();
    drop(view);
    kernel.assert_clean();
}

#[test]
fn a_forgotten_user_view_leaks_its_mapping_and_its_process_reference() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    std::mem::forget(user_view(&app));
    let report = kernel.finish();
    let kinds: Vec<_> = report.violations.iter().map(|v| v.bug_check.params[0]).collect();
    assert_eq!(kinds, [LEAKED_VIEW, LEAKED_REFERENCE], "{report}");
}

#[test]
fn user_copies_need_apc_level_or_below() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let mut view = user_view(&app);
    app.run(|| {
        kernel.at_irql(Irql::APC, || view.write(0, &1u8)).unwrap();
        assert_eq!(kernel.at_irql(Irql::DISPATCH, || view.read::<u8>(0)).unwrap_err(), NtStatus::INVALID_LEVEL);
        assert_eq!(kernel.at_irql(Irql::APC, || view.unmap()).unwrap_err(), NtStatus::INVALID_LEVEL);
    });
    let report = kernel.finish();
    assert_eq!(report.violations.len(), 1, "the view left mapped at APC_LEVEL: {report}");
    assert_eq!(report.violations[0].bug_check.params[0], LEAKED_VIEW);
}

#[test]
fn out_of_range_offsets_are_refused_before_any_copy() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let mut view = user_view(&app);
    app.run(|| {
        for offset in [8192, 8189, usize::MAX, usize::MAX - 3] {
            assert_eq!(view.read::<u32>(offset).unwrap_err(), NtStatus::INVALID_PARAMETER, "{offset:#x}");
            assert_eq!(view.write(offset, &0u32).unwrap_err(), NtStatus::INVALID_PARAMETER, "{offset:#x}");
        }
        assert_eq!(view.read_bytes(1, &mut [0; 8192]).unwrap_err(), NtStatus::INVALID_PARAMETER);
        assert!(view.read_bytes(8192, &mut []).is_ok(), "an empty copy at the end");
        view.unmap().unwrap();
    });
    kernel.assert_clean();
}

#[test]
fn a_system_view_is_kernel_memory_reachable_from_every_process() {
    // Issue 9 item 2 (a): the landed crate had no system-space view.
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let section = Section::create(2 * KB64, SectionProtection::ReadWrite).unwrap();
    let mut system = section.map_system::<ReadWrite>().unwrap();
    let user = app.run(|| section.map::<ReadOnly>(0, 0)).unwrap();
    section.close().unwrap();
    assert_eq!(system.len(), 2 * KB64 as usize);
    app.run(|| system.write(100, &0xAB_u8)).unwrap();
    assert_eq!(app.run(|| user.read::<u8>(100)).unwrap(), 0xAB, "one memory");
    let system = std::thread::spawn(move || system).join().unwrap();
    assert_eq!(system.read::<u8>(100).unwrap(), 0xAB);
    assert_eq!(kernel.at_irql(Irql::DISPATCH, || system.read::<u8>(0)).unwrap_err(), NtStatus::INVALID_LEVEL);
    system.unmap().unwrap();
    app.run(|| drop(user));
    kernel.assert_clean();
}

#[test]
fn system_views_are_refused_where_a_touch_could_bug_check() {
    let kernel = Kernel::new();
    let reserved = Section::builder().size(KB64).reserve().create().unwrap();
    assert_eq!(reserved.map_system::<ReadOnly>().unwrap_err(), NtStatus::INVALID_PARAMETER);
    let read_only = Section::create(4096, SectionProtection::ReadOnly).unwrap();
    assert_eq!(read_only.map_system::<ReadWrite>().unwrap_err(), NtStatus::SECTION_PROTECTION);
    assert_eq!(read_only.map_system::<ReadOnly>().unwrap().read::<u64>(0).unwrap(), 0);
    let name = object_name!("\\BaseNamedObjects\\WdmMemSystemView");
    let owner = Section::builder().size(4096).named(name).create().unwrap();
    let opened = Section::open(name, SectionAccess::ALL).unwrap();
    assert_eq!(opened.map_system::<ReadWrite>().unwrap_err(), NtStatus::SECTION_PROTECTION, "protection unknown");
    assert!(opened.map_system::<ReadOnly>().is_ok());
    let reader = Section::open(name, SectionAccess::READ).unwrap();
    assert_eq!(owner.map_system::<ReadWrite>().map(|view| view.len()), Ok(4096));
    drop((reserved, read_only, owner, opened, reader));
    kernel.assert_clean();
}

#[test]
fn without_the_system_space_exports_the_status_is_procedure_not_found() {
    for missing in ["MmMapViewInSystemSpace", "MmUnmapViewInSystemSpace", "MmSectionObjectType"] {
        let kernel = Kernel::new();
        kernel.remove_export(missing);
        let section = Section::create(4096, SectionProtection::ReadWrite).unwrap();
        assert_eq!(section.map_system::<ReadOnly>().unwrap_err(), NtStatus::PROCEDURE_NOT_FOUND, "{missing}");
        assert_eq!(
            Section::builder().size(4096).map_exclusive::<ReadWrite>().unwrap_err(),
            NtStatus::PROCEDURE_NOT_FOUND
        );
        drop(section);
        kernel.assert_clean();
    }
}

#[test]
fn a_forgotten_system_view_leaks_its_mapping_and_its_object_reference() {
    let kernel = Kernel::new();
    std::mem::forget(Section::builder().size(4096).map_exclusive::<ReadOnly>().unwrap());
    let report = kernel.finish();
    let kinds: Vec<_> = report.violations.iter().map(|v| v.bug_check.params[0]).collect();
    assert_eq!(kinds, [LEAKED_VIEW, LEAKED_REFERENCE], "{report}");
}

#[test]
fn reserved_pages_fault_until_the_process_commits_them() {
    // Issue 9: "SEC_RESERVE views are mapped with nothing committed and then
    // written by the safe write": the landed model committed every page.
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let section = Section::builder().size(KB64).reserve().create().unwrap();
    let mut view = app.run(|| section.map::<ReadWrite>(0, 0)).unwrap();
    let mut second = app.run(|| section.map::<ReadOnly>(0, 0)).unwrap();
    app.run(|| {
        assert_eq!(view.write(0, &1u32).unwrap_err(), NtStatus::ACCESS_VIOLATION);
        assert_eq!(view.read::<u32>(0).unwrap_err(), NtStatus::ACCESS_VIOLATION);
        app.commit(view.user_address(), 4096).unwrap();
        view.write(0, &1u32).unwrap();
        assert_eq!(second.read::<u32>(0).unwrap(), 1, "committed for every view of the section");
        assert_eq!(view.write(4096, &1u32).unwrap_err(), NtStatus::ACCESS_VIOLATION, "the next page is not");
        view.commit(4096, 1).unwrap();
        view.write(4096, &2u32).unwrap();
        assert_eq!(second.read::<u32>(4096).unwrap(), 2, "the driver committed the second page");
        assert_eq!(view.commit(usize::MAX, 2).unwrap_err(), NtStatus::INVALID_PARAMETER);
        assert_eq!(view.commit(0, KB64 as usize + 1).unwrap_err(), NtStatus::INVALID_PARAMETER);
        drop(std::mem::replace(&mut second, section.map::<ReadOnly>(0, 0).unwrap()));
        assert_eq!(second.read::<u32>(0).unwrap(), 1, "a new view sees the committed page");
    });
    assert_eq!(view.commit(0, 1).unwrap_err(), NtStatus::NOT_MAPPED_VIEW, "from the System process");
    app.run(|| drop((view, second)));
    drop(section);
    kernel.assert_clean();
}

#[test]
fn create_or_open_of_a_larger_existing_section_uses_its_real_size() {
    // Issue 9: the landed code kept the requested 4096 bytes and `map` past
    // them underflowed (a panic in debug builds).
    let kernel = Kernel::new();
    let name = object_name!("\\BaseNamedObjects\\WdmMemLarger");
    let owner = Section::builder().size(2 * KB64).protection(SectionProtection::ReadOnly).named(name).create().unwrap();
    let (found, existed) =
        Section::builder().size(4096).protection(SectionProtection::ReadWrite).named(name).create_or_open().unwrap();
    assert!(existed);
    assert_eq!(found.size(), Some(2 * KB64));
    let tail = found.map::<ReadOnly>(KB64, 0).unwrap();
    assert_eq!(tail.len(), KB64 as usize);
    assert_eq!(found.map::<ReadWrite>(0, 0).unwrap_err(), NtStatus::SECTION_PROTECTION, "the kernel's protection");
    assert_eq!(found.map_system::<ReadWrite>().unwrap_err(), NtStatus::SECTION_PROTECTION);
    drop((tail, found));

    kernel.remove_export("ZwQuerySection");
    let opened = Section::open(name, SectionAccess::READ).unwrap();
    assert_eq!(opened.size(), None, "unknown without ZwQuerySection");
    assert_eq!(opened.map::<ReadOnly>(KB64, 0).unwrap().len(), KB64 as usize, "what was mapped");
    assert_eq!(opened.map_system::<ReadOnly>().unwrap_err(), NtStatus::INVALID_PARAMETER, "size unknown");
    drop((opened, owner));
    kernel.assert_clean();
}

#[test]
fn names_from_requests_are_opened_with_the_requesters_access() {
    // Issue 9: "Zw* opens of names and paths that a request supplies run
    // without OBJ_FORCE_ACCESS_CHECK": the landed crate could not ask for it.
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let utf16: Vec<u16> = "\\Device\\PhysicalMemory".encode_utf16().collect();
    let requested = ObjectName::new(&utf16).unwrap();
    let deputy = app.run(|| Section::open(requested, SectionAccess::READ));
    assert!(deputy.is_ok(), "without the check the kernel's own access applies: the confused deputy");
    drop(deputy);
    let checked = app.run(|| Section::open(requested.with_access_check(), SectionAccess::READ));
    assert_eq!(checked.unwrap_err(), NtStatus::ACCESS_DENIED);
    assert!(Section::open(requested.with_access_check(), SectionAccess::READ).is_ok(), "SYSTEM may");
    kernel.assert_clean();
}

#[test]
fn a_named_section_with_a_system_only_descriptor_is_closed_to_user_requesters() {
    let kernel = Kernel::new();
    let app = kernel.create_process();
    let name = object_name!("\\BaseNamedObjects\\WdmMemPrivate");
    let owner = Section::builder().size(4096).named(name).security(SecurityDescriptor::system_only()).create().unwrap();
    let denied = app.run(|| Section::open(name.with_access_check(), SectionAccess::READ));
    assert_eq!(denied.unwrap_err(), NtStatus::ACCESS_DENIED);
    let denied = app.run(|| Section::builder().size(4096).named(name.with_access_check()).create_or_open());
    assert_eq!(denied.unwrap_err(), NtStatus::ACCESS_DENIED);
    let open = Section::open(name.with_access_check(), SectionAccess::READ).unwrap();
    drop((open, owner));
    let bytes = [0u32; 8];
    // SAFETY: reading plain integers as bytes.
    let bytes = unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u8>(), 32) };
    assert_eq!(SecurityDescriptor::from_self_relative(bytes).unwrap_err(), NtStatus::INVALID_PARAMETER);
    kernel.assert_clean();
}

#[test]
fn huge_sizes_and_names_are_refused_cleanly() {
    let kernel = Kernel::new();
    kernel.create_file("\\??\\C:\\huge.bin", b"data");
    let file = wdm_mem::section::BackingFile::open(
        object_name!("\\??\\C:\\huge.bin"),
        wdm_mem::section::FileAccess::ReadWrite,
    )
    .unwrap();
    for size in [u64::MAX, i64::MAX as u64 + 1] {
        let huge = Section::builder().backed_by(&file).size(size).create();
        assert_eq!(huge.unwrap_err(), NtStatus::SECTION_TOO_BIG, "{size:#x}");
    }
    let long = vec![u16::from(b'a'); 32_768];
    assert_eq!(ObjectName::new(&long).unwrap_err(), NtStatus::OBJECT_NAME_INVALID);
    assert!(ObjectName::new(&long[..32_767]).is_ok());
    drop(file);
    kernel.assert_clean();
}

/// A system-space view is pageable memory: touching an exclusive view's
/// bytes through its slice above APC_LEVEL is the page fault Windows reports
/// as 0xD1 (as for paged pool), and `get`/`get_mut` refuse the level; at
/// APC_LEVEL both are fine.
#[test]
fn an_exclusive_system_view_touched_at_dispatch_level_is_0xd1() {
    let kernel = Kernel::new();
    let mut view = Section::builder().size(8192).map_exclusive::<ReadWrite>().unwrap();
    let base = view.as_ptr() as u64;
    kernel.at_irql(Irql::APC, || {
        view[0] = 1;
        assert_eq!(*view.get::<u32>(0).unwrap(), 1);
    });
    kernel.at_irql(Irql::DISPATCH, || {
        assert_eq!(view.get::<u32>(0).unwrap_err(), NtStatus::INVALID_LEVEL);
        assert_eq!(view.get_mut::<u32>(0).unwrap_err(), NtStatus::INVALID_LEVEL);
        assert_eq!(view[0], 1);
        view[4096] = 2;
    });
    view.unmap().unwrap();
    let report = kernel.finish();
    let found: Vec<_> = report.violations.iter().map(|v| (v.bug_check.code, v.bug_check.params)).collect();
    let d1 = wdm_mem::model::BugCheck::DRIVER_IRQL_NOT_LESS_OR_EQUAL;
    assert_eq!(found, [(d1, [base, 2, 0, 0]), (d1, [base, 2, 1, 0])], "{report}");
}
