#pragma once
/// The pool's figures in Prometheus' text exposition format (GET /metrics), written with
/// prometheus-cpp (its registry and text serializer: names, label escaping and histogram
/// buckets as Prometheus parses them). Labels never carry task ids: a scrape's series stay
/// few whatever the number of tasks.

#include <string>
#include <vector>

#include "messages/records.hpp"
#include "messages/requests.hpp"

namespace claude_pool::http_api {

/// Every metric of one scrape, from the pool's status and its task records.
std::string prometheus_exposition(const pool_status& status,
                                  const std::vector<task_record>& tasks);

} // namespace claude_pool::http_api
