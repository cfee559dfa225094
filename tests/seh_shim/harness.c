/*
 * Runs the SEH shim (src/sys/seh/probe.c, the object build.rs compiled for
 * the driver) as a user-mode program under Wine, for tests/seh_shim.rs:
 * MmProbeAndLockPages is replaced by a function that raises a chosen
 * exception code, and the user-memory copies run against pages this program
 * protects and frees. Prints one line per case: "<case> <status in hex>".
 */
#include <windows.h>
#include <stdio.h>

typedef LONG NTSTATUS;
NTSTATUS wdm_mem_probe_and_lock_pages(void *mdl, char mode, int operation);
NTSTATUS wdm_mem_copy_from_user(void *destination, const void *user_source, SIZE_T length);
NTSTATUS wdm_mem_copy_to_user(void *user_destination, const void *source, SIZE_T length);

static DWORD raised;

static void WINAPI raise_code(void *mdl, char mode, int operation)
{
    (void)mdl, (void)mode, (void)operation;
    RaiseException(raised, 0, 0, NULL);
}

/* The shim calls MmProbeAndLockPages through its import slot. */
void *__imp_MmProbeAndLockPages = (void *)raise_code;

int main(void)
{
    static const DWORD codes[] = {0xC0000005, 0xC000009A, 0x80000002, 0x80000001, 0x40000000, 0x00000001};
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        raised = codes[i];
        printf("probe-%08lx %08lx\n", (unsigned long)codes[i], (unsigned long)wdm_mem_probe_and_lock_pages(0, 0, 0));
    }
    char *pages = VirtualAlloc(NULL, 8192, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    char buffer[16] = {0};
    DWORD old;
    memcpy(pages + 4090, "abcdef", 6);
    printf("copy-from %08lx\n", (unsigned long)wdm_mem_copy_from_user(buffer, pages + 4090, 6));
    printf("copied %s\n", buffer);
    printf("copy-to %08lx\n", (unsigned long)wdm_mem_copy_to_user(pages + 4096, "xyz", 4));
    VirtualProtect(pages + 4096, 4096, PAGE_NOACCESS, &old);
    printf("from-noaccess %08lx\n", (unsigned long)wdm_mem_copy_from_user(buffer, pages + 4090, 16));
    VirtualProtect(pages + 4096, 4096, PAGE_READONLY, &old);
    printf("to-readonly %08lx\n", (unsigned long)wdm_mem_copy_to_user(pages + 4096, buffer, 4));
    VirtualFree(pages, 0, MEM_RELEASE);
    printf("from-freed %08lx\n", (unsigned long)wdm_mem_copy_from_user(buffer, pages, 4));
    printf("to-freed %08lx\n", (unsigned long)wdm_mem_copy_to_user(pages, buffer, 4));
    return 0;
}
