#include "services/userport/apps.h"

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <pugixml.hpp>
#include <regex>
#include <set>

#include "node/core/files.h"
#include "node/model/codec.h"
#include "node/xml/schema.h"
#include "services/submit/plan.h"

namespace fvce::userport {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxTextValue = 8192;

int line_of(std::string_view text, const pugi::xml_node& n) {
  return model::line_column(text, n.offset_debug()).first;
}

std::string at_line(int line) {
  return "line " + std::to_string(line) + ": ";
}

std::optional<ParamType> parse_type(std::string_view t) {
  for (auto type : {ParamType::text, ParamType::number, ParamType::integer, ParamType::select,
                    ParamType::checkbox, ParamType::file, ParamType::path})
    if (to_string(type) == t) return type;
  return std::nullopt;
}

bool is_numeric(ParamType t) {
  return t == ParamType::number || t == ParamType::integer;
}

// The shortest decimal that reads back as d, never in exponent notation; "-0" is "0".
Result<std::string> format_number(double d) {
  if (!std::isfinite(d)) return Status::InvalidArgument("the result is not a finite number");
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  if (ec != std::errc()) return Status::InvalidArgument("the number cannot be written");
  std::string out(buf, end);
  if (out == "-0") out = "0";
  return out;
}

std::optional<double> parse_double(std::string_view s) {
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return i;
}

bool is_sha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  return true;
}

bool is_member_name(std::string_view s) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._\\-]{0,62}");
  return std::regex_match(s.begin(), s.end(), re);
}

// --- values ----------------------------------------------------------------------------

// The message when v breaks a constraint of p, else "".
std::string constraint_error(const AppParam& p, const Value& v) {
  if (is_numeric(p.type)) {
    double x = p.type == ParamType::integer ? static_cast<double>(v.integer) : v.number;
    auto bound = [&](double b) {
      return p.type == ParamType::integer ? std::to_string(static_cast<std::int64_t>(b))
                                          : format_number(b).value();
    };
    if (p.min && x < *p.min) return "must be at least " + bound(*p.min);
    if (p.max && x > *p.max) return "must be at most " + bound(*p.max);
  }
  if (p.type == ParamType::text && !p.pattern.empty()) {
    std::regex re(p.pattern, std::regex::ECMAScript);  // compiled at parse: valid
    if (!std::regex_match(v.text, re)) return "must match the pattern " + p.pattern;
  }
  if (p.type == ParamType::select) {
    bool found = false;
    std::string choices;
    for (const auto& o : p.options) {
      found = found || o.value == v.text;
      choices += (choices.empty() ? "" : ", ") + o.value;
    }
    if (!found) return "must be one of: " + choices;
  }
  return {};
}

// A value of p from its text form (a default, an option's setting, a form's string).
Result<Value> from_text(const AppParam& p, std::string_view s) {
  Value v;
  v.present = true;
  v.type = p.type;
  v.text = std::string(s);
  switch (p.type) {
    case ParamType::text:
    case ParamType::select:
      if (s.size() > kMaxTextValue)
        return Status::InvalidArgument("is longer than " + std::to_string(kMaxTextValue) +
                                       " bytes");
      for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          return Status::InvalidArgument("holds a control character");
      break;
    case ParamType::integer: {
      auto i = parse_int(s);
      if (!i) return Status::InvalidArgument("must be a whole number, not '" + v.text + "'");
      v.integer = *i;
      v.number = static_cast<double>(*i);
      v.text = std::to_string(*i);
      break;
    }
    case ParamType::number: {
      auto d = parse_double(s);
      if (!d) return Status::InvalidArgument("must be a number, not '" + v.text + "'");
      v.number = *d;
      v.text = format_number(*d).value();
      break;
    }
    case ParamType::checkbox:
      if (s != "true" && s != "false")
        return Status::InvalidArgument("must be true or false, not '" + v.text + "'");
      v.flag = s == "true";
      break;
    case ParamType::path: {
      auto colon = s.find(':');
      if (colon == std::string_view::npos)
        return Status::InvalidArgument("must be MEMBER:PATH (or {\"member\", \"path\"})");
      v.member = std::string(s.substr(0, colon));
      v.path = std::string(s.substr(colon + 1));
      if (!is_member_name(v.member))
        return Status::InvalidArgument("member '" + v.member + "' is not a member's name");
      if (auto ok = submit::check_file_name(v.path); !ok.ok())
        return Status::InvalidArgument("path '" + v.path +
                                       "' must be relative to the member's work root, without "
                                       "'..'");
      break;
    }
    case ParamType::file:
      return Status::InvalidArgument(
          "must be {\"sha256\": HEX, \"size\": N}: a file in the node's store");
  }
  return v;
}

// {"sha256", "size"}: content in the node's store.
Result<Value> file_from_json(const json::value& j) {
  const auto* o = j.if_object();
  const json::value* sha = o ? o->if_contains("sha256") : nullptr;
  const json::value* size = o ? o->if_contains("size") : nullptr;
  if (!sha || !sha->is_string() || !size || !(size->is_uint64() || size->is_int64()) ||
      (size->is_int64() && size->as_int64() < 0) || !is_sha256(sha->as_string()))
    return Status::InvalidArgument(
        "must be {\"sha256\": HEX, \"size\": N}: a file in the node's store");
  Value v;
  v.present = true;
  v.type = ParamType::file;
  v.sha256 = std::string(sha->as_string());
  v.size = size->is_uint64() ? size->as_uint64() : static_cast<std::uint64_t>(size->as_int64());
  v.text = v.sha256;
  return v;
}

