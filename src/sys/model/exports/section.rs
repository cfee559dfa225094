//! `ZwCreateSection`, `ZwOpenSection`, `ZwQuerySection`,
//! `ZwMapViewOfSection`, `ZwUnmapViewOfSection`, `MmMapViewInSystemSpace`,
//! `MmUnmapViewInSystemSpace`, `ZwCreateFile` and `ZwClose`, with the
//! statuses Windows returns (checked against ReactOS's kernel-mode tests of
//! `ZwMapViewOfSection`, which pass on Windows); the object references
//! (`ObReferenceObjectByHandle`, `ObfReferenceObject`,
//! `ObfDereferenceObject`), `IoGetCurrentProcess`, and the SEH shim's user
//! copies (`copy_from_user`, `copy_to_user`) over the model's processes.

use std::{format, string::String, sync::Arc};

use super::{
    super::{
        kernel::{State, with_state},
        memory_file::{Mapping, MemoryFile},
        process::{self, ProcessTable, SYSTEM_PROCESS},
        section::{BAD_SECTION_OBJECT, FileObject, Handle, Object, SectionObject, Space},
        verifier::BugCheck,
    },
    irql_above, unicode_to_string,
};
use crate::{
    NtStatus,
    sys::{
        ACCESS_MASK, FILE_CREATE, FILE_CREATED, FILE_OPEN, FILE_OPEN_IF, FILE_OPENED, FILE_OVERWRITE_IF,
        FILE_OVERWRITTEN, FILE_SUPERSEDE, GENERIC_WRITE, HANDLE, KPROCESSOR_MODE, MEM_COMMIT,
        MM_ALLOCATION_GRANULARITY, NTSTATUS, OBJ_FORCE_ACCESS_CHECK, OBJ_OPENIF, PAGE_NOACCESS, PAGE_READONLY,
        PAGE_READWRITE, PAGE_WRITECOPY, PFN_MM_MAP_VIEW_IN_SYSTEM_SPACE, PFN_MM_UNMAP_VIEW_IN_SYSTEM_SPACE,
        PFN_ZW_QUERY_SECTION, PHANDLE, PIO_STATUS_BLOCK, PLARGE_INTEGER, POBJECT_ATTRIBUTES, PSIZE_T, PVOID,
        SEC_COMMIT, SEC_FILE, SEC_RESERVE, SECTION_BASIC_INFORMATION, SECTION_INHERIT, SECTION_MAP_READ,
        SECTION_MAP_WRITE, SECTION_QUERY, SIZE_T, ULONG, ULONG_PTR, ZwCurrentProcess,
    },
};

/// `REFERENCE_BY_POINTER`: an object's reference count went wrong.
const REFERENCE_BY_POINTER: u32 = 0x18;
/// The name of the model's privileged section, lower-cased.
const PHYSICAL_MEMORY_NAME: &str = "\\device\\physicalmemory";
/// Its size (the model's "physical memory" section is small).
const PHYSICAL_MEMORY_SIZE: u64 = 1 << 20;

/// The largest pagefile-backed section the model backs.
const MAX_SECTION_SIZE: u64 = 1 << 32;
/// `FILE_WRITE_DATA`.
const FILE_WRITE_DATA: u32 = 0x2;
const PAGE: u64 = 4096;

fn status(status: NtStatus) -> NTSTATUS {
    status.to_raw()
}

fn page_round(size: u64) -> u64 {
    size.div_ceil(PAGE) * PAGE
}

/// The lower-cased object name of `attributes`, if it has one.
///
/// # Safety
/// `attributes` is NULL or valid, with a NULL or valid name.
unsafe fn object_name(attributes: POBJECT_ATTRIBUTES) -> Option<String> {
    // SAFETY: per the contract.
    let attributes = unsafe { attributes.as_ref() }?;
    if attributes.ObjectName.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    Some(unsafe { unicode_to_string(attributes.ObjectName) }.to_lowercase())
}

/// Whether `attributes` asks for `OBJ_FORCE_ACCESS_CHECK`.
///
/// # Safety
/// `attributes` is NULL or valid.
unsafe fn forces_access_check(attributes: POBJECT_ATTRIBUTES) -> bool {
    // SAFETY: per the contract.
    unsafe { attributes.as_ref() }.is_some_and(|a| a.Attributes & OBJ_FORCE_ACCESS_CHECK != 0)
}

