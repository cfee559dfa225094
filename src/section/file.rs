//! [`BackingFile`]: a file opened to back a section.

use core::ptr::null_mut;

use super::{
    ObjectName,
    handle::{close_handle, object_attributes},
};
use crate::{Irql, NtResult, NtStatus, sys};

/// How a [`BackingFile`] is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAccess {
    /// An existing file, read only (`GENERIC_READ`, `FILE_OPEN`): for
    /// read-only and write-copy sections.
    Read,
    /// An existing file, or a new empty one, read and write (`GENERIC_READ |
    /// GENERIC_WRITE`, `FILE_OPEN_IF`).
    ReadWrite,
}

/// An open file (a kernel handle from `ZwCreateFile`, closed on drop), used
/// with [`SectionBuilder::backed_by`](super::SectionBuilder::backed_by).
///
/// # Invariants
/// `handle` is an open kernel file handle owned by this value and closed
/// exactly once, in `Drop`.
#[derive(Debug)]
pub struct BackingFile {
    handle: sys::HANDLE,
}

// SAFETY: a kernel handle (OBJ_KERNEL_HANDLE) is valid in every thread and
// process context.
unsafe impl Send for BackingFile {}
// SAFETY: `&BackingFile` only lends the handle to ZwCreateSection.
unsafe impl Sync for BackingFile {}

impl BackingFile {
    /// Opens `path` (an NT path, e.g. `\??\C:\data.bin`) for synchronous,
    /// shared access. A path a request supplied must come
    /// [`with_access_check`](ObjectName::with_access_check), so that the open
    /// checks the requester's access to the file, not the kernel's.
    ///
    /// Errors: the statuses of `ZwCreateFile` (`STATUS_OBJECT_NAME_NOT_FOUND`,
    /// `STATUS_OBJECT_PATH_NOT_FOUND`, `STATUS_ACCESS_DENIED`, ...).
    ///
    /// # IRQL
    /// PASSIVE_LEVEL.
    pub fn open(path: ObjectName<'_>, access: FileAccess) -> NtResult<BackingFile> {
        Irql::ensure_at_most(Irql::PASSIVE)?;
        let (desired, disposition) = match access {
            FileAccess::Read => (sys::GENERIC_READ, sys::FILE_OPEN),
            FileAccess::ReadWrite => (sys::GENERIC_READ | sys::GENERIC_WRITE, sys::FILE_OPEN_IF),
        };
        let mut name = path.to_unicode_string();
        let mut attributes = object_attributes(&mut name, path.forces_access_check(), false);
        // SAFETY: IO_STATUS_BLOCK is plain data; all zeroes is a valid value.
        let mut io_status: sys::IO_STATUS_BLOCK = unsafe { core::mem::zeroed() };
        let mut handle = null_mut();
        // SAFETY: valid pointers for the call; no EA buffer.
        let status = unsafe {
            sys::ZwCreateFile(
                &mut handle,
                desired | sys::SYNCHRONIZE,
                &mut attributes,
                &mut io_status,
                null_mut(),
                sys::FILE_ATTRIBUTE_NORMAL,
                sys::FILE_SHARE_READ | sys::FILE_SHARE_WRITE,
                disposition,
                sys::FILE_SYNCHRONOUS_IO_NONALERT | sys::FILE_NON_DIRECTORY_FILE,
                null_mut(),
                0,
            )
        };
        NtStatus::from_raw(status).result()?;
        Ok(BackingFile { handle })
    }

    /// The handle, lent to `ZwCreateSection`.
    pub(super) fn raw(&self) -> sys::HANDLE {
        self.handle
    }
}

impl Drop for BackingFile {
    fn drop(&mut self) {
        let _ = close_handle(self.handle);
    }
}
