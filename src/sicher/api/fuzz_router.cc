// libFuzzer target: routing and JSON body parsing must never crash, whatever the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sicher/api/json.h"
#include "sicher/api/router.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sicher::api::Router* router = [] {
    auto* r = new sicher::api::Router();
    auto ok = [](sicher::net::Request&, const sicher::api::PathParams& p) {
      sicher::net::Response resp;
      resp.body = std::string(p.Get("id"));
      return resp;
    };
    r->Add("GET", "/v1/documents/{id}", {}, ok);
    r->Add("POST", "/v1/accounts/{id}/documents", {}, ok);
    r->Add("GET", "/v1/me", {}, ok);
    return r;
  }();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\n');
  sicher::net::Request req;
  req.method = size % 2 ? "GET" : "POST";
  req.path = input.substr(0, split);
  router->Classify(req.listener, req.method, req.path);
  router->Handle(req);
  if (split != std::string::npos) {
    req.headers.Set("Content-Type", "application/json");
    req.body = input.substr(split + 1);
    (void)sicher::api::ParseJsonObject(req);
  }
  return 0;
}
