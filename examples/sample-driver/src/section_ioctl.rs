//! The section IOCTLs: a section with three views (coherence, write-copy),
//! an exclusive system-space view, and a named section the user-mode client
//! opens.
//!
//! The three views are user views: mapped into the process the request runs
//! in (under Wine: `winedevice.exe`, where the driver runs), touched only
//! through the crate's copies under SEH. A view of a `SEC_RESERVE` section
//! shows the SEH copy at work: on Windows its write to an uncommitted page
//! is an access violation, caught and returned (Wine commits the pages when
//! it maps the view, so the write succeeds there); after `commit` it
//! succeeds. The system-space view works on
//! Windows; under Wine it is refused with `STATUS_NOT_SUPPORTED`, which the
//! reply carries and the client checks.

use core::sync::atomic::{AtomicUsize, Ordering};

use wdm_mem::{
    NtResult, NtStatus, object_name,
    section::{ReadOnly, ReadWrite, Section, SectionProtection, WriteCopy},
};

use crate::{
    irp::DeviceControl,
    protocol::{SECTION_MESSAGE, SECTION_PUBLISHED_SIZE, SectionReply, SectionRequest},
};

/// The published named section's handle (0: none), shared by the IOCTLs and
/// DriverUnload.
static PUBLISHED: AtomicUsize = AtomicUsize::new(0);

/// IOCTL_SECTION_ROUNDTRIP.
pub fn roundtrip_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let Some(input) = request.input::<SectionRequest>() else {
        return (NtStatus::INVALID_PARAMETER, 0);
    };
    let reply = crate::validate::check_section(&input)
        .and_then(|()| roundtrip(&input))
        .unwrap_or_else(|status| SectionReply { status: status.to_raw(), ..SectionReply::default() });
    request.reply(&reply)
}

/// Three views of one section; the handle is closed before the views are
/// used, as seed 000 recommends.
fn roundtrip(input: &SectionRequest) -> NtResult<SectionReply> {
    let protection =
        if input.read_only_section != 0 { SectionProtection::ReadOnly } else { SectionProtection::ReadWrite };
    let section = Section::create(input.section_size, protection)?;
    let reader = section.map::<ReadOnly>(input.view_offset, input.view_size as usize)?;
    let mut writer = section.map::<ReadWrite>(0, 0)?;
    let mut private = section.map::<WriteCopy>(0, 0)?;
    section.close()?;
    let at = input.view_offset as usize;
    writer.write(at, &input.fill)?;
    let coherent = reader.read::<u8>(0)? == input.fill;
    private.write(at, &!input.fill)?;
    let write_copy_private = writer.read::<u8>(at)? == input.fill && private.read::<u8>(at)? == !input.fill;
    let (reserved_write_status, committed_write_status) = reserved(input.fill)?;
    Ok(SectionReply {
        status: NtStatus::SUCCESS.to_raw(),
        coherent: coherent.into(),
        write_copy_private: write_copy_private.into(),
        system_view_status: NtStatus::from(system_view(input.fill)).to_raw(),
        mapped_size: reader.mapped_size() as u64,
        reserved_write_status,
        committed_write_status,
    })
}

/// A `SEC_RESERVE` section's view: a write before its page is committed
/// faults, and the SEH copy returns the exception as a status; after
/// `commit` the same write succeeds. The two statuses.
fn reserved(fill: u8) -> NtResult<(i32, i32)> {
    let section = Section::builder().size(0x1_0000).reserve().create()?;
    let mut view = section.map::<ReadWrite>(0, 0)?;
    let before = NtStatus::from(view.write(0, &fill)).to_raw();
    view.commit(0, 1)?;
    let after = NtStatus::from(view.write(0, &fill).and_then(|()| match view.read::<u8>(0)? {
        byte if byte == fill => Ok(()),
        _ => Err(NtStatus::DATA_ERROR),
    }))
    .to_raw();
    Ok((before, after))
}

/// An exclusive system-space view: the only mapping of an anonymous
/// section, used as a plain slice.
fn system_view(fill: u8) -> NtResult<()> {
    let mut view = Section::builder().size(4096).map_exclusive::<ReadWrite>()?;
    view[..16].fill(fill);
    let same = view[..16].iter().all(|&byte| byte == fill);
    view.unmap()?;
    if same { Ok(()) } else { Err(NtStatus::DATA_ERROR) }
}

/// IOCTL_SECTION_PUBLISH.
pub fn publish_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let status = NtStatus::from(publish());
    request.reply(&SectionReply { status: status.to_raw(), ..SectionReply::default() })
}

fn publish() -> NtResult<()> {
    let section = Section::builder()
        .size(SECTION_PUBLISHED_SIZE)
        .named(object_name!("\\BaseNamedObjects\\WdmMemSample"))
        .create()?;
    let mut view = section.map::<ReadWrite>(0, 0)?;
    view.write_bytes(0, SECTION_MESSAGE)?;
    view.unmap()?;
    let handle = section.into_raw() as usize;
    if PUBLISHED.compare_exchange(0, handle, Ordering::AcqRel, Ordering::Acquire).is_err() {
        // Published twice: keep the first; this one closes.
        // SAFETY: `handle` came from `into_raw` just above.
        drop(unsafe { Section::from_raw(handle as _) });
        return Err(NtStatus::OBJECT_NAME_COLLISION);
    }
    Ok(())
}

/// IOCTL_SECTION_UNPUBLISH.
pub fn unpublish_ioctl(request: &DeviceControl) -> (NtStatus, usize) {
    let status = NtStatus::from(unpublish());
    request.reply(&SectionReply { status: status.to_raw(), ..SectionReply::default() })
}

/// Closes the published section, if any (also called from DriverUnload).
pub fn unpublish() -> NtResult<()> {
    match PUBLISHED.swap(0, Ordering::AcqRel) {
        0 => Err(NtStatus::OBJECT_NAME_NOT_FOUND),
        // SAFETY: PUBLISHED only ever holds a handle from `into_raw`, taken
        // out exactly once by this swap.
        handle => unsafe { Section::from_raw(handle as _) }.close(),
    }
}
