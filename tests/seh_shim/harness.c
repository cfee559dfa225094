/*
 * Runs the SEH shim (src/sys/seh/probe.c, the object build.rs compiled for
 * the driver) as a user-mode program under Wine, for tests/seh_shim.rs:
 * MmProbeAndLockPages and MmMapLockedPagesSpecifyCache are replaced by
 * functions that raise a chosen exception code, ProbeForRead/ProbeForWrite by
 * ones that raise STATUS_DATATYPE_MISALIGNMENT for a misaligned range (as the
 * kernel's do), and the user-memory copies run against pages this program
 * protects and frees. Prints one line per case: "<case> <status in hex>".
 */
#include <windows.h>
#include <stdio.h>

typedef LONG NTSTATUS;
NTSTATUS wdm_mem_probe_and_lock_pages(void *mdl, char mode, int operation);
NTSTATUS wdm_mem_copy_user(void *destination, const void *source, SIZE_T length, ULONG alignment, BOOLEAN to_user);
#define wdm_mem_copy_from_user(d, s, n, a) wdm_mem_copy_user((d), (s), (n), (a), FALSE)
#define wdm_mem_copy_to_user(d, s, n, a) wdm_mem_copy_user((d), (s), (n), (a), TRUE)
NTSTATUS wdm_mem_map_locked_pages_user(void *mdl, int cache, ULONG priority, void **base);

static DWORD raised;

static void WINAPI raise_code(void *mdl, char mode, int operation)
{
    (void)mdl, (void)mode, (void)operation;
    RaiseException(raised, 0, 0, NULL);
}

static void *WINAPI map_raise(void *mdl, char mode, int cache, void *address, ULONG bug_check, ULONG priority)
{
    (void)mdl, (void)mode, (void)cache, (void)address, (void)bug_check, (void)priority;
    RaiseException(raised, 0, 0, NULL);
    return NULL;
}

static void WINAPI probe_alignment(void *address, SIZE_T length, ULONG alignment)
{
    if (length != 0 && (ULONG_PTR)address % alignment != 0)
        RaiseException(0x80000002 /* STATUS_DATATYPE_MISALIGNMENT */, 0, 0, NULL);
}

/* The shim calls the kernel through its import slots. */
void *__imp_MmProbeAndLockPages = (void *)raise_code;
void *__imp_MmMapLockedPagesSpecifyCache = (void *)map_raise;
void *__imp_ProbeForRead = (void *)probe_alignment;
void *__imp_ProbeForWrite = (void *)probe_alignment;

int main(void)
{
    static const DWORD codes[] = {0xC0000005, 0xC000009A, 0x80000002, 0x80000001, 0x40000000, 0x00000001};
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        raised = codes[i];
        printf("probe-%08lx %08lx\n", (unsigned long)codes[i], (unsigned long)wdm_mem_probe_and_lock_pages(0, 0, 0));
        void *base = (void *)1;
        NTSTATUS mapped = wdm_mem_map_locked_pages_user(0, 1, 16, &base);
        printf("map-%08lx %08lx %s\n", (unsigned long)codes[i], (unsigned long)mapped, base ? "base" : "null");
    }
    char *pages = VirtualAlloc(NULL, 8192, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    char buffer[16] = {0};
    DWORD old;
    memcpy(pages + 4090, "abcdef", 6);
    printf("copy-from %08lx\n", (unsigned long)wdm_mem_copy_from_user(buffer, pages + 4090, 6, 1));
    printf("copied %s\n", buffer);
    printf("copy-to %08lx\n", (unsigned long)wdm_mem_copy_to_user(pages + 4096, "xyz", 4, 1));
    printf("from-misaligned %08lx\n", (unsigned long)wdm_mem_copy_from_user(buffer, pages + 1, 4, 4));
    printf("to-misaligned %08lx\n", (unsigned long)wdm_mem_copy_to_user(pages + 2, buffer, 4, 4));
    VirtualProtect(pages + 4096, 4096, PAGE_NOACCESS, &old);
    printf("from-noaccess %08lx\n", (unsigned long)wdm_mem_copy_from_user(buffer, pages + 4090, 16, 1));
    VirtualProtect(pages + 4096, 4096, PAGE_READONLY, &old);
    printf("to-readonly %08lx\n", (unsigned long)wdm_mem_copy_to_user(pages + 4096, buffer, 4, 1));
    VirtualFree(pages, 0, MEM_RELEASE);
    printf("from-freed %08lx\n", (unsigned long)wdm_mem_copy_from_user(buffer, pages, 4, 1));
    printf("to-freed %08lx\n", (unsigned long)wdm_mem_copy_to_user(pages, buffer, 4, 1));
    return 0;
}
