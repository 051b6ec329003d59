#include "sicher/audit/record.h"

#include <fmt/format.h>

#include "sicher/audit/log.h"

namespace sicher::audit {
namespace {

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

// A JSON string as RFC 8785 (and nlohmann without ensure_ascii) writes it.
void AppendString(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// Writes an object's members in the order given (the caller lists them sorted), skipping
// empty ones, and the separating commas.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ~ObjectWriter() { out_ += '}'; }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  void Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    AppendString(out_, key);
    out_ += ':';
  }
  void String(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    Key(key);
    AppendString(out_, value);
  }
  template <typename Int>
  void Integer(std::string_view key, Int value) {
    Key(key);
    fmt::format_to(std::back_inserter(out_), "{}", value);
  }

 private:
  std::string& out_;
  bool first_ = true;
};

bool HasDetails(const RecordFields& f) {
  return f.details != nullptr && !f.details->is_null() && !f.details->empty();
}

}  // namespace

nlohmann::json RecordTree(const RecordFields& f) {
  nlohmann::json event = {{"id", f.id},
                          {"action", f.action},
                          {"category", {f.category}},
                          {"outcome", f.outcome},
                          {"sequence", f.sequence}};
  if (!f.reason.empty()) event["reason"] = f.reason;
  nlohmann::json actor = {{"type", f.actor_type}};
  if (!f.actor_id.empty()) actor["id"] = f.actor_id;
  nlohmann::json sicher = {{"log_index", f.log_index}, {"scope", f.scope}, {"actor", actor}};
  if (!f.target_type.empty()) {
    sicher["target"] = {{"type", f.target_type}};
    if (!f.target_id.empty()) sicher["target"]["id"] = f.target_id;
  }
  if (!f.device_type.empty()) sicher["device_type"] = f.device_type;
  if (HasDetails(f)) sicher["details"] = *f.details;
  nlohmann::json record = {
      {"@timestamp", f.timestamp}, {"event", std::move(event)}, {"sicher", std::move(sicher)}};
  if (!f.account_id.empty()) record["organization"] = {{"id", f.account_id}};
  if (f.actor_is_principal && !f.actor_id.empty()) record["user"] = {{"id", f.actor_id}};
  if (!f.ip.empty()) record["source"] = {{"ip", f.ip}};
  if (!f.country.empty()) record["source"]["geo"] = {{"country_iso_code", f.country}};
  if (!f.user_agent.empty()) record["user_agent"] = {{"original", f.user_agent}};
  if (!f.request_id.empty()) record["http"] = {{"request", {{"id", f.request_id}}}};
  return record;
}

std::string RenderRecord(const RecordFields& f) {
  for (std::string_view s : {f.timestamp, f.id, f.action, f.category, f.outcome, f.reason, f.scope,
                             f.actor_type, f.actor_id, f.target_type, f.target_id, f.device_type,
                             f.account_id, f.ip, f.country, f.user_agent, f.request_id}) {
    if (!ValidUtf8(s)) return CanonicalJson(RecordTree(f));
  }
  std::string out;
  out.reserve(512 + f.user_agent.size());
  {
    // Keys in byte order: @timestamp event http organization sicher source user user_agent.
    ObjectWriter record(out);
    record.Key("@timestamp");
    AppendString(out, f.timestamp);
    record.Key("event");
    {
      ObjectWriter event(out);  // action category id outcome reason sequence
      event.Key("action");
      AppendString(out, f.action);
      event.Key("category");
      out += '[';
      AppendString(out, f.category);
      out += ']';
      event.Key("id");
      AppendString(out, f.id);
      event.Key("outcome");
      AppendString(out, f.outcome);
      event.String("reason", f.reason);
      event.Integer("sequence", f.sequence);
    }
    if (!f.request_id.empty()) {
      record.Key("http");
      ObjectWriter http(out);
      http.Key("request");
      ObjectWriter request(out);
      request.String("id", f.request_id);
    }
    if (!f.account_id.empty()) {
      record.Key("organization");
      ObjectWriter organization(out);
      organization.String("id", f.account_id);
    }
    record.Key("sicher");
    {
      ObjectWriter sicher(out);  // actor details device_type log_index scope target
      sicher.Key("actor");
      {
        ObjectWriter actor(out);
        actor.String("id", f.actor_id);
        actor.Key("type");
        AppendString(out, f.actor_type);
      }
      if (HasDetails(f)) {
        sicher.Key("details");
        out += CanonicalJson(*f.details);
      }
      sicher.String("device_type", f.device_type);
      sicher.Integer("log_index", f.log_index);
      sicher.Key("scope");
      AppendString(out, f.scope);
      if (!f.target_type.empty()) {
        sicher.Key("target");
        ObjectWriter target(out);
        target.String("id", f.target_id);
        target.Key("type");
        AppendString(out, f.target_type);
      }
    }
    if (!f.ip.empty() || !f.country.empty()) {
      record.Key("source");
      ObjectWriter source(out);  // geo ip
      if (!f.country.empty()) {
        source.Key("geo");
        ObjectWriter geo(out);
        geo.String("country_iso_code", f.country);
      }
      source.String("ip", f.ip);
    }
    if (f.actor_is_principal && !f.actor_id.empty()) {
      record.Key("user");
      ObjectWriter user(out);
      user.String("id", f.actor_id);
    }
    if (!f.user_agent.empty()) {
      record.Key("user_agent");
      ObjectWriter user_agent(out);
      user_agent.String("original", f.user_agent);
    }
  }
  return out;
}

}  // namespace sicher::audit
