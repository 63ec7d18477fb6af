/**
 * Records an order in the quality guard's flagged list once (keyed by order_id, so a
 * redelivery or a second instance does not list it twice), keeping at most `max` entries.
 * KEYS: 1 records hash, 2 index sorted set, 3 counts hash, 4 sequence.
 * ARGV: 1 order_id, 2 record JSON, 3 max entries.
 * Returns 1 when stored, 0 when the order was already listed.
 */
export const RECORD_FLAGGED_LUA = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
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
