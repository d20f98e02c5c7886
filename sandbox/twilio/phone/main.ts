/**
 * The sandbox phone page (browser): connects to the Twilio emulator's `/__sandbox/phone-ws`
 * for one number, rings on incoming calls, and once answered shows (decoded live with the
 * sandbox-voice decoder) and plays (μ-law → PCM through Web Audio) what the persona says,
 * sends what the user types as speech, keypad digits and hang-up, and lists incoming SMS.
 * Bundled by esbuild when the emulator starts.
 */
import { mulawToLinear } from "../../codec/mulaw";
import { SpeechDecoder } from "../../codec/speech-codec";

const DEMO_NUMBER = "+15555550100";

interface Sms {
  sid: string;
  from: string;
  to: string;
  body: string;
  dateCreated: string;
}

type ServerEvent =
  | { type: "hello"; number: string; messages: Sms[] }
  | { type: "incoming"; callSid: string; from: string; to: string }
  | { type: "status"; callSid: string; status: string }
  | { type: "audio"; callSid: string; payload: string }
  | { type: "said"; callSid: string; text: string }
  | { type: "sms"; message: Sms };

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

const params = new URLSearchParams(location.search);
const numberInput = $("number") as HTMLInputElement;
numberInput.value = params.get("number") ?? DEMO_NUMBER;

let socket: WebSocket | null = null;
let callSid: string | null = null;
let callFrom = "";
let audio: AudioContext | null = null;
let playHead = 0;
let decoder = new SpeechDecoder();
let liveBubble: HTMLElement | null = null;
let quietFrames = 0;
let startedAt = 0;
let timer: number | null = null;

function show(state: "idle" | "ringing" | "incall"): void {
  for (const s of ["idle", "ringing", "incall"]) $(s).classList.toggle("hidden", s !== state);
}

function setConn(on: boolean, text: string): void {
  $("conn").classList.toggle("on", on);
  $("connText").textContent = text;
}

