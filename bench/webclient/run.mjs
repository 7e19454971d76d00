#!/usr/bin/env node
// Convai's official web SDK in headless Debian Chromium, pointed at the local stand-in.
//
//   node run.mjs conformance --details '{"connect_url":…,"api_key":…,"character_id":…}'
//   node run.mjs bench --details '…' [--runs 20] [--talk-seconds 10] [--audio FILE.wav]
//                      [--say-every SECONDS] [--real-devices 1]
//
// --say-every sends a text turn every SECONDS through the talking window (the replies play);
// --real-devices 1 drops Chromium's fake capture device; it plays through the sound server its
// environment names (PULSE_SERVER): its streams are seen there as sink inputs. It opened no
// capture stream on that server in our check (no source output seen), so its microphone side
// is still not a device's.
//
// Prints one JSON object on stdout (logs go to stderr); exit 0 on success.
import { build } from "esbuild";
import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2));
const mode = args._[0] || "conformance";
const details = JSON.parse(args.details || process.env.STANDIN_DETAILS || "{}");
const chromiumPath = args.chromium || process.env.CHROMIUM || "/usr/bin/chromium";

function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith("--")) out[argv[i].slice(2)] = argv[++i];
    else out._.push(argv[i]);
  }
  return out;
}

function say(...parts) {
  process.stderr.write(`[webclient] ${parts.join(" ")}\n`);
}

async function bundle() {
  const result = await build({
    entryPoints: [path.join(here, "page.js")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome110",
    write: false,
    logLevel: "error",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  return result.outputFiles[0].text;
}

function serve(script) {
  const page = "<!doctype html><html><head><meta charset=utf-8><title>convai web-sdk harness</title>" +
    "</head><body><script type=module src=/bundle.js></script></body></html>";
  const server = http.createServer((req, res) => {
    if (req.url === "/bundle.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(script);
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(page);
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// CPU seconds (utime+stime) of every process below `root` (Chromium's browser, renderer,
// GPU, network and audio processes), read from /proc.
function descendants(root) {
  const children = new Map();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch { /* gone */ }
  }
  const out = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    for (const child of children.get(pid) || []) { out.push(child); stack.push(child); }
  }
  return out;
}

const TICKS = 100; // USER_HZ on Linux
function cpuSeconds(pids) {
  const per = new Map();
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      per.set(pid, (Number(fields[11]) + Number(fields[12])) / TICKS);
    } catch { /* gone */ }
  }
  return per;
}

function rssMb(pids) {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return kb / 1024;
}

async function measureCpu(seconds) {
  const pids = descendants(process.pid).filter((pid) => pid !== process.pid);
  const before = cpuSeconds(pids);
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = cpuSeconds(descendants(process.pid));
  let used = 0;
  for (const [pid, end] of after) used += end - (before.get(pid) || 0);
  return { cpu_percent: (100 * used) / wall, processes: after.size, rss_mb: rssMb([...after.keys()]) };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return null;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank), hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

async function main() {
  if (!details.connect_url) throw new Error("--details must hold the stand-in's JSON line");
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}`);
  const server = await serve(await bundle());
  const origin = `http://127.0.0.1:${server.address().port}`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "convai-webclient-"));
  const launchArgs = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ...(args["real-devices"] ? [] : ["--use-fake-device-for-media-stream"]),
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    // TURN runs on loopback (the stand-in): without this Chromium enumerates no loopback
    // network, so its TURN allocations leave from eth0 and no answer is ever accepted.
    "--allow-loopback-in-peer-connection",
  ];
  if (args.chromelog) launchArgs.push("--enable-logging=stderr", "--v=0", "--vmodule=*turn_port*=4,*basic_port_allocator*=3,*network*=1");
  if (args.audio) launchArgs.push(`--use-file-for-fake-audio-capture=${args.audio}`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, args: launchArgs,
    permissions: ["microphone"],
  });
  const result = { mode, chromium: context.browser()?.version() ?? null, origin };
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on("console", (msg) => { if (args.verbose) say("console:", msg.text()); });
    page.on("pageerror", (error) => say("page error:", String(error)));
    await page.goto(`${origin}/?${args.verbose ? "debug&" : ""}${args.v0 ? "v0" : ""}`);
    await page.waitForFunction(() => window.harness !== undefined);
    const cfg = { url: details.connect_url, apiKey: details.api_key,
                  characterId: details.character_id };
    if (mode === "conformance") {
      const connected = await page.evaluate((c) => window.harness.connect(c), cfg);
      say(`bot-ready after ${connected.ready_ms.toFixed(0)} ms; ICE`, JSON.stringify(connected.ice));
      const turn = await page.evaluate((t) => window.harness.sendText(t), "Hello from the web SDK");
      say(`first bot-llm-text after ${turn.first_text_ms.toFixed(0)} ms: ${turn.reply}`);
      await page.evaluate(() => window.harness.disconnect());
      Object.assign(result, { ok: Boolean(turn.reply), connect: connected, text_turn: turn });
    } else {
      const runs = Number(args.runs || 20);
      const ready = [], resolved = [], turns = [];
      let ice = null;
      for (let i = 0; i < runs; i++) {
        const connected = await page.evaluate((c) => window.harness.connect(c), cfg);
        ready.push(connected.ready_ms);
        resolved.push(connected.connect_resolved_ms);
        ice = connected.ice;
        const turn = await page.evaluate((t) => window.harness.sendText(t), `run ${i}`);
        turns.push(turn.first_text_ms);
        await page.evaluate(() => window.harness.disconnect());
        say(`run ${i + 1}/${runs}: bot-ready ${connected.ready_ms.toFixed(0)} ms, ` +
            `text turn ${turn.first_text_ms.toFixed(1)} ms`);
      }
      const talkSeconds = Number(args["talk-seconds"] || 10);
      await page.evaluate((c) => window.harness.connect({ ...c, audio: true }), cfg);
      await new Promise((r) => setTimeout(r, 2000)); // let the echo settle in
      const sayEvery = Number(args["say-every"] || 0);
      if (sayEvery) await page.evaluate((ms) => window.harness.talkEvery(ms), sayEvery * 1000);
      const talking = await measureCpu(talkSeconds);
      if (sayEvery) talking.replies = await page.evaluate(() => window.harness.stopTalking());
      const log = await page.evaluate(() => window.harness.log());
      await page.evaluate(() => window.harness.disconnect());
      Object.assign(result, {
        ok: true, runs, ice,
        connect_to_ready_ms: { p50: percentile(ready, 50), p95: percentile(ready, 95), all: ready },
        connect_resolved_ms: { p50: percentile(resolved, 50), p95: percentile(resolved, 95) },
        text_turn_ms: { p50: percentile(turns, 50), p95: percentile(turns, 95) },
        talking: { ...talking, seconds: talkSeconds,
                   audio_subscribed: log.some((e) => e.kind === "audio-subscribed") },
      });
    }
  } finally {
    await context.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  return result.ok ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  say("FAILED:", error && error.stack || String(error));
  process.stdout.write(JSON.stringify({ mode, ok: false, error: String(error && error.message || error) }) + "\n");
  process.exit(1);
});
