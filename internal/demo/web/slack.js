// The Slack sandbox's renderer (app.js is the shared part): the fake
// workspace's channels and DMs, Block Kit messages with working buttons,
// reactions and ephemeral answers. Plain JavaScript, no build step.
"use strict";

// personID is the picker's value for a demo person: their Slack user id.
function personID(p) { return p.slack_id; }

// describe says what an action sent, for the toast.
function describe(a) { return a.kind === "command" ? a.text : a.kind === "reaction" ? ":" + a.reaction + ":" : a.label; }

const EMOJI = {
  white_check_mark: "✅", eyes: "👀", "+1": "👍", thumbsup: "👍", fire: "🔥", rotating_light: "🚨",
  tada: "🎉", warning: "⚠️", pager: "📟", x: "❌", heavy_check_mark: "✔️", red_circle: "🔴",
  large_green_circle: "🟢", large_yellow_circle: "🟡", bell: "🔔", pushpin: "📌", arrow_up: "⬆️",
  repeat: "🔁", chart_with_upwards_trend: "📈", hourglass: "⏳", sos: "🆘", ok: "🆗",
};
const QUICK_REACTIONS = ["white_check_mark", "eyes", "+1"];

function emoji(name) { return EMOJI[name] ? `<span class="emo" title=":${esc(name)}:">${EMOJI[name]}</span>` : `:${esc(name)}:`; }

function userName(id) {
  if (!state) return id;
  const u = state.workspace.users.find((u) => u.id === id);
  return u ? (u.real_name || u.name) : id;
}
function channelName(id) {
  const c = state && state.workspace.channels.find((c) => c.id === id);
  return c ? (c.is_im ? "DM " + userName(c.user) : "#" + c.name) : id;
}

