#include "node/http/metrics.h"

#include <charconv>

namespace fvce::http {

namespace {
std::string fmt(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, p) : "0";
}
std::string escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

std::string Metrics::render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first + "=\"" + escape(labels[i].second) + "\"";
  }
  return out + "}";
}

void Metrics::describe(const std::string& family, const std::string& type,
                       const std::string& help) {
  std::lock_guard lock(mu_);
  auto& f = families_[family];
  f.type = type;
  f.help = help;
}

void Metrics::add(const std::string& family, const Labels& labels, double delta) {
  auto key = render_labels(labels);
  std::lock_guard lock(mu_);
  families_[family].samples[key] += delta;
}

void Metrics::set(const std::string& family, const Labels& labels, double value) {
  auto key = render_labels(labels);
  std::lock_guard lock(mu_);
  families_[family].samples[key] = value;
}

double Metrics::value(const std::string& family, const Labels& labels) const {
  auto key = render_labels(labels);
  std::lock_guard lock(mu_);
  auto f = families_.find(family);
  if (f == families_.end()) return 0;
  auto s = f->second.samples.find(key);
  return s == f->second.samples.end() ? 0 : s->second;
}

void Metrics::observe_request(std::string_view route, std::string_view method, int status,
                              double seconds) {
  add("fvce_http_requests_total", {{"route", std::string(route)},
                                   {"method", std::string(method)},
                                   {"code", std::to_string(status)}});
  std::lock_guard lock(mu_);
  auto& h = latency_[std::string(route)];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.counts[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::add_collector(std::function<void(Metrics&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() {
  std::vector<std::function<void(Metrics&)>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c(*this);

  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, v] : f.samples) out += name + labels + " " + fmt(v) + "\n";
  }
  const std::string h = "fvce_http_request_duration_seconds";
  out += "# HELP " + h + " Time to serve a request, by route.\n# TYPE " + h + " histogram\n";
  for (const auto& [route, hist] : latency_) {
    std::string r = "route=\"" + escape(route) + "\"";
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out += h + "_bucket{" + r + ",le=\"" + fmt(kBuckets[i]) + "\"} " +
             std::to_string(hist.counts[i]) + "\n";
    out += h + "_bucket{" + r + ",le=\"+Inf\"} " + std::to_string(hist.count) + "\n";
    out += h + "_sum{" + r + "} " + fmt(hist.sum) + "\n";
    out += h + "_count{" + r + "} " + std::to_string(hist.count) + "\n";
  }
  return out;
}

}  // namespace fvce::http
