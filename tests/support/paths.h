// Where tests find the tidal binary, the source tree and their data files.
//
// One small source file holds these absolute paths (compile definitions, see
// tests/CMakeLists.txt), not every test's command line: with a clone's paths on their
// command lines, the test batches missed ccache in every fresh clone.
#pragma once

#include <string>

namespace tidal::testing_paths {

const std::string& tidal_binary();  // the built `tidal`
const std::string& source_dir();    // the repository
const std::string& data_dir();      // tests/data

}  // namespace tidal::testing_paths
