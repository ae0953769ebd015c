/* cxlab browser snippet, served by `cxlab serve` at /v1/cx.js. Hand-written ES2017, no build step.
 *
 *   <script src="https://cx.example.com/v1/cx.js" data-key="BROWSER_KEY" async></script>
 *
 * Optional attributes: data-touchpoint (default "site"), data-channel (one of the store's channels).
 * API: cx.track(event, properties), cx.identify(customerId), cx.page(), cx.reset(), cx.flush().
 * Calls made before the script loads are queued with `window.cx = window.cx || []; cx.push(["track", ...])`.
 *
 * Events are queued in localStorage until the collector acknowledges them, and resent with the SAME ids after
 * a failure (the collector stores each id once), with backoff and the server's Retry-After.
 */
(function () {
  "use strict";
  var w = window, d = document;
  if (w.cx && w.cx.loaded) return;
  var CHANNELS = /*CHANNELS*/[];
  var SESSION_MINUTES = /*SESSION_MINUTES*/30;
  var BATCH = 50, FLUSH_MS = 2000, MAX_QUEUE = 1000, MAX_BACKOFF_MS = 60000;

  var script = d.currentScript || d.querySelector('script[src*="/v1/cx.js"][data-key]');
  if (!script) return;
  var src = new URL(script.src, location.href);
  var base = src.origin + src.pathname.replace(/\/v1\/cx\.js$/, "");
  var key = script.getAttribute("data-key") || "";
  var touchpoint = script.getAttribute("data-touchpoint") || "site";
  var fixedChannel = script.getAttribute("data-channel");
  var prefix = "cx_" + key.slice(-8) + "_";

  // -- storage: localStorage, else a first-party cookie (ids) / memory (queue) --------------------------------
  var memory = {};
  function lsGet(k) { try { return w.localStorage.getItem(prefix + k); } catch (e) { return null; } }
  function lsSet(k, v) { try { w.localStorage.setItem(prefix + k, v); return true; } catch (e) { return false; } }
  function cookieGet(k) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + prefix + k + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function cookieSet(k, v) {
    d.cookie = prefix + k + "=" + encodeURIComponent(v) + "; path=/; max-age=63072000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function get(k) { var v = lsGet(k); return v !== null ? v : (k in memory ? memory[k] : cookieGet(k)); }
  function set(k, v, cookie) { memory[k] = v; if (!lsSet(k, v) && cookie) cookieSet(k, v); }
  function getJSON(k, dflt) { try { var v = get(k); return v ? JSON.parse(v) : dflt; } catch (e) { return dflt; } }

  function uuid() {
    var c = w.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();  // secure contexts only
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function now() { return new Date().toISOString(); }  // ISO 8601, UTC ("Z")

  // -- who and which visit -------------------------------------------------------------------------------------
  var anonymousId = get("aid");
  if (!anonymousId) { anonymousId = uuid(); set("aid", anonymousId, true); }
  var customerId = get("cid");

  function params() {
    var out = {};
    new URLSearchParams(location.search).forEach(function (v, k) { if (/^utm_/.test(k)) out[k] = v; });
    return out;
  }
  function inChannels(c) { return c && CHANNELS.indexOf(c) >= 0 ? c : null; }
  // GA4-style default channel group from utm_medium / utm_source / the referrer, kept only when the store has it
  function guessChannel(utm) {
    if (fixedChannel) return inChannels(fixedChannel);
    var medium = (utm.utm_medium || "").toLowerCase(), source = (utm.utm_source || "").toLowerCase();
    var ref = "";
    try { ref = d.referrer ? new URL(d.referrer).hostname : ""; } catch (e) { ref = ""; }
    var social = /facebook|instagram|twitter|t\.co$|linkedin|pinterest|tiktok|reddit|youtube|snapchat/;
    var search = /google\.|bing\.|duckduckgo|yahoo\.|ecosia|baidu|yandex|qwant/;
    var c;
    if (/^(cpc|ppc|paidsearch|paid_search)$/.test(medium)) c = "paid_search";
    else if (/^(e-?mail|newsletter)$/.test(medium)) c = "email";
    else if (medium === "sms") c = "sms";
    else if (/^(display|banner|cpm)$/.test(medium)) c = "display";
    else if (medium === "affiliate") c = "affiliate";
    else if (/^(paid_?social|social_?ads|paidsocial)$/.test(medium)) c = "social_ads";
    else if (medium === "push") c = "push";
    else if (social.test(source) || social.test(ref)) c = "organic_social";
    else if (search.test(source) || search.test(ref)) c = "organic_search";
    else if (ref && ref !== location.hostname) c = "referral";
    else if (!medium && !source) c = "direct";
    return inChannels(c);
  }
  function device() {
    var ua = navigator.userAgent || "";
    if (/iPad|Tablet/i.test(ua)) return "tablet";
    return /Mobi|Android|iPhone/i.test(ua) ? "mobile" : "desktop";
  }
  // a visit ends after SESSION_MINUTES without events; its channel and campaign are those it started with
  var landing = params();  // the campaign this page was opened with; a different one starts a new visit
  function session() {
    var s = getJSON("sid", null), t = Date.now(), utm = landing;
    var fresh = Object.keys(utm).length > 0 && (!s || JSON.stringify(utm) !== JSON.stringify(s.utm));
    if (!s || t - s.last > SESSION_MINUTES * 60000 || fresh) {
      s = { id: uuid(), channel: guessChannel(utm), campaign: utm.utm_campaign || null, utm: utm };
    }
    s.last = t;
    set("sid", JSON.stringify(s), false);
    return s;
  }

  // -- the queue: persisted until acknowledged ---------------------------------------------------------------
  function load(name) { return getJSON(name, []); }
  function save(name, items) { set(name, JSON.stringify(items.slice(-MAX_QUEUE)), false); }
  function enqueue(name, item) { var q = load(name); q.push(item); save(name, q); schedule(FLUSH_MS); }
  function drop(name, ids) {  // re-read: another tab may have changed the queue meanwhile
    var gone = {};
    ids.forEach(function (i) { gone[i] = true; });
    save(name, load(name).filter(function (it) { return !gone[it._id]; }));
  }

  function event(name, properties) {
    var s = session(), props = {};
    var extra = s.utm || {};
    for (var k in extra) if (k !== "utm_campaign") props[k] = extra[k];
    if (properties && typeof properties === "object") for (var p in properties) props[p] = properties[p];
    var e = { event_id: uuid(), ts: now(), anonymous_id: anonymousId, session_id: s.id, event: String(name),
              touchpoint: touchpoint, device: device(), properties: props };
    if (customerId) e.customer_id = customerId;
    if (s.channel) e.channel = s.channel;
    if (s.campaign) e.campaign = s.campaign;
    e._id = e.event_id;
    enqueue("events", e);
    if (load("events").length >= BATCH) schedule(0);
  }

  // -- sending -------------------------------------------------------------------------------------------------
  var timer = null, timerAt = 0, sending = false, failures = 0, notBefore = 0;
  function schedule(ms) {  // flush in ms (not before a backoff ends); an earlier planned flush stands
    var at = Math.max(Date.now() + ms, notBefore);
    if (timer !== null && timerAt <= at) return;
    if (timer !== null) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(function () { timer = null; flush(); }, at - Date.now());
  }
  function strip(items) {
    return items.map(function (it) { var o = {}; for (var k in it) if (k !== "_id") o[k] = it[k]; return o; });
  }
  function retryAfter(res) {
    var h = res.headers.get("Retry-After");
    if (!h) return 0;
    var s = Number(h);
    return isFinite(s) ? s * 1000 : Math.max(0, Date.parse(h) - Date.now());
  }
  var KEEPALIVE_BYTES = 60000;  // browsers cap keepalive fetches and beacons at 64 KiB
  function body(items) { return JSON.stringify({ batch: strip(items) }); }
  function fitting(items) {  // the longest head of items whose body fits a beacon
    var n = items.length;
    while (n > 1 && body(items.slice(0, n)).length > KEEPALIVE_BYTES) n = Math.ceil(n / 2);
    return items.slice(0, n);
  }
  function post(name, items) {
    var text = body(items);
    return fetch(base + "/v1/" + name, {
      method: "POST", mode: "cors", credentials: "omit", keepalive: text.length <= KEEPALIVE_BYTES,
      headers: { "Authorization": "Bearer " + key, "Content-Type": "application/json" },
      body: text
    }).then(function (res) {
      if (res.ok || (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)) {
        // acknowledged, or refused for good (a bad item, a wrong key): resending would never succeed
        drop(name, items.map(function (it) { return it._id; }));
        return 0;
      }
      var e = new Error("cxlab collector answered " + res.status);
      e.wait = retryAfter(res);
      throw e;
    });
  }
  function flush() {
    if (!key) return Promise.resolve();
    if (sending) { schedule(FLUSH_MS); return Promise.resolve(); }
    var jobs = ["identify", "events"].map(function (n) { return [n, load(n).slice(0, BATCH)]; })
      .filter(function (j) { return j[1].length; });
    if (!jobs.length) return Promise.resolve();
    sending = true;
    return jobs.reduce(function (p, j) { return p.then(function () { return post(j[0], j[1]); }); },
                       Promise.resolve())
      .then(function () {
        failures = 0; notBefore = 0;
        if (load("events").length || load("identify").length) schedule(0);
      }, function (err) {
        failures += 1;
        var backoff = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, failures - 1)) * (0.5 + Math.random() / 2);
        notBefore = Date.now() + Math.max(backoff, (err && err.wait) || 0);
        schedule(0);
      })
      .then(function () { sending = false; });
  }
  // the page is going away: hand what is queued to the browser; it stays queued (same ids) until a later
  // page view has it acknowledged, and the collector stores each id once
  function beacon() {
    if (!key || !navigator.sendBeacon) return;
    ["identify", "events"].forEach(function (n) {
      var items = fitting(load(n).slice(0, BATCH));
      if (items.length) navigator.sendBeacon(base + "/v1/" + n + "?key=" + encodeURIComponent(key), body(items));
    });
  }

  // -- the public API --------------------------------------------------------------------------------------------
  var api = {
    loaded: true,
    track: function (name, properties) { if (name) event(name, properties); },
    page: function (properties) {
      var props = { url: location.href, path: location.pathname, referrer: d.referrer || null, title: d.title };
      if (properties && typeof properties === "object") for (var k in properties) props[k] = properties[k];
      event("page_view", props);
    },
    identify: function (id) {
      if (id === undefined || id === null || id === "") return;
      customerId = String(id);
      set("cid", customerId, true);
      var item = { anonymous_id: anonymousId, customer_id: customerId, ts: now() };
      item._id = uuid();
      enqueue("identify", item);
    },
    reset: function () {  // log out: a new anonymous visitor from now on
      customerId = null; anonymousId = uuid();
      set("cid", "", true); set("aid", anonymousId, true); set("sid", "", false);
    },
    flush: function () { return flush(); },
    push: function (call) {
      var args = Array.prototype.slice.call(call || []);
      var fn = api[args[0]];
      if (typeof fn === "function" && args[0] !== "push") fn.apply(api, args.slice(1));
    }
  };
  var pending = Array.isArray(w.cx) ? w.cx : (w.cx && w.cx.q) || [];
  w.cx = api;
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") beacon(); });
  w.addEventListener("pagehide", beacon);
  var early = function (c) { return c && c[0] === "identify"; };
  pending.filter(early).forEach(api.push);  // so the page view already carries the customer id
  api.page();
  pending.filter(function (c) { return !early(c); }).forEach(api.push);
  schedule(0);
})();
