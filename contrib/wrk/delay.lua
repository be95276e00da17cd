-- SLO-breaking load: GET /predict?delay=SECONDS, each request made slower
-- by inferd's timer (default 2 s, above the 1 s SLO). Start inferd with
-- -o max_delay=5 (or more) and give wrk enough connections: each one
-- carries a single request every DELAY seconds.
--   wrk -t2 -c50 -d5m --timeout 10s -s contrib/wrk/delay.lua http://127.0.0.1:8000
--   wrk -t2 -c50 -d5m --timeout 10s -s contrib/wrk/delay.lua http://127.0.0.1:8000 -- 0.5
-- The optional argument after `--` is the delay in seconds.

local req

function init(args)
	local delay = args[1] or "2"
	if tonumber(delay) == nil then
		io.stderr:write("delay.lua: delay must be a number of seconds, not '" ..
		    delay .. "'\n")
		os.exit(2)
	end
	req = wrk.format("GET", "/predict?delay=" .. delay)
end

function request()
	return req
end
