/* cxlab chat widget, served by `cxlab serve` at /v1/assist.js. Hand-written ES2017, no build step.
 *   <script src="https://cx.example.com/v1/assist.js" data-key="BROWSER_KEY" async></script>
 * Every text shown (the customer's and the shop's) is set with textContent: it is never HTML.
 */
(function () {
  "use strict";
  var w = window, d = document;
  if (w.cxAssist) return;
  var script = d.currentScript || d.querySelector('script[src*="/v1/assist.js"][data-key]');
  if (!script) return;
  var src = new URL(script.src, location.href);
  var base = src.origin + src.pathname.replace(/\/v1\/assist\.js$/, "");
  var key = script.getAttribute("data-key") || "";
  var L = {
    en: ["Chat with us", "Ask a question", "Send", "Close", "Helpful", "Not helpful", "Thanks!",
      "A colleague will take over and get back to you.", "Too many questions; please wait a moment.",
      "Sorry, something went wrong. Please try again."],
    nl: ["Chat met ons", "Stel een vraag", "Verstuur", "Sluiten", "Nuttig", "Niet nuttig", "Bedankt!",
      "Een collega neemt het over en komt bij je terug.", "Te veel vragen; wacht even.",
      "Sorry, er ging iets mis. Probeer het opnieuw."],
    de: ["Chatten Sie mit uns", "Stellen Sie eine Frage", "Senden", "Schließen", "Hilfreich", "Nicht hilfreich",
      "Danke!", "Ein Kollege übernimmt und meldet sich bei Ihnen.", "Zu viele Fragen; bitte kurz warten.",
      "Entschuldigung, etwas ist schiefgelaufen. Bitte erneut versuchen."],
    da: ["Chat med os", "Stil et spørgsmål", "Send", "Luk", "Nyttigt", "Ikke nyttigt", "Tak!",
      "En kollega tager over og vender tilbage til dig.", "For mange spørgsmål; vent et øjeblik.",
      "Beklager, noget gik galt. Prøv igen."]
  };
  // the page's language picks the widget's own labels only: the server detects the language of each question
  var T = L[(d.documentElement.lang || "en").slice(0, 2).toLowerCase()] || L.en;

  function stored(k) { try { return w.sessionStorage.getItem(k); } catch (e) { return null; } }
  function store(k, v) { try { w.sessionStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  var CONV = "cxa_conversation";
  var conversation = stored(CONV);
  var anonymousId = null;  // the cx.js snippet's visitor id, when the page has it
  try { anonymousId = w.localStorage.getItem("cx_" + key.slice(-8) + "_aid"); } catch (e) { anonymousId = null; }

  function el(tag, attrs, text) {
    var e = d.createElement(tag);
    for (var a in attrs) e.setAttribute(a, attrs[a]);
    if (text != null) e.textContent = String(text);
    return e;
  }

  var host = el("div", { "data-cx-assist": "" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.appendChild(el("style", {},
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}" +
    ".b{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;" +
    "border:0;background:#1a56db;color:#fff;font-size:24px;cursor:pointer;box-shadow:0 2px 8px #0004}" +
    ".p{position:fixed;right:20px;bottom:86px;z-index:2147483000;width:340px;max-width:calc(100vw - 40px);" +
    "height:460px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;" +
    "color:#111;border-radius:10px;box-shadow:0 4px 20px #0005;overflow:hidden}" +
    ".p[hidden]{display:none}.h{display:flex;justify-content:space-between;align-items:center;" +
    "padding:8px 12px;background:#1a56db;color:#fff}.h button{background:none;border:0;color:#fff;" +
    "font-size:18px;cursor:pointer}.l{flex:1;overflow-y:auto;padding:10px}" +
    ".m{margin:6px 0;padding:8px 10px;border-radius:8px;white-space:pre-wrap;word-wrap:break-word}" +
    ".q{background:#e8eefc;margin-left:40px}.a{background:#f2f2f2;margin-right:40px}.n{font-style:italic}" +
    ".r button{border:1px solid #ccc;background:#fff;border-radius:4px;margin-right:4px;cursor:pointer}" +
    ".r button[aria-pressed=true]{background:#dfe8fb}form{display:flex;border-top:1px solid #ddd}" +
    "input{flex:1;border:0;padding:10px}form button{border:0;background:#1a56db;color:#fff;padding:0 14px;" +
    "cursor:pointer}:focus-visible{outline:2px solid #f59e0b;outline-offset:1px}"));
  var button = el("button", { class: "b", type: "button", "aria-label": T[0], "aria-expanded": "false",
    "aria-controls": "cxa-panel" }, "\u{1F4AC}");
  var panel = el("div", { class: "p", id: "cxa-panel", role: "dialog", "aria-label": T[0], hidden: "" });
  var head = el("div", { class: "h" });
  var close = el("button", { type: "button", "aria-label": T[3] }, "\u00D7");
  head.appendChild(el("span", {}, T[0]));
  head.appendChild(close);
  var log = el("div", { class: "l", role: "log", "aria-live": "polite" });
  var form = el("form", {});
  var input = el("input", { type: "text", maxlength: "2000", "aria-label": T[1], placeholder: T[1],
    autocomplete: "off" });
  var send = el("button", { type: "submit" }, T[2]);
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(button);
  root.appendChild(panel);

  function open(show) {
    panel.hidden = !show;
    button.setAttribute("aria-expanded", String(show));
    (show ? input : button).focus();
  }
  button.addEventListener("click", function () { open(panel.hidden); });
  close.addEventListener("click", function () { open(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") open(false); });

  function say(text, cls) {
    var m = el("div", { class: "m " + cls }, text);
    log.appendChild(m);
    log.scrollTop = log.scrollHeight;
    return m;
  }

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + key },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) throw r.status;
      return r.json();
    });
  }

  function thumbs(m, reply) {
    var row = el("div", { class: "r" });
    [[true, "\u{1F44D}", T[4]], [false, "\u{1F44E}", T[5]]].forEach(function (t) {
      var b = el("button", { type: "button", "aria-label": t[2], "aria-pressed": "false" }, t[1]);
      b.addEventListener("click", function () {
        row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        b.setAttribute("aria-pressed", "true");
        post("/v1/assist/feedback", { conversation: reply.conversation, answer_event: reply.answer_event,
          helpful: t[0] }).then(function () { row.appendChild(el("span", {}, T[6])); }, function () {});
      });
      row.appendChild(b);
    });
    m.appendChild(row);
  }

  var busy = false;
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    busy = true;
    send.disabled = true;
    input.value = "";
    say(text, "q");
    var body = { text: text, conversation: conversation };
    if (anonymousId) body.anonymous_id = anonymousId;
    post("/v1/assist", body).then(function (reply) {
      conversation = reply.conversation;
      store(CONV, conversation);
      var m = say(reply.answer || "", "a");
      if (reply.handoff) say(T[7], "a n");
      else thumbs(m, reply);
    }, function (status) {
      say(status === 429 ? T[8] : T[9], "a n");
    }).then(function () {
      busy = false;
      send.disabled = false;
      input.focus();
    });
  });

  function mount() { d.body.appendChild(host); }
  if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);
  w.cxAssist = { open: function () { open(true); } };
})();