/// The access check an open with `OBJ_FORCE_ACCESS_CHECK` makes against the
/// current thread's process (its token): a user process gets no access to a
/// restricted object.
fn access_check(forced: bool, section: &SectionObject) -> Result<(), NtStatus> {
    if forced && section.restricted && process::current() != SYSTEM_PROCESS {
        Err(NtStatus::ACCESS_DENIED)
    } else {
        Ok(())
    }
}

/// The routine's IRQL check: PASSIVE_LEVEL for every Zw routine here.
fn above_passive(state: &mut State, routine: &str) -> bool {
    irql_above(state, routine, 0)
}

/// `ZwCreateSection`.
///
/// # Safety
/// As the kernel's: valid pointers.
pub unsafe extern "system" fn ZwCreateSection(
    section_handle: PHANDLE,
    desired_access: ACCESS_MASK,
    object_attributes: POBJECT_ATTRIBUTES,
    maximum_size: PLARGE_INTEGER,
    page_protection: ULONG,
    allocation_attributes: ULONG,
    file_handle: HANDLE,
) -> NTSTATUS {
    // SAFETY: the caller passes valid attributes.
    let name = unsafe { object_name(object_attributes) };
    // SAFETY: as above.
    let open_if = unsafe { object_attributes.as_ref() }.is_some_and(|a| a.Attributes & OBJ_OPENIF != 0);
    // SAFETY: as above.
    let forced = unsafe { forces_access_check(object_attributes) };
    // SAFETY: as above.
    let restricted = unsafe { object_attributes.as_ref() }.is_some_and(|a| !a.SecurityDescriptor.is_null());
    // SAFETY: NULL or a valid LARGE_INTEGER.
    let requested = unsafe { maximum_size.as_ref() }.map_or(0, |size| unsafe { size.QuadPart });
    with_state(|state| {
        if above_passive(state, "ZwCreateSection") {
            return status(NtStatus::INVALID_LEVEL);
        }
        if let Some(existing) = name.as_deref().and_then(|name| state.objects.named_section(name)) {
            if !open_if {
                return status(NtStatus::OBJECT_NAME_COLLISION);
            }
            if let Err(error) = access_check(forced, &existing) {
                return status(error);
            }
            let handle =
                state.objects.insert_handle(Handle { object: Object::Section(existing), access: desired_access });
            // SAFETY: valid out-pointer.
            unsafe { section_handle.write(handle as HANDLE) };
            return status(NtStatus::OBJECT_NAME_EXISTS);
        }
        if ![PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY].contains(&page_protection) {
            return status(NtStatus::INVALID_PAGE_PROTECTION);
        }
        // SEC_RESERVE is accepted for pagefile-backed sections; its pages are
        // committed later by a process that maps it (`UserProcess::commit`).
        let attributes_valid =
            allocation_attributes == SEC_COMMIT || (allocation_attributes == SEC_RESERVE && file_handle.is_null());
        if !attributes_valid {
            return status(NtStatus::from_raw(0xC000_00F5_u32 as i32)); // STATUS_INVALID_PARAMETER_6
        }
        if requested < 0 {
            return status(NtStatus::INVALID_PARAMETER_4);
        }
        let section = if file_handle.is_null() {
            pagefile_section(state, requested as u64)
        } else {
            file_section(state, file_handle as usize, requested as u64, page_protection)
        };
        let (memory, size) = match section {
            Ok(memory_and_size) => memory_and_size,
            Err(error) => return status(error),
        };
        let reserved = allocation_attributes == SEC_RESERVE;
        let committed = reserved.then(|| std::sync::Mutex::new(std::vec![false; size.div_ceil(PAGE) as usize]));
        let section = Arc::new(SectionObject {
            memory,
            size,
            protection: page_protection,
            name: name.clone(),
            committed,
            file_backed: !file_handle.is_null(),
            restricted,
        });
        if let Some(name) = name {
            state.objects.name_section(name, &section);
        }
        let handle = state.objects.insert_handle(Handle { object: Object::Section(section), access: desired_access });
        // SAFETY: valid out-pointer.
        unsafe { section_handle.write(handle as HANDLE) };
        status(NtStatus::SUCCESS)
    })
}

