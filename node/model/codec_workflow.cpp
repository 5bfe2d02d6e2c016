// Codec of the workflow document (xsd/workflow.xsd).
#include "node/model/codec.h"
#include "node/model/codec_util.h"

namespace fvce::model {

using namespace detail;

void detail::encode_checkpoint(pugi::xml_node& parent, const CheckpointSpec& c, bool wire) {
  auto n = parent.append_child("checkpoint");
  n.append_attribute("file") = c.file.c_str();
  if (wire || c.every > 0) n.append_attribute("every") = static_cast<unsigned long long>(c.every);
  n.append_attribute("signal") = c.signal.c_str();
  if (!c.restart_arg.empty()) n.append_attribute("restart-arg") = c.restart_arg.c_str();
  if (c.copy_every_ms > 0) {
    if (wire)
      n.append_attribute("copy-every") = static_cast<long long>(c.copy_every_ms);
    else
      n.append_attribute("copy-every") = ms_text(c.copy_every_ms).c_str();
  }
  if (!c.copy_to.empty()) n.append_attribute("copy-to") = c.copy_to.c_str();
}

Result<CheckpointSpec> detail::decode_checkpoint(const pugi::xml_node& n) {
  CheckpointSpec c;
  FVCE_TRY(read_string(n, "file", c.file));
  FVCE_TRY(read_int(n, "every", c.every, false));
  FVCE_TRY(read_string(n, "signal", c.signal, false));
  if (c.signal.empty()) c.signal = "USR1";
  FVCE_TRY(read_string(n, "restart-arg", c.restart_arg, false));
  // On the wire milliseconds, in a workflow document a duration.
  if (std::string_view(n.parent().name()) == "assignment")
    FVCE_TRY(read_int(n, "copy-every", c.copy_every_ms, false));
  else
    FVCE_TRY(read_duration(n, "copy-every", c.copy_every_ms));
  FVCE_TRY(read_string(n, "copy-to", c.copy_to, false));
  return c;
}

namespace {

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

}  // namespace

// --- workflow ---

void Codec<WorkflowDoc>::encode(pugi::xml_node& n, const WorkflowDoc& w) {
  n.append_attribute("name") = w.name.c_str();
  if (!w.app.empty()) n.append_attribute("app") = w.app.c_str();
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
  FVCE_TRY(read_string(n, "app", w.app, false));
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

}  // namespace fvce::model
