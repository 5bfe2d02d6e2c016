#include "services/submit/query.h"

#include <algorithm>
#include <charconv>

#include "node/http/url.h"

namespace fvce::submit {

namespace {

Result<std::uint64_t> number(const http::RequestView& v, const char* name, std::uint64_t fallback) {
  auto text = v.param(name);
  if (text.empty()) return fallback;
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || p != text.data() + text.size())
    return Status::InvalidArgument(std::string("query parameter '") + name + "': '" + text +
                                   "' is not a whole number");
  return out;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= text.size()) {
    auto j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

template <typename State, typename Parse>
Result<std::vector<State>> states(const http::RequestView& v, Parse parse, const char* what) {
  std::vector<State> out;
  for (const auto& word : split_commas(v.param("state"))) {
    auto s = parse(word);
    if (!s)
      return Status::InvalidArgument("query parameter 'state': '" + word + "' is not " + what);
    out.push_back(*s);
  }
  return out;
}

template <typename State>
std::string join_states(const std::vector<State>& states) {
  std::string out;
  for (auto s : states) {
    if (!out.empty()) out += ',';
    out += model::to_string(s);
  }
  return out;
}

}  // namespace

bool matches(const WorkflowQuery& q, const model::WorkflowSummary& s) {
  if (!q.owner.empty() && s.owner != q.owner) return false;
  if (!q.states.empty() && std::find(q.states.begin(), q.states.end(), s.state) == q.states.end())
    return false;
  if (!q.name.empty() && s.name.find(q.name) == std::string::npos) return false;
  if (!q.app.empty() && s.app != q.app) return false;
  if (!q.node.empty() && s.node != q.node) return false;
  if (!q.search.empty() && s.name.find(q.search) == std::string::npos &&
      s.id.find(q.search) == std::string::npos)
    return false;
  if (q.from != 0 && s.submitted < q.from) return false;
  if (q.to != 0 && s.submitted > q.to) return false;
  return true;
}

Result<WorkflowQuery> read_workflow_query(const http::RequestView& v, std::uint64_t max_limit) {
  WorkflowQuery q;
  auto offset = number(v, "offset", 0);
  if (!offset.ok()) return offset.status();
  auto limit = number(v, "limit", 100);
  if (!limit.ok()) return limit.status();
  if (*limit < 1 || *limit > max_limit)
    return Status::InvalidArgument("limit=" + std::to_string(*limit) + " is not between 1 and " +
                                   std::to_string(max_limit));
  auto from = number(v, "from", 0);
  if (!from.ok()) return from.status();
  auto to = number(v, "to", 0);
  if (!to.ok()) return to.status();
  auto st = states<model::WorkflowState>(v, model::workflow_state_from_string,
                                         "running, done, failed or cancelled");
  if (!st.ok()) return st.status();
  q.owner = v.param("owner");
  q.offset = *offset;
  q.limit = *limit;
  q.states = std::move(*st);
  q.name = v.param("name");
  q.app = v.param("app");
  q.node = v.param("node");
  q.search = v.param("q");
  q.from = static_cast<std::int64_t>(*from);
  q.to = static_cast<std::int64_t>(*to);
  return q;
}

QueryParams workflow_query_params(const WorkflowQuery& q) {
  QueryParams p{{"owner", q.owner},
                {"offset", q.offset ? std::to_string(q.offset) : ""},
                {"limit", std::to_string(q.limit)},
                {"state", join_states(q.states)},
                {"name", q.name},
                {"app", q.app},
                {"node", q.node},
                {"q", q.search},
                {"from", q.from ? std::to_string(q.from) : ""},
                {"to", q.to ? std::to_string(q.to) : ""}};
  return p;
}

Result<ViewQuery> read_view_query(const http::RequestView& v, std::uint64_t max_limit) {
  ViewQuery q;
  auto parts = v.param("parts");
  if (!parts.empty()) {
    q.tasks = false;
    for (const auto& part : split_commas(parts)) {
      if (part == "tasks")
        q.tasks = true;
      else if (part == "graph")
        q.graph = true;
      else if (part == "timeline")
        q.timeline = true;
      else
        return Status::InvalidArgument("query parameter 'parts': '" + part +
                                       "' is not tasks, graph or timeline");
    }
  }
  auto offset = number(v, "offset", 0);
  if (!offset.ok()) return offset.status();
  auto limit = number(v, "limit", 100);
  if (!limit.ok()) return limit.status();
  if (*limit > max_limit)
    return Status::InvalidArgument("limit=" + std::to_string(*limit) + " is more than " +
                                   std::to_string(max_limit));
  auto st = states<model::TaskState>(v, model::task_state_from_string, "a task state");
  if (!st.ok()) return st.status();
  q.offset = *offset;
  q.limit = *limit;
  q.states = std::move(*st);
  q.search = v.param("q");
  q.group = v.param("group");
  return q;
}

QueryParams view_query_params(const ViewQuery& q) {
  std::string parts;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!parts.empty()) parts += ',';
    parts += name;
  };
  add(q.tasks, "tasks");
  add(q.graph, "graph");
  add(q.timeline, "timeline");
  // Nothing asked: the same answer as tasks with an empty page.
  QueryParams p{{"parts", parts.empty() ? "tasks" : parts},
                {"offset", q.offset ? std::to_string(q.offset) : ""},
                {"limit", std::to_string(parts.empty() ? 0 : q.limit)},
                {"state", join_states(q.states)},
                {"q", q.search},
                {"group", q.group}};
  return p;
}

std::string target_with(std::string_view route, const QueryParams& params) {
  std::string out(route);
  char sep = '?';
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out.push_back(sep);
    sep = '&';
    out.append(key);
    out.push_back('=');
    out.append(http::url_encode(value));
  }
  return out;
}

}  // namespace fvce::submit
