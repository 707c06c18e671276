// hotline web chat page. Protocol: see package webchat (doc.go).
// No framework and no build step. User data only ever goes through
// textContent, never innerHTML.
(function () {
  'use strict';

  var PENDING_KEY = 'hotline_chat_pending';
  var maxText = 2000; // the server's limit arrives with hello
  var QUICK = ['menu', 'help', 'human'];
  var STATE_LABELS = {
    connecting: 'Connecting…',
    online: 'Online',
    offline: 'Offline — reconnecting'
  };

  var stateEl = document.getElementById('state');
  var banner = document.getElementById('banner');
  var log = document.getElementById('log');
  var menu = document.getElementById('menu');
  var form = document.getElementById('composer');
  var input = document.getElementById('text');

  var ws = null;
  var online = false;
  var attempt = 0;
  var reconnectTimer = null;
  var resendTimer = null;
  var sentThisSocket = {}; // client id -> true: sent on this socket, no answer yet
  var visitor = ''; // from hello; pending messages belong to one visitor

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
    stateEl.textContent = STATE_LABELS[s];
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
      who.textContent = 'Support agent';
      el.appendChild(who);
    }
    var text = document.createElement('div');
    text.className = 'text';
    text.textContent = e.text;
    el.appendChild(text);
    var meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = formatTime(e.at);
    el.appendChild(meta);
    return el;
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
    el.querySelector('.text').textContent = e.text;
    el.querySelector('.meta').textContent = formatTime(e.at);
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
    if (stick || e.role === 'user') { scrollDown(); }
  }

  function addLocal(p) {
    var el = messageEl({ id: p.id, client_id: p.id, role: 'user', text: p.text, at: p.at });
    el.classList.add('pending');
    log.appendChild(el);
    scrollDown();
    return el;
  }

  function markFailed(el, message, text) {
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
      b.textContent = 'Retry';
      b.addEventListener('click', function () {
        if (el.parentNode) { el.parentNode.removeChild(el); }
        send(text);
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
    while (menu.firstChild) { menu.removeChild(menu.firstChild); }
    (buttons || []).forEach(function (b) {
      if (!b || typeof b.data !== 'string' || !b.data || QUICK.indexOf(b.data) >= 0) { return; }
      menu.appendChild(chip(b.label || b.data, b.data, false));
    });
    menu.appendChild(chip('Menu', 'menu', true));
    menu.appendChild(chip('Help', 'help', true));
    menu.appendChild(chip('Talk to a person', 'human', true));
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
    return proto + '//' + location.host + base + 'ws?lang=' + encodeURIComponent(navigator.language || '');
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
          if (el) { markFailed(el, 'This message is too long.', big.text); }
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
    visitor = typeof f.visitor === 'string' ? f.visitor : '';
    while (log.firstChild) { log.removeChild(log.firstChild); }
    var history = Array.isArray(f.history) ? f.history : [];
    var stored = {};
    var lastButtons = null;
    history.forEach(function (e) {
      if (!e || typeof e.id !== 'string') { return; }
      log.appendChild(messageEl(e));
      if (e.client_id) { stored[e.client_id] = true; }
      if (e.role !== 'user' && e.buttons && e.buttons.length) { lastButtons = e.buttons; }
    });
    setMenu(lastButtons);
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
      err.textContent = f.code === 'rate_limited' ? 'Sending too fast — it will go in a few seconds.' : (f.message || 'Not sent yet — retrying.');
      if (!resendTimer) { resendTimer = setTimeout(resendPending, f.code === 'rate_limited' ? 6000 : 3000); }
      return;
    }
    var text = el.querySelector('.text').textContent;
    dropPending(f.id);
    markFailed(el, f.message || 'This message could not be sent.', text);
  }

  // ---- composing ----

  function send(text) {
    text = (text || '').replace(/^\s+|\s+$/g, '');
    if (!text) { return; }
    var p = { id: newClientID(), text: text, at: new Date().toISOString() };
    var el = addLocal(p);
    if (Array.from(text).length > maxText) {
      markFailed(el, 'The message is too long: at most ' + maxText + ' characters.', text);
      return;
    }
    addPending(p);
    transmit(p);
  }

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

  setMenu(null);
  connect();
})();
