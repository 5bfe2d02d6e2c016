// Published applications: the forms of the web user port's Submit page (docs/applications.md).
//
// An application description (xsd/application.xsd) names a form — its params, each with a
// type, a default and constraints, and its input files — and what a submission becomes: one
// program, or a workflow made from a template in which {{...}} placeholders are replaced by
// the submitted values. This file holds the pure part: parsing and checking a description,
// checking submitted values, making the workflow, and the JSON the browser reads. No I/O
// besides reading a bundled template file at parse time; every function is thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/core/status.h"
#include "node/http/json.h"
#include "node/model/workflow.h"

namespace fvce::userport {

enum class ParamType { text, number, integer, select, checkbox, file, path };
enum class AppKind { program, workflow };
std::string_view to_string(ParamType type);
std::string_view to_string(AppKind kind);

struct AppOption {
  std::string value, label;
  // Params this choice fills in when the user leaves them empty: (param, value).
  std::vector<std::pair<std::string, std::string>> sets;
};

struct ShowIf {
  std::string param, equals;
};

struct AppParam {
  std::string name, label;
  ParamType type = ParamType::text;
  std::optional<std::string> default_value;  // as written; checked against the type
  std::optional<double> min, max;            // number and integer only
  std::string pattern;                       // text only: ECMAScript, matched in full
  bool required = false;
  bool advanced = false;  // the form folds it away
  std::string help;
  std::vector<AppOption> options;  // select only
  std::optional<ShowIf> show_if;
  int line = 0;  // of its <param> in the description
};

struct AppInput {
  std::string name, label, help;
  bool required = true;
};

struct App {
  std::string name, title, description, version;
  AppKind kind = AppKind::workflow;
  std::vector<AppParam> params;
  std::vector<AppInput> inputs;
  std::string source;  // the description, as given
  // The text the workflow is made from: the description itself, or (a bundled description's
  // <workflow-template src>) the template file's content.
  std::string template_text;
  bool template_is_file = false;

  const AppParam* param(std::string_view name) const;
  const AppInput* input(std::string_view name) const;
  bool operator==(const App& o) const { return source == o.source; }
};

// Where <workflow-template src="..."> may point: files in this directory (a bundled
// description's own). Empty: src is refused (a published description embeds its template,
// since it travels to members that do not hold the file).
struct ParseOptions {
  std::filesystem::path template_dir;
};

// Parses and checks a description. Errors (invalid-argument), the first found:
//  - "LINE:COL: reason" when it does not validate against xsd/application.xsd;
//  - "line N: param 'NAME': ..." for a param that contradicts itself: a duplicate name, a
//    default of the wrong type, outside min..max, not matching the pattern or not among the
//    options; min above max; a pattern that is no ECMAScript regular expression; a select
//    without options; show-if naming an unknown param (or itself, or in a cycle); an option
//    setting an unknown param or a value wrong for it; constraints on a type they do not
//    apply to;
//  - "line N: {{...}}: ..." for a placeholder of the template that names no param or input,
//    uses an unknown field or does not parse;
//  - src of a template outside options.template_dir, or unreadable.
Result<App> parse_app(std::string_view xml, const ParseOptions& options = {});

// One wrong input of a form.
using http::FieldError;

// A param's value once checked.
struct Value {
  bool present = false;  // false: no value (not given, no default)
  ParamType type = ParamType::text;
  std::string text;  // text, select, and the text form of every other type
  std::int64_t integer = 0;
  double number = 0;
  bool flag = false;
  std::string member, path;  // path
  std::string sha256;        // file (and inputs)
  std::uint64_t size = 0;
};

struct CheckedValues {
  std::map<std::string, Value> params;  // every param, hidden ones with their default
  std::map<std::string, Value> inputs;  // the inputs given
  std::vector<FieldError> errors;       // empty: the values may be instantiated
};

// Checks the values a user submitted (the "values" object of POST /api/apps/submit) against
// the form. A value is taken first from `values`, then from a select's chosen option that
// sets it, then from the param's default. Errors, one per field: an unknown field, a value
// of the wrong type, outside min..max, not matching the pattern, not among the options, a
// required value missing; a param hidden by its show-if is not checked (its value is its
// default). An input's value is {"sha256": HEX, "size": N}: content in the node's store.
CheckedValues check_values(const App& app, const boost::json::object& values);

// Makes the workflow of a submission from values that check_values() accepted: substitutes
// the placeholders, checks the result against the workflow schema, adds the inputs as
// <file>s, and checks it with the planner the submit service uses (services/submit/plan.h).
// Errors: invalid-argument naming the template line, or the planner's message.
Result<model::WorkflowDoc> instantiate(const App& app, const CheckedValues& values);

// Evaluates one placeholder's expression (the text between {{ and }}) against values; for
// tests and the documentation's examples. Errors: invalid-argument.
Result<std::string> evaluate_placeholder(const App& app, const std::map<std::string, Value>& values,
                                         std::string_view expression, bool in_args = false);

// The App object of docs/web.md.
boost::json::object app_json(const App& app);
boost::json::array apps_json(const std::vector<App>& apps);

}  // namespace fvce::userport
