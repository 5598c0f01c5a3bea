#!/usr/bin/env node
// check.mjs opens a local HTML file in real headless Chromium and reports,
// as one JSON object on stdout, whether it is a self-contained, working page.
//
// Usage:
//   node tools/browsercheck/check.mjs --html FILE [--widths 1400,400]
//       [--screenshot-dir DIR] [--screenshot-height H] [--color-scheme light|dark|both]
//
// --widths        comma-separated viewport widths in CSS px (default 1400,400);
//                 the viewport height is always 900.
// --color-scheme  light, dark, both, or a comma-separated list such as
//                 light,dark (default light); emulates prefers-color-scheme.
// --screenshot-dir  write a full-page PNG of every run there, named
//                 report-WIDTH-SCHEME.png, and report-WIDTH-SCHEME-nojs.png
//                 for the run with JavaScript disabled. Created if missing.
// --screenshot-height  with --screenshot-dir: the top H px of the page
//                 instead of the full page (docs/report*.png: 1100 at 1400
//                 px, 1600 at 400 px).
//
// The browser is /usr/bin/chromium (Debian's package `chromium`) unless the
// environment variable BROWSERCHECK_CHROMIUM names another executable.
//
// Runs: one per width and colour scheme (widths outer, schemes inner, in the
// order given), then one more at the first width and first scheme in a
// context with JavaScript disabled ("jsDisabled": true): the page must be
// readable without scripts. Every run uses a fresh browser context.
//
// Output (stdout, one JSON object):
//   {"runs":[{
//     "width": 1400, "colorScheme": "light", "jsDisabled": false,
//     "requests": [URL...],      // every request other than the file itself
//                                // and other than data:/blob: URLs; any
//                                // non-file: request is aborted (see below)
//     "dataRequests": [URL...],  // data: and blob: requests (in-page
//                                // resources), each cut to 120 characters
//     "failedRequests": ["URL (net::ERR_...)"...],  // includes the aborted ones
//     "consoleErrors": ["[error] text (url:line)", "[warning] text (...)",
//                       "[pageerror] message"...],  // plus a synthetic
//                       // "[load] the load event did not fire within 20 s (...)"
//                       // when the document never reaches readyState complete
//     "horizontalOverflow": false,  // scrollWidth > innerWidth + 1
//     "scrollWidth": 1400,          // document.documentElement.scrollWidth
//     "title": "...",               // document.title
//     "textLength": 1234,           // document.body.innerText.length
//     "svgCount": 3,                // outermost inline <svg> elements
//     "tablesWithoutCaptionOrDefinition": 0,  // see tableRule below
//     "namedImages": 10,            // elements with role="img" that have an
//                                   // accessible name: a non-blank aria-label,
//                                   // or an aria-labelledby whose elements
//                                   // hold non-blank text (charts)
//     "narrowCells": [{"text": "/wiki/Main_Page 12", "chars": 3.1,
//                      "table": "AI assistants: requests and…"}, ...],
//     "narrowCellCount": 1,         // see narrowCellRule below
//     "smallText": [{"text": "10-29", "px": 5.2}, ...],
//     "smallTextCount": 1,          // see smallTextRule below
//     "wideTables": [{"table": "AI crawlers: requests and…", "in": "ai",
//                     "width": 410, "box": 346}, ...],
//     "wideTableCount": 1,          // see wideTableRule below
//     "screenshot": "DIR/report-1400-light.png" or null
//   }, ...]}
//
// Readability (narrowCells, smallText, wideTables) is measured last, after
// the screenshot and the other measurements, with every <details> element
// of the page opened (the open attribute set), so that the tables and text a
// reader can unfold are measured too. Each list holds at most 20 entries,
// in document order; its count is the total. "text" is the element's
// text with white space collapsed, cut to 40 characters (and "…").
// Rendered: an element is rendered when checkVisibility({visibilityProperty:
// true, opacityProperty: true}) is true and its border box has a non-zero
// width and height.
//
// narrowCellRule: a rendered <td> or <th> with non-blank text is a narrow
// cell when
//   chars = (its content-box width: the width of getBoundingClientRect()
//            minus its used borders, offsetWidth - clientWidth (half of
//            each collapsed border), and its computed left and right
//            padding) / (the advance width of "0" in the cell's computed
//            font, measured on a canvas: the CSS ch unit)
// is under 8 AND its content does not fit in it: the width of the cell's
// contents laid out on one line (a Range over them, measured with the
// cell's white-space set to nowrap for the measurement only; forced breaks
// such as <br> still break) is more than 1 px over the content-box
// width. So a "#" cell holding "7" is not narrow, a date broken over two
// lines in a 5-character column is. "chars" is rounded to 0.1; "table" is
// the table's caption (cut to 40 characters), else its id, else the id of
// the closest element with an id, else "table N" (1-based, document
// order).
//
// smallTextRule: a rendered text node (in <body>, not inside <title>,
// <desc>, <script>, <style>, <noscript> or <template>; in SVG only inside
// <text>), and the generated text of a rendered element's ::before and
// ::after (their computed content when it holds a string or attr()), is
// small when its rendered font size is under 11 CSS px, "px" rounded to
// 0.1. The rendered size is the parent element's (or pseudo-element's)
// computed font-size; for SVG text, times the vertical scale of the text
// element's getScreenCTM() (hypot(c, d)), so that a 12-unit label in a
// viewBox drawn at half its size counts as 6 px. CSS transforms of HTML
// elements are not taken into account.
//
// wideTableRule: a rendered <table> is wide when its border box is more
// than 1 px wider than the client width of its box: the closest ancestor
// whose computed overflow-x is not "visible" (a scroll wrapper), else the
// viewport (document.documentElement.clientWidth). The reader has to
// scroll it sideways (or, without a wrapper, the page overflows). "width"
// and "box" are in CSS px, rounded; "table" names it as in
// narrowCellRule; "in" is the id of the closest ancestor with an id, or
// "". A wide table is not wrong in itself: the caller decides which
// tables must fit.
//
// Network: every request of every page of the context goes through
// context.route('**/*') (a superset of page.route: it covers popups and
// workers too). Requests for file: URLs are allowed to proceed (a missing
// local file then shows in failedRequests); every other request that
// reaches the network layer (http:, https:, ...) is recorded in "requests"
// and aborted (net::ERR_BLOCKED_BY_CLIENT), so the page never reaches the
// network. Once the file has loaded, navigations of the top-level page
// (location.href = ..., a meta refresh, a reload; file: included) are
// aborted as net::ERR_ABORTED (they show in failedRequests, and in requests
// unless they are for the file itself), which keeps the checked document on
// screen: the measurements are always of the file itself. WebSockets bypass route(): they are recorded in "requests", and
// as a second guard the browser's proxy is 127.0.0.1:9, which refuses
// connections, loopback included, so a WebSocket or anything else the
// interception missed fails on this machine (it shows in failedRequests or
// consoleErrors). Popups the page opens are recorded and closed.
//
// Exit status: 0 when the checks ran (whatever they found: the caller
// decides), 1 when a check could not be completed (for example the page did
// not load in time), 2 on usage errors (bad flags, missing file), 3 when the
// browser could not start. Diagnostics go to stderr.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const USAGE = 'usage: node tools/browsercheck/check.mjs --html FILE [--widths 1400,400] ' +
  '[--screenshot-dir DIR] [--screenshot-height H] [--color-scheme light|dark|both]';

