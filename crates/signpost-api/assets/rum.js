// Signpost Real User Measurements: times one fetch to each endpoint of a profile from this
// browser and reports the milliseconds to Signpost, which ranks Performance regions by them for
// this browser's network. Embed it on a page of your site:
//
//   <script async src="https://signpost.example.net:8053/rum.js"
//           data-key="YOUR-USER-METRICS-KEY" data-profile="contoso"></script>
//
// Every endpoint must serve https://<its target>/.well-known/signpost-rum (any small body; the
// fetch is made without CORS, so no headers are needed). Nothing is sent anywhere else, and no
// cookie is read or set.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch || !window.performance) return;
  var key = me.getAttribute("data-key");
  var profile = me.getAttribute("data-profile");
  if (!key || !profile) return;
  var base = new URL(me.src).origin;
  var query = "?key=" + encodeURIComponent(key) + "&profile=" + encodeURIComponent(profile);

  // One timed fetch of a fresh URL (no cache), resolving to milliseconds or null on failure.
  function time(url) {
    var started = performance.now();
    var fresh = url + "?t=" + Date.now().toString(36) + Math.random().toString(36).slice(2);
    return fetch(fresh, { mode: "no-cors", cache: "no-store", credentials: "omit" })
      .then(function () { return Math.max(1, Math.round(performance.now() - started)); })
      .catch(function () { return null; });
  }

  function measure() {
    fetch(base + "/api/v1/rum/targets" + query, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : { targets: [] }; })
      .then(function (t) {
        // One after the other, so the measurements do not compete for the connection.
        var results = [];
        return t.targets.reduce(function (done, target) {
          return done.then(function () {
            return time(target.url).then(function (ms) {
              if (ms !== null) results.push({ endpoint: target.endpoint, latencyMs: ms });
            });
          });
        }, Promise.resolve()).then(function () { return results; });
      })
      .then(function (measurements) {
        if (measurements.length === 0) return;
        // text/plain: a simple request, no CORS preflight.
        return fetch(base + "/api/v1/rum/reports", {
          method: "POST",
          credentials: "omit",
          headers: { "Content-Type": "text/plain" },
          body: JSON.stringify({ key: key, profile: profile, measurements: measurements }),
        });
      })
      .catch(function () { /* measuring must never disturb the page */ });
  }

  if (document.readyState === "complete") measure();
  else window.addEventListener("load", measure);
})();
