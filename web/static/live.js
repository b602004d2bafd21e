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

  // The post's queues (a few appeals): counters and lists reload in place when appeals change.
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
          // Only what changed: a link replaced under the feldsher's finger (between the button's
          // press and release) swallows the click, and the socket's connect reloads at every page.
          if (here && there && here.innerHTML !== there.innerHTML) { here.innerHTML = there.innerHTML; }
        }
        document.body.dataset.liveUpdated = String(Date.now());
      } catch (err) { /* the next event or a manual reload will do */ }
    }, 250);
    io.on("appeals_changed", reload);
    io.on("connect", reload);  // also catches what changed before the socket was up
  };

  async function fetchJSON(url) {
    const response = await fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}});
    if (!response.ok) { throw new Error(response.statusText); }
    return response.json();
  }

  // Runs `fn` one call at a time: a call asked for meanwhile runs once the current one ends,
  // so that an older answer never lands after a newer one.
  function serial(fn) {
    let running = false;
    let again = false;
    return async function run() {
      if (running) { again = true; return; }
      running = true;
      try { await fn(); } finally {
        running = false;
        if (again) { again = false; run(); }
      }
    };
  }

  function rowElement(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function rowList(section) {
    let list = section.querySelector("ul.appeal-list");
    if (!list) {
      list = document.createElement("ul");
      list.className = "appeal-list";
      section.querySelector(".appeal-rows").replaceChildren(list);
    }
    return list;
  }

  function removeRow(root, id) {
    for (const row of root.querySelectorAll('li[data-row="' + CSS.escape(id) + '"]')) {
      const list = row.parentElement;
      row.remove();
      if (!list.children.length) {
        const holder = list.closest(".appeal-rows");
        const empty = document.createElement("p");
        empty.className = "muted";
        empty.textContent = holder.dataset.empty;
        holder.replaceChildren(empty);
      }
    }
  }

  // A changed appeal: off the page, then back in the list that holds it now, at its place by
  // key, if that place is among the rows shown (a later one comes with «Показать ещё»).
  function placeRow(root, row) {
    removeRow(root, row.id);
    const section = row.list && root.querySelector('section[data-list="' + row.list + '"]');
    if (!section) { return; }
    const newestFirst = section.dataset.order === "desc";
    const rows = Array.from(section.querySelectorAll("li[data-row]"));
    const next = rows.find((li) => (newestFirst ? row.key > li.dataset.key : row.key < li.dataset.key));
    if (!next && section.querySelector("a[data-more]")) { return; }
    if (next && next === rows[0] && section.hasAttribute("data-partial")) { return; }
    rowList(section).insertBefore(rowElement(row.html), next || null);
  }

  function setCounts(counts) {
    for (const badge of document.querySelectorAll("[data-count]")) {
      const text = counts[badge.dataset.count];
      if (text !== undefined) { badge.textContent = text; }
    }
  }

  async function showMore(link) {
    const section = link.closest("section");
    try {
      const data = await fetchJSON(link.dataset.more);
      const list = rowList(section);
      for (const row of data.rows) {
        removeRow(section, row.id);  // patched in meanwhile
        list.appendChild(rowElement(row.html));
      }
      if (data.more) {
        link.href = data.more.page;
        link.dataset.more = data.more.rows;
      } else {
        link.closest("p").remove();
      }
    } catch (err) {
      window.location.href = link.href;  // the next page, as without a script
    }
  }

  // Central's paged queues: «Показать ещё» adds the next rows in place; a change to appeals
  // patches the rows it concerns (rendered by the server, /appeals/changes) and the counters,
  // not the whole list. Too many changes at once (a long sleep): the lists are fetched anew.
  faplink.liveQueuePatch = function () {
    const root = document.getElementById("queues");
    if (!root || !root.dataset.changesUrl) { return; }
    root.addEventListener("click", function (event) {
      const link = event.target.closest("a[data-more]");
      if (link) { event.preventDefault(); showMore(link); }
    });
    const io = faplink.socket();
    if (!io) { return; }
    const patch = serial(async function () {
      try {
        const url = new URL(root.dataset.changesUrl, window.location.href);
        url.searchParams.set("since", root.dataset.seq);
        const data = await fetchJSON(url);
        if (data.reload) {
          const fresh = new DOMParser().parseFromString(await fetchPage(window.location.href), "text/html");
          const there = fresh.getElementById("queues");
          if (there) { root.innerHTML = there.innerHTML; root.dataset.seq = there.dataset.seq; }
        } else {
          for (const row of data.rows) { placeRow(root, row); }
          root.dataset.seq = String(data.seq);
        }
        setCounts(data.counts);
        document.body.dataset.liveUpdated = String(Date.now());
      } catch (err) { /* the next event or a manual reload will do */ }
    });
    const soon = debounce(patch, 150);
    io.on("appeals_changed", soon);
    io.on("connect", soon);  // also catches what changed before the socket was up
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

    // A form of this page that is being sent (say «Взять в работу») already brings the new page,
    // with its message: reloading now would race it and lose the message.
    let leaving = false;
    document.addEventListener("submit", function (event) { if (!event.defaultPrevented) { leaving = true; } });
    window.addEventListener("pagehide", function () { leaving = true; });
    const io = faplink.socket();
    if (!io) { return; }
    io.on("connect", function () {
      io.emit("join", {appeal: options.appeal}, function (answer) {
        // A change between drawing this page and joining its room was announced to nobody here.
        if (answer && answer.status && answer.status !== options.status && !leaving) { window.location.reload(); return; }
        refreshChat();
      });
    });
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
