-- wrk reporter: one JSON line on stdout at the end of the run, after a marker, so
-- loadtest/wrk.py reads percentiles and errors without scraping wrk's human summary.
-- Optional: WRK_PATHS="/a,/b" spreads requests over several paths (round robin per thread).
local paths = {}
local env_paths = os.getenv("WRK_PATHS")
if env_paths then
  for p in string.gmatch(env_paths, "[^,]+") do table.insert(paths, p) end
end
local counter = 0

request = function()
  if #paths == 0 then return wrk.format(nil) end
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write("WRK_JSON ")
  io.write(string.format(
    '{"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency:percentile(99.9)))
end
