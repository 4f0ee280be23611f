#include "mock_api/mock_api_server.hpp"

#include "mock_api/directives.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;
namespace mock = claude_pool::mock_api;

// ---- a tiny HTTP/1.1 client over a POSIX socket (httplib is private to the mock) ----------

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string decode_chunked(const std::string& raw) {
  std::string out;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    auto eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    auto size = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    if (size == 0) break;
    out += raw.substr(eol + 2, size);
    pos = eol + 2 + size + 2;
  }
  return out;
}

// Throws instead of asserting: it also runs on other threads, where Catch2 must not be used.
http_reply request(std::uint16_t port, const std::string& method, const std::string& target,
                   const std::string& body = {}, const std::string& extra_headers = {}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  timeval timeout{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect() failed");
  }
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    "Connection: close\r\nContent-Type: application/json\r\n" + extra_headers +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t sent = 0; sent < out.size();) {
    auto n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("send() failed");
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    raw.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  http_reply reply;
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) throw std::runtime_error("no HTTP reply: " + raw);
  std::sscanf(raw.c_str(), "HTTP/1.1 %d", &reply.status);
  for (auto pos = raw.find("\r\n") + 2; pos < head_end;) {
    auto eol = raw.find("\r\n", pos);
    auto line = raw.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos)
      reply.headers[lower(line.substr(0, colon))] = line.substr(line.find_first_not_of(' ', colon + 1));
    pos = eol + 2;
  }
  reply.body = raw.substr(head_end + 4);
  if (lower(reply.headers["transfer-encoding"]) == "chunked") reply.body = decode_chunked(reply.body);
  return reply;
}

http_reply post_messages(const mock::server& s, const json& body, const std::string& headers = {}) {
  return request(s.port(), "POST", "/v1/messages?beta=true", body.dump(), headers);
}

json user_prompt(const std::string& text, bool stream = false) {
  return {{"model", "claude-opus-4-8"},
          {"max_tokens", 1024},
          {"stream", stream},
          {"system", json::array({{{"type", "text"}, {"text", "You are a Claude agent."}}})},
          {"messages",
           json::array({{{"role", "user"},
                         {"content", json::array({{{"type", "text"},
                                                   {"text", "<system-reminder>\nctx\n"
                                                            "</system-reminder>\n\n"}},
                                                  {{"type", "text"}, {"text", text}}})}}})}};
}

struct sse_event {
  std::string name;
  json data;
};

std::vector<sse_event> parse_events(const std::string& body) {
  std::vector<sse_event> events;
  std::size_t pos = 0;
  for (auto end = body.find("\n\n"); end != std::string::npos; end = body.find("\n\n", pos)) {
    auto block = body.substr(pos, end - pos);
    pos = end + 2;
    auto nl = block.find('\n');
    REQUIRE(block.rfind("event: ", 0) == 0);
    REQUIRE(block.compare(nl + 1, 6, "data: ") == 0);
    events.push_back({block.substr(7, nl - 7), json::parse(block.substr(nl + 7))});
  }
  return events;
}

std::string streamed_text(const std::vector<sse_event>& events) {
  std::string text;
  for (const auto& e : events)
    if (e.name == "content_block_delta" && e.data["delta"]["type"] == "text_delta")
      text += e.data["delta"]["text"].get<std::string>();
  return text;
}

std::string message_text(const http_reply& reply) {
  auto message = json::parse(reply.body);
  return message["content"][0]["text"].get<std::string>();
}

}  // namespace

TEST_CASE("a started mock binds 127.0.0.1 on a non-zero port and answers HEAD and GET /",
          "[mock_api]") {
  mock::server s;
  s.start();
  CHECK(s.port() != 0);
  CHECK(s.base_url() == "http://127.0.0.1:" + std::to_string(s.port()));
  CHECK(request(s.port(), "HEAD", "/").status == 200);
  CHECK(request(s.port(), "GET", "/").status == 200);
}

