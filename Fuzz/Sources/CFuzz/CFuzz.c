// Declarations only (include/CFuzz.h); SwiftPM needs a source file for a C target.
#include "CFuzz.h"
