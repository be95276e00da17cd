-- POST /predict with a fixed body read from a file, for bench/run:
--   wrk -t1 -c50 -d5s --latency -s bench/post.lua http://HOST:PORT -- BODY.json
-- The body is sent as is on every request (application/json).

function init(args)
	local f = assert(io.open(args[1], "rb"), "post.lua: cannot open body file")
	local body = f:read("*a")
	f:close()
	wrk.method = "POST"
	wrk.path = "/predict"
	wrk.body = body
	wrk.headers["Content-Type"] = "application/json"
end