Result<Value> from_json(const AppParam& p, const json::value& j) {
  if (j.is_string()) {
    if (p.type == ParamType::file) return file_from_json(j);
    return from_text(p, j.as_string());
  }
  switch (p.type) {
    case ParamType::integer:
      if (j.is_int64()) return from_text(p, std::to_string(j.as_int64()));
      if (j.is_uint64()) {
        if (j.as_uint64() > static_cast<std::uint64_t>(INT64_MAX))
          return Status::InvalidArgument("is too large");
        return from_text(p, std::to_string(j.as_uint64()));
      }
      if (j.is_double()) {
        double d = j.as_double();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
          return from_text(p, std::to_string(static_cast<std::int64_t>(d)));
      }
      return Status::InvalidArgument("must be a whole number");
    case ParamType::number:
      if (j.is_number()) {
        auto text = format_number(j.to_number<double>());
        if (!text.ok()) return Status::InvalidArgument("must be a number");
        return from_text(p, *text);
      }
      return Status::InvalidArgument("must be a number");
    case ParamType::checkbox:
      if (j.is_bool()) return from_text(p, j.as_bool() ? "true" : "false");
      return Status::InvalidArgument("must be true or false");
    case ParamType::select:
      if (j.is_int64() || j.is_uint64() || j.is_double()) {
        auto text = format_number(j.to_number<double>());
        if (!text.ok()) return Status::InvalidArgument("must be one of the options");
        return from_text(p, *text);
      }
      return Status::InvalidArgument("must be one of the options (a string)");
    case ParamType::path:
      if (const auto* o = j.if_object()) {
        const auto* m = o->if_contains("member");
        const auto* path = o->if_contains("path");
        if (m && m->is_string() && path && path->is_string())
          return from_text(p, std::string(m->as_string()) + ":" + std::string(path->as_string()));
      }
      return Status::InvalidArgument("must be {\"member\": NAME, \"path\": PATH}");
    case ParamType::file:
      return file_from_json(j);
    case ParamType::text:
      break;
  }
  return Status::InvalidArgument("must be a string");
}

// --- placeholders ----------------------------------------------------------------------

struct Operand {
  enum Kind { integer, number, text } kind = text;
  std::int64_t i = 0;
  double d = 0;
  std::string s;
  std::string absent;  // non-empty: the param that has no value
  double as_double() const { return kind == integer ? static_cast<double>(i) : d; }
};

using Resolver = std::function<Result<Operand>(std::string_view name, std::string_view field)>;

// expr := sum; sum := prod (('+'|'-') prod)*; prod := unary (('*'|'/'|'%') unary)*;
// unary := '-' unary | atom; atom := NUMBER | NAME ['.' FIELD] | '(' expr ')'
class Expression {
 public:
  Expression(std::string_view text, const Resolver& resolve, bool check_only)
      : t_(text), resolve_(resolve), check_only_(check_only) {}

  Result<Operand> evaluate() {
    skip();
    if (pos_ == t_.size()) return Status::InvalidArgument("the placeholder is empty");
    auto v = sum();
    if (!v.ok()) return v;
    skip();
    if (pos_ != t_.size())
      return Status::InvalidArgument("unexpected '" + std::string(t_.substr(pos_, 1)) + "'");
    return v;
  }

