// Where the controller keeps what its policies learned across restarts (the predictive
// policy's forecast): one SQLite file, one row per (pool, policy), written in a
// transaction so a crash leaves the previous copy.
#pragma once

#include <optional>
#include <string>

#include "common/error.h"

struct sqlite3;

namespace tidal::scaling {

class MemoryStore {
 public:
  // Opens (creating) the file. Errors: the path and SQLite's message.
  static Result<MemoryStore> open(const std::string& path);
  MemoryStore(MemoryStore&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
  MemoryStore& operator=(MemoryStore&&) = delete;
  ~MemoryStore();

  [[nodiscard]] std::optional<std::string> load(const std::string& pool, const std::string& policy) const;
  Result<bool> save(const std::string& pool, const std::string& policy, const std::string& text, double saved_unix_s);
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  MemoryStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

}  // namespace tidal::scaling
