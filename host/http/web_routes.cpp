// File: host/http/web_routes.cpp
//
// Serves the embedded chat page with its content type and caching headers.
// index.html is revalidated on every load (so a new build shows at once); the
// assets it references carry an ETag for cheap revalidation.
#include "host/http/json_response.h"
#include "host/http/router.h"
#include "host/http/web_assets.h"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <functional>
#include <ostream>
#include <string>

namespace switchboard::http {

namespace {

std::string content_type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

void serve(Exchange& ex, const WebAsset& asset) {
  const std::string etag = "\"" + std::to_string(std::hash<std::string_view>{}(asset.data)) + "\"";
  auto& response = ex.response;
  response.set("ETag", etag);
  response.set("Cache-Control", "no-cache");  // revalidate each time; a 304 costs nothing
  response.set("X-Content-Type-Options", "nosniff");
  if (ex.request.get("If-None-Match", "") == etag) {
    response.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
    response.setContentLength(0);
    response.send();
    ex.status = 304;
    return;
  }
  response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType(content_type_of(asset.name));
  response.setContentLength(static_cast<std::streamsize>(asset.data.size()));
  response.send().write(asset.data.data(), static_cast<std::streamsize>(asset.data.size()));
  ex.status = 200;
  ex.bytes_sent += asset.data.size();
}

const WebAsset* find_asset(std::string_view name) {
  for (const auto& a : web_assets())
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace

void register_web_routes(Router& router) {
  router.add("GET", "/", Access::Public, [](Exchange& ex) {
    const WebAsset* index = find_asset("index.html");
    if (index == nullptr) return send_error(ex, 404, "not_found", "this build has no web page");
    serve(ex, *index);
  });
  router.add("GET", "/web/{file}", Access::Public, [](Exchange& ex) {
    const WebAsset* asset = find_asset(ex.params[0]);
    if (asset == nullptr) return send_error(ex, 404, "not_found", "no such file: " + ex.params[0]);
    serve(ex, *asset);
  });
}

}  // namespace switchboard::http
