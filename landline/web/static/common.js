/* Shared by the inbox and the phone simulator. Text from outside (bodies, names,
   numbers) only ever reaches the page through textContent, never as HTML. */
"use strict";

const Landline = (() => {
  const meta = (name) => {
    const tag = document.querySelector(`meta[name="${name}"]`);
    return tag ? tag.getAttribute("content") : "";
  };

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
    if (response.status === 401) { window.location.assign("/"); throw new Error("signed out"); }
    const data = await response.json();
    if (!response.ok) throw new Error((data.response && data.response.desc) || response.statusText);
    return data;
  }

  async function postJSON(url, params) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": meta("csrf-token") },
      body: JSON.stringify(params || {}),
    });
    if (response.status === 401) { window.location.assign("/"); throw new Error("signed out"); }
    const data = await response.json();
    if (!data.success) throw new Error((data.response && data.response.desc) || "Failed");
    return data.response;
  }

  // The API, in the signed-in browser's name (the same endpoints and rules).
  const call = (path, params) => postJSON(`/web/call/${path}`, params);

  // GSM 03.38: what fits in 7 bits, and the extension characters that cost two.
  const GSM_BASIC = new Set(Array.from(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"));
  const GSM_EXTENDED = new Set(Array.from("\f^{}\\[~]|€"));

  // Bytes of UTF-8, and the parts the carrier sends (as landline/core/segments.py).
  function measure(text) {
    const bytes = new TextEncoder().encode(text).length;
    const chars = Array.from(text);
    const gsm = chars.every((c) => GSM_BASIC.has(c) || GSM_EXTENDED.has(c));
    const units = (c) => gsm ? (GSM_EXTENDED.has(c) ? 2 : 1) : (c.codePointAt(0) > 0xffff ? 2 : 1);
    const single = gsm ? 160 : 70;
    const multi = gsm ? 153 : 67;
    const total = chars.reduce((sum, c) => sum + units(c), 0);
    let parts = 1;
    if (total > single) {
      let used = 0;
      for (const c of chars) {
        const size = units(c);
        if (used + size > multi) { parts += 1; used = 0; }
        used += size;
      }
    }
    return { bytes, parts: text ? parts : 0, coding: gsm ? "GSM 7-bit" : "UCS-2" };
  }

  // A picture message's parts: images as thumbnails that open full size in `viewer`
  // (a <dialog>), other parts as links to download. `base` is the content URL prefix.
  function partsOf(parts, base, viewer) {
    if (!parts || !parts.length) return null;
    return el("div", { class: "parts" }, ...parts.map((part) => {
      const url = base + encodeURIComponent(part.key);
      if (!part.image) {
        return el("a", { class: "part-file", href: url, download: part.name, text: `Download ${part.name}` });
      }
      const open = (event) => {
        if (!viewer || !viewer.showModal) return;
        event.preventDefault();
        const full = viewer.querySelector("img");
        full.src = url;
        full.alt = `Picture ${part.name}, full size`;
        viewer.showModal();
      };
      return el("a", { class: "part-image", href: url, target: "_blank", rel: "noopener", onclick: open },
        el("img", { class: "thumb", src: url, alt: `Picture ${part.name}`, loading: "lazy" }));
    }));
  }

  function when(ms) {
    return new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
  }

  return { el, getJSON, postJSON, call, measure, meta, when, partsOf };
})();