TEST_CASE("binding a port that is taken throws an error naming host and port", "[mock_api]") {
  mock::server first;
  first.start();
  mock::options opts;
  opts.port = first.port();
  mock::server second{opts};
  try {
    second.start();
    FAIL("start() did not throw");
  } catch (const std::runtime_error& e) {
    CHECK(std::string{e.what()}.find("127.0.0.1:" + std::to_string(first.port())) !=
          std::string::npos);
  }
}

TEST_CASE("a streamed answer has every SSE event in order and the default reply text",
          "[mock_api]") {
  mock::server s;
  s.start();
  const std::string prompt =
      "Please summarise the following long paragraph about actor pools and supervision trees";
  auto reply = post_messages(s, user_prompt(prompt + " [[mock:delay_ms=1]]", true));
  REQUIRE(reply.status == 200);
  CHECK(reply.headers["content-type"].rfind("text/event-stream", 0) == 0);
  auto events = parse_events(reply.body);
  std::vector<std::string> names;
  for (const auto& e : events)
    if (e.name != "ping" && (names.empty() || names.back() != e.name)) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"message_start", "content_block_start",
                                          "content_block_delta", "content_block_stop",
                                          "message_delta", "message_stop"});
  auto deltas = std::count_if(events.begin(), events.end(),
                              [](const sse_event& e) { return e.name == "content_block_delta"; });
  CHECK(deltas >= 2);  // long text comes in several chunks
  CHECK(streamed_text(events) == "Answer: " + prompt);
  for (const auto& e : events) CHECK(e.data["type"] == e.name);
  CHECK(events.front().data["message"]["role"] == "assistant");
  CHECK(events.front().data["message"]["usage"]["input_tokens"].get<int>() >= 1);
  auto delta = std::find_if(events.begin(), events.end(),
                            [](const sse_event& e) { return e.name == "message_delta"; });
  CHECK(delta->data["delta"]["stop_reason"] == "end_turn");
  CHECK(delta->data["usage"]["output_tokens"].get<int>() >= 1);
}

TEST_CASE("a request without stream gets one plain JSON message", "[mock_api]") {
  mock::server s;
  s.start();
  auto reply = post_messages(s, user_prompt("Hi [[mock:reply=Hello there]]"));
  REQUIRE(reply.status == 200);
  auto message = json::parse(reply.body);
  CHECK(message["type"] == "message");
  CHECK(message["stop_reason"] == "end_turn");
  CHECK(message["content"][0]["text"] == "Hello there");
}

TEST_CASE("a status directive answers with that status and Anthropic's error body", "[mock_api]") {
  mock::server s;
  s.start();
  const std::vector<std::pair<int, std::string>> cases = {{401, "authentication_error"},
                                                          {429, "rate_limit_error"},
                                                          {529, "overloaded_error"},
                                                          {500, "api_error"},
                                                          {403, "permission_error"}};
  for (const auto& [status, type] : cases) {
    auto reply = post_messages(
        s, user_prompt("Hello [[mock:status=" + std::to_string(status) + "]]", true));
    CHECK(reply.status == status);
    auto body = json::parse(reply.body);
    CHECK(body["type"] == "error");
    CHECK(body["error"]["type"] == type);
    CHECK(body["error"]["message"].is_string());
    CHECK(reply.headers.count("retry-after") == 0);
  }
  auto limited = post_messages(s, user_prompt("[[mock:status=429]] [[mock:retry_after=2]]"));
  CHECK(limited.status == 429);
  CHECK(limited.headers["retry-after"] == "2");
}

TEST_CASE("a usage directive is reported in the streamed and the plain answer", "[mock_api]") {
  mock::server s;
  s.start();
  auto events = parse_events(post_messages(s, user_prompt("x [[mock:usage=1000/200]]", true)).body);
  CHECK(events.front().data["message"]["usage"]["input_tokens"] == 1000);
  auto delta = std::find_if(events.begin(), events.end(),
                            [](const sse_event& e) { return e.name == "message_delta"; });
  CHECK(delta->data["usage"]["output_tokens"] == 200);
  auto plain = json::parse(post_messages(s, user_prompt("x [[mock:usage=7/9]]")).body);
  CHECK(plain["usage"]["input_tokens"] == 7);
  CHECK(plain["usage"]["output_tokens"] == 9);
}

