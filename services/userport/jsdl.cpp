#include "services/userport/jsdl.h"

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <regex>
#include <set>

#include "node/model/codec.h"
#include "node/xml/schema.h"
#include "services/submit/plan.h"

namespace fvce::userport {

namespace {

class Converter {
 public:
  explicit Converter(std::string_view text) : text_(text) {}

  Result<model::WorkflowDoc> run(pugi::xml_node root) {
    if (!is(root, kJsdlNamespace, "JobDefinition"))
      return refuse(root, "a JSDL document's root is <jsdl:JobDefinition>");
    for (auto c : elements(root)) {
      if (!is(c, kJsdlNamespace, "JobDescription")) return unknown(c);
      if (auto s = description(c); !s.ok()) return s;
    }
    return finish();
  }

 private:
  // --- names and places ---
  std::string ns_of(pugi::xml_node n) const {
    std::string_view name = n.name();
    auto colon = name.find(':');
    std::string attr = colon == std::string_view::npos
                           ? std::string("xmlns")
                           : "xmlns:" + std::string(name.substr(0, colon));
    for (auto at = n; at; at = at.parent())
      if (auto a = at.attribute(attr.c_str())) return a.value();
    return {};
  }
  static std::string_view local(pugi::xml_node n) {
    std::string_view name = n.name();
    auto colon = name.find(':');
    return colon == std::string_view::npos ? name : name.substr(colon + 1);
  }
  bool is(pugi::xml_node n, std::string_view ns, std::string_view name) const {
    return local(n) == name && ns_of(n) == ns;
  }
  int line(pugi::xml_node n) const { return model::line_column(text_, n.offset_debug()).first; }
  static std::vector<pugi::xml_node> elements(pugi::xml_node n) {
    std::vector<pugi::xml_node> out;
    for (auto c : n.children())
      if (c.type() == pugi::node_element) out.push_back(c);
    return out;
  }
  std::string tag(pugi::xml_node n) const { return "<" + std::string(local(n)) + ">"; }
  Status refuse(pugi::xml_node n, const std::string& why) const {
    return Status::InvalidArgument("line " + std::to_string(line(n)) + ": " + tag(n) + ": " + why);
  }
  Status unknown(pugi::xml_node n) const {
    auto ns = ns_of(n);
    std::string which = ns == kJsdlNamespace || ns == kJsdlPosixNamespace
                            ? "is not supported by fvce"
                            : "is an extension (namespace '" + ns + "') fvce does not know";
    return Status::InvalidArgument("line " + std::to_string(line(n)) + ": " + tag(n) + " " + which);
  }
  static std::string text(pugi::xml_node n) {
    std::string s = n.text().get();
    auto b = s.find_first_not_of(" \t\r\n");
    auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  }
  // filesystemName refers to a <FileSystem>, which fvce does not offer.
  Status no_file_system(pugi::xml_node n) const {
    if (n.attribute("filesystemName"))
      return refuse(n, std::string("filesystemName='") + n.attribute("filesystemName").value() +
                           "' is not supported: a job's files are in its own work directory");
    return Status::Ok();
  }

