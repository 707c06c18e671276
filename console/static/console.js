// hotline operator console. Every action is an admin API call; the page
// keeps no state of its own beyond the operator's name.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const state = { csrf: "", loginRequired: false, handoffs: [], pollTimer: 0, deliveryTimer: 0, events: null, platforms: [] };

const operator = () => ($("#operator").value.trim() || "operator");
// Who the audit trail names for a dead letter's retry or drop.
const actor = () => ($("#operator").value.trim() || "console");

// ---- the console's own words ---------------------------------------------
// In the operator's browser language where there are texts for it, else
// English (the words in index.html). What users, agents and platforms
// wrote is never translated; state names stay the codes the CLI prints.

const texts = {
  en: {
    sla_left: "SLA {t} left", sla_breached: "SLA breached {t} ago", unreachable: "cannot reach the gateway",
    live: "live", not_ready: "live · not ready: {e}", unavailable: "status unavailable: {e}", reconnecting: "reconnecting…",
    no_loops: "no delivery loops", no_consumers: "no consumers", webchat_only: "web chat only", clear: "Clear",
    until_cleared: "until cleared", claimed_by: "claimed by {a}", waiting: "waiting", senior: "senior agent",
    deferred: "queued during read-only", write_first: "Write a reply first.",
    role_user: "user", role_bot: "bot", role_agent: "agent",
    reply_one: "1 reply", replies: "{n} replies", no_deliveries: "nothing sent yet", attempt: "attempt {n}",
    chart_axis_start: "15 min ago", chart_axis_end: "now", no_canned: "no canned reply matches",
    tries: "attempts: {n}", confirm_drop: "Drop for good?",
    nothing_waiting: "Nothing is waiting for you.", edit: "Edit", bad_line: "line \"{line}\" is not lang=text",
    faq_saved: "Saved {id} (version {n}).", faq_disabled: "{id} is disabled (version {n}).",
    faq_removed: "Edit of {id} removed: the built-in entry, if there is one, answers again.",
    text_saved: "Saved {lang}/{key}.", text_removed: "Edit of {lang}/{key} removed: the file's text is sent again.",
    no_text_matches: "no text matches",
    // Reasons in the audit trail, which every operator reads: English.
    retried: "retried in the console", dropped: "dropped in the console",
  },
  zh: {
    connecting: "连接中…", operator: "操作员", logout: "退出登录", sign_in: "登录", token_hint: "请输入管理令牌",
    admin_token: "管理令牌", wrong_token: "令牌错误。",
    modes: "降级模式", mode: "模式", scope: "范围", reason: "原因", by: "操作人", since: "开始", expires: "到期",
    modes_none: "服务正常：没有开启任何模式。", ttl: "时长", reason_hint: "原因（记入审计）",
    ttl_hint: "例如 2h（留空：直到解除）", announce_hint: "公告文本，每行一条：", switch_on: "开启", audit: "审计记录",
    live_traffic: "实时流量", platform: "平台", in_s: "收 /秒", out_s: "发 /秒", failed_s: "失败 /秒",
    circuits: "熔断器", queues: "队列", adapters: "适配器",
    handoffs: "人工转接", handoffs_none: "没有用户在等待客服。", review: "审核队列", review_none: "没有待审核的回复。",
    deliveries: "投递", last_15: "最近 15 分钟", chart_none: "最近 15 分钟没有投递。", dead_letters: "死信",
    dead_none: "所有消息都已投递或仍在重试。", message: "消息", retry: "重试", drop: "丢弃",
    claim: "认领", reply_hint: "回复用户…（输入 / 选择快捷回复）", send_reply: "发送回复", close: "关闭",
    approve: "批准", send_edited: "发送修改后的回复", reject_hint: "拒绝原因", reject: "拒绝",
    sla_left: "SLA 剩余 {t}", sla_breached: "SLA 已超时 {t}", unreachable: "无法连接网关",
    live: "实时", not_ready: "实时 · 未就绪：{e}", unavailable: "状态不可用：{e}", reconnecting: "重新连接中…",
    no_loops: "没有投递循环", no_consumers: "没有消费者", webchat_only: "仅网页聊天", clear: "解除",
    until_cleared: "直到解除", claimed_by: "已由 {a} 认领", waiting: "等待中", senior: "高级客服",
    deferred: "只读期间排队", write_first: "请先写回复。",
    role_user: "用户", role_bot: "机器人", role_agent: "客服",
    reply_one: "1 条回复", replies: "{n} 条回复", no_deliveries: "尚未发送", attempt: "第 {n} 次",
    chart_axis_start: "15 分钟前", chart_axis_end: "现在", no_canned: "没有匹配的快捷回复",
    tries: "尝试 {n} 次", confirm_drop: "确定丢弃？",
    take_next: "领取下一个", nothing_waiting: "目前没有等待你处理的转接。",
    knowledge: "知识库", faq: "常见问题", faq_id: "条目 ID", keywords_hint: "关键词，每行一种语言，短语用逗号分隔：",
    answers_hint: "答案，每行一种语言（必须有英文）：", save: "保存", disable: "停用", remove_edit: "撤销修改",
    new_entry: "新条目", texts: "文本", language: "语言", filter: "筛选", filter_hint: "键名或文字", text_of: "编辑文本",
    edit: "编辑", bad_line: "“{line}”不是“语言=文本”格式",
    faq_saved: "已保存 {id}（版本 {n}）。", faq_disabled: "已停用 {id}（版本 {n}）。",
    faq_removed: "已撤销 {id} 的修改：如有内置条目，将重新使用。",
    text_saved: "已保存 {lang}/{key}。", text_removed: "已撤销 {lang}/{key} 的修改：重新使用文件中的文本。",
    no_text_matches: "没有匹配的文本",
  },
};

