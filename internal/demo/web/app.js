// The sandbox page, the part both chats share: the state the server pushes
// over Server-Sent Events, the "you are" picker, baton's view, the toast,
// and what the visitor does (as the picked person) sent to POST
// /sandbox/act. The chat's own script (slack.js or discord.js, loaded
// before this one) defines personID(p), userName(id), renderChannels(),
// renderDMs() and describe(a). Plain JavaScript, no build step.
"use strict";

let state = null;
const el = (id) => document.getElementById(id);

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function me() { return el("as").value; }

// panelHTML is one channel or DM: a head, its messages, and (when cmd) a
// box for slash commands.
function panelHTML(o) {
  const form = o.cmd ? `<form class="cmd" data-channel="${esc(o.id)}"><input name="text" id="cmd-${esc(o.id)}" placeholder="${esc(o.cmd)}" autocomplete="off">` +
    `<button type="submit">Send</button></form>` : "";
  return `<div class="panel${o.archived ? " archived" : ""}" data-channel="${esc(o.id)}" data-name="${esc(o.name || "")}">` +
    `<div class="head"><span class="name">${o.title}</span><span class="meta">${o.meta}</span></div>` +
    `<div class="msgs" data-scroll="${esc(o.id)}">${o.body}</div>${form}</div>`;
}

function renderBaton() {
  const b = state.baton;
  if (state.baton_error) { el("baton").innerHTML = `<div class="empty">${esc(state.baton_error)}</div>`; return; }
  if (!b) { el("baton").innerHTML = `<div class="empty">not shown</div>`; return; }
  const rows = (b.incidents || []).map((i) =>
    `<tr data-incident="${i.number}"><td><b>${esc(i.ref)}</b></td><td class="status ${esc(i.status)}">${esc(i.status)}</td>` +
    `<td>${esc(i.owner || "—")}</td><td>${i.level || "—"}</td><td>${i.alert_count}</td><td>${esc(i.service)}</td></tr>` +
    `<tr><td></td><td colspan="5" class="meta">${esc(i.title)}</td></tr>`).join("");
  el("baton").innerHTML = `<table class="incidents"><thead><tr><th>incident</th><th>status</th><th>owner</th><th>level</th><th>alerts</th><th>service</th></tr></thead>` +
    `<tbody>${rows || `<tr><td colspan="6" class="empty">no incidents yet: fire an alert</td></tr>`}</tbody></table>` +
    (b.note ? `<p class="help">${esc(b.note)}</p>` : "");
}

// renderEmails lists the emails the demo's SMTP sink took, newest first:
// to, subject, body (email pages of policy levels with notify: [chat, email]).
function renderEmails() {
  const list = state.emails;
  if (!list) { el("emails").innerHTML = `<div class="empty">no SMTP sink shown here (smtp off, or this chat's page lists none)</div>`; return; }
  el("emails").innerHTML = list.length ? list.slice().reverse().map((m) =>
    `<div class="email"><div class="meta">to <b>${esc((m.to || []).join(", "))}</b></div>` +
    `<div class="subject">${esc(m.subject)}</div><pre class="body">${esc(m.body)}</pre></div>`).join("") :
    `<div class="empty">no emails yet</div>`;
}

function renderHeader() {
  const sel = el("as");
  if (!sel.options.length) {
    sel.innerHTML = state.people.map((p) => `<option value="${esc(personID(p))}">${esc(p.name)} (${esc(p.id)})</option>`).join("");
    const saved = localStorage.getItem("baton-demo-as-" + document.body.dataset.chat);
    if (saved && state.people.some((p) => personID(p) === saved)) sel.value = saved;
  }
  const bot = el("bot");
  bot.textContent = state.bot_connected ? "bot connected" : "bot not connected: actions wait";
  bot.className = "pill " + (state.bot_connected ? "good" : "bad");
}

function render() {
  if (!state) return;
  // Keep what the visitor is typing and where each list is scrolled.
  const focused = document.activeElement && document.activeElement.id;
  const inputs = {};
  document.querySelectorAll(".cmd input").forEach((i) => { if (i.value) inputs[i.id] = i.value; });
  const scrolls = {};
  document.querySelectorAll(".msgs").forEach((m) => {
    scrolls[m.dataset.scroll] = m.scrollHeight - m.scrollTop - m.clientHeight < 8 ? "bottom" : m.scrollTop;
  });
  renderHeader();
  renderChannels();
  renderDMs();
  renderBaton();
  renderEmails();
  document.querySelectorAll(".cmd input").forEach((i) => { if (inputs[i.id]) i.value = inputs[i.id]; });
  document.querySelectorAll(".msgs").forEach((m) => {
    const s = scrolls[m.dataset.scroll];
    m.scrollTop = s === undefined || s === "bottom" ? m.scrollHeight : s;
  });
  if (focused && el(focused)) el(focused).focus();
}

let toastTimer;
function toast(msg, error) {
  const t = el("toast");
  t.textContent = msg;
  t.className = "show" + (error ? " error" : "");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = ""; }, 3500);
}

async function act(a) {
  a.as = me();
  try {
    const r = await fetch("/sandbox/act", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(a) });
    const j = await r.json();
    if (!j.ok) { toast(j.error, true); return false; }
    toast(`${userName(a.as)}: ${describe(a)} sent` +
      (j.bot_connected ? "" : " (no bot connected yet: it waits)"));
    return true;
  } catch (e) {
    toast("the demo is not answering: " + e, true);
    return false;
  }
}

// A control with data-kind acts: its data-* attributes (but kind) are the
// action's fields, data-action-id becoming action_id.
document.addEventListener("click", (ev) => {
  const b = ev.target.closest("[data-kind]");
  if (!b || b.tagName !== "BUTTON") return;
  ev.preventDefault();
  const a = {};
  for (const [k, v] of Object.entries(b.dataset)) a[k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())] = v;
  act(a);
});
document.addEventListener("submit", async (ev) => {
  const f = ev.target.closest("form.cmd");
  if (!f) return;
  ev.preventDefault();
  const input = f.querySelector("input");
  const text = input.value.trim();
  if (!text) return;
  if (await act({ kind: "command", channel: f.dataset.channel, text })) input.value = "";
});
el("as").addEventListener("change", () => { localStorage.setItem("baton-demo-as-" + document.body.dataset.chat, me()); render(); });

function connect() {
  const live = el("live");
  const es = new EventSource("/sandbox/events");
  es.addEventListener("state", (e) => {
    state = JSON.parse(e.data);
    live.textContent = "live";
    live.className = "pill good";
    render();
  });
  es.onerror = () => { live.textContent = "reconnecting…"; live.className = "pill bad"; };
}
connect();
