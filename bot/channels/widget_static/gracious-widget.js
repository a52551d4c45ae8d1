/*
 * Gracious chat widget: one script tag, no dependencies, no build step.
 *
 *   <script src="https://BOT/webhooks/widget/static/gracious-widget.js" defer></script>
 *
 * Optional attributes on that tag:
 *   data-token="JWT"           a login token the company's page signed for this visitor
 *   data-token-url="/path"     or where the page's own back end hands one out
 *                              (fetched with the page's cookies before every connection)
 *   data-server="https://BOT"  the bot, when it is not where the script comes from
 *   data-storage-key="name"    keeps separate conversations apart in one tab
 *   data-title="..."           the panel's heading
 *
 * It speaks socket.io (Engine.IO 4) over a WebSocket to the bot's widget
 * channel, keeps the conversation id and the transcript in sessionStorage
 * (so a reload in the same tab continues the conversation) and reconnects
 * after a network drop. Each message the customer sends has an id and stays
 * in the tab's outbox until the bot acknowledges it: one sent on a socket
 * that died unnoticed is sent again after reconnecting (the bot runs it once).
 * If the bot then fails to handle it, it says so, and the tab that sent it
 * offers to send it again.
 * window.GraciousWidget has open(), close(), setToken(token) and reset().
 */
