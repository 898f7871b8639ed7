// File: host/services/labels.h
//
// Names and titles — config and user names, session titles, key names — are
// shown in lists and written into log lines. A control character in one cuts
// it short in storage (NUL), or forges a line of the log (CR, LF, ESC), so
// none is accepted.
#pragma once

#include "host/services/result.h"

#include <string>
#include <string_view>

namespace switchboard {

// InvalidArgument naming `field` when `text` holds a C0 control character or DEL.
Result<Unit> check_label(const std::string& field, std::string_view text);

}  // namespace switchboard
