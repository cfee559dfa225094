//! `ZwCreateSection`, `ZwOpenSection`, `ZwMapViewOfSection`,
//! `ZwUnmapViewOfSection`, `ZwCreateFile` and `ZwClose`, with the statuses
//! Windows returns (checked against ReactOS's kernel-mode tests of
//! `ZwMapViewOfSection`, which pass on Windows).

use std::{format, string::String, sync::Arc};

use super::{
    super::{
        kernel::{State, with_state},
        memory_file::{Mapping, MemoryFile},
        section::{FileObject, Handle, Object, SectionObject},
        verifier::BugCheck,
    },
    irql_above, unicode_to_string,
};
use crate::{
    NtStatus,
    sys::{
        ACCESS_MASK, FILE_CREATE, FILE_CREATED, FILE_OPEN, FILE_OPEN_IF, FILE_OPENED, FILE_OVERWRITE_IF,
        FILE_OVERWRITTEN, FILE_SUPERSEDE, GENERIC_WRITE, HANDLE, MM_ALLOCATION_GRANULARITY, NTSTATUS, OBJ_OPENIF,
        PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY, PHANDLE, PIO_STATUS_BLOCK, PLARGE_INTEGER,
        POBJECT_ATTRIBUTES, PSIZE_T, PVOID, SEC_COMMIT, SEC_RESERVE, SECTION_INHERIT, SECTION_MAP_READ,
        SECTION_MAP_WRITE, SIZE_T, ULONG, ULONG_PTR, ZwCurrentProcess,
    },
};

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
            let handle =
                state.objects.insert_handle(Handle { object: Object::Section(existing), access: desired_access });
            // SAFETY: valid out-pointer.
            unsafe { section_handle.write(handle as HANDLE) };
            return status(NtStatus::OBJECT_NAME_EXISTS);
        }
        if ![PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY].contains(&page_protection) {
            return status(NtStatus::INVALID_PAGE_PROTECTION);
        }
        // SEC_RESERVE is accepted for pagefile-backed sections; the model
        // commits every page (it has no ZwAllocateVirtualMemory to commit later).
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
        let section = Arc::new(SectionObject { memory, size, protection: page_protection, name: name.clone() });
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
    with_state(|state| {
        if above_passive(state, "ZwOpenSection") {
            return status(NtStatus::INVALID_LEVEL);
        }
        let Some(name) = name else { return status(NtStatus::OBJECT_NAME_INVALID) };
        let Some(section) = state.objects.named_section(&name) else {
            return status(NtStatus::OBJECT_NAME_NOT_FOUND);
        };
        let handle = state.objects.insert_handle(Handle { object: Object::Section(section), access: desired_access });
        // SAFETY: valid out-pointer.
        unsafe { section_handle.write(handle as HANDLE) };
        status(NtStatus::SUCCESS)
    })
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
        if offset >= section.size || size == 0 || offset + size > section.size {
            return status(NtStatus::INVALID_VIEW_SIZE);
        }
        if state.faults.should_fail("ZwMapViewOfSection", None, size as usize) {
            return status(NtStatus::NO_MEMORY);
        }
        let mapped = page_round(size) as usize;
        let address = state.objects.map_view(section, offset, mapped, mapping);
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

/// `ZwUnmapViewOfSection`.
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
        if state.objects.unmap_view(base_address as usize) {
            status(NtStatus::SUCCESS)
        } else {
            status(NtStatus::NOT_MAPPED_VIEW)
        }
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
