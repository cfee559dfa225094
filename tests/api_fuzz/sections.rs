//! The harness's sections and their views: sections (named, reserved,
//! committed, file-backed) created, opened, queried and closed; user views
//! (in the step's process, right or wrong) accessed, committed, unmapped and
//! reprotected or unmapped by their process's own code; system and
//! exclusive views.

use wdm_mem::{
    object_name,
    section::{
        BackingFile, Exclusive, FileAccess, ReadOnly, ReadWrite, Section, SectionAccess, SectionProtection, SystemView,
        UserView, WriteCopy,
    },
    sys,
};

use super::{Context, NAMES, Op, PAGE, Size, World, full, pick};

/// A user view of any protection.
pub(super) enum AnyUserView {
    ReadWrite(UserView<ReadWrite>),
    ReadOnly(UserView<ReadOnly>),
    WriteCopy(UserView<WriteCopy>),
}

impl AnyUserView {
    pub(super) fn user_address(&self) -> usize {
        match self {
            AnyUserView::ReadWrite(view) => view.user_address(),
            AnyUserView::ReadOnly(view) => view.user_address(),
            AnyUserView::WriteCopy(view) => view.user_address(),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            AnyUserView::ReadWrite(view) => view.len(),
            AnyUserView::ReadOnly(view) => view.len(),
            AnyUserView::WriteCopy(view) => view.len(),
        }
    }
}

/// A system or exclusive view of any protection.
pub(super) enum AnySystemView {
    ReadWrite(SystemView<ReadWrite>),
    ReadOnly(SystemView<ReadOnly>),
    ExclusiveReadWrite(SystemView<ReadWrite, Exclusive>),
    ExclusiveReadOnly(SystemView<ReadOnly, Exclusive>),
}

