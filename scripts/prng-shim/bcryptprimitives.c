/*
 * bcryptprimitives.dll for Wine 8.0, which lacks it.
 *
 * Rust's std (>= 1.78) imports ProcessPrng from bcryptprimitives.dll to seed
 * its HashMap keys; without this DLL next to the client, Wine refuses to start
 * the .exe (c0000135, STATUS_DLL_NOT_FOUND). One function, implemented with
 * advapi32's SystemFunction036 (RtlGenRandom), which Wine has.
 *
 * Built by scripts/build-driver.sh:
 *   x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll \
 *       bcryptprimitives.c bcryptprimitives.def -ladvapi32
 */
#include <windows.h>

/* RtlGenRandom's real export name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Never fails on Windows (documented to always return TRUE). */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
