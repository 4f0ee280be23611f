#pragma once
/// A loopback mock of the Anthropic Messages API, good enough for the real Claude Code CLI.
///
/// Point the CLI at it with `ANTHROPIC_BASE_URL=<server::base_url()>` and any
/// `ANTHROPIC_API_KEY`. It answers `HEAD /`, `GET /`, `POST /v1/messages` (streamed as
/// Server-Sent Events when the body says `"stream": true`, plain JSON otherwise) and
/// `POST /v1/messages/count_tokens`; anything else is a 404 and a body that is not JSON a 400,
/// both in Anthropic's error shape.
///
/// ## Directive language
///
/// The reply is steered by directives written in the user text of the latest user message
/// that has text (the prompt). User text means its `text` blocks, less those the CLI adds
/// that open with `<system-reminder>`. Directives in system prompts, assistant turns or
/// tool results are never read.
/// A directive is `[[mock:NAME]]` or `[[mock:NAME=VALUE]]`; several may be combined anywhere
/// in the prompt. An unknown or malformed directive is answered with a 400
/// `invalid_request_error` naming it, so a typo never passes silently.
///
/// | directive                      | effect                                                   |
/// |--------------------------------|----------------------------------------------------------|
/// | `[[mock:delay_ms=500]]`        | wait 500 ms before answering (also before an error)      |
/// | `[[mock:chunk_delay_ms=50]]`   | wait 50 ms between streamed events (a slow stream)       |
/// | `[[mock:status=529]]`          | answer with that HTTP status and Anthropic's error body: |
/// |                                | 400 invalid_request_error, 401 authentication_error,     |
/// |                                | 403 permission_error, 404 not_found_error,               |
/// |                                | 413 request_too_large, 429 rate_limit_error,             |
/// |                                | 529 overloaded_error, any other 5xx api_error            |
/// | `[[mock:status_times=2]]`      | with `status`: fail only the first 2 requests carrying   |
/// |                                | this prompt (per server), then answer normally           |
/// | `[[mock:retry_after=1]]`       | add a `retry-after: 1` header (seconds) to the error     |
/// | `[[mock:usage=1000/200]]`      | report 1000 input and 200 output tokens                  |
/// | `[[mock:echo]]`                | reply with the whole user text verbatim, directives too  |
/// | `[[mock:reply=some text]]`     | reply with `some text` (up to the first `]]`)            |
/// | `[[mock:tool_use=Bash {"command":"true"}]]` | call the tool `Bash` with that JSON input |
/// |                                | (input `{}` when left out); `stop_reason: tool_use`      |
/// | `[[mock:structured={"k":"v"}]]`| when the request offers the CLI's `--json-schema` tool   |
/// |                                | (`StructuredOutput`), call it with that JSON input       |
/// | `[[mock:limit_until=EPOCH]]`   | a used-up subscription window: before EPOCH (Unix        |
/// |                                | seconds, server clock) a 429 rate_limit_error with the   |
/// |                                | unified headers below; from EPOCH on a normal reply      |
/// |                                | that says `status: allowed`                              |
/// | `[[mock:limit_claim=seven_day]]` | the limit `limit_until` and `warning` speak of:        |
/// |                                | five_hour (default), seven_day, seven_day_opus,          |
/// |                                | seven_day_sonnet; anything else is a 400                 |
/// | `[[mock:warning=0.95]]`        | a normal reply that says `status: allowed_warning` at    |
/// |                                | that utilization (0..1)                                  |
/// | `[[mock:for_credential=FP]]`   | `limit_until`, `status` and `warning` act only on        |
/// |                                | requests whose key or token has that fingerprint (as     |
/// |                                | the log's `credential`); others get a normal reply       |
///
/// The unified headers (each name prefixed `anthropic-ratelimit-unified-`; WIN is `5h` for
/// five_hour, `7d` for the seven_day claims, the only weekly window the CLI reads):
/// - rejected (429 before EPOCH): `status: rejected`, `reset: EPOCH`,
///   `representative-claim: CLAIM`, `WIN-utilization: 1.0`, `WIN-reset: EPOCH`;
/// - allowed (200 from EPOCH on): `status: allowed`, `reset: NOW + window` (5 h, or 7 days);
/// - warning (200): `status: allowed_warning`, `reset: NOW+3600`, `representative-claim: CLAIM`,
///   `WIN-utilization: U`, `WIN-surpassed-threshold: min(0.9, U)`, `WIN-reset: NOW+3600`.
/// The CLI turns these into `rate_limit_event`s and "You've hit your session limit · resets
/// …" only for OAuth subscribers, not for `ANTHROPIC_API_KEY` runs. A limit rejects before
/// `status` is looked at; `retry_after` applies to its 429 too; `warning` wins over the
/// allowed headers; the headers go on 200 replies only (never on a `status` error).
///
/// Without a directive the reply is `Answer: ` followed by the first 200 characters (code
/// points) of the user text with the directives removed and surrounding blanks trimmed.
/// Precedence of the reply text: `reply` over `echo` over the default.
///
/// With `structured` the CLI ends the run right after the tool call: its result JSON holds
/// the input as `structured_output` (and as a string in `result`); no follow-up request.
/// A `tool_use` under `--max-turns 1` ends the run with `subtype: error_max_turns`.
///
/// A tool call is made once: when the last user message carries a `tool_result`, the
/// directives of the latest user text still apply (delay, status, usage), but the reply is
/// a text ending the turn: the `reply` text if given, else `Done.`.
///
/// Default usage: input tokens = bytes of the user text / 4, output tokens = bytes of the
/// reply (text plus tool input JSON) / 4, each at least 1. The CLI prices opus-like models
/// at $5 / $25 per million tokens in / out.
///
/// Unless `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` is set, the CLI also asks, once per
/// session, for a short title: a request whose user text opens with `<session>` (the prompt,
/// as data) and whose `output_config.format` JSON schema asks for a `title` field (its
/// system prompt says "Generate a concise, sentence-case title"). Such requests are
/// answered at once with `{"title":"<first words of the prompt>"}`, directives are ignored,
/// and the log marks them `is_title_request`.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace claude_pool::mock_api {

