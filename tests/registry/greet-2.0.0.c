/* greet 2.0.0 (greet.h says why there are three). */
#define GREET_VERSION "2.0.0"
#include "greet.h"

// clang-format off
FASTN_MANIFEST({
    "name": "greet", "version": "2.0.0", "abi": 1,
    "description": "Test plugin: says its version",
    "protocols": ["/fastn-test/greet/1.0.0"],
    "capabilities": ["notify"],
    "serves": "anyone",
    "apps": ["fastn tests"]
})
// clang-format on