TEST_CASE("echo returns the user text verbatim, UTF-8, quotes and directives included",
          "[mock_api]") {
  mock::server s;
  s.start();
  const std::string text =
      "[[mock:echo]] Grüße «quoted» \"double\" 'single' \\ back\nslash 日本語 🎉 and more "
      "text so that the reply spans several forty-eight byte chunks 日本語日本語日本語\n";
  auto events = parse_events(post_messages(s, user_prompt(text, true)).body);
  CHECK(streamed_text(events) == text);
  CHECK(message_text(post_messages(s, user_prompt(text))) == text);
}

TEST_CASE("directives in system prompts, assistant turns and tool results are ignored",
          "[mock_api]") {
  mock::server s;
  s.start();
  auto body = user_prompt("Plain prompt");
  body["system"] = "System [[mock:status=529]]";
  body["messages"] = json::array(
      {{{"role", "user"}, {"content", "Plain prompt"}},
       {{"role", "assistant"}, {"content", "[[mock:status=500]]"}},
       {{"role", "user"},
        {"content", json::array({{{"type", "tool_result"}, {"tool_use_id", "t1"},
                                  {"content", "[[mock:status=401]]"}}})}}});
  auto reply = post_messages(s, body);
  CHECK(reply.status == 200);
  CHECK(message_text(reply) == "Done.");
}

TEST_CASE("a tool_use directive calls the tool once and ends the turn after its result",
          "[mock_api]") {
  mock::server s;
  s.start();
  const std::string prompt = R"(List [[mock:tool_use=Bash {"command":"echo hi"}]])";
  auto events = parse_events(post_messages(s, user_prompt(prompt, true)).body);
  auto start = std::find_if(events.begin(), events.end(),
                            [](const sse_event& e) { return e.name == "content_block_start"; });
  CHECK(start->data["content_block"]["type"] == "tool_use");
  CHECK(start->data["content_block"]["name"] == "Bash");
  std::string input;
  for (const auto& e : events)
    if (e.name == "content_block_delta") input += e.data["delta"]["partial_json"].get<std::string>();
  CHECK(json::parse(input) == json{{"command", "echo hi"}});
  auto delta = std::find_if(events.begin(), events.end(),
                            [](const sse_event& e) { return e.name == "message_delta"; });
  CHECK(delta->data["delta"]["stop_reason"] == "tool_use");

  auto follow_up = user_prompt(prompt);
  auto tool_use_id = start->data["content_block"]["id"];
  follow_up["messages"].push_back(
      {{"role", "assistant"},
       {"content", json::array({{{"type", "tool_use"}, {"id", tool_use_id}, {"name", "Bash"},
                                 {"input", {{"command", "echo hi"}}}}})}});
  follow_up["messages"].push_back(
      {{"role", "user"},
       {"content", json::array({{{"type", "tool_result"}, {"tool_use_id", tool_use_id},
                                 {"content", "hi"}}})}});
  auto last = json::parse(post_messages(s, follow_up).body);
  CHECK(last["stop_reason"] == "end_turn");
  CHECK(last["content"][0]["text"] == "Done.");
}

TEST_CASE("a structured directive calls the StructuredOutput tool when the request offers it",
          "[mock_api]") {
  mock::server s;
  s.start();
  auto body = user_prompt(R"(Give [[mock:structured={"k":"v","n":[[1]]}]])");
  auto plain = json::parse(post_messages(s, body).body);
  CHECK(plain["content"][0]["type"] == "text");  // not offered: answers in words
  body["tools"] = json::array({{{"name", "StructuredOutput"},
                                {"description", "return the final response as structured JSON"},
                                {"input_schema", {{"type", "object"}}}}});
  auto message = json::parse(post_messages(s, body).body);
  CHECK(message["stop_reason"] == "tool_use");
  CHECK(message["content"][0]["type"] == "tool_use");
  CHECK(message["content"][0]["name"] == "StructuredOutput");
  CHECK(message["content"][0]["input"] == json{{"k", "v"}, {"n", {{1}}}});
}

