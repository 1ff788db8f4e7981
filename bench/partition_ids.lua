-- wrk script for bench/partition_http_ab.sh: GET /api/v1/messages/{id} for ids picked
-- at random from a file of existing ids (one per line). Argument: the file.
local ids = {}

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then ids[#ids + 1] = line end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  return wrk.format("GET", "/api/v1/messages/" .. ids[math.random(1, #ids)])
end
