/*
 * The memberdesk chat widget. Include socket.io.js and this file from the memberdesk server:
 *
 *   <script src="https://chat.example.org/webhooks/webchat/socket.io.js"></script>
 *   <script src="https://chat.example.org/webhooks/webchat/widget.js"
 *           data-token-url="/members/chat-token"></script>
 *
 * data-token-url (optional) is a URL on the page's own site that answers {"token": "..."}
 * with a member token for a signed-in member, or {"token": null}. It is fetched on every
 * (re)connection, so the token can be short-lived. data-server overrides the memberdesk
 * server's address (by default, where this script came from).
 *
 * Everything the assistant, staff or a member wrote is shown with textContent, never as
 * HTML. The server-issued session token is kept in sessionStorage: it lasts as long as the
 * tab, survives a reload, and is not shared with other tabs.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var config = {
    server: (script && script.dataset.server) || (script ? new URL(script.src).origin : ""),
    tokenUrl: (script && script.dataset.tokenUrl) || null,
    title: (script && script.dataset.title) || "Membership assistant",
  };
  var SESSION_KEY = "memberdesk-webchat:session";
  var OPEN_KEY = "memberdesk-webchat:open";
  var SOCKET_PATH = "/webhooks/webchat/socket.io";

  function storage(action, key, value) {
    try {
      if (action === "get") return window.sessionStorage.getItem(key);
      if (action === "set") window.sessionStorage.setItem(key, value);
      if (action === "remove") window.sessionStorage.removeItem(key);
    } catch (err) {
      // Storage can be switched off; the chat still works, it just will not survive a reload.
    }
    return null;
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pad(number) {
    return (number < 10 ? "0" : "") + number;
  }

  function clock(at) {
    return pad(at.getHours()) + ":" + pad(at.getMinutes());
  }

  // -- the page elements ---------------------------------------------------------------------

  var root = element("div", { class: "md-chat" });
  var launcher = element(
    "button",
    { type: "button", class: "md-launcher", "aria-expanded": "false", "aria-controls": "md-panel" },
    "Chat with us"
  );
  var panel = element("section", {
    id: "md-panel",
    class: "md-panel",
    "aria-labelledby": "md-title",
  });
  panel.hidden = true;
  var header = element("header", { class: "md-header" });
  var title = element("h2", { id: "md-title", class: "md-title" }, config.title);
  var status = element("p", { class: "md-status", role: "status" });
  var download = element(
    "button",
    { type: "button", class: "md-download" },
    "Download transcript"
  );
  var close = element("button", { type: "button", class: "md-close", "aria-label": "Close chat" }, "\u00d7");
  header.append(title, status, download, close);
  var log = element("div", {
    class: "md-log",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-label": "Conversation",
    tabindex: "0",
  });
  var typing = element("p", { class: "md-typing", "aria-live": "polite" }, "");
  var form = element("form", { class: "md-form" });
  var label = element("label", { for: "md-input", class: "md-visually-hidden" }, "Your message");
  var input = element("textarea", {
    id: "md-input",
    class: "md-input",
    rows: "2",
    placeholder: "Type your message",
    autocomplete: "off",
  });
  var send = element("button", { type: "submit", class: "md-send" }, "Send");
  form.append(label, input, send);
  panel.append(header, log, typing, form);
  root.append(launcher, panel);

  // -- the conversation ----------------------------------------------------------------------

  var transcript = [];
  var counter = 0;
  var tabId = Math.random().toString(36).slice(2, 10);
  var pending = {};
  // Sent but not yet acknowledged as handled: sent again on reconnecting (at least once; the
  // server drops repeats, channels/webchat/delivery.py).
  var outbox = {};
  var RESEND_AFTER_MS = 60000;
  var joined = false;
  var started = false;
  var typingTimer = null;

  var WHO = { member: "You", assistant: "Assistant", staff: "Staff", notice: "Notice" };

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function disableChoices() {
    Array.prototype.forEach.call(log.querySelectorAll(".md-choices button"), function (button) {
      button.disabled = true;
    });
  }

  function addMessage(message, options) {
    var from = message.from || "assistant";
    var at = message.at ? new Date(message.at) : new Date();
    var entry = { at: at, from: from, text: message.text || "" };
    var bubble = element("div", { class: "md-msg md-from-" + from });
    if (message.staff_joined) {
      entry.text = message.staff_joined + " joined the conversation";
      bubble.className = "md-msg md-from-staff";
      bubble.append(element("p", { class: "md-text" }, entry.text));
    } else if (message.staff) {
      // A message from the member of staff who has the conversation.
      entry.text = message.staff.text || "";
      entry.name = message.staff.from || "Staff";
      if (message.staff.note) {
        bubble.className = "md-msg md-from-staff";
      } else {
        bubble.className = "md-msg md-from-staff-member";
        bubble.append(element("p", { class: "md-sender" }, entry.name));
      }
      bubble.append(element("p", { class: "md-text" }, entry.text));
    } else {
      bubble.append(
        element("span", { class: "md-visually-hidden" }, WHO[from] + ": "),
        element("p", { class: "md-text" }, entry.text)
      );
    }
    transcript.push(entry);
    bubble.mdEntry = entry;
    log.append(bubble);
    var buttons = message.buttons || [];
    if (buttons.length) {
      var group = element("div", { class: "md-choices", role: "group", "aria-label": "Choose an answer" });
      buttons.forEach(function (choice) {
        var button = element("button", { type: "button", class: "md-choice" }, choice.title);
        button.disabled = Boolean(options && options.past);
        button.addEventListener("click", function () {
          choose(choice, button);
        });
        group.append(button);
      });
      bubble.append(group);
    }
    scrollDown();
    return bubble;
  }

  function setTyping(active) {
    clearTimeout(typingTimer);
    typing.textContent = active ? "The assistant is typing\u2026" : "";
    typing.classList.toggle("md-typing-on", Boolean(active));
    if (active) {
      // Never leave the indicator on if the answer was lost with a dropped connection.
      typingTimer = setTimeout(function () {
        setTyping(false);
      }, 30000);
    }
  }

  function setConnected(connected, text) {
    send.disabled = !connected;
    status.textContent = text || "";
  }

  function renderHistory(messages) {
    log.textContent = "";
    transcript = [];
    pending = {};
    messages.forEach(function (message, index) {
      var last = index === messages.length - 1;
      addMessage(message, { past: !last });
    });
  }

  function deliver(id) {
    var entry = outbox[id];
    if (!entry || !socket.connected) return;
    entry.sentAt = Date.now();
    socket.emit("user_uttered", entry.data);
  }

  function post(data, shown) {
    outbox[data.id] = { data: data, shown: shown, bubble: addMessage({ from: "member", text: shown }) };
    pending[data.id] = outbox[data.id].bubble;
    deliver(data.id);
  }

  function resendUnacknowledged(olderThanMs) {
    Object.keys(outbox).forEach(function (id) {
      var entry = outbox[id];
      if (!entry.bubble.isConnected) {
        // The history was drawn again on reconnecting: show it where it belongs, last.
        entry.bubble = addMessage({ from: "member", text: entry.shown });
        pending[id] = entry.bubble;
      }
      if (Date.now() - (entry.sentAt || 0) >= olderThanMs) deliver(id);
    });
  }

  function removeBubble(bubble) {
    bubble.remove();
    transcript = transcript.filter(function (entry) {
      return entry !== bubble.mdEntry;
    });
  }

  function say(text) {
    disableChoices();
    post({ id: tabId + "-" + ++counter, text: text }, text);
  }

  function choose(choice, button) {
    disableChoices();
    button.classList.add("md-chosen");
    post({ id: tabId + "-" + ++counter, choice: choice.payload }, choice.title);
    input.focus();
  }

  function downloadTranscript() {
    var now = new Date();
    var lines = ["Conversation with the " + config.title.toLowerCase(), "Saved " + now.toString(), ""];
    transcript.forEach(function (entry) {
      var who = entry.from === "staff" && entry.name ? entry.name : WHO[entry.from];
      lines.push("[" + clock(entry.at) + "] " + who + ": " + entry.text);
    });
    var blob = new Blob([lines.join("\n") + "\n"], { type: "text/plain;charset=utf-8" });
    var link = element("a", {
      href: URL.createObjectURL(blob),
      download:
        "memberdesk-chat-" + now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) + ".txt",
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(function () {
      URL.revokeObjectURL(link.href);
    }, 10000);
  }

  // -- opening and closing -------------------------------------------------------------------

  function startIfOpen() {
    // Once a connection: the server greets only a conversation that has not begun anyway.
    if (joined && !started && !panel.hidden && !log.childElementCount) {
      started = true;
      socket.emit("start");
    }
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    storage("set", OPEN_KEY, "1");
    input.focus();
    scrollDown();
    startIfOpen();
  }

  function shut() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    storage("remove", OPEN_KEY);
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open();
    else shut();
  });
  close.addEventListener("click", shut);
  download.addEventListener("click", downloadTranscript);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") shut();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim() || send.disabled) return;
    input.value = "";
    say(text);
  });

  // -- the connection ------------------------------------------------------------------------

  function memberToken() {
    if (!config.tokenUrl) return Promise.resolve(null);
    return fetch(config.tokenUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        return answer.ok ? answer.json() : {};
      })
      .then(function (body) {
        return (body && body.token) || null;
      })
      .catch(function () {
        return null;
      });
  }

  var socket = window.io(config.server, {
    path: SOCKET_PATH,
    autoConnect: false,
    auth: function (reply) {
      memberToken().then(function (token) {
        reply({ session: storage("get", SESSION_KEY), member_token: token });
      });
    },
  });

  setConnected(false, "Connecting\u2026");
  socket.on("connect", function () {
    joined = false;
    started = false;
    setConnected(true, "");
    socket.emit("join");
  });
  socket.on("disconnect", function () {
    joined = false;
    setTyping(false);
    setConnected(false, "Connection lost. Reconnecting\u2026");
  });
  socket.on("connect_error", function () {
    setConnected(false, "Can't reach the chat at the moment. Trying again\u2026");
  });
  socket.on("session", function (session) {
    if (session && session.token) storage("set", SESSION_KEY, session.token);
    root.classList.toggle("md-signed-in", Boolean(session && session.signed_in));
    if (session && session.signed_in) status.textContent = "Signed in";
  });
  socket.on("history", function (body) {
    renderHistory((body && body.messages) || []);
    joined = true;
    resendUnacknowledged(0);
    startIfOpen();
  });
  socket.on("acknowledged", function (body) {
    var entry = body && outbox[body.id];
    if (!entry) return;
    delete outbox[body.id];
    // Handled before the connection dropped: the history drawn since already shows it.
    if (body.repeat && entry.bubble.isConnected) removeBubble(entry.bubble);
  });
  setInterval(function () {
    if (socket.connected && joined) resendUnacknowledged(RESEND_AFTER_MS);
  }, RESEND_AFTER_MS / 2);
  socket.on("received", function (body) {
    if (!body) return;
    var bubble = pending[body.id];
    if (!bubble) {
      // Typed in another tab open on the same conversation.
      if (body.text) addMessage({ from: "member", text: body.text });
      return;
    }
    delete pending[body.id];
    if (!body.text) {
      removeBubble(bubble);
      return;
    }
    // What the assistant saw: card numbers masked, control characters gone.
    bubble.querySelector(".md-text").textContent = body.text;
    bubble.mdEntry.text = body.text;
  });
  socket.on("bot_uttered", function (message) {
    if (!message) return;
    if (message.notice) {
      addMessage({ from: "notice", text: message.notice });
    } else if (message.staff_joined) {
      addMessage({ from: "staff", staff_joined: message.staff_joined });
    } else if (message.staff) {
      setTyping(false);
      addMessage({ from: "staff", staff: message.staff });
    } else if (message.text || (message.buttons && message.buttons.length)) {
      setTyping(false);
      addMessage({ from: "assistant", text: message.text, buttons: message.buttons });
    }
  });
  socket.on("typing", function (body) {
    setTyping(body && body.active);
  });

  function mount() {
    document.body.append(root);
    if (storage("get", OPEN_KEY)) open();
    socket.connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