function send(msg: object): void {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

function connect(): void {
  socket?.close();
  const number = numberInput.value.trim();
  const url = new URL(location.href);
  url.searchParams.set("number", number);
  history.replaceState(null, "", url);
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/__sandbox/phone-ws?number=${encodeURIComponent(number)}`);
  socket = ws;
  setConn(false, "connecting…");
  ws.onopen = () => setConn(true, number);
  ws.onclose = () => {
    if (socket === ws) {
      setConn(false, "disconnected — retrying");
      setTimeout(() => socket === ws && connect(), 1500);
    }
  };
  ws.onmessage = (ev) => onEvent(JSON.parse(String(ev.data)) as ServerEvent);
}

function onEvent(e: ServerEvent): void {
  switch (e.type) {
    case "hello":
      renderSms(e.messages);
      break;
    case "sms":
      smsList.unshift(e.message);
      renderSms(smsList);
      break;
    case "incoming":
      callSid = e.callSid;
      callFrom = e.from;
      $("ringFrom").textContent = e.from;
      show("ringing");
      break;
    case "status":
      if (e.callSid !== callSid) break;
      if (e.status === "in-progress") startCall();
      else if (["completed", "busy", "no-answer", "failed", "canceled"].includes(e.status)) endCall(e.status);
      break;
    case "audio":
      if (e.callSid === callSid) onAudio(e.payload);
      break;
    case "said":
      if (e.callSid === callSid) addBubble("you", e.text);
      break;
  }
}

let smsList: Sms[] = [];
function renderSms(list: Sms[]): void {
  smsList = list;
  const box = $("sms");
  box.replaceChildren();
  if (list.length === 0) {
    const empty = document.createElement("div");
    empty.className = "empty";
    empty.textContent = "No messages yet.";
    box.append(empty);
    return;
  }
  for (const m of list) {
    const card = document.createElement("div");
    card.className = "sms";
    const from = document.createElement("div");
    from.className = "from";
    const who = document.createElement("span");
    who.textContent = m.from || "unknown";
    const when = document.createElement("span");
    when.textContent = new Date(m.dateCreated).toLocaleTimeString();
    from.append(who, when);
    const body = document.createElement("div");
    body.className = "body";
    body.textContent = m.body;
    card.append(from, body);
    const code = /\b(\d{4,8})\b/.exec(m.body)?.[1];
    if (code) {
      const c = document.createElement("div");
      c.className = "code";
      c.dataset.testid = "sms-code";
      c.textContent = code;
      card.append(c);
    }
    box.append(card);
  }
}

function addBubble(kind: "persona" | "you" | "note", text: string): HTMLElement {
  const el = document.createElement("div");
  el.className = `msg ${kind}`;
  el.textContent = text;
  const t = $("transcript");
  t.append(el);
  t.scrollTop = t.scrollHeight;
  return el;
}

function startCall(): void {
  show("incall");
  $("callFrom").textContent = callFrom;
  $("transcript").replaceChildren();
  addBubble("note", "Connected");
  decoder = new SpeechDecoder();
  liveBubble = null;
  startedAt = Date.now();
  if (timer !== null) clearInterval(timer);
  timer = window.setInterval(() => {
    const s = Math.floor((Date.now() - startedAt) / 1000);
    $("timer").textContent = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }, 500);
  ($("sayText") as HTMLInputElement).focus();
}

function endCall(status: string): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
  if (!$("incall").classList.contains("hidden")) {
    addBubble("note", `Call ended (${status})`);
    liveBubble?.classList.remove("live");
    setTimeout(() => {
      if (callSid === null) show("idle");
    }, 2500);
  } else show("idle");
  callSid = null;
}

function onAudio(payload: string): void {
  const bin = atob(payload);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const d = decoder.push(bytes);
  if (d.voiced) {
    quietFrames = 0;
    if (!liveBubble) {
      liveBubble = addBubble("persona", "");
      liveBubble.classList.add("live");
    }
    if (d.chars.length > 0) {
      liveBubble.textContent += d.chars.map((c) => c.char).join("");
      const t = $("transcript");
      t.scrollTop = t.scrollHeight;
    }
  } else if (liveBubble && ++quietFrames >= 20) {
    liveBubble.classList.remove("live");
    liveBubble = null;
  }
  play(bytes);
}

function play(bytes: Uint8Array): void {
  if (!audio) return;
  const buf = audio.createBuffer(1, bytes.length, 8000);
  const ch = buf.getChannelData(0);
  for (let i = 0; i < bytes.length; i++) ch[i] = mulawToLinear(bytes[i] ?? 0xff) / 32768;
  const src = audio.createBufferSource();
  src.buffer = buf;
  src.connect(audio.destination);
  const now = audio.currentTime;
  if (playHead < now + 0.04) playHead = now + 0.08;
  src.start(playHead);
  playHead += bytes.length / 8000;
}

$("numberForm").addEventListener("submit", (ev) => {
  ev.preventDefault();
  connect();
});
$("answer").addEventListener("click", () => {
  try {
    audio ??= new AudioContext();
    void audio.resume();
  } catch {
    audio = null;
  }
  send({ type: "answer", callSid });
});
$("decline").addEventListener("click", () => send({ type: "decline", callSid }));
$("hangup").addEventListener("click", () => send({ type: "hangup", callSid }));
$("sayForm").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("sayText") as HTMLInputElement;
  const text = input.value.trim();
  if (!text) return;
  send({ type: "say", callSid, text });
  input.value = "";
});
$("keypadToggle").addEventListener("click", () => $("keypad").classList.toggle("hidden"));
for (const k of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = k;
  b.setAttribute("aria-label", `Key ${k}`);
  b.addEventListener("click", () => {
    send({ type: "dtmf", callSid, digits: k });
    addBubble("note", `pressed ${k}`);
  });
  $("keypad").append(b);
}

connect();