impl World<'_> {
    /// A section or view operation of [`Op`].
    pub(super) fn section_op(&mut self, op: &Op, ctx: Context) {
        match *op {
            Op::SectionCreate { size, protection, name, reserve, open_if } if !full(&self.sections) => {
                let protection =
                    [SectionProtection::ReadWrite, SectionProtection::ReadOnly, SectionProtection::WriteCopy]
                        [protection as usize % 3];
                let mut builder = Section::builder().size(size.get() as u64).protection(protection);
                if let Some(name) = name {
                    builder = builder.named(NAMES[name as usize % NAMES.len()]);
                }
                if reserve {
                    builder = builder.reserve();
                }
                let created =
                    if open_if { builder.create_or_open().map(|(section, _)| section) } else { builder.create() };
                if let Ok(section) = created {
                    self.sections.push(section);
                }
            }
            Op::SectionCreate { .. } => {}
            Op::SectionOpen { name, write } if !full(&self.sections) => {
                let access = if write { SectionAccess::READ_WRITE } else { SectionAccess::READ };
                if let Ok(section) = Section::open(NAMES[name as usize % NAMES.len()], access) {
                    self.sections.push(section);
                }
            }
            Op::SectionOpen { .. } => {}
            Op::SectionClose(index) => {
                if let Some(i) = pick(&self.sections, index).filter(|_| ctx.passive) {
                    let _ = self.sections.swap_remove(i).close();
                }
            }
            Op::SectionQuery(index) => {
                if let Some(i) = pick(&self.sections, index) {
                    let _ = self.sections[i].size();
                }
            }
            Op::MapUser { section, kind, offset, size } if !full(&self.user_views) => {
                let Some(i) = pick(&self.sections, section) else { return };
                let section = &self.sections[i];
                // Mostly 64 KiB-aligned offsets (the allocation granularity).
                let offset = match offset {
                    0..=159 => 0,
                    160..=223 => u64::from(offset % 4) * 0x1_0000,
                    _ => u64::from(offset % 32) * PAGE as u64 + u64::from(offset & 1),
                };
                let size = match (size, section.size()) {
                    (Size::Any(_) | Size::Max(_), _) | (_, None) => size.get(),
                    (_, Some(whole)) => size.get() % (whole as usize + PAGE), // often within the section
                };
                let view = match kind % 3 {
                    0 => section.map::<ReadWrite>(offset, size).map(AnyUserView::ReadWrite),
                    1 => section.map::<ReadOnly>(offset, size).map(AnyUserView::ReadOnly),
                    _ => section.map::<WriteCopy>(offset, size).map(AnyUserView::WriteCopy),
                };
                if let Ok(view) = view {
                    self.user_views.push((view, ctx.process));
                }
            }
            Op::MapUser { .. } => {}
            Op::MapSystem { section, write } if !full(&self.system_views) => {
                let Some(i) = pick(&self.sections, section) else { return };
                let view = if write {
                    self.sections[i].map_system::<ReadWrite>().map(AnySystemView::ReadWrite)
                } else {
                    self.sections[i].map_system::<ReadOnly>().map(AnySystemView::ReadOnly)
                };
                if let Ok(view) = view {
                    self.system_views.push(view);
                }
            }
            Op::MapExclusive { size, write } if !full(&self.system_views) => {
                let builder = Section::builder().size(size.get() as u64);
                let view = if write {
                    builder.map_exclusive::<ReadWrite>().map(AnySystemView::ExclusiveReadWrite)
                } else {
                    builder
                        .protection(SectionProtection::ReadOnly)
                        .map_exclusive()
                        .map(AnySystemView::ExclusiveReadOnly)
                };
                if let Ok(view) = view {
                    self.system_views.push(view);
                }
            }
            Op::MapSystem { .. } | Op::MapExclusive { .. } => {}
            Op::UserViewAccess { view, offset, len, write } => {
                let Some(i) = pick(&self.user_views, view) else { return };
                let mut bytes = vec![len; len as usize];
                let offset = offset.get();
                let _ = match &mut self.user_views[i].0 {
                    AnyUserView::ReadWrite(view) if write => view.write_bytes(offset, &bytes),
                    AnyUserView::WriteCopy(view) if write => view.write_bytes(offset, &bytes),
                    AnyUserView::ReadWrite(view) => view.read_bytes(offset, &mut bytes),
                    AnyUserView::WriteCopy(view) => view.read_bytes(offset, &mut bytes),
                    AnyUserView::ReadOnly(view) => view.read_bytes(offset, &mut bytes),
                };
            }
            Op::UserViewCommit { view, offset, len } => {
                let Some(i) = pick(&self.user_views, view) else { return };
                let _ = match &self.user_views[i].0 {
                    AnyUserView::ReadWrite(view) => view.commit(offset.get(), len.get()),
                    AnyUserView::ReadOnly(view) => view.commit(offset.get(), len.get()),
                    AnyUserView::WriteCopy(view) => view.commit(offset.get(), len.get()),
                };
            }
            Op::UserViewUnmap(index) => {
                // In the current process, right or wrong (a wrong one leaves
                // the view mapped until its process exits).
                let Some(i) = pick(&self.user_views, index).filter(|_| ctx.passive) else { return };
                if self.user_views[i].1.is_none() && ctx.process.is_some() {
                    return; // the System process never exits: a documented leak, not generated
                }
                {
                    let _ = match self.user_views.swap_remove(i).0 {
                        AnyUserView::ReadWrite(view) => view.unmap(),
                        AnyUserView::ReadOnly(view) => view.unmap(),
                        AnyUserView::WriteCopy(view) => view.unmap(),
                    };
                }
            }
            Op::UserSide { view, action, offset, len } => {
                // The view's process's own code, between the driver's calls.
                let Some(i) = pick(&self.user_views, view) else { return };
                let (view, process) = &self.user_views[i];
                let Some(process) = process else { return };
                let base = view.user_address();
                let address = base.wrapping_add(offset.get() % (16 * PAGE));
                let len = len.get();
                let _ = match action % 6 {
                    0 => process.write(address, &vec![action; len % 512]),
                    1 => process.read(address, len % 512).map(drop),
                    2 => process.unmap(base),
                    3 => process.protect(address, len, sys::PAGE_NOACCESS),
                    4 => process.protect(address, len, sys::PAGE_READONLY),
                    _ => process.commit(address, len).and_then(|()| process.protect(address, len, sys::PAGE_READWRITE)),
                };
            }
            Op::SystemViewAccess { view, offset, len, write } => {
                let Some(i) = pick(&self.system_views, view) else { return };
                let mut bytes = vec![len; len as usize];
                let offset = offset.get();
                let _ = match &mut self.system_views[i] {
                    AnySystemView::ReadWrite(view) if write => view.write_bytes(offset, &bytes),
                    AnySystemView::ReadWrite(view) => view.read_bytes(offset, &mut bytes),
                    AnySystemView::ReadOnly(view) => view.read_bytes(offset, &mut bytes),
                    AnySystemView::ExclusiveReadWrite(view) if write => {
                        view.get_mut::<u32>(offset).map(|value| *value ^= 1)
                    }
                    AnySystemView::ExclusiveReadWrite(view) => view.read_bytes(offset, &mut bytes),
                    AnySystemView::ExclusiveReadOnly(view) => view.get::<u16>(offset).map(drop),
                };
            }
            Op::SystemViewUnmap(index) => {
                if let Some(i) = pick(&self.system_views, index).filter(|_| ctx.passive) {
                    let _ = match self.system_views.swap_remove(i) {
                        AnySystemView::ReadWrite(view) => view.unmap(),
                        AnySystemView::ReadOnly(view) => view.unmap(),
                        AnySystemView::ExclusiveReadWrite(view) => view.unmap(),
                        AnySystemView::ExclusiveReadOnly(view) => view.unmap(),
                    };
                }
            }
            Op::FileSection { size, write, protection } if !full(&self.sections) => {
                let access = if write { FileAccess::ReadWrite } else { FileAccess::Read };
                let Ok(file) = BackingFile::open(object_name!("\\??\\C:\\wdm-mem-fuzz.bin"), access) else { return };
                let protection =
                    [SectionProtection::ReadWrite, SectionProtection::ReadOnly, SectionProtection::WriteCopy]
                        [protection as usize % 3];
                if let Ok(section) =
                    Section::builder().backed_by(&file).size(size.get() as u64).protection(protection).create()
                {
                    self.sections.push(section);
                }
            }
            Op::FileSection { .. } => {}
            _ => unreachable!("not a section operation"),
        }
    }
}