const lang = (navigator.languages || [navigator.language]).map((l) => String(l).toLowerCase().split("-")[0])
  .find((l) => texts[l]) || "en";

function t(key, vars = {}) {
  const s = texts[lang][key] ?? texts.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

// translatePage puts the console's words in the operator's language, in
// the page and in the templates the cards are made from.
function translatePage() {
  document.documentElement.lang = lang;
  if (lang === "en") return;
  const roots = [document, ...[...document.querySelectorAll("template")].map((tpl) => tpl.content)];
  for (const root of roots) {
    // Words without a translation keep the page's English.
    const say = (key) => texts[lang][key];
    for (const e of root.querySelectorAll("[data-t]")) if (say(e.dataset.t)) e.textContent = say(e.dataset.t);
    for (const e of root.querySelectorAll("[data-t-placeholder]")) if (say(e.dataset.tPlaceholder)) e.placeholder = say(e.dataset.tPlaceholder);
    for (const e of root.querySelectorAll("[data-t-label]")) if (say(e.dataset.tLabel)) e.setAttribute("aria-label", say(e.dataset.tLabel));
  }
}

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
  if (!res.ok) {
    // The status goes with the API's words: a 404 can be an answer
    // ("nothing for you") rather than a failure.
    const err = new Error((data && data.error) || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// textEl holds text someone wrote, in any language: its own element,
// whose direction its first strong letter decides, not the labels around
// it (an Arabic message after a Latin label is still right to left).
function textEl(tag, cls, text) {
  const e = el(tag, cls, text);
  e.dir = "auto";
  return e;
}

// bdi isolates a name or a ticket id from the text around it, so neither
// reorders the other.
const bdi = (cls, text) => el("bdi", cls, text);

function showError(node, err) {
  node.textContent = err ? String(err.message || err) : "";
  node.hidden = !err;
}

// showStatus says what a change did, or clears it with "".
function showStatus(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const fmtShort = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : "—");

function fmtLeft(ms) {
  const neg = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const txt = (h ? `${h}h ` : "") + `${m}m ${String(r).padStart(2, "0")}s`;
  return t(neg ? "sla_breached" : "sla_left", { t: txt });
}

// ---- session ---------------------------------------------------------

function showLogin() {
  $("#app").hidden = true;
  $("#login-panel").hidden = false;
  $("#logout-form").hidden = true;
  if (state.events) { state.events.close(); state.events = null; }
  clearInterval(state.pollTimer);
  clearInterval(state.deliveryTimer);
}

async function start() {
  translatePage();
  $("#operator").value = localStorage.getItem("hotline.operator") || "";
  $("#operator").addEventListener("change", () => localStorage.setItem("hotline.operator", $("#operator").value.trim()));
  if (new URLSearchParams(location.search).get("login") === "failed") $("#login-error").hidden = false;
  let info;
  try {
    info = await (await fetch("/console/session", { credentials: "same-origin" })).json();
  } catch (err) {
    $("#live-state").textContent = t("unreachable");
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
  refreshDeliveries();
  state.deliveryTimer = setInterval(refreshDeliveries, 3000);
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
    live.textContent = st.ready === false ? t("not_ready", { e: st.error || "unknown" }) : t("live");
    renderLive(snap);
  });
  es.addEventListener("trouble", (ev) => {
    live.dataset.state = "offline";
    live.textContent = t("unavailable", { e: JSON.parse(ev.data).error });
  });
  es.addEventListener("signed-out", () => { es.close(); showLogin(); });
  es.onerror = () => { live.dataset.state = "offline"; live.textContent = t("reconnecting"); };
}

function renderList(ul, entries) {
  ul.replaceChildren(...entries.map(([k, v, cls]) => {
    const li = el("li");
    li.append(el("span", "", k), el("span", cls || "", v));
    return li;
  }));
}

function renderLive(snap) {
  // The gateway's own platforms, in its order, and only those: traffic
  // also counts what the bus carries for others (a second instance's
  // accounts, a simulated message), which this gateway does not serve.
  const platforms = (snap.status || {}).platforms || [];
  state.platforms = platforms;
  const traffic = snap.traffic || {};
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
  renderList($("#circuits"), circuits.length ? circuits : [[t("no_loops"), ""]]);
  const backlog = [];
  for (const s of st.streams || []) {
    for (const [consumer, n] of Object.entries(s.backlog || {})) backlog.push([`${s.name} · ${consumer}`, String(n)]);
  }
  renderList($("#backlog"), backlog.length ? backlog : [[t("no_consumers"), ""]]);
  const adapters = Object.entries(st.adapters || {});
  renderList($("#adapters"), adapters.length ? adapters : [[t("webchat_only"), ""]]);
}

// ---- modes and audit -------------------------------------------------

function renderModes(list) {
  $("#modes-none").hidden = list.length > 0;
  // Redrawn only when a mode changed: rows replaced at every poll would
  // swallow an operator's click on Clear (the button goes between the
  // press and the release).
  const body = $("#modes-body");
  const key = JSON.stringify(list);
  if (body.dataset.key === key) return;
  body.dataset.key = key;
  body.replaceChildren(...list.map((s) => {
    const tr = el("tr");
    tr.dataset.mode = s.mode;
    tr.dataset.scope = s.scope;
    const btn = el("button", "clear-mode", t("clear"));
    btn.type = "button";
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      try {
        await api("DELETE", `/admin/v1/modes/${encodeURIComponent(s.mode)}?scope=${encodeURIComponent(s.scope)}&by=${encodeURIComponent(operator())}`);
        await poll();
      } catch (err) { showError($("#mode-error"), err); btn.disabled = false; }
    });
    // The button sits under the mode's name: a column of its own would
    // widen the table past a half-width card.
    const mode = el("td", "mode");
    mode.append(el("div", "", s.mode), btn);
    // The reason and the announcements are the operator's words, in any
    // language: each finds its own direction.
    const why = el("td", "reason");
    why.append(textEl("div", "", s.reason), ...Object.entries(s.announce || {}).map(([l, text]) => {
      const line = el("div", "announce", `${l}: `);
      line.append(bdi("", text));
      return line;
    }));
    const by = el("td");
    by.append(bdi("", s.set_by));
    tr.append(mode, el("td", "", s.scope), why, by,
      el("td", "", fmtShort(s.set_at)), el("td", "", s.expires_at ? fmtShort(s.expires_at) : t("until_cleared")));
    return tr;
  }));
}

