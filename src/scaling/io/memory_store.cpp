#include "scaling/io/memory_store.h"

#include <sqlite3.h>

namespace tidal::scaling {

Result<MemoryStore> MemoryStore::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error(ErrorKind::kInvalidRequest, "cannot open " + path + ": " + why, "history_file");
  }
  sqlite3_busy_timeout(db, 2000);
  char* err = nullptr;
  if (sqlite3_exec(db,
                   "CREATE TABLE IF NOT EXISTS policy_memory (pool TEXT NOT NULL, policy TEXT NOT NULL, "
                   "saved_unix_s REAL NOT NULL, state TEXT NOT NULL, PRIMARY KEY (pool, policy))",
                   nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db);
    return make_error(ErrorKind::kInvalidRequest, path + " is not a usable SQLite database: " + why, "history_file");
  }
  return MemoryStore(db, path);
}

MemoryStore::~MemoryStore() {
  if (db_) sqlite3_close(db_);
}

std::optional<std::string> MemoryStore::load(const std::string& pool, const std::string& policy) const {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT state FROM policy_memory WHERE pool = ?1 AND policy = ?2", -1, &st, nullptr) != SQLITE_OK) {
    return std::nullopt;
  }
  sqlite3_bind_text(st, 1, pool.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, policy.c_str(), -1, SQLITE_TRANSIENT);
  std::optional<std::string> out;
  if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return out;
}

Result<bool> MemoryStore::save(const std::string& pool, const std::string& policy, const std::string& text,
                               double saved_unix_s) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO policy_memory (pool, policy, saved_unix_s, state) VALUES (?1, ?2, ?3, ?4) "
                         "ON CONFLICT (pool, policy) DO UPDATE SET saved_unix_s = excluded.saved_unix_s, state = excluded.state",
                         -1, &st, nullptr) != SQLITE_OK) {
    return make_error(ErrorKind::kInternal, path_ + ": " + sqlite3_errmsg(db_));
  }
  sqlite3_bind_text(st, 1, pool.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, policy.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_double(st, 3, saved_unix_s);
  sqlite3_bind_text(st, 4, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return make_error(ErrorKind::kInternal, path_ + ": " + sqlite3_errmsg(db_));
  return true;
}

}  // namespace tidal::scaling