TEST_CASE("the CLI's title request is detected, answered with a title and logged as such",
          "[mock_api]") {
  mock::server s;
  s.start();
  json body = {
      {"model", "claude-opus-4-8"},
      {"stream", true},
      {"system", json::array({{{"type", "text"},
                               {"text", "Generate a concise, sentence-case title (3-7 words) "
                                        "... Return JSON with a single \"title\" field."}}})},
      {"output_config",
       {{"format",
         {{"type", "json_schema"},
          {"schema", {{"type", "object"}, {"properties", {{"title", {{"type", "string"}}}}}}}}}}},
      {"tools", json::array()},
      {"messages", json::array({{{"role", "user"},
                                 {"content", "<session>\nFix the login button "
                                             "[[mock:status=529]] [[mock:delay_ms=5000]]\n"
                                             "</session>\n\nWrite the title in the language"}}})}};
  const auto began = std::chrono::steady_clock::now();
  auto reply = post_messages(s, body, "x-claude-code-session-id: abc\r\n");
  CHECK(std::chrono::steady_clock::now() - began < std::chrono::seconds{2});
  REQUIRE(reply.status == 200);
  auto title = json::parse(streamed_text(parse_events(reply.body)));
  CHECK(title["title"] == "Fix the login button");
  auto ordinary = post_messages(s, user_prompt("<session> not a title request"));
  CHECK(ordinary.status == 200);
  auto log = s.requests();
  REQUIRE(log.size() == 2);
  CHECK(log[0].is_title_request);
  CHECK(log[0].session_header == "abc");
  CHECK_FALSE(log[1].is_title_request);
}