fn pagefile_section(state: &mut State, size: u64) -> Result<(Arc<MemoryFile>, u64), NtStatus> {
    if size == 0 {
        return Err(NtStatus::INVALID_PARAMETER_4);
    }
    if size > MAX_SECTION_SIZE {
        return Err(NtStatus::SECTION_TOO_BIG);
    }
    if state.faults.should_fail("ZwCreateSection", None, size as usize) {
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    Ok((Arc::new(MemoryFile::new(page_round(size))?), size))
}

fn file_section(
    state: &mut State,
    file: usize,
    size: u64,
    protection: u32,
) -> Result<(Arc<MemoryFile>, u64), NtStatus> {
    let file = match state.objects.handle(file).map(|handle| handle.object.clone()) {
        Some(Object::File(file)) => file,
        Some(Object::Section(_)) => return Err(NtStatus::OBJECT_TYPE_MISMATCH),
        None => return Err(NtStatus::INVALID_HANDLE),
    };
    if protection == PAGE_READWRITE && !file.writable {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let file_size = file.memory.len();
    let size = if size == 0 { file_size } else { size };
    if size == 0 {
        return Err(NtStatus::MAPPED_FILE_SIZE_ZERO);
    }
    if size > file_size {
        if protection != PAGE_READWRITE {
            return Err(NtStatus::SECTION_TOO_BIG);
        }
        file.memory.set_len(size)?;
    }
    if state.faults.should_fail("ZwCreateSection", None, size as usize) {
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    Ok((file.memory.clone(), size))
}

/// `ZwOpenSection`.
///
/// # Safety
/// As the kernel's: valid pointers.
pub unsafe extern "system" fn ZwOpenSection(
    section_handle: PHANDLE,
    desired_access: ACCESS_MASK,
    object_attributes: POBJECT_ATTRIBUTES,
) -> NTSTATUS {
    // SAFETY: the caller passes valid attributes.
    let name = unsafe { object_name(object_attributes) };
    // SAFETY: as above.
    let forced = unsafe { forces_access_check(object_attributes) };
    with_state(|state| {
        if above_passive(state, "ZwOpenSection") {
            return status(NtStatus::INVALID_LEVEL);
        }
        let Some(name) = name else { return status(NtStatus::OBJECT_NAME_INVALID) };
        let section = match state.objects.named_section(&name) {
            Some(section) => section,
            None if name == PHYSICAL_MEMORY_NAME => match physical_memory(state) {
                Ok(section) => section,
                Err(error) => return status(error),
            },
            None => return status(NtStatus::OBJECT_NAME_NOT_FOUND),
        };
        if let Err(error) = access_check(forced, &section) {
            return status(error);
        }
        let handle = state.objects.insert_handle(Handle { object: Object::Section(section), access: desired_access });
        // SAFETY: valid out-pointer.
        unsafe { section_handle.write(handle as HANDLE) };
        status(NtStatus::SUCCESS)
    })
}

/// The model's `\\Device\\PhysicalMemory`: a restricted section (its
/// contents are not the host's physical memory, only a stand-in).
fn physical_memory(state: &mut State) -> Result<Arc<SectionObject>, NtStatus> {
    let section = Arc::new(SectionObject {
        memory: Arc::new(MemoryFile::new(PHYSICAL_MEMORY_SIZE)?),
        size: PHYSICAL_MEMORY_SIZE,
        protection: PAGE_READWRITE,
        name: Some(String::from(PHYSICAL_MEMORY_NAME)),
        committed: None,
        file_backed: false,
        restricted: true,
    });
    state.objects.name_section(String::from(PHYSICAL_MEMORY_NAME), &section);
    Ok(section)
}

/// Which view protections a section protection allows, and how to map them.
fn view_mapping(section: u32, view: u32) -> Result<Mapping, NtStatus> {
    match (view, section) {
        (PAGE_NOACCESS, _) => Ok(Mapping::NoAccess),
        (PAGE_READONLY, _) => Ok(Mapping::ReadOnly),
        (PAGE_WRITECOPY, _) => Ok(Mapping::WriteCopy),
        (PAGE_READWRITE, PAGE_READWRITE) => Ok(Mapping::ReadWrite),
        (PAGE_READWRITE, _) => Err(NtStatus::SECTION_PROTECTION),
        _ => Err(NtStatus::INVALID_PAGE_PROTECTION),
    }
}

/// `ZwMapViewOfSection` into the current process, at an address the model
/// chooses.
///
/// # Safety
/// As the kernel's: valid pointers.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn ZwMapViewOfSection(
    section_handle: HANDLE,
    process_handle: HANDLE,
    base_address: *mut PVOID,
    _zero_bits: ULONG_PTR,
    _commit_size: SIZE_T,
    section_offset: PLARGE_INTEGER,
    view_size: PSIZE_T,
    _inherit_disposition: SECTION_INHERIT,
    _allocation_type: ULONG,
    win32_protect: ULONG,
) -> NTSTATUS {
    // SAFETY: NULL or a valid LARGE_INTEGER.
    let offset = unsafe { section_offset.as_ref() }.map_or(0, |offset| unsafe { offset.QuadPart });
    // SAFETY: valid in/out pointers, per the contract.
    let (requested_base, requested_size) = unsafe { (*base_address, *view_size) };
    with_state(|state| {
        if above_passive(state, "ZwMapViewOfSection") {
            return status(NtStatus::INVALID_LEVEL);
        }
        let handle = match state.objects.handle(section_handle as usize) {
            Some(handle) => handle.clone(),
            None => return status(NtStatus::INVALID_HANDLE),
        };
        let Object::Section(section) = handle.object else { return status(NtStatus::OBJECT_TYPE_MISMATCH) };
        if process_handle != ZwCurrentProcess() {
            return status(NtStatus::INVALID_HANDLE);
        }
        if !requested_base.is_null() {
            return status(NtStatus::from_raw(0xC000_00F1_u32 as i32)); // STATUS_INVALID_PARAMETER_3: the model picks addresses
        }
        if offset < 0 || offset as u64 % MM_ALLOCATION_GRANULARITY != 0 {
            return status(NtStatus::MAPPED_ALIGNMENT);
        }
        let mapping = match view_mapping(section.protection, win32_protect) {
            Ok(mapping) => mapping,
            Err(error) => return status(error),
        };
        let needed =
            if mapping == Mapping::ReadWrite { SECTION_MAP_READ | SECTION_MAP_WRITE } else { SECTION_MAP_READ };
        if handle.access & needed != needed {
            return status(NtStatus::ACCESS_DENIED);
        }
        let offset = offset as u64;
        let size = if requested_size == 0 { section.size.saturating_sub(offset) } else { requested_size };
        if offset >= section.size || size == 0 || offset.checked_add(size).is_none_or(|end| end > section.size) {
            return status(NtStatus::INVALID_VIEW_SIZE);
        }
        if state.faults.should_fail("ZwMapViewOfSection", None, size as usize) {
            return status(NtStatus::NO_MEMORY);
        }
        let mapped = page_round(size) as usize;
        let address = state.objects.map_view(section, offset, mapped, mapping, Space::User(process::current()));
        if address.is_null() {
            return status(NtStatus::NO_MEMORY);
        }
        // SAFETY: valid out-pointers.
        unsafe {
            base_address.write(address.cast());
            view_size.write(mapped as SIZE_T);
        }
        status(NtStatus::SUCCESS)
    })
}

/// `ZwUnmapViewOfSection` in the current process: `STATUS_NOT_MAPPED_VIEW`
/// for an address that is not a view of the current process (another
/// process's view, or one its process unmapped).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ZwUnmapViewOfSection(process_handle: HANDLE, base_address: PVOID) -> NTSTATUS {
    with_state(|state| {
        if above_passive(state, "ZwUnmapViewOfSection") {
            return status(NtStatus::INVALID_LEVEL);
        }
        if process_handle != ZwCurrentProcess() {
            return status(NtStatus::INVALID_HANDLE);
        }
        status(state.objects.unmap_view(base_address as usize, Space::User(process::current())))
    })
}

/// `ZwClose`: closing a handle that is not open is bug check 0x93
/// (INVALID_KERNEL_HANDLE) under Driver Verifier.
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ZwClose(handle: HANDLE) -> NTSTATUS {
    with_state(|state| {
        if above_passive(state, "ZwClose") {
            return status(NtStatus::INVALID_LEVEL);
        }
        if state.objects.close_handle(handle as usize).is_some() {
            return status(NtStatus::SUCCESS);
        }
        state.violation(
            BugCheck::INVALID_KERNEL_HANDLE,
            [handle as u64, 1, 0, 0],
            format!("ZwClose of {:#x}, which is not an open handle", handle as usize),
        );
        status(NtStatus::INVALID_HANDLE)
    })
}

/// `ZwCreateFile` over the model's in-memory file system (see
/// `Kernel::create_file`). Only the dispositions and access bits a section
/// needs are modelled.
///
/// # Safety
/// As the kernel's: valid pointers.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "system" fn ZwCreateFile(
    file_handle: PHANDLE,
    desired_access: ACCESS_MASK,
    object_attributes: POBJECT_ATTRIBUTES,
    io_status_block: PIO_STATUS_BLOCK,
    _allocation_size: PLARGE_INTEGER,
    _file_attributes: ULONG,
    _share_access: ULONG,
    create_disposition: ULONG,
    _create_options: ULONG,
    _ea_buffer: PVOID,
    _ea_length: ULONG,
) -> NTSTATUS {
    // SAFETY: the caller passes valid attributes.
    let Some(name) = (unsafe { object_name(object_attributes) }) else {
        return status(NtStatus::OBJECT_NAME_INVALID);
    };
    with_state(|state| {
        if above_passive(state, "ZwCreateFile") {
            return status(NtStatus::INVALID_LEVEL);
        }
        let existing = state.objects.file(&name);
        let (memory, information) = match (create_disposition, existing) {
            (FILE_OPEN | FILE_OPEN_IF, Some(memory)) => (memory, FILE_OPENED),
            (FILE_OPEN, None) => return status(NtStatus::OBJECT_NAME_NOT_FOUND),
            (FILE_CREATE, Some(_)) => return status(NtStatus::OBJECT_NAME_COLLISION),
            (FILE_OVERWRITE_IF | FILE_SUPERSEDE, Some(memory)) => {
                if let Err(error) = memory.set_len(0) {
                    return status(error);
                }
                (memory, FILE_OVERWRITTEN)
            }
            (FILE_CREATE | FILE_OPEN_IF | FILE_OVERWRITE_IF | FILE_SUPERSEDE, None) => match MemoryFile::new(0) {
                Ok(memory) => {
                    let memory = Arc::new(memory);
                    state.objects.insert_file(name.clone(), memory.clone());
                    (memory, FILE_CREATED)
                }
                Err(error) => return status(error),
            },
            _ => return status(NtStatus::INVALID_PARAMETER),
        };
        let writable = desired_access & (GENERIC_WRITE | FILE_WRITE_DATA) != 0;
        let file = Arc::new(FileObject { memory, writable });
        let handle = state.objects.insert_handle(Handle { object: Object::File(file), access: desired_access });
        // SAFETY: valid out-pointers.
        unsafe {
            file_handle.write(handle as HANDLE);
            (*io_status_block).__bindgen_anon_1.Status = 0;
            (*io_status_block).Information = u64::from(information);
        }
        status(NtStatus::SUCCESS)
    })
}

