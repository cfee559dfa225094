/*
 * The C reference of the wdm-mem benchmark: each measured operation written
 * as a C driver writes it against wdm.h (the header's inline lookaside fast
 * paths, READ_REGISTER_ULONG/WRITE_REGISTER_ULONG, KeGetCurrentIrql, and
 * plain DDK calls), plus the plumbing the Rust side of the bench driver
 * needs and the crate does not wrap (a system thread, one registry value).
 *
 * Compiled by benches/driver/build.rs with the flags of the crate's SEH shim
 * (clang-19 --target=x86_64-w64-mingw32 against mingw-w64's DDK headers).
 *
 * Every operation is one call: int bench_c_<op>(void *ctx), 0 on success or
 * the failing NTSTATUS. The timing loop (src/harness.rs) calls the C, raw and
 * safe variants the same way, through a function pointer, so the loop and
 * call overhead is the same for the three columns.
 *
 * Exports that Wine or older Windows lack (ExAllocatePool2,
 * ExInitializeLookasideListEx, ExDeleteLookasideListEx) are looked up with
 * MmGetSystemRoutineAddress, as a C driver targeting old kernels does.
 */
#include <wdm.h>

#define BENCH_TAG 'hcBW' /* "WBch" in pool dumps */
#define ENTRY_SIZE 64
/* Flags of the legacy lookaside lists: no-execute pool (Windows 8), absent
 * from mingw-w64 10. */
#ifndef POOL_NX_ALLOCATION
#define POOL_NX_ALLOCATION 512
#endif

/* ExAllocatePool2 (Windows 10 2004); mingw-w64 10 does not declare it. */
typedef ULONG64 BENCH_POOL_FLAGS;
#define BENCH_POOL_FLAG_UNINITIALIZED 0x2ULL
#define BENCH_POOL_FLAG_NON_PAGED 0x40ULL
typedef PVOID (NTAPI *PFN_EX_ALLOCATE_POOL2)(BENCH_POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);
typedef NTSTATUS (NTAPI *PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX)(PLOOKASIDE_LIST_EX, PALLOCATE_FUNCTION_EX,
                                                            PFREE_FUNCTION_EX, POOL_TYPE, ULONG, SIZE_T, ULONG,
                                                            USHORT);
typedef VOID (NTAPI *PFN_EX_DELETE_LOOKASIDE_LIST_EX)(PLOOKASIDE_LIST_EX);

/* Declared in ntifs.h, which does not mix with wdm.h. */
NTSYSAPI NTSTATUS NTAPI ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);

typedef struct { ULONG64 words[ENTRY_SIZE / 8]; } ENTRY;

static NPAGED_LOOKASIDE_LIST np_list;
static PAGED_LOOKASIDE_LIST paged_list;
static LOOKASIDE_LIST_EX ex_list;
static int lists_ready;
static int ex_ready;
static PFN_EX_ALLOCATE_POOL2 allocate_pool2;
static PFN_EX_DELETE_LOOKASIDE_LIST_EX delete_lookaside_ex;

static PVOID routine(PCWSTR name)
{
    UNICODE_STRING string;
    RtlInitUnicodeString(&string, name);
    return MmGetSystemRoutineAddress(&string);
}

/* PASSIVE_LEVEL. */
NTSTATUS bench_c_setup(void)
{
    PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX initialize_ex;

    allocate_pool2 = (PFN_EX_ALLOCATE_POOL2)routine(L"ExAllocatePool2");
    ExInitializeNPagedLookasideList(&np_list, NULL, NULL, POOL_NX_ALLOCATION, ENTRY_SIZE, BENCH_TAG, 0);
    ExInitializePagedLookasideList(&paged_list, NULL, NULL, 0, ENTRY_SIZE, BENCH_TAG, 0);
    lists_ready = 1;
    initialize_ex = (PFN_EX_INITIALIZE_LOOKASIDE_LIST_EX)routine(L"ExInitializeLookasideListEx");
    delete_lookaside_ex = (PFN_EX_DELETE_LOOKASIDE_LIST_EX)routine(L"ExDeleteLookasideListEx");
    if (initialize_ex && delete_lookaside_ex
        && NT_SUCCESS(initialize_ex(&ex_list, NULL, NULL, NonPagedPoolNx, 0, ENTRY_SIZE, BENCH_TAG, 0)))
        ex_ready = 1;
    return STATUS_SUCCESS;
}

