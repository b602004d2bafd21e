// Live pages over Socket.IO: the server says what changed, the page fetches it again
// from its own origin (access is checked there). Pages work without this script.
(function () {
  "use strict";
  const faplink = window.faplink || (window.faplink = {});
  let socket = null;

  faplink.socket = function () {
    if (!socket && window.io) { socket = window.io({transports: ["websocket", "polling"]}); }
    return socket;
  };

  function debounce(fn, ms) {
    let timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  async function fetchPage(url) {
    const response = await fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}});
    if (!response.ok) { throw new Error(response.statusText); }
    return response.text();
  }

  // The consultant's queues: counters and lists reload in place when appeals change.
  faplink.liveQueue = function () {
    const io = faplink.socket();
    if (!io) { return; }
    const reload = debounce(async function () {
      try {
        const html = await fetchPage(window.location.href);
        const fresh = new DOMParser().parseFromString(html, "text/html");
        for (const selector of ["#queues", ".mainnav"]) {
          const here = document.querySelector(selector);
          const there = fresh.querySelector(selector);
          if (here && there) { here.innerHTML = there.innerHTML; }
        }
        document.body.dataset.liveUpdated = String(Date.now());
      } catch (err) { /* the next event or a manual reload will do */ }
    }, 250);
    io.on("appeals_changed", reload);
    io.on("connect", reload);  // also catches what changed before the socket was up
  };

  // One appeal: its status and its chat.
  faplink.liveAppeal = function (options) {
    const chat = document.getElementById("chat");
    const list = chat && chat.querySelector(".chat-messages");
    const refreshChat = debounce(async function () {
      if (!list) { return; }
      try {
        list.innerHTML = await fetchPage(chat.dataset.messagesUrl);
        list.scrollTop = list.scrollHeight;
      } catch (err) { /* keep what is shown */ }
    }, 100);
    if (list) { list.scrollTop = list.scrollHeight; }
    const form = chat && chat.querySelector("form.chat-form");
    if (form) { form.addEventListener("submit", (event) => send(event, form, chat, refreshChat)); }

    const io = faplink.socket();
    if (!io) { return; }
    io.on("connect", function () {
      io.emit("join", {appeal: options.appeal}, function () { refreshChat(); });
    });
    // A form of this page that is being sent (say «Взять в работу») already brings the new page,
    // with its message: reloading now would race it and lose the message.
    let leaving = false;
    document.addEventListener("submit", function (event) { if (!event.defaultPrevented) { leaving = true; } });
    window.addEventListener("pagehide", function () { leaving = true; });
    io.on("appeal", function (event) {
      if (leaving) { return; }
      if (event.id === options.appeal && event.status !== options.status) { window.location.reload(); }
    });
    io.on("chat", function (event) { if (event.appeal === options.appeal) { refreshChat(); } });
    io.on("synced", refreshChat);  // the post's node: messages may now have reached the centre
  };

  async function send(event, form, chat, refreshChat) {
    event.preventDefault();
    const error = form.querySelector(".chat-error");
    const button = form.querySelector("button[type=submit]");
    const body = new FormData(form);
    const file = form.querySelector("input[type=file]");
    if (file && !file.files.length) { body.delete("file"); }
    button.disabled = true;
    try {
      const response = await fetch(chat.dataset.sendUrl, {
        method: "POST",
        body,
        headers: {"X-CSRF-Token": faplink.csrf},
        credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) { throw new Error(data.message || response.statusText); }
      form.reset();
      if (error) { error.hidden = true; }
      refreshChat();
    } catch (err) {
      if (error) { error.textContent = err.message; error.hidden = false; }
    } finally {
      button.disabled = false;
    }
  }
})();