TEST_CASE("the request log records method, path, session header and body, also as a 0600 file",
          "[mock_api]") {
  const std::string path = "/tmp/claude_pool_mock_log_" + std::to_string(::getpid()) + ".jsonl";
  std::remove(path.c_str());
  {
    mock::options opts;
    opts.log_path = path;
    mock::server s{opts};
    s.start();
    request(s.port(), "HEAD", "/");
    post_messages(s, user_prompt("Logged prompt"), "x-claude-code-session-id: sid-1\r\n");
    auto log = s.requests();
    REQUIRE(log.size() == 2);
    CHECK(log[0].method == "HEAD");
    CHECK(log[1].method == "POST");
    CHECK(log[1].path == "/v1/messages");
    CHECK(log[1].session_header == "sid-1");
    CHECK(log[1].body["messages"][0]["content"][1]["text"] == "Logged prompt");
    CHECK(log[1].at_ms > 0);
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::ifstream in{path};
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  REQUIRE(lines.size() == 2);
  CHECK(lines[1]["session_header"] == "sid-1");
  CHECK(lines[1]["body"]["messages"][0]["content"][1]["text"] == "Logged prompt");
  std::remove(path.c_str());
}

TEST_CASE("a malformed JSON body and an unknown directive are answered 400", "[mock_api]") {
  mock::server s;
  s.start();
  auto reply = request(s.port(), "POST", "/v1/messages", "{\"messages\": [");
  CHECK(reply.status == 400);
  CHECK(json::parse(reply.body)["error"]["type"] == "invalid_request_error");
  auto unknown = post_messages(s, user_prompt("Hi [[mock:stauts=529]]"));
  CHECK(unknown.status == 400);
  CHECK(json::parse(unknown.body)["error"]["message"].get<std::string>().find("stauts") !=
        std::string::npos);
  CHECK(s.requests().size() == 2);
}

TEST_CASE("unknown paths get a 404 and count_tokens a plausible count", "[mock_api]") {
  mock::server s;
  s.start();
  auto missing = request(s.port(), "GET", "/v1/models");
  CHECK(missing.status == 404);
  auto error = json::parse(missing.body);
  CHECK(error["type"] == "error");
  CHECK(error["error"]["type"] == "not_found_error");
  auto count = request(s.port(), "POST", "/v1/messages/count_tokens?beta=true",
                       user_prompt(std::string(400, 'a')).dump());
  CHECK(count.status == 200);
  CHECK(json::parse(count.body)["input_tokens"].get<int>() >= 100);
}

TEST_CASE("several clients at once are all answered while delays overlap", "[mock_api]") {
  mock::server s;
  s.start();
  const auto began = std::chrono::steady_clock::now();
  std::vector<std::future<http_reply>> replies;
  for (int i = 0; i < 12; ++i)
    replies.push_back(std::async(std::launch::async, [&s, i] {
      return post_messages(s, user_prompt("n" + std::to_string(i) + " [[mock:delay_ms=300]]", true));
    }));
  for (int i = 0; i < 12; ++i) {
    auto reply = replies[static_cast<std::size_t>(i)].get();
    CHECK(reply.status == 200);
    CHECK(streamed_text(parse_events(reply.body)) == "Answer: n" + std::to_string(i));
  }
  const auto took = std::chrono::steady_clock::now() - began;
  CHECK(took >= std::chrono::milliseconds{300});
  CHECK(took < std::chrono::milliseconds{3000});  // serially it would take 3.6 s
  CHECK(s.requests().size() == 12);
}

TEST_CASE("stop() cuts a pending delay short and ends wait_until_stopped", "[mock_api]") {
  mock::server s;
  s.start();
  auto pending = std::async(std::launch::async, [&s] {
    return post_messages(s, user_prompt("[[mock:delay_ms=60000]]"));
  });
  auto waiter = std::async(std::launch::async, [&s] { s.wait_until_stopped(); });
  while (s.requests().empty()) std::this_thread::sleep_for(std::chrono::milliseconds{5});
  const auto began = std::chrono::steady_clock::now();
  s.stop();
  CHECK(waiter.wait_for(std::chrono::seconds{10}) == std::future_status::ready);
  CHECK(pending.wait_for(std::chrono::seconds{10}) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - began < std::chrono::seconds{10});
}

TEST_CASE("the directive parser combines directives and strips them from the text", "[mock_api]") {
  using claude_pool::mock_api::detail::parse_directives;
  auto parsed = parse_directives(
      "  Hello [[mock:delay_ms=5]]world[[mock:usage=10/20]] [[mock:echo]]"
      R"([[mock:tool_use=Read:{"file_path":"/a]]b"}]] [[mock:reply=x = y]]  )");
  const auto& d = parsed.found;
  CHECK(d.problems.empty());
  CHECK(d.delay == std::chrono::milliseconds{5});
  CHECK(d.input_tokens == 10);
  CHECK(d.output_tokens == 20);
  CHECK(d.echo);
  REQUIRE(d.tool_use);
  CHECK(d.tool_use->name == "Read");
  CHECK(d.tool_use->input["file_path"] == "/a]]b");
  CHECK(d.reply == "x = y");
  CHECK(parsed.stripped == "Hello world");
  CHECK(parse_directives("[[mock:status=abc]]").found.problems.size() == 1);
  CHECK(parse_directives("[[mock:usage=10]]").found.problems.size() == 1);
  CHECK(parse_directives("[[mock:delay_ms=5").found.problems.size() == 1);
  CHECK(parse_directives("no directives [[at all]]").stripped == "no directives [[at all]]");
}

namespace {

constexpr std::int64_t far_future = 4102444800;  // 2100-01-01: the limit still holds
constexpr std::int64_t long_past = 1000000000;   // 2001-09-09: the limit has lifted
const std::string unified = "anthropic-ratelimit-unified-";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A header holding Unix seconds is `expected` give or take the test's own running time.
void check_time_header(const http_reply& reply, const std::string& name, std::int64_t expected) {
  INFO(name);
  REQUIRE(reply.headers.count(name) == 1);
  const auto value = std::stoll(reply.headers.at(name));
  CHECK(value >= expected - 5);
  CHECK(value <= expected + 5);
}

std::size_t unified_header_count(const http_reply& reply) {
  return static_cast<std::size_t>(
      std::count_if(reply.headers.begin(), reply.headers.end(),
                    [](const auto& header) { return header.first.rfind(unified, 0) == 0; }));
}

}  // namespace

