#include "tandem/http/message.h"

#include <algorithm>

namespace tandem::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view find_header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

void CancelSignal::cancel(Reason reason) {
  if (cancelled_) return;
  cancelled_ = true;
  reason_ = reason;
  auto hooks = std::move(hooks_);
  hooks_.clear();
  for (auto& [id, hook] : hooks) hook();
}

std::size_t CancelSignal::add_hook(std::function<void()> hook) {
  if (cancelled_) {  // too late to wait for it: cancel the new work at once
    hook();
    return 0;
  }
  std::size_t id = ++next_id_;
  hooks_.emplace_back(id, std::move(hook));
  return id;
}

void CancelSignal::remove_hook(std::size_t id) {
  std::erase_if(hooks_, [id](const auto& entry) { return entry.first == id; });
}

CancelHook::CancelHook(CancelSignal* signal, std::function<void()> hook) : signal_(signal) {
  if (signal_ != nullptr) id_ = signal_->add_hook(std::move(hook));
}

CancelHook::~CancelHook() {
  if (signal_ != nullptr) signal_->remove_hook(id_);
}

}  // namespace tandem::http
