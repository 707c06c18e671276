// hotline operator console. Every action is an admin API call; the page
// keeps no state of its own beyond the operator's name.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const state = { csrf: "", loginRequired: false, handoffs: [], pollTimer: 0, events: null };

const operator = () => ($("#operator").value.trim() || "operator");

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const res = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) { showLogin(); throw new Error("signed out"); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new Error((data && data.error) || `${res.status} ${res.statusText}`);
  return data;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function showError(node, err) {
  node.textContent = err ? String(err.message || err) : "";
  node.hidden = !err;
}

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function fmtLeft(ms) {
  const neg = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const txt = (h ? `${h}h ` : "") + `${m}m ${String(r).padStart(2, "0")}s`;
  return neg ? `SLA breached ${txt} ago` : `SLA ${txt} left`;
}

// ---- session ---------------------------------------------------------

function showLogin() {
  $("#app").hidden = true;
  $("#login-panel").hidden = false;
  $("#logout-form").hidden = true;
  if (state.events) { state.events.close(); state.events = null; }
  clearInterval(state.pollTimer);
}

async function start() {
  $("#operator").value = localStorage.getItem("hotline.operator") || "";
  $("#operator").addEventListener("change", () => localStorage.setItem("hotline.operator", $("#operator").value.trim()));
  if (new URLSearchParams(location.search).get("login") === "failed") $("#login-error").hidden = false;
  let info;
  try {
    info = await (await fetch("/console/session", { credentials: "same-origin" })).json();
  } catch (err) {
    $("#live-state").textContent = "cannot reach the gateway";
    $("#live-state").dataset.state = "offline";
    return;
  }
  state.loginRequired = info.login_required;
  state.csrf = info.csrf || "";
  if (!info.authenticated) { showLogin(); return; }
  if (location.search) history.replaceState(null, "", "/console/");
  $("#login-panel").hidden = true;
  $("#app").hidden = false;
  $("#logout-form").hidden = !info.login_required;
  wire();
  connectLive();
  poll();
  state.pollTimer = setInterval(poll, 2000);
  setInterval(tickSLA, 1000);
}

// ---- live traffic (server-sent events) -------------------------------

function connectLive() {
  const live = $("#live-state");
  const es = new EventSource("/console/events");
  state.events = es;
  es.addEventListener("live", (ev) => {
    const snap = JSON.parse(ev.data);
    const st = snap.status || {};
    // Live, but the gateway itself may be unwell: say so.
    live.dataset.state = st.ready === false ? "offline" : "live";
    live.textContent = st.ready === false ? "live · not ready: " + (st.error || "unknown") : "live";
    renderLive(snap);
  });
  es.addEventListener("trouble", (ev) => {
    live.dataset.state = "offline";
    live.textContent = "status unavailable: " + JSON.parse(ev.data).error;
  });
  es.addEventListener("signed-out", () => { es.close(); showLogin(); });
  es.onerror = () => { live.dataset.state = "offline"; live.textContent = "reconnecting…"; };
}

function renderList(ul, entries) {
  ul.replaceChildren(...entries.map(([k, v, cls]) => {
    const li = el("li");
    li.append(el("span", "", k), el("span", cls || "", v));
    return li;
  }));
}

function renderLive(snap) {
  // The gateway's own platforms first, in its order; then any other the
  // bus carries (a second instance's, a simulated message's).
  const platforms = [...((snap.status || {}).platforms || [])];
  const traffic = snap.traffic || {};
  for (const p of Object.keys(traffic)) if (!platforms.includes(p)) platforms.push(p);
  $("#traffic-body").replaceChildren(...platforms.map((p) => {
    const t = traffic[p] || { in: 0, out: 0, failed: 0 };
    const tr = el("tr");
    tr.dataset.platform = p;
    tr.append(el("td", "", p), el("td", "in", t.in.toFixed(1)), el("td", "out", t.out.toFixed(1)),
      el("td", t.failed > 0 ? "failed error" : "failed", t.failed.toFixed(1)));
    return tr;
  }));
  const st = snap.status || {};
  const circuits = Object.entries(st.circuits || {}).map(([k, v]) => [k, v, "circuit-" + v.replace(" ", "-")]);
  renderList($("#circuits"), circuits.length ? circuits : [["no delivery loops", ""]]);
  const backlog = [];
  for (const s of st.streams || []) {
    for (const [consumer, n] of Object.entries(s.backlog || {})) backlog.push([`${s.name} · ${consumer}`, String(n)]);
  }
  renderList($("#backlog"), backlog.length ? backlog : [["no consumers", ""]]);
  const adapters = Object.entries(st.adapters || {});
  renderList($("#adapters"), adapters.length ? adapters : [["web chat only", ""]]);
}

// ---- modes and audit -------------------------------------------------

function renderModes(list) {
  $("#modes-none").hidden = list.length > 0;
  $("#modes-body").replaceChildren(...list.map((s) => {
    const tr = el("tr");
    tr.dataset.mode = s.mode;
    tr.dataset.scope = s.scope;
    const btn = el("button", "clear-mode", "Clear");
    btn.type = "button";
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      try {
        await api("DELETE", `/admin/v1/modes/${encodeURIComponent(s.mode)}?scope=${encodeURIComponent(s.scope)}&by=${encodeURIComponent(operator())}`);
        await poll();
      } catch (err) { showError($("#mode-error"), err); btn.disabled = false; }
    });
    const reason = s.reason + (s.announce ? "\n" + Object.entries(s.announce).map(([l, t]) => `${l}: ${t}`).join("\n") : "");
    const td = el("td");
    td.append(btn);
    tr.append(el("td", "mode", s.mode), el("td", "", s.scope), el("td", "reason", reason), el("td", "", s.set_by),
      el("td", "", fmtTime(s.set_at)), el("td", "", s.expires_at ? fmtTime(s.expires_at) : "until cleared"), td);
    return tr;
  }));
}

