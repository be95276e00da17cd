-- JSON POST load: POST /predict {"features":[...30 numbers...]}, rows of the
-- breast-cancer data set the bundled model was trained on (30 features).
--   wrk -t2 -c16 -d60s -s contrib/wrk/post.lua http://127.0.0.1:8000
-- Each thread cycles through the rows below.

local rows = {
	-- sample 0 (malignant)
	"17.99,10.38,122.8,1001.0,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871," ..
	"1.095,0.9053,8.589,153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193," ..
	"25.38,17.33,184.6,2019.0,0.1622,0.6656,0.7119,0.2654,0.4601,0.1189",
	-- sample 19 (benign)
	"13.54,14.36,87.46,566.3,0.09779,0.08129,0.06664,0.04781,0.1885,0.05766," ..
	"0.2699,0.7886,2.058,23.56,0.008462,0.0146,0.02387,0.01315,0.0198,0.0023," ..
	"15.11,19.26,99.7,711.2,0.144,0.1773,0.239,0.1288,0.2977,0.07259",
}

local reqs = {}
local n = 0

function init(args)
	local headers = { ["Content-Type"] = "application/json" }
	for i, row in ipairs(rows) do
		reqs[i] = wrk.format("POST", "/predict", headers,
		    '{"features":[' .. row .. ']}')
	end
end

function request()
	n = n % #reqs + 1
	return reqs[n]
end
