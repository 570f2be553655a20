// The Discord sandbox's renderer (app.js is the shared part): the fake
// guild's text channels (under their categories) and the DMs baton opened,
// messages with their embeds, buttons that send a real interaction,
// reactions, and the ephemeral answers only the picked person sees. Plain
// JavaScript, no build step.
"use strict";

const QUICK_REACTIONS = ["✅", "👀", "👍"];
const TYPE_TEXT = 0, TYPE_DM = 1, TYPE_CATEGORY = 4;

// personID is the picker's value for a demo person: their Discord user id.
function personID(p) { return p.discord_id; }

// describe says what an action sent, for the toast.
function describe(a) { return a.kind === "command" ? a.text : a.kind === "reaction" ? a.reaction : a.label; }

function userName(id) {
  if (!state) return id;
  const p = state.people.find((p) => p.discord_id === id);
  if (p) return p.name;
  const u = state.guild.users.find((u) => u.id === id);
  return u ? u.username : id;
}
function channelById(id) { return state && state.guild.channels.find((c) => c.id === id); }
function channelName(id) {
  const c = channelById(id);
  return c ? (c.type === TYPE_DM ? "DM " + userName(c.recipient) : "#" + c.name) : id;
}

// markdown renders Discord's: escape first, then \-escapes, code, bold,
// italics, underline, strike, mentions (<@id>, <#id>) and timestamps (<t:unix:style>).
function markdown(s) {
  const keep = [];
  const hold = (html) => { keep.push(html); return `\u0000${keep.length - 1}\u0000`; };
  let t = esc(s);
  t = t.replace(/```(?:[a-z]*\n)?([\s\S]*?)```/g, (_, c) => hold(`<pre>${c}</pre>`));
  t = t.replace(/`([^`\n]+)`/g, (_, c) => hold(`<code>${c}</code>`));
  t = t.replace(/\\(&(?:lt|gt|amp|quot|#39);|[^\w\s])/g, (_, c) => hold(c));
  t = t.replace(/&lt;@!?(\d+)&gt;/g, (_, id) => hold(`<span class="mention">@${esc(userName(id))}</span>`));
  t = t.replace(/&lt;#(\d+)&gt;/g, (_, id) => hold(`<span class="mention">${esc(channelName(id))}</span>`));
  t = t.replace(/&lt;t:(-?\d+)(?::([tTdDfFR]))?&gt;/g, (_, unix, style) => hold(esc(discordTime(Number(unix), style))));
  t = t.replace(/\[([^\]\n]+)\]\((https?:[^)\s]+)\)/g, (_, label, url) => hold(`<a href="${url}" target="_blank" rel="noopener">${label}</a>`));
  t = t.replace(/\*\*([^*\n]+)\*\*/g, "<b>$1</b>");
  t = t.replace(/__([^_\n]+)__/g, "<u>$1</u>");
  t = t.replace(/(^|[^\w*])\*([^*\n]+)\*/g, "$1<i>$2</i>");
  t = t.replace(/(^|[^\w_])_([^_\n]+)_/g, "$1<i>$2</i>");
  t = t.replace(/~~([^~\n]+)~~/g, "<s>$1</s>");
  t = t.replace(/\n/g, "<br>");
  return t.replace(/\u0000(\d+)\u0000/g, (_, i) => keep[Number(i)]);
}
// discordTime renders <t:unix:style> in the reader's time zone, as Discord does.
function discordTime(unix, style) {
  const d = new Date(unix * 1000);
  if (isNaN(d)) return "";
  switch (style) {
    case "t": return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    case "T": return d.toLocaleTimeString();
    case "d": return d.toLocaleDateString();
    case "D": return d.toLocaleDateString(undefined, { dateStyle: "long" });
    case "R": {
      const s = Math.round((d - Date.now()) / 1000);
      const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
      return Math.abs(s) < 60 ? rtf.format(s, "second") : Math.abs(s) < 3600 ? rtf.format(Math.round(s / 60), "minute") : rtf.format(Math.round(s / 3600), "hour");
    }
    default: return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }
}

function color(n) { return typeof n === "number" ? "#" + n.toString(16).padStart(6, "0") : "#4f545c"; }

function embed(e) {
  let out = `<div class="embed" style="border-left-color:${color(e.color)}">`;
  if (e.author && e.author.name) out += `<div class="eauthor">${esc(e.author.name)}</div>`;
  if (e.title) out += `<div class="etitle">${e.url ? `<a href="${esc(e.url)}" target="_blank" rel="noopener">${markdown(e.title)}</a>` : markdown(e.title)}</div>`;
  if (e.description) out += `<div class="edesc">${markdown(e.description)}</div>`;
  if (e.fields && e.fields.length) {
    out += `<div class="efields">${e.fields.map((f) => `<div class="efield${f.inline ? " inline" : ""}"><div class="fname">${markdown(f.name)}</div><div>${markdown(f.value)}</div></div>`).join("")}</div>`;
  }
  if (e.image && e.image.url) out += `<div class="context">[image]</div>`;
  const foot = [e.footer && e.footer.text ? markdown(e.footer.text) : "", e.timestamp ? esc(new Date(e.timestamp).toLocaleString()) : ""].filter(Boolean).join(" · ");
  if (foot) out += `<div class="efooter">${foot}</div>`;
  return out + `</div>`;
}

const BUTTON_STYLE = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link" };

// component renders one component of an action row: a button that works
// (a link button opens its URL), anything else (a select menu) inert.
function component(c, ch, id) {
  if (c.type === 2) {
    const label = (c.emoji && c.emoji.name ? c.emoji.name + " " : "") + (c.label || "");
    if (c.style === 5) return `<a class="btn link" href="${esc(c.url)}" target="_blank" rel="noopener">${esc(label)}</a>`;
    return `<button class="btn ${BUTTON_STYLE[c.style] || ""}"${c.disabled ? " disabled" : ""} data-kind="button" data-channel="${esc(ch)}"` +
      ` data-message="${esc(id)}" data-custom-id="${esc(c.custom_id)}" data-label="${esc(c.label || "")}">${esc(label)}</button>`;
  }
  return `<span class="inert" title="component type ${esc(c.type)}">${esc(c.placeholder || "menu")} ▾</span>`;
}

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleTimeString();
}

function message(m) {
  const bot = state.guild.bot_id;
  const who = m.author === bot ? `${esc(userName(m.author))}<span class="tag">APP</span>` : esc(userName(m.author));
  const edited = m.edits > 0 ? "(edited)" : "";
  const flags = [m.pinned ? "📌 pinned" : "", edited].filter(Boolean).join(" ");
  let body = m.content ? `<div class="text">${markdown(m.content)}</div>` : "";
  const embeds = m.embeds || [];
  if (embeds.length) body += embeds.map(embed).join("");
  const rows = m.components || [];
  if (rows.length) body += rows.map((r) => `<div class="block actions">${(r.components || []).map((c) => component(c, m.channel_id, m.id)).join("")}</div>`).join("");
  if (embeds.length || rows.length) body = `<div class="card discord">${body}</div>`;
  body += (m.files || []).map((f) => /^image\//.test(f.content_type)
    ? `<figure class="file"><img src="/attachments/${esc(m.id)}/${esc(f.name)}" alt="${esc(f.name)}"><figcaption>${esc(f.name)}</figcaption></figure>`
    : `<div class="context">📎 ${esc(f.name)} (${f.size} bytes)</div>`).join("");
  const reactions = (m.reactions || []).map((r) =>
    `<button class="chip${r.users.includes(me()) ? " mine" : ""}" data-kind="reaction" data-channel="${esc(m.channel_id)}" data-message="${esc(m.id)}" data-reaction="${esc(r.emoji)}"` +
    ` title="${esc(r.users.map(userName).join(", "))}"><span class="emo">${esc(r.emoji)}</span> ${r.users.length} <span class="by">${esc(r.users.map(userName).join(", "))}</span></button>`).join("");
  const add = m.ephemeral_to ? "" : QUICK_REACTIONS.filter((e) => !(m.reactions || []).some((r) => r.emoji === e && r.users.includes(me())))
    .map((e) => `<button class="chip add" data-kind="reaction" data-channel="${esc(m.channel_id)}" data-message="${esc(m.id)}" data-reaction="${esc(e)}" title="react ${e}">+<span class="emo">${e}</span></button>`).join("");
  const cls = m.ephemeral_to ? " ephemeral" : "";
  const only = m.ephemeral_to ? ` <span class="only">only you can see this</span>` : "";
  return `<div class="msg${cls}" data-channel="${esc(m.channel_id)}" data-message="${esc(m.id)}">` +
    `<span class="who">${who}</span><span class="when">${when(m.posted)}</span>${only}<span class="flags">${flags}</span>` +
    body + `<div class="reactions">${reactions}${add}</div></div>`;
}

function messages(c) {
  const all = (state.guild.messages[c.id] || []).filter((m) => !m.ephemeral_to || m.ephemeral_to === me());
  return all.length ? all.map(message).join("") : `<div class="empty">no messages yet</div>`;
}

function renderChannels() {
  // The channels people made (the services' alerts channels) first, then
  // the incident channels baton made, newest first, under their category.
  const bot = state.guild.bot_id;
  const chans = state.guild.channels.filter((c) => c.type === TYPE_TEXT);
  const rank = (c) => (c.created_by === bot ? 1 : 0);
  chans.sort((a, b) => rank(a) - rank(b) || (rank(a) > 0 ? Date.parse(b.created) - Date.parse(a.created) : 0));
  el("channels").innerHTML = chans.map((c) => {
    const parent = c.parent_id ? channelById(c.parent_id) : null;
    const meta = [parent ? "in " + esc(parent.name) : "", c.topic ? esc(c.topic) : ""].filter(Boolean).join(" · ");
    return panelHTML({ id: c.id, name: c.name, title: "#" + esc(c.name), meta, body: messages(c),
      cmd: state.guild.commands.length ? "/incident ack · /incident resolve note:fixed · /oncall show" : "" });
  }).join("") || `<div class="empty">no channels</div>`;
}

function renderDMs() {
  el("dms").innerHTML = state.people.map((p) => {
    const c = state.guild.channels.find((c) => c.type === TYPE_DM && c.recipient === p.discord_id);
    if (!c) return `<div class="panel"><div class="head"><span class="name">${esc(p.name)}</span><span class="meta">${esc(p.id)} · no DMs yet</span></div></div>`;
    return panelHTML({ id: c.id, name: "", title: esc(p.name), meta: esc(p.id) + " · DM with baton", body: messages(c) });
  }).join("");
}
