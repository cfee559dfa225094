//! `NTSTATUS` as a type: [`NtStatus`], with the NT_SUCCESS / NT_INFORMATION /
//! NT_WARNING / NT_ERROR classification of `ntdef.h`, symbolic names for the
//! common codes, and the conversion to a [`Result`].

use core::fmt;

/// An `NTSTATUS` value.
///
/// The two top bits are the severity: `00` success, `01` informational, `10`
/// warning, `11` error. [`NtStatus::is_success`] is `NT_SUCCESS` (success *or*
/// informational): `STATUS_PENDING` (0x103) and `STATUS_OBJECT_NAME_EXISTS`
/// succeed, while the warning `STATUS_BUFFER_OVERFLOW` does not, although it
/// is not an error either. Code that treats "anything but 0" as an error gets
/// these wrong; this type does not.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct NtStatus(i32);

/// The result of a kernel operation: a value, or the failing status.
pub type NtResult<T> = Result<T, NtStatus>;

/// The severity field of an [`NtStatus`] (its two top bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// `STATUS_SEVERITY_SUCCESS` (0).
    Success,
    /// `STATUS_SEVERITY_INFORMATIONAL` (1).
    Informational,
    /// `STATUS_SEVERITY_WARNING` (2).
    Warning,
    /// `STATUS_SEVERITY_ERROR` (3).
    Error,
}

macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        impl NtStatus {
            $($(#[$doc])* pub const $name: NtStatus = NtStatus($value as u32 as i32);)*

            /// The symbolic name (`STATUS_...`) of a code this crate knows, if any.
            ///
            /// # IRQL
            /// Any: no kernel call, no pageable memory touched.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 as u32 {
                    $($value => Some(concat!("STATUS_", stringify!($name))),)*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    /// `STATUS_SUCCESS`.
    SUCCESS = 0x0000_0000,
    /// `STATUS_PENDING`: success severity; the operation completes later.
    PENDING = 0x0000_0103,
    /// `STATUS_BUFFER_OVERFLOW`: a warning, not a success.
    BUFFER_OVERFLOW = 0x8000_0005,
    /// `STATUS_NO_MORE_ENTRIES`: a warning.
    NO_MORE_ENTRIES = 0x8000_001A,
    /// `STATUS_OBJECT_NAME_EXISTS`: informational (`OBJ_OPENIF` opened an existing object).
    OBJECT_NAME_EXISTS = 0x4000_0000,
    /// `STATUS_IMAGE_NOT_AT_BASE`: informational (a view was mapped elsewhere).
    IMAGE_NOT_AT_BASE = 0x4000_0003,
    /// `STATUS_UNSUCCESSFUL`.
    UNSUCCESSFUL = 0xC000_0001,
    /// `STATUS_NOT_IMPLEMENTED`.
    NOT_IMPLEMENTED = 0xC000_0002,
    /// `STATUS_ACCESS_VIOLATION`: what probing a bad address raises.
    ACCESS_VIOLATION = 0xC000_0005,
    /// `STATUS_INVALID_HANDLE`.
    INVALID_HANDLE = 0xC000_0008,
    /// `STATUS_INVALID_PARAMETER`.
    INVALID_PARAMETER = 0xC000_000D,
    /// `STATUS_NO_MEMORY`.
    NO_MEMORY = 0xC000_0017,
    /// `STATUS_CONFLICTING_ADDRESSES`.
    CONFLICTING_ADDRESSES = 0xC000_0018,
    /// `STATUS_INVALID_DEVICE_REQUEST`: an unknown IOCTL.
    INVALID_DEVICE_REQUEST = 0xC000_0010,
    /// `STATUS_ACCESS_DENIED`.
    ACCESS_DENIED = 0xC000_0022,
    /// `STATUS_BUFFER_TOO_SMALL`.
    BUFFER_TOO_SMALL = 0xC000_0023,
    /// `STATUS_OBJECT_NAME_INVALID`.
    OBJECT_NAME_INVALID = 0xC000_0033,
    /// `STATUS_OBJECT_NAME_NOT_FOUND`.
    OBJECT_NAME_NOT_FOUND = 0xC000_0034,
    /// `STATUS_OBJECT_NAME_COLLISION`.
    OBJECT_NAME_COLLISION = 0xC000_0035,
    /// `STATUS_OBJECT_PATH_NOT_FOUND`.
    OBJECT_PATH_NOT_FOUND = 0xC000_003A,
    /// `STATUS_SECTION_TOO_BIG`.
    SECTION_TOO_BIG = 0xC000_0040,
    /// `STATUS_INVALID_PAGE_PROTECTION`.
    INVALID_PAGE_PROTECTION = 0xC000_0045,
    /// `STATUS_MAPPED_ALIGNMENT`: a view offset off the allocation granularity.
    MAPPED_ALIGNMENT = 0xC000_0220,
    /// `STATUS_INSUFFICIENT_RESOURCES`: what a NULL allocation means.
    INSUFFICIENT_RESOURCES = 0xC000_009A,
    /// `STATUS_INVALID_VIEW_SIZE`.
    INVALID_VIEW_SIZE = 0xC000_001F,
    /// `STATUS_NOT_SUPPORTED`.
    NOT_SUPPORTED = 0xC000_00BB,
    /// `STATUS_INTEGER_OVERFLOW`: a size computation overflowed.
    INTEGER_OVERFLOW = 0xC000_0095,
    /// `STATUS_INVALID_LEVEL`: this crate's answer to a call above its maximum IRQL.
    INVALID_LEVEL = 0xC000_0148,
    /// `STATUS_DATATYPE_MISALIGNMENT`: a *warning* (severity 2), which the
    /// I/O manager treats as partial success. Never returned by this crate as
    /// an error: see [`DATATYPE_MISALIGNMENT_ERROR`](Self::DATATYPE_MISALIGNMENT_ERROR).
    DATATYPE_MISALIGNMENT = 0x8000_0002,
    /// `STATUS_DATATYPE_MISALIGNMENT_ERROR`: a misaligned access or offset, as
    /// an error (NT_ERROR). What this crate returns for misalignment.
    DATATYPE_MISALIGNMENT_ERROR = 0xC000_02C5,
    /// `STATUS_INVALID_DEVICE_STATE`.
    INVALID_DEVICE_STATE = 0xC000_0184,
    /// `STATUS_PROCEDURE_NOT_FOUND`: an export the running kernel lacks.
    PROCEDURE_NOT_FOUND = 0xC000_007A,
    /// `STATUS_SECTION_PROTECTION`: a view protection the section does not allow.
    SECTION_PROTECTION = 0xC000_004E,
    /// `STATUS_INVALID_PARAMETER_4`: e.g. a pagefile-backed section of size 0.
    INVALID_PARAMETER_4 = 0xC000_00F3,
    /// `STATUS_OBJECT_TYPE_MISMATCH`.
    OBJECT_TYPE_MISMATCH = 0xC000_0024,
    /// `STATUS_NOT_MAPPED_VIEW`.
    NOT_MAPPED_VIEW = 0xC000_0019,
    /// `STATUS_MAPPED_FILE_SIZE_ZERO`: a file-backed section over an empty file.
    MAPPED_FILE_SIZE_ZERO = 0xC000_011E,
    /// `STATUS_END_OF_FILE`.
    END_OF_FILE = 0xC000_0011,
    /// `STATUS_DATA_ERROR`: the data is not what it should be.
    DATA_ERROR = 0xC000_003E,
    /// `STATUS_SHARING_VIOLATION`: e.g. an exclusive lock of a pageable static
    /// while another guard of it is alive.
    SHARING_VIOLATION = 0xC000_0043,
    /// `STATUS_CANNOT_DELETE`: e.g. a lookaside list with entries still out.
    CANNOT_DELETE = 0xC000_0121,
}

impl NtStatus {
    /// Wraps a raw `NTSTATUS`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn from_raw(raw: i32) -> Self {
        Self(raw)
    }

    /// The raw `NTSTATUS`, as the kernel takes it.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn to_raw(self) -> i32 {
        self.0
    }

    /// The severity field (bits 30-31).
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn severity(self) -> Severity {
        match (self.0 as u32) >> 30 {
            0 => Severity::Success,
            1 => Severity::Informational,
            2 => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// `NT_SUCCESS`: success or informational severity.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn is_success(self) -> bool {
        self.0 >= 0
    }

    /// `NT_INFORMATION`: informational severity only.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn is_information(self) -> bool {
        matches!(self.severity(), Severity::Informational)
    }

    /// `NT_WARNING`: warning severity.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn is_warning(self) -> bool {
        matches!(self.severity(), Severity::Warning)
    }

    /// `NT_ERROR`: error severity.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn is_error(self) -> bool {
        matches!(self.severity(), Severity::Error)
    }

    /// `Ok(self)` when [`is_success`](Self::is_success) (the informational
    /// code is kept: `STATUS_OBJECT_NAME_EXISTS` is worth seeing), `Err(self)`
    /// for warnings and errors.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn ok(self) -> NtResult<NtStatus> {
        if self.is_success() { Ok(self) } else { Err(self) }
    }

    /// [`ok`](Self::ok) without the success code.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub const fn result(self) -> NtResult<()> {
        if self.is_success() { Ok(()) } else { Err(self) }
    }
}

