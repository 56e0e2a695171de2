// The header says "Account" instead of "Log in" to a visitor who is logged in.
// Only a visitor who has logged in before carries the floe_account hint cookie (it holds
// no secret); without it this script does nothing, so an anonymous page view costs the
// dynamic service no request.
(function () {
  "use strict";
  var hint = /(?:^|;\s*)floe_account=1(?:;|$)/;
  var link = document.querySelector("[data-account-link]");
  if (!link || !hint.test(document.cookie)) return;
  fetch("/app/api/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (me) {
      if (!me) return;
      if (me.authenticated) {
        link.textContent = "Account";
        link.href = "/app/account";
      } else {
        // The session ended: forget the hint, so later pages ask nothing.
        document.cookie = "floe_account=; Max-Age=0; Path=/; SameSite=Lax";
      }
    })
    .catch(function () {});
})();
