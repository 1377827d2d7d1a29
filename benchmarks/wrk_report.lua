-- Prints one JSON line at the end of a wrk run: latency percentiles in ms, rate, errors.
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    '{"p50": %.3f, "p95": %.3f, "p99": %.3f, "n": %d, "rps": %.1f, ' ..
    '"bad_status": %d, "socket_errors": %d}\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.requests / seconds, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