function renderAudit(list) {
  $("#audit-list").replaceChildren(...list.slice().reverse().map((a) => {
    const what = [a.action, a.mode, a.scope, a.reply_id].filter(Boolean).join(" ");
    const li = el("li", "", `${fmtTime(a.at)} — ${what} by `);
    li.append(bdi("", a.by));
    if (a.reason) li.append(": ", textEl("span", "", a.reason));
    return li;
  }));
}

// parseLangLines reads "lang=text" lines (announcements, FAQ keywords
// and answers) into [lang, text] pairs, in order; blank lines are skipped.
function parseLangLines(text) {
  const out = [];
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\s*[=:]\s*(.+)$/);
    if (m) out.push([m[1], m[2].trim()]);
    else if (line.trim()) throw new Error(t("bad_line", { line: line.trim() }));
  }
  return out;
}

const parseAnnounce = (text) => Object.fromEntries(parseLangLines(text));

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
    if (!node) node = newHandoff(h);
    if (box.children[i] !== node) box.insertBefore(node, box.children[i] || null);
    node.dataset.priority = h.priority;
    node.dataset.state = h.state;
    node.dataset.conversation = h.conversation;
    $(".priority", node).textContent = h.priority;
    $(".ticket", node).textContent = h.ticket || h.id;
    const tier = $(".tier", node);
    tier.textContent = h.tier || "";
    tier.hidden = !h.tier;
    renderWho($(".who", node), h);
    const st = $(".state", node);
    if (h.state === "claimed") {
      const [before, after] = t("claimed_by").split("{a}");
      st.replaceChildren(before, bdi("agent", h.agent), after || "");
    } else st.textContent = t("waiting");
    $(".reasons", node).textContent = [(h.reasons || []).join(", "), h.senior ? t("senior") : "", h.deferred ? t("deferred") : ""].filter(Boolean).join(" · ");
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

// renderWho names the user: platform and account, then the name the
// platform gave, isolated (it may be Arabic, or look like one).
function renderWho(box, h) {
  const user = h.user || {};
  const parts = [`${h.platform}/${h.account} · `, bdi("user-name", user.name || user.id || "")];
  if (h.lang) parts.push(` · ${h.lang}`);
  const key = JSON.stringify([h.platform, h.account, user.name, user.id, h.lang]);
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    box.replaceChildren(...parts);
  }
}

// ---- what users sent ---------------------------------------------------
// A turn's text and attachments come from users: they only ever reach the
// page as text nodes and as attributes of elements built here, never as
// markup.

function renderTurn(h, turn) {
  const li = el("li", "role-" + turn.role);
  const media = (turn.media || []).filter((m) => mediaPath(h, m));
  // A URL in the text that names one of the turn's attachments opens it
  // through the media endpoint, not at the platform (which would ask for
  // the account's credentials).
  const viaEndpoint = new Map(media.filter((m) => m.url).map((m) => [m.url, mediaPath(h, m)]));
  const text = textEl("div", "turn-text");
  text.append(...linkify(turn.text || "", viaEndpoint, h.ticket));
  const role = el("span", "role", t("role_" + turn.role));
  role.dataset.role = turn.role;
  li.append(role, text);
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

function linkify(text, viaEndpoint, ticket) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(urlPattern)) {
    // Trailing punctuation belongs to the sentence, not the URL.
    const raw = match[0].replace(/[.,;:!?)]+$/, "");
    if (match.index > last) out.push(...isolateTicket(text.slice(last, match.index), ticket));
    out.push(safeLink(raw, viaEndpoint.get(raw)) || document.createTextNode(raw));
    last = match.index + raw.length;
  }
  if (last < text.length) out.push(...isolateTicket(text.slice(last), ticket));
  return out;
}

