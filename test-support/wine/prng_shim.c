/*
 * Test scaffolding only, never shipped: a stand-in for Windows' bcryptprimitives.dll, which
 * Wine 8 lacks. Rust's std (1.78+) imports ProcessPrng from it to seed HashMap keys, so without
 * this DLL every test binary fails to start under Wine ("Library bcryptprimitives.dll not found",
 * exit code 53). scripts/test-windows.sh builds it with x86_64-w64-mingw32-gcc and puts its folder
 * on WINEPATH.
 *
 * ProcessPrng is documented to always succeed and return TRUE; the bytes come from advapi32's
 * RtlGenRandom (exported as SystemFunction036), which Wine implements.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: fill larger buffers in pieces. */
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
