// File: host/log.h
//
// The host's loggers. Poco's Logger is cheap to fetch and thread-safe; names
// are "switchboard.<area>" so the level of each area can be set apart.
#pragma once

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>

#include <string>
#include <string_view>

namespace switchboard::log {

// `text` with every control character escaped (\n, \r, \t, \xHH).
std::string one_line(std::string_view text);

// Wraps `sink` so that each message reaches it as one line: time, priority,
// source and text, with control characters escaped. Paths, names and
// upstream messages come from outside; a CR/LF in one cannot forge a log
// line, nor an ESC drive the operator's terminal.
Poco::AutoPtr<Poco::Channel> line_channel(Poco::AutoPtr<Poco::Channel> sink);

inline Poco::Logger& http() { return Poco::Logger::get("switchboard.http"); }
inline Poco::Logger& access() { return Poco::Logger::get("switchboard.access"); }
inline Poco::Logger& plugins() { return Poco::Logger::get("switchboard.plugins"); }
inline Poco::Logger& chat() { return Poco::Logger::get("switchboard.chat"); }
inline Poco::Logger& app() { return Poco::Logger::get("switchboard"); }

}  // namespace switchboard::log
