// Codecs of the file, workflow and task documents.
#include "node/model/codec.h"
#include "node/model/codec_util.h"

namespace fvce::model {

using namespace detail;

namespace {

struct Named {
  const char* name;
  int value;
};

std::string ms_text(std::int64_t ms) {
  return std::to_string(ms) + "ms";
}

// Reads "500ms", "2s", "10m", "1h" or a plain number of seconds into milliseconds.
Status read_duration(const pugi::xml_node& n, const char* attr, std::int64_t& out) {
  auto a = n.attribute(attr);
  if (!a) return Status::Ok();
  std::string_view v = a.value();
  double number = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), number);
  if (ec != std::errc() || number < 0) return bad(n, attr, "a duration");
  std::string_view unit(p, static_cast<std::size_t>(v.data() + v.size() - p));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  double f = unit == "ms"                   ? 1
             : unit == "m" || unit == "min" ? 60'000
             : unit == "h"                  ? 3'600'000
                                            : 1000;
  if (!unit.empty() && unit != "ms" && unit != "s" && unit != "m" && unit != "min" && unit != "h")
    return bad(n, attr, "a duration (ms, s, m, h)");
  out = static_cast<std::int64_t>(number * f + 0.5);
  return Status::Ok();
}

Status read_size(const pugi::xml_node& n, const char* attr, std::uint64_t& out) {
  auto a = n.attribute(attr);
  if (!a) return Status::Ok();
  std::string_view v = a.value();
  double number = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), number);
  if (ec != std::errc() || number < 0) return bad(n, attr, "a size");
  std::string_view unit(p, static_cast<std::size_t>(v.data() + v.size() - p));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  double f = 1;
  if (unit.empty() || unit == "B")
    f = 1;
  else if (unit[0] == 'K')
    f = 1024.0;
  else if (unit[0] == 'M')
    f = 1024.0 * 1024;
  else if (unit[0] == 'G')
    f = 1024.0 * 1024 * 1024;
  else if (unit[0] == 'T')
    f = 1024.0 * 1024 * 1024 * 1024;
  else
    return bad(n, attr, "a size (B, KiB, MiB, GiB, TiB)");
  out = static_cast<std::uint64_t>(number * f + 0.5);
  return Status::Ok();
}

Status read_bool(const pugi::xml_node& n, const char* attr, bool& out) {
  auto a = n.attribute(attr);
  if (!a) return Status::Ok();
  std::string_view v = a.value();
  if (v == "true" || v == "1")
    out = true;
  else if (v == "false" || v == "0")
    out = false;
  else
    return bad(n, attr, "true or false");
  return Status::Ok();
}

template <typename T>
Status read_opt(const pugi::xml_node& n, const char* attr, std::optional<T>& out) {
  if (!n.attribute(attr)) return Status::Ok();
  T v{};
  FVCE_TRY(read_int(n, attr, v));
  out = v;
  return Status::Ok();
}

template <typename T>
void write_opt(pugi::xml_node& n, const char* attr, const std::optional<T>& v) {
  if (v) n.append_attribute(attr) = std::to_string(*v).c_str();
}

const char* file_type_name(FileType t) {
  switch (t) {
    case FileType::file:
      return "file";
    case FileType::dir:
      return "dir";
    case FileType::symlink:
      return "symlink";
    case FileType::other:
      return "other";
  }
  return "other";
}

void encode_entry(pugi::xml_node& n, const FileEntry& e) {
  n.append_attribute("path") = e.path.c_str();
  n.append_attribute("type") = file_type_name(e.type);
  n.append_attribute("size") = static_cast<unsigned long long>(e.size);
  n.append_attribute("mtime") = static_cast<long long>(e.mtime);
  n.append_attribute("mode") = e.mode;
  if (!e.sha256.empty()) n.append_attribute("sha256") = e.sha256.c_str();
}

Result<FileEntry> decode_entry(const pugi::xml_node& n) {
  FileEntry e;
  FVCE_TRY(read_string(n, "path", e.path));
  std::string type = n.attribute("type").value();
  if (type == "file")
    e.type = FileType::file;
  else if (type == "dir")
    e.type = FileType::dir;
  else if (type == "symlink")
    e.type = FileType::symlink;
  else if (type == "other")
    e.type = FileType::other;
  else
    return bad(n, "type", "file, dir, symlink or other");
  FVCE_TRY(read_int(n, "size", e.size));
  FVCE_TRY(read_int(n, "mtime", e.mtime));
  FVCE_TRY(read_int(n, "mode", e.mode));
  FVCE_TRY(read_string(n, "sha256", e.sha256, false));
  return e;
}

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