// isolateTicket returns text as text nodes with each mention of the
// ticket id in a <bdi>: in an Arabic sentence the id still reads as the
// user was given it.
function isolateTicket(text, ticket) {
  if (!ticket || !text.includes(ticket)) return [document.createTextNode(text)];
  const out = [];
  text.split(ticket).forEach((piece, i) => {
    if (i > 0) out.push(bdi("ticket-ref", ticket));
    if (piece) out.push(document.createTextNode(piece));
  });
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

function newHandoff(h) {
  const id = h.id;
  const node = $("#handoff-template").content.firstElementChild.cloneNode(true);
  node.dataset.id = id;
  node.dataset.conversation = h.conversation;
  $(".canned-menu", node).id = "canned-" + id;
  $(".reply-text", node).setAttribute("aria-controls", "canned-" + id);
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
    if (!text) { showError(err, t("write_first")); return; }
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
  wireCanned(node, id, err);
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

// takeNext asks the gateway for the handoff this agent should answer
// now (the most urgent one in their languages) and claims it, so two
// agents pressing it at once get different users.
let takeNoteTimer = 0;
async function takeNext() {
  const btn = $("#take-next"), note = $("#take-next-note");
  btn.disabled = true;
  clearTimeout(takeNoteTimer);
  showStatus(note, "");
  try {
    const h = await api("POST", "/admin/v1/handoffs/next", { agent: operator() });
    // Drawn from the answer at once, not at the next poll: the card may
    // be new, and the agent should see it as theirs before anything else.
    renderHandoffs([...state.handoffs.filter((x) => x.id !== h.id), h]);
    for (const n of document.querySelectorAll("#handoff-list article.taken")) n.classList.remove("taken");
    const node = $(`#handoff-list article[data-id="${CSS.escape(h.id)}"]`);
    if (node) {
      node.classList.add("taken");
      node.scrollIntoView({ behavior: "smooth", block: "start" });
    }
    poll();
  } catch (e) {
    // 404 is the gateway's "no open handoff for you": an answer, not a failure.
    note.classList.toggle("error", e.status !== 404);
    showStatus(note, e.status === 404 ? t("nothing_waiting") : String(e.message || e));
    // Handoffs keep arriving: "nothing waiting" is only true for a while.
    takeNoteTimer = setTimeout(() => showStatus(note, ""), 8000);
  } finally { btn.disabled = false; }
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
    const to = r.to || {};
    $(".where", node).replaceChildren(`${r.platform}/${r.account} → `, bdi("user-name", to.name || to.id || ""));
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

// ---- canned replies ----------------------------------------------------
// "/" at the start of the reply box or after a space opens the canned
// replies in the handoff's language, already filled for this user,
// ticket and agent; the text after the slash filters them. Arrow keys and
// Enter, or a click, put the reply into the box, where the agent can edit
// it before sending: what is sent is always what the box shows.

function wireCanned(node, id, err) {
  const box = $(".reply-text", node);
  const menu = $(".canned-menu", node);
  const m = { items: [], at: 0, start: -1, agent: "", list: null };
  // slash is the "/word" being typed before the caret, if any.
  const slash = () => {
    const before = box.value.slice(0, box.selectionStart);
    const match = before.match(/(?:^|\s)\/([^\s/]*)$/);
    return match ? { start: before.length - match[1].length - 1, query: match[1].toLowerCase() } : null;
  };
  const close = () => {
    menu.hidden = true;
    m.start = -1;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
  };
  // The list is fetched once per agent name: {agent} is filled in.
  const load = () => {
    const agent = operator();
    if (!m.list || m.agent !== agent) {
      m.agent = agent;
      m.list = api("GET", `/admin/v1/canned?handoff=${encodeURIComponent(id)}&agent=${encodeURIComponent(agent)}`)
        .then((list) => list || [])
        .catch((e) => { m.list = null; throw e; });
    }
    return m.list;
  };
  const draw = () => {
    menu.replaceChildren(...m.items.map((c, i) => {
      const li = el("li", "canned-option");
      li.id = `${menu.id}-${i}`;
      li.dataset.id = c.id;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === m.at));
      li.append(el("strong", "", c.title || c.id), textEl("span", "canned-preview", c.text));
      // mousedown, not click: the box keeps the focus and the caret.
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); insert(i); });
      return li;
    }));
    if (!m.items.length) menu.append(el("li", "canned-empty", t("no_canned")));
    menu.hidden = false;
    box.setAttribute("aria-expanded", "true");
    if (m.items.length) {
      box.setAttribute("aria-activedescendant", `${menu.id}-${m.at}`);
      menu.children[m.at].scrollIntoView({ block: "nearest" });
    }
  };
  const show = async () => {
    if (!slash()) { close(); return; }
    let list;
    try { list = await load(); } catch (e) { showError(err, e); close(); return; }
    const cur = slash(); // the agent may have typed on meanwhile
    if (!cur) { close(); return; }
    m.start = cur.start;
    m.items = list.filter((c) => !cur.query || [c.id, c.title, c.text].some((f) => (f || "").toLowerCase().includes(cur.query)));
    m.at = 0;
    draw();
  };
  const insert = (i) => {
    const c = m.items[i];
    if (!c || m.start < 0) return;
    const end = box.selectionStart;
    box.value = box.value.slice(0, m.start) + c.text + box.value.slice(end);
    const caret = m.start + c.text.length;
    box.setSelectionRange(caret, caret);
    close();
    box.focus();
  };
  box.addEventListener("input", show);
  box.addEventListener("blur", close);
  box.addEventListener("keydown", (ev) => {
    if (menu.hidden) return;
    const n = m.items.length;
    switch (ev.key) {
      case "ArrowDown": if (n) { m.at = (m.at + 1) % n; draw(); } break;
      case "ArrowUp": if (n) { m.at = (m.at + n - 1) % n; draw(); } break;
      case "Enter": case "Tab": if (!n) return; insert(m.at); break;
      case "Escape": close(); break;
      default: return;
    }
    ev.preventDefault();
  });
}

