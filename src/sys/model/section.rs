//! The model's section objects, views, files, handles and object namespace.

use std::{
    collections::HashMap,
    format,
    string::String,
    sync::{Arc, Mutex, Weak},
    vec::Vec,
};

use super::{
    memory_file::{HostAccess, Mapping, MemoryFile},
    process::{ProcessTable, SYSTEM_PROCESS},
    verifier::{BugCheck, Violation},
};
use crate::NtStatus;

/// Parameter 1 of the model's own unload checks (0xC4) for resources Driver
/// Verifier has no dedicated unload check for: a kernel handle still open.
pub(super) const LEAKED_HANDLE: u64 = 0x1_0001;
/// ... and a view still mapped.
pub(super) const LEAKED_VIEW: u64 = 0x1_0002;
/// ... and an object reference (`ObReferenceObjectByHandle`,
/// `ObfReferenceObject`) never released.
pub(super) const LEAKED_REFERENCE: u64 = 0x1_0003;
/// ... and `MmMapViewInSystemSpace` of a pointer that is not a referenced
/// section object.
pub(super) const BAD_SECTION_OBJECT: u64 = 0x1_0004;

const PAGE: usize = 4096;

/// A section object.
#[derive(Debug)]
pub(super) struct SectionObject {
    pub(super) memory: Arc<MemoryFile>,
    /// The section's size in bytes (the memory file may be larger: pages).
    pub(super) size: u64,
    /// `PAGE_READONLY`, `PAGE_READWRITE` or `PAGE_WRITECOPY`.
    pub(super) protection: u32,
    /// Its name in the namespace, lower-cased.
    pub(super) name: Option<String>,
    /// `SEC_RESERVE`: which of its pages are committed (a page is committed
    /// by a process that maps the section, for every view of it). `None`
    /// for a committed (`SEC_COMMIT`) or file-backed section.
    pub(super) committed: Option<Mutex<Vec<bool>>>,
    /// Backed by a file (`SEC_FILE` in `ZwQuerySection`).
    pub(super) file_backed: bool,
    /// Created with a security descriptor, or a privileged object such as
    /// `\Device\PhysicalMemory`: an open with `OBJ_FORCE_ACCESS_CHECK` from
    /// a user process's context is denied (the model grants user callers no
    /// access to such objects, whatever the descriptor says: stricter than
    /// Windows for descriptors that grant them access).
    pub(super) restricted: bool,
}

impl SectionObject {
    /// Whether the section page `page` is committed.
    fn is_committed(&self, page: usize) -> bool {
        match &self.committed {
            None => true,
            Some(pages) => pages.lock().unwrap_or_else(|p| p.into_inner()).get(page).copied().unwrap_or(false),
        }
    }
}

/// A file of the model's file system.
#[derive(Debug)]
pub(super) struct FileObject {
    pub(super) memory: Arc<MemoryFile>,
    pub(super) writable: bool,
}

/// What a handle refers to.
#[derive(Clone, Debug)]
pub(super) enum Object {
    Section(Arc<SectionObject>),
    File(Arc<FileObject>),
}

/// An open handle: the object and the access granted.
#[derive(Clone, Debug)]
pub(super) struct Handle {
    pub(super) object: Object,
    pub(super) access: u32,
}

/// Where a view lives: system space (`MmMapViewInSystemSpace`, every
/// process context), or the user address space of a process (its id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Space {
    System,
    User(u64),
}

/// What a page of a view allows now (the view's protection, changed by the
/// owning process with `VirtualProtect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PageAccess {
    NoAccess,
    Read,
    Write,
}

/// A mapped view: it keeps its section alive.
#[derive(Debug)]
struct View {
    section: Arc<SectionObject>,
    /// The offset in the section (page multiple).
    offset: u64,
    len: usize,
    mapping: Mapping,
    space: Space,
    /// Per page.
    pages: Vec<PageAccess>,
    /// Unmapped by its process (or by the process's exit) while the driver
    /// still holds it: the address range is reserved inaccessible until the
    /// driver's own unmap, so that it cannot be reused under the driver.
    gone: bool,
}

impl View {
    /// Whether page `index` of the view may be read (or written) now.
    fn allows(&self, index: usize, write: bool) -> bool {
        let page_in_section = self.offset as usize / PAGE + index;
        let access = self.pages[index];
        !self.gone
            && self.section.is_committed(page_in_section)
            && match access {
                PageAccess::NoAccess => false,
                PageAccess::Read => !write,
                PageAccess::Write => true,
            }
    }

