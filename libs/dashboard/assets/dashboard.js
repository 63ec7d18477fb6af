// The live dashboard: polls dashboard/summary every 2 s and renders with textContent
// only: order ids, reasons and bodies are untrusted text.
(function () {
  'use strict';

  const POLL_MS = 2000;
  /** Orders per minute are measured over this window of successive summaries. */
  const RATE_WINDOW_MS = 60000;
  const RATE_MIN_SPAN_MS = 4000;

  const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
  const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

  const byId = (id) => {
    const found = document.getElementById(id);
    if (!found) throw new Error('the page has no #' + id);
    return found;
  };

  function setText(id, value) {
    byId(id).textContent = value;
  }

  /** An element with optional class and text; children are appended as nodes. */
  function node(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = String(text);
    return el;
  }

  function row(cells) {
    const tr = document.createElement('tr');
    for (const cell of cells) tr.append(cell);
    return tr;
  }

  function cell(text, className) {
    return node('td', className, text);
  }

  function emptyRow(columns, text) {
    const td = node('td', 'empty', text);
    td.colSpan = columns;
    return row([td]);
  }

  /** "2026-03-04 10:15:00" in UTC, from an ISO instant. */
  function utc(iso) {
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? String(iso) : new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  }

  /** Reason chips: code in a chip, message beside it (reasons are {code, message} or strings). */
  function reasonsCell(reasons, kind) {
    const td = node('td');
    for (const reason of Array.isArray(reasons) ? reasons : []) {
      const code = typeof reason === 'string' ? reason : reason && reason.code;
      const message = typeof reason === 'object' && reason ? reason.message : '';
      const line = node('div');
      line.append(node('span', kind === 'conflict' || kind === 'flag' ? 'code ' + kind : 'code', code || 'unknown'));
      if (message) line.append(node('span', 'reason', message));
      td.append(line);
    }
    return td;
  }

  class HttpError extends Error {
    constructor(path, status, message) {
      super('GET ' + path + ' answered ' + status + (message ? ': ' + message : ''));
      this.status = status;
    }
  }

  // ---- reading the API (with the read key, when the server wants one) ---------------

  const KEY_STORE = 'order-pipeline.api-key';

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY_STORE);
    } catch {
      return null;
    }
  }

  async function getJson(path) {
    const headers = { accept: 'application/json' };
    const key = storedKey();
    if (key) headers['x-api-key'] = key;
    let res;
    try {
      res = await fetch(path, { headers, cache: 'no-store' });
    } catch (error) {
      throw new Error('GET ' + path + ' failed: the service is not reachable (' + error.message + ')');
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new HttpError(path, res.status, body && typeof body.message === 'string' ? body.message : '');
    return body;
  }

  // ---- orders per minute, from successive summaries ----------------------------------

  let samples = [];

  function recordRate(generatedAt, totalOrders) {
    const t = Date.parse(generatedAt);
    const last = samples[samples.length - 1];
    if (last && (t <= last.t || totalOrders < last.orders)) {
      if (totalOrders < last.orders)
        samples = []; // the store was reset
      else return;
    }
    samples.push({ t, orders: totalOrders });
    samples = samples.filter((s) => s.t >= t - RATE_WINDOW_MS);
    const first = samples[0];
    const span = t - first.t;
    if (span < RATE_MIN_SPAN_MS) {
      setText('rate', '—');
      setText('rate-sub', 'measuring…');
      return;
    }
    const perMinute = ((totalOrders - first.orders) * 60000) / span;
    setText('rate', oneDecimal.format(perMinute));
    setText('rate-sub', 'over the last ' + Math.round(span / 1000) + ' s');
  }

  // ---- daily revenue chart (uPlot) --------------------------------------------------

  let chart = null;
  let chartKey = '';

  function chartData(daily) {
    const xs = daily.periods.map((p) => Date.parse(p.period + 'T00:00:00Z') / 1000);
    const ys = daily.periods.map((p) => p.revenue);
    return [xs, ys];
  }

  function renderChart(daily) {
    const container = byId('chart');
    setText(
      'chart-range',
      daily.from +
        ' to ' +
        daily.to +
        ' · ' +
        money.format(daily.total.revenue) +
        ' from ' +
        whole.format(daily.total.orders) +
        ' orders',
    );
    const data = chartData(daily);
    const key = JSON.stringify(data);
    if (key === chartKey) return;
    chartKey = key;
    if (typeof window.uPlot !== 'function') {
      container.textContent = 'The chart library did not load.';
      return;
    }
    if (chart) {
      chart.setData(data);
      return;
    }
    const uPlot = window.uPlot;
    chart = new uPlot(
      {
        width: Math.max(container.clientWidth, 300),
        height: 260,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        legend: { show: true },
        cursor: { points: { show: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
        axes: [
          { stroke: '#5f6b7a', grid: { stroke: '#eef1f5' } },
          {
            stroke: '#5f6b7a',
            grid: { stroke: '#eef1f5' },
            size: 64,
            values: (_u, ticks) => ticks.map((v) => compact.format(v)),
          },
        ],
        series: [
          { label: 'Day', value: '{YYYY}-{MM}-{DD}' },
          {
            label: 'Revenue',
            stroke: '#2563eb',
            fill: 'rgba(37, 99, 235, 0.55)',
            width: 0,
            paths: uPlot.paths.bars({ size: [0.75, 28] }),
            points: { show: false },
            value: (_u, v) => (v === null || v === undefined ? '—' : money.format(v)),
          },
        ],
      },
      data,
      container,
    );
    new ResizeObserver(() => chart.setSize({ width: Math.max(container.clientWidth, 300), height: 260 })).observe(
      container,
    );
  }

  // ---- the summary ------------------------------------------------------------------

  function renderSummary(s) {
    const t = s.totals;
    setText('revenue', money.format(t.total_revenue));
    setText('revenue-sub', 'from ' + whole.format(t.total_orders) + ' accepted orders');
    setText('orders', whole.format(t.total_orders));
    setText('orders-sub', whole.format(t.rejected) + ' rejected · ' + whole.format(t.conflicts) + ' conflicts');
    setText('orders-sub2', whole.format(t.duplicates) + ' duplicates');
    setText('users', whole.format(t.total_users));
    setText('average', money.format(t.average_order_value));
    recordRate(s.generated_at, t.total_orders);

    if (s.queue) {
      setText('queue', whole.format(s.queue.visible));
      setText(
        'queue-sub',
        whole.format(s.queue.in_flight) + ' in flight · ' + whole.format(s.queue.delayed) + ' delayed',
      );
    } else {
      setText('queue', '?');
      setText('queue-sub', s.queue_error || 'the queue did not answer');
    }

    const top = byId('top-users');
    top.replaceChildren(
      ...(s.top_users.length === 0
        ? [emptyRow(4, 'No orders yet.')]
        : s.top_users.map((u) =>
            row([
              cell(u.rank, 'num'),
              cell(u.user_id, 'mono'),
              cell(whole.format(u.order_count), 'num'),
              cell(money.format(u.total_spend), 'num'),
            ]),
          )),
    );

    const rejected = byId('rejected');
    rejected.replaceChildren(
      ...(s.recent_rejected.length === 0
        ? [emptyRow(3, 'Nothing rejected.')]
        : s.recent_rejected.map((r) => {
            const order = node('td', 'mono', r.order_id === null ? '(no order id)' : r.order_id);
            if (r.order_id === null && r.raw_preview) order.append(node('div', 'reason preview', r.raw_preview));
            else if (r.user_id) order.append(node('div', 'reason', r.user_id));
            const received = cell(utc(r.received_at).slice(11), 'time');
            received.title = utc(r.received_at) + ' UTC';
            return row([received, order, reasonsCell(r.reasons, r.kind)]);
          })),
    );

    renderFlagged(s.recent_flagged, s.flagged_total);
    renderChart(s.daily_revenue);
  }

  function renderFlagged(items, total) {
    setText('flagged-total', total > 0 ? whole.format(total) + ' in all' : '');
    byId('flagged').replaceChildren(
      ...(items.length === 0
        ? [emptyRow(4, 'Nothing flagged.')]
        : items.map((f) => {
            const flagged = cell(utc(f.flagged_at).slice(11), 'time');
            flagged.title = utc(f.flagged_at) + ' UTC';
            const order = node('td', 'mono', f.order_id);
            order.append(node('div', 'reason', f.user_id));
            const reasons = reasonsCell(f.reasons, 'flag');
            if (!f.checked) {
              const tag = node('span', 'tag', 'unchecked');
              tag.title = 'Flagged by the rules; no model verdict (offline mode or model unavailable)';
              (reasons.lastElementChild || reasons).append(tag);
            }
            return row([flagged, order, cell(money.format(f.order_value), 'num'), reasons]);
          })),
    );
  }

  // ---- polling ----------------------------------------------------------------------

  function showError(message) {
    const banner = byId('error');
    banner.hidden = message === null;
    banner.textContent = message === null ? '' : message;
    document.body.classList.toggle('stale', message !== null);
  }

  let hadData = false;
  let timer = null;

  async function poll() {
    clearTimeout(timer);
    const status = byId('status');
    try {
      const summary = await getJson('dashboard/summary');
      renderSummary(summary);
      showError(null);
      byId('key-form').hidden = true;
      hadData = true;
      status.dataset.state = 'live';
      status.textContent = 'Live · updated ' + utc(summary.generated_at).slice(11) + ' UTC';
    } catch (error) {
      const since = hadData ? ' (the figures below are from the last good update)' : '';
      showError(error.message + since);
      if (error instanceof HttpError && error.status === 401) byId('key-form').hidden = false;
      status.dataset.state = 'error';
      status.textContent = 'Not updating';
    } finally {
      timer = setTimeout(poll, POLL_MS);
    }
  }

  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('key');
    try {
      sessionStorage.setItem(KEY_STORE, input.value.trim());
    } catch {
      // Storage is off: the key cannot be kept, and the next poll asks again.
    }
    input.value = '';
    void poll();
  });

  // A link cannot send the read key: with a key in use, the metrics are fetched with it and
  // shown as text, rather than the browser following the link into a 401.
  byId('metrics-link').addEventListener('click', async (event) => {
    const key = storedKey();
    if (!key) return;
    event.preventDefault();
    const res = await fetch('metrics', { headers: { 'x-api-key': key }, cache: 'no-store' }).catch(() => null);
    if (!res || !res.ok) {
      showError('GET metrics failed' + (res ? ' (HTTP ' + res.status + ')' : ': the service is not reachable'));
      return;
    }
    window.location.href = URL.createObjectURL(new Blob([await res.text()], { type: 'text/plain' }));
  });

  void poll();
})();
