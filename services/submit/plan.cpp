#include "services/submit/plan.h"

#include <algorithm>
#include <set>

namespace fvce::submit {

using model::TaskTemplate;

Result<std::vector<std::string>> split_args(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else if (c == '\'') {
      auto end = text.find('\'', i + 1);
      if (end == std::string_view::npos)
        return Status::InvalidArgument("unterminated ' in arguments: " + std::string(text));
      cur.append(text.substr(i + 1, end - i - 1));
      i = end;
      in_word = true;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() &&
            (text[j + 1] == '"' || text[j + 1] == '\\' || text[j + 1] == '$' || text[j + 1] == '`'))
          ++j;
        cur += text[j];
      }
      if (j >= text.size())
        return Status::InvalidArgument("unterminated \" in arguments: " + std::string(text));
      i = j;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
      in_word = true;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

Status check_file_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    std::string shown;
    for (char c : name.substr(0, 200))
      shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    return Status::InvalidArgument("file name '" + shown + "' " + why);
  };
  if (name.empty()) return Status::InvalidArgument("a file name is empty");
  if (name.size() > 4096) return bad("is longer than 4096 bytes");
  if (name.front() == '/') return bad("is absolute; names are relative to the task's directory");
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return bad("contains a control character");
  for (std::size_t pos = 0; pos <= name.size();) {
    auto slash = name.find('/', pos);
    if (slash == std::string_view::npos) slash = name.size();
    auto part = name.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty()) return bad("has an empty component");
    if (part == "." || part == "..") return bad("has a '" + std::string(part) + "' component");
    if (part.size() > 255) return bad("has a component longer than 255 bytes");
  }
  return Status::Ok();
}

namespace {

std::string substitute(const std::string& text, int index) {
  std::string out;
  std::string idx = std::to_string(index);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "{i}") == 0) {
      out += idx;
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool uses_index(const TaskTemplate& t) {
  auto has = [](const std::string& s) { return s.find("{i}") != std::string::npos; };
  if (has(t.args)) return true;
  for (const auto& a : t.arg_list)
    if (has(a)) return true;
  for (const auto& [k, v] : t.env)
    if (has(v)) return true;
  for (const auto& i : t.inputs)
    if (has(i.file) && i.array.empty()) return true;
  for (const auto& o : t.outputs)
    if (has(o.file)) return true;
  return false;
}

Status task_error(const std::string& task, const std::string& what) {
  return Status::InvalidArgument("task '" + task + "': " + what);
}

// The template id and array of each concrete task, to resolve <after>.
struct Origin {
  std::string template_id;
  std::string array;  // empty for a plain task
  int index = -1;
};

}  // namespace

