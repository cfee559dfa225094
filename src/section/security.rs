//! [`SecurityDescriptor`]: a borrowed, checked self-relative security
//! descriptor for a named section.

use crate::{NtResult, NtStatus};

/// A self-relative security descriptor (`SECURITY_DESCRIPTOR_RELATIVE` and
/// what it points to, in one buffer), for
/// [`SectionBuilder::security`](super::SectionBuilder::security).
///
/// The kernel reads the descriptor from the offsets inside it, so
/// [`from_self_relative`](Self::from_self_relative) checks that every
/// offset and size stays inside the buffer before the kernel sees it:
/// revision 1, `SE_SELF_RELATIVE`, owner and group SIDs, and the ACLs with
/// their allow, deny, audit and alarm ACEs (other ACE types are refused).
///
/// # Invariants
/// `bytes` starts 4-byte aligned and is a structurally valid self-relative
/// descriptor: every part lies inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecurityDescriptor<'a> {
    bytes: &'a [u8],
}

/// `SE_SELF_RELATIVE`.
const SE_SELF_RELATIVE: u16 = 0x8000;
/// `SE_DACL_PRESENT`.
const SE_DACL_PRESENT: u16 = 0x0004;
/// `SE_SACL_PRESENT`.
const SE_SACL_PRESENT: u16 = 0x0010;
const HEADER: usize = 20;

/// A 4-byte aligned buffer for the built-in descriptor.
#[repr(C, align(4))]
struct Aligned<const N: usize>([u8; N]);

/// `D:P(A;;SECTION_ALL_ACCESS;;;SY)`: LocalSystem only (a protected DACL
/// with one ACE allowing `SECTION_ALL_ACCESS` to S-1-5-18).
static SYSTEM_ONLY: Aligned<48> = Aligned([
    1, 0, 0x04, 0x90, // revision 1; SE_SELF_RELATIVE | SE_DACL_PROTECTED | SE_DACL_PRESENT
    0, 0, 0, 0, // owner: none
    0, 0, 0, 0, // group: none
    0, 0, 0, 0, // SACL: none
    20, 0, 0, 0, // DACL at 20
    2, 0, 28, 0, 1, 0, 0, 0, // ACL revision 2, 28 bytes, 1 ACE
    0, 0, 20, 0, // ACCESS_ALLOWED_ACE_TYPE, no flags, 20 bytes
    0x1F, 0x00, 0x0F, 0x00, // SECTION_ALL_ACCESS
    1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0, // S-1-5-18
]);

/// `D:P(A;;GA;;;SY)(A;;GA;;;BA)` (wdmsec.h's `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`):
/// a protected DACL allowing `GENERIC_ALL` to LocalSystem (S-1-5-18) and to
/// the Administrators group (S-1-5-32-544).
static SYSTEM_AND_ADMINISTRATORS: Aligned<72> = Aligned([
    1, 0, 0x04, 0x90, // revision 1; SE_SELF_RELATIVE | SE_DACL_PROTECTED | SE_DACL_PRESENT
    0, 0, 0, 0, // owner: none
    0, 0, 0, 0, // group: none
    0, 0, 0, 0, // SACL: none
    20, 0, 0, 0, // DACL at 20
    2, 0, 52, 0, 2, 0, 0, 0, // ACL revision 2, 52 bytes, 2 ACEs
    0, 0, 20, 0, // ACCESS_ALLOWED_ACE_TYPE, no flags, 20 bytes
    0, 0, 0, 0x10, // GENERIC_ALL
    1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0, // S-1-5-18
    0, 0, 24, 0, // ACCESS_ALLOWED_ACE_TYPE, no flags, 24 bytes
    0, 0, 0, 0x10, // GENERIC_ALL
    1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0, // S-1-5-32-544
]);

impl SecurityDescriptor<'static> {
    /// A descriptor that lets only LocalSystem (kernel-mode code, services
    /// running as SYSTEM) open the section: user processes, even an
    /// administrator's, get `STATUS_ACCESS_DENIED`.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn system_only() -> SecurityDescriptor<'static> {
        // INVARIANT: checked by the unit test `system_only_is_valid`.
        SecurityDescriptor { bytes: &SYSTEM_ONLY.0 }
    }

    /// `D:P(A;;GA;;;SY)(A;;GA;;;BA)`, wdmsec.h's
    /// `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`: LocalSystem and the Administrators
    /// group get all access (`GENERIC_ALL`, which the kernel maps to the
    /// object type's full rights), everybody else `STATUS_ACCESS_DENIED`.
    /// The sample driver's device carries it.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn system_and_administrators() -> SecurityDescriptor<'static> {
        // INVARIANT: checked by the unit tests `system_only_is_valid` and
        // `system_and_administrators_allows_generic_all_to_sy_and_ba_only`.
        SecurityDescriptor { bytes: &SYSTEM_AND_ADMINISTRATORS.0 }
    }
}

