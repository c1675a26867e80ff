/* Keep the focused box of the class skill map in sight (templates/_skill_map.html).

   On a phone the map scrolls sideways in its own region. Chromium moves that region for a focused link only when
   the link is wholly out of sight, so a keyboard user tabbing to the next column of boxes saw a sliver of the box
   (its name and numbers cut off) until the one after. Scroll just enough to show all of the focused box. */
(function () {
  "use strict";
  document.querySelectorAll(".skill-map-wrap").forEach(function (wrap) {
    wrap.addEventListener("focusin", function (event) {
      if (event.target.closest && event.target.closest(".map-link")) {
        event.target.scrollIntoView({block: "nearest", inline: "nearest"});
      }
    });
  });
})();
