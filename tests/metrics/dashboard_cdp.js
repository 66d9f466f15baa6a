// dashboard_cdp.js CHROMIUM URL AUTH_HEADER OUT_PNG NAMES...
// Loads URL in headless Chromium through the DevTools protocol on a pipe
// (--remote-debugging-pipe: fds 3 and 4, NUL-separated JSON; no npm modules),
// with the Authorization header set, and checks: the page loads (200) with no
// console error, warning or exception; the proxies table lists NAMES; the script
// drew a sparkline per proxy (from /api/metrics). Writes a screenshot to OUT_PNG.
// Prints "OK ..." and exits 0, or "FAIL why" and exits 1.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const [chrome, url, auth, outPng, ...names] = process.argv.slice(2);
const prof = fs.mkdtempSync(path.join(os.tmpdir(), "ufrpc-cdp-"));
const proc = spawn(chrome, ["--headless=new", "--no-sandbox", "--disable-gpu",
    "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
    "--remote-debugging-pipe", "--user-data-dir=" + prof, "--window-size=1100,520",
    "about:blank"], { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
let stderr = "";
proc.stdio[2].on("data", (d) => { stderr += d; });
const toChrome = proc.stdio[3], fromChrome = proc.stdio[4];
let id = 0, buf = "";
const waiting = new Map(), listeners = [];
const problems = [];
let finished = false;
function done(ok, msg) {
  if (finished) return;
  finished = true;
  console.log((ok ? "OK " : "FAIL ") + msg);
  if (!ok && stderr) console.log("chromium stderr (tail):\n" + stderr.split("\n").slice(-15).join("\n"));
  const leave = () => {
    try { fs.rmSync(prof, { recursive: true, force: true, maxRetries: 5 }); } catch (e) { /* kept */ }
    process.exit(ok ? 0 : 1);
  };
  if (proc.exitCode !== null || proc.signalCode !== null) return leave();
  proc.on("exit", leave);
  proc.kill("SIGKILL");
}
setTimeout(() => done(false, "timed out; problems so far: " + JSON.stringify(problems)), 60000);
fromChrome.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\0")) >= 0) {
    const m = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (m.id !== undefined && waiting.has(m.id)) {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      m.error ? w.reject(new Error(JSON.stringify(m.error))) : w.resolve(m.result);
    } else if (m.method) {
      for (const l of listeners) l(m);
    }
  }
});
function send(method, params, sessionId) {
  const msg = { id: ++id, method, params: params || {} };
  if (sessionId) msg.sessionId = sessionId;
  toChrome.write(JSON.stringify(msg) + "\0");
  return new Promise((resolve, reject) => waiting.set(msg.id, { resolve, reject }));
}
function once(method) {
  return new Promise((resolve) => {
    const l = (m) => { if (m.method === method) { listeners.splice(listeners.indexOf(l), 1); resolve(m.params); } };
    listeners.push(l);
  });
}
listeners.push((m) => {
  const p = m.params || {};
  if (m.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "warning" || p.type === "assert"))
    problems.push("console." + p.type + ": " + p.args.map((a) => a.value || a.description).join(" "));
  if (m.method === "Runtime.exceptionThrown")
    problems.push("exception: " + (p.exceptionDetails.exception || {}).description || p.exceptionDetails.text);
  if (m.method === "Log.entryAdded" && p.entry.level === "error")
    problems.push("log: " + p.entry.text + " " + (p.entry.url || ""));
});

(async () => {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId: s } = await send("Target.attachToTarget", { targetId, flatten: true });
  await send("Page.enable", {}, s);
  await send("Runtime.enable", {}, s);
  await send("Log.enable", {}, s);
  await send("Network.enable", {}, s);
  await send("Network.setExtraHTTPHeaders", { headers: { Authorization: auth } }, s);
  let status = 0;
  listeners.push((m) => {
    if (m.method === "Network.responseReceived" && m.params.type === "Document") status = m.params.response.status;
  });
  const loaded = once("Page.loadEventFired");
  await send("Page.navigate", { url }, s);
  await loaded;
  if (status !== 200) return done(false, "the page answered " + status);
  const evaluate = async (expr) => (await send("Runtime.evaluate", { expression: expr, returnByValue: true }, s)).result.value;
  // the script has run once /api/metrics came back: a polyline in every sparkline
  const want = names.length;
  const deadline = Date.now() + 30000;
  while ((await evaluate("document.querySelectorAll('svg.spark polyline').length")) < want) {
    if (Date.now() > deadline) return done(false, "no sparklines drawn; problems: " + JSON.stringify(problems));
    await new Promise((r) => setTimeout(r, 100));
  }
  // a second refresh, so that a failing interval would have shown by now
  await new Promise((r) => setTimeout(r, Number(process.env.CDP_SETTLE_MS || 2500)));
  const rows = await evaluate("Array.from(document.querySelectorAll('#proxies tbody tr')).map(r => r.dataset.name + ' ' + r.cells[2].textContent)");
  for (const n of names)
    if (!rows.some((r) => r.startsWith(n + " running"))) return done(false, "proxy " + n + " not shown running: " + JSON.stringify(rows));
  // the config editor and reload, as frpc's UI: load, edit, save, reload
  const waitFor = async (expr, what) => {
    const end = Date.now() + 15000;
    while (!(await evaluate(expr))) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  };
  await evaluate("document.getElementById('load').click()");
  if (!(await waitFor("document.getElementById('cfg').value.includes('serverPort')")))
    return done(false, "the config editor did not load the file: " + await evaluate("document.getElementById('msg').textContent"));
  await evaluate("document.getElementById('cfg').value += '\\n# edited in the dashboard\\n'; document.getElementById('apply').click()");
  if (!(await waitFor("document.getElementById('msg').textContent === 'reloaded'")))
    return done(false, "save and reload: " + await evaluate("document.getElementById('msg').textContent"));
  const shot = await send("Page.captureScreenshot", { format: "png" }, s);
  fs.writeFileSync(outPng, Buffer.from(shot.data, "base64"));
  if (problems.length) return done(false, "console problems: " + JSON.stringify(problems));
  done(true, "rows=" + JSON.stringify(rows) + " screenshot=" + outPng);
})().catch((e) => done(false, String(e && e.stack || e)));
