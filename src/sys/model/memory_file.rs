//! Shared pages for the model's sections and files: an anonymous memory file
//! (`memfd`) mapped with `mmap`, so that two views of one section really are
//! the same memory, a write-copy view really is copy-on-write
//! (`MAP_PRIVATE`), and a read-only view really faults on a write.
//!
//! Linux only; on other hosts the model's sections and files answer
//! `STATUS_NOT_SUPPORTED`.

/// How a range of a memory file is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mapping {
    /// Readable, shared.
    ReadOnly,
    /// Readable and writable, shared.
    ReadWrite,
    /// Readable and writable, private copy-on-write.
    WriteCopy,
    /// No access.
    NoAccess,
}

/// What the host lets a page of a mapping do (`mprotect`): the model keeps
/// the host's protection equal to the simulated page's, so that a stray raw
/// access faults as it would on Windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HostAccess {
    None,
    Read,
    ReadWrite,
}

#[cfg(target_os = "linux")]
mod imp {
    use std::{
        os::fd::{AsRawFd, FromRawFd, OwnedFd},
        vec::Vec,
    };

    use super::{HostAccess, Mapping};
    use crate::NtStatus;

    /// An anonymous memory file.
    ///
    /// # Invariants
    /// `fd` is an open memfd owned by this value.
    #[derive(Debug)]
    pub(in super::super) struct MemoryFile {
        fd: OwnedFd,
    }

    impl MemoryFile {
        pub(in super::super) fn new(len: u64) -> Result<MemoryFile, NtStatus> {
            // SAFETY: a NUL-terminated name and valid flags.
            let fd = unsafe { libc::memfd_create(c"wdm-mem-model".as_ptr(), libc::MFD_CLOEXEC) };
            if fd < 0 {
                return Err(NtStatus::INSUFFICIENT_RESOURCES);
            }
            // SAFETY: `fd` was just opened and is owned by nobody else.
            let file = MemoryFile { fd: unsafe { OwnedFd::from_raw_fd(fd) } };
            file.set_len(len)?;
            Ok(file)
        }

        pub(in super::super) fn len(&self) -> u64 {
            // SAFETY: `stat` is plain data, filled by fstat on our own fd.
            let mut stat: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: valid fd and out-pointer.
            if unsafe { libc::fstat(self.fd.as_raw_fd(), &mut stat) } == 0 { stat.st_size as u64 } else { 0 }
        }

        pub(in super::super) fn set_len(&self, len: u64) -> Result<(), NtStatus> {
            let len = i64::try_from(len).map_err(|_| NtStatus::SECTION_TOO_BIG)?;
            // SAFETY: valid fd.
            if unsafe { libc::ftruncate(self.fd.as_raw_fd(), len) } == 0 {
                Ok(())
            } else {
                Err(NtStatus::INSUFFICIENT_RESOURCES)
            }
        }

        /// Maps `len` bytes from `offset` (page-aligned); the address, or NULL.
        pub(in super::super) fn map(&self, offset: u64, len: usize, mapping: Mapping) -> *mut u8 {
            let (prot, flags) = match mapping {
                Mapping::ReadOnly => (libc::PROT_READ, libc::MAP_SHARED),
                Mapping::ReadWrite => (libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED),
                Mapping::WriteCopy => (libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE),
                Mapping::NoAccess => (libc::PROT_NONE, libc::MAP_SHARED),
            };
            // SAFETY: a fresh mapping chosen by the kernel, of our own fd.
            let address = unsafe {
                libc::mmap(std::ptr::null_mut(), len, prot, flags, self.fd.as_raw_fd(), offset as libc::off_t)
            };
            if address == libc::MAP_FAILED { std::ptr::null_mut() } else { address.cast() }
        }

        /// Unmaps what [`map`](Self::map) returned.
        ///
        /// # Safety
        /// `address` and `len` are a live mapping of this model.
        pub(in super::super) unsafe fn unmap(address: *mut u8, len: usize) {
            // SAFETY: per the contract.
            unsafe { libc::munmap(address.cast(), len) };
        }

        /// Changes the host protection of `len` bytes at `address`.
        ///
        /// # Safety
        /// `address..address + len` lies in a live mapping of this model.
        pub(in super::super) unsafe fn protect(address: *mut u8, len: usize, access: HostAccess) {
            let prot = match access {
                HostAccess::None => libc::PROT_NONE,
                HostAccess::Read => libc::PROT_READ,
                HostAccess::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            };
            // SAFETY: per the contract.
            unsafe { libc::mprotect(address.cast(), len, prot) };
        }

        pub(in super::super) fn contents(&self) -> Vec<u8> {
            let mut bytes = std::vec![0u8; self.len() as usize];
            // SAFETY: `bytes` is writable for its length; pread on our own fd.
            let read = unsafe { libc::pread(self.fd.as_raw_fd(), bytes.as_mut_ptr().cast(), bytes.len(), 0) };
            bytes.truncate(read.max(0) as usize);
            bytes
        }

        pub(in super::super) fn write_all(&self, bytes: &[u8]) -> Result<(), NtStatus> {
            self.set_len(bytes.len() as u64)?;
            // SAFETY: `bytes` is readable for its length; pwrite on our own fd.
            let written = unsafe { libc::pwrite(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
            if written == bytes.len() as isize { Ok(()) } else { Err(NtStatus::INSUFFICIENT_RESOURCES) }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::vec::Vec;

    use super::{HostAccess, Mapping};
    use crate::NtStatus;

    /// Sections and files of the model need Linux's memfd.
    #[derive(Debug)]
    pub(in super::super) enum MemoryFile {}

    impl MemoryFile {
        pub(in super::super) fn new(_len: u64) -> Result<MemoryFile, NtStatus> {
            Err(NtStatus::NOT_SUPPORTED)
        }
        pub(in super::super) fn len(&self) -> u64 {
            match *self {}
        }
        pub(in super::super) fn set_len(&self, _len: u64) -> Result<(), NtStatus> {
            match *self {}
        }
        pub(in super::super) fn map(&self, _offset: u64, _len: usize, _mapping: Mapping) -> *mut u8 {
            match *self {}
        }
        pub(in super::super) unsafe fn unmap(_address: *mut u8, _len: usize) {}
        pub(in super::super) unsafe fn protect(_address: *mut u8, _len: usize, _access: HostAccess) {}
        pub(in super::super) fn contents(&self) -> Vec<u8> {
            match *self {}
        }
        pub(in super::super) fn write_all(&self, _bytes: &[u8]) -> Result<(), NtStatus> {
            match *self {}
        }
    }
}

pub(super) use imp::MemoryFile;