    /// Makes the host pages' protection what the view's pages allow.
    fn apply_protection(&self, base: usize) {
        for index in 0..self.pages.len() {
            let access = if !self.allows(index, false) {
                HostAccess::None
            } else if self.allows(index, true) {
                HostAccess::ReadWrite
            } else {
                HostAccess::Read
            };
            // SAFETY: the page belongs to a live mapping of this view.
            unsafe { MemoryFile::protect((base + index * PAGE) as *mut u8, PAGE, access) };
        }
    }
}

/// What an object reference holds.
#[derive(Debug)]
enum Referenced {
    Section(Arc<SectionObject>),
    Process(u64),
}

/// A referenced object: the reference count the driver holds.
#[derive(Debug)]
struct Reference {
    object: Referenced,
    count: usize,
}

/// Handles, named sections, files and views of one session.
#[derive(Debug, Default)]
pub(super) struct ObjectState {
    handles: HashMap<usize, Handle>,
    next_handle: usize,
    names: HashMap<String, Weak<SectionObject>>,
    files: HashMap<String, Arc<MemoryFile>>,
    views: HashMap<usize, View>,
    references: HashMap<usize, Reference>,
    pub(super) processes: ProcessTable,
}

/// Kernel handles have the top bit set on x64 (OBJ_KERNEL_HANDLE).
const KERNEL_HANDLE_BASE: usize = 0xFFFF_FFFF_8000_0000;

impl ObjectState {
    pub(super) fn insert_handle(&mut self, handle: Handle) -> usize {
        self.next_handle += 4;
        let value = KERNEL_HANDLE_BASE + self.next_handle;
        self.handles.insert(value, handle);
        value
    }

    pub(super) fn handle(&self, value: usize) -> Option<&Handle> {
        self.handles.get(&value)
    }

    pub(super) fn close_handle(&mut self, value: usize) -> Option<Handle> {
        self.handles.remove(&value)
    }

    /// The live section named `name` (lower-cased).
    pub(super) fn named_section(&self, name: &str) -> Option<Arc<SectionObject>> {
        self.names.get(name).and_then(Weak::upgrade)
    }

    pub(super) fn name_section(&mut self, name: String, section: &Arc<SectionObject>) {
        self.names.insert(name, Arc::downgrade(section));
    }

    pub(super) fn file(&self, name: &str) -> Option<Arc<MemoryFile>> {
        self.files.get(name).cloned()
    }

    pub(super) fn insert_file(&mut self, name: String, memory: Arc<MemoryFile>) {
        self.files.insert(name, memory);
    }

    /// Creates or replaces the file `name` (lower-cased) with `contents`.
    pub(super) fn write_file(&mut self, name: String, contents: &[u8]) -> Result<(), crate::NtStatus> {
        let memory = match self.file(&name) {
            Some(memory) => memory,
            None => Arc::new(MemoryFile::new(0)?),
        };
        memory.write_all(contents)?;
        self.insert_file(name, memory);
        Ok(())
    }

    /// The contents of the file `name` (lower-cased).
    pub(super) fn file_contents(&self, name: &str) -> Option<Vec<u8>> {
        self.files.get(name).map(|memory| memory.contents())
    }

    /// Maps `len` bytes (page multiple) of `section` from `offset` into
    /// `space`.
    pub(super) fn map_view(
        &mut self,
        section: Arc<SectionObject>,
        offset: u64,
        len: usize,
        mapping: Mapping,
        space: Space,
    ) -> *mut u8 {
        let address = section.memory.map(offset, len, mapping);
        if !address.is_null() {
            let access = match mapping {
                Mapping::NoAccess => PageAccess::NoAccess,
                Mapping::ReadOnly => PageAccess::Read,
                Mapping::ReadWrite | Mapping::WriteCopy => PageAccess::Write,
            };
            let pages = std::vec![access; len.div_ceil(PAGE)];
            let view = View { section, offset, len, mapping, space, pages, gone: false };
            if view.section.committed.is_some() {
                view.apply_protection(address as usize);
            }
            self.views.insert(address as usize, view);
        }
        address
    }

