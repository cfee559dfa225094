//! Helpers shared by the integration tests.

/// Whether reading the byte at `address` faults: read in a forked child,
/// which either exits or dies of SIGSEGV.
#[cfg(target_os = "linux")]
pub fn read_faults(address: usize) -> bool {
    // SAFETY: the child only reads one byte and exits at once (no
    // allocation, no lock: async-signal-safe).
    unsafe {
        let child = libc::fork();
        assert!(child >= 0, "fork");
        if child == 0 {
            std::ptr::read_volatile(address as *const u8);
            libc::_exit(0);
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(child, &mut status, 0), child);
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV
    }
}
