// File: host/log.h
//
// The host's loggers. Poco's Logger is cheap to fetch and thread-safe; names
// are "switchboard.<area>" so the level of each area can be set apart.
#pragma once

#include <Poco/Logger.h>

namespace switchboard::log {

inline Poco::Logger& http() { return Poco::Logger::get("switchboard.http"); }
inline Poco::Logger& access() { return Poco::Logger::get("switchboard.access"); }
inline Poco::Logger& plugins() { return Poco::Logger::get("switchboard.plugins"); }
inline Poco::Logger& chat() { return Poco::Logger::get("switchboard.chat"); }
inline Poco::Logger& app() { return Poco::Logger::get("switchboard"); }

}  // namespace switchboard::log
