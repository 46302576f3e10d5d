// Small progressive enhancements; every page works without them.
"use strict";

// Autocompletion for fields with data-suggest="/sok/yrken" (or /sok/kommuner): fills a
// <datalist> as the user types; the chosen "code – name" is kept in the field and the
// server reads the code from it.
function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function wireSuggest(input) {
  const list = document.getElementById(input.getAttribute("list"));
  if (!list) return;
  const url = input.dataset.suggest;
  const fill = debounce(async () => {
    const q = input.value.trim();
    if (q.length < 2) return;
    try {
      const res = await fetch(`${url}?q=${encodeURIComponent(q)}`, {credentials: "same-origin"});
      if (!res.ok) return;
      const items = await res.json();
      list.replaceChildren(...items.map((it) => {
        const opt = document.createElement("option");
        opt.value = it.value;
        return opt;
      }));
    } catch (e) { /* offline: the field still accepts a typed code */ }
  }, 200);
  input.addEventListener("input", fill);
}

// Ask before destructive actions: buttons with data-confirm="question".
function wireConfirm(form) {
  form.addEventListener("submit", (ev) => {
    const btn = ev.submitter;
    const question = (btn && btn.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) ev.preventDefault();
  });
}

// A retrain job's page reloads itself until the job has finished.
function wirePoll(el) {
  const seconds = Number(el.dataset.poll || "3");
  setTimeout(() => window.location.reload(), seconds * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-suggest]").forEach(wireSuggest);
  document.querySelectorAll("form").forEach(wireConfirm);
  document.querySelectorAll("[data-poll]").forEach(wirePoll);
});
