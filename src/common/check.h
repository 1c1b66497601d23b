// TIDAL_CHECK: broken invariants abort with file and line; no recovery code for
// "can't happen".
#pragma once

#include <cstdio>
#include <cstdlib>

#define TIDAL_CHECK(cond)                                                                   \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)