impl<'a> SecurityDescriptor<'a> {
    /// The self-relative descriptor in `bytes` (as `MakeSelfRelativeSD` or
    /// `ConvertStringSecurityDescriptorToSecurityDescriptorW` produce it),
    /// checked: [`NtStatus::INVALID_PARAMETER`] for anything malformed,
    /// `STATUS_DATATYPE_MISALIGNMENT_ERROR` for a buffer not 4-byte aligned.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn from_self_relative(bytes: &'a [u8]) -> NtResult<SecurityDescriptor<'a>> {
        if (bytes.as_ptr() as usize) % 4 != 0 {
            return Err(NtStatus::DATATYPE_MISALIGNMENT_ERROR);
        }
        check(bytes).ok_or(NtStatus::INVALID_PARAMETER)?;
        Ok(SecurityDescriptor { bytes })
    }

    /// The descriptor's bytes.
    ///
    /// # IRQL
    /// Any: no kernel call, no pageable memory touched.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The `PSECURITY_DESCRIPTOR` for `OBJECT_ATTRIBUTES` (the kernel only
    /// reads it).
    pub(super) fn as_ptr(&self) -> *mut core::ffi::c_void {
        self.bytes.as_ptr().cast_mut().cast()
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?) as usize)
}

/// The length of the SID at `at` if it lies inside `bytes`.
fn sid(bytes: &[u8], at: usize) -> Option<usize> {
    let (revision, count) = (*bytes.get(at)?, *bytes.get(at.checked_add(1)?)?);
    if revision != 1 || count > 15 {
        return None;
    }
    let len = 8 + 4 * usize::from(count);
    (at.checked_add(len)? <= bytes.len()).then_some(len)
}

/// Whether the ACL at `at` lies inside `bytes` with all its ACEs.
fn acl(bytes: &[u8], at: usize) -> Option<()> {
    let revision = *bytes.get(at)?;
    let size = usize::from(u16_at(bytes, at.checked_add(2)?)?);
    let count = u16_at(bytes, at.checked_add(4)?)?;
    let end = at.checked_add(size)?;
    if !(revision == 2 || revision == 4) || size < 8 || end > bytes.len() || size % 4 != 0 {
        return None;
    }
    let acl = &bytes[..end];
    let mut ace = at + 8;
    for _ in 0..count {
        let kind = *acl.get(ace)?;
        let ace_size = usize::from(u16_at(acl, ace.checked_add(2)?)?);
        let ace_end = ace.checked_add(ace_size)?;
        // ACCESS_ALLOWED, ACCESS_DENIED, SYSTEM_AUDIT, SYSTEM_ALARM: mask + SID.
        if kind > 3 || ace_size < 8 || ace_size % 4 != 0 || ace_end > end {
            return None;
        }
        if 8 + sid(&acl[..ace_end], ace + 8)? > ace_size {
            return None;
        }
        ace = ace_end;
    }
    Some(())
}

/// Whether `bytes` is a structurally valid self-relative descriptor.
fn check(bytes: &[u8]) -> Option<()> {
    if bytes.len() < HEADER || bytes[0] != 1 {
        return None;
    }
    let control = u16_at(bytes, 2)?;
    if control & SE_SELF_RELATIVE == 0 {
        return None;
    }
    let part = |field: usize| -> Option<Option<usize>> {
        let offset = u32_at(bytes, field)?;
        match offset {
            0 => Some(None),
            offset if offset < HEADER || offset % 4 != 0 => None,
            offset => Some(Some(offset)),
        }
    };
    for field in [4, 8] {
        if let Some(at) = part(field)? {
            sid(bytes, at)?;
        }
    }
    for (field, present) in [(12, SE_SACL_PRESENT), (16, SE_DACL_PRESENT)] {
        match part(field)? {
            Some(at) if control & present != 0 => acl(bytes, at)?,
            Some(_) => return None,
            None => {}
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_only_is_valid() {
        assert_eq!(check(SecurityDescriptor::system_only().as_bytes()), Some(()));
        assert_eq!(check(SecurityDescriptor::system_and_administrators().as_bytes()), Some(()));
    }

    #[test]
    fn system_and_administrators_allows_generic_all_to_sy_and_ba_only() {
        let bytes = SecurityDescriptor::system_and_administrators().as_bytes();
        assert_eq!(u16_at(bytes, 2), Some(0x9004), "self-relative, protected DACL present");
        assert_eq!((u32_at(bytes, 16), u16_at(bytes, 22), u16_at(bytes, 24)), (Some(20), Some(52), Some(2)));
        assert_eq!(20 + 52, bytes.len(), "the ACL ends the descriptor");
        // Each ACE: allowed, GENERIC_ALL, then its SID.
        for (ace, sid) in [
            (28, &[1u8, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0][..]),
            (48, &[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0]),
        ] {
            assert_eq!(bytes[ace], 0, "ACCESS_ALLOWED_ACE_TYPE");
            assert_eq!(u32_at(bytes, ace + 4), Some(0x1000_0000), "GENERIC_ALL");
            assert_eq!(&bytes[ace + 8..ace + 8 + sid.len()], sid);
        }
    }

    #[test]
    fn malformed_descriptors_are_refused_without_panicking() {
        let good = SYSTEM_ONLY.0;
        let mut cases: std::vec::Vec<[u8; 48]> = std::vec::Vec::new();
        for (at, value) in [(0, 2u8), (3, 0x10), (16, 0xFF), (19, 0xFF), (22, 0xFF), (24, 0xFF), (30, 0xFF), (37, 16)] {
            let mut bad = good;
            bad[at] = value;
            cases.push(bad);
        }
        for bad in &cases {
            assert_eq!(check(bad), None, "{bad:?}");
        }
        for len in 0..good.len() {
            assert_eq!(check(&good[..len]), None, "truncated to {len}");
        }
        let mut huge = good;
        huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(check(&huge), None);
    }
}
