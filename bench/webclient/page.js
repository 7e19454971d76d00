// The browser side of the web-SDK harness: Convai's own client (@convai/web-sdk 1.2.0, core
// entry) with livekit-client, driven by run.mjs through window.harness.
import { ConvaiClient } from "@convai/web-sdk/core";
import { RoomEvent, Track, setLogLevel } from "livekit-client";

if (new URLSearchParams(location.search).has("debug")) {
  setLogLevel("info");
  // Log ICE servers, local candidates and candidate errors (TURN diagnosis).
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (config, ...rest) {
    console.log("pc config", JSON.stringify({ ...config, iceServers: (config.iceServers || []).map((s) => s.urls) }));
    const pc = new Native(config, ...rest);
    pc.addEventListener("icecandidate", (e) => console.log("local candidate", e.candidate && e.candidate.candidate));
    pc.addEventListener("icecandidateerror", (e) => console.log("candidate error", e.url, e.errorCode, e.errorText, e.address, e.port));
    pc.addEventListener("iceconnectionstatechange", () => console.log("ice state", pc.iceConnectionState));
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  const setConfiguration = Native.prototype.setConfiguration;
  Native.prototype.setConfiguration = function (config) {
    console.log("pc setConfiguration", JSON.stringify({ ...config, iceServers: (config.iceServers || []).map((s) => s.urls) }));
    return setConfiguration.call(this, config);
  };
}

let client = null;
const log = [];

function note(kind, extra = {}) {
  log.push({ kind, t: performance.now(), ...extra });
}

function waitFor(predicate, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const timer = setInterval(() => {
      const hit = predicate();
      if (hit) {
        clearInterval(timer);
        resolve(hit);
      } else if (performance.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }
    }, 2);
  });
}

let talkTimer = null;
let talkMark = 0;

window.harness = {
  // Connect once; resolves with the timings (ms since connect() was called).
  async connect({ url, apiKey, characterId, audio = false, timeoutMs = 30000 }) {
    log.length = 0;
    client = new ConvaiClient();
    if (new URLSearchParams(location.search).has("v0")) client.room.options.singlePeerConnection = false;
    const t0 = performance.now();
    let readyAt = null;
    client.on("botReady", () => { readyAt = performance.now(); note("bot-ready"); });
    client.on("error", (error) => note("error", { message: String(error && error.message) }));
    const room = client.room;
    room.on(RoomEvent.DataReceived, (payload) => {
      try {
        const message = JSON.parse(new TextDecoder().decode(payload));
        note("data", { type: message.type, inner: message.data && message.data.type });
      } catch (e) {
        note("data", { type: "unparsable" });
      }
    });
    // Play whatever the character says, as an app using the SDK does.
    room.on(RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === Track.Kind.Audio) {
        const element = track.attach();
        document.body.appendChild(element);
        note("audio-subscribed");
      }
    });
    await client.connect({ url, apiKey, characterId, startWithAudioOn: audio });
    const connectedAt = performance.now();
    await waitFor(() => readyAt !== null, timeoutMs, "bot-ready");
    return {
      connect_resolved_ms: connectedAt - t0,
      ready_ms: readyAt - t0,
      ice: await iceSummary(room),
    };
  },

  // Send a text message; resolves with ms to the first bot-llm-text and the reply text.
  async sendText(text, timeoutMs = 20000) {
    const mark = log.length;
    const t0 = performance.now();
    client.sendUserTextMessage(text);
    const first = await waitFor(
      () => log.slice(mark).find((e) => e.kind === "data" && e.type === "bot-llm-text"),
      timeoutMs, "bot-llm-text");
    await waitFor(
      () => log.slice(mark).find((e) => e.kind === "data" && e.type === "bot-llm-stopped"),
      timeoutMs, "bot-llm-stopped");
    const reply = client.chatMessages.filter((m) => m.type === "bot-llm-text").pop();
    return { first_text_ms: first.t - t0, reply: reply ? reply.content : null,
             acked: log.slice(mark).some((e) => e.type === "server-response") };
  },

  // A text turn every `everyMs` without waiting for the replies (which the page plays), as the
  // monitor's talking bench types one every 2 s; stopTalking() ends it and counts the replies
  // that started speaking meanwhile.
  talkEvery(everyMs) {
    let turn = 0;
    talkMark = log.length;
    const say = () => client && client.sendUserTextMessage(`hello number ${++turn}`);
    say();
    talkTimer = setInterval(say, everyMs);
  },

  stopTalking() {
    clearInterval(talkTimer);
    return log.slice(talkMark).filter(
      (e) => e.kind === "data" && (e.type === "bot-started-speaking" || e.inner === "bot-started-speaking")).length;
  },

  async disconnect() {
    if (client) {
      await client.disconnect();
      client = null;
    }
  },

  log: () => log.slice(),
};

// Which ICE candidate pair carries the media: proves the relay-only join went through TURN.
// The pair is nominated a moment after the room reports connected (later on a loaded machine),
// so the stats are read until a nominated, succeeded pair is there (at most 10 s).
async function iceSummary(room) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const summary = await icePairOnce(room);
    if (!summary || summary.local_type || summary.error || Date.now() > deadline) return summary;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function icePairOnce(room) {
  try {
    const engine = room.engine;
    const pcm = engine && engine.pcManager;
    const transport = pcm && (pcm.subscriber || pcm.publisher);
    const pc = transport && transport.pc;
    if (!pc) return null;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
    if (!pair) return { pair: null };
    const local = stats.get(pair.localCandidateId) || {};
    const remote = stats.get(pair.remoteCandidateId) || {};
    return { local_type: local.candidateType, local_address: local.address,
             relay_protocol: local.relayProtocol, remote_type: remote.candidateType,
             remote_address: remote.address, url: local.url };
  } catch (e) {
    return { error: String(e) };
  }
}
