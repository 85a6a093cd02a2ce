#pragma once

/// \file
/// The one way a URL is made fit for a log line.

#include <string>
#include <string_view>

namespace planner {

/// `text` with the password of every `scheme://user:password@host` URL in it replaced by
/// `***`, so the text may be logged: `redis://app:s3cret@h/0` becomes `redis://app:***@h/0`.
/// User info without a `:` may itself be a secret (Redis's `redis://password@host`, an access
/// token) and becomes `:***`; the user name before a `:` is kept. The text may hold any number
/// of URLs (an error message, a model spec such as `ollama/m@http://u:pw@gpu:11434`); each
/// one's authority ends at the first `/`, `?`, `#` or space after its `://`. Nothing else in
/// the text changes.
std::string redact_url(std::string_view text);

}  // namespace planner
