// Codecs of the task documents (xsd/task.xsd): assignments, reports, workflow lists and
// status, results.
#include <charconv>

#include "node/model/codec.h"
#include "node/model/codec_util.h"

namespace fvce::model {

using namespace detail;

namespace {

void encode_file_ref(pugi::xml_node& n, const FileRef& f) {
  n.append_attribute("name") = f.name.c_str();
  n.append_attribute("sha256") = f.sha256.c_str();
  n.append_attribute("size") = static_cast<unsigned long long>(f.size);
  n.append_attribute("source") = f.source.c_str();
  n.append_attribute("path") = f.path.c_str();
  if (f.executable) n.append_attribute("executable") = "true";
}

Result<FileRef> decode_file_ref(const pugi::xml_node& n) {
  FileRef f;
  FVCE_TRY(read_string(n, "name", f.name));
  FVCE_TRY(read_string(n, "sha256", f.sha256));
  FVCE_TRY(read_int(n, "size", f.size));
  FVCE_TRY(read_string(n, "source", f.source));
  FVCE_TRY(read_string(n, "path", f.path));
  FVCE_TRY(read_bool(n, "executable", f.executable));
  return f;
}

void encode_summary(pugi::xml_node& n, const WorkflowSummary& s) {
  n.append_attribute("id") = s.id.c_str();
  n.append_attribute("name") = s.name.c_str();
  n.append_attribute("owner") = s.owner.c_str();
  n.append_attribute("node") = s.node.c_str();
  if (!s.app.empty()) n.append_attribute("app") = s.app.c_str();
  n.append_attribute("state") = std::string(to_string(s.state)).c_str();
  n.append_attribute("submitted") = static_cast<long long>(s.submitted);
  write_opt(n, "finished", s.finished);
  n.append_attribute("tasks") = s.tasks;
  n.append_attribute("pending") = s.pending;
  n.append_attribute("ready") = s.ready;
  n.append_attribute("running") = s.running;
  n.append_attribute("done") = s.done;
  n.append_attribute("failed") = s.failed;
  n.append_attribute("cancelled") = s.cancelled;
}

Result<WorkflowSummary> decode_summary(const pugi::xml_node& n) {
  WorkflowSummary s;
  FVCE_TRY(read_string(n, "id", s.id));
  FVCE_TRY(read_string(n, "name", s.name));
  FVCE_TRY(read_string(n, "owner", s.owner));
  FVCE_TRY(read_string(n, "node", s.node));
  FVCE_TRY(read_string(n, "app", s.app, false));
  auto state = workflow_state_from_string(n.attribute("state").value());
  if (!state) return bad(n, "state", "a workflow state");
  s.state = *state;
  FVCE_TRY(read_int(n, "submitted", s.submitted));
  FVCE_TRY(read_opt(n, "finished", s.finished));
  FVCE_TRY(read_int(n, "tasks", s.tasks));
  FVCE_TRY(read_int(n, "pending", s.pending));
  FVCE_TRY(read_int(n, "ready", s.ready));
  FVCE_TRY(read_int(n, "running", s.running));
  FVCE_TRY(read_int(n, "done", s.done));
  FVCE_TRY(read_int(n, "failed", s.failed));
  FVCE_TRY(read_int(n, "cancelled", s.cancelled));
  return s;
}

}  // namespace

std::string_view to_string(TaskState s) {
  switch (s) {
    case TaskState::pending:
      return "pending";
    case TaskState::ready:
      return "ready";
    case TaskState::placed:
      return "placed";
    case TaskState::staging:
      return "staging";
    case TaskState::running:
      return "running";
    case TaskState::done:
      return "done";
    case TaskState::failed:
      return "failed";
    case TaskState::cancelled:
      return "cancelled";
  }
  return "pending";
}

std::optional<TaskState> task_state_from_string(std::string_view s) {
  for (auto t : {TaskState::pending, TaskState::ready, TaskState::placed, TaskState::staging,
                 TaskState::running, TaskState::done, TaskState::failed, TaskState::cancelled})
    if (to_string(t) == s) return t;
  return std::nullopt;
}

std::string_view to_string(WorkflowState s) {
  switch (s) {
    case WorkflowState::running:
      return "running";
    case WorkflowState::done:
      return "done";
    case WorkflowState::failed:
      return "failed";
    case WorkflowState::cancelled:
      return "cancelled";
  }
  return "running";
}

std::optional<WorkflowState> workflow_state_from_string(std::string_view s) {
  for (auto w : {WorkflowState::running, WorkflowState::done, WorkflowState::failed,
                 WorkflowState::cancelled})
    if (to_string(w) == s) return w;
  return std::nullopt;
}

// --- tasks ---

void Codec<TaskAssignment>::encode(pugi::xml_node& n, const TaskAssignment& a) {
  n.append_attribute("workflow") = a.workflow.c_str();
  n.append_attribute("task") = a.task.c_str();
  n.append_attribute("attempt") = a.attempt;
  n.append_attribute("submitter") = a.submitter.c_str();
  n.append_attribute("owner") = a.owner.c_str();
  n.append_attribute("cmd") = a.cmd.c_str();
  n.append_attribute("cores") = a.cores;
  n.append_attribute("memory") = static_cast<unsigned long long>(a.memory);
  n.append_attribute("time-limit") = static_cast<long long>(a.time_limit_ms);
  for (const auto& x : a.args) n.append_child("arg").text() = x.c_str();
  for (const auto& [k, v] : a.env) {
    auto e = n.append_child("env");
    e.append_attribute("name") = k.c_str();
    e.append_attribute("value") = v.c_str();
  }
  for (const auto& i : a.inputs) {
    auto c = n.append_child("input");
    encode_file_ref(c, i);
  }
  for (const auto& o : a.outputs) n.append_child("output").append_attribute("name") = o.c_str();
  if (a.checkpoint) encode_checkpoint(n, *a.checkpoint, true);
  if (!a.backup.empty()) n.append_attribute("backup") = a.backup.c_str();
}

Result<TaskAssignment> Codec<TaskAssignment>::decode(const pugi::xml_node& n) {
  TaskAssignment a;
  FVCE_TRY(read_string(n, "workflow", a.workflow));
  FVCE_TRY(read_string(n, "task", a.task));
  FVCE_TRY(read_int(n, "attempt", a.attempt));
  FVCE_TRY(read_string(n, "submitter", a.submitter));
  FVCE_TRY(read_string(n, "owner", a.owner));
  FVCE_TRY(read_string(n, "cmd", a.cmd));
  FVCE_TRY(read_int(n, "cores", a.cores));
  FVCE_TRY(read_int(n, "memory", a.memory));
  FVCE_TRY(read_int(n, "time-limit", a.time_limit_ms));
  FVCE_TRY(read_string(n, "backup", a.backup, false));
  for (auto c : n.children()) {
    std::string_view name = c.name();
    if (name == "arg") {
      a.args.push_back(c.text().get());
    } else if (name == "env") {
      a.env.emplace_back(c.attribute("name").value(), c.attribute("value").value());
    } else if (name == "input") {
      auto f = decode_file_ref(c);
      if (!f.ok()) return f.status();
      a.inputs.push_back(std::move(*f));
    } else if (name == "output") {
      a.outputs.push_back(c.attribute("name").value());
    } else if (name == "checkpoint") {
      auto cp = decode_checkpoint(c);
      if (!cp.ok()) return cp.status();
      a.checkpoint = *cp;
    }
  }
  return a;
}

void Codec<TaskReports>::encode(pugi::xml_node& n, const TaskReports& rs) {
  for (const auto& r : rs.reports) {
    auto c = n.append_child("report");
    c.append_attribute("workflow") = r.workflow.c_str();
    c.append_attribute("task") = r.task.c_str();
    c.append_attribute("attempt") = r.attempt;
    c.append_attribute("host") = r.host.c_str();
    c.append_attribute("state") = std::string(to_string(r.state)).c_str();
    write_opt(c, "exit-code", r.exit_code);
    write_opt(c, "signal", r.signal);
    write_opt(c, "wall", r.wall_ms);
    write_opt(c, "cpu", r.cpu_ms);
    write_opt(c, "max-rss", r.max_rss);
    write_opt(c, "started", r.started);
    write_opt(c, "finished", r.finished);
    if (!r.message.empty()) c.append_attribute("message") = r.message.c_str();
    if (!r.lost_input.empty()) c.append_attribute("lost-input") = r.lost_input.c_str();
    if (!r.host_fault.empty()) c.append_attribute("host-fault") = r.host_fault.c_str();
    for (const auto& o : r.outputs) {
      auto oc = c.append_child("output");
      encode_file_ref(oc, o);
    }
    if (r.checkpoint) {
      auto cc = c.append_child("checkpoint");
      encode_file_ref(cc, *r.checkpoint);
    }
  }
}

Result<TaskReports> Codec<TaskReports>::decode(const pugi::xml_node& n) {
  TaskReports rs;
  for (auto c : n.children("report")) {
    TaskReport r;
    FVCE_TRY(read_string(c, "workflow", r.workflow));
    FVCE_TRY(read_string(c, "task", r.task));
    FVCE_TRY(read_int(c, "attempt", r.attempt));
    FVCE_TRY(read_string(c, "host", r.host));
    auto state = task_state_from_string(c.attribute("state").value());
    if (!state) return bad(c, "state", "a task state");
    r.state = *state;
    FVCE_TRY(read_opt(c, "exit-code", r.exit_code));
    FVCE_TRY(read_opt(c, "signal", r.signal));
    FVCE_TRY(read_opt(c, "wall", r.wall_ms));
    FVCE_TRY(read_opt(c, "cpu", r.cpu_ms));
    FVCE_TRY(read_opt(c, "max-rss", r.max_rss));
    FVCE_TRY(read_opt(c, "started", r.started));
    FVCE_TRY(read_opt(c, "finished", r.finished));
    FVCE_TRY(read_string(c, "message", r.message, false));
    FVCE_TRY(read_string(c, "lost-input", r.lost_input, false));
    FVCE_TRY(read_string(c, "host-fault", r.host_fault, false));
    for (auto oc : c.children("output")) {
      auto f = decode_file_ref(oc);
      if (!f.ok()) return f.status();
      r.outputs.push_back(std::move(*f));
    }
    if (auto cc = c.child("checkpoint")) {
      auto f = decode_file_ref(cc);
      if (!f.ok()) return f.status();
      r.checkpoint = std::move(*f);
    }
    rs.reports.push_back(std::move(r));
  }
  return rs;
}

void Codec<CancelRequest>::encode(pugi::xml_node& n, const CancelRequest& c) {
  n.append_attribute("workflow") = c.workflow.c_str();
  if (!c.task.empty()) n.append_attribute("task") = c.task.c_str();
}
Result<CancelRequest> Codec<CancelRequest>::decode(const pugi::xml_node& n) {
  CancelRequest c;
  FVCE_TRY(read_string(n, "workflow", c.workflow));
  FVCE_TRY(read_string(n, "task", c.task, false));
  return c;
}

void Codec<ReleaseRequest>::encode(pugi::xml_node& n, const ReleaseRequest& r) {
  n.append_attribute("workflow") = r.workflow.c_str();
  n.append_attribute("task") = r.task.c_str();
  n.append_attribute("reason") = r.reason.c_str();
  if (!r.checkpoint) n.append_attribute("checkpoint") = "false";
}
Result<ReleaseRequest> Codec<ReleaseRequest>::decode(const pugi::xml_node& n) {
  ReleaseRequest r;
  FVCE_TRY(read_string(n, "workflow", r.workflow));
  FVCE_TRY(read_string(n, "task", r.task));
  FVCE_TRY(read_string(n, "reason", r.reason));
  auto cp = n.attribute("checkpoint");
  r.checkpoint = !cp || cp.as_bool();
  return r;
}

void Codec<Drained>::encode(pugi::xml_node& n, const Drained& d) {
  n.append_attribute("host") = d.host.c_str();
  n.append_attribute("released") = d.released;
  n.append_attribute("checkpointed") = d.checkpointed;
  n.append_attribute("left") = d.left;
  n.append_attribute("ms") = static_cast<unsigned long long>(d.ms);
}
Result<Drained> Codec<Drained>::decode(const pugi::xml_node& n) {
  Drained d;
  FVCE_TRY(read_string(n, "host", d.host));
  FVCE_TRY(read_int(n, "released", d.released));
  FVCE_TRY(read_int(n, "checkpointed", d.checkpointed));
  FVCE_TRY(read_int(n, "left", d.left));
  FVCE_TRY(read_int(n, "ms", d.ms));
  return d;
}

void Codec<Submitted>::encode(pugi::xml_node& n, const Submitted& s) {
  n.append_attribute("id") = s.id.c_str();
  n.append_attribute("name") = s.name.c_str();
  n.append_attribute("tasks") = s.tasks;
}
Result<Submitted> Codec<Submitted>::decode(const pugi::xml_node& n) {
  Submitted s;
  FVCE_TRY(read_string(n, "id", s.id));
  FVCE_TRY(read_string(n, "name", s.name));
  FVCE_TRY(read_int(n, "tasks", s.tasks));
  return s;
}

void Codec<WorkflowList>::encode(pugi::xml_node& n, const WorkflowList& l) {
  n.append_attribute("total") = std::to_string(l.total).c_str();
  n.append_attribute("offset") = std::to_string(l.offset).c_str();
  for (const auto& s : l.workflows) {
    auto c = n.append_child("workflow");
    encode_summary(c, s);
  }
  for (const auto& u : l.unreachable) {
    auto c = n.append_child("unreachable");
    c.append_attribute("node") = u.node.c_str();
    c.append_attribute("address") = u.address.c_str();
    c.append_attribute("reason") = u.reason.c_str();
  }
}
Result<WorkflowList> Codec<WorkflowList>::decode(const pugi::xml_node& n) {
  WorkflowList l;
  for (auto c : n.children("workflow")) {
    auto s = decode_summary(c);
    if (!s.ok()) return s.status();
    l.workflows.push_back(std::move(*s));
  }
  l.total = l.workflows.size();
  FVCE_TRY(read_int(n, "total", l.total, false));
  FVCE_TRY(read_int(n, "offset", l.offset, false));
  for (auto c : n.children("unreachable")) {
    Unreachable u;
    FVCE_TRY(read_string(c, "node", u.node));
    FVCE_TRY(read_string(c, "address", u.address));
    FVCE_TRY(read_string(c, "reason", u.reason));
    l.unreachable.push_back(std::move(u));
  }
  return l;
}

namespace {

void encode_task_status(pugi::xml_node& c, const TaskStatus& t) {
  c.append_attribute("id") = t.id.c_str();
  c.append_attribute("state") = std::string(to_string(t.state)).c_str();
  if (!t.host.empty()) c.append_attribute("host") = t.host.c_str();
  c.append_attribute("attempts") = t.attempts;
  write_opt(c, "exit-code", t.exit_code);
  write_opt(c, "wall", t.wall_ms);
  write_opt(c, "cpu", t.cpu_ms);
  write_opt(c, "max-rss", t.max_rss);
  write_opt(c, "started", t.started);
  write_opt(c, "finished", t.finished);
  if (!t.message.empty()) c.append_attribute("message") = t.message.c_str();
}

Result<TaskStatus> decode_task_status(const pugi::xml_node& c) {
  TaskStatus t;
  FVCE_TRY(read_string(c, "id", t.id));
  auto state = task_state_from_string(c.attribute("state").value());
  if (!state) return bad(c, "state", "a task state");
  t.state = *state;
  FVCE_TRY(read_string(c, "host", t.host, false));
  FVCE_TRY(read_int(c, "attempts", t.attempts));
  FVCE_TRY(read_opt(c, "exit-code", t.exit_code));
  FVCE_TRY(read_opt(c, "wall", t.wall_ms));
  FVCE_TRY(read_opt(c, "cpu", t.cpu_ms));
  FVCE_TRY(read_opt(c, "max-rss", t.max_rss));
  FVCE_TRY(read_opt(c, "started", t.started));
  FVCE_TRY(read_opt(c, "finished", t.finished));
  FVCE_TRY(read_string(c, "message", t.message, false));
  return t;
}

// A list of values as the text of one element, separated by single spaces.
template <typename T, typename F>
void encode_list(pugi::xml_node& parent, const char* name, const std::vector<T>& values, F format) {
  std::string text;
  for (const auto& v : values) {
    if (!text.empty()) text += ' ';
    text += format(v);
  }
  parent.append_child(name).text() = text.c_str();
}

std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

Result<std::vector<std::int64_t>> decode_numbers(const pugi::xml_node& parent, const char* name) {
  std::vector<std::int64_t> out;
  for (auto word : split_list(parent.child(name).text().get())) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || p != word.data() + word.size())
      return Status::InvalidArgument(std::string("<") + name + "> holds '" + std::string(word) +
                                     "', which is not an integer");
    out.push_back(v);
  }
  return out;
}

}  // namespace

