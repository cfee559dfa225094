//! The model's section objects, views, files, handles and object namespace.

use std::{
    collections::HashMap,
    format,
    string::String,
    sync::{Arc, Weak},
    vec::Vec,
};

use super::{
    memory_file::{Mapping, MemoryFile},
    verifier::{BugCheck, Violation},
};

/// Parameter 1 of the model's own unload checks (0xC4) for resources Driver
/// Verifier has no dedicated unload check for: a kernel handle still open.
pub(super) const LEAKED_HANDLE: u64 = 0x1_0001;
/// ... and a view still mapped.
pub(super) const LEAKED_VIEW: u64 = 0x1_0002;

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

/// A mapped view: it keeps its section alive.
#[derive(Debug)]
struct View {
    section: Arc<SectionObject>,
    len: usize,
}

/// Handles, named sections, files and views of one session.
#[derive(Debug, Default)]
pub(super) struct ObjectState {
    handles: HashMap<usize, Handle>,
    next_handle: usize,
    names: HashMap<String, Weak<SectionObject>>,
    files: HashMap<String, Arc<MemoryFile>>,
    views: HashMap<usize, View>,
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

    /// Maps `len` bytes (page multiple) of `section` from `offset`.
    pub(super) fn map_view(
        &mut self,
        section: Arc<SectionObject>,
        offset: u64,
        len: usize,
        mapping: Mapping,
    ) -> *mut u8 {
        let address = section.memory.map(offset, len, mapping);
        if !address.is_null() {
            self.views.insert(address as usize, View { section, len });
        }
        address
    }

    /// Unmaps the view starting at `address`; false if there is none.
    pub(super) fn unmap_view(&mut self, address: usize) -> bool {
        let Some(view) = self.views.remove(&address) else { return false };
        // SAFETY: `address` and `view.len` are a live mapping made by `map_view`.
        unsafe { MemoryFile::unmap(address as *mut u8, view.len) };
        drop(view.section);
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
            let len = self.views[&address].len;
            let what = describe(&self.views[&address].section);
            violations.push(leak(
                LEAKED_VIEW,
                address as u64,
                format!("view at {address:#x} ({len} bytes of section {what}) never unmapped"),
            ));
            self.unmap_view(address);
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
