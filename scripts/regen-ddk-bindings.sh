#!/usr/bin/env bash
# Regenerates the checked-in bindgen bindings of the `ddk` provider:
#   src/sys/ddk/types.rs      types, structs, enums (wdk-sys style module constants),
#                             integer constants, with bindgen's layout assertions
#   src/sys/ddk/functions.rs  the extern function declarations (`use super::types::*;`)
# from the mingw-w64 DDK headers (Debian package mingw-w64-x86-64-dev) for the x86_64
# Windows ABI (LLP64 through `--ctypes-prefix crate::sys::ctypes`).
#
# Usage: scripts/regen-ddk-bindings.sh        (from anywhere; idempotent)
#
# Installs what is missing: the Debian packages below (apt-get), and bindgen-cli at the
# pinned version (cargo install --locked). Output is byte-identical for a given bindgen,
# libclang, rustfmt and mingw-w64 version.
#
# Requested but NOT generated: the mingw-w64 10 headers have no real (exported,
# non-inline) function or no constant for them. Write these by hand in src/sys/:
#   InterlockedPopEntrySList, InterlockedPushEntrySList
#       on _WIN64 only macros over ExpInterlockedPopEntrySList/ExpInterlockedPushEntrySList
#       (both bound; ntoskrnl exports them).
#   MmPrepareMdlForReuse
#       a macro (MmUnmapLockedPages when MDL_PARTIAL_HAS_BEEN_MAPPED); no export.
#   (not requested) KeGetCurrentIrql: FORCEINLINE __readcr8 on amd64; likewise the
#       FORCEINLINE ExAllocateFromNPagedLookasideList & co and the macros
#       MmGetSystemAddressForMdlSafe, InitializeObjectAttributes, ZwCurrentProcess.
#   SEC_IMAGE 0x1000000, SEC_FILE 0x800000, SEC_NOCACHE 0x10000000
#       only in the user-mode <winnt.h>, which cannot be included with <wdm.h>; the DDK
#       headers define SEC_RESERVE and SEC_COMMIT only (plus SEC_LARGE_PAGES, SEC_BASED).
#   MdlMappingNoWrite 0x80000000, MdlMappingNoExecute 0x40000000
#       not defined anywhere in mingw-w64 10.
# SECTION_ALL_ACCESS (0xF001F) and LOOKASIDE_MINIMUM_BLOCK_SIZE (8) are expressions that
# bindgen's cexpr cannot evaluate; --clang-macro-fallback evaluates them.
# HalTranslateBusAddress is exported by hal.dll (libhal.a), all others by ntoskrnl.exe.
#
# Layout of the mingw-w64 structs (bindgen's assertions in types.rs pin these) against
# the real x64 WDK:
#   equal: MDL 0x30, UNICODE_STRING 0x10, OBJECT_ATTRIBUTES 0x30, IO_STATUS_BLOCK 0x10,
#     GENERAL_LOOKASIDE 0x80 (align 64), GENERAL_LOOKASIDE_POOL 0x60,
#     LOOKASIDE_LIST_EX 0x60, NPAGED_LOOKASIDE_LIST and PAGED_LOOKASIDE_LIST 0x80 (no
#     lock member on amd64, in the WDK too: 0x80, not 0xC0), DRIVER_OBJECT 0x150,
#     IRP 0xD0, IO_STACK_LOCATION 0x48, SLIST_HEADER 0x10 (align 16); field offsets
#     checked for MDL, IRP, DRIVER_OBJECT, DEVICE_OBJECT, IO_STACK_LOCATION,
#     GENERAL_LOOKASIDE.
#   DIFFERENT: mingw declares _DEVICE_OBJECT and _IRP without the WDK's
#     DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT): DEVICE_OBJECT is 0x148 bytes, align 8
#     here (WDK 0x150, align 16; same field offsets, the last field Reserved ends at
#     0x148); IRP is 0xD0 with align 8 (WDK align 16). Harmless as long as the driver
#     never allocates or embeds them (the I/O manager does).
#   Enums: the generated `_X::Type` is c_int like MSVC/wdk-sys (see the sed below).
#   Function pointer types (PDRIVER_DISPATCH, PALLOCATE_FUNCTION ...) are
#     `unsafe extern "C" fn`, like wdk-sys: the same ABI as "system" on x86_64.
set -euo pipefail

