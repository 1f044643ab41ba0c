// The receipt's print button (a script file: the Content-Security-Policy allows no inline handler).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
});