TEST_CASE("before limit_until every request is a 429 with the unified rejected headers",
          "[mock_api]") {
  mock::server s;
  s.start();
  const auto prompt = "Work [[mock:limit_until=" + std::to_string(far_future) + "]]";
  for (bool stream : {false, true}) {
    auto reply = post_messages(s, user_prompt(prompt, stream));
    CHECK(reply.status == 429);
    auto body = json::parse(reply.body);
    CHECK(body["type"] == "error");
    CHECK(body["error"]["type"] == "rate_limit_error");
    CHECK(reply.headers[unified + "status"] == "rejected");
    CHECK(reply.headers[unified + "reset"] == std::to_string(far_future));
    CHECK(reply.headers[unified + "representative-claim"] == "five_hour");
    CHECK(reply.headers[unified + "5h-utilization"] == "1.0");
    CHECK(reply.headers[unified + "5h-reset"] == std::to_string(far_future));
    CHECK(unified_header_count(reply) == 5);
    CHECK(reply.headers.count("retry-after") == 0);
  }
  auto with_retry = post_messages(s, user_prompt(prompt + " [[mock:retry_after=3]]"));
  CHECK(with_retry.status == 429);
  CHECK(with_retry.headers["retry-after"] == "3");
  // A limit is checked before `status`: the account is out, whatever else was asked.
  CHECK(post_messages(s, user_prompt(prompt + " [[mock:status=529]]")).status == 429);
}

TEST_CASE("from limit_until on the reply is normal and says the limit is allowed again",
          "[mock_api]") {
  mock::server s;
  s.start();
  auto reply =
      post_messages(s, user_prompt("Hi [[mock:limit_until=" + std::to_string(long_past) + "]]"));
  REQUIRE(reply.status == 200);
  CHECK(message_text(reply) == "Answer: Hi");
  CHECK(reply.headers[unified + "status"] == "allowed");
  check_time_header(reply, unified + "reset", unix_now() + 5 * 3600);  // a fresh window
  CHECK(unified_header_count(reply) == 2);
  const auto weekly_prompt = "Hi [[mock:limit_claim=seven_day]] [[mock:limit_until=" +
                             std::to_string(long_past) + "]]";
  auto weekly = post_messages(s, user_prompt(weekly_prompt, true));
  REQUIRE(weekly.status == 200);
  CHECK(streamed_text(parse_events(weekly.body)) == "Answer: Hi");
  check_time_header(weekly, unified + "reset", unix_now() + 7 * 24 * 3600);
  // Without a limit directive the mock says nothing about limits.
  CHECK(unified_header_count(post_messages(s, user_prompt("Hi"))) == 0);
}

TEST_CASE("limit_claim names the claim and its window, an unknown claim is a 400 naming it",
          "[mock_api]") {
  mock::server s;
  s.start();
  const auto until = std::to_string(far_future);
  for (const std::string claim : {"seven_day", "seven_day_opus", "seven_day_sonnet"}) {
    INFO(claim);
    auto reply = post_messages(s, user_prompt("[[mock:limit_claim=" + claim +
                                              "]] [[mock:limit_until=" + until + "]]"));
    CHECK(reply.status == 429);
    CHECK(reply.headers[unified + "status"] == "rejected");
    CHECK(reply.headers[unified + "representative-claim"] == claim);
    CHECK(reply.headers[unified + "reset"] == until);
    CHECK(reply.headers[unified + "7d-utilization"] == "1.0");
    CHECK(reply.headers[unified + "7d-reset"] == until);
    CHECK(reply.headers.count(unified + "5h-utilization") == 0);
  }
  auto five_hour = post_messages(
      s, user_prompt("[[mock:limit_claim=five_hour]] [[mock:limit_until=" + until + "]]"));
  CHECK(five_hour.headers[unified + "representative-claim"] == "five_hour");
  CHECK(five_hour.headers[unified + "5h-reset"] == until);

  auto bad = post_messages(s, user_prompt("[[mock:limit_claim=monthly]] [[mock:limit_until=" +
                                          until + "]]"));
  CHECK(bad.status == 400);
  auto error = json::parse(bad.body)["error"];
  CHECK(error["type"] == "invalid_request_error");
  CHECK(error["message"].get<std::string>().find("monthly") != std::string::npos);
  CHECK(post_messages(s, user_prompt("[[mock:limit_claim]]")).status == 400);
  CHECK(post_messages(s, user_prompt("[[mock:limit_until=soon]]")).status == 400);
  CHECK(post_messages(s, user_prompt("[[mock:limit_until=-5]]")).status == 400);
}

