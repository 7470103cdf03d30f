#pragma once
// llama.cpp's process-wide set-up: backend initialisation once, and its log lines routed into
// Tandem's JSON log (warnings and errors only; llama.cpp's info chatter is dropped).
namespace tandem::llm {

// Safe to call from any thread, any number of times.
void ensure_backend();

}  // namespace tandem::llm
