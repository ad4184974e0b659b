// The console in a real browser (Debian chromium, driven by playwright-core): two people work the
// reference case end to end. Started by scripts/browser-tests.sh, which runs `tocsin serve
// --seed-reference` and passes where it is through the environment:
//   TOCSIN_URL        base URL of the server (http://127.0.0.1:PORT)
//   TOCSIN_OUTBOX     the file channel's root (the recipients' side: where warnings arrive)
//   TOCSIN_ARTIFACTS  where screenshots go
//   ANALYST_USER / ANALYST_PASSWORD, APPROVER_USER / APPROVER_PASSWORD   password logins, or
//   ANALYST_TOKEN / APPROVER_TOKEN                                       bearer-token logins
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync, statSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.TOCSIN_URL ?? assert.fail("TOCSIN_URL is not set");
const OUTBOX = process.env.TOCSIN_OUTBOX ?? assert.fail("TOCSIN_OUTBOX is not set");
const ARTIFACTS = process.env.TOCSIN_ARTIFACTS ?? "target/browser-artifacts";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const THREAT = "moscow-2024-03";
mkdirSync(ARTIFACTS, { recursive: true });

const who = (role) => ({
  role,
  username: process.env[`${role.toUpperCase()}_USER`],
  password: process.env[`${role.toUpperCase()}_PASSWORD`],
  token: process.env[`${role.toUpperCase()}_TOKEN`],
});
const analyst = who("analyst");
const approver = who("approver");

// Chromium's own background traffic (updates, sync, field trials) would try to leave this
// machine; these flags keep the browser on the loopback server only.
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-default-apps", "--disable-extensions", "--metrics-recording-only", "--mute-audio",
];

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = path.join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  // Readable on a laptop screen: nothing runs off the side at 1366×768.
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `${name}: the page is ${scroll} px wide in a ${width} px window`);
  return file;
}

/** A browser context per person, at a laptop's screen size; every request must stay on BASE. */
async function person(browser, p) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "en-GB" });
  const page = await context.newPage();
  page.offsite = [];
  page.cspErrors = [];
  page.on("request", (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) page.offsite.push(r.url()); });
  page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) page.cspErrors.push(m.text()); });
  page.on("pageerror", (e) => page.cspErrors.push(`page error: ${e.message}`));
  page.person = p;
  return page;
}

async function logIn(page) {
  const p = page.person;
  await page.goto(`${BASE}/`);
  await page.locator("#login-form").waitFor();
  if (p.password) {
    await page.getByLabel("Username").fill(p.username);
    await page.getByLabel("Password", { exact: true }).fill(p.password);
    await page.getByRole("button", { name: "Log in", exact: true }).click();
  } else {
    assert.ok(p.token, `no password and no token for the ${p.role}`);
    await page.getByText("Log in with an API token instead").click();
    await page.getByLabel("API token (tcn_…)").fill(p.token);
    await page.getByRole("button", { name: "Use token" }).click();
  }
  await page.locator("#whoami").waitFor();
  await page.locator("#threat-table").waitFor();
}

async function openTab(page, tab) {
  await page.goto(`${BASE}/#/threats/${THREAT}/${tab}`);
  await page.locator('.tabs a[aria-current="page"]').waitFor();
}

/** Files the file channel wrote under `address` (the recipient's mailbox). */
function delivered(address) {
  const dir = path.join(OUTBOX, address);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".json") && !f.startsWith(".")).map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")));
}

async function until(what, f, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A recipient on a phone: a small touch screen, in their own locale; every request stays on BASE. */
async function phone(browser, locale) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale });
  const page = await context.newPage();
  page.offsite = [];
  page.cspErrors = [];
  page.on("request", (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith("data:")) page.offsite.push(r.url()); });
  page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) page.cspErrors.push(m.text()); });
  page.on("pageerror", (e) => page.cspErrors.push(`page error: ${e.message}`));
  page.person = { role: `recipient (${locale})` };
  return page;
}

/**
 * The accessibility checks the recipient's page must pass (in place of axe-core, which is not
 * installed here): the document's language and direction, a title and a heading, a label for
 * every form control, a name for every button and link, 44 px touch targets, no script, and a
 * WCAG AA contrast ratio (4.5:1) for every piece of text against its background.
 */