    /// Unmaps the view starting at `address` in `space`: `STATUS_SUCCESS`;
    /// `STATUS_NOT_MAPPED_VIEW` when there is none there, or when its process
    /// unmapped it first (the reservation is released then).
    pub(super) fn unmap_view(&mut self, address: usize, space: Space) -> NtStatus {
        match self.views.get(&address) {
            Some(view) if view.space == space => {}
            _ => return NtStatus::NOT_MAPPED_VIEW,
        }
        let view = self.views.remove(&address).expect("just found");
        // SAFETY: `address` and `view.len` are a live mapping made by `map_view`.
        unsafe { MemoryFile::unmap(address as *mut u8, view.len) };
        if view.gone { NtStatus::NOT_MAPPED_VIEW } else { NtStatus::SUCCESS }
    }

    /// Whether `address..address + len` lies in a system-space view.
    pub(super) fn in_system_view(&self, address: usize, len: usize) -> bool {
        self.views.iter().any(|(base, view)| {
            view.space == Space::System
                && address >= *base
                && address.checked_add(len).is_some_and(|end| end <= base + view.len)
        })
    }

    /// The view of `process` containing `address..address + len`.
    fn user_view(&self, process: u64, address: usize, len: usize) -> Option<(usize, &View)> {
        self.views.iter().map(|(base, view)| (*base, view)).find(|(base, view)| {
            view.space == Space::User(process)
                && address >= *base
                && address.checked_add(len).is_some_and(|end| end <= base + view.len)
        })
    }

    /// Whether the page at `page` lies in a view of `process` (`Some`), and
    /// if so whether the current state of that page lets it be read (or
    /// written): not unmapped by the process, committed, and protected to
    /// allow it.
    pub(super) fn view_allows(&self, process: u64, page: usize, write: bool) -> Option<bool> {
        let (base, view) = self.user_view(process, page, 1)?;
        Some(view.allows((page - base) / PAGE, write))
    }

    /// `process` unmaps its view at `address` (`UnmapViewOfFile`).
    pub(super) fn user_unmap(&mut self, process: u64, address: usize) -> Result<(), NtStatus> {
        let view = match self.views.get_mut(&address) {
            Some(view) if view.space == Space::User(process) && !view.gone => view,
            _ => return Err(NtStatus::NOT_MAPPED_VIEW),
        };
        view.gone = true;
        view.apply_protection(address);
        Ok(())
    }

