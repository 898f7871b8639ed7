// File: storage/move.h
//
// Moving a whole database to a new home (switchboard --migrate-to): every
// row of every table, ids kept, into an empty PostgreSQL database, then the
// row counts compared. Sealed secrets travel sealed: the hosts of the new
// database need the same master key.
#pragma once

#include "storage/database.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace switchboard::storage {

struct MovedTable {
  std::string table;
  std::int64_t rows = 0;  // copied, and counted again in the target
};

// Copies `from` into `to`, which must be PostgreSQL and hold no rows yet
// (a host that started on it made its first config and admin: move first,
// then start). `progress` hears a line per table and per 1,000 rows.
// Throws StorageError naming what is wrong (a non-empty target, counts that differ).
std::vector<MovedTable> move_database(Database& from, Database& to,
                                      const std::function<void(const std::string&)>& progress);

}  // namespace switchboard::storage