Result<Plan> plan_workflow(const model::WorkflowDoc& doc) {
  Plan plan;
  plan.name = doc.name;
  plan.inputs = doc.files;

  // Which template ids exist, and in which array.
  std::map<std::string, const model::TaskArray*> array_of;  // template id → its array
  std::map<std::string, const model::TaskArray*> arrays;    // array id → array
  std::set<std::string> plain;
  for (const auto& t : doc.tasks) {
    if (!plain.insert(t.id).second) return task_error(t.id, "the id is used twice");
    if (uses_index(t)) return task_error(t.id, "uses {i} but is not inside an <array>");
  }
  std::size_t total = doc.tasks.size();
  for (const auto& a : doc.arrays) {
    if (a.first > a.last)
      return Status::InvalidArgument("array '" + a.id + "': range " + std::to_string(a.first) +
                                     ".." + std::to_string(a.last) + " is empty");
    if (!arrays.emplace(a.id, &a).second || plain.count(a.id))
      return Status::InvalidArgument("array '" + a.id + "': the id is used twice");
    for (const auto& t : a.tasks) {
      if (plain.count(t.id) || array_of.count(t.id))
        return task_error(t.id, "the id is used twice");
      array_of[t.id] = &a;
    }
    total += a.tasks.size() * static_cast<std::size_t>(a.last - a.first + 1);
  }
  if (total > kMaxTasks)
    return Status::InvalidArgument("the workflow has " + std::to_string(total) +
                                   " tasks; at most " + std::to_string(kMaxTasks) + " are allowed");
  if (total == 0) return Status::InvalidArgument("the workflow has no tasks");

  std::vector<Origin> origin;
  std::vector<const TaskTemplate*> from;
  std::size_t reads = 0;  // input references so far, bounded before they are made
  auto add = [&](const TaskTemplate& t, const std::string& array, int index) -> Status {
    PlannedTask p;
    p.id = index < 0 ? t.id : t.id + "[" + std::to_string(index) + "]";
    auto sub = [&](const std::string& s) { return index < 0 ? s : substitute(s, index); };
    p.cmd = sub(t.cmd);
    if (p.cmd.empty()) return task_error(p.id, "cmd is empty");
    auto args = split_args(sub(t.args));
    if (!args.ok()) return task_error(p.id, args.status().message());
    p.args = std::move(*args);
    for (const auto& a : t.arg_list) p.args.push_back(sub(a));
    for (const auto& [k, v] : t.env) p.env.emplace_back(k, sub(v));
    p.cores = t.cores;
    p.memory = t.memory;
    p.time_limit_ms = t.time_limit_ms;
    p.retries = t.retries;
    p.cost_ms = t.cost_ms;
    p.checkpoint = t.checkpoint;
    if (p.checkpoint) p.checkpoint->file = sub(p.checkpoint->file);
    for (const auto& in : t.inputs) {
      if (in.array.empty()) {
        p.inputs.push_back(sub(in.file));
        continue;
      }
      auto it = arrays.find(in.array);
      if (it == arrays.end())
        return task_error(p.id, "reads files of unknown array '" + in.array + "'");
      if (reads + p.inputs.size() +
              static_cast<std::size_t>(it->second->last - it->second->first + 1) >
          kMaxInputs)
        return Status::InvalidArgument("the workflow reads more than " +
                                       std::to_string(kMaxInputs) + " input files in all");
      for (int i = it->second->first; i <= it->second->last; ++i)
        p.inputs.push_back(substitute(in.file, i));
    }
    reads += p.inputs.size();
    if (reads > kMaxInputs)
      return Status::InvalidArgument("the workflow reads more than " + std::to_string(kMaxInputs) +
                                     " input files in all");
    for (const auto& out : t.outputs) p.outputs.emplace_back(sub(out.file), out.result);
    plan.task_index[p.id] = static_cast<int>(plan.tasks.size());
    plan.tasks.push_back(std::move(p));
    origin.push_back({t.id, array, index});
    from.push_back(&t);
    return Status::Ok();
  };
  for (const auto& t : doc.tasks)
    if (auto s = add(t, "", -1); !s.ok()) return s;
  for (const auto& a : doc.arrays)
    for (int i = a.first; i <= a.last; ++i)
      for (const auto& t : a.tasks)
        if (auto s = add(t, a.id, i); !s.ok()) return s;

  // Files: who writes what. Every name is checked here, so no executor is ever handed one
  // it must refuse.
  std::set<std::string> provided;
  for (const auto& f : doc.files) {
    if (auto s = check_file_name(f.name); !s.ok())
      return Status::InvalidArgument("<file>: " + s.message());
    if (!provided.insert(f.name).second)
      return Status::InvalidArgument("file '" + f.name + "': the name is used twice");
  }
  for (const auto& t : plan.tasks) {
    for (const auto& name : t.inputs)
      if (auto s = check_file_name(name); !s.ok()) return task_error(t.id, "input: " + s.message());
  }
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    for (const auto& [name, result] : plan.tasks[i].outputs) {
      if (auto s = check_file_name(name); !s.ok())
        return task_error(plan.tasks[i].id, "output: " + s.message());
      if (provided.count(name))
        return task_error(plan.tasks[i].id,
                          "writes '" + name + "', which a <file> already provides");
      auto [it, inserted] = plan.producer.emplace(name, static_cast<int>(i));
      if (!inserted)
        return task_error(plan.tasks[i].id, "writes '" + name + "', which task '" +
                                                plan.tasks[it->second].id + "' writes too");
    }
  }

  // Dependencies.
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    auto& p = plan.tasks[i];
    std::set<int> deps;
    for (const auto& name : p.inputs) {
      auto it = plan.producer.find(name);
      if (it != plan.producer.end()) {
        deps.insert(it->second);
      } else if (!provided.count(name)) {
        return task_error(p.id,
                          "reads '" + name + "', but no task writes it and no <file> provides it");
      }
    }
    for (const auto& ref : from[i]->after) {
      std::string target = ref;
      std::string index;  // "", "*" or a number
      if (auto b = ref.find('['); b != std::string::npos) {
        target = ref.substr(0, b);
        index = ref.substr(b + 1, ref.size() - b - 2);
      }
      if (plain.count(target)) {
        if (!index.empty())
          return task_error(p.id, "'" + ref + "': '" + target + "' is not in an array");
        deps.insert(plan.task_index[target]);
        continue;
      }
      auto arr = array_of.find(target);
      if (arr == array_of.end())
        return task_error(p.id, "depends on unknown task '" + target + "'");
      const auto* a = arr->second;
      if (index.empty() && origin[i].array == a->id) index = std::to_string(origin[i].index);
      if (index.empty() || index == "*") {
        for (int k = a->first; k <= a->last; ++k)
          deps.insert(plan.task_index[target + "[" + std::to_string(k) + "]"]);
      } else {
        auto it = plan.task_index.find(target + "[" + index + "]");
        if (it == plan.task_index.end())
          return task_error(p.id,
                            "depends on '" + ref + "', outside the range of array '" + a->id + "'");
        deps.insert(it->second);
      }
    }
    if (deps.count(static_cast<int>(i))) return task_error(p.id, "depends on itself");
    p.deps.assign(deps.begin(), deps.end());
    for (int d : p.deps) plan.tasks[d].dependents.push_back(static_cast<int>(i));
  }

  // Cycles: Kahn's algorithm; what is left over lies on or behind a cycle.
  std::vector<int> indegree(plan.tasks.size());
  std::vector<int> queue;
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    indegree[i] = static_cast<int>(plan.tasks[i].deps.size());
    if (indegree[i] == 0) queue.push_back(static_cast<int>(i));
  }
  std::size_t seen = 0;
  while (!queue.empty()) {
    int t = queue.back();
    queue.pop_back();
    ++seen;
    for (int d : plan.tasks[t].dependents)
      if (--indegree[d] == 0) queue.push_back(d);
  }
  if (seen != plan.tasks.size()) {
    // Walk back along unfinished dependencies until a task repeats: that is a cycle.
    int start = 0;
    while (indegree[start] == 0) ++start;
    std::vector<int> path;
    std::vector<int> pos(plan.tasks.size(), -1);
    int cur = start;
    while (pos[cur] < 0) {
      pos[cur] = static_cast<int>(path.size());
      path.push_back(cur);
      for (int d : plan.tasks[cur].deps)
        if (indegree[d] > 0) {
          cur = d;
          break;
        }
    }
    std::string text;
    for (std::size_t k = static_cast<std::size_t>(pos[cur]); k < path.size(); ++k)
      text += plan.tasks[path[k]].id + " → ";
    text += plan.tasks[cur].id;
    return task_error(plan.tasks[cur].id,
                      "is part of a dependency cycle (→ means 'waits for'): " + text);
  }
  return plan;
}

}  // namespace fvce::submit
