// Signpost dashboard: reads the REST API of the server that serves this page and shows it.
//
// - No framework, no build step: this file is served as written (embedded in the binary).
// - Every piece of data goes into the page through textContent or attributes, never innerHTML,
//   so a profile or endpoint name can never become markup.
// - Live by polling: the status of the profiles on screen every 2 s (IntersectionObserver says
//   which), every profile's document and status every 15 s and after each write.
// - Query rates: the server's Prometheus counters (GET /metrics) every 5 s, as rates between two
//   reads; the panel stays hidden when the server has no /metrics.
// - Traffic View: the chosen enrolled profile's counts by client location and endpoint, read
//   every 15 s and when the choice changes.
// - Tokens: when the API answers 401 the page asks for one, keeps it in sessionStorage (this tab
//   only, gone when it closes) and sends it as `Authorization: Bearer` on every API call.
// - Writes: enable/disable (PATCH of endpointStatus) and operator overrides (PUT/DELETE of an
//   endpoint's /override); a 403 hides the controls (a reader token).
'use strict';

(() => {
  const POLL_MS = 2000;
  const FULL_REFRESH_MS = 15000;
  const MAX_EVENTS = 25;
  const METRICS_MS = 5000;
  const CHART_POINTS = 60;   // 5 min of 5 s samples
  const TOKEN_KEY = 'signpost.token';

  const state = {
    profiles: [],            // the profile documents, as GET /api/v1/profiles gives them
    status: new Map(),       // profile name -> GET .../status body
    nodes: null,             // GET /api/v1/nodes body
    metrics: null,           // the last two reads of the DNS counters: { previous, current }
    metricsOff: false,       // the server has no /metrics (or this token may not read it)
    lastMetrics: 0,
    history: [],             // total responses per second, one point per metrics read
    overrideTarget: null,    // { profile, endpoint } the override dialog is for
    traffic: null,           // GET .../trafficView body of the chosen profile
    visible: new Set(),      // names of profiles whose section is on screen
    lastFull: 0,             // when every profile was last read (ms)
    canWrite: true,          // false once a write was refused with 403 (a reader token)
    timer: null,
    polling: false,          // a round of polling is running
    rerun: false,            // run another round as soon as it ends
    session: 0,              // counts sign-outs: a round from before one is dropped
    observer: null,
  };

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  // ---- API access ---------------------------------------------------------------------------

  /** An API answer that is not 2xx: the HTTP status and the error's message. */
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** One API call: JSON in and out, with the session's token when there is one. */
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      // The message, and each field the API names with its rule (400s say which field).
      const details = (error.details || []).map((d) => `${d.target}: ${d.message}`);
      const message = [error.message || response.statusText, ...details].join('; ');
      throw new ApiError(response.status, message);
    }
    return data;
  }

  // ---- DOM helpers --------------------------------------------------------------------------

  /**
   * A new element. `props` sets properties (className, textContent, type, ...) or, for `role`
   * and keys holding a dash (aria-*, data-*), attributes; children are nodes or text.
   */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === 'role' || key.includes('-')) node.setAttribute(key, String(value));
      else node[key] = value;
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** A status word as a coloured badge (the class is derived from the word, the text is it). */
  function badge(status) {
    const text = status || 'unknown';
    const kind = text.toLowerCase().replace(/[^a-z-]/g, '');
    return el('span', { className: `badge badge-${kind}`, textContent: text });
  }

  /** Replaces `node`'s children only when `key` differs from the last render's (no flicker). */
  function renderIfChanged(node, key, build) {
    if (node.dataset.key === key) return;
    node.dataset.key = key;
    node.replaceChildren(...build());
  }

  /**
   * Puts freshly built rows into a table body, unless they are the same as the ones shown (the
   * comparison serialises the new nodes; nothing is ever parsed as markup), so focus and
   * selection survive a poll that changed nothing.
   */
  function replaceRows(body, rows) {
    const key = rows.map((r) => r.outerHTML).join('');
    if (body.dataset.key === key) return;
    body.dataset.key = key;
    body.replaceChildren(...rows);
  }

  /** "12 s ago", "3 min ago", or the time of day for older moments. */
  function ago(ms) {
    if (!ms) return '';
    const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (seconds < 90) return `${seconds} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    return new Date(ms).toLocaleString();
  }

  /** The last path segment of an endpoint's type (Azure's full type strings are accepted too). */
  function endpointType(endpoint) {
    return String(endpoint.type || 'externalEndpoints').split('/').pop();
  }

  /** What an endpoint answers with: its target, or the child profile of a nested endpoint. */
  function endpointTarget(props) {
    if (props.target) return props.target;
    if (props.targetResourceId) return `→ ${String(props.targetResourceId).split('/').pop()}`;
    return '';
  }

  // ---- messages and the token ---------------------------------------------------------------

  function setLive(text, failing) {
    const live = $('live');
    live.textContent = text;
    live.classList.toggle('failing', Boolean(failing));
  }

  function showMessage(text) {
    $('message').textContent = text || '';
  }

  /** Shows the token form (polling stops until a token is given). */
  function askForToken(reason) {
    clearTimeout(state.timer);
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = reason || '';
    $('sign-out').hidden = true;
    setLive('Signed out');
    $('token').focus();
  }

  function onSignIn(event) {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    state.canWrite = true;
    start();
  }

  function onSignOut() {
    state.session += 1;
    sessionStorage.removeItem(TOKEN_KEY);
    state.profiles = [];
    state.status.clear();
    askForToken('');
  }

  /** What an API failure means for the page: 401 asks for a token, anything else is shown. */
  function handleFailure(error) {
    if (error instanceof ApiError && error.status === 401) {
      const hadToken = Boolean(sessionStorage.getItem(TOKEN_KEY));
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken(hadToken ? `The token was not accepted: ${error.message}` : '');
      return false;
    }
    const what = error instanceof ApiError ? `HTTP ${error.status}: ${error.message}` : error.message;
    setLive(`Connection problem (${what}); retrying`, true);
    return true;
  }

  // ---- reading ------------------------------------------------------------------------------

  async function readProfiles() {
    const list = await api('GET', '/api/v1/profiles');
    state.profiles = (list && list.value) || [];
    const names = new Set(state.profiles.map((p) => p.name));
    for (const name of state.status.keys()) if (!names.has(name)) state.status.delete(name);
  }

  async function readNodes() {
    state.nodes = await api('GET', '/api/v1/nodes');
  }

  // ---- query rates (Prometheus text exposition, only the two DNS counters) ------------------

  /** `name{a="x",b="y"} value` lines of the wanted metrics, as { name, labels, value }. */
  function parseMetrics(text, wanted) {
    const samples = [];
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
      if (!m || !wanted.has(m[1])) continue;
      const labels = {};
      for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      }
      samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return samples;
  }

  /** Per-profile and per-endpoint counter totals from one scrape. */
  function countersFrom(samples) {
    const profiles = new Map();   // profile -> { total, byRcode: Map }
    const answers = new Map();    // "profile/endpoint" -> total
    for (const s of samples) {
      if (s.name === 'signpost_dns_responses_total') {
        const p = profiles.get(s.labels.profile) || { total: 0, byRcode: new Map() };
        p.total += s.value;
        p.byRcode.set(s.labels.rcode, (p.byRcode.get(s.labels.rcode) || 0) + s.value);
        profiles.set(s.labels.profile, p);
      } else {
        const key = `${s.labels.profile}/${s.labels.endpoint}`;
        answers.set(key, (answers.get(key) || 0) + s.value);
      }
    }
    return { time: Date.now(), profiles, answers };
  }

  async function readMetrics() {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch('/metrics', { headers, cache: 'no-store' });
    if (response.status === 401) throw new ApiError(401, 'a valid bearer token is required');
    if (!response.ok) {
      state.metricsOff = true;
      return;
    }
    const wanted = new Set(['signpost_dns_responses_total', 'signpost_dns_answers_total']);
    const current = countersFrom(parseMetrics(await response.text(), wanted));
    const previous = state.metrics && state.metrics.current;
    state.metrics = { previous, current };
    if (previous) {
      state.history.push(rate(current, previous, (c) => sum(c.profiles)));
      if (state.history.length > CHART_POINTS) state.history.shift();
    }
  }

  function sum(profiles) {
    let total = 0;
    for (const p of profiles.values()) total += p.total;
    return total;
  }

  /** Per second between two reads of what `pick` takes from each (a reset counts from 0). */
  function rate(current, previous, pick) {
    if (!previous) return null;
    const seconds = (current.time - previous.time) / 1000;
    const now = pick(current) || 0;
    const before = pick(previous) || 0;
    if (seconds <= 0) return null;
    return (now >= before ? now - before : now) / seconds;
  }

  function formatRate(r) {
    if (r === null || r === undefined) return '…';
    return r >= 10 ? r.toFixed(0) : r.toFixed(1);
  }

  /** The rate of one profile's responses, or of one endpoint's answers ("profile/endpoint"). */
  function profileRate(name) {
    const m = state.metrics;
    return m ? rate(m.current, m.previous, (c) => (c.profiles.get(name) || {}).total) : null;
  }

  function answerRate(key) {
    const m = state.metrics;
    return m ? rate(m.current, m.previous, (c) => c.answers.get(key)) : null;
  }

  // ---- Traffic View ---------------------------------------------------------------------------

  /** The profiles counted by Traffic View (trafficViewEnrollmentStatus: Enabled). */
  function enrolled() {
    return state.profiles.filter((p) => (p.properties || {}).trafficViewEnrollmentStatus === 'Enabled')
      .map((p) => p.name);
  }

  /** Reads the chosen profile's Traffic View over the chosen window. */
  async function readTraffic() {
    const names = enrolled();
    const select = $('traffic-profile');
    const name = names.includes(select.value) ? select.value : names[0];
    if (!name) {
      state.traffic = null;
      return;
    }
    const minutes = Number($('traffic-window').value) || 1440;
    const since = new Date(Date.now() - minutes * 60000).toISOString();
    try {
      state.traffic = await api('GET', `/api/v1/profiles/${enc(name)}/trafficView?since=${enc(since)}`);
      state.traffic.minutes = minutes;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      state.traffic = null;
    }
  }

  /** The status of each named profile; a profile gone meanwhile (404) is simply skipped. */
  async function readStatus(names) {
    await Promise.all(names.map(async (name) => {
      try {
        state.status.set(name, await api('GET', `/api/v1/profiles/${enc(name)}/status`));
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        state.status.delete(name);
      }
    }));
  }

  /**
   * One round of polling: what is due, then a render, then the next round. One round at a time:
   * a call while one runs (a write's `start`) makes that round run again at once when it ends.
   * A round that began before a sign-out is dropped.
   */
  async function tick() {
    if (state.polling) {
      state.rerun = true;
      return;
    }
    state.polling = true;
    clearTimeout(state.timer);
    const session = state.session;
    let again = true;
    try {
      const full = Date.now() - state.lastFull >= FULL_REFRESH_MS;
      if (full) {
        await Promise.all([readProfiles(), readNodes()]);
        await readTraffic();
      }
      const names = full
        ? state.profiles.map((p) => p.name)
        : state.profiles.map((p) => p.name).filter((n) => state.visible.has(n));
      // Every 5 s, but the second read at the next round, so rates show within 2 s.
      const rated = Boolean(state.metrics && state.metrics.previous);
      const metricsDue = !state.metricsOff && (!rated || Date.now() - state.lastMetrics >= METRICS_MS);
      await Promise.all([readStatus(names), metricsDue ? readMetrics() : null]);
      if (full) state.lastFull = Date.now();
      if (metricsDue) state.lastMetrics = Date.now();
      if (session === state.session) {
        $('login').hidden = true;
        $('main').hidden = false;
        $('sign-out').hidden = !sessionStorage.getItem(TOKEN_KEY);
        render();
        setLive(`Live · updated ${new Date().toLocaleTimeString()}`);
      }
    } catch (error) {
      again = session === state.session && handleFailure(error);
    }
    state.polling = false;
    if (session !== state.session) again = state.rerun; // signed in again meanwhile
    if (again) state.timer = setTimeout(tick, state.rerun ? 0 : POLL_MS);
    state.rerun = false;
  }

  /** Reads everything now (at start, after sign-in, after a write). */
  function start() {
    state.lastFull = 0;
    tick();
  }

  // ---- rendering ----------------------------------------------------------------------------

  function render() {
    renderSummary();
    renderDetails();
    renderRates();
    renderTraffic();
    renderEvents();
    renderNodes();
    renderExplainChoices();
  }

  /** The profiles table: one row per profile. */
  function renderSummary() {
    const rows = state.profiles.map((doc) => {
      const props = doc.properties || {};
      const health = state.status.get(doc.name);
      const monitor = health ? health.profileMonitorStatus
        : (props.monitorConfig || {}).profileMonitorStatus;
      const endpoints = health ? health.endpoints : [];
      const online = endpoints.filter((e) => e.endpointMonitorStatus === 'Online').length;
      const dns = props.dnsConfig || {};
      const link = el('a', { href: `#profile-${enc(doc.name)}`, textContent: doc.name });
      return el('tr', { 'data-profile': doc.name },
        el('th', { scope: 'row' }, link),
        el('td', {}, badge(props.profileStatus || 'Enabled')),
        el('td', {}, badge(monitor), health && health.failOpen ? badge('FAIL-OPEN') : null),
        el('td', { textContent: props.trafficRoutingMethod || '' }),
        el('td', { textContent: dns.fqdn || dns.relativeName || '' }),
        el('td', { textContent: dns.ttl === undefined ? '' : `${dns.ttl} s` }),
        el('td', { textContent: health ? `${online} / ${endpoints.length}` : '' }),
        el('td', { className: 'rate', textContent: state.metricsOff ? '' : formatRate(profileRate(doc.name)) }));
    });
    replaceRows($('profiles-table').tBodies[0], rows);
  }

  /** One section per profile, kept across renders (the observer watches them). */
  function renderDetails() {
    const container = $('profile-details');
    const wanted = new Set(state.profiles.map((p) => p.name));
    for (const section of [...container.children]) {
      if (!wanted.has(section.dataset.profile)) {
        state.observer.unobserve(section);
        section.remove();
      }
    }
    for (const doc of state.profiles) {
      let section = [...container.children].find((s) => s.dataset.profile === doc.name);
      if (!section) {
        section = profileSection(doc.name);
        container.append(section);
        state.observer.observe(section);
      }
      container.append(section); // keeps the API's order
      const health = state.status.get(doc.name) || null;
      const rates = (doc.properties && doc.properties.endpoints || [])
        .map((e) => formatRate(answerRate(`${doc.name}/${e.name}`)));
      const key = JSON.stringify([doc, health && { ...health, events: undefined }, state.canWrite, rates]);
      renderIfChanged(section.querySelector('.content'), key, () => profileContent(doc, health));
    }
  }

  function profileSection(name) {
    const title = el('h2', { textContent: `Profile ${name}` });
    const section = el('section', {
      className: 'panel profile', id: `profile-${enc(name)}`, 'data-profile': name,
      'aria-label': `Profile ${name}`,
    }, title, el('div', { className: 'content' }));
    return section;
  }

  /** A profile's facts line and its endpoints table. */
  function profileContent(doc, health) {
    const props = doc.properties || {};
    const monitor = props.monitorConfig || {};
    const facts = el('p', { className: 'facts' },
      badge(health ? health.profileMonitorStatus : monitor.profileMonitorStatus),
      health && health.failOpen ? badge('FAIL-OPEN') : null,
      ` ${props.trafficRoutingMethod || ''} · ${(props.dnsConfig || {}).fqdn || ''}`,
      monitor.protocol ? ` · probes ${monitor.protocol} port ${monitor.port || ''}${monitor.path || ''}` : '',
      props.trafficViewEnrollmentStatus === 'Enabled' ? ' · Traffic View on' : '');
    const probes = new Map(((health && health.endpoints) || []).map((e) => [e.name, e]));
    // In a fleet, a column with each node's view beside the verdict.
    const fleet = [...probes.values()].some((e) => (e.nodes || []).length > 0);
    const head = el('tr', {}, ...['Endpoint', 'Type', 'Target', 'Priority', 'Weight', 'Status',
      'Monitor status', fleet ? 'Node views' : null, 'Last probe', 'Latency', 'Served now', state.metricsOff ? null : 'Answers/s', 'Override', 'Action']
      .filter(Boolean).map((h) => el('th', { scope: 'col', textContent: h })));
    const rows = (props.endpoints || [])
      .map((e) => endpointRow(doc.name, e, probes.get(e.name), fleet));
    const table = el('table', { className: 'endpoints', 'aria-label': `Endpoints of ${doc.name}` },
      el('thead', {}, head), el('tbody', {}, ...rows));
    return [facts, table];
  }

  function endpointRow(profile, endpoint, health, fleet) {
    const props = endpoint.properties || {};
    const enabled = (props.endpointStatus || 'Enabled') !== 'Disabled';
    const probe = health && health.lastProbe;
    const probeCell = el('td', {});
    if (probe) {
      probeCell.append(el('span', { className: probe.healthy ? 'ok' : 'bad', textContent: probe.result }),
        el('small', { textContent: ` ${ago(probe.timeMs)}` }));
    } else {
      probeCell.textContent = health ? 'not probed' : '';
    }
    return el('tr', { 'data-endpoint': endpoint.name },
      el('th', { scope: 'row', textContent: endpoint.name }),
      el('td', { textContent: endpointType(endpoint).replace(/Endpoints$/, '') }),
      el('td', { className: 'target', textContent: endpointTarget(props) }),
      el('td', { textContent: props.priority ?? '' }),
      el('td', { textContent: props.weight ?? '' }),
      el('td', {}, badge(enabled ? 'Enabled' : 'Disabled')),
      el('td', { className: 'monitor' },
        badge(health ? health.endpointMonitorStatus : props.endpointMonitorStatus)),
      fleet ? nodeViews(health) : null,
      probeCell,
      el('td', { textContent: probe && probe.latencyMs !== undefined ? `${probe.latencyMs} ms` : '' }),
      el('td', { textContent: health ? (health.servedNow ? 'yes' : 'no') : '' }),
      state.metricsOff ? null : el('td', { className: 'rate', textContent: formatRate(answerRate(`${profile}/${endpoint.name}`)) }),
      overrideCell(profile, endpoint, health),
      el('td', {}, state.canWrite ? toggleButton(profile, endpoint, enabled) : null));
  }

  /**
   * An operator override in effect (status's `override`): what it forces, why, until when, and
   * a Clear button; else an Override… button that opens the dialog.
   */
  function overrideCell(profile, endpoint, health) {
    const forced = health && health.override;
    const cell = el('td', { className: 'override' });
    if (forced) {
      const until = forced.expiresAt ? `until ${new Date(forced.expiresAt).toLocaleTimeString()}` : 'until cleared';
      cell.append(badge(`Forced ${forced.state}`),
        el('small', { className: 'reason', textContent: ` ${forced.reason} (${until})` }));
    }
    if (!state.canWrite) return cell;
    const verb = forced ? 'Clear override' : 'Override';
    const button = el('button', {
      type: 'button', textContent: forced ? 'Clear' : 'Override…',
      'aria-label': `${verb} ${profile}/${endpoint.name}`,
    });
    button.addEventListener('click', () => (forced
      ? clearOverride(profile, endpoint, button) : openOverride(profile, endpoint)));
    cell.append(' ', button);
    return cell;
  }

  /** Each live node's view of the endpoint ("n1 Online", "n2 Degraded"), the reason as a tooltip. */
  function nodeViews(health) {
    const views = (health && health.nodes) || [];
    return el('td', { className: 'nodes' }, ...views.map((v) => el('span', {
      className: 'view', title: v.reason || '', textContent: `${v.node} ${v.status}`,
    })));
  }

  /** Enable or Disable, labelled with the endpoint and profile for screen readers (and tests). */
  function toggleButton(profile, endpoint, enabled) {
    const verb = enabled ? 'Disable' : 'Enable';
    const button = el('button', {
      type: 'button', textContent: verb, className: enabled ? 'danger' : '',
      'aria-label': `${verb} ${profile}/${endpoint.name}`,
    });
    button.addEventListener('click', () => setEndpointStatus(profile, endpoint, !enabled, button));
    return button;
  }

  /** Every profile's recent events, newest first. */
  function renderEvents() {
    const events = [...state.status.values()].flatMap((s) => s.events || [])
      .sort((a, b) => b.timeMs - a.timeMs).slice(0, MAX_EVENTS);
    const key = JSON.stringify(events);
    renderIfChanged($('events'), key, () => (events.length ? events.map(eventItem)
      : [el('li', { className: 'muted', textContent: 'No health events yet.' })]));
  }

  function eventItem(e) {
    const time = el('time', { dateTime: new Date(e.timeMs).toISOString(), textContent: new Date(e.timeMs).toLocaleTimeString() });
    const who = e.node ? ` (node ${e.node})` : '';
    const kind = e.kind && e.kind !== 'probe' ? `${e.kind}: ` : '';
    return el('li', {}, time, ` ${kind}${e.profile}/${e.endpoint}${who} `,
      badge(e.from), ' → ', badge(e.to), ` ${e.reason || ''}`);
  }

  /** The query rates panel: the total, a chart of the last minutes, one row per profile. */
  function renderRates() {
    const m = state.metrics;
    $('rates').hidden = state.metricsOff || !m;
    if (!m) return;
    const total = rate(m.current, m.previous, (c) => sum(c.profiles));
    const peak = state.history.length ? Math.max(...state.history) : null;
    $('rates-total').textContent = `${formatRate(total)} DNS responses/s now · `
      + `peak ${formatRate(peak)}/s in the last ${Math.round((CHART_POINTS * METRICS_MS) / 60000)} min · `
      + `${sum(m.current.profiles)} since start`;
    renderChart($('rates-chart'), state.history);
    const names = [...state.profiles.map((p) => p.name), ''];
    const rows = names.filter((n) => m.current.profiles.has(n) || n !== '').map((name) => {
      const counts = m.current.profiles.get(name) || { total: 0, byRcode: new Map() };
      const rcodes = [...counts.byRcode].filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
      return el('tr', { 'data-profile': name },
        el('th', { scope: 'row', textContent: name || '(no such profile)' }),
        el('td', { className: 'rate', textContent: formatRate(profileRate(name)) }),
        el('td', { className: 'count', textContent: counts.total }),
        el('td', { textContent: rcodes.join(', ') }));
    });
    replaceRows($('rates-table').tBodies[0], rows);
  }

  /** The Traffic View panel: the profile choice, a chart of queries per minute, the totals. */
  function renderTraffic() {
    const names = enrolled();
    const select = $('traffic-profile');
    renderIfChanged(select, JSON.stringify(names),
      () => names.map((n) => el('option', { value: n, textContent: n })));
    const view = state.traffic;
    const shown = Boolean(view && names.length);
    $('traffic-chart').hidden = !shown;
    $('traffic-table').hidden = !shown;
    if (!names.length) {
      $('traffic-summary').textContent = 'No profile is enrolled. Set trafficViewEnrollmentStatus: '
        + 'Enabled on a profile to count its queries by client location and endpoint.';
      return;
    }
    if (!view) return;
    if (select.value !== view.name) select.value = view.name;
    const total = view.totals.reduce((n, r) => n + r.queries, 0);
    $('traffic-summary').textContent = `${view.name}: ${total} queries from ${new Date(view.since).toLocaleString()} `
      + `to ${new Date(view.until).toLocaleTimeString()} (buckets of ${view.bucketSeconds} s)`;
    renderChart($('traffic-chart'), perMinute(view), view.minutes);
    const rows = view.totals.map((r) => el('tr', {},
      el('th', { scope: 'row', textContent: r.location }),
      el('td', { textContent: r.endpoint }),
      el('td', { className: 'count', textContent: r.queries }),
      el('td', {}, el('meter', { min: 0, max: total || 1, value: r.queries,
        'aria-label': `${r.location} ${r.endpoint} share` }),
      ` ${total ? Math.round((100 * r.queries) / total) : 0} %`)));
    replaceRows($('traffic-table').tBodies[0], rows.length ? rows
      : [el('tr', {}, el('td', { colSpan: 4, className: 'muted', textContent: 'No queries in this window.' }))]);
  }

  /** Queries per minute over the view's window, oldest first, zero where no bucket is. */
  function perMinute(view) {
    const minutes = view.minutes;
    const end = Math.floor(new Date(view.until).getTime() / 60000);
    const counts = new Array(minutes).fill(0);
    for (const bucket of view.buckets) {
      const i = minutes - 1 - (end - Math.floor(new Date(bucket.start).getTime() / 60000));
      if (i >= 0 && i < minutes) counts[i] += bucket.rows.reduce((n, r) => n + r.queries, 0);
    }
    return counts;
  }

  /**
   * A line chart of `points` (one per metrics read, the newest on the right, scaled to the
   * largest) as SVG, drawn with attributes and classes only (the CSP allows no inline style).
   */
  function renderChart(container, points, slots = CHART_POINTS) {
    const NS = 'http://www.w3.org/2000/svg';
    const width = 600;
    const height = 80;
    const max = Math.max(1, ...points);
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${width} ${height + 4}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    const step = width / Math.max(1, slots - 1);
    const offset = (slots - points.length) * step;
    const coords = points.map((p, i) =>
      `${(offset + i * step).toFixed(1)},${(height - (p / max) * height + 2).toFixed(1)}`);
    const axis = document.createElementNS(NS, 'line');
    for (const [k, v] of Object.entries({ x1: 0, y1: height + 2, x2: width, y2: height + 2, class: 'axis' })) {
      axis.setAttribute(k, v);
    }
    svg.append(axis);
    if (coords.length > 1) {
      const line = document.createElementNS(NS, 'polyline');
      line.setAttribute('points', coords.join(' '));
      line.setAttribute('class', 'series');
      svg.append(line);
    }
    container.replaceChildren(svg);
  }

  /** This node and the fleet: one row per live node, this one first. */
  function renderNodes() {
    const n = state.nodes;
    if (!n) return;
    $('nodes-summary').textContent =
      `This node: ${n.node} · store ${n.store} · health quorum ${n.healthQuorum}`;
    const rows = (n.nodes || []).map((node) => el('tr', {},
      el('th', { scope: 'row', textContent: node.self ? `${node.name} (this node)` : node.name }),
      el('td', { textContent: node.lastHeartbeatMs ? ago(node.lastHeartbeatMs) : '' }),
      el('td', { textContent: node.appliedRevision ?? '' }),
      el('td', { textContent: node.etcdConnected === null || node.etcdConnected === undefined ? ''
        : (node.etcdConnected ? 'connected' : 'not connected') }),
      el('td', { textContent: node.probeSource || '' }),
      el('td', { textContent: node.version || '' })));
    replaceRows($('nodes-table').tBodies[0], rows);
  }

  function renderExplainChoices() {
    const select = $('explain-profile');
    const names = state.profiles.map((p) => p.name);
    const key = JSON.stringify(names);
    if (select.dataset.key === key) return;
    const chosen = select.value;
    renderIfChanged(select, key, () => names.map((n) => el('option', { value: n, textContent: n })));
    if (names.includes(chosen)) select.value = chosen;
  }

  // ---- actions ------------------------------------------------------------------------------

  /** PATCHes an endpoint's endpointStatus, then reads everything again. */
  async function setEndpointStatus(profile, endpoint, enable, button) {
    button.disabled = true;
    showMessage('');
    const path = `/api/v1/profiles/${enc(profile)}/${enc(endpointType(endpoint))}/${enc(endpoint.name)}`;
    try {
      await api('PATCH', path, { properties: { endpointStatus: enable ? 'Enabled' : 'Disabled' } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        state.canWrite = false; // a reader token: hide the controls from now on
        showMessage(`Not allowed: ${error.message}`);
      } else if (!(error instanceof ApiError && error.status === 401)) {
        showMessage(`${profile}/${endpoint.name}: ${error.message}`);
      } else {
        handleFailure(error);
        return;
      }
    }
    button.disabled = false;
    start();
  }

  /** The override dialog for one endpoint. */
  function openOverride(profile, endpoint) {
    state.overrideTarget = { profile, endpoint };
    $('override-title').textContent = `Override ${profile}/${endpoint.name}`;
    $('override-error').textContent = '';
    $('override-reason').value = '';
    $('override-dialog').showModal();
    $('override-reason').focus();
  }

  /** The override API path of an endpoint. */
  function overridePath(profile, endpoint) {
    return `/api/v1/profiles/${enc(profile)}/${enc(endpointType(endpoint))}/${enc(endpoint.name)}/override`;
  }

  /** PUTs the override the dialog describes; the dialog stays open with the API's error. */
  async function onOverride(event) {
    event.preventDefault();
    const { profile, endpoint } = state.overrideTarget || {};
    if (!profile) return;
    const body = { state: $('override-state').value, reason: $('override-reason').value.trim() };
    if ($('override-for').value) body.for = $('override-for').value;
    try {
      await api('PUT', overridePath(profile, endpoint), body);
      $('override-dialog').close();
      start();
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        state.canWrite = false;
        $('override-dialog').close();
        showMessage(`Not allowed: ${error.message}`);
        start();
      } else if (error instanceof ApiError && error.status === 401) {
        $('override-dialog').close();
        handleFailure(error);
      } else {
        $('override-error').textContent = error.message;
      }
    }
  }

  async function clearOverride(profile, endpoint, button) {
    button.disabled = true;
    showMessage('');
    try {
      await api('DELETE', overridePath(profile, endpoint));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        handleFailure(error);
        return;
      }
      if (error instanceof ApiError && error.status === 403) state.canWrite = false;
      showMessage(`${profile}/${endpoint.name}: ${error.message}`);
    }
    start();
  }

  async function onExplain(event) {
    event.preventDefault();
    const profile = $('explain-profile').value;
    const client = $('explain-client').value.trim();
    const type = $('explain-type').value;
    const out = $('explain-result');
    try {
      const path = `/api/v1/profiles/${enc(profile)}/explain?clientIp=${enc(client)}&type=${enc(type)}`;
      out.replaceChildren(...explanation(await api('GET', path)));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) handleFailure(error);
      else out.replaceChildren(el('p', { className: 'error', role: 'alert', textContent: error.message }));
    }
  }

  /** The decision, its records and each step, as the API words them. */
  function explanation(x) {
    const records = (x.answer || []).map((a) => el('li', { textContent: `${a.record} (${a.profile}/${a.endpoint})` }));
    return [
      el('p', { className: 'decision' }, `${x.profile} ${x.type} for ${x.clientIp}: `, badge(x.outcome),
        ` ECS scope /${x.ecsScopePrefix}`),
      el('ul', { className: 'records', 'aria-label': 'Answer records' }, ...records),
      el('ol', { className: 'steps', 'aria-label': 'Decision steps' },
        ...(x.steps || []).map((s) => el('li', { textContent: s }))),
    ];
  }

  // ---- start --------------------------------------------------------------------------------

  function init() {
    state.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const name = entry.target.dataset.profile;
        if (entry.isIntersecting) state.visible.add(name);
        else state.visible.delete(name);
      }
    });
    $('login-form').addEventListener('submit', onSignIn);
    $('sign-out').addEventListener('click', onSignOut);
    $('explain-form').addEventListener('submit', onExplain);
    $('override-form').addEventListener('submit', onOverride);
    $('override-cancel').addEventListener('click', () => $('override-dialog').close());
    const reread = () => readTraffic().then(renderTraffic).catch(handleFailure);
    $('traffic-profile').addEventListener('change', reread);
    $('traffic-window').addEventListener('change', reread);
    $('traffic-form').addEventListener('submit', (event) => event.preventDefault());
    start();
  }

  document.addEventListener('DOMContentLoaded', init);
})();