// ---- deliveries ----------------------------------------------------------
// What became of the replies: each handoff's timeline, a per-minute chart
// of the last 15 minutes, and the dead letters to retry or drop.

const problemStates = new Set(["retrying", "failed", "dead"]);
const fmtClock = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "—");

// loadTimeline fetches one handoff's timeline; loads queue up, so the
// last one drawn is the newest.
function loadTimeline(node) {
  node.timeline = (node.timeline || Promise.resolve()).then(async () => {
    const conv = node.dataset.conversation;
    if (!conv || !node.isConnected) return; // closed meanwhile
    try {
      renderTimeline(node, await api("GET", `/admin/v1/deliveries?conversation=${encodeURIComponent(conv)}&limit=100`) || []);
    } catch { /* the next change in the feed loads it again */ }
  });
}

function renderTimeline(node, list) {
  const latest = new Map(); // reply id → its last event
  for (const st of list) latest.set(st.reply_id, st);
  const last = list[list.length - 1];
  const summary = $(".delivery-last", node);
  summary.replaceChildren();
  if (last) {
    summary.append(t(latest.size === 1 ? "reply_one" : "replies", { n: latest.size }) + " · ", stateBadge(last.state));
  } else summary.textContent = t("no_deliveries");
  $(".timeline", node).replaceChildren(...list.slice(-12).map((st) => {
    const li = el("li", "state-" + st.state);
    li.dataset.state = st.state;
    li.dataset.reply = st.reply_id;
    li.title = st.reply_id;
    li.append(el("time", "", fmtClock(st.at)), stateBadge(st.state));
    if (st.attempt > 1) li.append(el("span", "attempt", t("attempt", { n: st.attempt })));
    if (st.error) li.append(textEl("span", "delivery-error", st.error));
    return li;
  }));
  // A reply in trouble opens the timeline, once: the agent may close it.
  const details = $(".deliveries", node);
  const trouble = [...latest.values()].some((st) => problemStates.has(st.state));
  if (trouble && !node.dataset.opened) { details.open = true; node.dataset.opened = "1"; }
}

function stateBadge(s) {
  const b = el("span", "badge st-" + s, s);
  b.dataset.state = s;
  return b;
}

let refreshing = false;
async function refreshDeliveries() {
  if (refreshing) return;
  refreshing = true;
  try {
    const [feed, dead] = await Promise.allSettled([
      api("GET", "/admin/v1/deliveries?limit=1000"), api("GET", "/admin/v1/dead?limit=100"),
    ]);
    if (feed.status === "fulfilled") {
      renderChart(feed.value || []);
      noticeTimelines(feed.value || []);
    }
    if (dead.status === "fulfilled") renderDead(dead.value || []);
  } finally { refreshing = false; }
}

// noticeTimelines loads the timelines of new handoffs and of those whose
// conversations have new events in the feed, rather than every timeline
// on every refresh.
function noticeTimelines(feed) {
  const seen = new Map(); // conversation → count and newest time
  for (const st of feed) {
    if (!st.conversation) continue;
    const s = seen.get(st.conversation) || { n: 0, at: "" };
    seen.set(st.conversation, { n: s.n + 1, at: st.at });
  }
  for (const node of document.querySelectorAll("#handoff-list article.handoff")) {
    const s = seen.get(node.dataset.conversation);
    const key = s ? `${s.n}|${s.at}` : "";
    if (node.dataset.feedKey !== key) {
      node.dataset.feedKey = key;
      loadTimeline(node);
    }
  }
}

const chartStates = ["delivered", "sent", "passive", "rerouted", "held", "retrying", "failed", "dead"];
const chartMinutes = 15;

