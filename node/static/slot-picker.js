// «Дата и время»: the free slots one day a page (the days scroll sideways and snap; a finger
// swipes, or presses «Предыдущий день» / «Следующий день»), and the chosen time beside «Далее».
// Without this script every day is still there to scroll to and the form works the same.
(function () {
  "use strict";
  const form = document.getElementById("slot-picker");
  if (!form) { return; }
  const strip = form.querySelector(".slot-days");
  const chosen = form.querySelector(".form-footer .chosen");

  function showChoice() {
    const picked = form.querySelector('input[name="slot"]:checked');
    chosen.textContent = picked ? picked.dataset.shown || "" : "";
  }
  form.addEventListener("change", showChoice);
  showChoice();
  if (!strip) { return; }

  const pager = form.querySelector(".day-pager");
  const days = Array.from(strip.querySelectorAll(".slot-day"));
  const label = pager.querySelector(".day-current");
  const [back, forward] = pager.querySelectorAll("button");
  let current = 0;

  function show(index) {
    current = Math.max(0, Math.min(days.length - 1, index));
    label.textContent = days[current].dataset.day;
    back.disabled = current === 0;
    forward.disabled = current === days.length - 1;
  }
  pager.addEventListener("click", (event) => {
    const button = event.target.closest("[data-day-step]");
    if (!button) { return; }
    show(current + Number(button.dataset.dayStep));
    strip.scrollTo({left: days[current].offsetLeft - strip.offsetLeft, behavior: "smooth"});
  });
  // A swipe (or a test's click on another day's time) scrolls the strip: follow it.
  let settle = null;
  strip.addEventListener("scroll", () => {
    clearTimeout(settle);
    settle = setTimeout(() => show(Math.round(strip.scrollLeft / Math.max(1, strip.clientWidth))), 80);
  });
  pager.hidden = days.length < 2;
  show(0);
})();