/// `ZwQuerySection(SectionBasicInformation)`: the size and allocation
/// attributes (`SEC_COMMIT` or `SEC_RESERVE`, `| SEC_FILE`). Needs
/// `SECTION_QUERY`.
///
/// # Safety
/// As the kernel's: valid pointers.
pub unsafe extern "system" fn zw_query_section(
    section_handle: HANDLE,
    class: u32,
    information: PVOID,
    length: SIZE_T,
    return_length: PSIZE_T,
) -> NTSTATUS {
    with_state(|state| {
        if above_passive(state, "ZwQuerySection") {
            return status(NtStatus::INVALID_LEVEL);
        }
        let Some(handle) = state.objects.handle(section_handle as usize).cloned() else {
            return status(NtStatus::INVALID_HANDLE);
        };
        let Object::Section(section) = handle.object else { return status(NtStatus::OBJECT_TYPE_MISMATCH) };
        if handle.access & SECTION_QUERY == 0 {
            return status(NtStatus::ACCESS_DENIED);
        }
        if class != 0 {
            return status(NtStatus::INVALID_PARAMETER);
        }
        if (length as usize) < size_of::<SECTION_BASIC_INFORMATION>() {
            return status(NtStatus::from_raw(0xC000_0004_u32 as i32)); // STATUS_INFO_LENGTH_MISMATCH
        }
        let reserve = if section.committed.is_some() { SEC_RESERVE } else { SEC_COMMIT };
        let file = if section.file_backed { SEC_FILE } else { 0 };
        let info = SECTION_BASIC_INFORMATION {
            BaseAddress: core::ptr::null_mut(),
            AllocationAttributes: reserve | file,
            MaximumSize: crate::sys::LARGE_INTEGER { QuadPart: section.size as i64 },
        };
        // SAFETY: valid out-pointers of the checked length.
        unsafe {
            information.cast::<SECTION_BASIC_INFORMATION>().write_unaligned(info);
            if !return_length.is_null() {
                return_length.write(size_of::<SECTION_BASIC_INFORMATION>() as SIZE_T);
            }
        }
        status(NtStatus::SUCCESS)
    })
}