void encode_checkpoint(pugi::xml_node& parent, const CheckpointSpec& c, bool wire) {
  auto n = parent.append_child("checkpoint");
  n.append_attribute("file") = c.file.c_str();
  if (wire || c.every > 0) n.append_attribute("every") = static_cast<unsigned long long>(c.every);
  n.append_attribute("signal") = c.signal.c_str();
  if (!c.restart_arg.empty()) n.append_attribute("restart-arg") = c.restart_arg.c_str();
}

Result<CheckpointSpec> decode_checkpoint(const pugi::xml_node& n) {
  CheckpointSpec c;
  FVCE_TRY(read_string(n, "file", c.file));
  FVCE_TRY(read_int(n, "every", c.every, false));
  FVCE_TRY(read_string(n, "signal", c.signal, false));
  if (c.signal.empty()) c.signal = "USR1";
  FVCE_TRY(read_string(n, "restart-arg", c.restart_arg, false));
  return c;
}

void encode_template(pugi::xml_node& n, const TaskTemplate& t) {
  n.append_attribute("id") = t.id.c_str();
  n.append_attribute("cmd") = t.cmd.c_str();
  if (!t.args.empty()) n.append_attribute("args") = t.args.c_str();
  if (t.cores != 1) n.append_attribute("cores") = t.cores;
  if (t.memory > 0) n.append_attribute("memory") = std::to_string(t.memory).c_str();
  if (t.time_limit_ms > 0) n.append_attribute("time-limit") = ms_text(t.time_limit_ms).c_str();
  if (t.retries > 0) n.append_attribute("retries") = t.retries;
  if (t.cost_ms > 0) n.append_attribute("cost") = ms_text(t.cost_ms).c_str();
  for (const auto& a : t.arg_list) n.append_child("arg").text() = a.c_str();
  for (const auto& [k, v] : t.env) {
    auto e = n.append_child("env");
    e.append_attribute("name") = k.c_str();
    e.append_attribute("value") = v.c_str();
  }
  for (const auto& i : t.inputs) {
    auto e = n.append_child("in");
    e.append_attribute("file") = i.file.c_str();
    if (!i.array.empty()) e.append_attribute("array") = i.array.c_str();
  }
  for (const auto& o : t.outputs) {
    auto e = n.append_child("out");
    e.append_attribute("file") = o.file.c_str();
    if (o.result) e.append_attribute("result") = "true";
  }
  for (const auto& a : t.after) n.append_child("after").append_attribute("task") = a.c_str();
  if (t.checkpoint) encode_checkpoint(n, *t.checkpoint, false);
}

Result<TaskTemplate> decode_template(const pugi::xml_node& n) {
  TaskTemplate t;
  FVCE_TRY(read_string(n, "id", t.id));
  FVCE_TRY(read_string(n, "cmd", t.cmd));
  FVCE_TRY(read_string(n, "args", t.args, false));
  FVCE_TRY(read_int(n, "cores", t.cores, false));
  FVCE_TRY(read_size(n, "memory", t.memory));
  FVCE_TRY(read_duration(n, "time-limit", t.time_limit_ms));
  FVCE_TRY(read_int(n, "retries", t.retries, false));
  FVCE_TRY(read_duration(n, "cost", t.cost_ms));
  for (auto c : n.children()) {
    std::string_view name = c.name();
    if (name == "arg") {
      t.arg_list.push_back(c.text().get());
    } else if (name == "env") {
      t.env.emplace_back(c.attribute("name").value(), c.attribute("value").value());
    } else if (name == "in") {
      t.inputs.push_back({c.attribute("file").value(), c.attribute("array").value()});
    } else if (name == "out") {
      OutputRef o{c.attribute("file").value(), false};
      FVCE_TRY(read_bool(c, "result", o.result));
      t.outputs.push_back(o);
    } else if (name == "after") {
      t.after.push_back(c.attribute("task").value());
    } else if (name == "checkpoint") {
      auto cp = decode_checkpoint(c);
      if (!cp.ok()) return cp.status();
      t.checkpoint = *cp;
    }
  }
  return t;
}

