// The console's only script besides htmx: keep the conversation scrolled to the newest
// message, and clear the reply box once a message has been sent.
(function () {
  function scrollConversation() {
    var box = document.getElementById("conversation");
    if (box) { box.scrollTop = box.scrollHeight; }
  }
  document.addEventListener("DOMContentLoaded", scrollConversation);
  document.addEventListener("htmx:afterSwap", scrollConversation);
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.matches && form.matches("form[data-reset]") && event.detail.successful) {
      form.reset();
    }
  });
})();