    /// `process` changes the protection of `len` bytes at `address` of one
    /// of its views (`VirtualProtect`).
    pub(super) fn user_protect(
        &mut self,
        process: u64,
        address: usize,
        len: usize,
        protection: u32,
    ) -> Result<(), NtStatus> {
        use crate::sys::{PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE};
        let (base, _) = self.user_view(process, address, len.max(1)).ok_or(NtStatus::INVALID_PARAMETER)?;
        let view = self.views.get_mut(&base).expect("just found");
        if view.gone {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let access = match protection {
            PAGE_NOACCESS => PageAccess::NoAccess,
            PAGE_READONLY => PageAccess::Read,
            PAGE_READWRITE if matches!(view.mapping, Mapping::ReadWrite | Mapping::WriteCopy) => PageAccess::Write,
            PAGE_READWRITE => return Err(NtStatus::SECTION_PROTECTION),
            _ => return Err(NtStatus::INVALID_PAGE_PROTECTION),
        };
        let first = (address - base) / PAGE;
        let last = (address - base + len.max(1) - 1) / PAGE;
        for page in first..=last {
            view.pages[page] = access;
        }
        view.apply_protection(base);
        Ok(())
    }

    /// `process` commits `len` bytes at `address` of its view of a
    /// `SEC_RESERVE` section (`VirtualAlloc(MEM_COMMIT)`): for every view.
    pub(super) fn user_commit(&mut self, process: u64, address: usize, len: usize) -> Result<(), NtStatus> {
        let (base, view) = self.user_view(process, address, len.max(1)).ok_or(NtStatus::INVALID_PARAMETER)?;
        let Some(committed) = &view.section.committed else { return Ok(()) };
        let first = view.offset as usize / PAGE + (address - base) / PAGE;
        let last = view.offset as usize / PAGE + (address - base + len.max(1) - 1) / PAGE;
        {
            let mut pages = committed.lock().unwrap_or_else(|p| p.into_inner());
            for page in first..=last {
                pages[page] = true;
            }
        }
        let section = view.section.clone();
        for (base, view) in &self.views {
            if Arc::ptr_eq(&view.section, &section) {
                view.apply_protection(*base);
            }
        }
        Ok(())
    }

    /// `process` exits: the kernel unmaps its views.
    pub(super) fn process_exited(&mut self, process: u64) {
        for (base, view) in self.views.iter_mut() {
            if view.space == Space::User(process) && !view.gone {
                view.gone = true;
                view.apply_protection(*base);
            }
        }
    }

    /// One more reference to the section object of a handle; its pointer.
    pub(super) fn reference_section(&mut self, section: Arc<SectionObject>) -> usize {
        let pointer = Arc::as_ptr(&section) as usize;
        let entry =
            self.references.entry(pointer).or_insert(Reference { object: Referenced::Section(section), count: 0 });
        entry.count += 1;
        pointer
    }

    /// The section object a referenced pointer names.
    pub(super) fn referenced_section(&self, pointer: usize) -> Option<Arc<SectionObject>> {
        match &self.references.get(&pointer)?.object {
            Referenced::Section(section) => Some(section.clone()),
            Referenced::Process(_) => None,
        }
    }

    /// `ObfReferenceObject`: false for a pointer the model does not know.
    pub(super) fn reference(&mut self, pointer: usize) -> bool {
        if let Some(entry) = self.references.get_mut(&pointer) {
            entry.count += 1;
            return true;
        }
        match self.processes.id_of(pointer) {
            Some(process) => {
                self.references.insert(pointer, Reference { object: Referenced::Process(process), count: 1 });
                true
            }
            None => false,
        }
    }

    /// `ObfDereferenceObject`: false for a pointer with no reference.
    pub(super) fn dereference(&mut self, pointer: usize) -> bool {
        let Some(entry) = self.references.get_mut(&pointer) else { return false };
        entry.count -= 1;
        if entry.count == 0 {
            self.references.remove(&pointer);
        }
        true
    }

    /// At unload: a violation per leaked handle and view; then everything is
    /// released so the test process does not grow.
    pub(super) fn report_leaks(&mut self, violations: &mut Vec<Violation>) {
        let mut handles: Vec<_> = self.handles.drain().collect();
        handles.sort_by_key(|(value, _)| *value);
        for (value, handle) in handles {
            let what = match &handle.object {
                Object::Section(section) => format!("section {}", describe(section)),
                Object::File(_) => String::from("file"),
            };
            violations.push(leak(
                LEAKED_HANDLE,
                value as u64,
                format!("kernel handle {value:#x} ({what}) never closed"),
            ));
        }
        let mut views: Vec<_> = self.views.keys().copied().collect();
        views.sort_unstable();
        for address in views {
            let view = &self.views[&address];
            let (len, space, what) = (view.len, view.space, describe(&view.section));
            // A view its process's exit unmapped is the kernel's to clean up
            // (the driver's reference to the process shows if it leaked).
            let exited =
                matches!(space, Space::User(process) if process != SYSTEM_PROCESS && !self.processes.alive(process));
            if !exited {
                violations.push(leak(
                    LEAKED_VIEW,
                    address as u64,
                    format!("view at {address:#x} ({len} bytes of section {what}, {space:?}) never unmapped"),
                ));
            }
            self.unmap_view(address, space);
        }
        let mut references: Vec<_> = self.references.drain().collect();
        references.sort_by_key(|(pointer, _)| *pointer);
        for (pointer, reference) in references {
            let what = match reference.object {
                Referenced::Section(_) => String::from("a section object"),
                Referenced::Process(process) => format!("process {process}"),
            };
            violations.push(leak(
                LEAKED_REFERENCE,
                pointer as u64,
                format!("{} reference(s) to {what} at {pointer:#x} never released", reference.count),
            ));
        }
    }
}

fn describe(section: &SectionObject) -> String {
    match &section.name {
        Some(name) => format!("{name:?} of {} bytes", section.size),
        None => format!("of {} bytes", section.size),
    }
}

fn leak(kind: u64, what: u64, message: String) -> Violation {
    Violation {
        bug_check: BugCheck { code: BugCheck::DRIVER_VERIFIER_DETECTED_VIOLATION, params: [kind, what, 0, 0] },
        message,
    }
}