// mrkdwn: escape first, then Slack's markup on the escaped text.
function mrkdwn(s) {
  let t = esc(s);
  t = t.replace(/```([\s\S]*?)```/g, (_, c) => `<pre>${c}</pre>`);
  t = t.replace(/`([^`\n]+)`/g, (_, c) => `<code>${c}</code>`);
  t = t.replace(/&lt;([^&]*?(?:&amp;[^&]*?)*?)&gt;/g, (_, inner) => {
    const [target, label] = inner.split("|");
    if (target.startsWith("@")) return `<span class="mention">@${esc(userName(target.slice(1)))}</span>`;
    if (target.startsWith("#")) return `<span class="mention">${label ? "#" + label : esc(channelName(target.slice(1)))}</span>`;
    if (target.startsWith("!date^")) return esc(slackDate(target, label));
    if (target.startsWith("!")) return `<span class="mention">@${target.slice(1).split("^")[0]}</span>`;
    return `<a href="${target}" target="_blank" rel="noopener">${label || target}</a>`;
  });
  t = t.replace(/(^|[\s(])\*([^*\n]+)\*/g, "$1<b>$2</b>");
  t = t.replace(/(^|[\s(])_([^_\n]+)_/g, "$1<i>$2</i>");
  t = t.replace(/(^|[\s(])~([^~\n]+)~/g, "$1<s>$2</s>");
  t = t.replace(/:([a-z0-9_+\-]+):/g, (m, n) => (EMOJI[n] ? emoji(n) : m));
  return t.replace(/\n/g, "<br>");
}
// slackDate renders <!date^unix^format|fallback> in the reader's time zone,
// as Slack does: {time} and {time_secs} as a time, any {date…} token as a date.
function slackDate(target, fallback) {
  const [, unix, format] = target.split("^");
  const d = new Date(Number(unix) * 1000);
  if (isNaN(d) || !format) return fallback || "";
  return format
    .replace(/\{date[a-z_]*\}/g, d.toLocaleDateString(undefined, { month: "short", day: "numeric" }))
    .replace(/\{time_secs\}/g, d.toLocaleTimeString())
    .replace(/\{time\}/g, d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }));
}

function textObj(o) {
  if (!o) return "";
  return o.type === "mrkdwn" ? mrkdwn(o.text) : esc(o.text).replace(/:([a-z0-9_+\-]+):/g, (m, n) => (EMOJI[n] ? emoji(n) : m));
}

function button(b, ch, ts) {
  const style = b.style === "primary" ? " primary" : b.style === "danger" ? " danger" : "";
  const label = b.text ? (b.text.text || "") : "";
  return `<button class="btn${style}" data-kind="button" data-channel="${esc(ch)}" data-ts="${esc(ts)}"` +
    ` data-action-id="${esc(b.action_id)}" data-value="${esc(b.value || "")}" data-label="${esc(label)}">${textObj(b.text)}</button>`;
}

// element renders one element of an actions block or a section's accessory:
// a button that works, anything else (a menu, a date picker, an image) shown
// as what it would display, inert.
function element(e, ch, ts) {
  if (e.type === "button") return button(e, ch, ts);
  if (e.type === "image") return `<span class="inert">[image: ${esc(e.alt_text || "")}]</span>`;
  const label = e.initial_option ? e.initial_option.text : e.placeholder;
  return `<span class="inert" title="${esc(e.type)}">${label ? textObj(label) : esc(e.type)} ▾</span>`;
}

// richText renders a rich_text block's sections, lists, quotes and code.
function richText(els) {
  const inline = (e) => {
    switch (e.type) {
      case "text": {
        let t = esc(e.text).replace(/\n/g, "<br>");
        const st = e.style || {};
        if (st.code) t = `<code>${t}</code>`;
        if (st.bold) t = `<b>${t}</b>`;
        if (st.italic) t = `<i>${t}</i>`;
        if (st.strike) t = `<s>${t}</s>`;
        return t;
      }
      case "link": return `<a href="${esc(e.url)}" target="_blank" rel="noopener">${esc(e.text || e.url)}</a>`;
      case "emoji": return emoji(e.name);
      case "user": return `<span class="mention">@${esc(userName(e.user_id))}</span>`;
      case "channel": return `<span class="mention">${esc(channelName(e.channel_id))}</span>`;
      default: return esc(e.text || "");
    }
  };
  return (els || []).map((s) => {
    const body = (s.elements || []).map((e) => (e.elements ? richText([e]) : inline(e))).join("");
    switch (s.type) {
      case "rich_text_list": return `<ul>${(s.elements || []).map((i) => `<li>${richText([i])}</li>`).join("")}</ul>`;
      case "rich_text_preformatted": return `<pre>${body}</pre>`;
      case "rich_text_quote": return `<blockquote>${body}</blockquote>`;
      default: return body;
    }
  }).join("");
}

// blocks renders any Block Kit message: headers, sections (text, fields,
// any accessory), context, actions with any number of elements, dividers,
// images and rich text, so a card and a bundled page (a section per
// incident, each with its own Acknowledge, and "Acknowledge all") both show.
function blocks(bs, ch, ts) {
  let out = "";
  for (const b of bs || []) {
    switch (b.type) {
      case "header":
        out += `<div class="block header">${textObj(b.text)}</div>`; break;
      case "section": {
        out += `<div class="block section">`;
        if (b.text) out += `<div class="text">${textObj(b.text)}</div>`;
        if (b.fields) out += `<div class="fields">${b.fields.map((f) => `<div>${textObj(f)}</div>`).join("")}</div>`;
        if (b.accessory) out += `<div class="actions">${element(b.accessory, ch, ts)}</div>`;
        out += `</div>`; break;
      }
      case "context":
        out += `<div class="block context">${(b.elements || []).map((e) => (e.type === "image" ? esc(e.alt_text || "") : textObj(e))).join(" · ")}</div>`; break;
      case "actions":
        out += `<div class="block actions">${(b.elements || []).map((e) => element(e, ch, ts)).join("")}</div>`; break;
      case "divider":
        out += `<div class="block divider"></div>`; break;
      case "image":
        out += `<div class="block context">[image: ${esc(b.alt_text || "")}]</div>`; break;
      case "rich_text":
        out += `<div class="block text">${richText(b.elements)}</div>`; break;
      default:
        if (b.text) out += `<div class="block">${textObj(b.text)}</div>`;
    }
  }
  return out;
}

function when(ts) {
  const d = new Date(parseFloat(ts) * 1000);
  return isNaN(d) ? "" : d.toLocaleTimeString();
}

function message(m, ch, cls) {
  const bot = state.workspace.bot_user_id;
  const who = m.user === bot ? `${esc(userName(m.user))}<span class="tag">APP</span>` : esc(userName(m.user));
  const flags = [m.pinned ? "📌 pinned" : "", m.edited_ts ? "(edited)" : ""].filter(Boolean).join(" ");
  let body = m.blocks && m.blocks.length ? `<div class="card">${blocks(m.blocks, ch, m.ts)}</div>` : `<div class="text">${mrkdwn(m.text)}</div>`;
  const reactions = (m.reactions || []).map((r) =>
    `<button class="chip${r.users.includes(me()) ? " mine" : ""}" data-kind="reaction" data-channel="${esc(ch)}" data-ts="${esc(m.ts)}" data-reaction="${esc(r.name)}"` +
    ` title="${esc(r.users.map(userName).join(", "))}">${emoji(r.name)} ${r.users.length} <span class="by">${esc(r.users.map(userName).join(", "))}</span></button>`).join("");
  const add = QUICK_REACTIONS.filter((n) => !(m.reactions || []).some((r) => r.name === n && r.users.includes(me())))
    .map((n) => `<button class="chip add" data-kind="reaction" data-channel="${esc(ch)}" data-ts="${esc(m.ts)}" data-reaction="${esc(n)}" title="react :${n}:">+${emoji(n)}</button>`).join("");
  if (m.files && m.files.length) {
    if (!m.text && !(m.blocks && m.blocks.length)) body = "";
    body += (m.files || []).map((id) => {
      const f = (state.workspace.files || []).find((f) => f.id === id);
      return f ? `<figure class="file"><img src="${esc(f.url)}" alt="${esc(f.title || f.name)}"><figcaption>${esc(f.title || f.name)}</figcaption></figure>` : "";
    }).join("");
  }
  return `<div class="msg ${cls || ""}" data-channel="${esc(ch)}" data-ts="${esc(m.ts)}">` +
    `<span class="who">${who}</span><span class="when">${when(m.ts)}</span><span class="flags">${flags}</span>` +
    body + `<div class="reactions">${reactions}${add}</div></div>`;
}

function ephemeral(e) {
  const b = e.blocks && e.blocks.length ? `<div class="card">${blocks(e.blocks, e.channel, e.ts)}</div>` : `<div class="text">${mrkdwn(e.text)}</div>`;
  return `<div class="msg ephemeral" data-channel="${esc(e.channel)}" data-ts="${esc(e.ts)}"><span class="who">baton</span>` +
    `<span class="when">${when(e.ts)}</span> <span class="only">only visible to you</span>${b}</div>`;
}

function messages(c) {
  const all = state.workspace.messages[c.id] || [];
  const top = all.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  const eph = (state.workspace.ephemerals || []).filter((e) => e.channel === c.id && e.user === me());
  const items = top.map((m) => ({ ts: parseFloat(m.ts), html: message(m, c.id) +
    all.filter((r) => r.thread_ts === m.ts && r.ts !== m.ts).map((r) => message(r, c.id, "reply")).join("") }))
    .concat(eph.map((e) => ({ ts: parseFloat(e.ts), html: ephemeral(e) })));
  items.sort((a, b) => a.ts - b.ts);
  return items.length ? items.map((i) => i.html).join("") : `<div class="empty">no messages yet</div>`;
}

function panel(c, title, meta) {
  return panelHTML({ id: c.id, name: c.name, title, meta, archived: c.is_archived, body: messages(c),
    cmd: "/incident ack · /incident resolve fixed · /oncall" });
}

function renderChannels() {
  // The alerts channels first, then the incident channels the bot made,
  // newest first; archived ones last.
  const bot = state.workspace.bot_user_id;
  const chans = state.workspace.channels.filter((c) => !c.is_im && !c.is_mpim);
  const rank = (c) => (c.is_archived ? 2 : c.creator === bot ? 1 : 0);
  chans.sort((a, b) => rank(a) - rank(b) || (rank(a) > 0 ? Date.parse(b.created) - Date.parse(a.created) : 0));
  el("channels").innerHTML = chans.map((c) => {
    const members = c.members.filter((m) => m !== state.workspace.bot_user_id).map(userName).join(", ");
    const meta = [c.is_archived ? "archived" : "", c.topic ? esc(c.topic) : "", members ? "members: " + esc(members) : ""].filter(Boolean).join(" · ");
    return panel(c, "#" + esc(c.name), meta);
  }).join("") || `<div class="empty">no channels</div>`;
}

function renderDMs() {
  el("dms").innerHTML = state.people.map((p) => {
    const c = state.workspace.channels.find((c) => c.is_im && c.user === p.slack_id);
    if (!c) return `<div class="panel"><div class="head"><span class="name">${esc(p.name)}</span><span class="meta">${esc(p.id)} · no DMs yet</span></div></div>`;
    return panel(c, esc(p.name), esc(p.id) + " · DM with baton");
  }).join("");
}

