#include "tandem/prompts/json_schema.h"

#include <re2/re2.h>

#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <variant>
#include <vector>

#include "tandem/core/json_util.h"

namespace tandem::prompts {

namespace {

// Schemas come from the config; validation recurses once per schema level, so this also bounds
// the stack a reply can cost.
constexpr int kMaxSchemaDepth = 32;

enum TypeBit : unsigned {
  kObject = 1,
  kArray = 2,
  kString = 4,
  kNumber = 8,  // includes integers
  kInteger = 16,
  kBoolean = 32,
  kNull = 64,
};

struct TypeName {
  const char* name;
  unsigned bit;
};
constexpr TypeName kTypes[] = {{"object", kObject}, {"array", kArray},     {"string", kString},
                               {"number", kNumber}, {"integer", kInteger}, {"boolean", kBoolean},
                               {"null", kNull}};

// "/a/b~1c": JSON pointer segments escape ~ and /.
std::string pointer_segment(std::string_view key) {
  std::string out = "/";
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string where(const std::string& pointer) {
  return pointer.empty() ? "at the top level" : "at " + pointer;
}

// A value for an error message: its JSON, cut at 60 bytes on a character boundary.
std::string show(const boost::json::value& v) {
  std::string s = boost::json::serialize(v);
  if (s.size() <= 60) return s;
  std::size_t cut = 60;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

const char* kind_of(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object:
      return "object";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "integer";
    case boost::json::kind::double_: {
      double d = v.get_double();
      return std::isfinite(d) && std::floor(d) == d ? "integer" : "number";
    }
  }
  return "value";
}

bool is_integer(const boost::json::value& v) {
  return std::string_view(kind_of(v)) == "integer";
}

double as_double(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

// JSON Schema equality: numbers by value (1 == 1.0), objects regardless of key order.
bool json_equal(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_double() || b.is_double()) return as_double(a) == as_double(b);
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const auto& s = a.is_int64() ? a : b;  // one signed, one unsigned
    const auto& u = a.is_int64() ? b : a;
    return s.get_int64() >= 0 && static_cast<std::uint64_t>(s.get_int64()) == u.get_uint64();
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!json_equal(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      const auto* w = y.if_contains(k);
      if (w == nullptr || !json_equal(v, *w)) return false;
    }
    return true;
  }
  return a == b;
}

// A schema bound for a message: 150, not Boost.JSON's "1.5E2".
std::string show_number(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// Characters of a UTF-8 string: bytes that do not continue a sequence.
std::size_t characters(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

struct JsonSchema::Node {
  bool never = false;  // the schema `false`
  unsigned types = 0;  // 0: any type
  std::optional<std::vector<boost::json::value>> enum_values;
  std::optional<boost::json::value> const_value;
  std::map<std::string, Node, std::less<>> properties;
  std::vector<std::string> required;
  bool additional_allowed = true;
  std::unique_ptr<Node> additional;  // a schema for the properties not listed
  std::unique_ptr<Node> items;
  std::optional<std::uint64_t> min_items, max_items, min_length, max_length;
  std::optional<double> minimum, maximum;
  std::shared_ptr<const re2::RE2> pattern;
  std::vector<Node> any_of;
};

namespace {

using Node = JsonSchema::Node;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw PromptError("schema: " + where(path) + ": " + what);
}

std::uint64_t count_of(const boost::json::value& v, const std::string& path, const char* key) {
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_double() && v.get_double() >= 0 && std::floor(v.get_double()) == v.get_double() &&
      v.get_double() < 1e18) {
    return static_cast<std::uint64_t>(v.get_double());
  }
  bad(path, std::string("'") + key + "' must be a non-negative integer");
}

unsigned type_bits(const boost::json::value& v, const std::string& path) {
  auto one = [&](const boost::json::value& t) -> unsigned {
    if (!t.is_string()) bad(path, "'type' must be a type name or a list of them");
    for (const auto& k : kTypes) {
      if (t.get_string() == k.name) return k.bit;
    }
    bad(path, "unknown type '" + std::string(t.get_string()) +
                  "' (object, array, string, number, integer, boolean, null)");
  };
  if (v.is_array()) {
    if (v.get_array().empty()) bad(path, "'type' must not be an empty list");
    unsigned bits = 0;
    for (const auto& t : v.get_array()) bits |= one(t);
    return bits;
  }
  return one(v);
}

Node compile(const boost::json::value& schema, const std::string& path, int depth) {
  if (depth > kMaxSchemaDepth) {
    bad(path, "nested more than " + std::to_string(kMaxSchemaDepth) + " levels deep");
  }
  Node node;
  if (schema.is_bool()) {
    node.never = !schema.get_bool();
    return node;
  }
  if (!schema.is_object()) bad(path, "a schema must be an object or a boolean");
  for (const auto& [key, v] : schema.get_object()) {
    std::string k(key);
    std::string sub = path + pointer_segment(k);
    if (k == "type") {
      node.types = type_bits(v, path);
    } else if (k == "enum") {
      if (!v.is_array() || v.get_array().empty()) bad(path, "'enum' must be a non-empty list");
      node.enum_values.emplace(v.get_array().begin(), v.get_array().end());
    } else if (k == "const") {
      node.const_value = v;
    } else if (k == "properties") {
      if (!v.is_object()) bad(path, "'properties' must be an object");
      for (const auto& [name, s] : v.get_object()) {
        node.properties.emplace(std::string(name),
                                compile(s, sub + pointer_segment(name), depth + 1));
      }
    } else if (k == "required") {
      if (!v.is_array()) bad(path, "'required' must be a list of property names");
      for (const auto& r : v.get_array()) {
        if (!r.is_string()) bad(path, "'required' must be a list of property names");
        node.required.emplace_back(r.get_string());
      }
    } else if (k == "additionalProperties") {
      if (v.is_bool()) {
        node.additional_allowed = v.get_bool();
      } else {
        node.additional = std::make_unique<Node>(compile(v, sub, depth + 1));
      }
    } else if (k == "items") {
      if (!v.is_object() && !v.is_bool()) bad(path, "'items' must be one schema (not a list)");
      node.items = std::make_unique<Node>(compile(v, sub, depth + 1));
    } else if (k == "minItems") {
      node.min_items = count_of(v, path, "minItems");
    } else if (k == "maxItems") {
      node.max_items = count_of(v, path, "maxItems");
    } else if (k == "minLength") {
      node.min_length = count_of(v, path, "minLength");
    } else if (k == "maxLength") {
      node.max_length = count_of(v, path, "maxLength");
    } else if (k == "minimum" || k == "maximum") {
      if (!v.is_number()) bad(path, "'" + k + "' must be a number");
      (k == "minimum" ? node.minimum : node.maximum) = as_double(v);
    } else if (k == "pattern") {
      if (!v.is_string()) bad(path, "'pattern' must be a string");
      re2::RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_shared<re2::RE2>(std::string(v.get_string()), options);
      if (!re->ok()) bad(path, "'pattern' is not a valid RE2 pattern: " + re->error());
      node.pattern = std::move(re);
    } else if (k == "anyOf") {
      if (!v.is_array() || v.get_array().empty()) bad(path, "'anyOf' must be a non-empty list");
      std::size_t i = 0;
      for (const auto& s : v.get_array()) {
        node.any_of.push_back(compile(s, sub + "/" + std::to_string(i++), depth + 1));
      }
    } else if (k == "description" || k == "title" || k == "default" || k == "examples" ||
               k == "$schema" || k == "$comment") {
      // annotations: nothing to check
    } else {
      bad(path, "unsupported keyword '" + k + "'");
    }
  }
  if (node.min_items && node.max_items && *node.min_items > *node.max_items) {
    bad(path, "'minItems' is larger than 'maxItems'");
  }
  if (node.min_length && node.max_length && *node.min_length > *node.max_length) {
    bad(path, "'minLength' is larger than 'maxLength'");
  }
  return node;
}

bool type_matches(unsigned types, const boost::json::value& v) {
  if (types == 0) return true;
  switch (v.kind()) {
    case boost::json::kind::object:
      return types & kObject;
    case boost::json::kind::array:
      return types & kArray;
    case boost::json::kind::string:
      return types & kString;
    case boost::json::kind::bool_:
      return types & kBoolean;
    case boost::json::kind::null:
      return types & kNull;
    default:
      return (types & kNumber) || ((types & kInteger) && is_integer(v));
  }
}

std::string type_names(unsigned types) {
  std::string out;
  for (const auto& k : kTypes) {
    if (types & k.bit) out += (out.empty() ? "" : " or ") + std::string(k.name);
  }
  return out;
}

std::optional<std::string> check(const Node& n, const boost::json::value& v,
                                 const std::string& path) {
  if (n.never) return where(path) + ": no value is allowed here";
  if (!type_matches(n.types, v)) {
    return where(path) + ": expected " + type_names(n.types) + ", got " + kind_of(v);
  }
  if (n.const_value && !json_equal(*n.const_value, v)) {
    return where(path) + ": expected " + show(*n.const_value) + ", got " + show(v);
  }
  if (n.enum_values) {
    bool found = false;
    for (const auto& e : *n.enum_values) found = found || json_equal(e, v);
    if (!found) {
      std::string list;
      std::size_t shown = 0;
      for (const auto& e : *n.enum_values) {
        if (shown++ == 20) {
          list += ", ...";
          break;
        }
        list += (list.empty() ? "" : ", ") + show(e);
      }
      return where(path) + ": expected one of " + list + ", got " + show(v);
    }
  }
  if (v.is_number()) {
    double d = as_double(v);
    if (n.minimum && d < *n.minimum) {
      return where(path) + ": expected a number >= " + show_number(*n.minimum) + ", got " + show(v);
    }
    if (n.maximum && d > *n.maximum) {
      return where(path) + ": expected a number <= " + show_number(*n.maximum) + ", got " + show(v);
    }
  }
  if (v.is_string()) {
    std::string_view s = v.get_string();
    std::size_t len = characters(s);
    if (n.min_length && len < *n.min_length) {
      return where(path) + ": expected at least " + std::to_string(*n.min_length) +
             " characters, got " + std::to_string(len);
    }
    if (n.max_length && len > *n.max_length) {
      return where(path) + ": expected at most " + std::to_string(*n.max_length) +
             " characters, got " + std::to_string(len);
    }
    if (n.pattern && !re2::RE2::PartialMatch(s, *n.pattern)) {
      return where(path) + ": expected a string matching /" + n.pattern->pattern() + "/, got " +
             show(v);
    }
  }
  if (v.is_array()) {
    const auto& a = v.get_array();
    if (n.min_items && a.size() < *n.min_items) {
      return where(path) + ": expected at least " + std::to_string(*n.min_items) + " items, got " +
             std::to_string(a.size());
    }
    if (n.max_items && a.size() > *n.max_items) {
      return where(path) + ": expected at most " + std::to_string(*n.max_items) + " items, got " +
             std::to_string(a.size());
    }
    if (n.items) {
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (auto e = check(*n.items, a[i], path + "/" + std::to_string(i))) return e;
      }
    }
  }
  if (v.is_object()) {
    const auto& o = v.get_object();
    for (const auto& r : n.required) {
      if (!o.contains(r)) return where(path) + ": missing property \"" + r + "\"";
    }
    for (const auto& [key, item] : o) {
      std::string sub = path + pointer_segment(key);
      if (auto p = n.properties.find(std::string_view(key)); p != n.properties.end()) {
        if (auto e = check(p->second, item, sub)) return e;
      } else if (n.additional) {
        if (auto e = check(*n.additional, item, sub)) return e;
      } else if (!n.additional_allowed) {
        return where(path) + ": property " + show(boost::json::value(key)) + " is not allowed";
      }
    }
  }
  if (!n.any_of.empty()) {
    std::optional<std::string> first;
    for (const auto& alt : n.any_of) {
      auto e = check(alt, v, path);
      if (!e) return std::nullopt;
      if (!first) first = e;
    }
    return where(path) + ": matches none of the " + std::to_string(n.any_of.size()) +
           " choices of anyOf (the first: " + *first + ")";
  }
  return std::nullopt;
}

}  // namespace

JsonSchema JsonSchema::parse(std::string_view schema_json) {
  auto parsed = core::parse_json(schema_json, kMaxSchemaDepth * 2 + 8);
  if (auto* err = std::get_if<core::JsonParseError>(&parsed)) {
    throw PromptError("schema: not valid JSON: " + err->message);
  }
  return from_json(std::get<boost::json::value>(parsed));
}

JsonSchema JsonSchema::from_json(const boost::json::value& schema) {
  JsonSchema out;
  out.root_ = std::make_shared<const Node>(compile(schema, "", 0));
  out.json_ = schema;
  return out;
}

std::optional<std::string> JsonSchema::validate(const boost::json::value& value) const {
  if (!root_) return std::string("no schema");
  return check(*root_, value, "");
}

bool JsonSchema::requires_object() const {
  return root_ && root_->types == kObject;
}

boost::json::value label_schema(std::span<const std::string> labels) {
  boost::json::array names;
  for (const auto& l : labels) names.emplace_back(l);
  return boost::json::object{
      {"type", "object"},
      {"properties",
       boost::json::object{{"label", boost::json::object{{"type", "string"}, {"enum", names}}}}},
      {"required", boost::json::array{"label"}},
      {"additionalProperties", false}};
}

}  // namespace tandem::prompts