/// The object the model's `MmSectionObjectType` points to.
static SECTION_OBJECT_TYPE: u64 = 0x5EC7;
/// The data export `MmSectionObjectType` (a `POBJECT_TYPE`).
static MM_SECTION_OBJECT_TYPE: &u64 = &SECTION_OBJECT_TYPE;

/// `ObReferenceObjectByHandle` of a section handle with `MmSectionObjectType`
/// (the only type the model has objects of): `STATUS_OBJECT_TYPE_MISMATCH`
/// for another type or a file handle, `STATUS_ACCESS_DENIED` for access the
/// handle does not grant.
///
/// # Safety
/// As the kernel's: valid pointers.
pub unsafe extern "system" fn ObReferenceObjectByHandle(
    handle: HANDLE,
    desired_access: ACCESS_MASK,
    object_type: PVOID,
    _access_mode: KPROCESSOR_MODE,
    object: *mut PVOID,
    _handle_information: PVOID,
) -> NTSTATUS {
    with_state(|state| {
        if above_passive(state, "ObReferenceObjectByHandle") {
            return status(NtStatus::INVALID_LEVEL);
        }
        let Some(handle) = state.objects.handle(handle as usize).cloned() else {
            return status(NtStatus::INVALID_HANDLE);
        };
        let section = match handle.object {
            Object::Section(section) if core::ptr::eq(object_type as *const u64, &SECTION_OBJECT_TYPE) => section,
            _ => return status(NtStatus::OBJECT_TYPE_MISMATCH),
        };
        if desired_access & !handle.access != 0 {
            return status(NtStatus::ACCESS_DENIED);
        }
        let pointer = state.objects.reference_section(section);
        // SAFETY: valid out-pointer.
        unsafe { object.write(pointer as PVOID) };
        status(NtStatus::SUCCESS)
    })
}