async function recipientPageIsAccessible(page, lang, dir) {
  const r = await page.evaluate(() => {
    const lum = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
      if (a === 0) return null;
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bg = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const l = lum(getComputedStyle(e).backgroundColor);
        if (l !== null) return l;
      }
      return 1;
    };
    const lowContrast = [];
    for (const el of document.querySelectorAll("h1, h2, h3, p, label, legend, li, button, a, .text, .banner")) {
      if (!el.textContent.trim()) continue;
      const fg = lum(getComputedStyle(el).color);
      const b = bg(el);
      const ratio = (Math.max(fg, b) + 0.05) / (Math.min(fg, b) + 0.05);
      if (ratio < 4.5) lowContrast.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)}`);
    }
    const controls = [...document.querySelectorAll("input:not([type=hidden]), textarea, select")];
    return {
      lang: document.documentElement.lang,
      dir: document.documentElement.dir,
      title: document.title,
      h1: document.querySelectorAll("h1").length,
      unlabelled: controls.filter((e) => !e.labels?.length && !e.getAttribute("aria-label")).map((e) => e.name),
      unnamed: [...document.querySelectorAll("button, a")].filter((e) => !e.textContent.trim()).length,
      small: [...document.querySelectorAll("button, a.button, .check")].filter((e) => e.getBoundingClientRect().height < 44).map((e) => e.textContent.trim()),
      scripts: document.scripts.length,
      lowContrast,
    };
  });
  assert.equal(r.lang, lang);
  assert.equal(r.dir, dir);
  assert.ok(r.title && r.h1 === 1, `title ${r.title}, ${r.h1} h1`);
  assert.deepEqual(r.unlabelled, [], "every control is labelled");
  assert.equal(r.unnamed, 0, "every button and link has a name");
  assert.deepEqual(r.small, [], "touch targets are at least 44 px high");
  assert.equal(r.scripts, 0, "the page runs no script");
  assert.deepEqual(r.lowContrast, [], "text contrast is at least 4.5:1");
}

test("two people work the reference case end to end in the console", async (t) => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  t.after(() => browser.close());
  const a = await person(browser, analyst);
  const b = await person(browser, approver);
  // The recipients' phones (their pages are checked for other origins and CSP errors at the end).
  const recipientPages = [];
  let recipientNextPosture = null;

  await t.test("the console is served with a self-only Content-Security-Policy", async () => {
    const resp = await a.goto(`${BASE}/`);
    const csp = resp.headers()["content-security-policy"] ?? "";
    assert.match(csp, /^default-src 'self'/);
    await a.locator("#login-form").waitFor();
    // Every input is labelled; the first Tab reaches the skip link.
    const unlabelled = await a.$$eval("input", (els) => els.filter((e) => !e.labels?.length && !e.getAttribute("aria-label")).map((e) => e.id));
    assert.deepEqual(unlabelled, []);
    // From the top of the document (the login page itself focuses the username field).
    await a.evaluate(() => { document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute("tabindex"); });
    await a.keyboard.press("Tab");
    assert.equal(await a.evaluate(() => document.activeElement?.textContent), "Skip to content");
    // Focus is visible.
    const outline = await a.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none", "the focused skip link shows no outline");
    await screenshot(a, "login");
    if (analyst.password) {
      // A wrong password is refused in the form and nobody is logged in.
      await a.getByLabel("Username").fill(analyst.username);
      await a.getByLabel("Password", { exact: true }).fill(`${analyst.password}-wrong`);
      await a.getByRole("button", { name: "Log in", exact: true }).click();
      await until("the refusal", async () => /Login failed/.test(await a.locator("#login-error").innerText()));
      assert.equal(await a.locator("#whoami").count(), 0);
    }
  });

  await t.test("the analyst logs in and finds the reference case in the threat queue", async () => {
    await logIn(a);
    const row = a.locator("#threat-table tr", { hasText: "ISIS-K plans attacks on large gatherings in Moscow" });
    await row.waitFor();
    assert.match(await row.innerText(), /needs determination/);
    await screenshot(a, "threat-queue");
    await row.getByRole("link").click();
    await a.locator(".portions").waitFor();
    const portions = await a.locator(".portion").count();
    assert.equal(portions, 5, "the reference report has five marked portions");
    assert.match(await a.locator(".portions").innerText(), /TEARLINE \(U\)/);
    assert.match(await a.locator(".portions").innerText(), /\(S\/\/REL TO USA, RUS\)/);
    await screenshot(a, "threat-report");
  });

  await t.test("the map shows the matched venues, zoomed to Moscow", async () => {
    await a.getByRole("link", { name: "Matches and map" }).click();
    const marks = a.locator("svg.map .mark");
    await marks.first().waitFor();
    await until("the basemap", async () => (await a.locator("svg.map .land path").count()) > 100);
    const labels = await marks.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label")));
    assert.ok(labels.some((l) => l.includes("Crocus City Hall")), `map points: ${labels}`);
    assert.ok(labels.some((l) => /Synagogue/.test(l)), `map points: ${labels}`);
    const table = await a.locator("#match-table").innerText();
    assert.match(table, /Crocus City Hall/);
    // The view is fitted to the matches (Moscow region), not the world: under 5 degrees wide.
    const width = await a.locator("svg.map").evaluate((s) => Number(s.getAttribute("viewBox").split(" ")[2]));
    assert.ok(width < 5, `viewBox width ${width}`);
    // Keyboard zoom.
    await a.locator("svg.map").focus();
    await a.keyboard.press("+");
    const zoomed = await a.locator("svg.map").evaluate((s) => Number(s.getAttribute("viewBox").split(" ")[2]));
    assert.ok(zoomed < width, "+ zooms in");
    await a.keyboard.press("0");
    await screenshot(a, "matches-map");
  });

  await t.test("the analyst proposes the determination", async () => {
    await a.getByRole("link", { name: "Determination" }).click();
    // By keyboard: the button takes focus and Enter proposes.
    await a.locator("#propose").focus();
    await a.keyboard.press("Enter");
    await until("the proposal", async () => /awaiting a second person's approval/.test(await a.locator("#current-determination").innerText()));
    assert.match(await a.locator("#current-determination").innerText(), /WARN/);
    await screenshot(a, "determination-proposed");
  });

  await t.test("the approver logs in and approves it", async () => {
    await logIn(b);
    await openTab(b, "determination");
    await b.locator("#approve-determination").click();
    await until("the approval", async () => /approved/.test(await b.locator("#current-determination").innerText()));
    const text = await b.locator("#current-determination").innerText();
    assert.match(text, /approved by/);
    await screenshot(b, "determination-approved");
  });

  await t.test("the analyst composes: drafts side by side, each through the leak gate", async () => {
    await openTab(a, "warnings");
    await a.locator("#compose").click();
    await until("drafts", async () => (await a.locator("#drafts article.draft").count()) >= 3);
    const cards = await a.locator("#drafts article.draft").evaluateAll((els) => els.map((e) => ({ aud: e.dataset.audience, text: e.innerText })));
    for (const c of cards) {
      assert.match(c.text, /Leak gate: passed/, c.aud);
      assert.match(c.text, /specificity:/, c.aud);
      assert.doesNotMatch(c.text, /CARDINAL SPARROW|LANTERN GLASS|Herat/, `${c.aud} leaks a restricted term`);
    }
    // The verdict on each card is the server's (`leak_gate`, computed by the real gate on read).
    const headers = a.person.token ? { authorization: `Bearer ${a.person.token}` } : {};
    const ws = await (await a.context().request.get(`${BASE}/api/v1/warnings?threat=${THREAT}`, { headers })).json();
    for (const c of cards) {
      const g = ws.items.filter((w) => w.audience_id === c.aud).at(-1)?.leak_gate;
      assert.ok(g && g.passed === true, `${c.aud}: the server's verdict ${JSON.stringify(g)}`);
      assert.ok(c.text.includes(`${g.checked_terms} restricted term(s), ${g.withheld_portions} withheld portion(s) checked in ${g.checked_fields} field(s)`), `${c.aud}: card does not show the server's verdict: ${c.text}`);
    }
    const auds = cards.map((c) => c.aud).sort();
    assert.ok(auds.includes("fsb-liaison") && auds.includes("op-crocus"), `audiences: ${auds}`);
    // The public advisory names no venue; the partner's warning does.
    const pub = cards.find((c) => c.aud.startsWith("public"));
    if (pub) assert.match(pub.text, /area only|category and area/i);
    await screenshot(a, "warning-drafts");
  });

  await t.test("an edit that would reveal a source is refused by the leak gate", async () => {
    const card = a.locator('article.draft[data-audience="op-crocus"]');
    await card.locator('[data-action="edit-warning"]').click();
    const text = card.getByLabel("Text", { exact: true });
    await text.fill(`${await text.inputValue()}\nSource: CARDINAL SPARROW.`);
    await card.getByRole("button", { name: "Save draft" }).click();
    await until("the refusal", async () => /CARDINAL SPARROW|restricted|leak/i.test(await card.locator('[role="alert"]').innerText()));
    await screenshot(a, "leak-gate-refuses-edit");
    await card.getByRole("button", { name: "Cancel" }).click();
    await until("the card back", async () => (await a.locator('article.draft[data-audience="op-crocus"] pre.text').count()) === 1);
    assert.doesNotMatch(await a.locator('article.draft[data-audience="op-crocus"]').innerText(), /CARDINAL SPARROW/);
  });

  await t.test("a vague draft says why, and the analyst requests a release", async () => {
    const card = () => a.locator('article.draft[data-audience="op-crocus"]');
    await until("the advice", async () => (await card().locator("[data-specificity-advice]").count()) === 1);
    const advice = await card().locator("[data-specificity-advice]").innerText();
    assert.match(advice, /Crocus City Hall/, advice);
    assert.match(advice, /\(S\/\/REL TO USA, RUS\)/, advice);
    // The partner's warning names its target: nothing to advise there.
    assert.equal(await a.locator('article.draft[data-audience="fsb-liaison"] [data-specificity-advice]').count(), 0);
    await card().locator('[data-action="request-release"]').click();
    await until("the request recorded", async () => (await card().locator('[data-release-request="open"]').count()) === 1);
    assert.equal(await card().locator('[data-action="request-release"]').count(), 0, "one open request at a time");
    await screenshot(a, "release-requested");
  });

  await t.test("the approver approves every draft and queues them", async () => {
    await openTab(b, "warnings");
    await b.locator("#drafts article.draft").first().waitFor();
    const approveButtons = b.locator('[data-action="approve-warning"]');
    for (let i = 0; i < 10 && (await approveButtons.count()); i++) {
      const before = await approveButtons.count();
      await approveButtons.first().click();
      // A click that met a redraw is simply tried again.
      await until("the approval to show", async () => (await approveButtons.count()) < before, 10000).catch(() => {});
    }
    assert.equal(await approveButtons.count(), 0, "every draft is approved");
    // Queue what the scheduler has not queued already (partners and operators go at once; the
    // public advisory is held until the partners have theirs, so it is left to the scheduler).
    const queueable = b.locator('article.draft:not([data-audience^="public"]) [data-action="queue-warning"]');
    for (let i = 0; i < 5 && (await queueable.count()); i++) {
      await queueable.first().click();
      await b.waitForTimeout(400);
    }
    await until("the operator's warning to leave", async () => /queued|delivered/.test(await b.locator('article[data-audience="op-crocus"]').innerText()));
    await screenshot(b, "warnings-approved");
  });

  await t.test("deliveries arrive, the recipients acknowledge, the console shows it", async () => {
    const inbox = {};
    for (const address of ["liaison/fsb", "operators/crocus"]) {
      inbox[address] = await until(`a delivery in ${address}`, async () => delivered(address)[0]);
    }
    // The operator's warning is in Russian (op-crocus: language = "ru"), with Moscow times and
    // UTC beside them; the liaison's is in English.
    const ru = inbox["operators/crocus"].text;
    assert.match(ru, /Что проверить:/, ru);
    assert.match(ru, /\d{1,2} марта 2024, \d\d:\d\d MSK \(\d\d:\d\d UTC\)/, ru);
    assert.doesNotMatch(ru, /What to check|Acknowledge receipt/, ru);
    for (const [address, msg] of Object.entries(inbox)) {
      const link = msg.text.match(/(?:Acknowledge receipt|Подтвердить получение): (\S+)/)?.[1];
      assert.ok(link, `${address}: no acknowledgement link in ${msg.text}`);
      if (address === "operators/crocus") {
        // The venue's security manager opens the link on a phone: a Russian page, one form.
        const r = await phone(browser, "ru-RU");
        recipientPages.push(r);
        const resp = await r.goto(link);
        assert.equal(resp.status(), 200);
        assert.match(resp.headers()["content-security-policy"] ?? "", /^default-src 'self'/);
        await r.getByRole("heading", { level: 1 }).waitFor();
        assert.match(await r.locator("h1").innerText(), /Подтвердите получение/);
        assert.ok((await r.locator(".text").innerText()).includes("Что проверить:"), "the warning as the operator received it");
        await recipientPageIsAccessible(r, "ru", "ltr");
        await screenshot(r, "recipient-acknowledge-ru-phone");
        await r.getByRole("button", { name: "Подтвердить получение" }).click();
        await r.locator(".done").waitFor();
        assert.match(await r.locator(".done").innerText(), /Подтверждение получения предупреждения .* записано/);
        const next = await r.locator(".next").innerText();
        assert.match(next, /Следующее подтверждение мер: .*MSK \(.*UTC\)/, next);
        await screenshot(r, "recipient-acknowledged-ru-phone");
        // From the confirmation straight to the posture report.
        await r.getByRole("link", { name: "Сообщить о мерах сейчас" }).click();
        await r.getByRole("button", { name: "Сообщить о мерах" }).waitFor();
        await recipientPageIsAccessible(r, "ru", "ltr");
        await r.getByLabel("Усиленный досмотр посетителей и сумок").check();
        await r.getByLabel("Персонал проинструктирован").check();
        await r.getByLabel("Примечание (необязательно)").fill("Кинологи на всех входах");
        await screenshot(r, "recipient-posture-ru-phone");
        await r.getByRole("button", { name: "Сообщить о мерах" }).click();
        await r.locator(".done").waitFor();
        const done = await r.locator("main").innerText();
        assert.match(done, /Усиленный досмотр посетителей и сумок/);
        assert.match(done, /Кинологи на всех входах/);
        recipientNextPosture = await r.getByRole("link", { name: "Сообщить о мерах сейчас" }).getAttribute("href");
        await screenshot(r, "recipient-posture-recorded-ru-phone");
        // The spent link: a clear page, not JSON. An API client repeating the same request within
        // the grace period gets the recorded answer again (nothing is recorded twice).
        const spent = await r.goto(link);
        assert.equal(spent.status(), 410);
        assert.match(await r.locator(".refused").innerText(), /уже воспользовались/);
        const again = await fetch(link, { method: "POST" });
        assert.equal(again.status, 200);
        assert.equal((await again.json()).recorded, "acknowledgement");
        continue;
      }
      assert.ok(link.startsWith(BASE), `${address}: link ${link} does not point at this server`);
      const resp = await fetch(link, { method: "POST" });
      const first = await resp.text();
      assert.equal(resp.status, 200, `${address}: acknowledging answered ${resp.status} ${first}`);
      // The link is single-use, but a client that timed out may repeat the same request for a
      // short grace period and gets the same answer (docs/duty.md).
      const again = await fetch(link, { method: "POST" });
      assert.equal(again.status, 200);
      assert.deepEqual(await again.json(), JSON.parse(first));
    }
    await openTab(a, "timeline");
    await until("two acknowledgements in the console", async () => (await a.locator("#timeline li.ev-acknowledged").count()) >= 2);
    // The operator's posture report from the phone is on the analysts' timeline too.
    await until("the posture report in the console", async () => (await a.locator("#timeline li.ev-posture_confirmed").count()) >= 1);
    assert.match(await a.locator("#timeline li.ev-posture_confirmed").first().innerText(), /op-crocus.*extra screening, staff briefed; Кинологи на всех входах/);
    assert.match(await a.locator("#ack-count").innerText(), /^2 acknowledgement/);
    assert.match(await a.locator("#deliveries").innerText(), /delivered/);
    await screenshot(a, "timeline-acknowledged");
    await a.getByRole("link", { name: "Posture board" }).click();
    await a.locator("#posture-table").waitFor();
    assert.match(await a.locator("#posture-board .summary").innerText(), /^2 on guard/);
    // The board is the server's posture route (the scheduler's own tracks), not a guess from the
    // timeline: the recipients it shows on guard are exactly those GET /api/v1/posture says are.
    const headers = a.person.token ? { authorization: `Bearer ${a.person.token}` } : {};
    const resp = await a.context().request.get(`${BASE}/api/v1/posture`, { headers });
    assert.equal(resp.status(), 200, `GET /api/v1/posture answered ${resp.status()}`);
    const board = await resp.json();
    const onGuard = board.items.filter((i) => i.state === "on_guard").map((i) => i.audience_id).sort();
    assert.deepEqual(onGuard, ["fsb-liaison", "op-crocus"], JSON.stringify(board));
    const shown = (await a.locator('#posture-table [data-posture="on_guard"]').evaluateAll((els) => els.map((e) => e.dataset.audience))).sort();
    assert.deepEqual(shown, onGuard, "the board shows the route's on-guard recipients");
    const tableText = await a.locator("#posture-table").innerText();
    for (const i of board.items) assert.ok(tableText.includes(i.warning_id), `${i.warning_id} missing from the board`);
    await screenshot(a, "posture-board");
  });

  await t.test("a recipient says 'too general' on a phone, and an Arabic audience reads right to left", async () => {
    const msg = delivered("operators/crocus").find((m) => !m.notice);
    const feedback = msg.text.match(/Напишите нам: (\S+)/)?.[1];
    assert.ok(feedback, `no feedback link in ${msg.text}`);
    const r = await phone(browser, "ru-RU");
    recipientPages.push(r);
    await r.goto(feedback);
    await recipientPageIsAccessible(r, "ru", "ltr");
    await r.getByLabel("Что вам нужно знать, чтобы действовать?").fill("Какой вход и какое время?");
    await screenshot(r, "recipient-too-general-ru-phone");
    await r.getByRole("button", { name: "Отправить: слишком общее, нужно больше" }).click();
    await r.locator(".done").waitFor();
    assert.match(await r.locator("main").innerText(), /Какой вход и какое время\?/);
    // The analysts get a follow-up task from it.
    const headers = a.person.token ? { authorization: `Bearer ${a.person.token}` } : {};
    let csrf = {};
    if (!a.person.token) {
      const me = await (await a.context().request.get(`${BASE}/auth/me`)).json();
      csrf = { "x-csrf-token": me.csrf_token };
    }
    const tasks = await (await a.context().request.get(`${BASE}/api/v1/tasks`, { headers })).json();
    assert.ok(tasks.items.some((t) => /too general|Какой вход/i.test(JSON.stringify(t))), JSON.stringify(tasks));

    // The same audience switched to Arabic: its next posture page is right to left.
    const audUrl = `${BASE}/api/v1/audiences/op-crocus`;
    const aud = await (await a.context().request.get(audUrl, { headers })).json();
    const put = await a.context().request.put(audUrl, { headers: { ...headers, ...csrf, "content-type": "application/json" }, data: { ...aud, language: "ar" } });
    assert.equal(put.status(), 200, await put.text());
    assert.ok(recipientNextPosture?.startsWith("/r/"), `next posture link ${recipientNextPosture}`);
    const ar = await phone(browser, "ar");
    recipientPages.push(ar);
    await ar.goto(`${BASE}${recipientNextPosture}`);
    await recipientPageIsAccessible(ar, "ar", "rtl");
    assert.equal(await ar.locator("h1").innerText(), "أبلِغ عن إجراءات الحماية");
    // Right to left: the heading's text sits at the right edge.
    const [left, right, width] = await ar.locator("h1").evaluate((h) => { const r = document.createRange(); r.selectNodeContents(h); const b = r.getBoundingClientRect(); return [b.left, b.right, window.innerWidth]; });
    assert.ok(width - right < left, `h1 at ${left}..${right} of ${width}: not right-aligned`);
    await ar.getByLabel("كلاب الكشف").check();
    await screenshot(ar, "recipient-posture-ar-phone-rtl");
    await ar.getByRole("button", { name: "الإبلاغ عن الإجراءات" }).click();
    await ar.locator(".done").waitFor();
    assert.match(await ar.locator("main").innerText(), /كلاب الكشف/);
    await screenshot(ar, "recipient-posture-recorded-ar-phone-rtl");
    const back = await a.context().request.put(audUrl, { headers: { ...headers, ...csrf, "content-type": "application/json" }, data: aud });
    assert.equal(back.status(), 200, await back.text());
  });

  await t.test("self-approval is refused in the UI (two-person rule)", async () => {
    await openTab(b, "determination");
    await b.locator("#propose").click();
    await until("the re-proposal", async () => /awaiting/.test(await b.locator("#current-determination").innerText()));
    await b.locator("#approve-determination").click();
    await until("the refusal", async () => /two-person rule/.test(await b.locator("#alert").innerText()));
    assert.match(await b.locator("#current-determination").innerText(), /awaiting a second person's approval/);
    await screenshot(b, "self-approval-refused");
  });

  await t.test("registry and audit pages", async () => {
    await b.getByRole("link", { name: "Registry" }).click();
    await b.getByLabel("Filter by name, alias, category or city").fill("крокус");
    await until("the filtered registry", async () => /Crocus City Hall/.test(await b.locator("#entity-results").innerText()));
    await screenshot(b, "registry-filter");
    // Import through the console: a good file lands, a bad one is refused with its line.
    const dir = path.join(ARTIFACTS, "import");
    mkdirSync(dir, { recursive: true });
    const header = "id,name,aliases,category,lat,lon,capacity,city,country,operator\n";
    writeFileSync(path.join(dir, "venues.csv"), `${header}test-hall-krasnogorsk,Test Concert Hall Krasnogorsk,,venue/entertainment/concert_hall,55.8200,37.3300,1500,Krasnogorsk,RUS,\n`);
    writeFileSync(path.join(dir, "bad-venues.csv"), `${header}bad-hall,Bad Hall,,venue/entertainment/concert_hall,north,37.3,100,Moscow,RUS,\n`);
    await b.locator("#file-venues").setInputFiles(path.join(dir, "bad-venues.csv"));
    await b.getByRole("button", { name: "Import" }).click();
    await until("the refusal", async () => /import failed/.test(await b.locator("#import-status").innerText()));
    assert.match(await b.locator("#import-status").innerText(), /line 2/);
    await b.locator("#file-venues").setInputFiles(path.join(dir, "venues.csv"));
    await b.getByRole("button", { name: "Import" }).click();
    await until("the import", async () => /imported 1 record/.test(await b.locator("#import-status").innerText()));
    await b.getByLabel("Filter by name, alias, category or city").fill("test concert hall");
    await until("the new entity", async () => /Test Concert Hall Krasnogorsk/.test(await b.locator("#entity-results").innerText()));
    await screenshot(b, "registry");
    await b.getByRole("link", { name: "Audit" }).click();
    await b.locator("#audit-summary").waitFor();
    assert.match(await b.locator("#audit-summary").innerText(), /verified/);
    await screenshot(b, "audit");
  });

  await t.test("the feeds page shows each organisation of a run and why it was held back", async () => {
    await b.getByRole("link", { name: "Feeds" }).click();
    await b.locator("#feed-runs").waitFor();
    const run = b.locator("#feed-runs tbody tr").first();
    assert.match(await run.innerText(), /scan_rdp/);
    await run.getByRole("link").click();
    await b.locator("#feed-run-orgs").waitFor();
    const status = async (org) => b.locator(`[data-org="${org}"]`).getAttribute("data-status");
    assert.equal(await status("stumm"), "no_contact");
    assert.equal(await status("ruhig"), "never");
    assert.equal(await status("gesperrt"), "inhibited");
    assert.match(await b.locator("#feed-run-summary").innerText(), /4 events, 3 matched/);
    assert.match(await b.locator("#feed-run-summary").innerText(), /1 unmatched/);
    await screenshot(b, "feed-run");
  });

  await t.test("logging out ends the session", async () => {
    await a.getByRole("button", { name: "Log out" }).click();
    await a.locator("#login-form").waitFor();
    // The old page state is gone: a reload stays on the login page.
    await a.reload();
    await a.locator("#login-form").waitFor();
    assert.equal(await a.locator("#whoami").count(), 0);
  });

  await t.test("nothing left this origin and the policy blocked nothing", async () => {
    for (const p of [a, b, ...recipientPages]) {
      assert.deepEqual(p.offsite, [], `${p.person.role} requested other origins`);
      assert.deepEqual(p.cspErrors, [], `${p.person.role} page errors`);
    }
  });
});

// Keep the artifacts directory listed in the output for whoever reads the log.
test.after?.(() => {
  const files = existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS).filter((f) => statSync(path.join(ARTIFACTS, f)).isFile()) : [];
  console.log(`screenshots: ${files.length} in ${ARTIFACTS}`);
});
