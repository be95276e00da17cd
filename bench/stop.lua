-- bench/stop.lua: wrk stops its thread after BENCH_STOP_AFTER responses
-- (default 10000) and creates the file BENCH_STOP_FILE (if set), for
-- bench/run's callgrind and strace runs, which count instructions and
-- system calls over a known number of requests.  (wrk itself waits for
-- the end of its -d duration: bench/run interrupts it when the file
-- appears.)  With BENCH_POST_BODY set to a file, every request is
-- POST /predict with that file as its body (application/json), as
-- bench/post.lua sends; otherwise wrk's GET of the URL's path.
local n = 0
local limit = tonumber(os.getenv("BENCH_STOP_AFTER") or "10000")
local body_file = os.getenv("BENCH_POST_BODY")

if body_file and body_file ~= "" then
	local f = assert(io.open(body_file, "rb"), "stop.lua: cannot open " ..
	    body_file)
	wrk.method = "POST"
	wrk.path = "/predict"
	wrk.body = f:read("*a")
	wrk.headers["Content-Type"] = "application/json"
	f:close()
end

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