/// `ObfReferenceObject` of a referenced object or a process: referencing
/// anything else is bug check 0x18 (REFERENCE_BY_POINTER).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ObfReferenceObject(object: PVOID) -> isize {
    with_state(|state| {
        if !state.objects.reference(object as usize) {
            state.violation(
                REFERENCE_BY_POINTER,
                [0, object as u64, 0, 0],
                format!("ObfReferenceObject of {object:p}, which is not an object"),
            );
        }
        1
    })
}

/// `ObfDereferenceObject`: `<= DISPATCH_LEVEL`; releasing a reference that
/// is not held is bug check 0x18 (REFERENCE_BY_POINTER).
///
/// # Safety
/// As the kernel's.
pub unsafe extern "system" fn ObfDereferenceObject(object: PVOID) -> isize {
    with_state(|state| {
        if irql_above(state, "ObfDereferenceObject", 2) {
            return 0;
        }
        if !state.objects.dereference(object as usize) {
            state.violation(
                REFERENCE_BY_POINTER,
                [0, object as u64, 0, 0],
                format!("ObfDereferenceObject of {object:p}, which holds no reference"),
            );
        }
        0
    })
}

/// `IoGetCurrentProcess`: the current thread's process (see
/// `model::UserProcess::run`).
///
/// # Safety
/// None beyond the kernel's (any IRQL).
pub unsafe extern "system" fn IoGetCurrentProcess() -> PVOID {
    ProcessTable::pointer(process::current()) as PVOID
}