  // --- the job ---
  Status description(pugi::xml_node d) {
    for (auto c : elements(d)) {
      Status s;
      if (is(c, kJsdlNamespace, "JobIdentification"))
        s = identification(c);
      else if (is(c, kJsdlNamespace, "Application"))
        s = application(c);
      else if (is(c, kJsdlNamespace, "Resources"))
        s = resources(c);
      else if (is(c, kJsdlNamespace, "DataStaging"))
        s = staging(c);
      else
        s = unknown(c);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  Status identification(pugi::xml_node n) {
    for (auto c : elements(n)) {
      if (is(c, kJsdlNamespace, "JobName")) {
        name_ = text(c);
      } else if (!is(c, kJsdlNamespace, "Description") && !is(c, kJsdlNamespace, "JobAnnotation") &&
                 !is(c, kJsdlNamespace, "JobProject")) {
        return unknown(c);
      }
    }
    return Status::Ok();
  }

  Status application(pugi::xml_node n) {
    for (auto c : elements(n)) {
      if (is(c, kJsdlPosixNamespace, "POSIXApplication")) {
        if (auto s = posix(c); !s.ok()) return s;
      } else if (!is(c, kJsdlNamespace, "ApplicationName") &&
                 !is(c, kJsdlNamespace, "ApplicationVersion") &&
                 !is(c, kJsdlNamespace, "Description")) {
        return unknown(c);
      }
    }
    return Status::Ok();
  }

  Status posix(pugi::xml_node n) {
    posix_ = n;
    for (auto c : elements(n)) {
      if (auto s = no_file_system(c); !s.ok()) return s;
      auto name = local(c);
      if (ns_of(c) != kJsdlPosixNamespace) return unknown(c);
      if (name == "Executable") {
        executable_ = text(c);
        executable_at_ = c;
      } else if (name == "Argument") {
        args_.push_back(c.text().get());
      } else if (name == "Input") {
        stdin_ = text(c);
        stdin_at_ = c;
      } else if (name == "Output") {
        stdout_ = text(c);
        stdout_at_ = c;
      } else if (name == "Error") {
        stderr_ = text(c);
        stderr_at_ = c;
      } else if (name == "Environment") {
        env_.emplace_back(c.attribute("name").value(), c.text().get());
      } else if (name == "WallTimeLimit") {
        auto seconds = c.text().as_ullong();
        if (seconds == 0) return refuse(c, "a wall time limit of 0 seconds lets nothing run");
        if (seconds > 100ull * 365 * 86400) return refuse(c, "is longer than a hundred years");
        time_limit_ms_ = static_cast<std::int64_t>(seconds) * 1000;
      } else if (name == "WorkingDirectory") {
        return refuse(c,
                      "is not supported: a task runs in a work directory of its own, where "
                      "its staged files are");
      } else if (name == "UserName" || name == "GroupName") {
        return refuse(c,
                      "is not supported: a node runs a user's tasks as the local account "
                      "its execute service maps that user to");
      } else {
        return refuse(c,
                      "is not supported: of the POSIX limits fvce honours only "
                      "WallTimeLimit");
      }
    }
    if (executable_.empty()) return refuse(n, "the <Executable> is missing or empty");
    return Status::Ok();
  }

  // The least whole number >= 1 (cores) or value >= 0 (bytes) a RangeValue allows.
  std::optional<double> least(pugi::xml_node range, bool whole) const {
    std::optional<double> best;
    double floor = whole ? 1 : 0;
    auto consider = [&](double lo, bool lo_excl, double hi, bool hi_excl) {
      double v = std::max(lo, floor);
      if (whole) {
        v = std::ceil(v);
        if (lo_excl && v == lo) v += 1;
      } else if (lo_excl && v == lo) {
        v = std::nextafter(v, std::numeric_limits<double>::infinity());
      }
      if (v > hi || (hi_excl && v == hi)) return;
      if (!best || v < *best) best = v;
    };
    auto excl = [](pugi::xml_node b) {
      std::string_view e = b.attribute("exclusiveBound").value();
      return e == "true" || e == "1";
    };
    constexpr double kInf = std::numeric_limits<double>::infinity();
    for (auto c : elements(range)) {
      auto name = local(c);
      double v = c.text().as_double();
      if (name == "UpperBoundedRange") {
        consider(-kInf, false, v, excl(c));
      } else if (name == "LowerBoundedRange") {
        consider(v, excl(c), kInf, false);
      } else if (name == "Exact") {
        double eps = c.attribute("epsilon").as_double(0);
        consider(v - eps, false, v + eps, false);
      } else if (name == "Range") {
        pugi::xml_node lower, upper;
        for (auto b : elements(c)) {
          if (local(b) == "LowerBound") lower = b;
          if (local(b) == "UpperBound") upper = b;
        }
        consider(lower.text().as_double(), excl(lower), upper.text().as_double(), excl(upper));
      }
    }
    return best;
  }

  Status resources(pugi::xml_node n) {
    for (auto c : elements(n)) {
      auto name = local(c);
      if (ns_of(c) != kJsdlNamespace) return unknown(c);
      if (name == "TotalCPUCount" || name == "IndividualCPUCount") {
        auto v = least(c, true);
        if (!v) return refuse(c, "allows no whole number of CPUs");
        if (*v > 4096) return refuse(c, "asks for more than 4096 CPUs for one task");
        cores_ = std::max(cores_, static_cast<int>(*v));
      } else if (name == "TotalPhysicalMemory" || name == "IndividualPhysicalMemory") {
        auto v = least(c, false);
        if (!v) return refuse(c, "allows no amount of memory");
        if (*v > 1e18) return refuse(c, "asks for more memory than any host has");
        memory_ = std::max<std::uint64_t>(memory_, static_cast<std::uint64_t>(std::ceil(*v)));
      } else if (name == "TotalResourceCount") {
        auto v = least(c, true);
        if (!v || *v != 1)
          return refuse(c, "a JSDL job is one task of fvce: it runs on one resource");
      } else {
        return refuse(c,
                      "is not supported: fvce places a task on any member with the cores "
                      "and memory it needs");
      }
    }
    return Status::Ok();
  }

  // URI → the path on the submitting side, or a refusal.
  Result<std::string> local_path(pugi::xml_node uri, bool source) const {
    std::string u = text(uri);
    if (u.empty()) return refuse(uri, "is empty");
    static const std::regex scheme("^([A-Za-z][A-Za-z0-9+.\\-]*):(.*)$");
    std::smatch m;
    if (!std::regex_match(u, m, scheme)) return u;  // a local name
    std::string s = m[1].str();
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (s == "file" && source) {
      std::string rest = m[2].str();
      if (rest.rfind("///", 0) == 0 || rest.rfind("//localhost/", 0) == 0)
        return rest.substr(rest.find('/', 2));
      if (rest.rfind("//", 0) == 0)
        return refuse(uri, "'" + u + "' names another host: only file:///PATH is read");
      return rest;
    }
    if (!source)
      return refuse(uri, "'" + u +
                             "': fvce brings results back to the node the job was submitted at "
                             "(fetch them with `fvce fetch`); a Target elsewhere is not "
                             "supported (give the file's own name, or none)");
    return refuse(uri, "'" + u + "': the scheme '" + s +
                           "' is not supported: fvce stages inputs from the submitting side "
                           "(a local name or file:///PATH); fetch the file first");
  }

  Status staging(pugi::xml_node n) {
    std::string file;
    pugi::xml_node source, target, file_at;
    for (auto c : elements(n)) {
      if (ns_of(c) != kJsdlNamespace) return unknown(c);
      auto name = local(c);
      if (name == "FileName") {
        file = text(c);
        file_at = c;
      } else if (name == "FileSystemName") {
        return refuse(c, "is not supported: a job's files are in its own work directory");
      } else if (name == "CreationFlag" || name == "DeleteOnTermination") {
        // A task's directory is new and removed after the workflow: both hold as written.
      } else if (name == "Source") {
        source = c;
      } else if (name == "Target") {
        target = c;
      } else {
        return unknown(c);
      }
    }
    if (auto s = submit::check_file_name(file); !s.ok())
      return refuse(file_at, "'" + file + "' is not a file name inside the job's directory");
    if (source && target)
      return refuse(n, "file '" + file +
                           "' is both staged in and out: fvce does not write over an input "
                           "(stage the result out under another name)");
    if (!source && !target) return refuse(n, "has neither a <Source> nor a <Target>");
    auto uri_of = [&](pugi::xml_node st) -> Result<pugi::xml_node> {
      for (auto c : elements(st)) {
        if (ns_of(c) != kJsdlNamespace || local(c) != "URI") return unknown(c);
        return c;
      }
      return refuse(st, "has no <URI>");
    };
    if (!staged_.insert(file).second) return refuse(file_at, "'" + file + "' is staged twice");
    if (source) {
      auto uri = uri_of(source);
      if (!uri.ok()) return uri.status();
      auto path = local_path(*uri, true);
      if (!path.ok()) return path.status();
      model::InputFile f;
      f.name = file;
      f.src = *path;
      inputs_.push_back(std::move(f));
    } else {
      for (auto c : elements(target)) {
        if (ns_of(c) != kJsdlNamespace || local(c) != "URI") return unknown(c);
        auto path = local_path(c, false);
        if (!path.ok()) return path.status();
        if (*path != file)
          return refuse(c, "'" + *path + "': a result comes back under its own name, '" + file +
                               "' (a Target elsewhere is not supported)");
      }
      results_.push_back(file);
    }
    return Status::Ok();
  }

  static std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }

  Result<model::WorkflowDoc> finish() {
    if (!posix_)
      return Status::InvalidArgument(
          "the job has no <jsdl-posix:POSIXApplication>: fvce runs POSIX programs");
    model::WorkflowDoc doc;
    // A workflow's name: letters, digits, '.', '_', '-'.
    std::string name;
    for (char c : name_)
      name +=
          std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ? c : '-';
    while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.front())))
      name.erase(0, 1);
    if (name.size() > 63) name.resize(63);
    doc.name = name.empty() ? "jsdl-job" : name;
    doc.files = inputs_;