(function () {
  "use strict";
  if (window.GraciousWidget) return;

  var script = document.currentScript;
  var options = (script && script.dataset) || {};
  var scriptUrl = new URL((script && script.src) || location.href, location.href);
  var server = (options.server || scriptUrl.origin).replace(/\/+$/, "");
  var socketPath = options.socketPath || "/webhooks/widget/socket.io";
  var storageKey = options.storageKey || "gracious-widget";
  var title = options.title || "Subscription help";
  var pageToken = options.token || null;
  var tokenUrl = options.tokenUrl || null;

  var MAX_MESSAGES = 200;
  var MAX_RETRY_MS = 15000;
  var TOKEN_TIMEOUT_MS = 8000;
  var OPEN_TIMEOUT_MS = 10000;
  // The bot acknowledges a message on receipt, before it answers: no
  // acknowledgement by then means the socket is dead, whatever it says.
  var ACK_TIMEOUT_MS = 10000;
  var TYPING_MS = 45000;
  // Acknowledged messages kept (in memory) for a "Send again" if their turn
  // fails: the bot says so within moments of the acknowledgement.
  var MAX_DELIVERED = 20;
  var GREETING = {
    from: "bot",
    text: "Hi! I can cancel your subscription or tell you how it stands. What would you like to do?",
    buttons: [
      { title: "Cancel my subscription", payload: "I want to cancel my subscription" },
      { title: "Check my subscription", payload: "What is the status of my subscription?" }
    ]
  };

  // ---- the transcript, kept for this tab ----------------------------------

  function loadState() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
      if (saved && Array.isArray(saved.messages)) return saved;
    } catch (ignored) { /* storage blocked or corrupt: start afresh */ }
    return { sessionId: null, messages: [], open: false, botSeen: 0 };
  }

  var state = loadState();

  function saveState() {
    state.messages = state.messages.slice(-MAX_MESSAGES);
    try {
      sessionStorage.setItem(storageKey, JSON.stringify(state));
    } catch (ignored) { /* private mode: the conversation lasts this page */ }
  }

  // A full card number typed by mistake is sent (the bot removes it and says
  // so) but never shown again or kept in this tab's storage.
  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = Number(digits.charAt(digits.length - 1 - i));
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  // The same test as the server's (bot/redaction.py): a run of digits and
  // separators is a card if its first whole groups holding 13-19 digits pass
  // Luhn (a CVV or expiry may follow), or if an unbroken group of more than
  // 19 digits holds a 13-19 digit window that does.
  function hidesACard(digits) {
    for (var length = 13; length <= 19; length++) {
      for (var start = 0; start + length <= digits.length; start++) {
        if (luhn(digits.substr(start, length))) return true;
      }
    }
    return false;
  }

  function isCardNumber(run) {
    var groups = run.match(/\d+/g) || [];
    var stretch = "";
    for (var i = 0; i < groups.length; i++) {
      stretch += groups[i];
      if (stretch.length > 19) break;
      if (stretch.length >= 13 && luhn(stretch)) return true;
    }
    for (var j = 0; j < groups.length; j++) {
      if (groups[j].length > 19 && hidesACard(groups[j])) return true;
    }
    return false;
  }

  // Any script's digits, as the server's \d reads them ("４２４２", "٤٢٤٢"):
  // Unicode encodes each script's 0-9 as ten code points in a row, so a
  // digit's value is how many digits stand right before it, modulo 10.
  var ANY_DIGIT = /\p{Nd}/u;
  function asciiDigit(digit) {
    var code = digit.codePointAt(0);
    var before = 0;
    while (ANY_DIGIT.test(String.fromCodePoint(code - before - 1))) before++;
    return String(before % 10);
  }

  function hideCardNumbers(text) {
    var candidate = /(^|[^\p{Nd}])(\p{Nd}(?:[\s\-.\u00a0\u2007\u2009\u202f]{0,3}\p{Nd}){12,})(?!\p{Nd})/gu;
    return text.replace(candidate, function (match, before, run) {
      var ascii = run.replace(/\p{Nd}/gu, asciiDigit);
      return before + (isCardNumber(ascii) ? "[card number removed]" : run);
    });
  }

  // ---- the interface -------------------------------------------------------

  var CSS = [
    ":host { all: initial; }",
    "*, *::before, *::after { box-sizing: border-box; }",
    "[hidden] { display: none !important; }",
    ".root { font: 16px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f2328; }",
    ".sr { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;",
    "  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }",
    "button, input { font: inherit; }",
    ":focus-visible { outline: 3px solid #111827; outline-offset: 2px; }",
    ".launcher { position: fixed; right: 16px; bottom: 16px; z-index: 2147483000; min-height: 48px;",
    "  padding: 0 20px; border: 0; border-radius: 24px; background: #1d4ed8; color: #ffffff;",
    "  font-weight: 600; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25); }",
    ".launcher:hover { background: #1e40af; }",
    ".panel { position: fixed; right: 16px; bottom: 80px; z-index: 2147483001; display: flex;",
    "  flex-direction: column; width: 380px; max-width: calc(100vw - 32px); height: 560px;",
    "  max-height: calc(100vh - 104px); background: #ffffff; border: 1px solid #6e7781;",
    "  border-radius: 12px; box-shadow: 0 10px 30px rgba(0,0,0,.25); overflow: hidden; }",
    ".head { display: flex; align-items: center; justify-content: space-between; gap: 8px;",
    "  padding: 4px 4px 4px 16px; background: #1d4ed8; color: #ffffff; }",
    ".head h2 { margin: 0; font-size: 1.05rem; font-weight: 600; }",
    ".close { width: 44px; height: 44px; border: 0; border-radius: 8px; background: transparent;",
    "  color: #ffffff; font-size: 1.6rem; line-height: 1; cursor: pointer; }",
    ".close:hover { background: #1e40af; }",
    ".close:focus-visible { outline-color: #ffffff; outline-offset: -4px; }",
    ".status { margin: 0; padding: 6px 16px; background: #fff8c5; color: #4d2d00; font-size: .9rem; }",
    // kept in the page when empty: a live region that appears together with
    // its text is often not read out
    ".status:empty { padding: 0; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }",
    ".msg { max-width: 85%; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;",
    "  overflow-wrap: anywhere; }",
    ".msg.bot { align-self: flex-start; background: #eef1f4; color: #1f2328; border-bottom-left-radius: 4px; }",
    ".msg.user { align-self: flex-end; background: #1d4ed8; color: #ffffff; border-bottom-right-radius: 4px; }",
    ".note { display: block; margin-top: 2px; font-size: .85rem; color: #dbeafe; }",
    ".typing { align-self: flex-start; margin: 0 12px 8px; padding: 8px 14px; border-radius: 14px;",
    "  background: #eef1f4; color: #424a53; }",
    ".dots span { display: inline-block; width: 7px; height: 7px; margin: 0 2px; border-radius: 50%;",
    "  background: #57606a; animation: gw-blink 1.2s infinite ease-in-out; }",
    ".dots span:nth-child(2) { animation-delay: .2s; } .dots span:nth-child(3) { animation-delay: .4s; }",
    "@keyframes gw-blink { 0%, 80%, 100% { opacity: .3; } 40% { opacity: 1; } }",
    "@media (prefers-reduced-motion: reduce) { .dots span { animation: none; } }",
    ".replies { display: flex; flex-wrap: wrap; gap: 8px; padding: 0 12px 8px; }",
    ".replies:empty { display: none; }",
    ".reply { min-height: 44px; padding: 6px 14px; border: 2px solid #1d4ed8; border-radius: 22px;",
    "  background: #ffffff; color: #1d4ed8; font-weight: 600; cursor: pointer; }",
    ".reply:hover { background: #eff4ff; }",
    ".composer { display: flex; gap: 8px; padding: 10px 12px; border-top: 1px solid #d0d7de; }",
    ".composer input { flex: 1; min-width: 0; min-height: 44px; padding: 8px 12px;",
    "  border: 1px solid #6e7781; border-radius: 8px; color: #1f2328; background: #ffffff; }",
    ".send { min-height: 44px; padding: 0 16px; border: 0; border-radius: 8px; background: #1d4ed8;",
    "  color: #ffffff; font-weight: 600; cursor: pointer; }",
    ".send:hover { background: #1e40af; }",
    "@media (max-width: 480px) {",
    "  .panel { right: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100%; max-height: 100%;",
    "    border: 0; border-radius: 0; }",
    "}"
  ].join("\n");

  var host = document.createElement("div");
  host.id = "gracious-widget";
  var shadow = host.attachShadow({ mode: "open" });
  shadow.innerHTML =
    "<style>" + CSS + "</style>" +
    '<div class="root">' +
    '<button class="launcher" type="button" aria-expanded="false" aria-controls="gw-panel">Chat with us</button>' +
    '<section class="panel" id="gw-panel" role="dialog" aria-labelledby="gw-title" hidden>' +
    '<div class="head"><h2 id="gw-title"></h2>' +
    '<button class="close" type="button" aria-label="Close chat"><span aria-hidden="true">&times;</span></button></div>' +
    '<p class="status" role="status"></p>' +
    '<div class="log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0"></div>' +
    '<div class="typing" aria-hidden="true" hidden><span class="dots">' +
    "<span></span><span></span><span></span></span></div>" +
    '<p class="sr typing-live" role="status"></p>' +
    '<div class="replies" role="group" aria-label="Suggested replies"></div>' +
    '<form class="composer" novalidate>' +
    '<label class="sr" for="gw-input">Your message</label>' +
    '<input id="gw-input" type="text" autocomplete="off" maxlength="1000" enterkeyhint="send">' +
    '<button class="send" type="submit">Send</button>' +
    "</form></section></div>";

  function part(selector) { return shadow.querySelector(selector); }
  var launcher = part(".launcher");
  var panel = part(".panel");
  var status = part(".status");
  var log = part(".log");
  var typing = part(".typing");
  var typingLive = part(".typing-live");
  var replies = part(".replies");
  var form = part(".composer");
  var input = part("#gw-input");
  part("#gw-title").textContent = title;

  function renderMessage(message) {
    var item = document.createElement("div");
    item.className = "msg " + (message.from === "user" ? "user" : "bot");
    if (message.id) item.setAttribute("data-id", message.id);
    var who = document.createElement("span");
    who.className = "sr";
    who.textContent = message.from === "user" ? "You said: " : "Assistant: ";
    var text = document.createElement("span");
    text.textContent = message.text;
    item.appendChild(who);
    item.appendChild(text);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function renderReplies(buttons) {
    replies.textContent = "";
    (buttons || []).forEach(function (button) {
      var element = document.createElement("button");
      element.type = "button";
      element.className = "reply";
      element.textContent = button.title;
      element.addEventListener("click", function () {
        if (button.resend) sendAgain(button.resend);
        else say(button.payload, button.title);
        input.focus();
      });
      replies.appendChild(element);
    });
  }

  function addMessage(message) {
    state.messages.push(message);
    saveState();
    renderMessage(message);
    renderReplies(message.from === "bot" ? message.buttons : []);
    log.scrollTop = log.scrollHeight;
  }

  var typingTimer = null;
  function showTyping(visible) {
    clearTimeout(typingTimer);
    typing.hidden = !visible;
    typingLive.textContent = visible ? "The assistant is typing" : "";
    if (visible) {
      typingTimer = setTimeout(function () { showTyping(false); }, TYPING_MS);
    }
  }

  function bubble(id) {
    var items = log.querySelectorAll(".msg.user[data-id]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-id") === id) return items[i];
    }
    return null;
  }

  // "Sending..." under each message the bot has not acknowledged, once the
  // connection is known to be lost (a healthy one acknowledges in moments;
  // the note would only flicker, and a screen reader announce it for nothing).
  function showSending() {
    outbox.forEach(function (entry) {
      var item = bubble(entry.id);
      if (!item || item.querySelector(".note")) return;
      var note = document.createElement("span");
      note.className = "note";
      note.textContent = "Sending\u2026";
      item.appendChild(note);
    });
  }

  function showSent(id) {
    var item = bubble(id);
    var note = item && item.querySelector(".note");
    if (note) item.removeChild(note);
  }

  function showNotSent(id) {
    var item = bubble(id);
    if (!item) return;
    var note = item.querySelector(".note") || document.createElement("span");
    note.className = "note";
    note.textContent = "Not sent";
    item.appendChild(note);
  }

  function setStatus(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  function openPanel(moveFocus) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    if (!state.messages.length) addMessage(GREETING);
    saveState();
    log.scrollTop = log.scrollHeight;
    if (moveFocus) input.focus();
    connect();
  }

  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    saveState();
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) openPanel(true); else closePanel();
  });
  part(".close").addEventListener("click", closePanel);
  // On a small screen the panel covers the page: it acts as a modal dialog,
  // and Tab goes round inside it instead of onto the hidden page behind.
  var fullScreen = window.matchMedia ? window.matchMedia("(max-width: 480px)") : null;
  function markModal() {
    if (fullScreen && fullScreen.matches) panel.setAttribute("aria-modal", "true");
    else panel.removeAttribute("aria-modal");
  }
  markModal();
  if (fullScreen && fullScreen.addEventListener) fullScreen.addEventListener("change", markModal);

  function keepFocusInside(event) {
    if (!fullScreen || !fullScreen.matches) return;
    var stops = Array.prototype.filter.call(
      panel.querySelectorAll("button, input, [tabindex='0']"),
      function (element) { return !element.disabled && element.offsetParent !== null; }
    );
    if (!stops.length) return;
    var first = stops[0], last = stops[stops.length - 1];
    var current = shadow.activeElement;
    if (event.shiftKey && current === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && current === last) {
      event.preventDefault();
      first.focus();
    }
  }

  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closePanel();
    } else if (event.key === "Tab") {
      keepFocusInside(event);
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    say(text, hideCardNumbers(text));
  });

  // ---- the connection: socket.io over one WebSocket -----------------------

  var socket = null;
  var connecting = false;
  var confirmed = false;
  var lost = false;  // from a dropped connection until the conversation is back
  var retries = 0;
  var retryTimer = null;
  var heartbeatTimer = null;
  var heartbeatBudget = 60000;
  // Messages not yet acknowledged, oldest first: {id, message, sent, keep}.
  // Kept in the tab too (state.waiting), so a reload, a link followed or a
  // dead socket does not lose them; except one with a card number in it,
  // whose text would be stored in full.
  var outbox = [];
  var delivered = [];  // acknowledged, newest last, kept for sendAgain
  var nextAck = 0;
  var awaiting = {};  // acknowledgement number -> {id, timer}, this socket's

  function socketUrl() {
    var url = new URL(server + socketPath.replace(/\/?$/, "/"));
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("EIO", "4");
    url.searchParams.set("transport", "websocket");
    return url.toString();
  }

  function loginToken() {
    if (pageToken) return Promise.resolve(pageToken);
    if (!tokenUrl) return Promise.resolve(null);
    // A login endpoint that never answers must not hold the chat up: after
    // TOKEN_TIMEOUT_MS the visitor goes on anonymous, as with no token.
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, TOKEN_TIMEOUT_MS);
    return fetch(tokenUrl, {
      credentials: "same-origin", cache: "no-store", signal: controller ? controller.signal : undefined
    })
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (body) {
        return body && typeof body.token === "string" ? body.token : null;
      })
      .catch(function () { return null; })
      .then(function (token) { clearTimeout(timer); return token; });
  }

  function connect() {
    clearTimeout(retryTimer);
    if (socket || connecting) return;
    connecting = true;
    loginToken().then(function (token) {
      connecting = false;
      if (socket) return;
      var ws;
      try {
        ws = new WebSocket(socketUrl());
      } catch (error) {
        reconnectLater();
        return;
      }
      socket = ws;
      // a socket that never opens (a proxy holding it) counts as dropped;
      // the server's first packet replaces this with the heartbeat's budget
      clearTimeout(heartbeatTimer);
      heartbeatTimer = setTimeout(dropped, OPEN_TIMEOUT_MS);
      ws.onmessage = function (event) {
        if (socket === ws) receive(String(event.data), token);
      };
      ws.onclose = function () {
        if (socket === ws) dropped();
      };
      ws.onerror = function () {
        try { ws.close(); } catch (ignored) { /* already closing */ }
      };
    });
  }

  function dropped() {
    var ws = socket;
    socket = null;
    confirmed = false;
    clearTimeout(heartbeatTimer);
    forgetAcks();
    lost = true;
    showSending();
    if (ws) {
      ws.onclose = null;
      try { ws.close(); } catch (ignored) { /* already closed */ }
    }
    setStatus("Connection lost. Reconnecting\u2026");
    reconnectLater();
  }

  function reconnectLater() {
    clearTimeout(retryTimer);
    var delay = Math.min(MAX_RETRY_MS, 500 * Math.pow(2, retries));
    retries += 1;
    retryTimer = setTimeout(connect, delay * (0.75 + Math.random() / 2));
  }

  window.addEventListener("online", function () {
    if (!socket && (state.open || state.sessionId)) {
      retries = 0;
      connect();
    }
  });

  function heartbeat() {
    // The server pings every pingInterval; silence for longer means the
    // network is gone even if the browser has not noticed yet.
    clearTimeout(heartbeatTimer);
    heartbeatTimer = setTimeout(dropped, heartbeatBudget);
  }

  function transmit(packet) {
    if (socket && socket.readyState === 1) socket.send(packet);
  }

  function emit(event, data) {
    transmit("42" + JSON.stringify([event, data]));
  }

  function newId() {
    var cryptography = window.crypto;
    if (cryptography && typeof cryptography.randomUUID === "function") {
      return cryptography.randomUUID();
    }
    if (cryptography && typeof cryptography.getRandomValues === "function") {
      var bytes = cryptography.getRandomValues(new Uint8Array(16));
      return Array.prototype.map.call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      }).join("");
    }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12) +
      Math.random().toString(36).slice(2, 12);
  }

  function keepOutbox() {
    state.waiting = outbox
      .filter(function (entry) { return entry.keep; })
      .map(function (entry) { return { id: entry.id, message: entry.message, sent: entry.sent }; });
    saveState();
  }

  // Send a message with a request for acknowledgement ("42<n>[...]"); one
  // sent before (its socket died, or the page was reloaded) is marked as a
  // resend, which the bot looks up and does not run twice.
  function deliver(entry) {
    var ws = socket;
    if (!confirmed || !ws || ws.readyState !== 1 || entry.awaiting) return;
    var data = { message: entry.message, client_id: entry.id };
    if (entry.sent) data.resent = true;
    entry.sent = true;
    entry.awaiting = true;
    keepOutbox();
    var number = nextAck++;
    awaiting[number] = {
      id: entry.id,
      timer: setTimeout(function () {
        if (socket === ws && awaiting[number]) dropped();
      }, ACK_TIMEOUT_MS)
    };
    ws.send("42" + number + JSON.stringify(["user_uttered", data]));
  }

  function acknowledged(number) {
    var waited = awaiting[number];
    if (!waited) return;
    clearTimeout(waited.timer);
    delete awaiting[number];
    outbox = outbox.filter(function (entry) {
      if (entry.id !== waited.id) return true;
      delivered = delivered.concat([entry]).slice(-MAX_DELIVERED);
      return false;
    });
    keepOutbox();
    showSent(waited.id);
  }

  // The bot could not handle a message it had acknowledged: back in the
  // outbox, with its id and marked as sent before, so the bot looks it up
  // (and runs it once) as any resend.
  function sendAgain(entry) {
    delivered = delivered.filter(function (kept) { return kept !== entry; });
    renderReplies([]);
    showSent(entry.id);
    entry.awaiting = false;
    queue(entry);
  }

  // The bot's word that a message's turn failed: said in every tab of the
  // conversation, never kept by the bot, so not counted among its replies;
  // the replies of that turn already shown were not kept either.
  function notSent(data) {
    if (typeof state.botSeen === "number" && typeof data.replies_not_kept === "number") {
      state.botSeen = Math.max(0, state.botSeen - data.replies_not_kept);
    }
    showTyping(false);
    addMessage({ from: "bot", text: data.text });
    var entry = null;
    delivered.forEach(function (kept) { if (kept.id === data.failed_message) entry = kept; });
    if (!entry) return;  // typed in another tab: the customer can type it again
    showNotSent(entry.id);
    renderReplies([{ title: "Send again", resend: entry }]);
  }

  // The socket is gone, and the acknowledgements it owed with it: its
  // messages wait for the next one.
  function forgetAcks() {
    Object.keys(awaiting).forEach(function (number) { clearTimeout(awaiting[number].timer); });
    awaiting = {};
    outbox.forEach(function (entry) { entry.awaiting = false; });
  }

  function receive(packet, token) {
    var kind = packet.charAt(0);
    if (kind === "0") {
      var open = JSON.parse(packet.slice(1));
      heartbeatBudget = (open.pingInterval || 25000) + (open.pingTimeout || 20000) + 2000;
      heartbeat();
      transmit("40" + (token ? JSON.stringify({ token: token }) : ""));
    } else if (kind === "2") {
      heartbeat();
      transmit("3");
    } else if (kind === "1") {
      dropped();
    } else if (kind === "4") {
      receiveSocketPacket(packet.slice(1));
    }
  }

  function receiveSocketPacket(packet) {
    var kind = packet.charAt(0);
    if (kind === "0") {
      // botSeen: the replies this conversation has received; the server sends
      // again the ones after it (sent while this socket was down). A tab
      // saved by an older widget has none, and is sent nothing again.
      emit("session_request", { session_id: state.sessionId, bot_seen: state.botSeen });
    } else if (kind === "2") {
      var body = JSON.parse(packet.slice(packet.indexOf("[")));
      handleEvent(body[0], body[1]);
    } else if (kind === "3") {
      var number = /^3(\d+)/.exec(packet);
      if (number) acknowledged(Number(number[1]));
    } else if (kind === "1" || kind === "4") {
      dropped();
    }
  }

  function handleEvent(name, data) {
    if (name === "session_confirm" && typeof data === "string") {
      if (data !== state.sessionId) state.botSeen = 0;
      state.sessionId = data;
      saveState();
      confirmed = true;
      lost = false;
      retries = 0;
      setStatus("");
      // in the order typed; one already on its way on this socket is not
      // sent again (setToken asks for the conversation again)
      outbox.slice().forEach(deliver);
    } else if (name === "bot_uttered" && data && typeof data.failed_message === "string" &&
               typeof data.text === "string") {
      notSent(data);
    } else if (name === "bot_uttered") {
      // every packet counts, shown or not, as the server counts them
      if (typeof state.botSeen === "number") state.botSeen += 1;
      if (!data || typeof data.text !== "string") {
        saveState();  // addMessage saves the ones it shows
        return;
      }
      showTyping(false);
      var buttons = (data.quick_replies || data.buttons || [])
        .filter(function (b) { return b && typeof b.title === "string"; })
        .map(function (b) { return { title: b.title, payload: String(b.payload) }; });
      addMessage({ from: "bot", text: data.text, buttons: buttons });
    }
  }

  function say(payload, shown) {
    // Kept in the tab's storage unless it holds a card number: a button's
    // payload differs from its title and is kept like any other message.
    var entry = {
      id: newId(), message: payload, sent: false,
      keep: hideCardNumbers(payload) === payload
    };
    addMessage({ from: "user", text: shown, id: entry.id });
    queue(entry);
  }

  // Into the outbox (kept in the tab), and out now if the socket is up.
  function queue(entry) {
    outbox.push(entry);
    keepOutbox();
    showTyping(true);
    if (confirmed) {
      deliver(entry);
    } else {
      if (lost) showSending();
      connect();
    }
  }

  // ---- start ---------------------------------------------------------------

  function start() {
    document.body.appendChild(host);
    state.messages.forEach(renderMessage);
    var last = state.messages[state.messages.length - 1];
    if (last && last.from === "bot") renderReplies(last.buttons);
    if (state.open) openPanel(false);
    // typed before the page changed, not acknowledged: send it now (an
    // older widget kept only the text, of messages it had not sent)
    var waiting = Array.isArray(state.waiting) ? state.waiting : [];
    outbox = waiting.map(function (kept) {
      if (typeof kept === "string") return { id: newId(), message: kept, sent: false, keep: true };
      if (kept && typeof kept.message === "string" && typeof kept.id === "string") {
        return { id: kept.id, message: kept.message, sent: kept.sent === true, keep: true };
      }
      return null;
    }).filter(Boolean);
    if (outbox.length) {
      showSending();
      showTyping(true);
      connect();
    }
  }

  window.GraciousWidget = {
    open: function () { if (panel.hidden) openPanel(true); },
    close: function () { if (!panel.hidden) closePanel(); },
    setToken: function (token) {
      pageToken = token || null;
      if (confirmed) {
        emit("session_request", {
          session_id: state.sessionId, token: pageToken, bot_seen: state.botSeen
        });
      }
    },
    // On logout: a new conversation, and the login is forgotten here and on
    // the server (a token of null makes the visitor anonymous again).
    reset: function () {
      pageToken = null;
      state = { sessionId: null, messages: [], open: !panel.hidden, botSeen: 0 };
      saveState();
      log.textContent = "";
      renderReplies([]);
      // what is typed from now on waits for the new conversation: sent at
      // once, it could reach the server before the request for it
      confirmed = false;
      forgetAcks();
      outbox = [];
      delivered = [];
      if (socket) emit("session_request", { session_id: null, token: null });
    }
  };

  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