TEST_CASE("warning answers normally with the allowed_warning headers the CLI reports",
          "[mock_api]") {
  mock::server s;
  s.start();
  auto reply = post_messages(s, user_prompt("Hi [[mock:warning=0.95]]", true));
  REQUIRE(reply.status == 200);
  CHECK(streamed_text(parse_events(reply.body)) == "Answer: Hi");
  CHECK(reply.headers[unified + "status"] == "allowed_warning");
  CHECK(reply.headers[unified + "representative-claim"] == "five_hour");
  CHECK(reply.headers[unified + "5h-utilization"] == "0.95");
  CHECK(reply.headers[unified + "5h-surpassed-threshold"] == "0.9");
  check_time_header(reply, unified + "5h-reset", unix_now() + 3600);
  check_time_header(reply, unified + "reset", unix_now() + 3600);

  auto weekly =
      post_messages(s, user_prompt("[[mock:warning=0.5]] [[mock:limit_claim=seven_day]]"));
  REQUIRE(weekly.status == 200);
  CHECK(weekly.headers[unified + "representative-claim"] == "seven_day");
  CHECK(weekly.headers[unified + "7d-utilization"] == "0.5");
  CHECK(weekly.headers[unified + "7d-surpassed-threshold"] == "0.5");  // not above the usage
  // After a lifted limit, the warning is what the reply says.
  auto after = post_messages(s, user_prompt("[[mock:warning=0.95]] [[mock:limit_until=" +
                                            std::to_string(long_past) + "]]"));
  CHECK(after.headers[unified + "status"] == "allowed_warning");
  for (const std::string bad : {"1.5", "-0.1", "high", ""}) {
    INFO(bad);
    CHECK(post_messages(s, user_prompt("[[mock:warning=" + bad + "]]")).status == 400);
  }
}

TEST_CASE("the log names each request's credential by fingerprint and its status",
          "[mock_api]") {
  CHECK(mock::credential_fingerprint("a") == "af63dc4c");  // FNV-1a 64 of "a": af63dc4c8601ec8c
  CHECK(mock::credential_fingerprint("") == "none");
  const auto key_a = mock::credential_fingerprint("sk-ant-api03-key-a");
  const auto key_b = mock::credential_fingerprint("sk-ant-api03-key-b");
  const auto token = mock::credential_fingerprint("sk-ant-oat01-token");
  CHECK(key_a.size() == 8);
  CHECK(key_a != key_b);

  const std::string path =
      "/tmp/claude_pool_mock_cred_log_" + std::to_string(::getpid()) + ".jsonl";
  std::remove(path.c_str());
  mock::options opts;
  opts.log_path = path;
  mock::server s{opts};
  s.start();
  const auto limited = "[[mock:limit_until=" + std::to_string(far_future) + "]]";
  const auto began_ms = unix_now() * 1000;
  post_messages(s, user_prompt("one"), "x-api-key: sk-ant-api03-key-a\r\n");
  post_messages(s, user_prompt(limited), "x-api-key: sk-ant-api03-key-a\r\n");
  post_messages(s, user_prompt("two"), "x-api-key: sk-ant-api03-key-b\r\n");
  post_messages(s, user_prompt("three"), "Authorization: Bearer sk-ant-oat01-token\r\n");
  post_messages(s, user_prompt("[[mock:status=529]]"));
  request(s.port(), "GET", "/v1/models");
  s.stop();

  const std::vector<std::pair<std::string, int>> expected = {
      {key_a, 200}, {key_a, 429}, {key_b, 200}, {token, 200}, {"none", 529}, {"none", 404}};
  auto log = s.requests();
  REQUIRE(log.size() == expected.size());
  std::ifstream in{path};
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  REQUIRE(lines.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("request " << i);
    CHECK(log[i].credential == expected[i].first);
    CHECK(log[i].status == expected[i].second);
    CHECK(log[i].at_ms >= began_ms - 1000);
    CHECK(lines[i]["credential"] == expected[i].first);
    CHECK(lines[i]["status"] == expected[i].second);
    CHECK(lines[i]["at_ms"] == log[i].at_ms);
    CHECK(lines[i].dump().find("sk-ant") == std::string::npos);  // the secret is never logged
  }
  std::remove(path.c_str());
}