const VIEWPORT_HEIGHT = 900;
const NAV_TIMEOUT_MS = 60_000;
const LOAD_TIMEOUT_MS = 20_000;
const DATA_URL_MAX = 120;
// Readability limits (see narrowCellRule and smallTextRule in the header).
const MIN_CELL_CHARS = 8;
const MIN_TEXT_PX = 11;
const MAX_ENTRIES = 20;
const TEXT_MAX = 40;

function usageError(msg) {
  process.stderr.write(`check.mjs: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { html: null, widths: [1400, 400], screenshotDir: null, screenshotHeight: 0, schemes: ['light'] };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) usageError(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--html':
        opts.html = next();
        break;
      case '--widths': {
        const raw = next();
        const widths = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
        if (widths.length === 0) usageError('--widths is empty');
        opts.widths = widths.map((s) => {
          if (!/^[0-9]+$/.test(s)) usageError(`bad width ${JSON.stringify(s)}`);
          const n = Number(s);
          if (n < 100 || n > 10000) usageError(`width ${n} out of range 100..10000`);
          return n;
        });
        break;
      }
      case '--screenshot-dir':
        opts.screenshotDir = next();
        if (opts.screenshotDir === '') usageError('--screenshot-dir is empty');
        break;
      case '--screenshot-height': {
        const n = Number(next());
        if (!Number.isInteger(n) || n < 100 || n > 100000) usageError('--screenshot-height: an integer of 100..100000');
        opts.screenshotHeight = n;
        break;
      }
      case '--color-scheme': {
        const raw = next().trim();
        const list = raw === 'both' ? ['light', 'dark'] : raw.split(',').map((s) => s.trim());
        for (const s of list) {
          if (s !== 'light' && s !== 'dark') usageError(`bad color scheme ${JSON.stringify(s)}`);
        }
        opts.schemes = [...new Set(list)];
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
      default:
        usageError(`unknown argument ${JSON.stringify(argv[i])}`);
    }
  }
  if (!opts.html) usageError('--html is required');
  let st;
  try {
    st = fs.statSync(opts.html);
  } catch (e) {
    usageError(`cannot read ${opts.html}: ${e.message}`);
  }
  if (!st.isFile()) usageError(`${opts.html} is not a regular file`);
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const htmlPath = path.resolve(opts.html);
const fileURL = pathToFileURL(htmlPath).href;

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  process.stderr.write(`check.mjs: cannot load playwright-core (run "npm ci" in tools/browsercheck): ${e.message}\n`);
  process.exit(3);
}

const executablePath = process.env.BROWSERCHECK_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  process.stderr.write(`check.mjs: no browser at ${executablePath} ` +
    '(install Debian\'s chromium: apt-get install -y --no-install-recommends chromium, ' +
    'or set BROWSERCHECK_CHROMIUM)\n');
  process.exit(3);
}

let browser;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    // launch() gives every browser a fresh temporary user data dir.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--dns-prefetch-disable',
    ],
    // Second guard (see the header): nothing that escapes interception can
    // leave the machine; 127.0.0.1:9 refuses connections.
    proxy: { server: 'http://127.0.0.1:9', bypass: '<-loopback>' },
    timeout: 60_000,
  });
} catch (e) {
  process.stderr.write(`check.mjs: could not start ${executablePath}: ${e.message}\n`);
  process.exit(3);
}

// sameDoc tells whether url is the checked file itself (fragment ignored).
function sameDoc(url) {
  const hash = url.indexOf('#');
  return (hash >= 0 ? url.slice(0, hash) : url) === fileURL;
}

function shortURL(url) {
  return url.length <= DATA_URL_MAX ? url : `${url.slice(0, DATA_URL_MAX)}…(${url.length} chars)`;
}

// measure runs in the page (also with JavaScript disabled: Playwright's
// evaluate works in its own world regardless) and returns the DOM facts.
function measure() {
  const doc = document;
  const root = doc.documentElement;

  // tableRule: a <table> counts in tablesWithoutCaptionOrDefinition unless
  // it is a layout table (role="presentation" or role="none") or at least
  // one of these holds:
  //   (a) it has a <caption> child with non-blank text;
  //   (b) its aria-describedby lists the id of an existing element that has
  //       class "definition" and non-blank text;
  //   (c) its previous element sibling has class "definition" and non-blank
  //       text; or, when the table is the first element child of its parent
  //       (a scroll wrapper such as <div class="scroll"><table>), the
  //       parent's previous element sibling does.
  const isDefinition = (el) => !!el && el.classList.contains('definition') &&
    (el.textContent || '').trim() !== '';
  let tablesWithout = 0;
  for (const table of doc.querySelectorAll('table')) {
    const role = (table.getAttribute('role') || '').trim().toLowerCase();
    if (role === 'presentation' || role === 'none') continue;
    const caption = table.caption;
    if (caption && (caption.textContent || '').trim() !== '') continue;
    const described = (table.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    if (described.some((id) => isDefinition(doc.getElementById(id)))) continue;
    if (isDefinition(table.previousElementSibling)) continue;
    if (!table.previousElementSibling && table.parentElement &&
        isDefinition(table.parentElement.previousElementSibling)) continue;
    tablesWithout++;
  }

  let svgCount = 0;
  for (const svg of doc.querySelectorAll('svg')) {
    if (!svg.parentElement || !svg.parentElement.closest('svg')) svgCount++;
  }

  let namedImages = 0;
  for (const el of doc.querySelectorAll('[role]')) {
    const roles = (el.getAttribute('role') || '').trim().toLowerCase().split(/\s+/);
    if (roles[0] !== 'img') continue;
    const label = (el.getAttribute('aria-label') || '').trim();
    const labelledBy = (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
      .map((id) => doc.getElementById(id)).filter(Boolean)
      .map((e) => (e.textContent || '').trim()).join('');
    if (label !== '' || labelledBy !== '') namedImages++;
  }

  const scrollWidth = root ? root.scrollWidth : 0;
  return {
    scrollWidth,
    innerWidth: window.innerWidth,
    title: doc.title || '',
    textLength: doc.body ? doc.body.innerText.length : 0,
    svgCount,
    tablesWithout,
    namedImages,
  };
}

// measureReadability runs in the page after measure() and the screenshot:
// it opens every <details> and applies narrowCellRule, smallTextRule and
// wideTableRule (see the header). The limits are its arguments.
function measureReadability({ minChars, minPx, maxEntries, textMax }) {
  const doc = document;
  for (const d of doc.querySelectorAll('details')) d.open = true;

  const squash = (s) => {
    const t = (s || '').replace(/\s+/g, ' ').trim();
    return t.length <= textMax ? t : `${t.slice(0, textMax)}…`;
  };
  const round1 = (v) => Math.round(v * 10) / 10;
  const rendered = (el) => {
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };

  // The width of "0" (1ch) per font, measured on a canvas.
  const ctx = doc.createElement('canvas').getContext('2d');
  const zeroWidths = new Map();
  const zeroWidth = (cs) => {
    const font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    if (!zeroWidths.has(font)) {
      ctx.font = font;
      zeroWidths.set(font, ctx.measureText('0').width);
    }
    return zeroWidths.get(font);
  };

  const tables = [...doc.querySelectorAll('table')];
  const tableName = (table) => {
    if (!table) return '';
    const caption = table.caption ? squash(table.caption.textContent) : '';
    if (caption !== '') return caption;
    if (table.id) return table.id;
    const withID = table.parentElement && table.parentElement.closest('[id]');
    if (withID) return withID.id;
    return `table ${tables.indexOf(table) + 1}`;
  };

  // Pass 1 measures every cell as laid out; pass 2 measures the one-line
  // width of the candidates, one at a time, restoring each cell's style.
  const candidates = [];
  for (const cell of doc.querySelectorAll('td, th')) {
    if ((cell.textContent || '').trim() === '' || !rendered(cell)) continue;
    const cs = getComputedStyle(cell);
    // offsetWidth - clientWidth: the borders as used (half of each
    // collapsed border), in whole px.
    const content = cell.getBoundingClientRect().width - (cell.offsetWidth - cell.clientWidth) -
      parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const zero = zeroWidth(cs);
    if (!(zero > 0)) continue;
    const chars = content / zero;
    if (chars < minChars) candidates.push({ cell, content, chars });
  }
  const narrowCells = [];
  let narrowCellCount = 0;
  for (const { cell, content, chars } of candidates) {
    const saved = cell.style.getPropertyValue('white-space');
    const priority = cell.style.getPropertyPriority('white-space');
    cell.style.setProperty('white-space', 'nowrap', 'important');
    const range = doc.createRange();
    range.selectNodeContents(cell);
    const needed = range.getBoundingClientRect().width;
    cell.style.removeProperty('white-space');
    if (saved !== '') cell.style.setProperty('white-space', saved, priority);
    if (needed <= content + 1) continue;
    narrowCellCount++;
    if (narrowCells.length < maxEntries) {
      narrowCells.push({ text: squash(cell.textContent), chars: round1(chars), table: tableName(cell.closest('table')) });
    }
  }

  const smallText = [];
  let smallTextCount = 0;
  const noteSmall = (text, px) => {
    if (px >= minPx) return;
    smallTextCount++;
    if (smallText.length < maxEntries) smallText.push({ text: squash(text), px: round1(px) });
  };
  const skip = 'title, desc, script, style, noscript, template';
  const SVG = 'http://www.w3.org/2000/svg';
  const renderedCache = new Map();
  const isRendered = (el) => {
    if (!renderedCache.has(el)) renderedCache.set(el, rendered(el));
    return renderedCache.get(el);
  };
  if (doc.body) {
    const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (!el || (node.nodeValue || '').trim() === '' || el.closest(skip)) continue;
      let scale = 1;
      if (el.namespaceURI === SVG) {
        const text = el.closest('text');
        if (!text) continue;
        const ctm = text.getScreenCTM();
        if (!ctm) continue;
        scale = Math.hypot(ctm.c, ctm.d);
      }
      if (!isRendered(el)) continue;
      noteSmall(node.nodeValue, parseFloat(getComputedStyle(el).fontSize) * scale);
    }
    // Generated text: content holding a string or attr().
    for (const el of doc.body.querySelectorAll('*')) {
      if (el.namespaceURI === SVG || el.closest(skip)) continue;
      for (const pseudo of ['::before', '::after']) {
        const cs = getComputedStyle(el, pseudo);
        const content = cs.content;
        if (!content || content === 'none' || content === 'normal') continue;
        if (!/["']|attr\(/.test(content)) continue;
        if (cs.display === 'none' || !isRendered(el)) continue;
        let text = content.replace(/attr\(\s*([^)\s]+)\s*\)/g, (_, name) => el.getAttribute(name) || '')
          .replace(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g, (_, a, b) => a !== undefined ? a : b);
        if (text.trim() === '') continue;
        noteSmall(text, parseFloat(cs.fontSize));
      }
    }
  }
  const wideTables = [];
  let wideTableCount = 0;
  for (const table of tables) {
    if (!rendered(table)) continue;
    let box = null;
    for (let a = table.parentElement; a && a !== doc.body && a !== doc.documentElement; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') {
        box = a.clientWidth;
        break;
      }
    }
    if (box === null) box = doc.documentElement.clientWidth;
    const width = table.getBoundingClientRect().width;
    if (width <= box + 1) continue;
    wideTableCount++;
    if (wideTables.length < maxEntries) {
      const withID = table.parentElement && table.parentElement.closest('[id]');
      wideTables.push({
        table: tableName(table), in: withID ? withID.id : '',
        width: Math.round(width), box: Math.round(box),
      });
    }
  }
  return { narrowCells, narrowCellCount, smallText, smallTextCount, wideTables, wideTableCount };
}

async function run(width, colorScheme, jsDisabled) {
  const context = await browser.newContext({
    viewport: { width, height: VIEWPORT_HEIGHT },
    colorScheme,
    javaScriptEnabled: !jsDisabled,
    serviceWorkers: 'block',
  });
  const requests = [];
  const dataRequests = [];
  const failedRequests = [];
  const consoleErrors = [];

  const isInline = (url) => url.startsWith('data:') || url.startsWith('blob:');

  // Interception: file: (and data:/blob:, should they ever be routed)
  // continues, everything else is aborted. Recording happens in the
  // listeners below, not here: Playwright's 'request' event sees every
  // request but data: and blob: ones, which a CDP session reports.
  //
  // Once the file has loaded, a navigation of the top-level page to any
  // other document (file: included) is aborted as cancelled (net::ERR_ABORTED),
  // which leaves the checked document in place; any other error code would
  // commit Chromium's error page, and the measurements would be of that.
  let page = null;
  let loaded = false;
  await context.route('**/*', async (route) => {
    const req = route.request();
    const url = req.url();
    let topNav = false;
    try {
      topNav = page !== null && req.isNavigationRequest() && req.frame() === page.mainFrame();
    } catch {
      // requests of workers have no frame
    }
    if (topNav && !(sameDoc(url) && !loaded)) {
      await route.abort('aborted').catch(() => {});
    } else if (url.startsWith('file:') || isInline(url)) {
      await route.continue().catch(() => {});
    } else {
      await route.abort('blockedbyclient').catch(() => {});
    }
  });

  page = await context.newPage();
  page.setDefaultTimeout(NAV_TIMEOUT_MS);
  page.on('request', (req) => {
    const url = req.url();
    if (!sameDoc(url) && !isInline(url)) requests.push(url);
  });
  const cdp = await context.newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (ev) => {
    if (isInline(ev.request.url)) dataRequests.push(shortURL(ev.request.url));
  });
  await cdp.send('Network.enable');
  page.on('requestfailed', (req) => {
    const failure = req.failure();
    failedRequests.push(`${shortURL(req.url())} (${failure ? failure.errorText : 'failed'})`);
  });
  // WebSockets are not subject to route(): recorded here, and the proxy
  // guard makes them fail on the loopback interface.
  page.on('websocket', (ws) => {
    requests.push(ws.url());
    ws.on('socketerror', (err) => failedRequests.push(`${ws.url()} (${err})`));
  });
  page.on('console', (msg) => {
    const type = msg.type();
    if (type !== 'error' && type !== 'warning') return;
    const loc = msg.location();
    const where = loc && loc.url ? ` (${shortURL(loc.url)}:${loc.lineNumber + 1})` : '';
    consoleErrors.push(`[${type}] ${msg.text()}${where}`);
  });
  page.on('pageerror', (err) => {
    consoleErrors.push(`[pageerror] ${err && err.message !== undefined ? err.message : String(err)}`);
  });
  // Popups opened by the page are recorded and closed at once.
  context.on('page', (p) => {
    if (p !== page) {
      requests.push(p.url() || '(popup)');
      p.close().catch(() => {});
    }
  });

  await page.goto(fileURL, { waitUntil: 'domcontentloaded', timeout: NAV_TIMEOUT_MS });
  loaded = true;
  // Wait for the load event by polling document.readyState: Playwright's own
  // lifecycle tracking can miss the event when the page starts (and we
  // cancel) a navigation while loading. A load that never completes is a
  // finding, not a reason to give up on the run.
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  let state = 'unknown';
  for (;;) {
    state = await page.evaluate(() => document.readyState).catch(() => 'unknown');
    if (state === 'complete' || Date.now() > deadline) break;
    await page.waitForTimeout(25);
  }
  if (state !== 'complete') {
    consoleErrors.push(`[load] the load event did not fire within ${LOAD_TIMEOUT_MS / 1000} s ` +
      `(document.readyState: ${state})`);
  }
  // Let fonts settle and give late script errors (a load handler, a
  // requestAnimationFrame callback) a moment to surface.
  await page.evaluate(async () => {
    if (document.fonts && document.fonts.ready) await document.fonts.ready;
  });
  await page.waitForTimeout(100);

  const m = await page.evaluate(measure);

  let screenshot = null;
  if (opts.screenshotDir) {
    screenshot = path.join(opts.screenshotDir,
      `report-${width}-${colorScheme}${jsDisabled ? '-nojs' : ''}.png`);
    const shot = { path: screenshot, fullPage: true, timeout: NAV_TIMEOUT_MS };
    if (opts.screenshotHeight > 0) {
      shot.clip = { x: 0, y: 0, width, height: opts.screenshotHeight };
    }
    await page.screenshot(shot);
  }
  const rd = await page.evaluate(measureReadability, {
    minChars: MIN_CELL_CHARS, minPx: MIN_TEXT_PX, maxEntries: MAX_ENTRIES, textMax: TEXT_MAX,
  });
  await context.close();

  return {
    width,
    colorScheme,
    jsDisabled,
    requests,
    dataRequests,
    failedRequests,
    consoleErrors,
    horizontalOverflow: m.scrollWidth > m.innerWidth + 1,
    scrollWidth: m.scrollWidth,
    title: m.title,
    textLength: m.textLength,
    svgCount: m.svgCount,
    tablesWithoutCaptionOrDefinition: m.tablesWithout,
    namedImages: m.namedImages,
    narrowCells: rd.narrowCells,
    narrowCellCount: rd.narrowCellCount,
    smallText: rd.smallText,
    smallTextCount: rd.smallTextCount,
    wideTables: rd.wideTables,
    wideTableCount: rd.wideTableCount,
    screenshot,
  };
}

let exitCode = 0;
try {
  if (opts.screenshotDir) fs.mkdirSync(opts.screenshotDir, { recursive: true });
  const runs = [];
  for (const width of opts.widths) {
    for (const scheme of opts.schemes) {
      runs.push(await run(width, scheme, false));
    }
  }
  runs.push(await run(opts.widths[0], opts.schemes[0], true));
  process.stdout.write(JSON.stringify({ runs }, null, 2) + '\n');
} catch (e) {
  process.stderr.write(`check.mjs: check failed on ${htmlPath}: ${e && e.stack ? e.stack : e}\n`);
  exitCode = 1;
} finally {
  await browser.close().catch(() => {});
}
process.exit(exitCode);
