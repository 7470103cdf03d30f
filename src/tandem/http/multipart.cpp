#include "tandem/http/multipart.h"

#include <algorithm>
#include <cctype>

namespace tandem::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The value of parameter `key` in "type; a=1; b=\"two\"" (quotes removed), or nullopt.
std::optional<std::string> parameter(std::string_view header, std::string_view key) {
  std::size_t pos = header.find(';');
  while (pos != std::string_view::npos) {
    std::string_view rest = header.substr(pos + 1);
    std::size_t next = std::string_view::npos;
    // A quoted value may contain ';': find the parameter's end outside quotes.
    bool quoted = false;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == '"' && (i == 0 || rest[i - 1] != '\\')) quoted = !quoted;
      if (rest[i] == ';' && !quoted) {
        next = i;
        break;
      }
    }
    std::string_view param = trim(rest.substr(0, next));
    std::size_t eq = param.find('=');
    if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), key)) {
      std::string_view value = trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        std::string out;
        for (std::size_t i = 1; i + 1 < value.size(); ++i) {
          if (value[i] == '\\' && i + 2 < value.size()) ++i;
          out.push_back(value[i]);
        }
        return out;
      }
      return std::string(value);
    }
    pos = next == std::string_view::npos ? next : pos + 1 + next;
  }
  return std::nullopt;
}

void set(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

// The next delimiter "\r\n--boundary" at or after `from` that is a real delimiter line: followed
// by "--" (the close) or by optional spaces/tabs and CRLF. Data may contain the boundary text
// followed by anything else.
std::size_t find_delimiter(std::string_view body, std::string_view inner, std::size_t from) {
  for (std::size_t pos = body.find(inner, from); pos != std::string_view::npos;
       pos = body.find(inner, pos + 1)) {
    std::size_t after = pos + inner.size();
    if (body.substr(after, 2) == "--") return pos;
    while (after < body.size() && (body[after] == ' ' || body[after] == '\t')) ++after;
    if (body.substr(after, 2) == "\r\n") return pos;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  if (!iequals(type, "multipart/form-data")) return std::nullopt;
  auto boundary = parameter(content_type, "boundary");
  // RFC 2046: 1 to 70 characters.
  if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
  return boundary;
}

std::optional<std::vector<FormPart>> parse_multipart(std::string_view body,
                                                     std::string_view boundary, std::string* why,
                                                     std::size_t max_parts) {
  const std::string delimiter = "--" + std::string(boundary);
  const std::string inner = "\r\n" + delimiter;
  // The first delimiter opens the body, or follows a preamble and its CRLF.
  std::size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    pos = find_delimiter(body, inner, 0);
    if (pos == std::string_view::npos) {
      set(why, "multipart body has no boundary line '" + delimiter + "'");
      return std::nullopt;
    }
    pos += inner.size();
  }
  std::vector<FormPart> parts;
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") {
      set(why, "multipart boundary line is not followed by CRLF");
      return std::nullopt;
    }
    pos += 2;
    std::size_t headers_end = body.find("\r\n\r\n", pos);
    // A part with no headers at all starts directly with the blank line.
    bool no_headers = body.substr(pos, 2) == "\r\n";
    if (headers_end == std::string_view::npos && !no_headers) {
      set(why, "multipart part " + std::to_string(parts.size() + 1) + " has no end of headers");
      return std::nullopt;
    }
    std::string_view headers =
        no_headers ? std::string_view{} : body.substr(pos, headers_end - pos);
    std::size_t data_start = no_headers ? pos + 2 : headers_end + 4;
    std::size_t data_end = find_delimiter(body, inner, data_start);
    if (data_end == std::string_view::npos) {
      set(why, "multipart body ends without its closing boundary");
      return std::nullopt;
    }
    if (parts.size() == max_parts) {
      set(why, "multipart body has more than " + std::to_string(max_parts) + " parts");
      return std::nullopt;
    }
    FormPart part;
    part.data = body.substr(data_start, data_end - data_start);
    bool has_disposition = false;
    while (!headers.empty()) {
      std::size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
      std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "content-disposition")) {
        has_disposition = true;
        part.name = parameter(value, "name").value_or("");
        part.filename = parameter(value, "filename").value_or("");
      } else if (iequals(name, "content-type")) {
        part.content_type = std::string(value);
      }
    }
    if (!has_disposition || part.name.empty()) {
      set(why, "multipart part " + std::to_string(parts.size() + 1) +
                   " has no Content-Disposition with a name");
      return std::nullopt;
    }
    parts.push_back(std::move(part));
    pos = data_end + inner.size();
  }
}

}  // namespace tandem::http
