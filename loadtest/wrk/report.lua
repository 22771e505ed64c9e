-- wrk reporter: one JSON line on stdout at the end of the run, after a marker, so
-- loadtest/wrk.py reads percentiles and errors without scraping wrk's human summary.
-- Optional: WRK_PATHS="/a,/b" spreads requests over several paths (round robin per thread).
-- Optional: WRK_CLIENTS=N sends X-Forwarded-For with one of N addresses of 198.18.0.0/15
-- (loadtest/clients.py's CLIENT_NET), round robin, so the run arrives as N shoppers.
local paths = {}
local env_paths = os.getenv("WRK_PATHS")
if env_paths then
  for p in string.gmatch(env_paths, "[^,]+") do table.insert(paths, p) end
end
local clients = tonumber(os.getenv("WRK_CLIENTS") or "0")
if clients > 131070 then error("WRK_CLIENTS: 198.18.0.0/15 holds 131070 hosts") end
local counter = 0

-- main state: number the threads, so each starts its round robin elsewhere
local threads = 0
setup = function(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

-- the (n+1)th host address of 198.18.0.0/15
local function client_address(n)
  local offset = n + 1
  return string.format("198.%d.%d.%d", 18 + math.floor(offset / 65536),
                       math.floor(offset / 256) % 256, offset % 256)
end

request = function()
  counter = counter + 1
  local path = nil
  if #paths > 0 then path = paths[(counter % #paths) + 1] end
  local headers = nil
  if clients > 0 then
    headers = {["X-Forwarded-For"] = client_address((counter + (thread_number or 0)) % clients)}
  end
  return wrk.format(nil, path, headers)
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
