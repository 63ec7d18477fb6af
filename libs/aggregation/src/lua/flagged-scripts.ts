/**
 * Records an order in the quality guard's flagged list once (keyed by order_id, so a
 * redelivery or a second instance does not list it twice), keeping at most `max` entries.
 * A model-checked record replaces an unchecked listing of the same content (an order accepted
 * while the model could not answer, whose resent copy the model has now reviewed), and moves
 * it to the top: what the model said is news.
 * KEYS: 1 records hash, 2 index sorted set, 3 counts hash, 4 sequence.
 * ARGV: 1 order_id, 2 record JSON, 3 max entries, 4 '1' to list a new order ('0': replace
 * only), 5 '1' when the record is model-checked, 6 the record's content hash.
 * Returns 1 when listed, 2 when it replaced an unchecked listing, 0 when nothing changed.
 */
export const RECORD_FLAGGED_LUA = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  if ARGV[5] ~= '1' then return 0 end
  local ok, listed = pcall(cjson.decode, old)
  if not ok or type(listed) ~= 'table' or listed.checked ~= false or listed.contentHash ~= ARGV[6] then
    return 0
  end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[1])
  return 2
end
if ARGV[4] ~= '1' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local seq = redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('HINCRBY', KEYS[3], 'total', 1)
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
  redis.call('HDEL', KEYS[1], unpack(oldest))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
  redis.call('HINCRBY', KEYS[3], 'dropped', excess)
end
return 1
`;
