// End-to-end test of Signpost's web dashboard in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser is downloaded). scripts/dashboard-test.sh runs it.
//
// Everything is real and on loopback: the signpost binary (SIGNPOST) on a fresh data directory,
// so it seeds the shipped example profiles, with an admin and a reader token; two HTTP servers
// (this process) standing in for a profile's endpoints; DNS answers read with dig. Screenshots go
// to SCREENSHOTS when it is set (the script sets docs/).

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const SIGNPOST = process.env.SIGNPOST;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOTS = process.env.SCREENSHOTS;
const ADMIN = 'admin-token-for-the-dashboard-test';
const READER = 'reader-token-for-the-dashboard-test';
const ZONE = 'trafficmanager.example';
const EXAMPLES = ['contoso', 'fastest', 'intranet', 'partners', 'rollout', 'shop'];
// The test's own profile: web/primary (127.0.0.11) before web/secondary (127.0.0.12).
const PRIMARY = '127.0.0.11';
const SECONDARY = '127.0.0.12';

let dir;
let server;        // the signpost child process
let api;           // "127.0.0.1:port"
let dns;           // { host, port }
let endpointPort;  // the port both endpoint servers listen on
const endpoints = new Map(); // address -> http.Server
let browser;
const pageErrors = []; // uncaught errors in the page's script, checked after every test

// ---- helpers -------------------------------------------------------------------------------