// renderChart counts the feed's events per platform, minute and state
// over the last 15 minutes, as one row of stacked bars per platform.
function renderChart(feed) {
  const now = Math.floor(Date.now() / 60000);
  const counts = new Map(); // platform → [minute][state] → n
  for (const st of feed) {
    const i = chartMinutes - 1 - (now - Math.floor(Date.parse(st.at) / 60000));
    if (!(i >= 0 && i < chartMinutes)) continue;
    if (!counts.has(st.platform)) counts.set(st.platform, Array.from({ length: chartMinutes }, () => ({})));
    const cell = counts.get(st.platform)[i];
    cell[st.state] = (cell[st.state] || 0) + 1;
  }
  // The gateway's platforms in its order, then any other with events.
  const order = [...state.platforms.filter((p) => counts.has(p)), ...[...counts.keys()].filter((p) => !state.platforms.includes(p))];
  let max = 1;
  for (const rows of counts.values()) for (const cell of rows) max = Math.max(max, Object.values(cell).reduce((a, b) => a + b, 0));
  $("#chart-none").hidden = order.length > 0;
  const axis = el("div", "chart-axis");
  axis.append(el("span", "", t("chart_axis_start")), el("span", "", t("chart_axis_end")));
  $("#delivery-chart").replaceChildren(...order.map((p) => chartRow(p, counts.get(p), max, now)), ...(order.length ? [axis] : []));
}

const svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function chartRow(platform, rows, max, now) {
  const W = 300, H = 48, slot = W / chartMinutes;
  const fig = el("figure", "chart");
  fig.dataset.platform = platform;
  const totals = {};
  // Stretched to the card's width: bars and lines only, no text to distort.
  const plot = svg("svg", { viewBox: `0 0 ${W} ${H + 1}`, preserveAspectRatio: "none", role: "img", "aria-label": platform });
  rows.forEach((cell, i) => {
    let y = H;
    for (const s of chartStates) {
      const n = cell[s] || 0;
      if (!n) continue;
      totals[s] = (totals[s] || 0) + n;
      const h = Math.max(1, (n / max) * H);
      y -= h;
      const bar = svg("rect", { x: i * slot + 1, y, width: slot - 2, height: h, class: "bar st-" + s });
      const minute = new Date((now - (chartMinutes - 1 - i)) * 60000);
      bar.append(svg("title", {}));
      bar.firstChild.textContent = `${minute.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} ${s} ${n}`;
      plot.append(bar);
    }
  });
  plot.append(svg("line", { x1: 0, y1: H + 0.5, x2: W, y2: H + 0.5, class: "axis" }));
  const caption = el("figcaption");
  caption.append(el("strong", "", platform), " ");
  for (const s of chartStates) {
    if (!totals[s]) continue;
    const item = el("span", "total");
    item.dataset.state = s;
    item.append(stateBadge(s), ` ${totals[s]}`);
    caption.append(item, " ");
  }
  fig.append(caption, plot);
  return fig;
}

// ---- dead letters --------------------------------------------------------

function renderDead(list) {
  $("#dead-none").hidden = list.length > 0;
  $("#dead-count").textContent = list.length ? `(${list.length})` : "";
  const box = $("#dead-list");
  const keep = new Set(list.map((d) => String(d.seq)));
  for (const node of [...box.children]) if (!keep.has(node.dataset.seq)) node.remove();
  list.forEach((d, i) => {
    let node = box.querySelector(`article[data-seq="${d.seq}"]`);
    if (!node) node = newDead(d);
    if (box.children[i] !== node) box.insertBefore(node, box.children[i] || null);
    $(".age", node).textContent = fmtAge(d.at);
  });
}

// deadMessage is the JSON message a dead letter holds (a reply: its id,
// text and addressee), or {} when it is not JSON.
function deadMessage(d) {
  try {
    const bytes = Uint8Array.from(atob(d.data || ""), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) || {};
  } catch { return {}; }
}

const relTime = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "narrow" });
function fmtAge(iso) {
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (isNaN(s)) return "";
  if (s > -60) return relTime.format(s, "second");
  if (s > -3600) return relTime.format(Math.round(s / 60), "minute");
  if (s > -86400) return relTime.format(Math.round(s / 3600), "hour");
  return relTime.format(Math.round(s / 86400), "day");
}

function newDead(d) {
  const node = $("#dead-template").content.firstElementChild.cloneNode(true);
  const msg = deadMessage(d);
  node.dataset.seq = String(d.seq);
  node.dataset.message = msg.id || "";
  $(".subject", node).textContent = d.subject;
  $(".age", node).title = fmtTime(d.at);
  $(".tries", node).textContent = d.deliveries ? t("tries", { n: d.deliveries }) : "";
  $(".dead-reason", node).textContent = d.reason;
  $(".msg-id", node).textContent = msg.id || "—";
  const to = msg.to || {};
  if (to.name || to.id) $(".dead-to", node).replaceChildren("→ ", bdi("user-name", to.name || to.id));
  const text = typeof msg.text === "string" ? msg.text : "";
  $(".dead-text", node).textContent = text.length > 280 ? text.slice(0, 280) + "…" : text;
  $(".dead-text", node).hidden = !text;
  const err = $(".dead-error", node);
  const act = async (action, reason, btn) => {
    showError(err, null);
    btn.disabled = true;
    try {
      await api("POST", `/admin/v1/dead/${d.seq}/${action}`, { by: actor(), reason });
      node.remove();
      refreshDeliveries();
    } catch (e) { showError(err, e); btn.disabled = false; }
  };
  const retry = $(".retry", node), drop = $(".drop", node);
  retry.addEventListener("click", () => act("retry", t("retried"), retry));
  // Dropping cannot be undone: the first click asks, the second drops.
  drop.addEventListener("click", () => {
    if (!drop.classList.contains("armed")) {
      drop.classList.add("armed");
      drop.textContent = t("confirm_drop");
      return;
    }
    act("drop", t("dropped"), drop);
  });
  return node;
}

