// File: host/json_depth.cpp
//
// The linear nesting scan (see json_depth.h).
#include "host/json_depth.h"

namespace switchboard {

bool json_nests_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > limit) return true;
        break;
      case ']':
      case '}':
        // Unbalanced closers are the parser's to refuse; they never deepen.
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return false;
}

}  // namespace switchboard
