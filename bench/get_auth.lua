-- wrk script: GET with an Authorization header (GET_AUTH, e.g. "Bearer ...") and the peers'
-- RESULT line (report.lua from PEERS_DIR, default /work/shared/bench-peers).
package.path = (os.getenv("PEERS_DIR") or "/work/shared/bench-peers") .. "/?.lua;" .. package.path
local report = require("report")

wrk.method = "GET"
local auth = os.getenv("GET_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end

done = report.done
