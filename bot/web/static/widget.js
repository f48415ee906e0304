/* Shop support chat widget (plain JS, no build step).
 * <script src="https://BOT/widget.js" data-shop-name="My Shop" defer></script>
 * Loads BOT/static/widget.css and BOT/vendor/socket.io.min.js itself.
 * Message content only ever goes into text nodes, never innerHTML. */
(function () {
  'use strict';
  if (window.__shopbotWidget) return;
  window.__shopbotWidget = true;

  const script = document.currentScript || document.querySelector('script[src$="widget.js"]');
  if (!script) return;
  const ORIGIN = new URL(script.src, location.href).origin;
  // Shop name: data-shop-name on the script tag, else on any element of the page.
  const named = script.dataset.shopName ? script : document.querySelector('[data-shop-name]');
  const SHOP = ((named && named.dataset.shopName) || '').trim() || 'Chat';
  const K_SESSION = 'shopbot.session', K_HISTORY = 'shopbot.history', K_OPEN = 'shopbot.open';
  const MAX_LEN = 2000, MAX_HISTORY = 100, TYPING_MS = 10000;
  const URL_RE = /https?:\/\/[^\s<>"'`]+/gi;

  // ---- storage (may be unavailable: private mode, sandboxed iframes, quota) ----
  const storage = (n) => { try { return window[n]; } catch (e) { return null; } };
  const LS = storage('localStorage'), SS = storage('sessionStorage');
  const get = (s, k) => { try { return s ? s.getItem(k) : null; } catch (e) { return null; } };
  const set = (s, k, v) => {
    try { if (s) { if (v == null) s.removeItem(k); else s.setItem(k, v); } } catch (e) { /* ignore */ }
  };

  let history = [];
  try {
    const h = JSON.parse(get(LS, K_HISTORY) || '[]');
    if (Array.isArray(h)) history = h.filter((m) => m && typeof m === 'object' && (m.from === 'user' || m.from === 'bot'));
  } catch (e) { /* corrupt history: start fresh */ }
  const saveHistory = () => {
    history = history.slice(-MAX_HISTORY);
    set(LS, K_HISTORY, JSON.stringify(history));
  };

  // ---- DOM helpers ----
  function el(tag, cls, attrs, kids) {
    const n = document.createElement(tag);
    if (cls) n.className = cls.split(' ').map((c) => 'shopbot-' + c).join(' ');
    if (attrs) for (const k in attrs) n.setAttribute(k, attrs[k]);
    if (kids) n.append(...kids); // strings become text nodes
    return n;
  }
  function icon(d) {
    const NS = 'http://www.w3.org/2000/svg', s = document.createElementNS(NS, 'svg'), p = document.createElementNS(NS, 'path');
    [['viewBox', '0 0 24 24'], ['aria-hidden', 'true'], ['focusable', 'false'], ['class', 'shopbot-icon']]
      .forEach(([k, v]) => s.setAttribute(k, v));
    p.setAttribute('d', d);
    s.append(p);
    return s;
  }
  const I_CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-4.3 3.6A.4.4 0 0 1 3 21.3V5a2 2 0 0 1 1-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z';
  const I_CLOSE = 'M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z';
  const I_MORE = 'M12 8a2 2 0 1 0 0-4 2 2 0 0 0 0 4zm0 2a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm0 6a2 2 0 1 0 0 4 2 2 0 0 0 0-4z';

  function safeUrl(u, base) {
    try {
      const x = new URL(String(u), base);
      return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : null;
    } catch (e) { return null; }
  }
  const pad = (n) => String(n).padStart(2, '0');
  const hhmm = (d) => (isNaN(d) ? '' : pad(d.getHours()) + ':' + pad(d.getMinutes()));

  // Text -> text nodes, <br> for newlines, <a> for http(s) URLs.
  function richText(parent, text) {
    String(text).split(/\r?\n/).forEach((line, i) => {
      if (i) parent.append(el('br'));
      let last = 0;
      for (const m of line.matchAll(URL_RE)) {
        let url = m[0];
        while (/[.,;:!?]$/.test(url) || (/[)\]]$/.test(url) && !/[([]/.test(url))) url = url.slice(0, -1);
        const href = safeUrl(url);
        parent.append(line.slice(last, m.index));
        parent.append(href ? el('a', 'link', { href, target: '_blank', rel: 'noopener noreferrer' }, [url]) : url);
        last = m.index + url.length;
      }
      parent.append(line.slice(last));
    });
  }

  // ---- build the widget ----
  const root = el('div', 'root');
  root.style.display = 'none'; // revealed once widget.css has loaded: no flash, no layout shift
  const launcher = el('button', 'launcher', {
    type: 'button', 'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'shopbot-panel',
  }, [icon(I_CHAT), el('span', 'badge', { 'aria-hidden': 'true' })]);
  const status = el('span', 'status', { role: 'status' });
  const menuItem = el('button', 'menuitem', { type: 'button', role: 'menuitem' }, ['New conversation']);
  const menu = el('div', 'menu', { id: 'shopbot-menu', role: 'menu', 'aria-label': 'Chat options' }, [menuItem]);
  const menuBtn = el('button', 'iconbtn', {
    type: 'button', 'aria-label': 'Chat options', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'shopbot-menu',
  }, [icon(I_MORE)]);
  const menuWrap = el('div', 'menuwrap', null, [menuBtn, menu]);
  const closeBtn = el('button', 'iconbtn', { type: 'button', 'aria-label': 'Close chat' }, [icon(I_CLOSE)]);
  const header = el('div', 'header', null, [
    el('div', 'avatar', { 'aria-hidden': 'true' }, [[...SHOP][0].toUpperCase()]),
    el('div', 'heading', null, [el('h2', 'title', null, [SHOP]), status]),
    menuWrap, closeBtn,
  ]);
  const log = el('div', 'log', { role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
  const typing = el('div', 'typing', { 'aria-hidden': 'true' }, [el('span'), el('span'), el('span')]);
  const scroller = el('div', 'scroll', null, [log, typing]);
  const input = el('textarea', 'input', {
    id: 'shopbot-input', rows: '1', maxlength: String(MAX_LEN), placeholder: 'Type your message…',
    autocomplete: 'off', 'aria-describedby': 'shopbot-limit', enterkeyhint: 'send',
  });
  const form = el('form', 'form', null, [
    el('label', 'sr', { for: 'shopbot-input' }, ['Type your message']),
    input,
    el('button', 'send', { type: 'submit' }, ['Send']),
  ]);
  const limit = el('div', 'limit', { id: 'shopbot-limit', role: 'status' });
  const panel = el('div', 'panel', { id: 'shopbot-panel', role: 'dialog', 'aria-label': 'Chat with ' + SHOP }, [
    header, scroller, form, limit,
  ]);
  menu.hidden = typing.hidden = panel.hidden = true;
  root.append(launcher, panel);

  const rowOf = new WeakMap();
  const scrollDown = () => { scroller.scrollTop = scroller.scrollHeight; };

  function render(m) {
    const mine = m.from === 'user';
    const bubble = el('div', 'bubble', null, [el('span', 'sr', null, [mine ? 'You: ' : SHOP + ': '])]);
    if (m.text) richText(bubble, m.text);
    const src = typeof m.image === 'string' && safeUrl(m.image, ORIGIN + '/');
    if (src) {
      if (!m.text) bubble.classList.add('shopbot-bubble--media');
      const img = el('img', 'img', { src, alt: 'Image from ' + SHOP, loading: 'lazy', referrerpolicy: 'no-referrer' });
      img.addEventListener('load', scrollDown);
      bubble.append(img);
    }
    const d = new Date(m.time);
    const time = el('time', 'time', isNaN(d) ? null : { datetime: d.toISOString() }, [hhmm(d)]);
    const row = el('div', 'msg msg--' + (mine ? 'user' : 'bot'), null, [bubble, time]);
    if (m.pending) row.classList.add('shopbot-pending');
    if (Array.isArray(m.buttons) && m.buttons.length) {
      const qr = el('div', 'quick', { role: 'group', 'aria-label': 'Suggested replies' });
      m.buttons.forEach((b) => {
        const btn = el('button', 'chip', { type: 'button' }, [String(b.title)]);
        btn.addEventListener('click', () => {
          qr.remove();
          delete m.buttons; // answered: the buttons don't come back on reload
          saveHistory();
          input.focus({ preventScroll: true });
          send(String(b.payload), String(b.title));
        });
        qr.append(btn);
      });
      row.append(qr);
    }
    rowOf.set(m, row);
    log.append(row);
    scrollDown();
  }
  function add(m) { history.push(m); saveHistory(); render(m); return m; }
  function notice(text) { log.append(el('div', 'notice', null, [String(text)])); scrollDown(); }

  let typingTimer = 0;
  function showTyping() {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_MS);
    scrollDown();
  }
  function hideTyping() { typing.hidden = true; clearTimeout(typingTimer); }
  function setStatus(text, state) { status.textContent = text; status.dataset.state = state || 'offline'; }

  // ---- connection ----
  let socket = null, sessionId = null, ready = false, greetedFor = null, ioPromise = null;
  const queue = []; // {message, entry} typed while not connected; sent once on session_confirm
  history.forEach((m) => { if (typeof m.pending === 'string') queue.push({ message: m.pending, entry: m }); });

  function loadIo() {
    if (ioPromise) return ioPromise;
    ioPromise = new Promise((resolve, reject) => {
      const prev = window.io;
      const s = document.createElement('script');
      s.src = ORIGIN + '/vendor/socket.io.min.js';
      s.async = true;
      s.onload = () => {
        const io = window.io;
        if (prev) window.io = prev; // don't clobber the host page's own copy
        if (typeof io === 'function') resolve(io); else s.onerror();
      };
      s.onerror = () => { ioPromise = null; s.remove(); reject(new Error('socket.io client failed to load')); };
      document.head.append(s);
    });
    return ioPromise;
  }

  function emit(item) {
    socket.emit('user_uttered', { message: item.message, session_id: sessionId });
    const m = item.entry;
    if (m && m.pending) { delete m.pending; rowOf.get(m).classList.remove('shopbot-pending'); saveHistory(); }
    showTyping();
  }

  function send(message, shown) {
    const entry = shown == null ? null : add({ from: 'user', text: shown, time: Date.now() });
    const item = { message, entry };
    if (ready) return emit(item);
    if (entry) { entry.pending = message; rowOf.get(entry).classList.add('shopbot-pending'); saveHistory(); }
    queue.push(item);
    connect();
  }

  function onBot(d) {
    if (!d || typeof d !== 'object') return;
    const m = { from: 'bot', time: Date.now() };
    if (typeof d.text === 'string' && d.text) m.text = d.text;
    const a = d.attachment;
    if (a && a.type === 'image' && a.payload && typeof a.payload.src === 'string' && safeUrl(a.payload.src, ORIGIN + '/')) m.image = String(a.payload.src);
    const qr = Array.isArray(d.quick_replies) ? d.quick_replies : d.buttons;
    if (Array.isArray(qr)) {
      const b = qr.filter((x) => x && x.title != null)
        .map((x) => ({ title: String(x.title), payload: String(x.payload != null ? x.payload : x.title) }));
      if (b.length) m.buttons = b;
    }
    if (!m.text && !m.image && !m.buttons) return;
    hideTyping();
    add(m);
    if (!isOpen) launcher.classList.add('shopbot-unread');
  }

  function onSession(d) {
    const id = typeof d === 'string' ? d : d && d.session_id;
    if (!id) return;
    const prev = get(LS, K_SESSION);
    sessionId = String(id);
    set(LS, K_SESSION, sessionId);
    ready = true;
    setStatus('Online', 'online');
    // new conversation: greet silently (no customer bubble), once per session id
    if ((prev !== sessionId || !history.length) && greetedFor !== sessionId) {
      greetedFor = sessionId;
      emit({ message: '/greet' });
    }
    queue.splice(0).forEach(emit);
  }

  function connect() {
    if (socket) return;
    setStatus('Connecting…');
    loadIo().then((io) => {
      if (socket) return;
      socket = io(ORIGIN, { path: '/socket.io', transports: ['websocket', 'polling'] });
      socket.on('connect', () => { ready = false; socket.emit('session_request', { session_id: get(LS, K_SESSION) || null }); });
      socket.on('session_confirm', onSession);
      socket.on('bot_uttered', onBot);
      socket.on('error_message', (d) => { hideTyping(); notice((d && (d.detail || d.error)) || 'Sorry, something went wrong.'); });
      socket.on('disconnect', (reason) => {
        ready = false;
        hideTyping();
        setStatus(reason === 'io client disconnect' ? 'Connecting…' : 'Reconnecting…');
        if (reason === 'io server disconnect') socket.connect(); // not retried automatically
      });
      socket.on('connect_error', () => setStatus('Reconnecting…'));
    }, () => { setStatus('Offline'); notice('The chat could not be loaded. Please try again later.'); });
  }

  function newConversation() {
    set(LS, K_SESSION, null);
    set(LS, K_HISTORY, null);
    history = [];
    queue.length = 0;
    sessionId = greetedFor = null;
    ready = false;
    log.textContent = '';
    hideTyping();
    if (socket) { socket.disconnect(); socket.connect(); } else connect();
  }

  // ---- UI behaviour ----
  let isOpen = false;
  function setOpen(open, focus) {
    isOpen = open;
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute('aria-expanded', String(open));
    set(SS, K_OPEN, open ? '1' : '0');
    if (open) {
      launcher.classList.remove('shopbot-unread');
      connect();
      scrollDown();
      if (focus) input.focus();
    } else {
      closeMenu();
      if (focus) launcher.focus();
    }
  }
  function closeMenu(focusBtn) {
    if (menu.hidden) return;
    menu.hidden = true;
    menuBtn.setAttribute('aria-expanded', 'false');
    if (focusBtn) menuBtn.focus();
  }

  function autosize() {
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 132) + 'px';
    if (atBottom) scrollDown();
  }
  function updateLimit() {
    const msg = input.value.length >= MAX_LEN ? `Messages can be at most ${MAX_LEN} characters.` : '';
    if (limit.textContent !== msg) limit.textContent = msg; // changes only at the limit: announced once
  }
  function submit() {
    const text = input.value.trim();
    if (!text) { input.value = ''; autosize(); return; }
    if (text.length > MAX_LEN) { updateLimit(); return; }
    input.value = '';
    autosize(); updateLimit();
    send(text, text);
  }

  launcher.addEventListener('click', () => setOpen(true, true));
  closeBtn.addEventListener('click', () => setOpen(false, true));
  menuBtn.addEventListener('click', () => {
    if (!menu.hidden) return closeMenu();
    menu.hidden = false;
    menuBtn.setAttribute('aria-expanded', 'true');
    menuItem.focus({ preventScroll: true });
  });
  menuItem.addEventListener('click', () => { closeMenu(); newConversation(); input.focus(); });
  menuWrap.addEventListener('focusout', (e) => { if (!menuWrap.contains(e.relatedTarget)) closeMenu(); });
  document.addEventListener('click', (e) => { if (!menuWrap.contains(e.target)) closeMenu(); });
  panel.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    e.stopPropagation();
    if (!menu.hidden) closeMenu(true); else setOpen(false, true);
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  input.addEventListener('input', () => { autosize(); updateLimit(); });

  function init() {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = ORIGIN + '/static/widget.css';
    link.onload = () => { root.style.display = ''; scrollDown(); };
    document.head.append(link);
    document.body.append(root);
    setStatus('');
    history.forEach(render);
    if (get(SS, K_OPEN) === '1') setOpen(true, false);
    else if (queue.length) connect();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
