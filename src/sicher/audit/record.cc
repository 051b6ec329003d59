#include "sicher/audit/record.h"

#include <fmt/format.h>

#include <array>

#include "sicher/audit/log.h"
#include "sicher/log/access_log.h"

namespace sicher::audit {
namespace {

// Writes an object's members in the order given (the caller lists them sorted), skipping
// empty ones, and the separating commas.
class ObjectWriter {
 public:
  explicit ObjectWriter(fmt::memory_buffer& out) : out_(out) { out_.push_back('{'); }
  ~ObjectWriter() { out_.push_back('}'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  void Key(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    log::AppendJsonString(key, out_);
    out_.push_back(':');
  }
  void String(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    Key(key);
    log::AppendJsonString(value, out_);
  }

 private:
  fmt::memory_buffer& out_;
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

namespace {

// The record without its four position fields; `cuts` receives where each belongs.
void Render(const RecordFields& f, fmt::memory_buffer& out, std::array<size_t, 4>& cuts) {
  auto cut = [&](size_t i) { cuts[i] = out.size(); };
  {
    // Keys in byte order: @timestamp event http organization sicher source user user_agent.
    ObjectWriter record(out);
    record.Key("@timestamp");
    cut(0);
    record.Key("event");
    {
      ObjectWriter event(out);  // action category id outcome reason sequence
      event.Key("action");
      log::AppendJsonString(f.action, out);
      event.Key("category");
      out.push_back('[');
      log::AppendJsonString(f.category, out);
      out.push_back(']');
      event.Key("id");
      log::AppendJsonString(f.id, out);
      event.Key("outcome");
      log::AppendJsonString(f.outcome, out);
      event.String("reason", f.reason);
      event.Key("sequence");
      cut(1);
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
        log::AppendJsonString(f.actor_type, out);
      }
      if (HasDetails(f)) {
        sicher.Key("details");
        const std::string details = CanonicalJson(*f.details);
        out.append(details.data(), details.data() + details.size());
      }
      sicher.String("device_type", f.device_type);
      sicher.Key("log_index");
      cut(2);
      sicher.Key("scope");
      cut(3);
      if (!f.target_type.empty()) {
        sicher.Key("target");
        ObjectWriter target(out);
        target.String("id", f.target_id);
        target.Key("type");
        log::AppendJsonString(f.target_type, out);
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
}

}  // namespace

std::string RenderRecord(const RecordFields& f) {
  return RecordTemplate::Render(f).Complete(f.timestamp, f.sequence, f.log_index, f.scope);
}

RecordTemplate RecordTemplate::Render(const RecordFields& f) {
  fmt::memory_buffer out;
  RecordTemplate t;
  audit::Render(f, out, t.cuts_);
  t.text_ = fmt::to_string(out);
  return t;
}

std::string RecordTemplate::Complete(std::string_view timestamp, int64_t sequence,
                                     uint64_t log_index, std::string_view scope) const {
  fmt::memory_buffer out;
  const std::string_view text = text_;
  out.append(text.substr(0, cuts_[0]));
  log::AppendJsonString(timestamp, out);
  out.append(text.substr(cuts_[0], cuts_[1] - cuts_[0]));
  fmt::format_to(std::back_inserter(out), "{}", sequence);
  out.append(text.substr(cuts_[1], cuts_[2] - cuts_[1]));
  fmt::format_to(std::back_inserter(out), "{}", log_index);
  out.append(text.substr(cuts_[2], cuts_[3] - cuts_[2]));
  log::AppendJsonString(scope, out);
  out.append(text.substr(cuts_[3]));
  return fmt::to_string(out);
}

}  // namespace sicher::audit