/** Polls `read` every 200 ms until `ok(value)` holds; fails after `ms` with the last value. */
async function eventually(what, read, ok, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await read(); } catch (e) { last = e; }
    if (ok(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(String(last))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The A answer for `name` in the zone, as dig +short prints it (one line per record). */
function dig(name) {
  return execFileSync('dig', ['+short', '+norec', '+time=1', '+tries=1', `@${dns.host}`, '-p',
    String(dns.port), `${name}.${ZONE}`, 'A'], { encoding: 'utf8' }).trim();
}

/** One API call with the admin token. */
async function call(method, path, body) {
  const response = await fetch(`http://${api}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${path}: HTTP ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? null : response.json();
}

/** An HTTP server answering 200 on `address`:`port` (port 0: any), standing in for an endpoint. */
function startEndpoint(address, port) {
  return new Promise((resolve, reject) => {
    const s = createServer((req, res) => res.end('ok\n'));
    s.once('error', reject);
    s.listen(port, address, () => { endpoints.set(address, s); resolve(s.address().port); });
  });
}

function stopEndpoint(address) {
  const s = endpoints.get(address);
  endpoints.delete(address);
  s.closeAllConnections();
  return new Promise((resolve) => s.close(resolve));
}

/**
 * Starts `signpost serve` on free ports with its data in `dataDir` and `tokens` (environment
 * variables), and reads the addresses it bound from its log.
 */
function startSignpost(dataDir, tokens) {
  const env = { ...process.env };
  delete env.SIGNPOST_ADMIN_TOKEN;
  delete env.SIGNPOST_READER_TOKEN;
  return new Promise((resolve, reject) => {
    const child = spawn(SIGNPOST, ['serve', '--data-dir', dataDir,
      '--dns-listen', '127.0.0.1:0', '--api-listen', '127.0.0.1:0', '--dns-workers', '1',
      '--probe-resolver', '127.0.0.1:9'], {
      cwd: dir,
      env: { ...env, ...tokens },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const found = {};
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
      log += text;
      const bound = /bound=127\.0\.0\.1:(\d+)/.exec(log);
      const listening = /REST API listening.* api=(\S+)/.exec(log);
      if (bound) found.dns = { host: '127.0.0.1', port: Number(bound[1]) };
      if (listening) found.api = listening[1];
      if (found.dns && found.api && !found.done) {
        found.done = true;
        resolve({ child, ...found });
      }
    });
    child.once('exit', (code) => reject(new Error(`signpost exited (${code}):\n${log}`)));
    // Never leave a server behind, even when this process ends on an error.
    process.once('exit', () => child.kill());
    setTimeout(() => reject(new Error(`signpost did not start:\n${log}`)), 20000);
  });
}

/** A fresh browser tab (its own sessionStorage) on the dashboard of `at` (default: the server). */
async function openDashboard(at = api) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'UTC',
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`http://${at}/`);
  return page;
}

async function signIn(page, token) {
  await page.getByLabel('API token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The row of `endpoint` in the section of `profile`. */
function endpointRow(page, profile, endpoint) {
  return page.getByRole('region', { name: `Profile ${profile}` }).getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: endpoint, exact: true }) });
}

/** Waits until the row's monitor status reads `status`. */
async function waitForMonitorStatus(page, profile, endpoint, status, timeout = 20000) {
  const row = endpointRow(page, profile, endpoint);
  // The section stays while its rows are rebuilt on changes: scroll it, not the row, into view
  // (the profiles on screen are the ones polled every 2 s).
  await page.getByRole('region', { name: `Profile ${profile}` }).scrollIntoViewIfNeeded();
  await row.locator('td.monitor', { hasText: new RegExp(`^${status}$`) }).waitFor({ timeout });
}

async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}.png`) });
}

// ---- setup ---------------------------------------------------------------------------------

before(async () => {
  assert.ok(SIGNPOST, 'SIGNPOST must name the signpost binary');
  dir = mkdtempSync(join(tmpdir(), 'signpost-dashboard-'));
  // Both endpoint servers share one port (a profile's monitorConfig.port is the profile's).
  for (let tries = 0; ; tries++) {
    endpointPort = await startEndpoint(PRIMARY, 0);
    try { await startEndpoint(SECONDARY, endpointPort); break; } catch (e) {
      await stopEndpoint(PRIMARY);
      if (tries > 20) throw e;
    }
  }
  ({ child: server, api, dns } = await startSignpost(join(dir, 'data'),
    { SIGNPOST_ADMIN_TOKEN: ADMIN, SIGNPOST_READER_TOKEN: READER }));
  // The example's probes go to port 8053 (the default API port); point them at this server's
  // API, so the example shows the mix its comments describe (contoso/us-east and partners/a2
  // Degraded, the rest Online).
  const apiPort = Number(api.split(':').pop());
  for (const name of EXAMPLES) {
    await call('PATCH', `/api/v1/profiles/${name}`, { properties: { monitorConfig: { port: apiPort } } });
  }
  await call('PUT', '/api/v1/profiles/web', {
    properties: {
      trafficRoutingMethod: 'Priority',
      trafficViewEnrollmentStatus: 'Enabled',
      dnsConfig: { relativeName: 'web', ttl: 5 },
      monitorConfig: { protocol: 'HTTP', port: endpointPort, path: '/', intervalInSeconds: 1,
        timeoutInSeconds: 1, toleratedNumberOfFailures: 0 },
      endpoints: [
        { name: 'primary', type: 'externalEndpoints', properties: { target: PRIMARY, priority: 1 } },
        { name: 'secondary', type: 'externalEndpoints', properties: { target: SECONDARY, priority: 2 } },
      ],
    },
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container: no sandbox; a closed network: nothing in the background.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterEach(() => {
  assert.deepEqual(pageErrors.splice(0), [], 'no script errors in the page');
});

after(async () => {
  await browser?.close();
  server?.kill();
  for (const address of [...endpoints.keys()]) await stopEndpoint(address);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- tests ---------------------------------------------------------------------------------

test('asks for a token and keeps it for the browser session only', async () => {
  const page = await openDashboard();
  await page.getByLabel('API token', { exact: true }).waitFor();
  await screenshot(page, 'login');
  await signIn(page, 'not-the-right-token-at-all');
  await page.getByText('The token was not accepted').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('signpost.token')), null);
  await signIn(page, ADMIN);
  await page.getByRole('table', { name: 'Profiles' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('signpost.token')), ADMIN);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
  // A reload keeps the tab's session; a new tab (new session) asks again.
  await page.reload();
  await page.getByRole('table', { name: 'Profiles' }).waitFor();
  const other = await openDashboard();
  await other.getByLabel('API token', { exact: true }).waitFor();
  // Forgetting the token asks for one again.
  await page.getByRole('button', { name: 'Forget token' }).click();
  await page.getByLabel('API token', { exact: true }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('signpost.token')), null);
  await page.context().close();
  await other.context().close();
});

test('lists the example profiles with their endpoints and health', async () => {
  const page = await openDashboard();
  await signIn(page, ADMIN);
  const table = page.getByRole('table', { name: 'Profiles' });
  for (const name of [...EXAMPLES, 'web']) {
    await table.getByRole('rowheader', { name, exact: true }).waitFor();
  }
  const contoso = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'contoso' }) });
  assert.match(await contoso.innerText(), /Priority/);
  assert.match(await contoso.innerText(), /contoso\.trafficmanager\.example/);
  // The example's intended mix, once the first probes are in.
  await waitForMonitorStatus(page, 'contoso', 'us-east', 'Degraded');
  await waitForMonitorStatus(page, 'contoso', 'eu-west', 'Online');
  await waitForMonitorStatus(page, 'partners', 'a2', 'Degraded');
  await waitForMonitorStatus(page, 'partners', 'a1', 'Online');
  const probe = await endpointRow(page, 'contoso', 'us-east').innerText();
  assert.match(probe, /connection refused/);
  assert.match(await endpointRow(page, 'contoso', 'eu-west').innerText(), /HTTP 200/);
  await page.getByRole('heading', { name: 'Recent health events' }).scrollIntoViewIfNeeded();
  await page.getByRole('list').filter({ hasText: 'contoso/us-east' }).first().waitFor();
  // This node, alone (no fleet), in the nodes panel.
  await page.getByRole('table', { name: 'Nodes' }).getByText('(this node)').waitFor();
  await page.getByText('store sqlite').waitFor();
  // Once two metrics reads have given rates.
  await eventually('a rate is known', () => contoso.locator('td.rate').innerText(), (t) => /^\d/.test(t));
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'overview');
  await page.context().close();
});

test('an endpoint goes Degraded when its server stops, and back', async () => {
  const page = await openDashboard();
  await signIn(page, ADMIN);
  await waitForMonitorStatus(page, 'web', 'primary', 'Online');
  assert.equal(dig('web'), PRIMARY);
  await stopEndpoint(PRIMARY);
  await waitForMonitorStatus(page, 'web', 'primary', 'Degraded');
  await eventually('the answer moves to the secondary', () => dig('web'), (a) => a === SECONDARY);
  await page.getByRole('region', { name: 'Profile web' }).scrollIntoViewIfNeeded();
  await screenshot(page, 'degraded');
  await startEndpoint(PRIMARY, endpointPort);
  await waitForMonitorStatus(page, 'web', 'primary', 'Online');
  await eventually('the answer is back on the primary', () => dig('web'), (a) => a === PRIMARY);
  await page.context().close();
});

test('a disable clicked in the page changes the DNS answer', async () => {
  const page = await openDashboard();
  await signIn(page, ADMIN);
  await waitForMonitorStatus(page, 'web', 'primary', 'Online');
  assert.equal(dig('web'), PRIMARY);
  await page.getByRole('button', { name: 'Disable web/primary' }).click();
  await eventually('the answer moves to the secondary', () => dig('web'), (a) => a === SECONDARY, 5000);
  const row = endpointRow(page, 'web', 'primary');
  await row.getByRole('button', { name: 'Enable web/primary' }).waitFor();
  assert.match(await row.innerText(), /Disabled/);
  await row.getByRole('button', { name: 'Enable web/primary' }).click();
  await eventually('the answer is back on the primary', () => dig('web'), (a) => a === PRIMARY, 5000);
  await row.getByRole('button', { name: 'Disable web/primary' }).waitFor();
  await page.context().close();
});

test('a reader token sees everything but cannot disable', async () => {
  const page = await openDashboard();
  await signIn(page, READER);
  await waitForMonitorStatus(page, 'web', 'primary', 'Online');
  await page.getByRole('button', { name: 'Disable web/primary' }).click();
  await page.getByText('Not allowed: this token may only read').waitFor();
  // The controls are gone, and nothing changed.
  await page.getByRole('button', { name: 'Disable web/primary' }).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Override web/primary' }).waitFor({ state: 'detached' });
  assert.equal(dig('web'), PRIMARY);
  await page.context().close();
});

test('the explain form shows the decision and its steps', async () => {
  const page = await openDashboard();
  await signIn(page, ADMIN);
  await page.getByRole('table', { name: 'Profiles' }).getByRole('rowheader', { name: 'web' }).waitFor();
  const form = page.getByRole('region', { name: 'Explain a decision' });
  await form.getByLabel('Profile', { exact: true }).selectOption('web');
  await form.getByLabel('Client address').fill('198.51.100.7');
  await form.getByLabel('Type').selectOption('A');
  await form.getByRole('button', { name: 'Explain' }).click();
  const records = page.getByRole('list', { name: 'Answer records' });
  await records.getByText(`A ${PRIMARY} (web/primary)`).waitFor();
  const steps = page.getByRole('list', { name: 'Decision steps' }).getByRole('listitem');
  assert.ok(await steps.count() >= 1, 'at least one step');
  // A bad address is the API's 400, shown in the page.
  await form.getByLabel('Client address').fill('not-an-address');
  await form.getByRole('button', { name: 'Explain' }).click();
  await page.getByRole('alert').filter({ hasText: 'clientIp' }).waitFor();
  await page.context().close();
});

test('Traffic View shows an enrolled profile\'s queries by client location and endpoint', async () => {
  const page = await openDashboard();
  await signIn(page, ADMIN);
  const panel = page.getByRole('region', { name: 'Traffic View' });
  await panel.getByLabel('Profile', { exact: true }).selectOption('web');
  const table = panel.getByRole('table', { name: 'Traffic View by location and endpoint' });
  const row = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: '127.0.0.0/24' }) })
    .filter({ hasText: 'primary' });
  const queries = async () => Number(await row.locator('td.count').innerText({ timeout: 1000 }));
  const before = await queries().catch(() => 0);
  for (let i = 0; i < 12; i++) dig('web');
  // Without a GeoIP database the location is the client's /24 (dig asks from 127.0.0.1).
  await eventually('the queries are counted', queries, (n) => n >= before + 12, 25000);
  assert.match(await panel.innerText(), /web: \d+ queries/);
  await panel.getByLabel('Window', { exact: true }).selectOption('60');
  await eventually('the last hour holds them too', queries, (n) => n >= before + 12, 5000);
  await page.getByRole('heading', { name: 'Traffic View' }).scrollIntoViewIfNeeded();
  await screenshot(page, 'traffic');
  await page.context().close();
});

test('an override forced in the page moves the answer, and clearing it moves it back', async () => {
  const page = await openDashboard();
  await signIn(page, ADMIN);
  await waitForMonitorStatus(page, 'web', 'primary', 'Online');
  assert.equal(dig('web'), PRIMARY);
  // Force down, with a reason and a duration.
  await page.getByRole('button', { name: 'Override web/primary' }).click();
  const dialog = page.getByRole('dialog', { name: 'Override web/primary' });
  await dialog.getByLabel('Force', { exact: true }).selectOption('Degraded');
  await dialog.getByLabel('Reason', { exact: true }).fill('maintenance window');
  await dialog.getByLabel('For', { exact: true }).selectOption('10m');
  await dialog.getByRole('button', { name: 'Apply override' }).click();
  await eventually('forced down: the answer moves to the secondary', () => dig('web'), (a) => a === SECONDARY, 5000);
  const row = endpointRow(page, 'web', 'primary');
  await row.getByText('Forced Degraded').waitFor();
  await row.getByText('maintenance window', { exact: false }).waitFor();
  await waitForMonitorStatus(page, 'web', 'primary', 'Degraded');
  await page.getByRole('region', { name: 'Profile web' }).scrollIntoViewIfNeeded();
  await screenshot(page, 'override');
  await row.getByRole('button', { name: 'Clear override web/primary' }).click();
  await eventually('cleared: the answer is back on the primary', () => dig('web'), (a) => a === PRIMARY, 5000);
  await row.getByRole('button', { name: 'Override web/primary' }).waitFor();
  // Force up an endpoint whose server is down: it is served anyway, until cleared.
  await stopEndpoint(PRIMARY);
  try {
    await waitForMonitorStatus(page, 'web', 'primary', 'Degraded');
    await eventually('down: the secondary answers', () => dig('web'), (a) => a === SECONDARY);
    await page.getByRole('button', { name: 'Override web/primary' }).click();
    await dialog.getByLabel('Force', { exact: true }).selectOption('Online');
    await dialog.getByLabel('Reason', { exact: true }).fill('probe path broken, service fine');
    await dialog.getByLabel('For', { exact: true }).selectOption('');
    await dialog.getByRole('button', { name: 'Apply override' }).click();
    await eventually('forced up: the primary answers again', () => dig('web'), (a) => a === PRIMARY, 5000);
    await row.getByText('until cleared', { exact: false }).waitFor();
    await row.getByRole('button', { name: 'Clear override web/primary' }).click();
    await eventually('cleared: the secondary again', () => dig('web'), (a) => a === SECONDARY, 5000);
  } finally {
    await startEndpoint(PRIMARY, endpointPort);
  }
  await waitForMonitorStatus(page, 'web', 'primary', 'Online');
  // An override without a reason is refused by the API, and the dialog says why.
  await page.getByRole('button', { name: 'Override web/primary' }).click();
  await dialog.getByLabel('Reason', { exact: true }).fill('   ');
  await dialog.getByRole('button', { name: 'Apply override' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'reason' }).waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(dig('web'), PRIMARY);
  await page.context().close();
});

test('query rates come from the server\'s counters', async () => {
  const page = await openDashboard();
  await signIn(page, ADMIN);
  const rates = page.getByRole('table', { name: 'Query rates by profile' });
  await rates.waitFor({ timeout: 15000 });
  const row = (name) => rates.getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name, exact: true }) });
  const count = async (name) => Number(await row(name).locator('td.count').innerText());
  const before = await count('web');
  // Queries while the page watches: the rate shows them, the count since start adds them up.
  let sent = 0;
  let stop = false;
  const load = (async () => {
    while (!stop) {
      dig('web');
      sent += 1;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await eventually('web\'s responses/s', async () => Number(await row('web').locator('td.rate').innerText()),
      (r) => r > 0);
    await eventually('the primary\'s answers/s', async () => Number(await endpointRow(page, 'web', 'primary')
      .locator('td.rate').innerText()), (r) => r > 0);
  } finally {
    stop = true;
    await load;
  }
  await eventually('web\'s count since start', () => count('web'), (n) => n >= before + sent, 15000);
  // A name that is no profile is counted apart.
  execFileSync('dig', ['+short', '+norec', `@${dns.host}`, '-p', String(dns.port), `nothere.${ZONE}`, 'A']);
  await row('(no such profile)').getByText('NXDOMAIN').waitFor({ timeout: 15000 });
  await page.getByRole('heading', { name: 'Query rates' }).scrollIntoViewIfNeeded();
  await screenshot(page, 'rates');
  await page.context().close();
});

test('names are shown as text, never as markup, and reach the API encoded', async () => {
  const name = '<img src=x onerror=alert(1)> & "/x"';
  await call('PUT', '/api/v1/profiles/markup', {
    properties: {
      trafficRoutingMethod: 'Weighted',
      dnsConfig: { relativeName: 'markup', ttl: 5 },
      monitorConfig: { protocol: 'TCP', port: endpointPort },
      endpoints: [{ name, type: 'externalEndpoints', properties: { target: PRIMARY } }],
    },
  });
  try {
    const page = await openDashboard();
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
    await signIn(page, ADMIN);
    const section = page.getByRole('region', { name: 'Profile markup' });
    await section.getByRole('rowheader', { name, exact: true }).waitFor();
    assert.equal(await page.locator('main img').count(), 0, 'no element made from a name');
    // The name goes into the URL encoded: the PATCH finds the endpoint.
    await section.getByRole('button', { name: `Disable markup/${name}` }).click();
    await section.getByRole('button', { name: `Enable markup/${name}` }).waitFor();
    await eventually('the profile has no enabled endpoint left', () => dig('markup'), (a) => a === '');
    assert.equal(dialogs, 0);
    await page.context().close();
  } finally {
    await call('DELETE', '/api/v1/profiles/markup');
  }
});

test('without tokens configured the page asks for none', async () => {
  const open = await startSignpost(join(dir, 'open-data'), {});
  try {
    const page = await openDashboard(open.api);
    await page.getByRole('table', { name: 'Profiles' }).getByRole('rowheader', { name: 'contoso' }).waitFor();
    assert.equal(await page.getByLabel('API token', { exact: true }).isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Forget token' }).isVisible(), false);
    await page.getByRole('button', { name: 'Disable contoso/us-east' }).waitFor();
    await page.context().close();
  } finally {
    open.child.kill();
  }
});
