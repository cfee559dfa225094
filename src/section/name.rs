//! [`ObjectName`]: a name in the kernel's object namespace, as UTF-16.

use crate::{NtResult, NtStatus, sys};

/// A kernel object name such as `\BaseNamedObjects\WdmMemSample` (sections)
/// or `\??\C:\data.bin` (files), in UTF-16 as the kernel takes it.
///
/// Build one at compile time with [`object_name!`](crate::object_name) or from
/// UTF-16 at run time with [`ObjectName::new`].
///
/// # Names from requests
/// The crate opens and creates objects from kernel mode with kernel
/// handles, so the object manager checks no access unless asked: a name or
/// path that a request supplied (an IOCTL's input) would let any caller
/// reach what only the kernel may (`\Device\PhysicalMemory`, a system
/// file), a confused deputy. Such a name must be marked
/// [`with_access_check`](Self::with_access_check) (`OBJ_FORCE_ACCESS_CHECK`):
/// the open is then checked against the requester's token, as if the
/// requester had made it; call it in the requester's context (the dispatch
/// routine of its request). Names the driver itself chose (constants, names
/// it built) need no check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectName<'a> {
    utf16: &'a [u16],
    force_access_check: bool,
}

impl<'a> ObjectName<'a> {
    /// A name from UTF-16 code units: non-empty, at most 32767 units (a
    /// `UNICODE_STRING` counts bytes in a `u16`), else
    /// [`NtStatus::OBJECT_NAME_INVALID`].
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn new(utf16: &'a [u16]) -> NtResult<ObjectName<'a>> {
        if utf16.is_empty() || utf16.len() > (u16::MAX / 2) as usize {
            Err(NtStatus::OBJECT_NAME_INVALID)
        } else {
            Ok(ObjectName { utf16, force_access_check: false })
        }
    }

    /// This name, opened with `OBJ_FORCE_ACCESS_CHECK`: for names and paths
    /// a request supplied (see [Names from requests](Self#names-from-requests)).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn with_access_check(self) -> ObjectName<'a> {
        ObjectName { force_access_check: true, ..self }
    }

    /// Whether opens of this name check the requester's access.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn forces_access_check(&self) -> bool {
        self.force_access_check
    }

    /// The UTF-16 code units.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn as_utf16(&self) -> &'a [u16] {
        self.utf16
    }

    /// A `UNICODE_STRING` over the name, valid while `self` is.
    pub(crate) fn to_unicode_string(self) -> sys::UNICODE_STRING {
        let bytes = (self.utf16.len() * 2) as u16;
        sys::UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: self.utf16.as_ptr().cast_mut() }
    }
}

/// An [`ObjectName`] from an ASCII string literal, checked and converted at
/// compile time: `object_name!("\\BaseNamedObjects\\WdmMemSample")`.
///
/// ```compile_fail
/// let empty = wdm_mem::object_name!(""); // an empty name does not compile
/// ```
#[macro_export]
macro_rules! object_name {
    ($name:literal) => {{
        const UTF16: [u16; $name.len()] = $crate::sys::utf16(match $name.as_bytes().first_chunk() {
            Some(bytes) => bytes,
            None => unreachable!(),
        });
        const NAME: $crate::section::ObjectName<'static> = match $crate::section::ObjectName::new(&UTF16) {
            Ok(name) => name,
            Err(_) => panic!("an object name is 1 to 32767 characters"),
        };
        NAME
    }};
}