 private:
  void skip() {
    while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\t')) ++pos_;
  }
  bool eat(char c) {
    skip();
    if (pos_ < t_.size() && t_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // An operand of arithmetic: a number, or text that holds one.
  Result<Operand> numeric(Operand v) {
    if (!v.absent.empty()) {
      if (check_only_) return Operand{Operand::integer, 1, 0, {}, {}};
      return Status::InvalidArgument("param '" + v.absent + "' has no value");
    }
    if (v.kind != Operand::text) return v;
    if (auto i = parse_int(v.s)) return Operand{Operand::integer, *i, 0, {}, {}};
    if (auto d = parse_double(v.s)) return Operand{Operand::number, 0, *d, {}, {}};
    if (check_only_) return Operand{Operand::integer, 1, 0, {}, {}};
    return Status::InvalidArgument("'" + v.s + "' is not a number");
  }

  Result<Operand> apply(char op, Operand a, Operand b) {
    auto x = numeric(std::move(a));
    if (!x.ok()) return x;
    auto y = numeric(std::move(b));
    if (!y.ok()) return y;
    bool ints = x->kind == Operand::integer && y->kind == Operand::integer;
    if ((op == '/' || op == '%') && y->as_double() == 0) {
      if (check_only_) return Operand{Operand::integer, 1, 0, {}, {}};
      return Status::InvalidArgument("division by zero");
    }
    if (op == '%') {
      if (!ints) return Status::InvalidArgument("'%' takes whole numbers");
      return Operand{Operand::integer, x->i % y->i, 0, {}, {}};
    }
    if (ints) {
      std::int64_t r = 0;
      bool overflow = false;
      switch (op) {
        case '+':
          overflow = __builtin_add_overflow(x->i, y->i, &r);
          break;
        case '-':
          overflow = __builtin_sub_overflow(x->i, y->i, &r);
          break;
        case '*':
          overflow = __builtin_mul_overflow(x->i, y->i, &r);
          break;
        default:  // '/': whole numbers stay whole when the division is exact
          if (x->i % y->i == 0 && !(x->i == INT64_MIN && y->i == -1))
            return Operand{Operand::integer, x->i / y->i, 0, {}, {}};
          return Operand{Operand::number, 0, x->as_double() / y->as_double(), {}, {}};
      }
      if (overflow) return Status::InvalidArgument("the result is too large");
      return Operand{Operand::integer, r, 0, {}, {}};
    }
    double a1 = x->as_double(), b1 = y->as_double(), r = 0;
    switch (op) {
      case '+':
        r = a1 + b1;
        break;
      case '-':
        r = a1 - b1;
        break;
      case '*':
        r = a1 * b1;
        break;
      default:
        r = a1 / b1;
    }
    if (!std::isfinite(r)) return Status::InvalidArgument("the result is not a finite number");
    return Operand{Operand::number, 0, r, {}, {}};
  }

  Result<Operand> sum() {
    auto left = prod();
    if (!left.ok()) return left;
    while (true) {
      char op = eat('+') ? '+' : eat('-') ? '-' : 0;
      if (!op) return left;
      auto right = prod();
      if (!right.ok()) return right;
      left = apply(op, std::move(*left), std::move(*right));
      if (!left.ok()) return left;
    }
  }

  Result<Operand> prod() {
    auto left = unary();
    if (!left.ok()) return left;
    while (true) {
      char op = eat('*') ? '*' : eat('/') ? '/' : eat('%') ? '%' : 0;
      if (!op) return left;
      auto right = unary();
      if (!right.ok()) return right;
      left = apply(op, std::move(*left), std::move(*right));
      if (!left.ok()) return left;
    }
  }

  Result<Operand> unary() {
    if (eat('-')) {
      auto v = unary();
      if (!v.ok()) return v;
      return apply('-', Operand{Operand::integer, 0, 0, {}, {}}, std::move(*v));
    }
    return atom();
  }

  Result<Operand> atom() {
    skip();
    if (pos_ == t_.size()) return Status::InvalidArgument("an operand is missing");
    char c = t_[pos_];
    if (c == '(') {
      ++pos_;
      auto v = sum();
      if (!v.ok()) return v;
      if (!eat(')')) return Status::InvalidArgument("')' is missing");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      std::size_t start = pos_;
      bool real = false;
      while (pos_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[pos_]))) ++pos_;
      if (pos_ < t_.size() && t_[pos_] == '.') {
        real = true;
        ++pos_;
        while (pos_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[pos_]))) ++pos_;
      }
      auto text = t_.substr(start, pos_ - start);
      if (!real) {
        auto i = parse_int(text);
        if (!i) return Status::InvalidArgument("'" + std::string(text) + "' is too large");
        return Operand{Operand::integer, *i, 0, {}, {}};
      }
      auto d = parse_double(text);
      if (!d) return Status::InvalidArgument("'" + std::string(text) + "' is not a number");
      return Operand{Operand::number, 0, *d, {}, {}};
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      std::size_t start = pos_;
      while (pos_ < t_.size() &&
             (std::isalnum(static_cast<unsigned char>(t_[pos_])) || t_[pos_] == '_'))
        ++pos_;
      auto name = t_.substr(start, pos_ - start);
      std::string_view field;
      if (pos_ < t_.size() && t_[pos_] == '.') {
        std::size_t f = ++pos_;
        while (pos_ < t_.size() && std::isalnum(static_cast<unsigned char>(t_[pos_]))) ++pos_;
        field = t_.substr(f, pos_ - f);
        if (field.empty()) return Status::InvalidArgument("a field name is missing after '.'");
      }
      return resolve_(name, field);
    }
    return Status::InvalidArgument("unexpected '" + std::string(1, c) + "'");
  }

  std::string_view t_;
  std::size_t pos_ = 0;
  const Resolver& resolve_;
  bool check_only_;
};

Result<std::string> render(const Operand& v) {
  switch (v.kind) {
    case Operand::integer:
      return std::to_string(v.i);
    case Operand::number:
      return format_number(v.d);
    case Operand::text:
      break;
  }
  return v.s;
}

// A value inside an args attribute stays one word when the task's arguments are split: quoted
// as a shell would need it, and left alone when it needs no quoting (numbers, plain names).
std::string quote_word(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) ||
                      std::string_view("_@%+=:,./-").find(c) != std::string_view::npos);
  if (plain) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// The resolver of placeholders: real values, or (check_only) a value of each name's type.
