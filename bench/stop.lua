-- bench/stop.lua: wrk stops its thread after BENCH_STOP_AFTER responses
-- (default 10000) and creates the file BENCH_STOP_FILE (if set), for
-- bench/run's callgrind and strace runs, which count instructions and
-- system calls over a known number of requests.  (wrk itself waits for
-- the end of its -d duration: bench/run interrupts it when the file
-- appears.)
local n = 0
local limit = tonumber(os.getenv("BENCH_STOP_AFTER") or "10000")

function response(status, headers, body)
	n = n + 1
	if n == limit then
		wrk.thread:stop()
		local path = os.getenv("BENCH_STOP_FILE")
		if path then
			io.open(path, "w"):close()
		end
	end
end