/// How a mock server binds and what it records.
struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0 = pick a free port
  std::string model = "claude-opus-4-8";  ///< reported when a request names no model
  /// If set: append one JSON line per request, file created 0600, with the fields of
  /// logged_request (`at_ms`, `method`, `path`, `session_header`, `is_title_request`,
  /// `credential`, `status`, `body`).
  std::string log_path;
  std::size_t threads = 64;  ///< worker threads; each open keep-alive connection holds one
};

/// One request as the server saw it.
struct logged_request {
  std::int64_t at_ms = 0;  ///< milliseconds since the Unix epoch
  std::string method;
  std::string path;  ///< without the query string
  std::string session_header;  ///< x-claude-code-session-id
  nlohmann::json body;  ///< parsed JSON body; a string if not JSON; null if empty
  bool is_title_request = false;
  std::string credential;  ///< credential_fingerprint() of the key or token presented
  int status = 0;  ///< the HTTP status decided on arrival (stop() during a delay makes it 529)
};

/// A short, non-secret name for a credential, so a test can count requests per key without
/// logging it: the first 8 hex digits of its 64-bit FNV-1a hash; "none" when empty.
std::string credential_fingerprint(std::string_view credential);

/// The mock server. Serves on a background thread between start() and stop().
class server {
public:
  explicit server(options opts = {});
  ~server();  ///< stops
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and serves on a background thread; throws std::runtime_error naming host:port if
  /// the bind fails.
  void start();
  /// The bound port (valid after start()).
  std::uint16_t port() const;
  /// `http://HOST:PORT` without `/v1`: what ANTHROPIC_BASE_URL wants.
  std::string base_url() const;
  /// Stops serving; cuts short pending delays. Idempotent.
  void stop();
  /// A thread-safe snapshot of every request so far.
  std::vector<logged_request> requests() const;
  /// Blocks until stop() has been called and the server thread has ended.
  void wait_until_stopped();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace claude_pool::mock_api
