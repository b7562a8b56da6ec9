-- Single typed events, one per request, as CI systems post them: per wrk thread, chains
-- of nine commits in one service's repository, each the child of the last, then a
-- production deployment of the chain's head; the service changes with every chain.
-- bench_scale puts `services` ({service, repository} pairs), `nonce` (8 hex digits,
-- new each run, so no event repeats an earlier run's) and `start` (Unix seconds after
-- the history's end) above this text, and sets `id` per thread.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
local heads = {}

function request()
  counter = counter + 1
  local n = counter
  local chain = math.floor((n - 1) / 10)
  local s = (chain * 7 + id * 13) % #services + 1
  local service, repo = services[s][1], services[s][2]
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", start + n)
  local body
  if n % 10 == 0 then
    body = string.format(
      '{"type":"deployment","id":"load-%s-%d-%d","service":"%s","environment":"production","repo":"%s","sha":"%s","status":"success","finished_at":"%s"}',
      nonce, id, n, service, repo, heads[s], at)
  else
    local sha = string.format("%s%08x%024x", nonce, id, n)
    local parents = heads[s] and string.format('["%s"]', heads[s]) or "[]"
    heads[s] = sha
    body = string.format(
      '{"type":"change","repo":"%s","sha":"%s","parents":%s,"committed_at":"%s","author":"load@example.com","message":"load"}',
      repo, sha, parents, at)
  end
  return wrk.format(nil, nil, nil, body)
end