/// `MmMapViewInSystemSpace` of a referenced section object: the whole
/// section from offset 0 (`*view_size` 0) or its first `*view_size` bytes,
/// with the section's protection (a write-copy section maps read-only).
/// `<= APC_LEVEL`.
///
/// # Safety
/// As the kernel's: valid pointers.
unsafe extern "system" fn mm_map_view_in_system_space(
    section: PVOID,
    mapped_base: *mut PVOID,
    view_size: PSIZE_T,
) -> NTSTATUS {
    // SAFETY: valid in/out pointer.
    let requested: u64 = unsafe { *view_size };
    with_state(|state| {
        if irql_above(state, "MmMapViewInSystemSpace", 1) {
            return status(NtStatus::INVALID_LEVEL);
        }
        let Some(section) = state.objects.referenced_section(section as usize) else {
            state.violation(
                BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION,
                [BAD_SECTION_OBJECT, section as u64, 0, 0],
                format!("MmMapViewInSystemSpace of {section:p}, which is not a referenced section object"),
            );
            return status(NtStatus::INVALID_PARAMETER);
        };
        let size = if requested == 0 { section.size } else { requested };
        if size > section.size {
            return status(NtStatus::INVALID_VIEW_SIZE);
        }
        if state.faults.should_fail("MmMapViewInSystemSpace", None, size as usize) {
            return status(NtStatus::NO_MEMORY);
        }
        let mapping = if section.protection == PAGE_READWRITE { Mapping::ReadWrite } else { Mapping::ReadOnly };
        let mapped = page_round(size) as usize;
        let address = state.objects.map_view(section, 0, mapped, mapping, Space::System);
        if address.is_null() {
            return status(NtStatus::NO_MEMORY);
        }
        // SAFETY: valid out-pointers.
        unsafe {
            mapped_base.write(address.cast());
            view_size.write(mapped as SIZE_T);
        }
        status(NtStatus::SUCCESS)
    })
}

/// `MmUnmapViewInSystemSpace`: `<= APC_LEVEL`.
///
/// # Safety
/// As the kernel's.
unsafe extern "system" fn mm_unmap_view_in_system_space(mapped_base: PVOID) -> NTSTATUS {
    with_state(|state| {
        if irql_above(state, "MmUnmapViewInSystemSpace", 1) {
            return status(NtStatus::INVALID_LEVEL);
        }
        status(state.objects.unmap_view(mapped_base as usize, Space::System))
    })
}

/// Model hook: the driver touches `size` bytes of a system-space view at
/// `address` through a reference. Views are pageable memory: above
/// APC_LEVEL Windows takes a page fault it cannot service there (with
/// Driver Verifier's IRQL checking, at every such touch): 0xD1.
pub fn note_view_access(address: PVOID, size: usize, write: bool) {
    with_state(|state| {
        let level = super::super::irql::get();
        if level > 1 && state.objects.in_system_view(address as usize, size) {
            state.pageable_touch_at_raised_irql(address as usize, size, write, level, "a system-space view");
        }
    });
}

/// What `MmGetSystemRoutineAddress` finds of this file.
pub(super) fn section_export(name: &str) -> Option<usize> {
    match name {
        "ZwQuerySection" => Some(zw_query_section as PFN_ZW_QUERY_SECTION as usize),
        "MmMapViewInSystemSpace" => Some(mm_map_view_in_system_space as PFN_MM_MAP_VIEW_IN_SYSTEM_SPACE as usize),
        "MmUnmapViewInSystemSpace" => Some(mm_unmap_view_in_system_space as PFN_MM_UNMAP_VIEW_IN_SYSTEM_SPACE as usize),
        "MmSectionObjectType" => Some(&MM_SECTION_OBJECT_TYPE as *const &u64 as usize),
        _ => None,
    }
}

