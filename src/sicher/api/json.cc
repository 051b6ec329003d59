#include "sicher/api/json.h"

#include <strings.h>

namespace sicher::api {

net::Response JsonResponse(int status, const nlohmann::json& body) {
  net::Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Result<nlohmann::json> ParseJsonObject(const net::Request& request, int max_depth) {
  std::string_view type = request.headers.Get("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type.size() != 16 || strncasecmp(type.data(), "application/json", 16) != 0) {
    return InvalidArgumentError("Content-Type must be application/json");
  }
  // Depth limit: the parser callback sees every nesting level before it is built.
  bool too_deep = false;
  int depth = 0;
  const nlohmann::json::parser_callback_t limit = [&](int d, nlohmann::json::parse_event_t event,
                                                      nlohmann::json&) {
    if (event == nlohmann::json::parse_event_t::object_start ||
        event == nlohmann::json::parse_event_t::array_start) {
      depth = d + 1;
      if (depth > max_depth) too_deep = true;
    }
    return !too_deep;
  };
  nlohmann::json value = nlohmann::json::parse(request.body, limit, /*allow_exceptions=*/false);
  if (too_deep) return InvalidArgumentError("JSON nests too deeply");
  if (value.is_discarded()) return InvalidArgumentError("body is not valid JSON");
  if (!value.is_object()) return InvalidArgumentError("body must be a JSON object");
  return value;
}

}  // namespace sicher::api