/* PASSIVE_LEVEL, no entry out. */
void bench_c_teardown(void)
{
    if (ex_ready)
        delete_lookaside_ex(&ex_list);
    ex_ready = 0;
    if (lists_ready) {
        ExDeleteNPagedLookasideList(&np_list);
        ExDeletePagedLookasideList(&paged_list);
    }
    lists_ready = 0;
}

int bench_c_have_pool2(void) { return allocate_pool2 != NULL; }
int bench_c_have_lookaside_ex(void) { return ex_ready; }

static __inline void keep(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }
static __inline void store_entry(void *p) { *(ENTRY *)p = (ENTRY){{0}}; }

/* The lookaside hit path: allocate, write the 64-byte entry, free. */
int bench_c_lookaside_np(void *ctx)
{
    PVOID entry = ExAllocateFromNPagedLookasideList(&np_list);
    (void)ctx;
    if (!entry)
        return STATUS_INSUFFICIENT_RESOURCES;
    store_entry(entry);
    keep(entry);
    ExFreeToNPagedLookasideList(&np_list, entry);
    return 0;
}

int bench_c_lookaside_paged(void *ctx)
{
    PVOID entry = ExAllocateFromPagedLookasideList(&paged_list);
    (void)ctx;
    if (!entry)
        return STATUS_INSUFFICIENT_RESOURCES;
    store_entry(entry);
    keep(entry);
    ExFreeToPagedLookasideList(&paged_list, entry);
    return 0;
}

int bench_c_lookaside_ex(void *ctx)
{
    PVOID entry;
    (void)ctx;
    if (!ex_ready)
        return STATUS_PROCEDURE_NOT_FOUND;
    entry = ExAllocateFromLookasideListEx(&ex_list);
    if (!entry)
        return STATUS_INSUFFICIENT_RESOURCES;
    store_entry(entry);
    keep(entry);
    ExFreeToLookasideListEx(&ex_list, entry);
    return 0;
}

/* 64 bytes of NX non-paged pool, not zeroed by the allocator, written with
 * a value (as PoolBox::new and Box::new do), freed. */
int bench_c_pool_value(void *ctx)
{
    PVOID block;
    (void)ctx;
    if (allocate_pool2)
        block = allocate_pool2(BENCH_POOL_FLAG_NON_PAGED | BENCH_POOL_FLAG_UNINITIALIZED, ENTRY_SIZE, BENCH_TAG);
    else
        block = ExAllocatePoolWithTag(NonPagedPoolNx, ENTRY_SIZE, BENCH_TAG);
    if (!block)
        return STATUS_INSUFFICIENT_RESOURCES;
    store_entry(block);
    keep(block);
    ExFreePoolWithTag(block, BENCH_TAG);
    return 0;
}

/* 64 zeroed bytes (as PoolBuffer::new gives), freed. */
int bench_c_pool_zeroed(void *ctx)
{
    PVOID block;
    (void)ctx;
    if (allocate_pool2) {
        block = allocate_pool2(BENCH_POOL_FLAG_NON_PAGED, ENTRY_SIZE, BENCH_TAG);
    } else {
        block = ExAllocatePoolWithTag(NonPagedPoolNx, ENTRY_SIZE, BENCH_TAG);
        if (block)
            RtlZeroMemory(block, ENTRY_SIZE);
    }
    if (!block)
        return STATUS_INSUFFICIENT_RESOURCES;
    keep(block);
    ExFreePoolWithTag(block, BENCH_TAG);
    return 0;
}

/* ctx: a BENCH_BUFFER of non-paged pool. */
typedef struct { PVOID address; ULONG length; } BENCH_BUFFER;

int bench_c_mdl(void *ctx)
{
    BENCH_BUFFER *buffer = ctx;
    PMDL mdl = IoAllocateMdl(buffer->address, buffer->length, FALSE, FALSE, NULL);
    if (!mdl)
        return STATUS_INSUFFICIENT_RESOURCES;
    MmBuildMdlForNonPagedPool(mdl);
    keep(mdl);
    IoFreeMdl(mdl);
    return 0;
}

/* A 64 KiB pagefile-backed section: create, map into the current process,
 * unmap, close. */