function renderAudit(list) {
  $("#audit-list").replaceChildren(...list.slice().reverse().map((a) => {
    const what = [a.action, a.mode, a.scope, a.reply_id].filter(Boolean).join(" ");
    return el("li", "", `${fmtTime(a.at)} — ${what} by ${a.by}${a.reason ? ": " + a.reason : ""}`);
  }));
}

function parseAnnounce(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\s*[=:]\s*(.+)$/);
    if (m) out[m[1]] = m[2].trim();
    else if (line.trim()) throw new Error(`announcement line "${line.trim()}" is not lang=text`);
  }
  return out;
}

async function setMode(ev) {
  ev.preventDefault();
  const err = $("#mode-error");
  showError(err, null);
  const mode = $("#mode-name").value;
  try {
    const body = { scope: $("#mode-scope").value.trim() || "global", reason: $("#mode-reason").value.trim(), set_by: operator() };
    const ttl = $("#mode-ttl").value.trim();
    if (ttl) body.ttl = ttl;
    const announce = parseAnnounce($("#mode-announce").value);
    if (Object.keys(announce).length) body.announce = announce;
    await api("PUT", `/admin/v1/modes/${encodeURIComponent(mode)}`, body);
    $("#mode-reason").value = "";
    $("#mode-announce").value = "";
    await poll();
  } catch (e) { showError(err, e); }
}

// ---- handoffs ----------------------------------------------------------

const rank = { p1: 1, p2: 2, p3: 3 };

function renderHandoffs(all) {
  const list = (all || []).filter((h) => h.state !== "closed")
    .sort((a, b) => (rank[a.priority] - rank[b.priority]) || (new Date(a.sla_deadline) - new Date(b.sla_deadline)));
  state.handoffs = list;
  $("#handoffs-none").hidden = list.length > 0;
  $("#handoff-count").textContent = list.length ? `(${list.length})` : "";
  const box = $("#handoff-list");
  const keep = new Set(list.map((h) => h.id));
  for (const node of [...box.children]) if (!keep.has(node.dataset.id)) node.remove();
  list.forEach((h, i) => {
    let node = box.querySelector(`article[data-id="${CSS.escape(h.id)}"]`);
    if (!node) node = newHandoff(h.id);
    if (box.children[i] !== node) box.insertBefore(node, box.children[i] || null);
    node.dataset.priority = h.priority;
    node.dataset.state = h.state;
    $(".priority", node).textContent = h.priority;
    $(".ticket", node).textContent = h.ticket || h.id;
    $(".who", node).textContent = `${h.platform}/${h.account} · ${h.user && (h.user.name || h.user.id)}` + (h.lang ? ` · ${h.lang}` : "");
    $(".state", node).textContent = h.state === "claimed" ? `claimed by ${h.agent}` : "waiting";
    $(".reasons", node).textContent = [(h.reasons || []).join(", "), h.senior ? "senior agent" : "", h.deferred ? "queued during read-only" : ""].filter(Boolean).join(" · ");
    node.dataset.sla = h.sla_deadline;
    const hist = (h.history || []).slice(-7);
    const ol = $(".history", node);
    // Redrawn only when it changed: every poll would otherwise restart
    // a voice note being played and reload the pictures.
    const key = JSON.stringify([h.platform, h.account, hist]);
    if (ol.dataset.key !== key) {
      ol.dataset.key = key;
      ol.replaceChildren(...hist.map((t) => renderTurn(h, t)));
    }
    $(".claim", node).disabled = h.state === "claimed" && h.agent === operator();
  });
  tickSLA();
}

