// store_bench's results: one sample of one operation on one configuration, the median
// over repetitions, and the JSON line benchmarks/report.py reads.
#pragma once

#include "store_bench_process.hpp"

#include <algorithm>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

namespace store_bench {

/// "memory", "SQLite", "PostgreSQL" or the URI's scheme: the report's store column.
inline std::string kind_of(const std::string& uri) {
  if (uri.rfind("memory:", 0) == 0) return "memory";
  if (uri.rfind("sqlite:", 0) == 0) return "SQLite";
  if (uri.rfind("postgres", 0) == 0) return "PostgreSQL";
  return uri.substr(0, uri.find(':'));
}

/// One operation's figures on one configuration (a store and its servers), in one
/// repetition or, from median_of, over all of them.
struct Sample {
  std::string store;
  std::size_t servers = 1;
  std::string op;         // "fetch", "create", "delete"
  double per_second = 0;  // fetches, or create+delete pairs, per second
  double p50_us = 0;
  double p99_us = 0;
  std::size_t count = 0;
  std::size_t failed = 0;
  double server_cores = 0;    // CPU seconds of the servers / wall seconds
  double database_cores = 0;  // of the database cluster; < 0: none or unknown
  double client_cores = 0;
};

/// The median over repetitions, field by field, of one configuration's samples of one op.
inline Sample median_of(std::vector<Sample> samples) {
  auto median = [&](double Sample::*field) {
    std::vector<double> values;
    for (const auto& s : samples) values.push_back(s.*field);
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  Sample out = samples.front();
  out.per_second = median(&Sample::per_second);
  out.p50_us = median(&Sample::p50_us);
  out.p99_us = median(&Sample::p99_us);
  out.server_cores = median(&Sample::server_cores);
  out.database_cores = median(&Sample::database_cores);
  out.client_cores = median(&Sample::client_cores);
  out.count = 0;
  out.failed = 0;
  for (const auto& s : samples) {
    out.count += s.count;
    out.failed += s.failed;
  }
  return out;
}

/// A JSON string of `text` (URIs and names: no control characters to escape).
inline std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

inline std::string to_json(const Sample& s) {
  std::ostringstream out;
  out << "{\"store\": " << quoted(redacted(s.store)) << ", \"kind\": " << quoted(kind_of(s.store))
      << ", \"servers\": " << s.servers << ", \"op\": \"" << s.op
      << "\", \"per_second\": " << s.per_second << ", \"p50_us\": " << s.p50_us
      << ", \"p99_us\": " << s.p99_us << ", \"count\": " << s.count << ", \"failed\": " << s.failed
      << ", \"server_cores\": " << s.server_cores << ", \"database_cores\": ";
  if (s.database_cores < 0) {
    out << "null";
  } else {
    out << s.database_cores;
  }
  out << ", \"client_cores\": " << s.client_cores << "}";
  return out.str();
}

}  // namespace store_bench
