/* The demo portal page: shows the sign-in or the sign-out form, as a website would. */
(function () {
  "use strict";
  if (new URLSearchParams(window.location.search).has("refused")) {
    document.getElementById("refused").hidden = false;
  }
  fetch("portal/token", { credentials: "same-origin", cache: "no-store" })
    .then(function (answer) {
      return answer.json();
    })
    .then(function (body) {
      var member = body && body.membership_number;
      document.getElementById("sign-in").hidden = Boolean(member);
      document.getElementById("signed-out-note").hidden = Boolean(member);
      document.getElementById("sign-out").hidden = !member;
      document.getElementById("member-number").textContent = member || "";
    });
})();