// ---- what users sent ---------------------------------------------------
// A turn's text and attachments come from users: they only ever reach the
// page as text nodes and as attributes of elements built here, never as
// markup.

function renderTurn(h, t) {
  const li = el("li", "role-" + t.role);
  li.dir = "auto";
  const media = (t.media || []).filter((m) => mediaPath(h, m));
  // A URL in the text that names one of the turn's attachments opens it
  // through the media endpoint, not at the platform (which would ask for
  // the account's credentials).
  const viaEndpoint = new Map(media.filter((m) => m.url).map((m) => [m.url, mediaPath(h, m)]));
  li.append(el("span", "role", t.role), ...linkify(t.text || "", viaEndpoint));
  if (media.length) {
    const box = el("div", "media-list");
    box.dir = "ltr";
    box.append(...media.map((m) => renderMedia(h, m)));
    li.append(box);
  }
  return li;
}

// mediaPath is where the admin media endpoint serves an attachment: by
// the platform's id when there is one, else by its URL.
function mediaPath(h, m) {
  const base = `/admin/v1/media/${encodeURIComponent(h.platform)}/${encodeURIComponent(h.account)}`;
  if (m.platform_id) return `${base}?id=${encodeURIComponent(m.platform_id)}`;
  if (m.url) return `${base}?url=${encodeURIComponent(m.url)}`;
  return "";
}

function mediaKind(m) {
  const mime = (m.mime || "").toLowerCase();
  if (m.kind === "image" || mime.startsWith("image/")) return "image";
  if (m.kind === "voice" || mime.startsWith("audio/")) return "audio";
  if (m.kind === "video" || mime.startsWith("video/")) return "video";
  return "file";
}