    model::TaskTemplate t;
    t.id = "job";
    std::string cmd = executable_;
    for (auto& f : doc.files)
      if (f.name == executable_) {
        f.executable = true;  // a staged program: run from the work directory
        if (cmd.find('/') == std::string::npos) cmd = "./" + cmd;
      }
    auto in_staged = [&](const std::string& f) {
      for (const auto& i : doc.files)
        if (i.name == f) return true;
      return false;
    };
    if (!stdin_.empty() && !in_staged(stdin_))
      return refuse(stdin_at_, "'" + stdin_ + "' is no file the job stages in");
    for (auto [f, at] : {std::pair{stdout_, stdout_at_}, std::pair{stderr_, stderr_at_}})
      if (!f.empty())
        if (auto s = submit::check_file_name(f); !s.ok())
          return refuse(at, "'" + f + "' is not a file name inside the job's directory");
    if (stdin_.empty() && stdout_.empty() && stderr_.empty()) {
      t.cmd = cmd;
      t.arg_list = args_;
    } else {
      // The program's standard streams: a shell opens the files and then becomes the program.
      std::string script = "exec \"$0\" \"$@\"";
      if (!stdin_.empty()) script += " <" + quote(stdin_);
      if (!stdout_.empty()) script += " >" + quote(stdout_);
      if (!stderr_.empty()) script += " 2>" + quote(stderr_);
      t.cmd = "sh";
      t.arg_list = {"-c", script, cmd};
      t.arg_list.insert(t.arg_list.end(), args_.begin(), args_.end());
    }
    t.env = env_;
    for (const auto& f : doc.files) t.inputs.push_back({f.name, ""});
    std::set<std::string> outs;
    for (const auto& r : results_) {
      t.outputs.push_back({r, true});
      outs.insert(r);
    }
    for (const auto& f : {stdout_, stderr_})
      if (!f.empty() && outs.insert(f).second) t.outputs.push_back({f, false});
    t.cores = cores_;
    t.memory = memory_;
    t.time_limit_ms = time_limit_ms_;
    doc.tasks.push_back(std::move(t));
    // What submit would refuse, refused now (with placeholder hashes: fvce submit fills them).
    auto check = doc;
    for (auto& f : check.files) {
      f.sha256 = std::string(64, '0');
      f.size = 0;
    }
    auto plan = submit::plan_workflow(check);
    if (!plan.ok())
      return Status::InvalidArgument("the job cannot run as a workflow: " +
                                     plan.status().message());
    return doc;
  }

  std::string_view text_;
  std::string name_;
  pugi::xml_node posix_, executable_at_, stdin_at_, stdout_at_, stderr_at_;
  std::string executable_, stdin_, stdout_, stderr_;
  std::vector<std::string> args_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::vector<model::InputFile> inputs_;
  std::vector<std::string> results_;
  std::set<std::string> staged_;
  int cores_ = 1;
  std::uint64_t memory_ = 0;
  std::int64_t time_limit_ms_ = 0;
};

}  // namespace

Result<model::WorkflowDoc> jsdl_to_workflow(std::string_view xml) {
  if (auto s = xml::SchemaSet::instance().validate_with("jsdl.xsd", xml); !s.ok()) return s;
  pugi::xml_document doc;
  auto root = model::parse_document(doc, xml);
  if (!root.ok()) return root.status();
  Converter c(xml);
  return c.run(*root);
}

}  // namespace fvce::userport