/// The model's SEH shim copy (`src/sys/seh/probe.c` on Windows,
/// `ProbeForRead` and the copy under one `__try`): `len` bytes from the
/// current process's user address `user` to `dst`, or
/// `STATUS_ACCESS_VIOLATION` (nothing copied) where the probe or a touch
/// would raise: a range ending above `MmUserProbeAddress`, outside the
/// process's views and user buffers, a page the process unmapped, protected
/// `PAGE_NOACCESS` or not committed. Above APC_LEVEL it is a DDI violation
/// (a page fault there is bug check 0xD1 on Windows).
///
/// # Safety
/// As the shim's: `dst` valid for `len` bytes of writes.
pub unsafe fn copy_from_user(dst: *mut u8, user: *const u8, len: usize) -> NTSTATUS {
    // SAFETY: per the contract.
    unsafe { copy_user(dst, user, len, user as usize, false) }
}

/// The model's SEH shim copy to user memory (`ProbeForWrite` and the copy);
/// see [`copy_from_user`] (a read-only page is a violation too).
///
/// # Safety
/// As the shim's: `src` valid for `len` bytes of reads.
pub unsafe fn copy_to_user(user: *mut u8, src: *const u8, len: usize) -> NTSTATUS {
    // SAFETY: per the contract.
    unsafe { copy_user(user, src, len, user as usize, true) }
}

/// The one body of both copies: `user` is the user end (`dst` when `write`).
///
/// # Safety
/// The kernel end is valid for `len` bytes.
unsafe fn copy_user(dst: *mut u8, src: *const u8, len: usize, user: usize, write: bool) -> NTSTATUS {
    with_state(|state| {
        if irql_above(state, "copy of user memory", 1) {
            return status(NtStatus::INVALID_LEVEL);
        }
        if let Err(error) = process::check_user_access(state, process::current(), user, len, write) {
            return status(error);
        }
        // SAFETY: checked: the user end is accessible as asked in a live view
        // or buffer of the current process; the kernel end per the contract.
        unsafe { core::ptr::copy_nonoverlapping(src, dst, len) };
        status(NtStatus::SUCCESS)
    })
}

/// `ZwAllocateVirtualMemory(ZwCurrentProcess(), .., MEM_COMMIT, ..)` over a
/// range of a view of the current process: commits the pages of a
/// `SEC_RESERVE` section (for every view of it); a no-op for a committed
/// section. Other uses are not modelled (`STATUS_NOT_IMPLEMENTED`).
///
/// # Safety
/// As the kernel's: valid pointers.
pub unsafe extern "system" fn ZwAllocateVirtualMemory(
    process_handle: HANDLE,
    base_address: *mut PVOID,
    _zero_bits: ULONG_PTR,
    region_size: PSIZE_T,
    allocation_type: ULONG,
    _protect: ULONG,
) -> NTSTATUS {
    // SAFETY: valid in/out pointers, per the contract.
    let (base, size) = unsafe { (*base_address as usize, *region_size as usize) };
    with_state(|state| {
        if above_passive(state, "ZwAllocateVirtualMemory") {
            return status(NtStatus::INVALID_LEVEL);
        }
        if process_handle != ZwCurrentProcess() || allocation_type != MEM_COMMIT || base == 0 {
            return status(NtStatus::NOT_IMPLEMENTED);
        }
        let start = base & !(PAGE as usize - 1);
        let Some(end) = base.checked_add(size).and_then(|end| end.checked_next_multiple_of(PAGE as usize)) else {
            return status(NtStatus::INVALID_PARAMETER);
        };
        if let Err(error) = state.objects.user_commit(process::current(), start, end - start) {
            return status(error);
        }
        // SAFETY: valid out-pointers.
        unsafe {
            base_address.write(start as PVOID);
            region_size.write((end - start) as SIZE_T);
        }
        status(NtStatus::SUCCESS)
    })
}
