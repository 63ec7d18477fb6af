/**
 * The Lua steps. Each touches keys of a single hash slot (see key-schema.ts) and runs
 * atomically, so a marker and the increments it guards never commit apart.
 */

/**
 * Claim, in the order's slot.
 * KEYS[1] claims hash. ARGV: order_id, "hash|user|firstSeenMs", hash.
 * Returns {"new"|"same"|"conflict", stored value}.
 */
export const CLAIM_LUA = `
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return {'new', ARGV[2]}
end
if string.sub(stored, 1, string.len(ARGV[3]) + 1) == ARGV[3] .. '|' then
  return {'same', stored}
end
return {'conflict', stored}
`;

/**
 * Apply, in the user's slot: the applied-mark and every increment, or nothing.
 * KEYS: 1 applied set, 2 bucket totals, 3 bucket days, 4 bucket months, 5 user,
 *       6 user months, 7 user days (this month), 8 top spend, 9 top orders,
 *       10 top spend month, 11 top orders month, 12 top spend day, 13 top orders day.
 * ARGV: 1 order_id, 2 user_id, 3 cents, 4 timestamp ms, 5 YYYYMMDD, 6 YYYYMM, 7 DD,
 *       8 unix seconds at which this day's top-N sets expire, 9 unix seconds at which the
 *       user's day hash for this month expires (counted from the month's end, so a late
 *       order for an early day never shortens the life of the later days beside it).
 * Returns 1 when applied, 0 for a duplicate.
 */
export const APPLY_LUA = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then
  redis.call('HINCRBY', KEYS[2], 'duplicates', 1)
  return 0
end
local cents = ARGV[3]
local ts = tonumber(ARGV[4])
redis.call('HINCRBY', KEYS[2], 'orders', 1)
redis.call('HINCRBY', KEYS[2], 'revenue', cents)
redis.call('HINCRBY', KEYS[3], ARGV[5] .. ':o', 1)
redis.call('HINCRBY', KEYS[3], ARGV[5] .. ':r', cents)
redis.call('HINCRBY', KEYS[4], ARGV[6] .. ':o', 1)
redis.call('HINCRBY', KEYS[4], ARGV[6] .. ':r', cents)

redis.call('HINCRBY', KEYS[5], 'orders', 1)
redis.call('HINCRBY', KEYS[5], 'spend', cents)
-- first and last in one read and at most one write (docs/PERFORMANCE.md: each call counts).
local seen = redis.call('HMGET', KEYS[5], 'first', 'last')
local first, last = tonumber(seen[1]), tonumber(seen[2])
local earlier, later = (not first) or ts < first, (not last) or ts > last
if earlier and later then redis.call('HSET', KEYS[5], 'first', ARGV[4], 'last', ARGV[4])
elseif earlier then redis.call('HSET', KEYS[5], 'first', ARGV[4])
elseif later then redis.call('HSET', KEYS[5], 'last', ARGV[4]) end
redis.call('HINCRBY', KEYS[6], ARGV[6] .. ':o', 1)
redis.call('HINCRBY', KEYS[6], ARGV[6] .. ':s', cents)
redis.call('HINCRBY', KEYS[7], ARGV[7] .. ':o', 1)
redis.call('HINCRBY', KEYS[7], ARGV[7] .. ':s', cents)
redis.call('EXPIREAT', KEYS[7], ARGV[9])

redis.call('ZINCRBY', KEYS[8], cents, ARGV[2])
redis.call('ZINCRBY', KEYS[9], 1, ARGV[2])
redis.call('ZINCRBY', KEYS[10], cents, ARGV[2])
redis.call('ZINCRBY', KEYS[11], 1, ARGV[2])
redis.call('ZINCRBY', KEYS[12], cents, ARGV[2])
redis.call('ZINCRBY', KEYS[13], 1, ARGV[2])
redis.call('EXPIREAT', KEYS[12], ARGV[8])
redis.call('EXPIREAT', KEYS[13], ARGV[8])
return 1
`;

/**
 * Records a rejected or conflicting message once (keyed by its SQS message id, so a
 * redelivery does not count twice).
 * KEYS: 1 records, 2 index, 3 by-order, 4 counts, 5 sequence.
 * ARGV: 1 record id, 2 record JSON, 3 kind ("rejected"|"conflict"), 4 order_id or "".
 * Returns 1 when stored, 0 when it was already there, 2 when the id holds the record of
 * another body (an id carried by a message attribute can be forged; the caller stores
 * this one under an id of its own).
 */
export const RECORD_REJECTION_LUA = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  local existing = cjson.decode(redis.call('HGET', KEYS[1], ARGV[1]))
  if existing.rawBody == cjson.decode(ARGV[2]).rawBody then return 0 end
  return 2
end
local seq = redis.call('INCR', KEYS[5])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[1]) end
redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
return 1
`;