TEST_CASE("the directive parser reads the usage-limit directives", "[mock_api]") {
  using claude_pool::mock_api::detail::parse_directives;
  auto parsed = parse_directives(
      "Go [[mock:limit_until=1796590000]][[mock:limit_claim=seven_day_opus]] [[mock:warning=1]]");
  const auto& d = parsed.found;
  CHECK(d.problems.empty());
  CHECK(d.limit_until == 1796590000);
  CHECK(d.limit_claim == "seven_day_opus");
  CHECK(d.warning == 1.0);
  CHECK(parsed.stripped == "Go");
  CHECK(parse_directives("x").found.limit_claim == "five_hour");
  CHECK(parse_directives("[[mock:limit_claim=overage]]").found.problems.size() == 1);
}

#ifdef CLAUDE_POOL_TEST_FIXTURES
TEST_CASE("the captured CLI fixtures have the shapes the mock produced them with", "[mock_api]") {
  const auto load = [](const std::string& name) {
    std::ifstream in{std::string{CLAUDE_POOL_TEST_FIXTURES} + "/" + name};
    REQUIRE(in);
    return json::parse(in);
  };
  auto success = load("success.json");
  CHECK(success["subtype"] == "success");
  CHECK(success["result"] == "Answer: Summarise the plan in one line.");
  CHECK(load("error_401.json")["api_error_status"] == 401);
  CHECK(load("error_529.json")["api_error_status"] == 529);
  CHECK(load("max_turns.json")["subtype"] == "error_max_turns");
  CHECK(load("budget_exceeded.json")["subtype"] == "error_max_budget_usd");
  CHECK(load("structured_output.json")["structured_output"] ==
        json{{"name", "pool"}, {"size", 3}});
}
#endif

TEST_CASE("for_credential limits, fails or warns only the login it names", "[mock_api]") {
  mock::server s;
  s.start();
  const auto limited = mock::credential_fingerprint("key-limited");
  const auto limit = "Work [[mock:limit_until=" + std::to_string(far_future)
                     + "]] [[mock:for_credential=" + limited + "]]";
  CHECK(post_messages(s, user_prompt(limit), "x-api-key: key-limited\r\n").status == 429);
  auto other = post_messages(s, user_prompt(limit), "x-api-key: key-other\r\n");
  CHECK(other.status == 200);
  CHECK(unified_header_count(other) == 0); // no limit headers for a login that has none
  const auto failing = "Work [[mock:status=401]] [[mock:for_credential=" + limited + "]]";
  CHECK(post_messages(s, user_prompt(failing), "x-api-key: key-limited\r\n").status == 401);
  CHECK(post_messages(s, user_prompt(failing), "x-api-key: key-other\r\n").status == 200);
  // The log names each request's login by the same fingerprint.
  auto log = s.requests();
  REQUIRE(log.size() == 4);
  CHECK(log[0].credential == limited);
  CHECK(log[1].credential == mock::credential_fingerprint("key-other"));
}
