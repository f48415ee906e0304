/* Shop support chat widget (plain JS, no build step).
 *   <script src="https://BOT-HOST/widget.js" defer></script>
 * Options (data- attributes on that tag): data-position="left" (default right), data-open="true" (open on
 * the first visit), data-shop-name="…" (shown until the server's settings arrive).
 * Loads BOT/static/widget.css and BOT/widget/config at once, BOT/vendor/socket.io.min.js only when a
 * conversation starts or continues. Message content only ever goes into text nodes, never innerHTML.
 *
 * Delivery: every customer message gets an id and waits in an outbox (kept in localStorage) until the
 * server acknowledges it; after a lost connection it is sent again marked "resent", and the server drops
 * a message it already holds. So nothing typed is lost and nothing is processed twice.
 * The other way: what a person says (a reply, "Mara joined the chat") carries a delivery_id; the widget
 * acknowledges it ("received") and skips an id it already has. The server keeps what was not acknowledged
 * and sends it when the widget connects again, so a reply written while the tab was closed arrives once. */
(function () {
  'use strict';
  if (window.__shopbotWidget) return;
  window.__shopbotWidget = true;

  const script = document.currentScript || document.querySelector('script[src$="widget.js"]');
  if (!script) return;
  const ORIGIN = new URL(script.src, location.href).origin;
  const opts = script.dataset;
  const named = opts.shopName ? script : document.querySelector('[data-shop-name]');
  let SHOP = (named && named.dataset.shopName) || 'Chat';
  const K_SESSION = 'shopbot.session', K_HISTORY = 'shopbot.history', K_OPEN = 'shopbot.open';
  const K_PERSON = 'shopbot.person', K_DELIVERED = 'shopbot.delivered';
  const MAX_HISTORY = 100, TYPING_MS = 15000, ACK_MS = 30000, CONFIG_MAX_AGE = 5 * 60 * 1000;
  const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'], MAX_PHOTO = 5 * 1024 * 1024;
  let maxLen = 2000;
  const URL_RE = /https?:\/\/[^\s<>"'`]+/gi;

  // ---- storage (may be unavailable: private mode, sandboxed iframes, quota) ----
  const storage = (n) => { try { return window[n]; } catch (e) { return null; } };
  const LS = storage('localStorage'), SS = storage('sessionStorage');
  const get = (s, k) => { try { return s ? s.getItem(k) : null; } catch (e) { return null; } };
  const set = (s, k, v) => {
    try { if (s) { if (v == null) s.removeItem(k); else s.setItem(k, v); } } catch (e) { /* ignore */ }
  };

  const FROM = ['user', 'bot', 'person', 'notice'];
  let history = [];
  try {
    const h = JSON.parse(get(LS, K_HISTORY) || '[]');
    if (Array.isArray(h)) history = h.filter((m) => m && typeof m === 'object' && FROM.includes(m.from));
  } catch (e) { /* corrupt history: start fresh */ }
  // Ids of a person's messages already shown (a resend after a lost acknowledgement is shown only once).
  let delivered = [];
  try {
    const d = JSON.parse(get(LS, K_DELIVERED) || '[]');
    if (Array.isArray(d)) delivered = d.filter(Number.isInteger);
  } catch (e) { /* corrupt: the server's resends are few */ }
  let person = get(LS, K_PERSON); // the person in the chat now, from "joined" until "left" / "closed"
  const saveHistory = () => {
    history = history.slice(-MAX_HISTORY);
    set(LS, K_HISTORY, JSON.stringify(history));
  };
  const newId = () => {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
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
  const I_CLIP = 'M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z';
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
  const root = el('div', 'root' + (opts.position === 'left' ? ' left' : ''));
  root.style.display = 'none'; // revealed once widget.css has loaded: no flash, no layout shift
  const launcher = el('button', 'launcher', {
    type: 'button', 'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'shopbot-panel',
  }, [icon(I_CHAT), el('span', 'badge', { 'aria-hidden': 'true' })]);
  const avatar = el('div', 'avatar', { 'aria-hidden': 'true' });
  const title = el('h2', 'title');
  const hours = el('span', 'hours');
  const replyTime = el('span', 'replytime');
  const menuItem = el('button', 'menuitem', { type: 'button', role: 'menuitem' }, ['New conversation']);
  const menu = el('div', 'menu', { id: 'shopbot-menu', role: 'menu', 'aria-label': 'Chat options' }, [menuItem]);
  const menuBtn = el('button', 'iconbtn', {
    type: 'button', 'aria-label': 'Chat options', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'shopbot-menu',
  }, [icon(I_MORE)]);
  const menuWrap = el('div', 'menuwrap', null, [menuBtn, menu]);
  const closeBtn = el('button', 'iconbtn', { type: 'button', 'aria-label': 'Close chat' }, [icon(I_CLOSE)]);
  const header = el('div', 'header', null, [
    avatar, el('div', 'heading', null, [title, hours, replyTime]), menuWrap, closeBtn,
  ]);
  const offline = el('div', 'offline', { role: 'status' });
  const log = el('div', 'log', { role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
  const typing = el('div', 'typing', { 'aria-hidden': 'true' }, [el('span'), el('span'), el('span')]);
  const scroller = el('div', 'scroll', null, [log, typing]);
  const input = el('textarea', 'input', {
    id: 'shopbot-input', rows: '1', maxlength: String(maxLen), placeholder: 'Type your message…',
    autocomplete: 'off', 'aria-describedby': 'shopbot-limit', enterkeyhint: 'send',
  });
  const fileInput = el('input', 'sr', {
    type: 'file', accept: PHOTO_TYPES.join(','), tabindex: '-1', 'aria-hidden': 'true',
  });
  const attach = el('button', 'iconbtn attach', { type: 'button', 'aria-label': 'Attach a photo' }, [icon(I_CLIP)]);
  const form = el('form', 'form', null, [
    el('label', 'sr', { for: 'shopbot-input' }, ['Type your message']),
    attach, fileInput,
    input,
    el('button', 'send', { type: 'submit' }, ['Send']),
  ]);
  const limit = el('div', 'limit', { id: 'shopbot-limit', role: 'status' });
  const footer = el('div', 'footer');
  const panel = el('div', 'panel', { id: 'shopbot-panel', role: 'dialog' }, [
    header, offline, scroller, form, limit, footer,
  ]);
  menu.hidden = typing.hidden = panel.hidden = offline.hidden = true;
  root.append(launcher, panel);

  function applyName(name) {
    SHOP = name;
    title.textContent = name;
    panel.setAttribute('aria-label', 'Chat with ' + name);
    if (!avatar.firstChild || avatar.firstChild.nodeType === 3) avatar.textContent = [...name][0].toUpperCase();
  }
  applyName(SHOP);

  // Look and opening status from the server (shop.yml); the widget works with defaults until it arrives.
  let configAt = 0;
  function loadConfig() {
    if (Date.now() - configAt < CONFIG_MAX_AGE) return;
    configAt = Date.now();
    fetch(ORIGIN + '/widget/config', { credentials: 'omit', cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
      .then((c) => {
        if (typeof c.shop_name === 'string' && c.shop_name) applyName(c.shop_name);
        if (/^#[0-9a-f]{6}$/i.test(c.accent_colour)) root.style.setProperty('--shopbot-accent', c.accent_colour);
        if (c.avatar) {
          const img = el('img', 'avatarimg', { src: ORIGIN + '/widget/avatar', alt: '' });
          avatar.replaceChildren(img);
        }
        hours.textContent = typeof c.status === 'string' ? c.status : '';
        hours.dataset.open = c.open_now ? 'yes' : 'no';
        replyTime.dataset.usual = typeof c.reply_time === 'string' ? c.reply_time : '';
        showReplyTime();
        const privacy = c.privacy_url && safeUrl(c.privacy_url);
        footer.replaceChildren(...(privacy ? [el('a', 'privacy', { href: privacy, target: '_blank', rel: 'noopener noreferrer' }, ['Privacy notice'])] : []));
        if (Number.isInteger(c.max_message_chars) && c.max_message_chars > 0) {
          maxLen = c.max_message_chars;
          input.setAttribute('maxlength', String(maxLen));
        }
      })
      .catch(() => { configAt = 0; });
  }

  // While a person is in the chat the header says so instead of the usual reply time.
  function showReplyTime() {
    replyTime.textContent = person ? person + ' is in the chat' : (replyTime.dataset.usual || '');
  }
  function setPerson(name) {
    person = name || null;
    set(LS, K_PERSON, person);
    showReplyTime();
  }

  const rowOf = new WeakMap();
  const scrollDown = () => { scroller.scrollTop = scroller.scrollHeight; };

  function render(m) {
    if (m.from === 'notice') { // "Mara joined the chat": a line of its own, not a bubble
      const d = new Date(m.time);
      const row = el('div', 'system', null, [String(m.text || ''), ' ']);
      row.append(el('time', 'time', isNaN(d) ? null : { datetime: d.toISOString() }, [hhmm(d)]));
      rowOf.set(m, row);
      log.append(row);
      return scrollDown();
    }
    const kind = m.from === 'user' ? 'user' : m.from === 'person' ? 'person' : 'bot';
    const who = kind === 'user' ? 'You' : kind === 'person' ? String(m.name || 'Staff') : SHOP;
    const bubble = el('div', 'bubble', null, [el('span', 'sr', null, [who + ': '])]);
    if (m.text) richText(bubble, m.text);
    const src = typeof m.image === 'string' && safeUrl(m.image, ORIGIN + '/');
    if (src) {
      if (!m.text) bubble.classList.add('shopbot-bubble--media');
      const img = el('img', 'img', { src, alt: 'Image from ' + who, loading: 'lazy', referrerpolicy: 'no-referrer' });
      img.addEventListener('load', scrollDown);
      bubble.append(img);
    }
    const d = new Date(m.time);
    const time = el('time', 'time', isNaN(d) ? null : { datetime: d.toISOString() }, [hhmm(d)]);
    const row = el('div', 'msg msg--' + kind);
    if (kind === 'person') row.append(el('div', 'name', { 'aria-hidden': 'true' }, [who]));
    // Bot answers can be rated, not the bot's questions (their choices answer a form: /inform{...}).
    const asks = Array.isArray(m.buttons) && m.buttons.some((b) => String(b.payload).startsWith('/inform'));
    const rateable = kind === 'bot' && m.text && !asks;
    row.append(bubble, rateable ? el('div', 'meta', null, [time, thumbs(m)]) : time);
    if (m.pending) row.classList.add('shopbot-pending');
    if (m.failed) row.classList.add('shopbot-failed');
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
  // A thumb drawn here (emoji fonts are missing on some systems); "down" is the same icon turned over.
  function thumbIcon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    [['viewBox', '0 0 16 16'], ['width', '15'], ['height', '15'], ['aria-hidden', 'true'], ['focusable', 'false']]
      .forEach(([k, v]) => svg.setAttribute(k, v));
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M1.5 7.5h2.5v7h-2.5zM5.5 7.5l3-5.2c.5-.8 1.8-.5 1.7.5l-.4 3.4h3.6c.9 0 1.5.8 1.3 1.7l-1.4 5.2c-.2.7-.8 1.1-1.5 1.1h-6.3z');
    svg.append(path);
    return svg;
  }
  function thumbs(m) {
    const group = el('div', 'rate', { role: 'group', 'aria-label': 'Was this answer helpful?' });
    const choices = [['up', thumbIcon(), 'Helpful'], ['down', thumbIcon(), 'Not helpful']];
    const mark = () => group.querySelectorAll('button').forEach((b, i) =>
      b.setAttribute('aria-pressed', String(choices[i][0] === m.thumb)));
    choices.forEach(([value, icon, label]) => {
      const b = el('button', 'thumb thumb--' + value, { type: 'button', 'aria-label': label, title: label }, [icon]);
      b.addEventListener('click', () => {
        if (!sessionId || m.thumb === value) return;
        fetch(ORIGIN + '/feedback/thumbs', {
          method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ session_id: sessionId, text: m.text, value }),
        }).then((r) => {
          if (!r.ok) throw new Error(String(r.status));
          setEntry(m, { thumb: value });
          mark();
        }).catch(() => notice('Sorry, your rating could not be saved just now.'));
      });
      group.append(b);
    });
    mark();
    return group;
  }
  function add(m) { history.push(m); saveHistory(); render(m); return m; }
  function notice(text) { log.append(el('div', 'notice', null, [String(text)])); scrollDown(); }
  function setEntry(m, changes) {
    Object.assign(m, changes);
    Object.keys(changes).forEach((k) => { if (changes[k] == null) delete m[k]; });
    const row = rowOf.get(m);
    if (row) {
      row.classList.toggle('shopbot-pending', !!m.pending);
      row.classList.toggle('shopbot-failed', !!m.failed);
    }
    saveHistory();
  }

  let typingTimer = 0;
  function showTyping() {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_MS);
    scrollDown();
  }
  function hideTyping() { typing.hidden = true; clearTimeout(typingTimer); }
  function setOffline(text) {
    offline.hidden = !text;
    if (offline.textContent !== (text || '')) offline.textContent = text || '';
  }
  const unreachable = () => `Can't reach ${SHOP} right now. We'll keep trying, and send what you type as soon as we're back.`;

  // ---- connection and delivery ----
  let socket = null, sessionId = null, ready = false, greetedFor = null, ioPromise = null, ioRetry = 1000;
  // Outbox: {id, message, entry, resent}; entry is the history item the customer sees (null for /greet).
  const outbox = [];
  history.forEach((m) => {
    if (typeof m.pending === 'string') outbox.push({ id: m.id || newId(), message: m.pending, entry: m, resent: !!m.sent });
  });
  let inFlight = null, attempt = 0, retryTimer = 0, retryDelay = 2000;

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

  function flush() {
    if (!ready || inFlight || !outbox.length) return;
    const item = outbox[0];
    inFlight = item;
    const mine = ++attempt;
    const data = { message: item.message, session_id: sessionId, message_id: item.id };
    if (item.resent) data.resent = true;
    item.resent = true; // from now on, any further try is a resend
    if (item.entry && !item.entry.sent) setEntry(item.entry, { sent: true });
    showTyping();
    socket.timeout(ACK_MS).emit('user_uttered', data, (err, ack) => {
      if (mine !== attempt) return; // the connection dropped meanwhile; the reconnect resends it
      inFlight = null;
      if (err) { // no acknowledgement in time: try again (the server drops it if it already has it)
        clearTimeout(retryTimer);
        retryTimer = setTimeout(flush, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30000);
        return;
      }
      retryDelay = 2000;
      outbox.shift();
      if (!outbox.length) hideTyping();
      const status = ack && ack.status;
      if (item.entry) setEntry(item.entry, { pending: null, sent: null, failed: status === 'refused' || status === 'failed' || null });
      if (status === 'refused' || status === 'failed') {
        hideTyping();
        notice((ack && ack.detail) || 'Sorry, something went wrong; please try again.');
      }
      flush();
    });
  }

  function send(message, shown) {
    const id = newId();
    const entry = shown == null ? null : add({ from: 'user', text: shown, time: Date.now(), id, pending: message });
    outbox.push({ id, message, entry, resent: false });
    if (ready) flush(); else connect();
  }

  function acknowledge(id) {
    if (socket && sessionId) socket.emit('received', { session_id: sessionId, delivery_ids: [id] });
  }

  function onBot(d) {
    if (!d || typeof d !== 'object') return;
    const id = Number.isInteger(d.delivery_id) && d.delivery_id > 0 ? d.delivery_id : null;
    if (id && delivered.includes(id)) return acknowledge(id); // shown already; its acknowledgement was lost
    const written = Date.parse(d.time); // a message kept while the tab was closed shows when it was written
    const m = { from: 'bot', time: isNaN(written) ? Date.now() : written };
    const sender = d.sender;
    if (sender && typeof sender === 'object' && sender.type === 'person') {
      m.from = 'person';
      m.name = String(sender.name || 'Staff').slice(0, 60);
    }
    if (['joined', 'left', 'closed'].includes(d.notice)) {
      m.from = 'notice';
      setPerson(d.notice === 'joined' ? m.name : null);
    }
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
    if (m.from !== 'notice') hideTyping();
    add(m);
    if (id) {
      delivered = delivered.concat(id).slice(-200);
      set(LS, K_DELIVERED, JSON.stringify(delivered));
      acknowledge(id);
    }
    if (!isOpen) markUnread(true);
  }

  function onSession(d) {
    const id = typeof d === 'string' ? d : d && d.session_id;
    if (!id) return;
    const prev = get(LS, K_SESSION);
    sessionId = String(id);
    set(LS, K_SESSION, sessionId);
    ready = true;
    setOffline('');
    // new conversation: greet silently (no customer bubble), once per session id
    if ((prev !== sessionId || !history.length) && greetedFor !== sessionId) {
      greetedFor = sessionId;
      outbox.unshift({ id: newId(), message: '/greet', entry: null, resent: false });
    }
    flush();
  }

  function lostConnection() {
    ready = false;
    attempt++; // ignore a late acknowledgement; the message in flight is resent after reconnecting
    inFlight = null;
    clearTimeout(retryTimer);
    hideTyping();
  }

  function connect() {
    if (socket) return;
    loadIo().then((io) => {
      ioRetry = 1000;
      if (socket) return;
      // socket.io retries by itself with exponential back-off (1 s doubling to 15 s, ±50 %).
      socket = io(ORIGIN, {
        path: '/socket.io', transports: ['websocket', 'polling'],
        reconnectionDelay: 1000, reconnectionDelayMax: 15000, randomizationFactor: 0.5,
      });
      socket.on('connect', () => { ready = false; socket.emit('session_request', { session_id: get(LS, K_SESSION) || null }); });
      socket.on('session_confirm', onSession);
      socket.on('bot_uttered', onBot);
      socket.on('disconnect', (reason) => {
        lostConnection();
        if (reason === 'io client disconnect') return;
        setOffline(unreachable());
        if (reason === 'io server disconnect') socket.connect(); // not retried automatically
      });
      socket.on('connect_error', () => setOffline(unreachable()));
    }, () => {
      setOffline(unreachable());
      setTimeout(connect, ioRetry);
      ioRetry = Math.min(ioRetry * 2, 30000);
    });
  }

  // A photo goes to BOT/uploads first (images only, 5 MB); the message then names the stored file.
  function sendPhoto(file) {
    if (!PHOTO_TYPES.includes(file.type)) return notice('Please choose a photo (JPEG, PNG, WebP or GIF).');
    if (file.size > MAX_PHOTO) return notice('That photo is larger than 5 MB; please choose a smaller one.');
    if (!ready) return notice("Photos can be sent once the chat is connected again.");
    const name = String(file.name || 'photo').slice(0, 80);
    fetch(`${ORIGIN}/uploads?session_id=${encodeURIComponent(sessionId)}`, {
      method: 'POST', body: file, headers: { 'Content-Type': file.type }, credentials: 'omit',
    }).then((r) => r.json().then((j) => ({ ok: r.ok, j })))
      .then(({ ok, j }) => {
        if (!ok || typeof j.photo !== 'string') throw new Error((j && j.detail) || 'upload failed');
        send('/inform' + JSON.stringify({ photo: j.photo }), 'Photo attached: ' + name);
      })
      .catch((e) => notice('The photo could not be sent: ' + e.message));
  }

  function newConversation() {
    set(LS, K_SESSION, null);
    set(LS, K_HISTORY, null);
    set(LS, K_DELIVERED, null);
    history = [];
    delivered = [];
    setPerson(null);
    outbox.length = 0;
    sessionId = greetedFor = null;
    log.textContent = '';
    lostConnection();
    if (socket) { socket.disconnect(); socket.connect(); } else connect();
  }

  // ---- UI behaviour ----
  let isOpen = false;
  function markUnread(unread) {
    launcher.classList.toggle('shopbot-unread', unread);
    launcher.setAttribute('aria-label', unread ? 'Open chat (new message)' : 'Open chat');
  }
  function setOpen(open, focus) {
    isOpen = open;
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute('aria-expanded', String(open));
    set(SS, K_OPEN, open ? '1' : '0');
    if (open) {
      markUnread(false);
      loadConfig();
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
    const msg = input.value.length >= maxLen ? `Messages can be at most ${maxLen} characters.` : '';
    if (limit.textContent !== msg) limit.textContent = msg; // changes only at the limit: announced once
  }
  function submit() {
    const text = input.value.trim();
    if (!text) { input.value = ''; autosize(); return; }
    if (text.length > maxLen) { updateLimit(); return; }
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
  attach.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = '';
    if (file) sendPhoto(file);
  });
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
    loadConfig();
    showReplyTime();
    history.forEach(render);
    const remembered = get(SS, K_OPEN);
    if (remembered === '1' || (remembered == null && opts.open === 'true')) setOpen(true, false);
    // A conversation in progress reconnects at once: replies (from a person, too) and unsent messages.
    else if (outbox.length || get(LS, K_SESSION)) connect();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
