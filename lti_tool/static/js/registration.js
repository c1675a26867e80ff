/* Tell the LMS that Dynamic Registration is over (LTI Dynamic Registration §3.7), so it closes its dialog.

   Canvas and Moodle close the dialog as soon as the message arrives. When the registration is complete the page has
   nothing more to say, so the message goes at once; when an administrator still has to approve the platform or add
   its deployment id, the page shows how, and the message waits for its "Done" button. */
(function () {
  "use strict";
  var page = document.getElementById("registration");
  if (!page) {
    return;
  }
  function close() {
    // The opener when the LMS opened a window, else the LMS page that frames this one.
    (window.opener || window.parent).postMessage({subject: "org.imsglobal.lti.close"}, "*");
  }
  if (page.getAttribute("data-complete") === "true") {
    close();
    return;
  }
  var done = document.getElementById("registration-done");
  if (done) {
    done.addEventListener("click", close);  // a <button>: Enter and Space click it too
  }
}());