Resolver make_resolver(const App& app, const std::map<std::string, Value>* params,
                       const std::map<std::string, Value>* inputs) {
  return [&app, params, inputs](std::string_view name, std::string_view field) -> Result<Operand> {
    auto text = [](std::string s) { return Operand{Operand::text, 0, 0, std::move(s), {}}; };
    auto integer = [](std::int64_t i) { return Operand{Operand::integer, i, 0, {}, {}}; };
    auto bad_field = [&](std::string_view what) -> Status {
      return Status::InvalidArgument("'" + std::string(name) + "' has no field '" +
                                     std::string(field) + "'" + std::string(what));
    };
    if (const auto* in = app.input(name)) {
      if (!field.empty() && field != "sha256" && field != "size")
        return bad_field(" (an input has sha256 and size)");
      const Value* v = nullptr;
      if (inputs) {
        auto it = inputs->find(std::string(name));
        if (it != inputs->end()) v = &it->second;
      }
      if (field.empty()) return text(in->name);
      if (!inputs) return field == "size" ? integer(1) : text("x");
      if (!v) {
        Operand o;
        o.absent = in->name;
        return o;
      }
      return field == "size" ? integer(static_cast<std::int64_t>(v->size)) : text(v->sha256);
    }
    const auto* p = app.param(name);
    if (!p) return Status::InvalidArgument("'" + std::string(name) + "' names no param or input");
    bool fields_ok = field.empty() ||
                     (p->type == ParamType::file && (field == "sha256" || field == "size")) ||
                     (p->type == ParamType::path && (field == "member" || field == "path"));
    if (!fields_ok)
      return bad_field(p->type == ParamType::file   ? " (a file has sha256 and size)"
                       : p->type == ParamType::path ? " (a path has member and path)"
                                                    : " (only file and path params have fields)");
    if (!params) {  // checking the template: a value of the type
      if (p->type == ParamType::integer || field == "size") return integer(1);
      if (p->type == ParamType::number) return Operand{Operand::number, 0, 1.0, {}, {}};
      return text("x");
    }
    auto it = params->find(p->name);
    if (it == params->end() || !it->second.present) {
      Operand o;
      o.absent = p->name;
      return o;
    }
    const Value& v = it->second;
    switch (p->type) {
      case ParamType::integer:
        return integer(v.integer);
      case ParamType::number:
        return Operand{Operand::number, 0, v.number, {}, {}};
      case ParamType::file:
        return field == "size" ? integer(static_cast<std::int64_t>(v.size)) : text(v.sha256);
      case ParamType::path:
        return text(field == "member" ? v.member
                    : field == "path" ? v.path
                                      : v.member + ":" + v.path);
      default:
        return text(v.text);
    }
  };
}

Result<std::string> eval_one(std::string_view expression, const Resolver& resolve, bool check_only,
                             bool in_args) {
  Expression e(expression, resolve, check_only);
  auto v = e.evaluate();
  if (!v.ok()) return v.status();
  std::string out;
  if (!v->absent.empty()) {
    out = "";  // a param without a value, alone: nothing
  } else {
    auto r = render(*v);
    if (!r.ok()) return r.status();
    out = std::move(*r);
  }
  return in_args ? quote_word(out) : out;
}

Result<std::string> substitute(std::string_view s, const Resolver& resolve, bool check_only,
                               bool in_args) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    auto b = s.find("{{", pos);
    if (b == std::string_view::npos) break;
    auto e = s.find("}}", b + 2);
    if (e == std::string_view::npos)
      return Status::InvalidArgument("'{{' without a closing '}}' in '" + std::string(s) + "'");
    out.append(s.substr(pos, b - pos));
    auto expr = s.substr(b + 2, e - b - 2);
    auto v = eval_one(expr, resolve, check_only, in_args);
    if (!v.ok())
      return Status::InvalidArgument("{{" + std::string(expr) + "}}: " + v.status().message());
    out += *v;
    pos = e + 2;
  }
  out.append(s.substr(pos));
  return out;
}

// Replaces the placeholders of every attribute and text below root, in place; lines (of the
// elements, in document order) are collected for error messages.
Status substitute_tree(pugi::xml_node root, std::string_view text, const Resolver& resolve,
                       bool check_only, std::vector<int>* lines) {
  Status failed;
  std::function<bool(pugi::xml_node)> walk = [&](pugi::xml_node n) -> bool {
    int line = line_of(text, n);
    if (lines) lines->push_back(line);
    std::string_view element = n.name();
    for (auto a : n.attributes()) {
      bool in_args =
          std::string_view(a.name()) == "args" && (element == "task" || element == "program");
      auto v = substitute(a.value(), resolve, check_only, in_args);
      if (!v.ok()) {
        failed = Status::InvalidArgument(at_line(line) + v.status().message());
        return false;
      }
      a.set_value(v->c_str());
    }
    for (auto c : n.children()) {
      if (c.type() == pugi::node_element) {
        if (!walk(c)) return false;
      } else if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
        auto v = substitute(c.value(), resolve, check_only, false);
        if (!v.ok()) {
          failed = Status::InvalidArgument(at_line(line) + v.status().message());
          return false;
        }
        c.set_value(v->c_str());
      }
    }
    return true;
  };
  walk(root);
  return failed;
}

