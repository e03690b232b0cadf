-- wrk script: replay a file of pre-built raw HTTP requests, each one once.
--
-- XB_RECORDS  the record file: "<length>\n<request bytes>" repeated (bench/workload.py)
-- XB_THREADS  wrk's -t (records are dealt round-robin to the threads)
-- XB_CYCLE    "1": start again at the first record when the thread's share is used up (the
--             ceiling: its no-op app checks nothing); otherwise the thread stops there, so
--             no request (and no nonce) is ever sent twice.
--
-- done() prints one line: XBENCH {json} with the counts and the latency distribution. "status"
-- is wrk's count of answers with a status of 400 or more (the non-2xx answers these APIs give).

local records_path = os.getenv("XB_RECORDS")
local nthreads = tonumber(os.getenv("XB_THREADS") or "1")
local cycle = os.getenv("XB_CYCLE") == "1"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(records_path, "rb"))
  local data = f:read("*a")
  f:close()
  reqs = {}
  local pos, i = 1, 0
  local size = #data
  while pos <= size do
    local nl = string.find(data, "\n", pos, true)
    local len = tonumber(string.sub(data, pos, nl - 1))
    if i % nthreads == tid then
      reqs[#reqs + 1] = string.sub(data, nl + 1, nl + len)
    end
    i = i + 1
    pos = nl + len + 1
  end
  idx = 0
  sent = 0
  exhausted = 0
  checked = false
end

function request()
  if tid == 0 and not checked then
    -- wrk 4 calls request() once on the first thread's state before the run, to check the
    -- script (script_verify_request); that request is never sent. Hand it the first record
    -- without using it up, or that record would be skipped (and counted as sent).
    checked = true
    return reqs[1] or ""
  end
  idx = idx + 1
  if idx > #reqs then
    if cycle and #reqs > 0 then
      idx = 1
    else
      exhausted = 1
      wrk.thread:stop()
      return ""  -- nothing is written; the thread stops before any answer could come
    end
  end
  sent = sent + 1
  return reqs[idx]
end

function done(summary, latency, requests)
  local e = summary.errors
  local sent_total, exhausted_threads = 0, 0
  for _, t in ipairs(threads) do
    sent_total = sent_total + (t:get("sent") or 0)
    exhausted_threads = exhausted_threads + (t:get("exhausted") or 0)
  end
  io.write(string.format(
    'XBENCH {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"timeout":%d,"status":%d,"sent":%d,"exhausted_threads":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.timeout, e.status, sent_total, exhausted_threads,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