// ---- knowledge: the FAQ and the texts ------------------------------------
// Edits are stored by the gateway and answer on every instance; the files
// (the seed) stay as they are, so removing an edit brings back the entry
// or text it replaced. The lists load when the console opens and after
// each change here, not every poll: a redraw under the operator's
// pointer would lose their place in a long list.

const kb = { faq: [], texts: [], textLang: "", textKey: "" };

// canon is a map as comparable JSON: the gateway returns keys sorted.
const canon = (o) => JSON.stringify(Object.keys(o || {}).sort().map((k) => [k, o[k]]));

// reloadUntil loads a list until it shows the change just made, a few
// times at most: the gateway applies an edit when its own watch of the
// store brings it back, a moment after it answered the change.
async function reloadUntil(load, done) {
  let list = [];
  for (let i = 0; i < 20; i++) {
    list = (await load()) || [];
    if (done(list)) break;
    await new Promise((ok) => setTimeout(ok, 150));
  }
  return list;
}

const getFAQ = () => api("GET", "/admin/v1/faq");

async function loadFAQ(done = () => true) {
  try {
    renderFAQ(await reloadUntil(getFAQ, done));
  } catch (e) { showError($("#faq-error"), e); }
}

function renderFAQ(list) {
  kb.faq = list;
  $("#faq-count").textContent = `(${list.length})`;
  const picked = $("#faq-id").value.trim();
  $("#faq-list").replaceChildren(...list.map((e) => {
    const li = el("li", e.id === picked ? "picked" : "");
    li.dataset.id = e.id;
    li.dataset.source = e.source;
    if (e.disabled) li.dataset.disabled = "true";
    const head = el("div", "kb-head");
    // Source and flag stay the codes the CLI prints, as states do.
    head.append(el("code", "kb-key", e.id), el("span", "badge src-" + e.source, e.source));
    if (e.disabled) head.append(el("span", "badge flag-disabled", "disabled"));
    head.append(el("span", "kb-langs", Object.keys(e.answer || {}).sort().join(" ")));
    const edit = el("button", "pick secondary", t("edit"));
    edit.type = "button";
    edit.addEventListener("click", () => pickFAQ(e));
    head.append(edit);
    const en = (e.answer || {}).en || "";
    const preview = textEl("div", "kb-preview", en);
    preview.title = en;
    li.append(head, preview);
    return li;
  }));
}

// pickFAQ puts an entry in the form, in the lines the form reads.
function pickFAQ(e) {
  $("#faq-id").value = e.id;
  $("#faq-keywords").value = Object.entries(e.keywords || {}).map(([l, ps]) => `${l}=${ps.join(", ")}`).join("\n");
  $("#faq-answers").value = Object.entries(e.answer || {}).map(([l, a]) => `${l}=${a}`).join("\n");
  for (const li of document.querySelectorAll("#faq-list li")) li.classList.toggle("picked", li.dataset.id === e.id);
  showError($("#faq-error"), null);
  showStatus($("#faq-status"), "");
  $("#faq-form").scrollIntoView({ block: "nearest" });
}

// faqFromForm reads the keywords (phrases split by commas; a language on
// two lines gets both) and the answers.
function faqFromForm() {
  const keywords = {};
  for (const [l, phrases] of parseLangLines($("#faq-keywords").value)) {
    keywords[l] = [...(keywords[l] || []), ...phrases.split(/[,，]/).map((p) => p.trim()).filter(Boolean)];
  }
  return { keywords, answer: Object.fromEntries(parseLangLines($("#faq-answers").value)) };
}

// changeFAQ runs one change from the form, with its buttons off meanwhile
// so a double click makes one change.
async function changeFAQ(change) {
  const err = $("#faq-error"), status = $("#faq-status");
  const id = $("#faq-id");
  if (!id.reportValidity()) return;
  const buttons = [...document.querySelectorAll("#faq-form button")];
  showError(err, null);
  showStatus(status, "");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await change(id.value.trim());
  } catch (e) { showError(err, e); } finally { buttons.forEach((b) => { b.disabled = false; }); }
}

async function saveFAQ(disabled) {
  await changeFAQ(async (id) => {
    const entry = faqFromForm();
    const v = await api("PUT", `/admin/v1/faq/${encodeURIComponent(id)}`,
      { ...entry, disabled, by: operator(), reason: $("#faq-reason").value.trim() });
    showStatus($("#faq-status"), t(disabled ? "faq_disabled" : "faq_saved", { id, n: v.revision }));
    await loadFAQ((list) => list.some((e) => e.id === id && e.source === "edited" && !!e.disabled === disabled &&
      canon(e.answer) === canon(entry.answer) && canon(e.keywords) === canon(entry.keywords)));
  });
}

// removeFAQ leaves the form as it was: Save puts the removed edit back.
async function removeFAQ() {
  await changeFAQ(async (id) => {
    const q = new URLSearchParams({ by: operator(), reason: $("#faq-reason").value.trim() });
    await api("DELETE", `/admin/v1/faq/${encodeURIComponent(id)}?${q}`);
    showStatus($("#faq-status"), t("faq_removed", { id }));
    await loadFAQ((list) => !list.some((e) => e.id === id && e.source === "edited"));
  });
}