// The element the workflow is made from in a parsed template text: <workflow> inside
// <workflow-template> (or the root of a template file), or <program>.
pugi::xml_node template_root(const pugi::xml_document& doc) {
  auto root = doc.document_element();
  if (std::string_view(root.name()) != "application") return root;
  if (auto p = root.child("program")) return p;
  return root.child("workflow-template").child("workflow");
}

std::string save(const pugi::xml_document& doc) {
  struct Writer : pugi::xml_writer {
    std::string out;
    void write(const void* data, size_t size) override {
      out.append(static_cast<const char*>(data), size);
    }
  } w;
  doc.save(w, "  ", pugi::format_default, pugi::encoding_utf8);
  return std::move(w.out);
}

// The workflow document (before the planner) for the given values; check_only: values of the
// right types stand in (the template's own check at parse).
Result<model::WorkflowDoc> make_doc(const App& app, const Resolver& resolve, bool check_only) {
  pugi::xml_document in;
  auto parsed = model::parse_document(in, app.template_text);
  if (!parsed.ok()) return parsed.status();
  auto src = template_root(in);
  if (!src) return Status::InvalidArgument("the description has no template");
  std::vector<int> lines;
  if (auto s = substitute_tree(src, app.template_text, resolve, check_only, &lines); !s.ok())
    return s;

  pugi::xml_document out;
  auto decl = out.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  pugi::xml_node wf;
  bool program = std::string_view(src.name()) == "program";
  if (program) {
    wf = out.append_child("workflow");
    wf.append_attribute("xmlns") = model::kNamespace;
    wf.append_attribute("name") = app.name.c_str();
    auto task = wf.append_child("task");
    task.append_attribute("id") = "run";
    for (auto a : src.attributes()) task.append_attribute(a.name()) = a.value();
    for (auto c : src.children())
      if (c.type() == pugi::node_element) task.append_copy(c);
  } else {
    wf = out.append_copy(src);
    wf.remove_attribute("xmlns");
    wf.prepend_attribute("xmlns") = model::kNamespace;
  }
  auto text = save(out);
  xml::ValidationError where;
  if (auto s = xml::SchemaSet::instance().validate(text, {}, &where); !s.ok()) {
    // The line of the template's element the error is in: elements keep their order.
    int line = lines.empty() ? 0 : lines.front();
    if (!program) {
      pugi::xml_document again;
      if (model::parse_document(again, text).ok()) {
        std::size_t k = 0;
        std::function<void(pugi::xml_node)> walk = [&](pugi::xml_node n) {
          if (k < lines.size() && line_of(text, n) <= where.line) line = lines[k];
          ++k;
          for (auto c : n.children())
            if (c.type() == pugi::node_element) walk(c);
        };
        auto root = again.document_element();
        walk(root);
      }
    }
    std::string file = app.template_is_file ? " of the template file" : "";
    return Status::InvalidArgument(
        "line " + std::to_string(line) + file +
        ": the workflow made from the template is not valid: " + where.reason);
  }
  return model::from_xml<model::WorkflowDoc>(text);
}

// --- parsing ---------------------------------------------------------------------------

Status param_error(const AppParam& p, const std::string& what) {
  return Status::InvalidArgument(at_line(p.line) + "param '" + p.name + "': " + what);
}

Status check_param(const AppParam& p) {
  if (p.min && p.max && *p.min > *p.max) return param_error(p, "min is above max");
  if ((p.min || p.max) && !is_numeric(p.type))
    return param_error(
        p, "min and max apply to number and integer params, not " + std::string(to_string(p.type)));
  if (p.type == ParamType::integer) {
    for (auto b : {p.min, p.max})
      if (b && *b != std::floor(*b))
        return param_error(p, "min and max of an integer param must be whole numbers");
  }
  if (!p.pattern.empty()) {
    if (p.type != ParamType::text)
      return param_error(p,
                         "a pattern applies to text params, not " + std::string(to_string(p.type)));
    try {
      std::regex re(p.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return param_error(p, "pattern '" + p.pattern +
                                "' is not a valid ECMAScript regular expression (" + e.what() +
                                ")");
    }
  }
  if (p.type == ParamType::select && p.options.empty())
    return param_error(p, "a select needs at least one <option>");
  if (p.type != ParamType::select && !p.options.empty())
    return param_error(p, "options apply to select params, not " + std::string(to_string(p.type)));
  std::set<std::string> seen;
  for (const auto& o : p.options)
    if (!seen.insert(o.value).second)
      return param_error(p, "option '" + o.value + "' is listed twice");
  if (p.default_value) {
    if (p.type == ParamType::file)
      return param_error(p, "a file param has no default (it is a file the user chooses)");
    auto v = from_text(p, *p.default_value);
    if (!v.ok()) return param_error(p, "default " + v.status().message());
    if (auto e = constraint_error(p, *v); !e.empty())
      return param_error(p, "default '" + *p.default_value + "' " + e);
  }
  return Status::Ok();
}

Status check_relations(const App& app) {
  std::set<std::string> names;
  for (const auto& p : app.params)
    if (!names.insert(p.name).second) return param_error(p, "the name is used twice");
  for (const auto& i : app.inputs)
    if (!names.insert(i.name).second)
      return Status::InvalidArgument("input '" + i.name + "': the name is used twice");
  for (const auto& p : app.params) {
    if (p.show_if) {
      const auto* other = app.param(p.show_if->param);
      if (!other)
        return param_error(p, "show-if names '" + p.show_if->param + "', which is no param");
      if (other == &p) return param_error(p, "show-if names the param itself");
      // A cycle of show-ifs would hide a param behind itself.
      const AppParam* at = other;
      for (std::size_t steps = 0; at && at->show_if; ++steps) {
        if (at == &p || steps > app.params.size())
          return param_error(p, "show-if params form a cycle");
        at = app.param(at->show_if->param);
      }
    }
    for (const auto& o : p.options)
      for (const auto& [name, value] : o.sets) {
        const auto* target = app.param(name);
        if (!target)
          return param_error(p, "option '" + o.value + "' sets '" + name + "', which is no param");
        if (target == &p) return param_error(p, "option '" + o.value + "' sets its own param");
        auto v = from_text(*target, value);
        if (!v.ok())
          return param_error(p, "option '" + o.value + "' sets " + name + " to '" + value +
                                    "', which " + v.status().message());
        if (auto e = constraint_error(*target, *v); !e.empty())
          return param_error(
              p, "option '" + o.value + "' sets " + name + " to '" + value + "', which " + e);
      }
  }
  return Status::Ok();
}

bool attr_bool(const pugi::xml_node& n, const char* name, bool fallback) {
  auto a = n.attribute(name);
  if (!a) return fallback;
  std::string_view v = a.value();
  return v == "true" || v == "1";
}

}  // namespace

