/* The simulated network's handsets: texts the lines sent, and texting a line back. */
"use strict";

(() => {
  const { el, getJSON, postJSON, partsOf } = Landline;
  const $ = (id) => document.getElementById(id);
  let handset = "";
  let timer = null;

  async function refresh() {
    if (!handset) return;
    const data = await getJSON(`/web/sim/handset?number=${encodeURIComponent(handset)}`);
    $("phone-heading").textContent = `Texts on ${data.number}`;
    $("texts").replaceChildren(...data.texts.map((t) => el("li", { class: `message ${t.direction === "in" ? "in" : "out"}`, dataset: { id: t.id } },
      partsOf(t.parts, "/web/sim/content/", $("sim-picture-view")),
      t.body ? el("p", { class: "body", text: t.body }) : null,
      el("p", { class: "meta", text: `${t.direction === "in" ? "From" : "To"} ${t.line} · ${t.network}` }))));
    if (!$("line").value) {
      const last = data.texts.filter((t) => t.direction === "in").pop();
      if (last) $("line").value = last.line;
    }
  }

  async function known() {
    const data = await getJSON("/web/sim/handset");
    $("known-handsets").replaceChildren(...data.handsets.map((n) => el("option", { value: n })));
  }

  async function sendText(body) {
    $("sim-error").textContent = "";
    try {
      await postJSON("/web/sim/text", { from: handset, to: $("line").value, body });
      $("sim-body").value = "";
      refresh();
    } catch (error) { $("sim-error").textContent = error.message; }
  }

  // A picture message from the handset, as `landline sim mms` sends one.
  async function sendPicture(body, file) {
    $("sim-error").textContent = "";
    const form = new FormData();
    form.append("from", handset);
    form.append("to", $("line").value);
    if (body) form.append("body", body);
    form.append("file", file, file.name);
    try {
      const response = await fetch("/web/sim/picture", { method: "POST", credentials: "same-origin", body: form });
      const data = await response.json();
      if (!data.success) throw new Error((data.response && data.response.desc) || "Failed");
      $("sim-body").value = "";
      $("sim-picture").value = "";
      refresh();
    } catch (error) { $("sim-error").textContent = error.message; }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("pick").addEventListener("submit", (event) => {
      event.preventDefault();
      handset = $("handset").value.trim();
      if (!handset) return;
      $("phone").hidden = false;
      const url = new URL(window.location.href);
      url.searchParams.set("handset", handset);
      window.history.replaceState(null, "", url);
      refresh();
      clearInterval(timer);
      timer = setInterval(refresh, 1000);
    });
    $("reply").addEventListener("submit", (event) => {
      event.preventDefault();
      const picture = $("sim-picture").files[0];
      if (picture) sendPicture($("sim-body").value, picture);
      else if ($("sim-body").value) sendText($("sim-body").value);
    });
    $("sim-body").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("reply").requestSubmit(); }
    });
    $("sim-stop").addEventListener("click", () => sendText("STOP"));
    $("sim-help").addEventListener("click", () => sendText("HELP"));
    const preset = new URL(window.location.href).searchParams.get("handset");
    if (preset) { $("handset").value = preset; $("pick").requestSubmit(); }
    known().then(() => { document.body.dataset.ready = "yes"; });
  });
})();