function fmtSize(n) {
  if (!n) return "";
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} KB`;
  return `${n} B`;
}

function newTabLink(href, cls, text) {
  const a = el("a", cls, text);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function renderMedia(h, m) {
  const src = mediaPath(h, m);
  const kind = mediaKind(m);
  const fig = el("figure", "media media-" + kind);
  const what = [m.file_name, m.mime, fmtSize(m.size)].filter(Boolean).join(" · ");
  let player = null;
  if (kind === "image") {
    player = el("img");
    player.loading = "lazy";
    player.decoding = "async";
    player.alt = m.caption || m.file_name || "picture the user sent";
    player.src = src;
    const open = newTabLink(src, "media-open");
    open.append(player);
    fig.append(open);
  } else if (kind === "audio" || kind === "video") {
    player = el(kind);
    player.controls = true;
    player.preload = kind === "video" ? "metadata" : "none";
    player.src = src;
    fig.append(player);
  }
  const caption = el("figcaption");
  const link = newTabLink(src, "media-link", kind === "file" ? `Download ${m.file_name || "file"}` : `Open ${kind}`);
  if (kind === "file") link.download = m.file_name || "";
  caption.append(link);
  if (what) caption.append(document.createTextNode(" " + what));
  const note = el("span", "media-error", "");
  note.hidden = true;
  caption.append(note);
  fig.append(caption);
  if (player) {
    // The endpoint refuses with a JSON reason (expired, not media, too
    // big); an element only learns that it failed, so point at the link.
    player.addEventListener("error", () => {
      fig.classList.add("media-failed");
      note.textContent = kind === "image" ? " could not be shown; open it for the reason"
        : " this browser cannot play it, or it could not be fetched; open or download it";
      note.hidden = false;
    });
  }
  return fig;
}

// linkify returns text as text nodes with its http and https URLs as
// links; anything else that looks like a URL stays text.
const urlPattern = /\bhttps?:\/\/[^\s<>"'\]]+/gi;

function linkify(text, viaEndpoint) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(urlPattern)) {
    // Trailing punctuation belongs to the sentence, not the URL.
    const raw = match[0].replace(/[.,;:!?)]+$/, "");
    if (match.index > last) out.push(document.createTextNode(text.slice(last, match.index)));
    out.push(safeLink(raw, viaEndpoint.get(raw)) || document.createTextNode(raw));
    last = match.index + raw.length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

function safeLink(raw, endpoint) {
  if (endpoint) return newTabLink(endpoint, "media-link", raw);
  let u;
  try { u = new URL(raw); } catch { return null; }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  const a = newTabLink(u.href, "ext", raw);
  a.rel = "noopener noreferrer nofollow";
  return a;
}

function newHandoff(id) {
  const node = $("#handoff-template").content.firstElementChild.cloneNode(true);
  node.dataset.id = id;
  const err = $(".handoff-error", node);
  const act = async (action, body) => {
    showError(err, null);
    try {
      await api("POST", `/admin/v1/handoffs/${encodeURIComponent(id)}/${action}`, { agent: operator(), ...body });
      return true;
    } catch (e) { showError(err, e); return false; }
  };
  $(".claim", node).addEventListener("click", async () => { if (await act("claim")) poll(); });
  $(".close-handoff", node).addEventListener("click", async () => { if (await act("close")) poll(); });
  $(".reply", node).addEventListener("click", async () => {
    const box = $(".reply-text", node);
    const text = box.value.trim();
    if (!text) { showError(err, "Write a reply first."); return; }
    // One key per reply text, so a double click or a retry sends it
    // once, and an edited text is a new reply.
    if (box.dataset.keyText !== text) {
      box.dataset.key = crypto.randomUUID();
      box.dataset.keyText = text;
    }
    if (await act("reply", { text, idempotency_key: box.dataset.key })) {
      box.value = "";
      delete box.dataset.key;
      delete box.dataset.keyText;
      poll();
    }
  });
  return node;
}

function tickSLA() {
  const now = Date.now();
  for (const node of document.querySelectorAll("#handoff-list article")) {
    const left = new Date(node.dataset.sla).getTime() - now;
    const sla = $(".sla", node);
    sla.textContent = isNaN(left) ? "" : fmtLeft(left);
    sla.classList.toggle("breached", left < 0);
  }
}

// ---- review queue ------------------------------------------------------

function renderReview(list) {
  list = list || [];
  $("#review-none").hidden = list.length > 0;
  $("#review-count").textContent = list.length ? `(${list.length})` : "";
  const box = $("#review-list");
  const keep = new Set(list.map((r) => r.id));
  for (const node of [...box.children]) if (!keep.has(node.dataset.id)) node.remove();
  for (const r of list) {
    let node = box.querySelector(`article[data-id="${CSS.escape(r.id)}"]`);
    if (!node) { node = newHeld(r); box.append(node); }
    $(".where", node).textContent = `${r.platform}/${r.account} → ${r.to && r.to.id}`;
    $(".when", node).textContent = fmtTime(r.created_at);
    const text = $(".held-text", node);
    text.textContent = r.text;
    text.dir = r.dir === "rtl" ? "rtl" : "auto";
  }
}

function newHeld(r) {
  const node = $("#held-template").content.firstElementChild.cloneNode(true);
  node.dataset.id = r.id;
  $(".edit-text", node).value = r.text;
  const err = $(".held-error", node);
  const act = async (action, body) => {
    showError(err, null);
    try {
      await api("POST", `/admin/v1/review/${encodeURIComponent(r.id)}/${action}`, { by: operator(), ...body });
      poll();
    } catch (e) { showError(err, e); }
  };
  $(".approve", node).addEventListener("click", () => act("approve"));
  $(".edit", node).addEventListener("click", () => act("edit", { text: $(".edit-text", node).value }));
  $(".reject", node).addEventListener("click", () => act("reject", { reason: $(".reject-reason", node).value.trim() || "rejected in console" }));
  return node;
}

// ---- polling -------------------------------------------------------------

let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    const [modes, audit, handoffs, review] = await Promise.allSettled([
      api("GET", "/admin/v1/modes"), api("GET", "/admin/v1/audit?limit=30"),
      api("GET", "/admin/v1/handoffs"), api("GET", "/admin/v1/review"),
    ]);
    if (modes.status === "fulfilled") renderModes(modes.value || []);
    if (audit.status === "fulfilled") renderAudit(audit.value || []);
    if (handoffs.status === "fulfilled") renderHandoffs(handoffs.value);
    if (review.status === "fulfilled") renderReview(review.value);
  } finally { polling = false; }
}

let wired = false;
function wire() {
  if (wired) return;
  wired = true;
  $("#mode-form").addEventListener("submit", setMode);
}

document.addEventListener("DOMContentLoaded", start);
