/**
 * The app's "now" where a rule depends on the calendar: the quality guard's timestamp flags
 * (more than a day ahead, more than two years old) and the dashboard's lookback and chart
 * window. A provider (ConfigModule), so a test can set the date its fixed order dates are
 * judged on; the wall clock would age them past those rules.
 *
 * Durations keep Date.now/performance.now: timers, deadlines, rate windows. So does the
 * range queries' retention check, which must agree with Redis's own clock: that clock
 * expires the day keys (EXPIREAT).
 */
export abstract class Clock {
  abstract now(): number;
}

/** The wall clock. */
export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}
