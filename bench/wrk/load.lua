-- wrk script of bench/load.py: the request of a cell, and one machine-readable result line.
--
-- Arguments after `--`: mode, then for "post" and "fresh" the file holding the JSON body.
--   get    GET the URL
--   post   POST the same body every time
--   fresh  POST the body template with every "@N@" replaced by a number no request used
--          before (12 digits: Observation ids and the hookInstance become never-seen);
--          a third argument is the cell's first number, and each wrk thread counts up
--          from its own block of 10^7 numbers after it.
-- done() prints one line: WRK_RESULT requests=.. duration_us=.. non2xx=.. connect=.. read=..
-- write=.. timeout=.. p50_us=.. p95_us=.. p99_us=.. (requests: answers received, in
-- microseconds the duration and latency percentiles).

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local function read(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  mode, non2xx = args[1], 0
  if mode == "get" then
    fixed = wrk.format("GET")
    return
  end
  wrk.headers["Content-Type"] = "application/json"
  body = read(args[2])
  fixed = wrk.format("POST", nil, nil, body)
  number = tonumber(args[3] or "0") + index * 1e7
end

function request()
  if mode ~= "fresh" then
    return fixed
  end
  number = number + 1
  local fresh = body:gsub("@N@", string.format("%012d", number))
  return wrk.format("POST", nil, nil, fresh)
end

function response(status)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx_all = 0
  for _, thread in ipairs(threads) do
    non2xx_all = non2xx_all + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d "
      .. "timeout=%d p50_us=%d p95_us=%d p99_us=%d\n",
    summary.requests, summary.duration, non2xx_all, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
