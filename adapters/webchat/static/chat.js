// hotline web chat page. Protocol: see package webchat (doc.go).
// No framework and no build step. User data only ever goes through
// textContent, never innerHTML.
(function () {
  'use strict';

  var PENDING_KEY = 'hotline_chat_pending';
  var maxText = 2000; // the server's limit arrives with hello
  var maxUpload = 10 * 1024 * 1024; // likewise
  var QUICK = ['menu', 'help', 'human'];
  var STATE_KEYS = {
    connecting: 'webchat_connecting',
    online: 'webchat_online',
    offline: 'webchat_offline'
  };
  // The page's words when the gateway sent none for the language.
  var BUILTIN = {
    webchat_title: 'Customer service chat',
    webchat_heading: 'Customer service',
    webchat_subtitle: 'We usually reply in a few moments',
    webchat_connecting: 'Connecting…',
    webchat_online: 'Online',
    webchat_offline: 'Offline — reconnecting',
    webchat_placeholder: 'Type a message…',
    webchat_message: 'Message',
    webchat_send: 'Send',
    webchat_attach: 'Attach a photo or video',
    webchat_banner: 'Service notice',
    webchat_conversation: 'Conversation',
    webchat_quick_replies: 'Quick replies',
    webchat_menu: 'Menu',
    webchat_help: 'Help',
    webchat_human: 'Talk to a person',
    webchat_agent: 'Support agent',
    webchat_retry: 'Retry',
    webchat_retrying: 'Not sent yet — retrying.',
    webchat_too_fast: 'Sending too fast — it will go in a few seconds.',
    webchat_too_long: 'The message is too long: at most {max} characters.',
    webchat_failed: 'This message could not be sent.',
    webchat_uploading: 'Sending…',
    webchat_upload_too_big: 'This file is too big: at most {max} MB.',
    webchat_upload_type: 'Only photos (PNG, JPEG, GIF, WebP) and videos (MP4, WebM, MOV) can be sent.',
    webchat_upload_failed: 'This file could not be sent.'
  };
  // Every language's labels, from the same catalog as the bot's answers
  // (a JSON data block in the page, not a script).
  var LABELS = {};
  try { LABELS = JSON.parse(document.getElementById('labels').textContent) || {}; } catch (e) { LABELS = {}; }
  var uiLang = '';

  var stateEl = document.getElementById('state');
  var banner = document.getElementById('banner');
  var log = document.getElementById('log');
  var menu = document.getElementById('menu');
  var form = document.getElementById('composer');
  var input = document.getElementById('text');
  var attachButton = document.getElementById('attach');
  var fileInput = document.getElementById('file');

  var ws = null;
  var online = false;
  var attempt = 0;
  var reconnectTimer = null;
  var resendTimer = null;
  var sentThisSocket = {}; // client id -> true: sent on this socket, no answer yet
  var visitor = ''; // from hello; pending messages belong to one visitor
  var lastButtons = null; // of the latest reply that had some
  var uploads = {}; // client id -> attachment on its way (this page only)

  // ---- labels ----

  function label(key, vars) {
    var l = LABELS[uiLang] || {};
    var t = l[key] || (LABELS.en || {})[key] || BUILTIN[key] || key;
    Object.keys(vars || {}).forEach(function (k) { t = t.split('{' + k + '}').join(String(vars[k])); });
    return t;
  }
  function browserLangs() {
    var list = Array.isArray(navigator.languages) && navigator.languages.length ? navigator.languages : [navigator.language || ''];
    return list.filter(function (x) { return typeof x === 'string' && x; }).slice(0, 10);
  }
  // pickLocal finds the browser's best language among the labels' before
  // the gateway answers (it picks again, and its choice wins).
  function pickLocal(list) {
    var codes = Object.keys(LABELS);
    for (var i = 0; i < list.length; i++) {
      var tag = list[i].toLowerCase();
      var base = tag.split('-')[0];
      var hant = base === 'zh' && /-(hant|tw|hk|mo)\b/.test(tag);
      for (var j = 0; j < codes.length; j++) {
        var c = codes[j].toLowerCase();
        if (c === tag || (hant && c === 'zh-hant') || (!hant && c === base)) { return codes[j]; }
      }
    }
    return '';
  }
  function setLang(code) {
    if (typeof code !== 'string' || !LABELS[code] || code === uiLang) { return; }
    uiLang = code;
    applyLabels();
  }
  function applyLabels() {
    var root = document.documentElement;
    root.setAttribute('lang', uiLang || 'en');
    root.setAttribute('dir', (LABELS[uiLang] || {}).dir === 'rtl' ? 'rtl' : 'ltr');
    [['data-l10n', null], ['data-l10n-placeholder', 'placeholder'], ['data-l10n-aria-label', 'aria-label'], ['data-l10n-title', 'title']].forEach(function (a) {
      var els = document.querySelectorAll('[' + a[0] + ']');
      for (var i = 0; i < els.length; i++) {
        var t = label(els[i].getAttribute(a[0]));
        if (a[1]) { els[i].setAttribute(a[1], t); } else { els[i].textContent = t; }
      }
    });
    var who = log.querySelectorAll('.msg-agent .who');
    for (var i = 0; i < who.length; i++) { who[i].textContent = label('webchat_agent'); }
    var retry = log.querySelectorAll('.retry');
    for (var j = 0; j < retry.length; j++) { retry[j].textContent = label('webchat_retry'); }
    setState(stateEl.getAttribute('data-state') || 'connecting');
    setMenu(lastButtons);
  }

  // ---- pending messages, kept until the server acknowledges them ----

  // One localStorage key per message: two tabs adding and dropping at
  // once never overwrite each other's list. Without storage (private
  // mode) they live in memory for this page only.
  var memoryPending = {};
  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }
  function loadPending() {
    var list = Object.keys(memoryPending).map(function (k) { return memoryPending[k]; });
    var ls = storage();
    if (ls) {
      for (var i = 0; i < ls.length; i++) {
        var k = ls.key(i);
        if (!k || k.indexOf(PENDING_KEY + ':') !== 0) { continue; }
        try {
          var p = JSON.parse(ls.getItem(k));
          if (p && typeof p.id === 'string' && typeof p.text === 'string') { list.push(p); }
        } catch (e) { /* not ours to read */ }
      }
    }
    // In the order they were written.
    return list.sort(function (a, b) { return (a.at || '') < (b.at || '') ? -1 : 1; });
  }
  function addPending(p) {
    p.visitor = visitor;
    var ls = storage();
    try {
      if (ls) { ls.setItem(PENDING_KEY + ':' + p.id, JSON.stringify(p)); return; }
    } catch (e) { /* full or private: memory */ }
    memoryPending[p.id] = p;
  }
  function dropPending(id) {
    delete memoryPending[id];
    var ls = storage();
    try { if (ls) { ls.removeItem(PENDING_KEY + ':' + id); } } catch (e) { /* nothing to drop */ }
  }

  function newClientID() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var s = 'c';
    for (var i = 0; i < bytes.length; i++) { s += ('0' + bytes[i].toString(16)).slice(-2); }
    return s;
  }

  // ---- rendering ----

  function setState(s) {
    stateEl.setAttribute('data-state', s);
    stateEl.textContent = label(STATE_KEYS[s]);
  }

  function setBanner(text, dir) {
    if (!text) {
      banner.textContent = '';
      banner.setAttribute('hidden', '');
      return;
    }
    banner.textContent = text;
    banner.setAttribute('dir', dir === 'rtl' ? 'rtl' : 'auto');
    banner.removeAttribute('hidden');
  }

  function atBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function formatTime(at) {
    var d = at ? new Date(at) : null;
    if (!d || isNaN(d.getTime())) { return ''; }
    try {
      return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    } catch (e) {
      return d.toISOString().slice(11, 16);
    }
  }

  // messageEl builds div.msg for an entry (or a local pending message).
  function messageEl(e) {
    var role = e.role === 'bot' || e.role === 'agent' ? e.role : 'user';
    var el = document.createElement('div');
    el.className = 'msg msg-' + role;
    el.setAttribute('data-id', e.id);
    if (e.client_id) { el.setAttribute('data-cid', e.client_id); }
    // An agent writes in whatever language they write in, whatever the
    // conversation's: let the text itself decide its direction.
    el.setAttribute('dir', e.dir === 'rtl' && role !== 'agent' ? 'rtl' : 'auto');
    if (e.lang && role !== 'agent') { el.setAttribute('lang', e.lang); }
    if (role === 'agent') {
      var who = document.createElement('div');
      who.className = 'who';
      who.textContent = label('webchat_agent');
      el.appendChild(who);
    }
    var text = document.createElement('div');
    text.className = 'text';
    text.textContent = e.text || '';
    // Its own direction, not the label's above it (Arabic "Support
    // agent" over an English answer).
    if (role !== 'bot') { text.setAttribute('dir', 'auto'); }
    el.appendChild(text);
    if (e.media && typeof e.media === 'object') { el.insertBefore(mediaEl(e.media), text); }
    var meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = formatTime(e.at);
    el.appendChild(meta);
    return el;
  }

  // mediaEl shows an attachment: a thumbnail that opens the picture, or
  // a player. Only our own media/ URLs and local previews are shown.
  function mediaEl(m) {
    var box = document.createElement('div');
    box.className = 'media';
    var url = typeof m.url === 'string' && (/^media\/[A-Za-z0-9._%-]+$/.test(m.url) || /^blob:/.test(m.url)) ? m.url : '';
    if (m.kind === 'video') {
      var v = document.createElement('video');
      v.controls = true;
      v.preload = 'metadata';
      v.setAttribute('playsinline', '');
      if (url) { v.src = url; }
      box.appendChild(v);
    } else {
      var a = document.createElement('a');
      if (url) { a.href = url; }
      a.target = '_blank';
      a.rel = 'noopener';
      var img = document.createElement('img');
      if (url) { img.src = url; }
      img.alt = typeof m.name === 'string' ? m.name : '';
      a.appendChild(img);
      box.appendChild(a);
    }
    if (typeof m.name === 'string' && m.name) {
      var n = document.createElement('div');
      n.className = 'file-name';
      n.setAttribute('dir', 'auto');
      n.textContent = m.name;
      box.appendChild(n);
    }
    return box;
  }

  function findByID(id) {
    var all = log.querySelectorAll('.msg');
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute('data-id') === id) { return all[i]; }
    }
    return null;
  }
  function findByClientID(cid) {
    var all = log.querySelectorAll('.msg-user');
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute('data-cid') === cid) { return all[i]; }
    }
    return null;
  }

  // confirm turns a local message into the stored entry.
  function confirm(el, e) {
    el.setAttribute('data-id', e.id);
    if (e.lang) { el.setAttribute('lang', e.lang); }
    el.classList.remove('pending', 'failed');
    var err = el.querySelector('.error'); if (err) { el.removeChild(err); }
    var retry = el.querySelector('.retry'); if (retry) { el.removeChild(retry); }
    el.querySelector('.text').textContent = e.text || '';
    el.querySelector('.meta').textContent = formatTime(e.at);
    var bar = el.querySelector('progress'); if (bar) { el.removeChild(bar); }
    var old = el.querySelector('.media');
    if (e.media && typeof e.media === 'object') {
      var fresh = mediaEl(e.media);
      if (old) { el.replaceChild(fresh, old); } else { el.insertBefore(fresh, el.querySelector('.text')); }
    }
  }

  function addEntry(e) {
    if (!e || typeof e.id !== 'string') { return; }
    if (findByID(e.id)) { return; }
    var stick = atBottom();
    var local = e.client_id ? findByClientID(e.client_id) : null;
    if (local) {
      confirm(local, e);
      dropPending(e.client_id);
    } else {
      log.appendChild(messageEl(e));
    }
    if (e.role !== 'user' && e.buttons && e.buttons.length) { setMenu(e.buttons); }
    // The bot answers in the conversation's language: when the visitor
    // chooses another (help+ar, lang ar), the page follows.
    if (e.role === 'bot' && e.lang) { setLang(e.lang); }
    if (stick || e.role === 'user') { scrollDown(); }
  }

  function addLocal(p) {
    var el = messageEl({ id: p.id, client_id: p.id, role: 'user', text: p.text, at: p.at });
    el.classList.add('pending');
    log.appendChild(el);
    scrollDown();
    return el;
  }

  function markFailed(el, message, text, retryFn) {
    el.classList.remove('pending');
    el.classList.add('failed');
    var err = el.querySelector('.error');
    if (!err) {
      err = document.createElement('div');
      err.className = 'error';
      el.appendChild(err);
    }
    err.textContent = message;
    if (!el.querySelector('.retry')) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'retry';
      b.textContent = label('webchat_retry');
      b.addEventListener('click', function () {
        if (el.parentNode) { el.parentNode.removeChild(el); }
        if (retryFn) { retryFn(); } else { send(text); }
      });
      el.appendChild(b);
    }
  }

  function notice(text) {
    var n = document.createElement('div');
    n.className = 'notice';
    n.setAttribute('role', 'status');
    n.textContent = text;
    log.appendChild(n);
    scrollDown();
  }

  // setMenu shows the buttons of the latest reply that had some, then the
  // quick buttons that are always there.
  function setMenu(buttons) {
    lastButtons = buttons || null;
    while (menu.firstChild) { menu.removeChild(menu.firstChild); }
    (buttons || []).forEach(function (b) {
      if (!b || typeof b.data !== 'string' || !b.data || QUICK.indexOf(b.data) >= 0) { return; }
      menu.appendChild(chip(b.label || b.data, b.data, false));
    });
    menu.appendChild(chip(label('webchat_menu'), 'menu', true));
    menu.appendChild(chip(label('webchat_help'), 'help', true));
    menu.appendChild(chip(label('webchat_human'), 'human', true));
  }
  function chip(label, code, quick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = quick ? 'chip quick' : 'chip';
    b.setAttribute('data-code', code);
    b.setAttribute('dir', 'auto');
    b.textContent = label;
    return b;
  }

  // ---- the socket ----

  function socketURL() {
    var proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var base = location.pathname.replace(/[^/]*$/, '');
    return proto + '//' + location.host + base + 'ws?langs=' + encodeURIComponent(browserLangs().join(',')) +
      '&lang=' + encodeURIComponent(navigator.language || '');
  }

  function connect() {
    reconnectTimer = null;
    setState('connecting');
    var sock;
    try {
      sock = new WebSocket(socketURL());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = sock;
    sentThisSocket = {};
    sock.onmessage = function (ev) {
      if (sock !== ws || typeof ev.data !== 'string') { return; }
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      handle(f);
    };
    sock.onclose = function (ev) {
      if (sock !== ws) { return; }
      ws = null;
      online = false;
      setState('offline');
      if (ev.code === 1009) {
        // A message too big for the server: fail the biggest one sent
        // on this socket rather than resending it forever.
        var big = null;
        loadPending().forEach(function (p) {
          if (sentThisSocket[p.id] && (!big || p.text.length > big.text.length)) { big = p; }
        });
        if (big) {
          dropPending(big.id);
          var el = findByClientID(big.id);
          if (el) { markFailed(el, label('webchat_too_long', { max: maxText }), big.text); }
        }
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (reconnectTimer) { return; }
    var base = Math.min(10000, 500 * Math.pow(2, attempt));
    attempt++;
    var delay = base / 2 + Math.random() * base / 2;
    reconnectTimer = setTimeout(connect, delay);
  }

  function transmit(p) {
    if (!ws || !online || ws.readyState !== WebSocket.OPEN) { return false; }
    // Sent and not answered yet: sending again would only spend the
    // visitor's rate budget (the server stores it once anyway).
    if (sentThisSocket[p.id]) { return true; }
    ws.send(JSON.stringify({ type: 'send', id: p.id, text: p.text }));
    sentThisSocket[p.id] = true;
    return true;
  }

  function resendPending() {
    resendTimer = null;
    loadPending().forEach(transmit);
  }

  function handle(f) {
    switch (f.type) {
      case 'hello':
        onHello(f);
        break;
      case 'ack': {
        delete sentThisSocket[f.id];
        dropPending(f.id);
        var el = findByClientID(f.id);
        if (el) {
          el.classList.remove('pending', 'failed');
          var err = el.querySelector('.error'); if (err) { el.removeChild(err); }
        }
        break;
      }
      case 'message':
        addEntry(f.entry);
        break;
      case 'announcement':
        setBanner(f.text, f.dir);
        break;
      case 'error':
        onError(f);
        break;
    }
  }

  function onHello(f) {
    attempt = 0;
    online = true;
    setState('online');
    setBanner(f.announcement && f.announcement.text, f.announcement && f.announcement.dir);
    if (f.max_text > 0) {
      maxText = f.max_text;
      input.setAttribute('maxlength', String(maxText * 2)); // UTF-16 units; the count below is exact
    }
    if (f.max_upload > 0) { maxUpload = f.max_upload; }
    visitor = typeof f.visitor === 'string' ? f.visitor : '';
    while (log.firstChild) { log.removeChild(log.firstChild); }
    var history = Array.isArray(f.history) ? f.history : [];
    var stored = {};
    var buttons = null;
    var lang = typeof f.lang === 'string' ? f.lang : '';
    history.forEach(function (e) {
      if (!e || typeof e.id !== 'string') { return; }
      log.appendChild(messageEl(e));
      if (e.client_id) { stored[e.client_id] = true; }
      if (e.role !== 'user' && e.buttons && e.buttons.length) { buttons = e.buttons; }
      if (e.role === 'bot' && e.lang) { lang = e.lang; }
    });
    // The conversation's language once the bot has spoken, else the
    // browser's as the gateway matched it.
    setLang(lang);
    setMenu(buttons);
    // Attachments still on their way stay on screen; their own request
    // goes on (or has just been stored: then the history shows them).
    Object.keys(uploads).forEach(function (id) {
      if (!stored[id]) { log.appendChild(uploads[id].el); }
    });
    // Local messages not acknowledged yet go back on screen and out
    // again with the same id; the server stores each once.
    loadPending().forEach(function (p) {
      if (stored[p.id]) { dropPending(p.id); return; }
      // Written as someone else on this browser (the cookie changed):
      // never send it as this visitor.
      if (p.visitor && p.visitor !== visitor) { dropPending(p.id); return; }
      addLocal(p);
      transmit(p);
    });
    scrollDown();
  }

  function onError(f) {
    if (f.id) { delete sentThisSocket[f.id]; }
    var el = f.id ? findByClientID(f.id) : null;
    if (!el) {
      if (f.message) { notice(f.message); }
      return;
    }
    if (f.code === 'unavailable' || f.code === 'rate_limited') {
      // Not stored, but not wrong either: keep it pending (across a
      // reload too) and try again in a while.
      var err = el.querySelector('.error');
      if (!err) { err = document.createElement('div'); err.className = 'error'; el.appendChild(err); }
      err.textContent = f.code === 'rate_limited' ? label('webchat_too_fast') : label('webchat_retrying');
      if (!resendTimer) { resendTimer = setTimeout(resendPending, f.code === 'rate_limited' ? 6000 : 3000); }
      return;
    }
    var text = el.querySelector('.text').textContent;
    dropPending(f.id);
    var why = f.code === 'too_long' ? label('webchat_too_long', { max: maxText }) : (f.message || label('webchat_failed'));
    markFailed(el, why, text);
  }

  // ---- composing ----

  function send(text) {
    text = (text || '').replace(/^\s+|\s+$/g, '');
    if (!text) { return; }
    var p = { id: newClientID(), text: text, at: new Date().toISOString() };
    var el = addLocal(p);
    if (Array.from(text).length > maxText) {
      markFailed(el, label('webchat_too_long', { max: maxText }), text);
      return;
    }
    addPending(p);
    transmit(p);
  }

  // ---- attachments ----

  // An attachment goes over HTTP, not the socket: POST upload with the
  // file as the body, under a client id of its own. Like a message it
  // stays pending until the gateway says it is stored, and goes again
  // (same id, stored once) after a network error, a 5xx or a 429, for as
  // long as the page is open. A reload forgets it: the file is not kept
  // in the browser's storage.
  function setError(el, message) {
    var err = el.querySelector('.error');
    if (!err) { err = document.createElement('div'); err.className = 'error'; el.appendChild(err); }
    err.textContent = message;
  }

  function startUpload(file) {
    var id = newClientID();
    var url = '';
    try { url = URL.createObjectURL(file); } catch (e) { url = ''; }
    var u = { id: id, file: file, url: url, tries: 0 };
    var kind = /^video\//.test(file.type) ? 'video' : 'image';
    u.el = messageEl({ id: id, client_id: id, role: 'user', text: '', at: new Date().toISOString(),
      media: { kind: kind, url: url, name: file.name } });
    u.el.classList.add('pending');
    log.appendChild(u.el);
    scrollDown();
    if (file.size > maxUpload) {
      uploadFailed(u, label('webchat_upload_too_big', { max: Math.round(maxUpload / 1048576) }), false);
      return;
    }
    uploads[id] = u;
    sendUpload(u);
  }

  function sendUpload(u) {
    u.timer = null;
    var bar = u.el.querySelector('progress');
    if (!bar) {
      bar = document.createElement('progress');
      bar.max = 1;
      bar.value = 0;
      bar.setAttribute('aria-label', label('webchat_uploading'));
      u.el.appendChild(bar);
    }
    var base = location.pathname.replace(/[^/]*$/, '');
    var xhr = new XMLHttpRequest();
    xhr.open('POST', base + 'upload?id=' + encodeURIComponent(u.id) + '&name=' + encodeURIComponent(u.file.name || '') +
      '&langs=' + encodeURIComponent(browserLangs().join(',')));
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) { bar.max = ev.total; bar.value = ev.loaded; }
    };
    xhr.onload = function () {
      var r = null;
      try { r = JSON.parse(xhr.responseText); } catch (e) { r = null; }
      if (xhr.status === 200 && r && r.type === 'ack') {
        delete uploads[u.id];
        if (r.entry) { addEntry(r.entry); }
        var el = findByClientID(u.id) || u.el;
        el.classList.remove('pending', 'failed');
        var err = el.querySelector('.error'); if (err) { el.removeChild(err); }
        var p = el.querySelector('progress'); if (p) { el.removeChild(p); }
        if (u.url) { setTimeout(function () { URL.revokeObjectURL(u.url); }, 60000); }
        return;
      }
      var code = r && r.code;
      if (xhr.status === 429 || xhr.status >= 500) {
        retryUpload(u, xhr.status === 429 ? label('webchat_too_fast') : label('webchat_retrying'));
        return;
      }
      if (code === 'too_big') {
        uploadFailed(u, label('webchat_upload_too_big', { max: Math.round(maxUpload / 1048576) }), false);
      } else if (code === 'unsupported_type') {
        uploadFailed(u, label('webchat_upload_type'), false);
      } else {
        uploadFailed(u, label('webchat_upload_failed'), true);
      }
    };
    xhr.onerror = function () { retryUpload(u, label('webchat_retrying')); };
    xhr.send(u.file);
  }

  function retryUpload(u, message) {
    setError(u.el, message);
    u.tries++;
    u.timer = setTimeout(function () { sendUpload(u); }, Math.min(30000, 1000 * Math.pow(2, Math.min(u.tries, 5))));
  }

  function uploadFailed(u, message, canRetry) {
    delete uploads[u.id];
    var p = u.el.querySelector('progress'); if (p) { u.el.removeChild(p); }
    markFailed(u.el, message, '', canRetry ? function () { startUpload(u.file); } : null);
    if (!canRetry) { var b = u.el.querySelector('.retry'); if (b) { u.el.removeChild(b); } }
  }

  attachButton.addEventListener('click', function () { fileInput.click(); });
  fileInput.addEventListener('change', function () {
    var files = Array.prototype.slice.call(fileInput.files || []);
    fileInput.value = '';
    files.forEach(startUpload);
  });

  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 160) + 'px';
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = input.value;
    if (!text.replace(/\s+/g, '')) { return; }
    input.value = '';
    autosize();
    send(text);
    input.focus();
  });
  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.dispatchEvent(new Event('submit', { cancelable: true })); }
    }
  });
  input.addEventListener('input', autosize);
  menu.addEventListener('click', function (ev) {
    var b = ev.target.closest ? ev.target.closest('button[data-code]') : null;
    if (b && menu.contains(b)) { send(b.getAttribute('data-code')); }
  });
  window.addEventListener('online', function () {
    if (!ws && reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; attempt = 0; connect(); }
  });

  uiLang = pickLocal(browserLangs());
  applyLabels();
  connect();
})();
