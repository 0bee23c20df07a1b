/* The inbox: conversations, a thread, compose, contacts, settings, live updates. */
"use strict";

(() => {
  const { el, getJSON, call, postJSON, measure, meta, when, partsOf } = Landline;
  const $ = (id) => document.getElementById(id);
  const MAX_BYTES = Number(meta("max-bytes")) || 250;
  const MAX_RECIPIENTS = Number(meta("max-recipients")) || 15;
  const MMS = meta("line-mms") === "yes";

  const state = {
    search: "",
    next: null,            // keyset cursor of the next conversations page
    loading: false,
    open: null,            // the open conversation's fingerprint, or "new"
    members: [],
    newest: null,          // id of the newest message shown
    oldest: null,
    unread: 0,
  };

  // -- conversations -------------------------------------------------------------

  function conversationItem(c) {
    const who = c.name || c.members.join(", ");
    const label = `${who}${c.unread ? `, ${c.unread} unread` : ""}`;
    return el("li", { dataset: { fingerprint: c.fingerprint }, class: c.unread ? "unread" : "" },
      el("button", { type: "button", class: "conversation", "aria-label": label,
                     "aria-current": c.fingerprint === state.open ? "true" : null,
                     onclick: () => openConversation(c.fingerprint) },
        el("span", { class: "who", text: who }),
        c.unread ? el("span", { class: "badge", text: String(c.unread) }) : null,
        el("span", { class: "last", text: c.last }),
        el("time", { class: "when", text: when(c.at) })));
  }

  // A search reads a bounded slice of the inbox per request: a short page goes on by
  // itself a few times, then waits for More.
  let searchPages = 0;

  async function loadConversations(reset) {
    if (state.loading) return;
    if (!reset && !state.next) return;
    if (reset) searchPages = 0;
    state.loading = true;
    try {
      const params = new URLSearchParams();
      if (state.search) params.set("q", state.search);
      if (!reset && state.next) { params.set("at", state.next.at); params.set("fp", state.next.fp); }
      const data = await getJSON(`/web/conversations?${params}`);
      const list = $("conversations");
      if (reset) list.replaceChildren();
      for (const c of data.conversations) {
        const old = list.querySelector(`li[data-fingerprint="${c.fingerprint}"]`);
        if (old) old.remove();
        list.append(conversationItem(c));
      }
      state.next = data.next;
      setUnread(data.unread);
      $("conversations-more").hidden = !state.next;
      $("conversations-end").textContent = state.next ? "" :
        (list.children.length ? "No more conversations." : (state.search ? "Nothing found." : "No conversations yet."));
    } finally {
      state.loading = false;
    }
    if (state.search && state.next && searchPages < 3 && $("conversations").children.length < 20) {
      searchPages += 1;
      loadConversations(false);
    }
  }

  // Live changes: the first page again, merged in at the top.
  async function refreshTop() {
    if (state.loading) { setTimeout(refreshTop, 100); return; }
    state.loading = true;
    try {
      const params = new URLSearchParams();
      if (state.search) params.set("q", state.search);
      const data = await getJSON(`/web/conversations?${params}`);
      const list = $("conversations");
      const fresh = data.conversations.map(conversationItem);
      for (const item of fresh) {
        const old = list.querySelector(`li[data-fingerprint="${item.dataset.fingerprint}"]`);
        if (old) old.remove();
      }
      list.prepend(...fresh);
      if (state.next === null && data.next !== null && list.children.length <= fresh.length) state.next = data.next;
      setUnread(data.unread);
      $("conversations-end").textContent = state.next ? "" :
        (list.children.length ? "No more conversations." : "No conversations yet.");
    } finally {
      state.loading = false;
    }
  }

  function setUnread(count) {
    state.unread = count;
    document.title = count ? `(${count}) Inbox · Landline` : "Inbox · Landline";
  }

  // -- a conversation ------------------------------------------------------------

  function messageItem(m) {
    const status = m.direction === "out"
      ? el("span", { class: `status ${m.word}`, dataset: { word: m.word }, text: m.scheduledAt && m.word === "scheduled"
          ? `Scheduled for ${when(m.scheduledAt)}` : m.text })
      : el("span", { class: "status received", text: "Received" });
    const cancel = m.cancelable
      ? el("button", { type: "button", class: "cancel", "aria-label": "Cancel this scheduled text",
                       onclick: () => cancelScheduled(m.id) }, "Cancel")
      : null;
    return el("li", { class: `message ${m.direction}`, dataset: { id: m.id } },
      partsOf(m.parts, "/web/content/", $("picture-view")),
      m.body ? el("p", { class: "body", text: m.body }) : null,
      el("p", { class: "meta" }, el("time", { text: when(m.at) }), " ", status, cancel ? " " : null, cancel));
  }

  async function openConversation(fingerprint) {
    state.open = fingerprint;
    showView("inbox");
    for (const button of document.querySelectorAll("#conversations .conversation")) {
      button.removeAttribute("aria-current");
      if (button.parentElement.dataset.fingerprint === fingerprint) button.setAttribute("aria-current", "true");
    }
    const data = await getJSON(`/web/conversation/${encodeURIComponent(fingerprint)}`);
    if (state.open !== fingerprint) return;
    state.members = data.members;
    $("new-recipients").hidden = true;
    $("thread-heading").textContent = data.members.map((m) => m.name ? `${m.name} (${m.number})` : m.number).join(", ");
    const list = $("messages");
    list.replaceChildren(...data.messages.map(messageItem));
    state.newest = data.messages.length ? data.messages[data.messages.length - 1].id : null;
    state.oldest = data.messages.length ? data.messages[0].id : null;
    $("older").hidden = !data.older;
    showOptOut(data.members);
    $("compose").hidden = false;
    list.lastElementChild && list.lastElementChild.scrollIntoView({ block: "end" });
    if (data.unread > 0) {
      await call("conversation/read", { fingerprint });
      refreshTop();
    }
  }

  function showOptOut(members) {
    const out = members.filter((m) => m.optedOut);
    const banner = $("optout-banner");
    const blocked = out.length > 0 && out.length === members.length;
    $("contact-box").hidden = out.length === 0;
    banner.hidden = out.length === 0;
    banner.textContent = out.length
      ? `${out.map((m) => m.number).join(", ")} texted STOP and will not get your texts until they text UNSTOP.`
      : "";
    $("body").disabled = blocked;
    $("send").disabled = blocked;
  }

  async function loadOlder() {
    if (!state.open || !state.oldest) return;
    const data = await getJSON(`/web/conversation/${state.open}?before=${state.oldest}`);
    $("messages").prepend(...data.messages.map(messageItem));
    if (data.messages.length) state.oldest = data.messages[0].id;
    $("older").hidden = !data.older;
  }

  async function loadNewer() {
    const fingerprint = state.open;
    if (!fingerprint || fingerprint === "new") return;
    const after = state.newest ? `?after=${state.newest}` : "";
    const data = await getJSON(`/web/conversation/${fingerprint}${after}`);
    if (state.open !== fingerprint) return;
    const list = $("messages");
    for (const m of data.messages) {
      if (list.querySelector(`li[data-id="${m.id}"]`)) continue;
      list.append(messageItem(m));
      state.newest = m.id;
    }
    showOptOut(data.members);
    list.lastElementChild && list.lastElementChild.scrollIntoView({ block: "end" });
    if (data.unread > 0 && document.visibilityState === "visible") {
      await call("conversation/read", { fingerprint });
    }
  }

  async function updateMessage(id) {
    const item = document.querySelector(`#messages li[data-id="${id}"]`);
    if (!item) return;
    const found = await getJSON(`/web/conversation/${state.open}?before=${BigInt(id) + 1n}&n=1`);
    const m = found.messages.find((x) => x.id === id);
    if (m) item.replaceWith(messageItem(m));
    else item.remove();   // canceled or deleted
  }

  async function cancelScheduled(id) {
    try {
      await call("message/cancel", { message: id });
      await updateMessage(id);
    } catch (error) {
      $("compose-error").textContent = error.message;
    }
  }

  // -- compose -------------------------------------------------------------------

  function updateCounter() {
    const { bytes, parts, coding } = measure($("body").value);
    const over = bytes > MAX_BYTES;
    $("counter").textContent = `${bytes} / ${MAX_BYTES} bytes · ${parts} ${parts === 1 ? "part" : "parts"} (${coding})`;
    $("counter").classList.toggle("error", over);
    $("send").disabled = over || $("body").disabled;
  }

  function startNew() {
    state.open = "new";
    state.newest = state.oldest = null;
    showView("inbox");
    $("thread-heading").textContent = "New text";
    $("messages").replaceChildren();
    $("older").hidden = true;
    $("contact-box").hidden = true;
    $("new-recipients").hidden = false;
    $("compose").hidden = false;
    $("body").disabled = false;
    updateCounter();
    $("recipients").focus();
  }

  // A picture goes through messaging/send (one recipient), as multipart.
  async function sendPicture(body, to, file) {
    const form = new FormData();
    form.append("to", to);
    if (body) form.append("body", body);
    form.append("file", file, file.name);
    const response = await fetch("/web/send-picture", {
      method: "POST", credentials: "same-origin",
      headers: { "x-csrf-token": meta("csrf-token") }, body: form,
    });
    if (response.status === 401) { window.location.assign("/"); throw new Error("signed out"); }
    const data = await response.json();
    if (!data.success) throw new Error(data.errorDesc || "Failed");
    return data.response;
  }

  async function send(event) {
    event.preventDefault();
    const body = $("body").value;
    const picture = MMS && $("picture").files.length ? $("picture").files[0] : null;
    if (picture) return sendWithPicture(body, picture);
    if (!body.trim()) return;
    const params = { body };
    if (state.open === "new") {
      const numbers = $("recipients").value.split(",").map((s) => s.trim()).filter(Boolean);
      if (numbers.length === 0 || numbers.length > MAX_RECIPIENTS) {
        $("compose-error").textContent = `Enter 1 to ${MAX_RECIPIENTS} numbers.`;
        return;
      }
      params.contacts = numbers;
    } else {
      params.contacts = state.members.map((m) => m.e164);
    }
    const later = $("schedule").value;
    if (later) params.scheduledDate = String(new Date(later).getTime());
    $("send").disabled = true;
    try {
      const answer = await call("message/send", params);
      $("body").value = "";
      $("schedule").value = "";
      $("compose-error").textContent = "";
      const refused = answer.tokens.filter((t) => t.code);
      if (refused.length) $("compose-error").textContent = refused.map((t) => t.desc).join("; ");
      if (state.open !== answer.fingerprint) await openConversation(answer.fingerprint);
      else await loadNewer();
      refreshTop();
    } catch (error) {
      $("compose-error").textContent = error.message;
    } finally {
      updateCounter();
    }
  }

  async function sendWithPicture(body, picture) {
    const to = state.open === "new"
      ? $("recipients").value.split(",").map((s) => s.trim()).filter(Boolean)
      : state.members.map((m) => m.e164);
    if (to.length !== 1) {
      $("compose-error").textContent = "A picture goes to one number at a time.";
      return;
    }
    $("send").disabled = true;
    try {
      const answer = await sendPicture(body, to[0], picture);
      $("body").value = "";
      $("picture").value = "";
      $("compose-error").textContent = answer.status === "failed" ? answer.desc : "";
      if (state.open !== answer.fingerprint) await openConversation(answer.fingerprint);
      else await loadNewer();
      refreshTop();
    } catch (error) {
      $("compose-error").textContent = error.message;
    } finally {
      updateCounter();
    }
  }

  // -- live ----------------------------------------------------------------------

  let pendingTop = null;
  function soonRefreshTop() {
    if (pendingTop) return;
    pendingTop = setTimeout(() => { pendingTop = null; refreshTop(); }, 300);
  }

  function connectLive() {
    const source = new EventSource("/web/live");
    source.onopen = () => { $("live-status").textContent = ""; };
    source.onerror = () => { $("live-status").textContent = "Reconnecting…"; };
    source.addEventListener("signedout", () => { source.close(); window.location.assign("/"); });
    source.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.kind === "resync") { soonRefreshTop(); loadNewer(); return; }
      if (event.kind === "optout.change") { soonRefreshTop(); if (state.open) loadNewer(); return; }
      if (event.kind === "message.send" || event.kind === "message.receive") {
        soonRefreshTop();
        if (event.fingerprint === state.open) loadNewer();
        return;
      }
      if (event.kind === "message.read") { soonRefreshTop(); return; }
      if (event.fingerprint === state.open) updateMessage(event.message);
    };
  }

  // -- contacts ------------------------------------------------------------------

  let contactsPage = 1;
  let editing = null;

  async function loadContacts(reset) {
    if (reset) { contactsPage = 1; $("contacts").replaceChildren(); }
    const answer = await call("contact/list", { page: contactsPage, pageSize: 50 });
    for (const c of answer) {
      const name = [c.firstName, c.lastName].filter(Boolean).join(" ");
      $("contacts").append(el("li", {},
        el("button", { type: "button", onclick: () => editContact(c) },
          `${name || c.mobileNumber}${name ? ` (${c.mobileNumber})` : ""}${c.optOut ? " · opted out" : ""}`)));
    }
    $("contacts-more").hidden = answer.length < 50;
    contactsPage += 1;
  }

  function editContact(c) {
    editing = c;
    $("contact-form").hidden = false;
    $("contact-form-heading").textContent = `Contact ${c.mobileNumber}`;
    $("contact-first").value = c.firstName;
    $("contact-last").value = c.lastName;
    $("contact-notes").value = c.notes;
    $("contact-first").focus();
  }

  async function saveContact(event) {
    event.preventDefault();
    try {
      await call("contact/save", { address: editing.mobileNumber, firstName: $("contact-first").value,
                                   lastName: $("contact-last").value, notes: $("contact-notes").value });
      $("contact-error").textContent = "";
      $("contact-form").hidden = true;
      loadContacts(true);
      refreshTop();
    } catch (error) { $("contact-error").textContent = error.message; }
  }

  async function deleteContact() {
    if (!editing || !window.confirm(`Delete ${editing.mobileNumber} from contacts?`)) return;
    await call("contact/delete", { contact: String(editing.id) });
    $("contact-form").hidden = true;
    loadContacts(true);
  }

  // -- settings ------------------------------------------------------------------

  async function loadSettings() {
    const hooks = (await getJSON("/web/webhooks")).webhooks;
    $("webhooks").replaceChildren(...hooks.map((h) => el("li", {},
      el("span", { text: `${h.type}/${h.event} → ${h.method} ${h.url} · ${h.last} ` }),
      el("button", { type: "button", "aria-label": `Delete webhook ${h.type}/${h.event} ${h.url}`,
                     onclick: async () => { await call("webhook/delete", { webhookId: h.webhookId }); loadSettings(); } },
        "Delete"))));
    const keys = await getJSON("/web/keys");
    $("keys").replaceChildren(...keys.keys.map((k) => el("li", {},
      el("span", { text: `${k.id}… created ${when(k.created)}${k.thisBrowser ? " (this browser)" : ""}${k.operator ? " (operator)" : ""} ` }),
      k.thisBrowser ? null : el("button", { type: "button", "aria-label": `Revoke key ${k.id}`,
        onclick: async () => { await postJSON("/web/keys", { action: "revoke", id: k.id }); loadSettings(); } }, "Revoke"))));
  }

  async function addWebhook(event) {
    event.preventDefault();
    try {
      await call("webhook/add", { type: $("webhook-type").value, event: $("webhook-event").value,
                                  url: $("webhook-url").value });
      $("webhook-error").textContent = "";
      $("webhook-url").value = "";
      loadSettings();
    } catch (error) { $("webhook-error").textContent = error.message; }
  }

  // -- views and wiring ----------------------------------------------------------

  function showView(name) {
    for (const view of ["inbox", "contacts", "settings"]) {
      $(`${view}-view`).hidden = view !== name;
      $(`show-${view}`).setAttribute("aria-pressed", String(view === name));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("show-inbox").addEventListener("click", () => showView("inbox"));
    $("show-contacts").addEventListener("click", () => { showView("contacts"); loadContacts(true); });
    $("show-settings").addEventListener("click", () => { showView("settings"); loadSettings(); });
    $("new-conversation").addEventListener("click", startNew);
    $("older").addEventListener("click", loadOlder);
    $("compose").addEventListener("submit", send);
    $("body").addEventListener("input", updateCounter);
    $("body").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("compose").requestSubmit();
      }
    });
    let searchTimer = null;
    $("search").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => { state.search = $("search").value.trim(); loadConversations(true); }, 200);
    });
    const list = $("conversations");
    const more = () => { if (list.scrollTop + list.clientHeight >= list.scrollHeight - 200) loadConversations(false); };
    list.addEventListener("scroll", more);
    window.addEventListener("scroll", () => {
      if (window.innerHeight + window.scrollY >= document.body.offsetHeight - 200) loadConversations(false);
    });
    $("contacts-more").addEventListener("click", () => loadContacts(false));
    $("conversations-more").addEventListener("click", () => { searchPages = 0; loadConversations(false); });
    $("contact-form").addEventListener("submit", saveContact);
    $("contact-delete").addEventListener("click", deleteContact);
    $("webhook-form").addEventListener("submit", addWebhook);
    $("key-create").addEventListener("click", async () => {
      const made = await postJSON("/web/keys", { action: "create" });
      $("key-new").textContent = `New key (shown once): ${made.key}`;
      loadSettings();
    });
    $("secret-reveal").addEventListener("click", async () => {
      $("secret").textContent = (await call("webhook/secret", {})).secret;
    });
    $("secret-rotate").addEventListener("click", async () => {
      if (!window.confirm("Rotate the signing secret? The old one keeps signing for 24 hours.")) return;
      $("secret").textContent = (await call("webhook/rotate", {})).secret;
    });
    updateCounter();
    loadConversations(true).then(() => { document.body.dataset.ready = "yes"; });
    connectLive();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && state.open && state.open !== "new") loadNewer();
    });
  });
})();
