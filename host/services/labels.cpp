// File: host/services/labels.cpp
//
// The one rule for names and titles (see labels.h).
#include "host/services/labels.h"

namespace switchboard {

Result<Unit> check_label(const std::string& field, std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return invalid(field, field + " must not contain control characters (tabs, line breaks, NUL, ESC...)");
  }
  return Unit{};
}

}  // namespace switchboard