void encode_summary(pugi::xml_node& n, const WorkflowSummary& s) {
  n.append_attribute("id") = s.id.c_str();
  n.append_attribute("name") = s.name.c_str();
  n.append_attribute("owner") = s.owner.c_str();
  n.append_attribute("node") = s.node.c_str();
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

// --- file ---

void Codec<FileEntry>::encode(pugi::xml_node& n, const FileEntry& e) {
  encode_entry(n, e);
}
Result<FileEntry> Codec<FileEntry>::decode(const pugi::xml_node& n) {
  return decode_entry(n);
}

void Codec<FileList>::encode(pugi::xml_node& n, const FileList& l) {
  n.append_attribute("path") = l.path.c_str();
  if (l.truncated) n.append_attribute("truncated") = "true";
  for (const auto& e : l.entries) {
    auto c = n.append_child("entry");
    encode_entry(c, e);
  }
}
Result<FileList> Codec<FileList>::decode(const pugi::xml_node& n) {
  FileList l;
  FVCE_TRY(read_string(n, "path", l.path));
  FVCE_TRY(read_bool(n, "truncated", l.truncated));
  for (auto c : n.children("entry")) {
    auto e = decode_entry(c);
    if (!e.ok()) return e.status();
    l.entries.push_back(std::move(*e));
  }
  return l;
}

// --- workflow ---

void Codec<WorkflowDoc>::encode(pugi::xml_node& n, const WorkflowDoc& w) {
  n.append_attribute("name") = w.name.c_str();
  for (const auto& f : w.files) {
    auto c = n.append_child("file");
    c.append_attribute("name") = f.name.c_str();
    if (!f.src.empty()) c.append_attribute("src") = f.src.c_str();
    if (!f.sha256.empty()) c.append_attribute("sha256") = f.sha256.c_str();
    if (f.size) c.append_attribute("size") = static_cast<unsigned long long>(*f.size);
    if (f.executable) c.append_attribute("executable") = "true";
  }
  for (const auto& t : w.tasks) {
    auto c = n.append_child("task");
    encode_template(c, t);
  }
  for (const auto& a : w.arrays) {
    auto c = n.append_child("array");
    c.append_attribute("id") = a.id.c_str();
    c.append_attribute("range") = (std::to_string(a.first) + ".." + std::to_string(a.last)).c_str();
    for (const auto& t : a.tasks) {
      auto tc = c.append_child("task");
      encode_template(tc, t);
    }
  }
}

Result<WorkflowDoc> Codec<WorkflowDoc>::decode(const pugi::xml_node& n) {
  WorkflowDoc w;
  FVCE_TRY(read_string(n, "name", w.name));
  for (auto c : n.children()) {
    std::string_view name = c.name();
    if (name == "file") {
      InputFile f;
      FVCE_TRY(read_string(c, "name", f.name));
      FVCE_TRY(read_string(c, "src", f.src, false));
      FVCE_TRY(read_string(c, "sha256", f.sha256, false));
      FVCE_TRY(read_opt(c, "size", f.size));
      FVCE_TRY(read_bool(c, "executable", f.executable));
      w.files.push_back(std::move(f));
    } else if (name == "task") {
      auto t = decode_template(c);
      if (!t.ok()) return t.status();
      w.tasks.push_back(std::move(*t));
    } else if (name == "array") {
      TaskArray a;
      FVCE_TRY(read_string(c, "id", a.id));
      std::string range = c.attribute("range").value();
      auto dots = range.find("..");
      if (dots == std::string::npos) return bad(c, "range", "FIRST..LAST");
      auto [p1, e1] = std::from_chars(range.data(), range.data() + dots, a.first);
      auto [p2, e2] = std::from_chars(range.data() + dots + 2, range.data() + range.size(), a.last);
      if (e1 != std::errc() || e2 != std::errc() || p1 != range.data() + dots ||
          p2 != range.data() + range.size())
        return bad(c, "range", "FIRST..LAST");
      for (auto tc : c.children("task")) {
        auto t = decode_template(tc);
        if (!t.ok()) return t.status();
        a.tasks.push_back(std::move(*t));
      }
      w.arrays.push_back(std::move(a));
    }
  }
  return w;
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
    for (const auto& o : r.outputs) {
      auto oc = c.append_child("output");
      encode_file_ref(oc, o);
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
    for (auto oc : c.children("output")) {
      auto f = decode_file_ref(oc);
      if (!f.ok()) return f.status();
      r.outputs.push_back(std::move(*f));
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
  for (const auto& s : l.workflows) {
    auto c = n.append_child("workflow");
    encode_summary(c, s);
  }
}
Result<WorkflowList> Codec<WorkflowList>::decode(const pugi::xml_node& n) {
  WorkflowList l;
  for (auto c : n.children("workflow")) {
    auto s = decode_summary(c);
    if (!s.ok()) return s.status();
    l.workflows.push_back(std::move(*s));
  }
  return l;
}

void Codec<WorkflowStatus>::encode(pugi::xml_node& n, const WorkflowStatus& w) {
  auto s = n.append_child("summary");
  encode_summary(s, w.summary);
  for (const auto& t : w.tasks) {
    auto c = n.append_child("task");
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
}
Result<WorkflowStatus> Codec<WorkflowStatus>::decode(const pugi::xml_node& n) {
  WorkflowStatus w;
  auto s = decode_summary(n.child("summary"));
  if (!s.ok()) return s.status();
  w.summary = std::move(*s);
  for (auto c : n.children("task")) {
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
    w.tasks.push_back(std::move(t));
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