impl From<NtStatus> for i32 {
    fn from(status: NtStatus) -> i32 {
        status.0
    }
}

impl<T> From<NtResult<T>> for NtStatus {
    /// What a dispatch routine returns: `STATUS_SUCCESS` or the error.
    fn from(result: NtResult<T>) -> NtStatus {
        match result {
            Ok(_) => NtStatus::SUCCESS,
            Err(status) => status,
        }
    }
}

impl fmt::Debug for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#010X})", self.0 as u32),
            None => write!(f, "NTSTATUS({:#010X})", self.0 as u32),
        }
    }
}

impl fmt::Display for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    #[test]
    fn classification_follows_ntdef() {
        let cases = [
            (NtStatus::SUCCESS, true, false, false, false),
            (NtStatus::PENDING, true, false, false, false),
            (NtStatus::OBJECT_NAME_EXISTS, true, true, false, false),
            (NtStatus::BUFFER_OVERFLOW, false, false, true, false),
            (NtStatus::INVALID_PARAMETER, false, false, false, true),
            (NtStatus::DATATYPE_MISALIGNMENT, false, false, true, false),
            (NtStatus::DATATYPE_MISALIGNMENT_ERROR, false, false, false, true),
        ];
        for (status, success, info, warning, error) in cases {
            assert_eq!(status.is_success(), success, "{status}");
            assert_eq!(status.is_information(), info, "{status}");
            assert_eq!(status.is_warning(), warning, "{status}");
            assert_eq!(status.is_error(), error, "{status}");
        }
    }

    #[test]
    fn results_keep_informational_codes_and_reject_warnings() {
        assert_eq!(NtStatus::OBJECT_NAME_EXISTS.ok(), Ok(NtStatus::OBJECT_NAME_EXISTS));
        assert_eq!(NtStatus::PENDING.result(), Ok(()));
        assert_eq!(NtStatus::BUFFER_OVERFLOW.result(), Err(NtStatus::BUFFER_OVERFLOW));
        assert_eq!(NtStatus::from(NtResult::<u8>::Err(NtStatus::NO_MEMORY)), NtStatus::NO_MEMORY);
        assert_eq!(NtStatus::from(NtResult::Ok(7u8)), NtStatus::SUCCESS);
    }

    #[test]
    fn debug_names_known_codes_and_prints_hex_for_others() {
        assert_eq!(format!("{:?}", NtStatus::INSUFFICIENT_RESOURCES), "STATUS_INSUFFICIENT_RESOURCES (0xC000009A)");
        assert_eq!(format!("{}", NtStatus::from_raw(0x1234)), "NTSTATUS(0x00001234)");
        assert_eq!(NtStatus::from_raw(-1073741811), NtStatus::INVALID_PARAMETER);
    }
}
