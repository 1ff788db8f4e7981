-- wrk script for bench/http_read.sh: every request asks about one of 1000 topics,
-- picked at random, so no single topic's pages stay hot.
-- Arguments: a path with %s where the URL-encoded topic goes.
local template

function init(args)
  template = args[1]
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local topic = string.format("bench%%2Ft%04d", math.random(0, 999))
  return wrk.format("GET", string.format(template, topic))
end
