-- Single typed events, one per request, as CI systems post them: per wrk thread, chains
-- of nine commits in one service's repository, each the child of the last (the first
-- the child of the service's newest deployed commit), then a production deployment of
-- the chain's head; the service changes with every chain, and each thread has its own
-- services, so each service's history stays one line, as a main branch is.
-- bench_scale puts `services` ({service, repository, newest deployed commit}),
-- `nonce` (8 hex digits, new each run, so no event repeats an earlier run's) and
-- `start` (Unix seconds after the history's end) above this text, and sets `id` per
-- thread; `threads` is wrk's `-t`.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

threads = 2
local started = 0
function setup(thread)
  started = started + 1
  thread:set("id", started)
end

local counter = 0
local heads = {}

function request()
  counter = counter + 1
  local n = counter
  local chain = math.floor((n - 1) / 10)
  local own = math.floor(#services / threads)
  local s = ((chain * 7) % own) * threads + id
  local service, repo = services[s][1], services[s][2]
  heads[s] = heads[s] or services[s][3]
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", start + n)
  local body
  if n % 10 == 0 then
    body = string.format(
      '{"type":"deployment","id":"load-%s-%d-%d","service":"%s","environment":"production","repo":"%s","sha":"%s","status":"success","finished_at":"%s"}',
      nonce, id, n, service, repo, heads[s], at)
  else
    local sha = string.format("%s%08x%024x", nonce, id, n)
    local parents = string.format('["%s"]', heads[s])
    heads[s] = sha
    body = string.format(
      '{"type":"change","repo":"%s","sha":"%s","parents":%s,"committed_at":"%s","author":"load@example.com","message":"load"}',
      repo, sha, parents, at)
  end
  return wrk.format(nil, nil, nil, body)
end
