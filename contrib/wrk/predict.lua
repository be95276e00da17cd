-- Plain load: GET /predict (one all-missing row, no added delay).
--   wrk -t2 -c16 -d60s -s contrib/wrk/predict.lua http://127.0.0.1:8000
-- The URL's path is ignored; the request is built once per thread.

local req

function init(args)
	req = wrk.format("GET", "/predict")
end

function request()
	return req
end
