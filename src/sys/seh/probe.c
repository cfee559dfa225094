/*
 * wdm-mem's SEH shim. Rust cannot catch SEH, so everything that may raise an
 * exception the kernel expects a driver to handle runs here, in C, inside
 * __try/__except, and returns the exception code as an NTSTATUS:
 *
 * - wdm_mem_probe_and_lock_pages: MmProbeAndLockPages, which reports a bad
 *   address by raising (STATUS_ACCESS_VIOLATION, ...). Declared in
 *   src/sys/mdl.rs.
 * - wdm_mem_copy_user: ProbeForRead / ProbeForWrite of a user range and the
 *   copy from or to it, in one __try (one body for both directions). User
 *   memory (a METHOD_NEITHER
 *   buffer, a section view mapped into a process) can be unmapped or
 *   reprotected by its process at any moment: a touch of such a page raises
 *   STATUS_ACCESS_VIOLATION (STATUS_IN_PAGE_ERROR for a file whose read
 *   fails, STATUS_GUARD_PAGE_VIOLATION for a guard page). Declared in
 *   src/sys/user_copy.rs. The copy is `rep movsb` in a small C function
 *   called under the __try (wdm_mem_movsb, below). After an exception, a
 *   prefix of the bytes may have been copied.
 * - wdm_mem_map_locked_pages_user: MmMapLockedPagesSpecifyCache in UserMode,
 *   which raises on failure. Declared in src/sys/user_mapping.rs.
 *
 * No Rust code runs under a __try: no Drop can be skipped by the unwind.
 *
 * Every code returned is an error (NT_ERROR): an exception code of another
 * severity (a raised STATUS_GUARD_PAGE_VIOLATION or STATUS_DATATYPE_MISALIGNMENT
 * is a warning; RaiseException can raise anything, even 0) would otherwise
 * read as success to a caller that tests NT_SUCCESS ("locked", "copied").
 * See wdm_mem_exception_status.
 *
 * Compiled by build.rs for Windows targets only, into real x64 SEH (.pdata and
 * .xdata naming __C_specific_handler, which ntoskrnl exports):
 *   ddk provider: clang-19 --target=x86_64-w64-mingw32 -fms-extensions with
 *                 mingw-w64's DDK headers (tests/pe_image.rs checks the result)
 *   wdk provider: clang-cl with the WDK's km headers (not runnable here)
 * The kernel model implements the same contracts in Rust.
 */
#include <wdm.h>

#ifndef STATUS_DATATYPE_MISALIGNMENT_ERROR
#define STATUS_DATATYPE_MISALIGNMENT_ERROR ((NTSTATUS)0xC00002C5L)
#endif

/* The __except filter: records the exception code and handles the exception.
 * The code is read in the filter, from the exception record, rather than in
 * the handler block: there GetExceptionCode() reads the value the unwind
 * hands over in RAX, which Windows' __C_specific_handler sets to the code but
 * Wine's (ntdll, msvcrt) leaves 0, which would read as STATUS_SUCCESS. */
#define WDM_MEM_CATCH(code) ((code) = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER)

/* The exception code `code` as an error status: itself when it is an error;
 * the error twin of the alignment warning; STATUS_ACCESS_VIOLATION for any
 * other success, informational or warning code (a guard page, a breakpoint,
 * a code made up by RaiseException: the access did not complete). */
static NTSTATUS wdm_mem_exception_status(NTSTATUS code)
{
    if (NT_ERROR(code))
        return code;
    if (code == STATUS_DATATYPE_MISALIGNMENT)
        return STATUS_DATATYPE_MISALIGNMENT_ERROR;
    return STATUS_ACCESS_VIOLATION;
}

/* `rep movsb` of `length` bytes. Out of line on purpose: clang's SEH (without
 * -fasync-exceptions) only treats calls as able to raise, so a fault in
 * inline assembly inside a __try would not be caught; a fault in this C
 * function unwinds through its own unwind info (.pdata) to the caller's
 * __try, which covers the call. */
static __attribute__((noinline)) void wdm_mem_movsb(PVOID dst, const VOID *src, SIZE_T length)
{
    __asm__ __volatile__("rep movsb" : "+D"(dst), "+S"(src), "+c"(length) : : "memory");
}

NTSTATUS wdm_mem_probe_and_lock_pages(PMDL Mdl, KPROCESSOR_MODE AccessMode, LOCK_OPERATION Operation)
{
    NTSTATUS code = STATUS_SUCCESS;
    __try {
        MmProbeAndLockPages(Mdl, AccessMode, Operation);
    } __except (WDM_MEM_CATCH(code)) {
        return wdm_mem_exception_status(code);
    }
    return STATUS_SUCCESS;
}

/* The one copy of user memory under SEH, for both directions (ToUser: from
 * Source to the user address Destination; else from the user address Source
 * to Destination): ProbeForRead or ProbeForWrite of the user range (which
 * raise STATUS_ACCESS_VIOLATION for a range that wraps or ends above
 * MmUserProbeAddress, and STATUS_DATATYPE_MISALIGNMENT for a misaligned one;
 * ProbeForWrite also touches every page for writing), then the copy, inside
 * ONE __try: the range checked is the range copied, and whatever either
 * raises comes back as an error status. */
NTSTATUS wdm_mem_copy_user(PVOID Destination, const VOID *Source, SIZE_T Length, ULONG Alignment, BOOLEAN ToUser)
{
    NTSTATUS code = STATUS_SUCCESS;
    __try {
        if (ToUser)
            ProbeForWrite(Destination, Length, Alignment);
        else
            ProbeForRead((PVOID)Source, Length, Alignment);
        wdm_mem_movsb(Destination, Source, Length);
    } __except (WDM_MEM_CATCH(code)) {
        return wdm_mem_exception_status(code);
    }
    return STATUS_SUCCESS;
}

/* MmMapLockedPagesSpecifyCache(Mdl, UserMode, ...): maps locked pages into the
 * current process's user space; with UserMode the routine reports failure by
 * raising (not by NULL), so it runs here. *Base receives the user address on
 * success and NULL otherwise; a NULL return without an exception (Wine's stub)
 * is STATUS_INSUFFICIENT_RESOURCES. Declared in src/sys/user_mapping.rs. */
NTSTATUS wdm_mem_map_locked_pages_user(PMDL Mdl, MEMORY_CACHING_TYPE CacheType, ULONG Priority, PVOID *Base)
{
    NTSTATUS code = STATUS_SUCCESS;
    PVOID mapped = NULL;
    *Base = NULL;
    __try {
        mapped = MmMapLockedPagesSpecifyCache(Mdl, UserMode, CacheType, NULL, FALSE, Priority);
    } __except (WDM_MEM_CATCH(code)) {
        return wdm_mem_exception_status(code);
    }
    if (mapped == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    *Base = mapped;
    return STATUS_SUCCESS;
}
