#include "support/paths.h"

namespace tidal::testing_paths {

const std::string& tidal_binary() {
  static const std::string path = TIDAL_BINARY;
  return path;
}

const std::string& source_dir() {
  static const std::string path = TIDAL_SOURCE_DIR;
  return path;
}

const std::string& data_dir() {
  static const std::string path = TIDAL_TEST_DATA_DIR;
  return path;
}

}  // namespace tidal::testing_paths
