#include "actors/slot_hosts.hpp"

namespace claude_pool {

std::string slot_hosts::check_join(const std::string& node, std::uint64_t own,
                                   std::uint64_t capacity) const {
  if (node.empty())
    return "join: the node name is empty";
  if (hosts_.count(node))
    return "join: a node named " + node + " already has slots here";
  if (capacity < own)
    return "join: node " + node + " offers at most " + std::to_string(capacity)
           + " slots but starts " + std::to_string(own);
  return {};
}

void slot_hosts::join(const std::string& node, caf::actor handle, std::uint64_t own,
                      std::uint64_t capacity) {
  hosts_[node] = host{std::move(handle), own, capacity, 0, false};
}

slot_hosts::placement slot_hosts::place(std::uint64_t n) {
  placement out;
  for (; n > 0; --n) {
    host* best = nullptr;
    const std::string* best_name = nullptr;
    for (auto& [name, h] : hosts_)
      if (h.room() > 0 && (!best || h.room() > best->room())) {
        best = &h;
        best_name = &name;
      }
    if (!best) {
      out.local += n;
      break;
    }
    ++best->placed;
    ++out.on_hosts[*best_name];
  }
  return out;
}

void slot_hosts::placed_slot_up(const slot_id& slot, const std::string& node) {
  if (hosts_.count(node))
    placed_slots_[slot] = node;
}

void slot_hosts::unplace(const slot_id& slot) {
  auto it = placed_slots_.find(slot);
  if (it == placed_slots_.end())
    return;
  if (auto h = hosts_.find(it->second); h != hosts_.end() && h->second.placed > 0)
    --h->second.placed;
  placed_slots_.erase(it);
}

std::uint64_t slot_hosts::forget_placed(const std::string& node) {
  for (auto it = placed_slots_.begin(); it != placed_slots_.end();)
    it = it->second == node ? placed_slots_.erase(it) : std::next(it);
  auto& h = hosts_.at(node);
  auto n = h.placed;
  h.placed = 0;
  return n;
}

std::uint64_t slot_hosts::leave(const std::string& node) {
  auto it = hosts_.find(node);
  if (it == hosts_.end() || it->second.leaving)
    return 0;
  it->second.leaving = true;
  return forget_placed(node);
}

std::optional<std::pair<std::string, std::uint64_t>>
slot_hosts::host_down(const caf::actor_addr& who) {
  for (auto it = hosts_.begin(); it != hosts_.end(); ++it) {
    if (it->second.handle.address() != who)
      continue;
    auto name = it->first;
    auto lost = it->second.leaving ? 0 : forget_placed(name);
    hosts_.erase(it);
    return std::make_pair(name, lost);
  }
  return std::nullopt;
}

const slot_hosts::host* slot_hosts::find(const std::string& node) const {
  auto it = hosts_.find(node);
  return it == hosts_.end() ? nullptr : &it->second;
}

} // namespace claude_pool
