// File: host/http/web_assets.h
//
// The chat page's files (host/web), embedded at build time, and the routes
// that serve them: "/" is index.html, "/web/<file>" the rest.
#pragma once

#include <string_view>
#include <vector>

namespace switchboard::http {

class Router;

struct WebAsset {
  std::string_view name;  // file name in host/web
  std::string_view data;
};

const std::vector<WebAsset>& web_assets();  // generated
void register_web_routes(Router& router);

}  // namespace switchboard::http
