#ifndef SOCKIT_CFUZZ_H
#define SOCKIT_CFUZZ_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt's FuzzerDriver), for a `main` of our own: SwiftPM renames an
/// executable's entry point and defines `main` as that, so libFuzzer's `main` is never linked in.
/// The target's `main` calls this with `LLVMFuzzerTestOneInput`.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