BINDGEN_VERSION=0.72.1
APT_PACKAGES=(libclang-19-dev clang-19 mingw-w64-x86-64-dev)
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
MINGW_INCLUDE=/usr/share/mingw-w64/include

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
out_dir=$root/src/sys/ddk
wrapper=$root/scripts/ddk-wrapper.h

# --- Tools ---------------------------------------------------------------------------
missing_packages=()
for package in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing_packages+=("$package")
    fi
done
if ((${#missing_packages[@]})); then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${missing_packages[@]}"
fi

export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH
bindgen_version() { bindgen --version 2>/dev/null | awk '{print $2}'; }
if ! command -v bindgen >/dev/null 2>&1 || [[ $(bindgen_version) != "$BINDGEN_VERSION" ]]; then
    cargo install --locked bindgen-cli --version "=$BINDGEN_VERSION"
    hash -r
fi
if [[ $(bindgen_version) != "$BINDGEN_VERSION" ]]; then
    echo "error: bindgen $BINDGEN_VERSION expected, found '$(bindgen_version)' at $(command -v bindgen)" >&2
    exit 1
fi
if ! command -v rustfmt >/dev/null 2>&1; then
    echo "error: rustfmt not found (bindgen formats its output with it)" >&2
    exit 1
fi

# --- What to bind ----------------------------------------------------------------------
# `|`-joined, bindgen anchors each regex (^(...)$).
join() { local IFS='|'; echo "$*"; }

# Variadic: keep bindgen's extern "C".
variadic_functions=(DbgPrint DbgPrintEx)
# Everything else: extern "system" (NTAPI; the same ABI as "C" on x86_64).
system_functions=(
    ExAllocatePoolWithTag ExFreePoolWithTag ExFreePool MmGetSystemRoutineAddress
    KeBugCheckEx
    IoCreateDevice IoDeleteDevice IoCreateSymbolicLink IoDeleteSymbolicLink IofCompleteRequest
    ZwCreateSection ZwOpenSection ZwMapViewOfSection ZwUnmapViewOfSection ZwClose ZwCreateFile
    MmMapViewInSystemSpace MmUnmapViewInSystemSpace
    MmLockPagableDataSection MmLockPagableSectionByHandle MmUnlockPagableImageSection
    MmPageEntireDriver MmResetDriverPaging
    ExInitializeNPagedLookasideList ExInitializePagedLookasideList
    ExDeleteNPagedLookasideList ExDeletePagedLookasideList
    ExpInterlockedPopEntrySList ExpInterlockedPushEntrySList
    InterlockedPopEntrySList InterlockedPushEntrySList
    MmAllocateNonCachedMemory MmFreeNonCachedMemory
    MmAllocateContiguousMemorySpecifyCache MmAllocateContiguousMemory MmFreeContiguousMemory
    MmGetPhysicalAddress MmIsAddressValid MmMapIoSpace MmUnmapIoSpace
    IoAllocateMdl IoFreeMdl MmProbeAndLockPages MmUnlockPages MmBuildMdlForNonPagedPool
    MmMapLockedPagesSpecifyCache MmUnmapLockedPages MmPrepareMdlForReuse
    HalTranslateBusAddress RtlInitUnicodeString
)
types=(
    DRIVER_OBJECT DEVICE_OBJECT IRP IO_STACK_LOCATION UNICODE_STRING OBJECT_ATTRIBUTES
    LARGE_INTEGER PHYSICAL_ADDRESS MDL NPAGED_LOOKASIDE_LIST PAGED_LOOKASIDE_LIST
    LOOKASIDE_LIST_EX GENERAL_LOOKASIDE GENERAL_LOOKASIDE_POOL SLIST_HEADER POOL_TYPE
    MEMORY_CACHING_TYPE LOCK_OPERATION MODE KPROCESSOR_MODE SECTION_INHERIT MM_PAGE_PRIORITY
    INTERFACE_TYPE IO_STATUS_BLOCK ACCESS_MASK NTSTATUS KIRQL HANDLE PVOID SIZE_T ULONG
    USHORT UCHAR BOOLEAN ULONG_PTR PDRIVER_DISPATCH PDRIVER_UNLOAD PALLOCATE_FUNCTION
    PFREE_FUNCTION PALLOCATE_FUNCTION_EX PFREE_FUNCTION_EX
)
vars=(
    PAGE_SIZE PAGE_SHIFT PAGE_NOACCESS PAGE_READONLY PAGE_READWRITE PAGE_WRITECOPY
    PAGE_EXECUTE PAGE_EXECUTE_READ PAGE_EXECUTE_READWRITE PAGE_NOCACHE PAGE_WRITECOMBINE
    SEC_COMMIT SEC_RESERVE SEC_IMAGE SEC_FILE SEC_NOCACHE
    SECTION_QUERY SECTION_MAP_WRITE SECTION_MAP_READ SECTION_MAP_EXECUTE SECTION_EXTEND_SIZE
    SECTION_ALL_ACCESS STANDARD_RIGHTS_REQUIRED
    OBJ_CASE_INSENSITIVE OBJ_KERNEL_HANDLE OBJ_OPENIF OBJ_PERMANENT
    IRP_MJ_CREATE IRP_MJ_CLOSE IRP_MJ_DEVICE_CONTROL IRP_MJ_MAXIMUM_FUNCTION IO_NO_INCREMENT
    FILE_DEVICE_UNKNOWN FILE_DEVICE_SECURE_OPEN
    METHOD_BUFFERED METHOD_IN_DIRECT METHOD_OUT_DIRECT METHOD_NEITHER FILE_ANY_ACCESS
    MDL_MAPPED_TO_SYSTEM_VA MDL_PAGES_LOCKED MDL_SOURCE_IS_NONPAGED_POOL MDL_PARTIAL
    MDL_MAPPING_CAN_FAIL MDL_ALLOCATED_FIXED_SIZE MdlMappingNoExecute MdlMappingNoWrite
    LOOKASIDE_MINIMUM_BLOCK_SIZE POOL_RAISE_IF_ALLOCATION_FAILURE
    EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE
    PASSIVE_LEVEL APC_LEVEL DISPATCH_LEVEL HIGH_LEVEL
    GENERIC_READ GENERIC_WRITE SYNCHRONIZE FILE_SHARE_READ FILE_SHARE_WRITE
    FILE_ATTRIBUTE_NORMAL FILE_SUPERSEDE FILE_OPEN FILE_CREATE FILE_OPEN_IF FILE_OVERWRITE_IF
    FILE_SYNCHRONOUS_IO_NONALERT FILE_NON_DIRECTORY_FILE FILE_OPENED FILE_CREATED
    FILE_OVERWRITTEN FILE_SUPERSEDED
)
all_functions=$(join "${variadic_functions[@]}" "${system_functions[@]}")

clang_args=(
    --target=x86_64-w64-mingw32 -fms-extensions
    -D_AMD64_ -D_WIN64 -DNTDDI_VERSION=0x0A000000 -D_WIN32_WINNT=0x0A00
    -I"$MINGW_INCLUDE/ddk" -I"$MINGW_INCLUDE"
    # Harmless noise from mingw's intrin.h/setjmp.h and wdm.h's pshpack includes.
    -Wno-pragma-pack -Wno-incompatible-library-redeclaration -Wno-#warnings
)
bindgen_args=(
    --use-core
    --rust-target 1.85 --rust-edition 2024
    --ctypes-prefix crate::sys::ctypes
    --default-enum-style moduleconsts
    --with-derive-default
    --must-use-type NTSTATUS
    --merge-extern-blocks
    --sort-semantically
    --wrap-unsafe-ops
    --no-doc-comments
    --disable-header-comment
    --formatter rustfmt
)

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
# Constants that are expressions cexpr cannot evaluate (SECTION_ALL_ACCESS refers to
# STANDARD_RIGHTS_REQUIRED, defined further down; LOOKASIDE_MINIMUM_BLOCK_SIZE is an
# offsetof) are evaluated by compiling them with libclang.
mkdir "$tmp/macro-fallback"
bindgen_args+=(--clang-macro-fallback --clang-macro-fallback-build-dir "$tmp/macro-fallback")

# One run, so that every type a bound function's signature names is generated
# (transitively), then split: the top-level `unsafe extern "..." { ... }` blocks go to
# functions.rs, everything else (types, constants, layout assertions) to types.rs.
bindgen "$wrapper" "${bindgen_args[@]}" \
    --allowlist-type "$(join "${types[@]}")" \
    --allowlist-var "$(join "${vars[@]}")" \
    --allowlist-function "$all_functions" \
    --override-abi "$(join "${system_functions[@]}")=system" \
    --output "$tmp/all.rs" \
    -- "${clang_args[@]}"

# C enums: MSVC (hence the WDK and wdk-sys) gives every enum the type int; GCC/mingw
# gives `unsigned int` to enums without negative enumerators (POOL_TYPE, MODE,
# LOCK_OPERATION, SECTION_INHERIT, MM_PAGE_PRIORITY ...). Same size and ABI; align the
# Rust type with wdk-sys (`_POOL_TYPE::Type` = c_int). -fms-compatibility, which would
# do it in clang, breaks mingw's headers. An enumerator above i32::MAX would fail to
# compile, not wrap silently.
sed -i 's/^    pub type Type = crate::sys::ctypes::c_uint;$/    pub type Type = crate::sys::ctypes::c_int;/' "$tmp/all.rs"

banner="// @generated by scripts/regen-ddk-bindings.sh (bindgen $BINDGEN_VERSION) from the
// mingw-w64 DDK headers (scripts/ddk-wrapper.h), x86_64 Windows ABI. Do not edit."
{
    # unnecessary_transmutes (rustc >= 1.88): bindgen's accessors of signed bitfields
    # (KDEVICE_QUEUE, inside DEVICE_OBJECT); unknown_lints keeps rustc 1.85 quiet.
    printf '%s\n' "$banner" '#![allow(unknown_lints)]' \
        '#![allow(unnecessary_transmutes, clippy::undocumented_unsafe_blocks)]' ''
    awk '/^(pub )?(unsafe )?extern "/ { skip = 1 }
         !skip { print }
         skip && /^}$/ { skip = 0 }' "$tmp/all.rs" | cat -s | sed '1{/^$/d}'
} >"$tmp/types.rs"
{
    printf '%s\n' "$banner" 'use super::types::*;' ''
    awk '/^(pub )?(unsafe )?extern "/ { keep = 1 }
         keep { print }
         keep && /^}$/ { keep = 0; print "" }' "$tmp/all.rs" | sed '${/^$/d}'
} >"$tmp/functions.rs"

# Sanity: the split is complete and bindgen did not emit anything unexpected.
if grep -q '^\(pub \)\?\(unsafe \)\?extern "' "$tmp/types.rs"; then
    echo "error: extern block left in types.rs" >&2; exit 1
fi
if grep -vqE '^(//.*|use super::types::\*;|unsafe extern "(C|system)" \{|    .*|\}|)$' "$tmp/functions.rs"; then
    echo "error: unexpected item in functions.rs" >&2; exit 1
fi

# Report what the headers do not provide (see the list at the top of this file).
for name in "${variadic_functions[@]}" "${system_functions[@]}"; do
    grep -q "pub fn $name(" "$tmp/functions.rs" || echo "note: function not in the headers: $name" >&2
done
for name in "${types[@]}"; do
    grep -qE "pub (type|struct|union|use .* as) ?$name\b|pub (struct|union) _$name\b| as $name;" "$tmp/types.rs" \
        || echo "note: type not in the headers: $name" >&2
done
for name in "${vars[@]}"; do
    grep -q "pub const $name:" "$tmp/types.rs" || echo "note: constant not evaluable/defined: $name" >&2
done

mkdir -p "$out_dir"
install -m 0644 "$tmp/types.rs" "$out_dir/types.rs"
install -m 0644 "$tmp/functions.rs" "$out_dir/functions.rs"
echo "wrote $out_dir/types.rs and $out_dir/functions.rs (bindgen $BINDGEN_VERSION)"
