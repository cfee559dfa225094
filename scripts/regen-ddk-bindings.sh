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
# Requested but NOT generated, because the mingw-w64 10 headers do not declare them as
# real functions or evaluable constants (write these by hand elsewhere in src/sys/):
#   InterlockedPopEntrySList, InterlockedPushEntrySList
#       on _WIN64 only macros over ExpInterlockedPopEntrySList / ExpInterlockedPushEntrySList
#       (which are bound).
#   MmPrepareMdlForReuse
#       a macro (unmaps MDL_PARTIAL_HAS_BEEN_MAPPED views, clears flags); no export.
#   KeGetCurrentIrql (not requested; FORCEINLINE __readcr8 on amd64), and the other
#       FORCEINLINE helpers: ExAllocateFromNPagedLookasideList & co,
#       MmGetSystemAddressForMdlSafe, InitializeObjectAttributes, ZwCurrentProcess.
#   SEC_IMAGE, SEC_FILE, SEC_NOCACHE
#       only in the user-mode <winnt.h>, which cannot be included next to <wdm.h>;
#       the DDK headers define SEC_RESERVE, SEC_COMMIT (and SEC_LARGE_PAGES, SEC_BASED)
#       only. Real values: SEC_FILE 0x800000, SEC_IMAGE 0x1000000, SEC_NOCACHE 0x10000000.
#   MdlMappingNoExecute (0x40000000), MdlMappingNoWrite (0x80000000)
#       not defined by mingw-w64 10 at all.
#   LOOKASIDE_MINIMUM_BLOCK_SIZE
#       RTL_SIZEOF_THROUGH_FIELD(SLIST_ENTRY, Next): not a literal, bindgen cannot
#       evaluate it (its value on x64 is 8).
#   SECTION_ALL_ACCESS IS generated although it is an expression
#       (STANDARD_RIGHTS_REQUIRED | ...) = 0xF001F.
#
# Layout of the mingw-w64 structs against the real x64 WDK (bindgen asserts the mingw
# layout in types.rs; compare with the WDK's sizes):
#   MDL 48, UNICODE_STRING 16, OBJECT_ATTRIBUTES 48, IO_STATUS_BLOCK 16,
#   GENERAL_LOOKASIDE 128 (cache aligned: 64), GENERAL_LOOKASIDE_POOL 96,
#   LOOKASIDE_LIST_EX 96, PAGED_LOOKASIDE_LIST 128, NPAGED_LOOKASIDE_LIST 128
#   (the x64 WDK has no lock member on amd64, so 0x80, not 0xC0),
#   DRIVER_OBJECT 336, DEVICE_OBJECT 336, IRP 208, IO_STACK_LOCATION 72,
#   SLIST_HEADER 16 (16-aligned): all equal to the WDK's.
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

banner="// @generated by scripts/regen-ddk-bindings.sh (bindgen $BINDGEN_VERSION) from the
// mingw-w64 DDK headers (scripts/ddk-wrapper.h), x86_64 Windows ABI. Do not edit."
{
    printf '%s\n' "$banner" '#![allow(clippy::undocumented_unsafe_blocks)]' ''
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