void Codec<WorkflowStatus>::encode(pugi::xml_node& n, const WorkflowStatus& w) {
  auto s = n.append_child("summary");
  encode_summary(s, w.summary);
  for (const auto& t : w.tasks) {
    auto c = n.append_child("task");
    encode_task_status(c, t);
  }
}
Result<WorkflowStatus> Codec<WorkflowStatus>::decode(const pugi::xml_node& n) {
  WorkflowStatus w;
  auto s = decode_summary(n.child("summary"));
  if (!s.ok()) return s.status();
  w.summary = std::move(*s);
  for (auto c : n.children("task")) {
    auto t = decode_task_status(c);
    if (!t.ok()) return t.status();
    w.tasks.push_back(std::move(*t));
  }
  return w;
}

void Codec<WorkflowView>::encode(pugi::xml_node& n, const WorkflowView& w) {
  n.append_attribute("total") = std::to_string(w.total).c_str();
  n.append_attribute("offset") = std::to_string(w.offset).c_str();
  auto s = n.append_child("summary");
  encode_summary(s, w.summary);
  for (const auto& t : w.tasks) {
    auto c = n.append_child("task");
    encode_task_status(c, t);
  }
  for (const auto& g : w.groups) {
    auto c = n.append_child("group");
    c.append_attribute("id") = g.id.c_str();
    if (g.array) {
      c.append_attribute("first") = g.first;
      c.append_attribute("last") = g.last;
    }
    c.append_attribute("tasks") = g.tasks;
    c.append_attribute("pending") = g.pending;
    c.append_attribute("ready") = g.ready;
    c.append_attribute("running") = g.running;
    c.append_attribute("done") = g.done;
    c.append_attribute("failed") = g.failed;
    c.append_attribute("cancelled") = g.cancelled;
  }
  for (const auto& [from, to] : w.edges) {
    auto c = n.append_child("edge");
    c.append_attribute("from") = from.c_str();
    c.append_attribute("to") = to.c_str();
  }
  if (w.timeline) {
    const auto& t = *w.timeline;
    auto c = n.append_child("timeline");
    c.append_attribute("t0") = static_cast<long long>(t.t0);
    auto str = [](const std::string& v) { return v; };
    auto num = [](auto v) { return std::to_string(v); };
    encode_list(c, "hosts", t.hosts, str);
    encode_list(c, "tasks", t.task, str);
    encode_list(c, "host", t.host, num);
    encode_list(c, "start", t.start, num);
    encode_list(c, "end", t.end, num);
    encode_list(c, "state", t.state, [](TaskState v) { return std::string(to_string(v)); });
  }
}
Result<WorkflowView> Codec<WorkflowView>::decode(const pugi::xml_node& n) {
  WorkflowView w;
  FVCE_TRY(read_int(n, "total", w.total));
  FVCE_TRY(read_int(n, "offset", w.offset));
  auto s = decode_summary(n.child("summary"));
  if (!s.ok()) return s.status();
  w.summary = std::move(*s);
  for (auto c : n.children("task")) {
    auto t = decode_task_status(c);
    if (!t.ok()) return t.status();
    w.tasks.push_back(std::move(*t));
  }
  for (auto c : n.children("group")) {
    TaskGroup g;
    FVCE_TRY(read_string(c, "id", g.id));
    g.array = bool(c.attribute("first"));
    FVCE_TRY(read_int(c, "first", g.first, false));
    FVCE_TRY(read_int(c, "last", g.last, false));
    FVCE_TRY(read_int(c, "tasks", g.tasks));
    FVCE_TRY(read_int(c, "pending", g.pending));
    FVCE_TRY(read_int(c, "ready", g.ready));
    FVCE_TRY(read_int(c, "running", g.running));
    FVCE_TRY(read_int(c, "done", g.done));
    FVCE_TRY(read_int(c, "failed", g.failed));
    FVCE_TRY(read_int(c, "cancelled", g.cancelled));
    w.groups.push_back(std::move(g));
  }
  for (auto c : n.children("edge")) {
    std::string from, to;
    FVCE_TRY(read_string(c, "from", from));
    FVCE_TRY(read_string(c, "to", to));
    w.edges.emplace_back(std::move(from), std::move(to));
  }
  if (auto c = n.child("timeline")) {
    Timeline t;
    FVCE_TRY(read_int(c, "t0", t.t0));
    for (auto h : split_list(c.child("hosts").text().get())) t.hosts.emplace_back(h);
    for (auto id : split_list(c.child("tasks").text().get())) t.task.emplace_back(id);
    auto host = decode_numbers(c, "host");
    if (!host.ok()) return host.status();
    for (auto h : *host) {
      if (h < 0 || h >= static_cast<std::int64_t>(t.hosts.size()))
        return Status::InvalidArgument("<timeline> names host " + std::to_string(h) + " of " +
                                       std::to_string(t.hosts.size()));
      t.host.push_back(static_cast<int>(h));
    }
    auto start = decode_numbers(c, "start");
    if (!start.ok()) return start.status();
    t.start = std::move(*start);
    auto end = decode_numbers(c, "end");
    if (!end.ok()) return end.status();
    t.end = std::move(*end);
    for (auto word : split_list(c.child("state").text().get())) {
      auto st = task_state_from_string(word);
      if (!st)
        return Status::InvalidArgument("<timeline> holds an unknown task state '" +
                                       std::string(word) + "'");
      t.state.push_back(*st);
    }
    auto n_tasks = t.task.size();
    if (t.host.size() != n_tasks || t.start.size() != n_tasks || t.end.size() != n_tasks ||
        t.state.size() != n_tasks)
      return Status::InvalidArgument("<timeline>'s lists differ in length");
    w.timeline = std::move(t);
  }
  return w;
}

void Codec<ResultList>::encode(pugi::xml_node& n, const ResultList& r) {
  n.append_attribute("workflow") = r.workflow.c_str();
  for (const auto& f : r.results) {
    auto c = n.append_child("result");
    encode_file_ref(c, f);
  }
}
Result<ResultList> Codec<ResultList>::decode(const pugi::xml_node& n) {
  ResultList r;
  FVCE_TRY(read_string(n, "workflow", r.workflow));
  for (auto c : n.children("result")) {
    auto f = decode_file_ref(c);
    if (!f.ok()) return f.status();
    r.results.push_back(std::move(*f));
  }
  return r;
}

}  // namespace fvce::model
