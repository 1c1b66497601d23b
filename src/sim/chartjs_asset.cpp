// Chart.js (MIT), embedded verbatim from web/node_modules by the assembler.
#include "sim/chartjs_asset.h"

// TIDAL_CHARTJS_PATH is set by CMake to the absolute path of chart.umd.js.
#define TIDAL_STR2(x) #x
#define TIDAL_STR(x) TIDAL_STR2(x)
asm(".section .rodata\n"
    ".global tidal_chartjs_begin\n"
    "tidal_chartjs_begin:\n"
    ".incbin \"" TIDAL_STR(TIDAL_CHARTJS_PATH) "\"\n"
    ".global tidal_chartjs_end\n"
    "tidal_chartjs_end:\n"
    ".byte 0\n"
    ".previous\n");

extern "C" const char tidal_chartjs_begin[];
extern "C" const char tidal_chartjs_end[];

namespace tidal::sim {

std::string_view chartjs_source() {
  return std::string_view(tidal_chartjs_begin, static_cast<size_t>(tidal_chartjs_end - tidal_chartjs_begin));
}

}  // namespace tidal::sim
