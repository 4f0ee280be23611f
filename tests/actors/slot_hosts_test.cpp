// Where the pool places new slots among its slot hosts: the value type alone.
#include <catch2/catch.hpp>

#include "actors/slot_hosts.hpp"

using namespace claude_pool;

TEST_CASE("new slots go to the hosts with the most room, the rest stay local",
          "[scaling][cluster]") {
  slot_hosts hosts;
  hosts.join("a", caf::actor{}, 1, 4); // room 3
  hosts.join("b", caf::actor{}, 2, 3); // room 1
  auto p = hosts.place(4); // a: 3 → 2, then a and b tie at 1 (the first name wins), b
  CHECK(p.on_hosts["a"] == 3);
  CHECK(p.on_hosts["b"] == 1);
  CHECK(p.local == 0);
  auto q = hosts.place(2); // no room left anywhere
  CHECK(q.on_hosts.empty());
  CHECK(q.local == 2);
  CHECK(hosts.find("a")->room() == 0);
}

TEST_CASE("a placed slot that is retired gives its host room again", "[scaling][cluster]") {
  slot_hosts hosts;
  hosts.join("a", caf::actor{}, 0, 1);
  REQUIRE(hosts.place(1).on_hosts["a"] == 1);
  hosts.placed_slot_up(slot_id{"a/slot-0"}, "a");
  CHECK(hosts.is_placed(slot_id{"a/slot-0"}));
  CHECK_FALSE(hosts.is_placed(slot_id{"a/slot-1"}));
  CHECK(hosts.place(1).local == 1);
  hosts.unplace(slot_id{"a/slot-0"});
  CHECK_FALSE(hosts.is_placed(slot_id{"a/slot-0"}));
  CHECK(hosts.place(1).on_hosts["a"] == 1);
}

TEST_CASE("a leaving host takes no slots and hands its placed ones back once",
          "[scaling][cluster]") {
  slot_hosts hosts;
  hosts.join("a", caf::actor{}, 1, 3);
  hosts.place(2);
  hosts.placed_slot_up(slot_id{"a/slot-1"}, "a");
  hosts.placed_slot_up(slot_id{"a/slot-2"}, "a");
  CHECK(hosts.leave("a") == 2);
  CHECK(hosts.leave("a") == 0);
  CHECK_FALSE(hosts.is_placed(slot_id{"a/slot-1"}));
  CHECK(hosts.place(1).local == 1);
  // The null handle's address is what host_down is told: it finds the host and, since it
  // announced its leaving, has nothing more to place.
  auto gone = hosts.host_down(caf::actor_addr{});
  REQUIRE(gone);
  CHECK(gone->first == "a");
  CHECK(gone->second == 0);
  CHECK(hosts.find("a") == nullptr);
}

TEST_CASE("joins are checked", "[cluster]") {
  slot_hosts hosts;
  CHECK_THAT(hosts.check_join("", 1, 1), Catch::Contains("name is empty"));
  CHECK_THAT(hosts.check_join("a", 3, 2), Catch::Contains("at most 2 slots but starts 3"));
  hosts.join("a", caf::actor{}, 1, 1);
  CHECK_THAT(hosts.check_join("a", 1, 1), Catch::Contains("already has slots"));
  CHECK(hosts.check_join("b", 1, 1).empty());
}
