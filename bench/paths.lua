-- wrk script: each request is a random line of the file given after `--`: a path (GET), or
-- "POST <path> <one-line JSON body>".
local requests = {}

function init(args)
  for line in io.lines(args[1]) do
    local path, body = line:match("^POST (%S+) (.+)$")
    if path then
      requests[#requests + 1] = wrk.format("POST", path, {["Content-Type"] = "application/fhir+json"}, body)
    else
      requests[#requests + 1] = wrk.format("GET", line)
    end
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
end

function request()
  return requests[math.random(#requests)]
end
