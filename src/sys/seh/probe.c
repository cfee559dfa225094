/*
 * wdm-mem's SEH shim: MmProbeAndLockPages reports a bad address by raising an
 * exception (STATUS_ACCESS_VIOLATION, ...), and Rust cannot catch SEH. This
 * function calls the kernel directly inside __try/__except and returns the
 * exception code as an NTSTATUS, so that a bad user pointer is an error value
 * instead of a bug check. No Rust code runs under the __try: no Drop can be
 * skipped by the unwind.
 *
 * Compiled by build.rs for Windows targets only, into real x64 SEH (.pdata and
 * .xdata naming __C_specific_handler, which ntoskrnl exports):
 *   ddk provider: clang-19 --target=x86_64-w64-mingw32 -fms-extensions with
 *                 mingw-w64's DDK headers (tests/seh_shim.rs checks the result)
 *   wdk provider: clang-cl with the WDK's km headers (not runnable here)
 * Declared in src/sys/mdl.rs; the kernel model implements the same contract in
 * Rust.
 */
#include <wdm.h>

NTSTATUS wdm_mem_probe_and_lock_pages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation)
{
    __try {
        MmProbeAndLockPages(Mdl, AccessMode, Operation);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        return GetExceptionCode();
    }
    return STATUS_SUCCESS;
}
