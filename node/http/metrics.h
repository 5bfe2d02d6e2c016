// Metrics in the Prometheus text exposition format (GET /metrics).
//
// Counters and gauges are keyed by family name and a label set; request latencies are
// histograms per route. Collectors registered by services add gauges computed at scrape
// time (e.g. members by state). All methods are thread-safe.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace fvce::http {

class Metrics {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // Declares a family so it has HELP and TYPE lines even before its first sample.
  void describe(const std::string& family, const std::string& type, const std::string& help);

  void add(const std::string& family, const Labels& labels, double delta = 1);
  void set(const std::string& family, const Labels& labels, double value);

  // One served request: counts it and records its latency under its route.
  void observe_request(std::string_view route, std::string_view method, int status, double seconds);

  // Called at every scrape, before rendering; the callback calls set() for its gauges.
  void add_collector(std::function<void(Metrics&)> collector);

  std::string render();

  // Value of a counter or gauge, 0 when absent. For tests and the CLI.
  double value(const std::string& family, const Labels& labels) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};
  struct Family {
    std::string type = "untyped";
    std::string help;
    std::map<std::string, double> samples;  // rendered label set -> value
  };
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  static std::string render_labels(const Labels& labels);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::map<std::string, Histogram> latency_;  // route -> histogram
  std::vector<std::function<void(Metrics&)>> collectors_;
};

}  // namespace fvce::http