/**
 * Takes one record out of the rejected store after a reprocess applied its order, in the
 * {rej} slot. KEYS: records, index, by-order, counts, resolved. ARGV: 1 message id,
 * 2 the resolution (JSON: outcome and time). The record moves to the resolved hash (with
 * the resolution), the count of its kind goes down by one, and the by-order entry goes if
 * it points at this record. Returns 1, or 0 when the record is not (or no longer) there,
 * so two reprocesses at once resolve it once.
 */
export const RESOLVE_REJECTION_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local record = cjson.decode(raw)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if type(record.orderId) == 'string' and redis.call('HGET', KEYS[3], record.orderId) == ARGV[1] then
  redis.call('HDEL', KEYS[3], record.orderId)
end
redis.call('HINCRBY', KEYS[4], record.kind, -1)
redis.call('HSET', KEYS[5], ARGV[1], '{"resolution":' .. ARGV[2] .. ',"record":' .. raw .. '}')
return 1
`;

/**
 * Top-N of one user bucket over a set of periods, in the bucket's slot.
 * KEYS: 1 cache key for the ranked measure, 2..1+n the ranked measure's period sets,
 *       2+n..1+2n the other measure's period sets (same periods, same order).
 * ARGV: 1 n, 2 limit, 3 cache ttl seconds.
 * With one period the set is read directly; with several the ranked measure's sets are
 * merged with ZUNIONSTORE into a short-lived cache key, which only picks the candidates:
 * the top `limit`, plus at most `limit` members tied with the last of them (the smallest
 * ids, in byte order, which is all a merge across buckets can need). Both figures of each
 * candidate are then read live (one ZMSCORE per period set for all candidates; with one
 * period the ranked figure comes with the ZRANGE), so a row never mixes cached and fresh
 * data. Returns a flat list of member, ranked score, other score.
 */
export const TOP_LUA = `
local n = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local main = KEYS[1]
if n == 1 then
  main = KEYS[2]
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  local sets = {}
  for i = 1, n do sets[i] = KEYS[1 + i] end
  redis.call('ZUNIONSTORE', KEYS[1], n, unpack(sets))
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
-- One more than the limit: the ids tied with the last are only read when that one ties.
local top = redis.call('ZRANGE', main, '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, limit + 1, 'WITHSCORES')
local ranged = math.min(#top / 2, limit)
if ranged == 0 then return {} end
local members, seen = {}, {}
for i = 1, ranged do members[i] = top[2 * i - 1]; seen[members[i]] = true end
local last = top[2 * ranged]
if #top > 2 * limit and tonumber(top[2 * limit + 2]) == tonumber(last) then
  for _, m in ipairs(redis.call('ZRANGE', main, last, last, 'BYSCORE', 'LIMIT', 0, limit)) do
    if not seen[m] then members[#members + 1] = m; seen[m] = true end
  end
end
local count = #members
local out = {}
if n == 1 then
  -- The ranked set is the one period itself: its scores came with the ZRANGE (every id
  -- added for the tie has the last one's); the other figure is one ZMSCORE.
  local other = redis.call('ZMSCORE', KEYS[3], unpack(members))
  for i = 1, count do
    out[3 * i - 2] = members[i]
    out[3 * i - 1] = i <= ranged and top[2 * i] or last
    out[3 * i] = other[i] or '0'
  end
  return out
end
-- Each figure summed over the n period sets, one ZMSCORE per set for all candidates.
local function sums(first)
  local totals = {}
  for i = 1, count do totals[i] = 0 end
  for j = 0, n - 1 do
    local scores = redis.call('ZMSCORE', KEYS[first + j], unpack(members))
    for i = 1, count do totals[i] = totals[i] + (tonumber(scores[i]) or 0) end
  end
  return totals
end
local ranked, other = sums(2), sums(2 + n)
for i = 1, count do
  out[3 * i - 2] = members[i]
  out[3 * i - 1] = string.format('%.0f', ranked[i])
  out[3 * i] = string.format('%.0f', other[i])
end
return out
`;
