// The explicit registry that turns deploy.xml's <service impl="..."> into an object.
//
// Each service has one Registry<Logic> table filled by one explicit registration function
// (no static-initialisation tricks). build() checks the impl name and every parameter
// against what the impl declared, and fails naming file:line:col and the known choices.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/core/status.h"
#include "node/deploy/deploy.h"

namespace fvce::deploy {

// A parameter an implementation accepts.
struct ParamSpec {
  std::string name;
  std::string default_value;  // used when deploy.xml omits it; ignored when required
  std::string help;
  bool required = false;
};

// The checked parameters handed to a builder. Accessors parse the value and, on failure,
// return an error that names where the parameter is and what is wrong with it.
class Params {
 public:
  Params(const ServiceConfig* config, const std::vector<ParamSpec>* specs)
      : config_(config), specs_(specs) {}

  std::string text(const std::string& name) const;
  Result<std::int64_t> integer(const std::string& name, std::int64_t min, std::int64_t max) const;
  Result<double> number(const std::string& name, double min, double max) const;
  Result<std::chrono::milliseconds> duration(const std::string& name) const;
  Result<std::uint64_t> size(const std::string& name) const;
  Result<bool> boolean(const std::string& name) const;
  // Where the parameter is given, or the service element when it is defaulted.
  std::string where(const std::string& name) const;
  std::string service() const { return config_ ? config_->name : std::string(); }

 private:
  const Param* given(const std::string& name) const;
  Status bad(const std::string& name, const std::string& why) const;
  const ServiceConfig* config_;
  const std::vector<ParamSpec>* specs_;
};

template <typename Logic, typename Context>
class Registry {
 public:
  using Builder = std::function<Result<std::shared_ptr<Logic>>(const Params&, Context&)>;

  explicit Registry(std::string service) : service_(std::move(service)) {}

  void add(std::string impl, std::string description, std::vector<ParamSpec> params,
           Builder builder) {
    entries_[std::move(impl)] =
        Entry{std::move(description), std::move(params), std::move(builder)};
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_) out.push_back(k);
    return out;
  }

  const std::vector<ParamSpec>* params_of(const std::string& impl) const {
    auto it = entries_.find(impl);
    return it == entries_.end() ? nullptr : &it->second.params;
  }

  // Builds the impl config names. Errors name config's location and the choices.
  Result<std::shared_ptr<Logic>> build(const ServiceConfig& config, Context& context) const {
    auto it = entries_.find(config.impl);
    if (it == entries_.end()) {
      std::string known;
      for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
      return Status::InvalidArgument(config.where.str() + ": unknown impl '" + config.impl +
                                     "' for service '" + service_ + "' (known: " + known + ")");
    }
    const auto& specs = it->second.params;
    for (const auto& p : config.params) {
      bool found = false;
      for (const auto& s : specs) found = found || s.name == p.name;
      if (!found) {
        std::string known;
        for (const auto& s : specs) known += (known.empty() ? "" : ", ") + s.name;
        return Status::InvalidArgument(p.where.str() + ": unknown parameter '" + p.name + "' for " +
                                       service_ + " impl '" + config.impl +
                                       "' (known: " + (known.empty() ? "none" : known) + ")");
      }
    }
    for (const auto& s : specs) {
      if (!s.required) continue;
      bool found = false;
      for (const auto& p : config.params) found = found || p.name == s.name;
      if (!found)
        return Status::InvalidArgument(config.where.str() + ": " + service_ + " impl '" +
                                       config.impl + "' needs parameter '" + s.name + "' (" +
                                       s.help + ")");
    }
    return it->second.builder(Params(&config, &specs), context);
  }

  // Builds with no deploy.xml entry: the impl's defaults. For services deploy.xml omits.
  Result<std::shared_ptr<Logic>> build_default(const std::string& impl, Context& context,
                                               const std::string& file) const {
    ServiceConfig config{service_, impl, {}, Location{file, 0, 0}};
    return build(config, context);
  }

  const std::string& service() const { return service_; }

 private:
  struct Entry {
    std::string description;
    std::vector<ParamSpec> params;
    Builder builder;
  };
  std::string service_;
  std::map<std::string, Entry> entries_;
};

}  // namespace fvce::deploy