function clearFAQ() {
  for (const sel of ["#faq-id", "#faq-keywords", "#faq-answers", "#faq-reason"]) $(sel).value = "";
  for (const li of document.querySelectorAll("#faq-list li.picked")) li.classList.remove("picked");
  showError($("#faq-error"), null);
  showStatus($("#faq-status"), "");
  $("#faq-id").focus();
}

// The texts: every text hotline sends, in one language at a time.

async function loadTexts(done = () => true) {
  const err = $("#text-error");
  const code = $("#text-lang").value.trim() || "en";
  let list = [], failed = null;
  try {
    list = await reloadUntil(() => api("GET", `/admin/v1/texts?lang=${encodeURIComponent(code)}`), done);
  } catch (e) { failed = e; }
  kb.texts = list;
  kb.textLang = code;
  renderTexts();
  // The picked text follows the language, as sent now: an edit not
  // saved is not carried to another language.
  pickText(kb.textKey);
  showError(err, failed);
}

function renderTexts() {
  const q = $("#text-filter").value.trim().toLowerCase();
  const shown = kb.texts.filter((x) => !q || x.key.toLowerCase().includes(q) || x.text.toLowerCase().includes(q));
  const items = shown.map((x) => {
    const li = el("li", x.key === kb.textKey ? "picked" : "");
    li.dataset.key = x.key;
    li.dataset.source = x.source;
    const head = el("div", "kb-head");
    head.append(el("code", "kb-key", x.key), el("span", "badge src-" + x.source, x.source));
    const edit = el("button", "pick secondary", t("edit"));
    edit.type = "button";
    edit.addEventListener("click", () => { showStatus($("#text-status"), ""); pickText(x.key); });
    head.append(edit);
    const preview = textEl("div", "kb-preview", x.text);
    preview.title = x.text;
    li.append(head, preview);
    return li;
  });
  if (kb.texts.length && !shown.length) items.push(el("li", "muted", t("no_text_matches")));
  $("#text-list").replaceChildren(...items);
}

// pickText puts one text, as sent now, in the editor.
function pickText(key) {
  const x = kb.texts.find((x) => x.key === key);
  kb.textKey = x ? key : "";
  $("#text-key").textContent = x ? `${kb.textLang}/${key}` : "—";
  const box = $("#text-value");
  box.value = x ? x.text : "";
  box.disabled = !x;
  pickTextButtons();
  for (const li of document.querySelectorAll("#text-list li")) li.classList.toggle("picked", li.dataset.key === kb.textKey);
  showError($("#text-error"), null);
}

async function changeText(change) {
  const err = $("#text-error"), key = kb.textKey, code = kb.textLang;
  if (!key) return;
  const buttons = [$("#text-save"), $("#text-remove")];
  showError(err, null);
  showStatus($("#text-status"), "");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await change(code, key);
  } catch (e) { showError(err, e); }
  pickTextButtons();
}

// pickTextButtons sets the buttons for the picked text as it is now.
function pickTextButtons() {
  const x = kb.texts.find((x) => x.key === kb.textKey);
  $("#text-save").disabled = !x;
  $("#text-remove").disabled = !x || x.source !== "edited";
}

async function saveText() {
  await changeText(async (code, key) => {
    const text = $("#text-value").value;
    await api("PUT", `/admin/v1/texts/${encodeURIComponent(code)}/${encodeURIComponent(key)}`,
      { text, by: operator(), reason: $("#text-reason").value.trim() });
    showStatus($("#text-status"), t("text_saved", { lang: code, key }));
    await loadTexts((list) => list.some((x) => x.key === key && x.source === "edited" && x.text === text));
  });
}

async function removeText() {
  await changeText(async (code, key) => {
    const q = new URLSearchParams({ by: operator(), reason: $("#text-reason").value.trim() });
    await api("DELETE", `/admin/v1/texts/${encodeURIComponent(code)}/${encodeURIComponent(key)}?${q}`);
    showStatus($("#text-status"), t("text_removed", { lang: code, key }));
    await loadTexts((list) => list.some((x) => x.key === key && x.source !== "edited"));
  });
}

function wireKnowledge() {
  $("#faq-form").addEventListener("submit", (ev) => { ev.preventDefault(); saveFAQ(false); });
  $("#faq-disable").addEventListener("click", () => saveFAQ(true));
  $("#faq-remove").addEventListener("click", removeFAQ);
  $("#faq-clear").addEventListener("click", clearFAQ);
  // The texts open in the console's own language, which hotline has too.
  $("#text-lang").value = lang;
  $("#text-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadTexts(); });
  $("#text-lang").addEventListener("change", () => loadTexts());
  $("#text-filter").addEventListener("input", renderTexts);
  $("#text-save").addEventListener("click", saveText);
  $("#text-remove").addEventListener("click", removeText);
  loadFAQ();
  loadTexts();
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
  $("#take-next").addEventListener("click", takeNext);
  wireKnowledge();
}

document.addEventListener("DOMContentLoaded", start);