std::string_view to_string(ParamType type) {
  switch (type) {
    case ParamType::text:
      return "text";
    case ParamType::number:
      return "number";
    case ParamType::integer:
      return "integer";
    case ParamType::select:
      return "select";
    case ParamType::checkbox:
      return "checkbox";
    case ParamType::file:
      return "file";
    case ParamType::path:
      return "path";
  }
  return "text";
}

std::string_view to_string(AppKind kind) {
  return kind == AppKind::program ? "program" : "workflow";
}

const AppParam* App::param(std::string_view name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

const AppInput* App::input(std::string_view name) const {
  for (const auto& i : inputs)
    if (i.name == name) return &i;
  return nullptr;
}

Result<App> parse_app(std::string_view xml, const ParseOptions& options) {
  if (auto s = xml::SchemaSet::instance().validate(xml); !s.ok()) return s;
  pugi::xml_document doc;
  auto root = model::parse_document(doc, xml);
  if (!root.ok()) return root.status();
  if (std::string_view(root->name()) != "application")
    return Status::InvalidArgument(std::string("expected an <application> document, got <") +
                                   root->name() + ">");
  App app;
  app.source = std::string(xml);
  app.template_text = app.source;
  auto r = *root;
  app.name = r.attribute("name").value();
  app.version = r.attribute("version") ? r.attribute("version").value() : "1";
  app.kind = std::string_view(r.attribute("kind").value()) == "program" ? AppKind::program
                                                                        : AppKind::workflow;
  app.title = r.child("title").text().get();
  app.description = r.child("description").text().get();
  for (auto n : r.children("param")) {
    AppParam p;
    p.line = line_of(xml, n);
    p.name = n.attribute("name").value();
    p.label = n.attribute("label") ? n.attribute("label").value() : p.name;
    p.type = parse_type(n.attribute("type").value()).value_or(ParamType::text);
    if (auto a = n.attribute("default")) p.default_value = a.value();
    if (auto a = n.attribute("min")) p.min = parse_double(a.value());
    if (auto a = n.attribute("max")) p.max = parse_double(a.value());
    if ((n.attribute("min") && !p.min) || (n.attribute("max") && !p.max))
      return param_error(p, "min and max must be finite numbers");
    p.pattern = n.attribute("pattern").value();
    p.required = attr_bool(n, "required", false);
    p.advanced = attr_bool(n, "advanced", false);
    p.help = n.child("help").text().get();
    for (auto o : n.children("option")) {
      AppOption opt;
      opt.value = o.attribute("value").value();
      opt.label = o.attribute("label") ? o.attribute("label").value() : opt.value;
      for (auto s : o.children("set"))
        opt.sets.emplace_back(s.attribute("param").value(), s.attribute("value").value());
      p.options.push_back(std::move(opt));
    }
    if (auto s = n.child("show-if"))
      p.show_if = ShowIf{s.attribute("param").value(), s.attribute("equals").value()};
    if (auto s = check_param(p); !s.ok()) return s;
    app.params.push_back(std::move(p));
  }
  for (auto n : r.children("input")) {
    AppInput in;
    in.name = n.attribute("name").value();
    in.label = n.attribute("label") ? n.attribute("label").value() : in.name;
    in.required = attr_bool(n, "required", true);
    in.help = n.child("help").text().get();
    app.inputs.push_back(std::move(in));
  }
  if (auto s = check_relations(app); !s.ok()) return s;

  auto tmpl = r.child("workflow-template");
  if ((app.kind == AppKind::program) != static_cast<bool>(r.child("program")))
    return Status::InvalidArgument(
        at_line(line_of(xml, r)) + "an application of kind '" + std::string(to_string(app.kind)) +
        "' needs " + (app.kind == AppKind::program ? "a <program>" : "a <workflow-template>"));
  if (tmpl) {
    auto src = tmpl.attribute("src");
    auto embedded = tmpl.child("workflow");
    if (src && embedded)
      return Status::InvalidArgument(at_line(line_of(xml, tmpl)) +
                                     "<workflow-template> has both src and an embedded <workflow>");
    if (!src && !embedded)
      return Status::InvalidArgument(at_line(line_of(xml, tmpl)) +
                                     "<workflow-template> needs src or an embedded <workflow>");
    if (src) {
      std::string name = src.value();
      if (options.template_dir.empty())
        return Status::InvalidArgument(
            at_line(line_of(xml, tmpl)) +
            "a published application embeds its workflow in <workflow-template> (src='" + name +
            "' names a file members do not have)");
      if (auto s = submit::check_file_name(name); !s.ok())
        return Status::InvalidArgument(at_line(line_of(xml, tmpl)) + "src='" + name +
                                       "' must be a file beside the description");
      auto text = read_file(options.template_dir / name);
      if (!text.ok())
        return Status::InvalidArgument(at_line(line_of(xml, tmpl)) + "template '" + name +
                                       "': " + text.status().message());
      app.template_text = std::move(*text);
      app.template_is_file = true;
      pugi::xml_document t;
      auto troot = model::parse_document(t, app.template_text);
      if (!troot.ok())
        return Status::InvalidArgument("template '" + name + "': " + troot.status().message());
      if (std::string_view(troot->name()) != "workflow")
        return Status::InvalidArgument("template '" + name + "': its root must be <workflow>");
    } else if (embedded.next_sibling()) {
      return Status::InvalidArgument(at_line(line_of(xml, embedded.next_sibling())) +
                                     "<workflow-template> holds one <workflow>");
    }
  }
  // The placeholders name params and inputs, and the workflow is valid for values of the
  // right types.
  auto check = make_resolver(app, nullptr, nullptr);
  {
    pugi::xml_document t;
    if (!model::parse_document(t, app.template_text).ok())
      return Status::InvalidArgument("the template does not parse");
    auto src = template_root(t);
    if (auto s = substitute_tree(src, app.template_text, check, true, nullptr); !s.ok())
      return Status::InvalidArgument(s.message());
  }
  auto defaults = check_values(app, json::object());
  if (defaults.errors.empty()) {
    auto resolve = make_resolver(app, &defaults.params, &defaults.inputs);
    auto doc = make_doc(app, resolve, false);
    if (!doc.ok())
      return Status::InvalidArgument("with the default values: " + doc.status().message());
  }
  return app;
}

CheckedValues check_values(const App& app, const json::object& values) {
  CheckedValues out;
  for (const auto& [key, v] : values) {
    if (!app.param(key) && !app.input(key))
      out.errors.push_back({std::string(key), "is not a field of application '" + app.name + "'"});
  }
  // Resolved in dependency order: a param's visibility needs the value of its show-if's
  // param, and a value left empty may come from another's chosen option.
  std::map<std::string, int> state;  // 1 = in progress, 2 = done
  std::map<std::string, bool> visible;
  std::function<void(const AppParam&)> resolve = [&](const AppParam& p) {
    if (state[p.name] != 0) return;
    state[p.name] = 1;
    bool shown = true;
    if (p.show_if) {
      const auto* ctl = app.param(p.show_if->param);
      resolve(*ctl);
      const auto& cv = out.params[ctl->name];
      shown = visible[ctl->name] && cv.present && cv.text == p.show_if->equals;
    }
    visible[p.name] = shown;
    const json::value* given = nullptr;
    if (auto it = values.find(p.name); it != values.end() && !it->value().is_null())
      given = &it->value();
    if (shown && given) {
      auto v = from_json(p, *given);
      if (!v.ok()) {
        out.errors.push_back({p.name, v.status().message()});
      } else if (auto e = constraint_error(p, *v); !e.empty()) {
        out.errors.push_back({p.name, e});
      } else if (p.required && v->text.empty()) {
        out.errors.push_back({p.name, "is required"});
      } else {
        out.params[p.name] = std::move(*v);
      }
      state[p.name] = 2;
      return;
    }
    // Not given (or hidden): a chosen option that sets it, else the default.
    std::optional<std::string> text;
    if (shown) {
      for (const auto& s : app.params) {
        if (s.type != ParamType::select || &s == &p || state[s.name] == 1) continue;
        bool sets_it = false;
        for (const auto& o : s.options)
          for (const auto& [name, value] : o.sets) sets_it = sets_it || name == p.name;
        if (!sets_it) continue;
        resolve(s);
        if (!visible[s.name]) continue;
        const auto& sv = out.params[s.name];
        for (const auto& o : s.options)
          if (sv.present && o.value == sv.text)
            for (const auto& [name, value] : o.sets)
              if (name == p.name && !text) text = value;
        if (text) break;
      }
    }
    if (!text) text = p.default_value;
    if (text) {
      auto v = from_text(p, *text);  // checked at parse
      if (v.ok()) out.params[p.name] = std::move(*v);
    } else {
      Value none;
      none.type = p.type;
      out.params[p.name] = none;
      if (shown && p.required) out.errors.push_back({p.name, "is required"});
    }
    state[p.name] = 2;
  };
  for (const auto& p : app.params) resolve(p);
  for (const auto& in : app.inputs) {
    auto it = values.find(in.name);
    if (it == values.end() || it->value().is_null()) {
      if (in.required) out.errors.push_back({in.name, "is required"});
      continue;
    }
    auto v = file_from_json(it->value());
    if (!v.ok())
      out.errors.push_back({in.name, v.status().message()});
    else
      out.inputs[in.name] = std::move(*v);
  }
  return out;
}

Result<std::string> evaluate_placeholder(const App& app, const std::map<std::string, Value>& values,
                                         std::string_view expression, bool in_args) {
  std::map<std::string, Value> no_inputs;
  auto resolve = make_resolver(app, &values, &no_inputs);
  return eval_one(expression, resolve, false, in_args);
}

Result<model::WorkflowDoc> instantiate(const App& app, const CheckedValues& values) {
  if (!values.errors.empty())
    return Status::InvalidArgument("field '" + values.errors.front().field +
                                   "': " + values.errors.front().message);
  auto resolve = make_resolver(app, &values.params, &values.inputs);
  auto doc = make_doc(app, resolve, false);
  if (!doc.ok()) return doc.status();
  std::vector<model::InputFile> files;
  for (const auto& in : app.inputs) {
    auto it = values.inputs.find(in.name);
    if (it == values.inputs.end()) continue;
    model::InputFile f;
    f.name = in.name;
    f.sha256 = it->second.sha256;
    f.size = it->second.size;
    files.push_back(std::move(f));
    if (app.kind == AppKind::program && !doc->tasks.empty())
      doc->tasks.front().inputs.push_back({in.name, ""});
  }
  for (auto& f : doc->files) {
    bool clash = false;
    for (const auto& g : files) clash = clash || g.name == f.name;
    if (clash)
      return Status::InvalidArgument("input '" + f.name +
                                     "' is also a <file> of the template: rename one of them");
  }
  doc->files.insert(doc->files.begin(), files.begin(), files.end());
  auto plan = submit::plan_workflow(*doc);
  if (!plan.ok())
    return Status::InvalidArgument("the workflow of application '" + app.name +
                                   "' cannot run: " + plan.status().message());
  doc->app = app.name;  // the workflow lists and pages show what it was made from
  return doc;
}

namespace {
// A whole number as a JSON integer (1, not 1E0), anything else as a double.
json::value json_number(double d) {
  if (d == std::floor(d) && std::fabs(d) < 9.0e15) return json::value(static_cast<std::int64_t>(d));
  return json::value(d);
}
}  // namespace

json::object app_json(const App& app) {
  json::object o;
  o["name"] = app.name;
  o["title"] = app.title;
  o["description"] = app.description;
  o["version"] = app.version;
  o["kind"] = to_string(app.kind);
  json::array params;
  for (const auto& p : app.params) {
    json::object j;
    j["name"] = p.name;
    j["label"] = p.label;
    j["type"] = to_string(p.type);
    json::value def = nullptr;
    if (p.default_value) {
      auto v = from_text(p, *p.default_value);
      if (v.ok()) {
        switch (p.type) {
          case ParamType::integer:
            def = v->integer;
            break;
          case ParamType::number:
            def = json_number(v->number);
            break;
          case ParamType::checkbox:
            def = v->flag;
            break;
          case ParamType::path: {
            json::object path;
            path["member"] = v->member;
            path["path"] = v->path;
            def = std::move(path);
            break;
          }
          default:
            def = v->text;
        }
      }
    }
    j["default"] = std::move(def);
    j["min"] = p.min ? json_number(*p.min) : json::value(nullptr);
    j["max"] = p.max ? json_number(*p.max) : json::value(nullptr);
    j["pattern"] = p.pattern.empty() ? json::value(nullptr) : json::value(p.pattern);
    j["required"] = p.required;
    j["help"] = p.help;
    j["advanced"] = p.advanced;
    json::array options;
    for (const auto& opt : p.options) {
      json::object oj;
      oj["value"] = opt.value;
      oj["label"] = opt.label;
      json::object sets;
      for (const auto& [name, value] : opt.sets) sets[name] = value;
      oj["set"] = std::move(sets);
      options.push_back(std::move(oj));
    }
    j["options"] = std::move(options);
    if (p.show_if) {
      json::object s;
      s["param"] = p.show_if->param;
      s["equals"] = p.show_if->equals;
      j["show_if"] = std::move(s);
    } else {
      j["show_if"] = nullptr;
    }
    params.push_back(std::move(j));
  }
  o["params"] = std::move(params);
  json::array inputs;
  for (const auto& in : app.inputs) {
    json::object j;
    j["name"] = in.name;
    j["label"] = in.label;
    j["required"] = in.required;
    j["help"] = in.help;
    inputs.push_back(std::move(j));
  }
  o["inputs"] = std::move(inputs);
  return o;
}

json::array apps_json(const std::vector<App>& apps) {
  json::array a;
  for (const auto& app : apps) a.push_back(app_json(app));
  return a;
}

}  // namespace fvce::userport