int bench_c_section(void *ctx)
{
    HANDLE section;
    OBJECT_ATTRIBUTES attributes;
    LARGE_INTEGER maximum, offset;
    PVOID base = NULL;
    SIZE_T view_size = 0x10000;
    NTSTATUS status;
    (void)ctx;

    InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    maximum.QuadPart = 0x10000;
    status = ZwCreateSection(&section, SECTION_ALL_ACCESS, &attributes, &maximum, PAGE_READWRITE, SEC_COMMIT, NULL);
    if (!NT_SUCCESS(status))
        return status;
    offset.QuadPart = 0;
    status = ZwMapViewOfSection(section, ZwCurrentProcess(), &base, 0, 0, &offset, &view_size, ViewUnmap, 0,
                                PAGE_READWRITE);
    if (NT_SUCCESS(status)) {
        keep(base);
        status = ZwUnmapViewOfSection(ZwCurrentProcess(), base);
    }
    ZwClose(section);
    return NT_SUCCESS(status) ? 0 : status;
}

/* ctx: [0] the source, a user view of the current process (which may
 * unmap or reprotect it at any moment: hence __try), [1] the destination,
 * 64 KiB each. ProbeForRead first, as Microsoft's guidance for user
 * addresses says (and as the crate's copies do). */
int bench_c_copy(void *ctx)
{
    void **pair = ctx;
    NTSTATUS status = STATUS_SUCCESS;
    __try {
        ProbeForRead(pair[0], 0x10000, 1);
        memcpy(pair[1], pair[0], 0x10000);
    } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
        if (NT_SUCCESS(status))
            status = STATUS_ACCESS_VIOLATION;
    }
    keep(pair[1]);
    return status;
}

/* ctx: a register mapped by MmMapIoSpace. */
int bench_c_register(void *ctx)
{
    volatile ULONG *reg = ctx;
    ULONG value = READ_REGISTER_ULONG(reg);
    WRITE_REGISTER_ULONG(reg, value + 1);
    return 0;
}

int bench_c_irql(void *ctx)
{
    KIRQL irql = KeGetCurrentIrql();
    __asm__ volatile("" : : "r"(irql));
    (void)ctx;
    return 0;
}

/* The empty operation: the loop and call overhead of every row. */
int bench_c_empty(void *ctx)
{
    keep(ctx);
    return 0;
}

PVOID bench_c_map_io_space(ULONG64 physical, SIZE_T length)
{
    PHYSICAL_ADDRESS address;
    address.QuadPart = (LONGLONG)physical;
    /* Cached, like the pool page it maps: a second, uncached mapping of RAM
     * would give the page conflicting cache attributes. */
    return MmMapIoSpace(address, length, MmCached);
}

void bench_c_unmap_io_space(PVOID base, SIZE_T length) { MmUnmapIoSpace(base, length); }

/* --- plumbing --- */

/* A system thread running routine(context); its handle in *thread. */
NTSTATUS bench_c_start_thread(PKSTART_ROUTINE start, PVOID context, HANDLE *thread)
{
    OBJECT_ATTRIBUTES attributes;
    InitializeObjectAttributes(&attributes, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    return PsCreateSystemThread(thread, THREAD_ALL_ACCESS, &attributes, NULL, NULL, start, context);
}

/* Waits for the thread to end, closes its handle. PASSIVE_LEVEL. */
void bench_c_join_thread(HANDLE thread)
{
    ZwWaitForSingleObject(thread, FALSE, NULL);
    ZwClose(thread);
}

/* A REG_DWORD value of the service key, or fallback. */
ULONG bench_c_registry_dword(PUNICODE_STRING key_path, PCWSTR value_name, ULONG fallback)
{
    OBJECT_ATTRIBUTES attributes;
    HANDLE key;
    UNICODE_STRING name;
    struct {
        KEY_VALUE_PARTIAL_INFORMATION info;
        UCHAR room[8];
    } value;
    ULONG length = 0;
    ULONG result = fallback;

    InitializeObjectAttributes(&attributes, key_path, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (!NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &attributes)))
        return fallback;
    RtlInitUnicodeString(&name, value_name);
    if (NT_SUCCESS(ZwQueryValueKey(key, &name, KeyValuePartialInformation, &value, sizeof value, &length))
        && value.info.Type == REG_DWORD && value.info.DataLength == sizeof(ULONG))
        result = *(ULONG UNALIGNED *)value.info.Data;
    ZwClose(key);
    return result;
}
