// shared_value: copies share one value, a change is a holder's own, JSON sees the value.
#include <catch2/catch.hpp>

#include "messages/json.hpp"
#include "messages/records.hpp"

using namespace claude_pool;

TEST_CASE("default slot configurations share one value", "[shared_value]") {
  slot_record a, b;
  CHECK(a.config.shares_with(b.config));
  CHECK_FALSE(a.config->model);
}

TEST_CASE("a copy shares its configuration until one side edits it", "[shared_value]") {
  slot_record a;
  a.config.edit().model = "opus";
  slot_record b = a;
  CHECK(b.config.shares_with(a.config));
  b.config.edit().model = "haiku";
  CHECK_FALSE(b.config.shares_with(a.config));
  CHECK(*a.config->model == "opus");
  CHECK(*b.config->model == "haiku");
  slot_record fresh;
  CHECK_FALSE(fresh.config->model); // editing a copy of the default left the default alone
}

TEST_CASE("a record's shared configuration is plain JSON both ways", "[shared_value]") {
  slot_record a;
  a.id = slot_id{"slot-1"};
  a.config.edit().role = "coder";
  nlohmann::json j = a;
  REQUIRE(j.at("config").is_object());
  CHECK(j.at("config").at("role") == "coder");
  auto back = j.get<slot_record>();
  CHECK(*back.config->role == "coder");
  CHECK_FALSE(back.config.shares_with(a.config)); // read from text: a value of its own
}
