// Split tests on a page under test (the build marks <html data-experiment=…>).
//
// The host's edge normally serves the visitor's variant already (by its assignment cookie, or
// through the dynamic service on the first visit): then this script only confirms the
// exposure with a beacon. On hosts that cannot route by cookie it asks the service for the
// variant and swaps in that variant's pre-rendered <main>. ?floe_force=EXP:VARIANT (QA) is
// never counted.
(function () {
  "use strict";
  var root = document.documentElement;
  var experiment = root.getAttribute("data-experiment");
  if (!experiment) return;
  var shown = root.getAttribute("data-variant");
  var control = root.getAttribute("data-control");
  var page = root.getAttribute("data-page");
  var forced = /[?&]floe_force=/.test(location.search);

  function assigned() {
    var prefix = "floe_x_" + experiment + "_";
    var cookies = document.cookie.split(/;\s*/);
    for (var i = 0; i < cookies.length; i++) {
      var name = cookies[i].split("=")[0];
      if (name.indexOf(prefix) === 0) return name.slice(prefix.length);
    }
    return null;
  }

  function beacon() {
    if (forced || !navigator.sendBeacon) return;
    navigator.sendBeacon("/app/split/seen?exp=" + encodeURIComponent(experiment));
  }

  function swap(variant) {
    var url = "/" + page + "@" + variant + "/";
    return fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var main = doc.querySelector("main");
        if (main) document.querySelector("main").replaceWith(main);
        root.setAttribute("data-variant", variant);
      });
  }

  var variant = assigned();
  if (forced || variant !== null) {
    // Shown by the edge (or forced): but on a host without cookie routing the control page
    // may have come for a visitor of another variant.
    if (!forced && variant !== shown && variant !== "none" && variant !== control) {
      swap(variant).then(beacon, beacon);
    } else {
      beacon();
    }
    return;
  }
  fetch("/app/split/assign?exp=" + encodeURIComponent(experiment), { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (answer) {
      var chosen = answer && answer.variant;
      if (chosen && chosen !== shown && chosen !== control) return swap(chosen);
    })
    .then(beacon, function () {});
})();
